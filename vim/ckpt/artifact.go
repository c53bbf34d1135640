package ckpt

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Format is a vimsim artifact format: a safetensors file whose metadata
// holds "format" = Name, "version" = Version and, under Key, a JSON header
// whose "format" and "version" members repeat them. The quantized model
// (package quant) and the integer program (package quant/intprog) are
// such files; ArtifactWriter and ArtifactReader stamp and check the
// metadata and put and get their typed tensors.
type Format struct {
	Name    string // metadata "format", e.g. "vimsim-qmodel"
	Version int    // metadata "version"
	Key     string // metadata key of the JSON header, e.g. "qmodel"
	Noun    string // what a file of the format is, in errors: "quantized model"
}

// AnyLen marks a dimension of a tensor shape whose length the data decides:
// on writing, the number of values fills it; on reading, it may be 1 to
// MaxAnyLen.
const AnyLen = -1

// MaxAnyLen bounds a free (AnyLen) dimension on reading.
const MaxAnyLen = 1 << 16

// Integer is the element type of an integer tensor.
type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32
}

// stamp is the part of a header that repeats the metadata.
type stamp struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
}

// article is "a" or "an" for noun.
func article(noun string) string {
	if noun != "" && strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an"
	}
	return "a"
}

// ArtifactWriter collects the tensors of an artifact in order.
type ArtifactWriter struct {
	format Format
	file   *File
}

// NewWriter returns an empty writer of format f.
func (f Format) NewWriter() *ArtifactWriter {
	return &ArtifactWriter{format: f, file: &File{Metadata: map[string]string{}}}
}

// Put appends the tensor name of the given dtype and shape, whose AnyLen
// dimension (at most one) the values fill. data is stored as it is (not
// copied). Too many or too few values are an error naming the tensor.
func (w *ArtifactWriter) Put(name, dtype string, shape []int, data []float64) error {
	sh := slices.Clone(shape)
	free, known := -1, 1
	for i, d := range sh {
		if d == AnyLen {
			free = i
		} else {
			known *= d
		}
	}
	if free >= 0 {
		if known == 0 || len(data)%known != 0 {
			return fmt.Errorf("%s: %d values do not fill shape %v", name, len(data), shape)
		}
		sh[free] = len(data) / known
	} else if len(data) != known {
		return fmt.Errorf("%s: %d values for shape %v", name, len(data), shape)
	}
	w.file.Tensors = append(w.file.Tensors, Tensor{Name: name, DType: dtype, Shape: sh, Data: data})
	return nil
}

// PutFloats appends a copy of v as the F64 tensor name (see Put).
func (w *ArtifactWriter) PutFloats(name string, shape []int, v []float64) error {
	return w.Put(name, "F64", shape, slices.Clone(v))
}

// PutInts appends v as the integer tensor name, stored as dtype (see Put).
func PutInts[T Integer](w *ArtifactWriter, name, dtype string, shape []int, v []T) error {
	data := make([]float64, len(v))
	for i, x := range v {
		data[i] = float64(x)
	}
	return w.Put(name, dtype, shape, data)
}

// File returns the artifact: the tensors put so far and the metadata, with
// header marshalled under the format's key. header must marshal to a JSON
// object whose "format" and "version" are the format's.
func (w *ArtifactWriter) File(header any) (*File, error) {
	b, err := json.Marshal(header)
	if err != nil {
		return nil, fmt.Errorf("metadata %s: %w", w.format.Key, err)
	}
	var s stamp
	if err := json.Unmarshal(b, &s); err != nil || s.Format != w.format.Name || s.Version != w.format.Version {
		return nil, fmt.Errorf("metadata %s: header of format %q version %d, want %q %d", w.format.Key, s.Format, s.Version, w.format.Name, w.format.Version)
	}
	w.file.Metadata["format"] = w.format.Name
	w.file.Metadata["version"] = strconv.Itoa(w.format.Version)
	w.file.Metadata[w.format.Key] = string(b)
	return w.file, nil
}

// ArtifactReader gets the typed tensors of an artifact, checking their
// dtype, shape and values, and keeps track of the tensors read.
type ArtifactReader struct {
	file *File
	used map[string]bool
}

