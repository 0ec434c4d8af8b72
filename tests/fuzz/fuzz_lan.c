/* SPDX-License-Identifier: MIT */
/*
 * Gateway mode's LAN port, the input from hosts on a LAN (untrusted): the real mg_inner_lan
 * (dataplane/lanport.c) on a net_ring port whose rings this harness holds, and the control
 * thread's half behind it (ctrl/lan.c, ctrl/neigh.c on the LAN, ctrl/icmp.c), in a DPDK process
 * without hugepages or devices, set up as tests/test_lan.c sets up: device_create,
 * device_create_lan, lan_init with a config, RCU thread 0 online, this thread playing the worker
 * (rx, tx, lan_tx_ctrl, its quiescent states, its clock) and the control thread (lan_turn,
 * icmp_turn, core_reclaim, ctrl.now_ns) in turn. So one input runs the LAN classifier (Ethernet,
 * ARP, IPv4 with its header checksum, IPv6, ND), the router's duties (TTL, MSS clamp, what is not
 * forwarded), the hand-offs to the control thread (ARP/ND, echo requests, ICMP errors), ARP and ND
 * answered and learned, the published neighbour snapshot, and on the way back from the mesh the
 * LAN routes, packets waiting for a neighbour, their expiry and the host unreachable it sends.
 *
 * The world (test_lan's): we are 02:00:00:00:01:01 at 10.1.0.1/24, fd01::1/64 and
 * 192.168.77.1/30 (a second IPv4 prefix with a broadcast of its own); inner.routes 10.1.8.0/22 via
 * 10.1.0.254 and fd08::/64 via fd01::fe; LAN hosts H 02:00:00:00:02:02 (10.1.0.2, fd01::2) and
 * the router R 02:00:00:00:02:fe (10.1.0.254, fd01::fe). The tunnel's MTU is 1420. The clock
 * starts at FZ_T0 for every input.
 *
 * Input:
 *   u8 knobs   bits 0-1: neighbours resolved at the start: none / H and R / H and R, confirmed
 *                        60 s ago (stale: used ones are probed) / R only
 *              bit 2:    the mesh's burst first (then the control thread, then the LAN's): an
 *                        answer in the LAN's burst meets packets waiting for it
 *              bit 3:    the LAN link is down (lan->down)
 *              bit 4:    small rings: lan->to_neigh, lan->unresolved and lan->tx have room for 1
 *              bit 5:    the wire (the port's TX ring) has room for 2 frames at any time
 *              bits 6-7: the control thread's clock step between its turns: 1 ms, 300 ms, 1 s, 3.5 s
 *   then records, each:
 *   u16 little-endian: bits 0-10 the length (cut to what is left of the input);
 *                      bit 15: a packet from the mesh (the tx burst), else a frame from the LAN;
 *                      bit 14: the harness writes the IPv4 header checksum first (at the IP
 *                              header: byte 14 of a frame, 0 of a mesh packet), when it fits;
 *                      bit 13 (LAN frames): the NIC checked the IPv4 header checksum (the mbuf
 *                              says GOOD or BAD, truthfully; else nothing);
 *                      bit 12 (LAN frames): chained as two segments (the first half, the rest);
 *                      bit 11 unused
 *   that many bytes:   the frame from the destination MAC on, or the inner IP packet.
 * Up to MG_BURST (32) of each kind; more are ignored. A mesh packet stands for what the decrypt
 * path delivers: one that is not a plausible IP packet (packet_inner_len) is left out, as the
 * decrypt path drops it, and one is cut to its IP length, as the decrypt path cuts it.
 *
 * One input: the LAN's burst through rx (one call), the control thread's turns (two, one clock
 * step apart), the mesh's burst through tx, two more turns (or the bursts the other way round),
 * then turns a second apart until everything has drained: waiting packets expire after 3 s (ICMP
 * host unreachable), and every ring, the waiting queue and the deferred frees are empty.
 * Each LAN frame and mesh packet sits in its mbuf with everything around it poisoned for ASan
 * (but for the 14 bytes before a mesh packet, where the Ethernet header goes), so a read past its
 * end is a finding even inside the mbuf; what the control thread reads from the rings is held and
 * poisoned around in the same way while it reads.
 *
 * Checked after each input:
 *   - rx: every frame has exactly one fate: forwarded (returned by rx), to the control thread
 *     (lan->to_neigh, counted to_ctrl), an echo request on mg_dev.icmp_req, or a LAN drop reason;
 *     no other reason is counted (so an echo request the worker's ICMP rate limit refuses, which
 *     has none of these, is a finding). A forwarded packet is the IP packet of its frame, sent to our
 *     MAC, cut to its IP length, its TTL / hop limit one less (it was at least 2), its IPv4 header
 *     checksum verifying (RFC 1071, here), the MSS clamp the only other change, to a destination
 *     a router forwards (not ours, multicast, broadcast, link-local). What went to the neighbour
 *     ring is ARP or ND; an echo request is one to our address, Ethernet header off; a time
 *     exceeded request is the packet as it came.
 *   - tx: likewise every packet: out on the wire, waiting (lan->unresolved), an echo request, or a
 *     drop reason; what went out is counted as sent.
 *   - the wire (the LAN port's TX ring, from tx and from lan_tx_ctrl): every frame is from our
 *     MAC: ARP from our address, ND from ours with our link-layer address (hop limit 255, its
 *     checksum), an echo reply or ICMP error from our LAN address (checksums verify, to the
 *     source of what it answers), or a packet from the mesh forwarded once, changed only by the
 *     router's duties (its IPv4 header checksum valid if it was: nothing on the way checks a mesh
 *     packet's), to the MAC the neighbour table has for its next hop.
 *   - into the mesh (mg_dev.to_mesh): echo replies and ICMP errors from our LAN address, likewise;
 *     nothing goes to the TUN's ring (mg_dev.to_inner).
 *   - at the end, the mbuf pool is back where it started (a leak aborts).
 * Neighbours, the waiting queue's clock, the rate limiters and counters are reset per input, and
 * the clock starts at the same time, so a finding reproduces.
 * FUZZ_LAN_TRACE=1 build-fuzz/tests/fuzz/fuzz_lan FILE... prints what each input did: how the
 * seeds in corpus/lan/ (make_seeds.c) were checked to do what they are named.
 */
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "config.h"
#include "core.h"
#include "counters.h"
#include "device.h"
#include "device_setup.h"
#include "fuzz.h"
#include "icmp.h"
#include "inner.h"
#include "packet.h"
#include "router.h"
#include "worker.h"

/*
 * ctrl/neigh.c and ctrl/lan.c, included rather than linked so that their state (the LAN's
 * neighbour table, the waiting queue's next check, the unreachables' rate limit) can be reset per
 * input and the snapshot republished. Both have a static alen(). ctrl/icmp.c and ctrl/core.c
 * (the context, core_lan_tx, deferred frees) are linked as they are.
 */
#define alen neigh_alen
#include "neigh.c"
#undef alen
#include "lan.c"

