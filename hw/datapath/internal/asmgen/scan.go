package main

import "fmt"

// The scan kernels: the AVX-512 forms of scanXuGo, scanStatesGo and
// scanOutGo (scan_kernels.go), which specify them. Each takes a *scanArgs;
// the field offsets come from go_asm.h.

// scanConsts are the 32-bit constants the states pass broadcasts from
// memory, by name.
var scanConsts = []struct {
	name string
	v    int32
}{
	{"c13", 13}, {"c32", 32}, {"c64", 64}, {"c63", 63}, {"c127", 127}, {"c4096", 4096},
	{"c1", 1}, {"c32768", 32768}, {"c128", 128}, {"c255", 255},
	{"c2p19", 1 << 19}, {"c2p20m1", 1<<20 - 1}, {"chmax", 1<<19 - 1}, {"chmin", -1 << 19},
}

// sc returns the memory operand of the named constant.
func sc(name string) string {
	for i, c := range scanConsts {
		if c.name == name {
			return fmt.Sprintf("scanconst<>+%d(SB)", 4*i)
		}
	}
	panic("no scan constant " + name)
}

func scanKernels(g *gen) {
	g.p("")
	for i, c := range scanConsts {
		g.p("DATA scanconst<>+%d(SB)/4, $%d", 4*i, c.v)
	}
	g.p("GLOBL scanconst<>(SB), RODATA|NOPTR, $%d", 4*len(scanConsts))
	scanXu(g)
	scanStates(g)
	scanOut(g)
}

// bcast64 broadcasts the int64 at mem into z.
func bcast64(g *gen, mem, z string) {
	g.i("VPBROADCASTQ %s, %s", mem, z)
}

// const64 broadcasts the 64-bit constant v into z.
func const64(g *gen, v int64, z string) {
	g.i("MOVQ $%d, R11", v)
	g.i("VPBROADCASTQ R11, %s", z)
}

// scanXu: 8 channels per iteration in 64-bit lanes.
//
//	func scanXuAVX512(a *scanArgs) (sat int64, fits bool)
func scanXu(g *gen) {
	g.p("")
	g.p("// func scanXuAVX512(a *scanArgs) (sat int64, fits bool)")
	g.p("TEXT ·scanXuAVX512(SB), NOSPLIT, $0-17")
	g.i("MOVQ a+0(FP), AX")
	g.i("MOVQ scanArgs_e(AX), CX")
	g.i("SHRQ $3, CX")
	g.i("MOVQ scanArgs_delta(AX), SI")
	g.i("MOVQ scanArgs_x(AX), DI")
	g.i("MOVQ scanArgs_u1M(AX), R8")
	g.i("MOVQ scanArgs_u1Rnd(AX), R9")
	g.i("MOVQ scanArgs_u1Sh(AX), R10")
	g.i("MOVQ scanArgs_norm(AX), BX")
	g.i("MOVQ scanArgs_xu(AX), DX")
	bcast64(g, "scanArgs_utM(AX)", "Z31")
	bcast64(g, "scanArgs_utSh(AX)", "Z30")
	const64(g, 63, "Z29")
	const64(g, 1, "Z28")
	const64(g, 1<<31-1, "Z27")
	const64(g, -1<<31, "Z26")
	const64(g, 1<<23-1, "Z25")
	g.i("VPXORQ Z24, Z24, Z24") // saturations
	g.i("VPXORQ Z23, Z23, Z23") // 0
	g.i("KXORW K7, K7, K7")     // lanes outside the bounds
	g.p("xuloop:")
	for _, s := range []string{
		"VPMOVSXBQ (SI), Z0", // Δ
		"VPMOVSXBQ (DI), Z1",
		"VPMULDQ Z1, Z0, Z1", // Δ·x
		"VPMOVSXDQ (R8), Z2",
		"VPMULDQ Z2, Z1, Z1",
		"VPADDQ (R9), Z1, Z1",
		"VPSRAVQ (R10), Z1, Z1", // y1
		"VMOVDQU64 (BX), Z2",
		"VPADDQ Z30, Z2, Z2",
		"VPMINSQ Z29, Z2, Z2", // s
		"VPSUBQ Z28, Z2, Z3",
		"VPSLLVQ Z3, Z28, Z3", // 2^(s−1)
		"VPMULDQ Z31, Z1, Z1",
		"VPADDQ Z3, Z1, Z1",
		"VPSRAVQ Z2, Z1, Z1", // Xu, 64-bit
		"VPCMPGTQ Z27, Z1, K1",
		"VPCMPGTQ Z1, Z26, K2",
		"KORW K1, K2, K1",
		"VPADDQ Z28, Z24, K1, Z24",
		"VPMINSQ Z27, Z1, Z1",
		"VPMAXSQ Z26, Z1, Z1",
		"VPMOVQD Z1, Y4",
		"VMOVDQU Y4, (DX)",
		"VPABSQ Z1, Z5",
		"VPCMPGTQ Z25, Z5, K3",
		"VPCMPGTQ Z0, Z23, K4", // Δ < 0
		"KORW K3, K4, K3",
		"KORW K3, K7, K7",
		"ADDQ $8, SI",
		"ADDQ $8, DI",
		"ADDQ $32, R8",
		"ADDQ $64, R9",
		"ADDQ $64, R10",
		"ADDQ $64, BX",
		"ADDQ $32, DX",
		"DECQ CX",
		"JNZ xuloop",
	} {
		g.i("%s", s)
	}
	reduce64(g, "Z24")
	g.i("MOVQ X0, sat+8(FP)")
	g.i("KMOVW K7, AX")
	g.i("TESTQ AX, AX")
	g.i("SETEQ fits+16(FP)")
	g.i("VZEROUPPER")
	g.i("RET")
}

