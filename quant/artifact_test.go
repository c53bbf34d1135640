package quant

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/vimsim/vimsim/vim"
	"github.com/vimsim/vimsim/vim/ckpt"
)

var (
	toyQOnce sync.Once
	toyQ     *QModel
	toyQErr  error
)

// toyQModel is the toy model calibrated once with the paper method (small
// search settings), shared by the artifact tests. Callers must not modify it.
func toyQModel(t testing.TB) *QModel {
	t.Helper()
	toyQOnce.Do(func() {
		m := toyModel(t)
		toyQ, toyQErr = Calibrate(m, randomImages(m.Config, 6, 9), fastOptions(MethodPaper))
	})
	if toyQErr != nil {
		t.Fatal(toyQErr)
	}
	return toyQ
}

// exported returns a copy of q with the unexported cache zeroed, for
// comparisons.
func exported(q *QModel) *QModel {
	return &QModel{Config: q.Config, Method: q.Method, WBits: q.WBits, ABits: q.ABits, HBits: q.HBits, Precision: q.Precision,
		Calib: q.Calib, Patch: q.Patch, Cls: q.Cls, Pos: q.Pos, Layers: q.Layers, NormF: q.NormF, Head: q.Head}
}

func TestArtifactRoundTrip(t *testing.T) {
	q := toyQModel(t)
	path := filepath.Join(t.TempDir(), "q.safetensors")
	if err := q.Write(path); err != nil {
		t.Fatal(err)
	}
	r, err := ReadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := exported(q), exported(r); !reflect.DeepEqual(a, b) {
		t.Fatal("read-back model differs from the written one")
	}
	imgs := randomImages(q.Config, 2, 10)
	want, err := q.Infer(imgs.Data, 2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Infer(imgs.Data, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("read-back model computes different logits")
	}
	// Writing again gives the same bytes.
	path2 := filepath.Join(t.TempDir(), "q2.safetensors")
	if err := r.Write(path2); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(path2)
	if !bytes.Equal(a, b) {
		t.Fatal("rewriting the read-back model changes the file")
	}
}

// TestArtifactCorrupt checks that every kind of damage gives a one-line
// error naming the file.
func TestArtifactCorrupt(t *testing.T) {
	q := toyQModel(t)
	dir := t.TempDir()
	setData := func(name string, i int, v float64) func(f *ckpt.File) {
		return func(f *ckpt.File) {
			tt, _ := f.Get(name)
			tt.Data[i] = v
		}
	}
	for _, tc := range []struct {
		name string
		mod  func(f *ckpt.File)
		want string
	}{
		{"missing tensor", func(f *ckpt.File) { drop(f, "layers.1.mixer.x_proj_b.weight_scale") }, "missing tensor layers.1.mixer.x_proj_b.weight_scale"},
		{"extra tensor", func(f *ckpt.File) {
			f.Tensors = append(f.Tensors, ckpt.Tensor{Name: "bogus", DType: "F64", Shape: []int{1}, Data: []float64{1}})
		}, "unexpected tensor bogus"},
		{"shape", func(f *ckpt.File) {
			tt, _ := f.Get("layers.0.mixer.ssm.h_scale")
			tt.Shape, tt.Data = []int{3}, tt.Data[:3]
		}, "layers.0.mixer.ssm.h_scale: shape [3]"},
		{"dtype", func(f *ckpt.File) {
			tt, _ := f.Get("head.weight")
			tt.DType = "F32"
		}, "head.weight: dtype F32, want I8"},
		{"negative scale", setData("layers.2.mixer.in_proj.out.scale", 0, -1), "not positive"},
		{"nan bias", setData("head.bias", 3, math.NaN()), "head.bias: element 3 is NaN"},
		{"group out of range", setData("layers.0.mixer.act_z.out.group", 5, 9), "group 9 out of"},
		{"pow2 broken", setData("layers.0.mixer.out_proj.out.scale", 1, 1e-3), "not scale 0"},
		{"zero factor", setData("layers.3.mixer.ssm_b.r_C", 0, 0), "is not positive"},
		{"half factors", func(f *ckpt.File) { drop(f, "layers.0.mixer.ssm.r_L") }, "all present or all absent"},
		{"format", func(f *ckpt.File) { f.Metadata["format"] = "x" }, "not a quantized model"},
		{"version", func(f *ckpt.File) { f.Metadata["version"] = "99" }, "unsupported quantized-model version"},
		{"header json", func(f *ckpt.File) { f.Metadata["qmodel"] = "{" }, "metadata qmodel"},
		{"method", func(f *ckpt.File) {
			f.Metadata["qmodel"] = strings.Replace(f.Metadata["qmodel"], `"method":"paper"`, `"method":"magic"`, 1)
		}, "unknown quantization method"},
		{"bits", func(f *ckpt.File) {
			f.Metadata["qmodel"] = strings.Replace(f.Metadata["qmodel"], `"abits":8`, `"abits":3`, 1)
		}, "out of [4, 8]"},
		{"no tensors", func(f *ckpt.File) { f.Tensors = nil }, "missing tensor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := q.File()
			if err != nil {
				t.Fatal(err)
			}
			tc.mod(f)
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".safetensors")
			if err := ckpt.WriteSafetensors(path, f); err != nil {
				t.Fatal(err)
			}
			checkOneLineError(t, path, tc.want)
		})
	}
	// Bytes-level damage.
	good := filepath.Join(dir, "good.safetensors")
	if err := q.Write(good); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", b[:len(b)/2], "safetensors"},
		{"empty", nil, "safetensors"},
		{"garbage", []byte("not a tensor file at all"), "safetensors"},
	} {
		path := filepath.Join(dir, tc.name+".safetensors")
		if err := os.WriteFile(path, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		checkOneLineError(t, path, tc.want)
	}
	checkOneLineError(t, filepath.Join(dir, "absent.safetensors"), "no such file")
	// A float checkpoint is not a quantized model.
	checkOneLineError(t, "../vim/testdata/toy_pert.weights.safetensors", "not a quantized model")
}

