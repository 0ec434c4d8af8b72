#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The kernel-WireGuard test guest: Debian's own kernel (WireGuard as a module) under QEMU, so that
# meshgate's interop tests have the reference implementation as a peer on a host whose kernel has no
# WireGuard. Nothing is installed on the host: the kernel package is fetched with apt-get download
# and unpacked with dpkg -x into the cache.
#
#   kernel-guest.sh prepare        fetch the newest bookworm cloud kernel, build the initramfs
#                                  (idempotent: does only what the cache lacks or what changed)
#   kernel-guest.sh paths          print KERNEL=, INITRD=, KVER= of the prepared guest
#   kernel-guest.sh probe-accel    print the accelerator that boots the guest here: kvm or tcg
#   kernel-guest.sh boot [options] run the guest in the foreground (exec: the caller's PID is QEMU's)
#       --netns NS --tap TAP --mac MAC   its NIC (virtio-net) on tap TAP, which must exist in NS
#       --agent PATH                     the agent's unix socket (virtio-serial port "mg.agent")
#       --console FILE                   the guest's console (ttyS0)
#       --accel kvm|tcg|auto             default auto (probe-accel); --mem MiB (256), --smp N (1)
#   kernel-guest.sh smoke          boot once, load wireguard, run wg and ip in the guest, power off
#
# The cache is $MESHGATE_GUEST_CACHE, by default /var/cache/meshgate-guest: one directory per kernel
# package version (vmlinuz, the modules the guest needs, initramfs.cpio.gz, a stamp of what it was
# built from), "current" pointing at the newest, and "accel" (the probe's answer for this boot of the
# host). The guest's /init and agent are tests/guest/init; tests/e2e/kernelwg.py drives it.
#
# Host packages: qemu-system-x86, busybox-static, cpio, kmod (depmod/modprobe on the unpacked tree);
# wireguard-tools, iproute2, iperf3 and iputils-ping are copied into the guest with their libraries.
# MESHGATE_GUEST_ACCEL=kvm|tcg skips the probe; MESHGATE_GUEST_PROBE_TIMEOUT (15 s) is how long
# the probe gives a KVM boot to reach /init.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${MESHGATE_GUEST_CACHE:-/var/cache/meshgate-guest}
INIT=$ROOT/tests/guest/init
META=linux-image-cloud-amd64
# Loaded in this order; modprobe --show-depends adds each one's dependencies before it.
MODULES=(virtio_pci virtio_net virtio_console wireguard)
# Host binaries copied into the guest (with their shared libraries), and where they go there.
BINARIES=(/usr/bin/wg /usr/sbin/ip /usr/bin/iperf3 /usr/bin/ping)
# A boot that reaches /init: seconds under real KVM, under TCG about 6 s here (more on a busy host).
PROBE_TIMEOUT_KVM=${MESHGATE_GUEST_PROBE_TIMEOUT:-15}
PROBE_TIMEOUT_TCG=60