#define FZ_T0 (1000ULL * MG_NS_PER_S)
#define FZ_MS(x) ((uint64_t)(x) * 1000000ULL)
#define FZ_INNER_MTU 1420
#define FZ_PORT_LAN 0x7600u  /* mbuf->port of LAN frame i: FZ_PORT_LAN + i (an allocation resets it) */
#define FZ_PORT_MESH 0x7700u /* and of mesh packet j */

#define LAN_KNOB_NEIGH_MASK 3u
#define LAN_KNOB_NEIGH_FRESH 1u
#define LAN_KNOB_NEIGH_STALE 2u
#define LAN_KNOB_NEIGH_ROUTER 3u
#define LAN_KNOB_MESH_FIRST 4u
#define LAN_KNOB_DOWN 8u
#define LAN_KNOB_RINGS_SMALL 16u
#define LAN_KNOB_WIRE_FULL 32u
#define LAN_KNOB_STEP_SHIFT 6
#define LAN_REC_LEN_MASK 0x7ffu
#define LAN_REC_CHAINED 0x1000u
#define LAN_REC_NIC_CSUM 0x2000u
#define LAN_REC_FIX_CSUM 0x4000u
#define LAN_REC_MESH 0x8000u

static const uint64_t steps_ns[4] = { FZ_MS(1), FZ_MS(300), FZ_MS(1000), FZ_MS(3500) };

struct fz_host {
	struct rte_ether_addr mac;
	uint8_t a4[4];
	uint8_t a6[16];
};

static const struct rte_ether_addr our_mac = { { 0x02, 0, 0, 0, 0x01, 0x01 } };
static const struct fz_host host_h = { { { 0x02, 0, 0, 0, 0x02, 0x02 } }, { 10, 1, 0, 2 }, { 0xfd, 0x01, [15] = 2 } };
static const struct fz_host host_r = { { { 0x02, 0, 0, 0, 0x02, 0xfe } }, { 10, 1, 0, 254 }, { 0xfd, 0x01, [15] = 0xfe } };
static const struct {
	int family;
	uint8_t addr[16];
	uint8_t prefix_len;
} our_addrs[] = {
	{ AF_INET, { 10, 1, 0, 1 }, 24 },
	{ AF_INET6, { 0xfd, 0x01, [15] = 1 }, 64 },
	{ AF_INET, { 192, 168, 77, 1 }, 30 },
};
#define N_OUR_ADDRS (sizeof(our_addrs) / sizeof(our_addrs[0]))

static struct mg_worker *const W = &mg_workers[0];
static struct config_cidr cfg_addrs[N_OUR_ADDRS];
static struct config_route cfg_routes[2];
static char cfg_device[] = "net_ring_fz_lan";
static struct mg_config cfg;
static struct rte_ring *lan_in, *lan_out; /* what the LAN sends us; what we put on the LAN */
static struct rte_ring *ring_neigh, *ring_unresolved, *ring_tx, *small_neigh, *small_unresolved, *small_tx;
static unsigned int pool_baseline;
static bool trace;
static char wire_marker; /* fills the wire's ring (LAN_KNOB_WIRE_FULL); never an mbuf */
static bool wire_full;

/* The bursts as built. */
static uint8_t lan_bytes[MG_BURST][LAN_REC_LEN_MASK + 1], mesh_bytes[MG_BURST][LAN_REC_LEN_MASK + 1];
static uint16_t lan_len[MG_BURST], mesh_len[MG_BURST];
static bool lan_chained[MG_BURST];
static struct rte_mbuf *lan_mbuf[MG_BURST];
static uint16_t n_lan, n_mesh;
static unsigned int mesh_out[MG_BURST]; /* times mesh packet j went out on the wire */

/* What happened, for the trace. */
static struct {
	unsigned int forwarded, neigh, echo_lan, echo_mesh, sent, waiting, wire_arp, wire_nd, wire_icmp, wire_echo,
		wire_fwd, mesh_icmp, mesh_echo, mesh_to_us, turns;
} seen;

/* ---- checksums, computed here (RFC 1071), not with the product's or DPDK's ---- */

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static bool ip4_sum_ok(const uint8_t *ip)
{
	return fold(sum16(0, ip, (ip[0] & 0xfu) * 4u)) == 0xffff;
}

static void ip4_sum_fix(uint8_t *ip)
{
	ip[10] = ip[11] = 0;
	uint16_t s = (uint16_t)~fold(sum16(0, ip, (ip[0] & 0xfu) * 4u));

	ip[10] = (uint8_t)(s >> 8);
	ip[11] = (uint8_t)s;
}

/* The ICMP (v4: over the message) or ICMPv6 (with the pseudo-header) checksum of ip[0..len). */
static bool icmp_sum_ok(const uint8_t *ip, size_t len)
{
	if ((ip[0] >> 4) == 4) {
		size_t hl = (ip[0] & 0xfu) * 4u;

		return fold(sum16(0, ip + hl, len - hl)) == 0xffff;
	}
	return fold(sum16(0, ip + 8, 32) + 58 + (uint32_t)(len - 40) + sum16(0, ip + 40, len - 40)) == 0xffff;
}

/* ---- the world ---- */

static size_t alen_of(int family)
{
	return family == AF_INET ? 4 : 16;
}

static bool is_ours(int family, const uint8_t *a)
{
	for (unsigned int i = 0; i < N_OUR_ADDRS; i++)
		if (our_addrs[i].family == family && memcmp(our_addrs[i].addr, a, alen_of(family)) == 0)
			return true;
	return false;
}

/* Our first address of a family: what ARP, ND (but DAD) and ICMP come from. */
static const uint8_t *our_first(int family)
{
	for (unsigned int i = 0; i < N_OUR_ADDRS; i++)
		if (our_addrs[i].family == family)
			return our_addrs[i].addr;
	return NULL;
}

/* A destination a router forwards (docs/architecture.md, "Gateway mode"): not one of ours, not
 * multicast, broadcast (limited or a LAN prefix's), this network, loopback or link-local; from a
 * source that is not link-local. */
static bool routable(int family, const uint8_t *ip)
{
	if (family == AF_INET) {
		const uint8_t *s = ip + 12, *d = ip + 16;
		static const uint8_t bcast0[4] = { 10, 1, 0, 255 }, bcast2[4] = { 192, 168, 77, 3 };

		return !is_ours(AF_INET, d) && d[0] < 224 && d[0] != 0 && d[0] != 127 && !(d[0] == 169 && d[1] == 254) &&
		       !(s[0] == 169 && s[1] == 254) && memcmp(d, bcast0, 4) != 0 && memcmp(d, bcast2, 4) != 0;
	}
	return !is_ours(AF_INET6, ip + 24) && ip[24] != 0xff && !(ip[24] == 0xfe && (ip[25] & 0xc0) == 0x80) &&
	       !(ip[8] == 0xfe && (ip[9] & 0xc0) == 0x80);
}

/* ---- the process ---- */

