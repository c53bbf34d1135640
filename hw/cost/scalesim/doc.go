// Package scalesim reproduces SCALE-Sim v2's cycle and memory-traffic
// figures for a systolic array in its USER-bandwidth mode, and reads and
// writes SCALE-Sim's file formats.
//
// SCALE-Sim v2 (github.com/scalesim-project/scale-sim-v2, commit 22f88b17)
// simulates a double-buffered scratchpad line by line: every cycle of the
// stall-free schedule asks the ifmap and filter read buffers for a line of
// addresses and hands a line of outputs to the ofmap write buffer. This
// package computes the same numbers without building SCALE-Sim's address
// matrices: the read buffers are tracked at the granularity SCALE-Sim
// decides hits at (one hundredth of a buffer), the demand of each cycle is a
// contiguous range of the operand's prefetch order found in closed form,
// cycles where no buffer can act are passed over in one step, and the write
// buffer advances by whole events (drains and stalls) instead of single
// words. Every field of SCALE-Sim's COMPUTE_REPORT.csv,
// BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv comes out equal,
// including its quirks (see docs/SCALESIM.md).
//
// A convolution whose im2col matrix repeats or omits ifmap addresses (windows
// that overlap, or a last window that runs past the edge) also lists its
// ifmap's prefetch order address by address, and the cycles whose words are
// not all in the window are served word by word, as SCALE-Sim serves them.
//
// Entry points: [Run] for a configuration and a list of layers, [ParseConfig]
// and [ParseTopology] for SCALE-Sim's .cfg and topology CSV files, and
// [WriteReports] for its three report files.
package scalesim
