// Package arch holds the immutable accelerator architecture specifications
// of vimsim: the array, buffers, DRAM interface, scan and streaming units,
// overlap mode, the technology energy tables and FPGA boards they name, the
// presets (systolic8/16/32/64) and JSON/YAML spec files. It is the one
// vocabulary of units and dataflows shared by the cost model (hw/cost), the
// golden vectors and the RTL. Section numbers in comments refer to
// ../shared/reference/hardware.md.
package arch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// Dataflow is the mapping of a GEMM onto the systolic array (§1.1).
type Dataflow string

// Dataflows supported by the array model.
const (
	OutputStationary Dataflow = "os"
	WeightStationary Dataflow = "ws"
	InputStationary  Dataflow = "is"
)

// ParseDataflow accepts os, ws or is (any case).
func ParseDataflow(s string) (Dataflow, error) {
	switch d := Dataflow(strings.ToLower(strings.TrimSpace(s))); d {
	case OutputStationary, WeightStationary, InputStationary:
		return d, nil
	}
	return "", fmt.Errorf("dataflow %q: want os, ws or is", s)
}

// ScanMode selects the SSM scan unit organisation (§4, takeaways).
type ScanMode string

// Scan unit organisations.
const (
	// ScanSequential keeps the recurrence serial in time and spreads the
	// E·N independent recurrences over the lanes (ViM-Q style).
	ScanSequential ScanMode = "sequential"
	// ScanParallelPrefix runs a Kogge-Stone parallel prefix over blocks of
	// tokens (Mamba-X style).
	ScanParallelPrefix ScanMode = "parallel-prefix"
)

// ParseScanMode accepts sequential or parallel-prefix (alias kogge-stone).
func ParseScanMode(s string) (ScanMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "sequential", "seq":
		return ScanSequential, nil
	case "parallel-prefix", "kogge-stone", "prefix":
		return ScanParallelPrefix, nil
	}
	return "", fmt.Errorf("scan mode %q: want sequential or parallel-prefix", s)
}

// Overlap states whether the units of one layer run one after the other
// (serial) or concurrently on a streamed layer (pipelined).
type Overlap string

// Overlap modes.
const (
	Serial    Overlap = "serial"
	Pipelined Overlap = "pipelined"
)

// ParseOverlap accepts serial or pipelined.
func ParseOverlap(s string) (Overlap, error) {
	switch o := Overlap(strings.ToLower(strings.TrimSpace(s))); o {
	case Serial, Pipelined:
		return o, nil
	}
	return "", fmt.Errorf("overlap %q: want serial or pipelined", s)
}

// MemoryModel names the model of the array's scratchpads and DRAM traffic
// (docs/PERFMODEL.md §3).
type MemoryModel string

// Memory models.
const (
	// MemoryVimsim is vimsim's own analytic model: an optimised tiling to
	// the buffers, an optional activation buffer, stalls from the exposed
	// first tile. The zero MemoryModel means this model.
	MemoryVimsim MemoryModel = "vimsim"
	// MemorySCALESim reproduces SCALE-Sim v2's USER-bandwidth memory model
	// for GEMMs (package hw/cost/scalesim).
	MemorySCALESim MemoryModel = "scalesim"
)

// ParseMemoryModel accepts vimsim or scalesim (any case; scale-sim too).
func ParseMemoryModel(s string) (MemoryModel, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "vimsim", "default":
		return MemoryVimsim, nil
	case "scalesim", "scale-sim":
		return MemorySCALESim, nil
	}
	return "", fmt.Errorf("memory model %q: want vimsim or scalesim", s)
}

// MemorySpec selects the memory model; the zero value is vimsim's own.
type MemorySpec struct {
	Model MemoryModel `json:"model" yaml:"model"`
}

// ArraySpec is the int8 MAC array: Rows × Cols PEs and its dataflow.
type ArraySpec struct {
	Rows     int      `json:"rows" yaml:"rows"`
	Cols     int      `json:"cols" yaml:"cols"`
	Dataflow Dataflow `json:"dataflow" yaml:"dataflow"`
}

