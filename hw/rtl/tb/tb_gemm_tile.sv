// vimsim self-checking testbench: one fold of the output-stationary systolic
// array at its edge (docs/RTL.md §9.1). Drives systolic_array_os with the
// skewed operand streams of the vector set, cycle by cycle: cycle c puts
// a.in.hex line c on a_in (lane i = row i) and w.in.hex line c on w_in
// (lane j = column j), start at cycle 0, capture at cycle CYCLES (the
// hw.ComputeCycles per-fold count), then compares the R drained rows with
// c.exp.hex (line i = row i, lane j = column j).
// Plusargs: +hexdir=DIR (vector set directory), +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended.
/* verilator lint_off BLKSEQ */

module tb_gemm_tile;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer RB = (R > 1) ? $clog2(R) : 1;
    localparam integer MAX_SHOW = 10;

    `TB_CLOCK

    reg              start = 1'b0;
    reg              capture = 1'b0;
    reg [R*8-1:0]    a_in = {(R*8){1'b0}};
    reg [C*8-1:0]    w_in = {(C*8){1'b0}};
    wire             o_valid;
    wire [RB-1:0]    o_row;
    wire [C*32-1:0]  o_data;

    systolic_array_os #(.R(R), .C(C)) dut (
        .clk(clk), .rst_n(rst_n), .start(start), .capture(capture),
        .a_in(a_in), .w_in(w_in), .o_valid(o_valid), .o_row(o_row), .o_data(o_data));

    reg [R*8-1:0]  a_stream [0:CYCLES-1];
    reg [C*8-1:0]  w_stream [0:CYCLES-1];
    reg [C*32-1:0] c_exp    [0:R-1];
    reg [C*32-1:0] c_got    [0:R-1];
    reg [R-1:0]    seen = {R{1'b0}};

    string hexdir, vcdfile;
    integer cyc = 0;
    integer i, j, errors, rows_seen;

    always @(posedge clk) begin
        cyc <= cyc + 1;
        if (cyc > WATCHDOG_CYCLES)
            $fatal(1, "FAIL: watchdog after %0d cycles", cyc);
        if (o_valid) begin
            c_got[o_row] <= o_data;
            seen[o_row]  <= 1'b1;
        end
    end

    initial begin
        `TB_PLUSARGS(tb_gemm_tile, "tb_gemm_tile.vcd")
        $readmemh({hexdir, "/a.in.hex"}, a_stream);
        $readmemh({hexdir, "/w.in.hex"}, w_stream);
        $readmemh({hexdir, "/c.exp.hex"}, c_exp);
        repeat (3) @(negedge clk);
        rst_n = 1'b1;
        for (i = 0; i < CYCLES; i = i + 1) begin
            @(negedge clk);
            start = (i == 0);
            a_in  = a_stream[i];
            w_in  = w_stream[i];
        end
        @(negedge clk);
        start   = 1'b0;
        capture = 1'b1;
        a_in    = {(R*8){1'b0}};
        w_in    = {(C*8){1'b0}};
        @(negedge clk);
        capture = 1'b0;
        repeat (R + 2) @(negedge clk);
        errors = 0;
        rows_seen = 0;
        for (i = 0; i < R; i = i + 1) begin
            if (seen[i])
                rows_seen = rows_seen + 1;
            for (j = 0; j < C; j = j + 1) begin
                if (c_got[i][32*j +: 32] !== c_exp[i][32*j +: 32]) begin
                    if (errors < MAX_SHOW)
                        $display("MISMATCH row=%0d col=%0d got=%0d (%h) exp=%0d (%h)", i, j,
                                 $signed(c_got[i][32*j +: 32]), c_got[i][32*j +: 32],
                                 $signed(c_exp[i][32*j +: 32]), c_exp[i][32*j +: 32]);
                    errors = errors + 1;
                end
            end
        end
        if (rows_seen != R)
            $fatal(1, "FAIL: %0d of %0d rows drained", rows_seen, R);
        if (errors != 0)
            $fatal(1, "FAIL: %0d/%0d mismatches", errors, R * C);
        $display("CYCLES: fold=%0d (model %0d)", CYCLES, CYCLES);
        $display("PASS: %0d vectors", R * C);
        $finish;
    end
endmodule

`default_nettype wire
