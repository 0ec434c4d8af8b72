#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""meshgate's command line: --help, --version, and refusal of bad configurations with an error
naming the field, before anything starts (no DPDK, no namespaces needed)."""
import json
import os
import subprocess
import sys
import tempfile

MESHGATE = os.environ.get("MESHGATE", os.path.join(os.path.dirname(__file__), "..", "..", "build",
                                                   "daemon", "meshgate"))
passed = failed = 0
KEY = "YNqHbfBQKaGvzefSSKQRd9ZTDA3cG64XAPuKVEvPJVE="  # a syntactically valid key, used nowhere


def check(cond, what, detail=""):
    global passed, failed
    passed, failed = passed + bool(cond), failed + (not cond)
    print(f"  {'ok  ' if cond else 'FAIL'} {what} {'' if cond else detail}")


def run(*args):
    p = subprocess.run([MESHGATE, *args], capture_output=True, text=True, timeout=20)
    return p.returncode, p.stdout + p.stderr


def config(d, **changes):
    key = os.path.join(d, "k.key")
    if not os.path.exists(key):
        fd = os.open(key, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, (KEY + "\n").encode())
        os.close(fd)
    cfg = {"interface": "mgcli0", "private_key_file": key, "listen_port": 51820,
           "eal": ["--no-pci", "--in-memory", "-l", "0-1"],
           "wan": {"device": "net_null0", "addresses": ["192.168.77.1/24"]},
           "inner": {"device": "tun", "name": "mgcli0", "addresses": ["10.77.0.1/24"], "mtu": 1420},
           "peers": [{"public_key": KEY, "allowed_ips": ["10.77.0.2/32"]}]}
    for path, value in changes.items():
        node, *rest = path.split(".")
        target = cfg
        while rest:
            target, node, rest = target[node] if not isinstance(target, list) else target[int(node)], rest[0], rest[1:]
        if isinstance(target, list):
            target[int(node)] = value
        else:
            target[node] = value
    path = os.path.join(d, "c.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def main():
    if not os.path.exists(MESHGATE):
        print(f"SKIP: {MESHGATE} not built")
        return 77
    code, out = run("--help")
    check(code == 0 and "--config" in out and "wg" in out, "--help exits 0 and documents --config")
    code, out = run("--version")
    check(code == 0 and out.startswith("meshgate "), "--version")
    code, out = run()
    check(code == 2 and "--config" in out, "no --config: usage error (exit 2)", out)
    with tempfile.TemporaryDirectory() as d:
        code, out = run("--config", os.path.join(d, "absent.json"))
        check(code == 1 and "absent.json" in out, "missing config file named", out)
        for field, value, expect in [
            ("listen_port", 70000, "listen_port"),
            ("wan.addresses", ["192.168.77.1/33"], "wan.addresses[0]"),
            ("inner.mtu", 100, "inner.mtu"),
            ("idle", "sometimes", "idle"),
            ("peers.0.public_key", "not-a-key", "peers[0].public_key"),
            ("peers.0.allowed_ips", ["10.0.0.0/40"], "peers[0].allowed_ips[0]"),
            ("interface", "a-name-far-too-long-for-linux", "interface"),
            ("unknown_field", 1, "unknown_field"),
        ]:
            code, out = run("--config", config(d, **{field: value}))
            check(code == 1 and expect in out, f"bad {field} refused, naming {expect}", out.strip()[-300:])
        os.chmod(os.path.join(d, "k.key"), 0o644)
        code, out = run("--config", config(d))
        check(code == 1 and "private_key_file" in out and "600" in out,
              "a key file others can read is refused (as ssh does)", out.strip()[-300:])
    print(f"cli: {passed} checks passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
