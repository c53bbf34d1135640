package quant

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrecisionResolve(t *testing.T) {
	src := `
name: mixed
default: {w: 8, a: 8, h: 8}
ops:
  x_proj: {w: 4}
  head: {w: 4}
layers:
  - layers: 1-2
    w: 4
    h: 16
    ops:
      out_proj: {w: 8}
  - layers: [3]
    h: 16
`
	p, err := ParsePrecision([]byte(src), "")
	if err != nil {
		t.Fatal(err)
	}
	pl, err := p.Resolve(4)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]map[OpName]int{ // weight bits
		-1: {OpPatchEmbed: 8}, -2: {OpHead: 4},
		0: {OpInProj: 8, OpConv1d: 8, OpXProj: 4, OpDtProj: 8, OpOutProj: 8},
		1: {OpInProj: 4, OpConv1d: 4, OpXProj: 4, OpDtProj: 4, OpOutProj: 8},
		2: {OpInProj: 4, OpConv1d: 4, OpXProj: 4, OpDtProj: 4, OpOutProj: 8},
		3: {OpInProj: 8, OpConv1d: 8, OpXProj: 4, OpDtProj: 8, OpOutProj: 8},
	}
	for l, ops := range want {
		for o, w := range ops {
			if b := pl.Bits(l, o); b.W != w || b.A != 8 {
				t.Errorf("layer %d %s: %+v, want w %d a 8", l, o, b, w)
			}
		}
	}
	for i, h := range []int{8, 16, 16, 16} {
		if pl.Blocks[i].H != h {
			t.Errorf("block %d: h %d, want %d", i, pl.Blocks[i].H, h)
		}
	}
	if _, _, _, ok := pl.Uniform(); ok {
		t.Error("mixed plan reported uniform")
	}
	u, err := Uniform(8, 8, 8).Resolve(4)
	if err != nil {
		t.Fatal(err)
	}
	if w, a, h, ok := u.Uniform(); !ok || w != 8 || a != 8 || h != 8 {
		t.Errorf("uniform plan: %d %d %d %v", w, a, h, ok)
	}
	if u.Key() == pl.Key() {
		t.Error("different plans share a key")
	}
	// The same plan written another way has the same key.
	q, err := ParsePrecision([]byte(`{"w":8,"a":8,"h":8,"ops":{"x_proj":{"w":4},"head":{"w":4}},
		"layers":[{"layers":"1,2","w":4,"h":16,"ops":{"out_proj":{"w":8}}},{"layers":3,"h":16}]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	ql, _ := q.Resolve(4)
	if ql.Key() != pl.Key() {
		t.Errorf("keys differ:\n%s\n%s", ql.Key(), pl.Key())
	}
	if p.String() != "mixed" || Uniform(4, 8, 0).String() != "W4A8H8" {
		t.Errorf("names %q %q", p.String(), Uniform(4, 8, 0).String())
	}
}

func TestPrecisionErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`w: 8`, "default w, a and h are required"},
		{`{w: 3, a: 8, h: 8}`, "weight bits 3 out of [4, 8]"},
		{`{w: 8, a: 9, h: 8}`, "activation bits 9"},
		{`{w: 8, a: 8, h: 12}`, "hidden-state bits 12: want 4–8 or 16"},
		{"w: 8\na: 8\nops: {mlp: {w: 4}}", `unknown op "mlp"`},
		{"w: 8\na: 8\nops: {in_proj: {h: 16}}", "set per layer"},
		{"w: 8\na: 8\nlayers: [{layers: 2-1, w: 4}]", "not a range"},
		{"w: 8\na: 8\nlayers: [{w: 4}]", "layers[0].layers: missing"},
		{"w: 8\na: 8\nlayers: [{layers: all, ops: {head: {w: 4}}}]", "not an op of a block"},
		{"w: 8\na: 8\nbits: 4", "bits"},
		{"default: {w: 8, a: 8}\nw: 4", "either as w/a/h or under default"},
		{`{"w": 8, "a": 8, "x": 1}`, "unknown field"},
	} {
		_, err := ParsePrecision([]byte(c.src), "")
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %v, want one line with %q", c.src, err, c.want)
		}
	}
	p, err := ParsePrecision([]byte("w: 8\na: 8\nlayers: [{layers: 0-5, h: 16}]"), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Resolve(4); err == nil || !strings.Contains(err.Error(), "blocks 0-3") {
		t.Errorf("out-of-range layers: %v", err)
	}
}

func TestReadPrecisionNamesAfterFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w4-x.yaml")
	if err := os.WriteFile(path, []byte("w: 4\na: 8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := ReadPrecision(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "w4-x" || p.H != 8 {
		t.Errorf("%+v", p)
	}
	if _, err := ReadPrecision(path + ".missing"); err == nil || !strings.Contains(err.Error(), "w4-x.yaml.missing") {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParsePrecision(f *testing.F) {
	f.Add([]byte("w: 8\na: 8\nh: 16\nlayers: [{layers: 0-1, w: 4}]"))
	f.Add([]byte(`{"w":4,"a":8,"ops":{"head":{"w":8}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePrecision(b, "")
		if err != nil {
			return
		}
		for _, d := range []int{1, 4, 24} {
			if pl, err := p.Resolve(d); err == nil {
				_ = pl.Key()
			}
		}
	})
}
