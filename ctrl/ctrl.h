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
/* The state the rest builds on (rate limiter, allowed-IPs table, cookie checker), without the
 * front ends (UAPI socket, counters file, health checks): what ctrl_init does first. */
int ctrl_state_init(void);
/* The loop, until mg_dev.quit; one turn of it at protocol time now (the in-process tests' clock):
 * frames and events from the workers, the timers, reclaim; how much work it found. */
void ctrl_run(void);
unsigned int ctrl_turn(uint64_t now);
void ctrl_fini(void);
/* What the loop does with one worker event (a peer or keypair it names may be gone). */
void ctrl_handle_event(const struct mg_event *ev);
/* Free ptr with fn after an RCU grace period (workers may still hold it). */
void ctrl_defer_free(void *ptr, void (*fn)(void *));
/* Wait for a grace period and free everything deferred (rare: it blocks the control thread). */
void ctrl_reclaim_all(void);
/* Queue a frame for a worker to send on the WAN; frees it when the ring is full. */
void ctrl_tx(struct rte_mbuf *m);

/* peers.c */
struct mg_peer *peers_find(const uint8_t public_key[32]);
struct mg_peer *peers_create(const uint8_t public_key[32]);
void peers_remove(struct mg_peer *peer);
/* Bytes of data the workers carried for the peer since it was created. */
void peers_data_bytes(const struct mg_peer *peer, uint64_t *rx, uint64_t *tx);
/* Set (or learn, from an authenticated packet) where a peer is: its address, ours it reached
 * (local; NULL to pick one), and the MAC its packet came from (seen_mac; NULL when configured). */
void peers_set_endpoint(struct mg_peer *peer, const struct devconf_endpoint *ep, const uint8_t *local,
			const struct rte_ether_addr *seen_mac);
/* Rebuild endpoints whose next hop's MAC is now known or changed (and probe, at most once a second
 * per neighbour, those unknown or due for confirmation). */
void peers_neighbour_update(void);
/* Rebuild every endpoint's header (the listen port changed). */
void peers_rebuild_endpoints(void);
/* Index slots: a fresh index pointing at the peer's handshake; 0 when the table is full. */
uint32_t peers_index_alloc(struct mg_peer *peer);
void peers_index_free(uint32_t index);
struct mg_peer *peers_index_handshake(uint32_t index);
struct mg_keypair *peers_index_keypair(uint32_t index);
/* Install a derived session: current (initiator) or next (responder). */
int peers_install_session(struct mg_peer *peer, const struct handshake_session *s);
/* Responder: the next keypair (this one, this serial) was used by the peer: rotate it in. */
void peers_confirm(struct mg_peer *peer, const struct mg_keypair *kp, uint64_t serial);
/* Drop every keypair and any handshake in progress (zero keys timer, peer removal). */
void peers_clear_keys(struct mg_peer *peer);
/* Our private key changed: the handshake in progress goes, the keypairs stop sending but still
 * decrypt what the peer sends until a new session replaces them (Linux's
 * wg_noise_expire_current_peer_keypairs). */
void peers_expire_keys(struct mg_peer *peer);
/* Staged packets of this peer may go now / are dropped. */
void peers_flush(struct mg_peer *peer);
void peers_drop_staged(struct mg_peer *peer);

/* hs.c */
void hs_input(struct rte_mbuf *m);
/* Send an initiation unless one went out less than REKEY_TIMEOUT ago (or force). */
void hs_send_initiation(struct mg_peer *peer, bool retry);
void hs_send_keepalive(struct mg_peer *peer);
/* Send a control message to a peer's endpoint, keeping it until the next hop resolves. */
void hs_send_to_peer(struct mg_peer *peer, const void *msg, uint16_t len);
void hs_send_pending(struct mg_peer *peer);
/* A handshake completed: its response arrived, or a responder's keypair was confirmed. */
void hs_complete(struct mg_peer *peer);
void hs_keep_key_fresh_on_receive(struct mg_peer *peer);

/* neigh.c */
void neigh_set_gateway(int family, const uint8_t *addr);
void neigh_input(struct rte_mbuf *m);
/* addr is at mac (authenticated traffic from an on-link peer says so). */
void neigh_learn(int family, const uint8_t *addr, const struct rte_ether_addr *mac);
/* Our routes: whether dst is on one of our WAN prefixes; the next hop towards it (itself when on
 * link, else the gateway; false without one). */
bool neigh_on_link(int family, const uint8_t *dst);
bool neigh_next_hop(int family, const uint8_t *dst, uint8_t hop[16]);
/* The MAC of a next hop; false while unresolved, in which case a request has been sent. */
bool neigh_lookup(int family, const uint8_t *hop, struct rte_ether_addr *mac);
/* Our WAN address to send from towards dst: one on its link, else the first of its family. */
const uint8_t *neigh_source_addr(int family, const uint8_t *dst);
/* A frame with Ethernet + IPv4/IPv6 + UDP and payload, from our address src (NULL: picked), ready
 * for ctrl_tx; NULL without mbufs. */
struct rte_mbuf *neigh_udp_frame(const struct rte_ether_addr *dst_mac, const struct devconf_endpoint *dst,
				 const uint8_t *src, const void *payload, uint16_t len);

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
