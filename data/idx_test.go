package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// idxBytes builds an unsigned-byte IDX file with the given dims whose item i
// byte j is itemByte(i, j).
func idxBytes(dims ...int) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(dims))})
	item := 1
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	for _, d := range dims[1:] {
		item *= d
	}
	for i := range dims[0] {
		for j := range item {
			b.WriteByte(itemByte(i, j))
		}
	}
	return b.Bytes()
}

func itemByte(i, j int) byte { return byte(i*31 + j*7 + i*j) }

func gzipBytes(t testing.TB, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeTemp(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestIDXRead(t *testing.T) {
	raw := idxBytes(7, 3, 5)
	dir := t.TempDir()
	for _, tc := range []struct {
		name       string
		data       []byte
		compressed bool
	}{
		{"images-raw", raw, false},
		{"images-gz", gzipBytes(t, raw), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := OpenIDX(writeTemp(t, dir, tc.name, tc.data))
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			if got := fmt.Sprint(x.Dims()); got != "[7 3 5]" {
				t.Errorf("Dims = %s, want [7 3 5]", got)
			}
			if x.Len() != 7 || x.ItemSize() != 15 || x.Compressed() != tc.compressed {
				t.Errorf("Len %d ItemSize %d Compressed %v, want 7 15 %v", x.Len(), x.ItemSize(), x.Compressed(), tc.compressed)
			}
			// Forward, backward (reopens a gzip stream), repeated, skipping.
			item := make([]byte, 15)
			for _, i := range []int{0, 1, 2, 6, 3, 3, 0, 5} {
				if err := x.ReadItem(i, item); err != nil {
					t.Fatalf("ReadItem(%d): %v", i, err)
				}
				for j, v := range item {
					if v != itemByte(i, j) {
						t.Fatalf("item %d byte %d = %d, want %d", i, j, v, itemByte(i, j))
					}
				}
			}
			all, err := x.ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(all, raw[16:]) {
				t.Error("ReadAll differs from the file's data")
			}
			for _, i := range []int{-1, 7} {
				if err := x.ReadItem(i, item); err == nil || !strings.Contains(err.Error(), "out of range") {
					t.Errorf("ReadItem(%d) error = %v, want out of range", i, err)
				}
			}
			if err := x.ReadItem(0, item[:3]); err == nil {
				t.Error("ReadItem with a short buffer: no error")
			}
		})
	}
}

func TestIDXConcurrent(t *testing.T) {
	raw := idxBytes(50, 4, 4)
	dir := t.TempDir()
	for _, name := range []string{"raw", "gz"} {
		data := raw
		if name == "gz" {
			data = gzipBytes(t, raw)
		}
		x, err := OpenIDX(writeTemp(t, dir, name, data))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				item := make([]byte, 16)
				for i := w; i < 50; i += 4 {
					if err := x.ReadItem(i, item); err != nil {
						errs <- err
						return
					}
					if !bytes.Equal(item, raw[16+16*i:16+16*(i+1)]) {
						errs <- fmt.Errorf("%s: item %d differs", name, i)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		x.Close()
	}
}

func TestIDXErrors(t *testing.T) {
	good := idxBytes(4, 2, 3)
	withMagic := func(m ...byte) []byte {
		b := append([]byte(nil), good...)
		copy(b, m)
		return b
	}
	// A corrupted gzip checksum: flip a bit of the CRC-32 in the trailer.
	badCRC := gzipBytes(t, good)
	badCRC[len(badCRC)-8] ^= 1
	gz := gzipBytes(t, good)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated IDX header"},
		{"short-header", good[:6], "truncated IDX header"},
		{"short-dims", good[:10], "truncated IDX header"},
		{"magic-int32", withMagic(0, 0, 0x0c, 3), "bad magic 0x00000c03"},
		{"magic-nonzero", withMagic(1, 0, 8, 3), "bad magic 0x01000803"},
		{"magic-0dims", withMagic(0, 0, 8, 0), "bad magic 0x00000800"},
		{"png", []byte("\x89PNG\r\n\x1a\n....."), "bad magic 0x89504e47"},
		{"truncated-raw", good[:len(good)-1], "truncated: 39 bytes, dims 4x2x3 need 40"},
		{"overlong-raw", append(append([]byte(nil), good...), 0), "41 bytes, more than the 40 that dims 4x2x3 need"},
		{"zero-dim", idxBytes(2, 0, 3)[:16], "zero-sized item"},
		{"huge-item", withMagic(0, 0, 8, 3, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), "larger than"},
		{"truncated-gz-data", gzipBytes(t, good[:len(good)-2]), "truncated: 22 data bytes, dims 4x2x3 need 24"},
		{"overlong-gz", gzipBytes(t, append(append([]byte(nil), good...), 1, 2)), "more data than"},
		{"truncated-gz-stream", gz[:len(gz)-5], "unexpected EOF"},
		{"gz-crc", badCRC, "checksum"},
		{"gz-header-only", gzipBytes(t, good[:3]), "truncated IDX header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, t.TempDir(), tc.name+".idx", tc.data)
			x, err := OpenIDX(p)
			if err == nil {
				x.Close()
				t.Fatalf("OpenIDX succeeded, want error containing %q", tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, p) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s and containing %q", msg, p, tc.want)
			}
		})
	}
	if _, err := OpenIDX(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: error %v", err)
	}
}

// TestIDXChangedFile checks that a gzip file truncated after opening gives
// an error, not a panic or wrong data.
func TestIDXChangedFile(t *testing.T) {
	good := idxBytes(100, 8, 8)
	gz := gzipBytes(t, good)
	p := writeTemp(t, t.TempDir(), "x.gz", gz)
	x, err := OpenIDX(p)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := os.WriteFile(p, gz[:len(gz)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	item := make([]byte, 64)
	if err := x.ReadItem(99, item); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("ReadItem on a truncated file: error %v, want one naming %s", err, p)
	}
}

// memFile is an in-memory file for the fuzz target: random access like an
// *os.File.
type memFile struct{ *bytes.Reader }

func (memFile) Close() error { return nil }

// FuzzIDX feeds arbitrary bytes, raw and gzipped, to the IDX reader: it must
// not panic nor allocate by the header's claims, and an accepted file must
// read back exactly its data.
func FuzzIDX(f *testing.F) {
	f.Add(idxBytes(3, 2, 2), false)
	f.Add(idxBytes(5), true)
	f.Add(idxBytes(2, 28, 28), true)
	f.Add([]byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 28, 0, 0, 0, 28}, false)
	f.Add([]byte{0, 0, 8, 1, 0x7f, 0xff, 0xff, 0xff}, true)
	f.Fuzz(func(t *testing.T, b []byte, compress bool) {
		if compress {
			var z bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&z, gzip.HuffmanOnly)
			zw.Write(b)
			zw.Close()
			b = z.Bytes()
		}
		open := func() (io.ReadCloser, error) { return memFile{bytes.NewReader(b)}, nil }
		first, _ := open()
		x, err := newIDX("fuzz", first, int64(len(b)), open)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q does not name the file on one line", err)
			}
			return
		}
		defer x.Close()
		raw := b
		if compress {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ = io.ReadAll(zr)
		}
		hdr := 4 + 4*len(x.Dims())
		if len(raw) != hdr+x.Len()*x.ItemSize() {
			t.Fatalf("accepted %d bytes for dims %v", len(raw), x.Dims())
		}
		all, err := x.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(all, raw[hdr:]) {
			t.Fatal("ReadAll differs from the data")
		}
		if x.Len() == 0 {
			return
		}
		item := make([]byte, x.ItemSize())
		for i := x.Len() - 1; i >= 0 && i >= x.Len()-3; i-- {
			if err := x.ReadItem(i, item); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(item, raw[hdr+i*x.ItemSize():hdr+(i+1)*x.ItemSize()]) {
				t.Fatalf("item %d differs", i)
			}
		}
	})
}
