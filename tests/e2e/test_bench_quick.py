#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""scripts/bench.sh --quick's benchmark, end to end, into a temporary directory: every part runs
(in memory, the generator against each DUT over veth, iperf3 through each tunnel) and the JSON,
markdown and plot are written with the records the README promises. No figure is asserted: this is
a test that the benchmark works, not a timed test.

Exit 0 passed, 1 failed, 77 tools missing (skipped).
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import mgtest  # noqa: E402

REQUIRED = ("dut", "path", "size", "flows", "pps", "gbps", "loss")


def main():
    missing = mgtest.missing_tools()
    if missing or os.geteuid() != 0:
        print(f"SKIP: needs root and {', '.join(missing) or 'nothing else'}")
        return 77
    fails = []
    with tempfile.TemporaryDirectory(prefix="meshgate-bench-") as out:
        p = subprocess.run([sys.executable, os.path.join(ROOT, "perf", "bench.py"), "--quick",
                            "--out", out], capture_output=True, text=True, timeout=540)
        print(p.stderr[-3000:])
        if p.returncode != 0:
            fails.append(f"bench.py exit {p.returncode}")
        try:
            doc = json.load(open(os.path.join(out, "bench.json")))
        except (OSError, ValueError) as e:
            print(f"FAIL bench.json: {e}")
            return 1
        recs = doc["records"]
        for r in recs:
            if any(k not in r for k in REQUIRED) or "error" in r:
                fails.append(f"record incomplete or failed: {r}")
        have = {(r["dut"], r["path"]) for r in recs}
        for want in [("meshgate-inmem", "decrypt"), ("meshgate-inmem", "encrypt"),
                     ("generator-only", "decrypt"), ("generator-only", "encrypt"),
                     ("meshgate", "decrypt"), ("meshgate", "encrypt"), ("meshgate", "tcp"),
                     ("wireguard-go", "decrypt"), ("wireguard-go", "encrypt"), ("wireguard-go", "tcp")]:
            if want not in have:
                fails.append(f"no {want[0]} {want[1]} record")
        if not all(k in doc["machine"] for k in ("cpu_model", "cpu_flags", "cores", "kernel", "versions")):
            fails.append("machine description incomplete")
        for f in ("bench.md", "bench.png"):
            path = os.path.join(out, f)
            if not os.path.exists(path) or os.path.getsize(path) < 200:
                fails.append(f"{f} missing or empty")
    for f in fails:
        print(f"FAIL {f}")
    print(f"bench quick: {len(recs)} records, {len(fails)} problems")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
