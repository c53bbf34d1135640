package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/models"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/traces"
	"github.com/vimsim/vimsim/vim"
)

// rtlCLI runs the vectors and trace commands under a test root.
func rtlCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "vimsim", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newVectorsCmd(), newTraceCmd())
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.Execute()
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("%v: multi-line error %q", args, err)
	}
	return out.String(), err
}

// vectorsModel is the default model when it is embedded, else vim-toy.
func vectorsModel() string {
	if _, ok := models.Lookup(vim.DefaultModel); ok {
		return vim.DefaultModel
	}
	return "vim-toy"
}

// requireRTLTools skips without the tools, or fails when CI=true.
func requireRTLTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI=true and %s is missing (apt-get install iverilog make)", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
}

// readManifest reads DIR/manifest.json.
func readManifest(t *testing.T, dir string) traces.Manifest {
	t.Helper()
	var m traces.Manifest
	mb, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// readTree returns every file under dir by relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var (
	vecPassRe   = regexp.MustCompile(`(?m)^(\S+): PASS: (\d+) vectors$`)
	vecCyclesRe = regexp.MustCompile(`(?m)^(\S+): CYCLES: fold=(\d+) total=(\d+) \(model fold=(\d+) total=(\d+)\)$`)
)

// TestVectorsRunRTL is the CI form of the acceptance run: vectors
// recorded from the integer simulator's run of the embedded sample's first
// image on the default model, every unit, block 0 (the recorded sets and
// the corner sets), then `make` with Icarus Verilog against hw/rtl: every
// set prints PASS with the manifest's vector count, every GEMM's fold and
// total cycles equal cost.ComputeCycles, and one flipped expected word
// makes make fail. scripts/rtl-check.sh accept runs every layer.
func TestVectorsRunRTL(t *testing.T) {
	requireRTLTools(t, "iverilog", "vvp", "make")
	model := vectorsModel()
	dir := filepath.Join(t.TempDir(), "vec")
	out, err := rtlCLI(t, "vectors", "--model", model, "--arch", "systolic16", "--layers", "0", "--units", "all", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	rtlDir, _ := filepath.Abs(filepath.Join("..", "..", "hw", "rtl"))
	if !strings.Contains(out, "RTL_DIR="+rtlDir) {
		t.Errorf("RTL_DIR is not the project's hw/rtl:\n%s", out)
	}
	if !strings.Contains(out, "recorded integer simulator run of sample test image 0 (paper calibrated on sample") {
		t.Errorf("not a recording of the simulator run:\n%s", out)
	}
	m := readManifest(t, dir)
	units := map[traces.Unit]map[int]bool{}
	for _, s := range m.Sets {
		if units[s.Unit] == nil {
			units[s.Unit] = map[int]bool{}
		}
		units[s.Unit][s.Layer] = true
	}
	for _, u := range traces.AllUnits() {
		if !units[u][0] || len(units[u]) != 1 {
			t.Errorf("unit %s: layers %v, want 0", u, units[u])
		}
	}
	if !strings.HasPrefix(m.Source, "integer simulator run of sample test image 0") {
		t.Errorf("manifest source %q", m.Source)
	}
	// The run's sets and the corner sets are there: every op of the
	// workload in block 0 under its own name, and the edge sets.
	names := map[string]bool{}
	for _, s := range m.Sets {
		names[s.Name] = true
	}
	for _, n := range []string{"l00_norm_rmsnorm", "l00_conv1d_dwconv", "l00_conv1d_b_dwconv", "l00_gate_merge",
		"l00_residual_resadd", "l00_scan", "l00_scan_b", "l00_silu_z_lut8", "l00_exp2", "l00_edge_scan"} {
		if !names[n] {
			t.Errorf("no set %s", n)
		}
	}

	cmd := exec.Command("make", "-j2", "-C", dir)
	mout, err := cmd.CombinedOutput()
	log := string(mout)
	if err != nil {
		t.Fatalf("make: %v\n%s", err, log)
	}
	if !strings.Contains(log, fmt.Sprintf("ALL PASS: %d testbenches", len(m.Sets))) {
		t.Errorf("no ALL PASS line for %d sets", len(m.Sets))
	}
	passed := map[string]string{}
	for _, p := range vecPassRe.FindAllStringSubmatch(log, -1) {
		passed[p[1]] = p[2]
	}
	cfg, err := vim.LoadConfig(model, vim.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Sets {
		if passed[s.Name] != fmt.Sprint(s.Vectors) {
			t.Errorf("set %s: PASS count %q, manifest %d", s.Name, passed[s.Name], s.Vectors)
		}
	}
	// Every GEMM of block 0 has layer-level vectors (x_proj per
	// input group), and each one's measured cycles equal the cycle model's.
	consts := map[string]map[string]int64{}
	layerSets := 0
	for _, f := range m.Files {
		if strings.HasSuffix(f.Path, "/params.vh") {
			consts[f.Set] = f.Constants
		}
	}
	for _, s := range m.Sets {
		if s.Kind == "gemm_layer" {
			layerSets++
		}
	}
	l, err := intprog.Lower(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range l.Ops {
		if op.Kind != intprog.KindGEMM || op.Layer != 0 {
			continue
		}
		prefix := fmt.Sprintf("l%02d_%s_", op.Layer, op.Name)
		found := false
		for _, s := range m.Sets {
			found = found || (s.Kind == "gemm_layer" && strings.HasPrefix(s.Name, prefix) &&
				(s.Name == prefix+"gemm_layer" || strings.HasPrefix(s.Name, prefix+"g")))
		}
		if !found {
			t.Errorf("no layer-level GEMM vectors for %s of layer %d", op.Name, op.Layer)
		}
	}
	checked := 0
	for _, c := range vecCyclesRe.FindAllStringSubmatch(log, -1) {
		p, ok := consts[c[1]]
		if !ok {
			t.Errorf("CYCLES line of unknown set %s", c[1])
			continue
		}
		checked++
		cc, err := cost.ComputeCycles(16, 16, arch.OutputStationary, cost.GEMM{M: int(p["M"]), K: int(p["K"]), N: int(p["N"])})
		if err != nil {
			t.Fatal(err)
		}
		if p["R"] != 16 || p["C"] != 16 || c[2] != fmt.Sprint(cc.CyclesPerFold) || c[3] != fmt.Sprint(cc.Cycles+1) {
			t.Errorf("%s: RTL fold %s total %s, hw per-fold %d cycles %d(+1)", c[1], c[2], c[3], cc.CyclesPerFold, cc.Cycles)
		}
	}
	if checked != layerSets || checked == 0 {
		t.Errorf("%d GEMM cycle checks, want %d", checked, layerSets)
	}

	// Flip one expected word of the scan: make fails.
	p := filepath.Join(dir, "l00_scan_b", "out.exp.hex")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if l != "" && !strings.HasPrefix(l, "//") {
			c := byte('0')
			if l[len(l)-1] == '0' {
				c = '1'
			}
			lines[i] = l[:len(l)-1] + string(c)
			break
		}
	}
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	mout, err = exec.Command("make", "-C", dir, "l00_scan_b").CombinedOutput()
	if err == nil || !strings.Contains(string(mout), "MISMATCH index=0") || !strings.Contains(string(mout), "FAIL: l00_scan_b") {
		t.Errorf("flipped word: err %v\n%s", err, mout)
	}
}

// TestVectorsWSRTL runs the weight-stationary GEMM vectors of the default
// model's block 0 (--dataflow ws, the recorded run and the corner GEMM)
// against gemm_ws and systolic_array_ws under Icarus Verilog: every set
// passes, and every layer set's measured cycles equal the cycle model's WS
// count — 2R + C + M − 2 per fold, folds × that in total.
func TestVectorsWSRTL(t *testing.T) {
	requireRTLTools(t, "iverilog", "vvp", "make")
	dir := filepath.Join(t.TempDir(), "vec")
	if _, err := rtlCLI(t, "vectors", "--model", vectorsModel(), "--layers", "0", "--units", "gemm", "--dataflow", "ws", "--out", dir); err != nil {
		t.Fatal(err)
	}
	m := readManifest(t, dir)
	if m.Arch.Dataflow != "ws" {
		t.Errorf("manifest dataflow %q", m.Arch.Dataflow)
	}
	mout, err := exec.Command("make", "-j2", "-C", dir).CombinedOutput()
	log := string(mout)
	if err != nil {
		t.Fatalf("make: %v\n%s", err, log)
	}
	if !strings.Contains(log, fmt.Sprintf("ALL PASS: %d testbenches", len(m.Sets))) {
		t.Errorf("no ALL PASS line for %d sets", len(m.Sets))
	}
	consts := map[string]map[string]int64{}
	layerSets := 0
	for _, f := range m.Files {
		if strings.HasSuffix(f.Path, "/params.vh") {
			consts[f.Set] = f.Constants
		}
	}
	for _, s := range m.Sets {
		if s.Kind == "gemm_ws_layer" {
			layerSets++
		}
	}
	checked := 0
	for _, c := range vecCyclesRe.FindAllStringSubmatch(log, -1) {
		p := consts[c[1]]
		cc, err := cost.ComputeCycles(16, 16, arch.WeightStationary, cost.GEMM{M: int(p["M"]), K: int(p["K"]), N: int(p["N"])})
		if err != nil {
			t.Fatal(err)
		}
		if c[2] != fmt.Sprint(cc.CyclesPerFold) || cc.CyclesPerFold != 2*16+16+p["M"]-2 || c[3] != fmt.Sprint(cc.Cycles+1) {
			t.Errorf("%s: RTL fold %s total %s, hw WS per-fold %d cycles %d(+1)", c[1], c[2], c[3], cc.CyclesPerFold, cc.Cycles)
		}
		checked++
	}
	if checked != layerSets || checked == 0 {
		t.Errorf("%d WS cycle checks, want %d", checked, layerSets)
	}
}

// verilatorBenches are the testbenches TestVectorsVerilatorRTL builds with
// Verilator, by dataflow: the GEMM engines (the largest designs: skew,
// array, drain and flush), the scan lane with its exponent core and the
// norm unit's Newton iteration. The other testbenches are linted with
// Verilator (traces.TestTestbenchesLint), three of them built
// (traces.TestRTLVectorUnitsVerilator), and every set runs under Verilator
// in scripts/rtl-check.sh accept.
var verilatorBenches = map[string][]string{"os": {"tb_gemm_layer", "tb_scan", "tb_rmsnorm"}, "ws": {"tb_gemm_ws_layer"}}

// TestVectorsVerilatorRTL is the CI subset of the Verilator acceptance
// run (scripts/rtl-check.sh accept runs every set): of the default model's
// block 0 (the ws GEMM sets beside it), for each of verilatorBenches the
// set the mutation harness runs first (a corner set where there is one),
// built and run with make SIM=verilator against hw/rtl. Each must PASS
// with the manifest's vector count.
func TestVectorsVerilatorRTL(t *testing.T) {
	requireRTLTools(t, "verilator", "make")
	if testing.Short() {
		t.Skip("-short: one Verilator build per testbench takes minutes")
	}
	tmp := t.TempDir()
	for _, df := range []string{"os", "ws"} {
		dir := filepath.Join(tmp, df)
		args := []string{"vectors", "--model", vectorsModel(), "--layers", "0", "--dataflow", df, "--out", dir}
		if df == "ws" {
			args = append(args, "--units", "gemm", "--synthetic")
		}
		if _, err := rtlCLI(t, args...); err != nil {
			t.Fatal(err)
		}
		m := readManifest(t, dir)
		var sets []string
		for _, tb := range verilatorBenches[df] {
			order := harnessOrder(m, []string{tb})
			if len(order) == 0 {
				t.Fatalf("%s: no set of %s", df, tb)
			}
			sets = append(sets, order[0])
		}
		mout, err := exec.Command("make", append([]string{"-k", "-C", dir, "SIM=verilator"}, sets...)...).CombinedOutput()
		log := string(mout)
		if err != nil {
			t.Errorf("make SIM=verilator %v: %v\n%s", sets, err, log)
			continue
		}
		passed := map[string]string{}
		for _, p := range vecPassRe.FindAllStringSubmatch(log, -1) {
			passed[p[1]] = p[2]
		}
		for _, s := range m.Sets {
			if slices.Contains(sets, s.Name) && passed[s.Name] != fmt.Sprint(s.Vectors) {
				t.Errorf("set %s: PASS count %q, manifest %d", s.Name, passed[s.Name], s.Vectors)
			}
		}
	}
}

// TestVectorsDeterministic: two runs, at GOMAXPROCS 1 and 2, write
// byte-identical directories, for a recorded simulator run (calibration
// included) and for synthetic operands.
func TestVectorsDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, mode := range [][]string{{"--calib", "8"}, {"--synthetic"}} {
		var trees []map[string][]byte
		for _, procs := range []int{1, 2} {
			runtime.GOMAXPROCS(procs)
			dir := filepath.Join(t.TempDir(), "vec")
			args := append([]string{"vectors", "--model", vectorsModel(), "--layers", "embed,0,head", "--out", dir}, mode...)
			if _, err := rtlCLI(t, args...); err != nil {
				t.Fatal(err)
			}
			trees = append(trees, readTree(t, dir))
		}
		if len(trees[0]) != len(trees[1]) || len(trees[0]) < 20 {
			t.Fatalf("%v: %d and %d files", mode, len(trees[0]), len(trees[1]))
		}
		for p, b := range trees[0] {
			if !bytes.Equal(b, trees[1][p]) {
				t.Errorf("%v: %s differs", mode, p)
			}
		}
	}
}

// perBenchSubset returns one set per testbench of m: its smallest set of
// the recorded run (by name among equals) when that has at most max
// vectors, else its largest set within max (a corner set at the model's
// parameters; by name among equals). It is the CI subset of a large
// model's vectors: its shapes, at a bounded simulation cost.
func perBenchSubset(m traces.Manifest, max int) []string {
	best := map[string]traces.SetInfo{}
	for _, s := range m.Sets {
		if !isCornerSet(s) && s.Vectors <= max {
			if b, ok := best[s.Testbench]; !ok || s.Vectors < b.Vectors || s.Vectors == b.Vectors && s.Name < b.Name {
				best[s.Testbench] = s
			}
		}
	}
	for _, s := range m.Sets {
		if b, ok := best[s.Testbench]; (!ok || isCornerSet(b)) && s.Vectors <= max {
			if !ok || s.Vectors > b.Vectors || s.Vectors == b.Vectors && s.Name < b.Name {
				best[s.Testbench] = s
			}
		}
	}
	var names []string
	for _, s := range best {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return names
}

// TestVectorsVimTiRTL is the CI subset of the second acceptance
// run: vectors of one Vim-Ti block (synthetic weights, paper method
// calibrated on 2 sample images, the run of sample image 0), and one set
// per testbench (perBenchSubset, at most 10 000 vectors: the recorded
// GEMM layer and tile, group requantizer sets; corner sets at Vim-Ti's
// parameters — D = 192, E = 384, N = 16 — for the units whose recorded
// sets have 37 824 or 75 648 vectors) against hw/rtl under Icarus Verilog,
// PASS counts against the manifest. scripts/rtl-check.sh accept runs all
// 105 sets (RTL.md §13.1).
func TestVectorsVimTiRTL(t *testing.T) {
	requireRTLTools(t, "iverilog", "vvp", "make")
	if testing.Short() {
		t.Skip("-short: Vim-Ti vectors take minutes")
	}
	dir := filepath.Join(t.TempDir(), "vec")
	out, err := rtlCLI(t, "vectors", "--model", "vim-ti", "--layers", "0", "--calib", "2", "--ssm-images", "1",
		"--search-rows", "128", "--weight-search-rows", "64", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "recorded integer simulator run of sample test image 0") {
		t.Errorf("not a recording of the simulator run:\n%s", out)
	}
	m := readManifest(t, dir)
	units := map[traces.Unit]bool{}
	for _, s := range m.Sets {
		units[s.Unit] = true
		if s.Layer != 0 {
			t.Errorf("set %s of layer %d", s.Name, s.Layer)
		}
	}
	for _, u := range traces.AllUnits() {
		if !units[u] {
			t.Errorf("no %s set", u)
		}
	}
	sets := perBenchSubset(m, 10000)
	if len(sets) != 12 {
		t.Errorf("%d testbenches %v, want 12", len(sets), sets)
	}
	mout, err := exec.Command("make", append([]string{"-j2", "-C", dir}, sets...)...).CombinedOutput()
	log := string(mout)
	if err != nil {
		t.Fatalf("make: %v\n%s", err, log)
	}
	passed := map[string]string{}
	for _, p := range vecPassRe.FindAllStringSubmatch(log, -1) {
		passed[p[1]] = p[2]
	}
	for _, s := range m.Sets {
		if slices.Contains(sets, s.Name) && passed[s.Name] != fmt.Sprint(s.Vectors) {
			t.Errorf("set %s: PASS count %q, manifest %d", s.Name, passed[s.Name], s.Vectors)
		}
	}
}

func TestVectorsBadInput(t *testing.T) {
	tmp := t.TempDir()
	full := filepath.Join(tmp, "full")
	os.Mkdir(full, 0o755)
	os.WriteFile(filepath.Join(full, "keep.txt"), []byte("mine"), 0o644)
	ok := filepath.Join(tmp, "ok")
	model := vectorsModel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"vectors"}, "--out"},
		{[]string{"vectors", "--out", full}, "not empty (use --force"},
		{[]string{"vectors", "--out", ok, "--units", "gemm,bogus"}, "--units"},
		{[]string{"vectors", "--out", ok, "--layers", "99"}, "--layers"},
		{[]string{"vectors", "--out", ok, "--layers", ""}, "--layers"},
		{[]string{"vectors", "--out", ok, "--arch", "nope"}, "--arch"},
		{[]string{"vectors", "--out", ok, "--dataflow", "xs"}, "--dataflow"},
		{[]string{"vectors", "--out", ok, "--model", "nope"}, "--model"},
		{[]string{"vectors", "--out", ok, "--image", filepath.Join(tmp, "x.png")}, "--image"},
		{[]string{"vectors", "--out", ok, "--image", "x.png", "--data", "sample"}, "exclusive"},
		{[]string{"vectors", "--out", ok, "--data", "sample", "--index", "-1"}, "--index"},
		{[]string{"vectors", "--out", ok, "--data", "sample", "--index", "100000"}, "--index 100000"},
		{[]string{"vectors", "--out", ok, "--data", "nope"}, "--data"},
		{[]string{"vectors", "--out", ok, "--calib", "0"}, "--calib"},
		{[]string{"vectors", "--out", ok, "--merge-k", "17"}, "--merge-k"},
		{[]string{"vectors", "--out", ok, "--method", "bogus"}, "bogus"},
		{[]string{"vectors", "--out", ok, "--qmodel", filepath.Join(tmp, "missing.safetensors")}, "missing.safetensors"},
		{[]string{"vectors", "--out", ok, "--synthetic", "--qmodel", "q.safetensors"}, "--synthetic"},
		{[]string{"vectors", "--out", ok, "--synthetic", "--hbits", "16"}, "--synthetic: pseudo-random int8 operands, so no --recipe"},
		{[]string{"vectors", "--out", ok, "--rtl-dir", filepath.Join(tmp, "missing")}, "--rtl-dir"},
	} {
		args := c.args
		if !strings.Contains(strings.Join(args, " "), "--model") {
			args = append(args, "--model", model)
		}
		_, err := rtlCLI(t, args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want %q", c.args, err, c.want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(full, "keep.txt")); err != nil || string(b) != "mine" {
		t.Error("a refused run touched the existing directory")
	}
	if _, err := os.Stat(ok); err == nil {
		t.Error("a failed run created its output directory")
	}
	entries, _ := os.ReadDir(tmp)
	if len(entries) != 1 {
		t.Errorf("temporary leftovers: %v", entries)
	}
	// --force replaces; "copy" puts the reference RTL into the directory.
	if _, err := rtlCLI(t, "vectors", "--model", model, "--out", full, "--force", "--units", "norm", "--rtl-dir", "copy", "--synthetic"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(full, "keep.txt")); err == nil {
		t.Error("--force kept the old contents")
	}
	mk, err := os.ReadFile(filepath.Join(full, "Makefile"))
	if err != nil || !strings.Contains(string(mk), "RTL_DIR ?= rtl\n") {
		t.Errorf("Makefile RTL_DIR: %v", err)
	}
	if _, err := os.Stat(filepath.Join(full, "rtl", "rmsnorm.v")); err != nil {
		t.Error(err)
	}
}

