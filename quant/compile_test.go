package quant_test

import (
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/internal/fixture"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
)

func TestCompileMethods(t *testing.T) {
	tv := fixture.Toy(t)
	c := tv.Model.Config
	E := c.DInner
	for _, tc := range []struct {
		method string
		split  bool // k-scaled merge: out_proj split by channel groups
		groups bool // k-scaled SiLU output: x_proj split by channel groups
		tokens bool // k-scaled token-wise out_proj output
	}{
		{quant.MethodPaper, true, true, true},
		{quant.MethodNaive, false, false, false},
	} {
		t.Run(tc.method, func(t *testing.T) {
			p := tv.Program(t, tc.method)
			if len(p.Layers) != c.Depth || p.Method != tc.method {
				t.Fatalf("%d layers, method %q", len(p.Layers), p.Method)
			}
			var split, groups, tokens bool
			for i := range p.Layers {
				l := &p.Layers[i]
				split = split || l.OutSplit != nil
				tokens = tokens || l.OutProj.Req.TokenGroup != nil
				for d := range l.Dir {
					groups = groups || l.Dir[d].XProj.Groups() > 1
				}
				if len(p.Scales.Layers[i].Merge) != E {
					t.Errorf("layer %d: %d merge scales", i, len(p.Scales.Layers[i].Merge))
				}
			}
			if split != tc.split || groups != tc.groups || tokens != tc.tokens {
				t.Errorf("split %v groups %v tokens %v, want %v %v %v", split, groups, tokens, tc.split, tc.groups, tc.tokens)
			}
			// The residual scale maps the bound to 2^intprog.ResidualBits: every
			// layer's largest int8 output fits with the others.
			qm := tv.QModel[tc.method]
			sum := 0.0
			for i := range qm.Layers {
				o := qm.Layers[i].OutProj.Out
				e := 0
				for _, x := range o.Exp {
					e = max(e, x)
				}
				sum += 128 * o.Scales[0] * math.Ldexp(1, e)
			}
			if got := math.Ldexp(p.Scales.Residual, intprog.ResidualBits); got < sum {
				t.Errorf("residual range %g below the mixer outputs' %g", got, sum)
			}
		})
	}
}

func TestCompileBoundMerge(t *testing.T) {
	tv := fixture.Toy(t)
	qm := tv.QModel[quant.MethodPaper]
	saved := make([]*quant.ActQuant, len(qm.Layers))
	for i := range qm.Layers {
		saved[i], qm.Layers[i].Merge = qm.Layers[i].Merge, nil
	}
	p, err := quant.Compile(qm)
	for i := range qm.Layers {
		qm.Layers[i].Merge = saved[i]
	}
	if err != nil {
		t.Fatal(err)
	}
	cal := tv.Program(t, quant.MethodPaper)
	for i := range p.Layers {
		b := p.Scales.Layers[i].Merge
		for ch, s := range b {
			if s != b[0] {
				t.Fatalf("layer %d: bound merge scale not per tensor", i)
			}
			if s < cal.Scales.Layers[i].Merge[ch] {
				t.Errorf("layer %d channel %d: bound scale %g below the calibrated %g", i, ch, s, cal.Scales.Layers[i].Merge[ch])
			}
		}
		if p.Layers[i].OutSplit != nil {
			t.Errorf("layer %d: a per-tensor merge scale must not split out_proj", i)
		}
	}
}

