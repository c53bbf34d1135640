package data

import "image"

// Colour JPEGs store subsampled chroma. Go's image/jpeg leaves the chroma
// planes subsampled and image.YCbCr upsamples them by replication; libjpeg
// (which Pillow, and so torchvision, decodes with) upsamples 4:2:0 and 4:2:2
// chroma with a triangle filter ("fancy upsampling") and converts to RGB with
// its own fixed-point tables. Replication moves most pixels of a typical
// photo by several levels (up to ~25 on colour edges) from what PyTorch sees;
// ycbcrPlanes below reproduces libjpeg's upsampling and conversion bit for
// bit, so that only the inverse DCTs differ (Go's and libjpeg's islow differ
// by a level on a few percent of the pixels). Ratios libjpeg does not filter
// (4:1:1, 4:1:0) and 4:4:0 (filtered only by newer libjpeg-turbo) keep Go's
// replication.

// ycbcrPlanes converts a decoded JPEG to R, G, B planes as libjpeg does.
func ycbcrPlanes(yc *image.YCbCr) (r, g, b []uint8) {
	rect := yc.Rect
	w, h := rect.Dx(), rect.Dy()
	cb, cr := upsampleChroma(yc, yc.Cb), upsampleChroma(yc, yc.Cr)
	r, g, b = make([]uint8, w*h), make([]uint8, w*h), make([]uint8, w*h)
	for y := range h {
		yrow := yc.Y[yc.YOffset(rect.Min.X, rect.Min.Y+y):]
		for x := range w {
			i := y*w + x
			r[i], g[i], b[i] = libjpegYCbCrToRGB(yrow[x], cb[i], cr[i])
		}
	}
	return r, g, b
}

// libjpegFix is libjpeg's FIX(x): x in 16-bit fixed point, rounded.
func libjpegFix(x float64) int32 { return int32(x*(1<<16) + 0.5) }

// libjpegYCbCrToRGB is libjpeg's ycc_rgb_convert (jdcolor.c).
func libjpegYCbCrToRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	const half = 1 << 15
	yy, b, r := int32(y), int32(cb)-128, int32(cr)-128
	red := yy + (libjpegFix(1.40200)*r+half)>>16
	green := yy + (-libjpegFix(0.34414)*b+half-libjpegFix(0.71414)*r)>>16
	blue := yy + (libjpegFix(1.77200)*b+half)>>16
	return clampByte(red), clampByte(green), clampByte(blue)
}

func clampByte(v int32) uint8 {
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v)
}

// upsampleChroma returns the full-resolution (w×h) plane of chroma plane c
// of yc: libjpeg's h2v2 or h2v1 fancy upsampling when it applies (the
// subsampled width is more than 2, as jdsample.c requires), replication
// otherwise.
func upsampleChroma(yc *image.YCbCr, c []uint8) []uint8 {
	rect := yc.Rect
	w, h := rect.Dx(), rect.Dy()
	out := make([]uint8, w*h)
	aligned := rect.Min.X%2 == 0 && rect.Min.Y%2 == 0
	cw := (rect.Max.X+1)/2 - rect.Min.X/2
	ch := (rect.Max.Y+1)/2 - rect.Min.Y/2
	crow := func(r int) []uint8 { // chroma row r, clamped as libjpeg's context rows are
		r = max(0, min(r, ch-1))
		o := yc.COffset(rect.Min.X, rect.Min.Y+2*r)
		return c[o : o+cw]
	}
	switch {
	case aligned && cw > 2 && yc.SubsampleRatio == image.YCbCrSubsampleRatio420:
		full := make([]uint8, 2*cw)
		for r := range ch {
			for v := range 2 {
				near, far := crow(r), crow(r-1)
				if v == 1 {
					far = crow(r + 1)
				}
				fancyRow(full, near, far)
				if y := 2*r + v; y < h {
					copy(out[y*w:(y+1)*w], full)
				}
			}
		}
		return out
	case aligned && cw > 2 && yc.SubsampleRatio == image.YCbCrSubsampleRatio422:
		full := make([]uint8, 2*cw)
		for y := range h {
			o := yc.COffset(rect.Min.X, rect.Min.Y+y)
			fancyRowH(full, c[o:o+cw])
			copy(out[y*w:(y+1)*w], full)
		}
		return out
	}
	for y := range h {
		for x := range w {
			out[y*w+x] = c[yc.COffset(rect.Min.X+x, rect.Min.Y+y)]
		}
	}
	return out
}

// fancyRow is one output row of libjpeg's h2v2_fancy_upsample: each output
// pixel is 9/16 of the nearest chroma sample, 3/16 of each of the two next
// nearest, 1/16 of the diagonal one, with libjpeg's alternating rounding.
func fancyRow(out, near, far []uint8) {
	n := len(near)
	sum := func(i int) int32 { return int32(near[i])*3 + int32(far[i]) }
	this, next := sum(0), sum(1)
	out[0] = uint8((this*4 + 8) >> 4)
	out[1] = uint8((this*3 + next + 7) >> 4)
	last := this
	this = next
	for i := 2; i < n; i++ {
		next = sum(i)
		out[2*i-2] = uint8((this*3 + last + 8) >> 4)
		out[2*i-1] = uint8((this*3 + next + 7) >> 4)
		last, this = this, next
	}
	out[2*n-2] = uint8((this*3 + last + 8) >> 4)
	out[2*n-1] = uint8((this*4 + 7) >> 4)
}

// fancyRowH is libjpeg's h2v1_fancy_upsample of one row: 3/4 of the nearer
// sample and 1/4 of the further one.
func fancyRowH(out, in []uint8) {
	n := len(in)
	out[0] = in[0]
	out[1] = uint8((int32(in[0])*3 + int32(in[1]) + 2) >> 2)
	for i := 1; i < n-1; i++ {
		v := int32(in[i]) * 3
		out[2*i] = uint8((v + int32(in[i-1]) + 1) >> 2)
		out[2*i+1] = uint8((v + int32(in[i+1]) + 2) >> 2)
	}
	v := int32(in[n-1])
	out[2*n-2] = uint8((v*3 + int32(in[n-2]) + 1) >> 2)
	out[2*n-1] = uint8(v)
}
