package scalesim

// readBuf is SCALE-Sim's double-buffered read buffer in USER-bandwidth mode,
// reduced to the state its counts depend on.
//
// SCALE-Sim cuts the operand's prefetch order into sets of ⌈capacity/100⌉
// real words and decides hits by set: a word hits while its set lies in a
// window of `active` consecutive sets (cyclic over all sets). A miss slides
// the window forward by `pf` sets and issues a DRAM prefetch of p lines of
// bw words, whatever the window's contents; a prefetch completes p + 1
// cycles after the previous one, the first fill completing at cycle −1, so
// the completion time of the k-th prefetch is k·(p+1) − 1 however late the
// array asked for it.
type readBuf struct {
	bw         int64 // words per line (the DRAM bandwidth)
	real       int64 // real words in the operand's prefetch order
	eps        int64 // real words per set
	n          int64 // number of sets, including a last one that may be empty
	active, pf int64 // window length and slide, in sets
	p          int64 // lines per prefetch
	first      int64 // lines of the first fill, before cycle 0

	a int64 // first set of the window
	k int64 // prefetches issued after the first fill
}

// newReadBuf sizes a read buffer of sizeWords words for an operand with
// real real words and all words in its prefetch order including padding.
func newReadBuf(sizeWords, bw, real, all int64) readBuf {
	activeWords := (sizeWords + 1) / 2 // ⌈size·0.5⌉
	prefetchWords := sizeWords - activeWords
	eps := ceilDiv64(sizeWords, 100)
	n := real/eps + 1
	active := min(n, ceilDiv64(activeWords, eps))
	pf := min(n-active, ceilDiv64(prefetchWords, eps))
	return readBuf{
		bw:     bw,
		real:   real,
		eps:    eps,
		n:      n,
		active: active,
		pf:     pf,
		p:      ceilDiv64(prefetchWords, bw),
		first:  min(ceilDiv64(activeWords, bw), ceilDiv64(all, bw)),
	}
}

// in reports whether set s lies in the window.
func (b *readBuf) in(s int64) bool {
	d := s - b.a
	if d < 0 {
		d += b.n
	}
	return d < b.active
}

// covers reports whether the window holds every set from the one of
// position p0 to the one of p1.
func (b *readBuf) covers(p0, p1 int64) bool {
	s0, s1 := p0/b.eps, p1/b.eps
	d := s0 - b.a
	if d < 0 {
		d += b.n
	}
	return d+(s1-s0) < b.active
}

// touch serves the real words whose prefetch positions run from p0 to p1 in
// order and reports whether any of them missed.
func (b *readBuf) touch(p0, p1 int64) bool {
	missed := false
	for s, s1 := p0/b.eps, p1/b.eps; s <= s1; s++ {
		for !b.in(s) {
			b.slide()
			missed = true
		}
	}
	return missed
}

// slide moves the window on by one prefetch.
func (b *readBuf) slide() {
	b.a += b.pf
	if b.a >= b.n {
		b.a -= b.n
	}
	b.k++
}

// last is the cycle at which the latest prefetch completes.
func (b *readBuf) last() int64 { return b.k*(b.p+1) - 1 }

// stall is the stall a line issued at cycle cyc suffers when it missed.
func (b *readBuf) stall(cyc int64) int64 { return max(0, b.last()-cyc-1) }

// dram returns the DRAM traffic: from the first fill's first line to the
// latest prefetch's last, in words (whole lines, padding included).
func (b *readBuf) dram() Access {
	return Access{Start: -b.first, Stop: b.last(), Words: b.bw * (b.first + b.k*b.p)}
}

// writeBuf is SCALE-Sim's double-buffered write buffer in USER-bandwidth
// mode, reduced to word counts.
//
// Outputs are packed into lines of bw words. When the buffer holds more than
// its drain half and no drain is in flight, the partly filled line is closed
// (padding and all) and the oldest ⌈drain/bw⌉ lines are written to DRAM, one
// line per cycle; the padding of every line but the last one drained counts
// as written. While a drain is in flight a full buffer stalls the array
// until the drain ends.
type writeBuf struct {
	bw, total, activeWords, drainLines int64

	free     int64 // free words (SCALE-Sim's free_space)
	fill     int64 // words in the open line
	lines    int64 // closed lines
	drained  int64 // lines written to DRAM
	drainEnd int64 // last cycle of the latest drain

	// partial holds the closed lines that were closed part-full and not yet
	// drained, oldest first, as (line index, words).
	partial []partialLine

	dram    Access
	started bool
}

type partialLine struct{ line, words int64 }

func newWriteBuf(sizeWords, bw int64) writeBuf {
	active := (sizeWords + 1) / 2
	return writeBuf{
		bw:          bw,
		total:       sizeWords,
		activeWords: active,
		drainLines:  ceilDiv64(sizeWords-active, bw),
		free:        sizeWords,
	}
}

// write stores v outputs produced at cycle cyc and returns the stall.
func (w *writeBuf) write(cyc, v int64) int64 {
	cur := cyc
	for v > 0 {
		// Words until the next event: the buffer filling up during a drain,
		// or its occupancy passing the drain half otherwise.
		var e int64
		inFlight := cur < w.drainEnd
		if inFlight {
			e = max(1, w.free)
		} else {
			e = max(1, w.free-w.activeWords+1)
		}
		m := min(e, v)
		w.store(m)
		v -= m
		if m < e {
			break
		}
		if inFlight {
			cur = w.drainEnd
		} else {
			w.closeLine()
			w.drain(cur)
		}
	}
	return cur - cyc
}

// store adds m words to the open line, closing full lines.
func (w *writeBuf) store(m int64) {
	w.free -= m
	w.fill += m
	w.lines += w.fill / w.bw
	w.fill %= w.bw
}

// closeLine closes the open line if it holds any word.
func (w *writeBuf) closeLine() {
	if w.fill > 0 {
		w.partial = append(w.partial, partialLine{w.lines, w.fill})
		w.lines++
		w.fill = 0
	}
}

// drain writes the oldest closed lines to DRAM starting at cycle cyc.
func (w *writeBuf) drain(cyc int64) {
	n := min(w.drainLines, w.lines-w.drained)
	lastLine := w.drained + n - 1
	lastWords := w.bw
	for len(w.partial) > 0 && w.partial[0].line <= lastLine {
		if w.partial[0].line == lastLine {
			lastWords = w.partial[0].words
		}
		w.partial = w.partial[1:]
	}
	words := n*w.bw - (w.bw - lastWords)
	w.free += words
	w.dram.Words += words
	if !w.started {
		w.dram.Start = cyc
		w.started = true
	}
	w.drainEnd = cyc + n - 1
	w.dram.Stop = w.drainEnd
	w.drained += n
}

// flush drains everything left after the last output, starting at cycle cyc.
func (w *writeBuf) flush(cyc int64) {
	w.closeLine()
	for w.drained < w.lines {
		w.drain(cyc)
		cyc = w.drainEnd + 1
	}
}
