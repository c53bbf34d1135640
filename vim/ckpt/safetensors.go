package ckpt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vimsim/vimsim/internal/atomicfile"
)

// MaxHeaderSize is the largest safetensors JSON header accepted, in bytes
// (the limit of the reference implementation).
const MaxHeaderSize = 100 << 20

// metadataKey is the header entry holding the string metadata.
const metadataKey = "__metadata__"

// ReadSafetensors reads a safetensors file (see ParseSafetensors). Errors name
// the file.
func ReadSafetensors(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	f, err := ParseSafetensors(b)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return f, nil
}

// ParseSafetensors decodes a safetensors file held in b: an 8-byte
// little-endian header length, a JSON header and the tensor data
// (https://github.com/huggingface/safetensors). It accepts every dtype listed
// in Tensor.DType and, like the reference implementation, requires the
// tensors' byte ranges to tile the data exactly (no overlap, no gap). Tensors
// are returned in data-offset order, which is the writer's order; the
// metadata map is never nil.
func ParseSafetensors(b []byte) (*File, error) {
	f, err := parseSafetensors(b)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return f, nil
}

// stEntry is one tensor of a safetensors header.
type stEntry struct {
	name       string
	dt         *dtype
	shape      []int64
	numel      int64
	begin, end int64 // byte range in the data section
}

// stInfo is the JSON form of a header entry.
type stInfo struct {
	DType       *string        `json:"dtype"`
	Shape       *[]json.Number `json:"shape"`
	DataOffsets *[]json.Number `json:"data_offsets"`
}

func parseSafetensors(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("file is %d bytes, too short for the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	switch {
	case n > MaxHeaderSize:
		return nil, fmt.Errorf("header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	case n > uint64(len(b)-8):
		return nil, fmt.Errorf("header length %d exceeds the file (%d bytes after the length): truncated?", n, len(b)-8)
	}
	data := b[8+n:]
	entries, meta, err := parseHeader(b[8 : 8+n])
	if err != nil {
		return nil, err
	}
	for i := range entries {
		if err := entries[i].check(int64(len(data))); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", entries[i].name, err)
		}
	}
	// The byte ranges must tile [0, len(data)): sort by offset (empty
	// tensors first; a stable sort keeps the header order among equals)
	// and walk.
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		return a.begin < b.begin || a.begin == b.begin && a.end < b.end
	})
	var pos int64
	for i, e := range entries {
		switch {
		case e.begin < pos:
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q",
				e.name, e.begin, e.end, entries[i-1].name)
		case e.begin > pos:
			prev := "the data start"
			if i > 0 {
				prev = fmt.Sprintf("tensor %q", entries[i-1].name)
			}
			return nil, fmt.Errorf("no header entry for data bytes [%d, %d) (between %s and tensor %q): "+
				"a tensor removed from the header?", pos, e.begin, prev, e.name)
		}
		pos = e.end
	}
	if pos != int64(len(data)) {
		return nil, fmt.Errorf("tensors end at byte %d of the data but the file holds %d bytes of data: "+
			"a header entry removed, or data appended?", pos, len(data))
	}

	f := &File{Tensors: make([]Tensor, len(entries)), Metadata: meta}
	for i, e := range entries {
		shape := make([]int, len(e.shape))
		for j, d := range e.shape {
			shape[j] = int(d)
		}
		vals := make([]float64, e.numel)
		decodeRun(vals, data[e.begin:e.end], e.dt, binary.LittleEndian)
		f.Tensors[i] = Tensor{Name: e.name, DType: e.dt.name, Shape: shape, Data: vals}
	}
	return f, nil
}

// check validates an entry against the size of the data section.
func (e *stEntry) check(dataLen int64) error {
	numel, err := numElements(e.shape, math.MaxInt64/int64(e.dt.size))
	if err != nil {
		return err
	}
	e.numel = numel
	if e.begin <= e.end && e.end > dataLen && e.begin <= dataLen {
		return fmt.Errorf("data_offsets [%d, %d] out of range of the %d data bytes: the file is truncated (%d bytes missing)?",
			e.begin, e.end, dataLen, e.end-dataLen)
	}
	if e.begin > e.end || e.end > dataLen {
		return fmt.Errorf("data_offsets [%d, %d] out of range of the %d data bytes", e.begin, e.end, dataLen)
	}
	if want := numel * int64(e.dt.size); e.end-e.begin != want {
		return fmt.Errorf("shape %v of %s needs %d bytes but data_offsets [%d, %d] hold %d",
			e.shape, e.dt.name, want, e.begin, e.end, e.end-e.begin)
	}
	return nil
}

// parseHeader decodes the JSON header, keeping the order of its entries.
func parseHeader(hdr []byte) ([]stEntry, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("header is not a JSON object")
	}
	var entries []stEntry
	meta := map[string]string{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("header: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("header: unexpected %v", tok)
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("header: duplicate entry %q", name)
		}
		seen[name] = true
		if name == metadataKey {
			var m map[string]string
			if err := dec.Decode(&m); err != nil {
				return nil, nil, fmt.Errorf("header: %s must map strings to strings: %w", metadataKey, err)
			}
			for k, v := range m {
				meta[k] = v
			}
			continue
		}
		var info stInfo
		if err := dec.Decode(&info); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: header entry: %w", name, err)
		}
		e, err := info.entry(name)
		if err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	if rest := hdr[dec.InputOffset():]; len(bytes.TrimLeft(rest, " \t\r\n")) != 0 {
		return nil, nil, fmt.Errorf("header: unexpected data after the JSON object")
	}
	return entries, meta, nil
}

