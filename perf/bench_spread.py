#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One peer on many cores, in memory: run by scripts/bench-spread.sh (which builds first).

  bench_spread.py [--quick] [--out DIR] [--workers 1,2,...] [--runs R] [--tries T] [--quiet-wait S]
                  [--rounds N] [--packets K] [--note TEXT]

meshgate's worker loop (perf/bench_dataplane --workers) on 1, 2, ... worker lcores between net_ring
ports, decrypt path, one peer whose one UDP flow all lands on WAN queue 0 (the case RSS cannot
spread): worker 0 receives it all and, with more workers, hands bursts' AEAD to the others
(dataplane/spread.c), delivering in arrival order. The configurations take turns round by round in
one process, so each one's speed-up over one worker comes from the same moments of the machine
(the median of the rounds' own ratios); every output is checked, and must come out in the order
it was generated. Each size is a process of its own, run R times (--runs, default 3), each once
the machine is quiet and again if other processes took CPU meanwhile (bench_flows.quietly: one
peer on two workers stalls whenever either CPU is taken for a scheduler slice); a size's figures
are from its median run.
  On a machine with fewer CPUs than workers + 1, the lcore map is oversubscribed: the main lcore
(the generator, asleep while workers are timed) shares CPU 0 with worker 0, and worker i has CPU
i; one worker runs as worker 0 does, beside the same sleeping main lcore.
  Then, for the projection to 100 Gbit/s, one worker at 1420 B on both paths as bench_flows and
bench.py measure it (perf/bench_dataplane without --workers: its main lcore and the worker on CPUs
of their own).
--quick: sizes 64 and 1420, one run of 5 rounds of 4096 packets, no waiting for quiet.

Writes DIR/bench_spread.json (machine, configuration, every record), DIR/bench_spread.md and
DIR/bench_spread.png (gnuplot). Figures are not asserted (the goal, 0.8 x N, is marked); a record
with outputs that failed their checks, out of order, or lost is marked, and the exit status is 1.
"""
import argparse
import json
import os
import shutil
import sys
import time

import bench
import bench_flows
from bench import log

SIZES = [64, 512, 1420, "imix"]
QUICK_SIZES = [64, 1420]
MAX_WORKERS = 8        # bench_dataplane's MAX_WORKERS
GOAL = 0.8             # the speed-up wanted: GOAL x N on N workers
TARGET_GBPS = 100      # the projection's rate, of 1420 B inner packets
PROJECTION_SIZE = 1420


def default_workers():
    """1, 2, ... as many workers as CPUs (no two on one CPU), at most MAX_WORKERS."""
    return list(range(1, min(os.cpu_count() or 1, MAX_WORKERS) + 1))


def lcore_map(most):
    """EAL options for the main lcore and `most` workers: a CPU each where there are enough, else
    the main lcore on worker 0's CPU (it sleeps while workers are timed)."""
    cpus = os.cpu_count() or 1
    if cpus > most:
        return ["-l", f"0-{most}"]
    return ["--lcores", ",".join(["0@0", "1@0"] + [f"{i + 1}@{i}" for i in range(1, most)])]


def check(r):
    """What makes a record not a clean measurement: bench_flows' reasons (outputs, order, loss),
    and spread.c's counters that disagree (every packet handed out must be opened by a helper)."""
    out = bench_flows.check(r)
    if r.get("workers", 1) > 1 and sum(r.get("spread_in", [])) != r.get("spread_out"):
        out.append(f"spread_out {r.get('spread_out')} but spread_in {r.get('spread_in')}")
    return out


def run_spread(args, size, run):
    """One size's point, measured on a quiet machine (bench_flows.quietly): one peer on a WAN queue
    stalls whenever either worker's CPU is taken for a scheduler slice (worker 0 waits for the batch
    a preempted helper holds, at the head of its FIFO)."""
    (cmd, records, rc), seen = bench_flows.quietly(args, f"bench_spread: {size}, run {run + 1}", lambda:
        bench_flows.dataplane("bench_spread", lcore_map(max(args.workers)), [
            "--peers", "1", "--sizes", str(size), "--workers", ",".join(str(n) for n in args.workers)], args))
    for r in records:
        r.update(part="spread", run=run, **seen)
        if "error" not in r:
            r["share"] = r.get("spread_out", 0) / (r["rounds"] * r["packets_per_round"])
    return cmd, bench_flows.mark(records, rc, check)


def run_single(args):
    """One worker, both paths, at the projection's size: bench_dataplane as bench_flows runs it."""
    (cmd, records, rc), seen = bench_flows.quietly(args, "bench_spread: one worker", lambda:
        bench_flows.dataplane("bench_spread", ["-l", "0-1"], ["--peers", "1", "--sizes", str(PROJECTION_SIZE)], args))
    for r in records:
        r.update(part="single", **seen)
    return cmd, bench_flows.mark(records, rc, check)


# ---- output ---------------------------------------------------------------------------------

def points(recs):
    """One record per size and number of workers, from the median run at that size (by the speed-up
    of the most workers; of an even count, the upper; among the clean runs if there are any), so
    that its figures go together; with each run's ratio to one worker, its rounds' quartiles and
    whether it was clean, and the outputs out of order over all runs."""
    rows = [r for r in recs if r.get("part") == "spread" and "error" not in r]
    out = []
    for size in sorted({r["size"] for r in rows}, key=bench_flows.size_key):
        at = [r for r in rows if r["size"] == size]
        most = [r for r in at if r["workers"] == max(x["workers"] for x in at)]
        clean = [r for r in most if not r.get("problems")] or most
        run = sorted(clean, key=lambda r: (r["ratio_to_base"], r["pps"]))[len(clean) // 2]["run"]
        for n in sorted({r["workers"] for r in at}):
            runs = sorted((r for r in at if r["workers"] == n), key=lambda r: r["run"])
            p = dict(next(r for r in runs if r["run"] == run))
            p.update(runs=len(runs), out_of_order=sum(r.get("out_of_order", 0) for r in runs),
                     each=[(r["ratio_to_base"], r.get("ratio_to_base_q"), bool(r.get("problems"))) for r in runs])
            out.append(p)
    return out


def table(pts):
    lines = ["| size | workers | Mpps | Gbit/s | ns/packet | vs 1 worker | goal (0.8 x N) | each run: ratio "
             "(rounds' quartiles) | opened by others | out of order |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for p in pts:
        n = p["workers"]
        if n == 1:
            lines.append(f"| {p['size']} | crypto alone, 1 | {p['crypto_pps'] / 1e6:.3f} | | "
                         f"{p['crypto_ns_per_packet']:.1f} | | | | | |")
        goal = "" if n == 1 else ("met" if p["ratio_to_base"] >= GOAL * n else "**not met**")
        each = "" if n == 1 else ", ".join((f"{x:.2f} ({q[0]:.2f}-{q[1]:.2f})" if q else f"{x:.2f}")
                                           + (" (!)" if bad else "") for x, q, bad in p["each"])
        lines.append(f"| {p['size']} | {n}{' (!)' if p.get('problems') else ''} | {p['pps'] / 1e6:.3f} | "
                     f"{p['gbps']:.2f} | {p['ns_per_packet']:.1f} | {p['ratio_to_base']:.3f} | {goal} | {each} | "
                     f"{100 * p['share']:.0f}% | {p['out_of_order']} |")
    return lines + [""]


def own_ns(p):
    """Worker 0's own time a packet with N workers, if it was busy all the round (the round's time a
    packet less the AEAD it did itself at the crypto alone's rate): the distributor's serial stage,
    which bounds one peer's rate however many workers open for it."""
    return p["ns_per_packet"] - (1 - p["share"]) * p["crypto_ns_per_packet"]


def ceiling(pts):
    """One peer's ceiling per size, from the most workers measured."""
    out = []
    for size in sorted({p["size"] for p in pts}, key=bench_flows.size_key):
        one = next((p for p in pts if p["size"] == size and p["workers"] == 1), None)
        most = max((p for p in pts if p["size"] == size), key=lambda p: p["workers"])
        if not one or most["workers"] == 1:
            continue
        ns = own_ns(most)
        out.append(f"- {size}: {ns:.0f} ns a packet on worker 0 with {most['workers']} workers "
                   f"({100 * (1 - most['share']):.0f}% opened by itself) -> at most about {1e3 / ns:.2f} Mpps, "
                   f"{most['gbps'] / most['pps'] * 1e9 / ns:.1f} Gbit/s for one peer")
    if not out:
        return []
    return ["One peer's ceiling, estimated: worker 0 (the peer's WAN queue) keeps the serial stage "
            "however many workers open for it. Its own time a packet is the round's time a packet less "
            "the AEAD it did itself (at the crypto alone's rate), if it was busy throughout (if not, "
            "the ceiling is higher):", ""] + out + [""]


def projection(recs, pts):
    """Cores per direction for TARGET_GBPS of PROJECTION_SIZE B inner packets, from one worker's rate."""
    out = []
    one = next((p for p in pts if p["size"] == PROJECTION_SIZE and p["workers"] == 1), None)
    single = {r["path"]: r for r in recs if r.get("part") == "single" and "error" not in r}
    if one and one["gbps"]:
        out.append(f"- decrypt: one worker {one['gbps']:.2f} Gbit/s (the 1-worker figure above) -> "
                   f"**{TARGET_GBPS / one['gbps']:.1f} cores** at linear scaling: many peers (or "
                   "flows) that RSS spreads over the WAN queues; one peer is bound by the ceiling below.")
    for path in ("decrypt", "encrypt"):
        r = single.get(path)
        if r and r["gbps"]:
            out.append(f"- {path}, one worker as bench_flows runs it (main lcore on a CPU of its own): "
                       f"{r['gbps']:.2f} Gbit/s -> **{TARGET_GBPS / r['gbps']:.1f} cores**"
                       + (" at linear scaling (the encrypt path spreads by the inner side's RSS: one "
                          "peer's traffic needs several inner flows to use them)." if path == "encrypt"
                          else "."))
    if not out:
        return []
    return [f"Projected cores per direction for {TARGET_GBPS} Gbit/s of {PROJECTION_SIZE} B inner packets "
            f"(inner IP bytes; {TARGET_GBPS} Gbit/s is {TARGET_GBPS * 1e9 / 8 / PROJECTION_SIZE / 1e6:.2f} "
            "Mpps), from single-worker rates measured on this machine:", ""] + out + [""]


def write_md(path, doc):
    cfg, recs = doc["config"], doc["records"]
    pts = points(recs)
    first = next((r for r in recs if r.get("part") == "spread" and "error" not in r), {})
    cpus = doc["machine"]["cores"]
    out = bench_flows.md_header(doc, "One peer on many cores: decryption spread over the workers, in memory",
                                "scripts/bench-spread.sh")
    out += [f"Conditions: {cpus} CPUs, so at most {min(cpus, MAX_WORKERS)} workers here "
            f"(workers {', '.join(str(n) for n in cfg['workers'])}); EAL `{' '.join(cfg['lcores'])}`"
            + (": the main lcore (the generator) shares CPU 0 with worker 0 and sleeps while workers "
               "are timed (nanosleep, 20 us doubling to 1 ms between looks, so it takes worker 0's CPU "
               "rarely); worker i has CPU i. One worker runs as worker 0, beside the same sleeping main "
               "lcore." if cfg["lcores"][0] == "--lcores" else ".")
            + f" The goal is a speed-up of at least {GOAL} x N on N workers.", "",
            "meshgate's worker loop (`perf/bench_dataplane --workers`), decrypt path, one peer: every "
            "packet in WAN queue 0's ring (one UDP flow, which RSS cannot spread). Worker 0 classifies, "
            "finds keypairs, hands bursts of at least 8 data messages to a worker that is not busy and "
            "has fewer than 2 waiting (else opens them itself), and runs the serial stage (replay, "
            "inner checks, delivery) on what comes back, in arrival order (`dataplane/spread.c`). "
            "A round ends when the worker that delivered the last packet stamps it. The "
            "configurations take turns round by round; a run's ratio to one worker is the median of "
            "its rounds' own ratios; each size's rows are from its median run by that ratio, among the "
            "runs that other processes left alone (each run's, with the quartiles of its rounds' "
            "ratios, beside it; (!): disturbed, see below). "
            "*Opened by others*: spread.c's counters (spread_out of worker 0, which equals "
            "the helpers' spread_in), over all packets of the timed rounds. *Out of order*: outputs "
            "whose sequence number is below the one before (must be 0). The crypto alone is the "
            "burst AEAD on worker 0's lcore over the same packets. Gbit/s counts inner IP bytes.", ""]
    out += table(pts)
    if first:
        out += [f"AEAD backend: {first.get('aead')}; {first.get('packets_per_round')} packets per round, "
                f"{first.get('rounds')} rounds a point, {cfg['runs']} run{'s' if cfg['runs'] > 1 else ''}; "
                "every output checked.", ""]
    out += projection(recs, pts)
    out += ceiling(pts)
    out += bench_flows.md_others([r for r in recs if r.get("part") == "spread"],
                                 lambda r: f"{r['size']} run {r['run'] + 1}")
    out += bench_flows.md_problems(recs, lambda r: f"{r.get('workers', '?')} workers"
                                   + (f", run {r['run'] + 1}" if "run" in r else ""))
    with open(path, "w") as fh:
        fh.write("\n".join(out))


def plot(out_dir, pts, workers):
    """Mpps and the speed-up against workers, a line per size, with the ideal and the goal."""
    if shutil.which("gnuplot") is None:
        log("bench_spread: gnuplot not found: no plot")
        return
    sizes = sorted({p["size"] for p in pts}, key=bench_flows.size_key)
    dat = os.path.join(out_dir, "bench_spread.dat")
    with open(dat, "w") as fh:
        for size in sizes:
            fh.write(f"# {size}\n")
            for p in (p for p in pts if p["size"] == size):
                fh.write(f"{p['workers']} {p['pps'] / 1e6:.4f} {p['ratio_to_base']:.4f}\n")
            fh.write("\n\n")
    top = max(workers)
    script = ["set terminal pngcairo size 1400,600 noenhanced font ',10'",
              f"set output '{os.path.join(out_dir, 'bench_spread.png')}'",
              "set multiplot layout 1,2 title 'One peer on N workers, decrypt path, in memory "
              "(perf/results/bench_spread.md)'",
              "set style data linespoints; set grid; set key top left",
              f"set xlabel 'workers'; set xrange [0.8:{top + 0.2}]; set xtics 1",
              "set title 'packets/s'; set ylabel 'Mpps'; set yrange [0:*]",
              "plot " + ", ".join(f"'{dat}' index {i} using 1:2 title '{s}' lt {i + 1}"
                                  for i, s in enumerate(sizes)),
              f"set title 'speed-up over one worker (per-round median)'; set ylabel 'x'; set yrange [0:{top + 0.5}]",
              "plot " + ", ".join([f"'{dat}' index {i} using 1:3 title '{s}' lt {i + 1}"
                                   for i, s in enumerate(sizes)]
                                  + ["x title 'linear' dt 2 lc 'gray'",
                                     f"{GOAL} * x title 'goal {GOAL} x N' dt 3 lc 'red'"]),
              "unset multiplot"]
    bench_flows.gnuplot("bench_spread", script)


def workers_list(text):
    out = [int(x) for x in text.split(",")]
    if not out or min(out) < 1 or max(out) > MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"1..{MAX_WORKERS} each")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(bench.wgbench.ROOT, "perf", "results"))
    ap.add_argument("--workers", type=workers_list, default=default_workers(),
                    help="worker counts, the first the base (default 1..CPUs)")
    ap.add_argument("--runs", type=int, default=0, help="runs of each point (default 3, --quick 1)")
    ap.add_argument("--tries", type=int, default=0, help="tries of a point disturbed by other processes (default 5, --quick 1)")
    ap.add_argument("--quiet-wait", type=int, default=0,
                    help="seconds to wait for a quiet machine a try (default 120, --quick 10)")
    ap.add_argument("--rounds", type=int, default=0, help="timed rounds a point (default 63, --quick 5)")
    ap.add_argument("--packets", type=int, default=0, help="packets a round (default 8192, --quick 4096)")
    ap.add_argument("--note", default="", help="a line for the markdown (what was measured, and how)")
    args = ap.parse_args()
    args.tries = args.tries or (1 if args.quick else 5)
    args.quiet_wait = args.quiet_wait or (10 if args.quick else 120)
    if max(args.workers) > (os.cpu_count() or 1):
        ap.error(f"--workers: at most one a CPU ({os.cpu_count()} here)")
    args.runs = args.runs or (1 if args.quick else 3)
    args.rounds = args.rounds or (5 if args.quick else 63)
    args.packets = args.packets or (4096 if args.quick else 8192)
    sizes = QUICK_SIZES if args.quick else SIZES
    t0 = time.time()
    config = bench_flows.run_config(args, workers=args.workers, lcores=lcore_map(max(args.workers)),
                                    peers=1, sizes=sizes, runs=args.runs)
    records = []
    for run in range(args.runs):
        for size in sizes:
            cmd, recs = run_spread(args, size, run)
            records += recs
    cmd1, single = run_single(args)
    config["command"], config["command_single"] = cmd, cmd1
    doc = bench_flows.finish(config, t0, records + single)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "bench_spread.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
    write_md(os.path.join(args.out, "bench_spread.md"), doc)
    plot(args.out, points(doc["records"]), args.workers)
    bad = [r for r in doc["records"] if "error" in r or r.get("problems")]
    log(f"bench_spread: {len(doc['records'])} records ({len(bad)} not clean) in {config['seconds']} s; "
        f"wrote {args.out}/bench_spread.{{json,md,png}}")
    return 1 if bad or not records else 0


if __name__ == "__main__":
    sys.exit(main())
