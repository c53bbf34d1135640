package datapath

import (
	"fmt"
	"math"
	"math/bits"
)

// Formats of the norm unit (DATAPATH.md §7).
const (
	// RsqrtFrac is the number of fraction bits of the rsqrt mantissa r
	// (unsigned Q1.30): rsqrt(v) ≈ r·2^(−30−e).
	RsqrtFrac = 30
	// RsqrtSeedFrac is the number of fraction bits of the seed table
	// entries (unsigned Q1.15).
	RsqrtSeedFrac = 15
	// DefaultRsqrtTableBits gives the documented seed table: 3·2^5 = 96
	// entries over m ∈ [1, 4).
	DefaultRsqrtTableBits = 5
)

// NormUnit is the integer RMSNorm unit with its reciprocal-square-root seed
// table (DATAPATH.md §7). NewNormUnit builds it.
type NormUnit struct {
	tableBits int
	seed      []uint16 // 3·2^b entries: round(2^15 / sqrt(1 + (i + 1/2)/2^b))
}

// TableBits returns b; the seed table has 3·2^b entries.
func (u *NormUnit) TableBits() int { return u.tableBits }

// SeedTable returns a copy of the seed table (unsigned Q1.15), for ROM files.
func (u *NormUnit) SeedTable() []uint16 { return append([]uint16(nil), u.seed...) }

// Rsqrt returns r and e with 1/sqrt(v) ≈ r·2^(−30−e), for v ≥ 1:
// v = m·4^e with m ∈ [1, 4) held in Q2.30 (low bits truncated when v ≥
// 2^31), a Q1.15 seed r0 = seed[index of m], then one Newton step
// r = r0·(3 − m·r0²)/2 in Q1.30.
func (u *NormUnit) Rsqrt(v uint64) (r uint32, e int) {
	p := bits.Len64(v) - 1
	e = p >> 1
	var m uint64
	if 2*e <= 30 {
		m = v << uint(30-2*e)
	} else {
		m = v >> uint(2*e-30)
	}
	i := (m >> uint(30-u.tableBits)) - 1<<u.tableBits
	r0 := uint64(u.seed[i])
	t := (m*(r0*r0) + 1<<29) >> 30 // m·r0², Q2.30
	d := 3<<30 - t                 // 3 − m·r0², Q2.30
	r1 := (r0*d + 1<<15) >> 16     // r0·d/2, Q1.30
	return uint32(r1), e
}

// NormParams are the per-layer constants of an RMSNorm (DATAPATH.md §7):
// the quantized gain γ (GammaBits wide, one scale for the layer), the
// epsilon in the squared input domain multiplied by the row length, the
// output multiplier (which folds sqrt(D), the γ scale, the output scale and
// 2^−F with F = 31 − GammaBits), the output zero point and width.
// NewNormParams derives them from real scales.
type NormParams struct {
	Gamma     []int16    `json:"gamma"`
	GammaBits int        `json:"gamma_bits"`
	EpsD      int64      `json:"eps_d"`
	Out       Multiplier `json:"out"`
	ZeroPoint int32      `json:"zero_point"`
	Bits      int        `json:"bits"`
}

// Frac returns F = 31 − GammaBits, the fraction bits of the normalised value.
func (p *NormParams) Frac() int { return 31 - p.GammaBits }

// Validate reports the first inconsistency of p for rows of d channels.
func (p *NormParams) Validate(d int) error {
	if len(p.Gamma) != d {
		return fmt.Errorf("rmsnorm: %d gains for %d channels", len(p.Gamma), d)
	}
	if p.GammaBits < 2 || p.GammaBits > 16 {
		return fmt.Errorf("rmsnorm: gain width %d out of [2, 16]", p.GammaBits)
	}
	lo, hi := satBounds(p.GammaBits)
	for c, g := range p.Gamma {
		if int64(g) < lo || int64(g) > hi {
			return fmt.Errorf("rmsnorm: gain %d of channel %d outside %d bits", g, c, p.GammaBits)
		}
	}
	if p.EpsD < 0 {
		return fmt.Errorf("rmsnorm: negative epsilon %d", p.EpsD)
	}
	if p.Bits < 2 || p.Bits > 32 {
		return fmt.Errorf("rmsnorm: output width %d out of [2, 32]", p.Bits)
	}
	if lo, hi := satBounds(p.Bits); int64(p.ZeroPoint) < lo || int64(p.ZeroPoint) > hi {
		return fmt.Errorf("rmsnorm: zero point %d outside %d bits", p.ZeroPoint, p.Bits)
	}
	if err := p.Out.Valid(); err != nil {
		return fmt.Errorf("rmsnorm: output %w", err)
	}
	return nil
}

