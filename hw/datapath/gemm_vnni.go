package datapath

import (
	"encoding/binary"
	"unsafe"
)

// The VNNI GEMM (DATAPATH.md §4.4). VPDPBUSD multiplies unsigned by signed
// bytes, so the activations are offset, a′ = a + 128 ∈ [0, 255] (the sign
// bit flipped), and the offset is taken back per output column with the
// weights' sums, computed once when the weights are packed:
//
//	Σ_q a·w = Σ_q a′·w − 128·Σ_q w
//
// All sums are formed modulo 2^32 (the instruction's lanes wrap, as does Go
// int32 arithmetic); under the no-overflow bound of §4.3 the exact sum fits
// int32, so the wrapped result is the exact one.

// gemmRows is the number of activation rows of a micro-kernel tile; the
// tile is 16 or 64 columns wide.
const gemmRows = 6

// packVNNI lays the weights out for the micro-kernels: the columns (output
// rows of w) in panels of 64 while they last, then panels of 16, the last
// one padded; within a panel, for each group of four K-steps q, for each
// 16-column vector, 16 columns × 4 bytes w[j][4q..4q+3]. K and N are padded
// with zero weights. vnniCorr[j] = 128·Σ_q w[j][q].
func (w *Weights) packVNNI() {
	kq := (w.K + 3) / 4
	panels := w.N / 64
	tail := (w.N%64 + 15) / 16
	w.vnni = make([]byte, (panels*4+tail)*kq*64)
	w.vnniCorr = make([]int32, 64*panels+16*tail)
	for j := 0; j < w.N; j++ {
		var s int32
		for _, v := range w.Data[j*w.K : (j+1)*w.K] {
			s += int32(v)
		}
		w.vnniCorr[j] = s << 7
	}
	off := 0
	put := func(j0, nv int) {
		for q := 0; q < kq; q++ {
			for v := 0; v < nv; v++ {
				for l := 0; l < 16; l++ {
					j := j0 + 16*v + l
					for b := 0; b < 4; b++ {
						if k := 4*q + b; j < w.N && k < w.K {
							w.vnni[off+(q*nv+v)*64+4*l+b] = byte(w.Data[j*w.K+k])
						}
					}
				}
			}
		}
		off += kq * 64 * nv
	}
	for p := 0; p < panels; p++ {
		put(64*p, 4)
	}
	for t := 0; t < tail; t++ {
		put(64*panels+16*t, 1)
	}
}

// gemmVNNI computes dst = a·wᵀ with the VNNI micro-kernels, for weights
// within the no-overflow bound; w.vnni must be packed.
func gemmVNNI(dst Matrix[int32], a Matrix[int8], w *Weights) {
	M, N, K := a.Rows, w.N, w.K
	kq := (K + 3) / 4
	kp := 4 * kq
	mp := (M + gemmRows - 1) / gemmRows * gemmRows
	// The activations offset to a+128 (sign bits flipped, eight bytes at a
	// time), K and M padded (the pad weights are 0).
	buf := make([]byte, mp*kp)
	for i := 0; i < M; i++ {
		row := unsafeSlice((*byte)(unsafe.Pointer(&a.Row(i)[0])), K)
		out := buf[i*kp : i*kp+K]
		q := 0
		for ; q+8 <= K; q += 8 {
			binary.LittleEndian.PutUint64(out[q:q+8], binary.LittleEndian.Uint64(row[q:q+8])^0x8080808080808080)
		}
		for ; q < K; q++ {
			out[q] = row[q] ^ 0x80
		}
	}
	var tile [gemmRows * 64]int32
	// run applies kernel to the column panel at j0 (cols wide, weights wp)
	// for every row tile; tiles that stick out of dst go through tile.
	run := func(kernel func(*byte, int, *byte, int, *int32, int, *int32), wp []byte, j0, cols int) {
		for i := 0; i < mp; i += gemmRows {
			if i+gemmRows <= M && j0+cols <= N {
				kernel(&buf[i*kp], kp, &wp[0], kq, &dst.Data[i*N+j0], N, &w.vnniCorr[j0])
				continue
			}
			kernel(&buf[i*kp], kp, &wp[0], kq, &tile[0], cols, &w.vnniCorr[j0])
			for r := 0; r < gemmRows && i+r < M; r++ {
				n := min(cols, N-j0)
				copy(dst.Data[(i+r)*N+j0:(i+r)*N+j0+n], tile[r*cols:r*cols+n])
			}
		}
	}
	panels := N / 64
	off := 0
	for p := 0; p < panels; p++ {
		run(gemmVNNI6x64, w.vnni[off:], 64*p, 64)
		off += kq * 256
	}
	for j0 := 64 * panels; j0 < N; j0 += 16 {
		run(gemmVNNI6x16, w.vnni[off:], j0, 16)
		off += kq * 64
	}
}
