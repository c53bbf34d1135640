package quant

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/internal/num"
	"github.com/vimsim/vimsim/vim"
)

// The full accuracy table is long (every method at three bit settings on
// the 10,000 Fashion-MNIST test images): it runs only with -accuracy.
//
//	go test ./quant/ -run TestAccuracyTable -accuracy -timeout 2h -v
var (
	accuracyFlag  = flag.Bool("accuracy", false, "run the full-test-set accuracy table of every method")
	accuracyModel = flag.String("accuracy-model", vim.DefaultModel, "model of the accuracy table")
	accuracyLimit = flag.Int("accuracy-limit", 0, "evaluate only the first N test images (0: all)")
	accuracyExtra = flag.Bool("accuracy-extra", false, "also measure the effect of the search sampling settings")
	accuracyOnly  = flag.String("accuracy-only", "", "with -accuracy-extra: only the variants whose name contains this, and no main table")
)

// evalRow is one line of the accuracy table.
type evalRow struct {
	setting, method string
	top1, agree     float64
	sqnr            float64
	calib           time.Duration
}

// evaluate returns top-1, agreement with ref's predictions and the logits
// SQNR (dB) against ref of logits on labels.
func evaluate(logits, ref []float64, labels []int, classes int) (top1, agree, sqnr float64) {
	var ok, same int
	var sig, noise float64
	for i, l := range labels {
		a := num.Argmax(logits[i*classes : (i+1)*classes])
		b := num.Argmax(ref[i*classes : (i+1)*classes])
		if a == l {
			ok++
		}
		if a == b {
			same++
		}
		for j := i * classes; j < (i+1)*classes; j++ {
			sig += ref[j] * ref[j]
			noise += (logits[j] - ref[j]) * (logits[j] - ref[j])
		}
	}
	n := float64(len(labels))
	return float64(ok) / n, float64(same) / n, 10 * math.Log10(sig/math.Max(noise, 1e-300))
}

// loadFashionMNIST returns the preprocessed test set and a calibration set
// of n train images; it fails under CI when the dataset is missing.
func loadFashionMNIST(t *testing.T, cfg vim.Config, limit, n int) (test []float64, labels []int, calib SliceImages) {
	t.Helper()
	testDS, err := data.Open("fashion-mnist", "test")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	defer testDS.Close()
	pre, err := data.NewPreprocessor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	test, labels, err = data.ReadAll(testDS, pre, limit)
	if err != nil {
		t.Fatal(err)
	}
	trainDS, err := data.Open("fashion-mnist", "train")
	if err != nil {
		t.Fatal(err)
	}
	defer trainDS.Close()
	calib, err = CalibrationSet(trainDS, cfg, n, 0)
	if err != nil {
		t.Fatal(err)
	}
	return test, labels, calib
}

