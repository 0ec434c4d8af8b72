/* SPDX-License-Identifier: MIT */
/*
 * Neighbours on the WAN port. The WAN port is meshgate's alone (AF_XDP or a NIC takes its frames
 * from the kernel), so meshgate answers ARP and IPv6 neighbour solicitations for its own addresses
 * and resolves next hops itself: on-link destinations directly, everything else via the gateway.
 * A small table, control thread only.
 *
 * Reachability, after Linux's neighbour states with its default timings: an entry is confirmed by
 * an ARP or ND message from its address, and stays good for NEIGH_REACHABLE_NS. A used entry older
 * than that is probed by unicast to the MAC it has (Linux's PROBE state), NEIGH_UCAST_PROBES times
 * a second apart, then by broadcast (or multicast) until something answers; it keeps its MAC
 * meanwhile, since sending to the old one loses no more than sending nowhere. When an entry's MAC
 * changes (an answer, a gratuitous ARP after a router's failover or a host's migration, an
 * authenticated packet from an on-link peer) every endpoint through it is rebuilt in the same turn
 * of the loop (neigh_changes(), peers_neighbour_update()): this file calls nothing above it.
 */
#include <netinet/in.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_random.h>
#include <rte_udp.h>

#include "core.h"
#include "counters.h"
#include "neigh.h"
#include "packet.h"

#define NEIGH_MAX 256                                 /* WAN: next hops of peers' endpoints */
#define NEIGH_LAN_MAX 1024                            /* LAN: hosts behind a gateway */
#define NEIGH_REACHABLE_NS (30ULL * 1000000000ULL)   /* Linux's base_reachable_time */
#define NEIGH_PROBE_INTERVAL_NS (1000000000ULL)      /* at most one request a second per address */
#define NEIGH_UCAST_PROBES 3                          /* then broadcast, as Linux's ucast_probes */

#define ND_NEIGHBOR_SOLICIT 135
#define ND_NEIGHBOR_ADVERT 136
#define ND_OPT_SOURCE_LINKADDR 1
#define ND_OPT_TARGET_LINKADDR 2

struct neigh {
	int family;
	uint8_t addr[16];
	struct rte_ether_addr mac;
	bool resolved;
	uint8_t probes;        /* unicast probes since the last confirmation */
	uint64_t confirmed_ns;
	uint64_t probed_ns;
};

/* One port's neighbours: the WAN's, and in gateway mode the LAN's. */
struct nport {
	struct neigh *table;
	unsigned int max;
	uint64_t changes; /* entries resolved or moved: the loop rebuilds what goes through them */
	struct {
		bool set;
		uint8_t addr[16];
	} gateway[2]; /* [0] IPv4, [1] IPv6 */
	const struct mg_wan_addr *addrs;
	const unsigned int *n_addrs;
	const struct rte_ether_addr *mac;
	void (*tx)(struct rte_mbuf *m);
};

static struct neigh wan_table[NEIGH_MAX], lan_table[NEIGH_LAN_MAX];
static struct nport wan = { .table = wan_table, .max = NEIGH_MAX, .addrs = mg_dev.wan_addrs,
			    .n_addrs = &mg_dev.n_wan_addrs, .mac = &mg_dev.wan_mac, .tx = core_tx };
static struct nport lan = { .table = lan_table, .max = NEIGH_LAN_MAX, .tx = core_lan_tx };

static size_t alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

void neigh_set_gateway(int family, const uint8_t *addr)
{
	wan.gateway[family == AF_INET6].set = true;
	memcpy(wan.gateway[family == AF_INET6].addr, addr, alen(family));
}

void neigh_lan_init(void)
{
	lan.addrs = mg_dev.lan->addrs;
	lan.n_addrs = &mg_dev.lan->n_addrs;
	lan.mac = &mg_dev.lan->mac;
}

static struct neigh *find(struct nport *p, int family, const uint8_t *addr, bool create)
{
	struct neigh *oldest = &p->table[0];

