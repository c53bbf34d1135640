package cost

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/quant/intprog"

	"github.com/vimsim/vimsim/internal/par"
)

// MaxDesigns bounds the size of one sweep.
const MaxDesigns = 100000

// SweepSpace is a design space: every combination of the listed values is
// applied to every base spec. An empty list keeps the base's value.
type SweepSpace struct {
	Bases     []arch.Spec
	Arrays    [][2]int // rows, cols
	Dataflows []arch.Dataflow
	ScanLanes []int
	ScanModes []arch.ScanMode
	ClockMHz  []float64
	DRAMGBs   []float64
	BufferKiB []int // ifmap = filter = ofmap
	ActKiB    []int
	Techs     []string
	Overlaps  []arch.Overlap
}

// Size is the number of designs of the space.
func (sp SweepSpace) Size() int64 {
	n := int64(len(sp.Bases))
	for _, l := range []int{len(sp.Arrays), len(sp.Dataflows), len(sp.ScanLanes), len(sp.ScanModes), len(sp.ClockMHz),
		len(sp.DRAMGBs), len(sp.BufferKiB), len(sp.ActKiB), len(sp.Techs), len(sp.Overlaps)} {
		if l > 0 {
			n *= int64(l)
			if n > MaxDesigns {
				return n
			}
		}
	}
	return n
}

// Designs enumerates the space in a fixed order (bases outermost, then the
// fields in declaration order), validating every design. Names are the
// base name followed by the value of every swept field.
func (sp SweepSpace) Designs() ([]arch.Spec, error) {
	if len(sp.Bases) == 0 {
		return nil, fmt.Errorf("sweep: no base architecture")
	}
	if n := sp.Size(); n > MaxDesigns {
		return nil, fmt.Errorf("sweep: %d designs or more, limit %d", n, MaxDesigns)
	}
	type axis struct {
		n     int
		apply func(s *arch.Spec, i int) string
	}
	axes := []axis{
		{len(sp.Arrays), func(s *arch.Spec, i int) string {
			s.Array.Rows, s.Array.Cols = sp.Arrays[i][0], sp.Arrays[i][1]
			return fmt.Sprintf("%dx%d", s.Array.Rows, s.Array.Cols)
		}},
		{len(sp.Dataflows), func(s *arch.Spec, i int) string { s.Array.Dataflow = sp.Dataflows[i]; return string(sp.Dataflows[i]) }},
		{len(sp.ScanLanes), func(s *arch.Spec, i int) string {
			s.Scan.Lanes = sp.ScanLanes[i]
			return fmt.Sprintf("scan%d", sp.ScanLanes[i])
		}},
		{len(sp.ScanModes), func(s *arch.Spec, i int) string { s.Scan.Mode = sp.ScanModes[i]; return string(sp.ScanModes[i]) }},
		{len(sp.ClockMHz), func(s *arch.Spec, i int) string { s.ClockMHz = sp.ClockMHz[i]; return fmtF(sp.ClockMHz[i]) + "MHz" }},
		{len(sp.DRAMGBs), func(s *arch.Spec, i int) string {
			s.DRAM.BandwidthGBs = sp.DRAMGBs[i]
			return fmtF(sp.DRAMGBs[i]) + "GBs"
		}},
		{len(sp.BufferKiB), func(s *arch.Spec, i int) string {
			k := sp.BufferKiB[i]
			s.Buffers.IfmapKiB, s.Buffers.FilterKiB, s.Buffers.OfmapKiB = k, k, k
			return fmt.Sprintf("buf%d", k)
		}},
		{len(sp.ActKiB), func(s *arch.Spec, i int) string {
			s.Buffers.ActKiB = sp.ActKiB[i]
			return fmt.Sprintf("act%d", sp.ActKiB[i])
		}},
		{len(sp.Techs), func(s *arch.Spec, i int) string { s.Tech = sp.Techs[i]; return sp.Techs[i] }},
		{len(sp.Overlaps), func(s *arch.Spec, i int) string { s.Overlap = sp.Overlaps[i]; return string(sp.Overlaps[i]) }},
	}
	var out []arch.Spec
	seen := map[string]int{}
	for _, base := range sp.Bases {
		idx := make([]int, len(axes))
		for {
			s := base
			name := base.Name
			for a, ax := range axes {
				if ax.n > 0 {
					name += "-" + ax.apply(&s, idx[a])
				}
			}
			if k := seen[name]; k > 0 {
				s.Name = fmt.Sprintf("%s#%d", name, k+1)
			} else {
				s.Name = name
			}
			seen[name]++
			if err := s.Validate(); err != nil {
				return nil, fmt.Errorf("sweep design %s: %w", s.Name, err)
			}
			out = append(out, s)
			// Odometer over the non-empty axes, last axis fastest.
			a := len(axes) - 1
			for ; a >= 0; a-- {
				if axes[a].n == 0 {
					continue
				}
				idx[a]++
				if idx[a] < axes[a].n {
					break
				}
				idx[a] = 0
			}
			if a < 0 {
				break
			}
		}
	}
	return out, nil
}

