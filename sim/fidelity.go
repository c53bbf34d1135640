package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"

	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/internal/num"
	"github.com/vimsim/vimsim/internal/par"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
)

// FidelityOptions configure Fidelity.
type FidelityOptions struct {
	// Workers bounds the goroutines (0: GOMAXPROCS). Results do not depend
	// on it.
	Workers int
	// Batch is the number of images whose float and fake-quant tensors are
	// held at once (0: 2·workers).
	Batch int
	// Context, when set, stops Add with its error once it is done (checked
	// before each image of each path).
	Context context.Context
	// Part keeps what each image adds to the report, for Fidelity.Part.
	Part bool
}

// Report is the fidelity of the integer path against the float reference
// (vim.Model.Forward in float64) and the fake-quant execution of the same
// quantized model, over a set of images.
type Report struct {
	Model  string `json:"model"`
	Method string `json:"method"`
	Images int    `json:"images"`
	// Paths are the accuracy and logits agreement of each execution:
	// "fp64" (the reference), "fake-quant" and "int8".
	Paths []PathStats `json:"paths"`
	// Tensors compare every tapped tensor of the integer path, in
	// execution order.
	Tensors []TensorFidelity `json:"tensors"`
	// Ops are the integer path's counters per operation, summed over the
	// images; Layers aggregates them per layer; Total over everything.
	Ops    []OpCounters      `json:"ops"`
	Layers []LayerCounters   `json:"layers"`
	Total  datapath.Counters `json:"total"`
}

// PathStats are the results of one execution path.
type PathStats struct {
	Name string `json:"name"`
	// Top1 is the top-1 accuracy (null without labels).
	Top1 *float64 `json:"top1"`
	// AgreeFloat and AgreeFakeQuant are the fractions of images whose
	// top-1 class equals the float reference's and the fake-quant path's;
	// SQNRFloat and SQNRFakeQuant the logits SQNR against them.
	AgreeFloat     float64 `json:"agreement_fp64"`
	AgreeFakeQuant float64 `json:"agreement_fake_quant"`
	SQNRFloat      DB      `json:"logits_sqnr_fp64_db"`
	SQNRFakeQuant  DB      `json:"logits_sqnr_fake_quant_db"`
}

// TensorFidelity compares one tensor of the integer path with the same
// tensor of the float reference and of the fake-quant path (nil when that
// path has no such tensor).
type TensorFidelity struct {
	Name      string   `json:"name"`
	Layer     int      `json:"layer"` // block index, vim.LayerEmbed or vim.LayerHead
	Float     *Compare `json:"vs_fp64,omitempty"`
	FakeQuant *Compare `json:"vs_fake_quant,omitempty"`
}

// Compare are the statistics of x (the integer path) against a reference
// r over every element of every image.
type Compare struct {
	// SQNR = 10·log10(Σr² / Σ(x−r)²) (null when identical) and Cosine =
	// Σx·r / √(Σx²·Σr²).
	SQNR   DB      `json:"sqnr_db"`
	Cosine float64 `json:"cosine"`
	// MaxAbsDiff is max |x − r|; MaxAbsRef max |r|; MaxLSB is the largest
	// |x − r| in units of the element's scale (its LSB).
	MaxAbsDiff float64 `json:"max_abs_diff"`
	MaxAbsRef  float64 `json:"max_abs_ref"`
	MaxLSB     float64 `json:"max_lsb"`
	// Equal is the fraction of elements with x = r exactly (equal codes).
	Equal    float64 `json:"equal"`
	Elements int64   `json:"elements"`
}

// DB is a ratio in decibels; +Inf (identical signals) is written as JSON
// null and as "inf" in tables.
type DB float64

// MarshalJSON writes d, or null when it is not finite.
func (d DB) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(d), 0) || math.IsNaN(float64(d)) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(d))
}

// String formats d with two decimals, "inf" for +Inf.
func (d DB) String() string {
	if math.IsInf(float64(d), 1) {
		return "inf"
	}
	return strconv.FormatFloat(float64(d), 'f', 2, 64)
}

