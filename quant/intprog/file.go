package intprog

import (
	"fmt"
	"math"
	"strconv"

	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/vim"
	"github.com/vimsim/vimsim/vim/ckpt"
)

// FileFormat names the file format of a Program: a safetensors file whose
// metadata holds "format" = FileFormat, "version" = FileVersion and
// "intprog" = a JSON header {format, version, config, method, source,
// exp_table_bits, rsqrt_table_bits, scalars}; "scalars" maps NAME to the
// integer scalars of the parts (requantizer widths and zero points,
// group-requantizer shifts, norm constants). The tensors are the constants
// of the ops, in op order, under the names the op list gives them
// (Program.list, next to FileVersion), then the report scales (scales.*,
// F64).
//
// A requantizer NAME has NAME.mult.m I32 [k] and NAME.mult.shift I8 [k]
// (the multipliers M·2^−shift), and optionally NAME.bias I32 [channels],
// NAME.channel_group U16 [channels], NAME.token_group U8 [L],
// NAME.token_shift I8 [g]; scalars NAME.bits and NAME.zero_point. A
// multiplier vector NAME is stored the same way (NAME.m, NAME.shift). A
// table set NAME has NAME.tables I8 [T, 256], NAME.clamped U8 [T, 256] and
// NAME.index U8 [channels]; weights NAME.weight I8 [N, K] with the scalar
// NAME.weight_bits (8, or 4: values in [−8, 7]); a scan NAME has the scalar
// NAME.state_bits (8 or 16).
const FileFormat = "vimsim-intprog"

// fileFormat is the file format of a Program; fileFormatV2 reads version 2
// files (int8 weights and an int8 scan state throughout).
var (
	fileFormat   = ckpt.Format{Name: FileFormat, Version: FileVersion, Key: "intprog", Noun: "integer program"}
	fileFormatV2 = ckpt.Format{Name: FileFormat, Version: 2, Key: "intprog", Noun: "integer program"}
)

// header is the JSON metadata of a program file.
type header struct {
	Format         string           `json:"format"`
	Version        int              `json:"version"`
	Config         vim.Config       `json:"config"`
	Method         string           `json:"method"`
	Source         string           `json:"source"`
	ExpTableBits   int              `json:"exp_table_bits"`
	RsqrtTableBits int              `json:"rsqrt_table_bits"`
	Scalars        map[string]int64 `json:"scalars"`
}

// anyLen marks a dimension whose length the file decides (bounded by the
// shape rules checked when the program is built).
const anyLen = ckpt.AnyLen

// visitor is called for every part of a Program, in file order. Slices are
// read or written through the pointers; shapes give the expected
// dimensions (anyLen: free). Optional tensors may be absent (nil slice).
type visitor interface {
	reading() bool
	// version is the file version read or written.
	version() int
	ints(name, dtype string, shape []int, optional bool, get func() []int64, set func([]int64)) error
	f64(name string, v *[]float64, shape []int) error
	scalar(name string, v *int64) error
}

// File returns p as a safetensors file (see FileFormat).
func (p *Program) File() (*ckpt.File, error) {
	w := &writer{w: fileFormat.NewWriter(), scalars: map[string]int64{}}
	if err := p.walk(w); err != nil {
		return nil, err
	}
	h := header{Format: FileFormat, Version: FileVersion, Config: p.Config, Method: p.Method, Source: p.Source,
		ExpTableBits: p.ExpTableBits, RsqrtTableBits: p.RsqrtTableBits, Scalars: w.scalars}
	return w.w.File(h)
}

// Write stores p at path through a temporary file renamed into place.
func (p *Program) Write(path string) error {
	f, err := p.File()
	if err != nil {
		return fmt.Errorf("write program %s: %w", path, err)
	}
	if err := ckpt.WriteSafetensors(path, f); err != nil {
		return fmt.Errorf("write program %s: %w", path, err)
	}
	return nil
}

// Read reads a program written by Write; every error is one line naming
// the file.
func Read(path string) (*Program, error) {
	f, err := ckpt.Read(path) // by content: says what a non-safetensors file is
	if err != nil {
		return nil, fmt.Errorf("read program: %w", err)
	}
	p, err := FromFile(f)
	if err != nil {
		return nil, fmt.Errorf("read program %s: %w", path, err)
	}
	return p, nil
}

