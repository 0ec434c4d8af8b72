#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Side-by-side WireGuard benchmark, run by scripts/bench.sh (which builds first).

  bench.py [--quick] [--out DIR] [--idle poll|backoff|both] [--duts a,b,...] [--skip inmem,veth,tcp]

Three parts, one run, one JSON:
  inmem  meshgate's worker in memory (perf/bench_dataplane: net_ring ports, no kernel), packets/s
         per worker core on both paths next to the crypto alone at the same size, same backend;
  veth   the same generator (wggen, a WireGuard peer) and the same namespace/veth topology for
         every DUT: decrypt path (wggen seals, the DUT opens and delivers inside, a counter there
         counts) and encrypt path (plaintext into the DUT's inside, wggen opens and counts what the
         DUT sealed). "generator-only" is wggen against a plain socket in the DUT's place, measured
         in the same run: a DUT figure near it is marked limited_by_generator;
  tcp    iperf3 through a tunnel between the DUT and a wireguard-go peer, 1 and 4 streams.
DUTs: meshgate, wireguard-go (Debian's), kernel WireGuard when this kernel has it (else skipped,
saying why). Writes DIR/bench.json (machine description, configuration, records), DIR/bench.md and
DIR/bench.png (gnuplot), with a progress line per measurement on stderr.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

import wgbench
from wgbench import run

SIZES = [64, 128, 256, 512, 1024, 1420, "imix"]
QUICK_SIZES = [64, 1420]
BUILD = os.environ.get("BENCH_BUILD", os.path.join(wgbench.ROOT, "build"))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def kernel_wireguard():
    """Whether `ip link add type wireguard` works, tried inside a namespace of our own."""
    ns = f"mgk-{os.getpid()}"
    run(["ip", "netns", "add", ns])
    try:
        p = run(["ip", "netns", "exec", ns, "ip", "link", "add", "wgk0", "type", "wireguard"],
                check=False)
        return p.returncode == 0, p.stderr.strip()
    finally:
        run(["ip", "netns", "del", ns], check=False)


def version(cmd):
    try:
        out = run(cmd, check=False).stdout or ""
        return out.strip().splitlines()[0] if out.strip() else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine():
    cpu = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            cpu.setdefault(k.strip(), v.strip())
    return {
        "cpu_model": cpu.get("model name", platform.processor()),
        "cpu_flags": cpu.get("flags", "").split(),
        "cpu_mhz": cpu.get("cpu MHz"),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "os": version(["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"]),
        "versions": {
            "meshgate": version(["git", "-C", wgbench.ROOT, "describe", "--always", "--dirty"]),
            "wireguard-go": version(["sh", "-c", "dpkg-query -W -f '${Version}' wireguard-go"]),
            "wireguard-tools": version(["wg", "--version"]),
            "iperf3": version(["iperf3", "--version"]),
            "dpdk": version(["pkg-config", "--modversion", "libdpdk"]),
            "libsodium": version(["pkg-config", "--modversion", "libsodium"]),
            "python": platform.python_version(),
        },
        "note": "generator, counter and DUT share the machine's cores",
    }


# ---- inmem ----------------------------------------------------------------------------------

