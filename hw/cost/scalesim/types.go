package scalesim

import (
	"fmt"
	"math/big"
	"strings"
)

// Dataflow is the systolic array's stationarity: which operand stays in the
// processing elements while the others stream through.
type Dataflow uint8

// The three dataflows SCALE-Sim v2 models.
const (
	OutputStationary Dataflow = iota // "os": partial sums stay in the PEs
	WeightStationary                 // "ws": filter words stay in the PEs
	InputStationary                  // "is": ifmap words stay in the PEs
)

// String returns SCALE-Sim's spelling: "os", "ws" or "is".
func (d Dataflow) String() string {
	switch d {
	case OutputStationary:
		return "os"
	case WeightStationary:
		return "ws"
	case InputStationary:
		return "is"
	}
	return fmt.Sprintf("Dataflow(%d)", uint8(d))
}

// ParseDataflow accepts "os", "ws" or "is", exactly as SCALE-Sim spells them.
func ParseDataflow(s string) (Dataflow, error) {
	switch s {
	case "os":
		return OutputStationary, nil
	case "ws":
		return WeightStationary, nil
	case "is":
		return InputStationary, nil
	}
	return 0, fmt.Errorf("dataflow %q: want os, ws or is", s)
}

// Limits on the inputs, chosen so that every count fits in an int64 and the
// closed forms cannot overflow.
const (
	maxArrayDim   = 1 << 16 // rows or columns of the array
	maxLayerDim   = 1 << 24 // any GEMM or convolution dimension
	maxMatrix     = 1 << 36 // elements of one operand matrix
	maxSRAMKiB    = 1 << 24 // per-buffer capacity (16 GiB)
	maxBandwidth  = 1 << 20 // words per cycle
	maxWordBytes  = 1 << 10 // bytes per word
	maxAddrOffset = 1 << 50 // operand base addresses
)

// Config is one SCALE-Sim run configuration: the fields of its .cfg file
// that the simulation reads. The zero value is not valid; start from
// [DefaultConfig] or [ParseConfig].
type Config struct {
	RunName string // [general] run_name: the report directory's name

	Rows, Cols int      // [architecture_presets] ArrayHeight, ArrayWidth
	Dataflow   Dataflow // [architecture_presets] Dataflow

	// Capacity of each double-buffered scratchpad in KiB (SCALE-Sim's
	// IfmapSramSzkB etc.; it multiplies them by 1024). Half of each is the
	// active buffer, half the prefetch (or drain) buffer.
	IfmapKiB, FilterKiB, OfmapKiB int

	// Base addresses of the three operands (IfmapOffset etc.). They label
	// SCALE-Sim's traces and change none of the counts.
	IfmapOffset, FilterOffset, OfmapOffset int64

	// UserBandwidth is [run_presets] InterfaceBandwidth: true for USER,
	// false for CALC (SCALE-Sim's estimate-bandwidth mode, which this
	// package does not model).
	UserBandwidth bool

	// Bandwidth is the DRAM interface width in words per cycle for every
	// operand ([architecture_presets] Bandwidth; SCALE-Sim reads a list and
	// uses its first entry).
	Bandwidth int

	// WordBytes is the size of one word in bytes. SCALE-Sim fixes it at 1;
	// 0 means 1.
	WordBytes int
}

// DefaultConfig returns a USER-bandwidth configuration with SCALE-Sim's
// default offsets and the given array, dataflow, buffer sizes (KiB) and
// bandwidth (words per cycle).
func DefaultConfig(rows, cols int, df Dataflow, ifmapKiB, filterKiB, ofmapKiB, bandwidth int) Config {
	return Config{
		RunName:       "scale_run",
		Rows:          rows,
		Cols:          cols,
		Dataflow:      df,
		IfmapKiB:      ifmapKiB,
		FilterKiB:     filterKiB,
		OfmapKiB:      ofmapKiB,
		IfmapOffset:   0,
		FilterOffset:  10000000,
		OfmapOffset:   20000000,
		UserBandwidth: true,
		Bandwidth:     bandwidth,
		WordBytes:     1,
	}
}

// wordBytes returns the word size with 0 meaning SCALE-Sim's 1.
func (c Config) wordBytes() int {
	if c.WordBytes == 0 {
		return 1
	}
	return c.WordBytes
}

