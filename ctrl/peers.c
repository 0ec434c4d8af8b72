/* SPDX-License-Identifier: MIT */
/*
 * Peers, their keypairs and endpoints, and the receiver-index table, as the control thread changes
 * them (peers.h). Index = (random high bits << MG_INDEX_BITS) | slot, so a worker finds a keypair
 * with one array load and one compare, and a stale or guessed index misses.
 */
#include <errno.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_random.h>

#include <sodium.h>

#include "core.h"
#include "counters.h"
#include "neigh.h"
#include "packet.h"
#include "peers.h"

static uint64_t next_gen, next_keypair_serial;
/* Ids whose peer was removed but may still be in a worker's hands (its grace period has not ended):
 * not given out again until then, so a worker's late byte counts never land on a new peer. */
static bool id_held[MG_MAX_PEERS];

static void publish(void *slot, void *value)
{
	__atomic_store_n((void **)slot, value, __ATOMIC_RELEASE);
}

struct mg_peer *peers_find(const uint8_t public_key[32])
{
	for (unsigned int i = 0; i < MG_MAX_PEERS; i++) {
		struct mg_peer *p = mg_dev.peers[i];

		if (p && sodium_memcmp(p->public_key, public_key, 32) == 0)
			return p;
	}
	return NULL;
}

/* What the workers have counted for a peer id so far (they only ever add). */
static void worker_bytes(unsigned int id, uint64_t *rx, uint64_t *tx)
{
	*rx = *tx = 0;
	for (unsigned int w = 0; w < MG_MAX_WORKERS; w++) {
		*rx += __atomic_load_n(&mg_peer_bytes[w].rx[id], __ATOMIC_RELAXED);
		*tx += __atomic_load_n(&mg_peer_bytes[w].tx[id], __ATOMIC_RELAXED);
	}
}

void peers_data_bytes(const struct mg_peer *peer, uint64_t *rx, uint64_t *tx)
{
	worker_bytes(peer->id, rx, tx);
	*rx -= peer->rx_bytes_base;
	*tx -= peer->tx_bytes_base;
}

struct mg_peer *peers_create(const uint8_t public_key[32])
{
	char name[RTE_RING_NAMESIZE];
	struct mg_peer *peer;
	unsigned int id;

	for (id = 0; id < MG_MAX_PEERS && (mg_dev.peers[id] || id_held[id]); id++)
		;
	if (id == MG_MAX_PEERS && ctrl.n_peers < MG_MAX_PEERS) {
		/* Every free id waits for its grace period (a full table replaced): wait it out. Workers
		 * pass a quiescent state every loop, so this takes microseconds. */
		core_reclaim_all();
		for (id = 0; id < MG_MAX_PEERS && (mg_dev.peers[id] || id_held[id]); id++)
			;
	}
	if (id == MG_MAX_PEERS)
		return NULL;
	peer = rte_zmalloc("mg_peer", sizeof(*peer), RTE_CACHE_LINE_SIZE);
	if (!peer)
		return NULL;
	/* Ring names are global and a removed peer's ring lives until its grace period ends. */
	snprintf(name, sizeof(name), "mg_stg_%u_%" PRIx64, id, rte_rand());
	peer->staged = rte_ring_create(name, MG_MAX_STAGED, SOCKET_ID_ANY, 0);
	if (!peer->staged) {
		rte_free(peer);
		return NULL;
	}
	peer->id = id;
	peer->gen = ++next_gen;
	memcpy(peer->public_key, public_key, 32);
	handshake_init(&peer->hs, &ctrl.id, public_key, NULL);
	cookie_maker_init(&peer->cookie, public_key);
	timers_init(&peer->timers);
	/* The workers' counters belong to the workers (device.h): read from here on, never reset. */
	worker_bytes(id, &peer->rx_bytes_base, &peer->tx_bytes_base);
	id_held[id] = true;
	publish(&mg_dev.peers[id], peer);
	ctrl.n_peers++;
	return peer;
}

static void free_keypair(void *p)
{
	struct mg_keypair *kp = p;

	sodium_memzero(kp, sizeof(*kp));
	rte_free(kp);
}

/* A keypair no slot publishes any more: its index goes now, its memory after a grace period. */
static void retire(struct mg_keypair *kp)
{
	if (!kp)
		return;
	peers_index_free(kp->local_index);
	core_defer_free(kp, free_keypair);
}

static void retire_keypair(struct mg_keypair **slot)
{
	struct mg_keypair *kp = *slot;

	publish(slot, NULL);
	retire(kp);
}

static void clear_handshake(struct mg_peer *peer)
{
	if (peer->hs.local_index)
		peers_index_free(peer->hs.local_index);
	handshake_clear(&peer->hs);
}

void peers_clear_keys(struct mg_peer *peer)
{
	retire_keypair(&peer->next);
	retire_keypair(&peer->current);
	retire_keypair(&peer->previous);
	clear_handshake(peer);
}

