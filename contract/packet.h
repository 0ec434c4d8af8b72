/* SPDX-License-Identifier: MIT */
/* Small header helpers shared by the two paths and the control thread. Single-segment mbufs only. */
#ifndef MG_PACKET_H
#define MG_PACKET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "devconf.h"

/* The inner packet's IP version and length; 0 when not a plausible IPv4/IPv6 packet. */
static inline uint32_t packet_inner_len(const uint8_t *p, uint32_t avail, int *family)
{
	uint32_t len;

	if (avail >= sizeof(struct rte_ipv4_hdr) && (p[0] >> 4) == 4) {
		len = (uint32_t)p[2] << 8 | p[3];
		*family = AF_INET;
		return len >= sizeof(struct rte_ipv4_hdr) && (p[0] & 0xf) >= 5 && len <= avail ? len : 0;
	}
	if (avail >= sizeof(struct rte_ipv6_hdr) && (p[0] >> 4) == 6) {
		len = ((uint32_t)p[4] << 8 | p[5]) + sizeof(struct rte_ipv6_hdr);
		*family = AF_INET6;
		return len <= avail ? len : 0;
	}
	return 0;
}

/* Inner source / destination address bytes (IPv4: 4 bytes, IPv6: 16). */
static inline const uint8_t *packet_inner_src(const uint8_t *p, int family)
{
	return family == AF_INET ? p + 12 : p + 8;
}

static inline const uint8_t *packet_inner_dst(const uint8_t *p, int family)
{
	return family == AF_INET ? p + 16 : p + 24;
}

/* The outer source of a received WAN packet (l2_len/l3_len set by the classifier). */
static inline void packet_outer_source(const struct rte_mbuf *m, struct devconf_endpoint *ep)
{
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *, m->l2_len);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(l3 + m->l3_len);

	memset(ep, 0, sizeof(*ep));
	if ((l3[0] >> 4) == 4) {
		ep->family = AF_INET;
		memcpy(ep->addr, l3 + 12, 4);
	} else {
		ep->family = AF_INET6;
		memcpy(ep->addr, l3 + 8, 16);
	}
	ep->port = rte_be_to_cpu_16(udp->src_port);
}

/* Our address a received WAN packet was sent to (16 bytes; IPv4 in the first 4, rest zero). */
static inline void packet_outer_dest(const struct rte_mbuf *m, uint8_t local[16])
{
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *, m->l2_len);

	memset(local, 0, 16);
	if ((l3[0] >> 4) == 4)
		memcpy(local, l3 + 16, 4);
	else
		memcpy(local, l3 + 24, 16);
}

static inline bool packet_endpoint_equal(const struct devconf_endpoint *a, const struct devconf_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

/*
 * Complete an outer header copied from an endpoint template in front of a UDP payload of len bytes:
 * IP lengths, identification and checksum, UDP length; UDP checksum 0 for IPv4 (allowed), computed
 * for IPv6 (required). Don't-fragment stays clear, as Linux sends WireGuard's UDP, so a router with a
 * smaller MTU fragments rather than drops; ip_id tells one datagram's fragments from another's.
 */
static inline void packet_outer_finish(struct rte_mbuf *m, uint8_t hdr_len, uint32_t udp_len, uint16_t ip_id)
{
	uint8_t *l3 = rte_pktmbuf_mtod_offset(m, uint8_t *, RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp;

	if (hdr_len == RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr)) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)l3;

		udp = (struct rte_udp_hdr *)(ip + 1);
		ip->total_length = rte_cpu_to_be_16(udp_len + sizeof(*ip) + sizeof(*udp));
		ip->packet_id = rte_cpu_to_be_16(ip_id);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		udp->dgram_len = rte_cpu_to_be_16(udp_len + sizeof(*udp));
		udp->dgram_cksum = 0;
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)l3;

		udp = (struct rte_udp_hdr *)(ip + 1);
		ip->payload_len = rte_cpu_to_be_16(udp_len + sizeof(*udp));
		udp->dgram_len = ip->payload_len;
		udp->dgram_cksum = 0;
		udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);
	}
}

/*
 * The IPv4 header checksum, as the port checked it or here (RFC 1071: it sums to all ones). The
 * usual 20-byte header as five 32-bit words folded (the one's complement sum does not care about
 * byte order or word size, and all ones is all ones either way); options through DPDK's.
 */
static inline bool packet_ipv4_checksum_ok(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip, uint32_t l3_len)
{
	uint64_t f = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;

	if (f == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		return true;
	if (f == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		return false;
	if (likely(l3_len == sizeof(*ip))) {
		uint32_t w[5];
		uint64_t sum;

		memcpy(w, ip, sizeof(w)); /* five loads: the header need not be aligned */
		sum = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];

		sum = (sum & 0xffffffff) + (sum >> 32);
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		return sum == 0xffff;
	}
	return rte_ipv4_cksum(ip) == 0;
}

/* Build an endpoint's header template: our MAC/address/port to the peer's, via next_hop. */
void packet_build_template(uint8_t *hdr, uint8_t *hdr_len, const struct rte_ether_addr *src_mac,
			   const struct rte_ether_addr *dst_mac, const uint8_t *src_addr,
			   const struct devconf_endpoint *dst, uint16_t src_port);

#endif
