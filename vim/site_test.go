package vim

import (
	"math"
	"slices"
	"testing"
)

func TestPointNames(t *testing.T) {
	for _, tc := range []struct {
		pt   Point
		want string
	}{
		{Point{Site: SitePatchEmbed, Layer: LayerEmbed}, "patch_embed"},
		{Point{Site: SiteTokens, Layer: LayerEmbed}, "tokens"},
		{Point{Site: SiteResidual, Layer: 0}, "layers.0.residual"},
		{Point{Site: SiteNormOut, Layer: 2}, "layers.2.norm_out"},
		{Point{Site: SiteXZ, Layer: 1}, "layers.1.mixer.xz"},
		{Point{Site: SiteZGate, Layer: 1}, "layers.1.mixer.z_gate"},
		{Point{Site: SiteConvSiLU, Layer: 3, Dir: Fwd}, "layers.3.mixer.fwd.conv_silu"},
		{Point{Site: SiteSSMY, Layer: 12, Dir: Bwd}, "layers.12.mixer.bwd.ssm_y"},
		{Point{Site: SiteYComb, Layer: 0}, "layers.0.mixer.y_comb"},
		{Point{Site: SiteOut, Layer: 0}, "layers.0.out"},
		{Point{Site: SiteFeatures, Layer: LayerHead}, "features"},
		{Point{Site: SiteLogits, Layer: LayerHead}, "logits"},
	} {
		if got := tc.pt.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.pt, got, tc.want)
		}
	}
	seen := map[string]bool{}
	for _, s := range Sites() {
		if seen[s.String()] {
			t.Errorf("site name %q twice", s)
		}
		seen[s.String()] = true
	}
}

// TestHookSites checks that an At hook sees every site of every layer and
// direction once, in execution order, with the shapes of Site's doc.
func TestHookSites(t *testing.T) {
	m, _ := loadToy(t, toyWeights)
	c := m.Config
	D, E, L, M := c.Dim, c.DInner, c.Tokens(), c.Patches()
	shape := map[Site][2]int{SitePatchEmbed: {M, D}, SiteXZ: {L, 2 * E}, SiteXDbl: {L, c.XProjOut()},
		SiteFeatures: {1, D}, SiteLogits: {1, c.Classes}}
	for _, s := range []Site{SiteTokens, SiteResidual, SiteNormOut, SiteOut, SiteFinalResidual, SiteFinalNorm} {
		shape[s] = [2]int{L, D}
	}
	want := []Point{{Site: SitePatchEmbed, Layer: LayerEmbed}, {Site: SiteTokens, Layer: LayerEmbed}}
	for i := 0; i < c.Depth; i++ {
		for _, s := range []Site{SiteResidual, SiteNormOut, SiteXZ, SiteZGate} {
			want = append(want, Point{Site: s, Layer: i})
		}
		for d := 0; d < 2; d++ {
			for s := SiteConvIn; s <= SiteY; s++ {
				want = append(want, Point{Site: s, Layer: i, Dir: d})
			}
		}
		want = append(want, Point{Site: SiteYComb, Layer: i}, Point{Site: SiteOut, Layer: i})
	}
	for s := SiteFinalResidual; s <= SiteLogits; s++ {
		want = append(want, Point{Site: s, Layer: LayerHead})
	}
	var got []Point
	img := benchImage(c)
	_, err := NewNet[float64](m).NewPass(Hooks[float64]{At: func(pt Point, tn Tensor[float64]) {
		got = append(got, pt)
		sh, ok := shape[pt.Site]
		if !ok {
			sh = [2]int{L, E}
		}
		if tn.Rows != sh[0] || tn.Cols != sh[1] || len(tn.Data) != sh[0]*sh[1] {
			t.Errorf("%s: %d×%d (%d values), want %d×%d", pt, tn.Rows, tn.Cols, len(tn.Data), sh[0], sh[1])
		}
	}}).Forward(img)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("hook points\n got %v\nwant %v", got, want)
	}
}

