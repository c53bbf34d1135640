// vimsim self-checking testbench: the residual add (docs/RTL.md §8.4,
// §9.3). Streams TOKENS x CHANNELS residual values before the add
// (residual.in.hex) and addends (add.in.hex), int32 row-major, to a resadd
// of LANES lanes, LANES consecutive elements per beat (lanes past the end
// carry zeros), with pseudo-random bubbles (in_valid low, junk inputs), and
// compares the results with out.exp.hex and the saturation flags with
// sat.exp.hex (1 bit); padding lanes are not compared. Checks the
// documented latency (1, one beat per cycle), that out_valid is never X and
// low during reset, and that nothing comes out that was not put in.
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended,
// junk and random words are used in part.
/* verilator lint_off BLKSEQ */
/* verilator lint_off UNUSEDSIGNAL */

module tb_resadd;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer NV = TOKENS * CHANNELS;
    localparam integer NB = (NV + LANES - 1) / LANES;
    localparam integer LAT = 1;   // docs/RTL.md §8.4
    localparam integer MAX_SHOW = 10;
    localparam integer WDOG = 2 * WATCHDOG_CYCLES + 100;

    `TB_CLOCK
    `TB_RNG

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
                    if (out_res[op*32 +: 32] !== o_exp[oi]) begin
                        if (errors < MAX_SHOW)
                            $display("MISMATCH index=%0d (token=%0d channel=%0d) res=%0d add=%0d got=%0d (%h) exp=%0d (%h)",
                                     oi, oi / CHANNELS, oi % CHANNELS, $signed(r_m[oi]), $signed(a_m[oi]),
                                     $signed(out_res[op*32 +: 32]), out_res[op*32 +: 32], $signed(o_exp[oi]), o_exp[oi]);
                        errors = errors + 1;
                    end
                    if (out_sat[op] !== s_exp[oi][0]) begin
                        if (ferrors < MAX_SHOW)
                            $display("FLAG MISMATCH index=%0d res=%0d add=%0d got sat=%b exp sat=%b", oi,
                                     $signed(r_m[oi]), $signed(a_m[oi]), out_sat[op], s_exp[oi]);
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
            in_res = junk[LANES*32-1:0];
            tb_junk(junk);
            in_add = junk[LANES*32-1:0];
        end
    endtask

    string hexdir, vcdfile;
    integer b, p, i, gap;
    reg [LANES*32-1:0] r_v, a_v;
    initial begin
        `TB_PLUSARGS(tb_resadd, "tb_resadd.vcd")
        $readmemh({hexdir, "/residual.in.hex"}, r_m);
        $readmemh({hexdir, "/add.in.hex"}, a_m);
        $readmemh({hexdir, "/out.exp.hex"}, o_exp);
        $readmemh({hexdir, "/sat.exp.hex"}, s_exp);
        `TB_RESET_JUNK
        for (b = 0; b < NB; b = b + 1) begin
            `TB_GAP
            @(negedge clk);
            for (p = 0; p < LANES; p = p + 1) begin
                i = b * LANES + p;
                r_v[p*32 +: 32] = (i < NV) ? r_m[i] : 32'h00000000;
                a_v[p*32 +: 32] = (i < NV) ? a_m[i] : 32'h00000000;
            end
            // Whole-bus assignments: Verilator 5.006 does not propagate
            // variable-indexed part-select writes to the DUT's inputs.
            in_valid = 1'b1;
            in_res = r_v;
            in_add = a_v;
        end
        `TB_END_STREAM(nout, NV)
    end
endmodule

`default_nettype wire
