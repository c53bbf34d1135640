package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/quant/intprog"
)

// sweepFlags hold the design-space flags of `vimsim sweep`: comma lists,
// ranges A:B:+S or A:B:*F, and spec files.
type sweepFlags struct {
	arch, array, dataflow, scanLanes, scanMode, clock, dramBW, bufKiB, actKiB, tech, overlap string
}

// register adds the design-space flags, with the FPGA flags of ov.
func (f *sweepFlags) register(fl *pflag.FlagSet, ov *archOverrides) {
	fl.StringVar(&f.arch, "arch", "systolic16", "base architectures: presets or spec files, comma-separated")
	fl.StringVar(&f.array, "array", "", "array sizes RxC, or a square range such as 8:64:*2")
	fl.StringVar(&f.dataflow, "dataflow", "", "dataflows: os, ws, is or all")
	fl.StringVar(&f.scanLanes, "scan-lanes", "", "scan unit lane counts")
	fl.StringVar(&f.scanMode, "scan-mode", "", "scan modes: sequential, parallel-prefix")
	fl.StringVar(&f.clock, "clock", "", "clock frequencies in MHz")
	fl.StringVar(&f.dramBW, "dram-bw", "", "DRAM bandwidths in GB/s")
	fl.StringVar(&f.bufKiB, "buffer-kib", "", "ifmap/filter/ofmap buffer sizes in KiB (each)")
	fl.StringVar(&f.actKiB, "act-kib", "", "activation buffer sizes in KiB")
	fl.StringVar(&f.tech, "tech", "", "energy tables: "+strings.Join(arch.TechNames(), ", "))
	fl.StringVar(&f.overlap, "overlap", "", "overlap modes: serial, pipelined")
	fl.StringVar(&ov.fpga, "fpga", "", "FPGA board for resources and fit: "+strings.Join(arch.BoardNames(), ", "))
	fl.StringVar(&ov.packing, "dsp-packing", "", "int8 MACs per DSP: none, dual or dot3")
}

// space builds the design space, naming the flag of a bad value. warn
// receives one line for a list given empty (the bases' value is kept) and
// for a value listed twice (swept once).
func (f *sweepFlags) space(ov *archOverrides, changed func(flag string) bool, warn func(string)) (cost.SweepSpace, error) {
	var sp cost.SweepSpace
	for _, l := range []struct{ flag, v string }{{"array", f.array}, {"dataflow", f.dataflow}, {"scan-lanes", f.scanLanes},
		{"scan-mode", f.scanMode}, {"clock", f.clock}, {"dram-bw", f.dramBW}, {"buffer-kib", f.bufKiB}, {"act-kib", f.actKiB},
		{"tech", f.tech}, {"overlap", f.overlap}} {
		if changed(l.flag) && strings.TrimSpace(l.v) == "" {
			warn(fmt.Sprintf("--%s is empty: the base architectures' value is kept", l.flag))
		}
	}
	if strings.TrimSpace(f.arch) == "" {
		return sp, fmt.Errorf("--arch: give at least one base architecture")
	}
	seenArch := map[string]bool{}
	for _, a := range strings.Split(f.arch, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			return sp, fmt.Errorf("--arch %q: empty item", f.arch)
		}
		if seenArch[a] {
			warn(fmt.Sprintf("--arch: %s listed twice; swept once", a))
			continue
		}
		seenArch[a] = true
		s, err := arch.ResolveSpec(a)
		if err != nil {
			return sp, fmt.Errorf("--arch: %w", err)
		}
		if s, err = ov.apply(s); err != nil {
			return sp, err
		}
		sp.Bases = append(sp.Bases, s)
	}
	var err error
	if f.array != "" {
		if sp.Arrays, err = parseArrayList(f.array); err != nil {
			return sp, fmt.Errorf("--array: %w", err)
		}
	}
	for _, item := range splitList(f.dataflow) {
		if item == "all" {
			sp.Dataflows = append(sp.Dataflows, arch.OutputStationary, arch.WeightStationary, arch.InputStationary)
			continue
		}
		d, err := arch.ParseDataflow(item)
		if err != nil {
			return sp, fmt.Errorf("--dataflow: %w", err)
		}
		sp.Dataflows = append(sp.Dataflows, d)
	}
	for _, item := range splitList(f.scanMode) {
		m, err := arch.ParseScanMode(item)
		if err != nil {
			return sp, fmt.Errorf("--scan-mode: %w", err)
		}
		sp.ScanModes = append(sp.ScanModes, m)
	}
	for _, item := range splitList(f.tech) {
		t, err := arch.LookupTech(item)
		if err != nil {
			return sp, fmt.Errorf("--tech: %w", err)
		}
		sp.Techs = append(sp.Techs, t.Name)
	}
	for _, item := range splitList(f.overlap) {
		o, err := arch.ParseOverlap(item)
		if err != nil {
			return sp, fmt.Errorf("--overlap: %w", err)
		}
		sp.Overlaps = append(sp.Overlaps, o)
	}
	ints := []struct {
		flag, v string
		dst     *[]int
	}{{"scan-lanes", f.scanLanes, &sp.ScanLanes}, {"buffer-kib", f.bufKiB, &sp.BufferKiB}, {"act-kib", f.actKiB, &sp.ActKiB}}
	for _, l := range ints {
		if l.v == "" {
			continue
		}
		if *l.dst, err = parseIntList(l.v); err != nil {
			return sp, fmt.Errorf("--%s: %w", l.flag, err)
		}
	}
	floats := []struct {
		flag, v string
		dst     *[]float64
	}{{"clock", f.clock, &sp.ClockMHz}, {"dram-bw", f.dramBW, &sp.DRAMGBs}}
	for _, l := range floats {
		if l.v == "" {
			continue
		}
		if *l.dst, err = parseFloatList(l.v); err != nil {
			return sp, fmt.Errorf("--%s: %w", l.flag, err)
		}
	}
	sp.Arrays = dedupe(sp.Arrays, "array", func(a [2]int) string { return fmt.Sprintf("%dx%d", a[0], a[1]) }, warn)
	sp.Dataflows = dedupe(sp.Dataflows, "dataflow", func(d arch.Dataflow) string { return string(d) }, warn)
	sp.ScanLanes = dedupe(sp.ScanLanes, "scan-lanes", strconv.Itoa, warn)
	sp.ScanModes = dedupe(sp.ScanModes, "scan-mode", func(m arch.ScanMode) string { return string(m) }, warn)
	sp.ClockMHz = dedupe(sp.ClockMHz, "clock", fmtNum, warn)
	sp.DRAMGBs = dedupe(sp.DRAMGBs, "dram-bw", fmtNum, warn)
	sp.BufferKiB = dedupe(sp.BufferKiB, "buffer-kib", strconv.Itoa, warn)
	sp.ActKiB = dedupe(sp.ActKiB, "act-kib", strconv.Itoa, warn)
	sp.Techs = dedupe(sp.Techs, "tech", func(t string) string { return t }, warn)
	sp.Overlaps = dedupe(sp.Overlaps, "overlap", func(o arch.Overlap) string { return string(o) }, warn)
	return sp, nil
}

