package cost

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Chart is a report figure drawn with the style of the sweep plots: a
// title, a legend row, and scatter or bar panels stacked vertically, each
// with its own axes. Exploration plots (accuracy against cost, per-op
// sensitivities) are Charts.
type Chart struct {
	Title string
	// Width and PanelHeight are in centimetres (0: 16 and 9).
	Width, PanelHeight float64
	Panels             []Panel
}

// Panel is one plot of a Chart: scatter series, or horizontal bars.
type Panel struct {
	XLabel, YLabel string
	// XLinear and YLinear keep an axis linear; otherwise an axis is
	// logarithmic when its values span a factor of 3 or more.
	XLinear, YLinear bool
	Series           []Series
	// Bars, when set, make the panel a horizontal bar chart (Series are
	// then not drawn).
	Bars []Bar
	// XRef draws a dashed vertical reference line at this x (a limit such
	// as 100 % of a board) when RefLabel is set; RefLabel is its legend.
	XRef     float64
	RefLabel string
}

// Glyph is the marker of a series.
type Glyph int

// Markers.
const (
	GlyphCircle Glyph = iota
	GlyphRing
	GlyphSquare
	GlyphTriangle
	GlyphCross
)

func (g Glyph) drawer() draw.GlyphDrawer {
	switch g {
	case GlyphRing:
		return draw.RingGlyph{}
	case GlyphSquare:
		return draw.BoxGlyph{}
	case GlyphTriangle:
		return draw.PyramidGlyph{}
	case GlyphCross:
		return draw.CrossGlyph{}
	}
	return draw.CircleGlyph{}
}

// Series is a set of points drawn alike, with one legend entry.
type Series struct {
	// Legend is the text of the legend entry ("" for none).
	Legend string
	X, Y   []float64
	// Labels name the points (nil: none); they are placed where they cover
	// no point and no other label, with a leader line when they must move
	// away, and left out when there is no room. Key series' labels are
	// placed first.
	Labels []string
	Key    bool
	Color  color.Color
	Glyph  Glyph
	// Radius is the marker radius in points (0: 2.6).
	Radius float64
	// Line joins the points in order.
	Line bool
}

// Bar is one horizontal bar: its category, value and a note written at its
// end (e.g. the value with its unit).
type Bar struct {
	Category string
	Value    float64
	Note     string
	Color    color.Color
}

// Palette returns n distinct colours (Tableau 10, then darker repeats).
func Palette(n int) []color.Color {
	out := make([]color.Color, n)
	for i := range out {
		c := breakdownColors[i%10]
		if k := i / 10; k > 0 {
			f := math.Pow(0.7, float64(k))
			c = color.RGBA{R: uint8(float64(c.R) * f), G: uint8(float64(c.G) * f), B: uint8(float64(c.B) * f), A: 255}
		}
		out[i] = c
	}
	return out
}

// Render draws the chart as "png" or "svg". Every series value must be
// finite (and positive on an axis drawn logarithmic).
func (c Chart) Render(format string) ([]byte, error) {
	if err := checkPlotFormat(format); err != nil {
		return nil, err
	}
	if len(c.Panels) == 0 {
		return nil, fmt.Errorf("plot %q: no panel", c.Title)
	}
	w, ph := c.Width, c.PanelHeight
	if w <= 0 {
		w = 16
	}
	if ph <= 0 {
		ph = 9
	}
	fig := &figure{title: wrapTitle(c.Title, vg.Length(w)*vg.Centimeter-4*figurePad), w: vg.Length(w) * vg.Centimeter}
	height := 1.5 + 0.6*float64(strings.Count(fig.title, "\n")+1) // title and legend
	seen := map[string]bool{}
	for _, pc := range c.Panels {
		p, legend, h, err := pc.plot(ph)
		if err != nil {
			return nil, fmt.Errorf("plot %q: %w", c.Title, err)
		}
		height += h
		fig.panels = append(fig.panels, p)
		for _, e := range legend {
			if !seen[e.text] {
				seen[e.text] = true
				fig.legend = append(fig.legend, e)
			}
		}
	}
	fig.h = vg.Length(height) * vg.Centimeter
	return fig.render(format)
}