// LayerCounters are the counters of one layer.
type LayerCounters struct {
	Layer int `json:"layer"`
	datapath.Counters
}

// ByLayer sums the counters of ops per layer, in order of first
// appearance (embedding, blocks, head).
func ByLayer(ops []OpCounters) []LayerCounters {
	var out []LayerCounters
	idx := map[int]int{}
	for _, o := range ops {
		i, ok := idx[o.Layer]
		if !ok {
			i = len(out)
			idx[o.Layer] = i
			out = append(out, LayerCounters{Layer: o.Layer})
		}
		out[i].Counters.Add(o.Counters)
	}
	return out
}

// acc accumulates the sums behind a Compare.
type acc struct {
	rr, dd, xr, xx    float64
	maxDiff, maxRef   float64
	maxLSB            float64
	equal, n          int64
	present, mismatch bool
}

// add compares x with r; x's elements have the scale scale, or lsb[i]
// when scale is 0.
func (a *acc) add(x, r []float64, scale float64, lsb []float64) {
	a.present = true
	if len(x) != len(r) || (scale == 0 && len(lsb) != len(x)) {
		a.mismatch = true
		return
	}
	for i, v := range x {
		w := r[i]
		d := v - w
		a.rr += w * w
		a.dd += d * d
		a.xr += v * w
		a.xx += v * v
		ad := math.Abs(d)
		a.maxDiff = math.Max(a.maxDiff, ad)
		a.maxRef = math.Max(a.maxRef, math.Abs(w))
		s := scale
		if s == 0 {
			s = lsb[i]
		}
		a.maxLSB = math.Max(a.maxLSB, ad/s)
		if d == 0 {
			a.equal++
		}
	}
	a.n += int64(len(x))
}

func (a *acc) merge(o *acc) {
	if !o.present {
		return
	}
	a.present = true
	a.mismatch = a.mismatch || o.mismatch
	a.rr += o.rr
	a.dd += o.dd
	a.xr += o.xr
	a.xx += o.xx
	a.maxDiff = math.Max(a.maxDiff, o.maxDiff)
	a.maxRef = math.Max(a.maxRef, o.maxRef)
	a.maxLSB = math.Max(a.maxLSB, o.maxLSB)
	a.equal += o.equal
	a.n += o.n
}

func (a *acc) compare() *Compare {
	if !a.present {
		return nil
	}
	c := &Compare{SQNR: sqnr(a.rr, a.dd), MaxAbsDiff: a.maxDiff, MaxAbsRef: a.maxRef, MaxLSB: a.maxLSB, Elements: a.n}
	if a.xx > 0 && a.rr > 0 {
		c.Cosine = a.xr / math.Sqrt(a.xx*a.rr)
	} else if a.dd == 0 {
		c.Cosine = 1
	}
	if a.n > 0 {
		c.Equal = float64(a.equal) / float64(a.n)
	}
	return c
}

func sqnr(signal, noise float64) DB {
	if noise == 0 {
		return DB(math.Inf(1))
	}
	return DB(10 * math.Log10(signal/noise))
}

// tensorStats are the per-image comparisons of one tensor.
type tensorStats struct{ float, fq acc }

// Fidelity accumulates the comparison of the integer program with the
// float reference and the fake-quant model over batches of images (Add)
// and produces the Report. It is not safe for concurrent use.
type Fidelity struct {
	p   *intprog.Program
	m   *vim.Model
	qm  *quant.QModel
	opt FidelityOptions
	fidelitySums
	part *FidelityPart
}

// pathAcc accumulates the logits statistics of one execution path.
type pathAcc struct {
	agreeF, agreeQ, top1 int
	labelled             bool
	sf, nf, sq, nq       float64
}

