package data

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/vim"
)

// readPNG decodes a golden PNG into 8-bit planes: 1 for gray, 3 for RGB.
func readPNG(t *testing.T, name string) (planes [][]uint8, w, h int) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "pil", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	switch img.(type) {
	case *image.Gray:
		planes = [][]uint8{make([]uint8, w*h)}
	default:
		planes = [][]uint8{make([]uint8, w*h), make([]uint8, w*h), make([]uint8, w*h)}
	}
	for y := range h {
		for x := range w {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			for i, v := range []uint8{c.R, c.G, c.B}[:len(planes)] {
				planes[i][y*w+x] = v
			}
		}
	}
	return planes, w, h
}

func loadPNG(t *testing.T, name string) image.Image {
	t.Helper()
	img, err := decodeImageFile(filepath.Join("testdata", "pil", name))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestResizeMatchesPillow checks resizeBicubic bit for bit against Pillow's
// Image.resize(BICUBIC) (testdata/mkgolden.py).
func TestResizeMatchesPillow(t *testing.T) {
	cases := map[string][][2]int{
		"rgb":  {{50, 31}, {20, 13}, {37, 60}, {64, 23}, {5, 3}, {111, 69}},
		"gray": {{32, 32}, {13, 17}, {100, 90}, {28, 9}, {256, 256}},
	}
	for name, sizes := range cases {
		src, w, h := readPNG(t, "src_"+name+".png")
		for _, s := range sizes {
			want, _, _ := readPNG(t, fmt.Sprintf("resize_%s_%dx%d.png", name, s[0], s[1]))
			for c := range src {
				got := resizeBicubic(src[c], w, h, s[0], s[1])
				if diff := countDiff(got, want[c]); diff != 0 {
					t.Errorf("%s %dx%d→%dx%d channel %d: %d of %d pixels differ from Pillow", name, w, h, s[0], s[1], c, diff, len(got))
				}
			}
		}
	}
}

func countDiff(a, b []uint8) int {
	if len(a) != len(b) {
		return max(len(a), len(b))
	}
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// TestEvalTransformMatchesPillow runs the whole preprocessing (resize the
// shorter side, center crop, channels, normalisation) against the
// torchvision transform computed with Pillow.
func TestEvalTransformMatchesPillow(t *testing.T) {
	mean, std := []float64{0.485, 0.456, 0.406}, []float64{0.229, 0.224, 0.225}
	for _, src := range []struct{ name, mode string }{{"rgb", "RGB"}, {"gray", "L"}, {"rgb", "L"}} {
		img := loadPNG(t, "src_"+src.name+".png")
		for _, hw := range [][2]int{{16, 16}, {12, 20}, {21, 9}, {224, 224}} {
			want, ww, wh := readPNG(t, fmt.Sprintf("eval_%s_%s_%dx%d.png", src.name, src.mode, hw[0], hw[1]))
			if ww != hw[1] || wh != hw[0] {
				t.Fatalf("golden size %dx%d", ww, wh)
			}
			channels := 3
			if src.mode == "L" && src.name == "rgb" {
				channels = 1 // luminance conversion inside the preprocessor
			}
			cfg := vim.Config{ImgH: hw[0], ImgW: hw[1], Channels: channels, Mean: mean[:channels], Std: std[:channels]}
			p, err := NewPreprocessor(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float64, p.Len())
			if err := p.Apply(img, got); err != nil {
				t.Fatal(err)
			}
			n := hw[0] * hw[1]
			bad := 0
			for c := range channels {
				plane := want[min(c, len(want)-1)] // gray golden replicated into 3 channels
				for i, v := range plane {
					if e := (float64(v)/255 - mean[c]) / std[c]; got[c*n+i] != e {
						bad++
					}
				}
			}
			if bad != 0 {
				t.Errorf("%s→%s %dx%d: %d of %d values differ from the Pillow transform", src.name, src.mode, hw[0], hw[1], bad, channels*n)
			}
		}
	}
}

// slowResize is the textbook definition of Pillow's bicubic resampling in
// float64: normalised Keys-kernel weights (a=-0.5) stretched by the scale
// when shrinking, a horizontal then a vertical pass each rounded to a byte.
// It shares no code with resizeBicubic (no fixed point, no tables).
func slowResize(src []uint8, w, h, nw, nh int) []uint8 {
	keys := func(x float64) float64 {
		x = math.Abs(x)
		switch {
		case x < 1:
			return 1.5*x*x*x - 2.5*x*x + 1
		case x < 2:
			return -0.5*x*x*x + 2.5*x*x - 4*x + 2
		}
		return 0
	}
	pass := func(get func(i int) float64, in, out int) []float64 {
		scale := float64(in) / float64(out)
		fs := math.Max(scale, 1)
		res := make([]float64, out)
		for o := range out {
			center := (float64(o) + 0.5) * scale
			var sum, wsum float64
			for i := range in {
				// Pillow's window: |i + 0.5 - center| within the support,
				// rounded to whole pixels as (int)(center ± support + 0.5).
				if i < int(center-2*fs+0.5) || i >= int(center+2*fs+0.5) {
					continue
				}
				wt := keys((float64(i) + 0.5 - center) / fs)
				sum += wt * get(i)
				wsum += wt
			}
			res[o] = math.Max(0, math.Min(255, math.Floor(sum/wsum+0.5)))
		}
		return res
	}
	cur := make([]float64, len(src))
	for i, v := range src {
		cur[i] = float64(v)
	}
	cw := w
	if nw != w {
		next := make([]float64, nw*h)
		for y := range h {
			copy(next[y*nw:], pass(func(i int) float64 { return cur[y*cw+i] }, w, nw))
		}
		cur, cw = next, nw
	}
	if nh != h {
		next := make([]float64, cw*nh)
		for x := range cw {
			col := pass(func(i int) float64 { return cur[i*cw+x] }, h, nh)
			for y, v := range col {
				next[y*cw+x] = v
			}
		}
		cur = next
	}
	out := make([]uint8, len(cur))
	for i, v := range cur {
		out[i] = uint8(v)
	}
	return out
}

// TestResizeProperty compares resizeBicubic with slowResize on random images
// and sizes. The 22-bit fixed-point weights may move a value sitting on a
// rounding boundary by one level; in a two-pass resize the vertical filter
// (gain up to ~1.3 with its negative lobes) can carry such a one-level
// intermediate difference to two. Nothing may differ by more, and few
// values may differ at all.
func TestResizeProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var total, off int
	for trial := range 300 {
		w, h := 1+rng.IntN(40), 1+rng.IntN(40)
		nw, nh := 1+rng.IntN(60), 1+rng.IntN(60)
		switch trial % 4 {
		case 1:
			nh = h // horizontal pass only
		case 2:
			nw = w // vertical pass only
		}
		tol := 1
		if nw != w && nh != h {
			tol = 2
		}
		src := make([]uint8, w*h)
		smooth := trial%2 == 0
		for i := range src {
			if smooth {
				src[i] = uint8((i%w)*255/max(w-1, 1)/2 + (i/w)*255/max(h-1, 1)/2)
			} else {
				src[i] = uint8(rng.IntN(256))
			}
		}
		got := resizeBicubic(src, w, h, nw, nh)
		want := slowResize(src, w, h, nw, nh)
		if len(got) != nw*nh {
			t.Fatalf("%dx%d→%dx%d: %d pixels", w, h, nw, nh, len(got))
		}
		for i := range got {
			d := int(got[i]) - int(want[i])
			if d < -tol || d > tol {
				t.Fatalf("%dx%d→%dx%d pixel %d: %d, reference %d", w, h, nw, nh, i, got[i], want[i])
			}
			if d != 0 {
				off++
			}
		}
		total += len(got)
	}
	if float64(off) > 0.001*float64(total) {
		t.Errorf("%d of %d pixels one level off the float reference; want ≤ 0.1%%", off, total)
	}
}

func TestPassThroughAndReplication(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 5, 4))
	for i := range g.Pix {
		g.Pix[i] = uint8(i * 13)
	}
	gray1, err := NewPreprocessor(vim.Config{ImgH: 4, ImgW: 5, Channels: 1, Mean: []float64{0.25}, Std: []float64{0.5}})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, 20)
	if err := gray1.Apply(g, out); err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		if want := (float64(i*13)/255 - 0.25) / 0.5; v != want {
			t.Fatalf("pass-through value %d = %g, want %g (pixel/255, no resize)", i, v, want)
		}
	}
	// Gray into a 3-channel model: replicated, each channel normalised
	// with its own mean/std.
	mean, std := []float64{0.1, 0.2, 0.3}, []float64{0.5, 0.25, 2}
	rgb3, err := NewPreprocessor(vim.Config{ImgH: 4, ImgW: 5, Channels: 3, Mean: mean, Std: std})
	if err != nil {
		t.Fatal(err)
	}
	out3 := make([]float64, 60)
	if err := rgb3.Apply(g, out3); err != nil {
		t.Fatal(err)
	}
	for c := range 3 {
		for i := range 20 {
			if want := (float64(g.Pix[i])/255 - mean[c]) / std[c]; out3[c*20+i] != want {
				t.Fatalf("channel %d value %d = %g, want %g", c, i, out3[c*20+i], want)
			}
		}
	}
	// A sub-image (non-zero origin) reads its own pixels.
	sub := g.SubImage(image.Rect(1, 1, 4, 3))
	p, _ := NewPreprocessor(vim.Config{ImgH: 2, ImgW: 3, Channels: 1})
	o := make([]float64, 6)
	if err := p.Apply(sub, o); err != nil {
		t.Fatal(err)
	}
	if want := float64(g.Pix[1*5+1]) / 255; o[0] != want {
		t.Errorf("sub-image first value %g, want %g", o[0], want)
	}
}

