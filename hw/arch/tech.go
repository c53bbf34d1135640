package arch

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// DefaultTech is the technology table used when a spec names none.
const DefaultTech = "horowitz45"

// AladdinNS is the one timing point at which the accelergy-45 table takes
// its arithmetic from Aladdin's tables: the 5 ns row, Aladdin's (and the
// Accelergy plug-in's) default global cycle and the 200 MHz clock of the
// presets. MACs, multipliers, adders and registers are all taken there.
const AladdinNS = 5.0

// SRAMPoint is one anchor of a table's SRAM curve: the energy of one 64-bit
// read from an SRAM of KiB kibibytes.
type SRAMPoint struct {
	KiB      float64 `json:"kib"`
	PJPer64b float64 `json:"pj_per_64b"`
}

// Leakage is the static power of the primitives of a design, in µW per
// instance (per KiB for SRAM); its energy per cycle is µW/MHz pJ.
type Leakage struct {
	MAC8    float64 `json:"mac8_uw"`
	PsumReg float64 `json:"psum_reg_uw"`
	Mult8   float64 `json:"mult8_uw"`
	Mult16  float64 `json:"mult16_uw"`
	Mult32  float64 `json:"mult32_uw"`
	Add8    float64 `json:"add8_uw"`
	Add16   float64 `json:"add16_uw"`
	Add32   float64 `json:"add32_uw"`
	// LUT is the leakage of one 1024×16-bit look-up table.
	LUT float64 `json:"lut_uw"`
	// SRAMPerKiB is the leakage of one KiB of SRAM; 0 takes CACTI's
	// (SRAMLeakUW).
	SRAMPerKiB float64 `json:"sram_uw_per_kib"`
}

// EnergyTable is a per-action energy reference table (an Accelergy ERT in
// spirit, §2.3), all in picojoules.
type EnergyTable struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	// MAC8 is one int8×int8 multiply with its accumulate add.
	MAC8 float64 `json:"mac8"`
	// PsumReg is one access of the 32-bit partial-sum register of a MAC
	// (one per MAC: the accumulator is read and written every cycle).
	PsumReg float64 `json:"psum_reg"`
	// Mult and Add are integer multiplies and adds at 8, 16 and 32 bits.
	Mult8  float64 `json:"mult8"`
	Mult16 float64 `json:"mult16"`
	Mult32 float64 `json:"mult32"`
	Add8   float64 `json:"add8"`
	Add16  float64 `json:"add16"`
	Add32  float64 `json:"add32"`
	// SRAM lists the table's own 64-bit read energies, ascending in KiB;
	// nil takes CACTI's at 45 nm (SRAMRead). Either way the width and the
	// write/read ratio follow CACTI.
	SRAM []SRAMPoint `json:"sram,omitempty"`
	// DRAMPJPerByte is the off-chip access energy per byte.
	DRAMPJPerByte float64 `json:"dram_pj_per_byte"`
	// Leak is the static power.
	Leak Leakage `json:"leak"`
}

// techNames lists the shipped tables in display order.
var techNames = [...]string{"horowitz45", "tpuv4i-7nm", "accelergy-45"}

// TechNames lists the technology table names.
func TechNames() []string { return append([]string(nil), techNames[:]...) }

// geo is the geometric mean, used to derive a 16-bit cost from the 8- and
// 32-bit ones (log-linear in width; for multipliers this is within 2% of
// the quadratic width law).
func geo(a, b float64) float64 { return math.Sqrt(a * b) }

// Aladdin's 45 nm tables (Accelergy-Project/accelergy-aladdin-plug-in
// 5e2e1263, data/*.csv) at the 5 ns row: dynamic energy and idle energy
// per cycle of a 32-bit multiplier, a 32-bit adder and a one-bit register.
// The plug-in scales a multiplier quadratically in width, an adder and a
// register linearly.
const (
	aladdinMult32, aladdinMult32Idle = 8.63, 0.24
	aladdinAdd32, aladdinAdd32Idle   = 0.0857, 0.0119
	aladdinRegBit, aladdinRegBitIdle = 0.009, 0.00037
)