// BufferSpec sizes the on-chip SRAMs in KiB. Ifmap, filter and ofmap are the
// three SCALE-Sim scratchpads (§1.4); when DoubleBuffered, half of each is
// the active buffer and half is being filled. Act is an optional activation
// buffer: an activation tensor no larger than it never goes to DRAM
// (0 = none, every activation goes through DRAM as in SCALE-Sim).
type BufferSpec struct {
	IfmapKiB       int  `json:"ifmap_kib" yaml:"ifmap_kib"`
	FilterKiB      int  `json:"filter_kib" yaml:"filter_kib"`
	OfmapKiB       int  `json:"ofmap_kib" yaml:"ofmap_kib"`
	ActKiB         int  `json:"act_kib" yaml:"act_kib"`
	DoubleBuffered bool `json:"double_buffered" yaml:"double_buffered"`
}

// TotalKiB is the SRAM capacity of all buffers.
func (b BufferSpec) TotalKiB() int { return b.IfmapKiB + b.FilterKiB + b.OfmapKiB + b.ActKiB }

// DRAMSpec is the off-chip memory interface. PJPerByte overrides the
// technology table's DRAM energy when positive.
type DRAMSpec struct {
	BandwidthGBs float64 `json:"bandwidth_gbs" yaml:"bandwidth_gbs"`
	PJPerByte    float64 `json:"pj_per_byte,omitempty" yaml:"pj_per_byte,omitempty"`
}

// ScanSpec is the SSM scan unit: Lanes state updates (sequential mode) or
// prefix combines (parallel-prefix mode) per cycle, a pipeline of Depth
// stages, Bits-wide fixed-point state arithmetic and, for parallel-prefix,
// the token block of one Kogge-Stone network (0 = the whole sequence).
type ScanSpec struct {
	Lanes       int      `json:"lanes" yaml:"lanes"`
	Depth       int      `json:"pipeline_depth" yaml:"pipeline_depth"`
	Mode        ScanMode `json:"mode" yaml:"mode"`
	Bits        int      `json:"bits" yaml:"bits"`
	PrefixBlock int      `json:"prefix_block,omitempty" yaml:"prefix_block,omitempty"`
}

// UnitSpec is a streaming unit: Lanes results (or MACs for the depthwise
// conv) per cycle after a pipeline Latency.
type UnitSpec struct {
	Lanes   int `json:"lanes" yaml:"lanes"`
	Latency int `json:"latency" yaml:"latency"`
}

// FPGATarget names an optional FPGA board and the int8 DSP packing.
type FPGATarget struct {
	Board      string     `json:"board,omitempty" yaml:"board,omitempty"`
	DSPPacking DSPPacking `json:"dsp_packing,omitempty" yaml:"dsp_packing,omitempty"`
}

// Spec is an immutable accelerator design. It holds only values (no
// pointers, maps or slices), so a copy never aliases another Spec.
type Spec struct {
	Name     string     `json:"name" yaml:"name"`
	Array    ArraySpec  `json:"array" yaml:"array"`
	ClockMHz float64    `json:"clock_mhz" yaml:"clock_mhz"`
	Buffers  BufferSpec `json:"buffers" yaml:"buffers"`
	DRAM     DRAMSpec   `json:"dram" yaml:"dram"`
	Scan     ScanSpec   `json:"scan" yaml:"scan"`
	Vector   UnitSpec   `json:"vector" yaml:"vector"`
	Norm     UnitSpec   `json:"norm" yaml:"norm"`
	DWConv   UnitSpec   `json:"dwconv" yaml:"dwconv"`
	Overlap  Overlap    `json:"overlap" yaml:"overlap"`
	Tech     string     `json:"tech" yaml:"tech"`
	FPGA     FPGATarget `json:"fpga" yaml:"fpga"`
	// Memory selects the memory model (omitted: vimsim's own).
	Memory MemorySpec `json:"memory,omitzero" yaml:"memory,omitempty"`
}

// PEs is the number of MAC processing elements of the array.
func (s Spec) PEs() int { return s.Array.Rows * s.Array.Cols }