// NewReader checks that file is an artifact of format f (metadata format
// and version, header format and version) and unmarshals its JSON header
// into header. Errors say what the file is not.
func (f Format) NewReader(file *File, header any) (*ArtifactReader, error) {
	if file.Metadata["format"] != f.Name {
		return nil, fmt.Errorf("not %s %s (metadata format %q, want %q)", article(f.Noun), f.Noun, file.Metadata["format"], f.Name)
	}
	if v := file.Metadata["version"]; v != strconv.Itoa(f.Version) {
		return nil, fmt.Errorf("unsupported %s version %q (this vimsim reads %d)", strings.ReplaceAll(f.Noun, " ", "-"), v, f.Version)
	}
	js := []byte(file.Metadata[f.Key])
	if err := json.Unmarshal(js, header); err != nil {
		return nil, fmt.Errorf("metadata %s: %w", f.Key, err)
	}
	var s stamp
	if err := json.Unmarshal(js, &s); err != nil {
		return nil, fmt.Errorf("metadata %s: %w", f.Key, err)
	}
	if s.Format != f.Name || s.Version != f.Version {
		return nil, fmt.Errorf("metadata %s: format %q version %d, want %q %d", f.Key, s.Format, s.Version, f.Name, f.Version)
	}
	return &ArtifactReader{file: file, used: map[string]bool{}}, nil
}

// Has reports whether the artifact holds the tensor name (without reading
// it).
func (r *ArtifactReader) Has(name string) bool {
	_, ok := r.file.Get(name)
	return ok
}

// Tensor returns the tensor name after checking its dtype and shape (an
// AnyLen dimension may be 1 to MaxAnyLen), and marks it read. A missing
// tensor is an error unless optional (then nil, nil).
func (r *ArtifactReader) Tensor(name, dtype string, shape []int, optional bool) (*Tensor, error) {
	t, ok := r.file.Get(name)
	if !ok {
		if optional {
			return nil, nil
		}
		return nil, fmt.Errorf("missing tensor %s", name)
	}
	r.used[name] = true
	if t.DType != dtype {
		return nil, fmt.Errorf("tensor %s: dtype %s, want %s", name, t.DType, dtype)
	}
	if !slices.Contains(shape, AnyLen) {
		if !slices.Equal(t.Shape, shape) {
			return nil, fmt.Errorf("tensor %s: shape %v, want %v", name, t.Shape, shape)
		}
		return t, nil
	}
	if len(t.Shape) != len(shape) {
		return nil, fmt.Errorf("tensor %s: shape %v, want rank %d", name, t.Shape, len(shape))
	}
	for i, d := range shape {
		if d == AnyLen {
			if t.Shape[i] < 1 || t.Shape[i] > MaxAnyLen {
				return nil, fmt.Errorf("tensor %s: dimension %d = %d out of [1, %d]", name, i, t.Shape[i], MaxAnyLen)
			}
			continue
		}
		if t.Shape[i] != d {
			return nil, fmt.Errorf("tensor %s: shape %v, want %v", name, t.Shape, shape)
		}
	}
	return t, nil
}

// finite checks that every value of t is finite.
func finite(t *Tensor) error {
	for i, v := range t.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("tensor %s: element %d is %v", t.Name, i, v)
		}
	}
	return nil
}

// Floats returns a copy of the F64 tensor name (see Tensor) after checking
// that every value is finite; nil, nil for a missing optional tensor.
func (r *ArtifactReader) Floats(name string, shape []int, optional bool) ([]float64, error) {
	t, err := r.Tensor(name, "F64", shape, optional)
	if err != nil || t == nil {
		return nil, err
	}
	if err := finite(t); err != nil {
		return nil, err
	}
	return slices.Clone(t.Data), nil
}

// GetInts returns the integer tensor name stored as dtype (see Tensor)
// after checking that every value is an integer that T holds; nil, nil
// for a missing optional tensor.
func GetInts[T Integer](r *ArtifactReader, name, dtype string, shape []int, optional bool) ([]T, error) {
	t, err := r.Tensor(name, dtype, shape, optional)
	if err != nil || t == nil {
		return nil, err
	}
	if err := finite(t); err != nil {
		return nil, err
	}
	out := make([]T, len(t.Data))
	for i, x := range t.Data {
		if x != math.Trunc(x) {
			return nil, fmt.Errorf("tensor %s: element %d = %g is not an integer", name, i, x)
		}
		if x < -(1<<63) || x >= 1<<63 || float64(T(int64(x))) != x {
			return nil, fmt.Errorf("tensor %s: element %d = %g out of range", name, i, x)
		}
		out[i] = T(int64(x))
	}
	return out, nil
}

// Unused returns an error naming the first tensor of the file not read.
func (r *ArtifactReader) Unused() error {
	for _, t := range r.file.Tensors {
		if !r.used[t.Name] {
			return fmt.Errorf("unexpected tensor %s", t.Name)
		}
	}
	return nil
}