// TestTapIsFixtureSites checks that Forward taps exactly the sites the
// fixture holds, and that an observing hook does not change the logits.
func TestTapIsFixtureSites(t *testing.T) {
	m, io := loadToy(t, toyWeights)
	in, _ := io.Get("input")
	size := len(in.Data) / in.Shape[0]
	var names []string
	logits, err := m.Forward(in.Data[:size], F64, func(name string, _ []int, _ []float64) { names = append(names, name) })
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, rt := range io.Tensors {
		if rt.Name != "input" && rt.Name != "logits" && rt.Name != "logits_f32" {
			want = append(want, rt.Name)
		}
	}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("taps %v\nfixture %v", names, want)
	}
	plain, _ := m.Forward(in.Data[:size], F64, nil)
	if !slices.Equal(logits, plain) {
		t.Error("tapping changed the logits")
	}
}

// countingScan is a Scanner that runs RefScan and counts its calls.
type countingScan[T Float] struct {
	RefScan[T]
	scans, gates int
}

func (s *countingScan[T]) Scan(in *ScanInput[T], y []T) { s.scans++; s.RefScan.Scan(in, y) }

func (s *countingScan[T]) Gate(in *ScanInput[T], y, out []T) { s.gates++; s.RefScan.Gate(in, y, out) }

// TestHooksChangeAndReplace checks that a replaced scan, a Step hook and
// Infer with hooks run, and that a hook changing a tensor changes the
// result downstream (and only then).
func TestHooksChangeAndReplace(t *testing.T) {
	m, io := loadToy(t, toyWeights)
	c := m.Config
	in, _ := io.Get("input")
	n := in.Shape[0]
	size := len(in.Data) / n
	img := in.Data[:size]
	for _, p := range []Precision{F64, F32} {
		want, _ := m.Forward(img, p, nil)
		var got []float64
		var scans, gates, steps int
		switch p {
		case F64:
			sc := &countingScan[float64]{}
			got, _ = NewNet[float64](m).NewPass(Hooks[float64]{Scan: sc, Step: func(Point, int, []float64) { steps++ }}).Forward(img)
			scans, gates = sc.scans, sc.gates
		case F32:
			sc := &countingScan[float32]{}
			got, _ = NewNet[float32](m).NewPass(Hooks[float32]{Scan: sc, Step: func(Point, int, []float32) { steps++ }}).Forward(convert[float32](img))
			scans, gates = sc.scans, sc.gates
		}
		if !slices.Equal(got, want) {
			t.Errorf("%v: replaced reference scan gives other logits", p)
		}
		if scans != 2*c.Depth || gates != 2*c.Depth || steps != 2*c.Depth*c.Tokens() {
			t.Errorf("%v: %d scans, %d gates, %d steps; want %d, %d, %d", p, scans, gates, steps, 2*c.Depth, 2*c.Depth, 2*c.Depth*c.Tokens())
		}
	}
	// Halving the scan output of one direction of the last layer moves the logits.
	want, _ := m.Forward(img, F64, nil)
	half := func(pt Point, tn Tensor[float64]) {
		if pt.Site == SiteSSMY && pt.Layer == c.Depth-1 && pt.Dir == Bwd {
			for j := range tn.Data {
				tn.Data[j] /= 2
			}
		}
	}
	got, _ := NewNet[float64](m).NewPass(Hooks[float64]{At: half}).Forward(img)
	var d float64
	for j := range got {
		d = math.Max(d, math.Abs(got[j]-want[j]))
	}
	if d == 0 {
		t.Error("changing ssm_y in a hook did not change the logits")
	}
	all, err := NewNet[float64](m).Infer(in.Data, n, func() Hooks[float64] { return Hooks[float64]{At: half} })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(all[:c.Classes], got) {
		t.Error("Net.Infer with hooks differs from Pass.Forward")
	}
}
