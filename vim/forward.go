package vim

import (
	"fmt"
	"math"
	"strconv"
	"sync"

	"github.com/vimsim/vimsim/internal/par"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// float is the element type of the reference forward pass.
type float interface{ ~float32 | ~float64 }

// params are the model weights converted to the element type T.
type params[T float] struct {
	patchW, patchB, cls, pos, normF, headW, headB []T
	layers                                        []layerParams[T]
}

type layerParams[T float] struct {
	norm, inProj, outProj []T
	dir                   [2]dirParams[T]
}

type dirParams[T float] struct {
	convW, convB, xProj, dtW, dtB, d []T
	a                                []T // A = -exp(A_log), E × N
}

// convert copies (or, for float64, shares) a weight vector as T.
func convert[T float](v []float64) []T {
	if out, ok := any(v).([]T); ok {
		return out
	}
	out := make([]T, len(v))
	for i, x := range v {
		out[i] = T(x)
	}
	return out
}

func newParams[T float](m *Model) *params[T] {
	p := &params[T]{
		patchW: convert[T](m.PatchW), patchB: convert[T](m.PatchB), cls: convert[T](m.ClsToken),
		pos: convert[T](m.PosEmbed), normF: convert[T](m.NormF), headW: convert[T](m.HeadW),
		headB: convert[T](m.HeadB), layers: make([]layerParams[T], len(m.Layers)),
	}
	for i := range m.Layers {
		l := &m.Layers[i]
		lp := &p.layers[i]
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
	return p
}

// cache holds the per-precision parameter sets, built on first use.
type cache struct {
	once64, once32 sync.Once
	p64            *params[float64]
	p32            *params[float32]
}

func (m *Model) params64() *params[float64] {
	m.cache.once64.Do(func() { m.cache.p64 = newParams[float64](m) })
	return m.cache.p64
}

func (m *Model) params32() *params[float32] {
	m.cache.once32.Do(func() { m.cache.p32 = newParams[float32](m) })
	return m.cache.p32
}

// gemmNT computes c (m×n) = a (m×k) · bᵀ where b is n×k, all row-major.
func gemmNT[T float](m, n, k int, a, b, c []T) {
	switch a := any(a).(type) {
	case []float64:
		blas64.Implementation().Dgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, k, any(b).([]float64), k, 0, any(c).([]float64), n)
	case []float32:
		blas32.Implementation().Sgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, k, any(b).([]float32), k, 0, any(c).([]float32), n)
	}
}

func exp[T float](x T) T { return T(math.Exp(float64(x))) }

func silu[T float](x T) T { return x / (1 + exp(-x)) }

// softplus follows torch: x > 20 ? x : log1p(exp(x)).
func softplus[T float](x T) T {
	if x > 20 {
		return x
	}
	return T(math.Log1p(math.Exp(float64(x))))
}