// TestInputExact checks that the boundary conversion recovers the 8-bit
// pixel of every normalised value, for every channel.
func TestInputExact(t *testing.T) {
	tv := fixture.Toy(t)
	configs := []vim.Config{tv.Model.Config}
	for _, norm := range []struct{ mean, std []float64 }{
		{[]float64{0.2860}, []float64{0.3530}}, // Fashion-MNIST
		{nil, nil},                             // [0, 1]
		{[]float64{0.5}, []float64{0.5}},
	} {
		c := tv.Model.Config
		c.Mean, c.Std = norm.mean, norm.std
		configs = append(configs, c)
	}
	for _, c := range configs {
		qm := tv.QModel[quant.MethodNaive]
		save := qm.Config
		qm.Config = c
		p, err := quant.Compile(qm)
		qm.Config = save
		if err != nil {
			t.Fatal(err)
		}
		for ch := 0; ch < c.Channels; ch++ {
			mean, std := 0.0, 1.0
			if len(c.Mean) > 0 {
				mean = c.Mean[min(ch, len(c.Mean)-1)]
			}
			if len(c.Std) > 0 {
				std = c.Std[min(ch, len(c.Std)-1)]
			}
			for px := 0; px < 256; px++ {
				x := (float64(px)/255 - mean) / std
				code := math.RoundToEven(x*p.Input.Gain[ch] + p.Input.Offset[ch])
				if code != float64(px-128) {
					t.Fatalf("mean %v std %v channel %d pixel %d: code %g, want %d", c.Mean, c.Std, ch, px, code, px-128)
				}
			}
		}
	}
}

func TestCompileRejects(t *testing.T) {
	tv := fixture.Toy(t)
	fresh := func(t *testing.T) *quant.QModel {
		opt := quant.DefaultOptions()
		opt.Method = quant.MethodNaive
		qm, err := quant.Calibrate(tv.Model, tv.Calib, opt)
		if err != nil {
			t.Fatal(err)
		}
		return qm
	}
	E := tv.Model.Config.DInner
	cases := []struct {
		name   string
		mutate func(q *quant.QModel, o *quant.CompileOptions)
		want   string
	}{
		{"table bits", func(q *quant.QModel, _ *quant.CompileOptions) { q.Layers[2].Dir[0].Act.Bits = 4 },
			"layer 2 silu: 4-bit activations: the datapath's SiLU table output is int8"},
		{"merge bits", func(q *quant.QModel, _ *quant.CompileOptions) { q.Layers[1].Merge.Bits = 6 }, "layer 1 gate: 6-bit activations"},
		{"y bits", func(q *quant.QModel, _ *quant.CompileOptions) { q.Layers[0].Dir[1].SSM.Y.Bits = 5 }, "layer 0 scan_b: 5-bit activations"},
		{"hidden bits", func(q *quant.QModel, _ *quant.CompileOptions) { q.Layers[3].Dir[1].SSM.Bits = 12 },
			"layer 3 scan_b: 12-bit hidden state: the scan unit's state is int8 or int16"},
		{"norm_f bits", func(q *quant.QModel, _ *quant.CompileOptions) { q.NormF.Out.Bits = 4 }, "norm_f: 4-bit activations"},
		{"float point", func(q *quant.QModel, _ *quant.CompileOptions) { q.Layers[1].Norm.Out = nil }, "norm.out is not quantized"},
		{"token groups without pow2", func(q *quant.QModel, _ *quant.CompileOptions) {
			o := q.Layers[0].OutProj.Out
			L := q.Config.Tokens()
			q.Layers[0].OutProj.Out = &quant.ActQuant{Bits: 8, Axis: quant.PerToken, Scales: []float64{o.Scales[0], 3 * o.Scales[0]}, Group: make([]int, L)}
		}, "power-of-two"},
		{"channel-wise norm output", func(q *quant.QModel, _ *quant.CompileOptions) {
			q.Layers[0].Norm.Out = &quant.ActQuant{Bits: 8, Axis: quant.PerChannel, Scales: []float64{1, 2}, Group: make([]int, q.Config.Dim)}
		}, "per-tensor scale"},
		{"per-channel patch weights", func(q *quant.QModel, _ *quant.CompileOptions) {
			w := &q.Patch.W
			w.Scales = make([]float64, w.Rows)
			for i := range w.Scales {
				w.Scales[i] = 0.01
			}
		}, "per-channel weight scales"},
		{"merge layers", func(_ *quant.QModel, o *quant.CompileOptions) { o.Merge = make([]quant.MergeScale, 1) }, "merge scales for"},
		{"merge scale", func(q *quant.QModel, o *quant.CompileOptions) {
			o.Merge = make([]quant.MergeScale, q.Config.Depth)
			for i := range o.Merge {
				o.Merge[i] = quant.MergeScale{Scales: []float64{-1}}
			}
		}, "not positive"},
		{"merge groups", func(q *quant.QModel, o *quant.CompileOptions) {
			o.Merge = make([]quant.MergeScale, q.Config.Depth)
			for i := range o.Merge {
				o.Merge[i] = quant.MergeScale{Scales: []float64{1, 2}, Group: make([]uint8, E-1)}
			}
		}, "channel groups"},
		{"hidden scales", func(q *quant.QModel, _ *quant.CompileOptions) {
			q.Layers[2].Dir[1].SSM.HScale = q.Layers[2].Dir[1].SSM.HScale[:3]
		}, "hidden-state scales"},
		{"state rescale", func(q *quant.QModel, _ *quant.CompileOptions) {
			h := q.Layers[0].Dir[0].SSM.HScale
			h[4] = h[3] * 1e-6 // a state rescale beyond the exponent unit's range
		}, "layer 0: fwd"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			qm := fresh(t)
			var opt quant.CompileOptions
			c.mutate(qm, &opt)
			_, err := quant.CompileWith(qm, opt)
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line containing %q", msg, c.want)
			}
		})
	}
}

