package traces

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/sim"
	"github.com/vimsim/vimsim/vim"
)

const (
	layerEmbed = vim.LayerEmbed
	layerHead  = vim.LayerHead
)

// Unit is a family of vector sets, the value of the --units flag: the RTL
// testbench families of package hw/rtl. Families maps op kinds to them.
type Unit string

// Units. Scan covers the scan lane and its base-2 exponent unit; Nonlin the
// int8 lookup tables (SiLU, softplus) and the interpolated int16 table;
// DWConv the depthwise causal convolution; Vector the elementwise units
// (the direction merge and the residual add).
const (
	UnitGEMM    Unit = "gemm"
	UnitRequant Unit = "requant"
	UnitScan    Unit = "scan"
	UnitNonlin  Unit = "nonlin"
	UnitNorm    Unit = "norm"
	UnitDWConv  Unit = "dwconv"
	UnitVector  Unit = "vector"
)

// Families returns the families of the vector sets that record the unit
// calls of an op of kind k (sim.Recorder): a GEMM's products and
// requantizers, a depthwise convolution and its requantizer, the scan
// (with its exponent unit), the tables, the merge, the norm, the residual
// stream's requantizers and adds. The input conversion runs on the host
// and has none.
func Families(k intprog.Kind) []Unit {
	switch k {
	case intprog.KindGEMM:
		return []Unit{UnitGEMM, UnitRequant}
	case intprog.KindDWConv:
		return []Unit{UnitDWConv, UnitRequant}
	case intprog.KindScan:
		return []Unit{UnitScan}
	case intprog.KindSiLU, intprog.KindSoftplus:
		return []Unit{UnitNonlin}
	case intprog.KindGate:
		return []Unit{UnitVector}
	case intprog.KindNorm:
		return []Unit{UnitNorm}
	case intprog.KindAdd, intprog.KindResidual:
		return []Unit{UnitRequant, UnitVector}
	}
	return nil
}

// AllUnits lists the units in their canonical order.
func AllUnits() []Unit {
	return []Unit{UnitGEMM, UnitRequant, UnitScan, UnitNonlin, UnitNorm, UnitDWConv, UnitVector}
}

// ParseUnits parses a comma-separated list of unit names ("all" for every
// unit) into canonical order without duplicates.
func ParseUnits(s string) ([]Unit, error) {
	want := map[Unit]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		if f == "all" {
			for _, u := range AllUnits() {
				want[u] = true
			}
			continue
		}
		ok := false
		for _, u := range AllUnits() {
			if Unit(f) == u {
				want[u], ok = true, true
			}
		}
		if !ok {
			return nil, fmt.Errorf("unknown unit %q (known: %s, all)", f, unitNames())
		}
	}
	var out []Unit
	for _, u := range AllUnits() {
		if want[u] {
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no unit in %q", s)
	}
	return out, nil
}

// unitNames lists the units in canonical order, comma-separated.
func unitNames() string {
	all := AllUnits()
	names := make([]string, len(all))
	for i, u := range all {
		names[i] = string(u)
	}
	return strings.Join(names, ", ")
}

// ParseLayers parses a layer selection for a model of the given depth: a
// comma-separated list of block indices, ranges "a-b", "embed", "head" and
// "all" (every block, the embedding and the head). The result is sorted:
// embed (−1) … blocks … head (−2) last.
func ParseLayers(s string, depth int) ([]int, error) {
	want := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		switch f {
		case "":
			continue
		case "all":
			want[layerEmbed], want[layerHead] = true, true
			for i := 0; i < depth; i++ {
				want[i] = true
			}
			continue
		case "embed":
			want[layerEmbed] = true
			continue
		case "head":
			want[layerHead] = true
			continue
		}
		lo, hi := f, f
		if i := strings.Index(f, "-"); i > 0 {
			lo, hi = f[:i], f[i+1:]
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a > b {
			return nil, fmt.Errorf("layer %q: want a block index, a range a-b, embed, head or all", f)
		}
		if a < 0 || b >= depth {
			return nil, fmt.Errorf("layer %q: the model has blocks 0..%d", f, depth-1)
		}
		for i := a; i <= b; i++ {
			want[i] = true
		}
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("no layer in %q", s)
	}
	out := make([]int, 0, len(want))
	for l := range want {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return layerOrder(out[i]) < layerOrder(out[j]) })
	return out, nil
}

