#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/bench-crypto.sh and scripts/bench.sh share one build tree (build-bench/): each must find
# what it needs there whatever ran before it. Issue 11: bench-crypto.sh, run first as the README
# has it, set the tree up without the data plane, and bench.sh then found it configured and had no
# bench_dataplane to run. Here their --build-only set-up runs in that order in a temporary tree,
# then bench-crypto.sh again (it must not undo what bench.sh needs, nor reconfigure for nothing).
# No benchmark is run. Exit 0 passed, 1 failed, 77 skipped (no DPDK to build the data plane).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if ! pkg-config --exists libdpdk; then
	echo "SKIP: libdpdk not found (bench.sh needs the data plane)"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/meshgate-bench-scripts-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# the two scripts name their tree by different variables
export BUILD_DIR=$tmp/tree BENCH_BUILD=$tmp/tree
fails=0

check() { # what, command...: passes when the command does
	local what=$1
	shift
	if "$@"; then
		echo "  ok   $what"
	else
		echo "  FAIL $what"
		fails=$((fails + 1))
	fi
}

run() { # name, script args...: runs it, its output in $tmp/<name>.log
	local name=$1
	shift
	SECONDS=0
	if "$@" >"$tmp/$name.log" 2>&1; then
		echo "$name: exit 0 in ${SECONDS} s"
	else
		echo "$name: exit $? in ${SECONDS} s"
		sed 's/^/    /' "$tmp/$name.log"
		fails=$((fails + 1))
	fi
}

run bench-crypto bash "$root/scripts/bench-crypto.sh" --build-only
check "bench-crypto.sh first: bench_crypto built" test -x "$tmp/tree/perf/bench_crypto"

run bench bash "$root/scripts/bench.sh" --build-only
sed -n 's/^bench: /    bench.sh said: /p' "$tmp/bench.log"
for exe in daemon/meshgate perf/wggen perf/bench_dataplane; do
	check "bench.sh after bench-crypto.sh: $exe built" test -x "$tmp/tree/$exe"
done

run bench-crypto-again bash "$root/scripts/bench-crypto.sh" --build-only
check "bench-crypto.sh after bench.sh: bench_crypto built" test -x "$tmp/tree/perf/bench_crypto"
check "bench-crypto.sh after bench.sh: the tree left as it was (no reconfiguration)" \
	test -z "$(grep reconfiguring "$tmp/bench-crypto-again.log")"
dataplane=$(meson introspect "$tmp/tree" --buildoptions |
	python3 -c 'import json, sys; print(*(o["value"] for o in json.load(sys.stdin) if o["name"] == "dataplane"))')
check "bench-crypto.sh after bench.sh: the data plane still configured ($dataplane)" \
	test "$dataplane" = enabled

echo "bench scripts: $fails failed"
[ "$fails" = 0 ]
