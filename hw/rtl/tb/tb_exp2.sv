// vimsim self-checking testbench: the base-2 exponent unit (docs/RTL.md
// §9.6). Loads the 2^TBITS + 1 table entries (table.in.hex, 32-bit), streams
// N_VEC Q11.20 inputs (z.in.hex, int32) and compares the UQ8.16 outputs
// (y.exp.hex, 32-bit) and the saturation flags (sat.exp.hex, 1 bit).
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended.
/* verilator lint_off BLKSEQ */

module tb_exp2;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer NE = (1 << TBITS) + 1;
    localparam integer MAX_SHOW = 10;

    `TB_CLOCK

    reg  [31:0] tab_m [0:NE-1];
    reg  [31:0] z_m   [0:N_VEC-1];
    reg  [31:0] y_exp [0:N_VEC-1];
    reg  [0:0]  s_exp [0:N_VEC-1];

    reg                ld_en = 1'b0;
    reg  [TBITS:0]     ld_addr = {(TBITS+1){1'b0}};
    reg  [31:0]        ld_data = 32'd0;
    reg                in_valid = 1'b0;
    reg  signed [31:0] in_z = 32'sd0;
    wire               out_valid, out_sat;
    wire [31:0]        out_y;

    exp2_unit #(.TBITS(TBITS)) dut (
        .clk(clk), .rst_n(rst_n), .ld_en(ld_en), .ld_addr(ld_addr), .ld_data(ld_data),
        .in_valid(in_valid), .in_z(in_z), .out_valid(out_valid), .out_y(out_y), .out_sat(out_sat));

    integer cyc = 0, nout = 0, errors = 0;
    always @(posedge clk) begin
        cyc <= cyc + 1;
        if (cyc > WATCHDOG_CYCLES)
            $fatal(1, "FAIL: watchdog after %0d cycles (%0d of %0d outputs)", cyc, nout, N_VEC);
        if (out_valid) begin
            if (out_y !== y_exp[nout] || out_sat !== s_exp[nout][0]) begin
                if (errors < MAX_SHOW)
                    $display("MISMATCH index=%0d z=%0d got=%0d sat=%0d (%h) exp=%0d sat=%0d (%h)", nout,
                             $signed(z_m[nout]), out_y, out_sat, out_y, y_exp[nout], s_exp[nout], y_exp[nout]);
                errors = errors + 1;
            end
            nout = nout + 1;
        end
    end

    string hexdir, vcdfile;
    integer i;
    initial begin
        `TB_PLUSARGS(tb_exp2, "tb_exp2.vcd")
        $readmemh({hexdir, "/table.in.hex"}, tab_m);
        $readmemh({hexdir, "/z.in.hex"}, z_m);
        $readmemh({hexdir, "/y.exp.hex"}, y_exp);
        $readmemh({hexdir, "/sat.exp.hex"}, s_exp);
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
            in_z     = z_m[i];
        end
        @(negedge clk);
        in_valid = 1'b0;
        wait (nout == N_VEC);
        @(negedge clk);
        `TB_VERDICT(N_VEC)
    end
endmodule

`default_nettype wire
