# SPDX-License-Identifier: MIT
"""A sequence-numbered UDP stream, to see what a tunnel loses, duplicates or reorders.

    python3 seqstream.py send DST PORT RATE SECONDS [SIZE]   paced sender; prints {"sent": N}
    python3 seqstream.py recv ADDR PORT SECONDS              prints what arrived (JSON, below)

Each datagram carries a run id and its sequence number. The receiver stops after SECONDS, or one
second after the sender's last datagram (which says it is last). It reports: received, unique,
duplicates, foreign (not this run), reordered (arrived after a higher sequence number), the
largest reorder distance, and the highest sequence number seen; lost = sent - unique.
"""
import json
import os
import socket
import struct
import sys
import time

HDR = struct.Struct("!4sQQB")  # magic, run id, sequence, last
MAGIC = b"mgsq"


def send(dst, port, rate, seconds, size=64):
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    run = int.from_bytes(os.urandom(8), "big")
    total = int(rate * seconds)
    pad = b"\0" * max(0, size - HDR.size)
    start, seq, errors = time.monotonic(), 0, 0
    while seq < total:
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        while seq < due:
            try:
                s.sendto(HDR.pack(MAGIC, run, seq, seq == total - 1) + pad, (dst, port))
                seq += 1
            except OSError:  # no route or buffer full for a moment: the datagram never left
                errors += 1
                time.sleep(0.001)
        time.sleep(0.001)
    print(json.dumps({"sent": seq, "run": run, "send_errors": errors, "seconds": time.monotonic() - start}))


def recv(addr, port, seconds):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    try:  # as root, past net.core.rmem_max (Python does not name SO_RCVBUFFORCE: Linux's 33)
        s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), 16 << 20)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    s.bind((addr, port))
    s.settimeout(0.2)
    print("ready", flush=True)  # stdout's first line: bound
    seen, run = set(), None
    r = {"received": 0, "duplicates": 0, "foreign": 0, "reordered": 0, "max_reorder": 0, "highest": -1}
    end, last_at = time.monotonic() + seconds, None
    while time.monotonic() < end and (last_at is None or time.monotonic() < last_at + 1):
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        if len(data) < HDR.size or data[:4] != MAGIC:
            r["foreign"] += 1
            continue
        _, rid, seq, last = HDR.unpack_from(data)
        if run is None:
            run = rid
        if rid != run:
            r["foreign"] += 1
            continue
        r["received"] += 1
        if seq in seen:
            r["duplicates"] += 1
            continue
        seen.add(seq)
        if seq < r["highest"]:
            r["reordered"] += 1
            r["max_reorder"] = max(r["max_reorder"], r["highest"] - seq)
        r["highest"] = max(r["highest"], seq)
        if last:
            last_at = time.monotonic()
    r["unique"] = len(seen)
    r["run"] = run
    print(json.dumps(r))


if __name__ == "__main__":
    if len(sys.argv) >= 6 and sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]),
             int(sys.argv[6]) if len(sys.argv) > 6 else 64)
    elif len(sys.argv) == 5 and sys.argv[1] == "recv":
        recv(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(__doc__)
