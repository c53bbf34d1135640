package data

import "math"

// The resampler below reproduces Pillow's Image.resize(size, Image.BICUBIC)
// on 8-bit images bit for bit (Pillow 9.x, src/libImaging/Resample.c), which
// is what torchvision's Resize(interpolation=BICUBIC) runs on the PIL images
// of the official Vim eval transform. golang.org/x/image/draw's CatmullRom
// uses the same kernel (Keys, a = -0.5) and the same support scaling, but
// keeps the intermediate pass in floating point and truncates instead of
// rounding, which moves about half the pixels by one level; matching Pillow
// exactly makes vimsim's accuracy comparable to the PyTorch numbers.

// pilPrecisionBits is Pillow's fixed-point precision of 8-bit resampling
// coefficients: 32 - 8 (pixel) - 2 (headroom).
const pilPrecisionBits = 32 - 8 - 2

// bicubicSupport is the support radius of the bicubic kernel at scale 1.
const bicubicSupport = 2.0

// bicubic is Keys' cubic convolution kernel with a = -0.5, written with
// Pillow's operation order; the explicit conversions forbid fused
// multiply-adds so that the coefficients round as the C code's do.
func bicubic(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		t := float64((a+2)*x) - (a + 3)
		t = float64(float64(t*x) * x)
		return t + 1
	}
	if x < 2 {
		t := float64(x-5) * x
		t = float64(float64(t+8)*x) - 4
		return float64(t * a)
	}
	return 0
}

// resampleCoeffs are Pillow's fixed-point filter taps of one resampling
// pass from inSize to outSize pixels: output pixel i reads inputs
// [start[i], start[i]+count[i]) with weights k[i*ksize:].
type resampleCoeffs struct {
	ksize        int
	start, count []int
	k            []int32
}

// newResampleCoeffs follows precompute_coeffs and normalize_coeffs_8bpc.
func newResampleCoeffs(inSize, outSize int) resampleCoeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := math.Max(scale, 1)
	support := bicubicSupport * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := resampleCoeffs{
		ksize: ksize,
		start: make([]int, outSize),
		count: make([]int, outSize),
		k:     make([]int32, outSize*ksize),
	}
	w := make([]float64, ksize)
	ss := 1 / filterscale
	for xx := range outSize {
		center := float64((float64(xx) + 0.5) * scale)
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), inSize) - xmin
		ww := 0.0
		for x := range xmax {
			w[x] = bicubic(float64(float64(x+xmin)-center+0.5) * ss)
			ww += w[x]
		}
		for x := range xmax {
			if ww != 0 {
				w[x] /= ww
			}
			v := w[x] * (1 << pilPrecisionBits)
			if v < 0 {
				c.k[xx*ksize+x] = int32(-0.5 + v)
			} else {
				c.k[xx*ksize+x] = int32(0.5 + v)
			}
		}
		c.start[xx], c.count[xx] = xmin, xmax
	}
	return c
}

// clip8 is Pillow's clip8: the rounded fixed-point sum to a byte.
func clip8(ss int32) uint8 {
	v := ss >> pilPrecisionBits
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v)
}

// resizeBicubic resizes one 8-bit plane of w×h pixels (row-major) to nw×nh,
// as Pillow does: a horizontal pass when the width changes, then a vertical
// pass when the height changes, each rounding to 8 bits.
func resizeBicubic(src []uint8, w, h, nw, nh int) []uint8 {
	cur, cw := src, w
	if nw != w {
		c := newResampleCoeffs(w, nw)
		out := make([]uint8, nw*h)
		for y := range h {
			row := cur[y*cw : (y+1)*cw]
			for xx := range nw {
				k := c.k[xx*c.ksize:]
				ss := int32(1 << (pilPrecisionBits - 1))
				for x, v := range row[c.start[xx] : c.start[xx]+c.count[xx]] {
					ss += int32(v) * k[x]
				}
				out[y*nw+xx] = clip8(ss)
			}
		}
		cur, cw = out, nw
	}
	if nh != h {
		c := newResampleCoeffs(h, nh)
		out := make([]uint8, cw*nh)
		for yy := range nh {
			k := c.k[yy*c.ksize:]
			y0 := c.start[yy]
			for xx := range cw {
				ss := int32(1 << (pilPrecisionBits - 1))
				for y := range c.count[yy] {
					ss += int32(cur[(y0+y)*cw+xx]) * k[y]
				}
				out[yy*cw+xx] = clip8(ss)
			}
		}
		cur = out
	}
	if nw == w && nh == h {
		return append([]uint8(nil), src...)
	}
	return cur
}