// Parse reads a program from the bytes of a safetensors file.
func Parse(b []byte) (*Program, error) {
	f, err := ckpt.ParseSafetensors(b)
	if err != nil {
		return nil, err
	}
	return FromFile(f)
}

// FromFile builds a Program from the tensors and metadata of a program
// file, checking every shape, range and consistency rule.
func FromFile(f *ckpt.File) (*Program, error) {
	var h header
	format := fileFormat
	if f.Metadata["format"] == FileFormat && f.Metadata["version"] == "2" {
		format = fileFormatV2
	}
	ar, err := format.NewReader(f, &h)
	if err != nil {
		return nil, err
	}
	c := h.Config
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("metadata intprog: %w", err)
	}
	if c.Depth > 1024 || c.Tokens() > 1<<16 || c.Channels > 64 {
		return nil, fmt.Errorf("metadata intprog: config too large (depth %d, %d tokens, %d channels)", c.Depth, c.Tokens(), c.Channels)
	}
	p := &Program{Config: c, Method: h.Method, Source: h.Source, ExpTableBits: h.ExpTableBits,
		RsqrtTableBits: h.RsqrtTableBits, Layers: make([]Layer, c.Depth)}
	p.Scales.Layers = make([]LayerScales, c.Depth)
	r := &reader{r: ar, scalars: h.Scalars, usedScalar: map[string]bool{}, vers: format.Version}
	if err := p.walk(r); err != nil {
		return nil, err
	}
	if err := ar.Unused(); err != nil {
		return nil, err
	}
	for name := range h.Scalars {
		if !r.usedScalar[name] {
			return nil, fmt.Errorf("metadata intprog: unexpected scalar %s", name)
		}
	}
	if err := p.Build(); err != nil {
		return nil, err
	}
	return p, nil
}

// walk visits every part of p, in the order of its ops (Program.list).
func (p *Program) walk(v visitor) error {
	w := &walker{v: v}
	for _, pt := range p.list(false).parts {
		if pt.walk != nil && w.err == nil {
			pt.walk(w)
		}
	}
	w.scales(&p.Scales, p.Config)
	return w.err
}

// walker adapts the typed parts of a Program to a visitor, keeping the
// first error.
type walker struct {
	v   visitor
	err error
}

func (w *walker) do(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *walker) f64(name string, v *[]float64, n int) {
	if w.err == nil {
		w.do(w.v.f64(name, v, []int{n}))
	}
}

func (w *walker) scalar(name string, v *int) {
	if w.err != nil {
		return
	}
	x := int64(*v)
	w.do(w.v.scalar(name, &x))
	if x < math.MinInt32 || x > math.MaxInt32 {
		w.do(fmt.Errorf("scalar %s = %d out of range", name, x))
	}
	*v = int(x)
}

// intSlice visits an integer slice of element type T stored as dtype.
func intSlice[T ~int8 | ~int16 | ~int32 | ~uint8 | ~uint16](w *walker, name, dtype string, v *[]T, shape []int, optional bool) {
	if w.err != nil {
		return
	}
	w.do(w.v.ints(name, dtype, shape, optional, func() []int64 {
		if *v == nil {
			return nil
		}
		out := make([]int64, len(*v))
		for i, x := range *v {
			out[i] = int64(x)
		}
		return out
	}, func(x []int64) {
		if x == nil {
			*v = nil
			return
		}
		*v = make([]T, len(x))
		for i, e := range x {
			(*v)[i] = T(e)
		}
	}))
}

func (w *walker) mults(name string, m *[]datapath.Multiplier, n int) {
	if w.err != nil {
		return
	}
	var ms []int32
	var ss []int8
	if !w.v.reading() {
		for _, x := range *m {
			ms = append(ms, x.M)
			ss = append(ss, x.Shift)
		}
	}
	intSlice(w, name+".m", "I32", &ms, []int{n}, false)
	intSlice(w, name+".shift", "I8", &ss, []int{n}, false)
	if w.err != nil || !w.v.reading() {
		return
	}
	if len(ms) != len(ss) {
		w.do(fmt.Errorf("multipliers %s: %d mantissas and %d shifts", name, len(ms), len(ss)))
		return
	}
	*m = make([]datapath.Multiplier, len(ms))
	for i := range ms {
		(*m)[i] = datapath.Multiplier{M: ms[i], Shift: ss[i]}
	}
}