// scanStates: 16 channels per block in 32-bit lanes, the N states in turn.
// The exponent table lives in registers: base in Z16–Z23, slope in
// Z24–Z31, eight entries... sixteen per register; a segment index selects
// within a register pair with VPERMI2D (5 bits) and between the four pairs
// with its bits 5 and 6.
//
//	func scanStatesAVX512(a *scanArgs) (sat int64)
func scanStates(g *gen) {
	g.p("")
	g.p("// func scanStatesAVX512(a *scanArgs) (sat int64)")
	g.p("TEXT ·scanStatesAVX512(SB), NOSPLIT, $0-16")
	g.i("MOVQ a+0(FP), AX")
	g.i("MOVQ scanArgs_base(AX), R11")
	for r := 0; r < 8; r++ {
		g.i("VMOVDQU32 %d(R11), Z%d", 64*r, 16+r)
	}
	g.i("MOVQ scanArgs_slope(AX), R11")
	for r := 0; r < 8; r++ {
		g.i("VMOVDQU32 %d(R11), Z%d", 64*r, 24+r)
	}
	g.i("VPBROADCASTD scanArgs_ct(AX), Z11")
	g.i("VPBROADCASTD %s, Z10", sc("c13"))
	g.i("VPXORD Z12, Z12, Z12") // saturations
	g.i("MOVQ scanArgs_e(AX), BX")
	g.i("MOVQ BX, R11")
	g.i("SHRQ $4, R11") // blocks
	g.i("MOVQ scanArgs_delta(AX), SI")
	g.i("MOVQ scanArgs_xu(AX), DI")
	g.i("MOVQ scanArgs_yacc(AX), DX")
	g.i("MOVQ scanArgs_q(AX), R12")
	g.i("MOVQ scanArgs_aneg(AX), R13")
	g.p("stblock:")
	g.i("VPMOVSXBD (SI), Z15") // Δ
	g.i("VMOVDQU32 (DI), Z14") // Xu
	g.i("VPXORD Z13, Z13, Z13")
	g.i("MOVQ R12, R8")
	g.i("MOVQ R13, R9")
	g.i("MOVQ scanArgs_bc(AX), R10")
	g.i("MOVQ scanArgs_n(AX), CX")
	g.p("ststate:")
	body := []string{
		"VPMULLD (R9), Z15, Z0",
		"VPSUBD Z0, Z11, Z0", // z = ct − Δ·ANeg
		"VPSRAD $20, Z0, Z1",
		"VPSUBD Z1, Z10, Z1", // shift − 1 = 13 − (z >> 20)
		"VPSRLD $13, Z0, Z2", // segment (low 7 bits)
		"VPTESTMD.BCST " + sc("c32") + ", Z2, K1",
		"VPTESTMD.BCST " + sc("c64") + ", Z2, K2",
	}
	// Table lookups: base into Z3, slope into Z4.
	for _, tb := range []struct {
		first int
		dst   string
	}{{16, "Z3"}, {24, "Z4"}} {
		tmp := []string{tb.dst, "Z5", "Z6", "Z7"}
		for pr := 0; pr < 4; pr++ {
			body = append(body, fmt.Sprintf("VMOVDQA64 Z2, %s", tmp[pr]),
				fmt.Sprintf("VPERMI2D Z%d, Z%d, %s", tb.first+2*pr+1, tb.first+2*pr, tmp[pr]))
		}
		body = append(body,
			fmt.Sprintf("VPBLENDMD Z5, %s, K1, %s", tmp[0], tmp[0]),
			"VPBLENDMD Z7, Z6, K1, Z6",
			fmt.Sprintf("VPBLENDMD Z6, %s, K2, %s", tmp[0], tmp[0]))
	}
	body = append(body,
		// (slope·r + 2^12) >> 13 with r = 128·rh + rl, in 32 bits.
		"VPSRLD $7, Z0, Z5",
		"VPANDD.BCST "+sc("c63")+", Z5, Z5",  // rh
		"VPANDD.BCST "+sc("c127")+", Z0, Z6", // rl
		"VPMULLD Z5, Z4, Z5",                 // hi = slope·rh
		"VPMULLD Z6, Z4, Z6",                 // lo = slope·rl
		"VPSRLD $6, Z5, Z7",
		"VPANDD.BCST "+sc("c63")+", Z5, Z5",
		"VPSLLD $7, Z5, Z5",
		"VPADDD Z6, Z5, Z5",
		"VPADDD.BCST "+sc("c4096")+", Z5, Z5",
		"VPSRLD $13, Z5, Z5",
		"VPADDD Z7, Z5, Z5",
		"VPADDD Z5, Z3, Z3", // p
		"VPSRLVD Z1, Z3, Z3",
		"VPADDD.BCST "+sc("c1")+", Z3, Z3",
		"VPSRLD $1, Z3, Z3", // Ā′
		"VPMOVSXBD (R8), Z4",
		"VPMULLD Z4, Z3, Z3",
		"VPMULLD.BCST (R10), Z14, Z4", // Xu·B
		"VPADDD Z4, Z3, Z3",           // Hacc
		"VPADDD.BCST "+sc("c32768")+", Z3, Z4",
		"VPSRAD $16, Z4, Z4",
		"VPMOVSDB Z4, X5",
		"VMOVDQU X5, (R8)", // q, saturated
		"VPADDD.BCST "+sc("c128")+", Z4, Z4",
		"VPCMPUD.BCST $6, "+sc("c255")+", Z4, K3",
		"VPADDD.BCST "+sc("c1")+", Z12, K3, Z12",
		"VPADDD.BCST "+sc("c128")+", Z3, Z3",
		"VPSRAD $8, Z3, Z3",
		"VPADDD.BCST "+sc("c2p19")+", Z3, Z4",
		"VPCMPUD.BCST $6, "+sc("c2p20m1")+", Z4, K4",
		"VPADDD.BCST "+sc("c1")+", Z12, K4, Z12",
		"VPMINSD.BCST "+sc("chmax")+", Z3, Z3",
		"VPMAXSD.BCST "+sc("chmin")+", Z3, Z3", // H
		"VPMULLD.BCST 4(R10), Z3, Z3",          // H·C
		"VPADDD Z3, Z13, Z13",
		"ADDQ BX, R8",
		"LEAQ (R9)(BX*4), R9",
		"ADDQ $8, R10",
		"DECQ CX",
		"JNZ ststate",
	)
	for _, s := range body {
		g.i("%s", s)
	}
	g.i("VMOVDQU32 Z13, (DX)")
	g.i("ADDQ $16, SI")
	g.i("ADDQ $64, DI")
	g.i("ADDQ $64, DX")
	g.i("ADDQ $16, R12")
	g.i("ADDQ $64, R13")
	g.i("DECQ R11")
	g.i("JNZ stblock")
	// Sum the 16 saturation lanes.
	g.i("VEXTRACTI64X4 $1, Z12, Y0")
	g.i("VPADDD Y0, Y12, Y0")
	g.i("VEXTRACTI128 $1, Y0, X1")
	g.i("VPADDD X1, X0, X0")
	g.i("VPSHUFD $0x4e, X0, X1")
	g.i("VPADDD X1, X0, X0")
	g.i("VPSHUFD $0xb1, X0, X1")
	g.i("VPADDD X1, X0, X0")
	g.i("VMOVD X0, AX")
	g.i("MOVQ AX, sat+8(FP)")
	g.i("VZEROUPPER")
	g.i("RET")
}

