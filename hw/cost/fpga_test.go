package cost

import (
	"strings"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
)

func TestEstimateResources(t *testing.T) {
	ops := lower(t, vimTi(t))
	tests := []struct {
		spec    arch.Spec
		dsp     int64
		fits    bool
		limit   string
		useURAM bool
	}{
		// 256 PEs / 2 + 16 conv lanes / 2 + 4·16 scan + 16 vector + 2·16 norm.
		{arch.Systolic16().WithFPGA("zcu102", arch.PackDual), 128 + 8 + 64 + 16 + 32, true, "", false},
		{arch.Systolic16().WithFPGA("zcu102", arch.PackNone), 256 + 16 + 64 + 16 + 32, true, "", false},
		// Unpacked, 4096 PEs at 94 LUTs (4.0x the LUTs) outgrow the 3.7x DSPs.
		{arch.Systolic64().WithFPGA("kv260", arch.PackNone), 4096 + 64 + 256 + 64 + 128, false, "lut", true},
		{arch.Systolic64().WithFPGA("vck190", arch.PackDot3), 1366 + 22 + 256 + 64 + 128, true, "", true},
		{arch.Systolic32().WithFPGA("u280", ""), 512 + 16 + 128 + 32 + 64, true, "", true},
	}
	for _, tc := range tests {
		r, err := EstimateResources(tc.spec, ops)
		if err != nil {
			t.Fatal(err)
		}
		if r.DSP != tc.dsp {
			t.Errorf("%s on %s: %d DSPs, want %d", tc.spec.Name, r.Board, r.DSP, tc.dsp)
		}
		if r.Fits != tc.fits || r.Fits != (r.MaxUtil() <= 1) {
			t.Errorf("%s on %s: fits %t (max util %.2f), want %t", tc.spec.Name, r.Board, r.Fits, r.MaxUtil(), tc.fits)
		}
		if tc.limit != "" && r.Limit != tc.limit {
			t.Errorf("%s on %s: limit %s, want %s", tc.spec.Name, r.Board, r.Limit, tc.limit)
		}
		if (r.URAM > 0) != tc.useURAM {
			t.Errorf("%s on %s: %d URAMs", tc.spec.Name, r.Board, r.URAM)
		}
		b, _ := arch.LookupBoard(r.Board)
		if r.URAM > int64(b.URAM) {
			t.Errorf("%s: %d URAMs on a board with %d", r.Board, r.URAM, b.URAM)
		}
		if r.BRAM36 <= 0 || r.LUT <= lutBase {
			t.Errorf("%s: memories %d BRAM36, %d LUT", r.Board, r.BRAM36, r.LUT)
		}
	}
	// Unpacked PEs keep the accumulator in fabric: 94 LUTs instead of 40
	// (the Yosys count of hw/rtl's array).
	packed, _ := EstimateResources(arch.Systolic16().WithFPGA("zcu102", arch.PackDual), ops)
	unpacked, _ := EstimateResources(arch.Systolic16().WithFPGA("zcu102", arch.PackNone), ops)
	if d := unpacked.LUT - packed.LUT; d != (94-40)*256 {
		t.Errorf("16x16 LUTs unpacked - packed = %d, want %d", d, (94-40)*256)
	}
	// Bigger buffers need more memory blocks.
	small, _ := EstimateResources(arch.Systolic16().WithFPGA("zcu102", arch.PackDual), ops)
	big := arch.Systolic16().WithFPGA("zcu102", arch.PackDual)
	big.Buffers.ActKiB = 2048
	large, _ := EstimateResources(big, ops)
	if large.BRAM36 <= small.BRAM36 {
		t.Errorf("2 MiB act buffer: %d BRAM36, 256 KiB: %d", large.BRAM36, small.BRAM36)
	}
	if _, err := EstimateResources(arch.Systolic16(), ops); err == nil {
		t.Error("no board accepted")
	}
	if _, err := EstimateResources(arch.Systolic16().WithFPGA("zcu102", arch.PackDot3), ops); err == nil || !strings.Contains(err.Error(), "dsp_packing") {
		t.Errorf("dot3 on a DSP48E2 board: %v", err)
	}
}
