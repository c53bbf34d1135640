package vim

import (
	"runtime"
	"testing"
)

// benchImage returns a deterministic normalised input for c.
func benchImage(c Config) []float64 {
	img := make([]float64, c.Channels*c.ImgH*c.ImgW)
	for i := range img {
		img[i] = float64(i%97)/48.0 - 1
	}
	return img
}

// BenchmarkForwardVimTi is the float64 forward pass of Vim-Ti (synthetic
// weights) on one image. Run it on one core: -cpu 1 (target ≤ 1.0 s/op).
func BenchmarkForwardVimTi(b *testing.B) {
	for _, p := range []Precision{F64, F32} {
		b.Run(p.String(), func(b *testing.B) {
			c, _ := Preset("vim-ti")
			m, err := Synthetic(c, 1)
			if err != nil {
				b.Fatal(err)
			}
			img := benchImage(c)
			if _, err := m.Forward(img, p, nil); err != nil { // builds the parameter cache
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Forward(img, p, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInferVimTiBatch runs a batch of GOMAXPROCS·2 images through Infer,
// reporting images per second (all cores).
func BenchmarkInferVimTiBatch(b *testing.B) {
	c, _ := Preset("vim-ti")
	m, _ := Synthetic(c, 1)
	n := 2 * runtime.GOMAXPROCS(0)
	one := benchImage(c)
	imgs := make([]float64, 0, n*len(one))
	for i := 0; i < n; i++ {
		imgs = append(imgs, one...)
	}
	m.Forward(one, F64, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Infer(imgs, n, F64); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkForwardDefault is one image through the embedded default model.
func BenchmarkForwardDefault(b *testing.B) {
	m, err := Load(DefaultModel, LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	img := benchImage(m.Config)
	for _, p := range []Precision{F64, F32} {
		b.Run(p.String(), func(b *testing.B) {
			m.Forward(img, p, nil)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Forward(img, p, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
