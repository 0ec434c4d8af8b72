#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite, from a fresh machine: set-up, both builds, every test in the normal build,
# the lib/ tests again under ASan+UBSan, and every libFuzzer target for a bounded time
# (MESHGATE_FUZZ_SECONDS each, default 60; 0 skips them). Ends with "N passed, N failed, N skipped"
# over all of it; a fuzz target counts as one test.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || exit 1
bash scripts/build.sh --asan || exit 1

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

meson test -C build --print-errorlogs --num-processes 2
meson test -C build-asan --suite lib --print-errorlogs --num-processes 2

fuzz_seconds=${MESHGATE_FUZZ_SECONDS:-60}
fuzz_log=build/fuzz.log
if [ "$fuzz_seconds" -gt 0 ]; then
	bash scripts/fuzz.sh --seconds "$fuzz_seconds" 2>&1 | tee "$fuzz_log"
else
	echo "fuzz: skipped (MESHGATE_FUZZ_SECONDS=0)" | tee "$fuzz_log"
fi

# meson writes one JSON object per test to testlog.json; count results over both runs and fuzz.
python3 - "$fuzz_log" build/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, re, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
# fuzz.sh: one line per target ("name  N execs  ok|FINDING: ..."), then its summary line.
fuzz = open(sys.argv[1]).read()
for name, result in re.findall(r"^(\w+) +\d+ execs  (ok|FINDING.*)$", fuzz, re.M):
    counts["passed" if result == "ok" else "failed"] += 1
    if result != "ok":
        print(f"fuzz: {name}: {result}")
if fuzz.startswith("fuzz: skipped"):
    counts["skipped"] += 1
elif not re.search(r"^fuzz: \d+ targets, \d+ executions, \d+ findings$", fuzz, re.M):
    counts["failed"] += 1
    print("fuzz: did not complete (see build/fuzz.log)")
for path in sys.argv[2:]:
    for line in open(path):
        r = json.loads(line)["result"]
        key = {"OK": "passed", "EXPECTEDFAIL": "passed", "SKIP": "skipped"}.get(r, "failed")
        counts[key] += 1
        if key != "passed":
            print(f"{path.split('/')[0]}: {json.loads(line)['name']}: {r}")
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
sys.exit(1 if counts["failed"] else 0)
PY
