package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vimsim/vimsim/vim/ckpt"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// buildVimsim builds the vimsim binary once per test run and returns its
// path (tests that run it as a user would: signals, README commands).
func buildVimsim(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "vimsim-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "vimsim")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// signalCase is one long command of TestSignals.
type signalCase struct {
	name string
	sigs []syscall.Signal // sent one after the other
	code int
	args []string
	// keep is a name in the working directory the command may leave: a
	// cache kept on purpose so that the interrupted run resumes
	// (explore's --cache), never its outputs.
	keep string
}

// signalCases interrupt every command that works longer than a second,
// at least 2 CPU-seconds into its work on a quiet machine; the outputs
// they would write are in the test's directory. Each command appears
// once or twice, with each of the two signals used overall.
var signalCases = []signalCase{
	// Calibration of Vim-Ti: a layer takes seconds, longer than the grace,
	// so the process leaves without the command returning.
	{"calibrate vim-ti SIGINT", []syscall.Signal{syscall.SIGINT}, 130, []string{"calibrate", "--model", "vim-ti", "--data", "sample", "--calib", "4", "--out", "q.qmodel"}, ""},
	// The default model: the calibration loop checks the context per image.
	{"calibrate SIGTERM", []syscall.Signal{syscall.SIGTERM}, 143, []string{"calibrate", "--data", "sample", "--calib", "256", "--out", "q.qmodel"}, ""},
	{"eval SIGINT", []syscall.Signal{syscall.SIGINT}, 130, []string{"eval", "--methods", "fp32,paper,int8", "--calib", "64", "--out", "eval.txt", "--predictions", "pred.txt"}, ""},
	{"sim SIGTERM", []syscall.Signal{syscall.SIGTERM}, 143, []string{"sim", "--calib", "64", "--out", "sim.txt", "--program", "p.st"}, ""},
	{"vectors SIGINT", []syscall.Signal{syscall.SIGINT}, 130, []string{"vectors", "--model", "vim-ti", "--calib", "2", "--out", "vec"}, ""},
	{"run fidelity SIGTERM", []syscall.Signal{syscall.SIGTERM}, 143, []string{"run", "--out", "run.txt", "--actions", "counts.yaml"}, ""},
	{"sweep 11520 designs SIGINT", []syscall.Signal{syscall.SIGINT}, 130, []string{"sweep", "--model", "vim-b",
		"--arch", "systolic8,systolic16,systolic32,systolic64", "--array", "4:64:*2", "--dataflow", "os,ws,is",
		"--scan-lanes", "8:64:*2", "--dram-bw", "6.4,12.8,25.6,51.2", "--buffer-kib", "32,64,128,256", "--act-kib", "128,256,512", "--out", "sweep"}, ""},
	// Vim-Ti on four 224×224 images (the input written by the test): the
	// forward pass does not check the context, the grace ends the process.
	{"infer SIGTERM", []syscall.Signal{syscall.SIGTERM}, 143, []string{"infer", "--model", "vim-ti", "--input", "@in224", "--output", "logits.safetensors"}, ""},
	// Explore of two recipes over 2,000 images: the cancelled run leaves its
	// cache (resumable by design) and no output.
	{"explore SIGTERM", []syscall.Signal{syscall.SIGTERM}, 143, []string{"explore", "--recipes", "W8A8H8,W4A8H8",
		"--arch", "systolic8,systolic16", "--limit", "2000", "--calib", "64", "--cache", "cache", "--out", "ex"}, "cache"},
	// A second signal ends the process at once; the code is the first's.
	{"eval SIGINT then SIGTERM", []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}, 130, []string{"eval", "--methods", "fp32,paper,int8", "--calib", "64", "--out", "eval.txt"}, ""},
}

// signalExempt are the commands TestSignals does not interrupt, with the
// reason: they return within a fraction of a second, before a signal could
// arrive in the middle of their work.
var signalExempt = map[string]string{
	"version":     "prints build information",
	"model info":  "reads a configuration (Vim-B: 0.2 s)",
	"qmodel info": "reads one file",
	"arch list":   "prints the presets",
	"arch show":   "reads one spec",
	"cycles":      "one GEMM's closed-form cycles",
	"trace":       "a schedule of the op list, no data (0.2 s)",
	"merge":       "reads partial results and writes the merged output",
	"slurm":       "writes two scripts (its jobs run the commands above)",
}

