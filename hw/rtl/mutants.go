package rtl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Mutant is a plausible mistake planted in one module of the reference RTL:
// the kind of error an engineer implementing docs/RTL.md and DATAPATH.md
// makes (a latency off by one, a truncated width, a sign error, another
// rounding mode, a dropped carry, a wrong flag, the drain order, bus data in
// a bubble, a reset value, an operand read after acceptance). The golden
// vectors must make at least one set of the listed testbenches fail on it
// (the mutation harness, cmd/vimsim TestMutants and scripts/mutate.sh).
type Mutant struct {
	ID       string   // unique, "<module>-<mistake>"
	Module   string   // the module the mistake is in
	Category string   // latency, width, sign, rounding, carry, saturation, flag, order, bubble, reset, latching, handshake
	Doc      string   // the mistake, one line
	File     string   // the source file edited, relative to hw/rtl
	Edits    []Edit   // applied in order; each Old must occur exactly once
	Benches  []string // testbenches whose sets exercise the module
}

// Edit replaces the single occurrence of Old by New.
type Edit struct{ Old, New string }

// Apply returns src with m's edits applied, or an error naming the edit
// whose text does not occur exactly once.
func (m Mutant) Apply(src []byte) ([]byte, error) {
	s := string(src)
	for i, e := range m.Edits {
		if n := strings.Count(s, e.Old); n != 1 {
			return nil, fmt.Errorf("mutant %s: edit %d matches %d times in %s", m.ID, i, n, m.File)
		}
		s = strings.Replace(s, e.Old, e.New, 1)
	}
	return []byte(s), nil
}

// WriteMutated writes every reference module into dir (which must exist)
// with m applied to its file: an RTL_DIR for the vector directory's
// Makefile.
func WriteMutated(dir string, m Mutant) error {
	found := false
	for _, src := range Modules() {
		data := src.Data
		if src.Name == m.File {
			var err error
			if data, err = m.Apply(data); err != nil {
				return err
			}
			found = true
		}
		if err := os.WriteFile(filepath.Join(dir, src.Name), data, 0o644); err != nil {
			return fmt.Errorf("mutant %s: %w", m.ID, err)
		}
	}
	if !found {
		return fmt.Errorf("mutant %s: no module file %s", m.ID, m.File)
	}
	return nil
}

// e is a short constructor for one edit.
func e(old, new string) Edit { return Edit{Old: old, New: new} }

// Testbench groups of the mutants.
var (
	benchOS    = []string{"tb_gemm_tile", "tb_gemm_layer"}
	benchLayer = []string{"tb_gemm_layer"}
	benchWS    = []string{"tb_gemm_ws_tile", "tb_gemm_ws_layer"}
)