func TestColorConversion(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	cols := []color.NRGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {10, 200, 30, 0}, {128, 128, 128, 255}, {1, 2, 3, 77}}
	for i, c := range cols {
		img.SetNRGBA(i%3, i/3, c)
	}
	// RGB into 1 channel: Pillow's L = (19595 R + 38470 G + 7471 B + 2^15) >> 16.
	p1, _ := NewPreprocessor(vim.Config{ImgH: 2, ImgW: 3, Channels: 1})
	out := make([]float64, 6)
	if err := p1.Apply(img, out); err != nil {
		t.Fatal(err)
	}
	for i, c := range cols {
		l := (19595*int(c.R) + 38470*int(c.G) + 7471*int(c.B) + 1<<15) >> 16
		if want := float64(l) / 255; out[i] != want {
			t.Errorf("pixel %d %v: luminance %g, want %g", i, c, out[i]*255, want*255)
		}
	}
	// RGB into 3 channels: alpha dropped, straight (not premultiplied) values.
	p3, _ := NewPreprocessor(vim.Config{ImgH: 2, ImgW: 3, Channels: 3})
	out3 := make([]float64, 18)
	if err := p3.Apply(img, out3); err != nil {
		t.Fatal(err)
	}
	for i, c := range cols {
		for ch, v := range []uint8{c.R, c.G, c.B} {
			if got := out3[ch*6+i] * 255; math.Abs(got-float64(v)) > 1e-9 {
				t.Errorf("pixel %d channel %d = %g, want %d", i, ch, got, v)
			}
		}
	}
	// The generic path (a paletted image) agrees with the NRGBA fast path.
	pal := image.NewPaletted(img.Bounds(), color.Palette{cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(i)
	}
	outP := make([]float64, 18)
	if err := p3.Apply(pal, outP); err != nil {
		t.Fatal(err)
	}
	for i := range outP {
		if outP[i] != out3[i] {
			t.Fatalf("paletted value %d = %g, NRGBA %g", i, outP[i], out3[i])
		}
	}
	// RGB into a 2-channel model is refused; gray is replicated into any.
	p2, _ := NewPreprocessor(vim.Config{ImgH: 2, ImgW: 3, Channels: 2})
	if err := p2.Apply(img, make([]float64, 12)); err == nil || !strings.Contains(err.Error(), "2-channel") {
		t.Errorf("RGB into 2 channels: error %v", err)
	}
	if err := p2.Apply(image.NewGray(img.Bounds()), make([]float64, 12)); err != nil {
		t.Errorf("gray into 2 channels: %v", err)
	}
}

