package cost

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/vimsim/vimsim/hw/arch"
)

// ActionCount is one line of an Accelergy action-count report: Count
// actions of one component, PJEach picojoules each. Counts of SRAM and
// DRAM accesses are in accesses of the component's width (bytes·8/width)
// and of leakage in Aladdin periods of arch.AladdinNS per instance, so
// they need not be whole numbers.
type ActionCount struct {
	Component string  `json:"component" yaml:"component"`
	Action    string  `json:"action" yaml:"action"`
	Count     float64 `json:"count" yaml:"count"`
	PJEach    float64 `json:"pj_per_action" yaml:"pj_per_action"`
}

// accelergyComponent is one primitive component of the Accelergy
// architecture vimsim's estimate corresponds to: its class and attributes
// as Accelergy's Aladdin and CACTI plug-ins read them.
type accelergyComponent struct {
	name, class string
	attrs       [][2]string // in order; values already in YAML form
	actions     []ActionCount
}

// primitiveClass names the Accelergy class, width and dynamic action of a
// primitive.
func primitiveClass(q primitive) (name, class string, width int, action string) {
	switch q {
	case primMAC8:
		return "mac", "intmac", 8, "mac_random"
	case primPsumReg:
		return "psum_reg", "reg", 32, "access"
	case primMult8, primMult16, primMult32:
		w := [...]int{8, 16, 32}[q-primMult8]
		return "mult" + strconv.Itoa(w), "intmultiplier", w, "multiply"
	case primAdd8, primAdd16, primAdd32:
		w := [...]int{8, 16, 32}[q-primAdd8]
		return "add" + strconv.Itoa(w), "intadder", w, "add"
	}
	return "lut", "SRAM", arch.LUTBits, "read"
}

// narrowMAC lists the Accelergy components of n MACs of a narrow class q
// (leak: instance periods): Aladdin's intmac has one width, so a MAC of an
// a-bit by a w-bit operand is a multiplier of width √(a·w) — the plug-in
// scales multipliers by width², so its energy is the a·w bit products' —
// and the int8 MAC's accumulate adder (arch.EnergyTable.MAC).
func narrowMAC(unit string, q primitive, n, leak float64, pr pricer) []accelergyComponent {
	a, w := classBits(q)
	t := pr.t
	tag := "_mac" + strconv.Itoa(a) + "x" + strconv.Itoa(w)
	width := strconv.FormatFloat(math.Sqrt(float64(a*w)), 'f', -1, 64)
	multLeak := t.Leak.Mult8 * float64(a*w) / 64
	leakPJ := func(uw float64) float64 { return uw * arch.AladdinNS * 1e-3 }
	var out []accelergyComponent
	for _, c := range []struct {
		suffix, class, width, action string
		pj, leakUW                   float64
	}{
		{"_mult", "intmultiplier", width, "multiply", t.MACMult(a, w), multLeak},
		{"_add", "intadder", "8", "add", t.MACAdd(), t.MACLeakUW(a, w) - multLeak},
	} {
		comp := accelergyComponent{name: "vimsim." + unit + tag + c.suffix, class: c.class, attrs: [][2]string{{"width", c.width}}}
		if n != 0 {
			comp.actions = append(comp.actions, ActionCount{Component: comp.name, Action: c.action, Count: n, PJEach: c.pj})
		}
		if leak != 0 {
			comp.actions = append(comp.actions, ActionCount{Component: comp.name, Action: "leak", Count: leak, PJEach: leakPJ(c.leakUW)})
		}
		if len(comp.actions) > 0 {
			out = append(out, comp)
		}
	}
	return out
}

