/* SPDX-License-Identifier: MIT */
/* Neighbours on the WAN port, and in gateway mode the LAN port (neigh.c): ARP and ND answered,
 * next hops resolved and confirmed. The functions without "lan" are the WAN port's. */
#ifndef MG_NEIGH_H
#define MG_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "devconf.h"

void neigh_set_gateway(int family, const uint8_t *addr);
/* An ARP or ND frame from a worker (consumed). */
void neigh_input(struct rte_mbuf *m);
/* addr is at mac (authenticated traffic from an on-link peer says so). */
void neigh_learn(int family, const uint8_t *addr, const struct rte_ether_addr *mac);
/* Counts every time an entry became resolved or changed its MAC: the loop rebuilds what goes
 * through a neighbour when it moved (peers_neighbour_update), so this file calls nothing above. */
uint64_t neigh_changes(void);
/* Our routes: whether dst is on one of our WAN prefixes; the next hop towards it (itself when on
 * link, else the gateway; false without one). */
bool neigh_on_link(int family, const uint8_t *dst);
bool neigh_next_hop(int family, const uint8_t *dst, uint8_t hop[16]);
/* The MAC of a next hop; false while unresolved, in which case a request has been sent. Probes an
 * entry due for confirmation. */
bool neigh_lookup(int family, const uint8_t *hop, struct rte_ether_addr *mac);
/* Our WAN address to send from towards dst: one on its link, else the first of its family. */
const uint8_t *neigh_source_addr(int family, const uint8_t *dst);
/* A frame with Ethernet + IPv4/IPv6 + UDP and payload, from our address src (NULL: picked), ready
 * for core_tx; NULL without mbufs. */
struct rte_mbuf *neigh_udp_frame(const struct rte_ether_addr *dst_mac, const struct devconf_endpoint *dst,
				 const uint8_t *src, const void *payload, uint16_t len);

/* Gateway mode's LAN port (mg_dev.lan, set up before this is called): the same, on its own table,
 * its frames out through core_lan_tx. */
void neigh_lan_init(void);
void neigh_lan_input(struct rte_mbuf *m);
bool neigh_lan_lookup(int family, const uint8_t *hop, struct rte_ether_addr *mac);
uint64_t neigh_lan_changes(void);
/* Every resolved LAN neighbour, for the workers' snapshot. */
void neigh_lan_walk(void (*cb)(void *arg, int family, const uint8_t *addr, const struct rte_ether_addr *mac),
		    void *arg);

#endif
