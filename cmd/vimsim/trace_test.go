package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTraceCLI writes the trace of the default model to a file and to
// stdout: valid JSON, identical bytes, the documented tracks.
func TestTraceCLI(t *testing.T) {
	p := filepath.Join(t.TempDir(), "trace.json")
	if _, err := rtlCLI(t, "trace", "--model", vectorsModel(), "--arch", "systolic16", "--out", p); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := rtlCLI(t, "trace", "--model", vectorsModel(), "--arch", "systolic16")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, []byte(stdout)) {
		t.Error("file and stdout differ")
	}
	var doc struct {
		TraceEvents []struct {
			Name string         `json:"name"`
			Ph   string         `json:"ph"`
			Tid  int            `json:"tid"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(file, &doc); err != nil {
		t.Fatal(err)
	}
	tracks := map[string]bool{}
	slices := 0
	for _, e := range doc.TraceEvents {
		if e.Name == "thread_name" {
			tracks[e.Args["name"].(string)] = true
		}
		if e.Ph == "X" {
			slices++
		}
	}
	for _, want := range []string{"layers", "array", "scan", "dwconv", "vector", "norm", "dram"} {
		if !tracks[want] {
			t.Errorf("no %s track", want)
		}
	}
	if slices < 20 {
		t.Errorf("%d slices", slices)
	}
	for _, c := range []struct{ args []string }{
		{[]string{"trace", "--model", "nope"}},
		{[]string{"trace", "--arch", "nope"}},
		{[]string{"trace", "--overlap", "sometimes"}},
	} {
		if _, err := rtlCLI(t, c.args...); err == nil {
			t.Errorf("%v: no error", c.args)
		}
	}
	if _, err := rtlCLI(t, "trace", "--model", vectorsModel(), "--out", filepath.Join(t.TempDir(), "no", "such", "dir", "t.json")); err == nil ||
		!strings.Contains(err.Error(), "t.json") {
		t.Errorf("unwritable output: %v", err)
	}
}