func TestPreprocessorErrors(t *testing.T) {
	for _, cfg := range []vim.Config{
		{ImgH: 0, ImgW: 4, Channels: 1},
		{ImgH: 4, ImgW: 4, Channels: 3, Mean: []float64{1, 2}},
		{ImgH: 4, ImgW: 4, Channels: 1, Std: []float64{0}},
		{ImgH: 4, ImgW: 4, Channels: 1, Std: []float64{math.Inf(1)}},
		{ImgH: 4, ImgW: 4, Channels: 1, Mean: []float64{math.NaN()}},
	} {
		if _, err := NewPreprocessor(cfg); err == nil {
			t.Errorf("NewPreprocessor(%+v) succeeded", cfg)
		}
	}
	p, _ := NewPreprocessor(vim.Config{ImgH: 4, ImgW: 4, Channels: 1})
	if err := p.Apply(image.NewGray(image.Rect(0, 0, 4, 4)), make([]float64, 3)); err == nil {
		t.Error("Apply into a short buffer succeeded")
	}
	if err := p.Apply(image.NewGray(image.Rect(0, 0, 0, 4)), make([]float64, 16)); err == nil {
		t.Error("Apply of an empty image succeeded")
	}
}

func TestParseChannelValues(t *testing.T) {
	for _, tc := range []struct {
		in       string
		channels int
		want     string // fmt of the values, or "error: ..." substring
	}{
		{"0.5", 3, "[0.5]"},
		{"0.485, 0.456,0.406", 3, "[0.485 0.456 0.406]"},
		{"0.2860", 1, "[0.286]"},
		{"-1e-1", 1, "[-0.1]"},
		{"0.1,0.2", 3, "error: 2 values, want 1 or 3"},
		{"0.1,0.2", 1, "error: 2 values, want 1 (the model has one channel)"},
		{"a,b", 1, `error: "a" is not a finite number`},
		{"0.1,0.2", 0, "[0.1 0.2]"},
		{"abc", 1, `error: "abc" is not a finite number`},
		{"NaN", 1, "error: not a finite"},
		{"inf", 1, "error: not a finite"},
		{"", 1, `error: "" is not a finite number`},
		{"0.1,,0.3", 3, "error: not a finite"},
	} {
		v, err := ParseChannelValues("mean", tc.in, tc.channels)
		got := fmt.Sprint(v)
		if err != nil {
			got = "error: " + err.Error()
		}
		if strings.HasPrefix(tc.want, "error: ") {
			if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(tc.want, "error: ")) || !strings.Contains(err.Error(), "--mean") {
				t.Errorf("ParseChannelValues(%q, %d) = %s, want %s naming --mean", tc.in, tc.channels, got, tc.want)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("ParseChannelValues(%q, %d) = %s, want %s", tc.in, tc.channels, got, tc.want)
		}
	}
}

