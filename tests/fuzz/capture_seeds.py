#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Seeds from real packets: capture what a real WireGuard peer (wireguard-go) and a real kernel
send to meshgate, and write them into the fuzz corpora (as root; the committed files under
tests/fuzz/corpus/*/real-* are its output):

    MESHGATE=build/daemon/meshgate python3 tests/fuzz/capture_seeds.py tests/fuzz/corpus

It runs the e2e topology (tests/e2e/mgtest.py: meshgate in one namespace, wireguard-go in the
other, a veth between), lets wireguard-go initiate the handshake, pings both ways over IPv4 and
IPv6 (inner) and IPv6 (outer), and records every frame ns B sends towards meshgate on the veth:
the kernel's ARP and neighbour discovery, wireguard-go's initiation, response, data and
keepalives (wireguard-go and meshgate are each restarted once while it listens, so each
initiates). Each distinct kind is written once:
  corpus/wan/real-<kind>      one frame in fuzz_wan's input format (knobs 0, a u16 length)
  corpus/message/real-<kind>  its UDP payload (WireGuard messages only)
Their keys are not the fuzz world's, so the handshakes stop at mac1 and the data at the index
lookup; they are there for their real shapes (headers, lengths, padding, what a kernel puts in an
ARP or a neighbour solicitation), which the made seeds only imitate.
"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e"))
import mgtest  # noqa: E402

WG_KINDS = {1: "initiation", 2: "response", 3: "cookie", 4: "data"}


def kind_of(frame):
    """A short name for a frame, or None for what is not worth a seed."""
    etype = struct.unpack_from("!H", frame, 12)[0]
    if etype == 0x0806:
        return "arp-" + {1: "request", 2: "reply"}.get(struct.unpack_from("!H", frame, 20)[0], "other")
    if etype == 0x0800 and frame[23] == 17:
        l4 = 14 + (frame[14] & 15) * 4
        return udp_kind(frame, l4, "4")
    if etype == 0x86DD:
        nh = frame[20]
        if nh == 58:
            return {133: "ndp-rs", 134: "ndp-ra", 135: "ndp-ns", 136: "ndp-na"}.get(frame[54], None)
        if nh == 17:
            return udp_kind(frame, 54, "6")
    return None


def udp_kind(frame, l4, v):
    payload = frame[l4 + 8:]
    if len(payload) < 4 or payload[0] not in WG_KINDS:
        return None
    name = WG_KINDS[payload[0]]
    if name == "data":
        name = "keepalive" if len(payload) == 32 else "data"
    return f"wg{v}-{name}"


def sniff(ifname):
    """(Run in ns B.) Print, in hex, each frame leaving ifname (towards meshgate) until stdin
    closes."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((ifname, 0))
    s.settimeout(0.2)
    print("ready", flush=True)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    while not stop.is_set():
        try:
            frame, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[2] == socket.PACKET_OUTGOING:
            print(frame.hex(), flush=True)


def main(outdir):
    with mgtest.Topology("c", port_a=51820, port_b=51821) as t:
        sniffer = subprocess.Popen(["ip", "netns", "exec", t.ns_b, sys.executable, os.path.abspath(__file__),
                                    "--sniff", t.veth_b], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        t.procs.append(sniffer)
        assert sniffer.stdout.readline().strip() == "ready"
        try:
            wg = t.procs[0]              # a fresh wireguard-go: it initiates
            wg.terminate()
            wg.wait(10)
            t.start_wireguard_go()
            t.ping_from_b(mgtest.IN_A)
            t.ping_from_b(mgtest.IN6_A)
            t.stop_meshgate()            # a fresh meshgate: it ARPs and initiates, wireguard-go answers
            t.start_meshgate()
            t.ping_from_a(mgtest.IN_B)
            t.b("ping", "-c", "2", "-W", "1", mgtest.WAN6_A, check=False)  # neighbour discovery
            t.b("ip", "neigh", "flush", "dev", t.veth_b)
            t.ping_from_b(mgtest.IN_A)   # ARP again, now as a request to a known MAC's owner
            time.sleep(11)               # wireguard-go's keepalive after 10 s without sending
        finally:
            out = sniffer.communicate(input="", timeout=10)[0]
    frames = [bytes.fromhex(line) for line in out.split()]
    seen = {}
    for f in frames:
        k = kind_of(f)
        if k and k not in seen:
            seen[k] = f
    for k, f in sorted(seen.items()):
        os.makedirs(os.path.join(outdir, "wan"), exist_ok=True)
        with open(os.path.join(outdir, "wan", f"real-{k}"), "wb") as out:
            out.write(bytes([0]) + struct.pack("<H", len(f)) + f)
        if k.startswith("wg"):
            l4 = 14 + (f[14] & 15) * 4 if k.startswith("wg4") else 54
            os.makedirs(os.path.join(outdir, "message"), exist_ok=True)
            with open(os.path.join(outdir, "message", f"real-{k}"), "wb") as out:
                out.write(f[l4 + 8:])
    print(f"capture_seeds: {len(frames)} frames, {len(seen)} kinds: {', '.join(sorted(seen))}")
    return 0 if seen else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--sniff":
        sys.exit(sniff(sys.argv[2]))
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
