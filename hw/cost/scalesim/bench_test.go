package scalesim

import "testing"

// grid396 is the 396-run grid of ../shared/reference/peers.md §1: the five
// GEMMs of vim-fmnist and the six of Vim-Ti (M, K, N as in the shared
// fixture's README), on 16×16 and 32×32 arrays, with the three dataflows,
// two SRAM configurations and 4, 16 and 64 words per cycle: 11 × 2 × 3 × 2
// × 3 = 396. Configuration A (64/64/64 KiB) is the fixture's. B is not
// written down anywhere; 256/256/128 KiB (ifmap/filter/ofmap) is the one
// configuration of power-of-two buffers from 16 KiB to 1 MiB that reproduces both counts
// peers.md gives for the grid: 292 runs without stalls, and 46 runs whose
// ofmap write-back rate exceeds the bandwidth.
func grid396() []struct {
	c Config
	l Layer
} {
	gemms := []struct {
		name    string
		m, k, n int
	}{
		{"fm_patch_embed", 49, 16, 64}, {"fm_in_proj", 50, 64, 256}, {"fm_x_proj", 50, 128, 20},
		{"fm_dt_proj", 50, 4, 128}, {"fm_out_proj", 50, 128, 64},
		{"ti_patch_embed", 196, 768, 192}, {"ti_in_proj", 197, 192, 768}, {"ti_x_proj", 197, 384, 44},
		{"ti_dt_proj", 197, 12, 384}, {"ti_out_proj", 197, 384, 192}, {"ti_head", 1, 192, 1000},
	}
	var out []struct {
		c Config
		l Layer
	}
	for _, g := range gemms {
		for _, a := range []int{16, 32} {
			for _, df := range []Dataflow{OutputStationary, WeightStationary, InputStationary} {
				for _, kib := range [][3]int{{64, 64, 64}, {256, 256, 128}} {
					for _, bw := range []int{4, 16, 64} {
						out = append(out, struct {
							c Config
							l Layer
						}{DefaultConfig(a, a, df, kib[0], kib[1], kib[2], bw), GEMMLayer(g.name, g.m, g.k, g.n)})
					}
				}
			}
		}
	}
	return out
}

// BenchmarkGrid396 times the whole 396-run grid; SCALE-Sim v2 takes about
// 6,200 s for it on this kind of machine (peers.md §1).
func BenchmarkGrid396(b *testing.B) {
	grid := grid396()
	if len(grid) != 396 {
		b.Fatalf("grid has %d runs", len(grid))
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, g := range grid {
			if _, err := SimulateLayer(g.c, g.l); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/396, "ns/run")
}

// TestGrid396Counts pins the grid's reconstruction to the two counts
// peers.md §1 reports for SCALE-Sim on it.
func TestGrid396Counts(t *testing.T) {
	stallFree, fastWriteBack := 0, 0
	for _, g := range grid396() {
		r, err := SimulateLayer(g.c, g.l)
		if err != nil {
			t.Fatal(err)
		}
		if r.StallCycles == 0 {
			stallFree++
		}
		if r.DRAMOfmapWrites.Bandwidth() > float64(g.c.Bandwidth) {
			fastWriteBack++
		}
	}
	if stallFree != 292 || fastWriteBack != 46 {
		t.Errorf("%d runs without stalls (peers.md: 292), %d with ofmap write-back above the bandwidth (46)", stallFree, fastWriteBack)
	}
}

// TestGrid396Covered checks that the shared fixture and grid_records.json
// together hold a SCALE-Sim record of every run of the grid.
func TestGrid396Covered(t *testing.T) {
	type key struct {
		name          string
		a, i, f, o, b int
		df            string
	}
	have := map[key]bool{}
	for _, file := range []string{"fixture_records.json", "grid_records.json"} {
		for _, r := range loadRecords(t, file) {
			k := key{r.Shape, r.R, r.SRAMKiB.Ifmap, r.SRAMKiB.Filter, r.SRAMKiB.Ofmap, r.Bandwidth, r.Dataflow}
			if have[k] {
				t.Errorf("%s: %+v twice", file, k)
			}
			have[k] = true
		}
	}
	for _, g := range grid396() {
		k := key{g.l.Name, g.c.Rows, g.c.IfmapKiB, g.c.FilterKiB, g.c.OfmapKiB, g.c.Bandwidth, g.c.Dataflow.String()}
		if !have[k] {
			t.Errorf("no SCALE-Sim record of %+v", k)
		}
		delete(have, k)
	}
	if len(have) != 0 {
		t.Errorf("%d records outside the grid", len(have))
	}
}