// BytesPerCycle is the DRAM bandwidth in bytes per clock cycle.
func (s Spec) BytesPerCycle() float64 { return s.DRAM.BandwidthGBs * 1e3 / s.ClockMHz }

// BufferWidths are the access widths in bits of the ifmap, filter, ofmap
// and activation buffers: the array edge each feeds or drains per cycle —
// R int8 ifmap and C int8 filter words (C and R in IS), C int8 outputs in OS
// and C 32-bit partial sums in WS and IS — and 64 bits for the activation
// buffer.
func (s Spec) BufferWidths() (ifmap, filter, ofmap, act int) {
	ifmap, filter, ofmap, act = s.Array.Rows*8, s.Array.Cols*8, s.Array.Cols*32, 64
	if s.Array.Dataflow == InputStationary {
		ifmap, filter = s.Array.Cols*8, s.Array.Rows*8
	}
	if s.Array.Dataflow == OutputStationary {
		ofmap = s.Array.Cols * 8
	}
	return ifmap, filter, ofmap, act
}

// SCALESimMemory reports whether s uses SCALE-Sim v2's memory model.
func (s Spec) SCALESimMemory() bool { return s.Memory.Model == MemorySCALESim }

// WordsPerCycle is the DRAM bandwidth in SCALE-Sim's words per cycle: one
// word is one byte (an int8 operand), and SCALE-Sim's Bandwidth is a whole
// number, so the bytes per cycle are rounded down (after a relative 1e-9
// allowance for the decimal GB/s and MHz: 12.8 GB/s at 200 MHz is 64).
func (s Spec) WordsPerCycle() int {
	return int(min(math.Floor(s.BytesPerCycle()*(1+1e-9)), maxWordsPerCycle+1))
}

// WithMemory returns a copy of s using memory model m.
func (s Spec) WithMemory(m MemoryModel) Spec { s.Memory.Model = m; return s }

// WithDataflow returns a copy of s using dataflow d.
func (s Spec) WithDataflow(d Dataflow) Spec { s.Array.Dataflow = d; return s }

// WithTech returns a copy of s priced with the named technology table.
func (s Spec) WithTech(name string) Spec { s.Tech = name; return s }

// WithOverlap returns a copy of s using overlap mode o.
func (s Spec) WithOverlap(o Overlap) Spec { s.Overlap = o; return s }

// WithFPGA returns a copy of s targeting board with the given DSP packing.
func (s Spec) WithFPGA(board string, p DSPPacking) Spec {
	s.FPGA = FPGATarget{Board: board, DSPPacking: p}
	return s
}

