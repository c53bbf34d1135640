package traces

import (
	"fmt"

	"github.com/vimsim/vimsim/hw/datapath"
)

// dwconvLanes is the number of channels per beat (the dwconv module's
// LANES) of the recorded depthwise convolution sets.
const dwconvLanes = 16

// DepthwiseConv records one depthwise causal convolution of the L×E int8
// sequence x with the E×T taps w (datapath.DepthwiseConv; testbench
// tb_dwconv): the int32 sums before the requantizer, which adds the bias.
// wbits is the width of the taps' values: 8, or 4 (values in [−8, 7], in
// 8-bit words; the set then defines VIMSIM_WBITS 4).
func (r *Recorder) DepthwiseConv(layer int, op string, x datapath.Matrix[int8], w datapath.Matrix[int8], wbits int) error {
	if !r.Wants(layer, UnitDWConv) {
		return nil
	}
	switch wbits {
	case 8:
	case 4:
		for i, v := range w.Data {
			if v < -8 || v > 7 {
				return fmt.Errorf("vectors: dwconv %s: int4 tap %d at %d outside [-8, 7]", op, v, i)
			}
		}
	default:
		return fmt.Errorf("vectors: dwconv %s: %d-bit taps, want 4 or 8", op, wbits)
	}
	s, err := dwconvSet(layer, op, x, w, dwconvLanes)
	if err != nil {
		return err
	}
	if wbits == 4 {
		for _, t := range s.tensors {
			if t.name == "w" {
				t.dtype = weightDType4
			}
		}
		s.define("VIMSIM_WBITS", 4, weightWidthDoc)
	}
	return r.keep(s)
}

// dwconvSet builds the set of one depthwise convolution for a dwconv of the
// given number of lanes.
func dwconvSet(layer int, op string, x, w datapath.Matrix[int8], lanes int) (*vectorSet, error) {
	if x.Rows <= 0 || x.Cols <= 0 {
		return nil, fmt.Errorf("vectors: dwconv %s: no input (%dx%d)", op, x.Rows, x.Cols)
	}
	L, E, T := x.Rows, x.Cols, w.Cols
	out := datapath.NewMatrix[int32](L, E)
	if err := datapath.DepthwiseConv(out, x, w, nil); err != nil {
		return nil, fmt.Errorf("vectors: dwconv %s: %w", op, err)
	}
	groups := (E + lanes - 1) / lanes
	s := newSet(UnitDWConv, "tb_dwconv", layer, op, "dwconv")
	s.info = fmt.Sprintf("depthwise causal conv1d, L=%d steps x E=%d channels, T=%d taps, int32 sums, %d lanes", L, E, T, lanes)
	s.param("L", int64(L), "steps")
	s.param("E", int64(E), "channels")
	s.param("T", int64(T), "taps")
	s.param("LANES", int64(lanes), "dwconv lanes (channels per beat)")
	s.param("WATCHDOG_CYCLES", int64(L*groups)+1000, "testbench timeout")
	s.add(&tensor{name: "x", role: Stimulus, dtype: "int8", bits: 8, shape: []int{L, E}, layout: "row-major (step, channel)", values: widen(x.Data)})
	s.add(&tensor{name: "w", role: Stimulus, dtype: "int8", bits: 8, shape: []int{E, T},
		layout: "row-major (channel, tap): tap k multiplies step t-T+1+k", values: widen(w.Data)})
	s.add(&tensor{name: "y", role: Expected, dtype: "int32", bits: 32, shape: []int{L, E}, layout: "row-major (step, channel)", values: widen(out.Data)})
	s.vectors = L * E
	return s, nil
}
