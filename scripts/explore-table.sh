#!/bin/sh
# explore-table.sh — issue 12's README table: the shipped model on the full
# Fashion-MNIST test set (10,000 images), on systolic16 with a ZCU102's
# resources, for the uniform recipes W8A8H8, W4A8H8, W8A8H16 and the recipes
# `vimsim explore --budget` finds at two budgets.
#
#   scripts/explore-table.sh [OUT]        (default OUT: explore-table)
#
# Steps (each resumable: every job is in the cache, OUT/cache):
#   1. two searches from W8A8H16 on systolic16 + ZCU102: the sensitivity of
#      every move is measured on SEARCH_LIMIT train images (the test set
#      stays for the table), under BUDGET1 and BUDGET2;
#   2. one exploration of the five recipes on the 10,000 test images:
#      OUT/table/{explore.csv,explore.json,pareto.png,…,recipes/};
#   3. OUT/table.md: the Markdown table (top-1 on the integer datapath,
#      energy per image, latency, DSP, LUT, on the front or not) and whether
#      a mixed recipe dominates a uniform one.
# Environment: VIMSIM (the binary; default: built from this tree into OUT),
# BUDGET1 (energy=90%), BUDGET2 (energy=80%: on systolic16 + ZCU102 no recipe
# the datapath runs changes DSPs or LUTs, see the README), SEARCH_LIMIT (1000), CALIB (256),
# NICE (nice -n 10), TABLE_LIMIT (0: all 10,000 test images; fewer for a
# trial), ACCURACY_KEY (see below), PRECOMPUTE (1: only fill the cache
# with what does not depend on the cost model — the base and every move of
# the searches on the train images, the uniform recipes on the test set —
# e.g. while a cost-model change is under way).
#
# Accuracies (the long part: about 10 CPU-ms per image and recipe) do not
# depend on the cost model. When the code they depend on is committed and
# unchanged in the work tree, the script passes its git tree hashes as
# --accuracy-key, so that a run after a cost-model change reuses them from
# the cache: quant (and quant/intprog), sim, hw/datapath, vim, data,
# the calibration draw of cmd/vimsim,
# models, internal, the evaluator's files of explore, go.mod and go.sum.
# hw/arch is left out: the integer program uses only its unit names, and it
# holds the cost model's technology numbers.
set -eu

OUT=${1:-explore-table}
BUDGET1=${BUDGET1:-energy=90%}
BUDGET2=${BUDGET2:-energy=80%}
SEARCH_LIMIT=${SEARCH_LIMIT:-1000}
CALIB=${CALIB:-256}
NICE=${NICE:-nice -n 10}

cd "$(dirname "$0")/.."
mkdir -p "$OUT"
if [ -z "${VIMSIM:-}" ]; then
	VIMSIM=$OUT/vimsim
	go build -o "$VIMSIM" ./cmd/vimsim
fi
CACHE=$OUT/cache
space="--data fashion-mnist --arch systolic16 --fpga zcu102 --calib $CALIB --cache $CACHE"

accuracy_paths="quant sim hw/datapath vim data models internal cmd/vimsim/calibrate.go explore/accuracy.go explore/evaluator.go
explore/explorer.go explore/images.go explore/cache.go go.mod go.sum"
if [ -z "${ACCURACY_KEY:-}" ]; then
	# shellcheck disable=SC2086
	if git diff --quiet HEAD -- $accuracy_paths 2>/dev/null; then
		# shellcheck disable=SC2086
		ACCURACY_KEY=$(cd "$(git rev-parse --show-toplevel)" && for p in $accuracy_paths; do
			printf '%s:%s ' "$p" "$(git rev-parse "HEAD:$p")"; done | sha256sum | cut -c1-16)
		echo "explore-table: accuracy key $ACCURACY_KEY (git trees of the quantization and datapath code)"
	else
		echo "explore-table: quantization or datapath code modified: accuracies keyed on the build"
	fi
fi
[ -n "${ACCURACY_KEY:-}" ] && space="$space --accuracy-key $ACCURACY_KEY"

