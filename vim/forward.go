package vim

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/vimsim/vimsim/internal/par"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// Float is the element type of a forward pass: float64 (the reference) or
// float32 (the arithmetic of the official code at eval).
type Float interface{ ~float32 | ~float64 }

// Net is the forward pass of a model's weights in the working precision T.
// It is built from a Model, whatever its weights are (trained, synthetic,
// or fake-quantized by package quant). A Net is immutable; any number of
// Passes may run on it at once.
type Net[T Float] struct {
	cfg                                           Config
	patchW, patchB, cls, pos, normF, headW, headB []T
	layers                                        []layerParams[T]
	// plain keeps hookless Passes (their scratch memory) for Model.Forward
	// and Infer to reuse from one call to the next.
	plain sync.Pool
}

// plainPass returns a hookless Pass on n, reused when one is free; give it
// back with n.plain.Put.
func (n *Net[T]) plainPass() *Pass[T] {
	if p, ok := n.plain.Get().(*Pass[T]); ok {
		return p
	}
	return n.NewPass(Hooks[T]{})
}

type layerParams[T Float] struct {
	norm, inProj, outProj []T
	dir                   [2]dirParams[T]
}

type dirParams[T Float] struct {
	convW, convB, xProj, dtW, dtB, d []T
	a                                []T // A = -exp(A_log), E × N
}

// convert copies (or, for float64, shares) a weight vector as T.
func convert[T Float](v []float64) []T {
	if out, ok := any(v).([]T); ok {
		return out
	}
	out := make([]T, len(v))
	for i, x := range v {
		out[i] = T(x)
	}
	return out
}

// NewNet returns the forward pass of m's weights in precision T. For
// float64 it shares m's weight slices, which must not change afterwards.
func NewNet[T Float](m *Model) *Net[T] {
	n := &Net[T]{
		cfg: m.Config, patchW: convert[T](m.PatchW), patchB: convert[T](m.PatchB), cls: convert[T](m.ClsToken),
		pos: convert[T](m.PosEmbed), normF: convert[T](m.NormF), headW: convert[T](m.HeadW),
		headB: convert[T](m.HeadB), layers: make([]layerParams[T], len(m.Layers)),
	}
	for i := range m.Layers {
		l := &m.Layers[i]
		lp := &n.layers[i]
		lp.norm, lp.inProj, lp.outProj = convert[T](l.Norm), convert[T](l.InProj), convert[T](l.OutProj)
		for d := range l.Dir {
			src := &l.Dir[d]
			a := make([]T, len(src.ALog))
			for j, v := range src.ALog {
				// A is computed in the working precision, as the official code does in fp32.
				a[j] = -T(math.Exp(float64(T(v))))
			}
			lp.dir[d] = dirParams[T]{convW: convert[T](src.ConvW), convB: convert[T](src.ConvB),
				xProj: convert[T](src.XProj), dtW: convert[T](src.DtW), dtB: convert[T](src.DtB),
				d: convert[T](src.D), a: a}
		}
	}
	return n
}

// Config returns the configuration of the network.
func (n *Net[T]) Config() Config { return n.cfg }

// cache holds the model's own Nets, built on first use.
type cache struct {
	once64, once32 sync.Once
	n64            *Net[float64]
	n32            *Net[float32]
}

func (m *Model) net64() *Net[float64] {
	m.cache.once64.Do(func() { m.cache.n64 = NewNet[float64](m) })
	return m.cache.n64
}

func (m *Model) net32() *Net[float32] {
	m.cache.once32.Do(func() { m.cache.n32 = NewNet[float32](m) })
	return m.cache.n32
}

// gemmNT computes c (m×n) = a (m×k) · bᵀ where b is n×k, all row-major.
func gemmNT[T Float](m, n, k int, a, b, c []T) {
	switch a := any(a).(type) {
	case []float64:
		blas64.Implementation().Dgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, k, any(b).([]float64), k, 0, any(c).([]float64), n)
	case []float32:
		blas32.Implementation().Sgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, k, any(b).([]float32), k, 0, any(c).([]float32), n)
	}
}

