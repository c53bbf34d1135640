package datapath

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// refTable8Entry is the exact table value written independently of
// NewTable8: the float function, round half to even, clamp.
func refTable8Entry(silu bool, x int, sIn, sOut float64) (int8, bool) {
	v := float64(x) * sIn
	var y float64
	if silu {
		y = v * (1 / (1 + math.Exp(-v)))
	} else if v > 20 {
		y = v
	} else {
		y = math.Log1p(math.Exp(v))
	}
	q := math.RoundToEven(y / sOut)
	switch {
	case q > 127:
		return 127, true
	case q < -128:
		return -128, true
	}
	return int8(q), false
}

// TestTable8Exhaustive checks every entry of SiLU and softplus tables over
// random scales (saturating ones included) against the float reference, and
// that lookups and counters behave.
func TestTable8Exhaustive(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	var lookups int
	for iter := 0; iter < 1000; iter++ {
		silu := iter%2 == 0
		sIn := math.Exp2(-10 + 12*r.Float64()) // up to ±512 at the extremes
		sOut := sIn * math.Exp2(-3+5*r.Float64())
		var tab *Table8
		var err error
		if silu {
			tab, err = NewSiLUTable(sIn, sOut)
		} else {
			tab, err = NewSoftplusTable(sIn, sOut)
		}
		if err != nil {
			t.Fatal(err)
		}
		src := make([]int8, 256)
		var wantSat int64
		for x := -128; x <= 127; x++ {
			src[x+128] = int8(x)
			want, sat := refTable8Entry(silu, x, sIn, sOut)
			if got := tab.Lookup(int8(x)); got != want {
				t.Fatalf("silu=%v sIn=%g sOut=%g: f(%d) = %d, want %d", silu, sIn, sOut, x, got, want)
			}
			if tab.Clamped[uint8(int8(x))] != sat {
				t.Fatalf("silu=%v: clamp flag of %d = %v, want %v", silu, x, tab.Clamped[uint8(int8(x))], sat)
			}
			wantSat += b2i(sat)
		}
		dst := make([]int8, 256)
		var c Counters
		if err := ApplyTable8(dst, src, tab, &c); err != nil {
			t.Fatal(err)
		}
		for i, x := range src {
			if dst[i] != tab.Entries[uint8(x)] {
				t.Fatalf("ApplyTable8 mismatch at %d", x)
			}
		}
		if c.LUTLookups != 256 || c.Saturations != wantSat {
			t.Fatalf("counters %+v, want 256 lookups, %d saturations", c, wantSat)
		}
		lookups += 256
	}
	for _, s := range [][2]float64{{0, 1}, {1, 0}, {-1, 1}, {math.Inf(1), 1}, {1, math.NaN()}} {
		if _, err := NewSiLUTable(s[0], s[1]); err == nil {
			t.Errorf("scales %v accepted", s)
		}
	}
}

func TestChannelTables(t *testing.T) {
	a, _ := NewSiLUTable(0.05, 0.03)
	b, _ := NewSoftplusTable(0.1, 0.02)
	ct := &ChannelTables{Tables: []Table8{*a, *b}, Index: []uint8{0, 1, 1}}
	r := rand.New(rand.NewPCG(10, 10))
	src := NewMatrix[int8](50, 3)
	fillInt8(r, src.Data, -128, 127)
	dst := NewMatrix[int8](50, 3)
	var c Counters
	if err := ct.Apply(dst, src, &c); err != nil {
		t.Fatal(err)
	}
	var sat int64
	for i, x := range src.Data {
		tab := &ct.Tables[ct.Index[i%3]]
		if dst.Data[i] != tab.Lookup(x) {
			t.Fatalf("elem %d: %d, want %d", i, dst.Data[i], tab.Lookup(x))
		}
		sat += b2i(tab.Clamped[uint8(x)])
	}
	if c.LUTLookups != 150 || c.Saturations != sat {
		t.Fatalf("counters %+v", c)
	}
	ct.Index[2] = 2
	if err := ct.Apply(dst, src, nil); err == nil {
		t.Error("table index out of range accepted")
	}
	ct.Index = ct.Index[:2]
	if err := ct.Apply(dst, src, nil); err == nil {
		t.Error("short index accepted")
	}
}

// TestChannelTablesProperty checks Apply, whose rows of 64 channels and more
// run the AVX-512 VBMI kernel where the CPU has it, against direct lookups
// on random tables (up to 16, random entries and clamped flags), channel
// indices and inputs, every int8 input included.
func TestChannelTablesProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 11))
	for iter := 0; iter < 300; iter++ {
		ct := &ChannelTables{Tables: make([]Table8, 1+r.IntN(16))}
		for i := range ct.Tables {
			for x := range 256 {
				ct.Tables[i].Entries[x] = extremeInt8(r)
				ct.Tables[i].Clamped[x] = r.IntN(3) == 0
			}
		}
		rows, cols := 1+r.IntN(6), 1+r.IntN(300)
		ct.Index = make([]uint8, cols)
		for ch := range ct.Index {
			ct.Index[ch] = uint8(r.IntN(len(ct.Tables)))
		}
		src, dst := NewMatrix[int8](rows, cols), NewMatrix[int8](rows, cols)
		for i := range src.Data {
			src.Data[i] = int8(i*37 + iter)
		}
		var c Counters
		if err := ct.Apply(dst, src, &c); err != nil {
			t.Fatal(err)
		}
		var sat int64
		for i, x := range src.Data {
			tab := &ct.Tables[ct.Index[i%cols]]
			if dst.Data[i] != tab.Lookup(x) {
				t.Fatalf("iter %d elem %d: %d, want %d", iter, i, dst.Data[i], tab.Lookup(x))
			}
			sat += b2i(tab.Clamped[uint8(x)])
		}
		if c.LUTLookups != int64(rows*cols) || c.Saturations != sat {
			t.Fatalf("iter %d: counters %+v, want %d saturations", iter, c, sat)
		}
	}
}

