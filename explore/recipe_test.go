package explore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/quant"
)

func TestParseRecipe(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mixed.yaml")
	if err := os.WriteFile(file, []byte("w: 8\na: 8\nh: 8\nops:\n  in_proj: {w: 4}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in, name, err string
	}{
		{in: "W8A8H8", name: "W8A8H8"},
		{in: "w4a8h8", name: "W4A8H8"},
		{in: "W4A8", name: "W4A8H8"},
		{in: "W8A8H16", name: "W8A8H16"},
		{in: file, name: "mixed"},
		{in: "W3A8H8", err: "weight bits 3"},
		{in: "W8A8H12", err: "hidden-state bits 12"},
		{in: "W8", err: "want a uniform recipe"},
		{in: filepath.Join(dir, "missing.yaml"), err: "missing.yaml"},
	} {
		p, err := ParseRecipe(tc.in)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one containing %q", tc.in, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.in, err)
		case p.String() != tc.name:
			t.Errorf("%s: name %q, want %q", tc.in, p.String(), tc.name)
		}
	}
}

func TestResolveRefusesDuplicates(t *testing.T) {
	for _, tc := range []struct {
		list, err string
	}{
		{"W8A8H8,W4A8H8", ""},
		{"W8A8H8,W8A8", "given twice"},
		{"W8A8H8,", "empty item"},
	} {
		ps, err := ParseRecipes(tc.list)
		if err == nil {
			_, err = Resolve(ps, 4)
		}
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: error %v, want %q", tc.list, err, tc.err)
		}
	}
	a := quant.Uniform(8, 8, 8)
	b := quant.Uniform(8, 8, 8)
	b.Name = "same"
	if _, err := Resolve([]quant.Precision{a, b}, 4); err == nil || !strings.Contains(err.Error(), "same precisions") {
		t.Errorf("two names for one plan: %v", err)
	}
}

func TestMarshalRecipeRoundTrip(t *testing.T) {
	p := quant.Uniform(8, 8, 16)
	p.Name = "found"
	p.Ops = map[quant.OpName]quant.OpBits{quant.OpInProj: {W: 4}, quant.OpHead: {W: 4}}
	p.Layers = []quant.LayerRule{{Layers: "1", H: 8}, {Layers: "2-3", H: 8}}
	b, err := MarshalRecipe(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := quant.ParsePrecision(b, "yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	pa, _ := p.Resolve(4)
	qa, _ := q.Resolve(4)
	if pa.Key() != qa.Key() || q.Name != p.Name {
		t.Fatalf("round trip:\n%s\n%s\nvs\n%s", b, pa.Key(), qa.Key())
	}
}
