package cost

import (
	"math/rand"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
)

// simulateTileLoads walks the tiled loop nest with one resident tile per
// operand buffer and counts the bytes loaded whenever the needed tile
// changes: the slow reference of the traffic formulas.
func simulateTileLoads(g GEMM, t Tiling) (ifmap, filter int64) {
	nM, nK, nN := (g.M+t.Mt-1)/t.Mt, (g.K+t.Kt-1)/t.Kt, (g.N+t.Nt-1)/t.Nt
	size := func(i, tile, total int) int64 { return int64(min(tile, total-i*tile)) }
	curA, curB := [2]int{-1, -1}, [2]int{-1, -1}
	visit := func(m, n, k int) {
		if a := [2]int{m, k}; a != curA {
			ifmap += size(m, t.Mt, g.M) * size(k, t.Kt, g.K)
			curA = a
		}
		if b := [2]int{k, n}; b != curB {
			filter += size(k, t.Kt, g.K) * size(n, t.Nt, g.N)
			curB = b
		}
	}
	if t.Order == "mnk" {
		for m := 0; m < nM; m++ {
			for n := 0; n < nN; n++ {
				for k := 0; k < nK; k++ {
					visit(m, n, k)
				}
			}
		}
	} else {
		for n := 0; n < nN; n++ {
			for m := 0; m < nM; m++ {
				for k := 0; k < nK; k++ {
					visit(m, n, k)
				}
			}
		}
	}
	return ifmap, filter
}

func TestTileGEMMTrafficMatchesLoopNest(t *testing.T) {
	rng := rand.New(rand.NewSource(61))
	for i := 0; i < 400; i++ {
		s := arch.Systolic16()
		s.Array.Rows, s.Array.Cols = 1+rng.Intn(16), 1+rng.Intn(16)
		s.Array.Dataflow = []arch.Dataflow{arch.OutputStationary, arch.WeightStationary, arch.InputStationary}[rng.Intn(3)]
		s.Buffers.IfmapKiB, s.Buffers.FilterKiB, s.Buffers.OfmapKiB = 1+rng.Intn(8), 1+rng.Intn(8), 1+rng.Intn(8)
		s.Buffers.DoubleBuffered = rng.Intn(2) == 0
		g := GEMM{M: 1 + rng.Intn(300), K: 1 + rng.Intn(300), N: 1 + rng.Intn(300)}
		onChip := rng.Intn(2) == 0
		tl := TileGEMM(s, g, onChip)
		a, b := simulateTileLoads(g, tl)
		if a != tl.IfmapBytes || b != tl.FilterBytes {
			t.Fatalf("%+v on %+v: formula ifmap %d filter %d, loop nest %d %d", g, tl, tl.IfmapBytes, tl.FilterBytes, a, b)
		}
		if tl.IfmapBytes < int64(g.M)*int64(g.K) || tl.FilterBytes < int64(g.K)*int64(g.N) {
			t.Fatalf("%+v: traffic below the compulsory bytes: %+v", g, tl)
		}
		capI := activeBytes(s.Buffers.IfmapKiB, s.Buffers.DoubleBuffered)
		capF := activeBytes(s.Buffers.FilterKiB, s.Buffers.DoubleBuffered)
		if tl.Fits && (int64(tl.Mt)*int64(tl.Kt) > capI || int64(tl.Kt)*int64(tl.Nt) > capF) {
			t.Fatalf("%+v: tile %+v exceeds buffers %d/%d", g, tl, capI, capF)
		}
	}
}

func TestTileGEMMCompulsoryWhenBuffersAreLarge(t *testing.T) {
	s := arch.Systolic16()
	s.Buffers.IfmapKiB, s.Buffers.FilterKiB, s.Buffers.OfmapKiB = 4096, 4096, 4096
	g := GEMM{M: 197, K: 192, N: 768}
	tl := TileGEMM(s, g, false)
	if tl.IfmapBytes != 197*192 || tl.FilterBytes != 192*768 || !tl.Fits || tl.SpillBytes != 0 {
		t.Fatalf("large buffers: %+v", tl)
	}
	// One whole operand fitting is enough to read both once.
	s = arch.Systolic16() // 32 KiB active filter half holds x_proj's 384×44 weights
	tl = TileGEMM(s, GEMM{M: 197, K: 384, N: 44}, false)
	if tl.IfmapBytes != 197*384 || tl.FilterBytes != 384*44 {
		t.Fatalf("x_proj: %+v", tl)
	}
}

func TestTileGEMMSpillsWhenOfmapTooSmall(t *testing.T) {
	s := arch.Systolic16()
	s.Array.Dataflow = arch.WeightStationary
	s.Buffers.IfmapKiB, s.Buffers.FilterKiB, s.Buffers.OfmapKiB = 1, 1, 1 // 512 B halves: no 16×16 int32 tile
	g := GEMM{M: 64, K: 64, N: 64}
	tl := TileGEMM(s, g, false)
	if tl.Fits || tl.SpillBytes != 2*3*64*64*4 {
		t.Fatalf("tiny buffers: %+v", tl)
	}
}

func TestStallCycles(t *testing.T) {
	s := arch.Systolic16() // 12.8 GB/s at 200 MHz = 64 B/cycle
	if bpc := s.BytesPerCycle(); bpc != 64 {
		t.Fatalf("bytes/cycle %g", bpc)
	}
	tests := []struct {
		double                bool
		compute, total, first int64
		want                  int64
	}{
		{true, 1000, 6400, 640, 10},    // compute-bound: only the first tile shows
		{true, 10, 6400, 640, 10 + 80}, // memory-bound: 90 cycles after the first tile, 10 of them hidden
		{true, 1000, 0, 0, 0},          // no traffic
		{false, 1000, 6400, 640, 100},  // single-buffered: everything exposed
		{true, 0, 65, 1000, 2},         // first clipped to total, ceil
	}
	for _, tc := range tests {
		s.Buffers.DoubleBuffered = tc.double
		if got := stallCycles(s, tc.compute, tc.total, tc.first); got != tc.want {
			t.Errorf("stallCycles(double=%t, %d, %d, %d) = %d, want %d", tc.double, tc.compute, tc.total, tc.first, got, tc.want)
		}
	}
}
