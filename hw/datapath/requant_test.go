package datapath

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestQuantizeMultiplier(t *testing.T) {
	tests := []struct {
		real    float64
		want    Multiplier
		wantErr bool
	}{
		{1, Multiplier{1 << 30, 30}, false},
		{0.5, Multiplier{1 << 30, 31}, false},
		{0.75, Multiplier{3 << 29, 31}, false},
		{0, Multiplier{0, 1}, false},
		{math.Ldexp(1, 29), Multiplier{1 << 30, 1}, false},
		{math.Ldexp(1, -33), Multiplier{1 << 30, 63}, false},
		{math.Ldexp(1, -34), Multiplier{0, 1}, false},
		{math.Nextafter(1, 0), Multiplier{1 << 30, 30}, false}, // mantissa rounds up to 2^31
		{math.Ldexp(1, 30), Multiplier{}, true},
		{-1, Multiplier{}, true},
		{math.NaN(), Multiplier{}, true},
		{math.Inf(1), Multiplier{}, true},
	}
	for _, tt := range tests {
		got, err := QuantizeMultiplier(tt.real)
		if (err != nil) != tt.wantErr {
			t.Errorf("QuantizeMultiplier(%g) error = %v, want error %v", tt.real, err, tt.wantErr)
			continue
		}
		if err == nil && got != tt.want {
			t.Errorf("QuantizeMultiplier(%g) = %+v, want %+v", tt.real, got, tt.want)
		}
	}
}

func TestQuantizeMultiplierRelativeError(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 100000; i++ {
		real := math.Exp2(-32 + 61*r.Float64())
		m, err := QuantizeMultiplier(real)
		if err != nil {
			t.Fatalf("QuantizeMultiplier(%g): %v", real, err)
		}
		if err := m.Valid(); err != nil {
			t.Fatalf("QuantizeMultiplier(%g) = %+v: %v", real, m, err)
		}
		if rel := math.Abs(m.Float()-real) / real; rel > math.Ldexp(1, -31) {
			t.Fatalf("QuantizeMultiplier(%g) = %+v: relative error %g > 2^-31", real, m, rel)
		}
	}
}

// TestMultiplierApply compares Apply with the math/big reference on random
// and extreme operands, and checks the documented tie cases.
func TestMultiplierApply(t *testing.T) {
	ties := []struct {
		x    int32
		m    Multiplier
		want int64
	}{
		{-1, Multiplier{1 << 30, 31}, 0},  // −0.5 → 0 (ties toward +∞, as TFLite single rounding)
		{-3, Multiplier{1 << 30, 31}, -1}, // −1.5 → −1
		{1, Multiplier{1 << 30, 31}, 1},   // 0.5 → 1
		{3, Multiplier{1 << 30, 31}, 2},   // 1.5 → 2
		{math.MinInt32, Multiplier{math.MaxInt32, 1}, -(1 << 61) + (1 << 30)},
		{math.MaxInt32, Multiplier{math.MaxInt32, 63}, 0},
		{math.MinInt32, Multiplier{1 << 30, 62}, 0}, // −2^61/2^62 = −0.5 → 0
		{math.MinInt32, Multiplier{1 << 30, 61}, -1},
	}
	for _, tt := range ties {
		if got := tt.m.Apply(tt.x, 0); got != tt.want {
			t.Errorf("%+v.Apply(%d) = %d, want %d", tt.m, tt.x, got, tt.want)
		}
	}
	r := rand.New(rand.NewPCG(2, 2))
	for i := 0; i < 200000; i++ {
		x := extremeInt32(r)
		m := randMultiplier(r, 1, 63)
		extra := 0
		if r.IntN(4) == 0 {
			extra = r.IntN(70) - int(m.Shift) + 1 // total shift from 1 to beyond 63
		}
		got := m.Apply(x, extra)
		s := int(m.Shift) + extra
		want := refMul(int64(x), Multiplier{M: m.M, Shift: 0}, s)
		if big.NewInt(got).Cmp(want) != 0 {
			t.Fatalf("%+v.Apply(%d, %d) = %d, want %v", m, x, extra, got, want)
		}
	}
}

// Exact ties of the requantizer: x·M ≡ 2^(S−1) mod 2^S for every x odd when
// M = 2^30 and S = 31; check a sweep against the big reference.
func TestMultiplierTiesSweep(t *testing.T) {
	m := Multiplier{M: 1 << 30, Shift: 31}
	for x := int32(-100001); x <= 100001; x += 2 {
		got := m.Apply(x, 0)
		want := int64(math.Floor(float64(x)/2 + 0.5))
		if got != want {
			t.Fatalf("Apply(%d) = %d, want %d", x, got, want)
		}
	}
}

