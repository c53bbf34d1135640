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

// TestRequantizeGroupsProperty checks RequantizeGroups (its rows of 8 and
// more run the AVX-512 kernel where the CPU has it) against math/big on
// extreme partial sums, up to MaxGroups groups, the largest mantissas and
// all shifts, zero points, and int8, int16 and int32 outputs, with the
// saturation count.
func TestRequantizeGroupsProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	for iter := 0; iter < 1500; iter++ {
		rows, cols, groups := 1+r.IntN(5), 1+r.IntN(50), 1+r.IntN(MaxGroups)
		rq := &GroupRequantizer{Mult: make([]int32, groups), Shift: 1 + r.IntN(62), Bits: []int{8, 16, 32, 5, 12}[r.IntN(5)]}
		for g := range rq.Mult {
			rq.Mult[g] = pick(r, []int32{0, 1<<GroupMultBits - 1}, func() int32 { return int32(r.IntN(1 << GroupMultBits)) })
		}
		lo, hi := satBounds(rq.Bits)
		if r.IntN(3) == 0 {
			rq.ZeroPoint = int32(lo + r.Int64N(hi-lo+1))
		}
		accs := make([]Matrix[int32], groups)
		for g := range accs {
			accs[g] = NewMatrix[int32](rows, cols)
			for i := range accs[g].Data {
				accs[g].Data[i] = extremeInt32(r)
			}
		}
		want := make([]int64, rows*cols)
		var wantSat int64
		for i := range want {
			s := new(big.Int)
			for g := range accs {
				s.Add(s, new(big.Int).Mul(big.NewInt(int64(accs[g].Data[i])), big.NewInt(int64(rq.Mult[g]))))
			}
			v, sat := refSat(s.Add(refRoundShift(s, rq.Shift), big.NewInt(int64(rq.ZeroPoint))), rq.Bits)
			want[i] = v
			wantSat += b2i(sat)
		}
		var c Counters
		var got []int64
		var err error
		switch {
		case rq.Bits <= 8:
			got, err = runGroups[int8](rows, cols, accs, rq, &c)
		case rq.Bits <= 16:
			got, err = runGroups[int16](rows, cols, accs, rq, &c)
		default:
			got, err = runGroups[int32](rows, cols, accs, rq, &c)
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("iter %d (%d groups, shift %d, bits %d) elem %d: got %d, want %d", iter, groups, rq.Shift, rq.Bits, i, got[i], want[i])
			}
		}
		if c.Saturations != wantSat || c.Requants != int64(rows*cols) || c.MACs != int64(rows*cols*groups) {
			t.Fatalf("iter %d: counters %+v, want %d saturations", iter, c, wantSat)
		}
	}
}

// runGroups runs RequantizeGroups into a T matrix and returns its values.
func runGroups[T Integer](rows, cols int, accs []Matrix[int32], rq *GroupRequantizer, c *Counters) ([]int64, error) {
	dst := NewMatrix[T](rows, cols)
	if err := RequantizeGroups(dst, accs, rq, c); err != nil {
		return nil, err
	}
	out := make([]int64, len(dst.Data))
	for i, v := range dst.Data {
		out[i] = int64(v)
	}
	return out, nil
}
