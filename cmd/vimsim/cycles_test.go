package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestCyclesSCALESimTable runs every GEMM of hardware.md §1.3 through the
// CLI. The table lists (M, N, K); --gemm takes M,K,N.
func TestCyclesSCALESimTable(t *testing.T) {
	table := []struct {
		m, n, k    int
		os, ws, is int64
	}{
		{16, 16, 16, 45, 61, 61},
		{1, 1, 1, 30, 46, 46},
		{32, 48, 20, 299, 467, 375},
		{17, 16, 16, 91, 62, 123},
		{197, 768, 192, 138527, 139967, 126983},
		{197, 44, 384, 16145, 17495, 28079},
		{197, 384, 12, 13103, 5831, 5589},
		{197, 192, 384, 64583, 69983, 74255},
	}
	for _, row := range table {
		gemm := fmt.Sprintf("%d,%d,%d", row.m, row.k, row.n)
		for _, df := range []struct {
			name string
			want int64
		}{{"os", row.os}, {"ws", row.ws}, {"is", row.is}} {
			for _, arch := range [][]string{{"--array", "16x16"}, {"--arch", "systolic16"}} {
				args := append([]string{"cycles", "--gemm", gemm, "--dataflow", df.name, "--format", "json"}, arch...)
				out, err := perfCLI(t, args...)
				if err != nil {
					t.Fatalf("%v: %v", args, err)
				}
				var r map[string]any
				if err := json.Unmarshal([]byte(out), &r); err != nil {
					t.Fatalf("%v: %v\n%s", args, err, out)
				}
				if got := r["compute_cycles"]; got != float64(df.want) {
					t.Errorf("%v: compute_cycles %v, want %d", args, got, df.want)
				}
				if _, ok := r["folds"]; !ok {
					t.Errorf("%v: no folds", args)
				}
				if u, ok := r["util"].(float64); !ok || !(u > 0 && u <= 1) {
					t.Errorf("%v: util %v", args, r["util"])
				}
			}
		}
	}
	// JSON starts with the three documented keys.
	out, _ := perfCLI(t, "cycles", "--gemm", "16,16,16", "--format", "json")
	if !strings.HasPrefix(out, `{"compute_cycles":45,"folds":1,"util":0.3555`) {
		t.Errorf("json: %s", out)
	}
}

func TestCyclesTable(t *testing.T) {
	out, err := perfCLI(t, "cycles", "--array", "16x16", "--gemm", "197,192,768")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"138,527", "624", "222", "81.91"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %s:\n%s", want, out)
		}
	}
}

func TestCyclesErrors(t *testing.T) {
	wantErr(t, "--gemm", "cycles")
	wantErr(t, "--gemm", "cycles", "--gemm", "16,16")
	wantErr(t, "--gemm", "cycles", "--gemm", "16,x,16")
	wantErr(t, "--gemm", "cycles", "--gemm", "0,16,16")
	wantErr(t, "--array", "cycles", "--gemm", "1,1,1", "--array", "16by16")
	wantErr(t, "--array", "cycles", "--gemm", "1,1,1", "--array", "0x4")
	wantErr(t, "exclusive", "cycles", "--gemm", "1,1,1", "--array", "4x4", "--arch", "systolic8")
	wantErr(t, "--arch", "cycles", "--gemm", "1,1,1", "--arch", "systolic12")
	wantErr(t, "--dataflow", "cycles", "--gemm", "1,1,1", "--dataflow", "rs")
	wantErr(t, "--format", "cycles", "--gemm", "1,1,1", "--format", "yaml")
}

