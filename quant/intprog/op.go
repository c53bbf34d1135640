package intprog

import (
	"fmt"
	"math"
	"strconv"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/vim"
)

// Kind is the computation an op performs. It fixes the meaning of the op's
// shape (M, K, N), its operands (Op.In, Op.Out) and the constants it reads
// (Params).
type Kind uint8

// Op kinds.
const (
	// KindInput converts the normalised image to int8 codes (the boundary
	// conversion, Params.Input) laid out as the patch embedding's im2col
	// matrix: M patches × N = C·P·P values, K = 0. It has no operand: it
	// reads the image.
	KindInput Kind = iota
	// KindGEMM is out = requant(a·Wᵀ): a (In[0]) M×K int8, W N×K, out M×N;
	// the K inputs fall into Groups partial sums and Combine says how the
	// int32 accumulators become the output (Params.Linear, Params.Split).
	KindGEMM
	// KindDWConv is the depthwise causal convolution of M positions × N
	// channels with K taps (Params.ConvW), its bias and requantizer
	// (Params.Req).
	KindDWConv
	// KindScan is one direction of the selective scan with its D skip and
	// SiLU(z) gate: M steps, N channels, K states; operands x, Δ, z, B, C;
	// int16 gated output (Params.Scan).
	KindScan
	// KindSoftplus is the per-channel softplus table on M×N int8 values
	// (Params.Tables).
	KindSoftplus
	// KindSiLU is the per-channel SiLU table on M×N int8 values
	// (Params.Tables).
	KindSiLU
	// KindGate is the direction merge (y_f + y_b)/2 of the two int16 gated
	// scan outputs (In[0] forward, In[1] backward in token order) to int8,
	// M×N.
	KindGate
	// KindNorm is the RMSNorm of M rows of N int32 values to int8
	// (Params.Norm).
	KindNorm
	// KindAdd starts the int32 residual stream (Out, M×N tokens × channels,
	// K = 0): the (M−1)×N int8 patch tokens (In[0]) requantized to the
	// residual scale (Params.Req) fill the rows around the cls row
	// (vim.Config.ClsPos, 0 there), then the constant Params.Table
	// (position embedding, cls token) is added.
	KindAdd
	// KindResidual adds the M×N int8 mixer output (In[0]), requantized to
	// the residual scale (Params.Req), to the int32 residual stream (Out)
	// in place.
	KindResidual
)

var kindNames = [...]string{"input", "gemm", "dwconv", "scan", "softplus", "silu", "gate", "norm", "add", "residual"}

// String returns the short lower-case name of k.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Unit returns the unit that runs ops of kind k on the reference
// accelerator (docs/PERFMODEL.md §4): GEMMs on the array, the depthwise
// convolution and the scan on their units, tables, merges and the
// embedding add on the vector unit, norms on the norm unit with the
// residual add it fuses, the input conversion on the host.
func (k Kind) Unit() arch.Unit {
	switch k {
	case KindInput:
		return arch.UnitHost
	case KindGEMM:
		return arch.UnitArray
	case KindDWConv:
		return arch.UnitDWConv
	case KindScan:
		return arch.UnitScan
	case KindNorm, KindResidual:
		return arch.UnitNorm
	}
	return arch.UnitVector
}

// Combine is how a GEMM's int32 accumulators become its output.
type Combine uint8

// GEMM output stages.
const (
	// Requant: one accumulator per output, then a requantizer
	// (Params.Linear.Req).
	Requant Combine = iota
	// GroupRequant: Groups partial sums combined by a group requantizer
	// into the output format (Params.Split.Req; DATAPATH.md §3.4).
	GroupRequant
	// GroupThenRequant: Groups partial sums combined by a group
	// requantizer into int32, then a requantizer with the token shifts
	// (Params.Split.Req, then Params.Linear.Req): the split-K out_proj.
	GroupThenRequant
)

// Stages returns the number of requantizers of c (each one
// requantization per output), and whether one of them is a group
// requantizer.
func (c Combine) Stages() (n int, group bool) {
	switch c {
	case GroupRequant:
		return 1, true
	case GroupThenRequant:
		return 2, true
	}
	return 1, false
}

// Format is an integer number format: Bits wide, two's complement when
// Signed. The zero Format is not an integer: the float image the input
// conversion reads.
type Format struct {
	Bits   int  `json:"bits"`
	Signed bool `json:"signed"`
}

// Int returns the signed format of the given width.
func Int(bits int) Format { return Format{Bits: bits, Signed: true} }