// refInterp16 is InterpTable16.Lookup written from DATAPATH.md §6.2 in
// math/big.
func refInterp16(tab *InterpTable16, x int16) (int64, bool) {
	o := int64(x) + 32768
	s := 16 - tab.TableBits
	j, r := o>>s, o%(1<<s)
	e0 := big.NewInt(int64(tab.Entries[j]))
	v := new(big.Int).Set(e0)
	if r != 0 {
		d := new(big.Int).Sub(big.NewInt(int64(tab.Entries[j+1])), e0)
		v.Add(v, refRoundShift(d.Mul(d, big.NewInt(r)), s))
	}
	return refSat(refRoundShift(v, Interp16Frac), tab.Bits)
}

// TestInterpTable16 checks interpolated tables exhaustively: bit for bit
// against the math/big reference, and their error against the exact
// function within the bounds recorded in DATAPATH.md §6.2.
func TestInterpTable16(t *testing.T) {
	tests := []struct {
		name      string
		f         func(float64) float64
		rangeIn   float64 // |x| range covered by int16
		outBits   int
		tableBits int
		maxErr    float64 // bound on |y − f(x)/s_out| in output LSBs
	}{
		{"silu int16 ±16", SiLU, 16, 16, 10, 0.62},
		{"silu int16 ±16 257 entries", SiLU, 16, 16, 8, 2.48},
		{"softplus int16 ±16", Softplus, 16, 16, 10, 0.57},
		{"softplus int16 ±16 257 entries", Softplus, 16, 16, 8, 1.49},
		{"silu int16 ±64", SiLU, 64, 16, 10, 0.97},
		{"silu int8 out ±16", SiLU, 16, 8, 6, 0.62},
		{"softplus int8 out ±16", Softplus, 16, 8, 6, 0.56},
		{"softplus int8 out ±8", Softplus, 8, 8, 5, 0.63},
	}
	for _, tt := range tests {
		sIn := tt.rangeIn / 32768
		fmax := math.Max(math.Abs(tt.f(tt.rangeIn)), math.Abs(tt.f(-tt.rangeIn)))
		sOut := fmax / (math.Ldexp(1, tt.outBits-1) - 1)
		tab, err := NewInterpTable16(tt.f, sIn, sOut, tt.tableBits, tt.outBits)
		if err != nil {
			t.Fatal(err)
		}
		var maxErr float64
		var sat int64
		src := make([]int16, 65536)
		for i := range src {
			x := int16(i - 32768)
			src[i] = x
			got, s := tab.Lookup(x)
			want, ws := refInterp16(tab, x)
			if int64(got) != want || s != ws {
				t.Fatalf("%s: Lookup(%d) = %d, %v; reference %d, %v", tt.name, x, got, s, want, ws)
			}
			sat += b2i(s)
			exact := tt.f(float64(x)*sIn) / sOut
			exact = math.Max(math.Min(exact, math.Ldexp(1, tt.outBits-1)-1), -math.Ldexp(1, tt.outBits-1))
			maxErr = math.Max(maxErr, math.Abs(float64(got)-exact))
		}
		t.Logf("%s (%d entries): max |error| %.3f LSB of %.3g", tt.name, len(tab.Entries), maxErr, sOut)
		if maxErr > tt.maxErr {
			t.Errorf("%s: max error %.3f LSB > %.3f", tt.name, maxErr, tt.maxErr)
		}
		dst := make([]int16, len(src))
		var c Counters
		if err := ApplyInterp16(dst, src, tab, &c); err != nil {
			t.Fatal(err)
		}
		if c.LUTLookups != 65536 || c.Saturations != sat {
			t.Errorf("%s: counters %+v, want %d saturations", tt.name, c, sat)
		}
		if tt.outBits > 8 {
			if err := ApplyInterp16(make([]int8, len(src)), src, tab, nil); err == nil {
				t.Errorf("%s: 16-bit output into int8 accepted", tt.name)
			}
		}
	}
	if _, err := NewInterpTable16(SiLU, 1, 1, 17, 8); err == nil {
		t.Error("17 table bits accepted")
	}
	bad := &InterpTable16{TableBits: 4, Bits: 8, Entries: make([]int32, 16)}
	if err := bad.Validate(); err == nil {
		t.Error("short entry table accepted")
	}
}
