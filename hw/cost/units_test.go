package cost

import (
	"math/rand"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/quant/intprog"
)

// koggeStone runs a Kogge-Stone inclusive prefix of the scan operator
// (a1,b1)∘(a0,b0) = (a1·a0, a1·b0 + b1) over xs (mod a prime) and counts
// the combines it performs.
func koggeStone(a, b []int64) (outA, outB []int64, combines int64) {
	const p = 1000003
	n := len(a)
	outA, outB = append([]int64(nil), a...), append([]int64(nil), b...)
	for d := 1; d < n; d *= 2 {
		na, nb := append([]int64(nil), outA...), append([]int64(nil), outB...)
		for i := d; i < n; i++ {
			na[i] = outA[i] * outA[i-d] % p
			nb[i] = (outA[i]*outB[i-d] + outB[i]) % p
			combines++
		}
		outA, outB = na, nb
	}
	return outA, outB, combines
}

func TestKoggeStoneCombines(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for n := 1; n <= 300; n++ {
		a, b := make([]int64, n), make([]int64, n)
		for i := range a {
			a[i], b[i] = rng.Int63n(1000), rng.Int63n(1000)
		}
		_, hb, combines := koggeStone(a, b)
		// The prefix must equal the sequential recurrence h_t = a_t·h_{t−1} + b_t.
		var h int64
		for i := range a {
			h = (a[i]*h + b[i]) % 1000003
			if hb[i] != h {
				t.Fatalf("n=%d: prefix state %d = %d, recurrence %d", n, i, hb[i], h)
			}
		}
		got, stages := ksCombines(int64(n))
		if got != combines {
			t.Errorf("ksCombines(%d) = %d, network does %d", n, got, combines)
		}
		if wantStages := int64(0); n > 1 {
			for d := 1; d < n; d *= 2 {
				wantStages++
			}
			if stages != wantStages {
				t.Errorf("ksCombines(%d) stages %d, want %d", n, stages, wantStages)
			}
		}
	}
}

func TestScanCyclesSequential(t *testing.T) {
	s := arch.Systolic16()
	// ViM-Q: 8 lanes over the 384·16 recurrences of Vim-Ti, L = 197:
	// ~197·384·16/8 = 151k cycles per direction and layer (hardware.md §4).
	s.Scan.Lanes, s.Scan.Depth = 8, 4
	if c, _ := scanCycles(s, 197, 384*16); c != 197*768+4 {
		t.Errorf("ViM-Q-like scan: %d cycles", c)
	}
	// More lanes than chains/depth: the recurrence latency bounds each step.
	s.Scan.Lanes, s.Scan.Depth = 6144, 5
	if c, _ := scanCycles(s, 197, 6144); c != 197*5+5 {
		t.Errorf("latency-bound scan: %d cycles", c)
	}
}

func TestScanCyclesParallelPrefix(t *testing.T) {
	s := arch.Systolic16()
	s.Scan.Mode, s.Scan.Lanes, s.Scan.Depth = arch.ScanParallelPrefix, 64, 3
	s.Scan.PrefixBlock = 16
	M, chains := int64(40), int64(10)
	// Blocks 16, 16, 8: KS combines 49+49+17, plus 24 carried-in states.
	perChain := int64(49 + 49 + 17 + 24)
	cycles, combines := scanCycles(s, M, chains)
	if combines != chains*perChain {
		t.Errorf("combines %d, want %d", combines, chains*perChain)
	}
	if want := ceilDiv(chains*perChain, 64) + 3*(4+1); cycles != want {
		t.Errorf("cycles %d, want %d", cycles, want)
	}
	// With lanes to spare and a deep pipeline, the prefix beats the sequential
	// recurrence, which waits depth cycles per step.
	s.Scan.Lanes, s.Scan.Depth, s.Scan.PrefixBlock = 1<<20, 16, 0
	par, _ := scanCycles(s, 197, 6144)
	s.Scan.Mode = arch.ScanSequential
	seq, _ := scanCycles(s, 197, 6144)
	if !(par < seq) {
		t.Errorf("parallel prefix %d cycles not below sequential %d with deep pipelines", par, seq)
	}
}

