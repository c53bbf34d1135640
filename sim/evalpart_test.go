package sim

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/internal/shard"
	"github.com/vimsim/vimsim/vim"
)

// TestMergeEval checks that the parts of an evaluation, through their
// JSON, merge into exactly the Evaluation of the whole.
func TestMergeEval(t *testing.T) {
	const n, classes = 41, 7
	ds := indexDataset{n: n, classes: classes}
	pre, err := data.NewPreprocessor(vim.Config{ImgH: 1, ImgW: 1, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	methods := []Method{fakeMethod("ref", classes, 0), fakeMethod("noisy", classes, 0.6), fakeMethod("same", classes, 0)}
	var wantPred bytes.Buffer
	whole, err := Evaluate(data.NewLoader(ds, pre, data.LoaderOptions{Batch: 4}), classes, methods, EvalOptions{Predictions: &wantPred})
	if err != nil {
		t.Fatal(err)
	}
	for i := range whole.Methods {
		whole.Methods[i].Elapsed = 0
	}
	for _, count := range []int{1, 2, 3, 7, 50} {
		var parts []*EvalPart
		for i := range count {
			l := data.NewLoader(ds, pre, data.LoaderOptions{Batch: 3})
			if err := l.Restrict(shard.Spec{Index: i, Count: count}.Range(n)); err != nil {
				t.Fatal(err)
			}
			var p EvalPart
			if _, err := Evaluate(l, classes, methods, EvalOptions{Part: &p}); err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(&p)
			if err != nil {
				t.Fatal(err)
			}
			var back EvalPart
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			parts = append(parts, &back)
		}
		got, preds, err := MergeEval(parts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, whole) {
			t.Errorf("%d parts: merged %+v\nwant %+v", count, got, whole)
		}
		var pred bytes.Buffer
		if err := WritePredictions(&pred, preds); err != nil || pred.String() != wantPred.String() {
			t.Errorf("%d parts: predictions differ (%v)", count, err)
		}
	}

	var ref EvalPart
	if _, err := Evaluate(data.NewLoader(ds, pre, data.LoaderOptions{}), classes, methods, EvalOptions{Part: &ref}); err != nil {
		t.Fatal(err)
	}
	renamed, short := ref, ref
	renamed.Methods = append([]MethodPart(nil), ref.Methods...)
	renamed.Methods[1].Name = "other"
	short.Predictions = short.Predictions[1:]
	for _, tc := range []struct {
		name  string
		parts []*EvalPart
		err   string
	}{
		{"none", nil, "no part"},
		{"other methods", []*EvalPart{&ref, &renamed}, "method 1 is other"},
		{"short", []*EvalPart{&short}, "40 predictions for 41 images"},
	} {
		if _, _, err := MergeEval(tc.parts); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		}
	}
}
