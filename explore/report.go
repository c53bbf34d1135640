package explore

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"

	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/sim"
)

// Point is one design point: a recipe on an architecture, with the recipe's
// accuracy and the design's cost under it (Cost.Pareto marks the front of
// the exploration, see Points).
type Point struct {
	Recipe   string
	Accuracy Accuracy
	Cost     cost.DesignPoint
}

// Objectives of the front (all minimised).
func (p Point) objectives(withUtil bool) []float64 {
	o := []float64{-float64(p.Accuracy.Top1) / float64(max(p.Accuracy.Images, 1)), p.Cost.UJPerImage, p.Cost.LatencyMS}
	if withUtil {
		o = append(o, p.Cost.Resources.MaxUtil())
	}
	return o
}

// Points returns every (recipe, design) point of t, recipe-major, with the
// Pareto front marked: the points no other point beats in top-1 accuracy
// (higher), energy per image and latency (lower) and, when every design
// targets an FPGA, the utilisation of the most used resource (lower);
// designs that do not fit their FPGA are never on the front.
func (t *Table) Points() []Point {
	var pts []Point
	for r, ri := range t.Recipes {
		for _, c := range t.Costs[r] {
			pts = append(pts, Point{Recipe: ri.Name, Accuracy: t.Accuracy[r], Cost: c})
		}
	}
	markFront(pts)
	return pts
}

func markFront(pts []Point) {
	withUtil := len(pts) > 0
	for _, p := range pts {
		withUtil = withUtil && p.Cost.Resources != nil
	}
	objs := make([][]float64, len(pts))
	eligible := make([]bool, len(pts))
	for i, p := range pts {
		objs[i] = p.objectives(withUtil)
		eligible[i] = p.Cost.Resources == nil || p.Cost.Resources.Fits
	}
	for i, on := range cost.ParetoFront(objs, eligible) {
		pts[i].Cost.Pareto = on
	}
}

// Front returns the indices of the front points of pts, by energy per
// image, then latency, then accuracy (highest first).
func Front(pts []Point) []int {
	var f []int
	for i, p := range pts {
		if p.Cost.Pareto {
			f = append(f, i)
		}
	}
	sort.SliceStable(f, func(a, b int) bool {
		pa, pb := pts[f[a]], pts[f[b]]
		switch {
		case pa.Cost.UJPerImage != pb.Cost.UJPerImage:
			return pa.Cost.UJPerImage < pb.Cost.UJPerImage
		case pa.Cost.LatencyMS != pb.Cost.LatencyMS:
			return pa.Cost.LatencyMS < pb.Cost.LatencyMS
		}
		return pa.Accuracy.Top1 > pb.Accuracy.Top1
	})
	return f
}

// ratesJSON is the report form of an Accuracy.
type ratesJSON struct {
	Top1      float64 `json:"top1"`
	Top5      float64 `json:"top5"`
	Agreement float64 `json:"agreement"`
	SQNRdB    sim.DB  `json:"sqnr_db"`
}

func rates(a Accuracy) ratesJSON {
	return ratesJSON{Top1: a.Top1Rate(), Top5: a.Top5Rate(), Agreement: a.Agreement(), SQNRdB: sim.DB(a.SQNRdB())}
}

// accuracyJSON is the report form of an Accuracy with its counts.
type accuracyJSON struct {
	ratesJSON
	Counts Accuracy `json:"counts"`
}

func reportAccuracy(a Accuracy) accuracyJSON { return accuracyJSON{rates(a), a} }

// WriteJSON writes the table and its points as indented JSON: the space
// (model, data, recipes, designs), the float reference's and every recipe's
// accuracy, and every point with its accuracy, cost and front flag.
func (t *Table) WriteJSON(w io.Writer) error {
	type recipeJSON struct {
		Name   string          `json:"name"`
		Recipe quant.Precision `json:"recipe"`
		accuracyJSON
	}
	type pointJSON struct {
		Recipe string `json:"recipe"`
		ratesJSON
		cost.DesignPoint
	}
	out := struct {
		Model     string       `json:"model"`
		Data      string       `json:"data"`
		Images    int          `json:"images"`
		Reference accuracyJSON `json:"reference"`
		Recipes   []recipeJSON `json:"recipes"`
		Points    []pointJSON  `json:"points"`
	}{Model: t.Model, Data: t.Data, Images: t.Images, Reference: reportAccuracy(t.Reference)}
	for r, ri := range t.Recipes {
		out.Recipes = append(out.Recipes, recipeJSON{Name: ri.Name, Recipe: ri.Recipe, accuracyJSON: reportAccuracy(t.Accuracy[r])})
	}
	for _, p := range t.Points() {
		out.Points = append(out.Points, pointJSON{Recipe: p.Recipe, ratesJSON: rates(p.Accuracy), DesignPoint: p.Cost})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteCSV writes one row per point: the recipe and its accuracy, then the
// design's columns as `vimsim sweep` writes them (cost.WriteSweepCSV, its
// name column called design), the pareto column marking the front of the
// exploration.
func (t *Table) WriteCSV(w io.Writer) error {
	pts := t.Points()
	dps := make([]cost.DesignPoint, len(pts))
	for i, p := range pts {
		dps[i] = p.Cost
	}
	var buf bytes.Buffer
	if err := cost.WriteSweepCSV(&buf, dps); err != nil {
		return err
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		return fmt.Errorf("explore csv: %w", err)
	}
	cw := csv.NewWriter(w)
	rows[0][0] = "design"
	head := append([]string{"recipe", "images", "top1", "top5", "agreement", "sqnr_db"}, rows[0]...)
	if err := cw.Write(head); err != nil {
		return err
	}
	for i, p := range pts {
		a := p.Accuracy
		sq := ""
		if db := a.SQNRdB(); !math.IsInf(db, 0) {
			sq = fmtG(db)
		}
		row := append([]string{p.Recipe, strconv.Itoa(a.Images), fmtG(a.Top1Rate()), fmtG(a.Top5Rate()), fmtG(a.Agreement()), sq}, rows[i+1]...)
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func fmtG(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
