package datapath

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// refRsqrt is NormUnit.Rsqrt written from DATAPATH.md §7 in math/big.
func refRsqrt(seed []uint16, tableBits int, v uint64) (int64, int) {
	vb := new(big.Int).SetUint64(v)
	p := vb.BitLen() - 1
	e := p / 2
	var m *big.Int
	if 2*e <= 30 {
		m = new(big.Int).Lsh(vb, uint(30-2*e))
	} else {
		m = bigFloorDiv(vb, 2*e-30) // truncation
	}
	i := bigFloorDiv(m, 30-tableBits).Int64() - 1<<tableBits
	r0 := big.NewInt(int64(seed[i]))
	t := refRoundShift(new(big.Int).Mul(m, new(big.Int).Mul(r0, r0)), 30)
	d := new(big.Int).Sub(big.NewInt(3<<30), t)
	return refRoundShift(new(big.Int).Mul(r0, d), 16).Int64(), e
}

// TestRsqrt checks Rsqrt bit for bit against the reference and measures its
// relative error over the whole uint64 range.
func TestRsqrt(t *testing.T) {
	u, err := NewNormUnit(DefaultRsqrtTableBits)
	if err != nil {
		t.Fatal(err)
	}
	seed := u.SeedTable()
	if len(seed) != 96 {
		t.Fatalf("seed table has %d entries, want 96", len(seed))
	}
	r := rand.New(rand.NewPCG(11, 11))
	edges := []uint64{1, 2, 3, 4, 5, 1<<30 - 1, 1 << 30, 1<<31 - 1, 1 << 31, 1 << 32, 1<<62 - 1, 1 << 62, 1 << 63, math.MaxUint64}
	var maxRel float64
	for i := 0; i < 300000; i++ {
		var v uint64
		if i < len(edges) {
			v = edges[i]
		} else {
			v = r.Uint64() >> uint(r.IntN(64))
			if v == 0 {
				v = 1
			}
		}
		got, e := u.Rsqrt(v)
		want, we := refRsqrt(seed, DefaultRsqrtTableBits, v)
		if int64(got) != want || e != we {
			t.Fatalf("Rsqrt(%d) = %d, %d; want %d, %d", v, got, e, want, we)
		}
		exact := 1 / math.Sqrt(float64(v))
		rel := math.Abs(math.Ldexp(float64(got), -RsqrtFrac-e)-exact) / exact
		maxRel = math.Max(maxRel, rel)
	}
	t.Logf("rsqrt: max relative error %.3g over 3e5 inputs in [1, 2^64)", maxRel)
	if maxRel > 1e-4 {
		t.Errorf("rsqrt max relative error %.3g > 1e-4", maxRel)
	}
}

// refRMSNormRow is RMSNorm written from DATAPATH.md §7 in math/big.
func refRMSNormRow(u *NormUnit, p *NormParams, x []int32) ([]int64, Counters) {
	var k Counters
	ss := new(big.Int)
	for _, v := range x {
		ss.Add(ss, new(big.Int).Mul(big.NewInt(int64(v)), big.NewInt(int64(v))))
	}
	ss.Add(ss, big.NewInt(p.EpsD))
	out := make([]int64, len(x))
	if ss.BitLen() > 64 {
		ss.SetUint64(math.MaxUint64)
		k.Overflows++
	}
	if ss.Sign() == 0 {
		for i := range out {
			out[i] = int64(p.ZeroPoint)
		}
		return out, k
	}
	rr, e := refRsqrt(u.SeedTable(), u.TableBits(), ss.Uint64())
	for i, v := range x {
		n := refRoundShift(new(big.Int).Mul(big.NewInt(int64(v)), big.NewInt(rr)), RsqrtFrac+e-p.Frac())
		acc := n.Mul(n, big.NewInt(int64(p.Gamma[i])))
		y := refMul(acc.Int64(), Multiplier{M: p.Out.M}, int(p.Out.Shift))
		y.Add(y, big.NewInt(int64(p.ZeroPoint)))
		o, sat := refSat(y, p.Bits)
		out[i] = o
		k.Saturations += b2i(sat)
	}
	return out, k
}

