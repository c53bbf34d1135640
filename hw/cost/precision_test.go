package cost

import (
	"bytes"
	"math"
	"reflect"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/quant/intprog"
)

// withFormats returns a copy of ops with set applied to every op of the
// given kinds.
func withFormats(ops []intprog.Op, set func(*intprog.Formats), kinds ...intprog.Kind) []intprog.Op {
	out := append([]intprog.Op(nil), ops...)
	for i := range out {
		for _, k := range kinds {
			if out[i].Kind == k {
				set(&out[i].Format)
			}
		}
	}
	return out
}

func estimateOps(t *testing.T, s arch.Spec, ops []intprog.Op) Estimate {
	t.Helper()
	e, err := EstimateOps(s, "vim-ti", ops)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestShapeOnlyIsInt8: an op list without formats (a shape-only list)
// costs exactly as the int8 one Lower gives, and asks for int8 hardware.
func TestShapeOnlyIsInt8(t *testing.T) {
	ops := lower(t, vimTi(t))
	bare := withFormats(ops, func(f *intprog.Formats) { *f = intprog.Formats{} },
		intprog.KindGEMM, intprog.KindDWConv, intprog.KindScan, intprog.KindSiLU, intprog.KindSoftplus,
		intprog.KindGate, intprog.KindNorm, intprog.KindAdd)
	for _, s := range []arch.Spec{arch.Systolic16(), arch.Systolic16().WithTech("accelergy-45"), arch.Systolic16().WithMemory(arch.MemorySCALESim)} {
		a, b := estimateOps(t, s, ops), estimateOps(t, s, bare)
		if !reflect.DeepEqual(a.Totals, b.Totals) {
			t.Errorf("%s %s: totals differ without formats", s.Tech, s.Memory.Model)
		}
		if a.Precision.ArrayMAC != "int8" || a.Precision.ConvMAC != "int8" || a.Precision.StateBits != 8 {
			t.Errorf("precision %+v", a.Precision)
		}
	}
}

// TestW4HalvesWeightTraffic: 4-bit GEMM weights take half the bytes — of
// DRAM, of the filter fills and of the filter buffer's demand reads — op by
// op, while the cycles of a tiling that does not change stay the same.
func TestW4HalvesWeightTraffic(t *testing.T) {
	ops := lower(t, vimTi(t))
	w4 := withFormats(ops, func(f *intprog.Formats) { f.Weight = intprog.Int(4) }, intprog.KindGEMM)
	s := arch.Systolic16()
	e8, e4 := estimateOps(t, s, ops), estimateOps(t, s, w4)
	var gemmW8, gemmW4 int64
	for i := range e8.Ops {
		a, b := e8.Ops[i], e4.Ops[i]
		if a.Kind != "gemm" {
			if !reflect.DeepEqual(a.Actions, b.Actions) {
				t.Errorf("%s/%s: a non-GEMM op changed with the GEMM weights", a.Name, a.Kind)
			}
			continue
		}
		gemmW8 += a.Traffic.Weights
		gemmW4 += b.Traffic.Weights
		if want := ceilDiv(a.Traffic.Weights, 2); b.Traffic.Weights != want {
			t.Errorf("%s (layer %d): W4 weight bytes %d, want %d (W8 %d)", a.Name, a.Layer, b.Traffic.Weights, want, a.Traffic.Weights)
		}
		if want := ceilDiv(a.Actions.FilterRead, 2); b.Actions.FilterRead != want {
			t.Errorf("%s: W4 filter reads %d B, want %d", a.Name, b.Actions.FilterRead, want)
		}
		if *a.Tiling == *b.Tiling {
			t.Errorf("%s: the tiling kept its filter fill bytes (%d)", a.Name, a.Tiling.FilterBytes)
		}
		if b.Actions.MAC4x8 != a.Actions.MAC8 || b.Actions.MAC8 != 0 {
			t.Errorf("%s: W4A8 MACs %+v", a.Name, b.Actions)
		}
		if b.ComputeCycles != a.ComputeCycles || b.Cycles > a.Cycles {
			t.Errorf("%s: cycles %d→%d (compute %d→%d)", a.Name, a.Cycles, b.Cycles, a.ComputeCycles, b.ComputeCycles)
		}
	}
	t.Logf("Vim-Ti GEMM weights: %d B at W8, %d B at W4; energy %.1f → %.1f µJ, DRAM %d → %d B",
		gemmW8, gemmW4, e8.Totals.Energy.Total()/1e6, e4.Totals.Energy.Total()/1e6, e8.Totals.DRAMBytes, e4.Totals.DRAMBytes)
	if e4.Precision.ArrayMAC != "int4x8" || !(e4.Precision.ArrayAreaMM2 < e8.Precision.ArrayAreaMM2) {
		t.Errorf("precision %+v vs %+v", e4.Precision, e8.Precision)
	}
}

// TestTileGEMMWidths: a filter that fits its buffer whole only packed at 4
// bits is filled once at W4, while at W8 some operand is read again.
func TestTileGEMMWidths(t *testing.T) {
	s := arch.Systolic16()            // 64 KiB double-buffered: 32 KiB per tile
	g := GEMM{M: 512, K: 256, N: 192} // ifmap 128 KiB, filter 48 KiB at int8
	M, K, N := int64(g.M), int64(g.K), int64(g.N)
	t8 := TileGEMMWidths(s, g, false, int8Widths)
	t4 := TileGEMMWidths(s, g, false, Widths{In: 8, Weight: 4, Out: 8})
	if t4.FilterBytes != K*N/2 || t4.IfmapBytes != M*K || !t4.Fits {
		t.Errorf("W4 fills ifmap %d filter %d B, want %d and %d (each once)", t4.IfmapBytes, t4.FilterBytes, M*K, K*N/2)
	}
	if !(t8.IfmapBytes+t8.FilterBytes > M*K+K*N) {
		t.Errorf("W8 fills %d + %d B: no operand read again although the filter does not fit", t8.IfmapBytes, t8.FilterBytes)
	}
	if t8 != TileGEMM(s, g, false) {
		t.Errorf("TileGEMM is not TileGEMMWidths at int8")
	}
}

// TestEnergyMonotoneInWidth: the energy of Vim-Ti never falls when an
// operand gets wider — GEMM activations 4..8 bits, weights 4 and 8, the
// scan state 8 and 16 — for every table; and the MAC energy and area
// tables are ordered 4×4 < 4×8 < 8×8.
func TestEnergyMonotoneInWidth(t *testing.T) {
	ops := lower(t, vimTi(t))
	for _, tech := range arch.TechNames() {
		tab, err := arch.LookupTech(tech)
		if err != nil {
			t.Fatal(err)
		}
		if !(tab.MAC(4, 4) < tab.MAC(4, 8) && tab.MAC(4, 8) < tab.MAC(8, 8) && tab.MAC(8, 8) == tab.MAC8) {
			t.Errorf("%s: MAC 4×4 %g, 4×8 %g, 8×8 %g", tech, tab.MAC(4, 4), tab.MAC(4, 8), tab.MAC(8, 8))
		}
		if !(tab.MACLeakUW(4, 4) <= tab.MACLeakUW(4, 8) && tab.MACLeakUW(4, 8) <= tab.MACLeakUW(8, 8)) {
			t.Errorf("%s: MAC leakage not monotone", tech)
		}
		// 8-bit scan lanes, so that a 16-bit state widens them.
		s := arch.Systolic16().WithTech(tech)
		s.Scan.Bits = 8
		energy := map[[3]int]float64{}
		for _, wb := range []int{4, 8} {
			for ab := 4; ab <= 8; ab++ {
				for _, sb := range []int{8, 16} {
					o := withFormats(ops, func(f *intprog.Formats) { f.In, f.Weight = intprog.Int(ab), intprog.Int(wb) }, intprog.KindGEMM)
					o = withFormats(o, func(f *intprog.Formats) { f.State = intprog.Int(sb) }, intprog.KindScan)
					energy[[3]int{wb, ab, sb}] = estimateOps(t, s, o).Totals.Energy.Total()
				}
			}
		}
		for k, e := range energy {
			wb, ab, sb := k[0], k[1], k[2]
			for _, n := range [][3]int{{wb, ab - 1, sb}, {4, ab, sb}, {wb, ab, 8}} {
				if narrower, ok := energy[n]; ok && n != k && !(e > narrower) {
					t.Errorf("%s W%dA%dH%d: %.6g pJ, not above W%dA%dH%d's %.6g", tech, wb, ab, sb, e, n[0], n[1], n[2], narrower)
				}
			}
		}
	}
	if !(arch.MACAreaUM2(4, 4) < arch.MACAreaUM2(4, 8) && arch.MACAreaUM2(4, 8) < arch.MACAreaUM2(8, 8)) || arch.MACAreaUM2(8, 8) != 419 {
		t.Errorf("MAC areas %g %g %g", arch.MACAreaUM2(4, 4), arch.MACAreaUM2(4, 8), arch.MACAreaUM2(8, 8))
	}
	// On the presets' 16-bit lanes a 16-bit state costs the same as an 8-bit one.
	s := arch.Systolic16()
	h8 := estimateOps(t, s, ops).Totals.Energy.Total()
	h16 := estimateOps(t, s, withFormats(ops, func(f *intprog.Formats) { f.State = intprog.Int(16) }, intprog.KindScan)).Totals.Energy.Total()
	if h8 != h16 {
		t.Errorf("systolic16 (16-bit scan lanes): H16 %g pJ, H8 %g", h16, h8)
	}
}

// TestDSPPackingPerWidth: the array's DSPs per packing and MAC width — one
// MAC per DSP unpacked, two int8 or int4×int8 MACs per DSP48E2 (WP486),
// four int4×int4 (WP521), three int8 on a DSP58 (dot3).
func TestDSPPackingPerWidth(t *testing.T) {
	ops := lower(t, vimTi(t))
	int4x8 := withFormats(ops, func(f *intprog.Formats) { f.Weight = intprog.Int(4) }, intprog.KindGEMM, intprog.KindDWConv)
	int4 := withFormats(int4x8, func(f *intprog.Formats) { f.In = intprog.Int(4) }, intprog.KindGEMM, intprog.KindDWConv)
	base := arch.Systolic16()
	for _, c := range []struct {
		board string
		pack  arch.DSPPacking
		ops   []intprog.Op
		mac   string
		per   int
	}{
		{"zcu102", arch.PackNone, ops, "int8", 1}, {"zcu102", arch.PackNone, int4, "int4", 1},
		{"zcu102", arch.PackDual, ops, "int8", 2}, {"zcu102", arch.PackDual, int4x8, "int4x8", 2},
		{"zcu102", arch.PackDual, int4, "int4", 4},
		{"vck190", arch.PackDot3, ops, "int8", 3}, {"vck190", arch.PackDot3, int4, "int4", 3},
	} {
		if got := MACsPerDSP(c.pack, c.mac); got != c.per {
			t.Errorf("%s %s: %d MACs per DSP, want %d", c.pack, c.mac, got, c.per)
		}
		s := base
		s.FPGA.Board, s.FPGA.DSPPacking = c.board, c.pack
		r, err := EstimateResources(s, c.ops)
		if err != nil {
			t.Fatal(err)
		}
		lanes := int64(dspPerScanLane*s.Scan.Lanes + s.Vector.Lanes + dspPerNormLane*s.Norm.Lanes)
		want := ceilDiv(int64(s.PEs()), int64(c.per)) + ceilDiv(int64(s.DWConv.Lanes), int64(c.per)) + lanes
		if r.DSP != want {
			t.Errorf("%s %s %s: %d DSP, want %d", c.board, c.pack, c.mac, r.DSP, want)
		}
	}
	// Without ops the array is int8, as before.
	s := base
	s.FPGA.Board = "zcu102"
	a, _ := EstimateResources(s, nil)
	b, _ := EstimateResources(s, ops)
	if a.DSP != b.DSP || a.DSP != 248 {
		t.Errorf("DSPs without ops %d, with int8 ops %d, want 248", a.DSP, b.DSP)
	}
}

// TestNarrowMACAccelergy: a W4A8 estimate's action counts still reprice to
// its energy, and its files still have the schema Accelergy reads, the
// int4×int8 MACs as a √32-bit multiplier and the int8 MAC's adder.
func TestNarrowMACAccelergy(t *testing.T) {
	ops := withFormats(lower(t, vimTi(t)), func(f *intprog.Formats) { f.Weight = intprog.Int(4) }, intprog.KindGEMM)
	e := estimateOps(t, arch.Systolic16().WithTech("accelergy-45"), ops)
	var sum float64
	for _, c := range e.ActionCounts() {
		sum += c.Count * c.PJEach
	}
	if total := e.Totals.Energy.Total(); math.Abs(sum-total) > 1e-9*total {
		t.Errorf("action counts price to %g pJ, estimate %g", sum, total)
	}
	var y, a bytes.Buffer
	if err := e.WriteActionCounts(&y, "yaml"); err != nil {
		t.Fatal(err)
	}
	if err := e.WriteAccelergyArch(&a); err != nil {
		t.Fatal(err)
	}
	counts, comps := checkAccelergyFiles(t, y.Bytes(), a.Bytes())
	if got := counts["vimsim.array_mac4x8_mult"]["multiply"]; got != float64(e.Totals.Actions.MAC4x8) || got == 0 {
		t.Errorf("array int4×int8 multiplies %g, MACs %d", got, e.Totals.Actions.MAC4x8)
	}
	if m := comps["array_mac4x8_mult"]; m["class"] != "intmultiplier" || math.Abs(m["width"].(float64)-math.Sqrt(32)) > 1e-12 {
		t.Errorf("array_mac4x8_mult %v", m)
	}
	if _, ok := comps["array_mac"]; ok {
		t.Error("an int8 MAC component in a W4A8 array")
	}
}
