package vim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vimsim/vimsim/models"
	"github.com/vimsim/vimsim/vim/ckpt"
)

// DefaultModel is the model every command uses when none is named: the
// Fashion-MNIST Vim embedded in the binary.
const DefaultModel = "vim-fmnist"

// LoadOptions refine what a checkpoint cannot tell and override what its
// metadata says. A metadata value that cannot be used is an error when the
// model needs it (image size, stride, mean, std) and no option gives it;
// otherwise — an option overrides it, a safe default exists (norm epsilon
// 1e-5), or the tensors already tell (the architecture sizes) or nothing
// depends on it (class names) — it is reported through Warn and ignored.
// A usable metadata value that contradicts the tensors or what vimsim
// implements (patch_size 0, a cls position other than the middle, depth 4
// for three blocks) is an error naming the file and the field.
type LoadOptions struct {
	ImgH, ImgW int    // input size; 0 = from the checkpoint metadata, else a square image
	Stride     int    // patch-embedding stride; 0 = from metadata, else the patch size
	Seed       uint64 // seed of the synthetic weights of a preset
	// Mean and Std replace the preprocessing normalisation (one value
	// for every channel, or one per channel); nil keeps the metadata's.
	Mean, Std []float64
	// Eps replaces the RMSNorm epsilon; 0 keeps the metadata's (else 1e-5).
	Eps float64
	// ClassNames replace the class names; nil keeps the metadata's.
	ClassNames []string
	// Warn, when not nil, receives one line per metadata value that was
	// ignored (the Load of a file prefixes the file name). The library
	// never prints.
	Warn func(msg string)
}

func (opt LoadOptions) warn(format string, args ...any) {
	if opt.Warn != nil {
		opt.Warn(fmt.Sprintf(format, args...))
	}
}

// Load returns the model named by spec: an embedded model (vim-fmnist), a
// preset (vim-ti, vim-s, vim-b, …) with seeded synthetic weights, or the path
// of a checkpoint (.safetensors, or a PyTorch .pth/.pt zip). Options apply
// to all three.
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
		if cfg, err = applyOptions(cfg, opt); err != nil {
			return nil, fmt.Errorf("model %s: %w", spec, err)
		}
		return Synthetic(cfg, opt.Seed)
	}
	if _, err := os.Stat(spec); err != nil {
		if errors.Is(err, os.ErrNotExist) && !strings.ContainsAny(spec, `/\.`) {
			return nil, fmt.Errorf("unknown model %q: not an embedded model (%s), a preset (%s) or a file",
				spec, strings.Join(models.Names(), ", "), strings.Join(PresetNames(), ", "))
		}
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("model %s: no such file", spec)
		}
		return nil, fmt.Errorf("model %s: %w", spec, err)
	}
	f, err := ckpt.Read(spec)
	if err != nil {
		return nil, err
	}
	if w := opt.Warn; w != nil {
		opt.Warn = func(msg string) { w(spec + ": " + msg) }
	}
	m, err := FromFile(f, opt)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", spec, err)
	}
	return m, nil
}

// OptionError reports a LoadOptions value that does not fit the model (a
// caller can name its flag from Option).
type OptionError struct {
	Option string // "Mean", "Std", "Eps" or "ClassNames"
	Msg    string
}

func (e *OptionError) Error() string { return "given " + strings.ToLower(e.Option) + " " + e.Msg }

