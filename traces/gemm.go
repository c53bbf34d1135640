package traces

import (
	"fmt"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/hw/datapath"
)

// GEMM records one matrix product out = a·wᵀ (datapath.GEMM): a layer-level
// set with the whole operands and results (testbench tb_gemm_layer on the
// gemm_os engine, checking the cycle model's fold and total cycles) and
// tile-level sets of the first and last folds at the array's edge, skewed
// as the output-stationary dataflow injects them (tb_gemm_tile on
// systolic_array_os).
func (r *Recorder) GEMM(layer int, op string, a datapath.Matrix[int8], w *datapath.Weights) error {
	if !r.Wants(layer, UnitGEMM) {
		return nil
	}
	if w == nil {
		return fmt.Errorf("vectors: gemm %s: nil weights", op)
	}
	M, K, N := a.Rows, w.K, w.N
	out := datapath.NewMatrix[int32](M, N)
	if err := datapath.GEMM(out, a, w, nil); err != nil {
		return fmt.Errorf("vectors: gemm %s: %w", op, err)
	}
	R, C := r.opt.Arch.Array.Rows, r.opt.Arch.Array.Cols
	if df := r.opt.Arch.Array.Dataflow; df != arch.OutputStationary {
		sets, err := stationarySets(layer, op, df, a, w, out, R, C, r.opt.TileSets)
		if err != nil {
			return err
		}
		return r.keep(sets...)
	}
	cc, err := cost.ComputeCycles(R, C, arch.OutputStationary, cost.GEMM{M: M, K: K, N: N})
	if err != nil {
		return fmt.Errorf("vectors: gemm %s: %w", op, err)
	}
	mf, nf := (M+R-1)/R, (N+C-1)/C
	if int64(mf*nf) != cc.Folds {
		return fmt.Errorf("vectors: gemm %s: %d folds, cycle model %d", op, mf*nf, cc.Folds)
	}
	total := cc.Folds * cc.CyclesPerFold // = cc.Cycles + 1

	ls := newSet(UnitGEMM, "tb_gemm_layer", layer, op, "gemm_layer")
	ls.info = fmt.Sprintf("GEMM C = A·Wᵀ, M=%d K=%d N=%d on a %dx%d os array: %d folds of %d cycles", M, K, N, R, C, cc.Folds, cc.CyclesPerFold)
	ls.paramTable([]paramDoc{
		{"R", int64(R), "array rows"}, {"C", int64(C), "array columns"},
		{"M", int64(M), "ifmap rows (tokens)"}, {"K", int64(K), "reduction depth"}, {"N", int64(N), "outputs"},
		{"MF", int64(mf), "row folds"}, {"NF", int64(nf), "column folds"},
		{"FOLD_CYCLES", cc.CyclesPerFold, "cost.ComputeCycles per-fold cycles, K + R + C - 2"},
		{"TOTAL_CYCLES", total, "folds x FOLD_CYCLES = cost.ComputeCycles + 1"},
		{"WATCHDOG_CYCLES", total + int64(8*(R+C)+K) + 1000, "testbench timeout"},
	})
	ls.gemmOperands(a, w, out, cc.CyclesPerFold, total)
	sets := []*vectorSet{ls}

	folds := [][2]int{{0, 0}}
	if r.opt.TileSets > 1 && mf*nf > 1 {
		folds = append(folds, [2]int{mf - 1, nf - 1})
	}
	for i, f := range folds {
		sets = append(sets, tileSet(layer, op, i, f[0], f[1], a, w, out, R, C, cc.CyclesPerFold))
	}
	return r.keep(sets...)
}

// gemmOperands adds the files of a layer-level GEMM set (A, W and C, the
// same for every dataflow) and its vector and cycle counts.
func (s *vectorSet) gemmOperands(a datapath.Matrix[int8], w *datapath.Weights, out datapath.Matrix[int32], fold, total int64) {
	M, K, N := a.Rows, w.K, w.N
	s.add(&tensor{name: "a", role: Stimulus, dtype: "int8", bits: 8, shape: []int{M, K}, layout: "row-major (m, k)", values: widen(a.Data)})
	s.add(&tensor{name: "w", role: Stimulus, dtype: weightDType(w), bits: 8, shape: []int{N, K}, layout: "row-major (n, k), the PyTorch Linear weight", values: widen(w.Data)})
	weightWidth(s, w)
	s.add(&tensor{name: "c", role: Expected, dtype: "int32", bits: 32, shape: []int{M, N}, layout: "row-major (m, n)", values: widen(out.Data)})
	s.vectors = M * N
	s.cycles = &Cycles{Fold: fold, Total: total}
}

