package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/sim"
	"github.com/vimsim/vimsim/vim"
)

// fidelityFlags select the integer-datapath fidelity summary of vimsim run.
type fidelityFlags struct {
	images int
	data   string
	calib  int
	prec   precisionFlags
}

func (f *fidelityFlags) register(fl *pflag.FlagSet) {
	fl.IntVar(&f.images, "fidelity", -1, "images of --fidelity-data run on the int8 datapath for the fidelity summary (-1: 64 for the embedded default model, which calibrates and simulates for some 10-20 s; else 0 = off, the cost model alone)")
	fl.StringVar(&f.data, "fidelity-data", "sample", "dataset of the fidelity summary and its calibration")
	fl.IntVar(&f.calib, "fidelity-calib", 64, "calibration images of the fidelity summary (paper method, W8A8 unless --recipe or the bit flags say otherwise)")
	f.prec.register(fl, "of the cost estimate (quant.OpList's formats) and of the fidelity summary's calibration")
}

// count resolves the automatic image count for model.
func (f *fidelityFlags) count(model string) (int, error) {
	switch {
	case f.images == -1 && model == vim.DefaultModel:
		return 64, nil
	case f.images == -1:
		return 0, nil
	case f.images < 0:
		return 0, fmt.Errorf("--fidelity %d: want -1, 0 or a positive count", f.images)
	}
	if f.calib < 1 {
		return 0, fmt.Errorf("--fidelity-calib %d: must be at least 1", f.calib)
	}
	var o quant.Options
	if err := f.prec.apply(&o); err != nil {
		return 0, err
	}
	return f.images, nil
}

// runFidelity calibrates the paper method on f.data, compiles the integer
// program and compares n images of f.data on the int8 datapath with the
// float reference and the fake-quant path.
func runFidelity(cmd *cobra.Command, mf *modelFlags, f fidelityFlags, n int) (*sim.FidelitySummary, error) {
	ctx := commandContext(cmd)
	m, err := mf.load()
	if err != nil {
		return nil, err
	}
	calib, desc, err := calibrationImages(f.data, "", f.calib, m.Config, 1, "--fidelity-calib")
	if err != nil {
		return nil, fmt.Errorf("--fidelity-data: %w", err)
	}
	qopt := quant.DefaultOptions()
	if err := f.prec.apply(&qopt); err != nil {
		return nil, err
	}
	qopt.Context = ctx
	bar, prog := calibrationBar(cmd, m.Config.Depth, true)
	qopt.Progress = prog
	b, err := quant.Build(m, calib, quant.BuildOptions{Quant: qopt, Data: desc, Context: ctx})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	p, qm := b.Program, b.QModel
	pre, err := data.NewPreprocessor(m.Config)
	if err != nil {
		return nil, err
	}
	ds, err := data.Open(f.data, "test")
	if err != nil {
		return nil, fmt.Errorf("--fidelity-data: %w", err)
	}
	defer ds.Close()
	imgs, labels, err := data.ReadAll(ds, pre, n)
	if err != nil {
		return nil, fmt.Errorf("--fidelity-data %s: %w", f.data, err)
	}
	fid, err := sim.NewFidelity(p, m, qm, sim.FidelityOptions{Context: ctx})
	if err != nil {
		return nil, err
	}
	n = len(labels)
	size := len(imgs) / max(n, 1)
	ibar := newBar(cmd, n, "fidelity", "images")
	const chunk = 8
	for start := 0; start < n; start += chunk {
		end := min(n, start+chunk)
		if err := fid.Add(imgs[start*size:end*size], labels[start:end], end-start); err != nil {
			ibar.Abort()
			return nil, err
		}
		ibar.Set(end)
	}
	ibar.Finish()
	rep, err := fid.Report()
	if err != nil {
		return nil, err
	}
	s := rep.Summary(f.data)
	s.Recipe = modelRecipeName(qm)
	return &s, nil
}

// writeFidelityTable prints the summary under the run table.
func writeFidelityTable(w io.Writer, s *sim.FidelitySummary) error {
	if s.Recipe == "" {
		fmt.Fprintf(w, "\nfidelity (%s W8A8 on the int8 datapath, %d images of %s):\n", s.Method, s.Images, s.Data)
	} else {
		fmt.Fprintf(w, "\nfidelity (%s, recipe %s, on the integer datapath, %d images of %s):\n", s.Method, s.Recipe, s.Images, s.Data)
	}
	for _, p := range s.Paths {
		top1 := "n/a"
		if p.Top1 != nil {
			top1 = fmt.Sprintf("%.4f", *p.Top1)
		}
		fmt.Fprintf(w, "  %-11s top-1 %s, agreement with fp64 %.4f, logits SQNR vs fp64 %s dB\n", p.Name, top1, p.AgreeFloat, p.SQNRFloat)
	}
	_, err := fmt.Fprintf(w, "  accumulator overflows %d, saturations %d\n", s.Overflows, s.Saturations)
	return err
}
