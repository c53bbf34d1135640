package traces

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
)

type parsedEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  float64        `json:"dur"`
	Tid  int            `json:"tid"`
	Args map[string]any `json:"args"`
}

// TestChromeTrace checks the schedule in both overlap modes: slices on one
// track never overlap, the layer slices tile [0, total cycles], every
// operation lies inside its layer and lasts its compute cycles, and the
// output is deterministic.
func TestChromeTrace(t *testing.T) {
	cfg := testModel(t)
	for _, ov := range []arch.Overlap{arch.Serial, arch.Pipelined} {
		s := arch.Systolic16().WithOverlap(ov)
		e, err := cost.EstimateModel(s, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var a, b bytes.Buffer
		if err := WriteChromeTrace(&a, e); err != nil {
			t.Fatal(err)
		}
		if err := WriteChromeTrace(&b, e); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("%s: two renders differ", ov)
		}
		var doc struct {
			TraceEvents []parsedEvent `json:"traceEvents"`
		}
		if err := json.Unmarshal(a.Bytes(), &doc); err != nil {
			t.Fatalf("%s: %v", ov, err)
		}
		mhz := s.ClockMHz
		cyc := func(us float64) int64 { return int64(math.Round(us * mhz)) }
		byTid := map[int][]parsedEvent{}
		for _, ev := range doc.TraceEvents {
			if ev.Ph == "X" {
				byTid[ev.Tid] = append(byTid[ev.Tid], ev)
			}
		}
		for tid, evs := range byTid {
			sort.Slice(evs, func(i, j int) bool { return evs[i].Ts < evs[j].Ts })
			for i := 1; i < len(evs); i++ {
				if cyc(evs[i].Ts) < cyc(evs[i-1].Ts+evs[i-1].Dur) {
					t.Errorf("%s: track %d: %s overlaps %s", ov, tid, evs[i].Name, evs[i-1].Name)
				}
			}
		}
		layers := byTid[layersTid]
		if len(layers) != len(e.Layers) {
			t.Fatalf("%s: %d layer slices, want %d", ov, len(layers), len(e.Layers))
		}
		var end int64
		for i, l := range layers {
			if cyc(l.Ts) != end || cyc(l.Dur) != e.Layers[i].Cycles {
				t.Errorf("%s: layer %s at %d for %d cycles, want %d for %d", ov, l.Name, cyc(l.Ts), cyc(l.Dur), end, e.Layers[i].Cycles)
			}
			end += e.Layers[i].Cycles
		}
		if end != e.Totals.Cycles {
			t.Errorf("%s: layers end at %d, total %d", ov, end, e.Totals.Cycles)
		}
		ops := 0
		for tid, evs := range byTid {
			if tid == layersTid || tid == unitTid(arch.UnitDRAM) {
				continue
			}
			for _, ev := range evs {
				ops++
				if cyc(ev.Dur) != int64(ev.Args["compute_cycles"].(float64)) {
					t.Errorf("%s: %s lasts %d cycles, computes %v", ov, ev.Name, cyc(ev.Dur), ev.Args["compute_cycles"])
				}
				inside := false
				for _, l := range layers {
					if cyc(ev.Ts) >= cyc(l.Ts) && cyc(ev.Ts+ev.Dur) <= cyc(l.Ts+l.Dur) {
						inside = true
					}
				}
				if !inside {
					t.Errorf("%s: %s outside every layer", ov, ev.Name)
				}
			}
		}
		if ops != len(e.Ops) {
			t.Errorf("%s: %d op slices for %d ops", ov, ops, len(e.Ops))
		}
	}
	bad := cost.Estimate{Arch: arch.Systolic16()}
	bad.Arch.ClockMHz = 0
	var buf bytes.Buffer
	if err := WriteChromeTrace(&buf, bad); err == nil {
		t.Error("zero clock accepted")
	}
}
