// Package pixels makes seeded test images that a model's boundary
// conversion represents exactly: random 8-bit pixels, normalised with the
// configuration's mean and std.
package pixels

import (
	"math/rand/v2"

	"github.com/vimsim/vimsim/vim"
)

// Images returns n random 8-bit images of c stored back to back (each
// C×H×W), normalised with the configuration's per-channel mean and std
// (0 and 1 when absent; the last value repeats for further channels).
func Images(c vim.Config, n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	plane := c.ImgH * c.ImgW
	size := c.Channels * plane
	out := make([]float64, n*size)
	for i := range out {
		ch := (i % size) / plane
		mean, std := 0.0, 1.0
		if len(c.Mean) > 0 {
			mean = c.Mean[min(ch, len(c.Mean)-1)]
		}
		if len(c.Std) > 0 {
			std = c.Std[min(ch, len(c.Std)-1)]
		}
		out[i] = (float64(rng.IntN(256))/255 - mean) / std
	}
	return out
}
