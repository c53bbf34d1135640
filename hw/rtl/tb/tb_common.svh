// vimsim testbench common pieces (docs/RTL.md §9.3), included by every
// tb/tb_*.sv. Macros:
//   `TB_CLOCK                 clk (10 ns period) and the active-low reset rst_n
//   `TB_PLUSARGS(TOP, VCD)    +hexdir=DIR into hexdir (default "."); with
//                             +vcd[=FILE] dump TOP to FILE (default VCD)
//   `TB_VERDICT(N)            $fatal on errors != 0, else "PASS: N vectors"
//                             and $finish
// The including testbench declares `string hexdir, vcdfile;` and
// `integer errors`.
`ifndef TB_COMMON_SVH
`define TB_COMMON_SVH

`define TB_CLOCK \
    reg clk = 1'b0; \
    reg rst_n = 1'b0; \
    always #5 clk = ~clk;

`define TB_PLUSARGS(TOP, VCD) \
        if (!$value$plusargs("hexdir=%s", hexdir)) \
            hexdir = "."; \
        if ($test$plusargs("vcd")) begin \
            if (!$value$plusargs("vcd=%s", vcdfile)) \
                vcdfile = VCD; \
            $dumpfile(vcdfile); \
            $dumpvars(0, TOP); \
        end

`define TB_VERDICT(N) \
        if (errors != 0) \
            $fatal(1, "FAIL: %0d/%0d mismatches", errors, N); \
        $display("PASS: %0d vectors", N); \
        $finish;

`endif