// TestCyclesSCALESimRecords runs every record of the shared SCALE-Sim
// fixture (../shared/fixtures/scalesim-user-bw, copied into
// hw/cost/scalesim/testdata) through `vimsim cycles --memory scalesim` and
// compares every field the command prints.
func TestCyclesSCALESimRecords(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "hw", "cost", "scalesim", "testdata", "fixture_records.json"))
	if err != nil {
		t.Fatal(err)
	}
	type words map[string]int64
	var doc struct {
		Records []struct {
			ID        string
			M, K, N   int
			R, C      int
			Dataflow  string         `json:"dataflow"`
			SRAM      map[string]int `json:"sram_kb"`
			Bandwidth int            `json:"bandwidth_words_per_cycle"`
			Total     int64          `json:"total_cycles"`
			Stall     int64          `json:"stall_cycles"`
			Free      int64          `json:"stall_free_cycles"`
			SRAMR     words          `json:"sram_reads"`
			SRAMW     words          `json:"sram_writes"`
			DRAMR     words          `json:"dram_reads"`
			DRAMW     words          `json:"dram_writes"`
		} `json:"records"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Records) != 108 {
		t.Fatalf("%d fixture records, want 108", len(doc.Records))
	}
	for _, r := range doc.Records {
		args := []string{"cycles", "--array", fmt.Sprintf("%dx%d", r.R, r.C), "--dataflow", r.Dataflow,
			"--gemm", fmt.Sprintf("%d,%d,%d", r.M, r.K, r.N), "--memory", "scalesim",
			"--sram-kib", fmt.Sprintf("%d,%d,%d", r.SRAM["ifmap"], r.SRAM["filter"], r.SRAM["ofmap"]),
			"--bandwidth", fmt.Sprint(r.Bandwidth), "--format", "json"}
		out, err := perfCLI(t, args...)
		if err != nil {
			t.Fatalf("%s: %v", r.ID, err)
		}
		var got struct {
			Total  int64 `json:"total_cycles"`
			Stall  int64 `json:"stall_cycles"`
			Free   int64 `json:"compute_cycles"`
			SRAMR  words `json:"sram_reads"`
			SRAMW  words `json:"sram_writes"`
			DRAMR  words `json:"dram_reads"`
			DRAMW  words `json:"dram_writes"`
			Memory string
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%s: %v\n%s", r.ID, err, out)
		}
		if got.Total != r.Total || got.Stall != r.Stall || got.Free != r.Free ||
			!reflect.DeepEqual(got.SRAMR, r.SRAMR) || !reflect.DeepEqual(got.SRAMW, r.SRAMW) ||
			!reflect.DeepEqual(got.DRAMR, r.DRAMR) || !reflect.DeepEqual(got.DRAMW, r.DRAMW) || got.Memory != "scalesim" {
			t.Errorf("%s: %s\nSCALE-Sim %+v", r.ID, out, r)
		}
	}
}

// TestCyclesSCALESimArch takes the buffers and bandwidth from the
// architecture (systolic16: 64 KiB each, 12.8 GB/s at 200 MHz = 64 words
// per cycle) unless flags override them.
func TestCyclesSCALESimArch(t *testing.T) {
	run := func(args ...string) map[string]any {
		t.Helper()
		out, err := perfCLI(t, append([]string{"cycles", "--gemm", "197,192,768", "--dataflow", "ws", "--memory", "scalesim", "--format", "json"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	a := run()
	if a["bandwidth_words_per_cycle"] != 64.0 || a["ifmap_sram_kib"] != 64.0 {
		t.Errorf("systolic16 as SCALE-Sim: %v", a)
	}
	// peers.md §1: Vim-Ti in_proj, 16×16 WS, 64 KB, 16 words/cycle.
	b := run("--bandwidth", "16")
	if b["stall_cycles"] != 561089.0 || b["bandwidth_words_per_cycle"] != 16.0 {
		t.Errorf("--bandwidth 16: stall %v", b["stall_cycles"])
	}
	c := run("--array", "16x16", "--sram-kib", "64", "--bandwidth", "16")
	if !reflect.DeepEqual(b, c) {
		t.Errorf("--arch systolic16 --bandwidth 16 and --array 16x16 --sram-kib 64 differ:\n%v\n%v", b, c)
	}
	// A spec with memory: {model: scalesim} needs no flag.
	spec := filepath.Join(t.TempDir(), "ss.yaml")
	if err := os.WriteFile(spec, []byte("base: systolic16\nmemory: {model: scalesim}\narray: {dataflow: ws}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := perfCLI(t, "cycles", "--gemm", "197,192,768", "--arch", spec, "--format", "json")
	if err != nil || !strings.Contains(out, `"stall_cycles":`) {
		t.Errorf("spec with scalesim memory: %v %s", err, out)
	}
	// The table shows the memory counts.
	out, err = perfCLI(t, "cycles", "--gemm", "197,192,768", "--dataflow", "ws", "--memory", "scalesim", "--bandwidth", "16")
	if err != nil || !strings.Contains(out, "561,089") || !strings.Contains(out, "11,239,424") {
		t.Errorf("table: %v\n%s", err, out)
	}
}

// TestCyclesSCALESimConfig reads SCALE-Sim's .cfg and topology files (GEMM
// and convolution layouts) and writes its three reports, byte-identical to
// SCALE-Sim's own (hw/cost/scalesim/testdata/reports).
func TestCyclesSCALESimConfig(t *testing.T) {
	base := filepath.Join("..", "..", "hw", "cost", "scalesim", "testdata", "reports")
	for _, c := range []struct{ dir, inputType string }{
		{"gemm_ws", "auto"}, {"gemm_ws", "gemm"}, {"conv_os", "auto"}, {"conv_is", "conv"},
	} {
		dir := filepath.Join(base, c.dir)
		out := filepath.Join(t.TempDir(), "reports")
		txt, err := perfCLI(t, "cycles", "--config", filepath.Join(dir, "run.cfg"), "--topology", filepath.Join(dir, "topology.csv"),
			"--input-type", c.inputType, "--out", out)
		if err != nil {
			t.Fatalf("%s: %v", c.dir, err)
		}
		if !strings.Contains(txt, "SCALE-Sim v2 run "+c.dir) {
			t.Errorf("%s: table %s", c.dir, txt)
		}
		for _, name := range []string{"COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"} {
			got, err := os.ReadFile(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, "scalesim", name))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("%s %s differs from SCALE-Sim's:\n%s\nwant\n%s", c.dir, name, got, want)
			}
		}
		entries, _ := os.ReadDir(out)
		if len(entries) != 3 {
			t.Errorf("%s: %d files in --out, want the 3 reports", c.dir, len(entries))
		}
	}
	// JSON: one entry per layer with the fields of --gemm --memory scalesim.
	dir := filepath.Join(base, "gemm_ws")
	txt, err := perfCLI(t, "cycles", "--config", filepath.Join(dir, "run.cfg"), "--topology", filepath.Join(dir, "topology.csv"), "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Layers []struct {
			Name  string `json:"name"`
			Total int64  `json:"total_cycles"`
			DRAMR struct {
				Ifmap int64 `json:"ifmap"`
			} `json:"dram_reads"`
		} `json:"layers"`
	}
	if err := json.Unmarshal([]byte(txt), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Layers) != 4 || doc.Layers[0].Name != "qkv" || doc.Layers[0].Total != 3455 || doc.Layers[0].DRAMR.Ifmap != 1600 {
		t.Errorf("json: %+v", doc)
	}
}

func TestCyclesSCALESimErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "run.cfg")
	os.WriteFile(cfg, []byte("[general]\nrun_name = x\n[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 16\n"+
		"FilterSramSzkB: 16\nOfmapSramSzkB: 16\nIfmapOffset: 0\nFilterOffset: 10000000\nOfmapOffset: 20000000\nBandwidth: 10\nDataflow: os\n"+
		"[run_presets]\nInterfaceBandwidth: USER\n"), 0o644)
	badCfg := filepath.Join(dir, "bad.cfg")
	os.WriteFile(badCfg, []byte("[architecture_presets]\nArrayHeight: 8x\n"), 0o644)
	topo := filepath.Join(dir, "t.csv")
	os.WriteFile(topo, []byte("Layer, M, N, K,\nfc, 16, 16, 16,\n"), 0o644)
	badTopo := filepath.Join(dir, "bad.csv")
	os.WriteFile(badTopo, []byte("Layer, M, N, K,\nfc, 16, x, 16,\n"), 0o644)
	empty := filepath.Join(dir, "empty.csv")
	os.WriteFile(empty, nil, 0o644)
	gemm := []string{"cycles", "--gemm", "16,16,16"}
	for _, c := range []struct {
		want string
		args []string
	}{
		{"--sram-kib needs --memory scalesim", append(gemm, "--sram-kib", "64")},
		{"--bandwidth needs --memory scalesim", append(gemm, "--bandwidth", "4")},
		{"--sram-kib I,F,O and --bandwidth", append(gemm, "--array", "8x8", "--memory", "scalesim")},
		{"--sram-kib", append(gemm, "--memory", "scalesim", "--sram-kib", "64,64")},
		{"--sram-kib", append(gemm, "--memory", "scalesim", "--sram-kib", "64,0,64")},
		{"--bandwidth", append(gemm, "--memory", "scalesim", "--bandwidth", "-2")},
		{"--memory", append(gemm, "--memory", "dramsim")},
		{"--memory scalesim", append(gemm, "--memory", "scalesim", "--array", "8x8", "--sram-kib", "16777217", "--bandwidth", "4")},
		{"--topology needs --config", append(gemm, "--topology", topo)},
		{"--out needs --config", append(gemm, "--out", dir)},
		{"exclusive", []string{"cycles", "--config", cfg, "--topology", topo, "--gemm", "1,1,1"}},
		{"exclusive", []string{"cycles", "--config", cfg, "--topology", topo, "--memory", "scalesim"}},
		{"--config", []string{"cycles", "--config", filepath.Join(dir, "missing.cfg"), "--topology", topo}},
		{"no [general] section", []string{"cycles", "--config", badCfg, "--topology", topo}},
		{"--topology is required", []string{"cycles", "--config", cfg}},
		{"--topology", []string{"cycles", "--config", cfg, "--topology", filepath.Join(dir, "missing.csv")}},
		{"bad.csv", []string{"cycles", "--config", cfg, "--topology", badTopo}},
		{"empty", []string{"cycles", "--config", cfg, "--topology", empty}},
		{"--input-type", []string{"cycles", "--config", cfg, "--topology", topo, "--input-type", "lstm"}},
	} {
		wantErr(t, c.want, c.args...)
	}
	// No report is written when the run fails.
	out := filepath.Join(dir, "out")
	wantErr(t, "bad.csv", "cycles", "--config", cfg, "--topology", badTopo, "--out", out)
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed run created %s", out)
	}
}

// TestRunMemorySCALESim: `run --memory scalesim` prices the GEMMs with
// SCALE-Sim's counts, equal to `cycles --memory scalesim` on the same
// shape, and `sweep --memory scalesim` carries the mode into every design.
func TestRunMemorySCALESim(t *testing.T) {
	out, err := perfCLI(t, "run", "--model", "vim-fmnist", "--arch", "systolic16", "--memory", "scalesim", "--fidelity", "0", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Ops []struct {
			Name     string         `json:"name"`
			Kind     string         `json:"kind"`
			M        int            `json:"m"`
			K        int            `json:"k"`
			N        int            `json:"n"`
			Cycles   int64          `json:"cycles"`
			SCALESim map[string]any `json:"scalesim"`
		} `json:"ops"`
	}
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatal(err)
	}
	gemms := 0
	for _, op := range e.Ops {
		if op.Kind != "gemm" {
			continue
		}
		gemms++
		if op.SCALESim == nil || op.SCALESim["total_cycles"] != float64(op.Cycles) {
			t.Errorf("%s: cycles %d, scalesim %v", op.Name, op.Cycles, op.SCALESim)
		}
	}
	if gemms == 0 {
		t.Fatal("no GEMM ops")
	}
	table, err := perfCLI(t, "run", "--model", "vim-fmnist", "--arch", "systolic16", "--memory", "scalesim", "--fidelity", "0")
	if err != nil || !strings.Contains(table, "SCALE-Sim memory (64 words/cycle)") {
		t.Errorf("run table: %v\n%s", err, table)
	}
	wantErr(t, "--memory", "run", "--model", "vim-fmnist", "--memory", "ramulator")
	wantErr(t, "dram.bandwidth_gbs", "run", "--model", "vim-fmnist", "--arch", lowBWSpec(t), "--memory", "scalesim")
	dir := t.TempDir()
	if _, err := perfCLI(t, "sweep", "--model", "vim-fmnist", "--arch", "systolic8,systolic16", "--memory", "scalesim", "--out", dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "sweep.json"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), `"model": "scalesim"`); n != 2 {
		t.Errorf("sweep.json names the scalesim memory %d times, want 2", n)
	}
}

// lowBWSpec writes a spec whose DRAM gives less than a byte per cycle.
func lowBWSpec(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "slow.yaml")
	if err := os.WriteFile(p, []byte("base: systolic16\ndram: {bandwidth_gbs: 0.1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
