package traces

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/bits"
	"math/rand/v2"
	"strings"

	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
)

// SyntheticSource describes the operands Synthetic draws, for
// Options.Source.
func SyntheticSource(seed uint64) string {
	return fmt.Sprintf("synthetic: deterministic pseudo-random operands and constants at the model's shapes (seed %d), "+
		"not a recorded simulator run", seed)
}

// Synthetic drives rec with deterministic pseudo-random operands and
// constants at the shapes of the model cfg, one invocation per unit and
// operation of every selected layer of its op list (intprog.Lower):
//
//   - GEMM ops (patch_embed, in_proj, dt_proj, out_proj, head): the GEMM,
//     then the requantization of its accumulators;
//   - x_proj: split-K by four input channel groups (DATAPATH.md §3.4, §11):
//     one GEMM per group on the gathered columns, then the group
//     requantizer;
//   - conv1d ops: the depthwise causal convolution (DATAPATH.md §4.5);
//   - SiLU and softplus ops: an int8 lookup through four channel tables;
//   - scan ops: the scan of that direction;
//   - the gate op: the direction merge (DATAPATH.md §9);
//   - norm ops: the RMSNorm of the rows;
//   - the residual op of each block: the residual add of the block's
//     output (L×D; DATAPATH.md §10);
//   - and everything Corners records: the edge-case sets, the exponent
//     unit's sweep and the interpolated int16 softplus.
//
// The operands mix uniform values with the extremes (−128, 127, the int16
// and INT32 limits, rounding ties) and the constants are derived with the
// offline helpers of hw/datapath from plausible scales. The same seed gives
// the same vectors. This stands in for the recording of a real simulator
// run.
func Synthetic(ctx context.Context, rec *Recorder, cfg vim.Config, seed uint64) error {
	if err := Corners(ctx, rec, cfg, seed); err != nil {
		return err
	}
	l, err := intprog.Lower(cfg)
	if err != nil {
		return err
	}
	for i := range l.Ops {
		op := &l.Ops[i]
		if err := ctx.Err(); err != nil {
			return err
		}
		if !rec.WantsAny(op.Layer, Families(op.Kind)) {
			continue
		}
		rng := opRand(seed, op.Layer, op.Name)
		var err error
		switch op.Kind {
		case intprog.KindGEMM:
			if strings.HasPrefix(op.Name, "x_proj") {
				err = synthGroupedGEMM(rec, rng, op)
			} else {
				err = synthGEMM(rec, rng, op)
			}
		case intprog.KindDWConv:
			err = synthDWConv(rec, rng, op)
		case intprog.KindSiLU:
			err = synthTables(rec, rng, op, datapath.NewSiLUTable)
		case intprog.KindSoftplus:
			err = synthTables(rec, rng, op, datapath.NewSoftplusTable)
		case intprog.KindScan:
			err = synthScan(rec, rng, op)
		case intprog.KindGate:
			err = synthMerge(rec, rng, op)
		case intprog.KindNorm:
			err = synthNorm(rec, rng, op, cfg.Eps)
		case intprog.KindResidual:
			err = synthResidual(rec, rng, op.Layer, op.M, op.N)
		}
		if err != nil {
			return fmt.Errorf("synthetic %s (layer %s): %w", op.Name, vim.LayerName(op.Layer), err)
		}
	}
	return nil
}

