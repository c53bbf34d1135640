package explore

import (
	"fmt"

	"github.com/vimsim/vimsim/data"
)

// Images are the evaluation images: the first N samples of a dataset,
// preprocessed for the model.
type Images struct {
	// Name names the images in reports, e.g. "fashion-mnist (test)".
	Name string
	// Key identifies the dataset, its split and the preprocessing (part of
	// the cache keys of accuracies).
	Key     string
	Dataset data.Dataset
	Pre     *data.Preprocessor
	// N is the number of images evaluated, at most Dataset.Len().
	N int
}

// check validates im.
func (im Images) check() error {
	switch {
	case im.Dataset == nil || im.Pre == nil:
		return fmt.Errorf("evaluation images: no dataset")
	case im.N < 1:
		return fmt.Errorf("evaluation images: %d images", im.N)
	case im.N > im.Dataset.Len():
		return fmt.Errorf("evaluation images: %d images of a dataset of %d", im.N, im.Dataset.Len())
	}
	return nil
}

// loader returns a Loader of images [lo, hi) in one batch.
func (im Images) loader(lo, hi int) *data.Loader {
	return data.NewLoader(rangeOf{im.Dataset, lo, hi}, im.Pre, data.LoaderOptions{Batch: hi - lo})
}

// rangeOf is samples [lo, hi) of a dataset, as a dataset; its samples keep
// their index in the whole dataset.
type rangeOf struct {
	data.Dataset
	lo, hi int
}

func (r rangeOf) Len() int { return r.hi - r.lo }

func (r rangeOf) Sample(i int) (data.Sample, error) {
	if i < 0 || i >= r.hi-r.lo {
		return data.Sample{}, fmt.Errorf("sample %d of a range of %d", i, r.hi-r.lo)
	}
	return r.Dataset.Sample(r.lo + i)
}

// Close does nothing: the whole dataset belongs to the caller.
func (r rangeOf) Close() error { return nil }