// NewFidelity prepares the comparison of p with the float model m and the
// fake-quant model qm that p was compiled from.
func NewFidelity(p *intprog.Program, m *vim.Model, qm *quant.QModel, opt FidelityOptions) (*Fidelity, error) {
	c := p.Config
	same := func(o vim.Config) bool {
		return o.Classes == c.Classes && o.Dim == c.Dim && o.Depth == c.Depth && o.Tokens() == c.Tokens() &&
			o.DInner == c.DInner && o.DState == c.DState && o.Channels == c.Channels && o.ImgH == c.ImgH && o.ImgW == c.ImgW
	}
	if !same(m.Config) || !same(qm.Config) {
		return nil, fmt.Errorf("fidelity: the float model %s, the quantized model and the program %s have different shapes", m.Config.Name, c.Name)
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.Batch <= 0 {
		opt.Batch = 2 * opt.Workers
	}
	f := &Fidelity{p: p, m: m, qm: qm, opt: opt, fidelitySums: newFidelitySums()}
	if opt.Part {
		f.part = &FidelityPart{Model: c.Name, Method: p.Method, Classes: c.Classes}
	}
	return f, nil
}

// Add runs the three paths on n more images (labels may be nil: no
// accuracy is reported then).
func (f *Fidelity) Add(imgs []float64, labels []int, n int) error {
	c := f.p.Config
	size := c.Channels * c.ImgH * c.ImgW
	if n < 0 || len(imgs) != n*size {
		return fmt.Errorf("fidelity %s: %d values for %d images of %d", c.Name, len(imgs), n, size)
	}
	if labels != nil && len(labels) != n {
		return fmt.Errorf("fidelity %s: %d labels for %d images", c.Name, len(labels), n)
	}
	type maps struct {
		float, fq map[string][]float64
		stats     map[string]*tensorStats
		order     []string
		err       error
	}
	for start := 0; start < n; start += f.opt.Batch {
		cnt := min(f.opt.Batch, n-start)
		per := make([]maps, cnt)
		var logits [3][]float64
		for k := range logits {
			logits[k] = make([]float64, cnt*c.Classes)
		}
		par.For(cnt, f.opt.Workers, func(j int) {
			b := start + j
			img := imgs[b*size : (b+1)*size]
			pm := &per[j]
			if f.opt.Context != nil {
				if pm.err = f.opt.Context.Err(); pm.err != nil {
					return
				}
			}
			pm.float, pm.fq, pm.stats = map[string][]float64{}, map[string][]float64{}, map[string]*tensorStats{}
			lf, err := f.m.Forward(img, vim.F64, func(name string, _ []int, data []float64) {
				pm.float[name] = append([]float64(nil), data...)
			})
			if err != nil {
				pm.err = err
				return
			}
			copy(logits[0][j*c.Classes:], lf)
			lq, err := f.qm.ForwardTap(img, func(name string, _ []int, data []float64) { pm.fq[name] = data })
			if err != nil {
				pm.err = err
				return
			}
			copy(logits[1][j*c.Classes:], lq)
		})
		for j := range per {
			if per[j].err != nil {
				return fmt.Errorf("fidelity %s: image %d: %w", c.Name, f.images+start+j, per[j].err)
			}
		}
		res, err := Run(f.p, imgs[start*size:(start+cnt)*size], cnt, Options{Workers: f.opt.Workers, Context: f.opt.Context, Tap: func(j int, t Tensor) {
			pm := &per[j]
			st := pm.stats[t.Name]
			if st == nil {
				st = &tensorStats{}
				pm.stats[t.Name] = st
				pm.order = append(pm.order, t.Name)
			}
			if r, ok := pm.float[t.Name]; ok {
				st.float.add(t.Data, r, t.Scale, t.LSB)
			}
			if r, ok := pm.fq[t.Name]; ok {
				st.fq.add(t.Data, r, t.Scale, t.LSB)
			}
		}})
		if err != nil {
			return err
		}
		copy(logits[2], res.Logits)
		f.addOps(res.Ops)
		if f.part != nil {
			f.part.Ops = f.ops
		}
		for j := range per {
			var rows [3][]float64
			for k := range rows {
				rows[k] = logits[k][j*c.Classes : (j+1)*c.Classes]
			}
			var lab []int
			if labels != nil {
				lab = labels[start+j : start+j+1]
			}
			f.addImage(per[j].order, per[j].stats, rows, lab)
			if f.part != nil {
				f.part.add(per[j].order, per[j].stats, rows, lab)
			}
		}
	}
	return nil
}

// Report returns the comparison over every image added so far.
func (f *Fidelity) Report() (*Report, error) {
	return f.report(f.p.Config.Name, f.p.Method)
}

// report returns the report of the sums, on the model and method named.
func (f *fidelitySums) report(model, method string) (*Report, error) {
	rep := &Report{Model: model, Method: method, Images: f.images}
	for _, name := range f.order {
		t := f.totals[name]
		if t.float.mismatch || t.fq.mismatch {
			return nil, fmt.Errorf("fidelity: tensor %s has a different size in the integer path", name)
		}
		rep.Tensors = append(rep.Tensors, TensorFidelity{Name: name, Layer: tapLayer(name), Float: t.float.compare(), FakeQuant: t.fq.compare()})
	}
	rep.Ops = append([]OpCounters(nil), f.ops...)
	rep.Layers = ByLayer(rep.Ops)
	for _, o := range rep.Ops {
		rep.Total.Add(o.Counters)
	}
	for k, name := range []string{"fp64", "fake-quant", "int8"} {
		rep.Paths = append(rep.Paths, f.paths[k].stats(name, f.images))
	}
	return rep, nil
}

// RunFidelity is NewFidelity, Add and Report on one set of images.
func RunFidelity(p *intprog.Program, m *vim.Model, qm *quant.QModel, imgs []float64, labels []int, n int, opt FidelityOptions) (*Report, error) {
	f, err := NewFidelity(p, m, qm, opt)
	if err != nil {
		return nil, err
	}
	if err := f.Add(imgs, labels, n); err != nil {
		return nil, err
	}
	return f.Report()
}

// tapLayer returns the layer of a tap name.
func tapLayer(name string) int {
	if rest, ok := strings.CutPrefix(name, "layers."); ok {
		if i := strings.IndexByte(rest, '.'); i > 0 {
			if v, err := strconv.Atoi(rest[:i]); err == nil {
				return v
			}
		}
	}
	switch name {
	case "patch_embed", "tokens":
		return vim.LayerEmbed
	}
	return vim.LayerHead
}

// add compares the logits x of a path with the float and fake-quant logits
// of the same n images.
func (a *pathAcc) add(x, fp, fq []float64, labels []int, n, classes int) {
	if labels == nil {
		a.labelled = false
	}
	for i := 0; i < n; i++ {
		row := x[i*classes : (i+1)*classes]
		k := num.Argmax(row)
		if k == num.Argmax(fp[i*classes:(i+1)*classes]) {
			a.agreeF++
		}
		if k == num.Argmax(fq[i*classes:(i+1)*classes]) {
			a.agreeQ++
		}
		if labels != nil && k == labels[i] {
			a.top1++
		}
		for j, v := range row {
			f, q := fp[i*classes+j], fq[i*classes+j]
			a.sf += f * f
			a.nf += (v - f) * (v - f)
			a.sq += q * q
			a.nq += (v - q) * (v - q)
		}
	}
}

func (a *pathAcc) stats(name string, n int) PathStats {
	ps := PathStats{Name: name, SQNRFloat: sqnr(a.sf, a.nf), SQNRFakeQuant: sqnr(a.sq, a.nq)}
	if n > 0 {
		ps.AgreeFloat = float64(a.agreeF) / float64(n)
		ps.AgreeFakeQuant = float64(a.agreeQ) / float64(n)
		if a.labelled {
			t := float64(a.top1) / float64(n)
			ps.Top1 = &t
		}
	}
	return ps
}
