package scalesim

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The file names and header lines of SCALE-Sim's three reports.
const (
	ComputeReportName        = "COMPUTE_REPORT.csv"
	BandwidthReportName      = "BANDWIDTH_REPORT.csv"
	DetailedAccessReportName = "DETAILED_ACCESS_REPORT.csv"

	computeHeader   = "LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,\n"
	bandwidthHeader = "LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, " +
		"Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,\n"
	detailedHeader = "LayerID, " +
		"SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, " +
		"SRAM Filter Start Cycle, SRAM Filter Stop Cycle, SRAM Filter Reads, " +
		"SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, " +
		"DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, " +
		"DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM Filter Reads, " +
		"DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,\n"
)

// writeRows writes a header and one row per layer: the layer's index and
// its items, each followed by ", " and the row by ",\n", as SCALE-Sim
// writes them.
func writeRows(w io.Writer, header string, r Report, items func(LayerReport) []string) error {
	var b bytes.Buffer
	b.WriteString(header)
	for i, l := range r.Layers {
		b.WriteString(strconv.Itoa(i))
		for _, it := range items(l) {
			b.WriteString(", ")
			b.WriteString(it)
		}
		b.WriteString(",\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// cycle formats a trace cycle, which SCALE-Sim holds as a float.
func cycle(n int64) string { return pyFloat(float64(n)) }

// WriteComputeReport writes SCALE-Sim's COMPUTE_REPORT.csv.
func WriteComputeReport(w io.Writer, r Report) error {
	return writeRows(w, computeHeader, r, func(l LayerReport) []string {
		return []string{itoa(l.TotalCycles), itoa(l.StallCycles),
			pyFloat(l.OverallUtilPct), pyFloat(l.MappingEffPct), pyFloat(l.ComputeUtilPct)}
	})
}

// WriteBandwidthReport writes SCALE-Sim's BANDWIDTH_REPORT.csv: average
// words per cycle, SRAM over the layer's total cycles, DRAM over each
// operand's span of DRAM cycles.
func WriteBandwidthReport(w io.Writer, r Report) error {
	return writeRows(w, bandwidthHeader, r, func(l LayerReport) []string {
		return []string{pyFloat(l.SRAMIfmapBandwidth()), pyFloat(l.SRAMFilterBandwidth()), pyFloat(l.SRAMOfmapBandwidth()),
			pyFloat(l.DRAMIfmapReads.Bandwidth()), pyFloat(l.DRAMFilterReads.Bandwidth()), pyFloat(l.DRAMOfmapWrites.Bandwidth())}
	})
}

// WriteDetailedAccessReport writes SCALE-Sim's DETAILED_ACCESS_REPORT.csv.
func WriteDetailedAccessReport(w io.Writer, r Report) error {
	return writeRows(w, detailedHeader, r, func(l LayerReport) []string {
		var out []string
		for _, a := range []Access{l.SRAMIfmapReads, l.SRAMFilterReads, l.SRAMOfmapWrites,
			l.DRAMIfmapReads, l.DRAMFilterReads, l.DRAMOfmapWrites} {
			out = append(out, cycle(a.Start), cycle(a.Stop), itoa(a.Words))
		}
		return out
	})
}

// WriteReports writes the three report files into dir (SCALE-Sim uses
// <log dir>/<run name>). All three are written to temporary files first and
// renamed into place only when every one is complete, so that a failure
// leaves no partial report.
func WriteReports(dir string, r Report) error {
	files := []struct {
		name  string
		write func(io.Writer, Report) error
	}{
		{ComputeReportName, WriteComputeReport},
		{BandwidthReportName, WriteBandwidthReport},
		{DetailedAccessReportName, WriteDetailedAccessReport},
	}
	var temps []string
	defer func() {
		for _, t := range temps {
			if t != "" {
				os.Remove(t) // not renamed
			}
		}
	}()
	for _, f := range files {
		var b bytes.Buffer
		if err := f.write(&b, r); err != nil {
			return err
		}
		tmp, err := os.CreateTemp(dir, "."+f.name+".tmp*")
		if err != nil {
			return err
		}
		temps = append(temps, tmp.Name())
		_, err = tmp.Write(b.Bytes())
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(dir, f.name), err)
		}
	}
	for i, f := range files {
		if err := os.Rename(temps[i], filepath.Join(dir, f.name)); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(dir, f.name), err)
		}
		temps[i] = ""
	}
	return nil
}

// pyFloat formats x as Python's repr (and str) of a float: the shortest
// digits that read back as x, in positional notation when the decimal
// exponent is in [−4, 16), with ".0" on whole numbers, and otherwise as
// d.ddde±XX.
func pyFloat(x float64) string {
	switch {
	case math.IsNaN(x):
		return "nan"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(x, 'e', -1, 64) // [-]d[.ddd]e±XX
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	mant, exp, _ := strings.Cut(s, "e")
	digits := strings.Replace(mant, ".", "", 1)
	e, _ := strconv.Atoi(exp)
	decpt := e + 1 // x = 0.digits × 10^decpt
	if decpt <= -4 || decpt > 16 {
		out := digits[:1]
		if len(digits) > 1 {
			out += "." + digits[1:]
		}
		es := "+"
		if e < 0 {
			es, e = "-", -e
		}
		return sign + out + "e" + es + fmt.Sprintf("%02d", e)
	}
	switch {
	case decpt <= 0:
		return sign + "0." + strings.Repeat("0", -decpt) + digits
	case decpt >= len(digits):
		return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
	}
	return sign + digits[:decpt] + "." + digits[decpt:]
}
