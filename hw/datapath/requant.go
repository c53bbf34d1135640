package datapath

import (
	"fmt"
	"math"
	"unsafe"
)

// Multiplier is a positive real scale factor in fixed point: the value
// M·2^(−Shift). A normalised multiplier has M in [2^30, 2^31) (31 significant
// bits, positive); M = 0 represents the scale 0. Shift is the total right
// shift, in [1, 63]. QuantizeMultiplier builds one from a real number.
//
// Applied to an integer x it computes (x·M + 2^(Shift−1)) >> Shift: one
// exact 64-bit product and a single rounding, to nearest with ties toward +∞
// (DATAPATH.md §3). This is TFLite's TFLITE_SINGLE_ROUNDING
// MultiplyByQuantizedMultiplier with quantized_multiplier = M and
// shift = 31 − Shift.
type Multiplier struct {
	M     int32 `json:"m"`
	Shift int8  `json:"shift"`
}

// Valid reports whether m is a well-formed multiplier.
func (m Multiplier) Valid() error {
	if m.Shift < 1 || m.Shift > 63 {
		return fmt.Errorf("multiplier shift %d out of [1, 63]", m.Shift)
	}
	if m.M != 0 && m.M < 1<<30 {
		return fmt.Errorf("multiplier mantissa %d not normalised to [2^30, 2^31)", m.M)
	}
	return nil
}

// Apply returns round(x·M·2^(−(Shift+extra))) with ties toward +∞, without
// saturation. extra is an additional right shift (a per-token group shift, a
// per-channel normalisation); the total shift must be at least 1 and is
// capped at 63, where every int32 x gives 0 exactly.
func (m Multiplier) Apply(x int32, extra int) int64 {
	s := int(m.Shift) + extra
	if s > 63 {
		s = 63
	}
	p := int64(x) * int64(m.M)
	return (p + 1<<uint(s-1)) >> uint(s)
}

// Requantizer converts int32 accumulators of a tokens×channels tensor to a
// narrower signed integer format (DATAPATH.md §3.3):
//
//	q[t,c] = sat_Bits( ((acc[t,c] + Bias[c]) · M_g + 2^(S−1)) >> S  + ZeroPoint )
//	g      = ChannelGroup[c]                      (0 if ChannelGroup is nil)
//	M_g    = Mult[g].M
//	S      = Mult[g].Shift + TokenShift[TokenGroup[t]]   (no token term if TokenGroup is nil)
//
// acc + Bias is formed exactly and saturated to int32 (an Overflow event) —
// in hardware the bias is preloaded into the 32-bit accumulator. A
// per-layer scale has one Mult; k-scaled channel-wise groups have k Mults and
// a group index per channel; a full per-channel scale has one Mult per
// channel with ChannelGroup[c] = c. The k-scaled token-wise groups with
// power-of-two related scales s_g = s_0·2^e_g have TokenShift[g] = e_g (a
// negative value multiplies by 2^−e_g).
type Requantizer struct {
	Mult         []Multiplier `json:"mult"`
	ChannelGroup []uint16     `json:"channel_group,omitempty"`
	TokenShift   []int8       `json:"token_shift,omitempty"`
	TokenGroup   []uint8      `json:"token_group,omitempty"`
	Bias         []int32      `json:"bias,omitempty"`
	ZeroPoint    int32        `json:"zero_point"`
	Bits         int          `json:"bits"`
}

// Validate reports the first inconsistency of r for a tokens×channels input.
func (r *Requantizer) Validate(tokens, channels int) error {
	if r.Bits < 2 || r.Bits > 32 {
		return fmt.Errorf("requantizer: output width %d out of [2, 32]", r.Bits)
	}
	if len(r.Mult) == 0 {
		return fmt.Errorf("requantizer: no multiplier")
	}
	for i, m := range r.Mult {
		if err := m.Valid(); err != nil {
			return fmt.Errorf("requantizer: multiplier %d: %w", i, err)
		}
	}
	if r.ChannelGroup == nil {
		if len(r.Mult) != 1 {
			return fmt.Errorf("requantizer: %d multipliers but no channel groups", len(r.Mult))
		}
	} else {
		if len(r.ChannelGroup) != channels {
			return fmt.Errorf("requantizer: %d channel groups for %d channels", len(r.ChannelGroup), channels)
		}
		for c, g := range r.ChannelGroup {
			if int(g) >= len(r.Mult) {
				return fmt.Errorf("requantizer: channel %d: group %d out of %d multipliers", c, g, len(r.Mult))
			}
		}
	}
	if r.Bias != nil && len(r.Bias) != channels {
		return fmt.Errorf("requantizer: %d biases for %d channels", len(r.Bias), channels)
	}
	lo, hi := satBounds(r.Bits)
	if int64(r.ZeroPoint) < lo || int64(r.ZeroPoint) > hi {
		return fmt.Errorf("requantizer: zero point %d outside the %d-bit range", r.ZeroPoint, r.Bits)
	}
	if r.TokenGroup == nil {
		if r.TokenShift != nil {
			return fmt.Errorf("requantizer: token shifts without token groups")
		}
		return nil
	}
	if len(r.TokenGroup) != tokens {
		return fmt.Errorf("requantizer: %d token groups for %d tokens", len(r.TokenGroup), tokens)
	}
	minS, maxS := 64, 0
	for _, m := range r.Mult {
		minS = min(minS, int(m.Shift))
		maxS = max(maxS, int(m.Shift))
	}
	for t, g := range r.TokenGroup {
		if int(g) >= len(r.TokenShift) {
			return fmt.Errorf("requantizer: token %d: group %d out of %d shifts", t, g, len(r.TokenShift))
		}
		if s := minS + int(r.TokenShift[g]); s < 1 {
			return fmt.Errorf("requantizer: token %d: total shift %d < 1", t, s)
		}
	}
	return nil
}

