#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fuzzing: configure build-fuzz/ once (clang, ASan+UBSan, -Dfuzz=true), build the libFuzzer
# targets of tests/fuzz/ and run each for a bounded time on a copy of its seed corpus. The wan and
# lan targets (the data plane's decrypt path; gateway mode's LAN port) need DPDK (libdpdk-dev);
# without it, they are left out of a full run with a note.
#
#   bash scripts/fuzz.sh [--seconds N] [target...]    N seconds per target (60), every target
#
# Prints one line per target (name, executions, result), then
# "fuzz: N targets, M executions, K findings". Exits 1 on any crash, leak, sanitizer report or
# hang; the input that caused it is kept in build-fuzz/fuzz-findings/ and its path printed, with
# the fuzzer's log beside it. Reproduce with build-fuzz/tests/fuzz/fuzz_<target> <input>.
# The repository's corpus is only read: the fuzzer adds to a copy in a temporary directory.
# Needs what scripts/setup.sh installs: clang, libclang-rt-14-dev (libFuzzer), llvm
# (llvm-symbolizer, for readable stacks) and build-essential (libFuzzer links libstdc++).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build-fuzz
FINDINGS=$BUILD/fuzz-findings

# Every target and its -max_len: a little above the largest input that still means something.
TARGETS=(message noise burst replay ratelimit allowedips uapi config keyenc keyfile flow policy wan lan)
DPDK_TARGETS=(wan lan)
declare -A MAX_LEN=(
	[message]=4096     # a UDP payload: data messages past the SIMD backends' split length
	[noise]=1024       # a selector byte and a Noise message with a payload
	[burst]=320        # 80 packet descriptors of 4 bytes
	[replay]=1024      # a few hundred counters
	[ratelimit]=512    # floods fill the table in a few bytes
	[allowedips]=2048  # a few hundred table operations
	[uapi]=8192        # a wg setconf of a few dozen peers
	[config]=16384     # a config of a hundred peers
	[keyenc]=128       # a 44- or 64-character key, and then some
	[keyfile]=512      # twice the largest key file accepted
	[flow]=4096        # a packet to parse, or a few hundred table operations
	[policy]=8192      # a rule set of a few hundred rules and keys, or a JSON policy block
	[wan]=8192         # a knobs byte and a burst: 32 small frames, or five of full size
	[lan]=8192         # a knobs byte and two bursts: 32 small frames and 32 small packets, or a few of full size
)

seconds=60
want=()
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=${2:-}; shift 2 || { echo "fuzz: --seconds needs a value" >&2; exit 2; } ;;
	--seconds=*) seconds=${1#*=}; shift ;;
	-h | --help) awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	-*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
	*) want+=("$1"); shift ;;
	esac
done
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
	echo "fuzz: --seconds takes a positive whole number" >&2
	exit 2