func exp[T Float](x T) T { return T(math.Exp(float64(x))) }

func silu[T Float](x T) T { return x / (1 + exp(-x)) }

// softplus follows torch: x > 20 ? x : log1p(exp(x)).
func softplus[T Float](x T) T {
	if x > 20 {
		return x
	}
	return T(math.Log1p(math.Exp(float64(x))))
}

// rmsNorm writes v·w/sqrt(mean(v²)+eps) for each row of v (rows × d) to out.
func rmsNorm[T Float](v, w, out []T, d int, eps float64) {
	for r := 0; r+d <= len(v); r += d {
		row := v[r : r+d]
		var ss T
		for _, x := range row {
			ss += x * x
		}
		inv := T(1 / math.Sqrt(float64(ss/T(d)+T(eps))))
		o := out[r : r+d]
		for j, x := range row {
			o[j] = x * inv * w[j]
		}
	}
}

// Forward runs the float reference on one image (C,H,W row-major, already
// normalised) and returns its logits. tap, if not nil, receives the tensor
// of every site the vim-toy fixture holds (Site.InFixture; see Tap).
func (m *Model) Forward(img []float64, p Precision, tap Tap) ([]float64, error) {
	c := m.Config
	if want := c.Channels * c.ImgH * c.ImgW; len(img) != want {
		return nil, fmt.Errorf("forward %s: input has %d values, want %d (%dx%dx%d)", c.Name, len(img), want, c.Channels, c.ImgH, c.ImgW)
	}
	if p == F32 {
		return forward(m.net32(), convert[float32](img), tap)
	}
	return forward(m.net64(), img, tap)
}

func forward[T Float](n *Net[T], img []T, tap Tap) ([]float64, error) {
	if tap != nil {
		return n.NewPass(Hooks[T]{At: TapHook[T](tap, Site.InFixture)}).Forward(img)
	}
	p := n.plainPass()
	defer n.plain.Put(p)
	return p.Forward(img)
}

// Infer runs Forward on n images stored back to back in imgs and returns the
// n×classes logits. Images are spread over all cores; the result does not
// depend on GOMAXPROCS.
func (m *Model) Infer(imgs []float64, n int, p Precision) ([]float64, error) {
	if p == F32 {
		return m.net32().Infer(imgs, n, nil)
	}
	return m.net64().Infer(imgs, n, nil)
}

