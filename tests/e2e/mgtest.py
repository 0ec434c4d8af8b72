# SPDX-License-Identifier: MIT
"""A meshgate and a wireguard-go peer in two network namespaces joined by a veth pair.

    ns A: meshgate (WAN: net_af_xdp on veth "mgw<id>"; inner TUN "mg<id>": 10.77.0.1, fd00:77::1)
    ns B: wireguard-go "wgp<id>" (10.77.0.2, fd00:77::2) on veth "mgp<id>" (192.168.77.2, fd77::2)

Everything is named with a per-run id so runs can overlap; everything started is stopped by PID and
both namespaces are deleted on exit, also when a test fails. Used by the e2e tests and the demo.
"""
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MESHGATE = os.environ.get("MESHGATE", os.path.join(ROOT, "build", "daemon", "meshgate"))
WAN_A, WAN_B = "192.168.77.1", "192.168.77.2"
WAN6_A, WAN6_B = "fd77::1", "fd77::2"
IN_A, IN_B = "10.77.0.1", "10.77.0.2"
IN6_A, IN6_B = "fd00:77::1", "fd00:77::2"


def run(cmd, check=True, timeout=30, env=None, input=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, input=input)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
    return p


def missing_tools():
    need = ["ip", "wg", "wireguard-go", "ping", "iperf3"]
    return [t for t in need if shutil.which(t) is None] + ([] if os.path.exists(MESHGATE) else [MESHGATE])


