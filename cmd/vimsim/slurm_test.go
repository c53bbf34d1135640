package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSlurmScripts checks the scripts vimsim slurm writes, and runs the
// shard script's command line as a shard would.
func TestSlurmScripts(t *testing.T) {
	dir := t.TempDir()
	jobDir := filepath.Join(dir, "jobs")
	out := filepath.Join(dir, "it's.json") // a quote to quote
	stdout := cliOut(t, "slurm", "eval", "--model", "vim-toy", "--data", "sample", "--limit", "6", "--out", out,
		"--shards", "3", "--job-dir", jobDir, "--vimsim", "/opt/vimsim/bin/vimsim", "--partition", "cpu",
		"--time=1:00:00", "--cpus-per-task", "4", "--mem", "8G", "--account", "hw", "--sbatch-arg", "--qos=long",
		"--sbatch-arg=--constraint=avx512", "--format", "json")
	if !strings.Contains(stdout, "submit both with: bash "+filepath.Join(jobDir, "submit.sh")) {
		t.Errorf("stdout %q", stdout)
	}
	cwd, _ := os.Getwd()
	shards := readFile(t, filepath.Join(jobDir, "shards.sbatch"))
	for _, want := range []string{
		"#!/bin/bash\n#SBATCH --job-name=vimsim-eval\n",
		"#SBATCH --output=" + jobDir + "/logs/shard-%a.out\n",
		"#SBATCH --chdir=" + cwd + "\n",
		"#SBATCH --array=0-2\n", "#SBATCH --partition=cpu\n", "#SBATCH --time=1:00:00\n", "#SBATCH --cpus-per-task=4\n",
		"#SBATCH --mem=8G\n", "#SBATCH --account=hw\n", "#SBATCH --qos=long\n", "#SBATCH --constraint=avx512\n",
		"i=${SLURM_ARRAY_TASK_ID:?",
		"export GOMAXPROCS=$SLURM_CPUS_PER_TASK",
		"exec /opt/vimsim/bin/vimsim eval --model vim-toy --data sample --limit 6 --format json --shard \"$i/3\" --out \"$dir/part-$i.json\"\n",
	} {
		if !strings.Contains(shards, want) {
			t.Errorf("shards.sbatch lacks %q:\n%s", want, shards)
		}
	}
	merge := readFile(t, filepath.Join(jobDir, "merge.sbatch"))
	for _, want := range []string{
		"#SBATCH --job-name=vimsim-eval-merge\n", "#SBATCH --kill-on-invalid-dep=yes\n", "#SBATCH --partition=cpu\n",
		"exec /opt/vimsim/bin/vimsim merge " + jobDir + "/part-0.json " + jobDir + "/part-1.json " + jobDir + "/part-2.json --out '" +
			strings.ReplaceAll(out, "'", `'\''`) + "'\n",
	} {
		if !strings.Contains(merge, want) {
			t.Errorf("merge.sbatch lacks %q:\n%s", want, merge)
		}
	}
	if strings.Contains(merge, "cpus-per-task") || strings.Contains(merge, "--array") {
		t.Errorf("the merge job asks for the shards' resources:\n%s", merge)
	}
	submit := readFile(t, filepath.Join(jobDir, "submit.sh"))
	if !strings.Contains(submit, "--dependency=afterok:$shards") || !strings.Contains(submit, "sbatch --parsable "+jobDir+"/shards.sbatch") {
		t.Errorf("submit.sh:\n%s", submit)
	}
	for _, s := range []string{shards, merge, submit} {
		c := exec.Command("bash", "-n")
		c.Stdin = strings.NewReader(s)
		if b, err := c.CombinedOutput(); err != nil {
			t.Errorf("bash -n: %v %s\n%s", err, b, s)
		}
	}
}

