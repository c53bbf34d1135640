package cost

import (
	"fmt"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost/scalesim"
	"github.com/vimsim/vimsim/quant/intprog"
)

// ReadWords counts the words (bytes: SCALE-Sim's word is one int8
// operand) read of the two input operands.
type ReadWords struct {
	Ifmap  int64 `json:"ifmap"`
	Filter int64 `json:"filter"`
}

// WriteWords counts the words written of the output operand.
type WriteWords struct {
	Ofmap int64 `json:"ofmap"`
}

// SCALESimCounts is what SCALE-Sim v2 reports for one GEMM in its
// USER-bandwidth mode (package scalesim): cycles and, in words, the SRAM
// demand and the DRAM traffic per operand.
type SCALESimCounts struct {
	// Config is the SCALE-Sim configuration the GEMM ran with: array,
	// dataflow, buffer KiB and bandwidth in words per cycle.
	Rows      int    `json:"rows"`
	Cols      int    `json:"cols"`
	Dataflow  string `json:"dataflow"`
	IfmapKiB  int    `json:"ifmap_sram_kib"`
	FilterKiB int    `json:"filter_sram_kib"`
	OfmapKiB  int    `json:"ofmap_sram_kib"`
	Bandwidth int    `json:"bandwidth_words_per_cycle"`

	TotalCycles   int64 `json:"total_cycles"`
	StallCycles   int64 `json:"stall_cycles"`
	ComputeCycles int64 `json:"compute_cycles"`

	SRAMReads  ReadWords  `json:"sram_reads"`
	SRAMWrites WriteWords `json:"sram_writes"`
	DRAMReads  ReadWords  `json:"dram_reads"`
	DRAMWrites WriteWords `json:"dram_writes"`

	// OverallUtilPct, MappingEffPct and ComputeUtilPct are SCALE-Sim's
	// percentages.
	OverallUtilPct float64 `json:"overall_util_pct"`
	MappingEffPct  float64 `json:"mapping_eff_pct"`
	ComputeUtilPct float64 `json:"compute_util_pct"`
}

// SCALESimCountsOf converts a SCALE-Sim layer report run with c.
func SCALESimCountsOf(c scalesim.Config, r scalesim.LayerReport) SCALESimCounts {
	return SCALESimCounts{
		Rows: c.Rows, Cols: c.Cols, Dataflow: c.Dataflow.String(),
		IfmapKiB: c.IfmapKiB, FilterKiB: c.FilterKiB, OfmapKiB: c.OfmapKiB, Bandwidth: c.Bandwidth,
		TotalCycles: r.TotalCycles, StallCycles: r.StallCycles, ComputeCycles: r.ComputeCycles(),
		SRAMReads:      ReadWords{Ifmap: r.SRAMIfmapReads.Words, Filter: r.SRAMFilterReads.Words},
		SRAMWrites:     WriteWords{Ofmap: r.SRAMOfmapWrites.Words},
		DRAMReads:      ReadWords{Ifmap: r.DRAMIfmapReads.Words, Filter: r.DRAMFilterReads.Words},
		DRAMWrites:     WriteWords{Ofmap: r.DRAMOfmapWrites.Words},
		OverallUtilPct: r.OverallUtilPct, MappingEffPct: r.MappingEffPct, ComputeUtilPct: r.ComputeUtilPct,
	}
}

// SCALESimConfig is the SCALE-Sim configuration of spec s's array: its
// rows, columns and dataflow, its ifmap, filter and ofmap buffer sizes, and
// its DRAM bandwidth in words per cycle (arch.Spec.WordsPerCycle: GB/s ·
// 1000 / MHz bytes per cycle, rounded down, one word per byte). SCALE-Sim
// always double-buffers (half of each buffer is active) and has no
// activation buffer, so buffers.double_buffered and buffers.act_kib do not
// enter it.
func SCALESimConfig(s arch.Spec) scalesim.Config {
	return scalesim.DefaultConfig(s.Array.Rows, s.Array.Cols, SCALESimDataflow(s.Array.Dataflow),
		s.Buffers.IfmapKiB, s.Buffers.FilterKiB, s.Buffers.OfmapKiB, s.WordsPerCycle())
}

