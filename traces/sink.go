package traces

import "github.com/vimsim/vimsim/hw/datapath"

// Sink is what a simulator calls to record the invocations of the
// datapath units, with the layer index (vim.LayerEmbed, vim.LayerHead or
// the block), the workload op name (vim.Config.Workload: "in_proj",
// "conv1d_b", "x_proj_b", "scan", "gate", …; a split-K GEMM names its
// groups "x_proj_g0", …; the residual add, which has no workload op, is
// "residual"), the operands and the constants, right where it calls the
// matching hw/datapath function. Each method computes the expected outputs
// with that same function, so a recording needs no outputs; it does nothing
// for a (layer, unit) that Wants rejects. *Recorder implements Sink.
type Sink interface {
	Wants(layer int, u Unit) bool
	GEMM(layer int, op string, a datapath.Matrix[int8], w *datapath.Weights) error
	Requantize(layer int, op string, acc datapath.Matrix[int32], q *datapath.Requantizer, tokenOffset int) error
	RequantizeGroups(layer int, op string, accs []datapath.Matrix[int32], q *datapath.GroupRequantizer) error
	ChannelTables(layer int, op string, x datapath.Matrix[int8], ct *datapath.ChannelTables) error
	Table8(layer int, op string, x datapath.Matrix[int8], t *datapath.Table8) error
	Interp16(layer int, op string, x []int16, t *datapath.InterpTable16) error
	Exp2(layer int, op string, z []int32, u *datapath.Exp2Unit) error
	Scan(layer int, op string, in datapath.ScanInputs, p *datapath.ScanParams, u *datapath.Exp2Unit) error
	RMSNorm(layer int, op string, x datapath.Matrix[int32], u *datapath.NormUnit, p *datapath.NormParams) error
	DepthwiseConv(layer int, op string, x datapath.Matrix[int8], w datapath.Matrix[int8]) error
	Merge(layer int, op string, fwd, bwd datapath.Matrix[int16]) error
	ResidualAdd(layer int, op string, residual, add datapath.Matrix[int32]) error
}

var _ Sink = (*Recorder)(nil)
