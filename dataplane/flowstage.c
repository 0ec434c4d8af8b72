/* SPDX-License-Identifier: MIT */
/*
 * The flow stage of both paths (gateway mode's stateful filter, and flow telemetry): each packet's
 * flow in the worker's own table (lib/flow.c: no locks, nothing allocated), and a new flow judged
 * by the published policy (lib/policy.c) with the peer on the mesh side and the direction, first
 * match wins. A flow accepted one way lets its replies back without a rule of their own. A flow
 * remembers the filter generation that judged it, so after a reload its next packet is judged
 * again: a changed policy takes effect at once and established flows it still accepts go on.
 *
 * Encrypt path: after the allowed-IPs lookup (the peer is known), direction "out". Decrypt path:
 * after the source check against the peer's allowed-IPs, direction "in".
 *
 * One table per worker, so no lock: each flow is owned by one worker, chosen by a hash of its key
 * that is the same both ways (addresses and ports combined by XOR; an ICMP error's key is the
 * quoted packet's, so it meets its flow). A packet reaches a worker by the inner port's RSS (out)
 * or the WAN port's, by the outer header (in); when its flow is another worker's, it is handed to
 * that worker's ring (mg_dev.handoff) with its peer, and that worker runs the stage and carries
 * the packet on: to the peer through its own encrypt path, or to the inner side on its own queue.
 * A flow's packets take one ring in order, so the flow stays in order.
 */
#include <string.h>

#include "counters.h"
#include "flow.h"
#include "policy.h"
#include "worker.h"

#define VERDICT_DENIED 0x80000000u
#define VERDICT_GEN 0x7fffffffu
#define HANDOFF_IN 0x80000000u /* in mbuf.hash.fdir.lo with the peer id */

/* The worker that owns k's flow: the same for k and its reverse. */
static unsigned int owner(const struct flow_key *k)
{
	uint32_t a[4], b[4], h = (uint32_t)k->proto << 16 ^ (uint32_t)(k->sport ^ k->dport);

	memcpy(a, k->src, 16);
	memcpy(b, k->dst, 16);
	for (unsigned int i = 0; i < 4; i++)
		h = (h ^ a[i] ^ b[i]) * 0x9e3779b1u;
	h ^= h >> 15;
	return (unsigned int)(((uint64_t)h * mg_dev.n_workers) >> 32);
}

static enum flow_stage_result drop(struct rte_mbuf *m, enum mg_drop why)
{
	mg_drop(why, 1);
	rte_pktmbuf_free(m);
	return FLOW_STAGE_DROPPED;
}

enum flow_stage_result flow_stage(struct mg_worker *w, struct rte_mbuf *m, const struct mg_peer *peer, int dir,
				  bool handoff)
{
	const struct mg_filter *fl = __atomic_load_n(&mg_dev.filter, __ATOMIC_ACQUIRE);
	uint32_t gen = fl ? fl->gen : 0, len = rte_pktmbuf_data_len(m);
	struct flow_pkt info;
	struct flow_key k;
	struct flow *f;
	bool reply = false; /* flow_lookup sets it only when it finds a flow */

	if (flow_key_from_packet(rte_pktmbuf_mtod(m, const uint8_t *), len, &k, &info))
		return drop(m, MG_DROP_FLOW_INVALID);
	if (handoff && mg_dev.n_workers > 1) {
		unsigned int o = owner(&k);

		if (o != w->id) {
			m->hash.fdir.lo = peer->id | (dir == POLICY_DIR_IN ? HANDOFF_IN : 0);
			m->hash.fdir.hi = (uint32_t)peer->gen;
			if (rte_ring_enqueue(mg_dev.handoff[o], m) != 0)
				return drop(m, MG_DROP_FLOW_HANDOFF_FULL);
			mg_stats[w->lcore].handed_off++;
			return FLOW_STAGE_HANDED_OFF;
		}
	}
	f = flow_lookup(w->flows, &k, w->now_ns, &reply);
	/* An ICMP error about no flow of ours: Linux conntrack's INVALID. */
	if (!f && (info.flags & FLOW_PKT_RELATED))
		return drop(m, MG_DROP_FLOW_INVALID);
	/* Which way this packet goes on its flow: an ICMP error's key is the quoted packet's, and
	 * the error travels the other way. */
	reply ^= (info.flags & FLOW_PKT_RELATED) != 0;
	if (unlikely(!f || (f->verdict & VERDICT_GEN) != gen)) {
		/* Judged on the flow's first direction: a reply re-judged after a reload goes the
		 * other way from its flow. */
		int first = f && reply ? (dir == POLICY_DIR_IN ? POLICY_DIR_OUT : POLICY_DIR_IN) : dir;
		uint32_t rule = POLICY_DEFAULT;
		bool accept = true;

		if (fl) {
			rule = policy_match(fl->policy, f ? &f->key : &k, peer->public_key, (enum policy_dir)first);
			accept = policy_action(fl->policy, rule) == POLICY_ACCEPT;
			fl->hits[w->id][rule == POLICY_DEFAULT ? fl->n_counters - 1 : rule]++;
		}
		if (!f) {
			/* No entry for a refused flow: what is refused cannot fill the table. */
			if (!accept)
				return drop(m, MG_DROP_POLICY);
			f = flow_create(w->flows, &k, w->now_ns);
			if (unlikely(!f)) /* cannot be after a miss (flow.h); never crash on it */
				return drop(m, MG_DROP_FLOW_INVALID);
			f->peer = peer->id;
		}
		f->verdict = gen | (accept ? 0 : VERDICT_DENIED);
	}
	if (f->verdict & VERDICT_DENIED)
		return drop(m, MG_DROP_POLICY);
	flow_account(w->flows, f, reply, &info, len, w->now_ns);
	return FLOW_STAGE_PASS;
}

unsigned int flow_handoff_poll(struct mg_worker *w)
{
	struct rte_mbuf *pkts[MG_BURST], *in[MG_BURST];
	struct mg_peer *dest[MG_BURST];
	unsigned int n = rte_ring_dequeue_burst(mg_dev.handoff[w->id], (void **)pkts, MG_BURST, NULL), nin = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint32_t id = m->hash.fdir.lo & ~HANDOFF_IN;
		bool is_in = m->hash.fdir.lo & HANDOFF_IN;
		struct mg_peer *peer = id < MG_MAX_PEERS ? __atomic_load_n(&mg_dev.peers[id], __ATOMIC_ACQUIRE) : NULL;

		dest[i] = NULL;
		/* The peer may have gone since (its id is not reused within a grace period, but the
		 * packet may have waited longer): then so does the packet. */
		if (!peer || (uint32_t)peer->gen != m->hash.fdir.hi) {
			drop(m, MG_DROP_INNER_NO_ROUTE);
			continue;
		}
		if (flow_stage(w, m, peer, is_in ? POLICY_DIR_IN : POLICY_DIR_OUT, false) != FLOW_STAGE_PASS)
			continue;
		if (is_in)
			in[nin++] = m;
		else
			dest[i] = peer;
	}
	if (n)
		encrypt_to_peers(w, pkts, dest, (uint16_t)n);
	if (nin)
		mg_stats[w->lcore].inner_tx += mg_dev.inner->tx((uint16_t)w->id, in, (uint16_t)nin);
	return n;
}