// TestCompileModelMerge checks that quant.Compile takes the quantized model's own
// merge quantizer when it has one.
func TestCompileModelMerge(t *testing.T) {
	tv := fixture.Toy(t)
	qm := tv.QModel[quant.MethodPaper]
	p, err := quant.Compile(qm)
	if err != nil {
		t.Fatal(err)
	}
	for i := range qm.Layers {
		mq := qm.Layers[i].Merge
		if mq == nil {
			t.Skip("the quantized model has no merge quantizer")
		}
		for ch, s := range p.Scales.Layers[i].Merge {
			want := mq.Scales[0]
			if mq.Group != nil {
				want = mq.Scales[mq.Group[ch]]
			}
			if s != want {
				t.Fatalf("layer %d channel %d: merge scale %g, the model's %g", i, ch, s, want)
			}
		}
	}
}

func TestCalibrateMerge(t *testing.T) {
	tv := fixture.Toy(t)
	m := tv.Model
	c := m.Config
	// Per tensor, min-max, no headroom: max |y_comb| / 127.5 from the taps.
	want := make([]float64, c.Depth)
	size := c.Channels * c.ImgH * c.ImgW
	for b := 0; b < tv.Calib.Len(); b++ {
		_, err := m.Forward(tv.Calib.Data[b*size:(b+1)*size], vim.F64, func(name string, _ []int, d []float64) {
			if i, ok := quant.CombLayer(name); ok {
				for _, v := range d {
					want[i] = math.Max(want[i], math.Abs(v))
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := quant.CalibrateMerge(m, tv.Calib, quant.MergeOptions{K: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, ms := range got {
		if ms.Group != nil || len(ms.Scales) != 1 || ms.Scales[0] != quant.MinMaxScale(want[i], 8) {
			t.Errorf("layer %d: %+v, want one scale %g", i, ms, quant.MinMaxScale(want[i], 8))
		}
	}
	// Grouped, searched, headroom: deterministic whatever the workers; at
	// most k groups; headroom only raises scales.
	opt := quant.MergeOptions{K: 4, Search: true, Headroom: true, ByMean: true, Workers: 1}
	a, err := quant.CalibrateMerge(m, tv.Calib, opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.Workers = 3
	b, err := quant.CalibrateMerge(m, tv.Calib, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("merge scales depend on the number of workers")
	}
	opt.Headroom = false
	nh, err := quant.CalibrateMerge(m, tv.Calib, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if len(a[i].Scales) > 4 || len(a[i].Group) != c.DInner {
			t.Fatalf("layer %d: %d groups, %d channel indices", i, len(a[i].Scales), len(a[i].Group))
		}
		for g := range a[i].Scales {
			if a[i].Scales[g] < nh[i].Scales[g] {
				t.Errorf("layer %d group %d: headroom lowered the scale", i, g)
			}
		}
	}
	if _, err := quant.CalibrateMerge(m, quant.SliceImages{}, opt); err == nil {
		t.Error("no images: no error")
	}
	if _, err := quant.CalibrateMerge(m, tv.Calib, quant.MergeOptions{K: 17}); err == nil {
		t.Error("17 groups: no error")
	}
}

// TestCompileRecipe compiles a mixed-precision model and checks that every
// op of the program carries its recipe's formats: int4 weights, 5- to 7-bit
// requantized outputs read by the next op, an int16 scan state.
func TestCompileRecipe(t *testing.T) {
	tv := fixture.Toy(t)
	b := fixture.Mixed(t)
	rec := b.QModel.Precision
	opt := quant.DefaultOptions()
	opt.Rounds, opt.SearchRows, opt.SSMImages = 1, 128, 2
	type want struct{ in, weight, state, out int }
	wants := map[string]want{
		"0/in_proj": {8, 8, 0, 8}, "1/in_proj": {8, 4, 0, 8},
		"0/conv1d": {8, 4, 0, 5}, "1/conv1d_b": {8, 4, 0, 5}, "0/silu": {5, 0, 0, 8},
		"0/x_proj": {8, 8, 0, 8}, "2/x_proj_b": {8, 8, 0, 8}, "0/dt_proj": {8, 4, 0, 8}, "3/dt_proj_b": {8, 4, 0, 8},
		"0/scan": {8, 0, 8, 16}, "1/scan": {8, 0, 16, 16}, "1/scan_b": {8, 0, 16, 16}, "2/scan_b": {8, 0, 8, 16},
		"1/out_proj": {8, 8, 0, 6}, "1/residual": {6, 0, 0, 32}, "0/out_proj": {8, 8, 0, 8},
		"-2/head": {8, 4, 0, 32}, "-1/patch_embed": {8, 8, 0, 8},
	}
	seen := 0
	for _, op := range b.Program.List().Ops {
		w, ok := wants[fmt.Sprintf("%d/%s", op.Layer, op.Name)]
		if !ok {
			continue
		}
		seen++
		f := op.Format
		if f.In.Bits != w.in || f.Weight.Bits != w.weight || f.State.Bits != w.state || f.Out.Bits != w.out {
			t.Errorf("layer %d %s: formats %+v, want in %d weight %d state %d out %d", op.Layer, op.Name, f, w.in, w.weight, w.state, w.out)
		}
	}
	if seen != len(wants) {
		t.Errorf("%d of %d ops found", seen, len(wants))
	}
	// The file keeps the formats.
	path := filepath.Join(t.TempDir(), "mixed.safetensors")
	if err := b.Program.Write(path); err != nil {
		t.Fatal(err)
	}
	back, err := intprog.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, b.Program) {
		t.Error("the mixed program reads back different")
	}
	// A recipe the datapath cannot run is refused, naming the op.
	bad := rec
	bad.Layers = append(append([]quant.LayerRule(nil), rec.Layers...), quant.LayerRule{Layers: "2", A: 4})
	opt.Precision = &bad
	if _, err := quant.Build(tv.Model, tv.Calib, quant.BuildOptions{Quant: opt}); err == nil ||
		!strings.Contains(err.Error(), "layer 2 norm: 4-bit activations: the datapath's norm unit output is int8") {
		t.Errorf("4-bit block activations: %v", err)
	}
}
