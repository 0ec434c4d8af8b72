#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Side-by-side WireGuard benchmark: meshgate in memory (per worker core, next to the crypto alone),
# then meshgate, wireguard-go and kernel WireGuard (when this kernel has it) behind the same
# generator over the same veth topology, then iperf3 TCP through each. Builds a release tree in
# build-bench/ (unless BENCH_BUILD is set), runs as root, writes perf/results/bench.{json,md,png}.
#   scripts/bench.sh [--quick] [--out DIR] [--idle poll|backoff|both] [--duts LIST] [--skip PARTS]
# (see perf/bench.py --help). --quick: a short version of the same (about a minute).
#   scripts/bench.sh --build-only: configure and build what the benchmark runs, nothing else (no
#   scripts/setup.sh, no root needed; tests/test_bench_scripts.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD:-$root/build-bench}
build_only=0

case "${1:-}" in
  -h|--help) sed -n '3,10p' "$0"; exec python3 "$root/perf/bench.py" --help ;;
  --build-only) build_only=1 ;;
esac
[ "$build_only" = 1 ] || bash "$root/scripts/setup.sh" >/dev/null
# build-bench/ is shared with scripts/bench-crypto.sh, which may have set it up first without the
# data plane: bench_tree (scripts/bench-tree.sh) reconfigures it then, and a tree without DPDK
# fails here, saying so, rather than later for want of meshgate.
. "$root/scripts/bench-tree.sh"
bench_tree "$build" "$root" dataplane=enabled
# only what perf/bench.py runs (not the unit tests)
bench_tree_ninja "$build" daemon/meshgate perf/wggen perf/bench_dataplane
echo "bench: built $build (release)" >&2
if [ "$build_only" = 1 ]; then
  exit 0
fi
export BENCH_BUILD=$build MESHGATE=$build/daemon/meshgate WGGEN=$build/perf/wggen
exec python3 "$root/perf/bench.py" "$@"
