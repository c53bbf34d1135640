package traces

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
)

func TestParseUnits(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []Unit
		err  string
	}{
		{"all", []Unit{"gemm", "requant", "scan", "nonlin", "norm", "dwconv", "vector"}, ""},
		{"norm,gemm", []Unit{UnitGEMM, UnitNorm}, ""},
		{" Scan , scan ", []Unit{UnitScan}, ""},
		{"vector,dwconv,norm", []Unit{UnitNorm, UnitDWConv, UnitVector}, ""},
		{"ALL,vector", AllUnits(), ""},
		{"gemm,bogus", nil, "unknown unit"},
		{"merge", nil, "known: gemm, requant, scan, nonlin, norm, dwconv, vector, all"},
		{",", nil, "no unit"},
	} {
		got, err := ParseUnits(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseUnits(%q): err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseUnits(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestParseLayers(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
		err  string
	}{
		{"0,3", []int{0, 3}, ""},
		{"3,0,3", []int{0, 3}, ""},
		{"1-2,head,embed", []int{layerEmbed, 1, 2, layerHead}, ""},
		{"all", []int{layerEmbed, 0, 1, 2, 3, layerHead}, ""},
		{"4", nil, "blocks 0..3"},
		{"-1", nil, "blocks 0..3"},
		{"2-1", nil, "want a block index"},
		{"x", nil, "want a block index"},
		{"", nil, "no layer"},
	} {
		got, err := ParseLayers(c.in, 4)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseLayers(%q): err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseLayers(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func FuzzParseLayers(f *testing.F) {
	for _, s := range []string{"0,3", "all", "1-2,head", "embed", "-", "9-", "0-999999999999"} {
		f.Add(s, 4)
	}
	f.Fuzz(func(t *testing.T, s string, depth int) {
		if depth < 0 || depth > 1000 {
			return
		}
		got, err := ParseLayers(s, depth)
		if err != nil {
			return
		}
		for i, l := range got {
			if l != layerEmbed && l != layerHead && (l < 0 || l >= depth) {
				t.Fatalf("layer %d out of range", l)
			}
			if i > 0 && layerOrder(got[i-1]) >= layerOrder(l) {
				t.Fatalf("not sorted: %v", got)
			}
		}
	})
}

func FuzzParseUnits(f *testing.F) {
	for _, s := range []string{"all", "gemm,scan", ",,", "GEMM"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseUnits(s)
		if err != nil {
			return
		}
		if len(got) == 0 || len(got) > len(AllUnits()) {
			t.Fatalf("%v", got)
		}
	})
}

func TestNewRecorderRejects(t *testing.T) {
	// Every dataflow has gemm vectors (gemm_os, gemm_ws).
	for _, df := range []arch.Dataflow{arch.OutputStationary, arch.WeightStationary, arch.InputStationary} {
		if _, err := NewRecorder(Options{Arch: arch.Systolic16().WithDataflow(df)}); err != nil {
			t.Errorf("%s arch: %v", df, err)
		}
	}
	bad := arch.Systolic16()
	bad.Array.Rows = 0
	if _, err := NewRecorder(Options{Arch: bad}); err == nil {
		t.Error("invalid arch accepted")
	}
}

func TestSetNames(t *testing.T) {
	for _, c := range []struct {
		layer    int
		op, kind string
		want     string
	}{
		{0, "in_proj", "gemm_layer", "l00_in_proj_gemm_layer"},
		{12, "scan_b", "scan", "l12_scan_b"},
		{0, "scan", "scan", "l00_scan"},
		{layerEmbed, "patch_embed", "requant", "embed_patch_embed_requant"},
		{layerHead, "norm/f", "rmsnorm", "head_norm_f_rmsnorm"},
	} {
		if got := newSet(UnitGEMM, "tb", c.layer, c.op, c.kind).name; got != c.want {
			t.Errorf("name(%d, %q, %q) = %q, want %q", c.layer, c.op, c.kind, got, c.want)
		}
	}
}
