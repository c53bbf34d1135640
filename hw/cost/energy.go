package cost

import (
	"github.com/vimsim/vimsim/hw/arch"
)

// Actions counts the primitive actions of one operation (or a sum of them).
// Arithmetic is in operations; SRAM and DRAM traffic in bytes. These are the
// counts an Accelergy user re-prices (WriteActionCounts), and the counts a
// functional simulator of the same program must reproduce.
type Actions struct {
	// MAC8 counts int8×int8 MACs; MAC4x8 those with one operand of at most
	// 4 bits (W4A8: an int4 weight by an int8 activation); MAC4 those with
	// both (docs/PERFMODEL.md §5.2).
	MAC8   int64 `json:"mac8"`
	MAC4x8 int64 `json:"mac4x8,omitempty"`
	MAC4   int64 `json:"mac4,omitempty"`
	Mult8  int64 `json:"mult8"`
	Mult16 int64 `json:"mult16"`
	Mult32 int64 `json:"mult32"`
	Add8   int64 `json:"add8"`
	Add16  int64 `json:"add16"`
	Add32  int64 `json:"add32"`
	LUT    int64 `json:"lut_reads"`
	// PsumReg counts accesses of the 32-bit partial-sum register of a MAC
	// (one per array or depthwise-conv MAC).
	PsumReg int64 `json:"psum_reg"`

	IfmapRead   int64 `json:"ifmap_read_bytes"`
	IfmapWrite  int64 `json:"ifmap_write_bytes"`
	FilterRead  int64 `json:"filter_read_bytes"`
	FilterWrite int64 `json:"filter_write_bytes"`
	OfmapRead   int64 `json:"ofmap_read_bytes"`
	OfmapWrite  int64 `json:"ofmap_write_bytes"`
	ActRead     int64 `json:"act_read_bytes"`
	ActWrite    int64 `json:"act_write_bytes"`
	DRAMRead    int64 `json:"dram_read_bytes"`
	DRAMWrite   int64 `json:"dram_write_bytes"`
}

// Add returns a + b field by field.
func (a Actions) Add(b Actions) Actions {
	return Actions{
		MAC8: a.MAC8 + b.MAC8, MAC4x8: a.MAC4x8 + b.MAC4x8, MAC4: a.MAC4 + b.MAC4, Mult8: a.Mult8 + b.Mult8, Mult16: a.Mult16 + b.Mult16, Mult32: a.Mult32 + b.Mult32,
		Add8: a.Add8 + b.Add8, Add16: a.Add16 + b.Add16, Add32: a.Add32 + b.Add32, LUT: a.LUT + b.LUT, PsumReg: a.PsumReg + b.PsumReg,
		IfmapRead: a.IfmapRead + b.IfmapRead, IfmapWrite: a.IfmapWrite + b.IfmapWrite,
		FilterRead: a.FilterRead + b.FilterRead, FilterWrite: a.FilterWrite + b.FilterWrite,
		OfmapRead: a.OfmapRead + b.OfmapRead, OfmapWrite: a.OfmapWrite + b.OfmapWrite,
		ActRead: a.ActRead + b.ActRead, ActWrite: a.ActWrite + b.ActWrite,
		DRAMRead: a.DRAMRead + b.DRAMRead, DRAMWrite: a.DRAMWrite + b.DRAMWrite,
	}
}

// DRAMBytes is the off-chip traffic, reads plus writes.
func (a Actions) DRAMBytes() int64 { return a.DRAMRead + a.DRAMWrite }

// Energy is an energy breakdown in picojoules: compute by unit, SRAM by
// buffer, DRAM, and static (leakage) energy.
type Energy struct {
	Array  float64 `json:"array_pj"`
	Scan   float64 `json:"scan_pj"`
	DWConv float64 `json:"dwconv_pj"`
	Vector float64 `json:"vector_pj"`
	Norm   float64 `json:"norm_pj"`
	Ifmap  float64 `json:"sram_ifmap_pj"`
	Filter float64 `json:"sram_filter_pj"`
	Ofmap  float64 `json:"sram_ofmap_pj"`
	Act    float64 `json:"sram_act_pj"`
	DRAM   float64 `json:"dram_pj"`
	Static float64 `json:"static_pj"`
}

