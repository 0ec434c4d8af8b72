/* SPDX-License-Identifier: MIT */
/*
 * Gateway mode's LAN side in-process, without root, under ASan+UBSan too: the LAN port's two halves
 * (dataplane/lanport.c: mg_inner_lan's rx and tx, lan_tx_ctrl) on a net_ring port whose other ends
 * this test holds, and the control thread's half (ctrl/lan.c, ctrl/neigh.c on the LAN, ctrl/icmp.c).
 * No worker lcore: this thread plays the worker (rx, tx, lan_tx_ctrl, its RCU quiescent states,
 * its clock) and the control thread (lan_turn, icmp_turn, core_reclaim, ctrl.now_ns) in turn, and
 * the LAN's hosts, so every step is deterministic.
 *
 *   arp            a LAN host's ARP request for our address is answered (and the host learned, the
 *                  old snapshot freed only after the worker's quiescent state); another address's
 *                  is not, nor is its sender learned
 *   nd             a neighbour solicitation for our IPv6 address: an advertisement with our MAC,
 *                  solicited, its checksum right; hop limit 254 or another target: no answer
 *   forward        LAN -> mesh, IPv4 and IPv6: Ethernet header off, TTL / hop limit down by one,
 *                  the IPv4 checksum still right, Ethernet padding trimmed
 *   not_forwarded  each refused frame counted under its reason
 *   ttl            TTL / hop limit 1 from the LAN: time exceeded back to the host, on the wire
 *   mss            a SYN's MSS clamped to the tunnel (checksum recomputed here); other segments not
 *   resolve        mesh -> LAN to a quiet host: held, ARP (and ND) asked, sent in order when the
 *                  answer comes; then straight out through the published snapshot
 *   routes         inner.routes: out to the next hop's MAC
 *   no_route       net unreachable back into the mesh (mg_dev.to_mesh), quoting the packet as it came
 *   not_ours       a frame not sent to our MAC (link broadcast, another host's) and a LAN prefix's
 *                  broadcast address, from either side: not forwarded, no ARP, no error
 *   echo           ping to our LAN address answered, IPv4 and IPv6, from the LAN and from the mesh
 *   unanswered     a host that never answers: three requests a second apart, the packet dropped
 *                  after 3 s with a host unreachable into the mesh
 *   bounded        16 waiting per next hop, 256 in all; the unreachables for them rate-limited
 *   teardown       lan_fini frees what still waits, and every mbuf is back in the pool
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <sodium.h>

#include "config.h"
#include "core.h"
#include "counters.h"
#include "device_setup.h"
#include "harness.h"
#include "icmp.h"
#include "inner.h"
#include "lan.h"
#include "worker.h"

/* Under ASan the test also sees when a deferred free happened (freed memory is poisoned). */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define MS(x) ((uint64_t)(x) * 1000000ULL)
#define S(x) ((uint64_t)(x) * MG_NS_PER_S)
#define INNER_MTU 1420
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58
#define ND_NS 135
#define ND_NA 136

struct host {
	struct rte_ether_addr mac;
	uint8_t a4[4];
	uint8_t a6[16];
};

static const struct rte_ether_addr our_mac = { { 0x02, 0, 0, 0, 0x01, 0x01 } };
static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
static const struct rte_ether_addr zero_mac;
static const uint8_t our4[4] = { 10, 1, 0, 1 }, our6[16] = { 0xfd, 0x01, [15] = 1 };
/* Hosts on the LAN: H asks for us; H3 is quiet until asked; R is the router of inner.routes. */
static const struct host H = { { { 0x02, 0, 0, 0, 0x02, 0x02 } }, { 10, 1, 0, 2 }, { 0xfd, 0x01, [15] = 2 } };
static const struct host H3 = { { { 0x02, 0, 0, 0, 0x02, 0x03 } }, { 10, 1, 0, 3 }, { 0xfd, 0x01, [15] = 3 } };
static const struct host R = { { { 0x02, 0, 0, 0, 0x02, 0xfe } }, { 10, 1, 0, 254 }, { 0xfd, 0x01, [15] = 0xfe } };
static const struct host B = { { { 0x02, 0, 0, 0, 0x02, 0x88 } }, { 10, 1, 0, 88 }, { 0xfd, 0x01, [15] = 0x88 } };
static const struct host X = { { { 0x02, 0, 0, 0, 0x02, 0x50 } }, { 10, 1, 0, 50 }, { 0xfd, 0x01, [15] = 0x50 } };
/* A host behind a peer, in the mesh. */
static const uint8_t remote4[4] = { 10, 2, 0, 5 }, remote6[16] = { 0xfd, 0x02, [15] = 5 };

static struct rte_ring *lan_in, *lan_out; /* what the LAN sends us; what we put on the LAN */
static uint16_t lan_port;
static struct mg_worker *const W = &mg_workers[0];
static uint64_t now;

static struct config_cidr cfg_addrs[2];
static struct config_route cfg_routes[2];
static char cfg_device[] = "net_ring_t_lan";
static struct mg_config cfg;

/* Set-up that cannot go wrong unless the environment does: no check, a clear stop. */
static void must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "FAIL: %s\n", what);
		exit(1);
	}
}

/* ---- checksums, computed here (RFC 1071), not with the product's or DPDK's ----------------- */

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

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The pseudo-header's sum for an upper-layer packet of len bytes after the IP header ip. */
static uint32_t pseudo(const uint8_t *ip, uint8_t proto, uint32_t len)
{
	if ((ip[0] >> 4) == 4)
		return sum16(0, ip + 12, 8) + proto + len;
	return sum16(0, ip + 8, 32) + proto + (len >> 16) + (len & 0xffff);
}

/* What the checksum field of l4[0..len) must hold (its own field counted as zero). */
static uint16_t l4_csum(const uint8_t *ip, uint8_t proto, const uint8_t *l4, uint32_t len, unsigned int at)
{
	/* The sum includes the field's word, unfolded: taking it out again is exact. */
	uint32_t s = pseudo(ip, proto, len) + sum16(0, l4, len) - get16(l4 + at);

	return (uint16_t)~fold(s);
}

static bool l4_ok(const uint8_t *ip, uint8_t proto, const uint8_t *l4, uint32_t len)
{
	return fold(pseudo(ip, proto, len) + sum16(0, l4, len)) == 0xffff;
}

static bool ip4_ok(const uint8_t *ip)
{
	return fold(sum16(0, ip, (ip[0] & 0xf) * 4u)) == 0xffff;
}

static uint16_t ip4_csum(const uint8_t *ip)
{
	uint8_t h[60];
	size_t hl = (ip[0] & 0xf) * 4u;

	memcpy(h, ip, hl);
	h[10] = h[11] = 0;
	return (uint16_t)~fold(sum16(0, h, hl));
}

/* ---- packets ------------------------------------------------------------------------------ */

/* An IPv4 header for plen bytes of proto behind it; its checksum filled in. */
static void ip4_hdr(uint8_t *b, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint8_t ttl, uint16_t id,
		    size_t plen)
{
	memset(b, 0, 20);
	b[0] = 0x45;
	put16(b + 2, (uint16_t)(20 + plen));
	put16(b + 4, id);
	b[6] = 0x40; /* DF */
	b[8] = ttl;
	b[9] = proto;
	memcpy(b + 12, src, 4);
	memcpy(b + 16, dst, 4);
	put16(b + 10, ip4_csum(b));
}

static void ip6_hdr(uint8_t *b, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint8_t hlim, size_t plen)
{
	memset(b, 0, 40);
	b[0] = 0x60;
	put16(b + 4, (uint16_t)plen);
	b[6] = proto;
	b[7] = hlim;
	memcpy(b + 8, src, 16);
	memcpy(b + 24, dst, 16);
}

/* A UDP packet (IPv4 when src is 4 bytes: family) with data bytes of a pattern from id; its length. */
static size_t udp(uint8_t *b, int family, const uint8_t *src, const uint8_t *dst, uint8_t ttl, uint16_t id,
		  size_t data)
{
	size_t hl = family == AF_INET ? 20 : 40;
	uint8_t *u = b + hl;

	if (family == AF_INET)
		ip4_hdr(b, src, dst, PROTO_UDP, ttl, id, 8 + data);
	else
		ip6_hdr(b, src, dst, PROTO_UDP, ttl, 8 + data);
	put16(u, (uint16_t)(40000 + id));
	put16(u + 2, 5353);
	put16(u + 4, (uint16_t)(8 + data));
	put16(u + 6, 0);
	for (size_t i = 0; i < data; i++)
		u[8 + i] = (uint8_t)(id + i * 7);
	put16(u + 6, l4_csum(b, PROTO_UDP, u, (uint32_t)(8 + data), 6));
	return hl + 8 + data;
}

/* A TCP segment with options MSS mss, NOP, NOP, SACK permitted, and 6 bytes of data. */
static size_t tcp(uint8_t *b, int family, const uint8_t *src, const uint8_t *dst, uint8_t flags, uint16_t mss)
{
	size_t hl = family == AF_INET ? 20 : 40, tl = 28 + 6;
	uint8_t *t = b + hl;

	if (family == AF_INET)
		ip4_hdr(b, src, dst, PROTO_TCP, 64, 0x7777, tl);
	else
		ip6_hdr(b, src, dst, PROTO_TCP, 64, tl);
	memset(t, 0, tl);
	put16(t, 43210);
	put16(t + 2, 443);
	put16(t + 4, 0x1234);
	put16(t + 6, 0x5678);
	t[12] = 7 << 4; /* 28 bytes of header */
	t[13] = flags;
	put16(t + 14, 64240);
	t[20] = 2; /* MSS */
	t[21] = 4;
	put16(t + 22, mss);
	t[24] = 1;
	t[25] = 1;
	t[26] = 4; /* SACK permitted */
	t[27] = 2;
	memcpy(t + 28, "hello!", 6);
	put16(t + 16, l4_csum(b, PROTO_TCP, t, (uint32_t)tl, 16));
	return hl + tl;
}

