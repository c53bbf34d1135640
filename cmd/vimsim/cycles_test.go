package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestCyclesSCALESimTable runs every GEMM of hardware.md §1.3 through the
// CLI. The table lists (M, N, K); --gemm takes M,K,N.
func TestCyclesSCALESimTable(t *testing.T) {
	table := []struct {
		m, n, k    int
		os, ws, is int64
	}{
		{16, 16, 16, 45, 61, 61},
		{1, 1, 1, 30, 46, 46},
		{32, 48, 20, 299, 467, 375},
		{17, 16, 16, 91, 62, 123},
		{197, 768, 192, 138527, 139967, 126983},
		{197, 44, 384, 16145, 17495, 28079},
		{197, 384, 12, 13103, 5831, 5589},
		{197, 192, 384, 64583, 69983, 74255},
	}
	for _, row := range table {
		gemm := fmt.Sprintf("%d,%d,%d", row.m, row.k, row.n)
		for _, df := range []struct {
			name string
			want int64
		}{{"os", row.os}, {"ws", row.ws}, {"is", row.is}} {
			for _, arch := range [][]string{{"--array", "16x16"}, {"--arch", "systolic16"}} {
				args := append([]string{"cycles", "--gemm", gemm, "--dataflow", df.name, "--format", "json"}, arch...)
				out, err := perfCLI(t, args...)
				if err != nil {
					t.Fatalf("%v: %v", args, err)
				}
				var r map[string]any
				if err := json.Unmarshal([]byte(out), &r); err != nil {
					t.Fatalf("%v: %v\n%s", args, err, out)
				}
				if got := r["compute_cycles"]; got != float64(df.want) {
					t.Errorf("%v: compute_cycles %v, want %d", args, got, df.want)
				}
				if _, ok := r["folds"]; !ok {
					t.Errorf("%v: no folds", args)
				}
				if u, ok := r["util"].(float64); !ok || !(u > 0 && u <= 1) {
					t.Errorf("%v: util %v", args, r["util"])
				}
			}
		}
	}
	// JSON starts with the three documented keys.
	out, _ := perfCLI(t, "cycles", "--gemm", "16,16,16", "--format", "json")
	if !strings.HasPrefix(out, `{"compute_cycles":45,"folds":1,"util":0.3555`) {
		t.Errorf("json: %s", out)
	}
}

func TestCyclesTable(t *testing.T) {
	out, err := perfCLI(t, "cycles", "--array", "16x16", "--gemm", "197,192,768")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"138,527", "624", "222", "81.91"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %s:\n%s", want, out)
		}
	}
}

func TestCyclesErrors(t *testing.T) {
	wantErr(t, "--gemm", "cycles")
	wantErr(t, "--gemm", "cycles", "--gemm", "16,16")
	wantErr(t, "--gemm", "cycles", "--gemm", "16,x,16")
	wantErr(t, "--gemm", "cycles", "--gemm", "0,16,16")
	wantErr(t, "--array", "cycles", "--gemm", "1,1,1", "--array", "16by16")
	wantErr(t, "--array", "cycles", "--gemm", "1,1,1", "--array", "0x4")
	wantErr(t, "exclusive", "cycles", "--gemm", "1,1,1", "--array", "4x4", "--arch", "systolic8")
	wantErr(t, "--arch", "cycles", "--gemm", "1,1,1", "--arch", "systolic12")
	wantErr(t, "--dataflow", "cycles", "--gemm", "1,1,1", "--dataflow", "rs")
	wantErr(t, "--format", "cycles", "--gemm", "1,1,1", "--format", "yaml")
}
