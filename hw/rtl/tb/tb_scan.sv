// vimsim self-checking testbench: one direction of one layer's selective
// scan on a scan_lane (docs/RTL.md §7, §9.3). Jobs run in scan order, step
// t outer, channel d inner. Stimulus, all row-major in scan order:
//   x, delta, z          L x E int8   (x.in.hex, delta.in.hex, z.in.hex)
//   b, c                 L x N int8   (b.in.hex, c.in.hex)
//   aneg                 E x N int32  (aneg.in.hex)
//   per step t (L lines): step_log2 int32, ustep_m/ystep_m 31-bit mantissas,
//     ustep_shift/ystep_shift 6-bit, eg int8 (the token group's shift)
//   per channel d (E lines): uchan_m, gate_m 31-bit, uchan_shift, gate_shift
//     6-bit, uchan_norm, skip_shift int8, skip_d int32
//   table.in.hex         2^TBITS + 1 exponent table entries, 32-bit
// Expected: out.exp.hex (L x E int16 gated output), y.exp.hex (L x E int8,
// y'), v.exp.hex (L x E int32, the D-skip sum V), flags.exp.hex (L x E,
// 7-bit saturation flags); with `define SCAN_STATE_TAPS in params.vh also
// the state tap, L x E x N: abar.exp.hex (A', 32-bit), q.exp.hex (int8),
// h.exp.hex (int20), stflags.exp.hex (3 bits).
// Checks the documented timing: a job accepted at rising edge k comes out
// at edge k + N + 6, in_ready is low exactly at edges k+1 .. k+N+5 (one job
// per N + 6 cycles) and high otherwise, N state taps per job between the
// two; out_valid/st_valid/in_ready are never X, the valid outputs low during
// reset. The driver either presents the next job while the lane is busy
// (in_valid held high: back-pressure) or drives junk on every job input
// until it is ready again and a few cycles more (the lane must have latched
// its job at acceptance), and drives junk with in_valid high during reset.
// Plusargs: +hexdir=DIR, +vcd[=FILE].
`timescale 1ns/1ps
`default_nettype none
`include "tb_common.svh"
// Testbench style: blocking assignments in clocked processes are intended,
// junk and random words are used in part.
/* verilator lint_off BLKSEQ */
/* verilator lint_off UNUSEDSIGNAL */

module tb_scan;
    /* verilator lint_off UNUSEDPARAM */
`include "params.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam integer NJ = L * E;
    localparam integer NE = (1 << TBITS) + 1;
    localparam integer DB = (E > 1) ? $clog2(E) : 1;
    localparam integer LAT = N + 6;   // docs/RTL.md §7
`ifdef VIMSIM_SBITS
    localparam integer SBITS = `VIMSIM_SBITS;  // carried state width (DATAPATH.md §15.3)
`else
    localparam integer SBITS = 8;
`endif
    localparam integer MAX_SHOW = 10;
    localparam integer WDOG = 2 * WATCHDOG_CYCLES + 100;
`ifdef SCAN_STATE_TAPS
    localparam integer NS = NJ * N;
`else
    localparam integer NS = 1;
