package explore

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/sim"
)

// Move is one precision change from a search's base recipe: the weights of
// an op class, in every layer where it exists, to W bits; or the hidden
// state of one layer to H bits.
type Move struct {
	Name  string       `json:"name"`
	Op    quant.OpName `json:"op,omitempty"`
	W     int          `json:"w,omitempty"`
	Layer int          `json:"layer"` // the layer of a hidden-state move, −1 for a weight move
	H     int          `json:"h,omitempty"`
}

// Lowest precisions the moves go to.
const (
	moveW = 4
	moveH = 8
)

// Moves lists the moves from the plan base: every op class whose weights
// are wider than 4 bits somewhere to 4-bit weights (in the order of
// quant.RecipeOps), then every layer whose hidden state is wider than 8 bits
// to 8 bits.
func Moves(base quant.Plan) []Move {
	var out []Move
	for _, o := range quant.RecipeOps() {
		wide := false
		switch o {
		case quant.OpPatchEmbed:
			wide = base.Embed.W > moveW
		case quant.OpHead:
			wide = base.Head.W > moveW
		default:
			for _, b := range base.Blocks {
				wide = wide || b.Ops[o].W > moveW
			}
		}
		if wide {
			out = append(out, Move{Name: fmt.Sprintf("%s W%d", o, moveW), Op: o, W: moveW, Layer: -1})
		}
	}
	for l, b := range base.Blocks {
		if b.H > moveH {
			out = append(out, Move{Name: fmt.Sprintf("layer %d H%d", l, moveH), Layer: l, H: moveH})
		}
	}
	return out
}

// Apply returns base with the moves applied, named name: weight moves of
// the patch embedding and the head as top-level op overrides, the others
// as one final layer rule for all blocks, and hidden-state moves as one
// final rule for their layers (so that they win over base's own rules).
func Apply(base quant.Precision, moves []Move, name string) quant.Precision {
	p := base
	p.Name = name
	p.Ops = map[quant.OpName]quant.OpBits{}
	for o, b := range base.Ops {
		p.Ops[o] = b
	}
	p.Layers = append([]quant.LayerRule(nil), base.Layers...)
	blockOps := map[quant.OpName]quant.OpBits{}
	hidden := map[int][]int{} // bits → layers
	for _, m := range moves {
		switch {
		case m.Op == quant.OpPatchEmbed || m.Op == quant.OpHead:
			b := p.Ops[m.Op]
			b.W = m.W
			p.Ops[m.Op] = b
		case m.Op != "":
			blockOps[m.Op] = quant.OpBits{W: m.W}
		default:
			hidden[m.H] = append(hidden[m.H], m.Layer)
		}
	}
	if len(blockOps) > 0 {
		p.Layers = append(p.Layers, quant.LayerRule{Layers: "all", Ops: blockOps})
	}
	hs := make([]int, 0, len(hidden))
	for h := range hidden {
		hs = append(hs, h)
	}
	sort.Ints(hs)
	for _, h := range hs {
		ls := hidden[h]
		sort.Ints(ls)
		txt := make([]string, len(ls))
		for i, l := range ls {
			txt[i] = strconv.Itoa(l)
		}
		p.Layers = append(p.Layers, quant.LayerRule{Layers: strings.Join(txt, ","), H: h})
	}
	if len(p.Ops) == 0 {
		p.Ops = nil
	}
	return p
}

// Sensitivity is what one move costs in accuracy and saves in cost, each
// measured alone from the base recipe.
type Sensitivity struct {
	Move     Move     `json:"move"`
	Recipe   string   `json:"recipe"`
	Accuracy Accuracy `json:"accuracy"`
	// DTop1 is the base's top-1 minus the move's (a fraction; negative
	// when the move measured better).
	DTop1 float64 `json:"d_top1"`
	// DSQNR is the base's logit SQNR minus the move's, in dB.
	DSQNR sim.DB `json:"d_sqnr_db"`
	// DNoise is the noise power the move adds to the logits, relative to
	// the reference's signal: (Noise − base Noise) / Signal. Noise powers
	// of independent moves add, so this is the knapsack weight of "sqnr".
	DNoise float64 `json:"d_noise"`
	// Cost is the design's cost with the move alone.
	Cost cost.DesignPoint `json:"cost"`
}

// Allocation methods.
const (
	AllocAuto     = "auto"     // knapsack up to MaxKnapsackMoves moves, else greedy
	AllocKnapsack = "knapsack" // exact over every subset of the moves
	AllocGreedy   = "greedy"
)

// MaxKnapsackMoves is the most moves the auto allocation searches
// exhaustively (2^n exact costings).
const MaxKnapsackMoves = 14

