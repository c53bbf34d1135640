// vimsim reference RTL: the integer RMSNorm unit (docs/RTL.md §8), bit-exact
// to hw/datapath RMSNorm and NormUnit.Rsqrt (DATAPATH.md §7). Per row of
// d_len int32 values x_c:
//
//   v    = sum x_c^2 + eps_d          (64-bit unsigned; 2^64 - 1 on overflow)
//   p    = bitlen(v) - 1,  e = p >> 1
//   m    = v << (30 - 2e)  or  v >> (2e - 30)          Q2.30 in [1, 4)
//   r0   = seed[(m >> (30 - TB)) - 2^TB]               Q1.15
//   r    = (r0 * (3*2^30 - ((m*r0^2 + 2^29) >> 30)) + 2^15) >> 16   Q1.30
//   n_c  = (x_c*r + 2^(sh-1)) >>> sh,  sh = 30 + e - frac
//   y_c  = sat_OUT_BITS(((int32(n_c*gamma_c) * out_m + 2^(s-1)) >>> s) + zp),
//          s = out_shift
//
// and y_c = zp for every c when v = 0. frac = 31 - GammaBits. The row enters
// on in_* (one value per cycle while in_ready), is kept in the row buffer,
// and leaves on out_* (one value per cycle, no back-pressure) after the
// rsqrt (4 cycles): the last value of a row is taken at edge k, its first
// output is sampled at edge k + 6, the row's D outputs at k + 6 .. k + D + 5,
// and in_ready returns with the last output (one row per 2D + 4 cycles).
// out_r and out_e carry the row's rsqrt (r, e) with every output. gamma (MAXD int16) and the 3*2^TB seed entries are
// written through the load ports; the other constants are static inputs.
`default_nettype none

module rmsnorm #(
    parameter integer MAXD     = 1024,
    parameter integer TB       = 5,
    parameter integer OUT_BITS = 8,
    parameter integer AB       = (MAXD > 1) ? $clog2(MAXD) : 1
) (
    input  wire                       clk,
    input  wire                       rst_n,
    // load ports
    input  wire                       seed_we,
    input  wire [TB+1:0]              seed_addr,
    input  wire [15:0]                seed_data,
    input  wire                       gamma_we,
    input  wire [AB-1:0]              gamma_addr,
    input  wire signed [15:0]         gamma_data,
    // static configuration
    input  wire [AB-1:0]              d_last,   // row length - 1
    input  wire [63:0]                eps_d,
    input  wire [30:0]                out_m,
    input  wire [5:0]                 out_shift,
    input  wire signed [31:0]         zp,
    input  wire [4:0]                 frac,
    // row in
    input  wire                       in_valid,
    output wire                       in_ready,
    input  wire signed [31:0]         in_x,
    // row out
    output reg                        out_valid,
    output reg  signed [OUT_BITS-1:0] out_y,
    output reg                        out_sat,
    output reg                        out_ovf,  // sum of squares overflowed (once per row, with its first output)
    output reg  [31:0]                out_r,    // rsqrt tap: the row's r (UQ1.30), 0 when v = 0
    output reg  [4:0]                 out_e     // rsqrt tap: the row's e (1/sqrt(v) ~ r * 2^(-30-e)), 0 when v = 0
);
    localparam [2:0] S_IN = 3'd0, S_V = 3'd1, S_NORM = 3'd2, S_SEED = 3'd3, S_RSQ = 3'd4, S_OUT = 3'd5;
    localparam signed [63:0] QMAX = (64'sd1 <<< (OUT_BITS - 1)) - 64'sd1;
    localparam signed [63:0] QMIN = -(64'sd1 <<< (OUT_BITS - 1));

    reg signed [31:0] rowbuf [0:MAXD-1];
    reg signed [15:0] gamma  [0:MAXD-1];
    reg [15:0]        seed   [0:3*(1<<TB)-1];

    always @(posedge clk) begin
        if (gamma_we)
            gamma[gamma_addr] <= gamma_data;
        if (seed_we)
            seed[seed_addr] <= seed_data;
    end

    reg [2:0]     st;
    reg [AB-1:0]  cnt;
    reg [63:0]    ss;
    reg           over;
    reg [63:0]    v;
    reg           vzero;
    reg [5:0]     e;
    reg [31:0]    m;
    reg [15:0]    r0;
    reg [31:0]    r;

    assign in_ready = (st == S_IN);

    // Sum of squares with carry detection.
    wire [63:0] sq    = in_x * in_x;
    wire [64:0] ss_n  = {1'b0, ss} + {1'b0, sq};
    wire [64:0] v_n   = {1'b0, ss} + {1'b0, eps_d};

    // Leading one of v.
    /* verilator lint_off UNUSEDSIGNAL */
    reg [5:0] p;          // p[0] only decides m, through e and the shift
    /* verilator lint_on UNUSEDSIGNAL */
    integer b;
    always @(*) begin
        p = 6'd0;
        for (b = 0; b < 64; b = b + 1)
            if (v[b])
                p = b[5:0];
    end
    wire [5:0]  e_n   = {1'b0, p[5:1]};
    wire [6:0]  two_e = {e_n, 1'b0};
    /* verilator lint_off UNUSEDSIGNAL */
    wire [63:0] m_n   = (two_e <= 7'd30) ? (v << (7'd30 - two_e)) : (v >> (two_e - 7'd30));

    /* verilator lint_on UNUSEDSIGNAL */
    // Newton step, unsigned 64-bit as the Go code.
    wire [TB+1:0] idx = m[31:30-TB] - (1 << TB);
    wire [63:0] r0sq  = {48'd0, r0} * {48'd0, r0};
    wire [63:0] t     = ({32'd0, m} * r0sq + 64'd536870912) >> 30;
    wire [63:0] dd    = 64'd3221225472 - t;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [63:0] r1    = ({48'd0, r0} * dd + 64'd32768) >> 16;   // uint32(r1)
    /* verilator lint_on UNUSEDSIGNAL */

    // Output path.
    wire signed [31:0]  xj  = rowbuf[cnt];
    wire signed [15:0]  gj  = gamma[cnt];
    wire [6:0]          sh  = 7'd30 + {1'b0, e} - {2'b00, frac};
    wire signed [63:0]  xr  = xj * $signed({32'd0, r});
    wire signed [63:0]  nr  = (xr + (64'sd1 <<< (sh - 7'd1))) >>> sh;
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [63:0]  ag  = nr * gj;          // int32(n*gamma) as in the Go model
    /* verilator lint_on UNUSEDSIGNAL */
    wire signed [31:0]  a32 = ag[31:0];
    wire signed [63:0]  pm  = a32 * $signed({33'd0, out_m});
    wire signed [63:0]  rq  = (pm + (64'sd1 <<< (out_shift - 6'd1))) >>> out_shift;
    wire signed [63:0]  yv  = rq + {{32{zp[31]}}, zp};
    wire                hi  = (yv > QMAX);
    wire                lo  = (yv < QMIN);

    always @(posedge clk) begin
        if (!rst_n) begin
            st        <= S_IN;
            cnt       <= {AB{1'b0}};
            ss        <= 64'd0;
            over      <= 1'b0;
            out_valid <= 1'b0;
        end else begin
            out_valid <= 1'b0;
            case (st)
                S_IN: if (in_valid) begin
                    rowbuf[cnt] <= in_x;
                    ss          <= ss_n[63:0];
                    over        <= over | ss_n[64];
                    if (cnt == d_last) begin
                        cnt <= {AB{1'b0}};
                        st  <= S_V;
                    end else begin
                        cnt <= cnt + 1'b1;
                    end
                end
                S_V: begin
                    if (over || v_n[64]) begin
                        v    <= 64'hffffffffffffffff;
                        over <= 1'b1;
                    end else begin
                        v <= v_n[63:0];
                    end
                    vzero <= !over && (v_n == 65'd0);
                    st    <= S_NORM;
                end
                S_NORM: begin
                    e  <= e_n;
                    m  <= m_n[31:0];
                    st <= S_SEED;
                end
                S_SEED: begin
                    r0 <= seed[idx];
                    st <= S_RSQ;
                end
                S_RSQ: begin
                    r  <= r1[31:0];
                    st <= S_OUT;
                end
                S_OUT: begin
                    out_valid <= 1'b1;
                    out_ovf   <= over && (cnt == {AB{1'b0}});
                    out_r     <= vzero ? 32'd0 : r;
                    out_e     <= vzero ? 5'd0 : e[4:0];
                    if (vzero) begin
                        out_y   <= zp[OUT_BITS-1:0];
                        out_sat <= 1'b0;
                    end else begin
                        out_y   <= hi ? QMAX[OUT_BITS-1:0] : lo ? QMIN[OUT_BITS-1:0] : yv[OUT_BITS-1:0];
                        out_sat <= hi | lo;
                    end
                    if (cnt == d_last) begin
                        cnt  <= {AB{1'b0}};
                        ss   <= 64'd0;
                        over <= 1'b0;
                        st   <= S_IN;
                    end else begin
                        cnt <= cnt + 1'b1;
                    end
                end
                default: st <= S_IN;
            endcase
        end
    end
endmodule

`default_nettype wire
