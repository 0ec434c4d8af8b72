#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What the flow stage costs per packet, in memory: run by scripts/bench-flows.sh (which builds first).

  bench_flows.py [--quick] [--out DIR] [--rounds N] [--packets K] [--note TEXT]

meshgate's worker loop on one core between net_ring ports (perf/bench_dataplane), both paths, one
peer, with the flow stage (dataplane/flowstage.c) in these configurations, side by side in one
process: their rounds take turns with each other and with the burst AEAD alone over the same
packets, so every configuration sees the same moments of the machine:
  off            no flow table (mg_dev.flow_max 0): the data plane as without the stage;
  1k flows       a table of 1000 flows, no policy (everything accepted);
  1k flows, 1k rules   the same with a policy of 1000 rules that match none of the traffic, all of
                 them in the list every UDP flow is scanned against, default accept;
  1M flows, 1k rules   a table of a million flows, the same policy;
  LAN: off, LAN: 1k flows, 1k rules   the inner side gateway mode's LAN port (dataplane/lanport.c)
                 instead of a bare port, the host on its link resolved: Ethernet frames in and out,
                 TTL decremented, the route and neighbour looked up (bench_dataplane --lan).
With flows, the packets are spread over the table's flows, which are all created before the timed
rounds (an untimed pass that sends one packet of each, timed on its own as the cost of a new
flow), so the timed rounds measure established flows looked up in a full table; a new flow's policy
scan shows only in that pass. --quick: sizes 64 and 1420, fewer rounds, no million-flow table.
The run waits for a quiet machine first and is run again (--tries) if other processes took more
than a little CPU while it ran (bench_spread's check; what they took is in the JSON and markdown).

Writes DIR/bench_flows.json (machine, configuration, every record), DIR/bench_flows.md (a table
per path: packets/s, ns/packet, and each configuration against "off" and against the crypto
alone, from the same rounds) and DIR/bench_flows.png (gnuplot). Figures are not asserted; a record
whose outputs failed their checks or came out of order, lost packets, matched a rule, had to create
flows in its timed rounds or ran while other processes took CPU is marked, and the exit status is 1.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import bench
from bench import log

SIZES = [64, 512, 1420, "imix"]
QUICK_SIZES = [64, 1420]
# (label, flows, rules, inner side: 1 gateway mode's LAN port, 0 a bare port); the first is the base
# the others are compared with
CONFIGS = [("off", 0, 0, 0), ("1k flows", 1000, 0, 0), ("1k flows, 1k rules", 1000, 1000, 0),
           ("1M flows, 1k rules", 1000000, 1000, 0),
           ("LAN: off", 0, 0, 1), ("LAN: 1k flows, 1k rules", 1000, 1000, 1)]
QUICK_CONFIGS = CONFIGS[:3] + CONFIGS[4:]
OTHERS_MAX = 0.05  # CPU others may take during a measurement (of one CPU, on average) ...
QUIET_MAX = 0.10   # ... and before it, in 2 s samples (of all CPUs), three in a row


def label(flows, rules, lan):
    for name, f, r, i in CONFIGS:
        if (f, r, i) == (flows, rules, lan):
            return name
    return ("LAN: " if lan else "") + (f"{flows} flows, {rules} rules" if flows else "off")


def uncommitted():
    """Files that differ from the commit (git status), outside perf/ and scripts/: the product code
    measured is the commit's only when this is empty."""
    p = subprocess.run(["git", "-C", bench.wgbench.ROOT, "status", "--porcelain"],
                       capture_output=True, text=True)
    files = [line[3:] for line in p.stdout.splitlines() if len(line) > 3]
    return [f for f in files if not f.startswith(("perf/", "scripts/"))]


def dataplane(name, lcores, options, args):
    """Runs perf/bench_dataplane (EAL lcores, e.g. ["-l", "0-1"]; its own options, then --rounds
    and --packets from args when set), its progress logged as it comes: (command, records, exit
    status). name: the caller, for the log and the EAL file prefix."""
    exe = os.path.join(bench.BUILD, "perf", "bench_dataplane")
    hp = "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
    mem = (["--in-memory"] if os.path.exists(hp) and int(open(hp).read()) >= 128
           else ["--no-huge", "-m", "512"])
    cmd = [exe, *lcores, "--no-pci", *mem, "--file-prefix", f"{name}{os.getpid()}",
           "--log-level", "lib.*:error", "--", *options]
    if args.rounds:
        cmd += ["--rounds", str(args.rounds)]
    if args.packets:
        cmd += ["--packets", str(args.packets)]
    log(f"{name}: " + " ".join(cmd))
    # records on stdout (into a file, so that neither pipe can fill), progress on stderr as it comes
    with tempfile.TemporaryFile("w+") as stdout:
        p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True)
        for line in p.stderr:
            if line.startswith("bench_dataplane"):
                log(line.rstrip())
        rc = p.wait()
        stdout.seek(0)
        out = stdout.read()
    return cmd, [json.loads(line) for line in out.splitlines() if line.startswith("{")], rc


