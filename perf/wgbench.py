# SPDX-License-Identifier: MIT
"""wggen against a device under test (DUT) in two network namespaces joined by a veth pair.

The topology is tests/e2e/mgtest.py's (same names, addresses, keys, clean-up by PID and namespace
deletion); what differs per DUT is who sits where:

    meshgate:     ns A meshgate (AF_XDP on the veth, TUN 10.77.0.1)   ns B wggen as peer B
    wireguard-go: ns A wggen as peer A (192.168.77.1)                 ns B wireguard-go (10.77.0.2)
    generator:    ns A a plain socket where a DUT's port would be     ns B wggen, no handshake

iperf3 runs between two real WireGuard ends (TcpPair): the DUT in ns A, wireguard-go in ns B.

A measurement is one counter (wggen recv or sink, started first, listening on a unix socket) and one
sender (wggen send or send-plain) that asks the counter at the end and prints the JSON record.
Used by perf/bench.py and tests/e2e/test_wggen.py.
"""
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
import mgtest  # noqa: E402
from mgtest import IN_A, IN_B, WAN_A, WAN_B, run, wait_for  # noqa: E402

ROOT = os.path.dirname(HERE)
WGGEN = os.environ.get("WGGEN", os.path.join(ROOT, "build", "perf", "wggen"))
INNER_PORT = 5201
# With --peers N > 1 the generator's peers are 10.77.0.100 + p on the inside (port + p outside).
MULTI_INNER = "10.77.0.100"
WGGEN_MAGIC = 0x4e474757  # perf/wggen.h


class Side:
    """Where wggen plays the peer(s) and where the DUT delivers."""

    def __init__(self, gen_ns, key, local, dut_pub, dut_ep, gen_inner, dut_ns, dut_inner, peers=1):
        self.gen_ns, self.key, self.local = gen_ns, key, local
        self.dut_pub, self.dut_ep = dut_pub, dut_ep
        self.gen_inner = MULTI_INNER if peers > 1 else gen_inner
        self.dut_ns, self.dut_inner, self.peers = dut_ns, dut_inner, peers


def gen_peers(t, key, gen_ip, gen_port):
    """The generator's N peers as the DUT must know them: (public key, endpoint, inner /32)."""
    keyfile = write_key(t, "gen.key", key)
    pubs = run([WGGEN, "keys", "--key", "@" + keyfile, "--peers", str(t.peers)]).stdout.split()
    base = int.from_bytes(bytes(int(x) for x in MULTI_INNER.split(".")), "big")
    return [(pub, f"{gen_ip}:{gen_port + p}", ".".join(str(b) for b in (base + p).to_bytes(4, "big")) + "/32")
            for p, pub in enumerate(pubs)]


class MeshgateDUT(mgtest.Topology):
    """meshgate in ns A; wggen is its configured peer (peer B's key and address)."""
    name = "meshgate"
    impl = "meshgate"

    def __init__(self, idle="poll", tag="g", peers=1, **kw):
        super().__init__(tag=tag, extra_config={"idle": idle}, **kw)
        self.peers = peers

    def start_wireguard_go(self):
        pass  # wggen takes peer B's place

    def config(self):
        cfg = super().config()
        if self.peers > 1:
            cfg["peers"] = [{"public_key": pub, "endpoint": ep, "allowed_ips": [inner]}
                            for pub, ep, inner in gen_peers(self, self.key_b, WAN_B, self.port_b)]
        return cfg

    def side(self):
        return Side(self.ns_b, write_key(self, "gen.key", self.key_b), f"{WAN_B}:{self.port_b}",
                    self.pub_a, f"{WAN_A}:{self.port_a}", IN_B, self.ns_a, IN_A, self.peers)


class WireguardGoDUT(mgtest.Topology):
    """wireguard-go (or the kernel's WireGuard: impl="kernel") in ns B as mgtest sets it up; wggen
    takes meshgate's place as peer A."""

    def __init__(self, tag="w", impl="wireguard-go", peers=1, **kw):
        super().__init__(tag=tag, **kw)
        self.impl = self.name = impl
        self.peers = peers

    def build_net(self):
        super().build_net()
        self.a("ip", "addr", "add", f"{WAN_A}/24", "dev", self.veth_a)

    def start_wireguard_go(self):
        self.start_wireguard("b", self.impl)
        if self.peers > 1:  # the generator's peers (peer 0 is peer A's key: its allowed IPs move)
            args = []
            for pub, ep, inner in gen_peers(self, self.key_a, WAN_A, self.port_a):
                args += ["peer", pub, "endpoint", ep, "allowed-ips", inner]
            self.b("wg", "set", self.if_b, *args)

    def start_meshgate(self):
        pass

    def side(self):
        return Side(self.ns_a, write_key(self, "gen.key", self.key_a), f"{WAN_A}:{self.port_a}",
                    self.pub_b, f"{WAN_B}:{self.port_b}", IN_A, self.ns_b, IN_B, self.peers)


