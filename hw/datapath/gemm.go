package datapath

import (
	"fmt"
	"math"
)

// Weights is the stationary operand of a GEMM: N output rows of K int8
// values, row-major, i.e. the layout of a PyTorch Linear weight (the
// transposed B operand). Int4 weights are stored one per int8 in [−8, 7].
// NewWeights also packs the matrix for the fast GEMM; Data must not be
// modified afterwards.
type Weights struct {
	N, K   int
	Data   []int8
	MaxAbs int  // max |w| over Data
	Int4   bool // values restricted to [−8, 7]

	// The packed forms for the fast GEMM: vnni for the AVX-512 VNNI
	// kernels (gemm_vnni.go) when the CPU has them, else packed.
	packed []int64 // ⌈N/3⌉×K words, three 21-bit lanes per word
	chunk  int     // K-steps after which the lanes are unpacked
	vnni   []byte  // w in the micro-kernels' panel layout
	// vnniCorr[j] = 128·Σ_q w[j][q], N padded to the panels
	vnniCorr []int32
}

// NewWeights wraps the n×k int8 matrix data (row-major, row = output).
func NewWeights(n, k int, data []int8) (*Weights, error) {
	return newWeights(n, k, data, false)
}

// NewInt4Weights wraps the n×k matrix data of int4 values held in int8;
// every value must lie in [−8, 7].
func NewInt4Weights(n, k int, data []int8) (*Weights, error) {
	return newWeights(n, k, data, true)
}