class Topology:
    def __init__(self, tag="t", port_a=51820, port_b=51821, extra_config=None, env=None, outer6=False,
                 workers=None, wan_mtu=None, wan_driver=None, peer_config=None, inner_mtu=1420,
                 more_peers=()):
        """workers: meshgate's worker lcores (default $MG_E2E_WORKERS or 1); more than one gives the
        WAN veth as many queues and runs the extra workers on the machine's CPUs in turn.
        wan_mtu: the WAN veth pair's MTU (default the kernel's 1500). wan_driver: "af_xdp" or
        "af_packet" (which carries frames of any size); by default af_xdp for one worker, af_packet
        (its hash fanout spreading flows over the queues) for more: DPDK 22.11's AF_XDP driver
        sizes its queues from the interface's combined channels, which a veth does not have. peer_config: merged into meshgate's one peer.
        inner_mtu: both tunnel interfaces' MTU. more_peers: further peers for meshgate's config."""
        self.id = f"{tag}{os.getpid() % 100000}"
        self.workers = workers or int(os.environ.get("MG_E2E_WORKERS", "1"))
        self.wan_driver = wan_driver or ("af_xdp" if self.workers == 1 else "af_packet")
        self.wan_mtu, self.peer_config = wan_mtu, peer_config or {}
        self.inner_mtu, self.more_peers = inner_mtu, list(more_peers)
        self.ns_a, self.ns_b = f"mga-{self.id}", f"mgb-{self.id}"
        self.veth_a, self.veth_b = f"mgw{self.id}", f"mgp{self.id}"
        self.if_a, self.if_b = f"mg{self.id}", f"wgp{self.id}"
        self.port_a, self.port_b = port_a, port_b
        self.extra_config = extra_config or {}
        # outer6: the tunnel itself runs over IPv6 (endpoints on fd77::/64, neighbour discovery)
        self.ep_a = f"[{WAN6_A}]:{port_a}" if outer6 else f"{WAN_A}:{port_a}"
        self.ep_b = f"[{WAN6_B}]:{port_b}" if outer6 else f"{WAN_B}:{port_b}"
        self.env = env or {}
        self.dir = tempfile.mkdtemp(prefix="meshgate-e2e-")
        self.procs = []
        self.mg = None
        self.mg_exit_expected = False  # the scenario stopped meshgate itself, or waited for it to stop
        self.key_a = run(["wg", "genkey"]).stdout.strip()
        self.key_b = run(["wg", "genkey"]).stdout.strip()
        self.pub_a = run(["wg", "pubkey"], input=self.key_a).stdout.strip()
        self.pub_b = run(["wg", "pubkey"], input=self.key_b).stdout.strip()

    # --- commands in a namespace -------------------------------------------------------------
    def a(self, *cmd, **kw):
        return run(["ip", "netns", "exec", self.ns_a, *cmd], **kw)

    def b(self, *cmd, **kw):
        return run(["ip", "netns", "exec", self.ns_b, *cmd], **kw)

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self):
        try:
            self.build_net()
            self.start_wireguard_go()
            self.start_meshgate()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, *exc):
        try:
            if exc_type is None:
                self.check_clean_exit()
        finally:
            self.close()

    def check_clean_exit(self):
        """Stop meshgate (if this topology runs one) and see it exit 0: it exits 3 when mbufs are
        missing from its pool once everything is freed (a leak), so every scenario checks that. A
        meshgate that is already gone without the scenario having stopped it (or waited for it to
        stop) is a failure too: it crashed or exited, and its leak check never ran."""
        if self.mg is None:
            return
        if self.mg.poll() is not None and self.mg_exit_expected:
            return
        if self.mg.poll() is not None:
            rc, ok = self.mg.returncode, False
            what = "meshgate still running at the end of the scenario (it exited by itself)"
        else:
            rc = self.stop_meshgate()
            ok, what = rc == 0, "meshgate stopped cleanly, every mbuf back in its pool"
        if Checks.current:
            Checks.current(ok, what, f"exit status {rc}:\n{self.log()[-600:]}")
        elif not ok:
            raise RuntimeError(f"{what}: no, exit status {rc}:\n{self.log()}")

    def build_net(self):
        run(["ip", "netns", "add", self.ns_a])
        run(["ip", "netns", "add", self.ns_b])
        queues = ["numtxqueues", str(self.workers), "numrxqueues", str(self.workers)]
        run(["ip", "link", "add", self.veth_a, "netns", self.ns_a, *queues, "type", "veth",
             "peer", "name", self.veth_b, "netns", self.ns_b, *queues])
        if self.wan_mtu:
            self.a("ip", "link", "set", self.veth_a, "mtu", str(self.wan_mtu))
            self.b("ip", "link", "set", self.veth_b, "mtu", str(self.wan_mtu))
        self.a("ip", "link", "set", "lo", "up")
        self.b("ip", "link", "set", "lo", "up")
        # meshgate owns the WAN veth through AF_XDP: the kernel side gets no addresses.
        self.a("sysctl", "-qw", f"net.ipv6.conf.{self.veth_a}.disable_ipv6=1")
        self.a("ip", "link", "set", self.veth_a, "up")
        self.b("ip", "addr", "add", f"{WAN_B}/24", "dev", self.veth_b)
        self.b("ip", "addr", "add", f"{WAN6_B}/64", "dev", self.veth_b, "nodad")
        self.b("ip", "link", "set", self.veth_b, "up")

    def start_wireguard_go(self):
        self.start_wireguard("b", "wireguard-go")

    def start_wireguard(self, side, impl):
        """A WireGuard implementation on one side (impl: "wireguard-go", or "kernel" where the
        kernel has WireGuard), configured exactly as that side's peer of the other: the same keys,
        port, inner addresses and allowed IPs, whoever plays the other side."""
        fn, ns, ifname = (self.a, self.ns_a, self.if_a) if side == "a" else (self.b, self.ns_b, self.if_b)
        key, port, other_pub, other_ep, other_in = (
            (self.key_a, self.port_a, self.pub_b, self.ep_b, ("10.77.0.2/32", "fd00:77::2/128"))
            if side == "a" else
            (self.key_b, self.port_b, self.pub_a, self.ep_a, ("10.77.0.1/32", "fd00:77::1/128")))
        inner4, inner6 = (IN_A, IN6_A) if side == "a" else (IN_B, IN6_B)
        if impl == "kernel":
            fn("ip", "link", "add", ifname, "type", "wireguard")
        else:
            env = dict(os.environ, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD="1")
            log = open(os.path.join(self.dir, f"wireguard-go-{side}.log"), "w")
            self.procs.append(subprocess.Popen(["ip", "netns", "exec", ns, "wireguard-go", "-f", ifname],
                                               stdout=log, stderr=subprocess.STDOUT, env=env))
            sock = f"/var/run/wireguard/{ifname}.sock"
            wait_for(lambda: os.path.exists(sock), 10, f"wireguard-go socket {sock}")
        keyfile = os.path.join(self.dir, f"{side}.key")
        fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (key + "\n").encode())
        os.close(fd)
        fn("wg", "set", ifname, "private-key", keyfile, "listen-port", str(port),
           "peer", other_pub, "endpoint", other_ep, "allowed-ips", ",".join(other_in))
        fn("ip", "addr", "add", f"{inner4}/24", "dev", ifname)
        fn("ip", "addr", "add", f"{inner6}/64", "dev", ifname, "nodad")
        fn("ip", "link", "set", ifname, "mtu", str(self.inner_mtu), "up")

    def wan_device(self):
        if self.wan_driver == "af_packet":
            # Frames of any size: a frame slot that holds the veth's MTU and fits meshgate's buffers
            # (sized from the MTUs in 1 KiB steps), in blocks of whole pages and whole frames.
            frame = max(2048, ((self.wan_mtu or 1500) + 14 + 32 + 1023) // 1024 * 1024)
            block = frame * 4096 // math.gcd(frame, 4096)
            return (f"net_af_packet_{self.id},iface={self.veth_a},qpairs={self.workers},framesz={frame},"
                    f"blocksz={block}")
        return f"net_af_xdp_{self.id},iface={self.veth_a},start_queue=0,queue_count={self.workers}"

    def eal_lcores(self):
        """The control lcore and one per worker, on this machine's CPUs in turn (a 2-CPU machine
        runs two workers by sharing; idle backoff makes that work)."""
        cpus = sorted(os.sched_getaffinity(0))
        return ",".join(f"{i}@{cpus[i % len(cpus)]}" for i in range(self.workers + 1))

    def config(self):
        cfg = {
            "interface": self.if_a,
            "private_key_file": os.path.join(self.dir, "a.key"),
            "listen_port": self.port_a,
            "eal": ["--no-pci", "--in-memory", "--lcores", self.eal_lcores(), "--file-prefix", self.if_a,
                    "--log-level", "lib.*:notice"],
            "wan": {"device": self.wan_device(),
                    "addresses": [f"{WAN_A}/24", f"{WAN6_A}/64"], "gateway": "192.168.77.254"},
            "inner": {"device": "tun", "name": self.if_a, "addresses": [f"{IN_A}/24", f"{IN6_A}/64"],
                      "mtu": self.inner_mtu},
            "idle": "backoff",
            "peers": [{k: v for k, v in dict({"public_key": self.pub_b, "endpoint": self.ep_b,
                                              "allowed_ips": ["10.77.0.2/32", "fd00:77::2/128"],
                                              "persistent_keepalive": 25}, **self.peer_config).items()
                       if v is not None}] + self.more_peers,  # peer_config {"endpoint": None}: none
        }
        cfg.update(self.extra_config)
        return cfg

    def start_meshgate(self):
        keyfile = os.path.join(self.dir, "a.key")
        fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (self.key_a + "\n").encode())
        os.close(fd)
        path = os.path.join(self.dir, "meshgate.json")
        with open(path, "w") as f:
            json.dump(self.config(), f, indent=1)
        self.mg_log = os.path.join(self.dir, "meshgate.log")
        log = open(self.mg_log, "a")
        self.mg_exit_expected = False
        self.mg = subprocess.Popen(["ip", "netns", "exec", self.ns_a, MESHGATE, "--config", path],
                                   stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, **self.env))
        self.procs.append(self.mg)
        sock = f"/var/run/wireguard/{self.if_a}.sock"
        wait_for(lambda: os.path.exists(sock) or self.mg.poll() is not None, 30, "meshgate socket")
        if self.mg.poll() is not None:
            raise RuntimeError(f"meshgate exited {self.mg.returncode}:\n{self.log()}")

    def stop_meshgate(self, sig=signal.SIGTERM, timeout=15):
        """Stop meshgate by its PID; returns its exit status."""
        self.mg_exit_expected = True
        if self.mg is None or self.mg.poll() is not None:
            return self.mg.returncode if self.mg else None
        self.mg.send_signal(sig)
        try:
            return self.mg.wait(timeout)
        except subprocess.TimeoutExpired:
            self.mg.kill()
            self.mg.wait()
            return None

    def wait_meshgate_exit(self, timeout):
        """For a scenario in which meshgate stops by itself: its exit status, None if it did not."""
        self.mg_exit_expected = True
        try:
            return self.mg.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def capture(self, side, seconds, iface=None):
        """Start capturing what crosses a WAN veth (wirecap.py) for some seconds; returns a
        Capture whose records() waits for the end and gives one dict per frame."""
        return Capture(self, side, seconds, iface)

    def log(self):
        try:
            with open(self.mg_log) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for ns in (self.ns_a, self.ns_b):
            run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- observations ------------------------------------------------------------------------
    def ping_from_a(self, addr, count=3, timeout=10):
        return ping(self.a, addr, count, timeout)

    def ping_from_b(self, addr, count=3, timeout=10):
        return ping(self.b, addr, count, timeout)

    def wg_dump(self, side):
        """wg show dump of one side: {peer public key: fields}."""
        fn, ifname = (self.a, self.if_a) if side == "a" else (self.b, self.if_b)
        lines = fn("wg", "show", ifname, "dump").stdout.strip().splitlines()
        peers = {}
        for line in lines[1:]:
            f = line.split("\t")
            peers[f[0]] = {"endpoint": f[2], "allowed_ips": f[3], "latest_handshake": int(f[4]),
                           "rx": int(f[5]), "tx": int(f[6]), "keepalive": f[7]}
        return peers

    def counters(self):
        """meshgate's counters file as {metric{labels}: value}."""
        out = {}
        with open(f"/run/meshgate/{self.if_a}.prom") as f:
            for line in f:
                m = re.match(r"^(\S+) (\d+)$", line.strip())
                if m:
                    out[m.group(1)] = int(m.group(2))
        return out

    def drops(self, reason):
        return self.counters().get(f'meshgate_drops_total{{reason="{reason}"}}', 0)


