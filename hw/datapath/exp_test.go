package datapath

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// refExp2 is the exponent unit's arithmetic written from DATAPATH.md §5 in
// math/big: floor split of z, interpolation, final rounding shift.
func refExp2(table []uint32, tableBits int, z int32) int64 {
	if z > ExpZMax {
		return ExpOutMax
	}
	zb := big.NewInt(int64(z))
	u := bigFloorDiv(zb, ExpInFrac)                                                        // ⌊z/2^20⌋
	f := new(big.Int).Sub(zb, new(big.Int).Lsh(u, ExpInFrac)).Int64()                      // z − u·2^20 ∈ [0, 2^20)
	i, r := f>>(ExpInFrac-tableBits), f%(1<<(ExpInFrac-tableBits))                         // index, remainder
	diff := new(big.Int).Mul(big.NewInt(int64(table[i+1])-int64(table[i])), big.NewInt(r)) // (T[i+1]−T[i])·r
	p := new(big.Int).Add(big.NewInt(int64(table[i])), refRoundShift(diff, ExpInFrac-tableBits))
	// 2^u · p / 2^30, in units of 2^−16: round(p · 2^(u+16−30)).
	s := ExpTableFrac - ExpOutFrac - u.Int64()
	if s <= 0 {
		return p.Lsh(p, uint(-s)).Int64()
	}
	return refRoundShift(p, int(s)).Int64()
}

func TestExp2Table(t *testing.T) {
	u, err := NewExp2Unit(DefaultExpTableBits)
	if err != nil {
		t.Fatal(err)
	}
	tab := u.Table()
	if len(tab) != 1<<DefaultExpTableBits+1 || tab[0] != 1<<30 || tab[len(tab)-1] != 1<<31 {
		t.Fatalf("table: %d entries, first %d, last %d", len(tab), tab[0], tab[len(tab)-1])
	}
	for i := 1; i < len(tab); i++ {
		if tab[i] <= tab[i-1] {
			t.Fatalf("table not increasing at %d", i)
		}
	}
	for _, b := range []int{0, 21} {
		if _, err := NewExp2Unit(b); err == nil {
			t.Errorf("table bits %d accepted", b)
		}
	}
}

// TestExp2Property checks the unit bit for bit against the math/big
// reference on random and extreme inputs.
func TestExp2Property(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, tb := range []int{4, DefaultExpTableBits, 10} {
		u, err := NewExp2Unit(tb)
		if err != nil {
			t.Fatal(err)
		}
		tab := u.Table()
		edges := []int32{math.MinInt32, expZMin, -26 << 20, -17<<20 - 1, -17 << 20, -1, 0, 1, 1<<20 - 1, 1 << 20, ExpZMax, ExpZMax + 1, math.MaxInt32}
		for i := 0; i < 150000; i++ {
			var z int32
			switch {
			case i < len(edges):
				z = edges[i]
			case i%3 == 0:
				z = int32(r.IntN(40<<20)) - 32<<20
			default:
				z = extremeInt32(r)
			}
			got, sat := u.Eval(z)
			want := refExp2(tab, tb, z)
			if int64(got) != want || sat != (z > ExpZMax) {
				t.Fatalf("tb %d: Eval(%d) = %d, %v; want %d", tb, z, got, sat, want)
			}
		}
	}
}

// TestExp2Accuracy measures the error against 2^x exhaustively over every
// input whose result is not 0, for the documented table and its neighbours,
// and checks it against the bounds recorded in DATAPATH.md §5.3.
func TestExp2Accuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("exhaustive sweep")
	}
	bounds := []struct {
		tb          int
		maxLSBNeg   float64 // max |error| in output LSBs for z ≤ 0 (Ā ≤ 1)
		maxRelUpper float64 // max relative error for z > 0
	}{
		{6, 1.46, 2.3e-5},
		{DefaultExpTableBits, 0.74, 1.2e-5},
		{8, 0.56, 8.6e-6},
	}
	for _, b := range bounds {
		u, err := NewExp2Unit(b.tb)
		if err != nil {
			t.Fatal(err)
		}
		var maxNeg, maxRel float64
		var worst int32
		for z := int32(-26 << 20); z <= ExpZMax; z++ {
			v := u.eval(z)
			exact := math.Ldexp(math.Exp2(math.Ldexp(float64(z), -ExpInFrac)), ExpOutFrac)
			e := math.Abs(float64(v) - exact)
			if z <= 0 {
				if e > maxNeg {
					maxNeg, worst = e, z
				}
			} else {
				maxRel = math.Max(maxRel, e/exact)
			}
		}
		t.Logf("table bits %d: max |error| %.4f LSB (%.3g) for z ≤ 0, worst z = %d; max relative error %.3g for z > 0",
			b.tb, maxNeg, math.Ldexp(maxNeg, -ExpOutFrac), worst, maxRel)
		if maxNeg > b.maxLSBNeg || maxRel > b.maxRelUpper {
			t.Errorf("table bits %d: errors %.4f LSB / %.3g exceed %.4f / %.3g", b.tb, maxNeg, maxRel, b.maxLSBNeg, b.maxRelUpper)
		}
		for _, z := range []int32{-27 << 20, expZMin, math.MinInt32} {
			if v := u.eval(z); v != 0 {
				t.Errorf("table bits %d: 2^(%d/2^20) = %d, want 0", b.tb, z, v)
			}
		}
	}
}
