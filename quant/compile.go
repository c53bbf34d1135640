package quant

import (
	"fmt"
	"math"

	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/quant/intprog"
)

// CompileOptions refine CompileWith.
type CompileOptions struct {
	// Merge are the scales of the merged int8 out_proj input of each
	// layer, a quantization point the integer datapath adds to the
	// method's (DATAPATH.md §11, "new"); CalibrateMerge measures them. Nil
	// takes the quantized model's merge quantizer (QLayer.Merge)
	// where it has one, else a per-tensor scale derived from a provable
	// bound on the merged value (no saturation, but a coarse int8 grid).
	Merge []MergeScale
	// Source describes where Merge came from (informational).
	Source string
}

// Compile turns the quantized model qm into an integer program with the
// merge scales qm carries (or bounds); see CompileWith.
func Compile(qm *QModel) (*intprog.Program, error) {
	return CompileWith(qm, CompileOptions{})
}

// CompileWith turns the calibrated real scales of qm into the integer
// constants of the datapath (DATAPATH.md §13), with the offline builders of
// hw/datapath. The quantization points the method leaves in float get
// these formats: the input image int8 per channel at 1/(255·std) (exact for
// 8-bit images, see intprog.Input); the residual stream int32 at a model-wide scale
// s_r that maps a provable bound on |residual| to
// 2^intprog.ResidualBits; the gated scan outputs int16 at s_m/128 and their merge int8 at s_m (opt.Merge); the
// logits int32 (the head's output quantizer of qm is not applied). Each op
// takes the bits of qm's recipe (datapathPrecision): int4 or int8 weights,
// 4–8-bit requantized outputs, an int8 or int16 scan state. It fails, with
// a message naming the op, when qm uses a format the datapath cannot
// execute (4–7-bit norm, table, scan or merge outputs, a hidden state other
// than 8 or 16 bits, a per-token quantizer without power-of-two groups,
// per-channel weights feeding a split-K GEMM) or when a constant leaves its
// register.
func CompileWith(qm *QModel, opt CompileOptions) (*intprog.Program, error) {
	p, err := compile(qm, opt)
	if err != nil {
		return nil, fmt.Errorf("compile %s (%s): %w", qm.Config.Name, qm.Method, err)
	}
	return p, nil
}

func compile(qm *QModel, opt CompileOptions) (*intprog.Program, error) {
	c := qm.Config
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if len(qm.Layers) != c.Depth {
		return nil, fmt.Errorf("%d layers for depth %d", len(qm.Layers), c.Depth)
	}
	if err := datapathPrecision(qm); err != nil {
		return nil, err
	}
	if opt.Merge != nil && len(opt.Merge) != c.Depth {
		return nil, fmt.Errorf("%d merge scales for %d layers", len(opt.Merge), c.Depth)
	}
	D := c.Dim
	p := &intprog.Program{Config: c, Method: qm.Method, Source: opt.Source,
		ExpTableBits: datapath.DefaultExpTableBits, RsqrtTableBits: datapath.DefaultRsqrtTableBits,
		Layers: make([]intprog.Layer, c.Depth)}
	p.Scales.Layers = make([]intprog.LayerScales, c.Depth)
	if p.Source == "" {
		p.Source = "merge scales of the quantized model (bounds where it has none)"
	}

	// The residual scale first: it needs every mixer output scale.
	sPE, err := perTensor(qm.Patch.Out, "patch_embed.out")
	if err != nil {
		return nil, err
	}
	bound, err := residualBound(qm, sPE)
	if err != nil {
		return nil, err
	}
	sR := math.Ldexp(bound, -intprog.ResidualBits)
	p.Scales.Residual, p.Scales.Patch = sR, sPE

	if err := compileEmbed(p, qm, sPE, sR); err != nil {
		return nil, err
	}
	for i := range qm.Layers {
		var sM *MergeScale
		if opt.Merge != nil {
			sM = &opt.Merge[i]
		}
		if err := compileLayer(p, qm, i, sR, sM); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}

	// Final norm on the cls row, then the head with int32 logits.
	sNF, err := perTensor(qm.NormF.Out, "norm_f.out")
	if err != nil {
		return nil, err
	}
	if p.NormF, err = normParams(&qm.NormF, sR, sNF, c.Eps); err != nil {
		return nil, fmt.Errorf("norm_f: %w", err)
	}
	p.Scales.NormF = sNF
	hw := rowScales(&qm.Head.W)
	headW, err := weights(&qm.Head.W, c.Classes, D, "head")
	if err != nil {
		return nil, err
	}
	bias, err := biasCodes(qm.Head.Bias, c.Classes, func(j int) float64 { return sNF * hw[j] }, "head")
	if err != nil {
		return nil, err
	}
	unit, err := datapath.QuantizeMultiplier(1)
	if err != nil {
		return nil, err
	}
	p.Head = intprog.Linear{W: headW, Req: datapath.Requantizer{Mult: []datapath.Multiplier{unit}, Bias: bias, Bits: 32}}
	p.Scales.Logits = dedupScales(hw, func(s float64) float64 { return sNF * s })

	if err := p.Build(); err != nil {
		return nil, err
	}
	return p, nil
}

