package vim

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/models"
	"github.com/vimsim/vimsim/vim/ckpt"
)

// fmnistFile is the embedded vim-fmnist checkpoint: 1×28×28, patch 4,
// 50 tokens, depth 4, metadata as vimsim writes it.
func fmnistFile(t testing.TB) *ckpt.File {
	t.Helper()
	b, ok := models.Lookup("vim-fmnist")
	if !ok {
		t.Fatal("no embedded vim-fmnist")
	}
	f, err := ckpt.ParseSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// setConfig changes (or, for nil, removes) keys of the config metadata.
func setConfig(t testing.TB, f *ckpt.File, kv map[string]any) {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal([]byte(f.Metadata["config"]), &c); err != nil {
		t.Fatal(err)
	}
	for k, v := range kv {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	b, _ := json.Marshal(c)
	f.Metadata["config"] = string(b)
}

// TestMetadataFormats loads the metadata other exporters write: scalars,
// numbers as strings, lists of numbers or strings, Python tuples, "HxW",
// class names as a JSON string or an id2label object, config keys under
// their other names, a config encoded twice.
func TestMetadataFormats(t *testing.T) {
	names := []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
	tests := []struct {
		name  string
		meta  map[string]string
		cfg   map[string]any
		check func(c Config) bool
	}{
		{"mean scalar string", map[string]string{"mean": "0.1307", "std": "0.3081"}, nil,
			func(c Config) bool {
				return reflect.DeepEqual(c.Mean, []float64{0.1307}) && reflect.DeepEqual(c.Std, []float64{0.3081})
			}},
		{"mean number list as strings", map[string]string{"mean": `["0.1307"]`, "std": `[" 0.3081 "]`}, nil,
			func(c Config) bool { return c.Mean[0] == 0.1307 && c.Std[0] == 0.3081 }},
		{"mean JSON string of a list", map[string]string{"mean": `"[0.5]"`}, nil, func(c Config) bool { return c.Mean[0] == 0.5 }},
		{"mean python tuple", map[string]string{"mean": "(0.25,)", "std": "(0.5)"}, nil,
			func(c Config) bool { return c.Mean[0] == 0.25 && c.Std[0] == 0.5 }},
		{"mean in config", map[string]string{"mean": ""}, map[string]any{"mean": []any{"0.2"}},
			func(c Config) bool { return c.Mean[0] == 0.2 }},
		{"img_size string", nil, map[string]any{"img_size": "28"}, func(c Config) bool { return c.ImgH == 28 && c.ImgW == 28 }},
		{"img_size HxW", nil, map[string]any{"img_size": "28x28"}, func(c Config) bool { return c.ImgH == 28 }},
		{"img_size float", nil, map[string]any{"img_size": 28.0}, func(c Config) bool { return c.ImgW == 28 }},
		{"img_size string list", nil, map[string]any{"img_size": []any{"28", "28"}}, func(c Config) bool { return c.ImgH == 28 }},
		{"image_size alias", nil, map[string]any{"img_size": nil, "image_size": 28}, func(c Config) bool { return c.ImgH == 28 }},
		{"timm input_size", nil, map[string]any{"img_size": nil, "input_size": []int{1, 28, 28}}, func(c Config) bool { return c.ImgH == 28 }},
		{"stride pair", nil, map[string]any{"stride": []int{4, 4}}, func(c Config) bool { return c.Stride == 4 }},
		{"stride string", nil, map[string]any{"stride": "4"}, func(c Config) bool { return c.Stride == 4 }},
		{"eps string", nil, map[string]any{"norm_epsilon": "1e-6"}, func(c Config) bool { return c.Eps == 1e-6 }},
		{"rms_norm_eps alias", nil, map[string]any{"norm_epsilon": nil, "rms_norm_eps": 1e-6}, func(c Config) bool { return c.Eps == 1e-6 }},
		{"aliases agree", nil, map[string]any{"d_model": "64", "n_layer": 4, "patch_size": []int{4, 4}, "expand": 2},
			func(c Config) bool { return c.Dim == 64 && c.Depth == 4 }},
		{"switches as strings", nil, map[string]any{"if_cls_token": "True", "use_middle_cls_token": 1, "bimamba_type": "v2",
			"if_devide_out": true, "final_pool_type": "mean", "if_rope": "false"}, func(c Config) bool { return true }},
		{"class names as JSON string", map[string]string{"class_names": mustJSON(mustJSON(names))}, nil,
			func(c Config) bool { return reflect.DeepEqual(c.ClassNames, names) }},
		{"id2label", map[string]string{"class_names": "", "id2label": `{"1": "Trouser", "0": "T-shirt/top", "2": "Pullover", "3": "Dress", "4": "Coat", "5": "Sandal", "6": "Shirt", "7": "Sneaker", "8": "Bag", "9": "Ankle boot"}`}, nil,
			func(c Config) bool { return reflect.DeepEqual(c.ClassNames, names) }},
		{"cls_position agrees", map[string]string{"cls_position": `"24"`}, nil, func(c Config) bool { return c.ClsPos() == 24 }},
		{"config encoded twice", nil, nil, func(c Config) bool { return c.ImgH == 28 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fmnistFile(t)
			for k, v := range tc.meta {
				if v == "" {
					delete(f.Metadata, k)
				} else {
					f.Metadata[k] = v
				}
			}
			if tc.cfg != nil {
				setConfig(t, f, tc.cfg)
			}
			if tc.name == "config encoded twice" {
				f.Metadata["config"] = mustJSON(f.Metadata["config"])
			}
			var warnings []string
			c, err := InferConfig(f, LoadOptions{Warn: func(m string) { warnings = append(warnings, m) }})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("config %+v", c)
			}
			if len(warnings) > 0 {
				t.Errorf("warnings %q", warnings)
			}
		})
	}
}

// modified returns vim-fmnist with the given top-level metadata and config
// entries set.
func modified(t *testing.T, meta map[string]string, cfg map[string]any) *ckpt.File {
	t.Helper()
	f := fmnistFile(t)
	for k, v := range meta {
		f.Metadata[k] = v
	}
	if cfg != nil {
		setConfig(t, f, cfg)
	}
	return f
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestMetadataRefused checks that metadata which is wrong (not merely
// unreadable) is refused on one line naming the field: impossible sizes,
// values that contradict the tensors, variants vimsim does not compute.
func TestMetadataRefused(t *testing.T) {
	tests := []struct {
		name string
		meta map[string]string
		cfg  map[string]any
		frag string
	}{
		{"image 0x0", nil, map[string]any{"img_size": []int{0, 0}}, `metadata config "img_size" [0,0]: sides must be in [1, 32768]; give the image size`},
		{"image huge", nil, map[string]any{"img_size": 100000}, `"img_size" 100000: sides must be in [1, 32768]`},
		{"image 3 sides", nil, map[string]any{"img_size": []int{1, 28, 28}}, `"img_size" [1,28,28]: want N, [H, W]`},
		{"image garbage", nil, map[string]any{"img_size": "big"}, `"img_size" "big": "big" is not an integer`},
		{"image nested", nil, map[string]any{"img_size": []any{[]int{28}}}, `"img_size" [[28]]: list element`},
		{"patch 0", nil, map[string]any{"patch_size": 0}, `metadata config "patch_size" 0: want one positive integer`},
		{"patch wrong", nil, map[string]any{"patch_size": 7}, `"patch_size" 7, but patch_embed.proj.weight[2] is 4`},
		{"dim wrong", nil, map[string]any{"embed_dim": 96}, `"embed_dim" 96, but patch_embed.proj.weight[0] is 64`},
		{"aliases disagree", nil, map[string]any{"d_model": 64, "hidden_size": 65}, `"hidden_size" 65 disagrees with`},
		{"expand wrong", nil, map[string]any{"expand": 3}, `"expand" 3, but d_inner/embed_dim is 128/64`},
		{"classes wrong", nil, map[string]any{"num_classes": 1000}, `"num_classes" 1000, but head.weight[0] is 10`},
		{"stride > patch", nil, map[string]any{"stride": 8}, `"stride" 8: want one integer in [1, patch_size 4]; give the stride`},
		{"stride 0", nil, map[string]any{"stride": 0}, `"stride" 0: want one integer`},
		{"depth more", nil, map[string]any{"depth": 24}, `blocks 4-23 (layers.4.* …) missing: the checkpoint has blocks 0-3 (metadata config "depth" 24)`},
		{"depth less", nil, map[string]any{"depth": 2}, `metadata config "depth" 2, but the checkpoint has blocks 0-3`},
		{"depth 0", nil, map[string]any{"depth": 0}, `"depth" 0: want a block count`},
		{"cls 999", map[string]string{"cls_position": "999"}, nil, `metadata "cls_position" "999": vimsim puts the cls token in the middle, at 24 of 50 tokens`},
		{"no middle cls", nil, map[string]any{"use_middle_cls_token": false}, `"use_middle_cls_token" false: vimsim computes the official Vim with use_middle_cls_token=true only`},
		{"rope", nil, map[string]any{"if_rope": "True"}, `"if_rope" "True": vimsim computes`},
		{"bimamba v1", nil, map[string]any{"bimamba_type": "v1"}, `"bimamba_type" "v1": vimsim computes bimamba_type v2 only`},
		{"eps 0", nil, map[string]any{"norm_epsilon": 0}, `"norm_epsilon" 0: want one number in (0, 1)`},
		{"mean garbage", map[string]string{"mean": "zero point one"}, nil, `metadata "mean" "zero point one": "zero point one" is not a finite number`},
		{"mean NaN", map[string]string{"mean": "NaN"}, nil, `metadata "mean" "NaN": "NaN" is not a finite number`},
		{"mean 3 for 1 channel", map[string]string{"mean": "0.485,0.456,0.406"}, nil, `3 values, want 1 (the model has one channel)`},
		{"std 0", map[string]string{"std": "0"}, nil, `metadata "std" "0": 0 is not positive`},
		{"std negative in list", map[string]string{"std": "[-1]"}, nil, `-1 is not positive`},
		{"config not JSON", map[string]string{"config": "img_size=28"}, nil, `metadata "config" is not a JSON object`},
		{"config a list", map[string]string{"config": "[1]"}, nil, `metadata "config" is not a JSON object`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromFile(modified(t, tc.meta, tc.cfg), LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.frag) || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error %v, want one line containing %q", err, tc.frag)
			}
		})
	}
}

// TestMetadataWarnings checks that a metadata value that cannot be used is
// only a warning when the model does not need it: an option overrides it,
// the tensors tell, or nothing depends on it.
func TestMetadataWarnings(t *testing.T) {
	tests := []struct {
		name string
		meta map[string]string
		cfg  map[string]any
		opt  LoadOptions
		frag string
	}{
		{"mean garbage, mean given", map[string]string{"mean": "zero point one"}, nil, LoadOptions{Mean: []float64{0.5}},
			`metadata "mean" "zero point one": "zero point one" is not a finite number: ignored (overridden)`},
		{"std 0, std given", map[string]string{"std": "0"}, nil, LoadOptions{Std: []float64{0.5}}, `metadata "std" "0": 0 is not positive: ignored (overridden)`},
		{"image 0x0, size given", nil, map[string]any{"img_size": []int{0, 0}}, LoadOptions{ImgH: 28, ImgW: 28}, `"img_size" [0,0]: sides must be in [1, 32768]: ignored (image size given)`},
		{"stride garbage, stride given", nil, map[string]any{"stride": "four"}, LoadOptions{Stride: 4}, `"stride" "four": "four" is not an integer: ignored (stride given)`},
		{"eps garbage", nil, map[string]any{"norm_epsilon": "tiny"}, LoadOptions{}, `"norm_epsilon" "tiny": "tiny" is not a finite number: ignored (norm epsilon 1e-5, the official value)`},
		{"eps 0, eps given", nil, map[string]any{"norm_epsilon": 0}, LoadOptions{Eps: 1e-6}, `"norm_epsilon" 0: want one number in (0, 1): ignored (overridden)`},
		{"dim garbage", nil, map[string]any{"embed_dim": "sixty-four"}, LoadOptions{}, `"embed_dim" "sixty-four": "sixty-four" is not an integer: ignored (the tensors give embed_dim)`},
		{"depth garbage", nil, map[string]any{"depth": []any{true}}, LoadOptions{}, `"depth" [true]: list element true is not a number or a string: ignored (the tensors give the depth)`},
		{"class names count", map[string]string{"class_names": `["a","b"]`}, nil, LoadOptions{}, `metadata "class_names" "[\"a\",\"b\"]": 2 names for the 10 classes of head.weight: ignored`},
		{"class names garbage", map[string]string{"class_names": `a, b`}, nil, LoadOptions{}, `metadata "class_names" "a, b": want a JSON list of names`},
		{"cls garbage", map[string]string{"cls_position": "middle"}, nil, LoadOptions{}, `metadata "cls_position" "middle": "middle" is not an integer: ignored`},
		{"switch garbage", nil, map[string]any{"if_rope": "maybe"}, LoadOptions{}, `"if_rope" "maybe": want true or false: ignored`},
		{"config garbage, geometry given", map[string]string{"config": "{"}, nil, LoadOptions{ImgH: 28, ImgW: 28, Stride: 4},
			`metadata "config" is not a JSON object: ignored (image size and stride given)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var warnings []string
			tc.opt.Warn = func(m string) { warnings = append(warnings, m) }
			if _, err := FromFile(modified(t, tc.meta, tc.cfg), tc.opt); err != nil {
				t.Fatalf("refused: %v", err)
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], tc.frag) || strings.ContainsAny(warnings[0], "\n\r") {
				t.Fatalf("warnings %q, want one line containing %q", warnings, tc.frag)
			}
		})
	}
}

// TestLoadOptionsOverride checks that options replace what the metadata
// says, for checkpoints and presets alike, and that Load prefixes warnings
// with the file.
func TestLoadOptionsOverride(t *testing.T) {
	f := fmnistFile(t)
	f.Metadata["mean"] = "0.1307"
	opt := LoadOptions{Mean: []float64{0.5}, Std: []float64{0.25}, Eps: 1e-6, ClassNames: strings.Split("abcdefghij", "")}
	c, err := InferConfig(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	if c.Mean[0] != 0.5 || c.Std[0] != 0.25 || c.Eps != 1e-6 || c.ClassNames[3] != "d" {
		t.Errorf("overrides not applied: %+v", c)
	}
	p, err := LoadConfig("vim-ti", LoadOptions{Mean: []float64{0.5}, Std: []float64{1, 2, 3}})
	if err != nil || p.Mean[0] != 0.5 || p.Std[2] != 3 {
		t.Errorf("preset overrides: %+v %v", p, err)
	}
	for _, tc := range []struct {
		opt    LoadOptions
		option string
		msg    string
	}{
		{LoadOptions{Std: []float64{1, 2}}, "Std", "model vim-ti: given std [1 2]: 2 values, want 1 or 3 (one per channel)"},
		{LoadOptions{Mean: []float64{math.NaN()}}, "Mean", "model vim-ti: given mean [NaN]: NaN is not a finite number"},
		{LoadOptions{Std: []float64{0}}, "Std", "model vim-ti: given std [0]: 0 is not a finite positive number"},
		{LoadOptions{Eps: 2}, "Eps", "model vim-ti: given eps 2: want a number in (0, 1)"},
		{LoadOptions{ClassNames: []string{"a"}}, "ClassNames", "model vim-ti: given classnames (1): want 1000, one per class"},
	} {
		_, err := LoadConfig("vim-ti", tc.opt)
		var oe *OptionError
		if err == nil || err.Error() != tc.msg || !errors.As(err, &oe) || oe.Option != tc.option {
			t.Errorf("%+v: %v, want %s as an OptionError for %s", tc.opt, err, tc.msg, tc.option)
		}
	}
	if _, err := InferConfig(fmnistFile(t), LoadOptions{Mean: []float64{1, 2, 3}}); err == nil ||
		err.Error() != "given mean [1 2 3]: 3 values, want 1 (the model has one channel)" {
		t.Errorf("3 means for 1 channel: %v", err)
	}
	// Through Load, warnings name the file.
	f = fmnistFile(t)
	f.Metadata["mean"] = "zero"
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := ckpt.WriteSafetensors(path, f); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	if _, err := Load(path, LoadOptions{Mean: []float64{0.3}, Warn: func(m string) { warnings = append(warnings, m) }}); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], path+`: metadata "mean" "zero"`) {
		t.Errorf("warnings %q", warnings)
	}
	if _, err := Load(path, LoadOptions{}); err == nil || !strings.HasPrefix(err.Error(), "load "+path+`: metadata "mean" "zero"`) {
		t.Errorf("without --mean: %v", err)
	}
}

// TestTensorErrorsNameTheCulprit checks the errors for tensors that are
// missing, renamed, of the wrong shape or from another model: the most
// likely cause first, on one line.
func TestTensorErrorsNameTheCulprit(t *testing.T) {
	dropAll := func(f *ckpt.File, prefix string) {
		var keep []ckpt.Tensor
		for _, t := range f.Tensors {
			if !strings.HasPrefix(t.Name, prefix) {
				keep = append(keep, t)
			}
		}
		f.Tensors = keep
	}
	rename := func(f *ckpt.File, from, to string) {
		t, _ := f.Get(from)
		t.Name = to
	}
	tests := []struct {
		name string
		mod  func(f *ckpt.File)
		frag string
	}{
		{"block removed", func(f *ckpt.File) { dropAll(f, "layers.2.") },
			`layers.2.* missing: the checkpoint has blocks 0-1, 3 (metadata config "depth" 4)`},
		{"block removed, no depth", func(f *ckpt.File) {
			dropAll(f, "layers.1.")
			setConfig(t, f, map[string]any{"depth": nil})
		}, `layers.1.* missing: the checkpoint has blocks 0, 2-3`},
		{"two blocks removed", func(f *ckpt.File) { dropAll(f, "layers.1."); dropAll(f, "layers.2.") },
			`blocks 1-2 (layers.1.* …) missing: the checkpoint has blocks 0, 3`},
		{"last blocks removed", func(f *ckpt.File) { dropAll(f, "layers.3.") }, `layers.3.* missing: the checkpoint has blocks 0-2 (metadata config "depth" 4)`},
		{"all blocks removed", func(f *ckpt.File) { dropAll(f, "layers.") }, `no blocks: no layers.N.* tensor`},
		{"in_proj shape", func(f *ckpt.File) {
			tn, _ := f.Get("layers.0.mixer.in_proj.weight")
			tn.Shape = []int{200, 64}
			tn.Data = make([]float64, 200*64)
		}, `tensor layers.0.mixer.in_proj.weight: shape [200 64], want [256 64] = [2·d_inner, dim] with dim 64, d_inner 128 (from the other tensors)`},
		{"A_log shape", func(f *ckpt.File) {
			tn, _ := f.Get("layers.3.mixer.A_log")
			tn.Shape = []int{8, 128}
		}, `tensor layers.3.mixer.A_log: shape [8 128], want [128 8]`},
		{"patch kernel", func(f *ckpt.File) {
			tn, _ := f.Get("patch_embed.proj.weight")
			tn.Shape = []int{64, 1, 2, 8}
		}, `tensor patch_embed.proj.weight: shape [64 1 2 8]: the 2x8 kernel is not square`},
		{"renamed", func(f *ckpt.File) { rename(f, "layers.0.mixer.A_log", "layers.0.mixer.A_logx") },
			`missing tensor layers.0.mixer.A_log [128 8]; unexpected tensor layers.0.mixer.A_logx (renamed?)`},
		{"extra tensors", func(f *ckpt.File) {
			for _, n := range []string{"head_dist.weight", "head_dist.bias", "rope.freqs"} {
				f.Tensors = append(f.Tensors, ckpt.Tensor{Name: n, DType: "F32", Shape: []int{1}, Data: []float64{0}})
			}
		}, `unexpected tensor head_dist.bias (and 2 more: head_dist.weight, rope.freqs): not in the official Vim state_dict`},
		{"many missing", func(f *ckpt.File) { drop(f, "head.bias"); drop(f, "norm_f.weight"); drop(f, "layers.1.mixer.D") },
			`missing tensor head.bias [10] (and 2 more: layers.1.mixer.D [128], norm_f.weight [64])`},
		{"not a Vim", func(f *ckpt.File) {
			f.Tensors = []ckpt.Tensor{{Name: "conv1.weight", DType: "F32", Shape: []int{1}, Data: []float64{0}},
				{Name: "fc.weight", DType: "F32", Shape: []int{1}, Data: []float64{0}}}
		}, `not a Vim checkpoint: no patch_embed.proj.weight and no layers.N.* tensors (it has 2 tensors: conv1.weight, fc.weight …)`},
		{"pos_embed tokens", func(f *ckpt.File) {
			tn, _ := f.Get("pos_embed")
			tn.Shape = []int{1, 38, 64}
			tn.Data = make([]float64, 38*64)
			setConfig(t, f, map[string]any{"img_size": nil})
		}, `pos_embed has 38 tokens: 37 patches is not a square grid`},
		{"pos_embed tokens vs image", func(f *ckpt.File) {
			tn, _ := f.Get("pos_embed")
			tn.Shape = []int{1, 37, 64}
			tn.Data = make([]float64, 37*64)
		}, `pos_embed has 37 tokens but a 28x28 image with patch 4 stride 4 gives 50`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fmnistFile(t)
			tc.mod(f)
			_, err := FromFile(f, LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.frag) || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error %v, want one line containing %q", err, tc.frag)
			}
		})
	}
}

// TestWrapperPrefix loads a state_dict saved from a wrapped model
// (DistributedDataParallel's "module.").
func TestWrapperPrefix(t *testing.T) {
	f := fmnistFile(t)
	want, err := FromFile(f, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Tensors {
		f.Tensors[i].Name = "module." + f.Tensors[i].Name
	}
	got, err := FromFile(f, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Layers[2].InProj, want.Layers[2].InProj) || got.Config.Dim != want.Config.Dim {
		t.Error("prefixed checkpoint loads differently")
	}
	// A prefix on only some tensors is not a wrapper.
	f = fmnistFile(t)
	f.Tensors[0].Name = "module." + f.Tensors[0].Name
	if _, err := FromFile(f, LoadOptions{}); err == nil {
		t.Error("partly prefixed checkpoint accepted")
	}
}

// TestLoadNonCheckpoints checks that files that are not checkpoints are
// named as such, whatever their extension.
func TestLoadNonCheckpoints(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
		frag string
	}{
		{"notes.safetensors", []byte("hello, this is not a checkpoint\n"), `not a checkpoint (safetensors or PyTorch zip): it starts with text "hello, this is n"`},
		{"model.pth", []byte("\x89PNG\r\n\x1a\n0000000000"), "not a checkpoint (safetensors or PyTorch zip): it is a PNG image"},
		{"empty.pt", nil, "not a checkpoint (safetensors or PyTorch zip): the file is empty"},
		{"zip.pth", []byte("PK\x03\x04 truncated"), "pth: truncated or corrupt zip archive"},
		{"dir.safetensors", nil, "a directory, not a checkpoint file"},
		{"absent.pth", nil, "model " + filepath.Join(dir, "absent.pth") + ": no such file"},
	} {
		path := filepath.Join(dir, tc.name)
		switch tc.name {
		case "dir.safetensors":
			os.Mkdir(path, 0o755)
		case "absent.pth":
		default:
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := Load(path, LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.frag) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line naming the file and containing %q", tc.name, err, tc.frag)
		}
	}
}

// FuzzInferConfigMetadata feeds arbitrary metadata to the loader: it must
// never panic, errors and warnings are one line, and an accepted config is
// valid.
func FuzzInferConfigMetadata(f *testing.F) {
	base := fmnistFile(f)
	f.Add(base.Metadata["config"], "0.1307", `["0.3"]`, `["a"]`, "24")
	f.Add(`{"img_size": "28x28", "stride": [4, 4], "norm_epsilon": "1e-5"}`, "(0.5,)", "0.5,0.5", `{"0": "x"}`, "999")
	f.Add(`"{\"img_size\": 28}"`, "[[1]]", "NaN", `"[\"a\"]"`, "")
	f.Add(`{"img_size": [0, 0], "patch_size": 0, "depth": 1e400}`, "1e309", "-1", "[]", "24.0")
	f.Fuzz(func(t *testing.T, config, mean, std, names, cls string) {
		fl := &ckpt.File{Tensors: base.Tensors, Metadata: map[string]string{
			"config": config, "mean": mean, "std": std, "class_names": names, "cls_position": cls}}
		var warnings []string
		c, err := InferConfig(fl, LoadOptions{Warn: func(m string) { warnings = append(warnings, m) }})
		for _, w := range warnings {
			if strings.ContainsAny(w, "\n\r") {
				t.Fatalf("multi-line warning %q", w)
			}
		}
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
	})
}

// FuzzFromSafetensors loads arbitrary safetensors bytes as a model, seeded
// with a tiny valid checkpoint: never a panic, one-line errors, and an
// accepted model has a valid config and tensors of the official shapes.
func FuzzFromSafetensors(f *testing.F) {
	c := Config{Name: "tiny", ImgH: 4, ImgW: 4, Channels: 1, Patch: 2, Stride: 2, Dim: 4, Depth: 2, DInner: 8,
		DState: 2, DConv: 2, DtRank: 1, Classes: 3, Eps: 1e-5, Mean: []float64{0.5}, Std: []float64{0.25},
		ClassNames: []string{"a", "b", "c"}}
	m, err := Synthetic(c, 1)
	if err != nil {
		f.Fatal(err)
	}
	b, err := ckpt.EncodeSafetensors(m.ToFile())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := ckpt.ParseSafetensors(b)
		if err != nil {
			return
		}
		m, err := FromFile(file, LoadOptions{Warn: func(string) {}})
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if err := m.Config.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
		if len(m.Layers) != m.Config.Depth || len(m.PosEmbed) != m.Config.Tokens()*m.Config.Dim {
			t.Fatal("tensors do not match the config")
		}
	})
}
