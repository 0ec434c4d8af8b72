/* SPDX-License-Identifier: MIT */
/*
 * Encrypt path: inner -> WAN. One call per burst read from the inner device:
 *  1. A burst from the inner device (worker.c; host mode: the TUN).
 *  2. Per packet: IP version and length; destination -> peer by longest-prefix match on allowed-IPs.
 *     Too big for the tunnel, or no peer: dropped, counted, and an ICMP error asked of the control
 *     thread (rate-limited), as Linux's wg_xmit and a router's forwarding do. With a flow table,
 *     the flow stage (flowstage.c: connection tracking, the policy for a new flow).
 *  3. Group the burst by peer, keeping each peer's packets in order.
 *  4. Per peer: the current keypair must be usable (exists, valid for sending, younger than
 *     REJECT_AFTER_TIME, nonces left) and the next hop resolved; if not, the packets wait in the
 *     peer's bounded staging ring and the control thread is asked for a handshake (or, for the
 *     next hop, flushes them when it resolves); drop with a counter when the ring, or all rings
 *     together, are full; never block. Nonces for the whole group come from one atomic
 *     add. A keypair due for rekeying asks for a handshake too.
 *  5. Pad to 16 bytes, prepend the data header, one burst AEAD seal over all groups, in place; the
 *     tag goes in the tailroom.
 *  6. Prepend the outer Ethernet/IP/UDP header from the peer's endpoint template; lengths and
 *     checksums.
 *  7. rte_eth_tx_burst on the worker's WAN queue; what the port does not take is counted and freed.
 *     A packet larger than the WAN MTU goes out as IP fragments (frag.c), as Linux sends them.
 */
#include <string.h>

#include <rte_ethdev.h>

#include "counters.h"
#include "frag.h"
#include "packet.h"
#include "policy.h"
#include "wan.h"
#include "worker.h"

static void want_handshake(struct mg_peer *peer)
{
	struct mg_event ev = { .type = MG_EV_HANDSHAKE_NEEDED, .peer = peer, .peer_gen = peer->gen, .peer_id = peer->id };

	if (!__atomic_exchange_n(&peer->want_handshake, 1, __ATOMIC_RELAXED) && !worker_post_event(&ev))
		__atomic_store_n(&peer->want_handshake, 0, __ATOMIC_RELAXED);
}

/*
 * Packets wait for a keypair in the peer's ring (MG_MAX_STAGED, as Linux's MAX_STAGED_PACKETS),
 * and all peers' rings together hold at most mg_dev.staged_max: peers that never answer must not
 * take the mbufs WAN receive needs. One atomic per staged group; staging is the slow path.
 */
static void stage(struct mg_peer *peer, struct rte_mbuf **pkts, unsigned int n, bool handshake)
{
	uint32_t before = __atomic_fetch_add(&mg_dev.staged, n, __ATOMIC_RELAXED);
	unsigned int room = before >= mg_dev.staged_max ? 0 : RTE_MIN(n, mg_dev.staged_max - before);
	unsigned int queued = rte_ring_enqueue_burst(peer->staged, (void **)pkts, room, NULL);

	if (queued < n) {
		__atomic_fetch_sub(&mg_dev.staged, n - queued, __ATOMIC_RELAXED);
		mg_drop(queued < room ? MG_DROP_STAGED_FULL : MG_DROP_STAGED_LIMIT, n - queued);
		rte_pktmbuf_free_bulk(pkts + queued, n - queued);
	}
	if (handshake)
		want_handshake(peer);
}

/* Step 4: a keypair with room for n nonces, the first of which goes to *first; or NULL. */
static struct mg_keypair *reserve(struct mg_worker *w, struct mg_peer *peer, unsigned int n,
				  uint64_t *first)
{
	struct mg_keypair *kp = mg_load(&peer->current);

	if (!kp || !__atomic_load_n(&kp->sending_valid, __ATOMIC_RELAXED))
		return NULL;
	*first = __atomic_fetch_add(&kp->send_counter, n, __ATOMIC_RELAXED);
	if (timers_keypair_rejected(kp->birth_ns, *first + n - 1, w->now_ns))
		return NULL;
	/* Who rekeys: the initiator by age, either side by message count (lib/timers.h). */
	if (timers_keypair_should_rekey_on_send(kp->birth_ns, *first + n, kp->initiator, w->now_ns))
		want_handshake(peer);
	return kp;
}

/* Step 5 set-up for one packet: padding, data header; the op to seal. false: drop (counted). */
static bool prepare(struct rte_mbuf *m, struct mg_keypair *kp, uint64_t counter,
		    struct aead_burst_op *op)
{
	uint32_t len = rte_pktmbuf_data_len(m);
	uint32_t padded = RTE_ALIGN_CEIL(len, MESSAGE_PADDING_MULTIPLE);
	struct message_data *d;
	uint8_t *tail;