// Add returns e + o.
func (e Energy) Add(o Energy) Energy {
	return Energy{
		Array: e.Array + o.Array, Scan: e.Scan + o.Scan, DWConv: e.DWConv + o.DWConv,
		Vector: e.Vector + o.Vector, Norm: e.Norm + o.Norm,
		Ifmap: e.Ifmap + o.Ifmap, Filter: e.Filter + o.Filter, Ofmap: e.Ofmap + o.Ofmap, Act: e.Act + o.Act,
		DRAM: e.DRAM + o.DRAM, Static: e.Static + o.Static,
	}
}

// Compute is the energy of the arithmetic units.
func (e Energy) Compute() float64 { return e.Array + e.Scan + e.DWConv + e.Vector + e.Norm }

// SRAM is the energy of the on-chip buffers.
func (e Energy) SRAM() float64 { return e.Ifmap + e.Filter + e.Ofmap + e.Act }

// Total is the whole energy.
func (e Energy) Total() float64 { return e.Compute() + e.SRAM() + e.DRAM + e.Static }

// EnergyPart is one named component of a breakdown.
type EnergyPart struct {
	Name string
	PJ   float64
}

// Parts lists the breakdown in a fixed order: units, memory levels, static.
func (e Energy) Parts() []EnergyPart {
	return []EnergyPart{
		{"array", e.Array}, {"scan", e.Scan}, {"dwconv", e.DWConv}, {"vector", e.Vector}, {"norm", e.Norm},
		{"sram_ifmap", e.Ifmap}, {"sram_filter", e.Filter}, {"sram_ofmap", e.Ofmap}, {"sram_act", e.Act},
		{"dram", e.DRAM}, {"static", e.Static},
	}
}

// buffer is one SRAM of the design as the energy model prices it.
type buffer struct {
	kib   float64
	width int // access width in bits
	// read and write are the energies per byte: one access of width bits
	// moves width/8 bytes.
	read, write float64
	leakUW      float64
}

func newBuffer(t arch.EnergyTable, kib float64, width int) buffer {
	bytes := float64(width) / 8
	return buffer{kib: kib, width: width, read: t.SRAMRead(kib, width) / bytes, write: t.SRAMWrite(kib, width) / bytes,
		leakUW: t.SRAMLeakUW(kib, width)}
}

// pricer turns action counts into energy for one spec.
type pricer struct {
	t                         arch.EnergyTable
	ifmap, filter, ofmap, act buffer
	lut                       float64 // pJ per table read
	dram                      float64 // pJ per byte
	staticPerCycle            float64
	inventory                 []instances
}

func newPricer(s arch.Spec, t arch.EnergyTable, prec Precision) pricer {
	wi, wf, wo, wa := s.BufferWidths()
	p := pricer{t: t,
		ifmap:  newBuffer(t, float64(s.Buffers.IfmapKiB), wi),
		filter: newBuffer(t, float64(s.Buffers.FilterKiB), wf),
		ofmap:  newBuffer(t, float64(s.Buffers.OfmapKiB), wo),
		lut:    t.LUTRead(),
		dram:   t.DRAMPJPerByte,
	}
	if s.Buffers.ActKiB > 0 {
		p.act = newBuffer(t, float64(s.Buffers.ActKiB), wa)
	}
	if s.DRAM.PJPerByte > 0 {
		p.dram = s.DRAM.PJPerByte
	}
	p.inventory = inventoryOf(s, prec)
	var uw float64
	for _, n := range p.inventory {
		uw += float64(n.count) * p.leakUW(n.prim)
	}
	uw += p.ifmap.leakUW + p.filter.leakUW + p.ofmap.leakUW + p.act.leakUW
	p.staticPerCycle = uw / s.ClockMHz // µW·µs = pJ
	return p
}

// primitive names a kind of arithmetic or table hardware.
type primitive uint8

const (
	primMAC8 primitive = iota
	primPsumReg
	primMult8
	primMult16
	primMult32
	primAdd8
	primAdd16
	primAdd32
	primLUT
	primMAC4x8 // one operand of at most 4 bits
	primMAC4   // both operands of at most 4 bits
	numPrims
)

// primOrder lists the primitives in the order reports list them.
var primOrder = [...]primitive{primMAC8, primMAC4x8, primMAC4, primPsumReg, primMult8, primMult16, primMult32,
	primAdd8, primAdd16, primAdd32, primLUT}

