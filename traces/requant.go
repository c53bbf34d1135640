package traces

import (
	"fmt"

	"github.com/vimsim/vimsim/hw/datapath"
)

// Requantize records one requantization of tokens×channels accumulators
// (datapath.Requantize; tokenOffset is acc's first row in q.TokenGroup). The
// per-channel multiplier (of the channel's group) and bias and the
// per-token group shift are expanded into per-channel and per-token files,
// as the requant unit's ports take them (testbench tb_requant).
func (r *Recorder) Requantize(layer int, op string, acc datapath.Matrix[int32], q *datapath.Requantizer, tokenOffset int) error {
	if !r.Wants(layer, UnitRequant) {
		return nil
	}
	if q == nil {
		return fmt.Errorf("vectors: requant %s: nil requantizer", op)
	}
	T, Ch := acc.Rows, acc.Cols
	out := datapath.NewMatrix[int32](T, Ch)
	if err := datapath.Requantize(out, acc, q, tokenOffset, nil); err != nil {
		return fmt.Errorf("vectors: requant %s: %w", op, err)
	}
	bias := make([]int64, Ch)
	mm := make([]int64, Ch)
	ms := make([]int64, Ch)
	for c := 0; c < Ch; c++ {
		if q.Bias != nil {
			bias[c] = int64(q.Bias[c])
		}
		m := q.Mult[0]
		if q.ChannelGroup != nil {
			m = q.Mult[q.ChannelGroup[c]]
		}
		mm[c], ms[c] = int64(m.M), int64(m.Shift)
	}
	ts := make([]int64, T)
	if q.TokenGroup != nil {
		for t := range ts {
			ts[t] = int64(q.TokenShift[q.TokenGroup[tokenOffset+t]])
		}
	}
	// Per-element flags from the datapath's own counters (Requantizer.At).
	sat := make([]int64, T*Ch)
	ovf := make([]int64, T*Ch)
	for t := 0; t < T; t++ {
		for c := 0; c < Ch; c++ {
			var k datapath.Counters
			i := t*Ch + c
			if v := q.At(acc.Data[i], tokenOffset+t, c, &k); v != out.Data[i] {
				return fmt.Errorf("vectors: requant %s: element %d: At gives %d, Requantize %d", op, i, v, out.Data[i])
			}
			sat[i], ovf[i] = k.Saturations, k.Overflows
		}
	}
	s := newSet(UnitRequant, "tb_requant", layer, op, "requant")
	s.info = fmt.Sprintf("requantizer int32 -> int%d, %d tokens x %d channels, %d channel multipliers, %d token groups",
		q.Bits, T, Ch, len(q.Mult), len(q.TokenShift))
	s.param("TOKENS", int64(T), "rows")
	s.param("CHANNELS", int64(Ch), "columns")
	s.param("OUT_BITS", int64(q.Bits), "output width")
	s.param("ZP", int64(q.ZeroPoint), "output zero point")
	s.param("TOKEN_OFFSET", int64(tokenOffset), "first row's index in the token groups")
	s.param("WATCHDOG_CYCLES", int64(T*Ch)+1000, "testbench timeout")
	s.add(&tensor{name: "acc", role: Stimulus, dtype: "int32", bits: 32, shape: []int{T, Ch}, layout: "row-major (token, channel)", values: widen(acc.Data)})
	s.add(&tensor{name: "bias", role: Stimulus, dtype: "int32", bits: 32, shape: []int{Ch}, layout: "per channel (0 without bias)", values: bias})
	s.add(&tensor{name: "mult_m", role: Stimulus, dtype: "uint31", bits: 31, shape: []int{Ch}, layout: "per channel: mantissa of the channel's group multiplier", values: mm})
	s.add(&tensor{name: "mult_shift", role: Stimulus, dtype: "uint6", bits: 6, shape: []int{Ch}, layout: "per channel: right shift of the channel's group multiplier", values: ms})
	s.add(&tensor{name: "tok_shift", role: Stimulus, dtype: "int8", bits: 8, shape: []int{T}, layout: "per token: the token group's extra right shift (0 without token groups)", values: ts})
	s.add(&tensor{name: "q", role: Expected, dtype: fmt.Sprintf("int%d", q.Bits), bits: q.Bits, shape: []int{T, Ch}, layout: "row-major (token, channel)", values: widen(out.Data)})
	s.add(&tensor{name: "sat", role: Expected, dtype: "bit", bits: 1, shape: []int{T, Ch}, layout: "row-major (token, channel): 1 when the output clamped", values: sat})
	s.add(&tensor{name: "ovf", role: Expected, dtype: "bit", bits: 1, shape: []int{T, Ch}, layout: "row-major (token, channel): 1 when acc + bias clamped to int32", values: ovf})
	s.vectors = T * Ch
	return r.keep(s)
}

