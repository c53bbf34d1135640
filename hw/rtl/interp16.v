// vimsim reference RTL: the interpolated int16 lookup unit (docs/RTL.md §5),
// bit-exact to hw/datapath InterpTable16.Lookup (DATAPATH.md §6.2). With
// S = 16 - TBITS and o = x + 32768 (x with its sign bit inverted):
//
//   j = o >> S,  r = o & (2^S - 1)
//   v = E[j] + ((E[j+1] - E[j]) * r + 2^(S-1)) >>> S      (v = E[j] if r = 0)
//   y = sat_OUT_BITS((v + 2^7) >>> 8)                     (sat when clamped)
//
// E holds 2^TBITS + 1 signed entries of EW bits, written through the load
// port into two copies (the two read ports). Two pipeline stages: out_valid
// follows in_valid by 2 cycles.
`default_nettype none

module interp16 #(
    parameter integer TBITS    = 8,   // table bits, 1..15
    parameter integer OUT_BITS = 16,  // output width, 2..16
    parameter integer EW       = 26   // entry width (|E| < 2^(OUT_BITS+8))
) (
    input  wire                       clk,
    input  wire                       rst_n,
    input  wire                       ld_en,
    input  wire [TBITS:0]             ld_addr,
    input  wire signed [EW-1:0]       ld_data,
    input  wire                       in_valid,
    input  wire signed [15:0]         in_x,
    output reg                        out_valid,
    output reg  signed [OUT_BITS-1:0] out_y,
    output reg                        out_sat
);
    localparam integer S = 16 - TBITS;
    localparam integer NE = (1 << TBITS) + 1;
    localparam signed [EW+S+1:0] HALF = (S > 0) ? ({{(EW+S+1){1'b0}}, 1'b1} <<< (S > 0 ? S - 1 : 0)) : 0;
    localparam signed [EW+S+1:0] QMAX = ({{(EW+S+1){1'b0}}, 1'b1} <<< (OUT_BITS - 1)) - 1'b1;
    localparam signed [EW+S+1:0] QMIN = -({{(EW+S+1){1'b0}}, 1'b1} <<< (OUT_BITS - 1));

    reg signed [EW-1:0] lo_mem [0:NE-1];
    reg signed [EW-1:0] hi_mem [0:NE-1];
    always @(posedge clk) begin
        if (ld_en) begin
            lo_mem[ld_addr] <= ld_data;
            hi_mem[ld_addr] <= ld_data;
        end
    end

    // Stage 1: table reads.
    wire [15:0]      o  = {~in_x[15], in_x[14:0]};
    wire [TBITS-1:0] j  = o[15 -: TBITS];
    wire [TBITS:0]   j1 = {1'b0, j} + 1'b1;
    reg                 v1;
    reg signed [EW-1:0] e0, e1;
    reg [S:0]           r1;   // one spare bit keeps the width positive
    always @(posedge clk) begin
        if (!rst_n)
            v1 <= 1'b0;
        else
            v1 <= in_valid;
        e0 <= lo_mem[{1'b0, j}];
        e1 <= hi_mem[j1];
        r1 <= {1'b0, o[S-1:0]};
    end

    // Stage 2: interpolation and output rounding.
    wire signed [EW:0]      diff = {e1[EW-1], e1} - {e0[EW-1], e0};
    wire signed [EW+S+1:0]  prod = diff * $signed({1'b0, r1});
    wire signed [EW+S+1:0]  frac = (S > 0) ? ((prod + HALF) >>> S) : prod;
    wire signed [EW+S+1:0]  v    = {{(S+2){e0[EW-1]}}, e0} + frac;
    wire signed [EW+S+1:0]  y    = (v + 128) >>> 8;
    wire hi = (y > QMAX);
    wire lo = (y < QMIN);
    always @(posedge clk) begin
        if (!rst_n)
            out_valid <= 1'b0;
        else
            out_valid <= v1;
        out_y   <= hi ? QMAX[OUT_BITS-1:0] : lo ? QMIN[OUT_BITS-1:0] : y[OUT_BITS-1:0];
        out_sat <= hi | lo;
    end
endmodule

`default_nettype wire