/* An Ethernet frame around payload, padded to at least min bytes with 0xee (not zeros, so that
 * padding left on a packet shows). */
static struct rte_mbuf *frame(const struct rte_ether_addr *dst, const struct rte_ether_addr *src, uint16_t type,
			      const void *payload, size_t len, size_t min)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mg_dev.pool);
	size_t flen = RTE_MAX(RTE_ETHER_HDR_LEN + len, min);
	uint8_t *f;
	struct rte_ether_hdr *eth;

	must(m != NULL, "mbuf");
	f = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)flen);
	must(f != NULL, "room in the mbuf");
	eth = (struct rte_ether_hdr *)f;
	eth->dst_addr = *dst;
	eth->src_addr = *src;
	eth->ether_type = rte_cpu_to_be_16(type);
	memcpy(f + RTE_ETHER_HDR_LEN, payload, len);
	memset(f + RTE_ETHER_HDR_LEN + len, 0xee, flen - RTE_ETHER_HDR_LEN - len);
	return m;
}

/* An IP packet from h on the LAN to us (to be routed), padded to the Ethernet minimum. */
static struct rte_mbuf *ip_frame(const struct host *h, const uint8_t *pkt, size_t len)
{
	return frame(&our_mac, &h->mac, (pkt[0] >> 4) == 4 ? RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6, pkt, len, 60);
}

static struct rte_mbuf *arp_frame(uint16_t op, const struct rte_ether_addr *eth_dst, const struct rte_ether_addr *sha,
				  const uint8_t *sip, const struct rte_ether_addr *tha, const uint8_t *tip)
{
	struct rte_arp_hdr a;

	memset(&a, 0, sizeof(a));
	a.arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a.arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a.arp_hlen = RTE_ETHER_ADDR_LEN;
	a.arp_plen = 4;
	a.arp_opcode = rte_cpu_to_be_16(op);
	a.arp_data.arp_sha = *sha;
	memcpy(&a.arp_data.arp_sip, sip, 4);
	a.arp_data.arp_tha = *tha;
	memcpy(&a.arp_data.arp_tip, tip, 4);
	return frame(eth_dst, sha, RTE_ETHER_TYPE_ARP, &a, sizeof(a), 60);
}

/* The solicited-node multicast address of a, and its MAC. */
static void solicited(const uint8_t *a, uint8_t snm[16], struct rte_ether_addr *mac)
{
	static const uint8_t prefix[13] = { 0xff, 0x02, [11] = 1, [12] = 0xff };

	memcpy(snm, prefix, 13);
	memcpy(snm + 13, a + 13, 3);
	*mac = (struct rte_ether_addr){ { 0x33, 0x33, 0xff, a[13], a[14], a[15] } };
}

/* A neighbour solicitation or advertisement, with a link-layer address option when ll. */
static struct rte_mbuf *nd_frame(uint8_t type, const struct rte_ether_addr *eth_dst, const struct host *from,
				 const uint8_t *dst, const uint8_t *target, const struct rte_ether_addr *ll,
				 uint8_t hlim, uint8_t flags)
{
	uint8_t b[40 + 32], *icmp = b + 40;
	size_t ilen = ll ? 32 : 24;

	ip6_hdr(b, from->a6, dst, PROTO_ICMPV6, hlim, ilen);
	memset(icmp, 0, ilen);
	icmp[0] = type;
	icmp[4] = flags;
	memcpy(icmp + 8, target, 16);
	if (ll) {
		icmp[24] = type == ND_NS ? 1 : 2; /* source / target link-layer address */
		icmp[25] = 1;
		memcpy(icmp + 26, ll, 6);
	}
	put16(icmp + 2, l4_csum(b, PROTO_ICMPV6, icmp, (uint32_t)ilen, 2));
	return frame(eth_dst, &from->mac, RTE_ETHER_TYPE_IPV6, b, 40 + ilen, 60);
}

/* ---- the worker's part and the control thread's ---------------------------------------------- */

static void set_time(uint64_t t)
{
	now = t;
	ctrl.now_ns = t;
	W->now_ns = t;
}

/* The worker ends a loop iteration: it holds nothing published any more. */
static void quiescent(void)
{
	rte_rcu_qsbr_quiescent(mg_dev.rcu, W->id);
}

/* Frames from the LAN through the worker's rx: what it forwards into pkts (up to MG_BURST). */
static uint16_t from_lan(struct rte_mbuf *m, struct rte_mbuf **pkts)
{
	must(rte_ring_enqueue(lan_in, m) == 0, "the LAN's ring");
	return mg_inner_lan.rx(0, pkts, MG_BURST);
}

/* One frame in; the one packet forwarded, or NULL (anything more is a failure, freed). */
static struct rte_mbuf *forwarded(struct rte_mbuf *m)
{
	struct rte_mbuf *pkts[MG_BURST];
	uint16_t n = from_lan(m, pkts);

	CHECK(n <= 1, "one frame in, %u packets out", n);
	for (uint16_t i = 1; i < n; i++)
		rte_pktmbuf_free(pkts[i]);
	return n ? pkts[0] : NULL;
}

/* Inner packets from the mesh (the decrypt path's delivery) through the worker's tx. */
static uint16_t to_lan(const uint8_t *pkt, size_t len, unsigned int count)
{
	struct rte_mbuf *pkts[MG_BURST];

	must(count <= MG_BURST, "a burst");
	for (unsigned int i = 0; i < count; i++) {
		uint8_t *p;

		pkts[i] = rte_pktmbuf_alloc(mg_dev.pool);
		must(pkts[i] != NULL, "mbuf");
		p = (uint8_t *)rte_pktmbuf_append(pkts[i], (uint16_t)len);
		must(p != NULL, "room");
		memcpy(p, pkt, len);
	}
	return mg_inner_lan.tx(0, pkts, (uint16_t)count);
}

/* IPv4 packets from the mesh host to dst, identification first..first+count-1, TTL 64. */
static uint16_t to_lan4(const uint8_t *dst, uint16_t first, unsigned int count)
{
	uint16_t sent = 0;

	for (unsigned int i = 0; i < count; i++) {
		uint8_t b[128];
		size_t len = udp(b, AF_INET, remote4, dst, 64, (uint16_t)(first + i), 20);

		sent = (uint16_t)(sent + to_lan(b, len, 1));
	}
	return sent;
}

/* Everything on the wire now, up to max frames (the caller frees them). */
static unsigned int wire(struct rte_mbuf **f, unsigned int max)
{
	return rte_ring_dequeue_burst(lan_out, (void **)f, max, NULL);
}

static void free_all(struct rte_mbuf **f, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		rte_pktmbuf_free(f[i]);
}

/* Nothing on the wire: frames found are a failure (and freed). */
static void wire_empty(const char *when)
{
	struct rte_mbuf *f[64];
	unsigned int n = wire(f, RTE_DIM(f));

	CHECK(n == 0, "nothing on the wire %s: %u frames", when, n);
	free_all(f, n);
}

/* The control thread's turn as the loop takes it, after the worker's quiescent state, then the
 * worker's sending what the control thread queued for the LAN. */
static void turn(void)
{
	quiescent();
	lan_turn();
	icmp_turn();
	core_reclaim();
	lan_tx_ctrl(W);
}

/* The snapshot's entry for addr, as a worker would find it (walked here, not probed). */
static const struct mg_lan_neigh *snap(int family, const uint8_t *addr)
{
	const struct mg_lan_neighs *t = __atomic_load_n(&mg_dev.lan->neighs, __ATOMIC_ACQUIRE);

	for (uint32_t i = 0; t && i <= t->mask; i++)
		if (t->slot[i].family == family && memcmp(t->slot[i].addr, addr, family == AF_INET ? 4 : 16) == 0)
			return &t->slot[i];
	return NULL;
}

static const uint8_t *l3(const struct rte_mbuf *f)
{
	return rte_pktmbuf_mtod_offset(f, const uint8_t *, RTE_ETHER_HDR_LEN);
}

/* Not rte_is_same_ether_addr: DPDK 22.11's reads the bytes as uint16_t, which lets GCC drop the
 * stores that made a compound literal or a local address at -O2 (strict aliasing). */
static bool mac_eq(const struct rte_ether_addr *a, const struct rte_ether_addr *b)
{
	return memcmp(a, b, RTE_ETHER_ADDR_LEN) == 0;
}

static bool eth_is(const struct rte_mbuf *f, const struct rte_ether_addr *dst, uint16_t type)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(f, const struct rte_ether_hdr *);

	return rte_pktmbuf_data_len(f) >= RTE_ETHER_HDR_LEN && mac_eq(&eth->dst_addr, dst) &&
	       mac_eq(&eth->src_addr, &our_mac) && eth->ether_type == rte_cpu_to_be_16(type);
}

/* An ARP frame of ours, every field checked. */
static void check_arp(const struct rte_mbuf *f, uint16_t op, const struct rte_ether_addr *eth_dst,
		      const struct rte_ether_addr *tha, const uint8_t *tip, const char *what)
{
	const struct rte_arp_hdr *a = (const struct rte_arp_hdr *)l3(f);

	CHECK(eth_is(f, eth_dst, RTE_ETHER_TYPE_ARP), "%s: Ethernet header (to the right MAC, from ours, ARP)", what);
	if (rte_pktmbuf_data_len(f) < RTE_ETHER_HDR_LEN + sizeof(*a)) {
		CHECK(false, "%s: %u bytes, too short for ARP", what, rte_pktmbuf_data_len(f));
		return;
	}
	CHECK(a->arp_hardware == rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) &&
	      a->arp_protocol == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) && a->arp_hlen == 6 && a->arp_plen == 4,
	      "%s: Ethernet/IPv4 ARP", what);
	CHECK(a->arp_opcode == rte_cpu_to_be_16(op), "%s: opcode %u", what, rte_be_to_cpu_16(a->arp_opcode));
	CHECK(mac_eq(&a->arp_data.arp_sha, &our_mac) &&
	      memcmp(&a->arp_data.arp_sip, our4, 4) == 0, "%s: sender is us (our MAC, 10.1.0.1)", what);
	CHECK(mac_eq(&a->arp_data.arp_tha, tha) && memcmp(&a->arp_data.arp_tip, tip, 4) == 0,
	      "%s: target hardware and protocol address", what);
}

