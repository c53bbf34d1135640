package quant

import (
	"math"
	"runtime"

	"github.com/vimsim/vimsim/internal/num"
	"github.com/vimsim/vimsim/internal/par"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Grid of the similarity search (§2.1): candidate scales s0·(α + i(β−α)/n)
// for i = 0..n−1, i.e. ratios in [0.01, 1.2) (the official loops stop at
// i = 99, so the top ratio is 1.1881, §9 item 8).
const (
	gridAlpha = 0.01
	gridBeta  = 1.2
	gridN     = 100
)

// cosEps guards the norms of the cosine similarity, as torch's
// F.cosine_similarity does.
const cosEps = 1e-8

// searchRatios returns the candidate ratios of the grid.
func searchRatios() []float64 {
	r := make([]float64, gridN)
	for i := range r {
		r[i] = gridAlpha + float64(i)*(gridBeta-gridAlpha)/gridN
	}
	return r
}

// cosine returns a·b / (max(‖a‖,ε)·max(‖b‖,ε)).
func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i, x := range a {
		y := b[i]
		ab += x * y
		aa += x * x
		bb += y * y
	}
	return ab / (math.Max(math.Sqrt(aa), cosEps) * math.Max(math.Sqrt(bb), cosEps))
}

// actProblem holds the data of one activation quantizer's scale search:
// rows of the float target and of the values to quantize (rows×cols,
// row-major), and the token index of each row (for token groups). The
// candidate output is Q(values)·mul + add, compared row by row with the
// target by cosine similarity along the columns (§2.1).
type actProblem struct {
	rows, cols int
	target     []float64
	values     []float64
	tok        []int     // token of each row; needed for PerToken quantizers
	mul        []float64 // per-column factor after dequantization; nil = 1
	add        []float64 // rows×cols term added after; nil = 0
}

// actSearch is the coordinate-descent state of a grouped scale search: the
// per-row, per-group partial sums of target·candidate and candidate² under
// the current scales.
type actSearch struct {
	p       *actProblem
	q       *ActQuant
	init    []float64 // min-max scale of each group: the grid is s0·ratio
	k       int
	tnorm   []float64 // max(‖target row‖, ε)
	dot, qq []float64 // rows×k partial sums
	rowsOf  [][]int   // PerToken: rows of each group
	colsOf  [][]int   // PerChannel: columns of each group
	lo, hi  float64
	workers int
}

func newActSearch(p *actProblem, q *ActQuant, init []float64, workers int) *actSearch {
	s := &actSearch{p: p, q: q, init: init, k: len(q.Scales), workers: workers}
	s.lo, s.hi = QRange(q.Bits)
	s.tnorm = make([]float64, p.rows)
	for r := range s.tnorm {
		t := p.target[r*p.cols : (r+1)*p.cols]
		var n float64
		for _, x := range t {
			n += x * x
		}
		s.tnorm[r] = math.Max(math.Sqrt(n), cosEps)
	}
	switch q.Axis {
	case PerToken:
		s.rowsOf = make([][]int, s.k)
		for r := 0; r < p.rows; r++ {
			g := q.Group[p.tok[r]]
			s.rowsOf[g] = append(s.rowsOf[g], r)
		}
	case PerChannel:
		s.colsOf = make([][]int, s.k)
		for c := 0; c < p.cols; c++ {
			s.colsOf[q.Group[c]] = append(s.colsOf[q.Group[c]], c)
		}
	}
	s.dot = make([]float64, p.rows*s.k)
	s.qq = make([]float64, p.rows*s.k)
	for g := 0; g < s.k; g++ {
		s.refresh(g)
	}
	return s
}

// fqInv is the fake-quantized v at scale sc, inv = 1/sc. The searches
// multiply by the reciprocal (the forward divides): the codes differ only
// when v/sc is within an ulp of a rounding tie.
func fqInv(v, inv, sc, lo, hi float64) float64 {
	x := v * inv
	if x < lo {
		x = lo
	} else if x > hi {
		x = hi
	}
	return ((x + roundMagic) - roundMagic) * sc
}

// partial computes the partial sums of group g in row r at scale sc.
func (s *actSearch) partial(r, g int, sc float64) (dot, qq float64) {
	p := s.p
	base := r * p.cols
	t := p.target[base : base+p.cols]
	vals := p.values[base : base+p.cols]
	inv, lo, hi := 1/sc, s.lo, s.hi
	plain := p.mul == nil && p.add == nil
	if s.q.Axis == PerChannel {
		for _, c := range s.colsOf[g] {
			v := fqInv(vals[c], inv, sc, lo, hi)
			if !plain {
				v = s.extra(v, base, c)
			}
			dot += t[c] * v
			qq += v * v
		}
		return dot, qq
	}
	if plain {
		vals = vals[:len(t)]
		for c, x := range t {
			v := fqInv(vals[c], inv, sc, lo, hi)
			dot += x * v
			qq += v * v
		}
		return dot, qq
	}
	for c, x := range t {
		v := s.extra(fqInv(vals[c], inv, sc, lo, hi), base, c)
		dot += x * v
		qq += v * v
	}
	return dot, qq
}

