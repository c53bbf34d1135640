package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/vim"
)

func TestRunTable(t *testing.T) {
	out, err := perfCLI(t, "run", "--model", "vim-ti", "--arch", "systolic16")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := vim.Preset("vim-ti")
	e, err := cost.EstimateModel(arch.Systolic16(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"vim-ti on systolic16", "embed", "head", "total", commas(cfg.TotalMACs()),
		commas(e.Totals.Cycles), "TOPS/W", "images/s", "µJ/image", "bottleneck", "array"} {
		if !strings.Contains(out, want) {
			t.Errorf("run table lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "│ "); n < 26 {
		t.Errorf("run table has too few rows:\n%s", out)
	}
	per, err := perfCLI(t, "run", "--model", "vim-ti", "--per-op", "--fpga", "zcu102")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scan_b", "x_proj", "fpga zcu102", "fits"} {
		if !strings.Contains(per, want) {
			t.Errorf("per-op table lacks %q", want)
		}
	}
}

func TestRunJSONMatchesLibrary(t *testing.T) {
	out, err := perfCLI(t, "run", "--model", "vim-s", "--arch", "systolic32", "--dataflow", "ws", "--tech", "tpuv4i-7nm",
		"--overlap", "pipelined", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got cost.Estimate
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	cfg, _ := vim.Preset("vim-s")
	want, _ := cost.EstimateModel(arch.Systolic32().WithDataflow(arch.WeightStationary).WithTech("tpuv4i-7nm").WithOverlap(arch.Pipelined), cfg)
	if got.Totals.Cycles != want.Totals.Cycles || got.Totals.MACs != want.Totals.MACs || got.Arch != want.Arch ||
		len(got.Ops) != len(want.Ops) || got.Totals.Energy != want.Totals.Energy {
		t.Errorf("CLI json differs from the library estimate")
	}
	again, _ := perfCLI(t, "run", "--model", "vim-s", "--arch", "systolic32", "--dataflow", "ws", "--tech", "tpuv4i-7nm",
		"--overlap", "pipelined", "--format", "json")
	if again != out {
		t.Error("two runs differ")
	}
}

func TestRunFiles(t *testing.T) {
	dir := t.TempDir()
	csvPath, actions := filepath.Join(dir, "run.csv"), filepath.Join(dir, "counts.yaml")
	out, err := perfCLI(t, "run", "--model", "vim-ti", "--format", "csv", "--out", csvPath, "--actions", actions)
	if err != nil {
		t.Fatal(err)
	}
	if out != "" {
		t.Errorf("stdout not empty with --out: %q", out)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 24+2+2 || rows[0][0] != "layer" {
		t.Errorf("csv: %v, %d rows", err, len(rows))
	}
	y, err := os.ReadFile(actions)
	if err != nil || !strings.Contains(string(y), "action_counts:") || !strings.Contains(string(y), "mac_random") {
		t.Errorf("actions yaml: %v\n%s", err, y)
	}
	countsCSV := filepath.Join(dir, "counts.csv")
	if _, err := perfCLI(t, "run", "--model", "vim-ti", "--actions", countsCSV); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(countsCSV); !strings.HasPrefix(string(b), "component,action,count") {
		t.Errorf("actions csv: %s", b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	outPath := filepath.Join(dir, "out.txt")
	tests := []struct {
		want string
		args []string
	}{
		{"--arch", []string{"--arch", "systolic17"}},
		{"--model", []string{"--model", "vim-xl"}},
		{"--tech", []string{"--tech", "3nm"}},
		{"--fpga", []string{"--fpga", "de10"}},
		{"--dataflow", []string{"--dataflow", "nlr"}},
		{"--overlap", []string{"--overlap", "maybe"}},
		{"--dsp-packing", []string{"--fpga", "zcu102", "--dsp-packing", "dot3"}},
		{"--dsp-packing", []string{"--fpga", "vck190", "--dsp-packing", "quad"}},
		{"--dsp-packing", []string{"--dsp-packing", "dual"}},
		{"--format", []string{"--format", "xlsx"}},
		{"--actions", []string{"--actions", filepath.Join(dir, "counts.txt")}},
		{"missing", []string{"--arch", filepath.Join(dir, "missing.yaml")}},
	}
	for _, tc := range tests {
		args := append([]string{"run", "--out", outPath}, tc.args...)
		wantErr(t, tc.want, args...)
	}
	// A failing write leaves nothing behind.
	wantErr(t, "no-such-dir", "run", "--out", filepath.Join(dir, "no-such-dir", "x.txt"))
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("files written by failing runs: %v", entries)
	}
}

// TestRunCostsTheRecipe checks that run --wbits 4 and run --recipe FILE
// cost the design at the recipe's widths: the JSON is cost.EstimateOps on
// quant.OpList's op list, byte for byte, int4 weights need less energy and
// DRAM traffic than the default int8 list, the bad recipe is refused before
// any cost, and the table names the precision.
func TestRunCostsTheRecipe(t *testing.T) {
	cfg, _ := vim.Preset("vim-ti")
	def, err := cost.EstimateModel(arch.Systolic16(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mixed := filepath.Join(dir, "mixed.yaml")
	if err := os.WriteFile(mixed, []byte("name: mixed\nw: 8\na: 8\nh: 8\nops: {in_proj: {w: 4, a: 6}, out_proj: {w: 5}}\nlayers: [{layers: 1, h: 16}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		rec  quant.Precision
		name string
	}{
		{[]string{"--wbits", "4"}, quant.Uniform(4, 8, 8), "W4A8H8"},
		{[]string{"--recipe", mixed}, quant.Precision{}, "mixed"},
	} {
		if tc.name == "mixed" {
			if tc.rec, err = quant.ReadPrecision(mixed); err != nil {
				t.Fatal(err)
			}
		}
		out, err := perfCLI(t, append([]string{"run", "--model", "vim-ti", "--format", "json"}, tc.args...)...)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		pl, err := tc.rec.Resolve(cfg.Depth)
		if err != nil {
			t.Fatal(err)
		}
		ops, err := quant.OpList(cfg, pl)
		if err != nil {
			t.Fatal(err)
		}
		want, err := cost.EstimateOps(arch.Systolic16(), cfg.Name, ops)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := writeJSON(&b, runReport{Estimate: want, Recipe: tc.name}); err != nil {
			t.Fatal(err)
		}
		if out != b.String() {
			t.Errorf("%v: run's JSON is not cost.EstimateOps on quant.OpList", tc.args)
		}
		if !(want.Totals.Energy.Total() < def.Totals.Energy.Total()) || !(want.Totals.DRAMBytes < def.Totals.DRAMBytes) {
			t.Errorf("%v: energy %.0f pJ, DRAM %d bytes; the int8 default %.0f pJ, %d bytes", tc.args,
				want.Totals.Energy.Total(), want.Totals.DRAMBytes, def.Totals.Energy.Total(), def.Totals.DRAMBytes)
		}
		table, err := perfCLI(t, append([]string{"run", "--model", "vim-ti"}, tc.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		if line := "precision: recipe " + tc.name + ": array " + want.Precision.ArrayMAC; !strings.Contains(table, line) {
			t.Errorf("%v: table lacks %q:\n%s", tc.args, line, table)
		}
	}
	if want := "int4x8"; !strings.Contains(mustRun(t, "run", "--model", "vim-ti", "--wbits", "4"), "16x16 "+want+" array") {
		t.Errorf("run --wbits 4: header does not name the %s array", want)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("w: 8\na: 8\nh: 8\nlayers: [{layers: 0, h: 4}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := perfCLI(t, "run", "--model", "vim-ti", "--recipe", bad); err == nil || !strings.Contains(err.Error(), "--recipe "+bad) {
		t.Errorf("run --recipe with a 4-bit state: %v, want an error naming --recipe", err)
	}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := perfCLI(t, args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out
}
