package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// shardArgs returns args with --shard i/n and --out path appended.
func shardArgs(args []string, i, n int, path string) []string {
	return append(append([]string(nil), args...), "--shard", fmt.Sprintf("%d/%d", i, n), "--out", path)
}

// runShards runs the n shards of the command line args, each writing its
// partial into dir, and returns the partials' paths.
func runShards(t *testing.T, dir string, n int, args []string) []string {
	t.Helper()
	var paths []string
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("part-%d-of-%d", i, n))
		if _, errs, code := vimsim(t, shardArgs(args, i, n, p)...); code != 0 {
			t.Fatalf("shard %d/%d of %v: exit %d: %s", i, n, args, code, errs)
		}
		paths = append(paths, p)
	}
	return paths
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withProcs runs fn under GOMAXPROCS 1 and 2.
func withProcs(t *testing.T, fn func(t *testing.T, procs int)) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		t.Run(fmt.Sprintf("procs=%d", procs), func(t *testing.T) { fn(t, procs) })
	}
}

// TestMergeByteIdentical checks that eval and sim run in 2, 3 and 7 shards
// (under GOMAXPROCS 1 and 2) merge into exactly the output of the
// unsharded run, in both formats.
func TestMergeByteIdentical(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates a model and runs 40 shards")
	}
	dir := t.TempDir()
	qm := filepath.Join(dir, "toy.qmodel")
	cliOut(t, "calibrate", "--model", "vim-toy", "--data", "sample", "--calib", "8", "--out", qm)
	for _, tc := range []struct {
		name string
		args []string
	}{
		// --limit 23: shards of unequal sizes; --batch 4: batches that
		// straddle the shard boundaries.
		{"eval", []string{"eval", "--model", "vim-toy", "--data", "sample", "--limit", "23", "--batch", "4",
			"--methods", "paper,int8", "--qmodel", qm, "--calib", "4", "--format", "json"}},
		{"eval-table", []string{"eval", "--model", "vim-toy", "--data", "sample", "--limit", "9", "--methods", "int8",
			"--qmodel", qm, "--calib", "4"}},
		{"sim", []string{"sim", "--model", "vim-toy", "--data", "sample", "--limit", "17", "--batch", "4",
			"--qmodel", qm, "--calib", "4", "--format", "json"}},
		{"sim-table", []string{"sim", "--model", "vim-toy", "--data", "sample", "--limit", "9", "--qmodel", qm,
			"--calib", "4", "--ops"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var whole string
			withProcs(t, func(t *testing.T, procs int) {
				dir := t.TempDir()
				out := filepath.Join(dir, "whole")
				cliOut(t, append(tc.args, "--out", out)...)
				w := readFile(t, out)
				if whole == "" {
					whole = w
				} else if w != whole {
					t.Fatalf("the unsharded output differs under GOMAXPROCS %d", procs)
				}
				if stdout := cliOut(t, tc.args...); stdout != whole {
					t.Fatalf("--out and stdout differ")
				}
				for _, n := range []int{2, 3, 7} {
					parts := runShards(t, dir, n, tc.args)
					merged := filepath.Join(dir, fmt.Sprintf("merged-%d", n))
					cliOut(t, append(append([]string{"merge"}, parts...), "--out", merged)...)
					if got := readFile(t, merged); got != whole {
						t.Fatalf("%d shards merge into\n%s\nwant\n%s", n, got, whole)
					}
				}
			})
			if tc.name == "eval" && strings.Contains(whole, "images_per_s") {
				t.Errorf("the eval report has timings by default:\n%s", whole)
			}
		})
	}
}

// TestMergeSweepByteIdentical checks that a sweep in 2, 3 and 7 shards
// merges into exactly the files and summary of the unsharded sweep.
func TestMergeSweepByteIdentical(t *testing.T) {
	args := []string{"sweep", "--arch", "systolic16,systolic32", "--array", "8:32:*2", "--dataflow", "all", "--scan-lanes", "8,16"}
	var whole map[string]string
	withProcs(t, func(t *testing.T, procs int) {
		dir := t.TempDir()
		read := func(out, stdout string) map[string]string {
			files := map[string]string{"stdout": strings.ReplaceAll(stdout, out, "DIR")}
			for _, name := range sweepFiles {
				files[name] = readFile(t, filepath.Join(out, name))
			}
			return files
		}
		out := filepath.Join(dir, "whole")
		w := read(out, cliOut(t, append(args, "--out", out)...))
		if whole == nil {
			whole = w
		}
		for _, n := range []int{2, 3, 7} {
			parts := runShards(t, dir, n, args)
			merged := filepath.Join(dir, fmt.Sprintf("merged-%d", n))
			got := read(merged, cliOut(t, append(append([]string{"merge"}, parts...), "--out", merged)...))
			for name, want := range whole {
				if got[name] != want {
					t.Fatalf("%d shards: %s differs from the unsharded sweep's", n, name)
				}
			}
		}
	})
	if !strings.Contains(whole["sweep.csv"], "true") || !strings.Contains(whole["sweep.csv"], "false") {
		t.Errorf("the sweep's front is degenerate:\n%s", whole["sweep.csv"])
	}
}

