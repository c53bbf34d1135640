package quant

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/internal/num"
	"github.com/vimsim/vimsim/internal/par"
	"github.com/vimsim/vimsim/vim"
)

// MergeScale is the scale of one layer's merged int8 out_proj input
// m = (y_f + flip(y_b))/2: one scale per channel group (k-scaled
// channel-wise, ptq-method.md §4), Group giving the group of each of the E
// channels (nil: one group, a per-tensor scale).
type MergeScale struct {
	Scales []float64
	Group  []uint8
}

// perChannel expands s to one scale per channel.
func (s MergeScale) perChannel(e int) ([]float64, error) {
	if len(s.Scales) == 0 {
		return nil, fmt.Errorf("no merge scale")
	}
	for g, v := range s.Scales {
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("merge scale %d = %g is not positive and finite", g, v)
		}
	}
	out := make([]float64, e)
	if s.Group == nil {
		if len(s.Scales) != 1 {
			return nil, fmt.Errorf("%d merge scales without channel groups", len(s.Scales))
		}
		for c := range out {
			out[c] = s.Scales[0]
		}
		return out, nil
	}
	if len(s.Group) != e {
		return nil, fmt.Errorf("%d merge channel groups for %d channels", len(s.Group), e)
	}
	for c, g := range s.Group {
		if int(g) >= len(s.Scales) {
			return nil, fmt.Errorf("merge channel %d in group %d of %d", c, g, len(s.Scales))
		}
		out[c] = s.Scales[g]
	}
	return out, nil
}

// MergeOptions configure CalibrateMerge.
type MergeOptions struct {
	// K is the number of channel groups (k-scaled channel-wise); 1 (or
	// 0) gives a per-tensor scale.
	K int
	// ByMean groups the channels by a 1-D k-means on their mean |value|,
	// as quant groups its channel-wise quantizers (ptq-method.md §4.2);
	// false groups them by their largest |value|, which separates the
	// outlier channels that set a group's scale.
	ByMean bool
	// Search selects the cosine-similarity grid search of the paper's
	// output quantizers (ratios 0.01…1.19 of each group's min-max scale,
	// ptq-method.md §2.1) on sampled rows; false keeps the min-max scale.
	Search bool
	// Headroom raises a group's scale, when needed, so that the gated
	// output of each direction (int16 at s_m/128, range ±256·s_m) holds the
	// largest calibration value instead of saturating (DATAPATH.md §14).
	Headroom bool
	// Rows is the number of token rows, sampled evenly over the images,
	// on which the search runs (default 512).
	Rows int
	// Workers bounds the goroutines (0: GOMAXPROCS); the result does not
	// depend on it.
	Workers int
	// Context, when set, stops the calibration with its error once it is
	// done (checked before each image).
	Context context.Context
}

// DefaultMergeGroups is the number of channel groups MergeOptionsFor gives
// the merge of every method but "naive": on the Fashion-MNIST model, 8
// groups (by largest |value|) reach 24.7 dB of logits SQNR against the
// fake-quant path, against 23.9 dB for 4 and 25.1 dB for 16 (measured
// with GateFrac 8; with GateFrac 7, 8 groups reach 27.8 dB; DATAPATH.md
// §14).
const DefaultMergeGroups = 8

// MergeOptionsFor returns the merge calibration matching a quantized
// model's method: per tensor and min-max for "naive" (min-max everywhere),
// DefaultMergeGroups channel groups with the search otherwise; headroom
// for both.
func MergeOptionsFor(qm *QModel) MergeOptions {
	if qm.Method == MethodNaive {
		return MergeOptions{K: 1, Headroom: true}
	}
	return MergeOptions{K: DefaultMergeGroups, Search: true, Headroom: true}
}

