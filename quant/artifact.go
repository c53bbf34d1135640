package quant

import (
	"fmt"
	"strconv"

	"github.com/vimsim/vimsim/vim"
	"github.com/vimsim/vimsim/vim/ckpt"
)

// Artifact format. A quantized model is a safetensors file whose metadata
// holds "format" = ArtifactFormat, "version" = ArtifactVersion and
// "qmodel" = the JSON header (method, bits, model config, calibration,
// rounding rules and one entry per quantization point giving its kind,
// bits, axis and group count). Tensors, under the official state_dict
// names where one exists:
//
//	NAME.weight        I8   integer weight codes, official shape
//	NAME.weight_scale  F64  [1] (per tensor) or [rows] (per output channel)
//	NAME.bias          F64  float bias (bias-corrected where the method corrects)
//	POINT.scale        F64  [k] activation scales, one per group
//	POINT.group        U8   [tokens or channels] group of each index (grouped points only)
//	POINT.exp          I8   [k] power-of-two exponents, scale[g] = scale[0]·2^exp[g] (pow2 points only)
//	...ssm[_b].r_C/r_L/r_D F64 reparameterization factors (r_D already folded into x_proj)
//	...ssm[_b].h_scale F64  [L] per-step scales of the carried hidden state
//	cls_token, pos_embed, A_log, A_b_log, D, D_b   F64, float in the method
//
// Datapath extras, ranges of tensors the method keeps in float: "input"
// (the preprocessed image, 8-bit per tensor), "layers.i.mixer.merge.out"
// (the merged gated output, the out_proj input) and "residual.max_abs"
// (F64 [depth+1], max |residual| entering each norm). The fake-quant
// forward does not apply them.
//
// A dequantized value is code·scale; codes are clamp(round_half_even(v/s),
// −2^(b−1), 2^(b−1)−1).
//
// Version 2 records the precision recipe ("recipe", the Precision) and
// gives every point the bits the recipe resolves to (a hidden point its
// block's); wbits, abits and hbits are the recipe's defaults. Version 1
// files (no recipe, every point at wbits, abits or hbits) still read, as
// the uniform recipe.
const (
	ArtifactFormat  = "vimsim-qmodel"
	ArtifactVersion = 2
)

// artifact is the file format of a quantized model; artifactV1 reads
// version 1 files.
var (
	artifact   = ckpt.Format{Name: ArtifactFormat, Version: ArtifactVersion, Key: "qmodel", Noun: "quantized model"}
	artifactV1 = ckpt.Format{Name: ArtifactFormat, Version: 1, Key: "qmodel", Noun: "quantized model"}
)

// header is the JSON metadata of an artifact.
type header struct {
	Format      string      `json:"format"`
	Version     int         `json:"version"`
	Method      string      `json:"method"`
	WBits       int         `json:"wbits"`
	ABits       int         `json:"abits"`
	HBits       int         `json:"hbits"`
	Recipe      *Precision  `json:"recipe,omitempty"`
	Config      vim.Config  `json:"config"`
	Calibration CalibInfo   `json:"calibration"`
	Rounding    string      `json:"rounding"`
	Folding     string      `json:"folding"`
	Points      []pointMeta `json:"points"`
}

// pointMeta describes one quantizer in the header.
type pointMeta struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"` // "weight", "activation" or "hidden"
	Bits       int    `json:"bits"`
	Axis       string `json:"axis,omitempty"`
	Groups     int    `json:"groups,omitempty"`
	Pow2       bool   `json:"pow2,omitempty"`
	PerChannel bool   `json:"per_channel,omitempty"`
}

const roundingDoc = "symmetric signed: code = clamp(round_half_even(v/scale), -2^(b-1), 2^(b-1)-1), value = code*scale; " +
	"initial scale max|T|/(2^(b-1)-0.5); activation quantizers act on module outputs"

