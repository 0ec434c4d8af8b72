#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Capture what crosses one interface, for the e2e tests: one JSON line per Ethernet frame.

    wirecap.py IFACE SECONDS [--out FILE]

Run inside the namespace that holds IFACE (ip netns exec NS python3 wirecap.py ...). Records:
time, direction ("in"/"out" as the interface sees it), src/dst MAC, and for IPv4/IPv6: addresses,
the IPv4 ID, DF/MF flags, fragment offset, whether the IPv4 header checksum is right, the protocol,
and for UDP: ports, length, and the first bytes of the payload (WireGuard type and receiver index of
data messages). It prints "ready" on stderr once the socket is bound, so a caller can start traffic
after that and miss nothing.
"""
import json
import socket
import struct
import sys
import time

ETH_P_ALL = 3
PACKET_OUTGOING = 4


def ip_checksum_ok(hdr):
    s = 0
    for i in range(0, len(hdr), 2):
        s += hdr[i] << 8 | hdr[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s == 0xFFFF


def parse(frame):
    rec = {"len": len(frame), "dst_mac": frame[0:6].hex(":"), "src_mac": frame[6:12].hex(":")}
    etype = struct.unpack("!H", frame[12:14])[0]
    l3 = frame[14:]
    proto, l4 = None, None
    if etype == 0x0800 and len(l3) >= 20:
        ihl = (l3[0] & 0xF) * 4
        flags_off = struct.unpack("!H", l3[6:8])[0]
        rec.update(family=4, src=socket.inet_ntop(socket.AF_INET, l3[12:16]),
                   dst=socket.inet_ntop(socket.AF_INET, l3[16:20]), ip_id=struct.unpack("!H", l3[4:6])[0],
                   df=bool(flags_off & 0x4000), mf=bool(flags_off & 0x2000), frag_off=(flags_off & 0x1FFF) * 8,
                   ip_len=struct.unpack("!H", l3[2:4])[0], csum_ok=ip_checksum_ok(l3[:ihl]))
        proto = l3[9]
        if rec["frag_off"] == 0:
            l4 = l3[ihl:rec["ip_len"]]
    elif etype == 0x86DD and len(l3) >= 40:
        rec.update(family=6, src=socket.inet_ntop(socket.AF_INET6, l3[8:24]),
                   dst=socket.inet_ntop(socket.AF_INET6, l3[24:40]),
                   ip_len=40 + struct.unpack("!H", l3[4:6])[0])
        proto, off = l3[6], 40
        if proto == 44 and len(l3) >= 48:  # fragment header
            fo = struct.unpack("!H", l3[42:44])[0]
            rec.update(frag_off=fo & 0xFFF8, mf=bool(fo & 1), frag_id=struct.unpack("!I", l3[44:48])[0])
            proto, off = l3[40], 48
            if rec["frag_off"]:
                proto = None
        if proto is not None:
            l4 = l3[off:rec["ip_len"]]
    elif etype == 0x0806:
        rec["arp_op"] = struct.unpack("!H", l3[6:8])[0] if len(l3) >= 8 else None
    rec["proto"] = proto
    if proto == 17 and l4 is not None and len(l4) >= 8:
        sport, dport, ulen = struct.unpack("!HHH", l4[:6])
        payload = l4[8:]
        rec.update(sport=sport, dport=dport, udp_len=ulen)
        if len(payload) >= 4:
            rec["wg_type"] = payload[0] if payload[1:4] == b"\0\0\0" else None
            if rec["wg_type"] == 4 and len(payload) >= 16:
                rec["receiver"] = struct.unpack("<I", payload[4:8])[0]
                rec["counter"] = struct.unpack("<Q", payload[8:16])[0]
    elif proto == 58 and l4 is not None and len(l4) >= 1:
        rec["icmp6_type"] = l4[0]
    return rec


def main():
    iface, seconds = sys.argv[1], float(sys.argv[2])
    out = open(sys.argv[4], "w") if len(sys.argv) > 4 and sys.argv[3] == "--out" else sys.stdout
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    print("ready", file=sys.stderr, flush=True)
    end = time.time() + seconds
    while True:
        left = end - time.time()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            frame, addr = s.recvfrom(65535)
        except socket.timeout:
            break
        rec = parse(frame)
        rec["t"] = round(time.time(), 6)
        rec["dir"] = "out" if addr[2] == PACKET_OUTGOING else "in"
        out.write(json.dumps(rec) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
