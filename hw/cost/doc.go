// Package cost is vimsim's timing model: the analytic cycle, memory-traffic,
// energy and FPGA-resource model of an accelerator (hw/arch.Spec) running a
// workload, and design-space sweeps with their Pareto fronts.
//
// The model is pure: it works on operation shapes and never computes tensor
// values. GEMM compute cycles equal SCALE-Sim v2's stall-free cycle counts
// exactly; memory stalls, the SSM scan unit, the depthwise conv, nonlinear
// and norm units, energy and FPGA resources are analytic models documented
// in docs/PERFMODEL.md. Section numbers in comments refer to
// ../shared/reference/hardware.md.
package cost
