package quant_test

import (
	"reflect"
	"strings"
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

// TestBuildRefusesRecipe checks that Build refuses a recipe the datapath
// cannot run before calibrating (no images needed), naming the op as the
// compiler does for the quantized model of that recipe.
func TestBuildRefusesRecipe(t *testing.T) {
	tv := fixture.Toy(t)
	for _, c := range []struct {
		name string
		rec  quant.Precision
		want string
	}{
		{"layer activations", quant.Precision{W: 8, A: 8, H: 8, Layers: []quant.LayerRule{{Layers: "1", A: 6}}},
			"layer 1 norm: 6-bit activations: the datapath's norm unit output is int8"},
		{"hidden bits", quant.Precision{W: 8, A: 8, H: 8, Layers: []quant.LayerRule{{Layers: "2-3", H: 6}}},
			"layer 2 scan: 6-bit hidden state: the scan unit's state is int8 or int16"},
		{"uniform A4", quant.Uniform(8, 4, 8), "layer 0 norm: 4-bit activations"},
	} {
		t.Run(c.name, func(t *testing.T) {
			opt := quant.DefaultOptions()
			opt.Method, opt.Rounds, opt.SearchRows, opt.SSMImages = quant.MethodNaive, 1, 128, 2
			rec := c.rec
			opt.Precision = &rec
			_, err := quant.Build(tv.Model, quant.SliceImages{}, quant.BuildOptions{Quant: opt})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Build: %v, want %q", err, c.want)
			}
			// The compiler refuses the calibrated model the same way (the
			// fake-quant path runs any recipe).
			qm, err := quant.Calibrate(tv.Model, tv.Calib, opt)
			if err != nil {
				t.Fatal(err)
			}
			_, err = quant.CompileWith(qm, quant.CompileOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("CompileWith: %v, want %q", err, c.want)
			}
		})
	}
	// Runnable mixed recipes pass the check.
	for _, rec := range []quant.Precision{quant.Uniform(4, 8, 16),
		{W: 8, A: 8, H: 8, Ops: map[quant.OpName]quant.OpBits{quant.OpInProj: {W: 4, A: 5}}, Layers: []quant.LayerRule{{Layers: "1", H: 16}}}} {
		pl, err := rec.Resolve(tv.Model.Config.Depth)
		if err != nil {
			t.Fatal(err)
		}
		if err := pl.CheckDatapath(); err != nil {
			t.Errorf("%s: %v", rec, err)
		}
	}
}
