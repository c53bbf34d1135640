// vimsim reference RTL: the input skew of a systolic array (docs/RTL.md §3):
// lane i of the L-lane bus is delayed by i cycles (lane 0 passes through),
// so that an unskewed beat enters the array as the diagonal wavefront the
// PEs expect. The registers reset to zero.
`default_nettype none

module skew #(
    parameter integer L = 16,   // lanes
    parameter integer W = 8     // lane width
) (
    input  wire           clk,
    input  wire           rst_n,
    input  wire [L*W-1:0] d,
    output wire [L*W-1:0] q
);
    genvar i;
    generate
        if (L == 1) begin : g_wire
            wire unused_clk = &{1'b0, clk, rst_n};   // one lane: no register
        end
        for (i = 0; i < L; i = i + 1) begin : g_lane
            if (i == 0) begin : g_direct
                assign q[0 +: W] = d[0 +: W];
            end else if (i == 1) begin : g_one
                reg [W-1:0] line;
                always @(posedge clk) begin
                    if (!rst_n)
                        line <= {W{1'b0}};
                    else
                        line <= d[W +: W];
                end
                assign q[W +: W] = line;
            end else begin : g_delay
                // i-stage shift register, newest value in the low bits.
                reg [W*i-1:0] line;
                always @(posedge clk) begin
                    if (!rst_n)
                        line <= {(W*i){1'b0}};
                    else
                        line <= {line[W*(i-1)-1:0], d[W*i +: W]};
                end
                assign q[W*i +: W] = line[W*i-1 -: W];
            end
        end
    endgenerate
endmodule

`default_nettype wire