// wrapTitle breaks a title too wide for width into lines, after ": " or
// before " (" where it can, else at spaces.
func wrapTitle(title string, width vg.Length) string {
	sty := textStyle(12, true)
	var lines []string
	for sty.Width(title) > width {
		cut := -1
		for _, sep := range []string{": ", " (", " "} {
			for i := len(title) - 1; i > 0; i-- {
				if strings.HasPrefix(title[i:], sep) && sty.Width(title[:i+len(sep)/2]) <= width {
					cut = i + len(sep)/2 // keep ":" on the first line, "(" on the next
					break
				}
			}
			if cut > 0 {
				break
			}
		}
		if cut <= 0 {
			break
		}
		lines = append(lines, strings.TrimSpace(title[:cut]))
		title = strings.TrimSpace(title[cut:])
	}
	return strings.Join(append(lines, title), "\n")
}

// plot builds the panel and its legend entries, and returns its height in
// centimetres.
func (pc Panel) plot(height float64) (*plot.Plot, []legendEntry, float64, error) {
	if len(pc.Bars) > 0 {
		p, err := pc.bars()
		return p, nil, 2.5 + 0.6*float64(len(pc.Bars)), err
	}
	p := newPanel(pc.XLabel, pc.YLabel)
	var legend []legendEntry
	var xs, ys []float64
	labels := &nameLabels{}
	var keyXY, restXY plotter.XYs
	var keyNames, restNames []string
	var keyCols, restCols []color.Color
	for _, s := range pc.Series {
		if len(s.X) != len(s.Y) || (s.Labels != nil && len(s.Labels) != len(s.X)) {
			return nil, nil, 0, fmt.Errorf("series %q: %d x, %d y and %d labels", s.Legend, len(s.X), len(s.Y), len(s.Labels))
		}
		xys := make(plotter.XYs, len(s.X))
		for i := range s.X {
			if math.IsNaN(s.X[i]) || math.IsInf(s.X[i], 0) || math.IsNaN(s.Y[i]) || math.IsInf(s.Y[i], 0) {
				return nil, nil, 0, fmt.Errorf("series %q: point %d (%g, %g) is not finite", s.Legend, i, s.X[i], s.Y[i])
			}
			xys[i] = plotter.XY{X: s.X[i], Y: s.Y[i]}
		}
		xs, ys = append(xs, s.X...), append(ys, s.Y...)
		if len(xys) == 0 {
			continue
		}
		r := s.Radius
		if r == 0 {
			r = 2.6
		}
		labels.radius = max(labels.radius, vg.Points(r))
		thumbs := []plot.Thumbnailer{}
		if s.Line && len(xys) > 1 {
			line, err := plotter.NewLine(xys)
			if err != nil {
				return nil, nil, 0, err
			}
			line.Color, line.Width = s.Color, vg.Points(1.2)
			p.Add(line)
			thumbs = append(thumbs, line)
		}
		sc, err := scatter(xys, s.Color, s.Glyph.drawer(), vg.Points(r))
		if err != nil {
			return nil, nil, 0, err
		}
		p.Add(sc)
		thumbs = append(thumbs, sc)
		if s.Legend != "" {
			legend = append(legend, legendEntry{s.Legend, thumbs})
		}
		switch {
		case s.Labels != nil && s.Key:
			keyXY, keyNames = append(keyXY, xys...), append(keyNames, s.Labels...)
			for range xys {
				keyCols = append(keyCols, color.Black)
			}
		case s.Labels != nil:
			restXY, restNames = append(restXY, xys...), append(restNames, s.Labels...)
			for range xys {
				restCols = append(restCols, color.Gray{Y: 100})
			}
		default:
			labels.others = append(labels.others, xys...)
		}
	}
	labels.xys = append(keyXY, restXY...)
	labels.names = append(keyNames, restNames...)
	labels.colors = append(keyCols, restCols...)
	labels.key = len(keyXY)
	xsc := chooseScale(xs, true)
	if pc.RefLabel != "" {
		xsc = chooseScale(append(xs, pc.XRef), true)
	}
	ysc := chooseScale(ys, true)
	if pc.XLinear && xsc.log {
		xsc = linearScale(minOf(xs, pc.XRef, pc.RefLabel != ""), maxOf(xs, pc.XRef, pc.RefLabel != ""), true)
	}
	if pc.YLinear && ysc.log {
		ysc = linearScale(minOf(ys, 0, false), maxOf(ys, 0, false), true)
	}
	if pc.RefLabel != "" {
		ref, err := plotter.NewLine(plotter.XYs{{X: pc.XRef, Y: ysc.min}, {X: pc.XRef, Y: ysc.max}})
		if err != nil {
			return nil, nil, 0, err
		}
		ref.Color, ref.Dashes, ref.Width = color.Gray{Y: 80}, []vg.Length{vg.Points(4), vg.Points(3)}, vg.Points(0.8)
		p.Add(ref)
		legend = append(legend, legendEntry{pc.RefLabel, []plot.Thumbnailer{ref}})
	}
	if len(labels.xys) > 0 {
		p.Add(labels)
	}
	xsc.apply(&p.X)
	ysc.apply(&p.Y)
	return p, legend, height, nil
}

