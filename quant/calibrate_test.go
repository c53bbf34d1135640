package quant

import (
	"bytes"
	"errors"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/vim"
	"github.com/vimsim/vimsim/vim/ckpt"
)

// encoded returns the artifact bytes of q.
func encoded(t *testing.T, q *QModel) []byte {
	t.Helper()
	f, err := q.File()
	if err != nil {
		t.Fatal(err)
	}
	b, err := ckpt.EncodeSafetensors(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCalibrateDeterministic checks that the artifact depends only on the
// model, the images and the options: not on Workers nor GOMAXPROCS.
func TestCalibrateDeterministic(t *testing.T) {
	m := toyModel(t)
	imgs := randomImages(m.Config, 5, 21)
	var ref []byte
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range []struct{ procs, workers int }{{2, 0}, {1, 1}, {4, 3}, {2, 5}} {
		runtime.GOMAXPROCS(tc.procs)
		o := fastOptions(MethodPaper)
		o.Workers = tc.workers
		q, err := Calibrate(m, imgs, o)
		if err != nil {
			t.Fatal(err)
		}
		b := encoded(t, q)
		if ref == nil {
			ref = b
		} else if !bytes.Equal(b, ref) {
			t.Fatalf("GOMAXPROCS %d, workers %d: artifact differs", tc.procs, tc.workers)
		}
	}
	// A different seed samples other token rows: the artifact changes.
	o := fastOptions(MethodPaper)
	o.Seed = 99
	q, err := Calibrate(m, imgs, o)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(encoded(t, q), ref) {
		t.Error("the seed has no effect")
	}
}

// TestMethodsFormats checks what each method switches on.
func TestMethodsFormats(t *testing.T) {
	m := toyModel(t)
	imgs := randomImages(m.Config, 4, 22)
	for _, method := range Methods() {
		t.Run(method, func(t *testing.T) {
			rec, _ := recipeOf(method)
			q, err := Calibrate(m, imgs, fastOptions(method))
			if err != nil {
				t.Fatal(err)
			}
			if q.Method != method {
				t.Fatalf("method %q", q.Method)
			}
			grouped := 0
			for _, p := range q.Describe() {
				if p.Kind == "activation" && !strings.HasSuffix(p.Format, "tensor") {
					grouped++
					if strings.Contains(p.Name, "out_proj") || strings.Contains(p.Name, "ssm") {
						if !strings.HasSuffix(p.Format, "-token-p2") {
							t.Errorf("%s: %s, want token-wise power-of-two groups", p.Name, p.Format)
						}
					} else if !strings.HasSuffix(p.Format, "-channel") {
						t.Errorf("%s: %s, want channel groups", p.Name, p.Format)
					}
				}
			}
			// Per layer: act_z, out_proj + per direction conv, act, softplus, ssm.
			if want := map[bool]int{false: 0, true: m.Config.Depth * (2 + 2*4)}[rec.kscale]; grouped != want {
				t.Errorf("%d k-scaled quantizers, want %d", grouped, want)
			}
			for i, l := range q.Layers {
				for d, qd := range l.Dir {
					s := qd.SSM
					if (s.RC != nil) != rec.reparam {
						t.Errorf("layer %d dir %d: factors present = %v", i, d, s.RC != nil)
					}
					if len(s.HScale) != m.Config.Tokens() {
						t.Errorf("layer %d dir %d: %d hidden-state scales", i, d, len(s.HScale))
					}
					want := slices.Clone(m.Layers[i].Dir[d].XProj)
					if rec.reparam {
						foldRD(want, make([]float64, m.Config.XProjOut()), s.RD, m.Config.DtRank, m.Config.DState, m.Config.DInner)
					}
					got := qd.XProj.W.Dequantize()
					for j := range want {
						if math.Abs(got[j]-want[j]) > qd.XProj.W.Scales[0]*0.5000001 && math.Abs(want[j]) < 127*qd.XProj.W.Scales[0] {
							t.Fatalf("layer %d dir %d: x_proj weight %d = %g, folded float %g", i, d, j, got[j], want[j])
						}
					}
				}
				if !rec.search {
					w := m.Layers[i].InProj
					if l.InProj.W.Scales[0] != MinMaxScale(maxAbs(w), 8) {
						t.Errorf("layer %d: naive in_proj weight scale is not min-max", i)
					}
				}
			}
		})
	}
}

// TestQuantizedCloseToFloat is a sanity check: at W8A8 every method stays
// close to the float model on the toy network.
func TestQuantizedCloseToFloat(t *testing.T) {
	m := toyModel(t)
	imgs := randomImages(m.Config, 6, 23)
	ev := randomImages(m.Config, 4, 24)
	for _, method := range Methods() {
		q, err := Calibrate(m, imgs, fastOptions(method))
		if err != nil {
			t.Fatal(err)
		}
		got, err := q.Infer(ev.Data, ev.Len())
		if err != nil {
			t.Fatal(err)
		}
		want, _ := m.Infer(ev.Data, ev.Len(), vim.F64)
		if c := cosine(got, want); c < 0.99 {
			t.Errorf("%s: logits cosine %.4f with the float model", method, c)
		}
	}
}

type failingImages struct{ SliceImages }

func (f failingImages) Image(i int, dst []float64) error {
	if i == 1 {
		return errors.New("disk on fire")
	}
	return f.SliceImages.Image(i, dst)
}

func TestCalibrateErrors(t *testing.T) {
	m := toyModel(t)
	imgs := randomImages(m.Config, 2, 25)
	for _, tc := range []struct {
		name string
		mod  func(o *Options)
		src  Images
		want string
	}{
		{"method", func(o *Options) { o.Method = "magic" }, imgs, `unknown quantization method "magic"`},
		{"wbits", func(o *Options) { o.WBits = 3 }, imgs, "weight bits 3"},
		{"abits", func(o *Options) { o.ABits = 9 }, imgs, "activation bits 9"},
		{"hbits", func(o *Options) { o.HBits = 2 }, imgs, "hidden-state bits 2"},
		{"k", func(o *Options) { o.K = 0 }, imgs, "k = 0"},
		{"rounds", func(o *Options) { o.Rounds = 0 }, imgs, "search rounds"},
		{"no images", func(o *Options) {}, SliceImages{Size: 5}, "no calibration images"},
		{"nil images", func(o *Options) {}, nil, "no calibration images"},
		{"wrong size", func(o *Options) {}, SliceImages{Data: make([]float64, 10), Size: 5}, "calibration image 0"},
		{"failing", func(o *Options) {}, failingImages{imgs}, "disk on fire"},
	} {
		o := fastOptions(MethodPaper)
		tc.mod(&o)
		_, err := Calibrate(m, tc.src, o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// TestHiddenSearchChain checks the float chain of the hidden-state search
// against the network: y′ of every step equals the forward's y / r_C.
func TestHiddenSearchChain(t *testing.T) {
	m := toyModel(t)
	imgs := randomImages(m.Config, 3, 26)
	o, rec, err := fastOptions(MethodPaper).validate()
	if err != nil {
		t.Fatal(err)
	}
	o.SSMImages = 3
	c := newCalibrator(m, imgs, o, rec)
	cfg := m.Config
	L, E, N := cfg.Tokens(), cfg.DInner, cfg.DState
	w := c.net.NewPass(vim.Hooks[float64]{})
	c.res, c.hid = make([][]float64, 3), make([][]float64, 3)
	for b := 0; b < 3; b++ {
		if err := w.Embed(imgs.Data[b*imgs.Size : (b+1)*imgs.Size]); err != nil {
			t.Fatal(err)
		}
		c.hid[b] = slices.Clone(w.Hidden)
		c.res[b] = make([]float64, L*cfg.Dim)
	}
	// Keep copies of the layer input to recompute the float outputs.
	res0 := make([][]float64, 3)
	for b := range res0 {
		res0[b] = slices.Clone(c.hid[b])
	}
	st, err := c.passA(0, []*slot{c.newSlot(), c.newSlot()})
	if err != nil {
		t.Fatal(err)
	}
	// The scan output y′ of each direction of the block rerun below.
	var ys [2][]float64
	w = c.net.NewPass(vim.Hooks[float64]{At: func(pt vim.Point, t vim.Tensor[float64]) {
		if pt.Site == vim.SiteSSMY {
			ys[pt.Dir] = slices.Clone(t.Data)
		}
	}})
	for d := 0; d < 2; d++ {
		ds := &st.dir[d]
		f := determineFactors(ds.h.sum, float64(st.images), L, E, N)
		hs := &hSearch{E: E, L: L, N: N, a: negExp(m.Layers[0].Dir[d].ALog), f: f, bits: 8, imgs: ds.ssm, workers: 2}
		init := make([]float64, L)
		for s := range init {
			init[s] = 1
		}
		if _, err := hs.run(init); err != nil {
			t.Fatal(err)
		}
		for b := 0; b < 3; b++ {
			w.Residual, w.Hidden = make([]float64, L*cfg.Dim), slices.Clone(res0[b])
			w.Block(0)
			y := ys[d]
			for s := 0; s < L; s++ {
				for e := 0; e < E; e++ {
					want := y[s*E+e] / f.rC[e]
					got := hs.yfp[(b*L+s)*E+e]
					if math.Abs(got-want) > 1e-9*(math.Abs(want)+1e-3) {
						t.Fatalf("dir %d image %d step %d channel %d: search chain y′ %g, forward %g", d, b, s, e, got, want)
					}
				}
			}
		}
	}
}

// TestReparamCost checks the multiply count of ptq-method.md §6 for Vim-Ti:
// 12,688 per token and direction, ≈120 M per image.
func TestReparamCost(t *testing.T) {
	c, _ := vim.Preset("vim-ti")
	cost := Cost(c)
	if cost.NaivePerToken != 12688 || cost.NaivePerImage != 12688*197*2*24 || cost.FoldedPerImage != 0 || cost.Saved != cost.NaivePerImage {
		t.Fatalf("%+v", cost)
	}
	if math.Abs(float64(cost.NaivePerImage)-120.0e6) > 0.1e6 {
		t.Errorf("Vim-Ti naive cost %d, want ≈120.0 M", cost.NaivePerImage)
	}
}

// TestDetermineFactors checks §5.4 on a separable profile against a slow
// evaluation of the formula.
func TestDetermineFactors(t *testing.T) {
	L, E, N := 5, 4, 3
	images := 2.0
	hSum := make([]float64, L*E*N)
	for t := 0; t < L; t++ {
		for e := 0; e < E; e++ {
			for n := 0; n < N; n++ {
				hSum[(t*E+e)*N+n] = images * float64(1+t) * math.Pow(10, float64(e)) * float64(2+n*n)
			}
		}
	}
	f := determineFactors(hSum, images, L, E, N)
	rep := func(axis int) []float64 {
		sizes := []int{E, L, N}
		out := make([]float64, sizes[axis])
		for t := 0; t < L; t++ {
			for e := 0; e < E; e++ {
				for n := 0; n < N; n++ {
					m := hSum[(t*E+e)*N+n] / images
					out[[]int{e, t, n}[axis]] += m / float64(L*E*N/sizes[axis])
				}
			}
		}
		return out
	}
	std := func(v []float64) float64 {
		var mu, ss float64
		for _, x := range v {
			mu += x / float64(len(v))
		}
		for _, x := range v {
			ss += (x - mu) * (x - mu)
		}
		return math.Sqrt(ss / float64(len(v)-1))
	}
	reps := [][]float64{rep(0), rep(1), rep(2)}
	sum := std(reps[0]) + std(reps[1]) + std(reps[2])
	for i, got := range [][]float64{f.rC, f.rL, f.rD} {
		p := std(reps[i]) / sum
		for j, v := range got {
			if want := math.Pow(reps[i][j], p) + 1e-15; math.Abs(v-want) > 1e-12*want {
				t.Errorf("factor %d[%d] = %g, want %g", i, j, v, want)
			}
		}
	}
}
