package vim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/vimsim/vimsim/models"
	"github.com/vimsim/vimsim/vim/ckpt"
)

// DefaultModel is the model every command uses when none is named: the
// Fashion-MNIST Vim embedded in the binary.
const DefaultModel = "vim-fmnist"

// LoadOptions refine what a checkpoint cannot tell.
type LoadOptions struct {
	ImgH, ImgW int    // input size; 0 = from the checkpoint metadata, else a square image
	Stride     int    // patch-embedding stride; 0 = from metadata, else the patch size
	Seed       uint64 // seed of the synthetic weights of a preset
}

// Load returns the model named by spec: an embedded model (vim-fmnist), a
// preset (vim-ti, vim-s, vim-b, …) with seeded synthetic weights, or the path
// of a checkpoint (.safetensors, or a PyTorch .pth/.pt zip).
func Load(spec string, opt LoadOptions) (*Model, error) {
	if spec == "" {
		spec = DefaultModel
	}
	if b, ok := models.Lookup(spec); ok {
		f, err := ckpt.ParseSafetensors(b)
		if err != nil {
			return nil, fmt.Errorf("embedded model %s: %w", spec, err)
		}
		m, err := FromFile(f, opt)
		if err != nil {
			return nil, fmt.Errorf("embedded model %s: %w", spec, err)
		}
		m.Config.Name = spec
		return m, nil
	}
	if cfg, err := Preset(spec); err == nil {
		if cfg, err = applyImage(cfg, opt); err != nil {
			return nil, fmt.Errorf("model %s: %w", spec, err)
		}
		return Synthetic(cfg, opt.Seed)
	}
	if _, err := os.Stat(spec); err != nil {
		if errors.Is(err, os.ErrNotExist) && !strings.ContainsAny(spec, `/\.`) {
			return nil, fmt.Errorf("unknown model %q: not an embedded model (%s), a preset (%s) or a file",
				spec, strings.Join(models.Names(), ", "), strings.Join(PresetNames(), ", "))
		}
		return nil, fmt.Errorf("model %s: %w", spec, err)
	}
	f, err := ckpt.Read(spec)
	if err != nil {
		return nil, err
	}
	m, err := FromFile(f, opt)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", spec, err)
	}
	return m, nil
}

// applyImage overrides the image size and stride of cfg with opt.
func applyImage(cfg Config, opt LoadOptions) (Config, error) {
	if opt.ImgH > 0 {
		cfg.ImgH, cfg.ImgW = opt.ImgH, opt.ImgW
	}
	if opt.Stride > 0 {
		cfg.Stride = opt.Stride
	}
	return cfg, cfg.Validate()
}

// metaConfig is the subset of the checkpoint "config" metadata vimsim reads.
type metaConfig struct {
	ImgSize json.RawMessage `json:"img_size"`
	Stride  int             `json:"stride"`
	Eps     float64         `json:"norm_epsilon"`
}

// imageFromMeta reads img_size (int or [h,w]) and stride from the metadata.
func imageFromMeta(meta map[string]string) (h, w, stride int, eps float64, err error) {
	s, ok := meta["config"]
	if !ok {
		return 0, 0, 0, 0, nil
	}
	var mc metaConfig
	if err := json.Unmarshal([]byte(s), &mc); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("metadata config: %w", err)
	}
	if len(mc.ImgSize) > 0 {
		var one int
		var two []int
		if json.Unmarshal(mc.ImgSize, &one) == nil {
			h, w = one, one
		} else if json.Unmarshal(mc.ImgSize, &two) == nil && len(two) == 2 {
			h, w = two[0], two[1]
		} else {
			return 0, 0, 0, 0, fmt.Errorf("metadata config: img_size %s is neither N nor [H,W]", mc.ImgSize)
		}
	}
	return h, w, mc.Stride, mc.Eps, nil
}

// floatList parses a JSON list of numbers from the metadata.
func floatList(meta map[string]string, key string) ([]float64, error) {
	s, ok := meta[key]
	if !ok {
		return nil, nil
	}
	var v []float64
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("metadata %s: %w", key, err)
	}
	return v, nil
}

// shapeOf returns the shape of a named tensor, or an error naming it.
func shapeOf(f *ckpt.File, name string, rank int) ([]int, error) {
	t, ok := f.Get(name)
	if !ok {
		return nil, fmt.Errorf("missing tensor %s", name)
	}
	if len(t.Shape) != rank {
		return nil, fmt.Errorf("tensor %s: shape %v, want rank %d", name, t.Shape, rank)
	}
	return t.Shape, nil
}

