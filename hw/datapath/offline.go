package datapath

// This file holds the offline helpers: the only functions of the package that
// use floating point. They turn the real-valued scales chosen by the quant
// package into the integer constants and tables the run-time units consume,
// and they run once per model, never per inference.

import (
	"fmt"
	"math"
)

// QuantizeMultiplier returns the Multiplier closest to the real scale factor
// real (offline, float). real = 0 gives the zero multiplier; a real so small
// that every int32 input would map to 0 (below 2^−33) also gives the zero
// multiplier. It fails for a negative, non-finite or too large (≥ 2^30)
// factor. The mantissa is round(q·2^31) for real = q·2^e, q ∈ [0.5, 1), as
// TFLite's QuantizeMultiplier; the relative error is at most 2^−31.
func QuantizeMultiplier(real float64) (Multiplier, error) {
	switch {
	case math.IsNaN(real) || math.IsInf(real, 0):
		return Multiplier{}, fmt.Errorf("quantize multiplier: %g is not finite", real)
	case real < 0:
		return Multiplier{}, fmt.Errorf("quantize multiplier: %g is negative", real)
	case real == 0:
		return Multiplier{M: 0, Shift: 1}, nil
	}
	q, e := math.Frexp(real)
	m := int64(math.Round(q * (1 << 31)))
	if m == 1<<31 {
		m = 1 << 30
		e++
	}
	shift := 31 - e
	if shift < 1 {
		return Multiplier{}, fmt.Errorf("quantize multiplier: %g is too large (max 2^30)", real)
	}
	if shift > 63 {
		return Multiplier{M: 0, Shift: 1}, nil
	}
	return Multiplier{M: int32(m), Shift: int8(shift)}, nil
}

// Float returns the real value M·2^(−Shift) of m (offline, float).
func (m Multiplier) Float() float64 {
	return math.Ldexp(float64(m.M), -int(m.Shift))
}

// NewExp2Unit builds the exponent unit with a table of 2^tableBits + 1
// entries round(2^(i/2^tableBits)·2^30) (offline, float). DefaultExpTableBits
// is the documented configuration.
func NewExp2Unit(tableBits int) (*Exp2Unit, error) {
	return newExp2Unit(tableBits, func(i int) int64 {
		return int64(math.Round(math.Ldexp(math.Exp2(math.Ldexp(float64(i), -tableBits)), ExpTableFrac)))
	})
}

// SiLU is x·sigmoid(x), the reference function of the SiLU tables (offline,
// float).
func SiLU(x float64) float64 { return x / (1 + math.Exp(-x)) }