// RequantizeGroups records one group (split-K) requantization
// (datapath.RequantizeGroups; testbench tb_group_requant): accs[g] holds
// the int32 partial sums of input group g, all of one shape.
func (r *Recorder) RequantizeGroups(layer int, op string, accs []datapath.Matrix[int32], q *datapath.GroupRequantizer) error {
	if !r.Wants(layer, UnitRequant) {
		return nil
	}
	if q == nil || len(accs) == 0 {
		return fmt.Errorf("vectors: group requant %s: no requantizer or partial sums", op)
	}
	rows, cols := accs[0].Rows, accs[0].Cols
	out := datapath.NewMatrix[int32](rows, cols)
	if err := datapath.RequantizeGroups(out, accs, q, nil); err != nil {
		return fmt.Errorf("vectors: group requant %s: %w", op, err)
	}
	G, n := len(accs), rows*cols
	acc := make([]int64, n*G)
	for g, a := range accs {
		for i, v := range a.Data {
			acc[i*G+g] = int64(v)
		}
	}
	// Per-element saturation flags from the datapath's counters, one
	// output at a time.
	sat := make([]int64, n)
	one := make([]datapath.Matrix[int32], G)
	for i := range sat {
		for g, a := range accs {
			one[g] = datapath.Matrix[int32]{Rows: 1, Cols: 1, Data: a.Data[i : i+1]}
		}
		var k datapath.Counters
		v := datapath.NewMatrix[int32](1, 1)
		if err := datapath.RequantizeGroups(v, one, q, &k); err != nil || v.Data[0] != out.Data[i] {
			return fmt.Errorf("vectors: group requant %s: element %d: %d, %d (%v)", op, i, v.Data[0], out.Data[i], err)
		}
		sat[i] = k.Saturations
	}
	s := newSet(UnitRequant, "tb_group_requant", layer, op, "grequant")
	s.info = fmt.Sprintf("group requantizer, %d groups, %d x %d outputs, int%d", G, rows, cols, q.Bits)
	s.param("N_VEC", int64(n), "outputs")
	s.param("G", int64(G), "groups")
	s.param("OUT_BITS", int64(q.Bits), "output width")
	s.param("ZP", int64(q.ZeroPoint), "output zero point")
	s.paramBits("SHIFT", int64(q.Shift), 6, "right shift")
	s.param("WATCHDOG_CYCLES", int64(n)+1000, "testbench timeout")
	s.add(&tensor{name: "acc", role: Stimulus, dtype: "int32", bits: 32, shape: []int{rows, cols, G},
		layout: "row-major (token, channel, group): line i*G + g = partial sum of group g", values: acc})
	s.add(&tensor{name: "mult", role: Stimulus, dtype: "uint27", bits: 27, shape: []int{G}, layout: "per group: mantissa", values: widen(q.Mult)})
	s.add(&tensor{name: "q", role: Expected, dtype: fmt.Sprintf("int%d", q.Bits), bits: q.Bits, shape: []int{rows, cols}, layout: "row-major (token, channel)", values: widen(out.Data)})
	s.add(&tensor{name: "sat", role: Expected, dtype: "bit", bits: 1, shape: []int{rows, cols}, layout: "row-major (token, channel): 1 when the output clamped", values: sat})
	s.vectors = n
	return r.keep(s)
}
