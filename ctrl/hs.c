/* SPDX-License-Identifier: MIT */
/*
 * Handshake messages on the control thread: initiations, responses and cookie replies in, the same
 * out, the under-load defence (mac2 cookies, then the per-source rate limiter), and keepalives. The
 * protocol itself is lib/handshake.c and lib/cookie.c; this file moves bytes and makes decisions.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_udp.h>

#include <sodium.h>

#include "aead.h"
#include "core.h"
#include "counters.h"
#include "hs.h"
#include "neigh.h"
#include "packet.h"
#include "peers.h"
#include "tai64n.h"
#include "x25519.h"

/* Under load when the handshake queue is an eighth full, and for a second after (as Linux). */
#define UNDER_LOAD_QUEUE_FRACTION 8
#define UNDER_LOAD_HOLD_NS MG_NS_PER_S

static bool under_load(void)
{
	if (rte_ring_count(mg_dev.to_ctrl) >= rte_ring_get_capacity(mg_dev.to_ctrl) / UNDER_LOAD_QUEUE_FRACTION)
		ctrl.last_under_load_ns = ctrl.now_ns;
	return ctrl.last_under_load_ns && ctrl.now_ns - ctrl.last_under_load_ns < UNDER_LOAD_HOLD_NS;
}

/* Source bytes for the cookie: address then port, network order. */
static size_t source_bytes(const struct devconf_endpoint *ep, uint8_t out[COOKIE_SRC_MAX])
{
	size_t alen = ep->family == AF_INET ? 4 : 16;

	memcpy(out, ep->addr, alen);
	out[alen] = ep->port >> 8;
	out[alen + 1] = ep->port & 0xff;
	return alen + 2;
}

static void send_frame(const struct rte_ether_addr *mac, const struct devconf_endpoint *to, const uint8_t *local,
		       const void *msg, uint16_t len)
{
	struct rte_mbuf *m = neigh_udp_frame(mac, to, local, msg, len);

	if (m)
		core_tx(m);
}

void hs_send_initiation(struct mg_peer *peer, bool retry)
{
	struct message_handshake_initiation msg;
	uint8_t e[32], epub[32], ts[NOISE_TIMESTAMP_LEN];
	uint32_t index;

	if (!peer->endpoint || !ctrl.id.has_identity)
		return;
	if (!retry)
		timers_handshake_requested(&peer->timers, ctrl.now_ns);
	/* Never more than one initiation per REKEY_TIMEOUT, retries included (as Linux). */
	if (!timers_initiation_allowed(&peer->timers, ctrl.now_ns))
		return;
	if (peer->hs.local_index)
		peers_index_free(peer->hs.local_index);
	index = peers_index_alloc(peer);
	if (!index)
		return;
	x25519_generate(e, epub);
	tai64n_now(ts);
	if (handshake_create_initiation(&msg, &peer->hs, &ctrl.id, index, e, ts) != 0) {
		peers_index_free(index);
		sodium_memzero(e, sizeof(e));
		return;
	}
	sodium_memzero(e, sizeof(e));
	if (cookie_add_macs(&peer->cookie, (uint8_t *)&msg, sizeof(msg), ctrl.now_ns))
		mg_stats[rte_lcore_id()].cookie_mac2_sent++;
	timers_handshake_initiated(&peer->timers, ctrl.now_ns);
	RTE_LOG(DEBUG, USER1, "%.3f peer %u: initiation %08x%s\n", ctrl.now_ns / 1e9, peer->id, index,
		retry ? " (retry)" : "");
	peers_send(peer, &msg, sizeof(msg));
	ctrl.initiations_sent++;
}

/*
 * A keepalive goes the way data goes (Linux queues it as an empty packet behind any staged ones):
 * with no keypair valid for sending, a handshake instead, and after it is sent the key is kept
 * fresh (send.c's keep_key_fresh), so an idle tunnel kept up by keepalives rekeys like a busy one.
 */
void hs_send_keepalive(struct mg_peer *peer)
{
	struct mg_keypair *kp = peer->current;
	uint8_t buf[MESSAGE_MINIMUM_LENGTH];
	struct message_data *d = (struct message_data *)buf;
	uint64_t counter;

	if (!peer->endpoint)
		return;
	if (!kp || !kp->sending_valid) {
		hs_send_initiation(peer, false);
		return;
	}
	counter = __atomic_fetch_add(&kp->send_counter, 1, __ATOMIC_RELAXED);
	if (timers_keypair_rejected(kp->birth_ns, counter, ctrl.now_ns)) {
		hs_send_initiation(peer, false);
		return;
	}
	d->header.type = MESSAGE_HEADER_WORD(MESSAGE_DATA);
	d->key_idx = kp->remote_index;
	d->counter = counter;
	aead_seal(d->encrypted_data, buf, 0, NULL, 0, d->counter, kp->send_key);
	peers_send(peer, buf, sizeof(buf));
	/* A keepalive is authenticated but not data: it must not arm the new-handshake timer. */
	timers_any_authenticated_packet_sent(&peer->timers, ctrl.now_ns);
	if (timers_keypair_should_rekey_on_send(kp->birth_ns, counter + 1, kp->initiator, ctrl.now_ns))
		hs_send_initiation(peer, false);
}