// scanOut: 8 channels per iteration in 64-bit lanes.
//
//	func scanOutAVX512(a *scanArgs) (sat int64)
func scanOut(g *gen) {
	g.p("")
	g.p("// func scanOutAVX512(a *scanArgs) (sat int64)")
	g.p("TEXT ·scanOutAVX512(SB), NOSPLIT, $0-16")
	g.i("MOVQ a+0(FP), AX")
	bcast64(g, "scanArgs_yM(AX)", "Z31")
	bcast64(g, "scanArgs_ySh(AX)", "Z30")
	bcast64(g, "scanArgs_eg(AX)", "Z28")
	const64(g, 1, "Z26")
	g.i("VPSUBQ Z26, Z30, Z29")
	g.i("VPSLLVQ Z29, Z26, Z29") // 2^(ySh−1)
	const64(g, 63, "Z27")
	const64(g, 127, "Z25")
	const64(g, -128, "Z24")
	const64(g, 32767, "Z23")
	const64(g, -32768, "Z22")
	g.i("VPXORQ Z21, Z21, Z21") // saturations
	g.i("VPXORQ Z20, Z20, Z20") // 0
	g.i("MOVQ scanArgs_e(AX), CX")
	g.i("SHRQ $3, CX")
	g.i("XORQ R12, R12") // channel
	g.i("MOVQ scanArgs_yacc(AX), SI")
	g.i("MOVQ scanArgs_x(AX), DI")
	g.i("MOVQ scanArgs_z(AX), R8")
	g.i("MOVQ scanArgs_skipShift(AX), R9")
	g.i("MOVQ scanArgs_skipD(AX), R10")
	g.i("MOVQ scanArgs_gM(AX), BX")
	g.i("MOVQ scanArgs_gRnd(AX), DX")
	g.i("MOVQ scanArgs_gSh(AX), R13")
	g.p("outloop:")
	for _, s := range []string{
		"VPMOVSXDQ (SI)(R12*4), Z0",
		"VPMULDQ Z31, Z0, Z0",
		"VPADDQ Z29, Z0, Z0",
		"VPSRAVQ Z30, Z0, Z0",
		"VPCMPGTQ Z25, Z0, K1",
		"VPCMPGTQ Z0, Z24, K2",
		"KORW K1, K2, K1",
		"VPADDQ Z26, Z21, K1, Z21",
		"VPMINSQ Z25, Z0, Z0",
		"VPMAXSQ Z24, Z0, Z0", // y′
		"MOVQ scanArgs_yq(AX), R11",
		"VPMOVQB Z0, X1",
		"VMOVQ X1, (R11)(R12*1)",
		"VMOVDQU64 (R9)(R12*8), Z1",
		"VPADDQ Z28, Z1, Z1", // k = e_g + SkipShift
		"VPSLLVQ Z1, Z0, Z2", // y′ << k
		"VPSUBQ Z1, Z20, Z3",
		"VPMINSQ Z27, Z3, Z3", // s = min(−k, 63)
		"VPSUBQ Z26, Z3, Z4",
		"VPSLLVQ Z4, Z26, Z4",
		"VPADDQ Z4, Z0, Z4",
		"VPSRAVQ Z3, Z4, Z4", // RoundShift(y′, s)
		"VPCMPGTQ Z1, Z20, K1",
		"VPBLENDMQ Z4, Z2, K1, Z2",
		"VPMOVSXDQ (R10)(R12*4), Z3",
		"VPMOVSXBQ (DI)(R12*1), Z4",
		"VPMULDQ Z4, Z3, Z3",
		"VPADDQ Z3, Z2, Z2", // V
		"MOVQ scanArgs_v(AX), R11",
		"VPMOVQD Z2, Y3",
		"VMOVDQU Y3, (R11)(R12*4)",
		"VPMOVSXBQ (R8)(R12*1), Z3",
		"VPMULDQ Z3, Z2, Z2", // V·z
		"VPMOVSXDQ (BX)(R12*4), Z3",
		"VPMULDQ Z3, Z2, Z2",
		"VPADDQ (DX)(R12*8), Z2, Z2",
		"VPSRAVQ (R13)(R12*8), Z2, Z2",
		"VPCMPGTQ Z23, Z2, K1",
		"VPCMPGTQ Z2, Z22, K2",
		"KORW K1, K2, K1",
		"VPADDQ Z26, Z21, K1, Z21",
		"VPMINSQ Z23, Z2, Z2",
		"VPMAXSQ Z22, Z2, Z2",
		"MOVQ scanArgs_out(AX), R11",
		"VPMOVQW Z2, X3",
		"VMOVDQU X3, (R11)(R12*2)",
		"ADDQ $8, R12",
		"DECQ CX",
		"JNZ outloop",
	} {
		g.i("%s", s)
	}
	reduce64(g, "Z21")
	g.i("MOVQ X0, sat+8(FP)")
	g.i("VZEROUPPER")
	g.i("RET")
}

// reduce64 sums the eight 64-bit lanes of z into X0 (z is copied to Z12
// first so that the halves are VEX-addressable).
func reduce64(g *gen, z string) {
	g.i("VMOVDQA64 %s, Z12", z)
	g.i("VEXTRACTI64X4 $1, Z12, Y0")
	g.i("VPADDQ Y0, Y12, Y0")
	g.i("VEXTRACTI128 $1, Y0, X1")
	g.i("VPADDQ X1, X0, X0")
	g.i("VPSHUFD $0x4e, X0, X1")
	g.i("VPADDQ X1, X0, X0")
}
