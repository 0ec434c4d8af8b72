#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""meshgate host mode against wireguard-go, end to end, in namespaces this test creates.

Each scenario gets a fresh topology (mgtest.Topology) and is one or more named checks. Run all with
no arguments, or name scenarios. Exit 0 all passed, 1 a check failed, 77 tools missing (skipped).
"""
import os
import socket
import subprocess
import sys
import time

import mgtest
from mgtest import IN6_A, IN6_B, IN_A, IN_B, WAN_A, Topology

check = mgtest.Checks()


def handshake_meshgate_first():
    with Topology("h") as t:
        check(t.ping_from_a(IN_B) >= 2, "meshgate initiates: IPv4 ping through the tunnel", t.log())
        check(t.ping_from_a(IN6_B) >= 2, "IPv6 ping through the tunnel")
        check(t.ping_from_b(IN_A) >= 2, "ping back from wireguard-go")
        a, b = t.wg_dump("a")[t.pub_b], t.wg_dump("b")[t.pub_a]
        check(a["latest_handshake"] > 0 and b["latest_handshake"] > 0, "latest handshake set on both ends")
        check(a["endpoint"] == f"{mgtest.WAN_B}:{t.port_b}", "meshgate shows the peer's endpoint", a["endpoint"])
        # Counters: what one side sent, the other received (let keepalives settle first).
        time.sleep(1.5)
        a, b = t.wg_dump("a")[t.pub_b], t.wg_dump("b")[t.pub_a]
        check(a["rx"] > 0 and abs(a["rx"] - b["tx"]) <= 64 and abs(a["tx"] - b["rx"]) <= 64,
              "transfer counters agree across the tunnel", f"a={a} b={b}")


def outer_ipv6():
    with Topology("6", outer6=True) as t:
        check(t.ping_from_a(IN_B) >= 2, "tunnel over IPv6 (neighbour discovery): IPv4 inside", t.log())
        check(t.ping_from_a(IN6_B) >= 2, "tunnel over IPv6: IPv6 inside")
        ep = t.wg_dump("a")[t.pub_b]["endpoint"]
        check(ep == f"[{mgtest.WAN6_B}]:{t.port_b}", "IPv6 endpoint shown", ep)


def handshake_peer_first():
    with Topology("p") as t:
        check(t.ping_from_b(IN_A) >= 2, "wireguard-go initiates: IPv4 ping", t.log())
        check(t.ping_from_b(IN6_A) >= 2, "wireguard-go initiates: IPv6 ping")


def iperf():
    with Topology("i") as t:
        server = subprocess.Popen(["ip", "netns", "exec", t.ns_b, "iperf3", "-s", "-1", "-B", IN_B],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t.procs.append(server)
        time.sleep(0.5)
        out = t.a("iperf3", "-c", IN_B, "-t", "3", "-J", check=False, timeout=30).stdout
        check('"sum_received"' in out and '"bits_per_second"' in out, "iperf3 TCP meshgate -> wireguard-go")
        server.wait(10)
        server = subprocess.Popen(["ip", "netns", "exec", t.ns_b, "iperf3", "-s", "-1", "-B", IN_B],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t.procs.append(server)
        time.sleep(0.5)
        out = t.a("iperf3", "-c", IN_B, "-t", "3", "-R", "-J", check=False, timeout=30).stdout
        check('"sum_received"' in out, "iperf3 TCP wireguard-go -> meshgate")
        server.wait(10)


def live_changes():
    with Topology("l") as t:
        check(t.ping_from_a(IN_B) >= 2, "tunnel up")
        # Move the peer's inner address: allowed-IPs changed on both ends, traffic follows.
        t.b("ip", "addr", "add", "10.77.0.22/24", "dev", t.if_b)
        t.b("wg", "set", t.if_b, "peer", t.pub_a, "allowed-ips", "10.77.0.1/32,fd00:77::1/128")
        check(t.ping_from_a("10.77.0.22", count=2, timeout=4) == 0, "not in allowed-IPs: no route")
        t.a("wg", "set", t.if_a, "peer", t.pub_b, "allowed-ips", "10.77.0.2/32,10.77.0.22/32,fd00:77::2/128")
        check(t.ping_from_a("10.77.0.22") >= 2, "wg set allowed-ips: traffic follows")
        shown = t.wg_dump("a")[t.pub_b]["allowed_ips"]
        check("10.77.0.22/32" in shown, "wg show lists the new allowed IP", shown)
        t.a("wg", "set", t.if_a, "peer", t.pub_b, "remove")
        check(t.pub_b not in t.wg_dump("a"), "peer removed from wg show")
        check(t.ping_from_a(IN_B, count=2, timeout=4) == 0, "removed peer: traffic stops")
        conf = os.path.join(t.dir, "sync.conf")
        with open(conf, "w") as f:
            # syncconf replaces the whole interface: a file without PrivateKey would remove it.
            f.write(f"[Interface]\nPrivateKey = {t.key_a}\nListenPort = {t.port_a}\n\n[Peer]\nPublicKey = {t.pub_b}\n"
                    f"Endpoint = {mgtest.WAN_B}:{t.port_b}\nAllowedIPs = 10.77.0.2/32, fd00:77::2/128\n")
        t.a("wg", "syncconf", t.if_a, conf)
        check(t.ping_from_a(IN_B) >= 2, "wg syncconf re-adds the peer: traffic flows")
        # showconf -> setconf round trip: the same configuration, applied whole, keeps working.
        shown = t.a("wg", "showconf", t.if_a).stdout
        with open(conf, "w") as f:
            f.write(shown)
        t.a("wg", "setconf", t.if_a, conf)
        check(t.a("wg", "showconf", t.if_a).stdout.split("\n[Peer]")[0] == shown.split("\n[Peer]")[0]
              and t.pub_b in t.wg_dump("a"), "wg showconf | wg setconf round trip")
        check(t.ping_from_a(IN_B) >= 2, "traffic flows after wg setconf")
        # A refused change leaves everything as it was (bad value: the whole set is rejected).
        before = t.a("wg", "showconf", t.if_a).stdout
        bad = t.a("wg", "set", t.if_a, "peer", t.pub_b, "allowed-ips", "10.77.0.50/32",
                  "peer", t.pub_b, "endpoint", "[fd77::2%nosuchif]:1", check=False)
        check(bad.returncode != 0 and t.a("wg", "showconf", t.if_a).stdout == before,
              "a refused wg set changes nothing", bad.stderr.strip())


def roaming():
    with Topology("r") as t:
        check(t.ping_from_a(IN_B) >= 2, "tunnel up")
        # Delete first: removing a primary address also removes secondaries in its subnet.
        t.b("ip", "addr", "del", f"{mgtest.WAN_B}/24", "dev", t.veth_b)
        t.b("ip", "addr", "add", "192.168.77.3/24", "dev", t.veth_b)
        t.b("wg", "set", t.if_b, "listen-port", "51999")
        check(t.ping_from_b(IN_A, count=3, timeout=10) >= 2, "peer moved address and port: its traffic arrives")
        ep = t.wg_dump("a")[t.pub_b]["endpoint"]
        check(ep == "192.168.77.3:51999", "meshgate's endpoint followed the peer", ep)
        check(t.ping_from_a(IN_B) >= 2, "meshgate reaches the peer at its new address")


def garbage_and_replay():
    with Topology("g") as t:
        check(t.ping_from_a(IN_B) >= 2, "tunnel up")
        sender = ("import socket,os,sys\n"
                  "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                  "for i in range(200): s.sendto(os.urandom(1+i*7%1400),(sys.argv[1],int(sys.argv[2])))\n"
                  "for t in (1,2,3,4):\n"
                  "  for n in (5,40,147,149,300): s.sendto(bytes([t,0,0,0])+os.urandom(n),(sys.argv[1],int(sys.argv[2])))\n")
        before = {r: t.drops(r) for r in ("wg_bad_message", "wg_unknown_index", "hs_invalid_mac")}
        t.b(sys.executable, "-c", sender, WAN_A, str(t.port_a))
        time.sleep(1.5)
        after = {r: t.drops(r) for r in before}
        check(after["wg_bad_message"] > before["wg_bad_message"], "garbage counted as wg_bad_message", str(after))
        check(after["wg_unknown_index"] > before["wg_unknown_index"], "random data messages: wg_unknown_index")
        # Replay: capture a real data packet from wireguard-go to meshgate, send it again.
        # Replay: capture a data packet wireguard-go sends to meshgate and send the frame again.
        replay = ("import socket,sys\n"
                  "dst=socket.inet_aton(sys.argv[2])\n"
                  "r=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.htons(3)); r.bind((sys.argv[1],0))\n"
                  "r.settimeout(10)\n"
                  "while True:\n"
                  "  f=r.recv(2048)\n"
                  "  if len(f)>=14+28+32 and f[12:14]==b'\\x08\\x00' and f[23]==17 and f[30:34]==dst and f[42]==4: break\n"
                  "for i in range(5): r.send(f)\n")
        pinger = subprocess.Popen(["ip", "netns", "exec", t.ns_b, "ping", "-c", "5", "-i", "0.3", IN_A],
                                  stdout=subprocess.DEVNULL)
        t.procs.append(pinger)
        before = t.drops("wg_replay")
        t.b(sys.executable, "-c", replay, t.veth_b, WAN_A, timeout=20)
        pinger.wait(10)
        time.sleep(1.5)
        check(t.drops("wg_replay") >= before + 5, "replayed data packets counted as wg_replay",
              f"{before} -> {t.drops('wg_replay')}")
        # A decrypted packet whose source the peer may not use (allowed-IPs source check).
        t.b("ip", "addr", "add", "10.77.0.99/24", "dev", t.if_b)
        before = t.drops("inner_not_allowed")
        t.b("ping", "-c", "3", "-i", "0.2", "-W", "1", "-I", "10.77.0.99", IN_A, check=False)
        time.sleep(1.5)
        check(t.drops("inner_not_allowed") >= before + 3, "spoofed inner source counted as inner_not_allowed")
        check(t.ping_from_a(IN_B) >= 2, "tunnel still works after garbage, replays and spoofing")


def restart():
    with Topology("s") as t:
        check(t.ping_from_a(IN_B) >= 2, "tunnel up")
        check(t.stop_meshgate() == 0, "SIGTERM: meshgate exits 0")
        check(not os.path.exists(f"/var/run/wireguard/{t.if_a}.sock"), "UAPI socket removed on exit")
        t.start_meshgate()
        ok = t.ping_from_a(IN_B, count=5, timeout=20) >= 2
        check(ok, "restarted meshgate: tunnel recovers by itself", t.log())


def rekey_fast():
    # MESHGATE_TEST_CLOCK_SPEEDUP makes meshgate's clock run 20x fast: REKEY_AFTER_TIME (120 s)
    # passes in 6 s. wireguard-go's clock is real, so it answers as any peer would.
    with Topology("k", env={"MESHGATE_TEST_CLOCK_SPEEDUP": "20"}) as t:
        check(t.ping_from_a(IN_B) >= 2, "tunnel up (clock x20)")
        first = t.wg_dump("b")[t.pub_a]["latest_handshake"]
        seen = {first}
        end = time.time() + 25
        while time.time() < end and len(seen) < 3:
            t.ping_from_a(IN_B, count=2, timeout=3)
            seen.add(t.wg_dump("b")[t.pub_a]["latest_handshake"])
        check(len(seen) >= 3, "sessions rekeyed under traffic (new handshakes seen by wireguard-go)", str(seen))
        check(t.ping_from_a(IN_B) >= 2, "traffic flows after rekeys")


def rekey_real_time():
    with Topology("t") as t:
        check(t.ping_from_a(IN_B) >= 2, "tunnel up")
        first = t.wg_dump("b")[t.pub_a]["latest_handshake"]
        end = time.time() + 150
        last = first
        while time.time() < end and last == first:
            t.ping_from_a(IN_B, count=3, timeout=5)
            last = t.wg_dump("b")[t.pub_a]["latest_handshake"]
        check(last > first, "real-time rekey after REKEY_AFTER_TIME (120 s)", f"{first} -> {last}")
        check(t.ping_from_a(IN_B) >= 2, "traffic flows after the rekey")


SCENARIOS = {f.__name__: f for f in (handshake_meshgate_first, outer_ipv6, handshake_peer_first, iperf, live_changes,
                                     roaming, garbage_and_replay, restart, rekey_fast, rekey_real_time)}


if __name__ == "__main__":
    sys.exit(check.run(SCENARIOS, sys.argv[1:], "e2e", mgtest.missing_tools()))
