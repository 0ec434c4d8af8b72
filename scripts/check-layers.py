#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The dependency rules of docs/architecture.md, checked on every #include "..." of the sources:
every arrow points down.

    scripts/check-layers.py [--picture]     exit 0 when every include keeps the rules, 1 otherwise

Folders, top to bottom (a folder may include its own headers and those of folders it lists):
    daemon/     start-up and composition: knows everything below
    ctrl/       the control thread: contract/, host/, lib/ (never dataplane/)
    dataplane/  the worker lcores: contract/, lib/ (never ctrl/ or host/)
    host/       the operating system: lib/
    contract/   what workers and the control thread share: lib/
    lib/        the protocol core: nothing above it (lib/simd/ is part of it)
Inside ctrl/, files are layered too (CTRL_LAYERS): a file includes only the headers of files in
lower layers. --picture prints the arrows between folders and between ctrl/'s files.
tests/, perf/ and tools are not checked: they may take what they test from anywhere.
"""
import os
import re
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOWED = {
    "lib": {"lib"},
    "contract": {"contract", "lib"},
    "host": {"host", "lib"},
    "dataplane": {"dataplane", "contract", "lib"},
    "ctrl": {"ctrl", "contract", "host", "lib"},
    "daemon": {"daemon", "ctrl", "dataplane", "host", "contract", "lib"},
}
# ctrl/, bottom up: the core (context, ctrl_tx, deferred free); neighbours; peers, their keypairs
# and endpoints; handshakes; configuration changes; the front ends; the loop on top.
CTRL_LAYERS = [["core"], ["neigh", "health"], ["peers", "lan", "filter"], ["hs", "icmp"], ["apply", "stats"], ["uapi_server"], ["loop"]]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder(path):
    rel = os.path.relpath(path, ROOT).split(os.sep)
    return rel[0]


def sources():
    for top in ALLOWED:
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if f.endswith((".c", ".h")):
                    yield os.path.join(dirpath, f)


def main():
    picture = "--picture" in sys.argv
    files = list(sources())
    by_name = defaultdict(list)
    for f in files:
        by_name[os.path.basename(f)].append(f)
    layer = {name: i for i, names in enumerate(CTRL_LAYERS) for name in names}
    errors, dir_edges, ctrl_edges = [], defaultdict(set), defaultdict(set)
    for name, where in by_name.items():
        if len(where) > 1:
            errors.append(f"{name} is in more than one place: {', '.join(os.path.relpath(w, ROOT) for w in where)}")
    for f in files:
        src_dir = folder(f)
        stem = os.path.splitext(os.path.basename(f))[0]
        for inc in INCLUDE.findall(open(f, encoding="utf-8").read()):
            target = by_name.get(os.path.basename(inc))
            if not target:
                continue  # a system or generated header
            dst_dir = folder(target[0])
            rel = os.path.relpath(f, ROOT)
            if dst_dir != src_dir:
                dir_edges[(src_dir, dst_dir)].add(rel)
            if dst_dir not in ALLOWED[src_dir]:
                errors.append(f"{rel} includes {os.path.relpath(target[0], ROOT)}: {src_dir}/ may not use {dst_dir}/")
            if src_dir == dst_dir == "ctrl":
                dst = os.path.splitext(os.path.basename(target[0]))[0]
                if dst == stem:
                    continue
                ctrl_edges[stem].add(dst)
                if stem not in layer or dst not in layer:
                    errors.append(f"{rel}: ctrl/{stem if stem not in layer else dst} has no layer (CTRL_LAYERS)")
                elif layer[dst] >= layer[stem]:
                    errors.append(f"{rel} includes ctrl/{dst}: not below it ({stem}: layer {layer[stem]}, "
                                  f"{dst}: layer {layer[dst]})")
    if picture:
        print("folders (from -> to: files):")
        for (a, b), fs in sorted(dir_edges.items()):
            print(f"  {a}/ -> {b}/: {', '.join(sorted(fs))}")
        print("ctrl/ (file -> the ctrl headers it includes):")
        for a in sorted(ctrl_edges):
            print(f"  {a} -> {', '.join(sorted(ctrl_edges[a]))}")
    for e in errors:
        print("layers:", e)
    print(f"layers: {len(files)} files, {sum(len(v) for v in dir_edges.values())} cross-folder includes, "
          f"{len(errors)} broken rules")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
