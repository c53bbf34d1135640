package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
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
	again, err := runSimCmd(t, args...)
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

func TestSimEvalMethods(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates a model")
	}
	m, err := vim.Load(simToyModel, vim.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	calib, desc, err := calibrationImages("sample", "train", 4, m.Config, 0)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	qmodel := func(method string) (*quant.QModel, error) {
		calls[method]++
		opt := quant.DefaultOptions()
		opt.Method, opt.Rounds, opt.SearchRows, opt.SSMImages = method, 1, 64, 2
		return quant.Calibrate(m, calib, opt)
	}
	methods, err := simEvalMethods([]string{"fp32", "int8-naive", "paper", "int8"}, m, calib, desc, qmodel)
	if err != nil {
		t.Fatal(err)
	}
	if len(methods) != 2 || methods[0].name != "int8-naive" || methods[1].name != "int8" {
		t.Fatalf("methods %v", methods)
	}
	if calls[quant.MethodNaive] != 1 || calls[quant.MethodPaper] != 1 || len(calls) != 2 {
		t.Errorf("quantized models requested: %v", calls)
	}
	c := m.Config
	size := c.Channels * c.ImgH * c.ImgW
	imgs := calib.Data[:2*size]
	for _, em := range methods {
		logits, err := em.predict(imgs, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(logits) != 2*c.Classes {
			t.Fatalf("%s: %d logits", em.name, len(logits))
		}
		again, err := em.predict(imgs, 2)
		if err != nil || !slices.Equal(logits, again) {
			t.Errorf("%s: not deterministic (%v)", em.name, err)
		}
	}
	if _, err := simEvalMethods([]string{"int8"}, m, calib, desc, func(string) (*quant.QModel, error) {
		return nil, errors.New("no calibration")
	}); err == nil || !strings.Contains(err.Error(), "no calibration") {
		t.Errorf("qmodel error: %v", err)
	}
}
