package cost

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
)

func TestSweepSpaceDesigns(t *testing.T) {
	sp := SweepSpace{
		Bases:     []arch.Spec{arch.Systolic16(), arch.Systolic32()},
		Arrays:    [][2]int{{8, 8}, {16, 32}},
		Dataflows: []arch.Dataflow{arch.OutputStationary, arch.WeightStationary, arch.InputStationary},
		ScanLanes: []int{8, 64},
	}
	ds, err := sp.Designs()
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(ds)) != sp.Size() || len(ds) != 2*2*3*2 {
		t.Fatalf("%d designs, size %d", len(ds), sp.Size())
	}
	if ds[0].Name != "systolic16-8x8-os-scan8" || ds[1].Name != "systolic16-8x8-os-scan64" || ds[2].Name != "systolic16-8x8-ws-scan8" {
		t.Errorf("order/names: %s %s %s", ds[0].Name, ds[1].Name, ds[2].Name)
	}
	last := ds[len(ds)-1]
	if last.Name != "systolic32-16x32-is-scan64" || last.Array.Rows != 16 || last.Array.Cols != 32 || last.Scan.Lanes != 64 ||
		last.Buffers != arch.Systolic32().Buffers {
		t.Errorf("last design %+v", last)
	}
	names := map[string]bool{}
	for _, d := range ds {
		if names[d.Name] {
			t.Errorf("duplicate name %s", d.Name)
		}
		names[d.Name] = true
	}
	// Duplicate bases get distinct names; invalid values are rejected with the design named.
	ds, err = SweepSpace{Bases: []arch.Spec{arch.Systolic8(), arch.Systolic8()}}.Designs()
	if err != nil || ds[0].Name == ds[1].Name {
		t.Errorf("duplicate bases: %v %v", err, ds)
	}
	if _, err := (SweepSpace{Bases: []arch.Spec{arch.Systolic8()}, ScanLanes: []int{0}}).Designs(); err == nil || !strings.Contains(err.Error(), "scan.lanes") {
		t.Errorf("invalid lanes: %v", err)
	}
	if _, err := (SweepSpace{}).Designs(); err == nil {
		t.Error("empty space accepted")
	}
	huge := SweepSpace{Bases: []arch.Spec{arch.Systolic8()}, ScanLanes: make([]int, 1000), BufferKiB: make([]int, 1000)}
	if _, err := huge.Designs(); err == nil {
		t.Error("a million designs accepted")
	}
}

// TestParetoFrontAgainstDefinition compares the sorted front algorithm with
// the definition (no other eligible point dominates) on random points with
// many ties.
func TestParetoFrontAgainstDefinition(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for trial := 0; trial < 300; trial++ {
		n, dims := 1+rng.Intn(60), 2+rng.Intn(2)
		objs := make([][]float64, n)
		elig := make([]bool, n)
		for i := range objs {
			objs[i] = make([]float64, dims)
			for k := range objs[i] {
				objs[i][k] = float64(rng.Intn(8))
			}
			elig[i] = rng.Intn(5) != 0
		}
		got := ParetoFront(objs, elig)
		for i := range objs {
			want := elig[i]
			for j := range objs {
				if want && elig[j] && dominates(objs[j], objs[i]) {
					want = false
				}
			}
			if got[i] != want {
				t.Fatalf("trial %d point %d %v: front %t, definition %t", trial, i, objs[i], got[i], want)
			}
		}
	}
}

func sweepDesigns(t testing.TB, n int) []arch.Spec {
	sp := SweepSpace{
		Bases:     []arch.Spec{arch.Systolic16()},
		Arrays:    [][2]int{{8, 8}, {8, 16}, {16, 16}, {16, 32}, {32, 32}},
		Dataflows: []arch.Dataflow{arch.OutputStationary, arch.WeightStationary},
		ScanLanes: []int{4, 8, 16, 32, 64},
		ScanModes: []arch.ScanMode{arch.ScanSequential, arch.ScanParallelPrefix},
		DRAMGBs:   []float64{4, 12.8, 25.6, 51.2},
		BufferKiB: []int{16, 64, 256, 1024, 4096},
	}
	ds, err := sp.Designs()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) < n {
		t.Fatalf("only %d designs", len(ds))
	}
	return ds[:n]
}

func TestSweepDeterministicAcrossWorkers(t *testing.T) {
	cfg := vimTi(t)
	ds := sweepDesigns(t, 120)
	for i := range ds {
		if i%3 == 0 {
			ds[i] = ds[i].WithFPGA("zcu102", arch.PackDual)
		}
	}
	a, err := Sweep(ds, cfg.Name, lower(t, cfg), 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Sweep(ds, cfg.Name, lower(t, cfg), 4)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("1 and 4 workers differ")
	}
	front := 0
	for i, p := range a {
		if p.Name != ds[i].Name {
			t.Fatalf("point %d is %s, design %s", i, p.Name, ds[i].Name)
		}
		if p.Pareto {
			front++
			if p.Resources != nil && !p.Resources.Fits {
				t.Errorf("%s does not fit but is on the front", p.Name)
			}
		}
	}
	if front == 0 || front == len(a) {
		t.Errorf("%d of %d designs on the front", front, len(a))
	}
	var c1, c2, j bytes.Buffer
	WriteSweepCSV(&c1, a)
	WriteSweepCSV(&c2, b)
	if c1.String() != c2.String() || strings.Count(c1.String(), "\n") != len(a)+1 {
		t.Error("CSV differs or has the wrong row count")
	}
	if err := WriteSweepJSON(&j, a); err != nil {
		t.Fatal(err)
	}
	var back []DesignPoint
	if err := json.Unmarshal(j.Bytes(), &back); err != nil || len(back) != len(a) || back[5].Cycles != a[5].Cycles {
		t.Errorf("JSON round trip: %v", err)
	}
	bad := []arch.Spec{arch.Systolic16(), arch.Systolic16()}
	bad[1].Tech = "nope"
	if _, err := Sweep(bad, cfg.Name, lower(t, cfg), 2); err == nil || !strings.Contains(err.Error(), "tech") {
		t.Errorf("invalid design: %v", err)
	}
}

func TestPlots(t *testing.T) {
	cfg := vimTi(t)
	pts, err := Sweep(sweepDesigns(t, 40), cfg.Name, lower(t, cfg), 0)
	if err != nil {
		t.Fatal(err)
	}
	renderAll(t, pts)
	if _, err := PlotFront(pts, "x", "gif"); err == nil {
		t.Error("gif accepted")
	}
	if _, err := PlotFront(nil, "x", "png"); err == nil {
		t.Error("empty sweep plotted")
	}
}

// BenchmarkSweep1000 evaluates 1,000 designs on Vim-Ti (target ≤ 10 s).
func BenchmarkSweep1000(b *testing.B) {
	cfg := vimTi(b)
	ops := lower(b, cfg)
	ds := sweepDesigns(b, 1000)
	for b.Loop() {
		if _, err := Sweep(ds, cfg.Name, ops, 0); err != nil {
			b.Fatal(err)
		}
	}
}
