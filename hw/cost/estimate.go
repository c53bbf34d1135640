package cost

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
)

// OpCost is the modelled execution of one operation of the workload.
type OpCost struct {
	Layer int       `json:"layer"`
	Name  string    `json:"name"`
	Kind  string    `json:"kind"`
	Unit  arch.Unit `json:"unit"`
	M     int       `json:"m"`
	K     int       `json:"k"`
	N     int       `json:"n"`
	// MACs follows intprog.Op.MACs (vim-forward.md §6).
	MACs int64 `json:"macs"`
	// ComputeCycles is the stall-free busy time of the unit; StallCycles the
	// DRAM stalls of the operation run alone (stallCycles); MemCycles the
	// DRAM transfer time of its traffic; Cycles = ComputeCycles + StallCycles.
	ComputeCycles int64 `json:"compute_cycles"`
	StallCycles   int64 `json:"stall_cycles"`
	MemCycles     int64 `json:"mem_cycles"`
	Cycles        int64 `json:"cycles"`
	// Folds is the SCALE-Sim fold count (GEMMs only).
	Folds int64 `json:"folds,omitempty"`
	// Util is the fraction of the unit's peak work rate used during
	// ComputeCycles (SCALE-Sim's overall util for GEMMs).
	Util   float64 `json:"util"`
	Tiling *Tiling `json:"tiling,omitempty"`
	// SCALESim is SCALE-Sim v2's report of a GEMM in the scalesim memory
	// mode (then Tiling is nil).
	SCALESim *SCALESimCounts `json:"scalesim,omitempty"`
	// Counts are the datapath events a functional simulation of the same
	// operation reproduces (CountsOf; saturations and overflows, which
	// depend on the data, are 0).
	Counts  datapath.Counters `json:"counts"`
	Traffic Traffic           `json:"dram"`
	Actions Actions           `json:"actions"`
	// Energy excludes static energy, which belongs to layers (it depends
	// on how operations overlap).
	Energy Energy `json:"energy"`

	firstBytes int64
}

// LayerCost aggregates the operations of one layer (a Mamba block, the
// patch embedding or the head).
type LayerCost struct {
	Layer int    `json:"layer"`
	Name  string `json:"name"`
	MACs  int64  `json:"macs"`
	// Cycles is the layer latency under the spec's overlap mode.
	Cycles       int64     `json:"cycles"`
	SerialCycles int64     `json:"serial_cycles"`
	PipedCycles  int64     `json:"pipelined_cycles"`
	StallCycles  int64     `json:"stall_cycles"`
	ArrayCycles  int64     `json:"array_cycles"`
	ArrayUtil    float64   `json:"array_util"`
	DRAMBytes    int64     `json:"dram_bytes"`
	Energy       Energy    `json:"energy"`
	Bottleneck   arch.Unit `json:"bottleneck"`
	BusyCycles   []Busy    `json:"busy"`
}

// Busy is the time a unit is occupied: compute cycles for units, stall
// cycles (serial overlap) or transfer cycles (pipelined) for the DRAM.
type Busy struct {
	Unit   arch.Unit `json:"unit"`
	Cycles int64     `json:"cycles"`
}

// Totals summarises a whole-network estimate for one image.
type Totals struct {
	MACs int64 `json:"macs"`
	// Cycles is the latency under the spec's overlap mode; SerialCycles and
	// PipelinedCycles are both bounds.
	Cycles          int64   `json:"cycles"`
	SerialCycles    int64   `json:"serial_cycles"`
	PipelinedCycles int64   `json:"pipelined_cycles"`
	StallCycles     int64   `json:"stall_cycles"`
	LatencyMS       float64 `json:"latency_ms"`
	ImagesPerS      float64 `json:"images_per_s"`
	// GOPS counts 2 operations per MAC.
	GOPS       float64           `json:"gops"`
	TOPSPerW   float64           `json:"tops_per_w"`
	UJPerImage float64           `json:"uj_per_image"`
	PowerW     float64           `json:"power_w"`
	ArrayUtil  float64           `json:"array_util"`
	DRAMBytes  int64             `json:"dram_bytes"`
	Traffic    Traffic           `json:"dram"`
	Energy     Energy            `json:"energy"`
	Actions    Actions           `json:"actions"`
	Counts     datapath.Counters `json:"counts"`
	Bottleneck arch.Unit         `json:"bottleneck"`
	BusyCycles []Busy            `json:"busy"`
}

