package traces

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/hw/datapath"
)

// requireTools skips the test when a tool is missing, or fails it when
// CI=true.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI=true and %s is missing (apt-get install iverilog verilator make)", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
}

// projectRTL is the absolute path of hw/rtl.
func projectRTL(t *testing.T) string {
	d, err := filepath.Abs(filepath.Join("..", "hw", "rtl"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d, "gemm_os.v")); err != nil {
		t.Fatal(err)
	}
	return d
}

// runMake runs make in dir with the targets and returns its output.
func runMake(dir string, args ...string) (string, error) {
	cmd := exec.Command("make", append([]string{"-C", dir}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var (
	passRe   = regexp.MustCompile(`(?m)^(\S+): PASS: (\d+) vectors$`)
	cyclesRe = regexp.MustCompile(`(?m)^(\S+): CYCLES: fold=(\d+) total=(\d+) \(model fold=(\d+) total=(\d+)\)$`)
)

// TestRTLGEMMShapes runs the GEMM engines and the bare arrays against
// GEMMs of random shapes on arrays of several sizes (1×4, 4×1, 3×5, 2×2,
// 8×8, and 1×1 for ws/is) under Icarus Verilog, for every dataflow (os on
// gemm_os, ws and is on gemm_ws), and checks that every fold takes exactly
// cost.ComputeCycles' per-fold cycles (os: K + R + C − 2, ws: 2R + C + M − 2,
// is: 2R + C + N − 2) and the whole GEMM folds × that (cost.ComputeCycles +
// 1), as the testbench measures it.
func TestRTLGEMMShapes(t *testing.T) {
	requireTools(t, "iverilog", "vvp", "make")
	r := rand.New(rand.NewPCG(11, 3))
	for _, c := range []struct {
		df   arch.Dataflow
		R, C int
	}{
		{arch.OutputStationary, 1, 4}, {arch.OutputStationary, 4, 1}, {arch.OutputStationary, 3, 5}, {arch.OutputStationary, 2, 2},
		{arch.OutputStationary, 8, 8}, {arch.WeightStationary, 1, 1}, {arch.WeightStationary, 1, 4}, {arch.WeightStationary, 4, 1},
		{arch.WeightStationary, 3, 5}, {arch.WeightStationary, 8, 8}, {arch.InputStationary, 2, 3}, {arch.InputStationary, 5, 2},
	} {
		R, C, df := c.R, c.C, c.df
		t.Run(fmt.Sprintf("%s_%dx%d", df, R, C), func(t *testing.T) {
			rec, err := NewRecorder(Options{Generator: "vimsim test", Arch: arraySpec(R, C).WithDataflow(df), Units: []Unit{UnitGEMM}})
			if err != nil {
				t.Fatal(err)
			}
			type shape struct{ M, K, N int }
			shapes := []shape{{1, 1, 1}, {R, 1, C}, {2*R + 1, 7, C + 2}, {1 + r.IntN(20), 1 + r.IntN(40), 1 + r.IntN(20)}}
			for i, s := range shapes {
				a := randMatrix(r, s.M, s.K)
				wd := randMatrix(r, s.N, s.K)
				w, err := datapath.NewWeights(s.N, s.K, wd.Data)
				if err != nil {
					t.Fatal(err)
				}
				if err := rec.GEMM(0, fmt.Sprintf("g%d", i), a, w); err != nil {
					t.Fatal(err)
				}
			}
			b, err := rec.Bundle(BundleOptions{RTLDir: projectRTL(t)})
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "v")
			if err := b.WriteDir(context.Background(), dir, false); err != nil {
				t.Fatal(err)
			}
			out, err := runMake(dir)
			if err != nil {
				t.Fatalf("make: %v\n%s", err, out)
			}
			passes := passRe.FindAllStringSubmatch(out, -1)
			if len(passes) != len(b.Manifest.Sets) || !strings.Contains(out, fmt.Sprintf("ALL PASS: %d testbenches", len(b.Manifest.Sets))) {
				t.Fatalf("%d PASS lines for %d sets:\n%s", len(passes), len(b.Manifest.Sets), out)
			}
			layers := cyclesRe.FindAllStringSubmatch(out, -1)
			if len(layers) != len(shapes) {
				t.Fatalf("%d CYCLES lines for %d GEMMs:\n%s", len(layers), len(shapes), out)
			}
			kind := "_gemm_layer"
			if df != arch.OutputStationary {
				kind = "_gemm_" + string(df) + "_layer"
			}
			for _, m := range layers {
				i, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(m[1], "l00_g"), kind))
				s := shapes[i]
				cc, err := cost.ComputeCycles(R, C, df, cost.GEMM{M: s.M, K: s.K, N: s.N})
				if err != nil {
					t.Fatal(err)
				}
				want := map[arch.Dataflow]int{arch.OutputStationary: s.K + R + C - 2, arch.WeightStationary: 2*R + C + s.M - 2,
					arch.InputStationary: 2*R + C + s.N - 2}[df]
				fold, _ := strconv.ParseInt(m[2], 10, 64)
				total, _ := strconv.ParseInt(m[3], 10, 64)
				if fold != cc.CyclesPerFold || fold != int64(want) || total != cc.Cycles+1 {
					t.Errorf("%s (M=%d K=%d N=%d on %dx%d): RTL fold %d total %d; hw per-fold %d, cycles %d",
						m[1], s.M, s.K, s.N, R, C, fold, total, cc.CyclesPerFold, cc.Cycles)
				}
			}
			// One flipped expected word makes make fail and names the set.
			set := "l00_g2" + kind
			p := filepath.Join(dir, set, "c.exp.hex")
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, flipLastWord(t, data), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err = runMake(dir, set)
			if err == nil || !strings.Contains(out, "MISMATCH") || !strings.Contains(out, "FAIL: "+set) {
				t.Fatalf("flipped word: make err %v\n%s", err, out)
			}
		})
	}
}

