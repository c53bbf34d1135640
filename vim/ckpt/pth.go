package ckpt

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// maxPickleSize bounds the size of data.pkl, the pickled object of a PyTorch
// checkpoint (a state_dict pickles to a few hundred bytes per tensor).
const maxPickleSize = 64 << 20

// ReadPTH reads the state_dict of a PyTorch zip checkpoint, as written by
// torch.save since PyTorch 1.6 (see ParsePTH). Errors name the file.
func ReadPTH(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	f, err := readPTH(fh, st.Size())
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return f, nil
}

// ParsePTH decodes a PyTorch zip checkpoint held in b. The pickled object
// (data.pkl) is decoded with gopickle, which builds inert values and never
// imports or calls Python code. The state_dict is the object itself or, for a
// training checkpoint, its "model" (else "state_dict") entry; every entry of
// the state_dict must be a tensor (torch._utils._rebuild_tensor_v2, possibly
// wrapped as an nn.Parameter). Tensors keep the state_dict's order and their
// storage's dtype (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL); views
// with a storage offset and arbitrary strides (transposes, slices, expanded
// dimensions) are read element by element. Other entries of a training
// checkpoint (optimizer state, argparse arguments, numpy scalars) are decoded
// as opaque values and their storages are not read. The metadata map is
// empty, never nil.
func ParsePTH(b []byte) (*File, error) {
	return readPTH(bytes.NewReader(b), int64(len(b)))
}

// pthReader holds the state of one checkpoint being read.
type pthReader struct {
	records   map[string]*zip.File
	prefix    string // archive directory, with its trailing slash
	fileSize  int64
	order     binary.ByteOrder
	storages  map[string]*storageRef
	readBytes int64 // storage bytes read so far
}

func readPTH(r io.ReaderAt, size int64) (*File, error) {
	var magic [4]byte
	if n, _ := r.ReadAt(magic[:], 0); !isZip(magic[:n]) {
		return nil, fmt.Errorf("pth: not a PyTorch zip checkpoint: no zip signature")
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("pth: truncated or corrupt zip archive (%w): not a complete torch.save checkpoint", err)
	}
	p := &pthReader{
		records:  make(map[string]*zip.File, len(zr.File)),
		fileSize: size,
		order:    binary.LittleEndian,
		storages: map[string]*storageRef{},
	}
	var pkl *zip.File
	for _, zf := range zr.File {
		if _, dup := p.records[zf.Name]; dup {
			return nil, fmt.Errorf("pth: duplicate zip record %q", zf.Name)
		}
		p.records[zf.Name] = zf
		if zf.Name == "data.pkl" || strings.HasSuffix(zf.Name, "/data.pkl") && strings.Count(zf.Name, "/") == 1 {
			if pkl != nil {
				return nil, fmt.Errorf("pth: two data.pkl records (%q, %q)", pkl.Name, zf.Name)
			}
			pkl = zf
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("pth: zip archive has no data.pkl: not a torch.save checkpoint (a .npz or another zip?)")
	}
	p.prefix = strings.TrimSuffix(pkl.Name, "data.pkl")
	if _, ok := p.records[p.prefix+"constants.pkl"]; ok {
		return nil, fmt.Errorf("pth: TorchScript archives (torch.jit.save) are not supported; save the state_dict with torch.save")
	}
	if err := p.readByteOrder(); err != nil {
		return nil, fmt.Errorf("pth: %w", err)
	}
	if pkl.UncompressedSize64 > maxPickleSize {
		return nil, fmt.Errorf("pth: %q is %d bytes, more than the %d-byte limit", pkl.Name, pkl.UncompressedSize64, maxPickleSize)
	}
	data, err := readRecord(pkl, int64(pkl.UncompressedSize64))
	if err != nil {
		return nil, fmt.Errorf("pth: %q: %w", pkl.Name, err)
	}
	obj, err := p.unpickle(data)
	if err != nil {
		return nil, fmt.Errorf("pth: %q: %w", pkl.Name, err)
	}
	sd, where, err := stateDict(obj)
	if err != nil {
		return nil, fmt.Errorf("pth: %w", err)
	}
	f, err := p.tensors(sd, where)
	if err != nil {
		return nil, fmt.Errorf("pth: %w", err)
	}
	return f, nil
}

// readByteOrder reads the optional byteorder record (PyTorch ≥ 2.1);
// without it the storages are little-endian.
func (p *pthReader) readByteOrder() error {
	rec, ok := p.records[p.prefix+"byteorder"]
	if !ok {
		return nil
	}
	if rec.UncompressedSize64 > 16 {
		return fmt.Errorf("byteorder record is %d bytes", rec.UncompressedSize64)
	}
	b, err := readRecord(rec, int64(rec.UncompressedSize64))
	if err != nil {
		return fmt.Errorf("byteorder: %w", err)
	}
	switch string(b) {
	case "little":
	case "big":
		p.order = binary.BigEndian
	default:
		return fmt.Errorf("byteorder record says %q, want little or big", b)
	}
	return nil
}

// readRecord reads a zip record that must hold exactly n bytes, checking
// its CRC.
func readRecord(rec *zip.File, n int64) ([]byte, error) {
	if rec.UncompressedSize64 != uint64(n) {
		return nil, fmt.Errorf("record holds %d bytes, want %d", rec.UncompressedSize64, n)
	}
	rc, err := rec.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	buf := make([]byte, n)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, err
	}
	// Read to the end: the CRC is checked there.
	var extra [1]byte
	if m, err := rc.Read(extra[:]); m != 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = errors.New("record is longer than its header says")
		}
		return nil, err
	}
	return buf, nil
}

