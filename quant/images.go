package quant

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/internal/par"
	"github.com/vimsim/vimsim/vim"
)

// CalibrationSet draws n images of ds, chosen by a seeded random permutation
// (as the official code draws its 256 calibration images from the train
// split, §2.2), preprocesses them for cfg and holds them in memory, in
// dataset order. n larger than the dataset takes every image.
func CalibrationSet(ds data.Dataset, cfg vim.Config, n int, seed uint64) (SliceImages, error) {
	if n <= 0 {
		return SliceImages{}, fmt.Errorf("calibration set: %d images requested", n)
	}
	pre, err := data.NewPreprocessor(cfg)
	if err != nil {
		return SliceImages{}, err
	}
	total := ds.Len()
	if total == 0 {
		return SliceImages{}, fmt.Errorf("calibration set: empty dataset")
	}
	n = min(n, total)
	rng := rand.New(rand.NewPCG(seed, 0x63616c6962)) // "calib"
	idx := rng.Perm(total)[:n]
	slices.Sort(idx)
	samples := make([]data.Sample, n)
	for j, i := range idx {
		if samples[j], err = ds.Sample(i); err != nil {
			return SliceImages{}, err
		}
	}
	size := pre.Len()
	out := SliceImages{Data: make([]float64, n*size), Size: size}
	errs := make([]error, n)
	par.ForWorker(n, 0, func(_, j int) {
		s := samples[j]
		if s.Decode == nil {
			errs[j] = fmt.Errorf("%s: sample has no image", s.Name)
			return
		}
		img, err := s.Decode()
		if err != nil {
			errs[j] = err
			return
		}
		if err := pre.Apply(img, out.Data[j*size:(j+1)*size]); err != nil {
			errs[j] = fmt.Errorf("%s: %w", s.Name, err)
		}
	})
	for _, err := range errs {
		if err != nil {
			return SliceImages{}, err
		}
	}
	return out, nil
}