func multPrim(bits int) primitive {
	switch bits {
	case 8:
		return primMult8
	case 16:
		return primMult16
	}
	return primMult32
}

func addPrim(bits int) primitive {
	switch bits {
	case 8:
		return primAdd8
	case 16:
		return primAdd16
	}
	return primAdd32
}

// instances is a number of copies of one primitive in one unit.
type instances struct {
	unit  arch.Unit
	prim  primitive
	count int64
}

// inventoryOf lists the hardware whose leakage the model charges: per PE
// and per depthwise-conv lane a MAC of the class the ops need (p) and its
// partial-sum register; per scan lane four multipliers and two adders of
// the lane width (scanBits) and a look-up table; per vector lane a 16-bit
// multiplier, two 16-bit adders and a table; per norm lane two 16-bit
// multipliers and a 32-bit adder, and one table for the norm unit. (The
// buffers come on top.)
func inventoryOf(s arch.Spec, p Precision) []instances {
	pe, sl, vl, nl, dl := int64(s.PEs()), int64(s.Scan.Lanes), int64(s.Vector.Lanes), int64(s.Norm.Lanes), int64(s.DWConv.Lanes)
	sb := scanBits(s, p.StateBits)
	return []instances{
		{arch.UnitArray, p.array, pe}, {arch.UnitArray, primPsumReg, pe},
		{arch.UnitScan, multPrim(sb), 4 * sl}, {arch.UnitScan, addPrim(sb), 2 * sl}, {arch.UnitScan, primLUT, sl},
		{arch.UnitDWConv, p.conv, dl}, {arch.UnitDWConv, primPsumReg, dl},
		{arch.UnitVector, primMult16, vl}, {arch.UnitVector, primAdd16, 2 * vl}, {arch.UnitVector, primLUT, vl},
		{arch.UnitNorm, primMult16, 2 * nl}, {arch.UnitNorm, primAdd32, nl}, {arch.UnitNorm, primLUT, 1},
	}
}

// leakUW is the static power of one instance of p.
func (p pricer) leakUW(q primitive) float64 {
	l := p.t.Leak
	return [numPrims]float64{l.MAC8, l.PsumReg, l.Mult8, l.Mult16, l.Mult32, l.Add8, l.Add16, l.Add32, l.LUT,
		p.t.MACLeakUW(4, 8), p.t.MACLeakUW(4, 4)}[q]
}

// pj is the energy of one action of p.
func (p pricer) pj(q primitive) float64 {
	t := p.t
	return [numPrims]float64{t.MAC8, t.PsumReg, t.Mult8, t.Mult16, t.Mult32, t.Add8, t.Add16, t.Add32, p.lut,
		t.MAC(4, 8), t.MAC(4, 4)}[q]
}

// counts returns the number of actions of each primitive in a.
func (a Actions) counts() [numPrims]int64 {
	return [numPrims]int64{a.MAC8, a.PsumReg, a.Mult8, a.Mult16, a.Mult32, a.Add8, a.Add16, a.Add32, a.LUT, a.MAC4x8, a.MAC4}
}

// arith is the energy of the arithmetic actions of a.
func (p pricer) arith(a Actions) float64 {
	var e float64
	for q, n := range a.counts() {
		e += float64(n) * p.pj(primitive(q))
	}
	return e
}

// price returns the energy of a, with its arithmetic charged to unit u.
func (p pricer) price(u arch.Unit, a Actions) Energy {
	e := Energy{
		Ifmap:  float64(a.IfmapRead)*p.ifmap.read + float64(a.IfmapWrite)*p.ifmap.write,
		Filter: float64(a.FilterRead)*p.filter.read + float64(a.FilterWrite)*p.filter.write,
		Ofmap:  float64(a.OfmapRead)*p.ofmap.read + float64(a.OfmapWrite)*p.ofmap.write,
		Act:    float64(a.ActRead)*p.act.read + float64(a.ActWrite)*p.act.write,
		DRAM:   float64(a.DRAMRead+a.DRAMWrite) * p.dram,
	}
	c := p.arith(a)
	switch u {
	case arch.UnitArray:
		e.Array = c
	case arch.UnitScan:
		e.Scan = c
	case arch.UnitDWConv:
		e.DWConv = c
	case arch.UnitVector:
		e.Vector = c
	case arch.UnitNorm:
		e.Norm = c
	}
	return e
}
