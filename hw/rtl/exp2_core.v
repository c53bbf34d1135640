// vimsim reference RTL: the base-2 exponent unit, combinational core
// (docs/RTL.md §6), bit-exact to hw/datapath Exp2Unit.Eval (DATAPATH.md §5)
// and to the exponent step of the scan unit:
//
//   z  signed Q.20 (ZW bits), sat = z > ZMAX = 8*2^20 - 1 (z is clamped to ZMAX)
//   u  = z >>> 20,  s = 14 - u;  y = 0 when s > 40
//   f  = z[19:0],   i = f[19 -: TBITS],  g = f[19-TBITS:0]
//   p  = T[i] + (((T[i+1] - T[i]) * g + 2^(19-TBITS)) >>> (20 - TBITS))
//   y  = (p + 2^(s-1)) >>> s                                   UQ8.16
//
// T holds 2^TBITS + 1 entries round(2^(i/2^TBITS) * 2^30) (unsigned Q1.30),
// written through the load port; reads are asynchronous (distributed RAM).
// Eval saturates to 2^24 - 1 on sat; the scan instead evaluates the clamped
// input (SAT_MAX = 0), which gives 2^(8 - 2^-20) rounded.
`default_nettype none

module exp2_core #(
    parameter integer ZW      = 32,  // input width
    parameter integer TBITS   = 7,   // table bits, 1..19
    parameter integer SAT_MAX = 1    // 1: y = 2^24 - 1 when sat (Exp2Unit.Eval)
) (
    input  wire                clk,
    input  wire                ld_en,
    input  wire [TBITS:0]      ld_addr,
    input  wire [31:0]         ld_data,
    input  wire signed [ZW-1:0] z,
    output wire [31:0]         y,
    output wire                sat
);
    localparam integer NE = (1 << TBITS) + 1;
    localparam integer SH = 20 - TBITS;

    reg [31:0] lo_mem [0:NE-1];
    reg [31:0] hi_mem [0:NE-1];
    always @(posedge clk) begin
        if (ld_en) begin
            lo_mem[ld_addr] <= ld_data;
            hi_mem[ld_addr] <= ld_data;
        end
    end

    localparam signed [ZW-1:0] ZMAX = (8 << 20) - 1;
    assign sat = (z > ZMAX);
    wire signed [ZW-1:0] zc = sat ? ZMAX : z;
    wire signed [ZW-21:0] u = zc[ZW-1:20];          // floor(z / 2^20)
    wire zero = (u < -26);                          // s > 40
    wire [19:0] f = zc[19:0];
    wire [TBITS-1:0] i = f[19 -: TBITS];
    wire [SH-1:0] g = f[SH-1:0];
    wire [TBITS:0] i1 = {1'b0, i} + 1'b1;

    wire signed [32:0] base  = {1'b0, lo_mem[{1'b0, i}]};
    wire signed [33:0] slope = {2'b00, hi_mem[i1]} - {1'b0, base};
    // 64-bit datapath: |slope * g| < 2^54, p < 2^34.
    wire signed [63:0] prod = {{30{slope[33]}}, slope} * $signed({{(64-SH){1'b0}}, g});
    wire signed [63:0] half = 64'sd1 <<< (SH - 1);
    wire signed [63:0] ip   = (prod + half) >>> SH;
    wire signed [63:0] p    = {{31{base[32]}}, base} + ip;
    // s = 14 - u in [7, 40] when !zero (u <= 7).
    wire [5:0] s = zero ? 6'd40 : 6'd14 - u[5:0];
    wire signed [63:0] hs = 64'sd1 <<< (s - 6'd1);
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [63:0] r  = (p + hs) >>> s;   // < 2^25: bits 63:32 are zero
    /* verilator lint_on UNUSEDSIGNAL */
    assign y = (SAT_MAX != 0 && sat) ? 32'h00ffffff : zero ? 32'd0 : r[31:0];
endmodule

`default_nettype wire
