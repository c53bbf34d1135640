package datapath

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// scanCase is one direction of a scan: float model quantities, int8 inputs
// and the scales quant would produce for them.
type scanCase struct {
	E, N, L int
	in      ScanInputs
	scales  ScanScales
}

// quantize returns clamp(roundHalfEven(v/s)) as int8.
func quantize(v, s float64) int8 {
	return int8(math.Max(math.Min(math.RoundToEven(v/s), 127), -128))
}

// channelGroupScales gives each channel the scale of its group: channels
// are split into 4 groups by their max |v|, each group's scale is its
// max/127.5 (the k-scaled channel-wise quantizer with a simple grouping).
func channelGroupScales(maxAbs []float64) []float64 {
	idx := make([]int, len(maxAbs))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return maxAbs[idx[a]] < maxAbs[idx[b]] })
	s := make([]float64, len(maxAbs))
	per := (len(idx) + 3) / 4
	for g := 0; g*per < len(idx); g++ {
		members := idx[g*per : min((g+1)*per, len(idx))]
		m := 1e-9
		for _, i := range members {
			m = math.Max(m, maxAbs[i])
		}
		for _, i := range members {
			s[i] = m / 127.5
		}
	}
	return s
}

// newScanCase draws a random direction with Vim-like magnitudes and derives
// its scales the way the quant package would: min-max scales, reparameter
// factors from the float state, per-step state scales, token groups.
func newScanCase(r *rand.Rand, E, N, L int) *scanCase {
	sc := &scanCase{E: E, N: N, L: L}
	A := make([]float64, E*N)
	for d := 0; d < E; d++ {
		for n := 0; n < N; n++ {
			A[d*N+n] = -float64(n+1) * math.Exp(0.5*r.NormFloat64())
		}
	}
	D := make([]float64, E)
	for d := range D {
		D[d] = 1 + 0.5*r.NormFloat64()
		if d%11 == 3 {
			D[d] = 0
		}
	}
	chanMag := make([]float64, E) // per-channel magnitudes spanning decades
	for d := range chanMag {
		chanMag[d] = math.Exp2(-6 + 9*r.Float64())
	}
	delta := make([]float64, L*E)
	x := make([]float64, L*E)
	z := make([]float64, L*E)
	B := make([]float64, L*N)
	C := make([]float64, L*N)
	for t := 0; t < L; t++ {
		growth := 0.3 + 0.7*float64(t)/float64(L) // activity grows along the scan
		for d := 0; d < E; d++ {
			delta[t*E+d] = Softplus(-4 + 1.5*r.NormFloat64())
			x[t*E+d] = SiLU(2*r.NormFloat64()) * chanMag[d] * growth
			z[t*E+d] = SiLU(3 * r.NormFloat64())
		}
		for n := 0; n < N; n++ {
			B[t*N+n] = r.NormFloat64()
			C[t*N+n] = r.NormFloat64()
		}
	}
	maxPerChan := func(v []float64) []float64 {
		m := make([]float64, E)
		for i, x := range v {
			m[i%E] = math.Max(m[i%E], math.Abs(x))
		}
		return m
	}
	s := &sc.scales
	s.A, s.D = A, D
	s.DeltaScale = channelGroupScales(maxPerChan(delta))
	s.XScale = channelGroupScales(maxPerChan(x))
	s.ZScale = channelGroupScales(maxPerChan(z))
	var bcMax float64
	for i := range B {
		bcMax = math.Max(bcMax, math.Max(math.Abs(B[i]), math.Abs(C[i])))
	}
	s.BScale, s.CScale = bcMax/127.5, bcMax/127.5
	sc.in = ScanInputs{
		X: NewMatrix[int8](L, E), Delta: NewMatrix[int8](L, E), Z: NewMatrix[int8](L, E),
		B: NewMatrix[int8](L, N), C: NewMatrix[int8](L, N),
	}
	for i := range x {
		d := i % E
		sc.in.X.Data[i] = quantize(x[i], s.XScale[d])
		sc.in.Delta.Data[i] = quantize(delta[i], s.DeltaScale[d])
		sc.in.Z.Data[i] = quantize(z[i], s.ZScale[d])
	}
	for i := range B {
		sc.in.B.Data[i] = quantize(B[i], s.BScale)
		sc.in.C.Data[i] = quantize(C[i], s.CScale)
	}
	// Float state of the dequantized inputs, for the reparameterization
	// factors (ptq-method.md §5.4, exponents fixed here).
	h := make([]float64, E*N)
	absH := make([]float64, L*E*N)
	for t := 0; t < L; t++ {
		for d := 0; d < E; d++ {
			dl := float64(sc.in.Delta.At(t, d)) * s.DeltaScale[d]
			xv := float64(sc.in.X.At(t, d)) * s.XScale[d]
			for n := 0; n < N; n++ {
				h[d*N+n] = math.Exp(dl*A[d*N+n])*h[d*N+n] + dl*float64(sc.in.B.At(t, n))*s.BScale*xv
				absH[(t*E+d)*N+n] = math.Abs(h[d*N+n])
			}
		}
	}
	s.RC, s.RL = make([]float64, E), make([]float64, L)
	for t := 0; t < L; t++ {
		for d := 0; d < E; d++ {
			for n := 0; n < N; n++ {
				v := absH[(t*E+d)*N+n]
				s.RC[d] += v / float64(L*N)
				s.RL[t] += v / float64(E*N)
			}
		}
	}
	floor := func(v []float64) { // quant floors the factors of all-zero rows
		var m float64
		for _, x := range v {
			m = math.Max(m, x)
		}
		for i := range v {
			v[i] = math.Max(v[i], 1e-3*m+1e-12)
		}
	}
	floor(s.RC)
	floor(s.RL)
	for d := range s.RC {
		s.RC[d] = math.Pow(s.RC[d], 0.7)
	}
	for t := range s.RL {
		s.RL[t] = math.Pow(s.RL[t], 0.3)
	}
	// Per-step scales of h′ and of y′ from the reparameterized float chain.
	s.StateScale = make([]float64, L)
	yMax := make([]float64, L)
	var hmAll float64
	for t := 0; t < L; t++ {
		for d := 0; d < E; d++ {
			for n := 0; n < N; n++ {
				s.StateScale[t] = math.Max(s.StateScale[t], absH[(t*E+d)*N+n]/(s.RC[d]*s.RL[t]))
			}
		}
		hmAll = math.Max(hmAll, s.StateScale[t])
	}
	for t := range s.StateScale {
		// min-max, floored for an all-zero step; searched scales differ.
		s.StateScale[t] = math.Max(s.StateScale[t], 1e-3*hmAll+1e-12) / 127.5
		if r.IntN(4) == 0 {
			s.StateScale[t] *= 0.5 + r.Float64()
		}
	}
	h = make([]float64, E*N)
	var gMax float64
	for t := 0; t < L; t++ {
		for d := 0; d < E; d++ {
			dl := float64(sc.in.Delta.At(t, d)) * s.DeltaScale[d]
			xv := float64(sc.in.X.At(t, d)) * s.XScale[d]
			var yp float64
			for n := 0; n < N; n++ {
				h[d*N+n] = math.Exp(dl*A[d*N+n])*h[d*N+n] + dl*float64(sc.in.B.At(t, n))*s.BScale*xv
				yp += h[d*N+n] / (s.RC[d] * s.RL[t]) * float64(sc.in.C.At(t, n)) * s.CScale * s.RL[t]
			}
			yMax[t] = math.Max(yMax[t], math.Abs(yp))
			g := (s.RC[d]*yp + D[d]*xv) * float64(sc.in.Z.At(t, d)) * s.ZScale[d]
			gMax = math.Max(gMax, math.Abs(g))
		}
	}
	// Token groups by quartiles of the per-step y′ range, pow2-related.
	order := make([]int, L)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return yMax[order[a]] < yMax[order[b]] })
	s.TokenGroup = make([]int, L)
	gmax := make([]float64, 4)
	per := (L + 3) / 4
	for i, t := range order {
		g := min(i/per, 3)
		s.TokenGroup[t] = g
		gmax[g] = math.Max(gmax[g], yMax[t])
	}
	floor(gmax) // an all-zero group gets a scale near the others
	s.YScale = gmax[0] / 127.5
	s.GroupShift = make([]int, 4)
	for g := 1; g < 4; g++ {
		s.GroupShift[g] = max(0, int(math.Round(math.Log2(gmax[g]/gmax[0]))))
	}
	s.MergeScale = math.Max(gMax, 1e-9) / 127.5
	return sc
}

