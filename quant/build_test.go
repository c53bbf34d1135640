package quant_test

import (
	"reflect"
	"testing"

	"github.com/vimsim/vimsim/internal/fixture"
	"github.com/vimsim/vimsim/quant"
)

// TestBuild checks Build against its steps run by hand: the same quantized
// model, merge scales and program, with the Source describing them.
func TestBuild(t *testing.T) {
	tv := fixture.Toy(t)
	opt := quant.DefaultOptions()
	opt.Method, opt.Rounds, opt.SearchRows, opt.SSMImages = quant.MethodNaive, 1, 128, 2
	b, err := quant.Build(tv.Model, tv.Calib, quant.BuildOptions{Quant: opt, Data: "six pixel images"})
	if err != nil {
		t.Fatal(err)
	}
	opt.Data = "six pixel images"
	qm, err := quant.Calibrate(tv.Model, tv.Calib, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b.QModel.Layers, qm.Layers) || b.QModel.Calib != qm.Calib {
		t.Error("Build calibrated a different quantized model")
	}
	ms, err := quant.CalibrateMerge(tv.Model, tv.Calib, quant.MergeOptionsFor(qm))
	if err != nil {
		t.Fatal(err)
	}
	want, err := quant.CompileWith(qm, quant.CompileOptions{Merge: ms, Source: b.Program.Source})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b.Program, want) || !reflect.DeepEqual(b.Merge, ms) {
		t.Error("Build compiled a different program")
	}
	if s := "merge scales: 1 channel groups by max |m|, min-max, headroom for the gated outputs, on six pixel images"; b.Program.Source != s {
		t.Errorf("source %q, want %q", b.Program.Source, s)
	}

	// A given quantized model is compiled as it is; MergeGroups overrides
	// the method's groups.
	paper := tv.QModel[quant.MethodPaper]
	b, err = quant.Build(tv.Model, tv.Calib, quant.BuildOptions{QModel: paper, MergeGroups: 4})
	if err != nil {
		t.Fatal(err)
	}
	if b.QModel != paper || b.MergeOptions.K != 4 || len(b.Merge[0].Scales) != 4 {
		t.Errorf("given model: %p vs %p, merge options %+v, %d scales", b.QModel, paper, b.MergeOptions, len(b.Merge[0].Scales))
	}
	if s := "merge scales: 4 channel groups by max |m|, searched, headroom for the gated outputs, on 6 calibration images"; b.Program.Source != s {
		t.Errorf("source %q, want %q", b.Program.Source, s)
	}
	if _, err := quant.Build(tv.Model, quant.SliceImages{}, quant.BuildOptions{QModel: paper}); err == nil {
		t.Error("no calibration images: no error")
	}
}
