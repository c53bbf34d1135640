// Package data reads the datasets and images vimsim evaluates and calibrates
// models on, and turns them into model input.
//
// A Dataset is opened from a spec (Open): "fashion-mnist" (Debian's
// dataset-fashion-mnist, in DefaultFashionMNISTDir), "fashion-mnist:DIR",
// "mnist:DIR" (any MNIST-format IDX files), "imagefolder:DIR" (ImageNet-style
// class sub-folders of images) or "sample" (the first 256 Fashion-MNIST test
// images, embedded in the binary). Datasets are streamed, never loaded whole.
//
// A Preprocessor turns a decoded image into the (C,H,W) float64 input of a
// vim.Config; a Loader combines the two into batches for evaluation and
// calibration, preprocessing the images of a batch in parallel.
//
// Determinism: every function here is a pure function of its inputs; a
// Loader returns the same batches, in the same order, whatever GOMAXPROCS.
package data

import (
	"embed"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultFashionMNISTDir is where Debian's dataset-fashion-mnist package
// installs the gzipped IDX files.
const DefaultFashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// SampleLen is the number of images of the embedded "sample" dataset.
const SampleLen = 256

// FashionMNISTClasses are the Fashion-MNIST label names, in label order.
func FashionMNISTClasses() []string {
	return []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
		"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
}

// sampleFiles holds the first SampleLen images and labels of the
// Fashion-MNIST test set, as gzipped IDX files. Regenerate them with
// `go generate ./data/` (see internal/mksample).
//
//go:generate go run ./internal/mksample -src /usr/share/datasets/fashion-mnist -n 256 -out sample
//go:embed sample/t10k-images-idx3-ubyte.gz sample/t10k-labels-idx1-ubyte.gz
var sampleFiles embed.FS

// Sample is one labelled image of a Dataset. The image is decoded only when
// Decode is called, which may happen on any goroutine.
type Sample struct {
	Index  int                         // position in the dataset
	Label  int                         // class index, into Dataset.Classes
	Name   string                      // identifies the sample in errors: "FILE[i]" or an image path
	Decode func() (image.Image, error) // returns the image; safe for concurrent use
}

// Dataset is a labelled image collection.
//
// Sample is safe for concurrent use. It is cheap (it reads at most one IDX
// item and decodes nothing), and fastest when called in increasing index
// order: gzipped IDX files are streamed, and asking for an index behind the
// stream re-opens the file. The Loader calls Sample from one goroutine in
// index order and runs the Decode functions and the preprocessing in
// parallel; that is the intended use.
type Dataset interface {
	// Len is the number of samples.
	Len() int
	// Classes names the labels: label i is Classes()[i].
	Classes() []string
	// Sample returns sample i, 0 ≤ i < Len().
	Sample(i int) (Sample, error)
	// Close releases the dataset's files.
	Close() error
}

// KnownSpecs lists the dataset spec forms Open accepts.
func KnownSpecs() []string {
	return []string{"fashion-mnist", "fashion-mnist:DIR", "mnist:DIR", "imagefolder:DIR", "sample"}
}

// Split names a dataset split.
type Split string

// Dataset splits. ParseSplit also accepts "val" for Test.
const (
	Train Split = "train"
	Test  Split = "test"
)

// ParseSplit parses "train", "test" or "val" (a synonym of test).
func ParseSplit(s string) (Split, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "train":
		return Train, nil
	case "test", "val", "":
		return Test, nil
	}
	return "", fmt.Errorf("split %q: want train or test", s)
}

// Open opens the dataset named by spec (one of KnownSpecs) and its split
// ("train" or "test"; see ParseSplit).
//
// IDX datasets read {train,t10k}-{images-idx3,labels-idx1}-ubyte, with or
// without .gz (a '.' instead of the second '-' is accepted too); when both a
// raw and a gzipped file exist the raw one is used (random access); they
// have no val split. An imagefolder DIR holding a train or val sub-folder is
// split by them (test and val read DIR/val, or DIR/test); otherwise DIR
// itself is the dataset, whatever the split. The embedded sample has only
// the test split.
func Open(spec, split string) (Dataset, error) {
	sp, err := ParseSplit(split)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", spec, err)
	}
	kind, dir, hasDir := strings.Cut(spec, ":")
	if strings.EqualFold(strings.TrimSpace(split), "val") && (spec == "sample" || spec == "fashion-mnist" ||
		hasDir && (kind == "fashion-mnist" || kind == "mnist")) {
		// "val" is the test split of an imagefolder (DIR/val); an IDX
		// dataset has train and test files only, so asking for a
		// validation split there is a mistake to report, not to map.
		return nil, fmt.Errorf("dataset %s: no val split: MNIST-format datasets have train and test only (use test)", spec)
	}
	switch {
	case spec == "sample":
		if sp != Test {
			return nil, errors.New("dataset sample: only the test split is embedded")
		}
		return openIDXDataset("sample", sp, func(name string) (*IDX, error) {
			return openIDXFS(sampleFiles, "sample/"+name, "sample:"+name)
		}, []string{"t10k-images-idx3-ubyte.gz"}, []string{"t10k-labels-idx1-ubyte.gz"}, FashionMNISTClasses())
	case spec == "fashion-mnist":
		ds, err := openIDXDir("fashion-mnist", DefaultFashionMNISTDir, sp, FashionMNISTClasses())
		if err != nil && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w (install the Debian package dataset-fashion-mnist, or use fashion-mnist:DIR)", err)
		}
		return ds, err
	case hasDir && dir != "" && kind == "fashion-mnist":
		return openIDXDir(spec, dir, sp, FashionMNISTClasses())
	case hasDir && dir != "" && kind == "mnist":
		return openIDXDir(spec, dir, sp, nil)
	case hasDir && dir != "" && kind == "imagefolder":
		return openImageFolder(spec, dir, sp)
	}
	return nil, fmt.Errorf("unknown dataset %q (known: %s)", spec, strings.Join(KnownSpecs(), ", "))
}

