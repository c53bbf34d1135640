package explore

import (
	"testing"

	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/internal/pixels"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/vim"
)

// fastQuant are calibration settings fast enough for tests.
func fastQuant() quant.Options {
	o := quant.DefaultOptions()
	o.Rounds, o.SearchRows, o.WeightSearchRows, o.SSMImages = 1, 64, 32, 2
	return o
}

// toyModel loads the embedded vim-toy model.
func toyModel(tb testing.TB) *vim.Model {
	tb.Helper()
	m, err := vim.Load("vim-toy", vim.LoadOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// newTestExplorer returns an Explorer of m on the first n images of the
// embedded sample, calibrated on 4 pixel images, with cache c.
func newTestExplorer(tb testing.TB, m *vim.Model, n, chunk int, c *Cache) *Explorer {
	tb.Helper()
	cfg := m.Config
	ds, err := data.Open("sample", "test")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ds.Close() })
	pre, err := data.NewPreprocessor(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	size := cfg.Channels * cfg.ImgH * cfg.ImgW
	calib := quant.SliceImages{Data: pixels.Images(cfg, 4, 1), Size: size}
	x, err := New(Options{
		Evaluator: &Datapath{Model: m, Calib: func() (quant.Images, error) { return calib, nil }, CalibKey: "pixels 4 seed 1", Quant: fastQuant()},
		Coster:    OpCoster{Model: cfg},
		Images:    Images{Name: "sample (test)", Key: DatasetKey("sample", data.Test, cfg), Dataset: ds, Pre: pre, N: n},
		Chunk:     chunk,
		Cache:     c,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return x
}

// testSpace is recipes × designs for m: systolic8 and systolic16 with the
// given FPGA board ("" for none).
func testSpace(tb testing.TB, m *vim.Model, recipes string, board string) Space {
	tb.Helper()
	ps, err := ParseRecipes(recipes)
	if err != nil {
		tb.Fatal(err)
	}
	rs, err := Resolve(ps, m.Config.Depth)
	if err != nil {
		tb.Fatal(err)
	}
	var designs []arch.Spec
	for _, name := range []string{"systolic8", "systolic16"} {
		s, err := arch.ResolveSpec(name)
		if err != nil {
			tb.Fatal(err)
		}
		if board != "" {
			s = s.WithFPGA(board, arch.DSPPacking(""))
		}
		designs = append(designs, s)
	}
	return Space{Recipes: rs, Designs: designs}
}