// CalibrateMerge measures the scales of every layer's merged int8 out_proj
// input — (y_f + flip(y_b))/2, a point the method leaves in float — on the
// float reference's taps ("layers.i.mixer.y_comb" and the gated outputs
// ".mixer.{fwd,bwd}.y") over imgs, as the method calibrates its own
// quantizers on float activations (non-sequential calibration,
// ptq-method.md §2.2). The result does not depend on the number of
// goroutines.
func CalibrateMerge(m *vim.Model, imgs Images, opt MergeOptions) ([]MergeScale, error) {
	if imgs == nil || imgs.Len() == 0 {
		return nil, errors.New("calibrate merge scales: no images")
	}
	if opt.Rows <= 0 {
		opt.Rows = 512
	}
	k := max(opt.K, 1)
	if k > 16 {
		return nil, fmt.Errorf("calibrate merge scales: %d groups exceed the 16 of the split-K group requantizer", k)
	}
	c := m.Config
	L, E, depth := c.Tokens(), c.DInner, c.Depth
	n := imgs.Len()
	stride := max(1, (n*L+opt.Rows-1)/opt.Rows)
	size := c.Channels * c.ImgH * c.ImgW
	type layerStats struct {
		max, sum, dmax []float64 // per channel: max |m|, Σ|m|, max |gated| of either direction
		rows           []float64 // sampled rows back to back
	}
	type perImage struct {
		layers []layerStats
		err    error
	}
	res := make([]perImage, n)
	par.For(n, opt.Workers, func(b int) {
		r := &res[b]
		if opt.Context != nil {
			if r.err = opt.Context.Err(); r.err != nil {
				return
			}
		}
		r.layers = make([]layerStats, depth)
		for i := range r.layers {
			r.layers[i] = layerStats{max: make([]float64, E), sum: make([]float64, E), dmax: make([]float64, E)}
		}
		img := make([]float64, size)
		if err := imgs.Image(b, img); err != nil {
			r.err = err
			return
		}
		_, err := m.Forward(img, vim.F64, func(name string, _ []int, data []float64) {
			if i, ok := gatedLayer(name); ok && i < depth {
				st := &r.layers[i]
				for ch := 0; ch < E; ch++ { // (E, L) layout
					for _, v := range data[ch*L : (ch+1)*L] {
						st.dmax[ch] = math.Max(st.dmax[ch], math.Abs(v))
					}
				}
				return
			}
			i, ok := combLayer(name)
			if !ok || i >= depth {
				return
			}
			st := &r.layers[i]
			for t := 0; t < L; t++ { // (L, E) layout
				row := data[t*E : (t+1)*E]
				for ch, v := range row {
					a := math.Abs(v)
					st.max[ch] = math.Max(st.max[ch], a)
					st.sum[ch] += a
				}
				if (b*L+t)%stride == 0 {
					st.rows = append(st.rows, row...)
				}
			}
		})
		if err != nil {
			r.err = err
		}
	})
	for b := range res {
		if res[b].err != nil {
			return nil, fmt.Errorf("calibrate merge scales: image %d: %w", b, res[b].err)
		}
	}
	out := make([]MergeScale, depth)
	for i := range out {
		tot := layerStats{max: make([]float64, E), sum: make([]float64, E), dmax: make([]float64, E)}
		for b := range res {
			st := &res[b].layers[i]
			for ch := 0; ch < E; ch++ {
				tot.max[ch] = math.Max(tot.max[ch], st.max[ch])
				tot.dmax[ch] = math.Max(tot.dmax[ch], st.dmax[ch])
				tot.sum[ch] += st.sum[ch]
			}
			tot.rows = append(tot.rows, st.rows...)
		}
		group := make([]int, E)
		groups := 1
		if k > 1 {
			profile := tot.max
			if opt.ByMean {
				profile = tot.sum
			}
			labels, centroids, err := KMeans1D(profile, k)
			if err != nil {
				return nil, fmt.Errorf("calibrate merge scales: layer %d: %w", i, err)
			}
			group, groups = labels, len(centroids)
		}
		ms := MergeScale{Scales: make([]float64, groups)}
		if groups > 1 {
			ms.Group = make([]uint8, E)
			for ch, g := range group {
				ms.Group[ch] = uint8(g)
			}
		}
		for g := 0; g < groups; g++ {
			var gmax, dmax float64
			var vals []float64
			for ch := 0; ch < E; ch++ {
				if group[ch] != g {
					continue
				}
				gmax = math.Max(gmax, tot.max[ch])
				dmax = math.Max(dmax, tot.dmax[ch])
			}
			s := MinMaxScale(gmax, 8)
			if opt.Search {
				for r := 0; r+E <= len(tot.rows); r += E {
					for ch, v := range tot.rows[r : r+E] {
						if group[ch] == g {
							vals = append(vals, v)
						}
					}
				}
				if len(vals) > 0 {
					s = searchScale(vals, s, opt.Workers)
				}
			}
			if opt.Headroom {
				s = math.Max(s, dmax/(1<<(datapath.GateBits-1-datapath.GateFrac)))
			}
			ms.Scales[g] = s
		}
		out[i] = ms
	}
	return out, nil
}

// gatedLayer parses "layers.{i}.mixer.{fwd,bwd}.y".
func gatedLayer(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "layers.")
	if !ok {
		return 0, false
	}
	num, ok := strings.CutSuffix(rest, ".mixer.fwd.y")
	if !ok {
		if num, ok = strings.CutSuffix(rest, ".mixer.bwd.y"); !ok {
			return 0, false
		}
	}
	i, err := strconv.Atoi(num)
	return i, err == nil && i >= 0
}

// combLayer parses "layers.{i}.mixer.y_comb".
func combLayer(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "layers.")
	if !ok {
		return 0, false
	}
	num, ok := strings.CutSuffix(rest, ".mixer.y_comb")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(num)
	return i, err == nil && i >= 0
}

// searchScale returns s0·ratio for the ratio of the grid 0.01 + i·1.19/100
// (i < 100) whose int8 fake quantization of v has the largest cosine
// similarity with v; the first on ties.
func searchScale(v []float64, s0 float64, workers int) float64 {
	const n = 100
	scores := make([]float64, n)
	var vv float64
	for _, x := range v {
		vv += x * x
	}
	par.For(n, workers, func(i int) {
		s := s0 * (0.01 + float64(i)*(1.2-0.01)/n)
		var dot, qq float64
		for _, x := range v {
			q := FakeQuant(x, s, 8)
			dot += x * q
			qq += q * q
		}
		scores[i] = dot / (math.Max(math.Sqrt(vv), 1e-8) * math.Max(math.Sqrt(qq), 1e-8))
	})
	return s0 * (0.01 + float64(num.Argmax(scores))*(1.2-0.01)/n)
}
