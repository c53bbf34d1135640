package datapath

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestGroupedGEMMProperty runs a GEMM whose input columns fall into groups
// the split-K way (gather each group's columns, one GEMM per group, combine)
// and compares it with the math/big evaluation of Σ_g Σ_{q∈g} a·w·M_g.
func TestGroupedGEMMProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 19))
	var outputs int
	for iter := 0; outputs < 120000; iter++ {
		m, n, k := 1+r.IntN(20), 1+r.IntN(45), 4+r.IntN(200)
		groups := 1 + r.IntN(4)
		group := make([]uint8, k)
		for q := range group {
			group[q] = uint8(q % groups) // every group non-empty
		}
		r.Shuffle(k, func(i, j int) { group[i], group[j] = group[j], group[i] })
		a := NewMatrix[int8](m, k)
		fillInt8(r, a.Data, -128, 127)
		wd := make([]int8, n*k)
		fillInt8(r, wd, -128, 127)
		w, err := NewWeights(n, k, wd)
		if err != nil {
			t.Fatal(err)
		}
		reals := make([]float64, groups)
		for g := range reals {
			reals[g] = math.Exp2(-18 + 8*r.Float64())
		}
		rq, err := NewGroupRequantizer(reals, []int{8, 16}[r.IntN(2)])
		if err != nil {
			t.Fatal(err)
		}
		cols, err := GroupColumns(group, groups)
		if err != nil {
			t.Fatal(err)
		}
		accs := make([]Matrix[int32], groups)
		var c Counters
		for g, cs := range cols {
			ag := NewMatrix[int8](m, len(cs))
			if err := GatherColumns(ag, a, cs); err != nil {
				t.Fatal(err)
			}
			wg, err := w.Columns(cs)
			if err != nil {
				t.Fatal(err)
			}
			accs[g] = NewMatrix[int32](m, n)
			if err := GEMM(accs[g], ag, wg, &c); err != nil {
				t.Fatal(err)
			}
		}
		if c.MACs != int64(m*n*k) {
			t.Fatalf("split GEMM counts %d MACs, want %d", c.MACs, m*n*k)
		}
		dst := NewMatrix[int16](m, n)
		if err := RequantizeGroups(dst, accs, rq, &c); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				s := new(big.Int)
				for q := 0; q < k; q++ {
					p := int64(a.At(i, q)) * int64(wd[j*k+q]) * int64(rq.Mult[group[q]])
					s.Add(s, big.NewInt(p))
				}
				want, _ := refSat(refRoundShift(s, rq.Shift), rq.Bits)
				if int64(dst.At(i, j)) != want {
					t.Fatalf("iter %d (%d, %d): got %d, want %d", iter, i, j, dst.At(i, j), want)
				}
			}
		}
		for g, v := range reals { // mantissas carry the factors to 2^-26 of the largest
			if e := math.Abs(math.Ldexp(float64(rq.Mult[g]), -rq.Shift) - v); e > math.Ldexp(1, -rq.Shift) {
				t.Fatalf("factor %d: %g represented with error %g", g, v, e)
			}
		}
		outputs += m * n
	}
	if _, err := NewGroupRequantizer([]float64{1, 1e-9}, 8); err == nil {
		t.Error("factor ratio beyond 2^20 accepted")
	}
	if _, err := GroupColumns([]uint8{0, 5}, 4); err == nil {
		t.Error("group index out of range accepted")
	}
	if err := RequantizeGroups(NewMatrix[int8](1, 1), nil, &GroupRequantizer{Mult: []int32{1}, Shift: 1, Bits: 8}, nil); err == nil {
		t.Error("missing partial sums accepted")
	}
}
