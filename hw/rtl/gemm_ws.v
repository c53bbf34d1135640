// vimsim reference RTL: GEMM engine around the weight-stationary systolic
// array (docs/RTL.md §3.2): the fold controller, the streamed operand's skew
// registers and the valid pipeline of the results. The same engine runs the
// input-stationary dataflow with the operands' roles swapped.
//
// A fold loads an R x C stationary tile and streams T rows through it. The
// driver presents, on one valid/ready interface, first R load beats on
// in_w (the tile's rows, bottom row R-1 first: load beat b is array row
// R-1-b; lane j = column j), then T stream beats on in_a (lane i = element
// k0+i of the streamed row, zeros beyond K), in_last on the last stream
// beat. WS: stationary S[i][j] = W[n0+j][k0+i], streamed row m = A[m][k0..];
// IS: S[i][j] = A[m0+j][k0+i], streamed row n = W[n][k0..]. After the last
// beat in_ready falls for R + C - 2 cycles while the last row crosses the
// array; in the next cycle fold_done is high and the first load beat of the
// next fold is accepted. A fold driven back to back therefore lasts exactly
// 2R + C + T - 2 cycles from its first load beat to its fold_done,
// SCALE-Sim's WS/IS per-fold count, and F folds take F times that
// (hw.ComputeCycles + 1). Bubbles (in_valid low) are legal in both phases:
// zeros enter the array and the fold is delayed.
//
// Results: o_valid marks the partial sums of one streamed row on o_data
// (lane j = column j), in stream order, R + C - 1 cycles after its beat;
// the last row of a fold comes with its fold_done. The partial sums of one
// fold cover its K-tile only: the caller adds the ceil(K/R) K-folds of an
// output tile (the accumulator buffer; SCALE-Sim counts them as ofmap
// writes).
`default_nettype none

module gemm_ws #(
    parameter integer R    = 16,
    parameter integer C    = 16,
    parameter integer AW   = 8,
    parameter integer WW   = 8,
    parameter integer ACCW = 32
) (
    input  wire              clk,
    input  wire              rst_n,
    input  wire              in_valid,
    output wire              in_ready,
    input  wire              in_last,
    input  wire [C*WW-1:0]   in_w,    // load beat: one stationary row
    input  wire [R*AW-1:0]   in_a,    // stream beat: one streamed row, unskewed
    output wire              fold_done,
    output wire              o_valid,
    output wire [C*ACCW-1:0] o_data
);
    localparam integer FLUSH = R + C - 2;             // cycles after the last beat
    localparam integer FB    = $clog2(R + C + 1) + 1; // flush counter width
    localparam integer LB    = $clog2(R + 1) + 1;     // load counter width
    localparam integer VD    = R + C - 1;             // beat to result

    reg          loading;   // the next beat is a load beat
    reg [LB-1:0] loaded;    // load beats of this fold
    reg          flushing;
    reg [FB-1:0] cnt;

    wire flush_done = flushing && (cnt == FLUSH[FB-1:0]);
    assign in_ready  = !flushing || flush_done;
    wire fire        = in_valid && in_ready;
    wire load_fire   = fire && loading;
    wire stream_fire = fire && !loading;
    assign fold_done = flush_done;

    always @(posedge clk) begin
        if (!rst_n) begin
            loading  <= 1'b1;
            loaded   <= {LB{1'b0}};
            flushing <= 1'b0;
            cnt      <= {FB{1'b0}};
        end else begin
            if (flushing && !flush_done)
                cnt <= cnt + 1'b1;
            if (flush_done) begin
                flushing <= 1'b0;
                cnt      <= {FB{1'b0}};
            end
            if (load_fire) begin
                if (loaded == R[LB-1:0] - 1'b1) begin
                    loading <= 1'b0;
                    loaded  <= {LB{1'b0}};
                end else begin
                    loaded <= loaded + 1'b1;
                end
            end
            if (stream_fire && in_last) begin
                loading  <= 1'b1;
                flushing <= 1'b1;
                cnt      <= {FB{1'b0}};
            end
        end
    end

    // Skew of the streamed operand: lane i delayed by i cycles; zeros enter
    // when no stream beat is accepted.
    wire [R*AW-1:0] a_now = stream_fire ? in_a : {(R*AW){1'b0}};
    wire [R*AW-1:0] a_skew;
    skew #(.L(R), .W(AW)) a_sk (.clk(clk), .rst_n(rst_n), .d(a_now), .q(a_skew));

    // Valid pipeline: a stream beat's partial sums are sampled VD edges later.
    reg [VD-1:0] vpipe;
    generate
        if (VD == 1) begin : g_v1
            always @(posedge clk) begin
                if (!rst_n)
                    vpipe <= 1'b0;
                else
                    vpipe <= stream_fire;
            end
        end else begin : g_vn
            always @(posedge clk) begin
                if (!rst_n)
                    vpipe <= {VD{1'b0}};
                else
                    vpipe <= {vpipe[VD-2:0], stream_fire};
            end
        end
    endgenerate
    assign o_valid = vpipe[VD-1];

    systolic_array_ws #(.R(R), .C(C), .AW(AW), .WW(WW), .ACCW(ACCW)) array (
        .clk(clk), .rst_n(rst_n), .w_load(load_fire), .w_in(in_w),
        .a_in(a_skew), .o_data(o_data));
endmodule

`default_nettype wire
