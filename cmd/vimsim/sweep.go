package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/internal/atomicfile"
	"github.com/vimsim/vimsim/quant/intprog"
)

// sweepFlags hold the design-space flags of `vimsim sweep`: comma lists,
// ranges A:B:+S or A:B:*F, and spec files.
type sweepFlags struct {
	arch, array, dataflow, scanLanes, scanMode, clock, dramBW, bufKiB, actKiB, tech, overlap string
}

// space builds the design space, naming the flag of a bad value.
func (f *sweepFlags) space(ov *archOverrides) (cost.SweepSpace, error) {
	var sp cost.SweepSpace
	for _, a := range strings.Split(f.arch, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			return sp, fmt.Errorf("--arch %q: empty item", f.arch)
		}
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
	return sp, nil
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
			if out == "" {
				return fmt.Errorf("--out is required (a directory)")
			}
			if jobs < 0 {
				return fmt.Errorf("--jobs %d: must be 0 (all cores) or positive", jobs)
			}
			sp, err := sf.space(&ov)
			if err != nil {
				return err
			}
			designs, err := sp.Designs()
			if err != nil {
				return err
			}
			sr, err := newShardRun(cmd, "sweep", shardSpec, out, "jobs")
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
			pts, err := cost.Sweep(designs, cfg.Name, l.Ops, jobs)
			if err != nil {
				return err
			}
			if sr.sharded() {
				return sr.write(all, nil, sweepPartial{Model: cfg.Name, Points: pts})
			}
			return writeSweep(cmd, pts, cfg.Name, out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&sf.arch, "arch", "systolic16", "base architectures: presets or spec files, comma-separated")
	f.StringVar(&sf.array, "array", "", "array sizes RxC, or a square range such as 8:64:*2")
	f.StringVar(&sf.dataflow, "dataflow", "", "dataflows: os, ws, is or all")
	f.StringVar(&sf.scanLanes, "scan-lanes", "", "scan unit lane counts")
	f.StringVar(&sf.scanMode, "scan-mode", "", "scan modes: sequential, parallel-prefix")
	f.StringVar(&sf.clock, "clock", "", "clock frequencies in MHz")
	f.StringVar(&sf.dramBW, "dram-bw", "", "DRAM bandwidths in GB/s")
	f.StringVar(&sf.bufKiB, "buffer-kib", "", "ifmap/filter/ofmap buffer sizes in KiB (each)")
	f.StringVar(&sf.actKiB, "act-kib", "", "activation buffer sizes in KiB")
	f.StringVar(&sf.tech, "tech", "", "energy tables: "+strings.Join(arch.TechNames(), ", "))
	f.StringVar(&sf.overlap, "overlap", "", "overlap modes: serial, pipelined")
	f.StringVar(&ov.fpga, "fpga", "", "FPGA board for resources and fit: "+strings.Join(arch.BoardNames(), ", "))
	f.StringVar(&ov.packing, "dsp-packing", "", "int8 MACs per DSP: none, dual or dot3")
	ov.registerMemory(cmd)
	mf.register(cmd)
	f.StringVar(&out, "out", "", "output directory")
	f.IntVar(&jobs, "jobs", 0, "parallel workers (0 = all cores); results do not depend on it")
	f.StringVar(&shardSpec, "shard", "", shardUsage)
	return cmd
}

// writeSweep writes the files of a sweep of the model named into the
// directory out and prints the Pareto designs.
func writeSweep(cmd *cobra.Command, pts []cost.DesignPoint, model, out string) error {
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
	title := fmt.Sprintf("%s: %d designs", model, len(pts))
	var err error
	for i, format := range []string{"png", "svg"} {
		if files[2+i], err = cost.PlotFront(pts, title, format); err != nil {
			return err
		}
		if files[4+i], err = cost.PlotEnergyBreakdown(pts, model+": energy per image of the Pareto designs", format); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	for i, name := range sweepFiles {
		if err := atomicfile.WriteFile(filepath.Join(out, name), files[i]); err != nil {
			return err
		}
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
	fmt.Fprintf(w, "%d designs, %d on the Pareto front; wrote %s/{%s}\n", len(pts), len(front), out, strings.Join(sweepFiles[:], ","))
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
