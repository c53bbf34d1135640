package intprog

import (
	"fmt"
	"math"
	"strconv"

	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/vim"
)

// ResidualBits is the number of magnitude bits the compiler gives the int32
// residual stream: the residual scale s_r is chosen so that a provable bound
// on |residual| maps to 2^ResidualBits, leaving 31 − ResidualBits bits of
// headroom and keeping the norm unit's sum of squares within 64 bits for
// rows of up to 2^15 channels (DATAPATH.md §7.2, §10).
const ResidualBits = 24

// Program is the integer program of one quantized model. Build (called by
// Compile and Read) prepares the derived run-time state; a Program is
// immutable afterwards and may be run concurrently.
type Program struct {
	Config vim.Config
	// Method is the quantization method of the source model ("paper",
	// "naive", …) and Source describes where the merge scales came from.
	Method string
	Source string
	// ExpTableBits and RsqrtTableBits configure the exponent unit and the
	// norm unit's seed table (DATAPATH.md §5, §7).
	ExpTableBits   int
	RsqrtTableBits int

	Input  Input
	Embed  Embed
	Layers []Layer
	NormF  datapath.NormParams // final norm, applied to the cls row only
	Head   Linear              // int32 logits: unit multiplier, bias preloaded

	// Scales dequantize the program's tensors for reports; the datapath
	// never reads them.
	Scales Scales

	exp  *datapath.Exp2Unit
	norm *datapath.NormUnit
	ops  *List
}

// Input is the conversion of a normalised image to int8 codes at the
// boundary of the datapath — the only float arithmetic of a simulation
// besides the dequantization of its outputs:
//
//	code = clamp(round_half_even(x·Gain[c] + Offset[c]), −128, 127)
//
// With Gain = 255·std_c and Offset = 255·mean_c − 128 this undoes the
// preprocessing (pixel/255 − mean)/std and gives pixel − 128 exactly for
// 8-bit images: the image is represented without loss at the per-channel
// scale 1/(255·std_c), the zero offset being folded into the patch
// embedding's bias.
type Input struct {
	Gain   []float64 // per channel
	Offset []float64 // per channel
}

// GroupLinear is a GEMM whose K inputs fall into groups of different scales
// (split-K, DATAPATH.md §3.4): one int32 partial sum per group, combined by a
// GroupRequantizer. Bias, when present, is preloaded into the accumulator of
// the first group (it is expressed in that group's accumulator scale).
type GroupLinear struct {
	W       *datapath.Weights
	InGroup []uint8 // group of each input column
	Bias    []int32 // per output; nil: no bias
	Req     datapath.GroupRequantizer

	cols  [][]int             // input columns of each group
	parts []*datapath.Weights // W restricted to each group's columns
}

// Groups returns the number of partial sums.
func (g *GroupLinear) Groups() int { return len(g.parts) }

// Part returns the input columns and the weights of group i.
func (g *GroupLinear) Part(i int) ([]int, *datapath.Weights) { return g.cols[i], g.parts[i] }

// build derives the per-group column lists and weight slices.
func (g *GroupLinear) build() error {
	if g.W == nil {
		return fmt.Errorf("no weights")
	}
	if len(g.InGroup) != g.W.K {
		return fmt.Errorf("%d input groups for %d inputs", len(g.InGroup), g.W.K)
	}
	if err := g.Req.Validate(); err != nil {
		return err
	}
	k := len(g.Req.Mult)
	cols, err := datapath.GroupColumns(g.InGroup, k)
	if err != nil {
		return err
	}
	g.cols, g.parts = g.cols[:0], g.parts[:0]
	for i, c := range cols {
		if len(c) == 0 {
			return fmt.Errorf("input group %d is empty", i)
		}
		w, err := g.W.Columns(c)
		if err != nil {
			return err
		}
		g.cols = append(g.cols, c)
		g.parts = append(g.parts, w)
	}
	if g.Bias != nil && len(g.Bias) != g.W.N {
		return fmt.Errorf("%d biases for %d outputs", len(g.Bias), g.W.N)
	}
	return nil
}

// Linear is a GEMM followed by a Requantizer (bias, per-channel or
// per-group multipliers, token-group shifts).
type Linear struct {
	W   *datapath.Weights
	Req datapath.Requantizer
}

// Embed is the patch embedding and the construction of the residual stream
// r₀ (DATAPATH.md §11 "Embedding").
type Embed struct {
	// Patch is the im2col GEMM (K ordered (c, kh, kw)), split by image
	// channel groups of equal input scale; its output is int8 at s_pe.
	Patch GroupLinear
	// ToResidual brings the int8 patch tokens to the residual scale s_r
	// (int32).
	ToResidual datapath.Requantizer
	// Pos is the L×D int32 constant added to r₀: round(pos/s_r), with
	// round((cls + pos)/s_r) on the cls row (where the patch tokens
	// contribute 0).
	Pos datapath.Matrix[int32]
}

