package quant

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// OpName names a quantized operation of a precision recipe: the patch
// embedding, the head, or one of the projections and the convolution of a
// Mamba block (both scan directions share their layer's setting).
type OpName string

// The operations a recipe sets.
const (
	OpPatchEmbed OpName = "patch_embed"
	OpInProj     OpName = "in_proj"
	OpConv1d     OpName = "conv1d"
	OpXProj      OpName = "x_proj"
	OpDtProj     OpName = "dt_proj"
	OpOutProj    OpName = "out_proj"
	OpHead       OpName = "head"
)

// BlockOps lists the operations of a Mamba block in execution order.
func BlockOps() []OpName {
	return []OpName{OpInProj, OpConv1d, OpXProj, OpDtProj, OpOutProj}
}

// RecipeOps lists every operation a recipe sets, in execution order.
func RecipeOps() []OpName {
	return append(append([]OpName{OpPatchEmbed}, BlockOps()...), OpHead)
}

func parseOpName(s string) (OpName, error) {
	for _, o := range RecipeOps() {
		if string(o) == s {
			return o, nil
		}
	}
	names := make([]string, 0, 7)
	for _, o := range RecipeOps() {
		names = append(names, string(o))
	}
	return "", fmt.Errorf("unknown op %q (ops: %s)", s, strings.Join(names, ", "))
}

// Precision ranges a recipe accepts. Whether the integer datapath can run a
// recipe is a further check of the compiler, which names the op it refuses.
const (
	// MaxHiddenBits is the widest hidden state: 16 bits (a recipe's hidden
	// state is 4–8 or 16 bits).
	MaxHiddenBits = 16
)

// OpBits are the weight (W) and activation (A) bits of one operation; a
// zero field inherits.
type OpBits struct {
	W int `json:"w,omitempty" yaml:"w,omitempty"`
	A int `json:"a,omitempty" yaml:"a,omitempty"`
}

// LayerRule sets the precision of a range of Mamba blocks: W and A for every
// operation of the blocks, H for their hidden state, and per-op overrides.
// Layers is a block index, a range "a-b", a comma list of those, or "all".
type LayerRule struct {
	Layers string            `json:"layers" yaml:"layers"`
	W      int               `json:"w,omitempty" yaml:"w,omitempty"`
	A      int               `json:"a,omitempty" yaml:"a,omitempty"`
	H      int               `json:"h,omitempty" yaml:"h,omitempty"`
	Ops    map[OpName]OpBits `json:"ops,omitempty" yaml:"ops,omitempty"`
}

// Precision is a precision recipe: the bits of every quantized operation's
// weights and activations and of every block's hidden state. Defaults (W,
// A, H) apply everywhere; Ops override per operation in every layer where it
// exists; Layers rules, in order, override for ranges of blocks (a rule's W,
// A, H first, then its Ops). The zero value is not valid; use Uniform or
// ParsePrecision.
type Precision struct {
	Name   string            `json:"name,omitempty" yaml:"name,omitempty"`
	W      int               `json:"w" yaml:"w"`
	A      int               `json:"a" yaml:"a"`
	H      int               `json:"h" yaml:"h"`
	Ops    map[OpName]OpBits `json:"ops,omitempty" yaml:"ops,omitempty"`
	Layers []LayerRule       `json:"layers,omitempty" yaml:"layers,omitempty"`
}

// Uniform is the recipe with w-bit weights, a-bit activations and an h-bit
// hidden state everywhere (h = 0: a).
func Uniform(w, a, h int) Precision {
	if h == 0 {
		h = a
	}
	return Precision{W: w, A: a, H: h}
}

// UniformName is the conventional name of a uniform recipe, e.g. "W8A8H8".
func UniformName(w, a, h int) string { return fmt.Sprintf("W%dA%dH%d", w, a, h) }

// checkW, checkA and checkH check one field's range.
func checkW(where string, b int) error {
	if b != 0 && (b < MinBits || b > MaxBits) {
		return fmt.Errorf("%s: weight bits %d out of [%d, %d]", where, b, MinBits, MaxBits)
	}
	return nil
}

func checkA(where string, b int) error {
	if b != 0 && (b < MinBits || b > MaxBits) {
		return fmt.Errorf("%s: activation bits %d out of [%d, %d]", where, b, MinBits, MaxBits)
	}
	return nil
}

func checkH(where string, b int) error {
	if b != 0 && (b < MinBits || b > MaxBits) && b != MaxHiddenBits {
		return fmt.Errorf("%s: hidden-state bits %d: want %d–%d or %d", where, b, MinBits, MaxBits, MaxHiddenBits)
	}
	return nil
}