// components lists the estimate as Accelergy primitive components with
// their action counts, in a fixed order: per unit its MACs, partial-sum
// registers, multipliers, adders and look-up tables; the buffers; the
// DRAM. Each has a leak action whose count is the instances times the
// latency in Aladdin periods (arch.AladdinNS), so that Accelergy's leak
// energies sum to the estimate's static energy.
func (e Estimate) components() []accelergyComponent {
	s := e.Arch
	pr := newPricer(s, e.Tech, e.Precision)
	periods := float64(e.Totals.Cycles) * 1e3 / (arch.AladdinNS * s.ClockMHz) // latency in Aladdin periods
	leakPJ := func(uw float64) float64 { return uw * arch.AladdinNS * 1e-3 }
	perUnit := map[arch.Unit]Actions{}
	for _, c := range e.Ops {
		perUnit[c.Unit] = perUnit[c.Unit].Add(c.Actions)
	}
	inst := map[arch.Unit]map[primitive]int64{}
	for _, n := range pr.inventory {
		if inst[n.unit] == nil {
			inst[n.unit] = map[primitive]int64{}
		}
		inst[n.unit][n.prim] += n.count
	}
	var out []accelergyComponent
	add := func(c accelergyComponent, action string, n, pj float64) *accelergyComponent {
		if n != 0 {
			c.actions = append(c.actions, ActionCount{Component: c.name, Action: action, Count: n, PJEach: pj})
		}
		return &c
	}
	for _, u := range arch.Units()[:len(arch.Units())-1] {
		counts := perUnit[u].counts()
		for _, q := range primOrder {
			if q == primMAC4x8 || q == primMAC4 {
				out = append(out, narrowMAC(string(u), q, float64(counts[q]), float64(inst[u][q])*periods, pr)...)
				continue
			}
			name, class, width, action := primitiveClass(q)
			c := accelergyComponent{name: "vimsim." + string(u) + "_" + name, class: class,
				attrs: [][2]string{{"width", strconv.Itoa(width)}}}
			if q == primLUT {
				c.attrs = append(c.attrs, [2]string{"depth", strconv.Itoa(arch.LUTKiB * 8192 / arch.LUTBits)})
			}
			p := add(c, action, float64(counts[q]), pr.pj(q))
			p = add(*p, "leak", float64(inst[u][q])*periods, leakPJ(pr.leakUW(q)))
			if len(p.actions) > 0 {
				out = append(out, *p)
			}
		}
	}
	t := e.Totals.Actions
	for _, b := range []struct {
		name        string
		buf         buffer
		read, write int64
	}{
		{"ifmap_sram", pr.ifmap, t.IfmapRead, t.IfmapWrite},
		{"filter_sram", pr.filter, t.FilterRead, t.FilterWrite},
		{"ofmap_sram", pr.ofmap, t.OfmapRead, t.OfmapWrite},
		{"act_sram", pr.act, t.ActRead, t.ActWrite},
	} {
		if b.buf.kib == 0 {
			continue
		}
		bytes := float64(b.buf.width) / 8
		c := accelergyComponent{name: "vimsim." + b.name, class: "SRAM", attrs: [][2]string{
			{"width", strconv.Itoa(b.buf.width)}, {"depth", strconv.Itoa(int(b.buf.kib*8192) / b.buf.width)}}}
		p := add(c, "read", float64(b.read)/bytes, b.buf.read*bytes)
		p = add(*p, "write", float64(b.write)/bytes, b.buf.write*bytes)
		p = add(*p, "leak", periods, leakPJ(b.buf.leakUW))
		out = append(out, *p)
	}
	c := accelergyComponent{name: "vimsim.dram", class: "DRAM", attrs: [][2]string{{"width", "64"}, {"type", `"LPDDR4"`}}}
	p := add(c, "read", float64(t.DRAMRead)/8, pr.dram*8)
	p = add(*p, "write", float64(t.DRAMWrite)/8, pr.dram*8)
	return append(out, *p)
}

// ActionCounts lists the actions of the estimate per Accelergy component
// (components), with the energy per action of its technology table: the
// counts times the energies sum to the estimate's energy, static included.
func (e Estimate) ActionCounts() []ActionCount {
	var out []ActionCount
	for _, c := range e.components() {
		out = append(out, c.actions...)
	}
	return out
}

// fmtCount writes a count in positional notation (YAML 1.1 and 1.2 read
// it as a number; no exponent, which PyYAML would read as a string).
func fmtCount(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// WriteActionCounts writes ActionCounts as an Accelergy 0.4 action-counts
// file (format "yaml"; it loads in Accelergy unchanged with the
// architecture of WriteAccelergyArch) or as CSV with the energy per action
// and in total (format "csv").
func (e Estimate) WriteActionCounts(w io.Writer, format string) error {
	switch strings.ToLower(format) {
	case "yaml", "yml":
		bw := bufio.NewWriter(w)
		fmt.Fprintf(bw, "# Accelergy action counts of vimsim's estimate of %s on %s (%s); architecture: vimsim run --accelergy-arch\n",
			e.Model, e.Arch.Name, e.Tech.Name)
		bw.WriteString("action_counts:\n  version: 0.4\n  local:\n")
		for _, c := range e.components() {
			fmt.Fprintf(bw, "  - name: %s\n    action_counts:\n", c.name)
			for _, a := range c.actions {
				fmt.Fprintf(bw, "    - name: %s\n      counts: %s\n", a.Action, fmtCount(a.Count))
			}
		}
		return bw.Flush()
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"component", "action", "count", "pj_per_action", "energy_pj"})
		for _, c := range e.ActionCounts() {
			cw.Write([]string{c.Component, c.Action, fmtCount(c.Count), fmtF(c.PJEach), fmtF(c.Count * c.PJEach)})
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("action-count format %q: want yaml or csv", format)
}

// WriteAccelergyArch writes the Accelergy 0.4 architecture whose
// components the action counts name: one primitive component per unit
// and primitive (intmac, reg, intmultiplier, intadder, SRAM), the buffers
// (SRAM of their width and depth) and the DRAM (LPDDR4), at 45 nm with
// Aladdin's 5 ns global cycle. With the action counts, `accelergy` prices
// the estimate with its own plug-ins; for the accelergy-45 table the
// energies agree (docs/PERFMODEL.md §5).
func (e Estimate) WriteAccelergyArch(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# Accelergy architecture of vimsim's estimate of %s on %s; action counts: vimsim run --actions\n", e.Model, e.Arch.Name)
	fmt.Fprintf(bw, "architecture:\n  version: 0.4\n  subtree:\n  - name: vimsim\n    attributes:\n      technology: \"45nm\"\n      global_cycle_seconds: %s\n    local:\n",
		strconv.FormatFloat(arch.AladdinNS*1e-9, 'g', -1, 64))
	for _, c := range e.components() {
		fmt.Fprintf(bw, "    - name: %s\n      class: %s\n      attributes:\n", strings.TrimPrefix(c.name, "vimsim."), c.class)
		for _, a := range c.attrs {
			fmt.Fprintf(bw, "        %s: %s\n", a[0], a[1])
		}
		names := make([]string, len(c.actions))
		for i, a := range c.actions {
			names[i] = a.Action
		}
		fmt.Fprintf(bw, "      required_actions: [%s]\n", strings.Join(names, ", "))
	}
	return bw.Flush()
}
