package traces

import (
	"fmt"

	"github.com/vimsim/vimsim/hw/datapath"
)

// ChannelTables records one int8 lookup of a tokens×channels tensor through
// per-channel tables (datapath.ChannelTables.Apply; testbench tb_lut8). A
// single table is ChannelTables with one table and index 0 everywhere.
func (r *Recorder) ChannelTables(layer int, op string, x datapath.Matrix[int8], ct *datapath.ChannelTables) error {
	if !r.Wants(layer, UnitNonlin) {
		return nil
	}
	if ct == nil || len(ct.Tables) == 0 {
		return fmt.Errorf("vectors: lookup %s: no table", op)
	}
	if len(ct.Tables) > 256 {
		return fmt.Errorf("vectors: lookup %s: %d tables (max 256)", op, len(ct.Tables))
	}
	out := datapath.NewMatrix[int8](x.Rows, x.Cols)
	if err := ct.Apply(out, x, nil); err != nil {
		return fmt.Errorf("vectors: lookup %s: %w", op, err)
	}
	tab := make([]int64, 256*len(ct.Tables))
	for t := range ct.Tables {
		for e := 0; e < 256; e++ {
			v := int64(uint8(ct.Tables[t].Entries[e]))
			if ct.Tables[t].Clamped[e] {
				v |= 1 << 8
			}
			tab[256*t+e] = v
		}
	}
	sat := make([]int64, len(x.Data))
	for i, v := range x.Data {
		if ct.Tables[ct.Index[i%x.Cols]].Clamped[uint8(v)] {
			sat[i] = 1
		}
	}
	s := newSet(UnitNonlin, "tb_lut8", layer, op, "lut8")
	s.info = fmt.Sprintf("int8 lookup, %d tokens x %d channels, %d channel tables", x.Rows, x.Cols, len(ct.Tables))
	s.param("TOKENS", int64(x.Rows), "rows")
	s.param("CHANNELS", int64(x.Cols), "columns")
	s.param("NT", int64(len(ct.Tables)), "tables")
	s.param("WATCHDOG_CYCLES", int64(x.Rows*x.Cols+256*len(ct.Tables))+1000, "testbench timeout")
	s.add(&tensor{name: "table", role: Stimulus, dtype: "bits9", bits: 9, shape: []int{len(ct.Tables), 256},
		layout: "line 256*t + e = {clamped, entry} of table t at address e = the input's bit pattern", values: tab})
	s.add(&tensor{name: "index", role: Stimulus, dtype: "uint8", bits: 8, shape: []int{x.Cols}, layout: "per channel: table index", values: widen(ct.Index)})
	s.add(&tensor{name: "x", role: Stimulus, dtype: "int8", bits: 8, shape: []int{x.Rows, x.Cols}, layout: "row-major (token, channel)", values: widen(x.Data)})
	s.add(&tensor{name: "y", role: Expected, dtype: "int8", bits: 8, shape: []int{x.Rows, x.Cols}, layout: "row-major (token, channel)", values: widen(out.Data)})
	s.add(&tensor{name: "sat", role: Expected, dtype: "bit", bits: 1, shape: []int{x.Rows, x.Cols}, layout: "row-major (token, channel): the looked-up entry's clamped bit", values: sat})
	s.vectors = x.Rows * x.Cols
	return r.keep(s)
}

// Table8 records one lookup through a single table (see ChannelTables).
func (r *Recorder) Table8(layer int, op string, x datapath.Matrix[int8], t *datapath.Table8) error {
	if t == nil {
		return fmt.Errorf("vectors: lookup %s: nil table", op)
	}
	return r.ChannelTables(layer, op, x, &datapath.ChannelTables{Tables: []datapath.Table8{*t}, Index: make([]uint8, x.Cols)})
}

// Interp16 records one interpolated lookup of int16 inputs
// (datapath.InterpTable16.Lookup; testbench tb_interp16).
func (r *Recorder) Interp16(layer int, op string, x []int16, t *datapath.InterpTable16) error {
	if !r.Wants(layer, UnitNonlin) {
		return nil
	}
	if t == nil {
		return fmt.Errorf("vectors: interpolated lookup %s: nil table", op)
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("vectors: interpolated lookup %s: %w", op, err)
	}
	if t.TableBits > 15 {
		return fmt.Errorf("vectors: interpolated lookup %s: %d table bits; the interp16 RTL supports 1..15", op, t.TableBits)
	}
	if len(x) == 0 {
		return fmt.Errorf("vectors: interpolated lookup %s: no input", op)
	}
	out := make([]int32, len(x))
	if err := datapath.ApplyInterp16(out, x, t, nil); err != nil {
		return fmt.Errorf("vectors: interpolated lookup %s: %w", op, err)
	}
	sat := make([]int64, len(x))
	for i, v := range x {
		y, s := t.Lookup(v)
		if y != out[i] {
			return fmt.Errorf("vectors: interpolated lookup %s: element %d: Lookup %d, ApplyInterp16 %d", op, i, y, out[i])
		}
		if s {
			sat[i] = 1
		}
	}
	ew := t.Bits + datapath.Interp16Frac + 1
	s := newSet(UnitNonlin, "tb_interp16", layer, op, "interp16")
	s.info = fmt.Sprintf("interpolated int16 lookup, %d inputs, 2^%d+1 entries, int%d output", len(x), t.TableBits, t.Bits)
	s.param("N_VEC", int64(len(x)), "inputs")
	s.param("TBITS", int64(t.TableBits), "table bits")
	s.param("OUT_BITS", int64(t.Bits), "output width")
	s.param("EW", int64(ew), "entry width")
	s.param("WATCHDOG_CYCLES", int64(len(x)+len(t.Entries))+1000, "testbench timeout")
	s.add(&tensor{name: "table", role: Stimulus, dtype: fmt.Sprintf("int%d", ew), bits: ew, shape: []int{len(t.Entries)}, layout: "entry j", values: widen(t.Entries)})
	s.add(&tensor{name: "x", role: Stimulus, dtype: "int16", bits: 16, shape: []int{len(x)}, layout: "flat", values: widen(x)})
	s.add(&tensor{name: "y", role: Expected, dtype: fmt.Sprintf("int%d", t.Bits), bits: t.Bits, shape: []int{len(x)}, layout: "flat", values: widen(out)})
	s.add(&tensor{name: "sat", role: Expected, dtype: "bit", bits: 1, shape: []int{len(x)}, layout: "flat: 1 when the output clamped", values: sat})
	s.vectors = len(x)
	return r.keep(s)
}