void peers_expire_keys(struct mg_peer *peer)
{
	struct mg_keypair *kp;

	clear_handshake(peer);
	timers_handshake_forget(&peer->timers);
	if ((kp = peer->next))
		__atomic_store_n(&kp->sending_valid, 0, __ATOMIC_RELAXED);
	if ((kp = peer->current))
		__atomic_store_n(&kp->sending_valid, 0, __ATOMIC_RELAXED);
}

void peers_drop_staged(struct mg_peer *peer)
{
	struct rte_mbuf *m;

	while (rte_ring_dequeue(peer->staged, (void **)&m) == 0) {
		__atomic_fetch_sub(&mg_dev.staged, 1, __ATOMIC_RELAXED);
		rte_pktmbuf_free(m);
	}
}

static void free_peer(void *p)
{
	struct mg_peer *peer = p;

	peers_drop_staged(peer);
	rte_ring_free(peer->staged);
	rte_free(peer->endpoint);
	id_held[peer->id] = false;
	sodium_memzero(peer, sizeof(*peer));
	rte_free(peer);
}

void peers_remove(struct mg_peer *peer)
{
	allowedips_remove_by_peer(mg_dev.allowedips, peer);
	peers_clear_keys(peer);
	handshake_destroy(&peer->hs);
	cookie_maker_wipe(&peer->cookie);
	publish(&mg_dev.peers[peer->id], NULL);
	peer->removed = true;
	ctrl.n_peers--;
	core_defer_free(peer, free_peer);
}

void peers_send(struct mg_peer *peer, const void *msg, uint16_t len)
{
	struct mg_endpoint *ep = peer->endpoint;
	struct rte_mbuf *m;

	if (!ep)
		return;
	if (!ep->resolved) {
		/* Keep the newest message until the next hop answers (send_pending). */
		memcpy(peer->pending_msg, msg, len);
		peer->pending_len = len;
		return;
	}
	m = neigh_udp_frame((const struct rte_ether_addr *)ep->hdr, &ep->addr, ep->local, msg, len);
	if (m)
		core_tx(m);
	/* Counted like wireguard-go: every message byte sent to the peer, handshakes included. */
	peer->ctrl_tx_bytes += len;
	__atomic_store_n(&peer->last_tx_any_ns, ctrl.now_ns, __ATOMIC_RELAXED);
}

static void send_pending(struct mg_peer *peer)
{
	uint16_t len = peer->pending_len;

	peer->pending_len = 0;
	if (len)
		peers_send(peer, peer->pending_msg, len);
}

/*
 * Publish where the peer is: its address, ours to send from (local, or one picked for it), the next
 * hop's MAC when known (mac; NULL: none yet). The old endpoint is freed after a grace period.
 * Without an address of the family to send from, the endpoint stays unresolved.
 */
static void publish_endpoint(struct mg_peer *peer, const struct devconf_endpoint *ep, const uint8_t *local,
			     const struct rte_ether_addr *mac)
{
	struct mg_endpoint *old = peer->endpoint, *e = rte_zmalloc("mg_ep", sizeof(*e), 0);
	const uint8_t *src = local ? local : neigh_source_addr(ep->family, ep->addr);
	static const struct rte_ether_addr none;

	if (!e)
		return;
	e->addr = *ep;
	e->on_link = neigh_on_link(ep->family, ep->addr);
	e->resolved = mac != NULL && src != NULL;
	if (src) {
		memcpy(e->local, src, ep->family == AF_INET ? 4 : 16);
		packet_build_template(e->hdr, &e->hdr_len, &mg_dev.wan_mac, mac ? mac : &none, src, ep,
				      mg_dev.listen_port);
	}
	publish(&peer->endpoint, e);
	if (old)
		core_defer_free(old, rte_free);
	if (e->resolved) {
		send_pending(peer);
		peers_flush(peer); /* packets that waited for the next hop */
	}
}

/* The MAC of the next hop to ep by our routes, as the neighbour table has it (probing when due);
 * false while unknown. */
static bool next_hop_mac(const struct devconf_endpoint *ep, struct rte_ether_addr *mac)
{
	uint8_t hop[16];

	return neigh_next_hop(ep->family, ep->addr, hop) && neigh_lookup(ep->family, hop, mac);
}

void peers_set_endpoint(struct mg_peer *peer, const struct devconf_endpoint *ep, const uint8_t *local,
			const struct rte_ether_addr *seen_mac)
{
	struct rte_ether_addr mac;
	const struct rte_ether_addr *use = NULL;

	if (seen_mac && neigh_on_link(ep->family, ep->addr)) {
		/* An authenticated packet from an on-link peer: its frame's source is the peer's MAC. */
		neigh_learn(ep->family, ep->addr, seen_mac);
		use = seen_mac;
	} else if (next_hop_mac(ep, &mac)) {
		use = &mac;
	} else if (seen_mac) {
		/* Behind a router we cannot resolve yet: answer the way the packet came meanwhile. */
		use = seen_mac;
	}
	publish_endpoint(peer, ep, local, use);
}