// TestMergeRefuses checks the one-line errors of bad shard sets and flags,
// and that a refused merge writes nothing.
func TestMergeRefuses(t *testing.T) {
	dir := t.TempDir()
	sweep := []string{"sweep", "--arch", "systolic16", "--array", "8:32:*2"}
	p3 := runShards(t, dir, 3, sweep)
	other := runShards(t, t.TempDir(), 3, append(sweep, "--dataflow", "ws"))
	four := runShards(t, t.TempDir(), 4, sweep)
	eval := filepath.Join(dir, "eval-part")
	cliOut(t, "eval", "--model", "vim-toy", "--data", "sample", "--limit", "3", "--shard", "1/3", "--out", eval)
	notPartial := filepath.Join(dir, "notes.json")
	if err := os.WriteFile(notPartial, []byte(`{"model": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"missing", []string{"merge", p3[0], p3[2], "--out", out}, "shard 1/3 missing: 2 of 3 partial files given"},
		{"duplicate", []string{"merge", p3[0], p3[1], p3[2], p3[1], "--out", out}, p3[1] + ": shard 1/3 given twice"},
		{"mismatched", []string{"merge", p3[0], other[1], p3[2], "--out", out}, other[1] + ": not the same run as " + p3[0] + `: --dataflow is "ws" here, "" there`},
		{"counts", []string{"merge", p3[0], four[1], "--out", out}, "shard 1/4 of a 4-shard run"},
		{"commands", []string{"merge", p3[0], eval, "--out", out}, "a partial of vimsim eval, but"},
		{"not a partial", []string{"merge", notPartial}, "notes.json: not a vimsim partial result file"},
		{"absent", []string{"merge", filepath.Join(dir, "absent")}, "no such file"},
		{"no args", []string{"merge"}, "requires at least 1 arg"},
		{"sweep to stdout", []string{"merge", p3[0], p3[1], p3[2]}, "--out is required for a sweep"},
		{"predictions", []string{"merge", p3[0], p3[1], p3[2], "--out", out, "--predictions", out}, "--predictions: only for partials of vimsim eval"},
		{"shard without out", []string{"eval", "--model", "vim-toy", "--data", "sample", "--shard", "0/2"}, "--shard 0/2 needs --out"},
		{"bad shard", []string{"sim", "--shard", "2/2", "--out", out}, `--shard "2/2": the shard index must be 0 to 1`},
		{"timing", []string{"eval", "--model", "vim-toy", "--data", "sample", "--shard", "0/2", "--out", out, "--timing"}, "--timing: not with --shard"},
		{"eval predictions", []string{"eval", "--model", "vim-toy", "--data", "sample", "--shard", "0/2", "--out", out, "--predictions", out}, "give it to vimsim merge"},
	} {
		_, errs, code := vimsim(t, tc.args...)
		if code == 0 || !strings.Contains(errs, tc.err) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%s: exit %d, stderr %q; want one line with %q", tc.name, code, errs, tc.err)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%s: a refused run wrote %s", tc.name, out)
		}
	}
}

// TestMergeEvalPredictions checks that merge writes the predictions of the
// unsharded run.
func TestMergeEvalPredictions(t *testing.T) {
	dir := t.TempDir()
	args := []string{"eval", "--model", "vim-toy", "--data", "sample", "--limit", "11", "--batch", "3"}
	want := filepath.Join(dir, "pred-whole")
	report := cliOut(t, append(args, "--predictions", want)...)
	parts := runShards(t, dir, 3, args)
	got := filepath.Join(dir, "pred-merged")
	if merged := cliOut(t, append(append([]string{"merge"}, parts...), "--predictions", got)...); merged != report {
		t.Errorf("merged report\n%s\nwant\n%s", merged, report)
	}
	if g, w := readFile(t, got), readFile(t, want); g != w || strings.Count(w, "\n") != 11 {
		t.Errorf("merged predictions %q, want %q", g, w)
	}
}
