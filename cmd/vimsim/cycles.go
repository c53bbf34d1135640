package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/hw/cost/scalesim"
)

// cyclesReport is the JSON form of `vimsim cycles --gemm`: the stall-free
// compute of the GEMM and, with --memory scalesim, SCALE-Sim's cycles and
// memory counts (whose rows, cols, dataflow and compute_cycles repeat the
// ones above and are written once).
type cyclesReport struct {
	ComputeCycles     int64         `json:"compute_cycles"`
	Folds             int64         `json:"folds"`
	Util              float64       `json:"util"`
	CyclesPerFold     int64         `json:"cycles_per_fold"`
	RowFolds          int64         `json:"row_folds"`
	ColFolds          int64         `json:"col_folds"`
	MappingEfficiency float64       `json:"mapping_efficiency"`
	ComputeUtil       float64       `json:"compute_util"`
	Rows              int           `json:"rows"`
	Cols              int           `json:"cols"`
	Dataflow          arch.Dataflow `json:"dataflow"`
	M                 int           `json:"m"`
	K                 int           `json:"k"`
	N                 int           `json:"n"`
	Memory            string        `json:"memory,omitempty"`
	*cost.SCALESimCounts
}

// cyclesFlags are the flags of `vimsim cycles`.
type cyclesFlags struct {
	arch, array, dataflow, gemm, format, memory, sramKiB string
	bandwidth                                            int
	config, topology, inputType, out                     string
	force                                                bool
}

