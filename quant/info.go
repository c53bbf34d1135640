package quant

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vimsim/vimsim/vim"
)

// PointInfo describes one quantizer or factor vector of a QModel.
type PointInfo struct {
	Name string `json:"name"`
	// Kind is "weight", "activation", "hidden" (per-step hidden-state
	// scales), "factor" (reparameterization factors) or "range" (a
	// calibration range).
	Kind string `json:"kind"`
	// Format is "int8 tensor", "int8 channel" (weights), "int8 k4-channel",
	// "int8 k4-token-p2", "int8 per-step" or "f64".
	Format string    `json:"format"`
	Values []float64 `json:"values"`                // scales, or the factor vector
	Exps   []int     `json:"exps,omitempty"`        // power-of-two exponents
	Sizes  []int     `json:"group_sizes,omitempty"` // members of each group
	// Extra marks a datapath extra: a range of a tensor the method keeps
	// in float, not applied by the fake-quant forward.
	Extra bool `json:"datapath_extra,omitempty"`
}

// isExtra reports whether the point named is a datapath extra.
func isExtra(name string) bool {
	return name == "input" || name == "residual.max_abs" || strings.HasSuffix(name, ".merge.out")
}

// describer is the visitor of Describe.
type describer struct {
	rows []PointInfo
}

func (d *describer) weight(name string, w *QWeight, _ []int, _ int) error {
	f := fmt.Sprintf("int%d tensor", w.Bits)
	if w.PerChannel() {
		f = fmt.Sprintf("int%d channel", w.Bits)
	}
	d.rows = append(d.rows, PointInfo{Name: name + ".weight", Kind: "weight", Format: f, Values: slices.Clone(w.Scales)})
	return nil
}

func (d *describer) floats(string, *[]float64, []int) error { return nil }

func (d *describer) act(name string, q **ActQuant, _, _, _ int) error {
	a := *q
	if a == nil {
		return nil
	}
	row := PointInfo{Name: name, Kind: "activation", Format: a.format(), Values: slices.Clone(a.Scales),
		Exps: slices.Clone(a.Exp), Extra: isExtra(name)}
	if a.Group != nil {
		row.Sizes = make([]int, len(a.Scales))
		for _, g := range a.Group {
			row.Sizes[g]++
		}
	}
	d.rows = append(d.rows, row)
	return nil
}

func (d *describer) hidden(name string, s *QSSM, _, _ int) error {
	d.rows = append(d.rows, PointInfo{Name: name, Kind: "hidden", Format: fmt.Sprintf("int%d per-step", s.Bits), Values: slices.Clone(s.HScale)})
	return nil
}

func (d *describer) factor(name string, v *[]float64, _ int) error {
	if *v == nil {
		return nil
	}
	kind := "factor"
	if isExtra(name) {
		kind = "range"
	}
	d.rows = append(d.rows, PointInfo{Name: name, Kind: kind, Format: "f64", Values: slices.Clone(*v), Extra: isExtra(name)})
	return nil
}

// Describe lists every quantizer and factor vector of q, in artifact order.
func (q *QModel) Describe() []PointInfo {
	d := &describer{}
	_ = q.walk(d) // the describer never fails
	return d.rows
}

// ReparamCost counts the element-wise multiplies the hidden-state
// reparameterization costs (ptq-method.md §6).
type ReparamCost struct {
	// NaivePerToken is 2·E·N + E + N: sA·Ā (E·N), sB·U (E·N), sC·C (N)
	// and r_C·y (E) per token and direction, applied as written in §5.7.
	NaivePerToken int64 `json:"naive_per_token_per_direction"`
	// NaivePerImage is NaivePerToken × L tokens × 2 directions × depth.
	NaivePerImage int64 `json:"naive_per_image"`
	// FoldedPerImage is what the folded form adds: 0. Every factor rides on
	// a constant the datapath applies anyway (see QUANT.md): r_D in x_proj's
	// weights, 1/r_C and 1/r_L[t] in the requantization constant of Δ·x·B
	// (per channel and per step already, because of the k-scaled Δ and x
	// and of the per-step hidden-state scale), r_L[t] in the per-token
	// dequantization of C, sA[t] in the per-step constant of the carried
	// state, r_C in the per-channel constant of the SiLU(z) gate.
	FoldedPerImage int64 `json:"folded_per_image"`
	// Saved is NaivePerImage − FoldedPerImage.
	Saved int64 `json:"saved_per_image"`
}

// Cost returns the reparameterization cost of a configuration.
func Cost(c vim.Config) ReparamCost {
	E, N := int64(c.DInner), int64(c.DState)
	per := 2*E*N + E + N
	img := per * int64(c.Tokens()) * 2 * int64(c.Depth)
	return ReparamCost{NaivePerToken: per, NaivePerImage: img, Saved: img}
}
