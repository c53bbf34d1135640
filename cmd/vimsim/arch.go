package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/hw/arch"
)

// newArchCmd is `vimsim arch` with the list and show subcommands.
func newArchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "arch",
		Short: "List and show accelerator architectures",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newArchListCmd(), newArchShowCmd())
	return cmd
}

// newPerfTable returns a table writer with the settings of the performance
// commands: numbers right-aligned, headers as given.
func newPerfTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignment(tw.AlignRight),
		tablewriter.WithHeaderAlignment(tw.AlignCenter),
	)
}

func checkFormat(flag, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return fmt.Errorf("--%s %q: want one of %v", flag, value, allowed)
}

func newArchListCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the architecture presets, technology tables and FPGA boards",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat("format", format, "table", "json"); err != nil {
				return err
			}
			var specs []arch.Spec
			for _, n := range arch.PresetNames() {
				s, err := arch.Preset(n)
				if err != nil {
					return err
				}
				specs = append(specs, s)
			}
			var boards []arch.Board
			for _, n := range arch.BoardNames() {
				b, err := arch.LookupBoard(n)
				if err != nil {
					return err
				}
				boards = append(boards, b)
			}
			var techs []arch.EnergyTable
			for _, n := range arch.TechNames() {
				t, err := arch.LookupTech(n)
				if err != nil {
					return err
				}
				techs = append(techs, t)
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Presets []arch.Spec        `json:"presets"`
					Techs   []arch.EnergyTable `json:"techs"`
					Boards  []arch.Board       `json:"boards"`
				}{specs, techs, boards})
			}
			t := newPerfTable(w)
			t.Header("arch", "array", "dataflow", "clock MHz", "buffers KiB (i/f/o/act)", "DRAM GB/s", "scan", "vector/norm/dwconv lanes", "overlap", "tech")
			for _, s := range specs {
				t.Append(s.Name, fmt.Sprintf("%dx%d", s.Array.Rows, s.Array.Cols), string(s.Array.Dataflow), fmtNum(s.ClockMHz),
					fmt.Sprintf("%d/%d/%d/%d", s.Buffers.IfmapKiB, s.Buffers.FilterKiB, s.Buffers.OfmapKiB, s.Buffers.ActKiB),
					fmtNum(s.DRAM.BandwidthGBs), fmt.Sprintf("%d %s", s.Scan.Lanes, s.Scan.Mode),
					fmt.Sprintf("%d/%d/%d", s.Vector.Lanes, s.Norm.Lanes, s.DWConv.Lanes), string(s.Overlap), s.Tech)
			}
			if err := t.Render(); err != nil {
				return err
			}
			fmt.Fprintln(w)
			t = newPerfTable(w)
			t.Header("tech", "int8 MAC pJ", "psum reg pJ", "SRAM 64 b read 8/32/1024 KiB pJ", "DRAM pJ/B", "source")
			for _, e := range techs {
				t.Append(e.Name, fmtNum(e.MAC8), fmtNum(e.PsumReg),
					fmt.Sprintf("%s/%s/%s", fmtNum(e.SRAMRead(8, 64)), fmtNum(e.SRAMRead(32, 64)), fmtNum(e.SRAMRead(1024, 64))),
					fmtNum(e.DRAMPJPerByte), e.Source)
			}
			if err := t.Render(); err != nil {
				return err
			}
			fmt.Fprintln(w)
			t = newPerfTable(w)
			t.Header("board", "device", "family", "LUT", "DSP", "BRAM36", "URAM")
			for _, b := range boards {
				t.Append(b.Name, b.Device, b.Family, commas(int64(b.LUT)), commas(int64(b.DSP)), commas(int64(b.BRAM36)), commas(int64(b.URAM)))
			}
			return t.Render()
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func newArchShowCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "show NAME|FILE",
		Short: "Show one architecture preset or spec file (.json, .yaml)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat("format", format, "table", "json", "yaml"); err != nil {
				return err
			}
			s, err := arch.ResolveSpec(args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch format {
			case "json":
				b, err := s.EncodeJSON()
				if err != nil {
					return err
				}
				_, err = w.Write(b)
				return err
			case "yaml":
				b, err := s.EncodeYAML()
				if err != nil {
					return err
				}
				_, err = w.Write(b)
				return err
			}
			t := newPerfTable(w)
			t.Configure(func(c *tablewriter.Config) { c.Row.Alignment.Global = tw.AlignLeft })
			t.Header("field", "value")
			tech, _ := arch.LookupTech(s.Tech)
			rows := [][2]string{
				{"name", s.Name},
				{"array", fmt.Sprintf("%dx%d int8 MACs, %s", s.Array.Rows, s.Array.Cols, s.Array.Dataflow)},
				{"clock", fmtNum(s.ClockMHz) + " MHz"},
				{"peak", fmtNum(2*float64(s.PEs())*s.ClockMHz/1e3) + " GOPS (array)"},
				{"buffers", fmt.Sprintf("ifmap %d, filter %d, ofmap %d KiB (double-buffered %t); activations %d KiB",
					s.Buffers.IfmapKiB, s.Buffers.FilterKiB, s.Buffers.OfmapKiB, s.Buffers.DoubleBuffered, s.Buffers.ActKiB)},
				{"dram", fmtNum(s.DRAM.BandwidthGBs) + " GB/s = " + fmtNum(s.BytesPerCycle()) + " B/cycle"},
				{"scan", fmt.Sprintf("%d lanes, %s, depth %d, %d-bit", s.Scan.Lanes, s.Scan.Mode, s.Scan.Depth, s.Scan.Bits)},
				{"vector", fmt.Sprintf("%d lanes, latency %d", s.Vector.Lanes, s.Vector.Latency)},
				{"norm", fmt.Sprintf("%d lanes, latency %d", s.Norm.Lanes, s.Norm.Latency)},
				{"dwconv", fmt.Sprintf("%d MACs/cycle, latency %d", s.DWConv.Lanes, s.DWConv.Latency)},
				{"overlap", string(s.Overlap)},
				{"tech", s.Tech + " (" + tech.Source + ")"},
			}
			if s.FPGA.Board != "" {
				rows = append(rows, [2]string{"fpga", s.FPGA.Board + " packing " + string(s.FPGA.DSPPacking)})
			}
			for _, r := range rows {
				t.Append(r[0], r[1])
			}
			return t.Render()
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json or yaml")
	return cmd
}

// fmtNum formats a float compactly (up to 6 significant digits).
func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// commas groups the digits of n by thousands.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
