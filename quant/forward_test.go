package quant

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vimsim/vimsim/vim"
)

// toyModel is the embedded float64 fixture model (64x64x3, L = 17, depth 4).
func toyModel(t testing.TB) *vim.Model {
	t.Helper()
	m, err := vim.Load("vim-toy", vim.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// randomImages returns n seeded images of the model's input size, values
// roughly those of normalised pixels.
func randomImages(c vim.Config, n int, seed uint64) SliceImages {
	size := c.Channels * c.ImgH * c.ImgW
	rng := rand.New(rand.NewPCG(seed, 7))
	data := make([]float64, n*size)
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	return SliceImages{Data: data, Size: size}
}

// maxRelDiff returns max|a−b| / max|b|.
func maxRelDiff(a, b []float64) float64 {
	var d, m float64
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
		m = math.Max(m, math.Abs(b[i]))
	}
	return d / m
}

// randomFactors returns positive factors spanning several decades, like
// the official r_C (§5.5).
func randomFactors(c vim.Config, seed uint64) factors {
	rng := rand.New(rand.NewPCG(seed, 11))
	f := func(n int, lo, hi float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Exp(math.Log(lo) + rng.Float64()*(math.Log(hi)-math.Log(lo)))
		}
		return v
	}
	return factors{rC: f(c.DInner, 1e-3, 40), rL: f(c.Tokens(), 0.1, 1), rD: f(c.DState, 0.3, 1.2)}
}

// reparamNetwork returns the float network of m with the factors of fs
// applied to every scan: folded (r_D in x_proj rows, the rest in the
// per-token/per-channel constants) or explicit (§5.7), no quantizer.
func reparamNetwork(m *vim.Model, fs func(layer, dir int) factors, explicit bool) *network {
	c := m.Config
	fm := &vim.Model{Config: c, PatchW: m.PatchW, PatchB: m.PatchB, ClsToken: m.ClsToken, PosEmbed: m.PosEmbed,
		NormF: m.NormF, HeadW: m.HeadW, HeadB: m.HeadB, Layers: slices.Clone(m.Layers)}
	ssm := make([][2]ssmSpec, len(m.Layers))
	R, N, E := c.DtRank, c.DState, c.DInner
	for i := range m.Layers {
		for d := 0; d < 2; d++ {
			f := fs(i, d)
			spec := ssmSpec{rC: f.rC, rL: f.rL, hBits: 8, explicit: explicit}
			if explicit {
				spec.rD = f.rD
			} else {
				xp := slices.Clone(fm.Layers[i].Dir[d].XProj)
				foldRD(xp, make([]float64, c.XProjOut()), f.rD, R, N, E)
				fm.Layers[i].Dir[d].XProj = xp
			}
			ssm[i][d] = spec
		}
	}
	return &network{net: vim.NewNet[float64](fm), ssm: ssm}
}

// forward runs the network on one image.
func (n *network) forward(t testing.TB, img []float64) []float64 {
	t.Helper()
	logits, err := n.newPass(nil).Forward(img)
	if err != nil {
		t.Fatal(err)
	}
	return logits
}

func TestFloatForwardMatchesVim(t *testing.T) {
	m := toyModel(t)
	imgs := randomImages(m.Config, 3, 1)
	net := &network{net: vim.NewNet[float64](m)}
	for i := 0; i < imgs.Len(); i++ {
		img := imgs.Data[i*imgs.Size : (i+1)*imgs.Size]
		want, err := m.Forward(img, vim.F64, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := net.forward(t, img)
		if d := maxRelDiff(got, want); d > 1e-12 {
			t.Errorf("image %d: float network differs from vim.Forward by %.3g relative", i, d)
		}
	}
}

// TestReparameterizationExact checks that the reparameterized scan, with
// the factors folded or applied explicitly, gives the float reference's
// logits within 1e-9 relative when nothing is quantized.
func TestReparameterizationExact(t *testing.T) {
	m := toyModel(t)
	imgs := randomImages(m.Config, 2, 2)
	random := func(i, d int) factors { return randomFactors(m.Config, uint64(10*i+d)) }
	calibrated, err := Calibrate(m, randomImages(m.Config, 4, 3), fastOptions(MethodPaper))
	if err != nil {
		t.Fatal(err)
	}
	fromCalib := func(i, d int) factors {
		s := &calibrated.Layers[i].Dir[d].SSM
		return factors{rC: s.RC, rL: s.RL, rD: s.RD}
	}
	for _, tc := range []struct {
		name     string
		fs       func(i, d int) factors
		explicit bool
	}{
		{"random folded", random, false},
		{"random explicit", random, true},
		{"calibrated folded", fromCalib, false},
		{"calibrated explicit", fromCalib, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			net := reparamNetwork(m, tc.fs, tc.explicit)
			for i := 0; i < imgs.Len(); i++ {
				img := imgs.Data[i*imgs.Size : (i+1)*imgs.Size]
				want, _ := m.Forward(img, vim.F64, nil)
				got := net.forward(t, img)
				if d := maxRelDiff(got, want); d > 1e-9 {
					t.Errorf("image %d: logits differ from the float reference by %.3g relative", i, d)
				}
			}
		})
	}
}

