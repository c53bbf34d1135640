package sim

import (
	"context"
	"fmt"
	"runtime"

	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/internal/par"
	"github.com/vimsim/vimsim/quant/intprog"
)

// Options configure Run.
type Options struct {
	// Workers bounds the goroutines; 0 means GOMAXPROCS. Results do not
	// depend on it.
	Workers int
	// Tap, when set, receives every integer tensor of image i, dequantized
	// (see Tensor for the names). It is called from the goroutine running
	// image i, in execution order, and may be called concurrently for
	// different images. The callee must not retain t.Data.
	Tap func(image int, t Tensor)
	// Recorder, when set, records the operands and constants of every
	// datapath unit call of the run (golden vectors, package traces), see
	// Recorder. It needs a run of exactly one image, which then runs on one
	// goroutine.
	Recorder Recorder
	// Context, when set, stops the run with its error once it is done
	// (checked before each image).
	Context context.Context
}

// Result is the outcome of a Run.
type Result struct {
	Images  int
	Classes int
	// Codes are the int32 logits, Images×Classes; Logits the same
	// dequantized.
	Codes  []int32
	Logits []float64
	// Ops are the counters of every op of the program, summed over the
	// images: Ops[i] counts op i of the program's list (intprog.List).
	Ops []OpCounters
}

// Op names one operation of the program: its layer (the block index, or
// vim.LayerEmbed / vim.LayerHead) and its name (intprog.Op.Name).
type Op struct {
	Layer int    `json:"layer"`
	Name  string `json:"name"`
}

// OpCounters are the counters of one operation.
type OpCounters struct {
	Op
	datapath.Counters
}

// Total returns the sum of the counters of every operation.
func (r *Result) Total() datapath.Counters {
	var t datapath.Counters
	for _, o := range r.Ops {
		t.Add(o.Counters)
	}
	return t
}

// Predictions returns the top-1 class of each image (the first of equal
// logits).
func (r *Result) Predictions() []int {
	p := make([]int, r.Images)
	for i := range p {
		row := r.Logits[i*r.Classes : (i+1)*r.Classes]
		for j, v := range row {
			if v > row[p[i]] {
				p[i] = j
			}
		}
	}
	return p
}

// Run executes p on n images stored back to back in imgs (each C×H×W,
// normalised as for vim.Model.Forward) and returns the logits and counters:
// it interprets the program's op list (intprog.List), running each op on
// the datapath units. Images run in parallel, one per worker; with fewer
// images than workers (and no Tap or Recorder), each image also runs the
// independent chains of its layers (the two scan directions), the rows of
// its GEMMs and, with four or more workers per image, blocks of scan
// channels in parallel. The results do not depend on the split.
func Run(p *intprog.Program, imgs []float64, n int, opt Options) (*Result, error) {
	if p == nil || p.ExpUnit() == nil || p.List() == nil {
		return nil, fmt.Errorf("sim: program not built")
	}
	c := p.Config
	size := c.Channels * c.ImgH * c.ImgW
	if n < 0 || len(imgs) != n*size {
		return nil, fmt.Errorf("sim %s: %d values for %d images of %d", c.Name, len(imgs), n, size)
	}
	if opt.Recorder != nil && n != 1 {
		return nil, fmt.Errorf("sim %s: recording needs a run of one image, not %d", c.Name, n)
	}
	ops := p.List().Ops
	res := &Result{Images: n, Classes: c.Classes, Codes: make([]int32, n*c.Classes),
		Logits: make([]float64, n*c.Classes), Ops: make([]OpCounters, len(ops))}
	for i := range ops {
		res.Ops[i].Op = Op{ops[i].Layer, ops[i].Name}
	}
	if err := check(p.List(), c.Classes); err != nil {
		return nil, fmt.Errorf("sim %s: %w", c.Name, err)
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	inner := 1
	if n > 0 && n < workers && opt.Tap == nil && opt.Recorder == nil {
		inner = workers / n
	}
	workers = max(1, min(workers, n))
	engines := make([]*engine, workers)
	ctrs := make([][]datapath.Counters, workers)
	errs := make([]error, n)
	par.ForWorker(n, workers, func(w, i int) {
		if opt.Context != nil {
			if errs[i] = opt.Context.Err(); errs[i] != nil {
				return
			}
		}
		e := engines[w]
		if e == nil {
			e = newEngine(p, inner, opt.Recorder)
			engines[w], ctrs[w] = e, make([]datapath.Counters, len(ops))
		}
		var r runner = e
		if opt.Tap != nil {
			r = &tapper{runner: e, e: e, emit: func(t Tensor) { opt.Tap(i, t) }}
		}
		codes := res.Codes[i*c.Classes : (i+1)*c.Classes]
		if err := e.image(r, imgs[i*size:(i+1)*size], codes, ctrs[w]); err != nil {
			errs[i] = fmt.Errorf("sim %s: image %d: %w", c.Name, i, err)
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for _, ct := range ctrs {
		for j := range ct {
			res.Ops[j].Counters.Add(ct[j])
		}
	}
	ls := p.Scales.Logits
	for i, v := range res.Codes {
		s := ls[0]
		if len(ls) > 1 {
			s = ls[i%c.Classes]
		}
		res.Logits[i] = float64(v) * s
	}
	return res, nil
}
