package traces

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/models"
	"github.com/vimsim/vimsim/vim"
)

// testModel is the default model when it is embedded, else vim-toy.
func testModel(t testing.TB) vim.Config {
	name := vim.DefaultModel
	if _, ok := models.Lookup(name); !ok {
		name = "vim-toy"
	}
	cfg, err := vim.LoadConfig(name, vim.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// arraySpec returns systolic16 resized to rows×cols.
func arraySpec(rows, cols int) arch.Spec {
	s := arch.Systolic16()
	s.Name = "test"
	s.Array.Rows, s.Array.Cols = rows, cols
	return s
}

// bundleFile returns the data of path in b.
func bundleFile(t testing.TB, b *Bundle, path string) []byte {
	t.Helper()
	for _, f := range b.Files {
		if f.Path == path {
			return f.Data
		}
	}
	t.Fatalf("no file %s", path)
	return nil
}

// words parses a bundle hex file as signed words of the given width.
func words(t testing.TB, b *Bundle, path string, bits int) []int64 {
	t.Helper()
	u, err := ReadMemH(bundleFile(t, b, path), bits)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := make([]int64, len(u))
	for i, v := range u {
		out[i] = Signed(v, bits)
	}
	return out
}

// lanes parses a packed hex file into rows of lanes.
func lanesOf(t testing.TB, b *Bundle, path string, lanes, bits int) [][]int64 {
	t.Helper()
	u, err := ReadMemH(bundleFile(t, b, path), 64)
	if err == nil && lanes*bits <= 64 {
		out := make([][]int64, len(u))
		for i, v := range u {
			out[i] = make([]int64, lanes)
			for l := 0; l < lanes; l++ {
				out[i][l] = Signed(v>>(uint(l*bits))&(1<<uint(bits)-1), bits)
			}
		}
		return out
	}
	// Wide words: split the hex strings.
	var out [][]int64
	for _, line := range strings.Split(string(bundleFile(t, b, path)), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		d := bits / 4
		if len(line) != lanes*d {
			t.Fatalf("%s: line %q: want %d digits", path, line, lanes*d)
		}
		row := make([]int64, lanes)
		for l := 0; l < lanes; l++ {
			s := line[len(line)-(l+1)*d : len(line)-l*d]
			v, err := ReadMemH([]byte(s), bits)
			if err != nil || len(v) != 1 {
				t.Fatalf("%s: lane %q: %v", path, s, err)
			}
			row[l] = Signed(v[0], bits)
		}
		out = append(out, row)
	}
	return out
}

func randMatrix(r *rand.Rand, rows, cols int) datapath.Matrix[int8] {
	m := datapath.NewMatrix[int8](rows, cols)
	randInt8(r, m.Data)
	return m
}

// osArray is a cycle-level software model of an R×C output-stationary
// array fed at its edges: PE (i, j) takes its ifmap operand from the left
// (column 0: the stream), its filter operand from above (row 0: the
// stream), accumulates the product in 32 bits and passes both on, one PE
// per cycle.
func osArray(aStream, wStream [][]int64, R, C, cycles int) []int32 {
	aReg := make([]int64, R*C)
	wReg := make([]int64, R*C)
	acc := make([]int32, R*C)
	for c := 0; c < cycles; c++ {
		na := make([]int64, R*C)
		nw := make([]int64, R*C)
		for i := 0; i < R; i++ {
			for j := 0; j < C; j++ {
				a := aStream[c][i]
				if j > 0 {
					a = aReg[i*C+j-1]
				}
				w := wStream[c][j]
				if i > 0 {
					w = wReg[(i-1)*C+j]
				}
				acc[i*C+j] += int32(a * w)
				na[i*C+j], nw[i*C+j] = a, w
			}
		}
		aReg, wReg = na, nw
	}
	return acc
}

// TestGEMMVectorsAgainstArrayModel checks the GEMM sets on random shapes
// and array sizes: the layer-level result equals an int64 reference wrapped
// to 32 bits; the tile streams, run through a cycle-level model of the
// array for exactly the fold's cycle count, give the expected tile; the
// fold's cycle count is cost.ComputeCycles' K + R + C − 2, and one cycle less
// misses the last product of a full fold.
func TestGEMMVectorsAgainstArrayModel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for it := 0; it < 60; it++ {
		R, C := 1+r.IntN(6), 1+r.IntN(6)
		M, K, N := 1+r.IntN(14), 1+r.IntN(20), 1+r.IntN(14)
		rec, err := NewRecorder(Options{Arch: arraySpec(R, C), Units: []Unit{UnitGEMM}})
		if err != nil {
			t.Fatal(err)
		}
		a := randMatrix(r, M, K)
		wd := randMatrix(r, N, K)
		w, err := datapath.NewWeights(N, K, wd.Data)
		if err != nil {
			t.Fatal(err)
		}
		if err := rec.GEMM(0, "g", a, w); err != nil {
			t.Fatal(err)
		}
		b, err := rec.Bundle(BundleOptions{RTLDir: "/rtl"})
		if err != nil {
			t.Fatal(err)
		}
		cc, _ := cost.ComputeCycles(R, C, arch.OutputStationary, cost.GEMM{M: M, K: K, N: N})
		if cc.CyclesPerFold != int64(K+R+C-2) {
			t.Fatalf("per-fold %d", cc.CyclesPerFold)
		}
		c := words(t, b, "l00_g_gemm_layer/c.exp.hex", 32)
		for i := 0; i < M; i++ {
			for j := 0; j < N; j++ {
				var s int64
				for k := 0; k < K; k++ {
					s += int64(a.At(i, k)) * int64(w.Data[j*K+k])
				}
				if c[i*N+j] != int64(int32(s)) {
					t.Fatalf("c[%d][%d] = %d, want %d", i, j, c[i*N+j], int32(s))
				}
			}
		}
		mf, nf := (M+R-1)/R, (N+C-1)/C
		folds := [][2]int{{0, 0}}
		if mf*nf > 1 {
			folds = append(folds, [2]int{mf - 1, nf - 1})
		}
		for idx, f := range folds {
			set := "l00_g_gemm_tile" + string(rune('0'+idx))
			P := int(cc.CyclesPerFold)
			as := lanesOf(t, b, set+"/a.in.hex", R, 8)
			ws := lanesOf(t, b, set+"/w.in.hex", C, 8)
			exp := lanesOf(t, b, set+"/c.exp.hex", C, 32)
			if len(as) != P || len(ws) != P || len(exp) != R {
				t.Fatalf("%s: %d/%d stream lines, %d rows; want %d, %d", set, len(as), len(ws), len(exp), P, R)
			}
			got := osArray(as, ws, R, C, P)
			for i := 0; i < R; i++ {
				for j := 0; j < C; j++ {
					if int64(got[i*C+j]) != exp[i][j] {
						t.Fatalf("%s (R=%d C=%d M=%d K=%d N=%d): PE (%d,%d) = %d after %d cycles, want %d", set, R, C, M, K, N, i, j, got[i*C+j], P, exp[i][j])
					}
				}
			}
			m0, n0 := f[0]*R, f[1]*C
			if m0+R <= M && n0+C <= N && a.At(m0+R-1, K-1) != 0 && w.Data[(n0+C-1)*K+K-1] != 0 {
				short := osArray(as, ws, R, C, P-1)
				if int64(short[R*C-1]) == exp[R-1][C-1] {
					t.Fatalf("%s: PE (R-1, C-1) complete after %d cycles", set, P-1)
				}
			}
		}
	}
}

// refRequant recomputes one requantized value from the expanded files with
// math/big: sat((sat32(acc+bias)·m + 2^(s−1)) >> s + zp), s = min(shift +
// tokShift, 63).
func refRequant(acc, bias, m, shift, tok, zp int64, bits int) int64 {
	a := acc + bias
	a = max(min(a, math.MaxInt32), math.MinInt32)
	s := min(shift+tok, 63)
	p := new(big.Int).Mul(big.NewInt(a), big.NewInt(m))
	p.Add(p, new(big.Int).Lsh(big.NewInt(1), uint(s-1)))
	p.Rsh(p, uint(s)) // floor for negative values too
	v := p.Int64() + zp
	hi := int64(1)<<(bits-1) - 1
	return max(min(v, hi), -hi-1)
}

// TestRequantVectorsFromFiles recomputes every expected requantizer output
// from the files the testbench reads (per-channel and per-token expansion).
func TestRequantVectorsFromFiles(t *testing.T) {
	cfg := testModel(t)
	rec, err := NewRecorder(Options{Arch: arch.Systolic16(), Units: []Unit{UnitRequant}, Layers: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	if err := Synthetic(context.Background(), rec, cfg, 3); err != nil {
		t.Fatal(err)
	}
	b, err := rec.Bundle(BundleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range b.Manifest.Sets {
		if s.Kind == "grequant" {
			n += checkGroupRequant(t, b, s.Name)
			continue
		}
		if s.Kind != "requant" {
			t.Fatalf("unexpected set %s", s.Name)
		}
		c := findFile(t, b, s.Name+"/q.exp.hex").Constants
		T, Ch, bits, zp := int(c["TOKENS"]), int(c["CHANNELS"]), int(c["OUT_BITS"]), c["ZP"]
		acc := words(t, b, s.Name+"/acc.in.hex", 32)
		bias := words(t, b, s.Name+"/bias.in.hex", 32)
		mm := words(t, b, s.Name+"/mult_m.in.hex", 32)
		ms := words(t, b, s.Name+"/mult_shift.in.hex", 8)
		ts := words(t, b, s.Name+"/tok_shift.in.hex", 8)
		q := words(t, b, s.Name+"/q.exp.hex", bits)
		if len(acc) != T*Ch || len(q) != T*Ch || len(bias) != Ch || len(ts) != T {
			t.Fatalf("%s: file lengths", s.Name)
		}
		for i := range acc {
			want := refRequant(acc[i], bias[i%Ch], mm[i%Ch], ms[i%Ch], ts[i/Ch], zp, bits)
			if q[i] != want {
				t.Fatalf("%s[%d]: %d, want %d", s.Name, i, q[i], want)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no requant vectors")
	}
}

// checkGroupRequant recomputes a group requantizer set from its files with
// math/big and returns the number of outputs checked.
func checkGroupRequant(t *testing.T, b *Bundle, set string) int {
	c := findFile(t, b, set+"/q.exp.hex").Constants
	n, G, bits, zp, shift := int(c["N_VEC"]), int(c["G"]), int(c["OUT_BITS"]), c["ZP"], uint(c["SHIFT"])
	acc := words(t, b, set+"/acc.in.hex", 32)
	mult := words(t, b, set+"/mult.in.hex", 28) // unsigned 27-bit
	q := words(t, b, set+"/q.exp.hex", bits)
	if len(acc) != n*G || len(mult) != G || len(q) != n {
		t.Fatalf("%s: file lengths", set)
	}
	hi := int64(1)<<(bits-1) - 1
	for i := 0; i < n; i++ {
		sum := new(big.Int)
		for g := 0; g < G; g++ {
			sum.Add(sum, new(big.Int).Mul(big.NewInt(acc[i*G+g]), big.NewInt(mult[g])))
		}
		sum.Add(sum, new(big.Int).Lsh(big.NewInt(1), shift-1))
		sum.Rsh(sum, shift)
		want := max(min(sum.Int64()+zp, hi), -hi-1)
		if q[i] != want {
			t.Fatalf("%s[%d]: %d, want %d", set, i, q[i], want)
		}
	}
	return n
}

func findFile(t testing.TB, b *Bundle, path string) FileInfo {
	t.Helper()
	for _, f := range b.Manifest.Files {
		if f.Path == path {
			return f
		}
	}
	t.Fatalf("no manifest entry %s", path)
	return FileInfo{}
}

// synthBundle generates the vectors of cfg's layers with every unit.
func synthBundle(t testing.TB, cfg vim.Config, spec arch.Spec, layers []int, seed uint64) *Bundle {
	t.Helper()
	rec, err := NewRecorder(Options{Generator: "vimsim test", Model: cfg.Name, Arch: spec, Layers: layers, Source: SyntheticSource(seed)})
	if err != nil {
		t.Fatal(err)
	}
	if err := Synthetic(context.Background(), rec, cfg, seed); err != nil {
		t.Fatal(err)
	}
	b, err := rec.Bundle(BundleOptions{RTLDir: "/rtl"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBundleDeterministic: the same inputs give byte-identical files
// whatever GOMAXPROCS, and another seed changes them.
func TestBundleDeterministic(t *testing.T) {
	cfg := testModel(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var runs []*Bundle
	for _, procs := range []int{1, 2, 2} {
		runtime.GOMAXPROCS(procs)
		runs = append(runs, synthBundle(t, cfg, arch.Systolic16(), []int{0, layerHead}, 1))
	}
	for _, b := range runs[1:] {
		if len(b.Files) != len(runs[0].Files) {
			t.Fatalf("%d files, want %d", len(b.Files), len(runs[0].Files))
		}
		for i, f := range b.Files {
			if f.Path != runs[0].Files[i].Path || !bytes.Equal(f.Data, runs[0].Files[i].Data) {
				t.Fatalf("file %s differs between runs", f.Path)
			}
		}
	}
	other := synthBundle(t, cfg, arch.Systolic16(), []int{0, layerHead}, 2)
	same := true
	for i, f := range other.Files {
		if strings.HasSuffix(f.Path, ".in.hex") && !bytes.Equal(f.Data, runs[0].Files[i].Data) {
			same = false
		}
	}
	if same {
		t.Error("seed 2 gives the same stimulus as seed 1")
	}
}

// TestManifest checks that the manifest lists every file with its SHA-256,
// that every set has its params.vh and testbench, and that the word counts
// and shapes match the files.
func TestManifest(t *testing.T) {
	cfg := testModel(t)
	b := synthBundle(t, cfg, arch.Systolic8(), []int{0}, 1)
	var m Manifest
	if err := json.Unmarshal(bundleFile(t, b, "manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != len(b.Files)-1 {
		t.Fatalf("manifest lists %d files, bundle has %d (+ manifest)", len(m.Files), len(b.Files))
	}
	kinds := map[string]bool{}
	for _, s := range m.Sets {
		kinds[s.Kind] = true
		findFile(t, b, s.Name+"/params.vh")
		findFile(t, b, "tb/"+s.Testbench+".sv")
		if s.Vectors <= 0 {
			t.Errorf("set %s: %d vectors", s.Name, s.Vectors)
		}
	}
	for _, k := range []string{"gemm_layer", "gemm_tile0", "gemm_tile1", "requant", "grequant", "lut8", "interp16", "exp2", "scan", "rmsnorm",
		"dwconv", "merge", "resadd"} {
		if !kinds[k] {
			t.Errorf("no %s set", k)
		}
	}
	for _, fi := range m.Files {
		data := bundleFile(t, b, fi.Path)
		sum := sha256.Sum256(data)
		if fi.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: sha256 mismatch", fi.Path)
		}
		if fi.Kind != "vectors" {
			continue
		}
		w, err := ReadMemH(data, 64)
		if err != nil && fi.Lanes*fi.Bits <= 64 {
			t.Errorf("%s: %v", fi.Path, err)
		}
		if err == nil && len(w) != fi.Words {
			t.Errorf("%s: %d words, manifest %d", fi.Path, len(w), fi.Words)
		}
		n := 1
		for _, d := range fi.Shape {
			n *= d
		}
		if lanes := max(fi.Lanes, 1); n != fi.Words*lanes {
			t.Errorf("%s: shape %v for %d words of %d lanes", fi.Path, fi.Shape, fi.Words, lanes)
		}
		if !bytes.HasPrefix(data, []byte("// vimsim test golden vectors, format 1\n")) {
			t.Errorf("%s: header %q", fi.Path, data[:min(60, len(data))])
		}
		if !bytes.Equal(data, bytes.ToLower(data)) && !bytes.Contains(data, []byte("//")) {
			t.Errorf("%s: upper-case hex", fi.Path)
		}
	}
}

func TestWriteDir(t *testing.T) {
	cfg := testModel(t)
	b := synthBundle(t, cfg, arch.Systolic8(), []int{layerHead}, 1)
	ctx := context.Background()
	parent := t.TempDir()
	dir := filepath.Join(parent, "vec")
	if err := b.WriteDir(ctx, dir, false); err != nil {
		t.Fatal(err)
	}
	for _, f := range b.Files {
		data, err := os.ReadFile(filepath.Join(dir, f.Path))
		if err != nil || !bytes.Equal(data, f.Data) {
			t.Fatalf("%s: %v", f.Path, err)
		}
	}
	// Non-empty: refused without force, replaced with force.
	if err := b.WriteDir(ctx, dir, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("non-empty dir: err %v", err)
	}
	os.WriteFile(filepath.Join(dir, "stale.txt"), []byte("x"), 0o644)
	if err := b.WriteDir(ctx, dir, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stale.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Error("--force kept a stale file")
	}
	// An empty existing directory is fine without force.
	empty := filepath.Join(parent, "empty")
	os.Mkdir(empty, 0o755)
	if err := b.WriteDir(ctx, empty, false); err != nil {
		t.Errorf("empty dir: %v", err)
	}
	// A file in the way.
	file := filepath.Join(parent, "file")
	os.WriteFile(file, nil, 0o644)
	if err := b.WriteDir(ctx, file, true); err == nil {
		t.Error("wrote over a file")
	}
	// Interrupted: no directory, no temporary left behind.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	gone := filepath.Join(parent, "gone")
	if err := b.WriteDir(cctx, gone, false); err == nil {
		t.Error("cancelled write succeeded")
	}
	// A failing write (a path that cannot be created) leaves nothing either.
	bad := &Bundle{Files: append(append([]File(nil), b.Files...), File{Path: "Makefile/x", Data: nil})}
	if err := bad.WriteDir(ctx, filepath.Join(parent, "bad"), false); err == nil {
		t.Error("impossible write succeeded")
	}
	entries, _ := os.ReadDir(parent)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "empty,file,vec" {
		t.Errorf("parent holds %v, want empty, file, vec", names)
	}
}

// vectorUnitBundle records Synthetic's depthwise convolution, merge and
// residual-add sets of cfg's block 0.
func vectorUnitBundle(t testing.TB, cfg vim.Config, seed uint64) *Bundle {
	t.Helper()
	rec, err := NewRecorder(Options{Generator: "vimsim test", Model: cfg.Name, Arch: arch.Systolic8(),
		Units: []Unit{UnitDWConv, UnitVector}, Layers: []int{0}, Source: SyntheticSource(seed)})
	if err != nil {
		t.Fatal(err)
	}
	if err := Synthetic(context.Background(), rec, cfg, seed); err != nil {
		t.Fatal(err)
	}
	b, err := rec.Bundle(BundleOptions{RTLDir: "/rtl"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVectorUnitSetsFromFiles recomputes the expected files of every
// depthwise convolution, merge and residual-add set Synthetic records for
// block 0 from the set's stimulus files: the outputs with hw/datapath
// (DepthwiseConv, Merge, ResidualAdd), the outputs and saturation flags
// again with plain int64 arithmetic, and checks that the operands reach the
// corners (the largest and smallest conv sums, merge ties and saturation,
// int32 saturation both ways).
func TestVectorUnitSetsFromFiles(t *testing.T) {
	cfg := testModel(t)
	b := vectorUnitBundle(t, cfg, 1)
	want := map[string]string{
		"l00_conv1d_dwconv": "dwconv", "l00_conv1d_b_dwconv": "dwconv", "l00_edge_dwconv": "dwconv",
		"l00_gate_merge": "merge", "l00_edge_merge": "merge",
		"l00_residual_resadd": "resadd", "l00_edge_resadd": "resadd",
	}
	if len(b.Manifest.Sets) != len(want) {
		t.Errorf("%d sets, want %d", len(b.Manifest.Sets), len(want))
	}
	for _, s := range b.Manifest.Sets {
		t.Run(s.Name, func(t *testing.T) {
			if want[s.Name] != s.Kind {
				t.Fatalf("kind %q, want %q", s.Kind, want[s.Name])
			}
			c := findFile(t, b, s.Name+"/params.vh").Constants
			switch s.Kind {
			case "dwconv":
				checkDWConvSet(t, b, s, c, cfg)
			case "merge":
				checkMergeSet(t, b, s, c)
			case "resadd":
				checkResAddSet(t, b, s, c)
			}
		})
	}
}

func toInt8(v []int64) []int8 {
	out := make([]int8, len(v))
	for i, x := range v {
		out[i] = int8(x)
	}
	return out
}

func checkDWConvSet(t *testing.T, b *Bundle, s SetInfo, c map[string]int64, cfg vim.Config) {
	L, E, T := int(c["L"]), int(c["E"]), int(c["T"])
	if T != cfg.DConv || c["LANES"] != dwconvLanes || s.Vectors != L*E {
		t.Fatalf("constants %v, %d vectors", c, s.Vectors)
	}
	if s.Op != "edge" && (L != cfg.Tokens() || E != cfg.DInner) {
		t.Fatalf("shape %dx%d, want the model's %dx%d", L, E, cfg.Tokens(), cfg.DInner)
	}
	x := datapath.Matrix[int8]{Rows: L, Cols: E, Data: toInt8(words(t, b, s.Name+"/x.in.hex", 8))}
	w := datapath.Matrix[int8]{Rows: E, Cols: T, Data: toInt8(words(t, b, s.Name+"/w.in.hex", 8))}
	y := words(t, b, s.Name+"/y.exp.hex", 32)
	if len(x.Data) != L*E || len(w.Data) != E*T || len(y) != L*E {
		t.Fatalf("file lengths %d, %d, %d", len(x.Data), len(w.Data), len(y))
	}
	got := datapath.NewMatrix[int32](L, E)
	if err := datapath.DepthwiseConv(got, x, w, nil); err != nil {
		t.Fatal(err)
	}
	var top, bottom bool
	for i := range y {
		tt, e := i/E, i%E
		var ref int64
		for k := 0; k < T; k++ {
			if src := tt - T + 1 + k; src >= 0 {
				ref += int64(w.Data[e*T+k]) * int64(x.Data[src*E+e])
			}
		}
		if y[i] != int64(got.Data[i]) || y[i] != ref {
			t.Fatalf("y[%d] (t=%d e=%d) = %d, datapath %d, reference %d", i, tt, e, y[i], got.Data[i], ref)
		}
		top = top || ref == int64(T)*128*128
		bottom = bottom || ref == -int64(T)*127*128
	}
	if !top || !bottom {
		t.Errorf("the largest (%v) or smallest (%v) sum is missing", top, bottom)
	}
}

func checkMergeSet(t *testing.T, b *Bundle, s SetInfo, c map[string]int64) {
	n := int(c["TOKENS"] * c["CHANNELS"])
	if c["LANES"] != vectorLanes || s.Vectors != n {
		t.Fatalf("constants %v, %d vectors", c, s.Vectors)
	}
	fv := words(t, b, s.Name+"/fwd.in.hex", 16)
	bv := words(t, b, s.Name+"/bwd.in.hex", 16)
	m := words(t, b, s.Name+"/m.exp.hex", 8)
	sat, err := ReadMemH(bundleFile(t, b, s.Name+"/sat.exp.hex"), 1)
	if err != nil || len(fv) != n || len(bv) != n || len(m) != n || len(sat) != n {
		t.Fatalf("file lengths %d, %d, %d, %d (%v)", len(fv), len(bv), len(m), len(sat), err)
	}
	f := datapath.Matrix[int16]{Rows: int(c["TOKENS"]), Cols: int(c["CHANNELS"]), Data: make([]int16, n)}
	bw := datapath.Matrix[int16]{Rows: f.Rows, Cols: f.Cols, Data: make([]int16, n)}
	for i := range fv {
		f.Data[i], bw.Data[i] = int16(fv[i]), int16(bv[i])
	}
	got := datapath.NewMatrix[int8](f.Rows, f.Cols)
	if err := datapath.Merge(got, f, bw, nil); err != nil {
		t.Fatal(err)
	}
	var ties, sats int
	for i := range m {
		sum := fv[i] + bv[i]
		ref := (sum + 1<<datapath.GateFrac) >> (datapath.GateFrac + 1) // floor: ties toward +inf
		flag := uint64(0)
		if ref > 127 || ref < -128 {
			ref, flag = max(min(ref, 127), -128), 1
		}
		if m[i] != int64(got.Data[i]) || m[i] != ref || sat[i] != flag {
			t.Fatalf("m[%d] (f=%d b=%d) = %d sat %d; datapath %d, reference %d sat %d", i, fv[i], bv[i], m[i], sat[i], got.Data[i], ref, flag)
		}
		if sum&(1<<(datapath.GateFrac+1)-1) == 1<<datapath.GateFrac {
			ties++
		}
		sats += int(flag)
	}
	if ties == 0 || sats == 0 {
		t.Errorf("%d rounding ties, %d saturations; want some of each", ties, sats)
	}
}

func checkResAddSet(t *testing.T, b *Bundle, s SetInfo, c map[string]int64) {
	n := int(c["TOKENS"] * c["CHANNELS"])
	if c["LANES"] != vectorLanes || s.Vectors != n {
		t.Fatalf("constants %v, %d vectors", c, s.Vectors)
	}
	rv := words(t, b, s.Name+"/residual.in.hex", 32)
	av := words(t, b, s.Name+"/add.in.hex", 32)
	o := words(t, b, s.Name+"/out.exp.hex", 32)
	sat, err := ReadMemH(bundleFile(t, b, s.Name+"/sat.exp.hex"), 1)
	if err != nil || len(rv) != n || len(av) != n || len(o) != n || len(sat) != n {
		t.Fatalf("file lengths %d, %d, %d, %d (%v)", len(rv), len(av), len(o), len(sat), err)
	}
	res := datapath.Matrix[int32]{Rows: int(c["TOKENS"]), Cols: int(c["CHANNELS"]), Data: make([]int32, n)}
	add := datapath.Matrix[int32]{Rows: res.Rows, Cols: res.Cols, Data: make([]int32, n)}
	for i := range rv {
		res.Data[i], add.Data[i] = int32(rv[i]), int32(av[i])
	}
	if err := datapath.ResidualAdd(res, add, nil); err != nil {
		t.Fatal(err)
	}
	var up, down int
	for i := range o {
		ref, flag := rv[i]+av[i], uint64(0)
		switch {
		case ref > math.MaxInt32:
			ref, flag = math.MaxInt32, 1
			up++
		case ref < math.MinInt32:
			ref, flag = math.MinInt32, 1
			down++
		}
		if o[i] != int64(res.Data[i]) || o[i] != ref || sat[i] != flag {
			t.Fatalf("out[%d] (%d + %d) = %d sat %d; datapath %d, reference %d sat %d", i, rv[i], av[i], o[i], sat[i], res.Data[i], ref, flag)
		}
	}
	if up == 0 || down == 0 {
		t.Errorf("%d saturations up, %d down; want both", up, down)
	}
}

// TestVectorUnitRecorder checks the recorder methods of the depthwise
// convolution, merge and residual add: nothing is recorded (and nothing
// checked) for a unit or layer the recorder does not want, the caller's
// residual is not modified, and bad operands are refused with the op named.
func TestVectorUnitRecorder(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	x := randMatrix(r, 6, 5)
	w := randMatrix(r, 5, 4)
	f := datapath.NewMatrix[int16](3, 4)
	bw := datapath.NewMatrix[int16](3, 4)
	res := datapath.NewMatrix[int32](3, 4)
	add := datapath.NewMatrix[int32](3, 4)
	for i := range res.Data {
		f.Data[i], bw.Data[i] = int16(r.Uint32()), int16(r.Uint32())
		res.Data[i], add.Data[i] = int32(r.Uint32()), int32(r.Uint32())
	}
	res.Data[0], add.Data[0] = math.MaxInt32, 1
	bad8 := datapath.Matrix[int8]{Rows: 2, Cols: 2, Data: make([]int8, 3)}
	bad16 := datapath.NewMatrix[int16](4, 3)
	bad32 := datapath.NewMatrix[int32](4, 3)
	type call func(rec *Recorder) error
	calls := map[string]call{
		"dwconv": func(rec *Recorder) error { return rec.DepthwiseConv(0, "conv1d", x, w, 8) },
		"merge":  func(rec *Recorder) error { return rec.Merge(0, "gate", f, bw) },
		"resadd": func(rec *Recorder) error { return rec.ResidualAdd(0, "residual", res, add) },
	}
	for _, c := range []struct {
		name  string
		units []Unit
		layer []int
		call  call
		sets  int
		err   string
	}{
		{"dwconv", []Unit{UnitDWConv}, nil, calls["dwconv"], 1, ""},
		{"merge", []Unit{UnitVector}, nil, calls["merge"], 1, ""},
		{"resadd", []Unit{UnitVector}, []int{0}, calls["resadd"], 1, ""},
		{"dwconv unwanted unit", []Unit{UnitVector}, nil, calls["dwconv"], 0, ""},
		{"merge unwanted unit", []Unit{UnitDWConv}, nil, calls["merge"], 0, ""},
		{"resadd unwanted layer", []Unit{UnitVector}, []int{1}, calls["resadd"], 0, ""},
		{"unwanted bad operands", []Unit{UnitGEMM}, nil, func(rec *Recorder) error { return rec.DepthwiseConv(0, "c", bad8, bad8, 8) }, 0, ""},
		{"dwconv bad taps", []Unit{UnitDWConv}, nil, func(rec *Recorder) error { return rec.DepthwiseConv(0, "conv1d", x, randMatrix(r, 4, 4), 8) }, 0, "vectors: dwconv conv1d: "},
		{"dwconv bad input", []Unit{UnitDWConv}, nil, func(rec *Recorder) error { return rec.DepthwiseConv(0, "conv1d", bad8, w, 8) }, 0, "vectors: dwconv conv1d: "},
		{"dwconv empty", []Unit{UnitDWConv}, nil, func(rec *Recorder) error {
			return rec.DepthwiseConv(0, "conv1d", datapath.NewMatrix[int8](0, 5), w, 8)
		}, 0, "no input"},
		{"merge shapes", []Unit{UnitVector}, nil, func(rec *Recorder) error { return rec.Merge(0, "gate", f, bad16) }, 0, "vectors: merge gate: "},
		{"merge empty", []Unit{UnitVector}, nil, func(rec *Recorder) error {
			return rec.Merge(0, "gate", datapath.NewMatrix[int16](0, 3), datapath.NewMatrix[int16](0, 3))
		}, 0, "no input"},
		{"resadd shapes", []Unit{UnitVector}, nil, func(rec *Recorder) error { return rec.ResidualAdd(0, "residual", bad32, add) }, 0, "vectors: residual add residual: "},
		{"resadd short data", []Unit{UnitVector}, nil, func(rec *Recorder) error {
			return rec.ResidualAdd(0, "residual", datapath.Matrix[int32]{Rows: 3, Cols: 4, Data: res.Data[:5]}, add)
		}, 0, "vectors: residual add residual: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec, err := NewRecorder(Options{Arch: arch.Systolic8(), Units: c.units, Layers: c.layer})
			if err != nil {
				t.Fatal(err)
			}
			before := append([]int32(nil), res.Data...)
			err = c.call(rec)
			if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Fatalf("err %v, want %q", err, c.err)
			}
			if rec.Len() != c.sets {
				t.Errorf("%d sets, want %d", rec.Len(), c.sets)
			}
			if !slices.Equal(before, res.Data) {
				t.Error("the caller's residual changed")
			}
		})
	}
}

// TestCorners checks that Corners records exactly the edge and boundary
// sets, the exponent sweep and the interpolated softplus of the selected
// blocks and units, byte-identical to the same sets of Synthetic, and
// nothing for the embedding or the head.
func TestCorners(t *testing.T) {
	cfg := testModel(t)
	ctx := context.Background()
	corners := func(units []Unit, layers []int) *Recorder {
		t.Helper()
		rec, err := NewRecorder(Options{Generator: "vimsim test", Model: cfg.Name, Arch: arch.Systolic8(), Units: units, Layers: layers})
		if err != nil {
			t.Fatal(err)
		}
		if err := Corners(ctx, rec, cfg, 1); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	for _, c := range []struct {
		name   string
		units  []Unit
		layers []int
		want   []string
	}{
		{"all units, block 1", nil, []int{1}, []string{"l01_edge16_requant", "l01_edge1_grequant", "l01_edge1_lut8", "l01_edge32_requant",
			"l01_edge62_grequant", "l01_edge8_interp16", "l01_edge_d1_rmsnorm", "l01_edge_dwconv", "l01_edge_eps_rmsnorm",
			"l01_edge_exp_scan", "l01_edge_gemm_layer", "l01_edge_gemm_tile0", "l01_edge_gemm_tile1", "l01_edge_grequant",
			"l01_edge_interp16", "l01_edge_lut8", "l01_edge_merge", "l01_edge_requant", "l01_edge_resadd", "l01_edge_rmsnorm",
			"l01_edge_scan", "l01_edge_wide_rmsnorm", "l01_edge_wide_scan", "l01_exp2", "l01_exp2_ties", "l01_softplus_int16_interp16"}},
		{"scan and vector, blocks 0 and 1", []Unit{UnitScan, UnitVector}, []int{0, 1}, []string{"l00_edge_exp_scan", "l00_edge_merge",
			"l00_edge_resadd", "l00_edge_scan", "l00_edge_wide_scan", "l00_exp2", "l00_exp2_ties", "l01_edge_exp_scan", "l01_edge_merge",
			"l01_edge_resadd", "l01_edge_scan", "l01_edge_wide_scan", "l01_exp2", "l01_exp2_ties"}},
		{"nonlin", []Unit{UnitNonlin}, []int{0}, []string{"l00_edge1_lut8", "l00_edge8_interp16", "l00_edge_interp16", "l00_edge_lut8",
			"l00_softplus_int16_interp16"}},
		{"gemm", []Unit{UnitGEMM}, []int{0}, []string{"l00_edge_gemm_layer", "l00_edge_gemm_tile0", "l00_edge_gemm_tile1"}},
		{"embed and head", nil, []int{layerEmbed, layerHead}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := corners(c.units, c.layers)
			var got []string
			for _, s := range rec.sorted() {
				got = append(got, s.name)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("sets %v, want %v", got, c.want)
			}
			if len(got) == 0 {
				return
			}
			cb, err := rec.Bundle(BundleOptions{RTLDir: "/rtl"})
			if err != nil {
				t.Fatal(err)
			}
			srec, err := NewRecorder(Options{Generator: "vimsim test", Model: cfg.Name, Arch: arch.Systolic8(), Units: c.units, Layers: c.layers})
			if err != nil {
				t.Fatal(err)
			}
			if err := Synthetic(ctx, srec, cfg, 1); err != nil {
				t.Fatal(err)
			}
			sb, err := srec.Bundle(BundleOptions{RTLDir: "/rtl"})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range cb.Files {
				if strings.Contains(f.Path, "/") && !strings.HasPrefix(f.Path, "tb/") {
					if !bytes.Equal(f.Data, bundleFile(t, sb, f.Path)) {
						t.Errorf("%s differs from Synthetic's", f.Path)
					}
				}
			}
		})
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	rec, err := NewRecorder(Options{Arch: arch.Systolic8()})
	if err != nil {
		t.Fatal(err)
	}
	if err := Corners(cctx, rec, cfg, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err %v", err)
	}
}