static void eal_init(void)
{
	static char lcores[8192];
	char *argv[] = { "fuzz_lan", "--no-huge", "--no-pci", "--no-shconf", "--no-telemetry",
			 "-m", "256", lcores, "--log-level=*:error", NULL };
	size_t n = (size_t)snprintf(lcores, sizeof(lcores), "--lcores=0@(");
	cpu_set_t set;

	/* Lcore 0 on every CPU this process may run on, as it was (fuzz_wan.c says why). */
	FUZZ_CHECK(sched_getaffinity(0, sizeof(set), &set) == 0);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set) && n < sizeof(lcores))
			n += (size_t)snprintf(lcores + n, sizeof(lcores) - n, "%d,", cpu);
	FUZZ_CHECK(n < sizeof(lcores) && lcores[n - 1] == ',');
	lcores[n - 1] = ')';
	FUZZ_CHECK(rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) >= 0);
	FUZZ_CHECK(rte_lcore_id() == 0);
}

static struct rte_ring *make_ring(const char *name, unsigned int size, unsigned int flags)
{
	struct rte_ring *r = rte_ring_create(name, size, SOCKET_ID_ANY, flags);

	FUZZ_CHECK(r != NULL);
	return r;
}

static uint16_t ring_port(void)
{
	struct rte_eth_conf conf = { 0 };
	int port = rte_eth_from_rings("fz_lan", &lan_in, 1, &lan_out, 1, rte_socket_id());

	FUZZ_CHECK(port >= 0);
	FUZZ_CHECK(rte_eth_dev_configure((uint16_t)port, 1, 1, &conf) == 0 &&
		   rte_eth_rx_queue_setup((uint16_t)port, 0, 1024, rte_socket_id(), NULL, mg_dev.pool) == 0 &&
		   rte_eth_tx_queue_setup((uint16_t)port, 0, 1024, rte_socket_id(), NULL) == 0 &&
		   rte_eth_dev_start((uint16_t)port) == 0);
	return (uint16_t)port;
}

static void set_time(uint64_t t)
{
	ctrl.now_ns = t;
	W->now_ns = t;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mg_lan *l;

	(void)argc;
	(void)argv;
	eal_init();
	FUZZ_CHECK(device_create(1, 0, FZ_INNER_MTU, 1500) == 0);
	FUZZ_CHECK(device_create_lan() == 0);
	l = mg_dev.lan;
	lan_in = make_ring("fz_lan_in", 64, RING_F_SP_ENQ | RING_F_SC_DEQ);
	lan_out = make_ring("fz_lan_out", 128, RING_F_SP_ENQ | RING_F_SC_DEQ);
	l->port = ring_port();
	l->mac = our_mac;
	for (unsigned int i = 0; i < N_OUR_ADDRS; i++) {
		l->addrs[i] = (struct mg_wan_addr){ .family = our_addrs[i].family, .prefix_len = our_addrs[i].prefix_len };
		memcpy(l->addrs[i].addr, our_addrs[i].addr, 16);
		cfg_addrs[i] = (struct config_cidr){ .family = our_addrs[i].family, .prefix_len = our_addrs[i].prefix_len };
		memcpy(cfg_addrs[i].addr, our_addrs[i].addr, 16);
	}
	l->n_addrs = N_OUR_ADDRS;
	mg_dev.inner = &mg_inner_lan;
	cfg_routes[0] = (struct config_route){ .family = AF_INET, .addr = { 10, 1, 8, 0 }, .prefix_len = 22,
					       .via_family = AF_INET };
	memcpy(cfg_routes[0].via, host_r.a4, 4);
	cfg_routes[1] = (struct config_route){ .family = AF_INET6, .addr = { 0xfd, 0x08 }, .prefix_len = 64,
					       .via_family = AF_INET6 };
	memcpy(cfg_routes[1].via, host_r.a6, 16);
	snprintf(cfg.interface, sizeof(cfg.interface), "fzlan");
	cfg.inner.device = cfg_device;
	cfg.inner.addresses = cfg_addrs;
	cfg.inner.n_addresses = N_OUR_ADDRS;
	cfg.inner.routes = cfg_routes;
	cfg.inner.n_routes = 2;
	cfg.inner.mtu = FZ_INNER_MTU;
	ctrl.cfg = &cfg;
	set_time(FZ_T0);
	FUZZ_CHECK(lan_init(&cfg) == 0);
	FUZZ_CHECK(worker_init(W, 0, AEAD_BACKEND_AUTO) == 0);
	W->lcore = rte_lcore_id();
	mg_dev.worker_lcore[0] = W->lcore;
	/* This thread is worker 0 for RCU as well: deferred frees wait for its quiescent states. */
	FUZZ_CHECK(rte_rcu_qsbr_thread_register(mg_dev.rcu, W->id) == 0);
	rte_rcu_qsbr_thread_online(mg_dev.rcu, W->id);
	ring_neigh = l->to_neigh;
	ring_unresolved = l->unresolved;
	ring_tx = l->tx;
	small_neigh = make_ring("fz_small_neigh", 2, RING_F_SC_DEQ);
	small_unresolved = make_ring("fz_small_unres", 2, RING_F_SC_DEQ);
	small_tx = make_ring("fz_small_tx", 2, RING_F_SP_ENQ);
	pool_baseline = rte_mempool_in_use_count(mg_dev.pool);
	trace = getenv("FUZZ_LAN_TRACE") != NULL;
	return 0;
}

/* ---- mbufs: each segment alone in its buffer, surroundings poisoned ---- */

struct seg_list {
	struct {
		void *addr;
		size_t len;
	} s[2 * MG_BURST];
	unsigned int n;
};

static struct seg_list lan_segs, mesh_segs; /* each burst's, unpoisoned once it was received */

/* A segment with p[0..len); poisoned around but for keep bytes before it (headers go there). */
static struct rte_mbuf *segment(struct seg_list *l, const uint8_t *p, uint16_t len, uint16_t keep)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mg_dev.pool);
	uint8_t *d;

	FUZZ_CHECK(m != NULL);
	d = (uint8_t *)rte_pktmbuf_append(m, len);
	FUZZ_CHECK(d != NULL);
	memcpy(d, p, len);
	l->s[l->n].addr = m->buf_addr;
	l->s[l->n++].len = m->buf_len;
	ASAN_POISON_MEMORY_REGION(m->buf_addr, m->data_off - keep);
	ASAN_POISON_MEMORY_REGION(d + len, m->buf_len - m->data_off - len);
	return m;
}

static void unpoison_segments(struct seg_list *l)
{
	for (unsigned int i = 0; i < l->n; i++)
		ASAN_UNPOISON_MEMORY_REGION(l->s[i].addr, l->s[i].len);
	l->n = 0;
}

/* Whether f (a frame's bytes from the IP header on, avail of them) has an IPv4 header whose
 * checksum can be computed; its length. */
static size_t ip4_header(const uint8_t *ip, size_t avail)
{
	size_t hl;

	if (avail < 20 || (ip[0] >> 4) != 4)
		return 0;
	hl = (ip[0] & 0xfu) * 4u;
	return hl >= 20 && hl <= avail ? hl : 0;
}