// extra applies the column factor and the additive term to a dequantized
// value of element (row base, column c).
func (s *actSearch) extra(v float64, base, c int) float64 {
	if s.p.mul != nil {
		v *= s.p.mul[c]
	}
	if s.p.add != nil {
		v += s.p.add[base+c]
	}
	return v
}

// refresh recomputes the partial sums of group g at its current scale.
func (s *actSearch) refresh(g int) {
	sc := s.q.Scales[g]
	if s.q.Axis == PerToken {
		for _, r := range s.rowsOf[g] {
			s.dot[r*s.k+g], s.qq[r*s.k+g] = s.partial(r, g, sc)
		}
		return
	}
	for r := 0; r < s.p.rows; r++ {
		s.dot[r*s.k+g], s.qq[r*s.k+g] = s.partial(r, g, sc)
	}
}

// rowCos returns the cosine of row r with group g's partial sums replaced.
func (s *actSearch) rowCos(r, g int, dg, qg float64) float64 {
	var dot, qq float64
	for h := 0; h < s.k; h++ {
		if h == g {
			dot += dg
			qq += qg
		} else {
			dot += s.dot[r*s.k+h]
			qq += s.qq[r*s.k+h]
		}
	}
	return dot / (s.tnorm[r] * math.Max(math.Sqrt(qq), cosEps))
}

// score returns the summed cosine over all rows with group g at scale sc;
// base is the summed cosine of the rows without elements of group g.
func (s *actSearch) score(g int, sc, base float64) float64 {
	total := base
	if s.q.Axis == PerToken {
		for _, r := range s.rowsOf[g] {
			d, q := s.partial(r, g, sc)
			total += s.rowCos(r, g, d, q)
		}
		return total
	}
	for r := 0; r < s.p.rows; r++ {
		d, q := s.partial(r, g, sc)
		total += s.rowCos(r, g, d, q)
	}
	return total
}

// base returns the summed cosine of the rows that hold no element of group
// g (only token groups leave rows out).
func (s *actSearch) base(g int) float64 {
	if s.q.Axis != PerToken {
		return 0
	}
	var total float64
	for r := 0; r < s.p.rows; r++ {
		if s.q.Group[s.p.tok[r]] != g {
			total += s.rowCos(r, -1, 0, 0)
		}
	}
	return total
}

// round searches each group's scale in turn over the grid, the other groups
// fixed (§4.3 step 2).
func (s *actSearch) round(ratios []float64) {
	scores := make([]float64, len(ratios))
	for g := 0; g < s.k; g++ {
		if s.q.Axis == PerToken && len(s.rowsOf[g]) == 0 {
			continue // no calibration row in this group: keep the min-max scale
		}
		base := s.base(g)
		par.ForWorker(len(ratios), s.workers, func(_, i int) {
			scores[i] = s.score(g, s.init[g]*ratios[i], base)
		})
		s.q.Scales[g] = s.init[g] * ratios[num.Argmax(scores)]
		s.refresh(g)
	}
}

// snapPow2 makes the scales power-of-two related to the first group's:
// s_g ← s_0·2^round(log2(s_g/s_0)) (§4.3 step 3), and refreshes the sums.
func (s *actSearch) snapPow2() {
	snapPow2(s.q)
	for g := 1; g < s.k; g++ {
		s.refresh(g)
	}
}

// snapPow2 snaps q's scales to s_0·2^e_g and records the exponents.
func snapPow2(q *ActQuant) {
	q.Exp = make([]int, len(q.Scales))
	s0 := q.Scales[0]
	for g := 1; g < len(q.Scales); g++ {
		e := int(math.RoundToEven(math.Log2(q.Scales[g] / s0)))
		e = max(-60, min(60, e))
		q.Exp[g] = e
		q.Scales[g] = math.Ldexp(s0, e)
	}
}

// searchAct runs rounds of the grouped similarity search on q, whose scales
// hold the initial (min-max) scale of each group on entry; pow2 snaps the
// scales after every round.
func searchAct(p *actProblem, q *ActQuant, rounds int, pow2 bool, workers int) {
	init := append([]float64(nil), q.Scales...)
	s := newActSearch(p, q, init, workers)
	ratios := searchRatios()
	for r := 0; r < rounds; r++ {
		s.round(ratios)
		if pow2 {
			s.snapPow2()
		}
	}
	if pow2 && rounds == 0 {
		snapPow2(q)
	}
}

// linProblem holds the data of one linear layer's search: sampled input
// rows x (rows×in), the float weight w (out×in), its bias, the token index
// of each row and the float target x·wᵀ + b.
type linProblem struct {
	rows, in, out int
	x, w, bias    []float64
	tok           []int
	target        []float64
}

