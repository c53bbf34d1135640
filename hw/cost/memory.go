package cost

import (
	"math"

	"github.com/vimsim/vimsim/hw/arch"
)

// Traffic is the DRAM traffic of one operation in bytes.
type Traffic struct {
	// Weights is the first read of the operation's parameters.
	Weights int64 `json:"weight_bytes"`
	// In is the first read of the input activations that are not resident
	// in the activation buffer.
	In int64 `json:"in_bytes"`
	// Out is the write of output activations that do not fit the activation
	// buffer.
	Out int64 `json:"out_bytes"`
	// Reread is the extra reads forced by tiling to the buffer sizes.
	Reread int64 `json:"reread_bytes"`
	// Spill is partial sums written to and read back from DRAM when the
	// ofmap buffer cannot hold an output tile's accumulators.
	Spill int64 `json:"spill_bytes"`
}

// Total is all bytes moved over the DRAM interface.
func (t Traffic) Total() int64 { return t.Weights + t.In + t.Out + t.Reread + t.Spill }

// Add returns t + o.
func (t Traffic) Add(o Traffic) Traffic {
	return Traffic{t.Weights + o.Weights, t.In + o.In, t.Out + o.Out, t.Reread + o.Reread, t.Spill + o.Spill}
}

// Tiling is the blocking of a GEMM to the buffers: tiles of Mt×Kt ifmap,
// Kt×Nt filter and Mt×Nt ofmap, visited with loop order Order (outermost
// first; k is always innermost so partial sums stay in the ofmap buffer).
type Tiling struct {
	Mt    int    `json:"mt"`
	Kt    int    `json:"kt"`
	Nt    int    `json:"nt"`
	Order string `json:"order"` // "mnk" or "nmk"
	// IfmapBytes and FilterBytes are the bytes loaded into the ifmap and
	// filter buffers over the whole GEMM (from DRAM or the activation
	// buffer); FirstBytes those of the first tile, which cannot overlap
	// compute.
	IfmapBytes  int64 `json:"ifmap_fill_bytes"`
	FilterBytes int64 `json:"filter_fill_bytes"`
	FirstBytes  int64 `json:"first_tile_bytes"`
	SpillBytes  int64 `json:"spill_bytes"`
	// Fits is false when no tiling fits the buffers and the minimal tile
	// was used anyway.
	Fits bool `json:"fits"`
}

// tileCandidates lists the tile sizes tried for a dimension of size x with
// granule g (the array dimension it maps to): x itself and g·2^i below x.
func tileCandidates(x, g int) []int {
	c := []int{x}
	for t := g; t < x; t *= 2 {
		c = append(c, t)
	}
	return c
}

// activeBytes is the capacity of a buffer available to one tile: half of
// it when double-buffered (SCALE-Sim's active_buf_frac = 0.5, §1.4).
func activeBytes(kib int, double bool) int64 {
	b := int64(kib) * 1024
	if double {
		b /= 2
	}
	return b
}

// granules returns the array dimension each GEMM dimension is tiled by.
func granules(s arch.Spec) (gM, gK, gN int) {
	R, C := s.Array.Rows, s.Array.Cols
	if s.Array.Dataflow == arch.InputStationary {
		return C, R, C
	}
	return R, R, C
}

// TileGEMM chooses the tiling of g that minimises DRAM traffic (then
// activation-buffer traffic, then the number of tiles) under the buffer
// capacities of s, for int8 operands. When ifmapOnChip, the ifmap comes
// from the activation buffer and costs no DRAM traffic.
func TileGEMM(s arch.Spec, g GEMM, ifmapOnChip bool) Tiling {
	return TileGEMMWidths(s, g, ifmapOnChip, int8Widths)
}

