package cost

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// axisScale is the range and scale chosen for one plot axis.
type axisScale struct {
	log      bool
	min, max float64
}

// logRatio is the smallest max/min ratio drawn on a log axis: over a
// narrower range a log axis looks linear anyway and has too few decade
// ticks to read.
const logRatio = 3

// chooseScale picks the axis for the finite values vals: logarithmic when
// they are all positive and span at least a factor logRatio, else linear. The
// range is padded so that no point sits on the frame, and it never
// collapses: one value, or many equal ones, get a range around them, so
// every input draws (a degenerate log range is what made gonum panic).
// nonNeg keeps a linear axis from going below zero when no value does.
func chooseScale(vals []float64, nonNeg bool) axisScale {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if len(vals) == 0 || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return axisScale{min: 0, max: 1}
	}
	if a, b := math.Log10(lo), math.Log10(hi); lo > 0 && b-a >= math.Log10(logRatio) {
		pad := 0.06 * (b - a)
		return axisScale{log: true, min: math.Pow(10, math.Max(a-pad, math.Min(a, -307))), max: math.Pow(10, math.Min(b+pad, 308))}
	}
	return linearScale(lo, hi, nonNeg)
}

// linearScale is the padded linear range of values in [lo, hi] (see
// chooseScale).
func linearScale(lo, hi float64, nonNeg bool) axisScale {
	span := hi/2 - lo/2 // halves: no overflow
	if !(span > 0) || span < 1e-9*math.Max(math.Abs(lo), math.Abs(hi)) {
		// One value: ±10% of it (±1 around zero).
		span = 0.2 * math.Max(math.Abs(lo), math.Abs(hi))
		if span == 0 {
			span = 2
		}
		mid := lo/2 + hi/2
		lo, hi = mid-span/2, mid+span/2
		if nonNeg && mid >= 0 && lo < 0 {
			lo, hi = 0, mid+span/2
		}
		return finiteScale(axisScale{min: lo, max: hi})
	}
	pad := 0.16 * span
	s := axisScale{min: lo - pad, max: hi + pad}
	if nonNeg && lo >= 0 && s.min < 0 {
		s.min = 0
	}
	return finiteScale(s)
}

// finiteScale clamps a linear range to the finite floats (a range around
// values near the largest float would otherwise overflow).
func finiteScale(s axisScale) axisScale {
	s.min = math.Max(s.min, -math.MaxFloat64)
	s.max = math.Min(s.max, math.MaxFloat64)
	return s
}

// apply sets the range, scale and ticks of ax.
func (s axisScale) apply(ax *plot.Axis) {
	ax.Min, ax.Max = s.min, s.max
	if s.log {
		ax.Scale = plot.LogScale{}
		ax.Tick.Marker = logTicks{}
	} else {
		ax.Scale = plot.LinearScale{}
		ax.Tick.Marker = linTicks{}
	}
}

// linTicks labels a linear axis every 1, 2, 2.5 or 5 times a power of ten,
// aiming at four to seven labels, with an unlabelled tick half-way.
type linTicks struct{}

// Ticks implements plot.Ticker.
func (linTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return []plot.Tick{{Value: lo, Label: formatTick(lo, 0)}}
	}
	raw := (hi - lo) / 5
	e := math.Floor(math.Log10(raw))
	p := math.Pow(10, e)
	m := 10.0
	for _, c := range []float64{1, 2, 2.5, 5, 10} {
		if c*p >= raw*0.75 {
			m = c
			break
		}
	}
	step := m * p
	dec := int(-e)
	if m == 10 {
		dec--
	}
	if m == 2.5 {
		dec++
	}
	dec = max(dec, 0)
	var t []plot.Tick
	first := math.Ceil(lo/step*2 - 1e-9)
	for k := first; k/2*step <= hi+math.Abs(hi)*1e-12 && len(t) < 100; k++ {
		v := k / 2 * step
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		if math.Mod(k, 2) == 0 {
			t = append(t, plot.Tick{Value: v, Label: formatTick(v, dec)})
		} else {
			t = append(t, plot.Tick{Value: v})
		}
	}
	return t
}

// logTicks labels a log axis with as many round values as fit: powers of
// ten first, then 5, 2 and the other integer multiples of them, each only
// when it is at least a fixed fraction of the axis away from every label
// already taken (so 30–90 µJ gets 30, 40, … 90; three decades get 1-2-5;
// many decades get powers of ten, every second one on huge ranges). The
// other integer multiples get unlabelled ticks up to eight decades.
type logTicks struct{}

// logLabelSep is the smallest distance between two log-axis labels, as a
// fraction of the axis.
const logLabelSep = 0.075

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
		return nil
	}
	e0, e1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	sep := logLabelSep * math.Log10(hi/lo)
	type cand struct {
		m, e float64
	}
	var all []cand
	for e := e0; e <= e1; e++ {
		for m := 1.0; m < 10; m++ {
			if v := m * math.Pow(10, e); v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
				all = append(all, cand{m, e})
			}
		}
	}
	rank := func(m float64) int {
		switch m {
		case 1:
			return 0
		case 5:
			return 1
		case 2:
			return 2
		}
		return 3
	}
	var taken []float64 // log10 of the labelled values
	labels := map[cand]bool{}
	for r := 0; r <= 3; r++ {
		for _, c := range all {
			if rank(c.m) != r {
				continue
			}
			x := math.Log10(c.m) + c.e
			free := true
			for _, y := range taken {
				if math.Abs(x-y) < sep*(1-1e-9) {
					free = false
					break
				}
			}
			if free {
				taken = append(taken, x)
				labels[c] = true
			}
		}
	}
	minor := math.Log10(hi/lo) <= 8
	var t []plot.Tick
	for _, c := range all {
		v := c.m * math.Pow(10, c.e)
		switch {
		case labels[c]:
			t = append(t, plot.Tick{Value: v, Label: formatLogTick(c.m, int(c.e))})
		case minor:
			t = append(t, plot.Tick{Value: v})
		}
	}
	return t
}

