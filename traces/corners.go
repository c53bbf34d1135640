package traces

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/vim"
)

// Boundary sets: corners of DATAPATH.md that neither a recorded run nor
// the first edge sets (edge.go) reach, each listed in the unit's "Corners"
// paragraph of DATAPATH.md: output widths 16 and 32 and the total shifts 1
// and 63 of the requantizer; 16 groups, shifts 1 and 62 and sums near 2^62
// of the group requantizer; accumulator sums of ±2^24 in the GEMM; a
// non-power-of-two and a single table of every code with clamped entries
// at both ends (lut8); every int16 input of an interpolated table and
// saturation at both ends (interp16); the carry of the + EpsD add, the
// seed table's first and last entries, 16-bit gains and outputs and rows of
// one element (norm); and, with the state taps, the scan's exponent input
// beyond 32 bits and above ExpZMax, Xu saturation, Yacc overflow and every
// branch of ShiftRound. boundarySets emits them once per selected block.

// boundarySets records the boundary sets of one block.
func boundarySets(rec *Recorder, seed uint64, layer int, cfg vim.Config) error {
	type gen struct {
		unit Unit
		name string
		f    func(*Recorder, *rand.Rand, int) error
	}
	gens := []gen{
		{UnitGEMM, "gemm_edge", synthGEMMEdge},
		{UnitRequant, "requant_edge16", func(rec *Recorder, r *rand.Rand, l int) error { return synthRequantWide(rec, r, l, 16) }},
		{UnitRequant, "requant_edge32", func(rec *Recorder, r *rand.Rand, l int) error { return synthRequantWide(rec, r, l, 32) }},
		{UnitRequant, "grequant_edge", synthGroupRequantEdge},
		{UnitNonlin, "lut8_edge", synthLUT8Edge},
		{UnitNonlin, "interp16_edge", synthInterp16Edge},
		{UnitNorm, "norm_edge_wide", func(rec *Recorder, r *rand.Rand, l int) error { return synthNormWide(rec, r, l, cfg.Dim) }},
		{UnitScan, "scan_edge_exp", func(rec *Recorder, r *rand.Rand, l int) error { return synthScanTaps(rec, r, l, cfg.DState) }},
		{UnitScan, "exp2_ties", synthExp2Ties},
		{UnitScan, "scan_edge_wide", synthScanWide},
	}
	for _, g := range gens {
		if !rec.Wants(layer, g.unit) {
			continue
		}
		if err := g.f(rec, opRand(seed, layer, g.name), layer); err != nil {
			return fmt.Errorf("%s: %w", g.name, err)
		}
	}
	return nil
}

// extremes8 fills v with int8 extremes and small values, one in four
// uniform.
func extremes8(r *rand.Rand, v []int8) {
	ext := [...]int8{-128, 127, -127, 126, 0, 1, -1}
	for i := range v {
		v[i] = ext[r.IntN(len(ext))]
		if r.IntN(4) == 0 {
			v[i] = int8(r.IntN(256) - 128)
		}
	}
}

// synthExp2Ties records the exponent unit on inputs whose interpolated
// mantissa P lands on a rounding boundary of the output shift — P + 2^(s−1)
// a multiple of 2^s after the interpolation term rounded up, or one below
// a multiple after it rounded down — for integer parts u = 7 … −17, so that
// a P off by one LSB (the interpolation's rounding) changes the output.
// P is computed from the unit's table as DATAPATH.md §5.2 specifies and
// checked against Exp2Unit.Eval.
func synthExp2Ties(rec *Recorder, r *rand.Rand, layer int) error {
	u, err := datapath.NewExp2Unit(datapath.DefaultExpTableBits)
	if err != nil {
		return err
	}
	tab := u.Table()
	sh := uint(datapath.ExpInFrac - u.TableBits())
	var z []int32
	for _, ip := range []int64{7, 5, 3, 1, 0, -1, -3, -6, -10, -17} {
		s := uint(datapath.ExpTableFrac - datapath.ExpOutFrac - ip)
		var up, down []int32
		for f := int64(0); f < 1<<datapath.ExpInFrac; f++ {
			j, g := f>>sh, f&(1<<sh-1)
			slope := int64(tab[j+1]) - int64(tab[j])
			term := slope * g
			p := int64(tab[j]) + datapath.RoundShift(term, sh)
			rounded := term&(1<<sh-1) >= 1<<(sh-1)
			switch m := (p + 1<<(s-1)) & (1<<s - 1); {
			case m == 0 && rounded:
				up = append(up, int32(ip<<datapath.ExpInFrac+f))
			case m == 1<<s-1 && !rounded && g != 0:
				down = append(down, int32(ip<<datapath.ExpInFrac+f))
			}
		}
		for _, c := range [][]int32{up, down} {
			for k := 0; k < 8 && len(c) > 0; k++ {
				zz := c[r.IntN(len(c))]
				y, _ := u.Eval(zz)
				f := int64(zz) & (1<<datapath.ExpInFrac - 1)
				j, g := f>>sh, f&(1<<sh-1)
				p := int64(tab[j]) + datapath.RoundShift((int64(tab[j+1])-int64(tab[j]))*g, sh)
				if int64(y) != datapath.RoundShift(p, s) {
					return fmt.Errorf("exp2 tie search: z = %d: Eval %d, §5.2 %d", zz, y, datapath.RoundShift(p, s))
				}
				z = append(z, zz)
			}
		}
	}
	return rec.Exp2(layer, "exp2_ties", z, u)
}