/* Whether f is an ARP request of ours for tip (no checks: for counting). */
static bool is_arp_request(const struct rte_mbuf *f, const uint8_t *tip)
{
	const struct rte_arp_hdr *a = (const struct rte_arp_hdr *)l3(f);

	return rte_pktmbuf_data_len(f) >= RTE_ETHER_HDR_LEN + sizeof(*a) &&
	       rte_pktmbuf_mtod(f, const struct rte_ether_hdr *)->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) &&
	       a->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) && memcmp(&a->arp_data.arp_tip, tip, 4) == 0;
}

/* An ND message of ours: IPv6 header, ICMPv6 checksum, type, target and link-layer option. */
static void check_nd(const struct rte_mbuf *f, uint8_t type, const struct rte_ether_addr *eth_dst,
		     const uint8_t *dst, const uint8_t *target, const char *what)
{
	const uint8_t *ip = l3(f), *icmp = ip + 40;

	CHECK(eth_is(f, eth_dst, RTE_ETHER_TYPE_IPV6), "%s: Ethernet header (to the right MAC, from ours, IPv6)", what);
	if (rte_pktmbuf_data_len(f) < RTE_ETHER_HDR_LEN + 40 + 32) {
		CHECK(false, "%s: %u bytes, too short", what, rte_pktmbuf_data_len(f));
		return;
	}
	CHECK((ip[0] >> 4) == 6 && ip[6] == PROTO_ICMPV6 && get16(ip + 4) == 32 &&
	      rte_pktmbuf_data_len(f) == RTE_ETHER_HDR_LEN + 40 + 32, "%s: IPv6, ICMPv6, 32 bytes", what);
	CHECK(ip[7] == 255, "%s: hop limit 255 (RFC 4861), not %u", what, ip[7]);
	CHECK(memcmp(ip + 8, our6, 16) == 0 && memcmp(ip + 24, dst, 16) == 0, "%s: from fd01::1 to the right address",
	      what);
	CHECK(l4_ok(ip, PROTO_ICMPV6, icmp, 32), "%s: ICMPv6 checksum verifies", what);
	CHECK(icmp[0] == type && icmp[1] == 0, "%s: type %u code %u", what, icmp[0], icmp[1]);
	CHECK(memcmp(icmp + 8, target, 16) == 0, "%s: target", what);
	CHECK(icmp[24] == (type == ND_NA ? 2 : 1) && icmp[25] == 1 && memcmp(icmp + 26, &our_mac, 6) == 0,
	      "%s: %s link-layer address option with our MAC", what, type == ND_NA ? "target" : "source");
	if (type == ND_NA)
		CHECK((icmp[4] & 0x80) == 0 && (icmp[4] & 0x40), "%s: solicited, not router (flags 0x%02x)", what, icmp[4]);
}

/* An IP packet we forwarded onto the LAN: to mac, with the TTL / hop limit one less than sent
 * (orig), else unchanged. */
static void check_forwarded(const struct rte_mbuf *f, const struct rte_ether_addr *mac, const uint8_t *orig, size_t len,
			    const char *what)
{
	const uint8_t *ip = l3(f);
	bool v4 = (orig[0] >> 4) == 4;

	CHECK(eth_is(f, mac, v4 ? RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6), "%s: Ethernet header", what);
	if (rte_pktmbuf_data_len(f) != RTE_ETHER_HDR_LEN + len) {
		CHECK(false, "%s: %u bytes, not %zu", what, rte_pktmbuf_data_len(f), RTE_ETHER_HDR_LEN + len);
		return;
	}
	if (v4) {
		CHECK(ip[8] == orig[8] - 1, "%s: TTL %u, sent %u", what, ip[8], orig[8]);
		CHECK(ip4_ok(ip), "%s: IPv4 header checksum verifies", what);
		CHECK(memcmp(ip, orig, 8) == 0 && ip[9] == orig[9] && memcmp(ip + 12, orig + 12, len - 12) == 0,
		      "%s: nothing else changed", what);
	} else {
		CHECK(ip[7] == orig[7] - 1, "%s: hop limit %u, sent %u", what, ip[7], orig[7]);
		CHECK(memcmp(ip, orig, 7) == 0 && memcmp(ip + 8, orig + 8, len - 8) == 0, "%s: nothing else changed", what);
	}
}

/* An ICMP(v6) error from us about orig (as quoted), of type/code, to orig's source. ip: the error's
 * IP header, len bytes. Returns the quote (for the caller's own checks on it), or NULL. */
static const uint8_t *check_icmp_error(const uint8_t *ip, size_t len, const uint8_t *orig, size_t olen, uint8_t type,
				       uint8_t code, const char *what)
{
	bool v4 = (orig[0] >> 4) == 4;
	size_t hl = v4 ? 20 : 40;
	const uint8_t *icmp = ip + hl;

	if (len < hl + 8 + olen) {
		CHECK(false, "%s: %zu bytes, too short to quote %zu", what, len, olen);
		return NULL;
	}
	CHECK(len == hl + 8 + olen, "%s: %zu bytes: header, ICMP header and the whole packet quoted", what, len);
	if (v4) {
		CHECK((ip[0] >> 4) == 4 && ip[9] == PROTO_ICMP && get16(ip + 2) == len, "%s: IPv4, ICMP, its length", what);
		CHECK(ip4_ok(ip), "%s: IPv4 header checksum verifies", what);
		CHECK(memcmp(ip + 12, our4, 4) == 0 && memcmp(ip + 16, orig + 12, 4) == 0,
		      "%s: from 10.1.0.1 to the packet's source", what);
		CHECK(fold(sum16(0, icmp, len - hl)) == 0xffff, "%s: ICMP checksum verifies", what);
	} else {
		CHECK((ip[0] >> 4) == 6 && ip[6] == PROTO_ICMPV6 && get16(ip + 4) == len - 40, "%s: IPv6, ICMPv6, its length",
		      what);
		CHECK(memcmp(ip + 8, our6, 16) == 0 && memcmp(ip + 24, orig + 8, 16) == 0,
		      "%s: from fd01::1 to the packet's source", what);
		CHECK(l4_ok(ip, PROTO_ICMPV6, icmp, (uint32_t)(len - hl)), "%s: ICMPv6 checksum verifies", what);
	}
	CHECK(icmp[0] == type && icmp[1] == code, "%s: type %u code %u expected, got %u/%u", what, type, code, icmp[0],
	      icmp[1]);
	return icmp + 8;
}

/* The one ICMP error the control thread sent into the mesh (mg_dev.to_mesh), checked; its quote
 * is copied to quote (olen bytes) for the caller. */
static void check_to_mesh(const uint8_t *orig, size_t olen, uint8_t type, uint8_t code, uint8_t *quote,
			  const char *what)
{
	struct rte_mbuf *m[8];
	unsigned int n = rte_ring_dequeue_burst(mg_dev.to_mesh, (void **)m, RTE_DIM(m), NULL);

	CHECK(n == 1, "%s: %u packets for the mesh, not 1", what, n);
	if (n >= 1) {
		const uint8_t *q = check_icmp_error(rte_pktmbuf_mtod(m[0], const uint8_t *), rte_pktmbuf_data_len(m[0]),
						    orig, olen, type, code, what);

		if (q)
			memcpy(quote, q, olen);
		else
			memset(quote, 0, olen);
	}
	free_all(m, n);
}

/* An ARP reply from h to us, through the worker and the control thread: h resolved. */
static void arp_answer(const struct host *h)
{
	struct rte_mbuf *pkts[MG_BURST];

	CHECK(from_lan(arp_frame(RTE_ARP_OP_REPLY, &our_mac, &h->mac, h->a4, &our_mac, our4), pkts) == 0,
	      "an ARP reply is not forwarded");
	quiescent();
	lan_turn();
	lan_tx_ctrl(W);
}

/* ---- the scenarios ---------------------------------------------------------------------------- */

static void arp(void)
{
	const struct mg_lan_neighs *old = mg_dev.lan->neighs;
	static const uint8_t other[4] = { 10, 1, 0, 99 };
	struct rte_mbuf *pkts[MG_BURST], *f[8];
	const struct mg_lan_neigh *e;
	unsigned int n;

	CHECK(from_lan(arp_frame(RTE_ARP_OP_REQUEST, &bcast, &H.mac, H.a4, &zero_mac, our4), pkts) == 0,
	      "arp: a request is not forwarded");
	CHECK(rte_ring_count(mg_dev.lan->to_neigh) == 1, "arp: the request is the control thread's");
	wire_empty("before the control thread's turn");
	lan_turn();
	wire_empty("before the worker sends what the control thread queued");
	lan_tx_ctrl(W);
	n = wire(f, RTE_DIM(f));
	CHECK(n == 1, "arp: one reply, %u frames", n);
	if (n >= 1)
		check_arp(f[0], RTE_ARP_OP_REPLY, &H.mac, &H.mac, H.a4, "arp reply");
	free_all(f, n);
	/* The asker is learned (RFC 826), and the workers see it. */
	e = snap(AF_INET, H.a4);
	CHECK(e && mac_eq(&e->mac, &H.mac), "arp: 10.1.0.2 in the workers' snapshot with its MAC");
	CHECK(mg_dev.lan->neighs != old, "arp: a new snapshot was published");
#ifdef TEST_ASAN
	/* The old snapshot waits for a grace period: not freed while the worker (thread 0, online) has
	 * not been quiescent since, freed by the first reclaim after. */
	core_reclaim();
	CHECK(old && !__asan_address_is_poisoned(old), "arp: the old snapshot outlives a reclaim before the grace period");
	quiescent();
	core_reclaim();
	CHECK(old && __asan_address_is_poisoned(old), "arp: the old snapshot is freed after the worker's quiescent state");
#endif

	/* A request for another address on the LAN: not ours to answer, and its sender not learned. */
	CHECK(from_lan(arp_frame(RTE_ARP_OP_REQUEST, &bcast, &X.mac, X.a4, &zero_mac, other), pkts) == 0,
	      "arp: another's request is not forwarded");
	turn();
	wire_empty("after a request for 10.1.0.99");
	CHECK(snap(AF_INET, X.a4) == NULL, "arp: a request for someone else teaches nothing");
	/* A malformed one (hardware length 8): ignored. */
	{
		struct rte_mbuf *m = arp_frame(RTE_ARP_OP_REQUEST, &bcast, &X.mac, X.a4, &zero_mac, our4);

		rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, RTE_ETHER_HDR_LEN)->arp_hlen = 8;
		CHECK(from_lan(m, pkts) == 0, "arp: a malformed request is not forwarded");
		turn();
		wire_empty("after a malformed ARP request");
		CHECK(snap(AF_INET, X.a4) == NULL, "arp: a malformed request teaches nothing");
	}
}

