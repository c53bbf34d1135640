package arch

import (
	"strings"
	"testing"
)

func TestBoards(t *testing.T) {
	// Device resources from the AMD product tables.
	want := map[string][5]int{ // LUT, DSP, BRAM36, URAM, FF
		"zcu102": {274080, 2520, 912, 0, 548160},
		"zcu104": {230400, 1728, 312, 96, 460800},
		"kv260":  {117120, 1248, 144, 64, 234240},
		"vck190": {899840, 1968, 967, 463, 1799680},
		"u280":   {1303680, 9024, 2016, 960, 2607360},
	}
	if len(BoardNames()) != len(want) {
		t.Fatalf("boards %v", BoardNames())
	}
	for name, w := range want {
		b, err := LookupBoard(strings.ToUpper(name))
		if err != nil {
			t.Fatal(err)
		}
		if got := [5]int{b.LUT, b.DSP, b.BRAM36, b.URAM, b.FF}; got != w {
			t.Errorf("%s: %v, want %v", name, got, w)
		}
	}
	if _, err := LookupBoard("de10-nano"); err == nil || !strings.Contains(err.Error(), "zcu102") {
		t.Errorf("unknown board error %v", err)
	}
}
