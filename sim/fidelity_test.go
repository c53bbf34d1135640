package sim

import (
	"encoding/json"
	"github.com/vimsim/vimsim/internal/fixture"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/vim"
)

func TestCompare(t *testing.T) {
	r := []float64{1, -2, 3, 0}
	var a acc
	a.add(r, r, 0.5, nil)
	c := a.compare()
	if !math.IsInf(float64(c.SQNR), 1) || c.Cosine != 1 || c.Equal != 1 || c.MaxAbsDiff != 0 || c.MaxAbsRef != 3 || c.Elements != 4 {
		t.Errorf("identical: %+v", c)
	}
	var b acc
	x := []float64{1.5, -2, 3, -1}
	b.add(x, r, 0, []float64{0.5, 1, 1, 0.25})
	c = b.compare()
	// Σr² = 14, Σ(x−r)² = 0.25 + 1, Σx·r = 1.5+4+9 = 14.5, Σx² = 2.25+4+9+1.
	wantSQNR := 10 * math.Log10(14/1.25)
	wantCos := 14.5 / math.Sqrt(16.25*14)
	if math.Abs(float64(c.SQNR)-wantSQNR) > 1e-12 || math.Abs(c.Cosine-wantCos) > 1e-12 || c.Equal != 0.5 ||
		c.MaxAbsDiff != 1 || c.MaxLSB != 4 {
		t.Errorf("compare %+v, want SQNR %g cos %g", c, wantSQNR, wantCos)
	}
	var m acc
	m.merge(&a)
	m.merge(&b)
	if got := m.compare(); got.Elements != 8 || got.Equal != 0.75 {
		t.Errorf("merged %+v", got)
	}
	if (&acc{}).compare() != nil {
		t.Error("an absent comparison must be nil")
	}
	j, err := json.Marshal(Compare{SQNR: DB(math.Inf(1))})
	if err != nil || !strings.Contains(string(j), `"sqnr_db":null`) {
		t.Errorf("JSON of an infinite SQNR: %s, %v", j, err)
	}
}

func TestFidelity(t *testing.T) {
	f := loadToy(t)
	c := f.m.Config
	size := c.Channels * c.ImgH * c.ImgW
	labels := make([]int, f.n)
	for i := range labels {
		labels[i] = i % c.Classes
	}
	for method, p := range f.prog {
		t.Run(method, func(t *testing.T) {
			rep, err := RunFidelity(p, f.m, f.qm[method], f.imgs, labels, f.n, FidelityOptions{Workers: 1, Batch: 1})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Images != f.n || len(rep.Paths) != 3 || rep.Method != method {
				t.Fatalf("report %d images, %d paths, method %s", rep.Images, len(rep.Paths), rep.Method)
			}
			fp, fq, in := rep.Paths[0], rep.Paths[1], rep.Paths[2]
			if fp.AgreeFloat != 1 || !math.IsInf(float64(fp.SQNRFloat), 1) || fq.AgreeFakeQuant != 1 || fp.Top1 == nil {
				t.Errorf("reference paths %+v %+v", fp, fq)
			}
			if in.SQNRFakeQuant < 15 || in.AgreeFakeQuant < 0.5 {
				t.Errorf("int8 vs fake-quant: logits SQNR %v dB, agreement %v", in.SQNRFakeQuant, in.AgreeFakeQuant)
			}
			byName := map[string]TensorFidelity{}
			for _, tf := range rep.Tensors {
				byName[tf.Name] = tf
			}
			// The first tensors differ from the fake-quant path by rounding
			// only: at most one LSB, almost all codes equal.
			for _, name := range []string{"patch_embed", "layers.0.norm_out", "layers.0.mixer.xz"} {
				tf, ok := byName[name]
				if !ok || tf.FakeQuant == nil || tf.Float == nil {
					t.Fatalf("tensor %s missing", name)
				}
				if q := tf.FakeQuant; q.MaxLSB > 1+1e-9 || q.Equal < 0.99 {
					t.Errorf("%s vs fake-quant: max %g LSB, %.4f equal", name, q.MaxLSB, q.Equal)
				}
			}
			for _, name := range []string{"layers.1.mixer.z_gate", "layers.0.mixer.bwd.ssm_y", "layers.0.mixer.fwd.dt"} {
				if tf, ok := byName[name]; !ok || tf.Float != nil || tf.FakeQuant == nil {
					t.Errorf("%s: present %v, want no float reference and a fake-quant one", name, ok)
				}
			}
			for i := 0; i < c.Depth; i++ {
				for _, s := range []string{".residual", ".out", ".mixer.y_comb", ".mixer.fwd.y", ".mixer.bwd.delta"} {
					if tf, ok := byName["layers."+string(rune('0'+i))+s]; !ok || tf.Float == nil || tf.Layer != i {
						t.Errorf("layer %d tensor %s missing", i, s)
					}
				}
			}
			if tot := rep.Total; tot.Overflows != 0 || tot.MACs == 0 {
				t.Errorf("counters %+v", tot)
			}
			if len(rep.Layers) != c.Depth+2 || rep.Layers[0].Layer != vim.LayerEmbed || rep.Layers[c.Depth+1].Layer != vim.LayerHead {
				t.Errorf("layers %+v", rep.Layers)
			}
			// Workers, batches and streaming do not change the report.
			fid, err := NewFidelity(p, f.m, f.qm[method], FidelityOptions{Workers: 3, Batch: 4})
			if err != nil {
				t.Fatal(err)
			}
			half := f.n / 2
			if err := fid.Add(f.imgs[:half*size], labels[:half], half); err != nil {
				t.Fatal(err)
			}
			if err := fid.Add(f.imgs[half*size:], labels[half:], f.n-half); err != nil {
				t.Fatal(err)
			}
			again, err := fid.Report()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rep, again) {
				t.Error("report depends on workers, batches or streaming")
			}
		})
	}
}