static void add_lan(const uint8_t *p, uint16_t len, uint16_t flags)
{
	uint8_t *f = lan_bytes[n_lan];
	bool v4 = len >= RTE_ETHER_HDR_LEN && p[12] == 0x08 && p[13] == 0x00;
	struct rte_mbuf *m;

	memcpy(f, p, len);
	if (v4 && (flags & LAN_REC_FIX_CSUM) && ip4_header(f + RTE_ETHER_HDR_LEN, len - RTE_ETHER_HDR_LEN))
		ip4_sum_fix(f + RTE_ETHER_HDR_LEN);
	lan_chained[n_lan] = flags & LAN_REC_CHAINED;
	if (lan_chained[n_lan]) {
		m = segment(&lan_segs, f, len / 2, 0);
		FUZZ_CHECK(rte_pktmbuf_chain(m, segment(&lan_segs, f + len / 2, (uint16_t)(len - len / 2), 0)) == 0);
	} else {
		m = segment(&lan_segs, f, len, 0);
	}
	/* A NIC with the IPv4 checksum offload says what it found, and is right. */
	if ((flags & LAN_REC_NIC_CSUM) && v4 && ip4_header(f + RTE_ETHER_HDR_LEN, len - RTE_ETHER_HDR_LEN))
		m->ol_flags |= ip4_sum_ok(f + RTE_ETHER_HDR_LEN) ? RTE_MBUF_F_RX_IP_CKSUM_GOOD : RTE_MBUF_F_RX_IP_CKSUM_BAD;
	m->port = (uint16_t)(FZ_PORT_LAN + n_lan);
	lan_len[n_lan] = len;
	lan_mbuf[n_lan++] = m;
}

/* A mesh packet as the decrypt path delivers it: a plausible IP packet, cut to its IP length. */
static struct rte_mbuf *add_mesh(const uint8_t *p, uint16_t len, uint16_t flags)
{
	uint8_t *b = mesh_bytes[n_mesh];
	struct rte_mbuf *m;
	uint32_t ip_len;
	int family = 0;

	memcpy(b, p, len);
	if ((flags & LAN_REC_FIX_CSUM) && ip4_header(b, len))
		ip4_sum_fix(b);
	ip_len = packet_inner_len(b, len, &family);
	if (!ip_len)
		return NULL;
	m = segment(&mesh_segs, b, (uint16_t)ip_len, RTE_ETHER_HDR_LEN);
	m->port = (uint16_t)(FZ_PORT_MESH + n_mesh);
	mesh_len[n_mesh++] = (uint16_t)ip_len;
	return m;
}

/* ---- the control thread's reads: held and poisoned around while it reads ---- */

static struct rte_mbuf *held[4 * LAN_PENDING_MAX];
static unsigned int n_held;

/* Every mbuf in r gets one reference more (so what the control thread frees meanwhile is not
 * reused while poisoned) and its surroundings poisoned: all of them (ARP and ND are only read),
 * or all but the 14 bytes before the data (a packet that may go out on the LAN gets its Ethernet
 * header there). The ring keeps its order. */
static void hold(struct rte_ring *r, uint16_t keep)
{
	struct rte_mbuf *m[4 * LAN_PENDING_MAX];
	unsigned int n = rte_ring_dequeue_burst(r, (void **)m, RTE_DIM(m), NULL);

	for (unsigned int i = 0; i < n; i++) {
		FUZZ_CHECK(m[i]->nb_segs == 1 && m[i]->data_off >= keep && n_held < RTE_DIM(held));
		rte_mbuf_refcnt_update(m[i], 1);
		held[n_held++] = m[i];
		ASAN_POISON_MEMORY_REGION(m[i]->buf_addr, m[i]->data_off - keep);
		ASAN_POISON_MEMORY_REGION(rte_pktmbuf_mtod_offset(m[i], uint8_t *, m[i]->data_len),
					  m[i]->buf_len - m[i]->data_off - m[i]->data_len);
	}
	FUZZ_CHECK(rte_ring_enqueue_bulk(r, (void **)m, n, NULL) == n);
}

static void release(void)
{
	for (unsigned int i = 0; i < n_held; i++) {
		ASAN_UNPOISON_MEMORY_REGION(held[i]->buf_addr, held[i]->buf_len);
		rte_pktmbuf_free(held[i]);
	}
	n_held = 0;
}

/* What a ring holds now, in order, left in it. */
static unsigned int peek(struct rte_ring *r, struct rte_mbuf **m, unsigned int max)
{
	unsigned int n = rte_ring_dequeue_burst(r, (void **)m, max, NULL);

	FUZZ_CHECK(rte_ring_count(r) == 0);
	FUZZ_CHECK(rte_ring_enqueue_bulk(r, (void **)m, n, NULL) == n);
	return n;
}

/* ---- what goes out ---- */

static int family_of(const uint8_t *ip)
{
	return (ip[0] >> 4) == 4 ? AF_INET : AF_INET6;
}

/* What the router makes of mesh packet j (or LAN frame f's IP packet): TTL down, MSS clamped. */
static void routed(uint8_t *out, const uint8_t *ip, uint32_t len)
{
	int family = family_of(ip);

	memcpy(out, ip, len);
	FUZZ_CHECK(router_dec_ttl(out, family) == 0);
	router_clamp_mss(out, len, family, mg_dev.inner_mtu);
}

/* The TTL went down by one and the IPv4 header checksum verifies: the LAN port checked it on a
 * frame (len: the packet's); a packet from the mesh, which nothing checked, keeps it as it came
 * (valid stays valid). The router forwards this destination. */
static void check_ttl(const uint8_t *ip, const uint8_t *orig, uint32_t len, bool from_lan)
{
	if (family_of(orig) == AF_INET) {
		FUZZ_CHECK(orig[8] >= 2 && ip[8] == orig[8] - 1);
		if (from_lan)
			FUZZ_CHECK(ip4_sum_ok(orig) && ip4_sum_ok(ip));
		else if ((orig[0] & 0xfu) * 4u <= len)
			FUZZ_CHECK(ip4_sum_ok(orig) == ip4_sum_ok(ip));
	} else {
		FUZZ_CHECK(orig[7] >= 2 && ip[7] == orig[7] - 1);
	}
	FUZZ_CHECK(routable(family_of(orig), orig));
}

/* An ICMP error from us about some packet, or an echo reply of ours: whole, from our LAN address
 * of its family, checksums verifying. The error goes to the quoted packet's source. */
static void check_icmp_ours(const uint8_t *ip, uint32_t len, bool echo)
{
	int family = 0;
	const uint8_t *icmp;

	FUZZ_CHECK(packet_inner_len(ip, len, &family) == len);
	if (family == AF_INET) {
		FUZZ_CHECK(len >= 28 && ip[9] == IPPROTO_ICMP && ip4_sum_ok(ip));
		icmp = ip + (ip[0] & 0xfu) * 4u;
		FUZZ_CHECK(icmp + 8 <= ip + len);
		FUZZ_CHECK(is_ours(AF_INET, ip + 12) && (echo || memcmp(ip + 12, our_first(AF_INET), 4) == 0));
		if (echo) {
			FUZZ_CHECK(icmp[0] == 0 && ip[8] == 64); /* the code as it came, as Linux's icmp_echo */
		} else {
			FUZZ_CHECK(ip[0] == 0x45 && len <= ICMPERR_MAX_V4 && ip[8] == ICMPERR_TTL);
			FUZZ_CHECK((icmp[0] == 3 && icmp[1] <= 1) || (icmp[0] == 11 && icmp[1] == 0));
			FUZZ_CHECK(len >= 28 + 20 && memcmp(ip + 16, icmp + 8 + 12, 4) == 0);
		}
	} else {
		FUZZ_CHECK(len >= 48 && ip[6] == IPPROTO_ICMPV6);
		icmp = ip + 40;
		FUZZ_CHECK(is_ours(AF_INET6, ip + 8) && (echo || memcmp(ip + 8, our_first(AF_INET6), 16) == 0));
		if (echo) {
			FUZZ_CHECK(icmp[0] == 129 && ip[7] == 64);
		} else {
			FUZZ_CHECK(len <= ICMPERR_MAX_V6 && ip[7] == ICMPERR_TTL);
			FUZZ_CHECK((icmp[0] == 1 && (icmp[1] == 0 || icmp[1] == 3)) || (icmp[0] == 3 && icmp[1] == 0));
			FUZZ_CHECK(len >= 48 + 40 && memcmp(ip + 24, icmp + 8 + 8, 16) == 0);
		}
	}
	FUZZ_CHECK(icmp_sum_ok(ip, len));
}

