package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/hw/arch"
)

// perfCLI runs the performance commands (arch, cycles, run, sweep) through
// cobra in-process, under a root configured like the real one, and returns
// stdout and the error Execute reports.
func perfCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "vimsim", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newArchCmd(), newCyclesCmd(), newRunCmd(), newSweepCmd(), newExploreCmd())
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.Execute()
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("%v: multi-line error %q", args, err)
	}
	return out.String(), err
}

// wantErr runs args and checks that they fail with an error naming want.
func wantErr(t *testing.T, want string, args ...string) {
	t.Helper()
	out, err := perfCLI(t, args...)
	if err == nil {
		t.Errorf("%v: no error (output %q)", args, out)
		return
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("%v: error %q does not mention %q", args, err, want)
	}
}

func TestArchList(t *testing.T) {
	out, err := perfCLI(t, "arch", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range append(append(arch.PresetNames(), arch.BoardNames()...), arch.TechNames()...) {
		if !strings.Contains(out, want) {
			t.Errorf("arch list lacks %s", want)
		}
	}
	if !strings.Contains(out, "16x16") || !strings.Contains(out, "2,520") {
		t.Errorf("arch list:\n%s", out)
	}
	js, err := perfCLI(t, "arch", "list", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Presets []arch.Spec  `json:"presets"`
		Boards  []arch.Board `json:"boards"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil || len(doc.Presets) != 4 || doc.Presets[1] != arch.Systolic16() || len(doc.Boards) != 5 {
		t.Errorf("arch list json: %v %+v", err, doc)
	}
	wantErr(t, "--format", "arch", "list", "--format", "xml")
}

func TestArchShow(t *testing.T) {
	out, err := perfCLI(t, "arch", "show", "systolic32")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "32x32 int8 MACs, os") || !strings.Contains(out, "409.6 GOPS") {
		t.Errorf("arch show:\n%s", out)
	}
	for _, format := range []string{"json", "yaml"} {
		out, err := perfCLI(t, "arch", "show", "systolic64", "--format", format)
		if err != nil {
			t.Fatal(err)
		}
		s, err := arch.ParseSpec([]byte(out), format)
		if err != nil || s != arch.Systolic64() {
			t.Errorf("show --format %s does not round-trip: %v\n%s", format, err, out)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.yaml")
	os.WriteFile(path, []byte("base: systolic8\nname: edge\nscan: {lanes: 2}\n"), 0o644)
	out, err = perfCLI(t, "arch", "show", path)
	if err != nil || !strings.Contains(out, "edge") || !strings.Contains(out, "2 lanes, sequential") {
		t.Errorf("show file: %v\n%s", err, out)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"base":"systolic8","buffers":{"ofmap_kib":0}}`), 0o644)
	wantErr(t, "buffers.ofmap_kib", "arch", "show", bad)
	wantErr(t, "unknown architecture", "arch", "show", "tpu")
	wantErr(t, "--format", "arch", "show", "systolic8", "--format", "html")
	if _, err := perfCLI(t, "arch", "show"); err == nil {
		t.Error("arch show without a name accepted")
	}
}