// withStateBits gives sc a carried state of the given width (8 or 16):
// the per-step state scales of the same ranges, max/(2^(bits−1) − 0.5).
func withStateBits(sc *scanCase, bits int) *scanCase {
	s := &sc.scales
	f := 127.5 / (math.Ldexp(1, bits-1) - 0.5)
	for t := range s.StateScale {
		s.StateScale[t] *= f
	}
	s.StateBits = bits
	return sc
}

// refScan is the scan written from DATAPATH.md §8 in math/big, with the
// counters it expects: S = 8 or 16 state bits, Hacc = Ā′·q + Xu·B·2^(S−8),
// q = sat_S(RoundShift(Hacc, 16)), H = sat_20(RoundShift(Hacc, S)).
func refScan(p *ScanParams, u *Exp2Unit, in ScanInputs) (out []int64, y []int64, v []int64, k Counters) {
	E, N, L := p.Channels, p.States, p.Steps
	S := 8
	if p.StateBits == 16 {
		S = 16
	}
	tab := u.Table()
	q := make([]int64, E*N)
	out, y, v = make([]int64, L*E), make([]int64, L*E), make([]int64, L*E)
	for t := 0; t < L; t++ {
		eg := int(p.GroupShift[p.TokenGroup[t]])
		for d := 0; d < E; d++ {
			dl, x := int64(in.Delta.At(t, d)), int64(in.X.At(t, d))
			y1 := refMul(dl*x, Multiplier{M: p.UChan[d].M}, int(p.UChan[d].Shift))
			xu, sat := refSat(refMul(y1.Int64(), Multiplier{M: p.UStep[t].M}, int(p.UStep[t].Shift)+int(p.UChanNorm[d])-ScanAccFrac), 32)
			k.Saturations += b2i(sat)
			yacc := new(big.Int)
			for n := 0; n < N; n++ {
				zb := new(big.Int).Sub(big.NewInt(int64(p.StepLog2[t])), new(big.Int).Mul(big.NewInt(dl), big.NewInt(int64(p.ANeg[d*N+n]))))
				if zb.Cmp(big.NewInt(ExpZMax)) > 0 {
					zb.SetInt64(ExpZMax)
					k.Saturations++
				}
				if zb.Cmp(big.NewInt(math.MinInt32)) < 0 {
					zb.SetInt64(math.MinInt32) // any input below −26·2^20 gives 0
				}
				a := refExp2(tab, u.TableBits(), int32(zb.Int64()))
				u := new(big.Int).Mul(big.NewInt(xu), big.NewInt(int64(in.B.At(t, n))))
				hacc := new(big.Int).Add(new(big.Int).Mul(big.NewInt(a), big.NewInt(q[d*N+n])), u.Lsh(u, uint(S-8)))
				qn, s1 := refSat(refRoundShift(hacc, 16), S)
				h, s2 := refSat(refRoundShift(hacc, S), 20)
				q[d*N+n] = qn
				k.Saturations += b2i(s1) + b2i(s2)
				yacc.Add(yacc, new(big.Int).Mul(big.NewInt(h), big.NewInt(int64(in.C.At(t, n)))))
			}
			ya, over := refSat(yacc, 32) // |Yacc| < 2^31 whenever N ≤ 16
			k.Overflows += b2i(over)
			yq, sat := refSat(refMul(ya, Multiplier{M: p.YStep[t].M}, int(p.YStep[t].Shift)+eg), ScanYBits)
			k.Saturations += b2i(sat)
			sh := eg + int(p.SkipShift[d])
			var vy *big.Int
			if sh >= 0 {
				vy = new(big.Int).Lsh(big.NewInt(yq), uint(sh))
			} else {
				vy = refRoundShift(big.NewInt(yq), -sh)
			}
			vb := vy.Add(vy, big.NewInt(int64(p.SkipD[d])*x))
			g := new(big.Int).Mul(vb, big.NewInt(int64(in.Z.At(t, d))))
			o, sat := refSat(refMul(g.Int64(), Multiplier{M: p.Gate[d].M}, int(p.Gate[d].Shift)), GateBits)
			k.Saturations += b2i(sat)
			out[t*E+d], y[t*E+d], v[t*E+d] = o, yq, vb.Int64()
		}
	}
	return out, y, v, k
}