/* An echo reply made in place of the request req (a LAN frame's IP packet or a mesh packet, len
 * bytes): from its destination to its source, code, identifier, sequence and data as they were. */
static void check_echo_reply(const uint8_t *ip, uint32_t len, const uint8_t *req)
{
	size_t hl = family_of(req) == AF_INET ? (req[0] & 0xfu) * 4u : 40;

	check_icmp_ours(ip, len, true);
	FUZZ_CHECK(family_of(ip) == family_of(req) && hl + 8 <= len);
	if (family_of(ip) == AF_INET)
		FUZZ_CHECK(memcmp(ip + 16, req + 12, 4) == 0 && memcmp(ip + 12, req + 16, 4) == 0);
	else
		FUZZ_CHECK(memcmp(ip + 24, req + 8, 16) == 0 && memcmp(ip + 8, req + 24, 16) == 0);
	FUZZ_CHECK(ip[hl + 1] == req[hl + 1] && memcmp(ip + hl + 4, req + hl + 4, len - hl - 4) == 0);
}

/* The MAC the control thread's table has for the next hop of a packet to dst. */
static const struct rte_ether_addr *hop_mac(int family, const uint8_t *dst)
{
	const struct mg_lan_route *r = allowedips_lookup(&mg_dev.lan->routes, family, dst);
	const struct neigh *n;

	FUZZ_CHECK(r != NULL);
	n = find(&lan, family, r->on_link ? dst : r->via, false);
	FUZZ_CHECK(n && n->resolved);
	return &n->mac;
}

static bool mac_eq(const struct rte_ether_addr *a, const struct rte_ether_addr *b)
{
	return memcmp(a, b, RTE_ETHER_ADDR_LEN) == 0;
}

/* One frame on the wire, checked (see the header). */
static void check_wire(struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const uint8_t *l3 = (const uint8_t *)(eth + 1);
	uint16_t type;
	uint32_t len;

	FUZZ_CHECK(m->nb_segs == 1 && m->pkt_len == m->data_len && m->data_len >= RTE_ETHER_HDR_LEN);
	FUZZ_CHECK(mac_eq(&eth->src_addr, &our_mac));
	type = rte_be_to_cpu_16(eth->ether_type);
	len = m->data_len - RTE_ETHER_HDR_LEN;
	if (type == RTE_ETHER_TYPE_ARP) {
		const struct rte_arp_hdr *a = (const struct rte_arp_hdr *)l3;
		uint16_t op;

		FUZZ_CHECK(len == sizeof(*a) && m->port == RTE_MBUF_PORT_INVALID);
		op = rte_be_to_cpu_16(a->arp_opcode);
		FUZZ_CHECK(a->arp_hardware == rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) &&
			   a->arp_protocol == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) && a->arp_hlen == 6 && a->arp_plen == 4);
		FUZZ_CHECK(op == RTE_ARP_OP_REQUEST || op == RTE_ARP_OP_REPLY);
		FUZZ_CHECK(mac_eq(&a->arp_data.arp_sha, &our_mac) && is_ours(AF_INET, (const uint8_t *)&a->arp_data.arp_sip));
		if (op == RTE_ARP_OP_REPLY)
			FUZZ_CHECK(mac_eq(&eth->dst_addr, &a->arp_data.arp_tha));
		else
			FUZZ_CHECK(rte_is_zero_ether_addr(&a->arp_data.arp_tha));
		seen.wire_arp++;
		return;
	}
	FUZZ_CHECK(type == RTE_ETHER_TYPE_IPV4 || type == RTE_ETHER_TYPE_IPV6);
	FUZZ_CHECK(len >= 20 && family_of(l3) == (type == RTE_ETHER_TYPE_IPV4 ? AF_INET : AF_INET6));
	if (m->port >= FZ_PORT_MESH && m->port < FZ_PORT_MESH + n_mesh) {
		/* A packet from the mesh, once, to its next hop's MAC, as the router left it. */
		unsigned int j = m->port - FZ_PORT_MESH;
		uint8_t want[LAN_REC_LEN_MASK + 1];

		FUZZ_CHECK(len == mesh_len[j] && mesh_out[j]++ == 0);
		routed(want, mesh_bytes[j], len);
		FUZZ_CHECK(memcmp(l3, want, len) == 0);
		check_ttl(l3, mesh_bytes[j], len, false);
		FUZZ_CHECK(mac_eq(&eth->dst_addr, hop_mac(family_of(l3), packet_inner_dst(l3, family_of(l3)))));
		seen.wire_fwd++;
		return;
	}
	if (m->port >= FZ_PORT_LAN && m->port < FZ_PORT_LAN + n_lan) {
		/* A LAN host's echo request, answered in place. */
		FUZZ_CHECK(RTE_ETHER_HDR_LEN + len <= lan_len[m->port - FZ_PORT_LAN]);
		check_echo_reply(l3, len, lan_bytes[m->port - FZ_PORT_LAN] + RTE_ETHER_HDR_LEN);
		FUZZ_CHECK(mac_eq(&eth->dst_addr, hop_mac(family_of(l3), packet_inner_dst(l3, family_of(l3)))));
		seen.wire_echo++;
		return;
	}
	FUZZ_CHECK(m->port == RTE_MBUF_PORT_INVALID);
	if (type == RTE_ETHER_TYPE_IPV6 && len >= 40 + 32 && l3[6] == IPPROTO_ICMPV6 && (l3[40] == 135 || l3[40] == 136)) {
		/* Neighbour discovery: a solicitation or an advertisement of ours, with our MAC. */
		const uint8_t *icmp = l3 + 40;

		FUZZ_CHECK(len == 40 + 32 && packet_inner_len(l3, len, &(int){ 0 }) == len && l3[7] == 255);
		FUZZ_CHECK(is_ours(AF_INET6, l3 + 8) && icmp_sum_ok(l3, len) && icmp[1] == 0);
		FUZZ_CHECK(icmp[24] == (icmp[0] == 136 ? 2 : 1) && icmp[25] == 1 && memcmp(icmp + 26, &our_mac, 6) == 0);
		if (icmp[0] == 136)
			FUZZ_CHECK(is_ours(AF_INET6, icmp + 8) && icmp[4] == 0x60);
		seen.wire_nd++;
		return;
	}
	/* An ICMP error we made, to a LAN host. */
	check_icmp_ours(l3, len, false);
	FUZZ_CHECK(mac_eq(&eth->dst_addr, hop_mac(family_of(l3), packet_inner_dst(l3, family_of(l3)))));
	seen.wire_icmp++;
}

