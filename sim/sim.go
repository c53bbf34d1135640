package sim

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/internal/par"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/traces"
	"github.com/vimsim/vimsim/vim"
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
	// datapath unit invocation of the run, right where Run calls the unit
	// (golden vectors, package traces): the layer (vim.LayerEmbed,
	// vim.LayerHead or the block), the workload op name ("in_proj",
	// "conv1d_b", a split-K GEMM's groups "x_proj_g0", …; "pos_embed" and
	// "residual" for the residual-stream requantizers and adds). It needs a
	// run of exactly one image, which then runs on one goroutine.
	Recorder traces.Sink
}

// Tensor is a tapped tensor, dequantized to float64 (code·scale). Names and
// layouts follow vim.Tap where the float reference has the tensor:
// "patch_embed" (M,D), "tokens" (L,D), "layers.{i}.residual", ".norm_out",
// ".out" (L,D), "layers.{i}.mixer.xz" (2E,L), ".mixer.z_gate" (L,E: SiLU(z)),
// ".mixer.{fwd,bwd}.conv", ".conv_silu", ".dt", ".delta", ".ssm_y" (the
// scan output y′ before the D skip and the gate), ".y" (the gated output),
// all (E,L) in scan order, ".x_dbl" (L,R+2N), ".mixer.y_comb" (L,E),
// "final_residual" (L,D), "features" (D). The final norm runs on the cls
// row only.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float64
	// Scale is the scale of every element when the tensor has a single
	// one (its LSB), else 0 and LSB holds the scale of each element.
	Scale float64
	LSB   []float64
}