// weightBits visits the width of a weight's values (the MAC operand): 8,
// or 4 (values in [−8, 7]); version 2 files have int8 weights only.
func (w *walker) weightBits(name string, bits *int) {
	if w.v.reading() && w.v.version() < 3 {
		*bits = 8
		return
	}
	w.scalar(name+"_bits", bits)
	if w.err == nil && *bits != 4 && *bits != 8 {
		w.do(fmt.Errorf("scalar %s_bits = %d: weights are 4 or 8 bits", name, *bits))
	}
}

func (w *walker) weights(name string, wp **datapath.Weights, n, k int) {
	if w.err != nil {
		return
	}
	var data []int8
	bits := 8
	if !w.v.reading() {
		if *wp == nil {
			w.do(fmt.Errorf("%s: no weights", name))
			return
		}
		data = (*wp).Data
		if (*wp).Int4 {
			bits = 4
		}
	}
	intSlice(w, name, "I8", &data, []int{n, k}, false)
	w.weightBits(name, &bits)
	if w.err == nil && w.v.reading() {
		newW := datapath.NewWeights
		if bits == 4 {
			newW = datapath.NewInt4Weights
		}
		dw, err := newW(n, k, data)
		if err != nil {
			w.do(fmt.Errorf("%s: %w", name, err))
			return
		}
		*wp = dw
	}
}

func (w *walker) matrix8(name string, m *datapath.Matrix[int8], rows, cols int) {
	intSlice(w, name, "I8", &m.Data, []int{rows, cols}, false)
	m.Rows, m.Cols = rows, cols
}

func (w *walker) matrix32(name string, m *datapath.Matrix[int32], rows, cols int) {
	intSlice(w, name, "I32", &m.Data, []int{rows, cols}, false)
	m.Rows, m.Cols = rows, cols
}

func (w *walker) requant(name string, r *datapath.Requantizer, tokens, channels int) {
	w.mults(name+".mult", &r.Mult, anyLen)
	intSlice(w, name+".bias", "I32", &r.Bias, []int{channels}, true)
	intSlice(w, name+".channel_group", "U16", &r.ChannelGroup, []int{channels}, true)
	intSlice(w, name+".token_group", "U8", &r.TokenGroup, []int{tokens}, true)
	intSlice(w, name+".token_shift", "I8", &r.TokenShift, []int{anyLen}, true)
	zp := int(r.ZeroPoint)
	w.scalar(name+".zero_point", &zp)
	r.ZeroPoint = int32(zp)
	w.scalar(name+".bits", &r.Bits)
}

func (w *walker) linear(name string, l *Linear, n, k, tokens int) {
	w.weights(name+".weight", &l.W, n, k)
	w.requant(name, &l.Req, tokens, n)
}

func (w *walker) groupLinear(name string, g *GroupLinear, n, k int, bias bool) {
	w.weights(name+".weight", &g.W, n, k)
	intSlice(w, name+".in_group", "U8", &g.InGroup, []int{k}, false)
	if bias {
		intSlice(w, name+".bias", "I32", &g.Bias, []int{n}, false)
	}
	intSlice(w, name+".mult", "I32", &g.Req.Mult, []int{anyLen}, false)
	zp := int(g.Req.ZeroPoint)
	w.scalar(name+".shift", &g.Req.Shift)
	w.scalar(name+".zero_point", &zp)
	w.scalar(name+".bits", &g.Req.Bits)
	g.Req.ZeroPoint = int32(zp)
}

