package explore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/sim"
	"github.com/vimsim/vimsim/vim"
)

// DefaultChunk is the number of images of one accuracy job.
const DefaultChunk = 500

// CostBlock is the number of designs of one cost job.
const CostBlock = 256

// Options configure an Explorer.
type Options struct {
	Evaluator Evaluator
	Coster    Coster
	Images    Images
	// Chunk is the number of images of one accuracy job (0: DefaultChunk).
	// It fixes the job list, hence the cache entries and the order of the
	// floating-point sums.
	Chunk int
	// Cache stores every job's result (nil: nothing is stored).
	Cache *Cache
	// Shard selects the jobs run (zero: all).
	Shard Shard
	// Progress is told how the run advances (nil: nothing).
	Progress Progress
	// Workers bounds the goroutines of the costing (0: GOMAXPROCS); the
	// evaluator's parallelism is its own. Results do not depend on either.
	Workers int
}

// Explorer measures spaces of recipes × architectures.
type Explorer struct {
	opt              Options
	evalKey, costKey string
}

// New returns an Explorer for opt.
func New(opt Options) (*Explorer, error) {
	if opt.Evaluator == nil {
		return nil, fmt.Errorf("explore: no evaluator")
	}
	if opt.Coster == nil {
		return nil, fmt.Errorf("explore: no coster")
	}
	if err := opt.Images.check(); err != nil {
		return nil, err
	}
	if n := len(opt.Images.Dataset.Classes()); n > opt.Evaluator.Config().Classes {
		return nil, fmt.Errorf("evaluation images: %d classes, the model has %d outputs", n, opt.Evaluator.Config().Classes)
	}
	if opt.Chunk < 0 {
		return nil, fmt.Errorf("explore: chunk %d images", opt.Chunk)
	}
	if opt.Chunk == 0 {
		opt.Chunk = DefaultChunk
	}
	if err := opt.Shard.check(); err != nil {
		return nil, err
	}
	if opt.Progress == nil {
		opt.Progress = quiet{}
	}
	return &Explorer{opt: opt, evalKey: opt.Evaluator.Key(), costKey: opt.Coster.Key()}, nil
}

// Config is the model's configuration.
func (x *Explorer) Config() vim.Config { return x.opt.Evaluator.Config() }

// Space is a set of recipes and architectures: every pair is a design point.
// Without designs, only the recipes' accuracy is measured.
type Space struct {
	Recipes []Recipe
	Designs []arch.Spec
}

// Job kinds.
const (
	jobReference = "reference" // the float reference on a chunk of images
	jobAccuracy  = "accuracy"  // a recipe on a chunk of images
	jobCost      = "cost"      // a recipe on a block of designs
)

// Job is one unit of a run: a chunk of images [Lo, Hi) for the reference or
// recipe Recipe, or a block of designs [Lo, Hi) for recipe Recipe.
type Job struct {
	Kind   string `json:"kind"`
	Recipe int    `json:"recipe"`
	Lo     int    `json:"lo"`
	Hi     int    `json:"hi"`
}

// Jobs lists the jobs of sp in their fixed order (see jobList).
func (x *Explorer) Jobs(sp Space) []Job {
	return jobList(x.opt.Images.N, x.opt.Chunk, len(sp.Recipes), len(sp.Designs))
}

// jobList lists the jobs of a space of recipes × designs evaluated on
// images in chunks: for each chunk of images, the reference then every
// recipe (so that a shard, a contiguous range, computes the reference of
// few chunks); then for each recipe, its blocks of designs.
func jobList(images, chunk, recipes, designs int) []Job {
	var jobs []Job
	for lo := 0; lo < images; lo += chunk {
		hi := min(lo+chunk, images)
		jobs = append(jobs, Job{Kind: jobReference, Recipe: -1, Lo: lo, Hi: hi})
		for r := range recipes {
			jobs = append(jobs, Job{Kind: jobAccuracy, Recipe: r, Lo: lo, Hi: hi})
		}
	}
	for r := range recipes {
		for lo := 0; lo < designs; lo += CostBlock {
			jobs = append(jobs, Job{Kind: jobCost, Recipe: r, Lo: lo, Hi: min(lo+CostBlock, designs)})
		}
	}
	return jobs
}

// Result is the result of one job: Accuracy for the reference and
// accuracy jobs, Costs (one per design of the block) for cost jobs.
type Result struct {
	Job
	Accuracy *Accuracy          `json:"accuracy,omitempty"`
	Costs    []cost.DesignPoint `json:"costs,omitempty"`
}

// ErrInterrupted is wrapped by Run's error when its context is done: the
// jobs finished are in the cache, and a new run redoes only the others.
var ErrInterrupted = errors.New("interrupted")

