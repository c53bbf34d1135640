// Package ckpt reads and writes tensor files — safetensors and PyTorch zip
// checkpoints (torch.save, PyTorch ≥ 1.6) — without executing any code.
//
// Every reader treats its input as hostile: a corrupt, truncated or lying
// file gives a one-line error naming the file and the tensor, never a panic,
// and no reader allocates more than a small multiple of the file's size.
// Values are widened to float64 (exactly for every float type and for
// integers up to 2⁵³); non-finite values are passed through.
package ckpt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// Tensor is one named tensor, values widened to float64.
type Tensor struct {
	Name string
	// DType is the element type in the file, as safetensors names it:
	// "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U64",
	// "U32", "U16", "U8" or "BOOL". WriteSafetensors stores the tensor
	// in this type.
	DType string
	Shape []int     // row-major; empty for a scalar
	Data  []float64 // len(Data) is the product of Shape
}

// File is an ordered set of tensors plus string metadata.
type File struct {
	Tensors  []Tensor
	Metadata map[string]string
}

// Get returns the tensor with the given name.
func (f *File) Get(name string) (*Tensor, bool) {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i], true
		}
	}
	return nil, false
}

// Read reads a tensor file, recognising its format by content, whatever
// its extension: a zip archive is a PyTorch checkpoint (see ReadPTH), an
// 8-byte header length followed by a JSON object is safetensors (see
// ReadSafetensors); anything else is refused as not a checkpoint, saying
// what it looks like. Errors name the file.
func Read(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if st, err := fh.Stat(); err == nil && st.IsDir() {
		fh.Close()
		return nil, fmt.Errorf("read %s: a directory, not a checkpoint file", path)
	}
	var head [16]byte
	n, err := io.ReadFull(fh, head[:])
	fh.Close()
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	b := head[:n]
	switch {
	case isZip(b):
		return ReadPTH(path)
	case len(b) >= 2 && b[0] == 0x80 && b[1] <= 5:
		// A bare pickle: torch.save before PyTorch 1.6, or with
		// _use_new_zipfile_serialization=False.
		return nil, fmt.Errorf("read %s: legacy (non-zip) PyTorch serialization is not supported; "+
			"re-save it with torch.save from PyTorch >= 1.6", path)
	case len(b) >= 9 && b[8] == '{' && binary.LittleEndian.Uint64(b) <= MaxHeaderSize:
		return ReadSafetensors(path)
	}
	return nil, fmt.Errorf("read %s: not a checkpoint (safetensors or PyTorch zip): %s", path, describeStart(b))
}

// describeStart says what a file that is not a checkpoint looks like, from
// its first bytes.
func describeStart(b []byte) string {
	for _, k := range []struct {
		magic, what string
	}{
		{"\x89PNG", "a PNG image"}, {"\xff\xd8\xff", "a JPEG image"}, {"\x1f\x8b", "gzip data (decompress it first)"},
		{"\x89HDF", "an HDF5 file (Keras?)"}, {"\x93NUMPY", "a NumPy .npy array"}, {"PK", "a truncated zip"},
		{"GGUF", "a GGUF file"}, {"\x7fELF", "an executable"},
	} {
		if bytes.HasPrefix(b, []byte(k.magic)) {
			return "it is " + k.what
		}
	}
	switch {
	case len(b) == 0:
		return "the file is empty"
	case len(b) < 9:
		return fmt.Sprintf("the file is only %d bytes", len(b))
	case utf8.Valid(b) && !bytes.ContainsFunc(b, func(r rune) bool { return r < ' ' && r != '\n' && r != '\r' && r != '\t' }):
		return fmt.Sprintf("it starts with text %q", strings.TrimRight(string(b), "\r\n"))
	case b[8] != '{':
		return fmt.Sprintf("no safetensors header (byte 8 is %#02x, not '{') and no zip signature", b[8])
	}
	return fmt.Sprintf("no zip signature, and a safetensors header length of %d bytes, more than the %d-byte limit",
		binary.LittleEndian.Uint64(b), MaxHeaderSize)
}

// isZip reports whether b starts with a zip local file header or, for an
// empty archive, an end-of-central-directory record.
func isZip(b []byte) bool {
	return bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06"))
}

// numElements returns the product of shape, or an error when a dimension is
// negative or the product exceeds limit.
func numElements(shape []int64, limit int64) (int64, error) {
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d == 0 {
			return 0, nil
		}
	}
	n := int64(1)
	for _, d := range shape {
		if n > limit/d {
			return 0, fmt.Errorf("shape %v has more than %d elements", shape, limit)
		}
		n *= d
	}
	return n, nil
}