// DesignPoint is one evaluated design of a sweep.
type DesignPoint struct {
	Name       string     `json:"name"`
	Spec       arch.Spec  `json:"arch"`
	Cycles     int64      `json:"cycles"`
	LatencyMS  float64    `json:"latency_ms"`
	UJPerImage float64    `json:"uj_per_image"`
	ImagesPerS float64    `json:"images_per_s"`
	GOPS       float64    `json:"gops"`
	TOPSPerW   float64    `json:"tops_per_w"`
	ArrayUtil  float64    `json:"array_util"`
	DRAMBytes  int64      `json:"dram_bytes"`
	Bottleneck arch.Unit  `json:"bottleneck"`
	Energy     Energy     `json:"energy"`
	Resources  *Resources `json:"fpga,omitempty"`
	// Pareto marks the designs no other design beats in latency, energy
	// and, when every design of the sweep targets an FPGA, resource
	// utilisation; designs that do not fit their FPGA are never on the
	// front.
	Pareto bool `json:"pareto"`
}

// Sweep evaluates every design on the workload using up to workers
// goroutines (0 = GOMAXPROCS) and marks the Pareto front. The result is in
// design order and does not depend on workers.
func Sweep(designs []arch.Spec, model string, ops []intprog.Op, workers int) ([]DesignPoint, error) {
	pts := make([]DesignPoint, len(designs))
	errs := make([]error, len(designs))
	par.For(len(designs), workers, func(i int) {
		e, err := EstimateOps(designs[i], model, ops)
		if err != nil {
			errs[i] = fmt.Errorf("design %s: %w", designs[i].Name, err)
			return
		}
		t := e.Totals
		pts[i] = DesignPoint{Name: designs[i].Name, Spec: designs[i], Cycles: t.Cycles, LatencyMS: t.LatencyMS,
			UJPerImage: t.UJPerImage, ImagesPerS: t.ImagesPerS, GOPS: t.GOPS, TOPSPerW: t.TOPSPerW,
			ArrayUtil: t.ArrayUtil, DRAMBytes: t.DRAMBytes, Bottleneck: t.Bottleneck, Energy: t.Energy, Resources: e.Resources}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	markFront(pts)
	return pts, nil
}

// MarkFront sets the Pareto field of every design (see DesignPoint), for
// callers that evaluate a sweep in parts (to report progress or stop it).
func MarkFront(pts []DesignPoint) { markFront(pts) }

// markFront sets the Pareto field of every design (see DesignPoint).
func markFront(pts []DesignPoint) {
	_, withUtil := frontObjectives(pts)
	objs := make([][]float64, len(pts))
	eligible := make([]bool, len(pts))
	for i, p := range pts {
		objs[i] = []float64{p.LatencyMS, p.UJPerImage}
		eligible[i] = p.Resources == nil || p.Resources.Fits
		if withUtil {
			objs[i] = append(objs[i], p.Resources.MaxUtil())
		}
	}
	front := ParetoFront(objs, eligible)
	for i := range pts {
		pts[i].Pareto = front[i]
	}
}

// frontObjectives reports whether any design targets an FPGA and whether
// every one does: only then is resource utilisation a third objective of
// the front (a design without a board has no utilisation to compare).
func frontObjectives(pts []DesignPoint) (anyFPGA, allFPGA bool) {
	allFPGA = len(pts) > 0
	for _, p := range pts {
		anyFPGA = anyFPGA || p.Resources != nil
		allFPGA = allFPGA && p.Resources != nil
	}
	return anyFPGA, allFPGA
}

// dominates reports whether a is no worse than b in every objective and
// better in one (all minimised).
func dominates(a, b []float64) bool {
	better := false
	for i := range a {
		if a[i] > b[i] {
			return false
		}
		if a[i] < b[i] {
			better = true
		}
	}
	return better
}

// ParetoFront marks the eligible points that no other eligible point
// dominates (all objectives minimised; equal points are all kept). It
// sorts lexicographically, so a dominator always precedes the point it
// dominates, and checks each point only against the front found so far.
func ParetoFront(objs [][]float64, eligible []bool) []bool {
	idx := make([]int, 0, len(objs))
	for i := range objs {
		if eligible == nil || eligible[i] {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(x, y int) bool {
		a, b := objs[idx[x]], objs[idx[y]]
		for k := range a {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return false
	})
	on := make([]bool, len(objs))
	var front []int
	for _, i := range idx {
		dominated := false
		for _, j := range front {
			if dominates(objs[j], objs[i]) {
				dominated = true
				break
			}
		}
		if !dominated {
			on[i] = true
			front = append(front, i)
		}
	}
	return on
}

// WriteSweepCSV writes one row per design; utilisation is in percent.
func WriteSweepCSV(w io.Writer, pts []DesignPoint) error {
	cw := csv.NewWriter(w)
	header := []string{"name", "rows", "cols", "dataflow", "clock_mhz", "scan_lanes", "scan_mode", "buffer_kib", "act_kib",
		"dram_gbs", "tech", "overlap", "cycles", "latency_ms", "images_per_s", "gops", "uj_per_image", "tops_per_w",
		"array_util_pct", "dram_bytes", "bottleneck"}
	for _, p := range (Energy{}).Parts() {
		header = append(header, p.Name+"_uj")
	}
	header = append(header, "fpga_board", "dsp", "bram36", "uram", "lut", "fits", "pareto")
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, p := range pts {
		s := p.Spec
		row := []string{p.Name, strconv.Itoa(s.Array.Rows), strconv.Itoa(s.Array.Cols), string(s.Array.Dataflow),
			fmtF(s.ClockMHz), strconv.Itoa(s.Scan.Lanes), string(s.Scan.Mode), strconv.Itoa(s.Buffers.IfmapKiB),
			strconv.Itoa(s.Buffers.ActKiB), fmtF(s.DRAM.BandwidthGBs), s.Tech, string(s.Overlap),
			strconv.FormatInt(p.Cycles, 10), fmtF(p.LatencyMS), fmtF(p.ImagesPerS), fmtF(p.GOPS), fmtF(p.UJPerImage),
			fmtF(p.TOPSPerW), fmtF(100 * p.ArrayUtil), strconv.FormatInt(p.DRAMBytes, 10), string(p.Bottleneck)}
		for _, part := range p.Energy.Parts() {
			row = append(row, fmtF(part.PJ/1e6))
		}
		if r := p.Resources; r != nil {
			row = append(row, r.Board, strconv.FormatInt(r.DSP, 10), strconv.FormatInt(r.BRAM36, 10),
				strconv.FormatInt(r.URAM, 10), strconv.FormatInt(r.LUT, 10), strconv.FormatBool(r.Fits))
		} else {
			row = append(row, "", "", "", "", "", "")
		}
		row = append(row, strconv.FormatBool(p.Pareto))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteSweepJSON writes the designs as an indented JSON array.
func WriteSweepJSON(w io.Writer, pts []DesignPoint) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(pts)
}
