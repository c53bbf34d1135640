package datapath

import (
	"fmt"
	"math"
)

// Formats of the scan unit (DATAPATH.md §8).
const (
	// ScanStateBits is the default width of the carried hidden state q
	// (int8, one scale s_h[t] per step, the paper's reparameterized
	// state); ScanWideStateBits the other width the unit runs, int16
	// (ScanParams.StateBits, DATAPATH.md §8.6).
	ScanStateBits     = 8
	ScanWideStateBits = 16
	// ScanHFrac and ScanHBits describe H, the un-rounded state that feeds
	// y: signed 20 bits, Q11.8 relative to s_h[t] for the int8 state
	// (ScanHFrac fraction bits; Q19.0 relative to s_h[t] for the int16
	// state, whose LSB is 2^8 times finer: the same range and resolution).
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
	// StateBits is the width of the carried state: 8 (0 means 8) or 16.
	// It fixes the state's saturation, H's binary point and the alignment
	// of the input term (StateFormat).
	StateBits int `json:"state_bits,omitempty"`

	// ANeg[d·N+n] = round(s_Δ[d]·(−A[d,n])·log2(e)·2^20) ≥ 0: the decay per
	// unit of the Δ code, in the exponent unit's input format.
	ANeg []int32 `json:"a_neg"`
	// StepLog2[t] = round(log2(sA[t]·s_h[t−1]/s_h[t])·2^20): the per-step
	// state requantization folded into the exponent (0 at t = 0).
	StepLog2 []int32 `json:"step_log2"`
	// UChan[d] ≈ s_Δ[d]·s_x[d]/r_C[d]·2^UChanNorm[d] and UStep[t] ≈
	// s_B/(r_L[t]·s_h[t])·2^−XuShift: the two stages of the input term
	// Δ·B·x; the second stage shifts right by UStep[t].Shift +
	// UChanNorm[d] − 16.
	UChan     []Multiplier `json:"u_chan"`
	UChanNorm []int8       `json:"u_chan_norm"`
	UStep     []Multiplier `json:"u_step"`
	// YStep[t] ≈ s_h[t]·s_C·r_L[t]·2^−HFrac/s_y0 requantizes y′ to token group 0;
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

// StateFormat is the arithmetic of a carried-state width (DATAPATH.md
// §8.3, §8.6).
type StateFormat struct {
	// Bits is the width of the carried state q: 8 or 16.
	Bits int
	// HFrac is the number of fraction bits of H relative to s_h[t]: 8 for
	// the int8 state, 0 for the int16 one (H = RoundShift(Hacc, 16 −
	// HFrac)).
	HFrac int
	// XuShift aligns the input term: Hacc = Ā′·q + (Xu·B)·2^XuShift, 0 for
	// the int8 state, 8 for the int16 one (Xu keeps the int8 state's range
	// and the 32-bit register; UStep carries the 2^−XuShift).
	XuShift int
}

// StateFormat returns the arithmetic of p's carried state.
func (p *ScanParams) StateFormat() StateFormat { return stateFormat(p.StateBits) }

// stateFormat returns the format of a state of the given width (0: 8).
func stateFormat(bits int) StateFormat {
	if bits == ScanWideStateBits {
		return StateFormat{Bits: ScanWideStateBits, HFrac: ScanAccFrac - ScanWideStateBits, XuShift: ScanWideStateBits - ScanStateBits}
	}
	return StateFormat{Bits: ScanStateBits, HFrac: ScanHFrac}
}

// Validate reports the first inconsistency of p, including constants that
// could overflow an intermediate register.
func (p *ScanParams) Validate() error {
	E, N, L := p.Channels, p.States, p.Steps
	if E <= 0 || N <= 0 || L <= 0 {
		return fmt.Errorf("scan params: shape E=%d N=%d L=%d must be positive", E, N, L)
	}
	if b := p.StateBits; b != 0 && b != ScanStateBits && b != ScanWideStateBits {
		return fmt.Errorf("scan params: %d-bit state: the scan unit's state is int%d or int%d", b, ScanStateBits, ScanWideStateBits)
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
// dst (L×E). For every step t and channel d, with S = StateBits (8 or 16),
// X = S − 8 and F = 16 − S (StateFormat):
//
//	Xu    = sat32(UStep[t].Apply(UChan[d].Apply(Δ·x, 0), UChanNorm[d] − 16))
//	per state n:
//	  Ā′  = Exp2(clamp(StepLog2[t] − Δ·ANeg[d,n]))            UQ8.16
//	  Hacc = Ā′·q[d,n] + Xu·B[t,n]·2^X                        Q.16 of s_h[t]
//	  q[d,n] = satS(RoundShift(Hacc, 16))                     carried state
//	  H    = sat20(RoundShift(Hacc, 16 − F))                  Q.F of s_h[t]
//	  Yacc += H·C[t,n]                                        int32
//	y′    = sat8(YStep[t].Apply(Yacc, e_g(t)))
//	V     = ShiftRound(y′, e_g(t) + SkipShift[d]) + SkipD[d]·x
//	out   = sat16(Gate[d].Apply(V·z, 0))
func Scan(dst Matrix[int16], in ScanInputs, p *ScanParams, u *Exp2Unit, taps *ScanTaps, c *Counters) error {
	ks, ok := asmScanKernels()
	if !ok {
		ks = goScanKernels()
	}
	_, err := scan(dst, in, p, u, taps, c, ks)
	return err
}

// scan is Scan with the given kernels; it also returns the number of steps
// that ran the exact 64-bit states pass.
func scan(dst Matrix[int16], in ScanInputs, p *ScanParams, u *Exp2Unit, taps *ScanTaps, c *Counters, ks scanKernels) (wideSteps int, err error) {
	if err := p.Validate(); err != nil {
		return 0, err
	}
	if u == nil || len(u.segs) == 0 {
		return 0, fmt.Errorf("scan: exponent unit not built by NewExp2Unit")
	}
	E, N, L := p.Channels, p.States, p.Steps
	for _, m := range []struct {
		name string
		m    Matrix[int8]
		cols int
	}{{"x", in.X, E}, {"delta", in.Delta, E}, {"z", in.Z, E}, {"b", in.B, N}, {"c", in.C, N}} {
		if err := m.m.check("scan: input "+m.name, L, m.cols); err != nil {
			return 0, err
		}
	}
	if err := dst.check("scan: output", L, E); err != nil {
		return 0, err
	}
	var tapY, tapV bool
	if taps != nil {
		if tapY = taps.Y.Data != nil; tapY {
			if err := taps.Y.check("scan: tap y", L, E); err != nil {
				return 0, err
			}
		}
		if tapV = taps.Skip.Data != nil; tapV {
			if err := taps.Skip.check("scan: tap skip", L, E); err != nil {
				return 0, err
			}
		}
	}
	// Channels padded to whole kernel blocks; the pad lanes have zero inputs
	// and constants that map zero to zero.
	e := (E + scanLanes - 1) / scanLanes * scanLanes
	u1M, skipD, gM := make([]int32, e), make([]int32, e), make([]int32, e)
	u1Rnd, u1Sh, norm := make([]int64, e), make([]int64, e), make([]int64, e)
	skipShift, gRnd, gSh := make([]int64, e), make([]int64, e), make([]int64, e)
	for d := 0; d < e; d++ {
		u1Sh[d], gSh[d] = 1, 1
		if d >= E {
			continue
		}
		u1M[d], u1Sh[d], u1Rnd[d] = p.UChan[d].M, int64(p.UChan[d].Shift), 1<<(p.UChan[d].Shift-1)
		norm[d] = int64(p.UChanNorm[d]) - ScanAccFrac
		skipShift[d], skipD[d] = int64(p.SkipShift[d]), p.SkipD[d]
		gM[d], gSh[d], gRnd[d] = p.Gate[d].M, int64(p.Gate[d].Shift), 1<<(p.Gate[d].Shift-1)
	}
	aneg := make([]int32, N*e) // transposed: row n is state n of every channel
	var maxANeg int64
	for d := 0; d < E; d++ {
		for n := 0; n < N; n++ {
			aneg[n*e+d] = p.ANeg[d*N+n]
			maxANeg = max(maxANeg, int64(p.ANeg[d*N+n]))
		}
	}
	// wide: the 32-bit states pass cannot be used at all (it is written
	// for the int8 state; an int16 state runs the exact pass).
	sf := p.StateFormat()
	wide := N > scanMaxN || u.base == nil || 127*maxANeg > scanMaxDA || sf.Bits != ScanStateBits
	q := make([]int8, N*e)
	var q16 []int16
	if sf.Bits == ScanWideStateBits {
		q16 = make([]int16, N*e)
	}
	bc := make([]int32, 2*N)
	xu, yacc, v := make([]int32, e), make([]int32, e), make([]int32, e)
	yq := make([]int8, e)
	out := make([]int16, e)
	rows := make([]int8, 3*e) // Δ, x, z of the step, padded
	a := &scanArgs{e: e, n: N, delta: &rows[0], x: &rows[e], z: &rows[2*e], bc: &bc[0],
		u1M: &u1M[0], u1Rnd: &u1Rnd[0], u1Sh: &u1Sh[0], norm: &norm[0],
		skipShift: &skipShift[0], skipD: &skipD[0], gM: &gM[0], gRnd: &gRnd[0], gSh: &gSh[0],
		q: &q[0], aneg: &aneg[0], xu: &xu[0], yacc: &yacc[0], out: &out[0], yq: &yq[0], v: &v[0]}
	if !wide {
		a.base, a.slope = &u.base[0], &u.slope[0]
	}
	var k Counters
	for t := 0; t < L; t++ {
		copy(rows[:E], in.Delta.Row(t))
		copy(rows[e:e+E], in.X.Row(t))
		copy(rows[2*e:2*e+E], in.Z.Row(t))
		br, cr := in.B.Row(t), in.C.Row(t)
		for i := range br {
			bc[2*i], bc[2*i+1] = int32(br[i]), int32(cr[i])
		}
		eg := int64(p.GroupShift[p.TokenGroup[t]])
		a.ct = int64(p.StepLog2[t])
		a.utM, a.utSh = int64(p.UStep[t].M), int64(p.UStep[t].Shift)
		a.yM, a.ySh, a.eg = int64(p.YStep[t].M), min(int64(p.YStep[t].Shift)+eg, 63), eg
		sat, fits := ks.xu(a)
		k.Saturations += sat
		if fits && !wide && a.ct < scanZLimit && a.ct-127*maxANeg >= math.MinInt32 {
			k.Saturations += ks.states(a)
		} else {
			wideSteps++
			for d := 0; d < E; d++ {
				var s int64
				if q16 != nil {
					s = scanStates(q16[d:], aneg[d:], e, br, cr, u, a.ct, int64(rows[d]), int64(xu[d]), sf, &k)
				} else {
					s = scanStates(q[d:], aneg[d:], e, br, cr, u, a.ct, int64(rows[d]), int64(xu[d]), sf, &k)
				}
				ya, over := clampWrap32(s)
				k.Overflows += b2i(over)
				yacc[d] = ya
			}
		}
		k.Saturations += ks.out(a)
		copy(dst.Row(t), out[:E])
		if tapY {
			copy(taps.Y.Row(t), yq[:E])
		}
		if tapV {
			copy(taps.Skip.Row(t), v[:E])
		}
	}
	steps := int64(L) * int64(E)
	k.Exps += steps * int64(N)
	k.MACs += 4*steps*int64(N) + 3*steps
	k.Requants += 4 * steps
	c.add(k)
	return wideSteps, nil
}

// scanStates runs the N state lanes of one channel for one step and returns
// Σ_n H·C (exact): the exact 64-bit form of the states pass, for steps
// outside the 32-bit bounds and for the int16 state (sf). State n of the
// channel is q[n·stride] with its decay aneg[n·stride]. The exponent unit
// is inlined (same arithmetic as Exp2Unit.eval); z is formed exactly in
// int64, and every z below −26·2^20 gives 0 as in the unit. Hacc stays
// below 2^47 in magnitude (DATAPATH.md §8.6).
func scanStates[T int8 | int16](q []T, aneg []int32, stride int, b, cc []int8, u *Exp2Unit, ct, delta, xu int64, sf StateFormat, k *Counters) int64 {
	n := len(b)
	cc = cc[:n]
	segs := u.segs
	sh := uint(ExpInFrac - u.tableBits)
	mask := int64(1)<<sh - 1
	half := int64(1) << (sh - 1)
	const hmax = 1<<(ScanHBits-1) - 1
	qmax := int64(1)<<(sf.Bits-1) - 1
	hsh := uint(ScanAccFrac - sf.HFrac)
	xs := uint(sf.XuShift)
	var yacc, sat int64
	for i := range b {
		qn := q[i*stride]
		z := ct - delta*int64(aneg[i*stride])
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
		hacc := a*int64(qn) + xu*int64(b[i])<<xs
		s := (hacc + 1<<(ScanAccFrac-1)) >> ScanAccFrac
		if s > qmax {
			s, sat = qmax, sat+1
		} else if s < -qmax-1 {
			s, sat = -qmax-1, sat+1
		}
		q[i*stride] = T(s)
		h := (hacc + 1<<(hsh-1)) >> hsh
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
	bd, out := bwd.Data[:len(fwd.Data)], dst.Data[:len(fwd.Data)]
	for i, f := range fwd.Data {
		v := (int32(f) + int32(bd[i]) + 1<<GateFrac) >> (GateFrac + 1)
		vc := max(min(v, 127), -128)
		sat += b2i(vc != v)
		out[i] = int8(vc)
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
	d := dst.Data[:len(src.Data)]
	for i, s := range src.Data {
		v := int64(d[i]) + int64(s)
		vc := max(min(v, math.MaxInt32), math.MinInt32)
		sat += b2i(vc != v)
		d[i] = int32(vc)
	}
	c.add(Counters{Saturations: sat})
	return nil
}
