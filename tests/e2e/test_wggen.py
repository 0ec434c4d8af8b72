#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The benchmark generator (perf/wggen) against real WireGuard implementations, end to end.

wggen's figures mean something only if its handshake and packets are WireGuard and its counter
counts exactly what was delivered. So: a short run with a known packet count, at a rate no DUT
struggles with, must be delivered exactly (no loss, nothing foreign, nothing malformed) through
meshgate and through wireguard-go, on both paths; wggen also answers a DUT's initiation
(--respond), it can be many peers at once, and measured alone, at full rate too (UDP GSO
batches), it counts every message it sent.

Exit 0 all passed, 1 a check failed, 77 tools missing (skipped).
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "perf"))
import mgtest  # noqa: E402
import wgbench  # noqa: E402

check = mgtest.Checks()
COUNT = 3000
RATE = 5000  # low enough that no DUT here drops for load: this tests formats and counting
RATE_SPREAD = 200000  # more than host mode takes here: full bursts queue at the WAN port


def exact(t, path, size, respond=False, rate=RATE):
    # At full rate the counter is slower than the sender: a warm-up would fill its socket buffer
    # (tens of thousands of datagrams, RcvbufErrors) and the counted ones could find it full. So
    # a full-rate run is counted from its first datagram: COUNT of them fit the buffer.
    who = f"{t.name} {path} {size} B{' (DUT initiates)' if respond else ''}{' at full rate' if not rate else ''}"
    # wireguard-go is a DUT we do not control: once, in a CI run, it lost 53 of 3000 at 1420 B even
    # at this rate (4 reruns exact; a stall of its reader is the likely cause, not measured). It
    # gets a second try, said in the output; meshgate does not.
    tries = 2 if isinstance(t, wgbench.WireguardGoDUT) else 1
    for attempt in range(tries):
        r = wgbench.measure(t, path, size, rate=rate, warmup=0.2 if rate else 0, duration=30, count=COUNT,
                            respond=respond)
        ok = (r["tx_pkts"] == COUNT and r["rx_pkts"] == COUNT and r["rx_bad"] == 0
              and r["rx_foreign"] == 0 and r["send_errors"] == 0)
        if ok or attempt + 1 == tries:
            break
        print(f"  note: {who}: {r['rx_pkts']} of {r['tx_pkts']} delivered at the first try; once more")
    check(ok, f"{who}: {COUNT} sent, {COUNT} delivered exactly", str(r))
    return r


def meshgate():
    with wgbench.MeshgateDUT(idle="backoff", tag="q") as t:
        exact(t, "decrypt", 64)
        r = exact(t, "decrypt", 1420)
        check(r["aead"] != "none", "decrypt path sealed by the burst AEAD", r["aead"])
        exact(t, "encrypt", 64)
        exact(t, "encrypt", "imix")
        # The counters file is rewritten once a second: give it two.
        stage = 'meshgate_packets_total{{stage="{}"}}'.format
        saw = lambda: all(t.counters().get(stage(s), 0) >= 2 * COUNT for s in ("decrypted", "encrypted"))
        try:
            mgtest.wait_for(saw, 2.5, "counters")
        except TimeoutError:
            pass
        check(saw(), "meshgate's own counters saw the runs", str(t.counters()))
    with wgbench.MeshgateDUT(idle="backoff", tag="r") as t:
        exact(t, "encrypt", 128, respond=True)


def spread():
    # One peer, one outer flow: its packets land on one WAN queue. Sent faster than host mode takes
    # them (the TUN's write per packet), meshgate takes full bursts, and with two workers the idle
    # one decrypts part of them (dataplane/spread.c). Loss is allowed here; damage is not. Order is
    # not checked end to end: net_af_packet (the two-worker WAN here) rolls a flow over to the other
    # queue when its ring is full, so under this overload both workers receive the one flow and
    # reorder it with or without spreading (runs here: 2945 of 6175 reordered without; 404 to 2838
    # of 6800 to 8600 with). tests/test_spread.c checks the order where one queue holds the flow.
    with wgbench.MeshgateDUT(idle="backoff", tag="s", workers=2) as t:
        r = wgbench.measure(t, "decrypt", 1420, rate=RATE_SPREAD, warmup=0.2, duration=30, count=20000)
        time.sleep(1.2)  # the counters file, rewritten once a second, after the run
        c = t.counters()
        out = c.get('meshgate_packets_total{stage="decrypt_spread_out"}', 0)
        per = [c.get(f'meshgate_worker_packets_total{{worker="{w}",stage="decrypt_spread_in"}}', 0) for w in (0, 1)]
        check(r["rx_pkts"] > 1000 and r["rx_bad"] == 0 and r["rx_foreign"] == 0,
              f"delivered {r['rx_pkts']} of {r['tx_pkts']}, none damaged ({r['rx_reordered']} reordered)", str(r))
        check(out > 0 and sum(per) == out, f"the other worker decrypted {out} of them (per worker {per})", str(c))


def many_peers():
    # The generator as four WireGuard peers at once: each its own key, socket, session and inner
    # address; the DUTs are configured with all four.
    with wgbench.MeshgateDUT(idle="backoff", tag="m", peers=4) as t:
        exact(t, "decrypt", 128)
        exact(t, "encrypt", 128)
        check(len(t.wg_dump("a")) == 4 and all(p["latest_handshake"] > 0 for p in t.wg_dump("a").values()),
              "meshgate shows four peers, each with a handshake", str(t.wg_dump("a")))
    with wgbench.WireguardGoDUT(tag="v", peers=4) as t:
        exact(t, "decrypt", 128)
        exact(t, "encrypt", 128)
    with wgbench.GeneratorOnly(tag="u", peers=4) as t:
        exact(t, "decrypt", 128, rate=0)
        exact(t, "encrypt", 128, rate=0)


def wireguard_go():
    with wgbench.WireguardGoDUT(tag="x") as t:
        exact(t, "decrypt", 64)
        exact(t, "decrypt", 1420)
        exact(t, "encrypt", 64)
        exact(t, "encrypt", 1420)


def generator_only():
    with wgbench.GeneratorOnly(tag="y") as t:
        exact(t, "decrypt", 256)
        # Full rate: bursts go out as UDP GSO sends; the counter must still see each datagram.
        exact(t, "decrypt", 1420, rate=0)
        exact(t, "encrypt", 64, rate=0)


SCENARIOS = {f.__name__: f for f in (meshgate, wireguard_go, generator_only, many_peers, spread)}


if __name__ == "__main__":
    sys.exit(check.run(SCENARIOS, sys.argv[1:], "wggen",
                       mgtest.missing_tools() + ([] if os.path.exists(wgbench.WGGEN) else [wgbench.WGGEN])))