static void fill_wire(void)
{
	while (wire_full && rte_ring_free_count(lan_out) > 2)
		FUZZ_CHECK(rte_ring_enqueue(lan_out, &wire_marker) == 0);
}

/* Everything on the wire checked and freed; the markers of a nearly full wire put back. Returns
 * how many frames there were. */
static unsigned int drain_wire(void)
{
	void *p;
	unsigned int n = 0;

	while (rte_ring_dequeue(lan_out, &p) == 0) {
		if (p == &wire_marker)
			continue;
		check_wire(p);
		rte_pktmbuf_free(p);
		n++;
	}
	fill_wire();
	return n;
}

/* What the control thread sent into the mesh: errors and echo replies (of mesh packets, in place). */
static void drain_to_mesh(void)
{
	struct rte_mbuf *m;

	while (rte_ring_dequeue(mg_dev.to_mesh, (void **)&m) == 0) {
		const uint8_t *ip = rte_pktmbuf_mtod(m, const uint8_t *);

		FUZZ_CHECK(m->nb_segs == 1 && m->pkt_len == m->data_len);
		if (m->port >= FZ_PORT_MESH && m->port < FZ_PORT_MESH + n_mesh) {
			FUZZ_CHECK(m->data_len == mesh_len[m->port - FZ_PORT_MESH]);
			check_echo_reply(ip, m->data_len, mesh_bytes[m->port - FZ_PORT_MESH]);
			seen.mesh_echo++;
		} else {
			FUZZ_CHECK(m->port == RTE_MBUF_PORT_INVALID);
			check_icmp_ours(ip, m->data_len, false);
			seen.mesh_icmp++;
			/* About a packet of ours (an echo reply to a LAN host that never answered): to us. */
			seen.mesh_to_us += is_ours(family_of(ip), packet_inner_dst(ip, family_of(ip)));
		}
		rte_pktmbuf_free(m);
	}
	FUZZ_CHECK(rte_ring_count(mg_dev.to_inner) == 0);
}

/* ---- the control thread's turn ---- */

static void quiescent(void)
{
	rte_rcu_qsbr_quiescent(mg_dev.rcu, W->id);
}

/* As the loop takes it (test_lan's turn): the worker's quiescent state, then lan_turn, icmp_turn,
 * core_reclaim; then the worker sends what the control thread queued for the LAN. */
static void turn(void)
{
	hold(mg_dev.lan->to_neigh, 0);
	hold(mg_dev.lan->unresolved, RTE_ETHER_HDR_LEN);
	hold(mg_dev.icmp_req, RTE_ETHER_HDR_LEN);
	quiescent();
	lan_turn();
	icmp_turn();
	core_reclaim();
	release();
	drain_wire();
	while (lan_tx_ctrl(W))
		drain_wire();
	drain_to_mesh();
	seen.turns++;
}

static void turns(uint64_t step)
{
	turn();
	set_time(ctrl.now_ns + step);
	turn();
}

static bool quiet(void)
{
	return n_pending == 0 && rte_ring_count(mg_dev.lan->to_neigh) == 0 &&
	       rte_ring_count(mg_dev.lan->unresolved) == 0 && rte_ring_count(mg_dev.lan->tx) == 0 &&
	       rte_ring_count(mg_dev.icmp_req) == 0 && rte_ring_count(mg_dev.to_mesh) == 0;
}

/* ---- the two bursts ---- */

/* What this lcore counted since *before (a burst's own counts; the control thread's go on). */
static void counted_since(const struct mg_lcore_stats *before, struct mg_lcore_stats *d)
{
	const struct mg_lcore_stats *s = &mg_stats[rte_lcore_id()];

	for (int r = 0; r < MG_DROP_COUNT; r++)
		d->drops[r] = s->drops[r] - before->drops[r];
	d->to_ctrl = s->to_ctrl - before->to_ctrl;
}

/* The drops for the reasons a burst may give, summed; any other reason is a failure. */
static uint64_t lan_fates_other(const struct mg_lcore_stats *s, const enum mg_drop *mine, unsigned int n_mine)
{
	uint64_t dropped = 0;

	for (int r = 0; r < MG_DROP_COUNT; r++) {
		bool counted = false;

		for (unsigned int i = 0; i < n_mine; i++)
			counted |= mine[i] == (enum mg_drop)r;
		if (counted)
			dropped += s->drops[r];
		else
			FUZZ_CHECK(s->drops[r] == 0);
	}
	return dropped;
}

