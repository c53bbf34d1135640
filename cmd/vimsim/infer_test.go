package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/vim/ckpt"
)

const (
	toyWeights = "../../vim/testdata/toy_pert.weights.safetensors"
	toyIO      = "../../vim/testdata/toy_pert.io.safetensors"
)

// vimsim runs the CLI in-process and returns stdout, stderr and the exit code.
func vimsim(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestInferTensorMatchesFixture(t *testing.T) {
	dir := t.TempDir()
	io, err := ckpt.ReadSafetensors(toyIO)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := io.Get("input")
	inPath := filepath.Join(dir, "in.safetensors")
	if err := ckpt.WriteSafetensors(inPath, &ckpt.File{Tensors: []ckpt.Tensor{*in}}); err != nil {
		t.Fatal(err)
	}
	ref, _ := io.Get("logits")
	for _, tc := range []struct {
		prec string
		tol  float64
	}{{"f64", 1e-4}, {"f32", 1e-3}} {
		outPath := filepath.Join(dir, "out-"+tc.prec+".safetensors")
		_, stderr, code := vimsim(t, "infer", "--model", toyWeights, "--input", inPath, "--output", outPath, "--precision", tc.prec)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		got, err := ckpt.ReadSafetensors(outPath)
		if err != nil {
			t.Fatal(err)
		}
		lg, ok := got.Get("logits")
		if !ok || lg.DType != "F64" || len(lg.Shape) != 2 || lg.Shape[0] != 3 || lg.Shape[1] != 10 {
			t.Fatalf("logits tensor %+v", lg)
		}
		var d, s float64
		for i := range ref.Data {
			d = math.Max(d, math.Abs(lg.Data[i]-ref.Data[i]))
			s = math.Max(s, math.Abs(ref.Data[i]))
		}
		if d > tc.tol*s {
			t.Errorf("%s: max|Δlogits| %.3g > %g·%.3g", tc.prec, d, tc.tol, s)
		}
	}
}

func TestInferErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.safetensors")
	os.WriteFile(bad, []byte("\x10\x00\x00\x00\x00\x00\x00\x00{not json}"), 0o644)
	wrong := filepath.Join(dir, "wrong.safetensors")
	ckpt.WriteSafetensors(wrong, &ckpt.File{Tensors: []ckpt.Tensor{{Name: "input", DType: "F32", Shape: []int{1, 3, 8, 8}, Data: make([]float64, 192)}}})
	noInput := filepath.Join(dir, "noinput.safetensors")
	ckpt.WriteSafetensors(noInput, &ckpt.File{Tensors: []ckpt.Tensor{{Name: "x", DType: "F32", Shape: []int{1}, Data: []float64{1}}}})
	out := filepath.Join(dir, "out.safetensors")
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--input", bad, "--output", out}, "bad.safetensors"},
		{[]string{"--input", wrong, "--output", out}, "tensor input has shape [1 3 8 8], want (B,3,64,64)"},
		{[]string{"--input", noInput, "--output", out}, `no tensor named "input"`},
		{[]string{"--input", wrong}, "--input needs --output"},
		{[]string{"--input", wrong, "--output", out, "--precision", "f16"}, `--precision "f16"`},
		{[]string{}, "exactly one of --input or --image"},
		{[]string{"--input", wrong, "--output", out, "--img-size", "9x"}, "--img-size"},
	} {
		args := append([]string{"infer", "--model", toyWeights}, tc.args...)
		_, stderr, code := vimsim(t, args...)
		if code == 0 || !strings.Contains(stderr, tc.msg) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q, want one line with %q", tc.args, code, stderr, tc.msg)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v: output written despite the error", tc.args)
		}
	}
	_, stderr, code := vimsim(t, "infer", "--model", "nosuch-model", "--input", wrong, "--output", out)
	if code == 0 || !strings.Contains(stderr, `unknown model "nosuch-model"`) {
		t.Errorf("unknown model: %d %q", code, stderr)
	}
}

func TestModelInfo(t *testing.T) {
	stdout, stderr, code := vimsim(t, "model", "info", "--model", "vim-ti", "--format", "json")
	if code != 0 {
		t.Fatal(stderr)
	}
	var info modelInfo
	if err := json.Unmarshal([]byte(stdout), &info); err != nil {
		t.Fatal(err)
	}
	if info.Params != 7148008 || info.TotalMACs != 1467010560 || info.Tokens != 197 || info.ClsPos != 98 {
		t.Fatalf("vim-ti info: params %d MACs %d L %d cls %d", info.Params, info.TotalMACs, info.Tokens, info.ClsPos)
	}
	var inProj int64
	for _, r := range info.MACs {
		if r.Type == "in_proj" {
			inProj = r.PerBlock
		}
	}
	if inProj != 29048832 {
		t.Fatalf("in_proj MACs per block %d", inProj)
	}
	table, _, code := vimsim(t, "model", "info", "--model", "vim-ti")
	if code != 0 || !strings.Contains(table, "1.4670 GMAC") || !strings.Contains(table, "29,048,832") {
		t.Fatalf("table output:\n%s", table)
	}
	// Geometry flags reach the config: stride 8 gives 730 tokens.
	stdout, _, _ = vimsim(t, "model", "info", "--model", "vim-ti", "--stride", "8", "--format", "json")
	json.Unmarshal([]byte(stdout), &info)
	if info.Tokens != 730 {
		t.Fatalf("stride 8: %d tokens", info.Tokens)
	}
	if _, stderr, code := vimsim(t, "model", "info", "--format", "xml", "--model", "vim-ti"); code == 0 || !strings.Contains(stderr, "--format") {
		t.Fatalf("bad format accepted: %q", stderr)
	}
}

func TestInferImage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "img.png")
	img := image.NewRGBA(image.Rect(0, 0, 90, 70))
	for y := 0; y < 70; y++ {
		for x := 0; x < 90; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 3), uint8(x + y), 255})
		}
	}
	f, _ := os.Create(path)
	png.Encode(f, img)
	f.Close()
	stdout, stderr, code := vimsim(t, "infer", "--model", toyWeights, "--image", path)
	if code != 0 {
		t.Fatal(stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[1], "1. class ") || !strings.HasPrefix(lines[5], "5. ") {
		t.Fatalf("top-5 output:\n%s", stdout)
	}
	_, stderr, code = vimsim(t, "infer", "--model", toyWeights, "--image", filepath.Join(dir, "none.png"))
	if code == 0 || !strings.Contains(stderr, "none.png") {
		t.Fatalf("missing image: %d %q", code, stderr)
	}
}
