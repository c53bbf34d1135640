package intprog_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/internal/fixture"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim/ckpt"
)

func TestRoundTrip(t *testing.T) {
	tv := fixture.Toy(t)
	dir := t.TempDir()
	for _, method := range []string{quant.MethodPaper, quant.MethodNaive} {
		t.Run(method, func(t *testing.T) {
			p := tv.Program(t, method)
			path := filepath.Join(dir, method+".safetensors")
			if err := p.Write(path); err != nil {
				t.Fatal(err)
			}
			q, err := intprog.Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, q) {
				t.Fatal("program read back differs from the one written")
			}
			a, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := q.File()
			if err != nil {
				t.Fatal(err)
			}
			b, err := ckpt.EncodeSafetensors(f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Error("re-encoding the program read back changes its bytes")
			}
			// The same model compiles to the same bytes.
			f2, err := tv.Program(t, method).File()
			if err != nil {
				t.Fatal(err)
			}
			c, err := ckpt.EncodeSafetensors(f2)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, c) {
				t.Error("compiling twice gives different files")
			}
		})
	}
}

// mutateFile returns a copy of f changed by fn.
func mutateFile(f *ckpt.File, fn func(f *ckpt.File, h map[string]any)) *ckpt.File {
	g := &ckpt.File{Metadata: map[string]string{}}
	for k, v := range f.Metadata {
		g.Metadata[k] = v
	}
	for _, t := range f.Tensors {
		t.Shape = slices.Clone(t.Shape)
		t.Data = slices.Clone(t.Data)
		g.Tensors = append(g.Tensors, t)
	}
	var h map[string]any
	if err := json.Unmarshal([]byte(g.Metadata["intprog"]), &h); err != nil {
		panic(err)
	}
	fn(g, h)
	if h != nil {
		b, err := json.Marshal(h)
		if err != nil {
			panic(err)
		}
		g.Metadata["intprog"] = string(b)
	}
	return g
}

func tensor(f *ckpt.File, name string) *ckpt.Tensor {
	t, ok := f.Get(name)
	if !ok {
		panic("no tensor " + name)
	}
	return t
}

