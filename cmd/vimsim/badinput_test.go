package main

import (
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/vim/ckpt"
)

// badInputs are the fixtures of TestBadInputs, in one directory: broken
// checkpoints, inputs and specs, and output targets that must be refused.
type badInputs struct {
	dir                                     string
	garbage, trunc, empty, notZip, jsonFile string
	nanInput, infInput, shapeInput, noInput string
	badYAML, noBase, notMap, rows0, unknown string
	exists, full, plainFile, missingParent  string
	existsYAML                              string
	qmodelGarbage, image, emptyDataDir      string
}

func newBadInputs(t *testing.T) badInputs {
	t.Helper()
	d := t.TempDir()
	p := func(name string) string { return filepath.Join(d, name) }
	b := badInputs{dir: d,
		garbage: p("garbage.safetensors"), trunc: p("trunc.safetensors"), empty: p("empty.safetensors"),
		notZip: p("notzip.pth"), jsonFile: p("model.json"),
		nanInput: p("nan.safetensors"), infInput: p("inf.safetensors"), shapeInput: p("shape.safetensors"), noInput: p("noinput.safetensors"),
		badYAML: p("bad.yaml"), noBase: p("nobase.yaml"), notMap: p("list.yaml"), rows0: p("rows0.yaml"), unknown: p("unknown.yaml"),
		exists: p("exists.txt"), existsYAML: p("exists.yaml"), full: p("full"), plainFile: p("plain"), missingParent: p("nosuchdir/out.txt"),
		qmodelGarbage: p("q.qmodel"), image: p("img.png"), emptyDataDir: p("emptydata"),
	}
	files := map[string]string{
		b.garbage: "this is not a checkpoint at all", b.trunc: "\xff\x00\x00\x00\x00\x00\x00\x00{", b.empty: "",
		b.notZip: "not a zip archive", b.jsonFile: `{"embed_dim": 192}`,
		b.badYAML: "base: systolic16\narray: [1, 2\n", b.noBase: "array: {rows: 8}\n", b.notMap: "- a\n- b\n",
		b.rows0: "base: systolic16\narray: {rows: 0}\n", b.unknown: "base: systolic16\narrays: {rows: 8}\n",
		b.exists: "keep me\n", b.existsYAML: "keep: me\n", b.plainFile: "a file, not a directory\n", b.qmodelGarbage: "garbage",
		b.image: "not a png",
	}
	for path, body := range files {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(b.full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.full, "x"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(b.emptyDataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	input := func(path string, shape []int, set func([]float64)) {
		n := 1
		for _, s := range shape {
			n *= s
		}
		v := make([]float64, n)
		if set != nil {
			set(v)
		}
		if err := ckpt.WriteSafetensors(path, &ckpt.File{Tensors: []ckpt.Tensor{{Name: "input", DType: "F32", Shape: shape, Data: v}}}); err != nil {
			t.Fatal(err)
		}
	}
	input(b.nanInput, []int{2, 3, 64, 64}, func(v []float64) { v[3*64*64+5] = math.NaN() })
	input(b.infInput, []int{1, 3, 64, 64}, func(v []float64) { v[7] = math.Inf(1) })
	input(b.shapeInput, []int{1, 3, 8, 8}, nil)
	if err := ckpt.WriteSafetensors(b.noInput, &ckpt.File{Tensors: []ckpt.Tensor{{Name: "x", DType: "F32", Shape: []int{1}, Data: []float64{1}}}}); err != nil {
		t.Fatal(err)
	}
	return b
}

// tree lists every path below dir with its size, to check that a failing
// command left nothing behind and changed nothing.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel+" "+info.Mode().String()+" "+itoa(info.Size()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestBadInputs runs every command on bad checkpoints, inputs, specs,
// flags and output paths and checks that each is refused with a non-zero
// exit and one line on stderr naming the culprit, without a panic, and
// that nothing is left behind (the fixture directory is unchanged).
// Every command has a bad input and every output flag a refused target
// (checkBadInputCoverage); signals are TestSignals'.
func TestBadInputs(t *testing.T) {
	b := newBadInputs(t)
	toy := toyWeights
	out := filepath.Join(b.dir, "out.bin")
	outDir := filepath.Join(b.dir, "outdir")
	// The two partials of a sharded eval, for vimsim merge.
	e0, e1 := filepath.Join(b.dir, "e0.partial"), filepath.Join(b.dir, "e1.partial")
	for i, p := range []string{e0, e1} {
		if _, stderr, code := vimsim(t, "eval", "--methods", "fp32", "--limit", "4", "--shard", itoa(int64(i))+"/2", "--out", p); code != 0 {
			t.Fatalf("eval shard %d/2: %s", i, stderr)
		}
	}
	cases := []struct {
		name string
		args []string
		want string // in the error line
	}{
		// Checkpoints (every command that loads a model).
		{"infer garbage ckpt", []string{"infer", "--model", b.garbage, "--image", b.image}, "garbage.safetensors"},
		{"infer truncated ckpt", []string{"infer", "--model", b.trunc, "--image", b.image}, "trunc.safetensors"},
		{"infer empty ckpt", []string{"infer", "--model", b.empty, "--image", b.image}, "empty.safetensors"},
		{"infer pth not zip", []string{"infer", "--model", b.notZip, "--image", b.image}, "notzip.pth"},
		{"infer json model", []string{"infer", "--model", b.jsonFile, "--image", b.image}, "model.json"},
		{"infer missing ckpt", []string{"infer", "--model", filepath.Join(b.dir, "nope.safetensors"), "--image", b.image}, "nope.safetensors"},
		{"infer directory ckpt", []string{"infer", "--model", b.full, "--image", b.image}, "full"},
		{"infer unknown model", []string{"infer", "--model", "vim-huge", "--image", b.image}, "vim-huge"},
		{"model info garbage", []string{"model", "info", "--model", b.garbage}, "garbage.safetensors"},
		{"eval garbage ckpt", []string{"eval", "--model", b.garbage}, "garbage.safetensors"},
		{"calibrate garbage ckpt", []string{"calibrate", "--model", b.garbage, "--data", "sample", "--out", out}, "garbage.safetensors"},
		{"sim garbage ckpt", []string{"sim", "--model", b.garbage}, "garbage.safetensors"},
		{"vectors garbage ckpt", []string{"vectors", "--model", b.garbage, "--out", outDir}, "garbage.safetensors"},
		{"run garbage ckpt", []string{"run", "--model", b.garbage}, "garbage.safetensors"},
		{"trace garbage ckpt", []string{"trace", "--model", b.garbage}, "garbage.safetensors"},
		{"sweep garbage ckpt", []string{"sweep", "--model", b.garbage, "--out", outDir}, "garbage.safetensors"},
		{"qmodel info garbage", []string{"qmodel", "info", b.qmodelGarbage}, "q.qmodel"},
		{"sim qmodel garbage", []string{"sim", "--qmodel", b.qmodelGarbage}, "q.qmodel"},
		{"vectors qmodel garbage", []string{"vectors", "--qmodel", b.qmodelGarbage, "--out", outDir}, "q.qmodel"},
		{"eval qmodel garbage", []string{"eval", "--methods", "paper", "--qmodel", b.qmodelGarbage}, "q.qmodel"},

		// Inputs.
		{"infer NaN input", []string{"infer", "--model", toy, "--input", b.nanInput, "--output", out}, "image 1"},
		{"infer Inf input", []string{"infer", "--model", toy, "--input", b.infInput, "--output", out}, "+Inf"},
		{"infer input shape", []string{"infer", "--model", toy, "--input", b.shapeInput, "--output", out}, "shape [1 3 8 8]"},
		{"infer no input tensor", []string{"infer", "--model", toy, "--input", b.noInput, "--output", out}, `no tensor named "input"`},
		{"infer garbage input", []string{"infer", "--model", toy, "--input", b.garbage, "--output", out}, "--input"},
		{"infer bad image", []string{"infer", "--image", b.image}, "img.png"},
		{"vectors bad image", []string{"vectors", "--image", b.image, "--out", outDir}, "--image"},
		{"eval unknown data", []string{"eval", "--data", "cifar"}, "cifar"},
		{"eval empty mnist dir", []string{"eval", "--data", "mnist:" + b.emptyDataDir}, "emptydata"},
		{"eval val split on sample", []string{"eval", "--split", "val"}, "val"},
		{"sim val split on sample", []string{"sim", "--split", "val"}, "val"},
		{"calibrate val split on sample", []string{"calibrate", "--data", "sample", "--split", "val", "--out", out}, "val"},
		{"calibrate train split on sample", []string{"calibrate", "--data", "sample", "--split", "train", "--out", out}, "--split train"},
		{"eval calib beyond split", []string{"eval", "--methods", "paper", "--calib", "100000"}, "--calib 100000"},
		{"sim calib beyond split", []string{"sim", "--calib", "100000"}, "--calib 100000"},
		{"calibrate calib beyond split", []string{"calibrate", "--data", "sample", "--calib", "100000", "--out", out}, "--calib 100000"},
		{"run fidelity calib beyond", []string{"run", "--fidelity", "4", "--fidelity-calib", "100000"}, "--fidelity-calib 100000"},
		{"vectors index out of range", []string{"vectors", "--index", "100000", "--out", outDir}, "--index 100000"},

		// Specs.
		{"run bad yaml", []string{"run", "--arch", b.badYAML}, "bad.yaml"},
		{"run spec without base", []string{"run", "--arch", b.noBase}, "base"},
		{"run spec not a mapping", []string{"run", "--arch", b.notMap}, "list.yaml"},
		{"run spec rows 0", []string{"run", "--arch", b.rows0}, "array.rows"},
		{"run spec unknown field", []string{"run", "--arch", b.unknown}, "arrays"},
		{"run missing spec", []string{"run", "--arch", filepath.Join(b.dir, "nope.yaml")}, "nope.yaml"},
		{"arch show bad yaml", []string{"arch", "show", b.badYAML}, "bad.yaml"},
		{"cycles bad spec", []string{"cycles", "--arch", b.noBase, "--gemm", "1,2,3"}, "base"},
		{"sweep bad spec", []string{"sweep", "--arch", "systolic16," + b.rows0, "--out", outDir}, "array.rows"},
		{"trace bad spec", []string{"trace", "--arch", b.badYAML}, "bad.yaml"},
		{"vectors bad spec", []string{"vectors", "--arch", b.badYAML, "--out", outDir}, "bad.yaml"},

		// Flags.
		{"img-size huge", []string{"model", "info", "--img-size", "100000x100000"}, "--img-size"},
		{"img-size zero", []string{"model", "info", "--img-size", "0x5"}, "--img-size"},
		{"stride negative", []string{"model", "info", "--stride", "-2"}, "--stride"},
		{"mean not numbers", []string{"eval", "--mean", "a,b"}, `--mean "a,b"`},
		{"mean too many", []string{"eval", "--mean", "0.1,0.2"}, "--mean 0.1,0.2"},
		{"std zero", []string{"eval", "--std", "0"}, "--std"},
		{"std NaN", []string{"calibrate", "--data", "sample", "--std", "NaN", "--out", out}, "--std"},
		{"seed on trained model", []string{"eval", "--seed", "3"}, "--seed"},
		{"seed on checkpoint", []string{"infer", "--model", toy, "--seed", "3", "--image", b.image}, "--seed"},
		{"seed on run", []string{"run", "--seed", "3", "--fidelity", "0"}, "--seed"},
		{"vectors image and index", []string{"vectors", "--image", b.image, "--index", "3", "--out", outDir}, "--index"},
		{"vectors image and data", []string{"vectors", "--image", b.image, "--data", "sample", "--out", outDir}, "--data"},
		{"vectors synthetic and index", []string{"vectors", "--synthetic", "--index", "2", "--out", outDir}, "--synthetic"},
		{"vectors units", []string{"vectors", "--units", "alu", "--out", outDir}, "--units"},
		{"vectors layers", []string{"vectors", "--layers", "99", "--out", outDir}, "--layers"},
		{"vectors merge-k", []string{"vectors", "--merge-k", "17", "--out", outDir}, "--merge-k"},
		{"eval batch", []string{"eval", "--batch", "0"}, "--batch"},
		{"eval limit", []string{"eval", "--limit", "-1"}, "--limit"},
		{"eval precision", []string{"eval", "--precision", "f16"}, "--precision"},
		{"eval methods", []string{"eval", "--methods", "fp32,paper,paper"}, "--methods"},
		{"eval unknown method", []string{"eval", "--methods", "gptq"}, "--methods"},
		{"eval format", []string{"eval", "--format", "xml"}, "--format"},
		{"calibrate method", []string{"calibrate", "--method", "gptq", "--data", "sample", "--out", out}, "gptq"},
		{"calibrate granularity", []string{"calibrate", "--weight-granularity", "row", "--data", "sample", "--out", out}, "--weight-granularity"},
		{"calibrate calib 0", []string{"calibrate", "--calib", "0", "--data", "sample", "--out", out}, "--calib"},
		{"calibrate no out", []string{"calibrate", "--data", "sample"}, "--out"},
		{"sim merge-k", []string{"sim", "--merge-k", "99"}, "--merge-k"},
		{"sim format", []string{"sim", "--format", "yaml"}, "--format"},
		{"run format", []string{"run", "--format", "xml", "--fidelity", "0"}, "--format"},
		{"run fidelity", []string{"run", "--fidelity", "-3"}, "--fidelity"},
		{"run actions ext", []string{"run", "--actions", filepath.Join(b.dir, "a.txt"), "--fidelity", "0"}, "--actions"},
		{"run dataflow", []string{"run", "--dataflow", "rs", "--fidelity", "0"}, "--dataflow"},
		{"run tech", []string{"run", "--tech", "3nm", "--fidelity", "0"}, "--tech"},
		{"run fpga", []string{"run", "--fpga", "arty", "--fidelity", "0"}, "--fpga"},
		{"run packing without fpga", []string{"run", "--dsp-packing", "dual", "--fidelity", "0"}, "--dsp-packing"},
		{"cycles gemm", []string{"cycles", "--gemm", "1,2"}, "--gemm"},
		{"cycles gemm zero", []string{"cycles", "--gemm", "0,2,3"}, "--gemm"},
		{"cycles array", []string{"cycles", "--array", "0x4", "--gemm", "1,2,3"}, "--array"},
		{"cycles arch and array", []string{"cycles", "--arch", "systolic16", "--array", "8", "--gemm", "1,2,3"}, "--arch"},
		{"cycles format", []string{"cycles", "--format", "xml", "--gemm", "1,2,3"}, "--format"},
		{"sweep array", []string{"sweep", "--array", "8x", "--out", outDir}, "--array"},
		{"sweep scan-lanes", []string{"sweep", "--scan-lanes", "8,x", "--out", outDir}, "--scan-lanes"},
		{"sweep jobs", []string{"sweep", "--jobs", "-1", "--out", outDir}, "--jobs"},
		{"sweep too many", []string{"sweep", "--scan-lanes", "1:1000", "--buffer-kib", "1:1000", "--out", outDir}, "designs"},
		{"sweep empty arch", []string{"sweep", "--arch", "", "--out", outDir}, "--arch"},
		{"infer top", []string{"infer", "--image", b.image, "--top", "0"}, "--top"},
		{"infer both inputs", []string{"infer", "--image", b.image, "--input", b.nanInput}, "exactly one"},
		{"infer output with image", []string{"infer", "--image", b.image, "--output", out}, "--output"},
		{"version format", []string{"version", "--format", "xml"}, "--format"},
		{"arch list format", []string{"arch", "list", "--format", "xml"}, "--format"},
		{"arch list stray argument", []string{"arch", "list", "systolic16"}, "systolic16"},
		{"merge garbage partial", []string{"merge", b.garbage}, "garbage.safetensors"},
		{"merge one of two shards", []string{"merge", e0}, "shard 1/2 missing"},
		{"merge same shard twice", []string{"merge", e0, e0}, "e0.partial"},
		{"slurm no shards", []string{"slurm", "eval", "--out", out}, "--shards"},
		{"explore jobs", []string{"explore", "--jobs", "-1", "--out", outDir}, "--jobs"},
		{"explore out not empty", []string{"explore", "--out", b.full}, "--force"},
		{"slurm job-dir not empty", []string{"slurm", "eval", "--shards", "2", "--out", out, "--job-dir", b.full}, "--force"},
		{"slurm job-dir under a file", []string{"slurm", "eval", "--shards", "2", "--out", out, "--job-dir", filepath.Join(b.plainFile, "x")}, "--job-dir"},
		{"unknown command", []string{"simulate"}, "simulate"},
		{"unknown flag", []string{"run", "--arrch", "systolic16"}, "--arrch"},
		{"stray argument", []string{"run", "systolic16"}, "systolic16"},

		// Output paths.
		{"infer output dir", []string{"infer", "--model", toy, "--input", b.nanInput, "--output", b.dir}, "is a directory"},
		{"infer output slash", []string{"infer", "--model", toy, "--input", b.nanInput, "--output", b.dir + "/"}, "directory name"},
		{"infer output exists", []string{"infer", "--model", toy, "--input", b.nanInput, "--output", b.exists}, "--force"},
		{"infer output no parent", []string{"infer", "--model", toy, "--input", b.nanInput, "--output", b.missingParent}, "does not exist"},
		{"infer output under a file", []string{"infer", "--model", toy, "--input", b.nanInput, "--output", filepath.Join(b.plainFile, "x")}, "not a directory"},
		{"calibrate out exists", []string{"calibrate", "--data", "sample", "--out", b.exists}, "--force"},
		{"calibrate out dir", []string{"calibrate", "--data", "sample", "--out", b.full}, "is a directory"},
		{"eval out exists", []string{"eval", "--out", b.exists}, "--force"},
		{"eval predictions no parent", []string{"eval", "--predictions", b.missingParent}, "--predictions"},
		{"eval out same as predictions", []string{"eval", "--out", out, "--predictions", out}, "same file"},
		{"sim out exists", []string{"sim", "--out", b.exists}, "--force"},
		{"sim program dir", []string{"sim", "--program", b.full}, "--program"},
		{"run out exists", []string{"run", "--out", b.exists, "--fidelity", "0"}, "--force"},
		{"run actions exists", []string{"run", "--actions", filepath.Join(b.full, "x"), "--fidelity", "0"}, "--actions"},
		{"trace out exists", []string{"trace", "--out", b.exists}, "--force"},
		{"trace out dir", []string{"trace", "--out", b.full}, "is a directory"},
		{"sweep out not empty", []string{"sweep", "--out", b.full}, "--force"},
		{"sweep out is a file", []string{"sweep", "--out", b.exists}, "not a directory"},
		{"sweep out no parent", []string{"sweep", "--out", filepath.Join(b.dir, "no", "such")}, "does not exist"},
		{"sweep no out", []string{"sweep"}, "--out"},
		{"vectors out not empty", []string{"vectors", "--out", b.full}, "--force"},
		{"vectors out is a file", []string{"vectors", "--out", b.exists}, "not a directory"},
		{"vectors no out", []string{"vectors"}, "--out"},
		{"merge out dir", []string{"merge", e0, e1, "--out", b.full}, "is a directory"},
		{"run accelergy-arch exists", []string{"run", "--actions", filepath.Join(b.dir, "a.yaml"), "--accelergy-arch", b.existsYAML, "--fidelity", "0"}, "--force"},
		{"cycles config out not empty", []string{"cycles", "--config", filepath.Join(b.dir, "x.cfg"), "--out", b.full}, "--force"},
		{"cycles config out is a file", []string{"cycles", "--config", filepath.Join(b.dir, "x.cfg"), "--out", b.exists}, "not a directory"},
		{"merge predictions exists", []string{"merge", e0, e1, "--predictions", b.exists}, "--force"},
	}
	outputPaths := []string{b.dir, b.dir + "/", b.exists, b.existsYAML, b.full, b.missingParent, filepath.Join(b.plainFile, "x"),
		filepath.Join(b.full, "x"), filepath.Join(b.dir, "no", "such"), filepath.Join(b.dir, "a.txt"), out}
	var argLists [][]string
	for _, tc := range cases {
		argLists = append(argLists, tc.args)
	}
	checkBadInputCoverage(t, argLists, outputPaths)
	before, beforeHere := tree(t, b.dir), tree(t, ".")
	cmds := map[string]int{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := vimsim(t, tc.args...)
			cmds[tc.args[0]]++
			if code == 0 {
				t.Fatalf("%v: exit 0, stdout %q", tc.args, stdout)
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Fatalf("%v: panic: %s", tc.args, stderr)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			var errLines []string
			for _, l := range lines {
				if !strings.HasPrefix(l, "warning: ") {
					errLines = append(errLines, l)
				}
			}
			if len(errLines) != 1 || !strings.HasPrefix(errLines[0], "vimsim: ") || !strings.Contains(errLines[0], tc.want) {
				t.Errorf("%v: stderr %q, want one line \"vimsim: …\" naming %q", tc.args, stderr, tc.want)
			}
			if after := tree(t, b.dir); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Errorf("%v: the fixture directory changed:\nbefore %v\nafter  %v", tc.args, before, after)
			}
		})
	}
	if after := tree(t, "."); strings.Join(after, "\n") != strings.Join(beforeHere, "\n") {
		t.Errorf("the bad inputs changed the working directory:\nbefore %v\nafter  %v", beforeHere, after)
	}
	t.Logf("%d bad inputs over %d commands: %v", len(cases), len(cmds), cmds)
}

// outputFlags are the flags that name a file or directory a command
// writes.
var outputFlags = []string{"out", "output", "predictions", "program", "actions", "accelergy-arch", "job-dir"}

// checkBadInputCoverage fails for a command of the CLI without a bad
// input, and for an output flag of a command without a refused target
// (one of outputPaths) in its bad inputs. Signals are TestSignals', which
// checks its own coverage.
func checkBadInputCoverage(t *testing.T, cases [][]string, outputPaths []string) {
	t.Helper()
	for _, c := range leafCommands() {
		path := strings.Fields(strings.TrimPrefix(c.CommandPath(), "vimsim"))
		var mine [][]string
		for _, args := range cases {
			if len(args) >= len(path) && slices.Equal(args[:len(path)], path) {
				mine = append(mine, args)
			}
		}
		if len(mine) == 0 {
			t.Errorf("vimsim %s: no bad input", strings.Join(path, " "))
		}
		for _, name := range outputFlags {
			if c.Flags().Lookup(name) == nil {
				continue
			}
			covered := false
			for _, args := range mine {
				for i := 0; i+1 < len(args); i++ {
					covered = covered || args[i] == "--"+name && slices.Contains(outputPaths, args[i+1])
				}
			}
			if !covered {
				t.Errorf("vimsim %s --%s: no refused output path", strings.Join(path, " "), name)
			}
		}
	}
}

// leafCommands returns the commands of the CLI that run (those without
// subcommands), in the order of their help.
func leafCommands() []*cobra.Command {
	var out []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.HasSubCommands() {
			out = append(out, c)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRootCmd())
	return out
}