// Sensitivity measures.
const (
	ScoreSQNR = "sqnr" // added logit noise power
	ScoreTop1 = "top1" // top-1 drop
)

// SearchOptions configure Search.
type SearchOptions struct {
	// Base is the recipe the moves start from (the most precise one).
	Base   quant.Precision
	Design arch.Spec
	// Budgets bound the cost of the recipe found on Design.
	Budgets []Budget
	// Allocate is AllocAuto (""), AllocKnapsack or AllocGreedy.
	Allocate string
	// Score is ScoreSQNR ("") or ScoreTop1.
	Score string
	// Name names the recipe found ("" : "search").
	Name string
}

// SearchResult is what Search found.
type SearchResult struct {
	Design  string   `json:"design"`
	Budgets []Budget `json:"budgets"`
	// Limits are the budgets in their metrics' units.
	Limits   []float64        `json:"limits"`
	Allocate string           `json:"allocate"`
	Score    string           `json:"score"`
	Base     SearchPoint      `json:"base"`
	Moves    []Sensitivity    `json:"moves"`
	Chosen   []int            `json:"chosen"` // indices into Moves
	Found    SearchPoint      `json:"found"`
	Steps    []AllocationStep `json:"steps,omitempty"` // greedy only
	// Predicted is the found recipe's accuracy measure predicted from the
	// moves' sensitivities (SQNR in dB, or top-1 as a fraction).
	Predicted sim.DB `json:"predicted"`
}

// SearchPoint is a recipe with its accuracy and its cost on the design.
type SearchPoint struct {
	Recipe   quant.Precision  `json:"recipe"`
	Accuracy Accuracy         `json:"accuracy"`
	Cost     cost.DesignPoint `json:"cost"`
}

// AllocationStep is one step of the greedy allocation: the move taken (or
// given back in the final pass) and the recipe's cost after it.
type AllocationStep struct {
	Move   int              `json:"move"`
	Undo   bool             `json:"undo,omitempty"`
	Excess float64          `json:"excess"`
	Cost   cost.DesignPoint `json:"cost"`
}

// ErrShardDone is returned by Search when the explorer runs one shard: its
// part of the sensitivity measurements is in the cache, and a search
// without shards on the same cache uses it.
var ErrShardDone = fmt.Errorf("shard of the sensitivity measurements done")

