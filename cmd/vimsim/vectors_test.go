package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/hw"
	"github.com/vimsim/vimsim/models"
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

// TestVectorsRunRTL is the acceptance run: vectors for the default
// model (vim-toy while vim-fmnist is not embedded), every unit, two
// layers, then `make` with Icarus Verilog against hw/rtl: every set prints
// PASS with the manifest's vector count, every GEMM's fold and total cycles
// equal hw.ComputeCycles, and one flipped expected word makes make fail.
func TestVectorsRunRTL(t *testing.T) {
	requireRTLTools(t, "iverilog", "vvp", "make")
	model := vectorsModel()
	dir := filepath.Join(t.TempDir(), "vec")
	out, err := rtlCLI(t, "vectors", "--model", model, "--arch", "systolic16", "--layers", "0,1", "--units", "all", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	rtlDir, _ := filepath.Abs(filepath.Join("..", "..", "hw", "rtl"))
	if !strings.Contains(out, "RTL_DIR="+rtlDir) {
		t.Errorf("RTL_DIR is not the project's hw/rtl:\n%s", out)
	}
	var m traces.Manifest
	mb, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	units := map[traces.Unit]map[int]bool{}
	for _, s := range m.Sets {
		if units[s.Unit] == nil {
			units[s.Unit] = map[int]bool{}
		}
		units[s.Unit][s.Layer] = true
	}
	for _, u := range traces.AllUnits() {
		if !units[u][0] || !units[u][1] {
			t.Errorf("unit %s: layers %v, want 0 and 1", u, units[u])
		}
	}

	cmd := exec.Command("make", "-C", dir)
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
	// Every GEMM of layers 0 and 1 has layer-level vectors (x_proj per
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
	for _, op := range cfg.Workload() {
		if op.Kind != vim.OpGEMM || op.Layer < 0 || op.Layer > 1 {
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
		cc, err := hw.ComputeCycles(16, 16, hw.OutputStationary, hw.GEMM{M: int(p["M"]), K: int(p["K"]), N: int(p["N"])})
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
	p := filepath.Join(dir, "l01_scan_b", "out.exp.hex")
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
	mout, err = exec.Command("make", "-C", dir, "l01_scan_b").CombinedOutput()
	if err == nil || !strings.Contains(string(mout), "MISMATCH index=0") || !strings.Contains(string(mout), "FAIL: l01_scan_b") {
		t.Errorf("flipped word: err %v\n%s", err, mout)
	}
}

// TestVectorsDeterministic: two runs, at GOMAXPROCS 1 and 2, write
// byte-identical directories.
func TestVectorsDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var trees []map[string][]byte
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		dir := filepath.Join(t.TempDir(), "vec")
		if _, err := rtlCLI(t, "vectors", "--model", vectorsModel(), "--layers", "0,head", "--out", dir); err != nil {
			t.Fatal(err)
		}
		trees = append(trees, readTree(t, dir))
	}
	if len(trees[0]) != len(trees[1]) || len(trees[0]) < 20 {
		t.Fatalf("%d and %d files", len(trees[0]), len(trees[1]))
	}
	for p, b := range trees[0] {
		if !bytes.Equal(b, trees[1][p]) {
			t.Errorf("%s differs", p)
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
		{[]string{"vectors", "--out", ok, "--model", "nope"}, "--model"},
		{[]string{"vectors", "--out", ok, "--image", "x.png"}, "simulator"},
		{[]string{"vectors", "--out", ok, "--data", "sample", "--index", "-1"}, "--index"},
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
	if _, err := rtlCLI(t, "vectors", "--model", model, "--out", full, "--force", "--units", "norm", "--rtl-dir", "copy"); err != nil {
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
