package cost

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/quant/intprog"

	"github.com/vimsim/vimsim/vim"
)

// TestEstimateVimTiAnchors ties the whole-network estimate of Vim-Ti on
// systolic16 to the SCALE-Sim values of hardware.md §1.3 and to the model's
// own MAC and parameter counts.
func TestEstimateVimTiAnchors(t *testing.T) {
	cfg := vimTi(t)
	e, err := EstimateModel(arch.Systolic16(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	wantCycles := map[string]int64{"in_proj": 138527, "x_proj": 16145, "x_proj_b": 16145, "dt_proj": 13103, "dt_proj_b": 13103, "out_proj": 64583}
	seen := 0
	for _, c := range e.Ops {
		if w, ok := wantCycles[c.Name]; ok {
			seen++
			if c.ComputeCycles != w {
				t.Errorf("layer %d %s: %d compute cycles, SCALE-Sim %d", c.Layer, c.Name, c.ComputeCycles, w)
			}
		}
	}
	if seen != 24*len(wantCycles) {
		t.Fatalf("saw %d anchored GEMMs", seen)
	}
	var counts datapath.Counters
	for _, c := range e.Ops {
		counts.Add(c.Counts)
	}
	if e.Totals.MACs != cfg.TotalMACs() || e.Totals.Counts != counts {
		t.Errorf("MACs %d, model %d; counts %+v, ops %+v", e.Totals.MACs, cfg.TotalMACs(), e.Totals.Counts, counts)
	}
	L, E, N := int64(cfg.Tokens()), int64(cfg.DInner), int64(cfg.DState)
	if want := 2 * int64(cfg.Depth) * L * E * N; e.Totals.Counts.Exps != want {
		t.Errorf("exps %d, want %d", e.Totals.Counts.Exps, want)
	}
	// Every parameter is read once (GEMM biases of the patch embedding and
	// head are not modelled), plus the input image and the logits.
	if want := cfg.ParamCount() - int64(cfg.Dim) - int64(cfg.Classes); e.Totals.Traffic.Weights != want {
		t.Errorf("weight bytes %d, want %d", e.Totals.Traffic.Weights, want)
	}
	if e.Totals.Traffic.In != int64(cfg.Patches()*cfg.Channels*cfg.Patch*cfg.Patch) || e.Totals.Traffic.Out != int64(cfg.Classes) {
		t.Errorf("network input/output traffic %+v", e.Totals.Traffic)
	}
	if len(e.Layers) != cfg.Depth+2 || e.Layers[0].Name != "embed" || e.Layers[len(e.Layers)-1].Name != "head" {
		t.Fatalf("%d layers", len(e.Layers))
	}
	var serial, stalls int64
	var energy float64
	for _, c := range e.Ops {
		serial += c.Cycles
		stalls += c.StallCycles
		if c.Cycles != c.ComputeCycles+c.StallCycles {
			t.Errorf("%s: cycles %d != %d + %d", c.Name, c.Cycles, c.ComputeCycles, c.StallCycles)
		}
	}
	for _, l := range e.Layers {
		energy += l.Energy.Total()
		if l.PipedCycles > l.SerialCycles {
			t.Errorf("layer %s: pipelined %d > serial %d", l.Name, l.PipedCycles, l.SerialCycles)
		}
	}
	tot := e.Totals
	if tot.Cycles != serial || tot.SerialCycles != serial || tot.StallCycles != stalls || tot.PipelinedCycles >= serial {
		t.Errorf("totals %d/%d/%d stalls %d; ops sum %d stalls %d", tot.Cycles, tot.SerialCycles, tot.PipelinedCycles, tot.StallCycles, serial, stalls)
	}
	if d := energy - tot.Energy.Total(); d > 1e-6*energy || d < -1e-6*energy {
		t.Errorf("layer energy %g, total %g", energy, tot.Energy.Total())
	}
	if tot.Bottleneck != arch.UnitArray || tot.ImagesPerS <= 0 || tot.TOPSPerW <= 0 || tot.ArrayUtil <= 0 || tot.ArrayUtil > 1 {
		t.Errorf("totals %+v", tot)
	}
	// GOPS, latency and energy are consistent with each other.
	if g := 2 * float64(tot.MACs) / (tot.LatencyMS / 1e3) / 1e9; g/tot.GOPS-1 > 1e-12 || tot.GOPS/g-1 > 1e-12 {
		t.Errorf("GOPS %g vs %g", tot.GOPS, g)
	}
}

func TestEstimateOverlapAndScaling(t *testing.T) {
	cfg := vimTi(t)
	ser, _ := EstimateModel(arch.Systolic16(), cfg)
	pip, _ := EstimateModel(arch.Systolic16().WithOverlap(arch.Pipelined), cfg)
	if pip.Totals.Cycles != ser.Totals.PipelinedCycles || pip.Totals.Cycles >= ser.Totals.Cycles {
		t.Errorf("pipelined %d, serial %d (bound %d)", pip.Totals.Cycles, ser.Totals.Cycles, ser.Totals.PipelinedCycles)
	}
	if pip.Totals.Energy.Static >= ser.Totals.Energy.Static || pip.Totals.Energy.Compute() != ser.Totals.Energy.Compute() {
		t.Errorf("overlap should only change static energy")
	}
	prev := int64(1 << 62)
	for _, s := range []arch.Spec{arch.Systolic8(), arch.Systolic16(), arch.Systolic32(), arch.Systolic64()} {
		e, err := EstimateModel(s, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if e.Totals.Cycles >= prev {
			t.Errorf("%s: %d cycles, not fewer than the smaller preset's %d", s.Name, e.Totals.Cycles, prev)
		}
		prev = e.Totals.Cycles
	}
	// Starving the array of bandwidth and buffers makes DRAM the bottleneck.
	slow := arch.Systolic16()
	slow.DRAM.BandwidthGBs = 0.05
	slow.Buffers.ActKiB = 0
	e, _ := EstimateModel(slow, cfg)
	if e.Totals.Bottleneck != arch.UnitDRAM || e.Totals.StallCycles == 0 || e.Totals.Traffic.In == 0 {
		t.Errorf("starved design: bottleneck %s, stalls %d", e.Totals.Bottleneck, e.Totals.StallCycles)
	}
	// Without double buffering every transfer is exposed.
	single := arch.Systolic16()
	single.Buffers.DoubleBuffered = false
	e1, _ := EstimateModel(single, cfg)
	if e1.Totals.StallCycles <= ser.Totals.StallCycles {
		t.Errorf("single-buffered stalls %d <= double-buffered %d", e1.Totals.StallCycles, ser.Totals.StallCycles)
	}
}

func TestEstimateDeterministic(t *testing.T) {
	cfg := vimTi(t)
	var outs [2][3]string
	for i := range outs {
		e, err := EstimateModel(arch.Systolic32().WithFPGA("zcu104", arch.PackDual), cfg)
		if err != nil {
			t.Fatal(err)
		}
		var j, c, a bytes.Buffer
		if err := e.WriteJSON(&j); err != nil {
			t.Fatal(err)
		}
		e.WriteCSV(&c, true)
		e.WriteActionCounts(&a, "yaml")
		outs[i] = [3]string{j.String(), c.String(), a.String()}
	}
	if outs[0] != outs[1] {
		t.Error("two runs differ")
	}
}

func TestEstimateCSV(t *testing.T) {
	e, err := EstimateModel(arch.Systolic16(), vimTi(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, perOp := range []bool{false, true} {
		var buf bytes.Buffer
		if err := e.WriteCSV(&buf, perOp); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := len(e.Layers) + 2
		if perOp {
			want = len(e.Ops) + 2
		}
		if len(rows) != want || rows[len(rows)-1][0] != "total" {
			t.Errorf("perOp=%t: %d rows, want %d", perOp, len(rows), want)
		}
	}
}

func TestEstimateBadInput(t *testing.T) {
	good := lower(t, vimTi(t))
	bad := arch.Systolic16()
	bad.Array.Rows = 0
	if _, err := EstimateOps(bad, "m", good); err == nil || !strings.Contains(err.Error(), "array.rows") {
		t.Errorf("bad spec: %v", err)
	}
	for _, ops := range [][]intprog.Op{
		nil,
		{{Name: "x", Kind: intprog.KindGEMM, Unit: arch.UnitArray, Groups: 1, M: 0, K: 1, N: 1}},
		{{Name: "x", Kind: intprog.KindScan, Unit: arch.UnitScan, Groups: 1, M: 4, K: 0, N: 1}},
		{{Name: "x", Kind: intprog.Kind(42), Unit: arch.UnitArray, Groups: 1, M: 4, K: 1, N: 1}},
		{{Name: "x", Kind: intprog.KindGEMM, Unit: arch.UnitArray, Groups: 1, M: 1 << 30, K: 1, N: 1}},
		{{Name: "x", Kind: intprog.KindGEMM, Unit: arch.UnitVector, Groups: 1, M: 4, K: 1, N: 1}},
		{{Name: "x", Kind: intprog.KindGEMM, Unit: arch.UnitArray, Groups: 3, M: 4, K: 2, N: 1}},
	} {
		if _, err := EstimateOps(arch.Systolic16(), "m", ops); err == nil {
			t.Errorf("ops %+v accepted", ops)
		}
	}
	if _, err := EstimateModel(arch.Systolic16(), vim.Config{Name: "broken"}); err == nil {
		t.Error("invalid config accepted")
	}
}

// BenchmarkEstimateVimTi is the whole Vim-Ti estimate (target ≤ 20 ms).
func BenchmarkEstimateVimTi(b *testing.B) {
	cfg := vimTi(b)
	ops := lower(b, cfg)
	s := arch.Systolic16()
	for b.Loop() {
		if _, err := EstimateOps(s, cfg.Name, ops); err != nil {
			b.Fatal(err)
		}
	}
}
