package explore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/vim"
)

// benchRecipes are the 10 recipes of BenchmarkExplore: the uniform W8–W4
// with an 8-bit hidden state, two with a 16-bit one, and three mixed.
func benchRecipes(tb testing.TB, depth int) []Recipe {
	ps, err := ParseRecipes("W8A8H8,W7A8H8,W6A8H8,W5A8H8,W4A8H8,W8A8H16,W4A8H16")
	if err != nil {
		tb.Fatal(err)
	}
	for _, text := range []string{
		// int4 in_proj and out_proj, the largest GEMMs.
		"name: w4-inout\nw: 8\na: 8\nh: 8\nops: {in_proj: {w: 4}, out_proj: {w: 4}}\n",
		// int4 blocks, int8 embedding and head, 16-bit state in the first two blocks.
		"name: w4-blocks-h16-01\nw: 4\na: 8\nh: 8\nops: {patch_embed: {w: 8}, head: {w: 8}}\nlayers: [{layers: 0-1, h: 16}]\n",
		// 6-bit outputs of the projections.
		"name: w8-a6-proj\nw: 8\na: 8\nh: 8\nops: {in_proj: {a: 6}, x_proj: {a: 6}, out_proj: {a: 6}}\n",
	} {
		p, err := quant.ParsePrecision([]byte(text), "yaml")
		if err != nil {
			tb.Fatal(err)
		}
		ps = append(ps, p)
	}
	rs, err := Resolve(ps, depth)
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

// benchDesigns is a 100-design space around systolic16 with a ZCU102:
// 5 array sizes × 2 dataflows × 5 scan-lane counts × 2 buffer sizes.
func benchDesigns(tb testing.TB) []arch.Spec {
	base, err := arch.ResolveSpec("systolic16")
	if err != nil {
		tb.Fatal(err)
	}
	sp := cost.SweepSpace{Bases: []arch.Spec{base.WithFPGA("zcu102", "")},
		Arrays:    [][2]int{{8, 8}, {16, 16}, {32, 32}, {48, 48}, {64, 64}},
		Dataflows: []arch.Dataflow{arch.OutputStationary, arch.WeightStationary},
		ScanLanes: []int{4, 8, 16, 32, 64}, BufferKiB: []int{64, 256}}
	d, err := sp.Designs()
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// processCPU returns the process's user + system time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the machine's 1/5/15-minute load average (Linux), or
// "unknown": the benchmark shares its cores.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// BenchmarkExplore is the exploration of issue 12 from an empty cache: the
// shipped model, benchRecipes × 100 designs with FPGA resources, accuracy on
// the first 1,000 Fashion-MNIST test images, every recipe calibrated with the
// paper's defaults on 256 train images. Target: 5 min on 2 cores. Run it
// with -benchtime 1x; cpu-s is the process CPU time.
func BenchmarkExplore(b *testing.B) {
	if _, err := os.Stat(filepath.Join(data.DefaultFashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatalf("CI=true and the Fashion-MNIST dataset is missing (apt-get install dataset-fashion-mnist): %v", err)
		}
		b.Skipf("Fashion-MNIST not installed: %v", err)
	}
	m, err := vim.Load(vim.DefaultModel, vim.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	cfg := m.Config
	test, err := data.Open("fashion-mnist", "test")
	if err != nil {
		b.Fatal(err)
	}
	defer test.Close()
	pre, err := data.NewPreprocessor(cfg)
	if err != nil {
		b.Fatal(err)
	}
	recipes := benchRecipes(b, cfg.Depth)
	sp := Space{Recipes: recipes, Designs: benchDesigns(b)}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		load0, cpu0, t0 := loadAverage(), processCPU(), time.Now()
		c, err := OpenCache(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		x, err := New(Options{
			Evaluator: &Datapath{Model: m, Quant: quant.DefaultOptions(), CalibKey: "fashion-mnist train 256 seed 1",
				Calib: func() (quant.Images, error) {
					train, err := data.Open("fashion-mnist", "train")
					if err != nil {
						return nil, err
					}
					defer train.Close()
					return quant.CalibrationSet(train, cfg, 256, 1)
				}},
			Coster: OpCoster{Model: cfg},
			Images: Images{Name: "fashion-mnist", Key: DatasetKey("fashion-mnist", data.Test, cfg), Dataset: test, Pre: pre, N: 1000},
			Cache:  c,
		})
		if err != nil {
			b.Fatal(err)
		}
		p, err := x.Run(context.Background(), sp)
		if err != nil {
			b.Fatal(err)
		}
		t, err := Assemble([]*Partial{p})
		if err != nil {
			b.Fatal(err)
		}
		if n := len(t.Points()); n != len(recipes)*100 {
			b.Fatalf("%d points", n)
		}
		wall, cpu := time.Since(t0), processCPU()-cpu0
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(cpu.Seconds(), "cpu-s")
		names := make([]string, len(recipes))
		for i, r := range recipes {
			names[i] = r.Name
		}
		b.Logf("%d recipes (%s) × %d designs, 1000 images: %v wall, %v CPU; load average %s at the start, %s at the end",
			len(recipes), strings.Join(names, " "), len(sp.Designs), wall.Round(time.Second), cpu.Round(time.Second), load0, loadAverage())
	}
}
