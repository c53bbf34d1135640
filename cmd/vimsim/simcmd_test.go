package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/quant/intprog"
)

const simToyModel = "../../vim/testdata/toy_pert.weights.safetensors"

// runSimCmd runs vimsim sim with args and returns its output.
func runSimCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newSimCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), err
}

func TestSimCmdJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates a model")
	}
	dir := t.TempDir()
	prog := filepath.Join(dir, "toy.intprog.safetensors")
	args := []string{"--model", simToyModel, "--data", "sample", "--calib", "4", "--limit", "6", "--ssm-images", "2",
		"--search-rows", "64", "--rounds", "1", "--format", "json", "--program", prog}
	out, err := runSimCmd(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Model, Method, Program string
		Images                 int
		Paths                  []struct {
			Name           string
			Top1           *float64
			AgreeFakeQuant float64 `json:"agreement_fake_quant"`
		}
		Tensors []struct {
			Name      string
			FakeQuant *struct {
				SQNR *float64 `json:"sqnr_db"`
			} `json:"vs_fake_quant"`
		}
		Total struct {
			MACs      int64
			Overflows int64
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	if rep.Images != 6 || rep.Method != "paper" || len(rep.Paths) != 3 || rep.Paths[2].Name != "int8" || rep.Paths[2].Top1 == nil {
		t.Fatalf("report header %+v", rep)
	}
	if rep.Total.MACs <= 0 || rep.Total.Overflows != 0 {
		t.Errorf("counters: MACs %d, overflows %d", rep.Total.MACs, rep.Total.Overflows)
	}
	want := map[string]bool{"patch_embed": false, "layers.0.mixer.fwd.ssm_y": false, "features": false}
	for _, tf := range rep.Tensors {
		if _, ok := want[tf.Name]; ok {
			want[tf.Name] = tf.FakeQuant != nil
		}
	}
	for name, ok := range want {
		if !ok {
			t.Errorf("tensor %s missing or without a fake-quant comparison", name)
		}
	}
	// The written program reads back and the run is reproducible.
	if _, err := intprog.Read(prog); err != nil {
		t.Fatal(err)
	}
	again, err := runSimCmd(t, append(args, "--force")...)
	if err != nil {
		t.Fatal(err)
	}
	if again != out {
		t.Error("two runs gave different reports")
	}
}

func TestSimCmdTable(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates a model")
	}
	out, err := runSimCmd(t, "--model", simToyModel, "--data", "sample", "--method", "naive", "--calib", "4", "--limit", "3", "--ops")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"model ", "(naive)", "fake-quant", "int8", "layers.3.mixer.y_comb", "scan_b", "overflows", "total"} {
		if !strings.Contains(out, s) {
			t.Errorf("table output lacks %q:\n%s", s, out)
		}
	}
}

func TestSimCmdErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.safetensors")
	if err := os.WriteFile(bad, []byte("not a safetensors file"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"format", []string{"--model", simToyModel, "--format", "xml"}, "--format"},
		{"batch", []string{"--model", simToyModel, "--batch", "0"}, "--batch"},
		{"limit", []string{"--model", simToyModel, "--limit", "-1"}, "--limit"},
		{"merge-k", []string{"--model", simToyModel, "--merge-k", "17"}, "--merge-k"},
		{"split", []string{"--model", simToyModel, "--split", "dev"}, "--split"},
		{"method", []string{"--model", simToyModel, "--method", "magic"}, "magic"},
		{"qmodel", []string{"--model", simToyModel, "--qmodel", bad}, bad},
		{"missing", []string{"--model", simToyModel, "--qmodel", filepath.Join(dir, "none")}, "none"},
		{"data", []string{"--model", simToyModel, "--data", "nope:x", "--calib", "2"}, "nope"},
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
