package traces

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/vimsim/vimsim/hw/datapath"
)

// RMSNorm records one integer RMSNorm of rows of int32 values
// (datapath.RMSNorm; testbench tb_rmsnorm).
func (r *Recorder) RMSNorm(layer int, op string, x datapath.Matrix[int32], u *datapath.NormUnit, p *datapath.NormParams) error {
	if !r.Wants(layer, UnitNorm) {
		return nil
	}
	if u == nil || p == nil {
		return fmt.Errorf("vectors: rmsnorm %s: nil unit or parameters", op)
	}
	out := datapath.NewMatrix[int32](x.Rows, x.Cols)
	var k datapath.Counters
	if err := datapath.RMSNorm(out, x, u, p, &k); err != nil {
		return fmt.Errorf("vectors: rmsnorm %s: %w", op, err)
	}
	f, err := normFlags(x, u, p, out, k)
	if err != nil {
		return fmt.Errorf("vectors: rmsnorm %s: %w", op, err)
	}
	seed := u.SeedTable()
	s := newSet(UnitNorm, "tb_rmsnorm", layer, op, "rmsnorm")
	s.info = fmt.Sprintf("integer RMSNorm, %d rows x %d channels, int%d output, %d-bit gains", x.Rows, x.Cols, p.Bits, p.GammaBits)
	s.param("ROWS", int64(x.Rows), "rows (tokens)")
	s.param("D", int64(x.Cols), "row length")
	s.param("TB", int64(u.TableBits()), "seed table bits")
	s.param("OUT_BITS", int64(p.Bits), "output width")
	s.paramBits("FRAC", int64(p.Frac()), 5, "31 - GammaBits")
	s.paramBits("EPS_D", p.EpsD, 64, "epsilon in the squared input domain times D")
	s.paramBits("OUT_M", int64(p.Out.M), 31, "output multiplier mantissa")
	s.paramBits("OUT_SHIFT", int64(p.Out.Shift), 6, "output multiplier shift")
	s.param("ZP", int64(p.ZeroPoint), "output zero point")
	s.param("WATCHDOG_CYCLES", int64(x.Rows*(2*x.Cols+8)+x.Cols+len(seed))+1000, "testbench timeout")
	s.add(&tensor{name: "x", role: Stimulus, dtype: "int32", bits: 32, shape: []int{x.Rows, x.Cols}, layout: "row-major (row, channel)", values: widen(x.Data)})
	s.add(&tensor{name: "gamma", role: Stimulus, dtype: "int16", bits: 16, shape: []int{x.Cols}, layout: fmt.Sprintf("per channel: gain, %d significant bits", p.GammaBits), values: widen(p.Gamma)})
	s.add(&tensor{name: "seed", role: Stimulus, dtype: "uint16", bits: 16, shape: []int{len(seed)}, layout: "rsqrt seed entry i, Q1.15", values: widen(seed)})
	s.add(&tensor{name: "y", role: Expected, dtype: fmt.Sprintf("int%d", p.Bits), bits: p.Bits, shape: []int{x.Rows, x.Cols}, layout: "row-major (row, channel)", values: widen(out.Data)})
	s.add(&tensor{name: "sat", role: Expected, dtype: "bit", bits: 1, shape: []int{x.Rows, x.Cols}, layout: "row-major (row, channel): 1 when the output clamped", values: f.sat})
	s.add(&tensor{name: "ovf", role: Expected, dtype: "bit", bits: 1, shape: []int{x.Rows, x.Cols},
		layout: "row-major (row, channel): 1 on the first output of a row whose sum of squares overflowed", values: f.ovf})
	s.add(&tensor{name: "r", role: Expected, dtype: "uint32", bits: 32, shape: []int{x.Rows}, layout: "per row: rsqrt mantissa r (UQ1.30), 0 when v = 0", values: f.r})
	s.add(&tensor{name: "e", role: Expected, dtype: "uint5", bits: 5, shape: []int{x.Rows}, layout: "per row: rsqrt exponent e (1/sqrt(v) ~ r*2^(-30-e)), 0 when v = 0", values: f.e})
	s.vectors = x.Rows * x.Cols
	return r.keep(s)
}

// normTaps are the per-element flags and per-row rsqrt taps of an RMSNorm.
type normTaps struct {
	sat, ovf, r, e []int64
}

// normFlags recomputes an RMSNorm step by step from DATAPATH.md §7.2 with
// the datapath's primitives (NormUnit.Rsqrt, RoundShift, Multiplier.Apply,
// Saturate) to expose what datapath.RMSNorm only counts: which outputs
// clamped, which rows overflowed, and each row's (r, e). Every output and
// both counters must agree with the datapath's run (out, k).
func normFlags(x datapath.Matrix[int32], u *datapath.NormUnit, p *datapath.NormParams, out datapath.Matrix[int32], k datapath.Counters) (*normTaps, error) {
	f := &normTaps{sat: make([]int64, len(x.Data)), ovf: make([]int64, len(x.Data)), r: make([]int64, x.Rows), e: make([]int64, x.Rows)}
	var sats, ovfs int64
	F := p.Frac()
	for i := 0; i < x.Rows; i++ {
		row := x.Row(i)
		var ss uint64
		over := false
		for _, v := range row {
			var c uint64
			ss, c = bits.Add64(ss, uint64(int64(v)*int64(v)), 0)
			over = over || c != 0
		}
		v, c := bits.Add64(ss, uint64(p.EpsD), 0)
		if over || c != 0 {
			v = math.MaxUint64
			f.ovf[i*x.Cols] = 1
			ovfs++
		}
		if v == 0 {
			for j := range row {
				if out.Data[i*x.Cols+j] != p.ZeroPoint {
					return nil, fmt.Errorf("flag model: row %d: zero row output %d", i, out.Data[i*x.Cols+j])
				}
			}
			continue
		}
		r, e := u.Rsqrt(v)
		f.r[i], f.e[i] = int64(r), int64(e)
		for j, xv := range row {
			n := datapath.RoundShift(int64(xv)*int64(r), uint(datapath.RsqrtFrac+e-F))
			y, sat := datapath.Saturate(p.Out.Apply(int32(n*int64(p.Gamma[j])), 0)+int64(p.ZeroPoint), p.Bits)
			if y != int64(out.Data[i*x.Cols+j]) {
				return nil, fmt.Errorf("flag model: row %d channel %d: %d, datapath %d", i, j, y, out.Data[i*x.Cols+j])
			}
			if sat {
				f.sat[i*x.Cols+j] = 1
				sats++
			}
		}
	}
	if sats != k.Saturations || ovfs != k.Overflows {
		return nil, fmt.Errorf("flag model: %d saturations, %d overflows; datapath %d, %d", sats, ovfs, k.Saturations, k.Overflows)
	}
	return f, nil
}
