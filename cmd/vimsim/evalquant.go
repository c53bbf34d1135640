package main

import (
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/vim"
)

// quantEvalFlags select the quantized rows of vimsim eval.
type quantEvalFlags struct {
	methods      string
	qmodel       string
	calib        int
	calibData    string
	calibSeed    uint64
	wbits, abits int
}

func (q *quantEvalFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&q.methods, "methods", "", "rows, comma-separated: fp32|fp64 (the reference, always first), "+
		strings.Join(quant.Methods(), ", ")+" (fake-quant), int8, int8-naive (integer datapath)")
	fl.StringVar(&q.qmodel, "qmodel", "", "quantized model file (vimsim calibrate): used for its method's rows instead of calibrating")
	fl.IntVar(&q.calib, "calib", 256, "calibration images for methods calibrated on the fly")
	fl.StringVar(&q.calibData, "calib-data", "", "calibration dataset (default: the train split of --data; 'sample' for the embedded one)")
	fl.Uint64Var(&q.calibSeed, "calib-seed", 1, "seed of the calibration image draw")
	fl.IntVar(&q.wbits, "wbits", 8, "weight bits of methods calibrated on the fly (4-8)")
	fl.IntVar(&q.abits, "abits", 8, "activation bits of methods calibrated on the fly (4-8)")
}

// rowNames parses --methods: the float reference first, no duplicates.
func (q *quantEvalFlags) rowNames(ref string) ([]string, error) {
	known := map[string]bool{"fp32": true, "fp64": true, "int8": true, "int8-naive": true}
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

// quantRows returns the eval rows after the float reference: fake-quant
// rows for the quantization methods, integer-datapath rows for int8 and
// int8-naive. A method is calibrated once, on first use, and shared by its
// fake-quant and integer rows.
func (q *quantEvalFlags) quantRows(names []string, m *vim.Model, cfg vim.Config, dataSpec string) ([]evalMethod, error) {
	if q.calib < 1 {
		return nil, fmt.Errorf("--calib %d: must be at least 1", q.calib)
	}
	var file *quant.QModel
	if q.qmodel != "" {
		var err error
		if file, err = readQModel(q.qmodel, m); err != nil {
			return nil, err
		}
	}
	var (
		calibOnce sync.Once
		calibSet  quant.SliceImages
		calibErr  error
		calibDesc string
	)
	calibration := func() (quant.SliceImages, error) {
		calibOnce.Do(func() {
			spec := q.calibData
			if spec == "" {
				spec = dataSpec
			}
			calibSet, calibDesc, calibErr = calibrationImages(spec, "train", q.calib, cfg, q.calibSeed)
			if calibErr != nil {
				calibErr = fmt.Errorf("calibration: %w", calibErr)
			}
		})
		return calibSet, calibErr
	}
	models := map[string]*quant.QModel{}
	qmodel := func(method string) (*quant.QModel, error) {
		if file != nil && file.Method == method {
			return file, nil
		}
		if qm, ok := models[method]; ok {
			return qm, nil
		}
		imgs, err := calibration()
		if err != nil {
			return nil, err
		}
		opt := quant.DefaultOptions()
		opt.Method, opt.WBits, opt.ABits, opt.Seed, opt.Data = method, q.wbits, q.abits, q.calibSeed, calibDesc
		qm, err := quant.Calibrate(m, imgs, opt)
		if err != nil {
			return nil, fmt.Errorf("calibrate %s: %w", method, err)
		}
		models[method] = qm
		return qm, nil
	}
	var rows []evalMethod
	for _, name := range names {
		if name == "int8" || name == "int8-naive" {
			imgs, err := calibration()
			if err != nil {
				return nil, err
			}
			r, err := simEvalMethods([]string{name}, m, imgs, calibDesc, qmodel)
			if err != nil {
				return nil, err
			}
			rows = append(rows, r...)
			continue
		}
		qm, err := qmodel(name)
		if err != nil {
			return nil, err
		}
		rows = append(rows, evalMethod{name: name, predict: qm.Infer})
	}
	return rows, nil
}