// TestSlurmSubmit submits through a fake sbatch that records its
// arguments and prints job ids as sbatch --parsable does.
func TestSlurmSubmit(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(dir, "calls")
	fake := `#!/bin/bash
echo "$*" >> ` + calls + `
n=$(wc -l < ` + calls + `)
if [ -n "${FAIL_MERGE:-}" ] && [ "$n" -ge 2 ]; then echo "sbatch: error: Batch job submission failed: Invalid account" >&2; exit 1; fi
echo "$((100 + n));cluster"
`
	if err := os.WriteFile(filepath.Join(bin, "sbatch"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "scancel"), []byte("#!/bin/bash\necho \"scancel $*\" >> "+calls+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	jobDir := filepath.Join(dir, "jobs")
	if err := os.MkdirAll(jobDir, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(jobDir, "part-1.json")
	if err := os.WriteFile(stale, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"slurm", "sweep", "--shards", "2", "--arch", "systolic16", "--out", filepath.Join(dir, "sweep"), "--job-dir", jobDir, "--submit", "--force"}
	out := cliOut(t, args...)
	if !strings.HasPrefix(out, "submitted job 101 (array 0-1: vimsim sweep in 2 shards) and job 102 (vimsim merge into") {
		t.Errorf("stdout %q", out)
	}
	want := "--parsable " + jobDir + "/shards.sbatch\n--parsable --dependency=afterok:101 " + jobDir + "/merge.sbatch\n"
	if got := readFile(t, calls); got != want {
		t.Errorf("sbatch calls\n%s\nwant\n%s", got, want)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("a stale partial survived the submission")
	}
	if merge := readFile(t, filepath.Join(jobDir, "merge.sbatch")); !strings.Contains(merge, " --force\n") {
		t.Errorf("slurm --force: the merge job does not replace --out:\n%s", merge)
	}

	// A failed merge submission cancels the shards.
	os.Remove(calls)
	t.Setenv("FAIL_MERGE", "1")
	_, errs, code := vimsim(t, args...)
	if code == 0 || !strings.Contains(errs, "Invalid account") || !strings.Contains(errs, "shards job 101 cancelled") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if got := readFile(t, calls); !strings.HasSuffix(got, "scancel 101\n") {
		t.Errorf("calls:\n%s", got)
	}
}

func TestSlurmRefuses(t *testing.T) {
	dir := t.TempDir()
	jd := "--job-dir=" + filepath.Join(dir, "j")
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"no command", []string{"slurm"}, "which command"},
		{"unknown command", []string{"slurm", "evaluate", "--shards", "2"}, `unknown command "evaluate"`},
		{"not sharded", []string{"slurm", "cycles", "--shards", "2"}, "vimsim cycles does not run in shards"},
		{"no shards", []string{"slurm", "eval", "--out", "x", jd}, "--shards N is required"},
		{"no out", []string{"slurm", "eval", "--shards", "2", jd}, "needs --out"},
		{"shard given", []string{"slurm", "eval", "--shards", "2", "--out", "x", "--shard", "0/2", jd}, "leave --shard out"},
		{"bad flag", []string{"slurm", "eval", "--shards", "2", "--out", "x", "--nope", jd}, "unknown flag: --nope"},
		{"argument", []string{"slurm", "sweep", "--shards", "2", "--out", "x", "extra", jd}, `unexpected argument "extra"`},
		{"space", []string{"slurm", "eval", "--shards", "2", "--out", "x", "--job-dir", filepath.Join(dir, "a b")}, "cannot hold spaces"},
		{"bad cpus", []string{"slurm", "eval", "--shards", "2", "--out", "x", "--cpus-per-task", "-1", jd}, "--cpus-per-task -1"},
	} {
		_, errs, code := vimsim(t, tc.args...)
		if code == 0 || !strings.Contains(errs, tc.err) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%s: exit %d, stderr %q; want one line with %q", tc.name, code, errs, tc.err)
		}
	}
	out, _, code := vimsim(t, "slurm", "--help")
	if code != 0 || !strings.Contains(out, "--sbatch-arg") {
		t.Errorf("slurm --help: exit %d\n%s", code, out)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain/path-1.json": "plain/path-1.json",
		"":                  "''",
		"a b":               "'a b'",
		"it's":              `'it'\''s'`,
		"$HOME":             "'$HOME'",
		"x;rm -rf /":        "'x;rm -rf /'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
		if out, err := exec.Command("bash", "-c", "printf %s "+shellQuote(in)).Output(); err != nil || string(out) != in {
			t.Errorf("bash read %s as %q (%v)", shellQuote(in), out, err)
		}
	}
}
