package scalesim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// record is one SCALE-Sim run as tools/scalesim/make_records.py and the
// shared fixture store it.
type record struct {
	ID        string `json:"id"`
	Shape     string `json:"shape"`
	M         int    `json:"M"`
	K         int    `json:"K"`
	N         int    `json:"N"`
	R         int    `json:"R"`
	C         int    `json:"C"`
	Dataflow  string `json:"dataflow"`
	Bandwidth int    `json:"bandwidth_words_per_cycle"`
	SRAMKiB   struct {
		Ifmap  int `json:"ifmap"`
		Filter int `json:"filter"`
		Ofmap  int `json:"ofmap"`
	} `json:"sram_kb"`
	// Conv, when present, is the convolution layer of the run (a conv
	// topology); otherwise the run is the GEMM M, K, N.
	Conv *struct {
		IfmapH, IfmapW, FilterH, FilterW, Channels, Filters, StrideH, StrideW int
	} `json:"conv"`

	TotalCycles     int64   `json:"total_cycles"`
	StallCycles     int64   `json:"stall_cycles"`
	StallFreeCycles int64   `json:"stall_free_cycles"`
	OverallUtilPct  float64 `json:"overall_util_pct"`
	MappingEffPct   float64 `json:"mapping_eff_pct"`
	ComputeUtilPct  float64 `json:"compute_util_pct"`
	SRAMReads       struct {
		Ifmap  int64 `json:"ifmap"`
		Filter int64 `json:"filter"`
	} `json:"sram_reads"`
	SRAMWrites struct {
		Ofmap int64 `json:"ofmap"`
	} `json:"sram_writes"`
	DRAMReads struct {
		Ifmap  int64 `json:"ifmap"`
		Filter int64 `json:"filter"`
	} `json:"dram_reads"`
	DRAMWrites struct {
		Ofmap int64 `json:"ofmap"`
	} `json:"dram_writes"`
	DRAMCycles struct {
		Ifmap  [2]float64 `json:"ifmap"`
		Filter [2]float64 `json:"filter"`
		Ofmap  [2]float64 `json:"ofmap"`
	} `json:"dram_cycles"`
	SRAMCycles *struct {
		Ifmap  [2]float64 `json:"ifmap"`
		Filter [2]float64 `json:"filter"`
		Ofmap  [2]float64 `json:"ofmap"`
	} `json:"sram_cycles"`
	AvgBW struct {
		SRAMIfmap  float64 `json:"sram_ifmap"`
		SRAMFilter float64 `json:"sram_filter"`
		SRAMOfmap  float64 `json:"sram_ofmap"`
		DRAMIfmap  float64 `json:"dram_ifmap"`
		DRAMFilter float64 `json:"dram_filter"`
		DRAMOfmap  float64 `json:"dram_ofmap"`
	} `json:"avg_bw_words_per_cycle"`
	Seconds    float64 `json:"scalesim_seconds"`
	CPUSeconds float64 `json:"scalesim_cpu_seconds"`
}

func (r record) config(t testing.TB) Config {
	df, err := ParseDataflow(r.Dataflow)
	if err != nil {
		t.Fatalf("%s: %v", r.ID, err)
	}
	return DefaultConfig(r.R, r.C, df, r.SRAMKiB.Ifmap, r.SRAMKiB.Filter, r.SRAMKiB.Ofmap, r.Bandwidth)
}

func (r record) layer() Layer {
	if r.Conv != nil {
		c := r.Conv
		return Layer{Name: r.ID, IfmapH: c.IfmapH, IfmapW: c.IfmapW, FilterH: c.FilterH, FilterW: c.FilterW,
			Channels: c.Channels, Filters: c.Filters, StrideH: c.StrideH, StrideW: c.StrideW}
	}
	return GEMMLayer(r.ID, r.M, r.K, r.N)
}