// Search finds a recipe under the budgets on one design: it measures on
// the datapath the base recipe and every single move from it (Moves), costs
// each on the design, then chooses the set of moves of least predicted
// accuracy loss whose recipe meets every budget — exactly over all subsets
// (knapsack) or greedily by loss per unit of budget excess removed, with a
// final pass giving back moves not needed — and measures the recipe found.
// The predicted loss adds the moves' losses: added logit noise powers
// (ScoreSQNR) or top-1 drops (ScoreTop1), a negative loss counting as 0.
// The costs are exact (each candidate set is costed).
func (x *Explorer) Search(ctx context.Context, opt SearchOptions) (*SearchResult, error) {
	if opt.Allocate == "" {
		opt.Allocate = AllocAuto
	}
	if opt.Score == "" {
		opt.Score = ScoreSQNR
	}
	if opt.Name == "" {
		opt.Name = "search"
	}
	switch opt.Allocate {
	case AllocAuto, AllocKnapsack, AllocGreedy:
	default:
		return nil, fmt.Errorf("allocation %q: want auto, knapsack or greedy", opt.Allocate)
	}
	if opt.Score != ScoreSQNR && opt.Score != ScoreTop1 {
		return nil, fmt.Errorf("sensitivity %q: want sqnr or top1", opt.Score)
	}
	if len(opt.Budgets) == 0 {
		return nil, fmt.Errorf("search: no budget")
	}
	depth := x.Config().Depth
	basePlan, err := opt.Base.Resolve(depth)
	if err != nil {
		return nil, err
	}
	moves := Moves(basePlan)
	if len(moves) == 0 {
		return nil, fmt.Errorf("search: base recipe %s has no weight above %d bits and no hidden state above %d bits: nothing to lower", opt.Base, moveW, moveH)
	}
	// The base and every single move, measured together.
	ps := []quant.Precision{opt.Base}
	for _, m := range moves {
		ps = append(ps, Apply(opt.Base, []Move{m}, opt.Base.String()+" + "+m.Name))
	}
	recipes, err := Resolve(ps, depth)
	if err != nil {
		return nil, err
	}
	p, err := x.Run(ctx, Space{Recipes: recipes})
	if err != nil {
		return nil, err
	}
	if !x.opt.Shard.Whole() {
		return nil, fmt.Errorf("%w (%s: %d of %d jobs); run the search without --shard on the same cache", ErrShardDone, x.opt.Shard, len(p.Results), p.Jobs)
	}
	t, err := Assemble([]*Partial{p})
	if err != nil {
		return nil, err
	}
	costOf := func(pr quant.Precision) (cost.DesignPoint, error) {
		plan, err := pr.Resolve(depth)
		if err != nil {
			return cost.DesignPoint{}, err
		}
		pts, err := x.opt.Coster.Cost([]arch.Spec{opt.Design}, plan, 1)
		if err != nil {
			return cost.DesignPoint{}, fmt.Errorf("recipe %s on %s: %w", pr, opt.Design.Name, err)
		}
		return pts[0], nil
	}
	res := &SearchResult{Design: opt.Design.Name, Budgets: opt.Budgets, Allocate: opt.Allocate, Score: opt.Score,
		Base: SearchPoint{Recipe: opt.Base, Accuracy: t.Accuracy[0]}, Chosen: []int{}}
	if res.Base.Cost, err = costOf(opt.Base); err != nil {
		return nil, err
	}
	if res.Limits, err = limits(opt.Budgets, res.Base.Cost); err != nil {
		return nil, err
	}
	base := t.Accuracy[0]
	weights := make([]float64, len(moves))
	for i, m := range moves {
		a := t.Accuracy[i+1]
		s := Sensitivity{Move: m, Recipe: recipes[i+1].Name, Accuracy: a, DTop1: base.Top1Rate() - a.Top1Rate(),
			DSQNR: sim.DB(base.SQNRdB() - a.SQNRdB())}
		if a.Signal > 0 {
			s.DNoise = (a.Noise - base.Noise) / a.Signal
		}
		if math.IsNaN(float64(s.DSQNR)) { // +Inf − +Inf: both identical to the reference
			s.DSQNR = 0
		}
		if s.Cost, err = costOf(ps[i+1]); err != nil {
			return nil, err
		}
		res.Moves = append(res.Moves, s)
		weights[i] = s.DNoise
		if opt.Score == ScoreTop1 {
			weights[i] = s.DTop1
		}
		weights[i] = math.Max(weights[i], 0)
	}
	// The cost of a set of moves.
	costSet := func(set []int) (cost.DesignPoint, float64, error) {
		ms := make([]Move, len(set))
		for k, i := range set {
			ms[k] = moves[i]
		}
		d, err := costOf(Apply(opt.Base, ms, opt.Name))
		if err != nil {
			return d, 0, err
		}
		e, err := excess(opt.Budgets, res.Limits, d)
		return d, e, err
	}
	method := opt.Allocate
	if method == AllocAuto {
		method = AllocGreedy
		if len(moves) <= MaxKnapsackMoves {
			method = AllocKnapsack
		}
	}
	res.Allocate = method
	var chosen []int
	if method == AllocKnapsack {
		chosen, err = knapsack(ctx, len(moves), weights, costSet)
	} else {
		chosen, res.Steps, err = greedy(ctx, len(moves), weights, costSet)
	}
	if err != nil {
		return nil, err
	}
	if chosen == nil {
		_, e, _ := costSet(allMoves(len(moves)))
		return nil, fmt.Errorf("no recipe from %s meets %s on %s: with every move (%s) the cost is still %.0f%% over",
			opt.Base, budgetText(opt.Budgets), opt.Design.Name, moveNames(moves), 100*e)
	}
	res.Chosen = append(res.Chosen, chosen...)
	ms := make([]Move, len(chosen))
	for k, i := range chosen {
		ms[k] = moves[i]
	}
	found := Apply(opt.Base, ms, opt.Name)
	res.Found.Recipe = found
	if res.Found.Cost, _, err = costSet(chosen); err != nil {
		return nil, err
	}
	// Predicted accuracy measure of the found recipe.
	var loss float64
	for _, i := range chosen {
		loss += weights[i]
	}
	if opt.Score == ScoreTop1 {
		res.Predicted = sim.DB(base.Top1Rate() - loss)
	} else if base.Signal > 0 {
		res.Predicted = sim.DB(10 * math.Log10(1/(base.Noise/base.Signal+loss)))
	}
	// Measure it (a single move or the base is measured already).
	switch len(chosen) {
	case 0:
		res.Found.Accuracy = base
	case 1:
		res.Found.Accuracy = t.Accuracy[chosen[0]+1]
	default:
		rs, err := Resolve([]quant.Precision{found}, depth)
		if err != nil {
			return nil, err
		}
		p, err := x.Run(ctx, Space{Recipes: rs})
		if err != nil {
			return nil, err
		}
		ft, err := Assemble([]*Partial{p})
		if err != nil {
			return nil, err
		}
		res.Found.Accuracy = ft.Accuracy[0]
	}
	return res, nil
}