// flipLastWord changes the last hex digit of the last data line.
func flipLastWord(t *testing.T, data []byte) []byte {
	t.Helper()
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	i := len(lines) - 1
	l := lines[i]
	if l == "" || strings.HasPrefix(l, "//") {
		t.Fatalf("no data line at the end")
	}
	last := l[len(l)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	lines[i] = l[:len(l)-1] + string(repl)
	return []byte(strings.Join(lines, "\n") + "\n")
}

// TestTestbenchesLint runs verilator --lint-only -Wall --timing on every
// testbench with the reference RTL and a generated params.vh.
func TestTestbenchesLint(t *testing.T) {
	requireTools(t, "verilator")
	cfg := testModel(t)
	b := synthBundle(t, cfg, arch.Systolic8(), []int{0}, 1)
	dir := filepath.Join(t.TempDir(), "v")
	if err := b.WriteDir(context.Background(), dir, false); err != nil {
		t.Fatal(err)
	}
	rtlDir := projectRTL(t)
	srcs, _ := filepath.Glob(filepath.Join(rtlDir, "*.v"))
	done := map[string]bool{}
	for _, s := range b.Manifest.Sets {
		if done[s.Testbench] {
			continue
		}
		done[s.Testbench] = true
		args := append([]string{"--lint-only", "-Wall", "--timing", "-I" + filepath.Join(dir, s.Name), "-I" + filepath.Join(dir, "tb"),
			"--top-module", s.Testbench, filepath.Join(dir, "tb", s.Testbench+".sv")}, srcs...)
		out, err := exec.Command("verilator", args...).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) != 0 {
			t.Errorf("%s: %v\n%s", s.Testbench, err, out)
		}
	}
	if len(done) != 12 {
		t.Errorf("linted %d testbenches, want 12", len(done))
	}
}

