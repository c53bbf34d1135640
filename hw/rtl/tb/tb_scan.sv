// vimsim self-checking testbench: one direction of one layer's selective
// scan on a scan_lane (docs/RTL.md §9.7). Jobs run in scan order, step t
// outer, channel d inner. Stimulus, all row-major in scan order:
//   x, delta, z          L x E int8   (x.in.hex, delta.in.hex, z.in.hex)
//   b, c                 L x N int8   (b.in.hex, c.in.hex)
//   aneg                 E x N int32  (aneg.in.hex)
//   per step t (L lines): step_log2 int32, ustep_m/ystep_m 31-bit mantissas,
//     ustep_shift/ystep_shift 6-bit, eg int8 (the token group's shift)
//   per channel d (E lines): uchan_m, gate_m 31-bit, uchan_shift, gate_shift
//     6-bit, uchan_norm, skip_shift int8, skip_d int32
//   table.in.hex         2^TBITS + 1 exponent table entries, 32-bit
// Expected: out.exp.hex (L x E int16 gated output), y.exp.hex (L x E int8,
// y'), v.exp.hex (L x E int32, the D-skip sum V).
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended.
/* verilator lint_off BLKSEQ */

module tb_scan;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer NJ = L * E;
    localparam integer NE = (1 << TBITS) + 1;
    localparam integer DB = (E > 1) ? $clog2(E) : 1;
    localparam integer MAX_SHOW = 10;

    `TB_CLOCK

    reg [7:0]  x_m [0:NJ-1];
    reg [7:0]  dl_m [0:NJ-1];
    reg [7:0]  z_m [0:NJ-1];
    reg [7:0]  b_m [0:L*N-1];
    reg [7:0]  c_m [0:L*N-1];
    reg [31:0] an_m [0:E*N-1];
    reg [31:0] sl_m [0:L-1];
    reg [30:0] usm_m [0:L-1];
    reg [5:0]  uss_m [0:L-1];
    reg [30:0] ysm_m [0:L-1];
    reg [5:0]  yss_m [0:L-1];
    reg [7:0]  eg_m [0:L-1];
    reg [30:0] ucm_m [0:E-1];
    reg [5:0]  ucs_m [0:E-1];
    reg [7:0]  ucn_m [0:E-1];
    reg [7:0]  sks_m [0:E-1];
    reg [31:0] skd_m [0:E-1];
    reg [30:0] gm_m [0:E-1];
    reg [5:0]  gs_m [0:E-1];
    reg [31:0] tab_m [0:NE-1];
    reg [15:0] out_exp [0:NJ-1];
    reg [7:0]  y_exp [0:NJ-1];
    reg [31:0] v_exp [0:NJ-1];

    reg                 ld_en = 1'b0;
    reg  [TBITS:0]      ld_addr = {(TBITS+1){1'b0}};
    reg  [31:0]         ld_data = 32'd0;
    reg                 in_valid = 1'b0;
    wire                in_ready;
    reg                 first = 1'b0;
    reg  [DB-1:0]       d = {DB{1'b0}};
    reg  signed [7:0]   delta = 8'sd0, x = 8'sd0, z = 8'sd0, eg = 8'sd0, uchan_norm = 8'sd0, skip_shift = 8'sd0;
    reg  [N*8-1:0]      b_vec = {(N*8){1'b0}}, c_vec = {(N*8){1'b0}};
    reg  [N*32-1:0]     aneg_vec = {(N*32){1'b0}};
    reg  signed [31:0]  step_log2 = 32'sd0, skip_d = 32'sd0;
    reg  [30:0]         ustep_m = 31'd0, ystep_m = 31'd0, uchan_m = 31'd0, gate_m = 31'd0;
    reg  [5:0]          ustep_shift = 6'd1, ystep_shift = 6'd1, uchan_shift = 6'd1, gate_shift = 6'd1;
    wire                out_valid;
    wire signed [15:0]  out_gated;
    wire signed [7:0]   out_y;
    wire signed [31:0]  out_v;

    scan_lane #(.N(N), .MAXE(E), .TBITS(TBITS)) dut (
        .clk(clk), .rst_n(rst_n), .ld_en(ld_en), .ld_addr(ld_addr), .ld_data(ld_data),
        .in_valid(in_valid), .in_ready(in_ready), .first(first), .d(d),
        .delta(delta), .x(x), .z(z), .b_vec(b_vec), .c_vec(c_vec), .aneg_vec(aneg_vec),
        .step_log2(step_log2), .ustep_m(ustep_m), .ustep_shift(ustep_shift),
        .ystep_m(ystep_m), .ystep_shift(ystep_shift), .eg(eg),
        .uchan_m(uchan_m), .uchan_shift(uchan_shift), .uchan_norm(uchan_norm),
        .skip_shift(skip_shift), .skip_d(skip_d), .gate_m(gate_m), .gate_shift(gate_shift),
        .out_valid(out_valid), .out_gated(out_gated), .out_y(out_y), .out_v(out_v));

    integer cyc = 0, nout = 0, errors = 0;
    always @(posedge clk) begin
        cyc <= cyc + 1;
        if (cyc > WATCHDOG_CYCLES)
            $fatal(1, "FAIL: watchdog after %0d cycles (%0d of %0d jobs)", cyc, nout, NJ);
        if (out_valid) begin
            if (out_gated !== out_exp[nout] || out_y !== y_exp[nout] || out_v !== v_exp[nout]) begin
                if (errors < MAX_SHOW)
                    $display("MISMATCH index=%0d (t=%0d d=%0d) got out=%0d y=%0d v=%0d exp out=%0d y=%0d v=%0d", nout,
                             nout / E, nout % E, out_gated, out_y, out_v,
                             $signed(out_exp[nout]), $signed(y_exp[nout]), $signed(v_exp[nout]));
                errors = errors + 1;
            end
            nout = nout + 1;
        end
    end

    string hexdir, vcdfile;
    integer i, t, ch, n;
    initial begin
        `TB_PLUSARGS(tb_scan, "tb_scan.vcd")
        $readmemh({hexdir, "/x.in.hex"}, x_m);
        $readmemh({hexdir, "/delta.in.hex"}, dl_m);
        $readmemh({hexdir, "/z.in.hex"}, z_m);
        $readmemh({hexdir, "/b.in.hex"}, b_m);
        $readmemh({hexdir, "/c.in.hex"}, c_m);
        $readmemh({hexdir, "/aneg.in.hex"}, an_m);
        $readmemh({hexdir, "/step_log2.in.hex"}, sl_m);
        $readmemh({hexdir, "/ustep_m.in.hex"}, usm_m);
        $readmemh({hexdir, "/ustep_shift.in.hex"}, uss_m);
        $readmemh({hexdir, "/ystep_m.in.hex"}, ysm_m);
        $readmemh({hexdir, "/ystep_shift.in.hex"}, yss_m);
        $readmemh({hexdir, "/eg.in.hex"}, eg_m);
        $readmemh({hexdir, "/uchan_m.in.hex"}, ucm_m);
        $readmemh({hexdir, "/uchan_shift.in.hex"}, ucs_m);
        $readmemh({hexdir, "/uchan_norm.in.hex"}, ucn_m);
        $readmemh({hexdir, "/skip_shift.in.hex"}, sks_m);
        $readmemh({hexdir, "/skip_d.in.hex"}, skd_m);
        $readmemh({hexdir, "/gate_m.in.hex"}, gm_m);
        $readmemh({hexdir, "/gate_shift.in.hex"}, gs_m);
        $readmemh({hexdir, "/table.in.hex"}, tab_m);
        $readmemh({hexdir, "/out.exp.hex"}, out_exp);
        $readmemh({hexdir, "/y.exp.hex"}, y_exp);
        $readmemh({hexdir, "/v.exp.hex"}, v_exp);
        repeat (3) @(negedge clk);
        rst_n = 1'b1;
        for (i = 0; i < NE; i = i + 1) begin
            @(negedge clk);
            ld_en   = 1'b1;
            ld_addr = i[TBITS:0];
            ld_data = tab_m[i];
        end
        @(negedge clk);
        ld_en = 1'b0;
        for (t = 0; t < L; t = t + 1) begin
            for (ch = 0; ch < E; ch = ch + 1) begin
                i = t * E + ch;
                first       = (t == 0);
                d           = ch[DB-1:0];
                delta       = dl_m[i];
                x           = x_m[i];
                z           = z_m[i];
                for (n = 0; n < N; n = n + 1) begin
                    b_vec[8*n +: 8]     = b_m[t * N + n];
                    c_vec[8*n +: 8]     = c_m[t * N + n];
                    aneg_vec[32*n +: 32] = an_m[ch * N + n];
                end
                step_log2   = sl_m[t];
                ustep_m     = usm_m[t];
                ustep_shift = uss_m[t];
                ystep_m     = ysm_m[t];
                ystep_shift = yss_m[t];
                eg          = eg_m[t];
                uchan_m     = ucm_m[ch];
                uchan_shift = ucs_m[ch];
                uchan_norm  = ucn_m[ch];
                skip_shift  = sks_m[ch];
                skip_d      = skd_m[ch];
                gate_m      = gm_m[ch];
                gate_shift  = gs_m[ch];
                in_valid    = 1'b1;
                // in_ready is stable at a falling edge: the job is taken at
                // the rising edge after the first falling edge that sees it.
                while (!in_ready)
                    @(negedge clk);
                @(negedge clk);
            end
        end
        in_valid = 1'b0;
        wait (nout == NJ);
        @(negedge clk);
        `TB_VERDICT(NJ)
    end
endmodule

`default_nettype wire
