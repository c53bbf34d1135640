package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/explore"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/internal/atomicfile"
	"github.com/vimsim/vimsim/internal/progress"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/sim"
)

// exploreFlags are the flags of `vimsim explore`.
type exploreFlags struct {
	mf              modelFlags
	sf              sweepFlags
	ov              archOverrides
	recipes         string
	data, split     string
	limit, chunk    int
	mean, std       string
	method          string
	calib           int
	calibData       string
	calibSeed       uint64
	cache           string
	shard, merge    string
	out             string
	force           bool
	jobs            int
	budget, base    string
	allocate, score string
	accuracyKey     string
}

func newExploreCmd() *cobra.Command {
	var f exploreFlags
	cmd := &cobra.Command{
		Use:   "explore --recipes LIST --arch LIST [--array LIST …] --out DIR",
		Short: "Explore precision recipes × architectures: accuracy on the integer datapath, cost, Pareto front",
		Long: `Measures every recipe's accuracy on the bit-accurate integer datapath (each
recipe calibrated once and run on the evaluation images: top-1, agreement
with the float reference, logit SQNR) and costs every (recipe, architecture)
pair with the cost model (energy and latency per image, throughput, FPGA
resources with --fpga). Writes DIR/explore.csv and DIR/explore.json (one row
per pair with every objective and a pareto column), DIR/pareto.{png,svg}
(top-1 against energy, latency and FPGA utilisation, the front labelled),
DIR/energy.{png,svg} (energy breakdown of the front), DIR/accuracy.{png,svg}
and DIR/recipes/NAME.yaml (every recipe as a recipe file). The front is the
set of pairs no other pair beats in top-1, energy and latency (and FPGA
utilisation with --fpga; pairs that do not fit are never on it).

Recipes (--recipes): uniform names W<w>A<a>H<h> (W4A8H8, W8A8H16; H
defaults to A) or recipe files (.yaml/.json: defaults, per-op overrides,
layer ranges). Architectures: the flags of 'vimsim sweep' (--arch, --array,
--dataflow, --scan-lanes, --buffer-kib, --tech, --fpga, …).

Every job — the float reference or a recipe on a chunk of --chunk images, a
recipe on a block of designs — is stored in the cache (--cache) as one
atomic entry: a run killed at any point and started again redoes only what
is missing, and runs with other design lists or image counts reuse what they
share. The keys hold this build's identity; --accuracy-key K replaces it in
the keys of programs and accuracies, so that a build whose quantization and
datapath code is the same (the caller asserts it; scripts/explore-table.sh
passes the git tree hashes of that code) reuses accuracies after a change to
the cost model. --shard i/n runs the i-th of n contiguous parts of the job list and
writes its partial result (--out FILE.json); --merge FILES assembles the
partials of every shard into the same outputs as one run.

Search mode (--budget): measures on the datapath the sensitivity of every
single precision move from --base (one op class to 4-bit weights, one
layer's hidden state from 16 to 8 bits), then allocates bits under the
budget on the one architecture given: energy=µJ (per image, units uJ or mJ),
latency=ms (ms or us), dsp=N (with --fpga), or a percentage of the base's
cost (energy=70%); several budgets are comma-separated. Writes the recipe
found to DIR/recipe.yaml, DIR/search.json and DIR/sensitivity.{png,svg}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runExplore(cmd, &f) },
	}
	f.mf.register(cmd)
	fl := cmd.Flags()
	f.sf.register(fl, &f.ov)
	f.ov.registerMemory(cmd)
	fl.StringVar(&f.recipes, "recipes", "W8A8H8,W4A8H8", "precision recipes: uniform names (W8A8H8, W4A8H8, W8A8H16) or recipe files, comma-separated")
	fl.StringVar(&f.data, "data", "sample", "evaluation dataset: "+strings.Join(data.KnownSpecs(), ", "))
	fl.StringVar(&f.split, "split", "test", "dataset split of the evaluation images: train or test")
	fl.IntVar(&f.limit, "limit", 0, "evaluate only the first N images (0: all)")
	fl.IntVar(&f.chunk, "chunk", explore.DefaultChunk, "images per accuracy job (fixes the cache entries and the order of the sums)")
	fl.StringVar(&f.mean, "mean", "", "preprocessing mean: one value or one per channel (default: the checkpoint's)")
	fl.StringVar(&f.std, "std", "", "preprocessing std: one value or one per channel (default: the checkpoint's)")
	fl.StringVar(&f.method, "method", quant.MethodPaper, "quantization method: "+strings.Join(quant.Methods(), ", "))
	fl.IntVar(&f.calib, "calib", 256, "calibration images per recipe")
	fl.StringVar(&f.calibData, "calib-data", "", "calibration dataset (default: the train split of --data; 'sample' for the embedded one)")
	fl.Uint64Var(&f.calibSeed, "calib-seed", 1, "seed of the calibration image draw")
	fl.StringVar(&f.cache, "cache", "", "cache directory (default: vimsim/explore in the user cache directory)")
	fl.StringVar(&f.shard, "shard", "", "run only shard i/n of the jobs (0 ≤ i < n) and write its partial result to --out FILE.json")
	fl.StringVar(&f.merge, "merge", "", "assemble the partial results of every shard (files, comma-separated) instead of running")
	fl.StringVar(&f.out, "out", "", "output directory (a file with --shard)")
	fl.BoolVar(&f.force, "force", false, "replace an existing non-empty --out")
	fl.IntVar(&f.jobs, "jobs", 0, "costing goroutines (0 = all cores); results do not depend on it")
	fl.StringVar(&f.budget, "budget", "", "search mode: budget energy=µJ|latency=ms|dsp=N or a percentage of --base's (energy=70%), comma-separated")
	fl.StringVar(&f.base, "base", "", "search mode: recipe the moves start from (default W8A8H16, the most precise)")
	fl.StringVar(&f.allocate, "allocate", "auto", "search mode: bit allocation knapsack (exact over the moves), greedy, or auto (knapsack up to 16 moves)")
	fl.StringVar(&f.score, "sensitivity", "sqnr", "search mode: sensitivity measure: sqnr (logit noise) or top1")
	fl.StringVar(&f.accuracyKey, "accuracy-key", "", "identity of the quantization and datapath code in the cache keys of programs and accuracies, "+
		"replacing this build's (its VCS revision or executable hash): give the same key to builds whose quant, sim and hw/datapath "+
		"code is the same (scripts/explore-table.sh uses their git tree hashes) to reuse accuracies after a cost-model change; costs always key on this build")
	return cmd
}

// exploreFiles are the files of an exploration's output directory (and
// recipes/NAME.yaml).
var exploreFiles = [...]string{"explore.csv", "explore.json", "pareto.png", "pareto.svg", "energy.png", "energy.svg", "accuracy.png", "accuracy.svg"}

func runExplore(cmd *cobra.Command, f *exploreFlags) error {
	searchShard := f.budget != "" && f.shard != ""
	if f.out == "" && !searchShard {
		return fmt.Errorf("--out is required (a directory; a file with --shard)")
	}
	if f.out != "" && searchShard {
		return fmt.Errorf("--out with --budget and --shard: a shard of the search only fills the cache; the search without --shard writes the outputs")
	}
	if f.jobs < 0 {
		return fmt.Errorf("--jobs %d: must be 0 (all cores) or positive", f.jobs)
	}
	if f.merge != "" {
		if f.shard != "" || f.budget != "" {
			return fmt.Errorf("--merge assembles finished shards: it takes no --shard or --budget")
		}
		return mergeExplore(cmd, f)
	}
	if f.budget != "" {
		if err := checkSearchFlags(cmd, f); err != nil {
			return err
		}
	}
	if !f.force && !searchShard {
		if err := checkOutFree(f.out, f.shard != "" && f.budget == ""); err != nil {
			return err
		}
	}
	x, sp, closeData, err := newExplorer(cmd, f)
	if err != nil {
		return err
	}
	defer closeData()
	if f.budget != "" {
		return runSearch(cmd, f, x, sp)
	}
	p, err := x.Run(cmd.Context(), sp)
	if err != nil {
		return err
	}
	if f.shard != "" {
		var buf bytes.Buffer
		if err := explore.WritePartial(&buf, p); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(f.out, buf.Bytes()); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "shard %s: %d of %d jobs; wrote %s (assemble every shard with --merge)\n",
			p.Shard, len(p.Results), p.Jobs, f.out)
		return nil
	}
	t, err := explore.Assemble([]*explore.Partial{p})
	if err != nil {
		return err
	}
	return writeExplore(cmd, t, f.out, f.force)
}

// checkOutFree refuses an existing non-empty --out directory (or an
// existing --out file) before any work is done.
func checkOutFree(out string, file bool) error {
	st, err := os.Stat(out)
	if err != nil {
		return nil
	}
	if file {
		if st.IsDir() {
			return fmt.Errorf("--out %s: a directory; --shard writes a file", out)
		}
		return fmt.Errorf("--out %s exists (use --force to replace it)", out)
	}
	if !st.IsDir() {
		return fmt.Errorf("--out %s exists and is not a directory", out)
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fmt.Errorf("--out %s is not empty (use --force to replace it)", out)
	}
	return nil
}

// newExplorer builds the explorer and the space the flags describe, and
// returns the function that closes the evaluation dataset.
func newExplorer(cmd *cobra.Command, f *exploreFlags) (_ *explore.Explorer, sp explore.Space, closeData func(), err error) {
	if f.limit < 0 {
		return nil, sp, nil, fmt.Errorf("--limit %d: must not be negative", f.limit)
	}
	if f.chunk < 1 {
		return nil, sp, nil, fmt.Errorf("--chunk %d: must be at least 1", f.chunk)
	}
	if f.calib < 1 {
		return nil, sp, nil, fmt.Errorf("--calib %d: must be at least 1", f.calib)
	}
	if !isMethod(f.method) {
		return nil, sp, nil, fmt.Errorf("--method %q: want one of %s", f.method, strings.Join(quant.Methods(), ", "))
	}
	var shard explore.Shard
	if f.shard != "" {
		var err error
		if shard, err = explore.ParseShard(f.shard); err != nil {
			return nil, sp, nil, fmt.Errorf("--shard: %w", err)
		}
	}
	split, err := data.ParseSplit(f.split)
	if err != nil {
		return nil, sp, nil, fmt.Errorf("--split: %w", err)
	}
	space, err := f.sf.space(&f.ov, cmd.Flags().Changed, func(msg string) { fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", msg) })
	if err != nil {
		return nil, sp, nil, err
	}
	if sp.Designs, err = space.Designs(); err != nil {
		return nil, sp, nil, err
	}
	m, err := f.mf.load()
	if err != nil {
		return nil, sp, nil, err
	}
	cfg, err := data.OverrideNorm(m.Config, f.mean, f.std)
	if err != nil {
		return nil, sp, nil, err
	}
	m.Config = cfg
	pre, err := data.NewPreprocessor(cfg)
	if err != nil {
		return nil, sp, nil, fmt.Errorf("model %s: %w", f.mf.model, err)
	}
	ds, err := data.Open(f.data, string(split))
	if err != nil {
		return nil, sp, nil, fmt.Errorf("--data: %w", err)
	}
	defer func() {
		if err != nil {
			ds.Close()
		}
	}()
	n := ds.Len()
	if f.limit > 0 {
		n = min(n, f.limit)
	}
	recipes := f.recipes
	if f.budget != "" {
		recipes = "W8A8H8" // the search builds its own recipes
	}
	ps, err := explore.ParseRecipes(recipes)
	if err != nil {
		return nil, sp, nil, fmt.Errorf("--recipes: %w", err)
	}
	if sp.Recipes, err = explore.Resolve(ps, cfg.Depth); err != nil {
		return nil, sp, nil, fmt.Errorf("--recipes: %w", err)
	}
	dir := f.cache
	if dir == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			return nil, sp, nil, fmt.Errorf("--cache: no user cache directory (%v); give one", err)
		}
		dir = filepath.Join(uc, "vimsim", "explore")
	}
	cache, err := explore.OpenCache(dir)
	if err != nil {
		return nil, sp, nil, fmt.Errorf("--cache: %w", err)
	}
	qo := quant.DefaultOptions()
	qo.Method, qo.Seed = f.method, f.calibSeed
	calibSpec, calibSplit := f.calibData, "train"
	if calibSpec == "" {
		calibSpec = f.data
	}
	if calibSpec == "sample" {
		calibSplit = "test"
	}
	build := explore.BuildKey()
	accBuild := build
	if f.accuracyKey != "" {
		accBuild = "accuracy key " + f.accuracyKey
	}
	dp := &explore.Datapath{
		Model: m,
		Calib: func() (quant.Images, error) {
			imgs, _, err := calibrationImages(calibSpec, calibSplit, f.calib, cfg, f.calibSeed, "--calib")
			if err != nil {
				return nil, fmt.Errorf("--calib-data: %w", err)
			}
			return imgs, nil
		},
		CalibKey: fmt.Sprintf("%s, %d images, seed %d", explore.DatasetKey(calibSpec, data.Split(calibSplit), cfg), f.calib, f.calibSeed),
		Quant:    qo,
		Build:    accBuild,
	}
	name := f.data
	if split != data.Test {
		name += " (" + string(split) + ")"
	}
	x, err := explore.New(explore.Options{
		Evaluator: dp,
		Coster:    explore.OpCoster{Model: cfg, Build: build},
		Images:    explore.Images{Name: name, Key: explore.DatasetKey(f.data, split, cfg), Dataset: ds, Pre: pre, N: n},
		Chunk:     f.chunk,
		Cache:     cache,
		Shard:     shard,
		Progress:  &stageBar{w: cmd.ErrOrStderr()},
		Workers:   f.jobs,
	})
	if err != nil {
		return nil, sp, nil, err
	}
	return x, sp, func() { ds.Close() }, nil
}

func isMethod(m string) bool {
	for _, k := range quant.Methods() {
		if k == m {
			return true
		}
	}
	return false
}

// mergeExplore assembles the partial files of --merge.
func mergeExplore(cmd *cobra.Command, f *exploreFlags) error {
	var names []string
	for _, name := range strings.Split(f.merge, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return fmt.Errorf("--merge %q: empty item", f.merge)
		}
		names = append(names, name)
	}
	return mergeExploreFiles(cmd, "--merge", names, f.out, f.force)
}

// mergeExploreFiles assembles the explore partial files names (every shard
// of one run) into the outputs of the whole run in the directory out;
// errors about the partials start with what (the flag or command).
func mergeExploreFiles(cmd *cobra.Command, what string, names []string, out string, force bool) error {
	var parts []*explore.Partial
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		p, err := explore.ReadPartial(b, name)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		parts = append(parts, p)
	}
	t, err := explore.Assemble(parts)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !force {
		if err := checkOutFree(out, false); err != nil {
			return err
		}
	}
	return writeExplore(cmd, t, out, force)
}

// writeExplore renders every output of t, then writes them into the
// directory out at once, and prints the summary.
func writeExplore(cmd *cobra.Command, t *explore.Table, out string, force bool) error {
	files := map[string][]byte{}
	var buf bytes.Buffer
	if err := t.WriteCSV(&buf); err != nil {
		return err
	}
	files["explore.csv"] = bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := t.WriteJSON(&buf); err != nil {
		return err
	}
	files["explore.json"] = bytes.Clone(buf.Bytes())
	for _, format := range []string{"png", "svg"} {
		for name, plot := range map[string]func(*explore.Table, string) ([]byte, error){
			"pareto": explore.PlotFront, "energy": explore.PlotEnergy, "accuracy": explore.PlotAccuracy} {
			b, err := plot(t, format)
			if err != nil {
				return err
			}
			files[name+"."+format] = b
		}
	}
	for _, r := range t.Recipes {
		b, err := explore.MarshalRecipe(r.Recipe)
		if err != nil {
			return err
		}
		files[filepath.Join("recipes", recipeFileName(r.Name))] = b
	}
	err := atomicfile.WriteDir(out, force, func(tmp string) error {
		if err := os.Mkdir(filepath.Join(tmp, "recipes"), 0o755); err != nil {
			return err
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
				return fmt.Errorf("write %s: %w", filepath.Join(out, name), err)
			}
		}
		return nil
	})
	if errors.Is(err, atomicfile.ErrNotEmpty) {
		return fmt.Errorf("--out %s is not empty (use --force to replace it)", out)
	}
	if err != nil {
		return err
	}
	return exploreSummary(cmd.OutOrStdout(), t, out)
}

// recipeFileName is a file name for a recipe name.
func recipeFileName(name string) string {
	r := strings.NewReplacer("/", "_", "\\", "_", " ", "_", ":", "_")
	return r.Replace(name) + ".yaml"
}

// exploreSummary prints the recipes' accuracy and the front.
func exploreSummary(w io.Writer, t *explore.Table, out string) error {
	pts := t.Points()
	front := explore.Front(pts)
	fmt.Fprintf(w, "%s on %d images of %s: %d recipes × %d designs, %d on the Pareto front; wrote %s/{%s,recipes/}\n",
		t.Model, t.Images, t.Data, len(t.Recipes), len(t.Designs), len(front), out, strings.Join(exploreFiles[:], ","))
	tb := newSimTable(w, "recipe", "top-1", "top-5", "agreement", "SQNR dB")
	tb.Append([]string{"float reference", fmt.Sprintf("%.4f", t.Reference.Top1Rate()), fmt.Sprintf("%.4f", t.Reference.Top5Rate()), "ref", "ref"})
	for r, ri := range t.Recipes {
		a := t.Accuracy[r]
		tb.Append([]string{ri.Name, fmt.Sprintf("%.4f", a.Top1Rate()), fmt.Sprintf("%.4f", a.Top5Rate()),
			fmt.Sprintf("%.4f", a.Agreement()), fmt.Sprintf("%.2f", a.SQNRdB())})
	}
	if err := tb.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w, "Pareto front, by energy:")
	header := []string{"recipe", "design", "top-1", "µJ/image", "latency ms", "images/s"}
	fpga := len(pts) > 0 && pts[0].Cost.Resources != nil
	if fpga {
		header = append(header, "DSP", "LUT", "BRAM36", "fpga")
	}
	tb = newSimTable(w, header...)
	for _, i := range front {
		p := pts[i]
		row := []string{p.Recipe, p.Cost.Name, fmt.Sprintf("%.4f", p.Accuracy.Top1Rate()), fmt.Sprintf("%.2f", p.Cost.UJPerImage),
			fmt.Sprintf("%.4f", p.Cost.LatencyMS), fmt.Sprintf("%.1f", p.Cost.ImagesPerS)}
		if r := p.Cost.Resources; fpga && r != nil {
			row = append(row, commas(r.DSP), commas(r.LUT), commas(r.BRAM36), fmt.Sprintf("%s %s", fitsWord(r.Fits), pct1(r.MaxUtil())))
		}
		tb.Append(row)
	}
	return tb.Render()
}

// stageBar draws the stages of an exploration on a terminal (nothing
// elsewhere), implementing explore.Progress.
type stageBar struct {
	w   io.Writer
	bar *progress.Bar
}

// Start implements explore.Progress.
func (s *stageBar) Start(stage string, total int) {
	unit := map[string]string{"calibrate": "recipes", "evaluate": "images", "cost": "designs"}[stage]
	s.bar = progress.New(s.w, total, progress.Options{Label: stage, Unit: unit})
}

// Add implements explore.Progress.
func (s *stageBar) Add(n int) { s.bar.Add(n) }

// Finish implements explore.Progress.
func (s *stageBar) Finish() { s.bar.Finish() }

// checkSearchFlags checks the flags of the search mode before any work.
func checkSearchFlags(cmd *cobra.Command, f *exploreFlags) error {
	if cmd.Flags().Changed("recipes") {
		return fmt.Errorf("--recipes with --budget: the search builds its recipes from --base")
	}
	if _, err := explore.ParseBudget(f.budget); err != nil {
		return fmt.Errorf("--budget: %w", err)
	}
	if _, err := explore.ParseRecipe(f.searchBase()); err != nil {
		return fmt.Errorf("--base: %w", err)
	}
	switch f.allocate {
	case explore.AllocAuto, explore.AllocKnapsack, explore.AllocGreedy:
	default:
		return fmt.Errorf("--allocate %q: want auto, knapsack or greedy", f.allocate)
	}
	if f.score != explore.ScoreSQNR && f.score != explore.ScoreTop1 {
		return fmt.Errorf("--sensitivity %q: want sqnr or top1", f.score)
	}
	sp, err := f.sf.space(&f.ov, cmd.Flags().Changed, func(string) {}) // newExplorer warns
	if err != nil {
		return err
	}
	if n := sp.Size(); n != 1 {
		return fmt.Errorf("--budget: the search costs on one architecture, the flags give %d (one --arch, no sweep lists)", n)
	}
	return nil
}

// searchBase is the recipe of --base, W8A8H16 by default.
func (f *exploreFlags) searchBase() string {
	if f.base == "" {
		return "W8A8H16"
	}
	return f.base
}

// runSearch is the search mode (--budget).
func runSearch(cmd *cobra.Command, f *exploreFlags, x *explore.Explorer, sp explore.Space) error {
	budgets, err := explore.ParseBudget(f.budget)
	if err != nil {
		return fmt.Errorf("--budget: %w", err)
	}
	base, err := explore.ParseRecipe(f.searchBase())
	if err != nil {
		return fmt.Errorf("--base: %w", err)
	}
	res, err := x.Search(cmd.Context(), explore.SearchOptions{Base: base, Design: sp.Designs[0], Budgets: budgets,
		Allocate: f.allocate, Score: f.score, Name: "search " + f.budget})
	if errors.Is(err, explore.ErrShardDone) {
		fmt.Fprintln(cmd.OutOrStdout(), err)
		return nil
	}
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	var buf bytes.Buffer
	if err := writeJSON(&buf, res); err != nil {
		return err
	}
	files["search.json"] = buf.Bytes()
	if files["recipe.yaml"], err = explore.MarshalRecipe(res.Found.Recipe); err != nil {
		return err
	}
	for _, format := range []string{"png", "svg"} {
		if files["sensitivity."+format], err = explore.PlotSensitivity(x.Config().Name, res, format); err != nil {
			return err
		}
	}
	err = atomicfile.WriteDir(f.out, f.force, func(tmp string) error {
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
				return fmt.Errorf("write %s: %w", filepath.Join(f.out, name), err)
			}
		}
		return nil
	})
	if errors.Is(err, atomicfile.ErrNotEmpty) {
		return fmt.Errorf("--out %s is not empty (use --force to replace it)", f.out)
	}
	if err != nil {
		return err
	}
	return searchSummary(cmd.OutOrStdout(), res, files["recipe.yaml"], f.out)
}

// searchSummary prints the moves, the recipe found and how it does.
func searchSummary(w io.Writer, r *explore.SearchResult, recipe []byte, out string) error {
	var bs []string
	for i, b := range r.Budgets {
		bs = append(bs, fmt.Sprintf("%s (%.4g)", b, r.Limits[i]))
	}
	fmt.Fprintf(w, "search from %s on %s under %s (%s allocation, %s sensitivity); wrote %s/{search.json,recipe.yaml,sensitivity.png,sensitivity.svg}\n",
		r.Base.Recipe.String(), r.Design, strings.Join(bs, " and "), r.Allocate, r.Score, out)
	chosen := map[int]bool{}
	for _, i := range r.Chosen {
		chosen[i] = true
	}
	tb := newSimTable(w, "move", "top-1", "Δ top-1 pp", "SQNR dB", "Δ SQNR dB", "µJ/image", "latency ms", "DSP", "chosen")
	row := func(name string, a explore.Accuracy, dTop1, dSQNR string, c cost.DesignPoint, ch string) {
		dsp := "—"
		if c.Resources != nil {
			dsp = commas(c.Resources.DSP)
		}
		tb.Append([]string{name, fmt.Sprintf("%.4f", a.Top1Rate()), dTop1, sim.DB(a.SQNRdB()).String(), dSQNR,
			fmt.Sprintf("%.2f", c.UJPerImage), fmt.Sprintf("%.4f", c.LatencyMS), dsp, ch})
	}
	row("base "+r.Base.Recipe.String(), r.Base.Accuracy, "", "", r.Base.Cost, "")
	for i, s := range r.Moves {
		ch := ""
		if chosen[i] {
			ch = "yes"
		}
		row(s.Move.Name, s.Accuracy, fmt.Sprintf("%+.2f", -100*s.DTop1+0), fmt.Sprintf("%+.2f", -float64(s.DSQNR)+0), s.Cost, ch)
	}
	row("found", r.Found.Accuracy, fmt.Sprintf("%+.2f", 100*(r.Found.Accuracy.Top1Rate()-r.Base.Accuracy.Top1Rate())+0),
		fmt.Sprintf("%+.2f", r.Found.Accuracy.SQNRdB()-r.Base.Accuracy.SQNRdB()+0), r.Found.Cost, "")
	if err := tb.Render(); err != nil {
		return err
	}
	pred := "logit SQNR " + r.Predicted.String() + " dB"
	if r.Score == explore.ScoreTop1 {
		pred = fmt.Sprintf("top-1 %.4f", float64(r.Predicted))
	}
	fmt.Fprintf(w, "found (predicted %s from the moves alone; measured above):\n%s", pred, recipe)
	return nil
}