// Corners drives rec with what a recording of a real simulator run does not
// reach, for the recorder's selected layers and units: per block the
// edge-case sets (edge.go: requantizer, norm, scan, depthwise convolution,
// merge and residual add corners), the exponent unit on its range ends,
// saturation, underflow edge, segment boundaries and the INT32 limits
// (op "exp2", once per block with a scan), and an interpolated softplus of
// int16 inputs on the forward softplus' shape (op "softplus_int16", the
// wider design point of DATAPATH.md §6.2 that the int8 datapath does not
// use). Synthetic records all of it too; a recorded run adds it with
// Corners. The same seed gives the same vectors.
func Corners(ctx context.Context, rec *Recorder, cfg vim.Config, seed uint64) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	l, err := intprog.Lower(cfg)
	if err != nil {
		return err
	}
	edgeDone, expDone := map[int]bool{}, map[int]bool{}
	for i := range l.Ops {
		op := &l.Ops[i]
		if err := ctx.Err(); err != nil {
			return err
		}
		if op.Layer >= 0 && !edgeDone[op.Layer] {
			edgeDone[op.Layer] = true
			if err := synthEdges(rec, seed, op.Layer, cfg); err != nil {
				return fmt.Errorf("corner cases (layer %d): %w", op.Layer, err)
			}
		}
		var err error
		switch {
		case op.Kind == intprog.KindScan && !expDone[op.Layer] && rec.Wants(op.Layer, UnitScan):
			expDone[op.Layer] = true
			err = synthExp2(rec, opRand(seed, op.Layer, "exp2"), op.Layer)
		case op.Kind == intprog.KindSoftplus && op.Name == "softplus":
			err = synthInterp16(rec, opRand(seed, op.Layer, "softplus_int16"), op)
		}
		if err != nil {
			return fmt.Errorf("corner cases %s (layer %s): %w", op.Name, vim.LayerName(op.Layer), err)
		}
	}
	return nil
}

// opRand returns the generator of one operation: a PCG seeded with seed
// and a hash of the layer and op name.
func opRand(seed uint64, layer int, op string) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", layer, op)
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// randInt8 fills v with uniform int8 values, one in 16 replaced by an
// extreme (−128, 127, 0, −1, 1).
func randInt8(r *rand.Rand, v []int8) {
	edges := [...]int8{-128, 127, 0, -1, 1}
	for i := range v {
		if r.IntN(16) == 0 {
			v[i] = edges[r.IntN(len(edges))]
		} else {
			v[i] = int8(r.IntN(256) - 128)
		}
	}
}

func synthGEMM(rec *Recorder, r *rand.Rand, op *intprog.Op) error {
	wantG, wantQ := rec.Wants(op.Layer, UnitGEMM), rec.Wants(op.Layer, UnitRequant)
	if !wantG && !wantQ {
		return nil
	}
	a := datapath.NewMatrix[int8](op.M, op.K)
	randInt8(r, a.Data)
	wd := make([]int8, op.N*op.K)
	randInt8(r, wd)
	w, err := datapath.NewWeights(op.N, op.K, wd)
	if err != nil {
		return err
	}
	if err := rec.GEMM(op.Layer, op.Name, a, w); err != nil {
		return err
	}
	if !wantQ {
		return nil
	}
	acc := datapath.NewMatrix[int32](op.M, op.N)
	if err := datapath.GEMM(acc, a, w, nil); err != nil {
		return err
	}
	outBits := 8
	switch op.Name {
	case "dt_proj", "dt_proj_b":
		outBits = 16 // Δ pre-activation, into the interpolated softplus
	case "out_proj", "patch_embed", "head":
		outBits = 32 // the int32 residual stream and logits
	}
	q := synthRequantizer(r, acc, outBits)
	return rec.Requantize(op.Layer, op.Name, acc, q, 0)
}

// synthRequantizer draws a requantizer for acc with four channel-group
// multipliers scaled so that the outputs span the outBits range (some
// saturate), four token groups with shifts 0, 1, −1, 2, per-channel biases
// (two of them at the int32 limits, to exercise the bias saturation) and a
// small zero point for 8-bit outputs.
func synthRequantizer(r *rand.Rand, acc datapath.Matrix[int32], outBits int) *datapath.Requantizer {
	var maxAbs uint64 = 1
	for _, v := range acc.Data {
		maxAbs = max(maxAbs, uint64(absInt64(int64(v))))
	}
	lb := bits.Len64(maxAbs)
	q := &datapath.Requantizer{Bits: outBits, Mult: make([]datapath.Multiplier, 4),
		ChannelGroup: make([]uint16, acc.Cols), TokenShift: []int8{0, 1, -1, 2},
		TokenGroup: make([]uint8, acc.Rows), Bias: make([]int32, acc.Cols)}
	for g := range q.Mult {
		s := 31 + lb - (outBits - 1) + g - 1
		q.Mult[g] = datapath.Multiplier{M: int32(1<<30 + r.IntN(1<<30)), Shift: int8(min(max(s, 2), 62))}
	}
	for c := range q.ChannelGroup {
		q.ChannelGroup[c] = uint16(r.IntN(len(q.Mult)))
		q.Bias[c] = int32(r.Int64N(int64(1)<<lb) - int64(1)<<(lb-1))
	}
	if acc.Cols > 2 {
		q.Bias[0], q.Bias[1] = math.MaxInt32, math.MinInt32
	}
	for t := range q.TokenGroup {
		q.TokenGroup[t] = uint8(r.IntN(len(q.TokenShift)))
	}
	if outBits == 8 {
		q.ZeroPoint = int32(r.IntN(7) - 3)
	}
	return q
}