def inmem(args):
    exe = os.path.join(BUILD, "perf", "bench_dataplane")
    hp = "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
    mem = ["--in-memory"] if os.path.exists(hp) and int(open(hp).read()) >= 128 else ["--no-huge", "-m", "512"]
    cmd = [exe, "-l", "0-1", "--no-pci", *mem, "--file-prefix", f"bdp{os.getpid()}",
           "--log-level", "lib.*:error", "--", *(["--quick"] if args.quick else [])]
    records = []
    for peers in ([1] if args.quick else [1, 16]):
        p = subprocess.run(cmd + ["--peers", str(peers)], stdout=subprocess.PIPE, text=True,
                           timeout=1800)
        records += [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
        if p.returncode != 0:
            records.append({"dut": "meshgate-inmem", "path": "decrypt", "size": 0, "flows": peers,
                            "pps": 0, "gbps": 0, "loss": 1.0,
                            "error": f"bench_dataplane exit {p.returncode}"})
    return records


# ---- veth: the generator against each DUT --------------------------------------------------

MANY_PEERS = 16


def points(quick, peers):
    """(size, flows) at this number of generator peers."""
    if peers > 1:
        return [(s, 1) for s in (QUICK_SIZES if quick else [64, 1420, "imix"])]
    sizes = QUICK_SIZES if quick else SIZES
    flows = [1] if quick else [1, 4]
    return [(s, f) for f in flows for s in sizes]


def peer_counts(quick):
    return [1] if quick else [1, MANY_PEERS]


def progress(i, n, r):
    size = f"{r['size']} B" if r["size"] != "imix" else "imix"
    lim = " (generator-limited)" if r.get("limited_by_generator") else ""
    loss = "" if r.get("loss") is None else f" loss {100 * r['loss']:5.1f}%"
    log(f"[{i}/{n}] {r['dut']:<15} {r['path']:<7} {size:>7} x{r['flows']} flows x{r.get('peers', 1)} peers: "
        f"{r['pps']:>12,.0f} pps {r['gbps']:7.3f} Gbit/s{loss}{lim}")


def duts(args, kernel):
    """(name, make, what): what is the set of parts/paths to run against it."""
    out = [("generator-only", lambda n: wgbench.GeneratorOnly(peers=n), {"decrypt", "encrypt"})]
    for idle in (["poll", "backoff"] if args.idle == "both" else [args.idle]):
        name = "meshgate" if args.idle != "both" else f"meshgate-{idle}"
        out.append((name, lambda n, idle=idle: wgbench.MeshgateDUT(idle=idle, peers=n), {"decrypt", "encrypt"}))
    out.append(("wireguard-go", lambda n: wgbench.WireguardGoDUT(peers=n), {"decrypt", "encrypt"}))
    if kernel:
        out.append(("kernel", lambda n: wgbench.WireguardGoDUT(tag="k", impl="kernel", peers=n),
                    {"decrypt", "encrypt"}))
    want = set(args.duts.split(",")) if args.duts else None
    return [d for d in out if want is None or d[0] in want or d[0].split("-")[0] in want]


def mark_generator_limit(r, records):
    """Near the generator's own ceiling at this point (same path, size, flows): it set the figure."""
    for g in records:
        if (g["dut"] == "generator-only" and g["path"] == r["path"] and g["size"] == r["size"]
                and g["flows"] == r["flows"] and g.get("peers") == r.get("peers")
                and r["dut"] != g["dut"] and g.get("pps")):
            r["generator_only_pps"] = g["pps"]
            if r["pps"] >= 0.9 * g["pps"]:
                r["limited_by_generator"] = True


def failed(dut, path, size, flows, e, peers=1):
    log(f"{dut} {path} {size}: FAILED: {e}")
    return {"dut": dut, "path": path, "size": size, "flows": flows, "peers": peers, "pps": 0,
            "gbps": 0, "loss": None, "error": str(e)[:600]}


def veth(args, kernel, records):
    todo = duts(args, kernel)
    plan = [(n, points(args.quick, n)) for n in peer_counts(args.quick)]
    total = sum(len(pts) * len(what) for _, _, what in todo for _, pts in plan)
    warm, dur = (0.5, 2.0) if args.quick else (1.0, 3.0)
    i = 0
    for peers, pts in plan:
        for name, make, what in todo:
            try:
                t = make(peers).__enter__()
            except Exception as e:  # the DUT did not start: its points fail, with the reason
                records += [failed(name, p, s, f, e, peers) for p in sorted(what) for s, f in pts]
                i += len(what) * len(pts)
                continue
            try:
                for path in ("decrypt", "encrypt"):
                    for size, flows in pts if path in what else []:
                        i += 1
                        try:
                            r = wgbench.measure(t, path, size, flows, 0, warm, dur, dut=name)
                        except RuntimeError as e:
                            r = failed(name, path, size, flows, e, peers)
                        mark_generator_limit(r, records)
                        records.append(r)
                        if "error" not in r:
                            progress(i, total, r)
            finally:
                t.close()


def tcp(args, kernel, records):
    impls = ["meshgate", "wireguard-go"] + (["kernel"] if kernel else [])
    impls = [d for d in impls if not args.duts or d in args.duts.split(",")]
    secs = 2 if args.quick else 5
    dirs = [False] if args.quick else [False, True]
    total, i = len(impls) * 2 * len(dirs), 0
    for impl in impls:
        with wgbench.TcpPair(impl=impl, idle=args.idle if args.idle != "both" else "poll") as t:
            for reverse in dirs:
                for streams in (1, 4):
                    i += 1
                    try:
                        r = wgbench.iperf(t, streams, reverse, secs)
                    except (RuntimeError, TimeoutError, subprocess.SubprocessError) as e:
                        r = failed(impl, "tcp", 1420, streams, e)
                    records.append(r)
                    if "error" not in r:
                        log(f"[tcp {i}/{total}] {impl:<15} {r['direction']:<13} x{streams} streams: "
                            f"{r['gbps']:7.3f} Gbit/s, {r['retransmits']} retransmits")


# ---- output ---------------------------------------------------------------------------------

def fmt(r):
    if r is None:
        return "-"
    if "error" in r:
        return "failed"
    star = "*" if r.get("limited_by_generator") else ""
    return f"{r['pps'] / 1e3:,.0f} k / {r['gbps']:.2f} / {100 * (r['loss'] or 0):.1f}%{star}"


def ratio(a, b):
    return f"{a['pps'] / b['pps']:.1f}x" if a and b and b.get("pps") and "error" not in a else "-"


def veth_table(records, path, flows, peers, names):
    recs = {(r["dut"], r["size"]): r for r in records
            if r["path"] == path and r["flows"] == flows and r.get("peers", 1) == peers}
    sizes = [s for s in SIZES if any(k[1] == s for k in recs)]
    mg = next((n for n in names if n.startswith("meshgate")), None)
    lines = [f"### {path} path, {flows} flow{'s' if flows > 1 else ''}, "
             f"{peers} peer{'s' if peers > 1 else ''}", "",
             "| size | " + " | ".join(names) + " | meshgate / wireguard-go |",
             "|---|" + "---|" * (len(names) + 1)]
    for s in sizes:
        cells = [fmt(recs.get((n, s))) for n in names]
        lines.append(f"| {s} | " + " | ".join(cells) + f" | {ratio(recs.get((mg, s)), recs.get(('wireguard-go', s)))} |")
    return lines + [""]


def inmem_table(records):
    recs = [r for r in records if r["dut"] == "meshgate-inmem" and "error" not in r]
    lines = ["### meshgate in memory: one worker core, net_ring ports, no kernel", "",
             "Packets/s of the whole worker loop, and of the burst AEAD alone over the same packets "
             "on the same core (same backend, same run). ratio = data plane / crypto alone.", "",
             "| path | size | peers | Mpps | Gbit/s inner | ns/packet | crypto alone Mpps | ratio |",
             "|---|---|---|---|---|---|---|---|"]
    for r in recs:
        lines.append(f"| {r['path']} | {r['size']} | {r['peers']} | {r['pps'] / 1e6:.2f} | "
                     f"{r['gbps']:.2f} | {r['ns_per_packet']:.1f} | {r['crypto_pps'] / 1e6:.2f} | "
                     f"{r['ratio_to_crypto']:.2f} |")
    if recs:
        lines += ["", f"AEAD backend: {recs[0]['aead']}; {recs[0]['packets_per_round']} packets per "
                  f"round, median of {recs[0]['rounds']} rounds; every output checked."]
    return lines + [""]


def tcp_table(records):
    recs = [r for r in records if r["path"] == "tcp"]
    lines = ["### iperf3 TCP through the tunnel (DUT in ns A, wireguard-go peer in ns B)", "",
             "| DUT | direction | streams | Gbit/s | retransmits |", "|---|---|---|---|---|"]
    for r in recs:
        cell = "failed" if "error" in r else f"{r['gbps']:.3f} | {r['retransmits']}"
        lines.append(f"| {r['dut']} | {r.get('direction', '-')} | {r['flows']} | {cell} |")
    return lines + [""]


def write_md(path, doc):
    m, recs = doc["machine"], doc["records"]
    names = list(dict.fromkeys(r["dut"] for r in recs if r["path"] in ("decrypt", "encrypt")
                               and r["dut"] != "meshgate-inmem"))
    out = ["# WireGuard data planes side by side", "",
           f"{m['cpu_model']}, {m['cores']} cores, kernel {m['kernel']}; wireguard-go "
           f"{m['versions']['wireguard-go']}; meshgate {m['versions']['meshgate']}. "
           f"`scripts/bench.sh{' --quick' if doc['config']['quick'] else ''}`, "
           f"{doc['config']['date']}, {doc['config']['seconds']} s.", ""]
    if doc["config"].get("kernel_wireguard_skipped"):
        out += [f"Kernel WireGuard: skipped ({doc['config']['kernel_wireguard_skipped']}).", ""]
    out += inmem_table(recs)
    out += ["### Over a veth pair, the same generator for every DUT", "",
            "Cells: delivered packets/s / inner goodput Gbit/s / loss. `*`: limited by the "
            "generator (within 10% of the generator measured alone, in this run). The generator, "
            "its counter and the DUT share this machine's cores and its kernel (veth, TUN, UDP "
            "sockets), so these are figures for this topology, not a DUT's ceiling.", ""]
    veth_recs = [r for r in recs if r["dut"] != "meshgate-inmem" and r["path"] in ("decrypt", "encrypt")]
    for p in ("decrypt", "encrypt"):
        for f, n in sorted({(r["flows"], r.get("peers", 1)) for r in veth_recs if r["path"] == p}):
            out += veth_table(veth_recs, p, f, n, names)
    out += tcp_table(recs)
    with open(path, "w") as fh:
        fh.write("\n".join(out))


def plot(out_dir, recs):
    """Throughput against packet size per DUT: packets/s and Gbit/s, both paths (gnuplot)."""
    if shutil.which("gnuplot") is None:
        log("bench: gnuplot not found: no plot")
        return
    series = []  # (title, path, rows)
    for dut in dict.fromkeys(r["dut"] for r in recs if r["path"] in ("decrypt", "encrypt")):
        for p in ("decrypt", "encrypt"):
            rows = [r for r in recs if r["dut"] == dut and r["path"] == p and r.get("flows", 1) == 1
                    and r.get("peers", 1) == 1 and "error" not in r and r["size"] in SIZES]
            if rows:
                series.append((dut, p, sorted(rows, key=lambda r: SIZES.index(r["size"]))))
    dat = os.path.join(out_dir, "bench.dat")
    with open(dat, "w") as fh:
        for dut, p, rows in series:
            fh.write(f"# {dut} {p}\n" + "".join(
                f"{SIZES.index(r['size'])} {r['pps'] / 1e6:.4f} {r['gbps']:.4f}\n" for r in rows) + "\n\n")
    xt = ", ".join(f"'{s}' {i}" for i, s in enumerate(SIZES))
    script = [f"set terminal pngcairo size 1400,1000 noenhanced font ',10'",
              f"set output '{os.path.join(out_dir, 'bench.png')}'",
              "set multiplot layout 2,2 title 'WireGuard data planes, one flow, one peer (perf/results/bench.md)'",
              "set style data linespoints; set grid; set logscale y",
              f"set xtics ({xt}); set xlabel 'inner packet bytes'"]
    for col, unit in ((2, "Mpps delivered"), (3, "Gbit/s inner goodput")):
        for p in ("decrypt", "encrypt"):
            plots = [f"'{dat}' index {i} using 1:{col} title '{d}'"
                     for i, (d, pp, _) in enumerate(series) if pp == p]
            # Mpps falls with size, Gbit/s rises: keep the key where the lines are not.
            key = "bottom right" if col == 2 else "top left"
            script += [f"set title '{p} path'; set ylabel '{unit}'; set key {key}",
                       "plot " + ", ".join(plots) if plots else "plot 1/0 notitle"]
    script.append("unset multiplot")
    p = subprocess.run(["gnuplot"], input="\n".join(script), text=True, capture_output=True)
    if p.returncode:
        log(f"bench: gnuplot failed: {p.stderr.strip()}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(wgbench.ROOT, "perf", "results"))
    ap.add_argument("--idle", default="poll", choices=["poll", "backoff", "both"])
    ap.add_argument("--duts", default="", help="comma list: generator-only,meshgate,wireguard-go,kernel")
    ap.add_argument("--skip", default="", help="comma list of parts: inmem,veth,tcp")
    args = ap.parse_args()
    skip = set(args.skip.split(",")) - {""}
    t0 = time.time()
    config = {"quick": args.quick, "idle": args.idle, "peers": 1, "skip": sorted(skip),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    kernel, why = kernel_wireguard()
    if not kernel:
        log(f"bench: kernel WireGuard: skipped, this kernel has none ({why})")
        config["kernel_wireguard_skipped"] = f"`ip link add type wireguard` fails: {why}"
    records = []
    if "inmem" not in skip:
        records += inmem(args)
    if "veth" not in skip:
        veth(args, kernel, records)
    if "tcp" not in skip:
        tcp(args, kernel, records)
    config["seconds"] = round(time.time() - t0, 1)
    doc = {"machine": machine(), "config": config, "records": records}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "bench.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
    write_md(os.path.join(args.out, "bench.md"), doc)
    plot(args.out, records)
    errors = [r for r in records if "error" in r]
    log(f"bench: {len(records)} measurements ({len(errors)} failed) in {config['seconds']} s; "
        f"wrote {args.out}/bench.{{json,md,png}}")
    return 1 if errors or not records else 0


if __name__ == "__main__":
    sys.exit(main())
