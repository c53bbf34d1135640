package quant

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// slowCode is the obvious quantizer: clamp(RoundToEven(v/s)).
func slowCode(v, s float64, bits int) float64 {
	hi := math.Pow(2, float64(bits-1))
	return math.Max(-hi, math.Min(hi-1, math.RoundToEven(v/s)))
}

func TestCodeMatchesSlowReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	special := []float64{0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 126.5, 127.5, -127.5, -128.5, 128, -129,
		1e300, -1e300, math.Inf(1), math.Inf(-1), math.SmallestNonzeroFloat64, 7.5, -7.5, 8.5, -8.5}
	for bits := MinBits; bits <= MaxBits; bits++ {
		for _, v := range special {
			if got, want := Code(v, 1, bits), slowCode(v, 1, bits); got != want {
				t.Errorf("bits %d: Code(%g, 1) = %g, want %g", bits, v, got, want)
			}
		}
		for i := 0; i < 200000; i++ {
			s := math.Exp(rng.NormFloat64() * 3)
			var v float64
			switch i % 3 {
			case 0: // exact ties k + ½ on the grid
				v = (float64(rng.IntN(600)-300) + 0.5) * s
			case 1:
				v = rng.NormFloat64() * s * 100
			default:
				v = float64(rng.IntN(600)-300) * s
			}
			if got, want := Code(v, s, bits), slowCode(v, s, bits); got != want {
				t.Fatalf("bits %d: Code(%v, %v) = %g, want %g", bits, v, s, got, want)
			}
			if got, want := FakeQuant(v, s, bits), slowCode(v, s, bits)*s; got != want {
				t.Fatalf("bits %d: FakeQuant(%v, %v) = %g, want %g", bits, v, s, got, want)
			}
		}
	}
}

func TestQRangeAndMinMaxScale(t *testing.T) {
	for _, tc := range []struct {
		bits   int
		lo, hi float64
		denom  float64
	}{{4, -8, 7, 7.5}, {5, -16, 15, 15.5}, {6, -32, 31, 31.5}, {7, -64, 63, 63.5}, {8, -128, 127, 127.5}} {
		lo, hi := QRange(tc.bits)
		if lo != tc.lo || hi != tc.hi {
			t.Errorf("QRange(%d) = [%g, %g], want [%g, %g]", tc.bits, lo, hi, tc.lo, tc.hi)
		}
		if got := MinMaxScale(3, tc.bits); got != 3/tc.denom {
			t.Errorf("MinMaxScale(3, %d) = %g, want %g", tc.bits, got, 3/tc.denom)
		}
		// The largest magnitude maps to the last level, not beyond.
		if c := Code(3, MinMaxScale(3, tc.bits), tc.bits); c != tc.hi {
			t.Errorf("bits %d: max maps to code %g, want %g", tc.bits, c, tc.hi)
		}
	}
	for _, m := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if s := MinMaxScale(m, 8); s != 1 {
			t.Errorf("MinMaxScale(%g) = %g, want 1", m, s)
		}
	}
}

func TestQuantizeWeight(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	rows, cols := 7, 13
	w := make([]float64, rows*cols)
	for i := range w {
		w[i] = rng.NormFloat64() * float64(1+i/cols)
	}
	for _, perChannel := range []bool{false, true} {
		for bits := MinBits; bits <= MaxBits; bits++ {
			scales := WeightMinMax(w, rows, cols, bits, perChannel)
			if want := map[bool]int{false: 1, true: rows}[perChannel]; len(scales) != want {
				t.Fatalf("%d scales, want %d", len(scales), want)
			}
			q := QuantizeWeight(w, rows, cols, bits, scales)
			if err := q.Validate(); err != nil {
				t.Fatal(err)
			}
			deq := q.Dequantize()
			fq := make([]float64, len(w))
			fakeQuantWeight(fq, w, rows, cols, bits, scales)
			for r := 0; r < rows; r++ {
				s := scales[0]
				if perChannel {
					s = scales[r]
					if want := maxAbs(w[r*cols:(r+1)*cols]) / (math.Pow(2, float64(bits-1)) - 0.5); s != want {
						t.Errorf("row %d scale %g, want %g", r, s, want)
					}
				}
				for c := 0; c < cols; c++ {
					i := r*cols + c
					code := slowCode(w[i], s, bits)
					if float64(q.Codes[i]) != code || deq[i] != code*s || fq[i] != code*s {
						t.Fatalf("bits %d (%d,%d): code %d deq %g fq %g, want %g·%g", bits, r, c, q.Codes[i], deq[i], fq[i], code, s)
					}
				}
			}
		}
	}
}

