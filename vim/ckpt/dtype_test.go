package ckpt

import (
	"encoding/binary"
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

// halfFormat describes a 16-bit binary float format for the references.
type halfFormat struct {
	name     string
	expBits  int
	mantBits int
	decode   func(uint16) float64
	encode   func(float64) uint16
}

var halfFormats = []halfFormat{
	{"F16", 5, 10, F16ToFloat64, Float64ToF16},
	{"BF16", 8, 7, BF16ToFloat64, Float64ToBF16},
}

// refValue is the IEEE 754 value of bits, computed with math/big straight
// from the definition: (-1)^s · 0.m · 2^(1-bias) for a subnormal,
// (-1)^s · 1.m · 2^(e-bias) for a normal number.
func (f halfFormat) refValue(bits uint16) (v *big.Float, inf, nan bool) {
	m := int64(bits) & (1<<f.mantBits - 1)
	e := int(bits>>f.mantBits) & (1<<f.expBits - 1)
	neg := bits>>(f.expBits+f.mantBits) != 0
	bias := 1<<(f.expBits-1) - 1
	if e == 1<<f.expBits-1 {
		return nil, m == 0, m != 0
	}
	mant := new(big.Int).SetInt64(m)
	exp := 1 - bias - f.mantBits
	if e != 0 {
		mant.Add(mant, new(big.Int).Lsh(big.NewInt(1), uint(f.mantBits)))
		exp = e - bias - f.mantBits
	}
	v = new(big.Float).SetInt(mant)
	v.SetMantExp(v, exp)
	if neg {
		v.Neg(v)
	}
	return v, false, false
}

func TestHalfDecodeExhaustive(t *testing.T) {
	for _, f := range halfFormats {
		for b := range 1 << 16 {
			bits := uint16(b)
			got := f.decode(bits)
			want, inf, nan := f.refValue(bits)
			switch {
			case nan:
				if !math.IsNaN(got) {
					t.Fatalf("%s %#04x: got %v, want NaN", f.name, bits, got)
				}
			case inf:
				if !math.IsInf(got, 0) || math.Signbit(got) != (bits&0x8000 != 0) {
					t.Fatalf("%s %#04x: got %v, want ±Inf", f.name, bits, got)
				}
			default:
				if new(big.Float).SetFloat64(got).Cmp(want) != 0 || math.Signbit(got) != (bits&0x8000 != 0) {
					t.Fatalf("%s %#04x: got %v, want %v", f.name, bits, got, want)
				}
			}
		}
	}
}

func TestHalfKnownValues(t *testing.T) {
	tests := []struct {
		format string
		bits   uint16
		want   float64
	}{
		{"F16", 0x3c00, 1},
		{"F16", 0xc000, -2},
		{"F16", 0x7bff, 65504},
		{"F16", 0x0400, math.Ldexp(1, -14)},
		{"F16", 0x0001, math.Ldexp(1, -24)},
		{"F16", 0x3555, 0.333251953125},
		{"BF16", 0x3f80, 1},
		{"BF16", 0x4049, 3.140625},
		{"BF16", 0x7f7f, 0x1.fep127},
		{"BF16", 0x0001, math.Ldexp(1, -133)},
	}
	for _, tc := range tests {
		f := halfFormats[0]
		if tc.format == "BF16" {
			f = halfFormats[1]
		}
		if got := f.decode(tc.bits); got != tc.want {
			t.Errorf("%s decode %#04x = %v, want %v", tc.format, tc.bits, got, tc.want)
		}
		if got := f.encode(tc.want); got != tc.bits {
			t.Errorf("%s encode %v = %#04x, want %#04x", tc.format, tc.want, got, tc.bits)
		}
	}
}

func TestHalfEncodeRoundTripExhaustive(t *testing.T) {
	for _, f := range halfFormats {
		for b := range 1 << 16 {
			bits := uint16(b)
			v := f.decode(bits)
			got := f.encode(v)
			if math.IsNaN(v) {
				if !math.IsNaN(f.decode(got)) || got&0x8000 != bits&0x8000 {
					t.Fatalf("%s NaN %#04x encoded as %#04x", f.name, bits, got)
				}
				continue
			}
			if got != bits {
				t.Fatalf("%s %#04x → %v → %#04x", f.name, bits, v, got)
			}
		}
	}
}

// nearest is the reference rounding: the finite value of the format closest
// to x, ties to the even bit pattern, found by binary search over all
// positive values and compared exactly with math/big. The value past the
// largest finite one is 2^(bias+1), standing for Inf, as IEEE 754 rounds.
type nearest struct {
	f    halfFormat
	vals []float64 // ascending positive finite values, then 2^(bias+1)
	bits []uint16
}

func newNearest(f halfFormat) *nearest {
	n := &nearest{f: f}
	for b := 0; b < 0x8000; b++ {
		v := f.decode(uint16(b))
		if math.IsInf(v, 0) || math.IsNaN(v) {
			continue
		}
		n.vals = append(n.vals, v)
		n.bits = append(n.bits, uint16(b))
	}
	n.vals = append(n.vals, math.Ldexp(1, 1<<(f.expBits-1)))
	n.bits = append(n.bits, uint16(1<<f.expBits-1)<<f.mantBits) // +Inf
	return n
}

func (n *nearest) round(x float64) uint16 {
	var sign uint16
	if math.Signbit(x) {
		sign = 0x8000
	}
	a := math.Abs(x)
	i := sort.SearchFloat64s(n.vals, a) // first vals[i] >= a
	if i == len(n.vals) {
		return sign | n.bits[len(n.bits)-1]
	}
	if n.vals[i] == a || i == 0 {
		return sign | n.bits[i]
	}
	const prec = 2200 // every difference of float64 values is exact
	xa := new(big.Float).SetPrec(prec).SetFloat64(a)
	dlo := new(big.Float).SetPrec(prec).Sub(xa, big.NewFloat(n.vals[i-1]))
	dhi := new(big.Float).SetPrec(prec).Sub(big.NewFloat(n.vals[i]), xa)
	switch c := dlo.Cmp(dhi); {
	case c < 0:
		return sign | n.bits[i-1]
	case c > 0:
		return sign | n.bits[i]
	case n.bits[i-1]&1 == 0:
		return sign | n.bits[i-1]
	}
	return sign | n.bits[i]
}

func TestHalfEncodeNearest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, f := range halfFormats {
		ref := newNearest(f)
		var inputs []float64
		// Every midpoint between neighbours (the ties), and its neighbours
		// in float64.
		for i := 0; i+1 < len(ref.vals); i++ {
			mid := ref.vals[i] + (ref.vals[i+1]-ref.vals[i])/2
			inputs = append(inputs, mid, math.Nextafter(mid, 0), math.Nextafter(mid, math.Inf(1)))
		}
		// Random values over the whole range, float64 subnormals included.
		for range 100000 {
			inputs = append(inputs, math.Ldexp(1+rng.Float64(), rng.IntN(300)-150))
		}
		inputs = append(inputs, 0, math.SmallestNonzeroFloat64, math.MaxFloat64, 1e-300, 1e300)
		for _, x := range inputs {
			for _, v := range []float64{x, -x} {
				got, want := f.encode(v), ref.round(v)
				if got != want {
					t.Fatalf("%s encode %v (%x) = %#04x, want %#04x", f.name, v, math.Float64bits(v), got, want)
				}
			}
		}
	}
}

