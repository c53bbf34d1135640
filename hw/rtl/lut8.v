// vimsim reference RTL: the int8 -> int8 lookup unit for SiLU and softplus
// (docs/RTL.md §5), bit-exact to hw/datapath Table8.Lookup and
// ChannelTables.Apply (DATAPATH.md §6.1).
//
// The unit holds NT tables of 256 entries; channel tables pick one per
// channel (in_tbl). A table is addressed by the two's-complement bit pattern
// of the input: entry {tbl, x[7:0]}, so entries 0..127 hold x = 0..127 and
// 128..255 hold x = -128..-1. Each entry stores {clamped, value}: the clamped
// bit marks entries saturated when the table was built (the saturation
// counter's event). Tables are written through the load port; one lookup per
// cycle, out_valid follows in_valid by one cycle (a synchronous ROM/BRAM read).
`default_nettype none

module lut8 #(
    parameter integer NT = 4,                        // tables
    parameter integer TB = (NT > 1) ? $clog2(NT) : 1 // table index width
) (
    input  wire              clk,
    input  wire              rst_n,
    input  wire              ld_en,
    input  wire [TB+7:0]     ld_addr,  // {table, entry}
    input  wire [8:0]        ld_data,  // {clamped, value}
    input  wire              in_valid,
    input  wire [TB-1:0]     in_tbl,
    input  wire signed [7:0] in_x,
    output reg               out_valid,
    output reg  signed [7:0] out_y,
    output reg               out_sat
);
    reg [8:0] mem [0:(1<<TB)*256-1];   // NT rounded up to a power of two

    always @(posedge clk) begin
        if (ld_en)
            mem[ld_addr] <= ld_data;
    end

    always @(posedge clk) begin
        if (!rst_n)
            out_valid <= 1'b0;
        else
            out_valid <= in_valid;
        {out_sat, out_y} <= mem[{in_tbl, in_x}];
    end
endmodule

`default_nettype wire