// FieldError reports an invalid field of a Spec by its JSON path.
type FieldError struct {
	Field string // e.g. "array.rows"
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Limits of the accepted specs, chosen so that every cycle and byte count of
// the model fits in an int64.
const (
	MaxArrayDim = 1024
	maxKiB      = 1 << 20
	maxLanes    = 1 << 20
	maxDepth    = 1 << 12
	maxClockMHz = 1e5
	maxBWGBs    = 1e6
	maxNameLen  = 1024
	// maxWordsPerCycle bounds the SCALE-Sim mode's bandwidth
	// (hw/cost/scalesim's limit).
	maxWordsPerCycle = 1 << 20
)

// Validate reports the first invalid field of s, naming it by its JSON path.
func (s Spec) Validate() error {
	intRange := func(field string, v, lo, hi int) error {
		if v < lo || v > hi {
			return fieldErr(field, "must be in [%d, %d], got %d", lo, hi, v)
		}
		return nil
	}
	floatRange := func(field string, v, hi float64) error {
		if !(v > 0) || v > hi || math.IsInf(v, 0) {
			return fieldErr(field, "must be in (0, %g], got %g", hi, v)
		}
		return nil
	}
	var checks []error
	if len(s.Name) > maxNameLen || strings.ContainsFunc(s.Name, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }) {
		checks = append(checks, fieldErr("name", "%.40q…: want at most %d printable characters (it names files and table rows)", s.Name, maxNameLen))
	}
	checks = append(checks,
		intRange("array.rows", s.Array.Rows, 1, MaxArrayDim),
		intRange("array.cols", s.Array.Cols, 1, MaxArrayDim),
	)
	if _, err := ParseDataflow(string(s.Array.Dataflow)); err != nil {
		checks = append(checks, fieldErr("array.dataflow", "%q: want os, ws or is", s.Array.Dataflow))
	}
	checks = append(checks,
		floatRange("clock_mhz", s.ClockMHz, maxClockMHz),
		intRange("buffers.ifmap_kib", s.Buffers.IfmapKiB, 1, maxKiB),
		intRange("buffers.filter_kib", s.Buffers.FilterKiB, 1, maxKiB),
		intRange("buffers.ofmap_kib", s.Buffers.OfmapKiB, 1, maxKiB),
		intRange("buffers.act_kib", s.Buffers.ActKiB, 0, maxKiB),
		floatRange("dram.bandwidth_gbs", s.DRAM.BandwidthGBs, maxBWGBs),
	)
	if s.DRAM.PJPerByte < 0 || s.DRAM.PJPerByte > 1e6 || math.IsNaN(s.DRAM.PJPerByte) {
		checks = append(checks, fieldErr("dram.pj_per_byte", "must be in [0, 1e6] (0 = technology table), got %g", s.DRAM.PJPerByte))
	}
	checks = append(checks,
		intRange("scan.lanes", s.Scan.Lanes, 1, maxLanes),
		intRange("scan.pipeline_depth", s.Scan.Depth, 1, maxDepth),
	)
	if s.Scan.Mode != ScanSequential && s.Scan.Mode != ScanParallelPrefix {
		checks = append(checks, fieldErr("scan.mode", "%q: want sequential or parallel-prefix", s.Scan.Mode))
	}
	if s.Scan.Bits != 8 && s.Scan.Bits != 16 && s.Scan.Bits != 32 {
		checks = append(checks, fieldErr("scan.bits", "must be 8, 16 or 32, got %d", s.Scan.Bits))
	}
	if s.Scan.PrefixBlock != 0 {
		checks = append(checks, intRange("scan.prefix_block", s.Scan.PrefixBlock, 2, 1<<16))
	}
	for _, u := range []struct {
		name string
		u    UnitSpec
	}{{"vector", s.Vector}, {"norm", s.Norm}, {"dwconv", s.DWConv}} {
		checks = append(checks,
			intRange(u.name+".lanes", u.u.Lanes, 1, maxLanes),
			intRange(u.name+".latency", u.u.Latency, 0, maxDepth))
	}
	switch s.Memory.Model {
	case "", MemoryVimsim:
	case MemorySCALESim:
		if w := s.WordsPerCycle(); w < 1 || w > maxWordsPerCycle {
			checks = append(checks, fieldErr("dram.bandwidth_gbs", "%g GB/s at %g MHz is %.3g bytes per cycle: memory model scalesim needs 1 to %d words (bytes) per cycle",
				s.DRAM.BandwidthGBs, s.ClockMHz, s.BytesPerCycle(), maxWordsPerCycle))
		}
	default:
		checks = append(checks, fieldErr("memory.model", "%q: want vimsim or scalesim", s.Memory.Model))
	}
	if s.Overlap != Serial && s.Overlap != Pipelined {
		checks = append(checks, fieldErr("overlap", "%q: want serial or pipelined", s.Overlap))
	}
	if _, err := LookupTech(s.Tech); err != nil {
		checks = append(checks, fieldErr("tech", "%v", err))
	}
	if s.FPGA.Board != "" {
		b, err := LookupBoard(s.FPGA.Board)
		if err != nil {
			checks = append(checks, fieldErr("fpga.board", "%v", err))
		} else if err := b.CheckPacking(s.FPGA.DSPPacking); err != nil {
			checks = append(checks, fieldErr("fpga.dsp_packing", "%v", err))
		}
	} else if s.FPGA.DSPPacking != "" {
		if _, err := ParseDSPPacking(string(s.FPGA.DSPPacking)); err != nil {
			checks = append(checks, fieldErr("fpga.dsp_packing", "%v", err))
		}
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	return nil
}

// specFile is the on-disk form: a Spec plus an optional preset to start from.
type specFile struct {
	Base string `json:"base"`
	Spec
}

// ParseSpec decodes a JSON or YAML design description (format "json" or
// "yaml"; "" guesses from the first non-space byte). Fields not given keep
// the values of the preset named by an optional "base" key, or defaults for
// the optional fields (dataflow os, scan mode sequential, scan bits 16,
// overlap serial, tech horowitz45). Unknown fields, wrong types and invalid
// values are rejected with the field's path in the error.
func ParseSpec(data []byte, format string) (Spec, error) {
	var generic any
	switch strings.ToLower(format) {
	case "json":
		if err := decodeJSONGeneric(data, &generic); err != nil {
			return Spec{}, err
		}
	case "yaml", "yml":
		if err := yaml.Unmarshal(data, &generic); err != nil {
			// yaml.v3 prefixes its messages with "yaml: " already.
			return Spec{}, fmt.Errorf("yaml: %s", strings.TrimPrefix(oneLine(err.Error()), "yaml: "))
		}
	case "":
		trimmed := bytes.TrimSpace(data)
		if len(trimmed) > 0 && trimmed[0] == '{' {
			return ParseSpec(data, "json")
		}
		return ParseSpec(data, "yaml")
	default:
		return Spec{}, fmt.Errorf("spec format %q: want json or yaml", format)
	}
	m, ok := generic.(map[string]any)
	if !ok {
		if generic == nil {
			return Spec{}, errors.New("the spec is empty: want a mapping of fields, e.g. \"base: systolic16\" and the fields that differ")
		}
		return Spec{}, fmt.Errorf("the spec is %s, not a mapping of fields (e.g. \"base: systolic16\" and the fields that differ)", kindOf(generic))
	}
	if err := checkKnownFields(m, reflect.TypeOf(specFile{}), ""); err != nil {
		return Spec{}, err
	}
	if _, ok := m["base"]; !ok {
		if missing := missingRequired(m); len(missing) > 0 {
			also := ""
			if rest := missing[1:]; len(rest) > 0 {
				if len(rest) > 4 {
					rest = append(rest[:4:4], "…")
				}
				also = fmt.Sprintf(", and %d more required fields (%s)", len(missing)-1, strings.Join(rest, ", "))
			}
			return Spec{}, fieldErr(missing[0], "missing%s: add \"base: systolic16\" (or another preset) "+
				"to start from a preset and give only what differs, or give every size", also)
		}
	}
	var s Spec
	if b, ok := m["base"]; ok {
		name, ok := b.(string)
		if !ok {
			return Spec{}, fieldErr("base", "want a preset name")
		}
		p, err := Preset(name)
		if err != nil {
			return Spec{}, fieldErr("base", "%v", err)
		}
		s = p
	} else {
		s = Spec{
			Array:   ArraySpec{Dataflow: OutputStationary},
			Scan:    ScanSpec{Mode: ScanSequential, Bits: 16, Depth: 4},
			Overlap: Serial,
			Tech:    DefaultTech,
		}
	}
	canon, err := json.Marshal(m)
	if err != nil {
		return Spec{}, fmt.Errorf("spec: %w", err)
	}
	f := specFile{Spec: s}
	dec := json.NewDecoder(bytes.NewReader(canon))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			want := te.Type.String()
			switch te.Type.Kind() {
			case reflect.Int, reflect.Int64:
				want = "an integer"
			case reflect.Float64:
				want = "a number"
			case reflect.Bool:
				want = "true or false"
			}
			field := strings.TrimPrefix(te.Field, "Spec.")
			got := te.Value
			if v, ok := lookupPath(m, field); ok {
				got = fmt.Sprintf("%s %s", te.Value, oneLine(fmt.Sprint(v)))
				if str, isStr := v.(string); isStr {
					got = fmt.Sprintf("%q", str)
				}
			}
			return Spec{}, fieldErr(field, "want %s, got %s", want, got)
		}
		return Spec{}, fmt.Errorf("spec: %w", err)
	}
	if err := f.Spec.Validate(); err != nil {
		return Spec{}, err
	}
	return f.Spec, nil
}

