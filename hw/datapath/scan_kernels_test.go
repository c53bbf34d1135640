package datapath

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// kernelSets returns the scan kernel sets to compare: the Go forms and, on
// a machine that runs them, the assembly ones.
func kernelSets() map[string]scanKernels {
	sets := map[string]scanKernels{"go": goScanKernels()}
	if k, ok := asmScanKernels(); ok {
		sets["asm"] = k
	}
	return sets
}

// kernelCase is a random step of the scan kernels within the bounds of the
// 32-bit states pass, extremes included.
type kernelCase struct {
	e, n                   int
	delta, x, z, q         []int8
	bc, aneg, u1M, skipD   []int32
	gM                     []int32
	u1Rnd, u1Sh, norm      []int64
	skipShift, gRnd, gSh   []int64
	xu                     []int32
	ct, utM, utSh, yM, ySh int64
	eg                     int64
	yacc                   []int32
}

func pick[T any](r *rand.Rand, extremes []T, draw func() T) T {
	if r.IntN(4) == 0 {
		return extremes[r.IntN(len(extremes))]
	}
	return draw()
}

func newKernelCase(r *rand.Rand) *kernelCase {
	e, n := scanLanes*(1+r.IntN(3)), 1+r.IntN(scanMaxN)
	kc := &kernelCase{e: e, n: n}
	i8 := func(lo int) []int8 {
		v := make([]int8, e)
		for i := range v {
			v[i] = pick(r, []int8{int8(lo), 127, 0, int8(max(lo, -1))}, func() int8 { return int8(lo + r.IntN(128-lo)) })
		}
		return v
	}
	kc.delta, kc.x, kc.z, kc.q = i8(0), i8(-128), i8(-128), make([]int8, n*e)
	if r.IntN(5) == 0 { // negative Δ: outside the 32-bit states pass
		kc.delta = i8(-128)
	}
	for i := range kc.q {
		kc.q[i] = extremeInt8(r)
	}
	kc.bc = make([]int32, 2*n)
	for i := range kc.bc {
		kc.bc[i] = int32(extremeInt8(r))
	}
	maxA := pick(r, []int64{0, 1, scanMaxDA / 127}, func() int64 { return r.Int64N(scanMaxDA/127 + 1) })
	kc.aneg = make([]int32, n*e)
	for i := range kc.aneg {
		kc.aneg[i] = int32(pick(r, []int64{0, maxA}, func() int64 { return r.Int64N(maxA + 1) }))
	}
	lo := int64(math.MinInt32) + 127*maxA
	kc.ct = pick(r, []int64{lo, scanZLimit - 1, 0}, func() int64 { return lo + r.Int64N(scanZLimit-lo) })
	kc.xu = make([]int32, e)
	for i := range kc.xu {
		kc.xu[i] = pick(r, []int32{scanXuLimit, -scanXuLimit, 0}, func() int32 { return int32(r.IntN(2*scanXuLimit+1) - scanXuLimit) })
	}
	kc.u1M, kc.skipD, kc.gM = make([]int32, e), make([]int32, e), make([]int32, e)
	kc.u1Rnd, kc.u1Sh, kc.norm = make([]int64, e), make([]int64, e), make([]int64, e)
	kc.skipShift, kc.gRnd, kc.gSh = make([]int64, e), make([]int64, e), make([]int64, e)
	for d := 0; d < e; d++ {
		m := randMultiplier(r, 1, 63)
		kc.u1M[d], kc.u1Sh[d], kc.u1Rnd[d] = m.M, int64(m.Shift), 1<<(m.Shift-1)
		kc.norm[d] = int64(r.IntN(60) - 20)
		kc.skipShift[d] = int64(r.IntN(90) - 70)
		kc.skipD[d] = int32(r.IntN(1<<17) - 1<<16)
		g := randMultiplier(r, 1, 63)
		kc.gM[d], kc.gSh[d], kc.gRnd[d] = g.M, int64(g.Shift), 1<<(g.Shift-1)
	}
	um := randMultiplier(r, 30, 63)
	kc.utM, kc.utSh = int64(um.M), int64(um.Shift)
	ym := randMultiplier(r, 1, 63)
	kc.eg = int64(r.IntN(8) - 3)
	kc.yM, kc.ySh = int64(ym.M), min(max(int64(ym.Shift)+kc.eg, 1), 63)
	kc.yacc = make([]int32, e)
	for i := range kc.yacc {
		kc.yacc[i] = extremeInt32(r)
	}
	return kc
}

