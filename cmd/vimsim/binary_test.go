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

	"github.com/spf13/cobra"
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
}

// signalCases interrupt every command that works longer than a second,
// at least 2 CPU-seconds into its work on a quiet machine; the outputs
// they would write are in the test's directory. Each command appears
// once or twice, with each of the two signals used overall.
var signalCases = []signalCase{
	// Calibration of Vim-Ti: a layer takes seconds, longer than the grace,
	// so the process leaves without the command returning.
	{"calibrate vim-ti SIGINT", []syscall.Signal{syscall.SIGINT}, 130, []string{"calibrate", "--model", "vim-ti", "--data", "sample", "--calib", "4", "--out", "q.qmodel"}},
	// The default model: the calibration loop checks the context per image.
	{"calibrate SIGTERM", []syscall.Signal{syscall.SIGTERM}, 143, []string{"calibrate", "--data", "sample", "--calib", "256", "--out", "q.qmodel"}},
	{"eval SIGINT", []syscall.Signal{syscall.SIGINT}, 130, []string{"eval", "--methods", "fp32,paper,int8", "--calib", "64", "--out", "eval.txt", "--predictions", "pred.txt"}},
	{"sim SIGTERM", []syscall.Signal{syscall.SIGTERM}, 143, []string{"sim", "--calib", "64", "--out", "sim.txt", "--program", "p.st"}},
	{"vectors SIGINT", []syscall.Signal{syscall.SIGINT}, 130, []string{"vectors", "--model", "vim-ti", "--calib", "2", "--out", "vec"}},
	{"run fidelity SIGTERM", []syscall.Signal{syscall.SIGTERM}, 143, []string{"run", "--out", "run.txt", "--actions", "counts.yaml"}},
	{"sweep 11520 designs SIGINT", []syscall.Signal{syscall.SIGINT}, 130, []string{"sweep", "--model", "vim-b",
		"--arch", "systolic8,systolic16,systolic32,systolic64", "--array", "4:64:*2", "--dataflow", "os,ws,is",
		"--scan-lanes", "8:64:*2", "--dram-bw", "6.4,12.8,25.6,51.2", "--buffer-kib", "32,64,128,256", "--act-kib", "128,256,512", "--out", "sweep"}},
	// Vim-Ti on four 224×224 images (the input written by the test): the
	// forward pass does not check the context, the grace ends the process.
	{"infer SIGTERM", []syscall.Signal{syscall.SIGTERM}, 143, []string{"infer", "--model", "vim-ti", "--input", "@in224", "--output", "logits.safetensors"}},
	// A second signal ends the process at once; the code is the first's.
	{"eval SIGINT then SIGTERM", []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}, 130, []string{"eval", "--methods", "fp32,paper,int8", "--calib", "64", "--out", "eval.txt"}},
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
}

// signalReady is the CPU time a command has used when TestSignals sends
// its signal: long past the process's start (signal handlers are
// installed in the first milliseconds) and into the command's work,
// whatever the machine's load.
const signalReady = 1 * time.Second

