package datapath

import (
	"fmt"
	"unsafe"
)

// GroupMultBits is the width of the mantissas of a GroupRequantizer (the
// largest is normalised to [2^26, 2^27)) and MaxGroups its largest number of
// groups: MaxGroups products of an int32 partial sum with such a mantissa
// add up exactly in int64.
const (
	GroupMultBits = 27
	MaxGroups     = 16
)

// GroupRequantizer requantizes a GEMM whose K inputs fall into groups of
// different scales — k-scaled channel-wise activations feeding a GEMM, such
// as the SiLU output that feeds x_proj (DATAPATH.md §3.4). The MAC array
// keeps one int32 partial sum per group (K-tiles aligned to the groups) and
// the requantizer combines them with one rounding:
//
//	q = sat_Bits( (Σ_g acc_g·Mult[g] + 2^(Shift−1)) >> Shift + ZeroPoint )
//
// Mult[g] ≈ s_x[g]·s_w/s_out·2^Shift, all below 2^27.
type GroupRequantizer struct {
	Mult      []int32 `json:"mult"`
	Shift     int     `json:"shift"`
	ZeroPoint int32   `json:"zero_point"`
	Bits      int     `json:"bits"`
}

// Validate reports the first inconsistency of r.
func (r *GroupRequantizer) Validate() error {
	if len(r.Mult) == 0 || len(r.Mult) > MaxGroups {
		return fmt.Errorf("group requantizer: %d groups out of [1, %d]", len(r.Mult), MaxGroups)
	}
	for g, m := range r.Mult {
		if m < 0 || m >= 1<<GroupMultBits {
			return fmt.Errorf("group requantizer: multiplier %d = %d outside [0, 2^%d)", g, m, GroupMultBits)
		}
	}
	if r.Shift < 1 || r.Shift > 62 {
		return fmt.Errorf("group requantizer: shift %d out of [1, 62]", r.Shift)
	}
	if r.Bits < 2 || r.Bits > 32 {
		return fmt.Errorf("group requantizer: output width %d out of [2, 32]", r.Bits)
	}
	if lo, hi := satBounds(r.Bits); int64(r.ZeroPoint) < lo || int64(r.ZeroPoint) > hi {
		return fmt.Errorf("group requantizer: zero point %d outside %d bits", r.ZeroPoint, r.Bits)
	}
	return nil
}

// RequantizeGroups combines the per-group partial sums accs[g] (all of
// dst's shape) into dst. Each output counts one requantization and one MAC
// per group.
func RequantizeGroups[T Integer](dst Matrix[T], accs []Matrix[int32], r *GroupRequantizer, c *Counters) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if len(accs) != len(r.Mult) {
		return fmt.Errorf("group requantizer: %d partial sums for %d groups", len(accs), len(r.Mult))
	}
	if err := dst.valid("group requantizer: output"); err != nil {
		return err
	}
	for g, a := range accs {
		if err := a.check(fmt.Sprintf("group requantizer: partial sum %d", g), dst.Rows, dst.Cols); err != nil {
			return err
		}
	}
	if b := bitsOf[T](); r.Bits > b {
		return fmt.Errorf("group requantizer: %d-bit output into %d-bit elements", r.Bits, b)
	}
	// Per row: the first cols &^ 7 outputs by the assembly kernel where
	// the CPU has it, the rest (or all) in Go: Σ_g acc_g·Mult[g]
	// accumulated group by group over a row-sized buffer, rounded and
	// saturated.
	lo, hi := satBounds(r.Bits)
	sh := int64(r.Shift)
	rc := requantConsts{shift: &sh, zp: int64(r.ZeroPoint), lo: lo, hi: hi}
	rnd := int64(1) << (uint(sh-1) & 63)
	mult := make([]int64, len(accs))
	for g, m := range r.Mult {
		mult[g] = int64(m)
	}
	kernel := asmGroupRow(bitsOf[T]())
	rows := make([]*int32, len(accs))
	var sat int64
	sum := make([]int64, dst.Cols)
	for i := 0; i < dst.Rows; i++ {
		j0 := 0
		if kernel != nil && dst.Cols >= 8 {
			j0 = dst.Cols &^ 7
			for g, a := range accs {
				rows[g] = &a.Row(i)[0]
			}
			sat += kernel(unsafe.Pointer(&dst.Row(i)[0]), &rows[0], &mult[0], len(accs), j0, &rc)
		}
		s := sum[j0:]
		for j := range s {
			s[j] = rnd
		}
		for g, a := range accs {
			m := mult[g]
			row := a.Row(i)[j0:]
			row = row[:len(s)]
			for j, x := range row {
				s[j] += int64(x) * m
			}
		}
		out := dst.Row(i)[j0:]
		out = out[:len(s)]
		for j, v := range s {
			v = v>>(uint(sh)&63) + rc.zp
			vc := max(min(v, hi), lo)
			sat += b2i(vc != v)
			out[j] = T(vc)
		}
	}
	n := int64(len(dst.Data))
	c.add(Counters{Requants: n, MACs: n * int64(len(accs)), Saturations: sat})
	return nil
}

// GroupColumns returns, for each of groups groups, the indices of the
// columns c with group[c] = g, in increasing order.
func GroupColumns(group []uint8, groups int) ([][]int, error) {
	if groups <= 0 || groups > MaxGroups {
		return nil, fmt.Errorf("group columns: %d groups out of [1, %d]", groups, MaxGroups)
	}
	cols := make([][]int, groups)
	for c, g := range group {
		if int(g) >= groups {
			return nil, fmt.Errorf("group columns: column %d in group %d of %d", c, g, groups)
		}
		cols[g] = append(cols[g], c)
	}
	return cols, nil
}

// GatherColumns copies the columns cols of src, in that order, into dst
// (src.Rows × len(cols)).
func GatherColumns[T Integer](dst, src Matrix[T], cols []int) error {
	if err := src.valid("gather: input"); err != nil {
		return err
	}
	if err := dst.check("gather: output", src.Rows, len(cols)); err != nil {
		return err
	}
	for _, c := range cols {
		if c < 0 || c >= src.Cols {
			return fmt.Errorf("gather: column %d out of %d", c, src.Cols)
		}
	}
	for i := 0; i < src.Rows; i++ {
		in, out := src.Row(i), dst.Row(i)
		for j, c := range cols {
			out[j] = in[c]
		}
	}
	return nil
}

// Columns returns the weights restricted to the input columns cols, in that
// order: the K-slice of one input group.
func (w *Weights) Columns(cols []int) (*Weights, error) {
	if len(cols) == 0 {
		return nil, fmt.Errorf("weights: empty column selection")
	}
	data := make([]int8, w.N*len(cols))
	for j := 0; j < w.N; j++ {
		row := w.Data[j*w.K : (j+1)*w.K]
		for q, c := range cols {
			if c < 0 || c >= w.K {
				return nil, fmt.Errorf("weights: column %d out of %d", c, w.K)
			}
			data[j*len(cols)+q] = row[c]
		}
	}
	return newWeights(w.N, len(cols), data, w.Int4)
}

// groupRowKernel computes the first n outputs (n a multiple of 8) of a row
// of RequantizeGroups: rows[g] points at the row of partial sums of group g
// of k, mult[g] is its multiplier; c holds the shift (through c.shift), the
// zero point and the output range. It returns the saturations.
type groupRowKernel func(dst unsafe.Pointer, rows **int32, mult *int64, k, n int, c *requantConsts) (sat int64)
