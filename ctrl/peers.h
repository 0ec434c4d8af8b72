/* SPDX-License-Identifier: MIT */
/*
 * Peers, their keypairs and endpoints, and the receiver-index table, as the control thread changes
 * them (peers.c). A message for a peer waiting for its next hop to resolve is kept here, on the
 * peer, and sent when the endpoint resolves.
 */
#ifndef MG_PEERS_H
#define MG_PEERS_H

#include <stdint.h>

#include <rte_ether.h>

#include "device.h"

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
/* A control message (handshake, keepalive) to the peer's endpoint; kept (the newest one) until the
 * next hop resolves. Counted in the peer's bytes, as wireguard-go counts them. */
void peers_send(struct mg_peer *peer, const void *msg, uint16_t len);
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

#endif
