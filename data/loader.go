package data

import (
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/vimsim/vimsim/internal/par"
)

// Batch is a run of consecutive preprocessed samples.
type Batch struct {
	Start  int       // index of the first sample in the dataset
	N      int       // number of samples
	Images []float64 // N images, each (C,H,W): N·C·H·W values
	Labels []int     // N labels
}

// Loader reads a Dataset in index order, batch by batch, preprocessing each
// batch's images in parallel. Memory is bounded by one batch. The batches
// are the same whatever the number of workers. A Loader is not safe for
// concurrent use.
type Loader struct {
	ds      Dataset
	pre     *Preprocessor
	batch   int
	first   int // first sample read (Restrict)
	n       int // samples before n are read
	workers int
	next    int
	cur     Batch
	samples []Sample
}

// LoaderOptions configures a Loader.
type LoaderOptions struct {
	Batch   int // samples per batch; ≤ 0 means 32
	Limit   int // read only the first Limit samples; ≤ 0 means all
	Workers int // preprocessing goroutines; ≤ 0 means GOMAXPROCS
}

// NewLoader returns a Loader of ds preprocessed by pre.
func NewLoader(ds Dataset, pre *Preprocessor, opt LoaderOptions) *Loader {
	n := ds.Len()
	if opt.Limit > 0 && opt.Limit < n {
		n = opt.Limit
	}
	if opt.Batch <= 0 {
		opt.Batch = 32
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	return &Loader{ds: ds, pre: pre, batch: opt.Batch, n: n, workers: opt.Workers}
}

// Len is the number of samples the Loader returns in all.
func (l *Loader) Len() int { return l.n - l.first }

// Restrict narrows the samples the Loader returns to [first, end) of its
// selection (the samples of one shard of a run); it must be called before
// the first Next. Batch.Start still counts from the dataset's first sample.
func (l *Loader) Restrict(first, end int) error {
	if first < 0 || end < first || end > l.n {
		return fmt.Errorf("loader: samples %d..%d outside the %d selected", first, end, l.n)
	}
	if l.next != l.first {
		return fmt.Errorf("loader: Restrict after Next")
	}
	l.first, l.next, l.n = first, first, end
	return nil
}

// Next returns the next batch, or io.EOF after the last one. The returned
// Batch's slices are reused by the following call to Next.
func (l *Loader) Next() (*Batch, error) {
	if l.next >= l.n {
		return nil, io.EOF
	}
	start := l.next
	n := min(l.batch, l.n-start)
	size := l.pre.Len()
	b := &l.cur
	b.Start, b.N = start, n
	if cap(b.Images) < n*size {
		b.Images = make([]float64, n*size)
	}
	b.Images = b.Images[:n*size]
	b.Labels = b.Labels[:0]
	l.samples = l.samples[:0]
	// Samples are read in index order on this goroutine: gzip streams
	// want sequential access, and reading is cheap next to decoding.
	for i := start; i < start+n; i++ {
		s, err := l.ds.Sample(i)
		if err != nil {
			return nil, err
		}
		l.samples = append(l.samples, s)
		b.Labels = append(b.Labels, s.Label)
	}
	errs := make([]error, n)
	par.For(n, l.workers, func(j int) {
		errs[j] = l.prepare(l.samples[j], b.Images[j*size:(j+1)*size])
	})
	// The first failing sample in index order, whatever the scheduling.
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	l.next = start + n
	return b, nil
}

// prepare decodes and preprocesses one sample.
func (l *Loader) prepare(s Sample, dst []float64) error {
	if s.Decode == nil {
		return fmt.Errorf("%s: sample has no image", s.Name)
	}
	img, err := s.Decode()
	if err != nil {
		return err
	}
	if err := l.pre.Apply(img, dst); err != nil {
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	return nil
}

// ErrNoSamples is returned by ReadAll for an empty selection.
var ErrNoSamples = errors.New("no samples")

// ReadAll loads the first limit samples of ds (all when limit ≤ 0) into
// memory, preprocessed: a convenience for small sets (calibration, tests).
func ReadAll(ds Dataset, pre *Preprocessor, limit int) (images []float64, labels []int, err error) {
	l := NewLoader(ds, pre, LoaderOptions{Limit: limit})
	if l.Len() == 0 {
		return nil, nil, ErrNoSamples
	}
	images = make([]float64, 0, l.Len()*pre.Len())
	for {
		b, err := l.Next()
		if err == io.EOF {
			return images, labels, nil
		}
		if err != nil {
			return nil, nil, err
		}
		images = append(images, b.Images...)
		labels = append(labels, b.Labels...)
	}
}
