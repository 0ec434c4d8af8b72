#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""meshgate against the kernel's WireGuard (issue 16): Debian's kernel under QEMU as peer B, in
mgtest's topology (tests/e2e/kernelwg.py; scripts/kernel-guest.sh prepares and boots the guest,
fetching the kernel package from the Debian archive the first time). One guest boot per scenario.

  meshgate_initiates  meshgate's initiation opens the tunnel (the capture says who initiated);
                      IPv4 and IPv6 inside, both ways; endpoints and handshakes on both ends
  kernel_initiates    the same with the kernel's initiation first
  outer_ipv6          the tunnel over IPv6 (neighbour discovery with the guest)
  full_mtu            the largest packets the 1420-byte tunnel takes, with DF, both ways, IPv4 and
                      IPv6 inside: outer datagrams of 1480 bytes, unfragmented; one byte more is
                      refused; iperf3 TCP both ways
  full_mtu_outer6     the same over IPv6 outside: outer datagrams of 1500 bytes, the WAN's MTU
  preshared_key       a PSK on meshgate only: no tunnel; on both: tunnel, from either side
  transfer_counters   `wg show` counters: what one end sent, the other received, both ways
  roaming             the kernel moves address and port, then meshgate moves its port: each end
                      follows the other
  rekey               meshgate's protocol clock x20: REKEY_AFTER_TIME passes every 6 s and the
                      kernel accepts each new session, traffic flowing throughout; then idle, each
                      end's persistent keepalives reach the other and are counted there
  cookie_from_meshgate  meshgate under load (bursts of initiations from spoofed sources) answers
                      the kernel's initiation with a cookie reply; the kernel's next initiation
                      carries mac2 and meshgate completes the handshake, still under load
  cookie_from_kernel  the same the other way: the kernel under load, meshgate takes its cookie

Every scenario ends with meshgate's exit check (mgtest) and the guest's: its kernel logged no oops,
BUG or warning, and it powered off cleanly. KWG_DMESG_DIR=DIR keeps each guest's kernel log there,
WireGuard's debug messages included.