/* mac1 always; under load mac2 too, and then the per-source rate limit. true: process it. */
static bool admit(const uint8_t *msg, size_t len, uint32_t sender, const struct devconf_endpoint *from,
		  const uint8_t *local, const struct rte_ether_addr *mac)
{
	uint8_t src[COOKIE_SRC_MAX];
	size_t src_len = source_bytes(from, src);
	bool loaded = under_load();

	switch (cookie_validate(&ctrl.checker, msg, len, src, src_len, loaded, ctrl.now_ns)) {
	case COOKIE_INVALID_MAC:
		mg_drop(MG_DROP_HS_INVALID_MAC, 1);
		return false;
	case COOKIE_VALID_MAC_BUT_NO_COOKIE:
		if (loaded) {
			struct message_handshake_cookie reply;

			cookie_create_reply(&ctrl.checker, &reply, msg, len, sender, src, src_len, ctrl.now_ns);
			send_frame(mac, from, local, &reply, sizeof(reply));
			mg_drop(MG_DROP_HS_COOKIE_SENT, 1);
			return false;
		}
		return true;
	case COOKIE_VALID_MAC_WITH_COOKIE:
		if (!ratelimit_allow(&ctrl.ratelimit, from->family, from->addr, ctrl.now_ns)) {
			mg_drop(MG_DROP_HS_RATELIMITED, 1);
			return false;
		}
		return true;
	}
	return false;
}

static struct handshake *lookup_peer(void *ctx, const uint8_t *remote_static)
{
	struct mg_peer *peer = peers_find(remote_static);

	(void)ctx;
	return peer ? &peer->hs : NULL;
}

static void count_error(int err)
{
	switch (err) {
	case -ENOKEY:
		mg_drop(MG_DROP_HS_UNKNOWN_PEER, 1);
		break;
	case -ESTALE:
		mg_drop(MG_DROP_HS_REPLAY, 1);
		break;
	case -EBUSY:
		mg_drop(MG_DROP_HS_FLOOD, 1);
		break;
	case -EBADMSG:
		mg_drop(MG_DROP_HS_AUTH_FAILED, 1);
		break;
	default:
		mg_drop(MG_DROP_HS_UNEXPECTED, 1);
	}
}

/* A handshake message authenticated the peer at this address, sent to our address local: that is
 * where it is, and where we answer from (as Linux keeps a source address per endpoint). */
static void authenticated(struct mg_peer *peer, const struct devconf_endpoint *from, const uint8_t *local,
			  const struct rte_ether_addr *mac)
{
	const struct mg_endpoint *ep = peer->endpoint;

	if (!ep || !ep->resolved || !packet_endpoint_equal(&ep->addr, from) ||
	    memcmp(ep->local, local, from->family == AF_INET ? 4 : 16) != 0 ||
	    (ep->on_link && !rte_is_same_ether_addr(mac, (const struct rte_ether_addr *)ep->hdr)))
		peers_set_endpoint(peer, from, local, mac);
	timers_any_authenticated_packet_received(&peer->timers, ctrl.now_ns);
}

void hs_complete(struct mg_peer *peer)
{
	timers_handshake_complete(&peer->timers, ctrl.now_ns);
	peer->sent_lastminute_handshake = false;
}

/* After any authenticated packet: an initiator whose keypair nears REJECT_AFTER_TIME and that only
 * receives must rekey while it still can (receive.c's keep_key_fresh), once per session. */
void hs_keep_key_fresh_on_receive(struct mg_peer *peer)
{
	struct mg_keypair *kp = peer->current;

	if (peer->sent_lastminute_handshake || !kp || !kp->sending_valid ||
	    !timers_keypair_should_rekey_on_receive(kp->birth_ns, kp->initiator, ctrl.now_ns))
		return;
	peer->sent_lastminute_handshake = true;
	hs_send_initiation(peer, false);
}

static struct mg_peer *peer_of(struct handshake *hs)
{
	return (struct mg_peer *)((char *)hs - offsetof(struct mg_peer, hs));
}

