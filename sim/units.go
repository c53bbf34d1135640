package sim

import (
	"fmt"
	"sync"

	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/quant/intprog"
)

// units are the datapath units as the interpreter calls them: one method
// per unit function of hw/datapath, each call with the op it runs for (and
// for a GEMM the split-K partial sum it computes). datapathUnits runs them;
// decorators wrap it (recordingUnits records every call for golden
// vectors). A call writes dst and adds its counts to k.
type units interface {
	gemm(op *intprog.Op, group int, dst datapath.Matrix[int32], a datapath.Matrix[int8], w *datapath.Weights, k *datapath.Counters) error
	requantize(op *intprog.Op, dst tensor, acc datapath.Matrix[int32], q *datapath.Requantizer, k *datapath.Counters) error
	requantizeGroups(op *intprog.Op, dst tensor, accs []datapath.Matrix[int32], q *datapath.GroupRequantizer, k *datapath.Counters) error
	tables(op *intprog.Op, dst, src datapath.Matrix[int8], t *datapath.ChannelTables, k *datapath.Counters) error
	depthwiseConv(op *intprog.Op, dst datapath.Matrix[int32], x, w datapath.Matrix[int8], k *datapath.Counters) error
	scan(op *intprog.Op, dst datapath.Matrix[int16], in datapath.ScanInputs, p *datapath.ScanParams, taps *datapath.ScanTaps, k *datapath.Counters) error
	rmsNorm(op *intprog.Op, dst datapath.Matrix[int8], x datapath.Matrix[int32], p *datapath.NormParams, k *datapath.Counters) error
	merge(op *intprog.Op, dst datapath.Matrix[int8], fwd, bwd datapath.Matrix[int16], k *datapath.Counters) error
	residualAdd(op *intprog.Op, dst, src datapath.Matrix[int32], k *datapath.Counters) error
}

// tensor is a buffer or an operand: a matrix of the element type of its
// format, exactly one of i8, i16, i32 set.
type tensor struct {
	i8  datapath.Matrix[int8]
	i16 datapath.Matrix[int16]
	i32 datapath.Matrix[int32]
}

// newTensor allocates a rows×cols tensor of format f (int8, int16, int32).
func newTensor(f intprog.Format, rows, cols int) (tensor, error) {
	switch {
	case f.Signed && f.Bits == 8:
		return tensor{i8: datapath.NewMatrix[int8](rows, cols)}, nil
	case f.Signed && f.Bits == 16:
		return tensor{i16: datapath.NewMatrix[int16](rows, cols)}, nil
	case f.Signed && f.Bits == 32:
		return tensor{i32: datapath.NewMatrix[int32](rows, cols)}, nil
	}
	return tensor{}, fmt.Errorf("no %s buffers in the datapath", f)
}

// codes returns the values of t as float64 codes.
func (t tensor) codes() (v []float64, rows, cols int) {
	switch {
	case t.i8.Data != nil:
		return floats(t.i8.Data), t.i8.Rows, t.i8.Cols
	case t.i16.Data != nil:
		return floats(t.i16.Data), t.i16.Rows, t.i16.Cols
	}
	return floats(t.i32.Data), t.i32.Rows, t.i32.Cols
}

func floats[T datapath.Integer](v []T) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// datapathUnits runs the units of hw/datapath. With par ≥ 2 goroutines it
// splits a GEMM by rows and, with par ≥ 4, a scan without taps by blocks of
// channels; the results and the counts are those of one call.
type datapathUnits struct {
	par  int
	exp  *datapath.Exp2Unit
	norm *datapath.NormUnit
}

