package ckpt

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The vim-toy fixture, copied from ../shared/fixtures/vim-toy.
const (
	toyWeights = "../testdata/toy_pert.weights.safetensors"
	toyIO      = "../testdata/toy_pert.io.safetensors"
)

// sameFile reports how got differs from want: names, order, dtypes, shapes,
// metadata and values (bit for bit, any NaN equal to any NaN).
func sameFile(got, want *File) error {
	if len(got.Tensors) != len(want.Tensors) {
		return fmt.Errorf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for i := range want.Tensors {
		g, w := &got.Tensors[i], &want.Tensors[i]
		if err := sameTensor(g, w); err != nil {
			return fmt.Errorf("tensor %d: %w", i, err)
		}
	}
	if len(got.Metadata) != len(want.Metadata) || (len(want.Metadata) > 0 && !reflect.DeepEqual(got.Metadata, want.Metadata)) {
		return fmt.Errorf("metadata %v, want %v", got.Metadata, want.Metadata)
	}
	return nil
}

func sameTensor(g, w *Tensor) error {
	if g.Name != w.Name || g.DType != w.DType || !sameShape(g.Shape, w.Shape) {
		return fmt.Errorf("%q %s %v, want %q %s %v", g.Name, g.DType, g.Shape, w.Name, w.DType, w.Shape)
	}
	return sameValues(g.Name, g.Data, w.Data)
}

func sameShape(a, b []int) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

func sameValues(name string, got, want []float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("%q: %d values, want %d", name, len(got), len(want))
	}
	for j := range want {
		g, w := got[j], want[j]
		if math.IsNaN(w) && math.IsNaN(g) {
			continue
		}
		if math.Float64bits(g) != math.Float64bits(w) {
			return fmt.Errorf("%q[%d] = %v, want %v", name, j, g, w)
		}
	}
	return nil
}

// roundTripFiles covers every dtype with values it holds exactly.
func roundTripFiles() map[string]*File {
	nan, inf := math.NaN(), math.Inf(1)
	return map[string]*File{
		"floats": {Tensors: []Tensor{
			{Name: "f64", DType: "F64", Shape: []int{2, 3}, Data: []float64{math.Pi, -0.0, 1e-310, nan, inf, -math.MaxFloat64}},
			{Name: "f32", DType: "F32", Shape: []int{3}, Data: []float64{1.5, float64(float32(0.1)), -inf}},
			{Name: "f16", DType: "F16", Shape: []int{2, 2}, Data: []float64{65504, -math.Ldexp(1, -24), 0.333251953125, nan}},
			{Name: "bf16", DType: "BF16", Shape: []int{1, 2}, Data: []float64{3.140625, 0x1.fep127}},
		}, Metadata: map[string]string{"config": `{"a": 1, "<b>": "&"}`, "ünï": "cödé\n"}},
		"ints": {Tensors: []Tensor{
			{Name: "i64", DType: "I64", Shape: []int{2}, Data: []float64{-math.Ldexp(1, 63), math.Ldexp(1, 53)}},
			{Name: "i32", DType: "I32", Shape: []int{2}, Data: []float64{-2147483648, 2147483647}},
			{Name: "i16", DType: "I16", Shape: []int{2}, Data: []float64{-32768, 32767}},
			{Name: "i8", DType: "I8", Shape: []int{4}, Data: []float64{-128, -1, 0, 127}},
			{Name: "u64", DType: "U64", Shape: []int{1}, Data: []float64{math.Ldexp(1, 63)}},
			{Name: "u32", DType: "U32", Shape: []int{1}, Data: []float64{4294967295}},
			{Name: "u16", DType: "U16", Shape: []int{1}, Data: []float64{65535}},
			{Name: "u8", DType: "U8", Shape: []int{2}, Data: []float64{0, 255}},
			{Name: "bool", DType: "BOOL", Shape: []int{3}, Data: []float64{1, 0, 1}},
		}},
		// Names out of alphabetical order must keep their order.
		"order": {Tensors: []Tensor{
			{Name: "z", DType: "F32", Shape: []int{1}, Data: []float64{1}},
			{Name: "scalar", DType: "F64", Shape: []int{}, Data: []float64{2}},
			{Name: "empty", DType: "F32", Shape: []int{0, 4}, Data: []float64{}},
			{Name: "a", DType: "I8", Shape: []int{2, 1}, Data: []float64{3, 4}},
			{Name: "empty2", DType: "F64", Shape: []int{0}, Data: []float64{}},
		}, Metadata: map[string]string{}},
		"none": {},
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for name, f := range roundTripFiles() {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".safetensors")
			if err := WriteSafetensors(path, f); err != nil {
				t.Fatal(err)
			}
			for _, read := range []func(string) (*File, error){ReadSafetensors, Read} {
				got, err := read(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := sameFile(got, f); err != nil {
					t.Fatal(err)
				}
				if got.Metadata == nil {
					t.Error("nil metadata map")
				}
			}
			// Deterministic bytes.
			b1, _ := os.ReadFile(path)
			b2, err := EncodeSafetensors(f)
			if err != nil {
				t.Fatal(err)
			}
			if string(b1) != string(b2) {
				t.Error("two encodings differ")
			}
			if n := binary.LittleEndian.Uint64(b1); (8+n)%8 != 0 {
				t.Errorf("header length %d: data not 8-byte aligned", n)
			}
		})
	}
}