func TestReadErrors(t *testing.T) {
	tv := fixture.Toy(t)
	base, err := tv.Program(t, quant.MethodPaper).File()
	if err != nil {
		t.Fatal(err)
	}
	scalars := func(h map[string]any) map[string]any { return h["scalars"].(map[string]any) }
	cases := []struct {
		name string
		fn   func(f *ckpt.File, h map[string]any)
		want string
	}{
		{"format", func(f *ckpt.File, _ map[string]any) { f.Metadata["format"] = "vimsim-qmodel" }, "not an integer program"},
		{"version", func(f *ckpt.File, _ map[string]any) { f.Metadata["version"] = "1" }, "version"},
		{"header", func(f *ckpt.File, h map[string]any) { clear(h); f.Metadata["intprog"] = "{" }, "metadata intprog"},
		{"header version", func(_ *ckpt.File, h map[string]any) { h["version"] = 99 }, "metadata intprog"},
		{"config", func(_ *ckpt.File, h map[string]any) { h["config"].(map[string]any)["depth"] = 2000 }, "too large"},
		{"bad config", func(_ *ckpt.File, h map[string]any) { h["config"].(map[string]any)["dim"] = 0 }, "dim"},
		{"missing tensor", func(f *ckpt.File, _ map[string]any) {
			f.Tensors = slices.DeleteFunc(f.Tensors, func(t ckpt.Tensor) bool { return t.Name == "layers.1.norm.gamma" })
		}, "missing tensor layers.1.norm.gamma"},
		{"extra tensor", func(f *ckpt.File, _ map[string]any) {
			f.Tensors = append(f.Tensors, ckpt.Tensor{Name: "extra", DType: "I8", Shape: []int{1}, Data: []float64{0}})
		}, "unexpected tensor extra"},
		{"dtype", func(f *ckpt.File, _ map[string]any) { tensor(f, "pos_embed").DType = "I16" }, "dtype I16"},
		{"shape", func(f *ckpt.File, _ map[string]any) {
			w := tensor(f, "head.weight")
			w.Shape = []int{w.Shape[1], w.Shape[0]}
		}, "head.weight: shape"},
		{"scalar missing", func(_ *ckpt.File, h map[string]any) { delete(scalars(h), "layers.0.norm.bits") }, "missing scalar layers.0.norm.bits"},
		{"scalar extra", func(_ *ckpt.File, h map[string]any) { scalars(h)["x.bits"] = 3 }, "unexpected scalar x.bits"},
		{"scalar range", func(_ *ckpt.File, h map[string]any) { scalars(h)["layers.0.in_proj.bits"] = 1 << 40 }, "out of range"},
		{"requant width", func(_ *ckpt.File, h map[string]any) { scalars(h)["layers.0.in_proj.bits"] = 9 }, "want 4–8"},
		{"weight width", func(_ *ckpt.File, h map[string]any) { scalars(h)["layers.0.in_proj.weight_bits"] = 5 }, "weights are 4 or 8 bits"},
		{"int4 weights", func(_ *ckpt.File, h map[string]any) { scalars(h)["head.weight_bits"] = 4 }, "outside [-8, 7]"},
		{"int4 taps", func(_ *ckpt.File, h map[string]any) { scalars(h)["layers.1.bwd.conv1d.weight_bits"] = 4 }, "outside [-8, 7]"},
		{"state width", func(_ *ckpt.File, h map[string]any) { scalars(h)["layers.0.fwd.scan.state_bits"] = 12 }, "12-bit state"},
		{"no state width", func(_ *ckpt.File, h map[string]any) { delete(scalars(h), "layers.0.bwd.scan.state_bits") }, "missing scalar"},
		{"nan scale", func(f *ckpt.File, _ map[string]any) { tensor(f, "scales.residual").Data[0] = math.NaN() }, "NaN"},
		{"negative merge scale", func(f *ckpt.File, _ map[string]any) { tensor(f, "scales.layers.0.merge").Data[3] = -1 }, "merge"},
		{"token group", func(f *ckpt.File, _ map[string]any) { tensor(f, "layers.1.bwd.scan.token_group").Data[2] = 200 }, "token_group"},
		{"table index", func(f *ckpt.File, _ map[string]any) { tensor(f, "layers.0.silu_z.index").Data[0] = 250 }, "table"},
		{"clamp flag", func(f *ckpt.File, _ map[string]any) { tensor(f, "layers.0.fwd.silu.clamped").Data[5] = 2 }, "flag"},
		{"multiplier", func(f *ckpt.File, _ map[string]any) { tensor(f, "layers.2.fwd.scan.gate.m").Data[0] = 5 }, "normalised"},
		{"group mult", func(f *ckpt.File, _ map[string]any) { tensor(f, "layers.0.fwd.x_proj.mult").Data[0] = -1 }, "multiplier"},
		{"in group", func(f *ckpt.File, _ map[string]any) { tensor(f, "patch_embed.in_group").Data[0] = 9 }, "group"},
		{"multiplier pair", func(f *ckpt.File, _ map[string]any) {
			s := tensor(f, "layers.0.in_proj.mult.shift")
			s.Data = append(s.Data, 3)
			s.Shape = []int{len(s.Data)}
		}, "mantissas"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := intprog.FromFile(mutateFile(base, c.fn))
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line containing %q", msg, c.want)
			}
		})
	}
	// File-level corruption names the file.
	dir := t.TempDir()
	b, err := ckpt.EncodeSafetensors(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{b[:len(b)/2], b[:7], []byte("garbage")} {
		path := filepath.Join(dir, "bad.safetensors")
		if err := os.WriteFile(path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := intprog.Read(path)
		if err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%d bytes: error %v, want one line naming %s", len(bad), err, path)
		}
	}
	qpath := filepath.Join(dir, "q.safetensors")
	if err := tv.QModel[quant.MethodNaive].Write(qpath); err != nil {
		t.Fatal(err)
	}
	if _, err := intprog.Read(qpath); err == nil || !strings.Contains(err.Error(), "not an integer program") {
		t.Errorf("a quantized-model file: error %v", err)
	}
}

func FuzzParse(f *testing.F) {
	tv := fixture.Toy(f)
	p := tv.Program(f, quant.MethodNaive)
	file, err := p.File()
	if err != nil {
		f.Fatal(err)
	}
	b, err := ckpt.EncodeSafetensors(file)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)-10])
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '})
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := intprog.Parse(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		if _, err := q.File(); err != nil {
			t.Errorf("a parsed program does not encode: %v", err)
		}
	})
}

// TestReadVersion2 reads a program file as version 2 wrote it (int8
// weights and scan state, no width scalars): the same program.
func TestReadVersion2(t *testing.T) {
	p := fixture.Toy(t).Program(t, quant.MethodPaper)
	f, err := p.File()
	if err != nil {
		t.Fatal(err)
	}
	v2 := mutateFile(f, func(f *ckpt.File, h map[string]any) {
		sc := h["scalars"].(map[string]any)
		for k := range sc {
			if strings.HasSuffix(k, ".weight_bits") || strings.HasSuffix(k, ".state_bits") {
				delete(sc, k)
			}
		}
		h["version"] = 2
		f.Metadata["version"] = "2"
	})
	q, err := intprog.FromFile(v2)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatal("the version 2 file reads as another program")
	}
	// A version 3 file must carry the widths.
	if _, err := intprog.FromFile(mutateFile(v2, func(f *ckpt.File, h map[string]any) {
		h["version"] = 3
		f.Metadata["version"] = "3"
	})); err == nil || !strings.Contains(err.Error(), "missing scalar") {
		t.Errorf("version 3 without widths: %v", err)
	}
}