if [ "${PRECOMPUTE:-}" = 1 ]; then
	# shellcheck disable=SC2086
	$NICE "$VIMSIM" explore $space --split train --limit "$SEARCH_LIMIT" --base W8A8H16 \
		--budget energy=100% --out "$OUT/precompute-search" --force
	# shellcheck disable=SC2086
	$NICE "$VIMSIM" explore $space --split test --limit "${TABLE_LIMIT:-0}" \
		--recipes W8A8H8,W4A8H8,W8A8H16 --out "$OUT/precompute-table" --force
	exit 0
fi

search() { # search DIR BUDGET
	if [ -f "$1/recipe.yaml" ]; then
		echo "explore-table: $1/recipe.yaml exists, kept"
		return
	fi
	# shellcheck disable=SC2086
	$NICE "$VIMSIM" explore $space --split train --limit "$SEARCH_LIMIT" --base W8A8H16 \
		--budget "$2" --out "$1" --force
}
search "$OUT/search1" "$BUDGET1"
search "$OUT/search2" "$BUDGET2"

# The found recipes, named for their budget; a found recipe that is a
# uniform one (no move: W8A8H16; every hidden-state move alone: W8A8H8;
# every move: W4A8H8) or the other search's is listed once.
recipes=$(python3 - "$OUT" "$BUDGET1" "$BUDGET2" <<'PYEOF'
import json, re, sys

out, budgets = sys.argv[1], sys.argv[2:]
listed = {(): "W8A8H16"}
names = ["W8A8H8", "W4A8H8", "W8A8H16"]
for i, budget in enumerate(budgets, 1):
    res = json.load(open(f"{out}/search{i}/search.json"))
    moves = [m["move"]["name"] for m in res["moves"]]
    chosen = tuple(sorted(moves[j] for j in res["chosen"]))
    hidden = tuple(sorted(m for m in moves if " H" in m))
    same = listed.get(chosen) or {hidden: "W8A8H8", tuple(sorted(moves)): "W4A8H8"}.get(chosen)
    if same:
        print(f"explore-table: search {budget} found {same}", file=sys.stderr)
        continue
    text = open(f"{out}/search{i}/recipe.yaml").read()
    name = f"search {budget}"
    text = re.sub(r"(?m)^name: .*$", f'name: "{name}"', text)
    open(f"{out}/search{i}.yaml", "w").write(text)
    listed[chosen] = name
    names.append(f"{out}/search{i}.yaml")
print(",".join(names))
PYEOF
)

# shellcheck disable=SC2086
$NICE "$VIMSIM" explore $space --split test \
	--limit "${TABLE_LIMIT:-0}" --recipes "$recipes" --out "$OUT/table" --force

python3 - "$OUT/table/explore.csv" >"$OUT/table.md" <<'EOF'
import csv, sys

rows = list(csv.DictReader(open(sys.argv[1])))
uniform = {"W8A8H8", "W4A8H8", "W8A8H16"}
print("| recipe | top-1 (int datapath) | µJ/image | latency ms | DSP | LUT | BRAM36 | fits | Pareto |")
print("|---|---:|---:|---:|---:|---:|---:|---|---|")
for r in rows:
    print("| %s | %.2f %% | %.2f | %.3f | %s | %s | %s | %s | %s |" % (
        r["recipe"], 100 * float(r["top1"]), float(r["uj_per_image"]), float(r["latency_ms"]),
        f"{int(r['dsp']):,}", f"{int(r['lut']):,}", r["bram36"], r["fits"], "yes" if r["pareto"] == "true" else ""))

def objs(r):  # all maximised
    return (float(r["top1"]), -float(r["uj_per_image"]), -float(r["latency_ms"]), -int(r["dsp"]), -int(r["lut"]))

print()
for m in rows:
    if m["recipe"] in uniform:
        continue
    beats = [u["recipe"] for u in rows if u["recipe"] in uniform
             and all(a >= b for a, b in zip(objs(m), objs(u))) and objs(m) != objs(u)]
    beaten = [u["recipe"] for u in rows if u["recipe"] in uniform
              and all(a >= b for a, b in zip(objs(u), objs(m))) and objs(m) != objs(u)]
    print("- %s dominates %s; is dominated by %s (top-1, energy, latency, DSP, LUT)." % (
        m["recipe"], ", ".join(beats) or "no uniform recipe", ", ".join(beaten) or "none"))
EOF
cat "$OUT/table.md"
echo "explore-table: wrote $OUT/table.md and $OUT/table/ (pareto.png, recipes/)"
