// vimsim reference RTL: one lane of the selective-scan (SSM) unit
// (docs/RTL.md §7), bit-exact to hw/datapath Scan (DATAPATH.md §8). A job is
// one step t of one channel d of one direction; the lane keeps the carried
// int8 states q[d][n] of MAXE channels in its state memory and runs the N
// states one per cycle through its exponent unit:
//
//   Xu    = sat32(UStep.Apply(int32(UChan.Apply(delta*x, 0)), UChanNorm - 16))
//   per state n (q = 0 when first):
//     z    = StepLog2 - delta*ANeg[n]                          (40 bits, exact)
//     A'   = Exp2(min(z, ZMAX))                                 UQ8.16
//     Hacc = A'*q + Xu*B[n]
//     q    = satS((Hacc + 2^15) >>> 16)                       (written back)
//     H    = sat20((Hacc + 2^(S-1)) >>> S)
//   (S = SBITS = 8; with the int16 state S = 16 and Hacc = A'*q + (Xu*B[n] << 8))
//     Yacc = Yacc + H*C[n]                                    (32-bit, wraps)
//   y'    = sat8(YStep.Apply(Yacc, eg))
//   V     = ShiftRound(y', eg + SkipShift) + SkipD*x
//   out   = sat16(Gate.Apply(int32(V*z), 0))
//
// where M.Apply(x, e) = (x*M.m + 2^(s-1)) >>> s with s = min(M.shift + e, 63)
// and ShiftRound(v, k) = v << k for k >= 0, (v + 2^(-k-1)) >>> -k for
// -63 <= k < 0 and 0 for k < -63. A job is accepted when in_valid &&
// in_ready, which latches every job operand; the lane is busy for N + 6
// cycles and then pulses out_valid for one cycle with the gated output, the
// y' and V taps and the job's saturation flags (no back-pressure), in the
// same cycle as in_ready returns. Each state cycle also drives the state tap
// (st_valid with A', the new q, H and that state's flags). The exponent
// table is written through the load port before the first job.
`default_nettype none

module scan_lane #(
    parameter integer N     = 16,   // states
    parameter integer MAXE  = 384,  // channels of the state memory
    parameter integer TBITS = 7,    // exponent table bits
    parameter integer SBITS = 8,    // carried state width: 8 or 16 (DATAPATH.md §8.6)
    parameter integer DB    = (MAXE > 1) ? $clog2(MAXE) : 1
) (
    input  wire                 clk,
    input  wire                 rst_n,
    // exponent table load port
    input  wire                 ld_en,
    input  wire [TBITS:0]       ld_addr,
    input  wire [31:0]          ld_data,
    // job
    input  wire                 in_valid,
    output wire                 in_ready,
    input  wire                 first,
    input  wire [DB-1:0]        d,
    input  wire signed [7:0]    delta,
    input  wire signed [7:0]    x,
    input  wire signed [7:0]    z,
    input  wire [N*8-1:0]       b_vec,
    input  wire [N*8-1:0]       c_vec,
    input  wire [N*32-1:0]      aneg_vec,
    input  wire signed [31:0]   step_log2,
    input  wire [30:0]          ustep_m,
    input  wire [5:0]           ustep_shift,
    input  wire [30:0]          ystep_m,
    input  wire [5:0]           ystep_shift,
    input  wire signed [7:0]    eg,
    input  wire [30:0]          uchan_m,
    input  wire [5:0]           uchan_shift,
    input  wire signed [7:0]    uchan_norm,
    input  wire signed [7:0]    skip_shift,
    input  wire signed [31:0]   skip_d,
    input  wire [30:0]          gate_m,
    input  wire [5:0]           gate_shift,
    // result
    output reg                  out_valid,
    output reg  signed [15:0]   out_gated,
    output reg  signed [7:0]    out_y,
    output reg  signed [31:0]   out_v,
    output reg  [6:0]           out_flags,  // clamped: {out, y', Yacc overflow, H, q, exponent input, Xu}
    // state tap: one cycle per state n = 0..N-1 of every job
    output reg                  st_valid,
    output reg  [31:0]          st_a,       // A' (UQ8.16, bits 31:24 zero)
    output reg  signed [SBITS-1:0] st_q,    // new carried state
    output reg  signed [19:0]   st_h,       // H
    output reg  [2:0]           st_flags    // clamped: {H, q, exponent input}
);
    localparam integer NB = (N > 1) ? $clog2(N) : 1;
    localparam integer NL = N - 1;
    localparam integer YW = 33 + NB;   // exact Yacc: N products |H*C| <= 2^26
    localparam [2:0] S_IDLE = 3'd0, S_Y1 = 3'd1, S_XU = 3'd2, S_ST = 3'd3,
                     S_YQ = 3'd4, S_V = 3'd5, S_G = 3'd6;

    // Latched job.
    reg                first_r;
    reg [DB-1:0]       d_r;
    reg signed [7:0]   delta_r, x_r, z_r, eg_r, uchan_norm_r, skip_shift_r;
    reg [N*8-1:0]      b_r, c_r;
    reg [N*32-1:0]     aneg_r;
    reg signed [31:0]  step_log2_r, skip_d_r;
    reg [30:0]         ustep_m_r, ystep_m_r, uchan_m_r, gate_m_r;
    reg [5:0]          ustep_shift_r, ystep_shift_r, uchan_shift_r, gate_shift_r;

    reg [2:0]          st;
    reg [NB-1:0]       n;
    reg signed [31:0]  y1_r;   // int32(UChan.Apply(delta*x))
    reg signed [31:0]  xu_r;
    reg signed [YW-1:0] yacc;  // exact sum; the model uses its low 32 bits
    reg                xu_sat_r;
    reg [2:0]          st_any;   // OR of the state flags of the job
    reg signed [7:0]   yq_r;
    reg signed [63:0]  v_r;

    assign in_ready = (st == S_IDLE);

    // min(a + b, 63) for a multiplier shift a and a signed extra shift b.
    function [5:0] tot_shift(input [5:0] a, input signed [8:0] b);
        reg signed [9:0] t;
        begin
            t = $signed({4'b0000, a}) + {b[8], b};
            tot_shift = (t > 10'sd63) ? 6'd63 : t[5:0];
        end
    endfunction

    // (x * m + 2^(s-1)) >>> s, exact (x up to 64 bits signed, m 31 bits).
    function signed [95:0] apply_mult(input signed [63:0] xv, input [30:0] m, input [5:0] s);
        reg signed [95:0] p;
        begin
            p = {{32{xv[63]}}, xv} * $signed({65'd0, m});
            apply_mult = (p + (96'sd1 <<< (s - 6'd1))) >>> s;
        end
    endfunction

    // -- stage Y1 / XU
    wire signed [15:0] dx   = delta_r * x_r;
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [95:0] y1w  = apply_mult({{48{dx[15]}}, dx}, uchan_m_r, uchan_shift_r);
    wire [5:0]         xu_s = tot_shift(ustep_shift_r, {uchan_norm_r[7], uchan_norm_r} - 9'sd16);
    wire signed [95:0] xuw  = apply_mult({{32{y1_r[31]}}, y1_r}, ustep_m_r, xu_s);
    /* verilator lint_on UNUSEDSIGNAL */
    wire               xu_hi = (xuw > 96'sd2147483647);
    wire               xu_lo = (xuw < -96'sd2147483648);

    // -- stage ST: state n
    wire signed [7:0]  b_n    = b_r[8*n +: 8];
    wire signed [7:0]  c_n    = c_r[8*n +: 8];
    wire signed [31:0] aneg_n = aneg_r[32*n +: 32];
    wire signed [39:0] dan    = delta_r * aneg_n;
    wire signed [47:0] zz     = {{16{step_log2_r[31]}}, step_log2_r} - {{8{dan[39]}}, dan};
    wire [31:0]        a_exp;
    wire               a_sat;
    exp2_core #(.ZW(48), .TBITS(TBITS), .SAT_MAX(0)) exp2 (
        .clk(clk), .ld_en(ld_en), .ld_addr(ld_addr), .ld_data(ld_data),
        .z(zz), .y(a_exp), .sat(a_sat));

    // State memory: channel d, state n at {d, n} (MAXE and N rounded up to
    // powers of two).
    // The int16 state (SBITS = 16) shifts the input term left by 8 and H
    // right by 16 instead of 8 (DATAPATH.md §8.6); |Hacc| < 2^47.
    localparam signed [47:0] QMAX = (48'sd1 <<< (SBITS - 1)) - 48'sd1;
    localparam signed [47:0] QMIN = -(48'sd1 <<< (SBITS - 1));
    reg [SBITS-1:0] mem [0:(1<<(DB+NB))-1];
    wire [DB+NB-1:0] addr = {d_r, n};
    wire signed [SBITS-1:0] q_old = first_r ? {SBITS{1'b0}} : mem[addr];
    wire signed [47:0] xb    = xu_r * b_n;
    wire signed [47:0] hacc  = $signed({16'd0, a_exp}) * q_old + (xb <<< (SBITS - 8));
    wire signed [47:0] qr    = (hacc + 48'sd32768) >>> 16;
    wire               q_sat = (qr > QMAX) || (qr < QMIN);
    wire signed [SBITS-1:0] q_new = (qr > QMAX) ? QMAX[SBITS-1:0] : (qr < QMIN) ? QMIN[SBITS-1:0] : qr[SBITS-1:0];
    wire signed [47:0] hr    = (hacc + (48'sd1 <<< (SBITS - 1))) >>> SBITS;
    wire               h_sat = (hr > 48'sd524287) || (hr < -48'sd524288);
    wire signed [19:0] h     = (hr > 48'sd524287) ? 20'sd524287 : (hr < -48'sd524288) ? -20'sd524288 : hr[19:0];
    wire signed [31:0] hc    = h * c_n;
    wire [2:0]         st_f  = {h_sat, q_sat, a_sat};

    // -- stage YQ
    wire [5:0]         y_s  = tot_shift(ystep_shift_r, {eg_r[7], eg_r});
    wire signed [31:0] y32  = yacc[31:0];     // int32(Yacc), wrapped as the Go model
    wire               y_ovf = (yacc != {{(YW-32){y32[31]}}, y32});
    wire signed [95:0] yw   = apply_mult({{32{y32[31]}}, y32}, ystep_m_r, y_s);
    wire               yq_sat = (yw > 96'sd127) || (yw < -96'sd128);
    wire signed [7:0]  yq   = (yw > 96'sd127) ? 8'sd127 : (yw < -96'sd128) ? -8'sd128 : yw[7:0];
    reg [5:0]          flag_r;

    // -- stage V: ShiftRound(y', k) + SkipD*x, k = eg + SkipShift
    wire signed [8:0]  k    = {eg_r[7], eg_r} + {skip_shift_r[7], skip_shift_r};
    wire [8:0]         kn   = -k;
    wire signed [63:0] yq64 = {{56{yq_r[7]}}, yq_r};
    wire signed [63:0] shl  = (k > 9'sd63) ? 64'sd0 : (yq64 <<< k[5:0]);
    wire signed [63:0] shr  = (kn > 9'd63) ? 64'sd0 : ((yq64 + (64'sd1 <<< (kn[5:0] - 6'd1))) >>> kn[5:0]);
    wire signed [63:0] vw   = ((k >= 0) ? shl : shr) + skip_d_r * x_r;

    // -- stage G
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [63:0] gw   = v_r * z_r;      // int32(V*z) as in the Go model
    /* verilator lint_on UNUSEDSIGNAL */
    wire signed [95:0] ow   = apply_mult({{32{gw[31]}}, gw[31:0]}, gate_m_r, gate_shift_r);
    wire               o_sat = (ow > 96'sd32767) || (ow < -96'sd32768);
    wire signed [15:0] o16  = (ow > 96'sd32767) ? 16'sd32767 : (ow < -96'sd32768) ? -16'sd32768 : ow[15:0];

    always @(posedge clk) begin
        if (!rst_n) begin
            st        <= S_IDLE;
            out_valid <= 1'b0;
            st_valid  <= 1'b0;
        end else begin
            out_valid <= 1'b0;
            st_valid  <= 1'b0;
            case (st)
                S_IDLE: if (in_valid) begin
                    first_r       <= first;
                    d_r           <= d;
                    delta_r       <= delta;
                    x_r           <= x;
                    z_r           <= z;
                    b_r           <= b_vec;
                    c_r           <= c_vec;
                    aneg_r        <= aneg_vec;
                    step_log2_r   <= step_log2;
                    ustep_m_r     <= ustep_m;
                    ustep_shift_r <= ustep_shift;
                    ystep_m_r     <= ystep_m;
                    ystep_shift_r <= ystep_shift;
                    eg_r          <= eg;
                    uchan_m_r     <= uchan_m;
                    uchan_shift_r <= uchan_shift;
                    uchan_norm_r  <= uchan_norm;
                    skip_shift_r  <= skip_shift;
                    skip_d_r      <= skip_d;
                    gate_m_r      <= gate_m;
                    gate_shift_r  <= gate_shift;
                    st            <= S_Y1;
                end
                S_Y1: begin
                    y1_r <= y1w[31:0];
                    st   <= S_XU;
                end
                S_XU: begin
                    xu_r     <= xu_hi ? 32'sh7fffffff : xu_lo ? 32'sh80000000 : xuw[31:0];
                    xu_sat_r <= xu_hi | xu_lo;
                    n        <= {NB{1'b0}};
                    yacc     <= {YW{1'b0}};
                    st_any   <= 3'b000;
                    st       <= S_ST;
                end
                S_ST: begin
                    mem[addr] <= q_new;
                    yacc      <= yacc + {{(YW-32){hc[31]}}, hc};
                    st_any    <= st_any | st_f;
                    st_valid  <= 1'b1;
                    st_a      <= a_exp;
                    st_q      <= q_new;
                    st_h      <= h;
                    st_flags  <= st_f;
                    n         <= n + 1'b1;
                    if (n == NL[NB-1:0])
                        st <= S_YQ;
                end
                S_YQ: begin
                    yq_r   <= yq;
                    flag_r <= {yq_sat, y_ovf, st_any, xu_sat_r};
                    st     <= S_V;
                end
                S_V: begin
                    v_r <= vw;
                    st  <= S_G;
                end
                S_G: begin
                    out_gated <= o16;
                    out_y     <= yq_r;
                    out_v     <= v_r[31:0];
                    out_flags <= {o_sat, flag_r};
                    out_valid <= 1'b1;
                    st        <= S_IDLE;
                end
                default: st <= S_IDLE;
            endcase
        end
    end
endmodule

`default_nettype wire
