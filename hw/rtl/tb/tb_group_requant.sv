// vimsim self-checking testbench: the group (split-K) requantizer
// (docs/RTL.md §9.3). Streams N_VEC outputs' G partial sums (acc.in.hex,
// line i*G + g = partial sum of group g for output i, int32) with the G
// mantissas (mult.in.hex, 27-bit), and compares the outputs with q.exp.hex
// (OUT_BITS two's complement).
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended.
/* verilator lint_off BLKSEQ */

module tb_group_requant;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer MAX_SHOW = 10;

    `TB_CLOCK

    reg  [31:0]         acc_m [0:N_VEC*G-1];
    reg  [26:0]         m_m   [0:G-1];
    reg  [OUT_BITS-1:0] q_exp [0:N_VEC-1];

    reg                 in_valid = 1'b0;
    reg  [G*32-1:0]     acc_vec = {(G*32){1'b0}};
    reg  [G*27-1:0]     mult_vec = {(G*27){1'b0}};
    wire                out_valid;
    /* verilator lint_off UNUSEDSIGNAL */
    wire                sat;           // event flag, not compared
    /* verilator lint_on UNUSEDSIGNAL */
    wire signed [OUT_BITS-1:0] q;

    group_requant #(.G(G), .OUT_BITS(OUT_BITS)) dut (
        .clk(clk), .rst_n(rst_n), .in_valid(in_valid), .acc_vec(acc_vec), .mult_vec(mult_vec),
        .shift(SHIFT), .zp(ZP), .out_valid(out_valid), .q(q), .sat(sat));

    integer cyc = 0, nout = 0, errors = 0;
    always @(posedge clk) begin
        cyc <= cyc + 1;
        if (cyc > WATCHDOG_CYCLES)
            $fatal(1, "FAIL: watchdog after %0d cycles (%0d of %0d outputs)", cyc, nout, N_VEC);
        if (out_valid) begin
            if (q !== q_exp[nout]) begin
                if (errors < MAX_SHOW)
                    $display("MISMATCH index=%0d got=%0d (%h) exp=%0d (%h)", nout, q, q,
                             $signed(q_exp[nout]), q_exp[nout]);
                errors = errors + 1;
            end
            nout = nout + 1;
        end
    end

    string hexdir, vcdfile;
    integer i, g;
    initial begin
        `TB_PLUSARGS(tb_group_requant, "tb_group_requant.vcd")
        $readmemh({hexdir, "/acc.in.hex"}, acc_m);
        $readmemh({hexdir, "/mult.in.hex"}, m_m);
        $readmemh({hexdir, "/q.exp.hex"}, q_exp);
        for (g = 0; g < G; g = g + 1)
            mult_vec[27*g +: 27] = m_m[g];
        repeat (3) @(negedge clk);
        rst_n = 1'b1;
        for (i = 0; i < N_VEC; i = i + 1) begin
            @(negedge clk);
            in_valid = 1'b1;
            for (g = 0; g < G; g = g + 1)
                acc_vec[32*g +: 32] = acc_m[i * G + g];
        end
        @(negedge clk);
        in_valid = 1'b0;
        wait (nout == N_VEC);
        @(negedge clk);
        `TB_VERDICT(N_VEC)
    end
endmodule

`default_nettype wire
