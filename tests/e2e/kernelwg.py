# SPDX-License-Identifier: MIT
"""The kernel's WireGuard as peer B: Debian's kernel under QEMU (scripts/kernel-guest.sh), in
mgtest's topology where wireguard-go would be.

    ns A: meshgate, as mgtest runs it (WAN veth "mgw<id>", TUN 10.77.0.1, fd00:77::1)
    ns B: bridge "mgbr<id>" joining the WAN veth's other end "mgp<id>" and tap "mgt<id>"
    guest (QEMU, its NIC on the tap): eth0 192.168.77.2, fd77::2; wg "wgp<id>" 10.77.0.2, fd00:77::2

The guest owns peer B's addresses, keys, port and allowed IPs, so a KernelTopology is a Topology
whose side B is the guest: b() runs a command in the guest (as mgtest.run does on the host: same
arguments, a CompletedProcess back), and everything built on it (ping_from_b, wg_dump("b"),
mgtest.ping(t.b, ...)) works unchanged. nsb() runs in namespace B itself (the bridge). At the end
the guest's kernel log must hold no oops or warning; $KWG_DMESG_DIR keeps it (WireGuard's debug
messages are on: every handshake, keypair and refused packet).

Guest drives one guest: QEMU by its PID, commands through the agent of tests/guest/init on a
virtio-serial port (a unix socket here), a clean power-off at the end and a kill by PID whenever
that does not come. `python3 tests/e2e/kernelwg.py smoke` boots one and shows it working.
"""
import base64
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import mgtest
from mgtest import WAN6_B, WAN_B, run, wait_for

ROOT = mgtest.ROOT
SCRIPT = os.path.join(ROOT, "scripts", "kernel-guest.sh")
GUEST_MAC = "52:54:00:77:00:02"
GUEST_WAN = "eth0"  # the guest's NIC: what veth "mgp<id>" is to wireguard-go's side
KERNEL_TROUBLE = re.compile(r"Oops|BUG:|WARNING:|Call Trace|general protection|Kernel panic|refcount_t")
BOOT_TIMEOUT = float(os.environ.get("MESHGATE_GUEST_BOOT_TIMEOUT", "120"))