def mark(records, rc, check):
    """The records with their problems (check(r)), and one for the run when it failed (rc)."""
    for r in records:
        problems = check(r)
        if problems:
            r["problems"] = problems
    if rc != 0:
        records.append({"dut": "meshgate-inmem", "path": "decrypt", "size": 0, "flows": 1,
                        "pps": 0, "gbps": 0, "loss": 1.0, "error": f"bench_dataplane exit {rc}"})
    return records


def run_dataplane(args, sizes, configs):
    cmd, records, rc = dataplane("bench_flows", ["-l", "0-1"], [
        "--peers", "1", "--sizes", ",".join(str(s) for s in sizes),
        "--flows", ",".join(str(c[1]) for c in configs),
        "--rules", ",".join(str(c[2]) for c in configs),
        "--lan", ",".join(str(c[3]) for c in configs)], args)
    for r in records:
        r["config"] = label(r.get("flow_table", 0), r.get("rules", 0), int(r.get("inner") == "lan"))
    return cmd, mark(records, rc, check)


# ---- a shared machine ------------------------------------------------------------------------
# Other processes' CPU time moves these figures (and one peer on two workers stalls whenever either
# of their CPUs is taken for a scheduler slice), so a run waits for a quiet moment, the CPU others
# took while it ran is measured (the machine's busy time less this process's and its children's),
# and a disturbed run is done again.

def cpu_busy():
    """Seconds the machine's CPUs have been busy (not idle, not waiting for I/O), and stolen."""
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / hz, (v[7] if len(v) > 7 else 0) / hz


def wait_quiet(limit):
    """Waits (at most limit seconds) until the CPUs have been idle but for QUIET_MAX for three 2 s
    samples in a row; whether they were."""
    calm, t0 = 0, time.time()
    while calm < 3 and time.time() - t0 < limit:
        b0 = cpu_busy()[0]
        time.sleep(2)
        calm = calm + 1 if (cpu_busy()[0] - b0) / 2 < QUIET_MAX * (os.cpu_count() or 1) else 0
    return calm >= 3


def observed(fn):
    """fn()'s result, and what others did meanwhile: CPU seconds (the machine's busy time less this
    process's and its children's) and stolen seconds, a second of the measurement."""
    t0, (b0, s0) = time.time(), cpu_busy()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    out = fn()
    wall, (b1, s1) = time.time() - t0, cpu_busy()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    ours = sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime for a, b in zip(r0, r1))
    return out, {"others_cpu": round(max(0.0, b1 - b0 - ours) / wall, 4), "steal": round((s1 - s0) / wall, 4)}


def quietly(args, what, fn):
    """fn() once the machine is quiet, again (up to args.tries times) while others took more than
    OTHERS_MAX of a CPU meanwhile: its result, and what others did during the try kept."""
    for attempt in range(args.tries):
        quiet = wait_quiet(args.quiet_wait)
        out, seen = observed(fn)
        seen.update(quiet_before=quiet, attempt=attempt, disturbed=seen["others_cpu"] > OTHERS_MAX)
        if seen["disturbed"]:
            log(f"{what}: others took {seen['others_cpu']:.2f} of a CPU meanwhile"
                + (": again" if attempt + 1 < args.tries else ": kept, marked"))
        if not seen["disturbed"]:
            break
    return out, seen


# What makes a record not a clean measurement: a field that must be 0 (or false), and what to say
PROBLEMS = (("disturbed", "others took {others_cpu:.2f} of a CPU while it ran"),
            ("out_of_order", "{out_of_order} outputs out of order"),
            ("failed_rounds", "{failed_rounds} rounds failed (not exactly their packets out in time)"),
            ("bad", "{bad} outputs failed their check"),
            ("loss", "loss {loss:.6f}"),
            ("policy_matched", "{policy_matched} rule matches (none expected)"),
            ("flows_created_timed", "{flows_created_timed} flows created in the timed rounds"),
            ("flows_evicted", "{flows_evicted} flows evicted"))