// Validate checks every field of p without a model (layer ranges are
// checked against the depth by Resolve).
func (p Precision) Validate() error {
	if p.W == 0 || p.A == 0 || p.H == 0 {
		return fmt.Errorf("recipe %s: default w, a and h are required (got w %d, a %d, h %d)", p.label(), p.W, p.A, p.H)
	}
	if err := checkW("w", p.W); err != nil {
		return fmt.Errorf("recipe %s: %w", p.label(), err)
	}
	if err := checkA("a", p.A); err != nil {
		return fmt.Errorf("recipe %s: %w", p.label(), err)
	}
	if err := checkH("h", p.H); err != nil {
		return fmt.Errorf("recipe %s: %w", p.label(), err)
	}
	if err := checkOps("ops", p.Ops); err != nil {
		return fmt.Errorf("recipe %s: %w", p.label(), err)
	}
	for i, r := range p.Layers {
		where := fmt.Sprintf("layers[%d]", i)
		if _, err := parseLayerSet(r.Layers, -1); err != nil {
			return fmt.Errorf("recipe %s: %s.layers: %w", p.label(), where, err)
		}
		for _, e := range []error{checkW(where+".w", r.W), checkA(where+".a", r.A), checkH(where+".h", r.H),
			checkOps(where+".ops", r.Ops)} {
			if e != nil {
				return fmt.Errorf("recipe %s: %w", p.label(), e)
			}
		}
		for o := range r.Ops {
			if o == OpPatchEmbed || o == OpHead {
				return fmt.Errorf("recipe %s: %s.ops.%s: not an op of a block (set it under the top-level ops)", p.label(), where, o)
			}
		}
	}
	return nil
}

func checkOps(where string, ops map[OpName]OpBits) error {
	for _, o := range sortedOps(ops) {
		if _, err := parseOpName(string(o)); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		b := ops[o]
		if err := checkW(where+"."+string(o)+".w", b.W); err != nil {
			return err
		}
		if err := checkA(where+"."+string(o)+".a", b.A); err != nil {
			return err
		}
	}
	return nil
}

