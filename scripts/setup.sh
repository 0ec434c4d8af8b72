#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# meshgate set-up: idempotent, run as root on Debian 12 (bookworm) with only the package archive reachable.
# Installs everything the build, the tests and the benchmarks need, reserves 2 MB hugepages, and says
# what it did. Safe to run again: it skips what is already there.
set -euo pipefail

PKGS=(
  # build
  build-essential meson ninja-build pkg-config python3-pyelftools
  # libraries (Debian bookworm versions are what the code is written against)
  libdpdk-dev dpdk libsodium-dev libipsec-mb-dev libbpf-dev libxdp-dev libcjson-dev libssl-dev libnuma-dev
  # fuzzing, sanitizers, BPF
  clang llvm lld libclang-rt-14-dev
  # end-to-end tests and benchmarks
  wireguard-go wireguard-tools iperf3 iproute2 nftables iputils-ping procps kmod ethtool traceroute
  valgrind python3 gnuplot-nox jq
  # kernel WireGuard in a QEMU guest (scripts/kernel-guest.sh; the guest's kernel is fetched from
  # the archive by the tests, never installed on the host)
  qemu-system-x86 busybox-static cpio
)

log() { printf 'setup: %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: must run as root (installs packages, reserves hugepages)" >&2
  exit 1
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${#missing[@]} package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "installed: ${missing[*]}"
else
  log "all ${#PKGS[@]} packages already installed"
fi

# Hugepages: DPDK tests use --in-memory with hugepages when there are some, --no-huge otherwise.
want=${MESHGATE_HUGEPAGES:-512}
hp=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
if [ -w "$hp" ]; then
  have=$(cat "$hp")
  if [ "$have" -lt "$want" ]; then
    echo "$want" > "$hp" 2>/dev/null || true
    log "hugepages: asked for $want x 2 MB, have $(cat "$hp") (was $have)"
  else
    log "hugepages: $have x 2 MB reserved already"
  fi
else
  log "hugepages: $hp not writable here; DPDK will run with --no-huge"
fi
mountpoint -q /dev/hugepages 2>/dev/null || { mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null && log "mounted /dev/hugepages" || true; }

modprobe tun 2>/dev/null || true
[ -c /dev/net/tun ] || { mkdir -p /dev/net; mknod /dev/net/tun c 10 200 && chmod 0666 /dev/net/tun; log "created /dev/net/tun"; }

log "done"
