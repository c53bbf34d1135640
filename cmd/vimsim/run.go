package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/sim"
	"github.com/vimsim/vimsim/vim"
)

// archOverrides are the flags that modify an architecture: --dataflow,
// --tech, --overlap, --memory, --fpga and --dsp-packing.
type archOverrides struct {
	dataflow, tech, overlap, memory, fpga, packing string
}

func (o *archOverrides) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.dataflow, "dataflow", "", "array dataflow os, ws or is (default: the architecture's)")
	f.StringVar(&o.tech, "tech", "", "energy table: "+strings.Join(arch.TechNames(), ", ")+" (default: the architecture's)")
	f.StringVar(&o.overlap, "overlap", "", "unit overlap: serial or pipelined (default: the architecture's)")
	o.registerMemory(cmd)
	f.StringVar(&o.fpga, "fpga", "", "FPGA board for the resource estimate: "+strings.Join(arch.BoardNames(), ", "))
	f.StringVar(&o.packing, "dsp-packing", "", "int8 MACs per DSP: none, dual or dot3 (Versal) (default dual)")
}

// registerMemory adds --memory.
func (o *archOverrides) registerMemory(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.memory, "memory", "", "memory model: vimsim (its own) or scalesim (SCALE-Sim v2's, USER bandwidth) (default: the architecture's)")
}

// apply returns s with the overrides, naming the flag of a bad value.
func (o *archOverrides) apply(s arch.Spec) (arch.Spec, error) {
	if o.dataflow != "" {
		d, err := arch.ParseDataflow(o.dataflow)
		if err != nil {
			return s, fmt.Errorf("--dataflow: %w", err)
		}
		s = s.WithDataflow(d)
	}
	if o.tech != "" {
		t, err := arch.LookupTech(o.tech)
		if err != nil {
			return s, fmt.Errorf("--tech: %w", err)
		}
		s = s.WithTech(t.Name)
	}
	if o.overlap != "" {
		v, err := arch.ParseOverlap(o.overlap)
		if err != nil {
			return s, fmt.Errorf("--overlap: %w", err)
		}
		s = s.WithOverlap(v)
	}
	if o.memory != "" {
		m, err := arch.ParseMemoryModel(o.memory)
		if err != nil {
			return s, fmt.Errorf("--memory: %w", err)
		}
		s = s.WithMemory(m)
		if err := s.Validate(); err != nil {
			return s, fmt.Errorf("--memory %s on %s: %w", m, s.Name, err)
		}
	}
	if o.packing != "" && o.fpga == "" && s.FPGA.Board == "" {
		return s, fmt.Errorf("--dsp-packing needs --fpga")
	}
	if o.fpga != "" || o.packing != "" {
		board := s.FPGA.Board
		if o.fpga != "" {
			b, err := arch.LookupBoard(o.fpga)
			if err != nil {
				return s, fmt.Errorf("--fpga: %w", err)
			}
			board = b.Name
		}
		p := s.FPGA.DSPPacking
		if o.packing != "" {
			q, err := arch.ParseDSPPacking(o.packing)
			if err != nil {
				return s, fmt.Errorf("--dsp-packing: %w", err)
			}
			p = q
		}
		b, _ := arch.LookupBoard(board)
		if err := s.WithFPGA(board, p).Validate(); err != nil {
			return s, fmt.Errorf("--dsp-packing %s on %s: %w", p, b.Name, err)
		}
		s = s.WithFPGA(board, p)
	}
	return s, s.Validate()
}