say() { printf 'kernel-guest: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

need() {
  local t missing=()
  for t in "$@"; do command -v "$t" >/dev/null || missing+=("$t"); done
  [ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} (scripts/setup.sh installs them)"
}

# The kernel package the cloud metapackage depends on now, and its version.
resolve_kernel() {
  local pkg ver
  pkg=$(apt-cache depends "$META" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$pkg" ] || return 1
  ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
  [ -n "$ver" ] && [ "$ver" != "(none)" ] || return 1
  printf '%s %s\n' "$pkg" "$ver"
}

download() {  # download PKG VERSION DIR
  local dir=$3
  # apt drops to its _apt user to download; let it write the temporary directory.
  id _apt >/dev/null 2>&1 && chown _apt "$dir"
  (cd "$dir" && apt-get download -q "$1=$2" >/dev/null 2>"$dir/apt.err") ||
    { cat "$dir/apt.err" >&2; return 1; }
}

# Every file the initramfs is built from, one per line: what the stamp hashes.
inputs() {
  local b
  printf '%s\n' /bin/busybox "$INIT" "${BASH_SOURCE[0]}"
  for b in "${BINARIES[@]}"; do
    printf '%s\n' "$b"
    ldd "$b" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'
  done
}

prepare() {
  need apt-get apt-cache dpkg modprobe depmod cpio gzip ldd busybox sha256sum flock
  if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
    die "/bin/busybox is not a static busybox (install busybox-static)"
  fi
  local b
  for b in "${BINARIES[@]}"; do [ -x "$b" ] || die "missing $b (scripts/setup.sh installs it)"; done
  mkdir -p "$CACHE"
  # One prepare at a time (tests running side by side each call it).
  exec 9>"$CACHE/.lock"
  flock 9
  local pkg ver
  if ! read -r pkg ver < <(resolve_kernel); then
    say "no package lists for $META: apt-get update"
    apt-get update -qq
    read -r pkg ver < <(resolve_kernel) || die "$META not found in the package archive"
  fi
  local dir=$CACHE/${pkg}_$ver
  tmp=$(mktemp -d "$CACHE/.tmp.XXXXXX")  # global: the EXIT trap removes it
  trap 'rm -rf "$tmp"' EXIT
  if [ ! -f "$dir/vmlinuz" ] || [ ! -f "$dir/modules.load" ]; then
    say "fetching $pkg $ver"
    if ! download "$pkg" "$ver" "$tmp"; then
      # The security archive keeps only the newest build: stale lists name a removed one.
      say "download failed: apt-get update and again"
      apt-get update -qq
      read -r pkg ver < <(resolve_kernel) || die "$META not found after apt-get update"
      dir=$CACHE/${pkg}_$ver
      download "$pkg" "$ver" "$tmp" || die "apt-get download $pkg=$ver failed"
    fi
    dpkg -x "$tmp"/*.deb "$tmp/x"
    local kver
    kver=$(ls "$tmp/x/lib/modules")
    depmod -b "$tmp/x" "$kver"
    rm -rf "$dir.new" && mkdir -p "$dir.new/modules"
    cp "$tmp/x/boot/vmlinuz-$kver" "$dir.new/vmlinuz"
    cp "$tmp/x/boot/config-$kver" "$dir.new/config"
    echo "$kver" >"$dir.new/kver"
    local m path name
    for m in "${MODULES[@]}"; do
      modprobe -d "$tmp/x" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
    done | awk '!seen[$0]++' | while read -r path; do
      name=$(basename "$path")
      cp "$path" "$dir.new/modules/$name"
      echo "$name" >>"$dir.new/modules.load"
    done
    grep -qx wireguard.ko "$dir.new/modules.load" || die "no wireguard module in $pkg"
    rm -rf "$dir" && mv "$dir.new" "$dir"
    say "kernel $kver unpacked into $dir ($(wc -l <"$dir/modules.load") modules)"
  fi
  local stamp
  stamp=$( (echo "$pkg $ver"; inputs | sort -u | xargs sha256sum) | sha256sum | cut -d' ' -f1)
  if [ -f "$dir/initramfs.cpio.gz" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
    say "up to date: $dir"
  else
    build_initramfs "$dir" "$tmp/root"
    echo "$stamp" >"$dir/stamp"
    say "initramfs built: $dir/initramfs.cpio.gz ($(du -h "$dir/initramfs.cpio.gz" | cut -f1))"
  fi
  ln -sfn "$(basename "$dir")" "$CACHE/current"
  # Older kernels (a newer build came into the archive) are not needed any more.
  local old
  for old in "$CACHE"/linux-image-*; do
    [ "$old" = "$dir" ] || rm -rf "$old"
  done
}

build_initramfs() {  # build_initramfs DIR ROOT
  local dir=$1 r=$2 f
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,lib/modules,proc,sys,dev,tmp,run}
  cp /bin/busybox "$r/bin/busybox"
  cp "$INIT" "$r/init" && chmod 755 "$r/init"
  cp "$dir"/modules/*.ko "$r/lib/modules/"
  cp "$dir/modules.load" "$r/etc/modules.load"
  for f in "${BINARIES[@]}"; do cp -L "$f" "$r$f"; done
  # Libraries where ldd finds them (the loader at its absolute path, as the binaries name it).
  inputs | grep -E '^/(usr/)?lib' | sort -u | while read -r f; do
    mkdir -p "$r$(dirname "$f")"
    cp -L "$f" "$r$f"
  done
  echo "root:x:0:0:root:/:/bin/sh" >"$r/etc/passwd"
  echo "root:x:0:" >"$r/etc/group"
  (cd "$r" && find . -print0 | cpio --null -o -H newc --quiet -R 0:0) | gzip -6 >"$dir/initramfs.cpio.gz.new"
  mv "$dir/initramfs.cpio.gz.new" "$dir/initramfs.cpio.gz"
}

current() {
  local dir=$CACHE/current
  if [ ! -f "$dir/initramfs.cpio.gz" ] || [ ! -f "$dir/vmlinuz" ]; then
    die "no guest prepared in $CACHE: run scripts/kernel-guest.sh prepare"
  fi
  echo "$dir"
}

paths() {
  local dir
  dir=$(current)
  printf 'KERNEL=%s\nINITRD=%s\nKVER=%s\n' "$dir/vmlinuz" "$dir/initramfs.cpio.gz" "$(cat "$dir/kver")"
}

# Does QEMU with this accelerator boot the guest? (A paravirtual /dev/kvm opens fine but hangs in the
# kernel's early boot: only a boot that reaches /init counts.)
boots_with() {
  local accel=$1 dir log rc=0 limit=$PROBE_TIMEOUT_TCG
  [ "$accel" = kvm ] && limit=$PROBE_TIMEOUT_KVM
  dir=$(current)
  log=$(mktemp)
  qemu_machine "$accel" 256 1
  timeout -k 5 "$limit" qemu-system-x86_64 "${MACHINE[@]}" \
    -kernel "$dir/vmlinuz" -initrd "$dir/initramfs.cpio.gz" \
    -append "console=ttyS0 quiet panic=-1 mg.probe" -serial "file:$log" >/dev/null 2>&1 || true
  grep -q MG-GUEST-UP "$log" || rc=1
  rm -f "$log"
  return $rc
}

probe_accel() {
  need qemu-system-x86_64
  case ${MESHGATE_GUEST_ACCEL:-} in kvm | tcg) echo "$MESHGATE_GUEST_ACCEL"; return ;; esac
  local boot_id key cached accel=tcg why
  boot_id=$(cat /proc/sys/kernel/random/boot_id)
  key="$boot_id $(cat "$(current)/kver")"
  cached=$(cat "$CACHE/accel" 2>/dev/null || true)
  if [ "${cached% *}" = "$key" ]; then
    echo "${cached##* }"
    return
  fi
  if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    why="no usable /dev/kvm"
  elif boots_with kvm; then
    accel=kvm why="KVM boots the guest"
  else
    why="/dev/kvm is there but does not boot the guest within ${PROBE_TIMEOUT_KVM}s (paravirtual KVM?)"
  fi
  [ $accel = kvm ] || boots_with tcg || die "QEMU cannot boot the guest, with KVM or TCG"
  say "accelerator: $accel ($why)"
  echo "$key $accel" >"$CACHE/accel"
  echo $accel
}

qemu_machine() {  # qemu_machine ACCEL MEM SMP: MACHINE=(the options every boot shares)
  local cpu=max
  [ "$1" = kvm ] && cpu=host
  MACHINE=(-accel "$1" -cpu "$cpu" -M pc -m "$2" -smp "$3" -nodefaults -no-user-config -display none
    -monitor none -no-reboot -rtc base=utc)
}

boot() {
  local netns="" tap="" mac="52:54:00:77:00:02" agent="" console=/dev/null accel=auto mem=256 smp=1
  while [ $# -gt 0 ]; do
    case $1 in
    --netns) netns=$2 ;; --tap) tap=$2 ;; --mac) mac=$2 ;; --agent) agent=$2 ;;
    --console) console=$2 ;; --accel) accel=$2 ;; --mem) mem=$2 ;; --smp) smp=$2 ;;
    *) die "boot: unknown option $1" ;;
    esac
    shift 2
  done
  [ -n "$agent" ] || die "boot: --agent PATH is required"
  local dir
  dir=$(current)
  [ "$accel" != auto ] || accel=$(probe_accel)
  say "booting $(cat "$dir/kver") with $accel"
  qemu_machine "$accel" "$mem" "$smp"
  local args=("${MACHINE[@]}"
    -kernel "$dir/vmlinuz" -initrd "$dir/initramfs.cpio.gz"
    -append "console=ttyS0 quiet loglevel=4 panic=-1 mitigations=off"
    -serial "file:$console"
    -device virtio-serial-pci -chardev "socket,id=agent,path=$agent,server=on,wait=off"
    -device "virtserialport,chardev=agent,name=mg.agent")
  if [ -n "$tap" ]; then
    args+=(-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no"
      -device "virtio-net-pci,netdev=n0,mac=$mac,romfile=")
  fi
  if [ -n "$netns" ]; then
    exec ip netns exec "$netns" qemu-system-x86_64 "${args[@]}"
  fi
  exec qemu-system-x86_64 "${args[@]}"
}

case ${1:-} in
prepare) prepare ;;
paths) paths ;;
probe-accel) probe_accel ;;
boot) shift; boot "$@" ;;
smoke) exec python3 "$ROOT/tests/e2e/kernelwg.py" smoke ;;
*) sed -n '3,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