static void nd(void)
{
	struct rte_ether_addr snm_mac;
	struct rte_mbuf *pkts[MG_BURST], *f[8];
	const struct mg_lan_neigh *e;
	static const uint8_t other6[16] = { 0xfd, 0x01, [15] = 0x99 };
	uint8_t snm[16];
	unsigned int n;

	solicited(our6, snm, &snm_mac);
	CHECK(from_lan(nd_frame(ND_NS, &snm_mac, &H, snm, our6, &H.mac, 255, 0), pkts) == 0,
	      "nd: a solicitation is not forwarded");
	CHECK(rte_ring_count(mg_dev.lan->to_neigh) == 1, "nd: the solicitation is the control thread's");
	lan_turn();
	lan_tx_ctrl(W);
	n = wire(f, RTE_DIM(f));
	CHECK(n == 1, "nd: one advertisement, %u frames", n);
	if (n >= 1)
		check_nd(f[0], ND_NA, &H.mac, H.a6, our6, "nd advertisement");
	free_all(f, n);
	e = snap(AF_INET6, H.a6);
	CHECK(e && mac_eq(&e->mac, &H.mac), "nd: fd01::2 in the workers' snapshot with its MAC");

	/* Hop limit 254: it came through a router, so it is not a neighbour's (RFC 4861 7.1.1). */
	CHECK(from_lan(nd_frame(ND_NS, &snm_mac, &X, snm, our6, &X.mac, 254, 0), pkts) == 0,
	      "nd: a solicitation with hop limit 254 is not forwarded");
	turn();
	wire_empty("after a solicitation with hop limit 254");
	CHECK(snap(AF_INET6, X.a6) == NULL, "nd: nothing learned from hop limit 254");
	/* For another address: not ours to answer. */
	solicited(other6, snm, &snm_mac);
	CHECK(from_lan(nd_frame(ND_NS, &snm_mac, &X, snm, other6, &X.mac, 255, 0), pkts) == 0,
	      "nd: a solicitation for another is not forwarded");
	turn();
	wire_empty("after a solicitation for fd01::99");
}

static void forward(void)
{
	uint8_t b[256];
	size_t len;
	struct rte_mbuf *m;

	/* IPv4, 32 bytes of IP in a 60-byte frame: 14 bytes of padding. */
	len = udp(b, AF_INET, H.a4, remote4, 64, 0x1234, 4);
	m = forwarded(ip_frame(&H, b, len));
	CHECK(m != NULL, "forward: IPv4 UDP to 10.2.0.5 is forwarded");
	if (m) {
		const uint8_t *ip = rte_pktmbuf_mtod(m, const uint8_t *);

		CHECK(rte_pktmbuf_pkt_len(m) == len && rte_pktmbuf_data_len(m) == len,
		      "forward: %u bytes: the Ethernet header and padding gone, %zu left", rte_pktmbuf_pkt_len(m), len);
		CHECK(ip[0] == 0x45 && ip[8] == 63, "forward: starts at the IPv4 header, TTL 63 (%u)", ip[8]);
		CHECK(ip4_ok(ip), "forward: the IPv4 header checksum verifies");
		CHECK(get16(ip + 10) == ip4_csum(ip), "forward: the checksum is the one a recompute gives");
		CHECK(memcmp(ip, b, 8) == 0 && ip[9] == b[9] && memcmp(ip + 12, b + 12, len - 12) == 0,
		      "forward: nothing else changed");
		rte_pktmbuf_free(m);
	}
	/* A checksum whose update carries: 0xfeff + 0x0100 wraps (RFC 1624). Found by trying ids. */
	for (uint16_t id = 0; id < 0xffff; id++) {
		len = udp(b, AF_INET, H.a4, remote4, 64, id, 4);
		if (get16(b + 10) >= 0xff00)
			break;
	}
	CHECK(get16(b + 10) >= 0xff00, "forward: a packet whose checksum update carries");
	m = forwarded(ip_frame(&H, b, len));
	CHECK(m && ip4_ok(rte_pktmbuf_mtod(m, const uint8_t *)) &&
	      get16(rte_pktmbuf_mtod(m, const uint8_t *) + 10) == ip4_csum(rte_pktmbuf_mtod(m, const uint8_t *)),
	      "forward: the checksum is right across the carry (was 0x%04x)", get16(b + 10));
	rte_pktmbuf_free(m);

	/* IPv6, with 6 bytes past its payload length in the frame. */
	len = udp(b, AF_INET6, H.a6, remote6, 64, 0x4321, 10);
	m = forwarded(frame(&our_mac, &H.mac, RTE_ETHER_TYPE_IPV6, b, len, RTE_ETHER_HDR_LEN + len + 6));
	CHECK(m != NULL, "forward: IPv6 UDP to fd02::5 is forwarded");
	if (m) {
		const uint8_t *ip = rte_pktmbuf_mtod(m, const uint8_t *);

		CHECK(rte_pktmbuf_pkt_len(m) == len && rte_pktmbuf_data_len(m) == len,
		      "forward: IPv6: %u bytes, %zu expected", rte_pktmbuf_pkt_len(m), len);
		CHECK((ip[0] >> 4) == 6 && ip[7] == 63, "forward: IPv6 header, hop limit 63 (%u)", ip[7]);
		CHECK(memcmp(ip, b, 7) == 0 && memcmp(ip + 8, b + 8, len - 8) == 0, "forward: IPv6: nothing else changed");
		CHECK(l4_ok(ip, PROTO_UDP, ip + 40, (uint32_t)(len - 40)), "forward: the UDP checksum still verifies");
		rte_pktmbuf_free(m);
	}
	wire_empty("after forwarding into the mesh");
	CHECK(rte_ring_count(mg_dev.lan->to_neigh) == 0 && rte_ring_count(mg_dev.icmp_req) == 0,
	      "forward: nothing for the control thread");
}

/* One frame refused by rx, counted under why. */
static void refused(struct rte_mbuf *m, enum mg_drop why, const char *what)
{
	uint64_t before = mg_drop_total(why);
	struct rte_mbuf *out = forwarded(m);

	CHECK(out == NULL, "not forwarded: %s", what);
	rte_pktmbuf_free(out);
	CHECK(mg_drop_total(why) == before + 1, "%s: counted as %s (%" PRIu64 " -> %" PRIu64 ")", what,
	      mg_drop_names[why], before, mg_drop_total(why));
}