func randNormRow(r *rand.Rand, x []int32) {
	mag := r.IntN(32)
	for i := range x {
		v := int64(r.Uint64()>>uint(63-mag)) * int64(1-2*r.IntN(2))
		if r.IntN(16) == 0 {
			v = int64([]int32{math.MaxInt32, math.MinInt32, 0, 1, -1}[r.IntN(5)])
		}
		x[i] = int32(max(min(v, math.MaxInt32), math.MinInt32))
	}
}

// TestRMSNormProperty checks the norm unit bit for bit against the math/big
// reference on random rows with extreme values and random constants.
func TestRMSNormProperty(t *testing.T) {
	u, err := NewNormUnit(DefaultRsqrtTableBits)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(12, 12))
	var elems int
	for iter := 0; elems < 150000; iter++ {
		d := 1 + r.IntN(64)
		gb := []int{8, 16, 4}[r.IntN(3)]
		p := &NormParams{Gamma: make([]int16, d), GammaBits: gb, Bits: []int{8, 16}[r.IntN(2)]}
		lo, hi := satBounds(gb)
		for i := range p.Gamma {
			p.Gamma[i] = int16(lo + r.Int64N(hi-lo+1))
		}
		p.Out = randMultiplier(r, 20, 45)
		if r.IntN(4) > 0 {
			p.EpsD = r.Int64N(1 << uint(r.IntN(62)))
		}
		if r.IntN(4) == 0 {
			p.ZeroPoint = int32(r.IntN(11) - 5)
		}
		x := NewMatrix[int32](1+r.IntN(4), d)
		for i := 0; i < x.Rows; i++ {
			randNormRow(r, x.Row(i))
		}
		if iter%50 == 0 {
			clear(x.Data)
		}
		var want Counters
		ref := make([]int64, 0, len(x.Data))
		for i := 0; i < x.Rows; i++ {
			o, k := refRMSNormRow(u, p, x.Row(i))
			ref = append(ref, o...)
			want.Add(k)
		}
		var got Counters
		if p.Bits == 8 {
			dst := NewMatrix[int8](x.Rows, d)
			if err := RMSNorm(dst, x, u, p, &got); err != nil {
				t.Fatal(err)
			}
			for i, v := range dst.Data {
				if int64(v) != ref[i] {
					t.Fatalf("iter %d elem %d: %d, want %d", iter, i, v, ref[i])
				}
			}
		} else {
			dst := NewMatrix[int16](x.Rows, d)
			if err := RMSNorm(dst, x, u, p, &got); err != nil {
				t.Fatal(err)
			}
			for i, v := range dst.Data {
				if int64(v) != ref[i] {
					t.Fatalf("iter %d elem %d: %d, want %d", iter, i, v, ref[i])
				}
			}
		}
		if got.Saturations != want.Saturations || got.Overflows != want.Overflows {
			t.Fatalf("iter %d: counters %+v, reference %+v", iter, got, want)
		}
		elems += len(x.Data)
	}
}

