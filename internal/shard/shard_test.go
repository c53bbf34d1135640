package shard

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
		err  string
	}{
		{"", Spec{}, ""},
		{"0/1", Spec{0, 1}, ""},
		{"3/4", Spec{3, 4}, ""},
		{" 2 / 7 ", Spec{2, 7}, ""},
		{"4/4", Spec{}, "index must be 0 to 3"},
		{"-1/4", Spec{}, "index must be 0 to 3"},
		{"0/0", Spec{}, "count must be 1"},
		{"1", Spec{}, "want i/n"},
		{"a/b", Spec{}, "want i/n"},
		{"1/2/3", Spec{}, "want i/n"},
		{"0/1000001", Spec{}, "count must be 1"},
	} {
		got, err := Parse(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if tc.in != "" {
			if back, err := Parse(got.String()); err != nil || back != got {
				t.Errorf("Parse(%q.String()) = %v, %v", got, back, err)
			}
		}
	}
}

// TestRange checks that the shards of a run cover every item once, in
// order, with sizes that differ by at most one.
func TestRange(t *testing.T) {
	for total := 0; total <= 60; total++ {
		for n := 1; n <= 13; n++ {
			next, lo, hi := 0, total, 0
			for i := range n {
				first, end := Spec{i, n}.Range(total)
				if first != next || end < first {
					t.Fatalf("total %d, shard %d/%d: [%d,%d), want to start at %d", total, i, n, first, end, next)
				}
				lo, hi = min(lo, end-first), max(hi, end-first)
				next = end
			}
			if next != total || hi-lo > 1 {
				t.Fatalf("total %d, %d shards: end %d, sizes %d..%d", total, n, next, lo, hi)
			}
		}
	}
	if f, e := (Spec{}).Range(17); f != 0 || e != 17 {
		t.Errorf("zero Spec covers [%d,%d), want [0,17)", f, e)
	}
	// No overflow for large runs.
	if f, e := (Spec{999_999, 1_000_000}).Range(math.MaxInt32); e != math.MaxInt32 || f >= e {
		t.Errorf("last of a million shards of MaxInt32 items: [%d,%d)", f, e)
	}
}

func TestFloatsRoundTrip(t *testing.T) {
	in := Floats{0, math.Copysign(0, -1), 1, -2.5, math.Inf(1), math.Inf(-1), math.NaN(), math.SmallestNonzeroFloat64, 0.1 + 0.2}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Floats
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d values back, want %d", len(out), len(in))
	}
	for i := range in {
		if math.Float64bits(in[i]) != math.Float64bits(out[i]) {
			t.Errorf("value %d: %v back as %v", i, in[i], out[i])
		}
	}
	for _, bad := range []string{`1`, `"!!"`, `"AAAA"`} {
		if err := json.Unmarshal([]byte(bad), &out); err == nil {
			t.Errorf("Floats accepted %s", bad)
		}
	}
}