`endif

    `TB_CLOCK
    `TB_RNG

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
    reg [6:0]  f_exp [0:NJ-1];
    reg [31:0] sa_exp [0:NS-1];
    reg [SBITS-1:0] sq_exp [0:NS-1];
    reg [19:0] sh_exp [0:NS-1];
    reg [2:0]  sf_exp [0:NS-1];

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
    wire                out_valid, st_valid;
    wire signed [15:0]  out_gated;
    wire signed [7:0]   out_y;
    wire signed [SBITS-1:0] st_q;
    wire signed [31:0]  out_v;
    wire [6:0]          out_flags;
    wire [31:0]         st_a;
    wire signed [19:0]  st_h;
    wire [2:0]          st_flags;

    scan_lane #(.N(N), .MAXE(E), .TBITS(TBITS), .SBITS(SBITS)) dut (
        .clk(clk), .rst_n(rst_n), .ld_en(ld_en), .ld_addr(ld_addr), .ld_data(ld_data),
        .in_valid(in_valid), .in_ready(in_ready), .first(first), .d(d),
        .delta(delta), .x(x), .z(z), .b_vec(b_vec), .c_vec(c_vec), .aneg_vec(aneg_vec),
        .step_log2(step_log2), .ustep_m(ustep_m), .ustep_shift(ustep_shift),
        .ystep_m(ystep_m), .ystep_shift(ystep_shift), .eg(eg),
        .uchan_m(uchan_m), .uchan_shift(uchan_shift), .uchan_norm(uchan_norm),
        .skip_shift(skip_shift), .skip_d(skip_d), .gate_m(gate_m), .gate_shift(gate_shift),
        .out_valid(out_valid), .out_gated(out_gated), .out_y(out_y), .out_v(out_v), .out_flags(out_flags),
        .st_valid(st_valid), .st_a(st_a), .st_q(st_q), .st_h(st_h), .st_flags(st_flags));

    integer cyc = 0, nin = 0, nout = 0, nst = 0, errors = 0, ferrors = 0, terrors = 0;
    integer busy_until = 0;
    integer t_in [0:NJ-1];
    always @(posedge clk) begin
        `TB_CHECK_BIT(out_valid, "out_valid")
        `TB_CHECK_BIT(st_valid, "st_valid")
        if (cyc > 0 && rst_n && in_ready !== 1'b0 && in_ready !== 1'b1)
            $fatal(1, "FAIL: in_ready is %b at cycle %0d", in_ready, cyc);
        if (cyc > WDOG)
            $fatal(1, "FAIL: watchdog after %0d cycles (%0d of %0d jobs)", cyc, nout, NJ);
        if (rst_n && cyc > 0 && in_ready !== (cyc >= busy_until)) begin
            if (terrors < MAX_SHOW)
                $display("TIMING in_ready=%b at edge %0d, want %b (last job accepted at edge %0d)", in_ready, cyc,
                         cyc >= busy_until, busy_until - LAT);
            terrors = terrors + 1;
        end
        if (rst_n && in_valid && in_ready) begin
            t_in[nin] = cyc;
            nin = nin + 1;
            busy_until = cyc + LAT;
        end
        if (st_valid === 1'b1) begin
            if (nst >= nin * N)
                $fatal(1, "FAIL: state tap %0d at cycle %0d before its job", nst, cyc);
`ifdef SCAN_STATE_TAPS
            if (st_a !== sa_exp[nst] || st_q !== sq_exp[nst] || st_h !== sh_exp[nst]) begin
                if (errors < MAX_SHOW)
                    $display("MISMATCH state tap index=%0d (t=%0d d=%0d n=%0d) got a=%0d q=%0d h=%0d exp a=%0d q=%0d h=%0d",
                             nst, nst / (E * N), (nst / N) % E, nst % N, st_a, st_q, st_h,
                             sa_exp[nst], $signed(sq_exp[nst]), $signed(sh_exp[nst]));
                errors = errors + 1;
            end
            if (st_flags !== sf_exp[nst]) begin
                if (ferrors < MAX_SHOW)
                    $display("FLAG MISMATCH state tap index=%0d (t=%0d d=%0d n=%0d) got %b exp %b", nst,
                             nst / (E * N), (nst / N) % E, nst % N, st_flags, sf_exp[nst]);
                ferrors = ferrors + 1;
            end