	for (unsigned int i = 0; i < p->max; i++) {
		struct neigh *n = &p->table[i];

		if (n->family == family && memcmp(n->addr, addr, alen(family)) == 0)
			return n;
		if (!n->family || n->confirmed_ns < oldest->confirmed_ns)
			oldest = n;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	oldest->family = family;
	memcpy(oldest->addr, addr, alen(family));
	return oldest;
}

/*
 * addr is at mac (an ARP or ND message from it, or an authenticated packet from an on-link peer).
 * Endpoints through it are rebuilt when that is news: a new entry resolved, or another MAC.
 */
static void learn(struct nport *p, int family, const uint8_t *addr, const struct rte_ether_addr *mac,
		  bool create)
{
	struct neigh *n = find(p, family, addr, create);
	bool news;

	if (!n || rte_is_zero_ether_addr(mac) || rte_is_multicast_ether_addr(mac))
		return;
	news = !n->resolved || !rte_is_same_ether_addr(&n->mac, mac);
	n->mac = *mac;
	n->resolved = true;
	n->confirmed_ns = ctrl.now_ns;
	n->probes = 0;
	p->changes += news;
}

uint64_t neigh_changes(void)
{
	return wan.changes;
}

uint64_t neigh_lan_changes(void)
{
	return lan.changes;
}

void neigh_learn(int family, const uint8_t *addr, const struct rte_ether_addr *mac)
{
	learn(&wan, family, addr, mac, true);
}

static const struct mg_wan_addr *our_addr(const struct nport *p, int family, const uint8_t *addr)
{
	for (unsigned int i = 0; i < *p->n_addrs; i++) {
		const struct mg_wan_addr *a = &p->addrs[i];

		if (a->family == family && (!addr || memcmp(a->addr, addr, alen(family)) == 0))
			return a;
	}
	return NULL;
}

static bool in_prefix(const struct mg_wan_addr *a, int family, const uint8_t *addr)
{
	unsigned int bits = a->prefix_len, bytes = bits / 8;

	if (a->family != family || memcmp(a->addr, addr, bytes) != 0)
		return false;
	return bits % 8 == 0 || ((a->addr[bytes] ^ addr[bytes]) & (0xff00 >> (bits % 8)) & 0xff) == 0;
}

bool neigh_on_link(int family, const uint8_t *addr)
{
	for (unsigned int i = 0; i < mg_dev.n_wan_addrs; i++)
		if (in_prefix(&mg_dev.wan_addrs[i], family, addr))
			return true;
	return false;
}

static const uint8_t *source_addr(const struct nport *p, int family, const uint8_t *dst)
{
	const struct mg_wan_addr *a = our_addr(p, family, NULL);

	/* One of ours on the destination's link, as a routing table's connected route would pick. */
	for (unsigned int i = 0; dst && i < *p->n_addrs; i++)
		if (in_prefix(&p->addrs[i], family, dst))
			return p->addrs[i].addr;
	return a ? a->addr : NULL;
}

const uint8_t *neigh_source_addr(int family, const uint8_t *dst)
{
	return source_addr(&wan, family, dst);
}

bool neigh_next_hop(int family, const uint8_t *dst, uint8_t hop[16])
{
	memset(hop, 0, 16);
	if (neigh_on_link(family, dst)) {
		memcpy(hop, dst, alen(family));
		return true;
	}
	if (!wan.gateway[family == AF_INET6].set)
		return false;
	memcpy(hop, wan.gateway[family == AF_INET6].addr, alen(family));
	return true;
}

static struct rte_mbuf *frame(const struct nport *p, const struct rte_ether_addr *dst, uint16_t type,
			      uint16_t len, void **l3)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mg_dev.pool);
	struct rte_ether_hdr *eth;

	if (!m)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, RTE_ETHER_HDR_LEN + len);
	if (!eth) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	eth->dst_addr = *dst;
	eth->src_addr = *p->mac;
	eth->ether_type = rte_cpu_to_be_16(type);
	*l3 = eth + 1;
	return m;
}

static void arp_send(const struct nport *p, uint16_t op, const struct rte_ether_addr *dst_mac,
		     const uint8_t *sip, const struct rte_ether_addr *tha, const uint8_t *tip)
{
	struct rte_arp_hdr *arp;
	struct rte_mbuf *m = frame(p, dst_mac, RTE_ETHER_TYPE_ARP, sizeof(*arp), (void **)&arp);

	if (!m)
		return;
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(op);
	arp->arp_data.arp_sha = *p->mac;
	memcpy(&arp->arp_data.arp_sip, sip, 4);
	arp->arp_data.arp_tha = *tha;
	memcpy(&arp->arp_data.arp_tip, tip, 4);
	p->tx(m);
}

