package scalesim

import "fmt"

// plan is the fold structure SCALE-Sim gives a GEMM on an R×C array. The
// array runs colFold × rowFold folds, column folds outermost, each foldLines
// cycles long; one cycle is one line of SCALE-Sim's demand matrices.
type plan struct {
	df               Dataflow
	R, C             int64
	M, K, N          int64
	T                int64 // temporal dimension: K for OS, M for WS, N for IS
	sr, sc           int64 // spatial dimensions mapped on the rows and the columns
	rowFold, colFold int64
	foldLines        int64
}

func newPlan(df Dataflow, rows, cols, m, k, n int) plan {
	p := plan{df: df, R: int64(rows), C: int64(cols), M: int64(m), K: int64(k), N: int64(n)}
	switch df {
	case OutputStationary:
		p.sr, p.sc, p.T = p.M, p.N, p.K
		p.foldLines = p.T + p.R + p.C - 2
	case WeightStationary:
		p.sr, p.sc, p.T = p.K, p.N, p.M
		p.foldLines = p.T + 2*p.R + p.C - 2
	case InputStationary:
		p.sr, p.sc, p.T = p.K, p.M, p.N
		p.foldLines = p.T + 2*p.R + p.C - 2
	}
	p.rowFold = ceilDiv64(p.sr, p.R)
	p.colFold = ceilDiv64(p.sc, p.C)
	return p
}

// used returns the rows and columns of the array fold (fc, fr) occupies.
func (p plan) used(fc, fr int64) (rows, cols int64) {
	return min(p.R, p.sr-fr*p.R), min(p.C, p.sc-fc*p.C)
}

// lines is the number of stall-free cycles plus one: the demand matrices'
// height.
func (p plan) lines() int64 { return p.rowFold * p.colFold * p.foldLines }

// sramCounts returns SCALE-Sim's SRAM read and write counts.
func (p plan) sramCounts() (ifmap, filter, ofmap int64) {
	folds := p.rowFold * p.colFold
	switch p.df {
	case OutputStationary:
		// SCALE-Sim adds R + C per fold to the ofmap writes.
		return p.K * p.M * p.colFold, p.K * p.N * p.rowFold, p.M*p.N + folds*(p.R+p.C)
	case WeightStationary:
		return p.M * p.K * p.colFold, p.K * p.N, p.M * p.N * p.rowFold
	}
	return p.K * p.M, p.N * p.K * p.colFold, p.M * p.N * p.rowFold
}

// efficiency returns SCALE-Sim's mapping efficiency and compute utilization
// in percent: per-fold fractions averaged over the folds in SCALE-Sim's
// order, with its float arithmetic.
func (p plan) efficiency() (mapping, compute float64) {
	foldCycles := p.T + p.R + p.C - 2 // OS
	if p.df != OutputStationary {
		foldCycles = p.T + 2*p.R + 2*p.C - 3
	}
	pe := p.R * p.C
	var sumMap, sumUtil float64
	for fc := int64(0); fc < p.colFold; fc++ {
		for fr := int64(0); fr < p.rowFold; fr++ {
			rows, cols := p.used(fc, fr)
			mac := rows * cols
			sumMap += trueDiv(mac, pe)
			sumUtil += trueDiv(mac*p.T, pe*foldCycles)
		}
	}
	folds := float64(p.rowFold * p.colFold)
	return sumMap / folds * 100, sumUtil / folds * 100
}

// readStream serves one read operand's demand, line by line, from its
// buffer.
type readStream interface {
	// serve presents line t of fold (fc, fr) to the buffer. It reports
	// whether the line reads any word and whether any word missed.
	serve(fc, fr, t int64) (demanded, missed bool)
	// next returns the first line at or after t that may miss, lines before
	// it reading nothing or only words in the buffer's window; lines is
	// returned when no line of the fold may miss.
	next(fc, fr, t, lines int64) int64
	// reads returns the first and last line in [t0, t1) that read any
	// word, and whether there is one.
	reads(fc, fr, t0, t1 int64) (first, last int64, ok bool)
	buffer() *readBuf
}

// skewedStream is a streaming operand: line t of a fold reads the part of
// one anti-diagonal of its fold block that lies in the block.
type skewedStream struct {
	g     skewed
	block func(fc, fr int64) int64
	delay int64    // lines before the fold's first word arrives
	list  *listing // the words one by one, when the closed form cannot place them
	buf   readBuf
}

func (s *skewedStream) buffer() *readBuf { return &s.buf }

