package explore

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
)

func TestParseBudget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Budget
		err  string
	}{
		{in: "energy=40uJ", want: []Budget{{Metric: "energy", Limit: 40}}},
		{in: "energy=40", want: []Budget{{Metric: "energy", Limit: 40}}},
		{in: "energy=0.5mJ", want: []Budget{{Metric: "energy", Limit: 500}}},
		{in: "energy=40µJ", want: []Budget{{Metric: "energy", Limit: 40}}},
		{in: "latency=250us", want: []Budget{{Metric: "latency", Limit: 0.25}}},
		{in: "latency=1.5ms, dsp=200", want: []Budget{{Metric: "latency", Limit: 1.5}, {Metric: "dsp", Limit: 200}}},
		{in: "energy=70%", want: []Budget{{Metric: "energy", Percent: 70}}},
		{in: "Energy = 40 uJ", want: []Budget{{Metric: "energy", Limit: 40}}},
		{in: "power=3W", err: "want energy"},
		{in: "energy", err: "want energy"},
		{in: "energy=40kg", err: "unknown unit"},
		{in: "dsp=200uJ", err: "unknown unit"},
		{in: "energy=-4uJ", err: "not a positive number"},
		{in: "energy=0", err: "not a positive number"},
		{in: "energy=0%", err: "not a positive percentage"},
		{in: "energy=1,energy=2", err: "given twice"},
		{in: "energy=1e400", err: "not a positive number"},
	} {
		got, err := ParseBudget(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q: %+v, want %+v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i].Metric != tc.want[i].Metric || math.Abs(got[i].Limit-tc.want[i].Limit) > 1e-12 || got[i].Percent != tc.want[i].Percent {
				t.Errorf("%q: %+v, want %+v", tc.in, got, tc.want)
			}
		}
	}
}

func TestMovesAndApply(t *testing.T) {
	base := quant.Uniform(8, 8, 16)
	plan, err := base.Resolve(3)
	if err != nil {
		t.Fatal(err)
	}
	moves := Moves(plan)
	if len(moves) != len(quant.RecipeOps())+3 {
		t.Fatalf("%d moves: %+v", len(moves), moves)
	}
	// Every subset of moves resolves to the base with exactly those changes.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		var ms []Move
		for _, m := range moves {
			if rng.IntN(2) == 0 {
				ms = append(ms, m)
			}
		}
		got, err := Apply(base, ms, "x").Resolve(3)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := base.Resolve(3)
		for _, m := range ms {
			switch m.Op {
			case quant.OpPatchEmbed:
				want.Embed.W = m.W
			case quant.OpHead:
				want.Head.W = m.W
			case "":
				want.Blocks[m.Layer].H = m.H
			default:
				for l := range want.Blocks {
					b := want.Blocks[l].Ops[m.Op]
					b.W = m.W
					want.Blocks[l].Ops[m.Op] = b
				}
			}
		}
		if got.Key() != want.Key() {
			t.Fatalf("moves %v:\n got %s\nwant %s", moveNames(ms), got.Key(), want.Key())
		}
	}
	// A uniform W4A8H8 base has nothing to lower.
	p4, _ := quant.Uniform(4, 8, 8).Resolve(3)
	if m := Moves(p4); len(m) != 0 {
		t.Errorf("W4A8H8: moves %v", m)
	}
}

// synthetic is a cost model over n moves: each move saves its own energy,
// and DSPs drop only when every move of the group is taken (like a DSP
// packing that needs every GEMM at 4 bits).
type synthetic struct {
	base   float64
	saves  []float64
	group  []int
	dsp0   float64
	dspCut float64
	bud    []Budget
	lim    []float64
}

