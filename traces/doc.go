// Package traces turns invocations of the bit-accurate integer units of
// hw/datapath into golden vectors for RTL verification, and the cost model's
// schedule of a run into a Chrome/Perfetto trace (docs/RTL.md).
//
// A Recorder receives unit invocations — a GEMM, a requantization, a lookup,
// a scan, an RMSNorm, a depthwise convolution, a direction merge, a
// residual add — with their operands and constants, computes the
// expected outputs with the same hw/datapath functions the simulator uses,
// and keeps one vector set per invocation: $readmemh stimulus (*.in.hex) and
// expected (*.exp.hex) files, a params.vh parameter header and the name of
// the self-checking testbench (package hw/rtl) that runs it. Bundle collects
// the sets, the testbenches, a Makefile and a manifest.json into a Bundle,
// which WriteDir writes atomically.
//
// A recorded simulator run drives a Recorder through Sink; Synthetic drives a
// Recorder with deterministic pseudo-random operands at a model's shapes.
// Corners records the part of Synthetic that a real run does not reach (the
// edge-case and boundary sets that reach every corner DATAPATH.md lists, the
// exponent unit's sweeps, the interpolated int16 softplus), to complete a
// recorded run. The expected files include every flag the RTL outputs
// (saturation, overflow, the scan's per-job flags and, in the scan's
// corner sets, its per-state taps), recomputed step by step with the
// datapath's primitives and checked against the datapath's own run.
package traces
