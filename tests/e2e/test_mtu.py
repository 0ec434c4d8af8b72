#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""MTU and outer fragments against wireguard-go (issue 11, item 5), as Linux behaves: an outer
packet larger than the WAN MTU leaves as IP fragments (DF clear, an identification per datagram),
fragments that arrive are reassembled, and jumbo inner packets work end to end when configured;
a configuration that cannot work is refused, saying why.

  small_wan_mtu     the WAN veths at 1280 with the inner MTU at 1420: ping -s 1392 and iperf3
                    both ways, over an IPv4 outer header
  small_wan_mtu_v6  the same over an IPv6 outer header (+20 B of header, fragment headers)
  jumbo             inner 8920 over a 9000-byte WAN (net_af_packet: AF_XDP on veth takes one page)
  refused           inner 8920 over net_af_xdp: meshgate refuses to start and says why
"""
import json
import os
import re
import subprocess
import sys
import time

import mgtest
from mgtest import IN6_A, IN6_B, IN_A, IN_B, Topology

check = mgtest.Checks()


def ping_size(fn, addr, size, count=4, timeout=10):
    p = fn("ping", "-c", str(count), "-i", "0.2", "-W", "2", "-w", str(timeout), "-s", str(size), addr,
           check=False, timeout=timeout + 5)
    m = re.search(r"(\d+) received", p.stdout)
    return int(m.group(1)) if m else 0


def iperf_both_ways(t, seconds=3):
    results = []
    for reverse in (False, True):
        server = subprocess.Popen(["ip", "netns", "exec", t.ns_b, "iperf3", "-s", "-1", "-B", IN_B],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t.procs.append(server)
        time.sleep(0.5)
        args = ["iperf3", "-c", IN_B, "-t", str(seconds), "-J"] + (["-R"] if reverse else [])
        out = t.a(*args, check=False, timeout=seconds + 30).stdout
        try:
            bps = json.loads(out)["end"]["sum_received"]["bits_per_second"]
        except (ValueError, KeyError):
            bps = 0
        results.append(bps)
        server.wait(10)
    return results


def fragments_checks(t, cap, v6):
    """What meshgate sent while the pings ran: fragments that fit the WAN MTU, DF clear, and an
    identification that tells one datagram's fragments from another's."""
    recs = [r for r in cap.records() if r.get("dir") == "in" and r.get("family") == (6 if v6 else 4)
            and r.get("src") == (mgtest.WAN6_A if v6 else mgtest.WAN_A)]
    frags = [r for r in recs if r.get("mf") or r.get("frag_off")]
    check(frags, "meshgate sent fragments", f"{len(recs)} frames")
    check(all(r["len"] <= 1280 + 14 for r in recs), "every frame fits the 1280-byte MTU",
          str(max((r["len"] for r in recs), default=0)))
    if v6:
        ids = {r["frag_id"] for r in frags}
    else:
        check(all(not r["df"] for r in recs), "don't-fragment clear, as Linux sends WireGuard's UDP")
        check(all(r["csum_ok"] for r in recs), "IPv4 header checksums right")
        ids = {r["ip_id"] for r in frags}
    firsts = [r for r in frags if not r.get("frag_off")]
    check(len(ids) == len(firsts) and len(firsts) >= 3,
          "each fragmented datagram has its own identification", f"{len(ids)} ids, {len(firsts)} datagrams")


def small_mtu(outer6):
    with Topology("m6" if outer6 else "m4", wan_mtu=1280, outer6=outer6) as t:
        check(t.ping_from_a(IN_B) >= 2, "tunnel up over 1280-byte WAN links", t.log())
        cap = t.capture("b", 6)
        check(ping_size(t.a, IN_B, 1392) >= 3, "ping -s 1392 (inner 1420) meshgate -> peer")
        check(ping_size(t.b, IN_A, 1392) >= 3, "ping -s 1392 peer -> meshgate")
        check(ping_size(t.a, IN6_B, 1372) >= 3, "ping -6 -s 1372 (inner 1420) meshgate -> peer")
        fragments_checks(t, cap, outer6)
        time.sleep(1.1)
        c = t.counters()
        frag, reas = (c.get(f'meshgate_packets_total{{stage="{s}"}}', 0) for s in ("fragmented", "reassembled"))
        check(frag >= 8 and reas >= 4, "counted: datagrams sent fragmented and reassembled", f"{frag} {reas}")
        bad = {r: t.drops(r) for r in ("wan_frag_bad", "wan_frag_timeout", "frag_failed", "no_mbuf", "wan_bad_checksum")}
        check(not any(bad.values()), "no fragment dropped", str(bad))
        up, down = iperf_both_ways(t)
        check(up > 1e6 and down > 1e6, "iperf3 through the tunnel both ways",
              f"{up / 1e6:.0f} / {down / 1e6:.0f} Mbit/s")
        print(f"  figure: iperf3 over 1280-byte WAN links: {up / 1e6:.0f} Mbit/s up, {down / 1e6:.0f} down")
        # At full speed the WAN ring overflows now and then, so a fragment may lose its partner
        # (and, with IPv4's 16-bit identification wrapping about every second at this rate, meet
        # a stranger: RFC 4963): every fragment is still accounted for.
        time.sleep(2.2)
        c = t.counters()
        n = {s: c.get(f'meshgate_packets_total{{stage="{s}"}}', 0) for s in ("wan_fragments", "reassembled")}
        lost = t.drops("wan_frag_bad") + t.drops("wan_frag_timeout")
        joined = n["wan_fragments"] - lost
        check(joined >= 2 * n["reassembled"] and joined <= 2 * n["reassembled"] + 2 and lost <= 0.001 * n["wan_fragments"] + 20,
              "every fragment received was reassembled or counted as dropped",
              f"{n}, dropped {lost}")


def small_wan_mtu():
    small_mtu(False)


def small_wan_mtu_v6():
    small_mtu(True)


def jumbo():
    with Topology("j", wan_mtu=9000, wan_driver="af_packet", inner_mtu=8920) as t:
        check(t.ping_from_a(IN_B) >= 2, "tunnel up (net_af_packet, 9000-byte WAN)", t.log())
        check(ping_size(t.a, IN_B, 8892) >= 3, "ping -s 8892 (inner 8920) meshgate -> peer", t.log())
        check(ping_size(t.b, IN_A, 8892) >= 3, "ping -s 8892 peer -> meshgate")
        check(ping_size(t.a, IN6_B, 8872) >= 3, "ping -6 -s 8872 meshgate -> peer")
        up, down = iperf_both_ways(t)
        check(up > 1e6 and down > 1e6, "iperf3 with jumbo frames both ways", f"{up / 1e6:.0f} / {down / 1e6:.0f} Mbit/s")
        print(f"  figure: iperf3 with inner MTU 8920: {up / 1e6:.0f} Mbit/s up, {down / 1e6:.0f} down")
        time.sleep(1.1)
        c = t.counters()
        check(c.get('meshgate_packets_total{stage="fragmented"}', 0) == 0, "nothing needed fragmenting")


def refused():
    t = Topology("rf", inner_mtu=8920)
    try:
        t.build_net()
        try:
            t.start_meshgate()
            check(False, "inner 8920 over net_af_xdp refused", "meshgate started")
        except RuntimeError as e:
            msg = str(e)
            check("exited 1" in msg and "net_af_xdp takes buffers of at most a page" in msg,
                  "inner 8920 over net_af_xdp: refused at start, saying why", msg[-600:])
        t.mg_exit_expected = True
    finally:
        t.close()


SCENARIOS = {f.__name__: f for f in (small_wan_mtu, small_wan_mtu_v6, jumbo, refused)}

if __name__ == "__main__":
    sys.exit(check.run(SCENARIOS, sys.argv[1:], "e2e", mgtest.missing_tools()))