class Capture:
    """wirecap.py running in one side's namespace on its WAN veth (or iface)."""

    def __init__(self, t, side, seconds, iface=None):
        ns = t.ns_a if side == "a" else t.ns_b
        iface = iface or (t.veth_a if side == "a" else t.veth_b)
        self.out = os.path.join(t.dir, f"cap-{side}-{time.time():.6f}.jsonl")
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable,
                                   os.path.join(os.path.dirname(os.path.abspath(__file__)), "wirecap.py"),
                                   iface, str(seconds), "--out", self.out],
                                  stderr=subprocess.PIPE, text=True)
        t.procs.append(self.p)
        if self.p.stderr.readline().strip() != "ready":
            raise RuntimeError("wirecap did not start")

    def records(self, timeout=60):
        self.p.wait(timeout)
        with open(self.out) as f:
            return [json.loads(line) for line in f]


class Checks:
    """The named checks of an e2e test script: check(cond, what) prints "ok" or "FAIL"; run() runs
    scenarios by name (a scenario that raises is a failed check, with the reason) and returns the
    exit status: 0 all passed, 1 a check failed, 77 a tool is missing (skipped)."""

    current = None  # the script's Checks, which Topology reports its exit check to

    def __init__(self):
        self.passed = self.failed = 0
        Checks.current = self

    def __call__(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print(f"  ok   {what}")
        else:
            self.failed += 1
            print(f"  FAIL {what} {detail}")

    def run(self, scenarios, names, label, missing):
        if missing or os.geteuid() != 0:
            print(f"SKIP: needs root and {', '.join(missing) or 'nothing else'}")
            return 77
        for name in names or scenarios:
            print(f"{name}:")
            try:
                scenarios[name]()
            except Exception as e:
                self(False, f"{name} ran", repr(e))
        print(f"{label}: {self.passed} checks passed, {self.failed} failed")
        return 1 if self.failed or not self.passed else 0


def ping(ns_fn, addr, count, timeout):
    p = ns_fn("ping", "-c", str(count), "-i", "0.2", "-W", "1", "-w", str(timeout), addr, check=False,
              timeout=timeout + 5)
    m = re.search(r"(\d+) received", p.stdout)
    return int(m.group(1)) if m else 0


def wait_for(cond, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")
