package sim

import (
	"fmt"
	"math"
	"slices"

	"github.com/vimsim/vimsim/internal/shard"
)

// fidelitySums is the reduction behind a fidelity Report: images are added
// one at a time, in order (addImage), by Fidelity.Add and, from the parts
// of a sharded run, by MergeFidelity, so that both give the same bits.
type fidelitySums struct {
	images int
	order  []string
	totals map[string]*tensorStats
	ops    []OpCounters
	paths  [3]pathAcc
}

func newFidelitySums() fidelitySums {
	s := fidelitySums{totals: map[string]*tensorStats{}}
	s.paths[0].labelled, s.paths[1].labelled, s.paths[2].labelled = true, true, true
	return s
}

// addImage adds one image: the comparisons of its tensors (order is their
// tap order), its logits on the fp64, fake-quant and integer paths, and its
// label (nil: unlabelled).
func (s *fidelitySums) addImage(order []string, stats map[string]*tensorStats, logits [3][]float64, label []int) {
	if s.order == nil {
		s.order = order
	}
	for _, name := range order {
		t := s.totals[name]
		if t == nil {
			t = &tensorStats{}
			s.totals[name] = t
		}
		t.float.merge(&stats[name].float)
		t.fq.merge(&stats[name].fq)
	}
	for k := range s.paths {
		s.paths[k].add(logits[k], logits[0], logits[1], label, 1, len(logits[0]))
	}
	s.images++
}

// addOps adds the counters of a run of images.
func (s *fidelitySums) addOps(ops []OpCounters) {
	if s.ops == nil {
		s.ops = slices.Clone(ops)
		return
	}
	for i := range s.ops {
		s.ops[i].Counters.Add(ops[i].Counters)
	}
}

// FidelityPart is what a contiguous run of images (a shard, vimsim sim
// --shard) adds to a fidelity Report, kept image by image where
// floating-point sums need it, so that MergeFidelity combines the parts of
// a dataset into exactly the Report of the whole, bit for bit, however it
// was split. Per image it holds the logits of the three paths (Classes
// each) and, per tapped tensor, the four sums of each comparison; maxima
// and counts, which do not depend on the order, are reduced over the part.
type FidelityPart struct {
	Model   string `json:"model"`
	Method  string `json:"method"`
	Classes int    `json:"classes"`
	Images  int    `json:"images"`
	// Labels are the images' labels; Unlabelled is set when any image had
	// none (the report then has no accuracy).
	Labels     []int `json:"labels"`
	Unlabelled bool  `json:"unlabelled,omitempty"`
	// Logits are Images×3×Classes: fp64, fake-quant and integer logits.
	Logits shard.Floats `json:"logits"`
	// Tensors are the tapped tensors in tap order (of the part's first
	// image).
	Tensors []string `json:"tensors"`
	// Flags are Images×len(Tensors) bit sets: partFloat, partFakeQuant
	// (compared with that reference), partFloatMismatch,
	// partFakeQuantMismatch (sizes differ).
	Flags []byte `json:"flags"`
	// Sums are Images×len(Tensors)×8: Σr², Σ(x−r)², Σx·r, Σx² against the
	// fp64 reference, then the same against the fake-quant path.
	Sums shard.Floats `json:"sums"`
	// Maxima are len(Tensors)×6: the largest |x−r|, |r| and |x−r| in LSB
	// against each reference; Counts len(Tensors)×4: equal and compared
	// elements against each.
	Maxima shard.Floats `json:"maxima"`
	Counts []int64      `json:"counts"`
	// Ops are the integer path's counters per operation over the part.
	Ops []OpCounters `json:"ops"`
}

// Flag bits of FidelityPart.Flags.
const (
	partFloat = 1 << iota
	partFakeQuant
	partFloatMismatch
	partFakeQuantMismatch
)

// Part returns what the images added so far add to a report; it needs
// FidelityOptions.Part.
func (f *Fidelity) Part() (*FidelityPart, error) {
	if f.part == nil {
		return nil, fmt.Errorf("fidelity: no part kept (FidelityOptions.Part)")
	}
	p := *f.part
	p.Ops = slices.Clone(f.ops)
	return &p, nil
}