// TestScanProperty checks the scan unit bit for bit against the math/big
// reference on random directions, with extreme inputs mixed in, with every
// kernel set (the Go forms and, where the CPU runs them, the assembly
// ones). The state counts include multiples of 8 and 16 and counts above
// the 32-bit states pass's bound, the channel counts partial kernel
// blocks; the extremes (negative Δ, saturating codes, extreme step
// constants) send steps to the exact 64-bit states pass.
func TestScanProperty(t *testing.T) {
	u, err := NewExp2Unit(DefaultExpTableBits)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(14, 14))
	sets := kernelSets()
	steps := map[string][2]int{}
	var lanes, states16 int
	var sats int64
	for iter := 0; lanes < 200000; iter++ {
		N := 1 + r.IntN(16)
		if r.IntN(4) == 0 {
			N = []int{24, 31, 32, 40}[r.IntN(4)]
		}
		sc := newScanCase(r, 1+r.IntN(40), N, 2+r.IntN(30))
		h16 := iter%2 == 1
		if h16 {
			withStateBits(sc, 16)
			states16 += sc.L * sc.E * sc.N
		}
		p, err := NewScanParams(sc.E, sc.N, sc.L, &sc.scales)
		if err != nil {
			t.Fatalf("iter %d: %v", iter, err)
		}
		if h16 && iter%3 == 0 { // the input term at its extremes: Xu saturates, Hacc near 2^47
			minNorm := int(slices.Min(p.UChanNorm))
			for i := range p.UStep {
				if r.IntN(3) == 0 {
					p.UStep[i] = Multiplier{M: 1<<31 - 1, Shift: int8(max(1, 17-minNorm))}
				}
			}
		}
		if iter%3 == 0 { // extremes: saturate codes, negative Δ, extreme constants
			for _, m := range []Matrix[int8]{sc.in.X, sc.in.Delta, sc.in.Z, sc.in.B, sc.in.C} {
				for i := range m.Data {
					if r.IntN(5) == 0 {
						m.Data[i] = []int8{-128, 127, -1, 0}[r.IntN(4)]
					}
				}
			}
			for i := range p.StepLog2 {
				if r.IntN(6) == 0 {
					p.StepLog2[i] = []int32{ExpZMax, 0, -30 << 20, scanZLimit - 1, scanZLimit}[r.IntN(5)]
				}
			}
			for d := range p.SkipShift {
				if r.IntN(4) == 0 { // y′ shifted right into the skip sum
					p.SkipShift[d] -= int8(1 + r.IntN(9))
				}
			}
		}
		want, wantY, wantV, wantK := refScan(p, u, sc.in)
		for name, ks := range sets {
			dst := NewMatrix[int16](sc.L, sc.E)
			taps := &ScanTaps{Y: NewMatrix[int8](sc.L, sc.E), Skip: NewMatrix[int32](sc.L, sc.E)}
			var k Counters
			wide, err := scan(dst, sc.in, p, u, taps, &k, ks)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if int64(dst.Data[i]) != want[i] || int64(taps.Y.Data[i]) != wantY[i] || int64(taps.Skip.Data[i]) != wantV[i] {
					t.Fatalf("%s iter %d (E %d N %d) elem %d: out %d y %d v %d; want %d %d %d", name, iter, sc.E, sc.N, i,
						dst.Data[i], taps.Y.Data[i], taps.Skip.Data[i], want[i], wantY[i], wantV[i])
				}
			}
			if k.Saturations != wantK.Saturations || k.Overflows != wantK.Overflows {
				t.Fatalf("%s iter %d: counters %+v, want %+v", name, iter, k, wantK)
			}
			sats += k.Saturations
			n := int64(sc.L * sc.E)
			if k.Exps != n*int64(sc.N) || k.MACs != 4*n*int64(sc.N)+3*n || k.Requants != 4*n {
				t.Fatalf("%s iter %d: operation counts %+v", name, iter, k)
			}
			s := steps[name]
			s[0] += sc.L - wide
			s[1] += wide
			steps[name] = s
		}
		lanes += sc.L * sc.E * sc.N
	}
	if sats == 0 {
		t.Error("no saturation exercised")
	}
	t.Logf("%d lane-steps, %d of them with the int16 state", lanes, states16)
	for name, s := range steps {
		t.Logf("%s kernels: %d steps in the 32-bit states pass, %d in the 64-bit one", name, s[0], s[1])
		if s[0] == 0 || s[1] == 0 {
			t.Errorf("%s kernels: a states pass not exercised: %v", name, s)
		}
	}
}