// TestRTLUnitParameters runs the lookup, exponent, requantizer and norm
// testbenches over parameters the model's sets do not use: exponent tables
// of 1..19 bits, interpolated tables of 1..15 bits and 2..16-bit outputs,
// a single int8 table, requantizer widths 2..32, norm seed tables of 1..8
// bits and outputs of 4..32 bits.
func TestRTLUnitParameters(t *testing.T) {
	requireTools(t, "iverilog", "vvp", "make")
	r := rand.New(rand.NewPCG(5, 9))
	rec, err := NewRecorder(Options{Generator: "vimsim test", Arch: arch.Systolic8()})
	if err != nil {
		t.Fatal(err)
	}
	const one = 1 << datapath.ExpInFrac
	for i, tb := range []int{1, 4, 10, 19} {
		u, err := datapath.NewExp2Unit(tb)
		if err != nil {
			t.Fatal(err)
		}
		z := []int32{datapath.ExpZMax, datapath.ExpZMax + 1, -17 * one, -17*one - 1, 0}
		for len(z) < 200 {
			z = append(z, int32(r.Int64N(30*one)-22*one))
		}
		if err := rec.Exp2(i, "exp", z, u); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range [][2]int{{1, 2}, {5, 16}, {8, 8}, {15, 12}} {
		tab, err := datapath.NewInterpTable16(datapath.SiLU, 1.0/2048, 0.02, c[0], c[1])
		if err != nil {
			t.Fatal(err)
		}
		x := make([]int16, 300)
		for j := range x {
			x[j] = int16(r.IntN(65536) - 32768)
		}
		x[0], x[1] = -32768, 32767
		if err := rec.Interp16(i, "interp", x, tab); err != nil {
			t.Fatal(err)
		}
	}
	t8, err := datapath.NewSoftplusTable(0.05, 0.03)
	if err != nil {
		t.Fatal(err)
	}
	x8 := randMatrix(r, 3, 100)
	if err := rec.Table8(0, "softplus", x8, t8); err != nil {
		t.Fatal(err)
	}
	for i, bits := range []int{2, 12, 16, 32} {
		acc := datapath.NewMatrix[int32](5, 9)
		for j := range acc.Data {
			acc.Data[j] = int32(r.Uint32()) >> uint(r.IntN(30))
		}
		q := synthRequantizer(r, acc, bits)
		if err := rec.Requantize(i, "rq", acc, q, 0); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range [][3]int{{1, 4, 5}, {3, 8, 16}, {8, 32, 1}, {5, 16, 3}} { // table bits, out bits, D
		u, err := datapath.NewNormUnit(c[0])
		if err != nil {
			t.Fatal(err)
		}
		gamma := make([]int16, c[2])
		for j := range gamma {
			gamma[j] = int16(r.IntN(1 << 15))
		}
		p, err := datapath.NewNormParams(gamma, 16, 1.0/32768, 1.0/256, 1.0/float64(int(1)<<(c[1]-2)), 1e-6, c[1])
		if err != nil {
			t.Fatal(err)
		}
		x := datapath.NewMatrix[int32](6, c[2])
		for j := range x.Data {
			x.Data[j] = int32(r.Uint32()) >> uint(r.IntN(31))
		}
		if err := rec.RMSNorm(i, "norm", x, u, p); err != nil {
			t.Fatal(err)
		}
	}
	b, err := rec.Bundle(BundleOptions{RTLDir: projectRTL(t)})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "v")
	if err := b.WriteDir(context.Background(), dir, false); err != nil {
		t.Fatal(err)
	}
	out, err := runMake(dir, "-k")
	if err != nil {
		t.Fatalf("make: %v\n%s", err, out)
	}
	if n := len(passRe.FindAllString(out, -1)); n != len(b.Manifest.Sets) {
		t.Fatalf("%d PASS lines for %d sets:\n%s", n, len(b.Manifest.Sets), out)
	}
}

// runBundleRTL writes b, runs make -k on it against hw/rtl under Icarus
// Verilog and checks that every set prints PASS with its manifest vector
// count; it returns the directory.
func runBundleRTL(t *testing.T, b *Bundle) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "v")
	if err := b.WriteDir(context.Background(), dir, false); err != nil {
		t.Fatal(err)
	}
	out, err := runMake(dir, "-k")
	if err != nil {
		t.Fatalf("make: %v\n%s", err, out)
	}
	passed := map[string]string{}
	for _, m := range passRe.FindAllStringSubmatch(out, -1) {
		passed[m[1]] = m[2]
	}
	for _, s := range b.Manifest.Sets {
		if passed[s.Name] != strconv.Itoa(s.Vectors) {
			t.Errorf("set %s: PASS count %q, manifest %d", s.Name, passed[s.Name], s.Vectors)
		}
	}
	if len(passed) != len(b.Manifest.Sets) || !strings.Contains(out, fmt.Sprintf("ALL PASS: %d testbenches", len(b.Manifest.Sets))) {
		t.Fatalf("%d PASS lines for %d sets:\n%s", len(passed), len(b.Manifest.Sets), out)
	}
	return dir
}