const foldingDoc = "x_proj rows: B divided by r_D, C multiplied by r_D (in the stored weights); " +
	"scan step s: x~ = x/r_C (per-channel dequant of x), B~ = B/r_L[s], C~ = C*r_L[s] (per-token dequant), " +
	"carried state dequant = h_scale[s-1]*r_L[s-1]/r_L[s] (per-step constant), " +
	"out = (Q(y') + D*x~) * (r_C * SiLU(z)) (per-channel gate constant); y = r_C*y'"

// visitor is called for every part of a QModel, in artifact order, with
// the bits the model's recipe gives each point.
type visitor interface {
	weight(name string, w *QWeight, shape []int, bits int) error
	floats(name string, v *[]float64, shape []int) error
	act(name string, q **ActQuant, tokens, channels, bits int) error
	factor(name string, v *[]float64, n int) error
	// hidden visits the per-step hidden-state scales of a scan (HScale,
	// Bits) at the name of its point.
	hidden(name string, s *QSSM, steps, bits int) error
}

// walk visits every part of q with the official names (see ArtifactFormat)
// and the bits of q.Precision.
func (q *QModel) walk(v visitor) error {
	c := q.Config
	D, E, L, N, K, R, M := c.Dim, c.DInner, c.Tokens(), c.DState, c.DConv, c.DtRank, c.Patches()
	XO := c.XProjOut()
	pl, err := q.Precision.Resolve(c.Depth)
	if err != nil {
		return err
	}
	if err := v.weight("patch_embed.proj", &q.Patch.W, []int{D, c.Channels, c.Patch, c.Patch}, pl.Embed.W); err != nil {
		return err
	}
	if err := v.floats("patch_embed.proj.bias", &q.Patch.Bias, []int{D}); err != nil {
		return err
	}
	if err := v.act("patch_embed.proj.out", &q.Patch.Out, M, D, pl.Embed.A); err != nil {
		return err
	}
	if err := v.act("input", &q.Input, 1, 1, 8); err != nil {
		return err
	}
	if err := v.floats("cls_token", &q.Cls, []int{D}); err != nil {
		return err
	}
	if err := v.floats("pos_embed", &q.Pos, []int{L, D}); err != nil {
		return err
	}
	for i := range q.Layers {
		l := &q.Layers[i]
		p := "layers." + strconv.Itoa(i) + "."
		mx := p + "mixer."
		bp := &pl.Blocks[i]
		ob, op := bp.Other, func(o OpName) OpBits { return bp.Ops[o] }
		steps := []func() error{
			func() error { return v.weight(p+"norm", &l.Norm.Gamma, []int{D}, ob.W) },
			func() error { return v.act(p+"norm.out", &l.Norm.Out, L, D, ob.A) },
			func() error { return v.weight(mx+"in_proj", &l.InProj.W, []int{2 * E, D}, op(OpInProj).W) },
			func() error { return v.act(mx+"in_proj.out", &l.InProj.Out, L, 2*E, op(OpInProj).A) },
			func() error { return v.act(mx+"act_z.out", &l.ActZ, L, E, ob.A) },
		}
		for d := range l.Dir {
			qd := &l.Dir[d]
			sfx := [2]string{"", "_b"}[d]
			steps = append(steps,
				func() error { return v.weight(mx+"conv1d"+sfx, &qd.Conv.W, []int{E, 1, K}, op(OpConv1d).W) },
				func() error { return v.floats(mx+"conv1d"+sfx+".bias", &qd.Conv.Bias, []int{E}) },
				func() error { return v.act(mx+"conv1d"+sfx+".out", &qd.Conv.Out, L, E, op(OpConv1d).A) },
				func() error { return v.act(mx+"act"+sfx+".out", &qd.Act, L, E, ob.A) },
				func() error { return v.weight(mx+"x_proj"+sfx, &qd.XProj.W, []int{XO, E}, op(OpXProj).W) },
				func() error { return v.act(mx+"x_proj"+sfx+".out", &qd.XProj.Out, L, XO, op(OpXProj).A) },
				func() error { return v.weight(mx+"dt_proj"+sfx, &qd.DtProj.W, []int{E, R}, op(OpDtProj).W) },
				func() error { return v.floats(mx+"dt_proj"+sfx+".bias", &qd.DtProj.Bias, []int{E}) },
				func() error { return v.act(mx+"dt_proj"+sfx+".out", &qd.DtProj.Out, L, E, op(OpDtProj).A) },
				func() error { return v.act(mx+"softplus"+sfx+".out", &qd.Delta, L, E, ob.A) },
				func() error { return v.floats(mx+"A"+sfx+"_log", &qd.ALog, []int{E, N}) },
				func() error { return v.floats(mx+"D"+sfx, &qd.D, []int{E}) },
				func() error { return v.factor(mx+"ssm"+sfx+".r_C", &qd.SSM.RC, E) },
				func() error { return v.factor(mx+"ssm"+sfx+".r_L", &qd.SSM.RL, L) },
				func() error { return v.factor(mx+"ssm"+sfx+".r_D", &qd.SSM.RD, N) },
				func() error { return v.hidden(mx+"ssm"+sfx+".h_scale", &qd.SSM, L, bp.H) },
				func() error { return v.act(mx+"ssm"+sfx+".out", &qd.SSM.Y, L, E, ob.A) },
			)
		}
		steps = append(steps,
			func() error { return v.act(mx+"merge.out", &l.Merge, L, E, ob.A) },
			func() error { return v.weight(mx+"out_proj", &l.OutProj.W, []int{D, E}, op(OpOutProj).W) },
			func() error { return v.act(mx+"out_proj.out", &l.OutProj.Out, L, D, op(OpOutProj).A) },
		)
		for _, f := range steps {
			if err := f(); err != nil {
				return err
			}
		}
	}
	if err := v.factor("residual.max_abs", &q.ResidualMax, c.Depth+1); err != nil {
		return err
	}
	if err := v.weight("norm_f", &q.NormF.Gamma, []int{D}, pl.Final.W); err != nil {
		return err
	}
	if err := v.act("norm_f.out", &q.NormF.Out, 1, D, pl.Final.A); err != nil {
		return err
	}
	if err := v.weight("head", &q.Head.W, []int{c.Classes, D}, pl.Head.W); err != nil {
		return err
	}
	if err := v.floats("head.bias", &q.Head.Bias, []int{c.Classes}); err != nil {
		return err
	}
	return v.act("head.out", &q.Head.Out, 1, c.Classes, pl.Head.A)
}