// InferConfig derives the model configuration from the tensor shapes of f,
// its metadata, and opt (for what the shapes cannot tell: image size, stride).
func InferConfig(f *ckpt.File, opt LoadOptions) (Config, error) {
	var c Config
	pw, err := shapeOf(f, "patch_embed.proj.weight", 4)
	if err != nil {
		return c, err
	}
	if pw[2] != pw[3] {
		return c, fmt.Errorf("tensor patch_embed.proj.weight: non-square kernel %v", pw)
	}
	c.Dim, c.Channels, c.Patch = pw[0], pw[1], pw[2]
	for {
		if _, ok := f.Get("layers." + strconv.Itoa(c.Depth) + ".norm.weight"); !ok {
			break
		}
		c.Depth++
	}
	if c.Depth == 0 {
		return c, errors.New("missing tensor layers.0.norm.weight (no blocks found)")
	}
	ip, err := shapeOf(f, "layers.0.mixer.in_proj.weight", 2)
	if err != nil {
		return c, err
	}
	if ip[0]%2 != 0 {
		return c, fmt.Errorf("tensor layers.0.mixer.in_proj.weight: odd output count %d", ip[0])
	}
	c.DInner = ip[0] / 2
	al, err := shapeOf(f, "layers.0.mixer.A_log", 2)
	if err != nil {
		return c, err
	}
	c.DState = al[1]
	dw, err := shapeOf(f, "layers.0.mixer.dt_proj.weight", 2)
	if err != nil {
		return c, err
	}
	c.DtRank = dw[1]
	cw, err := shapeOf(f, "layers.0.mixer.conv1d.weight", 3)
	if err != nil {
		return c, err
	}
	c.DConv = cw[2]
	hw, err := shapeOf(f, "head.weight", 2)
	if err != nil {
		return c, err
	}
	c.Classes = hw[0]
	pe, err := shapeOf(f, "pos_embed", 3)
	if err != nil {
		return c, err
	}
	tokens := pe[1]
	c.Eps = 1e-5

	mh, mw, ms, eps, err := imageFromMeta(f.Metadata)
	if err != nil {
		return c, err
	}
	if eps > 0 {
		c.Eps = eps
	}
	c.ImgH, c.ImgW, c.Stride = mh, mw, ms
	if opt.ImgH > 0 {
		c.ImgH, c.ImgW = opt.ImgH, opt.ImgW
	}
	if opt.Stride > 0 {
		c.Stride = opt.Stride
	}
	if c.Stride == 0 {
		c.Stride = c.Patch
	}
	if c.ImgH == 0 {
		// A square grid of tokens-1 patches.
		g := int(math.Round(math.Sqrt(float64(tokens - 1))))
		if g*g != tokens-1 {
			return c, fmt.Errorf("pos_embed has %d tokens: %d patches is not a square grid; give the image size (--img-size HxW)", tokens, tokens-1)
		}
		c.ImgH = (g-1)*c.Stride + c.Patch
		c.ImgW = c.ImgH
	}
	if c.Mean, err = floatList(f.Metadata, "mean"); err != nil {
		return c, err
	}
	if c.Std, err = floatList(f.Metadata, "std"); err != nil {
		return c, err
	}
	if s, ok := f.Metadata["class_names"]; ok {
		if err := json.Unmarshal([]byte(s), &c.ClassNames); err != nil {
			return c, fmt.Errorf("metadata class_names: %w", err)
		}
	}
	if c.Mean == nil && c.Channels == 3 {
		c.Mean, c.Std = append([]float64(nil), imagenetMean...), append([]float64(nil), imagenetStd...)
	}
	c.Name = "checkpoint"
	if err := c.Validate(); err != nil {
		return c, err
	}
	if c.Tokens() != tokens {
		return c, fmt.Errorf("pos_embed has %d tokens but a %dx%d image with patch %d stride %d gives %d; set --img-size/--stride",
			tokens, c.ImgH, c.ImgW, c.Patch, c.Stride, c.Tokens())
	}
	return c, nil
}

// tensorSpec names one expected tensor, its shape and where it goes.
type tensorSpec struct {
	name  string
	shape []int
	dst   *[]float64
}

