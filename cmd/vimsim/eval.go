package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/sim"
)

// evalOptions are the flags of vimsim eval other than the model's.
type evalOptions struct {
	data, split       string
	limit, batch      int
	precision, format string
	out, predictions  string
	force             bool
	timing, reference bool
	quant             quantEvalFlags
	shard             string
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
the logits); --reference=false drops the float row, to measure quantized
rows alone (they are then compared with the first of them). The dataset is
streamed in batches; images are preprocessed and inferred on all cores, and
the results do not depend on the number of cores: the output is
byte-identical from run to run. --timing adds each method's images/s
(inference only), which varies from run to run.

--shard i/n evaluates only the i-th of n contiguous ranges of the images and
writes a partial result to --out; vimsim merge combines the partials into
exactly the output of the whole run (see vimsim slurm).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEval(cmd, &mf, opt)
		},
	}
	mf.register(cmd)
	mf.registerNorm(cmd)
	registerForce(cmd, &opt.force)
	fl := cmd.Flags()
	fl.StringVar(&opt.data, "data", "sample", "dataset: "+strings.Join(data.KnownSpecs(), ", "))
	fl.StringVar(&opt.split, "split", "test", "dataset split: train or test")
	fl.IntVar(&opt.limit, "limit", 0, "evaluate only the first N images (0: all)")
	fl.IntVar(&opt.batch, "batch", 32, "images per batch")
	fl.StringVar(&opt.precision, "precision", "f32", "float reference arithmetic: f32 or f64")
	fl.StringVar(&opt.format, "format", "table", "output format: table or json")
	fl.StringVar(&opt.out, "out", "", "write the report to this file instead of stdout")
	fl.StringVar(&opt.predictions, "predictions", "", "write the first row's (the float reference's unless --reference=false) predicted class of each image, one per line, to this file")
	fl.BoolVar(&opt.timing, "timing", false, "report images per second (the only run-dependent number)")
	fl.BoolVar(&opt.reference, "reference", true, "run the float reference row (false: only the rows of --methods, compared with the first of them)")
	fl.StringVar(&opt.shard, "shard", "", shardUsage)
	opt.quant.register(fl)
	return cmd
}

// runEval checks the flags, loads the model and the dataset, evaluates and
// writes the report.
func runEval(cmd *cobra.Command, mf *modelFlags, opt evalOptions) error {
	ctx := commandContext(cmd)
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
	sr, err := newEvalShard(cmd, opt)
	if err != nil {
		return err
	}
	if err := checkOutputFile("out", opt.out, opt.force); err != nil {
		return err
	}
	if err := checkOutputFile("predictions", opt.predictions, opt.force); err != nil {
		return err
	}
	if opt.out != "" && opt.out == opt.predictions {
		return fmt.Errorf("--out and --predictions name the same file %s", opt.out)
	}
	split, err := data.ParseSplit(opt.split)
	if err != nil {
		return fmt.Errorf("--split: %w", err)
	}
	m, err := mf.load()
	if err != nil {
		return err
	}
	cfg := m.Config
	pre, err := data.NewPreprocessor(cfg)
	if err != nil {
		return fmt.Errorf("model %s: %w", mf.model, err)
	}
	ds, err := data.Open(opt.data, opt.split) // the flag's own text: "val" is refused where there is none
	if err != nil {
		return fmt.Errorf("--split %s: %w", opt.split, err)
	}
	defer ds.Close()
	if n := len(ds.Classes()); n > cfg.Classes {
		return fmt.Errorf("dataset %s has %d classes but model %s has %d outputs", opt.data, n, mf.model, cfg.Classes)
	}
	loader := data.NewLoader(ds, pre, data.LoaderOptions{Batch: opt.batch, Limit: opt.limit})
	images := loader.Len()
	if err := sr.restrict(loader); err != nil {
		return err
	}

	var predictions bytes.Buffer
	var predW io.Writer
	if opt.predictions != "" {
		predW = &predictions
	}
	methods := []sim.Method{sim.FloatMethod(m, prec)}
	names, err := opt.quant.rowNames(methods[0].Name)
	if err != nil {
		return err
	}
	rows, err := opt.quant.quantRows(cmd, names[1:], m, cfg, opt.data)
	if err != nil {
		return err
	}
	if !opt.reference {
		if len(rows) == 0 {
			return fmt.Errorf("--reference=false: give the rows to run with --methods")
		}
		methods = methods[:0]
	}
	methods = append(methods, rows...)
	bar := newRunProgress(cmd, sr.spec, "eval", "images", loader.Len())
	var part *sim.EvalPart
	if sr.sharded() {
		part = &sim.EvalPart{}
	}
	ev, err := sim.Evaluate(loader, cfg.Classes, methods, sim.EvalOptions{Predictions: predW, OnBatch: bar.update, Part: part, Context: ctx})
	bar.finish()
	if err != nil {
		return err
	}
	dataName := opt.data
	if split != data.Test {
		dataName += " (" + string(split) + ")"
	}
	if sr.sharded() {
		return sr.write(images, nil, evalPartial{Model: mf.model, Data: dataName, Format: opt.format, Part: part})
	}
	rep := ev.Report(mf.model, dataName, opt.timing)
	var report bytes.Buffer
	if err := writeEvalReport(&report, rep, opt.format); err != nil {
		return err
	}
	files := []outputFile{{"out", opt.out, report.Bytes()}}
	if opt.predictions != "" {
		files = append(files, outputFile{"predictions", opt.predictions, predictions.Bytes()})
	}
	return writeOutputs(ctx, cmd.OutOrStdout(), opt.force, files...)
}

// writeEvalReport renders r as a table or as indented JSON.
func writeEvalReport(w io.Writer, r sim.EvalReport, format string) error {
	if format == "json" {
		return writeJSON(w, r)
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
	t := newSimTable(w, header...)
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

// writeJSON writes v as indented JSON and a newline.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
