package explore

import (
	"strings"
	"testing"

	"github.com/vimsim/vimsim/internal/pixels"
	"github.com/vimsim/vimsim/quant"
)

// mixedRecipe has a different precision at every op the recipe sets:
// int4 weights and 5–7-bit outputs on some ops, a 16-bit hidden state in
// block 1.
const mixedRecipe = `name: mixed
w: 8
a: 8
h: 8
ops:
  patch_embed: {w: 4, a: 6}
  in_proj: {w: 4, a: 7}
  conv1d: {w: 4, a: 6}
  x_proj: {a: 5}
  dt_proj: {w: 5, a: 7}
  out_proj: {w: 4, a: 6}
  head: {w: 4}
layers:
  - {layers: 1, h: 16}
`

// TestOpListIsTheProgramsList checks that the op list the costs are
// computed on (quant.OpList, from the recipe alone) carries, op by op, the
// formats of the program the compiler builds for the recipe.
func TestOpListIsTheProgramsList(t *testing.T) {
	m := toyModel(t)
	cfg := m.Config
	mixed, err := quant.ParsePrecision([]byte(mixedRecipe), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := ParseRecipes("W8A8H8,W4A8H8,W8A8H16,W5A8H16")
	if err != nil {
		t.Fatal(err)
	}
	recipes, err := Resolve(append(ps, mixed), cfg.Depth)
	if err != nil {
		t.Fatal(err)
	}
	size := cfg.Channels * cfg.ImgH * cfg.ImgW
	calib := quant.SliceImages{Data: pixels.Images(cfg, 4, 1), Size: size}
	d := &Datapath{Model: m, Calib: func() (quant.Images, error) { return calib, nil }, CalibKey: "pixels 4 seed 1", Quant: fastQuant()}
	for _, r := range recipes {
		p, err := d.Compile(r)
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		ops, err := quant.OpList(cfg, r.Plan)
		if err != nil {
			t.Fatal(err)
		}
		want := p.List().Ops
		if len(ops) != len(want) {
			t.Fatalf("%s: %d ops, the program has %d", r.Name, len(ops), len(want))
		}
		for i := range ops {
			if ops[i].Name != want[i].Name || ops[i].Layer != want[i].Layer || ops[i].Format != want[i].Format {
				t.Errorf("%s: op %d %s (layer %d) formats %+v, the program's %s (layer %d) %+v", r.Name, i,
					ops[i].Name, ops[i].Layer, ops[i].Format, want[i].Name, want[i].Layer, want[i].Format)
			}
		}
	}
}

// TestCheckAsTheCompiler checks that the recipes Datapath.Check refuses
// before any work are those the calibration and the compiler refuse, and
// that it names the recipe and the op.
func TestCheckAsTheCompiler(t *testing.T) {
	m := toyModel(t)
	cfg := m.Config
	size := cfg.Channels * cfg.ImgH * cfg.ImgW
	calib := quant.SliceImages{Data: pixels.Images(cfg, 4, 1), Size: size}
	for _, tc := range []struct {
		recipe, err string // err: "" if the datapath runs it
	}{
		{"w: 6\na: 8\nh: 16\n", ""},
		{"w: 8\na: 8\nh: 8\nops: {x_proj: {a: 4}, out_proj: {w: 4, a: 5}}\n", ""},
		{"w: 8\na: 8\nh: 8\nlayers: [{layers: 0, h: 4}]\n", "layer 0 scan: 4-bit hidden state"},
		{"w: 8\na: 8\nh: 7\n", "layer 0 scan: 7-bit hidden state"},
		{"w: 8\na: 6\nh: 8\nops: {patch_embed: {a: 6}}\n", "layer 0 norm"},
		{"w: 8\na: 8\nh: 8\nlayers: [{layers: 1, a: 7}]\n", "layer 1 norm"},
	} {
		p, err := quant.ParsePrecision([]byte(tc.recipe), "yaml")
		if err != nil {
			t.Fatalf("%q: %v", tc.recipe, err)
		}
		rs, err := Resolve([]quant.Precision{p}, cfg.Depth)
		if err != nil {
			t.Fatalf("%q: %v", tc.recipe, err)
		}
		d := &Datapath{Model: m, Quant: fastQuant()}
		check := d.Check(rs[0])
		opt := d.Quant
		opt.Precision = &p
		_, build := quant.Build(m, calib, quant.BuildOptions{Quant: opt})
		switch {
		case tc.err == "" && (check != nil || build != nil):
			t.Errorf("%q: Check %v, quant.Build %v; want both to accept", tc.recipe, check, build)
		case tc.err != "" && (check == nil || !strings.Contains(check.Error(), tc.err) || !strings.Contains(check.Error(), "recipe "+rs[0].Name)):
			t.Errorf("%q: Check %v, want an error naming the recipe and containing %q", tc.recipe, check, tc.err)
		case tc.err != "" && build == nil:
			t.Errorf("%q: Check refuses it (%v), quant.Build accepts it", tc.recipe, check)
		}
	}
}
