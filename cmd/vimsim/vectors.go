package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/sim"
	"github.com/vimsim/vimsim/traces"
	"github.com/vimsim/vimsim/vim"
)

// vectorsOptions are the flags of vimsim vectors other than the model's.
type vectorsOptions struct {
	arch, dataflow, out, units string
	layers                     string
	image, data, calibData     string
	qmodel                     string
	index, mergeK              int
	synthetic, corners         bool
	seed                       uint64
	rtlDir                     string
	force                      bool
}

// vectorsCalib is the default --calib of vimsim vectors: the vectors are
// bit-exact for any calibration, and a preset such as Vim-Ti calibrates
// 256 images slowly; a deployment's vectors come from its --qmodel.
const vectorsCalib = 32

// newVectorsCmd is `vimsim vectors`: golden vectors, testbench parameters,
// a Makefile and a manifest for RTL verification of the datapath units.
func newVectorsCmd() *cobra.Command {
	var (
		mf  modelFlags
		cf  calibFlags
		opt vectorsOptions
	)
	cmd := &cobra.Command{
		Use:   "vectors --out DIR",
		Short: "Write golden vectors and self-checking testbenches for RTL verification",
		Long: `Write golden vectors for RTL verification of the integer datapath units
(docs/RTL.md): for each selected layer and unit, $readmemh stimulus
(*.in.hex) and expected outputs (*.exp.hex) of every invocation, a params.vh
per testbench, the self-checking testbenches, a Makefile and manifest.json.
'make -C DIR' then runs every testbench against the RTL in RTL_DIR (default:
this project's hw/rtl when vimsim runs inside its source tree, else a copy
of the reference RTL written to DIR/rtl) and exits non-zero on any mismatch.

Units (--units): gemm (systolic array: layer-level GEMMs and tile-level
skewed streams of the first and last folds, for the output-stationary
gemm_os or, with --dataflow ws/is or such an --arch, the weight-stationary
gemm_ws, which also runs the input-stationary dataflow), requant, scan (scan lane and
exponent unit), nonlin (SiLU/softplus tables), norm (RMSNorm), dwconv
(depthwise causal conv1d), vector (direction merge, residual add), or all.
Layers (--layers): block indices, ranges a-b, embed, head, or all.

The vectors are recorded from the integer simulator's run of one image
(vimsim sim): --image FILE, or image --index of --data (default: the
embedded sample's first image). Every unit invocation of the selected
layers becomes a vector set with the operands and constants of that run.
The quantized model is read from --qmodel (vimsim calibrate) or calibrated
with --method on --calib images of --calib-data (default: --data's train
split, the sample for --image). With --corners (default on), small sets
that reach what one image rarely does (rounding ties, saturation, shift
caps, the exponent unit's whole range, the int16 softplus table) are added
with pseudo-random operands (--vector-seed). --synthetic skips the
simulator: every set then has pseudo-random operands at the model's shapes.

DIR is written to a temporary directory next to it and renamed into place,
so an interrupted run leaves no partial DIR; an existing non-empty DIR is
refused without --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVectors(commandContext(cmd), cmd, mf, cf, opt)
		},
	}
	mf.registerSeedDraws(cmd)
	cf.register(cmd)
	cf.calib = vectorsCalib
	cmd.Flags().Lookup("calib").DefValue = fmt.Sprint(vectorsCalib)
	f := cmd.Flags()
	f.StringVar(&opt.arch, "arch", "systolic16", "architecture preset ("+strings.Join(arch.PresetNames(), ", ")+") or spec file; sets the array size and dataflow")
	f.StringVar(&opt.dataflow, "dataflow", "", "array dataflow of the GEMM vectors: os (gemm_os), ws or is (gemm_ws) (default: the architecture's)")
	f.StringVar(&opt.out, "out", "", "output directory (required)")
	f.BoolVar(&opt.force, "force", false, "replace an existing non-empty output directory")
	f.StringVar(&opt.units, "units", "all", "units: gemm, requant, scan, nonlin, norm, dwconv, vector or all (comma-separated)")
	f.StringVar(&opt.layers, "layers", "0", "layers: block indices, ranges a-b, embed, head or all (comma-separated)")
	f.StringVar(&opt.image, "image", "", "record the integer simulator's run of this image file (PNG, JPEG)")
	f.StringVar(&opt.data, "data", "sample", "record the run of image --index of this dataset's test split: "+strings.Join(data.KnownSpecs(), ", "))
	f.IntVar(&opt.index, "index", 0, "image index in --data")
	f.StringVar(&opt.qmodel, "qmodel", "", "quantized model file (vimsim calibrate); default: calibrate with --method")
	f.StringVar(&opt.calibData, "calib-data", "", "calibration dataset (train split; default: --data, or sample with --image)")
	f.IntVar(&opt.mergeK, "merge-k", 0, "channel groups of the merged out_proj input, 1-16 (0: the method's default)")
	f.BoolVar(&opt.corners, "corners", true, "also record the corner-case sets (pseudo-random operands, --vector-seed)")
	f.BoolVar(&opt.synthetic, "synthetic", false, "pseudo-random operands at the model's shapes instead of a simulator run")
	f.Uint64Var(&opt.seed, "vector-seed", 1, "seed of the pseudo-random operands")
	f.StringVar(&opt.rtlDir, "rtl-dir", "", "default RTL_DIR of the Makefile (default: this project's hw/rtl if found, else a copy in DIR/rtl; \"copy\" forces the copy)")
	return cmd
}

func runVectors(ctx context.Context, cmd *cobra.Command, mf modelFlags, cf calibFlags, opt vectorsOptions) error {
	if opt.out == "" {
		return fmt.Errorf("--out: an output directory is required")
	}
	units, err := traces.ParseUnits(opt.units)
	if err != nil {
		return fmt.Errorf("--units: %w", err)
	}
	cfg, err := mf.config()
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	layers, err := traces.ParseLayers(opt.layers, cfg.Depth)
	if err != nil {
		return fmt.Errorf("--layers: %w", err)
	}
	spec, err := arch.ResolveSpec(opt.arch)
	if err != nil {
		return fmt.Errorf("--arch: %w", err)
	}
	if opt.dataflow != "" {
		if spec.Array.Dataflow, err = arch.ParseDataflow(opt.dataflow); err != nil {
			return fmt.Errorf("--dataflow: %w", err)
		}
	}
	if opt.index < 0 {
		return fmt.Errorf("--index %d: must be non-negative", opt.index)
	}
	if opt.image != "" && cmd.Flags().Changed("data") {
		return fmt.Errorf("--image and --data are exclusive")
	}
	if opt.image != "" && cmd.Flags().Changed("index") {
		return fmt.Errorf("--image and --index are exclusive (--index picks an image of --data)")
	}
	if opt.synthetic && (opt.image != "" || cmd.Flags().Changed("data") || cmd.Flags().Changed("index") || opt.qmodel != "") {
		return fmt.Errorf("--synthetic: no simulator run, so no --image, --data, --index or --qmodel")
	}
	if opt.synthetic && (cf.prec.recipe != "" || cmd.Flags().Changed("wbits") || cmd.Flags().Changed("abits") || cmd.Flags().Changed("hbits")) {
		return fmt.Errorf("--synthetic: pseudo-random int8 operands, so no --recipe, --wbits, --abits or --hbits (record a run of the recipe instead)")
	}
	if opt.mergeK < 0 || opt.mergeK > 16 {
		return fmt.Errorf("--merge-k %d: want 0 to 16", opt.mergeK)
	}
	// Refuse early; WriteDir checks again before renaming.
	if err := checkOutputDir("out", opt.out, opt.force); err != nil {
		return err
	}
	rtlDir, err := vectorsRTLDir(opt.rtlDir)
	if err != nil {
		return fmt.Errorf("--rtl-dir: %w", err)
	}
	ropt := traces.Options{
		Generator: "vimsim " + version, Model: cfg.Name, Arch: spec, Units: units, Layers: layers,
		Source: traces.SyntheticSource(opt.seed),
	}
	var run *vectorsRun
	if !opt.synthetic {
		if run, err = prepareVectorsRun(ctx, cmd, mf, cf, opt); err != nil {
			return err
		}
		ropt.Source, ropt.Recipe = run.source, run.recipe
	}
	bar := newBar(cmd, 3, "vectors", "")
	defer bar.Abort()
	bar.Stage("record")
	rec, err := traces.NewRecorder(ropt)
	if err != nil {
		return err
	}
	if run == nil {
		err = traces.Synthetic(ctx, rec, cfg, opt.seed)
	} else if err = run.record(ctx, rec); err == nil && opt.corners {
		bar.Stage("corners")
		err = traces.Corners(ctx, rec, run.p.Config, opt.seed)
	}
	if err != nil {
		return fmt.Errorf("vectors: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	bar.Set(1)
	bar.Stage("bundle")
	b, err := rec.Bundle(traces.BundleOptions{RTLDir: rtlDir})
	if err != nil {
		return err
	}
	bar.Set(2)
	bar.Stage("write")
	l, unlock := lockOutputs(ctx)
	err = b.WriteDir(ctx, opt.out, opt.force)
	if err == nil {
		l.wrote = true
	}
	unlock()
	bar.Finish()
	if err != nil {
		return err
	}
	var bytesTotal int
	for _, f := range b.Files {
		bytesTotal += len(f.Data)
	}
	rtlNote := rtlDir
	if rtlNote == "" {
		rtlNote = filepath.Join(opt.out, "rtl") + " (copy of the reference RTL)"
	}
	if run != nil {
		fmt.Fprintf(cmd.OutOrStdout(), "recorded %s: class %d\n", run.source, run.class)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %d vector sets (%d files, %s bytes) for %s on %s to %s\nrun: make -C %s   (RTL_DIR=%s)\n",
		len(b.Manifest.Sets), len(b.Files), commas(int64(bytesTotal)), cfg.Name, spec.Name, opt.out, opt.out, rtlNote)
	return nil
}

// vectorsRTLDir returns the Makefile's default RTL_DIR: the flag's value
// (absolute), "" for a copy in the output ("copy"), or, by default, this
// project's hw/rtl found by walking up from the working directory.
func vectorsRTLDir(flag string) (string, error) {
	switch flag {
	case "copy":
		return "", nil
	case "":
		return findProjectRTL(), nil
	}
	abs, err := filepath.Abs(flag)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return "", fmt.Errorf("%s is not a directory", flag)
	}
	return abs, nil
}

// findProjectRTL returns the absolute path of hw/rtl of the vimsim source
// tree containing the working directory, or "" outside it.
func findProjectRTL() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(mod), []byte("module github.com/vimsim/vimsim")) {
			rtl := filepath.Join(dir, "hw", "rtl")
			if _, err := os.Stat(filepath.Join(rtl, "gemm_os.v")); err == nil {
				return rtl
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// vectorsRun is a prepared simulator run of one image.
type vectorsRun struct {
	p      *intprog.Program
	img    []float64
	source string
	recipe string // modelRecipeName of the quantized model
	class  int    // top-1 class of the recorded run
}

// prepareVectorsRun loads the model, reads or calibrates the quantized
// model, compiles the program and preprocesses the image the flags name.
func prepareVectorsRun(ctx context.Context, cmd *cobra.Command, mf modelFlags, cf calibFlags, opt vectorsOptions) (*vectorsRun, error) {
	qopt, err := cf.options(mf.seed)
	if err != nil {
		return nil, err
	}
	if err := cf.prec.checkQModel(opt.qmodel); err != nil {
		return nil, err
	}
	m, err := mf.load()
	if err != nil {
		return nil, fmt.Errorf("--model: %w", err)
	}
	var qm *quant.QModel
	if opt.qmodel != "" {
		if qm, err = readQModel(opt.qmodel, m); err != nil {
			return nil, err
		}
		m.Config.Mean, m.Config.Std = qm.Config.Mean, qm.Config.Std
	}
	var img []float64
	var name string
	if opt.image != "" {
		if img, err = data.LoadImage(opt.image, m.Config); err != nil {
			return nil, fmt.Errorf("--image: %w", err)
		}
		name = filepath.Base(opt.image)
	} else {
		if img, err = datasetImage(opt.data, opt.index, m.Config); err != nil {
			return nil, err
		}
		name = fmt.Sprintf("%s test image %d", opt.data, opt.index)
	}
	calibData := opt.calibData
	if calibData == "" {
		calibData = opt.data
		if opt.image != "" {
			calibData = "sample"
		}
	}
	calib, desc, err := calibrationImages(calibData, "", cf.calib, m.Config, mf.seed, "--calib")
	if err != nil {
		return nil, fmt.Errorf("--calib-data: %w", err)
	}
	qopt.Context = ctx
	bar, prog := calibrationBar(cmd, m.Config.Depth, true)
	qopt.Progress = prog
	b, err := quant.Build(m, calib, quant.BuildOptions{QModel: qm, Quant: qopt, Data: desc, MergeGroups: opt.mergeK, Context: ctx})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	p, q := b.Program, b.QModel.Method
	if opt.qmodel != "" {
		q += " from " + filepath.Base(opt.qmodel)
	} else {
		q += " calibrated on " + desc
	}
	return &vectorsRun{p: p, img: img, source: fmt.Sprintf("integer simulator run of %s (%s)", name, q), recipe: modelRecipeName(b.QModel)}, nil
}

// record runs the program on the image with rec attached.
func (r *vectorsRun) record(ctx context.Context, rec sim.Recorder) error {
	res, err := sim.Run(r.p, r.img, 1, sim.Options{Recorder: rec, Context: ctx})
	if err != nil {
		return err
	}
	r.class = res.Predictions()[0]
	return nil
}

// datasetImage returns test image index of the dataset spec, preprocessed
// for cfg.
func datasetImage(spec string, index int, cfg vim.Config) ([]float64, error) {
	ds, err := data.Open(spec, "test")
	if err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	defer ds.Close()
	if index >= ds.Len() {
		return nil, fmt.Errorf("--index %d: %s has %d test images", index, spec, ds.Len())
	}
	pre, err := data.NewPreprocessor(cfg)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", cfg.Name, err)
	}
	smp, err := ds.Sample(index)
	if err != nil {
		return nil, fmt.Errorf("--data %s: %w", spec, err)
	}
	im, err := smp.Decode()
	if err != nil {
		return nil, fmt.Errorf("--data %s: %w", smp.Name, err)
	}
	img := make([]float64, pre.Len())
	if err := pre.Apply(im, img); err != nil {
		return nil, fmt.Errorf("--data %s: %w", smp.Name, err)
	}
	return img, nil
}
