package data

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/vim"
)

// writeImage writes a w×h image whose pixels encode seed, as PNG or JPEG by
// the file extension; gray selects an 8-bit grayscale image.
func writeImage(t *testing.T, path string, w, h, seed int, gray bool) image.Image {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var img image.Image
	if gray {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			g.Pix[i] = uint8(seed*40 + i*3)
		}
		img = g
	} else {
		c := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				c.SetNRGBA(x, y, color.NRGBA{uint8(seed * 50), uint8(x * 255 / w), uint8(y * 255 / h), 255})
			}
		}
		img = c
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		err = png.Encode(f, img)
	default:
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 95})
	}
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestImageFolder(t *testing.T) {
	root := t.TempDir()
	// Classes are sorted by name, whatever the creation order; within a
	// class, the files of each folder by name, folders by path string as
	// Python's sorted(os.walk(...)) orders them: "sub" < "sub-x" <
	// "sub/deeper" ('-' < '/'), checked against Python 3.
	files := []struct {
		path  string
		label int
		gray  bool
	}{
		{"zebra/2.png", 2, false},
		{"zebra/10.png", 2, true},
		{"ant/b.JPG", 0, false},
		{"ant/a.png", 0, true},
		{"ant/sub/c.png", 0, false},
		{"ant/sub-x/d.jpeg", 0, false},
		{"ant/sub/deeper/e.png", 0, false},
		{"bee/only.png", 1, false},
	}
	imgs := map[string]image.Image{}
	for i, f := range files {
		imgs[f.path] = writeImage(t, filepath.Join(root, f.path), 20+i, 16+i, i, f.gray)
	}
	os.WriteFile(filepath.Join(root, "ant", "notes.txt"), []byte("not an image"), 0o644)
	os.WriteFile(filepath.Join(root, "README"), []byte("a file at the top is not a class"), 0o644)
	wantOrder := []string{"ant/a.png", "ant/b.JPG", "ant/sub/c.png", "ant/sub-x/d.jpeg", "ant/sub/deeper/e.png", "bee/only.png", "zebra/10.png", "zebra/2.png"}

	for _, split := range []string{"test", "train"} { // no split folders: DIR itself
		ds, err := Open("imagefolder:"+root, split)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(ds.Classes(), ","); got != "ant,bee,zebra" {
			t.Errorf("classes %s, want ant,bee,zebra", got)
		}
		if ds.Len() != len(wantOrder) {
			t.Fatalf("Len %d, want %d", ds.Len(), len(wantOrder))
		}
		for i, want := range wantOrder {
			s, err := ds.Sample(i)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(root, s.Name)
			if filepath.ToSlash(rel) != want {
				t.Errorf("sample %d = %s, want %s", i, rel, want)
			}
			if wantLabel := map[string]int{"ant": 0, "bee": 1, "zebra": 2}[strings.Split(want, "/")[0]]; s.Label != wantLabel {
				t.Errorf("sample %d label %d, want %d", i, s.Label, wantLabel)
			}
			img, err := s.Decode()
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds() != imgs[want].Bounds() {
				t.Errorf("sample %d bounds %v, want %v", i, img.Bounds(), imgs[want].Bounds())
			}
			if strings.HasSuffix(want, ".png") {
				// Lossless: the decoded pixels are the written ones.
				for _, pt := range []image.Point{{0, 0}, {3, 5}, {img.Bounds().Dx() - 1, img.Bounds().Dy() - 1}} {
					a := color.NRGBAModel.Convert(img.At(pt.X, pt.Y))
					b := color.NRGBAModel.Convert(imgs[want].At(pt.X, pt.Y))
					if a != b {
						t.Errorf("%s at %v: %v, wrote %v", want, pt, a, b)
					}
				}
			}
		}
		ds.Close()
	}

	// Through the Loader into a 3-channel model: gray PNGs are replicated.
	ds, _ := Open("imagefolder:"+root, "test")
	defer ds.Close()
	p, err := NewPreprocessor(vim.Config{ImgH: 16, ImgW: 16, Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	imgsOut, labels, err := ReadAll(ds, p, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(labels) != "[0 0 0 0 0 1 2 2]" || len(imgsOut) != 8*3*256 {
		t.Fatalf("labels %v, %d values", labels, len(imgsOut))
	}
	gray := imgsOut[0 : 3*256] // ant/a.png is gray
	for i := range 256 {
		if gray[i] != gray[256+i] || gray[i] != gray[512+i] {
			t.Fatalf("gray image value %d not replicated: %g %g %g", i, gray[i], gray[256+i], gray[512+i])
		}
	}
	want := make([]float64, 3*256)
	if err := p.Apply(imgs["ant/a.png"], want); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if want[i] != gray[i] {
			t.Fatalf("value %d: loaded %g, preprocessed in memory %g", i, gray[i], want[i])
		}
	}
}

func TestImageFolderSplits(t *testing.T) {
	root := t.TempDir()
	writeImage(t, filepath.Join(root, "train", "cat", "1.png"), 8, 8, 1, false)
	writeImage(t, filepath.Join(root, "train", "dog", "1.png"), 8, 8, 2, false)
	writeImage(t, filepath.Join(root, "train", "dog", "2.png"), 8, 8, 3, false)
	writeImage(t, filepath.Join(root, "val", "cat", "1.png"), 8, 8, 4, false)
	writeImage(t, filepath.Join(root, "val", "dog", "1.png"), 8, 8, 5, false)
	for split, n := range map[string]int{"train": 3, "test": 2, "val": 2} {
		ds, err := Open("imagefolder:"+root, split)
		if err != nil {
			t.Fatal(err)
		}
		if ds.Len() != n {
			t.Errorf("split %s: %d images, want %d", split, ds.Len(), n)
		}
		s, _ := ds.Sample(0)
		if !strings.Contains(s.Name, string(filepath.Separator)+map[string]string{"train": "train", "test": "val", "val": "val"}[split]+string(filepath.Separator)) {
			t.Errorf("split %s reads %s", split, s.Name)
		}
		ds.Close()
	}
	// A test split named test/ when there is no val/.
	root2 := t.TempDir()
	writeImage(t, filepath.Join(root2, "test", "a", "1.png"), 8, 8, 1, false)
	if ds, err := Open("imagefolder:"+root2, "test"); err != nil || ds.Len() != 1 {
		t.Errorf("test/ folder: %v", err)
	}
	if _, err := Open("imagefolder:"+root2, "train"); err == nil || !strings.Contains(err.Error(), "no train folder") {
		t.Errorf("missing train/: error %v", err)
	}
}

func TestImageFolderErrors(t *testing.T) {
	empty := t.TempDir()
	if _, err := Open("imagefolder:"+empty, "test"); err == nil || !strings.Contains(err.Error(), "no class sub-folders") {
		t.Errorf("empty folder: %v", err)
	}
	noImages := t.TempDir()
	writeImage(t, filepath.Join(noImages, "a", "1.png"), 4, 4, 1, false)
	os.MkdirAll(filepath.Join(noImages, "b"), 0o755)
	os.WriteFile(filepath.Join(noImages, "b", "x.txt"), nil, 0o644)
	if _, err := Open("imagefolder:"+noImages, "test"); err == nil || !strings.Contains(err.Error(), filepath.Join(noImages, "b")+" holds no image files") {
		t.Errorf("class without images: %v", err)
	}
	// A corrupt image fails when decoded, naming the file.
	bad := t.TempDir()
	writeImage(t, filepath.Join(bad, "a", "1.png"), 4, 4, 1, false)
	os.WriteFile(filepath.Join(bad, "a", "2.jpg"), []byte("\xff\xd8\xff\xe0 garbage"), 0o644)
	ds, err := Open("imagefolder:"+bad, "test")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := NewPreprocessor(vim.Config{ImgH: 4, ImgW: 4, Channels: 3})
	if _, _, err := ReadAll(ds, p, 0); err == nil || !strings.Contains(err.Error(), filepath.Join(bad, "a", "2.jpg")) {
		t.Errorf("corrupt JPEG: error %v, want one naming the file", err)
	}
	// A lying header: a PNG claiming a huge size is refused before
	// allocating.
	huge := filepath.Join(bad, "huge.png")
	writeImage(t, huge, 4, 4, 1, false)
	b, _ := os.ReadFile(huge)
	copy(b[16:24], []byte{0, 1, 0, 0, 0, 1, 0, 0}) // IHDR width, height = 65536
	binary.BigEndian.PutUint32(b[29:33], crc32.ChecksumIEEE(b[12:29]))
	os.WriteFile(huge, b, 0o644)
	if _, err := decodeImageFile(huge); err == nil || !strings.Contains(err.Error(), "size out of range") {
		t.Errorf("huge PNG: error %v", err)
	}
}

// TestDecodeImageMessages checks the errors for files that are not images
// or are broken: one line naming the file, the likely cause.
func TestDecodeImageMessages(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.png")
	writeImage(t, good, 6, 5, 2, false)
	b, _ := os.ReadFile(good)
	for _, tc := range []struct {
		name string
		data []byte
		frag string
	}{
		{"notes.png", []byte("just some text"), "not a JPEG, PNG, BMP, TIFF or WebP image"},
		{"trunc.png", b[:len(b)-20], "truncated or corrupt png?"},
		{"head.png", b[:20], "unexpected EOF"},
		{"empty.jpg", nil, "not a JPEG, PNG, BMP, TIFF or WebP image"},
	} {
		path := filepath.Join(dir, tc.name)
		os.WriteFile(path, tc.data, 0o644)
		_, err := decodeImageFile(path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.frag) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line naming the file and containing %q", tc.name, err, tc.frag)
		}
	}
	if _, err := Open("sample", "val"); err == nil || !strings.Contains(err.Error(), "dataset sample: no val split") {
		t.Errorf("sample val split: %v", err)
	}
	if _, err := Open("mnist:"+dir, "VAL"); err == nil || !strings.Contains(err.Error(), "no val split") {
		t.Errorf("mnist val split: %v", err)
	}
}

// FuzzDecodeImage decodes arbitrary bytes as an image file: never a panic
// (decoder panics are turned into errors), one-line errors naming the file,
// and no image larger than MaxImagePixels.
func FuzzDecodeImage(f *testing.F) {
	dir := f.TempDir()
	for i, name := range []string{"a.png", "b.jpg", "c.png"} {
		path := filepath.Join(dir, name)
		writeImageFile(f, path, 5+i, 3+i, i == 2)
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte("BM"))
	f.Add([]byte("II*\x00"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "in")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		img, err := decodeImageFile(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error %q: want one line naming the file", err)
			}
			return
		}
		r := img.Bounds()
		if int64(r.Dx())*int64(r.Dy()) > MaxImagePixels {
			t.Fatalf("decoded a %v image", r)
		}
	})
}

// writeImageFile is writeImage for a fuzz seed.
func writeImageFile(f *testing.F, path string, w, h int, gray bool) {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 37)
	}
	var g image.Image = img
	if gray {
		gi := image.NewGray(img.Rect)
		copy(gi.Pix, img.Pix)
		g = gi
	}
	out, err := os.Create(path)
	if err != nil {
		f.Fatal(err)
	}
	defer out.Close()
	if strings.HasSuffix(path, ".png") {
		err = png.Encode(out, g)
	} else {
		err = jpeg.Encode(out, g, &jpeg.Options{Quality: 90})
	}
	if err != nil {
		f.Fatal(err)
	}
}