// writer collects the tensors and point descriptions of a QModel.
type writer struct {
	w      *ckpt.ArtifactWriter
	points []pointMeta
}

func (w *writer) weight(name string, q *QWeight, shape []int, bits int) error {
	if err := q.Validate(); err != nil {
		return fmt.Errorf("%s.weight: %w", name, err)
	}
	if q.Bits != bits {
		return fmt.Errorf("%s.weight: %d bits, the recipe gives %d", name, q.Bits, bits)
	}
	if err := ckpt.PutInts(w.w, name+".weight", "I8", shape, q.Codes); err != nil {
		return err
	}
	if err := w.w.PutFloats(name+".weight_scale", []int{len(q.Scales)}, q.Scales); err != nil {
		return err
	}
	w.points = append(w.points, pointMeta{Name: name + ".weight", Kind: "weight", Bits: q.Bits, PerChannel: q.PerChannel()})
	return nil
}

func (w *writer) floats(name string, v *[]float64, shape []int) error {
	if *v == nil {
		return nil
	}
	return w.w.PutFloats(name, shape, *v)
}

func (w *writer) act(name string, q **ActQuant, tokens, channels, bits int) error {
	a := *q
	if a == nil {
		return nil
	}
	if a.Bits != bits {
		return fmt.Errorf("%s: %d bits, the recipe gives %d", name, a.Bits, bits)
	}
	n := channels
	if a.Axis == PerToken {
		n = tokens
	}
	if err := a.Validate(n); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(a.Scales) > 256 {
		return fmt.Errorf("%s: %d groups exceed the 256 an 8-bit group index holds", name, len(a.Scales))
	}
	if err := w.w.PutFloats(name+".scale", []int{len(a.Scales)}, a.Scales); err != nil {
		return err
	}
	if a.Group != nil {
		if err := ckpt.PutInts(w.w, name+".group", "U8", []int{len(a.Group)}, a.Group); err != nil {
			return err
		}
	}
	if a.Exp != nil {
		if err := ckpt.PutInts(w.w, name+".exp", "I8", []int{len(a.Exp)}, a.Exp); err != nil {
			return err
		}
	}
	w.points = append(w.points, pointMeta{Name: name, Kind: "activation", Bits: a.Bits, Axis: a.Axis.String(),
		Groups: len(a.Scales), Pow2: a.Exp != nil})
	return nil
}

