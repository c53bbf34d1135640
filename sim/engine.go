package sim

import (
	"fmt"
	"math"
	"sync"

	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/quant/intprog"
)

// engine runs the ops of a program on one worker's buffers: it is the
// interpreter of the op list, and the runner the tapper decorates.
type engine struct {
	p    *intprog.Program
	list *intprog.List
	par  int // goroutines available inside one image
	u    units
	bufs []tensor // one per buffer of the list
	// views hold the operands that are not a slice of their buffer
	// (column windows, flipped rows), filled when an op reads them.
	views map[intprog.Operand]tensor
	scr   []*scratch // per chain
	img   []float64  // the image being run
	pix   []int8     // its int8 codes, C×H×W
}

// scratch holds the temporaries of one chain's kernels, grown to the
// largest op and reused.
type scratch struct {
	accs [][]int32
	gath [][]int8
	mats []datapath.Matrix[int32]
	mid  []int32
	wide []int32
}

// mat returns a rows×cols matrix on buf, growing it when needed.
func mat[T datapath.Integer](buf *[]T, rows, cols int) datapath.Matrix[T] {
	n := rows * cols
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	return datapath.Matrix[T]{Rows: rows, Cols: cols, Data: (*buf)[:n]}
}

// accumulators returns n rows×cols accumulator matrices.
func (s *scratch) accumulators(n, rows, cols int) []datapath.Matrix[int32] {
	for len(s.accs) < n {
		s.accs = append(s.accs, nil)
	}
	s.mats = s.mats[:0]
	for g := 0; g < n; g++ {
		s.mats = append(s.mats, mat(&s.accs[g], rows, cols))
	}
	return s.mats
}

// gathered returns the matrix for the input columns of partial sum g.
func (s *scratch) gathered(g, rows, cols int) datapath.Matrix[int8] {
	for len(s.gath) <= g {
		s.gath = append(s.gath, nil)
	}
	return mat(&s.gath[g], rows, cols)
}

func newEngine(p *intprog.Program, par int, rec Recorder) *engine {
	l := p.List()
	c := p.Config
	e := &engine{p: p, list: l, par: par, views: map[intprog.Operand]tensor{},
		pix: make([]int8, c.Channels*c.ImgH*c.ImgW)}
	e.u = &datapathUnits{par: par, exp: p.ExpUnit(), norm: p.NormUnit()}
	if rec != nil {
		e.u = &recordingUnits{units: e.u, rec: rec, exp: p.ExpUnit(), norm: p.NormUnit()}
	}
	e.bufs = make([]tensor, len(l.Buffers))
	for i, b := range l.Buffers {
		e.bufs[i], _ = newTensor(b.Format, b.Rows, b.Cols) // check accepted the formats
	}
	chains := 0
	for i := range l.Ops {
		op := &l.Ops[i]
		chains = max(chains, op.Chain)
		for _, o := range op.In {
			b := l.Buffers[o.Buf]
			rows, cols := o.Shape(b)
			if _, ok := e.views[o]; !ok && (o.Flip || cols != b.Cols) {
				e.views[o], _ = newTensor(b.Format, rows, cols)
			}
		}
	}
	e.scr = make([]*scratch, chains+1)
	for i := range e.scr {
		e.scr[i] = &scratch{}
	}
	return e
}