func sortedOps(ops map[OpName]OpBits) []OpName {
	out := make([]OpName, 0, len(ops))
	for o := range ops {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (p Precision) label() string {
	if p.Name != "" {
		return strconv.Quote(p.Name)
	}
	return "(unnamed)"
}

// parseLayerSet parses a layer set ("all", "3", "0-2", "0,2-3") for a model
// of depth blocks (depth < 0: syntax only). Indices are 0-based.
func parseLayerSet(s string, depth int) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("empty layer set (want \"all\", an index, a range a-b or a comma list)")
	}
	if strings.EqualFold(s, "all") {
		if depth < 0 {
			return nil, nil
		}
		out := make([]int, depth)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil || a < 0 {
			return nil, fmt.Errorf("layer set %q: %q is not a block index", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil || b < a {
				return nil, fmt.Errorf("layer set %q: %q is not a range a-b with a ≤ b", s, part)
			}
		}
		if b >= 1<<16 {
			return nil, fmt.Errorf("layer set %q: block %d is out of range", s, b)
		}
		if depth >= 0 && b >= depth {
			return nil, fmt.Errorf("layer set %q: block %d, but the model has blocks 0-%d", s, b, depth-1)
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}

// Plan is a recipe resolved for a model of a given depth: the bits of every
// operation of every layer.
//
// An operation's W is its weight's width and its A the width of its output
// (the module's output quantizer, as the official code configures each
// module's weight and output: ptq-method.md §3.1). The quantization points
// outside the recipe's operations take the defaults of their block
// (BlockPlan.Other: the norm's γ and output, SiLU(z), the SiLU and softplus
// outputs, the scan output y′ and the merged out_proj input) or of the
// recipe (Final: norm_f's γ and output).
type Plan struct {
	Embed  OpBits      `json:"patch_embed"` // patch_embed
	Head   OpBits      `json:"head"`        // head
	Final  OpBits      `json:"norm_f"`      // norm_f: γ (W) and output (A), the recipe's defaults
	Blocks []BlockPlan `json:"blocks"`      // one per Mamba block
}

// BlockPlan is the precision of one Mamba block.
type BlockPlan struct {
	Ops map[OpName]OpBits `json:"ops"` // every op of BlockOps, both fields set
	// Other are the bits of the block's other points: the norm's γ (W),
	// and (A) the outputs of the norm, SiLU(z), the SiLU and softplus
	// tables, the scan (y′) and the merge: the recipe's defaults, or a
	// layer rule's W and A.
	Other OpBits `json:"other"`
	H     int    `json:"h"` // hidden-state bits
}

// Resolve applies p to a model of depth blocks.
func (p Precision) Resolve(depth int) (Plan, error) {
	if err := p.Validate(); err != nil {
		return Plan{}, err
	}
	if depth < 1 {
		return Plan{}, fmt.Errorf("recipe %s: model depth %d", p.label(), depth)
	}
	over := func(b OpBits, o OpBits) OpBits {
		if o.W != 0 {
			b.W = o.W
		}
		if o.A != 0 {
			b.A = o.A
		}
		return b
	}
	def := OpBits{W: p.W, A: p.A}
	pl := Plan{Embed: over(def, p.Ops[OpPatchEmbed]), Head: over(def, p.Ops[OpHead]), Final: def,
		Blocks: make([]BlockPlan, depth)}
	for i := range pl.Blocks {
		b := BlockPlan{Ops: map[OpName]OpBits{}, Other: def, H: p.H}
		for _, o := range BlockOps() {
			b.Ops[o] = over(def, p.Ops[o])
		}
		pl.Blocks[i] = b
	}
	for i, r := range p.Layers {
		set, err := parseLayerSet(r.Layers, depth)
		if err != nil {
			return Plan{}, fmt.Errorf("recipe %s: layers[%d].layers: %w", p.label(), i, err)
		}
		for _, l := range set {
			b := &pl.Blocks[l]
			if r.H != 0 {
				b.H = r.H
			}
			b.Other = over(b.Other, OpBits{W: r.W, A: r.A})
			for _, o := range BlockOps() {
				b.Ops[o] = over(over(b.Ops[o], OpBits{W: r.W, A: r.A}), r.Ops[o])
			}
		}
	}
	return pl, nil
}

// Uniform reports whether every operation and block of pl has the same
// bits, and returns them.
func (pl Plan) Uniform() (w, a, h int, ok bool) {
	w, a, h = pl.Embed.W, pl.Embed.A, 0
	if pl.Head != pl.Embed || pl.Final != pl.Embed {
		return 0, 0, 0, false
	}
	for i, b := range pl.Blocks {
		if i == 0 {
			h = b.H
		} else if b.H != h {
			return 0, 0, 0, false
		}
		if b.Other != pl.Embed {
			return 0, 0, 0, false
		}
		for _, o := range BlockOps() {
			if b.Ops[o] != pl.Embed {
				return 0, 0, 0, false
			}
		}
	}
	return w, a, h, true
}

// Bits returns the bits of op in block layer (vim.LayerEmbed and
// vim.LayerHead, i.e. −1 and −2, for patch_embed and head).
func (pl Plan) Bits(layer int, op OpName) OpBits {
	switch op {
	case OpPatchEmbed:
		return pl.Embed
	case OpHead:
		return pl.Head
	}
	if layer < 0 || layer >= len(pl.Blocks) {
		return OpBits{}
	}
	return pl.Blocks[layer].Ops[op]
}

// Key is a canonical text of pl: equal plans have equal keys whatever
// recipe they came from (a cache key).
func (pl Plan) Key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pe:w%da%d;head:w%da%d;final:w%da%d", pl.Embed.W, pl.Embed.A, pl.Head.W, pl.Head.A, pl.Final.W, pl.Final.A)
	for i, bl := range pl.Blocks {
		fmt.Fprintf(&b, ";%d:h%d,other:w%da%d", i, bl.H, bl.Other.W, bl.Other.A)
		for _, o := range BlockOps() {
			fmt.Fprintf(&b, ",%s:w%da%d", o, bl.Ops[o].W, bl.Ops[o].A)
		}
	}
	return b.String()
}

// String names p: its Name, else the uniform name when it has no overrides,
// else a short description.
func (p Precision) String() string {
	switch {
	case p.Name != "":
		return p.Name
	case len(p.Ops) == 0 && len(p.Layers) == 0:
		return UniformName(p.W, p.A, p.H)
	}
	return UniformName(p.W, p.A, p.H) + "+" + strconv.Itoa(len(p.Ops)+len(p.Layers)) + " overrides"
}

// precisionFile is the on-disk form, with layers accepted as a number, a
// string or a list of those.
type precisionFile struct {
	Name    string              `json:"name" yaml:"name"`
	Default *fileBits           `json:"default" yaml:"default"`
	W       int                 `json:"w" yaml:"w"`
	A       int                 `json:"a" yaml:"a"`
	H       int                 `json:"h" yaml:"h"`
	Ops     map[string]fileBits `json:"ops" yaml:"ops"`
	Layers  []fileLayerRule     `json:"layers" yaml:"layers"`
}

type fileBits struct {
	W int `json:"w" yaml:"w"`
	A int `json:"a" yaml:"a"`
	H int `json:"h" yaml:"h"`
}

type fileLayerRule struct {
	Layers any                 `json:"layers" yaml:"layers"`
	W      int                 `json:"w" yaml:"w"`
	A      int                 `json:"a" yaml:"a"`
	H      int                 `json:"h" yaml:"h"`
	Ops    map[string]fileBits `json:"ops" yaml:"ops"`
}

// layerSetText turns a YAML/JSON layers value into the text form.
func layerSetText(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", fmt.Errorf("missing (want \"all\", an index, a range a-b or a list)")
	case string:
		return x, nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		if x != float64(int(x)) {
			return "", fmt.Errorf("%v is not a block index", x)
		}
		return strconv.Itoa(int(x)), nil
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			s, err := layerSetText(e)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		if len(parts) == 0 {
			return "", fmt.Errorf("empty list")
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("%v is not a layer set", v)
}

func fileOps(where string, m map[string]fileBits) (map[OpName]OpBits, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := map[OpName]OpBits{}
	for k, v := range m {
		o, err := parseOpName(k)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if v.H != 0 {
			return nil, fmt.Errorf("%s.%s.h: the hidden state is set per layer, not per op", where, k)
		}
		out[o] = OpBits{W: v.W, A: v.A}
	}
	return out, nil
}

// ParsePrecision parses a recipe file: YAML or JSON (format "yaml", "json",
// or "" to detect). The defaults are given as top-level w, a, h or under
// default: {w, a, h}; ops: {name: {w, a}} overrides an op in every layer;
// layers: [{layers: "0-3", w, a, h, ops}] overrides ranges of blocks, in
// order. Unknown keys are refused.
func ParsePrecision(data []byte, format string) (Precision, error) {
	var f precisionFile
	switch strings.ToLower(format) {
	case "", "yaml", "yml":
		if format == "" && json.Valid(data) {
			return ParsePrecision(data, "json")
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil {
			msg := strings.TrimPrefix(err.Error(), "yaml: ")
			msg = strings.TrimPrefix(msg, "unmarshal errors:")
			return Precision{}, fmt.Errorf("recipe: %s", strings.Join(strings.Fields(msg), " "))
		}
	case "json":
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return Precision{}, fmt.Errorf("recipe: %w", err)
		}
	default:
		return Precision{}, fmt.Errorf("recipe format %q: want yaml or json", format)
	}
	p := Precision{Name: f.Name, W: f.W, A: f.A, H: f.H}
	if f.Default != nil {
		if f.W != 0 || f.A != 0 || f.H != 0 {
			return Precision{}, fmt.Errorf("recipe: give the defaults either as w/a/h or under default, not both")
		}
		p.W, p.A, p.H = f.Default.W, f.Default.A, f.Default.H
	}
	if p.H == 0 {
		p.H = p.A
	}
	var err error
	if p.Ops, err = fileOps("ops", f.Ops); err != nil {
		return Precision{}, fmt.Errorf("recipe: %w", err)
	}
	for i, r := range f.Layers {
		where := fmt.Sprintf("layers[%d]", i)
		set, err := layerSetText(r.Layers)
		if err != nil {
			return Precision{}, fmt.Errorf("recipe: %s.layers: %w", where, err)
		}
		ops, err := fileOps(where+".ops", r.Ops)
		if err != nil {
			return Precision{}, fmt.Errorf("recipe: %w", err)
		}
		p.Layers = append(p.Layers, LayerRule{Layers: set, W: r.W, A: r.A, H: r.H, Ops: ops})
	}
	if err := p.Validate(); err != nil {
		return Precision{}, err
	}
	return p, nil
}

// ReadPrecision reads a recipe file (YAML or JSON by extension, else
// detected); a recipe without a name is named after the file.
func ReadPrecision(path string) (Precision, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Precision{}, fmt.Errorf("recipe %s: %w", path, err)
	}
	format := ""
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		format = "json"
	case ".yaml", ".yml":
		format = "yaml"
	}
	p, err := ParsePrecision(b, format)
	if err != nil {
		return Precision{}, fmt.Errorf("%s: %w", path, err)
	}
	if p.Name == "" {
		p.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return p, nil
}
