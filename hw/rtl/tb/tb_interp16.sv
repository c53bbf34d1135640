// vimsim self-checking testbench: the interpolated int16 lookup unit
// (docs/RTL.md §9.5). Loads the 2^TBITS + 1 entries (table.in.hex, EW-bit
// two's complement), streams N_VEC int16 inputs (x.in.hex) and compares
// the outputs with y.exp.hex (OUT_BITS two's complement).
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended.
/* verilator lint_off BLKSEQ */

module tb_interp16;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer NE = (1 << TBITS) + 1;
    localparam integer MAX_SHOW = 10;

    `TB_CLOCK

    reg  [EW-1:0]       tab_m [0:NE-1];
    reg  [15:0]         x_m   [0:N_VEC-1];
    reg  [OUT_BITS-1:0] y_exp [0:N_VEC-1];

    reg                 ld_en = 1'b0;
    reg  [TBITS:0]      ld_addr = {(TBITS+1){1'b0}};
    reg  signed [EW-1:0] ld_data = {EW{1'b0}};
    reg                 in_valid = 1'b0;
    reg  signed [15:0]  in_x = 16'sd0;
    wire                out_valid;
    /* verilator lint_off UNUSEDSIGNAL */
    wire                out_sat;       // event flag, not compared
    /* verilator lint_on UNUSEDSIGNAL */
    wire signed [OUT_BITS-1:0] out_y;

    interp16 #(.TBITS(TBITS), .OUT_BITS(OUT_BITS), .EW(EW)) dut (
        .clk(clk), .rst_n(rst_n), .ld_en(ld_en), .ld_addr(ld_addr), .ld_data(ld_data),
        .in_valid(in_valid), .in_x(in_x), .out_valid(out_valid), .out_y(out_y), .out_sat(out_sat));

    integer cyc = 0, nout = 0, errors = 0;
    always @(posedge clk) begin
        cyc <= cyc + 1;
        if (cyc > WATCHDOG_CYCLES)
            $fatal(1, "FAIL: watchdog after %0d cycles (%0d of %0d outputs)", cyc, nout, N_VEC);
        if (out_valid) begin
            if (out_y !== y_exp[nout]) begin
                if (errors < MAX_SHOW)
                    $display("MISMATCH index=%0d x=%0d got=%0d (%h) exp=%0d (%h)", nout, $signed(x_m[nout]),
                             out_y, out_y, $signed(y_exp[nout]), y_exp[nout]);
                errors = errors + 1;
            end
            nout = nout + 1;
        end
    end

    string hexdir, vcdfile;
    integer i;
    initial begin
        `TB_PLUSARGS(tb_interp16, "tb_interp16.vcd")
        $readmemh({hexdir, "/table.in.hex"}, tab_m);
        $readmemh({hexdir, "/x.in.hex"}, x_m);
        $readmemh({hexdir, "/y.exp.hex"}, y_exp);
        repeat (3) @(negedge clk);
        rst_n = 1'b1;
        for (i = 0; i < NE; i = i + 1) begin
            @(negedge clk);
            ld_en   = 1'b1;
            ld_addr = i[TBITS:0];
            ld_data = tab_m[i];
        end
        @(negedge clk);
        ld_en = 1'b0;
        for (i = 0; i < N_VEC; i = i + 1) begin
            @(negedge clk);
            in_valid = 1'b1;
            in_x     = x_m[i];
        end
        @(negedge clk);
        in_valid = 1'b0;
        wait (nout == N_VEC);
        @(negedge clk);
        `TB_VERDICT(N_VEC)
    end
endmodule

`default_nettype wire