// TestStreamUnitRecipes checks the action counts and cycles of the
// non-array units against their definitions.
func TestStreamUnitRecipes(t *testing.T) {
	s := arch.Systolic16()
	s.Buffers.ActKiB = 0 // everything through DRAM
	L, E, N := 197, 384, 16
	elems := int64(L * E)
	tests := []struct {
		op     intprog.Op
		unit   arch.Unit
		cycles int64
		check  func(a Actions) bool
	}{
		{intprog.Op{Kind: intprog.KindDWConv, M: L, K: 4, N: E}, arch.UnitDWConv, ceilDiv(elems*4, 16) + 4,
			func(a Actions) bool { return a.MAC8 == elems*4 && a.Mult32 == elems }},
		{intprog.Op{Kind: intprog.KindScan, M: L, K: N, N: E}, arch.UnitScan, int64(L)*384 + 4,
			func(a Actions) bool {
				u := elems * int64(N)
				return a.LUT == u && a.Mult16 == elems+4*u && a.Add16 == 2*u && a.Mult32 == elems
			}},
		{intprog.Op{Kind: intprog.KindSiLU, M: L, N: E}, arch.UnitVector, ceilDiv(elems, 16) + 4,
			func(a Actions) bool { return a.LUT == elems && a.Mult16 == elems && a.Add16 == 2*elems }},
		{intprog.Op{Kind: intprog.KindSoftplus, M: L, N: E}, arch.UnitVector, ceilDiv(elems, 16) + 4,
			func(a Actions) bool { return a.LUT == elems && a.Add16 == 3*elems }},
		{intprog.Op{Kind: intprog.KindGate, M: L, N: E}, arch.UnitVector, ceilDiv(elems, 16) + 4,
			func(a Actions) bool {
				return a.Mult16 == 3*elems && a.IfmapRead == 5*elems && a.DRAMRead == 5*elems+2*int64(E)
			}},
		{intprog.Op{Kind: intprog.KindNorm, M: L, N: 192}, arch.UnitNorm, 2*int64(L)*12 + 8,
			func(a Actions) bool {
				return a.LUT == int64(L) && a.Mult16 == 3*int64(L*192) && a.DRAMWrite == 2*int64(L*192)
			}},
		{intprog.Op{Kind: intprog.KindAdd, M: L, N: 192}, arch.UnitVector, ceilDiv(int64(L*192), 16) + 4,
			func(a Actions) bool { return a.Add16 == int64(L*192) && a.DRAMRead == 2*int64(L*192)+192 }},
	}
	for _, tc := range tests {
		if u := tc.op.Kind.Unit(); u != tc.unit {
			t.Fatalf("%s: unit %s", tc.op.Kind, u)
		}
		tc.op.Unit = tc.unit
		c := streamOpCost(s, &tc.op, endpoints{})
		if c.ComputeCycles != tc.cycles {
			t.Errorf("%s: %d cycles, want %d", tc.op.Kind, c.ComputeCycles, tc.cycles)
		}
		if !tc.check(c.Actions) {
			t.Errorf("%s: actions %+v", tc.op.Kind, c.Actions)
		}
		if c.Util <= 0 || c.Util > 1 {
			t.Errorf("%s: util %g", tc.op.Kind, c.Util)
		}
		if c.Traffic.Total() != c.Actions.DRAMBytes() {
			t.Errorf("%s: traffic %d vs DRAM actions %d", tc.op.Kind, c.Traffic.Total(), c.Actions.DRAMBytes())
		}
	}
	if err := checkOp(&intprog.Op{Kind: intprog.Kind(99), M: 1, N: 1, Groups: 1}); err == nil {
		t.Error("unknown op kind accepted")
	}
}
