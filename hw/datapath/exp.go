package datapath

import "fmt"

// Formats of the base-2 exponent unit (DATAPATH.md §5).
const (
	// ExpInFrac is the number of fraction bits of the exponent-unit input z,
	// a signed fixed-point value Q11.20 held in an int32: the unit computes
	// 2^(z/2^20).
	ExpInFrac = 20
	// ExpOutFrac and ExpOutInt describe the output: unsigned UQ8.16, 24
	// bits, 1.0 = 2^16.
	ExpOutFrac = 16
	ExpOutInt  = 8
	// ExpZMax is the largest input that does not saturate: 2^z < 2^8.
	ExpZMax = ExpOutInt<<ExpInFrac - 1
	// ExpOutMax is the saturated output, 2^24 − 1.
	ExpOutMax = 1<<(ExpOutInt+ExpOutFrac) - 1
	// ExpTableFrac is the number of fraction bits of the table entries
	// (unsigned Q1.30, values in [2^30, 2^31]).
	ExpTableFrac = 30
	// DefaultExpTableBits is the table size the scan unit uses: 2^7 + 1
	// entries.
	DefaultExpTableBits = 7
	// scanKernelTableBits is the table size the scan kernel is built for.
	scanKernelTableBits = 7
)

// Exp2Unit evaluates 2^x in fixed point (DATAPATH.md §5): the input z (Q.20)
// is split into its integer part u = z >> 20 and fraction f; 2^(f/2^20) ∈
// [1, 2) is read from a table of 2^b + 1 entries with linear interpolation
// on the low 20−b bits of f, then shifted by u and rounded to UQ8.16.
// NewExp2Unit builds the table.
type Exp2Unit struct {
	tableBits int
	table     []int64  // round(2^(i/2^b) · 2^30), i = 0..2^b
	segs      []expSeg // table[i] and table[i+1] − table[i], i < 2^b
	// base and slope are the segments in 32 bits for the scan kernels;
	// nil unless b = 7 and every slope is below 2^24 (scan_kernels.go).
	base, slope []uint32
}

// expSeg is one interpolation segment: the table entry and the difference to
// the next one (the same values as the table, stored side by side).
type expSeg struct{ base, slope int64 }

// TableBits returns b, the table has 2^b + 1 entries.
func (u *Exp2Unit) TableBits() int { return u.tableBits }

// Table returns a copy of the table (unsigned Q1.30 entries), for ROM files.
func (u *Exp2Unit) Table() []uint32 {
	t := make([]uint32, len(u.table))
	for i, v := range u.table {
		t[i] = uint32(v)
	}
	return t
}

// Eval returns 2^(z/2^20) in UQ8.16 and whether the input exceeded ExpZMax
// (the output then saturates to ExpOutMax).
func (u *Exp2Unit) Eval(z int32) (uint32, bool) {
	if z > ExpZMax {
		return ExpOutMax, true
	}
	return u.eval(z), false
}

// eval is Eval for z ≤ ExpZMax.
func (u *Exp2Unit) eval(z int32) uint32 {
	ip := z >> ExpInFrac // integer part, floor
	s := ExpTableFrac - ExpOutFrac - ip
	if s > 40 { // result < 2^−24: rounds to 0
		return 0
	}
	f := int64(z & (1<<ExpInFrac - 1))
	sh := uint(ExpInFrac - u.tableBits)
	sg := &u.segs[f>>sh]
	p := sg.base + RoundShift(sg.slope*(f&(1<<sh-1)), sh)
	return uint32(RoundShift(p, uint(s)))
}

// newExp2Unit builds the unit from its table entries; NewExp2Unit (offline.go)
// computes them.
func newExp2Unit(tableBits int, entry func(i int) int64) (*Exp2Unit, error) {
	if tableBits < 1 || tableBits > ExpInFrac {
		return nil, fmt.Errorf("exp2 unit: table bits %d out of [1, %d]", tableBits, ExpInFrac)
	}
	u := &Exp2Unit{tableBits: tableBits, table: make([]int64, 1<<tableBits+1)}
	for i := range u.table {
		u.table[i] = entry(i)
	}
	u.segs = make([]expSeg, 1<<tableBits)
	for i := range u.segs {
		u.segs[i] = expSeg{u.table[i], u.table[i+1] - u.table[i]}
	}
	if tableBits == scanKernelTableBits {
		u.base, u.slope = make([]uint32, len(u.segs)), make([]uint32, len(u.segs))
		for i, sg := range u.segs {
			if sg.base < 0 || sg.base > 1<<31 || sg.slope < 0 || sg.slope >= 1<<24 {
				u.base, u.slope = nil, nil
				break
			}
			u.base[i], u.slope[i] = uint32(sg.base), uint32(sg.slope)
		}
	}
	return u, nil
}
