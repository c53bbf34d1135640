package datapath

import "math"

// RoundShift returns x / 2^s rounded to the nearest integer, ties toward +∞:
// (x + 2^(s−1)) >> s with an arithmetic shift (DATAPATH.md §2.2). s = 0
// returns x. The caller keeps |x| < 2^62 and s ≤ 63.
func RoundShift(x int64, s uint) int64 {
	if s == 0 {
		return x
	}
	return (x + 1<<(s-1)) >> s
}

// ShiftRound multiplies x by 2^k: a left shift for k ≥ 0, RoundShift(x, −k)
// for k < 0. For k < −63 the result is 0, the exact value of ⌊x/2^−k + 1/2⌋
// for every int64 x (DATAPATH.md §2).
func ShiftRound(x int64, k int) int64 {
	if k >= 0 {
		return x << uint(k)
	}
	if k < -63 {
		return 0
	}
	return RoundShift(x, uint(-k))
}

// Saturate clamps x to the range of a signed two's-complement integer of the
// given width, [−2^(bits−1), 2^(bits−1)−1], and reports whether it clamped.
// bits is in [2, 64].
func Saturate(x int64, bits int) (int64, bool) {
	if bits >= 64 {
		return x, false
	}
	hi := int64(1)<<(bits-1) - 1
	lo := -hi - 1
	switch {
	case x > hi:
		return hi, true
	case x < lo:
		return lo, true
	}
	return x, false
}

// satBounds returns the range of a signed integer of the given width.
func satBounds(bits int) (lo, hi int64) {
	hi = int64(1)<<(bits-1) - 1
	return -hi - 1, hi
}

// clampInt32 saturates x to int32 and reports whether it clamped.
func clampInt32(x int64) (int32, bool) {
	if x > math.MaxInt32 {
		return math.MaxInt32, true
	}
	if x < math.MinInt32 {
		return math.MinInt32, true
	}
	return int32(x), false
}

// b2i converts a bool to 0 or 1.
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
