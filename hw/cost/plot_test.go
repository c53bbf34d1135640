package cost

import (
	"bytes"
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
)

// point is a design point with the given latency and energy (all of it
// DRAM energy) and, when util >= 0, an FPGA utilisation.
func point(name string, ms, uj, util float64) DesignPoint {
	p := DesignPoint{Name: name, LatencyMS: ms, UJPerImage: uj, Energy: Energy{DRAM: uj * 1e6, Static: uj * 1e5}}
	if util >= 0 {
		p.Resources = &Resources{Board: "zcu104", DSPUtil: util, Fits: util <= 1}
	}
	return p
}

// renderAll draws both plots in both formats twice, failing on a panic, an
// error, a bad header or two renders that differ.
func renderAll(t *testing.T, pts []DesignPoint) {
	t.Helper()
	for _, format := range []string{"png", "svg"} {
		for name, plot := range map[string]func([]DesignPoint, string, string) ([]byte, error){
			"front": PlotFront, "energy": PlotEnergyBreakdown} {
			var a, b []byte
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("%s %s: panic: %v", name, format, r)
					}
				}()
				var err error
				if a, err = plot(pts, "test", format); err != nil {
					t.Fatalf("%s %s: %v", name, format, err)
				}
				b, _ = plot(pts, "test", format)
			}()
			if !bytes.Equal(a, b) {
				t.Errorf("%s %s: two renders differ", name, format)
			}
			if format == "png" && !bytes.HasPrefix(a, []byte("\x89PNG\r\n\x1a\n")) {
				t.Errorf("%s: not a PNG", name)
			}
			if format == "svg" && !bytes.Contains(a, []byte("<svg")) {
				t.Errorf("%s: not an SVG", name)
			}
		}
	}
}

// TestPlotDegenerateRanges draws every kind of range that used to reach a
// degenerate log axis (gonum panics on it): one design, equal latencies
// (--array 16,16,16, --tech a,b), equal energies, zeros, huge spans, and
// FPGA sweeps with and without boards.
func TestPlotDegenerateRanges(t *testing.T) {
	tests := map[string][]DesignPoint{
		"one design":           {point("systolic16", 0.529, 48.1, -1)},
		"equal designs":        {point("a-16x16", 0.529, 48.1, -1), point("a-16x16#2", 0.529, 48.1, -1), point("a-16x16#3", 0.529, 48.1, -1)},
		"equal latency":        {point("s-horowitz45", 0.529, 48.1, -1), point("s-tpuv4i-7nm", 0.529, 33.5, -1)},
		"equal energy":         {point("a", 0.2, 50, -1), point("b", 0.9, 50, -1)},
		"zero energy":          {point("a", 0.2, 0, -1), point("b", 0.3, 0, -1)},
		"zero and positive":    {point("a", 0, 10, -1), point("b", 0.3, 0, -1), point("c", 5, 1000, -1)},
		"all zero":             {point("a", 0, 0, -1)},
		"tiny":                 {point("a", 1e-300, 1e-300, -1), point("b", 2e-300, 3e-300, -1)},
		"huge span":            {point("a", 1e-200, 1e-250, -1), point("b", 1e200, 1e250, -1)},
		"near-equal":           {point("a", 0.5, 48.1, -1), point("b", 0.5*(1+1e-15), 48.1*(1-1e-15), -1)},
		"one FPGA design":      {point("a", 0.5, 48, 0.3)},
		"FPGA none fit":        {point("a", 0.5, 48, 1.3), point("b", 0.6, 40, 2)},
		"FPGA huge overuse":    {point("a", 0.5, 48, 0.2), point("b", 0.3, 60, 30)},
		"FPGA mixed with none": {point("a", 0.5, 48, 0.2), point("b", 0.3, 60, -1), point("c", 0.2, 70, 1.5)},
	}
	var many []DesignPoint
	rng := rand.New(rand.NewSource(1))
	for i := range 300 {
		many = append(many, point(fmt.Sprintf("systolic16-%dx%d-scan%d", 8<<(i%4), 8<<(i/4%4), i), 0.1+rng.Float64(), 30+60*rng.Float64(), -1))
	}
	tests["300 designs"] = many
	for name, pts := range tests {
		t.Run(name, func(t *testing.T) {
			markFront(pts)
			renderAll(t, pts)
		})
	}
}

