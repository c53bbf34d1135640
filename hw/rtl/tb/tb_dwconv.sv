// vimsim self-checking testbench: the depthwise causal convolution
// (docs/RTL.md §8.2, §9.3). Streams the L x E int8 input (x.in.hex,
// row-major (step, channel)) to a dwconv of LANES lanes: one beat per step
// and channel group, t outer, group inner, lane p = channel g*LANES + p
// (lanes past E carry zeros), with the group's taps (w.in.hex, E x T int8,
// row-major (channel, tap), tap T-1 on the current step), and compares the
// int32 sums with y.exp.hex (L x E, row-major); padding lanes are not
// compared.
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended.
/* verilator lint_off BLKSEQ */

module tb_dwconv;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer NV = L * E;
    localparam integer NG = (E + LANES - 1) / LANES;
    localparam integer GB = (NG > 1) ? $clog2(NG) : 1;
    localparam integer MAX_SHOW = 10;

    `TB_CLOCK

    reg  [7:0]  x_m   [0:NV-1];
    reg  [7:0]  w_m   [0:E*T-1];
    reg  [31:0] y_exp [0:NV-1];

    reg                  in_valid = 1'b0;
    reg                  first = 1'b0;
    reg  [GB-1:0]        grp = {GB{1'b0}};
    reg  [LANES*8-1:0]   in_x = {(LANES*8){1'b0}};
    reg  [LANES*T*8-1:0] in_w = {(LANES*T*8){1'b0}};
    wire                 out_valid;
    wire [LANES*32-1:0]  out_y;

    dwconv #(.LANES(LANES), .T(T), .MAXE(E)) dut (
        .clk(clk), .rst_n(rst_n), .in_valid(in_valid), .first(first), .grp(grp),
        .in_x(in_x), .in_w(in_w), .out_valid(out_valid), .out_y(out_y));

    integer cyc = 0, nbeat = 0, nout = 0, errors = 0;
    integer op, oc, oi;
    always @(posedge clk) begin
        cyc <= cyc + 1;
        if (cyc > WATCHDOG_CYCLES)
            $fatal(1, "FAIL: watchdog after %0d cycles (%0d of %0d outputs)", cyc, nout, NV);
        if (out_valid) begin
            for (op = 0; op < LANES; op = op + 1) begin
                oc = (nbeat % NG) * LANES + op;
                oi = (nbeat / NG) * E + oc;
                if (oc < E) begin
                    if (out_y[op*32 +: 32] !== y_exp[oi]) begin
                        if (errors < MAX_SHOW)
                            $display("MISMATCH index=%0d (step=%0d channel=%0d lane=%0d) got=%0d (%h) exp=%0d (%h)", oi,
                                     oi / E, oc, op, $signed(out_y[op*32 +: 32]), out_y[op*32 +: 32],
                                     $signed(y_exp[oi]), y_exp[oi]);
                        errors = errors + 1;
                    end
                    nout = nout + 1;
                end
            end
            nbeat = nbeat + 1;
        end
    end

    string hexdir, vcdfile;
    integer t, g, p, k, ch;
    reg [LANES*8-1:0]   x_v;
    reg [LANES*T*8-1:0] w_v;
    initial begin
        `TB_PLUSARGS(tb_dwconv, "tb_dwconv.vcd")
        $readmemh({hexdir, "/x.in.hex"}, x_m);
        $readmemh({hexdir, "/w.in.hex"}, w_m);
        $readmemh({hexdir, "/y.exp.hex"}, y_exp);
        repeat (3) @(negedge clk);
        rst_n = 1'b1;
        for (t = 0; t < L; t = t + 1) begin
            for (g = 0; g < NG; g = g + 1) begin
                @(negedge clk);
                in_valid = 1'b1;
                first    = (t == 0);
                grp      = g[GB-1:0];
                for (p = 0; p < LANES; p = p + 1) begin
                    ch = g * LANES + p;
                    x_v[p*8 +: 8] = (ch < E) ? x_m[t * E + ch] : 8'h00;
                    for (k = 0; k < T; k = k + 1)
                        w_v[(p*T+k)*8 +: 8] = (ch < E) ? w_m[ch * T + k] : 8'h00;
                end
                // Whole-bus assignments: Verilator 5.006 does not propagate
                // variable-indexed part-select writes to the DUT's inputs.
                in_x = x_v;
                in_w = w_v;
            end
        end
        @(negedge clk);
        in_valid = 1'b0;
        wait (nout == NV);
        @(negedge clk);
        `TB_VERDICT(NV)
    end
endmodule

`default_nettype wire