// args returns kernel operands over copies of kc's arrays, and the output
// arrays.
func (kc *kernelCase) args(u *Exp2Unit) (*scanArgs, [][]int8, [][]int32, []int16) {
	e := kc.e
	q, xu, yacc := slices.Clone(kc.q), slices.Clone(kc.xu), slices.Clone(kc.yacc)
	yq, v, out := make([]int8, e), make([]int32, e), make([]int16, e)
	a := &scanArgs{e: e, n: kc.n, delta: &kc.delta[0], x: &kc.x[0], z: &kc.z[0], bc: &kc.bc[0],
		ct: kc.ct, utM: kc.utM, utSh: kc.utSh, yM: kc.yM, ySh: kc.ySh, eg: kc.eg,
		u1M: &kc.u1M[0], u1Rnd: &kc.u1Rnd[0], u1Sh: &kc.u1Sh[0], norm: &kc.norm[0],
		skipShift: &kc.skipShift[0], skipD: &kc.skipD[0], gM: &kc.gM[0], gRnd: &kc.gRnd[0], gSh: &kc.gSh[0],
		q: &q[0], aneg: &kc.aneg[0], base: &u.base[0], slope: &u.slope[0],
		xu: &xu[0], yacc: &yacc[0], out: &out[0], yq: &yq[0], v: &v[0]}
	return a, [][]int8{q, yq}, [][]int32{xu, yacc, v}, out
}

// TestScanKernels compares each pass of every kernel set with the exact
// scalar arithmetic on random steps with extreme operands: the states
// pass against scanStates (64-bit) at the bounds of the 32-bit pass, the
// xu and out passes against the multipliers of DATAPATH.md §3.
func TestScanKernels(t *testing.T) {
	u, err := NewExp2Unit(DefaultExpTableBits)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(14, 3))
	for iter := 0; iter < 3000; iter++ {
		kc := newKernelCase(r)
		e, n := kc.e, kc.n
		// Exact states: scanStates on each channel.
		wantQ := slices.Clone(kc.q)
		wantY := make([]int32, e)
		var wk Counters
		b, c := make([]int8, n), make([]int8, n)
		for i := 0; i < n; i++ {
			b[i], c[i] = int8(kc.bc[2*i]), int8(kc.bc[2*i+1])
		}
		for d := 0; d < e; d++ {
			s := scanStates(wantQ[d:], kc.aneg[d:], e, b, c, u, kc.ct, int64(kc.delta[d]), int64(kc.xu[d]), stateFormat(ScanStateBits), &wk)
			if s != int64(int32(s)) && kc.delta[d] >= 0 {
				t.Fatalf("iter %d: Σ H·C = %d outside int32", iter, s)
			}
			wantY[d] = int32(s)
		}
		// Exact xu and out.
		wantXu := make([]int32, e)
		wantOut, wantYq, wantV := make([]int16, e), make([]int8, e), make([]int32, e)
		var xuSat, outSat int64
		fits := true
		for d := 0; d < e; d++ {
			m1 := Multiplier{M: kc.u1M[d], Shift: int8(kc.u1Sh[d])}
			y1 := m1.Apply(int32(kc.delta[d])*int32(kc.x[d]), 0)
			v, sat := clampInt32(Multiplier{M: int32(kc.utM), Shift: int8(kc.utSh)}.Apply(int32(y1), int(kc.norm[d])))
			wantXu[d], xuSat = v, xuSat+b2i(sat)
			fits = fits && kc.delta[d] >= 0 && v >= -scanXuLimit && v <= scanXuLimit
			ym := Multiplier{M: int32(kc.yM), Shift: int8(kc.ySh)}
			yq, s1 := Saturate(ym.Apply(kc.yacc[d], 0), ScanYBits)
			vv := ShiftRound(yq, int(kc.eg+kc.skipShift[d])) + int64(kc.skipD[d])*int64(kc.x[d])
			o, s2 := Saturate(Multiplier{M: kc.gM[d], Shift: int8(kc.gSh[d])}.Apply(int32(vv*int64(kc.z[d])), 0), GateBits)
			wantOut[d], wantYq[d], wantV[d] = int16(o), int8(yq), int32(vv)
			outSat += b2i(s1) + b2i(s2)
		}
		for name, ks := range kernelSets() {
			a, i8s, i32s, out := kc.args(u)
			if slices.Min(kc.delta) >= 0 { // within the states pass's bounds
				if sat := ks.states(a); sat != wk.Saturations || !slices.Equal(i8s[0], wantQ) || !slices.Equal(i32s[1], wantY) {
					t.Fatalf("%s iter %d (n %d ct %d): states pass differs (sat %d, want %d)", name, iter, n, kc.ct, sat, wk.Saturations)
				}
			}
			if sat, f := ks.xu(a); sat != xuSat || f != fits || !slices.Equal(i32s[0], wantXu) {
				t.Fatalf("%s iter %d: xu pass differs: sat %d fits %v, want %d %v", name, iter, sat, f, xuSat, fits)
			}
			copy(i32s[1], kc.yacc)
			if sat := ks.out(a); sat != outSat || !slices.Equal(out, wantOut) || !slices.Equal(i8s[1], wantYq) || !slices.Equal(i32s[2], wantV) {
				t.Fatalf("%s iter %d: out pass differs: sat %d, want %d", name, iter, sat, outSat)
			}
		}
	}
}