func TestOverrideNorm(t *testing.T) {
	base := vim.Config{ImgH: 2, ImgW: 2, Channels: 3, Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}}
	cfg, err := OverrideNorm(base, "0.5", "")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cfg.Mean, cfg.Std) != "[0.5] [0.229 0.224 0.225]" {
		t.Errorf("override mean only: %v %v", cfg.Mean, cfg.Std)
	}
	if fmt.Sprint(base.Mean) != "[0.485 0.456 0.406]" {
		t.Error("OverrideNorm modified its argument")
	}
	cfg, err = OverrideNorm(base, "", "1,2,4")
	if err != nil || fmt.Sprint(cfg.Mean, cfg.Std) != "[0.485 0.456 0.406] [1 2 4]" {
		t.Errorf("override std only: %v %v %v", cfg.Mean, cfg.Std, err)
	}
	for _, bad := range [][2]string{{"", "0"}, {"", "-1"}, {"", "1,0,1"}, {"1,2", ""}, {"x", ""}} {
		if _, err := OverrideNorm(base, bad[0], bad[1]); err == nil {
			t.Errorf("OverrideNorm(%q, %q) succeeded", bad[0], bad[1])
		}
	}
	// The override takes effect in the preprocessing.
	cfg, _ = OverrideNorm(vim.Config{ImgH: 1, ImgW: 1, Channels: 1}, "0.5", "0.25")
	p, _ := NewPreprocessor(cfg)
	out := make([]float64, 1)
	g := image.NewGray(image.Rect(0, 0, 1, 1))
	g.Pix[0] = 255
	if err := p.Apply(g, out); err != nil || out[0] != 2 {
		t.Errorf("(1 - 0.5) / 0.25 = %g, %v; want 2", out[0], err)
	}
}

