// vimsim self-checking testbench: the depthwise causal convolution
// (docs/RTL.md §8.2, §9.3). Streams the L x E int8 input (x.in.hex,
// row-major (step, channel)) to a dwconv of LANES lanes: one beat per step
// and channel group, t outer, group inner, lane p = channel g*LANES + p
// (lanes past E carry zeros), with the group's taps (w.in.hex, E x T int8,
// row-major (channel, tap), tap T-1 on the current step), with
// pseudo-random bubbles (in_valid low, junk on every input), and compares
// the int32 sums with y.exp.hex (L x E, row-major); padding lanes are not
// compared. Checks the documented latency (2, one beat per cycle), that
// out_valid is never X and low during reset, and that nothing comes out
// that was not put in.
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended,
// junk and random words are used in part.
/* verilator lint_off BLKSEQ */
/* verilator lint_off UNUSEDSIGNAL */

module tb_dwconv;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer NV = L * E;
    localparam integer NG = (E + LANES - 1) / LANES;
    localparam integer NB = L * NG;
    localparam integer GB = (NG > 1) ? $clog2(NG) : 1;
    localparam integer LAT = 2;   // docs/RTL.md §8.2
`ifdef VIMSIM_WBITS
    localparam integer WBITS = `VIMSIM_WBITS;  // tap width (DATAPATH.md §15.3)
`else
    localparam integer WBITS = 8;
`endif
    localparam integer MAX_SHOW = 10;
    localparam integer WDOG = 2 * WATCHDOG_CYCLES + 100;

    `TB_CLOCK
    `TB_RNG

    reg  [7:0]  x_m   [0:NV-1];
    reg  [7:0]  w_m   [0:E*T-1];
    reg  [31:0] y_exp [0:NV-1];

    reg                  in_valid = 1'b0;
    reg                  first = 1'b0;
    reg  [GB-1:0]        grp = {GB{1'b0}};
    reg  [LANES*8-1:0]   in_x = {(LANES*8){1'b0}};
    reg  [LANES*T*8-1:0] in_w = {(LANES*T*8){1'b0}};
    wire                 out_valid;
    wire [LANES*32-1:0]  out_y;

    // The tap files hold 8-bit words; the unit takes their low WBITS bits.
    `TB_NARROW(in_w_n, in_w, LANES * T, WBITS)

    dwconv #(.LANES(LANES), .T(T), .MAXE(E), .WW(WBITS)) dut (
        .clk(clk), .rst_n(rst_n), .in_valid(in_valid), .first(first), .grp(grp),
        .in_x(in_x), .in_w(in_w_n), .out_valid(out_valid), .out_y(out_y));

    integer cyc = 0, nin = 0, nbeat = 0, nout = 0, errors = 0, ferrors = 0, terrors = 0;
    integer op, oi;
    integer t_in [0:NB-1];   // rising edge that sampled beat b
    always @(posedge clk) begin
        `TB_STREAM_IN(nout, NV)
        if (out_valid === 1'b1) begin
            `TB_LATENCY(nbeat, "beat")
            for (op = 0; op < LANES; op = op + 1) begin
                oi = (nbeat / NG) * E + (nbeat % NG) * LANES + op;
                if ((nbeat % NG) * LANES + op < E) begin
                    if (out_y[op*32 +: 32] !== y_exp[oi]) begin
                        if (errors < MAX_SHOW)
                            $display("MISMATCH index=%0d (step=%0d channel=%0d lane=%0d) got=%0d (%h) exp=%0d (%h)", oi,
                                     oi / E, oi % E, op, $signed(out_y[op*32 +: 32]), out_y[op*32 +: 32],
                                     $signed(y_exp[oi]), y_exp[oi]);
                        errors = errors + 1;
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
            in_x  = junk[LANES*8-1:0];
            first = junk[LANES*8];
            grp   = junk[LANES*8+GB:LANES*8+1];
            tb_junk(junk);
            in_w  = junk[LANES*T*8-1:0];
        end
    endtask

    string hexdir, vcdfile;
    integer t, g, p, k, ch, gap;
    reg [LANES*8-1:0]   x_v;
    reg [LANES*T*8-1:0] w_v;
    initial begin
        `TB_PLUSARGS(tb_dwconv, "tb_dwconv.vcd")
        $readmemh({hexdir, "/x.in.hex"}, x_m);
        $readmemh({hexdir, "/w.in.hex"}, w_m);
        $readmemh({hexdir, "/y.exp.hex"}, y_exp);
        `TB_RESET_JUNK
        for (t = 0; t < L; t = t + 1) begin
            for (g = 0; g < NG; g = g + 1) begin
                `TB_GAP
                @(negedge clk);
                for (p = 0; p < LANES; p = p + 1) begin
                    ch = g * LANES + p;
                    x_v[p*8 +: 8] = (ch < E) ? x_m[t * E + ch] : 8'h00;
                    for (k = 0; k < T; k = k + 1)
                        w_v[(p*T+k)*8 +: 8] = (ch < E) ? w_m[ch * T + k] : 8'h00;
                end
                // Whole-bus assignments: Verilator 5.006 does not propagate
                // variable-indexed part-select writes to the DUT's inputs.
                in_valid = 1'b1;
                first    = (t == 0);
                grp      = g[GB-1:0];
                in_x     = x_v;
                in_w     = w_v;
            end
        end
        `TB_END_STREAM(nout, NV)
    end
endmodule

`default_nettype wire
