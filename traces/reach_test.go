package traces

import (
	"context"
	"math"
	"math/bits"
	"sort"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/datapath"
)

// reach records which named corners a unit's sets reach.
type reach map[string]bool

// need fails for every corner of want that r does not reach.
func (r reach) need(t *testing.T, unit string, want ...string) {
	t.Helper()
	var miss []string
	for _, w := range want {
		if !r[w] {
			miss = append(miss, w)
		}
	}
	if len(miss) > 0 {
		sort.Strings(miss)
		t.Errorf("%s: corners not reached: %s", unit, strings.Join(miss, ", "))
	}
}

// cornerBundle records Corners for block 0 of the test model on an 8×8
// array.
func cornerBundle(t *testing.T) *Bundle {
	t.Helper()
	cfg := testModel(t)
	rec, err := NewRecorder(Options{Generator: "vimsim test", Model: cfg.Name, Arch: arch.Systolic8(), Layers: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	if err := Corners(context.Background(), rec, cfg, 1); err != nil {
		t.Fatal(err)
	}
	b, err := rec.Bundle(BundleOptions{RTLDir: "/rtl"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setsOf returns the sets of b run by testbench tb.
func setsOf(b *Bundle, tb string) []SetInfo {
	var out []SetInfo
	for _, s := range b.Manifest.Sets {
		if s.Testbench == tb {
			out = append(out, s)
		}
	}
	return out
}

// TestCornersReach checks, from the files of the corner sets alone, that
// every corner listed in the units' "Corners" paragraphs of DATAPATH.md is
// reached: each rounding tie, saturation and overflow in both directions,
// each width boundary and each branch of a case split.
func TestCornersReach(t *testing.T) {
	b := cornerBundle(t)
	t.Run("requant", func(t *testing.T) { requantReach(t, b) })
	t.Run("grequant", func(t *testing.T) { groupReach(t, b) })
	t.Run("gemm", func(t *testing.T) { gemmReach(t, b) })
	t.Run("lut8", func(t *testing.T) { lutReach(t, b) })
	t.Run("interp16", func(t *testing.T) { interpReach(t, b) })
	t.Run("exp2", func(t *testing.T) { expReach(t, b) })
	t.Run("rmsnorm", func(t *testing.T) { normReach(t, b) })
	t.Run("scan", func(t *testing.T) { scanReach(t, b) })
}

func consts(t *testing.T, b *Bundle, set string) map[string]int64 {
	return findFile(t, b, set+"/params.vh").Constants
}

func bitsOf(t *testing.T, b *Bundle, path string) []uint64 {
	t.Helper()
	v, err := ReadMemH(bundleFile(t, b, path), 32)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// uwords parses a bundle hex file as unsigned words (shifts, mantissas).
func uwords(t *testing.T, b *Bundle, path string) []int64 {
	t.Helper()
	u := bitsOf(t, b, path)
	out := make([]int64, len(u))
	for i, v := range u {
		out[i] = int64(v)
	}
	return out
}

func requantReach(t *testing.T, b *Bundle) {
	r := reach{}
	for _, s := range setsOf(b, "tb_requant") {
		c := consts(t, b, s.Name)
		T, Ch, nb := int(c["TOKENS"]), int(c["CHANNELS"]), int(c["OUT_BITS"])
		acc := words(t, b, s.Name+"/acc.in.hex", 32)
		bias := words(t, b, s.Name+"/bias.in.hex", 32)
		mm := uwords(t, b, s.Name+"/mult_m.in.hex")
		ms := uwords(t, b, s.Name+"/mult_shift.in.hex")
		ts := words(t, b, s.Name+"/tok_shift.in.hex", 8)
		sat, ovf := bitsOf(t, b, s.Name+"/sat.exp.hex"), bitsOf(t, b, s.Name+"/ovf.exp.hex")
		q := words(t, b, s.Name+"/q.exp.hex", nb)
		lo, hi := -int64(1)<<(nb-1), int64(1)<<(nb-1)-1
		for i := 0; i < T*Ch; i++ {
			tt, ch := i/Ch, i%Ch
			a := acc[i] + bias[ch]
			if a > math.MaxInt32 {
				r["bias overflow up"] = ovf[i] == 1
				a = math.MaxInt32
			} else if a < math.MinInt32 {
				r["bias overflow down"] = ovf[i] == 1
				a = math.MinInt32
			}
			S := ms[ch] + ts[tt]
			switch {
			case S > 63:
				r["total shift above 63 (capped)"] = true
				S = 63
			case S == 63:
				r["total shift 63"] = true
			case S == 1:
				r["total shift 1"] = true
			}
			if ts[tt] < 0 {
				r["negative token shift"] = true
			}
			if mm[ch] == 0 {
				r["zero multiplier"] = true
			}
			p := a * mm[ch]
			if p&(1<<S-1) == 1<<(S-1) && mm[ch] != 0 {
				r["tie, positive"] = r["tie, positive"] || p > 0
				r["tie, negative"] = r["tie, negative"] || p < 0
			}
			if a == math.MinInt32 && mm[ch] == math.MaxInt32 {
				r["largest product"] = true
			}
			if sat[i] == 1 {
				w := map[int]string{8: "8", 16: "16", 32: "32"}[nb]
				if q[i] == hi {
					r["saturation up, int"+w] = true
				}
				if q[i] == lo {
					r["saturation down, int"+w] = true
				}
			}
		}
	}
	r.need(t, "requant", "bias overflow up", "bias overflow down", "total shift above 63 (capped)", "total shift 63",
		"total shift 1", "negative token shift", "zero multiplier", "tie, positive", "tie, negative", "largest product",
		"saturation up, int8", "saturation down, int8", "saturation up, int16", "saturation down, int16",
		"saturation up, int32", "saturation down, int32")
}

func groupReach(t *testing.T, b *Bundle) {
	r := reach{}
	for _, s := range setsOf(b, "tb_group_requant") {
		c := consts(t, b, s.Name)
		n, G, S, nb := int(c["N_VEC"]), int(c["G"]), c["SHIFT"], int(c["OUT_BITS"])
		acc := words(t, b, s.Name+"/acc.in.hex", 32)
		m := uwords(t, b, s.Name+"/mult.in.hex")
		sat := bitsOf(t, b, s.Name+"/sat.exp.hex")
		q := words(t, b, s.Name+"/q.exp.hex", nb)
		if G == datapath.MaxGroups {
			r["16 groups"] = true
		}
		r["shift 1"] = r["shift 1"] || S == 1
		r["shift 62"] = r["shift 62"] || S == 62
		for i := 0; i < n; i++ {
			var sum int64
			for g := 0; g < G; g++ {
				sum += acc[i*G+g] * m[g]
			}
			if sum&(1<<S-1) == 1<<(S-1) {
				r["tie, positive"] = r["tie, positive"] || sum > 0
				r["tie, negative"] = r["tie, negative"] || sum < 0
			}
			if sum >= 1<<61 || sum <= -1<<61 {
				r["|sum| >= 2^61"] = true
			}
			if sat[i] == 1 {
				r["saturation up"] = r["saturation up"] || q[i] > 0
				r["saturation down"] = r["saturation down"] || q[i] < 0
			}
		}
	}
	r.need(t, "grequant", "16 groups", "shift 1", "shift 62", "tie, positive", "tie, negative", "|sum| >= 2^61",
		"saturation up", "saturation down")
}

func gemmReach(t *testing.T, b *Bundle) {
	r := reach{}
	for _, s := range setsOf(b, "tb_gemm_layer") {
		c := consts(t, b, s.Name)
		M, N, R, C := c["M"], c["N"], c["R"], c["C"]
		for _, v := range words(t, b, s.Name+"/c.exp.hex", 32) {
			r["sum 2^24"] = r["sum 2^24"] || v == 1<<24
			r["sum -1024·127·128"] = r["sum -1024·127·128"] || v == -1024*127*128
		}
		r["partial row fold"] = r["partial row fold"] || M%R != 0
		r["partial column fold"] = r["partial column fold"] || N%C != 0
	}
	r.need(t, "gemm", "sum 2^24", "sum -1024·127·128", "partial row fold", "partial column fold")
}

func lutReach(t *testing.T, b *Bundle) {
	r := reach{}
	for _, s := range setsOf(b, "tb_lut8") {
		c := consts(t, b, s.Name)
		T, Ch, NT := int(c["TOKENS"]), int(c["CHANNELS"]), int(c["NT"])
		r["one table"] = r["one table"] || NT == 1
		r["tables not a power of two"] = r["tables not a power of two"] || NT&(NT-1) != 0
		x := words(t, b, s.Name+"/x.in.hex", 8)
		idx := words(t, b, s.Name+"/index.in.hex", 8)
		y := words(t, b, s.Name+"/y.exp.hex", 8)
		sat := bitsOf(t, b, s.Name+"/sat.exp.hex")
		seen := map[[2]int64]bool{}
		for i := 0; i < T*Ch; i++ {
			seen[[2]int64{idx[i%Ch], x[i]}] = true
			if sat[i] == 1 {
				r["clamped entry at the top"] = r["clamped entry at the top"] || y[i] == 127
				r["clamped entry at the bottom"] = r["clamped entry at the bottom"] || y[i] == -128
			}
		}
		all := true
		for tb := 0; tb < NT; tb++ {
			for v := -128; v < 128; v++ {
				all = all && seen[[2]int64{int64(tb), int64(v)}]
			}
		}
		r["every code of every table"] = r["every code of every table"] || all
	}
	r.need(t, "lut8", "one table", "tables not a power of two", "clamped entry at the top", "clamped entry at the bottom",
		"every code of every table")
}

func interpReach(t *testing.T, b *Bundle) {
	r := reach{}
	for _, s := range setsOf(b, "tb_interp16") {
		c := consts(t, b, s.Name)
		tbits, nb, ew := int(c["TBITS"]), int(c["OUT_BITS"]), int(c["EW"])
		S := uint(16 - tbits)
		e := words(t, b, s.Name+"/table.in.hex", ew)
		x := words(t, b, s.Name+"/x.in.hex", 16)
		y := words(t, b, s.Name+"/y.exp.hex", nb)
		sat := bitsOf(t, b, s.Name+"/sat.exp.hex")
		r["int8 output"] = r["int8 output"] || nb == 8
		r["int16 output"] = r["int16 output"] || nb == 16
		for i, xv := range x {
			o := xv + 32768
			j, rr := o>>S, o&(1<<S-1)
			slope := e[j+1] - e[j]
			r["x = -32768"] = r["x = -32768"] || xv == -32768
			r["x = 32767 (last segment)"] = r["x = 32767 (last segment)"] || xv == 32767
			r["r = 0 (a table entry)"] = r["r = 0 (a table entry)"] || (rr == 0 && j > 0)
			r["negative slope"] = r["negative slope"] || slope < 0
			if p := slope * rr; rr != 0 && p&(1<<S-1) == 1<<(S-1) {
				r["interpolation tie"] = true
			}
			v := e[j] + datapath.RoundShift(slope*rr, S)
			if v&255 == 128 {
				r["output rounding tie"] = true
			}
			if sat[i] == 1 {
				r["saturation up"] = r["saturation up"] || y[i] > 0
				r["saturation down"] = r["saturation down"] || y[i] < 0
			}
		}
	}
	r.need(t, "interp16", "int8 output", "int16 output", "x = -32768", "x = 32767 (last segment)", "r = 0 (a table entry)",
		"negative slope", "interpolation tie", "output rounding tie", "saturation up", "saturation down")
}

func expReach(t *testing.T, b *Bundle) {
	r := reach{}
	const one = 1 << datapath.ExpInFrac
	for _, s := range setsOf(b, "tb_exp2") {
		z := words(t, b, s.Name+"/z.in.hex", 32)
		y := words(t, b, s.Name+"/y.exp.hex", 32)
		sat := bitsOf(t, b, s.Name+"/sat.exp.hex")
		for i, v := range z {
			r["z = ExpZMax"] = r["z = ExpZMax"] || v == datapath.ExpZMax
			r["saturation"] = r["saturation"] || (sat[i] == 1 && y[i] == datapath.ExpOutMax)
			r["z = -26·2^20 (smallest nonzero range)"] = r["z = -26·2^20 (smallest nonzero range)"] || v == -26*one
			r["z < -26·2^20 (zero)"] = r["z < -26·2^20 (zero)"] || (v < -26*one && y[i] == 0)
			r["int32 limits"] = r["int32 limits"] || v == math.MinInt32 || v == math.MaxInt32
			r["segment boundary"] = r["segment boundary"] || (v&(1<<(datapath.ExpInFrac-datapath.DefaultExpTableBits)-1) == 0 && v != 0)
			r["output 1 (z ≈ -17·2^20)"] = r["output 1 (z ≈ -17·2^20)"] || y[i] == 1
		}
		tab := uwords(t, b, s.Name+"/table.in.hex")
		tb := uint(consts(t, b, s.Name)["TBITS"])
		sh := datapath.ExpInFrac - tb
		for _, v := range z {
			ip := v >> datapath.ExpInFrac
			if v > datapath.ExpZMax || ip < -26 {
				continue
			}
			f := v & (1<<datapath.ExpInFrac - 1)
			j, g := f>>sh, f&(1<<sh-1)
			term := (tab[j+1] - tab[j]) * g
			p := tab[j] + datapath.RoundShift(term, sh)
			sa := uint(datapath.ExpTableFrac - datapath.ExpOutFrac - ip)
			m := (p + 1<<(sa-1)) & (1<<sa - 1)
			r["P on a rounding boundary, interpolation rounded up"] = r["P on a rounding boundary, interpolation rounded up"] ||
				(m == 0 && term&(1<<sh-1) >= 1<<(sh-1))
			r["P one below a boundary, interpolation rounded down"] = r["P one below a boundary, interpolation rounded down"] ||
				(m == 1<<sa-1 && g != 0 && term&(1<<sh-1) < 1<<(sh-1))
		}
	}
	r.need(t, "exp2", "z = ExpZMax", "saturation", "z = -26·2^20 (smallest nonzero range)", "z < -26·2^20 (zero)",
		"int32 limits", "segment boundary", "output 1 (z ≈ -17·2^20)", "P on a rounding boundary, interpolation rounded up",
		"P one below a boundary, interpolation rounded down")
}

func normReach(t *testing.T, b *Bundle) {
	r := reach{}
	for _, s := range setsOf(b, "tb_rmsnorm") {
		c := consts(t, b, s.Name)
		rows, D, nb := int(c["ROWS"]), int(c["D"]), int(c["OUT_BITS"])
		x := words(t, b, s.Name+"/x.in.hex", 32)
		g := words(t, b, s.Name+"/gamma.in.hex", 16)
		y := words(t, b, s.Name+"/y.exp.hex", nb)
		sat, ovf := bitsOf(t, b, s.Name+"/sat.exp.hex"), bitsOf(t, b, s.Name+"/ovf.exp.hex")
		e := bitsOf(t, b, s.Name+"/e.exp.hex")
		eps := uint64(c["EPS_D"])
		r["one-element rows"] = r["one-element rows"] || D == 1
		r["16-bit output"] = r["16-bit output"] || nb == 16
		for _, gv := range g {
			r["gain -2^15"] = r["gain -2^15"] || gv == math.MinInt16
			r["negative gain"] = r["negative gain"] || gv < 0
		}
		for i := 0; i < rows; i++ {
			var ss uint64
			over := false
			for _, v := range x[i*D : (i+1)*D] {
				var cy uint64
				ss, cy = bits.Add64(ss, uint64(v*v), 0)
				over = over || cy != 0
			}
			v, cy := bits.Add64(ss, eps, 0)
			switch {
			case over:
				r["sum of squares overflow"] = ovf[i*D] == 1
			case cy != 0:
				r["carry of + EpsD"] = ovf[i*D] == 1
			case v == 0:
				r["v = 0"] = true
			default:
				p := bits.Len64(v) - 1
				m := v << uint(max(0, 30-2*(p>>1))) >> uint(max(0, 2*(p>>1)-30))
				idx := (m >> 25) - 32
				r["seed entry 0"] = r["seed entry 0"] || idx == 0
				r["seed entry 95"] = r["seed entry 95"] || idx == 95
				r["2e <= 30"] = r["2e <= 30"] || 2*(p>>1) <= 30
				r["2e > 30"] = r["2e > 30"] || 2*(p>>1) > 30
				r["e = 31"] = r["e = 31"] || e[i] == 31
			}
			for j := i * D; j < (i+1)*D; j++ {
				if sat[j] == 1 {
					r["saturation up"] = r["saturation up"] || y[j] > 0
					r["saturation down"] = r["saturation down"] || y[j] < 0
				}
			}
		}
	}
	r.need(t, "rmsnorm", "one-element rows", "16-bit output", "gain -2^15", "negative gain", "sum of squares overflow",
		"carry of + EpsD", "v = 0", "seed entry 0", "seed entry 95", "2e <= 30", "2e > 30", "e = 31", "saturation up",
		"saturation down")
}

func scanReach(t *testing.T, b *Bundle) {
	r := reach{}
	const one = 1 << datapath.ExpInFrac
	for _, s := range setsOf(b, "tb_scan") {
		c := consts(t, b, s.Name)
		L, E, N := int(c["L"]), int(c["E"]), int(c["N"])
		delta := words(t, b, s.Name+"/delta.in.hex", 8)
		xin := words(t, b, s.Name+"/x.in.hex", 8)
		aneg := words(t, b, s.Name+"/aneg.in.hex", 32)
		sl := words(t, b, s.Name+"/step_log2.in.hex", 32)
		usm, uss := uwords(t, b, s.Name+"/ustep_m.in.hex"), uwords(t, b, s.Name+"/ustep_shift.in.hex")
		ucm, ucs := uwords(t, b, s.Name+"/uchan_m.in.hex"), uwords(t, b, s.Name+"/uchan_shift.in.hex")
		ucn := words(t, b, s.Name+"/uchan_norm.in.hex", 8)
		eg, sks := words(t, b, s.Name+"/eg.in.hex", 8), words(t, b, s.Name+"/skip_shift.in.hex", 8)
		y := words(t, b, s.Name+"/y.exp.hex", 8)
		out := words(t, b, s.Name+"/out.exp.hex", 16)
		flags := bitsOf(t, b, s.Name+"/flags.exp.hex")
		r["more than 16 states"] = r["more than 16 states"] || N > 16
		for tt := 0; tt < L; tt++ {
			r["StepLog2 = ExpZMax"] = r["StepLog2 = ExpZMax"] || sl[tt] == datapath.ExpZMax
			r["StepLog2 = -64·2^20"] = r["StepLog2 = -64·2^20"] || sl[tt] == -64*one
			for d := 0; d < E; d++ {
				j := tt*E + d
				for n := 0; n < N; n++ {
					z := sl[tt] - delta[j]*aneg[d*N+n]
					r["exponent input above ExpZMax"] = r["exponent input above ExpZMax"] || z > datapath.ExpZMax
					r["exponent input below -2^31"] = r["exponent input below -2^31"] || z < math.MinInt32
					r["exponent input above 2^31"] = r["exponent input above 2^31"] || z > math.MaxInt32
					r["exponent input -26·2^20"] = r["exponent input -26·2^20"] || z == -26*one
				}
				y1 := datapath.Multiplier{M: int32(ucm[d]), Shift: int8(ucs[d])}.Apply(int32(delta[j]*xin[j]), 0)
				xu := datapath.Multiplier{M: int32(usm[tt]), Shift: int8(uss[tt])}.Apply(int32(y1), int(ucn[d])-16)
				r["Xu saturation up"] = r["Xu saturation up"] || (xu > math.MaxInt32 && flags[j]&scanFlagXu != 0)
				r["Xu saturation down"] = r["Xu saturation down"] || (xu < math.MinInt32 && flags[j]&scanFlagXu != 0)
				r["Yacc overflow"] = r["Yacc overflow"] || flags[j]&scanFlagYacc != 0
				if flags[j]&scanFlagY != 0 {
					r["y′ saturation up"] = r["y′ saturation up"] || y[j] == 127
					r["y′ saturation down"] = r["y′ saturation down"] || y[j] == -128
				}
				if flags[j]&scanFlagOut != 0 {
					r["out saturation up"] = r["out saturation up"] || out[j] == math.MaxInt16
					r["out saturation down"] = r["out saturation down"] || out[j] == math.MinInt16
				}
				k := eg[tt] + sks[d]
				switch {
				case k > 0:
					r["ShiftRound k > 0"] = true
				case k == 0:
					r["ShiftRound k = 0"] = true
				case k == -1 && y[j]%2 != 0:
					r["ShiftRound k = -1, tie"] = true
				case k == -63:
					r["ShiftRound k = -63"] = true
				case k < -63 && y[j] < 0:
					r["ShiftRound k < -63, y′ < 0"] = true
				}
			}
		}
		if findFile(t, b, s.Name+"/params.vh").Constants != nil && strings.Contains(string(bundleFile(t, b, s.Name+"/params.vh")), "`define SCAN_STATE_TAPS") {
			q := words(t, b, s.Name+"/q.exp.hex", 8)
			h := words(t, b, s.Name+"/h.exp.hex", 20)
			sf := bitsOf(t, b, s.Name+"/stflags.exp.hex")
			for i := range q {
				if sf[i]&2 != 0 {
					r["q saturation up"] = r["q saturation up"] || q[i] == 127
					r["q saturation down"] = r["q saturation down"] || q[i] == -128
				}
				if sf[i]&4 != 0 {
					r["H saturation up"] = r["H saturation up"] || h[i] == 1<<19-1
					r["H saturation down"] = r["H saturation down"] || h[i] == -1<<19
				}
				r["exponent clamp (state tap)"] = r["exponent clamp (state tap)"] || sf[i]&1 != 0
			}
		}
	}
	r.need(t, "scan", "more than 16 states", "StepLog2 = ExpZMax", "StepLog2 = -64·2^20", "exponent input above ExpZMax",
		"exponent input below -2^31", "exponent input above 2^31", "exponent input -26·2^20", "Xu saturation up",
		"Xu saturation down", "Yacc overflow", "y′ saturation up", "y′ saturation down", "out saturation up",
		"out saturation down", "ShiftRound k > 0", "ShiftRound k = 0", "ShiftRound k = -1, tie", "ShiftRound k = -63",
		"ShiftRound k < -63, y′ < 0", "q saturation up", "q saturation down", "H saturation up", "H saturation down",
		"exponent clamp (state tap)")
}
