package main

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/traces"
)

// newTraceCmd is `vimsim trace`: the cost model's schedule of one inference
// as a Chrome/Perfetto trace.
func newTraceCmd() *cobra.Command {
	var mf modelFlags
	var archArg, out string
	var force bool
	var ov archOverrides
	cmd := &cobra.Command{
		Use:   "trace --model M --arch A --out trace.json",
		Short: "Write the schedule of one inference as a Chrome/Perfetto trace (JSON)",
		Long: `Write the schedule of one inference on an architecture as a Chrome trace
event JSON (open it in ui.perfetto.dev or chrome://tracing): a "layers" track
with one slice per layer, and one track per unit (array, scan, dwconv,
vector, norm, dram) with one slice per operation, in microseconds at the
architecture's clock. Cycles are those of 'vimsim run' (cost.EstimateModel);
the schedule follows the architecture's overlap mode (docs/RTL.md §11).
Without --out the trace goes to stdout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutputFile("out", out, force); err != nil {
				return err
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
			e, err := cost.EstimateModel(s, cfg)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := traces.WriteChromeTrace(&buf, e); err != nil {
				return err
			}
			return writeOutputs(commandContext(cmd), cmd.OutOrStdout(), force, outputFile{"out", out, buf.Bytes()})
		},
	}
	mf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&archArg, "arch", "systolic16", "architecture preset ("+strings.Join(arch.PresetNames(), ", ")+") or spec file")
	ov.register(cmd)
	f.StringVar(&out, "out", "", "write the trace to this file (atomically) instead of stdout")
	registerForce(cmd, &force)
	return cmd
}
