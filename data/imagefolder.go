package data

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"

	// Image formats read by imagefolder datasets and LoadImage.
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// MaxImagePixels bounds the size of a decoded image file (width·height), to
// refuse decompression bombs before allocating.
const MaxImagePixels = 1 << 26

// isImageFile reports whether name has one of the image extensions an
// imagefolder dataset reads (case-insensitive, like torchvision's
// IMG_EXTENSIONS minus the formats Go cannot decode: .ppm, .pgm).
func isImageFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp":
		return true
	}
	return false
}

// imageFolder is an ImageNet-style dataset: one sub-folder per class.
type imageFolder struct {
	classes []string
	paths   []string
	labels  []int
}

// openImageFolder lists the images of an imagefolder dataset in the order
// torchvision's ImageFolder uses: classes sorted by folder name, and within
// a class the files of each folder sorted by name, folders sorted by path
// (sorted(os.walk(class_dir, followlinks=True))). Images are decoded lazily.
func openImageFolder(spec, dir string, sp Split) (Dataset, error) {
	fail := func(err error) (Dataset, error) { return nil, fmt.Errorf("dataset %s (%s): %w", spec, sp, err) }
	if !isDir(dir) {
		return fail(fmt.Errorf("%s is not a directory", dir))
	}
	root := dir
	train, val, test := filepath.Join(dir, "train"), filepath.Join(dir, "val"), filepath.Join(dir, "test")
	if isDir(train) || isDir(val) || isDir(test) {
		switch {
		case sp == Train && isDir(train):
			root = train
		case sp == Train:
			return fail(fmt.Errorf("%s has split folders but no train folder", dir))
		case isDir(val):
			root = val
		case isDir(test):
			root = test
		default:
			return fail(fmt.Errorf("%s has split folders but no val or test folder", dir))
		}
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return fail(err)
	}
	ds := &imageFolder{}
	for _, e := range entries {
		if isDir(filepath.Join(root, e.Name())) {
			ds.classes = append(ds.classes, e.Name())
		}
	}
	if len(ds.classes) == 0 {
		return fail(fmt.Errorf("%s: no class sub-folders", root))
	}
	slices.Sort(ds.classes) // ReadDir sorts already; make the contract explicit
	for label, class := range ds.classes {
		files, err := listImages(filepath.Join(root, class))
		if err != nil {
			return fail(err)
		}
		if len(files) == 0 {
			return fail(fmt.Errorf("class folder %s holds no image files", filepath.Join(root, class)))
		}
		for _, f := range files {
			ds.paths = append(ds.paths, f)
			ds.labels = append(ds.labels, label)
		}
	}
	return ds, nil
}

// listImages returns the image files under dir, following symbolic links,
// grouped by folder (folders sorted by path) and sorted by name.
func listImages(dir string) ([]string, error) {
	type folder struct {
		path  string
		files []string
	}
	var folders []folder
	seen := map[string]bool{}
	var walk func(path string) error
	walk = func(path string) error {
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return err
		}
		if seen[real] {
			return nil // a symbolic-link cycle
		}
		seen[real] = true
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		f := folder{path: path}
		var sub []string
		for _, e := range entries {
			p := filepath.Join(path, e.Name())
			if isDir(p) {
				sub = append(sub, p)
			} else if isImageFile(e.Name()) {
				f.files = append(f.files, p)
			}
		}
		folders = append(folders, f)
		for _, s := range sub {
			if err := walk(s); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(dir); err != nil {
		return nil, err
	}
	slices.SortFunc(folders, func(a, b folder) int { return strings.Compare(a.path, b.path) })
	var files []string
	for _, f := range folders {
		slices.Sort(f.files)
		files = append(files, f.files...)
	}
	return files, nil
}

// isDir reports whether path is a directory, following symbolic links.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

func (d *imageFolder) Len() int          { return len(d.paths) }
func (d *imageFolder) Classes() []string { return append([]string(nil), d.classes...) }
func (d *imageFolder) Close() error      { return nil }

func (d *imageFolder) Sample(i int) (Sample, error) {
	if i < 0 || i >= len(d.paths) {
		return Sample{}, fmt.Errorf("imagefolder: sample %d out of range [0,%d)", i, len(d.paths))
	}
	path := d.paths[i]
	return Sample{
		Index:  i,
		Label:  d.labels[i],
		Name:   path,
		Decode: func() (image.Image, error) { return decodeImageFile(path) },
	}, nil
}

// decodeImageFile decodes a JPEG, PNG, BMP, TIFF or WebP file, refusing
// images larger than MaxImagePixels. A decoder that panics on a malformed
// file (a bug of the decoder) gives an error naming the file.
func decodeImageFile(path string) (img image.Image, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	format := "image"
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("decode %s: malformed %s file (the decoder failed: %v)", path, format, r)
		}
	}()
	cfg, format, err := image.DecodeConfig(bufio.NewReader(f))
	if errors.Is(err, image.ErrFormat) {
		return nil, fmt.Errorf("decode %s: not a JPEG, PNG, BMP, TIFF or WebP image", path)
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, noEOF(err))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return nil, fmt.Errorf("decode %s: %s image %dx%d: size out of range (at most %d pixels)", path, format, cfg.Width, cfg.Height, MaxImagePixels)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	img, _, err = image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w (truncated or corrupt %s?)", path, noEOF(err), format)
	}
	return img, nil
}
