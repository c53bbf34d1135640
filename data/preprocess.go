package data

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
	"strings"

	"github.com/vimsim/vimsim/vim"
)

// EvalCropRatio is the official Vim/DeiT eval crop ratio: the shorter image
// side is resized to int(size/EvalCropRatio) before the center crop.
const EvalCropRatio = 0.875

// Preprocessor turns decoded images into the (C,H,W) float64 input of one
// model configuration. It is immutable and safe for concurrent use.
//
// The transform:
//
//   - Channels. A grayscale image fed to a model with C channels is
//     replicated into all C; an RGB image fed to a 1-channel model is
//     converted to luminance first, with Pillow's convert("L") integer formula
//     L = (19595 R + 38470 G + 7471 B + 2^15) >> 16 (ITU-R 601-2, what
//     torchvision's Grayscale does); an RGB image fed to a model that has
//     neither 1 nor 3 channels is an error. Alpha is dropped, as Pillow's
//     convert("RGB") drops it (torchvision's ImageFolder loader). Colour
//     JPEGs are converted to RGB as libjpeg does (fancy chroma upsampling,
//     its fixed-point YCbCr tables; see jpeg.go), not as Go's image/color
//     does, so that the pixels are within a level or two of Pillow's.
//   - Size. An image already of the model's size H×W is used as is, like the
//     28x28 IDX images of (Fashion-)MNIST. Any other image gets the official
//     eval transform (vim-forward.md §2; hustvl/Vim datasets.py
//     build_transform): resize the shorter side to int(S/EvalCropRatio) with
//     Pillow's bicubic filter (bit-exact, see resizeBicubic), the longer side
//     in proportion, int(S·long/short); then center-crop H×W at
//     round((h-H)/2), round((w-W)/2) (torchvision's center_crop, Python's
//     round-half-even). S is max(H,W), so the crop always fits; for square
//     models this is exactly Resize(int(S/0.875)) + CenterCrop(S).
//     Departure: torchvision would also zoom an image that already has the
//     model's size (224x224 → 256x256 → crop 224); vimsim does not, so that a
//     dataset stored at the model's resolution reads the same from PNG files
//     as from IDX files.
//   - Values. pixel/255, then (v - mean[c]) / std[c] with the config's Mean
//     and Std (one value for all channels, or one per channel); an empty Mean
//     means 0 and an empty Std means 1.
type Preprocessor struct {
	h, w, c   int
	mean, std []float64 // one per model channel
}

// NewPreprocessor returns the preprocessing of cfg's input: ImgH, ImgW,
// Channels, Mean and Std.
func NewPreprocessor(cfg vim.Config) (*Preprocessor, error) {
	if cfg.ImgH <= 0 || cfg.ImgW <= 0 || cfg.Channels <= 0 || cfg.ImgH > 1<<15 || cfg.ImgW > 1<<15 || cfg.Channels > 64 {
		return nil, fmt.Errorf("preprocess: bad model input %dx%dx%d", cfg.Channels, cfg.ImgH, cfg.ImgW)
	}
	p := &Preprocessor{h: cfg.ImgH, w: cfg.ImgW, c: cfg.Channels}
	var err error
	if p.mean, err = perChannel("mean", cfg.Mean, cfg.Channels, 0); err != nil {
		return nil, err
	}
	if p.std, err = perChannel("std", cfg.Std, cfg.Channels, 1); err != nil {
		return nil, err
	}
	for c, s := range p.std {
		if !(s > 0) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("preprocess: std[%d] = %g must be positive and finite", c, s)
		}
		if m := p.mean[c]; math.IsNaN(m) || math.IsInf(m, 0) {
			return nil, fmt.Errorf("preprocess: mean[%d] = %g must be finite", c, m)
		}
	}
	return p, nil
}

// perChannel expands 0, 1 or n values to n.
func perChannel(what string, v []float64, n int, def float64) ([]float64, error) {
	out, ok := PerChannel(v, n, def)
	if !ok {
		return nil, fmt.Errorf("preprocess: %d %s values for %d channels", len(v), what, n)
	}
	return out, nil
}

// PerChannel expands a per-channel preprocessing constant given as 0
// values (def), 1 value (for every channel) or n values to n values; ok is
// false for any other count.
func PerChannel(v []float64, n int, def float64) (out []float64, ok bool) {
	out = make([]float64, n)
	switch len(v) {
	case 0:
		for i := range out {
			out[i] = def
		}
	case 1:
		for i := range out {
			out[i] = v[0]
		}
	case n:
		copy(out, v)
	default:
		return nil, false
	}
	return out, true
}

// Len is the number of values of one preprocessed image, C·H·W.
func (p *Preprocessor) Len() int { return p.c * p.h * p.w }

// Apply writes the preprocessed img into dst, which must have Len values,
// laid out (C,H,W).
func (p *Preprocessor) Apply(img image.Image, dst []float64) error {
	if len(dst) != p.Len() {
		return fmt.Errorf("preprocess: output has %d values, want %d", len(dst), p.Len())
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return fmt.Errorf("preprocess: empty %dx%d image", w, h)
	}
	planes, err := p.planes(img)
	if err != nil {
		return err
	}
	top, left := 0, 0
	if w != p.w || h != p.h {
		nw, nh := resizedSize(w, h, int(float64(max(p.h, p.w))/EvalCropRatio))
		if nw != w || nh != h {
			for i := range planes {
				planes[i] = resizeBicubic(planes[i], w, h, nw, nh)
			}
			w, h = nw, nh
		}
		top, left = centerCropOffset(h, p.h), centerCropOffset(w, p.w)
		if top < 0 || left < 0 {
			// Unreachable: int(S/0.875) ≥ S ≥ H, W.
			return fmt.Errorf("preprocess: %dx%d image smaller than the %dx%d crop", w, h, p.w, p.h)
		}
	}
	hw := p.h * p.w
	for c := range p.c {
		plane := planes[min(c, len(planes)-1)]
		mean, std := p.mean[c], p.std[c]
		out := dst[c*hw : (c+1)*hw]
		for y := range p.h {
			row := plane[(top+y)*w+left:]
			for x := range p.w {
				out[y*p.w+x] = (float64(row[x])/255 - mean) / std
			}
		}
	}
	return nil
}

