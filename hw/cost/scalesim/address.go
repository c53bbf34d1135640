package scalesim

// This file lists a layer's operand words in SCALE-Sim's prefetch orders,
// address by address, as SCALE-Sim builds them. A convolution whose im2col
// matrix repeats or omits ifmap addresses needs the list: a word may then
// hit through another copy of its address, and the holes shift the sets.

// rangeForm reports whether every ifmap word appears exactly once in the
// layer's im2col matrix, so that the range form applies: windows do not
// overlap and none runs past the edge. GEMM layers always qualify.
func (l Layer) rangeForm() bool {
	oh, ow := l.OfmapDims()
	inside := (oh-1)*l.StrideH+l.FilterH <= l.IfmapH && (ow-1)*l.StrideW+l.FilterW <= l.IfmapW
	apart := (l.StrideH >= l.FilterH || oh == 1) && (l.StrideW >= l.FilterW || ow == 1)
	return inside && apart
}

// im2col returns the ifmap address (relative to IfmapOffset) that row m,
// column k of the layer's M×K ifmap matrix holds, −1 for a word outside the
// input, as SCALE-Sim lowers a convolution: row m is ofmap pixel m, column k
// runs over the window's rows, then its columns, then the channels.
func (l Layer) im2col() func(m, k int64) int64 {
	_, ow := l.OfmapDims()
	W, C := int64(l.IfmapW), int64(l.Channels)
	rowWords := int64(l.FilterW) * C
	return func(m, k int64) int64 {
		irow, icol := m/int64(ow)*int64(l.StrideH), m%int64(ow)*int64(l.StrideW)
		crow, rest := k/rowWords, k%rowWords
		ccol, ch := rest/C, rest%C
		if crow+irow >= int64(l.IfmapH) || ccol+icol >= W {
			return -1
		}
		return ((crow+irow)*W+ccol+icol)*C + ch
	}
}

// filterAddr returns the filter address (relative to FilterOffset) of row
// k, column n of the K×N filter matrix: SCALE-Sim stores filters one after
// the other.
func filterAddr(K, k, n int64) int64 { return n*K + k }

// stackOrder returns the prefetch order of F fold blocks of rows×width
// stacked vertically, block b's column c holding get(b, r, c) for its real
// columns (the last block has total − (F−1)·width) and −1 after; read along
// anti-diagonals, highest row first, when skew, and row by row otherwise.
func stackOrder(F, rows, width, total int64, skew bool, get func(b, r, c int64) int64) []int64 {
	at := func(row, c int64) int64 {
		b, r := row/rows, row%rows
		if c >= min(width, total-b*width) {
			return -1
		}
		return get(b, r, c)
	}
	H := F * rows
	out := make([]int64, 0, H*width)
	if !skew {
		for row := int64(0); row < H; row++ {
			for c := int64(0); c < width; c++ {
				out = append(out, at(row, c))
			}
		}
		return out
	}
	for d := int64(0); d < H+width-1; d++ {
		for row := min(d, H-1); row >= max(0, d-width+1); row-- {
			out = append(out, at(row, d-row))
		}
	}
	return out
}

// ifmapOrder returns the ifmap's prefetch order: fold blocks of the ifmap
// matrix, transposed in OS (fold fr holds ifmap rows fr·R…) and IS (fold fc
// holds rows fc·C…), and as they are in WS (fold fr holds columns fr·R…).
func (p plan) ifmapOrder(ifmapAt func(m, k int64) int64) []int64 {
	R, C := p.R, p.C
	switch p.df {
	case OutputStationary:
		return stackOrder(p.rowFold, p.K, R, p.M, true, func(b, r, c int64) int64 { return ifmapAt(b*R+c, r) })
	case WeightStationary:
		return stackOrder(p.rowFold, p.M, R, p.K, true, func(b, r, c int64) int64 { return ifmapAt(r, b*R+c) })
	}
	return stackOrder(p.colFold, p.K, C, p.M, false, func(b, r, c int64) int64 { return ifmapAt(b*C+c, r) })
}