static void lan_burst(void)
{
	static const enum mg_drop reasons[] = { MG_DROP_LAN_NOT_IP, MG_DROP_LAN_BAD_IP, MG_DROP_LAN_TO_US,
						MG_DROP_LAN_NOT_ROUTED, MG_DROP_TTL_EXCEEDED, MG_DROP_LAN_RING_FULL,
						MG_DROP_ECHO_LIMITED };
	static struct mg_lcore_stats before, delta, *const s = &delta;
	struct rte_mbuf *pkts[MG_BURST], *q[1024];
	unsigned int neigh_before = rte_ring_count(mg_dev.lan->to_neigh), icmp_before = rte_ring_count(mg_dev.icmp_req);
	unsigned int echoes = 0, errors = 0, n;
	uint16_t out;

	before = mg_stats[rte_lcore_id()];
	FUZZ_CHECK(rte_ring_enqueue_bulk(lan_in, (void **)lan_mbuf, n_lan, NULL) == n_lan);
	out = mg_inner_lan.rx(0, pkts, MG_BURST);
	/* Everything rx freed is back in the pool: unpoisoned before anyone allocates. */
	unpoison_segments(&lan_segs);
	counted_since(&before, s);
	FUZZ_CHECK(rte_ring_count(lan_in) == 0 && out <= n_lan);

	for (uint16_t i = 0; i < out; i++) {
		unsigned int f = 0;
		uint8_t want[LAN_REC_LEN_MASK + 1];
		const uint8_t *ip = rte_pktmbuf_mtod(pkts[i], const uint8_t *), *fr;
		int family = 0;

		while (f < n_lan && lan_mbuf[f] != pkts[i])
			f++;
		FUZZ_CHECK(f < n_lan && pkts[i]->port == FZ_PORT_LAN + f);
		for (uint16_t k = 0; k < i; k++)
			FUZZ_CHECK(pkts[k] != pkts[i]);
		fr = lan_bytes[f];
		/* Sent to our MAC, not chained; the IP packet of the frame, cut to its length. */
		FUZZ_CHECK(!lan_chained[f] && pkts[i]->nb_segs == 1 && pkts[i]->pkt_len == pkts[i]->data_len);
		FUZZ_CHECK(lan_len[f] >= RTE_ETHER_HDR_LEN + 20 && memcmp(fr, &our_mac, 6) == 0);
		FUZZ_CHECK(packet_inner_len(fr + RTE_ETHER_HDR_LEN, lan_len[f] - RTE_ETHER_HDR_LEN, &family) ==
			   pkts[i]->data_len);
		FUZZ_CHECK((fr[12] << 8 | fr[13]) == (family == AF_INET ? RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6));
		FUZZ_CHECK(family != AF_INET || (fr[RTE_ETHER_HDR_LEN] & 0xfu) * 4u <= pkts[i]->data_len);
		routed(want, fr + RTE_ETHER_HDR_LEN, pkts[i]->data_len);
		FUZZ_CHECK(memcmp(ip, want, pkts[i]->data_len) == 0);
		check_ttl(ip, fr + RTE_ETHER_HDR_LEN, pkts[i]->data_len, true);
		seen.forwarded++;
	}
	/* ARP and ND for the control thread: frames of this burst as they came. */
	n = peek(mg_dev.lan->to_neigh, q, RTE_DIM(q));
	FUZZ_CHECK(n == neigh_before + s->to_ctrl);
	for (unsigned int i = neigh_before; i < n; i++) {
		const uint8_t *fr = rte_pktmbuf_mtod(q[i], const uint8_t *);

		FUZZ_CHECK(q[i]->port >= FZ_PORT_LAN && q[i]->port < FZ_PORT_LAN + n_lan &&
			   lan_mbuf[q[i]->port - FZ_PORT_LAN] == q[i] && q[i]->nb_segs == 1);
		FUZZ_CHECK(q[i]->data_len == lan_len[q[i]->port - FZ_PORT_LAN]);
		if (fr[12] == 0x08 && fr[13] == 0x06)
			continue;
		FUZZ_CHECK(fr[12] == 0x86 && fr[13] == 0xdd && q[i]->l3_len == 40 && q[i]->data_len >= 14 + 44);
		FUZZ_CHECK(fr[14 + 6] == IPPROTO_ICMPV6 && fr[14 + 40] >= 133 && fr[14 + 40] <= 137);
	}
	seen.neigh += n - neigh_before;
	/* Echo requests to our address (Ethernet header off), time exceeded for packets as they came. */
	n = peek(mg_dev.icmp_req, q, RTE_DIM(q));
	for (unsigned int i = icmp_before; i < n; i++) {
		const uint8_t *ip = rte_pktmbuf_mtod(q[i], const uint8_t *);
		unsigned int kind, f = q[i]->port - FZ_PORT_LAN;
		bool to_mesh;
		uint16_t mtu;
		int family = 0;

		mg_icmp_request_get(q[i], &kind, &to_mesh, &mtu);
		/* The frame's IP packet as it came, cut to its IP length. */
		FUZZ_CHECK(f < n_lan && lan_mbuf[f] == q[i] && !to_mesh && q[i]->nb_segs == 1);
		FUZZ_CHECK(packet_inner_len(lan_bytes[f] + RTE_ETHER_HDR_LEN, lan_len[f] - RTE_ETHER_HDR_LEN, &family) ==
			   q[i]->data_len);
		FUZZ_CHECK(memcmp(ip, lan_bytes[f] + RTE_ETHER_HDR_LEN, q[i]->data_len) == 0);
		if (kind == MG_ICMP_ECHO) {
			FUZZ_CHECK(is_ours(family, packet_inner_dst(ip, family)));
			FUZZ_CHECK(family == AF_INET ? ip[9] == IPPROTO_ICMP && ip[(ip[0] & 0xfu) * 4u] == 8
						     : ip[6] == IPPROTO_ICMPV6 && ip[40] == 128);
			echoes++;
		} else {
			FUZZ_CHECK(kind == ICMPERR_TIME_EXCEEDED);
			FUZZ_CHECK(ip[family == AF_INET ? 8 : 7] <= 1);
			errors++;
		}
	}
	seen.echo_lan += echoes;
	/* One fate each. */
	FUZZ_CHECK(out + s->to_ctrl + lan_fates_other(s, reasons, RTE_DIM(reasons)) + echoes == n_lan);
	FUZZ_CHECK(errors <= s->drops[MG_DROP_TTL_EXCEEDED]);
	FUZZ_CHECK(s->drops[MG_DROP_LAN_RING_FULL] == 0 || mg_dev.lan->to_neigh == small_neigh);
	/* On to the encrypt path, which is fuzz_wan's and test_tunnel's: here they stop. */
	rte_pktmbuf_free_bulk(pkts, out);
}

static void mesh_burst(struct rte_mbuf **pkts)
{
	static const enum mg_drop reasons[] = { MG_DROP_LAN_TO_US, MG_DROP_LAN_NOT_ROUTED, MG_DROP_LAN_NO_ROUTE,
						MG_DROP_TTL_EXCEEDED, MG_DROP_NO_ROOM, MG_DROP_LAN_DOWN,
						MG_DROP_LAN_TX_FULL, MG_DROP_LAN_RING_FULL, MG_DROP_LAN_BAD_IP,
						MG_DROP_ECHO_LIMITED };
	static struct mg_lcore_stats before, delta, *const s = &delta;
	struct rte_mbuf *q[1024];
	unsigned int unres_before = rte_ring_count(mg_dev.lan->unresolved), icmp_before = rte_ring_count(mg_dev.icmp_req);
	unsigned int echoes = 0, n, wired;
	uint16_t sent;

	FUZZ_CHECK(drain_wire() == 0);
	before = mg_stats[rte_lcore_id()];
	sent = mg_inner_lan.tx(0, pkts, n_mesh);
	unpoison_segments(&mesh_segs);
	counted_since(&before, s);
	wired = seen.wire_fwd;
	FUZZ_CHECK(drain_wire() == sent && seen.wire_fwd - wired == sent);
	seen.sent += sent;
	FUZZ_CHECK(sent == 0 || !mg_dev.lan->down);
	/* Waiting for a neighbour: TTL down already, a route, no MAC in the snapshot. */
	n = peek(mg_dev.lan->unresolved, q, RTE_DIM(q));
	FUZZ_CHECK(n == unres_before + s->to_ctrl);
	for (unsigned int i = unres_before; i < n; i++) {
		unsigned int j = q[i]->port - FZ_PORT_MESH;
		uint8_t want[LAN_REC_LEN_MASK + 1];
		const uint8_t *ip = rte_pktmbuf_mtod(q[i], const uint8_t *);

		FUZZ_CHECK(j < n_mesh && q[i]->data_len == mesh_len[j] && q[i]->nb_segs == 1);
		routed(want, mesh_bytes[j], mesh_len[j]);
		FUZZ_CHECK(memcmp(ip, want, mesh_len[j]) == 0);
		check_ttl(ip, mesh_bytes[j], mesh_len[j], false);
		FUZZ_CHECK(allowedips_lookup(&mg_dev.lan->routes, family_of(ip), packet_inner_dst(ip, family_of(ip))));
	}
	seen.waiting += n - unres_before;
	/* Echo requests to our address, errors about packets as they came (into the mesh). */
	n = peek(mg_dev.icmp_req, q, RTE_DIM(q));
	for (unsigned int i = icmp_before; i < n; i++) {
		unsigned int kind, j = q[i]->port - FZ_PORT_MESH;
		const uint8_t *ip = rte_pktmbuf_mtod(q[i], const uint8_t *);
		bool to_mesh;
		uint16_t mtu;

		mg_icmp_request_get(q[i], &kind, &to_mesh, &mtu);
		FUZZ_CHECK(j < n_mesh && to_mesh && q[i]->data_len == mesh_len[j]);
		FUZZ_CHECK(memcmp(ip, mesh_bytes[j], mesh_len[j]) == 0);
		if (kind == MG_ICMP_ECHO) {
			FUZZ_CHECK(is_ours(family_of(ip), packet_inner_dst(ip, family_of(ip))));
			echoes++;
		} else {
			FUZZ_CHECK(kind == ICMPERR_TIME_EXCEEDED || kind == ICMPERR_NET_UNREACHABLE);
		}
	}
	seen.echo_mesh += echoes;
	FUZZ_CHECK(sent + s->to_ctrl + lan_fates_other(s, reasons, RTE_DIM(reasons)) + echoes == n_mesh);
	FUZZ_CHECK(s->drops[MG_DROP_LAN_DOWN] == 0 || mg_dev.lan->down);
	FUZZ_CHECK(s->drops[MG_DROP_LAN_RING_FULL] == 0 || mg_dev.lan->unresolved == small_unresolved);
	FUZZ_CHECK(s->drops[MG_DROP_LAN_TX_FULL] == 0 || wire_full);
}