func (w *writer) factor(name string, v *[]float64, n int) error {
	if *v == nil {
		return nil
	}
	if len(*v) != n {
		return fmt.Errorf("%s: %d values, want %d", name, len(*v), n)
	}
	return w.w.PutFloats(name, []int{n}, *v)
}

func (w *writer) hidden(name string, s *QSSM, steps, bits int) error {
	if s.Bits != bits {
		return fmt.Errorf("%s: %d-bit hidden state, the recipe gives %d", name, s.Bits, bits)
	}
	if len(s.HScale) != steps {
		return fmt.Errorf("%s: %d values, want %d", name, len(s.HScale), steps)
	}
	if err := w.w.PutFloats(name, []int{steps}, s.HScale); err != nil {
		return err
	}
	w.points = append(w.points, pointMeta{Name: name, Kind: "hidden", Bits: bits, Axis: "step", Groups: steps})
	return nil
}

// File returns q as a safetensors file (see ArtifactFormat).
func (q *QModel) File() (*ckpt.File, error) {
	if q.Precision.W != q.WBits || q.Precision.A != q.ABits || q.Precision.H != q.HBits {
		return nil, fmt.Errorf("qmodel: bits W%dA%dH%d differ from the recipe's defaults %s", q.WBits, q.ABits, q.HBits,
			UniformName(q.Precision.W, q.Precision.A, q.Precision.H))
	}
	w := &writer{w: artifact.NewWriter()}
	if err := q.walk(w); err != nil {
		return nil, err
	}
	rec := q.Precision
	h := header{Format: ArtifactFormat, Version: ArtifactVersion, Method: q.Method, WBits: q.WBits,
		ABits: q.ABits, HBits: q.HBits, Recipe: &rec, Config: q.Config, Calibration: q.Calib, Rounding: roundingDoc,
		Folding: foldingDoc, Points: w.points}
	return w.w.File(h)
}

// Write stores q at path (through a temporary file renamed into place).
func (q *QModel) Write(path string) error {
	f, err := q.File()
	if err != nil {
		return fmt.Errorf("write qmodel %s: %w", path, err)
	}
	return ckpt.WriteSafetensors(path, f)
}

// ReadModel reads a quantized model written by Write. Every error is one
// line naming the file.
func ReadModel(path string) (*QModel, error) {
	f, err := ckpt.Read(path) // by content: says what a non-safetensors file is
	if err != nil {
		return nil, fmt.Errorf("read qmodel: %w", err)
	}
	q, err := FromFile(f)
	if err != nil {
		return nil, fmt.Errorf("read qmodel %s: %w", path, err)
	}
	return q, nil
}

