package sim

import (
	"strings"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
)

// expectedCounts maps the cost model's counts of one workload operation
// (cost.CountsOf) to what the functional simulation counts for it. The
// categories agree except where the datapath does work the cost model does
// not itemize (DATAPATH.md §14.4):
//
//   - split-K GEMMs (patch_embed by image channel, x_proj by the SiLU
//     output's channel groups, out_proj by the merge groups) add one MAC
//     per group and output in the group requantizer; a split out_proj also
//     requantizes twice (groups → int32, then the token shifts → int8);
//   - the scan unit counts 4 MACs per state lane (Δ·A, Ā′·q, Xu·B, H·C) and
//     3 per (t, d) (Δ·x, the D skip, the gate), against the cost model's 3
//     per lane; it requantizes 4 times per (t, d) (the two Δ·B·x stages, y′
//     and the gate) against 1;
//   - the norm unit counts per element 3 MACs (square, x·r, n·γ) and one
//     requantization, and per row a seed-table look-up, which the cost
//     model leaves out (it counts one rsqrt per row);
//   - the integer path adds the int8 → int32 conversion of the patch tokens
//     to the residual scale (one requantization per element, counted under
//     pos_embed) and of each mixer output (the "residual" operation, which
//     the workload does not list).
func expectedCounts(p *intprog.Program, op vim.Op, c cost.OpCounts) datapath.Counters {
	cfg := p.Config
	e := datapath.Counters{MACs: c.MACs, Requants: c.Requants, LUTLookups: c.LUTLookups, Exps: c.Exps, Rsqrts: c.Rsqrts}
	M, N := int64(op.M), int64(op.N)
	bwd := strings.HasSuffix(op.Name, "_b")
	switch strings.TrimSuffix(op.Name, "_b") {
	case "patch_embed":
		e.MACs += int64(p.Embed.Patch.Groups()) * M * N
	case "pos_embed":
		e.Requants += int64(cfg.Patches()) * N
	case "x_proj":
		d := vim.Fwd
		if bwd {
			d = vim.Bwd
		}
		e.MACs += int64(p.Layers[op.Layer].Dir[d].XProj.Groups()) * M * N
	case "out_proj":
		if s := p.Layers[op.Layer].OutSplit; s != nil {
			e.MACs += int64(s.Groups()) * M * N
			e.Requants *= 2
		}
	case "scan":
		// op: M steps, N channels, K states.
		e.MACs = c.MACs/3*4 + 3*M*N
		e.Requants *= 4
	case "norm", "norm_f":
		e.MACs = 3 * M * N
		e.Requants = M * N
		e.LUTLookups = M
	}
	return e
}

// TestCountsMatchCostModel checks that the functional simulation counts, per
// operation, the MACs, requantizations, table look-ups, exponentials and
// rsqrts that the cost model (cost.EstimateModel) predicts, under the mapping
// of expectedCounts, and nothing else.
func TestCountsMatchCostModel(t *testing.T) {
	f := loadToy(t)
	spec, err := arch.ResolveSpec("systolic16")
	if err != nil {
		t.Fatal(err)
	}
	for method, p := range f.prog {
		c := p.Config
		size := c.Channels * c.ImgH * c.ImgW
		res, err := Run(p, f.imgs[:size], 1, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[Op]datapath.Counters{}
		for _, o := range res.Ops {
			k := o.Counters
			k.Saturations, k.Overflows = 0, 0
			got[o.Op] = k
		}
		est, err := cost.EstimateModel(spec, c)
		if err != nil {
			t.Fatal(err)
		}
		work := c.Workload()
		if len(est.Ops) != len(work) {
			t.Fatalf("%d estimated operations for %d in the workload", len(est.Ops), len(work))
		}
		seen := map[Op]bool{}
		for i, oc := range est.Ops {
			op := work[i]
			if oc.Layer != op.Layer || oc.Name != op.Name || oc.Counts != cost.CountsOf(op) {
				t.Fatalf("estimate row %d (%d %s) does not match the workload", i, oc.Layer, oc.Name)
			}
			key := Op{op.Layer, op.Name}
			seen[key] = true
			g, ok := got[key]
			if !ok && op.Kind == vim.OpGate {
				key = Op{op.Layer, "gate"}
				g, ok = got[key]
			}
			if !ok {
				t.Errorf("%s: operation %d %s not simulated", method, op.Layer, op.Name)
				continue
			}
			if want := expectedCounts(p, op, oc.Counts); g != want {
				t.Errorf("%s: %d %s: simulated %+v, cost model maps to %+v", method, op.Layer, op.Name, g, want)
			}
		}
		// The operations only the integer path has.
		for o, g := range got {
			if seen[o] {
				continue
			}
			var want datapath.Counters
			switch o.Name {
			case "input":
			case "residual":
				want.Requants = int64(c.Tokens()) * int64(c.Dim)
			default:
				t.Errorf("%s: simulated operation %d %s is not in the workload", method, o.Layer, o.Name)
				continue
			}
			if g != want {
				t.Errorf("%s: %d %s: %+v, want %+v", method, o.Layer, o.Name, g, want)
			}
		}
		// Totals of the categories that map one to one.
		tot := res.Total()
		var exps, rsqrts int64
		for _, oc := range est.Ops {
			exps += oc.Counts.Exps
			rsqrts += oc.Counts.Rsqrts
		}
		if tot.Exps != exps || tot.Rsqrts != rsqrts {
			t.Errorf("%s: %d exps and %d rsqrts, cost model %d and %d", method, tot.Exps, tot.Rsqrts, exps, rsqrts)
		}
	}
}