// aladdinMult and aladdinAdd are the plug-in's width scalings of the 5 ns
// values v (per action or per idle cycle).
func aladdinMult(v float64, bits int) float64 { return v * float64(bits*bits) / (32 * 32) }
func aladdinAdd(v float64, bits int) float64  { return v * float64(bits) / 32 }

// idleUW converts an idle energy per 5 ns cycle (pJ) to µW.
func idleUW(pj float64) float64 { return pj / AladdinNS * 1e3 }

// LookupTech returns the named technology table (§2): horowitz45 (ISSCC
// 2014, 45 nm), tpuv4i-7nm (TPUv4i ISCA 2021 7 nm column, recalled) or
// accelergy-45 (Accelergy 0.4 with its Aladdin and CACTI plug-ins at
// 45 nm, per action exactly as Accelergy computes them).
func LookupTech(name string) (EnergyTable, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "horowitz45", "horowitz-45":
		// Leakage: assumed 0.03 pJ per MAC-sized datapath (a MAC or a
		// multiplier) and 0.05 pJ per KiB of buffer per cycle at 200 MHz
		// (6 and 10 µW); adders, registers and tables are in those figures.
		return EnergyTable{
			Name: "horowitz45",
			Source: "Horowitz ISSCC 2014, 45 nm 0.9 V (hardware.md §2.1); SRAM widths and writes scaled by CACTI; " +
				"partial-sum register Aladdin's; 16-bit ops derived, leakage assumed",
			MAC8: 0.2 + 0.1, PsumReg: 32 * aladdinRegBit,
			Mult8: 0.2, Mult16: geo(0.2, 3.1), Mult32: 3.1,
			Add8: 0.03, Add16: geo(0.03, 0.1), Add32: 0.1,
			SRAM:          []SRAMPoint{{8, 10}, {32, 20}, {1024, 100}},
			DRAMPJPerByte: 1300.0 / 8,
			Leak:          Leakage{MAC8: 6, Mult8: 6, Mult16: 6, Mult32: 6, SRAMPerKiB: 10},
		}, nil
	case "tpuv4i-7nm", "tpuv4i7", "tpuv4i":
		// The partial-sum register is horowitz45's scaled by the int8 MAC
		// ratio of the two tables (0.1/0.3). Leakage: assumed 0.01 pJ per
		// MAC-sized datapath and 0.05 pJ per KiB per cycle at 200 MHz.
		return EnergyTable{
			Name: "tpuv4i-7nm",
			Source: "Jouppi et al. ISCA 2021 7 nm column [recalled] (hardware.md §2.2); SRAM widths and writes scaled by CACTI; " +
				"DDR3/4 DRAM; partial-sum register and leakage derived/assumed",
			MAC8: 0.07 + 0.03, PsumReg: 32 * aladdinRegBit * 0.1 / 0.3,
			Mult8: 0.07, Mult16: geo(0.07, 1.48), Mult32: 1.48,
			Add8: 0.007, Add16: geo(0.007, 0.03), Add32: 0.03,
			SRAM:          []SRAMPoint{{8, 7.5}, {32, 8.5}, {1024, 14}},
			DRAMPJPerByte: 1300.0 / 8,
			Leak:          Leakage{MAC8: 2, Mult8: 2, Mult16: 2, Mult32: 2, SRAMPerKiB: 10},
		}, nil
	case "accelergy-45", "accelergy45", "accelergy45-simba":
		return EnergyTable{
			Name: "accelergy-45",
			Source: "Accelergy 0.4 at 45 nm: Aladdin plug-in at 5 ns (intmac, intmultiplier, intadder, reg), " +
				"CACTI 7 plug-in (SRAM by capacity and width, read/write, leakage), LPDDR4 8 pJ/bit (hardware.md §2.3, peers.md §2)",
			MAC8:    aladdinMult(aladdinMult32, 8) + aladdinAdd(aladdinAdd32, 8),
			PsumReg: 32 * aladdinRegBit,
			Mult8:   aladdinMult(aladdinMult32, 8), Mult16: aladdinMult(aladdinMult32, 16), Mult32: aladdinMult32,
			Add8: aladdinAdd(aladdinAdd32, 8), Add16: aladdinAdd(aladdinAdd32, 16), Add32: aladdinAdd32,
			DRAMPJPerByte: 8 * 8,
			Leak: Leakage{
				MAC8:    idleUW(aladdinMult(aladdinMult32Idle, 8) + aladdinAdd(aladdinAdd32Idle, 8)),
				PsumReg: idleUW(32 * aladdinRegBitIdle),
				Mult8:   idleUW(aladdinMult(aladdinMult32Idle, 8)), Mult16: idleUW(aladdinMult(aladdinMult32Idle, 16)),
				Mult32: idleUW(aladdinMult32Idle),
				Add8:   idleUW(aladdinAdd(aladdinAdd32Idle, 8)), Add16: idleUW(aladdinAdd(aladdinAdd32Idle, 16)),
				Add32: idleUW(aladdinAdd32Idle),
				LUT:   1e3 * cacti45.energy(LUTKiB, LUTBits, cacti45.leakMW),
			},
		}, nil
	}
	return EnergyTable{}, fmt.Errorf("unknown technology %q (known: %s)", name, strings.Join(TechNames(), ", "))
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