static void arp_input(struct nport *p, struct rte_mbuf *m)
{
	const struct rte_arp_hdr *arp = rte_pktmbuf_mtod_offset(m, const struct rte_arp_hdr *, RTE_ETHER_HDR_LEN);
	const uint8_t *sip = (const uint8_t *)&arp->arp_data.arp_sip, *tip = (const uint8_t *)&arp->arp_data.arp_tip;
	bool for_us;

	if (rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN + sizeof(*arp) ||
	    arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
		return;
	for_us = our_addr(p, AF_INET, tip) != NULL;
	/* RFC 826: update an entry we have; add one only when the request is for us. */
	learn(p, AF_INET, sip, &arp->arp_data.arp_sha, for_us);
	if (for_us && arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST))
		arp_send(p, RTE_ARP_OP_REPLY, &arp->arp_data.arp_sha, tip, &arp->arp_data.arp_sha, sip);
}

/* ICMPv6 neighbour solicitation or advertisement for target, with our link-layer address. */
static void nd_send(const struct nport *p, uint8_t type, const struct rte_ether_addr *dst_mac,
		    const uint8_t *dst, const uint8_t *src, const uint8_t *target)
{
	const uint16_t icmp_len = 4 + 4 + 16 + 8;
	struct rte_ipv6_hdr *ip;
	struct rte_mbuf *m = frame(p, dst_mac, RTE_ETHER_TYPE_IPV6, sizeof(*ip) + icmp_len, (void **)&ip);
	uint8_t *icmp;

	if (!m)
		return;
	icmp = (uint8_t *)(ip + 1);
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16(icmp_len);
	ip->proto = IPPROTO_ICMPV6;
	ip->hop_limits = 255; /* RFC 4861: ND messages must arrive with hop limit 255 */
	memcpy(ip->src_addr, src, 16);
	memcpy(ip->dst_addr, dst, 16);
	memset(icmp, 0, icmp_len);
	icmp[0] = type;
	if (type == ND_NEIGHBOR_ADVERT)
		icmp[4] = 0x60; /* solicited, override */
	memcpy(icmp + 8, target, 16);
	icmp[24] = type == ND_NEIGHBOR_ADVERT ? ND_OPT_TARGET_LINKADDR : ND_OPT_SOURCE_LINKADDR;
	icmp[25] = 1; /* length in units of 8 bytes */
	memcpy(icmp + 26, p->mac, RTE_ETHER_ADDR_LEN);
	*(uint16_t *)(icmp + 2) = rte_ipv6_udptcp_cksum(ip, icmp);
	p->tx(m);
}

/* The link-layer address option of an ND message, or NULL. */
static const struct rte_ether_addr *nd_lladdr(const uint8_t *opt, const uint8_t *end, uint8_t want)
{
	while (opt + 2 <= end && opt[1] && opt + opt[1] * 8 <= end) {
		if (opt[0] == want && opt[1] == 1)
			return (const struct rte_ether_addr *)(opt + 2);
		opt += opt[1] * 8;
	}
	return NULL;
}

static void nd_input(struct nport *p, struct rte_mbuf *m)
{
	const struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, RTE_ETHER_HDR_LEN);
	const uint8_t *icmp = (const uint8_t *)(ip + 1), *target = icmp + 8;
	const uint8_t *end = (const uint8_t *)ip + sizeof(*ip) + rte_be_to_cpu_16(ip->payload_len);
	const struct rte_ether_addr *ll;
	static const uint8_t unspecified[16];

	/* RFC 4861 7.1.1: hop limit 255, at least the fixed part and the target. */
	if (ip->hop_limits != 255 || end - icmp < 24 ||
	    rte_pktmbuf_data_len(m) < (size_t)(end - rte_pktmbuf_mtod(m, const uint8_t *)))
		return;
	if (icmp[0] == ND_NEIGHBOR_SOLICIT && our_addr(p, AF_INET6, target)) {
		ll = nd_lladdr(icmp + 24, end, ND_OPT_SOURCE_LINKADDR);
		if (memcmp(ip->src_addr, unspecified, 16) == 0) {
			/* Duplicate address detection by someone else: answer to all nodes. */
			static const uint8_t all_nodes[16] = { 0xff, 2, [15] = 1 };
			const struct rte_ether_addr mc = { { 0x33, 0x33, 0, 0, 0, 1 } };

			nd_send(p, ND_NEIGHBOR_ADVERT, &mc, all_nodes, target, target);
			return;
		}
		if (ll)
			learn(p, AF_INET6, ip->src_addr, ll, true);
		nd_send(p, ND_NEIGHBOR_ADVERT, ll ? ll : &rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr,
			ip->src_addr, target, target);
	} else if (icmp[0] == ND_NEIGHBOR_ADVERT) {
		ll = nd_lladdr(icmp + 24, end, ND_OPT_TARGET_LINKADDR);
		learn(p, AF_INET6, target, ll ? ll : &rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr, false);
	}
}

