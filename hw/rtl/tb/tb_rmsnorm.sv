// vimsim self-checking testbench: the RMSNorm unit (docs/RTL.md §8.1,
// §9.3). Loads the seed table (seed.in.hex, 3*2^TB entries, 16-bit) and the
// gains (gamma.in.hex, D int16), sets the static constants from params.vh,
// streams ROWS rows of D int32 values (x.in.hex, row-major) with
// pseudo-random bubbles inside the rows (in_valid low, junk in_x), and
// compares every output with y.exp.hex (OUT_BITS two's complement), its
// flags with sat.exp.hex and ovf.exp.hex, and the rsqrt tap (out_r, out_e)
// with the row's r.exp.hex and e.exp.hex. Checks the documented timing: the
// last value of a row taken at rising edge k, its outputs come at edges
// k+6 .. k+D+5, in_ready is low exactly at edges k+1 .. k+D+4 and high
// otherwise (one row per 2D + 4 cycles back to back); out_valid/in_ready
// are never X, out_valid low during reset. Between rows the driver either
// holds the next row's first value with in_valid high (back-pressure) or
// drives junk until the unit is ready.
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended,
// junk and random words are used in part.
/* verilator lint_off BLKSEQ */
/* verilator lint_off UNUSEDSIGNAL */

