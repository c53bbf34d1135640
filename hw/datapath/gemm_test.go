package datapath

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// refGEMM is the obvious triple loop in int64; it returns the wrapped int32
// results and the number of outputs outside int32.
func refGEMM(a Matrix[int8], w []int8, n, k int) ([]int32, int64) {
	out := make([]int32, a.Rows*n)
	var over int64
	for i := 0; i < a.Rows; i++ {
		for j := 0; j < n; j++ {
			var s int64
			for q := 0; q < k; q++ {
				s += int64(a.Data[i*k+q]) * int64(w[j*k+q])
			}
			if s > math.MaxInt32 || s < math.MinInt32 {
				over++
			}
			out[i*n+j] = int32(uint32(uint64(s)))
		}
	}
	return out, over
}

// fillInt8 fills v with one of several distributions, extremes included.
func fillInt8(r *rand.Rand, v []int8, lo, hi int) {
	mode := r.IntN(5)
	for i := range v {
		switch mode {
		case 0:
			v[i] = int8(lo)
		case 1:
			v[i] = int8(hi)
		case 2:
			v[i] = []int8{int8(lo), int8(hi)}[r.IntN(2)]
		default:
			x := int8(lo + r.IntN(hi-lo+1))
			if r.IntN(8) == 0 {
				x = []int8{int8(lo), int8(hi), 0, -1}[r.IntN(4)]
			}
			v[i] = x
		}
	}
}

func TestGEMMProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	var outputs int
	for iter := 0; outputs < 300000; iter++ {
		m, n, k := 1+r.IntN(23), 1+r.IntN(40), 1+r.IntN(300)
		int4 := r.IntN(4) == 0
		a := NewMatrix[int8](m, k)
		fillInt8(r, a.Data, -128, 127)
		wd := make([]int8, n*k)
		var w *Weights
		var err error
		if int4 {
			fillInt8(r, wd, -8, 7)
			w, err = NewInt4Weights(n, k, wd)
		} else {
			fillInt8(r, wd, -128, 127)
			w, err = NewWeights(n, k, wd)
		}
		if err != nil {
			t.Fatal(err)
		}
		want, _ := refGEMM(a, wd, n, k)
		got := NewMatrix[int32](m, n)
		var c Counters
		if err := GEMM(got, a, w, &c); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got.Data[i] != want[i] {
				t.Fatalf("iter %d (%dx%dx%d int4=%v) elem %d: got %d, want %d", iter, m, n, k, int4, i, got.Data[i], want[i])
			}
		}
		if c.MACs != int64(m*n*k) || c.Overflows != 0 {
			t.Fatalf("iter %d: counters %+v", iter, c)
		}
		tl := Tiling{M: 1 + r.IntN(m+2), N: 1 + r.IntN(n+2), K: 1 + r.IntN(k+2), Dataflow: Dataflow(r.IntN(3))}
		tiled := NewMatrix[int32](m, n)
		var ct Counters
		if err := GEMMTiled(tiled, a, w, tl, &ct); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if tiled.Data[i] != want[i] {
				t.Fatalf("iter %d tiling %+v elem %d: got %d, want %d", iter, tl, i, tiled.Data[i], want[i])
			}
		}
		if ct != c {
			t.Fatalf("iter %d: tiled counters %+v, plain %+v", iter, ct, c)
		}
		outputs += m * n
	}
}

// TestGEMMOverflow drives K past the no-overflow bound: the result must be
// the wrapped 32-bit value and every overflowing output counted, in both the
// plain and the tiled GEMM.
func TestGEMMOverflow(t *testing.T) {
	tests := []struct {
		name     string
		k        int
		a, w     int8
		wantOver int64
	}{
		{"largest safe K", 131071, -128, -128, 0},
		{"positive overflow", 140000, -128, -128, 4},
		{"negative overflow", 140000, -128, 127, 4},
		{"unsafe bound, no overflow", 140000, 1, 1, 0},
	}
	for _, tt := range tests {
		a := NewMatrix[int8](2, tt.k)
		for i := range a.Data {
			a.Data[i] = tt.a
		}
		wd := make([]int8, 2*tt.k)
		for i := range wd {
			wd[i] = tt.w
		}
		wd[0] = 1 // one different product keeps the sums distinct
		w, err := NewWeights(2, tt.k, wd)
		if err != nil {
			t.Fatal(err)
		}
		want, wantOver := refGEMM(a, wd, 2, tt.k)
		if wantOver != tt.wantOver {
			t.Fatalf("%s: reference has %d overflows, test expects %d", tt.name, wantOver, tt.wantOver)
		}
		for _, tiled := range []bool{false, true} {
			got := NewMatrix[int32](2, 2)
			var c Counters
			if tiled {
				err = GEMMTiled(got, a, w, Tiling{M: 1, N: 2, K: 1000, Dataflow: WeightStationary}, &c)
			} else {
				err = GEMM(got, a, w, &c)
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got.Data[i] != want[i] {
					t.Errorf("%s (tiled %v): elem %d = %d, want %d", tt.name, tiled, i, got.Data[i], want[i])
				}
			}
			if c.Overflows != tt.wantOver {
				t.Errorf("%s (tiled %v): %d overflows, want %d", tt.name, tiled, c.Overflows, tt.wantOver)
			}
		}
	}
}

