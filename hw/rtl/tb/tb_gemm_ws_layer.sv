// vimsim self-checking testbench: a whole GEMM C = A * W^T on the gemm_ws
// engine, weight stationary (IS = 0) or input stationary (IS = 1)
// (docs/RTL.md §3.2, §9.3). A (M x K, a.in.hex) and W (N x K, w.in.hex) are
// int8 row-major, C (M x N, c.exp.hex) int32 row-major. The stationary
// matrix S is W (WS) or A (IS), the streamed matrix X the other one (T rows:
// M for WS, N for IS). The testbench visits the SF x KF folds (column fold
// sf outer, K-fold kf inner); a fold is R load beats (beat b = array row
// R-1-b: lane j = S[sf*C + j][kf*R + R-1-b]) and T stream beats (lane i =
// X[x][kf*R + i]), zeros beyond the matrices, in_last on the last. The
// first fold runs back to back, folds 1 .. 8 and the last with pseudo-random
// bubbles (in_valid low, junk on in_a, in_w and in_last), the others back
// to back; during a flush it holds the next beat with in_valid high. It
// adds the partial sums of the K-folds (32-bit, wrapping: the accumulator
// buffer) and checks:
//   - every element of C (WS: row x of the results is C[x][sf*C + j];
//     IS: C[sf*C + j][x]);
//   - each stream beat's partial sums come out R + C - 1 edges after it, in
//     stream order, o_valid low otherwise;
//   - every fold lasts exactly FOLD_CYCLES (2R + C + T - 2) from its first
//     load beat to its fold_done plus its bubbles, with its last results;
//     the folds without bubbles add up to TOTAL_CYCLES (folds x FOLD_CYCLES
//     = hw.ComputeCycles + 1);
//   - fold_done and o_valid are never X, low during reset.
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended,
// junk and random words are used in part.
/* verilator lint_off BLKSEQ */
/* verilator lint_off UNUSEDSIGNAL */