// signalReady is the CPU time a command has used when TestSignals sends
// its signal: long past the process's start (signal handlers are
// installed in the first milliseconds) and into the command's work,
// whatever the machine's load.
const signalReady = 1 * time.Second

// signalLatency is the longest a process may take to exit after the signal
// was sent: the grace of runMain, 0.4 s, and room for a loaded machine (a
// case over it is measured once more).
const signalLatency = time.Second

// TestSignals interrupts a built binary in the middle of its work and
// checks that it exits with 130 (SIGINT) or 143 (SIGTERM) within a second
// of the signal, with "interrupted by …; nothing written" as its last line
// on stderr, nothing in its directory and nothing in its TMPDIR. The
// signal is sent once the process has used signalReady of CPU (read from
// /proc), so a loaded machine slows the test down rather than making it
// signal the process before its work began.
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and calibrates")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads the child's CPU time from /proc")
	}
	checkSignalCoverage(t)
	bin := buildVimsim(t)
	in224 := filepath.Join(t.TempDir(), "in224.safetensors")
	if err := ckpt.WriteSafetensors(in224, &ckpt.File{Tensors: []ckpt.Tensor{{Name: "input", DType: "F32", Shape: []int{4, 3, 224, 224}, Data: make([]float64, 4*3*224*224)}}}); err != nil {
		t.Fatal(err)
	}
	var worst time.Duration
	for _, c := range signalCases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string(nil), c.args...)
			for i, a := range args {
				if a == "@in224" {
					args[i] = in224
				}
			}
			// A latency over the bound is measured once more: the
			// machine's load can delay one exit, not two in a row.
			for attempt := 1; ; attempt++ {
				latency := interrupt(t, bin, args, c.sigs, c.code, c.keep)
				worst = max(worst, latency)
				if latency <= signalLatency {
					break
				}
				if attempt == 2 {
					t.Errorf("exit %v after the signal, want within %v (twice)", latency.Round(time.Millisecond), signalLatency)
					break
				}
				t.Logf("exit %v after the signal, over %v: once more", latency.Round(time.Millisecond), signalLatency)
			}
		})
	}
	t.Logf("%d interrupted commands, the slowest to exit %v after its signal", len(signalCases), worst.Round(time.Millisecond))
}

// interrupt runs the binary with args in a new directory and TMPDIR,
// sends sigs once it has used signalReady of CPU, and checks the exit code
// (code), the last line of stderr, an empty stdout and that nothing is
// left in either directory. It returns the time from the signal to the
// exit.
func interrupt(t *testing.T, bin string, args []string, sigs []syscall.Signal, code int, keep string) time.Duration {
	t.Helper()
	dir, tmp := t.TempDir(), t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := waitCPU(cmd.Process.Pid, signalReady, 2*time.Minute, exited); err != nil {
		cmd.Process.Kill()
		t.Fatalf("%v; stderr %q", err, stderr.String())
	}
	sent := time.Now()
	for _, sig := range sigs {
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	select {
	case err = <-exited:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("still running a minute after the signal; stderr %q", stderr.String())
	}
	latency := time.Since(sent)
	if ee, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	} else if ok && ee.ExitCode() == -1 {
		t.Fatalf("killed by the signal instead of handling it: %v", err)
	}
	got := cmd.ProcessState.ExitCode()
	t.Logf("exit %d %v after the signal", got, latency.Round(time.Millisecond))
	if got != code {
		t.Errorf("exit %d, want %d; stderr %q", got, code, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
	if last := lines[len(lines)-1]; last != "vimsim: interrupted by "+signalName(sigs[0])+"; nothing written" {
		t.Errorf("stderr %q, want a last line \"vimsim: interrupted by %s; nothing written\"", stderr.String(), signalName(sigs[0]))
	}
	if stdout.Len() > 0 {
		t.Errorf("stdout %q, want nothing", stdout.String())
	}
	for _, d := range []string{dir, tmp} {
		if entries, _ := os.ReadDir(d); len(entries) > 0 {
			var names []string
			for _, e := range entries {
				if d == dir && keep != "" && e.Name() == keep {
					continue
				}
				names = append(names, e.Name())
			}
			if len(names) > 0 {
				t.Errorf("left behind in %s: %v", d, names)
			}
		}
	}
	return latency
}

// checkSignalCoverage fails for a command of the CLI that TestSignals
// neither interrupts nor exempts, and for a stale exemption.
func checkSignalCoverage(t *testing.T) {
	t.Helper()
	tested := map[string]bool{}
	for _, c := range signalCases {
		tested[c.args[0]] = true
	}
	seen := map[string]bool{}
	for _, c := range leafCommands() {
		path := strings.TrimPrefix(c.CommandPath(), "vimsim ")
		seen[path] = true
		if !tested[path] && signalExempt[path] == "" {
			t.Errorf("vimsim %s: neither in signalCases nor in signalExempt", path)
		}
	}
	for path := range signalExempt {
		if !seen[path] {
			t.Errorf("signalExempt lists %q, not a command", path)
		}
	}
}

// waitCPU waits until process pid has used cpu of CPU time (user and
// system, from /proc/PID/stat, in clock ticks of 10 ms), failing after
// timeout or when the process exits first.
func waitCPU(pid int, cpu, timeout time.Duration, exited <-chan error) error {
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return err
		}
		// pid (comm) state ppid … utime stime: fields 14 and 15, the
		// 12th and 13th after the command name.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 13 {
			return fmt.Errorf("/proc/%d/stat: %q", pid, b)
		}
		utime, err1 := strconv.ParseInt(f[11], 10, 64)
		stime, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("/proc/%d/stat: %q", pid, b)
		}
		used := time.Duration(utime+stime) * 10 * time.Millisecond
		if used >= cpu {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited (%v) after %v of CPU, before the signal", err, used)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%v of CPU after %v, want %v before the signal", used, timeout, cpu)
		}
	}
}