// Validate reports the first field out of range, naming it as SCALE-Sim's
// .cfg file does.
func (c Config) Validate() error {
	if !c.UserBandwidth {
		return fmt.Errorf("InterfaceBandwidth: CALC (estimated bandwidth) is not modelled; use USER")
	}
	ints := []struct {
		name   string
		v, max int64
		min    int64
	}{
		{"ArrayHeight", int64(c.Rows), maxArrayDim, 1},
		{"ArrayWidth", int64(c.Cols), maxArrayDim, 1},
		{"IfmapSramSzkB", int64(c.IfmapKiB), maxSRAMKiB, 1},
		{"FilterSramSzkB", int64(c.FilterKiB), maxSRAMKiB, 1},
		{"OfmapSramSzkB", int64(c.OfmapKiB), maxSRAMKiB, 1},
		{"IfmapOffset", c.IfmapOffset, maxAddrOffset, 0},
		{"FilterOffset", c.FilterOffset, maxAddrOffset, 0},
		{"OfmapOffset", c.OfmapOffset, maxAddrOffset, 0},
		{"Bandwidth", int64(c.Bandwidth), maxBandwidth, 1},
		{"word size", int64(c.wordBytes()), maxWordBytes, 1},
	}
	for _, f := range ints {
		if f.v < f.min || f.v > f.max {
			return fmt.Errorf("%s: must be in [%d, %d], got %d", f.name, f.min, f.max, f.v)
		}
	}
	if c.Dataflow > InputStationary {
		return fmt.Errorf("Dataflow: %v is not os, ws or is", c.Dataflow)
	}
	// A buffer of one word has an empty prefetch (or drain) half, with which
	// SCALE-Sim never finishes.
	if w := 2 * int64(c.wordBytes()); int64(min(c.IfmapKiB, c.FilterKiB, c.OfmapKiB))*1024 < w {
		return fmt.Errorf("word size %d bytes: a buffer holds less than two words", c.wordBytes())
	}
	return nil
}

// Layer is one row of a SCALE-Sim topology: a convolution, or a GEMM
// written as the convolution SCALE-Sim lowers it to (see [GEMMLayer]).
type Layer struct {
	Name             string
	IfmapH, IfmapW   int // input feature map height and width
	FilterH, FilterW int // filter height and width
	Channels         int // input channels
	Filters          int // output channels (number of filters)
	StrideH, StrideW int // strides along the height and the width
}

// GEMMLayer is the layer SCALE-Sim makes of a GEMM topology row (name, M, N,
// K): an M×K ifmap with a 1×K filter, one channel, N filters and stride 1,
// so that the ifmap matrix is M×K, the filter matrix K×N and the ofmap M×N.
func GEMMLayer(name string, m, k, n int) Layer {
	return Layer{Name: name, IfmapH: m, IfmapW: k, FilterH: 1, FilterW: k, Channels: 1, Filters: n, StrideH: 1, StrideW: 1}
}

// OfmapDims returns the output height and width as SCALE-Sim computes them:
// ⌈(H − FH + S)/S⌉, which counts a last window that runs past the edge.
func (l Layer) OfmapDims() (h, w int) {
	return ceilDiv(l.IfmapH-l.FilterH+l.StrideH, l.StrideH), ceilDiv(l.IfmapW-l.FilterW+l.StrideW, l.StrideW)
}

// GEMM returns the matrix product SCALE-Sim runs for the layer: M ofmap
// pixels per filter, K = FH·FW·C words per window, N filters.
func (l Layer) GEMM() (m, k, n int) {
	oh, ow := l.OfmapDims()
	return oh * ow, l.FilterH * l.FilterW * l.Channels, l.Filters
}

// MACs is M·K·N, SCALE-Sim's count of useful multiply-accumulates.
func (l Layer) MACs() int64 {
	m, k, n := l.GEMM()
	return int64(m) * int64(k) * int64(n)
}

