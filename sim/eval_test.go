package sim

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/internal/pixels"
	"github.com/vimsim/vimsim/quant"
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
func fakeMethod(name string, classes int, shift float64) Method {
	return Method{Name: name, Predict: func(imgs []float64, n int) ([]float64, error) {
		var out []float64
		for _, v := range imgs[:n] {
			out = append(out, fakeLogits(int(math.Round(v*255)), classes, shift)...)
		}
		return out, nil
	}}
}

// sortRank is the position of label when the classes are sorted by logit,
// descending, ties by index: the definition of top-k.
func sortRank(row []float64, label int) int {
	order := make([]int, len(row))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(row[b], row[a]) })
	return slices.Index(order, label)
}

func TestEvaluateStats(t *testing.T) {
	const n, classes = 53, 9
	ds := indexDataset{n: n, classes: classes}
	pre, err := data.NewPreprocessor(vim.Config{ImgH: 1, ImgW: 1, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	methods := []Method{fakeMethod("ref", classes, 0), fakeMethod("noisy", classes, 0.6), fakeMethod("same", classes, 0)}

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
			r := sortRank(row, label)
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
		ev, err := Evaluate(l, classes, methods, EvalOptions{OnBatch: func(d int) { dones = append(dones, d) }, Predictions: &pred})
		if err != nil {
			t.Fatal(err)
		}
		stats, got := ev.Methods, ev.Images
		if got != n || dones[len(dones)-1] != n || len(dones) != (n+batch-1)/batch {
			t.Errorf("batch %d: %d images, progress %v", batch, got, dones)
		}
		if pred.String() != preds.String() {
			t.Errorf("batch %d: predictions\n%s\nwant\n%s", batch, pred.String(), preds.String())
		}
		for m, st := range stats {
			if st.Top1 != top1[m] || st.Top5 != top5[m] {
				t.Errorf("batch %d %s: top1 %d top5 %d, want %d %d", batch, st.Name, st.Top1, st.Top5, top1[m], top5[m])
			}
			if m > 0 && (st.Agree != agree[m] || math.Abs(st.Signal-signal[m]) > 1e-9 || math.Abs(st.Noise-noise[m]) > 1e-9) {
				t.Errorf("batch %d %s: agree %d signal %g noise %g, want %d %g %g", batch, st.Name, st.Agree, st.Signal, st.Noise, agree[m], signal[m], noise[m])
			}
		}
		js, err := json.MarshalIndent(ev.Report("m", "d", false), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = js
		} else if !bytes.Equal(first, js) {
			t.Errorf("batch %d: report differs:\n%s\nvs\n%s", batch, js, first)
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
	bad := []Method{{Name: "short", Predict: func(imgs []float64, n int) ([]float64, error) { return make([]float64, n), nil }}}
	if _, err := Evaluate(data.NewLoader(ds, pre, data.LoaderOptions{}), classes, bad, EvalOptions{}); err == nil || !strings.Contains(err.Error(), "short") {
		t.Errorf("short logits: %v", err)
	}
	nan := []Method{{Name: "nan", Predict: func(imgs []float64, n int) ([]float64, error) {
		out := make([]float64, n*classes)
		out[3] = math.NaN()
		return out, nil
	}}}
	if _, err := Evaluate(data.NewLoader(ds, pre, data.LoaderOptions{}), classes, nan, EvalOptions{}); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN logits: %v", err)
	}
}

func TestIntegerMethods(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates a model")
	}
	m := loadToy(t).m
	c := m.Config
	calib := quant.SliceImages{Data: pixels.Images(c, 4, 3), Size: c.Channels * c.ImgH * c.ImgW}
	desc := "4 pixel images"
	calls := map[string]int{}
	qmodel := func(method string) (*quant.QModel, error) {
		calls[method]++
		opt := quant.DefaultOptions()
		opt.Method, opt.Rounds, opt.SearchRows, opt.SSMImages = method, 1, 64, 2
		return quant.Calibrate(m, calib, opt)
	}
	methods, err := IntegerMethods([]string{"fp32", "int8-naive", "paper", "int8"}, m, calib, desc, qmodel)
	if err != nil {
		t.Fatal(err)
	}
	if len(methods) != 2 || methods[0].Name != "int8-naive" || methods[1].Name != "int8" {
		t.Fatalf("methods %v", methods)
	}
	if calls[quant.MethodNaive] != 1 || calls[quant.MethodPaper] != 1 || len(calls) != 2 {
		t.Errorf("quantized models requested: %v", calls)
	}
	size := c.Channels * c.ImgH * c.ImgW
	imgs := calib.Data[:2*size]
	for _, em := range methods {
		logits, err := em.Predict(imgs, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(logits) != 2*c.Classes {
			t.Fatalf("%s: %d logits", em.Name, len(logits))
		}
		again, err := em.Predict(imgs, 2)
		if err != nil || !slices.Equal(logits, again) {
			t.Errorf("%s: not deterministic (%v)", em.Name, err)
		}
	}
	if _, err := IntegerMethods([]string{"int8"}, m, calib, desc, func(string) (*quant.QModel, error) {
		return nil, errors.New("no calibration")
	}); err == nil || !strings.Contains(err.Error(), "no calibration") {
		t.Errorf("qmodel error: %v", err)
	}
}

func TestQuantMethods(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates a model")
	}
	fix := loadToy(t)
	m, c := fix.m, fix.m.Config
	calib := quant.SliceImages{Data: pixels.Images(c, 4, 3), Size: c.Channels * c.ImgH * c.ImgW}
	calls := 0
	src := QuantSource{File: fix.qm[quant.MethodPaper], Options: quant.DefaultOptions(),
		Calibration: func() (quant.Images, string, error) {
			calls++
			return calib, "4 pixel images", nil
		}}
	src.Options.Rounds, src.Options.SearchRows, src.Options.SSMImages = 1, 64, 2
	rows, err := QuantMethods(m, []string{quant.MethodPaper, MethodInt8, MethodInt8Naive, quant.MethodNaive}, src)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.Name)
	}
	if fmt.Sprint(names) != "[paper int8 int8-naive naive]" || calls != 1 {
		t.Fatalf("rows %v, %d calibration draws", names, calls)
	}
	imgs := fix.imgs[:2*calib.Size]
	want, err := src.File.Infer(imgs, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rows[0].Predict(imgs, 2); err != nil || !slices.Equal(got, want) {
		t.Errorf("the file's method row does not run the file's model (%v)", err)
	}
	// The int8 row runs the file's model on the datapath.
	b, err := quant.Build(m, calib, quant.BuildOptions{QModel: src.File, Data: "4 pixel images"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(b.Program, imgs, 2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rows[1].Predict(imgs, 2); err != nil || !slices.Equal(got, res.Logits) {
		t.Errorf("int8 row differs from the file's program (%v)", err)
	}
	// A fake-quant row of the file's method needs no calibration images.
	src.Calibration = func() (quant.Images, string, error) { return nil, "", errors.New("no images") }
	if _, err := QuantMethods(m, []string{quant.MethodPaper}, src); err != nil {
		t.Errorf("file row: %v", err)
	}
	if _, err := QuantMethods(m, []string{quant.MethodNaive}, src); err == nil || !strings.Contains(err.Error(), "no images") {
		t.Errorf("calibration error: %v", err)
	}
}