func TestInputs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ckpt.bin")
	if err := os.WriteFile(file, []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := Inputs{}
	if err := a.AddFlag("model", file); err != nil {
		t.Fatal(err)
	}
	if err := a.AddFlag("data", "mnist:"+dir); err != nil { // a directory: not hashed
		t.Fatal(err)
	}
	if err := a.AddFlag("arch", "systolic16,"+file); err != nil {
		t.Fatal(err)
	}
	want := HashBytes([]byte("weights"))
	if a["file "+file] != want || a["--model"] != file || len(a) != 4 {
		t.Fatalf("inputs %v: want the flags and the file's hash %s", a, want)
	}
	b := Inputs{}
	for k, v := range a {
		b[k] = v
	}
	if a.Fingerprint() != b.Fingerprint() || a.Diff(b) != "" {
		t.Fatalf("equal inputs differ: %s", a.Diff(b))
	}
	if err := os.WriteFile(file, []byte("weightz"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.AddFlag("model", file); err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint() == b.Fingerprint() {
		t.Fatal("a changed file did not change the fingerprint")
	}
	if d := a.Diff(b); !strings.Contains(d, "file "+file) {
		t.Errorf("Diff = %q, want the file named", d)
	}
	b.Set("extra", "1")
	delete(b, "file "+file)
	b["file "+file] = a["file "+file]
	if d := a.Diff(b); d != `extra is absent here, "1" there` {
		t.Errorf("Diff = %q", d)
	}
	if Build() == "" {
		t.Error("empty Build")
	}
}

// writeRun writes the partial files of an n-shard run of 10 items whose
// result is the item range, and returns their paths.
func writeRun(t *testing.T, dir, name string, n int, in Inputs) []string {
	t.Helper()
	var paths []string
	for i := range n {
		h := NewHeader("eval", Spec{i, n}, 10, in)
		p := filepath.Join(dir, strings.ReplaceAll(name+"-"+Spec{i, n}.String(), "/", "of")+".json")
		if err := Write(p, h, []int{h.First, h.End}); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func readAll(t *testing.T, paths ...string) []*Partial {
	t.Helper()
	var ps []*Partial
	for _, p := range paths {
		part, err := Read(p)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, part)
	}
	return ps
}

func TestAssemble(t *testing.T) {
	dir := t.TempDir()
	in := Inputs{"--limit": "10"}
	a := writeRun(t, dir, "a", 3, in)
	parts, err := Assemble(readAll(t, a[2], a[0], a[1]))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range parts {
		var r []int
		if err := json.Unmarshal(p.Result, &r); err != nil || p.Shard.Index != i || r[0] != p.First || r[1] != p.End {
			t.Fatalf("part %d: shard %v result %v (%v)", i, p.Shard, r, err)
		}
	}
	other := writeRun(t, dir, "b", 3, Inputs{"--limit": "20"})
	four := writeRun(t, dir, "c", 4, in)
	sweep := filepath.Join(dir, "sweep.json")
	if err := Write(sweep, NewHeader("sweep", Spec{1, 3}, 10, in), 1); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		paths []string
		err   string
	}{
		{"missing", []string{a[0], a[2]}, "shard 1/3 missing: 2 of 3 partial files given"},
		{"missing two", []string{a[1]}, "shards 0/3, 2/3 missing: 1 of 3 partial files given"},
		{"duplicate", []string{a[0], a[1], a[1], a[2]}, a[1] + ": shard 1/3 given twice (also " + a[1] + ")"},
		{"other run", []string{a[0], other[1], a[2]}, other[1] + ": not the same run as " + a[0] + `: --limit is "20" here, "10" there`},
		{"other count", []string{a[0], four[1]}, four[1] + ": shard 1/4 of a 4-shard run, but " + a[0] + " is of a 3-shard run"},
		{"other command", []string{a[0], sweep}, sweep + ": a partial of vimsim sweep, but " + a[0] + " is of vimsim eval"},
	} {
		_, err := Assemble(readAll(t, tc.paths...))
		if err == nil || err.Error() != tc.err {
			t.Errorf("%s: error %v\nwant %s", tc.name, err, tc.err)
		}
	}
	if _, err := Assemble(nil); err == nil {
		t.Error("Assemble(nil) succeeded")
	}
}

func TestReadRefuses(t *testing.T) {
	dir := t.TempDir()
	good := writeRun(t, dir, "a", 2, Inputs{"x": "1"})[0]
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, content, err string
	}{
		{"empty", "", "not a vimsim partial"},
		{"csv", "a,b\n1,2\n", "not a vimsim partial"},
		{"other json", `{"model": "x"}`, "not a vimsim partial"},
		{"version", strings.Replace(string(b), Format, "vimsim-partial/9", 1), `partial format "vimsim-partial/9"`},
		{"edited inputs", strings.Replace(string(b), `"x":"1"`, `"x":"2"`, 1), "fingerprint does not match"},
		{"range", strings.Replace(string(b), `"end":5`, `"end":6`, 1), "holds items 0..6, want 0..5"},
		{"shard", strings.Replace(string(b), `"index":0`, `"index":2`, 1), "bad partial header"},
		{"no result", strings.Replace(string(b), `"result":[0,5]`, `"result":null`, 1), "no result"},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Read(p)
		if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		}
	}
	if _, err := Read(filepath.Join(dir, "absent")); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("absent file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0/4", "3/4", "", "1/1", "x/y", "-1/2", "9/3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := Parse(s)
		if err != nil {
			return
		}
		if s != "" && (sp.Index < 0 || sp.Index >= sp.Count) {
			t.Fatalf("Parse(%q) = %v", s, sp)
		}
	})
}

func FuzzRead(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "good")
	if err := Write(good, NewHeader("eval", Spec{1, 2}, 7, Inputs{"a": "b"}), []int{1}); err != nil {
		f.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	f.Add(b)
	f.Add([]byte(`{"format":"vimsim-partial/1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "p")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		part, err := Read(p)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if f, e := part.Shard.Range(part.Items); f != part.First || e != part.End {
			t.Fatalf("accepted a bad range: %+v", part.Header)
		}
	})
}