`endif
            nst = nst + 1;
        end
        if (out_valid === 1'b1) begin
            if (nout >= nin)
                $fatal(1, "FAIL: output %0d at cycle %0d before its job", nout, cyc);
            if (cyc != t_in[nout] + LAT || nst != (nout + 1) * N) begin
                if (terrors < MAX_SHOW)
                    $display("TIMING index=%0d output at edge %0d, job at edge %0d: latency %0d, want %0d; %0d state taps, want %0d",
                             nout, cyc, t_in[nout], cyc - t_in[nout], LAT, nst - nout * N, N);
                terrors = terrors + 1;
            end
            if (out_gated !== out_exp[nout] || out_y !== y_exp[nout] || out_v !== v_exp[nout]) begin
                if (errors < MAX_SHOW)
                    $display("MISMATCH index=%0d (t=%0d d=%0d) got out=%0d y=%0d v=%0d exp out=%0d y=%0d v=%0d", nout,
                             nout / E, nout % E, out_gated, out_y, out_v,
                             $signed(out_exp[nout]), $signed(y_exp[nout]), $signed(v_exp[nout]));
                errors = errors + 1;
            end
            if (out_flags !== f_exp[nout]) begin
                if (ferrors < MAX_SHOW)
                    $display("FLAG MISMATCH index=%0d (t=%0d d=%0d) got %b exp %b", nout, nout / E, nout % E,
                             out_flags, f_exp[nout]);
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
            first       = junk[0];
            d           = junk[DB:1];
            delta       = junk[39:32];
            x           = junk[47:40];
            z           = junk[55:48];
            eg          = junk[63:56];
            uchan_norm  = junk[71:64];
            skip_shift  = junk[79:72];
            step_log2   = junk[127:96];
            skip_d      = junk[159:128];
            ustep_m     = junk[190:160];
            ystep_m     = junk[222:192];
            uchan_m     = junk[254:224];
            gate_m      = junk[286:256];
            ustep_shift = junk[293:288];
            ystep_shift = junk[301:296];
            uchan_shift = junk[309:304];
            gate_shift  = junk[317:312];
            tb_junk(junk);
            b_vec       = junk[N*8-1:0];
            c_vec       = junk[N*16-1:N*8];
            tb_junk(junk);
            aneg_vec    = junk[N*32-1:0];
        end
    endtask

    reg [N*8-1:0]  b_v, c_v;
    reg [N*32-1:0] a_v;
    task drive_job(input integer i);
        integer t, ch, n;
        begin
            t  = i / E;
            ch = i % E;
            for (n = 0; n < N; n = n + 1) begin
                b_v[8*n +: 8]   = b_m[t * N + n];
                c_v[8*n +: 8]   = c_m[t * N + n];
                a_v[32*n +: 32] = an_m[ch * N + n];
            end
            in_valid    = 1'b1;
            first       = (t == 0);
            d           = ch[DB-1:0];
            delta       = dl_m[i];
            x           = x_m[i];
            z           = z_m[i];
            // Whole-bus assignments (Verilator 5.006, docs/RTL.md §9.3).
            b_vec       = b_v;
            c_vec       = c_v;
            aneg_vec    = a_v;
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
        end
    endtask

    string hexdir, vcdfile;
    integer i, gap;
    reg [31:0] r;
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
        $readmemh({hexdir, "/flags.exp.hex"}, f_exp);
`ifdef SCAN_STATE_TAPS
        $readmemh({hexdir, "/abar.exp.hex"}, sa_exp);
        $readmemh({hexdir, "/q.exp.hex"}, sq_exp);
        $readmemh({hexdir, "/h.exp.hex"}, sh_exp);
        $readmemh({hexdir, "/stflags.exp.hex"}, sf_exp);
`endif
        in_valid = 1'b1;
        drive_junk;
        repeat (3) @(negedge clk);
        rst_n    = 1'b1;
        in_valid = 1'b0;
        for (i = 0; i < NE; i = i + 1) begin
            @(negedge clk);
            ld_en   = 1'b1;
            ld_addr = i[TBITS:0];
            ld_data = tab_m[i];
        end
        @(negedge clk);
        ld_en = 1'b0;
        for (i = 0; i < NJ; i = i + 1) begin
            tb_rand(r);
            if (i > 0 && r[4]) begin
                // Junk while the lane works on the previous job, then a
                // few idle cycles.
                in_valid = 1'b0;
                drive_junk;
                while (!in_ready) begin
                    @(negedge clk);
                    drive_junk;
                end
                tb_gap(gap);
                repeat (gap) begin
                    @(negedge clk);
                    drive_junk;
                end
            end
            // Present the job (held while in_ready is low); it is taken at
            // the rising edge after the first falling edge that sees
            // in_ready.
            drive_job(i);
            while (!in_ready)
                @(negedge clk);
            @(negedge clk);
        end
        in_valid = 1'b0;
        drive_junk;
        wait (nout == NJ);
        repeat (LAT + 2) @(negedge clk);
        `TB_VERDICT(NJ)
    end
endmodule

`default_nettype wire
