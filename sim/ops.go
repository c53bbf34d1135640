package sim

import (
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
)

// Op names one operation of the program. Layer is the block index, or
// vim.LayerEmbed / vim.LayerHead; Name follows vim.Config.Workload where the
// operation exists there ("patch_embed", "norm", "in_proj", "conv1d",
// "silu", "x_proj", "dt_proj", "softplus", "scan" and their "_b" backward
// twins, "silu_z", "gate", "out_proj", "norm_f", "head"). The integer
// datapath adds "input" (the boundary conversion of the image: its
// saturations), "pos_embed" (the int8 patch tokens brought to the residual
// scale and the cls/position constants added) and, per block, "residual"
// (the mixer output brought to the residual scale and added). "gate" is the
// direction merge (the D skip and the SiLU(z) gating run inside the scan
// unit and count under "scan").
type Op struct {
	Layer int    `json:"layer"`
	Name  string `json:"name"`
}

// Indices of the operations in OpList.
const (
	opInput = iota
	opPatch
	opPos
	embedOps
)

// Offsets of a block's operations from its first one.
const (
	opNorm = iota
	opInProj
	opSiLUZ
	opDir      // six per direction: conv1d, silu, x_proj, dt_proj, softplus, scan
	opGate     = opDir + 12
	opOutProj  = opGate + 1
	opResidual = opOutProj + 1
	blockOps   = opResidual + 1
)

// layerOp returns the index in OpList of operation off of block i; block
// Depth is the head (norm_f, head).
func layerOp(i, off int) int { return embedOps + i*blockOps + off }

// OpList returns the operations of the program of c, in execution order.
func OpList(c vim.Config) []Op {
	ops := []Op{{vim.LayerEmbed, "input"}, {vim.LayerEmbed, "patch_embed"}, {vim.LayerEmbed, "pos_embed"}}
	for i := 0; i < c.Depth; i++ {
		ops = append(ops, Op{i, "norm"}, Op{i, "in_proj"}, Op{i, "silu_z"})
		for _, s := range []string{"", "_b"} {
			for _, n := range []string{"conv1d", "silu", "x_proj", "dt_proj", "softplus", "scan"} {
				ops = append(ops, Op{i, n + s})
			}
		}
		ops = append(ops, Op{i, "gate"}, Op{i, "out_proj"}, Op{i, "residual"})
	}
	return append(ops, Op{vim.LayerHead, "norm_f"}, Op{vim.LayerHead, "head"})
}

// scaling gives the scale of element (r, c) of a rows×cols tensor: one
// value, one per column (channel) or a token scale per row.
type scaling struct {
	uniform float64
	chans   []float64
	tok     *intprog.TokenScale
}

func (s scaling) at(r, c int) float64 {
	switch {
	case s.chans != nil:
		return s.chans[c]
	case s.tok != nil:
		return s.tok.At(r)
	}
	return s.uniform
}

// single returns the scale of every element, or 0 when they differ.
func (s scaling) single() float64 {
	switch {
	case s.chans != nil:
		for _, v := range s.chans {
			if v != s.chans[0] {
				return 0
			}
		}
		return s.chans[0]
	case s.tok != nil:
		for _, g := range s.tok.Group {
			if s.tok.Exp[g] != s.tok.Exp[s.tok.Group[0]] {
				return 0
			}
		}
		return s.tok.At(0)
	}
	return s.uniform
}

// mk dequantizes the rows×cols codes with s, transposed to cols×rows when
// transpose is set (the (E,L) and (2E,L) layouts of vim's taps).
func mk(name string, codes []float64, rows, cols int, transpose bool, s scaling) Tensor {
	out := make([]float64, len(codes))
	single := s.single()
	var lsb []float64
	if single == 0 {
		lsb = make([]float64, len(codes))
	}
	shape := []int{rows, cols}
	if transpose {
		shape = []int{cols, rows}
	}
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			sc := s.at(r, c)
			i := r*cols + c
			if transpose {
				i = c*rows + r
			}
			out[i] = codes[r*cols+c] * sc
			if lsb != nil {
				lsb[i] = sc
			}
		}
	}
	if rows == 1 && !transpose {
		shape = []int{cols}
	}
	return Tensor{Name: name, Shape: shape, Data: out, Scale: single, LSB: lsb}
}

func int8s(v []int8) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func int16s(v []int16) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func int32s(v []int32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
