/* SPDX-License-Identifier: MIT */
/*
 * ICMP and ICMPv6 errors, control thread: the workers hand over a packet they could not forward
 * (rate-limited each, mg_dev.icmp_req, the request in the mbuf), and this builds the error
 * (lib/icmperr.c: the RFCs' rules on what may be answered and how much to quote) and sends it to
 * the packet's source: back into the mesh through a worker's encrypt path, onto the LAN through
 * lan.c (gateway mode), or into host mode's TUN through a worker. The error comes from one of our
 * inner addresses of the packet's family (gateway mode: the LAN port's, which the remote side's
 * allowed-IPs for us include; host mode: inner.addresses), as Linux's icmp_ndo_send and IP
 * forwarding take the device's; without one, nothing is sent.
 */
#include <netinet/in.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "core.h"
#include "icmp.h"
#include "icmperr.h"
#include "lan.h"

#define ICMP_BATCH 32

/*
 * Our inner addresses of a family (the LAN port's, or host mode's inner.addresses): the first, which
 * errors are sent from, or NULL; and, with addr, whether addr is one of them.
 */
static const uint8_t *our_inner_addr(int family, const uint8_t *addr, bool *is_ours)
{
	size_t alen = family == AF_INET ? 4 : 16, n = mg_dev.lan ? mg_dev.lan->n_addrs : ctrl.cfg ? ctrl.cfg->inner.n_addresses : 0;
	const uint8_t *first = NULL;

	*is_ours = false;
	for (size_t i = 0; i < n; i++) {
		int fam = mg_dev.lan ? mg_dev.lan->addrs[i].family : ctrl.cfg->inner.addresses[i].family;
		const uint8_t *a = mg_dev.lan ? mg_dev.lan->addrs[i].addr : ctrl.cfg->inner.addresses[i].addr;

		if (fam != family)
			continue;
		first = first ? first : a;
		*is_ours |= addr && memcmp(a, addr, alen) == 0;
	}
	return first;
}

/*
 * An echo reply made of the request in place: addresses swapped (the request was to one of ours),
 * TTL / hop limit 64, type 0 / 129, checksums done again. false when it is not one we answer.
 */
static bool echo_reply(struct rte_mbuf *m)
{
	uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *), tmp[16];
	uint32_t len = rte_pktmbuf_data_len(m);

	if (len >= 28 && (ip[0] >> 4) == 4) {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;
		uint32_t hl = (ip[0] & 0xf) * 4u;
		uint8_t *icmp = ip + hl;

		if (hl < 20 || len < hl + 8 || rte_be_to_cpu_16(h->total_length) != len || icmp[0] != 8)
			return false;
		memcpy(tmp, ip + 12, 4);
		memcpy(ip + 12, ip + 16, 4);
		memcpy(ip + 16, tmp, 4);
		h->time_to_live = 64;
		h->hdr_checksum = 0;
		h->hdr_checksum = rte_ipv4_cksum(h);
		icmp[0] = 0;
		icmp[2] = icmp[3] = 0;
		*(uint16_t *)(icmp + 2) = (uint16_t)~rte_raw_cksum(icmp, len - hl);
		return true;
	}
	if (len >= 48 && (ip[0] >> 4) == 6) {
		struct rte_ipv6_hdr *h = (struct rte_ipv6_hdr *)ip;

		if (h->proto != IPPROTO_ICMPV6 || rte_be_to_cpu_16(h->payload_len) + 40u != len || ip[40] != 128)
			return false;
		memcpy(tmp, h->src_addr, 16);
		memcpy(h->src_addr, h->dst_addr, 16);
		memcpy(h->dst_addr, tmp, 16);
		h->hop_limits = 64;
		ip[40] = 129;
		ip[42] = ip[43] = 0;
		*(uint16_t *)(ip + 42) = rte_ipv6_udptcp_cksum(h, ip + 40);
		return true;
	}
	return false;
}

/* Sends an inner packet we made back the way its cause came (consumes m). */
static void send_back(struct rte_mbuf *m, bool to_mesh)
{
	if (!to_mesh && mg_dev.lan) {
		lan_send(m);
		return;
	}
	if (rte_ring_enqueue(to_mesh ? mg_dev.to_mesh : mg_dev.to_inner, m) != 0)
		rte_pktmbuf_free(m);
}

/* The ICMP error, or echo reply, a request asks for. Returns true when req itself became the
 * reply (an echo): the caller sends it; else the caller frees req. */
static bool answer(struct rte_mbuf *req)
{
	const uint8_t *pkt = rte_pktmbuf_mtod(req, const uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(req);
	int family = len && (pkt[0] >> 4) == 6 ? AF_INET6 : AF_INET;
	bool from_us;
	const uint8_t *src = our_inner_addr(family, len >= (family == AF_INET6 ? 40u : 20u) ?
						     pkt + (family == AF_INET6 ? 8 : 12) : NULL, &from_us);
	struct rte_mbuf *m;
	unsigned int kind;
	uint16_t mtu;
	bool to_mesh;
	uint8_t *buf;
	int n;

	mg_icmp_request_get(req, &kind, &to_mesh, &mtu);
	if (kind == MG_ICMP_ECHO) {
		if (!echo_reply(req))
			return false;
		ctrl.echo_replies_sent++;
		return true;
	}
	/* Never about a packet of our own (a reply of ours that could not be delivered): that would
	 * be an error to ourselves. */
	if (!src || from_us)
		return false;
	m = rte_pktmbuf_alloc(mg_dev.pool);
	if (!m)
		return false;
	buf = (uint8_t *)rte_pktmbuf_append(m, ICMPERR_MAX_V6);
	n = buf ? icmperr_build(buf, ICMPERR_MAX_V6, pkt, len, (enum icmperr_kind)kind, mtu, src) : 0;
	if (n <= 0) {
		rte_pktmbuf_free(m);
		return false;
	}
	rte_pktmbuf_trim(m, (uint16_t)(ICMPERR_MAX_V6 - n));
	ctrl.icmp_errors_sent++;
	send_back(m, to_mesh);
	return false;
}

unsigned int icmp_turn(void)
{
	struct rte_mbuf *reqs[ICMP_BATCH];
	unsigned int n = rte_ring_dequeue_burst(mg_dev.icmp_req, (void **)reqs, ICMP_BATCH, NULL);

	for (unsigned int i = 0; i < n; i++) {
		unsigned int kind;
		uint16_t mtu;
		bool to_mesh;

		mg_icmp_request_get(reqs[i], &kind, &to_mesh, &mtu);
		if (answer(reqs[i]))
			send_back(reqs[i], to_mesh); /* made into the reply in place */
		else
			rte_pktmbuf_free(reqs[i]);
	}
	return n;
}
