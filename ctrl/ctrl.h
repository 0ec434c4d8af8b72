/* SPDX-License-Identifier: MIT */
/*
 * The control thread: handshakes, timers, keypair rotation, neighbours, the UAPI socket and
 * configuration. It runs on the main lcore, never on the packet path: it learns what happens there
 * from the to_ctrl and event rings and the peers' worker-written fields, and changes what workers
 * see only by publishing complete objects (device.h has the rules).
 */
#ifndef MG_CTRL_H
#define MG_CTRL_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "config.h"
#include "cookie.h"
#include "device.h"
#include "handshake.h"
#include "ratelimit.h"

struct ctrl {
	struct handshake_identity id;
	struct cookie_checker checker;
	struct ratelimit ratelimit;
	uint64_t last_under_load_ns;
	uint64_t now_ns;
	uint32_t n_peers;
	const struct mg_config *cfg;
	/* What happened, for the counters file (stats.c). */
	uint64_t initiations_sent, responses_sent, sessions, handshakes_given_up;
	uint64_t wan_link_changes;
	bool wan_up;
	bool inner_gone; /* the inner TUN was deleted: stopping (main's exit status says so) */
};

extern struct ctrl ctrl;

/* ctrl.c */
int ctrl_init(const struct mg_config *cfg);
void ctrl_run(void);
void ctrl_fini(void);
/* Free ptr with fn after an RCU grace period (workers may still hold it). */
void ctrl_defer_free(void *ptr, void (*fn)(void *));
/* Queue a frame for a worker to send on the WAN; frees it when the ring is full. */
void ctrl_tx(struct rte_mbuf *m);

/* peers.c */
struct mg_peer *peers_find(const uint8_t public_key[32]);
struct mg_peer *peers_create(const uint8_t public_key[32]);
void peers_remove(struct mg_peer *peer);
/* Set (or learn, when roaming) where a peer is; mac NULL to resolve it through neighbours. */
void peers_set_endpoint(struct mg_peer *peer, const struct devconf_endpoint *ep,
			const struct rte_ether_addr *mac);
/* Rebuild endpoints waiting for a neighbour that may now be known, probing again (at most once a
 * second per neighbour) for those still unknown. */
void peers_neighbour_update(void);
/* Index slots: a fresh index pointing at the peer's handshake; 0 when the table is full. */
uint32_t peers_index_alloc(struct mg_peer *peer);
void peers_index_free(uint32_t index);
struct mg_peer *peers_index_handshake(uint32_t index);
struct mg_keypair *peers_index_keypair(uint32_t index);
/* Install a derived session: current (initiator) or next (responder). */
int peers_install_session(struct mg_peer *peer, const struct handshake_session *s);
/* Responder: the next keypair was used by the peer, rotate it in. */
void peers_confirm(struct mg_peer *peer, struct mg_keypair *kp);
/* Drop every keypair and any handshake in progress (zero keys, peer removal, key change). */
void peers_clear_keys(struct mg_peer *peer);
/* Staged packets of this peer may go now. */
void peers_flush(struct mg_peer *peer);

/* hs.c */
void hs_input(struct rte_mbuf *m);
/* Send an initiation unless one went out less than REKEY_TIMEOUT ago (or force). */
void hs_send_initiation(struct mg_peer *peer, bool retry);
void hs_send_keepalive(struct mg_peer *peer);
/* Send a control message to a peer's endpoint, keeping it until the next hop resolves. */
void hs_send_to_peer(struct mg_peer *peer, const void *msg, uint16_t len);
void hs_send_pending(struct mg_peer *peer);

/* neigh.c */
void neigh_set_gateway(int family, const uint8_t *addr);
void neigh_input(struct rte_mbuf *m);
/* The MAC to reach addr (through the gateway when off-link); false while unresolved, in which case
 * a request has been sent. */
bool neigh_resolve(int family, const uint8_t *addr, struct rte_ether_addr *mac);
/* Our WAN address to use as the source towards a destination of this family. */
const uint8_t *neigh_source_addr(int family);
/* A frame with Ethernet + IPv4/IPv6 + UDP and payload, ready for ctrl_tx; NULL without mbufs. */
struct rte_mbuf *neigh_udp_frame(const struct rte_ether_addr *dst_mac,
				 const struct devconf_endpoint *dst, const void *payload, uint16_t len);

/* uapi_server.c */
int uapi_server_open(const char *ifname);
void uapi_server_poll(int timeout_ms);
void uapi_server_close(void);

/* health.c: once a second, the WAN link's state (logged, counted) and the inner TUN's presence
 * (gone: log and stop). */
void health_init(const char *inner);
void health_check(void);
void health_fini(void);

/* apply.c: a whole configuration change, validated first; 0 or -errno with nothing changed. */
int apply_devconf(const struct devconf *c);
/* The running configuration for "get". */
int apply_snapshot(struct devconf *out);

#endif
