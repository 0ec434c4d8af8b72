/* SPDX-License-Identifier: MIT */
/*
 * Gateway mode's LAN port (mg_inner_lan): the inner side as a router's interface on a DPDK port,
 * one RX and TX queue per worker.
 *
 * rx, LAN -> mesh: ARP and IPv6 neighbour discovery go to the control thread (ctrl/lan.c answers
 *     for our LAN addresses and learns the neighbours). An IP packet to forward leaves here
 *     without its Ethernet header and with its TTL / hop limit decremented; the encrypt path's
 *     allowed-IPs lookup then picks the peer (a remote cluster's subnets are its gateway's
 *     allowed-IPs). Not forwarded, each counted: frames not sent to our MAC (link broadcast,
 *     multicast, another host's), martian sources, our own LAN addresses (where only ping is
 *     answered, by the control thread), multicast, broadcast (a LAN prefix's too) and link-local
 *     destinations, a TTL run out, malformed headers.
 * tx, mesh -> LAN: what the decrypt path delivers (already checked against the peer's
 *     allowed-IPs): TTL decremented, the LAN route by longest prefix (a LAN prefix, on link, or a
 *     next hop from inner.routes), the next hop's MAC from the control thread's published
 *     snapshot, an Ethernet header, out on the worker's queue. A next hop with no MAC yet: the
 *     packet goes to the control thread, which resolves the address and sends the packet when the
 *     answer comes (Linux's neighbour queue), so the first packet to a quiet host is not lost.
 */
#include <netinet/in.h>
#include <string.h>

#include <rte_ethdev.h>

#include "counters.h"
#include "inner.h"
#include "packet.h"
#include "router.h"
#include "worker.h"

static const struct mg_lan_neigh *neigh_find(const struct mg_lan_neighs *t, int family, const uint8_t *addr)
{
	size_t alen = family == AF_INET ? 4 : 16;

	if (!t)
		return NULL;
	/* The table is at most half full: a probe ends at an empty slot. */
	for (uint32_t i = mg_lan_neigh_hash(family, addr) & t->mask;; i = (i + 1) & t->mask) {
		const struct mg_lan_neigh *e = &t->slot[i];

		if (!e->family)
			return NULL;
		if (e->family == family && memcmp(e->addr, addr, alen) == 0)
			return e;
	}
}

static bool is_lan_addr(const struct mg_lan *lan, int family, const uint8_t *addr)
{
	for (unsigned int i = 0; i < lan->n_addrs; i++)
		if (lan->addrs[i].family == family && memcmp(lan->addrs[i].addr, addr, family == AF_INET ? 4 : 16) == 0)
			return true;
	return false;
}

/* The broadcast address of one of our IPv4 LAN prefixes (a directed broadcast, RFC 2644: not
 * forwarded, either way; /31 and /32 have none). */
static bool is_lan_broadcast(const struct mg_lan *lan, const uint8_t *dst)
{
	uint32_t d;

	memcpy(&d, dst, 4);
	d = rte_be_to_cpu_32(d);
	for (unsigned int i = 0; i < lan->n_addrs; i++) {
		const struct mg_wan_addr *a = &lan->addrs[i];
		uint32_t net, host;

		if (a->family != AF_INET || a->prefix_len >= 31)
			continue;
		memcpy(&net, a->addr, 4);
		host = UINT32_MAX >> a->prefix_len;
		if ((rte_be_to_cpu_32(net) | host) == d)
			return true;
	}
	return false;
}

/*
 * Sources a router does not take from a link (martians, RFC 1812 5.3.7, Linux's ip_route_input
 * checks): unspecified, loopback, multicast and broadcast (a LAN prefix's too), or one of our own
 * addresses; IPv6 unspecified, loopback and multicast (RFC 4291 2.5.2, 2.7). A packet from the
 * mesh had its source checked against the peer's allowed-IPs instead.
 */
