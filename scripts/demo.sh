#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# meshgate's main job on its embedded default. Until the DPDK data plane lands (host mode), that is
# the start-up self-check: published known answers, a full WireGuard handshake in memory, and a data
# packet through every AEAD backend this CPU supports.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh
exec build/dataplane/meshgate --self-check