func checkOneLineError(t *testing.T, path, want string) {
	t.Helper()
	_, err := ReadModel(path)
	if err == nil {
		t.Fatalf("%s: no error", path)
	}
	msg := err.Error()
	if !strings.Contains(msg, path) || !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
		t.Fatalf("error %q: want one line naming %s and containing %q", msg, path, want)
	}
}

func drop(f *ckpt.File, name string) {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			f.Tensors = append(f.Tensors[:i], f.Tensors[i+1:]...)
			return
		}
	}
}

// TestArtifactFormats checks that the header describes each method's
// quantizers as the method defines them.
func TestArtifactFormats(t *testing.T) {
	q := toyQModel(t)
	byName := map[string]PointInfo{}
	for _, p := range q.Describe() {
		byName[p.Name] = p
	}
	for name, want := range map[string]string{
		"layers.0.mixer.in_proj.weight":   "int8 tensor",
		"layers.0.mixer.in_proj.out":      "int8 tensor",
		"layers.0.mixer.conv1d.out":       "int8 k4-channel",
		"layers.0.mixer.act_b.out":        "int8 k4-channel",
		"layers.1.mixer.softplus.out":     "int8 k4-channel",
		"layers.1.mixer.act_z.out":        "int8 k4-channel",
		"layers.2.mixer.ssm_b.out":        "int8 k4-token-p2",
		"layers.2.mixer.out_proj.out":     "int8 k4-token-p2",
		"layers.3.mixer.ssm.h_scale":      "int8 per-step",
		"layers.3.mixer.ssm.r_C":          "f64",
		"layers.3.mixer.x_proj_b.out":     "int8 tensor",
		"head.out":                        "int8 tensor",
		"patch_embed.proj.weight":         "int8 tensor",
		"layers.0.mixer.dt_proj_b.weight": "int8 tensor",
	} {
		if got := byName[name].Format; got != want {
			t.Errorf("%s: format %q, want %q", name, got, want)
		}
	}
	f, err := q.File()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"layers.0.mixer.out_proj.out.exp", "layers.0.mixer.conv1d.out.group", "layers.0.mixer.x_proj.weight"} {
		if _, ok := f.Get(name); !ok {
			t.Errorf("artifact lacks %s", name)
		}
	}
}

// FuzzReadModel feeds damaged artifacts to the parser: it must return a
// model or an error, never panic. The seed is a 15 KB artifact; run with
// -fuzzminimizetime 2s, else minimizing each new input stalls the fuzzer
// for the default minute.
func FuzzReadModel(f *testing.F) {
	// A tiny model keeps the seed small (a few KB): the fuzzer is slow on
	// large inputs.
	m, err := vim.Synthetic(vim.Config{Name: "tiny", ImgH: 8, ImgW: 8, Channels: 1, Patch: 4, Stride: 4,
		Dim: 8, Depth: 1, DInner: 16, DState: 2, DConv: 4, DtRank: 1, Classes: 3, Eps: 1e-5}, 1)
	if err != nil {
		f.Fatal(err)
	}
	q, err := Calibrate(m, randomImages(m.Config, 2, 1), fastOptions(MethodPaper))
	if err != nil {
		f.Fatal(err)
	}
	file, err := q.File()
	if err != nil {
		f.Fatal(err)
	}
	b, err := ckpt.EncodeSafetensors(file)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:100])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ckpt.ParseSafetensors(data)
		if err != nil {
			return
		}
		if q, err := FromFile(file); err == nil {
			// A model that parses must also run.
			img := make([]float64, q.Config.Channels*q.Config.ImgH*q.Config.ImgW)
			if q.Config.Tokens() < 100 && q.Config.Depth < 8 {
				if _, err := q.Forward(img); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
