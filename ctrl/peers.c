/* SPDX-License-Identifier: MIT */
/*
 * Peers, their keypairs and endpoints, and the receiver-index table, as the control thread changes
 * them. Index = (random high bits << MG_INDEX_BITS) | slot, so a worker finds a keypair with one
 * array load and one compare, and a stale or guessed index misses.
 */
#include <errno.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_random.h>

#include <sodium.h>

#include "counters.h"
#include "ctrl.h"
#include "packet.h"
#include "worker.h"

static uint64_t next_gen;

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

struct mg_peer *peers_create(const uint8_t public_key[32])
{
	char name[RTE_RING_NAMESIZE];
	struct mg_peer *peer;
	unsigned int id;

	for (id = 0; id < MG_MAX_PEERS && mg_dev.peers[id]; id++)
		;
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
	for (unsigned int w = 0; w < MG_MAX_WORKERS; w++)
		mg_workers[w].peer_rx_bytes[id] = mg_workers[w].peer_tx_bytes[id] = 0;
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

static void retire_keypair(struct mg_keypair **slot)
{
	struct mg_keypair *kp = *slot;

	if (!kp)
		return;
	publish(slot, NULL);
	peers_index_free(kp->local_index);
	ctrl_defer_free(kp, free_keypair);
}

void peers_clear_keys(struct mg_peer *peer)
{
	retire_keypair(&peer->next);
	retire_keypair(&peer->current);
	retire_keypair(&peer->previous);
	if (peer->hs.local_index)
		peers_index_free(peer->hs.local_index);
	handshake_clear(&peer->hs);
}

static void free_peer(void *p)
{
	struct mg_peer *peer = p;
	struct rte_mbuf *m;

	while (rte_ring_dequeue(peer->staged, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(peer->staged);
	rte_free(peer->endpoint);
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
	ctrl_defer_free(peer, free_peer);
}

/* Replace the published endpoint; the old one is freed after a grace period. */
static void publish_endpoint(struct mg_peer *peer, const struct devconf_endpoint *ep,
			     const struct rte_ether_addr *mac)
{
	struct mg_endpoint *old = peer->endpoint, *e = rte_zmalloc("mg_ep", sizeof(*e), 0);
	const uint8_t *src = neigh_source_addr(ep->family);

	if (!e)
		return;
	e->addr = *ep;
	e->resolved = mac != NULL && src != NULL;
	if (src)
		packet_build_template(e->hdr, &e->hdr_len, &mg_dev.wan_mac,
				      mac ? mac : &(struct rte_ether_addr){ { 0 } }, src, ep,
				      mg_dev.listen_port);
	publish(&peer->endpoint, e);
	if (old)
		ctrl_defer_free(old, rte_free);
}

void peers_set_endpoint(struct mg_peer *peer, const struct devconf_endpoint *ep,
			const struct rte_ether_addr *mac)
{
	struct rte_ether_addr resolved;

	if (!mac && neigh_resolve(ep->family, ep->addr, &resolved))
		mac = &resolved;
	publish_endpoint(peer, ep, mac);
	if (mac)
		hs_send_pending(peer);
}

void peers_neighbour_update(void)
{
	for (unsigned int i = 0; i < MG_MAX_PEERS; i++) {
		struct mg_peer *p = mg_dev.peers[i];
		struct rte_ether_addr mac;

		if (p && p->endpoint && !p->endpoint->resolved &&
		    neigh_resolve(p->endpoint->addr.family, p->endpoint->addr.addr, &mac)) {
			publish_endpoint(p, &p->endpoint->addr, &mac);
			hs_send_pending(p);
		}
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

	if (!kp) {
		peers_index_free(s->local_index);
		return -ENOMEM;
	}
	memcpy(kp->send_key, s->send_key, sizeof(kp->send_key));
	memcpy(kp->recv_key, s->recv_key, sizeof(kp->recv_key));
	kp->birth_ns = ctrl.now_ns;
	kp->local_index = s->local_index;
	kp->remote_index = s->remote_index;
	kp->initiator = s->initiator;
	kp->peer = peer;
	rte_spinlock_init(&kp->replay_lock);
	replay_init(&kp->replay);
	/* The handshake's index now names the keypair. */
	slot->handshake_peer = NULL;
	publish(&slot->keypair, kp);
	retire_keypair(&peer->next);
	if (s->initiator) {
		/* Confirmed by the response itself: use it now. */
		retire_keypair(&peer->previous);
		publish(&peer->previous, peer->current);
		publish(&peer->current, kp);
		peers_flush(peer);
	} else {
		/* The initiator has not used it yet: wait for its first packet (peers_confirm). */
		publish(&peer->next, kp);
	}
	return 0;
}

void peers_confirm(struct mg_peer *peer, struct mg_keypair *kp)
{
	if (peer->next != kp)
		return;
	retire_keypair(&peer->previous);
	publish(&peer->previous, peer->current);
	publish(&peer->current, kp);
	publish(&peer->next, NULL);
	peers_flush(peer);
}

void peers_flush(struct mg_peer *peer)
{
	if (!rte_ring_empty(peer->staged))
		rte_ring_enqueue(mg_dev.flush, (void *)(uintptr_t)peer->id);
}