// split visits the optional split-K stage of out_proj (its weights are
// out_proj's).
func (w *walker) split(name string, sp **GroupLinear, k int) {
	if w.err != nil {
		return
	}
	var in []uint8
	if *sp != nil {
		in = (*sp).InGroup
	}
	intSlice(w, name+".in_group", "U8", &in, []int{k}, true)
	if w.err != nil || in == nil {
		return
	}
	if *sp == nil {
		*sp = &GroupLinear{}
	}
	g := *sp
	g.InGroup = in
	intSlice(w, name+".mult", "I32", &g.Req.Mult, []int{anyLen}, false)
	zp := int(g.Req.ZeroPoint)
	w.scalar(name+".shift", &g.Req.Shift)
	w.scalar(name+".zero_point", &zp)
	w.scalar(name+".bits", &g.Req.Bits)
	g.Req.ZeroPoint = int32(zp)
}

func (w *walker) tables(name string, t *datapath.ChannelTables, channels int) {
	if w.err != nil {
		return
	}
	var ent []int8
	var clamped []uint8
	if !w.v.reading() {
		for i := range t.Tables {
			ent = append(ent, t.Tables[i].Entries[:]...)
			for _, c := range t.Tables[i].Clamped {
				clamped = append(clamped, uint8(b2i(c)))
			}
		}
	}
	intSlice(w, name+".tables", "I8", &ent, []int{anyLen, 256}, false)
	intSlice(w, name+".clamped", "U8", &clamped, []int{anyLen, 256}, false)
	intSlice(w, name+".index", "U8", &t.Index, []int{channels}, false)
	if w.err != nil || !w.v.reading() {
		return
	}
	if len(ent) != len(clamped) || len(ent)%256 != 0 {
		w.do(fmt.Errorf("%s: %d entries and %d clamp flags", name, len(ent), len(clamped)))
		return
	}
	t.Tables = make([]datapath.Table8, len(ent)/256)
	for i := range t.Tables {
		copy(t.Tables[i].Entries[:], ent[i*256:(i+1)*256])
		for j, c := range clamped[i*256 : (i+1)*256] {
			if c > 1 {
				w.do(fmt.Errorf("%s.clamped: flag %d is not 0 or 1", name, c))
				return
			}
			t.Tables[i].Clamped[j] = c == 1
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (w *walker) norm(name string, p *datapath.NormParams, d int) {
	intSlice(w, name+".gamma", "I16", &p.Gamma, []int{d}, false)
	w.scalar(name+".gamma_bits", &p.GammaBits)
	if w.err == nil {
		w.do(w.v.scalar(name+".eps_d", &p.EpsD))
	}
	m, s := int(p.Out.M), int(p.Out.Shift)
	w.scalar(name+".out.m", &m)
	w.scalar(name+".out.shift", &s)
	if s < math.MinInt8 || s > math.MaxInt8 {
		w.do(fmt.Errorf("scalar %s.out.shift = %d out of range", name, s))
	}
	p.Out = datapath.Multiplier{M: int32(m), Shift: int8(s)}
	zp := int(p.ZeroPoint)
	w.scalar(name+".zero_point", &zp)
	p.ZeroPoint = int32(zp)
	w.scalar(name+".bits", &p.Bits)
}

func (w *walker) scan(name string, s *datapath.ScanParams, e, n, l int) {
	s.Channels, s.States, s.Steps = e, n, l
	if !w.v.reading() || w.v.version() >= 3 {
		bits := s.StateFormat().Bits
		w.scalar(name+".state_bits", &bits)
		if w.v.reading() {
			s.StateBits = 0 // 8: the zero value, as NewScanParams leaves it
			if bits != datapath.ScanStateBits {
				s.StateBits = bits
			}
		}
	}
	intSlice(w, name+".a_neg", "I32", &s.ANeg, []int{e * n}, false)
	intSlice(w, name+".step_log2", "I32", &s.StepLog2, []int{l}, false)
	w.mults(name+".u_chan", &s.UChan, e)
	intSlice(w, name+".u_chan_norm", "I8", &s.UChanNorm, []int{e}, false)
	w.mults(name+".u_step", &s.UStep, l)
	w.mults(name+".y_step", &s.YStep, l)
	intSlice(w, name+".token_group", "U8", &s.TokenGroup, []int{l}, false)
	intSlice(w, name+".group_shift", "I8", &s.GroupShift, []int{anyLen}, false)
	intSlice(w, name+".skip_shift", "I8", &s.SkipShift, []int{e}, false)
	intSlice(w, name+".skip_d", "I32", &s.SkipD, []int{e}, false)
	w.mults(name+".gate", &s.Gate, e)
}

func (w *walker) one(name string, v *float64) {
	s := []float64{*v}
	w.f64(name, &s, 1)
	if w.err == nil {
		*v = s[0]
	}
}

func (w *walker) tokenScale(name string, t *TokenScale, tokens int) {
	w.one(name+".s0", &t.S0)
	var e []int8
	if !w.v.reading() {
		for _, x := range t.Exp {
			e = append(e, int8(x))
		}
	}
	intSlice(w, name+".exp", "I8", &e, []int{anyLen}, false)
	if w.err == nil && w.v.reading() {
		t.Exp = make([]int, len(e))
		for i, x := range e {
			t.Exp[i] = int(x)
		}
	}
	intSlice(w, name+".group", "U8", &t.Group, []int{tokens}, false)
}

func (w *walker) scales(s *Scales, c vim.Config) {
	E, L := c.DInner, c.Tokens()
	w.one("scales.residual", &s.Residual)
	w.one("scales.patch_embed", &s.Patch)
	w.one("scales.norm_f", &s.NormF)
	if w.err == nil {
		w.do(w.v.f64("scales.logits", &s.Logits, []int{anyLen}))
	}
	for i := range s.Layers {
		l := &s.Layers[i]
		p := "scales.layers." + strconv.Itoa(i) + "."
		w.one(p+"norm", &l.Norm)
		w.f64(p+"xz", &l.XZ, 2*E)
		w.f64(p+"z", &l.Z, E)
		w.f64(p+"merge", &l.Merge, E)
		w.tokenScale(p+"out", &l.Out, L)
		for d := range l.Dir {
			ds := &l.Dir[d]
			q := p + [2]string{"fwd.", "bwd."}[d]
			w.f64(q+"conv", &ds.Conv, E)
			w.f64(q+"x", &ds.X, E)
			w.one(q+"x_proj", &ds.XProj)
			w.one(q+"dt", &ds.Dt)
			w.f64(q+"delta", &ds.Delta, E)
			w.tokenScale(q+"y", &ds.Y, L)
		}
	}
}

// writer collects tensors and scalars.
type writer struct {
	w       *ckpt.ArtifactWriter
	scalars map[string]int64
}

func (w *writer) reading() bool { return false }

func (w *writer) version() int { return FileVersion }

func (w *writer) ints(name, dtype string, shape []int, optional bool, get func() []int64, _ func([]int64)) error {
	v := get()
	if v == nil {
		if optional {
			return nil
		}
		return fmt.Errorf("%s: missing", name)
	}
	return ckpt.PutInts(w.w, name, dtype, shape, v)
}

func (w *writer) f64(name string, v *[]float64, shape []int) error {
	return w.w.PutFloats(name, shape, *v)
}

func (w *writer) scalar(name string, v *int64) error {
	w.scalars[name] = *v
	return nil
}

// reader fills a Program from a file.
type reader struct {
	r          *ckpt.ArtifactReader
	scalars    map[string]int64
	usedScalar map[string]bool
	vers       int
}

func (r *reader) reading() bool { return true }

func (r *reader) version() int { return r.vers }

func (r *reader) ints(name, dtype string, shape []int, optional bool, _ func() []int64, set func([]int64)) error {
	v, err := ckpt.GetInts[int64](r.r, name, dtype, shape, optional)
	if err != nil {
		return err
	}
	set(v)
	return nil
}

func (r *reader) f64(name string, v *[]float64, shape []int) error {
	f, err := r.r.Floats(name, shape, false)
	if err != nil {
		return err
	}
	*v = f
	return nil
}

func (r *reader) scalar(name string, v *int64) error {
	x, ok := r.scalars[name]
	if !ok {
		return fmt.Errorf("metadata intprog: missing scalar %s", name)
	}
	r.usedScalar[name] = true
	*v = x
	return nil
}