// Mutants returns the project's mutants, ordered by module.
func Mutants() []Mutant {
	return []Mutant{
		// systolic_pe
		{ID: "pe-no-restart", Module: "systolic_pe", Category: "reset", File: "systolic_pe.v", Benches: benchOS,
			Doc:   "start does not restart the accumulator: folds accumulate on top of the previous one",
			Edits: []Edit{e("acc   <= start ? prod_x : acc + prod_x;", "acc   <= acc + prod_x;")}},
		{ID: "pe-zero-extend", Module: "systolic_pe", Category: "sign", File: "systolic_pe.v", Benches: benchOS,
			Doc:   "the 16-bit product is zero-extended into the 32-bit accumulator",
			Edits: []Edit{e("{{(ACCW-AW-WW){prod[AW+WW-1]}}, prod}", "{{(ACCW-AW-WW){1'b0}}, prod}")}},
		{ID: "pe-unsigned-product", Module: "systolic_pe", Category: "sign", File: "systolic_pe.v", Benches: benchOS,
			Doc:   "int8 operands multiplied as unsigned",
			Edits: []Edit{e("prod = a_in * w_in;", "prod = $unsigned(a_in) * $unsigned(w_in);")}},
		// systolic_array_os
		{ID: "os-drain-top-first", Module: "systolic_array_os", Category: "order", File: "systolic_array_os.v", Benches: benchOS,
			Doc: "the drain shifts up and emits row 0 first (o_row names the rows correctly)",
			Edits: []Edit{
				e("if (i > 0) begin : g_above\n                    assign above = drain[i-1][j];", "if (i < R - 1) begin : g_above\n                    assign above = drain[i+1][j];"),
				e("if (i == R - 1) begin : g_out", "if (i == 0) begin : g_out"),
				e("assign o_row = left[RB-1:0] - 1'b1;", "assign o_row = R[RB-1:0] - left[RB-1:0];"),
			}},
		{ID: "os-drain-short", Module: "systolic_array_os", Category: "latency", File: "systolic_array_os.v", Benches: benchOS,
			Doc:   "the drain emits R-1 rows",
			Edits: []Edit{e("left <= R[RB:0];", "left <= R[RB:0] - 1'b1;")}},
		{ID: "os-drain-no-reset", Module: "systolic_array_os", Category: "reset", File: "systolic_array_os.v", Benches: benchOS,
			Doc:   "the drain row counter is not reset",
			Edits: []Edit{e("        if (!rst_n)\n            left <= {(RB+1){1'b0}};\n        else if (capture)", "        if (capture)")}},
		// gemm_os
		{ID: "gemm-flush-short", Module: "gemm_os", Category: "latency", File: "gemm_os.v", Benches: benchLayer,
			Doc:   "the flush after the last beat is R + C - 3 cycles: folds one cycle short",
			Edits: []Edit{e("localparam integer FLUSH = R + C - 2;", "localparam integer FLUSH = R + C - 3;")}},
		{ID: "gemm-flush-long", Module: "gemm_os", Category: "latency", File: "gemm_os.v", Benches: benchLayer,
			Doc:   "the flush after the last beat is R + C - 1 cycles: folds one cycle long",
			Edits: []Edit{e("localparam integer FLUSH = R + C - 2;", "localparam integer FLUSH = R + C - 1;")}},
		{ID: "gemm-bubble-bus", Module: "gemm_os", Category: "bubble", File: "gemm_os.v", Benches: benchLayer,
			Doc: "bus data instead of zeros enters the array when no beat is taken (bubbles, flush)",
			Edits: []Edit{e("wire [R*AW-1:0] a_now = fire ? in_a : {(R*AW){1'b0}};", "wire [R*AW-1:0] a_now = in_a;"),
				e("wire [C*WW-1:0] w_now = fire ? in_w : {(C*WW){1'b0}};", "wire [C*WW-1:0] w_now = in_w;")}},
		{ID: "gemm-flushing-reset", Module: "gemm_os", Category: "reset", File: "gemm_os.v", Benches: benchLayer,
			Doc:   "the flush flag resets to 1: a phantom fold after reset",
			Edits: []Edit{e("            in_fold  <= 1'b0;\n            flushing <= 1'b0;", "            in_fold  <= 1'b0;\n            flushing <= 1'b1;")}},
		// skew
		{ID: "skew-short", Module: "skew", Category: "latency", File: "skew.v", Benches: benchLayer,
			Doc:   "lanes i >= 2 are delayed by i - 1 cycles",
			Edits: []Edit{e("assign q[W*i +: W] = line[W*i-1 -: W];", "assign q[W*i +: W] = line[W*(i-1)-1 -: W];")}},
		// systolic_array_ws
		{ID: "ws-psum-bus", Module: "systolic_array_ws", Category: "bubble", File: "systolic_array_ws.v", Benches: benchWS,
			Doc:   "the top row adds the load bus instead of zero",
			Edits: []Edit{e("assign p_v[0][j] = {ACCW{1'b0}};", "assign p_v[0][j] = {{(ACCW-WW){1'b0}}, w_in[WW*j +: WW]};")}},
		{ID: "ws-deskew-long", Module: "systolic_array_ws", Category: "latency", File: "systolic_array_ws.v", Benches: benchWS,
			Doc:   "columns j < C-1 are deskewed by C - j cycles",
			Edits: []Edit{e("localparam integer D = C - 1 - j;", "localparam integer D = C - j;")}},
		{ID: "ws-zero-extend", Module: "systolic_array_ws", Category: "sign", File: "systolic_array_ws.v", Benches: benchWS,
			Doc:   "the 16-bit product is zero-extended into the partial sum",
			Edits: []Edit{e("{{(ACCW-AW-WW){prod[AW+WW-1]}}, prod}", "{{(ACCW-AW-WW){1'b0}}, prod}")}},
		// gemm_ws
		{ID: "gws-flush-short", Module: "gemm_ws", Category: "latency", File: "gemm_ws.v", Benches: benchWS,
			Doc:   "the flush after the last stream beat is R + C - 3 cycles",
			Edits: []Edit{e("localparam integer FLUSH = R + C - 2;", "localparam integer FLUSH = R + C - 3;")}},
		{ID: "gws-valid-late", Module: "gemm_ws", Category: "latency", File: "gemm_ws.v", Benches: benchWS,
			Doc:   "o_valid comes R + C cycles after its beat",
			Edits: []Edit{e("localparam integer VD    = R + C - 1;", "localparam integer VD    = R + C;")}},
		{ID: "gws-load-short", Module: "gemm_ws", Category: "order", File: "gemm_ws.v", Benches: benchWS,
			Doc:   "a fold takes R - 1 load beats",
			Edits: []Edit{e("if (loaded == R[LB-1:0] - 1'b1) begin", "if (loaded == R[LB-1:0] - 2'd2) begin")}},
		{ID: "gws-loading-reset", Module: "gemm_ws", Category: "reset", File: "gemm_ws.v", Benches: benchWS,
			Doc:   "the load phase flag resets to 0: the first fold's load beats are taken as stream beats",
			Edits: []Edit{e("            loading  <= 1'b1;\n            loaded   <= {LB{1'b0}};", "            loading  <= 1'b0;\n            loaded   <= {LB{1'b0}};")}},
		// requant
		{ID: "requant-latency-4", Module: "requant", Category: "latency", File: "requant.v", Benches: []string{"tb_requant"},
			Doc:   "an output register too many: latency 4",
			Edits: []Edit{e("module requant #(", "module requant_core #("), e("endmodule\n", "endmodule\n"+requantWrapper)}},
		{ID: "requant-valid-short", Module: "requant", Category: "latency", File: "requant.v", Benches: []string{"tb_requant"},
			Doc:   "the valid pipeline is one stage shorter than the data path",
			Edits: []Edit{e("out_valid <= v2;", "out_valid <= v1;")}},
		{ID: "requant-truncate", Module: "requant", Category: "rounding", File: "requant.v", Benches: []string{"tb_requant"},
			Doc:   "the product is truncated (floor) instead of rounded",
			Edits: []Edit{e("wire signed [64:0] half = 65'sd1 <<< (s2 - 6'd1);", "wire signed [64:0] half = 65'sd0;")}},
		{ID: "requant-ties-down", Module: "requant", Category: "rounding", File: "requant.v", Benches: []string{"tb_requant"},
			Doc:   "ties round toward -inf",
			Edits: []Edit{e("wire signed [64:0] half = 65'sd1 <<< (s2 - 6'd1);", "wire signed [64:0] half = (65'sd1 <<< (s2 - 6'd1)) - 65'sd1;")}},
		{ID: "requant-ovf-up-only", Module: "requant", Category: "flag", File: "requant.v", Benches: []string{"tb_requant"},
			Doc:   "the bias overflow flag misses the negative side",
			Edits: []Edit{e("o1  <= hi1 | lo1;", "o1  <= hi1;")}},
		{ID: "requant-sat-up-only", Module: "requant", Category: "flag", File: "requant.v", Benches: []string{"tb_requant"},
			Doc:   "the saturation flag misses the negative side",
			Edits: []Edit{e("sat <= hi3 | lo3;", "sat <= hi3;")}},
		{ID: "requant-no-shift-cap", Module: "requant", Category: "width", File: "requant.v", Benches: []string{"tb_requant"},
			Doc:   "the total shift is not capped at 63 (6 bits wrap)",
			Edits: []Edit{e("s1  <= (s_sum > 9'sd63) ? 6'd63 : s_sum[5:0];", "s1  <= s_sum[5:0];")}},
		{ID: "requant-tok-negated", Module: "requant", Category: "sign", File: "requant.v", Benches: []string{"tb_requant"},
			Doc:   "the token shift is subtracted from the multiplier's shift (a negative token shift taken as a right shift)",
			Edits: []Edit{e("+ {tok_shift[7], tok_shift}", "- {tok_shift[7], tok_shift}")}},
		{ID: "requant-bias-wraps", Module: "requant", Category: "carry", File: "requant.v", Benches: []string{"tb_requant"},
			Doc:   "acc + bias wraps instead of saturating (carry dropped)",
			Edits: []Edit{e("a1  <= hi1 ? 32'sh7fffffff : lo1 ? 32'sh80000000 : sum33[31:0];", "a1  <= sum33[31:0];")}},
		{ID: "requant-mantissa-signed", Module: "requant", Category: "sign", File: "requant.v", Benches: []string{"tb_requant"},
			Doc:   "the 31-bit mantissa is multiplied as signed",
			Edits: []Edit{e("p2  <= a1 * $signed({1'b0, m1});", "p2  <= a1 * $signed(m1);")}},
		{ID: "requant-valid-reset", Module: "requant", Category: "reset", File: "requant.v", Benches: []string{"tb_requant"},
			Doc:   "the first valid stage resets to 1",
			Edits: []Edit{e("        if (!rst_n) begin\n            v1 <= 1'b0;", "        if (!rst_n) begin\n            v1 <= 1'b1;")}},
		// group_requant
		{ID: "grequant-ties-down", Module: "group_requant", Category: "rounding", File: "group_requant.v", Benches: []string{"tb_group_requant"},
			Doc:   "ties round toward -inf",
			Edits: []Edit{e("wire signed [64:0] half = 65'sd1 <<< (s2 - 6'd1);", "wire signed [64:0] half = (65'sd1 <<< (s2 - 6'd1)) - 65'sd1;")}},
		{ID: "grequant-zero-extend", Module: "group_requant", Category: "sign", File: "group_requant.v", Benches: []string{"tb_group_requant"},
			Doc:   "the 59-bit products are zero-extended into the sum",
			Edits: []Edit{e("{{6{p1[59*i+58]}}, p1[59*i +: 59]}", "{{6{1'b0}}, p1[59*i +: 59]}")}},
		{ID: "grequant-sum-48", Module: "group_requant", Category: "width", File: "group_requant.v", Benches: []string{"tb_group_requant"},
			Doc:   "the sum is kept in 48 bits",
			Edits: []Edit{e("sum2 <= acc_sum;", "sum2 <= {{17{acc_sum[47]}}, acc_sum[47:0]};")}},
		{ID: "grequant-sat-down-only", Module: "group_requant", Category: "flag", File: "group_requant.v", Benches: []string{"tb_group_requant"},
			Doc:   "the saturation flag misses the positive side",
			Edits: []Edit{e("sat <= hi3 | lo3;", "sat <= lo3;")}},
		// lut8
		{ID: "lut8-no-flag", Module: "lut8", Category: "flag", File: "lut8.v", Benches: []string{"tb_lut8"},
			Doc:   "the clamped bit of the entry is not output",
			Edits: []Edit{e("{out_sat, out_y} <= mem[{in_tbl, in_x}];", "{out_sat, out_y} <= {1'b0, mem[{in_tbl, in_x}][7:0]};")}},
		{ID: "lut8-offset-binary", Module: "lut8", Category: "sign", File: "lut8.v", Benches: []string{"tb_lut8"},
			Doc:   "entries addressed by x + 128 instead of the bit pattern",
			Edits: []Edit{e("{out_sat, out_y} <= mem[{in_tbl, in_x}];", "{out_sat, out_y} <= mem[{in_tbl, ~in_x[7], in_x[6:0]}];")}},
		{ID: "lut8-one-table", Module: "lut8", Category: "width", File: "lut8.v", Benches: []string{"tb_lut8"},
			Doc:   "the table index is dropped: every channel reads table 0",
			Edits: []Edit{e("{out_sat, out_y} <= mem[{in_tbl, in_x}];", "{out_sat, out_y} <= mem[{{TB{1'b0}}, in_x}];")}},
		{ID: "lut8-latency-2", Module: "lut8", Category: "latency", File: "lut8.v", Benches: []string{"tb_lut8"},
			Doc:   "an output register too many: latency 2",
			Edits: []Edit{e("module lut8 #(", "module lut8_core #("), e("endmodule\n", "endmodule\n"+lut8Wrapper)}},
		// interp16
		{ID: "interp16-truncate", Module: "interp16", Category: "rounding", File: "interp16.v", Benches: []string{"tb_interp16"},
			Doc:   "the interpolation term is truncated instead of rounded",
			Edits: []Edit{e("((prod + HALF) >>> S)", "(prod >>> S)")}},
		{ID: "interp16-ties-down", Module: "interp16", Category: "rounding", File: "interp16.v", Benches: []string{"tb_interp16"},
			Doc:   "the output rounding takes ties toward -inf",
			Edits: []Edit{e("y    = (v + 128) >>> 8;", "y    = (v + 127) >>> 8;")}},
		{ID: "interp16-sat-up-only", Module: "interp16", Category: "flag", File: "interp16.v", Benches: []string{"tb_interp16"},
			Doc:   "the saturation flag misses the negative side",
			Edits: []Edit{e("out_sat <= hi | lo;", "out_sat <= hi;")}},
		{ID: "interp16-no-slope", Module: "interp16", Category: "width", File: "interp16.v", Benches: []string{"tb_interp16"},
			Doc:   "the second read port reads entry j instead of j + 1",
			Edits: []Edit{e("wire [TBITS:0]   j1 = {1'b0, j} + 1'b1;", "wire [TBITS:0]   j1 = {1'b0, j};")}},
		{ID: "interp16-valid-short", Module: "interp16", Category: "latency", File: "interp16.v", Benches: []string{"tb_interp16"},
			Doc:   "out_valid follows in_valid by one cycle (the data by two)",
			Edits: []Edit{e("out_valid <= v1;", "out_valid <= in_valid;")}},
		// exp2_core
		{ID: "exp2-truncate-slope", Module: "exp2_core", Category: "rounding", File: "exp2_core.v", Benches: []string{"tb_exp2", "tb_scan"},
			Doc:   "the interpolation term is truncated instead of rounded",
			Edits: []Edit{e("ip   = (prod + half) >>> SH;", "ip   = prod >>> SH;")}},
		{ID: "exp2-truncate-out", Module: "exp2_core", Category: "rounding", File: "exp2_core.v", Benches: []string{"tb_exp2", "tb_scan"},
			Doc:   "the output shift truncates instead of rounding",
			Edits: []Edit{e("r  = (p + hs) >>> s;", "r  = p >>> s;")}},
		{ID: "exp2-sat-at-zmax", Module: "exp2_core", Category: "saturation", File: "exp2_core.v", Benches: []string{"tb_exp2", "tb_scan"},
			Doc:   "saturation from z >= ExpZMax instead of z > ExpZMax",
			Edits: []Edit{e("assign sat = (z > ZMAX);", "assign sat = (z >= ZMAX);")}},
		{ID: "exp2-underflow-early", Module: "exp2_core", Category: "width", File: "exp2_core.v", Benches: []string{"tb_exp2", "tb_scan"},
			Doc:   "the result is 0 below z = -16*2^20 instead of -26*2^20 (shifts above 30 dropped)",
			Edits: []Edit{e("wire zero = (u < -26);", "wire zero = (u < -16);")}},
		{ID: "exp2-no-interp", Module: "exp2_core", Category: "width", File: "exp2_core.v", Benches: []string{"tb_exp2", "tb_scan"},
			Doc:   "the upper table read uses entry i instead of i + 1",
			Edits: []Edit{e("wire [TBITS:0] i1 = {1'b0, i} + 1'b1;", "wire [TBITS:0] i1 = {1'b0, i};")}},
		// exp2_unit
		{ID: "exp2u-flag-late", Module: "exp2_unit", Category: "flag", File: "exp2_unit.v", Benches: []string{"tb_exp2"},
			Doc:   "the saturation flag is registered twice (one result late)",
			Edits: []Edit{e("    wire        sat;\n", "    wire        sat;\n    reg         sat_q;\n"), e("        out_sat <= sat;", "        out_sat <= sat_q;\n        sat_q   <= sat;")}},
		{ID: "exp2u-valid-early", Module: "exp2_unit", Category: "latency", File: "exp2_unit.v", Benches: []string{"tb_exp2"},
			Doc: "out_valid is combinational from in_valid: latency 0 for the valid, 1 for the data",
			Edits: []Edit{e("output reg                out_valid,", "output wire               out_valid,"), e("        if (!rst_n)\n            out_valid <= 1'b0;\n        else\n            out_valid <= in_valid;\n", ""),
				e("    wire [31:0] y;", "    assign out_valid = in_valid && rst_n;\n    wire [31:0] y;")}},
		// scan_lane
		{ID: "scan-exp-input-32", Module: "scan_lane", Category: "width", File: "scan_lane.v", Benches: []string{"tb_scan"},
			Doc:   "the exponent input z is truncated to 32 bits",
			Edits: []Edit{e("exp2_core #(.ZW(48), .TBITS(TBITS), .SAT_MAX(0)) exp2 (", "exp2_core #(.ZW(32), .TBITS(TBITS), .SAT_MAX(0)) exp2 (")}},
		{ID: "scan-exp-sat-max", Module: "scan_lane", Category: "saturation", File: "scan_lane.v", Benches: []string{"tb_scan"},
			Doc:   "the exponent saturates to 2^24 - 1 above ExpZMax (SAT_MAX = 1) instead of evaluating the clamped input",
			Edits: []Edit{e(".SAT_MAX(0)) exp2 (", ".SAT_MAX(1)) exp2 (")}},
		{ID: "scan-xu-wraps", Module: "scan_lane", Category: "saturation", File: "scan_lane.v", Benches: []string{"tb_scan"},
			Doc:   "Xu is not clamped to int32 (it wraps)",
			Edits: []Edit{e("xu_r     <= xu_hi ? 32'sh7fffffff : xu_lo ? 32'sh80000000 : xuw[31:0];", "xu_r     <= xuw[31:0];")}},
		{ID: "scan-shiftround-minus1", Module: "scan_lane", Category: "width", File: "scan_lane.v", Benches: []string{"tb_scan"},
			Doc:   "ShiftRound by more than 63 bits returns the sign (-1 for a negative y') instead of 0",
			Edits: []Edit{e("(kn > 9'd63) ? 64'sd0 :", "(kn > 9'd63) ? (yq64 >>> 63) :")}},
		{ID: "scan-first-ignored", Module: "scan_lane", Category: "reset", File: "scan_lane.v", Benches: []string{"tb_scan"},
			Doc:   "the carried state is not zero at step 0",
			Edits: []Edit{e("q_old = first_r ? {SBITS{1'b0}} : mem[addr];", "q_old = mem[addr];")}},
		{ID: "scan-q-truncate", Module: "scan_lane", Category: "rounding", File: "scan_lane.v", Benches: []string{"tb_scan"},
			Doc:   "the carried state is truncated instead of rounded",
			Edits: []Edit{e("qr    = (hacc + 48'sd32768) >>> 16;", "qr    = hacc >>> 16;")}},
		{ID: "scan-h-19-bits", Module: "scan_lane", Category: "width", File: "scan_lane.v", Benches: []string{"tb_scan"},
			Doc: "H saturates to 19 bits instead of 20",
			Edits: []Edit{
				e("h_sat = (hr > 48'sd524287) || (hr < -48'sd524288);", "h_sat = (hr > 48'sd262143) || (hr < -48'sd262144);"),
				e("h     = (hr > 48'sd524287) ? 20'sd524287 : (hr < -48'sd524288) ? -20'sd524288 : hr[19:0];",
					"h     = (hr > 48'sd262143) ? 20'sd262143 : (hr < -48'sd262144) ? -20'sd262144 : hr[19:0];"),
			}},
		{ID: "scan-latency-n7", Module: "scan_lane", Category: "latency", File: "scan_lane.v", Benches: []string{"tb_scan"},
			Doc: "one more cycle before y': a job takes N + 7 cycles",
			Edits: []Edit{
				e("                    flag_r <= {yq_sat, y_ovf, st_any, xu_sat_r};\n                    st     <= S_V;\n                end",
					"                    flag_r <= {yq_sat, y_ovf, st_any, xu_sat_r};\n                    st     <= 3'd7;\n                end\n                3'd7: st <= S_V;"),
			}},
		{ID: "scan-x-not-latched", Module: "scan_lane", Category: "latching", File: "scan_lane.v", Benches: []string{"tb_scan"},
			Doc:   "the D skip reads x from the port after the job was accepted",
			Edits: []Edit{e("+ skip_d_r * x_r;", "+ skip_d_r * x;")}},
		{ID: "scan-ready-early", Module: "scan_lane", Category: "handshake", File: "scan_lane.v", Benches: []string{"tb_scan"},
			Doc:   "in_ready is high in the job's last cycle, when the lane cannot take a job",
			Edits: []Edit{e("assign in_ready = (st == S_IDLE);", "assign in_ready = (st == S_IDLE) || (st == S_G);")}},
		{ID: "scan-eg-unsigned", Module: "scan_lane", Category: "sign", File: "scan_lane.v", Benches: []string{"tb_scan"},
			Doc:   "the token group's shift is taken as unsigned in the y' requantizer",
			Edits: []Edit{e("tot_shift(ystep_shift_r, {eg_r[7], eg_r});", "tot_shift(ystep_shift_r, {1'b0, eg_r});")}},
		{ID: "scan-no-yacc-flag", Module: "scan_lane", Category: "flag", File: "scan_lane.v", Benches: []string{"tb_scan"},
			Doc:   "the Yacc overflow flag is not implemented",
			Edits: []Edit{e("wire               y_ovf = (yacc != {{(YW-32){y32[31]}}, y32});", "wire               y_ovf = 1'b0;")}},
		{ID: "scan-state-reset", Module: "scan_lane", Category: "reset", File: "scan_lane.v", Benches: []string{"tb_scan"},
			Doc:   "the job state resets to the first busy state: a phantom job after reset",
			Edits: []Edit{e("            st        <= S_IDLE;\n            out_valid <= 1'b0;", "            st        <= S_Y1;\n            out_valid <= 1'b0;")}},
		// rmsnorm
		{ID: "norm-newton-truncate", Module: "rmsnorm", Category: "rounding", File: "rmsnorm.v", Benches: []string{"tb_rmsnorm"},
			Doc:   "the Newton step truncates instead of rounding",
			Edits: []Edit{e("r1    = ({48'd0, r0} * dd + 64'd32768) >> 16;", "r1    = ({48'd0, r0} * dd) >> 16;")}},
		{ID: "norm-t-truncate", Module: "rmsnorm", Category: "rounding", File: "rmsnorm.v", Benches: []string{"tb_rmsnorm"},
			Doc:   "m*r0^2 is truncated instead of rounded",
			Edits: []Edit{e("t     = ({32'd0, m} * r0sq + 64'd536870912) >> 30;", "t     = ({32'd0, m} * r0sq) >> 30;")}},
		{ID: "norm-eps-carry", Module: "rmsnorm", Category: "carry", File: "rmsnorm.v", Benches: []string{"tb_rmsnorm"},
			Doc:   "the carry of the + EpsD add is dropped",
			Edits: []Edit{e("if (over || v_n[64]) begin", "if (over) begin")}},
		{ID: "norm-ovf-every-output", Module: "rmsnorm", Category: "flag", File: "rmsnorm.v", Benches: []string{"tb_rmsnorm"},
			Doc:   "out_ovf is high on every output of an overflowed row, not only the first",
			Edits: []Edit{e("out_ovf   <= over && (cnt == {AB{1'b0}});", "out_ovf   <= over;")}},
		{ID: "norm-sat-up-only", Module: "rmsnorm", Category: "flag", File: "rmsnorm.v", Benches: []string{"tb_rmsnorm"},
			Doc:   "the saturation flag misses the negative side",
			Edits: []Edit{e("out_sat <= hi | lo;", "out_sat <= hi;")}},
		{ID: "norm-gamma-unsigned", Module: "rmsnorm", Category: "sign", File: "rmsnorm.v", Benches: []string{"tb_rmsnorm"},
			Doc:   "the gain is taken as unsigned",
			Edits: []Edit{e("ag  = nr * gj;", "ag  = nr * $signed({1'b0, gj});")}},
		{ID: "norm-zero-row", Module: "rmsnorm", Category: "saturation", File: "rmsnorm.v", Benches: []string{"tb_rmsnorm"},
			Doc:   "a row with v = 0 outputs 0 instead of the zero point",
			Edits: []Edit{e("out_y   <= zp[OUT_BITS-1:0];", "out_y   <= {OUT_BITS{1'b0}};")}},
		{ID: "norm-square-32", Module: "rmsnorm", Category: "width", File: "rmsnorm.v", Benches: []string{"tb_rmsnorm"},
			Doc:   "x^2 is formed in 32 bits",
			Edits: []Edit{e("wire [63:0] sq    = in_x * in_x;", "wire [31:0] sq32  = in_x * in_x;\n    wire [63:0] sq    = {32'd0, sq32};")}},
		{ID: "norm-latency-plus1", Module: "rmsnorm", Category: "latency", File: "rmsnorm.v", Benches: []string{"tb_rmsnorm"},
			Doc: "one more cycle between the rsqrt and the outputs",
			Edits: []Edit{e("                    r  <= r1[31:0];\n                    st <= S_OUT;\n                end",
				"                    r  <= r1[31:0];\n                    st <= 3'd6;\n                end\n                3'd6: st <= S_OUT;")}},
		{ID: "norm-sum-no-reset", Module: "rmsnorm", Category: "reset", File: "rmsnorm.v", Benches: []string{"tb_rmsnorm"},
			Doc:   "the sum of squares and its carry are not reset",
			Edits: []Edit{e("            ss        <= 64'd0;\n            over      <= 1'b0;\n            out_valid <= 1'b0;", "            out_valid <= 1'b0;")}},
		// dwconv
		{ID: "dwconv-first-ignored", Module: "dwconv", Category: "reset", File: "dwconv.v", Benches: []string{"tb_dwconv"},
			Doc:   "step 0 reads the history instead of the causal zero padding",
			Edits: []Edit{e("wire [HW-1:0] h = first ? {HW{1'b0}} : hist[grp];", "wire [HW-1:0] h = hist[grp];")}},
		{ID: "dwconv-unsigned-x", Module: "dwconv", Category: "sign", File: "dwconv.v", Benches: []string{"tb_dwconv"},
			Doc:   "the inputs are multiplied as unsigned",
			Edits: []Edit{e("wire signed [7:0] xv = win1[(p*T+k)*8 +: 8];", "wire [7:0] xv = win1[(p*T+k)*8 +: 8];")}},
		{ID: "dwconv-taps-reversed", Module: "dwconv", Category: "order", File: "dwconv.v", Benches: []string{"tb_dwconv"},
			Doc:   "tap k multiplies step t - k instead of t - T + 1 + k",
			Edits: []Edit{e("wire signed [WW-1:0] wv = w1[(p*T+k)*WW +: WW];", "wire signed [WW-1:0] wv = w1[(p*T+(T-1-k))*WW +: WW];")}},
		{ID: "dwconv-valid-short", Module: "dwconv", Category: "latency", File: "dwconv.v", Benches: []string{"tb_dwconv"},
			Doc:   "out_valid follows in_valid by one cycle (the data by two)",
			Edits: []Edit{e("out_valid <= v1;", "out_valid <= in_valid;")}},
		{ID: "dwconv-bubble-history", Module: "dwconv", Category: "bubble", File: "dwconv.v", Benches: []string{"tb_dwconv"},
			Doc:   "the history is written in idle cycles too",
			Edits: []Edit{e("                if (in_valid)\n                    hist[grp] <= h_next;", "                hist[grp] <= h_next;")}},
		// merge
		{ID: "merge-truncate", Module: "merge", Category: "rounding", File: "merge.v", Benches: []string{"tb_merge"},
			Doc:   "the halving truncates instead of rounding",
			Edits: []Edit{e("HALF = 18'sd1 <<< GATE_FRAC;", "HALF = 18'sd0;")}},
		{ID: "merge-sat-up-only", Module: "merge", Category: "flag", File: "merge.v", Benches: []string{"tb_merge"},
			Doc:   "the saturation flag misses the negative side",
			Edits: []Edit{e("assign s[p] = hi | lo;", "assign s[p] = hi;")}},
		{ID: "merge-sum-16", Module: "merge", Category: "carry", File: "merge.v", Benches: []string{"tb_merge"},
			Doc: "f + b is formed in 16 bits (the carry dropped)",
			Edits: []Edit{e("wire signed [17:0]   sum = {{2{f[15]}}, f} + {{2{b[15]}}, b} + HALF;",
				"wire signed [15:0]   fb = f + b;\n            wire signed [17:0]   sum = {{2{fb[15]}}, fb} + HALF;")}},
		// resadd
		{ID: "resadd-wraps", Module: "resadd", Category: "saturation", File: "resadd.v", Benches: []string{"tb_resadd"},
			Doc:   "the sum wraps instead of saturating",
			Edits: []Edit{e("assign r[p*32 +: 32] = hi ? 32'h7fffffff : lo ? 32'h80000000 : sum[31:0];", "assign r[p*32 +: 32] = sum[31:0];")}},
		{ID: "resadd-sat-up-only", Module: "resadd", Category: "flag", File: "resadd.v", Benches: []string{"tb_resadd"},
			Doc:   "the saturation flag misses the negative side",
			Edits: []Edit{e("assign s[p] = hi | lo;", "assign s[p] = hi;")}},
		{ID: "resadd-latency-2", Module: "resadd", Category: "latency", File: "resadd.v", Benches: []string{"tb_resadd"},
			Doc:   "an output register too many: latency 2",
			Edits: []Edit{e("module resadd #(", "module resadd_core #("), e("endmodule\n", "endmodule\n"+resaddWrapper)}},
	}
}