def check(r):
    """What makes a record not a clean measurement."""
    out = [say.format(**r) for key, say in PROBLEMS if r.get(key)]
    if r.get("flow_table") and r.get("flows_in_use") != r.get("flow_max"):
        out.append(f"{r.get('flows_in_use')} flows in a table of {r.get('flow_max')}")
    return out


# ---- output ---------------------------------------------------------------------------------

def size_key(s):
    return SIZES.index(s) if s in SIZES else len(SIZES)


def path_table(recs, path, names):
    rows = [r for r in recs if r["path"] == path and "error" not in r]
    base = {r["size"]: r for r in rows if r["config"] == names[0]}
    lines = [f"### {path} path", "",
             "| size | inner side | configuration | Mpps | ns/packet | + ns/packet over off | vs off "
             "| vs crypto alone | new flow ns/packet |",
             "|---|---|---|---|---|---|---|---|---|"]
    for size in sorted({r["size"] for r in rows}, key=size_key):
        crypto = base.get(size)
        if crypto:
            lines.append(f"| {size} | | crypto alone | {crypto['crypto_pps'] / 1e6:.2f} | "
                         f"{crypto['crypto_ns_per_packet']:.1f} | | | 1.00 | |")
        for name in names:
            r = next((x for x in rows if x["size"] == size and x["config"] == name), None)
            if r is None:
                continue
            b = base.get(size)
            extra = f"{r['ns_over_base']:+.1f}" if b and r is not b else ""
            vs_off = f"{r['ratio_to_base']:.3f}" if b and r is not b else "1"
            new = f"{r['new_flow_ns_per_packet']:.1f}" if r.get("flow_table") else ""
            mark = " (!)" if r.get("problems") else ""
            inner = "LAN port" if r.get("inner") == "lan" else "bare port"
            lines.append(f"| {size} | {inner} | {name.split(': ')[-1]}{mark} | {r['pps'] / 1e6:.3f} | "
                         f"{r['ns_per_packet']:.1f} | {extra} | {vs_off} | {r['ratio_to_crypto']:.3f} | {new} |")
    return lines + [""]


def md_header(doc, title, script):
    """A result's title and the lines that say where, when and from what it was measured."""
    m, cfg = doc["machine"], doc["config"]
    out = [f"# {title}", "",
           f"{m['cpu_model']}, {m['cores']} cores, kernel {m['kernel']}; meshgate "
           f"{m['versions']['meshgate']}. `{script}{' --quick' if cfg['quick'] else ''}`, "
           f"{cfg['date']}, {cfg['seconds']} s; load average {cfg['loadavg_before']} before, "
           f"{cfg['loadavg_after']} after.", ""]
    if cfg.get("uncommitted"):
        out += [f"Product files that differ from the commit: {', '.join(cfg['uncommitted'])}.", ""]
    if cfg.get("note"):
        out += [cfg["note"], ""]
    return out


