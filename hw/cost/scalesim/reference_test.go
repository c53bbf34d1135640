package scalesim

// The literal address-level reference: SCALE-Sim's demand blocks built as
// SCALE-Sim defines them (prefix rows, skew, flip), served address by
// address from sets of the prefetch orders. It shares with the code under
// test only the operand matrices and prefetch orders.

// addressStream serves an operand's demand address by address.
type addressStream struct {
	buf    readBuf
	setsOf map[int64][]int64 // the sets holding each address
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
	for _, set := range s.setsOf[a] {
		if s.buf.in(set) {
			return true
		}
	}
	return false
}

// newAddressStream cuts a prefetch order into sets of real words.
func newAddressStream(order []int64, sizeWords, bw, width int64, demand func(fc, fr, t, c int64) int64) *addressStream {
	var real int64
	for _, a := range order {
		if a >= 0 {
			real++
		}
	}
	s := &addressStream{buf: newReadBuf(sizeWords, bw, real, int64(len(order))), setsOf: map[int64][]int64{},
		demand: demand, width: width}
	var i int64
	for _, a := range order {
		if a < 0 {
			continue
		}
		set := i / s.buf.eps
		if l := s.setsOf[a]; len(l) == 0 || l[len(l)-1] != set {
			s.setsOf[a] = append(l, set)
		}
		i++
	}
	return s
}

// addressStreams builds the layer's two read streams at address level,
// with SCALE-Sim's demand blocks.
func (p plan) addressStreams(c Config, l Layer) (ifmap, filter readStream) {
	isz, fsz, _ := c.sizes()
	bw := int64(c.Bandwidth)
	// ifmapAt(m, k) and filterAt(k, n) read the operand matrices.
	ifmapAt := l.im2col()
	filterAt := func(k, n int64) int64 { return filterAddr(p.K, k, n) }
	iorder, forder := p.ifmapOrder(ifmapAt), p.filterOrder()
	o := struct{ M, K, N int64 }{p.M, p.K, p.N}

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
		ifmap = newAddressStream(iorder, isz, bw, R, func(fc, fr, t, c int64) int64 {
			if r, ok := streamRow(t, c, 0, iu(fr)); ok {
				return ifmapAt(fr*R+c, r)
			}
			return -1
		})
		filter = newAddressStream(forder, fsz, bw, C, func(fc, fr, t, c int64) int64 {
			if r, ok := streamRow(t, c, 0, fu(fc)); ok {
				return filterAt(r, fc*C+c)
			}
			return -1
		})
	case WeightStationary:
		iu, fu, ku := usedOf(o.K, R), usedOf(o.N, C), usedOf(o.K, R)
		ifmap = newAddressStream(iorder, isz, bw, R, func(fc, fr, t, c int64) int64 {
			if r, ok := streamRow(t, c, R, iu(fr)); ok {
				return ifmapAt(r, fr*R+c)
			}
			return -1
		})
		filter = newAddressStream(forder, fsz, bw, C, func(fc, fr, t, c int64) int64 {
			if r, ok := stationaryRow(t, c, ku(fr), fu(fc)); ok {
				return filterAt(fr*R+r, fc*C+c)
			}
			return -1
		})
	case InputStationary:
		mu, ku := usedOf(o.M, C), usedOf(o.K, R)
		ifmap = newAddressStream(iorder, isz, bw, C, func(fc, fr, t, c int64) int64 {
			if r, ok := stationaryRow(t, c, ku(fr), mu(fc)); ok {
				return ifmapAt(fc*C+c, fr*R+r)
			}
			return -1
		})
		filter = newAddressStream(forder, fsz, bw, R, func(fc, fr, t, c int64) int64 {
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
