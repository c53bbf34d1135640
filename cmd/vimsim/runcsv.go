package main

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/vim"
)

// runCSVHeader are the columns of `vimsim run --format csv`, after the
// layout of SCALE-Sim's COMPUTE_REPORT and DETAILED_ACCESS_REPORT: the
// GEMM shape (per operation), cycles, utilisation in percent, the DRAM
// bytes (read, written) and every on-chip buffer's bytes read and
// written, and energy.
var runCSVHeader = []string{"layer", "op", "unit", "m", "k", "n", "macs", "cycles", "compute_cycles", "stall_cycles",
	"util_pct", "dram_bytes", "dram_read_bytes", "dram_write_bytes",
	"sram_ifmap_read_bytes", "sram_ifmap_write_bytes", "sram_filter_read_bytes", "sram_filter_write_bytes",
	"sram_ofmap_read_bytes", "sram_ofmap_write_bytes", "sram_act_read_bytes", "sram_act_write_bytes",
	"energy_uj", "bottleneck"}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// pctCell formats a fraction as a percentage with up to 6 significant
// digits.
func pctCell(frac float64) string { return strconv.FormatFloat(100*frac, 'g', 6, 64) }

// accessCells are the DRAM read/write and SRAM access columns of a.
func accessCells(a cost.Actions) []string {
	return []string{itoa(a.DRAMRead), itoa(a.DRAMWrite),
		itoa(a.IfmapRead), itoa(a.IfmapWrite), itoa(a.FilterRead), itoa(a.FilterWrite),
		itoa(a.OfmapRead), itoa(a.OfmapWrite), itoa(a.ActRead), itoa(a.ActWrite)}
}

// writeRunCSV writes one row per layer (or per operation when perOp) and
// a "total" row. cycles is the latency under the spec's overlap mode;
// compute_cycles the summed busy cycles of the units; stall_cycles the
// DRAM stalls of the serial schedule; util_pct the array utilisation of a
// layer, the unit's of an operation. A layer's m, k and n are empty (it
// holds several operations).
func writeRunCSV(w io.Writer, e cost.Estimate, perOp bool) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(runCSVHeader); err != nil {
		return err
	}
	row := func(cells ...[]string) error {
		var r []string
		for _, c := range cells {
			r = append(r, c...)
		}
		return cw.Write(r)
	}
	if perOp {
		for _, c := range e.Ops {
			err := row([]string{vim.LayerName(c.Layer), c.Name, string(c.Unit), strconv.Itoa(c.M), strconv.Itoa(c.K), strconv.Itoa(c.N),
				itoa(c.MACs), itoa(c.Cycles), itoa(c.ComputeCycles), itoa(c.StallCycles), pctCell(c.Util), itoa(c.Traffic.Total())},
				accessCells(c.Actions), []string{fmtNum(c.Energy.Total() / 1e6), string(c.Unit)})
			if err != nil {
				return err
			}
		}
	} else {
		actions := map[int]cost.Actions{}
		for _, c := range e.Ops {
			actions[c.Layer] = actions[c.Layer].Add(c.Actions)
		}
		for _, l := range e.Layers {
			err := row([]string{l.Name, "", "", "", "", "", itoa(l.MACs), itoa(l.Cycles), itoa(l.SerialCycles - l.StallCycles),
				itoa(l.StallCycles), pctCell(l.ArrayUtil), itoa(l.DRAMBytes)},
				accessCells(actions[l.Layer]), []string{fmtNum(l.Energy.Total() / 1e6), string(l.Bottleneck)})
			if err != nil {
				return err
			}
		}
	}
	t := e.Totals
	if err := row([]string{"total", "", "", "", "", "", itoa(t.MACs), itoa(t.Cycles), itoa(t.SerialCycles - t.StallCycles),
		itoa(t.StallCycles), pctCell(t.ArrayUtil), itoa(t.DRAMBytes)},
		accessCells(t.Actions), []string{fmtNum(t.Energy.Total() / 1e6), string(t.Bottleneck)}); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
