package explore

import (
	"math/rand/v2"
	"testing"

	"github.com/vimsim/vimsim/hw/cost"
)

// bruteFront is the definition: an eligible point is on the front when no
// other eligible point is at least as good in every objective and better
// in one.
func bruteFront(pts []Point, withUtil bool) []bool {
	on := make([]bool, len(pts))
	eligible := func(p Point) bool { return p.Cost.Resources == nil || p.Cost.Resources.Fits }
	for i, p := range pts {
		if !eligible(p) {
			continue
		}
		a := p.objectives(withUtil)
		on[i] = true
		for j, q := range pts {
			if j == i || !eligible(q) {
				continue
			}
			b := q.objectives(withUtil)
			noWorse, better := true, false
			for k := range a {
				if b[k] > a[k] {
					noWorse = false
				}
				if b[k] < a[k] {
					better = true
				}
			}
			if noWorse && better {
				on[i] = false
				break
			}
		}
	}
	return on
}

func TestFrontAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := 1 + rng.IntN(40)
		fpga := trial%3 == 0
		pts := make([]Point, n)
		for i := range pts {
			// Few distinct values, so that ties are common.
			pts[i].Accuracy = Accuracy{Images: 10, Top1: rng.IntN(5)}
			pts[i].Cost.UJPerImage = float64(1 + rng.IntN(6))
			pts[i].Cost.LatencyMS = float64(1 + rng.IntN(6))
			if fpga {
				pts[i].Cost.Resources = &cost.Resources{DSPUtil: float64(rng.IntN(4)) / 4, Fits: rng.IntN(5) > 0}
			}
		}
		markFront(pts)
		want := bruteFront(pts, fpga)
		for i := range pts {
			if pts[i].Cost.Pareto != want[i] {
				t.Fatalf("trial %d point %d %+v: on front %v, want %v", trial, i, pts[i], pts[i].Cost.Pareto, want[i])
			}
		}
	}
}

func TestFrontCases(t *testing.T) {
	pt := func(top1 int, uj, ms float64) Point {
		return Point{Accuracy: Accuracy{Images: 100, Top1: top1}, Cost: cost.DesignPoint{UJPerImage: uj, LatencyMS: ms}}
	}
	misfit := pt(99, 1, 1)
	misfit.Cost.Resources = &cost.Resources{Fits: false, DSPUtil: 2}
	fit := pt(50, 9, 9)
	fit.Cost.Resources = &cost.Resources{Fits: true, DSPUtil: 0.5}
	for _, tc := range []struct {
		name string
		pts  []Point
		want []bool
	}{
		{"one point", []Point{pt(90, 5, 5)}, []bool{true}},
		{"accuracy trades with energy", []Point{pt(90, 5, 5), pt(80, 4, 5)}, []bool{true, true}},
		{"dominated in all three", []Point{pt(90, 5, 5), pt(80, 6, 6)}, []bool{true, false}},
		{"equal points both kept", []Point{pt(90, 5, 5), pt(90, 5, 5)}, []bool{true, true}},
		{"worse accuracy at equal cost", []Point{pt(90, 5, 5), pt(89, 5, 5)}, []bool{true, false}},
		{"a misfit is never on the front", []Point{misfit, fit}, []bool{false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			markFront(tc.pts)
			for i, p := range tc.pts {
				if p.Cost.Pareto != tc.want[i] {
					t.Errorf("point %d: on front %v, want %v", i, p.Cost.Pareto, tc.want[i])
				}
			}
		})
	}
}
