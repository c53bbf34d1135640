package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSearchRatios(t *testing.T) {
	r := searchRatios()
	if len(r) != 100 || r[0] != 0.01 || math.Abs(r[99]-1.1881) > 1e-12 {
		t.Fatalf("grid: %d ratios, first %g, last %g; want 100, 0.01, 1.1881", len(r), r[0], r[len(r)-1])
	}
	for i := 1; i < len(r); i++ {
		if math.Abs(r[i]-r[i-1]-0.0119) > 1e-12 {
			t.Fatalf("step %d: %g", i, r[i]-r[i-1])
		}
	}
}

// quantizeAll applies q to values and forms the candidate Q(v)·mul + add.
func quantizeAll(p *actProblem, q *ActQuant) []float64 {
	out := make([]float64, len(p.values))
	for r := 0; r < p.rows; r++ {
		for c := 0; c < p.cols; c++ {
			s := q.Scales[0]
			switch q.Axis {
			case PerToken:
				s = q.Scales[q.Group[p.tok[r]]]
			case PerChannel:
				s = q.Scales[q.Group[c]]
			}
			i := r*p.cols + c
			v := slowCode(p.values[i], s, q.Bits) * s
			if p.mul != nil {
				v *= p.mul[c]
			}
			if p.add != nil {
				v += p.add[i]
			}
			out[i] = v
		}
	}
	return out
}

// slowScore is the summed row cosine computed from scratch.
func slowScore(p *actProblem, q *ActQuant) float64 {
	cand := quantizeAll(p, q)
	var total float64
	for r := 0; r < p.rows; r++ {
		total += cosine(p.target[r*p.cols:(r+1)*p.cols], cand[r*p.cols:(r+1)*p.cols])
	}
	return total
}

// randomProblem is an activation search problem with the given quantizer
// layout.
func randomProblem(rng *rand.Rand, rows, cols int, q *ActQuant, extra bool) *actProblem {
	p := &actProblem{rows: rows, cols: cols, target: make([]float64, rows*cols), values: make([]float64, rows*cols), tok: make([]int, rows)}
	for r := 0; r < rows; r++ {
		p.tok[r] = rng.IntN(len(q.Group) + 1)
		if q.Axis == PerToken {
			p.tok[r] = rng.IntN(len(q.Group))
		}
		mag := math.Exp(rng.NormFloat64())
		for c := 0; c < cols; c++ {
			i := r*cols + c
			p.values[i] = rng.NormFloat64() * mag
			p.target[i] = p.values[i] + 0.01*rng.NormFloat64()
		}
	}
	if extra {
		p.mul = make([]float64, cols)
		for c := range p.mul {
			p.mul[c] = math.Exp(rng.NormFloat64())
		}
		p.add = make([]float64, rows*cols)
		for i := range p.add {
			p.add[i] = rng.NormFloat64()
			p.target[i] = p.target[i]*p.mul[i%cols] + p.add[i]
		}
	}
	return p
}

func testQuantizers() []*ActQuant {
	return []*ActQuant{
		{Bits: 8, Axis: PerTensor, Scales: []float64{0.02}},
		{Bits: 4, Axis: PerToken, Scales: []float64{0.05, 0.1, 0.4}, Group: []int{0, 1, 2, 2, 1, 0, 0}},
		{Bits: 6, Axis: PerChannel, Scales: []float64{0.01, 0.03, 0.09, 0.2}, Group: []int{3, 0, 1, 2, 2, 1, 0, 0, 3, 1}},
	}
}

// TestActSearchScoreMatchesSlow checks the incremental (per-group partial
// sums) score of a candidate against a from-scratch evaluation.
func TestActSearchScoreMatchesSlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, q0 := range testQuantizers() {
		for _, extra := range []bool{false, true} {
			q := q0.clone()
			p := randomProblem(rng, 23, 10, q, extra)
			s := newActSearch(p, q, append([]float64(nil), q.Scales...), 2)
			for trial := 0; trial < 50; trial++ {
				g := rng.IntN(len(q.Scales))
				sc := q.Scales[g] * math.Exp(rng.NormFloat64())
				got := s.score(g, sc, s.base(g))
				alt := q.clone()
				alt.Scales[g] = sc
				if want := slowScore(p, alt); math.Abs(got-want) > 1e-10*math.Abs(want) {
					t.Fatalf("%s extra=%v: score %v, slow %v", q.Axis, extra, got, want)
				}
				if trial%10 == 0 { // move the state and check the refresh
					q.Scales[g] = sc
					s.refresh(g)
				}
			}
		}
	}
}

