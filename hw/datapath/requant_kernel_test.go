package datapath

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// TestRequantRowKernels compares the assembly row kernels, where the CPU
// runs them, with requantRowGo on random rows with extreme accumulators,
// biases, multipliers, token shifts and output widths.
func TestRequantRowKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 4))
	for _, width := range []int{8, 16, 32} {
		kernel := asmRequantRow(width)
		if kernel == nil {
			t.Skip("no assembly requantizer on this machine")
		}
		for iter := 0; iter < 2000; iter++ {
			n := 8 * (1 + r.IntN(20))
			src := make([]int32, n)
			mant := make([]int32, n)
			shift, bias := make([]int64, n), make([]int64, n)
			for j := range src {
				src[j] = extremeInt32(r)
				m := randMultiplier(r, 5, 63)
				mant[j], shift[j] = m.M, int64(m.Shift)
				if iter%2 == 0 {
					bias[j] = int64(extremeInt32(r))
				}
			}
			bits := []int{width, width, 2 + r.IntN(width-1)}[r.IntN(3)]
			lo, hi := satBounds(bits)
			c := &requantConsts{mant: &mant[0], shift: &shift[0], bias: &bias[0], lo: lo, hi: hi}
			c.zp = lo + r.Int64N(hi-lo+1)
			extra := int64(r.IntN(13) - 4)
			var err string
			switch width {
			case 8:
				err = cmpRequantRow[int8](kernel, src, mant, shift, bias, c, extra)
			case 16:
				err = cmpRequantRow[int16](kernel, src, mant, shift, bias, c, extra)
			case 32:
				err = cmpRequantRow[int32](kernel, src, mant, shift, bias, c, extra)
			}
			if err != "" {
				t.Fatalf("width %d bits %d iter %d: %s", width, bits, iter, err)
			}
		}
	}
}

// cmpRequantRow runs kernel and requantRowGo on the same row and describes
// the first difference.
func cmpRequantRow[T Integer](kernel requantRowKernel, src, mant []int32, shift, bias []int64, c *requantConsts, extra int64) string {
	got, want := make([]T, len(src)), make([]T, len(src))
	o1, s1 := kernel(unsafe.Pointer(&got[0]), &src[0], len(src), c, extra)
	o2, s2 := requantRowGo(want, src, mant, shift, bias, c, extra)
	if o1 != o2 || s1 != s2 {
		return fmt.Sprintf("counts %d %d, Go %d %d", o1, s1, o2, s2)
	}
	if i := slices.Compare(got, want); i != 0 {
		return fmt.Sprintf("outputs %v, Go %v", got, want)
	}
	return ""
}
