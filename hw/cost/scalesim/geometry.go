package scalesim

// This file places an operand word in its prefetch order: the order in which
// SCALE-Sim streams the operand from DRAM into its read buffer, counting only
// real words (the padding of a partly used fold is fetched but never held).
//
// SCALE-Sim builds the prefetch order from a stack of fold blocks, one per
// fold of the operand across the array. A streaming operand (both operands
// in OS, the ifmap in WS, the filter in IS) is read out of the stack along
// anti-diagonals, because the array consumes it skewed; a stationary operand
// (the filter in WS, the ifmap in IS) is read row by row.

// stack is F fold blocks of H rows × W columns, stacked vertically. Every
// block but the last has W real columns; the last has vlast.
type stack struct {
	F, H, W, vlast int64
}

// rows returns the height of the stack.
func (g stack) rows() int64 { return g.F * g.H }

// width returns the real columns of block b.
func (g stack) width(b int64) int64 {
	if b == g.F-1 {
		return g.vlast
	}
	return g.W
}

// all is the length of the prefetch order including padding.
func (g stack) all() int64 { return g.F * g.H * g.W }

// real is the number of real words.
func (g stack) real() int64 { return g.all() - g.H*(g.W-g.vlast) }

// skewed is a stack read along anti-diagonals: diagonal d holds the
// elements (d−c, c), visited from the highest row (lowest column) down.
type skewed struct{ stack }

// pos returns the index among real words of the real element on diagonal d
// in column c.
func (g skewed) pos(d, c int64) int64 {
	lastRow := (g.F - 1) * g.H
	before := countBelow(0, g.rows(), 0, g.W, d) - countBelow(lastRow, g.rows(), g.vlast, g.W, d)
	cmin := max(0, d-(g.rows()-1))
	within := c - cmin
	// Padding on diagonal d before column c: columns ≥ vlast whose row lies in
	// the last block, i.e. d−c' ≥ lastRow.
	if lo, hi := max(g.vlast, cmin), min(c-1, d-lastRow); hi >= lo {
		within -= hi - lo + 1
	}
	return before + within
}

// index returns the index in the prefetch order, padding included, of the
// element on diagonal d in column c.
func (g skewed) index(d, c int64) int64 {
	return countBelow(0, g.rows(), 0, g.W, d) + c - max(0, d-(g.rows()-1))
}

// countBelow counts the lattice points (r, c) with r0 ≤ r < r1, c0 ≤ c < c1
// and r + c < d.
func countBelow(r0, r1, c0, c1, d int64) int64 {
	if r1 <= r0 || c1 <= c0 {
		return 0
	}
	// For column c there are clamp(d−c−r0, 0, r1−r0) rows.
	return sumClamp(d-r0-(c1-1), d-r0-c0, r1-r0)
}

// sumClamp returns Σ clamp(x, 0, h) for x from lo to hi.
func sumClamp(lo, hi, h int64) int64 {
	if hi < lo {
		return 0
	}
	var s int64
	// 1 ≤ x ≤ h contributes x.
	if a, b := max(lo, 1), min(hi, h); b >= a {
		s += (a + b) * (b - a + 1) / 2
	}
	// x > h contributes h.
	if a := max(lo, h+1); hi >= a {
		s += h * (hi - a + 1)
	}
	return s
}

// stacked is a stack read row by row.
type stacked struct{ stack }

// pos returns the index among real words of row r, column c of block b.
func (g stacked) pos(b, r, c int64) int64 {
	return b*g.H*g.W + r*g.width(b) + c
}

// index returns the index in the prefetch order, padding included, of row
// r, column c of block b.
func (g stacked) index(b, r, c int64) int64 { return (b*g.H+r)*g.W + c }
