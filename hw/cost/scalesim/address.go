package scalesim

// This file is the address-level path: it builds SCALE-Sim's operand
// address matrices, prefetch orders and per-fold demand blocks as SCALE-Sim
// defines them, and serves every address on its own. It is what a
// convolution whose im2col matrix repeats or omits ifmap addresses needs,
// and the tests use it as the slow, literal reference for the range form.

// rangeForm reports whether every ifmap word appears exactly once in the
// layer's im2col matrix, so that the range form applies: windows do not
// overlap and none runs past the edge. GEMM layers always qualify.
func (l Layer) rangeForm() bool {
	oh, ow := l.OfmapDims()
	inside := (oh-1)*l.StrideH+l.FilterH <= l.IfmapH && (ow-1)*l.StrideW+l.FilterW <= l.IfmapW
	apart := (l.StrideH >= l.FilterH || oh == 1) && (l.StrideW >= l.FilterW || ow == 1)
	return inside && apart
}

// operands holds the layer's ifmap (M×K) and filter (K×N) address matrices
// relative to their offsets, −1 marking an ifmap word outside the input.
type operands struct {
	M, K, N int64
	ifmap   []int64 // row-major M×K
	filter  []int64 // row-major K×N
}

func newOperands(l Layer) operands {
	m, k, n := l.GEMM()
	o := operands{M: int64(m), K: int64(k), N: int64(n)}
	_, ow := l.OfmapDims()
	o.ifmap = make([]int64, o.M*o.K)
	for i := int64(0); i < o.M; i++ {
		orow, ocol := i/int64(ow), i%int64(ow)
		irow, icol := orow*int64(l.StrideH), ocol*int64(l.StrideW)
		for j := int64(0); j < o.K; j++ {
			crow, rest := j/int64(l.FilterW*l.Channels), j%int64(l.FilterW*l.Channels)
			ccol, ch := rest/int64(l.Channels), rest%int64(l.Channels)
			a := int64(-1)
			if crow+irow < int64(l.IfmapH) && ccol+icol < int64(l.IfmapW) {
				a = ((crow+irow)*int64(l.IfmapW)+ccol+icol)*int64(l.Channels) + ch
			}
			o.ifmap[i*o.K+j] = a
		}
	}
	o.filter = make([]int64, o.K*o.N)
	for i := int64(0); i < o.K; i++ {
		for j := int64(0); j < o.N; j++ {
			o.filter[i*o.N+j] = j*o.K + i
		}
	}
	return o
}

// matrix is a dense row-major matrix of addresses, −1 for none.
type matrix struct {
	rows, cols int64
	a          []int64
}

func newMatrix(rows, cols int64) matrix {
	m := matrix{rows: rows, cols: cols, a: make([]int64, rows*cols)}
	for i := range m.a {
		m.a[i] = -1
	}
	return m
}

func (m matrix) at(r, c int64) int64     { return m.a[r*m.cols+c] }
func (m matrix) set(r, c int64, v int64) { m.a[r*m.cols+c] = v }

// rollout reads a matrix along anti-diagonals, highest row first.
func (m matrix) rollout() []int64 {
	out := make([]int64, 0, len(m.a))
	for d := int64(0); d < m.rows+m.cols-1; d++ {
		for r := min(d, m.rows-1); r >= max(0, d-m.cols+1); r-- {
			out = append(out, m.at(r, d-r))
		}
	}
	return out
}

// addressStream serves an operand's demand address by address.
type addressStream struct {
	buf readBuf
	// setStart/sets: for address a, the sets holding it are
	// sets[setStart[a]:setStart[a+1]] in increasing order.
	setStart []int64
	sets     []int64
	// demand returns the address that column c of line t of fold (fc, fr)
	// reads, −1 for none; a line has width columns.
	demand func(fc, fr, t, c int64) int64
	width  int64
}

func (s *addressStream) buffer() *readBuf { return &s.buf }

func (s *addressStream) serve(fc, fr, t int64) (bool, bool) {
	demanded, missed := false, false
	for c := int64(0); c < s.width; c++ {
		a := s.demand(fc, fr, t, c)
		if a < 0 {
			continue
		}
		demanded = true
		for !s.hit(a) {
			s.buf.slide()
			missed = true
		}
	}
	return demanded, missed
}

func (s *addressStream) hit(a int64) bool {
	for _, set := range s.sets[s.setStart[a]:s.setStart[a+1]] {
		if s.buf.in(set) {
			return true
		}
	}
	return false
}

// newAddressStream indexes a prefetch order (addresses in [0, space), −1
// for padding or none) into sets and sizes the buffer.
func newAddressStream(order []int64, space, sizeWords, bw, width int64, demand func(fc, fr, t, c int64) int64) *addressStream {
	var real int64
	for _, a := range order {
		if a >= 0 {
			real++
		}
	}
	s := &addressStream{buf: newReadBuf(sizeWords, bw, real, int64(len(order))), demand: demand, width: width}
	// Count, then place, the (address, set) pairs; an address listed twice in
	// one set is kept once.
	s.setStart = make([]int64, space+1)
	var i int64
	last := make([]int64, space)
	for j := range last {
		last[j] = -1
	}
	for _, a := range order {
		if a < 0 {
			continue
		}
		set := i / s.buf.eps
		if last[a] != set {
			s.setStart[a+1]++
			last[a] = set
		}
		i++
	}
	for a := int64(0); a < space; a++ {
		s.setStart[a+1] += s.setStart[a]
	}
	s.sets = make([]int64, s.setStart[space])
	fill := append([]int64(nil), s.setStart[:space]...)
	for j := range last {
		last[j] = -1
	}
	i = 0
	for _, a := range order {
		if a < 0 {
			continue
		}
		set := i / s.buf.eps
		if last[a] != set {
			s.sets[fill[a]] = set
			fill[a]++
			last[a] = set
		}
		i++
	}
	return s
}