// rmsNorm writes v·w/sqrt(mean(v²)+eps) for each row of v (rows × d) to out.
func rmsNorm[T float](v, w, out []T, d int, eps float64) {
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
// normalised) and returns its logits. tap, if not nil, receives every
// intermediate tensor (see Tap).
func (m *Model) Forward(img []float64, p Precision, tap Tap) ([]float64, error) {
	c := m.Config
	if want := c.Channels * c.ImgH * c.ImgW; len(img) != want {
		return nil, fmt.Errorf("forward %s: input has %d values, want %d (%dx%dx%d)", c.Name, len(img), want, c.Channels, c.ImgH, c.ImgW)
	}
	if p == F32 {
		return forward(m.params32(), c, convert[float32](img), tap), nil
	}
	return forward(m.params64(), c, img, tap), nil
}

// Infer runs Forward on n images stored back to back in imgs and returns the
// n×classes logits. Images are spread over all cores; the result does not
// depend on GOMAXPROCS.
func (m *Model) Infer(imgs []float64, n int, p Precision) ([]float64, error) {
	c := m.Config
	size := c.Channels * c.ImgH * c.ImgW
	if n < 0 || len(imgs) != n*size {
		return nil, fmt.Errorf("infer %s: %d values for %d images of %d", c.Name, len(imgs), n, size)
	}
	out := make([]float64, n*c.Classes)
	errs := make([]error, n)
	par.For(n, 0, func(i int) {
		logits, err := m.Forward(imgs[i*size:(i+1)*size], p, nil)
		errs[i] = err
		copy(out[i*c.Classes:], logits)
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// emit hands a tensor to tap as float64, transposing an (rows×cols) matrix to
// (cols×rows) when transpose is set.
func emit[T float](tap Tap, name string, data []T, rows, cols int, transpose bool) {
	out := make([]float64, len(data))
	shape := []int{rows, cols}
	if transpose {
		shape = []int{cols, rows}
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				out[c*rows+r] = float64(data[r*cols+c])
			}
		}
	} else {
		for i, v := range data {
			out[i] = float64(v)
		}
	}
	if rows == 1 && !transpose {
		shape = []int{cols}
	}
	tap(name, shape, out)
}

func forward[T float](p *params[T], c Config, img []T, tap Tap) []float64 {
	D, L, M := c.Dim, c.Tokens(), c.Patches()
	tp := c.ClsPos()

	// Patch embedding: im2col then one GEMM (§2.1).
	kk := c.Channels * c.Patch * c.Patch
	cols := im2col(img, c)
	pe := make([]T, M*D)
	gemmNT(M, D, kk, cols, p.patchW, pe)
	for r := 0; r < M; r++ {
		for j := 0; j < D; j++ {
			pe[r*D+j] += p.patchB[j]
		}
	}
	if tap != nil {
		emit(tap, "patch_embed", pe, M, D, false)
	}

	// Middle cls token, then the position embedding (§2.2-3).
	hidden := make([]T, L*D)
	copy(hidden, pe[:tp*D])
	copy(hidden[tp*D:], p.cls)
	copy(hidden[(tp+1)*D:], pe[tp*D:])
	for i := range hidden {
		hidden[i] += p.pos[i]
	}
	if tap != nil {
		emit(tap, "tokens", hidden, L, D, false)
	}

	residual := make([]T, L*D)
	normed := make([]T, L*D)
	ws := newMixerWork[T](c)
	for i := range p.layers {
		lp := &p.layers[i]
		if i == 0 {
			copy(residual, hidden)
		} else {
			for j := range residual {
				residual[j] += hidden[j]
			}
		}
		rmsNorm(residual, lp.norm, normed, D, c.Eps)
		var prefix string
		if tap != nil {
			prefix = "layers." + strconv.Itoa(i)
			emit(tap, prefix+".residual", residual, L, D, false)
			emit(tap, prefix+".norm_out", normed, L, D, false)
		}
		mixer(lp, c, normed, hidden, ws, tap, prefix)
		if tap != nil {
			emit(tap, prefix+".out", hidden, L, D, false)
		}
	}
	for j := range residual {
		residual[j] += hidden[j]
	}
	if tap != nil {
		emit(tap, "final_residual", residual, L, D, false)
		rmsNorm(residual, p.normF, normed, D, c.Eps)
		emit(tap, "final_norm", normed, L, D, false)
	}
	feat := make([]T, D)
	rmsNorm(residual[tp*D:(tp+1)*D], p.normF, feat, D, c.Eps)
	if tap != nil {
		emit(tap, "features", feat, 1, D, false)
	}
	logits := make([]T, c.Classes)
	gemmNT(1, c.Classes, D, feat, p.headW, logits)
	out := make([]float64, c.Classes)
	for j := range logits {
		out[j] = float64(logits[j] + p.headB[j])
	}
	return out
}

// im2col lays out the Conv2d receptive fields of img as M rows of C·P·P,
// in the order of the weight's (C, P, P) flattening; patches row-major.
func im2col[T float](img []T, c Config) []T {
	P, S := c.Patch, c.Stride
	gh, gw := c.GridH(), c.GridW()
	kk := c.Channels * P * P
	out := make([]T, gh*gw*kk)
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
	return out
}

// mixerWork is the scratch memory of one mixer evaluation.
type mixerWork[T float] struct {
	xz, xs, zs, xc, xdbl, delta, y, yComb, h []T
}

func newMixerWork[T float](c Config) *mixerWork[T] {
	L, E := c.Tokens(), c.DInner
	return &mixerWork[T]{
		xz: make([]T, L*2*E), xs: make([]T, L*E), zs: make([]T, L*E), xc: make([]T, L*E),
		xdbl: make([]T, L*c.XProjOut()), delta: make([]T, L*E), y: make([]T, 2*L*E),
		yComb: make([]T, L*E), h: make([]T, E*c.DState),
	}
}

// mixer computes the bimamba-v2 mixer (§3) of u (L×D) into out (L×D).
func mixer[T float](lp *layerParams[T], c Config, u, out []T, w *mixerWork[T], tap Tap, prefix string) {
	D, E, L, R, K := c.Dim, c.DInner, c.Tokens(), c.DtRank, c.DConv
	XO := c.XProjOut()
	gemmNT(L, 2*E, D, u, lp.inProj, w.xz)
	if tap != nil {
		emit(tap, prefix+".mixer.xz", w.xz, L, 2*E, true)
	}
	for d := 0; d < 2; d++ {
		dp := &lp.dir[d]
		// Sequence in scan order: the backward direction sees flip(x), flip(z).
		for s := 0; s < L; s++ {
			t := s
			if d == Bwd {
				t = L - 1 - s
			}
			copy(w.xs[s*E:(s+1)*E], w.xz[t*2*E:t*2*E+E])
			copy(w.zs[s*E:(s+1)*E], w.xz[t*2*E+E:(t+1)*2*E])
		}
		// Depthwise causal conv, left zero padding K-1, then SiLU.
		for s := 0; s < L; s++ {
			row := w.xc[s*E : (s+1)*E]
			copy(row, dp.convB)
			for k := 0; k < K; k++ {
				src := s - (K - 1) + k
				if src < 0 {
					continue
				}
				xr := w.xs[src*E : (src+1)*E]
				for e := range row {
					row[e] += dp.convW[e*K+k] * xr[e]
				}
			}
			for e, v := range row {
				row[e] = silu(v)
			}
		}
		gemmNT(L, XO, E, w.xc, dp.xProj, w.xdbl)
		// delta = softplus(dt·dt_projᵀ + bias); dt is the first R columns of x_dbl.
		for s := 0; s < L; s++ {
			dt := w.xdbl[s*XO : s*XO+R]
			row := w.delta[s*E : (s+1)*E]
			for e := range row {
				acc := T(0)
				wr := dp.dtW[e*R : (e+1)*R]
				for r, v := range dt {
					acc += wr[r] * v
				}
				row[e] = softplus(acc + dp.dtB[e])
			}
		}
		y := w.y[d*L*E : (d+1)*L*E]
		scan(dp, c, w.xc, w.delta, w.xdbl, w.zs, y, w.h)
		if tap != nil {
			name := prefix + ".mixer.fwd"
			if d == Bwd {
				name = prefix + ".mixer.bwd"
			}
			emit(tap, name+".conv_silu", w.xc, L, E, true)
			emit(tap, name+".x_dbl", w.xdbl, L, XO, false)
			emit(tap, name+".delta", w.delta, L, E, true)
			emit(tap, name+".y", y, L, E, true)
		}
	}
	// Combine: (y_f + flip(y_b)) / 2, then out_proj.
	yf, yb := w.y[:L*E], w.y[L*E:]
	for t := 0; t < L; t++ {
		rf, rb, rc := yf[t*E:(t+1)*E], yb[(L-1-t)*E:(L-t)*E], w.yComb[t*E:(t+1)*E]
		for e := range rc {
			rc[e] = (rf[e] + rb[e]) / 2
		}
	}
	if tap != nil {
		emit(tap, prefix+".mixer.y_comb", w.yComb, L, E, false)
	}
	gemmNT(L, D, E, w.yComb, lp.outProj, out)
}

// scan runs the selective scan (selective_scan_ref) of one direction in scan
// order and writes the gated output y (L×E).
func scan[T float](dp *dirParams[T], c Config, xc, delta, xdbl, zs, y, h []T) {
	E, L, N, R := c.DInner, c.Tokens(), c.DState, c.DtRank
	XO := c.XProjOut()
	clear(h)
	for s := 0; s < L; s++ {
		bRow := xdbl[s*XO+R : s*XO+R+N]
		cRow := xdbl[s*XO+R+N : s*XO+R+2*N]
		xr, dr, zr, yr := xc[s*E:(s+1)*E], delta[s*E:(s+1)*E], zs[s*E:(s+1)*E], y[s*E:(s+1)*E]
		for e := 0; e < E; e++ {
			dt, x := dr[e], xr[e]
			dx := dt * x
			he := h[e*N : (e+1)*N]
			ae := dp.a[e*N : (e+1)*N : (e+1)*N]
			ae, bRow, cRow := ae[:len(he)], bRow[:len(he)], cRow[:len(he)]
			var acc T
			for n := range he {
				v := exp(dt*ae[n])*he[n] + dx*bRow[n]
				he[n] = v
				acc += v * cRow[n]
			}
			yr[e] = (acc + dp.d[e]*x) * silu(zr[e])
		}
	}
}
