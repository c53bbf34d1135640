#!/bin/sh
# rtl-check.sh: checks of vimsim's reference RTL (docs/RTL.md).
#
#   scripts/rtl-check.sh lint                 verilator --lint-only -Wall on every module of hw/rtl
#   scripts/rtl-check.sh synth [SIZES]        Yosys: the R x R systolic array (SIZES, default "4 16")
#                                             and the requantizer, generic, Xilinx UltraScale+ and iCE40 flows
#   scripts/rtl-check.sh vectors MODEL LAYERS [ARCH] [SIM]
#                                             vimsim vectors + make (SIM=iverilog or verilator)
#
# Run from anywhere inside the repository; exits non-zero on the first failure.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
rtl=$root/hw/rtl

lint() {
	for top in systolic_pe systolic_array_os skew gemm_os systolic_array_ws gemm_ws requant group_requant lut8 interp16 exp2_core exp2_unit \
		scan_lane rmsnorm dwconv merge resadd; do
		out=$(verilator --lint-only -Wall --top-module "$top" "$rtl"/*.v 2>&1) || { echo "$out"; echo "lint $top: FAIL"; exit 1; }
		[ -z "$out" ] || { echo "$out"; echo "lint $top: FAIL"; exit 1; }
		echo "lint $top: clean"
	done
}

# synth1 NAME TOP CHPARAM FLOW: run one Yosys flow and print its cell summary.
synth1() {
	name=$1 top=$2 chparam=$3 flow=$4
	log=$(mktemp)
	yosys -q -l "$log" -p "read_verilog $rtl/systolic_pe.v $rtl/systolic_array_os.v $rtl/requant.v; $chparam; $flow -flatten -top $top; stat" >/dev/null
	awk -v name="$name" -v flow="$flow" '
		/Printing statistics/ { cells = lut = ff = dsp = carry = 0 }   # keep the last report
		/Number of cells:/ { cells = $4 }
		$1 ~ /^LUT[1-6]$/ || $1 == "SB_LUT4" { lut += $2 }
		$1 ~ /^FD[RSCP]E$/ || $1 ~ /^SB_DFF/ || $1 ~ /^\$_S?DFFE?_/ || $1 ~ /^\$_DFF/ { ff += $2 }
		$1 ~ /^DSP48E[12]$/ || $1 == "SB_MAC16" { dsp += $2 }
		$1 ~ /^CARRY[48]$/ || $1 == "SB_CARRY" { carry += $2 }
		END { printf "%-24s %-36s cells %7d  LUT %6d  FF %6d  DSP %4d  carry %5d\n", name, flow, cells, lut, ff, dsp, carry }
	' "$log"
	rm -f "$log"
}

synth() {
	sizes=${1:-"4 16"}
	for n in $sizes; do
		for flow in synth "synth_xilinx -family xcup -noiopad" "synth_ice40 -dsp"; do
			synth1 "systolic_array_os ${n}x$n" systolic_array_os "chparam -set R $n -set C $n systolic_array_os" "$flow"
		done
	done
	for flow in synth "synth_xilinx -family xcup -noiopad" "synth_ice40 -dsp"; do
		synth1 "requant (int8 out)" requant "chparam -set OUT_BITS 8 requant" "$flow"
	done
}

vectors() {
	model=$1 layers=$2 arch=${3:-systolic16} sim=${4:-iverilog}
	out=$(mktemp -d)/vectors
	(cd "$root" && go run ./cmd/vimsim vectors --model "$model" --arch "$arch" --layers "$layers" --out "$out")
	make -C "$out" SIM="$sim"
}

case ${1:-} in
lint) lint ;;
synth) shift; synth "${1:-}" ;;
vectors) shift; vectors "$@" ;;
*) sed -n '2,12p' "$0"; exit 2 ;;
esac
