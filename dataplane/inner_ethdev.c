/* SPDX-License-Identifier: MIT */
/*
 * The inner side as an ethdev port (mg_dev.inner_port), one queue per worker: the in-memory
 * benchmark's ring (gateway mode's LAN port is lanport.c).
 */
#include <rte_ethdev.h>

#include "counters.h"
#include "device.h"
#include "inner.h"

static uint16_t ethdev_rx(uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_rx_burst(mg_dev.inner_port, queue, pkts, n);
}

static uint16_t ethdev_tx(uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent = rte_eth_tx_burst(mg_dev.inner_port, queue, pkts, n);

	if (sent < n) {
		mg_drop(MG_DROP_INNER_TX_FULL, n - sent);
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
	return sent;
}

const struct mg_inner_ops mg_inner_ethdev = { .rx = ethdev_rx, .tx = ethdev_tx };
