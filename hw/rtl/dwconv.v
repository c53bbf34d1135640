// vimsim reference RTL: the depthwise causal convolution (docs/RTL.md §8.2),
// bit-exact to hw/datapath DepthwiseConv (DATAPATH.md §4.5):
//
//   y[t][e] = sum_{k<T} w[e][k] * x[t-T+1+k][e],   x[<0] = 0
//
// int8 x int8 products summed in 32 bits (exact for T <= 131071); the bias is
// added by the requantizer. LANES channels are processed in parallel: a beat
// carries step t of the channel group grp (lane p = channel grp*LANES + p)
// with the group's T taps per lane. Beats are accepted every cycle, t outer,
// groups inner (any group order, but every group's steps in order); first
// marks step 0, whose history reads as zero (the causal padding). The
// history memory holds, per group and lane, the previous T-1 inputs (a
// (T-1)-deep shift register per channel), read asynchronously and written
// back in the beat's cycle, so consecutive beats of one group need no
// bubble. Two pipeline stages (window and taps, then the T-product sum):
// out_valid follows in_valid by 2 cycles; no back-pressure.
`default_nettype none

module dwconv #(
    parameter integer LANES = 16,    // channels per beat
    parameter integer T     = 4,     // taps (kernel size), >= 1
    parameter integer MAXE  = 384,   // channels: ceil(MAXE / LANES) groups of history
    parameter integer WW    = 8,     // tap width: 8 or 4 (int4 taps, DATAPATH.md §15.3)
    parameter integer NG    = (MAXE + LANES - 1) / LANES,
    parameter integer GB    = (NG > 1) ? $clog2(NG) : 1
) (
    input  wire                   clk,
    input  wire                   rst_n,
    input  wire                   in_valid,
    input  wire                   first,   // step t == 0: x[t-1..t-T+1] read as 0
    input  wire [GB-1:0]          grp,     // channel group: lane p = channel grp*LANES + p
    input  wire [LANES*8-1:0]     in_x,    // lane p: x[t][channel]                      (int8)
    input  wire [LANES*T*WW-1:0]  in_w,    // lane p, tap k at [(p*T+k)*WW +: WW]: w[channel][k] (intWW)
    output reg                    out_valid,
    output reg  [LANES*32-1:0]    out_y    // lane p: y[t][channel]                      (int32)
);
    // win: lane p, tap k at [(p*T+k)*8 +: 8] = x[t-T+1+k][channel]; tap T-1
    // is the current input.
    wire [LANES*T*8-1:0] win;

    genvar p, k;
    generate
        if (T > 1) begin : g_hist
            localparam integer HW = LANES * (T - 1) * 8;
            // slot j of lane p at [(p*(T-1)+j)*8 +: 8] = x[t-T+1+j]: slot 0 the
            // oldest, slot T-2 the previous step.
            reg  [HW-1:0] hist [0:NG-1];
            wire [HW-1:0] h = first ? {HW{1'b0}} : hist[grp];
            wire [HW-1:0] h_next;
            for (p = 0; p < LANES; p = p + 1) begin : lane
                for (k = 0; k < T - 1; k = k + 1) begin : slot
                    assign win[(p*T+k)*8 +: 8] = h[(p*(T-1)+k)*8 +: 8];
                    assign h_next[(p*(T-1)+k)*8 +: 8] = win[(p*T+k+1)*8 +: 8];
                end
                assign win[(p*T+T-1)*8 +: 8] = in_x[p*8 +: 8];
            end
            always @(posedge clk) begin
                if (in_valid)
                    hist[grp] <= h_next;
            end
        end else begin : g_nohist
            // One tap: no history; first and grp do not matter.
            wire unused_nohist = &{1'b0, first, grp};
            assign win = in_x;
        end
    endgenerate

    // Stage 1: the window and the taps.
    reg                   v1;
    reg [LANES*T*8-1:0]   win1;
    reg [LANES*T*WW-1:0]  w1;
    always @(posedge clk) begin
        if (!rst_n)
            v1 <= 1'b0;
        else
            v1 <= in_valid;
        win1 <= win;
        w1   <= in_w;
    end

    // Stage 2: per lane, the T products (16 bits) and their sum in 32 bits.
    reg [LANES*32-1:0] sum;
    wire [LANES*T*16-1:0] prod;
    generate
        for (p = 0; p < LANES; p = p + 1) begin : mac
            for (k = 0; k < T; k = k + 1) begin : tap
                wire signed [7:0] xv = win1[(p*T+k)*8 +: 8];
                wire signed [WW-1:0] wv = w1[(p*T+k)*WW +: WW];
                assign prod[(p*T+k)*16 +: 16] = xv * wv;
            end
        end
    endgenerate
    integer i, j;
    reg signed [31:0] acc;
    always @* begin
        sum = {LANES*32{1'b0}};
        for (i = 0; i < LANES; i = i + 1) begin
            acc = 32'sd0;
            for (j = 0; j < T; j = j + 1)
                acc = acc + {{16{prod[(i*T+j)*16+15]}}, prod[(i*T+j)*16 +: 16]};
            sum[i*32 +: 32] = acc;
        end
    end

    always @(posedge clk) begin
        if (!rst_n)
            out_valid <= 1'b0;
        else
            out_valid <= v1;
        out_y <= sum;
    end
endmodule

`default_nettype wire