// refRequant is the math/big reference of Requantizer.at; it returns the
// value and whether the bias sum overflowed and the output saturated.
func refRequant(r *Requantizer, acc int32, tok, ch int) (int64, bool, bool) {
	a := big.NewInt(int64(acc))
	if r.Bias != nil {
		a.Add(a, big.NewInt(int64(r.Bias[ch])))
	}
	a32, over := refSat(a, 32)
	m := r.Mult[0]
	if r.ChannelGroup != nil {
		m = r.Mult[r.ChannelGroup[ch]]
	}
	s := int(m.Shift)
	if r.TokenGroup != nil {
		s += int(r.TokenShift[r.TokenGroup[tok]])
	}
	v := refMul(a32, Multiplier{M: m.M}, s)
	v.Add(v, big.NewInt(int64(r.ZeroPoint)))
	out, sat := refSat(v, r.Bits)
	return out, over, sat
}

func randRequantizer(r *rand.Rand, tokens, channels int) *Requantizer {
	rq := &Requantizer{Bits: []int{8, 16, 32, 4, 12}[r.IntN(5)]}
	groups := 1
	switch r.IntN(3) {
	case 1:
		groups = 4
	case 2:
		groups = channels
	}
	minShift := 1
	if r.IntN(2) == 0 {
		rq.TokenShift = make([]int8, 4)
		rq.TokenGroup = make([]uint8, tokens)
		for g := range rq.TokenShift {
			rq.TokenShift[g] = int8(r.IntN(13) - 4)
		}
		for i := range rq.TokenGroup {
			rq.TokenGroup[i] = uint8(r.IntN(4))
		}
		minShift = 5
	}
	rq.Mult = make([]Multiplier, groups)
	for g := range rq.Mult {
		rq.Mult[g] = randMultiplier(r, minShift, 60)
		if r.IntN(2) == 0 { // a realistic requantization scale
			rq.Mult[g].Shift = int8(minShift + 25 + r.IntN(15))
		}
	}
	if groups > 1 {
		rq.ChannelGroup = make([]uint16, channels)
		for c := range rq.ChannelGroup {
			rq.ChannelGroup[c] = uint16(r.IntN(groups))
		}
	}
	if r.IntN(2) == 0 {
		rq.Bias = make([]int32, channels)
		for c := range rq.Bias {
			rq.Bias[c] = extremeInt32(r)
		}
	}
	if r.IntN(3) == 0 {
		lo, hi := satBounds(rq.Bits)
		rq.ZeroPoint = int32(lo + r.Int64N(hi-lo+1))
	}
	return rq
}

func TestRequantizeProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	var n int
	for iter := 0; n < 200000; iter++ {
		tokens, channels := 1+r.IntN(12), 1+r.IntN(40)
		rq := randRequantizer(r, tokens, channels)
		acc := NewMatrix[int32](tokens, channels)
		for i := range acc.Data {
			acc.Data[i] = extremeInt32(r)
		}
		var want Counters
		ref := make([]int64, len(acc.Data))
		for i, a := range acc.Data {
			v, over, sat := refRequant(rq, a, i/channels, i%channels)
			ref[i] = v
			want.Overflows += b2i(over)
			want.Saturations += b2i(sat)
		}
		want.Requants = int64(len(acc.Data))
		var got Counters
		switch {
		case rq.Bits <= 8:
			dst := NewMatrix[int8](tokens, channels)
			if err := Requantize(dst, acc, rq, 0, &got); err != nil {
				t.Fatal(err)
			}
			for i, v := range dst.Data {
				if int64(v) != ref[i] {
					t.Fatalf("iter %d elem %d: got %d, want %d (%+v)", iter, i, v, ref[i], rq)
				}
			}
		case rq.Bits <= 16:
			dst := NewMatrix[int16](tokens, channels)
			if err := Requantize(dst, acc, rq, 0, &got); err != nil {
				t.Fatal(err)
			}
			for i, v := range dst.Data {
				if int64(v) != ref[i] {
					t.Fatalf("iter %d elem %d: got %d, want %d", iter, i, v, ref[i])
				}
			}
		default:
			dst := NewMatrix[int32](tokens, channels)
			if err := Requantize(dst, acc, rq, 0, &got); err != nil {
				t.Fatal(err)
			}
			for i, v := range dst.Data {
				if int64(v) != ref[i] {
					t.Fatalf("iter %d elem %d: got %d, want %d", iter, i, v, ref[i])
				}
			}
		}
		if got != want {
			t.Fatalf("iter %d: counters %+v, want %+v", iter, got, want)
		}
		n += len(acc.Data)
	}
}

