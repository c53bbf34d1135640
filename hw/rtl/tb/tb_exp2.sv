// vimsim self-checking testbench: the base-2 exponent unit (docs/RTL.md §6,
// §9.3). Loads the 2^TBITS + 1 table entries (table.in.hex, 32-bit), streams
// N_VEC Q11.20 inputs (z.in.hex, int32) with pseudo-random bubbles (in_valid
// low, junk inputs) and compares the UQ8.16 outputs (y.exp.hex, 32-bit) and
// the saturation flags (sat.exp.hex, 1 bit). Checks the documented latency
// (1, one result per cycle), that out_valid is never X and low during
// reset, and that nothing comes out that was not put in.
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended,
// junk and random words are used in part.
/* verilator lint_off BLKSEQ */
/* verilator lint_off UNUSEDSIGNAL */

module tb_exp2;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer NE = (1 << TBITS) + 1;
    localparam integer LAT = 1;   // docs/RTL.md §6
    localparam integer MAX_SHOW = 10;
    localparam integer WDOG = 2 * WATCHDOG_CYCLES + 100;

    `TB_CLOCK
    `TB_RNG

    reg  [31:0] tab_m [0:NE-1];
    reg  [31:0] z_m   [0:N_VEC-1];
    reg  [31:0] y_exp [0:N_VEC-1];
    reg  [0:0]  s_exp [0:N_VEC-1];

    reg                ld_en = 1'b0;
    reg  [TBITS:0]     ld_addr = {(TBITS+1){1'b0}};
    reg  [31:0]        ld_data = 32'd0;
    reg                in_valid = 1'b0;
    reg  signed [31:0] in_z = 32'sd0;
    wire               out_valid, out_sat;
    wire [31:0]        out_y;

    exp2_unit #(.TBITS(TBITS)) dut (
        .clk(clk), .rst_n(rst_n), .ld_en(ld_en), .ld_addr(ld_addr), .ld_data(ld_data),
        .in_valid(in_valid), .in_z(in_z), .out_valid(out_valid), .out_y(out_y), .out_sat(out_sat));

    integer cyc = 0, nin = 0, nout = 0, errors = 0, ferrors = 0, terrors = 0;
    integer t_in [0:N_VEC-1];
    always @(posedge clk) begin
        `TB_STREAM_IN(nout, N_VEC)
        if (out_valid === 1'b1) begin
            `TB_LATENCY(nout, "index")
            if (out_y !== y_exp[nout]) begin
                if (errors < MAX_SHOW)
                    $display("MISMATCH index=%0d z=%0d got=%0d (%h) exp=%0d (%h)", nout,
                             $signed(z_m[nout]), out_y, out_y, y_exp[nout], y_exp[nout]);
                errors = errors + 1;
            end
            if (out_sat !== s_exp[nout][0]) begin
                if (ferrors < MAX_SHOW)
                    $display("FLAG MISMATCH index=%0d z=%0d got sat=%b exp sat=%b", nout, $signed(z_m[nout]), out_sat, s_exp[nout]);
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
            in_z = junk[31:0];
        end
    endtask

    string hexdir, vcdfile;
    integer i, gap;
    initial begin
        `TB_PLUSARGS(tb_exp2, "tb_exp2.vcd")
        $readmemh({hexdir, "/table.in.hex"}, tab_m);
        $readmemh({hexdir, "/z.in.hex"}, z_m);
        $readmemh({hexdir, "/y.exp.hex"}, y_exp);
        $readmemh({hexdir, "/sat.exp.hex"}, s_exp);
        `TB_RESET_JUNK
        for (i = 0; i < NE; i = i + 1) begin
            @(negedge clk);
            ld_en   = 1'b1;
            ld_addr = i[TBITS:0];
            ld_data = tab_m[i];
        end
        @(negedge clk);
        ld_en = 1'b0;
        for (i = 0; i < N_VEC; i = i + 1) begin
            `TB_GAP
            @(negedge clk);
            in_valid = 1'b1;
            in_z     = z_m[i];
        end
        `TB_END_STREAM(nout, N_VEC)
    end
endmodule

`default_nettype wire