// Wrappers that register every output of a module once more: the
// "latency + 1" mutants.
const requantWrapper = `
module requant #(
    parameter integer OUT_BITS = 8
) (
    input  wire                       clk,
    input  wire                       rst_n,
    input  wire                       in_valid,
    input  wire signed [31:0]         acc,
    input  wire signed [31:0]         bias,
    input  wire [30:0]                mult_m,
    input  wire [5:0]                 mult_shift,
    input  wire signed [7:0]          tok_shift,
    input  wire signed [31:0]         zp,
    output reg                        out_valid,
    output reg  signed [OUT_BITS-1:0] q,
    output reg                        sat,
    output reg                        ovf
);
    wire v0, s0, o0;
    wire signed [OUT_BITS-1:0] q0;
    requant_core #(.OUT_BITS(OUT_BITS)) core (.clk(clk), .rst_n(rst_n), .in_valid(in_valid), .acc(acc), .bias(bias),
        .mult_m(mult_m), .mult_shift(mult_shift), .tok_shift(tok_shift), .zp(zp), .out_valid(v0), .q(q0), .sat(s0), .ovf(o0));
    always @(posedge clk) begin
        out_valid <= rst_n && v0;
        q   <= q0;
        sat <= s0;
        ovf <= o0;
    end
endmodule
`

