package datapath

import "fmt"

// Table8 is an exact lookup table for an elementwise function of an int8
// input with an int8 output (DATAPATH.md §6.1). The table is addressed by the
// input's two's-complement bit pattern: Entries[uint8(x)], so entries 0..127
// hold x = 0..127 and entries 128..255 hold x = −128..−1. Clamped marks the
// entries that were saturated when the table was built, so that a lookup can
// count the saturation. NewSiLUTable, NewSoftplusTable and NewTable8 build
// tables.
type Table8 struct {
	Entries [256]int8 `json:"entries"`
	Clamped [256]bool `json:"clamped"`
}

// Lookup returns f(x) from the table.
func (t *Table8) Lookup(x int8) int8 { return t.Entries[uint8(x)] }

// ApplyTable8 maps src through t into dst (same length).
func ApplyTable8(dst, src []int8, t *Table8, c *Counters) error {
	if len(dst) != len(src) {
		return fmt.Errorf("table lookup: %d outputs for %d inputs", len(dst), len(src))
	}
	var sat int64
	for i, x := range src {
		dst[i] = t.Entries[uint8(x)]
		sat += b2i(t.Clamped[uint8(x)])
	}
	c.add(Counters{LUTLookups: int64(len(src)), Saturations: sat})
	return nil
}

// ChannelTables applies a per-channel choice among a few tables: channel c of
// a tokens×channels tensor uses Tables[Index[c]]. This is how k-scaled
// channel-wise input and output scales are served: one table per pair
// (input group, output group) that occurs, a small index per channel.
type ChannelTables struct {
	Tables []Table8 `json:"tables"`
	Index  []uint8  `json:"index"`
}

// Apply maps src through the channel tables into dst (same shape; columns are
// channels).
func (ct *ChannelTables) Apply(dst, src Matrix[int8], c *Counters) error {
	if err := src.valid("channel tables: input"); err != nil {
		return err
	}
	if err := dst.check("channel tables: output", src.Rows, src.Cols); err != nil {
		return err
	}
	if len(ct.Index) != src.Cols {
		return fmt.Errorf("channel tables: %d channel indices for %d channels", len(ct.Index), src.Cols)
	}
	for ch, i := range ct.Index {
		if int(i) >= len(ct.Tables) {
			return fmt.Errorf("channel tables: channel %d uses table %d of %d", ch, i, len(ct.Tables))
		}
	}
	// Each table as one array of entry | clamped<<8, and each channel's
	// offset into them.
	comb := make([]uint16, 256*len(ct.Tables))
	for i := range ct.Tables {
		for x, v := range ct.Tables[i].Entries {
			comb[i*256+x] = uint16(uint8(v)) | uint16(b2i(ct.Tables[i].Clamped[x]))<<8
		}
	}
	off := make([]int, src.Cols)
	for ch, i := range ct.Index {
		off[ch] = 256 * int(i)
	}
	var sat int64
	// The assembly kernel takes whole chunks of 64 channels: per table its
	// entries and clamped flags, per chunk and table the lanes that use it.
	kernel := asmLUTRow()
	c0 := 0
	var tabs []byte
	var masks []uint64
	if kernel != nil && src.Cols >= 64 {
		c0 = src.Cols &^ 63
		k := len(ct.Tables)
		tabs = make([]byte, 512*k)
		for i := range ct.Tables {
			for x, v := range ct.Tables[i].Entries {
				tabs[512*i+x] = byte(v)
				tabs[512*i+256+x] = byte(b2i(ct.Tables[i].Clamped[x]))
			}
		}
		masks = make([]uint64, c0/64*k)
		for ch, i := range ct.Index[:c0] {
			masks[ch/64*k+int(i)] |= 1 << (ch % 64)
		}
	}
	for r := 0; r < src.Rows; r++ {
		in, out := src.Row(r), dst.Row(r)
		if c0 > 0 {
			sat += kernel(&out[0], &in[0], c0, &tabs[0], &masks[0], len(ct.Tables))
		}
		in, out = in[:len(off)], out[:len(off)]
		for ch := c0; ch < len(off); ch++ {
			o := off[ch]
			v := comb[o+int(uint8(in[ch]))]
			out[ch] = int8(v)
			sat += int64(v >> 8)
		}
	}
	c.add(Counters{LUTLookups: int64(len(src.Data)), Saturations: sat})
	return nil
}

