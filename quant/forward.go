package quant

import (
	"math"
	"strconv"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/vimsim/vimsim/vim"
)

// This file is the float64 fake-quant forward pass: vim's reference forward
// (vim-forward.md §2–3) with a quantize–dequantize at every quantization
// point of the method (§3.1) and the reparameterized selective scan (§5).
// With no quantizer and no reparameterization it performs the same float
// operations, in the same order, as vim.Model.Forward in float64.

// fparams are the float weights the forward uses: the model's own, or the
// dequantized weights of a QModel.
type fparams struct {
	patchW, patchB, cls, pos, normF, headW, headB []float64
	layers                                        []flayer
}

type flayer struct {
	norm, inProj, outProj []float64
	dir                   [2]fdir
}

type fdir struct {
	convW, convB, xProj, dtW, dtB, d []float64
	a                                []float64 // A = −exp(A_log), E × N
}

// floatParams shares the weights of m (A is computed).
func floatParams(m *vim.Model) *fparams {
	p := &fparams{patchW: m.PatchW, patchB: m.PatchB, cls: m.ClsToken, pos: m.PosEmbed,
		normF: m.NormF, headW: m.HeadW, headB: m.HeadB, layers: make([]flayer, len(m.Layers))}
	for i := range m.Layers {
		l := &m.Layers[i]
		fl := &p.layers[i]
		fl.norm, fl.inProj, fl.outProj = l.Norm, l.InProj, l.OutProj
		for d := range l.Dir {
			src := &l.Dir[d]
			fl.dir[d] = fdir{convW: src.ConvW, convB: src.ConvB, xProj: src.XProj, dtW: src.DtW,
				dtB: src.DtB, d: src.D, a: negExp(src.ALog)}
		}
	}
	return p
}

// negExp returns −exp(v) element-wise.
func negExp(v []float64) []float64 {
	a := make([]float64, len(v))
	for i, x := range v {
		a[i] = -math.Exp(x)
	}
	return a
}

// fquant lists the quantizer at each point of the network; a nil quantizer
// is off (the value stays float).
type fquant struct {
	patchOut, normFOut, headOut *ActQuant
	layers                      []lquant
}

type lquant struct {
	normOut, inOut, actZ, outOut *ActQuant
	dir                          [2]dquant
}

type dquant struct {
	convOut, act, xpOut, dtOut, delta *ActQuant
	ssm                               ssmSpec
}

// ssmSpec is the quantization and reparameterization of one scan.
type ssmSpec struct {
	// rC (E), rL (L) are the reparameterization factors; nil means 1.
	rC, rL []float64
	// rD (N) is applied explicitly only by the explicit scan; the folded
	// scan expects it folded into x_proj's B and C rows.
	rD []float64
	// hScale (L) are the per-step scales of the carried hidden state; nil
	// leaves it float.
	hScale []float64
	hBits  int
	// y quantizes the scan output y′ (token axis = scan position).
	y *ActQuant
	// explicit applies sA, sB, sC and r_C as separate multiplies, as
	// ptq-method.md §5.7 writes them (the reference for the folding test).
	explicit bool
}

// network is a forward pass: weights, quantizers and configuration.
type network struct {
	cfg vim.Config
	p   *fparams
	q   *fquant // nil: no quantizer anywhere (the float reference)
}

// dirWork holds one scan direction's intermediates, in scan order.
type dirWork struct {
	xs    []float64 // L×E conv input (x part of in_proj's output)
	zs    []float64 // L×E gate SiLU(z), quantized
	c     []float64 // L×E conv output (before SiLU)
	xa    []float64 // L×E SiLU output x
	xdbl  []float64 // L×(R+2N) x_proj output [dt | B | C]
	dpre  []float64 // L×E dt_proj output (before softplus)
	delta []float64 // L×E Δ
	y     []float64 // L×E scan output y′ (before the D skip and the gate)
	out   []float64 // L×E gated output
	h, hq []float64 // E×N running and carried hidden state
	xt    []float64 // E: x̃ of the current step
}