// unlabelled drops the labels of another ticker's ticks (for a panel that
// shares the x axis of the one below it).
type unlabelled struct{ plot.Ticker }

// Ticks implements plot.Ticker.
func (u unlabelled) Ticks(lo, hi float64) []plot.Tick {
	t := u.Ticker.Ticks(lo, hi)
	for i := range t {
		t[i].Label = ""
	}
	return t
}

// formatTick formats a linear tick value with dec decimals.
func formatTick(v float64, dec int) string {
	if a := math.Abs(v); a != 0 && (a >= 1e6 || a < 1e-4) {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// formatLogTick formats m·10^e without floating-point noise: 0.3, 20, 5e+06.
func formatLogTick(m float64, e int) string {
	if e >= 6 || e <= -5 {
		return fmt.Sprintf("%ge%+03d", m, e)
	}
	return strconv.FormatFloat(m*math.Pow(10, float64(e)), 'f', max(0, -e), 64)
}

// labelPlace is where one text label goes: its bounding box and, when it
// had to move away from its point, a leader line from the point.
type labelPlace struct {
	ok     bool
	box    vg.Rectangle
	leader bool
}

// labelScene is what labels must be placed around, all in canvas
// coordinates.
type labelScene struct {
	bounds vg.Rectangle   // labels stay inside
	hard   []vg.Rectangle // never covered: the labelled points
	line   []vg.Rectangle // covered only if needed: the front line
	dim    []vg.Rectangle // covered only by key labels if needed: other points
	points []vg.Point     // every point, for the ambiguity test
	gap    vg.Length      // distance from a point to its label
}

// placeLabels puts a box of size sizes[i] next to each anchor, greedily in
// order, at the first candidate position (right, left, above-right, …, at
// growing distances from the point) that stays inside the frame and covers
// no point or label already placed. It tries in passes, giving up in turn:
// not being nearer to another point than to its own (which would make it
// read as that point's label), keeping off the front line and — for the
// first key labels only — keeping off the other designs' points. A label
// with no free position is left out (ok false) rather than drawn over
// another.
func placeLabels(anchors []vg.Point, sizes []vg.Point, sc labelScene, key int) []labelPlace {
	dirs := [...][2]float64{{1, 0}, {-1, 0}, {1, 1}, {1, -1}, {-1, 1}, {-1, -1}, {0, 1}, {0, -1}}
	g := sc.gap
	dists := [...]vg.Length{g, 2 * g, 3.5 * g, 5.5 * g, 8 * g, 12 * g}
	hard := append([]vg.Rectangle(nil), sc.hard...)
	out := make([]labelPlace, len(anchors))
	for i, a := range anchors {
		w, h := sizes[i].X, sizes[i].Y
		passes := 3
		if i < key {
			passes = 4
		}
	search:
		for pass := 0; pass < passes; pass++ {
			for di, d := range dists {
				for _, u := range dirs {
					// The box's nearest edge is d away from the point.
					cx := a.X + vg.Length(u[0])*(d+w/2)
					cy := a.Y + vg.Length(u[1])*(d+h/2)
					box := vg.Rectangle{Min: vg.Point{X: cx - w/2, Y: cy - h/2}, Max: vg.Point{X: cx + w/2, Y: cy + h/2}}
					if !inside(box, sc.bounds) || overlapsAny(box, hard) ||
						(pass < 3 && overlapsAny(box, sc.dim)) ||
						(pass < 2 && overlapsAny(box, sc.line)) ||
						(pass < 1 && closerPoint(box, a, sc.points)) {
						continue
					}
					out[i] = labelPlace{ok: true, box: box, leader: di > 0}
					hard = append(hard, box)
					break search
				}
			}
		}
	}
	return out
}

func inside(r, b vg.Rectangle) bool {
	return r.Min.X >= b.Min.X && r.Min.Y >= b.Min.Y && r.Max.X <= b.Max.X && r.Max.Y <= b.Max.Y
}

func overlapsAny(r vg.Rectangle, rs []vg.Rectangle) bool {
	for _, o := range rs {
		if r.Min.X < o.Max.X && o.Min.X < r.Max.X && r.Min.Y < o.Max.Y && o.Min.Y < r.Max.Y {
			return true
		}
	}
	return false
}

// closerPoint reports whether a point other than own lies nearer to box than
// own does.
func closerPoint(box vg.Rectangle, own vg.Point, points []vg.Point) bool {
	d := rectDist(box, own)
	for _, q := range points {
		if q != own && rectDist(box, q) < d {
			return true
		}
	}
	return false
}

// rectDist is the distance from p to the nearest point of r.
func rectDist(r vg.Rectangle, p vg.Point) vg.Length {
	dx := max(r.Min.X-p.X, 0, p.X-r.Max.X)
	dy := max(r.Min.Y-p.Y, 0, p.Y-r.Max.Y)
	return vg.Length(math.Hypot(float64(dx), float64(dy)))
}
