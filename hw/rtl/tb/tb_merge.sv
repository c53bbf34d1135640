// vimsim self-checking testbench: the direction merge (docs/RTL.md §8.3,
// §9.3). Streams TOKENS x CHANNELS pairs of gated int16 outputs (fwd.in.hex,
// bwd.in.hex, row-major (token, channel), the backward one in original token
// order) to a merge of LANES lanes, LANES consecutive elements per beat
// (lane p = element b*LANES + p; lanes past the end carry zeros), with
// pseudo-random bubbles (in_valid low, junk inputs), and compares the int8
// results with m.exp.hex and the saturation flags with sat.exp.hex (1 bit);
// padding lanes are not compared. Checks the documented latency (1, one
// beat per cycle), that out_valid is never X and low during reset, and that
// nothing comes out that was not put in.
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended,
// junk and random words are used in part.
/* verilator lint_off BLKSEQ */
/* verilator lint_off UNUSEDSIGNAL */

module tb_merge;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer NV = TOKENS * CHANNELS;
    localparam integer NB = (NV + LANES - 1) / LANES;
    localparam integer LAT = 1;   // docs/RTL.md §8.3
    localparam integer MAX_SHOW = 10;
    localparam integer WDOG = 2 * WATCHDOG_CYCLES + 100;

    `TB_CLOCK
    `TB_RNG

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

    integer cyc = 0, nin = 0, nbeat = 0, nout = 0, errors = 0, ferrors = 0, terrors = 0;
    integer op, oi;
    integer t_in [0:NB-1];   // rising edge that sampled beat b
    always @(posedge clk) begin
        `TB_STREAM_IN(nout, NV)
        if (out_valid === 1'b1) begin
            `TB_LATENCY(nbeat, "beat")
            for (op = 0; op < LANES; op = op + 1) begin
                oi = nbeat * LANES + op;
                if (oi < NV) begin
                    if (out_m[op*8 +: 8] !== m_exp[oi]) begin
                        if (errors < MAX_SHOW)
                            $display("MISMATCH index=%0d (token=%0d channel=%0d) f=%0d b=%0d got=%0d (%h) exp=%0d (%h)",
                                     oi, oi / CHANNELS, oi % CHANNELS, $signed(f_m[oi]), $signed(b_m[oi]),
                                     $signed(out_m[op*8 +: 8]), out_m[op*8 +: 8], $signed(m_exp[oi]), m_exp[oi]);
                        errors = errors + 1;
                    end
                    if (out_sat[op] !== s_exp[oi][0]) begin
                        if (ferrors < MAX_SHOW)
                            $display("FLAG MISMATCH index=%0d f=%0d b=%0d got sat=%b exp sat=%b", oi,
                                     $signed(f_m[oi]), $signed(b_m[oi]), out_sat[op], s_exp[oi]);
                        ferrors = ferrors + 1;
                    end
                    nout = nout + 1;
                end
            end
            nbeat = nbeat + 1;
        end
        cyc = cyc + 1;
    end

    reg [`TB_JUNK_BITS-1:0] junk;
    task drive_junk;
        begin
            tb_junk(junk);
            in_f = junk[LANES*16-1:0];
            tb_junk(junk);
            in_b = junk[LANES*16-1:0];
        end
    endtask

    string hexdir, vcdfile;
    integer b, p, i, gap;
    reg [LANES*16-1:0] f_v, b_v;
    initial begin
        `TB_PLUSARGS(tb_merge, "tb_merge.vcd")
        $readmemh({hexdir, "/fwd.in.hex"}, f_m);
        $readmemh({hexdir, "/bwd.in.hex"}, b_m);
        $readmemh({hexdir, "/m.exp.hex"}, m_exp);
        $readmemh({hexdir, "/sat.exp.hex"}, s_exp);
        `TB_RESET_JUNK
        for (b = 0; b < NB; b = b + 1) begin
            `TB_GAP
            @(negedge clk);
            for (p = 0; p < LANES; p = p + 1) begin
                i = b * LANES + p;
                f_v[p*16 +: 16] = (i < NV) ? f_m[i] : 16'h0000;
                b_v[p*16 +: 16] = (i < NV) ? b_m[i] : 16'h0000;
            end
            // Whole-bus assignments: Verilator 5.006 does not propagate
            // variable-indexed part-select writes to the DUT's inputs.
            in_valid = 1'b1;
            in_f = f_v;
            in_b = b_v;
        end
        `TB_END_STREAM(nout, NV)
    end
endmodule

`default_nettype wire
