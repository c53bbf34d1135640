package main

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/sim"
	"github.com/vimsim/vimsim/vim"
	"github.com/vimsim/vimsim/vim/ckpt"
)

// simOptions are the flags of vimsim sim other than the model's and the
// quantization's.
type simOptions struct {
	qmodel, data, split string
	limit, batch        int
	format, out         string
	program             string
	force               bool
	ops                 bool
	mergeK              int
	shard               string
}

func newSimCmd() *cobra.Command {
	var (
		mf  modelFlags
		cf  calibFlags
		opt simOptions
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run a quantized model on the bit-accurate integer datapath and report its fidelity",
		Long: `Run a quantized Vim on the bit-accurate integer units (docs/DATAPATH.md) and
compare it, tensor by tensor, with the float64 reference and with the
fake-quant execution of the same quantized model: SQNR and cosine similarity
of every tensor, equal codes and the largest difference in LSB, logits SQNR,
top-1 accuracy and agreement. Also prints the datapath counters per layer
(MACs, requantizations, table look-ups, exponentials, rsqrts, saturations,
accumulator overflows); --ops prints them per operation.

The quantized model is read from --qmodel (written by vimsim calibrate) or
calibrated on the fly (--method, --calib and the other quantization flags)
on --calib images of the train split of --data. The scales of the
quantization points the integer datapath adds (the merged scan output) are
calibrated on the same images. The program can be written with --program.
The images of --split (default test) of --data are then evaluated (--limit
N: the first N). The report is deterministic (whatever the number of cores).

--shard i/n runs only the i-th of n contiguous ranges of the images and
writes a partial result to --out; vimsim merge combines the partials into
exactly the report of the whole run (see vimsim slurm).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSim(cmd, &mf, &cf, opt)
		},
	}
	mf.registerSeedDraws(cmd)
	cf.register(cmd)
	registerForce(cmd, &opt.force)
	fl := cmd.Flags()
	fl.StringVar(&opt.qmodel, "qmodel", "", "quantized model file (vimsim calibrate); default: calibrate with --method")
	fl.StringVar(&opt.data, "data", "sample", "dataset (calibration from its train split, evaluation from --split): "+strings.Join(data.KnownSpecs(), ", "))
	fl.StringVar(&opt.split, "split", "test", "dataset split to evaluate: train or test")
	fl.IntVar(&opt.limit, "limit", 0, "evaluate only the first N images (0: all)")
	fl.IntVar(&opt.batch, "batch", 64, "images per batch")
	fl.StringVar(&opt.format, "format", "table", "output format: table or json")
	fl.StringVar(&opt.out, "out", "", "write the report to this file instead of stdout")
	fl.StringVar(&opt.program, "program", "", "also write the compiled integer program to this file (safetensors)")
	fl.BoolVar(&opt.ops, "ops", false, "print the counters of every operation, not only per layer")
	fl.StringVar(&opt.shard, "shard", "", shardUsage)
	fl.IntVar(&opt.mergeK, "merge-k", 0, fmt.Sprintf("channel groups of the merged out_proj input, 1-16 (0: %d, 1 for the naive method)", quant.DefaultMergeGroups))
	return cmd
}

// runSim checks the flags, prepares the quantized model and the program,
// runs the fidelity comparison and writes the report.
func runSim(cmd *cobra.Command, mf *modelFlags, cf *calibFlags, opt simOptions) error {
	ctx := commandContext(cmd)
	if opt.format != "table" && opt.format != "json" {
		return fmt.Errorf("--format %q: want table or json", opt.format)
	}
	if opt.batch < 1 {
		return fmt.Errorf("--batch %d: must be at least 1", opt.batch)
	}
	if opt.limit < 0 {
		return fmt.Errorf("--limit %d: must not be negative", opt.limit)
	}
	if opt.mergeK < 0 || opt.mergeK > 16 {
		return fmt.Errorf("--merge-k %d: want 0 to 16", opt.mergeK)
	}
	if err := checkOutputFile("out", opt.out, opt.force); err != nil {
		return err
	}
	if err := checkOutputFile("program", opt.program, opt.force); err != nil {
		return err
	}
	if opt.out != "" && opt.out == opt.program {
		return fmt.Errorf("--out and --program name the same file %s", opt.out)
	}
	split, err := data.ParseSplit(opt.split)
	if err != nil {
		return fmt.Errorf("--split: %w", err)
	}
	qopt, err := cf.options(mf.seed)
	if err != nil {
		return err
	}
	if err := cf.prec.checkQModel(opt.qmodel); err != nil {
		return err
	}
	sr, err := newShardRun(cmd, "sim", opt.shard, opt.out, "program")
	if err != nil {
		return err
	}
	m, err := mf.load()
	if err != nil {
		return err
	}
	var qm *quant.QModel
	if opt.qmodel != "" {
		if qm, err = readQModel(opt.qmodel, m); err != nil {
			return err
		}
	}
	cfg := m.Config
	if qm != nil {
		cfg = qm.Config
		m.Config.Mean, m.Config.Std = cfg.Mean, cfg.Std
	}
	// Open the evaluation split first: a bad --split is refused before the
	// calibration.
	ds, err := data.Open(opt.data, opt.split) // the flag's own text: "val" is refused where there is none
	if err != nil {
		return fmt.Errorf("--split %s: %w", opt.split, err)
	}
	defer ds.Close()
	calib, desc, err := calibrationImages(opt.data, "", cf.calib, cfg, mf.seed, "--calib")
	if err != nil {
		return err
	}
	qopt.Context = ctx
	bar, prog := calibrationBar(cmd, cfg.Depth, true)
	qopt.Progress = prog
	b, err := quant.Build(m, calib, quant.BuildOptions{QModel: qm, Quant: qopt, Data: desc, MergeGroups: opt.mergeK, Context: ctx})
	bar.Finish()
	if err != nil {
		return err
	}
	p, qm := b.Program, b.QModel
	var program []byte
	if opt.program != "" {
		f, err := p.File()
		if err != nil {
			return err
		}
		if program, err = ckpt.EncodeSafetensors(f); err != nil {
			return fmt.Errorf("--program: %w", err)
		}
	}
	pre, err := data.NewPreprocessor(p.Config)
	if err != nil {
		return fmt.Errorf("model %s: %w", mf.model, err)
	}
	loader := data.NewLoader(ds, pre, data.LoaderOptions{Batch: opt.batch, Limit: opt.limit})
	images := loader.Len()
	if err := sr.restrict(loader); err != nil {
		return err
	}
	fid, err := sim.NewFidelity(p, m, qm, sim.FidelityOptions{Context: ctx, Part: sr.sharded()})
	if err != nil {
		return err
	}
	ibar := newRunProgress(cmd, sr.spec, "sim", "images", loader.Len())
	err = fid.AddAll(loader, ibar.update)
	ibar.finish()
	if err != nil {
		return err
	}
	dataName := opt.data
	if split != data.Test {
		dataName += " (" + string(split) + ")"
	}
	if sr.sharded() {
		return writeSimPartial(sr, fid, p, images, simPartial{Model: mf.model, Data: dataName, Program: p.Source, Recipe: modelRecipeName(qm), Format: opt.format, Ops: opt.ops})
	}
	rep, err := fid.Report()
	if err != nil {
		return err
	}
	out := sim.DatasetReport{Model: mf.model, Data: dataName, Program: p.Source, Recipe: modelRecipeName(qm), Report: rep}
	var report bytes.Buffer
	if err := writeSimReport(&report, out, opt.format, opt.ops); err != nil {
		return err
	}
	files := []outputFile{{"out", opt.out, report.Bytes()}}
	if opt.program != "" {
		files = append(files, outputFile{"program", opt.program, program})
	}
	return writeOutputs(ctx, cmd.OutOrStdout(), opt.force, files...)
}

func newSimTable(w io.Writer, header ...string) *tablewriter.Table {
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{Global: tw.AlignRight, PerColumn: []tw.Align{tw.AlignLeft}}),
	)
	t.Header(header)
	return t
}

func counterRow(label string, c datapath.Counters) []string {
	return []string{label, commas(c.MACs), commas(c.Requants), commas(c.LUTLookups), commas(c.Exps),
		commas(c.Rsqrts), commas(c.Saturations), commas(c.Overflows)}
}

// writeSimReport renders r as tables or as indented JSON.
func writeSimReport(w io.Writer, r sim.DatasetReport, format string, ops bool) error {
	if format == "json" {
		return writeJSON(w, r)
	}
	recipe := ""
	if r.Recipe != "" {
		recipe = ", recipe " + r.Recipe
	}
	fmt.Fprintf(w, "model %s (%s%s), data %s, %d images\nprogram: %s\n\n", r.Model, r.Method, recipe, r.Data, r.Images, r.Program)
	t := newSimTable(w, "path", "top-1", "agree fp64", "agree fake-quant", "logits SQNR fp64 dB", "logits SQNR fake-quant dB")
	for _, p := range r.Paths {
		top := "-"
		if p.Top1 != nil {
			top = fmt.Sprintf("%.4f", *p.Top1)
		}
		if err := t.Append([]string{p.Name, top, fmt.Sprintf("%.4f", p.AgreeFloat), fmt.Sprintf("%.4f", p.AgreeFakeQuant),
			p.SQNRFloat.String(), p.SQNRFakeQuant.String()}); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	t = newSimTable(w, "tensor", "SQNR fp64 dB", "cos fp64", "SQNR fake-quant dB", "cos fake-quant", "equal", "max |Δ| LSB")
	for _, tf := range r.Tensors {
		row := []string{tf.Name, "-", "-", "-", "-", "-", "-"}
		if c := tf.Float; c != nil {
			row[1], row[2] = c.SQNR.String(), fmt.Sprintf("%.6f", c.Cosine)
		}
		if c := tf.FakeQuant; c != nil {
			row[3], row[4], row[5] = c.SQNR.String(), fmt.Sprintf("%.6f", c.Cosine), fmt.Sprintf("%.4f", c.Equal)
			row[6] = strconv.FormatFloat(c.MaxLSB, 'g', 4, 64)
		}
		if err := t.Append(row); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	header := []string{"layer", "datapath MACs", "requants", "LUT", "exps", "rsqrts", "saturations", "overflows"}
	if ops {
		t = newSimTable(w, append([]string{"layer", "op"}, header[1:]...)...)
		for _, o := range r.Ops {
			row := counterRow(vim.LayerName(o.Layer), o.Counters)
			if err := t.Append(append([]string{row[0], o.Name}, row[1:]...)); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	t = newSimTable(w, header...)
	for _, l := range r.Layers {
		if err := t.Append(counterRow(vim.LayerName(l.Layer), l.Counters)); err != nil {
			return err
		}
	}
	if err := t.Append(counterRow("total", r.Total)); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s per image: datapath MACs count every product the integer units form (docs/DATAPATH.md:\n"+
		"4N+3 per scan channel and step, 3 per RMSNorm element, the split-K groups of the program); vimsim run's\n"+
		"MACs are the model's (vim-forward.md §6: GEMMs, conv, 3 per scan state update), which are fewer.\n",
		commas(r.Total.MACs/int64(max(r.Images, 1))))
	return err
}
