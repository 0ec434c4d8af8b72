/* SPDX-License-Identifier: MIT */
/* What workers tell the control thread, by value on mg_dev.events (device.h has the rules). */
#ifndef MG_EVENTS_H
#define MG_EVENTS_H

#include <stdint.h>

#include <rte_common.h>
#include <rte_ether.h>

#include "devconf.h"

struct mg_peer;
struct mg_keypair;

/* What workers tell the control thread. */
enum mg_event_type {
	MG_EV_HANDSHAKE_NEEDED,  /* data waits (staged) or the key wants refreshing */
	MG_EV_KEYPAIR_CONFIRMED, /* first packet received on peer->next */
	MG_EV_ROAMED,            /* authenticated packet from another address */
};

/*
 * Carried by value in the event ring (no allocation on the packet path). The control thread reads
 * an event after the worker's reference to the peer may have ended, so it checks peer/gen against
 * the peer table before touching the peer, and a keypair by pointer and serial together (the
 * memory of a freed keypair can hold a new one).
 */
struct mg_event {
	struct mg_peer *peer;
	uint64_t peer_gen;
	struct mg_keypair *keypair;
	uint64_t keypair_serial;
	uint32_t peer_id;
	uint8_t type;
	struct devconf_endpoint from;      /* MG_EV_ROAMED: the peer's address and port */
	uint8_t local[16];                 /* and ours it was sent to */
	struct rte_ether_addr from_mac;
} __rte_aligned(8);

_Static_assert(sizeof(struct mg_event) % 4 == 0, "ring element size must be a multiple of 4");

#endif
