package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim"
)

func newModelCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "model", Short: "Inspect models"}
	cmd.AddCommand(newModelInfoCmd())
	return cmd
}

// macRow is the MAC count of one layer type, summed over the network.
type macRow struct {
	Type     string `json:"type"`
	PerBlock int64  `json:"macs_per_block"`
	Total    int64  `json:"macs"`
}

// modelInfo is the JSON form of `vimsim model info`.
type modelInfo struct {
	Config    vim.Config `json:"config"`
	Patches   int        `json:"patches"`
	Tokens    int        `json:"tokens"`
	ClsPos    int        `json:"cls_position"`
	Params    int64      `json:"params"`
	MACs      []macRow   `json:"macs_by_type"`
	TotalMACs int64      `json:"total_macs"`
}

// layerType folds per-direction op names ("x_proj_b") into one type.
func layerType(name string) string {
	return strings.TrimSuffix(name, "_b")
}

func describeModel(c vim.Config) (modelInfo, error) {
	info := modelInfo{Config: c, Patches: c.Patches(), Tokens: c.Tokens(), ClsPos: c.ClsPos(),
		Params: c.ParamCount(), TotalMACs: c.TotalMACs()}
	l, err := intprog.Lower(c)
	if err != nil {
		return info, err
	}
	index := map[string]int{}
	for i := range l.Ops {
		op := &l.Ops[i]
		if op.MACs() == 0 {
			continue
		}
		typ := layerType(op.Name)
		i, ok := index[typ]
		if !ok {
			i = len(info.MACs)
			index[typ] = i
			info.MACs = append(info.MACs, macRow{Type: typ})
		}
		info.MACs[i].Total += op.MACs()
		if op.Layer == 0 {
			info.MACs[i].PerBlock += op.MACs()
		}
	}
	return info, nil
}

func newModelInfoCmd() *cobra.Command {
	var (
		mf     modelFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Print a model's configuration, parameter count and MACs per layer type",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("--format %q: want table or json", format)
			}
			c, err := mf.config()
			if err != nil {
				return err
			}
			info, err := describeModel(c)
			if err != nil {
				return fmt.Errorf("--model: %w", err)
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			return writeModelInfo(cmd.OutOrStdout(), info)
		},
	}
	mf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func writeModelInfo(w io.Writer, info modelInfo) error {
	c := info.Config
	fmt.Fprintf(w, "model %s: %dx%dx%d input, patch %d stride %d -> %d patches, L = %d tokens (cls at %d)\n",
		c.Name, c.Channels, c.ImgH, c.ImgW, c.Patch, c.Stride, info.Patches, info.Tokens, info.ClsPos)
	fmt.Fprintf(w, "D = %d, depth = %d, E = %d, N = %d, K = %d, R = %d, classes = %d, eps = %g\n",
		c.Dim, c.Depth, c.DInner, c.DState, c.DConv, c.DtRank, c.Classes, c.Eps)
	fmt.Fprintf(w, "parameters: %d\n\n", info.Params)
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header("layer type", "MACs per block", "MACs total", "share")
	for _, r := range info.MACs {
		if err := t.Append(r.Type, commas(r.PerBlock), commas(r.Total),
			fmt.Sprintf("%.2f%%", 100*float64(r.Total)/float64(info.TotalMACs))); err != nil {
			return err
		}
	}
	t.Footer("total", "", commas(info.TotalMACs), fmt.Sprintf("%.4f GMAC", float64(info.TotalMACs)/1e9))
	return t.Render()
}