static void not_forwarded(void)
{
	static const uint8_t mdns[4] = { 224, 0, 0, 251 }, limited[4] = { 255, 255, 255, 255 };
	static const uint8_t ll4[4] = { 169, 254, 1, 1 }, zero_net[4] = { 0, 1, 2, 3 }, loop4[4] = { 127, 0, 0, 1 };
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 }, ll6[16] = { 0xfe, 0x80, [15] = 1 };
	static const uint8_t ll6_src[16] = { 0xfe, 0x80, [15] = 2 };
	uint8_t b[256];
	size_t len;
	uint64_t icmp_before = rte_ring_count(mg_dev.icmp_req);

	len = udp(b, AF_INET, H.a4, our4, 64, 1, 8);
	refused(ip_frame(&H, b, len), MG_DROP_LAN_TO_US, "UDP to 10.1.0.1");
	len = udp(b, AF_INET6, H.a6, our6, 64, 1, 8);
	refused(ip_frame(&H, b, len), MG_DROP_LAN_TO_US, "UDP to fd01::1");
	len = udp(b, AF_INET, H.a4, mdns, 255, 1, 8);
	refused(ip_frame(&H, b, len), MG_DROP_LAN_NOT_ROUTED, "UDP to 224.0.0.251");
	len = udp(b, AF_INET, H.a4, limited, 64, 1, 8);
	refused(frame(&bcast, &H.mac, RTE_ETHER_TYPE_IPV4, b, len, 60), MG_DROP_LAN_NOT_ROUTED, "UDP to 255.255.255.255");
	len = udp(b, AF_INET, H.a4, ll4, 64, 1, 8);
	refused(ip_frame(&H, b, len), MG_DROP_LAN_NOT_ROUTED, "UDP to 169.254.1.1");
	len = udp(b, AF_INET, ll4, remote4, 64, 1, 8);
	refused(ip_frame(&H, b, len), MG_DROP_LAN_NOT_ROUTED, "UDP from 169.254.1.1");
	len = udp(b, AF_INET, H.a4, zero_net, 64, 1, 8);
	refused(ip_frame(&H, b, len), MG_DROP_LAN_NOT_ROUTED, "UDP to 0.1.2.3");
	len = udp(b, AF_INET, H.a4, loop4, 64, 1, 8);
	refused(ip_frame(&H, b, len), MG_DROP_LAN_NOT_ROUTED, "UDP to 127.0.0.1");
	len = udp(b, AF_INET6, H.a6, all_nodes, 64, 1, 8);
	refused(ip_frame(&H, b, len), MG_DROP_LAN_NOT_ROUTED, "UDP to ff02::1");
	len = udp(b, AF_INET6, H.a6, ll6, 64, 1, 8);
	refused(ip_frame(&H, b, len), MG_DROP_LAN_NOT_ROUTED, "UDP to fe80::1");
	len = udp(b, AF_INET6, ll6_src, remote6, 64, 1, 8);
	refused(ip_frame(&H, b, len), MG_DROP_LAN_NOT_ROUTED, "UDP from fe80::2 to fd02::5");

	len = udp(b, AF_INET, H.a4, remote4, 64, 1, 8);
	b[10] ^= 0x55;
	refused(ip_frame(&H, b, len), MG_DROP_LAN_BAD_IP, "a bad IPv4 header checksum");
	len = udp(b, AF_INET, H.a4, remote4, 64, 1, 8);
	refused(frame(&our_mac, &H.mac, RTE_ETHER_TYPE_IPV4, b, 10, 0), MG_DROP_LAN_BAD_IP,
		"a truncated IPv4 header (10 bytes)");
	len = udp(b, AF_INET6, H.a6, remote6, 64, 1, 8);
	refused(frame(&our_mac, &H.mac, RTE_ETHER_TYPE_IPV6, b, 30, 0), MG_DROP_LAN_BAD_IP,
		"a truncated IPv6 header (30 bytes)");
	len = udp(b, AF_INET, H.a4, remote4, 64, 1, 8);
	put16(b + 2, 200); /* longer than the frame */
	put16(b + 10, ip4_csum(b));
	refused(ip_frame(&H, b, len), MG_DROP_LAN_BAD_IP, "an IPv4 length past the frame");
	len = udp(b, AF_INET, H.a4, remote4, 64, 1, 8);
	b[0] = 0x4f; /* a 60-byte header in a 36-byte packet */
	put16(b + 10, ip4_csum(b));
	refused(ip_frame(&H, b, len), MG_DROP_LAN_BAD_IP, "an IPv4 header longer than the packet");
	len = udp(b, AF_INET6, H.a6, remote6, 64, 1, 8);
	put16(b + 4, 500);
	refused(ip_frame(&H, b, len), MG_DROP_LAN_BAD_IP, "an IPv6 payload length past the frame");
	len = udp(b, AF_INET, H.a4, remote4, 64, 1, 8);
	refused(frame(&our_mac, &H.mac, RTE_ETHER_TYPE_IPV6, b, len, 60), MG_DROP_LAN_BAD_IP,
		"IPv4 under the IPv6 ethertype");

	len = udp(b, AF_INET, H.a4, remote4, 64, 1, 8);
	refused(frame(&our_mac, &H.mac, 0x88cc, b, len, 60), MG_DROP_LAN_NOT_IP, "LLDP (0x88cc)");
	refused(frame(&our_mac, &H.mac, RTE_ETHER_TYPE_VLAN, b, len, 60), MG_DROP_LAN_NOT_IP, "a VLAN tag (0x8100)");
	{
		struct rte_mbuf *m = frame(&our_mac, &H.mac, RTE_ETHER_TYPE_IPV4, b, 0, 0);

		rte_pktmbuf_trim(m, 4); /* 10 bytes: not even an Ethernet header */
		refused(m, MG_DROP_LAN_NOT_IP, "a 10-byte runt");
	}
	CHECK(rte_ring_count(mg_dev.icmp_req) == icmp_before, "not_forwarded: no ICMP error asked for any of these");
	CHECK(rte_ring_count(mg_dev.lan->to_neigh) == 0, "not_forwarded: nothing for the control thread");
	turn();
	wire_empty("after the refused frames");
}

static void ttl(void)
{
	uint8_t b[256];
	struct rte_mbuf *f[8];
	size_t len;
	uint64_t before = mg_drop_total(MG_DROP_TTL_EXCEEDED), sent = ctrl.icmp_errors_sent;
	unsigned int n;

	len = udp(b, AF_INET, H.a4, remote4, 1, 0x0101, 12);
	CHECK(forwarded(ip_frame(&H, b, len)) == NULL, "ttl: TTL 1 is not forwarded");
	CHECK(mg_drop_total(MG_DROP_TTL_EXCEEDED) == before + 1, "ttl: counted as ttl_exceeded");
	CHECK(rte_ring_count(mg_dev.icmp_req) == 1, "ttl: an ICMP error asked for");
	wire_empty("before the control thread's turn");
	quiescent();
	icmp_turn();
	lan_turn();
	lan_tx_ctrl(W);
	CHECK(ctrl.icmp_errors_sent == sent + 1, "ttl: one ICMP error sent");
	n = wire(f, RTE_DIM(f));
	CHECK(n == 1, "ttl: one frame on the wire, %u", n);
	if (n >= 1) {
		const uint8_t *q;

		CHECK(eth_is(f[0], &H.mac, RTE_ETHER_TYPE_IPV4), "ttl: to 10.1.0.2's MAC, from ours");
		q = check_icmp_error(l3(f[0]), rte_pktmbuf_data_len(f[0]) - RTE_ETHER_HDR_LEN, b, len, 11, 0,
				     "ttl: time exceeded");
		CHECK(q && memcmp(q, b, len) == 0, "ttl: quotes the packet as it came (TTL 1, its checksum)");
	}
	free_all(f, n);

	/* IPv6: hop limit 1. */
	before = mg_drop_total(MG_DROP_TTL_EXCEEDED);
	len = udp(b, AF_INET6, H.a6, remote6, 1, 0x0606, 12);
	CHECK(forwarded(ip_frame(&H, b, len)) == NULL, "ttl: hop limit 1 is not forwarded");
	CHECK(mg_drop_total(MG_DROP_TTL_EXCEEDED) == before + 1, "ttl: hop limit 1 counted as ttl_exceeded");
	turn();
	n = wire(f, RTE_DIM(f));
	CHECK(n == 1, "ttl: IPv6: one frame on the wire, %u", n);
	if (n >= 1) {
		const uint8_t *q;

		CHECK(eth_is(f[0], &H.mac, RTE_ETHER_TYPE_IPV6), "ttl: IPv6: to fd01::2's MAC, from ours");
		q = check_icmp_error(l3(f[0]), rte_pktmbuf_data_len(f[0]) - RTE_ETHER_HDR_LEN, b, len, 3, 0,
				     "ttl: ICMPv6 time exceeded");
		CHECK(q && memcmp(q, b, len) == 0, "ttl: IPv6: quotes the packet as it came");
	}
	free_all(f, n);

	/* Not about an ICMP error: a time exceeded with TTL 1 gets none back. */
	{
		uint8_t e[128];
		size_t elen = 20 + 8 + 28;

		udp(b, AF_INET, remote4, H.a4, 1, 0x0909, 12); /* what the error is about */
		ip4_hdr(e, H.a4, remote4, PROTO_ICMP, 1, 9, 8 + 28);
		memset(e + 20, 0, 8 + 28);
		e[20] = 11;
		memcpy(e + 28, b, 20);
		put16(e + 22, (uint16_t)~fold(sum16(0, e + 20, 8 + 28)));
		before = mg_drop_total(MG_DROP_TTL_EXCEEDED);
		CHECK(forwarded(ip_frame(&H, e, elen)) == NULL, "ttl: an ICMP error with TTL 1 is not forwarded");
		CHECK(mg_drop_total(MG_DROP_TTL_EXCEEDED) == before + 1, "ttl: ... and counted");
		CHECK(rte_ring_count(mg_dev.icmp_req) == 0, "ttl: no error asked for about an error");
		turn();
		wire_empty("after an ICMP error ran out of TTL");
	}
}

static void mss(void)
{
	uint8_t b[256];
	size_t len;
	struct rte_mbuf *m;

	struct {
		int family;
		uint8_t flags;
		uint16_t mss, want;
		const char *what;
	} cases[] = {
		{ AF_INET, 0x02, 1460, INNER_MTU - 40, "IPv4 SYN" },
		{ AF_INET, 0x12, 1460, INNER_MTU - 40, "IPv4 SYN-ACK" },
		{ AF_INET6, 0x02, 1440, INNER_MTU - 60, "IPv6 SYN" },
		{ AF_INET, 0x10, 1460, 1460, "IPv4 ACK (not a SYN)" },
		{ AF_INET6, 0x18, 1440, 1440, "IPv6 PSH-ACK (not a SYN)" },
		{ AF_INET, 0x02, 1200, 1200, "IPv4 SYN with MSS 1200 (below the clamp)" },
	};

	for (size_t i = 0; i < RTE_DIM(cases); i++) {
		int fam = cases[i].family;
		size_t hl = fam == AF_INET ? 20 : 40;

		len = tcp(b, fam, fam == AF_INET ? H.a4 : H.a6, fam == AF_INET ? remote4 : remote6, cases[i].flags,
			  cases[i].mss);
		m = forwarded(ip_frame(&H, b, len));
		CHECK(m != NULL && rte_pktmbuf_data_len(m) == len, "mss: %s forwarded whole", cases[i].what);
		if (!m || rte_pktmbuf_data_len(m) != len) {
			rte_pktmbuf_free(m);
			continue;
		}
		{
			const uint8_t *ip = rte_pktmbuf_mtod(m, const uint8_t *), *t = ip + hl;
			uint8_t want[256];

			CHECK(get16(t + 22) == cases[i].want, "mss: %s: MSS %u, %u expected", cases[i].what, get16(t + 22),
			      cases[i].want);
			CHECK(l4_ok(ip, PROTO_TCP, t, (uint32_t)(len - hl)), "mss: %s: the TCP checksum verifies",
			      cases[i].what);
			/* The segment as it should be: ours, with the MSS set and the checksum recomputed. */
			memcpy(want, b, len);
			put16(want + hl + 22, cases[i].want);
			put16(want + hl + 16, l4_csum(want, PROTO_TCP, want + hl, (uint32_t)(len - hl), 16));
			CHECK(memcmp(t, want + hl, len - hl) == 0, "mss: %s: the TCP segment is exactly as expected",
			      cases[i].what);
			if (cases[i].want == cases[i].mss)
				CHECK(memcmp(t, b + hl, len - hl) == 0, "mss: %s: unchanged", cases[i].what);
		}
		rte_pktmbuf_free(m);
	}
}

