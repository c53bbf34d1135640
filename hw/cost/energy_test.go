package cost

import (
	"bytes"
	"encoding/csv"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/quant/intprog"

	yaml "go.yaml.in/yaml/v3"

	"github.com/vimsim/vimsim/vim"
)

func TestTechTables(t *testing.T) {
	h, err := arch.LookupTech("horowitz45")
	if err != nil {
		t.Fatal(err)
	}
	// hardware.md §2.1 anchors: int8 MAC 0.3 pJ, 64-bit SRAM reads of
	// 10/20/100 pJ at 8 KiB/32 KiB/1 MiB, DRAM 1300 pJ per 64 bits.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"mac8", h.MAC8, 0.3}, {"mult8", h.Mult8, 0.2}, {"mult32", h.Mult32, 3.1}, {"add8", h.Add8, 0.03}, {"add32", h.Add32, 0.1},
		{"sram 8K", h.SRAMRead(8, 64), 10}, {"sram 32K", h.SRAMRead(32, 64), 20}, {"sram 1M", h.SRAMRead(1024, 64), 100},
		{"dram", h.DRAMPJPerByte, 162.5}, {"psum reg (Aladdin)", h.PsumReg, 0.288},
	} {
		if math.Abs(c.got-c.want) > 1e-9*c.want {
			t.Errorf("horowitz45 %s = %g, want %g", c.name, c.got, c.want)
		}
	}
	for _, name := range arch.TechNames() {
		tab, err := arch.LookupTech(name)
		if err != nil {
			t.Fatal(err)
		}
		// Per byte, an SRAM gets dearer with capacity and cheaper with width.
		prev := 0.0
		for _, kib := range []float64{1, 4, 16, 64, 256, 1024, 4096} {
			e := tab.SRAMRead(kib, 64) / 8
			if !(e > prev) || math.IsInf(e, 0) {
				t.Errorf("%s: SRAM %g KiB %g pJ/B not increasing", name, kib, e)
			}
			prev = e
		}
		if wide, narrow := tab.SRAMRead(256, 512)/64, tab.SRAMRead(256, 64)/8; !(wide < narrow) {
			t.Errorf("%s: 512-bit reads %g pJ/B, 64-bit %g", name, wide, narrow)
		}
	}
	if _, err := arch.LookupTech("5nm"); err == nil || !strings.Contains(err.Error(), "horowitz45") {
		t.Errorf("unknown tech error %v", err)
	}
}

func vimTi(t testing.TB) vim.Config {
	c, err := vim.Preset("vim-ti")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// lower returns the op list of c (intprog.Lower).
func lower(t testing.TB, c vim.Config) []intprog.Op {
	l, err := intprog.Lower(c)
	if err != nil {
		t.Fatal(err)
	}
	return l.Ops
}

// TestActionCountsRepriceToTheEstimate checks that the Accelergy-style
// action counts times their energies add up to the estimate's energy, so a
// re-pricing with the same table reproduces it.
func TestActionCountsRepriceToTheEstimate(t *testing.T) {
	for _, tech := range arch.TechNames() {
		for _, ov := range []arch.Overlap{arch.Serial, arch.Pipelined} {
			e, err := EstimateModel(arch.Systolic16().WithTech(tech).WithOverlap(ov), vimTi(t))
			if err != nil {
				t.Fatal(err)
			}
			var sum float64
			for _, c := range e.ActionCounts() {
				sum += c.Count * c.PJEach
			}
			if total := e.Totals.Energy.Total(); math.Abs(sum-total) > 1e-9*total {
				t.Errorf("%s %s: action counts price to %g pJ, estimate %g pJ", tech, ov, sum, total)
			}
		}
	}
}

func TestWriteActionCounts(t *testing.T) {
	e, err := EstimateModel(arch.Systolic16(), vimTi(t))
	if err != nil {
		t.Fatal(err)
	}
	var y, a bytes.Buffer
	if err := e.WriteActionCounts(&y, "yaml"); err != nil {
		t.Fatal(err)
	}
	if err := e.WriteAccelergyArch(&a); err != nil {
		t.Fatal(err)
	}
	counts, arch := checkAccelergyFiles(t, y.Bytes(), a.Bytes())
	if got, want := counts["vimsim.array_mac"]["mac_random"], float64(e.Totals.Actions.MAC8-14524416); got != want { // less the dwconv MACs
		t.Errorf("array mac_random %g, want %g", got, want)
	}
	if got := counts["vimsim.array_psum_reg"]["access"]; got != counts["vimsim.array_mac"]["mac_random"] {
		t.Errorf("array psum register accesses %g, MACs %g", got, counts["vimsim.array_mac"]["mac_random"])
	}
	// A 64 KiB ifmap buffer read 128 bits at a time (16 rows of int8).
	if got := arch["ifmap_sram"]; got["class"] != "SRAM" || got["width"] != 128 || got["depth"] != 4096 {
		t.Errorf("ifmap_sram %v", got)
	}
	if got, want := counts["vimsim.ifmap_sram"]["read"], float64(e.Totals.Actions.IfmapRead)/16; got != want {
		t.Errorf("ifmap reads %g, want %g", got, want)
	}
	var c bytes.Buffer
	if err := e.WriteActionCounts(&c, "csv"); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&c).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "component,action,count,pj_per_action,energy_pj" || len(rows) != len(e.ActionCounts())+1 {
		t.Fatalf("csv header %v, %d rows", rows[0], len(rows))
	}
	for _, r := range rows[1:] {
		n, err1 := strconv.ParseFloat(r[2], 64)
		pj, err2 := strconv.ParseFloat(r[3], 64)
		tot, err3 := strconv.ParseFloat(r[4], 64)
		if err1 != nil || err2 != nil || err3 != nil || math.Abs(n*pj-tot) > 1e-4*tot+1e-9 {
			t.Errorf("csv row %v inconsistent", r)
		}
	}
	if err := e.WriteActionCounts(&c, "xml"); err == nil {
		t.Error("xml accepted")
	}
}

