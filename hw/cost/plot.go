package cost

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"
	"strings"

	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// maxBars bounds the designs drawn in the energy breakdown.
const maxBars = 16

// maxAllLabels is the largest sweep whose designs off the front are
// labelled too.
const maxAllLabels = 12

// plotDPI is the resolution of PNG plots: sharp when pasted into a report
// at their physical size (16 cm wide).
const plotDPI = 200

// breakdownColors gives each part of Energy.Parts its own colour
// (Tableau 10 plus dark grey).
var breakdownColors = [...]color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
	{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
	{60, 60, 60, 255},
}

// Colours of the front plot.
var (
	frontRed   = color.RGBA{R: 200, G: 30, B: 30, A: 255}
	otherGrey  = color.RGBA{R: 150, G: 150, B: 150, A: 255}
	misfitGrey = color.RGBA{R: 110, G: 110, B: 110, A: 255}
)

func checkPlotFormat(format string) error {
	if format != "png" && format != "svg" {
		return fmt.Errorf("plot format %q: want png or svg", format)
	}
	return nil
}

// sans is the plot font: Liberation Sans of the given size in points.
func sans(size float64, bold bool) font.Font {
	f := font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(size)}
	if bold {
		f.Weight = stdfont.WeightBold
	}
	return f
}

// textStyle is a text style in the plot font.
func textStyle(size float64, bold bool) text.Style {
	return text.Style{Color: color.Black, Font: sans(size, bold), Handler: plot.DefaultTextHandler}
}

// newPanel returns a plot with the report fonts: 11 pt axis labels, 10 pt
// tick labels, a light grid.
func newPanel(xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = sans(11, false)
		ax.Tick.Label.Font = sans(10, false)
	}
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 225}
	g.Horizontal.Color = color.Gray{Y: 225}
	p.Add(g)
	return p
}

// legendEntry is one item of a figure legend.
type legendEntry struct {
	text   string
	thumbs []plot.Thumbnailer
}

// figure is a title, a legend row and one or more panels stacked
// vertically (sharing their x axis), drawn on one page.
type figure struct {
	title  string
	legend []legendEntry
	panels []*plot.Plot
	w, h   vg.Length
}

// legend layout constants.
const (
	legendFont  = 10.0
	thumbWidth  = vg.Length(16)
	entryGap    = vg.Length(14)
	figurePad   = vg.Length(6)
	thumbToText = vg.Length(4)
)

// legendRows lays the legend out in rows no wider than width and returns
// the entries of each row.
func (f *figure) legendRows(width vg.Length) [][]legendEntry {
	sty := textStyle(legendFont, false)
	var rows [][]legendEntry
	var x vg.Length
	for _, e := range f.legend {
		w := thumbWidth + thumbToText + sty.Width(e.text)
		if len(rows) == 0 || x+w > width {
			rows = append(rows, nil)
			x = 0
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], e)
		x += w + entryGap
	}
	return rows
}

// drawLegend draws the legend rows centred below top and returns the
// height used.
func (f *figure) drawLegend(c draw.Canvas, top vg.Length) vg.Length {
	sty := textStyle(legendFont, false)
	sty.YAlign = draw.YCenter
	lineH := sty.Height("Mg") * 1.5
	y := top
	for _, row := range f.legendRows(c.Max.X - c.Min.X - 2*figurePad) {
		var w vg.Length
		for i, e := range row {
			if i > 0 {
				w += entryGap
			}
			w += thumbWidth + thumbToText + sty.Width(e.text)
		}
		x := (c.Min.X+c.Max.X)/2 - w/2
		mid := y - lineH/2
		for _, e := range row {
			tc := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: x, Y: mid - lineH/4}, Max: vg.Point{X: x + thumbWidth, Y: mid + lineH/4}}}
			for _, t := range e.thumbs {
				t.Thumbnail(&tc)
			}
			x += thumbWidth + thumbToText
			c.FillText(sty, vg.Point{X: x, Y: mid}, e.text)
			x += sty.Width(e.text) + entryGap
		}
		y -= lineH
	}
	return top - y
}

