package sim

import (
	"fmt"

	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/quant/intprog"
)

// Recorder records the datapath unit calls of a run (golden vectors:
// package traces implements it). Each method receives, before the unit
// runs, the layer of the op (vim.LayerEmbed, vim.LayerHead or the block),
// the op's name ("in_proj", "conv1d_b", "pos_embed", "residual", …; the
// partial sums of a split-K GEMM "x_proj_g0", "x_proj_g1", …), and the
// operands and constants of the call; it computes the expected outputs
// with the same hw/datapath function.
type Recorder interface {
	GEMM(layer int, op string, a datapath.Matrix[int8], w *datapath.Weights) error
	Requantize(layer int, op string, acc datapath.Matrix[int32], q *datapath.Requantizer, tokenOffset int) error
	RequantizeGroups(layer int, op string, accs []datapath.Matrix[int32], q *datapath.GroupRequantizer) error
	ChannelTables(layer int, op string, x datapath.Matrix[int8], ct *datapath.ChannelTables) error
	Scan(layer int, op string, in datapath.ScanInputs, p *datapath.ScanParams, u *datapath.Exp2Unit) error
	RMSNorm(layer int, op string, x datapath.Matrix[int32], u *datapath.NormUnit, p *datapath.NormParams) error
	// DepthwiseConv's wbits is the width of the taps' values, 8 or 4
	// (the op's Formats.Weight).
	DepthwiseConv(layer int, op string, x datapath.Matrix[int8], w datapath.Matrix[int8], wbits int) error
	Merge(layer int, op string, fwd, bwd datapath.Matrix[int16]) error
	ResidualAdd(layer int, op string, residual, add datapath.Matrix[int32]) error
}

// recordingUnits is the decorator that hands every unit call to a
// Recorder before the units run it.
type recordingUnits struct {
	units
	rec  Recorder
	exp  *datapath.Exp2Unit
	norm *datapath.NormUnit
}

// did wraps a recording error.
func did(err error) error {
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// groupOp names partial sum g of a split-K GEMM of n groups: op itself
// when there is one group, else op_g<g>.
func groupOp(op string, g, n int) string {
	if n == 1 {
		return op
	}
	return fmt.Sprintf("%s_g%d", op, g)
}

func (r *recordingUnits) gemm(op *intprog.Op, group int, dst datapath.Matrix[int32], a datapath.Matrix[int8], w *datapath.Weights, k *datapath.Counters) error {
	if err := did(r.rec.GEMM(op.Layer, groupOp(op.Name, group, op.Groups), a, w)); err != nil {
		return err
	}
	return r.units.gemm(op, group, dst, a, w, k)
}

func (r *recordingUnits) requantize(op *intprog.Op, dst tensor, acc datapath.Matrix[int32], q *datapath.Requantizer, k *datapath.Counters) error {
	if err := did(r.rec.Requantize(op.Layer, op.Name, acc, q, 0)); err != nil {
		return err
	}
	return r.units.requantize(op, dst, acc, q, k)
}

func (r *recordingUnits) requantizeGroups(op *intprog.Op, dst tensor, accs []datapath.Matrix[int32], q *datapath.GroupRequantizer, k *datapath.Counters) error {
	if err := did(r.rec.RequantizeGroups(op.Layer, op.Name, accs, q)); err != nil {
		return err
	}
	return r.units.requantizeGroups(op, dst, accs, q, k)
}

func (r *recordingUnits) tables(op *intprog.Op, dst, src datapath.Matrix[int8], t *datapath.ChannelTables, k *datapath.Counters) error {
	if err := did(r.rec.ChannelTables(op.Layer, op.Name, src, t)); err != nil {
		return err
	}
	return r.units.tables(op, dst, src, t, k)
}

func (r *recordingUnits) depthwiseConv(op *intprog.Op, dst datapath.Matrix[int32], x, w datapath.Matrix[int8], k *datapath.Counters) error {
	if err := did(r.rec.DepthwiseConv(op.Layer, op.Name, x, w, op.Format.Weight.Bits)); err != nil {
		return err
	}
	return r.units.depthwiseConv(op, dst, x, w, k)
}

func (r *recordingUnits) scan(op *intprog.Op, dst datapath.Matrix[int16], in datapath.ScanInputs, p *datapath.ScanParams, taps *datapath.ScanTaps, k *datapath.Counters) error {
	if err := did(r.rec.Scan(op.Layer, op.Name, in, p, r.exp)); err != nil {
		return err
	}
	return r.units.scan(op, dst, in, p, taps, k)
}

func (r *recordingUnits) rmsNorm(op *intprog.Op, dst datapath.Matrix[int8], x datapath.Matrix[int32], p *datapath.NormParams, k *datapath.Counters) error {
	if err := did(r.rec.RMSNorm(op.Layer, op.Name, x, r.norm, p)); err != nil {
		return err
	}
	return r.units.rmsNorm(op, dst, x, p, k)
}

func (r *recordingUnits) merge(op *intprog.Op, dst datapath.Matrix[int8], fwd, bwd datapath.Matrix[int16], k *datapath.Counters) error {
	if err := did(r.rec.Merge(op.Layer, op.Name, fwd, bwd)); err != nil {
		return err
	}
	return r.units.merge(op, dst, fwd, bwd, k)
}

func (r *recordingUnits) residualAdd(op *intprog.Op, dst, src datapath.Matrix[int32], k *datapath.Counters) error {
	if err := did(r.rec.ResidualAdd(op.Layer, op.Name, dst, src)); err != nil {
		return err
	}
	return r.units.residualAdd(op, dst, src, k)
}