// TestFoldingPreservesQuantizedOutputs checks that the folded scan (r_L and
// sA in per-token/per-step constants, r_C in x̃ and the gate) computes the
// same quantized model as the explicit application of §5.7, with every
// quantizer on.
func TestFoldingPreservesQuantizedOutputs(t *testing.T) {
	m := toyModel(t)
	q, err := Calibrate(m, randomImages(m.Config, 4, 3), fastOptions(MethodPaper))
	if err != nil {
		t.Fatal(err)
	}
	folded := q.network()
	explicit := q.buildNetwork()
	for i := range explicit.ssm {
		for d := range explicit.ssm[i] {
			// x_proj keeps r_D folded (the official fold); r_L, sA, r_C explicit.
			explicit.ssm[i][d].explicit = true
		}
	}
	imgs := randomImages(m.Config, 3, 4)
	for i := 0; i < imgs.Len(); i++ {
		img := imgs.Data[i*imgs.Size : (i+1)*imgs.Size]
		a := folded.forward(t, img)
		b := explicit.forward(t, img)
		if d := maxRelDiff(a, b); d > 1e-9 {
			t.Errorf("image %d: folded and explicit quantized logits differ by %.3g relative", i, d)
		}
	}
}

// fastOptions are small search settings for tests.
func fastOptions(method string) Options {
	o := DefaultOptions()
	o.Method = method
	o.Rounds = 1
	o.SearchRows = 64
	o.SSMImages = 2
	return o
}

// TestTapsMatchVim checks that the float network's taps have vim's names,
// shapes and values, and that ForwardTap returns Forward's logits.
func TestTapsMatchVim(t *testing.T) {
	m := toyModel(t)
	imgs := randomImages(m.Config, 1, 31)
	want := map[string][]float64{}
	shapes := map[string][]int{}
	if _, err := m.Forward(imgs.Data, vim.F64, func(name string, shape []int, data []float64) {
		want[name] = slices.Clone(data)
		shapes[name] = slices.Clone(shape)
	}); err != nil {
		t.Fatal(err)
	}
	got := map[string][]float64{}
	tap := func(name string, shape []int, data []float64) {
		if s, ok := shapes[name]; ok && !slices.Equal(s, shape) {
			t.Errorf("%s: shape %v, vim %v", name, shape, s)
		}
		got[name] = data
	}
	if _, err := (&network{net: vim.NewNet[float64](m)}).newPass(tap).Forward(imgs.Data); err != nil {
		t.Fatal(err)
	}
	for name, v := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("no tap %s", name)
			continue
		}
		if d := maxRelDiff(g, v); d > 1e-12 {
			t.Errorf("%s differs from vim by %.3g", name, d)
		}
	}
	for _, extra := range []string{"layers.0.mixer.z_gate", "layers.3.mixer.bwd.conv", "layers.1.mixer.fwd.dt", "layers.2.mixer.bwd.ssm_y"} {
		if _, ok := got[extra]; !ok {
			t.Errorf("no tap %s", extra)
		}
	}
	q := toyQModel(t)
	a, err := q.Forward(imgs.Data)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	b, err := q.ForwardTap(imgs.Data, func(string, []int, []float64) { n++ })
	if err != nil || !slices.Equal(a, b) || n < 40 {
		t.Errorf("ForwardTap: %d taps, logits equal %v, err %v", n, slices.Equal(a, b), err)
	}
}
