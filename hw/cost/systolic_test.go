package cost

import (
	"math"
	"math/rand"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
)

// TestComputeCyclesSCALESimGolden reproduces every value of hardware.md §1.3
// (SCALE-Sim v2/v3 run on a 16×16 array). The table there lists GEMMs as
// (M, N, K); GEMM here is (M, K, N).
func TestComputeCyclesSCALESimGolden(t *testing.T) {
	tests := []struct {
		name       string
		m, n, k    int // in the table's (M, N, K) order
		os, ws, is int64
		osUtilPct  float64 // to the table's two decimals (0.013 for 1,1,1)
		osFolds    int64
		osPerFold  int64
	}{
		{"16^3", 16, 16, 16, 45, 61, 61, 35.56, 1, 46},
		{"1,1,1", 1, 1, 1, 30, 46, 46, 0.013, 1, 31},
		{"32,48,20", 32, 48, 20, 299, 467, 375, 40.13, 6, 50},
		{"17,16,16", 17, 16, 16, 91, 62, 123, 18.68, 2, 46},
		{"in_proj", 197, 768, 192, 138527, 139967, 126983, 81.91, 624, 222},
		{"x_proj", 197, 44, 384, 16145, 17495, 28079, 80.53, 39, 414},
		{"dt_proj", 197, 384, 12, 13103, 5831, 5589, 27.06, 312, 42},
		{"out_proj", 197, 192, 384, 64583, 69983, 74255, 87.85, 156, 414},
	}
	for _, tc := range tests {
		g := GEMM{M: tc.m, K: tc.k, N: tc.n}
		for _, want := range []struct {
			df     arch.Dataflow
			cycles int64
		}{{arch.OutputStationary, tc.os}, {arch.WeightStationary, tc.ws}, {arch.InputStationary, tc.is}} {
			c, err := ComputeCycles(16, 16, want.df, g)
			if err != nil {
				t.Fatalf("%s %s: %v", tc.name, want.df, err)
			}
			if c.Cycles != want.cycles {
				t.Errorf("%s %s: cycles = %d, want %d", tc.name, want.df, c.Cycles, want.cycles)
			}
		}
		c, _ := ComputeCycles(16, 16, arch.OutputStationary, g)
		if c.Folds != tc.osFolds || c.CyclesPerFold != tc.osPerFold {
			t.Errorf("%s OS: folds·per-fold = %d·%d, want %d·%d", tc.name, c.Folds, c.CyclesPerFold, tc.osFolds, tc.osPerFold)
		}
		digits := 100.0
		if tc.osUtilPct < 0.1 {
			digits = 1000
		}
		if got := math.Round(c.Util*100*digits) / digits; got != tc.osUtilPct {
			t.Errorf("%s OS util = %.4f%%, want %.3f%%", tc.name, c.Util*100, tc.osUtilPct)
		}
	}
}

// TestComputeCyclesFormulaChecks verifies the fold decompositions quoted in
// the "formula check" column of §1.3.
func TestComputeCyclesFormulaChecks(t *testing.T) {
	tests := []struct {
		df            arch.Dataflow
		m, n, k       int
		folds, perFld int64
	}{
		{arch.WeightStationary, 16, 16, 16, 1, 62},
		{arch.OutputStationary, 32, 48, 20, 6, 50},
		{arch.WeightStationary, 32, 48, 20, 6, 78},
		{arch.InputStationary, 32, 48, 20, 4, 94},
		{arch.WeightStationary, 197, 44, 384, 72, 243},
		{arch.InputStationary, 197, 44, 384, 312, 90},
	}
	for _, tc := range tests {
		c, err := ComputeCycles(16, 16, tc.df, GEMM{M: tc.m, K: tc.k, N: tc.n})
		if err != nil {
			t.Fatal(err)
		}
		if c.Folds != tc.folds || c.CyclesPerFold != tc.perFld || c.Cycles != tc.folds*tc.perFld-1 {
			t.Errorf("%s %d,%d,%d: %d folds × %d − 1 = %d, want %d × %d − 1",
				tc.df, tc.m, tc.n, tc.k, c.Folds, c.CyclesPerFold, c.Cycles, tc.folds, tc.perFld)
		}
	}
}

// demand is a SCALE-Sim demand matrix: one row per cycle, one column per
// array port, -1 for an idle port.
type demand [][]int64

func idleRows(rows, cols int) demand {
	d := make(demand, rows)
	for i := range d {
		d[i] = make([]int64, cols)
		for j := range d[i] {
			d[i][j] = -1
		}
	}
	return d
}

