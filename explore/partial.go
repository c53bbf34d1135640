package explore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/quant"
)

// PartialFormat names the JSON file of a shard's results.
const PartialFormat = "vimsim-explore-partial"

// PartialVersion is the version of the partial file layout.
const PartialVersion = 1

// Header identifies a space and how it is measured: a run's partial
// results combine only with those of the same header.
type Header struct {
	Model  string `json:"model"`
	Data   string `json:"data"`
	Images int    `json:"images"`
	Chunk  int    `json:"chunk"`
	// DataKey, Evaluator and Coster are SHA-256s of the images' key
	// (dataset, split, preprocessing) and of the evaluator's and coster's
	// keys (model weights, calibration, build).
	DataKey   string       `json:"data_key"`
	Evaluator string       `json:"evaluator"`
	Coster    string       `json:"coster"`
	Recipes   []RecipeInfo `json:"recipes"`
	Designs   []arch.Spec  `json:"designs"`
}

// RecipeInfo is a recipe of a header: its name, the recipe and the
// canonical text of its resolved plan (quant.Plan.Key).
type RecipeInfo struct {
	Name   string          `json:"name"`
	Recipe quant.Precision `json:"recipe"`
	Plan   string          `json:"plan"`
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func (x *Explorer) header(sp Space) Header {
	h := Header{Model: x.Config().Name, Data: x.opt.Images.Name, Images: x.opt.Images.N, Chunk: x.opt.Chunk,
		DataKey: sha(x.opt.Images.Key), Evaluator: sha(x.evalKey), Coster: sha(x.costKey), Designs: sp.Designs}
	for _, r := range sp.Recipes {
		h.Recipes = append(h.Recipes, RecipeInfo{Name: r.Name, Recipe: r.Precision, Plan: r.Plan.Key()})
	}
	if h.Designs == nil {
		h.Designs = []arch.Spec{}
	}
	return h
}

// Partial is the result of Run: the results of a shard's jobs, in job
// order, with the header of the space.
type Partial struct {
	Format  string   `json:"format"`
	Version int      `json:"version"`
	Header  Header   `json:"space"`
	Shard   Shard    `json:"shard"`
	Jobs    int      `json:"jobs"` // in the whole run
	Results []Result `json:"results"`
}

// WritePartial writes p as indented JSON.
func WritePartial(w io.Writer, p *Partial) error {
	q := *p
	q.Format, q.Version = PartialFormat, PartialVersion
	b, err := json.MarshalIndent(q, "", " ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadPartial parses a partial file written by WritePartial; name is the
// file name for errors.
func ReadPartial(b []byte, name string) (*Partial, error) {
	var p Partial
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: not an explore partial result: %w", name, err)
	}
	if p.Format != PartialFormat {
		return nil, fmt.Errorf("%s: format %q, want %q", name, p.Format, PartialFormat)
	}
	if p.Version != PartialVersion {
		return nil, fmt.Errorf("%s: version %d, this vimsim reads %d", name, p.Version, PartialVersion)
	}
	if err := p.Shard.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &p, nil
}

// Table is a measured space: the accuracy of every recipe and of the float
// reference over the images, and the cost of every (recipe, design) pair.
type Table struct {
	Header
	Reference Accuracy
	Accuracy  []Accuracy           // per recipe
	Costs     [][]cost.DesignPoint // [recipe][design]
}

// Assemble combines the partial results of every shard of a run (one
// partial for an unsharded run) into its table. Missing, repeated or
// foreign shards, and partials of other spaces, are refused, naming them
// by their position in parts. The table does not depend on the sharding.
func Assemble(parts []*Partial) (*Table, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("assemble: no partial result")
	}
	h0, _ := json.Marshal(parts[0].Header)
	n := max(parts[0].Shard.Count, 1)
	seen := make([]int, n)
	for i, p := range parts {
		if h, _ := json.Marshal(p.Header); !bytes.Equal(h, h0) {
			return nil, fmt.Errorf("partial %d: another space than partial 1's (recipes, designs, model, data or settings differ)", i+1)
		}
		if c := max(p.Shard.Count, 1); c != n {
			return nil, fmt.Errorf("partial %d: shard %s of a %d-shard run, partial 1 is of a %d-shard run", i+1, p.Shard, c, n)
		}
		if seen[p.Shard.Index] > 0 {
			return nil, fmt.Errorf("partials %d and %d: both shard %s", seen[p.Shard.Index], i+1, p.Shard)
		}
		seen[p.Shard.Index] = i + 1
	}
	for s, k := range seen {
		if k == 0 {
			return nil, fmt.Errorf("assemble: shard %d/%d missing", s, n)
		}
	}
	h := parts[0].Header
	jobs := jobList(h.Images, h.Chunk, len(h.Recipes), len(h.Designs))
	// Shard order is job order.
	var results []Result
	for s := range n {
		p := parts[seen[s]-1]
		lo, hi := p.Shard.Range(len(jobs))
		if p.Jobs != len(jobs) || len(p.Results) != hi-lo {
			return nil, fmt.Errorf("partial %d (shard %s): %d results of %d jobs, want %d of %d", seen[s], p.Shard, len(p.Results), p.Jobs, hi-lo, len(jobs))
		}
		results = append(results, p.Results...)
	}
	t := &Table{Header: h, Accuracy: make([]Accuracy, len(h.Recipes)), Costs: make([][]cost.DesignPoint, len(h.Recipes))}
	for r := range t.Costs {
		t.Costs[r] = make([]cost.DesignPoint, 0, len(h.Designs))
	}
	for i, res := range results {
		if res.Job != jobs[i] {
			return nil, fmt.Errorf("assemble: result %d is job %+v, want %+v", i, res.Job, jobs[i])
		}
		switch res.Kind {
		case jobReference, jobAccuracy:
			if res.Accuracy == nil || res.Accuracy.Images != res.Hi-res.Lo {
				return nil, fmt.Errorf("assemble: job %+v has no accuracy of %d images", res.Job, res.Hi-res.Lo)
			}
			if res.Kind == jobReference {
				t.Reference.Add(*res.Accuracy)
			} else {
				t.Accuracy[res.Recipe].Add(*res.Accuracy)
			}
		case jobCost:
			if len(res.Costs) != res.Hi-res.Lo {
				return nil, fmt.Errorf("assemble: job %+v has %d costs, want %d", res.Job, len(res.Costs), res.Hi-res.Lo)
			}
			t.Costs[res.Recipe] = append(t.Costs[res.Recipe], res.Costs...)
		}
	}
	return t, nil
}