func allMoves(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func moveNames(ms []Move) string {
	n := make([]string, len(ms))
	for i, m := range ms {
		n[i] = m.Name
	}
	return strings.Join(n, ", ")
}

func budgetText(bs []Budget) string {
	t := make([]string, len(bs))
	for i, b := range bs {
		t[i] = b.String()
	}
	return strings.Join(t, " and ")
}

// costFunc returns the cost of a set of moves (indices, increasing) and
// its excess over the budgets.
type costFunc func(set []int) (cost.DesignPoint, float64, error)

// knapsack returns the set of moves of least total weight whose cost meets
// the budgets (excess 0): it costs the subsets in increasing order of
// weight (then of size, then of subset order) and returns the first that
// meets them, so that every subset is costed only when none does. nil: no
// set meets them.
func knapsack(ctx context.Context, n int, w []float64, costSet costFunc) ([]int, error) {
	if n > 30 {
		return nil, fmt.Errorf("knapsack over %d moves: too many (2^%d subsets); use greedy", n, n)
	}
	type subset struct {
		mask, size int
		weight     float64
	}
	all := make([]subset, 1<<n)
	for mask := range all {
		s := subset{mask: mask, size: bits.OnesCount(uint(mask))}
		for i := range n {
			if mask&(1<<i) != 0 {
				s.weight += w[i]
			}
		}
		all[mask] = s
	}
	sort.SliceStable(all, func(a, b int) bool {
		if all[a].weight != all[b].weight {
			return all[a].weight < all[b].weight
		}
		return all[a].size < all[b].size
	})
	for k, s := range all {
		if k&0xff == 0 && ctx.Err() != nil {
			return nil, interrupted(ctx)
		}
		set := maskSet(s.mask, n)
		_, e, err := costSet(set)
		if err != nil {
			return nil, err
		}
		if e == 0 {
			return set, nil
		}
	}
	return nil, nil
}

func maskSet(mask, n int) []int {
	s := []int{}
	for i := range n {
		if mask&(1<<i) != 0 {
			s = append(s, i)
		}
	}
	return s
}

// greedy adds moves one at a time, each time the one of least weight per
// unit of budget excess it removes (a move that removes none is taken only
// when no move removes any, the lightest first: budgets such as DSPs may
// drop only once several moves are made), until the budgets are met; then
// gives back, heaviest first, every move the budgets do not need. nil: no
// set meets them.
func greedy(ctx context.Context, n int, w []float64, costSet costFunc) ([]int, []AllocationStep, error) {
	in := make([]bool, n)
	set := func() []int {
		s := []int{}
		for i := range n {
			if in[i] {
				s = append(s, i)
			}
		}
		return s
	}
	_, cur, err := costSet(nil)
	if err != nil {
		return nil, nil, err
	}
	var steps []AllocationStep
	for cur > 0 {
		if ctx.Err() != nil {
			return nil, nil, interrupted(ctx)
		}
		pick, pickRatio, pickE := -1, math.Inf(1), 0.0
		var pickCost cost.DesignPoint
		flat, flatE := -1, 0.0
		var flatCost cost.DesignPoint
		for i := range n {
			if in[i] {
				continue
			}
			in[i] = true
			d, e, err := costSet(set())
			in[i] = false
			if err != nil {
				return nil, nil, err
			}
			if gain := cur - e; gain > 0 {
				if r := w[i] / gain; r < pickRatio {
					pick, pickRatio, pickE, pickCost = i, r, e, d
				}
			} else if gain == 0 && (flat < 0 || w[i] < w[flat]) {
				flat, flatE, flatCost = i, e, d
			}
		}
		if pick < 0 {
			pick, pickE, pickCost = flat, flatE, flatCost
		}
		if pick < 0 {
			return nil, steps, nil
		}
		in[pick] = true
		cur = pickE
		steps = append(steps, AllocationStep{Move: pick, Excess: cur, Cost: pickCost})
	}
	// Give back what is not needed, heaviest first.
	order := set()
	sort.SliceStable(order, func(a, b int) bool { return w[order[a]] > w[order[b]] })
	for _, i := range order {
		in[i] = false
		d, e, err := costSet(set())
		if err != nil {
			return nil, nil, err
		}
		if e > 0 {
			in[i] = true
			continue
		}
		steps = append(steps, AllocationStep{Move: i, Undo: true, Excess: e, Cost: d})
	}
	return set(), steps, nil
}
