package sim

import (
	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/quant/intprog"
)

// Tensor is a tapped tensor, dequantized to float64 (code·scale). Names and
// layouts follow vim.Tap where the float reference has the tensor:
// "patch_embed" (M,D), "tokens" (L,D), "layers.{i}.residual", ".norm_out",
// ".out" (L,D), "layers.{i}.mixer.xz" (2E,L), ".mixer.z_gate" (L,E: SiLU(z)),
// ".mixer.{fwd,bwd}.conv", ".conv_silu", ".dt", ".delta", ".ssm_y" (the
// scan output y′ before the D skip and the gate), ".y" (the gated output),
// all (E,L) in scan order, ".x_dbl" (L,R+2N), ".mixer.y_comb" (L,E),
// "final_residual" (L,D), "features" (D). The final norm runs on the cls
// row only. The program's op list says which op taps what (intprog.Tap).
type Tensor struct {
	Name  string
	Shape []int
	Data  []float64
	// Scale is the scale of every element when the tensor has a single
	// one (its LSB), else 0 and LSB holds the scale of each element.
	Scale float64
	LSB   []float64
}

// runner runs one op of the program; scanTaps, when set, receives a scan's
// y′. The engine runs ops; tapper decorates it.
type runner interface {
	run(op *intprog.Op, scanTaps *datapath.ScanTaps, k *datapath.Counters) error
}

// tapper is the decorator that emits the tapped tensors of every op
// (Op.Taps), by their site, around the op's execution: its input before,
// its output and a scan's y′ after.
type tapper struct {
	runner
	e    *engine
	emit func(Tensor)
}

func (t *tapper) run(op *intprog.Op, _ *datapath.ScanTaps, k *datapath.Counters) error {
	var st *datapath.ScanTaps
	for _, tp := range op.Taps {
		switch tp.Of {
		case intprog.TapIn:
			t.emit(dequantize(tp, t.e.bufs[op.In[0].Buf]))
		case intprog.TapScanY:
			st = &datapath.ScanTaps{Y: datapath.NewMatrix[int8](op.M, op.N)}
		}
	}
	if err := t.runner.run(op, st, k); err != nil {
		return err
	}
	for _, tp := range op.Taps {
		switch tp.Of {
		case intprog.TapOut:
			t.emit(dequantize(tp, t.e.bufs[op.Out]))
		case intprog.TapScanY:
			t.emit(dequantize(tp, tensor{i8: st.Y}))
		}
	}
	return nil
}

// dequantize returns x as the tensor of tap tp: codes times tp.Scale, in
// the reference's layout ((cols, rows) when tp.Transpose; one dimension
// for a single row).
func dequantize(tp intprog.Tap, x tensor) Tensor {
	codes, rows, cols := x.codes()
	s := tp.Scale
	out := make([]float64, len(codes))
	single := s.Single()
	var lsb []float64
	if single == 0 {
		lsb = make([]float64, len(codes))
	}
	shape := []int{rows, cols}
	if tp.Transpose {
		shape = []int{cols, rows}
	}
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			sc := s.At(r, c)
			i := r*cols + c
			if tp.Transpose {
				i = c*rows + r
			}
			out[i] = codes[r*cols+c] * sc
			if lsb != nil {
				lsb[i] = sc
			}
		}
	}
	if rows == 1 && !tp.Transpose {
		shape = []int{cols}
	}
	return Tensor{Name: tp.Site.String(), Shape: shape, Data: out, Scale: single, LSB: lsb}
}
