package vim

import (
	"math"
	"strings"
	"testing"
)

// Parameter and MAC counts of vim-forward.md §1 and §6.
func TestPresetCounts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params int64
		macs   int64 // 0: check only the rounded figure below
		gmac   float64
		tokens int
		cls    int
	}{
		{"vim-ti", 7148008, 1467010560, 1.467, 197, 98},
		{"vim-s", 25796584, 0, 5.20, 197, 98},
		{"vim-b", 97598440, 0, 19.46, 197, 98},
		{"vim-ti-s8", 0, 0, 5.44, 730, 364},
	} {
		c, err := Preset(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if tc.params != 0 && c.ParamCount() != tc.params {
			t.Errorf("%s: params %d, want %d", tc.name, c.ParamCount(), tc.params)
		}
		if tc.macs != 0 && c.TotalMACs() != tc.macs {
			t.Errorf("%s: MACs %d, want %d", tc.name, c.TotalMACs(), tc.macs)
		}
		if g := float64(c.TotalMACs()) / 1e9; g < tc.gmac-0.006 || g > tc.gmac+0.006 {
			t.Errorf("%s: %.4f GMAC, want %.2f", tc.name, g, tc.gmac)
		}
		if c.Tokens() != tc.tokens || c.ClsPos() != tc.cls {
			t.Errorf("%s: L=%d cls=%d, want %d, %d", tc.name, c.Tokens(), c.ClsPos(), tc.tokens, tc.cls)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good, _ := Preset("vim-ti")
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		msg  string
	}{
		{"zero dim", func(c *Config) { c.Dim = 0 }, "dim must be positive"},
		{"patch too big", func(c *Config) { c.Patch = 300 }, "larger than image"},
		{"uneven stride", func(c *Config) { c.Stride = 5 }, "not covered exactly"},
		{"bad eps", func(c *Config) { c.Eps = 0 }, "eps"},
		{"std count", func(c *Config) { c.Std = []float64{1, 2} }, "mean/std has 2 values"},
		{"neg std", func(c *Config) { c.Std = []float64{-1} }, "std -1 must be positive"},
		{"inf std", func(c *Config) { c.Std = []float64{math.Inf(1)} }, "std +Inf must be positive"},
		{"NaN mean", func(c *Config) { c.Mean = []float64{math.NaN()} }, "mean NaN must be finite"},
		{"stride > patch", func(c *Config) { c.Stride = 32 }, "stride 32 larger than patch 16"},
		{"huge image", func(c *Config) { c.ImgH, c.ImgW = 100000, 100000 }, "img height = 100000 is too large (limit 32768)"},
		{"too many tokens", func(c *Config) { c.ImgH, c.ImgW, c.Patch, c.Stride = 32768, 32768, 1, 1 }, "gives 1073741825 tokens, more than 4194304"},
		{"too many MACs", func(c *Config) { c.ImgH, c.ImgW, c.Patch, c.Stride, c.DInner, c.Depth = 2000, 2000, 1, 1, 1<<18, 4096 }, "MACs per image exceed the limits"},
		{"overflowing dim", func(c *Config) { c.Dim = 1 << 40 }, "dim = 1099511627776 is too large"},
		{"negative depth", func(c *Config) { c.Depth = -1 }, "depth must be positive"},
		{"class names", func(c *Config) { c.ClassNames = []string{"a"} }, "1 class names for 1000 classes"},
	} {
		c := good
		tc.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.msg)
		}
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := Preset("vim-xl"); err == nil || !strings.Contains(err.Error(), "unknown model preset") {
		t.Fatalf("unknown preset: %v", err)
	}
}

func TestParseImgSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		h, w int
		ok   bool
	}{
		{"224", 224, 224, true}, {"28x28", 28, 28, true}, {"32X64", 32, 64, true},
		{"0x4", 0, 0, false}, {"axb", 0, 0, false}, {"1x2x3", 0, 0, false}, {"", 0, 0, false},
		{" 28 x 28 ", 28, 28, true}, {"32768x1", 32768, 1, true}, {"32769x1", 0, 0, false},
	} {
		h, w, err := ParseImgSize(tc.in)
		if (err == nil) != tc.ok || h != tc.h || w != tc.w {
			t.Errorf("%q: %d %d %v", tc.in, h, w, err)
		}
	}
	for in, msg := range map[string]string{
		"100000x100000": `image size "100000x100000": sides must be at most 32768`,
		"0x4":           `image size "0x4": sides must be positive`,
		"-3":            `image size "-3": sides must be positive`,
		"axb":           `image size "axb": "a" is not an integer (want HxW or S)`,
		"1x2x3":         `image size "1x2x3": want HxW or S`,
	} {
		if _, _, err := ParseImgSize(in); err == nil || err.Error() != msg {
			t.Errorf("ParseImgSize(%q) = %v, want %s", in, err, msg)
		}
	}
}

func FuzzParseImgSize(f *testing.F) {
	for _, s := range []string{"224", "28x28", "0x4", "1x2x3", "100000x100000", " 7 X 9 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, w, err := ParseImgSize(s)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if h < 1 || w < 1 || h > maxImageSide || w > maxImageSide {
			t.Fatalf("ParseImgSize(%q) = %d, %d", s, h, w)
		}
	})
}
