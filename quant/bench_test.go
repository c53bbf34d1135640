package quant

import (
	"testing"

	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/vim"
)

// benchCalibrate calibrates the model spec with n synthetic images, once
// per iteration, reporting seconds per calibration.
func benchCalibrate(b *testing.B, spec string, n int, opt Options) {
	m, err := vim.Load(spec, vim.LoadOptions{})
	if err != nil {
		b.Fatalf("model %s: %v", spec, err)
	}
	imgs := randomImages(m.Config, n, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Calibrate(m, imgs, opt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/calibration")
}

// BenchmarkCalibrateVimTi is the calibration of Vim-Ti (synthetic weights)
// on 32 images with the default paper settings (target ≤ 10 minutes). Run
// with -benchtime 1x.
func BenchmarkCalibrateVimTi(b *testing.B) {
	benchCalibrate(b, "vim-ti", 32, DefaultOptions())
}

// BenchmarkCalibrateShipped is the calibration of the shipped Fashion-MNIST
// model on the 256 images of the embedded sample (paper, defaults).
func BenchmarkCalibrateShipped(b *testing.B) {
	m, err := vim.Load(vim.DefaultModel, vim.LoadOptions{})
	if err != nil {
		b.Fatalf("model %s: %v", vim.DefaultModel, err)
	}
	ds, err := data.Open("sample", "test")
	if err != nil {
		b.Fatal(err)
	}
	defer ds.Close()
	imgs, err := CalibrationSet(ds, m.Config, 256, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Calibrate(m, imgs, DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/calibration")
}

// BenchmarkInferShipped is the fake-quant inference of the shipped model
// (paper W8A8), images per second on all cores.
func BenchmarkInferShipped(b *testing.B) {
	m, err := vim.Load(vim.DefaultModel, vim.LoadOptions{})
	if err != nil {
		b.Fatalf("model %s: %v", vim.DefaultModel, err)
	}
	q, err := Calibrate(m, randomImages(m.Config, 16, 1), DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	imgs := randomImages(m.Config, 64, 2)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := q.Infer(imgs.Data, imgs.Len()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*imgs.Len())/b.Elapsed().Seconds(), "images/s")
}
