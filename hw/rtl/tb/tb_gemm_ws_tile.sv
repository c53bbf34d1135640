// vimsim self-checking testbench: one fold of the weight-stationary systolic
// array at its edge (docs/RTL.md §2.3, §9.3), weight stationary (IS = 0) or
// input stationary (IS = 1). Drives systolic_array_ws cycle by cycle from
// the first load edge (cycle 0): cycles 0 .. R-1 shift the stationary tile
// in (w_load, w.in.hex line b on w_in: the row that ends in array row
// R-1-b), then cycles R .. 2R+T-2 put a.in.hex line c - R on a_in (the
// skewed stream: lane i = X[c-R-i][k0+i]), zeros after. The partial sums of
// streamed row x must be on o_data at edge 2R + C - 1 + x (lane j = column
// j): c.exp.hex line x; the last at edge CYCLES = 2R + C + T - 2, the
// hw.ComputeCycles per-fold count.
// Plusargs: +hexdir=DIR (vector set directory), +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended.
/* verilator lint_off BLKSEQ */
/* verilator lint_off UNUSEDSIGNAL */

module tb_gemm_ws_tile;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer MAX_SHOW = 10;
    localparam integer SL = T + R - 1;   // stream lines

    `TB_CLOCK

    reg              w_load = 1'b0;
    reg [C*8-1:0]    w_in = {(C*8){1'b0}};
    reg [R*8-1:0]    a_in = {(R*8){1'b0}};
    wire [C*32-1:0]  o_data;

    systolic_array_ws #(.R(R), .C(C)) dut (
        .clk(clk), .rst_n(rst_n), .w_load(w_load), .w_in(w_in), .a_in(a_in), .o_data(o_data));

    reg [C*8-1:0]  w_stream [0:R-1];
    reg [R*8-1:0]  a_stream [0:SL-1];
    reg [C*32-1:0] c_exp    [0:T-1];

    string hexdir, vcdfile;
    integer cyc = 0, t0 = -1, nout = 0, errors = 0, ferrors = 0, terrors = 0;
    integer i, j, x;

    // Monitor: row x at edge t0 + 2R + C - 1 + x.
    always @(posedge clk) begin
        if (cyc > WATCHDOG_CYCLES)
            $fatal(1, "FAIL: watchdog after %0d cycles", cyc);
        if (w_load && t0 < 0)
            t0 = cyc;
        if (t0 >= 0) begin
            x = cyc - t0 - (2 * R + C - 1);
            if (x >= 0 && x < T) begin
                for (j = 0; j < C; j = j + 1) begin
                    if (o_data[32*j +: 32] !== c_exp[x][32*j +: 32]) begin
                        if (errors < MAX_SHOW)
                            $display("MISMATCH row=%0d col=%0d at edge %0d got=%0d (%h) exp=%0d (%h)", x, j, cyc - t0,
                                     $signed(o_data[32*j +: 32]), o_data[32*j +: 32],
                                     $signed(c_exp[x][32*j +: 32]), c_exp[x][32*j +: 32]);
                        errors = errors + 1;
                    end
                end
                nout = nout + 1;
            end
        end
        cyc = cyc + 1;
    end

    initial begin
        `TB_PLUSARGS(tb_gemm_ws_tile, "tb_gemm_ws_tile.vcd")
        $readmemh({hexdir, "/w.in.hex"}, w_stream);
        $readmemh({hexdir, "/a.in.hex"}, a_stream);
        $readmemh({hexdir, "/c.exp.hex"}, c_exp);
        repeat (3) @(negedge clk);
        rst_n = 1'b1;
        for (i = 0; i < R; i = i + 1) begin
            @(negedge clk);
            w_load = 1'b1;
            w_in   = w_stream[i];
        end
        for (i = 0; i < SL; i = i + 1) begin
            @(negedge clk);
            w_load = 1'b0;
            w_in   = {(C*8){1'b0}};
            a_in   = a_stream[i];
        end
        @(negedge clk);
        a_in = {(R*8){1'b0}};
        while (nout < T)
            @(negedge clk);
        $display("CYCLES: fold=%0d (model %0d)", 2 * R + C - 2 + T, CYCLES);
        if (2 * R + C - 2 + T != CYCLES)
            terrors = terrors + 1;
        `TB_VERDICT(T * C)
    end
endmodule

`default_nettype wire
