/* SPDX-License-Identifier: MIT */
/*
 * The WAN port's send side: a worker's frames (its sealed packets, their fragments, and what the
 * control thread queued on ctrl_tx) onto the worker's own TX queue. Receive is the loop's one
 * rte_eth_rx_burst (worker.c).
 */
#include <rte_ethdev.h>

#include "counters.h"
#include "wan.h"
#include "worker.h"

void wan_tx(struct mg_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent;

	if (unlikely(__atomic_load_n(&mg_dev.wan_down, __ATOMIC_RELAXED))) {
		/* A driver may queue what it cannot send (AF_XDP does, silently): say why it is lost. */
		mg_drop(MG_DROP_WAN_DOWN, n);
		rte_pktmbuf_free_bulk(pkts, n);
		return;
	}
	sent = rte_eth_tx_burst(mg_dev.wan_port, w->id, pkts, n);
	mg_stats[w->lcore].wan_tx += sent;
	if (sent < n) {
		mg_drop(MG_DROP_WAN_TX_FULL, n - sent);
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
}