def unavailable():
    """Why the guest cannot run here (None when it can): prepares it first (idempotent; fetches the
    kernel package from the Debian archive the first time) and finds the accelerator."""
    if shutil.which("qemu-system-x86_64") is None:
        return "qemu-system-x86_64 not installed (package qemu-system-x86)"
    p = subprocess.run(["bash", SCRIPT, "prepare"], capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        return f"kernel-guest.sh prepare failed: {p.stderr.strip()[-400:]}"
    p = subprocess.run(["bash", SCRIPT, "probe-accel"], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return f"QEMU cannot boot the guest: {p.stderr.strip()[-400:]}"
    return None


def accelerator():
    """kvm or tcg: what kernel-guest.sh probe-accel found (cached per boot of this host)."""
    return run(["bash", SCRIPT, "probe-accel"], timeout=120).stdout.strip()


def kernel_version():
    paths = dict(line.split("=", 1) for line in run(["bash", SCRIPT, "paths"]).stdout.split())
    return paths["KVER"]


class AgentError(RuntimeError):
    pass


class Guest:
    """One boot of the guest. netns/tap: where its NIC goes (the tap must exist in netns); none: no
    NIC. start() returns once the agent answers; boot_s is how long that took."""

    def __init__(self, workdir, netns=None, tap=None, mac=GUEST_MAC, accel=None, mem=256):
        self.dir, self.netns, self.tap, self.mac, self.mem = workdir, netns, tap, mac, mem
        self.accel = accel or accelerator()
        self.sock_path = os.path.join(workdir, "agent.sock")
        self.console = os.path.join(workdir, "console.log")
        self.proc = self.sock = None
        self.buf = b""
        self.seq = 0
        self.boot_s = None

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout=BOOT_TIMEOUT):
        cmd = ["bash", SCRIPT, "boot", "--agent", self.sock_path, "--console", self.console,
               "--accel", self.accel, "--mac", self.mac, "--mem", str(self.mem)]
        if self.tap:
            cmd += ["--netns", self.netns, "--tap", self.tap]
        t0 = time.monotonic()
        self.qemu_log = open(os.path.join(self.dir, "qemu.log"), "w")
        # kernel-guest.sh boot execs QEMU (through ip netns exec, which execs too): this PID is QEMU's.
        self.proc = subprocess.Popen(cmd, stdout=self.qemu_log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: os.path.exists(self.sock_path) or self.proc.poll() is not None, 30,
                     "QEMU's agent socket")
            self.check_alive()
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(self.sock_path)
            # Ask until the agent answers: requests sent before it opens the port wait in QEMU and
            # are answered later; their replies are skipped by id.
            end = t0 + timeout
            while True:
                try:
                    self.sh("true", timeout=0, wait=2)
                    break
                except TimeoutError:
                    if time.monotonic() > end:
                        raise TimeoutError(f"guest agent not up after {timeout:.0f} s: {self.console_tail()}")
            self.boot_s = time.monotonic() - t0
        except BaseException:
            self.kill()
            raise
        return self

    def check_alive(self):
        if self.proc.poll() is not None:
            raise AgentError(f"QEMU exited {self.proc.returncode}: {self.qemu_tail()} console: {self.console_tail()}")

    def shutdown(self, timeout=20):
        """Power off from inside (the agent never answers that) and wait for QEMU to exit; kill it
        by PID if it does not. Returns True for a clean power-off."""
        if self.proc is None or self.proc.poll() is not None:
            self.kill()
            return self.proc is not None and self.proc.returncode == 0
        try:
            if self.sock is None:
                raise OSError("no agent")
            self.send(0, "sync; poweroff -f")
            self.proc.wait(timeout)
            clean = self.proc.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            clean = False
        self.kill()
        return clean

    def kill(self):
        """Kill QEMU by its PID if it still runs; close what this end holds."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if getattr(self, "qemu_log", None):
            self.qemu_log.close()

    def console_tail(self, n=1500):
        try:
            with open(self.console, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def qemu_tail(self, n=800):
        try:
            with open(os.path.join(self.dir, "qemu.log"), errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    # --- the agent ---------------------------------------------------------------------------
    def send(self, rid, script, timeout=0):
        line = f"{rid} {int(timeout)} {base64.b64encode(script.encode()).decode()}\n"
        self.sock.sendall(line.encode())

    def readline(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply from the guest agent")
            self.sock.settimeout(min(left, 1.0))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                self.check_alive()
                continue
            if not chunk:
                self.check_alive()
                raise AgentError("agent socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace").rstrip("\r")

    def sh(self, script, timeout=30, wait=None):
        """Run a shell script in the guest: (exit status, stdout, stderr). timeout: the guest kills
        it after that many seconds (0: never); wait: how long to wait for the reply (default
        timeout + 15 s)."""
        self.seq += 1
        rid = self.seq
        self.send(rid, script, timeout)
        deadline = time.monotonic() + (wait if wait is not None else timeout + 15)
        parts, cur = {"out": [], "err": []}, None
        while True:
            line = self.readline(deadline)
            f = line.split()
            if len(f) >= 2 and f[0] in ("MG-OUT", "MG-ERR", "MG-END"):
                mine = f[1] == str(rid)
                if f[0] == "MG-END":
                    if mine:
                        out, err = (base64.b64decode("".join(parts[k])).decode(errors="replace")
                                    for k in ("out", "err"))
                        return int(f[2]), out, err
                    cur = None
                else:
                    cur = ("out" if f[0] == "MG-OUT" else "err") if mine else None
            elif cur:
                parts[cur].append(line)

    def run(self, *cmd, check=True, timeout=30, env=None, input=None):
        """mgtest.run's signature, in the guest: a CompletedProcess; raises on failure if check."""
        script = shlex.join(cmd)
        if input is not None:
            script = f"printf %s {base64.b64encode(input.encode()).decode()} | base64 -d | {script}"
        rc, out, err = self.sh(script, timeout=timeout)
        if check and rc != 0:
            raise RuntimeError(f"guest: {script}: exit {rc}: {err.strip()}")
        return subprocess.CompletedProcess(list(cmd), rc, out, err)

    def write(self, path, text, mode=0o600):
        b64 = base64.b64encode(text.encode()).decode()
        self.run("sh", "-c", f"mkdir -p {shlex.quote(os.path.dirname(path))} && umask 077 && "
                 f"printf %s {b64} | base64 -d > {shlex.quote(path)} && chmod {mode:o} {shlex.quote(path)}")


class KernelTopology(mgtest.Topology):
    """mgtest's topology with the kernel's WireGuard in the guest as peer B (see the top of this
    file). Everything Topology takes is taken; the guest is booted by start_wireguard_go."""

    def __init__(self, tag="kw", **kw):
        super().__init__(tag=tag, **kw)
        self.bridge, self.tap = f"mgbr{self.id}", f"mgt{self.id}"
        self.wan_b = GUEST_WAN
        self.guest = None

    def b(self, *cmd, **kw):
        if self.guest is None:
            raise RuntimeError("the guest is not running")
        return self.guest.run(*cmd, **kw)

    def nsb(self, *cmd, **kw):
        return run(["ip", "netns", "exec", self.ns_b, *cmd], **kw)

    def build_net(self):
        run(["ip", "netns", "add", self.ns_a])
        run(["ip", "netns", "add", self.ns_b])
        queues = ["numtxqueues", str(self.workers), "numrxqueues", str(self.workers)]
        run(["ip", "link", "add", self.veth_a, "netns", self.ns_a, *queues, "type", "veth",
             "peer", "name", self.veth_b, "netns", self.ns_b, *queues])
        if self.wan_mtu:
            self.a("ip", "link", "set", self.veth_a, "mtu", str(self.wan_mtu))
            self.nsb("ip", "link", "set", self.veth_b, "mtu", str(self.wan_mtu))
        self.a("ip", "link", "set", "lo", "up")
        self.a("sysctl", "-qw", f"net.ipv6.conf.{self.veth_a}.disable_ipv6=1")
        self.a("ip", "link", "set", self.veth_a, "up")
        # Namespace B only bridges: the guest owns peer B's addresses. No IPv6 of its own on these
        # links, so nothing but the guest speaks on the wire.
        self.nsb("ip", "link", "set", "lo", "up")
        self.nsb("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        self.nsb("ip", "link", "add", self.bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0")
        self.nsb("ip", "tuntap", "add", "dev", self.tap, "mode", "tap", "vnet_hdr")
        for dev in (self.veth_b, self.tap):
            self.nsb("sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1")
            if self.wan_mtu:
                self.nsb("ip", "link", "set", dev, "mtu", str(self.wan_mtu))
            self.nsb("ip", "link", "set", dev, "master", self.bridge, "up")
        self.nsb("ip", "link", "set", self.bridge, "up")

    def start_wireguard_go(self):
        self.boot_guest()
        self.start_wireguard("b", "kernel")

    def boot_guest(self):
        gdir = os.path.join(self.dir, "guest")
        os.makedirs(gdir, exist_ok=True)
        self.guest = Guest(gdir, netns=self.ns_b, tap=self.tap).start()
        g = self.guest
        if self.wan_mtu:
            g.run("ip", "link", "set", GUEST_WAN, "mtu", str(self.wan_mtu))
        g.run("ip", "addr", "add", f"{WAN_B}/24", "dev", GUEST_WAN)
        g.run("ip", "addr", "add", f"{WAN6_B}/64", "dev", GUEST_WAN, "nodad")
        g.run("ip", "link", "set", GUEST_WAN, "up")
        # mgtest's start_wireguard("b", "kernel") hands `wg set` the key file's host path: the
        # same file at the same path in the guest.
        g.write(os.path.join(self.dir, "b.key"), self.key_b + "\n")

    def guest_log(self):
        """The guest's kernel log (WireGuard's debug messages included), '' if it cannot be read."""
        try:
            return self.guest.run("dmesg", check=False, timeout=10).stdout
        except (RuntimeError, TimeoutError, OSError):
            return ""

    def check_clean_exit(self):
        """meshgate's exit check (mgtest), then the guest's: its kernel logged no oops, BUG or
        warning (something meshgate sent could have tripped one) and it powered off cleanly."""
        super().check_clean_exit()
        if self.guest is None:
            return
        log = self.guest_log()
        bad = [line for line in log.splitlines() if KERNEL_TROUBLE.search(line)]
        clean = self.guest.shutdown()
        ok = clean and log != "" and not bad
        what = "the guest's kernel logged no oops, BUG or warning, and powered off cleanly"
        detail = f"powered off cleanly: {clean}; " + (" | ".join(bad[:5]) if bad else
                                                      "dmesg unreadable" if not log else "nothing logged")
        if os.environ.get("KWG_DMESG_DIR"):  # keep the guest's log (WireGuard's debug messages)
            with open(os.path.join(os.environ["KWG_DMESG_DIR"], f"dmesg-{self.id}.txt"), "w") as f:
                f.write(log)
        if mgtest.Checks.current:
            mgtest.Checks.current(ok, what, detail)
        elif not ok:
            raise RuntimeError(f"{what}: no: {detail}")

    def close(self):
        if self.guest is not None:
            self.guest.shutdown()
        super().close()


def smoke():
    """Boot once without a NIC, bring up a wireguard interface, power off: the guest works here."""
    why = unavailable()
    if why:
        print(f"SKIP: {why}")
        return 77
    d = tempfile.mkdtemp(prefix="meshgate-guest-")
    g = Guest(d)
    try:
        g.start()
        print(f"guest: kernel {kernel_version()}, accelerator {g.accel}, boot to agent {g.boot_s:.1f} s")
        t0 = time.monotonic()
        print(g.run("uname", "-r").stdout.strip(), f"(one command {time.monotonic() - t0:.2f} s)")
        g.run("ip", "link", "add", "wg0", "type", "wireguard")
        key = g.run("wg", "genkey").stdout.strip()
        g.write("/tmp/k", key + "\n")
        g.run("wg", "set", "wg0", "private-key", "/tmp/k", "listen-port", "51820")
        print(g.run("wg", "show", "wg0").stdout.strip())
        rc, _, _ = g.sh("exit 3")
        print(f"exit status passed back: {rc}")
    finally:
        clean = g.shutdown()
        print(f"powered off cleanly: {clean}")
        shutil.rmtree(d, ignore_errors=True)
    return 0 if clean else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["smoke"]:
        sys.exit(smoke())
    print(__doc__)
    sys.exit(2)