// vectorUnitParamBundle returns a bundle of depthwise convolution, merge and
// residual-add sets over lane counts and shapes the model does not use: one
// lane, lanes that do not divide the channels, more lanes than channels,
// one tap, fewer steps than taps, seven taps.
func vectorUnitParamBundle(t *testing.T) *Bundle {
	t.Helper()
	r := rand.New(rand.NewPCG(13, 1))
	rec, err := NewRecorder(Options{Generator: "vimsim test", Arch: arch.Systolic8()})
	if err != nil {
		t.Fatal(err)
	}
	var sets []*vectorSet
	for i, c := range []struct{ L, E, T, lanes int }{{3, 1, 1, 1}, {7, 8, 4, 3}, {2, 5, 4, 16}, {9, 16, 2, 16}, {12, 6, 7, 4}, {5, 33, 4, 16}} {
		x := randMatrix(r, c.L, c.E)
		w := randMatrix(r, c.E, c.T)
		s, err := dwconvSet(0, fmt.Sprintf("dw%d", i), x, w, c.lanes)
		if err != nil {
			t.Fatal(err)
		}
		sets = append(sets, s)
	}
	for i, c := range []struct{ rows, cols, lanes int }{{1, 1, 1}, {5, 7, 3}, {4, 16, 16}, {3, 5, 16}} {
		f := datapath.NewMatrix[int16](c.rows, c.cols)
		bw := datapath.NewMatrix[int16](c.rows, c.cols)
		res := datapath.NewMatrix[int32](c.rows, c.cols)
		add := datapath.NewMatrix[int32](c.rows, c.cols)
		for j := range f.Data {
			f.Data[j], bw.Data[j] = int16(r.Uint32()), int16(r.Uint32())
			res.Data[j], add.Data[j] = int32(r.Uint32()), int32(r.Uint32())
		}
		f.Data[0], bw.Data[0] = math.MaxInt16, math.MaxInt16
		res.Data[0], add.Data[0] = math.MinInt32, -1
		ms, err := mergeSet(0, fmt.Sprintf("mg%d", i), f, bw, c.lanes)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := resaddSet(0, fmt.Sprintf("ra%d", i), res, add, c.lanes)
		if err != nil {
			t.Fatal(err)
		}
		sets = append(sets, ms, rs)
	}
	if err := rec.keep(sets...); err != nil {
		t.Fatal(err)
	}
	b, err := rec.Bundle(BundleOptions{RTLDir: projectRTL(t)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRTLVectorUnits runs the depthwise convolution, merge and residual-add
// sets against hw/rtl under Icarus Verilog: the sets Synthetic records for
// block 0 of the test model (model shapes and edge sets), and sets over
// lane counts and shapes the model does not use (one lane, lanes that do
// not divide the channels, more lanes than channels, one tap, fewer steps
// than taps, seven taps). A changed expected word (an output or a
// saturation flag) must make the set fail.
func TestRTLVectorUnits(t *testing.T) {
	requireTools(t, "iverilog", "vvp", "make")
	synthetic := func(t *testing.T) *Bundle {
		cfg := testModel(t)
		rec, err := NewRecorder(Options{Generator: "vimsim test", Model: cfg.Name, Arch: arch.Systolic8(),
			Units: []Unit{UnitDWConv, UnitVector}, Layers: []int{0}})
		if err != nil {
			t.Fatal(err)
		}
		if err := Synthetic(context.Background(), rec, cfg, 1); err != nil {
			t.Fatal(err)
		}
		b, err := rec.Bundle(BundleOptions{RTLDir: projectRTL(t)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name  string
		build func(t *testing.T) *Bundle
		sets  int
		flips []string // set/file whose last expected word is changed
	}{
		{"synthetic", synthetic, 7, []string{"l00_conv1d_b_dwconv/y.exp.hex", "l00_gate_merge/m.exp.hex",
			"l00_edge_merge/sat.exp.hex", "l00_residual_resadd/out.exp.hex", "l00_edge_resadd/sat.exp.hex"}},
		{"parameters", vectorUnitParamBundle, 14, []string{"l00_dw1_dwconv/y.exp.hex", "l00_dw4_dwconv/y.exp.hex", "l00_mg1_merge/m.exp.hex",
			"l00_mg3_merge/sat.exp.hex", "l00_ra1_resadd/out.exp.hex", "l00_ra0_resadd/sat.exp.hex"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := c.build(t)
			if len(b.Manifest.Sets) != c.sets {
				t.Fatalf("%d sets, want %d", len(b.Manifest.Sets), c.sets)
			}
			dir := runBundleRTL(t, b)
			for _, f := range c.flips {
				set := strings.Split(f, "/")[0]
				p := filepath.Join(dir, filepath.FromSlash(f))
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, flipLastWord(t, data), 0o644); err != nil {
					t.Fatal(err)
				}
				out, err := runMake(dir, set)
				if err == nil || !strings.Contains(out, "MISMATCH") || !strings.Contains(out, "FAIL: "+set) {
					t.Errorf("%s flipped: make err %v\n%s", f, err, out)
				}
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestRTLVectorUnitsVerilator builds and runs the depthwise convolution,
// merge and residual-add testbenches with Verilator (--binary --timing,
// make SIM=verilator) on sets with lanes that do not divide the elements.
func TestRTLVectorUnitsVerilator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three Verilator models (~30 s)")
	}
	requireTools(t, "verilator", "make")
	dir := filepath.Join(t.TempDir(), "v")
	if err := vectorUnitParamBundle(t).WriteDir(context.Background(), dir, false); err != nil {
		t.Fatal(err)
	}
	sets := []string{"l00_dw1_dwconv", "l00_mg1_merge", "l00_ra1_resadd"}
	out, err := runMake(dir, append([]string{"-k", "SIM=verilator"}, sets...)...)
	if err != nil {
		t.Fatalf("make: %v\n%s", err, out)
	}
	for _, s := range sets {
		if !regexp.MustCompile(`(?m)^` + s + `: PASS: \d+ vectors$`).MatchString(out) {
			t.Errorf("no PASS line for %s:\n%s", s, out)
		}
	}
}
