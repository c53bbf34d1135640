package quant

import (
	"math"

	"github.com/vimsim/vimsim/vim"
)

// This file is the fake-quant forward pass: vim's forward (vim.Pass) on
// the dequantized weights, with two hooks: a quantize–dequantize at every
// quantization point of the method (§3.1), called at the vim.Site of the
// point, and the reparameterized selective scan with a quantized carried
// state (§5) in place of vim's. With no quantizer and no
// reparameterization it is vim.Model.Forward in float64.

// network is a fake-quant forward pass: the weights, the quantizer at each
// site and the scan of each direction.
type network struct {
	net *vim.Net[float64]
	// act returns the quantizer at a point (nil: the tensor stays float);
	// act nil quantizes nothing.
	act func(vim.Point) *ActQuant
	// ssm holds the scan of each layer and direction; nil runs vim's.
	ssm [][2]ssmSpec
}

// ssmSpec is the quantization and reparameterization of one scan. The
// quantizer of its output y′ is the act quantizer at vim.SiteSSMY.
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
	// explicit applies sA, sB, sC and r_C as separate multiplies, as
	// ptq-method.md §5.7 writes them (the reference for the folding test).
	explicit bool
}

// reference reports whether the scan is vim's: nothing quantized or
// reparameterized.
func (s *ssmSpec) reference() bool {
	return s.rC == nil && s.rL == nil && s.rD == nil && s.hScale == nil && !s.explicit
}

// tapped are the sites ForwardTap hands to its tap.
func tapped(s vim.Site) bool { return s != vim.SiteConvIn && s != vim.SiteLogits }

// newPass returns a pass of the network; tap, when not nil, receives the
// tapped tensors as fake-quantized.
func (n *network) newPass(tap vim.Tap) *vim.Pass[float64] {
	return n.net.NewPass(n.hooks(tap))
}

