// vimsim self-checking testbench: the direction merge (docs/RTL.md §8.3,
// §9.3). Streams TOKENS x CHANNELS pairs of gated int16 outputs (fwd.in.hex,
// bwd.in.hex, row-major (token, channel), the backward one in original token
// order) to a merge of LANES lanes, LANES consecutive elements per beat
// (lane p = element b*LANES + p; lanes past the end carry zeros), and
// compares the int8 results with m.exp.hex and the saturation flags with
// sat.exp.hex (1 bit); padding lanes are not compared.
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended.
/* verilator lint_off BLKSEQ */

module tb_merge;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer NV = TOKENS * CHANNELS;
    localparam integer NB = (NV + LANES - 1) / LANES;
    localparam integer MAX_SHOW = 10;

    `TB_CLOCK

    reg  [15:0] f_m   [0:NV-1];
    reg  [15:0] b_m   [0:NV-1];
    reg  [7:0]  m_exp [0:NV-1];
    reg  [0:0]  s_exp [0:NV-1];

    reg                 in_valid = 1'b0;
    reg  [LANES*16-1:0] in_f = {(LANES*16){1'b0}};
    reg  [LANES*16-1:0] in_b = {(LANES*16){1'b0}};
    wire                out_valid;
    wire [LANES*8-1:0]  out_m;
    wire [LANES-1:0]    out_sat;

    merge #(.LANES(LANES), .GATE_FRAC(GATE_FRAC)) dut (
        .clk(clk), .rst_n(rst_n), .in_valid(in_valid), .in_f(in_f), .in_b(in_b),
        .out_valid(out_valid), .out_m(out_m), .out_sat(out_sat));

    integer cyc = 0, nbeat = 0, nout = 0, errors = 0;
    integer op, oi;
    always @(posedge clk) begin
        cyc <= cyc + 1;
        if (cyc > WATCHDOG_CYCLES)
            $fatal(1, "FAIL: watchdog after %0d cycles (%0d of %0d outputs)", cyc, nout, NV);
        if (out_valid) begin
            for (op = 0; op < LANES; op = op + 1) begin
                oi = nbeat * LANES + op;
                if (oi < NV) begin
                    if (out_m[op*8 +: 8] !== m_exp[oi] || out_sat[op] !== s_exp[oi][0]) begin
                        if (errors < MAX_SHOW)
                            $display("MISMATCH index=%0d (token=%0d channel=%0d) f=%0d b=%0d got=%0d sat=%0d (%h) exp=%0d sat=%0d (%h)",
                                     oi, oi / CHANNELS, oi % CHANNELS, $signed(f_m[oi]), $signed(b_m[oi]),
                                     $signed(out_m[op*8 +: 8]), out_sat[op], out_m[op*8 +: 8],
                                     $signed(m_exp[oi]), s_exp[oi], m_exp[oi]);
                        errors = errors + 1;
                    end
                    nout = nout + 1;
                end
            end
            nbeat = nbeat + 1;
        end
    end

    string hexdir, vcdfile;
    integer b, p, i;
    reg [LANES*16-1:0] f_v, b_v;
    initial begin
        `TB_PLUSARGS(tb_merge, "tb_merge.vcd")
        $readmemh({hexdir, "/fwd.in.hex"}, f_m);
        $readmemh({hexdir, "/bwd.in.hex"}, b_m);
        $readmemh({hexdir, "/m.exp.hex"}, m_exp);
        $readmemh({hexdir, "/sat.exp.hex"}, s_exp);
        repeat (3) @(negedge clk);
        rst_n = 1'b1;
        for (b = 0; b < NB; b = b + 1) begin
            @(negedge clk);
            in_valid = 1'b1;
            for (p = 0; p < LANES; p = p + 1) begin
                i = b * LANES + p;
                f_v[p*16 +: 16] = (i < NV) ? f_m[i] : 16'h0000;
                b_v[p*16 +: 16] = (i < NV) ? b_m[i] : 16'h0000;
            end
            // Whole-bus assignments: Verilator 5.006 does not propagate
            // variable-indexed part-select writes to the DUT's inputs.
            in_f = f_v;
            in_b = b_v;
        end
        @(negedge clk);
        in_valid = 1'b0;
        wait (nout == NV);
        @(negedge clk);
        `TB_VERDICT(NV)
    end
endmodule

`default_nettype wire
