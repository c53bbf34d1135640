#!/bin/sh
# Price vimsim's action counts of Vim-Ti on systolic16 (accelergy-45), int8
# and with int4 GEMM weights (W4A8), with Accelergy 0.4 and its Aladdin and
# CACTI plug-ins, and keep Accelergy's output as hw/cost/testdata/CASE/
# (read by TestAccelergyReference, which also writes the inputs:
# go test ./hw/cost -run TestAccelergyReference -accelergy-inputs DIR).
# The int8 inputs are also what `vimsim run --model vim-ti --arch systolic16
# --tech accelergy-45 --actions counts.yaml --accelergy-arch arch.yaml` writes.
#
# Usage: tools/accelergy/run_accelergy.sh TOOLS
# TOOLS holds checkouts of Accelergy-Project/accelergy (6911d156),
# accelergy-aladdin-plug-in (5e2e1263) and accelergy-cacti-plug-in
# (291018b1) with a built HewlettPackard/cacti (1ffd8dfb) copied into
# accelergy-cacti-plug-in/cacti/. Needs Debian's python3-yaml,
# python3-ruamel.yaml, python3-deepdiff, python3-jinja2, python3-pyfiglet.
set -eu
tools=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$repo"
go test ./hw/cost -run 'TestAccelergyReference$' -count=1 -accelergy-inputs "$work" >/dev/null
for dir in "$work"/*/; do
	case=$(basename "$dir")
	cat >"$dir/accelergy_config.yaml" <<CFG
version: 0.4
estimator_plug_ins: [$tools/accelergy-aladdin-plug-in]
primitive_components: []
compound_components: []
math_functions: []
python_plug_ins: [$tools/accelergy-cacti-plug-in/cacti_wrapper.py]
table_plug_ins: {roots: []}
CFG
	(cd "$dir" && PYTHONPATH="$tools/accelergy" /usr/bin/python3 -c \
		"import sys; from accelergy.accelergy_console import run; sys.argv=['accelergy','-o','out','-p','10','arch.yaml','counts.yaml']; run()" \
		>accelergy.log 2>&1) || { cat "$dir/accelergy.log"; exit 1; }
	out="$repo/hw/cost/testdata/$case"
	mkdir -p "$out"
	cp "$dir/arch.yaml" "$dir/counts.yaml" "$dir/out/ERT_summary.yaml" "$dir/out/energy_estimation.yaml" "$out/"
	echo "wrote $out"
done