// unpickle decodes data.pkl into inert Go values.
func (p *pthReader) unpickle(data []byte) (obj any, err error) {
	if err := checkPickle(data); err != nil {
		return nil, err
	}
	// gopickle panics on some malformed input (an odd number of dict
	// items, an unhashable dict key, …): turn that into an error.
	defer func() {
		if r := recover(); r != nil {
			obj, err = nil, fmt.Errorf("malformed pickle: %s", oneLine(fmt.Sprint(r)))
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = findClass
	u.PersistentLoad = p.persistentLoad
	obj, err = u.Load()
	if err != nil {
		// gopickle's messages may quote the input: keep them on one line.
		return nil, fmt.Errorf("malformed pickle: %s", oneLine(err.Error()))
	}
	return obj, nil
}

// oneLine escapes the line breaks of s.
func oneLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
}

// storageClasses maps torch's typed storage classes to dtypes.
var storageClasses = map[string]string{
	"DoubleStorage":   "F64",
	"FloatStorage":    "F32",
	"HalfStorage":     "F16",
	"BFloat16Storage": "BF16",
	"LongStorage":     "I64",
	"IntStorage":      "I32",
	"ShortStorage":    "I16",
	"CharStorage":     "I8",
	"ByteStorage":     "U8",
	"BoolStorage":     "BOOL",
}

// findClass resolves a GLOBAL of the pickle to an inert Go value. Besides the
// few torch functions that rebuild tensors, every class or function becomes
// an opaque placeholder: nothing is ever imported or run.
func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2":
		return rebuildTensor{}, nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		return rebuildParameter{}, nil
	case "torch._tensor._rebuild_from_type_v2", "torch._utils._rebuild_from_type_v2":
		return rebuildFromType{}, nil
	}
	if module == "torch" {
		if dt, ok := storageClasses[name]; ok {
			return storageClass{dtype: dt}, nil
		}
	}
	return &opaque{name: module + "." + name}, nil
}

// storageClass is a torch typed storage class such as torch.FloatStorage.
type storageClass struct{ dtype string }

// storageRef is a storage of the checkpoint, read only when a tensor of the
// state_dict uses it.
type storageRef struct {
	key   string
	dt    *dtype
	numel int64
	err   error  // why the storage cannot be used
	data  []byte // raw bytes, once read
}