// synthGEMMEdge records a GEMM of (R+1)×1024 by 1024×(C+1) on the
// recorder's array (two row and two column folds, or K-folds for ws/is):
// rows and columns of −128 and 127 throughout give the largest sums,
// 1024·2^14 = 2^24 and −1024·127·128, the rest int8 extremes.
func synthGEMMEdge(rec *Recorder, r *rand.Rand, layer int) error {
	const K = 1024
	M, N := rec.opt.Arch.Array.Rows+1, rec.opt.Arch.Array.Cols+1
	a := datapath.NewMatrix[int8](M, K)
	wd := make([]int8, N*K)
	extremes8(r, a.Data)
	extremes8(r, wd)
	for k := 0; k < K; k++ {
		a.Data[k], a.Data[K+k] = -128, 127 // rows 0 and 1
		wd[k], wd[K+k] = -128, 127         // columns 0 and 1
		if M > 2 {
			a.Data[2*K+k] = -128
		}
	}
	w, err := datapath.NewWeights(N, K, wd)
	if err != nil {
		return err
	}
	return rec.GEMM(layer, "edge", a, w)
}

// synthRequantWide records a requantizer to bits (16 or 32) whose total
// shifts span 1 (Shift 2, token shift −1) to 63 (Shift 63, and 62 + 2
// capped), with a multiplier close to 2^30 that saturates both ends of the
// output, the int32 bias limits and a zero point.
func synthRequantWide(rec *Recorder, r *rand.Rand, layer, bits int) error {
	const T, Ch = 40, 8
	q := &datapath.Requantizer{Bits: bits, ZeroPoint: -7,
		Mult: []datapath.Multiplier{
			{M: 1 << 30, Shift: 2},                                    // ×0.25; with token shift −1: S = 1, ties on odd inputs
			{M: math.MaxInt32, Shift: 3},                              // ≈ ×2^28: saturates any output width
			{M: 1<<30 + 4321, Shift: 63},                              // S = 63 exactly (token shift 0): 0 for every input
			{M: 3 << 29, Shift: 62},                                   // with token shift 2: S = 64 → 63
			{M: 1<<30 + r.Int32N(1<<30), Shift: int8(31 + 32 - bits)}, // spans the output range
		},
		ChannelGroup: []uint16{0, 1, 2, 3, 4, 4, 0, 1},
		TokenShift:   []int8{0, -1, 1, 2},
		TokenGroup:   make([]uint8, T),
		Bias:         []int32{0, 3, 0, 0, 0, math.MaxInt32, math.MinInt32, -1},
	}
	for t := range q.TokenGroup {
		q.TokenGroup[t] = uint8(t % len(q.TokenShift))
	}
	acc := datapath.NewMatrix[int32](T, Ch)
	for i := range acc.Data {
		switch {
		case i < len(int32Edges)*Ch:
			acc.Data[i] = int32Edges[i/Ch]
		case r.IntN(2) == 0:
			acc.Data[i] = int32(r.IntN(64) - 32)
		default:
			acc.Data[i] = int32(r.Uint32())
		}
	}
	return rec.Requantize(layer, fmt.Sprintf("edge%d", bits), acc, q, 0)
}