// fakeQuantScan is the float model of the quantized scan, the fake-quant
// execution of ptq-method.md §5.7 extended with the integer datapath's
// quantization points (int8 y′, gate output at s_m·2^−8): the same
// quantization grid as Scan, exact arithmetic in between. It returns the
// y′ codes and the gate outputs in units of s_m·2^−8, unrounded.
func fakeQuantScan(sc *scanCase) (y []int8, g []float64) {
	s := &sc.scales
	E, N, L := sc.E, sc.N, sc.L
	hq := make([]float64, E*N)
	y, g = make([]int8, L*E), make([]float64, L*E)
	qmax := 127.0
	if s.StateBits == 16 || s.StateBits == -16 {
		qmax = 32767
	}
	round := math.RoundToEven
	if s.StateBits < 0 { // the state clamped to the range of −StateBits bits, not rounded
		round = func(v float64) float64 { return v }
	}
	for t := 0; t < L; t++ {
		sA := 1.0
		if t > 0 {
			sA = s.RL[t-1] / s.RL[t]
		}
		sy := s.YScale * math.Ldexp(1, s.GroupShift[s.TokenGroup[t]])
		for d := 0; d < E; d++ {
			dl := float64(sc.in.Delta.At(t, d)) * s.DeltaScale[d]
			xv := float64(sc.in.X.At(t, d)) * s.XScale[d]
			var yp float64
			for n := 0; n < N; n++ {
				hfull := sA*math.Exp(dl*s.A[d*N+n])*hq[d*N+n] +
					dl*float64(sc.in.B.At(t, n))*s.BScale*xv/(s.RC[d]*s.RL[t])
				hq[d*N+n] = s.StateScale[t] * math.Max(math.Min(round(hfull/s.StateScale[t]), qmax), -qmax-1)
				yp += hfull * float64(sc.in.C.At(t, n)) * s.CScale * s.RL[t]
			}
			yq := quantize(yp, sy)
			y[t*E+d] = yq
			out := s.RC[d]*float64(yq)*sy + s.D[d]*xv
			g[t*E+d] = out * float64(sc.in.Z.At(t, d)) * s.ZScale[d] / s.MergeScale * math.Ldexp(1, GateFrac)
		}
	}
	return y, g
}

