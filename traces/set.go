package traces

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vimsim/vimsim/vim"
)

// FormatVersion is the version of the vector file format described in
// docs/RTL.md; it is written into every header and the manifest.
const FormatVersion = 1

// Role says whether a file is stimulus or expected output.
type Role string

// Roles of the hex files.
const (
	Stimulus Role = "stimulus"
	Expected Role = "expected"
)

// tensor is one $readmemh file of a vector set.
type tensor struct {
	name   string // file stem: <name>.in.hex or <name>.exp.hex
	role   Role
	dtype  string // e.g. int8, int32, uint31, uint6, bits9
	bits   int    // word width (lane width for packed files)
	lanes  int    // 0: one word per line; else lanes per packed word
	shape  []int
	layout string
	values []int64 // dropped once rendered
	words  int     // lines of data
	data   []byte  // the rendered file
}

// file returns the file name of t.
func (t *tensor) file() string {
	if t.role == Expected {
		return t.name + ".exp.hex"
	}
	return t.name + ".in.hex"
}

// param is one localparam of a set's params.vh.
type param struct {
	name  string
	value int64
	bits  int // 0: integer (32-bit signed); else an unsigned bits-wide vector
	doc   string
}

// vectorSet is the stimulus, expected outputs and parameters of one
// testbench run.
type vectorSet struct {
	name    string
	unit    Unit
	bench   string // testbench module
	layer   int
	op      string
	kind    string
	params  []param
	defines []param // `define lines of params.vh (value 0: a bare define)
	tensors []*tensor
	vectors int // compared output elements (the testbench's PASS count)
	cycles  *Cycles
	info    string // one-line description for the headers
}

// Cycles are the cycle counts a GEMM testbench checks, from cost.ComputeCycles.
type Cycles struct {
	Fold  int64 `json:"fold"`
	Total int64 `json:"total"`
}

func (s *vectorSet) add(t *tensor) { s.tensors = append(s.tensors, t) }

func (s *vectorSet) param(name string, v int64, doc string) {
	s.params = append(s.params, param{name: name, value: v, doc: doc})
}

// paramDoc is one integer localparam in a table of them.
type paramDoc struct {
	name  string
	value int64
	doc   string
}

// paramTable adds integer parameters in order.
func (s *vectorSet) paramTable(ps []paramDoc) {
	for _, p := range ps {
		s.param(p.name, p.value, p.doc)
	}
}

// define adds a `define NAME VALUE to params.vh (`define NAME, a switch,
// for v = 0): a setting of the testbench that only some sets of a
// testbench carry (a set without it renders exactly as before the setting
// existed; the testbench falls back on its default with `ifdef).
func (s *vectorSet) define(name string, v int64, doc string) {
	s.defines = append(s.defines, param{name: name, value: v, doc: doc})
}

// defineMap returns the valued defines of s (the widths) by name, nil
// without any; switches are not listed.
func (s *vectorSet) defineMap() map[string]int64 {
	var m map[string]int64
	for _, d := range s.defines {
		if d.value == 0 {
			continue
		}
		if m == nil {
			m = map[string]int64{}
		}
		m[d.name] = d.value
	}
	return m
}

func (s *vectorSet) paramBits(name string, v int64, bits int, doc string) {
	s.params = append(s.params, param{name: name, value: v, bits: bits, doc: doc})
}

// constants returns the parameters as a name → value map for the manifest.
func (s *vectorSet) constants() map[string]int64 {
	m := make(map[string]int64, len(s.params))
	for _, p := range s.params {
		m[p.name] = p.value
	}
	return m
}

func shapeString(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, "x")
}

func (s *vectorSet) constantsLine() string {
	parts := make([]string, len(s.params))
	for i, p := range s.params {
		parts[i] = fmt.Sprintf("%s=%d", p.name, p.value)
	}
	return strings.Join(parts, " ")
}

// headerLines are the comment lines common to the files of s.
func (s *vectorSet) headerLines(generator string) []string {
	return []string{
		fmt.Sprintf("%s golden vectors, format %d", generator, FormatVersion),
		fmt.Sprintf("set %s: unit %s, layer %s, op %s, testbench %s", s.name, s.unit, vim.LayerName(s.layer), s.op, s.bench),
		s.info,
	}
}

// render returns the $readmemh bytes of t.
func (s *vectorSet) render(t *tensor, generator string) ([]byte, error) {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	if n != len(t.values) {
		return nil, fmt.Errorf("set %s: %s has %d values for shape %s", s.name, t.file(), len(t.values), shapeString(t.shape))
	}
	var w hexWriter
	for _, l := range s.headerLines(generator) {
		w.comment("%s", l)
	}
	words := len(t.values)
	format := "one word per line"
	if t.lanes > 0 {
		words /= t.lanes
		format = fmt.Sprintf("%d lanes of %d bits per line, lane 0 in the least significant bits", t.lanes, t.bits)
	}
	w.comment("%s: %s, %s, shape %s, %s, %s (%d words)", t.file(), t.role, t.dtype, shapeString(t.shape), t.layout, format, words)
	w.comment("constants: %s", s.constantsLine())
	if t.lanes > 0 {
		if len(t.values)%t.lanes != 0 || t.bits%4 != 0 {
			return nil, fmt.Errorf("set %s: %s: %d values do not pack into %d lanes of %d bits", s.name, t.file(), len(t.values), t.lanes, t.bits)
		}
		for i := 0; i < len(t.values); i += t.lanes {
			w.lanes(t.values[i:i+t.lanes], t.bits)
		}
	} else {
		for _, v := range t.values {
			w.word(v, t.bits)
		}
	}
	return w.buf, nil
}

// renderParams returns the params.vh bytes of s: one localparam per
// parameter, included inside the testbench module.
func (s *vectorSet) renderParams(generator string) []byte {
	var b strings.Builder
	for _, l := range s.headerLines(generator) {
		fmt.Fprintf(&b, "// %s\n", l)
	}
	b.WriteString("// params.vh: included inside the testbench module\n")
	for _, p := range s.params {
		if p.bits == 0 {
			fmt.Fprintf(&b, "localparam integer %s = %d;", p.name, p.value)
		} else {
			fmt.Fprintf(&b, "localparam [%d:0] %s = %d'h%s;", p.bits-1, p.name, p.bits, appendHex(nil, p.value, p.bits))
		}
		if p.doc != "" {
			fmt.Fprintf(&b, "  // %s", p.doc)
		}
		b.WriteByte('\n')
	}
	for _, d := range s.defines {
		if d.value == 0 {
			fmt.Fprintf(&b, "`define %s  // %s\n", d.name, d.doc)
		} else {
			fmt.Fprintf(&b, "`define %s %d  // %s\n", d.name, d.value, d.doc)
		}
	}
	return []byte(b.String())
}

// layerPrefix is the set-name prefix of a layer: l00, l01, …, embed, head.
func layerPrefix(layer int) string {
	switch layer {
	case layerEmbed:
		return "embed"
	case layerHead:
		return "head"
	}
	return fmt.Sprintf("l%02d", layer)
}
