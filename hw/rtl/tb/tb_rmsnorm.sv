// vimsim self-checking testbench: the RMSNorm unit (docs/RTL.md §9.8). Loads
// the seed table (seed.in.hex, 3*2^TB entries, 16-bit) and the gains
// (gamma.in.hex, D int16), sets the static constants from params.vh, streams
// ROWS rows of D int32 values (x.in.hex, row-major) and compares the outputs
// with y.exp.hex (OUT_BITS two's complement, row-major).
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended.
/* verilator lint_off BLKSEQ */

module tb_rmsnorm;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer NV = ROWS * D;
    localparam integer NS = 3 * (1 << TB);
    localparam integer AB = (D > 1) ? $clog2(D) : 1;
    localparam integer MAX_SHOW = 10;

    `TB_CLOCK

    reg  [31:0]         x_m   [0:NV-1];
    reg  [15:0]         g_m   [0:D-1];
    reg  [15:0]         s_m   [0:NS-1];
    reg  [OUT_BITS-1:0] y_exp [0:NV-1];

    reg                 seed_we = 1'b0, gamma_we = 1'b0;
    reg  [TB+1:0]       seed_addr = {(TB+2){1'b0}};
    reg  [15:0]         seed_data = 16'd0;
    reg  [AB-1:0]       gamma_addr = {AB{1'b0}};
    reg  signed [15:0]  gamma_data = 16'sd0;
    reg                 in_valid = 1'b0;
    wire                in_ready;
    reg  signed [31:0]  in_x = 32'sd0;
    wire                out_valid;
    /* verilator lint_off UNUSEDSIGNAL */
    wire                out_sat, out_ovf;   // event flags, not compared
    /* verilator lint_on UNUSEDSIGNAL */
    wire signed [OUT_BITS-1:0] out_y;
    localparam integer DL = D - 1;

    rmsnorm #(.MAXD(D), .TB(TB), .OUT_BITS(OUT_BITS)) dut (
        .clk(clk), .rst_n(rst_n),
        .seed_we(seed_we), .seed_addr(seed_addr), .seed_data(seed_data),
        .gamma_we(gamma_we), .gamma_addr(gamma_addr), .gamma_data(gamma_data),
        .d_last(DL[AB-1:0]), .eps_d(EPS_D), .out_m(OUT_M), .out_shift(OUT_SHIFT), .zp(ZP), .frac(FRAC),
        .in_valid(in_valid), .in_ready(in_ready), .in_x(in_x),
        .out_valid(out_valid), .out_y(out_y), .out_sat(out_sat), .out_ovf(out_ovf));

    integer cyc = 0, nout = 0, errors = 0;
    always @(posedge clk) begin
        cyc <= cyc + 1;
        if (cyc > WATCHDOG_CYCLES)
            $fatal(1, "FAIL: watchdog after %0d cycles (%0d of %0d outputs)", cyc, nout, NV);
        if (out_valid) begin
            if (out_y !== y_exp[nout]) begin
                if (errors < MAX_SHOW)
                    $display("MISMATCH index=%0d (row=%0d channel=%0d) got=%0d (%h) exp=%0d (%h)", nout,
                             nout / D, nout % D, out_y, out_y, $signed(y_exp[nout]), y_exp[nout]);
                errors = errors + 1;
            end
            nout = nout + 1;
        end
    end

    string hexdir, vcdfile;
    integer i;
    initial begin
        `TB_PLUSARGS(tb_rmsnorm, "tb_rmsnorm.vcd")
        $readmemh({hexdir, "/x.in.hex"}, x_m);
        $readmemh({hexdir, "/gamma.in.hex"}, g_m);
        $readmemh({hexdir, "/seed.in.hex"}, s_m);
        $readmemh({hexdir, "/y.exp.hex"}, y_exp);
        repeat (3) @(negedge clk);
        rst_n = 1'b1;
        for (i = 0; i < NS; i = i + 1) begin
            @(negedge clk);
            seed_we   = 1'b1;
            seed_addr = i[TB+1:0];
            seed_data = s_m[i];
        end
        @(negedge clk);
        seed_we = 1'b0;
        for (i = 0; i < D; i = i + 1) begin
            @(negedge clk);
            gamma_we   = 1'b1;
            gamma_addr = i[AB-1:0];
            gamma_data = g_m[i];
        end
        @(negedge clk);
        gamma_we = 1'b0;
        for (i = 0; i < NV; i = i + 1) begin
            in_valid = 1'b1;
            in_x     = x_m[i];
            // in_ready is stable at a falling edge: the value is taken at the
            // rising edge after the first falling edge that sees it.
            while (!in_ready)
                @(negedge clk);
            @(negedge clk);
        end
        in_valid = 1'b0;
        wait (nout == NV);
        @(negedge clk);
        `TB_VERDICT(NV)
    end
endmodule

`default_nettype wire