static void resolve(void)
{
	uint8_t b[4][128];
	size_t len[4];
	struct rte_mbuf *f[16], *pkts[MG_BURST];
	const struct mg_lan_neigh *e;
	unsigned int n;
	uint16_t sent = 0;

	/* Three packets to 10.1.0.3, which nobody asked about yet. */
	for (unsigned int i = 0; i < 4; i++)
		len[i] = udp(b[i], AF_INET, remote4, H3.a4, 64, (uint16_t)(0x300 + i), 20 + i);
	for (unsigned int i = 0; i < 3; i++)
		sent = (uint16_t)(sent + to_lan(b[i], len[i], 1));
	CHECK(sent == 0, "resolve: nothing sent to an unknown neighbour (%u)", sent);
	wire_empty("before 10.1.0.3 resolved");
	CHECK(rte_ring_count(mg_dev.lan->unresolved) == 3, "resolve: the three packets are the control thread's");
	quiescent();
	lan_turn();
	lan_tx_ctrl(W);
	n = wire(f, RTE_DIM(f));
	CHECK(n == 1, "resolve: one ARP request for three packets, %u frames", n);
	if (n >= 1)
		check_arp(f[0], RTE_ARP_OP_REQUEST, &bcast, &zero_mac, H3.a4, "resolve: request for 10.1.0.3");
	free_all(f, n);
	CHECK(snap(AF_INET, H3.a4) == NULL, "resolve: not in the snapshot while unresolved");
	/* It answers: the three go out, in order, to its MAC. */
	arp_answer(&H3);
	n = wire(f, RTE_DIM(f));
	CHECK(n == 3, "resolve: the three held packets on the wire, %u frames", n);
	for (unsigned int i = 0; i < n && i < 3; i++) {
		char what[64];

		snprintf(what, sizeof(what), "resolve: held packet %u", i);
		CHECK(get16(l3(f[i]) + 4) == 0x300 + i, "%s in order (id 0x%x)", what, get16(l3(f[i]) + 4));
		check_forwarded(f[i], &H3.mac, b[i], len[i], what);
	}
	free_all(f, n);
	e = snap(AF_INET, H3.a4);
	CHECK(e && mac_eq(&e->mac, &H3.mac), "resolve: 10.1.0.3 published to the workers");
	CHECK(e && !e->used, "resolve: a new entry is not marked used");
	/* The next one goes straight out of the worker. */
	CHECK(to_lan(b[3], len[3], 1) == 1, "resolve: the fourth packet is sent by the worker itself");
	n = wire(f, RTE_DIM(f));
	CHECK(n == 1, "resolve: the fourth on the wire without a control thread's turn, %u frames", n);
	if (n >= 1)
		check_forwarded(f[0], &H3.mac, b[3], len[3], "resolve: the fourth");
	free_all(f, n);
	CHECK(rte_ring_count(mg_dev.lan->unresolved) == 0, "resolve: nothing more for the control thread");
	CHECK(e && e->used, "resolve: the worker marked the entry used");
	/* Once a second the control thread clears the mark (and re-confirms stale used entries). */
	set_time(now + S(1));
	turn();
	CHECK(e == snap(AF_INET, H3.a4) && !e->used, "resolve: the mark is cleared each second");
	wire_empty("after the check of used entries (10.1.0.3 is fresh)");

	/* IPv6: fd01::3 through neighbour discovery. */
	{
		uint8_t b6[128], snm[16];
		size_t len6 = udp(b6, AF_INET6, remote6, H3.a6, 64, 0x0660, 30);
		struct rte_ether_addr snm_mac;

		solicited(H3.a6, snm, &snm_mac);
		CHECK(to_lan(b6, len6, 1) == 0, "resolve: nothing sent to fd01::3 yet");
		wire_empty("before fd01::3 resolved");
		turn();
		n = wire(f, RTE_DIM(f));
		CHECK(n == 1, "resolve: one neighbour solicitation, %u frames", n);
		if (n >= 1)
			check_nd(f[0], ND_NS, &snm_mac, snm, H3.a6, "resolve: solicitation for fd01::3");
		free_all(f, n);
		CHECK(from_lan(nd_frame(ND_NA, &our_mac, &H3, our6, H3.a6, &H3.mac, 255, 0x60), pkts) == 0,
		      "resolve: an advertisement is not forwarded");
		turn();
		n = wire(f, RTE_DIM(f));
		CHECK(n == 1, "resolve: the held IPv6 packet on the wire, %u frames", n);
		if (n >= 1)
			check_forwarded(f[0], &H3.mac, b6, len6, "resolve: IPv6 held packet");
		free_all(f, n);
		CHECK(to_lan(b6, len6, 1) == 1, "resolve: the next IPv6 packet goes straight out");
		n = wire(f, RTE_DIM(f));
		CHECK(n == 1, "resolve: ... on the wire, %u frames", n);
		if (n >= 1)
			check_forwarded(f[0], &H3.mac, b6, len6, "resolve: IPv6 straight out");
		free_all(f, n);
	}
}

static void routes(void)
{
	static const uint8_t behind[4] = { 10, 1, 9, 7 }, behind2[4] = { 10, 1, 11, 200 };
	static const uint8_t behind6[16] = { 0xfd, 0x08, [15] = 7 };
	uint8_t b[128], b2[128], b6[128], snm[16];
	struct rte_ether_addr snm_mac;
	struct rte_mbuf *f[16], *pkts[MG_BURST];
	size_t len = udp(b, AF_INET, remote4, behind, 64, 0x0907, 16), len2, len6;
	unsigned int n;

	CHECK(to_lan(b, len, 1) == 0, "routes: nothing sent before 10.1.0.254 resolves");
	turn();
	n = wire(f, RTE_DIM(f));
	CHECK(n == 1, "routes: one ARP request, %u frames", n);
	if (n >= 1)
		check_arp(f[0], RTE_ARP_OP_REQUEST, &bcast, &zero_mac, R.a4, "routes: request for the next hop 10.1.0.254");
	free_all(f, n);
	arp_answer(&R);
	n = wire(f, RTE_DIM(f));
	CHECK(n == 1, "routes: the held packet on the wire, %u frames", n);
	if (n >= 1)
		check_forwarded(f[0], &R.mac, b, len, "routes: to 10.1.9.7 via 10.1.0.254");
	free_all(f, n);
	len2 = udp(b2, AF_INET, remote4, behind2, 64, 0x0b0b, 16);
	CHECK(to_lan(b2, len2, 1) == 1, "routes: 10.1.11.200 (the same /22) goes straight out");
	n = wire(f, RTE_DIM(f));
	CHECK(n == 1, "routes: ... on the wire, %u frames", n);
	if (n >= 1)
		check_forwarded(f[0], &R.mac, b2, len2, "routes: to 10.1.11.200 via 10.1.0.254");
	free_all(f, n);

	/* IPv6: fd08::/64 via fd01::fe. */
	solicited(R.a6, snm, &snm_mac);
	len6 = udp(b6, AF_INET6, remote6, behind6, 64, 0x0808, 16);
	CHECK(to_lan(b6, len6, 1) == 0, "routes: nothing sent before fd01::fe resolves");
	turn();
	n = wire(f, RTE_DIM(f));
	CHECK(n == 1, "routes: one solicitation, %u frames", n);
	if (n >= 1)
		check_nd(f[0], ND_NS, &snm_mac, snm, R.a6, "routes: solicitation for the next hop fd01::fe");
	free_all(f, n);
	CHECK(from_lan(nd_frame(ND_NA, &our_mac, &R, our6, R.a6, &R.mac, 255, 0xe0), pkts) == 0,
	      "routes: the router's advertisement is not forwarded");
	turn();
	n = wire(f, RTE_DIM(f));
	CHECK(n == 1, "routes: the held IPv6 packet on the wire, %u frames", n);
	if (n >= 1)
		check_forwarded(f[0], &R.mac, b6, len6, "routes: to fd08::7 via fd01::fe");
	free_all(f, n);
}

static void no_route(void)
{
	static const uint8_t nowhere[4] = { 10, 5, 0, 1 }, nowhere6[16] = { 0xfd, 0x09, [15] = 1 };
	uint8_t b[128], quote[128];
	size_t len = udp(b, AF_INET, remote4, nowhere, 64, 0x0501, 16);
	uint64_t before = mg_drop_total(MG_DROP_LAN_NO_ROUTE);

	CHECK(to_lan(b, len, 1) == 0, "no_route: to 10.5.0.1 not sent");
	CHECK(mg_drop_total(MG_DROP_LAN_NO_ROUTE) == before + 1, "no_route: counted as lan_no_route");
	CHECK(rte_ring_count(mg_dev.icmp_req) == 1 && rte_ring_count(mg_dev.lan->unresolved) == 0,
	      "no_route: an ICMP error asked for, nothing held");
	quiescent();
	icmp_turn();
	lan_turn();
	lan_tx_ctrl(W);
	wire_empty("after an unroutable packet (the error goes to the mesh)");
	check_to_mesh(b, len, 3, 0, quote, "no_route: net unreachable");
	CHECK(memcmp(quote, b, len) == 0, "no_route: the packet quoted as it came (TTL %u, sent with %u: the route is "
	      "looked up before the TTL, as Linux)", quote[8], b[8]);

	before = mg_drop_total(MG_DROP_LAN_NO_ROUTE);
	len = udp(b, AF_INET6, remote6, nowhere6, 64, 0x0509, 16);
	CHECK(to_lan(b, len, 1) == 0, "no_route: to fd09::1 not sent");
	CHECK(mg_drop_total(MG_DROP_LAN_NO_ROUTE) == before + 1, "no_route: IPv6 counted as lan_no_route");
	turn();
	wire_empty("after an unroutable IPv6 packet");
	check_to_mesh(b, len, 1, 0, quote, "no_route: ICMPv6 no route");
	CHECK(memcmp(quote, b, 7) == 0 && memcmp(quote + 8, b + 8, len - 8) == 0,
	      "no_route: IPv6: the packet quoted (but for its hop limit)");
}

