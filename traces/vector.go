package traces

import (
	"fmt"
	"slices"

	"github.com/vimsim/vimsim/hw/datapath"
)

// vectorLanes is the number of elements per beat (the LANES of the merge and
// resadd modules) of the recorded vector-unit sets.
const vectorLanes = 16

// Merge records one direction merge of the gated int16 outputs of the two
// directions, both in original token order (datapath.Merge; testbench
// tb_merge): the int8 result and, per element, whether it saturated.
func (r *Recorder) Merge(layer int, op string, fwd, bwd datapath.Matrix[int16]) error {
	if !r.Wants(layer, UnitVector) {
		return nil
	}
	s, err := mergeSet(layer, op, fwd, bwd, vectorLanes)
	if err != nil {
		return err
	}
	return r.keep(s)
}

// mergeSet builds the set of one merge for a merge unit of the given number
// of lanes.
func mergeSet(layer int, op string, fwd, bwd datapath.Matrix[int16], lanes int) (*vectorSet, error) {
	out := datapath.NewMatrix[int8](fwd.Rows, fwd.Cols)
	var c datapath.Counters
	if err := datapath.Merge(out, fwd, bwd, &c); err != nil {
		return nil, fmt.Errorf("vectors: merge %s: %w", op, err)
	}
	n := len(fwd.Data)
	if n == 0 {
		return nil, fmt.Errorf("vectors: merge %s: no input", op)
	}
	sat := make([]int64, n)
	var nsat int64
	for i, f := range fwd.Data {
		if _, s := datapath.Saturate(datapath.RoundShift(int64(f)+int64(bwd.Data[i]), datapath.GateFrac+1), 8); s {
			sat[i] = 1
			nsat++
		}
	}
	if nsat != c.Saturations {
		return nil, fmt.Errorf("vectors: merge %s: %d saturation flags, datapath counts %d", op, nsat, c.Saturations)
	}
	T, Ch := fwd.Rows, fwd.Cols
	s := newSet(UnitVector, "tb_merge", layer, op, "merge")
	s.info = fmt.Sprintf("direction merge sat8(RoundShift(f + b, %d)), %d tokens x %d channels, %d lanes", datapath.GateFrac+1, T, Ch, lanes)
	s.param("TOKENS", int64(T), "rows")
	s.param("CHANNELS", int64(Ch), "columns")
	s.param("LANES", int64(lanes), "merge lanes (elements per beat)")
	s.param("GATE_FRAC", datapath.GateFrac, "fraction bits of the gated int16 inputs")
	s.param("WATCHDOG_CYCLES", int64((n+lanes-1)/lanes)+1000, "testbench timeout")
	tc := []int{T, Ch}
	s.add(&tensor{name: "fwd", role: Stimulus, dtype: "int16", bits: 16, shape: tc, layout: "row-major (token, channel): forward gated output at s_m*2^-GATE_FRAC", values: widen(fwd.Data)})
	s.add(&tensor{name: "bwd", role: Stimulus, dtype: "int16", bits: 16, shape: tc,
		layout: "row-major (token, channel): backward gated output at s_m*2^-GATE_FRAC, in original token order", values: widen(bwd.Data)})
	s.add(&tensor{name: "m", role: Expected, dtype: "int8", bits: 8, shape: tc, layout: "row-major (token, channel): merged value at s_m", values: widen(out.Data)})
	s.add(&tensor{name: "sat", role: Expected, dtype: "bit", bits: 1, shape: tc, layout: "row-major (token, channel): 1 when clamped", values: sat})
	s.vectors = n
	return s, nil
}

// ResidualAdd records one addition to the int32 residual stream
// (datapath.ResidualAdd; testbench tb_resadd): residual is the stream
// before the add (it is not modified), add the addend at the residual
// scale; the expected outputs are the stream after the add and, per
// element, whether it saturated.
func (r *Recorder) ResidualAdd(layer int, op string, residual, add datapath.Matrix[int32]) error {
	if !r.Wants(layer, UnitVector) {
		return nil
	}
	s, err := resaddSet(layer, op, residual, add, vectorLanes)
	if err != nil {
		return err
	}
	return r.keep(s)
}

// resaddSet builds the set of one residual add for a resadd unit of the
// given number of lanes.
func resaddSet(layer int, op string, residual, add datapath.Matrix[int32], lanes int) (*vectorSet, error) {
	out := datapath.Matrix[int32]{Rows: residual.Rows, Cols: residual.Cols, Data: slices.Clone(residual.Data)}
	var c datapath.Counters
	if err := datapath.ResidualAdd(out, add, &c); err != nil {
		return nil, fmt.Errorf("vectors: residual add %s: %w", op, err)
	}
	n := len(add.Data)
	if n == 0 {
		return nil, fmt.Errorf("vectors: residual add %s: no input", op)
	}
	sat := make([]int64, n)
	var nsat int64
	for i, a := range add.Data {
		if _, s := datapath.Saturate(int64(residual.Data[i])+int64(a), 32); s {
			sat[i] = 1
			nsat++
		}
	}
	if nsat != c.Saturations {
		return nil, fmt.Errorf("vectors: residual add %s: %d saturation flags, datapath counts %d", op, nsat, c.Saturations)
	}
	T, Ch := add.Rows, add.Cols
	s := newSet(UnitVector, "tb_resadd", layer, op, "resadd")
	s.info = fmt.Sprintf("residual add sat32(res + add), %d tokens x %d channels, %d lanes", T, Ch, lanes)
	s.param("TOKENS", int64(T), "rows")
	s.param("CHANNELS", int64(Ch), "columns")
	s.param("LANES", int64(lanes), "resadd lanes (elements per beat)")
	s.param("WATCHDOG_CYCLES", int64((n+lanes-1)/lanes)+1000, "testbench timeout")
	tc := []int{T, Ch}
	s.add(&tensor{name: "residual", role: Stimulus, dtype: "int32", bits: 32, shape: tc, layout: "row-major (token, channel): residual stream before the add", values: widen(residual.Data)})
	s.add(&tensor{name: "add", role: Stimulus, dtype: "int32", bits: 32, shape: tc, layout: "row-major (token, channel): addend at the residual scale", values: widen(add.Data)})
	s.add(&tensor{name: "out", role: Expected, dtype: "int32", bits: 32, shape: tc, layout: "row-major (token, channel): residual stream after the add", values: widen(out.Data)})
	s.add(&tensor{name: "sat", role: Expected, dtype: "bit", bits: 1, shape: tc, layout: "row-major (token, channel): 1 when clamped", values: sat})
	s.vectors = n
	return s, nil
}
