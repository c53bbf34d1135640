package arch

import (
	"fmt"
	"strings"
)

// presetNames lists the built-in designs in display order.
var presetNames = [...]string{"systolic8", "systolic16", "systolic32", "systolic64"}

// systolic builds the N×N preset: an output-stationary int8 array at
// 200 MHz (a typical FPGA clock, see docs/PERFMODEL.md), 4·N KiB per
// double-buffered scratchpad, a 16·N KiB activation buffer, 0.8·N GB/s of
// DRAM bandwidth, N sequential scan lanes of depth 4 with 16-bit state,
// and vector, norm and depthwise-conv units N lanes wide.
func systolic(n int) Spec {
	return Spec{
		Name:     fmt.Sprintf("systolic%d", n),
		Array:    ArraySpec{Rows: n, Cols: n, Dataflow: OutputStationary},
		ClockMHz: 200,
		Buffers: BufferSpec{
			IfmapKiB: 4 * n, FilterKiB: 4 * n, OfmapKiB: 4 * n, ActKiB: 16 * n,
			DoubleBuffered: true,
		},
		DRAM:    DRAMSpec{BandwidthGBs: 0.8 * float64(n)},
		Scan:    ScanSpec{Lanes: n, Depth: 4, Mode: ScanSequential, Bits: 16},
		Vector:  UnitSpec{Lanes: n, Latency: 4},
		Norm:    UnitSpec{Lanes: n, Latency: 8},
		DWConv:  UnitSpec{Lanes: n, Latency: 4},
		Overlap: Serial,
		Tech:    DefaultTech,
	}
}

// Systolic8 is the 8×8 preset.
func Systolic8() Spec { return systolic(8) }

// Systolic16 is the 16×16 preset; its GEMM cycles are the SCALE-Sim anchors
// of hardware.md §1.3.
func Systolic16() Spec { return systolic(16) }

// Systolic32 is the 32×32 preset.
func Systolic32() Spec { return systolic(32) }

// Systolic64 is the 64×64 preset.
func Systolic64() Spec { return systolic(64) }

// PresetNames lists the built-in architecture names.
func PresetNames() []string { return append([]string(nil), presetNames[:]...) }

// Preset returns the named built-in architecture (systolic8/16/32/64).
func Preset(name string) (Spec, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "systolic8":
		return Systolic8(), nil
	case "systolic16":
		return Systolic16(), nil
	case "systolic32":
		return Systolic32(), nil
	case "systolic64":
		return Systolic64(), nil
	}
	return Spec{}, fmt.Errorf("unknown architecture %q (presets: %s)", name, strings.Join(PresetNames(), ", "))
}