/* What a router must not take from the link: a frame not sent to its MAC (the link's broadcast,
 * another host's), and a LAN prefix's broadcast address either way (RFC 2644). */
static void not_ours(void)
{
	static const struct rte_ether_addr other = { { 0x02, 0, 0, 0, 0x02, 0x77 } };
	static const uint8_t lan_bcast[4] = { 10, 1, 0, 255 };
	uint8_t b[256];
	size_t len = udp(b, AF_INET, H.a4, remote4, 64, 1, 8);
	uint64_t before;

	refused(frame(&bcast, &H.mac, RTE_ETHER_TYPE_IPV4, b, len, 60), MG_DROP_LAN_NOT_ROUTED,
		"unicast 10.2.0.5 in a link broadcast frame");
	refused(frame(&other, &H.mac, RTE_ETHER_TYPE_IPV4, b, len, 60), MG_DROP_LAN_NOT_ROUTED,
		"a frame for another host's MAC");
	len = udp(b, AF_INET, H.a4, lan_bcast, 64, 1, 8);
	refused(ip_frame(&H, b, len), MG_DROP_LAN_NOT_ROUTED, "UDP to 10.1.0.255, the LAN's broadcast");
	CHECK(rte_ring_count(mg_dev.icmp_req) == 0, "not_ours: no ICMP error asked for any of them");
	before = mg_drop_total(MG_DROP_LAN_NOT_ROUTED);
	len = udp(b, AF_INET, remote4, lan_bcast, 64, 1, 8);
	CHECK(to_lan(b, len, 1) == 0, "not_ours: from the mesh to 10.1.0.255 not sent");
	CHECK(mg_drop_total(MG_DROP_LAN_NOT_ROUTED) == before + 1 && rte_ring_count(mg_dev.lan->unresolved) == 0,
	      "not_ours: counted as lan_not_routed, nothing held for resolution");
	turn();
	wire_empty("after a directed broadcast from the mesh (no ARP for it)");
}

/* The gateway answers ping on its LAN address, from the LAN and from the mesh, and nothing else. */
static void echo(void)
{
	uint8_t b[128];
	struct rte_mbuf *f[8], *m[8];
	unsigned int n;
	uint64_t before = ctrl.echo_replies_sent;

	for (int v6 = 0; v6 < 2; v6++) {
		size_t hl = v6 ? 40 : 20, len = hl + 8 + 24;

		memset(b, 0, sizeof(b));
		if (v6)
			ip6_hdr(b, H.a6, our6, PROTO_ICMPV6, 64, len - 40);
		else
			ip4_hdr(b, H.a4, our4, PROTO_ICMP, 64, 0x4242, len - 20);
		b[hl] = v6 ? 128 : 8;
		put16(b + hl + 4, 0x1234); /* identifier */
		put16(b + hl + 6, 7);      /* sequence */
		for (size_t i = hl + 8; i < len; i++)
			b[i] = (uint8_t)i;
		put16(b + hl + 2, v6 ? l4_csum(b, PROTO_ICMPV6, b + hl, (uint32_t)(len - hl), 2) :
				       (uint16_t)~fold(sum16(0, b + hl, len - hl)));
		CHECK(forwarded(ip_frame(&H, b, len)) == NULL, "echo: a ping to our %s address is not forwarded",
		      v6 ? "IPv6" : "IPv4");
		turn();
		n = wire(f, RTE_DIM(f));
		CHECK(n == 1, "echo (%s): one reply on the wire (%u frames)", v6 ? "v6" : "v4", n);
		if (n == 1) {
			const uint8_t *ip = l3(f[0]), *icmp = ip + hl;

			CHECK(eth_is(f[0], &H.mac, v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4),
			      "echo: to the host's MAC");
			CHECK(memcmp(ip + (v6 ? 8 : 12), v6 ? our6 : our4, v6 ? 16 : 4) == 0 &&
			      memcmp(ip + (v6 ? 24 : 16), v6 ? H.a6 : H.a4, v6 ? 16 : 4) == 0,
			      "echo: from our address to the host");
			CHECK(icmp[0] == (v6 ? 129 : 0) && icmp[1] == 0 && memcmp(icmp + 4, b + hl + 4, len - hl - 4) == 0,
			      "echo: an echo reply with the request's identifier, sequence and data");
			CHECK(v6 ? l4_ok(ip, PROTO_ICMPV6, icmp, (uint32_t)(len - hl)) :
				   ip4_ok(ip) && fold(sum16(0, icmp, len - hl)) == 0xffff,
			      "echo: checksums verify");
		}
		free_all(f, n);
	}
	/* From the mesh: the reply goes back into the mesh. */
	ip4_hdr(b, remote4, our4, PROTO_ICMP, 60, 0x4343, 8);
	memset(b + 20, 0, 8);
	b[20] = 8;
	put16(b + 22, (uint16_t)~fold(sum16(0, b + 20, 8)));
	CHECK(to_lan(b, 28, 1) == 0, "echo: from the mesh, not sent on the LAN");
	turn();
	n = rte_ring_dequeue_burst(mg_dev.to_mesh, (void **)m, RTE_DIM(m), NULL);
	CHECK(n == 1 && rte_pktmbuf_data_len(m[0]) == 28 && memcmp(rte_pktmbuf_mtod(m[0], uint8_t *) + 16, remote4, 4) == 0 &&
	      rte_pktmbuf_mtod(m[0], uint8_t *)[20] == 0, "echo: the reply to the mesh host goes into the mesh");
	free_all(m, n);
	CHECK(ctrl.echo_replies_sent == before + 3, "echo: three replies counted");
	wire_empty("after the echoes");
}

static void unanswered(void)
{
	static const uint8_t quiet[4] = { 10, 1, 0, 77 };
	uint8_t b[128], quote[128];
	size_t len = udp(b, AF_INET, remote4, quiet, 64, 0x0077, 16);
	uint64_t before = mg_drop_total(MG_DROP_LAN_UNRESOLVED), start = now, dropped_at = 0, last_req = 0;
	uint64_t min_gap = UINT64_MAX;
	unsigned int requests = 0, others = 0, broadcast = 0;

	CHECK(to_lan(b, len, 1) == 0, "unanswered: to 10.1.0.77 not sent yet");
	/* Five seconds of the control thread's turns, 250 ms apart. */
	for (uint64_t t = start; t <= start + S(5); t += MS(250)) {
		struct rte_mbuf *f[16];
		unsigned int n;

		set_time(t);
		turn();
		n = wire(f, RTE_DIM(f));
		for (unsigned int i = 0; i < n; i++) {
			if (is_arp_request(f[i], quiet)) {
				if (requests)
					min_gap = RTE_MIN(min_gap, t - last_req);
				requests++;
				last_req = t;
				broadcast += eth_is(f[i], &bcast, RTE_ETHER_TYPE_ARP);
			} else {
				others++;
			}
		}
		free_all(f, n);
		if (!dropped_at && mg_drop_total(MG_DROP_LAN_UNRESOLVED) != before)
			dropped_at = t;
	}
	printf("unanswered: %u ARP requests for 10.1.0.77; dropped after %.2f s\n", requests,
	       dropped_at ? (double)(dropped_at - start) / 1e9 : -1.0);
	CHECK(requests == 3, "unanswered: three requests, as Linux's mcast_solicit (%u)", requests);
	CHECK(min_gap >= S(1), "unanswered: at most one request a second (closest %.2f s apart)", (double)min_gap / 1e9);
	CHECK(broadcast == requests, "unanswered: every request broadcast (%u of %u)", broadcast, requests);
	CHECK(others == 0, "unanswered: nothing else on the wire (%u frames)", others);
	CHECK(mg_drop_total(MG_DROP_LAN_UNRESOLVED) == before + 1, "unanswered: counted as lan_unresolved once");
	CHECK(dropped_at >= start + S(3) && dropped_at <= start + S(4),
	      "unanswered: dropped 3 s after it came, within the second's check (%.2f s)",
	      (double)(dropped_at - start) / 1e9);
	check_to_mesh(b, len, 3, 1, quote, "unanswered: host unreachable");
	/* It waited for the next hop after the worker's TTL decrement, as Linux's neighbour queue: the
	 * quote shows TTL 63 (Linux quotes the skb it held). */
	CHECK(memcmp(quote + 12, b + 12, len - 12) == 0 && quote[9] == b[9],
	      "unanswered: the packet quoted (addresses and payload)");
	CHECK(quote[8] == b[8] - 1 && ip4_ok(quote), "unanswered: as it waited: TTL %u, its checksum right", quote[8]);
}

