package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/internal/atomicfile"
	"github.com/vimsim/vimsim/internal/num"
	"github.com/vimsim/vimsim/vim"
)

// evalOptions are the flags of vimsim eval other than the model's.
type evalOptions struct {
	data, split       string
	limit, batch      int
	precision, format string
	out, predictions  string
	mean, std         string
	timing            bool
	quant             quantEvalFlags
}

func newEvalCmd() *cobra.Command {
	var (
		mf  modelFlags
		opt evalOptions
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Measure a model's top-1/top-5 accuracy on a dataset",
		Long: `Measure a model's top-1 and top-5 accuracy and throughput on a dataset.

Datasets (--data): fashion-mnist (Debian's dataset-fashion-mnist),
fashion-mnist:DIR, mnist:DIR (MNIST-format IDX files, gzipped or not),
imagefolder:DIR (class sub-folders of JPEG/PNG; DIR/train and DIR/val when
present) and sample (256 Fashion-MNIST test images embedded in vimsim).
Images are preprocessed to the model's input: (Fashion-)MNIST images of the
model's size are only scaled to [0,1] and normalised; other images get the
official eval transform (bicubic resize of the shorter side to size/0.875,
center crop); grayscale images are replicated into RGB models. --mean and
--std (one value, or one per channel) override the checkpoint's values.

Each method is one row: the float reference (fp32 or fp64) first; methods of
later stages are compared with it (agreement of top-1 predictions, SQNR of
the logits). images/s counts inference only. The dataset is streamed in
batches; images are preprocessed and inferred on all cores, and the results
do not depend on the number of cores (--timing=false makes the output
byte-identical from run to run).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEval(cmd, &mf, opt)
		},
	}
	mf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&opt.data, "data", "sample", "dataset: "+strings.Join(data.KnownSpecs(), ", "))
	fl.StringVar(&opt.split, "split", "test", "dataset split: train or test")
	fl.IntVar(&opt.limit, "limit", 0, "evaluate only the first N images (0: all)")
	fl.IntVar(&opt.batch, "batch", 32, "images per batch")
	fl.StringVar(&opt.precision, "precision", "f32", "float reference arithmetic: f32 or f64")
	fl.StringVar(&opt.format, "format", "table", "output format: table or json")
	fl.StringVar(&opt.out, "out", "", "write the report to this file instead of stdout")
	fl.StringVar(&opt.predictions, "predictions", "", "write the reference method's predicted class of each image, one per line, to this file")
	fl.StringVar(&opt.mean, "mean", "", "preprocessing mean: one value or one per channel (default: the checkpoint's)")
	fl.StringVar(&opt.std, "std", "", "preprocessing std: one value or one per channel (default: the checkpoint's)")
	fl.BoolVar(&opt.timing, "timing", true, "report images per second (the only run-dependent number)")
	opt.quant.register(fl)
	return cmd
}

// runEval checks the flags, loads the model and the dataset, evaluates and
// writes the report.
func runEval(cmd *cobra.Command, mf *modelFlags, opt evalOptions) error {
	prec, err := parsePrecision(opt.precision)
	if err != nil {
		return err
	}
	if opt.format != "table" && opt.format != "json" {
		return fmt.Errorf("--format %q: want table or json", opt.format)
	}
	if opt.batch < 1 {
		return fmt.Errorf("--batch %d: must be at least 1", opt.batch)
	}
	if opt.limit < 0 {
		return fmt.Errorf("--limit %d: must not be negative", opt.limit)
	}
	split, err := data.ParseSplit(opt.split)
	if err != nil {
		return fmt.Errorf("--split: %w", err)
	}
	m, err := mf.load()
	if err != nil {
		return err
	}
	cfg, err := data.OverrideNorm(m.Config, opt.mean, opt.std)
	if err != nil {
		return err
	}
	pre, err := data.NewPreprocessor(cfg)
	if err != nil {
		return fmt.Errorf("model %s: %w", mf.model, err)
	}
	ds, err := data.Open(opt.data, string(split))
	if err != nil {
		return err
	}
	defer ds.Close()
	if n := len(ds.Classes()); n > cfg.Classes {
		return fmt.Errorf("dataset %s has %d classes but model %s has %d outputs", opt.data, n, mf.model, cfg.Classes)
	}
	loader := data.NewLoader(ds, pre, data.LoaderOptions{Batch: opt.batch, Limit: opt.limit})

	var predW io.Writer
	var pred *atomicfile.File
	if opt.predictions != "" {
		if pred, err = atomicfile.Create(opt.predictions); err != nil {
			return err
		}
		defer pred.Abort()
		predW = pred
	}
	methods := evalMethods(m, prec)
	names, err := opt.quant.rowNames(methods[0].name)
	if err != nil {
		return err
	}
	rows, err := opt.quant.quantRows(names[1:], m, cfg, opt.data)
	if err != nil {
		return err
	}
	methods = append(methods, rows...)
	bar := newProgressBar(cmd.ErrOrStderr(), loader.Len())
	stats, n, err := evaluate(loader, cfg.Classes, methods, bar.update, predW)
	bar.finish()
	if err != nil {
		return err
	}
	dataName := opt.data
	if split != data.Test {
		dataName += " (" + string(split) + ")"
	}
	rep := newEvalReport(mf.model, dataName, n, stats, opt.timing)
	if pred != nil {
		if err := pred.Commit(); err != nil {
			return err
		}
	}
	if opt.out == "" {
		return rep.write(cmd.OutOrStdout(), opt.format)
	}
	f, err := atomicfile.Create(opt.out)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := rep.write(f, opt.format); err != nil {
		return err
	}
	return f.Commit()
}

// evalMethod is one way of computing logits: a row of the eval report.
// predict maps n preprocessed images (n·C·H·W values) to n·classes logits.
// The first method of a run is the reference the others are compared with.
type evalMethod struct {
	name    string
	predict func(imgs []float64, n int) ([]float64, error)
}

// evalMethods returns the methods vimsim eval runs, the float reference
// first. Later stages (PTQ, the integer datapath) add their methods here.
func evalMethods(m *vim.Model, p vim.Precision) []evalMethod {
	return []evalMethod{floatMethod(m, p)}
}

// floatMethod is the float reference forward pass: "fp32" or "fp64".
func floatMethod(m *vim.Model, p vim.Precision) evalMethod {
	name := "fp64"
	if p == vim.F32 {
		name = "fp32"
	}
	return evalMethod{name: name, predict: func(imgs []float64, n int) ([]float64, error) {
		return m.Infer(imgs, n, p)
	}}
}

// methodStats accumulates one method's results.
type methodStats struct {
	name          string
	top1, top5    int
	agree         int           // top-1 prediction equal to the reference's
	signal, noise float64       // Σ ref², Σ (logit - ref)² over all logits
	elapsed       time.Duration // inside predict
}

// evalTopK is the k of the top-k accuracy.
const evalTopK = 5

// evaluate runs every method on every batch of l, in order, and returns the
// statistics and the number of images. classes is the logits width. The
// reference (first) method's predicted classes are written to pred, one per
// line, when pred is not nil. onBatch, if not nil, is told the number of
// images done after each batch.
func evaluate(l *data.Loader, classes int, methods []evalMethod, onBatch func(done int), pred io.Writer) ([]methodStats, int, error) {
	if len(methods) == 0 {
		return nil, 0, errors.New("eval: no method to run")
	}
	stats := make([]methodStats, len(methods))
	for i, m := range methods {
		stats[i].name = m.name
	}
	var bw *bufio.Writer
	if pred != nil {
		bw = bufio.NewWriter(pred)
	}
	done := 0
	var refTop []int
	for {
		b, err := l.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		var ref []float64
		for mi, m := range methods {
			st := &stats[mi]
			t0 := time.Now()
			logits, err := m.predict(b.Images, b.N)
			st.elapsed += time.Since(t0)
			if err != nil {
				return nil, 0, fmt.Errorf("eval %s: images %d..%d: %w", m.name, b.Start, b.Start+b.N-1, err)
			}
			if len(logits) != b.N*classes {
				return nil, 0, fmt.Errorf("eval %s: %d logits for %d images of %d classes", m.name, len(logits), b.N, classes)
			}
			for i := range b.N {
				row := logits[i*classes : (i+1)*classes]
				for _, v := range row {
					if math.IsNaN(v) {
						return nil, 0, fmt.Errorf("eval %s: image %d: NaN logit", m.name, b.Start+i)
					}
				}
				r := labelRank(row, b.Labels[i])
				if r == 0 {
					st.top1++
				}
				if r < evalTopK {
					st.top5++
				}
				top := num.Argmax(row)
				if mi == 0 {
					if i == 0 {
						refTop = refTop[:0]
					}
					refTop = append(refTop, top)
					if bw != nil {
						bw.WriteString(strconv.Itoa(top))
						bw.WriteByte('\n')
					}
					continue
				}
				if top == refTop[i] {
					st.agree++
				}
				for j, v := range row {
					r := ref[i*classes+j]
					st.signal += r * r
					st.noise += (v - r) * (v - r)
				}
			}
			if mi == 0 {
				ref = logits
			}
		}
		done += b.N
		if onBatch != nil {
			onBatch(done)
		}
	}
	if bw != nil {
		if err := bw.Flush(); err != nil {
			return nil, 0, err
		}
	}
	return stats, done, nil
}

// labelRank is the number of classes ranked above label: those with a
// larger logit, or an equal one and a smaller index (the order of argmax).
// The label is in the top k when labelRank < k.
func labelRank(row []float64, label int) int {
	v := row[label]
	r := 0
	for j, x := range row {
		if x > v || (x == v && j < label) {
			r++
		}
	}
	return r
}

// evalReport is the output of vimsim eval; its JSON form is
// {"model", "data", "images", "results": [{"method", "top1", "top5",
// "images_per_s", "agreement", "sqnr_db"}, …]}. Data is the --data spec,
// followed by " (train)" for the train split.
type evalReport struct {
	Model   string       `json:"model"`
	Data    string       `json:"data"`
	Images  int          `json:"images"`
	Results []evalResult `json:"results"`
}

// evalResult is one method's row. Agreement (the fraction of images whose
// top-1 prediction equals the reference's) and SQNRdB (10·log10 of Σref² /
// Σ(logit-ref)² over all logits; null when the logits are identical) are
// given for every method but the reference.
type evalResult struct {
	Method     string   `json:"method"`
	Top1       float64  `json:"top1"`
	Top5       float64  `json:"top5"`
	ImagesPerS *float64 `json:"images_per_s,omitempty"`
	Agreement  *float64 `json:"agreement,omitempty"`
	SQNRdB     *sqnrDB  `json:"sqnr_db,omitempty"`
}

// sqnrDB is a signal-to-quantization-noise ratio in dB; +Inf (identical
// logits) is written as JSON null.
type sqnrDB float64

func (s sqnrDB) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(s), 0) || math.IsNaN(float64(s)) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(s))
}

func (s sqnrDB) String() string {
	if math.IsInf(float64(s), 1) {
		return "inf"
	}
	return strconv.FormatFloat(float64(s), 'f', 2, 64)
}

func newEvalReport(model, dataName string, n int, stats []methodStats, timing bool) evalReport {
	rep := evalReport{Model: model, Data: dataName, Images: n}
	for i, st := range stats {
		res := evalResult{Method: st.name}
		if n > 0 {
			res.Top1 = float64(st.top1) / float64(n)
			res.Top5 = float64(st.top5) / float64(n)
		}
		if timing {
			ips := 0.0
			if s := st.elapsed.Seconds(); s > 0 {
				ips = math.Round(float64(n)/s*10) / 10
			}
			res.ImagesPerS = &ips
		}
		if i > 0 && n > 0 {
			agree := float64(st.agree) / float64(n)
			db := sqnrDB(math.Inf(1))
			if st.noise > 0 {
				db = sqnrDB(10 * math.Log10(st.signal/st.noise))
			}
			res.Agreement, res.SQNRdB = &agree, &db
		}
		rep.Results = append(rep.Results, res)
	}
	return rep
}

// write renders the report as a table or as indented JSON.
func (r evalReport) write(w io.Writer, format string) error {
	if format == "json" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	if _, err := fmt.Fprintf(w, "model %s, data %s, %d images\n", r.Model, r.Data, r.Images); err != nil {
		return err
	}
	header := []string{"method", "top-1", "top-5"}
	timing := len(r.Results) > 0 && r.Results[0].ImagesPerS != nil
	if timing {
		header = append(header, "images/s")
	}
	compare := len(r.Results) > 1
	if compare {
		header = append(header, "agreement", "SQNR dB")
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{Global: tw.AlignRight, PerColumn: []tw.Align{tw.AlignLeft}}),
	)
	t.Header(header)
	for i, res := range r.Results {
		row := []string{res.Method, fmt.Sprintf("%.4f", res.Top1), fmt.Sprintf("%.4f", res.Top5)}
		if timing {
			row = append(row, fmt.Sprintf("%.1f", *res.ImagesPerS))
		}
		if compare {
			if i == 0 {
				row = append(row, "ref", "ref")
			} else {
				row = append(row, fmt.Sprintf("%.4f", *res.Agreement), res.SQNRdB.String())
			}
		}
		if err := t.Append(row); err != nil {
			return err
		}
	}
	return t.Render()
}

// progressBar draws eval's progress on a terminal. A nil *progressBar (not a
// terminal) draws nothing.
type progressBar struct {
	w     io.Writer
	total int
	start time.Time
	last  time.Time
}

// newProgressBar returns a progress bar on w, or nil when w is not a
// terminal (piped or redirected output gets no bar).
func newProgressBar(w io.Writer, total int) *progressBar {
	f, ok := w.(*os.File)
	if !ok || total <= 0 || !(isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return nil
	}
	now := time.Now()
	return &progressBar{w: w, total: total, start: now}
}

// update redraws the bar, at most ten times a second.
func (p *progressBar) update(done int) {
	if p == nil {
		return
	}
	now := time.Now()
	if done < p.total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	const width = 30
	filled := width * done / p.total
	elapsed := now.Sub(p.start).Seconds()
	rate := float64(done) / math.Max(elapsed, 1e-9)
	eta := ""
	if rate > 0 && done < p.total {
		eta = fmt.Sprintf("  ETA %s", (time.Duration(float64(p.total-done)/rate) * time.Second).Round(time.Second))
	}
	fmt.Fprintf(p.w, "\r\x1b[Keval [%s%s] %d/%d  %.1f img/s%s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, p.total, rate, eta)
}

// finish erases the bar.
func (p *progressBar) finish() {
	if p == nil {
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K")
}