module tb_gemm_ws_layer;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer MAX_SHOW = 10;
    localparam integer FOLDS = SF * KF;
    localparam integer SROWS = (IS != 0) ? M : N;   // rows of the stationary matrix
    localparam integer BEATS = R + T;        // beats per fold
    localparam integer VD = R + C - 1;       // stream beat to its results
    localparam integer WDOG = 2 * WATCHDOG_CYCLES + 100;

    `TB_CLOCK
    `TB_RNG

    reg  signed [7:0] a_m   [0:M*K-1];
    reg  signed [7:0] w_m   [0:N*K-1];
    reg  [31:0]       c_exp [0:M*N-1];
    reg  [31:0]       c_got [0:M*N-1];

    function [7:0] s_at(input integer row, input integer kk);
        s_at = (row < SROWS && kk < K) ? ((IS != 0) ? a_m[row * K + kk] : w_m[row * K + kk]) : 8'h00;
    endfunction
    function [7:0] x_at(input integer row, input integer kk);
        x_at = (kk < K) ? ((IS != 0) ? w_m[row * K + kk] : a_m[row * K + kk]) : 8'h00;
    endfunction
    // Load beat b of fold (sf, kf): array row R-1-b.
    function [C*8-1:0] w_lanes(input integer sf, input integer kf, input integer b);
        integer j;
        begin
            for (j = 0; j < C; j = j + 1)
                w_lanes[8*j +: 8] = s_at(sf * C + j, kf * R + R - 1 - b);
        end
    endfunction
    // Stream beat x of K-fold kf.
    function [R*8-1:0] a_lanes(input integer kf, input integer x);
        integer i;
        begin
            for (i = 0; i < R; i = i + 1)
                a_lanes[8*i +: 8] = x_at(x, kf * R + i);
        end
    endfunction

    // Driver position: fold (sf, kf), beat b; gap = idle cycles before it.
    integer sf = 0, kf = 0, b = 0, gap = 0;
    reg running = 1'b0;
    reg driven  = 1'b0;

    wire             in_ready;
    wire             in_valid = running && !driven && gap == 0;
    reg              in_last = 1'b0;
    reg  [R*8-1:0]   in_a = {(R*8){1'b0}};
    reg  [C*8-1:0]   in_w = {(C*8){1'b0}};
    wire             fold_done, o_valid;
    wire [C*32-1:0]  o_data;

    gemm_ws #(.R(R), .C(C)) dut (
        .clk(clk), .rst_n(rst_n), .in_valid(in_valid), .in_ready(in_ready), .in_last(in_last),
        .in_w(in_w), .in_a(in_a), .fold_done(fold_done), .o_valid(o_valid), .o_data(o_data));

    `TB_GEMM_PUT_JUNK
    task put_beat(input integer fs, input integer fk, input integer bb);
        begin
            if (bb < R) begin
                tb_junk(junk);
                in_w    <= w_lanes(fs, fk, bb);
                in_a    <= junk[R*8-1:0];   // in_a is unused on load beats
                in_last <= junk[R*8];
            end else begin
                tb_junk(junk);
                in_a    <= a_lanes(fk, bb - R);
                in_w    <= junk[C*8-1:0];   // in_w is unused on stream beats
                in_last <= (bb == BEATS - 1);
            end
        end
    endtask

    integer nsf, nkf, nb, g;
    // The beat at the driver's next position (set when a beat is taken).
    task put_next;
        put_beat(nsf, nkf, nb);
    endtask

    always @(posedge clk) begin
        if (rst_n && running && !driven) begin
            if (in_valid && in_ready) begin
                `TB_ADVANCE3(sf, nsf, SF, kf, nkf, KF, b, nb, BEATS)
                sf <= nsf;
                kf <= nkf;
                b  <= nb;
                `TB_BEAT_OR_GAP(!`TB_BUBBLY(nsf * KF + nkf, FOLDS), nsf < SF)
            end
        end
    end

    // Monitor. phase: 0 between folds, 1 taking a fold's beats, 2 after its
    // last beat. Stream beats are queued with their fold and row.
    localparam integer NSB = FOLDS * T;
    integer sb_t [0:NSB-1];
    integer cyc = 0, ndone = 0, nsb = 0, nres = 0, terrors = 0, phase = 0, nbeat = 0;
    integer t_first = 0, bubbles = 0, fold0 = -1, total = 0, idle_between = 0;
    integer fo, xs, so, j, s, idx;
    always @(posedge clk) begin
        `TB_CHECK_BIT(o_valid, "o_valid")
        `TB_CHECK_BIT(fold_done, "fold_done")
        if (cyc > WDOG)
            $fatal(1, "FAIL: watchdog after %0d cycles (%0d of %0d folds done)", cyc, ndone, FOLDS);
        if (o_valid === 1'b1) begin
            if (nres >= nsb)
                $fatal(1, "FAIL: results at cycle %0d without a stream beat", cyc);
            if (cyc != sb_t[nres] + VD) begin
                if (terrors < MAX_SHOW)
                    $display("TIMING results %0d at edge %0d, stream beat at edge %0d: latency %0d, want %0d",
                             nres, cyc, sb_t[nres], cyc - sb_t[nres], VD);
                terrors = terrors + 1;
            end
            fo = nres / T;           // fold of the result
            xs = nres % T;           // streamed row
            so = (fo / KF) * C;      // first stationary row of the fold
            for (j = 0; j < C; j = j + 1) begin
                s = so + j;
                if (s < SROWS) begin
                    idx = (IS != 0) ? s * N + xs : xs * N + s;
                    if (fo % KF == 0)
                        c_got[idx] = o_data[32*j +: 32];
                    else
                        c_got[idx] = c_got[idx] + o_data[32*j +: 32];
                end
            end
            nres = nres + 1;
        end
        if (nres < nsb && cyc > sb_t[nres] + VD) begin
            if (terrors < MAX_SHOW)
                $display("TIMING results %0d missing at edge %0d (stream beat at edge %0d)", nres, cyc, sb_t[nres]);
            terrors = terrors + 1;
            nres = nres + 1;
        end
        `TB_FOLD_DONE(nres == nsb, ", results missing")
        if (rst_n && in_valid && in_ready) begin
            if (phase == 2)
                $fatal(1, "FAIL: beat taken at cycle %0d during a flush", cyc);
            if (phase == 0) begin
                phase = 1;
                t_first = cyc;
                bubbles = 0;
                nbeat = 0;
            end
            if (nbeat >= R) begin
                sb_t[nsb] = cyc;
                nsb = nsb + 1;
                if (in_last)
                    phase = 2;
            end
            nbeat = nbeat + 1;
        end
        `TB_FOLD_IDLE
        cyc = cyc + 1;
    end

    string hexdir, vcdfile;
    integer i, errors, ferrors;
    initial begin
        `TB_PLUSARGS(tb_gemm_ws_layer, "tb_gemm_ws_layer.vcd")
        `TB_GEMM_READ
        // Reset with junk beats offered: ignored.
        `TB_GEMM_RESET_JUNK
        in_w    = w_lanes(0, 0, 0);
        in_a    = {(R*8){1'b0}};
        in_last = 1'b0;
        rst_n   = 1'b1;
        @(negedge clk);
        running = 1'b1;
        wait (ndone == FOLDS);
        repeat (4) @(negedge clk);
        `TB_GEMM_VERDICT
    end
endmodule

`default_nettype wire
