package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/sim"
	"github.com/vimsim/vimsim/vim"
)

// slowRank is the position of label when the classes are sorted by logit,
// descending, ties by index: the definition of top-k.
func slowRank(row []float64, label int) int {
	idx := make([]int, len(row))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
	return slices.Index(idx, label)
}

// runEvalCmd runs vimsim eval with args and returns its stdout.
func runEvalCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newEvalCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	if errOut.Len() != 0 {
		t.Errorf("eval %v wrote to stderr (not a terminal): %q", args, errOut.String())
	}
	return out.String(), err
}

// TestEvalCommand runs vimsim eval on the embedded sample with the
// embedded vim-toy model (64x64 RGB: the sample is resized, cropped and
// replicated) and checks the report against an independent computation.
func TestEvalCommand(t *testing.T) {
	dir := t.TempDir()
	predPath := filepath.Join(dir, "pred.txt")
	args := []string{"--model", "vim-toy", "--data", "sample", "--limit", "24", "--batch", "5", "--format", "json", "--timing=false"}
	out, err := runEvalCmd(t, append(args, "--predictions", predPath)...)
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range rep {
			if !yield(k) {
				return
			}
		}
	})
	if fmt.Sprint(keys) != "[data images model results]" || rep["model"] != "vim-toy" || rep["data"] != "sample" || rep["images"] != 24.0 {
		t.Fatalf("report %s", out)
	}
	res := rep["results"].([]any)[0].(map[string]any)
	if len(res) != 3 || res["method"] != "fp32" {
		t.Errorf("result row %v: want method, top1, top5 (no timing)", res)
	}

	// Independent computation: preprocess with data.ReadAll, infer, argmax.
	m, err := vim.Load("vim-toy", vim.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := data.Open("sample", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	pre, _ := data.NewPreprocessor(m.Config)
	imgs, labels, err := data.ReadAll(ds, pre, 24)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := m.Infer(imgs, 24, vim.F32)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(predPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 24 {
		t.Fatalf("%d prediction lines, want 24", len(lines))
	}
	correct, correct5 := 0, 0
	for i, line := range lines {
		row := logits[i*10 : (i+1)*10]
		want := slices.Index(row, slices.Max(row))
		if line != strconv.Itoa(want) {
			t.Errorf("prediction %d = %s, want %d", i, line, want)
		}
		if want == labels[i] {
			correct++
		}
		if slowRank(row, labels[i]) < 5 {
			correct5++
		}
	}
	if res["top1"] != float64(correct)/24 || res["top5"] != float64(correct5)/24 {
		t.Errorf("top1 %v top5 %v, want %g %g", res["top1"], res["top5"], float64(correct)/24, float64(correct5)/24)
	}

	// Byte-identical whatever GOMAXPROCS and batch size.
	for _, procs := range []int{1, 3} {
		prev := runtime.GOMAXPROCS(procs)
		out1, err := runEvalCmd(t, "--model", "vim-toy", "--data", "sample", "--limit", "24", "--batch", "24", "--format", "json", "--timing=false")
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		if out1 != out {
			t.Errorf("GOMAXPROCS=%d, batch 24:\n%s\nwant\n%s", procs, out1, out)
		}
	}

	// Table to a file, with timings: nothing on stdout, the file holds the
	// table.
	outPath := filepath.Join(dir, "report.txt")
	o, err := runEvalCmd(t, "--model", "vim-toy", "--data", "sample", "--limit", "8", "--out", outPath, "--timing")
	if err != nil || o != "" {
		t.Fatalf("--out: stdout %q, %v", o, err)
	}
	tab, _ := os.ReadFile(outPath)
	for _, want := range []string{"model vim-toy, data sample, 8 images", "method", "top-1", "top-5", "images/s", "fp32"} {
		if !strings.Contains(string(tab), want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("output dir holds %d files, want 2 (no temporary left)", len(entries))
	}
}

func TestEvalErrors(t *testing.T) {
	dir := t.TempDir()
	// An MNIST-format dataset with 11 classes, for a 10-class model.
	lab := append([]byte{0, 0, 8, 1, 0, 0, 0, 2}, 0, 10)
	img := append([]byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1}, 0, 0)
	os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), lab, 0o644)
	os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte"), img, 0o644)
	missingDir := filepath.Join(dir, "no", "such")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "xml"}, `--format "xml": want table or json`},
		{[]string{"--batch", "0"}, "--batch 0"},
		{[]string{"--limit", "-1"}, "--limit -1"},
		{[]string{"--split", "dev"}, `--split: split "dev"`},
		{[]string{"--precision", "f16"}, `--precision "f16"`},
		{[]string{"--data", "cifar"}, `unknown dataset "cifar"`},
		{[]string{"--mean", "1,2"}, "--mean"},
		{[]string{"--std", "0"}, "--std"},
		{[]string{"--model", "no-such-model"}, "no-such-model"},
		{[]string{"--data", "mnist:" + dir}, "11 classes but model vim-toy has 10 outputs"},
		{[]string{"--predictions", filepath.Join(missingDir, "p.txt")}, missingDir},
		{[]string{"--out", filepath.Join(missingDir, "r.txt")}, missingDir},
		{[]string{"--reference=false"}, "--reference=false: give the rows to run with --methods"},
	} {
		args := append([]string{"--model", "vim-toy", "--limit", "2"}, tc.args...)
		if tc.args[0] == "--model" {
			args = append([]string{"--limit", "2"}, tc.args...)
		}
		_, err := runEvalCmd(t, args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("eval %v: error %v, want one line containing %q", tc.args, err, tc.want)
		}
	}
}

