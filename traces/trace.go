package traces

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/vim"
)

// traceEvent is one event of the Chrome trace event format (the JSON that
// chrome://tracing and ui.perfetto.dev open): "M" metadata naming the
// process and threads, "X" complete slices with a start and a duration in
// microseconds.
type traceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  *float64       `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	Args map[string]any `json:"args,omitempty"`
}

// Track ids: the layers track, then one per unit in the cost model's order,
// then the host (the input conversion, at zero cost).
var traceUnits = []arch.Unit{arch.UnitArray, arch.UnitScan, arch.UnitDWConv, arch.UnitVector, arch.UnitNorm, arch.UnitDRAM, arch.UnitHost}

const layersTid = 1

func unitTid(u arch.Unit) int {
	for i, v := range traceUnits {
		if v == u {
			return 2 + i
		}
	}
	return 2 + len(traceUnits)
}

// WriteChromeTrace writes the schedule of one inference of the estimate e
// as a Chrome/Perfetto trace (docs/RTL.md §11): a "layers" track with one
// slice per layer, and one track per unit (array, scan, dwconv, vector,
// norm, dram, host) with one slice per operation (of zero duration for the
// operations the model prices at zero: the input conversion, the residual
// adds fused into the norms). Times are cycles at the spec's
// clock, in microseconds. With serial overlap an operation first waits for
// its DRAM stall (a slice on the dram track), then computes, and the next
// operation starts when it ends; with pipelined overlap every unit and the
// DRAM run their share of a layer back to back from the layer's start, and
// the layer lasts as long as its busiest unit. Layer and operation cycles
// are those of cost.EstimateModel, so the trace ends at Totals.Cycles. The
// output is deterministic.
func WriteChromeTrace(w io.Writer, e cost.Estimate) error {
	mhz := e.Arch.ClockMHz
	if !(mhz > 0) {
		return fmt.Errorf("trace: clock %g MHz must be positive", mhz)
	}
	us := func(cycles int64) float64 { return float64(cycles) / mhz }
	var ev []traceEvent
	meta := func(name string, tid int, args map[string]any) {
		ev = append(ev, traceEvent{Name: name, Ph: "M", Pid: 1, Tid: tid, Args: args})
	}
	meta("process_name", 0, map[string]any{"name": fmt.Sprintf("%s on %s (%dx%d %s, %g MHz, %s overlap)",
		e.Model, e.Arch.Name, e.Arch.Array.Rows, e.Arch.Array.Cols, e.Arch.Array.Dataflow, mhz, e.Arch.Overlap)})
	meta("thread_name", layersTid, map[string]any{"name": "layers"})
	meta("thread_sort_index", layersTid, map[string]any{"sort_index": layersTid})
	for _, u := range traceUnits {
		meta("thread_name", unitTid(u), map[string]any{"name": string(u)})
		meta("thread_sort_index", unitTid(u), map[string]any{"sort_index": unitTid(u)})
	}
	opSlice := func(name, cat string, tid int, start, cycles int64, args map[string]any) {
		d := us(cycles)
		ev = append(ev, traceEvent{Name: name, Cat: cat, Ph: "X", Ts: us(start), Dur: &d, Pid: 1, Tid: tid, Args: args})
	}
	slice := func(name, cat string, tid int, start, cycles int64, args map[string]any) {
		if cycles > 0 {
			opSlice(name, cat, tid, start, cycles, args)
		}
	}

	var t0 int64 // start of the current layer
	opIdx := 0
	for _, l := range e.Layers {
		slice(layerSliceName(l.Layer), "layer", layersTid, t0, l.Cycles, map[string]any{
			"cycles": l.Cycles, "macs": l.MACs, "stall_cycles": l.StallCycles, "dram_bytes": l.DRAMBytes,
			"bottleneck": string(l.Bottleneck), "energy_uj": l.Energy.Total() / 1e6})
		cursor := map[arch.Unit]int64{}
		t := t0
		for ; opIdx < len(e.Ops) && e.Ops[opIdx].Layer == l.Layer; opIdx++ {
			c := e.Ops[opIdx]
			args := map[string]any{"layer": vim.LayerName(c.Layer), "m": c.M, "k": c.K, "n": c.N, "macs": c.MACs,
				"compute_cycles": c.ComputeCycles, "stall_cycles": c.StallCycles, "dram_bytes": c.Traffic.Total(), "util": c.Util}
			if e.Arch.Overlap == arch.Pipelined {
				start := t0 + cursor[c.Unit]
				opSlice(c.Name, c.Kind, unitTid(c.Unit), start, c.ComputeCycles, args)
				cursor[c.Unit] += c.ComputeCycles
				slice(c.Name+" dram", "dram", unitTid(arch.UnitDRAM), t0+cursor[arch.UnitDRAM], c.MemCycles,
					map[string]any{"layer": vim.LayerName(c.Layer), "mem_cycles": c.MemCycles, "dram_bytes": c.Traffic.Total()})
				cursor[arch.UnitDRAM] += c.MemCycles
				continue
			}
			slice(c.Name+" stall", "dram", unitTid(arch.UnitDRAM), t, c.StallCycles,
				map[string]any{"layer": vim.LayerName(c.Layer), "stall_cycles": c.StallCycles, "dram_bytes": c.Traffic.Total()})
			opSlice(c.Name, c.Kind, unitTid(c.Unit), t+c.StallCycles, c.ComputeCycles, args)
			t += c.Cycles
		}
		t0 += l.Cycles
	}
	if t0 != e.Totals.Cycles {
		return fmt.Errorf("trace: layers end at cycle %d, the estimate's total is %d", t0, e.Totals.Cycles)
	}

	var buf bytes.Buffer
	other, err := json.Marshal(map[string]any{"model": e.Model, "arch": e.Arch.Name, "clock_mhz": mhz,
		"total_cycles": e.Totals.Cycles, "latency_ms": e.Totals.LatencyMS, "generator": "vimsim trace"})
	if err != nil {
		return err
	}
	fmt.Fprintf(&buf, "{\"displayTimeUnit\":\"ns\",\"otherData\":%s,\"traceEvents\":[\n", other)
	for i, x := range ev {
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		buf.Write(b)
		if i < len(ev)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]}\n")
	_, err = w.Write(buf.Bytes())
	return err
}

func layerSliceName(layer int) string {
	if layer >= 0 {
		return fmt.Sprintf("layer %d", layer)
	}
	return vim.LayerName(layer)
}
