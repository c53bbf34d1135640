package rtl

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// requireTool skips the test when tool is missing, or fails it when CI=true.
func requireTool(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %s is missing (apt-get install %s)", tool, tool)
		}
		t.Skipf("%s is not installed", tool)
	}
}

func TestEmbedded(t *testing.T) {
	mods := Modules()
	want := []string{"dwconv.v", "exp2_core.v", "exp2_unit.v", "gemm_os.v", "gemm_ws.v", "group_requant.v", "interp16.v", "lut8.v",
		"merge.v", "requant.v", "resadd.v", "rmsnorm.v", "scan_lane.v", "skew.v", "systolic_array_os.v", "systolic_array_ws.v", "systolic_pe.v"}
	var got []string
	for _, m := range mods {
		got = append(got, m.Name)
		disk, err := os.ReadFile(m.Name)
		if err != nil || string(disk) != string(m.Data) {
			t.Errorf("%s: embedded copy differs from the file (%v)", m.Name, err)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("modules %v, want %v", got, want)
	}
	if len(Testbenches()) != 14 {
		t.Errorf("%d testbenches, want 14", len(Testbenches()))
	}
	if _, ok := Testbench("tb_scan"); !ok {
		t.Error("tb_scan missing")
	}
	if _, ok := Testbench("nope"); ok {
		t.Error("found a missing testbench")
	}
}

// TestVerilatorLint runs verilator --lint-only -Wall on every module as the
// top, with its default parameters and with corner parameterizations; the
// output must be empty.
func TestVerilatorLint(t *testing.T) {
	requireTool(t, "verilator")
	srcs, err := filepath.Glob("*.v")
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no sources: %v", err)
	}
	for _, c := range []struct {
		top    string
		params []string
	}{
		{"systolic_pe", nil}, {"systolic_pe", []string{"-GWW=4"}},
		{"systolic_array_os", nil}, {"systolic_array_os", []string{"-GR=1", "-GC=1"}}, {"systolic_array_os", []string{"-GR=3", "-GC=5"}},
		{"gemm_os", nil}, {"gemm_os", []string{"-GR=1", "-GC=1"}}, {"gemm_os", []string{"-GR=4", "-GC=1"}}, {"gemm_os", []string{"-GR=32", "-GC=8"}}, {"gemm_os", []string{"-GWW=4"}},
		{"systolic_array_ws", nil}, {"systolic_array_ws", []string{"-GR=1", "-GC=1"}}, {"systolic_array_ws", []string{"-GR=3", "-GC=2"}},
		{"gemm_ws", nil}, {"gemm_ws", []string{"-GR=1", "-GC=1"}}, {"gemm_ws", []string{"-GR=4", "-GC=1"}}, {"gemm_ws", []string{"-GR=1", "-GC=4"}},
		{"gemm_ws", []string{"-GR=32", "-GC=8"}},
		{"requant", nil}, {"requant", []string{"-GOUT_BITS=16"}}, {"requant", []string{"-GOUT_BITS=32"}},
		{"group_requant", nil}, {"group_requant", []string{"-GG=1"}}, {"group_requant", []string{"-GG=16", "-GOUT_BITS=32"}},
		{"lut8", nil}, {"lut8", []string{"-GNT=1"}}, {"lut8", []string{"-GNT=3"}},
		{"interp16", nil}, {"interp16", []string{"-GTBITS=1", "-GOUT_BITS=2", "-GEW=11"}}, {"interp16", []string{"-GTBITS=15"}},
		{"exp2_core", nil}, {"exp2_unit", nil}, {"exp2_unit", []string{"-GTBITS=1"}}, {"exp2_unit", []string{"-GTBITS=19"}},
		{"scan_lane", nil}, {"scan_lane", []string{"-GSBITS=16"}}, {"scan_lane", []string{"-GN=1", "-GMAXE=1"}}, {"scan_lane", []string{"-GN=5", "-GMAXE=7"}},
		{"rmsnorm", nil}, {"rmsnorm", []string{"-GMAXD=1", "-GOUT_BITS=32"}}, {"rmsnorm", []string{"-GMAXD=192", "-GTB=3"}},
		{"dwconv", nil}, {"dwconv", []string{"-GWW=4"}}, {"dwconv", []string{"-GLANES=1", "-GMAXE=1"}}, {"dwconv", []string{"-GLANES=3", "-GT=1"}},
		{"dwconv", []string{"-GLANES=5", "-GMAXE=7", "-GT=2"}}, {"dwconv", []string{"-GLANES=1", "-GT=1", "-GMAXE=1"}},
		{"merge", nil}, {"merge", []string{"-GLANES=16"}}, {"resadd", nil}, {"resadd", []string{"-GLANES=16"}},
	} {
		args := append(append([]string{"--lint-only", "-Wall", "--top-module", c.top}, c.params...), srcs...)
		out, err := exec.Command("verilator", args...).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) != 0 {
			t.Errorf("%s %v: %v\n%s", c.top, c.params, err, out)
		}
	}
}

var cellsRe = regexp.MustCompile(`Number of cells:\s+(\d+)`)

// TestYosysSynth synthesizes a 2x2 array, the requantizer and small
// instances of the depthwise convolution, merge and residual-add units with
// Yosys' generic flow: it must succeed without latches or multiple drivers
// (docs/RTL.md §10 has the larger runs).
func TestYosysSynth(t *testing.T) {
	requireTool(t, "yosys")
	for _, c := range []struct{ top, chparam, files string }{
		{"systolic_array_os", "chparam -set R 2 -set C 2 systolic_array_os", "systolic_pe.v systolic_array_os.v"},
		{"gemm_ws", "chparam -set R 2 -set C 3 gemm_ws", "skew.v systolic_array_ws.v gemm_ws.v"},
		{"requant", "", "requant.v"},
		{"dwconv", "chparam -set LANES 2 -set MAXE 6 dwconv", "dwconv.v"},
		{"merge", "chparam -set LANES 4 merge", "merge.v"},
		{"resadd", "chparam -set LANES 4 resadd", "resadd.v"},
	} {
		script := "read_verilog " + c.files + "; " + c.chparam + "; synth -flatten -top " + c.top + "; check -assert; stat"
		out, err := exec.Command("yosys", "-p", script).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", c.top, err, out)
			continue
		}
		log := string(out)
		if strings.Contains(log, "$_DLATCH") || strings.Contains(log, "$dlatch") {
			t.Errorf("%s: latch", c.top)
		}
		if strings.Contains(log, "Warning:") {
			t.Errorf("%s: yosys warnings:\n%s", c.top, grepLines(log, "Warning:"))
		}
		ms := cellsRe.FindAllStringSubmatch(log, -1)
		if ms == nil {
			t.Errorf("%s: no cell count", c.top)
			continue
		}
		m := ms[len(ms)-1]
		if m == nil {
			t.Errorf("%s: no cell count\n%s", c.top, log)
			continue
		}
		if n, _ := strconv.Atoi(m[1]); n < 100 {
			t.Errorf("%s: %d cells", c.top, n)
		}
	}
}

// grepLines returns the lines of s containing sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