// FromFile builds a QModel from the tensors and metadata of an artifact,
// checking every shape, range and consistency rule.
func FromFile(f *ckpt.File) (*QModel, error) {
	var h header
	format := artifact
	if f.Metadata["format"] == ArtifactFormat && f.Metadata["version"] == "1" {
		format = artifactV1
	}
	ar, err := format.NewReader(f, &h)
	if err != nil {
		return nil, err
	}
	if _, err := recipeOf(h.Method); err != nil {
		return nil, fmt.Errorf("metadata qmodel: %w", err)
	}
	for _, b := range []int{h.WBits, h.ABits, h.HBits} {
		if (b < MinBits || b > MaxBits) && !(b == h.HBits && b == MaxHiddenBits) {
			return nil, fmt.Errorf("metadata qmodel: bits %d/%d/%d out of [%d, %d]", h.WBits, h.ABits, h.HBits, MinBits, MaxBits)
		}
	}
	rec := Uniform(h.WBits, h.ABits, h.HBits)
	switch {
	case format.Version == 1 && h.Recipe != nil:
		return nil, fmt.Errorf("metadata qmodel: a version 1 file with a recipe")
	case format.Version >= 2 && h.Recipe == nil:
		return nil, fmt.Errorf("metadata qmodel: no recipe")
	case h.Recipe != nil:
		rec = *h.Recipe
		if err := rec.Validate(); err != nil {
			return nil, fmt.Errorf("metadata qmodel: %w", err)
		}
		if rec.W != h.WBits || rec.A != h.ABits || rec.H != h.HBits {
			return nil, fmt.Errorf("metadata qmodel: bits W%dA%dH%d differ from the recipe's defaults %s", h.WBits, h.ABits, h.HBits,
				UniformName(rec.W, rec.A, rec.H))
		}
	}
	if err := h.Config.Validate(); err != nil {
		return nil, fmt.Errorf("metadata qmodel: %w", err)
	}
	if h.Config.Depth > 1024 || h.Config.Tokens() > 1<<16 {
		return nil, fmt.Errorf("metadata qmodel: config too large (depth %d, %d tokens)", h.Config.Depth, h.Config.Tokens())
	}
	if _, err := rec.Resolve(h.Config.Depth); err != nil {
		return nil, fmt.Errorf("metadata qmodel: %w", err)
	}
	q := &QModel{Config: h.Config, Method: h.Method, WBits: h.WBits, ABits: h.ABits, HBits: h.HBits, Precision: rec,
		Calib: h.Calibration, Layers: make([]QLayer, h.Config.Depth)}
	r := &reader{r: ar, points: map[string]pointMeta{}}
	for _, p := range h.Points {
		if _, dup := r.points[p.Name]; dup {
			return nil, fmt.Errorf("metadata qmodel: point %s listed twice", p.Name)
		}
		r.points[p.Name] = p
	}
	if err := q.walk(r); err != nil {
		return nil, err
	}
	if err := ar.Unused(); err != nil {
		return nil, err
	}
	for _, p := range h.Points {
		if !r.usedPoint[p.Name] {
			return nil, fmt.Errorf("metadata qmodel: point %s has no tensors", p.Name)
		}
	}
	for i := range q.Layers {
		for d := range q.Layers[i].Dir {
			s := &q.Layers[i].Dir[d].SSM
			if (s.RC == nil) != (s.RL == nil) || (s.RC == nil) != (s.RD == nil) {
				return nil, fmt.Errorf("layer %d direction %d: reparameterization factors r_C, r_L, r_D must be all present or all absent", i, d)
			}
		}
	}
	return q, nil
}

// reader fills a QModel from an artifact's tensors.
type reader struct {
	r         *ckpt.ArtifactReader
	usedPoint map[string]bool
	points    map[string]pointMeta
}

func (r *reader) point(name, kind string) (pointMeta, error) {
	p, ok := r.points[name]
	if !ok {
		return p, fmt.Errorf("metadata qmodel: no entry for point %s", name)
	}
	if p.Kind != kind {
		return p, fmt.Errorf("metadata qmodel: point %s is a %s, want %s", name, p.Kind, kind)
	}
	if r.usedPoint == nil {
		r.usedPoint = map[string]bool{}
	}
	r.usedPoint[name] = true
	return p, nil
}

