// Package datapath holds the bit-accurate integer functional units of the
// vimsim accelerator: the int8 MAC-array GEMM and depthwise convolution, the
// fixed-point requantizer, the base-2 exponent unit, the SiLU/softplus lookup
// tables, the integer RMSNorm unit, the selective-scan (SSM) unit, the
// direction merge and the residual adder.
//
// Every run-time path uses integer arithmetic only. The constants those paths
// consume (multipliers, shifts, tables, per-step scan constants) are plain
// integers derived offline from real-valued scales by the functions of
// offline.go (QuantizeMultiplier, NewSiLUTable, NewExp2Unit, NewScanParams,
// ...), which are the only functions of the package that use floating point.
//
// The exact arithmetic of each unit — accumulator widths, rounding,
// saturation, table contents and indexing — is specified in docs/DATAPATH.md;
// the doc comment of each unit names the section it implements. Each unit
// adds the operations it performs and the saturation events it meets to a
// caller-owned Counters value.
package datapath
