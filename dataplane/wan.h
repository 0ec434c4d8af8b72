/* SPDX-License-Identifier: MIT */
/* The WAN port's send side for a worker (wan.c). */
#ifndef MG_WAN_H
#define MG_WAN_H

#include <stdint.h>

#include <rte_mbuf.h>

struct mg_worker;

/* Send on the worker's WAN queue; what the port does not take, or everything while the link is
 * down, is counted and freed. */
void wan_tx(struct mg_worker *w, struct rte_mbuf **pkts, uint16_t n);

#endif
