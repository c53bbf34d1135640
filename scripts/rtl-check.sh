#!/bin/sh
# rtl-check.sh: checks of vimsim's reference RTL (docs/RTL.md).
#
#   scripts/rtl-check.sh lint                 verilator --lint-only -Wall on every module of hw/rtl
#   scripts/rtl-check.sh synth [SIZES]        Yosys: the R x R systolic array (SIZES, default "4 16")
#                                             and the requantizer, generic, Xilinx UltraScale+ and iCE40 flows
#   scripts/rtl-check.sh vectors MODEL LAYERS [ARCH] [SIM]
#                                             vimsim vectors + make (SIM=iverilog or verilator)
#   scripts/rtl-check.sh accept [SIMS] [DIR]  issue 13's acceptance run: every set of the default model
#                                             (all layers) and of Vim-Ti layer 0 (as TestVectorsVimTiRTL)
#                                             under each simulator of SIMS (default "iverilog verilator"),
#                                             make -k; prints passed/total sets and the wall time of each
#                                             run; vectors and logs in DIR (default a temporary directory)
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

# accept1 DIR SIM: run every set of DIR under SIM; print passed/total and the time.
accept1() {
	dir=$1 sim=$2
	total=$(make -s -C "$dir" list | wc -l)
	start=$(date +%s)
	rc=0
	make -k -C "$dir" SIM="$sim" BUILD="build-$sim" >"$dir/make-$sim.log" 2>&1 || rc=$?
	secs=$(($(date +%s) - start))
	passed=$(grep -c '^[^ ]*: PASS: [0-9]* vectors$' "$dir/make-$sim.log" || true)
	printf 'accept %-8s %-9s %4d/%d sets PASS in %dm%02ds (make exit %d, log %s)\n' \
		"$(basename "$dir")" "$sim" "$passed" "$total" $((secs / 60)) $((secs % 60)) "$rc" "$dir/make-$sim.log"
	[ "$rc" -eq 0 ] && [ "$passed" -eq "$total" ]
}

accept() {
	sims=${1:-"iverilog verilator"}
	out=${2:-$(mktemp -d)}
	mkdir -p "$out"
	(cd "$root" && go build -o "$out/vimsim" ./cmd/vimsim)
	[ -d "$out/default" ] || "$out/vimsim" vectors --layers all --rtl-dir "$rtl" --out "$out/default"
	[ -d "$out/vimti" ] || "$out/vimsim" vectors --model vim-ti --layers 0 --calib 2 --ssm-images 1 \
		--search-rows 128 --weight-search-rows 64 --rtl-dir "$rtl" --out "$out/vimti"
	fail=0
	for sim in $sims; do
		for d in default vimti; do
			accept1 "$out/$d" "$sim" || fail=1
		done
	done
	return $fail
}

case ${1:-} in
lint) lint ;;
synth) shift; synth "${1:-}" ;;
vectors) shift; vectors "$@" ;;
accept) shift; accept "$@" ;;
*) sed -n '2,17p' "$0"; exit 2 ;;
esac
