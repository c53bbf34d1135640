package main

import "fmt"

// requantKernels writes requantRow{8,16,32}AVX512, the AVX-512 form of the
// inner loop of Requantize (requant.go) for int8, int16 and int32 outputs:
// eight channels per iteration in 64-bit lanes.
//
//	func requantRow<w>AVX512(dst unsafe.Pointer, src *int32, n int, c *requantConsts, extra int64) (over, sat int64)
func requantKernels(g *gen) {
	for _, w := range []int{8, 16, 32} {
		requantKernel(g, w)
	}
}

func requantKernel(g *gen, w int) {
	name := fmt.Sprintf("requantRow%dAVX512", w)
	g.p("")
	g.p("// func %s(dst unsafe.Pointer, src *int32, n int, c *requantConsts, extra int64) (over, sat int64)", name)
	g.p("TEXT ·%s(SB), NOSPLIT, $0-56", name)
	g.i("MOVQ dst+0(FP), DI")
	g.i("MOVQ src+8(FP), SI")
	g.i("MOVQ n+16(FP), CX")
	g.i("MOVQ c+24(FP), AX")
	g.i("MOVQ requantConsts_mant(AX), R8")
	g.i("MOVQ requantConsts_shift(AX), R9")
	g.i("MOVQ requantConsts_bias(AX), R10")
	bcast64(g, "extra+32(FP)", "Z31")
	bcast64(g, "requantConsts_zp(AX)", "Z30")
	bcast64(g, "requantConsts_lo(AX)", "Z29")
	bcast64(g, "requantConsts_hi(AX)", "Z28")
	const64(g, 1<<31-1, "Z27")
	const64(g, -1<<31, "Z26")
	const64(g, 63, "Z25")
	const64(g, 1, "Z24")
	g.i("VPXORQ Z23, Z23, Z23") // overflows
	g.i("VPXORQ Z22, Z22, Z22") // saturations
	g.i("XORQ R12, R12")
	g.i("SHRQ $3, CX")
	g.i("JZ rq%ddone", w)
	g.p("rq%dloop:", w)
	body := []string{
		"VPMOVSXDQ (SI)(R12*4), Z0",
		"VPADDQ (R10)(R12*8), Z0, Z0", // acc + bias
		"VPCMPGTQ Z27, Z0, K1",
		"VPCMPGTQ Z0, Z26, K2",
		"KORW K1, K2, K1",
		"VPADDQ Z24, Z23, K1, Z23",
		"VPMINSQ Z27, Z0, Z0",
		"VPMAXSQ Z26, Z0, Z0",
		"VPMOVSXDQ (R8)(R12*4), Z1",
		"VPMULDQ Z1, Z0, Z0",
		"VMOVDQU64 (R9)(R12*8), Z2",
		"VPADDQ Z31, Z2, Z2",
		"VPMINSQ Z25, Z2, Z2", // S
		"VPSUBQ Z24, Z2, Z3",
		"VPSLLVQ Z3, Z24, Z3",
		"VPADDQ Z3, Z0, Z0",
		"VPSRAVQ Z2, Z0, Z0",
		"VPADDQ Z30, Z0, Z0",
		"VPCMPGTQ Z28, Z0, K1",
		"VPCMPGTQ Z0, Z29, K2",
		"KORW K1, K2, K1",
		"VPADDQ Z24, Z22, K1, Z22",
		"VPMINSQ Z28, Z0, Z0",
		"VPMAXSQ Z29, Z0, Z0",
	}
	switch w {
	case 8:
		body = append(body, "VPMOVQB Z0, X4", "VMOVQ X4, (DI)(R12*1)")
	case 16:
		body = append(body, "VPMOVQW Z0, X4", "VMOVDQU X4, (DI)(R12*2)")
	case 32:
		body = append(body, "VPMOVQD Z0, Y4", "VMOVDQU Y4, (DI)(R12*4)")
	}
	body = append(body, "ADDQ $8, R12", "DECQ CX", fmt.Sprintf("JNZ rq%dloop", w))
	for _, s := range body {
		g.i("%s", s)
	}
	g.p("rq%ddone:", w)
	reduce64(g, "Z23")
	g.i("MOVQ X0, over+40(FP)")
	reduce64(g, "Z22")
	g.i("MOVQ X0, sat+48(FP)")
	g.i("VZEROUPPER")
	g.i("RET")
}

