package cost

import (
	"bytes"
	"encoding/csv"
	"math"
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
	// hardware.md §2.1 anchors: int8 MAC 0.3 pJ, SRAM 1.25/2.5/12.5 pJ per byte, DRAM 1300 pJ per 64 bits.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"mac8", h.MAC8, 0.3}, {"mult8", h.Mult8, 0.2}, {"mult32", h.Mult32, 3.1}, {"add8", h.Add8, 0.03}, {"add32", h.Add32, 0.1},
		{"sram 8K", h.SRAMPJPerByte(8), 1.25}, {"sram 32K", h.SRAMPJPerByte(32), 2.5}, {"sram 1M", h.SRAMPJPerByte(1024), 12.5},
		{"sram 4M (flat)", h.SRAMPJPerByte(4096), 12.5}, {"dram", h.DRAMPJPerByte, 162.5},
	} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("horowitz45 %s = %g, want %g", c.name, c.got, c.want)
		}
	}
	// Between anchors the curve is a power law: 16 KiB is the log-midpoint of 8 and 32.
	if got, want := h.SRAMPJPerByte(16), math.Sqrt(1.25*2.5); math.Abs(got-want) > 1e-12 {
		t.Errorf("sram 16K = %g, want %g", got, want)
	}
	for _, name := range arch.TechNames() {
		tab, err := arch.LookupTech(name)
		if err != nil {
			t.Fatal(err)
		}
		prev := 0.0
		for kib := 0.5; kib <= 8192; kib *= 2 {
			e := tab.SRAMPJPerByte(kib)
			if !(e > 0) || e < prev {
				t.Errorf("%s: SRAM energy not positive and non-decreasing at %g KiB: %g after %g", name, kib, e, prev)
			}
			prev = e
		}
		if !(tab.Mult8 < tab.Mult16 && tab.Mult16 < tab.Mult32 && tab.Add8 < tab.Add16 && tab.Add16 < tab.Add32) {
			t.Errorf("%s: widths not ordered: %+v", name, tab)
		}
	}
	a, _ := arch.LookupTech("accelergy-45")
	if a.MAC8 != 0.561 || a.DRAMPJPerByte != 64 || a.SRAMPJPerByte(100) != 1.049 {
		t.Errorf("accelergy-45: %+v", a)
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
				sum += float64(c.Count) * c.PJEach
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
	var y bytes.Buffer
	if err := e.WriteActionCounts(&y, "yaml"); err != nil {
		t.Fatal(err)
	}
	var doc accelergyYAML
	if err := yaml.Unmarshal(y.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, y.String())
	}
	if doc.ActionCounts.Version != "0.4" || len(doc.ActionCounts.Local) == 0 {
		t.Fatalf("yaml: %+v", doc)
	}
	found := false
	for _, comp := range doc.ActionCounts.Local {
		for _, a := range comp.ActionCounts {
			if comp.Name == "vimsim.array" && a.Name == "mac_random" {
				found = true
				if want := e.Totals.Actions.MAC8 - 14524416; a.Counts != want { // less the dwconv MACs
					t.Errorf("array mac_random %d, want %d", a.Counts, want)
				}
			}
		}
	}
	if !found {
		t.Error("no vimsim.array mac_random in the YAML")
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
		n, err1 := strconv.ParseInt(r[2], 10, 64)
		pj, err2 := strconv.ParseFloat(r[3], 64)
		tot, err3 := strconv.ParseFloat(r[4], 64)
		if err1 != nil || err2 != nil || err3 != nil || math.Abs(float64(n)*pj-tot) > 1e-4*tot+1e-9 {
			t.Errorf("csv row %v inconsistent", r)
		}
	}
	if err := e.WriteActionCounts(&c, "xml"); err == nil {
		t.Error("xml accepted")
	}
}
