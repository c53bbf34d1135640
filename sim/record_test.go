package sim

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/quant/intprog"
)

// callLog is a Recorder that logs every call as "layer/op/kind" and
// keeps a copy of the operands it needs to check.
type callLog struct {
	calls []string
	// residualIn holds a copy of the residual passed to each ResidualAdd,
	// to check that it is the value before the add.
	residualIn map[string][]int32
	addend     map[string][]int32
}

func (l *callLog) log(layer int, op, kind string) {
	l.calls = append(l.calls, fmt.Sprintf("%d/%s/%s", layer, op, kind))
}

func (l *callLog) GEMM(layer int, op string, _ datapath.Matrix[int8], _ *datapath.Weights) error {
	l.log(layer, op, "gemm")
	return nil
}
func (l *callLog) Requantize(layer int, op string, _ datapath.Matrix[int32], _ *datapath.Requantizer, _ int) error {
	l.log(layer, op, "requant")
	return nil
}
func (l *callLog) RequantizeGroups(layer int, op string, _ []datapath.Matrix[int32], _ *datapath.GroupRequantizer) error {
	l.log(layer, op, "group_requant")
	return nil
}
func (l *callLog) ChannelTables(layer int, op string, _ datapath.Matrix[int8], _ *datapath.ChannelTables) error {
	l.log(layer, op, "tables")
	return nil
}
func (l *callLog) Scan(layer int, op string, _ datapath.ScanInputs, _ *datapath.ScanParams, _ *datapath.Exp2Unit) error {
	l.log(layer, op, "scan")
	return nil
}
func (l *callLog) RMSNorm(layer int, op string, _ datapath.Matrix[int32], _ *datapath.NormUnit, _ *datapath.NormParams) error {
	l.log(layer, op, "norm")
	return nil
}
func (l *callLog) DepthwiseConv(layer int, op string, _, _ datapath.Matrix[int8], _ int) error {
	l.log(layer, op, "dwconv")
	return nil
}
func (l *callLog) Merge(layer int, op string, _, _ datapath.Matrix[int16]) error {
	l.log(layer, op, "merge")
	return nil
}
func (l *callLog) ResidualAdd(layer int, op string, residual, add datapath.Matrix[int32]) error {
	l.log(layer, op, "resadd")
	key := fmt.Sprintf("%d/%s", layer, op)
	l.residualIn[key] = slices.Clone(residual.Data)
	l.addend[key] = slices.Clone(add.Data)
	return nil
}

// TestRecorderCalls runs one image with a recorder: the logits equal those
// of a run without it, every operation of the program is recorded under
// its name (split-K GEMMs per group), each datapath unit call
// once, and a recording of more than one image is refused.
func TestRecorderCalls(t *testing.T) {
	f := loadToy(t)
	c := f.m.Config
	size := c.Channels * c.ImgH * c.ImgW
	for _, method := range []string{"paper", "naive"} {
		t.Run(method, func(t *testing.T) {
			p := f.prog[method]
			img := f.imgs[:size]
			plain, err := Run(p, img, 1, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var res []*Result
			var logs []*callLog
			for range 2 {
				l := &callLog{residualIn: map[string][]int32{}, addend: map[string][]int32{}}
				r, err := Run(p, img, 1, Options{Recorder: l, Workers: 2})
				if err != nil {
					t.Fatal(err)
				}
				res, logs = append(res, r), append(logs, l)
			}
			if !slices.Equal(res[0].Codes, plain.Codes) {
				t.Errorf("logits with a recorder %v, without %v", res[0].Codes, plain.Codes)
			}
			if !slices.Equal(logs[0].calls, logs[1].calls) {
				t.Errorf("two recordings called the sink in different orders")
			}
			got := map[string]int{}
			for _, k := range logs[0].calls {
				got[k]++
			}
			for k, n := range got {
				if n != 1 {
					t.Errorf("%s recorded %d times", k, n)
				}
			}
			want := []string{
				"-1/pos_embed/requant", "-1/pos_embed/resadd", "-1/patch_embed/group_requant",
				"-2/norm_f/norm", "-2/head/gemm", "-2/head/requant",
			}
			for g := 0; g < p.Embed.Patch.Groups(); g++ {
				want = append(want, fmt.Sprintf("-1/%s/gemm", groupOp("patch_embed", g, p.Embed.Patch.Groups())))
			}
			for _, op := range p.List().Ops {
				if op.Layer < 0 {
					continue
				}
				pre := fmt.Sprintf("%d/%s/", op.Layer, op.Name)
				l := &p.Layers[op.Layer]
				switch {
				case op.Kind == intprog.KindNorm:
					want = append(want, pre+"norm")
				case op.Kind == intprog.KindDWConv:
					want = append(want, pre+"dwconv", pre+"requant")
				case op.Kind == intprog.KindSiLU || op.Kind == intprog.KindSoftplus:
					want = append(want, pre+"tables")
				case op.Kind == intprog.KindScan:
					want = append(want, pre+"scan")
				case op.Kind == intprog.KindGate:
					want = append(want, pre+"merge")
				case op.Kind == intprog.KindResidual:
					want = append(want, pre+"requant", pre+"resadd")
				case strings.HasPrefix(op.Name, "x_proj"):
					xp := &l.Dir[op.Chain-1].XProj
					for g := 0; g < xp.Groups(); g++ {
						want = append(want, fmt.Sprintf("%d/%s/gemm", op.Layer, groupOp(op.Name, g, xp.Groups())))
					}
					want = append(want, pre+"group_requant")
				case op.Name == "out_proj" && l.OutSplit != nil:
					for g := 0; g < l.OutSplit.Groups(); g++ {
						want = append(want, fmt.Sprintf("%d/out_proj_g%d/gemm", op.Layer, g))
					}
					want = append(want, pre+"group_requant", pre+"requant")
				case op.Kind == intprog.KindGEMM:
					want = append(want, pre+"gemm", pre+"requant")
				default:
					t.Fatalf("op %s of kind %v not covered by the test", op.Name, op.Kind)
				}
			}
			sort.Strings(want)
			have := slices.Sorted(func(yield func(string) bool) {
				for k := range got {
					if !yield(k) {
						return
					}
				}
			})
			if !slices.Equal(have, want) {
				t.Errorf("recorded calls\n%v\nwant\n%v", have, want)
			}
			if method == "paper" && p.Layers[0].OutSplit == nil {
				t.Errorf("paper program without split-K out_proj: the group path is not exercised")
			}
			// The residual passed to the add of block i is the value before
			// it: the add of block i-1's result (checked for block 1).
			l := logs[0]
			r0, a0, r1 := l.residualIn["0/residual"], l.addend["0/residual"], l.residualIn["1/residual"]
			if r0 == nil || r1 == nil {
				t.Fatal("no residual adds recorded")
			}
			for j := range r0 {
				if v := int64(r0[j]) + int64(a0[j]); v >= -1<<31 && v < 1<<31 && int32(v) != r1[j] {
					t.Fatalf("residual %d: block 1 input %d, block 0 input %d + add %d", j, r1[j], r0[j], a0[j])
				}
			}
			if _, err := Run(p, f.imgs[:2*size], 2, Options{Recorder: &callLog{}}); err == nil {
				t.Errorf("a recording of two images was accepted")
			}
		})
	}
}
