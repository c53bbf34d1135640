package quant

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/vimsim/vimsim/internal/par"
	"github.com/vimsim/vimsim/vim"
)

// Images is a calibration set: Len preprocessed images, each (C,H,W) in the
// model's input layout.
type Images interface {
	Len() int
	// Image writes image i into dst, which has the model's input size.
	Image(i int, dst []float64) error
}

// SliceImages is an Images held in memory: n images of Size values stored
// back to back in Data.
type SliceImages struct {
	Data []float64
	Size int
}

// Len returns the number of images.
func (s SliceImages) Len() int {
	if s.Size <= 0 {
		return 0
	}
	return len(s.Data) / s.Size
}

// Image copies image i into dst.
func (s SliceImages) Image(i int, dst []float64) error {
	if i < 0 || i >= s.Len() {
		return fmt.Errorf("calibration image %d out of range [0,%d)", i, s.Len())
	}
	if len(dst) != s.Size {
		return fmt.Errorf("calibration image %d: %d values, want %d", i, s.Size, len(dst))
	}
	copy(dst, s.Data[i*s.Size:(i+1)*s.Size])
	return nil
}

// Calibrate quantizes m with the method and settings of opt, calibrating on
// every image of src. The calibration is non-sequential as in the official
// code (§2.2): every quantizer sees float inputs from the float network.
// It runs the float network once per image, layer by layer over all
// images, keeping only the residual stream of each image and the
// statistics of the current layer. The result depends only on m, the
// images and opt (not on GOMAXPROCS or Workers).
func Calibrate(m *vim.Model, src Images, opt Options) (*QModel, error) {
	opt, rec, err := opt.validate()
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	if src == nil || src.Len() == 0 {
		return nil, errors.New("calibrate: no calibration images")
	}
	if _, err := opt.Precision.Resolve(m.Config.Depth); err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	c := newCalibrator(m, src, opt, rec)
	q, err := c.run()
	if err != nil {
		return nil, fmt.Errorf("calibrate %s (%s): %w", m.Config.Name, opt.Method, err)
	}
	return q, nil
}

// calibrator holds the state of one calibration.
type calibrator struct {
	cfg  vim.Config
	m    *vim.Model
	net  *vim.Net[float64] // the float network
	src  Images
	opt  Options
	rec  recipe
	plan Plan // opt.Precision resolved
	n    int
	pos  [][]int // sampled token positions of each image (sorted)
	res  [][]float64
	hid  [][]float64
	nSSM int // images of the SSM search
}

// newCalibrator prepares the calibration of m on src with validated
// options whose recipe resolves for m (Calibrate checks both).
func newCalibrator(m *vim.Model, src Images, opt Options, rec recipe) *calibrator {
	c := &calibrator{cfg: m.Config, m: m, net: vim.NewNet[float64](m),
		src: src, opt: opt, rec: rec, n: src.Len()}
	c.plan, _ = opt.Precision.Resolve(m.Config.Depth)
	L := c.cfg.Tokens()
	per := min(L, max(1, (opt.SearchRows+c.n-1)/c.n))
	c.pos = make([][]int, c.n)
	for b := range c.pos {
		rng := rand.New(rand.NewPCG(opt.Seed, uint64(b)))
		p := rng.Perm(L)[:per]
		slices.Sort(p)
		c.pos[b] = p
	}
	c.nSSM = min(c.n, opt.SSMImages)
	return c
}

// cancelled returns the error of the calibration's context, if done.
func (c *calibrator) cancelled() error {
	if c.opt.Context == nil {
		return nil
	}
	return c.opt.Context.Err()
}

func (c *calibrator) progress(stage string, done, total int) {
	if c.opt.Progress != nil {
		c.opt.Progress(stage, done, total)
	}
}

// forImages runs compute(slot, b) for every image b on the workers, len
// slots images at a time, then reduce(slot, b) for those images in image
// order, so that float reductions do not depend on the schedule.
func (c *calibrator) forImages(slots int, compute func(slot, b int) error, reduce func(slot, b int)) error {
	errs := make([]error, slots)
	for start := 0; start < c.n; start += slots {
		cnt := min(slots, c.n-start)
		par.ForWorker(cnt, c.opt.Workers, func(_, j int) {
			if errs[j] = c.cancelled(); errs[j] == nil {
				errs[j] = compute(j, start+j)
			}
		})
		for j := 0; j < cnt; j++ {
			if errs[j] != nil {
				return errs[j]
			}
			reduce(j, start+j)
		}
	}
	return nil
}