// Infer runs count images (C,H,W, normalised) stored back to back in imgs
// through the network and returns the count×classes logits. Images are
// spread over all cores, each worker running its own Pass with the hooks
// newHooks returns (no hooks when newHooks is nil); the result does not
// depend on GOMAXPROCS.
func (n *Net[T]) Infer(imgs []float64, count int, newHooks func() Hooks[T]) ([]float64, error) {
	c := n.cfg
	size := c.Channels * c.ImgH * c.ImgW
	if count < 0 || len(imgs) != count*size {
		return nil, fmt.Errorf("infer %s: %d values for %d images of %d", c.Name, len(imgs), count, size)
	}
	out := make([]float64, count*c.Classes)
	errs := make([]error, count)
	passes := make([]*Pass[T], max(1, min(runtime.GOMAXPROCS(0), count)))
	par.ForWorker(count, len(passes), func(w, i int) {
		if passes[w] == nil {
			if newHooks != nil {
				passes[w] = n.NewPass(newHooks())
			} else {
				passes[w] = n.plainPass()
			}
		}
		logits, err := passes[w].Forward(convert[T](imgs[i*size : (i+1)*size]))
		errs[i] = err
		copy(out[i*c.Classes:], logits)
	})
	if newHooks == nil {
		for _, p := range passes {
			if p != nil {
				n.plain.Put(p)
			}
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Tensor is an activation at a hook point: Rows×Cols values, row-major, one
// row per token (see Site). Data is the pass's own buffer.
type Tensor[T Float] struct {
	Data       []T
	Rows, Cols int
}

// Hooks change what a Pass does. The zero Hooks run the reference forward.
type Hooks[T Float] struct {
	// At, when set, is called at every site, in execution order, with the
	// tensor just computed and before anything reads it: it may observe it
	// (taps, calibration statistics; it must not retain t.Data) or change
	// its values in place (fake quantization).
	At func(pt Point, t Tensor[T])
	// Step, when set, receives the running hidden state h_s (E×N) after
	// every step s of every scan (pt is the direction's SiteSSMY point).
	Step func(pt Point, s int, h []T)
	// Scan, when set, replaces the reference selective scan (RefScan).
	Scan Scanner[T]
}

// TapHook returns an At hook that hands a float64 copy of the tensor at
// every site keep accepts (every site when keep is nil) to tap, named by
// its Point and laid out as Tap describes.
func TapHook[T Float](tap Tap, keep func(Site) bool) func(Point, Tensor[T]) {
	return func(pt Point, t Tensor[T]) {
		if keep == nil || keep(pt.Site) {
			emit(tap, pt.String(), t.Data, t.Rows, t.Cols, pt.Site.tapTransposed())
		}
	}
}

// emit hands a tensor to tap as float64, transposing an (rows×cols) matrix to
// (cols×rows) when transpose is set.
func emit[T Float](tap Tap, name string, data []T, rows, cols int, transpose bool) {
	out := make([]float64, rows*cols)
	shape := []int{rows, cols}
	if transpose {
		shape = []int{cols, rows}
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				out[c*rows+r] = float64(data[r*cols+c])
			}
		}
	} else {
		for i, v := range data[:rows*cols] {
			out[i] = float64(v)
		}
	}
	if rows == 1 && !transpose {
		shape = []int{cols}
	}
	tap(name, shape, out)
}

// Pass is one image's forward pass on a Net, run stage by stage: Embed,
// Block for each layer, Final (or Forward for all three). It holds the
// scratch memory of one image; one goroutine uses it at a time, and it may
// run any number of images one after the other.
type Pass[T Float] struct {
	// Residual and Hidden are the residual stream, L×D each: Embed writes
	// the tokens to Hidden; Block(i) adds Hidden to Residual (copies it at
	// i = 0), normalises Residual and writes the mixer output to Hidden;
	// Final adds the last Hidden to Residual. A caller may point them at
	// its own buffers between stages to run many images layer by layer.
	Residual, Hidden []T

	net   *Net[T]
	hooks Hooks[T]
	scan  Scanner[T]

	cols, pe, normed, xz, zg          []T
	xs, zs, conv, xa, xdbl, dt, delta []T // one direction, scan order
	ssmY, y, yComb, feat, logits      []T // y holds both directions' gated outputs
}

// NewPass returns a pass on n run with the hooks h.
func (n *Net[T]) NewPass(h Hooks[T]) *Pass[T] {
	c := n.cfg
	D, E, L, M := c.Dim, c.DInner, c.Tokens(), c.Patches()
	p := &Pass[T]{
		Residual: make([]T, L*D), Hidden: make([]T, L*D), net: n, hooks: h, scan: h.Scan,
		cols: make([]T, M*c.Channels*c.Patch*c.Patch), pe: make([]T, M*D), normed: make([]T, L*D),
		xz: make([]T, L*2*E), zg: make([]T, L*E), xs: make([]T, L*E), zs: make([]T, L*E),
		conv: make([]T, L*E), xa: make([]T, L*E), xdbl: make([]T, L*c.XProjOut()), dt: make([]T, L*E),
		delta: make([]T, L*E), ssmY: make([]T, L*E), y: make([]T, 2*L*E), yComb: make([]T, L*E),
		feat: make([]T, D), logits: make([]T, c.Classes),
	}
	if p.scan == nil {
		p.scan = &RefScan[T]{}
	}
	return p
}

// at calls the At hook, if any, at the site s of layer and dir.
func (p *Pass[T]) at(s Site, layer, dir int, data []T, rows, cols int) {
	if p.hooks.At != nil {
		p.hooks.At(Point{Site: s, Layer: layer, Dir: dir}, Tensor[T]{Data: data[:rows*cols], Rows: rows, Cols: cols})
	}
}

// Forward runs the whole network on one image (C,H,W row-major, already
// normalised) and returns its logits.
func (p *Pass[T]) Forward(img []T) ([]float64, error) {
	if err := p.Embed(img); err != nil {
		return nil, err
	}
	for i := range p.net.layers {
		p.Block(i)
	}
	return p.Final(), nil
}

// Embed computes the patch embedding of img (§2.1: im2col then one GEMM),
// inserts the cls token and adds the position embedding into Hidden.
func (p *Pass[T]) Embed(img []T) error {
	n, c := p.net, p.net.cfg
	if want := c.Channels * c.ImgH * c.ImgW; len(img) != want {
		return fmt.Errorf("embed %s: input has %d values, want %d", c.Name, len(img), want)
	}
	D, M, tp := c.Dim, c.Patches(), c.ClsPos()
	kk := c.Channels * c.Patch * c.Patch
	im2col(img, p.cols, c)
	gemmNT(M, D, kk, p.cols, n.patchW, p.pe)
	for r := 0; r < M; r++ {
		row := p.pe[r*D : (r+1)*D]
		for j := range row {
			row[j] += n.patchB[j]
		}
	}
	p.at(SitePatchEmbed, LayerEmbed, 0, p.pe, M, D)
	// Middle cls token, then the position embedding (§2.2-3).
	h := p.Hidden
	copy(h, p.pe[:tp*D])
	copy(h[tp*D:], n.cls)
	copy(h[(tp+1)*D:], p.pe[tp*D:])
	for i := range h {
		h[i] += n.pos[i]
	}
	p.at(SiteTokens, LayerEmbed, 0, h, c.Tokens(), D)
	return nil
}

// im2col lays out the Conv2d receptive fields of img as M rows of C·P·P in
// out, in the order of the weight's (C, P, P) flattening; patches row-major.
func im2col[T Float](img, out []T, c Config) {
	P, S := c.Patch, c.Stride
	gh, gw := c.GridH(), c.GridW()
	kk := c.Channels * P * P
	for py := 0; py < gh; py++ {
		for px := 0; px < gw; px++ {
			row := out[(py*gw+px)*kk:]
			for ch := 0; ch < c.Channels; ch++ {
				plane := img[ch*c.ImgH*c.ImgW:]
				for ky := 0; ky < P; ky++ {
					src := plane[(py*S+ky)*c.ImgW+px*S:]
					copy(row[(ch*P+ky)*P:(ch*P+ky)*P+P], src[:P])
				}
			}
		}
	}
}

// Block runs layer i (§2.4): the residual update, the RMSNorm and the
// mixer, whose output replaces Hidden.
func (p *Pass[T]) Block(i int) {
	c := p.net.cfg
	D, L := c.Dim, c.Tokens()
	lp := &p.net.layers[i]
	if i == 0 {
		copy(p.Residual, p.Hidden)
	} else {
		for j := range p.Residual {
			p.Residual[j] += p.Hidden[j]
		}
	}
	p.at(SiteResidual, i, 0, p.Residual, L, D)
	rmsNorm(p.Residual, lp.norm, p.normed, D, c.Eps)
	p.at(SiteNormOut, i, 0, p.normed, L, D)
	p.mixer(i, lp)
}

// mixer computes the bimamba-v2 mixer (§3) of layer i on p.normed into
// p.Hidden.
func (p *Pass[T]) mixer(i int, lp *layerParams[T]) {
	c := p.net.cfg
	D, E, L, R, K := c.Dim, c.DInner, c.Tokens(), c.DtRank, c.DConv
	XO := c.XProjOut()
	gemmNT(L, 2*E, D, p.normed, lp.inProj, p.xz)
	p.at(SiteXZ, i, 0, p.xz, L, 2*E)
	for t := 0; t < L; t++ {
		z := p.xz[t*2*E+E : (t+1)*2*E]
		g := p.zg[t*E : (t+1)*E]
		for e, v := range z {
			g[e] = silu(v)
		}
	}
	p.at(SiteZGate, i, 0, p.zg, L, E)
	for d := 0; d < 2; d++ {
		dp := &lp.dir[d]
		// Sequence in scan order: the backward direction sees flip(x), flip(z).
		for s := 0; s < L; s++ {
			t := s
			if d == Bwd {
				t = L - 1 - s
			}
			copy(p.xs[s*E:(s+1)*E], p.xz[t*2*E:t*2*E+E])
			copy(p.zs[s*E:(s+1)*E], p.zg[t*E:(t+1)*E])
		}
		p.at(SiteConvIn, i, d, p.xs, L, E)
		CausalConv(p.xs, dp.convW, dp.convB, p.conv, E, K)
		p.at(SiteConv, i, d, p.conv, L, E)
		for j, v := range p.conv {
			p.xa[j] = silu(v)
		}
		p.at(SiteConvSiLU, i, d, p.xa, L, E)
		gemmNT(L, XO, E, p.xa, dp.xProj, p.xdbl)
		p.at(SiteXDbl, i, d, p.xdbl, L, XO)
		// dt_proj on the first R columns of x_dbl, then Δ = softplus.
		for s := 0; s < L; s++ {
			dt := p.xdbl[s*XO : s*XO+R]
			row := p.dt[s*E : (s+1)*E]
			for e := range row {
				acc := T(0)
				wr := dp.dtW[e*R : (e+1)*R]
				for r, v := range dt {
					acc += wr[r] * v
				}
				row[e] = acc + dp.dtB[e]
			}
		}
		p.at(SiteDt, i, d, p.dt, L, E)
		for j, v := range p.dt {
			p.delta[j] = softplus(v)
		}
		p.at(SiteDelta, i, d, p.delta, L, E)
		in := ScanInput[T]{Point: Point{Site: SiteSSMY, Layer: i, Dir: d}, L: L, E: E, N: c.DState, R: R,
			X: p.xa, Delta: p.delta, XDbl: p.xdbl, Z: p.zs, A: dp.a, D: dp.d, Step: p.hooks.Step}
		p.scan.Scan(&in, p.ssmY)
		p.at(SiteSSMY, i, d, p.ssmY, L, E)
		y := p.y[d*L*E : (d+1)*L*E]
		p.scan.Gate(&in, p.ssmY, y)
		p.at(SiteY, i, d, y, L, E)
	}
	// Combine: (y_f + flip(y_b)) / 2, then out_proj.
	yf, yb := p.y[:L*E], p.y[L*E:]
	for t := 0; t < L; t++ {
		rf, rb, rc := yf[t*E:(t+1)*E], yb[(L-1-t)*E:(L-t)*E], p.yComb[t*E:(t+1)*E]
		for e := range rc {
			rc[e] = (rf[e] + rb[e]) / 2
		}
	}
	p.at(SiteYComb, i, 0, p.yComb, L, E)
	gemmNT(L, D, E, p.yComb, lp.outProj, p.Hidden)
	p.at(SiteOut, i, 0, p.Hidden, L, D)
}

// Final adds the last mixer output to the residual stream, normalises the
// cls token and applies the head (§2.5-6). It returns the logits.
func (p *Pass[T]) Final() []float64 {
	n, c := p.net, p.net.cfg
	D, L, tp := c.Dim, c.Tokens(), c.ClsPos()
	for j := range p.Residual {
		p.Residual[j] += p.Hidden[j]
	}
	p.at(SiteFinalResidual, LayerHead, 0, p.Residual, L, D)
	if p.hooks.At != nil {
		// Only the cls row feeds the head; the others are for the hook.
		rmsNorm(p.Residual, n.normF, p.normed, D, c.Eps)
		p.at(SiteFinalNorm, LayerHead, 0, p.normed, L, D)
	}
	rmsNorm(p.Residual[tp*D:(tp+1)*D], n.normF, p.feat, D, c.Eps)
	p.at(SiteFeatures, LayerHead, 0, p.feat, 1, D)
	gemmNT(1, c.Classes, D, p.feat, n.headW, p.logits)
	for j := range p.logits {
		p.logits[j] += n.headB[j]
	}
	p.at(SiteLogits, LayerHead, 0, p.logits, 1, c.Classes)
	out := make([]float64, c.Classes)
	for j, v := range p.logits {
		out[j] = float64(v)
	}
	return out
}
