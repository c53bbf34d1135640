package traces

import (
	"math"
	"math/rand/v2"

	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/vim"
)

// Edge sets: small invocations with constants chosen to reach the corners
// a model's own scales rarely reach — rounding ties, the shift cap at 63, a
// zero multiplier, bias and output saturation (requant); v = 0 with a zero
// epsilon and sum-of-squares overflow (norm); negative token-group shifts
// (the rounding right shift of the D skip), state and H saturation (scan);
// the largest and smallest sums and the causal padding (dwconv); every
// pair of int16 edge values, every rounding tie and the saturation edge
// (merge); every pair of int32 edge values (residual add). Corners (and so
// Synthetic) emits them once per selected block as <layer>_edge_<kind>.

// int32Edges are accumulator values at the ends of the range and around
// rounding ties.
var int32Edges = []int32{0, 1, -1, 2, -2, 3, -3, 5, -5, math.MaxInt32, math.MinInt32, math.MaxInt32 - 1,
	math.MinInt32 + 1, 1 << 30, -1 << 30, 1<<30 + 1, -1<<30 - 1, 1<<16 - 1, -1 << 16, 127, -128, 128, -129}

func synthRequantEdge(rec *Recorder, r *rand.Rand, layer int) error {
	const T, Ch = 32, 8
	q := &datapath.Requantizer{Bits: 8, ZeroPoint: 5,
		Mult: []datapath.Multiplier{
			{M: 1 << 30, Shift: 31},       // ×0.5: every odd input is a tie
			{M: math.MaxInt32, Shift: 62}, // with token shift 2 the total 64 caps at 63
			{M: 0, Shift: 2},              // scale 0
			{M: 1<<30 + 12345, Shift: 36}, // ≈ 2^-6
		},
		ChannelGroup: []uint16{0, 1, 2, 3, 0, 1, 2, 3},
		TokenShift:   []int8{0, 2, -1, 1},
		TokenGroup:   make([]uint8, T),
		Bias:         []int32{0, 0, 0, 0, math.MaxInt32, math.MinInt32, -7, 7},
	}
	for t := range q.TokenGroup {
		q.TokenGroup[t] = uint8(t % 4)
	}
	acc := datapath.NewMatrix[int32](T, Ch)
	for i := range acc.Data {
		if i < len(int32Edges)*4 {
			acc.Data[i] = int32Edges[i/4]
		} else {
			acc.Data[i] = int32(r.Uint32())
		}
	}
	return rec.Requantize(layer, "edge", acc, q, 0)
}

func synthNormEdge(rec *Recorder, r *rand.Rand, layer, D int) error {
	u, err := datapath.NewNormUnit(datapath.DefaultRsqrtTableBits)
	if err != nil {
		return err
	}
	gamma := make([]int16, D)
	for c := range gamma {
		gamma[c] = int16(r.IntN(1<<12) - 1<<11)
	}
	gamma[0] = 1<<11 - 1
	p, err := datapath.NewNormParams(gamma, 12, 1.0/1024, 1.0/4096, 3.0/127, 0, 8) // eps = 0
	if err != nil {
		return err
	}
	p.ZeroPoint = 3
	const rows = 8
	x := datapath.NewMatrix[int32](rows, D)
	for i := 0; i < rows; i++ {
		row := x.Row(i)
		for c := range row {
			switch i {
			case 0: // all zero: v = 0, every output is the zero point
			case 1:
				row[c] = math.MinInt32 // the sum of squares overflows for D ≥ 4
			case 2:
				row[c] = math.MaxInt32
			case 3:
				row[c] = int32(1 - 2*(c%2))
			case 4:
				if c == 0 {
					row[c] = math.MinInt32
				}
			case 5:
				row[c] = int32(r.IntN(7) - 3)
			case 6:
				row[c] = int32(r.Uint32()) >> 1
			default:
				row[c] = int32(r.Uint32())
			}
		}
	}
	return rec.RMSNorm(layer, "edge", x, u, p)
}

func synthScanEdge(rec *Recorder, r *rand.Rand, layer, states int) error {
	const L, E = 16, 8
	N := states
	u, err := datapath.NewExp2Unit(datapath.DefaultExpTableBits)
	if err != nil {
		return err
	}
	s := synthScanScales(r, E, N, L)
	s.GroupShift = []int{0, -13, -14, 3} // D-skip shift k = eg + SkipShift < 0 for groups 1, 2
	for t := range s.TokenGroup {
		s.TokenGroup[t] = t % 4
		if t%4 == 3 {
			s.StateScale[t] /= 64 // the state and H saturate at these steps
		}
	}
	s.D[1] = 40 // a large skip weight: small SkipShift
	p, err := datapath.NewScanParams(E, N, L, s)
	if err != nil {
		return err
	}
	in := datapath.ScanInputs{X: datapath.NewMatrix[int8](L, E), Delta: datapath.NewMatrix[int8](L, E),
		Z: datapath.NewMatrix[int8](L, E), B: datapath.NewMatrix[int8](L, N), C: datapath.NewMatrix[int8](L, N)}
	for _, m := range [][]int8{in.X.Data, in.Z.Data, in.B.Data, in.C.Data} {
		for i := range m {
			m[i] = [...]int8{-128, 127, -127, 126}[r.IntN(4)]
			if r.IntN(4) == 0 {
				m[i] = int8(r.IntN(256) - 128)
			}
		}
	}
	for i := range in.Delta.Data {
		in.Delta.Data[i] = [...]int8{0, 1, 127, -128, -1, 64}[r.IntN(6)]
	}
	return rec.Scan(layer, "edge", in, p, u)
}