// synthGroupRequantEdge records three group requantizations: 16 groups at
// shift 30 (one mantissa 0, one 1, the largest 2^27 − 1, one 2^26 whose
// partial sums of ±8 make exact ties) to int8 with saturation both ways;
// 16 groups of the largest mantissa at shift 62 on int32 extremes (sums
// near ±2^62); one group at shift 1 to int16 (a tie on every odd sum).
func synthGroupRequantEdge(rec *Recorder, r *rand.Rand, layer int) error {
	const rows, cols = 12, 16
	big := int32(1)<<datapath.GroupMultBits - 1
	for _, c := range []struct {
		op    string
		q     *datapath.GroupRequantizer
		accOf func(i, g int) int32
	}{
		{"edge", &datapath.GroupRequantizer{Shift: 30, ZeroPoint: -3, Bits: 8,
			Mult: []int32{0, 1, big, 1 << 26, 12345, 1 << 20, big - 1, 3 << 24, 7, 1 << 25, 99999, 1 << 26, 5 << 22, 1, 2, big}},
			func(i, g int) int32 {
				switch {
				case i < 32 && g == 3: // ties: ±8·2^26 = ±2^29
					return int32([]int32{8, -8, 24, -24}[i%4])
				case i < 32:
					return 0
				case i < 96:
					return int32Edges[(i+g)%len(int32Edges)]
				}
				return int32(r.IntN(1<<12) - 1<<11)
			}},
		{"edge62", &datapath.GroupRequantizer{Shift: 62, Bits: 32, Mult: func() []int32 {
			m := make([]int32, datapath.MaxGroups)
			for g := range m {
				m[g] = big
			}
			return m
		}()},
			func(i, g int) int32 {
				switch i % 4 {
				case 0:
					return math.MinInt32
				case 1:
					return math.MaxInt32
				case 2:
					return int32Edges[(i+g)%len(int32Edges)]
				}
				return int32(r.Uint32())
			}},
		{"edge1", &datapath.GroupRequantizer{Shift: 1, ZeroPoint: 5, Bits: 16, Mult: []int32{1}},
			func(i, g int) int32 {
				if i < 64 {
					return int32(i - 32)
				}
				return int32Edges[i%len(int32Edges)] >> uint(r.IntN(18))
			}},
	} {
		accs := make([]datapath.Matrix[int32], len(c.q.Mult))
		for g := range accs {
			accs[g] = datapath.NewMatrix[int32](rows, cols)
		}
		for i := 0; i < rows*cols; i++ {
			for g := range accs {
				accs[g].Data[i] = c.accOf(i, g)
			}
		}
		if err := rec.RequantizeGroups(layer, c.op, accs, c.q); err != nil {
			return err
		}
	}
	return nil
}

// synthLUT8Edge records every int8 code through three channel tables (a
// SiLU that clamps at the top, a softplus that clamps at the top, a SiLU
// that clamps at both ends: the flag both ways) on six channels, and every
// code through a single table (NT = 1).
func synthLUT8Edge(rec *Recorder, r *rand.Rand, layer int) error {
	t0, err := datapath.NewSiLUTable(1.0/8, 1.0/256)
	if err != nil {
		return err
	}
	t1, err := datapath.NewSoftplusTable(0.1, 0.01)
	if err != nil {
		return err
	}
	t2, err := datapath.NewSiLUTable(0.5, 0.001)
	if err != nil {
		return err
	}
	ct := &datapath.ChannelTables{Tables: []datapath.Table8{*t0, *t1, *t2}, Index: []uint8{0, 1, 2, 2, 1, 0}}
	x := datapath.NewMatrix[int8](256, len(ct.Index))
	for t := 0; t < 256; t++ {
		for c := range ct.Index {
			x.Data[t*len(ct.Index)+c] = int8((t + 37*c) % 256)
		}
	}
	if err := rec.ChannelTables(layer, "edge", x, ct); err != nil {
		return err
	}
	one := datapath.NewMatrix[int8](256, 1)
	for i := range one.Data {
		one.Data[i] = int8(i)
	}
	return rec.Table8(layer, "edge1", one, t2)
}

