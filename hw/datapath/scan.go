package datapath

import (
	"fmt"
	"math"
)

// Formats of the scan unit (DATAPATH.md §8).
const (
	// ScanStateBits is the width of the carried hidden state q (int8, one
	// scale s_h[t] per step, the paper's reparameterized state).
	ScanStateBits = 8
	// ScanHFrac and ScanHBits describe H, the un-rounded state that feeds
	// y: signed Q11.8 relative to s_h[t], 20 bits.
	ScanHFrac = 8
	ScanHBits = 20
	// ScanAccFrac is the number of fraction bits of the state-update
	// accumulator Hacc (relative to s_h[t]); it equals ExpOutFrac so that
	// Ā′·q needs no shift.
	ScanAccFrac = ExpOutFrac
	// ScanYBits is the width of y′, the SSM output (int8, k-scaled
	// token-wise with power-of-two group scales).
	ScanYBits = 8
	// ScanSkipBound bounds |V|, the D-skip sum, by construction of the
	// constants (Validate checks it): V fits a signed 25-bit register.
	ScanSkipBound = 1 << 23
	// GateBits and GateFrac describe the gated output of one direction:
	// int16 at the merge scale s_m·2^−7, one bit of headroom over the
	// merged range (DATAPATH.md §14.2).
	GateBits = 16
	GateFrac = 7
	// expZMin is an exponent-unit input small enough that the result is 0.
	expZMin = -64 << ExpInFrac
)

// ScanParams are the integer constants of one direction of one layer's
// selective scan (DATAPATH.md §8), all in scan order. They fold the
// reparameterization factors r_C, r_L (r_D is folded into x_proj by the
// quant package), the per-step state scales s_h[t] and every activation scale
// into per-channel and per-step multipliers; NewScanParams derives them.
type ScanParams struct {
	Channels int `json:"channels"` // E
	States   int `json:"states"`   // N
	Steps    int `json:"steps"`    // L

	// ANeg[d·N+n] = round(s_Δ[d]·(−A[d,n])·log2(e)·2^20) ≥ 0: the decay per
	// unit of the Δ code, in the exponent unit's input format.
	ANeg []int32 `json:"a_neg"`
	// StepLog2[t] = round(log2(sA[t]·s_h[t−1]/s_h[t])·2^20): the per-step
	// state requantization folded into the exponent (0 at t = 0).
	StepLog2 []int32 `json:"step_log2"`
	// UChan[d] ≈ s_Δ[d]·s_x[d]/r_C[d]·2^UChanNorm[d] and UStep[t] ≈
	// s_B/(r_L[t]·s_h[t]): the two stages of the input term Δ·B·x; the
	// second stage shifts right by UStep[t].Shift + UChanNorm[d] − 16.
	UChan     []Multiplier `json:"u_chan"`
	UChanNorm []int8       `json:"u_chan_norm"`
	UStep     []Multiplier `json:"u_step"`
	// YStep[t] ≈ s_h[t]·s_C·r_L[t]·2^−8/s_y0 requantizes y′ to token group 0;
	// token t adds the right shift GroupShift[TokenGroup[t]].
	YStep      []Multiplier `json:"y_step"`
	TokenGroup []uint8      `json:"token_group"`
	GroupShift []int8       `json:"group_shift"`
	// SkipD[d] ≈ D[d]·s_x[d]/(r_C[d]·s_y0)·2^SkipShift[d]: the D skip in the
	// y′ domain, with a per-channel binary point.
	SkipShift []int8  `json:"skip_shift"`
	SkipD     []int32 `json:"skip_d"`
	// Gate[d] ≈ r_C[d]·s_y0·2^−SkipShift[d]·s_z[d]·2^8/s_m: the gate
	// requantizer, with r_C folded.
	Gate []Multiplier `json:"gate"`
}

