package num

import (
	"math"
	"testing"
)

func TestArgmax(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		v    []float64
		want int
	}{
		{nil, 0},
		{[]float64{3}, 0},
		{[]float64{1, 3, 2}, 1},
		{[]float64{2, 5, 5, 1}, 1},
		{[]float64{-1, -1}, 0},
		{[]float64{math.Inf(-1), -1e300}, 1},
		{[]float64{1, nan, 2}, 2},
		{[]float64{nan, 2}, 0},
	} {
		if got := Argmax(tc.v); got != tc.want {
			t.Errorf("Argmax(%v) = %d, want %d", tc.v, got, tc.want)
		}
	}
}