// newRunCmd is `vimsim run`: the per-layer cycle, traffic and energy
// estimate of one model on one architecture.
func newRunCmd() *cobra.Command {
	var mf modelFlags
	var archArg, format, out, actions, accArch string
	var perOp, force bool
	var ov archOverrides
	var fid fidelityFlags
	cmd := &cobra.Command{
		Use:   "run --model M --arch A",
		Short: "Estimate per-layer cycles, utilisation, DRAM traffic and energy of a model on an architecture",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat("format", format, "table", "csv", "json"); err != nil {
				return err
			}
			actionsFormat := ""
			if actions != "" {
				switch strings.ToLower(filepath.Ext(actions)) {
				case ".yaml", ".yml":
					actionsFormat = "yaml"
				case ".csv":
					actionsFormat = "csv"
				default:
					return fmt.Errorf("--actions %q: want a .yaml, .yml or .csv file", actions)
				}
			}
			if ext := strings.ToLower(filepath.Ext(accArch)); accArch != "" && ext != ".yaml" && ext != ".yml" {
				return fmt.Errorf("--accelergy-arch %q: want a .yaml or .yml file", accArch)
			}
			if err := checkOutputFile("out", out, force); err != nil {
				return err
			}
			if err := checkOutputFile("actions", actions, force); err != nil {
				return err
			}
			if err := checkOutputFile("accelergy-arch", accArch, force); err != nil {
				return err
			}
			if out != "" && out == actions {
				return fmt.Errorf("--out and --actions name the same file %s", out)
			}
			if accArch != "" && (accArch == out || accArch == actions) {
				return fmt.Errorf("--accelergy-arch names the same file as --out or --actions: %s", accArch)
			}
			cfg, err := mf.config()
			if err != nil {
				return fmt.Errorf("--model: %w", err)
			}
			s, err := arch.ResolveSpec(archArg)
			if err != nil {
				return fmt.Errorf("--arch: %w", err)
			}
			if s, err = ov.apply(s); err != nil {
				return err
			}
			e, recipe, err := estimateRun(s, cfg, &fid.prec)
			if err != nil {
				return err
			}
			var actionBytes, archBytes bytes.Buffer
			if actionsFormat != "" {
				if err := e.WriteActionCounts(&actionBytes, actionsFormat); err != nil {
					return err
				}
			}
			if accArch != "" {
				if err := e.WriteAccelergyArch(&archBytes); err != nil {
					return err
				}
			}
			nfid, err := fid.count(mf.model)
			if err != nil {
				return err
			}
			var summary *sim.FidelitySummary
			if nfid > 0 && format != "csv" {
				if summary, err = runFidelity(cmd, &mf, fid, nfid); err != nil {
					return fmt.Errorf("fidelity: %w", err)
				}
			}
			var report bytes.Buffer
			switch format {
			case "json":
				err = writeJSON(&report, runReport{Estimate: e, Recipe: recipe, Fidelity: summary})
			case "csv":
				err = writeRunCSV(&report, e, perOp)
			default:
				if err = writeRunTable(&report, e, recipe, perOp); err == nil && summary != nil {
					err = writeFidelityTable(&report, summary)
				}
			}
			if err != nil {
				return err
			}
			files := []outputFile{{"out", out, report.Bytes()}}
			if accArch != "" {
				files = append(files, outputFile{"accelergy-arch", accArch, archBytes.Bytes()})
			}
			if actionsFormat != "" {
				files = append(files, outputFile{"actions", actions, actionBytes.Bytes()})
			}
			return writeOutputs(commandContext(cmd), cmd.OutOrStdout(), force, files...)
		},
	}
	f := cmd.Flags()
	mf.register(cmd)
	f.StringVar(&archArg, "arch", "systolic16", "architecture preset ("+strings.Join(arch.PresetNames(), ", ")+") or spec file")
	ov.register(cmd)
	f.StringVar(&format, "format", "table", "output format: table, csv or json")
	f.StringVar(&out, "out", "", "write the report to this file instead of stdout")
	f.StringVar(&actions, "actions", "", "also write Accelergy action counts to this .yaml (Accelergy 0.4) or .csv file")
	f.StringVar(&accArch, "accelergy-arch", "", "also write the Accelergy 0.4 architecture the action counts name to this .yaml file")
	f.BoolVar(&perOp, "per-op", false, "one row per operation instead of per layer (table and csv)")
	registerForce(cmd, &force)
	fid.register(f)
	return cmd
}

// estimateRun costs model c on s: at the widths of the recipe the flags p
// select (--recipe, --wbits/--abits/--hbits: quant.OpList's formats) when
// one is given, else on the int8 op list (cost.EstimateModel). recipe names
// the recipe, "" without one.
func estimateRun(s arch.Spec, c vim.Config, p *precisionFlags) (e cost.Estimate, recipe string, err error) {
	pl, recipe, given, err := p.plan(c.Depth)
	if err != nil || !given {
		if err == nil {
			e, err = cost.EstimateModel(s, c)
		}
		return e, "", err
	}
	ops, err := quant.OpList(c, pl)
	if err != nil {
		return e, "", err
	}
	e, err = cost.EstimateOps(s, c.Name, ops)
	return e, recipe, err
}

// runReport is the JSON form of vimsim run: the estimate's members, the
// recipe it was costed at (absent for the default int8 op list) and, when
// computed, the fidelity summary.
type runReport struct {
	cost.Estimate
	Recipe   string               `json:"recipe,omitempty"`
	Fidelity *sim.FidelitySummary `json:"fidelity,omitempty"`
}

func pct(v float64) string { return fmt.Sprintf("%.1f", 100*v) }

func uj(pj float64) string { return fmt.Sprintf("%.1f", pj/1e6) }

