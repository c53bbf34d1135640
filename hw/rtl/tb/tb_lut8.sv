// vimsim self-checking testbench: the int8 lookup unit with channel tables
// (docs/RTL.md §5.1, §9.3). Loads NT tables of 256 entries (table.in.hex,
// line 256*t + e = {clamped, value} of entry e of table t, 9 bits), then
// streams TOKENS x CHANNELS int8 inputs (x.in.hex, row-major) with their
// channel's table index (index.in.hex, one line per channel), with
// pseudo-random bubbles (in_valid low, junk inputs), and compares the
// outputs with y.exp.hex and the clamped flags with sat.exp.hex. Checks the
// documented latency (1, one lookup per cycle), that out_valid is never X
// and low during reset, and that nothing comes out that was not put in.
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended,
// junk and random words are used in part.
/* verilator lint_off BLKSEQ */
/* verilator lint_off UNUSEDSIGNAL */

module tb_lut8;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer NV = TOKENS * CHANNELS;
    localparam integer TB = (NT > 1) ? $clog2(NT) : 1;
    localparam integer LAT = 1;   // docs/RTL.md §5.1
    localparam integer MAX_SHOW = 10;
    localparam integer WDOG = 2 * WATCHDOG_CYCLES + 100;

    `TB_CLOCK
    `TB_RNG

    reg  [8:0]  tab_m [0:NT*256-1];
    reg  [7:0]  x_m   [0:NV-1];
    reg  [7:0]  idx_m [0:CHANNELS-1];
    reg  [7:0]  y_exp [0:NV-1];
    reg  [0:0]  s_exp [0:NV-1];

    reg              ld_en = 1'b0;
    reg  [TB+7:0]    ld_addr = {(TB+8){1'b0}};
    reg  [8:0]       ld_data = 9'd0;
    reg              in_valid = 1'b0;
    reg  [TB-1:0]    in_tbl = {TB{1'b0}};
    reg  signed [7:0] in_x = 8'sd0;
    wire             out_valid, out_sat;
    wire signed [7:0] out_y;

    lut8 #(.NT(NT)) dut (
        .clk(clk), .rst_n(rst_n), .ld_en(ld_en), .ld_addr(ld_addr), .ld_data(ld_data),
        .in_valid(in_valid), .in_tbl(in_tbl), .in_x(in_x),
        .out_valid(out_valid), .out_y(out_y), .out_sat(out_sat));

    integer cyc = 0, nin = 0, nout = 0, errors = 0, ferrors = 0, terrors = 0;
    integer t_in [0:NV-1];
    always @(posedge clk) begin
        `TB_STREAM_IN(nout, NV)
        if (out_valid === 1'b1) begin
            `TB_LATENCY(nout, "index")
            if (out_y !== y_exp[nout]) begin
                if (errors < MAX_SHOW)
                    $display("MISMATCH index=%0d (token=%0d channel=%0d) x=%0d got=%0d (%h) exp=%0d (%h)", nout,
                             nout / CHANNELS, nout % CHANNELS, $signed(x_m[nout]), out_y, out_y,
                             $signed(y_exp[nout]), y_exp[nout]);
                errors = errors + 1;
            end
            if (out_sat !== s_exp[nout][0]) begin
                if (ferrors < MAX_SHOW)
                    $display("FLAG MISMATCH index=%0d x=%0d got sat=%b exp sat=%b", nout, $signed(x_m[nout]), out_sat, s_exp[nout]);
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
            in_x   = junk[7:0];
            in_tbl = junk[TB+7:8];
        end
    endtask

    string hexdir, vcdfile;
    integer i, gap;
    initial begin
        `TB_PLUSARGS(tb_lut8, "tb_lut8.vcd")
        $readmemh({hexdir, "/table.in.hex"}, tab_m);
        $readmemh({hexdir, "/x.in.hex"}, x_m);
        $readmemh({hexdir, "/index.in.hex"}, idx_m);
        $readmemh({hexdir, "/y.exp.hex"}, y_exp);
        $readmemh({hexdir, "/sat.exp.hex"}, s_exp);
        `TB_RESET_JUNK
        for (i = 0; i < NT * 256; i = i + 1) begin
            @(negedge clk);
            ld_en   = 1'b1;
            ld_addr = i[TB+7:0];
            ld_data = tab_m[i];
        end
        @(negedge clk);
        ld_en = 1'b0;
        for (i = 0; i < NV; i = i + 1) begin
            `TB_GAP
            @(negedge clk);
            in_valid = 1'b1;
            in_x     = x_m[i];
            in_tbl   = idx_m[i % CHANNELS][TB-1:0];
        end
        `TB_END_STREAM(nout, NV)
    end
endmodule

`default_nettype wire