func absInt64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// synthGroupedGEMM records x_proj split by four input channel groups: the
// GEMM of each group's gathered columns and the group requantizer that
// combines their partial sums.
func synthGroupedGEMM(rec *Recorder, r *rand.Rand, op *intprog.Op) error {
	wantG, wantQ := rec.Wants(op.Layer, UnitGEMM), rec.Wants(op.Layer, UnitRequant)
	if !wantG && !wantQ {
		return nil
	}
	const groups = 4
	a := datapath.NewMatrix[int8](op.M, op.K)
	randInt8(r, a.Data)
	wd := make([]int8, op.N*op.K)
	randInt8(r, wd)
	w, err := datapath.NewWeights(op.N, op.K, wd)
	if err != nil {
		return err
	}
	group := make([]uint8, op.K)
	for c := range group {
		group[c] = uint8(c % groups) // every group non-empty when K ≥ 4
		if op.K > 2*groups && r.IntN(2) == 0 {
			group[c] = uint8(r.IntN(groups))
		}
	}
	cols, err := datapath.GroupColumns(group, groups)
	if err != nil {
		return err
	}
	var accs []datapath.Matrix[int32]
	var reals []float64
	for g, cs := range cols {
		if len(cs) == 0 {
			continue
		}
		ag := datapath.NewMatrix[int8](op.M, len(cs))
		if err := datapath.GatherColumns(ag, a, cs); err != nil {
			return err
		}
		wg, err := w.Columns(cs)
		if err != nil {
			return err
		}
		if err := rec.GEMM(op.Layer, fmt.Sprintf("%s_g%d", op.Name, g), ag, wg); err != nil {
			return err
		}
		acc := datapath.NewMatrix[int32](op.M, op.N)
		if err := datapath.GEMM(acc, ag, wg, nil); err != nil {
			return err
		}
		var maxAbs int64 = 1
		for _, v := range acc.Data {
			maxAbs = max(maxAbs, absInt64(int64(v)))
		}
		accs = append(accs, acc)
		reals = append(reals, 100/(float64(groups)*float64(maxAbs))*(0.5+r.Float64()))
	}
	if !wantQ {
		return nil
	}
	q, err := datapath.NewGroupRequantizer(reals, 8)
	if err != nil {
		return err
	}
	return rec.RequantizeGroups(op.Layer, op.Name, accs, q)
}

// synthTables records an int8 lookup through four channel tables of the
// function (input and output scales per channel group), on inputs covering
// all 256 codes.
func synthTables(rec *Recorder, r *rand.Rand, op *intprog.Op, table func(in, out float64) (*datapath.Table8, error)) error {
	if !rec.Wants(op.Layer, UnitNonlin) {
		return nil
	}
	ct := &datapath.ChannelTables{Index: make([]uint8, op.N)}
	for g := 0; g < 4; g++ {
		in := math.Ldexp(1+r.Float64(), -6+g) // 2^-6 .. 2^-2
		out := in * (0.5 + r.Float64())
		t, err := table(in, out)
		if err != nil {
			return err
		}
		ct.Tables = append(ct.Tables, *t)
	}
	for c := range ct.Index {
		ct.Index[c] = uint8(r.IntN(len(ct.Tables)))
	}
	x := datapath.NewMatrix[int8](op.M, op.N)
	randInt8(r, x.Data)
	for i := 0; i < min(256, len(x.Data)); i++ {
		x.Data[i] = int8(i - 128) // every code at least once
	}
	return rec.ChannelTables(op.Layer, op.Name, x, ct)
}

