// vimsim self-checking testbench: the group (split-K) requantizer
// (docs/RTL.md §4.2, §9.3). Streams N_VEC outputs' G partial sums
// (acc.in.hex, line i*G + g = partial sum of group g for output i, int32)
// with the G mantissas (mult.in.hex, 27-bit), the shift and the zero point,
// with pseudo-random bubbles (in_valid low, junk on every input), and
// compares the outputs with q.exp.hex (OUT_BITS two's complement) and the
// saturation flags with sat.exp.hex. Checks the documented latency (3,
// one result per cycle), that out_valid is never X and low during reset,
// and that nothing comes out that was not put in.
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended,
// junk and random words are used in part.
/* verilator lint_off BLKSEQ */
/* verilator lint_off UNUSEDSIGNAL */

module tb_group_requant;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer LAT = 3;   // docs/RTL.md §4.2
    localparam integer MAX_SHOW = 10;
    localparam integer WDOG = 2 * WATCHDOG_CYCLES + 100;

    `TB_CLOCK
    `TB_RNG

    reg  [31:0]         acc_m [0:N_VEC*G-1];
    reg  [26:0]         m_m   [0:G-1];
    reg  [OUT_BITS-1:0] q_exp [0:N_VEC-1];
    reg  [0:0]          s_exp [0:N_VEC-1];

    reg                 in_valid = 1'b0;
    reg  [G*32-1:0]     acc_vec = {(G*32){1'b0}};
    reg  [G*27-1:0]     mult_vec = {(G*27){1'b0}};
    reg  [5:0]          shift = 6'd1;
    reg  signed [31:0]  zp = 32'sd0;
    wire                out_valid, sat;
    wire signed [OUT_BITS-1:0] q;

    group_requant #(.G(G), .OUT_BITS(OUT_BITS)) dut (
        .clk(clk), .rst_n(rst_n), .in_valid(in_valid), .acc_vec(acc_vec), .mult_vec(mult_vec),
        .shift(shift), .zp(zp), .out_valid(out_valid), .q(q), .sat(sat));

    integer cyc = 0, nin = 0, nout = 0, errors = 0, ferrors = 0, terrors = 0;
    integer t_in [0:N_VEC-1];
    always @(posedge clk) begin
        `TB_STREAM_IN(nout, N_VEC)
        if (out_valid === 1'b1) begin
            `TB_LATENCY(nout, "index")
            if (q !== q_exp[nout]) begin
                if (errors < MAX_SHOW)
                    $display("MISMATCH index=%0d got=%0d (%h) exp=%0d (%h)", nout, q, q,
                             $signed(q_exp[nout]), q_exp[nout]);
                errors = errors + 1;
            end
            if (sat !== s_exp[nout][0]) begin
                if (ferrors < MAX_SHOW)
                    $display("FLAG MISMATCH index=%0d got sat=%b exp sat=%b", nout, sat, s_exp[nout]);
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
            acc_vec  = junk[G*32-1:0];
            tb_junk(junk);
            mult_vec = junk[G*27-1:0];
            shift    = junk[37:32];
            zp       = junk[95:64];
        end
    endtask

    string hexdir, vcdfile;
    integer i, g, gap;
    reg [G*32-1:0] a_v;
    reg [G*27-1:0] m_v;
    initial begin
        `TB_PLUSARGS(tb_group_requant, "tb_group_requant.vcd")
        $readmemh({hexdir, "/acc.in.hex"}, acc_m);
        $readmemh({hexdir, "/mult.in.hex"}, m_m);
        $readmemh({hexdir, "/q.exp.hex"}, q_exp);
        $readmemh({hexdir, "/sat.exp.hex"}, s_exp);
        for (g = 0; g < G; g = g + 1)
            m_v[27*g +: 27] = m_m[g];
        `TB_RESET_JUNK
        for (i = 0; i < N_VEC; i = i + 1) begin
            `TB_GAP
            @(negedge clk);
            for (g = 0; g < G; g = g + 1)
                a_v[32*g +: 32] = acc_m[i * G + g];
            // Whole-bus assignments (Verilator 5.006, docs/RTL.md §9.3).
            in_valid = 1'b1;
            acc_vec  = a_v;
            mult_vec = m_v;
            shift    = SHIFT;
            zp       = ZP;
        end
        `TB_END_STREAM(nout, N_VEC)
    end
endmodule

`default_nettype wire
