#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite, from a fresh machine: set-up, both builds, every test in the normal build and
# the lib/ tests again under ASan+UBSan. Ends with "N passed, N failed, N skipped" over both runs.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || exit 1
bash scripts/build.sh --asan || exit 1

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

meson test -C build --print-errorlogs --num-processes 2
meson test -C build-asan --suite lib --print-errorlogs --num-processes 2

# meson writes one JSON object per test to testlog.json; count results over both runs.
python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)["result"]
        key = {"OK": "passed", "EXPECTEDFAIL": "passed", "SKIP": "skipped"}.get(r, "failed")
        counts[key] += 1
        if key != "passed":
            print(f"{path.split('/')[0]}: {json.loads(line)['name']}: {r}")
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
sys.exit(1 if counts["failed"] else 0)
PY
