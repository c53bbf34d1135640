package main

import (
	"reflect"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
)

func TestParseLists(t *testing.T) {
	ints := map[string][]int{
		"8,16,32": {8, 16, 32}, "8:64:*2": {8, 16, 32, 64}, "8:60:*2": {8, 16, 32}, "100:400:+100": {100, 200, 300, 400},
		"1:4": {1, 2, 3, 4}, "5:5": {5}, "3, 1:2": {3, 1, 2}, "0:2:3": {0},
	}
	for s, want := range ints {
		got, err := parseIntList(s)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseIntList(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "a", "8:4", "1:2:3:4", "0:8:*2", "1:8:*1", "1:8:+0", "1,,2", "1:100000"} {
		if _, err := parseIntList(s); err == nil {
			t.Errorf("parseIntList(%q) accepted", s)
		}
	}
	floats := map[string][]float64{"12.8,25.6": {12.8, 25.6}, "100:300:+100": {100, 200, 300}, "1:8:*2": {1, 2, 4, 8}, "0.1:0.3:+0.1": {0.1, 0.2, 0.30000000000000004}}
	for s, want := range floats {
		got, err := parseFloatList(s)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseFloatList(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "x", "1:2", "1:2:3", "2:1:+1", "0:4:*2", "1:4:*1", "NaN", "1:inf:+1"} {
		if _, err := parseFloatList(s); err == nil {
			t.Errorf("parseFloatList(%q) accepted", s)
		}
	}
	arrays, err := parseArrayList("16x32, 8:32:*2")
	if err != nil || !reflect.DeepEqual(arrays, [][2]int{{16, 32}, {8, 8}, {16, 16}, {32, 32}}) {
		t.Errorf("ParseArrayList = %v, %v", arrays, err)
	}
	for _, s := range []string{"16y16", "0x4", "1:2048:*2", ""} {
		if _, err := parseArrayList(s); err == nil {
			t.Errorf("parseArrayList(%q) accepted", s)
		}
	}
}

func FuzzParseIntList(f *testing.F) {
	for _, s := range []string{"8,16", "8:64:*2", "1:9:+4", "9223372036854775807:9223372036854775807:*2", "-5:5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseIntList(s)
		if err == nil && (len(v) == 0 || len(v) > 10001) {
			t.Fatalf("parseIntList(%q) = %d values", s, len(v))
		}
	})
}

func FuzzParseFloatList(f *testing.F) {
	for _, s := range []string{"1.5,2", "1:8:*2", "0:1:+0.25", "1e308:1e308:*10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseFloatList(s)
		if err == nil && (len(v) == 0 || len(v) > 10001) {
			t.Fatalf("parseFloatList(%q) = %d values", s, len(v))
		}
	})
}

func FuzzParseArrayList(f *testing.F) {
	for _, s := range []string{"16x16,8x32", "8:64:*2", "4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseArrayList(s)
		if err != nil {
			return
		}
		for _, a := range v {
			if a[0] < 1 || a[1] < 1 || a[0] > arch.MaxArrayDim || a[1] > arch.MaxArrayDim {
				t.Fatalf("parseArrayList(%q) gave %v", s, a)
			}
		}
	})
}

func TestParseGEMM(t *testing.T) {
	good := map[string]cost.GEMM{"197,192,768": {M: 197, K: 192, N: 768}, " 1, 2 ,3": {M: 1, K: 2, N: 3}, "4x5x6": {M: 4, K: 5, N: 6}}
	for s, want := range good {
		got, err := parseGEMM(s)
		if err != nil || got != want {
			t.Errorf("parseGEMM(%q) = %+v, %v; want %+v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "1,2", "1,2,3,4", "a,b,c", "0,1,1", "1,1,-1", "1,,2", "99999999,1,1"} {
		if _, err := parseGEMM(s); err == nil {
			t.Errorf("parseGEMM(%q): no error", s)
		}
	}
}

func FuzzParseGEMM(f *testing.F) {
	for _, s := range []string{"16,16,16", "1x2x3", "", ",,,", "-1,2,3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := parseGEMM(s)
		if err != nil {
			return
		}
		if g.Validate() != nil {
			t.Fatalf("parseGEMM(%q) accepted invalid %+v", s, g)
		}
		for _, df := range []arch.Dataflow{arch.OutputStationary, arch.WeightStationary, arch.InputStationary} {
			c, err := cost.ComputeCycles(16, 16, df, g)
			if err != nil || c.Cycles < 1 || !(c.Util > 0 && c.Util <= 1) {
				t.Fatalf("cost.ComputeCycles(%+v, %s) = %+v, %v", g, df, c, err)
			}
		}
	})
}

func FuzzParseArray(f *testing.F) {
	for _, s := range []string{"16x16", "8", "x", "0x4", "4x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, c, err := parseArray(s)
		if err == nil && (r < 1 || c < 1 || r > arch.MaxArrayDim || c > arch.MaxArrayDim) {
			t.Fatalf("parseArray(%q) = %d, %d accepted", s, r, c)
		}
	})
}