// Interp16Frac is the number of extra fraction bits of InterpTable16 entries.
const Interp16Frac = 8

// InterpTable16 evaluates an elementwise function of an int16 input by linear
// interpolation between 2^TableBits + 1 entries spread uniformly over the
// int16 range (DATAPATH.md §6.2). With o = x + 32768 and S = 16 − TableBits:
//
//	j = o >> S,  r = o & (2^S − 1)
//	v = E[j] + RoundShift((E[j+1] − E[j])·r, S)
//	y = sat_Bits(RoundShift(v, Interp16Frac))
//
// E[j] = round(f((−32768 + j·2^S)·s_in)/s_out · 2^8), clamped to twice the
// output range. NewInterpTable16 builds it.
type InterpTable16 struct {
	TableBits int     `json:"table_bits"`
	Bits      int     `json:"bits"`
	Entries   []int32 `json:"entries"`
}

// Validate reports whether t is well formed.
func (t *InterpTable16) Validate() error {
	if t.TableBits < 1 || t.TableBits > 16 {
		return fmt.Errorf("interpolated table: %d table bits out of [1, 16]", t.TableBits)
	}
	if t.Bits < 2 || t.Bits > 16 {
		return fmt.Errorf("interpolated table: output width %d out of [2, 16]", t.Bits)
	}
	if len(t.Entries) != 1<<t.TableBits+1 {
		return fmt.Errorf("interpolated table: %d entries, want %d", len(t.Entries), 1<<t.TableBits+1)
	}
	lim := int32(1) << (t.Bits + Interp16Frac)
	for j, e := range t.Entries {
		if e >= lim || e < -lim {
			return fmt.Errorf("interpolated table: entry %d = %d outside ±2^%d", j, e, t.Bits+Interp16Frac)
		}
	}
	return nil
}

// Lookup returns f(x) and whether the output saturated. t must be valid.
func (t *InterpTable16) Lookup(x int16) (int32, bool) {
	o := int32(x) + 32768
	s := uint(16 - t.TableBits)
	j := o >> s
	r := int64(o & (1<<s - 1))
	e0 := int64(t.Entries[j])
	v := e0
	if r != 0 {
		v += RoundShift((int64(t.Entries[j+1])-e0)*r, s)
	}
	y, sat := Saturate(RoundShift(v, Interp16Frac), t.Bits)
	return int32(y), sat
}

// ApplyInterp16 maps src through t into dst (same length); T must be at least
// t.Bits wide.
func ApplyInterp16[T Integer](dst []T, src []int16, t *InterpTable16, c *Counters) error {
	if len(dst) != len(src) {
		return fmt.Errorf("interpolated table: %d outputs for %d inputs", len(dst), len(src))
	}
	if err := t.Validate(); err != nil {
		return err
	}
	if b := bitsOf[T](); t.Bits > b {
		return fmt.Errorf("interpolated table: %d-bit output into %d-bit elements", t.Bits, b)
	}
	var sat int64
	for i, x := range src {
		y, s := t.Lookup(x)
		dst[i] = T(y)
		sat += b2i(s)
	}
	c.add(Counters{LUTLookups: int64(len(src)), MACs: int64(len(src)), Saturations: sat})
	return nil
}

// lutRowKernel maps the first n inputs (n a multiple of 64) of a row
// through the channel tables: tabs holds per table the 256 entries and the
// 256 clamped flags, masks[c·k+j] the lanes of chunk c that use table j of
// k. It returns the number of clamped lookups.
type lutRowKernel func(dst, src *int8, n int, tabs *byte, masks *uint64, k int) (sat int64)
