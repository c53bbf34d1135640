package sim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/internal/shard"
)

// TestMergeFidelity checks that the parts of a fidelity comparison, through
// their JSON, merge into exactly the report of the whole, with and without
// labels, whatever the workers.
func TestMergeFidelity(t *testing.T) {
	f := loadToy(t)
	c := f.m.Config
	size := c.Channels * c.ImgH * c.ImgW
	labels := make([]int, f.n)
	for i := range labels {
		labels[i] = (3 * i) % c.Classes
	}
	for method, p := range f.prog {
		for _, lab := range [][]int{labels, nil} {
			name := fmt.Sprintf("%s/labelled=%v", method, lab != nil)
			t.Run(name, func(t *testing.T) {
				whole, err := RunFidelity(p, f.m, f.qm[method], f.imgs, lab, f.n, FidelityOptions{Workers: 2, Batch: 4})
				if err != nil {
					t.Fatal(err)
				}
				want, err := json.Marshal(whole)
				if err != nil {
					t.Fatal(err)
				}
				for _, count := range []int{1, 2, 3, 7} {
					var parts []*FidelityPart
					for i := range count {
						first, end := shard.Spec{Index: i, Count: count}.Range(f.n)
						fid, err := NewFidelity(p, f.m, f.qm[method], FidelityOptions{Workers: 1 + i%2, Batch: 1 + i%3, Part: true})
						if err != nil {
							t.Fatal(err)
						}
						var l []int
						if lab != nil {
							l = lab[first:end]
						}
						if err := fid.Add(f.imgs[first*size:end*size], l, end-first); err != nil {
							t.Fatal(err)
						}
						part, err := fid.Part()
						if err != nil {
							t.Fatal(err)
						}
						b, err := json.Marshal(part)
						if err != nil {
							t.Fatal(err)
						}
						var back FidelityPart
						if err := json.Unmarshal(b, &back); err != nil {
							t.Fatal(err)
						}
						parts = append(parts, &back)
					}
					rep, err := MergeFidelity(parts)
					if err != nil {
						t.Fatal(err)
					}
					got, err := json.Marshal(rep)
					if err != nil {
						t.Fatal(err)
					}
					if string(got) != string(want) {
						t.Fatalf("%d parts: merged report differs:\n%s\nwant\n%s", count, got, want)
					}
				}
			})
		}
	}
}

func TestMergeFidelityErrors(t *testing.T) {
	f := loadToy(t)
	var parts []*FidelityPart
	for method, p := range f.prog {
		fid, err := NewFidelity(p, f.m, f.qm[method], FidelityOptions{Part: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := fid.Add(f.imgs, nil, f.n); err != nil {
			t.Fatal(err)
		}
		part, err := fid.Part()
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, part)
	}
	if len(parts) < 2 {
		t.Fatalf("%d methods in the toy set, want 2", len(parts))
	}
	bad := *parts[0]
	bad.Sums = bad.Sums[1:]
	for _, tc := range []struct {
		name  string
		parts []*FidelityPart
		err   string
	}{
		{"none", nil, "no part"},
		{"methods", parts[:2], "part 1 is of"},
		{"sizes", []*FidelityPart{&bad}, "sums for"},
	} {
		if _, err := MergeFidelity(tc.parts); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		}
	}
	fid, err := NewFidelity(f.prog[parts[0].Method], f.m, f.qm[parts[0].Method], FidelityOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fid.Part(); err == nil {
		t.Error("Part without FidelityOptions.Part succeeded")
	}
}