func (c *calibrator) run() (*QModel, error) {
	cfg, opt := c.cfg, c.opt
	m := c.m
	pl := c.plan
	q := &QModel{Config: cfg, Method: opt.Method, WBits: opt.WBits, ABits: opt.ABits, HBits: opt.HBits,
		Precision: *opt.Precision,
		Calib: CalibInfo{Images: c.n, Seed: opt.Seed, Data: opt.Data, K: opt.K, Rounds: opt.Rounds,
			SearchRows: opt.SearchRows, WeightSearchRows: opt.WeightSearchRows, SSMImages: c.nSSM,
			SearchMinMaxPoints: opt.SearchMinMaxPoints, PerChannel: opt.PerChannelWeights},
		Cls: slices.Clone(m.ClsToken), Pos: slices.Clone(m.PosEmbed)}
	if !c.rec.kscale {
		q.Calib.K = 1
	}
	L, D := cfg.Tokens(), cfg.Dim
	size := cfg.Channels * cfg.ImgH * cfg.ImgW

	// Stage 0: the patch embedding of every image.
	slots := make([]*slot, c.opt.Workers)
	imgs := make([][]float64, len(slots))
	for s := range slots {
		slots[s] = c.newSlot()
		imgs[s] = make([]float64, size)
	}
	c.res = make([][]float64, c.n)
	c.hid = make([][]float64, c.n)
	peMax := make([]float64, len(slots))
	inMax := make([]float64, len(slots))
	peRows := make([]rowSet, len(slots))
	var patchMax, imgMax float64
	var patchRows rowSet
	err := c.forImages(len(slots), func(s, b int) error {
		if err := c.src.Image(b, imgs[s]); err != nil {
			return fmt.Errorf("calibration image %d: %w", b, err)
		}
		sl := slots[s]
		sl.at = func(pt vim.Point, t vim.Tensor[float64]) {
			if pt.Site != vim.SitePatchEmbed {
				return
			}
			peMax[s] = maxAbs(t.Data)
			peRows[s].reset()
			for _, tok := range c.pos[b] {
				if tok < cfg.Patches() {
					peRows[s].add(t.Data[tok*D:(tok+1)*D], tok)
				}
			}
		}
		if err := sl.pass.Embed(imgs[s]); err != nil {
			return fmt.Errorf("calibration image %d: %w", b, err)
		}
		c.hid[b] = slices.Clone(sl.pass.Hidden)
		c.res[b] = make([]float64, L*D)
		inMax[s] = maxAbs(imgs[s])
		return nil
	}, func(s, _ int) {
		patchMax = math.Max(patchMax, peMax[s])
		imgMax = math.Max(imgMax, inMax[s])
		patchRows.merge(&peRows[s])
	})
	for _, sl := range slots {
		sl.release()
	}
	if err != nil {
		return nil, err
	}
	kk := cfg.Channels * cfg.Patch * cfg.Patch
	q.Patch = QLinear{W: c.minMaxWeight(m.PatchW, D, kk, pl.Embed.W), Bias: slices.Clone(m.PatchB),
		Out: c.perTensor(patchMax, pl.Embed.A)}
	c.searchMinMaxPoint(&patchRows, D, q.Patch.Out)
	q.Input = c.perTensor(imgMax, 8)
	q.ResidualMax = make([]float64, cfg.Depth+1)
	c.progress("patch_embed", 0, cfg.Depth)

	q.Layers = make([]QLayer, cfg.Depth)
	for i := range q.Layers {
		if err := c.cancelled(); err != nil {
			return nil, err
		}
		st, err := c.passA(i, slots)
		if err != nil {
			return nil, err
		}
		q.ResidualMax[i] = st.resMax
		if q.Layers[i], err = c.calibrateLayer(i, st); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		c.progress("layer", i+1, cfg.Depth)
	}

	// Final norm (cls token) and head.
	tp := cfg.ClsPos()
	feats := make([]float64, c.n*D)
	var featMax float64
	sl := slots[0]
	for b := 0; b < c.n; b++ {
		if err := c.cancelled(); err != nil {
			return nil, err
		}
		f := feats[b*D : (b+1)*D]
		sl.at = func(pt vim.Point, t vim.Tensor[float64]) {
			switch pt.Site {
			case vim.SiteFinalResidual:
				q.ResidualMax[cfg.Depth] = math.Max(q.ResidualMax[cfg.Depth], maxAbs(t.Data))
			case vim.SiteFeatures:
				copy(f, t.Data)
				featMax = math.Max(featMax, maxAbs(f))
			}
		}
		sl.stream(c.res[b], c.hid[b])
		sl.pass.Final()
		c.res[b], c.hid[b] = nil, nil
	}
	sl.release()
	q.NormF = QNorm{Gamma: c.minMaxWeight(m.NormF, 1, D, pl.Final.W), Out: c.perTensor(featMax, pl.Final.A)}
	c.searchMinMaxPoint(&rowSet{cols: D, data: feats, tok: make([]int, c.n)}, D, q.NormF.Out)
	tok := make([]int, c.n)
	for b := range tok {
		tok[b] = tp
	}
	head := newLinProblem(c.n, D, cfg.Classes, feats, m.HeadW, m.HeadB, tok)
	headOut := c.perTensor(maxAbs(head.target), pl.Head.A)
	mean := meanRows(feats, c.n, D)
	q.Head = c.linear(head, pl.Head.W, headOut, false, mean)
	c.progress("head", cfg.Depth, cfg.Depth)
	return q, nil
}

