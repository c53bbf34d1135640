package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
)

// cyclesReport is the JSON form of `vimsim cycles`.
type cyclesReport struct {
	ComputeCycles     int64         `json:"compute_cycles"`
	Folds             int64         `json:"folds"`
	Util              float64       `json:"util"`
	CyclesPerFold     int64         `json:"cycles_per_fold"`
	RowFolds          int64         `json:"row_folds"`
	ColFolds          int64         `json:"col_folds"`
	MappingEfficiency float64       `json:"mapping_efficiency"`
	ComputeUtil       float64       `json:"compute_util"`
	Rows              int           `json:"rows"`
	Cols              int           `json:"cols"`
	Dataflow          arch.Dataflow `json:"dataflow"`
	M                 int           `json:"m"`
	K                 int           `json:"k"`
	N                 int           `json:"n"`
}

// newCyclesCmd is `vimsim cycles`: SCALE-Sim v2 stall-free compute cycles of
// one GEMM.
func newCyclesCmd() *cobra.Command {
	var archArg, array, dataflow, gemm, format string
	cmd := &cobra.Command{
		Use:   "cycles --gemm M,K,N [--arch A | --array RxC] [--dataflow os|ws|is]",
		Short: "Stall-free compute cycles of one GEMM (M×K times K×N), as SCALE-Sim v2 counts them",
		Long: `Prints SCALE-Sim v2's stall-free "Total Cycles" of an M×K by K×N GEMM on an
R-row, C-column systolic array, its folds and its overall utilisation
(util = M·K·N / (cycles·R·C), a fraction). SCALE-Sim topology files list GEMMs as
M, N, K: reorder when comparing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat("format", format, "table", "json"); err != nil {
				return err
			}
			if gemm == "" {
				return fmt.Errorf("--gemm is required (M,K,N)")
			}
			g, err := parseGEMM(gemm)
			if err != nil {
				return fmt.Errorf("--gemm: %w", err)
			}
			var rows, cols int
			df := arch.OutputStationary
			switch {
			case archArg != "" && array != "":
				return fmt.Errorf("--arch and --array are exclusive")
			case array != "":
				if rows, cols, err = parseArray(array); err != nil {
					return fmt.Errorf("--array: %w", err)
				}
			default:
				if archArg == "" {
					archArg = "systolic16"
				}
				s, err := arch.ResolveSpec(archArg)
				if err != nil {
					return fmt.Errorf("--arch: %w", err)
				}
				rows, cols, df = s.Array.Rows, s.Array.Cols, s.Array.Dataflow
			}
			if dataflow != "" {
				if df, err = arch.ParseDataflow(dataflow); err != nil {
					return fmt.Errorf("--dataflow: %w", err)
				}
			}
			c, err := cost.ComputeCycles(rows, cols, df, g)
			if err != nil {
				return err
			}
			r := cyclesReport{ComputeCycles: c.Cycles, Folds: c.Folds, Util: c.Util, CyclesPerFold: c.CyclesPerFold,
				RowFolds: c.RowFolds, ColFolds: c.ColFolds, MappingEfficiency: c.MappingEfficiency, ComputeUtil: c.ComputeUtil,
				Rows: rows, Cols: cols, Dataflow: df, M: g.M, K: g.K, N: g.N}
			w := cmd.OutOrStdout()
			if format == "json" {
				b, err := json.Marshal(r)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(w, "%s\n", b)
				return err
			}
			t := newPerfTable(w)
			t.Header("array", "dataflow", "gemm M,K,N", "compute cycles", "folds", "cycles/fold", "util %", "mapping eff %", "compute util %")
			t.Append(fmt.Sprintf("%dx%d", rows, cols), string(df), fmt.Sprintf("%d,%d,%d", g.M, g.K, g.N),
				commas(c.Cycles), commas(c.Folds), commas(c.CyclesPerFold),
				fmt.Sprintf("%.2f", 100*c.Util), fmt.Sprintf("%.2f", 100*c.MappingEfficiency), fmt.Sprintf("%.2f", 100*c.ComputeUtil))
			return t.Render()
		},
	}
	f := cmd.Flags()
	f.StringVar(&archArg, "arch", "", "architecture preset or spec file (default systolic16)")
	f.StringVar(&array, "array", "", "array size RxC (rows x columns), instead of --arch")
	f.StringVar(&dataflow, "dataflow", "", "dataflow os, ws or is (default: the architecture's)")
	f.StringVar(&gemm, "gemm", "", "GEMM shape M,K,N")
	f.StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}