func TestWeightsErrors(t *testing.T) {
	if _, err := NewInt4Weights(1, 2, []int8{7, 8}); err == nil {
		t.Error("int4 value 8 accepted")
	}
	if _, err := NewInt4Weights(1, 2, []int8{-8, -9}); err == nil {
		t.Error("int4 value -9 accepted")
	}
	if _, err := NewWeights(2, 2, []int8{1, 2, 3}); err == nil {
		t.Error("short data accepted")
	}
	if _, err := NewWeights(0, 2, nil); err == nil {
		t.Error("empty shape accepted")
	}
	w, err := NewWeights(2, 3, make([]int8, 6))
	if err != nil {
		t.Fatal(err)
	}
	if err := GEMM(NewMatrix[int32](4, 2), NewMatrix[int8](4, 2), w, nil); err == nil {
		t.Error("K mismatch accepted")
	}
	if err := GEMM(NewMatrix[int32](4, 3), NewMatrix[int8](4, 3), w, nil); err == nil {
		t.Error("output shape mismatch accepted")
	}
	if err := GEMMTiled(NewMatrix[int32](4, 2), NewMatrix[int8](4, 3), w, Tiling{M: 0, N: 1, K: 1}, nil); err == nil {
		t.Error("zero tile accepted")
	}
	if err := GEMMTiled(NewMatrix[int32](4, 2), NewMatrix[int8](4, 3), w, Tiling{M: 1, N: 1, K: 1, Dataflow: 7}, nil); err == nil {
		t.Error("unknown dataflow accepted")
	}
	if err := GEMM(NewMatrix[int32](4, 2), NewMatrix[int8](4, 3), &Weights{N: 2, K: 3, Data: make([]int8, 6)}, nil); err == nil {
		t.Error("weights literal without packing accepted")
	}
	if err := GEMM(NewMatrix[int32](4, 2), Matrix[int8]{Rows: 4, Cols: 3}, w, nil); err == nil {
		t.Error("matrix without data accepted")
	}
}

func TestDepthwiseConv(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	var outputs int
	for iter := 0; outputs < 100000; iter++ {
		L, E, T := 1+r.IntN(30), 1+r.IntN(100), 1+r.IntN(6)
		x := NewMatrix[int8](L, E)
		w := NewMatrix[int8](E, T)
		fillInt8(r, x.Data, -128, 127)
		fillInt8(r, w.Data, -128, 127)
		got := NewMatrix[int32](L, E)
		var c Counters
		if err := DepthwiseConv(got, x, w, &c); err != nil {
			t.Fatal(err)
		}
		for tt := 0; tt < L; tt++ {
			for e := 0; e < E; e++ {
				var s int64
				for k := 0; k < T; k++ {
					if src := tt - T + 1 + k; src >= 0 {
						s += int64(w.At(e, k)) * int64(x.At(src, e))
					}
				}
				if int64(got.At(tt, e)) != s {
					t.Fatalf("iter %d (%d,%d): got %d, want %d", iter, tt, e, got.At(tt, e), s)
				}
			}
		}
		if c.MACs != int64(L*E*T) {
			t.Fatalf("MACs %d, want %d", c.MACs, L*E*T)
		}
		outputs += L * E
	}
	if err := DepthwiseConv(NewMatrix[int32](2, 3), NewMatrix[int8](2, 3), NewMatrix[int8](2, 4), nil); err == nil {
		t.Error("tap rows mismatch accepted")
	}
}

// The in_proj GEMM of Vim-Ti: 197 tokens × 192 inputs × 768 outputs.
const benchM, benchK, benchN = 197, 192, 768

func benchOperands() (Matrix[int8], []int8) {
	r := rand.New(rand.NewPCG(7, 7))
	a := NewMatrix[int8](benchM, benchK)
	w := make([]int8, benchN*benchK)
	for i := range a.Data {
		a.Data[i] = int8(r.IntN(256) - 128)
	}
	for i := range w {
		w[i] = int8(r.IntN(256) - 128)
	}
	return a, w
}

func BenchmarkGEMMInProj(b *testing.B) {
	a, wd := benchOperands()
	w, err := NewWeights(benchN, benchK, wd)
	if err != nil {
		b.Fatal(err)
	}
	dst := NewMatrix[int32](benchM, benchN)
	for b.Loop() {
		if err := GEMM(dst, a, w, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchM*benchN*benchK)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}

func BenchmarkGEMMTiledInProj(b *testing.B) {
	a, wd := benchOperands()
	w, err := NewWeights(benchN, benchK, wd)
	if err != nil {
		b.Fatal(err)
	}
	dst := NewMatrix[int32](benchM, benchN)
	for b.Loop() {
		if err := GEMMTiled(dst, a, w, Tiling{M: 16, N: 16, K: 64}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDgemmInProj is the float64 reference point: gonum's Dgemm on the
// same shape (C = A·Wᵀ).
func BenchmarkDgemmInProj(b *testing.B) {
	a, wd := benchOperands()
	af := make([]float64, len(a.Data))
	wf := make([]float64, len(wd))
	for i, v := range a.Data {
		af[i] = float64(v)
	}
	for i, v := range wd {
		wf[i] = float64(v)
	}
	A := blas64.General{Rows: benchM, Cols: benchK, Stride: benchK, Data: af}
	W := blas64.General{Rows: benchN, Cols: benchK, Stride: benchK, Data: wf}
	C := blas64.General{Rows: benchM, Cols: benchN, Stride: benchN, Data: make([]float64, benchM*benchN)}
	for b.Loop() {
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, A, W, 0, C)
	}
	b.ReportMetric(float64(benchM*benchN*benchK)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}