fi
for f in tests/fuzz/fuzz_*.c; do # a new target must be listed above
	t=${f#tests/fuzz/fuzz_}
	t=${t%.c}
	[ -n "${MAX_LEN[$t]:-}" ] || { echo "fuzz: $f has no entry in $0" >&2; exit 2; }
done
all=0
[ ${#want[@]} -gt 0 ] || { want=("${TARGETS[@]}"); all=1; }
for t in "${want[@]}"; do
	[ -n "${MAX_LEN[$t]:-}" ] || { echo "fuzz: unknown target $t (targets: ${TARGETS[*]})" >&2; exit 2; }
done
command -v clang >/dev/null || { echo "fuzz: clang not found; run bash scripts/setup.sh" >&2; exit 1; }

tmp=$(mktemp -d /tmp/meshgate-fuzz.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Configure once: lib/ and tests/fuzz/, and the data plane's sources for fuzz_wan and fuzz_lan when
# DPDK is found (-Ddataplane=auto; only the targets named below are built). A build-fuzz/
# configured before the wan target existed (-Ddataplane=disabled) is switched over.
opts=(-Dfuzz=true "-Db_sanitize=address,undefined" -Db_lundef=false -Ddataplane=auto)
if [ ! -f "$BUILD/build.ninja" ]; then
	CC=clang meson setup "$BUILD" "${opts[@]}" >"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log" >&2; exit 1; }
elif ! python3 -c 'import json, sys; o = {o["name"]: o["value"] for o in json.load(open(sys.argv[1]))}
sys.exit(not (o.get("fuzz") and o.get("dataplane") != "disabled"))' \
		"$BUILD/meson-info/intro-buildoptions.json"; then
	meson configure "$BUILD" -Dfuzz=true -Ddataplane=auto >"$tmp/setup.log" 2>&1 ||
		{ cat "$tmp/setup.log" >&2; exit 1; }
fi
# Regenerate now if the options or meson.build files changed, so the target list below is current.
ninja -C "$BUILD" build.ninja >"$tmp/regen.log" 2>&1 || { cat "$tmp/regen.log" >&2; exit 1; }
# (Listed first, then searched: grep -q quitting early would fail the pipe under pipefail.)
targets=$(ninja -C "$BUILD" -t targets all)
if ! grep -q '^tests/fuzz/fuzz_wan:' <<<"$targets"; then
	# Without DPDK: a full run leaves wan and lan out; asking for one by name is an error.
	kept=()
	for t in "${want[@]}"; do
		if [[ " ${DPDK_TARGETS[*]} " == *" $t "* ]]; then
			[ "$all" -eq 1 ] ||
				{ echo "fuzz: $t needs DPDK (libdpdk-dev; run bash scripts/setup.sh)" >&2; exit 1; }
		else
			kept+=("$t")
		fi
	done
	echo "fuzz: note: DPDK not found, ${DPDK_TARGETS[*]} targets left out (libdpdk-dev; bash scripts/setup.sh)"
	want=("${kept[@]}")
fi
ninja -C "$BUILD" tests/fuzz/make_seeds "${want[@]/#/tests/fuzz/fuzz_}" >"$tmp/build.log" 2>&1 ||
	{ cat "$tmp/build.log" >&2; exit 1; }

# Corpora: the committed seeds, refreshed by make_seeds (the authenticated ones follow the library).
"$BUILD/tests/fuzz/make_seeds" "$tmp/seeds" >/dev/null
stale=0
for f in "$tmp"/seeds/*/*; do
	cmp -s "$f" "tests/fuzz/corpus/${f#"$tmp"/seeds/}" || stale=$((stale + 1))
done
[ "$stale" -eq 0 ] || echo "fuzz: note: $stale seed(s) in tests/fuzz/corpus differ from make_seeds;" \
	"regenerate with $BUILD/tests/fuzz/make_seeds tests/fuzz/corpus"
mkdir -p "$FINDINGS"
echo "fuzz: ${#want[@]} target(s), $seconds s each"

total=0
findings=0
for t in "${want[@]}"; do
	corpus=$tmp/corpus/$t
	log=$tmp/$t.log
	mkdir -p "$corpus"
	cp tests/fuzz/corpus/"$t"/* "$tmp"/seeds/"$t"/* "$corpus"/ 2>/dev/null || true
	rc=0
	ASAN_OPTIONS=detect_leaks=1:symbolize=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len="${MAX_LEN[$t]}" \
		-timeout=30 -print_final_stats=1 -artifact_prefix="$FINDINGS/$t-" "$corpus" \
		>"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	execs=${execs:-0}
	total=$((total + execs))
	if [ "$rc" -eq 0 ] && ! grep -qE 'ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error:' "$log"; then
		result=ok
	else
		findings=$((findings + 1))
		input=$(sed -n 's/.*Test unit written to //p' "$log" | tail -1)
		why=$(grep -m1 -E 'SUMMARY: |check failed|runtime error:|ERROR: ' "$log" || echo "exit status $rc")
		keep=$FINDINGS/$t-$(date +%Y%m%d-%H%M%S).log
		cp "$log" "$keep"
		result="FINDING: ${why#*SUMMARY: }; input: ${input:-none written}; log: $keep"
	fi
	printf '%-11s %12s execs  %s\n' "$t" "$execs" "$result"
done
echo "fuzz: ${#want[@]} targets, $total executions, $findings findings"
[ "$findings" -eq 0 ]
