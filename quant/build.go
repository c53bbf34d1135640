package quant

import (
	"context"
	"fmt"

	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
)

// BuildOptions configure Build.
type BuildOptions struct {
	// QModel is the quantized model to compile (read from a file, or
	// shared with fake-quant runs); nil calibrates one with Quant.
	QModel *QModel
	// Quant configures the calibration of the quantized model when QModel
	// is nil; its Data is replaced by Data.
	Quant Options
	// Data describes the calibration images, for the quantized model's
	// record and the program's Source ("" says only their number).
	Data string
	// MergeGroups is the number of channel groups of the merge scales,
	// 1-16 (0: the method's, MergeOptionsFor).
	MergeGroups int
	// Context, when set, stops both calibrations with its error once it
	// is done.
	Context context.Context
}

// Built is an integer program with what it was compiled from.
type Built struct {
	Program *intprog.Program
	// QModel is the quantized model compiled: BuildOptions.QModel or the
	// one calibrated.
	QModel *QModel
	// Merge are the merge scales calibrated for the program and
	// MergeOptions how.
	Merge        []MergeScale
	MergeOptions MergeOptions
}

// Build runs the whole chain from a float model to its integer program:
// it calibrates the quantized model on calib (unless opt.QModel gives it),
// calibrates the merge scales of its method on the same images
// (CalibrateMerge) and compiles the program (CompileWith), whose Source
// then says how the merge scales were found and on what. The result does
// not depend on the number of goroutines.
func Build(m *vim.Model, calib Images, opt BuildOptions) (*Built, error) {
	qm := opt.QModel
	if qm == nil {
		qo := opt.Quant
		qo.Data = opt.Data
		if opt.Context != nil {
			qo.Context = opt.Context
		}
		if err := checkRecipe(m.Config, qo); err != nil {
			return nil, err
		}
		var err error
		if qm, err = Calibrate(m, calib, qo); err != nil {
			return nil, err
		}
	}
	mo := MergeOptionsFor(qm)
	if opt.MergeGroups > 0 {
		mo.K = opt.MergeGroups
	}
	mo.Context = opt.Context
	ms, err := CalibrateMerge(m, calib, mo)
	if err != nil {
		return nil, err
	}
	p, err := CompileWith(qm, CompileOptions{Merge: ms, Source: mergeSource(mo, opt.Data, calib)})
	if err != nil {
		return nil, err
	}
	return &Built{Program: p, QModel: qm, Merge: ms, MergeOptions: mo}, nil
}

// mergeSource describes merge scales calibrated with mo on calib, described
// by data.
func mergeSource(mo MergeOptions, data string, calib Images) string {
	by := "max"
	if mo.ByMean {
		by = "mean"
	}
	how := "min-max"
	if mo.Search {
		how = "searched"
	}
	if mo.Headroom {
		how += ", headroom for the gated outputs"
	}
	if data == "" {
		data = fmt.Sprintf("%d calibration images", calib.Len())
	}
	return fmt.Sprintf("merge scales: %d channel groups by %s |m|, %s, on %s", max(mo.K, 1), by, how, data)
}

// checkRecipe refuses, before calibrating, a recipe of opt the integer
// datapath cannot run (Plan.CheckDatapath), with CompileWith's message;
// options Calibrate refuses are left to it.
func checkRecipe(c vim.Config, opt Options) error {
	vo, _, err := opt.validate()
	if err != nil {
		return nil
	}
	pl, err := vo.Precision.Resolve(c.Depth)
	if err != nil {
		return nil
	}
	if err := pl.CheckDatapath(); err != nil {
		return fmt.Errorf("compile %s (%s): recipe %s: %w", c.Name, vo.Method, vo.Precision, err)
	}
	return nil
}
