package cost

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vimsim/vimsim/hw/arch"

	yaml "go.yaml.in/yaml/v3"
)

// Actions counts the primitive actions of one operation (or a sum of them).
// Arithmetic is in operations; SRAM and DRAM traffic in bytes. These are the
// counts an Accelergy user re-prices (WriteActionCounts), and the counts a
// functional simulator of the same program must reproduce.
type Actions struct {
	MAC8   int64 `json:"mac8"`
	Mult8  int64 `json:"mult8"`
	Mult16 int64 `json:"mult16"`
	Mult32 int64 `json:"mult32"`
	Add8   int64 `json:"add8"`
	Add16  int64 `json:"add16"`
	Add32  int64 `json:"add32"`
	LUT    int64 `json:"lut_reads"`

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
		MAC8: a.MAC8 + b.MAC8, Mult8: a.Mult8 + b.Mult8, Mult16: a.Mult16 + b.Mult16, Mult32: a.Mult32 + b.Mult32,
		Add8: a.Add8 + b.Add8, Add16: a.Add16 + b.Add16, Add32: a.Add32 + b.Add32, LUT: a.LUT + b.LUT,
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

// lutKiB is the size of a nonlinear look-up table: 1025 16-bit entries
// (step 1/64 over [0, 16), hardware.md §5).
const (
	lutKiB   = 2.0
	lutBytes = 2
)

// pricer turns action counts into energy for one spec.
type pricer struct {
	t                                arch.EnergyTable
	ifmap, filter, ofmap, act, lut   float64 // pJ per byte
	dram                             float64
	staticPerCycle                   float64
	mac8, m8, m16, m32, a8, a16, a32 float64
}

func newPricer(s arch.Spec, t arch.EnergyTable) pricer {
	p := pricer{t: t,
		ifmap:  t.SRAMPJPerByte(float64(s.Buffers.IfmapKiB)),
		filter: t.SRAMPJPerByte(float64(s.Buffers.FilterKiB)),
		ofmap:  t.SRAMPJPerByte(float64(s.Buffers.OfmapKiB)),
		act:    t.SRAMPJPerByte(float64(max(s.Buffers.ActKiB, 1))),
		lut:    t.SRAMPJPerByte(lutKiB) * lutBytes,
		dram:   t.DRAMPJPerByte,
		mac8:   t.MAC8, m8: t.Mult8, m16: t.Mult16, m32: t.Mult32, a8: t.Add8, a16: t.Add16, a32: t.Add32,
	}
	if s.DRAM.PJPerByte > 0 {
		p.dram = s.DRAM.PJPerByte
	}
	p.staticPerCycle = t.LeakPerPECycle*float64(peEquivalents(s)) + t.LeakPerKiBCycle*float64(s.Buffers.TotalKiB())
	return p
}

// peEquivalents counts the MAC-sized datapaths of s for leakage: the array
// PEs, four multipliers per scan lane, and one per lane of the other units.
func peEquivalents(s arch.Spec) int64 {
	return int64(s.PEs()) + 4*int64(s.Scan.Lanes) + int64(s.Vector.Lanes) + 2*int64(s.Norm.Lanes) + int64(s.DWConv.Lanes)
}

// arith is the energy of the arithmetic actions of a.
func (p pricer) arith(a Actions) float64 {
	return float64(a.MAC8)*p.mac8 + float64(a.Mult8)*p.m8 + float64(a.Mult16)*p.m16 + float64(a.Mult32)*p.m32 +
		float64(a.Add8)*p.a8 + float64(a.Add16)*p.a16 + float64(a.Add32)*p.a32 + float64(a.LUT)*p.lut
}

// price returns the energy of a, with its arithmetic charged to unit u.
func (p pricer) price(u arch.Unit, a Actions) Energy {
	e := Energy{
		Ifmap:  float64(a.IfmapRead+a.IfmapWrite) * p.ifmap,
		Filter: float64(a.FilterRead+a.FilterWrite) * p.filter,
		Ofmap:  float64(a.OfmapRead+a.OfmapWrite) * p.ofmap,
		Act:    float64(a.ActRead+a.ActWrite) * p.act,
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

// ActionCount is one line of an Accelergy-style action-count report.
type ActionCount struct {
	Component string  `json:"component" yaml:"component"`
	Action    string  `json:"action" yaml:"action"`
	Count     int64   `json:"count" yaml:"count"`
	PJEach    float64 `json:"pj_per_action" yaml:"pj_per_action"`
}

// ActionCounts lists the primitive actions of the estimate per component
// (one per unit and memory level) with the energy per action of its
// technology table, in a fixed order. SRAM and DRAM actions count bytes
// (one 8-bit word each).
func (e Estimate) ActionCounts() []ActionCount {
	pr := newPricer(e.Arch, e.Tech)
	perUnit := map[arch.Unit]Actions{}
	for _, c := range e.Ops {
		perUnit[c.Unit] = perUnit[c.Unit].Add(c.Actions)
	}
	var out []ActionCount
	add := func(comp, action string, n int64, pj float64) {
		if n != 0 {
			out = append(out, ActionCount{Component: comp, Action: action, Count: n, PJEach: pj})
		}
	}
	for _, u := range arch.Units()[:len(arch.Units())-1] {
		a := perUnit[u]
		comp := "vimsim." + string(u)
		add(comp, "mac_random", a.MAC8, pr.mac8)
		add(comp, "mult8", a.Mult8, pr.m8)
		add(comp, "mult16", a.Mult16, pr.m16)
		add(comp, "mult32", a.Mult32, pr.m32)
		add(comp, "add8", a.Add8, pr.a8)
		add(comp, "add16", a.Add16, pr.a16)
		add(comp, "add32", a.Add32, pr.a32)
		add(comp, "lut_read", a.LUT, pr.lut)
	}
	t := e.Totals.Actions
	add("vimsim.ifmap_sram", "read", t.IfmapRead, pr.ifmap)
	add("vimsim.ifmap_sram", "write", t.IfmapWrite, pr.ifmap)
	add("vimsim.filter_sram", "read", t.FilterRead, pr.filter)
	add("vimsim.filter_sram", "write", t.FilterWrite, pr.filter)
	add("vimsim.ofmap_sram", "read", t.OfmapRead, pr.ofmap)
	add("vimsim.ofmap_sram", "write", t.OfmapWrite, pr.ofmap)
	add("vimsim.act_sram", "read", t.ActRead, pr.act)
	add("vimsim.act_sram", "write", t.ActWrite, pr.act)
	add("vimsim.DRAM", "read", t.DRAMRead, pr.dram)
	add("vimsim.DRAM", "write", t.DRAMWrite, pr.dram)
	add("vimsim.leakage", "idle_cycle", e.Totals.Cycles, pr.staticPerCycle)
	return out
}

// accelergyYAML mirrors Accelergy's action_counts.yaml (version 0.4).
type accelergyYAML struct {
	ActionCounts struct {
		Version string               `yaml:"version"`
		Local   []accelergyComponent `yaml:"local"`
	} `yaml:"action_counts"`
}

type accelergyComponent struct {
	Name         string            `yaml:"name"`
	ActionCounts []accelergyAction `yaml:"action_counts"`
}

type accelergyAction struct {
	Name   string `yaml:"name"`
	Counts int64  `yaml:"counts"`
}

// WriteActionCounts writes ActionCounts as Accelergy action_counts YAML
// (format "yaml") or as CSV with the energy per action and in total
// (format "csv").
func (e Estimate) WriteActionCounts(w io.Writer, format string) error {
	counts := e.ActionCounts()
	switch strings.ToLower(format) {
	case "yaml", "yml":
		var doc accelergyYAML
		doc.ActionCounts.Version = "0.4"
		for _, c := range counts {
			n := len(doc.ActionCounts.Local)
			if n == 0 || doc.ActionCounts.Local[n-1].Name != c.Component {
				doc.ActionCounts.Local = append(doc.ActionCounts.Local, accelergyComponent{Name: c.Component})
				n++
			}
			comp := &doc.ActionCounts.Local[n-1]
			comp.ActionCounts = append(comp.ActionCounts, accelergyAction{Name: c.Action, Counts: c.Count})
		}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return err
		}
		return enc.Close()
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"component", "action", "count", "pj_per_action", "energy_pj"})
		for _, c := range counts {
			cw.Write([]string{c.Component, c.Action, strconv.FormatInt(c.Count, 10), fmtF(c.PJEach), fmtF(float64(c.Count) * c.PJEach)})
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("action-count format %q: want yaml or csv", format)
}