// span returns the lines of fold (fc, fr) that read words, and the block.
func (s *skewedStream) span(fc, fr int64) (first, last, b int64) {
	b = s.block(fc, fr)
	return s.delay, s.delay + s.g.H + s.g.width(b) - 2, b
}

// cells returns the cells line t of block b reads, t being in the span:
// those of diagonal d in columns clo … chi.
func (s *skewedStream) cells(b, t int64) (d, clo, chi int64) {
	lt := t - s.delay
	return b*s.g.H + lt, max(0, lt-s.g.H+1), min(s.g.W-1, lt, s.g.width(b)-1)
}

// rng returns the real positions of the first and last word line t of
// block b reads; last < first when the line reads none.
func (s *skewedStream) rng(b, t int64) (p0, p1 int64) {
	d, clo, chi := s.cells(b, t)
	if s.list == nil {
		p0 = s.g.pos(d, clo)
		return p0, p0 + chi - clo
	}
	i0 := s.g.index(d, clo)
	return s.list.ranks(i0, i0+chi-clo)
}

func (s *skewedStream) serve(fc, fr, t int64) (bool, bool) {
	first, last, b := s.span(fc, fr)
	if t < first || t > last {
		return false, false
	}
	if s.list == nil {
		p0, p1 := s.rng(b, t)
		return true, s.buf.touch(p0, p1)
	}
	d, clo, chi := s.cells(b, t)
	i0 := s.g.index(d, clo)
	return s.list.serve(&s.buf, i0, i0+chi-clo)
}

