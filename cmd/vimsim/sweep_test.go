package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSweepWritesFiles(t *testing.T) {
	dir := t.TempDir()
	outA, outB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	args := []string{"sweep", "--model", "vim-ti", "--arch", "systolic16,systolic32", "--array", "8:32:*2",
		"--dataflow", "os,ws", "--scan-lanes", "8,32", "--dram-bw", "6.4,25.6", "--fpga", "zcu102"}
	out, err := perfCLI(t, append(args, "--out", outA, "--jobs", "1")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "48 designs") || !strings.Contains(out, "Pareto front") {
		t.Errorf("summary:\n%s", out)
	}
	if _, err := perfCLI(t, append(args, "--out", outB, "--jobs", "2")...); err != nil {
		t.Fatal(err)
	}
	for _, name := range sweepFiles {
		a, err := os.ReadFile(filepath.Join(outA, name))
		if err != nil || len(a) == 0 {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := os.ReadFile(filepath.Join(outB, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between --jobs 1 and 2", name)
		}
	}
	f, _ := os.Open(filepath.Join(outA, "sweep.csv"))
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 49 {
		t.Fatalf("sweep.csv: %v, %d rows", err, len(rows))
	}
	pareto := 0
	for _, r := range rows[1:] {
		if r[len(r)-1] == "true" {
			pareto++
		}
	}
	if pareto == 0 || pareto == 48 {
		t.Errorf("%d designs on the front", pareto)
	}
	png, _ := os.ReadFile(filepath.Join(outA, "pareto.png"))
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Error("pareto.png is not a PNG")
	}
}

func TestSweepErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	tests := []struct {
		want string
		args []string
	}{
		{"--out", []string{"sweep"}},
		{"--array", []string{"--array", "8x"}},
		{"--array", []string{"--array", "64:8:*2"}},
		{"--scan-lanes", []string{"--scan-lanes", "8,x"}},
		{"--scan-mode", []string{"--scan-mode", "tree"}},
		{"--clock", []string{"--clock", "fast"}},
		{"--dram-bw", []string{"--dram-bw", "1:2"}},
		{"--buffer-kib", []string{"--buffer-kib", "1.5"}},
		{"--act-kib", []string{"--act-kib", "-"}},
		{"--tech", []string{"--tech", "horowitz45,7nm"}},
		{"--overlap", []string{"--overlap", "both"}},
		{"--dataflow", []string{"--dataflow", "os,xs"}},
		{"--arch", []string{"--arch", "systolic16,,systolic8"}},
		{"--arch", []string{"--arch", "systolic3"}},
		{"--fpga", []string{"--fpga", "arty"}},
		{"--model", []string{"--model", "vim-huge"}},
		{"--jobs", []string{"--jobs", "-1"}},
		{"scan.lanes", []string{"--scan-lanes", "0"}},
		{"designs", []string{"--scan-lanes", "1:1000", "--buffer-kib", "1:1000"}},
	}
	for _, tc := range tests {
		args := tc.args
		if len(args) == 0 || args[0] != "sweep" {
			args = append([]string{"sweep", "--out", out}, args...)
		}
		wantErr(t, tc.want, args...)
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v: output directory created by a failing sweep", args)
		}
	}
}
