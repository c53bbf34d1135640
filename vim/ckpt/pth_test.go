package ckpt

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// The fixture's weights saved by torch (tools/mkpth/make_pth.py): nested under "model",
// and bare.
var toyPTH = []string{"../testdata/toy_pert.pth", "../testdata/toy_pert_bare.pth"}

func TestReadPTHToyFixture(t *testing.T) {
	want, err := ReadSafetensors(toyWeights)
	if err != nil {
		t.Fatal(err)
	}
	want.Metadata = map[string]string{}
	for _, path := range toyPTH {
		for _, read := range []func(string) (*File, error){ReadPTH, Read} {
			got, err := read(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := sameFile(got, want); err != nil {
				t.Errorf("%s: %v", path, err)
			}
		}
	}
}

// generated lists the checkpoints of testdata/gen.py that load, with the
// dtype of each tensor.
var generated = []struct {
	file   string
	dtypes map[string]string
}{
	{"dtypes.pth", map[string]string{"f64": "F64", "f32": "F32", "f16": "F16", "bf16": "BF16", "i64": "I64", "i32": "I32",
		"i16": "I16", "i8": "I8", "u8": "U8", "bool": "BOOL", "scalar": "F32", "empty": "F32"}},
	{"views.pth", map[string]string{"base": "F32", "t": "F32", "row": "F32", "col": "F32", "sub": "F32", "step": "F32",
		"exp": "F32", "tail": "F64", "mid_t": "F64"}},
	{"train.pth", map[string]string{"0.weight": "F32", "0.bias": "F32", "1.weight": "F32", "1.bias": "F32"}},
	{"state_dict_p4.pth", map[string]string{"base": "F32", "t": "F32", "exp": "F32"}},
}

// TestReadPTHGenerated checks every tensor against its contiguous float64
// copy made by torch (testdata/expected.safetensors).
func TestReadPTHGenerated(t *testing.T) {
	exp, err := ReadSafetensors("testdata/expected.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range generated {
		var want []Tensor
		for _, tn := range exp.Tensors {
			if name, ok := strings.CutPrefix(tn.Name, g.file+"/"); ok {
				tn.Name = name
				tn.DType = g.dtypes[name]
				want = append(want, tn)
			}
		}
		if len(want) != len(g.dtypes) {
			t.Fatalf("%s: %d expected tensors, want %d", g.file, len(want), len(g.dtypes))
		}
		f, err := ReadPTH(filepath.Join("testdata", g.file))
		if err != nil {
			t.Fatal(err)
		}
		if err := sameFile(f, &File{Tensors: want}); err != nil {
			t.Errorf("%s: %v", g.file, err)
		}
	}
}

func TestReadDispatch(t *testing.T) {
	if _, err := Read("testdata/legacy.pth"); err == nil || !strings.Contains(err.Error(), "read testdata/legacy.pth: legacy (non-zip) PyTorch") {
		t.Errorf("legacy file: %v", err)
	}
	_, err := Read("testdata/no-such-file")
	checkError(t, err, "read testdata/no-such-file: open testdata/no-such-file: no such file")
	_, err = ReadPTH("testdata/no-such-file")
	checkError(t, err, "read testdata/no-such-file: open")
	_, err = ReadPTH(toyWeights)
	checkError(t, err, "read "+toyWeights+": pth: not a PyTorch zip checkpoint")
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("PK"), 0o644)
	_, err = Read(short)
	checkError(t, err, "read "+short+": not a checkpoint (safetensors or PyTorch zip): it is a truncated zip")
	// A truncated zip is recognised by its magic and reported as a zip.
	b, err := os.ReadFile("testdata/views.pth")
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(dir, "trunc.pth")
	os.WriteFile(trunc, b[:len(b)/2], 0o644)
	_, err = Read(trunc)
	checkError(t, err, "read "+trunc+": pth: truncated or corrupt zip archive")
}

