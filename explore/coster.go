package explore

import (
	"encoding/json"
	"fmt"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/quant"
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
// recipe's number formats (quant.OpList).
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
	ops, err := quant.OpList(c.Model, plan)
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