// TestPlotRefusesUndrawable checks the one-line errors for values no axis
// can show, naming the design.
func TestPlotRefusesUndrawable(t *testing.T) {
	for _, pts := range [][]DesignPoint{
		{point("ok", 1, 1, -1), point("bad", math.NaN(), 1, -1)},
		{point("ok", 1, 1, -1), point("bad", 1, math.Inf(1), -1)},
		{point("ok", 1, 1, -1), point("bad", -1, 1, -1)},
		{point("ok", 1, 1, 0.5), {Name: "bad", LatencyMS: 1, UJPerImage: 2, Resources: &Resources{DSPUtil: math.NaN()}}},
	} {
		for _, plot := range []func([]DesignPoint, string, string) ([]byte, error){PlotFront, PlotEnergyBreakdown} {
			_, err := plot(pts, "t", "png")
			if err == nil || !strings.Contains(err.Error(), "design bad") || strings.Contains(err.Error(), "\n") {
				t.Errorf("%+v: error %v, want one line naming design bad", pts[1], err)
			}
		}
	}
	if _, err := PlotEnergyBreakdown(nil, "t", "png"); err == nil {
		t.Error("empty breakdown plotted")
	}
}

// TestMixedFPGAFront checks that a sweep mixing designs with and without a
// board ranks them on latency and energy only (utilisation is not
// comparable), keeping misfits off the front.
func TestMixedFPGAFront(t *testing.T) {
	pts := []DesignPoint{point("fpga", 1, 1, 0.5), point("asic", 2, 2, -1), point("misfit", 0.5, 0.5, 1.5), point("asic2", 0.8, 3, -1)}
	markFront(pts)
	got := fmt.Sprint(pts[0].Pareto, pts[1].Pareto, pts[2].Pareto, pts[3].Pareto)
	if got != "true false false true" {
		t.Errorf("front %s, want true false false true", got)
	}
	if any, all := frontObjectives(pts); !any || all {
		t.Errorf("frontObjectives = %t, %t", any, all)
	}
}

func TestChooseScale(t *testing.T) {
	tests := []struct {
		vals   []float64
		log    bool
		nonNeg bool
	}{
		{[]float64{30, 90}, true, true},
		{[]float64{45, 52}, false, true},
		{[]float64{0.5}, false, true},
		{[]float64{0, 0}, false, true},
		{[]float64{0, 100}, false, true},
		{[]float64{-3, -3}, false, false},
		{[]float64{1e-300, 1e300}, true, true},
		{[]float64{5, 5, 5}, false, true},
	}
	for _, tc := range tests {
		s := chooseScale(tc.vals, tc.nonNeg)
		if s.log != tc.log || !(s.max > s.min) || math.IsInf(s.max, 0) || math.IsInf(s.min, 0) {
			t.Errorf("chooseScale(%v) = %+v, want log %t and a proper range", tc.vals, s, tc.log)
		}
		for _, v := range tc.vals {
			if v < s.min || v > s.max {
				t.Errorf("chooseScale(%v) = %+v leaves out %g", tc.vals, s, v)
			}
		}
		if tc.nonNeg && s.min < 0 {
			t.Errorf("chooseScale(%v) = %+v goes below zero", tc.vals, s)
		}
		if s.log && !(s.min > 0) {
			t.Errorf("chooseScale(%v) = %+v: log axis from %g", tc.vals, s, s.min)
		}
	}
}

