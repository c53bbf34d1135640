package main

import "fmt"

// gemmRows is the number of activation rows of a GEMM micro-kernel tile.
const gemmRows = 6

// gemmKernel writes gemmVNNI6x<16·nv>: a 6-row × 16·nv-column tile of
// C = A′·W − corr, where A′ holds the activations offset to unsigned bytes
// a+128 (rows at stride lda bytes, Kp = 4·kq columns), W the packed int8
// weights (kq groups of nv·64 bytes: for each vector v, 16 columns × 4
// K-steps) and corr[j] = 128·Σ_q W[j][q] (16·nv columns). VPDPBUSD
// multiplies unsigned bytes of one source by signed bytes of the other and
// adds each group of four products to a 32-bit lane (wrapping, no
// saturation).
//
//	func gemmVNNI6x<cols>(a *int8, lda int, w *byte, kq int, c *int32, ldc int, corr *int32)
func gemmKernel(g *gen, nv int) {
	cols := 16 * nv
	g.p("")
	g.p("// func gemmVNNI6x%d(a *int8, lda int, w *byte, kq int, c *int32, ldc int, corr *int32)", cols)
	g.p("TEXT ·gemmVNNI6x%d(SB), NOSPLIT, $0-56", cols)
	g.i("MOVQ a+0(FP), SI")
	g.i("MOVQ lda+8(FP), DX")
	g.i("MOVQ w+16(FP), DI")
	g.i("MOVQ kq+24(FP), CX")
	g.i("MOVQ c+32(FP), R8")
	g.i("MOVQ ldc+40(FP), R9")
	g.i("MOVQ corr+48(FP), R10")
	g.i("LEAQ (SI)(DX*2), R11")
	g.i("ADDQ DX, R11") // R11 = row 3
	acc := func(r, v int) string { return fmt.Sprintf("Z%d", 8+r*nv+v) }
	for r := 0; r < gemmRows; r++ {
		for v := 0; v < nv; v++ {
			g.i("VPXORD %s, %s, %s", acc(r, v), acc(r, v), acc(r, v))
		}
	}
	rowAddr := []string{"(SI)", "(SI)(DX*1)", "(SI)(DX*2)", "(R11)", "(R11)(DX*1)", "(R11)(DX*2)"}
	g.i("TESTQ CX, CX")
	g.i("JZ gemm%dstore", cols)
	g.p("gemm%dloop:", cols)
	for v := 0; v < nv; v++ {
		g.i("VMOVDQU32 %d(DI), Z%d", 64*v, v)
	}
	for r := 0; r < gemmRows; r++ {
		b := fmt.Sprintf("Z%d", 4+r%2)
		g.i("VPBROADCASTD %s, %s", rowAddr[r], b)
		for v := 0; v < nv; v++ {
			// Go operand order: signed source, unsigned source, accumulator.
			g.i("VPDPBUSD Z%d, %s, %s", v, b, acc(r, v))
		}
	}
	g.i("ADDQ $4, SI")
	g.i("ADDQ $4, R11")
	g.i("ADDQ $%d, DI", 64*nv)
	g.i("DECQ CX")
	g.i("JNZ gemm%dloop", cols)
	g.p("gemm%dstore:", cols)
	g.i("SHLQ $2, R9")
	for v := 0; v < nv; v++ {
		g.i("VMOVDQU32 %d(R10), Z%d", 64*v, v)
	}
	for r := 0; r < gemmRows; r++ {
		for v := 0; v < nv; v++ {
			g.i("VPSUBD Z%d, %s, %s", v, acc(r, v), acc(r, v))
			g.i("VMOVDQU32 %s, %d(R8)", acc(r, v), 64*v)
		}
		if r < gemmRows-1 {
			g.i("ADDQ R9, R8")
		}
	}
	g.i("VZEROUPPER")
	g.i("RET")
}

// peakKernels writes two calibration loops for the GEMM benchmark:
// vnniPeak runs n iterations of 24 independent register-only VPDPBUSD (the
// instruction's throughput bound), addChain n iterations of 8 dependent
// 1-cycle ADDs (the core clock).
//
//	func vnniPeak(n int)
//	func addChain(n int) int
func peakKernels(g *gen) {
	g.p("")
	g.p("// func vnniPeak(n int)")
	g.p("TEXT ·vnniPeak(SB), NOSPLIT, $0-8")
	g.i("MOVQ n+0(FP), CX")
	g.i("VPTERNLOGD $0xff, Z0, Z0, Z0")
	g.i("VPTERNLOGD $0xff, Z1, Z1, Z1")
	g.p("peakloop:")
	for r := 8; r < 32; r++ {
		g.i("VPDPBUSD Z0, Z1, Z%d", r)
	}
	g.i("DECQ CX")
	g.i("JNZ peakloop")
	g.i("VZEROUPPER")
	g.i("RET")
	g.p("")
	g.p("// func addChain(n int) int")
	g.p("TEXT ·addChain(SB), NOSPLIT, $0-16")
	g.i("MOVQ n+0(FP), CX")
	g.i("XORQ AX, AX")
	g.p("chainloop:")
	for r := 0; r < 8; r++ {
		g.i("ADDQ CX, AX")
	}
	g.i("DECQ CX")
	g.i("JNZ chainloop")
	g.i("MOVQ AX, ret+8(FP)")
	g.i("RET")
}