// TestVectorsPrecisionRTL runs vectors of a mixed-precision run (int4
// weights and conv taps everywhere, the int16 scan state: --wbits 4
// --hbits 16, DATAPATH.md §15) against hw/rtl under Icarus Verilog: the
// smallest int4 GEMM tile and layer sets, the int4 depthwise convolution
// and the int16 scan of block 0, each carrying its width define
// (VIMSIM_WBITS 4, VIMSIM_SBITS 16) that the testbenches pass to the PE,
// dwconv and scan-lane parameters; every one must PASS with the
// manifest's vector count.
func TestVectorsPrecisionRTL(t *testing.T) {
	requireRTLTools(t, "iverilog", "vvp", "make")
	dir := filepath.Join(t.TempDir(), "vec")
	if _, err := rtlCLI(t, "vectors", "--model", vectorsModel(), "--wbits", "4", "--hbits", "16", "--layers", "0",
		"--units", "gemm,dwconv,scan", "--corners=false", "--out", dir); err != nil {
		t.Fatal(err)
	}
	m := readManifest(t, dir)
	want := map[string]map[string]int64{"tb_gemm_tile": {"VIMSIM_WBITS": 4}, "tb_gemm_layer": {"VIMSIM_WBITS": 4},
		"tb_dwconv": {"VIMSIM_WBITS": 4}, "tb_scan": {"VIMSIM_SBITS": 16}}
	best := map[string]traces.SetInfo{}
	for _, s := range m.Sets {
		w, ok := want[s.Testbench]
		if !ok {
			continue
		}
		if fmt.Sprint(s.Defines) != fmt.Sprint(w) {
			t.Errorf("set %s: defines %v, want %v", s.Name, s.Defines, w)
		}
		if b, ok := best[s.Testbench]; !ok || s.Vectors < b.Vectors || s.Vectors == b.Vectors && s.Name < b.Name {
			best[s.Testbench] = s
		}
	}
	var sets []string
	for tb := range want {
		s, ok := best[tb]
		if !ok {
			t.Fatalf("no %s set", tb)
		}
		sets = append(sets, s.Name)
	}
	slices.Sort(sets)
	mout, err := exec.Command("make", append([]string{"-j2", "-C", dir}, sets...)...).CombinedOutput()
	log := string(mout)
	if err != nil {
		t.Fatalf("make %v: %v\n%s", sets, err, log)
	}
	passed := map[string]string{}
	for _, p := range vecPassRe.FindAllStringSubmatch(log, -1) {
		passed[p[1]] = p[2]
	}
	for _, tb := range slices.Sorted(maps.Keys(best)) {
		if s := best[tb]; passed[s.Name] != fmt.Sprint(s.Vectors) {
			t.Errorf("set %s: PASS count %q, manifest %d", s.Name, passed[s.Name], s.Vectors)
		}
	}
}
