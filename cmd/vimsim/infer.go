package main

import (
	"fmt"
	"math"
	"sort"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/vim"
	"github.com/vimsim/vimsim/vim/ckpt"
)

func parsePrecision(s string) (vim.Precision, error) {
	switch s {
	case "f64":
		return vim.F64, nil
	case "f32":
		return vim.F32, nil
	}
	return 0, fmt.Errorf("--precision %q: want f64 or f32", s)
}

func newInferCmd() *cobra.Command {
	var (
		mf                   modelFlags
		input, output, image string
		precision            string
		top                  int
		force                bool
	)
	cmd := &cobra.Command{
		Use:   "infer",
		Short: "Run the float reference forward pass",
		Long: `Run the float reference forward pass of a Vim model.

With --input, reads tensor "input" (B,C,H,W, already normalised) from a
safetensors file and writes tensor "logits" (B,classes, F64) to --output.
With --image, preprocesses an image file (official eval transform) and prints
the top-5 classes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := parsePrecision(precision)
			if err != nil {
				return err
			}
			if (input == "") == (image == "") {
				return fmt.Errorf("give exactly one of --input or --image")
			}
			if input != "" && output == "" {
				return fmt.Errorf("--input needs --output")
			}
			if image != "" && output != "" {
				return fmt.Errorf("--output goes with --input (--image prints the top classes)")
			}
			if err := checkOutputFile("output", output, force); err != nil {
				return err
			}
			m, err := mf.load()
			if err != nil {
				return err
			}
			if image != "" {
				return inferImage(cmd, m, image, p, top)
			}
			out, err := inferTensor(m, input, p)
			if err != nil {
				return err
			}
			return writeOutputs(commandContext(cmd), nil, force, outputFile{"output", output, out})
		},
	}
	mf.register(cmd)
	mf.registerNorm(cmd)
	registerForce(cmd, &force)
	fl := cmd.Flags()
	fl.StringVar(&input, "input", "", "safetensors file with tensor \"input\" (B,C,H,W)")
	fl.StringVar(&output, "output", "", "safetensors file to write tensor \"logits\" to")
	fl.StringVar(&image, "image", "", "image file (PNG/JPEG) to classify")
	fl.StringVar(&precision, "precision", "f64", "arithmetic: f64 or f32")
	fl.IntVar(&top, "top", 5, "classes to print with --image")
	return cmd
}

// inferTensor runs the model on tensor "input" of the safetensors file
// input and returns the safetensors encoding of its logits.
func inferTensor(m *vim.Model, input string, p vim.Precision) ([]byte, error) {
	f, err := ckpt.Read(input)
	if err != nil {
		return nil, fmt.Errorf("--input: %w", err)
	}
	t, ok := f.Get("input")
	if !ok {
		return nil, fmt.Errorf("--input %s: no tensor named \"input\"", input)
	}
	c := m.Config
	if len(t.Shape) != 4 || t.Shape[1] != c.Channels || t.Shape[2] != c.ImgH || t.Shape[3] != c.ImgW {
		return nil, fmt.Errorf("--input %s: tensor input has shape %v, want (B,%d,%d,%d)", input, t.Shape, c.Channels, c.ImgH, c.ImgW)
	}
	if t.Shape[0] < 1 {
		return nil, fmt.Errorf("--input %s: tensor input has no image (shape %v)", input, t.Shape)
	}
	for i, v := range t.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			size := c.Channels * c.ImgH * c.ImgW
			return nil, fmt.Errorf("--input %s: tensor input: value %g at image %d, element %d (not a finite number)", input, v, i/size, i%size)
		}
	}
	logits, err := m.Infer(t.Data, t.Shape[0], p)
	if err != nil {
		return nil, fmt.Errorf("--input %s: %w", input, err)
	}
	out := &ckpt.File{
		Tensors:  []ckpt.Tensor{{Name: "logits", DType: "F64", Shape: []int{t.Shape[0], c.Classes}, Data: logits}},
		Metadata: map[string]string{"model": c.Name, "precision": p.String(), "generator": "vimsim " + version},
	}
	return ckpt.EncodeSafetensors(out)
}

// topK returns the indices of the k largest values, ties by lower index.
func topK(v []float64, k int) []int {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] > v[idx[b]] })
	return idx[:min(k, len(idx))]
}

func inferImage(cmd *cobra.Command, m *vim.Model, path string, p vim.Precision, top int) error {
	if top < 1 {
		return fmt.Errorf("--top %d: must be at least 1", top)
	}
	img, err := data.LoadImage(path, m.Config)
	if err != nil {
		return err
	}
	logits, err := m.Forward(img, p, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	probs := softmax(logits)
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "%s (model %s, %s)\n", path, m.Config.Name, p)
	for rank, i := range topK(logits, top) {
		name := fmt.Sprintf("class %d", i)
		if i < len(m.Config.ClassNames) {
			name = fmt.Sprintf("%s (%d)", m.Config.ClassNames[i], i)
		}
		fmt.Fprintf(w, "%d. %-28s p=%.4f logit=%.4f\n", rank+1, name, probs[i], logits[i])
	}
	return nil
}

// softmax returns the normalised exponentials of v.
func softmax(v []float64) []float64 {
	hi := math.Inf(-1)
	for _, x := range v {
		hi = math.Max(hi, x)
	}
	out := make([]float64, len(v))
	var sum float64
	for i, x := range v {
		out[i] = math.Exp(x - hi)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