// TestLogTicks checks the labels of typical log ranges and, on random
// ranges, that every range gets at least two labels, that labels read as
// their values and that no two are closer than logLabelSep of the axis.
func TestLogTicks(t *testing.T) {
	want := map[[2]float64]string{
		{30, 90}:     "30 40 50 60 70 80 90",
		{0.25, 1.2}:  "0.3 0.4 0.5 0.6 0.7 0.8 1",
		{1, 1000}:    "1 2 5 10 20 50 100 200 500 1000",
		{1e-3, 1e9}:  "0.001 0.01 0.1 1 10 100 1000 10000 100000 1e+06 1e+07 1e+08 1e+09",
		{1e-40, 1e0}: "1e-40 1e-37 1e-34 1e-31 1e-28 1e-25 1e-22 1e-19 1e-16 1e-13 1e-10 1e-07 0.0001 0.1",
	}
	for r, w := range want {
		var got []string
		for _, tk := range (logTicks{}).Ticks(r[0], r[1]) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if strings.Join(got, " ") != w {
			t.Errorf("log ticks %v: %q, want %q", r, strings.Join(got, " "), w)
		}
	}
	rng := rand.New(rand.NewSource(3))
	for trial := 0; trial < 2000; trial++ {
		lo := math.Pow(10, 20*rng.Float64()-10)
		hi := lo * math.Pow(10, math.Log10(logRatio)+6*rng.Float64()*rng.Float64())
		var xs []float64
		for _, tk := range (logTicks{}).Ticks(lo, hi) {
			if tk.Value < lo*(1-1e-9) || tk.Value > hi*(1+1e-9) {
				t.Fatalf("[%g, %g]: tick %g outside", lo, hi, tk.Value)
			}
			if tk.Label == "" {
				continue
			}
			v, err := strconv.ParseFloat(tk.Label, 64)
			if err != nil || math.Abs(v-tk.Value) > 1e-9*tk.Value {
				t.Fatalf("[%g, %g]: label %q for %g", lo, hi, tk.Label, tk.Value)
			}
			for _, x := range xs {
				if math.Abs(math.Log10(v)-x) < logLabelSep*math.Log10(hi/lo)*(1-1e-6) {
					t.Fatalf("[%g, %g]: label %q too close to another", lo, hi, tk.Label)
				}
			}
			xs = append(xs, math.Log10(v))
		}
		if len(xs) < 2 {
			t.Fatalf("[%g, %g]: %d labels", lo, hi, len(xs))
		}
	}
}

// TestLinTicks checks on random ranges that a linear axis gets three to
// eleven labels that read as their values.
func TestLinTicks(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for trial := 0; trial < 2000; trial++ {
		lo := (rng.Float64() - 0.3) * math.Pow(10, 8*rng.Float64()-4)
		hi := lo + math.Pow(10, 8*rng.Float64()-4)
		n := 0
		for _, tk := range (linTicks{}).Ticks(lo, hi) {
			if tk.Label == "" {
				continue
			}
			n++
			v, err := strconv.ParseFloat(tk.Label, 64)
			if err != nil || math.Abs(v-tk.Value) > 1e-6*(hi-lo) {
				t.Fatalf("[%g, %g]: label %q for %g", lo, hi, tk.Label, tk.Value)
			}
			if tk.Value < lo-1e-9*(hi-lo) || tk.Value > hi+1e-9*(hi-lo) {
				t.Fatalf("[%g, %g]: tick %g outside", lo, hi, tk.Value)
			}
		}
		if n < 3 || n > 11 {
			t.Fatalf("[%g, %g]: %d labels", lo, hi, n)
		}
	}
}