// newCyclesCmd is `vimsim cycles`: SCALE-Sim v2 cycles of one GEMM, or of
// a SCALE-Sim configuration and topology.
func newCyclesCmd() *cobra.Command {
	var f cyclesFlags
	cmd := &cobra.Command{
		Use:   "cycles --gemm M,K,N [--arch A | --array RxC] [--dataflow D] [--memory scalesim …] | --config F.cfg [--topology T.csv] [--out DIR]",
		Short: "Cycles of one GEMM (M×K times K×N) as SCALE-Sim v2 counts them, or a SCALE-Sim run from its .cfg and topology",
		Long: `With --gemm, prints SCALE-Sim v2's stall-free "Total Cycles" of an M×K by K×N
GEMM on an R-row, C-column systolic array, its folds and its overall utilisation
(util = M·K·N / (cycles·R·C), in percent in the table and CSV, a fraction in
JSON). Compute cycles are folds × cycles per fold − 1: SCALE-Sim v2 reports
the index of the last busy cycle, counting from 0, and vimsim keeps its
figure. SCALE-Sim topology files list GEMMs as M, N, K: reorder when comparing.

With --memory scalesim it also runs SCALE-Sim's USER-bandwidth memory model:
total and stall cycles, SRAM reads and writes and DRAM reads and writes per
operand, in words (one word = one byte). The buffer sizes (--sram-kib
IFMAP,FILTER,OFMAP in KiB) and the bandwidth (--bandwidth, words per cycle)
default to the architecture's (GB/s · 1000 / MHz bytes per cycle, rounded
down); with --array they are required.

With --config, reads a SCALE-Sim .cfg file and a topology CSV (--topology, or
the .cfg's TopologyCsvLoc; conv or GEMM layout, told by its header unless
--input-type says) and prints SCALE-Sim's compute report; --out DIR also writes
COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv into
DIR, as SCALE-Sim writes them (atomically; a non-empty DIR is refused without
--force).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat("format", f.format, "table", "csv", "json"); err != nil {
				return err
			}
			if f.config != "" {
				return f.runConfig(cmd)
			}
			for _, fl := range []string{"topology", "input-type", "out"} {
				if cmd.Flags().Changed(fl) {
					return fmt.Errorf("--%s needs --config", fl)
				}
			}
			return f.runGEMM(cmd)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.arch, "arch", "", "architecture preset or spec file (default systolic16)")
	fl.StringVar(&f.array, "array", "", "array size RxC (rows x columns), instead of --arch")
	fl.StringVar(&f.dataflow, "dataflow", "", "dataflow os, ws or is (default: the architecture's)")
	fl.StringVar(&f.gemm, "gemm", "", "GEMM shape M,K,N")
	fl.StringVar(&f.format, "format", "table", "output format: table, csv (--gemm) or json")
	fl.StringVar(&f.memory, "memory", "", "memory model: scalesim adds SCALE-Sim v2's stalls and SRAM/DRAM traffic (default: the architecture's; none with --array)")
	fl.StringVar(&f.sramKiB, "sram-kib", "", "with --memory scalesim: ifmap, filter and ofmap buffer KiB as I,F,O (or one size for all)")
	fl.IntVar(&f.bandwidth, "bandwidth", 0, "with --memory scalesim: DRAM bandwidth in words (bytes) per cycle")
	fl.StringVar(&f.config, "config", "", "SCALE-Sim .cfg file (instead of --gemm)")
	fl.StringVar(&f.topology, "topology", "", "with --config: SCALE-Sim topology CSV (default: the .cfg's TopologyCsvLoc)")
	fl.StringVar(&f.inputType, "input-type", "auto", "with --config: topology layout conv, gemm or auto (from the header: gemm when its second column is M)")
	fl.StringVar(&f.out, "out", "", "with --config: directory for COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv")
	registerForce(cmd, &f.force)
	return cmd
}

// runGEMM is `vimsim cycles --gemm`.
func (f *cyclesFlags) runGEMM(cmd *cobra.Command) error {
	if f.gemm == "" {
		return fmt.Errorf("--gemm is required (M,K,N), or --config")
	}
	g, err := parseGEMM(f.gemm)
	if err != nil {
		return fmt.Errorf("--gemm: %w", err)
	}
	var spec *arch.Spec
	var rows, cols int
	df := arch.OutputStationary
	switch {
	case f.arch != "" && f.array != "":
		return fmt.Errorf("--arch and --array are exclusive")
	case f.array != "":
		if rows, cols, err = parseArray(f.array); err != nil {
			return fmt.Errorf("--array: %w", err)
		}
	default:
		name := f.arch
		if name == "" {
			name = "systolic16"
		}
		s, err := arch.ResolveSpec(name)
		if err != nil {
			return fmt.Errorf("--arch: %w", err)
		}
		spec = &s
		rows, cols, df = s.Array.Rows, s.Array.Cols, s.Array.Dataflow
	}
	if f.dataflow != "" {
		if df, err = arch.ParseDataflow(f.dataflow); err != nil {
			return fmt.Errorf("--dataflow: %w", err)
		}
	}
	c, err := cost.ComputeCycles(rows, cols, df, g)
	if err != nil {
		return err
	}
	r := cyclesReport{ComputeCycles: c.Cycles, Folds: c.Folds, Util: c.Util, CyclesPerFold: c.CyclesPerFold,
		RowFolds: c.RowFolds, ColFolds: c.ColFolds, MappingEfficiency: c.MappingEfficiency, ComputeUtil: c.ComputeUtil,
		Rows: rows, Cols: cols, Dataflow: df, M: g.M, K: g.K, N: g.N}
	if r.SCALESimCounts, err = f.scalesimCounts(spec, rows, cols, df, g); err != nil {
		return err
	}
	if r.SCALESimCounts != nil {
		r.Memory = string(arch.MemorySCALESim)
	}
	w := cmd.OutOrStdout()
	if f.format == "json" {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	if f.format == "csv" {
		return writeCyclesCSV(w, r)
	}
	t := newPerfTable(w)
	t.Header("array", "dataflow", "gemm M,K,N", "compute cycles", "folds", "cycles/fold", "util %", "mapping eff %", "compute util %")
	t.Append(fmt.Sprintf("%dx%d", rows, cols), string(df), fmt.Sprintf("%d,%d,%d", g.M, g.K, g.N),
		commas(c.Cycles), commas(c.Folds), commas(c.CyclesPerFold),
		fmt.Sprintf("%.2f", 100*c.Util), fmt.Sprintf("%.2f", 100*c.MappingEfficiency), fmt.Sprintf("%.2f", 100*c.ComputeUtil))
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintf(w, "compute cycles = folds × cycles/fold − 1 = %s × %s − 1 (SCALE-Sim v2's last cycle index, counted from 0)\n",
		commas(c.Folds), commas(c.CyclesPerFold))
	if m := r.SCALESimCounts; m != nil {
		fmt.Fprintf(w, "\nSCALE-Sim v2 memory, USER bandwidth: SRAM %d/%d/%d KiB (ifmap/filter/ofmap), %d words/cycle\n",
			m.IfmapKiB, m.FilterKiB, m.OfmapKiB, m.Bandwidth)
		t := newPerfTable(w)
		t.Header("total cycles", "stall cycles", "SRAM reads ifmap", "SRAM reads filter", "SRAM writes ofmap",
			"DRAM reads ifmap", "DRAM reads filter", "DRAM writes ofmap")
		t.Append(commas(m.TotalCycles), commas(m.StallCycles), commas(m.SRAMReads.Ifmap), commas(m.SRAMReads.Filter),
			commas(m.SRAMWrites.Ofmap), commas(m.DRAMReads.Ifmap), commas(m.DRAMReads.Filter), commas(m.DRAMWrites.Ofmap))
		return t.Render()
	}
	return nil
}

// scalesimCounts runs SCALE-Sim's memory model on g when --memory (or the
// architecture) asks for it: nil otherwise.
func (f *cyclesFlags) scalesimCounts(spec *arch.Spec, rows, cols int, df arch.Dataflow, g cost.GEMM) (*cost.SCALESimCounts, error) {
	mem := arch.MemoryVimsim
	if spec != nil && spec.SCALESimMemory() {
		mem = arch.MemorySCALESim
	}
	if f.memory != "" {
		m, err := arch.ParseMemoryModel(f.memory)
		if err != nil {
			return nil, fmt.Errorf("--memory: %w", err)
		}
		mem = m
	}
	if mem != arch.MemorySCALESim {
		if f.sramKiB != "" {
			return nil, fmt.Errorf("--sram-kib needs --memory scalesim")
		}
		if f.bandwidth != 0 {
			return nil, fmt.Errorf("--bandwidth needs --memory scalesim")
		}
		return nil, nil
	}
	var c scalesim.Config
	if spec != nil {
		s := spec.WithDataflow(df)
		if err := s.WithMemory(arch.MemorySCALESim).Validate(); err != nil && f.bandwidth == 0 {
			return nil, fmt.Errorf("--memory scalesim on %s: %w (or give --bandwidth)", s.Name, err)
		}
		c = cost.SCALESimConfig(s)
	} else {
		if f.sramKiB == "" || f.bandwidth == 0 {
			return nil, fmt.Errorf("--memory scalesim with --array needs --sram-kib I,F,O and --bandwidth W")
		}
		c = scalesim.DefaultConfig(rows, cols, cost.SCALESimDataflow(df), 0, 0, 0, 0)
	}
	if f.sramKiB != "" {
		kib, err := parseSRAMKiB(f.sramKiB)
		if err != nil {
			return nil, fmt.Errorf("--sram-kib: %w", err)
		}
		c.IfmapKiB, c.FilterKiB, c.OfmapKiB = kib[0], kib[1], kib[2]
	}
	if f.bandwidth != 0 {
		if f.bandwidth < 0 {
			return nil, fmt.Errorf("--bandwidth %d: want a positive number of words per cycle", f.bandwidth)
		}
		c.Bandwidth = f.bandwidth
	}
	r, err := scalesim.SimulateLayer(c, scalesim.GEMMLayer("gemm", g.M, g.K, g.N))
	if err != nil {
		return nil, fmt.Errorf("--memory scalesim: %w", err)
	}
	counts := cost.SCALESimCountsOf(c, r)
	return &counts, nil
}

// parseSRAMKiB reads I,F,O (or one size for all three) in KiB.
func parseSRAMKiB(s string) ([3]int, error) {
	parts := strings.Split(s, ",")
	if len(parts) == 1 {
		parts = []string{parts[0], parts[0], parts[0]}
	}
	var kib [3]int
	if len(parts) != 3 {
		return kib, fmt.Errorf("%q: want IFMAP,FILTER,OFMAP in KiB (or one size)", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return kib, fmt.Errorf("%q: %q is not a positive integer", s, p)
		}
		kib[i] = n
	}
	return kib, nil
}

// runConfig is `vimsim cycles --config F.cfg`.
func (f *cyclesFlags) runConfig(cmd *cobra.Command) error {
	if f.format == "csv" {
		return fmt.Errorf("--format csv: with --gemm only (--out DIR writes SCALE-Sim's CSV reports)")
	}
	if f.out != "" {
		f.out = filepath.Clean(f.out)
		if err := checkOutputDir("out", f.out, f.force); err != nil {
			return err
		}
	}
	for _, fl := range []string{"gemm", "arch", "array", "dataflow", "memory", "sram-kib", "bandwidth"} {
		if cmd.Flags().Changed(fl) {
			return fmt.Errorf("--%s and --config are exclusive (the .cfg file gives the array, buffers and bandwidth)", fl)
		}
	}
	cf, err := scalesim.ReadConfig(f.config)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	topo := f.topology
	if topo == "" {
		if topo = cf.Topology; topo == "" {
			return fmt.Errorf("--topology is required: %s names no [network_presets] TopologyCsvLoc", f.config)
		}
	}
	kind, err := topologyKind(topo, f.inputType)
	if err != nil {
		return err
	}
	layers, err := scalesim.ReadTopology(topo, kind)
	if err != nil {
		return fmt.Errorf("--topology: %w", err)
	}
	rep, err := scalesim.Run(cf.Config, layers)
	if err != nil {
		return fmt.Errorf("%s with %s: %w", f.config, topo, err)
	}
	if f.out != "" {
		err := writeOutputDir(commandContext(cmd), "out", f.out, f.force, func(tmp string) error {
			if err := scalesim.WriteReports(tmp, rep); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	w := cmd.OutOrStdout()
	if f.format == "json" {
		return writeRunJSON(w, cf.Config, rep)
	}
	fmt.Fprintf(w, "SCALE-Sim v2 run %s: %dx%d %s array, SRAM %d/%d/%d KiB, %d words/cycle, %d layers\n",
		rep.RunName, cf.Config.Rows, cf.Config.Cols, cf.Config.Dataflow, cf.Config.IfmapKiB, cf.Config.FilterKiB,
		cf.Config.OfmapKiB, cf.Config.Bandwidth, len(rep.Layers))
	t := newPerfTable(w)
	t.Header("layer", "gemm M,K,N", "total cycles", "stall cycles", "util %", "mapping eff %", "DRAM reads ifmap", "DRAM reads filter", "DRAM writes ofmap")
	for _, l := range rep.Layers {
		t.Append(l.Name, fmt.Sprintf("%d,%d,%d", l.M, l.K, l.N), commas(l.TotalCycles), commas(l.StallCycles),
			fmt.Sprintf("%.2f", l.OverallUtilPct), fmt.Sprintf("%.2f", l.MappingEffPct),
			commas(l.DRAMIfmapReads.Words), commas(l.DRAMFilterReads.Words), commas(l.DRAMOfmapWrites.Words))
	}
	if err := t.Render(); err != nil {
		return err
	}
	if f.out != "" {
		fmt.Fprintf(w, "wrote %s/{%s,%s,%s}\n", f.out, scalesim.ComputeReportName, scalesim.BandwidthReportName, scalesim.DetailedAccessReportName)
	}
	return nil
}

// writeRunJSON writes a SCALE-Sim run as JSON: one object per layer with
// the fields of `cycles --gemm --memory scalesim`.
func writeRunJSON(w io.Writer, c scalesim.Config, rep scalesim.Report) error {
	type layer struct {
		Name string `json:"name"`
		M    int    `json:"m"`
		K    int    `json:"k"`
		N    int    `json:"n"`
		cost.SCALESimCounts
	}
	doc := struct {
		RunName string  `json:"run_name"`
		Layers  []layer `json:"layers"`
	}{RunName: rep.RunName}
	for _, l := range rep.Layers {
		doc.Layers = append(doc.Layers, layer{Name: l.Name, M: l.M, K: l.K, N: l.N, SCALESimCounts: cost.SCALESimCountsOf(c, l)})
	}
	return writeJSON(w, doc)
}

// topologyKind decides the layout of a topology CSV: --input-type conv or
// gemm, or (auto) from its header, GEMM when the second column is M.
func topologyKind(path, inputType string) (scalesim.TopologyKind, error) {
	switch strings.ToLower(inputType) {
	case "conv":
		return scalesim.ConvTopology, nil
	case "gemm":
		return scalesim.GEMMTopology, nil
	case "auto", "":
	default:
		return 0, fmt.Errorf("--input-type %q: want conv, gemm or auto", inputType)
	}
	fh, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("--topology: %w", err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return 0, fmt.Errorf("--topology %s: %w", path, err)
		}
		return 0, fmt.Errorf("--topology %s: empty file (want a header line and one row per layer)", path)
	}
	cols := strings.Split(sc.Text(), ",")
	if len(cols) > 1 && strings.EqualFold(strings.TrimSpace(cols[1]), "M") {
		return scalesim.GEMMTopology, nil
	}
	return scalesim.ConvTopology, nil
}

// writeCyclesCSV writes the report as a header and one row, utilisations
// in percent.
func writeCyclesCSV(w io.Writer, r cyclesReport) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"rows", "cols", "dataflow", "m", "k", "n", "compute_cycles", "folds", "row_folds", "col_folds",
		"cycles_per_fold", "util_pct", "mapping_efficiency_pct", "compute_util_pct"})
	cw.Write([]string{strconv.Itoa(r.Rows), strconv.Itoa(r.Cols), string(r.Dataflow), strconv.Itoa(r.M), strconv.Itoa(r.K),
		strconv.Itoa(r.N), itoa(r.ComputeCycles), itoa(r.Folds), itoa(r.RowFolds), itoa(r.ColFolds), itoa(r.CyclesPerFold),
		pctCell(r.Util), pctCell(r.MappingEfficiency), pctCell(r.ComputeUtil)})
	cw.Flush()
	return cw.Error()
}
