package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/hw"
	"github.com/vimsim/vimsim/traces"
)

// vectorsOptions are the flags of vimsim vectors other than the model's.
type vectorsOptions struct {
	arch, out, units, layers string
	image, data              string
	index                    int
	seed                     uint64
	rtlDir                   string
	force                    bool
}

// newVectorsCmd is `vimsim vectors`: golden vectors, testbench parameters,
// a Makefile and a manifest for RTL verification of the datapath units.
func newVectorsCmd() *cobra.Command {
	var (
		mf  modelFlags
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
skewed streams of the first and last folds), requant, scan (scan lane and
exponent unit), nonlin (SiLU/softplus tables), norm (RMSNorm), or all.
Layers (--layers): block indices, ranges a-b, embed, head, or all.

The operands are, for now, deterministic pseudo-random values and edge
cases at the model's real shapes (--vector-seed); --image/--data will record
the integer simulator's run of one image once it exists.

DIR is written to a temporary directory next to it and renamed into place,
so an interrupted run leaves no partial DIR; an existing non-empty DIR is
refused without --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runVectors(ctx, cmd, mf, opt)
		},
	}
	mf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&opt.arch, "arch", "systolic16", "architecture preset ("+strings.Join(hw.PresetNames(), ", ")+") or spec file; sets the array size")
	f.StringVar(&opt.out, "out", "", "output directory (required)")
	f.BoolVar(&opt.force, "force", false, "replace an existing non-empty output directory")
	f.StringVar(&opt.units, "units", "all", "units: gemm, requant, scan, nonlin, norm or all (comma-separated)")
	f.StringVar(&opt.layers, "layers", "0", "layers: block indices, ranges a-b, embed, head or all (comma-separated)")
	f.StringVar(&opt.image, "image", "", "record the integer simulator's run of this image (needs the simulator)")
	f.StringVar(&opt.data, "data", "", "record the run of image --index of this dataset (needs the simulator)")
	f.IntVar(&opt.index, "index", 0, "image index in --data")
	f.Uint64Var(&opt.seed, "vector-seed", 1, "seed of the synthetic operands")
	f.StringVar(&opt.rtlDir, "rtl-dir", "", "default RTL_DIR of the Makefile (default: this project's hw/rtl if found, else a copy in DIR/rtl; \"copy\" forces the copy)")
	return cmd
}

func runVectors(ctx context.Context, cmd *cobra.Command, mf modelFlags, opt vectorsOptions) error {
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
	spec, err := hw.ResolveSpec(opt.arch)
	if err != nil {
		return fmt.Errorf("--arch: %w", err)
	}
	if opt.index < 0 {
		return fmt.Errorf("--index %d: must be non-negative", opt.index)
	}
	if opt.image != "" && opt.data != "" {
		return fmt.Errorf("--image and --data are exclusive")
	}
	if !opt.force {
		// Refuse early; WriteDir checks again before renaming.
		if entries, err := os.ReadDir(opt.out); err == nil && len(entries) > 0 {
			return fmt.Errorf("--out: output directory %s is not empty (use --force to replace it)", opt.out)
		}
	}
	rtlDir, err := vectorsRTLDir(opt.rtlDir)
	if err != nil {
		return fmt.Errorf("--rtl-dir: %w", err)
	}
	ropt := traces.Options{
		Generator: "vimsim " + version, Model: cfg.Name, Arch: spec, Units: units, Layers: layers,
		Source: traces.SyntheticSource(opt.seed),
	}
	if opt.image != "" || opt.data != "" {
		// LEAD: switch to the recorded run of one image here. Package sim
		// exists; what is missing is its recording hook:
		//
		//  1. sim.Options gains `Recorder traces.Sink` (nil: off). Each
		//     hw/datapath call in sim/sim.go gets a twin call on the
		//     recorder, with the workload op names (direction suffix "" or
		//     "_b", split-K groups "_g<g>"):
		//       layer:  rec.RMSNorm(i, "norm", e.residual, p.NormUnit(), &l.Norm)
		//               rec.GEMM / rec.Requantize(i, "in_proj", …) in linear()
		//               rec.ChannelTables(i, "silu_z", e.z, l.SiLUZ)
		//       dir:    rec.Requantize(i, "conv1d"+sfx, w.convAcc, &dr.Conv, 0)
		//               rec.ChannelTables(i, "silu"+sfx, w.conv, dr.SiLU)
		//               rec.GEMM(i, fmt.Sprintf("x_proj%s_g%d", sfx, g), a, wg) per group
		//               rec.RequantizeGroups(i, "x_proj"+sfx, accs, &xp.Req)
		//               rec.GEMM / rec.Requantize(i, "dt_proj"+sfx, …)
		//               rec.ChannelTables(i, "softplus"+sfx, w.dtq, dr.Softplus)
		//               rec.Scan(i, "scan"+sfx, in, &dr.Scan, p.ExpUnit())
		//       out:    rec.GEMM(i, "out_proj_g<g>", …), rec.RequantizeGroups(i,
		//               "out_proj", …), rec.Requantize(i, "out_proj", …),
		//               rec.Requantize(i, "residual", e.outWide, &l.ToResidual, 0)
		//       embed/head: the same with vim.LayerEmbed / vim.LayerHead.
		//     The recorder is goroutine-safe (the directions run in
		//     parallel) and returns at once for layers/units it does not want.
		//  2. Here: build the program as runSim does (mf.load, quant.Calibrate
		//     or quant.ReadModel, compileProgram), preprocess --image or image
		//     --index of --data (data.NewPreprocessor(p.Config), data.Open),
		//     then
		//       ropt.Source = fmt.Sprintf("simulator run of %s", name)
		//       rec, err := traces.NewRecorder(ropt)
		//       _, err = sim.Run(p, img, 1, sim.Options{Recorder: rec})
		//     and continue with rec.Bundle below instead of traces.Synthetic.
		return fmt.Errorf("--image/--data: recording a simulator run needs the integer simulator (package sim), " +
			"which is not available yet; omit them for synthetic vectors at the model's shapes")
	}
	rec, err := traces.NewRecorder(ropt)
	if err != nil {
		return err
	}
	if err := traces.Synthetic(ctx, rec, cfg, opt.seed); err != nil {
		return fmt.Errorf("vectors: %w", err)
	}
	b, err := rec.Bundle(traces.BundleOptions{RTLDir: rtlDir})
	if err != nil {
		return err
	}
	if err := b.WriteDir(ctx, opt.out, opt.force); err != nil {
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