// searchMinMaxPoint searches, 1 round, the output scale of a point the
// method sets by min-max (patch embedding, RMSNorm outputs) when
// Options.SearchMinMaxPoints asks for it.
func (c *calibrator) searchMinMaxPoint(rows *rowSet, cols int, q *ActQuant) {
	if !c.opt.SearchMinMaxPoints || !c.rec.search || rows.rows() == 0 {
		return
	}
	searchAct(&actProblem{rows: rows.rows(), cols: cols, target: rows.data, values: rows.data}, q, 1, false, c.opt.Workers)
}

// perTensor returns a per-tensor min-max quantizer.
func (c *calibrator) perTensor(maxAbs float64, bits int) *ActQuant {
	return &ActQuant{Bits: bits, Axis: PerTensor, Scales: []float64{MinMaxScale(maxAbs, bits)}}
}

// minMaxWeight quantizes w (rows×cols) to bits with min-max scales.
func (c *calibrator) minMaxWeight(w []float64, rows, cols, bits int) QWeight {
	return QuantizeWeight(w, rows, cols, bits, WeightMinMax(w, rows, cols, bits, c.opt.PerChannelWeights))
}

// grouped returns the initial quantizer of a tensor whose grouped axis has
// the mean-|T| profile and per-index max |T| given: k-means groups (§4.2)
// with min-max scales per group when the method k-scales, else one
// per-tensor scale.
func (c *calibrator) grouped(axis Axis, profile, idxMax []float64, bits int) (*ActQuant, error) {
	if !c.rec.kscale || c.opt.K == 1 {
		return c.perTensor(slices.Max(idxMax), bits), nil
	}
	labels, centroids, err := KMeans1D(profile, c.opt.K)
	if err != nil {
		return nil, err
	}
	gmax := make([]float64, len(centroids))
	for i, g := range labels {
		gmax[g] = math.Max(gmax[g], idxMax[i])
	}
	q := &ActQuant{Bits: bits, Axis: axis, Group: labels, Scales: make([]float64, len(gmax))}
	for g, v := range gmax {
		q.Scales[g] = MinMaxScale(v, bits)
	}
	return q, nil
}

// searchOut searches an output-only quantizer (conv1d, SiLU, softplus,
// SSM output) when the method searches; pow2 snaps token groups.
func (c *calibrator) searchOut(p *actProblem, q *ActQuant, rounds int, pow2 bool) {
	pow2 = pow2 && q.Axis == PerToken
	if !c.rec.search {
		if pow2 {
			snapPow2(q)
		}
		return
	}
	searchAct(p, q, rounds, pow2, c.opt.Workers)
}

// linear calibrates one linear layer with wBits-bit weights: weight scale
// and output quantizer by the similarity search (or min-max), then the
// bias correction when the layer has a bias and the method corrects (meanX
// is the mean input row over all calibration tokens).
func (c *calibrator) linear(p *linProblem, wBits int, out *ActQuant, pow2 bool, meanX []float64) QLinear {
	pow2 = pow2 && out.Axis == PerToken
	wInit := WeightMinMax(p.w, p.out, p.in, wBits, c.opt.PerChannelWeights)
	wScales := wInit
	if c.rec.search {
		wScales = searchLinear(p, wBits, wInit, c.opt.WeightSearchRows, out, c.opt.Rounds, pow2, c.opt.Workers)
	} else if pow2 {
		snapPow2(out)
	}
	qw := QuantizeWeight(p.w, p.out, p.in, wBits, wScales)
	var bias []float64
	if p.bias != nil {
		bias = slices.Clone(p.bias)
		if c.rec.biasCorr {
			// b ← b − mean_x · (W_q − W)ᵀ (§2.2).
			wq := qw.Dequantize()
			for o := range bias {
				var acc float64
				for j, x := range meanX {
					acc += x * (wq[o*p.in+j] - p.w[o*p.in+j])
				}
				bias[o] -= acc
			}
		}
	}
	return QLinear{W: qw, Bias: bias, Out: out}
}

// meanRows returns the mean of the rows of x (rows×cols).
func meanRows(x []float64, rows, cols int) []float64 {
	m := make([]float64, cols)
	for r := 0; r < rows; r++ {
		for j, v := range x[r*cols : (r+1)*cols] {
			m[j] += v
		}
	}
	for j := range m {
		m[j] /= float64(rows)
	}
	return m
}