// synthInterp16Edge records every int16 input of a 2^10 + 1-entry SiLU to
// int16 whose top saturates, and 4096 inputs of a 2^5 + 1-entry SiLU to
// int8 that saturates at both ends: segment boundaries (r = 0), the last
// segment, rounding ties of both roundings where they occur.
func synthInterp16Edge(rec *Recorder, r *rand.Rand, layer int) error {
	t16, err := datapath.NewInterpTable16(datapath.SiLU, 1.0/2048, 15.5/32767, 10, 16)
	if err != nil {
		return err
	}
	all := make([]int16, 1<<16)
	for i := range all {
		all[i] = int16(i - 1<<15)
	}
	if err := rec.Interp16(layer, "edge", all, t16); err != nil {
		return err
	}
	t8, err := datapath.NewInterpTable16(datapath.SiLU, 1.0/2048, 0.1/127, 5, 8)
	if err != nil {
		return err
	}
	x := make([]int16, 0, 4096)
	for j := 0; j < 32; j++ {
		base := -32768 + j<<11
		for _, d := range []int{0, 1, 2, 1023, 1024, 1025, 2046, 2047} {
			x = append(x, int16(base+d))
		}
	}
	for len(x) < 4096 {
		x = append(x, int16(r.IntN(1<<16)-1<<15))
	}
	return rec.Interp16(layer, "edge8", x, t8)
}

// squaresRow returns a row of n int32 values whose squares add up to v
// exactly (greedy: the largest square first, each value at most 2^31 − 1,
// alternating signs), and false when n values do not suffice.
func squaresRow(v uint64, n int) ([]int32, bool) {
	row := make([]int32, n)
	for i := 0; v > 0; i++ {
		if i == n {
			return nil, false
		}
		s := min(uint64(math.Sqrt(float64(v))), math.MaxInt32)
		for s > 0 && s*s > v {
			s--
		}
		for s < math.MaxInt32 && (s+1)*(s+1) <= v {
			s++
		}
		row[i] = int32(s)
		if i%2 == 1 {
			row[i] = -row[i]
		}
		v -= s * s
	}
	return row, true
}

// synthNormWide records three RMSNorms with 16-bit gains (F = 15, the
// extremes ±2^15 among them) and 16-bit outputs that saturate both ways:
// EpsD = 0 with rows whose v is 4^e (the seed table's first entry), 4^e − 1
// (its last), at both branches of the m normalisation (2e ≤ 30 and > 30),
// v = 0 and the largest v below 2^64; EpsD = 2^62 with rows whose sum of
// squares alone fits 64 bits but whose + EpsD carries (an overflow), and
// rows just below; and rows of a single element (D = 1).
func synthNormWide(rec *Recorder, r *rand.Rand, layer, D int) error {
	u, err := datapath.NewNormUnit(datapath.DefaultRsqrtTableBits)
	if err != nil {
		return err
	}
	gammaFor := func(d int) []int16 {
		g := make([]int16, d)
		ext := []int16{math.MinInt16, math.MaxInt16, -1, 1, 0, 1 << 14, -1 << 14}
		for c := range g {
			g[c] = int16(r.IntN(1<<16) - 1<<15)
			if c < len(ext) {
				g[c] = ext[c]
			}
		}
		return g
	}
	params := func(d int, eps int64) (*datapath.NormParams, error) {
		p := &datapath.NormParams{Gamma: gammaFor(d), GammaBits: 16, EpsD: eps, ZeroPoint: -100, Bits: 16,
			Out: datapath.Multiplier{M: 1<<30 + 98765, Shift: 24}}
		return p, p.Validate(d)
	}
	// Set 1: EpsD = 0, seed table ends, both m branches, extremes.
	p, err := params(D, 0)
	if err != nil {
		return err
	}
	var rows [][]int32
	for _, v := range []uint64{1, 4, 3, 15, 1 << 30, 1<<30 - 1, 1 << 32, 1<<32 - 1, 1 << 40, 1<<40 - 1, 1 << 62, 1<<62 - 1,
		1<<64 - 1, 0} {
		if row, ok := squaresRow(v, D); ok {
			rows = append(rows, row)
		}
	}
	for len(rows) < 24 {
		row := make([]int32, D)
		mag := int64(1) << (4 + r.IntN(28))
		for c := range row {
			row[c] = int32(r.Int64N(2*mag) - mag)
		}
		rows = append(rows, row)
	}
	if err := recordRows(rec, layer, "edge_wide", rows, u, p); err != nil {
		return err
	}
	// Set 2: EpsD = 2^62, the carry of the + EpsD add.
	if p, err = params(D, 1<<62); err != nil {
		return err
	}
	rows = rows[:0]
	for _, v := range []uint64{3 << 62, 3<<62 - 1, 3<<62 + 1, 1 << 63, 1<<64 - 1, 1 << 62, 0} {
		row, ok := squaresRow(v, D)
		if v == 3<<62 && D >= 3 {
			row, ok = make([]int32, D), true
			row[0], row[1], row[2] = math.MinInt32, math.MinInt32, math.MinInt32
		}
		if ok {
			rows = append(rows, row)
		}
	}
	if err := recordRows(rec, layer, "edge_eps", rows, u, p); err != nil {
		return err
	}
	// Set 3: rows of one element.
	if p, err = params(1, 1); err != nil {
		return err
	}
	rows = rows[:0]
	for _, x := range int32Edges {
		rows = append(rows, []int32{x})
	}
	return recordRows(rec, layer, "edge_d1", rows, u, p)
}