// work is the scratch memory of one forward pass; after block(i) it holds
// layer i's intermediates (the calibration reads them).
type work struct {
	cols, pe                 []float64
	residual, hidden, normed []float64 // L×D
	xz                       []float64 // L×2E in_proj output
	zg                       []float64 // L×E SiLU(z), original order
	dir                      [2]dirWork
	ycomb                    []float64 // L×E out_proj input
	// hook, when set, receives the running hidden state of each scan step
	// (E×N, before the carried state is quantized).
	hook func(dir, s int, h []float64)
	// tap, when set, receives the intermediate tensors (see ForwardTap).
	tap vim.Tap
}

// emit hands a rows×cols matrix to the tap, transposed to cols×rows when
// transpose is set; the tap gets a copy.
func (w *work) emit(name string, v []float64, rows, cols int, transpose bool) {
	out := make([]float64, rows*cols)
	shape := []int{rows, cols}
	if transpose {
		shape = []int{cols, rows}
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				out[c*rows+r] = v[r*cols+c]
			}
		}
	} else {
		copy(out, v)
	}
	if rows == 1 && !transpose {
		shape = []int{cols}
	}
	w.tap(name, shape, out)
}

func newWork(c vim.Config) *work {
	D, E, L, N, M := c.Dim, c.DInner, c.Tokens(), c.DState, c.Patches()
	w := &work{
		cols: make([]float64, M*c.Channels*c.Patch*c.Patch), pe: make([]float64, M*D),
		residual: make([]float64, L*D), hidden: make([]float64, L*D), normed: make([]float64, L*D),
		xz: make([]float64, L*2*E), zg: make([]float64, L*E), ycomb: make([]float64, L*E),
	}
	for d := range w.dir {
		w.dir[d] = dirWork{
			xs: make([]float64, L*E), zs: make([]float64, L*E), c: make([]float64, L*E),
			xa: make([]float64, L*E), xdbl: make([]float64, L*c.XProjOut()), dpre: make([]float64, L*E),
			delta: make([]float64, L*E), y: make([]float64, L*E), out: make([]float64, L*E),
			h: make([]float64, E*N), hq: make([]float64, E*N), xt: make([]float64, E),
		}
	}
	return w
}

// gemmNT computes c (m×n) = a (m×k) · bᵀ, b being n×k, all row-major.
func gemmNT(m, n, k int, a, b, c []float64) {
	blas64.Implementation().Dgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, k, b, k, 0, c, n)
}

func silu(x float64) float64 { return x / (1 + math.Exp(-x)) }