// readmeCommand is one command of a README example: a line of an sh
// block, or one side of its "&&".
type readmeCommand struct {
	line int
	text string // as written, spaces normalised, without the comment
}

// readmeRule is how TestReadmeExamples treats a README command it does not
// run exactly as written.
type readmeRule struct {
	run    string // the command run instead ("" with skip)
	skip   bool   // not run at all
	reason string
}

// readmeRules are the README commands TestReadmeExamples does not run as
// written, with the reason; every other command of an sh block runs. A
// rule whose command is no longer in the README fails the test.
var readmeRules = map[string]readmeRule{
	"go run ./cmd/vimsim run --arch systolic16": {run: "vimsim run --arch systolic16",
		reason: "the binary the test built from ./cmd/vimsim, as go run builds it (a go run from the test's directory would rebuild every package)"},
	"bash scripts/test.sh": {skip: true,
		reason: "the whole test suite, of which this test is a part"},
	"make -C vec01": {skip: true,
		reason: "Icarus Verilog on 174 sets, 44 s: TestVectorsRunRTL runs make on the same vectors (default model, layers 0 and 1, every unit)"},
	"make -j2 -C vec-ti": {skip: true,
		reason: "Icarus Verilog on Vim-Ti's layer 0, 2 min 19 s: TestVectorsVimTiRTL runs make on Vim-Ti layer-0 vectors"},
	"vimsim eval --data fashion-mnist --methods fp32,naive,paper,paper-no-kscale,paper-no-reparam,int8,int8-naive": {
		run:    "vimsim eval --data fashion-mnist --methods fp32,naive,paper,paper-no-kscale,paper-no-reparam,int8,int8-naive --limit 16 --calib 8",
		reason: "15 min on the 10,000 test images: 16 of them, 8 calibration images"},
	"vimsim vectors --model vim-ti --layers 0 --calib 4 --out vec-ti/": {skip: true,
		reason: "3 min, over 2 CPU-minutes even calibrated on 1 image: TestVectorsVimTiRTL records Vim-Ti layer-0 vectors (smaller calibration searches) and runs make on them"},
}

