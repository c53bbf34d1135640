//go:build unix

package sim

import (
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vimsim/vimsim/internal/pixels"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
)

// vimTi is Vim-Ti with synthetic weights, quantized (paper method) with a
// small calibration, shared by the benchmarks.
var vimTi struct {
	once sync.Once
	m    *vim.Model
	p    *intprog.Program
	err  error
}

func loadVimTi(b *testing.B) (*vim.Model, *intprog.Program) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	vimTi.once.Do(func() {
		m, err := vim.Load("vim-ti", vim.LoadOptions{})
		if err != nil {
			vimTi.err = err
			return
		}
		c := m.Config
		src := quant.SliceImages{Data: pixels.Images(c, 4, 1), Size: c.Channels * c.ImgH * c.ImgW}
		opt := quant.DefaultOptions()
		opt.Rounds, opt.SearchRows, opt.SSMImages = 1, 128, 2
		t0 := time.Now()
		built, err := quant.Build(m, src, quant.BuildOptions{Quant: opt})
		if err != nil {
			vimTi.err = err
			return
		}
		p := built.Program
		b.Logf("vim-ti calibrated on 4 images and compiled in %v", time.Since(t0).Round(time.Second))
		vimTi.m, vimTi.p = m, p
	})
	if vimTi.err != nil {
		b.Fatal(vimTi.err)
	}
	return vimTi.m, vimTi.p
}

// cpuTime returns the process's user + system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkVimTi compares the bit-accurate integer path of Vim-Ti with the
// float64 reference on one image and on a batch of 2·GOMAXPROCS images,
// in the same run. The "cores" metric is CPU time over wall time: how many
// cores the path kept busy; "cpu-ms/image" is the process CPU time per
// image, steadier than the wall time on a shared machine.
func BenchmarkVimTi(b *testing.B) {
	m, p := loadVimTi(b)
	c := m.Config
	size := c.Channels * c.ImgH * c.ImgW
	batch := 2 * runtime.GOMAXPROCS(0)
	imgs := pixels.Images(c, batch, 9)
	paths := []struct {
		name string
		n    int
		run  func(imgs []float64, n int) error
	}{
		{"int8/1", 1, func(x []float64, n int) error { _, err := Run(p, x, n, Options{}); return err }},
		{"f64/1", 1, func(x []float64, _ int) error { _, err := m.Forward(x, vim.F64, nil); return err }},
		{"int8/batch", batch, func(x []float64, n int) error { _, err := Run(p, x, n, Options{}); return err }},
		{"f64/batch", batch, func(x []float64, n int) error { _, err := m.Infer(x, n, vim.F64); return err }},
	}
	for _, pt := range paths {
		b.Run(pt.name, func(b *testing.B) {
			x := imgs[:pt.n*size]
			c0, t0 := cpuTime(), time.Now()
			for i := 0; i < b.N; i++ {
				if err := pt.run(x, pt.n); err != nil {
					b.Fatal(err)
				}
			}
			wall, cpu := time.Since(t0), cpuTime()-c0
			b.ReportMetric(float64(cpu)/float64(wall), "cores")
			b.ReportMetric(float64(wall.Milliseconds())/float64(b.N*pt.n), "ms/image")
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N*pt.n), "cpu-ms/image")
		})
	}
}
