// Package sim executes a quantized Vision Mamba on the bit-accurate integer
// units of hw/datapath: Run takes an integer program (quant/intprog) and a
// batch of normalised images and returns the logits, exactly as hardware
// built to docs/DATAPATH.md would compute them, with the work each operation
// did and every saturation and overflow it met (datapath.Counters per
// operation).
//
// Run interprets the program's op list (intprog.Program.List), the same
// list the cost model (hw/cost) prices: a loop over the ops, each run by the
// kernel of its kind on its operand buffers, calling the datapath units
// through one interface. Recording (golden vectors: a Recorder, which
// package traces implements) decorates the units; tapping (Options.Tap:
// the tensors the float reference also computes, at the sites the op list
// names) decorates the execution of an op. The package links neither the
// cost model nor the RTL.
//
// The only float arithmetic of a run is at its boundary: the conversion of
// the input image to int8 codes (intprog.Input) and the dequantization of
// the int32 logits and of the tapped tensors for reports. Everything in
// between is integer and deterministic; images run in parallel on all cores
// and the results do not depend on GOMAXPROCS.
//
// Fidelity compares a run with the float reference (vim.Model.Forward) and
// with the fake-quant execution of the same quantized model
// (quant.QModel.ForwardTap), tensor by tensor: SQNR, cosine similarity, equal
// codes and the largest difference, plus the logits SQNR and top-1
// agreement.
package sim