// ok32 is a valid storage "0" of four F32 values.
var ok32 = map[string][]byte{"0": f32Bytes(1, 2, 3, 4)}

func TestParsePTHViews(t *testing.T) {
	view := func(offset int64, shape, stride []int64) ptTensor {
		return ptTensor{class: "FloatStorage", key: "0", numel: 6, offset: offset, shape: shape, stride: stride}
	}
	store := map[string][]byte{"0": f32Bytes(0, 1, 2, 3, 4, 5)}
	tests := []struct {
		name  string
		t     ptTensor
		shape []int
		want  []float64
	}{
		{"contiguous", view(0, []int64{2, 3}, []int64{3, 1}), []int{2, 3}, []float64{0, 1, 2, 3, 4, 5}},
		{"transpose", view(0, []int64{3, 2}, []int64{1, 3}), []int{3, 2}, []float64{0, 3, 1, 4, 2, 5}},
		{"offset", view(4, []int64{2}, []int64{1}), []int{2}, []float64{4, 5}},
		{"last element", view(5, []int64{}, []int64{}), []int{}, []float64{5}},
		{"column", view(1, []int64{2}, []int64{3}), []int{2}, []float64{1, 4}},
		{"stride 0", view(2, []int64{2, 2}, []int64{0, 1}), []int{2, 2}, []float64{2, 3, 2, 3}},
		{"size-1 dims any stride", view(3, []int64{1, 3, 1}, []int64{99, 1, 7}), []int{1, 3, 1}, []float64{3, 4, 5}},
		{"empty past the end", view(9, []int64{0, 5}, []int64{5, 1}), []int{0, 5}, []float64{}},
		{"reversed dims", view(0, []int64{2, 1, 3}, []int64{1, 6, 2}), []int{2, 1, 3}, []float64{0, 2, 4, 1, 3, 5}},
	}
	for _, tc := range tests {
		f, err := ParsePTH(pth(t, stateDictPickle(tensorItem("w", tc.t)), store))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		want := &File{Tensors: []Tensor{{Name: "w", DType: "F32", Shape: tc.shape, Data: tc.want}}}
		if err := sameFile(f, want); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestParsePTHByteOrder(t *testing.T) {
	pkl := stateDictPickle(tensorItem("w", f32("0", 2)))
	be := make([]byte, 8)
	binary.BigEndian.PutUint32(be, math.Float32bits(1.5))
	binary.BigEndian.PutUint32(be[4:], math.Float32bits(-2))
	for _, tc := range []struct {
		order, data []byte
		want        []float64
		frag        string
	}{
		{[]byte("big"), be, []float64{1.5, -2}, ""},
		{[]byte("little"), f32Bytes(1.5, -2), []float64{1.5, -2}, ""},
		{[]byte("middle"), f32Bytes(1.5, -2), nil, `byteorder record says "middle"`},
		{bytes.Repeat([]byte("x"), 100), f32Bytes(1.5, -2), nil, "byteorder record is 100 bytes"},
	} {
		b := buildZip(t, zipRecord{name: "archive/data.pkl", data: pkl}, zipRecord{name: "archive/byteorder", data: tc.order},
			zipRecord{name: "archive/data/0", data: tc.data})
		f, err := ParsePTH(b)
		if tc.frag != "" {
			checkError(t, err, tc.frag)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(f.Tensors[0].Data, tc.want) {
			t.Errorf("byteorder %s: %v, want %v", tc.order, f.Tensors[0].Data, tc.want)
		}
	}
}

// TestParsePTHIgnoresOtherEntries checks that a training checkpoint loads its
// "model" even when other entries hold what the reader cannot decode.
func TestParsePTHIgnoresOtherEntries(t *testing.T) {
	var p pickler
	p.op(0x80, 2, '}', '(')
	p.str("optimizer").tensor(ptTensor{class: "ComplexFloatStorage", key: "9", numel: 1 << 60, shape: []int64{1}, stride: []int64{1}})
	p.str("bad").tensor(ptTensor{class: "FloatStorage", key: "0", numel: 4, offset: 100, shape: []int64{4}, stride: []int64{1}})
	p.str("args").global("argparse", "Namespace").op(')', 0x81, '}').str("lr").op('G', 0, 0, 0, 0, 0, 0, 0, 0, 's', 'b')
	p.str("model").dict(tensorItem("w", f32("0", 2, 2)))
	p.op('u', '.')
	f, err := ParsePTH(pth(t, p.Bytes(), ok32))
	if err != nil {
		t.Fatal(err)
	}
	want := &File{Tensors: []Tensor{{Name: "w", DType: "F32", Shape: []int{2, 2}, Data: []float64{1, 2, 3, 4}}}}
	if err := sameFile(f, want); err != nil {
		t.Error(err)
	}
}

func TestParsePTHErrors(t *testing.T) {
	sd := func(items ...pickleItem) []byte { return stateDictPickle(items...) }
	one := func(tn ptTensor) []byte { return sd(tensorItem("w", tn)) }
	raw := func(ops ...byte) []byte { return append([]byte{0x80, 2}, ops...) }
	marks := bytes.Repeat([]byte{'('}, 1<<20)
	tests := []struct {
		name string
		b    func(t *testing.T) []byte
		frag string
	}{
		{"not zip", func(t *testing.T) []byte { return []byte("hello") }, "pth: not a PyTorch zip checkpoint"},
		{"no data.pkl", func(t *testing.T) []byte { return buildZip(t, zipRecord{name: "a/b", data: nil}) }, "zip archive has no data.pkl"},
		{"torchscript", func(t *testing.T) []byte {
			return buildZip(t, zipRecord{name: "m/data.pkl"}, zipRecord{name: "m/constants.pkl"})
		}, "TorchScript archives"},
		{"two data.pkl", func(t *testing.T) []byte {
			return buildZip(t, zipRecord{name: "a/data.pkl"}, zipRecord{name: "b/data.pkl"})
		}, "two data.pkl records"},
		{"duplicate record", func(t *testing.T) []byte {
			return buildZip(t, zipRecord{name: "a/data.pkl"}, zipRecord{name: "a/data.pkl"})
		}, `duplicate zip record "a/data.pkl"`},
		{"empty pickle", func(t *testing.T) []byte { return pth(t, nil, nil) }, "pickle truncated: no STOP opcode"},
		{"truncated pickle", func(t *testing.T) []byte { return pth(t, one(f32("0", 4))[:60], ok32) }, "pickle truncated"},
		{"unknown opcode", func(t *testing.T) []byte { return pth(t, raw(0xff, '.'), nil) }, "unknown pickle opcode 0xff at byte 2"},
		{"lying string length", func(t *testing.T) []byte {
			return pth(t, raw(0x8d, 0, 0, 0, 0, 0, 0, 0, 0x10, 'x', '.'), nil)
		}, "claims 1152921504606846976 bytes, only 2 left"},
		{"lying frame", func(t *testing.T) []byte { return pth(t, raw(0x95, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, '.'), nil) }, "claims 4294967295 bytes"},
		{"negative binstring", func(t *testing.T) []byte { return pth(t, raw('T', 0xff, 0xff, 0xff, 0xff, '.'), nil) }, "negative length"},
		{"too many marks", func(t *testing.T) []byte { return pth(t, append(raw(marks...), '.'), nil) }, "pickle too complex"},
		{"odd dict items", func(t *testing.T) []byte { return pth(t, raw('(', 'K', 1, 'd', '.'), nil) }, "malformed pickle: runtime error"},
		{"unhashable key", func(t *testing.T) []byte {
			var p pickler
			p.op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', 'C', 1, 'k', 'K', 1, 's', '.')
			return pth(t, p.Bytes(), nil)
		}, "malformed pickle"},
		{"stack underflow", func(t *testing.T) []byte { return pth(t, raw('R', '.'), nil) }, "malformed pickle: the stack is empty"},
		{"not a dict", func(t *testing.T) []byte { return pth(t, raw(']', '.'), nil) }, "checkpoint holds a list of 0, not a state_dict"},
		{"non-tensor entry", func(t *testing.T) []byte {
			return pth(t, sd(tensorItem("w", f32("0", 4)), pickleItem{"epoch", func(p *pickler) { p.int(3) }}), ok32)
		}, `state_dict entry "epoch" is int 3, not a tensor`},
		{"nested non-tensor", func(t *testing.T) []byte {
			var p pickler
			p.op(0x80, 2, '}').str("model").dict(pickleItem{"x", func(p *pickler) { p.op('N') }}).op('s', '.')
			return pth(t, p.Bytes(), nil)
		}, `state_dict["model"] entry "x" is None, not a tensor`},
		{"opaque entry", func(t *testing.T) []byte {
			return pth(t, sd(pickleItem{"q", func(p *pickler) { p.global("torch._utils", "_rebuild_qtensor").op(')', 'R') }}), nil)
		}, `entry "q" is a torch._utils._rebuild_qtensor object, not a tensor`},
		{"non-string key", func(t *testing.T) []byte { return pth(t, raw('}', 'K', 1, 'K', 2, 's', '.'), nil) }, "has a key that is int 1, not a string"},
		{"missing storage record", func(t *testing.T) []byte { return pth(t, one(f32("7", 4)), ok32) }, `tensor "w": storage "7": zip record "archive/data/7" is missing`},
		{"storage bigger than record", func(t *testing.T) []byte { return pth(t, one(f32("0", 1000)), ok32) },
			`tensor "w": storage "0": pickle says 1000 F32 elements but zip record "archive/data/0" holds 16 bytes`},
		{"huge storage", func(t *testing.T) []byte {
			return pth(t, one(ptTensor{class: "FloatStorage", key: "0", numel: 1 << 62, shape: []int64{4}, stride: []int64{1}}), ok32)
		}, "pickle says 4611686018427387904 F32 elements"},
		{"view past storage", func(t *testing.T) []byte {
			return pth(t, one(ptTensor{class: "FloatStorage", key: "0", numel: 4, offset: 1, shape: []int64{4}, stride: []int64{1}}), ok32)
		}, `tensor "w": view (offset 1, size [4], stride [1]) reaches past the 4 elements of storage "0"`},
		{"stride past storage", func(t *testing.T) []byte {
			return pth(t, one(ptTensor{class: "FloatStorage", key: "0", numel: 4, shape: []int64{2, 2}, stride: []int64{3, 1}}), ok32)
		}, "reaches past the 4 elements"},
		{"huge stride", func(t *testing.T) []byte {
			return pth(t, one(ptTensor{class: "FloatStorage", key: "0", numel: 4, shape: []int64{2}, stride: []int64{math.MaxInt64}}), ok32)
		}, "reaches past"},
		{"huge offset", func(t *testing.T) []byte {
			return pth(t, one(ptTensor{class: "FloatStorage", key: "0", numel: 4, offset: math.MaxInt64, shape: []int64{2}, stride: []int64{1}}), ok32)
		}, "reaches past"},
		{"shape overflow", func(t *testing.T) []byte {
			return pth(t, one(ptTensor{class: "FloatStorage", key: "0", numel: 4, shape: []int64{1 << 40, 1 << 40}, stride: []int64{0, 0}}), ok32)
		}, `tensor "w": shape [1099511627776 1099511627776] has more than`},
		{"expanded beyond budget", func(t *testing.T) []byte {
			return pth(t, one(ptTensor{class: "FloatStorage", key: "0", numel: 4, shape: []int64{1 << 30}, stride: []int64{0}}), ok32)
		}, "more than the file can describe"},
		{"rank mismatch", func(t *testing.T) []byte {
			return pth(t, one(ptTensor{class: "FloatStorage", key: "0", numel: 4, shape: []int64{4}, stride: []int64{1, 1}}), ok32)
		}, `tensor "w": size [4] and stride [1 1] differ in rank`},
		{"negative size", func(t *testing.T) []byte {
			return pth(t, one(ptTensor{class: "FloatStorage", key: "0", numel: 4, shape: []int64{-4}, stride: []int64{1}}), ok32)
		}, `tensor "w": size: element 0 is int -4, not a non-negative int`},
		{"negative offset", func(t *testing.T) []byte {
			return pth(t, one(ptTensor{class: "FloatStorage", key: "0", numel: 4, offset: -1, shape: []int64{4}, stride: []int64{1}}), ok32)
		}, `tensor "w": storage offset is int -1`},
		{"big int size", func(t *testing.T) []byte {
			return pth(t, one(ptTensor{class: "FloatStorage", key: "0", numel: 4, shapeRaw: func(p *pickler) {
				p.op('(', 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, 't')
			}, stride: []int64{1}}), ok32)
		}, `tensor "w": size: element 0 is int 18446744073709551616, not a non-negative int`},
		{"unsupported storage", func(t *testing.T) []byte {
			return pth(t, one(ptTensor{class: "ComplexFloatStorage", key: "0", numel: 2, shape: []int64{2}, stride: []int64{1}}), ok32)
		}, `tensor "w": storage "0": unsupported storage type torch.ComplexFloatStorage`},
		{"storage dtype clash", func(t *testing.T) []byte {
			return pth(t, sd(tensorItem("a", f32("0", 4)), tensorItem("b", ptTensor{class: "IntStorage", key: "0", numel: 4, shape: []int64{4}, stride: []int64{1}})), ok32)
		}, `tensor "a": storage "0": storage used as both 4 F32 and 4 I32`},
		{"bad persistent id", func(t *testing.T) []byte {
			return pth(t, one(ptTensor{storageArgsRaw: func(p *pickler) { p.str("module").op(0x85) }, shape: []int64{}, stride: []int64{}}), nil)
		}, `malformed pickle: unsupported persistent id a tuple of 1`},
		{"storage not a storage", func(t *testing.T) []byte {
			var p pickler
			p.op(0x80, 2).dict(pickleItem{"w", func(p *pickler) {
				p.global("torch._utils", "_rebuild_tensor_v2").op('(', 'N', 'K', 0, ')', ')', 0x89, 'N', 't', 'R')
			}}).op('.')
			return pth(t, p.Bytes(), nil)
		}, `tensor "w": storage is None`},
		{"too few args", func(t *testing.T) []byte {
			var p pickler
			p.op(0x80, 2).dict(pickleItem{"w", func(p *pickler) { p.global("torch._utils", "_rebuild_tensor_v2").op(')', 'R') }}).op('.')
			return pth(t, p.Bytes(), nil)
		}, `tensor "w": _rebuild_tensor_v2 got 0 arguments`},
		{"compressed storage", func(t *testing.T) []byte {
			return buildZip(t, zipRecord{name: "archive/data.pkl", data: one(f32("0", 4))},
				zipRecord{name: "archive/data/0", data: f32Bytes(1, 2, 3, 4), method: zip.Deflate})
		}, `zip record "archive/data/0" is compressed (method 8)`},
		{"corrupt storage", func(t *testing.T) []byte {
			b := pth(t, one(f32("0", 4)), ok32)
			i := bytes.Index(b, f32Bytes(1, 2, 3, 4))
			b[i] ^= 1
			return b
		}, `tensor "w": storage "0": zip record "archive/data/0": zip: checksum error`},
		{"overlapping records", func(t *testing.T) []byte {
			// Records "1" and "2" are made to read the 4 MiB of record "0".
			b := pth(t, sd(tensorItem("a", f32("0", 1<<20)), tensorItem("b", f32("1", 1<<20)), tensorItem("c", f32("2", 1<<20))),
				map[string][]byte{"0": bytes.Repeat([]byte{1}, 4<<20), "1": nil, "2": nil})
			b = overlapRecords(t, b, "archive/data/1", "archive/data/0")
			return overlapRecords(t, b, "archive/data/2", "archive/data/0")
		}, `tensor "b": storage "1": storages add up to more bytes than the`},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b(t)
			f, err := ParsePTH(b)
			if err == nil {
				t.Fatalf("no error; got %d tensors", len(f.Tensors))
			}
			checkError(t, err, tc.frag)
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".pth")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = ReadPTH(path)
			checkError(t, err, "read "+path+": ")
			checkError(t, err, tc.frag)
		})
	}
}

