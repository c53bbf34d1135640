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