Exit 0 all passed, 1 a check failed, 77 skipped (no root, tools missing, or QEMU cannot boot the
guest here, with the reason). The accelerator (kvm or tcg) and the boot time are printed.
"""
import json
import os
import re
import subprocess
import sys
import time

import kernelwg
import mgtest
from kernelwg import KernelTopology
from mgtest import IN6_A, IN6_B, IN_A, IN_B, WAN6_A, WAN6_B, WAN_A, WAN_B

check = mgtest.Checks()
NO_KEEPALIVE = {"persistent_keepalive": None}  # nobody initiates until a test sends something
INNER_MTU = 1420
# The largest ICMP echo payload the tunnel carries: inner MTU less the IP and ICMP headers.
PING4_MAX, PING6_MAX = INNER_MTU - 20 - 8, INNER_MTU - 40 - 8
WG_DATA_OVERHEAD = 16 + 16  # header (type, receiver, counter) and the Poly1305 tag
FLOOD = os.environ.get("FLOOD", os.path.join(mgtest.ROOT, "build", "tests", "tools", "wgflood"))
# Initiation bursts (see flood()) that put each end under load: meshgate's control ring holds 1024
# and is under load from 128 queued; the kernel's handshake queue holds 4096, under load from 512.
FLOOD_MESHGATE_BURST = int(os.environ.get("KWG_FLOOD_MESHGATE_BURST", "400"))
FLOOD_KERNEL_BURST = int(os.environ.get("KWG_FLOOD_KERNEL_BURST", "1500"))


def booted(t):
    print(f"  (guest booted in {t.guest.boot_s:.1f} s, {t.guest.accel})")


def pings(t, side, addr, size=None, df=False, count=3, timeout=10):
    """Echo replies received from `count` pings (iputils ping on the host and in the guest)."""
    fn = t.a if side == "a" else t.b
    extra = (["-s", str(size)] if size else []) + (["-M", "do"] if df else [])
    p = fn("ping", "-n", "-c", str(count), "-i", "0.2", "-W", "2", "-w", str(timeout), *extra, addr,
           check=False, timeout=timeout + 5)
    m = re.search(r"(\d+) received", p.stdout)
    return (int(m.group(1)) if m else 0), (p.stdout + p.stderr)


def wg_messages(records, wg_type):
    return [r for r in records if r.get("wg_type") == wg_type]


# Handshake messages (types 1-3) and keepalives (type 4, empty) between the two WireGuard ends, as
# JSON lines: the frames of a flood from other sources are skipped here, before they cost anything.
HS_CAPTURE = r"""
import json, socket, struct, sys, time
iface, secs, keep = sys.argv[1], float(sys.argv[2]), set(sys.argv[3:])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((iface, 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
print("ready", file=sys.stderr, flush=True)
end = time.time() + secs
while time.time() < end:
    s.settimeout(max(end - time.time(), 0.01))
    try:
        f = s.recv(65535)
    except socket.timeout:
        break
    et = f[12:14]
    if et == b"\x08\x00" and f[23] == 17:
        src, dst = socket.inet_ntop(socket.AF_INET, f[26:30]), socket.inet_ntop(socket.AF_INET, f[30:34])
        udp = f[14 + (f[14] & 15) * 4:]
    elif et == b"\x86\xdd" and f[20] == 17:
        src, dst = socket.inet_ntop(socket.AF_INET6, f[22:38]), socket.inet_ntop(socket.AF_INET6, f[38:54])
        udp = f[54:]
    else:
        continue
    p = udp[8:]
    if src not in keep or dst not in keep or len(p) < 4 or p[1:4] != b"\0\0\0":
        continue
    if p[0] not in (1, 2, 3) and not (p[0] == 4 and len(p) == 32):  # 32 bytes of type 4: a keepalive
        continue
    rec = {"t": time.time(), "type": p[0], "src": src, "dst": dst}
    if (p[0], len(p)) in ((1, 148), (2, 92)):
        rec["mac2"] = any(p[-16:])
    print(json.dumps(rec), flush=True)
"""


class HsCapture:
    """HS_CAPTURE in namespace B on one of its links, for some seconds."""

    def __init__(self, t, iface, seconds):
        self.p = subprocess.Popen(["ip", "netns", "exec", t.ns_b, sys.executable, "-c", HS_CAPTURE, iface,
                                   str(seconds), WAN_A, WAN_B, WAN6_A, WAN6_B],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t.procs.append(self.p)
        if self.p.stderr.readline().strip() != "ready":
            raise RuntimeError("handshake capture did not start")

    def records(self, timeout=60):
        out = self.p.communicate(timeout=timeout)[0]
        return [json.loads(line) for line in out.splitlines()]


def flood(t, iface, dst, mac, pub, seconds, burst, gap=0.3):
    """wgflood in namespace B for `seconds`: bursts of `burst` initiations (valid mac1, no mac2, from
    256 spoofed sources, as fast as the link takes them) every `gap` s, written onto `iface` for
    the listener dst (IP:port) at `mac`. Bursts, not a steady rate: each one fills the listener's
    handshake queue past its under-load mark, and the queue drains between them, so the listener
    stays under load (it holds that for 1 s) yet has room for the real peer's initiation; a steady
    flood either misses the mark or keeps the queue full, by how much CPU the listener gets on this
    shared machine. Prints the number of bursts at the end."""
    if not os.access(FLOOD, os.X_OK):
        raise RuntimeError(f"no wgflood at {FLOOD} (ninja -C build, or set FLOOD)")
    cmd = (f"end=$(($(date +%s) + {seconds})); n=0; while [ $(date +%s) -lt $end ]; do "
           f"{FLOOD} --iface {iface} --dst {dst} --dst-mac {mac} --peer-pub {pub} --kind init-mac1 "
           f"--count {burst} >/dev/null || exit 1; n=$((n + 1)); sleep {gap}; done; echo $n")
    p = subprocess.Popen(["ip", "netns", "exec", t.ns_b, "sh", "-c", cmd],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t.procs.append(p)
    return p


def flood_report(p, timeout=60):
    out, err = p.communicate(timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"wgflood: exit {p.returncode}: {err.strip()[-300:]}")
    return int(out.strip() or 0)


def tunnel_both_ways(t, who):
    check(t.ping_from_a(IN_B) >= 2, f"{who}: IPv4 ping meshgate -> kernel", t.log())
    check(t.ping_from_a(IN6_B) >= 2, f"{who}: IPv6 ping meshgate -> kernel")
    check(t.ping_from_b(IN_A) >= 2, f"{who}: IPv4 ping kernel -> meshgate")
    check(t.ping_from_b(IN6_A) >= 2, f"{who}: IPv6 ping kernel -> meshgate")


def opened_by(t, first, src, who, ep_a, ep_b):
    """Open the tunnel with first(), capturing on ns B's end of the WAN: the first initiation
    must come from src, the response from the other end; then traffic both ways."""
    cap = t.capture("b", 6)
    ok = first()
    recs = cap.records()
    inits, resps = wg_messages(recs, 1), wg_messages(recs, 2)
    check(ok, f"{who} initiates: the first ping gets through", t.log())
    check(bool(inits) and inits[0]["src"] == src, f"the first handshake initiation came from {who} ({src})",
          str([(r["src"], r["dst"]) for r in inits]))
    check(bool(resps) and resps[0]["dst"] == src, "and the response went back to it",
          str([(r["src"], r["dst"]) for r in resps]))
    tunnel_both_ways(t, who)
    a, b = t.wg_dump("a")[t.pub_b], t.wg_dump("b")[t.pub_a]
    check(a["latest_handshake"] > 0 and b["latest_handshake"] > 0, "latest handshake set on both ends",
          f"a={a} b={b}")
    check(a["endpoint"] == ep_b and b["endpoint"] == ep_a, "each end shows the other's endpoint",
          f"{a['endpoint']} / {b['endpoint']}")


def meshgate_initiates():
    with KernelTopology("ki", peer_config=NO_KEEPALIVE) as t:
        booted(t)
        opened_by(t, lambda: t.ping_from_a(IN_B, count=3, timeout=10) >= 2, WAN_A, "meshgate",
                  f"{WAN_A}:{t.port_a}", f"{WAN_B}:{t.port_b}")


def kernel_initiates():
    with KernelTopology("kk", peer_config=NO_KEEPALIVE) as t:
        booted(t)
        opened_by(t, lambda: t.ping_from_b(IN_A, count=3, timeout=10) >= 2, WAN_B, "the kernel",
                  f"{WAN_A}:{t.port_a}", f"{WAN_B}:{t.port_b}")


def outer_ipv6():
    with KernelTopology("k6", outer6=True, peer_config=NO_KEEPALIVE) as t:
        booted(t)
        opened_by(t, lambda: t.ping_from_b(IN6_A, count=3, timeout=10) >= 2, WAN6_B, "the kernel (over IPv6)",
                  f"[{WAN6_A}]:{t.port_a}", f"[{WAN6_B}]:{t.port_b}")


def full_size_packets(t, src_a, src_b, outer_ip_header):
    """The largest packets the tunnel takes, both ways, IPv4 (DF) and IPv6 inside, and what they
    became on the wire (captured on ns B's end of the WAN): full outer datagrams, unfragmented."""
    check(t.ping_from_a(IN_B) >= 2, "tunnel up", t.log())
    cap = t.capture("b", 12)
    for side, dst4, dst6, who in (("a", IN_B, IN6_B, "meshgate -> kernel"), ("b", IN_A, IN6_A, "kernel -> meshgate")):
        n, out = pings(t, side, dst4, PING4_MAX, df=True)
        check(n >= 2, f"{who}: IPv4 {INNER_MTU}-byte packets with DF", out[-300:])
        n, out = pings(t, side, dst6, PING6_MAX)
        check(n >= 2, f"{who}: IPv6 {INNER_MTU}-byte packets", out[-300:])
        n, out = pings(t, side, dst4, PING4_MAX + 1, df=True, count=1, timeout=2)
        check(n == 0, f"{who}: one byte more with DF does not fit the tunnel", out[-200:])
    data = [r for r in cap.records() if r.get("wg_type") == 4 or r.get("frag_off") or r.get("mf")]
    full = INNER_MTU + WG_DATA_OVERHEAD + 8 + outer_ip_header
    for src, who in ((src_a, "meshgate"), (src_b, "the kernel")):
        biggest = max((r["ip_len"] for r in data if r["src"] == src and r.get("wg_type") == 4), default=0)
        frags = [r for r in data if r["src"] == src and (r.get("mf") or r.get("frag_off"))]
        check(biggest == full and not frags,
              f"{who} sent full-MTU data as {full}-byte outer datagrams, unfragmented",
              f"largest {biggest}, fragments {len(frags)}")


def full_mtu():
    with KernelTopology("km") as t:
        booted(t)
        full_size_packets(t, WAN_A, WAN_B, 20)
        for reverse, who in ((False, "meshgate -> kernel"), (True, "kernel -> meshgate")):
            t.b("iperf3", "-s", "-1", "-D", "-B", IN_B)
            time.sleep(0.5)
            args = ["-R"] if reverse else []
            p = t.a("iperf3", "-c", IN_B, "-t", "3", "-J", *args, check=False, timeout=40)
            try:
                end = json.loads(p.stdout)["end"]
                got, bps = end["sum_received"]["bytes"], end["sum_received"]["bits_per_second"]
                retr = end["sum_sent"].get("retransmits")
            except (ValueError, KeyError):
                got, bps, retr = 0, 0, None
            check(got > 1_000_000, f"iperf3 TCP {who}: {bps / 1e6:.0f} Mbit/s, {retr} retransmits "
                  f"(the guest's speed: {t.guest.accel})",
                  p.stdout[-300:] + p.stderr[-300:])


def full_mtu_outer6():
    with KernelTopology("kn", outer6=True) as t:
        booted(t)
        full_size_packets(t, WAN6_A, WAN6_B, 40)


def preshared_key():
    with KernelTopology("kp", peer_config=NO_KEEPALIVE) as t:
        booted(t)
        psk = mgtest.run(["wg", "genpsk"]).stdout.strip()
        path = os.path.join(t.dir, "psk")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (psk + "\n").encode())
        os.close(fd)
        t.guest.write(path, psk + "\n")
        t.a("wg", "set", t.if_a, "peer", t.pub_b, "preshared-key", path)
        check(t.ping_from_a(IN_B, count=3, timeout=4) == 0,
              "PSK on meshgate only: no tunnel (the kernel's response does not verify)")
        t.b("wg", "set", t.if_b, "peer", t.pub_a, "preshared-key", path)
        shown_a = t.a("wg", "show", t.if_a, "preshared-keys").stdout.split()
        shown_b = t.b("wg", "show", t.if_b, "preshared-keys").stdout.split()
        check(psk in shown_a and psk in shown_b, "both ends show the PSK")
        # meshgate retries its initiation within REKEY_TIMEOUT (5 s).
        check(t.ping_from_a(IN_B, count=3, timeout=15) >= 2, "the same PSK on both ends: meshgate's handshake", t.log())
        check(t.ping_from_b(IN6_A) >= 2, "and traffic back")
        # A fresh session from the kernel's side: both ends forget the peer and learn it again.
        for fn, ifn, pub, ep, allowed in ((t.a, t.if_a, t.pub_b, f"{WAN_B}:{t.port_b}", "10.77.0.2/32,fd00:77::2/128"),
                                          (t.b, t.if_b, t.pub_a, f"{WAN_A}:{t.port_a}", "10.77.0.1/32,fd00:77::1/128")):
            fn("wg", "set", ifn, "peer", pub, "remove")
            fn("wg", "set", ifn, "peer", pub, "preshared-key", path, "endpoint", ep, "allowed-ips", allowed)
        before = t.wg_dump("a")[t.pub_b]["latest_handshake"]
        check(before == 0, "peer re-added on both ends: no session", str(before))
        check(t.ping_from_b(IN_A, count=3, timeout=10) >= 2, "the kernel's handshake with the PSK", t.log())
        check(t.ping_from_a(IN6_B) >= 2, "and traffic back")


def transfer_counters():
    with KernelTopology("kc") as t:
        booted(t)
        check(t.ping_from_a(IN_B) >= 2, "tunnel up", t.log())
        pings(t, "a", IN_B, 1000, count=10, timeout=10)
        pings(t, "b", IN6_A, 500, count=10, timeout=10)
        time.sleep(2)
        # meshgate's counters the same before and after the kernel's are read: nothing was in flight.
        for _ in range(3):
            a, b, a2 = t.wg_dump("a")[t.pub_b], t.wg_dump("b")[t.pub_a], t.wg_dump("a")[t.pub_b]
            if (a["rx"], a["tx"]) == (a2["rx"], a2["tx"]):
                break
            time.sleep(0.5)
        print(f"  figure: meshgate rx {a['rx']} tx {a['tx']}; kernel rx {b['rx']} tx {b['tx']}")
        check(a["tx"] > 10000 and b["tx"] > 10000, "both ends counted the traffic they sent", f"a={a} b={b}")
        check(a["rx"] == b["tx"], "meshgate received what the kernel sent (wg show rx = tx, bytes)",
              f"meshgate rx {a['rx']}, kernel tx {b['tx']}, difference {a['rx'] - b['tx']}")
        check(a["tx"] == b["rx"], "the kernel received what meshgate sent",
              f"meshgate tx {a['tx']}, kernel rx {b['rx']}, difference {a['tx'] - b['rx']}")


def roaming():
    with KernelTopology("kr") as t:
        booted(t)
        check(t.ping_from_a(IN_B) >= 2, "tunnel up", t.log())
        # Delete first: removing a primary address also removes secondaries in its subnet.
        t.b("ip", "addr", "del", f"{WAN_B}/24", "dev", t.wan_b)
        t.b("ip", "addr", "add", "192.168.77.3/24", "dev", t.wan_b)
        t.b("wg", "set", t.if_b, "listen-port", "51999")
        check(t.ping_from_b(IN_A) >= 2, "the kernel moved address and port: its traffic arrives")
        ep = t.wg_dump("a")[t.pub_b]["endpoint"]
        check(ep == "192.168.77.3:51999", "meshgate's endpoint followed the kernel", ep)
        check(t.ping_from_a(IN6_B) >= 2, "meshgate reaches the kernel at its new address")
        # The other way: meshgate restarts on another port and sends first (to where the kernel
        # is now: a restarted meshgate knows only its configuration).
        t.stop_meshgate()
        t.port_a = 51830
        t.peer_config = dict(t.peer_config, endpoint="192.168.77.3:51999")
        t.start_meshgate()
        check(t.ping_from_a(IN_B, count=3, timeout=10) >= 2, "meshgate back on port 51830: tunnel up", t.log())
        ep = t.wg_dump("b")[t.pub_a]["endpoint"]
        check(ep == f"{WAN_A}:51830", "the kernel's endpoint followed meshgate", ep)
        check(t.ping_from_b(IN6_A) >= 2, "the kernel reaches meshgate at its new port")


def rekey():
    # MESHGATE_TEST_CLOCK_SPEEDUP: meshgate's protocol clock runs 20x fast, so REKEY_AFTER_TIME
    # (120 s) passes every 6 s; the kernel's clock is real, so it answers as any peer would.
    with KernelTopology("kx", env={"MESHGATE_TEST_CLOCK_SPEEDUP": "20"}) as t:
        booted(t)
        check(t.ping_from_a(IN_B) >= 2, "tunnel up (meshgate's clock x20)", t.log())
        seen = {t.wg_dump("b")[t.pub_a]["latest_handshake"]}
        sent = got = 0
        end = time.time() + 25
        while time.time() < end and len(seen) < 3:
            n, _ = pings(t, "a", IN_B, count=3, timeout=3)
            sent, got = sent + 3, got + n
            seen.add(t.wg_dump("b")[t.pub_a]["latest_handshake"])
        check(len(seen) >= 3, "meshgate rekeyed and the kernel took each new session (handshake times it shows)",
              str(sorted(seen)))
        check(got >= sent - 3, "traffic flowed through the rekeys", f"{got} of {sent} replies")
        check(t.ping_from_b(IN6_A) >= 2, "and from the kernel after them")
        # Keepalives, idle: first meshgate's alone (every 25 s, 1.25 s at x20), then the kernel's
        # every second (which push meshgate's timer out: any authenticated packet, sent or received,
        # does, as in the kernel).
        for who, src, other in (("meshgate", WAN_A, "b"), ("the kernel", WAN_B, "a")):
            if src == WAN_B:
                t.b("wg", "set", t.if_b, "peer", t.pub_a, "persistent-keepalive", "1")
            pub = t.pub_a if other == "b" else t.pub_b
            rx0 = t.wg_dump(other)[pub]["rx"]
            cap = HsCapture(t, t.veth_b, 4)
            n = sum(r["type"] == 4 and r["src"] == src for r in cap.records())
            rx = t.wg_dump(other)[pub]["rx"] - rx0
            check(n >= 2 and rx >= 32 * n, f"{who}'s persistent keepalives reached the other end, which counted them",
                  f"{n} keepalives seen in 4 s, rx +{rx} there")


HS_REASONS = ("ctrl_ring_full", "hs_invalid_mac", "hs_ratelimited", "hs_cookie_sent", "hs_unknown_peer",
              "hs_replay", "hs_flood", "hs_auth_failed", "hs_unexpected")


def handshakes_seen(recs):
    return [(round(r["t"] - recs[0]["t"], 2), r["type"], r["src"], r.get("mac2")) for r in recs] if recs else []


def cookie_from_meshgate():
    """meshgate under load answers the kernel's initiation with a cookie reply; the kernel's next
    initiation carries mac2 made from it, and meshgate takes it."""
    with KernelTopology("kq", peer_config=NO_KEEPALIVE) as t:
        booted(t)
        mac = t.a("cat", f"/sys/class/net/{t.veth_a}/address").stdout.strip()
        # On the tap only the guest's frames: the flood goes from ns B's veth end to meshgate.
        cap = HsCapture(t, t.tap, 13)
        fl = flood(t, t.veth_b, f"{WAN_A}:{t.port_a}", mac, t.pub_a, 11, FLOOD_MESHGATE_BURST)
        time.sleep(1.5)
        sent_before = t.drops("hs_cookie_sent")
        check(sent_before > 0, "the flood put meshgate under load (cookie replies sent)", str(sent_before))
        n = t.ping_from_b(IN_A, count=3, timeout=9)  # the second initiation comes 5 s after the first
        under = fl.poll() is None
        rep = flood_report(fl)
        recs = cap.records()
        seen = handshakes_seen(recs)
        print(f"  figure: {rep} bursts; handshake messages (s, type, from, mac2): {seen}")
        time.sleep(1.1)
        hs = {r: t.drops(r) for r in HS_REASONS}
        print(f"  figure: meshgate's handshake drops: {hs}")
        check(n >= 1 and under, "the kernel's ping got through while the flood went on", f"{n} replies")
        k_inits = [r for r in recs if r["type"] == 1 and r["src"] == WAN_B]
        cookies = [r for r in recs if r["type"] == 3 and r["src"] == WAN_A and r["dst"] == WAN_B]
        check(bool(cookies) and bool(k_inits) and not k_inits[0]["mac2"] and k_inits[0]["t"] < cookies[0]["t"],
              "meshgate answered the kernel's first initiation (no mac2) with a cookie reply", str(seen))
        later = [r for r in k_inits if cookies and r["t"] > cookies[0]["t"]]
        check(bool(later) and later[0]["mac2"], "the kernel's next initiation carried mac2 (it took the cookie)",
              str(seen))
        resp = [r for r in recs if r["type"] == 2 and r["src"] == WAN_A and later and r["t"] > later[0]["t"]]
        check(bool(resp), "meshgate, under load, answered that initiation with a handshake response", str(seen))


def cookie_from_kernel():
    """The kernel under load answers meshgate's initiation with a cookie reply; meshgate's next
    initiation carries mac2 made from it, and the kernel takes it."""
    with KernelTopology("kz", peer_config=NO_KEEPALIVE) as t:
        booted(t)
        # The flood is written onto the bridge, which forwards it to the tap alone; on ns B's veth
        # end only meshgate's and the guest's frames.
        cap = HsCapture(t, t.veth_b, 13)
        fl = flood(t, t.bridge, f"{WAN_B}:{t.port_b}", kernelwg.GUEST_MAC, t.pub_b, 11, FLOOD_KERNEL_BURST)
        time.sleep(1.5)
        n = t.ping_from_a(IN_B, count=3, timeout=9)  # the second initiation comes 5 s after the first
        under = fl.poll() is None
        rep = flood_report(fl)
        recs = cap.records()
        seen = handshakes_seen(recs)
        print(f"  figure: {rep} bursts; handshake messages (s, type, from, mac2): {seen}")
        check(n >= 1 and under, "meshgate's ping got through while the flood went on", f"{n} replies")
        m_inits = [r for r in recs if r["type"] == 1 and r["src"] == WAN_A]
        cookies = [r for r in recs if r["type"] == 3 and r["src"] == WAN_B and r["dst"] == WAN_A]
        check(bool(cookies) and bool(m_inits) and not m_inits[0]["mac2"] and m_inits[0]["t"] < cookies[0]["t"],
              "the kernel, under load, answered meshgate's first initiation with a cookie reply", str(seen))
        later = [r for r in m_inits if cookies and r["t"] > cookies[0]["t"]]
        check(bool(later) and later[0]["mac2"], "meshgate's next initiation carried mac2 (it took the cookie)",
              str(seen))
        resp = [r for r in recs if r["type"] == 2 and r["src"] == WAN_B and later and r["t"] > later[0]["t"]]
        check(bool(resp), "the kernel answered that initiation with a handshake response", str(seen))
        time.sleep(1.2)  # meshgate's counters file, rewritten once a second
        c = t.counters()
        stage = 'meshgate_packets_total{{stage="{}"}}'.format
        check(c.get(stage("cookie_replies_rx"), 0) >= 1 and c.get(stage("cookie_mac2_sent"), 0) >= 1,
              "meshgate counted the cookie reply it took and the initiation it sent with mac2",
              f'{c.get(stage("cookie_replies_rx"))} {c.get(stage("cookie_mac2_sent"))}')


SCENARIOS = {f.__name__: f for f in (meshgate_initiates, kernel_initiates, outer_ipv6, full_mtu, full_mtu_outer6,
                                     preshared_key, transfer_counters, roaming, rekey, cookie_from_meshgate,
                                     cookie_from_kernel)}


def main(names):
    missing = [m for m in mgtest.missing_tools() if m != "wireguard-go"]
    if missing or os.geteuid() != 0:
        return check.run(SCENARIOS, names, "kernel-wg", missing)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
        return 2
    why = kernelwg.unavailable()
    if why:
        print(f"SKIP: the kernel WireGuard guest cannot run here: {why}")
        return 77
    print(f"guest: Debian kernel {kernelwg.kernel_version()}, accelerator {kernelwg.accelerator()}")
    t0 = time.monotonic()
    for name in names or SCENARIOS:
        print(f"{name}:")
        s0 = time.monotonic()
        try:
            SCENARIOS[name]()
        except Exception as e:
            check(False, f"{name} ran", repr(e))
        print(f"  ({name}: {time.monotonic() - s0:.0f} s)")
    print(f"kernel-wg: {check.passed} checks passed, {check.failed} failed in {time.monotonic() - t0:.0f} s")
    return 1 if check.failed or not check.passed else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