func newWeights(n, k int, data []int8, int4 bool) (*Weights, error) {
	if n <= 0 || k <= 0 {
		return nil, fmt.Errorf("weights: shape %dx%d must be positive", n, k)
	}
	if len(data) != n*k {
		return nil, fmt.Errorf("weights: %d values for shape %dx%d", len(data), n, k)
	}
	w := &Weights{N: n, K: k, Data: data, Int4: int4}
	for i, v := range data {
		if int4 && (v < -8 || v > 7) {
			return nil, fmt.Errorf("weights: int4 value %d at (%d, %d) outside [-8, 7]", v, i/k, i%k)
		}
		w.MaxAbs = max(w.MaxAbs, abs(int(v)))
	}
	w.pack()
	return w, nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Lane layout of the packed weights: word g·K+q holds w[3g+l][q] at bit
// 21·l, l = 0, 1, 2 (missing rows are 0). A product a·word accumulates the
// three dot products side by side; each lane stays in [−2^20, 2^20) for
// chunk K-steps, after which the lanes are sign-extracted.
const (
	laneBits  = 21
	laneLimit = 1<<(laneBits-1) - 1 // max |lane sum|
)

func (w *Weights) pack() {
	w.chunk = w.K
	if w.MaxAbs > 0 {
		w.chunk = min(w.K, laneLimit/(128*w.MaxAbs))
	}
	if useVNNI {
		w.packVNNI()
	} else {
		w.packLanes()
	}
}

// packLanes builds the lane-packed words of gemmPacked.
func (w *Weights) packLanes() {
	groups := (w.N + 2) / 3
	w.packed = make([]int64, groups*w.K)
	for g := 0; g < groups; g++ {
		for l := 0; l < 3; l++ {
			j := 3*g + l
			if j >= w.N {
				break
			}
			row := w.Data[j*w.K : (j+1)*w.K]
			dst := w.packed[g*w.K : (g+1)*w.K]
			for q, v := range row {
				dst[q] += int64(v) << (laneBits * l)
			}
		}
	}
}

// accBound is the largest |Σ a·w| a K-long dot product can reach with int8
// activations (|a| ≤ 128).
func (w *Weights) accBound() int64 { return int64(w.K) * 128 * int64(w.MaxAbs) }

// safe reports whether no output of a GEMM with w can overflow int32.
func (w *Weights) safe() bool { return w.accBound() <= math.MaxInt32 }

// GEMM computes dst = a·wᵀ: dst[i][j] = Σ_q a[i][q]·w[j][q], int8×int8
// products accumulated in a 32-bit two's-complement accumulator
// (DATAPATH.md §4). a is M×K, dst M×N. The result does not depend on the
// order of accumulation (see GEMMTiled). When K·128·max|w| ≤ 2^31−1 no
// accumulator can overflow (checked once per call); otherwise the sums are
// formed in int64, every output whose exact value does not fit int32 counts
// one Overflow and dst holds the wrapped 32-bit value an accumulator would.
func GEMM(dst Matrix[int32], a Matrix[int8], w *Weights, c *Counters) error {
	if err := gemmCheck(dst, a, w); err != nil {
		return err
	}
	var k Counters
	k.MACs = int64(a.Rows) * int64(w.N) * int64(w.K)
	switch {
	case !w.safe():
		k.Overflows = gemmWide(dst, a, w)
	case w.vnni != nil:
		gemmVNNI(dst, a, w)
	default:
		gemmPacked(dst, a, w)
	}
	c.add(k)
	return nil
}

func gemmCheck(dst Matrix[int32], a Matrix[int8], w *Weights) error {
	if w == nil || w.chunk == 0 {
		return fmt.Errorf("gemm: weights not built by NewWeights")
	}
	if err := a.valid("gemm: activations"); err != nil {
		return err
	}
	if a.Cols != w.K {
		return fmt.Errorf("gemm: activations have %d columns, weights %d inputs", a.Cols, w.K)
	}
	return dst.check("gemm: output", a.Rows, w.N)
}

// gemmWide is the exact int64 path: it stores the wrapped sums and returns
// the number of outputs that overflowed int32.
func gemmWide(dst Matrix[int32], a Matrix[int8], w *Weights) int64 {
	var over int64
	for i := 0; i < a.Rows; i++ {
		ar := a.Row(i)
		out := dst.Row(i)
		for j := range out {
			wr := w.Data[j*w.K : (j+1)*w.K]
			var s int64
			for q, x := range ar {
				s += int64(x) * int64(wr[q])
			}
			if s > math.MaxInt32 || s < math.MinInt32 {
				over++
			}
			out[j] = int32(s) // two's-complement wrap
		}
	}
	return over
}

// quad holds one K-position of four activation rows, widened.
type quad [4]int64

// gemmPacked is the fast path: four activation rows against the three rows
// of one packed weight word per multiply (12 MACs per 64-bit multiply).
func gemmPacked(dst Matrix[int32], a Matrix[int8], w *Weights) {
	K, N := w.K, w.N
	groups := (N + 2) / 3
	aq := make([]quad, K)
	i := 0
	for ; i+4 <= a.Rows; i += 4 {
		r0, r1, r2, r3 := a.Row(i), a.Row(i+1), a.Row(i+2), a.Row(i+3)
		for q := range aq {
			aq[q] = quad{int64(r0[q]), int64(r1[q]), int64(r2[q]), int64(r3[q])}
		}
		for g := 0; g < groups; g++ {
			var acc [4][3]int32
			words := w.packed[g*K : (g+1)*K]
			for q0 := 0; q0 < K; q0 += w.chunk {
				q1 := min(q0+w.chunk, K)
				s0, s1, s2, s3 := kernel4(aq[q0:q1], words[q0:q1])
				unpackAdd(&acc[0], s0)
				unpackAdd(&acc[1], s1)
				unpackAdd(&acc[2], s2)
				unpackAdd(&acc[3], s3)
			}
			for r := 0; r < 4; r++ {
				out := dst.Row(i + r)
				for l := 0; l < 3 && 3*g+l < N; l++ {
					out[3*g+l] = acc[r][l]
				}
			}
		}
	}
	for ; i < a.Rows; i++ {
		ar := a.Row(i)
		out := dst.Row(i)
		for g := 0; g < groups; g++ {
			var acc [3]int32
			words := w.packed[g*K : (g+1)*K]
			for q0 := 0; q0 < K; q0 += w.chunk {
				q1 := min(q0+w.chunk, K)
				unpackAdd(&acc, kernel1(ar[q0:q1], words[q0:q1]))
			}
			for l := 0; l < 3 && 3*g+l < N; l++ {
				out[3*g+l] = acc[l]
			}
		}
	}
}

// kernel4 returns the packed dot products of four activation rows with the
// packed words. It is kept small so that its accumulators stay in registers.
//
//go:noinline
func kernel4(aq []quad, words []int64) (s0, s1, s2, s3 int64) {
	aq = aq[:len(words)]
	for q, p := range words {
		x := &aq[q]
		s0 += x[0] * p
		s1 += x[1] * p
		s2 += x[2] * p
		s3 += x[3] * p
	}
	return
}

func kernel1(a []int8, words []int64) int64 {
	a = a[:len(words)]
	var s int64
	for q, p := range words {
		s += int64(a[q]) * p
	}
	return s
}

// unpackAdd splits the three sign-extended 21-bit lanes of s and adds them
// (wrapping) to acc.
func unpackAdd(acc *[3]int32, s int64) {
	l0 := (s << (64 - laneBits)) >> (64 - laneBits)
	s = (s - l0) >> laneBits
	l1 := (s << (64 - laneBits)) >> (64 - laneBits)
	l2 := (s - l1) >> laneBits
	acc[0] += int32(l0)
	acc[1] += int32(l1)
	acc[2] += int32(l2)
}

// Dataflow is the loop order of a tiled GEMM on a systolic array
// (hardware.md §1.1): which operand stays in the array while the others
// stream.
type Dataflow int

// Dataflows.
const (
	OutputStationary Dataflow = iota // output tile resident; K streamed
	WeightStationary                 // weight tile resident; M streamed
	InputStationary                  // activation tile resident; N streamed
)

// String returns the SCALE-Sim name of d: os, ws or is.
func (d Dataflow) String() string {
	switch d {
	case OutputStationary:
		return "os"
	case WeightStationary:
		return "ws"
	case InputStationary:
		return "is"
	}
	return fmt.Sprintf("dataflow(%d)", int(d))
}

// Tiling is the blocking of a GEMM on an array: tiles of M rows, N columns
// and K depth, visited in the order of Dataflow.
type Tiling struct {
	M, N, K  int
	Dataflow Dataflow
}

// GEMMTiled computes the same dst = a·wᵀ as GEMM, tile by tile in the order a
// systolic array with the given tiling would: partial sums of each K-tile are
// added into the 32-bit output accumulators (wrapping). Two's-complement
// addition is associative, so the result equals GEMM's bit for bit for every
// tiling and dataflow, including when accumulators overflow; the Overflow
// count is the same too.
func GEMMTiled(dst Matrix[int32], a Matrix[int8], w *Weights, t Tiling, c *Counters) error {
	if err := gemmCheck(dst, a, w); err != nil {
		return err
	}
	if t.M <= 0 || t.N <= 0 || t.K <= 0 {
		return fmt.Errorf("gemm: tile %dx%dx%d must be positive", t.M, t.N, t.K)
	}
	M, N, K := a.Rows, w.N, w.K
	clear(dst.Data)
	tile := func(m0, n0, k0 int) {
		for i := m0; i < min(m0+t.M, M); i++ {
			ar := a.Row(i)
			out := dst.Row(i)
			for j := n0; j < min(n0+t.N, N); j++ {
				wr := w.Data[j*K : (j+1)*K]
				var ps int32 // partial sum of this K-tile
				for q := k0; q < min(k0+t.K, K); q++ {
					ps += int32(ar[q]) * int32(wr[q])
				}
				out[j] += ps
			}
		}
	}
	switch t.Dataflow {
	case OutputStationary:
		for m0 := 0; m0 < M; m0 += t.M {
			for n0 := 0; n0 < N; n0 += t.N {
				for k0 := 0; k0 < K; k0 += t.K {
					tile(m0, n0, k0)
				}
			}
		}
	case WeightStationary:
		for k0 := 0; k0 < K; k0 += t.K {
			for n0 := 0; n0 < N; n0 += t.N {
				for m0 := 0; m0 < M; m0 += t.M {
					tile(m0, n0, k0)
				}
			}
		}
	case InputStationary:
		for k0 := 0; k0 < K; k0 += t.K {
			for m0 := 0; m0 < M; m0 += t.M {
				for n0 := 0; n0 < N; n0 += t.N {
					tile(m0, n0, k0)
				}
			}
		}
	default:
		return fmt.Errorf("gemm: unknown dataflow %d", int(t.Dataflow))
	}
	k := Counters{MACs: int64(M) * int64(N) * int64(K)}
	if !w.safe() {
		k.Overflows = countOverflows(a, w)
	}
	c.add(k)
	return nil
}

// countOverflows is the int64 shadow accumulation: the number of outputs of
// a·wᵀ whose exact value does not fit int32.
func countOverflows(a Matrix[int8], w *Weights) int64 {
	var over int64
	for i := 0; i < a.Rows; i++ {
		ar := a.Row(i)
		for j := 0; j < w.N; j++ {
			wr := w.Data[j*w.K : (j+1)*w.K]
			var s int64
			for q, x := range ar {
				s += int64(x) * int64(wr[q])
			}
			if s > math.MaxInt32 || s < math.MinInt32 {
				over++
			}
		}
	}
	return over
}

// DepthwiseConv computes the causal depthwise convolution of the L×E int8
// sequence x with the E×T taps w (vim-forward.md §3):
// dst[t][e] = Σ_{k<T} w[e][k]·x[t−T+1+k][e], with x[<0] = 0, so that
// w[e][T−1] multiplies the current step. Products accumulate in int32; with
// T ≤ 131071 no accumulator can overflow. The bias goes to the requantizer.
func DepthwiseConv(dst Matrix[int32], x Matrix[int8], w Matrix[int8], c *Counters) error {
	if err := x.valid("depthwise conv: input"); err != nil {
		return err
	}
	if err := w.valid("depthwise conv: taps"); err != nil {
		return err
	}
	if w.Rows != x.Cols {
		return fmt.Errorf("depthwise conv: %d tap rows for %d channels", w.Rows, x.Cols)
	}
	if w.Cols <= 0 || w.Cols > 131071 {
		return fmt.Errorf("depthwise conv: %d taps out of [1, 131071]", w.Cols)
	}
	if err := dst.check("depthwise conv: output", x.Rows, x.Cols); err != nil {
		return err
	}
	T, E := w.Cols, x.Cols
	taps := make([]int32, T*E) // tap k of every channel, contiguous
	for e := 0; e < E; e++ {
		for k := 0; k < T; k++ {
			taps[k*E+e] = int32(w.Data[e*T+k])
		}
	}
	kernel := asmDwconvRow()
	for t := 0; t < x.Rows; t++ {
		out := dst.Row(t)
		k0 := max(0, T-1-t) // taps before the sequence start multiply zeros
		e0 := 0
		if kernel != nil && E >= 16 {
			e0 = E &^ 15
			kernel(&out[0], &x.Data[(t-T+1+k0)*E], &taps[k0*E], T-k0, e0, E)
		}
		clear(out[e0:])
		for k := k0; k < T; k++ {
			xr := x.Row(t - T + 1 + k)[e0:]
			tk := taps[k*E+e0 : (k+1)*E]
			xr, out := xr[:len(tk)], out[e0:e0+len(tk)]
			for e, wv := range tk {
				out[e] += wv * int32(xr[e])
			}
		}
	}
	// The unit runs every tap, the zero padding included.
	c.add(Counters{MACs: int64(x.Rows) * int64(E) * int64(T)})
	return nil
}

// dwconvRowKernel computes out[i] = Σ_{j<nk} taps[j·stride+i]·x[j·stride+i]
// for i < e (a multiple of 16): one output row of DepthwiseConv.
type dwconvRowKernel func(out *int32, x *int8, taps *int32, nk, e, stride int)