// Add prices an integer add of the given width (8, 16, 32).
func (t EnergyTable) Add(bits int) float64 {
	switch bits {
	case 8:
		return t.Add8
	case 16:
		return t.Add16
	}
	return t.Add32
}

// sramScale is the ratio of the table's own 64-bit read energy at kib to
// CACTI's: 1 without anchors; between anchors interpolated log-log, held
// at the end anchors' ratio outside them.
func (t EnergyTable) sramScale(kib float64) float64 {
	p := t.SRAM
	if len(p) == 0 {
		return 1
	}
	ratio := func(q SRAMPoint) float64 { return q.PJPer64b / cacti45.energy(q.KiB, 64, cacti45.read) }
	if kib <= p[0].KiB {
		return ratio(p[0])
	}
	if kib >= p[len(p)-1].KiB {
		return ratio(p[len(p)-1])
	}
	i := sort.Search(len(p), func(i int) bool { return p[i].KiB >= kib })
	a, b := p[i-1], p[i]
	f := math.Log(kib/a.KiB) / math.Log(b.KiB/a.KiB)
	return math.Exp((1-f)*math.Log(ratio(a)) + f*math.Log(ratio(b)))
}

// SRAMRead is the energy of one read of widthBits from an SRAM of kib KiB
// (one read/write port, one bank): CACTI 7 at 45 nm as Accelergy's CACTI
// plug-in computes it, interpolated log-log between the tabulated
// capacities (1 KiB to 4 MiB) and widths (8 to 2048 bits) and extrapolated
// beyond them with the edge slopes; for a table with its own anchors
// (EnergyTable.SRAM), scaled so that a 64-bit read is the table's.
func (t EnergyTable) SRAMRead(kib float64, widthBits int) float64 {
	return t.sramScale(kib) * cacti45.energy(kib, float64(widthBits), cacti45.read)
}

// SRAMWrite is the energy of one write of widthBits (see SRAMRead).
func (t EnergyTable) SRAMWrite(kib float64, widthBits int) float64 {
	return t.sramScale(kib) * cacti45.energy(kib, float64(widthBits), cacti45.write)
}

// SRAMLeakUW is the static power of an SRAM of kib KiB read widthBits at a
// time: the table's per-KiB figure, or CACTI's standby leakage.
func (t EnergyTable) SRAMLeakUW(kib float64, widthBits int) float64 {
	if t.Leak.SRAMPerKiB > 0 {
		return t.Leak.SRAMPerKiB * kib
	}
	return 1e3 * cacti45.energy(kib, float64(widthBits), cacti45.leakMW)
}

