package quant

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/vim/ckpt"
)

// mixedRecipe is a recipe touching every kind of rule: op overrides, a
// layer range with its own defaults and op overrides, and a 16-bit hidden
// state in one block.
const mixedRecipe = `
name: mixed
default: {w: 8, a: 8, h: 8}
ops:
  x_proj: {w: 4}
  head: {w: 4, a: 6}
  conv1d: {a: 5}
layers:
  - layers: 1
    w: 4
    h: 16
    ops:
      out_proj: {w: 8, a: 7}
`

func mustRecipe(t testing.TB, src string) Precision {
	t.Helper()
	p, err := ParsePrecision([]byte(src), "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUniformRecipeIdentical checks that the uniform bits and the uniform
// recipe calibrate the same model: the old options are the uniform recipe.
func TestUniformRecipeIdentical(t *testing.T) {
	m := toyModel(t)
	imgs := randomImages(m.Config, 4, 31)
	for _, b := range [][3]int{{8, 8, 8}, {4, 8, 0}} {
		o := fastOptions(MethodPaper)
		o.WBits, o.ABits, o.HBits = b[0], b[1], b[2]
		q1, err := Calibrate(m, imgs, o)
		if err != nil {
			t.Fatal(err)
		}
		u := Uniform(b[0], b[1], b[2])
		o2 := fastOptions(MethodPaper)
		o2.WBits, o2.ABits = 3, 3 // ignored: the recipe wins
		o2.Precision = &u
		q2, err := Calibrate(m, imgs, o2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(exported(q1), exported(q2)) {
			t.Fatalf("W%dA%dH%d: the uniform recipe calibrates another model", b[0], b[1], b[2])
		}
		if q1.Precision.String() != UniformName(b[0], b[1], max(b[2], b[1])) {
			t.Errorf("recipe %s", q1.Precision)
		}
	}
}

// pointBits lists the bits of every point of q by name (Describe's formats).
func pointBits(q *QModel) map[string]string {
	out := map[string]string{}
	for _, p := range q.Describe() {
		out[p.Name] = strings.Fields(p.Format)[0]
	}
	return out
}

// TestMixedRecipe calibrates the toy model with a mixed recipe and checks
// the bits of every point, the fake-quant forward, and the artifact.
func TestMixedRecipe(t *testing.T) {
	m := toyModel(t)
	if m.Config.Depth < 2 {
		t.Skip("needs two blocks")
	}
	imgs := randomImages(m.Config, 4, 32)
	rec := mustRecipe(t, mixedRecipe)
	o := fastOptions(MethodPaper)
	o.Precision = &rec
	q, err := Calibrate(m, imgs, o)
	if err != nil {
		t.Fatal(err)
	}
	bits := pointBits(q)
	want := map[string]string{
		"patch_embed.proj.weight":         "int8",
		"patch_embed.proj.out":            "int8",
		"layers.0.norm.weight":            "int8",
		"layers.0.mixer.x_proj.weight":    "int4",
		"layers.0.mixer.x_proj_b.weight":  "int4",
		"layers.0.mixer.in_proj.weight":   "int8",
		"layers.0.mixer.conv1d.out":       "int5",
		"layers.0.mixer.act.out":          "int8",
		"layers.0.mixer.ssm.h_scale":      "int8",
		"layers.1.norm.weight":            "int4", // the rule's w for the block's other points
		"layers.1.mixer.in_proj.weight":   "int4",
		"layers.1.mixer.x_proj.weight":    "int4",
		"layers.1.mixer.conv1d_b.out":     "int5",
		"layers.1.mixer.out_proj.weight":  "int8",
		"layers.1.mixer.out_proj.out":     "int7",
		"layers.1.mixer.ssm.h_scale":      "int16",
		"layers.1.mixer.ssm_b.h_scale":    "int16",
		"layers.1.mixer.softplus_b.out":   "int8",
		"norm_f.weight":                   "int8",
		"head.weight":                     "int4",
		"head.out":                        "int6",
		"layers.0.mixer.out_proj.weight":  "int8",
		"layers.0.mixer.dt_proj.weight":   "int8",
		"layers.1.mixer.dt_proj_b.out":    "int8",
		"layers.1.mixer.merge.out":        "int8",
		"layers.0.mixer.in_proj.out":      "int8",
		"layers.1.mixer.act_z.out":        "int8",
		"layers.1.mixer.conv1d_b.weight":  "int4",
		"layers.1.mixer.ssm_b.out":        "int8",
		"layers.0.mixer.x_proj_b.out":     "int8",
		"layers.1.mixer.x_proj_b.out":     "int8",
		"layers.0.mixer.conv1d.weight":    "int8",
		"layers.1.mixer.dt_proj_b.weight": "int4",
	}
	for name, w := range want {
		if bits[name] != w {
			t.Errorf("%s: %s, want %s", name, bits[name], w)
		}
	}
	if q.Layers[1].Dir[1].SSM.Bits != 16 || q.Layers[0].Dir[0].SSM.Bits != 8 {
		t.Errorf("hidden bits %d %d", q.Layers[0].Dir[0].SSM.Bits, q.Layers[1].Dir[1].SSM.Bits)
	}
	// The hidden-state scales of the 16-bit block are ~256 times finer.
	r := q.Layers[1].Dir[0].SSM.HScale[5] / q.Layers[0].Dir[0].SSM.HScale[5]
	t.Logf("h_scale ratio block 1 / block 0 at step 5: %g", r)
	logits, err := q.Infer(imgs.Data, imgs.Len())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range logits {
		if v != v {
			t.Fatal("NaN logit")
		}
	}
	// The artifact keeps the recipe and every point's bits.
	path := filepath.Join(t.TempDir(), "mixed.safetensors")
	if err := q.Write(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(exported(q), exported(back)) {
		t.Fatal("the mixed model reads back different")
	}
	pa, _ := q.Precision.Resolve(q.Config.Depth)
	pb, _ := back.Precision.Resolve(q.Config.Depth)
	if pa.Key() != pb.Key() || back.Precision.Name != "mixed" {
		t.Errorf("recipe read back as %s: %s", back.Precision, pb.Key())
	}
	got, err := back.Infer(imgs.Data, imgs.Len())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, logits) {
		t.Error("the read-back model computes other logits")
	}
	// Damage: a point whose bits disagree with the recipe.
	f, err := q.File()
	if err != nil {
		t.Fatal(err)
	}
	f.Metadata["qmodel"] = strings.Replace(f.Metadata["qmodel"],
		`{"name":"layers.0.mixer.x_proj.weight","kind":"weight","bits":4`, `{"name":"layers.0.mixer.x_proj.weight","kind":"weight","bits":8`, 1)
	bad := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := ckpt.WriteSafetensors(bad, f); err != nil {
		t.Fatal(err)
	}
	checkOneLineError(t, bad, "layers.0.mixer.x_proj.weight: 8 bits, the recipe gives 4")
	// A model whose quantizers disagree with its recipe is not written.
	q2 := *exported(q)
	q2.Precision = Uniform(8, 8, 8)
	if _, err := q2.File(); err == nil || !strings.Contains(err.Error(), "the recipe gives") {
		t.Errorf("inconsistent model written: %v", err)
	}
}

// asVersion1 rewrites a version 2 artifact as version 1 wrote it: no
// recipe, version 1.
func asVersion1(t *testing.T, f *ckpt.File) {
	t.Helper()
	var h map[string]any
	if err := json.Unmarshal([]byte(f.Metadata["qmodel"]), &h); err != nil {
		t.Fatal(err)
	}
	delete(h, "recipe")
	h["version"] = 1
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	f.Metadata["qmodel"], f.Metadata["version"] = string(b), "1"
}

// TestArtifactVersion1 reads a version 1 artifact (no recipe) as the
// uniform recipe of its bits.
func TestArtifactVersion1(t *testing.T) {
	q := toyQModel(t)
	f, err := q.File()
	if err != nil {
		t.Fatal(err)
	}
	asVersion1(t, f)
	path := filepath.Join(t.TempDir(), "v1.safetensors")
	if err := ckpt.WriteSafetensors(path, f); err != nil {
		t.Fatal(err)
	}
	r, err := ReadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(exported(q), exported(r)) {
		t.Fatal("the version 1 file reads as another model")
	}
	if r.Precision.String() != "W8A8H8" {
		t.Errorf("recipe %s", r.Precision)
	}
	// A version 2 file without its recipe is refused.
	f, _ = q.File()
	var h map[string]any
	_ = json.Unmarshal([]byte(f.Metadata["qmodel"]), &h)
	delete(h, "recipe")
	b, _ := json.Marshal(h)
	f.Metadata["qmodel"] = string(b)
	bad := filepath.Join(t.TempDir(), "norecipe.safetensors")
	if err := ckpt.WriteSafetensors(bad, f); err != nil {
		t.Fatal(err)
	}
	checkOneLineError(t, bad, "no recipe")
}
