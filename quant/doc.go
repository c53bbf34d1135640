// Package quant is the post-training quantization (PTQ) of Vision Mamba:
// the method of Shi et al., "Post-Training Quantization for Vision Mamba with
// k-Scaled Quantization and Reparameterization" (arXiv 2501.16738), as its
// official code defines it, with its baselines and ablations.
//
// Calibrate runs the float model on a few calibration images, streaming the
// statistics each quantizer needs, and returns a QModel: integer weight
// codes, activation scales (per tensor, per token or channel group, with
// power-of-two related token-group scales), the hidden-state
// reparameterization factors r_C, r_L, r_D with per-step hidden-state
// scales, and the bias corrections. QModel.Forward runs the fake-quantized
// model (quantize–dequantize in float64), so the method's own error can be
// told apart from the integer datapath's. Both run package vim's forward
// pass: the calibration with hooks that collect statistics at its sites,
// the fake-quantized model on the dequantized weights with hooks that
// quantize at the sites and a reparameterized scan in place of vim's. Write and ReadModel store a QModel
// as a versioned, self-describing safetensors file.
//
// The methods (Methods) are "naive" (per-tensor min-max everywhere, the
// official BasePTQ), "paper" (the full method), and the ablations
// "paper-no-kscale" and "paper-no-reparam". docs/QUANT.md describes the
// method as implemented; section numbers in comments (§n) refer to
// ../shared/reference/ptq-method.md.
package quant
