package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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

// TestSignals interrupts a built binary in the middle of its work and
// checks that it exits with 130 (SIGINT) or 143 (SIGTERM) within a
// second, with one line on stderr and nothing left in the output
// directory.
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and calibrates")
	}
	bin := buildVimsim(t)
	type tc struct {
		name string
		sig  syscall.Signal
		code int
		args []string
	}
	cases := []tc{
		// Calibration of Vim-Ti: each layer takes seconds, longer than
		// the grace, so the process leaves on its own.
		{"calibrate vim-ti SIGINT", syscall.SIGINT, 130, []string{"calibrate", "--model", "vim-ti", "--data", "sample", "--calib", "4", "--out", "q.qmodel"}},
		{"calibrate vim-ti SIGTERM", syscall.SIGTERM, 143, []string{"calibrate", "--model", "vim-ti", "--data", "sample", "--calib", "4", "--out", "q.qmodel"}},
		// The default model, in its calibration, evaluation and recording.
		{"eval SIGINT", syscall.SIGINT, 130, []string{"eval", "--methods", "fp32,paper,int8", "--calib", "64", "--out", "eval.txt", "--predictions", "pred.txt"}},
		{"sim SIGTERM", syscall.SIGTERM, 143, []string{"sim", "--calib", "64", "--out", "sim.txt", "--program", "p.st"}},
		{"vectors SIGINT", syscall.SIGINT, 130, []string{"vectors", "--model", "vim-ti", "--calib", "2", "--out", "vec"}},
		{"run fidelity SIGTERM", syscall.SIGTERM, 143, []string{"run", "--out", "run.txt"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(bin, c.args...)
			cmd.Dir = dir
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * time.Second) // well into the calibration
			sent := time.Now()
			if err := cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			latency := time.Since(sent)
			code := cmd.ProcessState.ExitCode()
			if ee, ok := err.(*exec.ExitError); err != nil && !ok {
				t.Fatal(err)
			} else if ok && ee.ExitCode() == -1 {
				t.Fatalf("killed by the signal instead of handling it: %v", err)
			}
			t.Logf("%s: exit %d after %v", c.name, code, latency.Round(time.Millisecond))
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr %q", code, c.code, stderr.String())
			}
			if latency > time.Second {
				t.Errorf("exit %v after the signal, want within 1 s", latency)
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "vimsim: interrupted by SIG") || !strings.HasSuffix(last, "nothing written") {
				t.Errorf("stderr %q, want vimsim: interrupted by …; nothing written", stderr.String())
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("left behind: %v", names)
			}
		})
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
