#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# meshgate's main job on its embedded default, no NIC needed: meshgate (DPDK, AF_XDP on a veth, TUN
# inside) and wireguard-go in two network namespaces, a handshake, pings over IPv4 and IPv6, a short
# iperf3 through the tunnel, `wg show` on both ends and meshgate's counters; then gateway mode: two
# meshgate gateways routing a LAN each through the mesh, and a wireguard-go road warrior; cleanup.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh
build/daemon/meshgate --self-check
exec python3 tests/e2e/demo.py
