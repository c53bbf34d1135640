package cost

import (
	"fmt"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/quant/intprog"
)

// Resource model coefficients (docs/PERFMODEL.md §FPGA). LUT figures are
// estimates for an HLS/RTL design of this organisation, not synthesis
// results.
const (
	lutPerPE         = 40    // operand forwarding muxes, control, requant share
	lutPerPEFabric   = 94    // packing none: accumulate adder and drain mux in fabric (Yosys, hw/rtl)
	lutPerScanLane   = 600   // exp table + shift, adders, state muxing
	lutPerVectorLane = 150   // LUT-interpolation datapath
	lutPerNormLane   = 200   // square/accumulate/scale
	lutPerConvLane   = 40    // one tap multiplier's glue
	lutBase          = 20000 // DMA, AXI interconnect, controller
	dspPerScanLane   = 4     // Δ·A, dA·h, B·(Δu), C·h multipliers
	dspPerNormLane   = 2     // x², x·rsqrt·w
	bram36Bytes      = 4096  // 36 Kb at ×8 data width (parity unused)
	uramBytes        = 32768 // 288 Kb at ×64
	bram36PortBits   = 72
	uramPortBits     = 72
)

// Resources is the FPGA resource estimate of a spec on a board.
type Resources struct {
	Board    string  `json:"board"`
	Packing  string  `json:"dsp_packing"`
	DSP      int64   `json:"dsp"`
	BRAM36   int64   `json:"bram36"`
	URAM     int64   `json:"uram"`
	LUT      int64   `json:"lut"`
	DSPUtil  float64 `json:"dsp_util"`
	BRAMUtil float64 `json:"bram_util"`
	URAMUtil float64 `json:"uram_util"`
	LUTUtil  float64 `json:"lut_util"`
	Fits     bool    `json:"fits"`
	// Limit names the most used resource.
	Limit string `json:"limit"`
}

// MaxUtil is the utilisation of the most used resource.
func (r Resources) MaxUtil() float64 {
	return max(r.DSPUtil, r.BRAMUtil, r.URAMUtil, r.LUTUtil)
}

// memBlocks places one buffer of the given bytes, read widthBits per cycle
// (doubled when double-buffered), in URAM when the board has it and the
// buffer is at least one URAM deep, else in BRAM36.
func memBlocks(b arch.Board, bytes int64, widthBits int, double bool, uramLeft *int64) (bram, uram int64) {
	if bytes <= 0 {
		return 0, 0
	}
	banks := int64(1)
	if double {
		banks = 2
	}
	if *uramLeft > 0 && bytes >= uramBytes {
		n := max(ceilDiv(bytes, uramBytes), banks*ceilDiv(int64(widthBits), uramPortBits))
		if n <= *uramLeft {
			*uramLeft -= n
			return 0, n
		}
	}
	return max(ceilDiv(bytes, bram36Bytes), banks*ceilDiv(int64(widthBits), bram36PortBits)), 0
}

// MACsPerDSP is how many MACs of the class mac ("int8", "int4x8" or
// "int4", Precision) one DSP slice performs per cycle with packing p:
// none 1; dual 2 for int8 and int4×int8 — AMD WP486 ("Deep Learning with
// INT8 Optimization on Xilinx Devices"): two products sharing one operand
// in a DSP48E2's 27×18 multiplier, which two 4-bit weights fit as well as
// two 8-bit ones — and 4 for int4×int4, AMD WP521 ("Convolutional Neural
// Network with INT4 Optimization on Xilinx Devices": four 4-bit MACs per
// DSP48E2); dot3 3, the DSP58's INT8 three-element dot product (Versal),
// which has no narrower mode.
func MACsPerDSP(p arch.DSPPacking, mac string) int {
	if p == "" {
		p = arch.PackDual
	}
	if p == arch.PackDual && mac == macName(primMAC4) {
		return 4
	}
	return p.MACsPerDSP()
}