// requireFashionMNIST skips when Debian's dataset-fashion-mnist is missing,
// and fails when CI=true.
func requireFashionMNIST(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(data.DefaultFashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and the Fashion-MNIST dataset is missing (apt-get install dataset-fashion-mnist): %v", err)
		}
		t.Skipf("Fashion-MNIST not installed: %v", err)
	}
}

// TestEvalFashionMNIST is the acceptance test: the embedded
// vim-fmnist model on the whole Fashion-MNIST test set reaches top-1 ≥ 0.89.
func TestEvalFashionMNIST(t *testing.T) {
	requireFashionMNIST(t)
	if testing.Short() {
		t.Skip("evaluates 10000 images")
	}
	if _, err := vim.Load(vim.DefaultModel, vim.LoadOptions{}); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the embedded default model: %v", err)
		}
		t.Skipf("the embedded default model is not available yet: %v", err)
	}
	predPath := filepath.Join(t.TempDir(), "pred.txt")
	out, err := runEvalCmd(t, "--data", "fashion-mnist", "--format", "json", "--timing=false", "--batch", "250", "--predictions", predPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep sim.EvalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Images != 10000 || rep.Model != vim.DefaultModel || len(rep.Results) == 0 {
		t.Fatalf("report %s", out)
	}
	if r := rep.Results[0]; r.Top1 < 0.89 || r.Top5 < r.Top1 {
		t.Errorf("%s on Fashion-MNIST: top-1 %.4f top-5 %.4f, want top-1 ≥ 0.89", vim.DefaultModel, r.Top1, r.Top5)
	}
	t.Logf("%s", out)

	// Same predictions as the PyTorch script on ≥ 99.9 % of the images.
	want, err := os.ReadFile(pytorchPredictions)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PyTorch predictions: %v", err)
		}
		t.Skipf("PyTorch predictions not available: %v", err)
	}
	got, err := os.ReadFile(predPath)
	if err != nil {
		t.Fatal(err)
	}
	g, w := strings.Fields(string(got)), strings.Fields(string(want))
	if len(g) != 10000 || len(w) != 10000 {
		t.Fatalf("%d vimsim and %d PyTorch predictions, want 10000 each", len(g), len(w))
	}
	differ := 0
	for i := range g {
		if g[i] != w[i] {
			differ++
		}
	}
	t.Logf("vimsim and PyTorch predictions differ on %d of 10000 images", differ)
	if differ > 10 {
		t.Errorf("vimsim and PyTorch predictions differ on %d of 10000 images, want ≤ 10 (99.9%% equal)", differ)
	}
}

// pytorchPredictions holds the predicted class of each Fashion-MNIST test
// image, one per line, by the PyTorch implementation (tools/train) for the
// embedded vim-fmnist checkpoint.
const pytorchPredictions = "../../models/vim-fmnist.test-predictions.txt"
