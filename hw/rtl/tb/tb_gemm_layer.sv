// vimsim self-checking testbench: a whole GEMM C = A * W^T on the gemm_os
// engine (docs/RTL.md §3.1, §9.3). A (M x K, a.in.hex) and W (N x K,
// w.in.hex, the PyTorch Linear layout) are int8 row-major, C (M x N,
// c.exp.hex) int32 row-major. The testbench visits the MF x NF output tiles
// (m outer, n inner) and feeds each tile's K beats (lane i of in_a =
// A[mf*R + i][k], lane j of in_w = W[nf*C + j][k], zeros beyond M and N),
// the first fold back to back, folds 1 .. 8 and the last with pseudo-random
// bubbles (in_valid low, junk on in_a, in_w and in_last) inside and before
// them, the others back to back; during a flush it holds the next beat with
// in_valid high. It checks:
//   - every element of C (the drained tiles, placed in the documented drain
//     order: the R cycles after a fold_done carry rows R-1 .. 0, o_row
//     naming them, o_valid low at every other cycle);
//   - every fold lasts exactly FOLD_CYCLES (K + R + C - 2) from its first
//     beat to its fold_done plus its bubbles; the first fold has none, and
//     the folds' durations without bubbles add up to TOTAL_CYCLES
//     (folds x FOLD_CYCLES = hw.ComputeCycles + 1);
//   - fold_done and o_valid are never X, low during reset.
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended,
// junk and random words are used in part.
/* verilator lint_off BLKSEQ */
/* verilator lint_off UNUSEDSIGNAL */

module tb_gemm_layer;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer RB = (R > 1) ? $clog2(R) : 1;
`ifdef VIMSIM_WBITS
    localparam integer WBITS = `VIMSIM_WBITS;  // weight width of the PEs (DATAPATH.md §15.3)
`else
    localparam integer WBITS = 8;
`endif
    localparam integer MAX_SHOW = 10;
    localparam integer FOLDS = MF * NF;
    localparam integer WDOG = 2 * WATCHDOG_CYCLES + 100;

    `TB_CLOCK
    `TB_RNG

    reg  signed [7:0] a_m   [0:M*K-1];
    reg  signed [7:0] w_m   [0:N*K-1];
    reg  [31:0]       c_exp [0:M*N-1];
    reg  [31:0]       c_got [0:M*N-1];

    // Driver position: fold (mf, nf), depth k; gap = idle cycles left
    // before the beat at that position. The lanes are loaded by the clocked
    // driver, not by an always @* block, which simulators would make
    // sensitive to every word of the operand memories.
    integer mf = 0, nf = 0, k = 0, gap = 0;
    reg running = 1'b0;
    reg driven  = 1'b0;

    wire             in_ready;
    wire             in_valid = running && !driven && gap == 0;
    reg              in_last = 1'b0;
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

    // The weight files hold 8-bit words; the PEs take their low WBITS bits.
    `TB_NARROW(in_w_n, in_w, C, WBITS)

    gemm_os #(.R(R), .C(C), .WW(WBITS)) dut (
        .clk(clk), .rst_n(rst_n), .in_valid(in_valid), .in_ready(in_ready), .in_last(in_last),
        .in_a(in_a), .in_w(in_w_n), .fold_done(fold_done),
        .o_valid(o_valid), .o_row(o_row), .o_data(o_data));

    `TB_GEMM_PUT_JUNK
    // Present the beat at (fm, fn, kk).
    task put_beat(input integer fm, input integer fn, input integer kk);
        begin
            in_a    <= a_lanes(fm, kk);
            in_w    <= w_lanes(fn, kk);
            in_last <= (kk == K - 1);
        end
    endtask

    integer nmf, nnf, nk, g;
    // The beat at the driver's next position (set when a beat is taken).
    task put_next;
        put_beat(nmf, nnf, nk);
    endtask

    always @(posedge clk) begin
        if (rst_n && running && !driven) begin
            if (in_valid && in_ready) begin
                `TB_ADVANCE3(mf, nmf, MF, nf, nnf, NF, k, nk, K)
                mf <= nmf;
                nf <= nnf;
                k  <= nk;
                `TB_BEAT_OR_GAP(!`TB_BUBBLY(nmf * NF + nnf, FOLDS), nmf < MF)
            end
        end
    end

    // Monitor: per-fold cycle counts, drain order, drained tiles. phase:
    // 0 between folds, 1 taking a fold's beats, 2 after its last beat.
    integer cyc = 0, ndone = 0, ndrained = 0, drain_left = 0, terrors = 0, phase = 0;
    integer t_first = 0, bubbles = 0, fold0 = -1, total = 0, idle_between = 0;
    integer fmo, fno, j, r, cc, erow;
    always @(posedge clk) begin
        `TB_CHECK_BIT(o_valid, "o_valid")
        `TB_CHECK_BIT(fold_done, "fold_done")
        if (cyc > WDOG)
            $fatal(1, "FAIL: watchdog after %0d cycles (%0d of %0d folds done)", cyc, ndone, FOLDS);
        // Drain: rows R-1 .. 0 in the R cycles after a fold_done.
        if (cyc > 0 && o_valid !== (drain_left > 0)) begin
            if (terrors < MAX_SHOW)
                $display("TIMING o_valid=%b at edge %0d, want %b (drain of fold %0d)", o_valid, cyc, drain_left > 0, ndone - 1);
            terrors = terrors + 1;
        end
        if (drain_left > 0) begin
            erow = drain_left - 1;   // R-1 first
            if (o_row32 != erow) begin
                if (terrors < MAX_SHOW)
                    $display("DRAIN fold=%0d edge %0d: o_row=%0d, want row %0d (bottom row first)", ndone - 1, cyc, o_row32, erow);
                terrors = terrors + 1;
            end
            fmo = (ndone - 1) / NF;
            fno = (ndone - 1) % NF;
            r = fmo * R + erow;
            for (j = 0; j < C; j = j + 1) begin
                cc = fno * C + j;
                if (r < M && cc < N)
                    c_got[r * N + cc] = o_data[32*j +: 32];
            end
            ndrained = ndrained + 1;
            drain_left = drain_left - 1;
        end
        `TB_FOLD_DONE(1'b1, "")
        if (fold_done === 1'b1)
            drain_left = R;
        if (rst_n && in_valid && in_ready) begin
            if (phase == 2)
                $fatal(1, "FAIL: beat taken at cycle %0d during a flush", cyc);
            if (phase == 0) begin
                phase = 1;
                t_first = cyc;
                bubbles = 0;
            end
            if (in_last)
                phase = 2;
        end
        `TB_FOLD_IDLE
        cyc = cyc + 1;
    end

    string hexdir, vcdfile;
    integer i, errors, ferrors;
    initial begin
        `TB_PLUSARGS(tb_gemm_layer, "tb_gemm_layer.vcd")
        `TB_GEMM_READ
        // Reset with junk beats offered: ignored.
        `TB_GEMM_RESET_JUNK
        in_a    = a_lanes(0, 0);
        in_w    = w_lanes(0, 0);
        in_last = (K == 1);
        rst_n   = 1'b1;
        @(negedge clk);
        running = 1'b1;
        wait (ndrained == FOLDS * R);
        repeat (R + 2) @(negedge clk);
        `TB_GEMM_VERDICT
    end
endmodule

`default_nettype wire