// Validate reports the first inconsistency of p, including constants that
// could overflow an intermediate register.
func (p *ScanParams) Validate() error {
	E, N, L := p.Channels, p.States, p.Steps
	if E <= 0 || N <= 0 || L <= 0 {
		return fmt.Errorf("scan params: shape E=%d N=%d L=%d must be positive", E, N, L)
	}
	lens := []struct {
		name      string
		got, want int
	}{
		{"a_neg", len(p.ANeg), E * N}, {"step_log2", len(p.StepLog2), L},
		{"u_chan", len(p.UChan), E}, {"u_chan_norm", len(p.UChanNorm), E}, {"u_step", len(p.UStep), L},
		{"y_step", len(p.YStep), L}, {"token_group", len(p.TokenGroup), L},
		{"skip_shift", len(p.SkipShift), E}, {"skip_d", len(p.SkipD), E}, {"gate", len(p.Gate), E},
	}
	for _, l := range lens {
		if l.got != l.want {
			return fmt.Errorf("scan params: %s has %d values, want %d", l.name, l.got, l.want)
		}
	}
	if len(p.GroupShift) == 0 {
		return fmt.Errorf("scan params: no token group shift")
	}
	for i, a := range p.ANeg {
		if a < 0 {
			return fmt.Errorf("scan params: a_neg[%d] = %d is negative", i, a)
		}
	}
	for t, c := range p.StepLog2 {
		if c > ExpZMax {
			return fmt.Errorf("scan params: step_log2[%d] = %d exceeds the exponent range %d", t, c, ExpZMax)
		}
	}
	mults := []struct {
		name string
		m    []Multiplier
	}{{"u_chan", p.UChan}, {"u_step", p.UStep}, {"y_step", p.YStep}, {"gate", p.Gate}}
	for _, ms := range mults {
		for i, m := range ms.m {
			if err := m.Valid(); err != nil {
				return fmt.Errorf("scan params: %s[%d]: %w", ms.name, i, err)
			}
		}
	}
	minNorm, minUStep := math.MaxInt, math.MaxInt
	for d, m := range p.UChan {
		// |Δ·x| ≤ 2^14 and the stage-1 factor ≤ 2^16 keep Y1 within 2^30.
		if int64(m.M) > int64(1)<<min(62, int(m.Shift)+16) {
			return fmt.Errorf("scan params: u_chan[%d] = %g exceeds 2^16", d, m.Float())
		}
		minNorm = min(minNorm, int(p.UChanNorm[d]))
	}
	for _, m := range p.UStep {
		minUStep = min(minUStep, int(m.Shift))
	}
	if minNorm+minUStep-ScanAccFrac < 1 {
		return fmt.Errorf("scan params: u_step shift %d + u_chan_norm %d − 16 < 1", minUStep, minNorm)
	}
	emax := math.MinInt
	for _, e := range p.GroupShift {
		emax = max(emax, int(e))
	}
	for t, g := range p.TokenGroup {
		if int(g) >= len(p.GroupShift) {
			return fmt.Errorf("scan params: token_group[%d] = %d out of %d groups", t, g, len(p.GroupShift))
		}
		if s := int(p.YStep[t].Shift) + int(p.GroupShift[g]); s < 1 {
			return fmt.Errorf("scan params: step %d: y shift %d < 1", t, s)
		}
	}
	for d := range p.SkipD {
		yb := int64(1) << (7 + max(0, emax+int(p.SkipShift[d])))
		db := 128 * abs64(int64(p.SkipD[d]))
		if emax+int(p.SkipShift[d]) > 22 || yb+db > ScanSkipBound {
			return fmt.Errorf("scan params: channel %d: D-skip sum can reach %d (> 2^23)", d, yb+db)
		}
	}
	return nil
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// ScanInputs are the int8 operands of one direction's scan, in scan order
// (the caller flips the sequence for the backward direction): X the SiLU
// conv output, Delta the softplus output (Δ), Z the gate SiLU(z), all L×E;
// B and C the x_proj outputs, L×N.
type ScanInputs struct {
	X, Delta, Z Matrix[int8]
	B, C        Matrix[int8]
}

// ScanTaps are optional outputs of intermediate tensors; a tap with nil Data
// is not written.
type ScanTaps struct {
	Y    Matrix[int8]  // y′, L×E, token-group scales s_y0·2^e_g
	Skip Matrix[int32] // V = y′ + D-skip, L×E, per-channel scale r_C[d]·s_y0·2^−SkipShift[d]
}

// Scan runs one direction of the selective scan with the SiLU(z) gate
// (DATAPATH.md §8) and writes the gated output, int16 at scale s_m·2^−7, to
// dst (L×E). For every step t and channel d:
//
//	Xu    = sat32(UStep[t].Apply(UChan[d].Apply(Δ·x, 0), UChanNorm[d] − 16))
//	per state n:
//	  Ā′  = Exp2(clamp(StepLog2[t] − Δ·ANeg[d,n]))            UQ8.16
//	  Hacc = Ā′·q[d,n] + Xu·B[t,n]                            Q.16 of s_h[t]
//	  q[d,n] = sat8(RoundShift(Hacc, 16))                     carried state
//	  H    = sat20(RoundShift(Hacc, 8))
//	  Yacc += H·C[t,n]                                        int32
//	y′    = sat8(YStep[t].Apply(Yacc, e_g(t)))
//	V     = ShiftRound(y′, e_g(t) + SkipShift[d]) + SkipD[d]·x
//	out   = sat16(Gate[d].Apply(V·z, 0))
func Scan(dst Matrix[int16], in ScanInputs, p *ScanParams, u *Exp2Unit, taps *ScanTaps, c *Counters) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if u == nil || len(u.segs) == 0 {
		return fmt.Errorf("scan: exponent unit not built by NewExp2Unit")
	}
	E, N, L := p.Channels, p.States, p.Steps
	for _, m := range []struct {
		name string
		m    Matrix[int8]
		cols int
	}{{"x", in.X, E}, {"delta", in.Delta, E}, {"z", in.Z, E}, {"b", in.B, N}, {"c", in.C, N}} {
		if err := m.m.check("scan: input "+m.name, L, m.cols); err != nil {
			return err
		}
	}
	if err := dst.check("scan: output", L, E); err != nil {
		return err
	}
	var tapY, tapV bool
	if taps != nil {
		if tapY = taps.Y.Data != nil; tapY {
			if err := taps.Y.check("scan: tap y", L, E); err != nil {
				return err
			}
		}
		if tapV = taps.Skip.Data != nil; tapV {
			if err := taps.Skip.check("scan: tap skip", L, E); err != nil {
				return err
			}
		}
	}
	state := make([]int8, E*N)
	var k Counters
	for t := 0; t < L; t++ {
		xr, dr, zr := in.X.Row(t), in.Delta.Row(t), in.Z.Row(t)
		br, cr := in.B.Row(t), in.C.Row(t)
		out := dst.Row(t)
		ct := int64(p.StepLog2[t])
		ustep := p.UStep[t]
		ystep := p.YStep[t]
		eg := int(p.GroupShift[p.TokenGroup[t]])
		for d := 0; d < E; d++ {
			delta, x := dr[d], xr[d]
			y1 := p.UChan[d].Apply(int32(delta)*int32(x), 0)
			xu64 := ustep.Apply(int32(y1), int(p.UChanNorm[d])-ScanAccFrac)
			xu, sat := clampInt32(xu64)
			k.Saturations += b2i(sat)
			sr := scanStates(state[d*N:(d+1)*N], p.ANeg[d*N:(d+1)*N], br, cr, u, ct, int64(delta), int64(xu), &k)
			yacc, over := clampWrap32(sr)
			k.Overflows += b2i(over)
			yq, sat := Saturate(ystep.Apply(yacc, eg), ScanYBits)
			k.Saturations += b2i(sat)
			v := ShiftRound(yq, eg+int(p.SkipShift[d])) + int64(p.SkipD[d])*int64(x)
			g := v * int64(zr[d]) // |g| ≤ 2^30
			o, sat := Saturate(p.Gate[d].Apply(int32(g), 0), GateBits)
			k.Saturations += b2i(sat)
			out[d] = int16(o)
			if tapY {
				taps.Y.Data[t*E+d] = int8(yq)
			}
			if tapV {
				taps.Skip.Data[t*E+d] = int32(v)
			}
		}
	}
	steps := int64(L) * int64(E)
	k.Exps += steps * int64(N)
	k.MACs += 4*steps*int64(N) + 3*steps
	k.Requants += 4 * steps
	c.add(k)
	return nil
}

