package sim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/internal/num"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/vim"
)

// Method is one way of computing logits, a row of an evaluation: Predict
// maps n preprocessed images (n·C·H·W values) to n·classes logits.
type Method struct {
	Name    string
	Predict func(imgs []float64, n int) ([]float64, error)
}

// Names of the integer-datapath rows of an evaluation.
const (
	// MethodInt8 is the paper method's quantized model on the datapath.
	MethodInt8 = "int8"
	// MethodInt8Naive is the naive method's quantized model on the datapath.
	MethodInt8Naive = "int8-naive"
)

// FloatMethod is the float reference forward pass, "fp32" or "fp64".
func FloatMethod(m *vim.Model, p vim.Precision) Method {
	name := "fp64"
	if p == vim.F32 {
		name = "fp32"
	}
	return Method{Name: name, Predict: func(imgs []float64, n int) ([]float64, error) {
		return m.Infer(imgs, n, p)
	}}
}

// IntegerMethods returns the integer-datapath rows among names, in their
// order: MethodInt8 and MethodInt8Naive (other names are skipped). qmodel
// returns the quantized model of a method (shared with the fake-quant
// rows, so that both run the same calibration); the programs are built
// from it (quant.Build) with the merge scales calibrated on calib,
// described by desc.
func IntegerMethods(names []string, m *vim.Model, calib quant.Images, desc string, qmodel func(method string) (*quant.QModel, error)) ([]Method, error) {
	var out []Method
	for _, name := range names {
		var method string
		switch name {
		case MethodInt8:
			method = quant.MethodPaper
		case MethodInt8Naive:
			method = quant.MethodNaive
		default:
			continue
		}
		qm, err := qmodel(method)
		if err != nil {
			return nil, err
		}
		b, err := quant.Build(m, calib, quant.BuildOptions{QModel: qm, Data: desc})
		if err != nil {
			return nil, err
		}
		p := b.Program
		out = append(out, Method{Name: name, Predict: func(imgs []float64, n int) ([]float64, error) {
			res, err := Run(p, imgs, n, Options{})
			if err != nil {
				return nil, err
			}
			return res.Logits, nil
		}})
	}
	return out, nil
}

// QuantSource is where QuantMethods gets the quantized models of its rows.
type QuantSource struct {
	// File is a quantized model read from a file: the rows of its method
	// use it instead of calibrating one.
	File *quant.QModel
	// Options calibrate the models of the other methods (Method and Data
	// are set for each).
	Options quant.Options
	// Calibration returns the calibration images and their description.
	// It is called once, when a row first needs them: a method's model is
	// calibrated on them, and the merge scales of the integer rows.
	Calibration func() (quant.Images, string, error)
}

// QuantMethods returns the evaluation rows of names after the float
// reference: a fake-quant row (quant.QModel.Infer) for a quantization
// method, an integer-datapath row for MethodInt8 and MethodInt8Naive. A
// method is calibrated once, on first use, and shared by its fake-quant
// and integer rows.
func QuantMethods(m *vim.Model, names []string, src QuantSource) ([]Method, error) {
	var (
		once  sync.Once
		imgs  quant.Images
		desc  string
		ioErr error
	)
	calibration := func() (quant.Images, string, error) {
		once.Do(func() { imgs, desc, ioErr = src.Calibration() })
		return imgs, desc, ioErr
	}
	models := map[string]*quant.QModel{}
	qmodel := func(method string) (*quant.QModel, error) {
		if src.File != nil && src.File.Method == method {
			return src.File, nil
		}
		if qm, ok := models[method]; ok {
			return qm, nil
		}
		imgs, desc, err := calibration()
		if err != nil {
			return nil, err
		}
		opt := src.Options
		opt.Method, opt.Data = method, desc
		qm, err := quant.Calibrate(m, imgs, opt)
		if err != nil {
			return nil, fmt.Errorf("calibrate %s: %w", method, err)
		}
		models[method] = qm
		return qm, nil
	}
	var rows []Method
	for _, name := range names {
		if name == MethodInt8 || name == MethodInt8Naive {
			imgs, desc, err := calibration()
			if err != nil {
				return nil, err
			}
			r, err := IntegerMethods([]string{name}, m, imgs, desc, qmodel)
			if err != nil {
				return nil, err
			}
			rows = append(rows, r...)
			continue
		}
		qm, err := qmodel(name)
		if err != nil {
			return nil, err
		}
		rows = append(rows, Method{Name: name, Predict: qm.Infer})
	}
	return rows, nil
}

// EvalOptions configure Evaluate.
type EvalOptions struct {
	// Predictions, if not nil, receives the reference (first) method's
	// predicted class of each image, one per line.
	Predictions io.Writer
	// OnBatch, if not nil, is told the number of images done after each
	// batch.
	OnBatch func(done int)
	// Context, when set, stops the evaluation with its error once it is
	// done (checked before each batch of each method).
	Context context.Context
	// Part, if not nil, receives the evaluation's per-image results (see
	// EvalPart), for a sharded run.
	Part *EvalPart
}