func minOf(v []float64, extra float64, use bool) float64 {
	m := math.Inf(1)
	for _, x := range v {
		m = math.Min(m, x)
	}
	if use {
		m = math.Min(m, extra)
	}
	return m
}

func maxOf(v []float64, extra float64, use bool) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	if use {
		m = math.Max(m, extra)
	}
	return m
}

// bars draws the panel's bars, the first on top, each with its note.
func (pc Panel) bars() (*plot.Plot, error) {
	n := len(pc.Bars)
	p := newPanel(pc.XLabel, "")
	lo, hi := 0.0, 0.0
	names := make([]string, n)
	notes := plotter.XYLabels{XYs: make(plotter.XYs, n), Labels: make([]string, n)}
	for k := range n {
		b := pc.Bars[n-1-k]
		if math.IsNaN(b.Value) || math.IsInf(b.Value, 0) {
			return nil, fmt.Errorf("bar %q: value %g is not finite", b.Category, b.Value)
		}
		names[k] = b.Category
		lo, hi = math.Min(lo, b.Value), math.Max(hi, b.Value)
		vals := make(plotter.Values, n)
		vals[k] = b.Value
		bar, err := plotter.NewBarChart(vals, vg.Points(12))
		if err != nil {
			return nil, err
		}
		bar.Horizontal = true
		bar.LineStyle.Width = 0
		bar.Color = b.Color
		if bar.Color == nil {
			bar.Color = breakdownColors[0]
		}
		p.Add(bar)
		notes.XYs[k] = plotter.XY{X: math.Max(b.Value, 0), Y: float64(k)}
		notes.Labels[k] = b.Note
	}
	lab, err := plotter.NewLabels(notes)
	if err != nil {
		return nil, err
	}
	for i := range lab.TextStyle {
		lab.TextStyle[i] = textStyle(9, false)
		lab.TextStyle[i].YAlign = draw.YCenter
	}
	lab.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(1)}
	p.Add(lab)
	span := hi - lo
	if !(span > 0) {
		span = 1
	}
	p.X.Min, p.X.Max = lo-0.02*span*b2f(lo < 0), hi+0.45*span // room for the notes
	p.X.Tick.Marker = linTicks{}
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
	p.NominalY(names...)
	return p, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// CommonPrefix is the longest common prefix of names that ends in "-" and
// leaves every name non-empty, as the sweep plots drop it from their point
// labels ("" when there is one name or no such prefix).
func CommonPrefix(names []string) string { return labelPrefix(names) }
