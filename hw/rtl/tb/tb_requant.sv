// vimsim self-checking testbench: the requantizer (docs/RTL.md §9.3).
// Streams TOKENS x CHANNELS accumulators (acc.in.hex, row-major, one per
// cycle) with their channel's bias (bias.in.hex), the multiplier of the
// channel's group (mult_m.in.hex, mult_shift.in.hex, one line per channel)
// and the token's group shift (tok_shift.in.hex, one line per token), and
// compares the outputs with q.exp.hex (OUT_BITS two's complement).
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended.
/* verilator lint_off BLKSEQ */

module tb_requant;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer NV = TOKENS * CHANNELS;
    localparam integer MAX_SHOW = 10;

    `TB_CLOCK

    reg  [31:0]         acc_m   [0:NV-1];
    reg  [31:0]         bias_m  [0:CHANNELS-1];
    reg  [30:0]         mm_m    [0:CHANNELS-1];
    reg  [5:0]          ms_m    [0:CHANNELS-1];
    reg  [7:0]          ts_m    [0:TOKENS-1];
    reg  [OUT_BITS-1:0] q_exp   [0:NV-1];

    reg                 in_valid = 1'b0;
    reg  signed [31:0]  acc = 32'sd0, bias = 32'sd0;
    reg  [30:0]         mult_m = 31'd0;
    reg  [5:0]          mult_shift = 6'd1;
    reg  signed [7:0]   tok_shift = 8'sd0;
    wire                out_valid;
    /* verilator lint_off UNUSEDSIGNAL */
    wire                sat, ovf;      // event flags, not compared
    /* verilator lint_on UNUSEDSIGNAL */
    wire signed [OUT_BITS-1:0] q;

    requant #(.OUT_BITS(OUT_BITS)) dut (
        .clk(clk), .rst_n(rst_n), .in_valid(in_valid), .acc(acc), .bias(bias),
        .mult_m(mult_m), .mult_shift(mult_shift), .tok_shift(tok_shift), .zp(ZP),
        .out_valid(out_valid), .q(q), .sat(sat), .ovf(ovf));

    integer cyc = 0, nout = 0, errors = 0;
    always @(posedge clk) begin
        cyc <= cyc + 1;
        if (cyc > WATCHDOG_CYCLES)
            $fatal(1, "FAIL: watchdog after %0d cycles (%0d of %0d outputs)", cyc, nout, NV);
        if (out_valid) begin
            if (q !== q_exp[nout]) begin
                if (errors < MAX_SHOW)
                    $display("MISMATCH index=%0d (token=%0d channel=%0d) got=%0d (%h) exp=%0d (%h)", nout,
                             nout / CHANNELS, nout % CHANNELS, q, q, $signed(q_exp[nout]), q_exp[nout]);
                errors = errors + 1;
            end
            nout = nout + 1;
        end
    end

    string hexdir, vcdfile;
    integer i;
    initial begin
        `TB_PLUSARGS(tb_requant, "tb_requant.vcd")
        $readmemh({hexdir, "/acc.in.hex"}, acc_m);
        $readmemh({hexdir, "/bias.in.hex"}, bias_m);
        $readmemh({hexdir, "/mult_m.in.hex"}, mm_m);
        $readmemh({hexdir, "/mult_shift.in.hex"}, ms_m);
        $readmemh({hexdir, "/tok_shift.in.hex"}, ts_m);
        $readmemh({hexdir, "/q.exp.hex"}, q_exp);
        repeat (3) @(negedge clk);
        rst_n = 1'b1;
        for (i = 0; i < NV; i = i + 1) begin
            @(negedge clk);
            in_valid   = 1'b1;
            acc        = acc_m[i];
            bias       = bias_m[i % CHANNELS];
            mult_m     = mm_m[i % CHANNELS];
            mult_shift = ms_m[i % CHANNELS];
            tok_shift  = ts_m[i / CHANNELS];
        end
        @(negedge clk);
        in_valid = 1'b0;
        wait (nout == NV);
        @(negedge clk);
        `TB_VERDICT(NV)
    end
endmodule

`default_nettype wire