// Validate reports a dimension that SCALE-Sim would reject or that is out of
// this package's range, naming the layer and the topology column.
func (l Layer) Validate() error {
	name := l.Name
	if strings.TrimSpace(name) == "" {
		name = "(unnamed)"
	}
	dims := []struct {
		col string
		v   int
	}{
		{"IFMAP Height", l.IfmapH}, {"IFMAP Width", l.IfmapW},
		{"Filter Height", l.FilterH}, {"Filter Width", l.FilterW},
		{"Channels", l.Channels}, {"Num Filter", l.Filters},
		{"Stride Height", l.StrideH}, {"Stride Width", l.StrideW},
	}
	for _, d := range dims {
		if d.v < 1 || d.v > maxLayerDim {
			return fmt.Errorf("layer %s: %s must be in [1, %d], got %d", name, d.col, maxLayerDim, d.v)
		}
	}
	if l.FilterH > l.IfmapH {
		return fmt.Errorf("layer %s: Filter Height %d is larger than IFMAP Height %d", name, l.FilterH, l.IfmapH)
	}
	if l.FilterW > l.IfmapW {
		return fmt.Errorf("layer %s: Filter Width %d is larger than IFMAP Width %d", name, l.FilterW, l.IfmapW)
	}
	m, k, n := l.GEMM()
	if k > maxLayerDim || m > maxLayerDim {
		return fmt.Errorf("layer %s: GEMM %d×%d×%d has a dimension above %d", name, m, k, n, maxLayerDim)
	}
	if int64(m)*int64(k) > maxMatrix || int64(k)*int64(n) > maxMatrix || int64(m)*int64(n) > maxMatrix {
		return fmt.Errorf("layer %s: GEMM %d×%d×%d has an operand above %d words", name, m, k, n, int64(maxMatrix))
	}
	if int64(l.IfmapH)*int64(l.IfmapW)*int64(l.Channels) > maxMatrix {
		return fmt.Errorf("layer %s: ifmap above %d words", name, int64(maxMatrix))
	}
	return nil
}

// Access is one operand's traffic at one memory level, as SCALE-Sim's
// DETAILED_ACCESS_REPORT.csv gives it: the first and last cycle with an
// access and the number of words.
type Access struct {
	Start, Stop int64
	Words       int64
}

// LayerReport holds what SCALE-Sim reports for one layer.
type LayerReport struct {
	Name    string
	M, K, N int // the GEMM SCALE-Sim ran

	TotalCycles int64 // "Total Cycles": stall-free cycles plus stalls
	StallCycles int64 // "Stall Cycles"

	OverallUtilPct float64 // "Overall Util %"
	MappingEffPct  float64 // "Mapping Efficiency %"
	ComputeUtilPct float64 // "Compute Util %"

	SRAMIfmapReads, SRAMFilterReads, SRAMOfmapWrites Access
	DRAMIfmapReads, DRAMFilterReads, DRAMOfmapWrites Access
}

// ComputeCycles is the stall-free cycle count, TotalCycles − StallCycles.
func (r LayerReport) ComputeCycles() int64 { return r.TotalCycles - r.StallCycles }

// Report is the result of a run: one LayerReport per topology row, in order.
type Report struct {
	RunName string
	Layers  []LayerReport
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func ceilDiv64(a, b int64) int64 { return (a + b - 1) / b }

// Bandwidth is SCALE-Sim's average DRAM bandwidth of the access in words
// per cycle: the words over the cycles from the first to the last access.
// (SCALE-Sim holds the cycles as floats, so the words are converted to a
// float before dividing.)
func (a Access) Bandwidth() float64 { return float64(a.Words) / float64(a.Stop-a.Start+1) }

// trueDiv returns a/b rounded once to the nearest float64, as Python's
// int / int does.
func trueDiv(a, b int64) float64 {
	const exact = 1 << 53
	if -exact <= a && a <= exact && -exact <= b && b <= exact {
		return float64(a) / float64(b) // both exact, one rounding
	}
	return trueDivBig(big.NewInt(a), big.NewInt(b))
}

func trueDivBig(a, b *big.Int) float64 {
	f, _ := new(big.Rat).SetFrac(a, b).Float64()
	return f
}

// mul returns the product of xs without overflow.
func mul(xs ...int64) *big.Int {
	p := big.NewInt(1)
	for _, x := range xs {
		p.Mul(p, big.NewInt(x))
	}
	return p
}

// SRAMIfmapBandwidth is SCALE-Sim's "Avg IFMAP SRAM BW": ifmap SRAM reads
// per total cycle.
func (r LayerReport) SRAMIfmapBandwidth() float64 {
	return trueDiv(r.SRAMIfmapReads.Words, r.TotalCycles)
}

// SRAMFilterBandwidth is SCALE-Sim's "Avg FILTER SRAM BW".
func (r LayerReport) SRAMFilterBandwidth() float64 {
	return trueDiv(r.SRAMFilterReads.Words, r.TotalCycles)
}

// SRAMOfmapBandwidth is SCALE-Sim's "Avg OFMAP SRAM BW".
func (r LayerReport) SRAMOfmapBandwidth() float64 {
	return trueDiv(r.SRAMOfmapWrites.Words, r.TotalCycles)
}