void peers_neighbour_update(void)
{
	for (unsigned int i = 0; i < MG_MAX_PEERS; i++) {
		struct mg_peer *p = mg_dev.peers[i];
		struct rte_ether_addr mac;

		if (!p || !p->endpoint || !next_hop_mac(&p->endpoint->addr, &mac))
			continue;
		if (!p->endpoint->resolved || !rte_is_same_ether_addr(&mac, (const struct rte_ether_addr *)p->endpoint->hdr))
			publish_endpoint(p, &p->endpoint->addr, p->endpoint->local, &mac);
	}
}

void peers_rebuild_endpoints(void)
{
	for (unsigned int i = 0; i < MG_MAX_PEERS; i++) {
		struct mg_peer *p = mg_dev.peers[i];
		struct mg_endpoint *e = p ? p->endpoint : NULL;

		if (e)
			publish_endpoint(p, &e->addr, e->local, e->resolved ? (const struct rte_ether_addr *)e->hdr : NULL);
	}
}

uint32_t peers_index_alloc(struct mg_peer *peer)
{
	/* Start at a random slot so indices do not reveal how many sessions exist. */
	uint32_t start = (uint32_t)rte_rand() & (MG_INDEX_SLOTS - 1);

	for (uint32_t i = 0; i < MG_INDEX_SLOTS; i++) {
		uint32_t slot = (start + i) & (MG_INDEX_SLOTS - 1);
		struct mg_index_slot *s = &mg_dev.index[slot];
		uint32_t index;

		if (s->index)
			continue;
		do
			index = ((uint32_t)rte_rand() << MG_INDEX_BITS) | slot;
		while (index == 0);
		s->index = index;
		s->handshake_peer = peer;
		return index;
	}
	return 0;
}

void peers_index_free(uint32_t index)
{
	struct mg_index_slot *s = &mg_dev.index[index & (MG_INDEX_SLOTS - 1)];

	if (!index || s->index != index)
		return;
	publish(&s->keypair, NULL);
	s->handshake_peer = NULL;
	s->index = 0;
}

struct mg_peer *peers_index_handshake(uint32_t index)
{
	struct mg_index_slot *s = &mg_dev.index[index & (MG_INDEX_SLOTS - 1)];

	return s->index == index ? s->handshake_peer : NULL;
}

struct mg_keypair *peers_index_keypair(uint32_t index)
{
	struct mg_index_slot *s = &mg_dev.index[index & (MG_INDEX_SLOTS - 1)];

	return s->index == index ? s->keypair : NULL;
}

int peers_install_session(struct mg_peer *peer, const struct handshake_session *s)
{
	struct mg_keypair *kp = rte_zmalloc("mg_kp", sizeof(*kp), RTE_CACHE_LINE_SIZE);
	struct mg_index_slot *slot = &mg_dev.index[s->local_index & (MG_INDEX_SLOTS - 1)];
	struct mg_keypair *next = peer->next, *current = peer->current, *previous = peer->previous;

	if (!kp) {
		peers_index_free(s->local_index);
		return -ENOMEM;
	}
	memcpy(kp->send_key, s->send_key, sizeof(kp->send_key));
	memcpy(kp->recv_key, s->recv_key, sizeof(kp->recv_key));
	kp->birth_ns = ctrl.now_ns;
	kp->serial = ++next_keypair_serial;
	kp->local_index = s->local_index;
	kp->remote_index = s->remote_index;
	kp->initiator = s->initiator;
	kp->sending_valid = 1;
	kp->peer = peer;
	rte_spinlock_init(&kp->replay_lock);
	replay_init(&kp->replay);
	/* The handshake's index now names the keypair. */
	slot->handshake_peer = NULL;
	publish(&slot->keypair, kp);
	/* The slots move as in Linux's noise.c (add_new_keypair) and wireguard-go. */
	if (s->initiator) {
		/* Confirmed by the response itself: use it now. A responder's keypair still waiting for
		 * its first packet (simultaneous handshakes) becomes the previous one, so what the peer
		 * already sent under it decrypts; the current goes instead. */
		if (next) {
			publish(&peer->next, NULL);
			publish(&peer->previous, next);
			retire(current);
		} else {
			publish(&peer->previous, current);
		}
		retire(previous);
		publish(&peer->current, kp);
		peers_flush(peer);
	} else {
		/* The initiator has not used it yet: wait for its first packet (peers_confirm). Until
		 * then the current keypair still sends; the previous and any older next go. */
		publish(&peer->next, kp);
		retire(next);
		publish(&peer->previous, NULL);
		retire(previous);
	}
	return 0;
}

void peers_confirm(struct mg_peer *peer, const struct mg_keypair *kp, uint64_t serial)
{
	struct mg_keypair *previous = peer->previous;

	/* The pointer alone could name a newer keypair made in a freed one's memory. */
	if (!kp || peer->next != kp || kp->serial != serial)
		return;
	publish(&peer->previous, peer->current);
	retire(previous);
	publish(&peer->current, peer->next);
	publish(&peer->next, NULL);
	peers_flush(peer);
}

void peers_flush(struct mg_peer *peer)
{
	if (!rte_ring_empty(peer->staged))
		rte_ring_enqueue(mg_dev.flush, (void *)(uintptr_t)peer->id);
}