// TestScanFidelity runs Vim-sized directions through the integer unit and
// the float fake-quant model and bounds their disagreement (the numbers of
// DATAPATH.md §8.4): differences come from the exponent approximation, the
// 2^−31 multiplier quantization, Q.8 state fed to y and rounding ties, and
// they can flip an int8 state code that the recurrence then carries.
func TestScanFidelity(t *testing.T) {
	u, err := NewExp2Unit(DefaultExpTableBits)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(15, 15))
	var yEq, yN, yMaxDiff int
	var sig, noise, maxRel float64
	for iter := 0; iter < 6; iter++ {
		sc := newScanCase(r, 48, 16, 197)
		p, err := NewScanParams(sc.E, sc.N, sc.L, &sc.scales)
		if err != nil {
			t.Fatal(err)
		}
		dst := NewMatrix[int16](sc.L, sc.E)
		taps := &ScanTaps{Y: NewMatrix[int8](sc.L, sc.E)}
		var k Counters
		if err := Scan(dst, sc.in, p, u, taps, &k); err != nil {
			t.Fatal(err)
		}
		wy, wg := fakeQuantScan(sc)
		for i := range wy {
			d := abs(int(taps.Y.Data[i]) - int(wy[i]))
			yMaxDiff = max(yMaxDiff, d)
			if d == 0 {
				yEq++
			}
			yN++
			e := float64(dst.Data[i]) - math.Max(math.Min(wg[i], 32767), -32768)
			sig += wg[i] * wg[i]
			noise += e * e
			maxRel = math.Max(maxRel, math.Abs(e)/256) // in int8 LSBs of the merged output
		}
		if k.Overflows != 0 {
			t.Errorf("iter %d: %d overflows", iter, k.Overflows)
		}
	}
	sqnr := 10 * math.Log10(sig/noise)
	t.Logf("scan vs fake-quant: y′ codes equal %.2f%%, max |Δy′| %d LSB; gate output SQNR %.1f dB, max |Δ| %.3f merged-int8 LSB",
		100*float64(yEq)/float64(yN), yMaxDiff, sqnr, maxRel)
	if float64(yEq)/float64(yN) < 0.97 || sqnr < 40 {
		t.Errorf("scan fidelity: %.2f%% y′ codes equal, SQNR %.1f dB", 100*float64(yEq)/float64(yN), sqnr)
	}
}

