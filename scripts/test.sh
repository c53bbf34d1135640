#!/usr/bin/env bash
# The whole test suite: installs the tools the tests need, then runs every
# Go test (vet included) and the Slurm smoke test. Tests that need a tool
# fail, not skip, under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:" >&2; echo "$unformatted" >&2; exit 1
fi
go vet ./...
go test -count=1 -timeout 80m ./...
# The pure-Go forms of the datapath's assembly kernels, alone (same bits).
go test -count=1 -tags purego ./hw/datapath
# Sharded eval on a one-node Slurm cluster that the script starts and stops
# (issue 14): the merged result against the unsharded run, a killed shard.
bash scripts/slurm-smoke.sh
