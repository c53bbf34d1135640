// vimsim reference RTL: the residual add (docs/RTL.md §8.4), bit-exact to
// hw/datapath ResidualAdd (DATAPATH.md §10):
//
//   res' = sat32(res + add)        (sat when clamped)
//
// on the int32 residual stream; add is the block's output already brought
// to the residual scale by a 32-bit requantizer. A 33-bit sum and a clamp.
// LANES elements per beat (lane p in bits [p*32 +: 32] of every bus), one
// beat per cycle: out_valid follows in_valid by 1 cycle.
`default_nettype none

module resadd #(
    parameter integer LANES = 1
) (
    input  wire                 clk,
    input  wire                 rst_n,
    input  wire                 in_valid,
    input  wire [LANES*32-1:0]  in_res,   // lane p: residual before the add (int32)
    input  wire [LANES*32-1:0]  in_add,   // lane p: addend                  (int32)
    output reg                  out_valid,
    output reg  [LANES*32-1:0]  out_res,  // lane p: residual after the add  (int32)
    output reg  [LANES-1:0]     out_sat   // lane p: clamped
);
    wire [LANES*32-1:0] r;
    wire [LANES-1:0]    s;

    genvar p;
    generate
        for (p = 0; p < LANES; p = p + 1) begin : lane
            wire signed [31:0] a = in_res[p*32 +: 32];
            wire signed [31:0] b = in_add[p*32 +: 32];
            wire signed [32:0] sum = {a[31], a} + {b[31], b};
            // Out of range exactly when the two top bits differ.
            wire hi = ~sum[32] & sum[31];
            wire lo = sum[32] & ~sum[31];
            assign r[p*32 +: 32] = hi ? 32'h7fffffff : lo ? 32'h80000000 : sum[31:0];
            assign s[p] = hi | lo;
        end
    endgenerate

    always @(posedge clk) begin
        if (!rst_n)
            out_valid <= 1'b0;
        else
            out_valid <= in_valid;
        out_res <= r;
        out_sat <= s;
    end
endmodule

`default_nettype wire