module tb_rmsnorm;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer NV = ROWS * D;
    localparam integer NS = 3 * (1 << TB);
    localparam integer AB = (D > 1) ? $clog2(D) : 1;
    localparam integer FIRST_OUT = 6;   // docs/RTL.md §8.1: last value at k, outputs k+6 .. k+D+5
    localparam integer MAX_SHOW = 10;
    localparam integer WDOG = 2 * WATCHDOG_CYCLES + 100;

    `TB_CLOCK
    `TB_RNG

    reg  [31:0]         x_m   [0:NV-1];
    reg  [15:0]         g_m   [0:D-1];
    reg  [15:0]         s_m   [0:NS-1];
    reg  [OUT_BITS-1:0] y_exp [0:NV-1];
    reg  [0:0]          s_exp [0:NV-1];
    reg  [0:0]          o_exp [0:NV-1];
    reg  [31:0]         r_exp [0:ROWS-1];
    reg  [4:0]          e_exp [0:ROWS-1];

    reg                 seed_we = 1'b0, gamma_we = 1'b0;
    reg  [TB+1:0]       seed_addr = {(TB+2){1'b0}};
    reg  [15:0]         seed_data = 16'd0;
    reg  [AB-1:0]       gamma_addr = {AB{1'b0}};
    reg  signed [15:0]  gamma_data = 16'sd0;
    reg                 in_valid = 1'b0;
    wire                in_ready;
    reg  signed [31:0]  in_x = 32'sd0;
    wire                out_valid, out_sat, out_ovf;
    wire signed [OUT_BITS-1:0] out_y;
    wire [31:0]         out_r;
    wire [4:0]          out_e;
    localparam integer DL = D - 1;

    rmsnorm #(.MAXD(D), .TB(TB), .OUT_BITS(OUT_BITS)) dut (
        .clk(clk), .rst_n(rst_n),
        .seed_we(seed_we), .seed_addr(seed_addr), .seed_data(seed_data),
        .gamma_we(gamma_we), .gamma_addr(gamma_addr), .gamma_data(gamma_data),
        .d_last(DL[AB-1:0]), .eps_d(EPS_D), .out_m(OUT_M), .out_shift(OUT_SHIFT), .zp(ZP), .frac(FRAC),
        .in_valid(in_valid), .in_ready(in_ready), .in_x(in_x),
        .out_valid(out_valid), .out_y(out_y), .out_sat(out_sat), .out_ovf(out_ovf),
        .out_r(out_r), .out_e(out_e));

    integer cyc = 0, nin = 0, nout = 0, errors = 0, ferrors = 0, terrors = 0;
    integer busy_from = -1, busy_to = -1;   // in_ready low at edges busy_from .. busy_to
    integer t_last [0:ROWS-1];              // edge that took a row's last value
    integer row;
    always @(posedge clk) begin
        `TB_CHECK_BIT(out_valid, "out_valid")
        if (cyc > 0 && rst_n && in_ready !== 1'b0 && in_ready !== 1'b1)
            $fatal(1, "FAIL: in_ready is %b at cycle %0d", in_ready, cyc);
        if (cyc > WDOG)
            $fatal(1, "FAIL: watchdog after %0d cycles (%0d of %0d outputs)", cyc, nout, NV);
        if (rst_n && cyc > 0 && in_ready !== !(cyc >= busy_from && cyc <= busy_to)) begin
            if (terrors < MAX_SHOW)
                $display("TIMING in_ready=%b at edge %0d, want %b (busy from edge %0d to %0d)", in_ready, cyc,
                         !(cyc >= busy_from && cyc <= busy_to), busy_from, busy_to);
            terrors = terrors + 1;
        end
        if (rst_n && in_valid && in_ready) begin
            if (nin % D == D - 1) begin
                t_last[nin / D] = cyc;
                busy_from = cyc + 1;
                busy_to   = cyc + D + 4;
            end
            nin = nin + 1;
        end
        if (out_valid === 1'b1) begin
            row = nout / D;
            if (row * D + D - 1 >= nin)
                $fatal(1, "FAIL: output %0d at cycle %0d before its row was complete", nout, cyc);
            if (cyc != t_last[row] + FIRST_OUT + nout % D) begin
                if (terrors < MAX_SHOW)
                    $display("TIMING index=%0d (row=%0d channel=%0d) at edge %0d, row's last value at edge %0d: want edge %0d",
                             nout, row, nout % D, cyc, t_last[row], t_last[row] + FIRST_OUT + nout % D);
                terrors = terrors + 1;
            end
            if (out_y !== y_exp[nout] || out_r !== r_exp[row] || out_e !== e_exp[row]) begin
                if (errors < MAX_SHOW)
                    $display("MISMATCH index=%0d (row=%0d channel=%0d) got=%0d (%h) r=%0d e=%0d exp=%0d (%h) r=%0d e=%0d", nout,
                             row, nout % D, out_y, out_y, out_r, out_e, $signed(y_exp[nout]), y_exp[nout], r_exp[row], e_exp[row]);
                errors = errors + 1;
            end
            if (out_sat !== s_exp[nout][0] || out_ovf !== o_exp[nout][0]) begin
                if (ferrors < MAX_SHOW)
                    $display("FLAG MISMATCH index=%0d (row=%0d channel=%0d) got sat=%b ovf=%b exp sat=%b ovf=%b", nout,
                             row, nout % D, out_sat, out_ovf, s_exp[nout], o_exp[nout]);
                ferrors = ferrors + 1;
            end
            nout = nout + 1;
        end
        cyc = cyc + 1;
    end

    reg [`TB_JUNK_BITS-1:0] junk;
    string hexdir, vcdfile;
    integer i, gap;
    reg [31:0] r;
    initial begin
        `TB_PLUSARGS(tb_rmsnorm, "tb_rmsnorm.vcd")
        $readmemh({hexdir, "/x.in.hex"}, x_m);
        $readmemh({hexdir, "/gamma.in.hex"}, g_m);
        $readmemh({hexdir, "/seed.in.hex"}, s_m);
        $readmemh({hexdir, "/y.exp.hex"}, y_exp);
        $readmemh({hexdir, "/sat.exp.hex"}, s_exp);
        $readmemh({hexdir, "/ovf.exp.hex"}, o_exp);
        $readmemh({hexdir, "/r.exp.hex"}, r_exp);
        $readmemh({hexdir, "/e.exp.hex"}, e_exp);
        in_valid = 1'b1;
        tb_junk(junk);
        in_x = junk[31:0];
        repeat (3) @(negedge clk);
        rst_n    = 1'b1;
        in_valid = 1'b0;
        for (i = 0; i < NS; i = i + 1) begin
            @(negedge clk);
            seed_we   = 1'b1;
            seed_addr = i[TB+1:0];
            seed_data = s_m[i];
        end
        @(negedge clk);
        seed_we = 1'b0;
        for (i = 0; i < D; i = i + 1) begin
            @(negedge clk);
            gamma_we   = 1'b1;
            gamma_addr = i[AB-1:0];
            gamma_data = g_m[i];
        end
        @(negedge clk);
        gamma_we = 1'b0;
        for (i = 0; i < NV; i = i + 1) begin
            tb_rand(r);
            if (i % D == 0 && i > 0 && r[4]) begin
                // Junk until the unit takes rows again.
                in_valid = 1'b0;
                tb_junk(junk);
                in_x = junk[31:0];
                while (!in_ready) begin
                    @(negedge clk);
                    tb_junk(junk);
                    in_x = junk[31:0];
                end
            end
            tb_gap(gap);
            if (i % D != 0 || !r[5]) begin
                repeat (gap) begin
                    in_valid = 1'b0;
                    tb_junk(junk);
                    in_x = junk[31:0];
                    @(negedge clk);
                end
            end
            in_valid = 1'b1;
            in_x     = x_m[i];
            // in_ready is stable at a falling edge: the value is taken at the
            // rising edge after the first falling edge that sees it.
            while (!in_ready)
                @(negedge clk);
            @(negedge clk);
        end
        in_valid = 1'b0;
        wait (nout == NV);
        repeat (D + 8) @(negedge clk);
        `TB_VERDICT(NV)
    end
endmodule

`default_nettype wire