func TestFidelityErrors(t *testing.T) {
	f := loadToy(t)
	p := f.prog[quant.MethodNaive]
	qm := f.qm[quant.MethodNaive]
	if _, err := RunFidelity(p, f.m, qm, f.imgs, []int{1}, f.n, FidelityOptions{}); err == nil || !strings.Contains(err.Error(), "labels") {
		t.Errorf("label count: %v", err)
	}
	if _, err := RunFidelity(p, f.m, qm, f.imgs[1:], nil, f.n, FidelityOptions{}); err == nil {
		t.Error("short images: no error")
	}
	other, err := vim.Synthetic(vim.Config{Name: "other", ImgH: 64, ImgW: 64, Channels: 3, Patch: 16, Stride: 16, Dim: 32, Depth: 1,
		DInner: 64, DState: 8, DConv: 4, DtRank: 2, Classes: 10, Eps: 1e-5}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewFidelity(p, other, qm, FidelityOptions{}); err == nil || !strings.Contains(err.Error(), "different shapes") {
		t.Errorf("other model: %v", err)
	}
}

// TestShippedModel runs the embedded Fashion-MNIST model on the integer
// datapath against its fake-quant execution on the embedded sample: no
// accumulator overflow, and the integer path keeps the fake-quant path's
// predictions and accuracy.
func TestShippedModel(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates the shipped model")
	}
	m, err := vim.Load(vim.DefaultModel, vim.LoadOptions{})
	if err != nil {
		t.Skipf("no shipped model: %v", err)
	}
	c := m.Config
	ds, err := data.Open("sample", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	pre, err := data.NewPreprocessor(c)
	if err != nil {
		t.Fatal(err)
	}
	imgs, labels, err := data.ReadAll(ds, pre, 0)
	if err != nil {
		t.Fatal(err)
	}
	size := c.Channels * c.ImgH * c.ImgW
	const nCal = 32
	calib := quant.SliceImages{Data: imgs[:nCal*size], Size: size}
	b, err := quant.Build(m, calib, quant.BuildOptions{Quant: quant.DefaultOptions()})
	if err != nil {
		t.Fatal(err)
	}
	p, qm := b.Program, b.QModel
	n := len(labels) - nCal
	rep, err := RunFidelity(p, m, qm, imgs[nCal*size:], labels[nCal:], n, FidelityOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fq, in := rep.Paths[1], rep.Paths[2]
	t.Logf("%d images: fp64 %.4f, fake-quant %.4f, int8 %.4f; int8 agreement with fake-quant %.4f, logits SQNR %v dB",
		n, *rep.Paths[0].Top1, *fq.Top1, *in.Top1, in.AgreeFakeQuant, in.SQNRFakeQuant)
	if rep.Total.Overflows != 0 {
		t.Errorf("%d accumulator overflows", rep.Total.Overflows)
	}
	if in.AgreeFakeQuant < 0.95 || in.SQNRFakeQuant < 18 || *in.Top1 < *fq.Top1-0.03 {
		t.Errorf("int8 vs fake-quant: agreement %.4f, SQNR %v dB, top-1 %.4f vs %.4f", in.AgreeFakeQuant, in.SQNRFakeQuant, *in.Top1, *fq.Top1)
	}
}

// TestMixedRecipe runs a mixed-precision program (int4 weights, 5- and
// 6-bit requantized outputs, an int16 scan state in block 1) against the
// fake-quant execution of its quantized model: the integer path follows
// it as closely as the uniform one does, and the int16 block's scan
// output y′ stays within rounding of the fake-quant one.
func TestMixedRecipe(t *testing.T) {
	f := loadToy(t)
	b := fixture.Mixed(t)
	labels := make([]int, f.n)
	rep, err := RunFidelity(b.Program, f.m, b.QModel, f.imgs, labels, f.n, FidelityOptions{Workers: 2, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	in := rep.Paths[2]
	t.Logf("mixed: logits SQNR vs fake-quant %.1f dB, agreement %.2f", float64(in.SQNRFakeQuant), in.AgreeFakeQuant)
	if in.SQNRFakeQuant < 15 || in.AgreeFakeQuant < 0.5 {
		t.Errorf("integer vs fake-quant: logits SQNR %v dB, agreement %v", in.SQNRFakeQuant, in.AgreeFakeQuant)
	}
	for _, tf := range rep.Tensors {
		if tf.Name == "layers.1.mixer.fwd.ssm_y" || tf.Name == "layers.0.mixer.fwd.ssm_y" {
			t.Logf("%s vs fake-quant: %.1f dB, %.4f equal, max %g LSB", tf.Name, float64(tf.FakeQuant.SQNR), tf.FakeQuant.Equal, tf.FakeQuant.MaxLSB)
			if tf.FakeQuant.MaxAbsRef == 0 {
				t.Errorf("%s: the scan output is zero", tf.Name)
			}
		}
		if tf.Name == "layers.0.mixer.xz" && (tf.FakeQuant.MaxLSB > 1+1e-9 || tf.FakeQuant.Equal < 0.99) {
			t.Errorf("%s vs fake-quant: max %g LSB, %.4f equal", tf.Name, tf.FakeQuant.MaxLSB, tf.FakeQuant.Equal)
		}
	}
	if rep.Total.Overflows != 0 {
		t.Errorf("%d overflows", rep.Total.Overflows)
	}
}
