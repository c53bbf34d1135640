// vimsim self-checking testbench: the residual add (docs/RTL.md §8.4, §9.3).
// Streams TOKENS x CHANNELS int32 residual values (residual.in.hex, before
// the add) and addends (add.in.hex), both row-major (token, channel), to a
// resadd of LANES lanes, LANES consecutive elements per beat (lane p =
// element b*LANES + p; lanes past the end carry zeros), and compares the
// residual after the add with out.exp.hex and the saturation flags with
// sat.exp.hex (1 bit); padding lanes are not compared.
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended.
/* verilator lint_off BLKSEQ */

module tb_resadd;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer NV = TOKENS * CHANNELS;
    localparam integer NB = (NV + LANES - 1) / LANES;
    localparam integer MAX_SHOW = 10;

    `TB_CLOCK

    reg  [31:0] r_m   [0:NV-1];
    reg  [31:0] a_m   [0:NV-1];
    reg  [31:0] o_exp [0:NV-1];
    reg  [0:0]  s_exp [0:NV-1];

    reg                 in_valid = 1'b0;
    reg  [LANES*32-1:0] in_res = {(LANES*32){1'b0}};
    reg  [LANES*32-1:0] in_add = {(LANES*32){1'b0}};
    wire                out_valid;
    wire [LANES*32-1:0] out_res;
    wire [LANES-1:0]    out_sat;

    resadd #(.LANES(LANES)) dut (
        .clk(clk), .rst_n(rst_n), .in_valid(in_valid), .in_res(in_res), .in_add(in_add),
        .out_valid(out_valid), .out_res(out_res), .out_sat(out_sat));

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
                    if (out_res[op*32 +: 32] !== o_exp[oi] || out_sat[op] !== s_exp[oi][0]) begin
                        if (errors < MAX_SHOW)
                            $display("MISMATCH index=%0d (token=%0d channel=%0d) res=%0d add=%0d got=%0d sat=%0d (%h) exp=%0d sat=%0d (%h)",
                                     oi, oi / CHANNELS, oi % CHANNELS, $signed(r_m[oi]), $signed(a_m[oi]),
                                     $signed(out_res[op*32 +: 32]), out_sat[op], out_res[op*32 +: 32],
                                     $signed(o_exp[oi]), s_exp[oi], o_exp[oi]);
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
    reg [LANES*32-1:0] r_v, a_v;
    initial begin
        `TB_PLUSARGS(tb_resadd, "tb_resadd.vcd")
        $readmemh({hexdir, "/residual.in.hex"}, r_m);
        $readmemh({hexdir, "/add.in.hex"}, a_m);
        $readmemh({hexdir, "/out.exp.hex"}, o_exp);
        $readmemh({hexdir, "/sat.exp.hex"}, s_exp);
        repeat (3) @(negedge clk);
        rst_n = 1'b1;
        for (b = 0; b < NB; b = b + 1) begin
            @(negedge clk);
            in_valid = 1'b1;
            for (p = 0; p < LANES; p = p + 1) begin
                i = b * LANES + p;
                r_v[p*32 +: 32] = (i < NV) ? r_m[i] : 32'h00000000;
                a_v[p*32 +: 32] = (i < NV) ? a_m[i] : 32'h00000000;
            end
            // Whole-bus assignments: Verilator 5.006 does not propagate
            // variable-indexed part-select writes to the DUT's inputs.
            in_res = r_v;
            in_add = a_v;
        end
        @(negedge clk);
        in_valid = 1'b0;
        wait (nout == NV);
        @(negedge clk);
        `TB_VERDICT(NV)
    end
endmodule

`default_nettype wire
