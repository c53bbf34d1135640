package scalesim

import (
	"math/rand"
	"strings"
	"testing"
)

// randomCase draws a small layer and configuration that stress the buffers:
// odd array shapes, partly used folds, buffers from 1 KiB, bandwidths up to
// 5000 words per cycle, words of 1, 2 or 4 bytes.
func randomCase(rng *rand.Rand) (Config, Layer) {
	arrays := [][2]int{{1, 1}, {2, 3}, {4, 4}, {8, 8}, {8, 32}, {32, 8}, {16, 16}, {5, 7}, {3, 12}}
	a := arrays[rng.Intn(len(arrays))]
	df := Dataflow(rng.Intn(3))
	kib := func() int { return []int{1, 1, 2, 4, 8, 64}[rng.Intn(6)] }
	bw := []int{1, 2, 3, 4, 7, 16, 25, 64, 128, 1000, 5000}[rng.Intn(11)]
	c := DefaultConfig(a[0], a[1], df, kib(), kib(), kib(), bw)
	c.WordBytes = []int{1, 1, 1, 2, 4}[rng.Intn(5)]
	dim := func(hi int) int { return 1 + rng.Intn(hi) }
	if rng.Intn(3) == 0 {
		h, w := dim(14), dim(14)
		l := Layer{Name: "conv", IfmapH: h, IfmapW: w, FilterH: dim(min(h, 4)), FilterW: dim(min(w, 4)),
			Channels: dim(4), Filters: dim(40), StrideH: dim(3), StrideW: dim(3)}
		return c, l
	}
	return c, GEMMLayer("gemm", dim(120), dim(120), dim(120))
}

// TestEventsMatchAddressLevel runs random layers three ways: passing over
// quiet lines (what SimulateLayer does), serving every line, and the
// literal address-level reference built from SCALE-Sim's demand blocks.
// GEMMs and convolutions in the range form use the closed form, the others
// the listed ifmap.
func TestEventsMatchAddressLevel(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	n := 500
	if testing.Short() {
		n = 100
	}
	listed := 0
	for i := 0; i < n; i++ {
		c, l := randomCase(rng)
		if err := l.Validate(); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		m, k, nn := l.GEMM()
		p := newPlan(c.Dataflow, c.Rows, c.Cols, m, k, nn)
		if p.lines() < 2 {
			continue
		}
		streams := func() (readStream, readStream) {
			if l.rangeForm() {
				return p.streams(c)
			}
			return p.listedStreams(c, l)
		}
		if !l.rangeForm() {
			listed++
		}
		ai, af := p.addressStreams(c, l)
		slow := p.simulateLines(c, ai, af, true)
		fi, ff := streams()
		fast := p.simulate(c, fi, ff)
		li, lf := streams()
		lines := p.simulateLines(c, li, lf, true)
		if fast != slow || lines != slow {
			t.Errorf("case %d %+v %s %dx%d %d/%d/%d KiB bw %d:\nevents        %+v\nline by line  %+v\naddress level %+v",
				i, l, c.Dataflow, c.Rows, c.Cols, c.IfmapKiB, c.FilterKiB, c.OfmapKiB, c.Bandwidth, fast, lines, slow)
		}
	}
	if listed < n/10 {
		t.Fatalf("only %d of %d cases outside the range form", listed, n)
	}
}

// TestRangeForm checks which convolutions may use the range form.
func TestRangeForm(t *testing.T) {
	cases := []struct {
		l    Layer
		want bool
	}{
		{GEMMLayer("g", 197, 192, 768), true},
		{Layer{"1x1", 8, 8, 1, 1, 3, 4, 1, 1}, true},
		{Layer{"patch", 16, 16, 4, 4, 3, 8, 4, 4}, true},
		{Layer{"3x3", 8, 8, 3, 3, 3, 4, 1, 1}, false},     // overlapping windows
		{Layer{"overrun", 8, 8, 1, 1, 3, 4, 3, 3}, false}, // last window past the edge
		{Layer{"one", 5, 5, 5, 5, 2, 4, 1, 1}, true},      // a single window
		{Layer{"rows", 5, 6, 5, 2, 1, 4, 1, 2}, true},     // one row of windows
	}
	for _, c := range cases {
		if got := c.l.rangeForm(); got != c.want {
			t.Errorf("%s: rangeForm %v, want %v", c.l.Name, got, c.want)
		}
	}
}

