package cost

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// maxBars bounds the designs drawn in the energy breakdown.
const maxBars = 16

// breakdownColors gives each part of Energy.Parts its own colour
// (Tableau 10 plus black).
var breakdownColors = [...]color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
	{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
	{0, 0, 0, 255},
}

func checkPlotFormat(format string) error {
	if format != "png" && format != "svg" {
		return fmt.Errorf("plot format %q: want png or svg", format)
	}
	return nil
}

func render(p *plot.Plot, w, h vg.Length, format string) ([]byte, error) {
	wt, err := p.WriterTo(w, h, format)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", format, err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
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

// PlotFront draws latency (ms) against energy (µJ/image) of every design,
// with the Pareto front highlighted and joined, as "png" or "svg".
func PlotFront(pts []DesignPoint, title, format string) ([]byte, error) {
	if err := checkPlotFormat(format); err != nil {
		return nil, err
	}
	if len(pts) == 0 {
		return nil, fmt.Errorf("plot: no designs")
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "latency (ms/image)"
	p.Y.Label.Text = "energy (µJ/image)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = ticks125{}, ticks125{}
	p.Add(plotter.NewGrid())
	all := make(plotter.XYs, len(pts))
	for i, d := range pts {
		if !(d.LatencyMS > 0 && d.UJPerImage > 0) {
			return nil, fmt.Errorf("plot: design %s has no positive latency and energy", d.Name)
		}
		all[i] = plotter.XY{X: d.LatencyMS, Y: d.UJPerImage}
	}
	sc, err := plotter.NewScatter(all)
	if err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	sc.GlyphStyle.Color = color.Gray{Y: 150}
	sc.GlyphStyle.Radius = vg.Points(2)
	sc.GlyphStyle.Shape = draw.CircleGlyph{}
	p.Add(sc)
	p.Legend.Add("design", sc)
	f := frontOrder(pts)
	if len(f) > 0 {
		front := make(plotter.XYs, len(f))
		for i, j := range f {
			front[i] = plotter.XY{X: pts[j].LatencyMS, Y: pts[j].UJPerImage}
		}
		line, marks, err := plotter.NewLinePoints(front)
		if err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
		line.Color = color.RGBA{R: 200, A: 255}
		marks.GlyphStyle.Color = color.RGBA{R: 200, A: 255}
		marks.GlyphStyle.Radius = vg.Points(3)
		marks.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(line, marks)
		p.Legend.Add("Pareto front", line, marks)
	}
	p.Legend.Top = true
	return render(p, 16*vg.Centimeter, 11*vg.Centimeter, format)
}

// PlotEnergyBreakdown draws stacked bars of the energy per image of up to
// 16 designs (the Pareto front by latency, or the first designs when no
// front is marked), split by unit, memory level and static energy.
func PlotEnergyBreakdown(pts []DesignPoint, title, format string) ([]byte, error) {
	if err := checkPlotFormat(format); err != nil {
		return nil, err
	}
	sel := frontOrder(pts)
	if len(sel) == 0 {
		for i := range pts {
			sel = append(sel, i)
		}
	}
	if len(sel) == 0 {
		return nil, fmt.Errorf("plot: no designs")
	}
	if len(sel) > maxBars {
		sel = sel[:maxBars]
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "energy (µJ/image)"
	names := make([]string, len(sel))
	for i, j := range sel {
		names[i] = pts[j].Name
	}
	parts := (Energy{}).Parts()
	width := vg.Points(math.Max(4, 240/float64(len(sel))))
	var below *plotter.BarChart
	var top float64
	for k, part := range parts {
		vals := make(plotter.Values, len(sel))
		for i, j := range sel {
			vals[i] = pts[j].Energy.Parts()[k].PJ / 1e6
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
		bars.LineStyle.Width = 0
		bars.Color = breakdownColors[k%len(breakdownColors)]
		if below != nil {
			bars.StackOn(below)
		}
		p.Add(bars)
		p.Legend.Add(part.Name, bars)
		below = bars
	}
	for _, j := range sel {
		top = math.Max(top, pts[j].Energy.Total()/1e6)
	}
	p.Y.Min, p.Y.Max = 0, 2.2*top // head room for the legend above the bars
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Legend.Top = true
	p.Legend.Left = false
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	return render(p, 20*vg.Centimeter, 14*vg.Centimeter, format)
}

// ticks125 marks 1, 2 and 5 times each power of ten on a log axis (labelled)
// and the other integer multiples (unlabelled).
type ticks125 struct{}

// Ticks implements plot.Ticker.
func (ticks125) Ticks(min, max float64) []plot.Tick {
	if !(min > 0) || !(max >= min) {
		return nil
	}
	var t []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		p := math.Pow(10, e)
		for m := 1.0; m < 10; m++ {
			v := m * p
			if v < min*(1-1e-9) || v > max*(1+1e-9) {
				continue
			}
			label := ""
			if m == 1 || m == 2 || m == 5 {
				label = strconv.FormatFloat(v, 'f', -1, 64)
			}
			t = append(t, plot.Tick{Value: v, Label: label})
		}
	}
	return t
}
