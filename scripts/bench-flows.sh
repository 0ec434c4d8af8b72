#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The flow stage's cost per packet, in memory: meshgate's worker loop on one core without the flow
# stage, with tables of 1000 and a million flows, and with a policy of 1000 rules, side by side in
# one run next to the crypto alone. Builds bench_dataplane in the release tree build-bench/ (unless
# BENCH_BUILD is set), writes perf/results/bench_flows.{json,md,png}.
#   scripts/bench-flows.sh [--quick] [--out DIR] [--rounds N] [--packets K] [--note TEXT]
# (see perf/bench_flows.py --help). --quick: sizes 64 and 1420, 5 rounds, no million-flow table.
#   scripts/bench-flows.sh --build-only: configure and build bench_dataplane, run nothing.
# Needs no root: without 128 free 2 MB hugepages bench_dataplane runs with --no-huge.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD:-$root/build-bench}
build_only=0

case "${1:-}" in
  -h|--help) sed -n '3,10p' "$0"; exec python3 "$root/perf/bench_flows.py" --help ;;
  --build-only) build_only=1 ;;
esac
# build-bench/ is shared with scripts/bench.sh and scripts/bench-crypto.sh: bench_tree
# (scripts/bench-tree.sh) keeps it configured for all of them; this one needs the data plane, as
# bench.sh does.
. "$root/scripts/bench-tree.sh"
bench_tree "$build" "$root" dataplane=enabled
bench_tree_ninja "$build" perf/bench_dataplane
echo "bench-flows: built $build/perf/bench_dataplane (release)" >&2
if [ "$build_only" = 1 ]; then
  exit 0
fi
export BENCH_BUILD=$build
exec python3 "$root/perf/bench_flows.py" "$@"