// synthInterp16 records an interpolated softplus of int16 inputs (2^8 + 1
// entries, int8 output), the inputs covering both ends of the range and the
// segment boundaries.
func synthInterp16(rec *Recorder, r *rand.Rand, op *intprog.Op) error {
	if !rec.Wants(op.Layer, UnitNonlin) {
		return nil
	}
	in := math.Ldexp(1+r.Float64(), -12) // ±8 .. ±16 over the int16 range
	t, err := datapath.NewInterpTable16(datapath.Softplus, in, 16.0/127, 8, 8)
	if err != nil {
		return err
	}
	x := make([]int16, op.M*op.N)
	edges := [...]int16{-32768, 32767, 0, -1, 1, 255, 256, -256, -257, 128, -128}
	for i := range x {
		switch {
		case i < len(edges):
			x[i] = edges[i]
		case r.IntN(8) == 0:
			x[i] = int16((r.IntN(256)-128)*256 + r.IntN(3) - 1) // near a segment boundary
		default:
			x[i] = int16(r.IntN(65536) - 32768)
		}
	}
	return rec.Interp16(op.Layer, op.Name+"_int16", x, t)
}

// synthExp2 records the exponent unit on its edge cases (saturation,
// underflow, segment boundaries, the int32 limits) and random inputs.
func synthExp2(rec *Recorder, r *rand.Rand, layer int) error {
	u, err := datapath.NewExp2Unit(datapath.DefaultExpTableBits)
	if err != nil {
		return err
	}
	const one = 1 << datapath.ExpInFrac
	z := []int32{datapath.ExpZMax, datapath.ExpZMax + 1, math.MaxInt32, math.MinInt32, 0, -1, 1,
		-26 * one, -26*one - 1, -27 * one, -one, one, -one / 2, 7 * one, -16 * one}
	seg := int32(1) << (datapath.ExpInFrac - u.TableBits())
	for i := int32(-8); i <= 8; i++ {
		z = append(z, i*seg, i*seg-1, i*seg+1, i*seg+seg/2)
	}
	for len(z) < 1024 {
		z = append(z, int32(r.Int64N(36*one)-28*one))
	}
	return rec.Exp2(layer, "exp2", z, u)
}

// synthScan records one scan direction with constants derived by
// datapath.NewScanParams from plausible scales (grouped channel scales,
// reparameterization factors, per-step state scales, four token groups).
func synthScan(rec *Recorder, r *rand.Rand, op *intprog.Op) error {
	L, E, N := op.M, op.N, op.K
	u, err := datapath.NewExp2Unit(datapath.DefaultExpTableBits)
	if err != nil {
		return err
	}
	var p *datapath.ScanParams
	for try := 0; ; try++ {
		p, err = datapath.NewScanParams(E, N, L, synthScanScales(r, E, N, L))
		if err == nil {
			break
		}
		if try == 9 {
			return err
		}
	}
	in := datapath.ScanInputs{X: datapath.NewMatrix[int8](L, E), Delta: datapath.NewMatrix[int8](L, E),
		Z: datapath.NewMatrix[int8](L, E), B: datapath.NewMatrix[int8](L, N), C: datapath.NewMatrix[int8](L, N)}
	randInt8(r, in.X.Data)
	randInt8(r, in.Z.Data)
	randInt8(r, in.B.Data)
	randInt8(r, in.C.Data)
	for i := range in.Delta.Data {
		if r.IntN(64) == 0 {
			in.Delta.Data[i] = int8(-1 - r.IntN(128)) // a negative Δ saturates the exponent
		} else {
			in.Delta.Data[i] = int8(r.IntN(128)) // softplus ≥ 0
		}
	}
	return rec.Scan(op.Layer, op.Name, in, p, u)
}

