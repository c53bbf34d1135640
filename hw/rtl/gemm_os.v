// vimsim reference RTL: GEMM engine around the output-stationary systolic
// array (docs/RTL.md §3): input skew registers and the fold controller.
//
// A fold computes an R x C output tile C[m0+i][n0+j] = sum_k A[m0+i][k] *
// W[n0+j][k] over k < T. The driver presents one k per beat, unskewed:
// in_a lane i = A[m0+i][k], in_w lane j = W[n0+j][k] (zeros for rows/columns
// beyond the matrix), in_last on the beat k = T-1. Beats of a fold should be
// back to back (a bubble is legal and only delays the fold). After the last
// beat the engine deasserts in_ready for R + C - 2 cycles while the wavefront
// crosses the array; the next cycle it commits the tile (fold_done, the
// accumulators move to the drain registers) and accepts the first beat of the
// next fold in the same cycle. A fold driven back to back therefore lasts
// exactly T + R + C - 2 cycles from its first beat to its fold_done, and F
// folds take F * (T + R + C - 2) cycles, hw.ComputeCycles' OS count (+1,
// because SCALE-Sim reports the 0-based index of the last cycle).
// Results leave on o_valid/o_row/o_data as in systolic_array_os, R cycles per
// tile, overlapping the next fold.
`default_nettype none

module gemm_os #(
    parameter integer R    = 16,
    parameter integer C    = 16,
    parameter integer AW   = 8,
    parameter integer WW   = 8,
    parameter integer ACCW = 32,
    parameter integer RB   = (R > 1) ? $clog2(R) : 1
) (
    input  wire              clk,
    input  wire              rst_n,
    input  wire              in_valid,
    output wire              in_ready,
    input  wire              in_last,
    input  wire [R*AW-1:0]   in_a,
    input  wire [C*WW-1:0]   in_w,
    output wire              fold_done,
    output wire              o_valid,
    output wire [RB-1:0]     o_row,
    output wire [C*ACCW-1:0] o_data
);
    localparam integer FLUSH = R + C - 2;             // wavefront cycles after the last beat
    localparam integer FB    = $clog2(R + C + 1) + 1; // flush counter width

    // in_fold: a fold has started and its tile is not yet committed.
    // flushing: the last beat was accepted; cnt counts the flush cycles.
    reg          in_fold;
    reg          flushing;
    reg [FB-1:0] cnt;

    wire flush_done = flushing && (cnt == FLUSH[FB-1:0]);
    assign in_ready  = !flushing || flush_done;
    wire fire        = in_valid && in_ready;
    wire start       = fire && (!in_fold || flush_done);
    assign fold_done = flush_done;

    always @(posedge clk) begin
        if (!rst_n) begin
            in_fold  <= 1'b0;
            flushing <= 1'b0;
            cnt      <= {FB{1'b0}};
        end else begin
            if (flush_done) begin
                flushing <= fire && in_last;
                in_fold  <= fire;
                cnt      <= {FB{1'b0}};
            end else if (flushing) begin
                cnt <= cnt + 1'b1;
            end else if (fire) begin
                in_fold <= 1'b1;
                if (in_last) begin
                    flushing <= 1'b1;
                    cnt      <= {FB{1'b0}};
                end
            end
        end
    end

    // Skew: row i is delayed by i cycles, column j by j cycles. Zeros enter
    // when no beat is accepted.
    wire [R*AW-1:0] a_now = fire ? in_a : {(R*AW){1'b0}};
    wire [C*WW-1:0] w_now = fire ? in_w : {(C*WW){1'b0}};
    wire [R*AW-1:0] a_skew;
    wire [C*WW-1:0] w_skew;
    skew #(.L(R), .W(AW)) a_sk (.clk(clk), .rst_n(rst_n), .d(a_now), .q(a_skew));
    skew #(.L(C), .W(WW)) w_sk (.clk(clk), .rst_n(rst_n), .d(w_now), .q(w_skew));

    systolic_array_os #(.R(R), .C(C), .AW(AW), .WW(WW), .ACCW(ACCW), .RB(RB)) array (
        .clk(clk), .rst_n(rst_n), .start(start), .capture(flush_done),
        .a_in(a_skew), .w_in(w_skew),
        .o_valid(o_valid), .o_row(o_row), .o_data(o_data));
endmodule

`default_nettype wire