// newLinProblem computes the target of x·wᵀ + b.
func newLinProblem(rows, in, out int, x, w, bias []float64, tok []int) *linProblem {
	p := &linProblem{rows: rows, in: in, out: out, x: x, w: w, bias: bias, tok: tok,
		target: make([]float64, rows*out)}
	p.apply(w, p.target)
	return p
}

// apply computes y = x·wᵀ + bias for the problem's rows.
func (p *linProblem) apply(w, y []float64) {
	if p.rows == 0 {
		return
	}
	blas64.Implementation().Dgemm(blas.NoTrans, blas.Trans, p.rows, p.out, p.in, 1, p.x, p.in, w, p.in, 0, y, p.out)
	if p.bias != nil {
		for r := 0; r < p.rows; r++ {
			row := y[r*p.out : (r+1)*p.out]
			for j := range row {
				row[j] += p.bias[j]
			}
		}
	}
}

// meanCosQuantized returns the summed row cosine between target and
// Q(values) under q.
func meanCosQuantized(target, values []float64, rows, cols int, tok []int, q *ActQuant, buf []float64) float64 {
	lo, hi := QRange(q.Bits)
	var total float64
	for r := 0; r < rows; r++ {
		src := values[r*cols : (r+1)*cols]
		out := buf[:cols]
		switch q.Axis {
		case PerTensor:
			sc := q.Scales[0]
			for c, v := range src {
				out[c] = roundClamp(v/sc, lo, hi) * sc
			}
		case PerToken:
			sc := q.Scales[q.Group[tok[r]]]
			for c, v := range src {
				out[c] = roundClamp(v/sc, lo, hi) * sc
			}
		case PerChannel:
			for c, v := range src {
				sc := q.Scales[q.Group[c]]
				out[c] = roundClamp(v/sc, lo, hi) * sc
			}
		}
		total += cosine(target[r*cols:(r+1)*cols], out)
	}
	return total
}

// subset returns the problem restricted to every stride-th row, stride
// chosen so that at most maxRows rows remain (p itself when it is small).
func (p *linProblem) subset(maxRows int) *linProblem {
	if maxRows <= 0 || p.rows <= maxRows {
		return p
	}
	stride := (p.rows + maxRows - 1) / maxRows
	q := &linProblem{in: p.in, out: p.out, w: p.w, bias: p.bias}
	for r := 0; r < p.rows; r += stride {
		q.x = append(q.x, p.x[r*p.in:(r+1)*p.in]...)
		q.target = append(q.target, p.target[r*p.out:(r+1)*p.out]...)
		q.tok = append(q.tok, p.tok[r])
		q.rows++
	}
	return q
}

// searchLinear runs the coordinate-descent search of one linear layer
// (§2.1): each round searches the weight scale (all output rows share the
// ratio when the weight is per-channel) with the output quantizer fixed,
// on at most wRows of the rows, then the output scales group by group on
// all rows, then snaps them to powers of two when pow2 is set. q holds the
// initial output scales on entry and the searched ones on return; the
// weight scales are returned.
func searchLinear(p *linProblem, wBits int, wInit []float64, wRows int, q *ActQuant, rounds int, pow2 bool, workers int) []float64 {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ratios := searchRatios()
	oInit := append([]float64(nil), q.Scales...)
	wScales := append([]float64(nil), wInit...)
	wq := make([]float64, len(p.w))
	yc := make([]float64, p.rows*p.out)
	scaled := func(ratio float64) []float64 {
		s := make([]float64, len(wInit))
		for i, v := range wInit {
			s[i] = v * ratio
		}
		return s
	}
	ws := p.subset(wRows)
	type scratch struct{ wq, yc, buf []float64 }
	pool := make([]scratch, workers)
	for r := 0; r < rounds; r++ {
		scores := make([]float64, len(ratios))
		par.ForWorker(len(ratios), workers, func(w, i int) {
			sc := &pool[w]
			if sc.wq == nil {
				sc.wq = make([]float64, len(ws.w))
				sc.yc = make([]float64, ws.rows*ws.out)
				sc.buf = make([]float64, ws.out)
			}
			fakeQuantWeight(sc.wq, ws.w, ws.out, ws.in, wBits, scaled(ratios[i]))
			ws.apply(sc.wq, sc.yc)
			scores[i] = meanCosQuantized(ws.target, sc.yc, ws.rows, ws.out, ws.tok, q, sc.buf)
		})
		wScales = scaled(ratios[num.Argmax(scores)])
		fakeQuantWeight(wq, p.w, p.out, p.in, wBits, wScales)
		p.apply(wq, yc)
		s := newActSearch(&actProblem{rows: p.rows, cols: p.out, target: p.target, values: yc, tok: p.tok}, q, oInit, workers)
		s.round(ratios)
		if pow2 {
			s.snapPow2()
		}
	}
	if pow2 && rounds == 0 {
		snapPow2(q)
	}
	return wScales
}