// Run runs the jobs of the shard on sp, taking what the cache holds and
// storing what it computes, and returns their results.
func (x *Explorer) Run(ctx context.Context, sp Space) (*Partial, error) {
	if len(sp.Recipes) == 0 {
		return nil, fmt.Errorf("explore: no recipe")
	}
	for _, r := range sp.Recipes {
		if len(r.Plan.Blocks) != x.Config().Depth {
			return nil, fmt.Errorf("recipe %s: resolved for %d blocks, the model has %d", r.Name, len(r.Plan.Blocks), x.Config().Depth)
		}
		if err := x.opt.Evaluator.Check(r); err != nil {
			return nil, err
		}
	}
	all := x.Jobs(sp)
	lo, hi := x.opt.Shard.Range(len(all))
	jobs := all[lo:hi]
	p := &Partial{Header: x.header(sp), Shard: x.opt.Shard, Jobs: len(all), Results: make([]Result, len(jobs))}
	for i, j := range jobs {
		p.Results[i].Job = j
	}
	if err := x.runImages(ctx, sp, p.Results); err != nil {
		return nil, err
	}
	if err := x.runCosts(ctx, sp, p.Results); err != nil {
		return nil, err
	}
	return p, nil
}

// interrupted wraps the context's error.
func interrupted(ctx context.Context) error {
	return fmt.Errorf("%w (%v): finished jobs are cached; run again to resume", ErrInterrupted, context.Cause(ctx))
}

// Cache keys.
func (x *Explorer) programKey(r Recipe) string {
	return "program\n" + x.evalKey + "\nplan " + r.Plan.Key()
}

func (x *Explorer) imagesKey(lo, hi int) string {
	return fmt.Sprintf("data %s\nimages %d-%d", x.opt.Images.Key, lo, hi)
}

func (x *Explorer) referenceKey(lo, hi int) string {
	return "reference\n" + x.evalKey + "\n" + x.imagesKey(lo, hi)
}

func (x *Explorer) accuracyKey(r Recipe, lo, hi int) string {
	return "accuracy\n" + x.programKey(r) + "\n" + x.imagesKey(lo, hi)
}

func (x *Explorer) costKey1(r Recipe, designs []arch.Spec) string {
	specs, _ := json.Marshal(designs)
	h := sha256.Sum256(specs)
	return fmt.Sprintf("cost\n%s\nplan %s\ndesigns %d sha256:%s", x.costKey, r.Plan.Key(), len(designs), hex.EncodeToString(h[:]))
}

// reference is a cached float reference: its logits and accuracy.
type reference struct {
	Logits   []byte   `json:"logits"` // float64, little-endian
	Accuracy Accuracy `json:"accuracy"`
}

func packFloats(v []float64) []byte {
	b := make([]byte, 8*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(f))
	}
	return b
}

func unpackFloats(b []byte) []float64 {
	v := make([]float64, len(b)/8)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return v
}

// runImages runs the reference and accuracy jobs among res, chunk by chunk,
// compiling the programs they need first.
func (x *Explorer) runImages(ctx context.Context, sp Space, res []Result) error {
	c := x.opt.Cache
	// What is missing.
	var missing []int
	needProg := make([]bool, len(sp.Recipes))
	for i := range res {
		j := &res[i].Job
		switch j.Kind {
		case jobReference:
			var ref reference
			if c.get("reference", x.referenceKey(j.Lo, j.Hi), &ref) {
				a := ref.Accuracy
				res[i].Accuracy = &a
				continue
			}
		case jobAccuracy:
			var a Accuracy
			if c.get("accuracy", x.accuracyKey(sp.Recipes[j.Recipe], j.Lo, j.Hi), &a) {
				res[i].Accuracy = &a
				continue
			}
			needProg[j.Recipe] = true
		default:
			continue
		}
		missing = append(missing, i)
	}
	if len(missing) == 0 {
		return nil
	}
	// Programs, in recipe order.
	progs := make([]*intprog.Program, len(sp.Recipes))
	var toBuild []int
	for r, need := range needProg {
		if !need {
			continue
		}
		if progs[r] = c.getProgram(x.programKey(sp.Recipes[r])); progs[r] == nil {
			toBuild = append(toBuild, r)
		}
	}
	pr := x.opt.Progress
	if len(toBuild) > 0 {
		pr.Start("calibrate", len(toBuild))
		for _, r := range toBuild {
			if ctx.Err() != nil {
				pr.Finish()
				return interrupted(ctx)
			}
			rec := sp.Recipes[r]
			p, err := x.opt.Evaluator.Compile(rec)
			if err != nil {
				pr.Finish()
				return err
			}
			if err := c.putProgram(x.programKey(rec), p); err != nil {
				pr.Finish()
				return err
			}
			progs[r] = p
			pr.Add(1)
		}
		pr.Finish()
	}
	// Images, chunk by chunk: the missing jobs of a chunk are adjacent.
	total := 0
	for _, i := range missing {
		total += res[i].Hi - res[i].Lo
	}
	pr.Start("evaluate", total)
	defer pr.Finish()
	for k := 0; k < len(missing); {
		lo, hi := res[missing[k]].Lo, res[missing[k]].Hi
		e := k
		for e < len(missing) && res[missing[e]].Lo == lo {
			e++
		}
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		if err := x.runChunk(ctx, sp, progs, res, missing[k:e], lo, hi); err != nil {
			return err
		}
		k = e
	}
	return nil
}

