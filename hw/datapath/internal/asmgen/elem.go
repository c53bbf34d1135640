package main

// dwconvKernel writes dwconvRowAVX512: one output row of the depthwise
// convolution, out[i] = Σ_{j<nk} taps[j·stride+i]·x[j·stride+i] for the
// first e channels (e a multiple of 16), int32 accumulation, 16 channels
// per vector. The Go form is the inner loops of DepthwiseConv.
//
//	func dwconvRowAVX512(out *int32, x *int8, taps *int32, nk, e, stride int)
func dwconvKernel(g *gen) {
	g.p("")
	g.p("// func dwconvRowAVX512(out *int32, x *int8, taps *int32, nk int, e int, stride int)")
	g.p("TEXT ·dwconvRowAVX512(SB), NOSPLIT, $0-48")
	g.i("MOVQ out+0(FP), DI")
	g.i("MOVQ x+8(FP), SI")
	g.i("MOVQ taps+16(FP), DX")
	g.i("MOVQ nk+24(FP), BX")
	g.i("MOVQ e+32(FP), CX")
	g.i("MOVQ stride+40(FP), R8")
	g.i("XORQ R12, R12")
	g.i("SHRQ $4, CX")
	g.i("JZ dwdone")
	g.p("dwchunk:")
	for _, s := range []string{
		"VPXORD Z0, Z0, Z0",
		"LEAQ (SI)(R12*1), R9",
		"LEAQ (DX)(R12*4), R10",
		"MOVQ BX, R11",
	} {
		g.i("%s", s)
	}
	g.p("dwtap:")
	for _, s := range []string{
		"VPMOVSXBD (R9), Z1",
		"VPMULLD (R10), Z1, Z1",
		"VPADDD Z1, Z0, Z0",
		"ADDQ R8, R9",
		"LEAQ (R10)(R8*4), R10",
		"DECQ R11",
		"JNZ dwtap",
		"VMOVDQU32 Z0, (DI)(R12*4)",
		"ADDQ $16, R12",
		"DECQ CX",
		"JNZ dwchunk",
	} {
		g.i("%s", s)
	}
	g.p("dwdone:")
	g.i("VZEROUPPER")
	g.i("RET")
}

// lutKernel writes lutRowAVX512: n int8 inputs (n a multiple of 64) through
// k tables of 256 entries, 64 lanes per vector. tabs holds, per table, the
// 256 entries then 256 clamped flags (0 or 1), both addressed by the
// input's bit pattern; masks[c·k+j] has bit i set when lane i of chunk c
// uses table j. VPERMI2B looks up 128 bytes by the low 7 bits; the sign bit
// of the input selects the half. It returns the number of clamped lookups.
//
//	func lutRowAVX512(dst, src *int8, n int, tabs *byte, masks *uint64, k int) (sat int64)
func lutKernel(g *gen) {
	g.p("")
	g.p("// func lutRowAVX512(dst *int8, src *int8, n int, tabs *byte, masks *uint64, k int) (sat int64)")
	g.p("TEXT ·lutRowAVX512(SB), NOSPLIT, $0-56")
	g.i("MOVQ dst+0(FP), DI")
	g.i("MOVQ src+8(FP), SI")
	g.i("MOVQ n+16(FP), CX")
	g.i("MOVQ masks+32(FP), DX")
	g.i("XORQ AX, AX") // clamped count
	g.i("SHRQ $6, CX")
	g.i("JZ lutdone")
	g.p("lutchunk:")
	g.i("VMOVDQU8 (SI), Z0")
	g.i("VPMOVB2M Z0, K1") // lanes with x < 0: the upper half
	g.i("MOVQ tabs+24(FP), R9")
	g.i("MOVQ k+40(FP), BX")
	g.p("luttable:")
	for _, s := range []string{
		"KMOVQ (DX), K2", // lanes of this table
		"VMOVDQU8 (R9), Z10",
		"VMOVDQA64 Z0, Z1",
		"VPERMI2B 64(R9), Z10, Z1", // entries 0..127
		"VMOVDQU8 128(R9), Z10",
		"VMOVDQA64 Z0, Z2",
		"VPERMI2B 192(R9), Z10, Z2", // entries 128..255
		"VPBLENDMB Z2, Z1, K1, Z1",
		"VMOVDQU8 Z1, K2, Z3", // into the output lanes of this table
		"VMOVDQU8 256(R9), Z10",
		"VMOVDQA64 Z0, Z1",
		"VPERMI2B 320(R9), Z10, Z1",
		"VMOVDQU8 384(R9), Z10",
		"VMOVDQA64 Z0, Z2",
		"VPERMI2B 448(R9), Z10, Z2",
		"VPBLENDMB Z2, Z1, K1, Z1",
		"VPTESTMB Z1, Z1, K2, K3", // clamped lanes of this table
		"KMOVQ K3, R10",
		"POPCNTQ R10, R10",
		"ADDQ R10, AX",
		"ADDQ $8, DX",
		"ADDQ $512, R9",
		"DECQ BX",
		"JNZ luttable",
		"VMOVDQU8 Z3, (DI)",
		"ADDQ $64, SI",
		"ADDQ $64, DI",
		"DECQ CX",
		"JNZ lutchunk",
	} {
		g.i("%s", s)
	}
	g.p("lutdone:")
	g.i("MOVQ AX, sat+48(FP)")
	g.i("VZEROUPPER")
	g.i("RET")
}