// Layer is one Mamba block.
type Layer struct {
	Norm    datapath.NormParams
	InProj  Linear                 // 2E×D; int8 x | z
	SiLUZ   datapath.ChannelTables // SiLU(z), shared by both directions
	Dir     [2]Direction           // vim.Fwd, vim.Bwd
	OutProj Linear                 // D×E; int8, k-scaled token-wise pow2
	// OutSplit, when set, runs out_proj split-K by the channel groups of
	// the merged input (sharing OutProj.W): its group requantizer combines
	// the partial sums to int32, then OutProj.Req applies the token shifts
	// down to int8.
	OutSplit *GroupLinear
	// ToResidual brings the mixer output to the residual scale (int32,
	// token shifts −e_g).
	ToResidual datapath.Requantizer
}

// Direction is one scan direction of a mixer; its per-step constants are in
// scan order (flipped for the backward direction).
type Direction struct {
	ConvW datapath.Matrix[int8] // E×K taps
	// ConvWBits is the width of the taps' values: 8, or 4 (in [−8, 7]).
	ConvWBits int
	Conv      datapath.Requantizer // bias, channel groups → int8 (or 4–7 bits)
	SiLU      datapath.ChannelTables
	XProj     GroupLinear // (R+2N)×E split by the SiLU output's channel groups → int8 dt|B|C
	DtProj    Linear      // E×R, bias → int8
	Softplus  datapath.ChannelTables
	Scan      datapath.ScanParams
}

// Scales are the real scales of the program's tensors, for dequantizing
// taps and logits in reports. Per-channel slices have one value per
// channel, token-grouped tensors a TokenScale.
type Scales struct {
	Residual float64   // s_r of the int32 residual stream
	Patch    float64   // s_pe of the int8 patch tokens
	Logits   []float64 // per class (1 value: the same for all)
	NormF    float64   // the int8 features
	Layers   []LayerScales
}

// LayerScales are the scales of one block's tensors.
type LayerScales struct {
	Norm  float64   // norm output
	XZ    []float64 // 2E, in_proj output
	Z     []float64 // E, SiLU(z)
	Merge []float64 // E, s_m of the merged out_proj input; the gated outputs are int16 at s_m/128
	Out   TokenScale
	Dir   [2]DirScales
}

// DirScales are the scales of one direction's tensors.
type DirScales struct {
	Conv  []float64 // E, conv output
	X     []float64 // E, SiLU output
	XProj float64   // dt | B | C
	Dt    float64   // dt_proj output
	Delta []float64 // E
	Y     TokenScale
}

// TokenScale is a k-scaled token-wise scale with power-of-two groups: token
// t has scale S0·2^Exp[Group[t]] (one group of exponent 0 for a per-tensor
// scale).
type TokenScale struct {
	S0    float64
	Exp   []int
	Group []uint8
}

// At returns the scale of token t.
func (s TokenScale) At(t int) float64 { return math.Ldexp(s.S0, s.Exp[s.Group[t]]) }

// ExpUnit returns the exponent unit of the scan.
func (p *Program) ExpUnit() *datapath.Exp2Unit { return p.exp }

// NormUnit returns the norm unit.
func (p *Program) NormUnit() *datapath.NormUnit { return p.norm }

// Build checks every part of p against the model configuration, prepares
// the derived run-time state (weight slices, the exponent and norm units)
// and builds the op list (List). Compile and Read call it.
func (p *Program) Build() error {
	c := p.Config
	if err := c.Validate(); err != nil {
		return err
	}
	var err error
	if p.exp, err = datapath.NewExp2Unit(p.ExpTableBits); err != nil {
		return err
	}
	if p.norm, err = datapath.NewNormUnit(p.RsqrtTableBits); err != nil {
		return err
	}
	if len(p.Layers) != c.Depth {
		return fmt.Errorf("%d layers for depth %d", len(p.Layers), c.Depth)
	}
	if err := p.Scales.check(c); err != nil {
		return err
	}
	for _, pt := range p.list(false).parts {
		if pt.check != nil {
			if err := pt.check(); err != nil {
				return err
			}
		}
	}
	// The split-K groups are known once the parts are built.
	l := p.list(false).list()
	if err := l.check(); err != nil {
		return err
	}
	p.ops = l
	return nil
}

