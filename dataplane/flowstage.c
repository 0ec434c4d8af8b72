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
 */
#include "counters.h"
#include "flow.h"
#include "policy.h"
#include "worker.h"

#define VERDICT_DENIED 0x80000000u
#define VERDICT_GEN 0x7fffffffu

bool flow_stage(struct mg_worker *w, struct rte_mbuf *m, const struct mg_peer *peer, int dir)
{
	const struct mg_filter *fl = __atomic_load_n(&mg_dev.filter, __ATOMIC_ACQUIRE);
	uint32_t gen = fl ? fl->gen : 0, len = rte_pktmbuf_data_len(m);
	struct flow_pkt info;
	struct flow_key k;
	struct flow *f;
	bool reply;

	if (flow_key_from_packet(rte_pktmbuf_mtod(m, const uint8_t *), len, &k, &info)) {
		mg_drop(MG_DROP_FLOW_INVALID, 1);
		return false;
	}
	f = flow_lookup(w->flows, &k, w->now_ns, &reply);
	if (!f && (info.flags & FLOW_PKT_RELATED)) {
		/* An ICMP error about no flow of ours: Linux conntrack's INVALID. */
		mg_drop(MG_DROP_FLOW_INVALID, 1);
		return false;
	}
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
			if (!accept) {
				/* No entry for a refused flow: what is refused cannot fill the table. */
				mg_drop(MG_DROP_POLICY, 1);
				return false;
			}
			f = flow_create(w->flows, &k, w->now_ns);
			if (unlikely(!f)) { /* cannot be after a miss (flow.h); never crash on it */
				mg_drop(MG_DROP_FLOW_INVALID, 1);
				return false;
			}
			f->peer = peer->id;
		}
		f->verdict = gen | (accept ? 0 : VERDICT_DENIED);
	}
	if (f->verdict & VERDICT_DENIED) {
		mg_drop(MG_DROP_POLICY, 1);
		return false;
	}
	flow_account(w->flows, f, reply, &info, len, w->now_ns);
	return true;
}