// overlapRecords makes the central directory entry of record from describe
// the bytes of record to (same local header, CRC and sizes).
func overlapRecords(t *testing.T, b []byte, from, to string) []byte {
	t.Helper()
	entries := map[string]int{}
	// Central directory entries: signature PK\x01\x02, the name at 46,
	// its length at 28, extra and comment lengths at 30 and 32.
	for i := bytes.Index(b, []byte("PK\x01\x02")); i >= 0; {
		n := int(binary.LittleEndian.Uint16(b[i+28:]))
		m := int(binary.LittleEndian.Uint16(b[i+30:]))
		k := int(binary.LittleEndian.Uint16(b[i+32:]))
		entries[string(b[i+46:i+46+n])] = i
		next := bytes.Index(b[i+46+n+m+k:], []byte("PK\x01\x02"))
		if next < 0 {
			break
		}
		i += 46 + n + m + k + next
	}
	fi, ok1 := entries[from]
	ti, ok2 := entries[to]
	if !ok1 || !ok2 {
		t.Fatalf("records %q, %q not found in %v", from, to, entries)
	}
	copy(b[fi+8:fi+10], b[ti+8:ti+10])   // flags
	copy(b[fi+16:fi+28], b[ti+16:ti+28]) // CRC-32, sizes
	copy(b[fi+42:fi+46], b[ti+42:ti+46]) // local header offset
	return b
}

