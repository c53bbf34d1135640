package ckpt

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

var testFormat = Format{Name: "vimsim-test", Version: 3, Key: "test", Noun: "integer thing"}

type testHeader struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	Note    string `json:"note"`
}

// testFile writes a small artifact through ArtifactWriter and encodes and
// parses it, as a file on disk would be.
func testFile(t *testing.T) *File {
	t.Helper()
	w := testFormat.NewWriter()
	for _, err := range []error{
		PutInts(w, "codes", "I8", []int{2, 3}, []int8{-128, -1, 0, 1, 2, 127}),
		PutInts(w, "groups", "U16", []int{AnyLen}, []uint16{0, 65535}),
		PutInts(w, "table", "U8", []int{AnyLen, 2}, []int{1, 2, 3, 4}),
		w.PutFloats("scales", []int{3}, []float64{0.5, 1e-300, 2}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	f, err := w.File(testHeader{Format: testFormat.Name, Version: testFormat.Version, Note: "n"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeSafetensors(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := ParseSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestArtifactRoundTrip(t *testing.T) {
	f := testFile(t)
	if f.Metadata["format"] != "vimsim-test" || f.Metadata["version"] != "3" ||
		f.Metadata["test"] != `{"format":"vimsim-test","version":3,"note":"n"}` {
		t.Fatalf("metadata %v", f.Metadata)
	}
	if tt, _ := f.Get("table"); !reflect.DeepEqual(tt.Shape, []int{2, 2}) {
		t.Errorf("free dimension written as %v, want [2 2]", tt.Shape)
	}
	var h testHeader
	r, err := testFormat.NewReader(f, &h)
	if err != nil {
		t.Fatal(err)
	}
	if h.Note != "n" {
		t.Errorf("header %+v", h)
	}
	codes, err := GetInts[int8](r, "codes", "I8", []int{2, 3}, false)
	if err != nil || !reflect.DeepEqual(codes, []int8{-128, -1, 0, 1, 2, 127}) {
		t.Errorf("codes %v, %v", codes, err)
	}
	if err := r.Unused(); err == nil || !strings.Contains(err.Error(), "unexpected tensor groups") {
		t.Errorf("unread tensors: %v", err)
	}
	groups, err := GetInts[uint16](r, "groups", "U16", []int{AnyLen}, false)
	if err != nil || !reflect.DeepEqual(groups, []uint16{0, 65535}) {
		t.Errorf("groups %v, %v", groups, err)
	}
	table, err := GetInts[int](r, "table", "U8", []int{AnyLen, 2}, false)
	if err != nil || !reflect.DeepEqual(table, []int{1, 2, 3, 4}) {
		t.Errorf("table %v, %v", table, err)
	}
	scales, err := r.Floats("scales", []int{3}, false)
	if err != nil || !reflect.DeepEqual(scales, []float64{0.5, 1e-300, 2}) {
		t.Errorf("scales %v, %v", scales, err)
	}
	if v, err := r.Floats("absent", []int{1}, true); v != nil || err != nil {
		t.Errorf("optional absent tensor: %v, %v", v, err)
	}
	if !r.Has("codes") || r.Has("absent") {
		t.Error("Has")
	}
	if err := r.Unused(); err != nil {
		t.Errorf("all read: %v", err)
	}
}

func TestArtifactReadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(f *File)
		get  func(r *ArtifactReader) error
		want string
	}{
		{"format", func(f *File) { f.Metadata["format"] = "x" }, nil, `not an integer thing (metadata format "x", want "vimsim-test")`},
		{"version", func(f *File) { f.Metadata["version"] = "2" }, nil, `unsupported integer-thing version "2" (this vimsim reads 3)`},
		{"header json", func(f *File) { f.Metadata["test"] = "{" }, nil, "metadata test: "},
		{"header version", func(f *File) { f.Metadata["test"] = `{"format":"vimsim-test","version":2}` }, nil,
			`metadata test: format "vimsim-test" version 2, want "vimsim-test" 3`},
		{"missing", nil, func(r *ArtifactReader) error { _, err := r.Floats("nope", []int{1}, false); return err }, "missing tensor nope"},
		{"dtype", nil, func(r *ArtifactReader) error { _, err := r.Floats("codes", []int{2, 3}, false); return err },
			"tensor codes: dtype I8, want F64"},
		{"shape", nil, func(r *ArtifactReader) error {
			_, err := GetInts[int8](r, "codes", "I8", []int{3, 2}, false)
			return err
		},
			"tensor codes: shape [2 3], want [3 2]"},
		{"rank", nil, func(r *ArtifactReader) error { _, err := GetInts[int8](r, "codes", "I8", []int{6}, false); return err },
			"tensor codes: shape [2 3], want [6]"},
		{"free rank", nil, func(r *ArtifactReader) error {
			_, err := GetInts[int8](r, "codes", "I8", []int{AnyLen}, false)
			return err
		},
			"tensor codes: shape [2 3], want rank 1"},
		{"free fixed", nil, func(r *ArtifactReader) error {
			_, err := GetInts[int](r, "table", "U8", []int{AnyLen, 4}, false)
			return err
		}, "tensor table: shape [2 2], want [-1 4]"},
		{"range", nil, func(r *ArtifactReader) error {
			_, err := GetInts[int8](r, "groups", "U16", []int{2}, false)
			return err
		},
			"tensor groups: element 1 = 65535 out of range"},
		{"fraction", func(f *File) { tt, _ := f.Get("groups"); tt.Data[0] = 0.5 }, func(r *ArtifactReader) error {
			_, err := GetInts[uint16](r, "groups", "U16", []int{2}, false)
			return err
		}, "tensor groups: element 0 = 0.5 is not an integer"},
		{"inf int", func(f *File) { tt, _ := f.Get("groups"); tt.Data[1] = math.Inf(1) }, func(r *ArtifactReader) error {
			_, err := GetInts[uint16](r, "groups", "U16", []int{2}, false)
			return err
		}, "tensor groups: element 1 is +Inf"},
		{"nan float", func(f *File) { tt, _ := f.Get("scales"); tt.Data[2] = math.NaN() }, func(r *ArtifactReader) error {
			_, err := r.Floats("scales", []int{3}, false)
			return err
		}, "tensor scales: element 2 is NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := testFile(t)
			if tc.mod != nil {
				tc.mod(f)
			}
			var h testHeader
			r, err := testFormat.NewReader(f, &h)
			if err == nil && tc.get != nil {
				err = tc.get(r)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	// A free dimension is bounded on reading.
	w := testFormat.NewWriter()
	PutInts(w, "long", "U8", []int{AnyLen}, make([]uint8, MaxAnyLen+1))
	f, _ := w.File(testHeader{Format: testFormat.Name, Version: testFormat.Version})
	r, err := testFormat.NewReader(f, &testHeader{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := GetInts[uint8](r, "long", "U8", []int{AnyLen}, false); err == nil || !strings.Contains(err.Error(), "dimension 0 = 65537 out of [1, 65536]") {
		t.Errorf("long free dimension: %v", err)
	}
}

func TestArtifactWriteErrors(t *testing.T) {
	w := testFormat.NewWriter()
	if err := w.PutFloats("s", []int{2, 2}, []float64{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "s: 3 values for shape [2 2]") {
		t.Errorf("short data: %v", err)
	}
	if err := PutInts(w, "t", "U8", []int{AnyLen, 2}, []int{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "t: 3 values do not fill shape [-1 2]") {
		t.Errorf("ragged data: %v", err)
	}
	if _, err := w.File(testHeader{Format: "other", Version: 3}); err == nil || !strings.Contains(err.Error(), "metadata test") {
		t.Errorf("header of another format: %v", err)
	}
}