def write_md(path, doc):
    cfg, recs = doc["config"], doc["records"]
    names = [c[0] for c in cfg["configurations"]]
    first = next((r for r in recs if "error" not in r), {})
    out = md_header(doc, "The flow stage's cost per packet, in memory", "scripts/bench-flows.sh")
    out += ["meshgate's worker loop on one core between `net_ring` ports (`perf/bench_dataplane`), one "
            "peer, one process: the configurations take turns round by round with each other and "
            "with the burst AEAD alone over the same packets (same backend, same core).", "",
            "- **off**: no flow table (`mg_dev.flow_max` 0).",
            "- **1k flows**: a table of 1000 flows, no policy (`mg_dev.filter` NULL, everything accepted).",
            "- **1k flows, 1k rules**: the same under a policy of 1000 rules matching none of the "
            "traffic (UDP, destination port ranges in 1..1001: all in the list every UDP key is scanned "
            "against), default accept.",
            "- **1M flows, 1k rules**: a table of a million flows, the same policy.",
            "- **LAN port** (inner side): gateway mode's LAN port (`dataplane/lanport.c`) on a `net_ring` "
            "port in place of the bare one (`bench_dataplane --lan`), set up as `daemon/port.c` and "
            "`ctrl/lan.c` would: the gateway 10.77.0.254/24, that prefix on link as the one route, the "
            "host 10.77.0.1 in the neighbour snapshot. The decrypt path ends in Ethernet frames to the "
            "host (route and neighbour looked up, TTL decremented, header prepended), the encrypt path "
            "starts from frames to the gateway's MAC (checked, stripped, TTL decremented); outputs are "
            "checked for both (MACs, TTL 63, IPv4 checksum). *off* and *1k flows, 1k rules* as above.", "",
            "With flows the packets are spread over all of the table's flows (UDP source ports, and "
            "beyond 64512 the source address within the peer's /24), every flow is created by an "
            "untimed pass before the timed rounds, and the timed rounds visit the flows in a "
            "scattered order: established flows looked up in a full table. The policy judges new "
            "flows only, so its rules cost nothing in the timed rounds; *new flow ns/packet* is that "
            "pass timed on its own (every packet a new flow, judged by the policy; for 1k flows the "
            "median of as many passes as rounds).", "",
            "The comparisons are medians of each round's own figure: *+ ns/packet over off*, the "
            "configuration's time a packet less off's in the same round; *vs off*, its packets/s over "
            "off's; *vs crypto alone*, the AEAD alone's time over the configuration's (the AEAD alone "
            "is measured once a round, over the same packets without flows).", ""]
    for p in ("decrypt", "encrypt"):
        out += path_table(recs, p, names)
    if first:
        out += [f"AEAD backend: {first.get('aead')}; {first.get('packets_per_round')} packets per "
                f"round, median of {first.get('rounds')} rounds; every output checked; sizes are "
                "inner IPv4 packet bytes.", ""]
    if cfg.get("rounds_note"):
        out += [cfg["rounds_note"], ""]
    out += md_others(recs, lambda r: str(r["size"]))
    refreshes = sum(r.get("refresh_passes", 0) for r in recs)
    if refreshes:
        out += [f"Untimed passes that kept flows alive in points longer than half the UDP timeout: "
                f"{refreshes} ({', '.join(sorted({str(r['size']) + ' ' + r['path'] for r in recs if r.get('refresh_passes')}))}).", ""]
    out += md_problems(recs, lambda r: r.get("config", "?"))
    with open(path, "w") as fh:
        fh.write("\n".join(out))


def md_others(recs, which):
    """What other processes took while each point (which(r) names it) ran, and whether it was quiet
    before (quietly)."""
    seen = {}
    for r in recs:
        if "others_cpu" in r:
            seen.setdefault(which(r), r)
    if not seen:
        return []
    return ["Other processes while each point ran (CPU of one, stolen by the host; quiet before?): "
            + "; ".join(f"{k}: {r['others_cpu']:.2f}, {r['steal']:.2f}, "
                        f"{'yes' if r['quiet_before'] else 'no'}{', try ' + str(r['attempt'] + 1) if r['attempt'] else ''}"
                        for k, r in seen.items()) + ".", ""]


def md_problems(recs, which):
    """The list of the records that are not clean measurements, and why; which(r) names the
    configuration."""
    bad = [r for r in recs if r.get("problems") or "error" in r]
    if not bad:
        return []
    return (["(!) not a clean measurement:", ""] +
            [f"- {r['path']} {r['size']} {which(r)}: {'; '.join(r.get('problems', [])) or r.get('error')}"
             for r in bad] + [""])


def gnuplot(name, script):
    """Runs gnuplot on the script's lines; a failure is logged."""
    p = subprocess.run(["gnuplot"], input="\n".join(script), text=True, capture_output=True)
    if p.returncode:
        log(f"{name}: gnuplot failed: {p.stderr.strip()}")