// sub copies rows [r0,r1) and columns [c0,c1) of the addressed matrix
// addr(i,j), transposed when trans is set, into a demand matrix.
func sub(r0, r1, c0, c1 int, addr func(i, j int) int64) demand {
	d := make(demand, 0, r1-r0)
	for i := r0; i < r1; i++ {
		row := make([]int64, 0, c1-c0)
		for j := c0; j < c1; j++ {
			row = append(row, addr(i, j))
		}
		d = append(d, row)
	}
	return d
}

func padCols(d demand, cols int) demand {
	for i := range d {
		for len(d[i]) < cols {
			d[i] = append(d[i], -1)
		}
	}
	return d
}

func padRows(d demand, rows, cols int) demand {
	for len(d) < rows {
		d = append(d, idleRows(1, cols)[0])
	}
	return d
}

func flipRows(d demand) demand {
	out := make(demand, len(d))
	for i := range d {
		out[len(d)-1-i] = d[i]
	}
	return out
}

func cat(parts ...demand) demand {
	var out demand
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// skew delays column c by c rows (systolic fill), adding cols−1 rows.
func skew(d demand) demand {
	rows, cols := len(d), len(d[0])
	out := idleRows(rows+cols-1, cols)
	for i := 0; i < rows; i++ {
		for c := 0; c < cols; c++ {
			out[i+c][c] = d[i][c]
		}
	}
	return out
}

func valid(d demand) int64 {
	var n int64
	for _, row := range d {
		for _, v := range row {
			if v >= 0 {
				n++
			}
		}
	}
	return n
}

// slowSCALESim builds SCALE-Sim v2's per-fold ifmap, filter and ofmap demand
// matrices for g on an R×C array and returns the cycle count (index of the
// last ofmap demand row), the demand counts and the per-fold metrics.
func slowSCALESim(t *testing.T, R, C int, df arch.Dataflow, g GEMM) Compute {
	t.Helper()
	ifmap := func(m, k int) int64 { return int64(m*g.K + k) }
	filter := func(k, n int) int64 { return 10000000 + int64(k*g.N+n) }
	ofmap := func(m, n int) int64 { return 20000000 + int64(m*g.N+n) }
	sr, sc, T, err := SpatioTemporal(df, g)
	if err != nil {
		t.Fatal(err)
	}
	rowFolds, colFolds := (sr+R-1)/R, (sc+C-1)/C
	// Folds are concatenated in time: only their row and valid-entry counts
	// are needed from the concatenation.
	var rowsTotal, ifReads, fiReads, ofWrites int64
	var mapEff, compUtil float64
	for fc := 0; fc < colFolds; fc++ {
		for fr := 0; fr < rowFolds; fr++ {
			r0, r1 := fr*R, min(fr*R+R, sr)
			c0, c1 := fc*C, min(fc*C+C, sc)
			ur, uc := r1-r0, c1-c0
			var i, f, o demand
			var utilShape demand
			switch df {
			case arch.OutputStationary: // Sr=M, Sc=N, T=K
				i = skew(cat(padCols(sub(0, T, r0, r1, func(k, m int) int64 { return ifmap(m, k) }), R), idleRows(C-1, R)))
				f = skew(cat(padCols(sub(0, T, c0, c1, filter), C), idleRows(R-1, C)))
				o0 := flipRows(padRows(padCols(sub(r0, r1, c0, c1, ofmap), C), R, C))
				utilShape = cat(idleRows(T-1, C), o0)
				o = skew(utilShape)
			case arch.WeightStationary: // Sr=K, Sc=N, T=M
				i = skew(cat(idleRows(R, R), padCols(sub(0, T, r0, r1, ifmap), R), idleRows(C-1, R)))
				utilShape = cat(flipRows(padRows(padCols(sub(r0, r1, c0, c1, filter), C), R, C)), idleRows(R+C+T-2, C))
				f = utilShape
				o = skew(cat(idleRows(2*R-1, C), padCols(sub(0, T, c0, c1, ofmap), C)))
			case arch.InputStationary: // Sr=K, Sc=M, T=N
				utilShape = cat(flipRows(padRows(padCols(sub(r0, r1, c0, c1, func(k, m int) int64 { return ifmap(m, k) }), C), R, C)), idleRows(R+C+T-2, C))
				i = utilShape
				f = skew(cat(idleRows(R, R), padCols(sub(0, T, r0, r1, func(n, k int) int64 { return filter(k, n) }), R), idleRows(C-1, R)))
				o = skew(cat(idleRows(2*R-1, C), padCols(sub(0, T, c0, c1, func(n, m int) int64 { return ofmap(m, n) }), C)))
			}
			if len(i) != len(f) || len(f) != len(o) {
				t.Fatalf("%s %v on %dx%d fold (%d,%d): demand rows out of sync: %d %d %d", df, g, R, C, fr, fc, len(i), len(f), len(o))
			}
			rowsTotal += int64(len(o))
			ifReads, fiReads, ofWrites = ifReads+valid(i), fiReads+valid(f), ofWrites+valid(o)
			used := float64(ur * uc)
			mapEff += used / float64(R*C)
			utilCycles := len(utilShape) + len(utilShape[0]) - 1
			compUtil += used * float64(T) / float64(R*C*utilCycles)
		}
	}
	folds := float64(rowFolds * colFolds)
	return Compute{
		Cycles:            rowsTotal - 1,
		Folds:             int64(rowFolds * colFolds),
		IfmapReads:        ifReads,
		FilterReads:       fiReads,
		OfmapWrites:       ofWrites,
		MappingEfficiency: mapEff / folds,
		ComputeUtil:       compUtil / folds,
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

// TestComputeCyclesAgainstDemandMatrices checks the closed forms against a
// slow SCALE-Sim-style construction of the per-fold demand matrices on many
// random shapes and array sizes.
func TestComputeCyclesAgainstDemandMatrices(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	cases := 0
	check := func(R, C int, df arch.Dataflow, g GEMM) {
		got, err := ComputeCycles(R, C, df, g)
		if err != nil {
			t.Fatal(err)
		}
		want := slowSCALESim(t, R, C, df, g)
		cases++
		if got.Cycles != want.Cycles || got.Folds != want.Folds ||
			got.IfmapReads != want.IfmapReads || got.FilterReads != want.FilterReads || got.OfmapWrites != want.OfmapWrites ||
			!near(got.MappingEfficiency, want.MappingEfficiency) || !near(got.ComputeUtil, want.ComputeUtil) {
			t.Errorf("%s %+v on %dx%d:\n got  %+v\n want %+v", df, g, R, C, got, want)
		}
	}
	for _, df := range []arch.Dataflow{arch.OutputStationary, arch.WeightStationary, arch.InputStationary} {
		check(16, 16, df, GEMM{M: 16, K: 16, N: 16})
		check(16, 16, df, GEMM{M: 1, K: 1, N: 1})
		check(4, 7, df, GEMM{M: 33, K: 5, N: 2})
		for i := 0; i < 600; i++ {
			R, C := 1+rng.Intn(12), 1+rng.Intn(12)
			g := GEMM{M: 1 + rng.Intn(40), K: 1 + rng.Intn(40), N: 1 + rng.Intn(40)}
			if i%30 == 0 { // larger arrays and shapes
				R, C = 1+rng.Intn(32), 1+rng.Intn(32)
				g = GEMM{M: 1 + rng.Intn(100), K: 1 + rng.Intn(100), N: 1 + rng.Intn(100)}
			}
			check(R, C, df, g)
		}
	}
	if cases < 1800 {
		t.Fatalf("only %d cases", cases)
	}
}

func TestComputeCyclesBadInput(t *testing.T) {
	for _, tc := range []struct {
		r, c int
		df   arch.Dataflow
		g    GEMM
	}{
		{0, 16, arch.OutputStationary, GEMM{1, 1, 1}},
		{16, 2000, arch.OutputStationary, GEMM{1, 1, 1}},
		{16, 16, "xs", GEMM{1, 1, 1}},
		{16, 16, arch.OutputStationary, GEMM{0, 1, 1}},
		{16, 16, arch.OutputStationary, GEMM{1, -3, 1}},
		{16, 16, arch.OutputStationary, GEMM{1, 1, maxGEMMDim + 1}},
	} {
		if _, err := ComputeCycles(tc.r, tc.c, tc.df, tc.g); err == nil {
			t.Errorf("ComputeCycles(%d, %d, %q, %+v): no error", tc.r, tc.c, tc.df, tc.g)
		}
	}
}

func TestComputeCyclesLargestShapesDoNotOverflow(t *testing.T) {
	g := GEMM{M: maxGEMMDim, K: maxGEMMDim, N: maxGEMMDim}
	for _, df := range []arch.Dataflow{arch.OutputStationary, arch.WeightStationary, arch.InputStationary} {
		c, err := ComputeCycles(1, 1, df, g)
		if err != nil {
			t.Fatal(err)
		}
		// 1×1 array: every MAC takes a cycle, less SCALE-Sim's final −1.
		if c.Cycles < g.MACs()-1 || c.Util <= 0 || c.Util > 1+1e-9 {
			t.Errorf("%s: cycles %d for %d MACs, util %g", df, c.Cycles, g.MACs(), c.Util)
		}
	}
}
