package explore

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/sim"
)

// Colours of the front markers.
var (
	frontInk  = color.RGBA{A: 255}
	misfitInk = color.RGBA{R: 110, G: 110, B: 110, A: 255}
)

// pointLabel names a point "recipe · design" with the designs' common
// prefix dropped.
func pointLabel(p Point, prefix string) string {
	return p.Recipe + " · " + strings.TrimPrefix(p.Cost.Name, prefix)
}

// PlotFront draws the top-1 accuracy of every point against its energy per
// image, its latency and, when every design targets an FPGA, the
// utilisation of its most used resource (one panel each), as "png" or
// "svg": the points of each recipe in its colour, designs that do not fit
// their FPGA as crosses, the Pareto front ringed and labelled "recipe ·
// design".
func PlotFront(t *Table, format string) ([]byte, error) {
	pts := t.Points()
	if len(pts) == 0 {
		return nil, fmt.Errorf("plot: no design point")
	}
	names := make([]string, len(t.Designs))
	for i, d := range t.Designs {
		names[i] = d.Name
	}
	prefix := cost.CommonPrefix(names)
	fpga := true
	for _, p := range pts {
		fpga = fpga && p.Cost.Resources != nil
	}
	type axis struct {
		label string
		x     func(Point) float64
	}
	axes := []axis{
		{"energy (µJ/image)", func(p Point) float64 { return p.Cost.UJPerImage }},
		{"latency (ms/image)", func(p Point) float64 { return p.Cost.LatencyMS }},
	}
	if fpga {
		axes = append(axes, axis{"FPGA utilisation of the most used resource (%)", func(p Point) float64 { return 100 * p.Cost.Resources.MaxUtil() }})
	}
	front := Front(pts)
	frontText := "Pareto front in accuracy, energy and latency"
	if fpga {
		frontText = "Pareto front in accuracy, energy, latency and FPGA utilisation"
	}
	if prefix != "" {
		frontText += " (designs after " + prefix + ")"
	}
	colors := cost.Palette(len(t.Recipes))
	top1 := func(p Point) float64 { return 100 * p.Accuracy.Top1Rate() }
	ch := cost.Chart{Title: fmt.Sprintf("%s: %d recipes × %d designs, top-1 on %d images of %s",
		t.Model, len(t.Recipes), len(t.Designs), t.Images, t.Data), PanelHeight: 7.5}
	for _, ax := range axes {
		pc := cost.Panel{XLabel: ax.label, YLabel: "top-1 accuracy (%)", YLinear: true}
		var misfit cost.Series
		for r, ri := range t.Recipes {
			s := cost.Series{Legend: ri.Name, Color: colors[r], Radius: 2.2}
			for _, p := range pts {
				if p.Recipe != ri.Name {
					continue
				}
				if p.Cost.Resources != nil && !p.Cost.Resources.Fits {
					misfit.X, misfit.Y = append(misfit.X, ax.x(p)), append(misfit.Y, top1(p))
					continue
				}
				s.X, s.Y = append(s.X, ax.x(p)), append(s.Y, top1(p))
			}
			pc.Series = append(pc.Series, s)
		}
		if len(misfit.X) > 0 {
			misfit.Legend, misfit.Color, misfit.Glyph = "does not fit the FPGA", misfitInk, cost.GlyphCross
			pc.Series = append(pc.Series, misfit)
		}
		fs := cost.Series{Legend: frontText, Color: frontInk, Glyph: cost.GlyphRing, Radius: 4.2, Key: true, Labels: []string{}}
		for _, i := range front {
			fs.X, fs.Y = append(fs.X, ax.x(pts[i])), append(fs.Y, top1(pts[i]))
			fs.Labels = append(fs.Labels, pointLabel(pts[i], prefix))
		}
		pc.Series = append(pc.Series, fs)
		if fpga {
			pc.XRef, pc.RefLabel = 100, "100% of the board"
			if ax.label != axes[2].label {
				pc.RefLabel = ""
			}
		}
		ch.Panels = append(ch.Panels, pc)
	}
	return ch.Render(format)
}