func recordRows(rec *Recorder, layer int, op string, rows [][]int32, u *datapath.NormUnit, p *datapath.NormParams) error {
	D := len(rows[0])
	x := datapath.NewMatrix[int32](len(rows), D)
	for i, row := range rows {
		copy(x.Row(i), row)
	}
	return rec.RMSNorm(layer, op, x, u, p)
}

// scanCorner are hand-built scan constants: every field of
// datapath.ScanParams chosen per step and per channel to reach a corner.
func scanCorner(E, N, L int) *datapath.ScanParams {
	return &datapath.ScanParams{Channels: E, States: N, Steps: L,
		ANeg: make([]int32, E*N), StepLog2: make([]int32, L),
		UChan: make([]datapath.Multiplier, E), UChanNorm: make([]int8, E), UStep: make([]datapath.Multiplier, L),
		YStep: make([]datapath.Multiplier, L), TokenGroup: make([]uint8, L),
		SkipShift: make([]int8, E), SkipD: make([]int32, E), Gate: make([]datapath.Multiplier, E)}
}

// synthScanTaps records a scan with the state taps whose constants reach,
// step by step and channel by channel: exponent inputs above ExpZMax (Δ < 0
// with a large decay: the clamp), beyond ±2^31 (Δ = ±128 with decays up to
// 2^31 − 1: the 40-bit input), at and below −26·2^20 (the underflow edge),
// StepLog2 at its ends; Xu saturated both ways (a step whose UStep gives a
// total shift of 1); q and H saturated both ways; y′ saturated both ways;
// ShiftRound(y′, k) with k = 8, 1, 0, −1 (ties), −63, −64 and below −63
// (token-group shifts 0, −20, 5, −62 against skip shifts from −100 to 3),
// |SkipD·x| up to 2^22 and the gated output saturated both ways.
func synthScanTaps(rec *Recorder, r *rand.Rand, layer, states int) error {
	const L, E = 16, 8
	N := states
	u, err := datapath.NewExp2Unit(datapath.DefaultExpTableBits)
	if err != nil {
		return err
	}
	p := scanCorner(E, N, L)
	p.GroupShift = []int8{0, -20, 5, -62}
	one := int32(1) << datapath.ExpInFrac
	anegs := []int32{0, one, 26 * one, 26*one + 1, 1 << 24, 1<<24 + 12345, math.MaxInt32, math.MaxInt32 - 7, one / 3, 5 * one}
	for i := range p.ANeg {
		p.ANeg[i] = anegs[(i+i/N)%len(anegs)]
		if r.IntN(3) == 0 {
			p.ANeg[i] = r.Int32N(8 * one)
		}
	}
	for d := 0; d < E; d++ {
		p.UChan[d] = datapath.Multiplier{M: 1 << 30, Shift: 30} // ×1: Y1 = Δ·x
		p.UChanNorm[d] = 15
		p.SkipShift[d] = []int8{-100, -64, -63, -1, 0, 3, -43, -4}[d]
		p.SkipD[d] = []int32{30000, -30000, 65000, -65000, 1, 0, -1, 12345}[d]
		p.Gate[d] = []datapath.Multiplier{{M: math.MaxInt32, Shift: 10}, {M: 1 << 30, Shift: 40}, {M: 1<<30 + 999, Shift: 25},
			{M: 3 << 29, Shift: 30}, {M: 1 << 30, Shift: 20}, {M: math.MaxInt32, Shift: 63}, {M: 1 << 30, Shift: 28}, {M: 0, Shift: 5}}[d]
	}
	for t := 0; t < L; t++ {
		p.TokenGroup[t] = uint8(t % len(p.GroupShift))
		eg := int(p.GroupShift[p.TokenGroup[t]])
		p.StepLog2[t] = []int32{0, datapath.ExpZMax, -64 * one, one / 2, 7*one + one/2, -one, 0, 3 * one}[t%8]
		switch t % 4 {
		case 1: // Xu saturates: total shift 2 + 15 − 16 = 1 on ≈ 2^31
			p.UStep[t] = datapath.Multiplier{M: math.MaxInt32, Shift: 2}
		case 2: // Xu ≈ Δ·x·2^−9: states in range
			p.UStep[t] = datapath.Multiplier{M: 1 << 30, Shift: 40}
		default: // Xu ≈ Δ·x·2^7: q and H saturate with large B
			p.UStep[t] = datapath.Multiplier{M: 1<<30 + r.Int32N(1<<30), Shift: 24}
		}
		ys := []int8{1, 20, 30, 50}[t%4] // y′ from saturated to fine
		if s := 1 - eg; int(ys) < s {
			ys = int8(s)
		}
		p.YStep[t] = datapath.Multiplier{M: 1<<30 + r.Int32N(1<<30), Shift: ys}
	}
	in := datapath.ScanInputs{X: datapath.NewMatrix[int8](L, E), Delta: datapath.NewMatrix[int8](L, E),
		Z: datapath.NewMatrix[int8](L, E), B: datapath.NewMatrix[int8](L, N), C: datapath.NewMatrix[int8](L, N)}
	extremes8(r, in.X.Data)
	extremes8(r, in.Z.Data)
	extremes8(r, in.B.Data)
	extremes8(r, in.C.Data)
	for i := range in.Delta.Data {
		in.Delta.Data[i] = [...]int8{-128, 127, -1, 1, 0, 64, -64, 3}[(i+r.IntN(2))%8]
	}
	s, err := scanSet(layer, "edge_exp", in, p, u, true)
	if err != nil {
		return err
	}
	return rec.keep(s)
}