static bool martian_source(const struct mg_lan *lan, int family, const uint8_t *ip)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 }, v6_any[16];
	const uint8_t *src = packet_inner_src(ip, family);

	if (is_lan_addr(lan, family, src))
		return true;
	if (family == AF_INET)
		return src[0] == 0 || src[0] == 127 || src[0] >= 224 || is_lan_broadcast(lan, src);
	return src[0] == 0xff || memcmp(src, v6_any, 16) == 0 || memcmp(src, v6_loopback, 16) == 0;
}

/*
 * Destinations a router does not forward: IPv4 multicast, limited broadcast, this network, loopback
 * and link-local (RFC 3927 2.7), a LAN prefix's broadcast; IPv6 multicast and link-local (either
 * end: RFC 4291 2.5.6).
 */
static bool not_routed(const struct mg_lan *lan, int family, const uint8_t *ip)
{
	if (family == AF_INET) {
		const uint8_t *src = ip + 12, *dst = ip + 16;

		return dst[0] >= 224 || dst[0] == 0 || dst[0] == 127 || (dst[0] == 169 && dst[1] == 254) ||
		       (src[0] == 169 && src[1] == 254) || is_lan_broadcast(lan, dst);
	}
	return ip[24] == 0xff || (ip[24] == 0xfe && (ip[25] & 0xc0) == 0x80) ||
	       (ip[8] == 0xfe && (ip[9] & 0xc0) == 0x80);
}

enum lan_verdict { L_FORWARD, L_NEIGH, L_ECHO, L_DROP };

/* An ICMP or ICMPv6 echo request (the header right after a fixed IP header; len checked). */
static bool is_echo_request(const uint8_t *ip, uint32_t len, int family)
{
	if (family == AF_INET) {
		uint32_t hl = (ip[0] & 0xf) * 4u;

		return ip[9] == IPPROTO_ICMP && len >= hl + 8 && ip[hl] == 8 && (ip[6] & 0x3f) == 0 && ip[7] == 0;
	}
	return ip[6] == IPPROTO_ICMPV6 && len >= 48 && ip[40] == 128;
}

static enum lan_verdict classify(const struct mg_lan *lan, struct rte_mbuf *m, enum mg_drop *why)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	uint32_t avail = rte_pktmbuf_data_len(m), len;
	const uint8_t *ip = (const uint8_t *)(eth + 1);
	uint16_t type;
	int family = 0;

	*why = MG_DROP_LAN_NOT_IP;
	if (m->nb_segs != 1 || avail < RTE_ETHER_HDR_LEN)
		return L_DROP;
	avail -= RTE_ETHER_HDR_LEN;
	type = rte_be_to_cpu_16(eth->ether_type);
	if (type == RTE_ETHER_TYPE_ARP)
		return L_NEIGH;
	if (type != RTE_ETHER_TYPE_IPV4 && type != RTE_ETHER_TYPE_IPV6)
		return L_DROP;
	*why = MG_DROP_LAN_BAD_IP;
	len = packet_inner_len(ip, avail, &family);
	if (!len || (family == AF_INET) != (type == RTE_ETHER_TYPE_IPV4))
		return L_DROP;
	if (family == AF_INET) {
		const struct rte_ipv4_hdr *h = (const struct rte_ipv4_hdr *)ip;

		if ((h->version_ihl & 0xf) * 4u > len || !packet_ipv4_checksum_ok(m, h, (h->version_ihl & 0xf) * 4u))
			return L_DROP;
	} else if (ip[6] == IPPROTO_ICMPV6 && len >= 44 && ip[40] >= 133 && ip[40] <= 137) {
		/* Neighbour discovery (RS, RA, NS, NA, redirect): the control thread's, whatever its
		 * target; it takes what is for us and ignores the rest. */
		m->l3_len = 40;
		return L_NEIGH;
	}
	/* Only what was sent to us as a router: not a frame to the link's broadcast or a multicast
	 * group, nor one for another host's MAC (Linux forwards PACKET_HOST only). */
	*why = MG_DROP_LAN_NOT_ROUTED;
	if (!rte_is_same_ether_addr(&eth->dst_addr, &lan->mac))
		return L_DROP;
	*why = MG_DROP_LAN_NOT_ROUTED;
	if (martian_source(lan, family, ip))
		return L_DROP;
	*why = MG_DROP_LAN_TO_US;
	if (is_lan_addr(lan, family, packet_inner_dst(ip, family))) {
		/* The gateway answers ping on its LAN address (the control thread does); nothing else. */
		if (!is_echo_request(ip, len, family))
			return L_DROP;
		rte_pktmbuf_trim(m, avail - len);
		return L_ECHO;
	}
	*why = MG_DROP_LAN_NOT_ROUTED;
	if (not_routed(lan, family, ip))
		return L_DROP;
	/* Ethernet padding off: the packet is its IP length. */
	rte_pktmbuf_trim(m, avail - len);
	return L_FORWARD;
}