// TestSearchActIsGridArgmax checks one round of the grouped search against
// a slow coordinate descent over the same grid.
func TestSearchActIsGridArgmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, q0 := range testQuantizers() {
		for _, pow2 := range []bool{false, true} {
			q := q0.clone()
			p := randomProblem(rng, 31, 10, q, true)
			init := append([]float64(nil), q.Scales...)
			searchAct(p, q, 2, pow2, 3)
			// Slow reference.
			ref := q0.clone()
			for round := 0; round < 2; round++ {
				for g := range ref.Scales {
					if ref.Axis == PerToken && !hasTokenGroup(p, ref, g) {
						continue
					}
					best, bestScore := 0.0, math.Inf(-1)
					for _, r := range searchRatios() {
						alt := ref.clone()
						alt.Scales[g] = init[g] * r
						if sc := slowScore(p, alt); sc > bestScore+1e-12*math.Abs(sc) {
							best, bestScore = init[g]*r, sc
						}
					}
					ref.Scales[g] = best
				}
				if pow2 {
					snapPow2(ref)
				}
			}
			for g := range ref.Scales {
				if q.Scales[g] != ref.Scales[g] {
					t.Errorf("%s pow2=%v group %d: scale %g, slow search %g", q.Axis, pow2, g, q.Scales[g], ref.Scales[g])
				}
			}
			if pow2 {
				if err := q.Validate(len(q.Group)); err != nil {
					t.Error(err)
				}
			}
		}
	}
}

func hasTokenGroup(p *actProblem, q *ActQuant, g int) bool {
	for _, t := range p.tok {
		if q.Group[t] == g {
			return true
		}
	}
	return false
}

// TestSearchLinearAndBiasCorrection checks the weight/output search of a
// linear layer against a slow coordinate descent, and that the bias
// correction makes the mean output over the calibration rows exact.
func TestSearchLinearAndBiasCorrection(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rows, in, out := 40, 12, 9
	x := make([]float64, rows*in)
	w := make([]float64, out*in)
	b := make([]float64, out)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for i := range w {
		w[i] = rng.NormFloat64() * 0.3
	}
	for i := range b {
		b[i] = rng.NormFloat64()
	}
	tok := make([]int, rows)
	p := newLinProblem(rows, in, out, x, w, b, tok)
	for _, tc := range []struct {
		perChannel bool
		wRows      int
	}{{false, rows}, {true, rows}, {false, 13}, {true, 7}} {
		perChannel := tc.perChannel
		wInit := WeightMinMax(w, out, in, 4, perChannel)
		q := &ActQuant{Bits: 8, Axis: PerTensor, Scales: []float64{MinMaxScale(maxAbs(p.target), 8)}}
		oInit := q.Scales[0]
		ws := searchLinear(p, 4, wInit, tc.wRows, q, 1, false, 2)
		// Slow: W search with the initial output scale on every stride-th
		// row, then the O search on all rows.
		stride := (rows + tc.wRows - 1) / tc.wRows
		score := func(wsc []float64, os float64, sub bool) float64 {
			wq := make([]float64, len(w))
			fakeQuantWeight(wq, w, out, in, 4, wsc)
			y := make([]float64, rows*out)
			p.apply(wq, y)
			alt := &ActQuant{Bits: 8, Axis: PerTensor, Scales: []float64{os}}
			if !sub {
				return slowScore(&actProblem{rows: rows, cols: out, target: p.target, values: y, tok: tok}, alt)
			}
			var tg, vs []float64
			for r := 0; r < rows; r += stride {
				tg = append(tg, p.target[r*out:(r+1)*out]...)
				vs = append(vs, y[r*out:(r+1)*out]...)
			}
			return slowScore(&actProblem{rows: len(tg) / out, cols: out, target: tg, values: vs, tok: tok}, alt)
		}
		scaled := func(r float64) []float64 {
			s := make([]float64, len(wInit))
			for i := range s {
				s[i] = wInit[i] * r
			}
			return s
		}
		bestW, bestS := 0.0, math.Inf(-1)
		for _, r := range searchRatios() {
			if s := score(scaled(r), oInit, true); s > bestS+1e-12*math.Abs(s) {
				bestW, bestS = r, s
			}
		}
		bestO, bestS := 0.0, math.Inf(-1)
		for _, r := range searchRatios() {
			if s := score(scaled(bestW), oInit*r, false); s > bestS+1e-12*math.Abs(s) {
				bestO, bestS = oInit*r, s
			}
		}
		for i, s := range scaled(bestW) {
			if ws[i] != s {
				t.Fatalf("%+v: weight scale %d = %g, slow %g", tc, i, ws[i], s)
			}
		}
		if q.Scales[0] != bestO {
			t.Fatalf("%+v: output scale %g, slow %g", tc, q.Scales[0], bestO)
		}
	}
	// Bias correction.
	c := &calibrator{opt: Options{WBits: 4, Rounds: 1, Workers: 2, WeightSearchRows: rows}, rec: recipe{search: true, biasCorr: true}}
	q := &ActQuant{Bits: 8, Axis: PerTensor, Scales: []float64{MinMaxScale(maxAbs(p.target), 8)}}
	ql := c.linear(p, 4, q, false, meanRows(x, rows, in))
	wq := ql.W.Dequantize()
	y := make([]float64, rows*out)
	pq := *p
	pq.bias = ql.Bias
	pq.apply(wq, y)
	got, want := meanRows(y, rows, out), meanRows(p.target, rows, out)
	for o := range got {
		if math.Abs(got[o]-want[o]) > 1e-12*(1+math.Abs(want[o])) {
			t.Errorf("output %d: corrected mean %g, float mean %g", o, got[o], want[o])
		}
	}
}