func synthScanScales(r *rand.Rand, E, N, L int) *datapath.ScanScales {
	group := func(base float64) []float64 {
		g := [4]float64{}
		for i := range g {
			g[i] = base * math.Exp2(float64(i)) * (0.75 + 0.5*r.Float64())
		}
		v := make([]float64, E)
		for d := range v {
			v[d] = g[r.IntN(4)]
		}
		return v
	}
	s := &datapath.ScanScales{
		A: make([]float64, E*N), D: make([]float64, E), RC: make([]float64, E), RL: make([]float64, L),
		StateScale: make([]float64, L), DeltaScale: group(0.004), XScale: group(0.01), ZScale: group(0.01),
		BScale: 3.0 / 127, CScale: 3.0 / 127, YScale: 8.0 / 127, GroupShift: []int{0, 1, 2, 3},
		TokenGroup: make([]int, L), MergeScale: 8.0 / 127,
	}
	for d := 0; d < E; d++ {
		for n := 0; n < N; n++ {
			s.A[d*N+n] = -float64(n+1) * math.Exp(0.5*r.NormFloat64())
		}
		s.D[d] = 1 + 0.5*r.NormFloat64()
		if d%11 == 3 {
			s.D[d] = 0
		}
		s.RC[d] = math.Exp(0.3 * r.NormFloat64())
	}
	for t := 0; t < L; t++ {
		s.RL[t] = math.Exp(0.3 * r.NormFloat64())
		s.StateScale[t] = 5.0 / 127 * math.Exp2(2*r.Float64()-1)
		s.TokenGroup[t] = r.IntN(4)
	}
	return s
}

// synthNorm records an RMSNorm of rows of residual-stream values with
// magnitudes from 2^4 to 2^24, plus a zero row, a row of int32 extremes
// (the sum of squares overflows) and a row of ±1.
func synthNorm(rec *Recorder, r *rand.Rand, op *intprog.Op, eps float64) error {
	if !rec.Wants(op.Layer, UnitNorm) {
		return nil
	}
	D := op.N
	u, err := datapath.NewNormUnit(datapath.DefaultRsqrtTableBits)
	if err != nil {
		return err
	}
	const gammaBits = 12
	gamma := make([]int16, D)
	for c := range gamma {
		gamma[c] = int16(1<<10 + r.IntN(1<<10) - 1<<9)
		if r.IntN(16) == 0 {
			gamma[c] = int16(r.IntN(1<<gammaBits) - 1<<(gammaBits-1))
		}
	}
	const inScale = 1.0 / 4096
	p, err := datapath.NewNormParams(gamma, gammaBits, 1.0/1024, inScale, 3.0/127, eps, 8)
	if err != nil {
		return err
	}
	x := datapath.NewMatrix[int32](op.M, D)
	for i := 0; i < op.M; i++ {
		row := x.Row(i)
		switch {
		case i == 1 && op.M > 3:
			// zero row: v = eps_d
		case i == 2 && op.M > 3:
			for c := range row {
				row[c] = math.MinInt32
				if c%2 == 1 {
					row[c] = math.MaxInt32
				}
			}
		case i == 3 && op.M > 3:
			for c := range row {
				row[c] = int32(1 - 2*(c%2))
			}
		default:
			mag := math.Exp2(4 + 20*r.Float64())
			for c := range row {
				row[c] = int32(math.Round(mag * r.NormFloat64()))
			}
		}
	}
	return rec.RMSNorm(op.Layer, op.Name, x, u, p)
}

// synthDWConv records a depthwise convolution of uniform int8 inputs and
// taps with the extremes, plus channel 0 at the largest sum (x = w = −128 on
// every step and tap) and channel 1 at the smallest (x = 127, w = −128).
func synthDWConv(rec *Recorder, r *rand.Rand, op *intprog.Op) error {
	if !rec.Wants(op.Layer, UnitDWConv) {
		return nil
	}
	L, T, E := op.M, op.K, op.N
	x := datapath.NewMatrix[int8](L, E)
	w := datapath.NewMatrix[int8](E, T)
	randInt8(r, x.Data)
	randInt8(r, w.Data)
	for c, xv := range []int8{-128, 127} {
		if c >= E {
			break
		}
		for t := 0; t < L; t++ {
			x.Data[t*E+c] = xv
		}
		for k := 0; k < T; k++ {
			w.Data[c*T+k] = -128
		}
	}
	return rec.DepthwiseConv(op.Layer, op.Name, x, w, 8)
}