const lut8Wrapper = `
module lut8 #(
    parameter integer NT = 4,
    parameter integer TB = (NT > 1) ? $clog2(NT) : 1
) (
    input  wire              clk,
    input  wire              rst_n,
    input  wire              ld_en,
    input  wire [TB+7:0]     ld_addr,
    input  wire [8:0]        ld_data,
    input  wire              in_valid,
    input  wire [TB-1:0]     in_tbl,
    input  wire signed [7:0] in_x,
    output reg               out_valid,
    output reg  signed [7:0] out_y,
    output reg               out_sat
);
    wire v0, s0;
    wire signed [7:0] y0;
    lut8_core #(.NT(NT), .TB(TB)) core (.clk(clk), .rst_n(rst_n), .ld_en(ld_en), .ld_addr(ld_addr), .ld_data(ld_data),
        .in_valid(in_valid), .in_tbl(in_tbl), .in_x(in_x), .out_valid(v0), .out_y(y0), .out_sat(s0));
    always @(posedge clk) begin
        out_valid <= rst_n && v0;
        out_y   <= y0;
        out_sat <= s0;
    end
endmodule
`

const resaddWrapper = `
module resadd #(
    parameter integer LANES = 1
) (
    input  wire                 clk,
    input  wire                 rst_n,
    input  wire                 in_valid,
    input  wire [LANES*32-1:0]  in_res,
    input  wire [LANES*32-1:0]  in_add,
    output reg                  out_valid,
    output reg  [LANES*32-1:0]  out_res,
    output reg  [LANES-1:0]     out_sat
);
    wire v0;
    wire [LANES*32-1:0] r0;
    wire [LANES-1:0]    s0;
    resadd_core #(.LANES(LANES)) core (.clk(clk), .rst_n(rst_n), .in_valid(in_valid), .in_res(in_res), .in_add(in_add),
        .out_valid(v0), .out_res(r0), .out_sat(s0));
    always @(posedge clk) begin
        out_valid <= rst_n && v0;
        out_res <= r0;
        out_sat <= s0;
    end
endmodule
`
