// Package hw groups the hardware side of vimsim; it holds no code itself.
//
//   - hw/arch: immutable architecture specifications (array, buffers, DRAM,
//     scan and streaming units, technology tables, FPGA boards, presets,
//     spec files) and the vocabulary of units and dataflows.
//   - hw/cost: the timing model — cycles, memory traffic, energy and FPGA
//     resources of a program's operations on a spec, and design sweeps.
//   - hw/datapath: the functional model — bit-accurate integer units.
//   - hw/rtl: the reference Verilog of those units and its testbenches.
//
// The functional model never imports the timing model or the RTL.
package hw