// synthMerge records a direction merge of gated int16 outputs: the int16
// limits, rounding ties on both sides of zero and the saturation edges
// first, then one in eight pairs with a tie (f + b = 2^(GateFrac+1)·k +
// 2^GateFrac), one in sixteen around the upper saturation edge, one in
// sixteen uniform over int16, the rest moderate.
func synthMerge(rec *Recorder, r *rand.Rand, op *intprog.Op) error {
	if !rec.Wants(op.Layer, UnitVector) {
		return nil
	}
	half, hi, lo := mergeEdges()
	unit := 2 * half
	fwd := datapath.NewMatrix[int16](op.M, op.N)
	bwd := datapath.NewMatrix[int16](op.M, op.N)
	edges := [][2]int{{32767, 32767}, {-32768, -32768}, {32767, -32768}, {-32768, 32767}, {half, 0}, {-half, 0},
		{half - 1, 0}, {-half - 1, 0}, {0, 3 * half}, {-3 * half, 0}, {hi / 2, hi - hi/2}, {hi / 2, hi - hi/2 - 1},
		{-1, 0}, {1, 0}, {0, 0}}
	if lo >= -65536 {
		edges = append(edges, [2]int{lo / 2, lo - lo/2}, [2]int{lo / 2, lo - lo/2 - 1})
	}
	for i := range fwd.Data {
		var f, b int
		switch {
		case i < len(edges):
			f, b = edges[i][0], edges[i][1]
		case r.IntN(8) == 0:
			b = r.IntN(1<<14) - 1<<13
			f = unit*(r.IntN(64)-32) + half - b
		case r.IntN(16) == 0:
			f = min(hi/2+r.IntN(2*unit)-unit, 32767)
			b = min(hi-f+r.IntN(2*unit)-unit, 32767)
		case r.IntN(16) == 0:
			f, b = r.IntN(1<<16)-1<<15, r.IntN(1<<16)-1<<15
		default:
			f, b = r.IntN(1<<15)-1<<14, r.IntN(1<<15)-1<<14
		}
		fwd.Data[i], bwd.Data[i] = int16(f), int16(b)
	}
	return rec.Merge(op.Layer, op.Name, fwd, bwd)
}

// mergeEdges returns the merge's rounding half 2^GateFrac and its
// saturation edges: f + b ≥ hi rounds above 127, f + b < lo below −128.
func mergeEdges() (half, hi, lo int) {
	half = 1 << datapath.GateFrac
	return half, 255 * half, -257 * half
}

// synthResidual records one residual add of an L×D block output: pairs at
// and around the int32 limits first (saturating up and down, and reaching
// the limits exactly), then one in sixteen an int32 edge value plus a
// uniform int32, the rest residual values and addends of random magnitudes
// 2^4..2^27.
func synthResidual(rec *Recorder, r *rand.Rand, layer, L, D int) error {
	if !rec.Wants(layer, UnitVector) {
		return nil
	}
	res := datapath.NewMatrix[int32](L, D)
	add := datapath.NewMatrix[int32](L, D)
	const hi, lo = math.MaxInt32, math.MinInt32
	edges := [][2]int32{{hi, 1}, {lo, -1}, {hi, hi}, {lo, lo}, {hi, lo}, {hi - 5, 10}, {lo + 5, -10},
		{hi - 1, 1}, {lo + 1, -1}, {hi, 0}, {lo, 0}, {0, lo}, {-1, lo}, {1, hi}}
	mag := func() int32 {
		m := int64(1) << (4 + r.IntN(24))
		return int32(r.Int64N(2*m) - m)
	}
	for i := range res.Data {
		switch {
		case i < len(edges):
			res.Data[i], add.Data[i] = edges[i][0], edges[i][1]
		case r.IntN(16) == 0:
			res.Data[i], add.Data[i] = int32Edges[r.IntN(len(int32Edges))], int32(r.Uint32())
		default:
			res.Data[i], add.Data[i] = mag(), mag()
		}
	}
	return rec.ResidualAdd(layer, "residual", res, add)
}