func checkWeights(w *datapath.Weights, n, k int) error {
	if w == nil {
		return fmt.Errorf("no weights")
	}
	if w.N != n || w.K != k {
		return fmt.Errorf("weights %dx%d, want %dx%d", w.N, w.K, n, k)
	}
	return nil
}

// Activation widths of the requantized outputs (DATAPATH.md §3.2, §11):
// the outputs of the GEMMs and the depthwise convolution are
// MinActBits–8 bits wide (the recipe's per-op activation bits); the norm,
// table, scan and merge outputs are int8.
const MinActBits = 4

// checkRequant checks a requantizer of tokens×channels outputs of bits
// bits (0: an activation of MinActBits–8 bits).
func checkRequant(r *datapath.Requantizer, tokens, channels, bits int) error {
	if bits == 0 {
		if err := checkActBits(r.Bits); err != nil {
			return err
		}
	} else if r.Bits != bits {
		return fmt.Errorf("%d-bit output, want %d", r.Bits, bits)
	}
	return r.Validate(tokens, channels)
}

// checkActBits checks the width of a requantized activation.
func checkActBits(bits int) error {
	if bits < MinActBits || bits > 8 {
		return fmt.Errorf("%d-bit output, want %d–8", bits, MinActBits)
	}
	return nil
}

func checkLinear(l *Linear, tokens, k, n, bits int) error {
	if err := checkWeights(l.W, n, k); err != nil {
		return err
	}
	return checkRequant(&l.Req, tokens, n, bits)
}

// checkConvBits checks the taps of a depthwise convolution against their
// width.
func checkConvBits(dr *Direction) error {
	switch dr.ConvWBits {
	case 8:
	case 4:
		for i, v := range dr.ConvW.Data {
			if v < -8 || v > 7 {
				return fmt.Errorf("int4 tap %d at %d outside [-8, 7]", v, i)
			}
		}
	default:
		return fmt.Errorf("%d-bit taps, want 4 or 8", dr.ConvWBits)
	}
	return nil
}

func checkTables(t *datapath.ChannelTables, channels int) error {
	if len(t.Index) != channels {
		return fmt.Errorf("%d table indices for %d channels", len(t.Index), channels)
	}
	if len(t.Tables) == 0 {
		return fmt.Errorf("no table")
	}
	for c, i := range t.Index {
		if int(i) >= len(t.Tables) {
			return fmt.Errorf("channel %d uses table %d of %d", c, i, len(t.Tables))
		}
	}
	return nil
}