static void session_ready(struct mg_peer *peer)
{
	struct handshake_session s;
	struct timespec wall;

	if (handshake_derive_session(&peer->hs, &s) != 0 || peers_install_session(peer, &s) != 0) {
		sodium_memzero(&s, sizeof(s));
		return;
	}
	RTE_LOG(DEBUG, USER1, "%.3f peer %u: session %08x as %s\n", ctrl.now_ns / 1e9, peer->id,
		s.local_index, s.initiator ? "initiator" : "responder");
	sodium_memzero(&s, sizeof(s));
	ctrl.sessions++;
	clock_gettime(CLOCK_REALTIME, &wall);
	peer->last_handshake_unix_ns = (uint64_t)wall.tv_sec * MG_NS_PER_S + (uint64_t)wall.tv_nsec;
	timers_session_derived(&peer->timers, ctrl.now_ns);
}

static void initiation_input(const uint8_t *msg, const struct devconf_endpoint *from, const uint8_t *local,
			     const struct rte_ether_addr *mac)
{
	const struct message_handshake_initiation *init = (const void *)msg;
	struct message_handshake_response resp;
	struct handshake *hs;
	struct mg_peer *peer;
	uint8_t e[32], epub[32];
	uint32_t index;
	int err;

	if (!admit(msg, sizeof(*init), init->sender_index, from, local, mac))
		return;
	err = handshake_consume_initiation(init, &ctrl.id, lookup_peer, NULL, ctrl.now_ns, &hs);
	if (err) {
		count_error(err);
		return;
	}
	peer = peer_of(hs);
	peer->ctrl_rx_bytes += sizeof(*init);
	authenticated(peer, from, local, mac);
	if (peer->hs.local_index)
		peers_index_free(peer->hs.local_index);
	index = peers_index_alloc(peer);
	x25519_generate(e, epub);
	if (!index || handshake_create_response(&resp, &peer->hs, index, e) != 0) {
		peers_index_free(index);
		sodium_memzero(e, sizeof(e));
		return;
	}
	sodium_memzero(e, sizeof(e));
	if (cookie_add_macs(&peer->cookie, (uint8_t *)&resp, sizeof(resp), ctrl.now_ns))
		mg_stats[rte_lcore_id()].cookie_mac2_sent++;
	session_ready(peer);
	peers_send(peer, &resp, sizeof(resp));
	ctrl.responses_sent++;
	timers_handshake_response_sent(&peer->timers, ctrl.now_ns);
}

static void response_input(const uint8_t *msg, const struct devconf_endpoint *from, const uint8_t *local,
			   const struct rte_ether_addr *mac)
{
	const struct message_handshake_response *resp = (const void *)msg;
	struct mg_peer *peer;
	int err;

	if (!admit(msg, sizeof(*resp), resp->sender_index, from, local, mac))
		return;
	peer = peers_index_handshake(resp->receiver_index);
	if (!peer) {
		mg_drop(MG_DROP_HS_UNEXPECTED, 1);
		return;
	}
	err = handshake_consume_response(resp, &peer->hs);
	if (err) {
		count_error(err);
		return;
	}
	peer->ctrl_rx_bytes += sizeof(*resp);
	authenticated(peer, from, local, mac);
	hs_complete(peer);
	session_ready(peer);
	/* Confirm the session to the responder at once; staged packets may already do it. */
	if (rte_ring_empty(peer->staged))
		hs_send_keepalive(peer);
}

static void cookie_input(const uint8_t *msg)
{
	const struct message_handshake_cookie *c = (const void *)msg;
	struct mg_keypair *kp = peers_index_keypair(c->receiver_index);
	struct mg_peer *peer = kp ? kp->peer : peers_index_handshake(c->receiver_index);

	if (!peer || cookie_consume_reply(&peer->cookie, c, ctrl.now_ns) != 0)
		mg_drop(MG_DROP_HS_UNEXPECTED, 1);
	else
		mg_stats[rte_lcore_id()].cookie_replies_rx++;
}

void hs_input(struct rte_mbuf *m)
{
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *, m->l2_len);
	const uint8_t *msg = l3 + m->l3_len + sizeof(struct rte_udp_hdr);
	struct rte_ether_addr mac = rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr;
	struct devconf_endpoint from;
	uint8_t local[16];

	packet_outer_source(m, &from);
	packet_outer_dest(m, local);
	switch (message_classify(msg, rte_pktmbuf_data_len(m) - (msg - rte_pktmbuf_mtod(m, const uint8_t *)))) {
	case MESSAGE_HANDSHAKE_INITIATION:
		initiation_input(msg, &from, local, &mac);
		break;
	case MESSAGE_HANDSHAKE_RESPONSE:
		response_input(msg, &from, local, &mac);
		break;
	case MESSAGE_HANDSHAKE_COOKIE:
		cookie_input(msg);
		break;
	default:
		mg_drop(MG_DROP_WG_BAD_MESSAGE, 1);
	}
	rte_pktmbuf_free(m);
}