/* Frames for the control thread; what does not fit is counted. */
static void to_ctrl(struct rte_ring *r, struct rte_mbuf **pkts, unsigned int n)
{
	unsigned int sent = rte_ring_enqueue_burst(r, (void **)pkts, n, NULL);

	mg_stats[rte_lcore_id()].to_ctrl += sent;
	if (sent < n) {
		mg_drop(MG_DROP_LAN_RING_FULL, n - sent);
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
}

/* TCP SYNs both ways announce an MSS that fits the tunnel (router.h says why). */
static inline void clamp_mss(uint8_t *ip, uint32_t len, int family)
{
	if (ip[family == AF_INET ? 9 : 6] == IPPROTO_TCP)
		router_clamp_mss(ip, len, family, mg_dev.inner_mtu);
}

static uint16_t lan_rx(uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	struct mg_worker *w = &mg_workers[queue];
	struct mg_lan *lan = mg_dev.lan;
	struct rte_mbuf *neigh[MG_BURST], *drop[MG_BURST];
	uint16_t got = rte_eth_rx_burst(lan->port, queue, pkts, RTE_MIN(n, (uint16_t)MG_BURST));
	unsigned int nn = 0, nx = 0, out = 0;

	for (uint16_t i = 0; i < got; i++) {
		struct rte_mbuf *m = pkts[i];
		enum mg_drop why;

		if (i + 1 < got)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		switch (classify(lan, m, &why)) {
		case L_FORWARD: {
			uint8_t *ip = (uint8_t *)rte_pktmbuf_adj(m, RTE_ETHER_HDR_LEN);
			int family = (ip[0] >> 4) == 4 ? AF_INET : AF_INET6;

			if (unlikely(router_dec_ttl(ip, family))) {
				mg_drop(MG_DROP_TTL_EXCEEDED, 1);
				worker_icmp_error(w, m, ICMPERR_TIME_EXCEEDED, false, 0);
				break;
			}
			clamp_mss(ip, rte_pktmbuf_data_len(m), family);
			pkts[out++] = m;
			break;
		}
		case L_NEIGH:
			neigh[nn++] = m;
			break;
		case L_ECHO:
			rte_pktmbuf_adj(m, RTE_ETHER_HDR_LEN);
			worker_icmp_echo(w, m, false);
			break;
		default:
			mg_drop(why, 1);
			drop[nx++] = m;
		}
	}
	if (nn)
		to_ctrl(lan->to_neigh, neigh, nn);
	if (nx)
		rte_pktmbuf_free_bulk(drop, nx);
	return (uint16_t)out;
}

static uint16_t lan_tx(uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	struct mg_worker *w = &mg_workers[queue];
	struct mg_lan *lan = mg_dev.lan;
	const struct mg_lan_neighs *nt = __atomic_load_n(&lan->neighs, __ATOMIC_ACQUIRE);
	struct rte_mbuf *out[MG_BURST], *miss[MG_BURST], *drop[MG_BURST];
	unsigned int nout = 0, nmiss = 0, nx = 0;
	uint16_t sent = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *);
		int family = (ip[0] >> 4) == 4 ? AF_INET : AF_INET6;
		const uint8_t *dst = packet_inner_dst(ip, family);
		const struct mg_lan_route *route;
		const struct mg_lan_neigh *e;
		struct rte_ether_hdr *eth;

		/* What the peer sealed was checked for its length and source only; a router takes no
		 * IPv4 header that does not sum (Linux's ip_rcv on wg0 drops it). */
		if (family == AF_INET && unlikely((ip[0] & 0xf) * 4u > rte_pktmbuf_data_len(m) ||
						  rte_ipv4_cksum((const struct rte_ipv4_hdr *)ip) != 0)) {
			mg_drop(MG_DROP_LAN_BAD_IP, 1);
			drop[nx++] = m;
			continue;
		}
		if (unlikely(is_lan_addr(lan, family, dst))) {
			/* A host across the mesh pings the gateway: answered; nothing else is served. */
			if (is_echo_request(ip, rte_pktmbuf_data_len(m), family)) {
				worker_icmp_echo(w, m, true);
			} else {
				mg_drop(MG_DROP_LAN_TO_US, 1);
				drop[nx++] = m;
			}
			continue;
		}
		if (unlikely(not_routed(lan, family, ip))) {
			mg_drop(MG_DROP_LAN_NOT_ROUTED, 1);
			drop[nx++] = m;
			continue;
		}
		/* The route first, then the TTL, as Linux (an error quotes the packet as it came). */
		route = allowedips_lookup(&lan->routes, family, dst);
		if (!route) {
			mg_drop(MG_DROP_LAN_NO_ROUTE, 1);
			worker_icmp_error(w, m, ICMPERR_NET_UNREACHABLE, true, 0);
			continue;
		}
		if (unlikely(router_dec_ttl(ip, family))) {
			mg_drop(MG_DROP_TTL_EXCEEDED, 1);
			worker_icmp_error(w, m, ICMPERR_TIME_EXCEEDED, true, 0);
			continue;
		}
		clamp_mss(ip, rte_pktmbuf_data_len(m), family);
		e = neigh_find(nt, family, route->on_link ? dst : route->via);
		if (unlikely(!e)) {
			miss[nmiss++] = m;
			continue;
		}
		if (unlikely(!__atomic_load_n(&e->used, __ATOMIC_RELAXED)))
			__atomic_store_n((uint8_t *)&e->used, 1, __ATOMIC_RELAXED);
		eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, RTE_ETHER_HDR_LEN);
		if (!eth) {
			mg_drop(MG_DROP_NO_ROOM, 1);
			drop[nx++] = m;
			continue;
		}
		eth->dst_addr = e->mac;
		eth->src_addr = lan->mac;
		eth->ether_type = rte_cpu_to_be_16(family == AF_INET ? RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6);
		out[nout++] = m;
	}
	if (nout && unlikely(__atomic_load_n(&lan->down, __ATOMIC_RELAXED))) {
		/* A driver may queue what it cannot send (AF_XDP does, silently): say why it is lost. */
		mg_drop(MG_DROP_LAN_DOWN, nout);
		rte_pktmbuf_free_bulk(out, nout);
		nout = 0;
	}
	if (nout) {
		sent = rte_eth_tx_burst(lan->port, queue, out, (uint16_t)nout);
		if (sent < nout) {
			mg_drop(MG_DROP_LAN_TX_FULL, nout - sent);
			rte_pktmbuf_free_bulk(out + sent, nout - sent);
		}
	}
	if (nmiss)
		to_ctrl(lan->unresolved, miss, nmiss);
	if (nx)
		rte_pktmbuf_free_bulk(drop, nx);
	return sent;
}

const struct mg_inner_ops mg_inner_lan = { .rx = lan_rx, .tx = lan_tx };

unsigned int lan_tx_ctrl(struct mg_worker *w)
{
	struct rte_mbuf *pkts[MG_BURST];
	unsigned int n = rte_ring_dequeue_burst(mg_dev.lan->tx, (void **)pkts, MG_BURST, NULL);
	uint16_t sent;

	if (!n)
		return 0;
	sent = rte_eth_tx_burst(mg_dev.lan->port, (uint16_t)w->id, pkts, (uint16_t)n);
	if (sent < n) {
		mg_drop(MG_DROP_LAN_TX_FULL, n - sent);
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
	return n;
}