// synthScanWide records a scan with the state taps of 40 states on 3
// channels (neither a power of two) whose H·C products all saturate the
// same way at some steps, so that Yacc leaves int32 (an overflow, the
// wrapped sum feeding y′), next to steps in range.
func synthScanWide(rec *Recorder, r *rand.Rand, layer int) error {
	const L, E, N = 6, 3, 40
	u, err := datapath.NewExp2Unit(datapath.DefaultExpTableBits)
	if err != nil {
		return err
	}
	p := scanCorner(E, N, L)
	p.GroupShift = []int8{0, 2}
	for i := range p.ANeg {
		p.ANeg[i] = r.Int32N(4 << datapath.ExpInFrac)
	}
	for d := 0; d < E; d++ {
		p.UChan[d] = datapath.Multiplier{M: 1 << 30, Shift: 30}
		p.UChanNorm[d] = 15
		p.SkipShift[d] = int8(-d)
		p.SkipD[d] = int32(1000 * (d + 1))
		p.Gate[d] = datapath.Multiplier{M: 1<<30 + r.Int32N(1<<30), Shift: int8(20 + d)}
	}
	for t := 0; t < L; t++ {
		p.TokenGroup[t] = uint8(t % 2)
		p.UStep[t] = datapath.Multiplier{M: 1 << 30, Shift: int8([]int{12, 40}[t%2])}
		p.YStep[t] = datapath.Multiplier{M: 1<<30 + r.Int32N(1<<30), Shift: 36}
	}
	in := datapath.ScanInputs{X: datapath.NewMatrix[int8](L, E), Delta: datapath.NewMatrix[int8](L, E),
		Z: datapath.NewMatrix[int8](L, E), B: datapath.NewMatrix[int8](L, N), C: datapath.NewMatrix[int8](L, N)}
	extremes8(r, in.Z.Data)
	for t := 0; t < L; t++ {
		for d := 0; d < E; d++ {
			in.X.Data[t*E+d], in.Delta.Data[t*E+d] = 127, 127
			if t%3 == 2 {
				in.X.Data[t*E+d] = -128
			}
		}
		for n := 0; n < N; n++ {
			b, c := int8(127), int8(-128) // H = +2^19 − 1 on every state, H·C ≈ −2^26
			if t%3 == 1 {
				b, c = int8(r.IntN(256)-128), int8(r.IntN(256)-128)
			}
			in.B.Data[t*N+n], in.C.Data[t*N+n] = b, c
		}
	}
	s, err := scanSet(layer, "edge_wide", in, p, u, true)
	if err != nil {
		return err
	}
	return rec.keep(s)
}