class GeneratorOnly(WireguardGoDUT):
    """No DUT: a plain socket counts the generator's transport messages where the DUT's port
    would be, so the generator's own ceiling on this path is measured in the same run."""

    def __init__(self, tag="n", peers=1, **kw):
        super().__init__(tag=tag, impl="generator-only", peers=peers, **kw)

    def start_wireguard_go(self):
        pass


class TcpPair(mgtest.Topology):
    """iperf3 through a tunnel: the DUT in ns A (meshgate as mgtest runs it; or wireguard-go or the
    kernel's WireGuard in its place, with the same addresses and keys), wireguard-go in ns B as
    its peer whatever the DUT."""

    def __init__(self, impl="meshgate", idle="poll", tag="c", **kw):
        super().__init__(tag=tag, extra_config={"idle": idle}, **kw)
        self.impl = self.name = impl

    def build_net(self):
        super().build_net()
        if self.impl != "meshgate":
            self.a("ip", "addr", "add", f"{WAN_A}/24", "dev", self.veth_a)

    def start_meshgate(self):
        if self.impl == "meshgate":
            super().start_meshgate()
        else:
            self.start_wireguard("a", self.impl)

    def log(self):
        return super().log() if self.impl == "meshgate" else ""


def iperf(t, streams, reverse, seconds, dut=None):
    """iperf3 TCP from ns A to ns B through the tunnel (reverse: B to A). One record."""
    server = subprocess.Popen(netns(t.ns_b, "iperf3", "-s", "-1", "-B", IN_B),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t.procs.append(server)
    wait_for(lambda: run(netns(t.ns_b, "ss", "-ltn"), check=False).stdout.find(f"{IN_B}:5201") >= 0,
             10, "iperf3 server")
    p = run(netns(t.ns_a, "iperf3", "-c", IN_B, "-t", str(seconds), "-P", str(streams), "-J",
                  *(["-R"] if reverse else [])), check=False, timeout=seconds + 30)
    server.wait(15)
    try:
        end = json.loads(p.stdout)["end"]
        bps, retr = end["sum_received"]["bits_per_second"], end["sum_sent"].get("retransmits", 0)
    except (ValueError, KeyError) as e:
        raise RuntimeError(f"iperf3 on {t.name}: {p.stdout[-500:]} {p.stderr[-500:]}") from e
    # Packets/s estimated from goodput: full-size segments (inner MTU 1420, 40 bytes of headers and
    # 12 of TCP timestamps), for comparison with the generator's figures; "pps_estimated" says so.
    return {"dut": dut or t.name, "path": "tcp", "size": 1420, "flows": streams,
            "direction": "dut-decrypts" if reverse else "dut-encrypts",
            "pps": bps / 8 / (1420 - 52), "pps_estimated": True, "gbps": bps / 1e9, "loss": None,
            "retransmits": retr, "seconds": seconds}


def write_key(t, name, key):
    path = os.path.join(t.dir, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, (key + "\n").encode())
    os.close(fd)
    return path


def netns(ns, *cmd):
    return ["ip", "netns", "exec", ns, *cmd]


def peer_args(s):
    return ["--key", "@" + s.key, "--peer-pub", s.dut_pub, "--local", s.local, "--endpoint", s.dut_ep,
            "--peers", str(s.peers)]


def load_args(size, flows, rate, warmup, duration, count):
    a = ["--size", str(size), "--flows", str(flows), "--rate", str(rate), "--warmup", str(warmup),
         "--duration", str(duration)]
    return a + (["--count", str(count)] if count else [])


_seq = [0]


def trigger(ns, dst, run_id):
    """One stamped warm-up datagram from the DUT's inner side: makes a DUT with no session initiate
    (wggen --respond answers); the counter files it under warm-up, not as delivered or foreign."""
    code = ("import socket,struct,sys\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            f"s.sendto(struct.pack('<IIQB',{WGGEN_MAGIC},{run_id},0,1),(sys.argv[1],{INNER_PORT}))\n")
    run(netns(ns, sys.executable, "-c", code, dst), check=False)


def measure(t, path, size, flows=1, rate=0, warmup=1.0, duration=2.0, count=None, dut=None,
            respond=False):
    """One measurement: returns the sender's JSON record (dict); raises with both logs on failure.
    respond (encrypt path): wggen waits for the DUT's initiation instead of initiating."""
    s = t.side()
    _seq[0] += 1
    ctl = os.path.join(t.dir, f"ctl{_seq[0]}.sock")
    run_id = str(random.randint(1, 2**31))
    common = ["--ctl", ctl, "--run-id", run_id]
    gen_only = isinstance(t, GeneratorOnly)
    if path == "decrypt":
        # The DUT opens what wggen seals and delivers it inside, where `recv` counts the stamps.
        # Alone: `recv --wire` in the DUT's place counts the transport messages themselves.
        bind = s.dut_ep if gen_only else f"{s.dut_inner}:{INNER_PORT}"
        cmd = [WGGEN, "recv", "--bind", bind, "--timeout", "120"] + (["--wire"] if gen_only else [])
        counter = netns(s.dut_ns, *cmd, *common)
        sender = netns(s.gen_ns, WGGEN, "send", *peer_args(s), "--inner-src", s.gen_inner,
                       "--inner-dst", s.dut_inner, "--dport", str(INNER_PORT),
                       *(["--no-handshake"] if gen_only else []))
    elif not gen_only:
        # The DUT seals what `send-plain` writes inside; `sink` (its peer) opens and counts.
        counter = netns(s.gen_ns, WGGEN, "sink", *peer_args(s), "--timeout", "120", *common,
                        *(["--respond"] if respond else []))
        sender = netns(s.dut_ns, WGGEN, "send-plain", "--inner-src", s.dut_inner, "--inner-dst",
                       s.gen_inner, "--dport", str(INNER_PORT), "--peers", str(s.peers))
    else:
        # Alone: a `send` in the DUT's place plays a DUT that seals for free; `sink` opens and
        # counts as in a real run (both derive the session from the run id, no handshake). The
        # stand-in batches with UDP GSO, so the kernel's per-datagram work (which a real DUT's
        # datagrams cost the DUT's CPU, where veth delivers them) stays out of the sink's figure:
        # what is measured is the sink's own ceiling. The sender's (send-plain's) is in every
        # record as offered_pps.
        counter = netns(s.gen_ns, WGGEN, "sink", "--no-handshake", "--local", s.local,
                        "--endpoint", s.dut_ep, "--peers", str(s.peers), "--timeout", "120", *common)
        sender = netns(s.dut_ns, WGGEN, "send", "--no-handshake", "--local", s.dut_ep,
                       "--endpoint", s.local, "--peers", str(s.peers), "--endpoint-per-peer",
                       "--inner-src", s.dut_inner,
                       "--inner-dst", s.gen_inner, "--dport", str(INNER_PORT), "--path", "encrypt")
    # `recv --wire` cannot tell warm-up from measured packets: no warm-up for it.
    lw = load_args(size, flows, rate, 0 if gen_only and path == "decrypt" else warmup, duration, count)
    sender += lw + common + ["--dut", dut or t.name]
    clog = open(os.path.join(t.dir, f"counter{_seq[0]}.log"), "w+")
    cp = subprocess.Popen(counter, stdout=clog, stderr=subprocess.STDOUT)
    t.procs.append(cp)
    try:
        def ready():
            if respond and not os.path.exists(ctl):
                trigger(s.dut_ns, s.gen_inner, run_id)
            return os.path.exists(ctl) or cp.poll() is not None
        wait_for(ready, 15, f"counter socket {ctl}")
        if cp.poll() is not None:
            raise RuntimeError("counter exited")
        p = run(sender, check=False, timeout=warmup + duration + 60)
        cp.wait(15)
        if p.returncode != 0:
            raise RuntimeError(f"sender exit {p.returncode}: {p.stderr.strip()}")
        return json.loads(p.stdout.strip().splitlines()[-1])
    except BaseException as e:
        if cp.poll() is None:
            cp.terminate()
            cp.wait(10)
        clog.seek(0)
        raise RuntimeError(f"{path} {size} on {t.name}: {e}\ncounter: {clog.read()[-2000:]}"
                           f"\nDUT log: {t.log()[-2000:] if hasattr(t, 'mg_log') else ''}") from e
