/* SPDX-License-Identifier: MIT */
/*
 * The control thread's loop, the top of ctrl/ (core.h lists the layers). Each turn: ARP and ND
 * frames, then handshake frames from the workers; worker events; in gateway mode the LAN side; endpoints through a neighbour that
 * moved; the timers of every peer; objects whose RCU grace period has ended; and the UAPI socket,
 * whose poll() is also where the loop sleeps when there is nothing else to do.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_random.h>
#include <rte_ring_elem.h>

#include <sodium.h>

#include "apply.h"
#include "core.h"
#include "counters.h"
#include "filter.h"
#include "health.h"
#include "hs.h"
#include "icmp.h"
#include "keyenc.h"
#include "lan.h"
#include "loop.h"
#include "neigh.h"
#include "peers.h"
#include "stats.h"
#include "uapi_server.h"

#define NS_PER_MS 1000000ULL
#define TIMER_TICK_NS (10 * NS_PER_MS)
#define CTRL_BATCH 64        /* frames per turn, so the UAPI socket stays responsive under a flood */
#define RATELIMIT_GC_NS (1000 * NS_PER_MS)

int loop_init(struct mg_config *cfg)
{
	int ret;

	ctrl.cfg = cfg;
	ret = core_init();
	if (!ret)
		ret = apply_devconf(&cfg->wg);
	if (ret)
		return ret;
	if (mg_dev.lan) {
		ret = lan_init(cfg);
		if (ret)
			return ret;
	}
	if (cfg->policy) {
		ret = filter_publish(cfg->policy);
		cfg->policy = NULL; /* the filter's now (or freed) */
		if (ret)
			return ret;
	}
	stats_init(cfg->interface);
	health_init(cfg->inner.device ? NULL : cfg->inner.name);
	return uapi_server_open(cfg->interface);
}

/* A worker's event names a peer that may be gone by now: check before touching it. */
static struct mg_peer *event_peer(const struct mg_event *ev)
{
	struct mg_peer *p = ev->peer_id < MG_MAX_PEERS ? mg_dev.peers[ev->peer_id] : NULL;

	return p == ev->peer && p->gen == ev->peer_gen ? p : NULL;
}

void loop_handle_event(const struct mg_event *ev)
{
	struct mg_peer *peer = event_peer(ev);

	if (!peer)
		return;
	switch (ev->type) {
	case MG_EV_HANDSHAKE_NEEDED:
		__atomic_store_n(&peer->want_handshake, 0, __ATOMIC_RELAXED);
		hs_send_initiation(peer, false);
		break;
	case MG_EV_KEYPAIR_CONFIRMED:
		if (peer->next == ev->keypair && ev->keypair->serial == ev->keypair_serial) {
			peers_confirm(peer, ev->keypair, ev->keypair_serial);
			hs_complete(peer);
		}
		break;
	case MG_EV_ROAMED:
		__atomic_store_n(&peer->roam_pending, 0, __ATOMIC_RELAXED);
		peers_set_endpoint(peer, &ev->from, ev->local, &ev->from_mac);
		break;
	}
}

static unsigned int drain_events(void)
{
	struct mg_event ev;
	unsigned int n = 0;

	while (n < CTRL_BATCH && rte_ring_dequeue_elem(mg_dev.events, &ev, sizeof(ev)) == 0) {
		n++;
		loop_handle_event(&ev);
	}
	return n;
}

/* ARP and ND first, from their own ring: a handshake flood must not starve them. */
static unsigned int drain_neigh(void)
{
	struct rte_mbuf *m[CTRL_BATCH];
	unsigned int n = rte_ring_dequeue_burst(mg_dev.to_neigh, (void **)m, CTRL_BATCH, NULL);

	for (unsigned int i = 0; i < n; i++)
		neigh_input(m[i]);
	return n;
}

static unsigned int drain_frames(void)
{
	struct rte_mbuf *m[CTRL_BATCH];
	unsigned int n = rte_ring_dequeue_burst(mg_dev.to_ctrl, (void **)m, CTRL_BATCH, NULL);

	for (unsigned int i = 0; i < n; i++)
		hs_input(m[i]);
	return n;
}

enum seen { SEEN_TX_DATA, SEEN_RX_DATA, SEEN_RX_AUTH, SEEN_TX_ANY, SEEN_COUNT };

/* Feed one worker-written time to the timers if it moved since the last tick. */
static bool moved(const uint64_t *field, uint64_t *seen)
{
	uint64_t t = __atomic_load_n(field, __ATOMIC_RELAXED);

	if (t == *seen)
		return false;
	*seen = t;
	return true;
}