// add records one image (see fidelitySums.addImage).
func (p *FidelityPart) add(order []string, stats map[string]*tensorStats, logits [3][]float64, label []int) {
	if p.Images == 0 {
		p.Tensors = order
		p.Maxima = make(shard.Floats, 6*len(order))
		p.Counts = make([]int64, 4*len(order))
	}
	p.Images++
	if label == nil {
		p.Unlabelled = true
		p.Labels = append(p.Labels, -1)
	} else {
		p.Labels = append(p.Labels, label[0])
	}
	for _, l := range logits {
		p.Logits = append(p.Logits, l...)
	}
	for t, name := range p.Tensors {
		st := stats[name]
		if st == nil {
			p.Flags = append(p.Flags, 0)
			p.Sums = append(p.Sums, make([]float64, 8)...)
			continue
		}
		var flags byte
		for k, a := range []*acc{&st.float, &st.fq} {
			if a.present {
				flags |= partFloat << k
			}
			if a.mismatch {
				flags |= partFloatMismatch << k
			}
			p.Sums = append(p.Sums, a.rr, a.dd, a.xr, a.xx)
			m := p.Maxima[6*t+3*k:]
			m[0], m[1], m[2] = math.Max(m[0], a.maxDiff), math.Max(m[1], a.maxRef), math.Max(m[2], a.maxLSB)
			p.Counts[4*t+2*k] += a.equal
			p.Counts[4*t+2*k+1] += a.n
		}
		p.Flags = append(p.Flags, flags)
	}
}

// check verifies the sizes of p's slices.
func (p *FidelityPart) check() error {
	nt := len(p.Tensors)
	switch {
	case p.Images < 0 || p.Classes < 1:
		return fmt.Errorf("%d images of %d classes", p.Images, p.Classes)
	case len(p.Labels) != p.Images || len(p.Logits) != 3*p.Classes*p.Images:
		return fmt.Errorf("%d labels and %d logits for %d images of %d classes", len(p.Labels), len(p.Logits), p.Images, p.Classes)
	case len(p.Flags) != nt*p.Images || len(p.Sums) != 8*nt*p.Images:
		return fmt.Errorf("%d flags and %d sums for %d images of %d tensors", len(p.Flags), len(p.Sums), p.Images, nt)
	case p.Images > 0 && (len(p.Maxima) != 6*nt || len(p.Counts) != 4*nt):
		return fmt.Errorf("%d maxima and %d counts for %d tensors", len(p.Maxima), len(p.Counts), nt)
	}
	return nil
}

// MergeFidelity combines the parts of a fidelity comparison, in image
// order, into the Report of all their images.
func MergeFidelity(parts []*FidelityPart) (*Report, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("merge fidelity: no part")
	}
	s := newFidelitySums()
	first := parts[0]
	var tensors []string // of the first image
	for k, p := range parts {
		if err := p.check(); err != nil {
			return nil, fmt.Errorf("merge fidelity: part %d: %w", k, err)
		}
		if p.Model != first.Model || p.Method != first.Method || p.Classes != first.Classes {
			return nil, fmt.Errorf("merge fidelity: part %d is of %s (%s, %d classes), part 0 of %s (%s, %d classes)",
				k, p.Model, p.Method, p.Classes, first.Model, first.Method, first.Classes)
		}
		if p.Images == 0 {
			continue
		}
		if s.ops != nil && !sameOps(s.ops, p.Ops) {
			return nil, fmt.Errorf("merge fidelity: part %d counts other operations than the first", k)
		}
		if tensors == nil {
			tensors = p.Tensors
		} else if !slices.Equal(tensors, p.Tensors) {
			return nil, fmt.Errorf("merge fidelity: part %d taps other tensors than the first", k)
		}
		nt, c := len(p.Tensors), p.Classes
		stats := make(map[string]*tensorStats, nt)
		for i := range p.Images {
			for t, name := range p.Tensors {
				st := &tensorStats{}
				flags := p.Flags[i*nt+t]
				sums := p.Sums[8*(i*nt+t):]
				for k, a := range []*acc{&st.float, &st.fq} {
					a.present = flags&(partFloat<<k) != 0
					a.mismatch = flags&(partFloatMismatch<<k) != 0
					a.rr, a.dd, a.xr, a.xx = sums[4*k], sums[4*k+1], sums[4*k+2], sums[4*k+3]
				}
				stats[name] = st
			}
			var rows [3][]float64
			for k := range rows {
				rows[k] = p.Logits[(3*i+k)*c : (3*i+k+1)*c]
			}
			s.addImage(p.Tensors, stats, rows, p.Labels[i:i+1])
		}
		s.addOps(p.Ops)
		// The order-free parts: maxima and counts.
		for t, name := range p.Tensors {
			tot := s.totals[name]
			for k, a := range []*acc{&tot.float, &tot.fq} {
				m := p.Maxima[6*t+3*k:]
				a.maxDiff, a.maxRef, a.maxLSB = math.Max(a.maxDiff, m[0]), math.Max(a.maxRef, m[1]), math.Max(a.maxLSB, m[2])
				a.equal += p.Counts[4*t+2*k]
				a.n += p.Counts[4*t+2*k+1]
			}
		}
		if p.Unlabelled {
			for k := range s.paths {
				s.paths[k].labelled = false
			}
		}
	}
	return s.report(first.Model, first.Method)
}

// sameOps reports whether a and b list the same operations.
func sameOps(a, b []OpCounters) bool {
	return slices.EqualFunc(a, b, func(x, y OpCounters) bool { return x.Op == y.Op })
}
