package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/explore"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/internal/shard"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/sim"
	"github.com/vimsim/vimsim/vim/ckpt"
)

// mergeOptions are the flags of vimsim merge.
type mergeOptions struct {
	out, predictions string
	force            bool
}

// merger reduces the partials of one command, in shard order, into the
// output of its unsharded run.
type merger func(cmd *cobra.Command, parts []*shard.Partial, opt mergeOptions) error

// mergers are the commands whose partials vimsim merge combines.
func mergers() map[string]merger {
	return map[string]merger{"eval": mergeEval, "sim": mergeSim, "sweep": mergeSweep}
}

func newMergeCmd() *cobra.Command {
	var opt mergeOptions
	cmd := &cobra.Command{
		Use:   "merge PARTIAL… [--out FILE|DIR]",
		Short: "Combine the partial results of a sharded run into the output of the whole run",
		Long: `Combines the partial results that the shards of a run wrote (vimsim eval,
sim, sweep or explore with --shard i/n and --out PARTIAL) into exactly the
output of the same command run unsharded, byte for byte: the report of eval
and sim (to --out or stdout, in the format the shards were given), the files
of sweep and explore (into the directory --out) and eval's --predictions.

The partials must be every shard of one run exactly once: the same command,
shard count, items and inputs (flag values, the content of the files they
name, the vimsim build, sim's compiled program). A missing, duplicate or
mismatched shard is refused with an error naming it, and nothing is written.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMerge(cmd, args, opt)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opt.out, "out", "", "output file (eval, sim; default stdout) or directory (sweep, explore)")
	fl.StringVar(&opt.predictions, "predictions", "", "eval: write the reference method's predicted class of each image, one per line, to this file")
	registerForce(cmd, &opt.force)
	return cmd
}

// runMerge reads and checks the partial files and hands them to their
// command's merger.
func runMerge(cmd *cobra.Command, paths []string, opt mergeOptions) error {
	if isExplorePartial(paths[0]) {
		// vimsim explore writes its own partials (a job list of accuracy
		// chunks and costs, explore.Partial), assembled by explore.Assemble.
		if opt.predictions != "" {
			return fmt.Errorf("--predictions: only for partials of vimsim eval, these are of vimsim explore")
		}
		if opt.out == "" {
			return fmt.Errorf("--out is required for an explore (the directory of its files)")
		}
		return mergeExploreFiles(cmd, "merge", paths, opt.out, opt.force)
	}
	var parts []*shard.Partial
	for _, path := range paths {
		p, err := shard.Read(path)
		if err != nil {
			return err
		}
		parts = append(parts, p)
	}
	parts, err := shard.Assemble(parts)
	if err != nil {
		return err
	}
	name := parts[0].Command
	m, ok := mergers()[name]
	if !ok {
		return fmt.Errorf("%s: a partial of vimsim %s, which this vimsim cannot merge", parts[0].Path, name)
	}
	if opt.predictions != "" && name != "eval" {
		return fmt.Errorf("--predictions: only for partials of vimsim eval, these are of vimsim %s", name)
	}
	return m(cmd, parts, opt)
}

// isExplorePartial reports whether the file path is a partial result of
// vimsim explore --shard.
func isExplorePartial(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var head struct {
		Format string `json:"format"`
	}
	return json.Unmarshal(b, &head) == nil && head.Format == explore.PartialFormat
}

// decodeParts decodes the results of parts.
func decodeParts[T any](parts []*shard.Partial) ([]T, error) {
	out := make([]T, len(parts))
	for i, p := range parts {
		if err := json.Unmarshal(p.Result, &out[i]); err != nil {
			return nil, fmt.Errorf("%s: result of vimsim %s: %w", p.Path, p.Command, err)
		}
	}
	return out, nil
}

// evalPartial is the result of a shard of vimsim eval: its images' part of
// the evaluation, and the names and format of the report.
type evalPartial struct {
	Model  string        `json:"model"`
	Data   string        `json:"data"`
	Format string        `json:"format"`
	Part   *sim.EvalPart `json:"part"`
}

// newEvalShard is the sharding of a vimsim eval run: --timing (not
// reproducible) and --predictions (given to merge) do not go with it.
func newEvalShard(cmd *cobra.Command, opt evalOptions) (*shardRun, error) {
	sr, err := newShardRun(cmd, "eval", opt.shard, opt.out, "predictions", "timing")
	if err != nil || !sr.sharded() {
		return sr, err
	}
	if opt.timing {
		return nil, fmt.Errorf("--timing: not with --shard (timings vary from run to run and are not merged)")
	}
	if opt.predictions != "" {
		return nil, fmt.Errorf("--predictions: not with --shard; give it to vimsim merge")
	}
	return sr, nil
}

func mergeEval(cmd *cobra.Command, parts []*shard.Partial, opt mergeOptions) error {
	res, err := decodeParts[evalPartial](parts)
	if err != nil {
		return err
	}
	evParts := make([]*sim.EvalPart, len(res))
	for i, r := range res {
		if r.Part == nil || r.Part.Images != parts[i].End-parts[i].First {
			return fmt.Errorf("%s: no evaluation of its %d images in the result", parts[i].Path, parts[i].End-parts[i].First)
		}
		evParts[i] = r.Part
	}
	ev, preds, err := sim.MergeEval(evParts)
	if err != nil {
		return err
	}
	rep := ev.Report(res[0].Model, res[0].Data, false)
	var report bytes.Buffer
	if err := writeEvalReport(&report, rep, res[0].Format); err != nil {
		return err
	}
	files := []outputFile{{"out", opt.out, report.Bytes()}}
	if opt.predictions != "" {
		var b bytes.Buffer
		if err := sim.WritePredictions(&b, preds); err != nil {
			return err
		}
		files = append(files, outputFile{"predictions", opt.predictions, b.Bytes()})
	}
	return writeOutputs(commandContext(cmd), cmd.OutOrStdout(), opt.force, files...)
}

// simPartial is the result of a shard of vimsim sim: its images' part of
// the fidelity report, and the names and form of the report.
type simPartial struct {
	Model   string            `json:"model"`
	Data    string            `json:"data"`
	Program string            `json:"program"`
	Recipe  string            `json:"recipe,omitempty"`
	Format  string            `json:"format"`
	Ops     bool              `json:"ops"`
	Part    *sim.FidelityPart `json:"part"`
}

// writeSimPartial writes the partial of a shard of vimsim sim over images
// in all; the hash of the compiled program joins the inputs, so that
// shards that calibrated differently do not merge.
func writeSimPartial(sr *shardRun, fid *sim.Fidelity, p *intprog.Program, images int, res simPartial) error {
	part, err := fid.Part()
	if err != nil {
		return err
	}
	f, err := p.File()
	if err != nil {
		return err
	}
	b, err := ckpt.EncodeSafetensors(f)
	if err != nil {
		return err
	}
	res.Part = part
	return sr.write(images, shard.Inputs{"program": shard.HashBytes(b)}, res)
}

func mergeSim(cmd *cobra.Command, parts []*shard.Partial, opt mergeOptions) error {
	res, err := decodeParts[simPartial](parts)
	if err != nil {
		return err
	}
	fparts := make([]*sim.FidelityPart, len(res))
	for i, r := range res {
		if r.Part == nil || r.Part.Images != parts[i].End-parts[i].First {
			return fmt.Errorf("%s: no fidelity comparison of its %d images in the result", parts[i].Path, parts[i].End-parts[i].First)
		}
		fparts[i] = r.Part
	}
	rep, err := sim.MergeFidelity(fparts)
	if err != nil {
		return err
	}
	r := res[0]
	out := sim.DatasetReport{Model: r.Model, Data: r.Data, Program: r.Program, Recipe: r.Recipe, Report: rep}
	var report bytes.Buffer
	if err := writeSimReport(&report, out, r.Format, r.Ops); err != nil {
		return err
	}
	return writeOutputs(commandContext(cmd), cmd.OutOrStdout(), opt.force, outputFile{"out", opt.out, report.Bytes()})
}

// sweepPartial is the result of a shard of vimsim sweep: its designs,
// evaluated (the Pareto front is marked when merging).
type sweepPartial struct {
	Model  string             `json:"model"`
	Points []cost.DesignPoint `json:"points"`
}

func mergeSweep(cmd *cobra.Command, parts []*shard.Partial, opt mergeOptions) error {
	if opt.out == "" {
		return fmt.Errorf("--out is required for a sweep (the directory of its files)")
	}
	res, err := decodeParts[sweepPartial](parts)
	if err != nil {
		return err
	}
	var pts []cost.DesignPoint
	for i, r := range res {
		if want := parts[i].End - parts[i].First; len(r.Points) != want {
			return fmt.Errorf("%s: %d designs, want %d", parts[i].Path, len(r.Points), want)
		}
		pts = append(pts, r.Points...)
	}
	cost.MarkFront(pts)
	if st, err := os.Stat(opt.out); err == nil && !st.IsDir() {
		return fmt.Errorf("--out %s: not a directory", opt.out)
	}
	return writeSweep(commandContext(cmd), cmd, pts, res[0].Model, opt.out, opt.force)
}