// signalLatency is the longest a process may take to exit after the signal
// was sent: the grace of runMain, 0.4 s, and room for a loaded machine.
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
			dir, tmp := t.TempDir(), t.TempDir()
			args := append([]string(nil), c.args...)
			for i, a := range args {
				if a == "@in224" {
					args[i] = in224
				}
			}
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
			for _, sig := range c.sigs {
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
			worst = max(worst, latency)
			if ee, ok := err.(*exec.ExitError); err != nil && !ok {
				t.Fatal(err)
			} else if ok && ee.ExitCode() == -1 {
				t.Fatalf("killed by the signal instead of handling it: %v", err)
			}
			code := cmd.ProcessState.ExitCode()
			t.Logf("exit %d %v after the signal", code, latency.Round(time.Millisecond))
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr %q", code, c.code, stderr.String())
			}
			if latency > signalLatency {
				t.Errorf("exit %v after the signal, want within %v", latency.Round(time.Millisecond), signalLatency)
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if last := lines[len(lines)-1]; last != "vimsim: interrupted by "+signalName(c.sigs[0])+"; nothing written" {
				t.Errorf("stderr %q, want a last line \"vimsim: interrupted by %s; nothing written\"", stderr.String(), signalName(c.sigs[0]))
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
			for _, d := range []string{dir, tmp} {
				if entries, _ := os.ReadDir(d); len(entries) > 0 {
					var names []string
					for _, e := range entries {
						names = append(names, e.Name())
					}
					t.Errorf("left behind in %s: %v", d, names)
				}
			}
		})
	}
	t.Logf("%d interrupted commands, the slowest to exit %v after its signal", len(signalCases), worst.Round(time.Millisecond))
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
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() {
			for _, s := range c.Commands() {
				walk(s)
			}
			return
		}
		path := strings.TrimPrefix(c.CommandPath(), "vimsim ")
		seen[path] = true
		if !tested[path] && signalExempt[path] == "" {
			t.Errorf("vimsim %s: neither in signalCases nor in signalExempt", path)
		}
	}
	walk(newRootCmd())
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

// readmeCommand is one vimsim command line of the README.
type readmeCommand struct {
	line int
	args []string
}

// readmeCommands extracts every vimsim command of the README's sh blocks:
// lines starting with "vimsim " or "go run ./cmd/vimsim ", without a
// trailing comment and what follows "&&"; a "# full run … (test: FLAGS)"
// comment appends FLAGS.
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
		case strings.HasPrefix(line, "```sh"):
			inSh = true
			continue
		case strings.HasPrefix(line, "```"):
			inSh = false
			continue
		case !inSh:
			continue
		}
		var rest string
		switch {
		case strings.HasPrefix(line, "vimsim "):
			rest = strings.TrimPrefix(line, "vimsim ")
		case strings.HasPrefix(line, "go run ./cmd/vimsim "):
			rest = strings.TrimPrefix(line, "go run ./cmd/vimsim ")
		default:
			continue
		}
		cmdText, comment, _ := strings.Cut(rest, "#")
		cmdText, _, _ = strings.Cut(cmdText, "&&")
		args := strings.Fields(cmdText)
		if strings.Contains(comment, "full run") {
			_, extra, ok := strings.Cut(comment, "(test:")
			if !ok {
				t.Fatalf("README:%d: a full run without a (test: FLAGS) note", n)
			}
			extra, _, _ = strings.Cut(extra, ")")
			args = append(args, strings.Fields(extra)...)
		}
		cmds = append(cmds, readmeCommand{n, args})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cmds
}

// TestReadmeCommands runs every vimsim command of README.md, in order, as
// written, from a directory that sees the repository's files (the commands
// name examples/ and vim/testdata) and keeps their outputs apart from the
// source tree.
func TestReadmeCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the README's commands")
	}
	bin := buildVimsim(t)
	cmds := readmeCommands(t, "../../README.md")
	if len(cmds) < 15 {
		t.Fatalf("found %d vimsim commands in README.md, want the CLI examples", len(cmds))
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(work, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cmds {
		name := fmt.Sprintf("line%d_%s", c.line, c.args[0])
		t.Run(name, func(t *testing.T) {
			if strings.Contains(strings.Join(c.args, " "), "--data fashion-mnist") {
				if _, err := os.Stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); err != nil {
					if os.Getenv("CI") == "true" {
						t.Fatalf("README:%d needs dataset-fashion-mnist (scripts/setup.sh installs it)", c.line)
					}
					t.Skipf("README:%d needs dataset-fashion-mnist", c.line)
				}
			}
			start := time.Now()
			cmd := exec.Command(bin, c.args...)
			cmd.Dir = work
			out, err := cmd.CombinedOutput()
			if err != nil || bytes.Contains(out, []byte("panic")) {
				t.Fatalf("README:%d: vimsim %s: %v\n%s", c.line, strings.Join(c.args, " "), err, out)
			}
			t.Logf("README:%d: %v", c.line, time.Since(start).Round(time.Millisecond))
		})
	}
}
