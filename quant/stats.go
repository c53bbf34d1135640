package quant

import (
	"math"
	"slices"

	"github.com/vimsim/vimsim/vim"
)

// rowSet is a growing set of sampled token rows of width cols.
type rowSet struct {
	cols int
	data []float64
	tok  []int
}

func (r *rowSet) add(row []float64, tok int) {
	r.data = append(r.data, row...)
	r.tok = append(r.tok, tok)
}

func (r *rowSet) rows() int { return len(r.tok) }

func (r *rowSet) reset() {
	r.data = r.data[:0]
	r.tok = r.tok[:0]
}

func (r *rowSet) merge(o *rowSet) {
	r.data = append(r.data, o.data...)
	r.tok = append(r.tok, o.tok...)
}

// absStat accumulates, per index, the sum and the max of |T| along the
// other axes.
type absStat struct {
	sum, max []float64
}

func newAbsStat(n int) absStat { return absStat{sum: make([]float64, n), max: make([]float64, n)} }

func (a *absStat) reset() {
	clear(a.sum)
	clear(a.max)
}

func (a *absStat) merge(o *absStat) {
	for i, v := range o.sum {
		a.sum[i] += v
		a.max[i] = math.Max(a.max[i], o.max[i])
	}
}

// addChannels accumulates a rows×cols tensor per column.
func (a *absStat) addChannels(v []float64, rows, cols int) {
	for r := 0; r < rows; r++ {
		for j, x := range v[r*cols : (r+1)*cols] {
			x = math.Abs(x)
			a.sum[j] += x
			if x > a.max[j] {
				a.max[j] = x
			}
		}
	}
}

// addTokens accumulates a rows×cols tensor per row.
func (a *absStat) addTokens(v []float64, rows, cols int) {
	for r := 0; r < rows; r++ {
		for _, x := range v[r*cols : (r+1)*cols] {
			x = math.Abs(x)
			a.sum[r] += x
			if x > a.max[r] {
				a.max[r] = x
			}
		}
	}
}

// profile returns sum/count: the mean |T| per index.
func (a *absStat) profile(count float64) []float64 {
	p := make([]float64, len(a.sum))
	for i, v := range a.sum {
		p[i] = v / count
	}
	return p
}

// ssmImage holds the float inputs of one scan for the hidden-state search,
// in scan order: x (L×E, SiLU output), Δ (L×E), B and C (L×N, from the
// unfolded x_proj).
type ssmImage struct {
	x, delta, b, c []float64
}

// dirStats are the statistics of one scan direction of a layer.
type dirStats struct {
	conv, act, delta absStat   // per channel (E)
	xpColMax         []float64 // per x_proj output column
	dtSum            []float64 // sum of the dt_proj input rows (R)
	dtMax            float64   // max |dt_proj output|
	h                absStat   // per (s, e, n): |h_s[e,n]|, L×E×N
	y                absStat   // per (s, e): |y_s[e]|, L×E
	convFP, convQW   rowSet    // conv output rows: float weights, quantized weights
	actRows          rowSet    // SiLU output rows (x_proj input)
	dtRows           rowSet    // dt_proj input rows
	deltaRows        rowSet    // Δ rows
	ssm              []ssmImage
}

// layerStats are the statistics of one layer over the images merged so
// far: what each quantizer of the layer needs, and nothing more.
type layerStats struct {
	images  int
	tokens  int // token rows per image (L)
	normMax float64
	inMax   float64
	resMax  float64 // max |residual| (the norm input)
	mrgMax  float64 // max |merged gated output| (the out_proj input)
	zg      absStat // SiLU(z) per channel
	out     absStat // out_proj output per token
	inRows  rowSet  // in_proj input rows
	zgRows  rowSet  // SiLU(z) rows
	outRows rowSet  // out_proj input rows (token = original position)
	dir     [2]dirStats
}