func loadRecords(t testing.TB, name string) []record {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		N       int      `json:"n"`
		Records []record `json:"records"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(doc.Records) == 0 || len(doc.Records) != doc.N {
		t.Fatalf("%s: %d records, header says %d", name, len(doc.Records), doc.N)
	}
	return doc.Records
}

// diff lists every field where the report departs from the record.
func (r record) diff(got LayerReport) []string {
	var d []string
	ints := []struct {
		name      string
		got, want int64
	}{
		{"total_cycles", got.TotalCycles, r.TotalCycles},
		{"stall_cycles", got.StallCycles, r.StallCycles},
		{"stall_free_cycles", got.ComputeCycles(), r.StallFreeCycles},
		{"sram_reads.ifmap", got.SRAMIfmapReads.Words, r.SRAMReads.Ifmap},
		{"sram_reads.filter", got.SRAMFilterReads.Words, r.SRAMReads.Filter},
		{"sram_writes.ofmap", got.SRAMOfmapWrites.Words, r.SRAMWrites.Ofmap},
		{"dram_reads.ifmap", got.DRAMIfmapReads.Words, r.DRAMReads.Ifmap},
		{"dram_reads.filter", got.DRAMFilterReads.Words, r.DRAMReads.Filter},
		{"dram_writes.ofmap", got.DRAMOfmapWrites.Words, r.DRAMWrites.Ofmap},
	}
	for _, f := range ints {
		if f.got != f.want {
			d = append(d, fmt.Sprintf("%s %d, SCALE-Sim %d", f.name, f.got, f.want))
		}
	}
	floats := []struct {
		name      string
		got, want float64
	}{
		{"overall_util_pct", got.OverallUtilPct, r.OverallUtilPct},
		{"mapping_eff_pct", got.MappingEffPct, r.MappingEffPct},
		{"compute_util_pct", got.ComputeUtilPct, r.ComputeUtilPct},
		{"dram_cycles.ifmap[0]", float64(got.DRAMIfmapReads.Start), r.DRAMCycles.Ifmap[0]},
		{"dram_cycles.ifmap[1]", float64(got.DRAMIfmapReads.Stop), r.DRAMCycles.Ifmap[1]},
		{"dram_cycles.filter[0]", float64(got.DRAMFilterReads.Start), r.DRAMCycles.Filter[0]},
		{"dram_cycles.filter[1]", float64(got.DRAMFilterReads.Stop), r.DRAMCycles.Filter[1]},
		{"dram_cycles.ofmap[0]", float64(got.DRAMOfmapWrites.Start), r.DRAMCycles.Ofmap[0]},
		{"dram_cycles.ofmap[1]", float64(got.DRAMOfmapWrites.Stop), r.DRAMCycles.Ofmap[1]},
		{"avg_bw.sram_ifmap", got.SRAMIfmapBandwidth(), r.AvgBW.SRAMIfmap},
		{"avg_bw.sram_filter", got.SRAMFilterBandwidth(), r.AvgBW.SRAMFilter},
		{"avg_bw.sram_ofmap", got.SRAMOfmapBandwidth(), r.AvgBW.SRAMOfmap},
		{"avg_bw.dram_ifmap", got.DRAMIfmapReads.Bandwidth(), r.AvgBW.DRAMIfmap},
		{"avg_bw.dram_filter", got.DRAMFilterReads.Bandwidth(), r.AvgBW.DRAMFilter},
		{"avg_bw.dram_ofmap", got.DRAMOfmapWrites.Bandwidth(), r.AvgBW.DRAMOfmap},
	}
	if s := r.SRAMCycles; s != nil {
		floats = append(floats, []struct {
			name      string
			got, want float64
		}{
			{"sram_cycles.ifmap[0]", float64(got.SRAMIfmapReads.Start), s.Ifmap[0]},
			{"sram_cycles.ifmap[1]", float64(got.SRAMIfmapReads.Stop), s.Ifmap[1]},
			{"sram_cycles.filter[0]", float64(got.SRAMFilterReads.Start), s.Filter[0]},
			{"sram_cycles.filter[1]", float64(got.SRAMFilterReads.Stop), s.Filter[1]},
			{"sram_cycles.ofmap[0]", float64(got.SRAMOfmapWrites.Start), s.Ofmap[0]},
			{"sram_cycles.ofmap[1]", float64(got.SRAMOfmapWrites.Stop), s.Ofmap[1]},
		}...)
	}
	for _, f := range floats {
		if f.got != f.want {
			d = append(d, fmt.Sprintf("%s %v, SCALE-Sim %v", f.name, f.got, f.want))
		}
	}
	return d
}

// checkRecords runs every record and requires every field equal.
func checkRecords(t *testing.T, name string) {
	recs := loadRecords(t, name)
	bad := 0
	for _, r := range recs {
		got, err := SimulateLayer(r.config(t), r.layer())
		if err != nil {
			t.Errorf("%s: %v", r.ID, err)
			bad++
			continue
		}
		if d := r.diff(got); len(d) > 0 {
			t.Errorf("%s (%s %dx%d M=%d K=%d N=%d sram %d/%d/%d bw %d): %v", r.ID, r.Dataflow, r.R, r.C, r.M, r.K, r.N,
				r.SRAMKiB.Ifmap, r.SRAMKiB.Filter, r.SRAMKiB.Ofmap, r.Bandwidth, d)
			bad++
		}
	}
	t.Logf("%s: %d of %d records equal in every field", name, len(recs)-bad, len(recs))
}

// TestSharedFixture checks the 108 SCALE-Sim records of
// ../shared/fixtures/scalesim-user-bw.
func TestSharedFixture(t *testing.T) { checkRecords(t, "fixture_records.json") }

// TestRandomRecords checks the records made by tools/scalesim/make_records.py
// on random GEMMs, arrays, buffer sizes and bandwidths.
func TestRandomRecords(t *testing.T) { checkRecords(t, "random_records.json") }

// TestConvRecords checks records of random convolution topologies:
// overlapping windows, strides whose last window runs past the edge, 1×1.
func TestConvRecords(t *testing.T) { checkRecords(t, "conv_records.json") }

// TestGridRecords checks the runs of the 396-run grid (BenchmarkGrid396)
// that the shared fixture does not hold.
func TestGridRecords(t *testing.T) { checkRecords(t, "grid_records.json") }
