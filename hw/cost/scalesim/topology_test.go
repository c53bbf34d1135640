package scalesim

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestParseTopologyGEMM(t *testing.T) {
	in := "Layer, M, N, K,\r\nqkv, 50, 96, 32,\r\n\r\n,,,,\nhead,1,1000,192,# comment\n odd , 7 , 5 , 3 , extra, ,\n"
	got, err := ParseTopology(strings.NewReader(in), "g.csv", GEMMTopology)
	if err != nil {
		t.Fatal(err)
	}
	want := []Layer{GEMMLayer("qkv", 50, 32, 96), GEMMLayer("head", 1, 192, 1000), GEMMLayer("odd", 7, 3, 5)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if m, k, n := got[0].GEMM(); m != 50 || k != 32 || n != 96 {
		t.Errorf("qkv lowers to %d×%d×%d", m, k, n)
	}
}

func TestParseTopologyConv(t *testing.T) {
	in := "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n" +
		"conv1, 224, 224, 7, 7, 3, 64, 2,\n" +
		"rect, 20, 30, 3, 5, 8, 16, 1, 2,\n" +
		"more, 9, 9, 3, 3, 1, 4, 1, 1, 77, 0,\n" +
		",,,,,,,,,,,,\n" +
		"resnet, 224, 224, 7, 7, 3, 64, 2,,,110,110,12100\n" +
		"dw, 8, 8, 3, 3, 1, 1, 1,#dw\n" +
		"dwDP, 10, 10, 3, 3, 2, 1, 1,\n"
	got, err := ParseTopology(strings.NewReader(in), "c.csv", ConvTopology)
	if err != nil {
		t.Fatal(err)
	}
	want := []Layer{
		{"conv1", 224, 224, 7, 7, 3, 64, 2, 2},
		{"rect", 20, 30, 3, 5, 8, 16, 1, 2},
		{"more", 9, 9, 3, 3, 1, 4, 1, 1},
		{"resnet", 224, 224, 7, 7, 3, 64, 2, 2},
		{"dw", 8, 8, 3, 3, 1, 1, 1, 1},
		{"dwDPChannel_0", 10, 10, 3, 3, 1, 1, 1, 1},
		{"dwDPChannel_1", 10, 10, 3, 3, 1, 1, 1, 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	// SCALE-Sim's lowering: ofmap ⌈(H−FH+S)/S⌉, window FH·FW·C.
	if m, k, n := got[0].GEMM(); m != 110*110 || k != 147 || n != 64 {
		t.Errorf("conv1 lowers to %d×%d×%d", m, k, n)
	}
}

func TestParseTopologyErrors(t *testing.T) {
	head := "h\n"
	cases := []struct {
		kind     TopologyKind
		in, want string
	}{
		{GEMMTopology, head + "a, 1, 2,\n", "t.csv: line 2: row: want name, M, N, K, each followed by a comma; got 3 fields"},
		{GEMMTopology, head + "a, 1, 2, 3\n", "t.csv: line 2: row: want name, M, N, K, each followed by a comma; got 3 fields"},
		{GEMMTopology, head + "a, 1, x, 3,\n", `t.csv: line 2: N: "x" is not an integer`},
		{GEMMTopology, head + "a, 1, 2, 0,\n", "t.csv: line 2: K: must be in [1, 16777216], got 0"},
		{GEMMTopology, head + "a, 1.0, 2, 3,\n", `t.csv: line 2: M: "1.0" is not an integer`},
		{ConvTopology, head + "a, 5, 5, 3, 3, 1, 4,\n", "t.csv: line 2: row: want name, IFMAP Height,"},
		{ConvTopology, head + "a, 5, 5, 6, 3, 1, 4, 1,\n", "t.csv: line 2: row: layer a: Filter Height 6 is larger than IFMAP Height 5"},
		{ConvTopology, head + "a, 5, 5, 3, 3, 1, 4, 1, 1, z,\n", `t.csv: line 2: extra column 10: "z" is not an integer`},
		{ConvTopology, head + "a, 5, 5, 3, 3, 1, 4, 0,\n", "t.csv: line 2: Strides: must be in [1,"},
		{ConvTopology, head, "t.csv: no layers"},
	}
	for _, c := range cases {
		_, err := ParseTopology(strings.NewReader(c.in), "t.csv", c.kind)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: error %v\nwant prefix %q", c.in, err, c.want)
		}
	}
}

// FuzzParseTopology: the parser never panics, names the file in its
// errors, and what it accepts writes out and reads back the same.
func FuzzParseTopology(f *testing.F) {
	f.Add("Layer, M, N, K,\nqkv, 50, 96, 32,\n", true)
	f.Add("h\nconv1, 224, 224, 7, 7, 3, 64, 2,\nrect, 20, 30, 3, 5, 8, 16, 1, 2, 5,\n", false)
	f.Add("h\ndwDP, 10, 10, 3, 3, 2, 1, 1,\n", false)
	f.Fuzz(func(t *testing.T, in string, gemm bool) {
		kind := ConvTopology
		if gemm {
			kind = GEMMTopology
		}
		layers, err := ParseTopology(strings.NewReader(in), "fuzz.csv", kind)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, l := range layers {
			if err := l.Validate(); err != nil {
				t.Fatalf("accepted an invalid layer: %v", err)
			}
			if strings.Contains(l.Name, "DP") {
				return // read back, it would split again
			}
		}
		var b bytes.Buffer
		if err := WriteTopology(&b, layers); err != nil {
			return // a name a CSV row cannot hold
		}
		back, err := ParseTopology(&b, "back.csv", ConvTopology)
		if err != nil {
			t.Fatalf("written topology does not parse: %v\n%s", err, b.String())
		}
		if !reflect.DeepEqual(back, layers) {
			t.Fatalf("round trip %+v, want %+v", back, layers)
		}
	})
}
