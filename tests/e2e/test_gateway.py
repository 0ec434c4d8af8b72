#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Gateway mode (issue 13): two meshgates route their LANs' subnets to each other through the mesh,
their LAN ports and WAN ports all net_af_xdp on veths (gwtest.py draws the topology).

  lan_to_lan    hosts behind the two gateways ping each other over IPv4 and IPv6 (the first packets
                wait for the handshake and the next hop's ARP/ND, not lost), each router hop
                decrements the TTL (replies arrive with 62), a subnet behind a LAN router
                (inner.routes) is reached, iperf3 TCP both ways (the SYNs' MSS clamped)
  router_duties traceroute through both gateways (ICMP time exceeded from each, IPv4 and IPv6), a TTL
                that runs out counted where it did, path MTU discovery (fragmentation needed /
                packet too big with the tunnel's MTU), host unreachable for a destination no peer
                routes
  not_forwarded the gateway's own LAN address answers ping (from its LAN and across the mesh) and
                serves nothing else; a destination no peer routes is not forwarded: each counted; a LAN link that goes down is
                seen (lan_down), and traffic resumes with it
  road_warrior  a plain wireguard-go peer reaches the LAN behind gateway A, and hosts there reach it
  policy        gateway B's stateful policy: TCP to one port accepted and another dropped, replies
                to an accepted flow pass, a new flow the other way is dropped, per-rule counters,
                the flow table in the counters file; then a new policy live (SIGHUP): the open
                connection it still accepts goes on, what it newly drops stops, a broken file
                changes nothing
  policy_2w     the same with two workers at gateway B: a flow's two directions arrive on different
                workers, and packets are handed to the worker whose table owns the flow
"""
import json
import re
import subprocess
import sys
import time

import os
import signal

import gwtest
import mgtest

check = mgtest.Checks()
TCPECHO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tcpecho.py")


def ping(g, addr, count=3, timeout=10, ttl=None):
    """(replies, TTLs seen) of a ping from g's LAN host."""
    args = ["ping", "-n", "-c", str(count), "-i", "0.2", "-W", "1", "-w", str(timeout)]
    args += ["-t", str(ttl)] if ttl else []
    p = g.host(*args, addr, check=False, timeout=timeout + 5)
    m = re.search(r"(\d+) received", p.stdout)
    return (int(m.group(1)) if m else 0), [int(x) for x in re.findall(r"(?:ttl|hlim)=(\d+)", p.stdout)]


def iperf(mesh, reverse, seconds=3):
    server = subprocess.Popen(["ip", "netns", "exec", mesh.b.lan_ns, "iperf3", "-s", "-1", "-B", mesh.b.host_ip],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    mesh.procs.append(server)
    time.sleep(0.5)
    out = mesh.a.host("iperf3", "-c", mesh.b.host_ip, "-t", str(seconds), "-J", *(["-R"] if reverse else []),
                      check=False, timeout=seconds + 30).stdout
    server.wait(10)
    try:
        return json.loads(out)["end"]["sum_received"]["bits_per_second"]
    except (ValueError, KeyError):
        return 0


def lan_to_lan():
    with gwtest.Mesh() as m:
        a, b = m.a, m.b
        got, _ = ping(a, b.host_ip, count=5, timeout=15)
        check(got == 5, "host A pings host B across the mesh, the first packet included (IPv4)", f"{got}/5")
        got, ttls = ping(b, a.host_ip)
        check(got == 3, "host B pings host A (IPv4)", f"{got}/3")
        check(ttls and all(t == 62 for t in ttls), "replies crossed two routers: TTL 64 - 2", str(ttls))
        got, ttls = ping(a, b.host6, count=5, timeout=15)
        check(got == 5, "host A pings host B over IPv6, neighbour discovery on both LANs", f"{got}/5")
        check(ttls and all(t == 62 for t in ttls), "IPv6 hop limit decremented at each gateway", str(ttls))
        got, _ = ping(b, a.host6)
        check(got == 3, "host B pings host A (IPv6)", f"{got}/3")
        got, _ = ping(a, gwtest.ROUTED_HOST)
        check(got == 3, "a subnet behind a LAN router (inner.routes via host B) is reached", f"{got}/3")
        up, down = iperf(m, False), iperf(m, True)
        print(f"  iperf3 host A -> host B {up / 1e6:.0f} Mbit/s, B -> A {down / 1e6:.0f} Mbit/s")
        check(up > 0 and down > 0, "iperf3 TCP both ways between the LANs (MSS clamped to the tunnel)",
              f"{up:.0f} / {down:.0f} bit/s")
        check(a.drops("lan_unresolved") + b.drops("lan_unresolved") == 0,
              "no packet gave up waiting for a LAN neighbour")


def router_duties():
    """What makes a gateway a router a host can debug through: ICMP errors, rate-limited, from the
    gateways' LAN addresses (traceroute, PMTU discovery, unreachable), TTL counted where it ran out."""
    with gwtest.Mesh() as m:
        a, b = m.a, m.b
        check(ping(a, b.host_ip)[0] == 3, "the mesh works")
        p = a.host("traceroute", "-n", "-w", "2", "-q", "1", b.host_ip, check=False, timeout=60)
        hops = re.findall(r"^\s*\d+\s+(\S+)", p.stdout, re.M)
        check(hops == [a.lan_ip, b.lan_ip, b.host_ip], "traceroute: gateway A, gateway B, host B",
              p.stdout.strip())
        p = a.host("traceroute", "-6", "-n", "-w", "2", "-q", "1", b.host6, check=False, timeout=60)
        hops = re.findall(r"^\s*\d+\s+(\S+)", p.stdout, re.M)
        check(hops == [a.lan6, b.lan6, b.host6], "traceroute over IPv6 likewise", p.stdout.strip())
        before = b.drops("ttl_exceeded")
        got, _ = ping(a, b.host_ip, count=2, timeout=4, ttl=2)
        time.sleep(1.2)
        check(got == 0 and b.drops("ttl_exceeded") >= before + 2,
              "TTL 2 runs out at the second gateway (counted there)", f"{got} replies, {b.drops('ttl_exceeded') - before}")
        # Path MTU: 1400 bytes of ICMP data make a 1428-byte packet, over the tunnel's 1420.
        p = a.host("ping", "-n", "-c", "2", "-i", "0.3", "-W", "1", "-M", "do", "-s", "1400", b.host_ip,
                   check=False, timeout=10)
        check(re.search(r"From 10\.1\.0\.1 .*Frag needed and DF set \(mtu = 1420\)", p.stdout),
              "fragmentation needed, mtu 1420, from gateway A", p.stdout.strip()[-300:])
        got = int((re.search(r"(\d+) received", a.host("ping", "-n", "-c", "2", "-i", "0.3", "-M", "do", "-s", "1392",
                                                        b.host_ip, check=False, timeout=10).stdout) or [0, 0])[1])
        check(got == 2, "1420 bytes with DF fit", f"{got}/2")
        p = a.host("ping", "-n", "-c", "2", "-i", "0.3", "-W", "1", "-M", "do", "-s", "1400", b.host6,
                   check=False, timeout=10)
        check(re.search(r"From fd01::1 .*Packet too big: mtu=1420", p.stdout),
              "IPv6: packet too big, mtu 1420, from gateway A", p.stdout.strip()[-300:])
        p = a.host("ping", "-n", "-c", "1", "-W", "2", "10.9.9.9", check=False, timeout=10)
        check("From 10.1.0.1" in p.stdout and "Destination Host Unreachable" in p.stdout,
              "no peer for the destination: host unreachable from gateway A (as Linux's wg)", p.stdout.strip())
        time.sleep(1.2)
        check(a.counters().get("meshgate_icmp_errors_sent_total", 0) >= 4, "gateway A counted the errors it sent")


def not_forwarded():
    with gwtest.Mesh() as m:
        a, b = m.a, m.b
        check(ping(a, b.host_ip)[0] == 3, "the mesh works")
        got, ttls = ping(a, a.lan_ip)
        check(got == 3 and ttls and all(t == 64 for t in ttls), "host A pings its gateway's LAN address",
              f"{got}/3 {ttls}")
        got, _ = ping(b, a.lan_ip)
        check(got == 3, "host B pings gateway A's LAN address across the mesh", f"{got}/3")
        before = a.drops("lan_to_us")
        c, first = tcp_client(a, a.lan_ip, 22)
        c.stdin.close()
        time.sleep(1.2)
        check(first == "refused" and a.drops("lan_to_us") > before,
              "TCP to the gateway's own LAN address: not served (only ping is), counted",
              f"{first}, {a.drops('lan_to_us') - before} counted")
        before = a.drops("inner_no_route")
        got, _ = ping(a, "10.9.9.9", count=2, timeout=3)
        time.sleep(1.2)
        check(got == 0 and a.drops("inner_no_route") > before, "a destination no peer routes: counted",
              f"{a.drops('inner_no_route') - before}")
        check(ping(b, a.host_ip)[0] == 3, "the mesh still works")
        # Host B's end of the LAN veth goes down: gateway B's LAN link loses carrier.
        b.host("ip", "link", "set", b.host_veth, "down")
        time.sleep(2.2)
        before = b.drops("lan_down")
        got, _ = ping(a, b.host_ip, count=3, timeout=3)
        time.sleep(1.2)
        c = b.counters()
        check(got == 0 and c.get("meshgate_lan_link_up") == 0 and b.drops("lan_down") > before,
              "LAN link down at gateway B: seen, and what it would send counted as lan_down",
              f"{got} replies, up={c.get('meshgate_lan_link_up')}, {b.drops('lan_down') - before}")
        b.host("ip", "link", "set", b.host_veth, "up")
        b.host("ip", "route", "replace", "default", "via", b.lan_ip)  # gone with the link
        time.sleep(2.2)
        check(ping(a, b.host_ip, count=3, timeout=10)[0] >= 2 and b.counters().get("meshgate_lan_link_up") == 1,
              "LAN link up again: traffic resumes")


def road_warrior():
    with gwtest.Mesh(road_warrior=True) as m:
        a = m.a
        p = m.road_warrior("ping", "-n", "-c", "3", "-i", "0.2", "-W", "1", "-w", "10", a.host_ip, check=False,
                           timeout=15)
        got = int((re.search(r"(\d+) received", p.stdout) or [0, 0])[1])
        check(got == 3, "the road warrior (wireguard-go) pings host A behind gateway A", f"{got}/3")
        got, ttls = ping(a, gwtest.RW_IN)
        check(got == 3, "host A pings the road warrior", f"{got}/3")
        check(ttls and all(t == 63 for t in ttls), "one router hop (gateway A) on the way back", str(ttls))


def tcp_client(g, addr, port):
    """A TCP connection from g's LAN host, kept open: (process, first line: connected/refused)."""
    p = subprocess.Popen(["ip", "netns", "exec", g.lan_ns, sys.executable, TCPECHO, "client", addr, str(port)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    g.mesh.procs.append(p)
    return p, p.stdout.readline().strip()


def tcp_ping(p):
    p.stdin.write("ping\n")
    p.stdin.flush()
    return p.stdout.readline().strip() == "ok"


POLICY_B = {"default": "drop", "rules": [
    {"action": "accept", "direction": "in", "proto": "tcp", "dport": 5201},
    {"action": "accept", "direction": "in", "proto": "icmp"},
    {"action": "accept", "direction": "in", "proto": "icmpv6"}]}


def policy(workers_b=1):
    """Gateway B's stateful filter: in from the mesh, TCP 5201 and pings only; nothing new out.
    Then a new policy by SIGHUP: TCP 5202 opens, pings close, the open 5201 connection lives on."""
    with gwtest.Mesh(policy_b=POLICY_B, workers_b=workers_b) as m:
        a, b = m.a, m.b
        server = subprocess.Popen(["ip", "netns", "exec", b.lan_ns, sys.executable, TCPECHO, "serve", b.host_ip,
                                   "5201", "5202"], stdout=subprocess.PIPE, text=True)
        m.procs.append(server)
        check(server.stdout.readline().strip() == "ready", "echo server on host B")
        check(ping(a, b.host_ip)[0] == 3, "host A pings host B (ICMP in: accepted; replies by the flow)")
        check(ping(a, b.host6)[0] == 3, "and over IPv6")
        c1, first = tcp_client(a, b.host_ip, 5201)
        check(first == "connected" and tcp_ping(c1), "TCP to port 5201 (accepted; its replies pass)", first)
        before = b.drops("policy_drop")
        c2, first = tcp_client(a, b.host_ip, 5202)
        check(first == "refused", "TCP to port 5202: dropped by the default", first)
        got, _ = ping(b, a.host_ip, count=2, timeout=3)
        check(got == 0, "a new flow the other way (host B pings host A): dropped", f"{got} replies")
        time.sleep(1.2)
        c = b.counters()
        check(b.drops("policy_drop") > before, "gateway B counted what its policy dropped",
              f"{b.drops('policy_drop') - before}")
        hits = {k: v for k, v in c.items() if k.startswith("meshgate_policy_flows_total")}
        check(hits.get('meshgate_policy_flows_total{rule="0",action="accept"}', 0) >= 1 and
              hits.get('meshgate_policy_flows_total{rule="default",action="drop"}', 0) >= 1,
              "per-rule counters: rule 0 accepted the TCP flow, the default dropped others", str(hits))
        check(c.get('meshgate_flows{what="in_use"}', 0) >= 1 and
              any(k.startswith("meshgate_flow_bytes{") and 'dport="5201"' in k for k in c),
              "the flow table and its largest flows are in the counters file")
        # Live: 5202 in, no more pings; 5201 still accepted, so its open connection goes on.
        b.reload(dict(m.configs()[1], policy={"default": "drop", "rules": [
            {"action": "accept", "direction": "in", "proto": "tcp", "dport": "5201-5202"}]}))
        wait_for_gen(b, 2)
        check(tcp_ping(c1), "after the reload, the established 5201 connection still works")
        c3, first = tcp_client(a, b.host_ip, 5202)
        check(first == "connected" and tcp_ping(c3), "TCP to 5202 now accepted", first)
        got, _ = ping(a, b.host_ip, count=2, timeout=3)
        check(got == 0, "pings, accepted before, now dropped", f"{got} replies")
        # A file that does not parse changes nothing.
        with open(b.config_path, "w") as f:
            f.write("{ not json")
        b.proc.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        check(tcp_ping(c1) and b.counters().get("meshgate_policy_generation") == 2 and b.proc.poll() is None,
              "a broken file on reload: logged, the policy in force stays")
        for p in (c1, c2, c3):
            p.stdin.close()
        time.sleep(1.1)
        b.last_counters = b.counters()
        return m


def policy_2w():
    """The same with two workers at gateway B (net_af_packet, two queues each port): a flow's two
    directions arrive on different workers' queues, and the flow stage hands packets to the worker
    that owns the flow. Several flows at once, so both workers own some."""
    m = policy(workers_b=2)
    handed = m.b.last_counters.get('meshgate_packets_total{stage="flow_handed_off"}', 0)
    check(handed > 0, "packets were handed to the worker owning their flow", str(handed))


def wait_for_gen(g, gen, timeout=5):
    end = time.time() + timeout
    while time.time() < end:
        time.sleep(0.2)
        try:
            if g.counters().get("meshgate_policy_generation") == gen:
                return True
        except OSError:
            pass
    return False


SCENARIOS = {"lan_to_lan": lan_to_lan, "router_duties": router_duties, "not_forwarded": not_forwarded,
             "road_warrior": road_warrior, "policy": policy, "policy_2w": policy_2w}

if __name__ == "__main__":
    sys.exit(check.run(SCENARIOS, sys.argv[1:], "e2e", mgtest.missing_tools()))