// Estimate is the cost of one inference of a workload on an architecture.
type Estimate struct {
	Model string           `json:"model"`
	Arch  arch.Spec        `json:"arch"`
	Tech  arch.EnergyTable `json:"tech"`
	// Precision is what the ops ask of the hardware (MAC classes, state
	// width), read from their formats.
	Precision Precision   `json:"precision"`
	Ops       []OpCost    `json:"ops"`
	Layers    []LayerCost `json:"layers"`
	Totals    Totals      `json:"totals"`
	Resources *Resources  `json:"fpga,omitempty"`
}

// EstimateModel estimates one image of the model c on s: the op list of c
// without a compiled program (intprog.Lower).
func EstimateModel(s arch.Spec, c vim.Config) (Estimate, error) {
	l, err := intprog.Lower(c)
	if err != nil {
		return Estimate{}, err
	}
	return EstimateOps(s, c.Name, l.Ops)
}

// EstimateProgram estimates one image of the integer program p on s: its
// op list with the split-K groups and the residual requantizers of the
// compiled program.
func EstimateProgram(s arch.Spec, p *intprog.Program) (Estimate, error) {
	l := p.List()
	if l == nil {
		return Estimate{}, fmt.Errorf("program %s: not built", p.Config.Name)
	}
	return EstimateOps(s, p.Config.Name, l.Ops)
}

