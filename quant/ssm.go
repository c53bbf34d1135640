package quant

import (
	"math"

	"github.com/vimsim/vimsim/internal/num"
	"github.com/vimsim/vimsim/internal/par"
)

// at returns v[i], or 1 when v is nil (an absent factor).
func at(v []float64, i int) float64 {
	if v == nil {
		return 1
	}
	return v[i]
}

// calibrateSSM sets the hidden-state and output quantizers of one scan
// (§5.7): per-step min-max scales of h′ = h/(r_C r_L r_D) from every image,
// then (when the method searches) the greedy per-step search and the
// k-scaled token-wise search of y′ on the first SSMImages images.
func (c *calibrator) calibrateSSM(ds *dirStats, aLog, dSkip []float64, f factors, images float64, hb, ab int) (QSSM, error) {
	cfg := c.cfg
	E, L, N := cfg.DInner, cfg.Tokens(), cfg.DState
	hInit := make([]float64, L)
	for s := 0; s < L; s++ {
		m := 0.0
		for e := 0; e < E; e++ {
			base := (s*E + e) * N
			for n := 0; n < N; n++ {
				m = math.Max(m, ds.h.max[base+n]/(at(f.rC, e)*at(f.rL, s)*at(f.rD, n)))
			}
		}
		hInit[s] = MinMaxScale(m, hb)
	}
	prof := make([]float64, L)
	ymax := make([]float64, L)
	for s := 0; s < L; s++ {
		for e := 0; e < E; e++ {
			rc := at(f.rC, e)
			prof[s] += ds.y.sum[s*E+e] / rc
			ymax[s] = math.Max(ymax[s], ds.y.max[s*E+e]/rc)
		}
		prof[s] /= images * float64(E)
	}
	yq, err := c.grouped(PerToken, prof, ymax, ab)
	if err != nil {
		return QSSM{}, err
	}
	q := QSSM{RC: f.rC, RL: f.rL, RD: f.rD, HScale: hInit, Bits: hb, Y: yq}
	if !c.rec.search {
		floorStepScales(q.HScale, f.rL)
		if yq.Axis == PerToken {
			snapPow2(yq)
		}
		return q, nil
	}
	hs := &hSearch{E: E, L: L, N: N, a: negExp(aLog), f: f, bits: hb, imgs: ds.ssm, workers: c.opt.Workers}
	q.HScale, err = hs.run(hInit)
	if err != nil {
		return QSSM{}, err
	}
	floorStepScales(q.HScale, f.rL)
	// The output search compares the scan output with the D skip, r_C⊙y′ + D⊙x,
	// float against quantized chain with Q(y′) (§5.8, with the skip on both
	// sides).
	// Rows (image, step) of the search: all of them, or every stride-th when
	// there are more than 4×SearchRows.
	S := len(ds.ssm)
	stride := max(1, (S*L+4*c.opt.SearchRows-1)/(4*c.opt.SearchRows))
	var rows []int
	for i := 0; i < S*L; i += stride {
		rows = append(rows, i)
	}
	target := make([]float64, len(rows)*E)
	add := make([]float64, len(rows)*E)
	values := make([]float64, len(rows)*E)
	tok := make([]int, len(rows))
	for j, i := range rows {
		b, s := i/L, i%L
		tok[j] = s
		copy(values[j*E:(j+1)*E], hs.yq[i*E:(i+1)*E])
		x := ds.ssm[b].x[s*E : (s+1)*E]
		for e := 0; e < E; e++ {
			k := j*E + e
			add[k] = dSkip[e] * x[e]
			target[k] = at(f.rC, e)*hs.yfp[i*E+e] + add[k]
		}
	}
	p := &actProblem{rows: len(rows), cols: E, target: target, values: values, tok: tok, mul: f.rC, add: add}
	c.searchOut(p, yq, c.opt.Rounds, true)
	return q, nil
}

// maxStepRescale bounds the factor sA[t]·s_h[t−1]/s_h[t] by which the
// carried state is rescaled from one step to the next: the integer scan
// folds it into the exponent input, which must stay below 2^8
// (docs/DATAPATH.md §8.2).
const maxStepRescale = 1 << 7

// floorStepScales raises s_h[t] where the rescale from step t−1 would
// exceed maxStepRescale (it never binds on ordinary data).
func floorStepScales(hScale, rL []float64) {
	for t := 1; t < len(hScale); t++ {
		sA := at(rL, t-1) / at(rL, t)
		if lo := sA * hScale[t-1] / maxStepRescale; hScale[t] < lo {
			hScale[t] = lo
		}
	}
}

// hSearch is the greedy per-step search of the carried hidden-state scales
// (§5.7): the float reparameterized chain and the quantized chain of each
// search image advance in lockstep; at step s the scale of step s−1 is
// chosen by the cosine similarity of y′_s (before output quantization)
// between the chains, averaged over the images.
type hSearch struct {
	E, L, N int
	a       []float64
	f       factors
	bits    int
	imgs    []ssmImage
	workers int
	yfp, yq []float64 // S×L×E outputs of the float and quantized chains
}

// hChain is one image's state in the search.
type hChain struct {
	hfp, hfull []float64 // E×N float chain, quantized chain (un-rounded)
	sab, u, g  []float64 // E×N: sA·Ā, U′, sA·Ā·C̃ of the current step
	base, yfp  []float64 // E: Σ_n U′·C̃, float y′
	fnorm      float64   // max(‖yfp‖, ε)
}

