package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// The regression goldens in testdata/regress record what users see before
// a refactor (see its README): the integer simulator's report, the golden
// vectors' data and the cost model's cycles and energies.

var updateRegress = flag.Bool("update-regress", false, "rewrite the goldens in testdata/regress")

const regressDir = "testdata/regress"

// cliOut runs the CLI in-process and returns stdout, failing on a non-zero
// exit.
func cliOut(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := vimsim(t, args...)
	if code != 0 {
		t.Fatalf("vimsim %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

func TestRegressionSimJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates a model")
	}
	got := cliOut(t, "sim", "--data", "sample", "--limit", "64", "--calib", "32", "--format", "json")
	golden := filepath.Join(regressDir, "sim-sample64-calib32.json")
	if *updateRegress {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < min(len(gl), len(wl)); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("sim JSON differs from %s at line %d:\n got %s\nwant %s", golden, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("sim JSON differs from %s: %d lines, want %d", golden, len(gl), len(wl))
	}
}

// stripComments drops the // comments and the lines left empty, so that
// the parameters, not their explanations, are compared.
func stripComments(b []byte) []byte {
	var out []byte
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "//")
		if line = strings.TrimRight(line, " \t"); line != "" {
			out = append(out, line...)
			out = append(out, '\n')
		}
	}
	return out
}

// hashTree returns the SHA-256 of every vector data file (*.hex, params.vh
// without its comments) below dir, by slash path relative to dir.
func hashTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(p, ".hex") && d.Name() != "params.vh" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if d.Name() == "params.vh" {
			b = stripComments(b)
		}
		rel, _ := filepath.Rel(dir, p)
		h := sha256.Sum256(b)
		sums[filepath.ToSlash(rel)] = hex.EncodeToString(h[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

func TestRegressionVectors(t *testing.T) {
	if testing.Short() {
		t.Skip("records a simulator run")
	}
	out := filepath.Join(t.TempDir(), "vec")
	cliOut(t, "vectors", "--arch", "systolic16", "--layers", "0,1", "--out", out)
	got := hashTree(t, out)
	golden := filepath.Join(regressDir, "vectors-layers01.sha256")
	if *updateRegress {
		names := make([]string, 0, len(got))
		for n := range got {
			names = append(names, n)
		}
		sort.Strings(names)
		var b strings.Builder
		for _, n := range names {
			fmt.Fprintf(&b, "%s  %s\n", got[n], n)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("%s: bad line %q", golden, sc.Text())
		}
		n++
		switch g, ok := got[name]; {
		case !ok:
			t.Errorf("vector file %s is missing", name)
		case g != sum:
			t.Errorf("vector file %s changed", name)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("%s lists no files", golden)
	}
}

// costGolden is the part of vimsim run's JSON that the goldens keep.
type costGolden struct {
	Model  string           `json:"model"`
	Ops    []map[string]any `json:"ops"`
	Layers []map[string]any `json:"layers"`
	Totals map[string]any   `json:"totals"`
}

var (
	opKeys    = []string{"layer", "name", "compute_cycles", "stall_cycles", "mem_cycles", "cycles", "energy"}
	layerKeys = []string{"layer", "name", "cycles", "serial_cycles", "pipelined_cycles", "stall_cycles", "array_cycles", "energy"}
	totalKeys = []string{"cycles", "serial_cycles", "pipelined_cycles", "stall_cycles", "latency_ms", "uj_per_image", "energy", "macs"}
)

func pick(m map[string]any, keys []string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// zeroCost reports whether an op costs no cycles and no energy.
func zeroCost(op map[string]any) bool {
	for _, k := range []string{"compute_cycles", "stall_cycles", "mem_cycles", "cycles"} {
		if v, _ := op[k].(float64); v != 0 {
			return false
		}
	}
	if e, ok := op["energy"].(map[string]any); ok {
		for _, v := range e {
			if f, _ := v.(float64); f != 0 {
				return false
			}
		}
	}
	return true
}

func TestRegressionRunCost(t *testing.T) {
	for _, c := range []struct{ model, golden string }{
		{"vim-fmnist", "run-fmnist-systolic16.json"},
		{"vim-ti", "run-vimti-systolic16.json"},
	} {
		t.Run(c.model, func(t *testing.T) {
			out := cliOut(t, "run", "--model", c.model, "--arch", "systolic16", "--fidelity", "0", "--format", "json")
			var full costGolden
			if err := json.Unmarshal([]byte(out), &full); err != nil {
				t.Fatal(err)
			}
			got := costGolden{Model: full.Model, Totals: pick(full.Totals, totalKeys)}
			for _, o := range full.Ops {
				got.Ops = append(got.Ops, pick(o, opKeys))
			}
			for _, l := range full.Layers {
				got.Layers = append(got.Layers, pick(l, layerKeys))
			}
			golden := filepath.Join(regressDir, c.golden)
			if *updateRegress {
				b, err := json.MarshalIndent(got, "", " ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			var want costGolden
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if got.Model != want.Model || !reflect.DeepEqual(got.Totals, want.Totals) {
				t.Errorf("totals changed:\n got %v\nwant %v", got.Totals, want.Totals)
			}
			if !reflect.DeepEqual(got.Layers, want.Layers) {
				t.Errorf("per-layer cycles or energies changed")
			}
			// Ops may be reordered within a layer, and operations the
			// golden lacks may appear if they cost nothing.
			key := func(o map[string]any) string { return fmt.Sprint(o["layer"], "/", o["name"]) }
			byKey := map[string]map[string]any{}
			for _, o := range got.Ops {
				byKey[key(o)] = o
			}
			for _, w := range want.Ops {
				g, ok := byKey[key(w)]
				if !ok {
					t.Errorf("op %s is missing", key(w))
					continue
				}
				if !reflect.DeepEqual(g, w) {
					t.Errorf("op %s changed:\n got %v\nwant %v", key(w), g, w)
				}
				delete(byKey, key(w))
			}
			for k, o := range byKey {
				if !zeroCost(o) {
					t.Errorf("new op %s has a cost: %v", k, o)
				}
			}
		})
	}
}