// render draws the figure as PNG (at plotDPI) or SVG.
func (f *figure) render(format string) ([]byte, error) {
	var cw vg.CanvasWriterTo
	switch format {
	case "png":
		cw = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(f.w, f.h), vgimg.UseDPI(plotDPI))}
	case "svg":
		cw = vgsvg.New(f.w, f.h) // Liberation Sans: Arial metrics where it is not installed
	default:
		return nil, checkPlotFormat(format)
	}
	dc := draw.New(cw)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	top := dc.Max.Y - figurePad
	if f.title != "" {
		sty := textStyle(12, true)
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
		dc.FillText(sty, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: top}, f.title)
		top -= sty.Height(f.title) + figurePad/2
	}
	top -= f.drawLegend(dc, top) + figurePad/2
	area := draw.Crop(dc, figurePad, -2*figurePad, figurePad, 0)
	area.Max.Y = top
	if len(f.panels) == 1 {
		f.panels[0].Draw(area)
	} else {
		grid := make([][]*plot.Plot, len(f.panels))
		for i, p := range f.panels {
			grid[i] = []*plot.Plot{p}
		}
		cs := plot.Align(grid, draw.Tiles{Rows: len(f.panels), Cols: 1, PadY: 2 * figurePad}, area)
		for i, p := range f.panels {
			p.Draw(cs[i][0])
		}
	}
	var buf bytes.Buffer
	if _, err := cw.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("render %s: %w", format, err)
	}
	return buf.Bytes(), nil
}

// frontOrder returns the indices of the Pareto designs by latency.
func frontOrder(pts []DesignPoint) []int {
	var f []int
	for i, p := range pts {
		if p.Pareto {
			f = append(f, i)
		}
	}
	sort.SliceStable(f, func(a, b int) bool {
		pa, pb := pts[f[a]], pts[f[b]]
		if pa.LatencyMS != pb.LatencyMS {
			return pa.LatencyMS < pb.LatencyMS
		}
		return pa.UJPerImage < pb.UJPerImage
	})
	return f
}

// checkPlottable reports the first design whose latency or energy cannot
// be drawn (not finite, or negative: the model never yields those).
func checkPlottable(pts []DesignPoint) error {
	if len(pts) == 0 {
		return fmt.Errorf("plot: no designs")
	}
	for _, d := range pts {
		for _, v := range []struct {
			name string
			x    float64
		}{{"latency_ms", d.LatencyMS}, {"uj_per_image", d.UJPerImage}} {
			if math.IsNaN(v.x) || math.IsInf(v.x, 0) || v.x < 0 {
				return fmt.Errorf("plot: design %s: %s %g is not a finite non-negative number", d.Name, v.name, v.x)
			}
		}
		if r := d.Resources; r != nil && (math.IsNaN(r.MaxUtil()) || math.IsInf(r.MaxUtil(), 0) || r.MaxUtil() < 0) {
			return fmt.Errorf("plot: design %s: FPGA utilisation %g is not a finite non-negative number", d.Name, r.MaxUtil())
		}
	}
	return nil
}

// labelPrefix is the longest common prefix of names that ends in "-" and
// leaves every name non-empty, for shorter point labels ("" when there is
// one name or no such prefix).
func labelPrefix(names []string) string {
	if len(names) < 2 {
		return ""
	}
	p := names[0]
	for _, n := range names[1:] {
		for !strings.HasPrefix(n, p) {
			p = p[:len(p)-1]
		}
	}
	p = p[:strings.LastIndex(p, "-")+1]
	for _, n := range names {
		if len(n) == len(p) {
			return ""
		}
	}
	return p
}

// nameLabels is a plotter that writes a name next to each of its points,
// placed at draw time where it covers no point and no other label (see
// placeLabels), on a white backing, with a leader line when it had to move
// away from its point. The first key names (the front) have priority: they
// are placed first and may cover the unlabelled points if they must.
type nameLabels struct {
	xys    plotter.XYs
	names  []string
	colors []color.Color // of each name
	key    int
	others plotter.XYs // the unlabelled points
	line   plotter.XYs // a polyline to keep clear of when possible
	radius vg.Length   // of the point glyphs
}