// TestPlaceLabels checks on random crowded scenes that placed labels stay
// inside the frame and overlap neither each other nor a point.
func TestPlaceLabels(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	bounds := vg.Rectangle{Max: vg.Point{X: 400, Y: 250}}
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.Intn(40)
		var anchors, sizes []vg.Point
		var hard []vg.Rectangle
		for range n {
			a := vg.Point{X: vg.Length(rng.Float64() * 400), Y: vg.Length(rng.Float64() * 250)}
			anchors = append(anchors, a)
			sizes = append(sizes, vg.Point{X: vg.Length(20 + rng.Float64()*60), Y: 10})
			hard = append(hard, vg.Rectangle{Min: vg.Point{X: a.X - 3, Y: a.Y - 3}, Max: vg.Point{X: a.X + 3, Y: a.Y + 3}})
		}
		places := placeLabels(anchors, sizes, labelScene{bounds: bounds, hard: hard, points: anchors, gap: 5}, n/2)
		var boxes []vg.Rectangle
		placed := 0
		for i, p := range places {
			if !p.ok {
				continue
			}
			placed++
			if !inside(p.box, bounds) || overlapsAny(p.box, hard) || overlapsAny(p.box, boxes) {
				t.Fatalf("trial %d: label %d at %v overlaps or leaves the frame", trial, i, p.box)
			}
			if math.Abs(float64(p.box.Size().X-sizes[i].X)) > 1e-9 {
				t.Fatalf("trial %d: label %d resized", trial, i)
			}
			boxes = append(boxes, p.box)
		}
		if n <= 5 && placed < n {
			t.Errorf("trial %d: %d of %d labels placed in an empty frame", trial, placed, n)
		}
	}
}

func TestLabelPrefix(t *testing.T) {
	tests := []struct {
		names []string
		want  string
	}{
		{[]string{"systolic16-8x8-os", "systolic16-32x32-ws"}, "systolic16-"},
		{[]string{"systolic16-8x8", "systolic16-8x16"}, "systolic16-"},
		{[]string{"systolic16", "systolic16-8x8"}, ""},
		{[]string{"systolic8", "systolic16"}, ""},
		{[]string{"a-b"}, ""},
		{[]string{"é-x", "é-y"}, "é-"},
	}
	for _, tc := range tests {
		if got := labelPrefix(tc.names); got != tc.want {
			t.Errorf("labelPrefix(%q) = %q, want %q", tc.names, got, tc.want)
		}
	}
}

// FuzzPlotFront draws up to four designs with arbitrary latency, energy and
// utilisation: never a panic; an error only for a value no axis can show
// (NaN, infinite, negative), naming the design on one line.
func FuzzPlotFront(f *testing.F) {
	f.Add(0.5, 48.0, 0.5, 48.0, -1.0, 4)
	f.Add(0.0, 0.0, 1e-300, 1e300, 0.3, 2)
	f.Add(1.0, 1.0, 1.0, 1.0, 2.0, 3)
	f.Add(math.MaxFloat64, 5e-324, 3.0, 0.0, 1e9, 1)
	f.Fuzz(func(t *testing.T, l1, e1, l2, e2, util float64, n int) {
		n = 1 + (n&0xff)%4
		pts := []DesignPoint{point("a", l1, e1, util), point("b", l2, e2, -1), point("c", l1, e2, util), point("d", l2, e1, util/2)}[:n]
		markFront(pts)
		bad := false
		for _, p := range pts {
			vals := []float64{p.LatencyMS, p.UJPerImage, p.Energy.Total()}
			for _, part := range p.Energy.Parts() {
				vals = append(vals, part.PJ)
			}
			for _, v := range vals {
				bad = bad || math.IsNaN(v) || math.IsInf(v, 0) || v < 0
			}
			if p.Resources != nil {
				u := p.Resources.MaxUtil()
				bad = bad || math.IsNaN(u) || math.IsInf(u, 0) || u < 0
			}
		}
		for _, plot := range []func([]DesignPoint, string, string) ([]byte, error){PlotFront, PlotEnergyBreakdown} {
			b, err := plot(pts, "fuzz", "svg")
			switch {
			case err != nil && (!bad || strings.Contains(err.Error(), "\n")):
				t.Fatalf("%+v: %v", pts, err)
			case err == nil && !bytes.Contains(b, []byte("<svg")):
				t.Fatal("not an SVG")
			}
		}
	})
}
