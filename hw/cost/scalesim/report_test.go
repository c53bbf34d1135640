package scalesim

import (
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportsMatchSCALESim runs the configurations and topologies under
// testdata/reports through Run and requires the three report files to
// equal, byte for byte, the ones SCALE-Sim wrote for them (kept in each
// case's scalesim/ directory, made with tools/scalesim/make_records.py
// reports).
func TestReportsMatchSCALESim(t *testing.T) {
	cases := []struct {
		dir  string
		kind TopologyKind
	}{
		{"gemm_ws", GEMMTopology},
		{"conv_os", ConvTopology},
		{"conv_is", ConvTopology},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			dir := filepath.Join("testdata", "reports", c.dir)
			cfg, err := ReadConfig(filepath.Join(dir, "run.cfg"))
			if err != nil {
				t.Fatal(err)
			}
			layers, err := ReadTopology(filepath.Join(dir, "topology.csv"), c.kind)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Run(cfg.Config, layers)
			if err != nil {
				t.Fatal(err)
			}
			if rep.RunName != c.dir {
				t.Errorf("run name %q, want %q", rep.RunName, c.dir)
			}
			writers := map[string]func(io.Writer, Report) error{
				ComputeReportName:        WriteComputeReport,
				BandwidthReportName:      WriteBandwidthReport,
				DetailedAccessReportName: WriteDetailedAccessReport,
			}
			for name, write := range writers {
				want, err := os.ReadFile(filepath.Join(dir, "scalesim", name))
				if err != nil {
					t.Fatal(err)
				}
				var got bytes.Buffer
				if err := write(&got, rep); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Errorf("%s differs from SCALE-Sim's:\n got: %s\nwant: %s", name, got.String(), want)
				}
			}
			out := t.TempDir()
			if err := WriteReports(out, rep); err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(out)
			if len(entries) != 3 {
				t.Errorf("WriteReports left %d files, want 3", len(entries))
			}
		})
	}
}

// TestPyFloat checks the formatting against Python's repr of the same
// floats.
func TestPyFloat(t *testing.T) {
	cases := []struct {
		x    float64
		want string
	}{
		{0, "0.0"}, {16, "16.0"}, {-16, "-16.0"}, {0.5, "0.5"}, {100, "100.0"},
		{12.971934838525293, "12.971934838525293"}, {91.66666666666666, "91.66666666666666"},
		{1e16, "1e+16"}, {1.5e16, "1.5e+16"}, {9999999999999998, "9999999999999998.0"},
		{123456789012345678, "1.2345678901234568e+17"},
		{0.0001, "0.0001"}, {0.00001, "1e-05"}, {0.000123, "0.000123"}, {1.5e-7, "1.5e-07"},
		{5e-324, "5e-324"}, {1e300, "1e+300"}, {math.Inf(1), "inf"}, {math.NaN(), "nan"},
		{math.Nextafter(0.3, 1), "0.30000000000000004"}, {1234.5, "1234.5"}, {-2048, "-2048.0"},
	}
	for _, c := range cases {
		if got := pyFloat(c.x); got != c.want {
			t.Errorf("pyFloat(%v) = %q, want %q", c.x, got, c.want)
		}
	}
}

// TestReportRowShape checks the column count of every report row against
// its header.
func TestReportRowShape(t *testing.T) {
	c := DefaultConfig(8, 8, OutputStationary, 4, 4, 4, 8)
	rep, err := Run(c, []Layer{GEMMLayer("a", 10, 20, 30), GEMMLayer("b", 3, 4, 5)})
	if err != nil {
		t.Fatal(err)
	}
	for name, write := range map[string]func(io.Writer, Report) error{
		ComputeReportName: WriteComputeReport, BandwidthReportName: WriteBandwidthReport,
		DetailedAccessReportName: WriteDetailedAccessReport,
	} {
		var b bytes.Buffer
		if err := write(&b, rep); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if len(lines) != 3 {
			t.Fatalf("%s: %d lines, want 3", name, len(lines))
		}
		cols := strings.Count(lines[0], ",")
		for i, l := range lines[1:] {
			if n := strings.Count(l, ","); n != cols {
				t.Errorf("%s row %d: %d commas, header has %d", name, i, n, cols)
			}
		}
	}
}

// TestTrueDiv checks Python's correctly rounded int / int beyond 2^53,
// where converting both sides to float64 first would round twice.
func TestTrueDiv(t *testing.T) {
	// (3·2^53+3)/3 = 2^53+1, a tie that rounds to 2^53; float64(3·2^53+3)
	// is 3·2^53+4, which would give 2^53+2. Python: (3*2**53+3)/3 == 2**53.
	if got := trueDiv(3<<53+3, 3); got != 1<<53 {
		t.Errorf("trueDiv(3·2^53+3, 3) = %v, want 2^53", got)
	}
	if got, want := trueDiv(1, 3), 1.0/3; got != want {
		t.Errorf("trueDiv(1, 3) = %v", got)
	}
}

// TestWriteReportsError: a directory that cannot be written gets an error
// and no file.
func TestWriteReportsError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	rep, err := Run(DefaultConfig(4, 4, WeightStationary, 1, 1, 1, 2), []Layer{GEMMLayer("a", 5, 6, 7)})
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteReports(dir, rep); err == nil {
		t.Fatal("WriteReports into a missing directory succeeded")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory created: %v", err)
	}
}