func (r *reader) weight(name string, w *QWeight, shape []int, bits int) error {
	p, err := r.point(name+".weight", "weight")
	if err != nil {
		return err
	}
	codes, err := ckpt.GetInts[int8](r.r, name+".weight", "I8", shape, false)
	if err != nil {
		return err
	}
	rows := shape[0]
	cols := len(codes) / rows
	if len(shape) == 1 {
		rows, cols = 1, shape[0]
	}
	ns := 1
	if p.PerChannel {
		ns = rows
	}
	scales, err := r.r.Floats(name+".weight_scale", []int{ns}, false)
	if err != nil {
		return err
	}
	*w = QWeight{Rows: rows, Cols: cols, Bits: p.Bits, Codes: codes, Scales: scales}
	if p.Bits != bits {
		return fmt.Errorf("%s.weight: %d bits, the recipe gives %d", name, p.Bits, bits)
	}
	if err := w.Validate(); err != nil {
		return fmt.Errorf("%s.weight: %w", name, err)
	}
	return nil
}

func (r *reader) floats(name string, v *[]float64, shape []int) error {
	f, err := r.r.Floats(name, shape, false)
	if err != nil {
		return err
	}
	*v = f
	return nil
}

func (r *reader) act(name string, q **ActQuant, tokens, channels, bits int) error {
	p, ok := r.points[name]
	if !ok {
		if r.r.Has(name + ".scale") {
			return fmt.Errorf("metadata qmodel: no entry for point %s", name)
		}
		*q = nil
		return nil
	}
	if _, err := r.point(name, "activation"); err != nil {
		return err
	}
	axis, err := parseAxis(p.Axis)
	if err != nil {
		return fmt.Errorf("metadata qmodel: point %s: %w", name, err)
	}
	if p.Groups < 1 || p.Groups > 256 {
		return fmt.Errorf("metadata qmodel: point %s: %d groups out of [1, 256]", name, p.Groups)
	}
	if p.Bits != bits && name != "input" {
		return fmt.Errorf("%s: %d bits, the recipe gives %d", name, p.Bits, bits)
	}
	if p.Bits < MinBits || p.Bits > MaxBits {
		return fmt.Errorf("%s: %d bits out of [%d, %d]", name, p.Bits, MinBits, MaxBits)
	}
	a := &ActQuant{Bits: p.Bits, Axis: axis}
	if a.Scales, err = r.r.Floats(name+".scale", []int{p.Groups}, false); err != nil {
		return err
	}
	n := channels
	if axis == PerToken {
		n = tokens
	}
	if axis != PerTensor {
		if a.Group, err = ckpt.GetInts[int](r.r, name+".group", "U8", []int{n}, false); err != nil {
			return err
		}
	}
	if p.Pow2 {
		if a.Exp, err = ckpt.GetInts[int](r.r, name+".exp", "I8", []int{p.Groups}, false); err != nil {
			return err
		}
	}
	if err := a.Validate(n); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	*q = a
	return nil
}

func (r *reader) hidden(name string, s *QSSM, steps, bits int) error {
	p, err := r.point(name, "hidden")
	if err != nil {
		return err
	}
	if p.Bits != bits {
		return fmt.Errorf("%s: %d bits, the recipe gives %d", name, p.Bits, bits)
	}
	if err := r.factor(name, &s.HScale, steps); err != nil {
		return err
	}
	if s.HScale == nil {
		return fmt.Errorf("missing tensor %s", name)
	}
	s.Bits = bits
	return nil
}

// factor reads an optional vector of positive factors.
func (r *reader) factor(name string, v *[]float64, n int) error {
	f, err := r.r.Floats(name, []int{n}, true)
	if err != nil || f == nil {
		return err
	}
	for i, x := range f {
		if !(x > 0) {
			return fmt.Errorf("tensor %s: element %d = %g is not positive", name, i, x)
		}
	}
	*v = f
	return nil
}
