package quant

import (
	"flag"
	"fmt"
	"sync"
	"testing"

	"github.com/vimsim/vimsim/vim"
)

var expFlag = flag.Bool("exp", false, "experiments")

func TestZZExp(t *testing.T) {
	if !*expFlag {
		t.Skip()
	}
	m, _ := vim.Load(vim.DefaultModel, vim.LoadOptions{})
	test, labels, calib := loadFashionMNIST(t, m.Config, 2000, 256)
	n := len(labels)
	ref, _ := m.Infer(test, n, vim.F32)
	for _, method := range []string{MethodNaive, MethodPaper} {
		o := DefaultOptions()
		o.Method, o.ABits = method, 4
		q4, _ := Calibrate(m, calib, o)
		o8 := o
		o8.ABits = 8
		q8, _ := Calibrate(m, calib, o8)
		oh := o
		oh.HBits = 8
		q4h8, _ := Calibrate(m, calib, oh)
		run := func(name string, q *QModel) {
			lg, _ := q.Infer(test, n)
			a, b, c := evaluate(lg, ref, labels, m.Config.Classes)
			fmt.Printf("%s %-30s top1 %.4f agree %.4f sqnr %.1f\n", method, name, a, b, c)
		}
		run("A4 H4", q4)
		q4.Head.Out = q8.Head.Out
		q4.once = sync.Once{}
		run("A4 H4 head-out 8", q4)
		run("A4 H8", q4h8)
		q4h8.Head.Out = q8.Head.Out
		q4h8.once = sync.Once{}
		run("A4 H8 head-out 8", q4h8)
		run("A8", q8)
	}
}