func (s *skewedStream) next(fc, fr, t, lines int64) int64 {
	first, last, b := s.span(fc, fr)
	if t > last {
		return lines
	}
	if t <= first {
		return first // a fold's first line may reach back before the window
	}
	// Within a fold the lines read increasing positions, so the first miss
	// is the first line reaching the set after the window's end as seen
	// from the set the previous line ended in, if that set is in the window
	// (a listed word may have hit through another copy of its address).
	_, p := s.rng(b, t-1)
	sc := p / s.buf.eps
	if p < 0 || !s.buf.in(sc) {
		return t
	}
	off := sc - s.buf.a
	if off < 0 {
		off += s.buf.n
	}
	limit := (sc + s.buf.active - off) * s.buf.eps // first position outside
	if limit >= s.buf.real {
		return lines
	}
	// Binary search for the first line in [t, last] reaching limit.
	lo, hi := t, last+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if _, p1 := s.rng(b, mid); p1 >= limit {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo > last {
		return lines
	}
	return lo
}

func (s *skewedStream) reads(fc, fr, t0, t1 int64) (int64, int64, bool) {
	first, last, b := s.span(fc, fr)
	lo, hi := max(t0, first), min(t1-1, last)
	if s.list != nil {
		// Lines whose cells all lie outside the input read nothing.
		for ; lo <= hi; lo++ {
			if p0, p1 := s.rng(b, lo); p1 >= p0 {
				break
			}
		}
		for ; hi >= lo; hi-- {
			if p0, p1 := s.rng(b, hi); p1 >= p0 {
				break
			}
		}
	}
	return lo, hi, lo <= hi
}

// stationaryStream is a stationary operand: the first R lines of a fold
// read the fold's block rows, last row first.
type stationaryStream struct {
	g    stacked
	R    int64
	list *listing // the words one by one, when the closed form cannot place them
	buf  readBuf
}

func (s *stationaryStream) buffer() *readBuf { return &s.buf }

// span returns the lines of fold row fr that read a block row: line t
// reads row fr·R + R − 1 − t, which must be a real row.
func (s *stationaryStream) span(fr int64) (first, last int64) {
	return max(0, fr*s.R+s.R-s.g.H), s.R - 1
}

// rows returns the real positions of the first and last word of block b's
// rows r0 … r1; last < first when they hold none.
func (s *stationaryStream) rows(b, r0, r1 int64) (p0, p1 int64) {
	if s.list == nil {
		return s.g.pos(b, r0, 0), s.g.pos(b, r1, s.g.width(b)-1)
	}
	return s.list.ranks(s.g.index(b, r0, 0), s.g.index(b, r1, s.g.width(b)-1))
}

func (s *stationaryStream) serve(fc, fr, t int64) (bool, bool) {
	if first, last := s.span(fr); t < first || t > last {
		return false, false
	}
	row := fr*s.R + s.R - 1 - t
	if s.list == nil {
		p0, p1 := s.rows(fc, row, row)
		return true, s.buf.touch(p0, p1)
	}
	return s.list.serve(&s.buf, s.g.index(fc, row, 0), s.g.index(fc, row, s.g.width(fc)-1))
}

// next returns lines when every word the fold still reads lies in the
// window, and otherwise the next line with demand: the R lines of a fold
// read backwards through the order, so each is then served on its own.
func (s *stationaryStream) next(fc, fr, t, lines int64) int64 {
	first, last := s.span(fr)
	if t > last {
		return lines
	}
	t = max(t, first)
	// Lines t … last read rows fr·R+R−1−last … fr·R+R−1−t of block fc.
	p0, p1 := s.rows(fc, fr*s.R+s.R-1-last, fr*s.R+s.R-1-t)
	if p1 < p0 || s.buf.covers(p0, p1) {
		return lines
	}
	return t
}

func (s *stationaryStream) reads(fc, fr, t0, t1 int64) (int64, int64, bool) {
	first, last := s.span(fr)
	lo, hi := max(t0, first), min(t1-1, last)
	if s.list != nil {
		row := func(t int64) int64 { return fr*s.R + s.R - 1 - t }
		for ; lo <= hi; lo++ {
			if p0, p1 := s.rows(fc, row(lo), row(lo)); p1 >= p0 {
				break
			}
		}
		for ; hi >= lo; hi-- {
			if p0, p1 := s.rows(fc, row(hi), row(hi)); p1 >= p0 {
				break
			}
		}
	}
	return lo, hi, lo <= hi
}

// sizes returns the three buffers' capacities in words.
func (c Config) sizes() (ifmap, filter, ofmap int64) {
	w := int64(c.wordBytes())
	return int64(c.IfmapKiB) * 1024 / w, int64(c.FilterKiB) * 1024 / w, int64(c.OfmapKiB) * 1024 / w
}

// streams builds the two read streams of a GEMM, in ifmap, filter order.
func (p plan) streams(c Config) (ifmap, filter readStream) {
	isz, fsz, _ := c.sizes()
	bw := int64(c.Bandwidth)
	byRow := func(fc, fr int64) int64 { return fr }
	byCol := func(fc, fr int64) int64 { return fc }
	skew := func(F, T, W, v int64, block func(fc, fr int64) int64, delay, size int64) *skewedStream {
		g := skewed{stack{F: F, H: T, W: W, vlast: v}}
		return &skewedStream{g: g, block: block, delay: delay, buf: newReadBuf(size, bw, g.real(), g.all())}
	}
	stat := func(F, Kr, W, v, size int64) *stationaryStream {
		g := stacked{stack{F: F, H: Kr, W: W, vlast: v}}
		return &stationaryStream{g: g, R: p.R, buf: newReadBuf(size, bw, g.real(), g.all())}
	}
	lastWidth := func(total, width, folds int64) int64 { return total - (folds-1)*width }
	switch p.df {
	case OutputStationary:
		return skew(p.rowFold, p.K, p.R, lastWidth(p.M, p.R, p.rowFold), byRow, 0, isz),
			skew(p.colFold, p.K, p.C, lastWidth(p.N, p.C, p.colFold), byCol, 0, fsz)
	case WeightStationary:
		return skew(p.rowFold, p.M, p.R, lastWidth(p.K, p.R, p.rowFold), byRow, p.R, isz),
			stat(p.colFold, p.K, p.C, lastWidth(p.N, p.C, p.colFold), fsz)
	}
	return stat(p.colFold, p.K, p.C, lastWidth(p.M, p.C, p.colFold), isz),
		skew(p.rowFold, p.N, p.R, lastWidth(p.K, p.R, p.rowFold), byRow, p.R, fsz)
}

// outputWindow describes the outputs of a fold: line x hands over one
// output for each column c < cols with u0 ≤ x − c < u0 + h.
func (p plan) outputWindow(fc, fr int64) (u0, h, cols int64) {
	rows, cols := p.used(fc, fr)
	if p.df == OutputStationary {
		return p.T - 1 + p.R - rows, rows, cols
	}
	return 2*p.R - 1, p.T, cols
}

// outputsBefore returns the outputs lines 0 … t−1 of fold (fc, fr) hand
// over.
func (p plan) outputsBefore(fc, fr, t int64) int64 {
	u0, h, cols := p.outputWindow(fc, fr)
	return sumClamp(t-u0-(cols-1), t-u0, h)
}

// outputs returns how many outputs line t of fold (fc, fr) hands to the
// ofmap buffer. OS drains a fold's R×C results skewed after its T cycles;
// WS and IS emit a row of partial sums per cycle after a 2R−1 cycle fill.
func (p plan) outputs(fc, fr, t int64) int64 {
	u0, h, cols := p.outputWindow(fc, fr)
	return max(0, min(cols-1, t-u0)-max(0, t-u0-h+1)+1)
}

// sramSpan tracks the first and last cycle at which an operand's SRAM is
// accessed.
type sramSpan struct {
	start, stop int64
	seen        bool
}

func (s *sramSpan) at(cyc int64) {
	if !s.seen {
		s.start, s.seen = cyc, true
	}
	s.stop = cyc
}

// timing is the state of one layer's simulation.
type timing struct {
	p             plan
	ifmap, filter readStream
	ib, fb        *readBuf
	wb            writeBuf
	stall, total  int64
	iSpan, fSpan  sramSpan
	oSpan         sramSpan
	lastLine      int64

	// wNext caches writeNext's answer, which holds until the write buffer
	// acts, the array stalls or the fold ends; −1 when unknown.
	wNext int64
}

// simulate runs one layer over the given read streams and fills in the
// cycle and traffic fields of a report. It serves individually only the
// lines where something can happen (a possible miss, a drain, a stall, the
// end of a drain) and passes over the lines between them in one step.
func (p plan) simulate(c Config, ifmap, filter readStream) LayerReport {
	return p.simulateLines(c, ifmap, filter, false)
}

// simulateLines is simulate; with lineByLine it serves every line on its
// own, as SCALE-Sim does (the tests' reference).
func (p plan) simulateLines(c Config, ifmap, filter readStream, lineByLine bool) LayerReport {
	_, _, osz := c.sizes()
	s := &timing{p: p, ifmap: ifmap, filter: filter, ib: ifmap.buffer(), fb: filter.buffer(),
		wb: newWriteBuf(osz, int64(c.Bandwidth)), lastLine: p.lines() - 1, wNext: -1}
	L := p.foldLines
	var base int64 // first line of the fold
	for fc := int64(0); fc < p.colFold; fc++ {
		for fr := int64(0); fr < p.rowFold; fr++ {
			lastFold := fc == p.colFold-1 && fr == p.rowFold-1
			for t := int64(0); t < L; {
				s.step(fc, fr, t, base)
				t++
				if t == L || lineByLine {
					continue
				}
				next := min(ifmap.next(fc, fr, t, L), filter.next(fc, fr, t, L), s.writeNext(fc, fr, t, base))
				if lastFold {
					next = min(next, L-1) // the last line gives the total
				}
				if next > t {
					s.pass(fc, fr, t, next, base)
					t = next
				}
			}
			base += L
			s.wNext = -1
		}
	}
	s.wb.flush(s.total)
	return p.report(c, s.total, s.stall, s.iSpan, s.fSpan, s.oSpan, s.ib.dram(), s.fb.dram(), s.wb.dram)
}

// step serves line t of fold (fc, fr) as SCALE-Sim does: both reads and the
// writes are issued at the same cycle, and the line stalls the array by the
// largest of their delays.
func (s *timing) step(fc, fr, t, base int64) {
	cyc := base + t + s.stall
	var si, sf, so int64
	if dem, miss := s.ifmap.serve(fc, fr, t); dem {
		if miss {
			si = s.ib.stall(cyc)
		}
		s.iSpan.at(cyc + 1 + si)
	}
	if dem, miss := s.filter.serve(fc, fr, t); dem {
		if miss {
			sf = s.fb.stall(cyc)
		}
		s.fSpan.at(cyc + 1 + sf)
	}
	if v := s.p.outputs(fc, fr, t); v > 0 {
		if t >= s.wNext {
			s.wNext = -1 // the buffer may act at this line
		}
		so = s.wb.write(cyc, v)
		s.oSpan.at(cyc + so)
	}
	if base+t == s.lastLine {
		s.total = cyc + so
	}
	if st := max(si, sf, so); st > 0 {
		s.stall += st
		s.wNext = -1
	}
}

// writeNext returns the first line at or after t at which the write buffer
// may act: the line whose outputs fill it during a drain, the line at which
// a drain ends, or the line whose outputs pass its drain threshold.
//
// The answer does not move while the buffer only stores: the outputs still
// to come before the event shrink by what each line stores.
func (s *timing) writeNext(fc, fr, t, base int64) int64 {
	if s.wNext >= t {
		return s.wNext
	}
	s.wNext = s.findWriteEvent(fc, fr, t, base)
	return s.wNext
}

func (s *timing) findWriteEvent(fc, fr, t, base int64) int64 {
	L := s.p.foldLines
	before := s.p.outputsBefore(fc, fr, t)
	// find returns the first line in [t, end) by which e outputs have been
	// handed over, or end.
	find := func(e, end int64) int64 {
		lo, hi := t, end
		for lo < hi {
			mid := lo + (hi-lo)/2
			if s.p.outputsBefore(fc, fr, mid+1)-before >= e {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		return lo
	}
	w := &s.wb
	if cyc := base + t + s.stall; cyc < w.drainEnd {
		end := min(L, w.drainEnd-s.stall-base)
		return find(max(1, w.free), end)
	}
	return find(max(1, w.free-w.activeWords+1), L)
}

// pass passes over lines [t0, t1) of fold (fc, fr), at which no buffer acts.
func (s *timing) pass(fc, fr, t0, t1, base int64) {
	cyc := base + s.stall // cycle of line 0 of the fold, no stall arising
	if first, last, ok := s.ifmap.reads(fc, fr, t0, t1); ok {
		s.iSpan.at(cyc + first + 1)
		s.iSpan.at(cyc + last + 1)
	}
	if first, last, ok := s.filter.reads(fc, fr, t0, t1); ok {
		s.fSpan.at(cyc + first + 1)
		s.fSpan.at(cyc + last + 1)
	}
	if v := s.p.outputsBefore(fc, fr, t1) - s.p.outputsBefore(fc, fr, t0); v > 0 {
		s.wb.store(v)
		u0, h, cols := s.p.outputWindow(fc, fr)
		s.oSpan.at(cyc + max(t0, u0))
		s.oSpan.at(cyc + min(t1-1, u0+h-1+cols-1))
	}
}

// report assembles a LayerReport from the simulated figures.
func (p plan) report(c Config, total, stall int64, i, f, o sramSpan, di, df, do Access) LayerReport {
	ir, fr, ow := p.sramCounts()
	mapping, compute := p.efficiency()
	return LayerReport{
		M: int(p.M), K: int(p.K), N: int(p.N),
		TotalCycles:     total,
		StallCycles:     stall,
		OverallUtilPct:  overallUtil(p.M*p.N, p.K, total, p.R*p.C),
		MappingEffPct:   mapping,
		ComputeUtilPct:  compute,
		SRAMIfmapReads:  Access{Start: i.start, Stop: i.stop, Words: ir},
		SRAMFilterReads: Access{Start: f.start, Stop: f.stop, Words: fr},
		SRAMOfmapWrites: Access{Start: o.start, Stop: o.stop, Words: ow},
		DRAMIfmapReads:  di,
		DRAMFilterReads: df,
		DRAMOfmapWrites: do,
	}
}

// overallUtil is SCALE-Sim's "Overall Util %": MACs·100 over total cycles
// times PEs, divided as Python divides integers.
func overallUtil(mn, k, total, pe int64) float64 {
	const exact = 1 << 53
	if mn <= exact/100/k && total <= exact/pe {
		return trueDiv(mn*k*100, total*pe)
	}
	return trueDivBig(mul(mn, k, 100), mul(total, pe))
}

// SimulateLayer returns SCALE-Sim's report for one layer.
func SimulateLayer(c Config, l Layer) (LayerReport, error) {
	if err := c.Validate(); err != nil {
		return LayerReport{}, err
	}
	if err := l.Validate(); err != nil {
		return LayerReport{}, err
	}
	m, k, n := l.GEMM()
	p := newPlan(c.Dataflow, c.Rows, c.Cols, m, k, n)
	if p.lines() < 2 {
		return LayerReport{}, fmt.Errorf("layer %s: a %d×%d×%d GEMM on a %d×%d array runs in zero cycles, which SCALE-Sim divides by",
			l.Name, m, k, n, c.Rows, c.Cols)
	}
	ifmap, filter := p.streams(c)
	if !l.rangeForm() {
		ifmap, filter = p.listedStreams(c, l)
	}
	r := p.simulate(c, ifmap, filter)
	r.Name = l.Name
	return r, nil
}

// Run simulates every layer and returns the report SCALE-Sim writes for the
// run. Layers are independent: SCALE-Sim starts each with empty buffers.
func Run(c Config, layers []Layer) (Report, error) {
	if err := c.Validate(); err != nil {
		return Report{}, err
	}
	rep := Report{RunName: c.RunName, Layers: make([]LayerReport, 0, len(layers))}
	for i, l := range layers {
		r, err := SimulateLayer(c, l)
		if err != nil {
			return Report{}, fmt.Errorf("layer %d: %w", i, err)
		}
		rep.Layers = append(rep.Layers, r)
	}
	return rep, nil
}
