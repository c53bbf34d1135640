// vimsim reference RTL: the requantizer (docs/RTL.md §4), bit-exact to
// hw/datapath Requantizer.At (DATAPATH.md §3.3):
//
//   a = sat32(acc + bias)                               (ovf when clamped)
//   s = min(mult_shift + tok_shift, 63)                 (>= 1 by construction)
//   q = sat_OUT_BITS(((a * mult_m + 2^(s-1)) >>> s) + zp)   (sat when clamped)
//
// one exact 64-bit product and one rounding, to nearest with ties toward
// +inf. The per-channel constants (bias, multiplier of the channel's group)
// and the per-token group shift are looked up by the caller and presented
// with each accumulator. Three pipeline stages, one result per cycle:
// out_valid follows in_valid by 3 cycles.
`default_nettype none

module requant #(
    parameter integer OUT_BITS = 8   // output width, 2..32
) (
    input  wire                       clk,
    input  wire                       rst_n,
    input  wire                       in_valid,
    input  wire signed [31:0]         acc,
    input  wire signed [31:0]         bias,
    input  wire [30:0]                mult_m,     // mantissa, 0 or [2^30, 2^31)
    input  wire [5:0]                 mult_shift, // 1..63
    input  wire signed [7:0]          tok_shift,  // per-token extra right shift
    input  wire signed [31:0]         zp,
    output reg                        out_valid,
    output reg  signed [OUT_BITS-1:0] q,
    output reg                        sat,
    output reg                        ovf
);
    localparam signed [64:0] QMAX = (65'sd1 <<< (OUT_BITS - 1)) - 65'sd1;
    localparam signed [64:0] QMIN = -(65'sd1 <<< (OUT_BITS - 1));

    // Stage 1: bias add with int32 saturation, total shift.
    wire signed [32:0] sum33 = {acc[31], acc} + {bias[31], bias};
    wire               hi1   = (sum33 > 33'sd2147483647);
    wire               lo1   = (sum33 < -33'sd2147483648);
    wire signed [8:0]  s_sum = $signed({3'b000, mult_shift}) + {tok_shift[7], tok_shift};

    reg               v1, o1;
    reg signed [31:0] a1;
    reg [30:0]        m1;
    reg [5:0]         s1;
    reg signed [31:0] zp1;
    always @(posedge clk) begin
        if (!rst_n) begin
            v1 <= 1'b0;
        end else begin
            v1 <= in_valid;
        end
        a1  <= hi1 ? 32'sh7fffffff : lo1 ? 32'sh80000000 : sum33[31:0];
        o1  <= hi1 | lo1;
        m1  <= mult_m;
        s1  <= (s_sum > 9'sd63) ? 6'd63 : s_sum[5:0];
        zp1 <= zp;
    end

    // Stage 2: the exact product.
    reg               v2, o2;
    reg signed [63:0] p2;
    reg [5:0]         s2;
    reg signed [31:0] zp2;
    always @(posedge clk) begin
        if (!rst_n) begin
            v2 <= 1'b0;
        end else begin
            v2 <= v1;
        end
        p2  <= a1 * $signed({1'b0, m1});
        o2  <= o1;
        s2  <= s1;
        zp2 <= zp1;
    end

    // Stage 3: rounding shift, zero point, saturation.
    wire signed [64:0] p65  = {p2[63], p2};
    wire signed [64:0] zp65 = {{33{zp2[31]}}, zp2};
    wire signed [64:0] half = 65'sd1 <<< (s2 - 6'd1);
    wire signed [64:0] rnd  = (p65 + half) >>> s2;
    wire signed [64:0] v3   = rnd + zp65;
    wire               hi3  = (v3 > QMAX);
    wire               lo3  = (v3 < QMIN);
    always @(posedge clk) begin
        if (!rst_n) begin
            out_valid <= 1'b0;
        end else begin
            out_valid <= v2;
        end
        q   <= hi3 ? QMAX[OUT_BITS-1:0] : lo3 ? QMIN[OUT_BITS-1:0] : v3[OUT_BITS-1:0];
        sat <= hi3 | lo3;
        ovf <= o2;
    end
endmodule

`default_nettype wire