// TestNoHugeAllocation checks that lying inputs are refused before any
// allocation proportional to what they claim.
func TestNoHugeAllocation(t *testing.T) {
	inputs := map[string]func() ([]byte, func([]byte) error){
		"safetensors shape": func() ([]byte, func([]byte) error) {
			return stFile(`{"w":{"dtype":"F64","shape":[1073741824],"data_offsets":[0,8589934592]}}`, make([]byte, 8)), parseST
		},
		"safetensors header": func() ([]byte, func([]byte) error) {
			return append(binary.LittleEndian.AppendUint64(nil, 1<<40), "{}"...), parseST
		},
		"pth storage": func() ([]byte, func([]byte) error) {
			return pth(t, stateDictPickle(tensorItem("w", ptTensor{class: "DoubleStorage", key: "0", numel: 1 << 30,
				shape: []int64{1 << 30}, stride: []int64{1}})), ok32), parsePT
		},
		"pth expand": func() ([]byte, func([]byte) error) {
			return pth(t, stateDictPickle(tensorItem("w", ptTensor{class: "FloatStorage", key: "0", numel: 4,
				shape: []int64{1 << 28}, stride: []int64{0}})), ok32), parsePT
		},
		"pth string": func() ([]byte, func([]byte) error) {
			return pth(t, []byte{0x80, 2, 0x8d, 0, 0, 0, 0x40, 0, 0, 0, 0, '.'}, nil), parsePT
		},
		"pth marks": func() ([]byte, func([]byte) error) {
			return pth(t, append(bytes.Repeat([]byte{'('}, 1<<20), '.'), nil), parsePT
		},
	}
	for name, mk := range inputs {
		b, parse := mk()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := parse(b)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: no error", name)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
			t.Errorf("%s: allocated %d MiB", name, alloc>>20)
		}
	}
}

func parseST(b []byte) error { _, err := ParseSafetensors(b); return err }
func parsePT(b []byte) error { _, err := ParsePTH(b); return err }
