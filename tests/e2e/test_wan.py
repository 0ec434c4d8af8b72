#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The WAN side against wireguard-go (issue 11, items 6, 7, 8, 11, 12), each pinned to what Linux does:

  mac_change        the peer's NIC changes its MAC under traffic: meshgate follows at once when the
                    peer's packets show it (authenticated, from an on-link peer), after a gratuitous
                    ARP, and, when nothing comes back, by re-confirming the neighbour (Linux's
                    reachable time; test clock x20 for that part)
  source_address    meshgate answers from the address the peer reached it at (Linux keeps a source
                    per endpoint), not from its first address
  bad_checksum      a source address corrupted on the way (IPv4 header checksum wrong) is dropped
                    and counted, never adopted by roaming
  staging_cap       peers that never answer a handshake cannot take the mbufs WAN receive needs: the
                    staging queues together are capped, and the tunnel keeps working
  two_workers       two workers on a two-queue WAN port (net_af_packet: its hash fanout is the
                    kernel's RSS): flows spread over both, and traffic runs through both workers
"""
import base64
import os
import subprocess
import sys
import time

import mgtest
from mgtest import IN6_A, IN6_B, IN_A, IN_B, WAN_A, WAN_B, Topology

check = mgtest.Checks()
HERE = os.path.dirname(os.path.abspath(__file__))


def ping_gap(t, side, addr, action, before=1.0, after=6.0):
    """Ping every 50 ms; do action() after `before` s; return how long replies stopped (s), or None
    if they never came back within `after` s."""
    ns = t.ns_a if side == "a" else t.ns_b
    # ping's own deadline (-w) ends it, replies or not.
    script = ("import subprocess,sys,time\n"
              "p=subprocess.Popen(['ping','-n','-i','0.05','-W','1','-w',sys.argv[2],sys.argv[1]],"
              "stdout=subprocess.PIPE,text=True)\n"
              "for line in p.stdout:\n"
              "  if 'bytes from' in line: print(time.monotonic(),flush=True)\n")
    p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", script, addr, str(int(before + after))],
                         stdout=subprocess.PIPE, text=True)
    t.procs.append(p)
    time.sleep(before)
    t0 = time.monotonic()
    action()
    out = p.communicate(timeout=before + after + 10)[0]
    times = [float(x) for x in out.split()]
    later = [x for x in times if x > t0]
    earlier = [x for x in times if x <= t0]
    if not later:
        return None
    return later[0] - (earlier[-1] if earlier else t0)


def set_mac(t, mac):
    t.b("ip", "link", "set", "dev", t.veth_b, "address", mac)


def garp(t, ip, mac):
    """A gratuitous ARP request from ns B (sender = target = ip), as a router announces a failover."""
    script = ("import socket,sys\n"
              "mac=bytes.fromhex(sys.argv[3].replace(':',''));ip=socket.inet_aton(sys.argv[2])\n"
              "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW);s.bind((sys.argv[1],0))\n"
              "f=b'\\xff'*6+mac+b'\\x08\\x06'+bytes([0,1,8,0,6,4,0,1])+mac+ip+b'\\0'*6+ip\n"
              "s.send(f)\n")
    t.b(sys.executable, "-c", script, t.veth_b, ip, mac)


def mac_change():
    with Topology("mc") as t:
        check(t.ping_from_a(IN_B) >= 2, "tunnel up", t.log())
        gap = ping_gap(t, "b", IN_A, lambda: set_mac(t, "02:00:00:77:00:01"))
        check(gap is not None and gap < 2, "the peer's MAC changed under traffic from it: replies resume at once",
              f"gap {gap}")
        # Nothing from the peer this time: its new MAC is announced by a gratuitous ARP.
        set_mac(t, "02:00:00:77:00:02")
        time.sleep(0.3)
        garp(t, WAN_B, "02:00:00:77:00:02")
        check(mgtest.ping(t.a, IN_B, 3, 2) >= 2, "after a gratuitous ARP, traffic to the peer resumes at once")
    # Neither: traffic only from meshgate, which the old MAC swallows. Linux re-confirms a neighbour
    # after its reachable time (30 s): with the protocol clock x20 that is 1.5 s here.
    with Topology("mn", env={"MESHGATE_TEST_CLOCK_SPEEDUP": "20"}) as t:
        check(t.ping_from_a(IN_B) >= 2, "tunnel up (clock x20)", t.log())
        gap = ping_gap(t, "a", IN_B, lambda: set_mac(t, "02:00:00:77:00:03"), after=8)
        check(gap is not None and gap < 4, "MAC changed, only meshgate sends: re-confirmed and resumed "
              "within the reachable time (30 s, x20) and its probes", f"gap {gap}")


def source_address():
    # meshgate has two addresses on the link; the peer knows it by the second and initiates.
    second = "192.168.77.5"
    with Topology("sa", peer_config={"endpoint": None, "persistent_keepalive": None},
                  extra_config={}) as t:
        cfg = t.config()
        t.b("wg", "set", t.if_b, "peer", t.pub_a, "endpoint", f"{second}:{t.port_a}")
        t.stop_meshgate()
        t.extra_config = {"wan": dict(cfg["wan"], addresses=[f"{WAN_A}/24", f"{second}/24", f"{mgtest.WAN6_A}/64"])}
        t.start_meshgate()
        cap = t.capture("b", 4)
        check(t.ping_from_b(IN_A) >= 2, "the peer reaches meshgate at its second address", t.log())
        ep = t.wg_dump("b")[t.pub_a]["endpoint"]
        check(ep == f"{second}:{t.port_a}", "the peer still knows meshgate by that address (replies came from it)", ep)
        srcs = {r["src"] for r in cap.records() if r.get("dir") == "in" and r.get("sport") == t.port_a}
        check(srcs == {second}, "everything meshgate sent came from it", str(srcs))


def bad_checksum():
    with Topology("bc") as t:
        check(t.ping_from_a(IN_B) >= 2, "tunnel up", t.log())
        obj = os.path.join(t.dir, "corrupt_src.o")
        mgtest.run(["clang", "-O2", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c",
                    os.path.join(HERE, "bpf", "corrupt_src.c"), "-o", obj])
        t.b("tc", "qdisc", "add", "dev", t.veth_b, "clsact")
        t.b("tc", "filter", "add", "dev", t.veth_b, "egress", "bpf", "direct-action", "obj", obj, "sec", "tc")
        before = t.drops("wan_bad_checksum")
        mgtest.ping(t.b, IN_A, 5, 3)
        time.sleep(1.1)
        check(t.drops("wan_bad_checksum") >= before + 5, "frames with a corrupted source counted as wan_bad_checksum",
              f"{before} -> {t.drops('wan_bad_checksum')}")
        ep = t.wg_dump("a")[t.pub_b]["endpoint"]
        check(ep == f"{WAN_B}:{t.port_b}", "the peer's endpoint was not moved to the corrupted source", ep)
        t.b("tc", "qdisc", "del", "dev", t.veth_b, "clsact")
        check(t.ping_from_b(IN_A) >= 2, "and the tunnel works once frames arrive whole")


def staging_cap():
    # 256 peers whose endpoint takes ARP (ns B answers) but whose port nobody listens on: their
    # handshakes go unanswered and their packets wait. 256 x 128 is more than the pool can spare.
    n = 256
    keys = [base64.b64encode(os.urandom(32)).decode() for _ in range(n)]
    more = [{"public_key": k, "endpoint": f"{WAN_B}:{40000 + i}", "allowed_ips": [f"10.99.{i // 200}.{i % 200 + 1}/32"]}
            for i, k in enumerate(keys)]
    with Topology("st", more_peers=more) as t:
        check(t.ping_from_a(IN_B) >= 2, "tunnel up", t.log())
        t.a("ip", "route", "add", "10.99.0.0/16", "dev", t.if_a)
        spray = ("import socket,sys\n"
                 "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                 "n=int(sys.argv[1])\n"
                 "for r in range(160):\n"
                 "  for i in range(n): s.sendto(b'x'*200,('10.99.%d.%d'%(i//200,i%200+1),9))\n")
        t.a(sys.executable, "-c", spray, str(n), timeout=120)
        time.sleep(1.1)
        c = t.counters()
        limited, full = t.drops("staged_limit"), t.drops("staged_full")
        check(limited > 0, "the staging cap was reached and counted (staged_limit)", f"{limited}, staged_full {full}")
        check(mgtest.ping(t.a, IN_B, 5, 5) >= 4 and mgtest.ping(t.b, IN_A, 5, 5) >= 4,
              "while they wait, the tunnel to the real peer works both ways", t.log())
        print(f"  figure: {n} silent peers: staged_limit {limited}, staged_full {full}, mbufs in use "
              f"{c.get('meshgate_mbufs_in_use')}")


def two_workers():
    with Topology("tw", workers=2) as t:
        check(t.ping_from_a(IN_B) >= 2 and t.ping_from_b(IN_A) >= 2, "tunnel up with two workers", t.log())
        check(t.ping_from_a(IN6_B) >= 2, "IPv6 inside")
        # Many flows at the WAN port (garbage from 64 source ports): the kernel's hash spreads them
        # over the port's two queues, one per worker.
        spray = ("import socket,sys\n"
                 "for p in range(64):\n"
                 "  s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('',20000+p))\n"
                 "  for i in range(20): s.sendto(b'\\x09'*40,(sys.argv[1],int(sys.argv[2])))\n")
        t.b(sys.executable, "-c", spray, WAN_A, str(t.port_a))
        time.sleep(1.1)
        c = t.counters()
        per = [c.get(f'meshgate_worker_packets_total{{worker="{w}",stage="wan_rx"}}', 0) for w in (0, 1)]
        check(min(per) >= 100, "both workers received part of the WAN's flows", str(per))
        server = subprocess.Popen(["ip", "netns", "exec", t.ns_b, "iperf3", "-s", "-1", "-B", IN_B],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t.procs.append(server)
        time.sleep(0.5)
        out = t.a("iperf3", "-c", IN_B, "-t", "3", "-P", "4", check=False, timeout=40).stdout
        check("receiver" in out, "iperf3 with 4 streams through both workers", out[-300:])
        server.wait(10)
        inner = [c2 for c2 in (t.counters().get(f'meshgate_worker_packets_total{{worker="{w}",stage="inner_rx"}}', 0)
                               for w in (0, 1))]
        check(min(inner) > 0, "both workers encrypted (the multi-queue TUN spread the streams)", str(inner))


SCENARIOS = {f.__name__: f for f in (mac_change, source_address, bad_checksum, staging_cap, two_workers)}

if __name__ == "__main__":
    sys.exit(check.run(SCENARIOS, sys.argv[1:], "e2e", mgtest.missing_tools()))
