package vim

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/vim/ckpt"
)

func toyFile(t *testing.T) *ckpt.File {
	t.Helper()
	f, err := ckpt.ReadSafetensors(toyWeights)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFromFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(f *ckpt.File)
		msg  string
	}{
		{"missing", func(f *ckpt.File) { drop(f, "layers.2.mixer.D_b") }, "missing tensor layers.2.mixer.D_b"},
		{"missing patch", func(f *ckpt.File) { drop(f, "patch_embed.proj.weight") }, "missing tensor patch_embed.proj.weight"},
		{"extra", func(f *ckpt.File) {
			f.Tensors = append(f.Tensors, ckpt.Tensor{Name: "layers.0.mixer.bogus", DType: "F32", Shape: []int{1}, Data: []float64{1}})
		}, "unexpected tensor layers.0.mixer.bogus"},
		{"shape", func(f *ckpt.File) {
			tt, _ := f.Get("layers.1.mixer.x_proj_b.weight")
			tt.Shape = []int{tt.Shape[1], tt.Shape[0]}
		}, "tensor layers.1.mixer.x_proj_b.weight: shape [128 20], want [20 128]"},
		{"rank", func(f *ckpt.File) {
			tt, _ := f.Get("head.weight")
			tt.Shape = []int{len(tt.Data)}
		}, "tensor head.weight: shape"},
		{"nan", func(f *ckpt.File) {
			tt, _ := f.Get("layers.3.mixer.A_log")
			tt.Data[5] = math.NaN()
		}, "tensor layers.3.mixer.A_log: non-finite"},
		{"tokens", func(f *ckpt.File) {
			f.Metadata["config"] = `{"img_size": 80, "stride": 16}`
		}, "pos_embed has 17 tokens"},
		{"bad meta", func(f *ckpt.File) { f.Metadata["config"] = `{"img_size": "x"}` }, "img_size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := toyFile(t)
			tc.mod(f)
			_, err := FromFile(f, LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %q", err, tc.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
		})
	}
}

func drop(f *ckpt.File, name string) {
	for i, t := range f.Tensors {
		if t.Name == name {
			f.Tensors = append(f.Tensors[:i], f.Tensors[i+1:]...)
			return
		}
	}
}

// Without metadata the image is square with stride = patch; --img-size and
// --stride select other geometries that give the same token count.
func TestInferConfigGeometry(t *testing.T) {
	f := toyFile(t)
	delete(f.Metadata, "config")
	c, err := InferConfig(f, LoadOptions{})
	if err != nil || c.ImgH != 64 || c.ImgW != 64 || c.Stride != 16 {
		t.Fatalf("default geometry %dx%d/%d, %v", c.ImgH, c.ImgW, c.Stride, err)
	}
	// 16 patches as a 2x8 grid of a 32x128 image.
	c, err = InferConfig(f, LoadOptions{ImgH: 32, ImgW: 128})
	if err != nil || c.GridH() != 2 || c.GridW() != 8 {
		t.Fatalf("32x128: %+v %v", c, err)
	}
	// Stride 8 on a 40x40 image: 4x4 patches.
	c, err = InferConfig(f, LoadOptions{ImgH: 40, ImgW: 40, Stride: 8})
	if err != nil || c.Patches() != 16 {
		t.Fatalf("stride 8: %+v %v", c, err)
	}
	if _, err := InferConfig(f, LoadOptions{ImgH: 48, ImgW: 48}); err == nil {
		t.Fatal("48x48 accepted for 16 patches")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		spec string
		opt  LoadOptions
		msg  string
	}{
		{"vim-xxl", LoadOptions{}, `unknown model "vim-xxl"`},
		{filepath.Join(dir, "none.safetensors"), LoadOptions{}, "no such file"},
		{"vim-ti", LoadOptions{ImgH: 100, ImgW: 100}, "not covered exactly"},
	} {
		_, err := Load(tc.spec, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want %q", tc.spec, err, tc.msg)
		}
	}
}

func TestSyntheticDeterministic(t *testing.T) {
	c, _ := Preset("vim-ti")
	c.Depth = 2
	a, _ := Synthetic(c, 7)
	b, _ := Synthetic(c, 7)
	d, _ := Synthetic(c, 8)
	img := benchImage(c)
	la, _ := a.Forward(img, F64, nil)
	lb, _ := b.Forward(img, F64, nil)
	ld, _ := d.Forward(img, F64, nil)
	for i := range la {
		if la[i] != lb[i] {
			t.Fatal("same seed, different logits")
		}
	}
	if la[0] == ld[0] {
		t.Fatal("different seeds, same logits")
	}
	// Official init facts (vim-forward.md §5).
	l := a.Layers[1]
	if l.Dir[Bwd].DtB[3] != 0 || l.Dir[Fwd].DtB[3] == 0 {
		t.Error("dt_proj_b.bias must be zero and dt_proj.bias the inverse-softplus init")
	}
	if l.Dir[Fwd].ALog[c.DState*5+3] != math.Log(4) || l.Dir[Bwd].D[7] != 1 || l.Norm[0] != 1 {
		t.Error("A_log, D or norm weight not at the official init")
	}
}
