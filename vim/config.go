// Package vim holds the Vision Mamba (Vim) model: its configuration, its
// weights, checkpoint loading and a float reference forward pass that matches
// the official hustvl/Vim code (bimamba v2, middle cls token, div2, RMSNorm).
//
// The forward pass (Net, Pass) runs in stages (Embed, Block, Final) and has
// hook points, the Sites, at which a caller observes or changes every
// intermediate tensor (Hooks.At), watches the hidden state of every scan
// step (Hooks.Step) and replaces the selective scan (Hooks.Scan, a Scanner);
// weights are replaced by running a Net of another Model. Package quant runs
// its fake-quantized model and its calibration on it this way.
//
// The math follows ../shared/reference/vim-forward.md; section numbers in the
// comments of this package refer to that document.
package vim

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Config is the immutable shape description of a Vim model.
type Config struct {
	Name       string    `json:"name"`
	ImgH       int       `json:"img_h"`          // input height in pixels
	ImgW       int       `json:"img_w"`          // input width in pixels
	Channels   int       `json:"channels"`       // input channels
	Patch      int       `json:"patch"`          // patch (kernel) size of the patch-embedding conv
	Stride     int       `json:"stride"`         // stride of the patch-embedding conv
	Dim        int       `json:"dim"`            // D, embedding width
	Depth      int       `json:"depth"`          // number of Mamba blocks
	DInner     int       `json:"d_inner"`        // E = expand·D
	DState     int       `json:"d_state"`        // N
	DConv      int       `json:"d_conv"`         // K, depthwise conv taps
	DtRank     int       `json:"dt_rank"`        // R
	Classes    int       `json:"classes"`        // head outputs
	Eps        float64   `json:"eps"`            // RMSNorm epsilon
	Mean       []float64 `json:"mean,omitempty"` // preprocessing mean per channel
	Std        []float64 `json:"std,omitempty"`  // preprocessing std per channel
	ClassNames []string  `json:"class_names,omitempty"`
}

// ImageNet normalisation constants used by the official eval transform.
var (
	imagenetMean = []float64{0.485, 0.456, 0.406}
	imagenetStd  = []float64{0.229, 0.224, 0.225}
)

// newPreset builds an official-style configuration: patch 16, stride 16,
// 224x224 RGB, E = 2D, R = ceil(D/16), K = 4, 1000 classes.
func newPreset(name string, dim, depth, state int) Config {
	return Config{
		Name: name, ImgH: 224, ImgW: 224, Channels: 3, Patch: 16, Stride: 16,
		Dim: dim, Depth: depth, DInner: 2 * dim, DState: state, DConv: 4,
		DtRank: (dim + 15) / 16, Classes: 1000, Eps: 1e-5,
		Mean: append([]float64(nil), imagenetMean...), Std: append([]float64(nil), imagenetStd...),
	}
}

// Preset returns the named built-in configuration: vim-ti, vim-s, vim-b
// (vim-forward.md §1) and their stride-8 variants vim-ti-s8, vim-s-s8.
func Preset(name string) (Config, error) {
	switch strings.ToLower(name) {
	case "vim-ti", "vim-tiny":
		return newPreset("vim-ti", 192, 24, 16), nil
	case "vim-s", "vim-small":
		return newPreset("vim-s", 384, 24, 16), nil
	case "vim-b", "vim-base":
		return newPreset("vim-b", 768, 24, 16), nil
	case "vim-ti-s8":
		c := newPreset("vim-ti-s8", 192, 24, 16)
		c.Stride = 8
		return c, nil
	case "vim-s-s8":
		c := newPreset("vim-s-s8", 384, 24, 16)
		c.Stride = 8
		return c, nil
	}
	return Config{}, fmt.Errorf("unknown model preset %q (known: %s)", name, strings.Join(PresetNames(), ", "))
}

// PresetNames lists the built-in configuration names.
func PresetNames() []string {
	n := []string{"vim-ti", "vim-s", "vim-b", "vim-ti-s8", "vim-s-s8"}
	sort.Strings(n)
	return n
}

// GridH is the number of patch rows.
func (c Config) GridH() int { return (c.ImgH-c.Patch)/c.Stride + 1 }

// GridW is the number of patch columns.
func (c Config) GridW() int { return (c.ImgW-c.Patch)/c.Stride + 1 }

// Patches is M, the number of patch tokens.
func (c Config) Patches() int { return c.GridH() * c.GridW() }

// Tokens is L = M + 1, the sequence length including the cls token.
func (c Config) Tokens() int { return c.Patches() + 1 }

// ClsPos is the index of the middle cls token: M/2 of the patch count.
func (c Config) ClsPos() int { return c.Patches() / 2 }

// XProjOut is R + 2N, the width of x_proj's output [dt | B | C].
func (c Config) XProjOut() int { return c.DtRank + 2*c.DState }