func TestLoadImage(t *testing.T) {
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	path := filepath.Join(dir, "x.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cfg := vim.Config{ImgH: 16, ImgW: 16, Channels: 3, Mean: []float64{0.5}, Std: []float64{0.5}}
	got, err := LoadImage(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := NewPreprocessor(cfg)
	want := make([]float64, p.Len())
	if err := p.Apply(img, want); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("LoadImage: %d values, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("LoadImage value %d = %g, Apply %g", i, got[i], want[i])
		}
	}
	for _, tc := range []struct{ name, content, want string }{
		{"missing.png", "", "no such file"},
		{"bad.png", "not an image", "decode"},
		{"trunc.png", "\x89PNG\r\n\x1a\n\x00\x00", "decode"},
	} {
		p := filepath.Join(dir, tc.name)
		if tc.content != "" {
			os.WriteFile(p, []byte(tc.content), 0o644)
		}
		if _, err := LoadImage(p, cfg); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadImage(%s): error %v, want one naming the file and containing %q", tc.name, err, tc.want)
		}
	}
}

// FuzzParseChannelValues: no panic; an accepted value has 1 or channels
// finite numbers.
func FuzzParseChannelValues(f *testing.F) {
	f.Add("0.485,0.456,0.406", 3)
	f.Add("0.5", 1)
	f.Add("1e308,-1e-308,0x1p-2", 3)
	f.Fuzz(func(t *testing.T, s string, channels int) {
		channels = 1 + (channels&0xff)%8
		v, err := ParseChannelValues("std", s, channels)
		if err != nil {
			if !strings.Contains(err.Error(), "--std") || strings.Contains(err.Error(), "\n") && !strings.Contains(s, "\n") {
				t.Fatalf("error %q does not name --std on one line", err)
			}
			return
		}
		if len(v) != 1 && len(v) != channels {
			t.Fatalf("%d values for %d channels", len(v), channels)
		}
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("accepted %g", x)
			}
		}
	})
}

// BenchmarkPreprocessImageNet is the eval transform of a typical ImageNet
// validation JPEG (500x375, 4:2:0) into a 224x224 RGB model.
func BenchmarkPreprocessImageNet(b *testing.B) {
	yc := image.NewYCbCr(image.Rect(0, 0, 500, 375), image.YCbCrSubsampleRatio420)
	for i := range yc.Y {
		yc.Y[i] = uint8(i * 7)
	}
	for i := range yc.Cb {
		yc.Cb[i], yc.Cr[i] = uint8(i*3), uint8(i*5)
	}
	p, _ := NewPreprocessor(vim.Config{ImgH: 224, ImgW: 224, Channels: 3, Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}})
	out := make([]float64, p.Len())
	for b.Loop() {
		if err := p.Apply(yc, out); err != nil {
			b.Fatal(err)
		}
	}
}
