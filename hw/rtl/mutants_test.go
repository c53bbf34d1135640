package rtl

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMutants checks the mutant catalogue: at least 40 mutants, unique
// IDs, every module of the reference RTL mutated at least once, each
// mutant's edits applying exactly once and changing its file, testbenches
// that exist, and (with Icarus Verilog) a mutated RTL that still compiles
// with the module as top, so that a mutant is caught by the vectors and
// not by a syntax error.
func TestMutants(t *testing.T) {
	ms := Mutants()
	if len(ms) < 40 {
		t.Errorf("%d mutants, want at least 40", len(ms))
	}
	ids := map[string]bool{}
	mutated := map[string]bool{}
	cats := map[string]bool{}
	src := map[string][]byte{}
	for _, m := range Modules() {
		src[m.Name] = m.Data
	}
	for _, m := range ms {
		if ids[m.ID] || m.ID == "" || m.Doc == "" || m.Category == "" {
			t.Errorf("mutant %q: duplicate or undocumented", m.ID)
		}
		ids[m.ID] = true
		cats[m.Category] = true
		if m.Module+".v" != m.File {
			t.Errorf("%s: module %s in file %s", m.ID, m.Module, m.File)
		}
		mutated[m.File] = true
		out, err := m.Apply(src[m.File])
		if err != nil {
			t.Error(err)
			continue
		}
		if bytes.Equal(out, src[m.File]) {
			t.Errorf("%s changes nothing", m.ID)
		}
		if len(m.Benches) == 0 {
			t.Errorf("%s: no testbench", m.ID)
		}
		for _, b := range m.Benches {
			if _, ok := Testbench(b); !ok {
				t.Errorf("%s: testbench %s does not exist", m.ID, b)
			}
		}
	}
	for name := range src {
		if !mutated[name] {
			t.Errorf("no mutant of %s", name)
		}
	}
	for _, c := range []string{"latency", "width", "sign", "rounding", "carry", "saturation", "flag", "order", "bubble", "reset", "latching", "handshake"} {
		if !cats[c] {
			t.Errorf("no %s mutant", c)
		}
	}
	if _, err := exec.LookPath("iverilog"); err != nil {
		requireTool(t, "iverilog")
	}
	for _, m := range ms {
		dir := t.TempDir()
		if err := WriteMutated(dir, m); err != nil {
			t.Fatal(err)
		}
		srcs, _ := filepath.Glob(filepath.Join(dir, "*.v"))
		args := append([]string{"-g2012", "-o", filepath.Join(dir, "a.out"), "-s", m.Module}, srcs...)
		if out, err := exec.Command("iverilog", args...).CombinedOutput(); err != nil || strings.Contains(string(out), "error") {
			t.Errorf("%s does not compile: %v\n%s", m.ID, err, out)
		}
	}
}