// scanStates runs the N state lanes of one channel for one step and returns
// Σ_n H·C (exact). The exponent unit is inlined (same arithmetic as
// Exp2Unit.eval); z is formed exactly in int64, and every z below
// −26·2^20 gives 0 as in the unit.
func scanStates(q []int8, aneg []int32, b, cc []int8, u *Exp2Unit, ct, delta, xu int64, k *Counters) int64 {
	n := len(q)
	aneg, b, cc = aneg[:n], b[:n], cc[:n]
	segs := u.segs
	sh := uint(ExpInFrac - u.tableBits)
	mask := int64(1)<<sh - 1
	half := int64(1) << (sh - 1)
	const hmax = 1<<(ScanHBits-1) - 1
	var yacc, sat int64
	for i, qn := range q {
		z := ct - delta*int64(aneg[i])
		if z > ExpZMax {
			z = ExpZMax // only for Δ < 0: the decay would exceed the output range
			sat++
		}
		var a int64
		if s := ExpTableFrac - ExpOutFrac - (z >> ExpInFrac); s <= 40 {
			f := z & (1<<ExpInFrac - 1)
			sg := &segs[f>>sh]
			p := sg.base + (sg.slope*(f&mask)+half)>>sh
			a = (p + 1<<uint(s-1)) >> uint(s)
		}
		hacc := a*int64(qn) + xu*int64(b[i])
		s := (hacc + 1<<(ScanAccFrac-1)) >> ScanAccFrac
		if s > 127 {
			s, sat = 127, sat+1
		} else if s < -128 {
			s, sat = -128, sat+1
		}
		q[i] = int8(s)
		h := (hacc + 1<<(ScanAccFrac-ScanHFrac-1)) >> (ScanAccFrac - ScanHFrac)
		if h > hmax {
			h, sat = hmax, sat+1
		} else if h < -hmax-1 {
			h, sat = -hmax-1, sat+1
		}
		yacc += h * int64(cc[i])
	}
	k.Saturations += sat
	return yacc
}