	if (padded > mg_dev.inner_mtu)
		padded = RTE_MAX(len, (uint32_t)mg_dev.inner_mtu);
	tail = (uint8_t *)rte_pktmbuf_append(m, padded - len + NOISE_AUTHTAG_LEN);
	d = (struct message_data *)rte_pktmbuf_prepend(m, MESSAGE_DATA_HEADER_SIZE);
	if (!tail || !d) {
		mg_drop(MG_DROP_NO_ROOM, 1);
		return false;
	}
	memset(tail, 0, padded - len);
	d->header.type = MESSAGE_HEADER_WORD(MESSAGE_DATA);
	d->key_idx = kp->remote_index;
	d->counter = counter;
	*op = (struct aead_burst_op){ .key = kp->send_key, .counter = counter,
		.src = d->encrypted_data, .dst = d->encrypted_data,
		.tag = d->encrypted_data + padded, .len = padded };
	return true;
}

/* Step 7 for a packet larger than the WAN MTU: what is ready so far goes first, then its fragments. */
static unsigned int send_fragmented(struct mg_worker *w, struct rte_mbuf **ready, unsigned int nready,
				    struct rte_mbuf *m)
{
	struct rte_mbuf *frags[MG_MAX_FRAGS];
	uint16_t n;

	if (nready)
		wan_tx(w, ready, (uint16_t)nready);
	n = frag_fragment(w, m, frags, RTE_DIM(frags));
	if (n)
		wan_tx(w, frags, n);
	return 0;
}

/* Steps 6-7 for sealed packets; ep[i] is packet i's endpoint. */
static void transmit(struct mg_worker *w, struct rte_mbuf **pkts, struct mg_endpoint **eps,
		     struct mg_peer **peers, unsigned int n)
{
	const uint16_t stride = (uint16_t)mg_dev.n_workers, frame_max = mg_dev.wan_frame_max;
	uint64_t *tx_bytes = w->bytes->tx;
	uint16_t ip_id = w->ip_id;
	unsigned int nout = 0;

	for (unsigned int i = 0; i < n; i++) {
		uint32_t udp_len = rte_pktmbuf_data_len(pkts[i]);
		uint8_t *hdr = (uint8_t *)rte_pktmbuf_prepend(pkts[i], eps[i]->hdr_len);

		if (!hdr) {
			mg_drop(MG_DROP_NO_ROOM, 1);
			rte_pktmbuf_free(pkts[i]);
			continue;
		}
		memcpy(hdr, eps[i]->hdr, eps[i]->hdr_len);
		packet_outer_finish(pkts[i], eps[i]->hdr_len, udp_len, ip_id);
		ip_id += stride;
		tx_bytes[peers[i]->id] += udp_len;
		if (unlikely(rte_pktmbuf_data_len(pkts[i]) > frame_max))
			nout = send_fragmented(w, pkts, nout, pkts[i]);
		else
			pkts[nout++] = pkts[i];
	}
	w->ip_id = ip_id;
	wan_tx(w, pkts, (uint16_t)nout);
}

/*
 * Steps 4-7 for groups of packets already sorted by peer: gsize[g] packets of gpeer[g] each.
 * Everything sealed in one burst. staged: these come from a staging ring (do not flush it again).
 */
