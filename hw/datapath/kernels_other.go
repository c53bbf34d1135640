//go:build !amd64 || purego

package datapath

import "unsafe"

// Without the amd64 assembly the pure-Go paths run; the GEMM micro-kernels
// below are the Go form of the assembly ones, for the tests of the VNNI
// driver (gemmVNNI).
const (
	useVNNI   = false
	useAVX512 = false
)

// vnniRunnable reports whether gemmVNNI can run here: its kernels are the
// Go forms, which run anywhere.
func vnniRunnable() bool { return true }

func gemmVNNI6x64(a *byte, lda int, w *byte, kq int, c *int32, ldc int, corr *int32) {
	gemmTile6(a, lda, w, kq, c, ldc, corr, 4)
}

func gemmVNNI6x16(a *byte, lda int, w *byte, kq int, c *int32, ldc int, corr *int32) {
	gemmTile6(a, lda, w, kq, c, ldc, corr, 1)
}

// gemmTile6 computes the tile the assembly kernels compute, with the same
// wrapping 32-bit arithmetic.
func gemmTile6(a *byte, lda int, w *byte, kq int, c *int32, ldc int, corr *int32, nv int) {
	cols := 16 * nv
	as := unsafe.Slice(a, 5*lda+4*kq)
	ws := unsafe.Slice(w, kq*64*nv)
	cs := unsafe.Slice(c, 5*ldc+cols)
	co := unsafe.Slice(corr, cols)
	for r := 0; r < gemmRows; r++ {
		for j := 0; j < cols; j++ {
			v, l := j/16, j%16
			var s int32
			for q := 0; q < kq; q++ {
				for b := 0; b < 4; b++ {
					s += int32(as[r*lda+4*q+b]) * int32(int8(ws[(q*nv+v)*64+4*l+b]))
				}
			}
			cs[r*ldc+j] = s - co[j]
		}
	}
}

// asmScanKernels reports that there are no assembly scan kernels.
func asmScanKernels() (scanKernels, bool) { return scanKernels{}, false }

// asmRequantRow reports that there is no assembly requantizer kernel.
func asmRequantRow(width int) requantRowKernel { return nil }

// asmDwconvRow reports that there is no assembly convolution kernel.
func asmDwconvRow() dwconvRowKernel { return nil }

// asmLUTRow reports that there is no assembly table kernel.
func asmLUTRow() lutRowKernel { return nil }

// asmGroupRow reports that there is no assembly group requantizer.
func asmGroupRow(width int) groupRowKernel { return nil }