// MethodStats are one method's results over an evaluation.
type MethodStats struct {
	Name       string
	Top1, Top5 int // images whose label is the top-1, in the top 5
	// Agree counts the images whose top-1 class is the reference's.
	Agree int
	// Signal and Noise are Σ ref² and Σ (logit − ref)² over all logits:
	// each image's sum, added in image order.
	Signal, Noise float64
	// Elapsed is the time spent in Predict.
	Elapsed time.Duration
}

// Evaluation is the result of Evaluate.
type Evaluation struct {
	Images  int
	Methods []MethodStats
}

// EvalTopK is the k of the top-k accuracy of an evaluation.
const EvalTopK = 5

// Evaluate runs every method on every batch of l, in order, and returns
// their statistics; the first method is the reference the others are
// compared with. classes is the logits width. The results do not depend on
// the batch size.
func Evaluate(l *data.Loader, classes int, methods []Method, opt EvalOptions) (*Evaluation, error) {
	if len(methods) == 0 {
		return nil, errors.New("eval: no method to run")
	}
	stats := make([]MethodStats, len(methods))
	for i, m := range methods {
		stats[i].Name = m.Name
	}
	if opt.Part != nil {
		*opt.Part = EvalPart{Methods: make([]MethodPart, len(methods))}
	}
	var bw *bufio.Writer
	if opt.Predictions != nil {
		bw = bufio.NewWriter(opt.Predictions)
	}
	done := 0
	var refTop []int
	for {
		b, err := l.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		var ref []float64
		for mi, m := range methods {
			if opt.Context != nil {
				if err := opt.Context.Err(); err != nil {
					return nil, err
				}
			}
			st := &stats[mi]
			t0 := time.Now()
			logits, err := m.Predict(b.Images, b.N)
			st.Elapsed += time.Since(t0)
			if err != nil {
				return nil, fmt.Errorf("eval %s: images %d..%d: %w", m.Name, b.Start, b.Start+b.N-1, err)
			}
			if len(logits) != b.N*classes {
				return nil, fmt.Errorf("eval %s: %d logits for %d images of %d classes", m.Name, len(logits), b.N, classes)
			}
			for i := range b.N {
				row := logits[i*classes : (i+1)*classes]
				for _, v := range row {
					if math.IsNaN(v) {
						return nil, fmt.Errorf("eval %s: image %d: NaN logit", m.Name, b.Start+i)
					}
				}
				r := labelRank(row, b.Labels[i])
				if r == 0 {
					st.Top1++
				}
				if r < EvalTopK {
					st.Top5++
				}
				top := num.Argmax(row)
				if mi == 0 {
					if i == 0 {
						refTop = refTop[:0]
					}
					refTop = append(refTop, top)
					if bw != nil {
						bw.WriteString(strconv.Itoa(top))
						bw.WriteByte('\n')
					}
					if opt.Part != nil {
						opt.Part.Predictions = append(opt.Part.Predictions, top)
					}
					continue
				}
				if top == refTop[i] {
					st.Agree++
				}
				var signal, noise float64
				for j, v := range row {
					r := ref[i*classes+j]
					signal += r * r
					noise += (v - r) * (v - r)
				}
				st.addImage(signal, noise)
				if opt.Part != nil {
					opt.Part.Methods[mi].Signal = append(opt.Part.Methods[mi].Signal, signal)
					opt.Part.Methods[mi].Noise = append(opt.Part.Methods[mi].Noise, noise)
				}
			}
			if mi == 0 {
				ref = logits
			}
		}
		done += b.N
		if opt.OnBatch != nil {
			opt.OnBatch(done)
		}
	}
	if bw != nil {
		if err := bw.Flush(); err != nil {
			return nil, err
		}
	}
	if p := opt.Part; p != nil {
		p.Images = done
		for i, st := range stats {
			p.Methods[i].Name, p.Methods[i].Top1, p.Methods[i].Top5, p.Methods[i].Agree = st.Name, st.Top1, st.Top5, st.Agree
		}
	}
	return &Evaluation{Images: done, Methods: stats}, nil
}

// labelRank is the number of classes ranked above label: those with a
// larger logit, or an equal one and a smaller index (the order of argmax).
// The label is in the top k when labelRank < k.
func labelRank(row []float64, label int) int {
	v := row[label]
	r := 0
	for j, x := range row {
		if x > v || (x == v && j < label) {
			r++
		}
	}
	return r
}

// AddAll adds every batch of l (see Add), telling onBatch, if not nil, the
// number of images done after each.
func (f *Fidelity) AddAll(l *data.Loader, onBatch func(done int)) error {
	done := 0
	for {
		if f.opt.Context != nil {
			if err := f.opt.Context.Err(); err != nil {
				return err
			}
		}
		b, err := l.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := f.Add(b.Images, b.Labels, b.N); err != nil {
			return err
		}
		done += b.N
		if onBatch != nil {
			onBatch(done)
		}
	}
}