func TestRequantizeErrors(t *testing.T) {
	good := func() *Requantizer {
		return &Requantizer{Mult: []Multiplier{{1 << 30, 31}}, Bits: 8}
	}
	acc := NewMatrix[int32](2, 3)
	tests := []struct {
		name string
		mod  func(r *Requantizer)
		dst  any
	}{
		{"bits", func(r *Requantizer) { r.Bits = 33 }, NewMatrix[int32](2, 3)},
		{"no mult", func(r *Requantizer) { r.Mult = nil }, nil},
		{"bad shift", func(r *Requantizer) { r.Mult[0].Shift = 0 }, nil},
		{"unnormalised", func(r *Requantizer) { r.Mult[0].M = 5 }, nil},
		{"groups without index", func(r *Requantizer) { r.Mult = append(r.Mult, r.Mult[0]) }, nil},
		{"group index range", func(r *Requantizer) { r.ChannelGroup = []uint16{0, 1, 0} }, nil},
		{"group count", func(r *Requantizer) { r.ChannelGroup = []uint16{0} }, nil},
		{"bias count", func(r *Requantizer) { r.Bias = []int32{1} }, nil},
		{"zero point", func(r *Requantizer) { r.ZeroPoint = 200 }, nil},
		{"token shift alone", func(r *Requantizer) { r.TokenShift = []int8{0} }, nil},
		{"token groups count", func(r *Requantizer) { r.TokenShift = []int8{0}; r.TokenGroup = []uint8{0} }, nil},
		{"token group range", func(r *Requantizer) { r.TokenShift = []int8{0}; r.TokenGroup = []uint8{0, 1} }, nil},
		{"token shift too negative", func(r *Requantizer) { r.TokenShift = []int8{-31}; r.TokenGroup = []uint8{0, 0} }, nil},
		{"output too narrow", func(r *Requantizer) { r.Bits = 16 }, nil},
		{"shape", func(r *Requantizer) {}, NewMatrix[int8](3, 2)},
	}
	for _, tt := range tests {
		rq := good()
		tt.mod(rq)
		var err error
		switch d := tt.dst.(type) {
		case nil:
			err = Requantize(NewMatrix[int8](2, 3), acc, rq, 0, nil)
		case Matrix[int8]:
			err = Requantize(d, acc, rq, 0, nil)
		case Matrix[int32]:
			err = Requantize(d, acc, rq, 0, nil)
		}
		if err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	if err := Requantize(NewMatrix[int8](2, 3), acc, good(), 0, nil); err != nil {
		t.Errorf("valid requantizer: %v", err)
	}
}

// TestRequantizeTokenOffset checks that requantizing in row blocks with an
// offset into the token groups equals requantizing the whole tensor.
func TestRequantizeTokenOffset(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	rq := randRequantizer(r, 10, 7)
	rq.TokenShift = []int8{0, 1, 2, 3}
	rq.TokenGroup = []uint8{0, 1, 2, 3, 0, 1, 2, 3, 3, 3}
	for g := range rq.Mult {
		rq.Mult[g].Shift = 40
	}
	acc := NewMatrix[int32](10, 7)
	for i := range acc.Data {
		acc.Data[i] = extremeInt32(r)
	}
	rq.Bits = 32
	whole := NewMatrix[int32](10, 7)
	if err := Requantize(whole, acc, rq, 0, nil); err != nil {
		t.Fatal(err)
	}
	for off := 0; off < 10; off += 3 {
		rows := min(3, 10-off)
		part := NewMatrix[int32](rows, 7)
		sub := Matrix[int32]{Rows: rows, Cols: 7, Data: acc.Data[off*7 : (off+rows)*7]}
		if err := Requantize(part, sub, rq, off, nil); err != nil {
			t.Fatal(err)
		}
		for i, v := range part.Data {
			if v != whole.Data[off*7+i] {
				t.Fatalf("offset %d elem %d: %d != %d", off, i, v, whole.Data[off*7+i])
			}
		}
	}
	if err := Requantize(NewMatrix[int32](3, 7), acc, rq, 9, nil); err == nil {
		t.Error("rows beyond the token groups: no error")
	}
}
