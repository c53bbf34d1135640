package quant

import (
	"errors"
	"fmt"
	"math"
)

// Bit widths accepted for weights, activations and the hidden state.
const (
	MinBits = 4
	MaxBits = 8
)

// QRange returns the clamp range of a signed symmetric b-bit quantizer,
// [−2^(b−1), 2^(b−1)−1] (§2).
func QRange(bits int) (lo, hi float64) {
	h := math.Ldexp(1, bits-1)
	return -h, h - 1
}

// MinMaxScale returns the initial ("min-max") scale of a b-bit quantizer for
// a tensor whose largest magnitude is maxAbs: maxAbs / (2^(b−1) − 0.5) (§2).
// A zero, negative or non-finite maxAbs (an all-zero tensor) gives 1, so
// that every scale is positive and finite; the codes are 0 anyway.
func MinMaxScale(maxAbs float64, bits int) float64 {
	s := maxAbs / (math.Ldexp(1, bits-1) - 0.5)
	if !(s > 0) || math.IsInf(s, 0) {
		return 1
	}
	return s
}

// roundMagic is 1.5·2^52: for |x| ≤ 2^51, (x + roundMagic) − roundMagic is x
// rounded to the nearest integer, ties to even, in float64 arithmetic.
const roundMagic = 1.5 * (1 << 52)

// roundClamp returns clamp(round_half_even(x), lo, hi) for integer bounds.
// Clamping first is equivalent because lo and hi are integers, and it keeps
// x in the range where the magic-number rounding is exact.
func roundClamp(x, lo, hi float64) float64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return (x + roundMagic) - roundMagic
}

// Code returns the b-bit code of v at scale s: clamp(round(v/s)), rounding
// half to even as torch.round does (§2). s must be positive.
func Code(v, s float64, bits int) float64 {
	lo, hi := QRange(bits)
	return roundClamp(v/s, lo, hi)
}

// FakeQuant returns v quantized and dequantized at scale s: Code(v,s)·s.
func FakeQuant(v, s float64, bits int) float64 {
	return Code(v, s, bits) * s
}

// Axis is the axis along which the scales of an activation quantizer vary.
type Axis uint8

// Granularities of an activation quantizer.
const (
	PerTensor  Axis = iota // one scale for the whole tensor
	PerToken               // a scale per token group (k-scaled token-wise, or per token)
	PerChannel             // a scale per channel group (k-scaled channel-wise, or per channel)
)

// String returns "tensor", "token" or "channel".
func (a Axis) String() string {
	switch a {
	case PerToken:
		return "token"
	case PerChannel:
		return "channel"
	}
	return "tensor"
}

// parseAxis is the inverse of Axis.String.
func parseAxis(s string) (Axis, error) {
	switch s {
	case "tensor":
		return PerTensor, nil
	case "token":
		return PerToken, nil
	case "channel":
		return PerChannel, nil
	}
	return 0, fmt.Errorf("unknown axis %q (want tensor, token or channel)", s)
}

// ActQuant is a symmetric activation quantizer. A per-tensor quantizer has
// one scale. A grouped one assigns each token (PerToken) or channel
// (PerChannel) to one of len(Scales) groups by Group; k-scaled quantization
// has k groups, a full per-token or per-channel quantizer one group per
// index. When Exp is set the scales are power-of-two related:
// Scales[g] = Scales[0]·2^Exp[g] exactly (§4.1), so hardware needs one
// multiplier and a shift per group.
type ActQuant struct {
	Bits   int
	Axis   Axis
	Scales []float64
	Group  []int // len = tokens or channels; nil when PerTensor
	Exp    []int // nil unless the scales are power-of-two related
}

// K returns the number of scales.
func (q *ActQuant) K() int { return len(q.Scales) }

// Validate reports the first inconsistency of q for a tensor whose grouped
// axis has n entries (tokens or channels).
func (q *ActQuant) Validate(n int) error {
	if q.Bits < MinBits || q.Bits > MaxBits {
		return fmt.Errorf("%d bits out of [%d, %d]", q.Bits, MinBits, MaxBits)
	}
	if len(q.Scales) == 0 {
		return errors.New("no scale")
	}
	for g, s := range q.Scales {
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("scale %d = %g is not positive and finite", g, s)
		}
	}
	switch q.Axis {
	case PerTensor:
		if len(q.Scales) != 1 || q.Group != nil {
			return fmt.Errorf("per-tensor quantizer with %d scales and %d group entries", len(q.Scales), len(q.Group))
		}
	case PerToken, PerChannel:
		if len(q.Group) != n {
			return fmt.Errorf("%d group entries for %d %ss", len(q.Group), n, q.Axis)
		}
		for i, g := range q.Group {
			if g < 0 || g >= len(q.Scales) {
				return fmt.Errorf("%s %d: group %d out of %d", q.Axis, i, g, len(q.Scales))
			}
		}
	default:
		return fmt.Errorf("unknown axis %d", q.Axis)
	}
	if q.Exp != nil {
		if len(q.Exp) != len(q.Scales) || q.Exp[0] != 0 {
			return fmt.Errorf("%d power-of-two exponents for %d scales (first must be 0)", len(q.Exp), len(q.Scales))
		}
		for g, e := range q.Exp {
			if e < -60 || e > 60 {
				return fmt.Errorf("exponent %d = %d out of [-60, 60]", g, e)
			}
			if q.Scales[g] != math.Ldexp(q.Scales[0], e) {
				return fmt.Errorf("scale %d = %g is not scale 0 · 2^%d", g, q.Scales[g], e)
			}
		}
	}
	return nil
}