// persistentLoad resolves a persistent id ("storage", class, key, location,
// numel) to the storage it names. Unusable storages are reported only if a
// tensor of the state_dict uses them.
func (p *pthReader) persistentLoad(pid any) (any, error) {
	t, ok := pid.(*types.Tuple)
	if !ok || t.Len() < 5 || t.Get(0) != "storage" {
		return nil, fmt.Errorf("unsupported persistent id %s", describe(pid))
	}
	key, ok := t.Get(2).(string)
	if !ok {
		return nil, fmt.Errorf("storage key is %s, not a string", describe(t.Get(2)))
	}
	s := &storageRef{key: key}
	switch c := t.Get(1).(type) {
	case storageClass:
		s.dt = dtypes[c.dtype]
	case *opaque:
		s.err = fmt.Errorf("unsupported storage type %s", describe(c))
	default:
		s.err = fmt.Errorf("storage type is %s", describe(c))
	}
	if n, ok := t.Get(4).(int); ok && n >= 0 {
		s.numel = int64(n)
	} else if s.err == nil {
		s.err = fmt.Errorf("storage size is %s", describe(t.Get(4)))
	}
	if old, ok := p.storages[key]; ok {
		// A storage shared by several tensors: torch pickles the same id.
		if old.err == nil && s.err == nil && (old.dt != s.dt || old.numel != s.numel) {
			old.err = fmt.Errorf("storage used as both %d %s and %d %s", old.numel, old.dt.name, s.numel, s.dt.name)
		}
		return old, nil
	}
	p.storages[key] = s
	return s, nil
}

// load reads the bytes of a storage.
func (p *pthReader) load(s *storageRef) error {
	if s.err != nil || s.data != nil {
		return s.err
	}
	name := p.prefix + "data/" + s.key
	rec, ok := p.records[name]
	if !ok {
		s.err = fmt.Errorf("zip record %q is missing", name)
		return s.err
	}
	if rec.Method != zip.Store {
		s.err = fmt.Errorf("zip record %q is compressed (method %d); torch.save stores storages uncompressed", name, rec.Method)
		return s.err
	}
	nbytes := s.numel * int64(s.dt.size)
	if s.numel > math.MaxInt64/int64(s.dt.size) || uint64(nbytes) != rec.UncompressedSize64 {
		s.err = fmt.Errorf("pickle says %d %s elements but zip record %q holds %d bytes",
			s.numel, s.dt.name, name, rec.UncompressedSize64)
		return s.err
	}
	// Zip records may overlap each other in a crafted file: bound the
	// total read by the file's size.
	if p.readBytes += nbytes; p.readBytes > p.fileSize {
		s.err = fmt.Errorf("storages add up to more bytes than the %d-byte file holds", p.fileSize)
		return s.err
	}
	data, err := readRecord(rec, nbytes)
	if err != nil {
		s.err = fmt.Errorf("zip record %q: %w", name, err)
		return s.err
	}
	s.data = data
	return nil
}

// tensorRef is a tensor of the pickle: a view of a storage.
type tensorRef struct {
	storage *storageRef
	offset  int64
	shape   []int64
	stride  []int64
	err     error // why the arguments do not describe a tensor
}

// rebuildTensor is torch._utils._rebuild_tensor_v2(storage, storage_offset,
// size, stride, requires_grad, backward_hooks[, metadata]).
type rebuildTensor struct{}

// Call returns a *tensorRef. Bad arguments are recorded in it, to be reported
// with the tensor's name if the state_dict holds it.
func (rebuildTensor) Call(args ...any) (any, error) {
	t := &tensorRef{}
	if len(args) < 4 {
		t.err = fmt.Errorf("_rebuild_tensor_v2 got %d arguments, want at least 4", len(args))
		return t, nil
	}
	var ok bool
	if t.storage, ok = args[0].(*storageRef); !ok {
		t.err = fmt.Errorf("storage is %s", describe(args[0]))
		return t, nil
	}
	if o, ok := args[1].(int); !ok || o < 0 {
		t.err = fmt.Errorf("storage offset is %s", describe(args[1]))
		return t, nil
	} else {
		t.offset = int64(o)
	}
	var err error
	if t.shape, err = intTuple(args[2]); err != nil {
		t.err = fmt.Errorf("size: %w", err)
	} else if t.stride, err = intTuple(args[3]); err != nil {
		t.err = fmt.Errorf("stride: %w", err)
	} else if len(t.shape) != len(t.stride) {
		t.err = fmt.Errorf("size %v and stride %v differ in rank", t.shape, t.stride)
	}
	return t, nil
}

// intTuple converts a tuple of non-negative ints.
func intTuple(v any) ([]int64, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("%s is not a tuple", describe(v))
	}
	out := make([]int64, t.Len())
	for i := range out {
		n, ok := t.Get(i).(int)
		if !ok || n < 0 {
			return nil, fmt.Errorf("element %d is %s, not a non-negative int", i, describe(t.Get(i)))
		}
		out[i] = int64(n)
	}
	return out, nil
}