func TestEncodeSafetensorsBytes(t *testing.T) {
	f := &File{
		Tensors: []Tensor{
			{Name: "w<1>", DType: "F32", Shape: []int{2}, Data: []float64{1, -2}},
			{Name: "b", DType: "I8", Shape: []int{}, Data: []float64{-1}},
		},
		Metadata: map[string]string{"z": "1", "a": "x&y"},
	}
	b, err := EncodeSafetensors(f)
	if err != nil {
		t.Fatal(err)
	}
	hdr := `{"__metadata__":{"a":"x&y","z":"1"},"w<1>":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		`"b":{"dtype":"I8","shape":[],"data_offsets":[8,9]}}`
	hdr += strings.Repeat(" ", (8-len(hdr)%8)%8)
	want := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	want = append(want, hdr...)
	want = append(want, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0xff)
	if string(b) != string(want) {
		t.Errorf("got\n%q\nwant\n%q", b, want)
	}
}

func TestSafetensorsFixture(t *testing.T) {
	f, err := ReadSafetensors(toyWeights)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != 75 {
		t.Fatalf("%d tensors, want 75", len(f.Tensors))
	}
	// Reference values computed with numpy from the file (math.fsum).
	wantOrder := []string{"cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias", "head.weight"}
	for i, name := range wantOrder {
		if f.Tensors[i].Name != name {
			t.Errorf("tensor %d is %q, want %q", i, f.Tensors[i].Name, name)
		}
	}
	if last := f.Tensors[74].Name; last != "norm_f.weight" {
		t.Errorf("last tensor is %q, want norm_f.weight", last)
	}
	tests := []struct {
		name         string
		shape        []int
		first, last  float64
		sum, sumTol  float64
		metadataKeys []string
	}{
		{name: "cls_token", shape: []int{1, 1, 64}, first: -0.03175470232963562, last: 0.0012452419614419341, sum: -0.20124395813036244},
		{name: "head.bias", shape: []int{10}, first: 0.045311447232961655, last: 0.03766508772969246, sum: 0.14057895191945136},
		{name: "layers.3.mixer.dt_proj_b.bias", shape: []int{128}, first: -0.11931192874908447, last: 0.321921706199646, sum: 0.6347531881183386},
		{name: "layers.0.mixer.A_log", shape: []int{128, 8}, first: 0.0733633041381836, last: 1.861609935760498, sum: 1352.3827261140395},
	}
	for _, tc := range tests {
		tn, ok := f.Get(tc.name)
		if !ok {
			t.Errorf("no tensor %q", tc.name)
			continue
		}
		if tn.DType != "F32" || !sameShape(tn.Shape, tc.shape) {
			t.Errorf("%q: %s %v, want F32 %v", tc.name, tn.DType, tn.Shape, tc.shape)
		}
		if tn.Data[0] != tc.first || tn.Data[len(tn.Data)-1] != tc.last {
			t.Errorf("%q: first, last = %v, %v; want %v, %v", tc.name, tn.Data[0], tn.Data[len(tn.Data)-1], tc.first, tc.last)
		}
		if s := exactSum(tn.Data); s != tc.sum {
			t.Errorf("%q: sum %v, want %v", tc.name, s, tc.sum)
		}
	}
	var all []float64
	for _, tn := range f.Tensors {
		all = append(all, tn.Data...)
	}
	if len(all) != 189578 || exactSum(all) != 9822.509787816922 {
		t.Errorf("%d values summing to %v, want 189578 summing to 9822.509787816922", len(all), exactSum(all))
	}
	if f.Metadata["cls_position"] != "8" || !strings.Contains(f.Metadata["config"], `"embed_dim": 64`) {
		t.Errorf("metadata %v", f.Metadata)
	}
	if _, ok := f.Get("no.such.tensor"); ok {
		t.Error("Get found a missing tensor")
	}

	io, err := Read(toyIO)
	if err != nil {
		t.Fatal(err)
	}
	logits, ok := io.Get("logits")
	if !ok || logits.DType != "F64" || !sameShape(logits.Shape, []int{len(logits.Data) / 10, 10}) {
		t.Errorf("logits: %v", logits)
	}
	// Writing the fixture back gives a file that reads back the same.
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := WriteSafetensors(path, f); err != nil {
		t.Fatal(err)
	}
	g, err := ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameFile(g, f); err != nil {
		t.Error(err)
	}
}

// exactSum is the correctly rounded sum of v (as Python's math.fsum),
// computed exactly with math/big.
func exactSum(v []float64) float64 {
	sum := new(big.Float).SetPrec(4000)
	for _, x := range v {
		sum.Add(sum, big.NewFloat(x))
	}
	f, _ := sum.Float64()
	return f
}

// stFile assembles a safetensors file from a raw header and data.
func stFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestParseSafetensorsErrors(t *testing.T) {
	lenOnly := func(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }
	w := func(dtype, shape, offsets string) string {
		return fmt.Sprintf(`{"w":{"dtype":%s,"shape":%s,"data_offsets":%s}}`, dtype, shape, offsets)
	}
	tests := []struct {
		name string
		b    []byte
		frag string
	}{
		{"empty", nil, "file is 0 bytes, too short"},
		{"short", []byte{1, 2, 3}, "too short"},
		{"header past end", append(lenOnly(100), "{}"...), "header length 100 exceeds the file (2 bytes after the length)"},
		{"huge header", append(lenOnly(1<<62), "{}"...), "exceeds the 104857600-byte limit"},
		{"header at limit", lenOnly(MaxHeaderSize + 1), "exceeds the 104857600-byte limit"},
		{"not json", stFile("hello", nil), "header is not a JSON object"},
		{"array", stFile("[]", nil), "header is not a JSON object"},
		{"bad json", stFile(`{"w":{`, nil), "tensor \"w\": header entry"},
		{"junk after", stFile(`{} x`, nil), "unexpected data after the JSON object"},
		{"two objects", stFile(`{}{}`, nil), "unexpected data after the JSON object"},
		{"duplicate", stFile(`{"w":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"w":{}}`, nil), `header: duplicate entry "w"`},
		{"duplicate metadata", stFile(`{"__metadata__":{},"__metadata__":{}}`, nil), `header: duplicate entry "__metadata__"`},
		{"unknown dtype", stFile(w(`"F8_E4M3"`, `[1]`, `[0,1]`), []byte{0}), `tensor "w": unsupported dtype "F8_E4M3"`},
		{"no dtype", stFile(`{"w":{"shape":[1],"data_offsets":[0,1]}}`, []byte{0}), `tensor "w": header entry has no dtype`},
		{"no shape", stFile(`{"w":{"dtype":"U8","data_offsets":[0,1]}}`, []byte{0}), `tensor "w": header entry has no shape`},
		{"no offsets", stFile(`{"w":{"dtype":"U8","shape":[1]}}`, []byte{0}), `tensor "w": header entry has no data_offsets`},
		{"three offsets", stFile(w(`"U8"`, `[1]`, `[0,1,2]`), []byte{0}), `data_offsets has 3 values, want 2`},
		{"dtype not string", stFile(w(`5`, `[1]`, `[0,1]`), []byte{0}), `tensor "w": header entry`},
		{"negative dim", stFile(w(`"U8"`, `[-1]`, `[0,1]`), []byte{0}), `tensor "w": shape[0]: -1 is not an integer`},
		{"fraction dim", stFile(w(`"U8"`, `[1.5]`, `[0,1]`), []byte{0}), `shape[0]: 1.5 is not an integer`},
		{"huge dim", stFile(w(`"U8"`, `[1e30]`, `[0,1]`), []byte{0}), `shape[0]: 1e30 is not an integer`},
		{"negative offset", stFile(w(`"U8"`, `[1]`, `[-1,0]`), []byte{0}), `data_offsets[0]: -1 is not`},
		{"product overflow", stFile(w(`"F32"`, `[4294967296,4294967296]`, `[0,4]`), make([]byte, 4)), `tensor "w": shape [4294967296 4294967296] has more than`},
		{"product overflow by size", stFile(w(`"F64"`, `[2305843009213693952]`, `[0,8]`), make([]byte, 8)), `has more than 1152921504606846975 elements`},
		{"shape vs bytes", stFile(w(`"F32"`, `[3]`, `[0,8]`), make([]byte, 8)), `tensor "w": shape [3] of F32 needs 12 bytes but data_offsets [0, 8] hold 8`},
		{"offsets past data", stFile(w(`"F32"`, `[2]`, `[0,8]`), make([]byte, 4)), `tensor "w": data_offsets [0, 8] out of range of the 4 data bytes`},
		{"huge offsets", stFile(w(`"F32"`, `[1]`, `[9223372036854775800,9223372036854775804]`), make([]byte, 4)), `out of range`},
		{"begin after end", stFile(w(`"U8"`, `[0]`, `[2,1]`), make([]byte, 4)), `data_offsets [2, 1] out of range`},
		{"overlap", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)),
			`tensor "b": data_offsets [4, 8] overlap tensor "a"`},
		{"gap", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), `no header entry for data bytes [0, 4) (between the data start and tensor "a"): a tensor removed from the header?`},
		{"trailing data", stFile(w(`"F32"`, `[1]`, `[0,4]`), make([]byte, 6)), `tensors end at byte 4 of the data but the file holds 6 bytes of data`},
		{"metadata not strings", stFile(`{"__metadata__":{"a":1}}`, nil), `__metadata__ must map strings to strings`},
		{"metadata not object", stFile(`{"__metadata__":[]}`, nil), `__metadata__ must map strings to strings`},
	}
	// Read recognises the format by content: these do not look like
	// safetensors (nor a zip) at all, so Read says what they are instead.
	notCheckpoint := map[string]string{"empty": "the file is empty", "short": "the file is only 3 bytes",
		"huge header": "header length of 4611686018427387904 bytes", "header at limit": "the file is only 8 bytes",
		"not json": "byte 8 is 0x68, not '{'", "array": "byte 8 is 0x5b, not '{'"}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseSafetensors(tc.b)
			if err == nil {
				t.Fatalf("no error; got %d tensors", len(f.Tensors))
			}
			checkError(t, err, tc.frag)
			if !strings.HasPrefix(err.Error(), "safetensors: ") {
				t.Errorf("error %q lacks the safetensors: prefix", err)
			}
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".safetensors")
			if err := os.WriteFile(path, tc.b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Read(path)
			if what, ok := notCheckpoint[tc.name]; ok {
				checkError(t, err, "read "+path+": not a checkpoint (safetensors or PyTorch zip): ")
				checkError(t, err, what)
				return
			}
			checkError(t, err, tc.frag)
			if !strings.HasPrefix(err.Error(), "read "+path+": safetensors: ") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// checkError fails unless err is a single line containing frag.
func checkError(t *testing.T, err error, frag string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", frag)
	}
	msg := err.Error()
	if !strings.Contains(msg, frag) {
		t.Fatalf("error %q does not contain %q", msg, frag)
	}
	if strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error spans lines: %q", msg)
	}
}

func TestParseSafetensorsAccepts(t *testing.T) {
	tests := []struct {
		name  string
		b     []byte
		names []string
	}{
		// Data order, not header order; empty tensors anywhere.
		{"data order", stFile(`{"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"e":{"dtype":"U8","shape":[0],"data_offsets":[1,1]},`+
			`"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"z":{"dtype":"F32","shape":[0],"data_offsets":[2,2]}}`, []byte{7, 9}),
			[]string{"a", "e", "b", "z"}},
		{"null metadata", stFile(`{"__metadata__":null}`, nil), nil},
		{"padding", stFile("{}      \n\t", nil), nil},
	}
	for _, tc := range tests {
		f, err := ParseSafetensors(tc.b)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var names []string
		for _, tn := range f.Tensors {
			names = append(names, tn.Name)
		}
		if !reflect.DeepEqual(names, tc.names) {
			t.Errorf("%s: order %v, want %v", tc.name, names, tc.names)
		}
	}
}