// TestScanStateWidths runs the same Vim-sized directions with the int8 and
// the int16 carried state (DATAPATH.md §8.6) and compares each with the
// float model of its own quantization grid and with the float model whose
// state is clamped to the same range but not rounded: the int16 state must
// follow its float model as closely as the int8 state follows its own, and
// be much closer to the unrounded state.
func TestScanStateWidths(t *testing.T) {
	u, err := NewExp2Unit(DefaultExpTableBits)
	if err != nil {
		t.Fatal(err)
	}
	type tally struct {
		own, free          int64
		n, maxOwn, maxFree int
	}
	var res [2]tally
	for iter := 0; iter < 4; iter++ {
		for w, bits := range []int{8, 16} {
			sc := withStateBits(newScanCase(rand.New(rand.NewPCG(19, uint64(iter))), 48, 16, 197), bits)
			p, err := NewScanParams(sc.E, sc.N, sc.L, &sc.scales)
			if err != nil {
				t.Fatal(err)
			}
			dst := NewMatrix[int16](sc.L, sc.E)
			taps := &ScanTaps{Y: NewMatrix[int8](sc.L, sc.E)}
			var k Counters
			if err := Scan(dst, sc.in, p, u, taps, &k); err != nil {
				t.Fatal(err)
			}
			if k.Overflows != 0 {
				t.Errorf("%d-bit state: %d overflows", bits, k.Overflows)
			}
			own, _ := fakeQuantScan(sc)
			free := *sc
			free.scales.StateBits = -bits
			fy, _ := fakeQuantScan(&free)
			r := &res[w]
			for i, v := range taps.Y.Data {
				d := abs(int(v) - int(own[i]))
				r.maxOwn = max(r.maxOwn, d)
				r.own += b2i(d == 0)
				r.free += b2i(v == fy[i])
				r.maxFree = max(r.maxFree, abs(int(v)-int(fy[i])))
				r.n++
			}
		}
	}
	for w, bits := range []int{8, 16} {
		r := res[w]
		t.Logf("int%d state: y′ codes equal to its fake-quant model %.2f%% (max |Δ| %d), to the unrounded-state model %.2f%% (max |Δ| %d)",
			bits, 100*float64(r.own)/float64(r.n), r.maxOwn, 100*float64(r.free)/float64(r.n), r.maxFree)
		if float64(r.own)/float64(r.n) < 0.97 {
			t.Errorf("int%d state: %.2f%% of y′ codes equal to the fake-quant model", bits, 100*float64(r.own)/float64(r.n))
		}
	}
	if res[1].free <= res[0].free || float64(res[1].free)/float64(res[1].n) < 0.97 || res[1].maxFree > 2 {
		t.Errorf("int16 state not closer to the unrounded state: %d vs %d of %d codes, max |Δ| %d", res[1].free, res[0].free, res[1].n, res[1].maxFree)
	}
}

