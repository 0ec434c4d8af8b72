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

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "core.h"
#include "icmp.h"
#include "icmperr.h"
#include "lan.h"

#define ICMP_BATCH 32

static const uint8_t *our_inner_addr(int family)
{
	if (mg_dev.lan) {
		for (unsigned int i = 0; i < mg_dev.lan->n_addrs; i++)
			if (mg_dev.lan->addrs[i].family == family)
				return mg_dev.lan->addrs[i].addr;
		return NULL;
	}
	for (size_t i = 0; ctrl.cfg && i < ctrl.cfg->inner.n_addresses; i++)
		if (ctrl.cfg->inner.addresses[i].family == family)
			return ctrl.cfg->inner.addresses[i].addr;
	return NULL;
}

static void answer(struct rte_mbuf *req)
{
	const uint8_t *pkt = rte_pktmbuf_mtod(req, const uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(req);
	const uint8_t *src = our_inner_addr(len && (pkt[0] >> 4) == 6 ? AF_INET6 : AF_INET);
	struct rte_mbuf *m;
	unsigned int kind;
	uint16_t mtu;
	bool to_mesh;
	uint8_t *buf;
	int n;

	mg_icmp_request_get(req, &kind, &to_mesh, &mtu);
	if (!src || !(m = rte_pktmbuf_alloc(mg_dev.pool)))
		return;
	buf = (uint8_t *)rte_pktmbuf_append(m, ICMPERR_MAX_V6);
	n = buf ? icmperr_build(buf, ICMPERR_MAX_V6, pkt, len, (enum icmperr_kind)kind, mtu, src) : 0;
	if (n <= 0) {
		rte_pktmbuf_free(m);
		return;
	}
	rte_pktmbuf_trim(m, (uint16_t)(ICMPERR_MAX_V6 - n));
	ctrl.icmp_errors_sent++;
	if (!to_mesh && mg_dev.lan) {
		lan_send(m);
		return;
	}
	if (rte_ring_enqueue(to_mesh ? mg_dev.to_mesh : mg_dev.to_inner, m) != 0)
		rte_pktmbuf_free(m);
}

unsigned int icmp_turn(void)
{
	struct rte_mbuf *reqs[ICMP_BATCH];
	unsigned int n = rte_ring_dequeue_burst(mg_dev.icmp_req, (void **)reqs, ICMP_BATCH, NULL);

	for (unsigned int i = 0; i < n; i++) {
		answer(reqs[i]);
		rte_pktmbuf_free(reqs[i]);
	}
	return n;
}