// requiredFields are the fields a spec without a base must give: the
// sizes, rates and lane counts that have no sensible default.
var requiredFields = [...]string{"array.rows", "array.cols", "clock_mhz", "buffers.ifmap_kib", "buffers.filter_kib",
	"buffers.ofmap_kib", "dram.bandwidth_gbs", "scan.lanes", "vector.lanes", "norm.lanes", "dwconv.lanes"}

// missingRequired lists the required fields absent from m.
func missingRequired(m map[string]any) []string {
	var out []string
	for _, f := range requiredFields {
		if _, ok := lookupPath(m, f); !ok {
			out = append(out, f)
		}
	}
	return out
}

// lookupPath returns the value at a dotted field path of m.
func lookupPath(m map[string]any, path string) (any, bool) {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// kindOf names the kind of a decoded JSON/YAML value.
func kindOf(v any) string {
	switch v.(type) {
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "empty"
	}
	return "a number"
}

func decodeJSONGeneric(data []byte, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(data, se.Offset)
			return fmt.Errorf("json: line %d column %d: %v", line, col, err)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("json: unexpected end of the file: %w", err)
		}
		return fmt.Errorf("json: %w", err)
	}
	if dec.More() {
		return errors.New("json: trailing data after the spec object")
	}
	return nil
}