// TestRMSNormFidelity compares the integer RMSNorm built by NewNormParams
// with the float RMSNorm of the dequantized input, quantized to int8, on
// rows shaped like a Vim residual stream.
func TestRMSNormFidelity(t *testing.T) {
	u, err := NewNormUnit(DefaultRsqrtTableBits)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(13, 13))
	const d, eps = 192, 1e-5
	var maxDiff, diffs, n int
	for iter := 0; iter < 600; iter++ {
		gammaF := make([]float64, d)
		gmax := 0.0
		for i := range gammaF {
			gammaF[i] = 0.2 + 2*r.Float64()
			if i%37 == 0 {
				gammaF[i] = -gammaF[i]
			}
			gmax = math.Max(gmax, math.Abs(gammaF[i]))
		}
		gb := []int{8, 16}[iter%2]
		sG := gmax / (math.Ldexp(1, gb-1) - 0.5)
		gq := make([]int16, d)
		for i, g := range gammaF {
			gq[i] = int16(math.Max(math.Min(math.RoundToEven(g/sG), math.Ldexp(1, gb-1)-1), -math.Ldexp(1, gb-1)))
		}
		rowScale := math.Exp2(-6 + 10*r.Float64()) // residual magnitudes vary by layer
		sIn := 40.0 / math.Ldexp(1, 24)            // residual scale: ±40 in 2^24 steps
		sOut := 3 * gmax / 127.5
		p, err := NewNormParams(gq, gb, sG, sIn, sOut, eps, 8)
		if err != nil {
			t.Fatal(err)
		}
		x := NewMatrix[int32](1, d)
		xf := make([]float64, d)
		var ms float64
		for i := range xf {
			v := r.NormFloat64() * rowScale
			if i == 5 {
				v *= 8 // an outlier channel
			}
			x.Data[i] = int32(math.Round(v / sIn))
			xf[i] = float64(x.Data[i]) * sIn
			ms += xf[i] * xf[i]
		}
		rstd := 1 / math.Sqrt(ms/d+eps)
		dst := NewMatrix[int8](1, d)
		if err := RMSNorm(dst, x, u, p, nil); err != nil {
			t.Fatal(err)
		}
		for i := range xf {
			want := math.Max(math.Min(math.RoundToEven(xf[i]*rstd*float64(gq[i])*sG/sOut), 127), -128)
			diff := abs(int(dst.Data[i]) - int(want))
			maxDiff = max(maxDiff, diff)
			diffs += min(diff, 1)
			n++
		}
	}
	t.Logf("rmsnorm vs float: max |Δ| %d LSB, %.4f%% of %d outputs differ", maxDiff, 100*float64(diffs)/float64(n), n)
	if maxDiff > 1 || float64(diffs)/float64(n) > 0.01 {
		t.Errorf("rmsnorm: max |Δ| %d LSB, %d of %d outputs differ", maxDiff, diffs, n)
	}
}

func TestRMSNormEdges(t *testing.T) {
	u, _ := NewNormUnit(DefaultRsqrtTableBits)
	p := &NormParams{Gamma: make([]int16, 8), GammaBits: 8, Out: Multiplier{1 << 30, 30}, Bits: 8, ZeroPoint: 3}
	x := NewMatrix[int32](2, 8)
	for i := 0; i < 8; i++ {
		x.Data[8+i] = math.MaxInt32 // Σx² = 8·(2^31−1)² > 2^64: overflow
	}
	dst := NewMatrix[int8](2, 8)
	var c Counters
	if err := RMSNorm(dst, x, u, p, &c); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		if dst.Data[i] != 3 {
			t.Fatalf("zero row: output %d, want the zero point", dst.Data[i])
		}
	}
	if c.Overflows != 1 || c.Rsqrts != 1 {
		t.Fatalf("counters %+v, want 1 overflow and 1 rsqrt", c)
	}
	bad := []func(p *NormParams){
		func(p *NormParams) { p.Gamma = p.Gamma[:3] },
		func(p *NormParams) { p.GammaBits = 17 },
		func(p *NormParams) { p.Gamma[0] = 200 },
		func(p *NormParams) { p.EpsD = -1 },
		func(p *NormParams) { p.Bits = 1 },
		func(p *NormParams) { p.Out.Shift = 0 },
		func(p *NormParams) { p.ZeroPoint = 300 },
	}
	for i, mod := range bad {
		q := *p
		q.Gamma = append([]int16(nil), p.Gamma...)
		mod(&q)
		if err := RMSNorm(dst, x, u, &q, nil); err == nil {
			t.Errorf("bad params %d accepted", i)
		}
	}
	if err := RMSNorm(dst, x, &NormUnit{}, p, nil); err == nil {
		t.Error("zero-value norm unit accepted")
	}
	if _, err := NewNormParams(make([]int16, 4), 8, 1, 0, 1, 1e-5, 8); err == nil {
		t.Error("zero input scale accepted")
	}
	if _, err := NewNormParams(make([]int16, 4), 8, 1, 1e-12, 1, 1e-5, 8); err == nil {
		t.Error("epsilon beyond 2^62 accepted")
	}
}
