package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// quantCLI runs the calibrate and qmodel commands in a root of their own
// and returns stdout, stderr and the error.
func quantCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := &cobra.Command{Use: "vimsim", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newCalibrateCmd(), newQModelCmd())
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errb.String(), err
}

func TestCalibrateCommand(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.safetensors")
	b := filepath.Join(dir, "b.safetensors")
	args := []string{"calibrate", "--model", toyWeights, "--data", "sample", "--calib", "6",
		"--search-rows", "48", "--ssm-images", "2", "--rounds", "1"}
	out, stderr, err := quantCLI(t, append(args, "--out", a)...)
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	for _, want := range []string{a + ": paper W8A8", "sample (test, 6 images, seed 0)", "297,024 multiplies per image applied naively, 0 after folding"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := quantCLI(t, append(args, "--out", b)...); err != nil {
		t.Fatal(err)
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if len(ba) == 0 || !bytes.Equal(ba, bb) {
		t.Fatal("two identical calibrations wrote different files")
	}

	out, _, err = quantCLI(t, "qmodel", "info", a)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"method paper, W8A8", "layers.0.mixer.ssm.h_scale", "int8 per-step",
		"int8 k4-token-p2", "int8 k4-channel", "head.out"} {
		if !strings.Contains(out, want) {
			t.Errorf("qmodel info lacks %q:\n%s", want, out)
		}
	}
	js, _, err := quantCLI(t, "qmodel", "info", a, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"method": "paper"`, `"naive_per_image": 297024`, `"kind": "hidden"`} {
		if !strings.Contains(js, want) {
			t.Errorf("qmodel info json lacks %q", want)
		}
	}

	// W4A8 naive with per-channel weights.
	c := filepath.Join(dir, "c.safetensors")
	if _, stderr, err := quantCLI(t, append(args, "--out", c, "--method", "naive", "--wbits", "4", "--weight-granularity", "channel")...); err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	out, _, err = quantCLI(t, "qmodel", "info", c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "method naive, W4A8") || !strings.Contains(out, "int4 channel") {
		t.Errorf("naive W4 info:\n%s", out)
	}
}

func TestCalibrateCommandErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "q.safetensors")
	base := []string{"calibrate", "--model", toyWeights, "--data", "sample", "--calib", "2", "--out", out}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"calibrate", "--model", toyWeights, "--data", "sample"}, "--out"},
		{append(base, "--method", "magic"), `unknown quantization method "magic"`},
		{append(base, "--wbits", "2"), "weight bits 2"},
		{append(base, "--calib", "0"), "--calib 0"},
		{append(base, "--weight-granularity", "row"), "--weight-granularity"},
		{append(base, "--data", "nowhere"), "unknown dataset"},
		{[]string{"calibrate", "--model", "no-such-model", "--out", out}, "unknown model"},
	} {
		_, _, err := quantCLI(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line containing %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed calibration left a file")
	}
}
