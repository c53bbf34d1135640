package main

import (
	"github.com/spf13/cobra"
)

// version is the generator version written into reports and vectors.
const version = "0.1.0"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "vimsim",
		Short:         "Co-design simulator for accelerators running a quantized Vision Mamba",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newInferCmd(), newModelCmd(), newEvalCmd(), newArchCmd(), newCyclesCmd(), newRunCmd(), newSweepCmd(), newExploreCmd(), newVectorsCmd(), newTraceCmd(), newCalibrateCmd(), newQModelCmd(), newSimCmd(), newMergeCmd(), newSlurmCmd(), newVersionCmd())
	return root
}