// SCALESimDataflow is SCALE-Sim's name for dataflow d (os for anything
// but ws and is, which arch.Spec.Validate rules out).
func SCALESimDataflow(d arch.Dataflow) scalesim.Dataflow {
	switch d {
	case arch.WeightStationary:
		return scalesim.WeightStationary
	case arch.InputStationary:
		return scalesim.InputStationary
	}
	return scalesim.OutputStationary
}

// SimulateGEMM runs g through SCALE-Sim's memory model with the
// configuration of s (SCALESimConfig).
func SimulateGEMM(s arch.Spec, name string, g GEMM) (SCALESimCounts, error) {
	if err := g.Validate(); err != nil {
		return SCALESimCounts{}, err
	}
	c := SCALESimConfig(s)
	r, err := scalesim.SimulateLayer(c, scalesim.GEMMLayer(name, g.M, g.K, g.N))
	if err != nil {
		return SCALESimCounts{}, fmt.Errorf("scalesim: %w", err)
	}
	return SCALESimCountsOf(c, r), nil
}

// scalesimGEMMCost is the cost of a GEMM op in the scalesim memory mode:
// cycles, stalls, SRAM demand and DRAM traffic per operand as SCALE-Sim v2
// reports them in USER-bandwidth mode. Each GEMM starts with empty buffers
// and reads and writes every operand through DRAM (no activation buffer,
// docs/PERFMODEL.md §3.2). cache holds the runs of earlier ops of the same
// shape.
func scalesimGEMMCost(s arch.Spec, op *intprog.Op, cache map[GEMM]SCALESimCounts) (OpCost, error) {
	g := GEMM{M: op.M, K: op.K, N: op.N}
	comp, err := ComputeCycles(s.Array.Rows, s.Array.Cols, s.Array.Dataflow, g)
	if err != nil {
		return OpCost{}, fmt.Errorf("op %s (layer %d): %w", op.Name, op.Layer, err)
	}
	r, ok := cache[g]
	if !ok {
		if r, err = SimulateGEMM(s, op.Name, g); err != nil {
			return OpCost{}, fmt.Errorf("op %s (layer %d): %w", op.Name, op.Layer, err)
		}
		cache[g] = r
	}
	c := OpCost{Layer: op.Layer, Name: op.Name, Kind: op.Kind.String(), Unit: op.Unit, M: op.M, K: op.K, N: op.N,
		MACs: op.MACs(), ComputeCycles: r.ComputeCycles, StallCycles: r.StallCycles, Cycles: r.TotalCycles,
		Folds: comp.Folds, Util: comp.Util}
	rc := r
	c.SCALESim = &rc
	M, K, N := int64(op.M), int64(op.K), int64(op.N)
	wd := widthsOf(op)
	a := &c.Actions
	a.addMACs(macClass(wd.In, wd.Weight), g.MACs())
	a.PsumReg = g.MACs()
	a.Mult32 = M * N // requantisation, as in the default model
	a.Add32 = M * N
	// SRAM: the array's demand reads and writes, the fills from DRAM
	// written into the ifmap and filter buffers, the drain of the ofmap
	// buffer read out to DRAM. SCALE-Sim's word is one value; its words are
	// priced packed at the operand's width (SCALE-Sim itself has no
	// precision: cycles and word counts are its own whatever the widths).
	ifR, fR := packed(r.DRAMReads.Ifmap, wd.In), packed(r.DRAMReads.Filter, wd.Weight)
	oW := packed(r.DRAMWrites.Ofmap, wd.Out)
	a.IfmapRead, a.FilterRead = packed(r.SRAMReads.Ifmap, wd.In), packed(r.SRAMReads.Filter, wd.Weight)
	a.OfmapWrite = packed(r.SRAMWrites.Ofmap, wd.Out)
	a.IfmapWrite, a.FilterWrite, a.OfmapRead = ifR, fR, oW
	a.DRAMRead = ifR + fR
	a.DRAMWrite = oW
	// Traffic: the first read of each operand, then what SCALE-Sim reads
	// again (re-streaming, fold padding, whole lines) and the partial sums
	// it writes beyond the M×N outputs (WS, IS).
	tr := Traffic{Weights: min(fR, packed(K*N, wd.Weight)), In: min(ifR, packed(M*K, wd.In)), Out: min(oW, packed(M*N, wd.Out))}
	tr.Reread = fR - tr.Weights + ifR - tr.In
	tr.Spill = oW - tr.Out
	c.Traffic = tr
	c.MemCycles = memCycles(tr.Total(), float64(r.Bandwidth))
	return c, nil
}
