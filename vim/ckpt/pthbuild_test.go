package ckpt

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"maps"
	"math"
	"slices"
	"testing"
)

// This file builds PyTorch zip checkpoints by hand, for tests that need
// files torch would never write.

// pickler emits a protocol-2 pickle.
type pickler struct{ bytes.Buffer }

func (p *pickler) op(b ...byte) *pickler { p.Write(b); return p }

func (p *pickler) str(s string) *pickler {
	p.WriteByte('X')
	binary.Write(&p.Buffer, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}

func (p *pickler) int(n int64) *pickler {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		p.WriteByte('J')
		binary.Write(&p.Buffer, binary.LittleEndian, int32(n))
		return p
	}
	p.op(0x8a, 8) // LONG1, 8 bytes
	binary.Write(&p.Buffer, binary.LittleEndian, n)
	return p
}

func (p *pickler) global(module, name string) *pickler {
	p.WriteString("c" + module + "\n" + name + "\n")
	return p
}

func (p *pickler) ints(v []int64) *pickler {
	p.op('(')
	for _, n := range v {
		p.int(n)
	}
	return p.op('t')
}

// ptTensor describes one _rebuild_tensor_v2 call.
type ptTensor struct {
	class          string // storage class, e.g. "FloatStorage"
	key            string
	numel          int64
	offset         int64
	shape, stride  []int64
	storageArgsRaw func(p *pickler) // replaces the storage persistent id
	shapeRaw       func(p *pickler) // replaces the size tuple
}

func (p *pickler) tensor(t ptTensor) *pickler {
	p.global("torch._utils", "_rebuild_tensor_v2").op('(')
	if t.storageArgsRaw != nil {
		t.storageArgsRaw(p)
	} else {
		p.op('(').str("storage").global("torch", t.class).str(t.key).str("cpu").int(t.numel).op('t')
	}
	p.op('Q').int(t.offset)
	if t.shapeRaw != nil {
		t.shapeRaw(p)
	} else {
		p.ints(t.shape)
	}
	p.ints(t.stride).op(0x89)
	p.global("collections", "OrderedDict").op(')', 'R')
	return p.op('t', 'R')
}

// dict emits an OrderedDict of the given items.
func (p *pickler) dict(items ...pickleItem) *pickler {
	p.global("collections", "OrderedDict").op(')', 'R')
	for _, it := range items {
		p.str(it.key)
		it.value(p)
		p.op('s')
	}
	return p
}

type pickleItem struct {
	key   string
	value func(p *pickler)
}

func tensorItem(name string, t ptTensor) pickleItem {
	return pickleItem{name, func(p *pickler) { p.tensor(t) }}
}

// f32 is a contiguous F32 tensor of storage key with n elements.
func f32(key string, shape ...int64) ptTensor {
	n := int64(1)
	stride := make([]int64, len(shape))
	for i := len(shape) - 1; i >= 0; i-- {
		stride[i] = n
		n *= shape[i]
	}
	return ptTensor{class: "FloatStorage", key: key, numel: n, shape: shape, stride: stride}
}

// stateDictPickle pickles an OrderedDict of tensors.
func stateDictPickle(items ...pickleItem) []byte {
	var p pickler
	p.op(0x80, 2).dict(items...).op('.')
	return p.Bytes()
}

// zipRecord is one record of a hand-built archive.
type zipRecord struct {
	name   string
	data   []byte
	method uint16
}

// buildZip writes records into a zip archive.
func buildZip(t testing.TB, records ...zipRecord) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, r := range records {
		f, err := w.CreateHeader(&zip.FileHeader{Name: r.name, Method: r.method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(r.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// f32Bytes returns the little-endian bytes of float32 values.
func f32Bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// pth builds a checkpoint archive "archive/" of a pickle and storages
// "archive/data/<key>".
func pth(t testing.TB, pkl []byte, storages map[string][]byte) []byte {
	t.Helper()
	recs := []zipRecord{{name: "archive/data.pkl", data: pkl}}
	for _, k := range sortedKeys(storages) {
		recs = append(recs, zipRecord{name: "archive/data/" + k, data: storages[k]})
	}
	return buildZip(t, recs...)
}

func sortedKeys(m map[string][]byte) []string {
	return slices.Sorted(maps.Keys(m))
}