// RMSNorm normalises each row of x (one token of the residual stream, D
// channels, int32) into dst (DATAPATH.md §7):
//
//	v    = Σ_c x_c² + EpsD                          (uint64; saturates, an Overflow)
//	r, e = Rsqrt(v)
//	n_c  = RoundShift(x_c·r, 30 + e − F)            (|n_c| ≤ 2^F)
//	y_c  = sat_Bits(Out.Apply(n_c·γ_c) + ZeroPoint)
//
// A row with v = 0 gives ZeroPoint everywhere.
func RMSNorm[T Integer](dst Matrix[T], x Matrix[int32], u *NormUnit, p *NormParams, c *Counters) error {
	if u == nil || len(u.seed) == 0 {
		return fmt.Errorf("rmsnorm: norm unit not built by NewNormUnit")
	}
	if err := x.valid("rmsnorm: input"); err != nil {
		return err
	}
	if err := dst.check("rmsnorm: output", x.Rows, x.Cols); err != nil {
		return err
	}
	if err := p.Validate(x.Cols); err != nil {
		return err
	}
	if b := bitsOf[T](); p.Bits > b {
		return fmt.Errorf("rmsnorm: %d-bit output into %d-bit elements", p.Bits, b)
	}
	var k Counters
	F := p.Frac()
	// The output multiplier (Out.Apply(·, 0)), zero point and range.
	om, os := int64(p.Out.M), uint(p.Out.Shift)&63
	orn := int64(1) << (os - 1)
	zp := int64(p.ZeroPoint)
	lo, hi := satBounds(p.Bits)
	for i := 0; i < x.Rows; i++ {
		row, out := x.Row(i), dst.Row(i)
		var ss uint64
		over := false
		for _, v := range row {
			sq := uint64(int64(v) * int64(v))
			var carry uint64
			ss, carry = bits.Add64(ss, sq, 0)
			over = over || carry != 0
		}
		v, carry := bits.Add64(ss, uint64(p.EpsD), 0)
		if over || carry != 0 {
			v = math.MaxUint64
			k.Overflows++
		}
		if v == 0 {
			for j := range out {
				out[j] = T(p.ZeroPoint)
			}
			continue
		}
		r, e := u.Rsqrt(v)
		k.Rsqrts++
		k.LUTLookups++
		sh := uint(RsqrtFrac + e - F)
		var half int64 // RoundShift(·, sh), hoisted
		if sh > 0 {
			half = 1 << (sh - 1)
		}
		gamma, out := p.Gamma[:len(row)], out[:len(row)]
		var sat int64
		for j, xv := range row {
			n := (int64(xv)*int64(r) + half) >> (sh & 63)
			acc := n * int64(gamma[j]) // |acc| < 2^31 since |n| ≤ 2^F
			y := (int64(int32(acc))*om+orn)>>os + zp
			yc := max(min(y, hi), lo)
			sat += b2i(yc != y)
			out[j] = T(yc)
		}
		k.Saturations += sat
	}
	n := int64(len(x.Data))
	k.MACs += 3 * n
	k.Requants += n
	c.add(k)
	return nil
}

func newNormUnit(tableBits int, entry func(i int) uint16) (*NormUnit, error) {
	if tableBits < 1 || tableBits > 12 {
		return nil, fmt.Errorf("norm unit: table bits %d out of [1, 12]", tableBits)
	}
	u := &NormUnit{tableBits: tableBits, seed: make([]uint16, 3<<tableBits)}
	for i := range u.seed {
		u.seed[i] = entry(i)
	}
	return u, nil
}