// filterOrder returns the filter's prefetch order: fold blocks of filter
// columns in OS and WS (fold fc holds columns fc·C…), of filter rows
// transposed in IS (fold fr holds rows fr·R…).
func (p plan) filterOrder() []int64 {
	R, C, K := p.R, p.C, p.K
	switch p.df {
	case OutputStationary:
		return stackOrder(p.colFold, K, C, p.N, true, func(b, r, c int64) int64 { return filterAddr(K, r, b*C+c) })
	case WeightStationary:
		return stackOrder(p.colFold, K, C, p.N, false, func(b, r, c int64) int64 { return filterAddr(K, r, b*C+c) })
	}
	return stackOrder(p.rowFold, p.N, R, K, true, func(b, r, c int64) int64 { return filterAddr(K, b*R+c, r) })
}

// setIndex lists, for every address of a prefetch order, the sets holding
// it: sets[start[a]:start[a+1]], increasing.
type setIndex struct {
	start, sets []int64
}

// newSetIndex indexes a prefetch order (addresses in [0, space), −1 for
// none) cut into sets of eps real words; an address listed twice in one set
// is kept once, as in SCALE-Sim's Python sets.
func newSetIndex(order []int64, space, eps int64) setIndex {
	x := setIndex{start: make([]int64, space+1)}
	last := make([]int64, space) // last set recorded for an address, plus one
	place := func(visit func(a, set int64)) {
		clear(last)
		var i int64
		for _, a := range order {
			if a < 0 {
				continue
			}
			if set := i / eps; last[a] != set+1 {
				visit(a, set)
				last[a] = set + 1
			}
			i++
		}
	}
	place(func(a, _ int64) { x.start[a+1]++ })
	for a := int64(0); a < space; a++ {
		x.start[a+1] += x.start[a]
	}
	x.sets = make([]int64, x.start[space])
	fill := append([]int64(nil), x.start[:space]...)
	place(func(a, set int64) {
		x.sets[fill[a]] = set
		fill[a]++
	})
	return x
}

// hit reports whether any set holding address a lies in the buffer's window.
func (x setIndex) hit(a int64, b *readBuf) bool {
	for _, set := range x.sets[x.start[a]:x.start[a+1]] {
		if b.in(set) {
			return true
		}
	}
	return false
}

// listing is an operand's prefetch order word by word, for the operands the
// closed form cannot place.
type listing struct {
	order []int64 // addresses, −1 for padding and holes
	rank  []int64 // rank[i]: real words before order[i]
	sets  setIndex
}

func newListing(order []int64, space, eps int64) *listing {
	l := &listing{order: order, rank: make([]int64, len(order)+1), sets: newSetIndex(order, space, eps)}
	for i, a := range order {
		l.rank[i+1] = l.rank[i]
		if a >= 0 {
			l.rank[i+1]++
		}
	}
	return l
}

// real returns the number of real words in the order.
func (l *listing) real() int64 { return l.rank[len(l.order)] }

// ranks returns the real positions of the first and last real word among
// order[i0..i1]; last < first when there is none.
func (l *listing) ranks(i0, i1 int64) (first, last int64) {
	return l.rank[i0], l.rank[i1+1] - 1
}

// serve presents order[i0..i1], a line's demand, to the buffer, address by
// address where needed: a word hits when its own set or a set holding
// another copy of its address lies in the window.
func (l *listing) serve(b *readBuf, i0, i1 int64) (demanded, missed bool) {
	p0, p1 := l.ranks(i0, i1)
	if p1 < p0 {
		return false, false
	}
	if b.covers(p0, p1) {
		return true, false
	}
	for i := i0; i <= i1; i++ {
		a := l.order[i]
		if a < 0 || b.in(l.rank[i]/b.eps) {
			continue
		}
		for !l.sets.hit(a, b) {
			b.slide()
			missed = true
		}
	}
	return true, missed
}

// listedStreams builds the read streams of a layer outside the range form:
// the closed-form geometry, with the ifmap's words listed.
func (p plan) listedStreams(c Config, l Layer) (ifmap, filter readStream) {
	ifmap, filter = p.streams(c)
	order := p.ifmapOrder(l.im2col())
	isz, _, _ := c.sizes()
	buf := ifmap.buffer()
	space := int64(l.IfmapH) * int64(l.IfmapW) * int64(l.Channels)
	list := newListing(order, space, buf.eps)
	*buf = newReadBuf(isz, int64(c.Bandwidth), list.real(), int64(len(order)))
	switch s := ifmap.(type) {
	case *skewedStream:
		s.list = list
	case *stationaryStream:
		s.list = list
	}
	return ifmap, filter
}
