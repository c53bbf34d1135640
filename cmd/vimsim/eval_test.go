package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/vim"
)

// indexDataset has n 1x1 gray images whose pixel is the image index, so a
// fake method can tell which image it sees.
type indexDataset struct{ n, classes int }

func (d indexDataset) Len() int { return d.n }
func (d indexDataset) Classes() []string {
	c := make([]string, d.classes)
	for i := range c {
		c[i] = strconv.Itoa(i)
	}
	return c
}
func (d indexDataset) Close() error { return nil }
func (d indexDataset) Sample(i int) (data.Sample, error) {
	img := image.NewGray(image.Rect(0, 0, 1, 1))
	img.Pix[0] = uint8(i)
	return data.Sample{Index: i, Label: i * 5 % d.classes, Name: fmt.Sprint(i),
		Decode: func() (image.Image, error) { return img, nil }}, nil
}

// fakeLogits are deterministic logits of image i with many ties; shift
// perturbs them.
func fakeLogits(i, classes int, shift float64) []float64 {
	row := make([]float64, classes)
	for j := range row {
		row[j] = float64((i*7+j*j*3)%5) + shift*float64((i+j)%3-1)
	}
	return row
}

// fakeMethod returns fakeLogits of the images it is given.
func fakeMethod(name string, classes int, shift float64) evalMethod {
	return evalMethod{name: name, predict: func(imgs []float64, n int) ([]float64, error) {
		var out []float64
		for _, v := range imgs[:n] {
			out = append(out, fakeLogits(int(math.Round(v*255)), classes, shift)...)
		}
		return out, nil
	}}
}

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

func TestEvaluateStats(t *testing.T) {
	const n, classes = 53, 9
	ds := indexDataset{n: n, classes: classes}
	pre, err := data.NewPreprocessor(vim.Config{ImgH: 1, ImgW: 1, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	methods := []evalMethod{fakeMethod("ref", classes, 0), fakeMethod("noisy", classes, 0.6), fakeMethod("same", classes, 0)}

	// The expected numbers, from the definitions.
	var top1, top5, agree [3]int
	var signal, noise [3]float64
	var preds strings.Builder
	for i := range n {
		label := i * 5 % classes
		ref := fakeLogits(i, classes, 0)
		refArg := slices.Index(ref, slices.Max(ref))
		fmt.Fprintln(&preds, refArg)
		for m, shift := range []float64{0, 0.6, 0} {
			row := fakeLogits(i, classes, shift)
			r := slowRank(row, label)
			if r == 0 {
				top1[m]++
			}
			if r < 5 {
				top5[m]++
			}
			if slices.Index(row, slices.Max(row)) == refArg {
				agree[m]++
			}
			for j := range row {
				signal[m] += ref[j] * ref[j]
				noise[m] += (row[j] - ref[j]) * (row[j] - ref[j])
			}
		}
	}
	if top1[0] == 0 || top1[0] == n || top1[1] == top1[0] || agree[1] == n {
		t.Fatalf("degenerate test data: top1 %v agree %v", top1, agree)
	}

	var first []byte
	for _, batch := range []int{1, 8, 64} {
		l := data.NewLoader(ds, pre, data.LoaderOptions{Batch: batch})
		var dones []int
		var pred bytes.Buffer
		stats, got, err := evaluate(l, classes, methods, func(d int) { dones = append(dones, d) }, &pred)
		if err != nil {
			t.Fatal(err)
		}
		if got != n || dones[len(dones)-1] != n || len(dones) != (n+batch-1)/batch {
			t.Errorf("batch %d: %d images, progress %v", batch, got, dones)
		}
		if pred.String() != preds.String() {
			t.Errorf("batch %d: predictions\n%s\nwant\n%s", batch, pred.String(), preds.String())
		}
		for m, st := range stats {
			if st.top1 != top1[m] || st.top5 != top5[m] {
				t.Errorf("batch %d %s: top1 %d top5 %d, want %d %d", batch, st.name, st.top1, st.top5, top1[m], top5[m])
			}
			if m > 0 && (st.agree != agree[m] || math.Abs(st.signal-signal[m]) > 1e-9 || math.Abs(st.noise-noise[m]) > 1e-9) {
				t.Errorf("batch %d %s: agree %d signal %g noise %g, want %d %g %g", batch, st.name, st.agree, st.signal, st.noise, agree[m], signal[m], noise[m])
			}
		}
		rep := newEvalReport("m", "d", got, stats, false)
		var js bytes.Buffer
		if err := rep.write(&js, "json"); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = js.Bytes()
		} else if !bytes.Equal(first, js.Bytes()) {
			t.Errorf("batch %d: report differs:\n%s\nvs\n%s", batch, js.Bytes(), first)
		}
	}
	var rep struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(first, &rep); err != nil {
		t.Fatal(err)
	}
	r1 := rep.Results[1]
	wantDB := 10 * math.Log10(signal[1]/noise[1])
	if math.Abs(r1["sqnr_db"].(float64)-wantDB) > 1e-9 || r1["agreement"].(float64) != float64(agree[1])/n {
		t.Errorf("noisy row %v, want sqnr %g agreement %g", r1, wantDB, float64(agree[1])/n)
	}
	if v, ok := rep.Results[2]["sqnr_db"]; !ok || v != nil {
		t.Errorf("identical method: sqnr_db %v (present %v), want null", v, ok)
	}
	if _, ok := rep.Results[0]["agreement"]; ok {
		t.Error("the reference row has an agreement")
	}

	// A method returning the wrong number of logits, or NaN, is an error.
	bad := []evalMethod{{name: "short", predict: func(imgs []float64, n int) ([]float64, error) { return make([]float64, n), nil }}}
	if _, _, err := evaluate(data.NewLoader(ds, pre, data.LoaderOptions{}), classes, bad, nil, nil); err == nil || !strings.Contains(err.Error(), "short") {
		t.Errorf("short logits: %v", err)
	}
	nan := []evalMethod{{name: "nan", predict: func(imgs []float64, n int) ([]float64, error) {
		out := make([]float64, n*classes)
		out[3] = math.NaN()
		return out, nil
	}}}
	if _, _, err := evaluate(data.NewLoader(ds, pre, data.LoaderOptions{}), classes, nan, nil, nil); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN logits: %v", err)
	}
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

	// Table to a file: nothing on stdout, the file holds the table.
	outPath := filepath.Join(dir, "report.txt")
	o, err := runEvalCmd(t, "--model", "vim-toy", "--data", "sample", "--limit", "8", "--out", outPath)
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
	var rep evalReport
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