func (u *datapathUnits) gemm(_ *intprog.Op, _ int, dst datapath.Matrix[int32], a datapath.Matrix[int8], w *datapath.Weights, k *datapath.Counters) error {
	parts := min(u.par, a.Rows/16)
	if parts < 2 || dst.Rows != a.Rows {
		return datapath.GEMM(dst, a, w, k)
	}
	step := ((a.Rows+parts-1)/parts + 3) &^ 3 // multiples of the kernel's 4 rows, covering every row
	ks := make([]datapath.Counters, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for j := 0; j < parts; j++ {
		r0, r1 := min(j*step, a.Rows), min((j+1)*step, a.Rows)
		if r0 == r1 {
			continue
		}
		wg.Add(1)
		go func(j, r0, r1 int) {
			defer wg.Done()
			sa := datapath.Matrix[int8]{Rows: r1 - r0, Cols: a.Cols, Data: a.Data[r0*a.Cols : r1*a.Cols]}
			sd := datapath.Matrix[int32]{Rows: r1 - r0, Cols: dst.Cols, Data: dst.Data[r0*dst.Cols : r1*dst.Cols]}
			errs[j] = datapath.GEMM(sd, sa, w, &ks[j])
		}(j, r0, r1)
	}
	wg.Wait()
	return sum(k, ks, errs)
}

// sum adds the counters of the parts of a split call to k, or returns the
// first error.
func sum(k *datapath.Counters, ks []datapath.Counters, errs []error) error {
	for j := range ks {
		if errs[j] != nil {
			return errs[j]
		}
		k.Add(ks[j])
	}
	return nil
}

func (u *datapathUnits) requantize(_ *intprog.Op, dst tensor, acc datapath.Matrix[int32], q *datapath.Requantizer, k *datapath.Counters) error {
	if dst.i8.Data != nil {
		return datapath.Requantize(dst.i8, acc, q, 0, k)
	}
	return datapath.Requantize(dst.i32, acc, q, 0, k)
}

func (u *datapathUnits) requantizeGroups(_ *intprog.Op, dst tensor, accs []datapath.Matrix[int32], q *datapath.GroupRequantizer, k *datapath.Counters) error {
	if dst.i8.Data != nil {
		return datapath.RequantizeGroups(dst.i8, accs, q, k)
	}
	return datapath.RequantizeGroups(dst.i32, accs, q, k)
}

func (u *datapathUnits) tables(_ *intprog.Op, dst, src datapath.Matrix[int8], t *datapath.ChannelTables, k *datapath.Counters) error {
	return t.Apply(dst, src, k)
}

func (u *datapathUnits) depthwiseConv(_ *intprog.Op, dst datapath.Matrix[int32], x, w datapath.Matrix[int8], k *datapath.Counters) error {
	return datapath.DepthwiseConv(dst, x, w, k)
}

func (u *datapathUnits) rmsNorm(_ *intprog.Op, dst datapath.Matrix[int8], x datapath.Matrix[int32], p *datapath.NormParams, k *datapath.Counters) error {
	return datapath.RMSNorm(dst, x, u.norm, p, k)
}

func (u *datapathUnits) merge(_ *intprog.Op, dst datapath.Matrix[int8], fwd, bwd datapath.Matrix[int16], k *datapath.Counters) error {
	return datapath.Merge(dst, fwd, bwd, k)
}

func (u *datapathUnits) residualAdd(_ *intprog.Op, dst, src datapath.Matrix[int32], k *datapath.Counters) error {
	return datapath.ResidualAdd(dst, src, k)
}

// scan runs the scan, split into blocks of channels on their own
// goroutines when the image has cores to spare and no taps are asked: the
// E state-lane groups are independent (DATAPATH.md §8), so each block is
// the scan unit on a column slice with the per-channel constants sliced and
// the per-step constants shared.
func (u *datapathUnits) scan(_ *intprog.Op, dst datapath.Matrix[int16], in datapath.ScanInputs, sp *datapath.ScanParams, taps *datapath.ScanTaps, k *datapath.Counters) error {
	blocks := u.par / 2
	if blocks < 2 || taps != nil {
		return datapath.Scan(dst, in, sp, u.exp, taps, k)
	}
	E, N, L := sp.Channels, sp.States, sp.Steps
	step := (E + blocks - 1) / blocks
	ks := make([]datapath.Counters, blocks)
	errs := make([]error, blocks)
	var wg sync.WaitGroup
	for j := 0; j < blocks; j++ {
		lo, hi := min(j*step, E), min((j+1)*step, E)
		if lo == hi {
			continue
		}
		wg.Add(1)
		go func(j, lo, hi int) {
			defer wg.Done()
			sub := *sp
			sub.Channels = hi - lo
			sub.ANeg = sp.ANeg[lo*N : hi*N]
			sub.UChan, sub.UChanNorm = sp.UChan[lo:hi], sp.UChanNorm[lo:hi]
			sub.SkipShift, sub.SkipD, sub.Gate = sp.SkipShift[lo:hi], sp.SkipD[lo:hi], sp.Gate[lo:hi]
			cols := func(m datapath.Matrix[int8]) datapath.Matrix[int8] {
				out := datapath.NewMatrix[int8](L, hi-lo)
				for t := 0; t < L; t++ {
					copy(out.Row(t), m.Row(t)[lo:hi])
				}
				return out
			}
			bin := datapath.ScanInputs{X: cols(in.X), Delta: cols(in.Delta), Z: cols(in.Z), B: in.B, C: in.C}
			out := datapath.NewMatrix[int16](L, hi-lo)
			if errs[j] = datapath.Scan(out, bin, &sub, u.exp, nil, &ks[j]); errs[j] != nil {
				return
			}
			for t := 0; t < L; t++ {
				copy(dst.Row(t)[lo:hi], out.Row(t))
			}
		}(j, lo, hi)
	}
	wg.Wait()
	return sum(k, ks, errs)
}