// softplus follows torch: x > 20 ? x : log1p(exp(x)).
func softplus(x float64) float64 {
	if x > 20 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

// rmsNorm writes v·w/sqrt(mean(v²)+eps) for each row of v (rows × d).
func rmsNorm(v, w, out []float64, d int, eps float64) {
	for r := 0; r+d <= len(v); r += d {
		row := v[r : r+d]
		var ss float64
		for _, x := range row {
			ss += x * x
		}
		inv := 1 / math.Sqrt(ss/float64(d)+eps)
		o := out[r : r+d]
		for j, x := range row {
			o[j] = x * inv * w[j]
		}
	}
}

// fakeQuant quantizes and dequantizes the rows×cols matrix v in place with
// q (nil: no-op). Row r is token r for token-grouped quantizers.
func fakeQuant(q *ActQuant, v []float64, rows, cols int) {
	if q == nil {
		return
	}
	lo, hi := QRange(q.Bits)
	switch q.Axis {
	case PerTensor:
		s := q.Scales[0]
		for i, x := range v[:rows*cols] {
			v[i] = roundClamp(x/s, lo, hi) * s
		}
	case PerToken:
		for r := 0; r < rows; r++ {
			s := q.Scales[q.Group[r]]
			row := v[r*cols : (r+1)*cols]
			for i, x := range row {
				row[i] = roundClamp(x/s, lo, hi) * s
			}
		}
	case PerChannel:
		for r := 0; r < rows; r++ {
			row := v[r*cols : (r+1)*cols]
			for c, x := range row {
				s := q.Scales[q.Group[c]]
				row[c] = roundClamp(x/s, lo, hi) * s
			}
		}
	}
}

// im2col lays out the patch-embedding receptive fields of img as M rows of
// C·P·P, in the order of the weight's (C, P, P) flattening.
func im2col(img, out []float64, c vim.Config) {
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

func (n *network) layerQuant(i int) *lquant {
	if n.q == nil {
		return nil
	}
	return &n.q.layers[i]
}

// embed computes the patch embedding, inserts the cls token and adds the
// position embedding into w.hidden.
func (n *network) embed(img []float64, w *work) {
	c := n.cfg
	D, M, tp := c.Dim, c.Patches(), c.ClsPos()
	kk := c.Channels * c.Patch * c.Patch
	im2col(img, w.cols, c)
	gemmNT(M, D, kk, w.cols, n.p.patchW, w.pe)
	for r := 0; r < M; r++ {
		row := w.pe[r*D : (r+1)*D]
		for j := range row {
			row[j] += n.p.patchB[j]
		}
	}
	if n.q != nil {
		fakeQuant(n.q.patchOut, w.pe, M, D)
	}
	if w.tap != nil {
		w.emit("patch_embed", w.pe, M, D, false)
	}
	copy(w.hidden, w.pe[:tp*D])
	copy(w.hidden[tp*D:], n.p.cls)
	copy(w.hidden[(tp+1)*D:], w.pe[tp*D:])
	for i := range w.hidden {
		w.hidden[i] += n.p.pos[i]
	}
	if w.tap != nil {
		w.emit("tokens", w.hidden, c.Tokens(), D, false)
	}
}

// block runs layer i: the residual update, the RMSNorm and the mixer, whose
// output replaces w.hidden.
func (n *network) block(i int, w *work) {
	c := n.cfg
	D, L := c.Dim, c.Tokens()
	lp := &n.p.layers[i]
	lq := n.layerQuant(i)
	if i == 0 {
		copy(w.residual, w.hidden)
	} else {
		for j := range w.residual {
			w.residual[j] += w.hidden[j]
		}
	}
	rmsNorm(w.residual, lp.norm, w.normed, D, c.Eps)
	if lq != nil {
		fakeQuant(lq.normOut, w.normed, L, D)
	}
	prefix := ""
	if w.tap != nil {
		prefix = "layers." + strconv.Itoa(i)
		w.emit(prefix+".residual", w.residual, L, D, false)
		w.emit(prefix+".norm_out", w.normed, L, D, false)
	}
	n.mixer(i, w, prefix)
	if w.tap != nil {
		w.emit(prefix+".out", w.hidden, L, D, false)
	}
}

// final adds the last mixer output to the residual stream, normalises the
// cls token and applies the head.
func (n *network) final(w *work) []float64 {
	c := n.cfg
	D, tp := c.Dim, c.ClsPos()
	for j := range w.residual {
		w.residual[j] += w.hidden[j]
	}
	if w.tap != nil {
		L := c.Tokens()
		w.emit("final_residual", w.residual, L, D, false)
		all := make([]float64, L*D)
		rmsNorm(w.residual, n.p.normF, all, D, c.Eps)
		if n.q != nil {
			fakeQuant(n.q.normFOut, all, L, D)
		}
		w.emit("final_norm", all, L, D, false)
	}
	feat := make([]float64, D)
	rmsNorm(w.residual[tp*D:(tp+1)*D], n.p.normF, feat, D, c.Eps)
	if n.q != nil {
		fakeQuant(n.q.normFOut, feat, 1, D)
	}
	if w.tap != nil {
		w.emit("features", feat, 1, D, false)
	}
	logits := make([]float64, c.Classes)
	gemmNT(1, c.Classes, D, feat, n.p.headW, logits)
	for j := range logits {
		logits[j] += n.p.headB[j]
	}
	if n.q != nil {
		fakeQuant(n.q.headOut, logits, 1, c.Classes)
	}
	return logits
}

// forward runs the whole network on one image.
func (n *network) forward(img []float64, w *work) []float64 {
	n.embed(img, w)
	for i := range n.p.layers {
		n.block(i, w)
	}
	return n.final(w)
}

// mixer computes the bimamba-v2 mixer of layer i on w.normed into
// w.hidden; prefix names layer i's taps.
func (n *network) mixer(i int, w *work, prefix string) {
	c := n.cfg
	D, E, L, R, K := c.Dim, c.DInner, c.Tokens(), c.DtRank, c.DConv
	XO := c.XProjOut()
	lp := &n.p.layers[i]
	lq := n.layerQuant(i)
	gemmNT(L, 2*E, D, w.normed, lp.inProj, w.xz)
	if lq != nil {
		fakeQuant(lq.inOut, w.xz, L, 2*E)
	}
	if w.tap != nil {
		w.emit(prefix+".mixer.xz", w.xz, L, 2*E, true)
	}
	for t := 0; t < L; t++ {
		z := w.xz[t*2*E+E : (t+1)*2*E]
		g := w.zg[t*E : (t+1)*E]
		for e, v := range z {
			g[e] = silu(v)
		}
	}
	if lq != nil {
		fakeQuant(lq.actZ, w.zg, L, E)
	}
	if w.tap != nil {
		w.emit(prefix+".mixer.z_gate", w.zg, L, E, false)
	}
	for d := 0; d < 2; d++ {
		dp := &lp.dir[d]
		var dq *dquant
		if lq != nil {
			dq = &lq.dir[d]
		}
		dw := &w.dir[d]
		for s := 0; s < L; s++ {
			t := s
			if d == vim.Bwd {
				t = L - 1 - s
			}
			copy(dw.xs[s*E:(s+1)*E], w.xz[t*2*E:t*2*E+E])
			copy(dw.zs[s*E:(s+1)*E], w.zg[t*E:(t+1)*E])
		}
		// Depthwise causal conv, left zero padding K−1.
		for s := 0; s < L; s++ {
			row := dw.c[s*E : (s+1)*E]
			copy(row, dp.convB)
			for k := 0; k < K; k++ {
				src := s - (K - 1) + k
				if src < 0 {
					continue
				}
				xr := dw.xs[src*E : (src+1)*E]
				for e := range row {
					row[e] += dp.convW[e*K+k] * xr[e]
				}
			}
		}
		if dq != nil {
			fakeQuant(dq.convOut, dw.c, L, E)
		}
		for j, v := range dw.c {
			dw.xa[j] = silu(v)
		}
		if dq != nil {
			fakeQuant(dq.act, dw.xa, L, E)
		}
		gemmNT(L, XO, E, dw.xa, dp.xProj, dw.xdbl)
		if dq != nil {
			fakeQuant(dq.xpOut, dw.xdbl, L, XO)
		}
		for s := 0; s < L; s++ {
			dt := dw.xdbl[s*XO : s*XO+R]
			row := dw.dpre[s*E : (s+1)*E]
			for e := range row {
				acc := 0.0
				wr := dp.dtW[e*R : (e+1)*R]
				for r, v := range dt {
					acc += wr[r] * v
				}
				row[e] = acc + dp.dtB[e]
			}
		}
		if dq != nil {
			fakeQuant(dq.dtOut, dw.dpre, L, E)
		}
		for j, v := range dw.dpre {
			dw.delta[j] = softplus(v)
		}
		if dq != nil {
			fakeQuant(dq.delta, dw.delta, L, E)
		}
		var spec *ssmSpec
		if dq != nil {
			spec = &dq.ssm
		}
		if spec != nil && spec.explicit {
			n.scanExplicit(d, dp, spec, dw, w.hook)
		} else {
			n.scan(d, dp, spec, dw, w.hook)
		}
		if w.tap != nil {
			name := prefix + ".mixer." + [2]string{"fwd", "bwd"}[d]
			w.emit(name+".conv", dw.c, L, E, true)
			w.emit(name+".conv_silu", dw.xa, L, E, true)
			w.emit(name+".x_dbl", dw.xdbl, L, XO, false)
			w.emit(name+".dt", dw.dpre, L, E, true)
			w.emit(name+".delta", dw.delta, L, E, true)
			w.emit(name+".ssm_y", dw.y, L, E, true)
			w.emit(name+".y", dw.out, L, E, true)
		}
	}
	yf, yb := w.dir[vim.Fwd].out, w.dir[vim.Bwd].out
	for t := 0; t < L; t++ {
		rf, rb, rc := yf[t*E:(t+1)*E], yb[(L-1-t)*E:(L-t)*E], w.ycomb[t*E:(t+1)*E]
		for e := range rc {
			rc[e] = (rf[e] + rb[e]) / 2
		}
	}
	if w.tap != nil {
		w.emit(prefix+".mixer.y_comb", w.ycomb, L, E, false)
	}
	gemmNT(L, D, E, w.ycomb, lp.outProj, w.hidden)
	if lq != nil {
		fakeQuant(lq.outOut, w.hidden, L, D)
	}
}

// scan is the selective scan of one direction with the reparameterization
// folded (§6): x_proj's B and C rows already carry 1/r_D and r_D; 1/r_C[d]
// rides on the dequantization of x (x̃ = x/r_C), 1/r_L[s] and r_L[s] on the
// per-token dequantization of B and C, sA[s] on the per-step dequantization
// of the carried state, and r_C[d] on the per-channel dequantization of the
// gate SiLU(z): out = (ŷ′ + D⊙x̃) ⊙ (r_C ⊙ SiLU(z)). With spec nil (or no
// factors and no quantizer) it computes exactly vim's scan.
func (n *network) scan(dir int, dp *fdir, spec *ssmSpec, dw *dirWork, hook func(int, int, []float64)) {
	c := n.cfg
	E, L, N, R := c.DInner, c.Tokens(), c.DState, c.DtRank
	XO := c.XProjOut()
	var rC, rL, hScale []float64
	var yq *ActQuant
	hBits := 8
	if spec != nil {
		rC, rL, hScale, yq, hBits = spec.rC, spec.rL, spec.hScale, spec.y, spec.hBits
	}
	lo, hi := QRange(hBits)
	h, hq := dw.h, dw.hq
	clear(hq)
	for s := 0; s < L; s++ {
		bRow := dw.xdbl[s*XO+R : s*XO+R+N]
		cRow := dw.xdbl[s*XO+R+N : s*XO+R+2*N]
		var bt, ct [64]float64 // B̃, C̃: per-token dequantization carries 1/r_L, r_L
		bT, cT := bRow, cRow
		if rL != nil && N <= len(bt) {
			inv := 1 / rL[s]
			for j := range bRow {
				bt[j] = bRow[j] * inv
				ct[j] = cRow[j] * rL[s]
			}
			bT, cT = bt[:N], ct[:N]
		} else if rL != nil {
			bT, cT = make([]float64, N), make([]float64, N)
			for j := range bRow {
				bT[j] = bRow[j] / rL[s]
				cT[j] = cRow[j] * rL[s]
			}
		}
		xr, dr, yr := dw.xa[s*E:(s+1)*E], dw.delta[s*E:(s+1)*E], dw.y[s*E:(s+1)*E]
		if rC != nil {
			for e := range dw.xt {
				dw.xt[e] = xr[e] / rC[e]
			}
			xr = dw.xt
		}
		for e := 0; e < E; e++ {
			dt, x := dr[e], xr[e]
			dx := dt * x
			he := h[e*N : (e+1)*N]
			hp := hq[e*N : (e+1)*N]
			ae := dp.a[e*N : (e+1)*N : (e+1)*N]
			ae, bT, cT := ae[:len(he)], bT[:len(he)], cT[:len(he)]
			var acc float64
			for j := range he {
				v := math.Exp(dt*ae[j])*hp[j] + dx*bT[j]
				he[j] = v
				acc += v * cT[j]
			}
			yr[e] = acc
		}
		if hook != nil {
			hook(dir, s, h)
		}
		// The carried state: quantized at this step's scale, dequantized
		// with the next step's sA folded into the constant.
		if s+1 < L {
			sa := 1.0
			if rL != nil {
				sa = rL[s] / rL[s+1]
			}
			switch {
			case hScale != nil:
				sh := hScale[s]
				k := sh * sa
				for j, v := range h {
					hq[j] = roundClamp(v/sh, lo, hi) * k
				}
			case rL != nil:
				for j, v := range h {
					hq[j] = v * sa
				}
			default:
				copy(hq, h)
			}
		}
	}
	fakeQuant(yq, dw.y, L, E)
	for s := 0; s < L; s++ {
		xr, yr, zr, or := dw.xa[s*E:(s+1)*E], dw.y[s*E:(s+1)*E], dw.zs[s*E:(s+1)*E], dw.out[s*E:(s+1)*E]
		if rC == nil {
			for e := range or {
				or[e] = (yr[e] + dp.d[e]*xr[e]) * zr[e]
			}
			continue
		}
		for e := range or {
			or[e] = (yr[e] + dp.d[e]*(xr[e]/rC[e])) * (zr[e] * rC[e])
		}
	}
}

// scanExplicit is the selective scan with the reparameterization applied as
// ptq-method.md §5.7 writes it: hfull = sB⊙U + (sA·Ā)⊙hq, y′ = hfull·(C⊙sC),
// out = r_C⊙ŷ′ + D⊙x, with sA[s] = r_L[s−1]/r_L[s], sB = 1/(r_C r_L r_D),
// sC = r_D r_L. It costs 2·E·N + E + N extra multiplies per token; it exists
// to check the folded scan against.
func (n *network) scanExplicit(dir int, dp *fdir, spec *ssmSpec, dw *dirWork, hook func(int, int, []float64)) {
	c := n.cfg
	E, L, N, R := c.DInner, c.Tokens(), c.DState, c.DtRank
	XO := c.XProjOut()
	one := func(v []float64, i int) float64 {
		if v == nil {
			return 1
		}
		return v[i]
	}
	lo, hi := QRange(spec.hBits)
	h, hq := dw.h, dw.hq
	clear(hq)
	sB := make([]float64, N)
	sC := make([]float64, N)
	for s := 0; s < L; s++ {
		bRow := dw.xdbl[s*XO+R : s*XO+R+N]
		cRow := dw.xdbl[s*XO+R+N : s*XO+R+2*N]
		sA := 1.0
		if s > 0 {
			sA = one(spec.rL, s-1) / one(spec.rL, s)
		} else {
			sA = 1 / one(spec.rL, 0)
		}
		for j := range sC {
			sC[j] = one(spec.rD, j) * one(spec.rL, s)
		}
		xr, dr, yr := dw.xa[s*E:(s+1)*E], dw.delta[s*E:(s+1)*E], dw.y[s*E:(s+1)*E]
		for e := 0; e < E; e++ {
			dt, x := dr[e], xr[e]
			for j := range sB {
				sB[j] = 1 / (one(spec.rC, e) * one(spec.rL, s) * one(spec.rD, j))
			}
			he := h[e*N : (e+1)*N]
			hp := hq[e*N : (e+1)*N]
			var acc float64
			for j := range he {
				u := dt * bRow[j] * x
				v := sB[j]*u + (sA*math.Exp(dt*dp.a[e*N+j]))*hp[j]
				he[j] = v
				acc += v * (cRow[j] * sC[j])
			}
			yr[e] = acc
		}
		if hook != nil {
			hook(dir, s, h)
		}
		if spec.hScale != nil {
			sh := spec.hScale[s]
			for j, v := range h {
				hq[j] = roundClamp(v/sh, lo, hi) * sh
			}
		} else {
			copy(hq, h)
		}
	}
	fakeQuant(spec.y, dw.y, L, E)
	for s := 0; s < L; s++ {
		xr, yr, zr, or := dw.xa[s*E:(s+1)*E], dw.y[s*E:(s+1)*E], dw.zs[s*E:(s+1)*E], dw.out[s*E:(s+1)*E]
		for e := range or {
			or[e] = (one(spec.rC, e)*yr[e] + dp.d[e]*xr[e]) * zr[e]
		}
	}
}