// TestAccuracyTable measures top-1 of fp32 and of every method at W8A8,
// W4A8 and W8A4 on the Fashion-MNIST test set, calibrating on 256 train
// images, and prints a markdown table.
func TestAccuracyTable(t *testing.T) {
	if !*accuracyFlag {
		t.Skip("run with -accuracy")
	}
	m, err := vim.Load(*accuracyModel, vim.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := m.Config
	test, labels, calib := loadFashionMNIST(t, cfg, *accuracyLimit, 256)
	n := len(labels)
	ref, err := m.Infer(test, n, vim.F32)
	if err != nil {
		t.Fatal(err)
	}
	top1, _, _ := evaluate(ref, ref, labels, cfg.Classes)
	rows := []evalRow{{setting: "-", method: "fp32", top1: top1, agree: 1, sqnr: math.Inf(1)}}
	run := func(setting string, o Options) evalRow {
		start := time.Now()
		q, err := Calibrate(m, calib, o)
		if err != nil {
			t.Fatal(err)
		}
		el := time.Since(start)
		logits, err := q.Infer(test, n)
		if err != nil {
			t.Fatal(err)
		}
		a, b, c := evaluate(logits, ref, labels, cfg.Classes)
		r := evalRow{setting: setting, method: o.Method, top1: a, agree: b, sqnr: c, calib: el}
		t.Logf("%s %s: top-1 %.4f agree %.4f SQNR %.1f dB (calibration %s)", setting, o.Method, a, b, c, el.Round(time.Millisecond))
		return r
	}
	for _, bits := range [][2]int{{8, 8}, {4, 8}, {8, 4}} {
		if *accuracyOnly != "" {
			break
		}
		for _, method := range Methods() {
			o := DefaultOptions()
			o.Method, o.WBits, o.ABits = method, bits[0], bits[1]
			rows = append(rows, run(fmt.Sprintf("W%dA%d", bits[0], bits[1]), o))
		}
	}
	if *accuracyExtra {
		for _, v := range []struct {
			name string
			mod  func(o *Options)
		}{
			{"search rows 128/64", func(o *Options) { o.SearchRows, o.WeightSearchRows = 128, 64 }},
			{"search rows 2048/2048", func(o *Options) { o.SearchRows, o.WeightSearchRows = 2048, 2048 }},
			{"SSM images 4", func(o *Options) { o.SSMImages = 4 }},
			{"SSM images 64", func(o *Options) { o.SSMImages = 64 }},
			{"k = 2", func(o *Options) { o.K = 2 }},
			{"k = 8", func(o *Options) { o.K = 8 }},
			{"1 round", func(o *Options) { o.Rounds = 1 }},
			{"weights per channel", func(o *Options) { o.PerChannelWeights = true }},
			{"search all outputs", func(o *Options) { o.SearchMinMaxPoints = true }},
			{"hidden state 8 bits", func(o *Options) { o.HBits = 8 }},
			{"search all outputs, hidden 8 bits", func(o *Options) { o.SearchMinMaxPoints, o.HBits = true, 8 }},
		} {
			if *accuracyOnly != "" && !strings.Contains(v.name, *accuracyOnly) {
				continue
			}
			for _, bits := range [][2]int{{8, 8}, {8, 4}} {
				o := DefaultOptions()
				o.WBits, o.ABits = bits[0], bits[1]
				v.mod(&o)
				rows = append(rows, run(fmt.Sprintf("W%dA%d %s", bits[0], bits[1], v.name), o))
			}
		}
	}
	writeTable(os.Stdout, cfg, n, rows)
}

func writeTable(w io.Writer, cfg vim.Config, n int, rows []evalRow) {
	fmt.Fprintf(w, "\n%s, Fashion-MNIST test (%d images), calibration 256 train images:\n\n", cfg.Name, n)
	fmt.Fprintln(w, "| setting | method | top-1 | Δ vs fp32 | agreement | logits SQNR | calibration |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		sq := "-"
		if !math.IsInf(r.sqnr, 1) {
			sq = fmt.Sprintf("%.1f dB", r.sqnr)
		}
		cal := "-"
		if r.calib > 0 {
			cal = fmt.Sprintf("%.1f s", r.calib.Seconds())
		}
		fmt.Fprintf(w, "| %s | %s | %.2f %% | %+.2f | %.2f %% | %s | %s |\n", r.setting, r.method, 100*r.top1,
			100*(r.top1-rows[0].top1), 100*r.agree, sq, cal)
	}
	fmt.Fprintln(w, strings.Repeat("-", 20))
}

// TestShippedModelOnSample quantizes the shipped Fashion-MNIST model with
// the paper method, calibrating on half of the embedded 256-image sample,
// and checks on the other half that its predictions agree with the float
// model's (the full-test-set table is TestAccuracyTable).
func TestShippedModelOnSample(t *testing.T) {
	m, err := vim.Load(vim.DefaultModel, vim.LoadOptions{})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ds, err := data.Open("sample", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	pre, err := data.NewPreprocessor(m.Config)
	if err != nil {
		t.Fatal(err)
	}
	imgs, labels, err := data.ReadAll(ds, pre, 0)
	if err != nil {
		t.Fatal(err)
	}
	size := pre.Len()
	half := len(labels) / 2
	calib := SliceImages{Data: imgs[half*size:], Size: size}
	test, testLabels := imgs[:half*size], labels[:half]
	ref, err := m.Infer(test, half, vim.F32)
	if err != nil {
		t.Fatal(err)
	}
	fpTop1, _, _ := evaluate(ref, ref, testLabels, m.Config.Classes)
	o := DefaultOptions()
	q, err := Calibrate(m, calib, o)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := q.Infer(test, half)
	if err != nil {
		t.Fatal(err)
	}
	top1, agree, sqnr := evaluate(logits, ref, testLabels, m.Config.Classes)
	t.Logf("fp32 %.4f, paper W8A8 %.4f, agreement %.4f, logits SQNR %.1f dB", fpTop1, top1, agree, sqnr)
	if agree < 0.97 || top1 < fpTop1-0.03 || sqnr < 15 {
		t.Errorf("paper W8A8 on %d sample images: top-1 %.4f (fp32 %.4f), agreement %.4f, SQNR %.1f dB", half, top1, fpTop1, agree, sqnr)
	}
}
