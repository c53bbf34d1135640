package scalesim_test

import (
	"fmt"
	"os"

	"github.com/vimsim/vimsim/hw/cost/scalesim"
)

// Vim-Ti's in_proj on a 16×16 weight-stationary array with 64 KiB buffers
// and 16 words per cycle, as SCALE-Sim v2 reports it.
func ExampleSimulateLayer() {
	c := scalesim.DefaultConfig(16, 16, scalesim.WeightStationary, 64, 64, 64, 16)
	r, err := scalesim.SimulateLayer(c, scalesim.GEMMLayer("in_proj", 197, 192, 768))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("total", r.TotalCycles, "stall", r.StallCycles, "compute", r.ComputeCycles())
	fmt.Println("DRAM ifmap", r.DRAMIfmapReads.Words, "filter", r.DRAMFilterReads.Words, "ofmap", r.DRAMOfmapWrites.Words)
	// Output:
	// total 701056 stall 561089 compute 139967
	// DRAM ifmap 11239424 filter 1179648 ofmap 1815567
}

// A two-layer GEMM topology run and its COMPUTE_REPORT.csv (the same bytes
// SCALE-Sim writes for this configuration).
func ExampleRun() {
	c := scalesim.DefaultConfig(8, 8, scalesim.OutputStationary, 4, 4, 4, 8)
	rep, err := scalesim.Run(c, []scalesim.Layer{
		scalesim.GEMMLayer("qkv", 50, 32, 96),
		scalesim.GEMMLayer("head", 1, 64, 100),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := scalesim.WriteComputeReport(os.Stdout, rep); err != nil {
		fmt.Println(err)
	}
	// Output:
	// LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,
	// 0, 3863, 0, 62.12787988609889, 89.28571428571429, 62.1118012422361,
	// 1, 1727, 714, 5.790387955993052, 12.01923076923077, 9.861932938856016,
}
