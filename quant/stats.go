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

// addRows adds, for each token t of pos, the first cols values of row t of
// v (rows of stride values).
func (r *rowSet) addRows(v []float64, stride int, pos []int) {
	for _, t := range pos {
		r.add(v[t*stride:t*stride+r.cols], t)
	}
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

// slot is one worker of the calibration: a float pass whose hooks hand
// every site and scan step to the collectors of the current stage.
type slot struct {
	pass  *vim.Pass[float64]
	own   [2][]float64 // the pass's own residual stream
	at    func(vim.Point, vim.Tensor[float64])
	step  func(vim.Point, int, []float64)
	qconv []float64 // L×E scratch of the layer collector
}

func (c *calibrator) newSlot() *slot {
	sl := &slot{}
	sl.pass = c.net.NewPass(vim.Hooks[float64]{
		At: func(pt vim.Point, t vim.Tensor[float64]) {
			if sl.at != nil {
				sl.at(pt, t)
			}
		},
		Step: func(pt vim.Point, s int, h []float64) {
			if sl.step != nil {
				sl.step(pt, s, h)
			}
		},
	})
	sl.own = [2][]float64{sl.pass.Residual, sl.pass.Hidden}
	sl.qconv = make([]float64, c.cfg.Tokens()*c.cfg.DInner)
	return sl
}

// stream points the pass at an image's residual stream.
func (sl *slot) stream(residual, hidden []float64) {
	sl.pass.Residual, sl.pass.Hidden = residual, hidden
}

// release points the pass back at its own buffers and drops the
// collectors, so that nothing aliases the image streams after a stage.
func (sl *slot) release() {
	sl.pass.Residual, sl.pass.Hidden = sl.own[0], sl.own[1]
	sl.at, sl.step = nil, nil
}

// passA runs layer i of the float network on every image, advancing the
// residual streams, and returns the layer's statistics.
func (c *calibrator) passA(i int, slots []*slot) (*layerStats, error) {
	cfg := c.cfg
	E, K := cfg.DInner, cfg.DConv
	total := newLayerStats(cfg)
	per := make([]*layerStats, len(slots))
	for s := range per {
		per[s] = newLayerStats(cfg)
	}
	// The conv output with min-max quantized weights, for its output search.
	var convQ [2][]float64
	for d := range convQ {
		qw := c.minMaxWeight(c.m.Layers[i].Dir[d].ConvW, E, K, c.plan.Blocks[i].Ops[OpConv1d].W)
		convQ[d] = qw.Dequantize()
	}
	err := c.forImages(len(slots), func(s, b int) error {
		sl, st := slots[s], per[s]
		st.reset()
		st.images = 1
		lc := &layerCollector{c: c, i: i, b: b, st: st, convQ: &convQ, qconv: sl.qconv}
		sl.at, sl.step = lc.at, lc.step
		sl.stream(c.res[b], c.hid[b])
		sl.pass.Block(i)
		return nil
	}, func(s, _ int) { total.merge(per[s]) })
	for _, sl := range slots {
		sl.release()
	}
	return total, err
}

// layerCollector gathers the statistics of layer i on image b from the
// sites of a float pass.
type layerCollector struct {
	c     *calibrator
	i, b  int
	st    *layerStats
	convQ *[2][]float64 // min-max quantized conv weights per direction
	qconv []float64     // L×E conv output with them
}

// at takes what the quantizers of layer i need from the tensor at pt.
func (lc *layerCollector) at(pt vim.Point, t vim.Tensor[float64]) {
	cfg, st, pos := &lc.c.cfg, lc.st, lc.c.pos[lc.b]
	D, E, L, N, R := cfg.Dim, cfg.DInner, cfg.Tokens(), cfg.DState, cfg.DtRank
	XO := cfg.XProjOut()
	v := t.Data
	ds := &st.dir[pt.Dir]
	ssm := lc.b < lc.c.nSSM
	switch pt.Site {
	case vim.SiteResidual:
		st.resMax = maxAbs(v)
	case vim.SiteNormOut:
		st.normMax = maxAbs(v)
		st.inRows.addRows(v, D, pos)
	case vim.SiteXZ:
		st.inMax = maxAbs(v)
	case vim.SiteZGate:
		st.zg.addChannels(v, L, E)
		st.zgRows.addRows(v, E, pos)
	case vim.SiteConvIn:
		// Causal: the rows up to the last sampled token need only those inputs.
		n := (pos[len(pos)-1] + 1) * E
		vim.CausalConv(v[:n], lc.convQ[pt.Dir], lc.c.m.Layers[lc.i].Dir[pt.Dir].ConvB, lc.qconv[:n], E, cfg.DConv)
		ds.convQW.addRows(lc.qconv, E, pos)
	case vim.SiteConv:
		ds.conv.addChannels(v, L, E)
		ds.convFP.addRows(v, E, pos)
	case vim.SiteConvSiLU:
		ds.act.addChannels(v, L, E)
		ds.actRows.addRows(v, E, pos)
		if ssm {
			ds.ssm = []ssmImage{{x: slices.Clone(v), b: make([]float64, L*N), c: make([]float64, L*N)}}
		}
	case vim.SiteXDbl:
		for s := 0; s < L; s++ {
			row := v[s*XO : (s+1)*XO]
			for j, x := range row {
				ds.xpColMax[j] = math.Max(ds.xpColMax[j], math.Abs(x))
			}
			for j, x := range row[:R] {
				ds.dtSum[j] += x
			}
			if ssm {
				im := &ds.ssm[0]
				copy(im.b[s*N:(s+1)*N], row[R:R+N])
				copy(im.c[s*N:(s+1)*N], row[R+N:R+2*N])
			}
		}
		ds.dtRows.addRows(v, XO, pos)
	case vim.SiteDt:
		ds.dtMax = maxAbs(v)
	case vim.SiteDelta:
		ds.delta.addChannels(v, L, E)
		ds.deltaRows.addRows(v, E, pos)
		if ssm {
			ds.ssm[0].delta = slices.Clone(v)
		}
	case vim.SiteSSMY:
		ds.y.addChannelsFlat(v)
	case vim.SiteYComb:
		st.mrgMax = maxAbs(v)
		st.outRows.addRows(v, E, pos)
	case vim.SiteOut:
		st.out.addTokens(v, L, D)
	}
}

// step accumulates |h_s| per (s, e, n).
func (lc *layerCollector) step(pt vim.Point, s int, h []float64) {
	hs := &lc.st.dir[pt.Dir].h
	base := s * len(h)
	sum, mx := hs.sum[base:base+len(h)], hs.max[base:base+len(h)]
	for j, v := range h {
		v = math.Abs(v)
		sum[j] += v
		if v > mx[j] {
			mx[j] = v
		}
	}
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