// TestSumClamp checks the closed form against a loop.
func TestSumClamp(t *testing.T) {
	for h := int64(0); h < 6; h++ {
		for lo := int64(-5); lo < 12; lo++ {
			for hi := lo - 2; hi < 14; hi++ {
				var want int64
				for x := lo; x <= hi; x++ {
					want += min(max(x, 0), h)
				}
				if got := sumClamp(lo, hi, h); got != want {
					t.Fatalf("sumClamp(%d, %d, %d) = %d, want %d", lo, hi, h, got, want)
				}
			}
		}
	}
}

// TestStackPositions checks the closed-form positions of both stack kinds
// against the prefetch orders stackOrder lists: the index of every cell in
// the order, padding included, and its rank among real cells.
func TestStackPositions(t *testing.T) {
	for _, g := range []stack{{3, 4, 5, 2}, {1, 7, 3, 3}, {4, 2, 6, 1}, {2, 9, 4, 4}, {5, 1, 8, 3}, {1, 1, 1, 1}} {
		id := func(b, r, c int64) int64 { return (b*g.H+r)*g.W + c }
		total := (g.F-1)*g.W + g.vlast
		for _, skew := range []bool{true, false} {
			order := stackOrder(g.F, g.H, g.W, total, skew, id)
			index, rank := map[int64]int64{}, map[int64]int64{}
			var real int64
			for i, cell := range order {
				if cell >= 0 {
					index[cell], rank[cell] = int64(i), real
					real++
				}
			}
			if real != g.real() || int64(len(order)) != g.all() {
				t.Fatalf("%+v: %d real of %d, closed form %d of %d", g, real, len(order), g.real(), g.all())
			}
			for b := int64(0); b < g.F; b++ {
				for r := int64(0); r < g.H; r++ {
					for c := int64(0); c < g.width(b); c++ {
						var pos, idx int64
						if skew {
							d := b*g.H + r + c
							pos, idx = skewed{g}.pos(d, c), skewed{g}.index(d, c)
						} else {
							pos, idx = stacked{g}.pos(b, r, c), stacked{g}.index(b, r, c)
						}
						if cell := id(b, r, c); pos != rank[cell] || idx != index[cell] {
							t.Fatalf("%+v skew %v: block %d row %d col %d at %d (real %d), closed form %d (real %d)",
								g, skew, b, r, c, index[cell], rank[cell], idx, pos)
						}
					}
				}
			}
		}
	}
}

// TestValidate checks the bounds SimulateLayer enforces before running.
func TestValidate(t *testing.T) {
	ok := DefaultConfig(4, 4, OutputStationary, 1, 1, 1, 1)
	cases := []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Rows = 0 }, "ArrayHeight: must be in [1, 65536], got 0"},
		{func(c *Config) { c.Bandwidth = 0 }, "Bandwidth: must be in"},
		{func(c *Config) { c.FilterOffset = -1 }, "FilterOffset: must be in"},
		{func(c *Config) { c.WordBytes = 1024 }, "word size 1024 bytes: a buffer holds less than two words"},
		{func(c *Config) { c.UserBandwidth = false }, "InterfaceBandwidth: CALC"},
		{func(c *Config) { c.Dataflow = 3 }, "Dataflow: Dataflow(3) is not os, ws or is"},
	}
	for _, c := range cases {
		cfg := ok
		c.edit(&cfg)
		if _, err := SimulateLayer(cfg, GEMMLayer("g", 4, 4, 4)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
	if _, err := SimulateLayer(ok, GEMMLayer("one", 1, 1, 1)); err != nil {
		t.Errorf("1×1×1 on 4×4: %v", err)
	}
	one := DefaultConfig(1, 1, OutputStationary, 1, 1, 1, 1)
	if _, err := SimulateLayer(one, GEMMLayer("one", 1, 1, 1)); err == nil || !strings.Contains(err.Error(), "zero cycles") {
		t.Errorf("1×1×1 on 1×1: %v, want the zero-cycle error", err)
	}
	bad := Layer{Name: "big", IfmapH: 3, IfmapW: 3, FilterH: 4, FilterW: 1, Channels: 1, Filters: 1, StrideH: 1, StrideW: 1}
	if _, err := SimulateLayer(ok, bad); err == nil || !strings.Contains(err.Error(), "Filter Height 4 is larger than IFMAP Height 3") {
		t.Errorf("filter taller than ifmap: %v", err)
	}
}
