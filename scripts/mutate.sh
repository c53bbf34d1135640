#!/bin/sh
# mutate.sh: the mutation harness of the reference RTL (docs/RTL.md §13).
# Plants every mutant of hw/rtl/mutants.go (or the comma-separated IDS) in a
# copy of hw/rtl and runs the golden vectors of the default model's block 0
# against it, corner sets first, until a set fails; every mutant must be
# caught. Prints one line per mutant (the set and the check that caught it)
# and the score; with REPORT writes the markdown table of the README.
#
#   scripts/mutate.sh [IDS|all [REPORT.md]]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
ids=${1:-all}
report=${2:-}
if [ -n "$report" ]; then
	case $report in /*) ;; *) report=$(pwd)/$report ;; esac
	set -- -mutation-report "$report"
else
	set --
fi
cd "$root"
exec go test ./cmd/vimsim -run '^TestMutants$' -count=1 -v -timeout 60m -mutants "$ids" "$@"