// resizedSize is torchvision's Resize(size) output for a w×h image: the
// shorter side becomes size, the longer int(size·long/short); an image whose
// shorter side already is size is not resized.
func resizedSize(w, h, size int) (nw, nh int) {
	if w <= h {
		if w == size {
			return w, h
		}
		return size, int(float64(size*h) / float64(w))
	}
	if h == size {
		return w, h
	}
	return int(float64(size*w) / float64(h)), size
}

// centerCropOffset is torchvision's int(round((in - out) / 2.0)).
func centerCropOffset(in, out int) int {
	return int(math.RoundToEven(float64(in-out) / 2))
}

// planes converts img to one 8-bit plane (grayscale sources, or any source
// for a 1-channel model) or three (R, G, B).
func (p *Preprocessor) planes(img image.Image) ([][]uint8, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if g, ok := img.(*image.Gray); ok {
		plane := make([]uint8, w*h)
		for y := range h {
			copy(plane[y*w:(y+1)*w], g.Pix[g.PixOffset(b.Min.X, b.Min.Y+y):])
		}
		return [][]uint8{plane}, nil
	}
	switch img.ColorModel() {
	case color.GrayModel, color.Gray16Model:
		plane := make([]uint8, w*h)
		for y := range h {
			for x := range w {
				plane[y*w+x] = color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
			}
		}
		return [][]uint8{plane}, nil
	}
	if p.c != 1 && p.c != 3 {
		return nil, fmt.Errorf("preprocess: RGB image for a %d-channel model (want 1 or 3 channels)", p.c)
	}
	var r, g, bl []uint8
	switch src := img.(type) {
	case *image.NRGBA:
		r, g, bl = make([]uint8, w*h), make([]uint8, w*h), make([]uint8, w*h)
		for y := range h {
			pix := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				i := y*w + x
				r[i], g[i], bl[i] = pix[4*x], pix[4*x+1], pix[4*x+2]
			}
		}
	case *image.YCbCr:
		r, g, bl = ycbcrPlanes(src) // libjpeg's chroma upsampling and conversion
	default:
		r, g, bl = make([]uint8, w*h), make([]uint8, w*h), make([]uint8, w*h)
		for y := range h {
			for x := range w {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				i := y*w + x
				r[i], g[i], bl[i] = c.R, c.G, c.B
			}
		}
	}
	if p.c == 3 {
		return [][]uint8{r, g, bl}, nil
	}
	for i := range r {
		r[i] = uint8((uint32(r[i])*19595 + uint32(g[i])*38470 + uint32(bl[i])*7471 + 0x8000) >> 16)
	}
	return [][]uint8{r}, nil
}

// LoadImage decodes the image file at path (JPEG, PNG, BMP, TIFF, WebP) and
// preprocesses it for cfg (see Preprocessor); the result is (C,H,W).
func LoadImage(path string, cfg vim.Config) ([]float64, error) {
	p, err := NewPreprocessor(cfg)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	img, err := decodeImageFile(path)
	if err != nil {
		return nil, err
	}
	out := make([]float64, p.Len())
	if err := p.Apply(img, out); err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return out, nil
}

// ParseChannelValues parses a --mean or --std value: one number for all
// channels, or one per channel separated by commas ("0.5" or
// "0.485,0.456,0.406"). Values must be finite; flag names the flag in errors.
// channels 0 skips the count check (for a value parsed before the model is
// loaded, to pass in vim.LoadOptions, which checks the count).
func ParseChannelValues(flag, s string, channels int) ([]float64, error) {
	parts := strings.Split(s, ",")
	v := make([]float64, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("--%s %q: %q is not a finite number", flag, s, strings.TrimSpace(p))
		}
		v[i] = f
	}
	if channels > 0 && len(parts) != 1 && len(parts) != channels {
		want := fmt.Sprintf("1 or %d (one per channel)", channels)
		if channels == 1 {
			want = "1 (the model has one channel)"
		}
		return nil, fmt.Errorf("--%s %q: %d values, want %s", flag, s, len(parts), want)
	}
	return v, nil
}

// OverrideNorm returns cfg with its preprocessing Mean and Std replaced by
// the --mean and --std flag values when they are not empty (see
// ParseChannelValues). A std value must be positive.
func OverrideNorm(cfg vim.Config, mean, std string) (vim.Config, error) {
	if mean != "" {
		v, err := ParseChannelValues("mean", mean, cfg.Channels)
		if err != nil {
			return cfg, err
		}
		cfg.Mean = v
	}
	if std != "" {
		v, err := ParseChannelValues("std", std, cfg.Channels)
		if err != nil {
			return cfg, err
		}
		for _, s := range v {
			if !(s > 0) {
				return cfg, fmt.Errorf("--std %q: %g is not positive", std, s)
			}
		}
		cfg.Std = v
	}
	return cfg, nil
}
