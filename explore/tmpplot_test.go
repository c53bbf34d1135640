package explore

import (
	"context"
	"os"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
)

func TestTmpPlot(t *testing.T) {
	m := toyModel(t)
	x := newTestExplorer(t, m, 40, 20, nil)
	sp := testSpace(t, m, "W8A8H8,W6A8H8,W4A8H8", "")
	base, _ := arch.ResolveSpec("systolic16")
	base = base.WithFPGA("zcu102", "")
	ss := cost.SweepSpace{Bases: []arch.Spec{base}, Arrays: [][2]int{{8, 8}, {16, 16}, {32, 32}, {64, 64}}, Dataflows: []arch.Dataflow{"os", "ws"}, ScanLanes: []int{8, 32}}
	d, err := ss.Designs()
	if err != nil {
		t.Fatal(err)
	}
	sp.Designs = d
	p, err := x.Run(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	tab, _ := Assemble([]*Partial{p})
	for name, f := range map[string]func(*Table, string) ([]byte, error){"front": PlotFront, "energy": PlotEnergy, "acc": PlotAccuracy} {
		b, err := f(tab, "png")
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile("/tmp/explore-"+name+".png", b, 0o644)
	}
}