// rebuildParameter is torch._utils._rebuild_parameter(data, requires_grad,
// backward_hooks[, state]): an nn.Parameter is its data.
type rebuildParameter struct{}

// Call returns the parameter's data.
func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) == 0 {
		return &opaque{name: "torch._utils._rebuild_parameter", instance: true}, nil
	}
	return args[0], nil
}

// rebuildFromType is torch._tensor._rebuild_from_type_v2(func, type, args,
// state), used for tensor subclasses: it calls func(*args).
type rebuildFromType struct{}

// Call applies the rebuild function to its arguments.
func (rebuildFromType) Call(args ...any) (any, error) {
	if len(args) >= 3 {
		if fn, ok := args[0].(types.Callable); ok {
			if a, ok := args[2].(*types.Tuple); ok {
				return fn.Call(*a...)
			}
		}
	}
	return &opaque{name: "torch._tensor._rebuild_from_type_v2", instance: true}, nil
}

// opaque stands for any Python class, function or object of the pickle other
// than tensors and containers. Calling or instantiating it gives an opaque
// instance; setting its state, attributes or items does nothing.
type opaque struct {
	name     string // module.name of the class or function
	instance bool   // the result of calling it
}

// Call returns an opaque instance.
func (o *opaque) Call(...any) (any, error) { return &opaque{name: o.name, instance: true}, nil }

// PyNew returns an opaque instance.
func (o *opaque) PyNew(...any) (any, error) { return &opaque{name: o.name, instance: true}, nil }

// PySetState ignores the state.
func (o *opaque) PySetState(any) error { return nil }

// PyDictSet ignores the attribute.
func (o *opaque) PyDictSet(key, value any) error { return nil }

// PySetAttr ignores the attribute.
func (o *opaque) PySetAttr(key string, value any) error { return nil }

// Set ignores the item.
func (o *opaque) Set(key, value any) {}

// Append ignores the item.
func (o *opaque) Append(any) {}

// Add ignores the item.
func (o *opaque) Add(any) {}

// describe names the Python type of an unpickled value, for errors.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return fmt.Sprintf("bool %v", v)
	case int:
		return fmt.Sprintf("int %d", v)
	case *big.Int:
		return "int " + v.String()
	case float64:
		return fmt.Sprintf("float %v", v)
	case string:
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return fmt.Sprintf("str %q", v)
	case []byte:
		return "bytes"
	case *types.Tuple:
		return fmt.Sprintf("a tuple of %d", v.Len())
	case *types.List:
		return fmt.Sprintf("a list of %d", v.Len())
	case *types.Dict, *types.OrderedDict:
		return "a dict"
	case *tensorRef:
		return "a tensor"
	case *storageRef:
		return "a storage"
	case storageClass:
		return "torch storage class " + v.dtype
	case *opaque:
		name := v.name
		if strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			name = strconv.Quote(name)
		}
		if v.instance {
			return "a " + name + " object"
		}
		return name
	}
	return fmt.Sprintf("%T", v)
}

// dictItem is one key/value pair of an unpickled dict.
type dictItem struct {
	key, value any
}

// dictItems returns the items of a dict or OrderedDict in order. For a plain
// dict a repeated string key keeps its first position and its last value, as
// Python does.
func dictItems(v any) ([]dictItem, bool) {
	switch d := v.(type) {
	case *types.OrderedDict:
		items := make([]dictItem, 0, d.Len())
		for e := d.List.Front(); e != nil; e = e.Next() {
			oe := e.Value.(*types.OrderedDictEntry)
			items = append(items, dictItem{oe.Key, oe.Value})
		}
		return items, true
	case *types.Dict:
		items := make([]dictItem, 0, d.Len())
		at := map[string]int{}
		for _, e := range *d {
			if k, ok := e.Key.(string); ok {
				if i, dup := at[k]; dup {
					items[i].value = e.Value
					continue
				}
				at[k] = len(items)
			}
			items = append(items, dictItem{e.Key, e.Value})
		}
		return items, true
	}
	return nil, false
}