/* What the workers saw since the last tick, as timer events in the order it happened. */
static void feed_timers(struct mg_peer *p)
{
	uint64_t when[SEEN_COUNT] = { 0 };
	bool any[SEEN_COUNT] = {
		[SEEN_TX_DATA] = moved(&p->last_tx_data_ns, &p->seen_tx_data_ns),
		[SEEN_RX_DATA] = moved(&p->last_rx_data_ns, &p->seen_rx_data_ns),
		[SEEN_RX_AUTH] = moved(&p->last_rx_auth_ns, &p->seen_rx_auth_ns),
		[SEEN_TX_ANY] = moved(&p->last_tx_any_ns, &p->seen_tx_any_ns),
	};
	when[SEEN_TX_DATA] = p->seen_tx_data_ns;
	when[SEEN_RX_DATA] = p->seen_rx_data_ns;
	when[SEEN_RX_AUTH] = p->seen_rx_auth_ns;
	when[SEEN_TX_ANY] = p->seen_tx_any_ns;
	for (;;) {
		int first = -1;

		for (int i = 0; i < SEEN_COUNT; i++)
			if (any[i] && (first < 0 || when[i] < when[first]))
				first = i;
		if (first < 0)
			break;
		any[first] = false;
		switch (first) {
		case SEEN_TX_DATA:
			timers_data_sent(&p->timers, when[first]);
			break;
		case SEEN_RX_DATA:
			timers_data_received(&p->timers, when[first]);
			break;
		case SEEN_RX_AUTH:
			timers_any_authenticated_packet_received(&p->timers, when[first]);
			hs_keep_key_fresh_on_receive(p);
			break;
		default:
			timers_any_authenticated_packet_sent(&p->timers, when[first]);
		}
	}
}

static void tick_peer(struct mg_peer *p)
{
	unsigned int due;

	feed_timers(p);
	due = timers_expire(&p->timers, ctrl.now_ns, (uint32_t)(rte_rand() % (REKEY_TIMEOUT_JITTER_MAX_MS + 1)));
	if (due & TIMERS_ZERO_KEYS)
		peers_clear_keys(p);
	if (due & TIMERS_GIVE_UP) {
		char key[KEYENC_B64_LEN + 1];

		keyenc_to_base64(key, p->public_key);
		RTE_LOG(WARNING, USER1, "peer %s: no handshake answer for %u s, queued packets dropped\n", key,
			REKEY_ATTEMPT_TIME_S);
		ctrl.handshakes_given_up++;
		peers_drop_staged(p);
	}
	if (due & TIMERS_SEND_HANDSHAKE_INITIATION)
		hs_send_initiation(p, true);
	else if (due & TIMERS_NEW_HANDSHAKE)
		hs_send_initiation(p, true); /* the retry budget is already reset */
	if (due & (TIMERS_SEND_KEEPALIVE | TIMERS_SEND_PERSISTENT_KEEPALIVE))
		hs_send_keepalive(p);
}

unsigned int loop_turn(uint64_t now)
{
	static uint64_t next_tick, next_gc, neigh_seen;
	unsigned int work;

	ctrl.now_ns = now;
	work = drain_neigh() + drain_frames() + drain_events();
	if (mg_dev.lan)
		work += lan_turn();
	work += icmp_turn();
	if (neigh_changes() != neigh_seen) {
		/* An answer, a gratuitous ARP, a peer's new MAC: rebuild what goes through it now. */
		neigh_seen = neigh_changes();
		peers_neighbour_update();
	}
	if (ctrl.now_ns >= next_tick) {
		next_tick = ctrl.now_ns + TIMER_TICK_NS;
		for (unsigned int i = 0; i < MG_MAX_PEERS; i++)
			if (mg_dev.peers[i])
				tick_peer(mg_dev.peers[i]);
	}
	if (ctrl.reload) {
		ctrl.reload = 0;
		if (ctrl.config_path)
			filter_reload(ctrl.config_path);
	}
	if (ctrl.now_ns >= next_gc) {
		next_gc = ctrl.now_ns + RATELIMIT_GC_NS;
		ratelimit_gc(&ctrl.ratelimit, ctrl.now_ns);
		/* Unresolved next hops, and resolved ones due for confirmation: ask (again). */
		peers_neighbour_update();
		health_check();
		stats_write();
	}
	core_reclaim();
	return work;
}

void loop_run(void)
{
	while (!mg_dev.quit) {
		unsigned int work = loop_turn(mg_now_ns());

		/* Sleep in poll() only when idle; 1 ms bounds the handshake latency this adds. */
		uapi_server_poll(work ? 0 : 1);
	}
}

void loop_fini(void)
{
	uapi_server_close();
	health_fini();
	stats_fini();
	for (unsigned int i = 0; i < MG_MAX_PEERS; i++)
		if (mg_dev.peers[i])
			peers_remove(mg_dev.peers[i]);
	if (mg_dev.lan)
		lan_fini();
	filter_fini();
	core_fini();
}