// runChunk runs the jobs idx of res, all on images [lo, hi): the reference
// (from the cache when it holds it) first, then the recipes, each result
// stored as soon as it is known.
func (x *Explorer) runChunk(ctx context.Context, sp Space, progs []*intprog.Program, res []Result, idx []int, lo, hi int) error {
	c, ev := x.opt.Cache, x.opt.Evaluator
	n := hi - lo
	var ref reference
	refCached := c.get("reference", x.referenceKey(lo, hi), &ref)
	refJob := -1
	methods := []sim.Method{{Name: "reference", Predict: func(imgs []float64, m int) ([]float64, error) {
		if refCached {
			return unpackFloats(ref.Logits), nil
		}
		l, err := ev.Reference(imgs, m)
		if err != nil {
			return nil, err
		}
		ref.Logits = packFloats(l)
		return l, nil
	}}}
	var accJobs []int
	for _, i := range idx {
		j := res[i].Job
		if j.Kind == jobReference {
			refJob = i
			continue
		}
		p := progs[j.Recipe]
		accJobs = append(accJobs, i)
		methods = append(methods, sim.Method{Name: sp.Recipes[j.Recipe].Name, Predict: func(imgs []float64, m int) ([]float64, error) {
			if ctx.Err() != nil {
				return nil, interrupted(ctx)
			}
			return ev.Run(p, imgs, m)
		}})
	}
	ev1, err := sim.Evaluate(x.opt.Images.loader(lo, hi), ev.Config().Classes, methods, sim.EvalOptions{})
	if err != nil {
		if errors.Is(err, ErrInterrupted) {
			return interrupted(ctx)
		}
		return fmt.Errorf("images %d-%d of %s: %w", lo, hi-1, x.opt.Images.Name, err)
	}
	if ev1.Images != n {
		return fmt.Errorf("images %d-%d of %s: read %d", lo, hi-1, x.opt.Images.Name, ev1.Images)
	}
	ref.Accuracy = accuracyOf(n, ev1.Methods[0])
	ref.Accuracy.Agree = n
	if !refCached {
		if err := c.put("reference", x.referenceKey(lo, hi), ref); err != nil {
			return err
		}
	}
	if refJob >= 0 {
		a := ref.Accuracy
		res[refJob].Accuracy = &a
		x.opt.Progress.Add(n)
	}
	for k, i := range accJobs {
		a := accuracyOf(n, ev1.Methods[k+1])
		if err := c.put("accuracy", x.accuracyKey(sp.Recipes[res[i].Recipe], lo, hi), a); err != nil {
			return err
		}
		res[i].Accuracy = &a
		x.opt.Progress.Add(n)
	}
	return nil
}

// runCosts runs the cost jobs among res.
func (x *Explorer) runCosts(ctx context.Context, sp Space, res []Result) error {
	c := x.opt.Cache
	var missing []int
	designs := 0
	for i := range res {
		j := res[i].Job
		if j.Kind != jobCost {
			continue
		}
		var pts []cost.DesignPoint
		if c.get("cost", x.costKey1(sp.Recipes[j.Recipe], sp.Designs[j.Lo:j.Hi]), &pts) && len(pts) == j.Hi-j.Lo {
			res[i].Costs = pts
			continue
		}
		missing = append(missing, i)
		designs += j.Hi - j.Lo
	}
	if len(missing) == 0 {
		return nil
	}
	pr := x.opt.Progress
	pr.Start("cost", designs)
	defer pr.Finish()
	for _, i := range missing {
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		j := res[i].Job
		r := sp.Recipes[j.Recipe]
		specs := sp.Designs[j.Lo:j.Hi]
		pts, err := x.opt.Coster.Cost(specs, r.Plan, x.opt.Workers)
		if err != nil {
			return fmt.Errorf("recipe %s: %w", r.Name, err)
		}
		if err := c.put("cost", x.costKey1(r, specs), pts); err != nil {
			return err
		}
		res[i].Costs = pts
		pr.Add(len(specs))
	}
	return nil
}

// DatasetKey describes a dataset spec and split preprocessed for cfg, for
// Images.Key.
func DatasetKey(spec string, split data.Split, cfg vim.Config) string {
	return fmt.Sprintf("%s (%s), input %dx%dx%d, mean %v, std %v", spec, split, cfg.Channels, cfg.ImgH, cfg.ImgW, cfg.Mean, cfg.Std)
}
