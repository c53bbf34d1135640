package sim

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/vimsim/vimsim/hw/datapath"
)

// TestGEMMRowSplit checks that a GEMM split by rows over goroutines gives
// the result and the counts of one call, for row counts that do not divide
// into the parts (49 patches of the Fashion-MNIST model: a split into
// multiples of 4 rows once dropped the last one).
func TestGEMMRowSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rows := range []int{16, 32, 33, 49, 50, 197} {
		a := datapath.NewMatrix[int8](rows, 24)
		for i := range a.Data {
			a.Data[i] = int8(rng.IntN(256) - 128)
		}
		wd := make([]int8, 10*24)
		for i := range wd {
			wd[i] = int8(rng.IntN(256) - 128)
		}
		w, err := datapath.NewWeights(10, 24, wd)
		if err != nil {
			t.Fatal(err)
		}
		want := datapath.NewMatrix[int32](rows, 10)
		var wk datapath.Counters
		if err := datapath.GEMM(want, a, w, &wk); err != nil {
			t.Fatal(err)
		}
		for _, par := range []int{2, 3, 4, 8} {
			got := datapath.NewMatrix[int32](rows, 10)
			var k datapath.Counters
			u := &datapathUnits{par: par}
			if err := u.gemm(nil, 0, got, a, w, &k); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) || k != wk {
				t.Errorf("%d rows on %d goroutines: result or counts %+v differ from one call's %+v", rows, par, k, wk)
			}
		}
	}
}