// check reports what the engine cannot run: a kind it has no kernel for,
// an op without the constants of its kind, operands of the wrong count or
// element width, or a last op that does not write the int32 logits.
func check(l *intprog.List, classes int) error {
	for i := range l.Ops {
		op := &l.Ops[i]
		pr := &op.Params
		var in []int
		out, ok := 8, false
		switch op.Kind {
		case intprog.KindInput:
			ok = pr.Input != nil
		case intprog.KindGEMM:
			in, out = []int{8}, 0
			switch op.Combine {
			case intprog.Requant:
				ok = pr.Linear != nil
			case intprog.GroupRequant:
				ok = pr.Split != nil
			case intprog.GroupThenRequant:
				ok = pr.Split != nil && pr.Linear != nil
			}
		case intprog.KindDWConv:
			in, ok = []int{8}, pr.ConvW != nil && pr.Req != nil
		case intprog.KindSiLU, intprog.KindSoftplus:
			in, ok = []int{8}, pr.Tables != nil
		case intprog.KindScan:
			in, out, ok = []int{8, 8, 8, 8, 8}, 16, pr.Scan != nil
		case intprog.KindGate:
			in, ok = []int{16, 16}, true
		case intprog.KindNorm:
			in, ok = []int{32}, pr.Norm != nil
		case intprog.KindAdd:
			in, out, ok = []int{8}, 32, pr.Req != nil && pr.Table != nil
		case intprog.KindResidual:
			in, out, ok = []int{8}, 32, pr.Req != nil
		}
		if !ok {
			return fmt.Errorf("op %s (layer %d): no kernel for %s with these constants", op.Name, op.Layer, op.Kind)
		}
		if len(op.In) != len(in) {
			return fmt.Errorf("op %s (layer %d): %d operands, the %s kernel takes %d", op.Name, op.Layer, len(op.In), op.Kind, len(in))
		}
		for j, o := range op.In {
			if f := l.Buffers[o.Buf].Format; f != intprog.Int(in[j]) {
				return fmt.Errorf("op %s (layer %d): operand %d is %s, the %s kernel takes int%d", op.Name, op.Layer, j, f, op.Kind, in[j])
			}
		}
		f := l.Buffers[op.Out].Format
		if (out != 0 && f != intprog.Int(out)) || (out == 0 && f != intprog.Int(8) && f != intprog.Int(32)) {
			return fmt.Errorf("op %s (layer %d): %s output buffer", op.Name, op.Layer, f)
		}
	}
	if n := len(l.Ops); n == 0 {
		return fmt.Errorf("no op")
	} else if b := l.Buffers[l.Ops[n-1].Out]; b.Rows != 1 || b.Cols != classes || b.Format != intprog.Int(32) {
		return fmt.Errorf("the last op writes %s (%dx%d %s), not %d int32 logits", b.Name, b.Rows, b.Cols, b.Format, classes)
	}
	return nil
}

// image runs one image through r (the engine or its tapper), writing its
// int32 logits to codes and adding the counters of op i to ctr[i]. Runs of
// ops of chains > 0 in one layer run chain by chain on their own goroutines
// when the image has cores to spare.
func (e *engine) image(r runner, img []float64, codes []int32, ctr []datapath.Counters) error {
	e.img = img
	ops := e.list.Ops
	for i := 0; i < len(ops); {
		if ops[i].Chain > 0 && e.par >= 2 {
			j := i + 1
			for j < len(ops) && ops[j].Chain > 0 && ops[j].Layer == ops[i].Layer {
				j++
			}
			if err := e.chains(r, ops[i:j], ctr[i:j]); err != nil {
				return err
			}
			i = j
			continue
		}
		if err := e.step(r, &ops[i], &ctr[i]); err != nil {
			return err
		}
		i++
	}
	copy(codes, e.bufs[ops[len(ops)-1].Out].i32.Data)
	return nil
}

// step runs one op, naming it in an error (the input conversion's errors
// name the image value).
func (e *engine) step(r runner, op *intprog.Op, k *datapath.Counters) error {
	err := r.run(op, nil, k)
	if err != nil && op.Kind != intprog.KindInput {
		err = fmt.Errorf("%s (layer %d): %w", op.Name, op.Layer, err)
	}
	return err
}

// chains runs each chain of ops (in list order within a chain) on its own
// goroutine.
func (e *engine) chains(r runner, ops []intprog.Op, ctr []datapath.Counters) error {
	n := 0
	for i := range ops {
		n = max(n, ops[i].Chain)
	}
	errs := make([]error, n+1)
	var wg sync.WaitGroup
	for c := 1; c <= n; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := range ops {
				if ops[i].Chain == c {
					if errs[c] = e.step(r, &ops[i], &ctr[i]); errs[c] != nil {
						return
					}
				}
			}
		}(c)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// operand returns the part of its buffer that o names: the buffer itself,
