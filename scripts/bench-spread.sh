#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One peer on many cores, in memory: meshgate's worker loop on 1, 2, ... worker lcores, the decrypt
# path's AEAD spread over them (dataplane/spread.c), one peer's one flow all in WAN queue 0; and one
# worker's rates at 1420 B, for a projection to 100 Gbit/s. Builds bench_dataplane in the release
# tree build-bench/ (unless BENCH_BUILD is set) as bench-flows.sh does, writes
# perf/results/bench_spread.{json,md,png}.
#   scripts/bench-spread.sh [--quick] [--out DIR] [--workers 1,2,...] [--runs R] [--rounds N] ...
# (see perf/bench_spread.py --help). --quick: sizes 64 and 1420, one run of 5 rounds, no waiting.
#   scripts/bench-spread.sh --build-only: configure and build bench_dataplane, run nothing.
# Needs no root: without 128 free 2 MB hugepages bench_dataplane runs with --no-huge. With fewer
# CPUs than workers + 1, the main lcore shares CPU 0 with worker 0 (it sleeps while they are timed).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export BENCH_BUILD=${BENCH_BUILD:-$root/build-bench}

case "${1:-}" in
  -h|--help) sed -n '3,12p' "$0"; exec python3 "$root/perf/bench_spread.py" --help ;;
esac
# The same tree and target as bench-flows.sh: its set-up (bench_tree, scripts/bench-tree.sh) is ours.
bash "$root/scripts/bench-flows.sh" --build-only
if [ "${1:-}" = --build-only ]; then
  exit 0
fi
exec python3 "$root/perf/bench_spread.py" "$@"
