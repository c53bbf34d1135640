// vimsim reference RTL: the base-2 exponent unit with an output register
// (docs/RTL.md §6): exp2_core with ZW = 32, the Exp2Unit.Eval semantics
// (saturation to 2^24 - 1 above ZMAX). out_valid follows in_valid by one
// cycle.
`default_nettype none

module exp2_unit #(
    parameter integer TBITS = 7
) (
    input  wire               clk,
    input  wire               rst_n,
    input  wire               ld_en,
    input  wire [TBITS:0]     ld_addr,
    input  wire [31:0]        ld_data,
    input  wire               in_valid,
    input  wire signed [31:0] in_z,
    output reg                out_valid,
    output reg  [31:0]        out_y,
    output reg                out_sat
);
    wire [31:0] y;
    wire        sat;
    exp2_core #(.ZW(32), .TBITS(TBITS), .SAT_MAX(1)) core (
        .clk(clk), .ld_en(ld_en), .ld_addr(ld_addr), .ld_data(ld_data),
        .z(in_z), .y(y), .sat(sat));
    always @(posedge clk) begin
        if (!rst_n)
            out_valid <= 1'b0;
        else
            out_valid <= in_valid;
        out_y   <= y;
        out_sat <= sat;
    end
endmodule

`default_nettype wire