// LUTKiB and LUTBits size the nonlinear look-up tables of the scan and
// vector units: 1024 words of 16 bits, the 1025-entry tables of
// hardware.md §5 priced as the 1024×16 SRAM Accelergy's CACTI plug-in
// models.
const (
	LUTKiB  = 2
	LUTBits = 16
)

// LUTRead is the energy of one look-up-table read.
func (t EnergyTable) LUTRead() float64 { return t.SRAMRead(LUTKiB, LUTBits) }

// cactiTable holds CACTI energies on a grid of capacities (KiB) and widths
// (bits), each [capacity][width].
type cactiTable struct {
	kib, width          []float64
	read, write, leakMW [][]float64
}

// energy interpolates v bilinearly in log(capacity), log(width) and
// log(energy) (a piecewise power law), extrapolating with the edge cells.
func (c *cactiTable) energy(kib, width float64, v [][]float64) float64 {
	i, fi := cell(c.kib, kib)
	j, fj := cell(c.width, width)
	l := func(a, b int) float64 { return math.Log(v[a][b]) }
	return math.Exp((1-fi)*(1-fj)*l(i, j) + fi*(1-fj)*l(i+1, j) + (1-fi)*fj*l(i, j+1) + fi*fj*l(i+1, j+1))
}

// cell returns the grid cell [xs[i], xs[i+1]] of x (the first or last
// cell outside the grid) and x's position in it in log scale (outside
// [0, 1] beyond the grid).
func cell(xs []float64, x float64) (int, float64) {
	i := sort.SearchFloat64s(xs, x) - 1
	i = max(0, min(i, len(xs)-2))
	return i, math.Log(x/xs[i]) / math.Log(xs[i+1]/xs[i])
}

// MAC prices one multiply-accumulate of an a-bit by a w-bit operand into
// the 32-bit accumulator: the table's int8 MAC with its multiplier scaled
// by the bit-product a·w/64, the accumulate add unchanged. The quadratic
// law is Horowitz's (ISSCC 2014: 0.2 pJ at 8 bits, 3.1 pJ at 32 bits, 15.5×
// for 16× the bit products) and the one Aladdin's multiplier tables are
// scaled by in Accelergy's plug-in (width², from the 32-bit row); the
// accumulator's width is the program's (int32), not the operands'. MAC(8,
// 8) is MAC8.
func (t EnergyTable) MAC(a, w int) float64 {
	if a == 8 && w == 8 {
		return t.MAC8
	}
	return t.MACAdd() + t.MACMult(a, w)
}

// MACMult is the multiplier part of MAC(a, w): Mult8·a·w/64.
func (t EnergyTable) MACMult(a, w int) float64 { return t.Mult8 * float64(a*w) / 64 }

// MACAdd is the accumulate part of a MAC, whatever its operand widths:
// MAC8 − Mult8.
func (t EnergyTable) MACAdd() float64 { return t.MAC8 - t.Mult8 }

// MACLeakUW is the static power of an a×w-bit MAC, scaled as MAC scales
// the energy (Leakage.MAC8 at 8×8).
func (t EnergyTable) MACLeakUW(a, w int) float64 {
	l := t.Leak
	if a == 8 && w == 8 {
		return l.MAC8
	}
	return l.MAC8 - l.Mult8 + l.Mult8*float64(a*w)/64
}

// MACAreaUM2 is the area of an a×w-bit MAC with a 32-bit accumulate
// adder at 45 nm, from Horowitz's area column (ISSCC 2014, recalled in
// hardware.md §2.1): an 8-bit multiplier 282 µm² scaled by the bit
// products a·w/64, plus the 32-bit adder's 137 µm². An int8 MAC is 419
// µm², an int4×int8 one 278 µm².
func MACAreaUM2(a, w int) float64 { return 282*float64(a*w)/64 + 137 }
