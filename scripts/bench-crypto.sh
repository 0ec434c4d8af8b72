#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Crypto benchmark: builds bench_crypto (release, in build-bench/ unless BUILD_DIR is set), runs it
# pinned to one CPU and writes perf/results/bench_crypto.{json,md,dat,png}.
#   scripts/bench-crypto.sh [--quick] [--cpu N] [--build-only]
# The results are generated output; the JSON records have backend, op, size, pps, gbps (Gbit/s of
# payload) and cpb (TSC ticks per payload byte; the TSC is calibrated, no hardware counters).
# --build-only: configure and build bench_crypto, run nothing (tests/test_bench_scripts.sh).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
out=$root/perf/results
args=()
build_only=0
while [ $# -gt 0 ]; do
  case $1 in
    --quick) args+=(--quick) ;;
    --cpu) args+=(--cpu "$2"); shift ;;
    --build-only) build_only=1 ;;
    -h|--help) sed -n '3,9p' "$0"; exit 0 ;;
    *) echo "bench-crypto: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

# build-bench/ is shared with scripts/bench.sh: bench_tree (scripts/bench-tree.sh) keeps it
# configured for both. bench_crypto builds in any configuration of it, so nothing is asked for here.
. "$root/scripts/bench-tree.sh"
bench_tree "$build" "$root"
bench_tree_ninja "$build" perf/bench_crypto
if [ "$build_only" = 1 ]; then
  echo "bench-crypto: built $build/perf/bench_crypto"
  exit 0
fi
mkdir -p "$out"
"$build/perf/bench_crypto" "${args[@]}" --out "$out"

if command -v gnuplot >/dev/null; then
  # one panel per op: Gbit/s against packet size, one line per backend
  {
    echo "set terminal pngcairo size 1400,560 noenhanced font ',10'"
    echo "set output '$out/bench_crypto.png'"
    echo "set multiplot layout 1,2 title 'ChaCha20-Poly1305, bursts of 32, one core'"
    echo "set style data linespoints; set grid; set key top left; set ylabel 'Gbit/s (payload)'"
    echo "set xtics ('64' 0, '128' 1, '256' 2, '512' 3, '1024' 4, '1420' 5, '4096' 6, '9000' 7, 'imix' 8)"
    echo "set xlabel 'payload bytes'"
    for op in 0 1; do
      [ $op = 0 ] && echo "set title 'seal'" || echo "set title 'open'"
      plot="plot"
      i=0
      while read -r _ name o; do
        [ "$o" = "$([ $op = 0 ] && echo seal || echo open)" ] || { i=$((i + 1)); continue; }
        plot="$plot '$out/bench_crypto.dat' index $i using 1:3 title '$name',"
        i=$((i + 1))
      done < <(grep '^# ' "$out/bench_crypto.dat")
      echo "${plot%,}"
    done
    echo "unset multiplot"
  } | gnuplot
  echo "bench-crypto: wrote $out/bench_crypto.{json,md,png}"
else
  echo "bench-crypto: gnuplot not found, no plot; wrote $out/bench_crypto.{json,md}"
fi