// checkKnownFields rejects keys of m that are not JSON fields of t
// (recursing into nested structs), naming the first unknown one in sorted
// order so that the error is deterministic.
func checkKnownFields(m map[string]any, t reflect.Type, prefix string) error {
	fields := map[string]reflect.Type{}
	var collect func(t reflect.Type)
	collect = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous {
				collect(f.Type)
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			fields[name] = f.Type
		}
	}
	collect(t)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ft, ok := fields[k]
		if !ok {
			names := make([]string, 0, len(fields))
			for n := range fields {
				names = append(names, n)
			}
			sort.Strings(names)
			if c := closest(k, names); c != "" {
				return fieldErr(prefix+k, "unknown field (did you mean %s?)", prefix+c)
			}
			return fieldErr(prefix+k, "unknown field (known: %s)", strings.Join(names, ", "))
		}
		if ft.Kind() == reflect.Struct {
			sub, ok := m[k].(map[string]any)
			if !ok {
				if m[k] == nil {
					continue
				}
				return fieldErr(prefix+k, "want a mapping of fields")
			}
			if err := checkKnownFields(sub, ft, prefix+k+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

// lineCol converts a byte offset of data to a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	off = max(0, min(off, int64(len(data))))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// closest returns the candidate nearest to s in edit distance, if it is
// near enough to be a likely typo.
func closest(s string, candidates []string) string {
	best, bestD := "", len(s)/2+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b (in bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// LoadSpec reads a design from a .json, .yaml or .yml file.
func LoadSpec(path string) (Spec, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return Spec{}, fmt.Errorf("spec %s: a directory, not a spec file", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("spec %s: %w", path, err)
	}
	format := ""
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		format = "json"
	case ".yaml", ".yml":
		format = "yaml"
	}
	s, err := ParseSpec(data, format)
	if err != nil {
		return Spec{}, fmt.Errorf("spec %s: %w", path, err)
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return s, nil
}

// ResolveSpec returns the preset called nameOrPath, or else loads it as a
// spec file when it names an existing file or ends in .json/.yaml/.yml.
func ResolveSpec(nameOrPath string) (Spec, error) {
	if s, err := Preset(nameOrPath); err == nil {
		return s, nil
	}
	ext := strings.ToLower(filepath.Ext(nameOrPath))
	if _, statErr := os.Stat(nameOrPath); statErr == nil || ext == ".json" || ext == ".yaml" || ext == ".yml" {
		return LoadSpec(nameOrPath)
	}
	return Spec{}, fmt.Errorf("unknown architecture %q (presets: %s; or a .json/.yaml spec file)",
		nameOrPath, strings.Join(PresetNames(), ", "))
}

// MarshalYAML-compatible encoders.

// EncodeJSON writes s as indented JSON.
func (s Spec) EncodeJSON() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// EncodeYAML writes s as YAML with the same field names as EncodeJSON.
func (s Spec) EncodeYAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