// Limits of an accepted configuration, far beyond any Vim (Vim-B: dim 768,
// depth 24, 197 tokens), chosen so that every count derived from a config
// (tokens, parameters, MACs, tensor elements) fits an int64.
const (
	maxImageSide = 1 << 15 // pixels, as --img-size
	maxChannels  = 1 << 10
	maxDim       = 1 << 16
	maxDepth     = 1 << 12
	maxInner     = 1 << 18
	maxState     = 1 << 12
	maxConv      = 1 << 10
	maxClasses   = 1 << 20
	maxTokens    = 1 << 22
	maxParams    = 1 << 40
	maxMACs      = 1 << 60
)

// Validate reports the first impossible field of c.
func (c Config) Validate() error {
	for _, f := range []struct {
		name  string
		v, hi int
	}{{"img height", c.ImgH, maxImageSide}, {"img width", c.ImgW, maxImageSide}, {"channels", c.Channels, maxChannels},
		{"patch", c.Patch, maxImageSide}, {"stride", c.Stride, maxImageSide}, {"dim", c.Dim, maxDim},
		{"depth", c.Depth, maxDepth}, {"d_inner", c.DInner, maxInner}, {"d_state", c.DState, maxState},
		{"d_conv", c.DConv, maxConv}, {"dt_rank", c.DtRank, maxInner}, {"classes", c.Classes, maxClasses}} {
		if f.v <= 0 {
			return fmt.Errorf("config %s: %s must be positive, got %d", c.Name, f.name, f.v)
		}
		if f.v > f.hi {
			return fmt.Errorf("config %s: %s = %d is too large (limit %d)", c.Name, f.name, f.v, f.hi)
		}
	}
	if c.Patch > c.ImgH || c.Patch > c.ImgW {
		return fmt.Errorf("config %s: patch %d larger than image %dx%d", c.Name, c.Patch, c.ImgH, c.ImgW)
	}
	if c.Stride > c.Patch {
		return fmt.Errorf("config %s: stride %d larger than patch %d (the pixels between patches would be skipped)", c.Name, c.Stride, c.Patch)
	}
	if (c.ImgH-c.Patch)%c.Stride != 0 || (c.ImgW-c.Patch)%c.Stride != 0 {
		return fmt.Errorf("config %s: image %dx%d is not covered exactly by patch %d stride %d", c.Name, c.ImgH, c.ImgW, c.Patch, c.Stride)
	}
	if t := c.Tokens(); t > maxTokens {
		return fmt.Errorf("config %s: image %dx%d with patch %d stride %d gives %d tokens, more than %d",
			c.Name, c.ImgH, c.ImgW, c.Patch, c.Stride, t, maxTokens)
	}
	// Totals in float64, where they cannot overflow.
	D, E, N, R, K, L := float64(c.Dim), float64(c.DInner), float64(c.DState), float64(c.DtRank), float64(c.DConv), float64(c.Tokens())
	params := float64(c.Depth)*(2*(E*N+2*E+E*K+(R+2*N)*E+E*R+E)+3*E*D+D) + L*D + D*float64(c.Channels*c.Patch*c.Patch) + float64(c.Classes)*(D+1)
	macs := float64(c.Depth) * L * (3*E*D + 2*(E*K+(R+2*N)*E+R*E+3*E*N))
	if params > maxParams || macs > maxMACs {
		return fmt.Errorf("config %s: %.3g parameters and %.3g MACs per image exceed the limits (%.3g, %.3g)",
			c.Name, params, macs, float64(maxParams), float64(maxMACs))
	}
	if !(c.Eps > 0 && c.Eps < 1) {
		return fmt.Errorf("config %s: eps %g out of range (0,1)", c.Name, c.Eps)
	}
	for _, v := range [][]float64{c.Mean, c.Std} {
		if len(v) != 0 && len(v) != 1 && len(v) != c.Channels {
			return fmt.Errorf("config %s: mean/std has %d values for %d channels", c.Name, len(v), c.Channels)
		}
	}
	for _, m := range c.Mean {
		if math.IsNaN(m) || math.IsInf(m, 0) {
			return fmt.Errorf("config %s: mean %g must be finite", c.Name, m)
		}
	}
	for _, s := range c.Std {
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("config %s: std %g must be positive", c.Name, s)
		}
	}
	if len(c.ClassNames) != 0 && len(c.ClassNames) != c.Classes {
		return fmt.Errorf("config %s: %d class names for %d classes", c.Name, len(c.ClassNames), c.Classes)
	}
	return nil
}

// ParseImgSize parses "HxW" or "S" (square), each side an integer in
// [1, 32768].
func ParseImgSize(s string) (h, w int, err error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(s)), "x")
	if len(parts) == 1 {
		parts = append(parts, parts[0])
	}
	if len(parts) != 2 {
		return 0, 0, fmt.Errorf("image size %q: want HxW or S", s)
	}
	var side [2]int
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		switch {
		case err != nil:
			return 0, 0, fmt.Errorf("image size %q: %q is not an integer (want HxW or S)", s, p)
		case v <= 0:
			return 0, 0, fmt.Errorf("image size %q: sides must be positive", s)
		case v > maxImageSide:
			return 0, 0, fmt.Errorf("image size %q: sides must be at most %d", s, maxImageSide)
		}
		side[i] = v
	}
	return side[0], side[1], nil
}
