// vimsim self-checking testbench: the requantizer (docs/RTL.md §4.1, §9.3).
// Streams TOKENS x CHANNELS accumulators (acc.in.hex, row-major, one per
// beat) with their channel's bias (bias.in.hex), the multiplier of the
// channel's group (mult_m.in.hex, mult_shift.in.hex, one line per channel)
// and the token's group shift (tok_shift.in.hex, one line per token), with
// pseudo-random bubbles (in_valid low, junk on every input), and compares
// every output with q.exp.hex (OUT_BITS two's complement) and its flags with
// sat.exp.hex and ovf.exp.hex. Checks the documented latency (3: an input
// sampled at rising edge k is sampled at the output at edge k + 3, so one
// result per cycle), that out_valid is never X and low during reset, and
// that nothing comes out that was not put in.
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended,
// junk and random words are used in part.
/* verilator lint_off BLKSEQ */
/* verilator lint_off UNUSEDSIGNAL */

module tb_requant;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer NV = TOKENS * CHANNELS;
    localparam integer LAT = 3;   // docs/RTL.md §4.1
    localparam integer MAX_SHOW = 10;
    localparam integer WDOG = 2 * WATCHDOG_CYCLES + 100;

    `TB_CLOCK
    `TB_RNG

    reg  [31:0]         acc_m   [0:NV-1];
    reg  [31:0]         bias_m  [0:CHANNELS-1];
    reg  [30:0]         mm_m    [0:CHANNELS-1];
    reg  [5:0]          ms_m    [0:CHANNELS-1];
    reg  [7:0]          ts_m    [0:TOKENS-1];
    reg  [OUT_BITS-1:0] q_exp   [0:NV-1];
    reg  [0:0]          s_exp   [0:NV-1];
    reg  [0:0]          o_exp   [0:NV-1];

    reg                 in_valid = 1'b0;
    reg  signed [31:0]  acc = 32'sd0, bias = 32'sd0, zp = 32'sd0;
    reg  [30:0]         mult_m = 31'd0;
    reg  [5:0]          mult_shift = 6'd1;
    reg  signed [7:0]   tok_shift = 8'sd0;
    wire                out_valid, sat, ovf;
    wire signed [OUT_BITS-1:0] q;

    requant #(.OUT_BITS(OUT_BITS)) dut (
        .clk(clk), .rst_n(rst_n), .in_valid(in_valid), .acc(acc), .bias(bias),
        .mult_m(mult_m), .mult_shift(mult_shift), .tok_shift(tok_shift), .zp(zp),
        .out_valid(out_valid), .q(q), .sat(sat), .ovf(ovf));

    integer cyc = 0, nin = 0, nout = 0, errors = 0, ferrors = 0, terrors = 0;
    integer t_in [0:NV-1];   // rising edge that sampled input i
    always @(posedge clk) begin
        `TB_STREAM_IN(nout, NV)
        if (out_valid === 1'b1) begin
            `TB_LATENCY(nout, "index")
            if (q !== q_exp[nout]) begin
                if (errors < MAX_SHOW)
                    $display("MISMATCH index=%0d (token=%0d channel=%0d) got=%0d (%h) exp=%0d (%h)", nout,
                             nout / CHANNELS, nout % CHANNELS, q, q, $signed(q_exp[nout]), q_exp[nout]);
                errors = errors + 1;
            end
            if (sat !== s_exp[nout][0] || ovf !== o_exp[nout][0]) begin
                if (ferrors < MAX_SHOW)
                    $display("FLAG MISMATCH index=%0d (token=%0d channel=%0d) got sat=%b ovf=%b exp sat=%b ovf=%b", nout,
                             nout / CHANNELS, nout % CHANNELS, sat, ovf, s_exp[nout], o_exp[nout]);
                ferrors = ferrors + 1;
            end
            nout = nout + 1;
        end
        cyc = cyc + 1;
    end

    reg [`TB_JUNK_BITS-1:0] junk;
    task drive_junk;
        begin
            tb_junk(junk);
            acc        = junk[31:0];
            bias       = junk[63:32];
            mult_m     = junk[94:64];
            mult_shift = junk[101:96];
            tok_shift  = junk[111:104];
            zp         = junk[159:128];
        end
    endtask

    string hexdir, vcdfile;
    integer i, gap;
    initial begin
        `TB_PLUSARGS(tb_requant, "tb_requant.vcd")
        $readmemh({hexdir, "/acc.in.hex"}, acc_m);
        $readmemh({hexdir, "/bias.in.hex"}, bias_m);
        $readmemh({hexdir, "/mult_m.in.hex"}, mm_m);
        $readmemh({hexdir, "/mult_shift.in.hex"}, ms_m);
        $readmemh({hexdir, "/tok_shift.in.hex"}, ts_m);
        $readmemh({hexdir, "/q.exp.hex"}, q_exp);
        $readmemh({hexdir, "/sat.exp.hex"}, s_exp);
        $readmemh({hexdir, "/ovf.exp.hex"}, o_exp);
        // Reset with in_valid high and junk inputs: ignored.
        `TB_RESET_JUNK
        for (i = 0; i < NV; i = i + 1) begin
            `TB_GAP
            @(negedge clk);
            in_valid   = 1'b1;
            acc        = acc_m[i];
            bias       = bias_m[i % CHANNELS];
            mult_m     = mm_m[i % CHANNELS];
            mult_shift = ms_m[i % CHANNELS];
            tok_shift  = ts_m[i / CHANNELS];
            zp         = ZP;
        end
        `TB_END_STREAM(nout, NV)
    end
endmodule

`default_nettype wire
