package intprog

import (
	"fmt"
	"math"

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
	ConvW    datapath.Matrix[int8] // E×K taps
	Conv     datapath.Requantizer  // bias, channel groups → int8
	SiLU     datapath.ChannelTables
	XProj    GroupLinear // (R+2N)×E split by the SiLU output's channel groups → int8 dt|B|C
	DtProj   Linear      // E×R, bias → int8
	Softplus datapath.ChannelTables
	Scan     datapath.ScanParams
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

func checkRequant(r *datapath.Requantizer, tokens, channels, bits int) error {
	if r.Bits != bits {
		return fmt.Errorf("%d-bit output, want %d", r.Bits, bits)
	}
	return r.Validate(tokens, channels)
}

func checkLinear(l *Linear, tokens, k, n, bits int) error {
	if err := checkWeights(l.W, n, k); err != nil {
		return err
	}
	return checkRequant(&l.Req, tokens, n, bits)
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
