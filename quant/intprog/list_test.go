package intprog_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/internal/fixture"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
)

// TestLowerMACs checks the lowered op list against the MAC counts of
// vim-forward.md §6: the total of every preset (vim.Config.TotalMACs) and
// Vim-Ti's per-block MACs by layer type.
func TestLowerMACs(t *testing.T) {
	for _, name := range vim.PresetNames() {
		c, err := vim.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		l, err := intprog.Lower(c)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.TotalMACs(); got != c.TotalMACs() {
			t.Errorf("%s: op list %d MACs, config %d", name, got, c.TotalMACs())
		}
	}
	c, _ := vim.Preset("vim-ti")
	want := map[string]int64{"in_proj": 29048832, "conv1d": 605184, "x_proj": 6657024,
		"dt_proj": 1815552, "scan": 7262208, "out_proj": 14524416}
	got := map[string]int64{}
	l, _ := intprog.Lower(c)
	for i := range l.Ops {
		if op := &l.Ops[i]; op.Layer == 0 {
			got[strings.TrimSuffix(op.Name, "_b")] += op.MACs()
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d MACs per block, want %d", k, got[k], v)
		}
	}
}

// TestProgramList checks that a compiled program's op list has the
// structure of the lowered one (names, kinds, units, shapes, chains,
// operands, buffers), with its constants, taps and split-K groups; that
// every op has a unit; and that the chains of a layer share no buffer they
// write.
func TestProgramList(t *testing.T) {
	tv := fixture.Toy(t)
	c := tv.Model.Config
	low, err := intprog.Lower(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{quant.MethodPaper, quant.MethodNaive} {
		t.Run(method, func(t *testing.T) {
			p := tv.Program(t, method)
			l := p.List()
			if !reflect.DeepEqual(l.Buffers, low.Buffers) || len(l.Ops) != len(low.Ops) {
				t.Fatalf("%d ops and buffers %v, lowered %d and %v", len(l.Ops), l.Buffers, len(low.Ops), low.Buffers)
			}
			split := 0
			for i := range l.Ops {
				op, lo := l.Ops[i], low.Ops[i]
				if op.Groups > 1 {
					split++
				}
				if op.Kind == intprog.KindGEMM && (op.Params.Linear == nil) == (op.Params.Split == nil) && op.Combine != intprog.GroupThenRequant {
					t.Errorf("%d %s: combine %d with linear %v, split %v", op.Layer, op.Name, op.Combine, op.Params.Linear != nil, op.Params.Split != nil)
				}
				if lo.Groups != 1 || lo.Params != (intprog.Params{}) || lo.Taps != nil {
					t.Errorf("lowered %d %s: groups %d, constants or taps", lo.Layer, lo.Name, lo.Groups)
				}
				if op.Kind != intprog.KindGate && op.Params == (intprog.Params{}) {
					t.Errorf("%d %s: no constants", op.Layer, op.Name)
				}
				if op.Unit == "" || (op.Unit != arch.UnitHost && !contains(arch.Units(), op.Unit)) {
					t.Errorf("%d %s: unit %q", op.Layer, op.Name, op.Unit)
				}
				// The program's structure, constants, groups and taps aside.
				op.Params, op.Taps, op.Groups, op.Combine = intprog.Params{}, nil, 1, lo.Combine
				if !reflect.DeepEqual(op, lo) {
					t.Errorf("op %d: program %+v, lowered %+v", i, op, lo)
				}
			}
			if method == quant.MethodPaper && split == 0 {
				t.Error("paper program without split-K GEMMs")
			}
			// Chains: an op of chain k writes no buffer that an op of
			// another chain of its layer reads or writes.
			type key struct{ layer, chain int }
			writes, reads := map[key]map[intprog.Buf]bool{}, map[key]map[intprog.Buf]bool{}
			mark := func(m map[key]map[intprog.Buf]bool, k key, b intprog.Buf) {
				if m[k] == nil {
					m[k] = map[intprog.Buf]bool{}
				}
				m[k][b] = true
			}
			for _, op := range l.Ops {
				if op.Chain == 0 {
					continue
				}
				k := key{op.Layer, op.Chain}
				mark(writes, k, op.Out)
				for _, o := range op.In {
					mark(reads, k, o.Buf)
				}
			}
			for k, ws := range writes {
				for k2 := range writes {
					if k2.layer != k.layer || k2.chain == k.chain {
						continue
					}
					for b := range ws {
						if writes[k2][b] || reads[k2][b] {
							t.Errorf("layer %d: chains %d and %d share buffer %s", k.layer, k.chain, k2.chain, l.Buffers[b].Name)
						}
					}
				}
			}
		})
	}
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestLowerOrder checks the execution order and names of the op list.
func TestLowerOrder(t *testing.T) {
	c, _ := vim.Preset("vim-ti")
	c.Depth = 1
	l, err := intprog.Lower(c)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, op := range l.Ops {
		names = append(names, op.Name)
	}
	want := "input patch_embed pos_embed norm in_proj silu_z conv1d silu x_proj dt_proj softplus scan " +
		"conv1d_b silu_b x_proj_b dt_proj_b softplus_b scan_b gate out_proj residual norm_f head"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("ops\n%s\nwant\n%s", got, want)
	}
	if _, err := intprog.Lower(vim.Config{Name: "broken"}); err == nil {
		t.Error("an invalid config lowers")
	}
}