// clampWrap32 wraps x to int32 (two's complement) and reports whether it
// overflowed.
func clampWrap32(x int64) (int32, bool) {
	return int32(x), x > math.MaxInt32 || x < math.MinInt32
}

// FlipRows writes the rows of src into dst in reverse order (dst row i = src
// row Rows−1−i): the sequence flip of the backward scan direction. dst and
// src must not overlap unless they are the same matrix.
func FlipRows[T Integer](dst, src Matrix[T]) error {
	if err := src.valid("flip: input"); err != nil {
		return err
	}
	if err := dst.check("flip: output", src.Rows, src.Cols); err != nil {
		return err
	}
	n := src.Rows
	tmp := make([]T, src.Cols)
	for i := 0; i < n/2; i++ {
		j := n - 1 - i
		copy(tmp, src.Row(i))
		copy(dst.Row(i), src.Row(j))
		copy(dst.Row(j), tmp)
	}
	if n%2 == 1 {
		copy(dst.Row(n/2), src.Row(n/2))
	}
	return nil
}

// Merge averages the gated outputs of the two directions, both in original
// token order (flip the backward output first), into the int8 input of
// out_proj at scale s_m (DATAPATH.md §9): m = sat8(RoundShift(f + b, 8)),
// the sum's halving and the removal of the 7 gate fraction bits in one
// rounding, ties toward +∞.
func Merge(dst Matrix[int8], fwd, bwd Matrix[int16], c *Counters) error {
	if err := fwd.valid("merge: forward"); err != nil {
		return err
	}
	if err := bwd.check("merge: backward", fwd.Rows, fwd.Cols); err != nil {
		return err
	}
	if err := dst.check("merge: output", fwd.Rows, fwd.Cols); err != nil {
		return err
	}
	var sat int64
	for i, f := range fwd.Data {
		v, s := Saturate(RoundShift(int64(f)+int64(bwd.Data[i]), GateFrac+1), 8)
		dst.Data[i] = int8(v)
		sat += b2i(s)
	}
	c.add(Counters{Saturations: sat})
	return nil
}

// ResidualAdd adds src to the residual stream dst, both int32 at the
// residual scale (DATAPATH.md §10), with saturation (counted).
func ResidualAdd(dst, src Matrix[int32], c *Counters) error {
	if err := src.valid("residual add: input"); err != nil {
		return err
	}
	if err := dst.check("residual add: residual", src.Rows, src.Cols); err != nil {
		return err
	}
	var sat int64
	for i, s := range src.Data {
		v, over := clampInt32(int64(dst.Data[i]) + int64(s))
		dst.Data[i] = v
		sat += b2i(over)
	}
	c.add(Counters{Saturations: sat})
	return nil
}
