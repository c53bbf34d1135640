package sim

import (
	"sync"
	"testing"

	"github.com/vimsim/vimsim/internal/fixture"
	"github.com/vimsim/vimsim/internal/pixels"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
)

// toySet is the vim-toy model with its quantized models and programs, and
// test images (not the calibration ones).
type toySet struct {
	m    *vim.Model
	imgs []float64
	n    int
	qm   map[string]*quant.QModel
	prog map[string]*intprog.Program
}

var toy struct {
	once sync.Once
	set  *toySet
}

// loadToy returns the vim-toy set (fixture.Toy) with its programs
// compiled and 6 test images, once per test binary.
func loadToy(t testing.TB) *toySet {
	t.Helper()
	fs := fixture.Toy(t)
	toy.once.Do(func() {
		s := &toySet{m: fs.Model, imgs: pixels.Images(fs.Model.Config, 6, 2), n: 6, qm: fs.QModel,
			prog: map[string]*intprog.Program{}}
		for method := range fs.QModel {
			s.prog[method] = fs.Program(t, method)
		}
		toy.set = s
	})
	if toy.set == nil {
		t.Fatal("vim-toy programs did not compile")
	}
	return toy.set
}
