package data

import (
	"fmt"
	"image"
	"image/color"
	"testing"

	"github.com/vimsim/vimsim/vim"
)

// TestJPEGMatchesPillow decodes JPEG files written by Pillow and compares
// the RGB planes with what Pillow (libjpeg) decodes. With libjpeg's chroma
// upsampling and colour conversion reproduced, only the inverse DCTs differ:
// a few pixels by a level or two. Go's own conversion (chroma replication)
// is far off on subsampled files; the test checks that too, so that it
// cannot pass by comparing nothing.
func TestJPEGMatchesPillow(t *testing.T) {
	p, err := NewPreprocessor(vim.Config{ImgH: 1, ImgW: 1, Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"rgb", "big"} {
		for _, sub := range []string{"444", "422", "420"} {
			base := fmt.Sprintf("jpeg_%s_%s", name, sub)
			img := loadPNG(t, base+".jpg")
			if _, ok := img.(*image.YCbCr); !ok {
				t.Fatalf("%s decodes to %T, want *image.YCbCr", base, img)
			}
			want, _, _ := readPNG(t, base+".png")
			got, err := p.planes(img)
			if err != nil {
				t.Fatal(err)
			}
			// Go's conversion, for contrast.
			b := img.Bounds()
			var naiveOff int
			for y := range b.Dy() {
				for x := range b.Dx() {
					c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
					for ch, v := range []uint8{c.R, c.G, c.B} {
						if v != want[ch][y*b.Dx()+x] {
							naiveOff++
						}
					}
				}
			}
			var off, maxd, total int
			for ch := range 3 {
				for i, v := range got[ch] {
					d := int(v) - int(want[ch][i])
					d = max(d, -d)
					if d != 0 {
						off++
					}
					maxd = max(maxd, d)
					total++
				}
			}
			t.Logf("%s: %d of %d values differ from Pillow (max %d); Go's conversion: %d", base, off, total, maxd, naiveOff)
			if maxd > 3 || float64(off) > 0.06*float64(total) {
				t.Errorf("%s: %d of %d values differ from Pillow, max by %d; want ≤ 6%%, ≤ 3", base, off, total, maxd)
			}
			if sub != "444" && naiveOff < 2*off {
				t.Errorf("%s: Go's conversion differs on %d values, libjpeg's on %d: expected far fewer", base, naiveOff, off)
			}
		}
	}
}
