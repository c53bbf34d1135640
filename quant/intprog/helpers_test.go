package intprog

import (
	"sync"
	"testing"

	"github.com/vimsim/vimsim/internal/pixels"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/vim"
)

const toyPath = "../../vim/testdata/toy_pert.weights.safetensors"

// toy is the vim-toy fixture model with quantized versions, shared by the
// tests (calibration takes seconds).
type toy struct {
	m      *vim.Model
	imgs   quant.SliceImages
	qm     map[string]*quant.QModel
	merges map[string][]MergeScale
}

var (
	toyOnce sync.Once
	toyVal  *toy
	toyErr  error
)

func loadToy(t testing.TB) *toy {
	t.Helper()
	toyOnce.Do(func() {
		m, err := vim.Load(toyPath, vim.LoadOptions{})
		if err != nil {
			toyErr = err
			return
		}
		c := m.Config
		size := c.Channels * c.ImgH * c.ImgW
		tv := &toy{m: m, imgs: quant.SliceImages{Data: pixels.Images(c, 6, 1), Size: size},
			qm: map[string]*quant.QModel{}, merges: map[string][]MergeScale{}}
		for _, method := range []string{quant.MethodPaper, quant.MethodNaive} {
			opt := quant.DefaultOptions()
			opt.Method, opt.Rounds, opt.SearchRows, opt.SSMImages = method, 1, 128, 2
			b, err := Build(m, tv.imgs, BuildOptions{Quant: opt})
			if err != nil {
				toyErr = err
				return
			}
			tv.qm[method], tv.merges[method] = b.QModel, b.Merge
		}
		toyVal = tv
	})
	if toyErr != nil {
		t.Fatal(toyErr)
	}
	return toyVal
}

// program compiles the toy's quantized model of method.
func (tv *toy) program(t testing.TB, method string) *Program {
	t.Helper()
	p, err := CompileWith(tv.qm[method], Options{Merge: tv.merges[method], Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
