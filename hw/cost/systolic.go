package cost

import (
	"fmt"

	"github.com/vimsim/vimsim/hw/arch"
)

// GEMM is the shape of one matrix product: an M×K ifmap times a K×N filter
// gives an M×N ofmap. (SCALE-Sim's GEMM topology rows list M, N, K.)
type GEMM struct {
	M int `json:"m"`
	K int `json:"k"`
	N int `json:"n"`
}

// maxGEMMDim bounds each GEMM dimension so that cycle counts fit in int64.
const maxGEMMDim = 1 << 20

// Validate reports a non-positive or too large dimension.
func (g GEMM) Validate() error {
	for _, d := range []struct {
		name string
		v    int
	}{{"M", g.M}, {"K", g.K}, {"N", g.N}} {
		if d.v < 1 || d.v > maxGEMMDim {
			return fmt.Errorf("gemm %s = %d out of range [1, %d]", d.name, d.v, maxGEMMDim)
		}
	}
	return nil
}

// MACs is M·K·N.
func (g GEMM) MACs() int64 { return int64(g.M) * int64(g.K) * int64(g.N) }

// Compute is the stall-free execution of one GEMM on an R×C systolic array,
// with the quantities SCALE-Sim v2 reports (§1.2).
type Compute struct {
	Rows     int           `json:"rows"`
	Cols     int           `json:"cols"`
	Dataflow arch.Dataflow `json:"dataflow"`
	GEMM     GEMM          `json:"gemm"`
	// SR, SC and T are the operand dimensions mapped to array rows, array
	// columns and time (§1.1 table).
	SR int `json:"sr"`
	SC int `json:"sc"`
	T  int `json:"t"`
	// RowFolds·ColFolds = Folds; each fold takes CyclesPerFold cycles.
	RowFolds      int64 `json:"row_folds"`
	ColFolds      int64 `json:"col_folds"`
	Folds         int64 `json:"folds"`
	CyclesPerFold int64 `json:"cycles_per_fold"`
	// Cycles is SCALE-Sim's stall-free "Total Cycles": Folds·CyclesPerFold − 1.
	Cycles int64 `json:"compute_cycles"`
	// Util is SCALE-Sim's "Overall Util" as a fraction: M·N·K/(Cycles·R·C).
	Util float64 `json:"util"`
	// MappingEfficiency is the mean over folds of used PEs/(R·C).
	MappingEfficiency float64 `json:"mapping_efficiency"`
	// ComputeUtil is SCALE-Sim's "Compute Util" as a fraction (for WS and
	// IS it keeps the code's extra C−1 cycles per fold, §1.2).
	ComputeUtil float64 `json:"compute_util"`
	// SRAM demand counts in elements: the valid entries of SCALE-Sim's
	// ifmap, filter and ofmap demand matrices. (SCALE-Sim's OS ofmap_writes
	// counter adds a spurious R+C per fold, §1.2 quirk; this one does not.)
	IfmapReads  int64 `json:"ifmap_reads"`
	FilterReads int64 `json:"filter_reads"`
	OfmapWrites int64 `json:"ofmap_writes"`
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// SpatioTemporal returns the dimensions of g mapped to array rows, array
// columns and time under dataflow df (§1.1).
func SpatioTemporal(df arch.Dataflow, g GEMM) (sr, sc, t int, err error) {
	switch df {
	case arch.OutputStationary:
		return g.M, g.N, g.K, nil
	case arch.WeightStationary:
		return g.K, g.N, g.M, nil
	case arch.InputStationary:
		return g.K, g.M, g.N, nil
	}
	return 0, 0, 0, fmt.Errorf("dataflow %q: want os, ws or is", df)
}

// ComputeCycles returns SCALE-Sim v2's stall-free compute cycles of g on a
// rows×cols array (§1.2):
//
//	OS: ⌈M/R⌉·⌈N/C⌉·(K + R + C − 2) − 1
//	WS: ⌈K/R⌉·⌈N/C⌉·(2R + C + M − 2) − 1
//	IS: ⌈K/R⌉·⌈M/C⌉·(2R + C + N − 2) − 1
func ComputeCycles(rows, cols int, df arch.Dataflow, g GEMM) (Compute, error) {
	if rows < 1 || rows > arch.MaxArrayDim || cols < 1 || cols > arch.MaxArrayDim {
		return Compute{}, fmt.Errorf("array %dx%d: rows and cols must be in [1, %d]", rows, cols, arch.MaxArrayDim)
	}
	if err := g.Validate(); err != nil {
		return Compute{}, err
	}
	sr, sc, t, err := SpatioTemporal(df, g)
	if err != nil {
		return Compute{}, err
	}
	R, C := int64(rows), int64(cols)
	SR, SC, T := int64(sr), int64(sc), int64(t)
	c := Compute{Rows: rows, Cols: cols, Dataflow: df, GEMM: g, SR: sr, SC: sc, T: t}
	c.RowFolds, c.ColFolds = ceilDiv(SR, R), ceilDiv(SC, C)
	c.Folds = c.RowFolds * c.ColFolds
	utilCycles := T + R + C - 2 // cycles_this_fold of the Compute Util metric
	switch df {
	case arch.OutputStationary:
		c.CyclesPerFold = T + R + C - 2
		c.IfmapReads = c.ColFolds * T * SR
		c.FilterReads = c.RowFolds * T * SC
		c.OfmapWrites = SR * SC
	case arch.WeightStationary:
		c.CyclesPerFold = 2*R + C + T - 2
		utilCycles = 2*R + 2*C + T - 3
		c.IfmapReads = c.ColFolds * T * SR
		c.FilterReads = SR * SC
		c.OfmapWrites = c.RowFolds * T * SC
	case arch.InputStationary:
		c.CyclesPerFold = 2*R + C + T - 2
		utilCycles = 2*R + 2*C + T - 3
		c.IfmapReads = SR * SC
		c.FilterReads = c.ColFolds * T * SR
		c.OfmapWrites = c.RowFolds * T * SC
	}
	c.Cycles = c.Folds*c.CyclesPerFold - 1
	pes := float64(R * C)
	c.Util = float64(g.MACs()) / (float64(c.Cycles) * pes)
	c.MappingEfficiency = float64(SR*SC) / (float64(c.Folds) * pes)
	c.ComputeUtil = float64(SR*SC) * float64(T) / (float64(c.Folds) * pes * float64(utilCycles))
	return c, nil
}