func (s synthetic) cost(set []int) (cost.DesignPoint, float64, error) {
	in := map[int]bool{}
	e := s.base
	for _, i := range set {
		in[i] = true
		e -= s.saves[i]
	}
	dsp := s.dsp0
	all := true
	for _, g := range s.group {
		all = all && in[g]
	}
	if all {
		dsp -= s.dspCut
	}
	d := cost.DesignPoint{UJPerImage: e, LatencyMS: 1, Resources: &cost.Resources{DSP: int64(dsp)}}
	x, err := excess(s.bud, s.lim, d)
	return d, x, err
}

// bestByDefinition is the least total weight over every feasible subset.
func bestByDefinition(n int, w []float64, f costFunc) float64 {
	best := math.Inf(1)
	for mask := 0; mask < 1<<n; mask++ {
		set := maskSet(mask, n)
		if _, e, _ := f(set); e == 0 {
			var sw float64
			for _, i := range set {
				sw += w[i]
			}
			best = math.Min(best, sw)
		}
	}
	return best
}

func TestAllocation(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ctx := context.Background()
	for trial := range 200 {
		n := 1 + rng.IntN(8)
		s := synthetic{base: 100, saves: make([]float64, n), dsp0: 100}
		w := make([]float64, n)
		total := 0.0
		for i := range n {
			s.saves[i] = float64(1 + rng.IntN(10))
			total += s.saves[i]
			w[i] = float64(rng.IntN(6)) / 2
		}
		for i := range n {
			if rng.IntN(3) == 0 {
				s.group = append(s.group, i)
			}
		}
		s.dspCut = 50
		s.bud = []Budget{{Metric: MetricEnergy, Limit: 100 - total*rng.Float64()*1.2}}
		if trial%2 == 0 && len(s.group) > 0 {
			s.bud = append(s.bud, Budget{Metric: MetricDSP, Limit: 60})
		}
		s.lim = []float64{s.bud[0].Limit, 60}[:len(s.bud)]
		want := bestByDefinition(n, w, s.cost)
		ks, err := knapsack(ctx, n, w, s.cost)
		if err != nil {
			t.Fatal(err)
		}
		gr, _, err := greedy(ctx, n, w, s.cost)
		if err != nil {
			t.Fatal(err)
		}
		if math.IsInf(want, 1) {
			if ks != nil {
				t.Errorf("trial %d: knapsack found %v, but no set meets the budgets", trial, ks)
			}
			continue
		}
		weight := func(set []int) float64 {
			var sw float64
			for _, i := range set {
				sw += w[i]
			}
			return sw
		}
		if ks == nil || weight(ks) != want {
			t.Errorf("trial %d: knapsack %v weighs %v, the best %v", trial, ks, weight(ks), want)
		}
		if _, e, _ := s.cost(ks); e != 0 {
			t.Errorf("trial %d: knapsack set %v is over budget", trial, ks)
		}
		// Greedy is feasible whenever some set is (every move only lowers
		// cost here), and never better than the optimum.
		if gr == nil {
			t.Errorf("trial %d: greedy found nothing", trial)
			continue
		}
		if _, e, _ := s.cost(gr); e != 0 {
			t.Errorf("trial %d: greedy set %v is over budget", trial, gr)
		}
		if weight(gr) < want {
			t.Errorf("trial %d: greedy %v beats the optimum", trial, gr)
		}
	}
}

// fakeMixed is an evaluator for any recipe: the float reference plus a
// deterministic noise whose power is the sum of one power per lowered op
// class and per lowered hidden state (the additive model the search
// assumes), so that the search's choices can be checked exactly.
type fakeMixed struct {
	m     *Datapath
	power map[string]float64 // by move name
}

func (f *fakeMixed) Key() string { return "fake " + f.m.Key() }

func (f *fakeMixed) Config() vim.Config { return f.m.Config() }

func (f *fakeMixed) Check(Recipe) error { return nil }

func (f *fakeMixed) Compile(r Recipe) (*intprog.Program, error) {
	return &intprog.Program{Config: f.Config(), Method: r.Plan.Key()}, nil
}