// Plot implements plot.Plotter.
func (l *nameLabels) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	sty := textStyle(8.5, false)
	r := l.radius + 1
	sc := labelScene{bounds: c.Rectangle, gap: r + 2}
	box := func(x, y, r vg.Length) vg.Rectangle {
		return vg.Rectangle{Min: vg.Point{X: x - r, Y: y - r}, Max: vg.Point{X: x + r, Y: y + r}}
	}
	for _, q := range l.xys {
		x, y := tx(q.X), ty(q.Y)
		sc.points = append(sc.points, vg.Point{X: x, Y: y})
		sc.hard = append(sc.hard, box(x, y, r))
	}
	for _, q := range l.others {
		x, y := tx(q.X), ty(q.Y)
		sc.points = append(sc.points, vg.Point{X: x, Y: y})
		sc.dim = append(sc.dim, box(x, y, r))
	}
	for i := 1; i < len(l.line); i++ {
		a := vg.Point{X: tx(l.line[i-1].X), Y: ty(l.line[i-1].Y)}
		b := vg.Point{X: tx(l.line[i].X), Y: ty(l.line[i].Y)}
		n := int(math.Max(math.Abs(float64(b.X-a.X)), math.Abs(float64(b.Y-a.Y)))/2) + 1
		for k := 0; k <= n && n < 10000; k++ {
			f := vg.Length(k) / vg.Length(n)
			sc.line = append(sc.line, box(a.X+f*(b.X-a.X), a.Y+f*(b.Y-a.Y), 1))
		}
	}
	xys, names, colors, key := mergeCoincident(l.xys, l.names, l.colors, l.key)
	anchors := make([]vg.Point, len(xys))
	sizes := make([]vg.Point, len(xys))
	const padText = 1.5
	for i, q := range xys {
		anchors[i] = vg.Point{X: tx(q.X), Y: ty(q.Y)}
		rect := sty.Rectangle(names[i])
		sizes[i] = vg.Point{X: rect.Size().X + 2*padText, Y: rect.Size().Y + 2*padText}
	}
	for i, pl := range placeLabels(anchors, sizes, sc, key) {
		if !pl.ok {
			continue
		}
		if pl.leader {
			end := vg.Point{X: clamp(anchors[i].X, pl.box.Min.X, pl.box.Max.X), Y: clamp(anchors[i].Y, pl.box.Min.Y, pl.box.Max.Y)}
			c.StrokeLine2(draw.LineStyle{Color: color.Gray{Y: 110}, Width: vg.Points(0.5)}, anchors[i].X, anchors[i].Y, end.X, end.Y)
		}
		c.SetColor(color.NRGBA{R: 255, G: 255, B: 255, A: 215})
		c.Fill(pl.box.Path())
		rect := sty.Rectangle(names[i])
		sty.Color = colors[i]
		c.FillText(sty, vg.Point{X: pl.box.Min.X + padText - rect.Min.X, Y: pl.box.Min.Y + padText - rect.Min.Y}, names[i])
	}
}

// mergeCoincident joins the names of points at the same place into one
// label ("a, b, c", or "a, b, c +N" beyond three), in first-seen order, with
// the colour of the first; the key labels stay first and are counted again.
func mergeCoincident(xys plotter.XYs, names []string, colors []color.Color, key int) (plotter.XYs, []string, []color.Color, int) {
	var outXY plotter.XYs
	var outNames [][]string
	var outColors []color.Color
	at := map[plotter.XY]int{}
	outKey := 0
	for i, q := range xys {
		if j, ok := at[q]; ok {
			outNames[j] = append(outNames[j], names[i])
			continue
		}
		if i < key {
			outKey++
		}
		at[q] = len(outXY)
		outXY = append(outXY, q)
		outNames = append(outNames, []string{names[i]})
		outColors = append(outColors, colors[i])
	}
	joined := make([]string, len(outNames))
	for i, n := range outNames {
		if len(n) > 3 {
			joined[i] = fmt.Sprintf("%s +%d", strings.Join(n[:3], ", "), len(n)-3)
		} else {
			joined[i] = strings.Join(n, ", ")
		}
	}
	return outXY, joined, outColors, outKey
}