// checkOptions checks the values of opt that do not depend on the image
// geometry against cfg.
func checkOptions(cfg Config, opt LoadOptions) error {
	for _, o := range []struct {
		name     string
		v        []float64
		positive bool
	}{{"Mean", opt.Mean, false}, {"Std", opt.Std, true}} {
		if o.v == nil {
			continue
		}
		if len(o.v) != 1 && len(o.v) != cfg.Channels {
			want := fmt.Sprintf("1 or %d (one per channel)", cfg.Channels)
			if cfg.Channels == 1 {
				want = "1 (the model has one channel)"
			}
			return &OptionError{o.name, fmt.Sprintf("%v: %d values, want %s", o.v, len(o.v), want)}
		}
		for _, x := range o.v {
			if math.IsNaN(x) || math.IsInf(x, 0) || o.positive && !(x > 0) {
				return &OptionError{o.name, fmt.Sprintf("%v: %g is not a finite%s number", o.v, x, map[bool]string{true: " positive"}[o.positive])}
			}
		}
	}
	if opt.Eps != 0 && !(opt.Eps > 0 && opt.Eps < 1) {
		return &OptionError{"Eps", fmt.Sprintf("%g: want a number in (0, 1)", opt.Eps)}
	}
	if opt.ClassNames != nil && len(opt.ClassNames) != cfg.Classes {
		return &OptionError{"ClassNames", fmt.Sprintf("(%d): want %d, one per class", len(opt.ClassNames), cfg.Classes)}
	}
	return nil
}

// applyOptions overrides the image size, stride, epsilon, normalisation
// and class names of cfg with those opt gives.
func applyOptions(cfg Config, opt LoadOptions) (Config, error) {
	if err := checkOptions(cfg, opt); err != nil {
		return cfg, err
	}
	if opt.ImgH > 0 {
		cfg.ImgH, cfg.ImgW = opt.ImgH, opt.ImgW
	}
	if opt.Stride > 0 {
		cfg.Stride = opt.Stride
	}
	if opt.Eps != 0 {
		cfg.Eps = opt.Eps
	}
	if opt.Mean != nil {
		cfg.Mean = append([]float64(nil), opt.Mean...)
	}
	if opt.Std != nil {
		cfg.Std = append([]float64(nil), opt.Std...)
	}
	if opt.ClassNames != nil {
		cfg.ClassNames = append([]string(nil), opt.ClassNames...)
	}
	return cfg, cfg.Validate()
}

// canonicalNames returns f without the name prefix that training code adds
// to a state_dict (DistributedDataParallel's "module.", wrappers'
// "model.", …) when every tensor has the same one.
func canonicalNames(f *ckpt.File) *ckpt.File {
	const anchor = "patch_embed.proj.weight"
	if _, ok := f.Get(anchor); ok {
		return f
	}
	prefix := ""
	for _, t := range f.Tensors {
		if strings.HasSuffix(t.Name, "."+anchor) {
			prefix = strings.TrimSuffix(t.Name, anchor)
			break
		}
	}
	if prefix == "" {
		return f
	}
	for _, t := range f.Tensors {
		if !strings.HasPrefix(t.Name, prefix) {
			return f
		}
	}
	g := &ckpt.File{Tensors: make([]ckpt.Tensor, len(f.Tensors)), Metadata: f.Metadata}
	for i, t := range f.Tensors {
		t.Name = strings.TrimPrefix(t.Name, prefix)
		g.Tensors[i] = t
	}
	return g
}

// vote collects the sizes of one dimension that the tensors carrying it
// show; the most common wins (the first seen among equals), so one wrong
// tensor is blamed on itself rather than on the tensors checked after it.
type vote struct {
	name   string   // the dimension, as errors name it
	first  string   // the first tensor that would carry it
	values []int    // in order of appearance
	from   []string // tensor and axis of each value
}

// add records axis ax of tensor name (when present with the given rank),
// divided by div (when it divides).
func (v *vote) add(f *ckpt.File, name string, rank, ax, div int) {
	if v.first == "" {
		v.first = name
	}
	t, ok := f.Get(name)
	if !ok || len(t.Shape) != rank || t.Shape[ax]%div != 0 {
		return
	}
	v.values = append(v.values, t.Shape[ax]/div)
	v.from = append(v.from, fmt.Sprintf("%s[%d]", name, ax))
}

// winner returns the most common value.
func (v *vote) winner() (int, error) {
	if len(v.values) == 0 {
		return 0, fmt.Errorf("missing tensor %s", v.first)
	}
	count := map[int]int{}
	best := v.values[0]
	for _, x := range v.values {
		count[x]++
		if count[x] > count[best] {
			best = x
		}
	}
	return best, nil
}

