// Command vimsim is a co-design simulator for FPGA/ASIC accelerators that run
// a post-training-quantized Vision Mamba: float reference, quantization,
// bit-accurate integer datapath, cycle/energy/resource models and golden
// vectors for RTL verification.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the process exit code.
// Errors are printed as one line on stderr.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintf(stderr, "vimsim: %v\n", err)
		return 1
	}
	return 0
}
