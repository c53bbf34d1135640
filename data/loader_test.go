package data

import (
	"errors"
	"fmt"
	"image"
	"io"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/vim"
)

// readLoader drains l.
func readLoader(t *testing.T, l *Loader) (images []float64, labels, starts []int) {
	t.Helper()
	for {
		b, err := l.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		images = append(images, b.Images...)
		labels = append(labels, b.Labels...)
		starts = append(starts, b.Start)
	}
}

func TestLoaderDeterministic(t *testing.T) {
	ds, err := Open("sample", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	// The resize path (28x28 → 32x32 crop of 36x36), replicated to RGB.
	p, err := NewPreprocessor(vim.Config{ImgH: 32, ImgW: 32, Channels: 3, Mean: []float64{0.5}, Std: []float64{0.25}})
	if err != nil {
		t.Fatal(err)
	}
	refImgs, refLabels, starts := readLoader(t, NewLoader(ds, p, LoaderOptions{Batch: 7, Limit: 50, Workers: 1}))
	if len(refLabels) != 50 || len(refImgs) != 50*p.Len() {
		t.Fatalf("%d labels, %d values; want 50 images", len(refLabels), len(refImgs))
	}
	if fmt.Sprint(starts) != "[0 7 14 21 28 35 42 49]" {
		t.Errorf("batch starts %v", starts)
	}
	for _, opt := range []LoaderOptions{{Batch: 50, Limit: 50, Workers: 8}, {Batch: 1, Limit: 50, Workers: 3}, {Batch: 64, Limit: 50}} {
		imgs, labels, _ := readLoader(t, NewLoader(ds, p, opt))
		if fmt.Sprint(labels) != fmt.Sprint(refLabels) {
			t.Fatalf("%+v: labels differ", opt)
		}
		for i := range imgs {
			if imgs[i] != refImgs[i] {
				t.Fatalf("%+v: value %d = %g, want %g", opt, i, imgs[i], refImgs[i])
			}
		}
	}
	// Each image equals its own preprocessing, in index order.
	one := make([]float64, p.Len())
	for _, i := range []int{0, 17, 49} {
		s, _ := ds.Sample(i)
		img, _ := s.Decode()
		if err := p.Apply(img, one); err != nil {
			t.Fatal(err)
		}
		for j, v := range one {
			if refImgs[i*p.Len()+j] != v {
				t.Fatalf("image %d value %d differs from Apply", i, j)
			}
		}
	}
	l := NewLoader(ds, p, LoaderOptions{})
	if l.Len() != SampleLen {
		t.Errorf("Len without limit = %d, want %d", l.Len(), SampleLen)
	}

	// Restricted loaders return their range of the same images, with
	// dataset indices.
	for _, r := range [][2]int{{0, 50}, {13, 29}, {49, 50}, {20, 20}, {0, 0}} {
		l := NewLoader(ds, p, LoaderOptions{Batch: 5, Limit: 50})
		if err := l.Restrict(r[0], r[1]); err != nil {
			t.Fatal(err)
		}
		imgs, labels, starts := readLoader(t, l)
		if l.Len() != r[1]-r[0] || fmt.Sprint(labels) != fmt.Sprint(refLabels[r[0]:r[1]]) {
			t.Fatalf("range %v: Len %d, labels %v", r, l.Len(), labels)
		}
		if len(starts) > 0 && starts[0] != r[0] {
			t.Errorf("range %v: first batch starts at %d", r, starts[0])
		}
		if fmt.Sprint(imgs) != fmt.Sprint(refImgs[r[0]*p.Len():r[1]*p.Len()]) {
			t.Fatalf("range %v: images differ", r)
		}
	}
	for _, r := range [][2]int{{-1, 3}, {5, 4}, {0, 51}} {
		if err := NewLoader(ds, p, LoaderOptions{Limit: 50}).Restrict(r[0], r[1]); err == nil {
			t.Errorf("Restrict%v accepted", r)
		}
	}
	l = NewLoader(ds, p, LoaderOptions{Batch: 5, Limit: 50})
	if _, err := l.Next(); err != nil {
		t.Fatal(err)
	}
	if err := l.Restrict(10, 20); err == nil {
		t.Error("Restrict after Next accepted")
	}
}

// failingDataset decodes to an error for the listed indices.
type failingDataset struct {
	n    int
	fail map[int]bool
}

func (d failingDataset) Len() int          { return d.n }
func (d failingDataset) Classes() []string { return []string{"a", "b"} }
func (d failingDataset) Close() error      { return nil }
func (d failingDataset) Sample(i int) (Sample, error) {
	return Sample{Index: i, Label: i % 2, Name: fmt.Sprintf("s%d", i), Decode: func() (image.Image, error) {
		if d.fail[i] {
			return nil, fmt.Errorf("s%d: broken", i)
		}
		return image.NewGray(image.Rect(0, 0, 2, 2)), nil
	}}, nil
}

func TestLoaderErrors(t *testing.T) {
	p, _ := NewPreprocessor(vim.Config{ImgH: 2, ImgW: 2, Channels: 1})
	ds := failingDataset{n: 20, fail: map[int]bool{13: true, 11: true, 19: true}}
	for _, workers := range []int{1, 2, 16} {
		l := NewLoader(ds, p, LoaderOptions{Batch: 8, Workers: workers})
		if _, err := l.Next(); err != nil {
			t.Fatal(err)
		}
		// The first failing index of the batch is reported, whatever the
		// scheduling.
		if _, err := l.Next(); err == nil || err.Error() != "s11: broken" {
			t.Errorf("workers %d: error %v, want s11: broken", workers, err)
		}
	}
	_, _, err := ReadAll(failingDataset{n: 0}, p, 0)
	if !errors.Is(err, ErrNoSamples) {
		t.Errorf("ReadAll of nothing: %v", err)
	}
	// A sample that decodes to the wrong kind of image for the model.
	p2, _ := NewPreprocessor(vim.Config{ImgH: 2, ImgW: 2, Channels: 2})
	rgb := rgbDataset{}
	if _, _, err := ReadAll(rgb, p2, 0); err == nil || !strings.HasPrefix(err.Error(), "rgb0: ") {
		t.Errorf("RGB into 2 channels: error %v, want one naming the sample", err)
	}
}

type rgbDataset struct{}

func (rgbDataset) Len() int          { return 1 }
func (rgbDataset) Classes() []string { return []string{"a"} }
func (rgbDataset) Close() error      { return nil }
func (rgbDataset) Sample(i int) (Sample, error) {
	return Sample{Name: "rgb0", Decode: func() (image.Image, error) { return image.NewRGBA(image.Rect(0, 0, 2, 2)), nil }}, nil
}
