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
	"fmt"
	"io"
	"os"
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

// Read reads a tensor file, recognising its format by content: a zip archive
// is a PyTorch checkpoint (see ReadPTH), anything else safetensors (see
// ReadSafetensors). Errors name the file.
func Read(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var magic [4]byte
	n, err := io.ReadFull(fh, magic[:])
	fh.Close()
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	switch {
	case isZip(magic[:n]):
		return ReadPTH(path)
	case n >= 2 && magic[0] == 0x80 && magic[1] <= 5:
		// A bare pickle: torch.save before PyTorch 1.6, or with
		// _use_new_zipfile_serialization=False.
		return nil, fmt.Errorf("read %s: legacy (non-zip) PyTorch serialization is not supported; "+
			"re-save it with torch.save from PyTorch >= 1.6", path)
	}
	return ReadSafetensors(path)
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
