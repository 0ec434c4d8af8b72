#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The README's main job: meshgate and wireguard-go in two namespaces, an encrypted tunnel between
them, pings and a short iperf3 through it, what both ends report; then gateway mode, a mesh of two
clusters: two meshgate gateways, each routing the LAN behind it, and a wireguard-go road warrior
reaching one of them; then cleanup."""
import re
import subprocess
import sys

import gwtest
import mgtest
from mgtest import IN6_B, IN_B, Topology


def show(title, text):
    print(f"\n== {title}\n{text.rstrip()}")


def main():
    missing = mgtest.missing_tools()
    if missing:
        print(f"demo: missing {', '.join(missing)} (run scripts/setup.sh and scripts/build.sh)")
        return 1
    with Topology("demo") as t:
        print(f"meshgate {t.if_a} in namespace {t.ns_a} (WAN: AF_XDP on {t.veth_a}, inner: TUN {t.if_a})")
        print(f"wireguard-go {t.if_b} in namespace {t.ns_b}")
        show("ping over IPv4 through the tunnel (meshgate -> wireguard-go)",
             t.a("ping", "-c", "3", "-i", "0.3", "-w", "10", IN_B, check=False).stdout)
        show("ping over IPv6", t.a("ping", "-c", "3", "-i", "0.3", "-w", "10", IN6_B, check=False).stdout)
        server = subprocess.Popen(["ip", "netns", "exec", t.ns_b, "iperf3", "-s", "-1", "-B", IN_B],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t.procs.append(server)
        subprocess.run(["sleep", "0.5"])
        show("iperf3 TCP, 3 s, through the tunnel",
             t.a("iperf3", "-c", IN_B, "-t", "3", check=False, timeout=30).stdout)
        show(f"wg show {t.if_a} (meshgate, through its UAPI socket)", t.a("wg", "show", t.if_a).stdout)
        show(f"wg show {t.if_b} (wireguard-go)", t.b("wg", "show", t.if_b).stdout)
        counters = open(f"/run/meshgate/{t.if_a}.prom").read()
        show(f"meshgate counters (/run/meshgate/{t.if_a}.prom, non-zero)",
             "\n".join(l for l in counters.splitlines() if not l.startswith("#") and not l.endswith(" 0")))
        ok = t.ping_from_a(IN_B, count=2) == 2
    print(f"\ndemo: {'tunnel worked' if ok else 'TUNNEL FAILED'}")
    gw_ok = gateways()
    print(f"\ndemo: {'the mesh of two clusters worked' if gw_ok else 'GATEWAY MODE FAILED'}; "
          "namespaces and processes cleaned up")
    return 0 if ok and gw_ok else 1


def gateways():
    print("\n==== gateway mode: two clusters' LANs joined through the mesh")
    with gwtest.Mesh("demo", road_warrior=True) as m:
        a, b = m.a, m.b
        print(f"gateway A (namespace {a.ns}): LAN {a.lan_prefix} {a.lan6_prefix}, WAN {a.wan_ip}; "
              f"gateway B (namespace {b.ns}): LAN {b.lan_prefix} {b.lan6_prefix}, WAN {b.wan_ip}")
        print(f"host A {a.host_ip} and host B {b.host_ip} know only their default route to their gateway")
        show("host A pings host B (IPv4), the mesh forming",
             a.host("ping", "-n", "-c", "3", "-i", "0.3", "-w", "10", b.host_ip, check=False).stdout)
        show("host A pings host B (IPv6)",
             a.host("ping", "-n", "-c", "3", "-i", "0.3", "-w", "10", b.host6, check=False).stdout)
        show("traceroute from host A: gateway A, gateway B, host B",
             a.host("traceroute", "-n", "-w", "2", "-q", "1", b.host_ip, check=False, timeout=60).stdout)
        show("the road warrior (wireguard-go) pings host A behind gateway A",
             m.road_warrior("ping", "-n", "-c", "3", "-i", "0.3", "-w", "10", a.host_ip, check=False).stdout)
        show(f"wg show {a.ifname} (gateway A: gateway B and the road warrior)", a.wg("show", a.ifname).stdout)
        got = int((re.search(r"(\d+) received", a.host("ping", "-n", "-c", "2", "-w", "5", b.host_ip,
                                                        check=False).stdout) or [0, 0])[1])
        return got == 2


if __name__ == "__main__":
    sys.exit(main())