// groupKernels writes groupRow{8,16,32}AVX512, the AVX-512 form of the row
// loop of RequantizeGroups (group.go): Σ_g acc_g·Mult[g] over k groups in
// 64-bit lanes, rounded, offset and saturated, eight outputs per iteration.
// rows[g] points at the row of group g, mult[g] is its multiplier as int64.
//
//	func groupRow<w>AVX512(dst unsafe.Pointer, rows **int32, mult *int64, k, n int, c *requantConsts) (sat int64)
func groupKernels(g *gen) {
	for _, w := range []int{8, 16, 32} {
		name := fmt.Sprintf("groupRow%dAVX512", w)
		g.p("")
		g.p("// func %s(dst unsafe.Pointer, rows **int32, mult *int64, k int, n int, c *requantConsts) (sat int64)", name)
		g.p("TEXT ·%s(SB), NOSPLIT, $0-56", name)
		g.i("MOVQ dst+0(FP), DI")
		g.i("MOVQ n+32(FP), CX")
		g.i("MOVQ c+40(FP), AX")
		g.i("MOVQ requantConsts_shift(AX), R11")
		g.i("VPBROADCASTQ (R11), Z31") // the shift
		bcast64(g, "requantConsts_zp(AX)", "Z30")
		bcast64(g, "requantConsts_lo(AX)", "Z29")
		bcast64(g, "requantConsts_hi(AX)", "Z28")
		const64(g, 1, "Z24")
		g.i("VPSUBQ Z24, Z31, Z27")
		g.i("VPSLLVQ Z27, Z24, Z27") // 2^(shift−1)
		g.i("VPXORQ Z22, Z22, Z22")  // saturations
		g.i("XORQ R12, R12")
		g.i("SHRQ $3, CX")
		g.i("JZ gr%ddone", w)
		g.p("gr%dloop:", w)
		g.i("VMOVDQA64 Z27, Z0")
		g.i("MOVQ rows+8(FP), SI")
		g.i("MOVQ mult+16(FP), R9")
		g.i("MOVQ k+24(FP), BX")
		g.p("gr%dgroup:", w)
		for _, s := range []string{
			"MOVQ (SI), R10",
			"VPMOVSXDQ (R10)(R12*4), Z1",
			"VPMULDQ.BCST (R9), Z1, Z1",
			"VPADDQ Z1, Z0, Z0",
			"ADDQ $8, SI",
			"ADDQ $8, R9",
			"DECQ BX",
			fmt.Sprintf("JNZ gr%dgroup", w),
			"VPSRAVQ Z31, Z0, Z0",
			"VPADDQ Z30, Z0, Z0",
			"VPCMPGTQ Z28, Z0, K1",
			"VPCMPGTQ Z0, Z29, K2",
			"KORW K1, K2, K1",
			"VPADDQ Z24, Z22, K1, Z22",
			"VPMINSQ Z28, Z0, Z0",
			"VPMAXSQ Z29, Z0, Z0",
		} {
			g.i("%s", s)
		}
		switch w {
		case 8:
			g.i("VPMOVQB Z0, X4")
			g.i("VMOVQ X4, (DI)(R12*1)")
		case 16:
			g.i("VPMOVQW Z0, X4")
			g.i("VMOVDQU X4, (DI)(R12*2)")
		case 32:
			g.i("VPMOVQD Z0, Y4")
			g.i("VMOVDQU Y4, (DI)(R12*4)")
		}
		g.i("ADDQ $8, R12")
		g.i("DECQ CX")
		g.i("JNZ gr%dloop", w)
		g.p("gr%ddone:", w)
		reduce64(g, "Z22")
		g.i("MOVQ X0, sat+48(FP)")
		g.i("VZEROUPPER")
		g.i("RET")
	}
}
