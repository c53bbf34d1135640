// vimsim reference RTL: R x C weight-stationary systolic array of int8 MACs
// with int32 partial sums, SCALE-Sim's WS dataflow (docs/RTL.md §2.3,
// hardware.md §1.1-1.2). The same array runs the input-stationary dataflow
// with the operands' roles swapped (docs/RTL.md §3.2).
//
// PE (i, j) holds one stationary operand S[i][j] (WS: the filter element
// W[n0+j][k0+i]; IS: the ifmap element A[m0+j][k0+i]). The stationary tile
// is shifted in from the top, one row per w_load cycle: w_in enters row 0
// and every row passes its value down, so after R load cycles row i holds
// the row loaded at load cycle R-1-i (the bottom row is loaded first).
//
// The streamed operand enters skewed: element k0+i of streamed row m on
// lane i of a_in at cycle c0 + m + i (zeros elsewhere). Operands move one PE
// right per cycle and partial sums one PE down per cycle (zero enters the top
// row), so PE (i, j) adds x[m][k0+i] * S[i][j] at cycle c0 + m + i + j and
// column j's sum over the R rows leaves the bottom row at the edge
// c0 + m + R - 1 + j. A deskew register chain of C-1-j stages aligns the
// columns: o_data (lane j = column j) carries the partial sums of streamed
// row m, sampled at the edge c0 + m + R + C - 1.
//
// With c0 = R (after the R load cycles), a fold of T streamed rows starts
// with its first load at cycle 0 and its last partial sums are sampled at
// the edge 2R + C + T - 2 = SCALE-Sim's per-fold count for WS and IS.
//
// Lane order of the packed buses: lane i occupies bits [W*i +: W].
`default_nettype none

module systolic_array_ws #(
    parameter integer R    = 16,
    parameter integer C    = 16,
    parameter integer AW   = 8,   // streamed operand width
    parameter integer WW   = 8,   // stationary operand width
    parameter integer ACCW = 32   // partial sum width
) (
    input  wire              clk,
    input  wire              rst_n,
    input  wire              w_load,   // shift w_in into row 0, every row down
    input  wire [C*WW-1:0]   w_in,
    input  wire [R*AW-1:0]   a_in,     // skewed streamed operand, lane i = row i
    output wire [C*ACCW-1:0] o_data    // deskewed partial sums, lane j = column j
);
    // a_h[i][j] enters PE (i, j) from the left; p_v[i][j] from above; s_v
    // the stationary operand chain.
    wire [AW-1:0]   a_h [0:R-1][0:C];
    wire [ACCW-1:0] p_v [0:R][0:C-1];
    wire [WW-1:0]   s_v [0:R][0:C-1];

    genvar i, j;
    generate
        for (i = 0; i < R; i = i + 1) begin : g_ain
            assign a_h[i][0] = a_in[AW*i +: AW];
        end
        for (j = 0; j < C; j = j + 1) begin : g_top
            assign p_v[0][j] = {ACCW{1'b0}};
            assign s_v[0][j] = w_in[WW*j +: WW];
        end
        for (i = 0; i < R; i = i + 1) begin : g_row
            for (j = 0; j < C; j = j + 1) begin : g_col
                reg signed [WW-1:0]   s;
                reg signed [AW-1:0]   a;
                reg signed [ACCW-1:0] p;
                wire signed [AW-1:0]     a_cur = a_h[i][j];
                wire signed [AW+WW-1:0]  prod  = a_cur * s;
                wire signed [ACCW-1:0]   prod_x = {{(ACCW-AW-WW){prod[AW+WW-1]}}, prod};
                always @(posedge clk) begin
                    if (!rst_n) begin
                        s <= {WW{1'b0}};
                        a <= {AW{1'b0}};
                        p <= {ACCW{1'b0}};
                    end else begin
                        if (w_load)
                            s <= s_v[i][j];
                        a <= a_cur;
                        p <= p_v[i][j] + prod_x;
                    end
                end
                assign a_h[i][j+1] = a;
                assign p_v[i+1][j] = p;
                assign s_v[i+1][j] = s;
            end
        end
        // Deskew: column j waits C-1-j cycles.
        for (j = 0; j < C; j = j + 1) begin : g_deskew
            if (j == C - 1) begin : g_direct
                assign o_data[ACCW*j +: ACCW] = p_v[R][j];
            end else begin : g_delay
                localparam integer D = C - 1 - j;
                reg [ACCW*D-1:0] line;   // newest in the low bits
                if (D == 1) begin : g_one
                    always @(posedge clk)
                        line <= p_v[R][j];
                end else begin : g_more
                    always @(posedge clk)
                        line <= {line[ACCW*(D-1)-1:0], p_v[R][j]};
                end
                assign o_data[ACCW*j +: ACCW] = line[ACCW*D-1 -: ACCW];
            end
        end
    endgenerate

    // Unused exits: the last column's activations, the bottom row's
    // stationary operands.
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused_exits;
    /* verilator lint_on UNUSEDSIGNAL */
    generate
        if (1) begin : g_unused
            wire [R*AW-1:0] a_last;
            wire [C*WW-1:0] s_last;
            for (i = 0; i < R; i = i + 1) begin : g_a
                assign a_last[AW*i +: AW] = a_h[i][C];
            end
            for (j = 0; j < C; j = j + 1) begin : g_s
                assign s_last[WW*j +: WW] = s_v[R][j];
            end
            assign unused_exits = &{1'b0, a_last, s_last};
        end
    endgenerate
endmodule

`default_nettype wire