func TestScanParamsValidate(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 16))
	sc := newScanCase(r, 6, 4, 9)
	good, err := NewScanParams(sc.E, sc.N, sc.L, &sc.scales)
	if err != nil {
		t.Fatal(err)
	}
	clone := func() *ScanParams {
		p := *good
		p.ANeg = append([]int32(nil), good.ANeg...)
		p.StepLog2 = append([]int32(nil), good.StepLog2...)
		p.UChan = append([]Multiplier(nil), good.UChan...)
		p.UChanNorm = append([]int8(nil), good.UChanNorm...)
		p.UStep = append([]Multiplier(nil), good.UStep...)
		p.YStep = append([]Multiplier(nil), good.YStep...)
		p.TokenGroup = append([]uint8(nil), good.TokenGroup...)
		p.GroupShift = append([]int8(nil), good.GroupShift...)
		p.SkipShift = append([]int8(nil), good.SkipShift...)
		p.SkipD = append([]int32(nil), good.SkipD...)
		p.Gate = append([]Multiplier(nil), good.Gate...)
		return &p
	}
	tests := []struct {
		name string
		mod  func(p *ScanParams)
	}{
		{"shape", func(p *ScanParams) { p.States = 0 }},
		{"a_neg length", func(p *ScanParams) { p.ANeg = p.ANeg[1:] }},
		{"gate length", func(p *ScanParams) { p.Gate = p.Gate[1:] }},
		{"negative decay", func(p *ScanParams) { p.ANeg[2] = -1 }},
		{"step rescale", func(p *ScanParams) { p.StepLog2[1] = ExpZMax + 1 }},
		{"bad multiplier", func(p *ScanParams) { p.YStep[0].Shift = 0 }},
		{"stage-1 factor", func(p *ScanParams) { p.UChan[0] = Multiplier{1 << 30, 10} }},
		{"total u shift", func(p *ScanParams) { p.UChanNorm[0] = -100 }},
		{"token group", func(p *ScanParams) { p.TokenGroup[0] = 9 }},
		{"no groups", func(p *ScanParams) { p.GroupShift = nil }},
		{"y shift", func(p *ScanParams) { p.GroupShift[p.TokenGroup[0]] = -64 }},
		{"skip bound", func(p *ScanParams) { p.SkipD[0] = 1 << 16 }},
		{"skip shift", func(p *ScanParams) { p.SkipShift[0] = 30 }},
		{"state bits", func(p *ScanParams) { p.StateBits = 12 }},
	}
	for _, tt := range tests {
		p := clone()
		tt.mod(p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	u, _ := NewExp2Unit(DefaultExpTableBits)
	dst := NewMatrix[int16](sc.L, sc.E)
	if err := Scan(dst, sc.in, good, nil, nil, nil); err == nil {
		t.Error("nil exponent unit accepted")
	}
	if err := Scan(dst, sc.in, good, &Exp2Unit{}, nil, nil); err == nil {
		t.Error("zero-value exponent unit accepted")
	}
	bad := sc.in
	bad.B = NewMatrix[int8](sc.L, sc.N+1)
	if err := Scan(dst, bad, good, u, nil, nil); err == nil {
		t.Error("B with wrong width accepted")
	}
	if err := Scan(dst, sc.in, good, u, &ScanTaps{Y: NewMatrix[int8](1, 1)}, nil); err == nil {
		t.Error("tap with wrong shape accepted")
	}
	scales := []func(s *ScanScales){
		func(s *ScanScales) { s.A[0] = 0.5 },
		func(s *ScanScales) { s.StateScale = s.StateScale[1:] },
		func(s *ScanScales) { s.XScale[0] = 0 },
		func(s *ScanScales) { s.MergeScale = math.NaN() },
		func(s *ScanScales) { s.TokenGroup[0] = 7 },
		func(s *ScanScales) { s.GroupShift = nil },
		func(s *ScanScales) { s.StateScale[0] = 1e6 }, // step 1 rescale ≥ 2^8
		func(s *ScanScales) { s.D[0] = math.Inf(1) },
		func(s *ScanScales) { s.StateBits = 4 },
	}
	for i, mod := range scales {
		c := newScanCase(rand.New(rand.NewPCG(16, 16)), 6, 4, 9)
		mod(&c.scales)
		if _, err := NewScanParams(c.E, c.N, c.L, &c.scales); err == nil {
			t.Errorf("bad scales %d accepted", i)
		}
	}
}

func TestMergeFlipResidual(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 17))
	f, b := NewMatrix[int16](400, 300), NewMatrix[int16](400, 300)
	for i := range f.Data {
		f.Data[i] = int16(extremeInt32(r))
		b.Data[i] = int16(extremeInt32(r))
		if i%7 == 0 {
			f.Data[i], b.Data[i] = 32767, 32767
		}
	}
	m := NewMatrix[int8](400, 300)
	var c Counters
	if err := Merge(m, f, b, &c); err != nil {
		t.Fatal(err)
	}
	var sat int64
	for i := range m.Data {
		// floor((f + b)/2^(GateFrac+1) + 1/2) with ties toward +∞, clamped
		want := math.Floor(float64(int(f.Data[i])+int(b.Data[i]))/(2<<GateFrac) + 0.5)
		w := math.Max(math.Min(want, 127), -128)
		sat += b2i(w != want)
		if float64(m.Data[i]) != w {
			t.Fatalf("merge(%d, %d) = %d, want %g", f.Data[i], b.Data[i], m.Data[i], w)
		}
	}
	if c.Saturations != sat || sat == 0 {
		t.Fatalf("merge saturations %d, want %d (> 0)", c.Saturations, sat)
	}
	for _, rows := range []int{1, 2, 5, 197} {
		src := NewMatrix[int8](rows, 3)
		fillInt8(r, src.Data, -128, 127)
		dst := NewMatrix[int8](rows, 3)
		if err := FlipRows(dst, src); err != nil {
			t.Fatal(err)
		}
		back := NewMatrix[int8](rows, 3)
		if err := FlipRows(back, dst); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < rows; i++ {
			for j := 0; j < 3; j++ {
				if dst.At(i, j) != src.At(rows-1-i, j) || back.At(i, j) != src.At(i, j) {
					t.Fatalf("flip %d rows wrong at (%d, %d)", rows, i, j)
				}
			}
		}
		inPlace := Matrix[int8]{Rows: rows, Cols: 3, Data: append([]int8(nil), src.Data...)}
		if err := FlipRows(inPlace, inPlace); err != nil {
			t.Fatal(err)
		}
		for i := range inPlace.Data {
			if inPlace.Data[i] != dst.Data[i] {
				t.Fatalf("in-place flip of %d rows differs", rows)
			}
		}
	}
	res, add := NewMatrix[int32](100, 100), NewMatrix[int32](100, 100)
	for i := range res.Data {
		res.Data[i], add.Data[i] = extremeInt32(r), extremeInt32(r)
	}
	orig := append([]int32(nil), res.Data...)
	c = Counters{}
	if err := ResidualAdd(res, add, &c); err != nil {
		t.Fatal(err)
	}
	sat = 0
	for i := range res.Data {
		want, s := Saturate(int64(orig[i])+int64(add.Data[i]), 32)
		sat += b2i(s)
		if int64(res.Data[i]) != want {
			t.Fatalf("residual %d + %d = %d, want %d", orig[i], add.Data[i], res.Data[i], want)
		}
	}
	if c.Saturations != sat {
		t.Fatalf("residual saturations %d, want %d", c.Saturations, sat)
	}
	if err := Merge(m, f, NewMatrix[int16](2, 2), nil); err == nil {
		t.Error("merge shape mismatch accepted")
	}
}

