package explore

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
)

// Coster prices a recipe on an architecture: the cost half of the
// exploration.
type Coster interface {
	// Key identifies everything a cost depends on besides the recipe and
	// the architecture (the model's shapes, the cost model's build).
	Key() string
	// Cost estimates one image of the model under recipe plan on each
	// design, in order, using up to workers goroutines (0: GOMAXPROCS);
	// the points' Pareto fields are false.
	Cost(designs []arch.Spec, plan quant.Plan, workers int) ([]cost.DesignPoint, error)
}

// OpCoster is vimsim's Coster: cost.EstimateOps on the model's op list
// (intprog.Lower, as `vimsim run` and `vimsim sweep` price it) carrying the
// recipe's number formats (OpList).
type OpCoster struct {
	Model vim.Config
	// Build identifies the vimsim build (see BuildKey).
	Build string
}

// Key implements Coster.
func (c OpCoster) Key() string {
	cfg := c.Model
	cfg.Name = ""
	b, _ := json.Marshal(cfg)
	return fmt.Sprintf("oplist %s\nbuild %s\ncache %d", b, c.Build, CacheVersion)
}

// Cost implements Coster with cost.Sweep.
func (c OpCoster) Cost(designs []arch.Spec, plan quant.Plan, workers int) ([]cost.DesignPoint, error) {
	ops, err := OpList(c.Model, plan)
	if err != nil {
		return nil, err
	}
	pts, err := cost.Sweep(designs, c.Model.Name, ops, workers)
	if err != nil {
		return nil, err
	}
	for i := range pts {
		pts[i].Pareto = false
	}
	return pts, nil
}

// OpList returns the op list of model c under recipe plan without
// calibrating: intprog.Lower's shapes with every op's number formats as the
// compiler sets them for plan (quant.Compile; the op list of the recipe's
// compiled program carries the same formats, checked by the tests) — the
// weights int4 at 4 bits and in int8 containers at 5–8 bits (conv1d's taps
// too), the outputs of patch_embed, in_proj, conv1d, x_proj, dt_proj and
// out_proj at their activation bits (read at those bits by the ops that
// take them), the norm outputs at the block's and norm_f's bits, the scan
// state at the layer's hidden-state bits. The precision-aware cost model
// prices these formats.
func OpList(c vim.Config, plan quant.Plan) ([]intprog.Op, error) {
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
				f.Weight, f.Out = weightFormat(plan.Embed.W), intprog.Int(plan.Embed.A)
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
				f.In, f.Weight = intprog.Int(plan.Final.A), weightFormat(plan.Head.W)
			}
			continue
		}
		if op.Layer < 0 || op.Layer >= len(plan.Blocks) {
			return nil, fmt.Errorf("model %s: op %s of layer %d", c.Name, op.Name, op.Layer)
		}
		b := plan.Blocks[op.Layer]
		bits := func(o quant.OpName) quant.OpBits { return b.Ops[o] }
		switch strings.TrimSuffix(op.Name, "_b") {
		case "norm":
			f.Out = intprog.Int(b.Other.A)
		case "in_proj":
			f.In, f.Weight, f.Out = intprog.Int(b.Other.A), weightFormat(bits(quant.OpInProj).W), intprog.Int(bits(quant.OpInProj).A)
		case "silu_z":
			f.In = intprog.Int(bits(quant.OpInProj).A)
		case "conv1d":
			f.In, f.Weight, f.Out = intprog.Int(bits(quant.OpInProj).A), weightFormat(bits(quant.OpConv1d).W), intprog.Int(bits(quant.OpConv1d).A)
		case "silu":
			f.In = intprog.Int(bits(quant.OpConv1d).A)
		case "x_proj":
			f.Weight, f.Out = weightFormat(bits(quant.OpXProj).W), intprog.Int(bits(quant.OpXProj).A)
		case "dt_proj":
			f.In, f.Weight, f.Out = intprog.Int(bits(quant.OpXProj).A), weightFormat(bits(quant.OpDtProj).W), intprog.Int(bits(quant.OpDtProj).A)
		case "softplus":
			f.In = intprog.Int(bits(quant.OpDtProj).A)
		case "scan":
			f.State = intprog.Int(b.H)
		case "out_proj":
			f.Weight, f.Out = weightFormat(bits(quant.OpOutProj).W), intprog.Int(bits(quant.OpOutProj).A)
		case "residual":
			f.In = intprog.Int(bits(quant.OpOutProj).A)
		}
	}
	return ops, nil
}

// weightFormat is the storage format of w-bit weights in a program: int4
// MAC operands at 4 bits, int8 containers for 5–8 bits.
func weightFormat(w int) intprog.Format {
	if w <= 4 {
		return intprog.Int(4)
	}
	return intprog.Int(8)
}
