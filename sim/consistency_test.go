package sim

import (
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/internal/fixture"
	"github.com/vimsim/vimsim/internal/pixels"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
)

// TestCountsMatchCostModel checks that the functional simulation of a
// program counts, op by op, exactly the events that the cost model counts
// for the same op of the same program (cost.EstimateProgram, cost.CountsOf):
// MACs, requantizations, table look-ups, exponentials and rsqrts, with the
// program's split-K groups and residual requantizers, on the vim-toy and
// the default model, for the paper and the naive method, and on a
// mixed-precision vim-toy program (int4 weights, an int16 scan state).
// Saturations and overflows depend on the data and are not compared.
func TestCountsMatchCostModel(t *testing.T) {
	spec, err := arch.ResolveSpec("systolic16")
	if err != nil {
		t.Fatal(err)
	}
	toy := loadToy(t)
	def, err := vim.Load(vim.DefaultModel, vim.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defSet, err := fixture.Calibrate(def, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		name string
		prog func(method string) *intprog.Program
		cfg  vim.Config
	}{
		{"vim-toy", func(method string) *intprog.Program { return toy.prog[method] }, toy.m.Config},
		{vim.DefaultModel, func(method string) *intprog.Program { return defSet.Program(t, method) }, def.Config},
		{"vim-toy mixed", func(string) *intprog.Program { return fixture.Mixed(t).Program }, toy.m.Config},
	} {
		for _, method := range []string{quant.MethodPaper, quant.MethodNaive} {
			if m.name == "vim-toy mixed" && method == quant.MethodNaive {
				continue
			}
			p := m.prog(method)
			res, err := Run(p, pixels.Images(m.cfg, 1, 3), 1, Options{})
			if err != nil {
				t.Fatal(err)
			}
			est, err := cost.EstimateProgram(spec, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(est.Ops) != len(res.Ops) {
				t.Fatalf("%s %s: %d estimated ops, %d simulated", m.name, method, len(est.Ops), len(res.Ops))
			}
			groups := 0
			for i, oc := range est.Ops {
				got := res.Ops[i]
				if got.Layer != oc.Layer || got.Name != oc.Name {
					t.Fatalf("%s %s: op %d is %d %s in the estimate, %d %s in the run", m.name, method, i, oc.Layer, oc.Name, got.Layer, got.Name)
				}
				k := got.Counters
				k.Saturations, k.Overflows = 0, 0
				if k != oc.Counts {
					t.Errorf("%s %s: %d %s: simulated %+v, cost model %+v", m.name, method, oc.Layer, oc.Name, k, oc.Counts)
				}
				groups = max(groups, p.List().Ops[i].Groups)
			}
			tot := res.Total()
			tot.Saturations, tot.Overflows = 0, 0
			if tot != est.Totals.Counts {
				t.Errorf("%s %s: simulated total %+v, cost model %+v", m.name, method, tot, est.Totals.Counts)
			}
			if method == quant.MethodPaper && groups < 2 {
				t.Errorf("%s %s: no split-K GEMM: the group counts are not exercised", m.name, method)
			}
		}
	}
}