func clamp(v, lo, hi vg.Length) vg.Length { return max(lo, min(v, hi)) }

// scatter returns a scatter plotter of xys with the given glyph.
func scatter(xys plotter.XYs, col color.Color, shape draw.GlyphDrawer, radius vg.Length) (*plotter.Scatter, error) {
	s, err := plotter.NewScatter(xys)
	if err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	s.GlyphStyle = draw.GlyphStyle{Color: col, Shape: shape, Radius: radius}
	return s, nil
}

// PlotFront draws every design's latency (ms/image) against its energy
// (µJ/image), as "png" or "svg": the Pareto designs in red, labelled with
// their names, joined into the front when it has two objectives. When the
// designs target an FPGA, a second panel below, on the same latency axis,
// shows the utilisation of each design's most used resource, so the third
// objective of the front is visible; designs that do not fit are crosses.
// Axes are logarithmic when the values span a factor of 3 or more, else
// linear; any set of finite non-negative values draws, including one design
// or equal values.
func PlotFront(pts []DesignPoint, title, format string) ([]byte, error) {
	if err := checkPlotFormat(format); err != nil {
		return nil, err
	}
	if err := checkPlottable(pts); err != nil {
		return nil, err
	}
	fpga, threeObj := frontObjectives(pts)
	var lat, uj, util []float64
	names := make([]string, len(pts))
	for i, d := range pts {
		lat = append(lat, d.LatencyMS)
		uj = append(uj, d.UJPerImage)
		names[i] = d.Name
		if d.Resources != nil {
			util = append(util, 100*d.Resources.MaxUtil())
		}
	}
	xs := chooseScale(lat, true)
	prefix := labelPrefix(names)
	const r = 2.6 // glyph radius in points

	// Split the designs: front, other fitting, not fitting.
	type group struct {
		energy, usage plotter.XYs
	}
	var front, other, misfit group
	var frontNames []string
	for _, i := range frontOrder(pts) {
		d := pts[i]
		front.energy = append(front.energy, plotter.XY{X: d.LatencyMS, Y: d.UJPerImage})
		if d.Resources != nil {
			front.usage = append(front.usage, plotter.XY{X: d.LatencyMS, Y: 100 * d.Resources.MaxUtil()})
		}
		frontNames = append(frontNames, strings.TrimPrefix(d.Name, prefix))
	}
	for _, d := range pts {
		if d.Pareto {
			continue
		}
		g := &other
		if d.Resources != nil && !d.Resources.Fits {
			g = &misfit
		}
		g.energy = append(g.energy, plotter.XY{X: d.LatencyMS, Y: d.UJPerImage})
		if d.Resources != nil {
			g.usage = append(g.usage, plotter.XY{X: d.LatencyMS, Y: 100 * d.Resources.MaxUtil()})
		}
	}

	fig := &figure{title: title, w: 16 * vg.Centimeter, h: 11 * vg.Centimeter}
	xlabel := "latency (ms/image)"
	top := newPanel(xlabel, "energy (µJ/image)")
	var bottom *plot.Plot
	if fpga {
		fig.h = 16 * vg.Centimeter
		ulabel := "FPGA utilisation (%)"
		if !threeObj {
			ulabel = "FPGA utilisation (%, designs with a board)"
		}
		bottom = newPanel(xlabel, ulabel)
	}
	// Draw order: others, misfits, the front line, the front points, labels.
	otherThumb, misfitThumb, frontThumb := plot.Thumbnailer(nil), plot.Thumbnailer(nil), plot.Thumbnailer(nil)
	var lineThumb plot.Thumbnailer
	add := func(p *plot.Plot, xys plotter.XYs, col color.Color, shape draw.GlyphDrawer, rad vg.Length, thumb *plot.Thumbnailer) error {
		if len(xys) == 0 {
			return nil
		}
		s, err := scatter(xys, col, shape, rad)
		if err != nil {
			return err
		}
		p.Add(s)
		*thumb = s
		return nil
	}
	for _, panel := range []struct {
		p    *plot.Plot
		pick func(group) plotter.XYs
	}{{top, func(g group) plotter.XYs { return g.energy }}, {bottom, func(g group) plotter.XYs { return g.usage }}} {
		if panel.p == nil {
			continue
		}
		if err := add(panel.p, panel.pick(other), otherGrey, draw.CircleGlyph{}, vg.Points(r*0.8), &otherThumb); err != nil {
			return nil, err
		}
		if err := add(panel.p, panel.pick(misfit), misfitGrey, draw.CrossGlyph{}, vg.Points(r), &misfitThumb); err != nil {
			return nil, err
		}
		if f := panel.pick(front); len(f) > 1 && !threeObj {
			line, err := plotter.NewLine(f)
			if err != nil {
				return nil, fmt.Errorf("plot: %w", err)
			}
			line.Color, line.Width = frontRed, vg.Points(1.2)
			panel.p.Add(line)
			lineThumb = line
		}
		if err := add(panel.p, panel.pick(front), frontRed, draw.CircleGlyph{}, vg.Points(r), &frontThumb); err != nil {
			return nil, err
		}
	}
	labels := &nameLabels{xys: front.energy, names: frontNames, key: len(frontNames), radius: vg.Points(r)}
	for range frontNames {
		labels.colors = append(labels.colors, color.Black)
	}
	if !threeObj {
		labels.line = front.energy
	}
	for _, d := range pts {
		if d.Pareto {
			continue
		}
		q := plotter.XY{X: d.LatencyMS, Y: d.UJPerImage}
		if len(pts) <= maxAllLabels {
			// A small sweep: name the other designs too, in grey.
			labels.xys = append(labels.xys, q)
			labels.names = append(labels.names, strings.TrimPrefix(d.Name, prefix))
			labels.colors = append(labels.colors, color.Gray{Y: 100})
		} else {
			labels.others = append(labels.others, q)
		}
	}
	top.Add(labels)
	xs.apply(&top.X)
	chooseScale(uj, true).apply(&top.Y)
	var capLine *plotter.Line
	if bottom != nil {
		// The top panel shares the latency axis drawn under the bottom one.
		top.X.Label.Text = ""
		top.X.Tick.Marker = unlabelled{top.X.Tick.Marker}
		xs.apply(&bottom.X)
		// Utilisation reads best on a linear axis from 0; a log one only
		// when a design needs many times the board.
		us := chooseScale(append(util, 0, 100), true)
		if slices.Max(util) > 400 {
			us = chooseScale(append(util, 100), true)
		}
		us.apply(&bottom.Y)
		var err error
		if capLine, err = plotter.NewLine(plotter.XYs{{X: xs.min, Y: 100}, {X: xs.max, Y: 100}}); err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
		capLine.Color, capLine.Dashes, capLine.Width = color.Gray{Y: 80}, []vg.Length{vg.Points(4), vg.Points(3)}, vg.Points(0.8)
		bottom.Add(capLine)
		fig.panels = []*plot.Plot{top, bottom}
	} else {
		fig.panels = []*plot.Plot{top}
	}

	// Legend.
	frontText := "Pareto front in latency and energy"
	if threeObj {
		frontText = "Pareto-optimal in latency, energy and utilisation"
	}
	if prefix != "" {
		frontText += " (names after " + prefix + ")"
	}
	if otherThumb != nil {
		fig.legend = append(fig.legend, legendEntry{"other designs", []plot.Thumbnailer{otherThumb}})
	}
	if misfitThumb != nil {
		fig.legend = append(fig.legend, legendEntry{"does not fit the FPGA", []plot.Thumbnailer{misfitThumb}})
	}
	if frontThumb != nil {
		th := []plot.Thumbnailer{frontThumb}
		if lineThumb != nil {
			th = []plot.Thumbnailer{lineThumb, frontThumb}
		}
		fig.legend = append(fig.legend, legendEntry{frontText, th})
	}
	if capLine != nil {
		fig.legend = append(fig.legend, legendEntry{"100% of the board", []plot.Thumbnailer{capLine}})
	}
	return fig.render(format)
}