/* ---- per input ---- */

static void reset(uint8_t knobs)
{
	unsigned int neighbours = knobs & LAN_KNOB_NEIGH_MASK;
	struct mg_lan *l = mg_dev.lan;

	memset(&mg_stats[rte_lcore_id()], 0, sizeof(mg_stats[0]));
	memset(&seen, 0, sizeof(seen));
	memset(mesh_out, 0, sizeof(mesh_out));
	n_lan = n_mesh = 0;
	FUZZ_CHECK(n_pending == 0 && quiet());
	/* The LAN's neighbours as the knobs say (neigh.c's table), published (lan.c). */
	memset(lan_table, 0, sizeof(lan_table));
	set_time(neighbours == LAN_KNOB_NEIGH_STALE ? FZ_T0 - 60 * MG_NS_PER_S : FZ_T0);
	if (neighbours == LAN_KNOB_NEIGH_FRESH || neighbours == LAN_KNOB_NEIGH_STALE) {
		learn(&lan, AF_INET, host_h.a4, &host_h.mac, true);
		learn(&lan, AF_INET6, host_h.a6, &host_h.mac, true);
	}
	if (neighbours) {
		learn(&lan, AF_INET, host_r.a4, &host_r.mac, true);
		learn(&lan, AF_INET6, host_r.a6, &host_r.mac, true);
	}
	set_time(FZ_T0);
	publish();
	next_check_ns = 0;
	icmperr_limit_init(&unreachable_limit, 1000, 50); /* as lan_init */
	icmperr_limit_init(&W->icmp_limit, 1000, 50);     /* as worker_init */
	l->down = knobs & LAN_KNOB_DOWN;
	l->to_neigh = knobs & LAN_KNOB_RINGS_SMALL ? small_neigh : ring_neigh;
	l->unresolved = knobs & LAN_KNOB_RINGS_SMALL ? small_unresolved : ring_unresolved;
	l->tx = knobs & LAN_KNOB_RINGS_SMALL ? small_tx : ring_tx;
	wire_full = knobs & LAN_KNOB_WIRE_FULL;
	fill_wire();
}

static void print_trace(uint8_t knobs, uint64_t errors, uint64_t echoes, uint64_t learnt)
{
	fprintf(stderr,
		"fuzz_lan: knobs 0x%02x, %u frames, %u packets: forwarded %u, to neigh %u, echo requests %u+%u, "
		"sent %u, waiting %u; wire: arp %u, nd %u, icmp %u, echo replies %u, from the mesh %u; "
		"into the mesh: icmp %u (to our own address %u), echo replies %u; %u turns; icmp errors %" PRIu64 ", echo replies %" PRIu64
		", neighbours learnt %" PRIu64,
		knobs, n_lan, n_mesh, seen.forwarded, seen.neigh, seen.echo_lan, seen.echo_mesh, seen.sent,
		seen.waiting, seen.wire_arp, seen.wire_nd, seen.wire_icmp, seen.wire_echo, seen.wire_fwd,
		seen.mesh_icmp, seen.mesh_to_us, seen.mesh_echo, seen.turns, errors, echoes, learnt);
	for (int r = 0; r < MG_DROP_COUNT; r++)
		if (mg_stats[rte_lcore_id()].drops[r])
			fprintf(stderr, ", %s %" PRIu64, mg_drop_names[r], mg_stats[rte_lcore_id()].drops[r]);
	fprintf(stderr, "\n");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t knobs = fuzz_u8(&in);
	uint64_t step = steps_ns[knobs >> LAN_KNOB_STEP_SHIFT];
	struct rte_mbuf *mesh[MG_BURST];
	unsigned int in_use, n = 0;
	uint64_t errors_before = ctrl.icmp_errors_sent, echoes_before = ctrl.echo_replies_sent, learnt_before;
	void *p;

	reset(knobs);
	learnt_before = neigh_lan_changes();
	while (fuzz_left(&in) && (n_lan < MG_BURST || n_mesh < MG_BURST)) {
		uint16_t hdr = fuzz_u16(&in), len = (uint16_t)(hdr & LAN_REC_LEN_MASK);
		struct rte_mbuf *m;

		if (len > in.n)
			len = (uint16_t)in.n;
		if (!(hdr & LAN_REC_MESH) && n_lan < MG_BURST)
			add_lan(in.p, len, hdr);
		else if ((hdr & LAN_REC_MESH) && n_mesh < MG_BURST && (m = add_mesh(in.p, len, hdr)) != NULL)
			mesh[n++] = m;
		in.p += len;
		in.n -= len;
	}
	FUZZ_CHECK(n == n_mesh);
	/* The LAN's mbufs, not yet received, stay poisoned; the mesh's too until tx has them. */
	if (knobs & LAN_KNOB_MESH_FIRST) {
		mesh_burst(mesh);
		turns(step);
		lan_burst();
	} else {
		lan_burst();
		turns(step);
		mesh_burst(mesh);
	}
	turns(step);
	/* Until everything has drained: the waiting expire, their unreachables go out. */
	for (unsigned int i = 0; i < 64 && !quiet(); i++) {
		set_time(ctrl.now_ns + MG_NS_PER_S);
		turn();
	}
	FUZZ_CHECK(quiet());
	quiescent();
	core_reclaim();
	while (rte_ring_dequeue(lan_out, &p) == 0) /* the markers */
		FUZZ_CHECK(p == &wire_marker);
	if (trace)
		print_trace(knobs, ctrl.icmp_errors_sent - errors_before, ctrl.echo_replies_sent - echoes_before,
			    neigh_lan_changes() - learnt_before);
	in_use = rte_mempool_in_use_count(mg_dev.pool);
	if (in_use != pool_baseline) {
		fprintf(stderr, "fuzz_lan: mbuf leak: %u in use after the input, %u before\n", in_use, pool_baseline);
		abort();
	}
	return 0;
}
