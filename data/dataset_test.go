package data

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"path/filepath"
	"strings"
	"testing"
)

// labelBytes builds an IDX labels file.
func labelBytes(labels ...byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, 1})
	binary.Write(&b, binary.BigEndian, uint32(len(labels)))
	b.Write(labels)
	return b.Bytes()
}

func TestOpenSpecErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		spec, split string
		want        string
	}{
		{"cifar10", "test", `unknown dataset "cifar10" (known: fashion-mnist, fashion-mnist:DIR, mnist:DIR, imagefolder:DIR, sample)`},
		{"mnist", "test", "unknown dataset"},
		{"mnist:", "test", "unknown dataset"},
		{"imagefolder:", "test", "unknown dataset"},
		{"sample", "train", "only the test split"},
		{"sample", "validation", `split "validation": want train or test`},
		{"mnist:" + dir, "test", "t10k-images-idx3-ubyte[.gz] not found"},
		{"mnist:" + dir, "train", "train-images-idx3-ubyte[.gz] not found"},
		{"imagefolder:" + filepath.Join(dir, "nope"), "test", "is not a directory"},
	} {
		ds, err := Open(tc.spec, tc.split)
		if err == nil {
			ds.Close()
			t.Errorf("Open(%q, %q) succeeded, want error %q", tc.spec, tc.split, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Open(%q, %q) error %q, want one line containing %q", tc.spec, tc.split, err, tc.want)
		}
	}
}

func TestParseSplit(t *testing.T) {
	for in, want := range map[string]Split{"train": Train, "TEST": Test, "val": Test, "": Test} {
		got, err := ParseSplit(in)
		if err != nil || got != want {
			t.Errorf("ParseSplit(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseSplit("dev"); err == nil {
		t.Error("ParseSplit(dev) succeeded")
	}
}

func TestMNISTDir(t *testing.T) {
	dir := t.TempDir()
	// test split: raw and gzip files both present, with different labels;
	// the raw ones must win. train split: gzip only, '.' naming.
	writeTemp(t, dir, "t10k-images-idx3-ubyte", idxBytes(6, 4, 3))
	writeTemp(t, dir, "t10k-labels-idx1-ubyte", labelBytes(3, 0, 1, 2, 3, 1))
	writeTemp(t, dir, "t10k-images-idx3-ubyte.gz", gzipBytes(t, idxBytes(6, 4, 3)))
	writeTemp(t, dir, "t10k-labels-idx1-ubyte.gz", gzipBytes(t, labelBytes(0, 0, 0, 0, 0, 0)))
	writeTemp(t, dir, "train-images.idx3-ubyte.gz", gzipBytes(t, idxBytes(9, 2, 2)))
	writeTemp(t, dir, "train-labels.idx1-ubyte.gz", gzipBytes(t, labelBytes(0, 1, 2, 3, 4, 5, 6, 7, 8)))

	ds, err := Open("mnist:"+dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	if ds.Len() != 6 || fmt.Sprint(ds.Classes()) != "[0 1 2 3]" {
		t.Errorf("Len %d Classes %v, want 6 [0 1 2 3]", ds.Len(), ds.Classes())
	}
	for _, i := range []int{5, 0, 2} {
		s, err := ds.Sample(i)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{3, 0, 1, 2, 3, 1}[i]; s.Label != want || s.Index != i {
			t.Errorf("sample %d: index %d label %d, want label %d", i, s.Index, s.Label, want)
		}
		img, err := s.Decode()
		if err != nil {
			t.Fatal(err)
		}
		g, ok := img.(*image.Gray)
		if !ok || g.Bounds() != image.Rect(0, 0, 3, 4) {
			t.Fatalf("sample %d: image %T %v, want a 3x4 *image.Gray", i, img, img.Bounds())
		}
		for j := range 12 {
			if g.Pix[j] != itemByte(i, j) {
				t.Fatalf("sample %d pixel %d = %d, want %d", i, j, g.Pix[j], itemByte(i, j))
			}
		}
		if !strings.HasSuffix(s.Name, "t10k-images-idx3-ubyte["+fmt.Sprint(i)+"]") {
			t.Errorf("sample name %q", s.Name)
		}
	}
	if _, err := ds.Sample(6); err == nil {
		t.Error("Sample(6) of 6: no error")
	}

	tr, err := Open("mnist:"+dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if tr.Len() != 9 || len(tr.Classes()) != 9 {
		t.Errorf("train: Len %d, %d classes; want 9, 9", tr.Len(), len(tr.Classes()))
	}
	s, err := tr.Sample(8)
	if err != nil || s.Label != 8 {
		t.Errorf("train sample 8: label %d, %v", s.Label, err)
	}
}

func TestIDXDatasetErrors(t *testing.T) {
	for _, tc := range []struct {
		name           string
		images, labels []byte
		spec           string
		want           string
	}{
		{"count-mismatch", idxBytes(5, 2, 2), labelBytes(1, 2, 3), "mnist", "t10k-labels-idx1-ubyte has 3 labels but"},
		{"labels-as-images", labelBytes(1, 2), labelBytes(1, 2), "mnist", "1 dims, want an images file (magic 0x00000803"},
		{"images-as-labels", idxBytes(2, 2, 2), idxBytes(2, 2, 2), "mnist", "3 dims, want a labels file (magic 0x00000801"},
		{"class-range", idxBytes(2, 28, 28), labelBytes(3, 10), "fashion-mnist", "label 10 out of range for 10 classes"},
		{"empty", idxBytes(0, 28, 28), labelBytes(), "mnist", "no images"},
		{"bad-magic", append([]byte{0, 0, 9, 3}, idxBytes(1, 1, 1)[4:]...), labelBytes(1), "mnist", "bad magic 0x00000903"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTemp(t, dir, "t10k-images-idx3-ubyte", tc.images)
			writeTemp(t, dir, "t10k-labels-idx1-ubyte", tc.labels)
			ds, err := Open(tc.spec+":"+dir, "test")
			if err == nil {
				ds.Close()
				t.Fatalf("Open succeeded, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q, want one naming %s and containing %q", err, dir, tc.want)
			}
		})
	}
}

// TestEmbeddedSample opens the sample from an empty working directory: it
// must come from the binary, not from a file.
func TestEmbeddedSample(t *testing.T) {
	t.Chdir(t.TempDir())
	ds, err := Open("sample", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	if ds.Len() != SampleLen {
		t.Fatalf("Len = %d, want %d", ds.Len(), SampleLen)
	}
	if got, want := strings.Join(ds.Classes(), ","), strings.Join(FashionMNISTClasses(), ","); got != want {
		t.Errorf("Classes = %s, want %s", got, want)
	}
	// The published first labels of the Fashion-MNIST test set.
	want := []int{9, 2, 1, 1, 6, 1, 4, 6, 5, 7}
	hist := make([]int, 10)
	for i := range ds.Len() {
		s, err := ds.Sample(i)
		if err != nil {
			t.Fatal(err)
		}
		if i < len(want) && s.Label != want[i] {
			t.Errorf("label %d = %d, want %d", i, s.Label, want[i])
		}
		hist[s.Label]++
		img, _ := s.Decode()
		if img.Bounds() != image.Rect(0, 0, 28, 28) {
			t.Fatalf("image %d bounds %v", i, img.Bounds())
		}
	}
	for c, n := range hist {
		if n < 10 {
			t.Errorf("class %d has %d of 256 samples; the sample should cover every class", c, n)
		}
	}
}