// a slice of whole rows, or a view filled from the buffer.
func (e *engine) operand(o intprog.Operand) tensor {
	b := e.bufs[o.Buf]
	if o.Whole() {
		return b
	}
	if v, ok := e.views[o]; ok {
		fill(v.i8, b.i8, o)
		fill(v.i16, b.i16, o)
		fill(v.i32, b.i32, o)
		return v
	}
	rows, _ := o.Shape(e.list.Buffers[o.Buf])
	return tensor{i8: rowSlice(b.i8, o.Row, rows), i16: rowSlice(b.i16, o.Row, rows), i32: rowSlice(b.i32, o.Row, rows)}
}

// fill copies the rows (reversed when o.Flip) and columns of src that o
// names into dst.
func fill[T datapath.Integer](dst, src datapath.Matrix[T], o intprog.Operand) {
	for r := 0; r < dst.Rows; r++ {
		sr := o.Row + r
		if o.Flip {
			sr = o.Row + dst.Rows - 1 - r
		}
		copy(dst.Row(r), src.Row(sr)[o.Col:o.Col+dst.Cols])
	}
}

// rowSlice returns rows [r0, r0+n) of m (nothing for an unset m).
func rowSlice[T datapath.Integer](m datapath.Matrix[T], r0, n int) datapath.Matrix[T] {
	if m.Data == nil {
		return m
	}
	return datapath.Matrix[T]{Rows: n, Cols: m.Cols, Data: m.Data[r0*m.Cols : (r0+n)*m.Cols]}
}

// run executes op on its operands (the kernel of its kind), calling the
// units; scanTaps, when set, receives a scan's y′.
func (e *engine) run(op *intprog.Op, scanTaps *datapath.ScanTaps, k *datapath.Counters) error {
	s := e.scr[op.Chain]
	out := e.bufs[op.Out]
	pr := &op.Params
	switch op.Kind {
	case intprog.KindInput:
		return e.input(out.i8, k)
	case intprog.KindGEMM:
		return e.gemm(op, s, e.operand(op.In[0]).i8, out, k)
	case intprog.KindDWConv:
		x := e.operand(op.In[0]).i8
		acc := s.accumulators(1, x.Rows, op.N)[0]
		if err := e.u.depthwiseConv(op, acc, x, *pr.ConvW, k); err != nil {
			return err
		}
		return e.u.requantize(op, out, acc, pr.Req, k)
	case intprog.KindSiLU, intprog.KindSoftplus:
		return e.u.tables(op, out.i8, e.operand(op.In[0]).i8, pr.Tables, k)
	case intprog.KindScan:
		in := datapath.ScanInputs{X: e.operand(op.In[0]).i8, Delta: e.operand(op.In[1]).i8, Z: e.operand(op.In[2]).i8,
			B: e.operand(op.In[3]).i8, C: e.operand(op.In[4]).i8}
		return e.u.scan(op, out.i16, in, pr.Scan, scanTaps, k)
	case intprog.KindGate:
		return e.u.merge(op, out.i8, e.operand(op.In[0]).i16, e.operand(op.In[1]).i16, k)
	case intprog.KindNorm:
		return e.u.rmsNorm(op, out.i8, e.operand(op.In[0]).i32, pr.Norm, k)
	case intprog.KindAdd:
		return e.embedAdd(op, s, e.operand(op.In[0]).i8, out.i32, k)
	case intprog.KindResidual:
		add, err := e.toResidual(op, s, e.operand(op.In[0]).i8, k)
		if err != nil {
			return err
		}
		return e.u.residualAdd(op, out.i32, add, k)
	}
	return fmt.Errorf("no kernel for %s", op.Kind)
}

// input converts the normalised image to int8 codes (the boundary
// conversion, intprog.Input) and lays out the patch-embedding im2col
// matrix cols in the order of the weight's (c, kh, kw) flattening.
func (e *engine) input(cols datapath.Matrix[int8], k *datapath.Counters) error {
	c := e.p.Config
	plane := c.ImgH * c.ImgW
	in := &e.p.Input
	var sat int64
	for ch := 0; ch < c.Channels; ch++ {
		g, o := in.Gain[ch], in.Offset[ch]
		for i, v := range e.img[ch*plane : (ch+1)*plane] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("input value %d is %v", ch*plane+i, v)
			}
			q := math.RoundToEven(v*g + o)
			if q > 127 {
				q, sat = 127, sat+1
			} else if q < -128 {
				q, sat = -128, sat+1
			}
			e.pix[ch*plane+i] = int8(q)
		}
	}
	k.Saturations += sat
	P, S := c.Patch, c.Stride
	gh, gw := c.GridH(), c.GridW()
	kk := c.Channels * P * P
	for py := 0; py < gh; py++ {
		for px := 0; px < gw; px++ {
			row := cols.Data[(py*gw+px)*kk:]
			for ch := 0; ch < c.Channels; ch++ {
				src := e.pix[ch*plane:]
				for ky := 0; ky < P; ky++ {
					s := src[(py*S+ky)*c.ImgW+px*S:]
					copy(row[(ch*P+ky)*P:(ch*P+ky)*P+P], s[:P])
				}
			}
		}
	}
	return nil
}

