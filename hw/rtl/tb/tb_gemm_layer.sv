// vimsim self-checking testbench: a whole GEMM C = A * W^T on the gemm_os
// engine (docs/RTL.md §9.2). A (M x K, a.in.hex) and W (N x K, w.in.hex,
// the PyTorch Linear layout) are int8 row-major, C (M x N, c.exp.hex) int32
// row-major. The testbench visits the MF x NF output tiles (m outer, n
// inner), feeds each tile's K beats back to back (lane i of in_a =
// A[mf*R + i][k], lane j of in_w = W[nf*C + j][k], zeros beyond M and N),
// collects the drained tiles, compares every element, and checks the cycle
// counts against the cycle model: the first fold must last FOLD_CYCLES
// (K + R + C - 2) cycles from its first beat to its fold_done, and all folds
// TOTAL_CYCLES = folds * FOLD_CYCLES (hw.ComputeCycles + 1).
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended.
/* verilator lint_off BLKSEQ */

module tb_gemm_layer;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer RB = (R > 1) ? $clog2(R) : 1;
    localparam integer MAX_SHOW = 10;
    localparam integer FOLDS = MF * NF;

    `TB_CLOCK

    reg  signed [7:0] a_m   [0:M*K-1];
    reg  signed [7:0] w_m   [0:N*K-1];
    reg  [31:0]       c_exp [0:M*N-1];
    reg  [31:0]       c_got [0:M*N-1];

    // Driver position: fold (mf, nf), depth k, and the lanes of that beat.
    // (The lanes are loaded by the clocked driver, not by an always @*
    // block, which simulators would make sensitive to every word of the
    // operand memories.)
    integer mf = 0, nf = 0, k = 0;
    reg running = 1'b0;
    reg driven  = 1'b0;

    wire             in_ready;
    wire             in_valid = running && !driven;
    wire             in_last  = (k == K - 1);
    reg  [R*8-1:0]   in_a = {(R*8){1'b0}};
    reg  [C*8-1:0]   in_w = {(C*8){1'b0}};
    wire             fold_done, o_valid;
    wire [RB-1:0]    o_row;
    wire [C*32-1:0]  o_data;
    wire [31:0]      o_row32 = {{(32-RB){1'b0}}, o_row};

    // Lanes of beat (fm, fn, kk): A rows fm*R + i and W rows fn*C + j at
    // depth kk, zero beyond M and N.
    function [R*8-1:0] a_lanes(input integer fm, input integer kk);
        integer li, row;
        begin
            a_lanes = {(R*8){1'b0}};
            for (li = 0; li < R; li = li + 1) begin
                row = fm * R + li;
                if (row < M)
                    a_lanes[8*li +: 8] = a_m[row * K + kk];
            end
        end
    endfunction
    function [C*8-1:0] w_lanes(input integer fn, input integer kk);
        integer li, col;
        begin
            w_lanes = {(C*8){1'b0}};
            for (li = 0; li < C; li = li + 1) begin
                col = fn * C + li;
                if (col < N)
                    w_lanes[8*li +: 8] = w_m[col * K + kk];
            end
        end
    endfunction

    gemm_os #(.R(R), .C(C)) dut (
        .clk(clk), .rst_n(rst_n), .in_valid(in_valid), .in_ready(in_ready), .in_last(in_last),
        .in_a(in_a), .in_w(in_w), .fold_done(fold_done),
        .o_valid(o_valid), .o_row(o_row), .o_data(o_data));

    integer nmf, nnf, nk;
    always @(posedge clk) begin
        if (in_valid && in_ready) begin
            nmf = mf;
            nnf = nf;
            nk  = k + 1;
            if (k == K - 1) begin
                nk = 0;
                if (nf == NF - 1) begin
                    nnf = 0;
                    if (mf == MF - 1)
                        driven <= 1'b1;
                    else
                        nmf = mf + 1;
                end else begin
                    nnf = nf + 1;
                end
            end
            mf <= nmf;
            nf <= nnf;
            k  <= nk;
            if (nmf < MF) begin
                in_a <= a_lanes(nmf, nk);
                in_w <= w_lanes(nnf, nk);
            end
        end
    end

    // Monitor: cycle counts and drained tiles.
    integer cyc = 0, t0 = -1, fold0 = -1, tlast = -1, ndone = 0, ndrained = 0;
    integer fmo, fno, j, r, cc;
    always @(posedge clk) begin
        cyc <= cyc + 1;
        if (cyc > WATCHDOG_CYCLES)
            $fatal(1, "FAIL: watchdog after %0d cycles (%0d of %0d folds done)", cyc, ndone, FOLDS);
        if (in_valid && in_ready && t0 < 0)
            t0 <= cyc;
        if (o_valid) begin
            // Rows of the tile committed by the previous fold_done.
            fmo = (ndone - 1) / NF;
            fno = (ndone - 1) % NF;
            r = fmo * R + o_row32;
            for (j = 0; j < C; j = j + 1) begin
                cc = fno * C + j;
                if (r < M && cc < N)
                    c_got[r * N + cc] <= o_data[32*j +: 32];
            end
            ndrained <= ndrained + 1;
        end
        if (fold_done) begin
            if (ndone == 0)
                fold0 <= cyc - t0;
            tlast <= cyc - t0;
            ndone <= ndone + 1;
        end
    end

    string hexdir, vcdfile;
    integer i, errors;
    initial begin
        `TB_PLUSARGS(tb_gemm_layer, "tb_gemm_layer.vcd")
        $readmemh({hexdir, "/a.in.hex"}, a_m);
        $readmemh({hexdir, "/w.in.hex"}, w_m);
        $readmemh({hexdir, "/c.exp.hex"}, c_exp);
        in_a = a_lanes(0, 0);
        in_w = w_lanes(0, 0);
        repeat (3) @(negedge clk);
        rst_n = 1'b1;
        @(negedge clk);
        running = 1'b1;
        wait (ndrained == FOLDS * R);
        @(negedge clk);
        errors = 0;
        for (i = 0; i < M * N; i = i + 1) begin
            if (c_got[i] !== c_exp[i]) begin
                if (errors < MAX_SHOW)
                    $display("MISMATCH index=%0d (m=%0d n=%0d) got=%0d (%h) exp=%0d (%h)", i, i / N, i % N,
                             $signed(c_got[i]), c_got[i], $signed(c_exp[i]), c_exp[i]);
                errors = errors + 1;
            end
        end
        $display("CYCLES: fold=%0d total=%0d (model fold=%0d total=%0d)", fold0, tlast, FOLD_CYCLES, TOTAL_CYCLES);
        if (errors != 0)
            $fatal(1, "FAIL: %0d/%0d mismatches", errors, M * N);
        if (fold0 != FOLD_CYCLES || tlast != TOTAL_CYCLES)
            $fatal(1, "FAIL: latency fold=%0d total=%0d, cycle model fold=%0d total=%0d", fold0, tlast, FOLD_CYCLES, TOTAL_CYCLES);
        $display("PASS: %0d vectors", M * N);
        $finish;
    end
endmodule

`default_nettype wire