static void bounded(void)
{
	struct rte_mbuf *f[64];
	uint64_t before = mg_drop_total(MG_DROP_LAN_UNRESOLVED);
	unsigned int n, requests = 0, in_order = 0, total = 0;

	/* 40 packets to one unresolved host: 16 wait, 24 are dropped at once. */
	CHECK(to_lan4(B.a4, 0, 32) + to_lan4(B.a4, 32, 8) == 0, "bounded: nothing sent to 10.1.0.88 yet");
	CHECK(rte_ring_count(mg_dev.lan->unresolved) == 40, "bounded: 40 handed to the control thread");
	quiescent();
	lan_turn();
	lan_tx_ctrl(W);
	CHECK(mg_drop_total(MG_DROP_LAN_UNRESOLVED) == before + 24, "bounded: 24 of 40 dropped at once (%" PRIu64 ")",
	      mg_drop_total(MG_DROP_LAN_UNRESOLVED) - before);
	n = wire(f, RTE_DIM(f));
	for (unsigned int i = 0; i < n; i++)
		requests += is_arp_request(f[i], B.a4);
	CHECK(n == 1 && requests == 1, "bounded: one ARP request (%u frames, %u requests)", n, requests);
	free_all(f, n);
	arp_answer(&B);
	for (;;) {
		n = wire(f, RTE_DIM(f));
		if (!n && !lan_tx_ctrl(W))
			break;
		for (unsigned int i = 0; i < n; i++, total++)
			in_order += get16(l3(f[i]) + 4) == total && memcmp(l3(f[i]) + 16, B.a4, 4) == 0 &&
				    eth_is(f[i], &B.mac, RTE_ETHER_TYPE_IPV4);
		free_all(f, n);
	}
	CHECK(total == 16 && in_order == 16, "bounded: the 16 held went out, the first 16 in order (%u, %u in order)",
	      total, in_order);

	/* 17 hosts, 16 each: 256 wait in all, the 16 over are dropped. */
	before = mg_drop_total(MG_DROP_LAN_UNRESOLVED);
	for (unsigned int h = 0; h < 17; h++) {
		const uint8_t dst[4] = { 10, 1, 0, (uint8_t)(100 + h) };

		CHECK(to_lan4(dst, (uint16_t)(h * 16), 16) == 0, "bounded: nothing sent to 10.1.0.%u", 100 + h);
	}
	for (int i = 0; i < 10; i++)
		turn();
	requests = 0;
	total = 0;
	for (;;) {
		n = wire(f, RTE_DIM(f));
		if (!n && !lan_tx_ctrl(W))
			break;
		for (unsigned int i = 0; i < n; i++, total++)
			requests += is_arp_request(f[i], (const uint8_t[4]){ 10, 1, 0, (uint8_t)(100 + requests) });
		free_all(f, n);
	}
	CHECK(rte_ring_count(mg_dev.lan->unresolved) == 0, "bounded: the control thread took all 272");
	CHECK(mg_drop_total(MG_DROP_LAN_UNRESOLVED) == before + 16, "bounded: 256 held in all, 16 dropped (%" PRIu64 ")",
	      mg_drop_total(MG_DROP_LAN_UNRESOLVED) - before);
	CHECK(requests == 17 && total == 17, "bounded: one request per host, in turn (%u of %u frames)", requests, total);
	/* They expire: everything held is dropped and answered. */
	{
		uint64_t start = now, errors = 0, icmp_before = ctrl.icmp_errors_sent;

		before = mg_drop_total(MG_DROP_LAN_UNRESOLVED);
		for (uint64_t t = start; t <= start + S(5); t += MS(250)) {
			struct rte_mbuf *m[64];

			set_time(t);
			turn();
			while ((n = wire(f, RTE_DIM(f))) > 0)
				free_all(f, n);
			while ((n = rte_ring_dequeue_burst(mg_dev.to_mesh, (void **)m, RTE_DIM(m), NULL)) > 0) {
				errors += n;
				free_all(m, n);
			}
			for (int i = 0; i < 16; i++) {
				icmp_turn();
				while ((n = rte_ring_dequeue_burst(mg_dev.to_mesh, (void **)m, RTE_DIM(m), NULL)) > 0) {
					errors += n;
					free_all(m, n);
				}
			}
		}
		CHECK(mg_drop_total(MG_DROP_LAN_UNRESOLVED) == before + 256, "bounded: all 256 expired (%" PRIu64 ")",
		      mg_drop_total(MG_DROP_LAN_UNRESOLVED) - before);
		printf("bounded: %" PRIu64 " host unreachables into the mesh for 256 expired packets (%" PRIu64
		       " sent by icmp.c)\n", errors, ctrl.icmp_errors_sent - icmp_before);
		CHECK(errors > 0 && errors == ctrl.icmp_errors_sent - icmp_before,
		      "bounded: host unreachables for the expired packets, each into the mesh");
		CHECK(errors <= 50, "bounded: within the rate limit (burst 50), not one per packet (%" PRIu64 ")", errors);
	}
}

/* ---- set-up ------------------------------------------------------------------------------- */

static struct rte_ring *ring(const char *name)
{
	struct rte_ring *r = rte_ring_create(name, 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);

	must(r != NULL, name);
	return r;
}

static uint16_t ring_port(const char *name, struct rte_ring *rx, struct rte_ring *tx)
{
	struct rte_eth_conf conf = { 0 };
	int port = rte_eth_from_rings(name, &rx, 1, &tx, 1, rte_socket_id());

	must(port >= 0, name);
	must(rte_eth_dev_configure((uint16_t)port, 1, 1, &conf) == 0 &&
	     rte_eth_rx_queue_setup((uint16_t)port, 0, 1024, rte_socket_id(), NULL, mg_dev.pool) == 0 &&
	     rte_eth_tx_queue_setup((uint16_t)port, 0, 1024, rte_socket_id(), NULL) == 0 &&
	     rte_eth_dev_start((uint16_t)port) == 0, "the ring port started");
	return (uint16_t)port;
}

static void setup(void)
{
	struct mg_lan *lan;

	mg_clock_init();
	must(device_create(1, 4096, INNER_MTU, 1500) == 0, "device_create");
	must(device_create_lan() == 0, "device_create_lan");
	lan = mg_dev.lan;
	lan_in = ring("t_lan_in");
	lan_out = ring("t_lan_out");
	lan_port = ring_port("t_lan", lan_in, lan_out);
	lan->port = lan_port;
	lan->mac = our_mac;
	lan->addrs[0] = (struct mg_wan_addr){ .family = AF_INET, .prefix_len = 24 };
	memcpy(lan->addrs[0].addr, our4, 4);
	lan->addrs[1] = (struct mg_wan_addr){ .family = AF_INET6, .prefix_len = 64 };
	memcpy(lan->addrs[1].addr, our6, 16);
	lan->n_addrs = 2;
	mg_dev.inner = &mg_inner_lan;
	must(core_init() == 0, "core_init");

	cfg_addrs[0] = (struct config_cidr){ .family = AF_INET, .prefix_len = 24 };
	memcpy(cfg_addrs[0].addr, our4, 4);
	cfg_addrs[1] = (struct config_cidr){ .family = AF_INET6, .prefix_len = 64 };
	memcpy(cfg_addrs[1].addr, our6, 16);
	cfg_routes[0] = (struct config_route){ .family = AF_INET, .addr = { 10, 1, 8, 0 }, .prefix_len = 22,
					       .via_family = AF_INET };
	memcpy(cfg_routes[0].via, R.a4, 4);
	cfg_routes[1] = (struct config_route){ .family = AF_INET6, .addr = { 0xfd, 0x08 }, .prefix_len = 64,
					       .via_family = AF_INET6 };
	memcpy(cfg_routes[1].via, R.a6, 16);
	snprintf(cfg.interface, sizeof(cfg.interface), "mgtest");
	cfg.inner.device = cfg_device;
	cfg.inner.addresses = cfg_addrs;
	cfg.inner.n_addresses = 2;
	cfg.inner.routes = cfg_routes;
	cfg.inner.n_routes = 2;
	cfg.inner.mtu = INNER_MTU;
	ctrl.cfg = &cfg;
	CHECK(lan_init(&cfg) == 0, "lan_init");

	must(worker_init(W, 0, AEAD_BACKEND_AUTO) == 0, "worker_init");
	W->lcore = rte_lcore_id();
	mg_dev.worker_lcore[0] = W->lcore;
	/* This thread is worker 0 for RCU as well: deferred frees wait for its quiescent states. */
	must(rte_rcu_qsbr_thread_register(mg_dev.rcu, W->id) == 0, "RCU thread registered");
	rte_rcu_qsbr_thread_online(mg_dev.rcu, W->id);
	set_time(S(1000));
	turn();
	CHECK(mg_dev.lan->neighs && !snap(AF_INET, H.a4), "an empty snapshot is published at the first turn");
	wire_empty("at start");
}

/* A packet still waiting at the end: lan_fini must give it back. */
static void teardown(void)
{
	static const uint8_t waiting[4] = { 10, 1, 0, 199 };
	struct rte_mbuf *m;

	CHECK(to_lan4(waiting, 0x199, 2) == 0, "teardown: two packets left waiting for 10.1.0.199");
	turn();
	CHECK(rte_ring_count(mg_dev.lan->unresolved) == 0, "teardown: held by the control thread");
	/* As the daemon stops: the worker leaves, then loop_fini's part for what was set up here
	 * (no peers, no UAPI socket, counters file or health checks, no filter published). */
	quiescent();
	rte_rcu_qsbr_thread_offline(mg_dev.rcu, W->id);
	rte_rcu_qsbr_thread_unregister(mg_dev.rcu, W->id);
	lan_fini();
	CHECK(mg_dev.lan->neighs == NULL, "teardown: the snapshot unpublished");
	core_fini();
	ctrl.cfg = NULL;
	worker_fini(W);
	for (struct rte_ring *r = lan_in; r; r = r == lan_in ? lan_out : NULL)
		while (rte_ring_dequeue(r, (void **)&m) == 0)
			rte_pktmbuf_free(m);
	rte_eth_dev_stop(lan_port);
	rte_eth_dev_close(lan_port);
	CHECK(device_destroy() == 0, "teardown: every mbuf back in the pool");
	rte_ring_free(lan_in);
	rte_ring_free(lan_out);
}

int main(void)
{
	static char lcores[64];
	char prefix[64];
	char *argv[] = { "test_lan", "--no-huge", "--no-pci", "--no-shconf", "--no-telemetry", "-m", "512",
			 lcores, "--log-level=*:error", "--file-prefix", prefix, NULL };
	cpu_set_t set;
	int first = 0;

	if (sodium_init() < 0)
		return 1;
	/* One lcore, on whatever CPU this process may use: the worker and the control thread both. */
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--)
			if (CPU_ISSET(cpu, &set))
				first = cpu;
	snprintf(lcores, sizeof(lcores), "--lcores=0@%d", first);
	snprintf(prefix, sizeof(prefix), "test_lan_%d", getpid());
	if (rte_eal_init((int)RTE_DIM(argv) - 1, argv) < 0)
		test_skip("DPDK's EAL did not start here");
	setup();
	arp();
	nd();
	forward();
	not_forwarded();
	ttl();
	mss();
	resolve();
	routes();
	no_route();
	not_ours();
	echo();
	unanswered();
	bounded();
	teardown();
	rte_eal_cleanup();
	return test_done("lan");
}
