package cost

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/quant/intprog"
)

// scalesimRecord is the part of a SCALE-Sim record (hw/cost/scalesim's
// testdata, the shared fixture's format) that the scalesim memory mode
// reports.
type scalesimRecord struct {
	ID       string `json:"id"`
	M, K, N  int
	R, C     int
	Dataflow string `json:"dataflow"`
	SRAMKiB  struct {
		Ifmap  int `json:"ifmap"`
		Filter int `json:"filter"`
		Ofmap  int `json:"ofmap"`
	} `json:"sram_kb"`
	Bandwidth   int        `json:"bandwidth_words_per_cycle"`
	Total       int64      `json:"total_cycles"`
	Stall       int64      `json:"stall_cycles"`
	StallFree   int64      `json:"stall_free_cycles"`
	SRAMReads   ReadWords  `json:"sram_reads"`
	SRAMWrites  WriteWords `json:"sram_writes"`
	DRAMReads   ReadWords  `json:"dram_reads"`
	DRAMWrites  WriteWords `json:"dram_writes"`
	OverallUtil float64    `json:"overall_util_pct"`
}

func loadSCALESimRecords(t *testing.T, name string) []scalesimRecord {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("scalesim", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Records []scalesimRecord `json:"records"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var gemms []scalesimRecord
	for _, r := range doc.Records {
		if r.M > 0 { // convolution records carry no GEMM shape here
			gemms = append(gemms, r)
		}
	}
	if len(gemms) == 0 {
		t.Fatalf("%s: no GEMM records", name)
	}
	return gemms
}

// recordSpec is a spec whose array, buffers and bandwidth are the record's
// SCALE-Sim configuration: a 1 GHz clock makes GB/s equal bytes (words)
// per cycle.
func recordSpec(t *testing.T, r scalesimRecord) arch.Spec {
	t.Helper()
	df, err := arch.ParseDataflow(r.Dataflow)
	if err != nil {
		t.Fatal(err)
	}
	s := arch.Systolic16().WithDataflow(df).WithMemory(arch.MemorySCALESim)
	s.Name = r.ID
	s.Array.Rows, s.Array.Cols = r.R, r.C
	s.Buffers.IfmapKiB, s.Buffers.FilterKiB, s.Buffers.OfmapKiB = r.SRAMKiB.Ifmap, r.SRAMKiB.Filter, r.SRAMKiB.Ofmap
	s.ClockMHz = 1000
	s.DRAM.BandwidthGBs = float64(r.Bandwidth)
	if err := s.Validate(); err != nil {
		t.Fatalf("%s: %v", r.ID, err)
	}
	return s
}

// TestSCALESimModeRecords runs every GEMM record of SCALE-Sim v2 (the
// shared fixture, the grid and the random records) through the cost model
// in the scalesim memory mode, as a one-op workload, and compares every
// field the mode reports: cycles, stalls, SRAM reads and writes and DRAM
// reads and writes per operand.
func TestSCALESimModeRecords(t *testing.T) {
	files := []string{"fixture_records.json", "grid_records.json", "random_records.json"}
	if testing.Short() {
		files = files[:1]
	}
	n := 0
	for _, file := range files {
		for _, r := range loadSCALESimRecords(t, file) {
			n++
			s := recordSpec(t, r)
			op := intprog.Op{Name: "gemm", Kind: intprog.KindGEMM, Unit: arch.UnitArray, M: r.M, K: r.K, N: r.N, Groups: 1}
			e, err := EstimateOps(s, r.ID, []intprog.Op{op})
			if err != nil {
				t.Fatalf("%s: %v", r.ID, err)
			}
			c := e.Ops[0]
			got := c.SCALESim
			if got == nil {
				t.Fatalf("%s: no SCALE-Sim counts", r.ID)
			}
			if got.TotalCycles != r.Total || got.StallCycles != r.Stall || got.ComputeCycles != r.StallFree ||
				got.SRAMReads != r.SRAMReads || got.SRAMWrites != r.SRAMWrites ||
				got.DRAMReads != r.DRAMReads || got.DRAMWrites != r.DRAMWrites || got.OverallUtilPct != r.OverallUtil {
				t.Errorf("%s: got %+v\nSCALE-Sim %+v", r.ID, *got, r)
				continue
			}
			// The op's own fields carry the same numbers.
			if c.Cycles != r.Total || c.StallCycles != r.Stall || c.ComputeCycles != r.StallFree ||
				c.Traffic.Total() != r.DRAMReads.Ifmap+r.DRAMReads.Filter+r.DRAMWrites.Ofmap ||
				c.Actions.IfmapRead != r.SRAMReads.Ifmap || c.Actions.FilterRead != r.SRAMReads.Filter ||
				c.Actions.OfmapWrite != r.SRAMWrites.Ofmap || c.Actions.DRAMRead != r.DRAMReads.Ifmap+r.DRAMReads.Filter ||
				c.Actions.DRAMWrite != r.DRAMWrites.Ofmap || e.Totals.Cycles != r.Total || e.Totals.StallCycles != r.Stall {
				t.Errorf("%s: op %+v\ntotals cycles %d stalls %d", r.ID, c, e.Totals.Cycles, e.Totals.StallCycles)
			}
		}
	}
	t.Logf("%d SCALE-Sim GEMM records equal", n)
}

// TestSCALESimModeModel checks the mode on a whole model: the GEMMs take
// SCALE-Sim's numbers, the other ops keep the default model with every
// activation through DRAM (no activation buffer), and the default mode is
// untouched by the existence of the other.
func TestSCALESimModeModel(t *testing.T) {
	cfg := vimTi(t)
	def := arch.Systolic16()
	ss := def.WithMemory(arch.MemorySCALESim)
	noAct := def
	noAct.Buffers.ActKiB = 0
	e, err := EstimateModel(ss, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := EstimateModel(noAct, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Ops) != len(ref.Ops) {
		t.Fatalf("%d ops, default %d", len(e.Ops), len(ref.Ops))
	}
	var stalls int64
	for i, c := range e.Ops {
		if c.Kind != intprog.KindGEMM.String() {
			if c.SCALESim != nil || c.Cycles != ref.Ops[i].Cycles || c.Traffic != ref.Ops[i].Traffic || c.Actions != ref.Ops[i].Actions {
				t.Errorf("%s (layer %d): stream op differs from the default model without an activation buffer", c.Name, c.Layer)
			}
			continue
		}
		want, err := SimulateGEMM(ss, c.Name, GEMM{c.M, c.K, c.N})
		if err != nil {
			t.Fatal(err)
		}
		if c.SCALESim == nil || *c.SCALESim != want || c.Tiling != nil {
			t.Fatalf("%s (layer %d): %+v, want %+v", c.Name, c.Layer, c.SCALESim, want)
		}
		if c.ComputeCycles != ref.Ops[i].ComputeCycles {
			t.Errorf("%s: compute cycles %d, default model %d (both SCALE-Sim's)", c.Name, c.ComputeCycles, ref.Ops[i].ComputeCycles)
		}
		if want.Bandwidth != 64 || want.IfmapKiB != 64 {
			t.Errorf("systolic16 as SCALE-Sim: %+v", want)
		}
		stalls += c.StallCycles
	}
	if e.Totals.StallCycles < stalls {
		t.Errorf("total stalls %d below the GEMMs' %d", e.Totals.StallCycles, stalls)
	}
	again, err := EstimateModel(def, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range again.Ops {
		if c.SCALESim != nil {
			t.Fatalf("default mode carries SCALE-Sim counts")
		}
	}
}

// grid396Specs are the 396 runs of peers.md §1 (hw/cost/scalesim's
// BenchmarkGrid396) as one-GEMM workloads on specs in the scalesim memory
// mode: vim-fmnist's 5 and Vim-Ti's 6 GEMMs on 16×16 and 32×32, OS/WS/IS,
// buffers 64/64/64 and 256/256/128 KiB, 4, 16 and 64 words per cycle.
func grid396Specs(t testing.TB) (specs []arch.Spec, ops [][]intprog.Op) {
	gemms := []struct {
		name    string
		m, k, n int
	}{
		{"fm_patch_embed", 49, 16, 64}, {"fm_in_proj", 50, 64, 256}, {"fm_x_proj", 50, 128, 20},
		{"fm_dt_proj", 50, 4, 128}, {"fm_out_proj", 50, 128, 64},
		{"ti_patch_embed", 196, 768, 192}, {"ti_in_proj", 197, 192, 768}, {"ti_x_proj", 197, 384, 44},
		{"ti_dt_proj", 197, 12, 384}, {"ti_out_proj", 197, 384, 192}, {"ti_head", 1, 192, 1000},
	}
	for _, g := range gemms {
		for _, a := range []int{16, 32} {
			for _, df := range []arch.Dataflow{arch.OutputStationary, arch.WeightStationary, arch.InputStationary} {
				for _, kib := range [][3]int{{64, 64, 64}, {256, 256, 128}} {
					for _, bw := range []int{4, 16, 64} {
						s := arch.Systolic16().WithDataflow(df).WithMemory(arch.MemorySCALESim)
						s.Array.Rows, s.Array.Cols = a, a
						s.Buffers.IfmapKiB, s.Buffers.FilterKiB, s.Buffers.OfmapKiB = kib[0], kib[1], kib[2]
						s.ClockMHz, s.DRAM.BandwidthGBs = 1000, float64(bw)
						if err := s.Validate(); err != nil {
							t.Fatal(err)
						}
						specs = append(specs, s)
						ops = append(ops, []intprog.Op{{Name: g.name, Kind: intprog.KindGEMM, Unit: arch.UnitArray, M: g.m, K: g.k, N: g.n, Groups: 1}})
					}
				}
			}
		}
	}
	return specs, ops
}

// BenchmarkGrid396SCALESimMode costs the whole 396-run grid through the
// cost model in the scalesim memory mode (one EstimateOps per run, energy
// and all). SCALE-Sim v2 itself takes about 6,200 s for the grid on this
// kind of machine (peers.md §1); the s/grid metric is the time of one pass.
func BenchmarkGrid396SCALESimMode(b *testing.B) {
	specs, ops := grid396Specs(b)
	if len(specs) != 396 {
		b.Fatalf("%d runs", len(specs))
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for j := range specs {
			if _, err := EstimateOps(specs[j], "grid", ops[j]); err != nil {
				b.Fatal(err)
			}
		}
	}
	perGrid := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perGrid, "s/grid")
	b.ReportMetric(6200/perGrid, "x_vs_scalesim")
}