// writeRunTable renders the estimate as the per-layer (or per-op) table,
// the totals and, with an FPGA target, the resource estimate.
func writeRunTable(w io.Writer, e cost.Estimate, recipe string, perOp bool) error {
	s := e.Arch
	mem := ""
	if s.SCALESimMemory() {
		mem = fmt.Sprintf(", SCALE-Sim memory (%d words/cycle)", s.WordsPerCycle())
	}
	fmt.Fprintf(w, "%s on %s: %dx%d %s array (%s), %s MHz, %s, %s overlap, scan %d lanes %s%s\n",
		e.Model, s.Name, s.Array.Rows, s.Array.Cols, e.Precision.ArrayMAC, s.Array.Dataflow, fmtNum(s.ClockMHz), s.Tech, s.Overlap, s.Scan.Lanes, s.Scan.Mode, mem)
	if recipe != "" {
		p := e.Precision
		fmt.Fprintf(w, "precision: recipe %s: array %s MACs (%.3f mm² at 45 nm), dwconv %s MACs, scan state %d bits\n",
			recipe, p.ArrayMAC, p.ArrayAreaMM2, p.ConvMAC, p.StateBits)
	}
	t := newPerfTable(w)
	tot := e.Totals
	if perOp {
		t.Header("layer", "op", "unit", "MACs", "cycles", "stalls", "util %", "DRAM bytes", "energy µJ")
		for _, c := range e.Ops {
			t.Append(vim.LayerName(c.Layer), c.Name, string(c.Unit), commas(c.MACs), commas(c.Cycles), commas(c.StallCycles),
				pct(c.Util), commas(c.Traffic.Total()), uj(c.Energy.Total()))
		}
		t.Footer("total", "", "", commas(tot.MACs), commas(tot.Cycles), commas(tot.StallCycles), pct(tot.ArrayUtil),
			commas(tot.DRAMBytes), uj(tot.Energy.Total()))
	} else {
		t.Header("layer", "MACs", "cycles", "array util %", "DRAM bytes", "energy µJ", "bottleneck")
		for _, l := range e.Layers {
			t.Append(l.Name, commas(l.MACs), commas(l.Cycles), pct(l.ArrayUtil), commas(l.DRAMBytes), uj(l.Energy.Total()), string(l.Bottleneck))
		}
		t.Footer("total", commas(tot.MACs), commas(tot.Cycles), pct(tot.ArrayUtil), commas(tot.DRAMBytes), uj(tot.Energy.Total()), string(tot.Bottleneck))
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	busy := make([]string, 0, len(tot.BusyCycles))
	for _, b := range tot.BusyCycles {
		busy = append(busy, fmt.Sprintf("%s %s", b.Unit, commas(b.Cycles)))
	}
	en := tot.Energy
	t = newPerfTable(w)
	t.Configure(func(c *tablewriter.Config) { c.Row.Alignment.Global = tw.AlignLeft })
	t.Header("total", "value")
	rows := [][2]string{
		{"latency", fmt.Sprintf("%s cycles = %.3f ms (serial %s, pipelined bound %s)", commas(tot.Cycles), tot.LatencyMS,
			commas(tot.SerialCycles), commas(tot.PipelinedCycles))},
		{"throughput", fmt.Sprintf("%.1f images/s, %.1f GOPS (2 ops/MAC, %s MACs)", tot.ImagesPerS, tot.GOPS, commas(tot.MACs))},
		{"MACs", fmt.Sprintf("model %s (vim-forward.md §6, the MACs column); datapath %s (all unit products, as vimsim sim counts)",
			commas(tot.MACs), commas(tot.Counts.MACs))},
		{"energy", fmt.Sprintf("%.1f µJ/image, %.3f TOPS/W, %.3f W", tot.UJPerImage, tot.TOPSPerW, tot.PowerW)},
		{"energy by unit µJ", fmt.Sprintf("array %s, scan %s, dwconv %s, vector %s, norm %s",
			uj(en.Array), uj(en.Scan), uj(en.DWConv), uj(en.Vector), uj(en.Norm))},
		{"energy by level µJ", fmt.Sprintf("DRAM %s, SRAM %s (ifmap %s, filter %s, ofmap %s, act %s), static %s",
			uj(en.DRAM), uj(en.SRAM()), uj(en.Ifmap), uj(en.Filter), uj(en.Ofmap), uj(en.Act), uj(en.Static))},
		{"DRAM traffic", fmt.Sprintf("%s bytes (weights %s, in %s, out %s, re-read %s, spill %s), %s stall cycles",
			commas(tot.DRAMBytes), commas(tot.Traffic.Weights), commas(tot.Traffic.In), commas(tot.Traffic.Out),
			commas(tot.Traffic.Reread), commas(tot.Traffic.Spill), commas(tot.StallCycles))},
		{"busy cycles", strings.Join(busy, ", ")},
		{"bottleneck", string(tot.Bottleneck)},
	}
	if r := e.Resources; r != nil {
		rows = append(rows, [2]string{"fpga " + r.Board, fmt.Sprintf("DSP %s (%s), BRAM36 %s (%s), URAM %s (%s), LUT %s (%s): %s, limit %s, packing %s",
			commas(r.DSP), pct1(r.DSPUtil), commas(r.BRAM36), pct1(r.BRAMUtil), commas(r.URAM), pct1(r.URAMUtil),
			commas(r.LUT), pct1(r.LUTUtil), fitsWord(r.Fits), r.Limit, r.Packing)})
	}
	for _, r := range rows {
		t.Append(r[0], r[1])
	}
	return t.Render()
}

func pct1(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

func fitsWord(ok bool) string {
	if ok {
		return "fits"
	}
	return "does not fit"
}
