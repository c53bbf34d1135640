package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/vim"
	"github.com/vimsim/vimsim/vim/ckpt"
)

// exploreCLI runs `vimsim explore` with args and returns its stdout.
func exploreCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return perfCLI(t, append([]string{"explore"}, args...)...)
}

// exploreArgs is a small exploration of the vim-toy model: 2 recipes × 2
// designs on 12 sample images, calibrated on 4.
func exploreArgs(cache string) []string {
	return []string{"--model", "vim-toy", "--recipes", "W8A8H8,W4A8H8", "--arch", "systolic8,systolic16", "--fpga", "zcu102",
		"--limit", "12", "--chunk", "5", "--calib", "4", "--cache", cache}
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func sameFiles(t *testing.T, what string, a, b map[string][]byte) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("%s: %d files vs %d", what, len(a), len(b))
	}
	for name, x := range a {
		if !bytes.Equal(x, b[name]) {
			t.Errorf("%s: %s differs", what, name)
		}
	}
}

func TestExploreWritesFilesAndResumes(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	out := filepath.Join(dir, "out")
	stdout, err := exploreCLI(t, append(exploreArgs(cache), "--out", out)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "2 recipes × 2 designs") || !strings.Contains(stdout, "Pareto front") {
		t.Errorf("summary:\n%s", stdout)
	}
	files := readDir(t, out)
	for _, name := range append(exploreFiles[:], "recipes/W8A8H8.yaml", "recipes/W4A8H8.yaml") {
		if len(files[name]) == 0 {
			t.Errorf("%s missing or empty", name)
		}
	}
	if !bytes.HasPrefix(files["pareto.png"], []byte("\x89PNG")) {
		t.Error("pareto.png is not a PNG")
	}
	rows, err := csv.NewReader(bytes.NewReader(files["explore.csv"])).ReadAll()
	if err != nil || len(rows) != 5 {
		t.Fatalf("explore.csv: %v, %d rows", err, len(rows))
	}
	var js struct {
		Points []struct {
			Recipe string  `json:"recipe"`
			Top1   float64 `json:"top1"`
			Pareto bool    `json:"pareto"`
			FPGA   *struct {
				DSP int `json:"dsp"`
			} `json:"fpga"`
		} `json:"points"`
	}
	if err := json.Unmarshal(files["explore.json"], &js); err != nil || len(js.Points) != 4 || js.Points[0].FPGA == nil {
		t.Fatalf("explore.json: %v, %+v", err, js)
	}
	// An existing output is refused without --force, before any work.
	if _, err := exploreCLI(t, append(exploreArgs(cache), "--out", out)...); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("non-empty --out: %v", err)
	}
	// From the cache, with --force: the same bytes.
	if _, err := exploreCLI(t, append(exploreArgs(cache), "--out", out, "--force")...); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "cached run", files, readDir(t, out))

	// Shards on a fresh shared cache (as on a cluster's file system),
	// merged: the same bytes.
	var parts []string
	for i, s := range []string{"0/3", "1/3", "2/3"} {
		p := filepath.Join(dir, "part"+s[:1]+".json")
		if _, err := exploreCLI(t, append(exploreArgs(filepath.Join(dir, "shared")), "--shard", s, "--out", p)...); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		parts = append(parts, p)
	}
	merged := filepath.Join(dir, "merged")
	if _, err := exploreCLI(t, "--merge", strings.Join(parts, ","), "--out", merged); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "merged shards", files, readDir(t, merged))
	// vimsim merge takes explore's partials too (as the merge job of
	// vimsim slurm explore runs it), refusing a missing or repeated shard.
	merged2 := filepath.Join(dir, "merged2")
	cliOut(t, append(append([]string{"merge"}, parts...), "--out", merged2)...)
	sameFiles(t, "vimsim merge of the shards", files, readDir(t, merged2))
	for _, bad := range []struct {
		args []string
		err  string
	}{
		{[]string{"merge", parts[0], parts[2], "--out", filepath.Join(dir, "m3")}, "shard 1/3 missing"},
		{[]string{"merge", parts[0], parts[1], parts[1], parts[2], "--out", filepath.Join(dir, "m3")}, "both shard 1/3"},
		{[]string{"merge", parts[0], parts[1], parts[2]}, "--out is required"},
		{[]string{"merge", parts[0], parts[1], parts[2], "--out", merged2}, "--force"},
		{[]string{"merge", parts[0], parts[1], parts[2], "--out", filepath.Join(dir, "m3"), "--predictions", filepath.Join(dir, "p")}, "--predictions"},
	} {
		if _, errs, code := vimsim(t, bad.args...); code == 0 || !strings.Contains(errs, bad.err) {
			t.Errorf("%v: exit %d, stderr %q; want %q", bad.args, code, errs, bad.err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "m3")); err == nil {
		t.Error("a refused merge wrote its output")
	}

	// vimsim slurm explore: its array runs these shards, its merge job
	// vimsim merge on them.
	jobDir := filepath.Join(dir, "jobs")
	slurmOut := filepath.Join(dir, "slurm-out")
	cliOut(t, append(append([]string{"slurm", "explore"}, exploreArgs(filepath.Join(dir, "shared"))...),
		"--out", slurmOut, "--shards", "3", "--job-dir", jobDir, "--vimsim", "/opt/vimsim")...)
	script := readFile(t, filepath.Join(jobDir, "shards.sbatch"))
	if want := "exec /opt/vimsim explore " + strings.Join(exploreArgs(filepath.Join(dir, "shared")), " ") +
		" --shard \"$i/3\" --out \"$dir/part-$i.json\"\n"; !strings.Contains(script, want) {
		t.Errorf("shards.sbatch lacks %q:\n%s", want, script)
	}
	mergeScript := readFile(t, filepath.Join(jobDir, "merge.sbatch"))
	if want := "exec /opt/vimsim merge " + jobDir + "/part-0.json " + jobDir + "/part-1.json " + jobDir + "/part-2.json --out " +
		slurmOut + "\n"; !strings.Contains(mergeScript, want) {
		t.Errorf("merge.sbatch lacks %q:\n%s", want, mergeScript)
	}
	for i, p := range parts { // the partials the array writes
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(jobDir, fmt.Sprintf("part-%d.json", i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cliOut(t, "merge", filepath.Join(jobDir, "part-0.json"), filepath.Join(jobDir, "part-1.json"), filepath.Join(jobDir, "part-2.json"), "--out", slurmOut)
	sameFiles(t, "slurm explore's merge", files, readDir(t, slurmOut))
	for _, bad := range []struct {
		flag []string
		err  string
	}{
		{[]string{"--budget", "energy=70%"}, "--budget"},
		{[]string{"--merge", parts[0]}, "leave --merge out"},
	} {
		args := append(append(append([]string{"slurm", "explore"}, exploreArgs(cache)...), bad.flag...),
			"--out", filepath.Join(dir, "x"), "--shards", "2", "--job-dir", filepath.Join(dir, "jobs2"))
		if _, errs, code := vimsim(t, args...); code == 0 || !strings.Contains(errs, bad.err) {
			t.Errorf("slurm explore %v: exit %d, stderr %q", bad.flag, code, errs)
		}
	}
	if _, err := exploreCLI(t, "--merge", strings.Join(parts[:2], ","), "--out", filepath.Join(dir, "m2")); err == nil || !strings.Contains(err.Error(), "shard 2/3 missing") {
		t.Errorf("merge without shard 2: %v", err)
	}
}

func TestExploreExternalCheckpoint(t *testing.T) {
	m, err := vim.Load("vim-toy", vim.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "toy.safetensors")
	if err := ckpt.WriteSafetensors(path, m.ToFile()); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	args := []string{"--recipes", "W8A8H8,W6A8H8", "--arch", "systolic16", "--limit", "6", "--calib", "4", "--cache", cache}
	if _, err := exploreCLI(t, append(args, "--model", path, "--out", filepath.Join(dir, "ext"))...); err != nil {
		t.Fatal(err)
	}
	// The same weights embedded: the same numbers, and the cache serves
	// them (keys are the weights, not the file).
	if _, err := exploreCLI(t, append(args, "--model", "vim-toy", "--out", filepath.Join(dir, "emb"))...); err != nil {
		t.Fatal(err)
	}
	a := readDir(t, filepath.Join(dir, "ext"))
	b := readDir(t, filepath.Join(dir, "emb"))
	if !bytes.Equal(a["explore.csv"], b["explore.csv"]) {
		t.Errorf("checkpoint file and embedded model differ:\n%s\n%s", a["explore.csv"], b["explore.csv"])
	}
}

func TestExploreBadInputs(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(dir, "full")
	if err := os.MkdirAll(filepath.Join(full, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	base := []string{"--model", "vim-toy", "--limit", "4", "--calib", "2", "--cache", cache}
	for _, tc := range []struct {
		want string
		args []string
	}{
		{"--out is required", nil},
		{"--limit", []string{"--limit", "-1", "--out", out}},
		{"--chunk", []string{"--chunk", "0", "--out", out}},
		{"--calib", []string{"--calib", "0", "--out", out}},
		{"--method", []string{"--method", "best", "--out", out}},
		{"--jobs", []string{"--jobs", "-2", "--out", out}},
		{"--recipes", []string{"--recipes", "W3A8H8", "--out", out}},
		{"--recipes", []string{"--recipes", "W8A8H8,,W4A8H8", "--out", out}},
		{"--recipes", []string{"--recipes", "W8A8H8,W8A8", "--out", out}},
		{"--recipes", []string{"--recipes", filepath.Join(dir, "none.yaml"), "--out", out}},
		{"layer 0 norm", []string{"--recipes", writeRecipe(t, dir, "w: 8\na: 6\nh: 8\nops: {head: {w: 4}}\n"), "--out", out}},
		{"layer 0 scan: 4-bit hidden state", []string{"--recipes", "W8A8H4", "--out", out}},
		{"--shard", []string{"--shard", "3/3", "--out", file + ".json"}},
		{"--shard", []string{"--shard", "a/b", "--out", file + ".json"}},
		{"--split", []string{"--split", "dev", "--out", out}},
		{"--data", []string{"--data", "nowhere", "--out", out}},
		{"--arch", []string{"--arch", "systolic7", "--out", out}},
		{"--fpga", []string{"--fpga", "zcu999", "--out", out}},
		{"--cache", []string{"--cache", file, "--out", out}},
		{"not empty (use --force", []string{"--out", full}},
		{"not a directory", []string{"--out", file}},
		{"--force", []string{"--shard", "0/2", "--out", file}},
		{"--merge", []string{"--merge", filepath.Join(dir, "none.json"), "--out", out}},
		{"--merge", []string{"--merge", file, "--out", out}},
		{"--merge assembles", []string{"--merge", file, "--shard", "0/2", "--out", out}},
		{"--budget", []string{"--budget", "power=3W", "--out", out}},
		{"--budget", []string{"--budget", "energy=40kg", "--out", out}},
		{"one architecture", []string{"--budget", "energy=40uJ", "--arch", "systolic8,systolic16", "--out", out}},
		{"--recipes with --budget", []string{"--budget", "energy=40uJ", "--recipes", "W8A8H8", "--out", out}},
		{"--base", []string{"--budget", "energy=40uJ", "--base", "W9A8", "--out", out}},
		{"--allocate", []string{"--budget", "energy=40uJ", "--base", "W8A8H8", "--allocate", "best", "--out", out}},
		{"--sensitivity", []string{"--budget", "energy=40uJ", "--sensitivity", "hessian", "--out", out}},
		{"--out with --budget and --shard", []string{"--budget", "energy=40uJ", "--shard", "0/2", "--out", out}},
	} {
		_, err := exploreCLI(t, append(append([]string{}, base...), tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed run left %s", out)
	}
}

func writeRecipe(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// cacheEntries counts the entries of each kind in a cache directory.
func cacheEntries(t *testing.T, dir string) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, kind := range []string{"program", "accuracy", "reference", "cost"} {
		es, err := os.ReadDir(filepath.Join(dir, kind))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		n[kind] = len(es)
	}
	return n
}

// TestExploreAccuracyKey checks that --accuracy-key replaces the build in
// the keys of programs and accuracies (another key computes them again,
// the same key reuses them) and not in those of the costs.
func TestExploreAccuracyKey(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	args := []string{"--model", "vim-toy", "--recipes", "W8A8H8", "--arch", "systolic8", "--limit", "3", "--calib", "2", "--cache", cache}
	run := func(key, out string) map[string]int {
		t.Helper()
		if _, err := exploreCLI(t, append(args, "--accuracy-key", key, "--out", filepath.Join(dir, out))...); err != nil {
			t.Fatal(err)
		}
		return cacheEntries(t, cache)
	}
	a := run("A", "a")
	if a["program"] != 1 || a["accuracy"] != 1 || a["cost"] != 1 {
		t.Fatalf("first run: entries %v", a)
	}
	b := run("B", "b")
	if b["program"] != 2 || b["accuracy"] != 2 || b["cost"] != 1 {
		t.Errorf("another key: entries %v, want a second program and accuracy, the same cost", b)
	}
	if c := run("A", "c"); c["program"] != 2 || c["accuracy"] != 2 || c["cost"] != 1 {
		t.Errorf("the first key again: entries %v, want none added", c)
	}
}