// hooks returns the hooks of one pass of the network (see newPass).
func (n *network) hooks(tap vim.Tap) vim.Hooks[float64] {
	h := vim.Hooks[float64]{Scan: &scanner{specs: n.ssm}}
	if n.act != nil {
		h.At = func(pt vim.Point, t vim.Tensor[float64]) { fakeQuant(n.act(pt), t.Data, t.Rows, t.Cols) }
	}
	if tap != nil {
		fq, th := h.At, vim.TapHook[float64](tap, tapped)
		h.At = func(pt vim.Point, t vim.Tensor[float64]) {
			if fq != nil {
				fq(pt, t)
			}
			th(pt, t)
		}
	}
	return h
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

// negExp returns −exp(v) element-wise.
func negExp(v []float64) []float64 {
	a := make([]float64, len(v))
	for i, x := range v {
		a[i] = -math.Exp(x)
	}
	return a
}

// scanner is the vim.Scanner of a network: per direction, the folded scan,
// the explicit scan, or vim's reference scan. It holds the state of one
// scan at a time.
type scanner struct {
	specs  [][2]ssmSpec
	ref    vim.RefScan[float64]
	h, hq  []float64 // E×N running and carried hidden state
	xt     []float64 // E: x̃ of the current step
	bt, ct []float64 // N: B̃, C̃ of the current step
}

// spec returns the scan of pt, nil for vim's.
func (sc *scanner) spec(pt vim.Point) *ssmSpec {
	if sc.specs == nil {
		return nil
	}
	s := &sc.specs[pt.Layer][pt.Dir]
	if s.reference() {
		return nil
	}
	return s
}

// Scan writes y′ with the scan of in's direction.
func (sc *scanner) Scan(in *vim.ScanInput[float64], y []float64) {
	spec := sc.spec(in.Point)
	if spec == nil {
		sc.ref.Scan(in, y)
		return
	}
	if len(sc.h) != in.E*in.N {
		sc.h, sc.hq = make([]float64, in.E*in.N), make([]float64, in.E*in.N)
		sc.xt, sc.bt, sc.ct = make([]float64, in.E), make([]float64, in.N), make([]float64, in.N)
	}
	if spec.explicit {
		sc.explicit(in, spec, y)
	} else {
		sc.folded(in, spec, y)
	}
}

// Gate writes the gated output: with r_C folded, out = (ŷ′ + D⊙x̃) ⊙
// (r_C ⊙ SiLU(z)); explicitly, out = (r_C⊙ŷ′ + D⊙x) ⊙ SiLU(z).
func (sc *scanner) Gate(in *vim.ScanInput[float64], y, out []float64) {
	spec := sc.spec(in.Point)
	if spec == nil || spec.rC == nil {
		sc.ref.Gate(in, y, out)
		return
	}
	E, rC := in.E, spec.rC
	for s := 0; s < in.L; s++ {
		xr, yr, zr, or := in.X[s*E:(s+1)*E], y[s*E:(s+1)*E], in.Z[s*E:(s+1)*E], out[s*E:(s+1)*E]
		if spec.explicit {
			for e := range or {
				or[e] = (rC[e]*yr[e] + in.D[e]*xr[e]) * zr[e]
			}
			continue
		}
		for e := range or {
			or[e] = (yr[e] + in.D[e]*(xr[e]/rC[e])) * (zr[e] * rC[e])
		}
	}
}

// folded is the selective scan with the reparameterization folded (§6):
// x_proj's B and C rows already carry 1/r_D and r_D; 1/r_C[d] rides on the
// dequantization of x (x̃ = x/r_C), 1/r_L[s] and r_L[s] on the per-token
// dequantization of B and C, sA[s] on the per-step dequantization of the
// carried state, and r_C[d] on the per-channel dequantization of the gate
// (Gate). Each step is vim's ScanStep on x̃, B̃, C̃ and the carried state.
func (sc *scanner) folded(in *vim.ScanInput[float64], spec *ssmSpec, y []float64) {
	E, L := in.E, in.L
	rC, rL, hScale := spec.rC, spec.rL, spec.hScale
	lo, hi := QRange(spec.hBits)
	h, hq := sc.h, sc.hq
	clear(hq)
	for s := 0; s < L; s++ {
		bT, cT := in.B(s), in.C(s)
		if rL != nil {
			inv := 1 / rL[s]
			for j := range bT {
				sc.bt[j] = bT[j] * inv
				sc.ct[j] = cT[j] * rL[s]
			}
			bT, cT = sc.bt, sc.ct
		}
		xr := in.X[s*E : (s+1)*E]
		if rC != nil {
			for e := range sc.xt {
				sc.xt[e] = xr[e] / rC[e]
			}
			xr = sc.xt
		}
		vim.ScanStep(in.A, hq, h, in.Delta[s*E:(s+1)*E], xr, bT, cT, y[s*E:(s+1)*E])
		if in.Step != nil {
			in.Step(in.Point, s, h)
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
}

// explicit is the selective scan with the reparameterization applied as
// ptq-method.md §5.7 writes it: hfull = sB⊙U + (sA·Ā)⊙hq, y′ = hfull·(C⊙sC),
// out = r_C⊙ŷ′ + D⊙x (Gate), with sA[s] = r_L[s−1]/r_L[s], sB = 1/(r_C r_L
// r_D), sC = r_D r_L. It costs 2·E·N + E + N extra multiplies per token; it
// exists to check the folded scan against.
func (sc *scanner) explicit(in *vim.ScanInput[float64], spec *ssmSpec, y []float64) {
	E, L, N := in.E, in.L, in.N
	one := func(v []float64, i int) float64 {
		if v == nil {
			return 1
		}
		return v[i]
	}
	lo, hi := QRange(spec.hBits)
	h, hq := sc.h, sc.hq
	clear(hq)
	sB, sC := sc.bt, sc.ct
	for s := 0; s < L; s++ {
		bRow, cRow := in.B(s), in.C(s)
		sA := 1.0
		if s > 0 {
			sA = one(spec.rL, s-1) / one(spec.rL, s)
		} else {
			sA = 1 / one(spec.rL, 0)
		}
		for j := range sC {
			sC[j] = one(spec.rD, j) * one(spec.rL, s)
		}
		xr, dr, yr := in.X[s*E:(s+1)*E], in.Delta[s*E:(s+1)*E], y[s*E:(s+1)*E]
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
				v := sB[j]*u + (sA*math.Exp(dt*in.A[e*N+j]))*hp[j]
				he[j] = v
				acc += v * (cRow[j] * sC[j])
			}
			yr[e] = acc
		}
		if in.Step != nil {
			in.Step(in.Point, s, h)
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
}