// String returns "int8", "uint16", …, or "float" for the zero Format.
func (f Format) String() string {
	switch {
	case f.Bits == 0:
		return "float"
	case f.Signed:
		return "int" + strconv.Itoa(f.Bits)
	}
	return "uint" + strconv.Itoa(f.Bits)
}

// Formats are the number formats of an op's values: In of its operands,
// Weight of its weights (GEMM, depthwise convolution), Acc of its
// accumulators, State of a scan's carried hidden state and Out of its
// output. They are where per-op precisions live: the op list takes them
// from the constants (requantizer widths, int4 weights) and the formats the
// units of hw/datapath implement, and Build checks them against the
// buffers. A zero field is a value the kind does not have.
type Formats struct {
	In     Format `json:"in"`
	Weight Format `json:"weight"`
	Acc    Format `json:"acc"`
	State  Format `json:"state"`
	Out    Format `json:"out"`
}

// Buf is the index of a buffer in List.Buffers.
type Buf int

// Buffer is a tensor that ops write and read: Rows×Cols values stored in
// Format (int8, int16 or int32). Every layer reuses the same buffers.
type Buffer struct {
	Name       string
	Rows, Cols int
	Format     Format
}

// Operand is the part of a buffer an op reads: Rows rows from Row and Cols
// columns from Col (0: all of them), in reverse row order when Flip (the
// backward scan direction reads the token-ordered tensors flipped).
type Operand struct {
	Buf       Buf
	Row, Rows int
	Col, Cols int
	Flip      bool
}

// Whole reports whether o is its buffer, unflipped.
func (o Operand) Whole() bool {
	return o.Row == 0 && o.Rows == 0 && o.Col == 0 && o.Cols == 0 && !o.Flip
}

// Shape returns the rows and columns of o in buffer b.
func (o Operand) Shape(b Buffer) (rows, cols int) {
	rows, cols = o.Rows, o.Cols
	if rows == 0 {
		rows = b.Rows - o.Row
	}
	if cols == 0 {
		cols = b.Cols - o.Col
	}
	return rows, cols
}

// Params are the constants of an op, the fields its Kind uses (nil in a
// shape-only list, see Lower). They point into the Program.
type Params struct {
	Input  *Input                  // KindInput
	Linear *Linear                 // KindGEMM: Requant, GroupThenRequant (its Req)
	Split  *GroupLinear            // KindGEMM: GroupRequant, GroupThenRequant
	ConvW  *datapath.Matrix[int8]  // KindDWConv: N×K taps
	Req    *datapath.Requantizer   // KindDWConv, KindAdd, KindResidual
	Tables *datapath.ChannelTables // KindSiLU, KindSoftplus
	Scan   *datapath.ScanParams    // KindScan
	Norm   *datapath.NormParams    // KindNorm
	Table  *datapath.Matrix[int32] // KindAdd: the constant added
}

// TapOf is the tensor of an op that a Tap reads.
type TapOf uint8

// Tapped tensors.
const (
	// TapOut is the op's output, after it runs.
	TapOut TapOf = iota
	// TapIn is the whole buffer of the op's first operand, before it runs.
	TapIn
	// TapScanY is a scan's y′: the SSM output before the D skip and the
	// gate (int8, the op's shape).
	TapScanY
)

// Tap is a tensor of an op that the float reference computes too, at a
// site of the forward pass (vim.Point, whose String is the tap name), with
// the scale that dequantizes it and the reference's layout.
type Tap struct {
	Site vim.Point
	Of   TapOf
	// Scale dequantizes the codes; Transpose gives a (tokens, channels)
	// tensor the reference's (channels, tokens) layout.
	Scale     Scale
	Transpose bool
}

// Scale gives the real value of one code of a rows×cols tensor: one scale
// (Value), one per column (Chans) or a token scale per row (Tokens).
type Scale struct {
	Value  float64
	Chans  []float64
	Tokens *TokenScale
}

// At returns the scale of element (r, c).
func (s Scale) At(r, c int) float64 {
	switch {
	case s.Chans != nil:
		return s.Chans[c]
	case s.Tokens != nil:
		return s.Tokens.At(r)
	}
	return s.Value
}

// Single returns the scale of every element, or 0 when they differ.
func (s Scale) Single() float64 {
	switch {
	case s.Chans != nil:
		for _, v := range s.Chans {
			if v != s.Chans[0] {
				return 0
			}
		}
		return s.Chans[0]
	case s.Tokens != nil:
		t := s.Tokens
		for _, g := range t.Group {
			if t.Exp[g] != t.Exp[t.Group[0]] {
				return 0
			}
		}
		return t.At(0)
	}
	return s.Value
}