static void encrypt_groups(struct mg_worker *w, struct rte_mbuf **pkts, struct mg_peer **gpeer,
			   const unsigned int *gsize, unsigned int ngroups, bool staged)
{
	struct aead_burst_op ops[MG_BURST];
	struct mg_endpoint *eps[MG_BURST];
	struct mg_peer *peers[MG_BURST];
	struct rte_mbuf *ready[MG_BURST];
	unsigned int n = 0, at = 0;

	for (unsigned int g = 0; g < ngroups; g++) {
		struct mg_peer *peer = gpeer[g];
		struct mg_endpoint *ep = __atomic_load_n(&peer->endpoint, __ATOMIC_ACQUIRE);
		struct mg_keypair *kp;
		uint64_t counter;

		at += g ? gsize[g - 1] : 0;
		if (!ep) {
			mg_drop(MG_DROP_NO_ENDPOINT, gsize[g]);
			rte_pktmbuf_free_bulk(pkts + at, gsize[g]);
			continue;
		}
		/* Packets that waited for a keypair or the next hop go first. */
		if (!staged && unlikely(!rte_ring_empty(peer->staged)) && ep->resolved && mg_load(&peer->current))
			encrypt_flush_staged(w, peer);
		kp = ep->resolved ? reserve(w, peer, gsize[g], &counter) : NULL;
		if (!kp) {
			/* Without a usable keypair a handshake is asked for. Without the next hop's MAC (being
			 * resolved; Linux's neighbour queue holds packets likewise) they wait: the control
			 * thread flushes them when the endpoint resolves. */
			stage(peer, pkts + at, gsize[g], ep->resolved || !mg_load(&peer->current));
			continue;
		}
		for (unsigned int i = 0; i < gsize[g]; i++) {
			struct rte_mbuf *m = pkts[at + i];

			if (!prepare(m, kp, counter + i, &ops[n])) {
				rte_pktmbuf_free(m);
				continue;
			}
			eps[n] = ep;
			peers[n] = peer;
			ready[n++] = m;
		}
		__atomic_store_n(&peer->last_tx_data_ns, w->now_ns, __ATOMIC_RELAXED);
		__atomic_store_n(&peer->last_tx_any_ns, w->now_ns, __ATOMIC_RELAXED);
	}
	if (!n)
		return;
	aead_burst_seal(&w->aead, ops, n);
	mg_stats[w->lcore].encrypted += n;
	transmit(w, ready, eps, peers, n);
}

/* Steps 3-7 for packets whose peers are known: dest[i] is pkts[i]'s, NULL for a packet gone. */
void encrypt_to_peers(struct mg_worker *w, struct rte_mbuf **pkts, struct mg_peer **dest, uint16_t n)
{
	struct mg_peer *gpeer[MG_BURST];
	struct rte_mbuf *sorted[MG_BURST];
	unsigned int gsize[MG_BURST], ngroups = 0, nsorted = 0;

	/* Step 3: a burst usually holds few peers, so gather each in turn. */
	for (uint16_t i = 0; i < n; i++) {
		struct mg_peer *peer = dest[i];

		if (!peer)
			continue;
		gpeer[ngroups] = peer;
		gsize[ngroups] = 0;
		for (uint16_t j = i; j < n; j++) {
			if (dest[j] == peer) {
				sorted[nsorted++] = pkts[j];
				gsize[ngroups]++;
				dest[j] = NULL;
			}
		}
		ngroups++;
	}
	if (ngroups)
		encrypt_groups(w, sorted, gpeer, gsize, ngroups, false);
}

void encrypt_burst(struct mg_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	struct mg_peer *dest[MG_BURST];

	mg_stats[w->lcore].inner_rx += n;
	/* Step 2. */
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *p = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
		uint32_t len = rte_pktmbuf_data_len(pkts[i]);
		int family = 0;

		dest[i] = NULL;
		if (pkts[i]->nb_segs != 1 || packet_inner_len(p, len, &family) != len) {
			mg_drop(MG_DROP_INNER_BAD_IP, 1);
			rte_pktmbuf_free(pkts[i]);
		} else if (len > mg_dev.inner_mtu) {
			/* Path MTU discovery across the mesh: "fragmentation needed" / "packet too big". */
			mg_drop(MG_DROP_TOO_BIG, 1);
			worker_icmp_error(w, pkts[i], ICMPERR_TOO_BIG, false, mg_dev.inner_mtu);
		} else {
			dest[i] = allowedips_lookup(mg_dev.allowedips, family, packet_inner_dst(p, family));
			if (!dest[i]) {
				/* As Linux's wg_xmit: host unreachable when no peer has the address. */
				mg_drop(MG_DROP_INNER_NO_ROUTE, 1);
				worker_icmp_error(w, pkts[i], ICMPERR_HOST_UNREACHABLE, false, 0);
			} else if (w->flows && flow_stage(w, pkts[i], dest[i], POLICY_DIR_OUT, true) != FLOW_STAGE_PASS) {
				dest[i] = NULL; /* dropped (counted, freed), or now another worker's */
			}
		}
	}
	encrypt_to_peers(w, pkts, dest, n);
}

void encrypt_flush_staged(struct mg_worker *w, struct mg_peer *peer)
{
	struct rte_mbuf *pkts[MG_BURST];
	unsigned int left = rte_ring_count(peer->staged), n;

	/* Only what is there now: packets that cannot go yet are staged again, not looped over. */
	while (left && (n = rte_ring_dequeue_burst(peer->staged, (void **)pkts, RTE_MIN(left, MG_BURST),
						  NULL)) > 0) {
		left -= n;
		__atomic_fetch_sub(&mg_dev.staged, n, __ATOMIC_RELAXED);
		encrypt_groups(w, pkts, &peer, &n, 1, true);
	}
}
