package vim

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/vim/ckpt"
)

// The vim-toy fixture (copied from ../shared/fixtures/vim-toy): float64
// reference logits and intermediates of the official code.
const (
	toyWeights = "testdata/toy_pert.weights.safetensors"
	toyIO      = "testdata/toy_pert.io.safetensors"
)

func loadToy(t testing.TB, path string) (*Model, *ckpt.File) {
	t.Helper()
	m, err := Load(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	io, err := ckpt.ReadSafetensors(toyIO)
	if err != nil {
		t.Fatal(err)
	}
	return m, io
}

// relErr is max|a-b| / max|b|.
func relErr(a, b []float64) float64 {
	var d, s float64
	for i := range b {
		d = math.Max(d, math.Abs(a[i]-b[i]))
		s = math.Max(s, math.Abs(b[i]))
	}
	return d / s
}

// checkFixture runs the model on the fixture input and compares the logits
// and, in float64, every tap with the reference.
func checkFixture(t *testing.T, m *Model, io *ckpt.File, p Precision, tol float64) {
	in, _ := io.Get("input")
	ref, _ := io.Get("logits")
	batch := in.Shape[0]
	size := len(in.Data) / batch
	classes := ref.Shape[1]
	for b := 0; b < batch; b++ {
		taps := map[string][]float64{}
		shapes := map[string][]int{}
		var tap Tap
		if p == F64 {
			tap = func(name string, shape []int, data []float64) {
				taps[name] = append([]float64(nil), data...)
				shapes[name] = append([]int(nil), shape...)
			}
		}
		logits, err := m.Forward(in.Data[b*size:(b+1)*size], p, tap)
		if err != nil {
			t.Fatal(err)
		}
		e := relErr(logits, ref.Data[b*classes:(b+1)*classes])
		if e > tol {
			t.Errorf("%v image %d: logits rel err %.3g > %g", p, b, e, tol)
		}
		if p != F64 {
			t.Logf("image %d: logits rel err %.3g", b, e)
			continue
		}
		worst, worstName := e, "logits"
		checked := 0
		for _, rt := range io.Tensors {
			if rt.Name == "input" || strings.HasPrefix(rt.Name, "logits") {
				continue
			}
			got, ok := taps[rt.Name]
			if !ok {
				t.Errorf("tap %s not produced", rt.Name)
				continue
			}
			if fmt.Sprint(shapes[rt.Name]) != fmt.Sprint(rt.Shape[1:]) {
				t.Errorf("tap %s: shape %v, fixture %v", rt.Name, shapes[rt.Name], rt.Shape[1:])
				continue
			}
			n := len(rt.Data) / batch
			e := relErr(got, rt.Data[b*n:(b+1)*n])
			if e > tol {
				t.Errorf("image %d tap %s: rel err %.3g > %g", b, rt.Name, e, tol)
			}
			if e > worst {
				worst, worstName = e, rt.Name
			}
			checked++
		}
		t.Logf("image %d: worst of logits and %d taps: %s rel err %.3g", b, checked, worstName, worst)
		if want := len(io.Tensors) - 3; checked != want {
			t.Errorf("checked %d taps, want %d", checked, want)
		}
	}
}

func TestForwardFixture(t *testing.T) {
	for _, tc := range []struct {
		name, weights string
		p             Precision
		tol           float64
	}{
		{"safetensors/f64", toyWeights, F64, 1e-4},
		{"safetensors/f32", toyWeights, F32, 1e-3},
		{"pth-nested/f64", "testdata/toy_pert.pth", F64, 1e-4},
		{"pth-bare/f64", "testdata/toy_pert_bare.pth", F64, 1e-4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, io := loadToy(t, tc.weights)
			checkFixture(t, m, io, tc.p, tc.tol)
		})
	}
}

// A swapped direction parameter must be caught by the fixture check (the
// check can fail).
func TestFixtureDetectsSwap(t *testing.T) {
	m, io := loadToy(t, toyWeights)
	l := &m.Layers[1]
	l.Dir[Fwd].D, l.Dir[Bwd].D = l.Dir[Bwd].D, l.Dir[Fwd].D
	l.Dir[Fwd].DtB, l.Dir[Bwd].DtB = l.Dir[Bwd].DtB, l.Dir[Fwd].DtB
	in, _ := io.Get("input")
	ref, _ := io.Get("logits")
	size := len(in.Data) / in.Shape[0]
	logits, err := m.Forward(in.Data[:size], F64, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(logits, ref.Data[:ref.Shape[1]]); e < 1e-3 {
		t.Fatalf("swapped directions moved logits by only %.3g", e)
	}
}

func TestInferMatchesForward(t *testing.T) {
	m, io := loadToy(t, toyWeights)
	in, _ := io.Get("input")
	n := in.Shape[0]
	all, err := m.Infer(in.Data, n, F64)
	if err != nil {
		t.Fatal(err)
	}
	size := len(in.Data) / n
	for b := 0; b < n; b++ {
		one, _ := m.Forward(in.Data[b*size:(b+1)*size], F64, nil)
		for j, v := range one {
			if all[b*len(one)+j] != v {
				t.Fatalf("image %d logit %d: Infer %v, Forward %v", b, j, all[b*len(one)+j], v)
			}
		}
	}
}

func TestForwardBadInput(t *testing.T) {
	m, _ := loadToy(t, toyWeights)
	if _, err := m.Forward(make([]float64, 5), F64, nil); err == nil || !strings.Contains(err.Error(), "input has 5 values") {
		t.Fatalf("err = %v", err)
	}
	if _, err := m.Infer(make([]float64, 7), 2, F64); err == nil {
		t.Fatal("Infer accepted a short batch")
	}
}

func TestConfigInferredFromToy(t *testing.T) {
	m, _ := loadToy(t, toyWeights)
	c := m.Config
	got := fmt.Sprint(c.ImgH, c.ImgW, c.Channels, c.Patch, c.Stride, c.Dim, c.Depth, c.DInner, c.DState, c.DConv, c.DtRank, c.Classes, c.Tokens(), c.ClsPos())
	if want := "64 64 3 16 16 64 4 128 8 4 4 10 17 8"; got != want {
		t.Fatalf("config %s, want %s", got, want)
	}
}

func TestRoundTripToFile(t *testing.T) {
	m, io := loadToy(t, toyWeights)
	path := filepath.Join(t.TempDir(), "rt.safetensors")
	if err := ckpt.WriteSafetensors(path, m.ToFile()); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkFixture(t, m2, io, F64, 1e-4)
}
