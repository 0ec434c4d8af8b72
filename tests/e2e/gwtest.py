# SPDX-License-Identifier: MIT
"""Two meshgate gateways in gateway mode, each with a LAN of its own behind it, and optionally a
wireguard-go road warrior, all in namespaces this module creates.

    ns lan-a: host 10.1.0.2, fd01::2 --veth-- ns gw-a: meshgate A (LAN port net_af_xdp, 10.1.0.1)
    ns lan-b: host 10.2.0.2, fd02::2 --veth-- ns gw-b: meshgate B (LAN port net_af_xdp, 10.2.0.1)
    ns wan:   a bridge joining gw-a's WAN veth (192.168.88.1), gw-b's (192.168.88.2) and the road
              warrior's (192.168.88.3, wireguard-go, inner 10.99.0.2)

Each gateway's WAN and LAN veths are its own (AF_XDP): the kernel side of them has no addresses.
Gateway B also routes 10.2.5.0/24 through host B (inner.routes), which holds 10.2.5.1 on its
loopback. Everything is named with a per-run id, stopped by PID and deleted on exit.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile

from mgtest import MESHGATE, Checks, run, wait_for

ROUTED_NET, ROUTED_HOST = "10.2.5.0/24", "10.2.5.1"
RW_IN, RW_WAN = "10.99.0.2", "192.168.88.3"


class Gateway:
    def __init__(self, mesh, side, wan_ip, wan6, lan_net, lan6_net, port, workers=1):
        i = mesh.id
        self.mesh, self.side, self.port, self.workers = mesh, side, port, workers
        self.ns, self.lan_ns = f"gw{side}-{i}", f"lan{side}-{i}"
        self.ifname = f"gw{side}{i}"
        self.wan_veth, self.wan_br = f"w{side}{i}", f"x{side}{i}"
        self.lan_veth, self.host_veth = f"l{side}{i}", f"h{side}{i}"
        self.wan_ip, self.wan6 = wan_ip, wan6
        self.lan_ip, self.host_ip = lan_net + ".1", lan_net + ".2"
        self.lan6, self.host6 = lan6_net + "::1", lan6_net + "::2"
        self.lan_prefix, self.lan6_prefix = lan_net + ".0/24", lan6_net + "::/64"
        self.key = run(["wg", "genkey"]).stdout.strip()
        self.pub = run(["wg", "pubkey"], input=self.key).stdout.strip()
        self.proc = None
        self.exit_expected = False

    def host(self, *cmd, **kw):
        return run(["ip", "netns", "exec", self.lan_ns, *cmd], **kw)

    def config(self, peers, routes=()):
        d = self.mesh.dir
        return {
            "interface": self.ifname,
            "private_key_file": os.path.join(d, f"{self.side}.key"),
            "listen_port": self.port,
            "eal": ["--no-pci", "--in-memory", "--lcores", self.mesh.lcores(self.workers), "--file-prefix",
                    self.ifname, "--log-level", "lib.*:notice"],
            "wan": {"device": self.device("w", self.wan_veth),
                    "addresses": [f"{self.wan_ip}/24", f"{self.wan6}/64"]},
            "inner": {"device": self.device("l", self.lan_veth),
                      "addresses": [f"{self.lan_ip}/24", f"{self.lan6}/64"], "mtu": 1420,
                      "routes": list(routes)},
            "idle": "backoff",
            "peers": peers,
        }

    def device(self, tag, veth):
        """net_af_xdp with one worker; with more, net_af_packet with a queue pair each (its fanout
        hash is the kernel's RSS): DPDK 22.11's AF_XDP driver takes one queue on a veth."""
        if self.workers == 1:
            return f"net_af_xdp_{tag}{self.ifname},iface={veth}"
        return f"net_af_packet_{tag}{self.ifname},iface={veth},qpairs={self.workers},framesz=2048,blocksz=4096"

    def start(self, cfg):
        keyfile = os.path.join(self.mesh.dir, f"{self.side}.key")
        fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (self.key + "\n").encode())
        os.close(fd)
        path = self.config_path = os.path.join(self.mesh.dir, f"{self.side}.json")
        with open(path, "w") as f:
            json.dump(cfg, f, indent=1)
        self.log_path = os.path.join(self.mesh.dir, f"meshgate-{self.side}.log")
        self.exit_expected = False
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, MESHGATE, "--config", path],
                                     stdout=open(self.log_path, "a"), stderr=subprocess.STDOUT)
        self.mesh.procs.append(self.proc)
        sock = f"/var/run/wireguard/{self.ifname}.sock"
        wait_for(lambda: os.path.exists(sock) or self.proc.poll() is not None, 30, "meshgate socket")
        if self.proc.poll() is not None:
            raise RuntimeError(f"meshgate {self.side} exited {self.proc.returncode}:\n{self.log()}")

    def reload(self, cfg):
        """A new config file and SIGHUP: meshgate takes its policy block."""
        with open(self.config_path, "w") as f:
            json.dump(cfg, f, indent=1)
        self.proc.send_signal(signal.SIGHUP)

    def stop(self, timeout=15):
        self.exit_expected = True
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def counters(self):
        out = {}
        with open(f"/run/meshgate/{self.ifname}.prom") as f:
            for line in f:
                m = re.match(r"^(\S+) (\d+)$", line.strip())
                if m:
                    out[m.group(1)] = int(m.group(2))
        return out

    def drops(self, reason):
        return self.counters().get(f'meshgate_drops_total{{reason="{reason}"}}', 0)

    def wg(self, *args, **kw):
        return run(["ip", "netns", "exec", self.ns, "wg", *args], **kw)


class Mesh:
    """Gateways A and B (and the road warrior with road_warrior=True), each gateway's peers being the
    other gateway (its LAN prefixes as allowed-IPs) and the road warrior."""

    def __init__(self, tag="g", road_warrior=False, policy_b=None, workers_b=1):
        self.id = f"{tag}{os.getpid() % 100000}"
        self.dir = tempfile.mkdtemp(prefix="meshgate-gw-")
        self.procs = []
        self.wan_ns = f"wan-{self.id}"
        self.a = Gateway(self, "a", "192.168.88.1", "fd88::1", "10.1.0", "fd01", 51820)
        self.b = Gateway(self, "b", "192.168.88.2", "fd88::2", "10.2.0", "fd02", 51821, workers_b)
        self.rw, self.policy_b = road_warrior, policy_b
        self.rw_ns, self.rw_if = f"rw-{self.id}", f"rwg{self.id}"
        self.rw_veth, self.rw_br = f"r{self.id}", f"xr{self.id}"
        if road_warrior:
            self.rw_key = run(["wg", "genkey"]).stdout.strip()
            self.rw_pub = run(["wg", "pubkey"], input=self.rw_key).stdout.strip()

    def lcores(self, workers=1):
        cpus = sorted(os.sched_getaffinity(0))
        return ",".join(f"{i}@{cpus[i % len(cpus)]}" for i in range(workers + 1))

    def __enter__(self):
        try:
            self.build()
            if self.rw:
                self.start_road_warrior()
            self.start()
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

    def peer(self, gw, other):
        """Keepalives from A only: both sides starting a handshake at the same moment (each sends its
        first keepalive at start) cross, and WireGuard retries after REKEY_TIMEOUT (5 s), as Linux."""
        allowed = [other.lan_prefix, other.lan6_prefix] + ([ROUTED_NET] if other.side == "b" else [])
        return {"public_key": other.pub, "endpoint": f"{other.wan_ip}:{other.port}", "allowed_ips": allowed,
                "persistent_keepalive": 25 if gw.side == "a" else 0}

    def configs(self):
        ca = self.a.config([self.peer(self.a, self.b)] + self.rw_peers())
        cb = self.b.config([self.peer(self.b, self.a)], routes=[{"prefix": ROUTED_NET, "via": self.b.host_ip}])
        if self.policy_b:
            cb["policy"] = self.policy_b
        return ca, cb

    def rw_peers(self):
        return [{"public_key": self.rw_pub, "allowed_ips": [f"{RW_IN}/32"]}] if self.rw else []

    def start(self):
        ca, cb = self.configs()
        self.a.start(ca)
        self.b.start(cb)

    def build(self):
        run(["ip", "netns", "add", self.wan_ns])
        ns = lambda n, *c: run(["ip", "netns", "exec", n, *c])
        ns(self.wan_ns, "ip", "link", "add", "br0", "type", "bridge")
        ns(self.wan_ns, "ip", "link", "set", "br0", "up")
        for g in (self.a, self.b):
            run(["ip", "netns", "add", g.ns])
            run(["ip", "netns", "add", g.lan_ns])
            for n in (g.ns, g.lan_ns):
                ns(n, "ip", "link", "set", "lo", "up")
            q = ["numtxqueues", str(g.workers), "numrxqueues", str(g.workers)]
            # WAN: the gateway's veth (its own, AF_XDP) to a bridge port.
            run(["ip", "link", "add", g.wan_veth, "netns", g.ns, *q, "type", "veth", "peer", "name", g.wan_br,
                 "netns", self.wan_ns, *q])
            ns(self.wan_ns, "ip", "link", "set", g.wan_br, "master", "br0", "up")
            # LAN: the gateway's veth (AF_XDP) to the host's.
            run(["ip", "link", "add", g.lan_veth, "netns", g.ns, *q, "type", "veth", "peer", "name", g.host_veth,
                 "netns", g.lan_ns, *q])
            for v in (g.wan_veth, g.lan_veth):
                ns(g.ns, "sysctl", "-qw", f"net.ipv6.conf.{v}.disable_ipv6=1")
                ns(g.ns, "ip", "link", "set", v, "up")
            # The host: its veth is the wire, so it sends whole checksums (a NIC would).
            ns(g.lan_ns, "ethtool", "-K", g.host_veth, "tx", "off")
            ns(g.lan_ns, "ip", "addr", "add", f"{g.host_ip}/24", "dev", g.host_veth)
            ns(g.lan_ns, "ip", "addr", "add", f"{g.host6}/64", "dev", g.host_veth, "nodad")
            ns(g.lan_ns, "ip", "link", "set", g.host_veth, "up")
            ns(g.lan_ns, "ip", "route", "add", "default", "via", g.lan_ip)
            ns(g.lan_ns, "ip", "-6", "route", "add", "default", "via", g.lan6)
        # Host B also holds 10.2.5.1, reached through gateway B's route via host B.
        ns(self.b.lan_ns, "ip", "addr", "add", f"{ROUTED_HOST}/32", "dev", "lo")
        if self.rw:
            run(["ip", "netns", "add", self.rw_ns])
            ns(self.rw_ns, "ip", "link", "set", "lo", "up")
            run(["ip", "link", "add", self.rw_veth, "netns", self.rw_ns, "type", "veth", "peer", "name",
                 self.rw_br, "netns", self.wan_ns])
            ns(self.wan_ns, "ip", "link", "set", self.rw_br, "master", "br0", "up")
            ns(self.rw_ns, "ip", "addr", "add", f"{RW_WAN}/24", "dev", self.rw_veth)
            ns(self.rw_ns, "ip", "link", "set", self.rw_veth, "up")

    def start_road_warrior(self):
        """wireguard-go with gateway A as its one peer, reaching LAN A through it."""
        env = dict(os.environ, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD="1")
        log = open(os.path.join(self.dir, "wireguard-go.log"), "w")
        self.procs.append(subprocess.Popen(["ip", "netns", "exec", self.rw_ns, "wireguard-go", "-f", self.rw_if],
                                           stdout=log, stderr=subprocess.STDOUT, env=env))
        sock = f"/var/run/wireguard/{self.rw_if}.sock"
        wait_for(lambda: os.path.exists(sock), 10, f"wireguard-go socket {sock}")
        keyfile = os.path.join(self.dir, "rw.key")
        fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (self.rw_key + "\n").encode())
        os.close(fd)
        rw = lambda *c: run(["ip", "netns", "exec", self.rw_ns, *c])
        rw("wg", "set", self.rw_if, "private-key", keyfile, "peer", self.a.pub, "endpoint",
           f"{self.a.wan_ip}:{self.a.port}", "allowed-ips", self.a.lan_prefix, "persistent-keepalive", "25")
        rw("ip", "addr", "add", f"{RW_IN}/32", "dev", self.rw_if)
        rw("ip", "link", "set", self.rw_if, "mtu", "1420", "up")
        rw("ip", "route", "add", self.a.lan_prefix, "dev", self.rw_if)

    def road_warrior(self, *cmd, **kw):
        return run(["ip", "netns", "exec", self.rw_ns, *cmd], **kw)

    def check_clean_exit(self):
        for g in (self.a, self.b):
            if g.proc is None or (g.proc.poll() is not None and g.exit_expected):
                continue
            if g.proc.poll() is not None:
                rc, ok, what = g.proc.returncode, False, f"meshgate {g.side} still running (it exited by itself)"
            else:
                rc = g.stop()
                ok, what = rc == 0, f"meshgate {g.side} stopped cleanly, every mbuf back in its pool"
            if Checks.current:
                Checks.current(ok, what, f"exit status {rc}:\n{g.log()[-600:]}")
            elif not ok:
                raise RuntimeError(f"{what}: no, exit status {rc}:\n{g.log()}")

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for n in (self.a.ns, self.a.lan_ns, self.b.ns, self.b.lan_ns, self.wan_ns, self.rw_ns):
            run(["ip", "netns", "del", n], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
