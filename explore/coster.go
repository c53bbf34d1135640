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

// OpList returns the op list of model c under recipe plan: intprog.Lower's
// shapes with the weight format of every GEMM set as the compiler sets it
// (int4 for weights of 4 bits or fewer, else int8 containers) and the scan
// state format set to the layer's hidden-state bits.
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
		name := quant.OpName(strings.TrimSuffix(op.Name, "_b"))
		switch op.Kind {
		case intprog.KindGEMM:
			op.Format.Weight = weightFormat(plan.Bits(op.Layer, name).W)
		case intprog.KindScan:
			if op.Layer >= 0 && op.Layer < len(plan.Blocks) {
				op.Format.State = intprog.Int(plan.Blocks[op.Layer].H)
			}
		}
	}
	return ops, nil
}

// weightFormat is the storage format of w-bit weights in a program.
func weightFormat(w int) intprog.Format {
	if w <= 4 {
		return intprog.Int(4)
	}
	return intprog.Int(8)
}