func newLayerStats(c vim.Config) *layerStats {
	D, E, L, N, R := c.Dim, c.DInner, c.Tokens(), c.DState, c.DtRank
	st := &layerStats{tokens: L, zg: newAbsStat(E), out: newAbsStat(L),
		inRows: rowSet{cols: D}, zgRows: rowSet{cols: E}, outRows: rowSet{cols: E}}
	for d := range st.dir {
		st.dir[d] = dirStats{conv: newAbsStat(E), act: newAbsStat(E), delta: newAbsStat(E),
			xpColMax: make([]float64, c.XProjOut()), dtSum: make([]float64, R),
			h: newAbsStat(L * E * N), y: newAbsStat(L * E),
			convFP: rowSet{cols: E}, convQW: rowSet{cols: E}, actRows: rowSet{cols: E},
			dtRows: rowSet{cols: R}, deltaRows: rowSet{cols: E}}
	}
	return st
}

// reset empties st for the next image.
func (st *layerStats) reset() {
	st.images, st.normMax, st.inMax, st.resMax, st.mrgMax = 0, 0, 0, 0, 0
	st.zg.reset()
	st.out.reset()
	st.inRows.reset()
	st.zgRows.reset()
	st.outRows.reset()
	for d := range st.dir {
		ds := &st.dir[d]
		ds.conv.reset()
		ds.act.reset()
		ds.delta.reset()
		clear(ds.xpColMax)
		clear(ds.dtSum)
		ds.dtMax = 0
		ds.h.reset()
		ds.y.reset()
		ds.convFP.reset()
		ds.convQW.reset()
		ds.actRows.reset()
		ds.dtRows.reset()
		ds.deltaRows.reset()
		ds.ssm = nil
	}
}

// merge adds the statistics of o (one image) to st.
func (st *layerStats) merge(o *layerStats) {
	st.images += o.images
	st.normMax = math.Max(st.normMax, o.normMax)
	st.inMax = math.Max(st.inMax, o.inMax)
	st.resMax = math.Max(st.resMax, o.resMax)
	st.mrgMax = math.Max(st.mrgMax, o.mrgMax)
	st.zg.merge(&o.zg)
	st.out.merge(&o.out)
	st.inRows.merge(&o.inRows)
	st.zgRows.merge(&o.zgRows)
	st.outRows.merge(&o.outRows)
	for d := range st.dir {
		a, b := &st.dir[d], &o.dir[d]
		a.conv.merge(&b.conv)
		a.act.merge(&b.act)
		a.delta.merge(&b.delta)
		for j, v := range b.xpColMax {
			a.xpColMax[j] = math.Max(a.xpColMax[j], v)
		}
		for j, v := range b.dtSum {
			a.dtSum[j] += v
		}
		a.dtMax = math.Max(a.dtMax, b.dtMax)
		a.h.merge(&b.h)
		a.y.merge(&b.y)
		a.convFP.merge(&b.convFP)
		a.convQW.merge(&b.convQW)
		a.actRows.merge(&b.actRows)
		a.dtRows.merge(&b.dtRows)
		a.deltaRows.merge(&b.deltaRows)
		a.ssm = append(a.ssm, b.ssm...)
	}
}