// stateDict returns the items of the state_dict in the unpickled object and
// a phrase saying where it was found.
func stateDict(obj any) ([]dictItem, string, error) {
	items, ok := dictItems(obj)
	if !ok {
		return nil, "", fmt.Errorf("checkpoint holds %s, not a state_dict (a dict of tensors)", describe(obj))
	}
	for _, key := range []string{"model", "state_dict"} {
		for _, it := range items {
			if it.key != key {
				continue
			}
			if sd, ok := dictItems(it.value); ok {
				return sd, fmt.Sprintf("state_dict[%q]", key), nil
			}
		}
	}
	return items, "state_dict", nil
}

// tensors reads the tensors of a state_dict.
func (p *pthReader) tensors(items []dictItem, where string) (*File, error) {
	f := &File{Tensors: make([]Tensor, 0, len(items)), Metadata: map[string]string{}}
	// Views may share a storage, and an expanded view (stride 0) may have
	// more elements than its storage: bound the decoded float64 output by
	// a multiple of the file size instead.
	budget := 2*p.fileSize + 1<<20 // elements
	for _, it := range items {
		name, ok := it.key.(string)
		if !ok {
			return nil, fmt.Errorf("%s has a key that is %s, not a string", where, describe(it.key))
		}
		t, ok := it.value.(*tensorRef)
		if !ok {
			return nil, fmt.Errorf("%s entry %q is %s, not a tensor (a checkpoint must be a state_dict of tensors, "+
				"or hold one under \"model\" or \"state_dict\")", where, name, describe(it.value))
		}
		vals, err := p.read(t, &budget)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		shape := make([]int, len(t.shape))
		for i, d := range t.shape {
			shape[i] = int(d)
		}
		f.Tensors = append(f.Tensors, Tensor{Name: name, DType: t.storage.dt.name, Shape: shape, Data: vals})
	}
	return f, nil
}

// read decodes the elements of a tensor view in row-major order, charging
// them to budget.
func (p *pthReader) read(t *tensorRef, budget *int64) ([]float64, error) {
	if t.err != nil {
		return nil, t.err
	}
	s := t.storage
	if s.err != nil {
		return nil, fmt.Errorf("storage %q: %w", s.key, s.err)
	}
	numel, err := numElements(t.shape, *budget)
	if err != nil {
		return nil, fmt.Errorf("%w (more than the file can describe)", err)
	}
	*budget -= numel
	if numel > 0 {
		// The last element reachable is at offset + Σ (size-1)·stride.
		last := t.offset
		for i, d := range t.shape {
			if t.stride[i] > 0 && d-1 > (s.numel-last)/t.stride[i] {
				return nil, fmt.Errorf("view (offset %d, size %v, stride %v) reaches past the %d elements of storage %q",
					t.offset, t.shape, t.stride, s.numel, s.key)
			}
			last += (d - 1) * t.stride[i]
		}
		if last >= s.numel {
			return nil, fmt.Errorf("view (offset %d, size %v, stride %v) reaches past the %d elements of storage %q",
				t.offset, t.shape, t.stride, s.numel, s.key)
		}
	}
	if err := p.load(s); err != nil {
		return nil, fmt.Errorf("storage %q: %w", s.key, err)
	}
	vals := make([]float64, numel)
	gather(vals, s.data, s.dt, p.order, t.offset, t.shape, t.stride)
	return vals, nil
}

// gather decodes the view (offset, shape, stride) of the storage src into
// dst in row-major order. The view must lie within src.
func gather(dst []float64, src []byte, dt *dtype, o binary.ByteOrder, offset int64, shape, stride []int64) {
	if len(dst) == 0 {
		return
	}
	contiguous, want := true, int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] != 1 && stride[i] != want {
			contiguous = false
			break
		}
		want *= shape[i]
	}
	size := int64(dt.size)
	if contiguous {
		decodeRun(dst, src[offset*size:(offset+int64(len(dst)))*size], dt, o)
		return
	}
	idx := make([]int64, len(shape))
	pos := offset
	for i := range dst {
		dst[i] = dt.decode(src[pos*size:], o)
		for d := len(shape) - 1; d >= 0; d-- { // odometer
			idx[d]++
			pos += stride[d]
			if idx[d] < shape[d] {
				break
			}
			pos -= shape[d] * stride[d]
			idx[d] = 0
		}
	}
}