// addressStreams builds the layer's two read streams at address level,
// following SCALE-Sim's construction of prefetch orders and demand blocks.
func (p plan) addressStreams(c Config, l Layer) (ifmap, filter readStream) {
	o := newOperands(l)
	isz, fsz, _ := c.sizes()
	bw := int64(c.Bandwidth)
	ifmapSpace := int64(l.IfmapH) * int64(l.IfmapW) * int64(l.Channels)
	filterSpace := o.K * o.N
	// ifmapAt(m, k) and filterAt(k, n) read the operand matrices.
	ifmapAt := func(m, k int64) int64 { return o.ifmap[m*o.K+k] }
	filterAt := func(k, n int64) int64 { return o.filter[k*o.N+n] }

	// stack builds F blocks of rows×width, block b's column c holding
	// get(b, row, c) for the first used(b) columns and −1 after.
	stack := func(F, rows, width int64, used func(b int64) int64, get func(b, r, c int64) int64) matrix {
		m := newMatrix(F*rows, width)
		for b := int64(0); b < F; b++ {
			for r := int64(0); r < rows; r++ {
				for c := int64(0); c < used(b); c++ {
					m.set(b*rows+r, c, get(b, r, c))
				}
			}
		}
		return m
	}
	usedOf := func(total, width int64) func(b int64) int64 {
		return func(b int64) int64 { return min(width, total-b*width) }
	}
	R, C := p.R, p.C

	// A streaming operand's fold is its T rows (used real columns) with pre
	// empty rows before and some after, skewed: column c moves down c rows.
	// streamRow returns the fold row that line t reads in column c.
	streamRow := func(t, c, pre, used int64) (int64, bool) {
		r := t - c - pre
		return r, r >= 0 && r < p.T && c < used
	}
	// A stationary operand's fold is its R×C block (rows×cols real) flipped
	// upside down, then empty rows. stationaryRow returns the block row that
	// line t reads in column c.
	stationaryRow := func(t, c, rows, cols int64) (int64, bool) {
		r := R - 1 - t
		return r, r >= 0 && r < rows && c < cols
	}
	switch p.df {
	case OutputStationary:
		// ifmap: fold fr streams ifmap rows fr·R… transposed (K × R).
		iu, fu := usedOf(o.M, R), usedOf(o.N, C)
		iorder := stack(p.rowFold, o.K, R, iu, func(b, r, c int64) int64 { return ifmapAt(b*R+c, r) }).rollout()
		forder := stack(p.colFold, o.K, C, fu, func(b, r, c int64) int64 { return filterAt(r, b*C+c) }).rollout()
		ifmap = newAddressStream(iorder, ifmapSpace, isz, bw, R, func(fc, fr, t, c int64) int64 {
			if r, ok := streamRow(t, c, 0, iu(fr)); ok {
				return ifmapAt(fr*R+c, r)
			}
			return -1
		})
		filter = newAddressStream(forder, filterSpace, fsz, bw, C, func(fc, fr, t, c int64) int64 {
			if r, ok := streamRow(t, c, 0, fu(fc)); ok {
				return filterAt(r, fc*C+c)
			}
			return -1
		})
	case WeightStationary:
		iu, fu, ku := usedOf(o.K, R), usedOf(o.N, C), usedOf(o.K, R)
		iorder := stack(p.rowFold, o.M, R, iu, func(b, r, c int64) int64 { return ifmapAt(r, b*R+c) }).rollout()
		forder := stack(p.colFold, o.K, C, fu, func(b, r, c int64) int64 { return filterAt(r, b*C+c) }).a
		ifmap = newAddressStream(iorder, ifmapSpace, isz, bw, R, func(fc, fr, t, c int64) int64 {
			if r, ok := streamRow(t, c, R, iu(fr)); ok {
				return ifmapAt(r, fr*R+c)
			}
			return -1
		})
		filter = newAddressStream(forder, filterSpace, fsz, bw, C, func(fc, fr, t, c int64) int64 {
			if r, ok := stationaryRow(t, c, ku(fr), fu(fc)); ok {
				return filterAt(fr*R+r, fc*C+c)
			}
			return -1
		})
	case InputStationary:
		mu, ku := usedOf(o.M, C), usedOf(o.K, R)
		iorder := stack(p.colFold, o.K, C, mu, func(b, r, c int64) int64 { return ifmapAt(b*C+c, r) }).a
		forder := stack(p.rowFold, o.N, R, ku, func(b, r, c int64) int64 { return filterAt(b*R+c, r) }).rollout()
		ifmap = newAddressStream(iorder, ifmapSpace, isz, bw, C, func(fc, fr, t, c int64) int64 {
			if r, ok := stationaryRow(t, c, ku(fr), mu(fc)); ok {
				return ifmapAt(fc*C+c, fr*R+r)
			}
			return -1
		})
		filter = newAddressStream(forder, filterSpace, fsz, bw, R, func(fc, fr, t, c int64) int64 {
			if r, ok := streamRow(t, c, R, ku(fr)); ok {
				return filterAt(fr*R+c, r)
			}
			return -1
		})
	}
	return ifmap, filter
}

// next serves every line on its own.
func (s *addressStream) next(fc, fr, t, lines int64) int64 { return t }

func (s *addressStream) reads(fc, fr, t0, t1 int64) (first, last int64, ok bool) {
	for t := t0; t < t1; t++ {
		for c := int64(0); c < s.width; c++ {
			if s.demand(fc, fr, t, c) >= 0 {
				if !ok {
					first, ok = t, true
				}
				last = t
				break
			}
		}
	}
	return first, last, ok
}