def plot(out_dir, recs, names):
    """Mpps against size per configuration (and the crypto alone), and each one's ns/packet over off."""
    if shutil.which("gnuplot") is None:
        log("bench_flows: gnuplot not found: no plot")
        return
    dat = os.path.join(out_dir, "bench_flows.dat")
    series = []  # (path, title, column)
    with open(dat, "w") as fh:
        for p in ("decrypt", "encrypt"):
            rows = [r for r in recs if r["path"] == p and "error" not in r]
            for name in names + ["crypto alone"]:
                pick = [r for r in rows if r["config"] == (names[0] if name == "crypto alone" else name)]
                if not pick:
                    continue
                fh.write(f"# {p} {name}\n")
                for r in sorted(pick, key=lambda r: size_key(r["size"])):
                    pps = r["crypto_pps"] if name == "crypto alone" else r["pps"]
                    ratio = 1.0 if name in ("crypto alone", names[0]) else r["ratio_to_base"]
                    ns = r["crypto_ns_per_packet"] if name == "crypto alone" else r["ns_per_packet"]
                    over = 0.0 if name in ("crypto alone", names[0]) else r["ns_over_base"]
                    fh.write(f"{size_key(r['size'])} {pps / 1e6:.4f} {ratio:.4f} {ns:.2f} {over:.2f}\n")
                fh.write("\n\n")
                series.append((p, name))
    xt = ", ".join(f"'{s}' {i}" for i, s in enumerate(SIZES))
    script = ["set terminal pngcairo size 1400,1000 noenhanced font ',10'",
              f"set output '{os.path.join(out_dir, 'bench_flows.png')}'",
              "set multiplot layout 2,2 title 'The flow stage, one worker core, in memory "
              "(perf/results/bench_flows.md)'",
              "set style data linespoints; set grid",
              f"set xtics ({xt}); set xlabel 'inner packet bytes'; set xrange [-0.3:{len(SIZES) - 0.7}]"]
    for col, unit, logy, key in ((2, "Mpps", True, "top right"),
                                 (5, "ns/packet over off (per-round median)", False, "top left")):
        for p in ("decrypt", "encrypt"):
            # one colour per configuration in every panel
            plots = [f"'{dat}' index {i} using 1:{col} title '{n}' lt {(names + ['crypto alone']).index(n) + 1}"
                     for i, (pp, n) in enumerate(series)
                     if pp == p and not (col == 5 and n in ("crypto alone", names[0]))]
            script += [("set logscale y" if logy else "unset logscale y"),
                       f"set title '{p} path'; set ylabel '{unit}'; set key {key}",
                       ("set yrange [*:*]" if logy else "set yrange [0:*]; set offsets 0, 0, graph 0.3, 0"),
                       "plot " + ", ".join(plots) if plots else "plot 1/0 notitle"]
    script.append("unset multiplot")
    gnuplot("bench_flows", script)


def loadavg():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_config(args, **fields):
    """A result's "config", as far as it is known before the run: args.quick and args.note, the
    fields given, when, which build, which product files differ from the commit, the load."""
    return {"quick": args.quick, **fields, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "build": bench.BUILD, "uncommitted": uncommitted(), "note": args.note,
            "loadavg_before": loadavg()}


def finish(config, t0, records):
    """The result after the run that began at t0: its duration and load in config, the machine."""
    config["seconds"] = round(time.time() - t0, 1)
    config["loadavg_after"] = loadavg()
    return {"machine": bench.machine(), "config": config, "records": records}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(bench.wgbench.ROOT, "perf", "results"))
    ap.add_argument("--rounds", type=int, default=0, help="timed rounds a point (default 63, "
                    "--quick 5; bench_dataplane's own default is 31)")
    ap.add_argument("--packets", type=int, default=0, help="packets a round (default 4096)")
    ap.add_argument("--tries", type=int, default=0,
                    help="tries of a size that other processes disturbed (default 3, --quick 1)")
    ap.add_argument("--quiet-wait", type=int, default=0,
                    help="seconds to wait for a quiet machine a try (default 120, --quick 10)")
    ap.add_argument("--note", default="", help="a line for the markdown (what was measured, and how)")
    args = ap.parse_args()
    args.tries = args.tries or (1 if args.quick else 3)
    args.quiet_wait = args.quiet_wait or (10 if args.quick else 120)
    if not args.rounds:
        args.rounds = 5 if args.quick else 63
    sizes = QUICK_SIZES if args.quick else SIZES
    configs = QUICK_CONFIGS if args.quick else CONFIGS
    t0 = time.time()
    config = run_config(args, peers=1, sizes=sizes, configurations=[list(c) for c in configs])
    config["rounds_note"] = (f"{args.rounds} rounds of {args.packets or 4096} packets a point "
                             "(bench_dataplane's own default is 31 rounds: more here, where the "
                             "differences measured are small and the machine may be shared).")
    records = []
    for size in sizes:  # a process a size, so that a disturbed one is done again alone
        (cmd, recs), seen = quietly(args, f"bench_flows: {size}", lambda: run_dataplane(args, [size], configs))
        records += [dict(r, **seen) for r in recs]
    config["command"] = cmd
    doc = finish(config, t0, records)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "bench_flows.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
    write_md(os.path.join(args.out, "bench_flows.md"), doc)
    plot(args.out, records, [c[0] for c in configs])
    bad = [r for r in records if "error" in r or r.get("problems")]
    log(f"bench_flows: {len(records)} records ({len(bad)} not clean) in {config['seconds']} s; "
        f"wrote {args.out}/bench_flows.{{json,md,png}}")
    return 1 if bad or not records else 0


if __name__ == "__main__":
    sys.exit(main())