func (f *fakeMixed) Reference(imgs []float64, n int) ([]float64, error) {
	return f.m.Reference(imgs, n)
}

func (f *fakeMixed) planPower(key string) float64 {
	p := 1e-4
	for name, w := range f.power {
		var op, lay string
		if strings.Contains(name, "layer") {
			lay = strings.Fields(name)[1]
			if strings.Contains(key, ";"+lay+":h8") {
				p += w
			}
			continue
		}
		op = strings.Fields(name)[0]
		switch op {
		case "patch_embed":
			if strings.HasPrefix(key, "pe:w4") {
				p += w
			}
		case "head":
			if strings.Contains(key, "head:w4") {
				p += w
			}
		default:
			if strings.Contains(key, op+":w4") {
				p += w
			}
		}
	}
	return p
}

func (f *fakeMixed) Run(p *intprog.Program, imgs []float64, n int) ([]float64, error) {
	ref, err := f.m.Reference(imgs, n)
	if err != nil {
		return nil, err
	}
	amp := math.Sqrt(3 * f.planPower(p.Method))
	out := make([]float64, len(ref))
	for i, v := range ref {
		// A fixed pseudo-random pattern in [-1, 1], mean square 1/3.
		u := float64((uint64(i)*2654435761+12345)%1000)/500 - 1
		out[i] = v + amp*u
	}
	return out, nil
}

// fakeCost prices a plan: every 4-bit op class and every 8-bit hidden
// state saves a fixed energy; DSPs halve only when every GEMM class is 4-bit.
type fakeCost struct {
	save map[string]float64
}

func (fakeCost) Key() string { return "fake cost" }

func (c fakeCost) Cost(designs []arch.Spec, plan quant.Plan, _ int) ([]cost.DesignPoint, error) {
	key := plan.Key()
	e := 100.0
	for name, s := range c.save {
		f := strings.Fields(name)
		switch {
		case f[0] == "layer" && strings.Contains(key, ";"+f[1]+":h8"):
			e -= s
		case f[0] == "patch_embed" && strings.HasPrefix(key, "pe:w4"), f[0] == "head" && strings.Contains(key, "head:w4"),
			f[0] != "layer" && f[0] != "patch_embed" && f[0] != "head" && strings.Contains(key, f[0]+":w4"):
			e -= s
		}
	}
	out := make([]cost.DesignPoint, len(designs))
	for i, d := range designs {
		out[i] = cost.DesignPoint{Name: d.Name, Spec: d, UJPerImage: e, LatencyMS: 1}
	}
	return out, nil
}

