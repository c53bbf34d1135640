package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vimsim/vimsim/vim"
)

// requireFashionMNIST skips the test when Debian's dataset-fashion-mnist is
// not installed, and fails it instead when CI=true.
func requireFashionMNIST(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(DefaultFashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and the Fashion-MNIST dataset is missing (apt-get install dataset-fashion-mnist): %v", err)
		}
		t.Skipf("Fashion-MNIST not installed: %v", err)
	}
}

// TestFashionMNISTFull streams the whole Fashion-MNIST test set through the
// Loader, and checks the embedded sample against its first images.
func TestFashionMNISTFull(t *testing.T) {
	requireFashionMNIST(t)
	ds, err := Open("fashion-mnist", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	if ds.Len() != 10000 {
		t.Fatalf("test split: %d images, want 10000", ds.Len())
	}
	sample, err := Open("sample", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer sample.Close()
	cfg := vim.Config{ImgH: 28, ImgW: 28, Channels: 1}
	p, err := NewPreprocessor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sampleImgs, sampleLabels, err := ReadAll(sample, p, 0)
	if err != nil {
		t.Fatal(err)
	}
	hist := make([]int, 10)
	l := NewLoader(ds, p, LoaderOptions{Batch: 500})
	n := 0
	var sum float64
	for {
		b, err := l.Next()
		if err != nil {
			break
		}
		for i, label := range b.Labels {
			hist[label]++
			if k := b.Start + i; k < SampleLen && label != sampleLabels[k] {
				t.Fatalf("label %d: dataset %d, embedded sample %d", k, label, sampleLabels[k])
			}
		}
		for i, v := range b.Images {
			if v < 0 || v > 1 {
				t.Fatalf("value %g outside [0,1]", v)
			}
			if k := b.Start*784 + i; k < len(sampleImgs) && v != sampleImgs[k] {
				t.Fatalf("pixel %d: dataset %g, embedded sample %g", k, v, sampleImgs[k])
			}
			sum += v
		}
		n += b.N
	}
	if n != 10000 {
		t.Fatalf("loader read %d images, want 10000", n)
	}
	for c, k := range hist {
		if k != 1000 {
			t.Errorf("class %d: %d test images, want 1000", c, k)
		}
	}
	// Fashion-MNIST's published test mean pixel is 0.2868 (train 0.2860).
	if mean := sum / (10000 * 784); mean < 0.285 || mean > 0.289 {
		t.Errorf("mean pixel %.4f, want ≈ 0.2868", mean)
	}
}

func TestFashionMNISTTrain(t *testing.T) {
	requireFashionMNIST(t)
	if testing.Short() {
		t.Skip("reads 60000 images")
	}
	ds, err := Open("fashion-mnist", "train")
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	hist := make([]int, 10)
	for i := range ds.Len() {
		s, err := ds.Sample(i)
		if err != nil {
			t.Fatal(err)
		}
		hist[s.Label]++
	}
	for c, k := range hist {
		if k != 6000 {
			t.Errorf("class %d: %d train images, want 6000", c, k)
		}
	}
}