// TileGEMMWidths is TileGEMM for operands stored w.In (ifmap), w.Weight
// (filter) and w.Out (requantized output) bits wide, packed: a buffer
// holds 8/bits as many narrow values, and the bytes moved are the packed
// bytes. Partial sums stay int32.
func TileGEMMWidths(s arch.Spec, g GEMM, ifmapOnChip bool, w Widths) Tiling {
	capI := activeBytes(s.Buffers.IfmapKiB, s.Buffers.DoubleBuffered)
	capF := activeBytes(s.Buffers.FilterKiB, s.Buffers.DoubleBuffered)
	capO := activeBytes(s.Buffers.OfmapKiB, s.Buffers.DoubleBuffered)
	gM, gK, gN := granules(s)
	M, K, N := int64(g.M), int64(g.K), int64(g.N)

	eval := func(mt, kt, nt int, order string) (Tiling, int64, int64, int64) {
		nM, nK, nN := ceilDiv(M, int64(mt)), ceilDiv(K, int64(kt)), ceilDiv(N, int64(nt))
		t := Tiling{Mt: mt, Kt: kt, Nt: nt, Order: order}
		if order == "mnk" {
			// The ifmap row block stays resident across n when it is whole in K.
			t.IfmapBytes = packed(M*K, w.In)
			if nK > 1 {
				t.IfmapBytes *= nN
			}
			t.FilterBytes = packed(K*N, w.Weight)
			if nK > 1 || nN > 1 {
				t.FilterBytes *= nM
			}
		} else {
			t.FilterBytes = packed(K*N, w.Weight)
			if nK > 1 {
				t.FilterBytes *= nM
			}
			t.IfmapBytes = packed(M*K, w.In)
			if nK > 1 || nM > 1 {
				t.IfmapBytes *= nN
			}
		}
		t.FirstBytes = packed(int64(kt)*int64(nt), w.Weight)
		if !ifmapOnChip {
			t.FirstBytes += packed(int64(mt)*int64(kt), w.In)
		}
		dram, onchip := t.FilterBytes, int64(0)
		if ifmapOnChip {
			onchip = t.IfmapBytes
		} else {
			dram += t.IfmapBytes
		}
		return t, dram, onchip, nM * nK * nN
	}

	var best Tiling
	var bestDRAM, bestOn, bestTiles int64 = math.MaxInt64, math.MaxInt64, math.MaxInt64
	for _, mt := range tileCandidates(g.M, gM) {
		for _, kt := range tileCandidates(g.K, gK) {
			for _, nt := range tileCandidates(g.N, gN) {
				outBytes := int64(mt) * int64(nt) * 4 // int32 accumulators
				if s.Array.Dataflow == arch.OutputStationary && kt == g.K {
					outBytes = packed(int64(mt)*int64(nt), w.Out) // accumulated in the PEs, requantised
				}
				if packed(int64(mt)*int64(kt), w.In) > capI || packed(int64(kt)*int64(nt), w.Weight) > capF || outBytes > capO {
					continue
				}
				for _, order := range []string{"mnk", "nmk"} {
					t, dram, on, tiles := eval(mt, kt, nt, order)
					if dram < bestDRAM || (dram == bestDRAM && (on < bestOn || (on == bestOn && tiles < bestTiles))) {
						t.Fits = true
						best, bestDRAM, bestOn, bestTiles = t, dram, on, tiles
					}
				}
			}
		}
	}
	if best.Fits {
		return best
	}
	// Nothing fits: use the minimal array-aligned tile and spill the
	// int32 partial sums of every K block but the last.
	mt, kt, nt := min(gM, g.M), min(gK, g.K), min(gN, g.N)
	t, _, _, _ := eval(mt, kt, nt, "mnk")
	if nK := ceilDiv(K, int64(kt)); nK > 1 && int64(mt)*int64(nt)*4 > capO {
		t.SpillBytes = 2 * (nK - 1) * M * N * 4
	}
	return t
}

// memCycles is the number of cycles to move b bytes at bpc bytes/cycle.
func memCycles(b int64, bpc float64) int64 {
	if b <= 0 {
		return 0
	}
	return int64(math.Ceil(float64(b) / bpc))
}

// stallCycles is the stall model of one operation run alone: with double
// buffering the first tile's transfer (first bytes) is exposed and the
// rest overlaps compute; without, every transfer is exposed.
func stallCycles(s arch.Spec, compute, total, first int64) int64 {
	bpc := s.BytesPerCycle()
	if !s.Buffers.DoubleBuffered {
		return memCycles(total, bpc)
	}
	first = min(first, total)
	tf := memCycles(first, bpc)
	rest := memCycles(total, bpc) - tf
	return tf + max(0, rest-compute)
}
