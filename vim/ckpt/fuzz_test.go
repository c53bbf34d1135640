package ckpt

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkParsed checks the invariants of a successful parse of an n-byte
// input: consistent shapes, and no more decoded values than maxValues.
func checkParsed(t *testing.T, f *File, maxValues int) {
	t.Helper()
	total := 0
	for _, tn := range f.Tensors {
		n := 1
		for _, d := range tn.Shape {
			if d < 0 {
				t.Fatalf("tensor %q: shape %v", tn.Name, tn.Shape)
			}
			n *= d
		}
		if n != len(tn.Data) {
			t.Fatalf("tensor %q: shape %v but %d values", tn.Name, tn.Shape, len(tn.Data))
		}
		if _, err := lookupDType(tn.DType); err != nil {
			t.Fatalf("tensor %q: %v", tn.Name, err)
		}
		total += n
	}
	if total > maxValues {
		t.Fatalf("%d values decoded, more than %d", total, maxValues)
	}
	if f.Metadata == nil {
		t.Fatal("nil metadata")
	}
}

func checkOneLine(t *testing.T, err error) {
	t.Helper()
	if strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("error spans lines: %q", err)
	}
}

// addTruncations seeds the corpus with b and some of its prefixes.
func addTruncations(f *testing.F, b []byte) {
	f.Add(b)
	for _, n := range []int{0, 1, 7, 8, 9, 30, len(b) / 3, len(b) / 2, len(b) - 22, len(b) - 1} {
		if n >= 0 && n < len(b) {
			f.Add(b[:n])
		}
	}
}

func FuzzParseSafetensors(f *testing.F) {
	for _, file := range roundTripFiles() {
		b, err := EncodeSafetensors(file)
		if err != nil {
			f.Fatal(err)
		}
		addTruncations(f, b)
	}
	// The fixture's header, with the first tensors' data.
	if b, err := os.ReadFile(toyWeights); err == nil {
		f.Add(b[:8+binary.LittleEndian.Uint64(b)+1024])
	} else {
		f.Fatal(err)
	}
	f.Add(stFile(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"__metadata__":{"k":"v"}}`, []byte{0, 0x3c}))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := ParseSafetensors(b)
		if err != nil {
			checkOneLine(t, err)
			return
		}
		checkParsed(t, file, len(b))
		// Whatever reads must write back and read the same, unless a
		// widened integer no longer fits its type (I64 near 2^63).
		enc, err := EncodeSafetensors(file)
		if err != nil {
			if !strings.Contains(err.Error(), "not an integer") {
				t.Fatalf("re-encoding: %v", err)
			}
			return
		}
		back, err := ParseSafetensors(enc)
		if err != nil {
			t.Fatalf("re-parsing: %v", err)
		}
		if err := sameFile(back, file); err != nil {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzReadPTH fuzzes the PyTorch checkpoint reader (ReadPTH and ParsePTH share
// it) with whole archives.
func FuzzReadPTH(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.pth")
	if len(paths) == 0 {
		f.Fatal("no testdata/*.pth")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		addTruncations(f, b)
	}
	f.Add(pth(f, stateDictPickle(tensorItem("w", f32("0", 2, 2))), ok32))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := ParsePTH(b)
		if err != nil {
			checkOneLine(t, err)
			return
		}
		checkParsed(t, file, 2*len(b)+1<<20)
	})
}

// FuzzPTHPickle fuzzes data.pkl inside a valid archive that holds storage
// "0" (4 bytes) and "1" (24 bytes): the zip layer's CRCs would otherwise
// stop most mutations before the unpickler.
func FuzzPTHPickle(f *testing.F) {
	storages := map[string][]byte{"0": {1, 2, 3, 4}, "1": f32Bytes(1, 2, 3, 4, 5, 6)}
	f.Add(stateDictPickle(tensorItem("w", f32("1", 2, 3))))
	f.Add(stateDictPickle(tensorItem("a", f32("1", 6)), tensorItem("b", ptTensor{class: "ByteStorage", key: "0", numel: 4,
		offset: 1, shape: []int64{3, 2}, stride: []int64{1, 0}})))
	f.Add(stateDictPickle(tensorItem("t", ptTensor{class: "HalfStorage", key: "1", numel: 12, shape: []int64{3, 4}, stride: []int64{1, 3}})))
	paths, _ := filepath.Glob("testdata/*.pth")
	for _, p := range paths {
		zr, err := zip.OpenReader(p)
		if err != nil {
			continue // legacy.pth
		}
		for _, zf := range zr.File {
			if strings.HasSuffix(zf.Name, "/data.pkl") {
				rc, _ := zf.Open()
				b, _ := io.ReadAll(rc)
				rc.Close()
				f.Add(b)
			}
		}
		zr.Close()
	}
	f.Fuzz(func(t *testing.T, pkl []byte) {
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		for _, name := range []string{"data.pkl", "data/0", "data/1"} {
			fw, err := w.CreateHeader(&zip.FileHeader{Name: "a/" + name, Method: zip.Store})
			if err != nil {
				t.Fatal(err)
			}
			data := pkl
			if name != "data.pkl" {
				data = storages[strings.TrimPrefix(name, "data/")]
			}
			fw.Write(data)
		}
		w.Close()
		b := buf.Bytes()
		file, err := ParsePTH(b)
		if err != nil {
			checkOneLine(t, err)
			return
		}
		checkParsed(t, file, 2*len(b)+1<<20)
	})
}

// FuzzRead fuzzes the format recognition of Read on files of any content:
// never a panic, one-line errors that name the file.
func FuzzRead(f *testing.F) {
	for _, p := range []string{"testdata/views.pth", "testdata/legacy.pth", "testdata/expected.safetensors"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		addTruncations(f, b)
	}
	for _, s := range []string{"", "PK", "hello\n", "\x89PNG\r\n\x1a\n", "\x80\x02", "{\"a\": 1}", "\x08\x00\x00\x00\x00\x00\x00\x00{}      "} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "in")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := Read(path)
		if err != nil {
			checkOneLine(t, err)
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		checkParsed(t, file, 2*len(b)+1<<20)
	})
}