// checkAccelergyFiles checks the two files against the schema Accelergy
// 0.4 reads (accelergy/raw_inputs_2_dicts.py, action_counts_dict_2_obj.py):
// numeric versions 0.4, an architecture subtree whose local components
// have a name, a class, attributes and the actions the counts use, and
// numeric counts for components of the architecture. It returns the counts
// by component and action, and the architecture's attributes by component.
func checkAccelergyFiles(t *testing.T, countsYAML, archYAML []byte) (map[string]map[string]float64, map[string]map[string]any) {
	t.Helper()
	var cdoc struct {
		ActionCounts struct {
			Version yaml.Node `yaml:"version"`
			Local   []struct {
				Name         string `yaml:"name"`
				ActionCounts []struct {
					Name   string    `yaml:"name"`
					Counts yaml.Node `yaml:"counts"`
				} `yaml:"action_counts"`
			} `yaml:"local"`
		} `yaml:"action_counts"`
	}
	if err := yaml.Unmarshal(countsYAML, &cdoc); err != nil {
		t.Fatalf("counts: %v", err)
	}
	var adoc struct {
		Architecture struct {
			Version yaml.Node `yaml:"version"`
			Subtree []struct {
				Name       string         `yaml:"name"`
				Attributes map[string]any `yaml:"attributes"`
				Local      []struct {
					Name       string         `yaml:"name"`
					Class      string         `yaml:"class"`
					Attributes map[string]any `yaml:"attributes"`
					Required   []string       `yaml:"required_actions"`
				} `yaml:"local"`
			} `yaml:"subtree"`
		} `yaml:"architecture"`
	}
	if err := yaml.Unmarshal(archYAML, &adoc); err != nil {
		t.Fatalf("architecture: %v", err)
	}
	for _, v := range []yaml.Node{cdoc.ActionCounts.Version, adoc.Architecture.Version} {
		if v.Tag != "!!float" || v.Value != "0.4" {
			t.Errorf("version %s %q: Accelergy wants the number 0.4", v.Tag, v.Value)
		}
	}
	if len(adoc.Architecture.Subtree) != 1 || adoc.Architecture.Subtree[0].Name != "vimsim" {
		t.Fatalf("architecture subtree %+v", adoc.Architecture.Subtree)
	}
	top := adoc.Architecture.Subtree[0]
	if top.Attributes["technology"] != "45nm" || top.Attributes["global_cycle_seconds"] != 5e-9 {
		t.Errorf("global attributes %v", top.Attributes)
	}
	if !bytes.Contains(archYAML, []byte(`technology: "45nm"`)) {
		t.Error(`technology must be quoted: Accelergy evaluates an unquoted 45nm as an expression`)
	}
	arch := map[string]map[string]any{}
	actions := map[string][]string{}
	for _, c := range top.Local {
		if c.Name == "" || c.Class == "" || len(c.Required) == 0 {
			t.Errorf("component %+v", c)
		}
		c.Attributes["class"] = c.Class
		arch[c.Name] = c.Attributes
		actions["vimsim."+c.Name] = c.Required
	}
	counts := map[string]map[string]float64{}
	for _, comp := range cdoc.ActionCounts.Local {
		req, ok := actions[comp.Name]
		if !ok {
			t.Errorf("counts name %s, which the architecture lacks", comp.Name)
		}
		counts[comp.Name] = map[string]float64{}
		for _, a := range comp.ActionCounts {
			if a.Counts.Tag != "!!int" && a.Counts.Tag != "!!float" {
				t.Errorf("%s %s: counts %q is a %s, not a number", comp.Name, a.Name, a.Counts.Value, a.Counts.Tag)
			}
			v, err := strconv.ParseFloat(a.Counts.Value, 64)
			if err != nil || strings.ContainsAny(a.Counts.Value, "eE") {
				t.Errorf("%s %s: counts %q (PyYAML reads exponents without a dot as strings)", comp.Name, a.Name, a.Counts.Value)
			}
			if !slices.Contains(req, a.Name) {
				t.Errorf("%s: action %s not among the required actions %v", comp.Name, a.Name, req)
			}
			counts[comp.Name][a.Name] = v
		}
	}
	return counts, arch
}
