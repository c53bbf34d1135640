package traces

import (
	"fmt"

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
	if err := datapath.RMSNorm(out, x, u, p, nil); err != nil {
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
	s.vectors = x.Rows * x.Cols
	return r.keep(s)
}