func (h *hSearch) run(init []float64) ([]float64, error) {
	E, L, N := h.E, h.L, h.N
	S := len(h.imgs)
	scales := append([]float64(nil), init...)
	h.yfp = make([]float64, S*L*E)
	h.yq = make([]float64, S*L*E)
	chains := make([]hChain, S)
	for b := range chains {
		chains[b] = hChain{hfp: make([]float64, E*N), hfull: make([]float64, E*N),
			sab: make([]float64, E*N), u: make([]float64, E*N), g: make([]float64, E*N),
			base: make([]float64, E), yfp: make([]float64, E)}
	}
	lo, hi := QRange(h.bits)
	ratios := searchRatios()
	scores := make([]float64, len(ratios))
	bt := make([]float64, N)
	ct := make([]float64, N)
	for s := 0; s < L; s++ {
		sA := 1.0
		if s > 0 {
			sA = at(h.f.rL, s-1) / at(h.f.rL, s)
		}
		// Step terms and the float chain.
		par.ForWorker(S, h.workers, func(_, b int) {
			h.stepTerms(&chains[b], b, s, sA)
		})
		if s > 0 {
			// Score each candidate scale of step s−1. The search multiplies
			// by the reciprocal of the scale (the forward divides): the two
			// differ only when v/s is within an ulp of a rounding tie.
			for b := range chains {
				ch := &chains[b]
				var ff float64
				for _, v := range ch.yfp {
					ff += v * v
				}
				ch.fnorm = math.Max(math.Sqrt(ff), cosEps)
			}
			par.ForWorker(len(ratios), h.workers, func(_, i int) {
				sc := init[s-1] * ratios[i]
				inv := 1 / sc
				var total float64
				for b := range chains {
					ch := &chains[b]
					var dot, qq float64
					for e := 0; e < E; e++ {
						hf := ch.hfull[e*N : (e+1)*N]
						g := ch.g[e*N : (e+1)*N]
						g = g[:len(hf)]
						var qa float64
						for n, v := range hf {
							x := v * inv
							if x < lo {
								x = lo
							} else if x > hi {
								x = hi
							}
							qa += g[n] * ((x + roundMagic) - roundMagic)
						}
						acc := ch.base[e] + sc*qa
						dot += ch.yfp[e] * acc
						qq += acc * acc
					}
					total += dot / (ch.fnorm * math.Max(math.Sqrt(qq), cosEps))
				}
				scores[i] = total
			})
			scales[s-1] = init[s-1] * ratios[num.Argmax(scores)]
		}
		// Commit: carry the quantized state and advance the quantized chain.
		for b := range chains {
			ch := &chains[b]
			sc := 0.0
			if s > 0 {
				sc = scales[s-1]
			}
			row := h.yq[(b*L+s)*E : (b*L+s+1)*E]
			h.ctilde(b, s, bt, ct)
			for e := 0; e < E; e++ {
				hf := ch.hfull[e*N : (e+1)*N]
				sab, u := ch.sab[e*N:(e+1)*N], ch.u[e*N:(e+1)*N]
				var acc float64
				for n := range hf {
					carried := 0.0
					if s > 0 {
						carried = roundClamp(hf[n]/sc, lo, hi) * sc
					}
					v := sab[n]*carried + u[n]
					hf[n] = v
					acc += v * ct[n]
				}
				row[e] = acc
			}
			copy(h.yfp[(b*L+s)*E:(b*L+s+1)*E], ch.yfp)
		}
	}
	return scales, nil
}

// ctilde writes B̃ = B/(r_D r_L[s]) and C̃ = C·r_D·r_L[s] of image b, step s.
func (h *hSearch) ctilde(b, s int, bt, ct []float64) {
	N := h.N
	im := &h.imgs[b]
	rl := at(h.f.rL, s)
	for n := 0; n < N; n++ {
		rd := at(h.f.rD, n)
		bt[n] = im.b[s*N+n] / (rd * rl)
		ct[n] = im.c[s*N+n] * rd * rl
	}
}

// stepTerms computes sA·Ā, U′, G = sA·Ā·C̃ and base = Σ U′·C̃ of step s for
// image b, and advances its float chain (yfp).
func (h *hSearch) stepTerms(ch *hChain, b, s int, sA float64) {
	E, N := h.E, h.N
	im := &h.imgs[b]
	bt := make([]float64, N)
	ct := make([]float64, N)
	h.ctilde(b, s, bt, ct)
	for e := 0; e < E; e++ {
		dt := im.delta[s*E+e]
		xt := im.x[s*E+e] / at(h.f.rC, e)
		dx := dt * xt
		var base, y float64
		for n := 0; n < N; n++ {
			i := e*N + n
			sab := sA * math.Exp(dt*h.a[i])
			u := dx * bt[n]
			ch.sab[i] = sab
			ch.u[i] = u
			ch.g[i] = sab * ct[n]
			base += u * ct[n]
			v := sab*ch.hfp[i] + u
			ch.hfp[i] = v
			y += v * ct[n]
		}
		ch.base[e] = base
		ch.yfp[e] = y
	}
}
