//go:build amd64 && !purego

package datapath

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate go run ./internal/asmgen -out kernels_amd64.s

// useVNNI selects the AVX-512 VNNI GEMM kernels, useAVX512 the other
// AVX-512 kernels and useVBMI the byte-permute table lookup; they are a
// property of the machine, fixed at start-up. The pure-Go paths (build tag
// purego, or another CPU) give the same bits.
var (
	useVNNI   = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI
	useAVX512 = cpu.X86.HasAVX512F
	useVBMI   = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VBMI && cpu.X86.HasPOPCNT
)

// vnniRunnable reports whether gemmVNNI can run here: its kernels are
// assembly, which needs the CPU features.
func vnniRunnable() bool { return useVNNI }

// gemmVNNI6x64 and gemmVNNI6x16 are the micro-kernels of gemmVNNI (see
// gemmTile6 for their arithmetic), in kernels_amd64.s.
//
//go:noescape
func gemmVNNI6x64(a *byte, lda int, w *byte, kq int, c *int32, ldc int, corr *int32)

//go:noescape
func gemmVNNI6x16(a *byte, lda int, w *byte, kq int, c *int32, ldc int, corr *int32)

// vnniPeak and addChain calibrate the GEMM benchmark: n iterations of 24
// independent VPDPBUSD, and of 8 dependent 1-cycle adds.
func vnniPeak(n int)
func addChain(n int) int

// asmScanKernels returns the AVX-512 scan kernels and whether the CPU runs
// them.
func asmScanKernels() (scanKernels, bool) {
	return scanKernels{xu: scanXuAVX512, states: scanStatesAVX512, out: scanOutAVX512}, useAVX512
}

// The AVX-512 forms of scanXuGo, scanStatesGo and scanOutGo.
//
//go:noescape
func scanXuAVX512(a *scanArgs) (sat int64, fits bool)

//go:noescape
func scanStatesAVX512(a *scanArgs) (sat int64)

//go:noescape
func scanOutAVX512(a *scanArgs) (sat int64)

// asmRequantRow returns the AVX-512 requantizer row kernel for outputs of
// the given width (8, 16 or 32 bits), if the CPU runs it.
func asmRequantRow(width int) requantRowKernel {
	if !useAVX512 {
		return nil
	}
	switch width {
	case 8:
		return requantRow8AVX512
	case 16:
		return requantRow16AVX512
	case 32:
		return requantRow32AVX512
	}
	return nil
}

// The AVX-512 forms of requantRowGo for int8, int16 and int32 outputs.
//
//go:noescape
func requantRow8AVX512(dst unsafe.Pointer, src *int32, n int, c *requantConsts, extra int64) (over, sat int64)

//go:noescape
func requantRow16AVX512(dst unsafe.Pointer, src *int32, n int, c *requantConsts, extra int64) (over, sat int64)

//go:noescape
func requantRow32AVX512(dst unsafe.Pointer, src *int32, n int, c *requantConsts, extra int64) (over, sat int64)

// asmDwconvRow returns the AVX-512 depthwise convolution row kernel, if the
// CPU runs it.
func asmDwconvRow() dwconvRowKernel {
	if !useAVX512 {
		return nil
	}
	return dwconvRowAVX512
}

// asmLUTRow returns the AVX-512 VBMI channel-table kernel, if the CPU runs
// it.
func asmLUTRow() lutRowKernel {
	if !useVBMI {
		return nil
	}
	return lutRowAVX512
}

//go:noescape
func dwconvRowAVX512(out *int32, x *int8, taps *int32, nk int, e int, stride int)

//go:noescape
func lutRowAVX512(dst *int8, src *int8, n int, tabs *byte, masks *uint64, k int) (sat int64)

// asmGroupRow returns the AVX-512 group requantizer row kernel for outputs
// of the given width (8, 16 or 32 bits), if the CPU runs it.
func asmGroupRow(width int) groupRowKernel {
	if !useAVX512 {
		return nil
	}
	switch width {
	case 8:
		return groupRow8AVX512
	case 16:
		return groupRow16AVX512
	case 32:
		return groupRow32AVX512
	}
	return nil
}

//go:noescape
func groupRow8AVX512(dst unsafe.Pointer, rows **int32, mult *int64, k int, n int, c *requantConsts) (sat int64)

//go:noescape
func groupRow16AVX512(dst unsafe.Pointer, rows **int32, mult *int64, k int, n int, c *requantConsts) (sat int64)

//go:noescape
func groupRow32AVX512(dst unsafe.Pointer, rows **int32, mult *int64, k int, n int, c *requantConsts) (sat int64)