// dedupe drops the repeated values of a list flag, keeping the first of
// each, and warns once per repeated value (identical designs would only
// crowd the outputs).
func dedupe[T comparable](v []T, flag string, name func(T) string, warn func(string)) []T {
	seen := map[T]int{}
	var out []T
	for _, x := range v {
		if seen[x] == 0 {
			out = append(out, x)
		}
		seen[x]++
	}
	for _, x := range out {
		if n := seen[x]; n > 1 {
			warn(fmt.Sprintf("--%s: %s listed %d times; swept once", flag, name(x), n))
		}
	}
	return out
}

func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		out = append(out, strings.ToLower(strings.TrimSpace(p)))
	}
	return out
}

// sweepFiles are the files `vimsim sweep` writes into --out.
var sweepFiles = [...]string{"sweep.csv", "sweep.json", "pareto.png", "pareto.svg", "energy.png", "energy.svg"}

// newSweepCmd is `vimsim sweep`: evaluate a design space and write the
// designs, the Pareto front and plots.
func newSweepCmd() *cobra.Command {
	var sf sweepFlags
	var ov archOverrides
	var mf modelFlags
	var out, shardSpec string
	var jobs int
	var force bool
	cmd := &cobra.Command{
		Use:   "sweep --arch LIST [--array LIST …] --out DIR",
		Short: "Sweep architectures: latency, energy, resources and the Pareto front, as CSV, JSON, PNG and SVG",
		Long: `Evaluates every combination of the listed values on the model and writes
DIR/sweep.csv and DIR/sweep.json (one row per design, with a pareto column),
DIR/pareto.{png,svg} (latency vs energy with the Pareto front) and
DIR/energy.{png,svg} (energy breakdown of the front designs).
Lists are comma-separated; integer and number lists accept ranges A:B:+S
(arithmetic) and A:B:*F (geometric), e.g. --array 8:64:*2 --scan-lanes 8,16,32.
With --fpga, designs that do not fit are kept off the front and resource
utilisation is a third objective.

--shard i/n evaluates only the i-th of n contiguous ranges of the designs and
writes a partial result to the file --out; vimsim merge combines the
partials into exactly the files of the whole sweep.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := commandContext(cmd)
			if out == "" {
				return fmt.Errorf("--out is required (a directory)")
			}
			out = filepath.Clean(out)
			sr, err := newShardRun(cmd, "sweep", shardSpec, out, "jobs")
			if err != nil {
				return err
			}
			if sr.sharded() {
				err = checkOutputFile("out", out, force) // the partial
			} else {
				err = checkOutputDir("out", out, force)
			}
			if err != nil {
				return err
			}
			if jobs < 0 {
				return fmt.Errorf("--jobs %d: must be 0 (all cores) or positive", jobs)
			}
			warn := func(msg string) { fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", msg) }
			sp, err := sf.space(&ov, cmd.Flags().Changed, warn)
			if err != nil {
				return err
			}
			designs, err := sp.Designs()
			if err != nil {
				return err
			}
			all := len(designs)
			first, end := sr.spec.Range(all)
			designs = designs[first:end]
			cfg, err := mf.config()
			if err != nil {
				return fmt.Errorf("--model: %w", err)
			}
			l, err := intprog.Lower(cfg)
			if err != nil {
				return fmt.Errorf("--model: %w", err)
			}
			pts, err := sweepDesigns(ctx, cmd, designs, cfg.Name, l.Ops, jobs)
			if err != nil {
				return err
			}
			if sr.sharded() {
				return sr.write(all, nil, sweepPartial{Model: cfg.Name, Points: pts})
			}
			return writeSweep(ctx, cmd, pts, cfg.Name, out, force)
		},
	}
	sf.register(cmd.Flags(), &ov)
	f := cmd.Flags()
	ov.registerMemory(cmd)
	mf.register(cmd)
	f.StringVar(&out, "out", "", "output directory")
	f.IntVar(&jobs, "jobs", 0, "parallel workers (0 = all cores); results do not depend on it")
	f.StringVar(&shardSpec, "shard", "", shardUsage)
	registerForce(cmd, &force)
	return cmd
}

// writeSweep writes the files of a sweep of the model named into the
// directory out, atomically (rendered first, then written to a temporary
// sibling renamed into place; a non-empty out is refused without force),
// and prints the Pareto designs.
func writeSweep(ctx context.Context, cmd *cobra.Command, pts []cost.DesignPoint, model, out string, force bool) error {
	// Render everything before writing anything.
	var files [len(sweepFiles)][]byte
	var buf bytes.Buffer
	if err := cost.WriteSweepCSV(&buf, pts); err != nil {
		return err
	}
	files[0] = append([]byte(nil), buf.Bytes()...)
	buf.Reset()
	if err := cost.WriteSweepJSON(&buf, pts); err != nil {
		return err
	}
	files[1] = buf.Bytes()
	title := fmt.Sprintf("%s: %s", model, plural(len(pts), "design"))
	var err error
	for i, format := range []string{"png", "svg"} {
		if files[2+i], err = cost.PlotFront(pts, title, format); err != nil {
			return err
		}
		if files[4+i], err = cost.PlotEnergyBreakdown(pts, model+": energy per image of the Pareto designs", format); err != nil {
			return err
		}
	}
	err = writeOutputDir(ctx, "out", out, force, func(tmp string) error {
		for i, name := range sweepFiles {
			if err := os.WriteFile(filepath.Join(tmp, name), files[i], 0o644); err != nil {
				return fmt.Errorf("--out %s: %w", out, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeSweepSummary(cmd, pts, out)
}

// writeSweepSummary prints the Pareto designs by latency.
func writeSweepSummary(cmd *cobra.Command, pts []cost.DesignPoint, out string) error {
	w := cmd.OutOrStdout()
	var front []cost.DesignPoint
	for _, p := range pts {
		if p.Pareto {
			front = append(front, p)
		}
	}
	sortFront(front)
	fmt.Fprintf(w, "%s, %d on the Pareto front; wrote %s/{%s}\n", plural(len(pts), "design"), len(front), out, strings.Join(sweepFiles[:], ","))
	t := newPerfTable(w)
	t.Header("design", "latency ms", "images/s", "µJ/image", "TOPS/W", "bottleneck", "fpga")
	for _, p := range front {
		fit := ""
		if r := p.Resources; r != nil {
			fit = fmt.Sprintf("%s %s", fitsWord(r.Fits), pct1(r.MaxUtil()))
		}
		t.Append(p.Name, fmt.Sprintf("%.3f", p.LatencyMS), fmt.Sprintf("%.1f", p.ImagesPerS), fmt.Sprintf("%.1f", p.UJPerImage),
			fmt.Sprintf("%.3f", p.TOPSPerW), string(p.Bottleneck), fit)
	}
	return t.Render()
}

func sortFront(f []cost.DesignPoint) {
	for i := 1; i < len(f); i++ {
		for j := i; j > 0 && (f[j].LatencyMS < f[j-1].LatencyMS ||
			(f[j].LatencyMS == f[j-1].LatencyMS && f[j].UJPerImage < f[j-1].UJPerImage)); j-- {
			f[j], f[j-1] = f[j-1], f[j]
		}
	}
}

// plural returns "1 design", "2 designs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// sweepDesigns evaluates the designs in parts, drawing a progress bar and
// stopping when ctx is done, then marks the Pareto front over all of
// them. The result is cost.Sweep's on the whole list.
func sweepDesigns(ctx context.Context, cmd *cobra.Command, designs []arch.Spec, model string, ops []intprog.Op, jobs int) ([]cost.DesignPoint, error) {
	part := max(16, len(designs)/100)
	bar := newBar(cmd, len(designs), "sweep", "designs")
	defer bar.Abort()
	pts := make([]cost.DesignPoint, 0, len(designs))
	for start := 0; start < len(designs); start += part {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, err := cost.Sweep(designs[start:min(len(designs), start+part)], model, ops, jobs)
		if err != nil {
			return nil, err
		}
		pts = append(pts, p...)
		bar.Set(len(pts))
	}
	cost.MarkFront(pts)
	bar.Finish()
	return pts, nil
}