// clone returns a deep copy of q.
func (q *ActQuant) clone() *ActQuant {
	if q == nil {
		return nil
	}
	c := *q
	c.Scales = append([]float64(nil), q.Scales...)
	c.Group = append([]int(nil), q.Group...) // nil stays nil
	c.Exp = append([]int(nil), q.Exp...)
	return &c
}

// format describes q for tables: "int8 tensor", "int8 k4-channel",
// "int8 k4-token-p2".
func (q *ActQuant) format() string {
	if q == nil {
		return "float"
	}
	s := fmt.Sprintf("int%d ", q.Bits)
	if q.Axis == PerTensor {
		return s + "tensor"
	}
	s += fmt.Sprintf("k%d-%s", len(q.Scales), q.Axis)
	if q.Exp != nil {
		s += "-p2"
	}
	return s
}

// QWeight is a quantized weight matrix: integer codes and the scale of the
// whole tensor (len(Scales) = 1) or of each output row (len(Scales) = Rows).
// The dequantized weight is Codes[r·Cols+c]·Scales[r or 0].
type QWeight struct {
	Rows, Cols int
	Bits       int
	Codes      []int8
	Scales     []float64
}

// Validate reports the first inconsistency of w.
func (w *QWeight) Validate() error {
	if w.Rows <= 0 || w.Cols <= 0 {
		return fmt.Errorf("shape %dx%d", w.Rows, w.Cols)
	}
	if w.Bits < MinBits || w.Bits > MaxBits {
		return fmt.Errorf("%d bits out of [%d, %d]", w.Bits, MinBits, MaxBits)
	}
	if len(w.Codes) != w.Rows*w.Cols {
		return fmt.Errorf("%d codes for shape %dx%d", len(w.Codes), w.Rows, w.Cols)
	}
	if len(w.Scales) != 1 && len(w.Scales) != w.Rows {
		return fmt.Errorf("%d scales for %d rows (want 1 or %d)", len(w.Scales), w.Rows, w.Rows)
	}
	for i, s := range w.Scales {
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("scale %d = %g is not positive and finite", i, s)
		}
	}
	lo, hi := QRange(w.Bits)
	for i, c := range w.Codes {
		if float64(c) < lo || float64(c) > hi {
			return fmt.Errorf("code %d at (%d, %d) outside [%g, %g]", c, i/w.Cols, i%w.Cols, lo, hi)
		}
	}
	return nil
}

// PerChannel reports whether w has one scale per output row (a one-row
// matrix reports false: both readings are the same).
func (w *QWeight) PerChannel() bool { return len(w.Scales) > 1 }

// scale returns the scale of row r.
func (w *QWeight) scale(r int) float64 {
	if len(w.Scales) == 1 {
		return w.Scales[0]
	}
	return w.Scales[r]
}

// Dequantize returns the float weight Codes·Scales, row-major.
func (w *QWeight) Dequantize() []float64 {
	out := make([]float64, len(w.Codes))
	for r := 0; r < w.Rows; r++ {
		s := w.scale(r)
		for c := 0; c < w.Cols; c++ {
			out[r*w.Cols+c] = float64(w.Codes[r*w.Cols+c]) * s
		}
	}
	return out
}

// QuantizeWeight quantizes the rows×cols matrix w (row-major) with one scale
// (len(scales) = 1) or one per row.
func QuantizeWeight(w []float64, rows, cols, bits int, scales []float64) QWeight {
	q := QWeight{Rows: rows, Cols: cols, Bits: bits, Codes: make([]int8, len(w)),
		Scales: append([]float64(nil), scales...)}
	lo, hi := QRange(bits)
	for r := 0; r < rows; r++ {
		s := q.scale(r)
		for c := 0; c < cols; c++ {
			q.Codes[r*cols+c] = int8(roundClamp(w[r*cols+c]/s, lo, hi))
		}
	}
	return q
}

// WeightMinMax returns the min-max scales of the rows×cols matrix w: one for
// the tensor, or one per row when perChannel is set.
func WeightMinMax(w []float64, rows, cols, bits int, perChannel bool) []float64 {
	if !perChannel {
		return []float64{MinMaxScale(maxAbs(w), bits)}
	}
	s := make([]float64, rows)
	for r := range s {
		s[r] = MinMaxScale(maxAbs(w[r*cols:(r+1)*cols]), bits)
	}
	return s
}

// fakeQuantWeight writes w fake-quantized with the given scales (1 or one
// per row) to dst.
func fakeQuantWeight(dst, w []float64, rows, cols, bits int, scales []float64) {
	lo, hi := QRange(bits)
	for r := 0; r < rows; r++ {
		s := scales[0]
		if len(scales) > 1 {
			s = scales[r]
		}
		src, out := w[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols]
		for c, v := range src {
			out[c] = roundClamp(v/s, lo, hi) * s
		}
	}
}

// maxAbs returns max |v|, 0 for an empty slice.
func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		if a := math.Abs(x); a > m {
			m = a
		}
	}
	return m
}