// EstimateOps estimates the ops of an op list (in execution order) on s.
// Each op's cost is computed from its kind, unit and shape alone; the
// input conversion (on the host) and the residual adds (fused into the
// next norm, docs/PERFMODEL.md §4) cost nothing. Consecutive ops with the
// same Layer form one layer of the report.
func EstimateOps(s arch.Spec, model string, ops []intprog.Op) (Estimate, error) {
	if err := s.Validate(); err != nil {
		return Estimate{}, fmt.Errorf("arch %s: %w", s.Name, err)
	}
	tech, err := arch.LookupTech(s.Tech)
	if err != nil {
		return Estimate{}, err
	}
	if len(ops) == 0 {
		return Estimate{}, fmt.Errorf("model %s: empty workload", model)
	}
	e := Estimate{Model: model, Arch: s, Tech: tech, Precision: precisionOf(ops), Ops: make([]OpCost, 0, len(ops))}
	a, w := classBits(e.Precision.array)
	e.Precision.ArrayAreaMM2 = float64(s.PEs()) * arch.MACAreaUM2(a, w) / 1e6
	pr := newPricer(s, tech, e.Precision)
	bpc := s.BytesPerCycle()
	tiles := map[tileKey]Tiling{}
	runs := map[GEMM]SCALESimCounts{}
	first, last := -1, -1 // the ops that read the image and write the logits
	for i := range ops {
		if !free(ops[i].Kind) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	for i := range ops {
		op := &ops[i]
		if err := checkOp(op); err != nil {
			return Estimate{}, fmt.Errorf("op %s (layer %d): %w", op.Name, op.Layer, err)
		}
		c := OpCost{Layer: op.Layer, Name: op.Name, Kind: op.Kind.String(), Unit: op.Unit, M: op.M, K: op.K, N: op.N, MACs: op.MACs()}
		if !free(op.Kind) {
			io := endpoints{first: i == first, last: i == last}
			var err error
			switch {
			case op.Kind == intprog.KindGEMM && s.SCALESimMemory():
				// Cycles, stalls and traffic as SCALE-Sim reports them.
				if c, err = scalesimGEMMCost(s, op, runs); err != nil {
					return Estimate{}, err
				}
			case op.Kind == intprog.KindGEMM:
				if c, err = gemmOpCost(s, op, io, tiles); err != nil {
					return Estimate{}, err
				}
			default:
				c = streamOpCost(s, op, io)
			}
			if c.SCALESim == nil {
				c.MemCycles = memCycles(c.Traffic.Total(), bpc)
				c.StallCycles = stallCycles(s, c.ComputeCycles, c.Traffic.Total(), c.firstBytes)
				c.Cycles = c.ComputeCycles + c.StallCycles
			}
			c.Energy = pr.price(op.Unit, c.Actions)
		}
		c.Counts = CountsOf(op)
		e.Ops = append(e.Ops, c)
	}
	e.aggregate(pr, sumOrder(ops))
	if s.FPGA.Board != "" {
		r, err := EstimateResources(s, ops)
		if err != nil {
			return Estimate{}, err
		}
		e.Resources = &r
	}
	return e, nil
}

// busyOf sums unit busy time over ops: compute cycles per unit, and DRAM
// stall (serial) or transfer (pipelined) cycles.
func busyOf(ops []OpCost, o arch.Overlap) []Busy {
	b := make([]Busy, len(arch.Units()))
	for i, u := range arch.Units() {
		b[i].Unit = u
	}
	for _, c := range ops {
		for i, u := range arch.Units() {
			if u == c.Unit {
				b[i].Cycles += c.ComputeCycles
			}
		}
		if o == arch.Serial {
			b[len(b)-1].Cycles += c.StallCycles
		} else {
			b[len(b)-1].Cycles += c.MemCycles
		}
	}
	return b
}

// bottleneck is the unit with the most busy cycles (first in arch.Units() on
// a tie).
func bottleneck(b []Busy) arch.Unit {
	best := 0
	for i := range b {
		if b[i].Cycles > b[best].Cycles {
			best = i
		}
	}
	return b[best].Unit
}

// sumOrder returns the order in which the energies of the ops are summed
// into their layers: the list order, except that an op of the main path of
// its layer whose result only the chains read (the z branch, silu_z, read
// by the scans) follows the layer's last chain op. Float addition is not
// associative; this is the order in which the cost model has always summed
// a block (norm, in_proj, the directions, then silu_z, the merge and
// out_proj), so the layer energies stay bit-identical.
func sumOrder(ops []intprog.Op) []int {
	order := make([]int, 0, len(ops))
	for start := 0; start < len(ops); {
		end, lastChain := start, -1
		for end < len(ops) && ops[end].Layer == ops[start].Layer {
			if ops[end].Chain > 0 {
				lastChain = end
			}
			end++
		}
		var deferred []int
		for i := start; i < end; i++ {
			if i < lastChain && ops[i].Chain == 0 && onlyChainsRead(ops, i) {
				deferred = append(deferred, i)
				continue
			}
			order = append(order, i)
			if i == lastChain {
				order = append(order, deferred...)
			}
		}
		start = end
	}
	return order
}

// onlyChainsRead reports whether the result of op i is read, before its
// buffer is written again, by some ops and only by ops of chains > 0.
func onlyChainsRead(ops []intprog.Op, i int) bool {
	read := false
	for j := i + 1; j < len(ops); j++ {
		for _, o := range ops[j].In {
			if o.Buf == ops[i].Out {
				if ops[j].Chain == 0 {
					return false
				}
				read = true
			}
		}
		if ops[j].Out == ops[i].Out {
			break
		}
	}
	return read
}

// aggregate sums the ops into layers and totals; order is the order of
// the energy sums (sumOrder).
func (e *Estimate) aggregate(pr pricer, order []int) {
	s := e.Arch
	for start, k := 0, 0; start < len(e.Ops); {
		end := start
		for end < len(e.Ops) && e.Ops[end].Layer == e.Ops[start].Layer {
			end++
		}
		ops := e.Ops[start:end]
		l := LayerCost{Layer: ops[0].Layer, Name: vim.LayerName(ops[0].Layer)}
		for ; k < len(order) && order[k] < end; k++ {
			l.Energy = l.Energy.Add(e.Ops[order[k]].Energy)
		}
		var arrayMACs int64
		for _, c := range ops {
			l.MACs += c.MACs
			l.SerialCycles += c.Cycles
			l.StallCycles += c.StallCycles
			l.DRAMBytes += c.Traffic.Total()
			if c.Unit == arch.UnitArray {
				l.ArrayCycles += c.ComputeCycles
				arrayMACs += c.MACs
			}
		}
		for _, b := range busyOf(ops, arch.Pipelined) {
			l.PipedCycles = max(l.PipedCycles, b.Cycles)
		}
		l.Cycles = l.SerialCycles
		if s.Overlap == arch.Pipelined {
			l.Cycles = l.PipedCycles
		}
		l.BusyCycles = busyOf(ops, s.Overlap)
		l.Bottleneck = bottleneck(l.BusyCycles)
		if l.ArrayCycles > 0 {
			l.ArrayUtil = float64(arrayMACs) / (float64(l.ArrayCycles) * float64(s.PEs()))
		}
		l.Energy.Static = pr.staticPerCycle * float64(l.Cycles)
		e.Layers = append(e.Layers, l)
		start = end
	}
	t := &e.Totals
	var arrayMACs, arrayCycles int64
	for _, c := range e.Ops {
		t.MACs += c.MACs
		t.Traffic = t.Traffic.Add(c.Traffic)
		t.Actions = t.Actions.Add(c.Actions)
		t.Counts.Add(c.Counts)
		t.StallCycles += c.StallCycles
		if c.Unit == arch.UnitArray {
			arrayMACs += c.MACs
			arrayCycles += c.ComputeCycles
		}
	}
	for _, l := range e.Layers {
		t.Cycles += l.Cycles
		t.SerialCycles += l.SerialCycles
		t.PipelinedCycles += l.PipedCycles
		t.Energy = t.Energy.Add(l.Energy)
	}
	t.DRAMBytes = t.Traffic.Total()
	t.BusyCycles = busyOf(e.Ops, s.Overlap)
	t.Bottleneck = bottleneck(t.BusyCycles)
	if arrayCycles > 0 {
		t.ArrayUtil = float64(arrayMACs) / (float64(arrayCycles) * float64(s.PEs()))
	}
	seconds := float64(t.Cycles) / (s.ClockMHz * 1e6)
	t.LatencyMS = seconds * 1e3
	t.ImagesPerS = 1 / seconds
	t.GOPS = 2 * float64(t.MACs) / seconds / 1e9
	pj := t.Energy.Total()
	t.UJPerImage = pj / 1e6
	t.TOPSPerW = 2 * float64(t.MACs) / pj // ops/pJ = TOPS/W
	t.PowerW = pj * 1e-12 / seconds
}

// WriteJSON writes e as indented JSON.
func (e Estimate) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(e)
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// WriteCSV writes one row per layer (or per operation when perOp) with the
// columns of the run table, then a "total" row. cycles is the latency under
// the spec's overlap mode; compute_cycles the summed busy cycles of all
// units; stall_cycles the DRAM stalls of the serial schedule.
func (e Estimate) WriteCSV(w io.Writer, perOp bool) error {
	cw := csv.NewWriter(w)
	header := []string{"layer", "op", "unit", "macs", "cycles", "compute_cycles", "stall_cycles", "util", "dram_bytes", "energy_uj", "bottleneck"}
	if err := cw.Write(header); err != nil {
		return err
	}
	if perOp {
		for _, c := range e.Ops {
			cw.Write([]string{vim.LayerName(c.Layer), c.Name, string(c.Unit), strconv.FormatInt(c.MACs, 10),
				strconv.FormatInt(c.Cycles, 10), strconv.FormatInt(c.ComputeCycles, 10), strconv.FormatInt(c.StallCycles, 10),
				fmtF(c.Util), strconv.FormatInt(c.Traffic.Total(), 10), fmtF(c.Energy.Total() / 1e6), string(c.Unit)})
		}
	} else {
		for _, l := range e.Layers {
			cw.Write([]string{l.Name, "", "", strconv.FormatInt(l.MACs, 10),
				strconv.FormatInt(l.Cycles, 10), strconv.FormatInt(l.SerialCycles-l.StallCycles, 10), strconv.FormatInt(l.StallCycles, 10),
				fmtF(l.ArrayUtil), strconv.FormatInt(l.DRAMBytes, 10), fmtF(l.Energy.Total() / 1e6), string(l.Bottleneck)})
		}
	}
	t := e.Totals
	cw.Write([]string{"total", "", "", strconv.FormatInt(t.MACs, 10), strconv.FormatInt(t.Cycles, 10),
		strconv.FormatInt(t.SerialCycles-t.StallCycles, 10), strconv.FormatInt(t.StallCycles, 10), fmtF(t.ArrayUtil),
		strconv.FormatInt(t.DRAMBytes, 10), fmtF(t.Energy.Total() / 1e6), string(t.Bottleneck)})
	cw.Flush()
	return cw.Error()
}
