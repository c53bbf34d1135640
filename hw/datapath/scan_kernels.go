package datapath

import "math"

// The scan unit's simulation kernels (DATAPATH.md §8.5). One step of the
// scan runs in three passes over the channels, which are independent: xu
// (the input term Xu), states (the N state lanes of each channel, giving
// Σ H·C) and out (y′, the D skip and the gate). The channels are laid out
// in blocks of scanLanes, the state transposed (row n holds state n of
// every channel), so that a vector lane is a channel. The states pass
// works in 32-bit lanes, which is exact under the bounds below, checked per
// call and per step by scan; a step outside them runs scanStates, the exact
// 64-bit form. These Go functions are the specification and the pure-Go
// fallback of the AVX-512 kernels in kernels_amd64.s.

// scanLanes is the number of channels of a kernel block (16 int32 lanes of a
// 512-bit vector).
const scanLanes = 16

// Bounds of the 32-bit states pass: every Δ ≥ 0 and |Xu| ≤ scanXuLimit
// (checked by the xu pass), StepLog2[t] < scanZLimit and StepLog2[t] −
// 127·max ANeg ≥ −2^31, N ≤ scanMaxN, 127·max ANeg ≤ scanMaxDA.
const (
	scanZLimit  = 7 << ExpInFrac // z below it: Ā′ ≤ 2^23
	scanXuLimit = 1<<23 - 1      // |Xu| at most this
	scanMaxN    = 31             // N·2^26 < 2^31: Σ H·C fits int32
	scanMaxDA   = math.MaxInt32  // 127·max ANeg at most this
)

// scanArgs are the operands of one step of the scan kernels. Channel
// arrays have e entries (E padded to a multiple of scanLanes with zero
// inputs and neutral constants, which produce zeros and no saturation);
// state arrays are n×e.
type scanArgs struct {
	e, n int

	// The step: inputs Δ, x, z (e each), B and C interleaved (bc[2i] =
	// B[t,i], bc[2i+1] = C[t,i]), the constants of step t.
	delta, x, z *int8
	bc          *int32
	ct          int64 // StepLog2[t]
	utM, utSh   int64 // UStep[t]
	yM, ySh     int64 // YStep[t].M and min(YStep[t].Shift + e_g, 63)
	eg          int64 // e_g of the token group of t

	// Per-channel constants: the first input multiplier UChan (mantissa,
	// rounding constant 2^(Shift−1), shift), UChanNorm − 16, the skip
	// shift and factor, the gate multiplier.
	u1M               *int32
	u1Rnd, u1Sh, norm *int64
	skipShift         *int64
	skipD             *int32
	gM                *int32
	gRnd, gSh         *int64

	// The carried state and the decays, n×e; the exponent table (base and
	// slope of the 128 segments).
	q           *int8
	aneg        *int32
	base, slope *uint32

	// Outputs: Xu and Σ H·C (written by the xu and states passes), the
	// gated output, y′ and V.
	xu, yacc *int32
	out      *int16
	yq       *int8
	v        *int32
}

// scanKernels is a set of the three passes: the assembly ones or their Go
// forms.
type scanKernels struct {
	// xu writes Xu for every channel and returns the saturations and
	// whether every Δ ≥ 0 and |Xu| ≤ scanXuLimit.
	xu func(a *scanArgs) (sat int64, fits bool)
	// states updates the state and writes Σ H·C; it returns the
	// saturations. It requires the bounds of the 32-bit pass.
	states func(a *scanArgs) (sat int64)
	// out writes the outputs from Σ H·C and returns the saturations.
	out func(a *scanArgs) (sat int64)
}

// goScanKernels returns the Go forms of the kernels.
func goScanKernels() scanKernels {
	return scanKernels{xu: scanXuGo, states: scanStatesGo, out: scanOutGo}
}

