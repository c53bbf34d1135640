package traces

import (
	"fmt"

	"github.com/vimsim/vimsim/hw/datapath"
)

// Exp2 records evaluations of the base-2 exponent unit
// (datapath.Exp2Unit.Eval; testbench tb_exp2).
func (r *Recorder) Exp2(layer int, op string, z []int32, u *datapath.Exp2Unit) error {
	if !r.Wants(layer, UnitScan) {
		return nil
	}
	if u == nil {
		return fmt.Errorf("vectors: exp2 %s: nil unit", op)
	}
	if u.TableBits() > 19 {
		return fmt.Errorf("vectors: exp2 %s: %d table bits; the exp2 RTL supports 1..19", op, u.TableBits())
	}
	if len(z) == 0 {
		return fmt.Errorf("vectors: exp2 %s: no input", op)
	}
	y := make([]int64, len(z))
	sat := make([]int64, len(z))
	for i, v := range z {
		o, s := u.Eval(v)
		y[i] = int64(o)
		if s {
			sat[i] = 1
		}
	}
	tab := u.Table()
	s := newSet(UnitScan, "tb_exp2", layer, op, "exp2")
	s.info = fmt.Sprintf("base-2 exponent unit, %d Q11.20 inputs, UQ8.16 outputs, 2^%d+1 table entries", len(z), u.TableBits())
	s.param("N_VEC", int64(len(z)), "inputs")
	s.param("TBITS", int64(u.TableBits()), "table bits")
	s.param("WATCHDOG_CYCLES", int64(len(z)+len(tab))+1000, "testbench timeout")
	s.add(&tensor{name: "table", role: Stimulus, dtype: "uint32", bits: 32, shape: []int{len(tab)}, layout: "entry i = round(2^(i/2^TBITS) * 2^30)", values: widen(tab)})
	s.add(&tensor{name: "z", role: Stimulus, dtype: "int32", bits: 32, shape: []int{len(z)}, layout: "flat, Q11.20", values: widen(z)})
	s.add(&tensor{name: "y", role: Expected, dtype: "uint32", bits: 32, shape: []int{len(z)}, layout: "flat, UQ8.16", values: y})
	s.add(&tensor{name: "sat", role: Expected, dtype: "bit", bits: 1, shape: []int{len(z)}, layout: "flat, 1 when z > 8*2^20 - 1", values: sat})
	s.vectors = len(z)
	return r.keep(s)
}

// Scan records one direction of one layer's selective scan with its gate
// (datapath.Scan, inputs in scan order; testbench tb_scan): the gated
// output and the y′ and D-skip taps of every (step, channel).
func (r *Recorder) Scan(layer int, op string, in datapath.ScanInputs, p *datapath.ScanParams, u *datapath.Exp2Unit) error {
	if !r.Wants(layer, UnitScan) {
		return nil
	}
	if p == nil || u == nil {
		return fmt.Errorf("vectors: scan %s: nil parameters or exponent unit", op)
	}
	if u.TableBits() > 19 {
		return fmt.Errorf("vectors: scan %s: %d table bits; the exp2 RTL supports 1..19", op, u.TableBits())
	}
	s, err := scanSet(layer, op, in, p, u, false)
	if err != nil {
		return err
	}
	return r.keep(s)
}