// At requantizes one accumulator of token t, channel ch, adding to c.
func (r *Requantizer) At(acc int32, t, ch int, c *Counters) int32 {
	var k Counters
	v := r.at(acc, t, ch, &k)
	c.add(k)
	return v
}

func (r *Requantizer) at(acc int32, t, ch int, k *Counters) int32 {
	a := int64(acc)
	if r.Bias != nil {
		a += int64(r.Bias[ch])
		if a > math.MaxInt32 || a < math.MinInt32 {
			a = max(min(a, math.MaxInt32), math.MinInt32)
			k.Overflows++
		}
	}
	m := r.Mult[0]
	if r.ChannelGroup != nil {
		m = r.Mult[r.ChannelGroup[ch]]
	}
	extra := 0
	if r.TokenGroup != nil {
		extra = int(r.TokenShift[r.TokenGroup[t]])
	}
	v := m.Apply(int32(a), extra) + int64(r.ZeroPoint)
	v, sat := Saturate(v, r.Bits)
	k.Requants++
	k.Saturations += b2i(sat)
	return int32(v)
}

// Requantize converts the tokens×channels accumulators acc (row t = token t)
// into dst, which must have acc's shape; T must be at least r.Bits wide.
// tokenOffset is the index of acc's first row in r.TokenGroup, so that a
// tensor can be requantized in row blocks.
func Requantize[T Integer](dst Matrix[T], acc Matrix[int32], r *Requantizer, tokenOffset int, c *Counters) error {
	if err := acc.valid("requantize: accumulators"); err != nil {
		return err
	}
	if err := dst.check("requantize: output", acc.Rows, acc.Cols); err != nil {
		return err
	}
	if b := bitsOf[T](); r.Bits > b {
		return fmt.Errorf("requantize: %d-bit output into %d-bit elements", r.Bits, b)
	}
	if r.TokenGroup != nil && (tokenOffset < 0 || tokenOffset+acc.Rows > len(r.TokenGroup)) {
		return fmt.Errorf("requantize: rows %d..%d outside %d token groups", tokenOffset, tokenOffset+acc.Rows, len(r.TokenGroup))
	}
	tokens := len(r.TokenGroup)
	if r.TokenGroup == nil {
		tokens = acc.Rows
	}
	if err := r.Validate(tokens, acc.Cols); err != nil {
		return err
	}
	// Per-channel mantissa, shift and bias, then one pass per row with the
	// row's token shift: the arithmetic of at.
	cols := acc.Cols
	mant, shift, bias := make([]int32, cols), make([]int64, cols), make([]int64, cols)
	for j := range cols {
		m := r.Mult[0]
		if r.ChannelGroup != nil {
			m = r.Mult[r.ChannelGroup[j]]
		}
		mant[j], shift[j] = m.M, int64(m.Shift)
		if r.Bias != nil {
			bias[j] = int64(r.Bias[j])
		}
	}
	lo, hi := satBounds(r.Bits)
	rc := requantConsts{zp: int64(r.ZeroPoint), lo: lo, hi: hi}
	if cols > 0 {
		rc.mant, rc.shift, rc.bias = &mant[0], &shift[0], &bias[0]
	}
	kernel := asmRequantRow(bitsOf[T]())
	var over, sat int64
	for i := 0; i < acc.Rows; i++ {
		var extra int64
		if r.TokenGroup != nil {
			extra = int64(r.TokenShift[r.TokenGroup[tokenOffset+i]])
		}
		src, out := acc.Row(i), dst.Row(i)
		j0 := 0
		if kernel != nil && cols >= 8 {
			j0 = cols &^ 7
			o, s := kernel(unsafe.Pointer(&out[0]), &src[0], j0, &rc, extra)
			over, sat = over+o, sat+s
		}
		o, s := requantRowGo(out[j0:], src[j0:], mant[j0:], shift[j0:], bias[j0:], &rc, extra)
		over, sat = over+o, sat+s
	}
	k := Counters{Requants: int64(len(acc.Data)), Overflows: over, Saturations: sat}
	c.add(k)
	return nil
}

// requantConsts are the per-channel constants of a Requantize call: the
// mantissa, the shift (without the token shift) and the bias of each
// channel, the zero point and the output range.
type requantConsts struct {
	mant        *int32
	shift, bias *int64
	zp, lo, hi  int64
}

// requantRowKernel requantizes the n accumulators at src into dst (n a
// multiple of 8), the constants starting at the same channel, with the
// row's token shift extra; it returns the overflows and saturations.
type requantRowKernel func(dst unsafe.Pointer, src *int32, n int, c *requantConsts, extra int64) (over, sat int64)

// requantRowGo is the Go form of the row kernel, on slices.
func requantRowGo[T Integer](out []T, src []int32, mant []int32, shift, bias []int64, c *requantConsts, extra int64) (over, sat int64) {
	out, mant, shift, bias = out[:len(src)], mant[:len(src)], shift[:len(src)], bias[:len(src)]
	for j, x := range src {
		a := int64(x) + bias[j]
		ac := max(min(a, math.MaxInt32), math.MinInt32)
		over += b2i(ac != a)
		s := uint(min(shift[j]+extra, 63)) & 63
		v := (ac*int64(mant[j])+1<<(s-1))>>s + c.zp
		vc := max(min(v, c.hi), c.lo)
		sat += b2i(vc != v)
		out[j] = T(vc)
	}
	return over, sat
}
