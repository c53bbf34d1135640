package datapath

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestRoundShiftTable(t *testing.T) {
	tests := []struct {
		x    int64
		s    uint
		want int64
	}{
		{-1, 1, 0}, {-3, 1, -1}, {1, 1, 1}, {3, 1, 2}, {-2, 1, -1}, {5, 0, 5},
		{-5, 2, -1}, {-6, 2, -1}, {-7, 2, -2}, {6, 2, 2},
		{math.MaxInt64 >> 2, 61, 1}, {-(1 << 61), 62, 0}, {-(1 << 61) - 1, 62, -1},
	}
	for _, tt := range tests {
		if got := RoundShift(tt.x, tt.s); got != tt.want {
			t.Errorf("RoundShift(%d, %d) = %d, want %d", tt.x, tt.s, got, tt.want)
		}
	}
}

func TestFixedProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(20, 20))
	for i := 0; i < 200000; i++ {
		x := int64(r.Uint64()>>uint(2+r.IntN(62))) * int64(1-2*r.IntN(2)) // |x| < 2^62
		s := uint(r.IntN(64))
		if got, want := RoundShift(x, s), refRoundShift(big.NewInt(x), int(s)); big.NewInt(got).Cmp(want) != 0 {
			t.Fatalf("RoundShift(%d, %d) = %d, want %v", x, s, got, want)
		}
		k := r.IntN(20) - 10
		if i%8 == 0 {
			k = -r.IntN(100) // right shifts to 99, beyond the int64 width
		}
		want := new(big.Int)
		if k >= 0 {
			want.Lsh(big.NewInt(int64(int32(x))), uint(k))
		} else {
			want = refRoundShift(big.NewInt(int64(int32(x))), -k)
		}
		if got := ShiftRound(int64(int32(x)), k); big.NewInt(got).Cmp(want) != 0 {
			t.Fatalf("ShiftRound(%d, %d) = %d, want %v", int32(x), k, got, want)
		}
		bits := 2 + r.IntN(62)
		gv, gs := Saturate(x, bits)
		wv, ws := refSat(big.NewInt(x), bits)
		if gv != wv || gs != ws {
			t.Fatalf("Saturate(%d, %d) = %d, %v; want %d, %v", x, bits, gv, gs, wv, ws)
		}
	}
	if v, s := Saturate(math.MinInt64, 64); v != math.MinInt64 || s {
		t.Errorf("Saturate at 64 bits clamped")
	}
}

func TestRequantizerAt(t *testing.T) {
	rq := &Requantizer{Mult: []Multiplier{{1 << 30, 31}}, Bits: 8, Bias: []int32{math.MaxInt32, 0}}
	var c Counters
	if got := rq.At(10, 0, 1, &c); got != 5 {
		t.Errorf("At(10) = %d, want 5", got)
	}
	if got := rq.At(10, 0, 0, &c); got != 127 { // bias overflow, then saturation
		t.Errorf("At with bias overflow = %d, want 127", got)
	}
	want := Counters{Requants: 2, Overflows: 1, Saturations: 1}
	if c != want {
		t.Errorf("counters %+v, want %+v", c, want)
	}
	var sum Counters
	sum.Add(c)
	sum.Add(Counters{MACs: 3, LUTLookups: 4, Exps: 5, Rsqrts: 6})
	if sum != (Counters{MACs: 3, Requants: 2, LUTLookups: 4, Exps: 5, Rsqrts: 6, Saturations: 1, Overflows: 1}) {
		t.Errorf("Counters.Add: %+v", sum)
	}
	for d, s := range map[Dataflow]string{OutputStationary: "os", WeightStationary: "ws", InputStationary: "is", 9: "dataflow(9)"} {
		if d.String() != s {
			t.Errorf("Dataflow(%d).String() = %q, want %q", int(d), d.String(), s)
		}
	}
}

func TestGroupRequantizerValidate(t *testing.T) {
	good := GroupRequantizer{Mult: []int32{1 << 26, 5}, Shift: 30, Bits: 8}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(r *GroupRequantizer){
		func(r *GroupRequantizer) { r.Mult = nil },
		func(r *GroupRequantizer) { r.Mult = make([]int32, MaxGroups+1) },
		func(r *GroupRequantizer) { r.Mult = []int32{1 << 27} },
		func(r *GroupRequantizer) { r.Mult = []int32{-1} },
		func(r *GroupRequantizer) { r.Shift = 0 },
		func(r *GroupRequantizer) { r.Shift = 63 },
		func(r *GroupRequantizer) { r.Bits = 1 },
		func(r *GroupRequantizer) { r.ZeroPoint = 128 },
	}
	for i, mod := range bad {
		r := good
		r.Mult = append([]int32(nil), good.Mult...)
		mod(&r)
		if err := r.Validate(); err == nil {
			t.Errorf("bad group requantizer %d accepted", i)
		}
	}
	src := NewMatrix[int8](2, 3)
	if err := GatherColumns(NewMatrix[int8](2, 1), src, []int{3}); err == nil {
		t.Error("gather of a column out of range accepted")
	}
	if err := GatherColumns(NewMatrix[int8](2, 2), src, []int{0}); err == nil {
		t.Error("gather into a wrong shape accepted")
	}
	w, _ := NewWeights(1, 3, []int8{1, 2, 3})
	if _, err := w.Columns([]int{3}); err == nil {
		t.Error("weight column out of range accepted")
	}
	if _, err := w.Columns(nil); err == nil {
		t.Error("empty weight column selection accepted")
	}
}