// expected lists every tensor of the official state_dict for c, in official
// order (§4), bound to the fields of m.
func expected(c Config, m *Model) []tensorSpec {
	D, E, N, R, K, L := c.Dim, c.DInner, c.DState, c.DtRank, c.DConv, c.Tokens()
	specs := []tensorSpec{
		{"cls_token", []int{1, 1, D}, &m.ClsToken},
		{"pos_embed", []int{1, L, D}, &m.PosEmbed},
		{"patch_embed.proj.weight", []int{D, c.Channels, c.Patch, c.Patch}, &m.PatchW},
		{"patch_embed.proj.bias", []int{D}, &m.PatchB},
		{"head.weight", []int{c.Classes, D}, &m.HeadW},
		{"head.bias", []int{c.Classes}, &m.HeadB},
	}
	if len(m.Layers) != c.Depth {
		m.Layers = make([]Layer, c.Depth)
	}
	for i := range m.Layers {
		l := &m.Layers[i]
		p := "layers." + strconv.Itoa(i) + "."
		f, b := &l.Dir[Fwd], &l.Dir[Bwd]
		specs = append(specs,
			tensorSpec{p + "mixer.A_log", []int{E, N}, &f.ALog},
			tensorSpec{p + "mixer.D", []int{E}, &f.D},
			tensorSpec{p + "mixer.A_b_log", []int{E, N}, &b.ALog},
			tensorSpec{p + "mixer.D_b", []int{E}, &b.D},
			tensorSpec{p + "mixer.in_proj.weight", []int{2 * E, D}, &l.InProj},
			tensorSpec{p + "mixer.conv1d.weight", []int{E, 1, K}, &f.ConvW},
			tensorSpec{p + "mixer.conv1d.bias", []int{E}, &f.ConvB},
			tensorSpec{p + "mixer.x_proj.weight", []int{R + 2*N, E}, &f.XProj},
			tensorSpec{p + "mixer.dt_proj.weight", []int{E, R}, &f.DtW},
			tensorSpec{p + "mixer.dt_proj.bias", []int{E}, &f.DtB},
			tensorSpec{p + "mixer.conv1d_b.weight", []int{E, 1, K}, &b.ConvW},
			tensorSpec{p + "mixer.conv1d_b.bias", []int{E}, &b.ConvB},
			tensorSpec{p + "mixer.x_proj_b.weight", []int{R + 2*N, E}, &b.XProj},
			tensorSpec{p + "mixer.dt_proj_b.weight", []int{E, R}, &b.DtW},
			tensorSpec{p + "mixer.dt_proj_b.bias", []int{E}, &b.DtB},
			tensorSpec{p + "mixer.out_proj.weight", []int{D, E}, &l.OutProj},
			tensorSpec{p + "norm.weight", []int{D}, &l.Norm},
		)
	}
	return append(specs, tensorSpec{"norm_f.weight", []int{D}, &m.NormF})
}

// StateDictNames lists the official state_dict names for c, in order.
func StateDictNames(c Config) []string {
	var m Model
	specs := expected(c, &m)
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.name
	}
	return names
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FromFile builds a model from the tensors of a checkpoint: the config is
// inferred (InferConfig), every official tensor must be present with its
// exact shape and finite values, and no other tensor may be present.
func FromFile(f *ckpt.File, opt LoadOptions) (*Model, error) {
	cfg, err := InferConfig(f, opt)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg}
	specs := expected(cfg, m)
	known := make(map[string]bool, len(specs))
	for _, s := range specs {
		known[s.name] = true
		t, ok := f.Get(s.name)
		if !ok {
			return nil, fmt.Errorf("missing tensor %s (shape %v)", s.name, s.shape)
		}
		if !sameShape(t.Shape, s.shape) {
			return nil, fmt.Errorf("tensor %s: shape %v, want %v", s.name, t.Shape, s.shape)
		}
		for _, v := range t.Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("tensor %s: non-finite value %v", s.name, v)
			}
		}
		*s.dst = append([]float64(nil), t.Data...)
	}
	var extra []string
	for _, t := range f.Tensors {
		if !known[t.Name] {
			extra = append(extra, t.Name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		more := ""
		if len(extra) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(extra)-1)
		}
		return nil, fmt.Errorf("unexpected tensor %s%s", extra[0], more)
	}
	return m, nil
}

// ToFile returns the model's tensors under the official names and order, as
// F32 (the official dtype), with the config in the metadata.
func (m *Model) ToFile() *ckpt.File {
	c := m.Config
	f := &ckpt.File{Metadata: map[string]string{}}
	for _, s := range expected(c, m) {
		f.Tensors = append(f.Tensors, ckpt.Tensor{Name: s.name, DType: "F32", Shape: s.shape, Data: *s.dst})
	}
	meta, _ := json.Marshal(map[string]any{
		"img_size": []int{c.ImgH, c.ImgW}, "patch_size": c.Patch, "stride": c.Stride,
		"embed_dim": c.Dim, "depth": c.Depth, "d_state": c.DState, "d_conv": c.DConv,
		"d_inner": c.DInner, "dt_rank": c.DtRank, "channels": c.Channels,
		"num_classes": c.Classes, "norm_epsilon": c.Eps,
	})
	f.Metadata["config"] = string(meta)
	for key, v := range map[string]any{"mean": c.Mean, "std": c.Std, "class_names": c.ClassNames} {
		if b, _ := json.Marshal(v); string(b) != "null" {
			f.Metadata[key] = string(b)
		}
	}
	return f
}

// LoadConfig returns the configuration of the model spec names (see Load),
// without drawing synthetic weights for a preset.
func LoadConfig(spec string, opt LoadOptions) (Config, error) {
	if cfg, err := Preset(spec); err == nil {
		if cfg, err = applyImage(cfg, opt); err != nil {
			return Config{}, fmt.Errorf("model %s: %w", spec, err)
		}
		return cfg, nil
	}
	m, err := Load(spec, opt)
	if err != nil {
		return Config{}, err
	}
	return m.Config, nil
}