func TestSearchFindsTheOptimum(t *testing.T) {
	m := toyModel(t)
	x := newTestExplorer(t, m, 20, 10, nil)
	dp := x.opt.Evaluator.(*Datapath)
	base := quant.Uniform(8, 8, 16)
	plan, _ := base.Resolve(m.Config.Depth)
	moves := Moves(plan)
	power, save := map[string]float64{}, map[string]float64{}
	for i, mv := range moves {
		power[mv.Name] = 1e-3 * float64(1+(i*7)%5)
		save[mv.Name] = float64(1 + (i*3)%4)
	}
	x.opt.Evaluator = &fakeMixed{m: dp, power: power}
	x.opt.Coster = fakeCost{save: save}
	x.evalKey, x.costKey = x.opt.Evaluator.Key(), x.opt.Coster.Key()
	sp := testSpace(t, m, "W8A8H8", "")
	for _, tc := range []struct {
		budget   string
		allocate string
	}{
		{"energy=90uJ", AllocKnapsack},
		{"energy=80%", AllocGreedy},
		{"energy=95", AllocAuto},
	} {
		bs, err := ParseBudget(tc.budget)
		if err != nil {
			t.Fatal(err)
		}
		res, err := x.Search(context.Background(), SearchOptions{Base: base, Design: sp.Designs[0], Budgets: bs, Allocate: tc.allocate})
		if err != nil {
			t.Fatalf("%s: %v", tc.budget, err)
		}
		if res.Found.Cost.UJPerImage > res.Limits[0] {
			t.Errorf("%s: found %.1f µJ over the limit %.1f", tc.budget, res.Found.Cost.UJPerImage, res.Limits[0])
		}
		// The weights are the noise powers the fake adds (up to the
		// pattern's mean square), so the optimum is known.
		w := make([]float64, len(moves))
		for i, s := range res.Moves {
			w[i] = math.Max(s.DNoise, 0)
		}
		costSet := func(set []int) (cost.DesignPoint, float64, error) {
			ms := make([]Move, len(set))
			for k, i := range set {
				ms[k] = moves[i]
			}
			pl, _ := Apply(base, ms, "x").Resolve(m.Config.Depth)
			d, _ := fakeCost{save: save}.Cost(sp.Designs[:1], pl, 1)
			e, err := excess(bs, res.Limits, d[0])
			return d[0], e, err
		}
		best := bestByDefinition(len(moves), w, costSet)
		var got float64
		for _, i := range res.Chosen {
			got += w[i]
		}
		if b, err := PlotSensitivity("vim-toy", res, "png"); err != nil || len(b) < 100 {
			t.Errorf("%s: sensitivity plot: %v", tc.budget, err)
		} else if os.Getenv("EXPLORE_PLOTS") != "" {
			os.WriteFile(filepath.Join(os.Getenv("EXPLORE_PLOTS"), "sensitivity-"+tc.allocate+".png"), b, 0o644)
		}
		if tc.allocate != AllocGreedy && math.Abs(got-best) > 1e-12 {
			t.Errorf("%s: chose %v weighing %g, the optimum weighs %g", tc.budget, res.Chosen, got, best)
		}
		// Noise powers add: the measured SQNR of the recipe found is the
		// predicted one.
		if d := math.Abs(res.Found.Accuracy.SQNRdB() - float64(res.Predicted)); d > 0.5 {
			t.Errorf("%s: measured SQNR %.2f dB, predicted %.2f dB", tc.budget, res.Found.Accuracy.SQNRdB(), float64(res.Predicted))
		}
	}
	// A budget no recipe meets is refused, naming it.
	bs, _ := ParseBudget("energy=1uJ")
	if _, err := x.Search(context.Background(), SearchOptions{Base: base, Design: sp.Designs[0], Budgets: bs}); err == nil || !strings.Contains(err.Error(), "energy ≤ 1 µJ/image") {
		t.Errorf("impossible budget: %v", err)
	}
}

// TestBudgetAtTheBase checks that a cost equal to the base's, up to the
// rounding of a sum in another order, meets a budget of 100 % of the base,
// and that a cost over it does not.
func TestBudgetAtTheBase(t *testing.T) {
	base := cost.DesignPoint{UJPerImage: 48.14372610000001, LatencyMS: 0.529}
	for _, pct := range []float64{100, 70, 33.3} {
		bs := []Budget{{Metric: MetricEnergy, Percent: pct}, {Metric: MetricLatency, Percent: 100}}
		lim, err := limits(bs, base)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			uj   float64
			want float64
		}{
			{lim[0], 0},
			{math.Nextafter(lim[0], math.Inf(1)), 0},
			{math.Nextafter(math.Nextafter(lim[0], math.Inf(1)), math.Inf(1)), 0},
			{lim[0] * 1.01, 0.01},
			{lim[0] * 0.5, 0},
		} {
			d := base
			d.UJPerImage = tc.uj
			e, err := excess(bs, lim, d)
			if err != nil {
				t.Fatal(err)
			}
			if (tc.want == 0) != (e == 0) || math.Abs(e-tc.want) > 1e-9 {
				t.Errorf("%g%% of %g µJ: %.17g µJ is %g over, want %g", pct, base.UJPerImage, tc.uj, e, tc.want)
			}
		}
	}
}