// PlotEnergy draws the energy breakdown of up to 16 front points (by
// latency), named "recipe · design" (cost.PlotEnergyBreakdown).
func PlotEnergy(t *Table, format string) ([]byte, error) {
	pts := t.Points()
	names := make([]string, len(t.Designs))
	for i, d := range t.Designs {
		names[i] = d.Name
	}
	prefix := cost.CommonPrefix(names)
	var dps []cost.DesignPoint
	for _, i := range Front(pts) {
		d := pts[i].Cost
		d.Name = pointLabel(pts[i], prefix)
		dps = append(dps, d)
	}
	return cost.PlotEnergyBreakdown(dps, t.Model+": energy per image of the Pareto points", format)
}

// PlotAccuracy draws one bar per recipe: its top-1 accuracy on the integer
// datapath, noted with its agreement with the float reference and its
// logit SQNR, under the float reference's bar.
func PlotAccuracy(t *Table, format string) ([]byte, error) {
	colors := cost.Palette(len(t.Recipes))
	bars := []cost.Bar{{Category: "float reference", Value: 100 * t.Reference.Top1Rate(),
		Note: fmt.Sprintf("%.2f %%", 100*t.Reference.Top1Rate()), Color: color.Gray{Y: 120}}}
	for r, ri := range t.Recipes {
		a := t.Accuracy[r]
		bars = append(bars, cost.Bar{Category: ri.Name, Value: 100 * a.Top1Rate(), Color: colors[r],
			Note: fmt.Sprintf("%.2f %%, agreement %.1f %%, SQNR %s dB", 100*a.Top1Rate(), 100*a.Agreement(), sim.DB(a.SQNRdB()))})
	}
	ch := cost.Chart{Title: fmt.Sprintf("%s: top-1 on the integer datapath, %d images of %s", t.Model, t.Images, t.Data),
		Panels: []cost.Panel{{XLabel: "top-1 accuracy (%)", Bars: bars}}}
	return ch.Render(format)
}

// Colours of the sensitivity bars.
var (
	chosenInk = color.RGBA{R: 200, G: 30, B: 30, A: 255}
	otherInk  = color.RGBA{R: 31, G: 119, B: 180, A: 255}
)

// PlotSensitivity draws one bar per move of a search: its accuracy cost
// measured on the datapath (logit SQNR drop in dB, or top-1 drop in
// points, as the search scored them), noted with the other measure and the
// cost it saves on the design in the first budget's metric; the moves
// chosen in red.
func PlotSensitivity(model string, r *SearchResult, format string) ([]byte, error) {
	chosen := map[int]bool{}
	for _, i := range r.Chosen {
		chosen[i] = true
	}
	metric := r.Budgets[0].Metric
	baseV, err := metricValue(metric, r.Base.Cost)
	if err != nil {
		return nil, err
	}
	var bars []cost.Bar
	for i, s := range r.Moves {
		v, err := metricValue(metric, s.Cost)
		if err != nil {
			return nil, err
		}
		saved := baseV - v
		pct := 0.0
		if baseV > 0 {
			pct = 100 * saved / baseV
		}
		b := cost.Bar{Category: s.Move.Name, Color: otherInk}
		if chosen[i] {
			b.Color = chosenInk
		}
		dsq := float64(s.DSQNR)
		if math.IsInf(dsq, 0) || math.IsNaN(dsq) {
			dsq = 0
		}
		if r.Score == ScoreTop1 {
			b.Value = 100 * s.DTop1
			b.Note = fmt.Sprintf("SQNR −%.2f dB, saves %s %s (%.1f%%)", dsq, fmtSig(saved), metricUnit(metric), pct)
		} else {
			b.Value = dsq
			b.Note = fmt.Sprintf("top-1 %+.2f pp, saves %s %s (%.1f%%)", -100*s.DTop1+0, fmtSig(saved), metricUnit(metric), pct)
		}
		bars = append(bars, b)
	}
	xl := "logit SQNR drop (dB) of the move alone"
	if r.Score == ScoreTop1 {
		xl = "top-1 drop (points) of the move alone"
	}
	ch := cost.Chart{Title: fmt.Sprintf("%s from %s on %s: move sensitivities (red: chosen for %s)",
		model, r.Base.Recipe.String(), r.Design, budgetText(r.Budgets)), Width: 18,
		Panels: []cost.Panel{{XLabel: xl, Bars: bars}}}
	return ch.Render(format)
}

// fmtSig formats v with three significant digits.
func fmtSig(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }
