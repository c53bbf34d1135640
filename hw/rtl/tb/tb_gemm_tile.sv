// vimsim self-checking testbench: one fold of the output-stationary systolic
// array at its edge (docs/RTL.md §2.2, §9.3). Drives systolic_array_os with
// the skewed operand streams of the vector set, cycle by cycle: cycle c puts
// a.in.hex line c on a_in (lane i = row i) and w.in.hex line c on w_in
// (lane j = column j), start at cycle 0, capture at cycle CYCLES (the
// hw.ComputeCycles per-fold count), then checks the drain: o_valid high in
// exactly the R cycles after the capture edge, rows R-1 .. 0 in that order
// (o_row naming them), never X; and compares the R drained rows with
// c.exp.hex (line i = row i, lane j = column j).
// Plusargs: +hexdir=DIR (vector set directory), +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended.
/* verilator lint_off BLKSEQ */
/* verilator lint_off UNUSEDSIGNAL */

module tb_gemm_tile;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer RB = (R > 1) ? $clog2(R) : 1;
`ifdef VIMSIM_WBITS
    localparam integer WBITS = `VIMSIM_WBITS;  // weight width of the PEs (DATAPATH.md §15.3)
`else
    localparam integer WBITS = 8;
`endif
    localparam integer MAX_SHOW = 10;

    `TB_CLOCK

    reg              start = 1'b0;
    reg              capture = 1'b0;
    reg [R*8-1:0]    a_in = {(R*8){1'b0}};
    reg [C*8-1:0]    w_in = {(C*8){1'b0}};
    wire             o_valid;
    wire [RB-1:0]    o_row;
    wire [C*32-1:0]  o_data;
    wire [31:0]      o_row32 = {{(32-RB){1'b0}}, o_row};

    // The weight files hold 8-bit words; the PEs take their low WBITS bits.
    `TB_NARROW(w_in_n, w_in, C, WBITS)

    systolic_array_os #(.R(R), .C(C), .WW(WBITS)) dut (
        .clk(clk), .rst_n(rst_n), .start(start), .capture(capture),
        .a_in(a_in), .w_in(w_in_n), .o_valid(o_valid), .o_row(o_row), .o_data(o_data));

    reg [R*8-1:0]  a_stream [0:CYCLES-1];
    reg [C*8-1:0]  w_stream [0:CYCLES-1];
    reg [C*32-1:0] c_exp    [0:R-1];
    reg [C*32-1:0] c_got    [0:R-1];

    string hexdir, vcdfile;
    integer cyc = 0, t_cap = -1, drained = 0, errors = 0, ferrors = 0, terrors = 0;
    integer i, j, erow;

    // Monitor: the drain follows the capture edge t_cap: rows R-1 .. 0 at
    // edges t_cap+1 .. t_cap+R, o_valid low at every other edge.
    always @(posedge clk) begin
        `TB_CHECK_BIT(o_valid, "o_valid")
        if (cyc > WATCHDOG_CYCLES)
            $fatal(1, "FAIL: watchdog after %0d cycles", cyc);
        if (cyc > 0 && o_valid !== (t_cap >= 0 && cyc > t_cap && cyc <= t_cap + R)) begin
            if (terrors < MAX_SHOW)
                $display("TIMING o_valid=%b at edge %0d, capture at edge %0d", o_valid, cyc, t_cap);
            terrors = terrors + 1;
        end
        if (t_cap >= 0 && cyc > t_cap && cyc <= t_cap + R) begin
            erow = R - (cyc - t_cap);
            if (o_row32 != erow) begin
                if (terrors < MAX_SHOW)
                    $display("DRAIN edge %0d: o_row=%0d, want row %0d (bottom row first)", cyc, o_row32, erow);
                terrors = terrors + 1;
            end
            c_got[erow] = o_data;
            drained = drained + 1;
        end
        if (capture)
            t_cap = cyc;
        cyc = cyc + 1;
    end

    initial begin
        `TB_PLUSARGS(tb_gemm_tile, "tb_gemm_tile.vcd")
        $readmemh({hexdir, "/a.in.hex"}, a_stream);
        $readmemh({hexdir, "/w.in.hex"}, w_stream);
        $readmemh({hexdir, "/c.exp.hex"}, c_exp);
        repeat (3) @(negedge clk);
        rst_n = 1'b1;
        for (i = 0; i < CYCLES; i = i + 1) begin
            @(negedge clk);
            start = (i == 0);
            a_in  = a_stream[i];
            w_in  = w_stream[i];
        end
        @(negedge clk);
        start   = 1'b0;
        capture = 1'b1;
        a_in    = {(R*8){1'b0}};
        w_in    = {(C*8){1'b0}};
        @(negedge clk);
        capture = 1'b0;
        repeat (R + 2) @(negedge clk);
        if (drained != R)
            $fatal(1, "FAIL: %0d of %0d rows drained", drained, R);
        for (i = 0; i < R; i = i + 1) begin
            for (j = 0; j < C; j = j + 1) begin
                if (c_got[i][32*j +: 32] !== c_exp[i][32*j +: 32]) begin
                    if (errors < MAX_SHOW)
                        $display("MISMATCH row=%0d col=%0d got=%0d (%h) exp=%0d (%h)", i, j,
                                 $signed(c_got[i][32*j +: 32]), c_got[i][32*j +: 32],
                                 $signed(c_exp[i][32*j +: 32]), c_exp[i][32*j +: 32]);
                    errors = errors + 1;
                end
            end
        end
        $display("CYCLES: fold=%0d (model %0d)", CYCLES, CYCLES);
        `TB_VERDICT(R * C)
    end
endmodule

`default_nettype wire