// Op is one operation of an integer program: what it computes (Kind), on
// which unit, at which shape and in which number formats, which buffers it
// reads and writes, and the constants it uses. The functional model (sim)
// executes ops, the cost model (hw/cost) prices them; both read the same
// list (Program.List, or Lower for a model without a program).
type Op struct {
	// Layer is the block index, or vim.LayerEmbed / vim.LayerHead.
	Layer int
	// Name follows vim-forward.md ("patch_embed", "norm", "in_proj",
	// "silu_z", "conv1d", "silu", "x_proj", "dt_proj", "softplus", "scan",
	// "gate", "out_proj", "norm_f", "head"; "_b" for the backward
	// direction), plus the integer datapath's "input", "pos_embed" and
	// "residual".
	Name string
	Kind Kind
	Unit arch.Unit
	// M, K, N are the shape, as Kind describes it.
	M, K, N int
	// Groups is the number of split-K partial sums of a GEMM (1 for every
	// other op); Combine how a GEMM's accumulators become its output.
	Groups  int
	Combine Combine
	Format  Formats
	// Chain is 0 for ops on the main path of their layer; ops of chain k
	// > 0 (the scan directions: 1 forward, 2 backward) depend only on the
	// main path and their own chain, so the chains of a layer may run
	// concurrently.
	Chain  int
	In     []Operand
	Out    Buf
	Params Params
	Taps   []Tap
}

// MACs is the multiply-accumulate count of op under the convention of
// vim-forward.md §6: GEMM M·K·N, depthwise conv M·N·K, scan 3·M·N·K (the dA
// multiply, the state update and the C·h product); other ops count 0. The
// datapath counts more (hw/datapath.Counters, cost.CountsOf).
func (op *Op) MACs() int64 {
	m, k, n := int64(op.M), int64(op.K), int64(op.N)
	switch op.Kind {
	case KindGEMM, KindDWConv:
		return m * k * n
	case KindScan:
		return 3 * m * k * n
	}
	return 0
}

// List is the op list of a model in execution order, with the buffers its
// operands name.
type List struct {
	Ops     []Op
	Buffers []Buffer
}

// TotalMACs is the sum of Op.MACs over l.
func (l *List) TotalMACs() int64 {
	var t int64
	for i := range l.Ops {
		t += l.Ops[i].MACs()
	}
	return t
}

// check validates the operands of every op against the buffers: indices,
// windows, and the formats the op reads and writes.
func (l *List) check() error {
	for i := range l.Ops {
		op := &l.Ops[i]
		if int(op.Out) < 0 || int(op.Out) >= len(l.Buffers) {
			return fmt.Errorf("op %s: output buffer %d of %d", op.Name, op.Out, len(l.Buffers))
		}
		if f := l.Buffers[op.Out].Format; op.Format.Out.Bits > f.Bits {
			return fmt.Errorf("op %s: %s output in %s buffer %s", op.Name, op.Format.Out, f, l.Buffers[op.Out].Name)
		}
		for _, o := range op.In {
			if int(o.Buf) < 0 || int(o.Buf) >= len(l.Buffers) {
				return fmt.Errorf("op %s: input buffer %d of %d", op.Name, o.Buf, len(l.Buffers))
			}
			b := l.Buffers[o.Buf]
			if r, c := o.Shape(b); o.Row < 0 || o.Col < 0 || r < 1 || c < 1 || o.Row+r > b.Rows || o.Col+c > b.Cols {
				return fmt.Errorf("op %s: operand rows %d+%d, columns %d+%d of %s (%dx%d)", op.Name, o.Row, r, o.Col, c, b.Name, b.Rows, b.Cols)
			}
			if op.Format.In.Bits > b.Format.Bits {
				return fmt.Errorf("op %s: %s input from %s buffer %s", op.Name, op.Format.In, b.Format, b.Name)
			}
		}
	}
	return nil
}

// scaleOf returns the uniform scale v; chans returns per-channel ones.
func scaleOf(v float64) Scale { return Scale{Value: v} }

func chans(v []float64) Scale { return Scale{Chans: v} }

func tokens(t *TokenScale) Scale { return Scale{Tokens: t} }

// gateScale is the scale of the int16 gated scan outputs: s_m·2^−GateFrac
// per channel.
func gateScale(merge []float64) Scale {
	s := make([]float64, len(merge))
	for ch, v := range merge {
		s[ch] = math.Ldexp(v, -datapath.GateFrac)
	}
	return chans(s)
}