// EstimateResources estimates the DSP, BRAM36, URAM and LUT use of s on its
// FPGA target (s.FPGA.Board must be set). ops, if given, give the MAC
// widths that set the DSP packing (int8 when absent) and size the scan
// state memory (E·N states of the lane width).
func EstimateResources(s arch.Spec, ops []intprog.Op) (Resources, error) {
	if err := s.Validate(); err != nil {
		return Resources{}, err
	}
	if s.FPGA.Board == "" {
		return Resources{}, fmt.Errorf("spec %s: fpga.board is not set", s.Name)
	}
	b, err := arch.LookupBoard(s.FPGA.Board)
	if err != nil {
		return Resources{}, err
	}
	pack := s.FPGA.DSPPacking
	if pack == "" {
		pack = arch.PackDual
	}
	r := Resources{Board: b.Name, Packing: string(pack)}
	prec := precisionOf(ops)
	// DSPs: array and depthwise conv MACs packed at the widths the ops
	// need; scan, vector, norm lanes one multiplier per DSP (16/32-bit
	// operands do not pack).
	r.DSP = ceilDiv(int64(s.PEs()), int64(MACsPerDSP(pack, prec.ArrayMAC))) +
		ceilDiv(int64(s.DWConv.Lanes), int64(MACsPerDSP(pack, prec.ConvMAC))) +
		dspPerScanLane*int64(s.Scan.Lanes) + int64(s.Vector.Lanes) + dspPerNormLane*int64(s.Norm.Lanes)
	// Memories: buffers sized by the spec, banked for their port widths.
	uramLeft := int64(b.URAM)
	inWidth, wWidth, outWidth, actWidth := s.BufferWidths()
	for _, m := range []struct {
		kib, width int
		double     bool
	}{
		{s.Buffers.IfmapKiB, inWidth, s.Buffers.DoubleBuffered},
		{s.Buffers.FilterKiB, wWidth, s.Buffers.DoubleBuffered},
		{s.Buffers.OfmapKiB, outWidth, s.Buffers.DoubleBuffered},
		{s.Buffers.ActKiB, actWidth, false},
	} {
		br, ur := memBlocks(b, int64(m.kib)*1024, m.width, m.double, &uramLeft)
		r.BRAM36 += br
		r.URAM += ur
	}
	// Scan state: E·N states of the lane width (scan.bits, or the
	// program's state when wider), one bank per lane.
	var states int64
	for _, op := range ops {
		if op.Kind == intprog.KindScan {
			states = max(states, int64(op.N)*int64(op.K))
		}
	}
	if states > 0 {
		sb := scanBits(s, prec.StateBits)
		br, ur := memBlocks(b, states*int64(sb)/8, s.Scan.Lanes*sb, false, &uramLeft)
		r.BRAM36 += br
		r.URAM += ur
	}
	// Nonlinear tables: one dual-port BRAM36 per two vector lanes.
	r.BRAM36 += ceilDiv(int64(s.Vector.Lanes), 2)
	// A packed design instantiates DSPs in MAC mode, whose ALU and P
	// register hold the accumulator; one inferred product per DSP (packing
	// none, as hw/rtl's systolic_pe synthesizes) leaves the 32-bit
	// accumulate adder and the drain multiplexer in fabric: Yosys maps the
	// 16×16 array to 24,068 LUTs on UltraScale+ (docs/RTL.md §10).
	lutPE := int64(lutPerPE)
	if pack == arch.PackNone {
		lutPE = lutPerPEFabric
	}
	r.LUT = lutBase + lutPE*int64(s.PEs()) + lutPerScanLane*int64(s.Scan.Lanes) +
		lutPerVectorLane*int64(s.Vector.Lanes) + lutPerNormLane*int64(s.Norm.Lanes) + lutPerConvLane*int64(s.DWConv.Lanes)

	util := func(used int64, avail int) float64 {
		if avail == 0 {
			if used == 0 {
				return 0
			}
			return float64(used) // any use of an absent resource is over 100%
		}
		return float64(used) / float64(avail)
	}
	r.DSPUtil, r.BRAMUtil, r.URAMUtil, r.LUTUtil = util(r.DSP, b.DSP), util(r.BRAM36, b.BRAM36), util(r.URAM, b.URAM), util(r.LUT, b.LUT)
	r.Fits = r.MaxUtil() <= 1
	r.Limit = "dsp"
	best := r.DSPUtil
	for _, c := range []struct {
		name string
		u    float64
	}{{"bram", r.BRAMUtil}, {"uram", r.URAMUtil}, {"lut", r.LUTUtil}} {
		if c.u > best {
			r.Limit, best = c.name, c.u
		}
	}
	return r, nil
}