// passA runs layer i of the float network on every image, advancing the
// residual streams, and returns the layer's statistics.
func (c *calibrator) passA(i int, works []*work) (*layerStats, error) {
	cfg := c.cfg
	E, L, N, K, R := cfg.DInner, cfg.Tokens(), cfg.DState, cfg.DConv, cfg.DtRank
	XO := cfg.XProjOut()
	slots := len(works)
	total := newLayerStats(cfg)
	per := make([]*layerStats, slots)
	for s := range per {
		per[s] = newLayerStats(cfg)
	}
	// The conv output with min-max quantized weights, for its output search.
	var convQ [2][]float64
	for d := range convQ {
		dp := &c.m.Layers[i].Dir[d]
		qw := c.minMaxWeight(dp.ConvW, E, K)
		convQ[d] = qw.Dequantize()
	}
	err := c.forImages(slots, func(s, b int) error {
		w, st := works[s], per[s]
		st.reset()
		st.images = 1
		hook := func(dir, step int, h []float64) {
			hs := &st.dir[dir].h
			base := step * E * N
			sum, mx := hs.sum[base:base+E*N], hs.max[base:base+E*N]
			for j, v := range h {
				v = math.Abs(v)
				sum[j] += v
				if v > mx[j] {
					mx[j] = v
				}
			}
		}
		w.residual, w.hidden, w.hook = c.res[b], c.hid[b], hook
		c.net.block(i, w)
		w.hook = nil
		st.normMax = maxAbs(w.normed)
		st.inMax = maxAbs(w.xz)
		st.resMax = maxAbs(w.residual)
		st.mrgMax = maxAbs(w.ycomb)
		st.zg.addChannels(w.zg, L, E)
		st.out.addTokens(w.hidden, L, cfg.Dim)
		for _, t := range c.pos[b] {
			st.inRows.add(w.normed[t*cfg.Dim:(t+1)*cfg.Dim], t)
			st.zgRows.add(w.zg[t*E:(t+1)*E], t)
			st.outRows.add(w.ycomb[t*E:(t+1)*E], t)
		}
		qrow := make([]float64, E)
		for d := range w.dir {
			dw, ds := &w.dir[d], &st.dir[d]
			dp := &c.m.Layers[i].Dir[d]
			ds.conv.addChannels(dw.c, L, E)
			ds.act.addChannels(dw.xa, L, E)
			ds.delta.addChannels(dw.delta, L, E)
			for s := 0; s < L; s++ {
				row := dw.xdbl[s*XO : (s+1)*XO]
				for j, v := range row {
					ds.xpColMax[j] = math.Max(ds.xpColMax[j], math.Abs(v))
				}
				for j, v := range row[:R] {
					ds.dtSum[j] += v
				}
			}
			ds.dtMax = maxAbs(dw.dpre)
			ds.y.addChannelsFlat(dw.y)
			for _, s := range c.pos[b] {
				ds.convFP.add(dw.c[s*E:(s+1)*E], s)
				copy(qrow, dp.ConvB)
				for k := 0; k < K; k++ {
					src := s - (K - 1) + k
					if src < 0 {
						continue
					}
					xr := dw.xs[src*E : (src+1)*E]
					for e := range qrow {
						qrow[e] += convQ[d][e*K+k] * xr[e]
					}
				}
				ds.convQW.add(qrow, s)
				ds.actRows.add(dw.xa[s*E:(s+1)*E], s)
				ds.dtRows.add(dw.xdbl[s*XO:s*XO+R], s)
				ds.deltaRows.add(dw.delta[s*E:(s+1)*E], s)
			}
			if b < c.nSSM {
				im := ssmImage{x: slices.Clone(dw.xa), delta: slices.Clone(dw.delta),
					b: make([]float64, L*N), c: make([]float64, L*N)}
				for s := 0; s < L; s++ {
					copy(im.b[s*N:(s+1)*N], dw.xdbl[s*XO+R:s*XO+R+N])
					copy(im.c[s*N:(s+1)*N], dw.xdbl[s*XO+R+N:s*XO+R+2*N])
				}
				ds.ssm = []ssmImage{im}
			}
		}
		return nil
	}, func(s, _ int) { total.merge(per[s]) })
	// The work buffers must not alias the streams after the pass.
	for _, w := range works {
		w.residual, w.hidden = make([]float64, L*cfg.Dim), make([]float64, L*cfg.Dim)
	}
	return total, err
}

// addChannelsFlat accumulates |v| element by element (a stat indexed like
// v itself).
func (a *absStat) addChannelsFlat(v []float64) {
	for j, x := range v {
		x = math.Abs(x)
		a.sum[j] += x
		if x > a.max[j] {
			a.max[j] = x
		}
	}
}
