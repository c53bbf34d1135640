package arch

import (
	"fmt"
	"math"
	"strings"
)

// DefaultTech is the technology table used when a spec names none.
const DefaultTech = "horowitz45"

// SRAMPoint is one anchor of an SRAM energy curve: the energy of one 64-bit
// read from an array of KiB kibibytes.
type SRAMPoint struct {
	KiB      float64 `json:"kib"`
	PJPer64b float64 `json:"pj_per_64b"`
}

// EnergyTable is a per-action energy reference table (an Accelergy ERT in
// spirit, §2.3), all in picojoules.
type EnergyTable struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	// MAC8 is one int8×int8 multiply with an int32 accumulate.
	MAC8 float64 `json:"mac8"`
	// Mult and Add are integer multiplies and adds at 8, 16 and 32 bits.
	Mult8  float64 `json:"mult8"`
	Mult16 float64 `json:"mult16"`
	Mult32 float64 `json:"mult32"`
	Add8   float64 `json:"add8"`
	Add16  float64 `json:"add16"`
	Add32  float64 `json:"add32"`
	// SRAM is the read energy curve, ascending in KiB, interpolated
	// log-log; writes cost the same as reads.
	SRAM []SRAMPoint `json:"sram"`
	// DRAMPJPerByte is the off-chip access energy per byte.
	DRAMPJPerByte float64 `json:"dram_pj_per_byte"`
	// LeakPerPECycle is the static energy of one MAC-equivalent per cycle;
	// LeakPerKiBCycle that of one KiB of SRAM per cycle.
	LeakPerPECycle  float64 `json:"leak_pj_per_pe_cycle"`
	LeakPerKiBCycle float64 `json:"leak_pj_per_kib_cycle"`
}

// techNames lists the shipped tables in display order.
var techNames = [...]string{"horowitz45", "tpuv4i-7nm", "accelergy-45"}

// TechNames lists the technology table names.
func TechNames() []string { return append([]string(nil), techNames[:]...) }

// geo is the geometric mean, used to derive a 16-bit cost from the 8- and
// 32-bit ones (log-linear in width; for multipliers this is within 2% of
// the quadratic width law).
func geo(a, b float64) float64 { return math.Sqrt(a * b) }

// LookupTech returns the named technology table (§2): horowitz45 (ISSCC
// 2014, 45 nm), tpuv4i-7nm (TPUv4i ISCA 2021 7 nm column, recalled) or
// accelergy-45 (Simba-like Accelergy ERT at 45 nm with Aladdin primitives).
func LookupTech(name string) (EnergyTable, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "horowitz45", "horowitz-45":
		return EnergyTable{
			Name:   "horowitz45",
			Source: "Horowitz ISSCC 2014, 45 nm 0.9 V (hardware.md §2.1); 16-bit ops and leakage derived/assumed",
			MAC8:   0.2 + 0.1, Mult8: 0.2, Mult16: geo(0.2, 3.1), Mult32: 3.1,
			Add8: 0.03, Add16: geo(0.03, 0.1), Add32: 0.1,
			SRAM:          []SRAMPoint{{8, 10}, {32, 20}, {1024, 100}},
			DRAMPJPerByte: 1300.0 / 8, LeakPerPECycle: 0.03, LeakPerKiBCycle: 0.05,
		}, nil
	case "tpuv4i-7nm", "tpuv4i7", "tpuv4i":
		return EnergyTable{
			Name:   "tpuv4i-7nm",
			Source: "Jouppi et al. ISCA 2021 7 nm column [recalled] (hardware.md §2.2); DDR3/4 DRAM; leakage assumed",
			MAC8:   0.07 + 0.03, Mult8: 0.07, Mult16: geo(0.07, 1.48), Mult32: 1.48,
			Add8: 0.007, Add16: geo(0.007, 0.03), Add32: 0.03,
			SRAM:          []SRAMPoint{{8, 7.5}, {32, 8.5}, {1024, 14}},
			DRAMPJPerByte: 1300.0 / 8, LeakPerPECycle: 0.01, LeakPerKiBCycle: 0.05,
		}, nil
	case "accelergy-45", "accelergy45", "accelergy45-simba":
		return EnergyTable{
			Name:   "accelergy-45",
			Source: "Accelergy Simba-like 45 nm ERT (LMAC 0.561, GLB 1.049 per 8-bit word, LPDDR4 512 pJ/64 b) and Aladdin 40 nm primitives (hardware.md §2.3)",
			MAC8:   0.561, Mult8: 12.68 / 16, Mult16: 12.68 / 4, Mult32: 12.68,
			Add8: 0.21 / 4, Add16: 0.21 / 2, Add32: 0.21,
			SRAM:          []SRAMPoint{{1, 1.049 * 8}},
			DRAMPJPerByte: 512.0 / 8, LeakPerPECycle: 0.007, LeakPerKiBCycle: 0.05,
		}, nil
	}
	return EnergyTable{}, fmt.Errorf("unknown technology %q (known: %s)", name, strings.Join(TechNames(), ", "))
}

// SRAMPJPerByte is the energy of one byte read from (or written to) an SRAM
// of kib KiB: the 64-bit energy divided by 8, interpolated linearly in
// log(size)–log(energy) between anchors and extrapolated with the nearest
// segment's slope below the smallest anchor (flat above the largest).
func (t EnergyTable) SRAMPJPerByte(kib float64) float64 {
	p := t.SRAM
	switch {
	case len(p) == 0:
		return 0
	case len(p) == 1:
		return p[0].PJPer64b / 8
	case kib >= p[len(p)-1].KiB:
		return p[len(p)-1].PJPer64b / 8
	}
	i := 1
	for i < len(p)-1 && kib > p[i].KiB {
		i++
	}
	a, b := p[i-1], p[i]
	slope := math.Log(b.PJPer64b/a.PJPer64b) / math.Log(b.KiB/a.KiB)
	return a.PJPer64b * math.Pow(kib/a.KiB, slope) / 8
}

// Mult prices an integer multiply of the given width (8, 16, 32).
func (t EnergyTable) Mult(bits int) float64 {
	switch bits {
	case 8:
		return t.Mult8
	case 16:
		return t.Mult16
	}
	return t.Mult32
}