func TestActQuantValidate(t *testing.T) {
	ok := func() *ActQuant {
		return &ActQuant{Bits: 8, Axis: PerToken, Scales: []float64{0.5, 1, 2}, Group: []int{0, 1, 2, 1}, Exp: []int{0, 1, 2}}
	}
	if err := ok().Validate(4); err != nil {
		t.Fatalf("valid quantizer: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(q *ActQuant)
		want string
	}{
		{"bits", func(q *ActQuant) { q.Bits = 9 }, "bits"},
		{"no scale", func(q *ActQuant) { q.Scales, q.Exp = nil, nil }, "no scale"},
		{"zero scale", func(q *ActQuant) { q.Scales[1] = 0 }, "not positive"},
		{"nan scale", func(q *ActQuant) { q.Scales[0] = math.NaN() }, "not positive"},
		{"group range", func(q *ActQuant) { q.Group[2] = 3 }, "group 3 out of 3"},
		{"group length", func(q *ActQuant) { q.Group = q.Group[:3] }, "3 group entries for 4"},
		{"pow2 broken", func(q *ActQuant) { q.Scales[2] = 2.0000001 }, "not scale 0"},
		{"exp length", func(q *ActQuant) { q.Exp = q.Exp[:2] }, "exponents"},
		{"tensor with groups", func(q *ActQuant) { q.Axis = PerTensor }, "per-tensor"},
		{"axis", func(q *ActQuant) { q.Axis = 7 }, "unknown axis"},
	} {
		q := ok()
		tc.mod(q)
		err := q.Validate(4)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// TestSnapPow2Exact checks that snapped scales are exact powers of two
// times the first group's scale, with the exponent of round(log2(ratio)).
func TestSnapPow2Exact(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 10000; i++ {
		k := 1 + rng.IntN(8)
		q := &ActQuant{Bits: 8, Axis: PerToken, Scales: make([]float64, k), Group: make([]int, k)}
		for g := range q.Scales {
			q.Scales[g] = math.Exp(rng.NormFloat64() * 4)
			q.Group[g] = g
		}
		orig := append([]float64(nil), q.Scales...)
		snapPow2(q)
		if err := q.Validate(k); err != nil {
			t.Fatal(err)
		}
		if q.Scales[0] != orig[0] {
			t.Fatalf("first scale changed: %g -> %g", orig[0], q.Scales[0])
		}
		for g := 1; g < k; g++ {
			ratio := q.Scales[g] / q.Scales[0]
			frac, exp := math.Frexp(ratio)
			if frac != 0.5 || exp-1 != q.Exp[g] {
				t.Fatalf("scale %d / scale 0 = %v, not 2^%d", g, ratio, q.Exp[g])
			}
			if want := int(math.RoundToEven(math.Log2(orig[g] / orig[0]))); q.Exp[g] != want {
				t.Fatalf("exponent %d, want %d", q.Exp[g], want)
			}
		}
	}
}

// TestFakeQuantMatrix checks the tensor quantizer of the forward pass
// against element-wise slow references for each granularity.
func TestFakeQuantMatrix(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	rows, cols := 9, 11
	for _, q := range []*ActQuant{
		{Bits: 8, Axis: PerTensor, Scales: []float64{0.03}},
		{Bits: 6, Axis: PerToken, Scales: []float64{0.01, 0.02, 0.08}, Group: []int{0, 1, 2, 0, 1, 2, 2, 2, 0}},
		{Bits: 4, Axis: PerChannel, Scales: []float64{0.1, 0.05}, Group: []int{0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0}},
	} {
		v := make([]float64, rows*cols)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		got := append([]float64(nil), v...)
		fakeQuant(q, got, rows, cols)
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				s := q.Scales[0]
				switch q.Axis {
				case PerToken:
					s = q.Scales[q.Group[r]]
				case PerChannel:
					s = q.Scales[q.Group[c]]
				}
				if want := slowCode(v[r*cols+c], s, q.Bits) * s; got[r*cols+c] != want {
					t.Fatalf("%s (%d,%d): %g, want %g", q.Axis, r, c, got[r*cols+c], want)
				}
			}
		}
	}
}
