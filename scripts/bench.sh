#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Side-by-side WireGuard benchmark: meshgate in memory (per worker core, next to the crypto alone),
# then meshgate, wireguard-go and kernel WireGuard (when this kernel has it) behind the same
# generator over the same veth topology, then iperf3 TCP through each. Builds a release tree in
# build-bench/ (unless BENCH_BUILD is set), runs as root, writes perf/results/bench.{json,md,png}.
#   scripts/bench.sh [--quick] [--out DIR] [--idle poll|backoff|both] [--duts LIST] [--skip PARTS]
# (see perf/bench.py --help). --quick: a short version of the same (about a minute).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD:-$root/build-bench}

case "${1:-}" in -h|--help) sed -n '3,8p' "$0"; exec python3 "$root/perf/bench.py" --help ;; esac
bash "$root/scripts/setup.sh" >/dev/null
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" --buildtype=release >/dev/null
fi
ninja -C "$build" >/dev/null
echo "bench: built $build (release)" >&2
export BENCH_BUILD=$build MESHGATE=$build/dataplane/meshgate WGGEN=$build/perf/wggen
exec python3 "$root/perf/bench.py" "$@"