// requantizedOps names the operations whose outputs a requantizer forms:
// the datapath runs them at 4–8 bits (the recipe's activation bits).
const requantizedOps = "patch_embed, in_proj, conv1d, x_proj, dt_proj and out_proj"

// datapathPrecision checks that the integer datapath can run the bits of
// every quantization point of qm, naming the op it cannot: weights of 4–8
// bits (int4 MAC operands at 4 bits, int8 otherwise); activations of 4–8
// bits where a requantizer forms them (requantizedOps; the head's output
// quantizer is not applied, the logits are int32), 8 bits at the outputs
// of the norm unit, the SiLU and softplus tables, the scan (y′) and the
// merge; a hidden state of 8 or 16 bits.
func datapathPrecision(qm *QModel) error {
	act := func(where string, q *ActQuant, unit string) error {
		if q == nil {
			return nil
		}
		return checkActBits(where, q.Bits, unit)
	}
	weight := func(where string, w *QWeight) error {
		if w.Bits < MinBits || w.Bits > 8 {
			return fmt.Errorf("%s: %d-bit weights: the datapath's MAC operands are int4 or int8", where, w.Bits)
		}
		return nil
	}
	errs := []error{weight("patch_embed", &qm.Patch.W), act("patch_embed", qm.Patch.Out, "")}
	for i := range qm.Layers {
		l := &qm.Layers[i]
		at := func(op string) string { return fmt.Sprintf("layer %d %s", i, op) }
		errs = append(errs, weight(at("norm"), &l.Norm.Gamma), act(at("norm"), l.Norm.Out, "norm unit output"),
			weight(at("in_proj"), &l.InProj.W), act(at("in_proj"), l.InProj.Out, ""),
			act(at("silu_z"), l.ActZ, "SiLU table output"))
		for d := range l.Dir {
			qd := &l.Dir[d]
			sfx := [2]string{"", "_b"}[d]
			errs = append(errs, weight(at("conv1d"+sfx), &qd.Conv.W), act(at("conv1d"+sfx), qd.Conv.Out, ""),
				act(at("silu"+sfx), qd.Act, "SiLU table output"),
				weight(at("x_proj"+sfx), &qd.XProj.W), act(at("x_proj"+sfx), qd.XProj.Out, ""),
				weight(at("dt_proj"+sfx), &qd.DtProj.W), act(at("dt_proj"+sfx), qd.DtProj.Out, ""),
				act(at("softplus"+sfx), qd.Delta, "softplus table output"),
				act(at("scan"+sfx), qd.SSM.Y, "scan output y′"))
			errs = append(errs, checkStateBits(at("scan"+sfx), qd.SSM.Bits))
		}
		errs = append(errs, act(at("gate"), l.Merge, "merge output"), weight(at("out_proj"), &l.OutProj.W), act(at("out_proj"), l.OutProj.Out, ""))
	}
	errs = append(errs, weight("norm_f", &qm.NormF.Gamma), act("norm_f", qm.NormF.Out, "norm unit output"), weight("head", &qm.Head.W))
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkActBits checks the bits of an activation at where: 4–8 bits out of
// a requantizer (unit ""), 8 bits out of the named unit.
func checkActBits(where string, bits int, unit string) error {
	if bits < MinBits || bits > 8 {
		return fmt.Errorf("%s: %d-bit activations: the datapath's requantizers output 4-8 bits", where, bits)
	}
	if unit != "" && bits != 8 {
		return fmt.Errorf("%s: %d-bit activations: the datapath's %s is int8 (activations of 4-7 bits run on the outputs of %s)",
			where, bits, unit, requantizedOps)
	}
	return nil
}

// checkStateBits checks the bits of a scan's hidden state at where.
func checkStateBits(where string, bits int) error {
	if bits != datapath.ScanStateBits && bits != datapath.ScanWideStateBits {
		return fmt.Errorf("%s: %d-bit hidden state: the scan unit's state is int%d or int%d", where, bits,
			datapath.ScanStateBits, datapath.ScanWideStateBits)
	}
	return nil
}

// CheckDatapath reports, naming the op as CompileWith does, the first bits
// of pl the integer datapath cannot run: the checks of the compiler that
// depend on the recipe alone (a block's norm, table, scan-output and merge
// activations and norm_f's output at 8 bits, a hidden state of 8 or 16
// bits; requantized outputs and weights of 4–8 bits run). Build calls it
// before calibrating, so that such a recipe is refused at once.
func (pl Plan) CheckDatapath() error {
	for i, b := range pl.Blocks {
		if err := checkActBits(fmt.Sprintf("layer %d norm", i), b.Other.A, "norm unit output"); err != nil {
			return err
		}
		for _, o := range BlockOps() {
			if err := checkActBits(fmt.Sprintf("layer %d %s", i, o), b.Ops[o].A, ""); err != nil {
				return err
			}
		}
		if err := checkStateBits(fmt.Sprintf("layer %d scan", i), b.H); err != nil {
			return err
		}
	}
	return checkActBits("norm_f", pl.Final.A, "norm unit output")
}

// codeMax is the largest magnitude of a bits-bit code, 2^(bits−1).
func codeMax(bits int) float64 { return math.Ldexp(1, bits-1) }

// residualBound bounds |residual| over every layer: the largest token of
// r₀ (an int8 patch token of magnitude ≤ 128·s_pe plus the position
// embedding, or the cls token plus its position) plus, for each layer, the
// largest mixer output an int8 code can represent (128·s_o0·2^max e_g).
func residualBound(qm *QModel, sPE float64) (float64, error) {
	c := qm.Config
	D, L, tp := c.Dim, c.Tokens(), c.ClsPos()
	if len(qm.Pos) != L*D || len(qm.Cls) != D {
		return 0, fmt.Errorf("pos_embed/cls_token have %d/%d values, want %d/%d", len(qm.Pos), len(qm.Cls), L*D, D)
	}
	b := 0.0
	pe := codeMax(qm.Patch.Out.Bits) * sPE
	for t := 0; t < L; t++ {
		for j := 0; j < D; j++ {
			v := pe + math.Abs(qm.Pos[t*D+j])
			if t == tp {
				v = math.Abs(qm.Cls[j] + qm.Pos[t*D+j])
			}
			b = math.Max(b, v)
		}
	}
	for i := range qm.Layers {
		ts, err := tokenScale(qm.Layers[i].OutProj.Out, L, fmt.Sprintf("layer %d out_proj.out", i))
		if err != nil {
			return 0, err
		}
		b += codeMax(qm.Layers[i].OutProj.Out.Bits) * ts.S0 * math.Ldexp(1, maxInt(ts.Exp))
	}
	if !(b > 0) || math.IsInf(b, 0) {
		return 0, fmt.Errorf("residual bound %g is not positive and finite", b)
	}
	return b, nil
}

func maxInt(v []int) int {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// compileEmbed builds the input conversion, the patch embedding and r₀.
func compileEmbed(p *intprog.Program, qm *QModel, sPE, sR float64) error {
	c := qm.Config
	D, L, tp := c.Dim, c.Tokens(), c.ClsPos()
	C, PP := c.Channels, c.Patch*c.Patch
	kk := C * PP
	mean, err := perChannelConst(c.Mean, C, 0, "mean")
	if err != nil {
		return err
	}
	std, err := perChannelConst(c.Std, C, 1, "std")
	if err != nil {
		return err
	}
	p.Input = intprog.Input{Gain: make([]float64, C), Offset: make([]float64, C)}
	sImg := make([]float64, C) // scale of channel c's codes
	off := make([]float64, C)  // real value of code 0 of channel c
	for ch := 0; ch < C; ch++ {
		p.Input.Gain[ch] = 255 * std[ch]
		p.Input.Offset[ch] = 255*mean[ch] - 128
		sImg[ch] = 1 / (255 * std[ch])
		off[ch] = (128/255.0 - mean[ch]) / std[ch]
	}
	w := &qm.Patch.W
	if w.PerChannel() {
		return fmt.Errorf("patch_embed: per-channel weight scales are not supported by the split-K group requantizer")
	}
	sW := w.Scales[0]
	pw, err := weights(w, D, kk, "patch_embed")
	if err != nil {
		return err
	}
	// Input groups: image channels of equal scale.
	gScales, chGroup := groupValues(sImg)
	inGroup := make([]uint8, kk)
	for col := range inGroup {
		inGroup[col] = uint8(chGroup[col/PP])
	}
	factors := make([]float64, len(gScales))
	for g, s := range gScales {
		factors[g] = s * sW / sPE
	}
	req, err := datapath.NewGroupRequantizer(factors, qm.Patch.Out.Bits)
	if err != nil {
		return fmt.Errorf("patch_embed: %w", err)
	}
	// Bias: b + s_w·Σ_col off[c(col)]·w[j][col], in the scale of group 0.
	bias := make([]int32, D)
	acc0 := gScales[0] * sW
	k0 := 0
	for _, g := range inGroup {
		if g == 0 {
			k0++
		}
	}
	for j := 0; j < D; j++ {
		v := 0.0
		if qm.Patch.Bias != nil {
			v = qm.Patch.Bias[j]
		}
		for col := 0; col < kk; col++ {
			v += sW * off[col/PP] * float64(w.Codes[j*kk+col])
		}
		b, err := toInt32(v/acc0, "patch_embed bias", j, int64(k0)*128*128)
		if err != nil {
			return err
		}
		bias[j] = b
	}
	if qm.Patch.Bias != nil && len(qm.Patch.Bias) != D {
		return fmt.Errorf("patch_embed: %d biases for %d outputs", len(qm.Patch.Bias), D)
	}
	p.Embed.Patch = intprog.GroupLinear{W: pw, InGroup: inGroup, Bias: bias, Req: *req}
	toRes, err := requantizer([]float64{sPE / sR}, nil, 32)
	if err != nil {
		return fmt.Errorf("patch_embed residual: %w", err)
	}
	p.Embed.ToResidual = toRes
	pos := datapath.NewMatrix[int32](L, D)
	for t := 0; t < L; t++ {
		for j := 0; j < D; j++ {
			v := qm.Pos[t*D+j]
			if t == tp {
				v += qm.Cls[j]
			}
			q, err := toInt32(v/sR, "pos_embed", t*D+j, 1<<30)
			if err != nil {
				return err
			}
			pos.Data[t*D+j] = q
		}
	}
	p.Embed.Pos = pos
	return nil
}

// compileLayer builds block i; sM is its merge scale (nil: from the bound).
func compileLayer(p *intprog.Program, qm *QModel, i int, sR float64, sM *MergeScale) error {
	c := qm.Config
	D, E, L, N, K, R := c.Dim, c.DInner, c.Tokens(), c.DState, c.DConv, c.DtRank
	XO := c.XProjOut()
	ql := &qm.Layers[i]
	l := &p.Layers[i]
	ls := &p.Scales.Layers[i]
	var err error

	sN, err := perTensor(ql.Norm.Out, "norm.out")
	if err != nil {
		return err
	}
	if l.Norm, err = normParams(&ql.Norm, sR, sN, c.Eps); err != nil {
		return fmt.Errorf("norm: %w", err)
	}
	ls.Norm = sN

	// in_proj → x | z (int8).
	sXZ, err := perChannel(ql.InProj.Out, 2*E, "in_proj.out")
	if err != nil {
		return err
	}
	if l.InProj, err = linear(&ql.InProj.W, 2*E, D, nil, func(j int) float64 { return sN }, sXZ, ql.InProj.Out.Bits, "in_proj"); err != nil {
		return err
	}
	ls.XZ = sXZ
	sZ, err := perChannel(ql.ActZ, E, "act_z.out")
	if err != nil {
		return err
	}
	if l.SiLUZ, err = tables(datapath.SiLU, sXZ[E:], sZ); err != nil {
		return fmt.Errorf("silu_z: %w", err)
	}
	ls.Z = sZ

	var ds [2]*intprog.DirScales
	for d := range ql.Dir {
		qd := &ql.Dir[d]
		dr := &l.Dir[d]
		s := &ls.Dir[d]
		ds[d] = s
		name := [2]string{"fwd", "bwd"}[d]
		fail := func(err error) error { return fmt.Errorf("%s %w", name, err) }

		// conv1d: int8 taps, bias, channel-grouped int8 output.
		sConv, err := perChannel(qd.Conv.Out, E, "conv1d.out")
		if err != nil {
			return fail(err)
		}
		cw := rowScales(&qd.Conv.W)
		if qd.Conv.W.Rows != E || qd.Conv.W.Cols != K {
			return fail(fmt.Errorf("conv1d: weight %dx%d, want %dx%d", qd.Conv.W.Rows, qd.Conv.W.Cols, E, K))
		}
		dr.ConvW = datapath.Matrix[int8]{Rows: E, Cols: K, Data: append([]int8(nil), qd.Conv.W.Codes...)}
		dr.ConvWBits = macBits(qd.Conv.W.Bits)
		accScale := func(j int) float64 { return sXZ[j] * cw[j] }
		bias, err := biasCodes(qd.Conv.Bias, E, accScale, "conv1d")
		if err != nil {
			return fail(err)
		}
		f := make([]float64, E)
		for j := range f {
			f[j] = accScale(j) / sConv[j]
		}
		if dr.Conv, err = requantizer(f, bias, qd.Conv.Out.Bits); err != nil {
			return fail(fmt.Errorf("conv1d: %w", err))
		}
		s.Conv = sConv

		// SiLU.
		sX, err := perChannel(qd.Act, E, "act.out")
		if err != nil {
			return fail(err)
		}
		if dr.SiLU, err = tables(datapath.SiLU, sConv, sX); err != nil {
			return fail(fmt.Errorf("silu: %w", err))
		}
		s.X = sX

		// x_proj: split-K by the SiLU output's channel groups.
		sXP, err := perTensor(qd.XProj.Out, "x_proj.out")
		if err != nil {
			return fail(err)
		}
		if qd.XProj.W.PerChannel() {
			return fail(fmt.Errorf("x_proj: per-channel weight scales are not supported by the split-K group requantizer"))
		}
		xw, err := weights(&qd.XProj.W, XO, E, "x_proj")
		if err != nil {
			return fail(err)
		}
		gScales, chGroup := groupValues(sX)
		if len(gScales) > datapath.MaxGroups {
			return fail(fmt.Errorf("x_proj: the SiLU output has %d distinct channel scales, the group requantizer takes at most %d", len(gScales), datapath.MaxGroups))
		}
		gf := make([]float64, len(gScales))
		for g, v := range gScales {
			gf[g] = v * qd.XProj.W.Scales[0] / sXP
		}
		greq, err := datapath.NewGroupRequantizer(gf, qd.XProj.Out.Bits)
		if err != nil {
			return fail(fmt.Errorf("x_proj: %w", err))
		}
		in := make([]uint8, E)
		for j, g := range chGroup {
			in[j] = uint8(g)
		}
		dr.XProj = intprog.GroupLinear{W: xw, InGroup: in, Req: *greq}
		s.XProj = sXP

		// dt_proj (bias) → int8, then softplus.
		sDt, err := perChannel(qd.DtProj.Out, E, "dt_proj.out")
		if err != nil {
			return fail(err)
		}
		if dr.DtProj, err = linear(&qd.DtProj.W, E, R, qd.DtProj.Bias, func(int) float64 { return sXP }, sDt, qd.DtProj.Out.Bits, "dt_proj"); err != nil {
			return fail(err)
		}
		sDelta, err := perChannel(qd.Delta, E, "softplus.out")
		if err != nil {
			return fail(err)
		}
		if dr.Softplus, err = tables(datapath.Softplus, sDt, sDelta); err != nil {
			return fail(fmt.Errorf("softplus: %w", err))
		}
		s.Dt = sDt[0]
		for _, v := range sDt {
			if v != s.Dt {
				return fail(fmt.Errorf("dt_proj.out: per-channel scales are not supported (report scale)"))
			}
		}
		s.Delta = sDelta

		yts, err := tokenScale(qd.SSM.Y, L, "ssm.out")
		if err != nil {
			return fail(err)
		}
		s.Y = yts
	}

	// The merge scale, from the caller or from the bound on the gated
	// outputs (DATAPATH.md §14).
	if sM == nil && ql.Merge != nil {
		s, err := perChannel(ql.Merge, E, "merge")
		if err != nil {
			return err
		}
		vals, group := groupValues(s)
		sM = &MergeScale{Scales: vals}
		if len(vals) > 1 {
			sM.Group = make([]uint8, E)
			for ch, g := range group {
				sM.Group[ch] = uint8(g)
			}
		}
	}
	if sM == nil {
		sM = &MergeScale{Scales: []float64{mergeBound(qm, i, ls) / 127.5}}
	}
	sMc, err := sM.perChannel(E)
	if err != nil {
		return err
	}
	ls.Merge = sMc
	// The gate requantizer divides by the merge scale of its channel: pass
	// s_z/s_m per channel and a unit merge scale.
	zOverM := make([]float64, E)
	for ch := range zOverM {
		zOverM[ch] = ls.Z[ch] / sMc[ch]
	}
	for d := range ql.Dir {
		qd := &ql.Dir[d]
		s := ds[d]
		if len(qd.SSM.HScale) != L {
			return fmt.Errorf("%s ssm: %d hidden-state scales for %d steps", [2]string{"fwd", "bwd"}[d], len(qd.SSM.HScale), L)
		}
		if len(qd.ALog) != E*N || len(qd.D) != E {
			return fmt.Errorf("%s ssm: A_log/D have %d/%d values, want %d/%d", [2]string{"fwd", "bwd"}[d], len(qd.ALog), len(qd.D), E*N, E)
		}
		a := make([]float64, E*N)
		for j, v := range qd.ALog {
			a[j] = -math.Exp(v)
		}
		tg := make([]int, L)
		for t, g := range s.Y.Group {
			tg[t] = int(g)
		}
		sc := &datapath.ScanScales{A: a, D: qd.D, RC: qd.SSM.RC, RL: qd.SSM.RL, StateScale: qd.SSM.HScale, StateBits: qd.SSM.Bits,
			DeltaScale: s.Delta, XScale: s.X, BScale: s.XProj, CScale: s.XProj, YScale: s.Y.S0,
			GroupShift: s.Y.Exp, TokenGroup: tg, ZScale: zOverM, MergeScale: 1}
		sp, err := datapath.NewScanParams(E, N, L, sc)
		if err != nil {
			return fmt.Errorf("%s %w", [2]string{"fwd", "bwd"}[d], err)
		}
		l.Dir[d].Scan = *sp
	}

	// out_proj: int8 merged input, k-scaled token-wise pow2 output.
	ots, err := tokenScale(ql.OutProj.Out, L, "out_proj.out")
	if err != nil {
		return err
	}
	ls.Out = ots
	mVals, mGroup := groupValues(sMc)
	out := make([]float64, D)
	if len(mVals) == 1 {
		// One GEMM, one requantizer with the token shifts.
		for j := range out {
			out[j] = ots.S0
		}
		if l.OutProj, err = linear(&ql.OutProj.W, D, E, nil, func(int) float64 { return mVals[0] }, out, ql.OutProj.Out.Bits, "out_proj"); err != nil {
			return err
		}
		setTokenGroups(&l.OutProj.Req, ots, 1)
	} else {
		// Split-K by the merge channel groups: the group requantizer
		// combines the partial sums to int32 at s_i = s_o0·2^(min(e,0)−8),
		// then a requantizer applies the token shifts down to int8.
		if len(mVals) > datapath.MaxGroups {
			return fmt.Errorf("out_proj: %d merge channel groups exceed %d", len(mVals), datapath.MaxGroups)
		}
		if ql.OutProj.W.PerChannel() {
			return fmt.Errorf("out_proj: per-channel weight scales are not supported by the split-K group requantizer")
		}
		sI := math.Ldexp(ots.S0, min(minInt(ots.Exp), 0)-8)
		w, err := weights(&ql.OutProj.W, D, E, "out_proj")
		if err != nil {
			return err
		}
		f := make([]float64, len(mVals))
		for g, v := range mVals {
			f[g] = v * ql.OutProj.W.Scales[0] / sI
		}
		greq, err := datapath.NewGroupRequantizer(f, 32)
		if err != nil {
			return fmt.Errorf("out_proj: %w", err)
		}
		in := make([]uint8, E)
		for ch, g := range mGroup {
			in[ch] = uint8(g)
		}
		l.OutSplit = &intprog.GroupLinear{W: w, InGroup: in, Req: *greq}
		req, err := requantizer([]float64{sI / ots.S0}, nil, ql.OutProj.Out.Bits)
		if err != nil {
			return fmt.Errorf("out_proj: %w", err)
		}
		setTokenGroups(&req, ots, 1)
		l.OutProj = intprog.Linear{W: w, Req: req}
	}
	if l.ToResidual, err = requantizer([]float64{ots.S0 / sR}, nil, 32); err != nil {
		return fmt.Errorf("residual: %w", err)
	}
	setTokenGroups(&l.ToResidual, ots, -1)
	return nil
}

func minInt(v []int) int {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

// mergeBound bounds the merged gated output of layer i: per channel, the
// largest |(r_C·y′ + D·x)·SiLU(z)| the int8 operands can represent, averaged
// over the two directions.
func mergeBound(qm *QModel, i int, ls *intprog.LayerScales) float64 {
	ql := &qm.Layers[i]
	E := qm.Config.DInner
	b := 0.0
	for c := 0; c < E; c++ {
		v := 0.0
		for d := range ql.Dir {
			qd := &ql.Dir[d]
			s := &ls.Dir[d]
			rc := 1.0
			if qd.SSM.RC != nil {
				rc = qd.SSM.RC[c]
			}
			y := 128 * s.Y.S0 * math.Ldexp(1, maxInt(s.Y.Exp)) * rc
			v += (y + math.Abs(qd.D[c])*128*s.X[c]) * 128 * ls.Z[c]
		}
		b = math.Max(b, v/2)
	}
	return b
}

// setTokenGroups gives r the token groups of ts with shifts sign·e_g.
func setTokenGroups(r *datapath.Requantizer, ts intprog.TokenScale, sign int) {
	if len(ts.Exp) == 1 && ts.Exp[0] == 0 {
		return
	}
	r.TokenGroup = append([]uint8(nil), ts.Group...)
	r.TokenShift = make([]int8, len(ts.Exp))
	for g, e := range ts.Exp {
		r.TokenShift[g] = int8(sign * e)
	}
}

// normParams derives the RMSNorm constants of a quantized norm.
func normParams(n *QNorm, sIn, sOut, eps float64) (datapath.NormParams, error) {
	w := &n.Gamma
	if w.Rows != 1 || len(w.Scales) != 1 {
		return datapath.NormParams{}, fmt.Errorf("gain has %d rows and %d scales, want 1 and 1", w.Rows, len(w.Scales))
	}
	g := make([]int16, len(w.Codes))
	for j, v := range w.Codes {
		g[j] = int16(v)
	}
	p, err := datapath.NewNormParams(g, 8, w.Scales[0], sIn, sOut, eps, 8)
	if err != nil {
		return datapath.NormParams{}, err
	}
	return *p, nil
}

// linear builds a GEMM with its requantizer: output j has the accumulator
// scale inScale(j)·s_w[j] and the output scale out[j]; bias (may be nil) is
// the float bias.
func linear(w *QWeight, n, k int, bias []float64, inScale func(j int) float64, out []float64, bits int, name string) (intprog.Linear, error) {
	qw, err := weights(w, n, k, name)
	if err != nil {
		return intprog.Linear{}, err
	}
	ws := rowScales(w)
	acc := func(j int) float64 { return inScale(j) * ws[j] }
	b, err := biasCodes(bias, n, acc, name)
	if err != nil {
		return intprog.Linear{}, err
	}
	f := make([]float64, n)
	for j := range f {
		f[j] = acc(j) / out[j]
	}
	r, err := requantizer(f, b, bits)
	if err != nil {
		return intprog.Linear{}, fmt.Errorf("%s: %w", name, err)
	}
	return intprog.Linear{W: qw, Req: r}, nil
}

// macBits is the MAC operand width of a bits-bit weight: int4 for 4-bit
// weights, int8 for 5–8 bits.
func macBits(bits int) int {
	if bits == 4 {
		return 4
	}
	return 8
}

// weights wraps a quantized weight's codes for the MAC array: int4 values
// for a 4-bit weight, int8 otherwise.
func weights(w *QWeight, n, k int, name string) (*datapath.Weights, error) {
	if w.Rows != n || w.Cols != k {
		return nil, fmt.Errorf("%s: weight %dx%d, want %dx%d", name, w.Rows, w.Cols, n, k)
	}
	if err := w.Validate(); err != nil {
		return nil, fmt.Errorf("%s: weight %w", name, err)
	}
	newW := datapath.NewWeights
	if macBits(w.Bits) == 4 {
		newW = datapath.NewInt4Weights
	}
	dw, err := newW(n, k, append([]int8(nil), w.Codes...))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return dw, nil
}

// rowScales returns the weight scale of each output row.
func rowScales(w *QWeight) []float64 {
	s := make([]float64, w.Rows)
	for r := range s {
		if len(w.Scales) == 1 {
			s[r] = w.Scales[0]
		} else if r < len(w.Scales) {
			s[r] = w.Scales[r]
		}
	}
	return s
}

// requantizer builds a Requantizer with one multiplier per distinct factor
// (channel groups when more than one).
func requantizer(factors []float64, bias []int32, bits int) (datapath.Requantizer, error) {
	vals, group := groupValues(factors)
	r := datapath.Requantizer{Bias: bias, Bits: bits, Mult: make([]datapath.Multiplier, len(vals))}
	for g, v := range vals {
		m, err := datapath.QuantizeMultiplier(v)
		if err != nil {
			return r, err
		}
		r.Mult[g] = m
	}
	if len(vals) > 1 {
		if len(vals) > 1<<16 {
			return r, fmt.Errorf("%d distinct factors exceed the 16-bit channel group index", len(vals))
		}
		r.ChannelGroup = make([]uint16, len(group))
		for c, g := range group {
			r.ChannelGroup[c] = uint16(g)
		}
	}
	return r, nil
}

// tables builds the channel tables of f for per-channel input and output
// scales: one table per distinct (input, output) pair.
func tables(f func(float64) float64, in, out []float64) (datapath.ChannelTables, error) {
	type pair struct{ in, out float64 }
	idx := map[pair]int{}
	var ct datapath.ChannelTables
	ct.Index = make([]uint8, len(in))
	for c := range in {
		k := pair{in[c], out[c]}
		i, ok := idx[k]
		if !ok {
			i = len(ct.Tables)
			if i > 255 {
				return ct, fmt.Errorf("more than 256 distinct (input, output) scale pairs")
			}
			t, err := datapath.NewTable8(f, k.in, k.out)
			if err != nil {
				return ct, err
			}
			ct.Tables = append(ct.Tables, *t)
			idx[k] = i
		}
		ct.Index[c] = uint8(i)
	}
	return ct, nil
}

// biasCodes quantizes a float bias to the accumulator domain of each output:
// round(b[j]/acc(j)). A nil bias gives nil.
func biasCodes(b []float64, n int, acc func(j int) float64, name string) ([]int32, error) {
	if b == nil {
		return nil, nil
	}
	if len(b) != n {
		return nil, fmt.Errorf("%s: %d biases for %d outputs", name, len(b), n)
	}
	out := make([]int32, n)
	for j, v := range b {
		q, err := toInt32(v/acc(j), name+" bias", j, 0)
		if err != nil {
			return nil, err
		}
		out[j] = q
	}
	return out, nil
}

// toInt32 rounds v (half to even, as the fake-quant does) and checks that it
// fits an int32 with the given headroom.
func toInt32(v float64, name string, i int, headroom int64) (int32, error) {
	r := math.RoundToEven(v)
	if math.IsNaN(r) || math.Abs(r) > float64(math.MaxInt32-headroom) {
		return 0, fmt.Errorf("%s[%d] = %g does not fit the int32 accumulator", name, i, r)
	}
	return int32(r), nil
}

// groupValues returns the distinct values of v in order of first occurrence
// and the index of each element's value.
func groupValues(v []float64) (vals []float64, group []int) {
	idx := map[float64]int{}
	group = make([]int, len(v))
	for i, x := range v {
		g, ok := idx[x]
		if !ok {
			g = len(vals)
			vals = append(vals, x)
			idx[x] = g
		}
		group[i] = g
	}
	return vals, group
}

// dedupScales maps per-row weight scales through f; one value when they are
// all equal.
func dedupScales(ws []float64, f func(float64) float64) []float64 {
	vals, _ := groupValues(ws)
	if len(vals) == 1 {
		return []float64{f(vals[0])}
	}
	out := make([]float64, len(ws))
	for j, s := range ws {
		out[j] = f(s)
	}
	return out
}

// perTensor returns the scale of a per-tensor quantizer.
func perTensor(q *ActQuant, name string) (float64, error) {
	if q == nil {
		return 0, fmt.Errorf("%s is not quantized (float in the method); the datapath needs an integer format", name)
	}
	if q.Axis != PerTensor {
		return 0, fmt.Errorf("%s: %s-wise scales, the datapath needs one per-tensor scale here", name, q.Axis)
	}
	return q.Scales[0], nil
}

// perChannel expands a per-tensor or channel-grouped quantizer to one scale
// per channel.
func perChannel(q *ActQuant, n int, name string) ([]float64, error) {
	if q == nil {
		return nil, fmt.Errorf("%s is not quantized (float in the method); the datapath needs an integer format", name)
	}
	if err := q.Validate(n); err != nil && q.Axis != PerTensor {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s := make([]float64, n)
	switch q.Axis {
	case PerTensor:
		for c := range s {
			s[c] = q.Scales[0]
		}
	case PerChannel:
		for c := range s {
			s[c] = q.Scales[q.Group[c]]
		}
	default:
		return nil, fmt.Errorf("%s: token-wise scales, the datapath needs per-channel ones here", name)
	}
	return s, nil
}

// tokenScale returns the k-scaled token-wise power-of-two scale of q (one
// group of exponent 0 for a per-tensor quantizer).
func tokenScale(q *ActQuant, tokens int, name string) (intprog.TokenScale, error) {
	if q == nil {
		return intprog.TokenScale{}, fmt.Errorf("%s is not quantized (float in the method); the datapath needs an integer format", name)
	}
	switch q.Axis {
	case PerTensor:
		return intprog.TokenScale{S0: q.Scales[0], Exp: []int{0}, Group: make([]uint8, tokens)}, nil
	case PerToken:
		if err := q.Validate(tokens); err != nil {
			return intprog.TokenScale{}, fmt.Errorf("%s: %w", name, err)
		}
		if q.Exp == nil {
			return intprog.TokenScale{}, fmt.Errorf("%s: token groups without power-of-two scales need a multiplier per token; the datapath needs s_g = s_0·2^e_g", name)
		}
		if len(q.Scales) > 256 {
			return intprog.TokenScale{}, fmt.Errorf("%s: %d token groups exceed an 8-bit group index", name, len(q.Scales))
		}
		ts := intprog.TokenScale{S0: q.Scales[0], Exp: append([]int(nil), q.Exp...), Group: make([]uint8, tokens)}
		for t, g := range q.Group {
			ts.Group[t] = uint8(g)
		}
		return ts, nil
	}
	return intprog.TokenScale{}, fmt.Errorf("%s: channel-wise scales, the datapath needs token-wise or per-tensor ones here", name)
}

// perChannelConst expands a preprocessing constant (0, 1 or n values).
func perChannelConst(v []float64, n int, def float64, name string) ([]float64, error) {
	out, ok := data.PerChannel(v, n, def)
	if !ok {
		return nil, fmt.Errorf("preprocessing %s has %d values for %d channels", name, len(v), n)
	}
	for _, x := range out {
		if math.IsNaN(x) || math.IsInf(x, 0) || (name == "std" && !(x > 0)) {
			return nil, fmt.Errorf("preprocessing %s %g is not valid", name, x)
		}
	}
	return out, nil
}
