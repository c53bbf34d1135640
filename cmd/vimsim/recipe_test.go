package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRecipeCLI runs a mixed recipe end to end: calibrate --recipe writes a
// quantized model that carries it (qmodel info), sim and vectors run it
// from --qmodel, the vectors carry the widths, and sim calibrates it on the
// fly; precision flags given with --qmodel are refused.
func TestRecipeCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates a model")
	}
	dir := t.TempDir()
	recipe := filepath.Join(dir, "mixed.yaml")
	if err := os.WriteFile(recipe, []byte("name: mixed\nw: 8\na: 8\nh: 8\nops:\n  in_proj: {w: 4}\n  conv1d: {w: 4}\nlayers:\n  - layers: 1\n    h: 16\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	qm := filepath.Join(dir, "mixed.safetensors")
	fast := []string{"--model", toyWeights, "--calib", "4", "--search-rows", "48", "--ssm-images", "2", "--rounds", "1"}
	out, stderr, err := quantCLI(t, append([]string{"calibrate", "--data", "sample", "--recipe", recipe, "--out", qm}, fast...)...)
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if !strings.Contains(out, "recipe mixed (default W8A8, hidden state 8 bits)") {
		t.Errorf("calibrate output:\n%s", out)
	}
	info, _, err := quantCLI(t, "qmodel", "info", qm)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"method paper, recipe mixed", "layers.0.mixer.in_proj.weight", "int4 tensor",
		"layers.1.mixer.ssm.h_scale", "int16 per-step", "│ 1     │ W4A8    │ W4A8   │ W8A8   │ W8A8    │ W8A8     │ W8A8  │ H16    │"} {
		if !strings.Contains(info, want) {
			t.Errorf("qmodel info lacks %q:\n%s", want, info)
		}
	}

	sim, err := runSimCmd(t, "--model", toyWeights, "--data", "sample", "--qmodel", qm, "--limit", "2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sim, "(paper, recipe mixed)") {
		t.Errorf("sim report does not name the recipe:\n%s", sim)
	}
	if _, err := runSimCmd(t, "--model", toyWeights, "--qmodel", qm, "--recipe", recipe); err == nil || !strings.Contains(err.Error(), "carries its own recipe") {
		t.Errorf("sim --qmodel --recipe: %v", err)
	}
	if _, err := runSimCmd(t, "--model", toyWeights, "--qmodel", qm, "--hbits", "16"); err == nil || !strings.Contains(err.Error(), "--hbits") {
		t.Errorf("sim --qmodel --hbits: %v", err)
	}

	// Vectors of layers 0-1: the int4 GEMM and conv sets and the int16 scan
	// sets carry their widths; the 8-bit ones none.
	vec := filepath.Join(dir, "vec")
	if _, err := rtlCLI(t, "vectors", "--model", toyWeights, "--qmodel", qm, "--layers", "0-1", "--units", "gemm,scan,dwconv",
		"--corners=false", "--out", vec); err != nil {
		t.Fatal(err)
	}
	m := readManifest(t, vec)
	if m.Recipe != "mixed" {
		t.Errorf("manifest recipe %q", m.Recipe)
	}
	seen := map[string]bool{}
	for _, s := range m.Sets {
		var want map[string]int64
		switch {
		case strings.HasPrefix(s.Name, "l00_in_proj_gemm"), strings.HasPrefix(s.Name, "l01_in_proj_gemm"),
			strings.HasPrefix(s.Name, "l00_conv1d"), strings.HasPrefix(s.Name, "l01_conv1d"):
			want = map[string]int64{"VIMSIM_WBITS": 4}
		case strings.HasPrefix(s.Name, "l01_scan"):
			want = map[string]int64{"VIMSIM_SBITS": 16}
		}
		if len(want) > 0 {
			seen[s.Name[:7]] = true
		}
		if len(s.Defines) != len(want) {
			t.Errorf("set %s: defines %v, want %v", s.Name, s.Defines, want)
		}
		for k, v := range want {
			if s.Defines[k] != v {
				t.Errorf("set %s: defines %v, want %v", s.Name, s.Defines, want)
			}
		}
	}
	if len(seen) < 3 {
		t.Errorf("width sets of %v only", seen)
	}
	ph, err := os.ReadFile(filepath.Join(vec, "l01_scan", "params.vh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ph), "`define VIMSIM_SBITS 16") {
		t.Errorf("l01_scan/params.vh:\n%s", ph)
	}

	// Calibrated on the fly.
	sim, err = runSimCmd(t, append([]string{"--data", "sample", "--limit", "2", "--recipe", recipe}, fast...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sim, "recipe mixed") {
		t.Errorf("sim report does not name the recipe:\n%s", sim)
	}
}

// TestEvalRecipeRows checks eval's rows of a mixed recipe calibrated on
// the fly, with and without the float reference: the int8 and fake-quant
// rows are the same.
func TestEvalRecipeRows(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates a model")
	}
	recipe := filepath.Join(t.TempDir(), "w4.json")
	if err := os.WriteFile(recipe, []byte(`{"w": 8, "a": 8, "h": 16, "ops": {"out_proj": {"w": 4}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--model", "vim-toy", "--data", "sample", "--limit", "6", "--calib", "4", "--calib-data", "sample",
		"--recipe", recipe, "--methods", "int8,paper", "--format", "json", "--timing=false"}
	rows := func(extra ...string) []map[string]any {
		out, err := runEvalCmd(t, append(args, extra...)...)
		if err != nil {
			t.Fatal(err)
		}
		var rep struct{ Results []map[string]any }
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		return rep.Results
	}
	with, without := rows(), rows("--reference=false")
	if len(with) != 3 || len(without) != 2 {
		t.Fatalf("%d rows with the reference, %d without", len(with), len(without))
	}
	for i, r := range without {
		w := with[i+1]
		if r["method"] != w["method"] || r["top1"] != w["top1"] || r["top5"] != w["top5"] {
			t.Errorf("row %d: %v without the reference, %v with it", i, r, w)
		}
	}
}

// TestRecipeCLIErrors checks the refusals: a recipe the datapath cannot run
// (naming the op, before calibrating), a bad recipe file, bits given twice.
func TestRecipeCLIErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a6 := write("a6.yaml", "w: 8\na: 8\nh: 8\nlayers:\n  - {layers: 2, a: 6}\n")
	h6 := write("h6.json", `{"w": 8, "a": 8, "h": 6}`)
	bad := write("bad.yaml", "w: 8\na: 8\nh: 8\nops: {in_porj: {w: 4}}\n")
	ok := write("ok.yaml", "w: 8\na: 8\nh: 8\n")
	cases := []struct {
		name string
		args []string
		want string
	}{
		// Refused before calibrating (quant.TestBuildRefusesRecipe).
		{"layer activations", []string{"--model", toyWeights, "--data", "sample", "--calib", "2", "--recipe", a6}, "layer 2 norm: 6-bit activations"},
		{"hidden bits", []string{"--model", toyWeights, "--data", "sample", "--calib", "2", "--recipe", h6}, "layer 0 scan: 6-bit hidden state"},
		{"uniform abits", []string{"--model", toyWeights, "--data", "sample", "--calib", "2", "--abits", "4"}, "layer 0 norm: 4-bit activations"},
		{"unknown op", []string{"--model", toyWeights, "--recipe", bad}, `unknown op "in_porj"`},
		{"missing file", []string{"--model", toyWeights, "--recipe", filepath.Join(dir, "none.yaml")}, "none.yaml"},
		{"recipe and bits", []string{"--model", toyWeights, "--recipe", ok, "--wbits", "4"}, "--recipe " + ok + ": give the bits in the recipe, not with --wbits"},
		{"hbits", []string{"--model", toyWeights, "--hbits", "12"}, "hidden-state bits 12"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := runSimCmd(t, c.args...)
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line mentioning %q", msg, c.want)
			}
		})
	}
}
