package traces

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/datapath"
)

// TestWidthDefines checks that a GEMM set of int4 weights carries the PE
// weight width and a scan set of an int16 state the state width, as
// params.vh defines, and that int8 sets carry neither (their bytes are the
// ones before the widths existed).
func TestWidthDefines(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 1))
	a := randMatrix(r, 5, 7)
	w8 := randMatrix(r, 3, 7)
	w4 := datapath.NewMatrix[int8](3, 7)
	for i := range w4.Data {
		w4.Data[i] = int8(r.IntN(16) - 8)
	}
	W8, err := datapath.NewWeights(3, 7, w8.Data)
	if err != nil {
		t.Fatal(err)
	}
	W4, err := datapath.NewInt4Weights(3, 7, w4.Data)
	if err != nil {
		t.Fatal(err)
	}
	u, err := datapath.NewExp2Unit(datapath.DefaultExpTableBits)
	if err != nil {
		t.Fatal(err)
	}
	const E, N, L = 5, 3, 4
	scan := func(bits int) (*datapath.ScanParams, datapath.ScanInputs) {
		s := synthScanScales(rand.New(rand.NewPCG(3, 3)), E, N, L)
		if bits == 16 {
			for i := range s.StateScale {
				s.StateScale[i] /= 256
			}
			s.StateBits = 16
		}
		p, err := datapath.NewScanParams(E, N, L, s)
		if err != nil {
			t.Fatal(err)
		}
		in := datapath.ScanInputs{X: randMatrix(r, L, E), Delta: datapath.NewMatrix[int8](L, E), Z: randMatrix(r, L, E),
			B: randMatrix(r, L, N), C: randMatrix(r, L, N)}
		for i := range in.Delta.Data {
			in.Delta.Data[i] = int8(r.IntN(128))
		}
		return p, in
	}
	rec, err := NewRecorder(Options{Generator: "vimsim test", Arch: arch.Systolic8(), Recipe: "w4-mixed"})
	if err != nil {
		t.Fatal(err)
	}
	x := randMatrix(r, 6, 5)
	taps8 := randMatrix(r, 5, 4)
	taps4 := datapath.NewMatrix[int8](5, 4)
	for i := range taps4.Data {
		taps4.Data[i] = int8(r.IntN(16) - 8)
	}
	p8, in8 := scan(8)
	p16, in16 := scan(16)
	for _, err := range []error{rec.GEMM(0, "in_proj", a, W8), rec.GEMM(1, "in_proj", a, W4),
		rec.Scan(0, "scan", in8, p8, u), rec.Scan(1, "scan", in16, p16, u),
		rec.DepthwiseConv(0, "conv1d", x, taps8, 8), rec.DepthwiseConv(1, "conv1d", x, taps4, 4)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := rec.Bundle(BundleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		set, want string
	}{
		{"l00_in_proj_gemm_layer", ""}, {"l00_in_proj_gemm_tile0", ""}, {"l00_scan", ""},
		{"l01_in_proj_gemm_layer", "`define VIMSIM_WBITS 4"}, {"l01_in_proj_gemm_tile0", "`define VIMSIM_WBITS 4"},
		{"l01_scan", "`define VIMSIM_SBITS 16"},
		{"l00_conv1d_dwconv", ""}, {"l01_conv1d_dwconv", "`define VIMSIM_WBITS 4"},
	} {
		ph := string(bundleFile(t, b, c.set+"/params.vh"))
		if c.want == "" {
			if strings.Contains(ph, "`define VIMSIM_") {
				t.Errorf("%s: a width define in an 8-bit set:\n%s", c.set, ph)
			}
		} else if !strings.Contains(ph, c.want) {
			t.Errorf("%s: no %q in\n%s", c.set, c.want, ph)
		}
	}
	// The manifest names the recipe and lists each set's defines.
	if b.Manifest.Recipe != "w4-mixed" {
		t.Errorf("manifest recipe %q", b.Manifest.Recipe)
	}
	want := map[string]map[string]int64{"l01_in_proj_gemm_layer": {"VIMSIM_WBITS": 4}, "l01_in_proj_gemm_tile0": {"VIMSIM_WBITS": 4},
		"l01_scan": {"VIMSIM_SBITS": 16}, "l01_conv1d_dwconv": {"VIMSIM_WBITS": 4}}
	for _, set := range b.Manifest.Sets {
		if w := want[set.Name]; !reflect.DeepEqual(set.Defines, w) {
			t.Errorf("manifest set %s: defines %v, want %v", set.Name, set.Defines, w)
		}
	}
	for _, f := range b.Manifest.Files {
		if f.Set == "l01_conv1d_dwconv" && f.Tensor == "w" && !strings.HasPrefix(f.DType, "int4") {
			t.Errorf("%s: dtype %q, want int4", f.Path, f.DType)
		}
	}
	// Taps outside int4, or another width, are refused.
	if err := rec.DepthwiseConv(2, "conv1d", x, taps8, 4); err == nil || !strings.Contains(err.Error(), "outside [-8, 7]") {
		t.Errorf("int8 taps as int4: %v", err)
	}
	if err := rec.DepthwiseConv(2, "conv1d", x, taps4, 6); err == nil || !strings.Contains(err.Error(), "6-bit taps") {
		t.Errorf("6-bit taps: %v", err)
	}
}
