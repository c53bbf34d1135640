// vimsim reference RTL: R x C output-stationary systolic array of int8 MACs
// with int32 accumulators, SCALE-Sim's OS dataflow (docs/RTL.md §2,
// hardware.md §1.1-1.2).
//
// Operands enter skewed: row i of the ifmap tile enters column 0 on lane i,
// element k at fold cycle k + i; column j of the filter tile enters row 0 on
// lane j, element k at fold cycle k + j; zeros elsewhere. PE (i, j) then
// multiplies A[i][k] by W[j][k] at fold cycle k + i + j, so the last product
// of a fold of depth T happens at cycle T + R + C - 3 and a fold takes
// T + R + C - 2 cycles, SCALE-Sim's per-fold count.
//
// start (cycle 0 of a fold, broadcast) restarts every accumulator; at that
// cycle every PE but (0, 0) sees the zero padding of the previous fold.
// capture (the cycle after a fold's last product, i.e. cycle 0 of the next
// fold, or alone after the last fold) copies the R x C accumulators into the
// drain registers, which then shift out one row per cycle on o_data, the
// bottom row (R-1) first: o_valid is high for R cycles and o_row names the
// row. The drain of fold f overlaps fold f+1, which lasts at least R cycles.
//
// Lane order of the packed buses: lane i occupies bits [W*i +: W].
`default_nettype none

module systolic_array_os #(
    parameter integer R    = 16,
    parameter integer C    = 16,
    parameter integer AW   = 8,
    parameter integer WW   = 8,
    parameter integer ACCW = 32,
    parameter integer RB   = (R > 1) ? $clog2(R) : 1
) (
    input  wire              clk,
    input  wire              rst_n,
    input  wire              start,
    input  wire              capture,
    input  wire [R*AW-1:0]   a_in,
    input  wire [C*WW-1:0]   w_in,
    output wire              o_valid,
    output wire [RB-1:0]     o_row,
    output wire [C*ACCW-1:0] o_data
);
    // Operand wires between PEs: a_h[i][j] enters PE (i, j) from the left,
    // w_v[i][j] from above; column C and row R are the unused exits.
    wire [AW-1:0]   a_h [0:R-1][0:C];
    wire [WW-1:0]   w_v [0:R][0:C-1];
    wire [ACCW-1:0] acc [0:R-1][0:C-1];
    /* verilator lint_off UNUSEDSIGNAL */
    wire [ACCW-1:0] drain [0:R-1][0:C-1];   // drain register of PE (i, j); unread when R = 1
    /* verilator lint_on UNUSEDSIGNAL */
    reg  [RB:0]     left;   // drain rows still to emit

    genvar i, j;
    generate
        for (i = 0; i < R; i = i + 1) begin : g_ain
            assign a_h[i][0] = a_in[AW*i +: AW];
        end
        for (j = 0; j < C; j = j + 1) begin : g_win
            assign w_v[0][j] = w_in[WW*j +: WW];
        end
        for (i = 0; i < R; i = i + 1) begin : g_row
            for (j = 0; j < C; j = j + 1) begin : g_col
                systolic_pe #(.AW(AW), .WW(WW), .ACCW(ACCW)) pe (
                    .clk(clk), .rst_n(rst_n), .start(start),
                    .a_in(a_h[i][j]), .w_in(w_v[i][j]),
                    .a_out(a_h[i][j+1]), .w_out(w_v[i+1][j]),
                    .acc(acc[i][j]));
                // Drain chain: capture loads, otherwise shift down a row.
                reg [ACCW-1:0] dr;
                wire [ACCW-1:0] above;
                if (i > 0) begin : g_above
                    assign above = drain[i-1][j];
                end else begin : g_top
                    assign above = {ACCW{1'b0}};
                end
                always @(posedge clk) begin
                    if (capture)
                        dr <= acc[i][j];
                    else
                        dr <= above;
                end
                assign drain[i][j] = dr;
                if (i == R - 1) begin : g_out
                    assign o_data[ACCW*j +: ACCW] = dr;
                end
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (!rst_n)
            left <= {(RB+1){1'b0}};
        else if (capture)
            left <= R[RB:0];
        else if (left != {(RB+1){1'b0}})
            left <= left - 1'b1;
    end
    assign o_valid = (left != {(RB+1){1'b0}});
    // Row emitted now: R-1 when left = R, down to 0 when left = 1 (mod 2^RB).
    assign o_row = left[RB-1:0] - 1'b1;
endmodule

`default_nettype wire
