package quant

import (
	"fmt"
	"strings"

	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
)

// OpList returns the op list of model c under recipe plan without
// calibrating: intprog.Lower's shapes with every op's number formats as the
// compiler sets them for plan (Compile; the op list of the recipe's
// compiled program carries the same formats, checked op by op by
// explore's TestOpListIsTheProgramsList) — the weights int4 at 4 bits and
// in int8 containers at 5–8 bits (conv1d's taps too), the outputs of patch_embed, in_proj, conv1d, x_proj, dt_proj and
// out_proj at their activation bits (read at those bits by the ops that
// take them), the norm outputs at the block's and norm_f's bits, the scan
// state at the layer's hidden-state bits. The precision-aware cost model
// prices these formats.
func OpList(c vim.Config, plan Plan) ([]intprog.Op, error) {
	l, err := intprog.Lower(c)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", c.Name, err)
	}
	if len(plan.Blocks) != c.Depth {
		return nil, fmt.Errorf("model %s: recipe plan of %d blocks for depth %d", c.Name, len(plan.Blocks), c.Depth)
	}
	ops := l.Ops
	for i := range ops {
		op := &ops[i]
		f := &op.Format
		if op.Layer == vim.LayerEmbed {
			switch op.Name {
			case "patch_embed":
				f.Weight, f.Out = opWeightFormat(plan.Embed.W), intprog.Int(plan.Embed.A)
			case "pos_embed":
				f.In = intprog.Int(plan.Embed.A)
			}
			continue
		}
		if op.Layer == vim.LayerHead {
			switch op.Name {
			case "norm_f":
				f.Out = intprog.Int(plan.Final.A)
			case "head":
				f.In, f.Weight = intprog.Int(plan.Final.A), opWeightFormat(plan.Head.W)
			}
			continue
		}
		if op.Layer < 0 || op.Layer >= len(plan.Blocks) {
			return nil, fmt.Errorf("model %s: op %s of layer %d", c.Name, op.Name, op.Layer)
		}
		b := plan.Blocks[op.Layer]
		bits := func(o OpName) OpBits { return b.Ops[o] }
		switch strings.TrimSuffix(op.Name, "_b") {
		case "norm":
			f.Out = intprog.Int(b.Other.A)
		case "in_proj":
			f.In, f.Weight, f.Out = intprog.Int(b.Other.A), opWeightFormat(bits(OpInProj).W), intprog.Int(bits(OpInProj).A)
		case "silu_z":
			f.In = intprog.Int(bits(OpInProj).A)
		case "conv1d":
			f.In, f.Weight, f.Out = intprog.Int(bits(OpInProj).A), opWeightFormat(bits(OpConv1d).W), intprog.Int(bits(OpConv1d).A)
		case "silu":
			f.In = intprog.Int(bits(OpConv1d).A)
		case "x_proj":
			f.Weight, f.Out = opWeightFormat(bits(OpXProj).W), intprog.Int(bits(OpXProj).A)
		case "dt_proj":
			f.In, f.Weight, f.Out = intprog.Int(bits(OpXProj).A), opWeightFormat(bits(OpDtProj).W), intprog.Int(bits(OpDtProj).A)
		case "softplus":
			f.In = intprog.Int(bits(OpDtProj).A)
		case "scan":
			f.State = intprog.Int(b.H)
		case "out_proj":
			f.Weight, f.Out = opWeightFormat(bits(OpOutProj).W), intprog.Int(bits(OpOutProj).A)
		case "residual":
			f.In = intprog.Int(bits(OpOutProj).A)
		}
	}
	return ops, nil
}

// opWeightFormat is the storage format of w-bit weights in a program: int4
// MAC operands at 4 bits, int8 containers for 5–8 bits.
func opWeightFormat(w int) intprog.Format {
	if w <= 4 {
		return intprog.Int(4)
	}
	return intprog.Int(8)
}