// entry checks the fields of a header entry and converts them.
func (info *stInfo) entry(name string) (stEntry, error) {
	e := stEntry{name: name}
	switch {
	case info.DType == nil:
		return e, fmt.Errorf("header entry has no dtype")
	case info.Shape == nil:
		return e, fmt.Errorf("header entry has no shape")
	case info.DataOffsets == nil:
		return e, fmt.Errorf("header entry has no data_offsets")
	case len(*info.DataOffsets) != 2:
		return e, fmt.Errorf("data_offsets has %d values, want 2", len(*info.DataOffsets))
	}
	dt, err := lookupDType(*info.DType)
	if err != nil {
		return e, err
	}
	e.dt = dt
	for i, s := range *info.Shape {
		d, err := nonNegative(s)
		if err != nil {
			return e, fmt.Errorf("shape[%d]: %w", i, err)
		}
		e.shape = append(e.shape, d)
	}
	if e.begin, err = nonNegative((*info.DataOffsets)[0]); err != nil {
		return e, fmt.Errorf("data_offsets[0]: %w", err)
	}
	if e.end, err = nonNegative((*info.DataOffsets)[1]); err != nil {
		return e, fmt.Errorf("data_offsets[1]: %w", err)
	}
	return e, nil
}

// nonNegative parses a JSON number that must be an integer in [0, 2⁶³).
func nonNegative(n json.Number) (int64, error) {
	v, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%s is not an integer in [0, 2^63)", n)
	}
	return v, nil
}

// decodeRun decodes len(dst) consecutive elements of type dt from src.
func decodeRun(dst []float64, src []byte, dt *dtype, o binary.ByteOrder) {
	if dt.name == "F32" && o == binary.ByteOrder(binary.LittleEndian) { // the common case
		for i := range dst {
			dst[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:])))
		}
		return
	}
	for i := range dst {
		dst[i] = dt.decode(src[i*dt.size:], o)
	}
}

// WriteSafetensors writes f to path in the safetensors format (see
// EncodeSafetensors), through a temporary file renamed into place.
func WriteSafetensors(path string, f *File) error {
	b, err := EncodeSafetensors(f)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, b)
}

// EncodeSafetensors returns f in the safetensors format. Each tensor is stored
// in its DType, in the order of f.Tensors (header and data alike); the
// metadata, if any, comes first with its keys sorted, and the header is
// padded with spaces to a multiple of 8 bytes, so equal files encode to equal
// bytes. Floats are rounded to nearest, ties to even; a value that the DType
// cannot hold (a finite value overflowing it, a fraction or out-of-range
// value for an integer type) is an error naming the tensor.
func EncodeSafetensors(f *File) ([]byte, error) {
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	if len(f.Metadata) > 0 {
		keys := make([]string, 0, len(f.Metadata))
		for k := range f.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		hdr.WriteString(`"` + metadataKey + `":{`)
		for i, k := range keys {
			v := f.Metadata[k]
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, fmt.Errorf("safetensors: metadata %q is not valid UTF-8", k)
			}
			if i > 0 {
				hdr.WriteByte(',')
			}
			hdr.WriteString(jsonString(k) + ":" + jsonString(v))
		}
		hdr.WriteByte('}')
	}
	dts := make([]*dtype, len(f.Tensors))
	seen := make(map[string]bool, len(f.Tensors))
	var off int64
	for i := range f.Tensors {
		t := &f.Tensors[i]
		dt, nbytes, err := t.check()
		if err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("safetensors: tensor %q: duplicate name", t.Name)
		}
		seen[t.Name] = true
		dts[i] = dt
		if hdr.Len() > 1 {
			hdr.WriteByte(',')
		}
		dims := make([]string, len(t.Shape))
		for j, d := range t.Shape {
			dims[j] = strconv.Itoa(d)
		}
		fmt.Fprintf(&hdr, `%s:{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}`,
			jsonString(t.Name), dt.name, strings.Join(dims, ","), off, off+nbytes)
		off += nbytes
	}
	hdr.WriteByte('}')
	for (8+hdr.Len())%8 != 0 {
		hdr.WriteByte(' ')
	}
	if hdr.Len() > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: header of %d bytes exceeds the %d-byte limit", hdr.Len(), MaxHeaderSize)
	}
	out := make([]byte, 8+hdr.Len(), 8+int64(hdr.Len())+off)
	binary.LittleEndian.PutUint64(out, uint64(hdr.Len()))
	copy(out[8:], hdr.Bytes())
	for i := range f.Tensors {
		t := &f.Tensors[i]
		dt := dts[i]
		start := len(out)
		out = out[:start+len(t.Data)*dt.size]
		for j, v := range t.Data {
			if err := dt.encode(out[start+j*dt.size:], v); err != nil {
				return nil, fmt.Errorf("safetensors: tensor %q: element %d: %w", t.Name, j, err)
			}
		}
	}
	return out, nil
}

// check validates a tensor for writing and returns its dtype and byte size.
func (t *Tensor) check() (*dtype, int64, error) {
	if t.Name == metadataKey {
		return nil, 0, fmt.Errorf("name is reserved for the metadata")
	}
	if !utf8.ValidString(t.Name) {
		return nil, 0, fmt.Errorf("name is not valid UTF-8")
	}
	dt, err := lookupDType(t.DType)
	if err != nil {
		return nil, 0, err
	}
	shape := make([]int64, len(t.Shape))
	for i, d := range t.Shape {
		shape[i] = int64(d)
	}
	n, err := numElements(shape, math.MaxInt64/8)
	if err != nil {
		return nil, 0, err
	}
	if n != int64(len(t.Data)) {
		return nil, 0, fmt.Errorf("shape %v has %d elements but the tensor holds %d values", t.Shape, n, len(t.Data))
	}
	return dt, n * int64(dt.size), nil
}

// jsonString returns s as a JSON string literal, without HTML escaping.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a valid UTF-8 string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