// layerOrder sorts the embedding first and the head last.
func layerOrder(l int) int {
	switch l {
	case layerEmbed:
		return -1
	case layerHead:
		return 1 << 30
	}
	return l
}

// Options configure a Recorder.
type Options struct {
	// Generator names the generator in headers and the manifest, e.g.
	// "vimsim 0.1.0".
	Generator string
	// Model names the model; Source says where the operands come from.
	Model, Source string
	// Recipe names the precision recipe of the recorded program when it is
	// not the default W8A8 with an 8-bit state ("": the default, or
	// synthetic operands); the widths each set needs are its defines.
	Recipe string
	// Arch is the accelerator: its array size sets the systolic vectors'
	// R x C and its dataflow the GEMM sets (os: gemm_os; ws, is: gemm_ws).
	Arch arch.Spec
	// Units and Layers select what is recorded; nil selects everything.
	Units  []Unit
	Layers []int
	// TileSets is the number of tile-level GEMM sets per GEMM (the first
	// and the last fold); 0 means 2.
	TileSets int
}

// Recorder collects vector sets from unit invocations: it is the
// sim.Recorder of a recorded simulator run, and Synthetic and Corners
// drive it directly. Its methods may be
// called from several goroutines; the sets are ordered by name in the
// bundle, so the output does not depend on the call order, except that
// repeated invocations of one (layer, op, kind) are numbered in call order.
type Recorder struct {
	opt  Options
	mu   sync.Mutex
	sets map[string]*vectorSet
	seen map[string]int
}

var _ sim.Recorder = (*Recorder)(nil)

// NewRecorder returns a recorder for opt.
func NewRecorder(opt Options) (*Recorder, error) {
	if opt.Generator == "" {
		opt.Generator = "vimsim"
	}
	if opt.TileSets <= 0 {
		opt.TileSets = 2
	}
	if err := opt.Arch.Validate(); err != nil {
		return nil, fmt.Errorf("vectors: arch %s: %w", opt.Arch.Name, err)
	}
	return &Recorder{opt: opt, sets: map[string]*vectorSet{}, seen: map[string]int{}}, nil
}

func (o *Options) wants(u Unit) bool {
	if o.Units == nil {
		return true
	}
	for _, v := range o.Units {
		if v == u {
			return true
		}
	}
	return false
}

// Wants reports whether invocations of unit u in layer are recorded.
func (r *Recorder) Wants(layer int, u Unit) bool {
	if !r.opt.wants(u) {
		return false
	}
	if r.opt.Layers == nil {
		return true
	}
	for _, l := range r.opt.Layers {
		if l == layer {
			return true
		}
	}
	return false
}

// WantsAny reports whether invocations of any of the units us in layer are
// recorded.
func (r *Recorder) WantsAny(layer int, us []Unit) bool {
	for _, u := range us {
		if r.Wants(layer, u) {
			return true
		}
	}
	return false
}

// newSet returns an unregistered set named after layer, op and kind (the
// kind is left out when op already names it: l00_scan, l00_scan_b).
func newSet(u Unit, bench string, layer int, op, kind string) *vectorSet {
	name := layerPrefix(layer) + "_" + sanitize(op)
	if op != kind && !strings.HasPrefix(op, kind+"_") {
		name += "_" + kind
	}
	return &vectorSet{unit: u, bench: bench, layer: layer, op: op, kind: kind, name: name}
}

// keep registers sets built from one invocation, numbering repeats, and
// renders their files (the values are dropped, so a long recording holds
// only the hex text).
func (r *Recorder) keep(sets ...*vectorSet) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range sets {
		base := s.name
		r.seen[base]++
		if n := r.seen[base]; n > 1 {
			s.name = fmt.Sprintf("%s_%d", base, n)
		}
		for _, t := range s.tensors {
			data, err := s.render(t, r.opt.Generator)
			if err != nil {
				return err
			}
			t.words = len(t.values)
			if t.lanes > 0 {
				t.words /= t.lanes
			}
			t.data, t.values = data, nil
		}
		r.sets[s.name] = s
	}
	return nil
}

// sanitize keeps a name usable as a directory and make target.
func sanitize(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "op"
	}
	return string(b)
}

// sorted returns the sets ordered by name.
func (r *Recorder) sorted() []*vectorSet {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.sets))
	for n := range r.sets {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*vectorSet, len(names))
	for i, n := range names {
		out[i] = r.sets[n]
	}
	return out
}

// Len returns the number of recorded vector sets.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sets)
}