// readmeCommands returns the commands of the README's sh blocks, in order:
// every line that is not a comment, split at "&&", without its trailing
// comment. A command the test would need a shell for (quotes, variables,
// pipes, redirections, globs) fails the test.
func readmeCommands(t *testing.T, path string) []readmeCommand {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []readmeCommand
	inSh := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "```"):
			inSh = !inSh && strings.TrimSpace(strings.TrimPrefix(line, "```")) == "sh"
			continue
		case !inSh:
			continue
		}
		if i := strings.Index(line, "#"); i >= 0 && (i == 0 || line[i-1] == ' ') {
			line = line[:i]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		for _, part := range strings.Split(line, "&&") {
			text := strings.Join(strings.Fields(part), " ")
			if text == "" || strings.ContainsAny(text, "'\"$|;<>*?`\\(){}") {
				t.Fatalf("README:%d: %q is not a list of words: the test runs commands without a shell", n, part)
			}
			cmds = append(cmds, readmeCommand{n, text})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cmds
}

// TestReadmeExamples runs every command of the README's sh blocks, in
// order, as written, with the built binary as vimsim, from a new directory
// that holds the repository's tracked files (symlinked: the commands read
// examples/ and vim/testdata) and nothing else, as a fresh clone would;
// readmeRules lists, with the reason, the commands run otherwise or not at
// all. Each must exit 0 without an error line or a panic and print or
// write something, and none may change the repository.
func TestReadmeExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the README's commands")
	}
	bin := buildVimsim(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmds := readmeCommands(t, filepath.Join(root, "README.md"))
	used := map[string]bool{}
	for _, c := range cmds {
		used[c.text] = true
	}
	for text := range readmeRules {
		if !used[text] {
			t.Errorf("readmeRules: %q is not a command of README.md", text)
		}
	}
	work := t.TempDir()
	for _, name := range trackedTop(t, root) {
		if err := os.Symlink(filepath.Join(root, name), filepath.Join(work, name)); err != nil {
			t.Fatal(err)
		}
	}
	statusBefore := gitStatus(root)
	ran, ruled := 0, 0
	for _, c := range cmds {
		words := strings.Fields(c.text)
		t.Run(fmt.Sprintf("line%d_%s", c.line, strings.Join(words[:min(2, len(words))], "_")), func(t *testing.T) {
			text := c.text
			if r, ok := readmeRules[text]; ok {
				ruled++
				if r.skip {
					t.Skipf("README:%d: %s: not run: %s", c.line, text, r.reason)
				}
				t.Logf("README:%d: %s: runs %q: %s", c.line, text, r.run, r.reason)
				text = r.run
			}
			words := strings.Fields(text)
			if words[0] != "vimsim" {
				t.Fatalf("README:%d: %q is not a vimsim command and readmeRules does not say why", c.line, text)
			}
			if strings.Contains(text, "--data fashion-mnist") {
				requireFashionMNIST(t)
			}
			ran++
			before := tree(t, work)
			start := time.Now()
			cmd := exec.Command(bin, words[1:]...)
			cmd.Dir = work
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if cmd.ProcessState != nil {
				cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				t.Logf("README:%d: %v, %v of CPU", c.line, time.Since(start).Round(time.Millisecond), cpu.Round(time.Millisecond))
			}
			if err != nil {
				t.Fatalf("README:%d: %s: %v\nstderr:\n%s", c.line, text, err, stderr.String())
			}
			if strings.Contains(stderr.String(), "panic") || strings.Contains(stderr.String(), "vimsim: ") {
				t.Errorf("README:%d: %s: stderr:\n%s", c.line, text, stderr.String())
			}
			if stdout.Len() == 0 && strings.Join(tree(t, work), "\n") == strings.Join(before, "\n") {
				t.Errorf("README:%d: %s: printed and wrote nothing", c.line, text)
			}
		})
	}
	if after := gitStatus(root); after != statusBefore {
		t.Errorf("the README's commands changed the repository:\nbefore:\n%s\nafter:\n%s", statusBefore, after)
	}
	t.Logf("README.md: %d commands, %d run (%d as written), %d under a rule", len(cmds), ran, len(cmds)-ruled, ruled)
}

// trackedTop returns the top-level names of the files git tracks in the
// repository at root, or, outside a git checkout, its entries but the
// hidden ones.
func trackedTop(t *testing.T, root string) []string {
	t.Helper()
	seen := map[string]bool{}
	var names []string
	if out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output(); err == nil {
		for _, p := range strings.Split(string(out), "\x00") {
			top, _, _ := strings.Cut(p, "/")
			if top != "" && !seen[top] {
				seen[top] = true
				names = append(names, top)
			}
		}
		return names
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

// gitStatus is `git status --porcelain` of the repository at root, or ""
// outside a git checkout.
func gitStatus(root string) string {
	out, _ := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=all").Output()
	return string(out)
}