// synthEdges emits the edge sets of one block.
func synthEdges(rec *Recorder, seed uint64, layer int, cfg vim.Config) error {
	if rec.Wants(layer, UnitRequant) {
		if err := synthRequantEdge(rec, opRand(seed, layer, "requant_edge"), layer); err != nil {
			return err
		}
	}
	if rec.Wants(layer, UnitNorm) {
		if err := synthNormEdge(rec, opRand(seed, layer, "norm_edge"), layer, cfg.Dim); err != nil {
			return err
		}
	}
	if rec.Wants(layer, UnitScan) {
		if err := synthScanEdge(rec, opRand(seed, layer, "scan_edge"), layer, cfg.DState); err != nil {
			return err
		}
	}
	if rec.Wants(layer, UnitDWConv) {
		if err := synthDWConvEdge(rec, opRand(seed, layer, "dwconv_edge"), layer, cfg.DConv); err != nil {
			return err
		}
	}
	if rec.Wants(layer, UnitVector) {
		if err := synthMergeEdge(rec, opRand(seed, layer, "merge_edge"), layer); err != nil {
			return err
		}
		if err := synthResAddEdge(rec, layer); err != nil {
			return err
		}
	}
	return boundarySets(rec, seed, layer, cfg)
}

// synthDWConvEdge records a convolution of T taps over T+3 steps and
// dwconvLanes+3 channels (the last channel group partly filled): channel 0
// at the largest sum (x = w = −128), channel 1 at the smallest (x = 127,
// w = −128), channel 2 with x = −128, w = 127, the others drawn from the
// int8 extremes, so that the first T−1 steps run over the causal padding
// with extreme values.
func synthDWConvEdge(rec *Recorder, r *rand.Rand, layer, taps int) error {
	L, E, T := taps+3, dwconvLanes+3, taps
	x := datapath.NewMatrix[int8](L, E)
	w := datapath.NewMatrix[int8](E, T)
	ext := [...]int8{-128, 127, -127, 0, -1, 1}
	for i := range x.Data {
		x.Data[i] = ext[r.IntN(len(ext))]
	}
	for i := range w.Data {
		w.Data[i] = ext[r.IntN(len(ext))]
	}
	for c, p := range [][2]int8{{-128, -128}, {127, -128}, {-128, 127}} {
		for t := 0; t < L; t++ {
			x.Data[t*E+c] = p[0]
		}
		for k := 0; k < T; k++ {
			w.Data[c*T+k] = p[1]
		}
	}
	return rec.DepthwiseConv(layer, "edge", x, w, 8)
}

// int16Edges returns gated-output values at the ends of the int16 range,
// around the merge's rounding ties (multiples of 2^GateFrac) and halves of
// its saturation edges (18 values).
func int16Edges() []int16 {
	half, hi, lo := mergeEdges()
	return []int16{math.MinInt16, math.MinInt16 + 1, int16(max(lo/2, math.MinInt16)), int16(max(lo/2-1, math.MinInt16)),
		int16(-half - 1), int16(-half), int16(-half + 1), -1, 0, 1, int16(half - 1), int16(half), int16(half + 1),
		int16(2*half - 1), int16(2 * half), int16(hi/2 - 1), int16(hi / 2), math.MaxInt16}
}

// synthMergeEdge records a merge of every pair of int16Edges (18 rows of
// 18), then every tie f + b = 2^(GateFrac+1)·k + 2^GateFrac of the output
// range (k = −128..127, as equal halves and with ±100), then sums across
// both saturation edges (where int16 sums reach them), then random pairs
// to fill the last row.
func synthMergeEdge(rec *Recorder, r *rand.Rand, layer int) error {
	edges := int16Edges()
	n := len(edges)
	half, hi, lo := mergeEdges()
	var f, b []int16
	for _, x := range edges {
		for _, y := range edges {
			f, b = append(f, x), append(b, y)
		}
	}
	for k := -128; k < 128; k++ {
		h := half*k + half/2 // f + b = 2h = 2^(GateFrac+1)·k + 2^GateFrac
		f, b = append(f, int16(h), int16(h+100)), append(b, int16(h), int16(h-100))
	}
	for d := -8; d <= 8; d++ {
		f, b = append(f, int16(hi/2)), append(b, int16(hi-hi/2+d))
		if lo/2 >= math.MinInt16 && lo-lo/2-8 >= math.MinInt16 {
			f, b = append(f, int16(lo/2)), append(b, int16(lo-lo/2+d))
		}
	}
	for len(f)%n != 0 {
		f, b = append(f, int16(r.IntN(1<<16)-1<<15)), append(b, int16(r.IntN(1<<16)-1<<15))
	}
	fwd := datapath.Matrix[int16]{Rows: len(f) / n, Cols: n, Data: f}
	bwd := datapath.Matrix[int16]{Rows: len(b) / n, Cols: n, Data: b}
	return rec.Merge(layer, "edge", fwd, bwd)
}

// synthResAddEdge records a residual add of every pair of int32Edges (the
// residual row-wise, the addend column-wise).
func synthResAddEdge(rec *Recorder, layer int) error {
	n := len(int32Edges)
	res := datapath.NewMatrix[int32](n, n)
	add := datapath.NewMatrix[int32](n, n)
	for i, x := range int32Edges {
		for j, y := range int32Edges {
			res.Data[i*n+j], add.Data[i*n+j] = x, y
		}
	}
	return rec.ResidualAdd(layer, "edge", res, add)
}
