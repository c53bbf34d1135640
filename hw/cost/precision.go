package cost

import (
	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/quant/intprog"
)

// Widths are the storage widths in bits of an op's values as the cost
// model prices them (docs/PERFMODEL.md §3): In of its activation inputs,
// Weight of its weights, Out of its outputs. Values of 1 to 8 bits are
// packed densely (two int4 weights to a byte; a 6-bit code takes 6 bits);
// a format wider than 8 bits (the int16/int32 residual stream, the gated
// scan output) or absent is priced as one byte per value, as the model
// always priced activations.
type Widths struct {
	In, Weight, Out int
}

// int8Widths are the widths of the uniform int8 datapath.
var int8Widths = Widths{In: 8, Weight: 8, Out: 8}

// storageBits is the width f is priced at: its bits when 1 to 8, else 8.
func storageBits(f intprog.Format) int {
	if f.Bits >= 1 && f.Bits < 8 {
		return f.Bits
	}
	return 8
}

// widthsOf returns the storage widths of op's formats.
func widthsOf(op *intprog.Op) Widths {
	return Widths{In: storageBits(op.Format.In), Weight: storageBits(op.Format.Weight), Out: storageBits(op.Format.Out)}
}

// packed is the number of bytes n values of the given width take packed.
func packed(n int64, bits int) int64 {
	if bits == 8 {
		return n
	}
	return ceilDiv(n*int64(bits), 8)
}

// macBits is the multiplier port an operand of the given storage width
// uses: 4 bits for values of up to 4 bits, else 8 (a 5- to 8-bit code is
// sign-extended into the int8 port).
func macBits(bits int) int {
	if bits <= 4 {
		return 4
	}
	return 8
}

// macClass is the multiplier of a MAC whose operands are a and w bits wide
// (storage widths): 8×8, one 4-bit operand, or 4×4.
func macClass(a, w int) primitive {
	switch a, w := macBits(a), macBits(w); {
	case a == 8 && w == 8:
		return primMAC8
	case a == 4 && w == 4:
		return primMAC4
	}
	return primMAC4x8
}

// classBits returns the operand widths of a MAC class (the narrower first).
func classBits(q primitive) (a, w int) {
	switch q {
	case primMAC4x8:
		return 4, 8
	case primMAC4:
		return 4, 4
	}
	return 8, 8
}

// addMACs adds n MACs of class q to the counters.
func (a *Actions) addMACs(q primitive, n int64) {
	switch q {
	case primMAC4x8:
		a.MAC4x8 += n
	case primMAC4:
		a.MAC4 += n
	default:
		a.MAC8 += n
	}
}

// Precision is what an op list asks of the hardware: the widest MAC class
// of the array and of the depthwise-convolution lanes (the PEs are built
// for it, and their leakage, area and DSP packing follow it) and the widest
// carried scan state in bits. A shape-only list (intprog.Lower) asks for
// the int8 datapath.
type Precision struct {
	// ArrayMAC and ConvMAC are "int8" (8×8), "int4x8" (one 4-bit operand)
	// or "int4" (4×4).
	ArrayMAC  string `json:"array_mac"`
	ConvMAC   string `json:"dwconv_mac"`
	StateBits int    `json:"scan_state_bits"`
	// ArrayAreaMM2 is the area of the array's MACs at 45 nm
	// (arch.MACAreaUM2 of the class, times the PEs).
	ArrayAreaMM2 float64 `json:"array_mac_area_mm2"`

	array, conv primitive
}

// macName names a MAC class.
func macName(q primitive) string {
	switch q {
	case primMAC4x8:
		return "int4x8"
	case primMAC4:
		return "int4"
	}
	return "int8"
}

// wider reports whether class q has more bit products than r.
func wider(q, r primitive) bool {
	qa, qw := classBits(q)
	ra, rw := classBits(r)
	return qa*qw > ra*rw
}

// precisionOf returns the hardware precision the ops need: the widest
// class over the GEMMs (convolutions), int8 when there are none; the
// state is at least 8 bits.
func precisionOf(ops []intprog.Op) Precision {
	p := Precision{array: primMAC4, conv: primMAC4, StateBits: 8}
	seen := [2]bool{}
	for i := range ops {
		op := &ops[i]
		w := widthsOf(op)
		switch op.Kind {
		case intprog.KindGEMM, intprog.KindDWConv:
			q, dst := macClass(w.In, w.Weight), &p.array
			k := 0
			if op.Kind == intprog.KindDWConv {
				dst, k = &p.conv, 1
			}
			if !seen[k] || wider(q, *dst) {
				*dst = q
			}
			seen[k] = true
		case intprog.KindScan:
			p.StateBits = max(p.StateBits, op.Format.State.Bits)
		}
	}
	if !seen[0] {
		p.array = primMAC8
	}
	if !seen[1] {
		p.conv = primMAC8
	}
	p.ArrayMAC, p.ConvMAC = macName(p.array), macName(p.conv)
	return p
}

// scanBits is the width of a scan lane's arithmetic for a carried state of
// stateBits: the spec's scan.bits, or the state's width when wider (an
// int16 state on 8-bit lanes widens the state multipliers and adders).
func scanBits(s arch.Spec, stateBits int) int { return max(s.Scan.Bits, stateBits) }