// scanSet builds the set of one scan direction; with stateTaps it also
// holds the per-state taps (Ā′, q, H and their flags for every step,
// channel and state), which the testbench compares when params.vh defines
// SCAN_STATE_TAPS (the corner sets).
func scanSet(layer int, op string, in datapath.ScanInputs, p *datapath.ScanParams, u *datapath.Exp2Unit, stateTaps bool) (*vectorSet, error) {
	E, N, L := p.Channels, p.States, p.Steps
	out := datapath.NewMatrix[int16](L, E)
	taps := &datapath.ScanTaps{Y: datapath.NewMatrix[int8](L, E), Skip: datapath.NewMatrix[int32](L, E)}
	var k datapath.Counters
	if err := datapath.Scan(out, in, p, u, taps, &k); err != nil {
		return nil, fmt.Errorf("vectors: scan %s: %w", op, err)
	}
	tr, err := traceScan(in, p, u, out, taps, k)
	if err != nil {
		return nil, fmt.Errorf("vectors: scan %s: %w", op, err)
	}
	mult := func(ms []datapath.Multiplier) (m, s []int64) {
		m, s = make([]int64, len(ms)), make([]int64, len(ms))
		for i, x := range ms {
			m[i], s[i] = int64(x.M), int64(x.Shift)
		}
		return m, s
	}
	eg := make([]int64, L)
	for t := range eg {
		eg[t] = int64(p.GroupShift[p.TokenGroup[t]])
	}
	usm, uss := mult(p.UStep)
	ysm, yss := mult(p.YStep)
	ucm, ucs := mult(p.UChan)
	gm, gs := mult(p.Gate)
	tab := u.Table()

	s := newSet(UnitScan, "tb_scan", layer, op, "scan")
	s.info = fmt.Sprintf("selective scan, L=%d steps x E=%d channels x N=%d states, gated int16 output", L, E, N)
	if sf := p.StateFormat(); sf.Bits != datapath.ScanStateBits {
		s.info = fmt.Sprintf("selective scan, L=%d steps x E=%d channels x N=%d states, int%d state, gated int16 output", L, E, N, sf.Bits)
		s.define("VIMSIM_SBITS", int64(sf.Bits), "scan-lane state width (DATAPATH.md §8.6), default 8")
	}
	s.param("L", int64(L), "steps")
	s.param("E", int64(E), "channels")
	s.param("N", int64(N), "states")
	s.param("TBITS", int64(u.TableBits()), "exponent table bits")
	s.param("WATCHDOG_CYCLES", int64(L*E*(N+8)+len(tab))+1000, "testbench timeout")
	per := func(name, dtype string, bits int, v []int64, n int, layout string) {
		s.add(&tensor{name: name, role: Stimulus, dtype: dtype, bits: bits, shape: []int{n}, layout: layout, values: v})
	}
	le := []int{L, E}
	s.add(&tensor{name: "x", role: Stimulus, dtype: "int8", bits: 8, shape: le, layout: "row-major (step, channel), scan order", values: widen(in.X.Data)})
	s.add(&tensor{name: "delta", role: Stimulus, dtype: "int8", bits: 8, shape: le, layout: "row-major (step, channel), scan order", values: widen(in.Delta.Data)})
	s.add(&tensor{name: "z", role: Stimulus, dtype: "int8", bits: 8, shape: le, layout: "row-major (step, channel), scan order", values: widen(in.Z.Data)})
	s.add(&tensor{name: "b", role: Stimulus, dtype: "int8", bits: 8, shape: []int{L, N}, layout: "row-major (step, state), scan order", values: widen(in.B.Data)})
	s.add(&tensor{name: "c", role: Stimulus, dtype: "int8", bits: 8, shape: []int{L, N}, layout: "row-major (step, state), scan order", values: widen(in.C.Data)})
	s.add(&tensor{name: "aneg", role: Stimulus, dtype: "int32", bits: 32, shape: []int{E, N}, layout: "row-major (channel, state)", values: widen(p.ANeg)})
	per("step_log2", "int32", 32, widen(p.StepLog2), L, "per step")
	per("ustep_m", "uint31", 31, usm, L, "per step: UStep mantissa")
	per("ustep_shift", "uint6", 6, uss, L, "per step: UStep shift")
	per("ystep_m", "uint31", 31, ysm, L, "per step: YStep mantissa")
	per("ystep_shift", "uint6", 6, yss, L, "per step: YStep shift")
	per("eg", "int8", 8, eg, L, "per step: GroupShift[TokenGroup[t]]")
	per("uchan_m", "uint31", 31, ucm, E, "per channel: UChan mantissa")
	per("uchan_shift", "uint6", 6, ucs, E, "per channel: UChan shift")
	per("uchan_norm", "int8", 8, widen(p.UChanNorm), E, "per channel: UChanNorm")
	per("skip_shift", "int8", 8, widen(p.SkipShift), E, "per channel: SkipShift")
	per("skip_d", "int32", 32, widen(p.SkipD), E, "per channel: SkipD")
	per("gate_m", "uint31", 31, gm, E, "per channel: Gate mantissa")
	per("gate_shift", "uint6", 6, gs, E, "per channel: Gate shift")
	per("table", "uint32", 32, widen(tab), len(tab), "exponent table entry i = round(2^(i/2^TBITS) * 2^30)")
	s.add(&tensor{name: "out", role: Expected, dtype: "int16", bits: 16, shape: le, layout: "row-major (step, channel): gated output at s_m*2^-7", values: widen(out.Data)})
	s.add(&tensor{name: "y", role: Expected, dtype: "int8", bits: 8, shape: le, layout: "row-major (step, channel): y'", values: widen(taps.Y.Data)})
	s.add(&tensor{name: "v", role: Expected, dtype: "int32", bits: 32, shape: le, layout: "row-major (step, channel): D-skip sum V", values: widen(taps.Skip.Data)})
	s.add(&tensor{name: "flags", role: Expected, dtype: "bits7", bits: scanFlagBits, shape: le,
		layout: "row-major (step, channel): clamped {out, y', Yacc overflow, H, q, exponent input, Xu} (bit 0 = Xu)", values: tr.flags})
	if stateTaps {
		lens := []int{L, E, N}
		s.define("SCAN_STATE_TAPS", 0, "the set carries the per-state taps")
		s.add(&tensor{name: "abar", role: Expected, dtype: "uint32", bits: 32, shape: lens, layout: "row-major (step, channel, state): A' (UQ8.16)", values: tr.a})
		sb := p.StateFormat().Bits
		s.add(&tensor{name: "q", role: Expected, dtype: fmt.Sprintf("int%d", sb), bits: sb, shape: lens, layout: "row-major (step, channel, state): the new carried state", values: tr.q})
		s.add(&tensor{name: "h", role: Expected, dtype: "int20", bits: 20, shape: lens, layout: "row-major (step, channel, state): H (Q11.8)", values: tr.h})
		s.add(&tensor{name: "stflags", role: Expected, dtype: "bits3", bits: scanStateFlagBits, shape: lens,
			layout: "row-major (step, channel, state): clamped {H, q, exponent input} (bit 0 = exponent input)", values: tr.sf})
	}
	s.vectors = L * E
	return s, nil
}