func TestEncodeElement(t *testing.T) {
	tests := []struct {
		dtype string
		v     float64
		want  []byte // nil: an error containing errFrag
		frag  string
	}{
		{"F64", math.Inf(-1), []byte{0, 0, 0, 0, 0, 0, 0xf0, 0xff}, ""},
		{"F32", 1, []byte{0, 0, 0x80, 0x3f}, ""},
		{"F32", math.Inf(1), []byte{0, 0, 0x80, 0x7f}, ""},
		{"F32", 1e39, nil, "overflows F32"},
		{"F16", 65519, []byte{0xff, 0x7b}, ""},
		{"F16", 65520, nil, "overflows F16"},
		{"F16", math.NaN(), []byte{0x00, 0x7e}, ""},
		{"BF16", 1, []byte{0x80, 0x3f}, ""},
		{"BF16", 1e39, nil, "overflows BF16"},
		{"I64", -1, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ""},
		{"I64", math.Ldexp(1, 63), nil, "not an integer in"},
		{"I32", 2147483647, []byte{0xff, 0xff, 0xff, 0x7f}, ""},
		{"I32", 2147483648, nil, "not an integer in"},
		{"I16", -32768, []byte{0x00, 0x80}, ""},
		{"I8", -128, []byte{0x80}, ""},
		{"I8", 128, nil, "not an integer in [-128, 128)"},
		{"I8", 1.5, nil, "not an integer"},
		{"I8", math.NaN(), nil, "not an integer"},
		{"U8", 255, []byte{0xff}, ""},
		{"U8", -1, nil, "not an integer in [0, 256)"},
		{"U16", 65535, []byte{0xff, 0xff}, ""},
		{"U32", 4294967295, []byte{0xff, 0xff, 0xff, 0xff}, ""},
		{"U64", math.Ldexp(1, 63), []byte{0, 0, 0, 0, 0, 0, 0, 0x80}, ""},
		{"BOOL", 1, []byte{1}, ""},
		{"BOOL", 2, nil, "not 0 or 1"},
	}
	for _, tc := range tests {
		dt, err := lookupDType(tc.dtype)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, dt.size)
		err = dt.encode(b, tc.v)
		if tc.want == nil {
			if err == nil || !strings.Contains(err.Error(), tc.frag) {
				t.Errorf("%s encode %v: error %v, want one containing %q", tc.dtype, tc.v, err, tc.frag)
			}
			continue
		}
		if err != nil || string(b) != string(tc.want) {
			t.Errorf("%s encode %v = % x, %v; want % x", tc.dtype, tc.v, b, err, tc.want)
			continue
		}
		got := dt.decode(b, binary.LittleEndian)
		if got != tc.v && !(math.IsNaN(got) && math.IsNaN(tc.v)) && tc.dtype != "F16" {
			t.Errorf("%s decode(encode(%v)) = %v", tc.dtype, tc.v, got)
		}
	}
}

func TestBigEndianDecode(t *testing.T) {
	tests := []struct {
		dtype string
		b     []byte
		want  float64
	}{
		{"F32", []byte{0x3f, 0x80, 0, 0}, 1},
		{"F64", []byte{0xc0, 0, 0, 0, 0, 0, 0, 0}, -2},
		{"F16", []byte{0x3c, 0x00}, 1},
		{"BF16", []byte{0x40, 0x49}, 3.140625},
		{"I16", []byte{0xff, 0xfe}, -2},
		{"I64", []byte{0, 0, 0, 0, 0, 0, 1, 0}, 256},
	}
	for _, tc := range tests {
		if got := dtypes[tc.dtype].decode(tc.b, binary.BigEndian); got != tc.want {
			t.Errorf("%s big-endian % x = %v, want %v", tc.dtype, tc.b, got, tc.want)
		}
	}
}