// tileSet builds the edge-level vectors of fold (fm, fn): per cycle, the
// operand entering each array row and column.
func tileSet(layer int, op string, idx, fm, fn int, a datapath.Matrix[int8], w *datapath.Weights, out datapath.Matrix[int32], R, C int, cycles int64) *vectorSet {
	M, K, N := a.Rows, w.K, w.N
	m0, n0 := fm*R, fn*C
	P := int(cycles) // K + R + C - 2
	s := newSet(UnitGEMM, "tb_gemm_tile", layer, op, fmt.Sprintf("gemm_tile%d", idx))
	s.info = fmt.Sprintf("fold (%d, %d) of GEMM M=%d K=%d N=%d: rows %d..%d, columns %d..%d, skewed os streams of %d cycles",
		fm, fn, M, K, N, m0, m0+R-1, n0, n0+C-1, P)
	s.param("R", int64(R), "array rows")
	s.param("C", int64(C), "array columns")
	s.param("T", int64(K), "fold depth K")
	s.param("CYCLES", cycles, "cost.ComputeCycles per-fold cycles, T + R + C - 2")
	s.param("FOLD_M", int64(fm), "row fold index")
	s.param("FOLD_N", int64(fn), "column fold index")
	s.param("WATCHDOG_CYCLES", cycles+int64(4*R)+1000, "testbench timeout")
	as := make([]int64, P*R)
	ws := make([]int64, P*C)
	for c := 0; c < P; c++ {
		for i := 0; i < R; i++ {
			if k := c - i; k >= 0 && k < K && m0+i < M {
				as[c*R+i] = int64(a.At(m0+i, k))
			}
		}
		for j := 0; j < C; j++ {
			if k := c - j; k >= 0 && k < K && n0+j < N {
				ws[c*C+j] = int64(w.Data[(n0+j)*K+k])
			}
		}
	}
	cs := make([]int64, R*C)
	for i := 0; i < R && m0+i < M; i++ {
		for j := 0; j < C && n0+j < N; j++ {
			cs[i*C+j] = int64(out.At(m0+i, n0+j))
		}
	}
	s.add(&tensor{name: "a", role: Stimulus, dtype: "int8", bits: 8, lanes: R, shape: []int{P, R},
		layout: "line c = fold cycle c, lane i = A[m0+i][c-i] entering array row i (0 outside the fold)", values: as})
	s.add(&tensor{name: "w", role: Stimulus, dtype: weightDType(w), bits: 8, lanes: C, shape: []int{P, C},
		layout: "line c = fold cycle c, lane j = W[n0+j][c-j] entering array column j (0 outside the fold)", values: ws})
	weightWidth(s, w)
	s.add(&tensor{name: "c", role: Expected, dtype: "int32", bits: 32, lanes: C, shape: []int{R, C},
		layout: "line i = tile row i, lane j = C[m0+i][n0+j] (0 beyond M, N)", values: cs})
	s.vectors = R * C
	s.cycles = &Cycles{Fold: cycles, Total: cycles}
	return s
}

// weightDType is the dtype of a GEMM's weight file: int8, or int4 values
// in 8-bit (sign-extended) words.
func weightDType(w *datapath.Weights) string {
	if w.Int4 {
		return weightDType4
	}
	return "int8"
}

// weightDType4 is the dtype of int4 weights and taps in the vector files.
const weightDType4 = "int4 (sign-extended to 8-bit words)"

// weightWidthDoc documents the VIMSIM_WBITS define (docs/DATAPATH.md §15).
const weightWidthDoc = "PE weight width: int4 weights (values in [-8, 7]), default 8"

// weightWidth gives a set of int4 weights the define VIMSIM_WBITS 4 (the
// PE weight width; an int8 set has none and keeps its bytes: the
// testbench's default is 8).
func weightWidth(s *vectorSet, w *datapath.Weights) {
	if w.Int4 {
		s.define("VIMSIM_WBITS", 4, weightWidthDoc)
	}
}

// widen converts integer data to int64 words.
func widen[T int8 | int16 | int32 | uint8 | uint16 | uint32](v []T) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}
