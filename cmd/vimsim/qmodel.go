package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/vim"
)

func newQModelCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "qmodel", Short: "Inspect quantized-model artifacts"}
	cmd.AddCommand(newQModelInfoCmd())
	return cmd
}

// qmodelInfo is the JSON form of `vimsim qmodel info`.
type qmodelInfo struct {
	File        string            `json:"file"`
	Format      string            `json:"format"`
	Version     int               `json:"version"`
	Method      string            `json:"method"`
	WBits       int               `json:"wbits"`
	ABits       int               `json:"abits"`
	HBits       int               `json:"hbits"`
	Recipe      quant.Precision   `json:"recipe"`
	Plan        quant.Plan        `json:"plan"`
	Config      vim.Config        `json:"config"`
	Calibration quant.CalibInfo   `json:"calibration"`
	Reparam     quant.ReparamCost `json:"reparameterization_cost"`
	Points      []quant.PointInfo `json:"points"`
}

func newQModelInfoCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "info FILE",
		Short: "Print a quantized model's method, per-op bits and per-layer formats and scales",
		Long: `Print a quantized model's method, precision recipe with the bits of every op
(W weights, A output, H hidden state, per block), calibration settings and, for
every quantization point (weights, activations, hidden-state scales,
reparameterization factors), its format and scales. Formats: "int8 tensor"
(one scale), "int8 channel" (one per output row), "int8 k4-channel" (k-scaled:
4 channel groups), "int8 k4-token-p2" (4 token groups whose scales are
power-of-two multiples of the first), "int8 per-step" (one scale per scan
step), "f64" (a factor vector). Points marked "(extra)" are calibration ranges
of tensors the method keeps in float (input image, merged gated output,
residual stream), for the integer datapath; the fake-quant forward ignores
them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("--format %q: want table or json", format)
			}
			q, err := quant.ReadModel(args[0])
			if err != nil {
				return err
			}
			pl, err := q.Precision.Resolve(q.Config.Depth)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			info := qmodelInfo{File: args[0], Format: quant.ArtifactFormat, Version: quant.ArtifactVersion,
				Method: q.Method, WBits: q.WBits, ABits: q.ABits, HBits: q.HBits, Recipe: q.Precision, Plan: pl,
				Config: q.Config, Calibration: q.Calib, Reparam: quant.Cost(q.Config), Points: q.Describe()}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			return writeQModelInfo(cmd.OutOrStdout(), info)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func writeQModelInfo(w io.Writer, info qmodelInfo) error {
	c := info.Config
	if _, _, _, ok := info.Plan.Uniform(); ok {
		fmt.Fprintf(w, "%s: %s v%d, method %s, W%dA%d, hidden state %d bits\n",
			info.File, info.Format, info.Version, info.Method, info.WBits, info.ABits, info.HBits)
	} else {
		fmt.Fprintf(w, "%s: %s v%d, method %s, recipe %s (defaults W%dA%d, hidden state %d bits; per op below)\n",
			info.File, info.Format, info.Version, info.Method, info.Recipe, info.WBits, info.ABits, info.HBits)
	}
	fmt.Fprintf(w, "model %s: %dx%dx%d input, D = %d, depth = %d, E = %d, N = %d, L = %d, classes = %d\n",
		c.Name, c.Channels, c.ImgH, c.ImgW, c.Dim, c.Depth, c.DInner, c.DState, c.Tokens(), c.Classes)
	cal := info.Calibration
	fmt.Fprintf(w, "calibration: %d images (%s), k = %d, %d rounds, %d search rows (%d for weights), %d SSM images, weights per %s\n",
		cal.Images, orDash(cal.Data), cal.K, cal.Rounds, cal.SearchRows, cal.WeightSearchRows, cal.SSMImages,
		map[bool]string{false: "tensor", true: "channel"}[cal.PerChannel])
	fmt.Fprintf(w, "reparameterization: %s multiplies per image applied naively (%s per token and direction), %s folded\n\n",
		commas(info.Reparam.NaivePerImage), commas(info.Reparam.NaivePerToken), commas(info.Reparam.FoldedPerImage))
	if err := writePlan(w, info.Recipe, info.Plan); err != nil {
		return err
	}
	t := tablewriter.NewTable(w)
	t.Header("point", "kind", "format", "scales / values", "groups")
	for _, p := range info.Points {
		kind := p.Kind
		if p.Extra {
			kind += " (extra)"
		}
		if err := t.Append(p.Name, kind, p.Format, summarize(p.Values), groupsCell(p)); err != nil {
			return err
		}
	}
	return t.Render()
}

// writePlan prints the bits of every op: W (weights) and A (output) per op
// and block, "other" for the block's points outside the recipe's ops
// (norm, tables, scan output, merge) and H the hidden state.
func writePlan(w io.Writer, rec quant.Precision, pl quant.Plan) error {
	bits := func(b quant.OpBits) string { return fmt.Sprintf("W%dA%d", b.W, b.A) }
	fmt.Fprintf(w, "precision recipe %s: patch_embed %s, head %s, norm_f %s\n", rec, bits(pl.Embed), bits(pl.Head), bits(pl.Final))
	header := []string{"layer"}
	for _, o := range quant.BlockOps() {
		header = append(header, string(o))
	}
	header = append(header, "other", "hidden")
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header(header)
	for i, b := range pl.Blocks {
		row := []string{fmt.Sprint(i)}
		for _, o := range quant.BlockOps() {
			row = append(row, bits(b.Ops[o]))
		}
		row = append(row, bits(b.Other), fmt.Sprintf("H%d", b.H))
		if err := t.Append(row); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w)
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// summarize lists up to four values, else their range and count.
func summarize(v []float64) string {
	if len(v) <= 4 {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = fmt.Sprintf("%.4g", x)
		}
		return strings.Join(s, " ")
	}
	lo, hi := slices.Min(v), slices.Max(v)
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return fmt.Sprintf("%d values", len(v))
	}
	return fmt.Sprintf("%.4g .. %.4g (%d)", lo, hi, len(v))
}

// groupsCell shows the group sizes and the power-of-two exponents.
func groupsCell(p quant.PointInfo) string {
	var parts []string
	if len(p.Sizes) > 0 {
		s := make([]string, len(p.Sizes))
		for i, n := range p.Sizes {
			s[i] = fmt.Sprint(n)
		}
		parts = append(parts, "sizes "+strings.Join(s, "/"))
	}
	if len(p.Exps) > 0 {
		s := make([]string, len(p.Exps))
		for i, e := range p.Exps {
			s[i] = fmt.Sprint(e)
		}
		parts = append(parts, "2^["+strings.Join(s, " ")+"]")
	}
	return strings.Join(parts, ", ")
}
