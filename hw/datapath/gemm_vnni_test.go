package datapath

import (
	"math/rand/v2"
	"testing"
)

// bothPacked returns weights with both fast layouts built, so that the
// lane-packed and the VNNI paths can be compared on any machine.
func bothPacked(t testing.TB, n, k int, data []int8, int4 bool) *Weights {
	t.Helper()
	w, err := newWeights(n, k, data, int4)
	if err != nil {
		t.Fatal(err)
	}
	if w.packed == nil {
		w.packLanes()
	}
	if w.vnni == nil {
		w.packVNNI()
	}
	return w
}

// gemmPath is one of the fast GEMM paths.
type gemmPath struct {
	name string
	f    func(Matrix[int32], Matrix[int8], *Weights)
}

// gemmPaths returns the fast GEMM paths that run on this machine.
func gemmPaths() []gemmPath {
	paths := []gemmPath{{"lanes", gemmPacked}}
	if vnniRunnable() {
		paths = append(paths, gemmPath{"vnni", gemmVNNI})
	}
	return paths
}

// TestGEMMPaths compares the VNNI path (assembly on AVX-512 VNNI machines,
// the Go tile kernel otherwise), the lane-packed path and the int64
// reference on random shapes covering full and partial 64-column panels,
// 16-column tails, row tails and K not a multiple of 4, with extreme
// values.
func TestGEMMPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 1))
	var outputs int
	for iter := 0; outputs < 400000; iter++ {
		m, n, k := 1+r.IntN(30), 1+r.IntN(200), 1+r.IntN(300)
		if iter%10 == 0 {
			k = 1 + r.IntN(8)
		}
		int4 := r.IntN(4) == 0
		a := NewMatrix[int8](m, k)
		fillInt8(r, a.Data, -128, 127)
		wd := make([]int8, n*k)
		if int4 {
			fillInt8(r, wd, -8, 7)
		} else {
			fillInt8(r, wd, -128, 127)
		}
		w := bothPacked(t, n, k, wd, int4)
		want, _ := refGEMM(a, wd, n, k)
		for _, path := range gemmPaths() {
			got := NewMatrix[int32](m, n)
			for i := range got.Data {
				got.Data[i] = -7 // every output must be written
			}
			path.f(got, a, w)
			for i := range want {
				if got.Data[i] != want[i] {
					t.Fatalf("iter %d %s (%dx%dx%d int4=%v) elem %d: got %d, want %d", iter, path.name, m, n, k, int4, i, got.Data[i], want[i])
				}
			}
		}
		outputs += m * n
	}
}

// TestGEMMPathsLargestK checks the extremes at the no-overflow bound: K =
// 131071 with every product (−128)·(−128), and mixed signs.
func TestGEMMPathsLargestK(t *testing.T) {
	const m, n, k = 7, 17, 131071
	for _, v := range [][2]int8{{-128, -128}, {-128, 127}, {127, -128}, {127, 127}} {
		a := NewMatrix[int8](m, k)
		for i := range a.Data {
			a.Data[i] = v[0]
		}
		wd := make([]int8, n*k)
		for i := range wd {
			wd[i] = v[1]
		}
		wd[3] = 0
		w := bothPacked(t, n, k, wd, false)
		if !w.safe() {
			t.Fatal("K = 131071 not within the bound")
		}
		want, _ := refGEMM(a, wd, n, k)
		for _, path := range gemmPaths() {
			got := NewMatrix[int32](m, n)
			path.f(got, a, w)
			for i := range want {
				if got.Data[i] != want[i] {
					t.Fatalf("%s a=%d w=%d elem %d: got %d, want %d", path.name, v[0], v[1], i, got.Data[i], want[i])
				}
			}
		}
	}
}