static void input(struct nport *p, struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
		arp_input(p, m);
	else
		nd_input(p, m);
	rte_pktmbuf_free(m);
}

void neigh_input(struct rte_mbuf *m)
{
	input(&wan, m);
}

void neigh_lan_input(struct rte_mbuf *m)
{
	input(&lan, m);
}

/* A request for n's address: to its known MAC while unicast probes are left, else to everyone. */
static void probe(const struct nport *p, struct neigh *n)
{
	static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	static const struct rte_ether_addr zero;
	const uint8_t *src = source_addr(p, n->family, n->addr);
	bool unicast = n->resolved && n->probes < NEIGH_UCAST_PROBES;

	if (!src || ctrl.now_ns - n->probed_ns < NEIGH_PROBE_INTERVAL_NS)
		return;
	n->probed_ns = ctrl.now_ns;
	n->probes += unicast;
	if (n->family == AF_INET) {
		arp_send(p, RTE_ARP_OP_REQUEST, unicast ? &n->mac : &bcast, src, &zero, n->addr);
	} else {
		/* Solicited-node multicast address ff02::1:ffXX:XXXX and its MAC 33:33:ff:XX:XX:XX. */
		uint8_t snm[16] = { 0xff, 2, [11] = 1, [12] = 0xff, n->addr[13], n->addr[14], n->addr[15] };
		struct rte_ether_addr mc = { { 0x33, 0x33, 0xff, n->addr[13], n->addr[14], n->addr[15] } };

		if (unicast)
			nd_send(p, ND_NEIGHBOR_SOLICIT, &n->mac, n->addr, src, n->addr);
		else
			nd_send(p, ND_NEIGHBOR_SOLICIT, &mc, snm, src, n->addr);
	}
}

static bool lookup(struct nport *p, int family, const uint8_t *hop, struct rte_ether_addr *mac)
{
	struct neigh *n = find(p, family, hop, true);

	if (!n->resolved || ctrl.now_ns - n->confirmed_ns > NEIGH_REACHABLE_NS)
		probe(p, n);
	if (n->resolved)
		*mac = n->mac;
	return n->resolved;
}

bool neigh_lookup(int family, const uint8_t *hop, struct rte_ether_addr *mac)
{
	return lookup(&wan, family, hop, mac);
}

bool neigh_lan_lookup(int family, const uint8_t *hop, struct rte_ether_addr *mac)
{
	return lookup(&lan, family, hop, mac);
}

void neigh_lan_walk(void (*cb)(void *arg, int family, const uint8_t *addr, const struct rte_ether_addr *mac),
		    void *arg)
{
	for (unsigned int i = 0; i < lan.max; i++)
		if (lan.table[i].family && lan.table[i].resolved)
			cb(arg, lan.table[i].family, lan.table[i].addr, &lan.table[i].mac);
}

struct rte_mbuf *neigh_udp_frame(const struct rte_ether_addr *dst_mac, const struct devconf_endpoint *dst,
				 const uint8_t *src, const void *payload, uint16_t len)
{
	struct rte_mbuf *m;
	uint8_t hdr[MG_OUTER_HDR_MAX], hdr_len;
	uint8_t *p;

	if (!src)
		src = neigh_source_addr(dst->family, dst->addr);
	if (!src)
		return NULL;
	packet_build_template(hdr, &hdr_len, &mg_dev.wan_mac, dst_mac, src, dst, mg_dev.listen_port);
	m = rte_pktmbuf_alloc(mg_dev.pool);
	if (!m)
		return NULL;
	p = (uint8_t *)rte_pktmbuf_append(m, hdr_len + len);
	if (!p) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(p, hdr, hdr_len);
	memcpy(p + hdr_len, payload, len);
	/* Small, never fragmented: no reassembly depends on its identification. */
	packet_outer_finish(m, hdr_len, len, (uint16_t)rte_rand());
	return m;
}