// gemm runs a GEMM op: one product and requantizer, or one product per
// split-K group on the group's gathered input columns, the bias preloaded
// into the first group's accumulators, and the group requantizer (to the
// output, or to int32 followed by the requantizer).
func (e *engine) gemm(op *intprog.Op, s *scratch, a datapath.Matrix[int8], out tensor, k *datapath.Counters) error {
	pr := &op.Params
	M, N := a.Rows, op.N
	if op.Combine == intprog.Requant {
		acc := s.accumulators(1, M, N)[0]
		if err := e.u.gemm(op, 0, acc, a, pr.Linear.W, k); err != nil {
			return err
		}
		return e.u.requantize(op, out, acc, &pr.Linear.Req, k)
	}
	g := pr.Split
	n := g.Groups()
	accs := s.accumulators(n, M, N)
	for i := range accs {
		cols, w := g.Part(i)
		ai := a
		if n > 1 {
			ai = s.gathered(i, M, len(cols))
			if err := datapath.GatherColumns(ai, a, cols); err != nil {
				return err
			}
		}
		if err := e.u.gemm(op, i, accs[i], ai, w, k); err != nil {
			return err
		}
	}
	addBias(accs[0], g.Bias, k)
	if op.Combine == intprog.GroupRequant {
		return e.u.requantizeGroups(op, out, accs, &g.Req, k)
	}
	mid := mat(&s.mid, M, N)
	if err := e.u.requantizeGroups(op, tensor{i32: mid}, accs, &g.Req, k); err != nil {
		return err
	}
	return e.u.requantize(op, out, mid, &pr.Linear.Req, k)
}

// addBias preloads bias into the accumulators (saturating to int32, one
// Overflow per clamp, as the requantizer's bias add).
func addBias(acc datapath.Matrix[int32], bias []int32, k *datapath.Counters) {
	if bias == nil {
		return
	}
	for i := 0; i < acc.Rows; i++ {
		row := acc.Row(i)
		for j, b := range bias {
			v := int64(row[j]) + int64(b)
			if v > math.MaxInt32 || v < math.MinInt32 {
				v = max(min(v, math.MaxInt32), math.MinInt32)
				k.Overflows++
			}
			row[j] = int32(v)
		}
	}
}

// toResidual brings int8 codes to the int32 residual scale (op's
// requantizer).
func (e *engine) toResidual(op *intprog.Op, s *scratch, x datapath.Matrix[int8], k *datapath.Counters) (datapath.Matrix[int32], error) {
	wide := mat(&s.wide, x.Rows, x.Cols)
	for i, v := range x.Data {
		wide.Data[i] = int32(v)
	}
	res := mat(&s.mid, x.Rows, x.Cols)
	return res, e.u.requantize(op, tensor{i32: res}, wide, op.Params.Req, k)
}

// embedAdd starts the residual stream: the patch tokens at the residual
// scale in the rows around the cls row (0 there), plus the constant table.
func (e *engine) embedAdd(op *intprog.Op, s *scratch, patch datapath.Matrix[int8], res datapath.Matrix[int32], k *datapath.Counters) error {
	tok, err := e.toResidual(op, s, patch, k)
	if err != nil {
		return err
	}
	D, tp := res.Cols, e.p.Config.ClsPos()
	copy(res.Data[:tp*D], tok.Data[:tp*D])
	clear(res.Row(tp))
	copy(res.Data[(tp+1)*D:], tok.Data[tp*D:])
	return e.u.residualAdd(op, res, *op.Params.Table, k)
}