// check validates the report scales against the configuration.
func (s *Scales) check(c vim.Config) error {
	E, L := c.DInner, c.Tokens()
	pos := func(name string, v ...float64) error {
		for _, x := range v {
			if !(x > 0) || x > 1e300 {
				return fmt.Errorf("scales: %s = %g is not positive and finite", name, x)
			}
		}
		return nil
	}
	vec := func(name string, v []float64, n int) error {
		if len(v) != n {
			return fmt.Errorf("scales: %s has %d values, want %d", name, len(v), n)
		}
		return pos(name, v...)
	}
	tok := func(name string, t TokenScale) error {
		if err := pos(name, t.S0); err != nil {
			return err
		}
		if len(t.Group) != L || len(t.Exp) == 0 {
			return fmt.Errorf("scales: %s has %d token groups and %d exponents for %d tokens", name, len(t.Group), len(t.Exp), L)
		}
		for i, g := range t.Group {
			if int(g) >= len(t.Exp) {
				return fmt.Errorf("scales: %s token %d in group %d of %d", name, i, g, len(t.Exp))
			}
		}
		for _, e := range t.Exp {
			if e < -60 || e > 60 {
				return fmt.Errorf("scales: %s exponent %d out of [-60, 60]", name, e)
			}
		}
		return nil
	}
	if err := pos("residual/patch/norm_f", s.Residual, s.Patch, s.NormF); err != nil {
		return err
	}
	if len(s.Logits) != 1 && len(s.Logits) != c.Classes {
		return fmt.Errorf("scales: %d logit scales for %d classes", len(s.Logits), c.Classes)
	}
	if err := pos("logits", s.Logits...); err != nil {
		return err
	}
	if len(s.Layers) != c.Depth {
		return fmt.Errorf("scales: %d layers for depth %d", len(s.Layers), c.Depth)
	}
	for i := range s.Layers {
		l := &s.Layers[i]
		p := fmt.Sprintf("layers.%d.", i)
		errs := []error{pos(p+"norm", l.Norm), vec(p+"xz", l.XZ, 2*E), vec(p+"z", l.Z, E),
			vec(p+"merge", l.Merge, E), tok(p+"out", l.Out)}
		for d := range l.Dir {
			ds := &l.Dir[d]
			q := p + [2]string{"fwd.", "bwd."}[d]
			errs = append(errs, vec(q+"conv", ds.Conv, E), vec(q+"x", ds.X, E), pos(q+"x_proj", ds.XProj),
				pos(q+"dt", ds.Dt), vec(q+"delta", ds.Delta, E), tok(q+"y", ds.Y))
		}
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// part is one op of a Vim program with what the program knows of its
// constants: how they are stored (walk, see FileFormat) and checked
// (check, run by Build). walk and check are nil for an op without
// constants.
type part struct {
	op    Op
	walk  func(w *walker)
	check func() error
}

// lister builds the parts of a program in execution order.
type lister struct {
	shape bool // no constants, no taps (Lower)
	parts []part
	bufs  []Buffer
}

func (b *lister) buffer(name string, rows, cols int, f Format) Buf {
	b.bufs = append(b.bufs, Buffer{Name: name, Rows: rows, Cols: cols, Format: f})
	return Buf(len(b.bufs) - 1)
}

// add appends an op: its unit is its kind's, a GEMM without a split has one
// group, and a shape-only list drops the constants and taps.
func (b *lister) add(op Op, walk func(w *walker), check func() error) {
	op.Unit = op.Kind.Unit()
	op.Groups = max(op.Groups, 1)
	if b.shape {
		op.Params, op.Taps = Params{}, nil
	}
	b.parts = append(b.parts, part{op: op, walk: walk, check: check})
}

// whole reads all of buffer x; cols reads columns [c0, c0+n); flip reads x
// in reverse row order when set.
func whole(x Buf) Operand { return Operand{Buf: x} }

func cols(x Buf, c0, n int) Operand { return Operand{Buf: x, Col: c0, Cols: n} }

func flip(o Operand, f bool) Operand {
	o.Flip = f
	return o
}

// outFormat is the format of an output of the given width, def for a
// program whose constants are not read yet (or a shape-only list).
func outFormat(bits, def int) Format {
	if bits == 0 {
		bits = def
	}
	return Int(bits)
}

// weightFormat is the format of w's values: int4 or int8.
func weightFormat(w *datapath.Weights) Format {
	if w != nil && w.Int4 {
		return Int(4)
	}
	return Int(8)
}

// convWeightFormat is the format of a depthwise convolution's taps.
func convWeightFormat(bits int) Format {
	if bits == 4 {
		return Int(4)
	}
	return Int(8)
}

// stateFormat is the format of a scan's carried state.
func stateFormat(p *datapath.ScanParams) Format { return Int(p.StateFormat().Bits) }

// chk prefixes an error with what it is about.
func chk(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// FileVersion is the version of the program file layout that list
// defines: the tensors each op's walk stores, in op order (shapes for Vim:
// D dim, E d_inner, L tokens, N d_state, K d_conv, R dt_rank, XO = R+2N,
// kk = C·P·P):
//
//	input.gain, input.offset                 F64 [C]  boundary conversion (Input)
//	patch_embed.weight I8 [D, kk], .in_group U8 [kk], .bias I32 [D], .mult I32 [k]
//	patch_embed.residual.*                   requantizer
//	pos_embed                                I32 [L, D]
//	layers.i.norm.gamma                      I16 [D]
//	layers.i.in_proj.weight I8 [2E, D] + requantizer
//	layers.i.silu_z                          tables, E channels
//	layers.i.{fwd,bwd}.conv1d.weight I8 [E, K] + requantizer, .silu tables,
//	  .x_proj.weight I8 [XO, E], .in_group U8 [E], .mult I32 [k],
//	  .dt_proj.weight I8 [E, R] + requantizer, .softplus tables,
//	  .scan.a_neg I32 [E·N], .step_log2 I32 [L], .u_chan/.u_step/.y_step/.gate
//	  multipliers, .u_chan_norm I8 [E], .token_group U8 [L], .group_shift I8 [k],
//	  .skip_shift I8 [E], .skip_d I32 [E]
//	layers.i.out_proj.weight I8 [D, E] + requantizer, optionally
//	  .split.in_group U8 [E], .split.mult I32 [k] (split-K by merge groups),
//	layers.i.residual requantizer
//	norm_f.gamma I16 [D], head.weight I8 [classes, D] + requantizer
//
// (encodings: FileFormat). Version 2: gated scan outputs with GateFrac = 7
// (version 1: 8). Version 3: per-op precisions — every weight has the
// scalar NAME.weight_bits (4 or 8; conv1d.weight too), every scan
// NAME.state_bits (8 or 16), and the requantized outputs of the GEMMs and
// conv1d may be 4–8 bits (their .bits scalars); version 2 files still read
// (int8 weights and state). An op that adds or changes constants changes
// the layout: bump the version with it.
const FileVersion = 3

// list returns the parts of p and the buffers their operands name: the
// one description of a Vim inference that File, Read, Build, Lower, the
// simulator and the cost model share. With shape, the ops carry no
// constants or taps, and p's constants are read only for the groups of the
// split-K GEMMs (none: one group).
func (p *Program) list(shape bool) *lister {
	c := p.Config
	D, E, L, N, K, R, M := c.Dim, c.DInner, c.Tokens(), c.DState, c.DConv, c.DtRank, c.Patches()
	XO, C, tp := c.XProjOut(), c.Channels, c.ClsPos()
	kk := C * c.Patch * c.Patch
	i8, i16, i32 := Int(8), Int(16), Int(32)
	b := &lister{shape: shape}
	sc := &p.Scales

	// Buffers, reused by every layer.
	patches := b.buffer("patches", M, kk, i8)
	patch := b.buffer("patch_embed", M, D, i8)
	res := b.buffer("residual", L, D, i32)
	normed := b.buffer("norm_out", L, D, i8)
	xz := b.buffer("xz", L, 2*E, i8)
	zg := b.buffer("z_gate", L, E, i8)
	var conv, act, xdbl, dt, delta, gated [2]Buf
	for d, s := range [2]string{"fwd.", "bwd."} {
		conv[d] = b.buffer(s+"conv", L, E, i8)
		act[d] = b.buffer(s+"conv_silu", L, E, i8)
		xdbl[d] = b.buffer(s+"x_dbl", L, XO, i8)
		dt[d] = b.buffer(s+"dt", L, E, i8)
		delta[d] = b.buffer(s+"delta", L, E, i8)
		gated[d] = b.buffer(s+"y", L, E, i16)
	}
	merged := b.buffer("y_comb", L, E, i8)
	out := b.buffer("out", L, D, i8)
	feat := b.buffer("features", 1, D, i8)
	logits := b.buffer("logits", 1, c.Classes, i32)

	emb := func(s vim.Site) vim.Point { return vim.Point{Site: s, Layer: vim.LayerEmbed} }
	head := func(s vim.Site) vim.Point { return vim.Point{Site: s, Layer: vim.LayerHead} }

	// Embedding.
	in := &p.Input
	b.add(Op{Layer: vim.LayerEmbed, Name: "input", Kind: KindInput, M: M, N: kk,
		Format: Formats{Out: i8}, Out: patches, Params: Params{Input: in}},
		func(w *walker) {
			w.f64("input.gain", &in.Gain, C)
			w.f64("input.offset", &in.Offset, C)
		},
		func() error {
			if len(in.Gain) != C || len(in.Offset) != C {
				return fmt.Errorf("input: %d gains and %d offsets for %d channels", len(in.Gain), len(in.Offset), C)
			}
			return nil
		})
	e := &p.Embed
	pg := &e.Patch
	b.add(Op{Layer: vim.LayerEmbed, Name: "patch_embed", Kind: KindGEMM, M: M, K: kk, N: D, Groups: pg.Groups(),
		Combine: GroupRequant, Format: Formats{In: i8, Weight: weightFormat(pg.W), Acc: i32, Out: outFormat(pg.Req.Bits, 8)},
		In: []Operand{whole(patches)}, Out: patch, Params: Params{Split: pg},
		Taps: []Tap{{Site: emb(vim.SitePatchEmbed), Scale: scaleOf(sc.Patch)}}},
		func(w *walker) { w.groupLinear("patch_embed", pg, D, kk, true) },
		func() error {
			if err := chk("patch_embed", checkWeights(pg.W, D, kk)); err != nil {
				return err
			}
			if err := chk("patch_embed", pg.build()); err != nil {
				return err
			}
			return chk("patch_embed", checkActBits(pg.Req.Bits))
		})
	b.add(Op{Layer: vim.LayerEmbed, Name: "pos_embed", Kind: KindAdd, M: L, N: D,
		Format: Formats{In: outFormat(pg.Req.Bits, 8), Out: outFormat(e.ToResidual.Bits, 32)}, In: []Operand{whole(patch)}, Out: res,
		Params: Params{Req: &e.ToResidual, Table: &e.Pos},
		Taps:   []Tap{{Site: emb(vim.SiteTokens), Scale: scaleOf(sc.Residual)}}},
		func(w *walker) {
			w.requant("patch_embed.residual", &e.ToResidual, M, D)
			w.matrix32("pos_embed", &e.Pos, L, D)
		},
		func() error {
			if err := chk("patch_embed residual", e.ToResidual.Validate(M, D)); err != nil {
				return err
			}
			if e.ToResidual.Bits != 32 {
				return fmt.Errorf("patch_embed residual: %d-bit output, want 32", e.ToResidual.Bits)
			}
			if e.Pos.Rows != L || e.Pos.Cols != D || len(e.Pos.Data) != L*D {
				return fmt.Errorf("pos_embed: constant %dx%d, want %dx%d", e.Pos.Rows, e.Pos.Cols, L, D)
			}
			return nil
		})

	// Blocks.
	for i := range p.Layers {
		l := &p.Layers[i]
		ls := &sc.Layers[i]
		pre := "layers." + strconv.Itoa(i) + "."
		at := func(s vim.Site) vim.Point { return vim.Point{Site: s, Layer: i} }
		b.add(Op{Layer: i, Name: "norm", Kind: KindNorm, M: L, N: D,
			Format: Formats{In: i32, Out: outFormat(l.Norm.Bits, 8)}, In: []Operand{whole(res)}, Out: normed,
			Params: Params{Norm: &l.Norm},
			Taps: []Tap{{Site: at(vim.SiteResidual), Of: TapIn, Scale: scaleOf(sc.Residual)},
				{Site: at(vim.SiteNormOut), Scale: scaleOf(ls.Norm)}}},
			func(w *walker) { w.norm(pre+"norm", &l.Norm, D) },
			func() error { return chk(pre+"norm", l.Norm.Validate(D)) })
		b.add(Op{Layer: i, Name: "in_proj", Kind: KindGEMM, M: L, K: D, N: 2 * E,
			Format: Formats{In: outFormat(l.Norm.Bits, 8), Weight: weightFormat(l.InProj.W), Acc: i32, Out: outFormat(l.InProj.Req.Bits, 8)},
			In:     []Operand{whole(normed)}, Out: xz, Params: Params{Linear: &l.InProj},
			Taps: []Tap{{Site: at(vim.SiteXZ), Scale: chans(ls.XZ), Transpose: true}}},
			func(w *walker) { w.linear(pre+"in_proj", &l.InProj, 2*E, D, L) },
			func() error { return chk(pre+"in_proj", checkLinear(&l.InProj, L, D, 2*E, 0)) })
		b.add(Op{Layer: i, Name: "silu_z", Kind: KindSiLU, M: L, N: E,
			Format: Formats{In: outFormat(l.InProj.Req.Bits, 8), Out: i8}, In: []Operand{cols(xz, E, E)}, Out: zg, Params: Params{Tables: &l.SiLUZ},
			Taps: []Tap{{Site: at(vim.SiteZGate), Scale: chans(ls.Z)}}},
			func(w *walker) { w.tables(pre+"silu_z", &l.SiLUZ, E) },
			func() error { return chk(pre+"silu_z", checkTables(&l.SiLUZ, E)) })
		for d := range l.Dir {
			dr := &l.Dir[d]
			ds := &ls.Dir[d]
			bwd := d == vim.Bwd
			sfx := [2]string{"", "_b"}[d]
			dp := pre + [2]string{"fwd.", "bwd."}[d] // file names
			dir := func(s vim.Site) vim.Point { return vim.Point{Site: s, Layer: i, Dir: d} }
			chain := d + 1
			b.add(Op{Layer: i, Name: "conv1d" + sfx, Kind: KindDWConv, M: L, K: K, N: E, Chain: chain,
				Format: Formats{In: outFormat(l.InProj.Req.Bits, 8), Weight: convWeightFormat(dr.ConvWBits), Acc: i32, Out: outFormat(dr.Conv.Bits, 8)},
				In:     []Operand{flip(cols(xz, 0, E), bwd)}, Out: conv[d], Params: Params{ConvW: &dr.ConvW, Req: &dr.Conv},
				Taps: []Tap{{Site: dir(vim.SiteConv), Scale: chans(ds.Conv), Transpose: true}}},
				func(w *walker) {
					w.matrix8(dp+"conv1d.weight", &dr.ConvW, E, K)
					w.weightBits(dp+"conv1d.weight", &dr.ConvWBits)
					w.requant(dp+"conv1d", &dr.Conv, L, E)
				},
				func() error {
					if dr.ConvW.Rows != E || dr.ConvW.Cols != K || len(dr.ConvW.Data) != E*K {
						return fmt.Errorf("%sconv1d: taps %dx%d, want %dx%d", dp, dr.ConvW.Rows, dr.ConvW.Cols, E, K)
					}
					if err := checkConvBits(dr); err != nil {
						return fmt.Errorf("%sconv1d: %w", dp, err)
					}
					return chk(dp+"conv1d", checkRequant(&dr.Conv, L, E, 0))
				})
			b.add(Op{Layer: i, Name: "silu" + sfx, Kind: KindSiLU, M: L, N: E, Chain: chain,
				Format: Formats{In: outFormat(dr.Conv.Bits, 8), Out: i8}, In: []Operand{whole(conv[d])}, Out: act[d], Params: Params{Tables: &dr.SiLU},
				Taps: []Tap{{Site: dir(vim.SiteConvSiLU), Scale: chans(ds.X), Transpose: true}}},
				func(w *walker) { w.tables(dp+"silu", &dr.SiLU, E) },
				func() error { return chk(dp+"silu", checkTables(&dr.SiLU, E)) })
			xp := &dr.XProj
			b.add(Op{Layer: i, Name: "x_proj" + sfx, Kind: KindGEMM, M: L, K: E, N: XO, Groups: xp.Groups(),
				Combine: GroupRequant, Chain: chain,
				Format: Formats{In: i8, Weight: weightFormat(xp.W), Acc: i32, Out: outFormat(xp.Req.Bits, 8)},
				In:     []Operand{whole(act[d])}, Out: xdbl[d], Params: Params{Split: xp},
				Taps: []Tap{{Site: dir(vim.SiteXDbl), Scale: scaleOf(ds.XProj)}}},
				func(w *walker) { w.groupLinear(dp+"x_proj", xp, XO, E, false) },
				func() error {
					if err := chk(dp+"x_proj", checkWeights(xp.W, XO, E)); err != nil {
						return err
					}
					if err := chk(dp+"x_proj", xp.build()); err != nil {
						return err
					}
					return chk(dp+"x_proj", checkActBits(xp.Req.Bits))
				})
			b.add(Op{Layer: i, Name: "dt_proj" + sfx, Kind: KindGEMM, M: L, K: R, N: E, Chain: chain,
				Format: Formats{In: outFormat(xp.Req.Bits, 8), Weight: weightFormat(dr.DtProj.W), Acc: i32, Out: outFormat(dr.DtProj.Req.Bits, 8)},
				In:     []Operand{cols(xdbl[d], 0, R)}, Out: dt[d], Params: Params{Linear: &dr.DtProj},
				Taps: []Tap{{Site: dir(vim.SiteDt), Scale: scaleOf(ds.Dt), Transpose: true}}},
				func(w *walker) { w.linear(dp+"dt_proj", &dr.DtProj, E, R, L) },
				func() error { return chk(dp+"dt_proj", checkLinear(&dr.DtProj, L, R, E, 0)) })
			b.add(Op{Layer: i, Name: "softplus" + sfx, Kind: KindSoftplus, M: L, N: E, Chain: chain,
				Format: Formats{In: outFormat(dr.DtProj.Req.Bits, 8), Out: i8}, In: []Operand{whole(dt[d])}, Out: delta[d], Params: Params{Tables: &dr.Softplus},
				Taps: []Tap{{Site: dir(vim.SiteDelta), Scale: chans(ds.Delta), Transpose: true}}},
				func(w *walker) { w.tables(dp+"softplus", &dr.Softplus, E) },
				func() error { return chk(dp+"softplus", checkTables(&dr.Softplus, E)) })
			b.add(Op{Layer: i, Name: "scan" + sfx, Kind: KindScan, M: L, K: N, N: E, Chain: chain,
				Format: Formats{In: i8, Acc: i32, State: stateFormat(&dr.Scan), Out: Int(datapath.GateBits)},
				In:     []Operand{whole(act[d]), whole(delta[d]), flip(whole(zg), bwd), cols(xdbl[d], R, N), cols(xdbl[d], R+N, N)},
				Out:    gated[d], Params: Params{Scan: &dr.Scan},
				Taps: []Tap{{Site: dir(vim.SiteSSMY), Of: TapScanY, Scale: tokens(&ds.Y), Transpose: true},
					{Site: dir(vim.SiteY), Scale: gateScale(ls.Merge), Transpose: true}}},
				func(w *walker) { w.scan(dp+"scan", &dr.Scan, E, N, L) },
				func() error {
					if err := chk(dp+"scan", dr.Scan.Validate()); err != nil {
						return err
					}
					if s := &dr.Scan; s.Channels != E || s.States != N || s.Steps != L {
						return fmt.Errorf("%sscan: shape E=%d N=%d L=%d, want %d %d %d", dp, s.Channels, s.States, s.Steps, E, N, L)
					}
					return nil
				})
		}
		b.add(Op{Layer: i, Name: "gate", Kind: KindGate, M: L, N: E, Format: Formats{In: i16, Out: i8},
			In: []Operand{whole(gated[vim.Fwd]), flip(whole(gated[vim.Bwd]), true)}, Out: merged,
			Taps: []Tap{{Site: at(vim.SiteYComb), Scale: chans(ls.Merge)}}},
			nil, nil)
		outOp := Op{Layer: i, Name: "out_proj", Kind: KindGEMM, M: L, K: E, N: D,
			Format: Formats{In: i8, Weight: weightFormat(l.OutProj.W), Acc: i32, Out: outFormat(l.OutProj.Req.Bits, 8)},
			In:     []Operand{whole(merged)}, Out: out, Params: Params{Linear: &l.OutProj},
			Taps: []Tap{{Site: at(vim.SiteOut), Scale: tokens(&ls.Out)}}}
		if s := l.OutSplit; s != nil {
			outOp.Combine, outOp.Groups, outOp.Params.Split = GroupThenRequant, s.Groups(), s
		}
		b.add(outOp,
			func(w *walker) {
				w.linear(pre+"out_proj", &l.OutProj, D, E, L)
				w.split(pre+"out_proj.split", &l.OutSplit, E)
			},
			func() error {
				if err := chk(pre+"out_proj", checkLinear(&l.OutProj, L, E, D, 0)); err != nil {
					return err
				}
				if s := l.OutSplit; s != nil {
					s.W = l.OutProj.W
					if err := chk(pre+"out_proj split", s.build()); err != nil {
						return err
					}
					if s.Req.Bits != 32 || s.Bias != nil {
						return fmt.Errorf("%sout_proj split: %d-bit output (want 32) or a bias", pre, s.Req.Bits)
					}
				}
				return nil
			})
		b.add(Op{Layer: i, Name: "residual", Kind: KindResidual, M: L, N: D,
			Format: Formats{In: outFormat(l.OutProj.Req.Bits, 8), Out: outFormat(l.ToResidual.Bits, 32)}, In: []Operand{whole(out)}, Out: res,
			Params: Params{Req: &l.ToResidual}},
			func(w *walker) { w.requant(pre+"residual", &l.ToResidual, L, D) },
			func() error {
				if err := chk(pre+"residual", l.ToResidual.Validate(L, D)); err != nil {
					return err
				}
				if l.ToResidual.Bits != 32 {
					return fmt.Errorf("%sresidual: %d-bit output, want 32", pre, l.ToResidual.Bits)
				}
				return nil
			})
	}

	// Final norm (cls row) and head.
	b.add(Op{Layer: vim.LayerHead, Name: "norm_f", Kind: KindNorm, M: 1, N: D,
		Format: Formats{In: i32, Out: outFormat(p.NormF.Bits, 8)}, In: []Operand{{Buf: res, Row: tp, Rows: 1}}, Out: feat,
		Params: Params{Norm: &p.NormF},
		Taps: []Tap{{Site: head(vim.SiteFinalResidual), Of: TapIn, Scale: scaleOf(sc.Residual)},
			{Site: head(vim.SiteFeatures), Scale: scaleOf(sc.NormF)}}},
		func(w *walker) { w.norm("norm_f", &p.NormF, D) },
		func() error { return chk("norm_f", p.NormF.Validate(D)) })
	b.add(Op{Layer: vim.LayerHead, Name: "head", Kind: KindGEMM, M: 1, K: D, N: c.Classes,
		Format: Formats{In: outFormat(p.NormF.Bits, 8), Weight: weightFormat(p.Head.W), Acc: i32, Out: outFormat(p.Head.Req.Bits, 32)},
		In:     []Operand{whole(feat)}, Out: logits, Params: Params{Linear: &p.Head}},
		func(w *walker) { w.linear("head", &p.Head, c.Classes, D, 1) },
		func() error { return chk("head", checkLinear(&p.Head, 1, D, c.Classes, 32)) })
	return b
}

// ops returns the op list of the parts.
func (b *lister) list() *List {
	l := &List{Ops: make([]Op, len(b.parts)), Buffers: b.bufs}
	for i := range b.parts {
		l.Ops[i] = b.parts[i].op
	}
	return l
}

// List returns the op list of a built program, in execution order (the
// list is shared: it must not be modified).
func (p *Program) List() *List { return p.ops }

// Lower returns the op list of the model c without a compiled program: the
// ops, shapes and buffers of every program of c, with one group per GEMM,
// the formats of the int8 datapath and no constants — the op list the cost
// model prices for a preset.
func Lower(c vim.Config) (*List, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p := &Program{Config: c, Layers: make([]Layer, c.Depth)}
	p.Scales.Layers = make([]LayerScales, c.Depth)
	l := p.list(true).list()
	if err := l.check(); err != nil {
		return nil, fmt.Errorf("model %s: %w", c.Name, err)
	}
	return l, nil
}
