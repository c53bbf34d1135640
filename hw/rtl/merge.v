// vimsim reference RTL: the direction merge (docs/RTL.md §8.3), bit-exact to
// hw/datapath Merge (DATAPATH.md §9):
//
//   m = sat8((f + b + 2^GATE_FRAC) >>> (GATE_FRAC + 1))    (sat when clamped)
//
// f and b are the gated int16 outputs of the forward and backward directions
// (both at s_m * 2^-GATE_FRAC, the backward one flipped back to token
// order); the halving of the sum and the removal of the GATE_FRAC fraction
// bits are one rounding, to nearest with ties toward +inf. f + b + 2^GATE_FRAC
// needs 18 bits; with GATE_FRAC = 7 (the datapath's) the rounded value lies
// in [-256, 256] and saturates on both sides, GATE_FRAC = 8 gives
// [-128, 128]. LANES elements per beat (lane p in bits [p*W +: W] of every
// bus), one beat per cycle: out_valid follows in_valid by 1 cycle.
`default_nettype none

module merge #(
    parameter integer LANES     = 1,
    parameter integer GATE_FRAC = 7    // 1..8
) (
    input  wire                 clk,
    input  wire                 rst_n,
    input  wire                 in_valid,
    input  wire [LANES*16-1:0]  in_f,     // lane p: forward gated output   (int16)
    input  wire [LANES*16-1:0]  in_b,     // lane p: backward gated output  (int16)
    output reg                  out_valid,
    output reg  [LANES*8-1:0]   out_m,    // lane p: merged value           (int8)
    output reg  [LANES-1:0]     out_sat   // lane p: clamped
);
    localparam integer RW = 17 - GATE_FRAC;           // width of the rounded sum
    localparam signed [RW-1:0] MAXV = 127;
    localparam signed [RW-1:0] MINV = -128;
    localparam signed [17:0]   HALF = 18'sd1 <<< GATE_FRAC;

    wire [LANES*8-1:0] m;
    wire [LANES-1:0]   s;

    genvar p;
    generate
        for (p = 0; p < LANES; p = p + 1) begin : lane
            wire signed [15:0]   f = in_f[p*16 +: 16];
            wire signed [15:0]   b = in_b[p*16 +: 16];
            wire signed [17:0]   sum = {{2{f[15]}}, f} + {{2{b[15]}}, b} + HALF;
            wire signed [RW-1:0] r = sum[17:GATE_FRAC+1];   // (f + b + 2^GATE_FRAC) >>> (GATE_FRAC + 1)
            wire hi = (r > MAXV);
            wire lo = (r < MINV);
            assign m[p*8 +: 8] = hi ? 8'h7f : lo ? 8'h80 : r[7:0];
            assign s[p] = hi | lo;
            wire unused_low = &{1'b0, sum[GATE_FRAC:0]};
        end
    endgenerate

    always @(posedge clk) begin
        if (!rst_n)
            out_valid <= 1'b0;
        else
            out_valid <= in_valid;
        out_m   <= m;
        out_sat <= s;
    end
endmodule

`default_nettype wire
