#!/usr/bin/env bash
# precision-sweep.sh: top-1 of precision recipes on the bit-accurate integer
# datapath (vimsim eval --methods int8), the measurements of docs/QUANT.md §11.
#
#   scripts/precision-sweep.sh table [LIMIT]        uniform and mixed recipes (docs/recipes)
#   scripts/precision-sweep.sh sensitivity [LIMIT]  one op class at W4, one layer's H at 16 / 8
#
# LIMIT: first N test images (0, the default: all 10,000 of Fashion-MNIST, Debian's
# dataset-fashion-mnist). Every run calibrates `paper` on 256 train images (seed 0).
# VIMSIM (default: go run ./cmd/vimsim, built once) is the binary. Prints one
# tab-separated line per recipe: name, top-1, top-5, images, wall seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:?usage: precision-sweep.sh table|sensitivity [LIMIT]}
limit=${2:-0}
if [ -z "${VIMSIM:-}" ]; then
	VIMSIM=$(mktemp -d)/vimsim
	(cd "$root" && go build -o "$VIMSIM" ./cmd/vimsim)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME FLAGS...: one eval of the int8 row alone.
run() {
	name=$1
	shift
	t0=$(date +%s)
	"$VIMSIM" eval --data fashion-mnist --methods int8 --reference=false --calib 256 --calib-seed 0 \
		--limit "$limit" --timing=false --format json "$@" >"$tmp/out.json"
	t1=$(date +%s)
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); x=r["results"][0]
print("%s\t%.4f\t%.4f\t%d\t%s" % (sys.argv[2], x["top1"], x["top5"], r["images"], sys.argv[3]))' \
		"$tmp/out.json" "$name" "$((t1 - t0))"
}

# recipe NAME YAML: a recipe file in $tmp.
recipe() {
	printf '%s\n' "$2" >"$tmp/$1.yaml"
	echo "$tmp/$1.yaml"
}

case $mode in
table)
	run W8A8H8
	run W4A8H8 --wbits 4
	run W8A8H16 --hbits 16
	run W4A8H16 --wbits 4 --hbits 16
	for f in w4-proj.yaml w4-proj-h16.yaml w4-gemm-h16-l0.json w4-sens.yaml w4-sens-h16.yaml; do
		run "${f%.*}" --recipe "$root/docs/recipes/$f"
	done
	;;
sensitivity)
	for op in patch_embed in_proj conv1d x_proj dt_proj out_proj head; do
		run "W4 $op" --recipe "$(recipe "w4-$op" "{name: w4-$op, w: 8, a: 8, h: 8, ops: {$op: {w: 4}}}")"
	done
	for l in 0 1 2 3; do
		run "H16 layer $l" --recipe "$(recipe "h16-l$l" "{name: h16-l$l, w: 8, a: 8, h: 8, layers: [{layers: \"$l\", h: 16}]}")"
	done
	for l in 0 1 2 3; do
		run "H8 layer $l (rest H16)" --recipe "$(recipe "h8-l$l" "{name: h8-l$l, w: 8, a: 8, h: 16, layers: [{layers: \"$l\", h: 8}]}")"
	done
	;;
*)
	echo "precision-sweep.sh: unknown mode $mode (table or sensitivity)" >&2
	exit 2
	;;
esac