// idxNames returns the candidate file names of an IDX split, raw first.
func idxNames(sp Split, what, idx string) []string {
	prefix := "t10k"
	if sp == Train {
		prefix = "train"
	}
	var names []string
	for _, sep := range []string{"-", "."} {
		base := prefix + "-" + what + sep + idx + "-ubyte"
		names = append(names, base)
	}
	for _, sep := range []string{"-", "."} {
		names = append(names, prefix+"-"+what+sep+idx+"-ubyte.gz")
	}
	return names
}

// openIDXDir opens the IDX files of split sp in dir.
func openIDXDir(spec, dir string, sp Split, classes []string) (Dataset, error) {
	open := func(name string) (*IDX, error) { return OpenIDX(filepath.Join(dir, name)) }
	return openIDXDataset(spec, sp, open, idxNames(sp, "images", "idx3"), idxNames(sp, "labels", "idx1"), classes)
}

// openIDXDataset opens the first existing images and labels files among the
// candidates. classes nil means numeric class names 0..max label.
func openIDXDataset(spec string, sp Split, open func(string) (*IDX, error), imgNames, labNames []string, classes []string) (Dataset, error) {
	openFirst := func(names []string) (*IDX, error) {
		var firstErr error
		for _, n := range names {
			x, err := open(n)
			if err == nil {
				return x, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		return nil, fmt.Errorf("%s: %w", names[0]+"[.gz] not found", firstErr)
	}
	images, err := openFirst(imgNames)
	if err != nil {
		return nil, fmt.Errorf("dataset %s (%s): %w", spec, sp, err)
	}
	ds, err := newIDXDataset(images, openFirst, labNames, classes)
	if err != nil {
		images.Close()
		return nil, fmt.Errorf("dataset %s (%s): %w", spec, sp, err)
	}
	return ds, nil
}

func newIDXDataset(images *IDX, openFirst func([]string) (*IDX, error), labNames []string, classes []string) (*idxDataset, error) {
	if d := images.Dims(); len(d) != 3 {
		return nil, fmt.Errorf("%s: %d dims, want an images file (magic 0x00000803, 3 dims)", images.Name(), len(d))
	}
	lx, err := openFirst(labNames)
	if err != nil {
		return nil, err
	}
	defer lx.Close()
	if d := lx.Dims(); len(d) != 1 {
		return nil, fmt.Errorf("%s: %d dims, want a labels file (magic 0x00000801, 1 dim)", lx.Name(), len(d))
	}
	if lx.Len() != images.Len() {
		return nil, fmt.Errorf("%s has %d labels but %s has %d images", lx.Name(), lx.Len(), images.Name(), images.Len())
	}
	if images.Len() == 0 {
		return nil, fmt.Errorf("%s: no images", images.Name())
	}
	labels, err := lx.ReadAll()
	if err != nil {
		return nil, err
	}
	maxLabel := 0
	for _, l := range labels {
		maxLabel = max(maxLabel, int(l))
	}
	if classes == nil {
		for i := 0; i <= maxLabel; i++ {
			classes = append(classes, strconv.Itoa(i))
		}
	} else if maxLabel >= len(classes) {
		return nil, fmt.Errorf("%s: label %d out of range for %d classes", lx.Name(), maxLabel, len(classes))
	}
	d := images.Dims()
	return &idxDataset{images: images, labels: labels, classes: classes, h: d[1], w: d[2]}, nil
}

// idxDataset is a pair of IDX files: images (N,H,W) and labels (N).
type idxDataset struct {
	images  *IDX
	labels  []byte // small: one byte per image
	classes []string
	h, w    int
}

func (d *idxDataset) Len() int          { return d.images.Len() }
func (d *idxDataset) Classes() []string { return append([]string(nil), d.classes...) }
func (d *idxDataset) Close() error      { return d.images.Close() }

func (d *idxDataset) Sample(i int) (Sample, error) {
	if i < 0 || i >= d.Len() {
		return Sample{}, fmt.Errorf("%s: sample %d out of range [0,%d)", d.images.Name(), i, d.Len())
	}
	img := image.NewGray(image.Rect(0, 0, d.w, d.h))
	if err := d.images.ReadItem(i, img.Pix); err != nil {
		return Sample{}, err
	}
	return Sample{
		Index:  i,
		Label:  int(d.labels[i]),
		Name:   d.images.Name() + "[" + strconv.Itoa(i) + "]",
		Decode: func() (image.Image, error) { return img, nil },
	}, nil
}
