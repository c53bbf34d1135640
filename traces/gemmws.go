package traces

import (
	"fmt"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/hw/datapath"
)

// stationarySets builds the GEMM sets of a weight-stationary (ws) or
// input-stationary (is) array (docs/RTL.md §3.2): a layer-level set on the
// gemm_ws engine (testbench tb_gemm_ws_layer, checking every fold against
// cost.ComputeCycles' 2R + C + T − 2) and tile-level sets of the first and
// last folds at the edge of systolic_array_ws (tb_gemm_ws_tile). The
// stationary matrix is W (ws) or A (is), the streamed one the other, so an
// is set is a ws set with the operands' roles swapped; the data files are
// those of the os sets (a, w, c).
func stationarySets(layer int, op string, df arch.Dataflow, a datapath.Matrix[int8], w *datapath.Weights, out datapath.Matrix[int32], R, C, tileSets int) ([]*vectorSet, error) {
	M, K, N := a.Rows, w.K, w.N
	cc, err := cost.ComputeCycles(R, C, df, cost.GEMM{M: M, K: K, N: N})
	if err != nil {
		return nil, fmt.Errorf("vectors: gemm %s: %w", op, err)
	}
	is := df == arch.InputStationary
	srows, T := N, M // stationary rows (N for ws, M for is), streamed rows
	stat, strm := w.Data, a.Data
	if is {
		srows, T = M, N
		stat, strm = a.Data, w.Data
	}
	sf, kf := (srows+C-1)/C, (K+R-1)/R
	if int64(sf*kf) != cc.Folds || cc.CyclesPerFold != int64(2*R+C+T-2) {
		return nil, fmt.Errorf("vectors: gemm %s: %d folds of %d cycles, cycle model %d of %d", op, sf*kf, 2*R+C+T-2, cc.Folds, cc.CyclesPerFold)
	}
	total := cc.Folds * cc.CyclesPerFold // = cc.Cycles + 1
	name := string(df)
	isFlag := int64(0)
	if is {
		isFlag = 1
	}
	ls := newSet(UnitGEMM, "tb_gemm_ws_layer", layer, op, "gemm_"+name+"_layer")
	ls.info = fmt.Sprintf("GEMM C = A·Wᵀ, M=%d K=%d N=%d on a %dx%d %s array: %d folds of %d cycles", M, K, N, R, C, name, cc.Folds, cc.CyclesPerFold)
	ls.paramTable([]paramDoc{
		{"R", int64(R), "array rows"}, {"C", int64(C), "array columns"},
		{"M", int64(M), "ifmap rows (tokens)"}, {"K", int64(K), "reduction depth"}, {"N", int64(N), "outputs"},
		{"IS", isFlag, "0: weight stationary, 1: input stationary (A stationary, W streamed)"},
		{"T", int64(T), "streamed rows per fold (M for ws, N for is)"},
		{"SF", int64(sf), "column folds of the stationary matrix"}, {"KF", int64(kf), "K-folds"},
		{"FOLD_CYCLES", cc.CyclesPerFold, "cost.ComputeCycles per-fold cycles, 2R + C + T - 2"},
		{"TOTAL_CYCLES", total, "folds x FOLD_CYCLES = cost.ComputeCycles + 1"},
		{"WATCHDOG_CYCLES", total + int64(8*(R+C)+T) + 1000, "testbench timeout"},
	})
	ls.gemmOperands(a, w, out, cc.CyclesPerFold, total)
	sets := []*vectorSet{ls}

	folds := [][2]int{{0, 0}}
	if tileSets > 1 && sf*kf > 1 {
		folds = append(folds, [2]int{sf - 1, kf - 1})
	}
	for i, f := range folds {
		s0, k0 := f[0]*C, f[1]*R
		st := func(row, k int) int64 { // stationary element, 0 outside
			if row >= srows || k >= K {
				return 0
			}
			return int64(stat[row*K+k])
		}
		x := func(row, k int) int64 { // streamed element, 0 outside
			if row < 0 || row >= T || k >= K {
				return 0
			}
			return int64(strm[row*K+k])
		}
		ws := make([]int64, R*C)
		for b := 0; b < R; b++ {
			for j := 0; j < C; j++ {
				ws[b*C+j] = st(s0+j, k0+R-1-b)
			}
		}
		lines := T + R - 1
		as := make([]int64, lines*R)
		for c := 0; c < lines; c++ {
			for li := 0; li < R; li++ {
				as[c*R+li] = x(c-li, k0+li)
			}
		}
		cs := make([]int64, T*C)
		for xr := 0; xr < T; xr++ {
			for j := 0; j < C; j++ {
				var sum int64
				for li := 0; li < R; li++ {
					sum += x(xr, k0+li) * st(s0+j, k0+li)
				}
				cs[xr*C+j] = int64(int32(sum))
			}
		}
		s := newSet(UnitGEMM, "tb_gemm_ws_tile", layer, op, fmt.Sprintf("gemm_%s_tile%d", name, i))
		s.info = fmt.Sprintf("fold (%d, %d) of GEMM M=%d K=%d N=%d on a %s array: stationary rows %d..%d, k %d..%d, %d streamed rows, %d cycles",
			f[0], f[1], M, K, N, name, s0, s0+C-1, k0, k0+R-1, T, cc.CyclesPerFold)
		s.param("R", int64(R), "array rows")
		s.param("C", int64(C), "array columns")
		s.param("T", int64(T), "streamed rows")
		s.param("IS", isFlag, "0: weight stationary, 1: input stationary")
		s.param("CYCLES", cc.CyclesPerFold, "cost.ComputeCycles per-fold cycles, 2R + C + T - 2")
		s.param("FOLD_S", int64(f[0]), "column fold index")
		s.param("FOLD_K", int64(f[1]), "K-fold index")
		s.param("WATCHDOG_CYCLES", cc.CyclesPerFold+int64(4*R)+1000, "testbench timeout")
		s.add(&tensor{name: "w", role: Stimulus, dtype: "int8", bits: 8, lanes: C, shape: []int{R, C},
			layout: "line b = load cycle b, lane j = S[s0+j][k0+R-1-b]: the stationary element of array row R-1-b, column j (0 outside)", values: ws})
		s.add(&tensor{name: "a", role: Stimulus, dtype: "int8", bits: 8, lanes: R, shape: []int{lines, R},
			layout: "line c = stream cycle c (after the R load cycles), lane i = X[c-i][k0+i] entering array row i (0 outside)", values: as})
		s.add(&tensor{name: "c", role: Expected, dtype: "int32", bits: 32, lanes: C, shape: []int{T, C},
			layout: "line x = streamed row x, lane j = this K-fold's partial sum for stationary row s0+j (0 beyond)", values: cs})
		s.vectors = T * C
		s.cycles = &Cycles{Fold: cc.CyclesPerFold, Total: cc.CyclesPerFold}
		sets = append(sets, s)
	}
	return sets, nil
}
