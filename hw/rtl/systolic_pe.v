// vimsim reference RTL: one processing element of the output-stationary
// systolic array (docs/RTL.md §2).
//
// Every cycle the PE multiplies the int8 ifmap operand arriving from its left
// neighbour with the int8 filter operand arriving from above, adds the product
// to its 32-bit two's-complement accumulator (wrapping, as the Go GEMM), and
// forwards both operands, registered, to its right and lower neighbours.
// start restarts the accumulation: the accumulator takes the product alone.
`default_nettype none

module systolic_pe #(
    parameter integer AW   = 8,   // ifmap operand width
    parameter integer WW   = 8,   // filter operand width
    parameter integer ACCW = 32   // accumulator width
) (
    input  wire                   clk,
    input  wire                   rst_n,
    input  wire                   start,
    input  wire signed [AW-1:0]   a_in,
    input  wire signed [WW-1:0]   w_in,
    output reg  signed [AW-1:0]   a_out,
    output reg  signed [WW-1:0]   w_out,
    output reg  signed [ACCW-1:0] acc
);
    wire signed [AW+WW-1:0] prod = a_in * w_in;
    wire signed [ACCW-1:0]  prod_x = {{(ACCW-AW-WW){prod[AW+WW-1]}}, prod};

    always @(posedge clk) begin
        if (!rst_n) begin
            a_out <= {AW{1'b0}};
            w_out <= {WW{1'b0}};
            acc   <= {ACCW{1'b0}};
        end else begin
            a_out <= a_in;
            w_out <= w_in;
            acc   <= start ? prod_x : acc + prod_x;
        end
    end
endmodule

`default_nettype wire