func TestEncodeSafetensorsErrors(t *testing.T) {
	one := func(tn Tensor) *File { return &File{Tensors: []Tensor{tn}} }
	tests := []struct {
		name string
		f    *File
		frag string
	}{
		{"duplicate", &File{Tensors: []Tensor{{Name: "a", DType: "F32", Shape: []int{}, Data: []float64{1}}, {Name: "a", DType: "F32", Shape: []int{}, Data: []float64{1}}}},
			`tensor "a": duplicate name`},
		{"reserved", one(Tensor{Name: "__metadata__", DType: "F32", Shape: []int{}, Data: []float64{1}}), "reserved"},
		{"bad utf8", one(Tensor{Name: "a\xff", DType: "F32", Shape: []int{}, Data: []float64{1}}), "not valid UTF-8"},
		{"dtype", one(Tensor{Name: "a", DType: "F128", Shape: []int{}, Data: []float64{1}}), `tensor "a": unsupported dtype "F128"`},
		{"shape", one(Tensor{Name: "a", DType: "F32", Shape: []int{2, 2}, Data: []float64{1}}), `tensor "a": shape [2 2] has 4 elements but the tensor holds 1 values`},
		{"negative", one(Tensor{Name: "a", DType: "F32", Shape: []int{-1}, Data: nil}), "negative dimension"},
		{"overflow", one(Tensor{Name: "a", DType: "F16", Shape: []int{2}, Data: []float64{1, 1e5}}), `tensor "a": element 1: value 100000 overflows F16`},
		{"int", one(Tensor{Name: "a", DType: "I8", Shape: []int{1}, Data: []float64{0.5}}), `tensor "a": element 0: value 0.5 is not an integer`},
		{"metadata utf8", &File{Metadata: map[string]string{"k": "\xff"}}, `metadata "k" is not valid UTF-8`},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		if _, err := EncodeSafetensors(tc.f); err == nil || !strings.Contains(err.Error(), tc.frag) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.frag)
		}
		// A failed write leaves the previous file, and no temporary file.
		path := filepath.Join(dir, "out.safetensors")
		if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := WriteSafetensors(path, tc.f)
		checkError(t, err, "write "+path+": ")
		if b, _ := os.ReadFile(path); string(b) != "old" {
			t.Errorf("%s: failed write changed the file", tc.name)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the output directory, want 1", len(entries))
	}
	err := WriteSafetensors(filepath.Join(dir, "no", "such", "dir.safetensors"), &File{})
	checkError(t, err, "no/such/dir.safetensors")
	// A directory as the output: refused up front, nothing written next
	// to it (it used to leave nothing but say "rename .../.tmp.tmp-N ...:
	// file exists").
	out := filepath.Join(t.TempDir(), "out")
	os.Mkdir(out, 0o755)
	checkError(t, WriteSafetensors(out, &File{}), out+": is a directory (give a file name inside it)")
	checkError(t, WriteSafetensors(out+"/", &File{}), out+"/: a directory name, not a file name")
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Errorf("%d entries next to the output directory, want 1", len(entries))
	}
}