// BenchmarkScanVimTi runs one direction of one Vim-Ti layer's scan (L 197,
// E 384, N 16).
func BenchmarkScanVimTi(b *testing.B) {
	sc := newScanCase(rand.New(rand.NewPCG(18, 18)), 384, 16, 197)
	p, err := NewScanParams(sc.E, sc.N, sc.L, &sc.scales)
	if err != nil {
		b.Fatal(err)
	}
	u, _ := NewExp2Unit(DefaultExpTableBits)
	dst := NewMatrix[int16](sc.L, sc.E)
	for b.Loop() {
		if err := Scan(dst, sc.in, p, u, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanFloat64VimTi is the float64 reference point: the plain
// selective scan with math.Exp on the same shape.
func BenchmarkScanFloat64VimTi(b *testing.B) {
	sc := newScanCase(rand.New(rand.NewPCG(18, 18)), 384, 16, 197)
	E, N, L := sc.E, sc.N, sc.L
	dl, x, z := make([]float64, L*E), make([]float64, L*E), make([]float64, L*E)
	B, C := make([]float64, L*N), make([]float64, L*N)
	for i := range dl {
		dl[i], x[i], z[i] = float64(sc.in.Delta.Data[i])*0.01, float64(sc.in.X.Data[i])*0.01, float64(sc.in.Z.Data[i])*0.01
	}
	for i := range B {
		B[i], C[i] = float64(sc.in.B.Data[i])*0.01, float64(sc.in.C.Data[i])*0.01
	}
	h := make([]float64, E*N)
	out := make([]float64, L*E)
	for b.Loop() {
		clear(h)
		for t := 0; t < L; t++ {
			for d := 0; d < E; d++ {
				var y float64
				for n := 0; n < N; n++ {
					hv := math.Exp(dl[t*E+d]*sc.scales.A[d*N+n])*h[d*N+n] + dl[t*E+d]*B[t*N+n]*x[t*E+d]
					h[d*N+n] = hv
					y += hv * C[t*N+n]
				}
				out[t*E+d] = (y + sc.scales.D[d]*x[t*E+d]) * z[t*E+d]
			}
		}
	}
}
