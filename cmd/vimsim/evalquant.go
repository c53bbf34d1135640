package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vimsim/vimsim/internal/progress"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/sim"
	"github.com/vimsim/vimsim/vim"
)

// quantEvalFlags select the quantized rows of vimsim eval.
type quantEvalFlags struct {
	methods   string
	qmodel    string
	calib     int
	calibData string
	calibSeed uint64
	prec      precisionFlags
}

func (q *quantEvalFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&q.methods, "methods", "", "rows, comma-separated: fp32|fp64 (the reference, always first), "+
		strings.Join(quant.Methods(), ", ")+" (fake-quant), int8, int8-naive (integer datapath)")
	fl.StringVar(&q.qmodel, "qmodel", "", "quantized model file (vimsim calibrate): used for its method's rows instead of calibrating")
	fl.IntVar(&q.calib, "calib", 256, "calibration images for methods calibrated on the fly")
	fl.StringVar(&q.calibData, "calib-data", "", "calibration dataset (default: the train split of --data; 'sample' for the embedded one)")
	fl.Uint64Var(&q.calibSeed, "calib-seed", 1, "seed of the calibration image draw")
	q.prec.register(fl, "of methods calibrated on the fly")
}

// rowNames parses --methods: the float reference first, no duplicates.
func (q *quantEvalFlags) rowNames(ref string) ([]string, error) {
	known := map[string]bool{"fp32": true, "fp64": true, sim.MethodInt8: true, sim.MethodInt8Naive: true}
	for _, m := range quant.Methods() {
		known[m] = true
	}
	names := []string{ref}
	seen := map[string]bool{ref: true}
	if q.methods == "" {
		return names, nil
	}
	for _, n := range strings.Split(q.methods, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n == "":
			continue
		case !known[n]:
			return nil, fmt.Errorf("--methods: unknown method %q", n)
		case n == "fp32" || n == "fp64":
			if n != ref {
				return nil, fmt.Errorf("--methods: %s given with --precision %s; the float reference row is %s", n, strings.TrimPrefix(ref, "fp"), ref)
			}
		case seen[n]:
			return nil, fmt.Errorf("--methods: %s given twice", n)
		default:
			seen[n] = true
			names = append(names, n)
		}
	}
	return names, nil
}

// quantRows returns the eval rows after the float reference (see
// sim.QuantMethods): the quantized model of --qmodel for its method's rows,
// the others calibrated on --calib images of --calib-data, drawn once when
// first needed.
func (q *quantEvalFlags) quantRows(cmd *cobra.Command, names []string, m *vim.Model, cfg vim.Config, dataSpec string) ([]sim.Method, error) {
	if q.calib < 1 {
		return nil, fmt.Errorf("--calib %d: must be at least 1", q.calib)
	}
	src := sim.QuantSource{Options: quant.DefaultOptions()}
	src.Options.Seed = q.calibSeed
	if err := q.prec.apply(&src.Options); err != nil {
		return nil, err
	}
	src.Options.Context = commandContext(cmd)
	var bar *progress.Bar
	var prog func(stage string, done, total int)
	src.Options.Progress = func(stage string, done, total int) {
		if bar == nil {
			bar, prog = calibrationBar(cmd, cfg.Depth, false)
		}
		prog(stage, done, total)
		if stage == "head" {
			bar.Finish()
			bar = nil
		}
	}
	if q.qmodel != "" {
		var err error
		if src.File, err = readQModel(q.qmodel, m); err != nil {
			return nil, err
		}
	}
	src.Calibration = func() (quant.Images, string, error) {
		spec := q.calibData
		if spec == "" {
			spec = dataSpec
		}
		imgs, desc, err := calibrationImages(spec, "", q.calib, cfg, q.calibSeed, "--calib")
		if err != nil {
			return nil, "", fmt.Errorf("calibration: %w", err)
		}
		return imgs, desc, nil
	}
	return sim.QuantMethods(m, names, src)
}