func scanXuGo(a *scanArgs) (sat int64, fits bool) {
	e := a.e
	delta, x := unsafeSlice(a.delta, e), unsafeSlice(a.x, e)
	u1M, u1Rnd, u1Sh, norm := unsafeSlice(a.u1M, e), unsafeSlice(a.u1Rnd, e), unsafeSlice(a.u1Sh, e), unsafeSlice(a.norm, e)
	xu := unsafeSlice(a.xu, e)
	fits = true
	for d := 0; d < e; d++ {
		y1 := (int64(delta[d])*int64(x[d])*int64(u1M[d]) + u1Rnd[d]) >> uint(u1Sh[d])
		s := min(a.utSh+norm[d], 63)
		v, c := clampInt32((int64(int32(y1))*a.utM + 1<<uint(s-1)) >> uint(s))
		xu[d] = v
		sat += b2i(c)
		fits = fits && delta[d] >= 0 && v <= scanXuLimit && v >= -scanXuLimit
	}
	return sat, fits
}

// scanStatesGo is the states pass in the 32-bit arithmetic of the assembly
// kernel (uint32 where the kernel shifts logically).
func scanStatesGo(a *scanArgs) (sat int64) {
	e, n := a.e, a.n
	delta, xu, yacc := unsafeSlice(a.delta, e), unsafeSlice(a.xu, e), unsafeSlice(a.yacc, e)
	q, aneg := unsafeSlice(a.q, n*e), unsafeSlice(a.aneg, n*e)
	bc := unsafeSlice(a.bc, 2*n)
	base, slope := unsafeSlice(a.base, 128), unsafeSlice(a.slope, 128)
	ct := int32(a.ct)
	for d := 0; d < e; d++ {
		var y int32
		for i := 0; i < n; i++ {
			z := ct - int32(delta[d])*aneg[i*e+d]
			sh := uint32(13 - z>>20)
			idx := uint32(z) >> 13 & 127
			rh, rl := uint32(z)>>7&63, uint32(z)&127
			hi, lo := slope[idx]*rh, slope[idx]*rl
			p := base[idx] + hi>>6 + ((hi&63)<<7+lo+4096)>>13
			if sh < 32 {
				p >>= sh
			} else {
				p = 0
			}
			ab := int32((p + 1) >> 1)
			hacc := ab*int32(q[i*e+d]) + xu[d]*bc[2*i]
			s := (hacc + 1<<15) >> 16
			if s > 127 || s < -128 {
				s, sat = max(min(s, 127), -128), sat+1
			}
			q[i*e+d] = int8(s)
			h := (hacc + 128) >> 8
			if h > 1<<19-1 || h < -1<<19 {
				h, sat = max(min(h, 1<<19-1), -1<<19), sat+1
			}
			y += h * bc[2*i+1]
		}
		yacc[d] = y
	}
	return sat
}

func scanOutGo(a *scanArgs) (sat int64) {
	e := a.e
	x, z := unsafeSlice(a.x, e), unsafeSlice(a.z, e)
	skipShift, skipD := unsafeSlice(a.skipShift, e), unsafeSlice(a.skipD, e)
	gM, gRnd, gSh := unsafeSlice(a.gM, e), unsafeSlice(a.gRnd, e), unsafeSlice(a.gSh, e)
	yacc, out, yq, vs := unsafeSlice(a.yacc, e), unsafeSlice(a.out, e), unsafeSlice(a.yq, e), unsafeSlice(a.v, e)
	for d := 0; d < e; d++ {
		y, c := Saturate((int64(yacc[d])*a.yM+1<<uint(a.ySh-1))>>uint(a.ySh), ScanYBits)
		sat += b2i(c)
		v := ShiftRound(y, int(a.eg+skipShift[d])) + int64(skipD[d])*int64(x[d])
		g := int64(int32(v * int64(z[d])))
		o, c := Saturate((g*int64(gM[d])+gRnd[d])>>uint(gSh[d]), GateBits)
		sat += b2i(c)
		out[d], yq[d], vs[d] = int16(o), int8(y), int32(v)
	}
	return sat
}
