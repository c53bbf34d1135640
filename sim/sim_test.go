package sim

import (
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/quant/intprog"
)

// TestRunDeterministic checks that the results do not depend on the number
// of workers, GOMAXPROCS, taps, or the batch an image is run in.
func TestRunDeterministic(t *testing.T) {
	f := loadToy(t)
	c := f.m.Config
	size := c.Channels * c.ImgH * c.ImgW
	for method, p := range f.prog {
		ref, err := Run(p, f.imgs, f.n, Options{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		check := func(what string, r *Result) {
			t.Helper()
			if !reflect.DeepEqual(r.Codes, ref.Codes) || !reflect.DeepEqual(r.Logits, ref.Logits) || !reflect.DeepEqual(r.Ops, ref.Ops) {
				t.Errorf("%s: %s differs from one worker", method, what)
			}
		}
		for _, w := range []int{2, 3, 8} {
			r, err := Run(p, f.imgs, f.n, Options{Workers: w})
			if err != nil {
				t.Fatal(err)
			}
			check("workers "+string(rune('0'+w)), r)
		}
		old := runtime.GOMAXPROCS(1)
		r, err := Run(p, f.imgs, f.n, Options{})
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatal(err)
		}
		check("GOMAXPROCS 1", r)
		r, err = Run(p, f.imgs, f.n, Options{Workers: 3, Tap: func(int, Tensor) {}})
		if err != nil {
			t.Fatal(err)
		}
		check("with taps", r)
		// One image at a time, with the directions, the GEMM rows and
		// the scan channels in parallel.
		var sum []OpCounters
		for i := 0; i < f.n; i++ {
			r, err := Run(p, f.imgs[i*size:(i+1)*size], 1, Options{Workers: 2 + 3*(i%2)})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r.Codes, ref.Codes[i*c.Classes:(i+1)*c.Classes]) {
				t.Errorf("%s image %d alone: logits differ", method, i)
			}
			if sum == nil {
				sum = r.Ops
			} else {
				for j := range sum {
					sum[j].Counters.Add(r.Ops[j].Counters)
				}
			}
		}
		if !reflect.DeepEqual(sum, ref.Ops) {
			t.Errorf("%s: the counters of single-image runs do not add up to the batch's", method)
		}
		for i, v := range ref.Codes {
			s := p.Scales.Logits[0]
			if len(p.Scales.Logits) > 1 {
				s = p.Scales.Logits[i%c.Classes]
			}
			if ref.Logits[i] != float64(v)*s {
				t.Fatalf("logit %d: %g, want code %d × scale %g", i, ref.Logits[i], v, s)
			}
		}
	}
}

// TestRunCounters checks the events a run must not meet: no accumulator
// overflow, no saturation of the input (8-bit images), of the residual
// stream or of the residual constants.
func TestRunCounters(t *testing.T) {
	f := loadToy(t)
	for method, p := range f.prog {
		r, err := Run(p, f.imgs, f.n, Options{})
		if err != nil {
			t.Fatal(err)
		}
		tot := r.Total()
		if tot.Overflows != 0 {
			t.Errorf("%s: %d accumulator overflows", method, tot.Overflows)
		}
		if tot.MACs == 0 || tot.Exps == 0 || tot.Rsqrts == 0 || tot.LUTLookups == 0 || tot.Requants == 0 {
			t.Errorf("%s: counters %+v", method, tot)
		}
		for _, o := range r.Ops {
			switch o.Name {
			case "input", "pos_embed", "residual":
				if o.Saturations != 0 {
					t.Errorf("%s: layer %d %s: %d saturations", method, o.Layer, o.Name, o.Saturations)
				}
			}
		}
	}
}

// TestInputSaturation checks that values outside the 8-bit pixel range are
// clamped and counted.
func TestInputSaturation(t *testing.T) {
	f := loadToy(t)
	p := f.prog[quant.MethodNaive]
	c := p.Config
	size := c.Channels * c.ImgH * c.ImgW
	img := append([]float64(nil), f.imgs[:size]...)
	img[0], img[5], img[size-1] = 100, -100, 1e9
	r, err := Run(p, img, 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Ops[0].Saturations; got != 3 {
		t.Errorf("%d input saturations, want 3", got)
	}
}

func TestRunErrors(t *testing.T) {
	f := loadToy(t)
	p := f.prog[quant.MethodNaive]
	c := p.Config
	size := c.Channels * c.ImgH * c.ImgW
	nan := append([]float64(nil), f.imgs[:size]...)
	nan[17] = math.NaN()
	cases := []struct {
		name string
		p    *intprog.Program
		imgs []float64
		n    int
		want string
	}{
		{"short", p, f.imgs[:size-1], 1, "values for 1 images"},
		{"count", p, f.imgs[:size], 2, "values for 2 images"},
		{"negative", p, nil, -1, "values for -1 images"},
		{"nan", p, nan, 1, "image 0: input value 17 is NaN"},
		{"nil program", nil, f.imgs[:size], 1, "not built"},
		{"unbuilt program", &intprog.Program{Config: c}, f.imgs[:size], 1, "not built"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(tc.p, tc.imgs, tc.n, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	r, err := Run(p, nil, 0, Options{})
	if err != nil || r.Images != 0 || len(r.Ops) != len(p.List().Ops) {
		t.Errorf("no image: %v, %+v", err, r)
	}
}