// partLabel is the legend text of an energy part.
func partLabel(name string) string {
	switch {
	case strings.HasPrefix(name, "sram_"):
		return "SRAM " + strings.TrimPrefix(name, "sram_")
	case name == "dram":
		return "DRAM"
	case name == "static":
		return "static (leakage)"
	case name == "array":
		return "MAC array"
	}
	return name
}

// PlotEnergyBreakdown draws horizontal stacked bars of the energy per image
// of up to 16 designs (the Pareto front by latency, fastest on top, or the
// first designs when no front is marked), split by unit, memory level and
// static energy, with the total at the end of each bar, as "png" or "svg".
// Parts that are zero in every drawn design are left out of the legend.
func PlotEnergyBreakdown(pts []DesignPoint, title, format string) ([]byte, error) {
	if err := checkPlotFormat(format); err != nil {
		return nil, err
	}
	if err := checkPlottable(pts); err != nil {
		return nil, err
	}
	sel := frontOrder(pts)
	if len(sel) == 0 {
		for i := range pts {
			sel = append(sel, i)
		}
	}
	if len(sel) > maxBars {
		sel = sel[:maxBars]
	}
	n := len(sel)
	// Bar k (from the bottom) is design sel[n-1-k].
	names := make([]string, n)
	var top float64
	for k := range n {
		d := pts[sel[n-1-k]]
		names[k] = d.Name
		if tot := d.Energy.Total(); math.IsInf(tot, 0) || math.IsNaN(tot) {
			return nil, fmt.Errorf("plot: design %s: energy total %g is not finite", d.Name, tot)
		}
		top = math.Max(top, d.Energy.Total()/1e6)
	}
	p := newPanel("energy (µJ/image)", "")
	fig := &figure{title: title, w: 18 * vg.Centimeter, h: 5*vg.Centimeter + vg.Length(n)*0.8*vg.Centimeter}
	var below *plotter.BarChart
	for pi, part := range (Energy{}).Parts() {
		vals := make(plotter.Values, n)
		var any bool
		for k := range n {
			v := pts[sel[n-1-k]].Energy.Parts()[pi].PJ / 1e6
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return nil, fmt.Errorf("plot: design %s: energy part %s %g is not a finite non-negative number",
					names[k], part.Name, v)
			}
			vals[k] = v
			any = any || v > 0
		}
		if !any {
			continue
		}
		bars, err := plotter.NewBarChart(vals, vg.Points(15))
		if err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
		bars.Horizontal = true
		bars.LineStyle.Width = 0
		bars.Color = breakdownColors[pi%len(breakdownColors)]
		if below != nil {
			bars.StackOn(below)
		}
		p.Add(bars)
		fig.legend = append(fig.legend, legendEntry{partLabel(part.Name), []plot.Thumbnailer{bars}})
		below = bars
	}
	totals := plotter.XYLabels{XYs: make(plotter.XYs, n), Labels: make([]string, n)}
	for k := range n {
		t := pts[sel[n-1-k]].Energy.Total() / 1e6
		totals.XYs[k] = plotter.XY{X: t, Y: float64(k)}
		totals.Labels[k] = formatSig(t) + " µJ"
	}
	lab, err := plotter.NewLabels(totals)
	if err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	for i := range lab.TextStyle {
		lab.TextStyle[i] = textStyle(9, false)
		lab.TextStyle[i].YAlign = draw.YCenter
	}
	lab.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(1)}
	p.Add(lab)
	if !(top > 0) {
		top = 1
	}
	p.X.Min, p.X.Max = 0, top*1.2 // room for the totals
	p.X.Tick.Marker = linTicks{}
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
	p.NominalY(names...)
	fig.panels = []*plot.Plot{p}
	return fig.render(format)
}

// formatSig formats v with three significant digits, without exponent for
// the usual magnitudes.
func formatSig(v float64) string {
	if v == 0 {
		return "0"
	}
	dec := max(0, 2-int(math.Floor(math.Log10(math.Abs(v)))))
	if dec > 6 {
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.*f", dec, v)
}