// where names the tensor axis a value of the winner came from.
func (v *vote) where(x int) string {
	for i, y := range v.values {
		if y == x {
			return v.from[i]
		}
	}
	return v.first
}

// blockIndices returns the sorted block indices i of the "layers.i."
// tensors of f (at most maxDepth; larger indices are left to the
// unexpected-tensor check).
func blockIndices(f *ckpt.File) []int {
	seen := map[int]bool{}
	for _, t := range f.Tensors {
		rest, ok := strings.CutPrefix(t.Name, "layers.")
		if !ok {
			continue
		}
		num, _, ok := strings.Cut(rest, ".")
		i, err := strconv.Atoi(num)
		if !ok || err != nil || i < 0 || i >= maxDepth || strconv.Itoa(i) != num {
			continue
		}
		seen[i] = true
	}
	idx := make([]int, 0, len(seen))
	for i := range seen {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	return idx
}

// ranges formats sorted integers compactly: "0-1, 3, 5-23".
func ranges(xs []int) string {
	var parts []string
	for i := 0; i < len(xs); {
		j := i
		for j+1 < len(xs) && xs[j+1] == xs[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(xs[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", xs[i], xs[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// inferDepth returns the number of blocks: one more than the largest block
// index, every index below it present and, if the metadata states a depth,
// equal to it.
func inferDepth(f *ckpt.File, md metadata, opt LoadOptions) (int, error) {
	idx := blockIndices(f)
	depth := 0
	if len(idx) > 0 {
		depth = idx[len(idx)-1] + 1
	}
	meta, mv, ok, err := md.intsOf("depth")
	if err != nil && !usable(err) {
		return 0, err
	}
	if err != nil {
		opt.warn("%v: ignored (the tensors give the depth)", err)
		ok = false
	}
	if ok && (len(meta) != 1 || meta[0] <= 0 || meta[0] > maxDepth) {
		return 0, fmt.Errorf("%s: want a block count in [1, %d]", mv, maxDepth)
	}
	if len(idx) == 0 {
		return 0, errors.New("no blocks: no layers.N.* tensor")
	}
	want := depth
	if ok {
		want = meta[0]
	}
	var missing []int
	for i, j := 0, 0; i < max(want, depth); i++ {
		if j < len(idx) && idx[j] == i {
			j++
			continue
		}
		missing = append(missing, i)
	}
	if len(missing) > 0 {
		what := fmt.Sprintf("layers.%s.*", ranges(missing))
		if len(missing) > 1 {
			what = fmt.Sprintf("blocks %s (layers.%d.* …)", ranges(missing), missing[0])
		}
		stated := ""
		if ok {
			stated = fmt.Sprintf(" (%s)", mv)
		}
		return 0, fmt.Errorf("%s missing: the checkpoint has blocks %s%s", what, ranges(idx), stated)
	}
	if ok && meta[0] < depth {
		return 0, fmt.Errorf("%s, but the checkpoint has blocks %s", mv, ranges(idx))
	}
	return depth, nil
}

// InferConfig derives the model configuration from the tensor shapes of f,
// its metadata and opt (see LoadOptions).
func InferConfig(f *ckpt.File, opt LoadOptions) (Config, error) {
	f = canonicalNames(f)
	var c Config
	md, mdErr := readMetadata(f.Metadata)
	if mdErr != nil {
		if opt.ImgH == 0 || opt.Stride == 0 {
			return c, fmt.Errorf("%w; it may hold the image size and stride: give them, or fix the file", mdErr)
		}
		opt.warn("%v: ignored (image size and stride given)", mdErr)
		md = metadata{}
	}
	if _, ok := f.Get("patch_embed.proj.weight"); !ok && len(blockIndices(f)) == 0 {
		names := make([]string, 0, 3)
		for _, t := range f.Tensors {
			if len(names) == 3 {
				break
			}
			names = append(names, t.Name)
		}
		return c, fmt.Errorf("not a Vim checkpoint: no patch_embed.proj.weight and no layers.N.* tensors (it has %d tensors: %s …)",
			len(f.Tensors), strings.Join(names, ", "))
	}
	depth, err := inferDepth(f, md, opt)
	if err != nil {
		return c, err
	}
	c.Depth = depth

	// Every dimension by majority over the tensors that carry it.
	vD := &vote{name: "embed_dim"}
	vE := &vote{name: "d_inner"}
	vN := &vote{name: "d_state"}
	vR := &vote{name: "dt_rank"}
	vK := &vote{name: "d_conv"}
	vC := &vote{name: "channels"}
	vP := &vote{name: "patch_size"}
	vCls := &vote{name: "num_classes"}
	vL := &vote{name: "tokens"}
	vP.add(f, "patch_embed.proj.weight", 4, 2, 1)
	vP.add(f, "patch_embed.proj.weight", 4, 3, 1)
	vC.add(f, "patch_embed.proj.weight", 4, 1, 1)
	vD.add(f, "patch_embed.proj.weight", 4, 0, 1)
	vD.add(f, "patch_embed.proj.bias", 1, 0, 1)
	vD.add(f, "cls_token", 3, 2, 1)
	vD.add(f, "pos_embed", 3, 2, 1)
	vL.add(f, "pos_embed", 3, 1, 1)
	vD.add(f, "norm_f.weight", 1, 0, 1)
	vD.add(f, "head.weight", 2, 1, 1)
	vCls.add(f, "head.weight", 2, 0, 1)
	vCls.add(f, "head.bias", 1, 0, 1)
	for i := 0; i < c.Depth; i++ {
		p := "layers." + strconv.Itoa(i) + "."
		m := p + "mixer."
		vD.add(f, p+"norm.weight", 1, 0, 1)
		vD.add(f, m+"in_proj.weight", 2, 1, 1)
		vE.add(f, m+"in_proj.weight", 2, 0, 2)
		vD.add(f, m+"out_proj.weight", 2, 0, 1)
		vE.add(f, m+"out_proj.weight", 2, 1, 1)
		for _, d := range []string{"", "_b"} {
			vE.add(f, m+"conv1d"+d+".weight", 3, 0, 1)
			vK.add(f, m+"conv1d"+d+".weight", 3, 2, 1)
			vE.add(f, m+"conv1d"+d+".bias", 1, 0, 1)
			vE.add(f, m+"x_proj"+d+".weight", 2, 1, 1)
			vE.add(f, m+"dt_proj"+d+".weight", 2, 0, 1)
			vR.add(f, m+"dt_proj"+d+".weight", 2, 1, 1)
			vE.add(f, m+"dt_proj"+d+".bias", 1, 0, 1)
		}
		vE.add(f, m+"A_log", 2, 0, 1)
		vN.add(f, m+"A_log", 2, 1, 1)
		vE.add(f, m+"A_b_log", 2, 0, 1)
		vN.add(f, m+"A_b_log", 2, 1, 1)
		vE.add(f, m+"D", 1, 0, 1)
		vE.add(f, m+"D_b", 1, 0, 1)
	}
	for _, d := range []struct {
		v   *vote
		dst *int
	}{{vP, &c.Patch}, {vC, &c.Channels}, {vD, &c.Dim}, {vE, &c.DInner}, {vN, &c.DState},
		{vR, &c.DtRank}, {vK, &c.DConv}, {vCls, &c.Classes}} {
		if *d.dst, err = d.v.winner(); err != nil {
			return c, err
		}
	}
	tokens, err := vL.winner()
	if err != nil {
		return c, err
	}
	if pw, _ := f.Get("patch_embed.proj.weight"); len(pw.Shape) == 4 && pw.Shape[2] != pw.Shape[3] {
		return c, fmt.Errorf("tensor patch_embed.proj.weight: shape %v: the %dx%d kernel is not square", pw.Shape, pw.Shape[2], pw.Shape[3])
	}
	if err := checkArchMeta(c, md, opt, map[string]*vote{"patch_size": vP, "channels": vC, "embed_dim": vD,
		"d_inner": vE, "d_state": vN, "dt_rank": vR, "d_conv": vK, "num_classes": vCls}); err != nil {
		return c, err
	}

	if err := imageGeometry(&c, md, opt, tokens); err != nil {
		return c, err
	}
	// RMSNorm epsilon: every official Vim uses 1e-5, a safe default for
	// an unreadable value; a readable but impossible one is refused.
	c.Eps = 1e-5
	eps, mv, ok, err := md.floatsOf("norm_eps")
	if err == nil && ok && (len(eps) != 1 || !(eps[0] > 0 && eps[0] < 1)) {
		err = conflict{fmt.Errorf("%s: want one number in (0, 1)", mv)}
	}
	switch {
	case err != nil && opt.Eps != 0:
		opt.warn("%v: ignored (overridden)", err)
	case err != nil && !usable(err):
		return c, err
	case err != nil:
		opt.warn("%v: ignored (norm epsilon 1e-5, the official value)", err)
	case ok:
		c.Eps = eps[0]
	}
	for _, n := range []struct {
		field string
		dst   *[]float64
		opt   []float64
		pos   bool
	}{{"mean", &c.Mean, opt.Mean, false}, {"std", &c.Std, opt.Std, true}} {
		v, mv, ok, err := md.floatsOf(n.field)
		if err == nil && ok {
			err = checkChannelValues(mv, v, c.Channels, n.pos)
		}
		switch {
		case err != nil && n.opt == nil:
			return c, err
		case err != nil:
			opt.warn("%v: ignored (overridden)", err)
		case ok:
			*n.dst = v
		}
	}
	if c.Mean == nil && c.Std == nil && c.Channels == 3 {
		c.Mean, c.Std = append([]float64(nil), imagenetMean...), append([]float64(nil), imagenetStd...)
	}
	for _, mv := range md["class_names"] {
		names, err := mv.names()
		switch {
		case err != nil:
			opt.warn("%v: ignored", err)
		case len(names) != c.Classes:
			opt.warn("%s: %d names for the %d classes of head.weight: ignored", mv, len(names), c.Classes)
		default:
			c.ClassNames = names
		}
	}
	c.Name = "checkpoint"
	if c, err = applyOptions(c, opt); err != nil {
		return c, err
	}
	if c.Tokens() != tokens {
		return c, fmt.Errorf("pos_embed has %d tokens but a %dx%d image with patch %d stride %d gives %d; set --img-size/--stride",
			tokens, c.ImgH, c.ImgW, c.Patch, c.Stride, c.Tokens())
	}
	return c, checkSwitches(c, md, opt)
}

// checkChannelValues checks a mean or std list: one value or one per
// channel, and positive for a std.
func checkChannelValues(mv metaValue, v []float64, channels int, positive bool) error {
	if len(v) != 1 && len(v) != channels {
		want := fmt.Sprintf("1 or %d (one per channel)", channels)
		if channels == 1 {
			want = "1 (the model has one channel)"
		}
		return fmt.Errorf("%s: %d values, want %s", mv, len(v), want)
	}
	for _, x := range v {
		if positive && !(x > 0) {
			return fmt.Errorf("%s: %g is not positive", mv, x)
		}
	}
	return nil
}

// checkArchMeta checks the architecture sizes the metadata states against
// the tensors: a value that cannot be read is ignored with a warning (the
// tensors tell), one that is out of range or differs is an error.
func checkArchMeta(c Config, md metadata, opt LoadOptions, votes map[string]*vote) error {
	fields := make([]string, 0, len(votes))
	for k := range votes {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	for _, field := range fields {
		v, mv, ok, err := md.intsOf(field)
		if err != nil && !usable(err) {
			return err
		}
		if err != nil && field == "dt_rank" && strings.EqualFold(mv.str(), "auto") {
			continue // Mamba's own spelling of ceil(embed_dim/16); the tensors give it
		}
		if err != nil {
			opt.warn("%v: ignored (the tensors give %s)", err, field)
			continue
		}
		if !ok {
			continue
		}
		if field == "patch_size" && len(v) == 2 && v[0] == v[1] {
			v = v[:1]
		}
		if len(v) != 1 || v[0] <= 0 {
			return fmt.Errorf("%s: want one positive integer", mv)
		}
		got, _ := votes[field].winner()
		if v[0] != got {
			return fmt.Errorf("%s, but %s is %d", mv, votes[field].where(got), got)
		}
	}
	if v, mv, ok, err := md.intsOf("expand"); err != nil && !usable(err) {
		return err
	} else if err != nil {
		opt.warn("%v: ignored (the tensors give d_inner)", err)
	} else if ok && (len(v) != 1 || v[0]*c.Dim != c.DInner) {
		return fmt.Errorf("%s, but d_inner/embed_dim is %d/%d", mv, c.DInner, c.Dim)
	}
	if v, mv, ok, err := md.intsOf("input_size"); err != nil && !usable(err) {
		return err
	} else if err != nil {
		opt.warn("%v: ignored", err)
	} else if ok && (len(v) != 3 || v[0] != c.Channels) {
		return fmt.Errorf("%s: want [channels, height, width] with %d channels", mv, c.Channels)
	}
	return nil
}

// imageGeometry sets the image size and stride of c from opt, else the
// metadata, else a square grid of the tokens of pos_embed with the stride
// equal to the patch.
func imageGeometry(c *Config, md metadata, opt LoadOptions, tokens int) error {
	// img_size: N, [H, W], "HxW"; timm's input_size [C, H, W].
	h, w := 0, 0
	v, mv, ok, err := md.intsOf("img_size")
	if !ok && err == nil {
		if v, mv, ok, err = md.intsOf("input_size"); ok && err == nil && len(v) == 3 {
			v = v[1:]
		}
	}
	if err == nil && ok {
		switch {
		case len(v) == 1:
			h, w = v[0], v[0]
		case len(v) == 2:
			h, w = v[0], v[1]
		default:
			err = fmt.Errorf("%s: want N, [H, W] or \"HxW\"", mv)
		}
		if err == nil && (h <= 0 || w <= 0 || h > maxImageSide || w > maxImageSide) {
			err = fmt.Errorf("%s: sides must be in [1, %d]", mv, maxImageSide)
		}
	}
	switch {
	case err != nil && opt.ImgH == 0:
		return fmt.Errorf("%w; give the image size (--img-size HxW)", err)
	case err != nil:
		opt.warn("%v: ignored (image size given)", err)
	case ok:
		c.ImgH, c.ImgW = h, w
	}
	s, mv, ok, err := md.intsOf("stride")
	if err == nil && ok {
		if len(s) == 2 && s[0] == s[1] {
			s = s[:1]
		}
		if len(s) != 1 || s[0] <= 0 || s[0] > c.Patch {
			err = fmt.Errorf("%s: want one integer in [1, patch_size %d]", mv, c.Patch)
		}
	}
	switch {
	case err != nil && opt.Stride == 0:
		return fmt.Errorf("%w; give the stride (--stride)", err)
	case err != nil:
		opt.warn("%v: ignored (stride given)", err)
	case ok:
		c.Stride = s[0]
	}
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
		if tokens < 2 || g*g != tokens-1 {
			return fmt.Errorf("pos_embed has %d tokens: %d patches is not a square grid; give the image size (--img-size HxW)", tokens, tokens-1)
		}
		c.ImgH = (g-1)*c.Stride + c.Patch
		c.ImgW = c.ImgH
	}
	return nil
}

// checkSwitches refuses metadata that asks for a variant of the official
// VisionMamba other than the one vimsim computes (vim-forward.md §1): a cls
// token at another position, no cls token, two, rotary embeddings, …
func checkSwitches(c Config, md metadata, opt LoadOptions) error {
	if v, mv, ok, err := md.intsOf("cls_pos"); err != nil && !usable(err) {
		return err
	} else if err != nil {
		opt.warn("%v: ignored", err)
	} else if ok && (len(v) != 1 || v[0] != c.ClsPos()) {
		return fmt.Errorf("%s: vimsim puts the cls token in the middle, at %d of %d tokens (patches/2)", mv, c.ClsPos(), c.Tokens())
	}
	for _, sw := range []struct {
		field string
		want  bool
	}{{"if_cls_token", true}, {"use_middle_cls_token", true}, {"use_double_cls_token", false}, {"if_abs_pos_embed", true},
		{"if_rope", false}, {"rms_norm", true}, {"if_divide_out", true}, {"if_bidirectional", false}} {
		for _, mv := range md[sw.field] {
			b, err := mv.bool()
			if err != nil {
				opt.warn("%v: ignored", err)
				continue
			}
			if b != sw.want {
				return fmt.Errorf("%s: vimsim computes the official Vim with %s=%t only (vim-forward.md §1)", mv, sw.field, sw.want)
			}
		}
	}
	for _, mv := range md["bimamba_type"] {
		if t := mv.str(); !strings.EqualFold(t, "v2") {
			return fmt.Errorf("%s: vimsim computes bimamba_type v2 only", mv)
		}
	}
	for _, mv := range md["flip_img_sequences_ratio"] {
		if v, err := mv.floats(); err == nil && len(v) == 1 && v[0] > 0 {
			opt.warn("%s: a training-time augmentation, ignored at inference", mv)
		}
	}
	return nil
}

// tensorSpec names one expected tensor, its shape (and how it follows from
// the config) and where it goes.
type tensorSpec struct {
	name  string
	shape []int
	dims  string // the shape in config terms
	dst   *[]float64
}

// expected lists every tensor of the official state_dict for c, in official
// order (§4), bound to the fields of m.
func expected(c Config, m *Model) []tensorSpec {
	D, E, N, R, K, L := c.Dim, c.DInner, c.DState, c.DtRank, c.DConv, c.Tokens()
	specs := []tensorSpec{
		{"cls_token", []int{1, 1, D}, "1, 1, dim", &m.ClsToken},
		{"pos_embed", []int{1, L, D}, "1, tokens, dim", &m.PosEmbed},
		{"patch_embed.proj.weight", []int{D, c.Channels, c.Patch, c.Patch}, "dim, channels, patch, patch", &m.PatchW},
		{"patch_embed.proj.bias", []int{D}, "dim", &m.PatchB},
		{"head.weight", []int{c.Classes, D}, "classes, dim", &m.HeadW},
		{"head.bias", []int{c.Classes}, "classes", &m.HeadB},
	}
	if len(m.Layers) != c.Depth {
		m.Layers = make([]Layer, c.Depth)
	}
	for i := range m.Layers {
		l := &m.Layers[i]
		p := "layers." + strconv.Itoa(i) + "."
		f, b := &l.Dir[Fwd], &l.Dir[Bwd]
		specs = append(specs,
			tensorSpec{p + "mixer.A_log", []int{E, N}, "d_inner, d_state", &f.ALog},
			tensorSpec{p + "mixer.D", []int{E}, "d_inner", &f.D},
			tensorSpec{p + "mixer.A_b_log", []int{E, N}, "d_inner, d_state", &b.ALog},
			tensorSpec{p + "mixer.D_b", []int{E}, "d_inner", &b.D},
			tensorSpec{p + "mixer.in_proj.weight", []int{2 * E, D}, "2·d_inner, dim", &l.InProj},
			tensorSpec{p + "mixer.conv1d.weight", []int{E, 1, K}, "d_inner, 1, d_conv", &f.ConvW},
			tensorSpec{p + "mixer.conv1d.bias", []int{E}, "d_inner", &f.ConvB},
			tensorSpec{p + "mixer.x_proj.weight", []int{R + 2*N, E}, "dt_rank + 2·d_state, d_inner", &f.XProj},
			tensorSpec{p + "mixer.dt_proj.weight", []int{E, R}, "d_inner, dt_rank", &f.DtW},
			tensorSpec{p + "mixer.dt_proj.bias", []int{E}, "d_inner", &f.DtB},
			tensorSpec{p + "mixer.conv1d_b.weight", []int{E, 1, K}, "d_inner, 1, d_conv", &b.ConvW},
			tensorSpec{p + "mixer.conv1d_b.bias", []int{E}, "d_inner", &b.ConvB},
			tensorSpec{p + "mixer.x_proj_b.weight", []int{R + 2*N, E}, "dt_rank + 2·d_state, d_inner", &b.XProj},
			tensorSpec{p + "mixer.dt_proj_b.weight", []int{E, R}, "d_inner, dt_rank", &b.DtW},
			tensorSpec{p + "mixer.dt_proj_b.bias", []int{E}, "d_inner", &b.DtB},
			tensorSpec{p + "mixer.out_proj.weight", []int{D, E}, "dim, d_inner", &l.OutProj},
			tensorSpec{p + "norm.weight", []int{D}, "dim", &l.Norm},
		)
	}
	return append(specs, tensorSpec{"norm_f.weight", []int{D}, "dim", &m.NormF})
}

// explain spells out the config sizes a shape description uses:
// "d_inner 384, dim 192".
func explain(c Config, dims string) string {
	var parts []string
	for _, d := range []struct {
		sym string
		v   int
	}{{"tokens", c.Tokens()}, {"dim", c.Dim}, {"d_inner", c.DInner}, {"d_state", c.DState}, {"dt_rank", c.DtRank},
		{"d_conv", c.DConv}, {"channels", c.Channels}, {"patch", c.Patch}, {"classes", c.Classes}} {
		for _, w := range strings.FieldsFunc(dims, func(r rune) bool { return r == ',' || r == ' ' || r == '+' || r == '·' }) {
			if w == d.sym {
				parts = append(parts, fmt.Sprintf("%s %d", d.sym, d.v))
				break
			}
		}
	}
	return strings.Join(parts, ", ")
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

// listMore formats names as "a" or "a (and 3 more: b, c, …)".
func listMore(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	rest := names[1:]
	shown := rest
	if len(shown) > 2 {
		shown = append(shown[:2:2], "…")
	}
	return fmt.Sprintf("%s (and %d more: %s)", names[0], len(rest), strings.Join(shown, ", "))
}

// FromFile builds a model from the tensors of a checkpoint: the config is
// inferred (InferConfig), every official tensor must be present with its
// exact shape and finite values, and no other tensor may be present. A
// tensor under a wrapper prefix ("module.", "model.") shared by all is
// read without it.
func FromFile(f *ckpt.File, opt LoadOptions) (*Model, error) {
	cfg, err := InferConfig(f, opt)
	if err != nil {
		return nil, err
	}
	f = canonicalNames(f)
	m := &Model{Config: cfg}
	specs := expected(cfg, m)
	known := make(map[string]bool, len(specs))
	var missing []string
	for _, s := range specs {
		known[s.name] = true
		if _, ok := f.Get(s.name); !ok {
			missing = append(missing, fmt.Sprintf("%s %v", s.name, s.shape))
		}
	}
	var extra []string
	for _, t := range f.Tensors {
		if !known[t.Name] {
			extra = append(extra, t.Name)
		}
	}
	sort.Strings(extra)
	switch {
	case len(missing) > 0 && len(extra) > 0:
		return nil, fmt.Errorf("missing tensor %s; unexpected tensor %s (renamed?)", listMore(missing), listMore(extra))
	case len(missing) > 0:
		return nil, fmt.Errorf("missing tensor %s", listMore(missing))
	case len(extra) > 0:
		return nil, fmt.Errorf("unexpected tensor %s: not in the official Vim state_dict", listMore(extra))
	}
	for _, s := range specs {
		t, _ := f.Get(s.name)
		if !slices.Equal(t.Shape, s.shape) {
			return nil, fmt.Errorf("tensor %s: shape %v, want %v = [%s] with %s (from the other tensors)",
				s.name, t.Shape, s.shape, s.dims, explain(cfg, s.dims))
		}
		for i, v := range t.Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("tensor %s: non-finite value %v at element %d", s.name, v, i)
			}
		}
		*s.dst = append([]float64(nil), t.Data...)
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
		if cfg, err = applyOptions(cfg, opt); err != nil {
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
