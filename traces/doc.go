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
// Until the integer simulator records a real run, Synthetic drives a
// Recorder with deterministic pseudo-random operands at a model's shapes.
// Corners records the part of Synthetic that a real run does not reach (the
// edge-case sets, the exponent unit's sweep, the interpolated int16
// softplus), to complete a recorded run.
package traces
