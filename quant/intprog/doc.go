// Package intprog is the integer program of a quantized Vision Mamba: every
// constant the bit-accurate datapath (hw/datapath) needs to run the model —
// int8 weights, int32 biases in the accumulator domain, multiplier/shift
// requantizers, SiLU/softplus tables, RMSNorm constants, the scan unit's
// folded per-channel and per-step constants, the residual-stream constants —
// as integers, plus the float scales that dequantize its tensors for reports.
//
// quant.Compile is the offline step that builds a Program: it turns the
// calibrated real scales of a quant.QModel into integers with the offline
// builders of hw/datapath (QuantizeMultiplier, NewSiLUTable, NewNormParams,
// NewScanParams, …). This package holds the representation only, so that
// the cost model can read programs without the calibration code. Nothing of
// a Program is float at run time except the boundary conversion of the
// input image (Input) and the dequantization of outputs for reports
// (Scales). docs/DATAPATH.md §11 lists the per-tensor formats; §14
// ("Measured agreement with the fake-quant path") documents the formats the
// compiler chose where §11 left a choice.
//
// A Program is stored as a safetensors file (Write, Read): integer tensors
// under the names of its parts and a JSON header in the metadata (format
// "vimsim-intprog", FileVersion), see FileFormat.
package intprog