// Result is the outcome of a Run.
type Result struct {
	Images  int
	Classes int
	// Codes are the int32 logits, Images×Classes; Logits the same
	// dequantized.
	Codes  []int32
	Logits []float64
	// Ops are the counters of every operation of the program, summed over
	// the images, in execution order (see OpList).
	Ops []OpCounters
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
// normalised as for vim.Model.Forward) and returns the logits and counters.
// Images run in parallel, one per worker; with fewer images than workers
// (and no Tap), each image also runs its two scan directions, the rows of
// its GEMMs and, with four or more workers per image, blocks of scan
// channels in parallel. The results do not depend on the split.
func Run(p *intprog.Program, imgs []float64, n int, opt Options) (*Result, error) {
	if p == nil || p.ExpUnit() == nil {
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
	ops := OpList(c)
	res := &Result{Images: n, Classes: c.Classes, Codes: make([]int32, n*c.Classes),
		Logits: make([]float64, n*c.Classes), Ops: make([]OpCounters, len(ops))}
	for i, o := range ops {
		res.Ops[i].Op = o
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
		e := engines[w]
		if e == nil {
			e = newEngine(p, inner)
			e.rec = opt.Recorder
			engines[w], ctrs[w] = e, make([]datapath.Counters, len(ops))
		}
		var tap func(Tensor)
		if opt.Tap != nil {
			tap = func(t Tensor) { opt.Tap(i, t) }
		}
		codes := res.Codes[i*c.Classes : (i+1)*c.Classes]
		if err := e.image(imgs[i*size:(i+1)*size], codes, ctrs[w], tap); err != nil {
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

// engine holds the scratch tensors of one image's execution.
type engine struct {
	p   *intprog.Program
	c   vim.Config
	par int         // goroutines available inside one image
	rec traces.Sink // nil: no recording

	pix                  []int8
	cols                 datapath.Matrix[int8]
	colParts             []datapath.Matrix[int8]
	patchAcc             []datapath.Matrix[int32]
	patch                datapath.Matrix[int8]
	wide, toRes          datapath.Matrix[int32] // M×D: patch tokens widened, at s_r
	residual             datapath.Matrix[int32]
	normed               datapath.Matrix[int8]
	xzAcc                datapath.Matrix[int32]
	xz                   datapath.Matrix[int8]
	x, z, zg             datapath.Matrix[int8]
	dir                  [2]*dirWork
	bwdFlip              datapath.Matrix[int16]
	merged8              datapath.Matrix[int8]
	outAcc, outWide, add datapath.Matrix[int32]
	outParts             []datapath.Matrix[int8]  // merged columns of each group
	outAccs              []datapath.Matrix[int32] // per-group partial sums
	out                  datapath.Matrix[int8]
	feat                 datapath.Matrix[int8]
	headAcc              datapath.Matrix[int32]
}

// dirWork holds one direction's scratch tensors, in scan order.
type dirWork struct {
	xs, zs         datapath.Matrix[int8]
	convAcc        datapath.Matrix[int32]
	conv, xa       datapath.Matrix[int8]
	gath           []datapath.Matrix[int8]
	xpAcc          []datapath.Matrix[int32]
	xdbl           datapath.Matrix[int8]
	dt, b, cm      datapath.Matrix[int8]
	dtAcc          datapath.Matrix[int32]
	dtq, delta, yp datapath.Matrix[int8]
	gated          datapath.Matrix[int16]
}

func newEngine(p *intprog.Program, par int) *engine {
	c := p.Config
	D, E, L, N, R, M := c.Dim, c.DInner, c.Tokens(), c.DState, c.DtRank, c.Patches()
	XO := c.XProjOut()
	kk := c.Channels * c.Patch * c.Patch
	e := &engine{p: p, c: c, par: par,
		pix:  make([]int8, c.Channels*c.ImgH*c.ImgW),
		cols: datapath.NewMatrix[int8](M, kk), patch: datapath.NewMatrix[int8](M, D),
		wide: datapath.NewMatrix[int32](M, D), toRes: datapath.NewMatrix[int32](M, D),
		residual: datapath.NewMatrix[int32](L, D), normed: datapath.NewMatrix[int8](L, D),
		xzAcc: datapath.NewMatrix[int32](L, 2*E), xz: datapath.NewMatrix[int8](L, 2*E),
		x: datapath.NewMatrix[int8](L, E), z: datapath.NewMatrix[int8](L, E), zg: datapath.NewMatrix[int8](L, E),
		bwdFlip: datapath.NewMatrix[int16](L, E), merged8: datapath.NewMatrix[int8](L, E),
		outAcc: datapath.NewMatrix[int32](L, D), outWide: datapath.NewMatrix[int32](L, D),
		add: datapath.NewMatrix[int32](L, D), out: datapath.NewMatrix[int8](L, D),
		feat: datapath.NewMatrix[int8](1, D), headAcc: datapath.NewMatrix[int32](1, c.Classes),
	}
	pg := &p.Embed.Patch
	for g := 0; g < pg.Groups(); g++ {
		cols, _ := pg.Part(g)
		if pg.Groups() > 1 {
			e.colParts = append(e.colParts, datapath.NewMatrix[int8](M, len(cols)))
		}
		e.patchAcc = append(e.patchAcc, datapath.NewMatrix[int32](M, D))
	}
	maxGroups := 1
	for i := range p.Layers {
		for d := range p.Layers[i].Dir {
			maxGroups = max(maxGroups, p.Layers[i].Dir[d].XProj.Groups())
		}
	}
	for i := range p.Layers {
		if s := p.Layers[i].OutSplit; s != nil {
			for len(e.outAccs) < s.Groups() {
				e.outAccs = append(e.outAccs, datapath.NewMatrix[int32](L, D))
				e.outParts = append(e.outParts, datapath.Matrix[int8]{})
			}
		}
	}
	for d := range e.dir {
		w := &dirWork{
			xs: datapath.NewMatrix[int8](L, E), zs: datapath.NewMatrix[int8](L, E),
			convAcc: datapath.NewMatrix[int32](L, E), conv: datapath.NewMatrix[int8](L, E),
			xa: datapath.NewMatrix[int8](L, E), xdbl: datapath.NewMatrix[int8](L, XO),
			dt: datapath.NewMatrix[int8](L, R), b: datapath.NewMatrix[int8](L, N), cm: datapath.NewMatrix[int8](L, N),
			dtAcc: datapath.NewMatrix[int32](L, E), dtq: datapath.NewMatrix[int8](L, E),
			delta: datapath.NewMatrix[int8](L, E), yp: datapath.NewMatrix[int8](L, E),
			gated: datapath.NewMatrix[int16](L, E),
		}
		for g := 0; g < maxGroups; g++ {
			w.xpAcc = append(w.xpAcc, datapath.NewMatrix[int32](L, XO))
		}
		e.dir[d] = w
	}
	return e
}

// image runs one image, writing its int32 logits to codes and adding the
// counters of each operation to ctr (indexed as OpList).
func (e *engine) image(img []float64, codes []int32, ctr []datapath.Counters, tap func(Tensor)) error {
	c, p := e.c, e.p
	D, L, tp := c.Dim, c.Tokens(), c.ClsPos()
	if err := e.input(img, &ctr[opInput]); err != nil {
		return err
	}
	if err := e.embed(ctr, tap); err != nil {
		return err
	}
	for i := range p.Layers {
		if err := e.layer(i, ctr[layerOp(i, 0):layerOp(i+1, 0)], tap); err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
	}
	if tap != nil {
		tap(mk("final_residual", int32s(e.residual.Data), L, D, false, scaling{uniform: p.Scales.Residual}))
	}
	hc := ctr[layerOp(c.Depth, 0):]
	cls := datapath.Matrix[int32]{Rows: 1, Cols: D, Data: e.residual.Row(tp)}
	if err := e.record(func(r traces.Sink) error {
		return r.RMSNorm(vim.LayerHead, "norm_f", cls, p.NormUnit(), &p.NormF)
	}); err != nil {
		return err
	}
	if err := datapath.RMSNorm(e.feat, cls, p.NormUnit(), &p.NormF, &hc[0]); err != nil {
		return fmt.Errorf("norm_f: %w", err)
	}
	if tap != nil {
		tap(mk("features", int8s(e.feat.Data), 1, D, false, scaling{uniform: p.Scales.NormF}))
	}
	out := datapath.Matrix[int32]{Rows: 1, Cols: c.Classes, Data: codes}
	if err := linear(e, vim.LayerHead, "head", out, e.headAcc, e.feat, &p.Head, &hc[1]); err != nil {
		return fmt.Errorf("head: %w", err)
	}
	return nil
}

// input converts the normalised image to int8 codes (the boundary
// conversion, intprog.Input) and lays out the patch-embedding im2col
// matrix in the order of the weight's (c, kh, kw) flattening.
func (e *engine) input(img []float64, k *datapath.Counters) error {
	c := e.c
	plane := c.ImgH * c.ImgW
	in := &e.p.Input
	var sat int64
	for ch := 0; ch < c.Channels; ch++ {
		g, o := in.Gain[ch], in.Offset[ch]
		for i, v := range img[ch*plane : (ch+1)*plane] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("input value %d is %v", ch*plane+i, v)
			}
			q := math.RoundToEven(v*g + o)
			if q > 127 {
				q, sat = 127, sat+1
			} else if q < -128 {
				q, sat = -128, sat+1
			}
			e.pix[ch*plane+i] = int8(q)
		}
	}
	k.Saturations += sat
	P, S := c.Patch, c.Stride
	gh, gw := c.GridH(), c.GridW()
	kk := c.Channels * P * P
	for py := 0; py < gh; py++ {
		for px := 0; px < gw; px++ {
			row := e.cols.Data[(py*gw+px)*kk:]
			for ch := 0; ch < c.Channels; ch++ {
				src := e.pix[ch*plane:]
				for ky := 0; ky < P; ky++ {
					s := src[(py*S+ky)*c.ImgW+px*S:]
					copy(row[(ch*P+ky)*P:(ch*P+ky)*P+P], s[:P])
				}
			}
		}
	}
	return nil
}

// embed runs the patch embedding and builds the residual stream r₀.
func (e *engine) embed(ctr []datapath.Counters, tap func(Tensor)) error {
	c, p := e.c, e.p
	D, L, M, tp := c.Dim, c.Tokens(), c.Patches(), c.ClsPos()
	pg := &p.Embed.Patch
	k := &ctr[opPatch]
	for g := 0; g < pg.Groups(); g++ {
		cols, w := pg.Part(g)
		a := e.cols
		if pg.Groups() > 1 {
			a = e.colParts[g]
			if err := datapath.GatherColumns(a, e.cols, cols); err != nil {
				return fmt.Errorf("patch_embed: %w", err)
			}
		}
		if err := e.gemm(e.patchAcc[g], a, w, k); err != nil {
			return fmt.Errorf("patch_embed: %w", err)
		}
		if err := e.record(func(r traces.Sink) error {
			return r.GEMM(vim.LayerEmbed, groupOp("patch_embed", g, pg.Groups()), a, w)
		}); err != nil {
			return err
		}
	}
	addBias(e.patchAcc[0], pg.Bias, k)
	if err := e.record(func(r traces.Sink) error {
		return r.RequantizeGroups(vim.LayerEmbed, "patch_embed", e.patchAcc, &pg.Req)
	}); err != nil {
		return err
	}
	if err := datapath.RequantizeGroups(e.patch, e.patchAcc, &pg.Req, k); err != nil {
		return fmt.Errorf("patch_embed: %w", err)
	}
	if tap != nil {
		tap(mk("patch_embed", int8s(e.patch.Data), M, D, false, scaling{uniform: p.Scales.Patch}))
	}
	k = &ctr[opPos]
	widen(e.wide.Data, e.patch.Data)
	if err := e.record(func(r traces.Sink) error {
		return r.Requantize(vim.LayerEmbed, "pos_embed", e.wide, &p.Embed.ToResidual, 0)
	}); err != nil {
		return err
	}
	if err := datapath.Requantize(e.toRes, e.wide, &p.Embed.ToResidual, 0, k); err != nil {
		return fmt.Errorf("pos_embed: %w", err)
	}
	copy(e.residual.Data[:tp*D], e.toRes.Data[:tp*D])
	clear(e.residual.Row(tp))
	copy(e.residual.Data[(tp+1)*D:], e.toRes.Data[tp*D:])
	if err := e.record(func(r traces.Sink) error {
		return r.ResidualAdd(vim.LayerEmbed, "pos_embed", e.residual, p.Embed.Pos)
	}); err != nil {
		return err
	}
	if err := datapath.ResidualAdd(e.residual, p.Embed.Pos, k); err != nil {
		return fmt.Errorf("pos_embed: %w", err)
	}
	if tap != nil {
		tap(mk("tokens", int32s(e.residual.Data), L, D, false, scaling{uniform: p.Scales.Residual}))
	}
	return nil
}

// addBias preloads bias into the accumulators (saturating to int32, one
// Overflow per clamp, as the requantizer's bias add).
func addBias(acc datapath.Matrix[int32], bias []int32, k *datapath.Counters) {
	if bias == nil {
		return
	}
	for i := 0; i < acc.Rows; i++ {
		row := acc.Row(i)
		for j, b := range bias {
			v := int64(row[j]) + int64(b)
			if v > math.MaxInt32 || v < math.MinInt32 {
				v = max(min(v, math.MaxInt32), math.MinInt32)
				k.Overflows++
			}
			row[j] = int32(v)
		}
	}
}

// layer runs block i; ctr holds the block's counters (offsets as OpList).
func (e *engine) layer(i int, ctr []datapath.Counters, tap func(Tensor)) error {
	c, p := e.c, e.p
	D, E, L := c.Dim, c.DInner, c.Tokens()
	l := &p.Layers[i]
	ls := &p.Scales.Layers[i]
	pre := fmt.Sprintf("layers.%d.", i)
	if tap != nil {
		tap(mk(pre+"residual", int32s(e.residual.Data), L, D, false, scaling{uniform: p.Scales.Residual}))
	}
	if err := e.record(func(r traces.Sink) error {
		return r.RMSNorm(i, "norm", e.residual, p.NormUnit(), &l.Norm)
	}); err != nil {
		return err
	}
	if err := datapath.RMSNorm(e.normed, e.residual, p.NormUnit(), &l.Norm, &ctr[opNorm]); err != nil {
		return fmt.Errorf("norm: %w", err)
	}
	if tap != nil {
		tap(mk(pre+"norm_out", int8s(e.normed.Data), L, D, false, scaling{uniform: ls.Norm}))
	}
	if err := linear(e, i, "in_proj", e.xz, e.xzAcc, e.normed, &l.InProj, &ctr[opInProj]); err != nil {
		return fmt.Errorf("in_proj: %w", err)
	}
	if tap != nil {
		tap(mk(pre+"mixer.xz", int8s(e.xz.Data), L, 2*E, true, scaling{chans: ls.XZ}))
	}
	for t := 0; t < L; t++ {
		row := e.xz.Row(t)
		copy(e.x.Row(t), row[:E])
		copy(e.z.Row(t), row[E:])
	}
	if err := e.record(func(r traces.Sink) error { return r.ChannelTables(i, "silu_z", e.z, &l.SiLUZ) }); err != nil {
		return err
	}
	if err := l.SiLUZ.Apply(e.zg, e.z, &ctr[opSiLUZ]); err != nil {
		return fmt.Errorf("silu_z: %w", err)
	}
	if tap != nil {
		tap(mk(pre+"mixer.z_gate", int8s(e.zg.Data), L, E, false, scaling{chans: ls.Z}))
	}
	var errs [2]error
	if e.par >= 2 && tap == nil && e.rec == nil {
		var wg sync.WaitGroup
		for d := range e.dir {
			wg.Add(1)
			go func(d int) {
				defer wg.Done()
				errs[d] = e.direction(i, d, ctr[opDir+6*d:opDir+6*d+6], nil)
			}(d)
		}
		wg.Wait()
	} else {
		for d := range e.dir {
			errs[d] = e.direction(i, d, ctr[opDir+6*d:opDir+6*d+6], tap)
		}
	}
	for d, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: %w", [2]string{"fwd", "bwd"}[d], err)
		}
	}
	if err := datapath.FlipRows(e.bwdFlip, e.dir[vim.Bwd].gated); err != nil {
		return err
	}
	if err := e.record(func(r traces.Sink) error {
		return r.Merge(i, "gate", e.dir[vim.Fwd].gated, e.bwdFlip)
	}); err != nil {
		return err
	}
	if err := datapath.Merge(e.merged8, e.dir[vim.Fwd].gated, e.bwdFlip, &ctr[opGate]); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	if tap != nil {
		tap(mk(pre+"mixer.y_comb", int8s(e.merged8.Data), L, E, false, scaling{chans: ls.Merge}))
	}
	if err := e.outProj(i, l, &ctr[opOutProj]); err != nil {
		return fmt.Errorf("out_proj: %w", err)
	}
	if tap != nil {
		tap(mk(pre+"out", int8s(e.out.Data), L, D, false, scaling{tok: &ls.Out}))
	}
	widen(e.outWide.Data, e.out.Data)
	if err := e.record(func(r traces.Sink) error {
		return r.Requantize(i, "residual", e.outWide, &l.ToResidual, 0)
	}); err != nil {
		return err
	}
	if err := datapath.Requantize(e.add, e.outWide, &l.ToResidual, 0, &ctr[opResidual]); err != nil {
		return fmt.Errorf("residual: %w", err)
	}
	if err := e.record(func(r traces.Sink) error { return r.ResidualAdd(i, "residual", e.residual, e.add) }); err != nil {
		return err
	}
	if err := datapath.ResidualAdd(e.residual, e.add, &ctr[opResidual]); err != nil {
		return fmt.Errorf("residual: %w", err)
	}
	return nil
}

// outProj runs out_proj on the merged tensor: one GEMM and requantizer,
// or split-K by the merge channel groups (partial sums, group
// requantizer to int32, requantizer with the token shifts).
func (e *engine) outProj(i int, l *intprog.Layer, k *datapath.Counters) error {
	s := l.OutSplit
	if s == nil {
		return linear(e, i, "out_proj", e.out, e.outAcc, e.merged8, &l.OutProj, k)
	}
	L := e.c.Tokens()
	accs := e.outAccs[:s.Groups()]
	for g := range accs {
		cols, w := s.Part(g)
		if e.outParts[g].Cols != len(cols) {
			e.outParts[g] = datapath.NewMatrix[int8](L, len(cols))
		}
		if err := datapath.GatherColumns(e.outParts[g], e.merged8, cols); err != nil {
			return err
		}
		if err := e.gemm(accs[g], e.outParts[g], w, k); err != nil {
			return err
		}
		if err := e.record(func(r traces.Sink) error {
			return r.GEMM(i, groupOp("out_proj", g, len(accs)), e.outParts[g], w)
		}); err != nil {
			return err
		}
	}
	if err := e.record(func(r traces.Sink) error { return r.RequantizeGroups(i, "out_proj", accs, &s.Req) }); err != nil {
		return err
	}
	if err := datapath.RequantizeGroups(e.outAcc, accs, &s.Req, k); err != nil {
		return err
	}
	if err := e.record(func(r traces.Sink) error { return r.Requantize(i, "out_proj", e.outAcc, &l.OutProj.Req, 0) }); err != nil {
		return err
	}
	return datapath.Requantize(e.out, e.outAcc, &l.OutProj.Req, 0, k)
}

// direction runs one scan direction of block i; ctr holds its six
// operations' counters (conv1d, silu, x_proj, dt_proj, softplus, scan).
func (e *engine) direction(i, d int, ctr []datapath.Counters, tap func(Tensor)) error {
	c, p := e.c, e.p
	E, L, N, R := c.DInner, c.Tokens(), c.DState, c.DtRank
	XO := c.XProjOut()
	dr := &p.Layers[i].Dir[d]
	ds := &p.Scales.Layers[i].Dir[d]
	w := e.dir[d]
	pre := fmt.Sprintf("layers.%d.mixer.%s.", i, [2]string{"fwd", "bwd"}[d])
	sfx := [2]string{"", "_b"}[d]
	if d == vim.Bwd {
		if err := datapath.FlipRows(w.xs, e.x); err != nil {
			return err
		}
		if err := datapath.FlipRows(w.zs, e.zg); err != nil {
			return err
		}
	} else {
		copy(w.xs.Data, e.x.Data)
		copy(w.zs.Data, e.zg.Data)
	}
	if err := e.record(func(r traces.Sink) error { return r.DepthwiseConv(i, "conv1d"+sfx, w.xs, dr.ConvW) }); err != nil {
		return err
	}
	if err := datapath.DepthwiseConv(w.convAcc, w.xs, dr.ConvW, &ctr[0]); err != nil {
		return fmt.Errorf("conv1d: %w", err)
	}
	if err := e.record(func(r traces.Sink) error { return r.Requantize(i, "conv1d"+sfx, w.convAcc, &dr.Conv, 0) }); err != nil {
		return err
	}
	if err := datapath.Requantize(w.conv, w.convAcc, &dr.Conv, 0, &ctr[0]); err != nil {
		return fmt.Errorf("conv1d: %w", err)
	}
	if err := e.record(func(r traces.Sink) error { return r.ChannelTables(i, "silu"+sfx, w.conv, &dr.SiLU) }); err != nil {
		return err
	}
	if err := dr.SiLU.Apply(w.xa, w.conv, &ctr[1]); err != nil {
		return fmt.Errorf("silu: %w", err)
	}
	if tap != nil {
		tap(mk(pre+"conv", int8s(w.conv.Data), L, E, true, scaling{chans: ds.Conv}))
		tap(mk(pre+"conv_silu", int8s(w.xa.Data), L, E, true, scaling{chans: ds.X}))
	}
	xp := &dr.XProj
	accs := w.xpAcc[:xp.Groups()]
	for g := range accs {
		cols, wg := xp.Part(g)
		a := w.xa
		if xp.Groups() > 1 {
			if len(w.gath) <= g || w.gath[g].Cols != len(cols) {
				for len(w.gath) <= g {
					w.gath = append(w.gath, datapath.Matrix[int8]{})
				}
				w.gath[g] = datapath.NewMatrix[int8](L, len(cols))
			}
			a = w.gath[g]
			if err := datapath.GatherColumns(a, w.xa, cols); err != nil {
				return fmt.Errorf("x_proj: %w", err)
			}
		}
		if err := e.gemm(accs[g], a, wg, &ctr[2]); err != nil {
			return fmt.Errorf("x_proj: %w", err)
		}
		if err := e.record(func(r traces.Sink) error { return r.GEMM(i, groupOp("x_proj"+sfx, g, len(accs)), a, wg) }); err != nil {
			return err
		}
	}
	if err := e.record(func(r traces.Sink) error { return r.RequantizeGroups(i, "x_proj"+sfx, accs, &xp.Req) }); err != nil {
		return err
	}
	if err := datapath.RequantizeGroups(w.xdbl, accs, &xp.Req, &ctr[2]); err != nil {
		return fmt.Errorf("x_proj: %w", err)
	}
	if tap != nil {
		tap(mk(pre+"x_dbl", int8s(w.xdbl.Data), L, XO, false, scaling{uniform: ds.XProj}))
	}
	for t := 0; t < L; t++ {
		row := w.xdbl.Row(t)
		copy(w.dt.Row(t), row[:R])
		copy(w.b.Row(t), row[R:R+N])
		copy(w.cm.Row(t), row[R+N:])
	}
	if err := linear(e, i, "dt_proj"+sfx, w.dtq, w.dtAcc, w.dt, &dr.DtProj, &ctr[3]); err != nil {
		return fmt.Errorf("dt_proj: %w", err)
	}
	if err := e.record(func(r traces.Sink) error { return r.ChannelTables(i, "softplus"+sfx, w.dtq, &dr.Softplus) }); err != nil {
		return err
	}
	if err := dr.Softplus.Apply(w.delta, w.dtq, &ctr[4]); err != nil {
		return fmt.Errorf("softplus: %w", err)
	}
	if tap != nil {
		tap(mk(pre+"dt", int8s(w.dtq.Data), L, E, true, scaling{uniform: ds.Dt}))
		tap(mk(pre+"delta", int8s(w.delta.Data), L, E, true, scaling{chans: ds.Delta}))
	}
	in := datapath.ScanInputs{X: w.xa, Delta: w.delta, Z: w.zs, B: w.b, C: w.cm}
	if err := e.record(func(r traces.Sink) error { return r.Scan(i, "scan"+sfx, in, &dr.Scan, p.ExpUnit()) }); err != nil {
		return err
	}
	var taps *datapath.ScanTaps
	if tap != nil {
		taps = &datapath.ScanTaps{Y: w.yp}
	}
	if blocks := e.par / 2; blocks >= 2 && taps == nil && e.rec == nil {
		if err := e.scanBlocks(w.gated, in, &dr.Scan, blocks, &ctr[5]); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
	} else if err := datapath.Scan(w.gated, in, &dr.Scan, p.ExpUnit(), taps, &ctr[5]); err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	if tap != nil {
		tap(mk(pre+"ssm_y", int8s(w.yp.Data), L, E, true, scaling{tok: &ds.Y}))
		gs := make([]float64, E)
		for ch, v := range p.Scales.Layers[i].Merge {
			gs[ch] = v / (1 << datapath.GateFrac)
		}
		tap(mk(pre+"y", int16s(w.gated.Data), L, E, true, scaling{chans: gs}))
	}
	return nil
}

// scanBlocks runs the scan split into blocks of channels on their own
// goroutines: the E state-lane groups are independent (§8), so each block
// is the scan unit on a column slice with the per-channel constants sliced
// and the per-step constants shared. The result and the counts are those of
// one Scan.
func (e *engine) scanBlocks(dst datapath.Matrix[int16], in datapath.ScanInputs, sp *datapath.ScanParams, blocks int, k *datapath.Counters) error {
	E, N, L := sp.Channels, sp.States, sp.Steps
	step := (E + blocks - 1) / blocks
	ks := make([]datapath.Counters, blocks)
	errs := make([]error, blocks)
	var wg sync.WaitGroup
	for j := 0; j < blocks; j++ {
		lo, hi := min(j*step, E), min((j+1)*step, E)
		if lo == hi {
			continue
		}
		wg.Add(1)
		go func(j, lo, hi int) {
			defer wg.Done()
			sub := *sp
			sub.Channels = hi - lo
			sub.ANeg = sp.ANeg[lo*N : hi*N]
			sub.UChan, sub.UChanNorm = sp.UChan[lo:hi], sp.UChanNorm[lo:hi]
			sub.SkipShift, sub.SkipD, sub.Gate = sp.SkipShift[lo:hi], sp.SkipD[lo:hi], sp.Gate[lo:hi]
			cols := func(m datapath.Matrix[int8]) datapath.Matrix[int8] {
				out := datapath.NewMatrix[int8](L, hi-lo)
				for t := 0; t < L; t++ {
					copy(out.Row(t), m.Row(t)[lo:hi])
				}
				return out
			}
			bin := datapath.ScanInputs{X: cols(in.X), Delta: cols(in.Delta), Z: cols(in.Z), B: in.B, C: in.C}
			out := datapath.NewMatrix[int16](L, hi-lo)
			if errs[j] = datapath.Scan(out, bin, &sub, e.p.ExpUnit(), nil, &ks[j]); errs[j] != nil {
				return
			}
			for t := 0; t < L; t++ {
				copy(dst.Row(t)[lo:hi], out.Row(t))
			}
		}(j, lo, hi)
	}
	wg.Wait()
	for j := range ks {
		if errs[j] != nil {
			return errs[j]
		}
		k.Add(ks[j])
	}
	return nil
}

// linear runs a GEMM and its requantizer, recording both as op of layer.
func linear[T datapath.Integer](e *engine, layer int, op string, dst datapath.Matrix[T], acc datapath.Matrix[int32], a datapath.Matrix[int8], l *intprog.Linear, k *datapath.Counters) error {
	if err := e.gemm(acc, a, l.W, k); err != nil {
		return err
	}
	if err := e.record(func(r traces.Sink) error {
		if err := r.GEMM(layer, op, a, l.W); err != nil {
			return err
		}
		return r.Requantize(layer, op, acc, &l.Req, 0)
	}); err != nil {
		return err
	}
	return datapath.Requantize(dst, acc, &l.Req, 0, k)
}

// record calls f on the recorder, if any.
func (e *engine) record(f func(traces.Sink) error) error {
	if e.rec == nil {
		return nil
	}
	if err := f(e.rec); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// groupOp names group g of a split-K GEMM of n groups: op itself when
// there is one group, else op_g<g>.
func groupOp(op string, g, n int) string {
	if n == 1 {
		return op
	}
	return fmt.Sprintf("%s_g%d", op, g)
}

// gemm is datapath.GEMM, split by rows over e.par goroutines when the image
// has cores to spare (the result and the counts are the same).
func (e *engine) gemm(dst datapath.Matrix[int32], a datapath.Matrix[int8], w *datapath.Weights, k *datapath.Counters) error {
	parts := min(e.par, a.Rows/16)
	if parts < 2 || dst.Rows != a.Rows {
		return datapath.GEMM(dst, a, w, k)
	}
	step := ((a.Rows+parts-1)/parts + 3) &^ 3 // multiples of the kernel's 4 rows, covering every row
	ks := make([]datapath.Counters, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for j := 0; j < parts; j++ {
		r0, r1 := min(j*step, a.Rows), min((j+1)*step, a.Rows)
		if r0 == r1 {
			continue
		}
		wg.Add(1)
		go func(j, r0, r1 int) {
			defer wg.Done()
			sa := datapath.Matrix[int8]{Rows: r1 - r0, Cols: a.Cols, Data: a.Data[r0*a.Cols : r1*a.Cols]}
			sd := datapath.Matrix[int32]{Rows: r1 - r0, Cols: dst.Cols, Data: dst.Data[r0*dst.Cols : r1*dst.Cols]}
			errs[j] = datapath.GEMM(sd, sa, w, &ks[j])
		}(j, r0, r1)
	}
	wg.Wait()
	for j := range ks {
		if errs[j] != nil {
			return errs[j]
		}
		k.Add(ks[j])
	}
	return nil
}

// widen copies int8 codes into int32 registers.
func widen(dst []int32, src []int8) {
	for i, v := range src {
		dst[i] = int32(v)
	}
}