// Softplus is ln(1 + e^x) with PyTorch's threshold 20 (x > 20 gives x), the
// reference function of the softplus tables (offline, float).
func Softplus(x float64) float64 {
	if x > 20 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

// checkScale reports an error unless s is a positive finite scale.
func checkScale(name string, s float64) error {
	if !(s > 0) || math.IsInf(s, 0) {
		return fmt.Errorf("%s %g must be positive and finite", name, s)
	}
	return nil
}

// NewTable8 builds the exact table of f for int8 inputs of scale inScale and
// int8 outputs of scale outScale (offline, float): entry x is
// clamp(roundHalfEven(f(x·inScale)/outScale), −128, 127), the rounding of the
// fake-quant quantizer (ptq-method.md §2).
func NewTable8(f func(float64) float64, inScale, outScale float64) (*Table8, error) {
	if err := checkScale("table: input scale", inScale); err != nil {
		return nil, err
	}
	if err := checkScale("table: output scale", outScale); err != nil {
		return nil, err
	}
	t := new(Table8)
	for x := -128; x <= 127; x++ {
		v := math.RoundToEven(f(float64(x)*inScale) / outScale)
		if math.IsNaN(v) {
			return nil, fmt.Errorf("table: f(%g) is not a number", float64(x)*inScale)
		}
		q, sat := clampFloat(v, 8)
		t.Entries[uint8(int8(x))] = int8(q)
		t.Clamped[uint8(int8(x))] = sat
	}
	return t, nil
}

// NewSiLUTable builds the exact SiLU table (offline, float); see NewTable8.
func NewSiLUTable(inScale, outScale float64) (*Table8, error) {
	return NewTable8(SiLU, inScale, outScale)
}

// NewSoftplusTable builds the exact softplus table (offline, float); see
// NewTable8.
func NewSoftplusTable(inScale, outScale float64) (*Table8, error) {
	return NewTable8(Softplus, inScale, outScale)
}

// clampFloat clamps the integer-valued v to a signed bits-wide range.
func clampFloat(v float64, bits int) (int64, bool) {
	hi := math.Ldexp(1, bits-1) - 1
	lo := -hi - 1
	switch {
	case v > hi:
		return int64(hi), true
	case v < lo:
		return int64(lo), true
	}
	return int64(v), false
}

// NewInterpTable16 builds the interpolated table of f for int16 inputs of
// scale inScale and outBits-wide outputs (8 or 16) of scale outScale, with
// 2^tableBits + 1 entries (offline, float).
func NewInterpTable16(f func(float64) float64, inScale, outScale float64, tableBits, outBits int) (*InterpTable16, error) {
	if err := checkScale("interpolated table: input scale", inScale); err != nil {
		return nil, err
	}
	if err := checkScale("interpolated table: output scale", outScale); err != nil {
		return nil, err
	}
	t := &InterpTable16{TableBits: tableBits, Bits: outBits}
	if tableBits < 1 || tableBits > 16 || outBits < 2 || outBits > 16 {
		return nil, fmt.Errorf("interpolated table: table bits %d / output width %d out of range", tableBits, outBits)
	}
	t.Entries = make([]int32, 1<<tableBits+1)
	step := 1 << (16 - tableBits)
	for j := range t.Entries {
		x := float64(-32768+j*step) * inScale
		v := math.RoundToEven(math.Ldexp(f(x)/outScale, Interp16Frac))
		if math.IsNaN(v) {
			return nil, fmt.Errorf("interpolated table: f(%g) is not a number", x)
		}
		q, _ := clampFloat(v, outBits+Interp16Frac+1)
		t.Entries[j] = int32(q)
	}
	return t, t.Validate()
}

// NewNormUnit builds the RMSNorm unit with a seed table of 3·2^tableBits
// entries round(2^15/sqrt(1 + (i + 1/2)/2^tableBits)) (offline, float).
// DefaultRsqrtTableBits is the documented configuration.
func NewNormUnit(tableBits int) (*NormUnit, error) {
	return newNormUnit(tableBits, func(i int) uint16 {
		m := 1 + (float64(i)+0.5)/float64(int(1)<<tableBits)
		return uint16(math.Round(math.Ldexp(1/math.Sqrt(m), RsqrtSeedFrac)))
	})
}

// NewNormParams derives the RMSNorm constants (offline, float) for a layer
// of len(gamma) channels: gamma are the quantized gains (gammaBits wide) of
// scale gammaScale, inScale is the scale of the int32 input (the residual
// stream), outScale the scale of the output of width outBits (zero point 0),
// eps the epsilon of mean(x²) + eps.
func NewNormParams(gamma []int16, gammaBits int, gammaScale, inScale, outScale, eps float64, outBits int) (*NormParams, error) {
	for _, s := range []struct {
		name string
		v    float64
	}{{"gain scale", gammaScale}, {"input scale", inScale}, {"output scale", outScale}} {
		if err := checkScale("rmsnorm: "+s.name, s.v); err != nil {
			return nil, err
		}
	}
	if !(eps >= 0) || math.IsInf(eps, 0) {
		return nil, fmt.Errorf("rmsnorm: epsilon %g must be finite and non-negative", eps)
	}
	d := float64(len(gamma))
	p := &NormParams{Gamma: append([]int16(nil), gamma...), GammaBits: gammaBits, Bits: outBits}
	epsD := math.Round(d * eps / (inScale * inScale))
	if epsD > math.Ldexp(1, 62) {
		return nil, fmt.Errorf("rmsnorm: epsilon %g is %g in the squared input domain (max 2^62)", eps, epsD)
	}
	p.EpsD = int64(epsD)
	m, err := QuantizeMultiplier(math.Sqrt(d) * gammaScale / (outScale * math.Ldexp(1, p.Frac())))
	if err != nil {
		return nil, fmt.Errorf("rmsnorm: output %w", err)
	}
	p.Out = m
	return p, p.Validate(len(gamma))
}

// ScanScales are the real-valued quantities of one direction of one layer's
// scan, as the quant package determines them, from which NewScanParams
// derives the integer ScanParams. Per-channel slices have E values, per-step
// slices L values in scan order (flipped for the backward direction).
// Channel-grouped scales are given expanded to one value per channel.
type ScanScales struct {
	A          []float64 // E·N, A = −exp(A_log) ≤ 0, row d = channel
	D          []float64 // E, the skip weight
	RC         []float64 // E, reparameterization factor r_C; nil: all 1
	RL         []float64 // L, reparameterization factor r_L; nil: all 1
	StateScale []float64 // L, s_h[t] of the carried state h′
	StateBits  int       // width of the carried state: 8 (0 means 8) or 16
	DeltaScale []float64 // E, s_Δ of the softplus output
	XScale     []float64 // E, s_x of the SiLU conv output
	BScale     float64   // s_B of x_proj's B output (r_D folded into the weights)
	CScale     float64   // s_C of x_proj's C output
	YScale     float64   // s_y0, the scale of token group 0 of y′
	GroupShift []int     // e_g: group g has scale s_y0·2^e_g
	TokenGroup []int     // L, group of each step
	ZScale     []float64 // E, s_z of SiLU(z)
	MergeScale float64   // s_m, the scale of the merged int8 out_proj input
}

// NewScanParams derives the integer constants of a scan with E channels, N
// states and L steps from s (offline, float); DATAPATH.md §8.2 gives each
// formula. It fails when a constant would leave its register.
func NewScanParams(channels, states, steps int, s *ScanScales) (*ScanParams, error) {
	E, N, L := channels, states, steps
	if E <= 0 || N <= 0 || L <= 0 {
		return nil, fmt.Errorf("scan params: shape E=%d N=%d L=%d must be positive", E, N, L)
	}
	ones := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = 1
		}
		return v
	}
	rc, rl := s.RC, s.RL
	if rc == nil {
		rc = ones(E)
	}
	if rl == nil {
		rl = ones(L)
	}
	vecs := []struct {
		name string
		v    []float64
		n    int
	}{
		{"r_C", rc, E}, {"r_L", rl, L}, {"state scale", s.StateScale, L}, {"delta scale", s.DeltaScale, E},
		{"x scale", s.XScale, E}, {"z scale", s.ZScale, E},
	}
	for _, v := range vecs {
		if len(v.v) != v.n {
			return nil, fmt.Errorf("scan params: %s has %d values, want %d", v.name, len(v.v), v.n)
		}
		for i, x := range v.v {
			if err := checkScale(fmt.Sprintf("scan params: %s[%d]", v.name, i), x); err != nil {
				return nil, err
			}
		}
	}
	if len(s.A) != E*N || len(s.D) != E || len(s.TokenGroup) != L {
		return nil, fmt.Errorf("scan params: A/D/token groups have %d/%d/%d values, want %d/%d/%d",
			len(s.A), len(s.D), len(s.TokenGroup), E*N, E, L)
	}
	for _, sc := range []struct {
		name string
		v    float64
	}{{"B scale", s.BScale}, {"C scale", s.CScale}, {"y scale", s.YScale}, {"merge scale", s.MergeScale}} {
		if err := checkScale("scan params: "+sc.name, sc.v); err != nil {
			return nil, err
		}
	}
	if b := s.StateBits; b != 0 && b != ScanStateBits && b != ScanWideStateBits {
		return nil, fmt.Errorf("scan params: %d-bit state: the scan unit's state is int%d or int%d", b, ScanStateBits, ScanWideStateBits)
	}
	sf := stateFormat(s.StateBits)
	if len(s.GroupShift) == 0 || len(s.GroupShift) > 256 {
		return nil, fmt.Errorf("scan params: %d token groups out of [1, 256]", len(s.GroupShift))
	}
	p := &ScanParams{
		Channels: E, States: N, Steps: L,
		ANeg: make([]int32, E*N), StepLog2: make([]int32, L),
		UChan: make([]Multiplier, E), UChanNorm: make([]int8, E), UStep: make([]Multiplier, L),
		YStep: make([]Multiplier, L), TokenGroup: make([]uint8, L), GroupShift: make([]int8, len(s.GroupShift)),
		SkipShift: make([]int8, E), SkipD: make([]int32, E), Gate: make([]Multiplier, E),
	}
	if sf.Bits == ScanWideStateBits {
		p.StateBits = ScanWideStateBits
	}
	emax := math.MinInt
	for g, e := range s.GroupShift {
		if e < -32 || e > 32 {
			return nil, fmt.Errorf("scan params: group shift %d out of [-32, 32]", e)
		}
		p.GroupShift[g] = int8(e)
		emax = max(emax, e)
	}
	for t, g := range s.TokenGroup {
		if g < 0 || g >= len(s.GroupShift) {
			return nil, fmt.Errorf("scan params: step %d in group %d of %d", t, g, len(s.GroupShift))
		}
		p.TokenGroup[t] = uint8(g)
	}
	fix := func(v float64) float64 { return math.Round(math.Ldexp(v, ExpInFrac)) }
	for i, a := range s.A {
		if !(a <= 0) || math.IsInf(a, 0) {
			return nil, fmt.Errorf("scan params: A[%d] = %g must be finite and ≤ 0", i, a)
		}
		p.ANeg[i] = int32(math.Min(fix(s.DeltaScale[i/N]*(-a)*math.Log2E), math.MaxInt32))
	}
	for t := 1; t < L; t++ {
		ka := (rl[t-1] / rl[t]) * (s.StateScale[t-1] / s.StateScale[t])
		c := fix(math.Log2(ka))
		if c > ExpZMax {
			return nil, fmt.Errorf("scan params: step %d: state rescale %g ≥ 2^%d", t, ka, ExpOutInt)
		}
		p.StepLog2[t] = int32(math.Max(c, expZMin))
	}
	mult := func(what string, i int, v float64) (Multiplier, error) {
		m, err := QuantizeMultiplier(v)
		if err != nil {
			return m, fmt.Errorf("scan params: %s[%d]: %w", what, i, err)
		}
		return m, nil
	}
	var err error
	for d := 0; d < E; d++ {
		k1 := s.DeltaScale[d] * s.XScale[d] / rc[d]
		norm := 15 - int(math.Floor(math.Log2(k1)))
		if norm < -64 || norm > 64 {
			return nil, fmt.Errorf("scan params: channel %d: Δ·x factor %g out of range", d, k1)
		}
		p.UChanNorm[d] = int8(norm)
		if p.UChan[d], err = mult("u_chan", d, math.Ldexp(k1, norm)); err != nil {
			return nil, err
		}
		dp := s.D[d] * s.XScale[d] / (rc[d] * s.YScale)
		if math.IsNaN(dp) || math.IsInf(dp, 0) {
			return nil, fmt.Errorf("scan params: channel %d: D = %g is not finite", d, s.D[d])
		}
		fv := 15 - max(emax, 0)
		if dp != 0 {
			fv = min(fv, int(math.Floor(math.Log2(math.Ldexp(1, 15)/math.Abs(dp)))))
		}
		if fv < -64 {
			return nil, fmt.Errorf("scan params: channel %d: D-skip factor %g too large", d, dp)
		}
		p.SkipShift[d] = int8(fv)
		p.SkipD[d] = int32(math.Round(math.Ldexp(dp, fv)))
		gate := rc[d] * s.YScale * math.Ldexp(1, -fv) * s.ZScale[d] * math.Ldexp(1, GateFrac) / s.MergeScale
		if p.Gate[d], err = mult("gate", d, gate); err != nil {
			return nil, err
		}
	}
	for t := 0; t < L; t++ {
		if p.UStep[t], err = mult("u_step", t, math.Ldexp(s.BScale/(rl[t]*s.StateScale[t]), -sf.XuShift)); err != nil {
			return nil, err
		}
		if p.YStep[t], err = mult("y_step", t, s.StateScale[t]*s.CScale*rl[t]*math.Ldexp(1, -sf.HFrac)/s.YScale); err != nil {
			return nil, err
		}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// NewGroupRequantizer derives the mantissas and shared shift of a
// GroupRequantizer from the real factor of each group, s_x[g]·s_w/s_out
// (offline, float). The largest mantissa lies in [2^26, 2^27); a group whose
// factor is 2^20 times smaller than the largest keeps only 6 significant
// bits, which NewGroupRequantizer reports as an error.
func NewGroupRequantizer(reals []float64, bits int) (*GroupRequantizer, error) {
	if len(reals) == 0 || len(reals) > MaxGroups {
		return nil, fmt.Errorf("group requantizer: %d groups out of [1, %d]", len(reals), MaxGroups)
	}
	var top float64
	for g, v := range reals {
		if err := checkScale(fmt.Sprintf("group requantizer: factor %d", g), v); err != nil {
			return nil, err
		}
		top = math.Max(top, v)
	}
	_, e := math.Frexp(top) // top ∈ [2^(e−1), 2^e)
	shift := GroupMultBits - e
	if shift < 1 || shift > 62 {
		return nil, fmt.Errorf("group requantizer: factor %g out of range", top)
	}
	r := &GroupRequantizer{Mult: make([]int32, len(reals)), Shift: shift, Bits: bits}
	for g, v := range reals {
		m := math.Round(math.Ldexp(v, shift))
		if m >= 1<<GroupMultBits {
			m = 1<<GroupMultBits - 1 // top rounded up to 2^27: lose 2^−27
		}
		if v < top*math.Ldexp(1, -20) {
			return nil, fmt.Errorf("group requantizer: factor %d = %g is below 2^-20 of the largest %g", g, v, top)
		}
		r.Mult[g] = int32(m)
	}
	return r, r.Validate()
}
