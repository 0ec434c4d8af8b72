/* SPDX-License-Identifier: MIT */
/* Gateway mode's LAN side, control thread (lan.c): routes, neighbours, packets waiting for one. */
#ifndef MG_LAN_H
#define MG_LAN_H

#include "config.h"

/* The routes and the neighbour engine for mg_dev.lan (the port is up): 0 or -errno. */
int lan_init(const struct mg_config *cfg);
void lan_fini(void);
/* One turn of the loop: ARP/ND and waiting packets from the workers, the snapshot when a neighbour
 * changed, and once a second expiry and probes. Returns how much it took from the rings. */
unsigned int lan_turn(void);
/* An inner IP packet out on the LAN by its route: sent when the next hop's MAC is known, else held
 * until it is (or dropped, counted, when it never resolves or there is no route). Consumes m. */
void lan_send(struct rte_mbuf *m);

#endif
