// vimsim reference RTL: the group (split-K) requantizer (docs/RTL.md §4),
// bit-exact to hw/datapath RequantizeGroups (DATAPATH.md §3.4). A GEMM
// whose K inputs fall into G groups of different scales keeps one int32
// partial sum per group; this unit combines them with one rounding:
//
//   s = sum_g acc_g * mult_g                  (exact, |s| < 2^62)
//   q = sat_OUT_BITS(((s + 2^(shift-1)) >>> shift) + zp)   (sat when clamped)
//
// mult_g are unsigned 27-bit mantissas, shift in [1, 62]. Lane order: group
// g in bits [32g +: 32] of acc_vec and [27g +: 27] of mult_vec. Three
// pipeline stages, one result per cycle: out_valid follows in_valid by 3.
`default_nettype none

module group_requant #(
    parameter integer G        = 4,   // groups, 1..16
    parameter integer OUT_BITS = 8    // output width, 2..32
) (
    input  wire                       clk,
    input  wire                       rst_n,
    input  wire                       in_valid,
    input  wire [G*32-1:0]            acc_vec,
    input  wire [G*27-1:0]            mult_vec,
    input  wire [5:0]                 shift,
    input  wire signed [31:0]         zp,
    output reg                        out_valid,
    output reg  signed [OUT_BITS-1:0] q,
    output reg                        sat
);
    localparam signed [64:0] QMAX = (65'sd1 <<< (OUT_BITS - 1)) - 65'sd1;
    localparam signed [64:0] QMIN = -(65'sd1 <<< (OUT_BITS - 1));

    // Stage 1: the G products.
    reg               v1;
    reg [G*59-1:0]    p1;   // product g in bits [59g +: 59], signed
    reg [5:0]         s1;
    reg signed [31:0] zp1;
    genvar g;
    generate
        for (g = 0; g < G; g = g + 1) begin : g_mul
            wire signed [31:0] a = acc_vec[32*g +: 32];
            wire signed [27:0] m = {1'b0, mult_vec[27*g +: 27]};
            wire signed [58:0] p = a * m;
            always @(posedge clk)
                p1[59*g +: 59] <= p;
        end
    endgenerate
    always @(posedge clk) begin
        if (!rst_n)
            v1 <= 1'b0;
        else
            v1 <= in_valid;
        s1  <= shift;
        zp1 <= zp;
    end

    // Stage 2: the sum.
    reg               v2;
    reg signed [64:0] sum2;
    reg [5:0]         s2;
    reg signed [31:0] zp2;
    reg signed [64:0] acc_sum;
    integer i;
    always @(*) begin
        acc_sum = 65'sd0;
        for (i = 0; i < G; i = i + 1)
            acc_sum = acc_sum + {{6{p1[59*i+58]}}, p1[59*i +: 59]};
    end
    always @(posedge clk) begin
        if (!rst_n)
            v2 <= 1'b0;
        else
            v2 <= v1;
        sum2 <= acc_sum;
        s2   <= s1;
        zp2  <= zp1;
    end

    // Stage 3: rounding shift, zero point, saturation.
    wire signed [64:0] half = 65'sd1 <<< (s2 - 6'd1);
    wire signed [64:0] rnd  = (sum2 + half) >>> s2;
    wire signed [64:0] v3   = rnd + {{33{zp2[31]}}, zp2};
    wire               hi3  = (v3 > QMAX);
    wire               lo3  = (v3 < QMIN);
    always @(posedge clk) begin
        if (!rst_n)
            out_valid <= 1'b0;
        else
            out_valid <= v2;
        q   <= hi3 ? QMAX[OUT_BITS-1:0] : lo3 ? QMIN[OUT_BITS-1:0] : v3[OUT_BITS-1:0];
        sat <= hi3 | lo3;
    end
endmodule

`default_nettype wire
