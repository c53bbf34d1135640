package sim

import (
	"sync"
	"testing"

	"github.com/vimsim/vimsim/internal/pixels"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
)

const toyPath = "../vim/testdata/toy_pert.weights.safetensors"

// fixture is a float model with its quantized models and programs.
type fixture struct {
	m    *vim.Model
	imgs []float64 // test images (not the calibration ones)
	n    int
	qm   map[string]*quant.QModel
	prog map[string]*intprog.Program
}

var (
	toyOnce sync.Once
	toyFix  *fixture
	toyErr  error
)

// newFixture calibrates m (methods paper and naive) on calib pixel images
// and compiles the programs.
func newFixture(m *vim.Model, calib, test int) (*fixture, error) {
	c := m.Config
	size := c.Channels * c.ImgH * c.ImgW
	src := quant.SliceImages{Data: pixels.Images(c, calib, 1), Size: size}
	f := &fixture{m: m, imgs: pixels.Images(c, test, 2), n: test,
		qm: map[string]*quant.QModel{}, prog: map[string]*intprog.Program{}}
	for _, method := range []string{quant.MethodPaper, quant.MethodNaive} {
		opt := quant.DefaultOptions()
		opt.Method, opt.Rounds, opt.SearchRows, opt.SSMImages = method, 1, 128, 2
		b, err := intprog.Build(m, src, intprog.BuildOptions{Quant: opt})
		if err != nil {
			return nil, err
		}
		f.qm[method], f.prog[method] = b.QModel, b.Program
	}
	return f, nil
}

// loadToy returns the vim-toy fixture, calibrated once per test binary.
func loadToy(t testing.TB) *fixture {
	t.Helper()
	toyOnce.Do(func() {
		m, err := vim.Load(toyPath, vim.LoadOptions{})
		if err != nil {
			toyErr = err
			return
		}
		toyFix, toyErr = newFixture(m, 6, 6)
	})
	if toyErr != nil {
		t.Fatal(toyErr)
	}
	return toyFix
}
