package datapath

import (
	"math"
	"math/big"
	"math/rand/v2"
)

// This file holds the slow, obvious references the property tests compare
// the units against: math/big arithmetic written straight from the formulas
// of DATAPATH.md, without the units' shortcuts.

// bigFloorDiv returns ⌊x / 2^s⌋ (Euclidean division by a positive divisor).
func bigFloorDiv(x *big.Int, s int) *big.Int {
	d := new(big.Int).Lsh(big.NewInt(1), uint(s))
	return new(big.Int).Div(x, d)
}

// refRoundShift is round(x / 2^s) with ties toward +∞, i.e. ⌊x/2^s + 1/2⌋.
func refRoundShift(x *big.Int, s int) *big.Int {
	if s == 0 {
		return new(big.Int).Set(x)
	}
	h := new(big.Int).Lsh(big.NewInt(1), uint(s-1))
	return bigFloorDiv(new(big.Int).Add(x, h), s)
}

// refMul is round(x·M / 2^s), ties toward +∞, in math/big.
func refMul(x int64, m Multiplier, extra int) *big.Int {
	p := new(big.Int).Mul(big.NewInt(x), big.NewInt(int64(m.M)))
	return refRoundShift(p, int(m.Shift)+extra)
}

// refSat clamps x to a signed bits-wide range and reports whether it did.
func refSat(x *big.Int, bits int) (int64, bool) {
	hi := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(bits-1)), big.NewInt(1))
	lo := new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), uint(bits-1)))
	switch {
	case x.Cmp(hi) > 0:
		return hi.Int64(), true
	case x.Cmp(lo) < 0:
		return lo.Int64(), true
	}
	return x.Int64(), false
}

// extremeInt8 draws an int8 with the extremes −128, −127, −1, 0, 1, 127
// over-represented.
func extremeInt8(r *rand.Rand) int8 {
	if r.IntN(4) == 0 {
		return []int8{-128, -127, -1, 0, 1, 127}[r.IntN(6)]
	}
	return int8(r.IntN(256) - 128)
}

// extremeInt32 draws an int32 spread over all magnitudes, with the limits
// and small values over-represented.
func extremeInt32(r *rand.Rand) int32 {
	switch r.IntN(8) {
	case 0:
		return []int32{math.MinInt32, math.MinInt32 + 1, math.MaxInt32, math.MaxInt32 - 1, -1, 0, 1}[r.IntN(7)]
	case 1:
		return int32(r.IntN(65) - 32)
	}
	v := int64(r.Uint64() >> uint(r.IntN(64)+1)) // any magnitude
	if r.IntN(2) == 0 {
		v = -v
	}
	return int32(max(min(v, math.MaxInt32), math.MinInt32))
}

// randMultiplier draws a normalised multiplier with shift in [lo, hi].
func randMultiplier(r *rand.Rand, lo, hi int) Multiplier {
	m := int32(1<<30 + r.IntN(1<<30))
	if r.IntN(8) == 0 {
		m = []int32{1 << 30, math.MaxInt32, 0}[r.IntN(3)]
	}
	return Multiplier{M: m, Shift: int8(lo + r.IntN(hi-lo+1))}
}
