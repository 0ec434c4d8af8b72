/* SPDX-License-Identifier: MIT */
/*
 * The worker lcore's loop: poll the WAN queue (decrypt path), the inner queue (encrypt path: the TUN,
 * or gateway mode's LAN port), the peers whose staged packets may go, the control thread's
 * outgoing frames (WAN, and LAN in gateway mode), other workers' flows and bursts to decrypt
 * (spread.c) and its own that are back; report a quiescent
 * state for RCU once per iteration; expire reassembly now and then; back off when idle so a small
 * machine is shared.
 */
#include <errno.h>

#include <rte_cycles.h>
#include <rte_random.h>
#include <rte_ethdev.h>

#include "counters.h"
#include "frag.h"
#include "wan.h"
#include "worker.h"

struct mg_worker mg_workers[MG_MAX_WORKERS];

/* Idle backoff: after this many empty polls, sleep 1, 2, 4 ... up to IDLE_SLEEP_MAX_US. */
#define IDLE_SPINS 64u
#define IDLE_SLEEP_MAX_US 256u

static unsigned int poll_ctrl(struct mg_worker *w)
{
	struct rte_mbuf *pkts[MG_BURST];
	void *ids[4];
	unsigned int n, np, ni;

	/* Ids, not pointers: a peer removed after it was queued is simply gone. */
	np = rte_ring_dequeue_burst(mg_dev.flush, ids, RTE_DIM(ids), NULL);
	for (unsigned int i = 0; i < np; i++) {
		struct mg_peer *peer = __atomic_load_n(&mg_dev.peers[(uintptr_t)ids[i]], __ATOMIC_ACQUIRE);

		if (peer)
			encrypt_flush_staged(w, peer);
	}
	n = rte_ring_dequeue_burst(mg_dev.ctrl_tx, (void **)pkts, MG_BURST, NULL);
	if (n)
		wan_tx(w, pkts, n);
	/* Inner packets the control thread made (ICMP errors): through the encrypt path, or inward. */
	ni = rte_ring_dequeue_burst(mg_dev.to_mesh, (void **)pkts, MG_BURST, NULL);
	if (ni)
		encrypt_burst(w, pkts, (uint16_t)ni);
	n += ni;
	ni = rte_ring_dequeue_burst(mg_dev.to_inner, (void **)pkts, MG_BURST, NULL);
	if (ni)
		mg_stats[w->lcore].inner_tx += mg_dev.inner->tx((uint16_t)w->id, pkts, (uint16_t)ni);
	n += ni;
	if (mg_dev.lan)
		n += lan_tx_ctrl(w);
	if (w->flows && mg_dev.n_workers > 1)
		n += flow_handoff_poll(w);
	if (w->spread)
		n += spread_poll(w);
	return n + np;
}

int worker_init(struct mg_worker *w, unsigned int id, enum aead_backend backend)
{
	int ret;

	w->id = id;
	w->bytes = &mg_peer_bytes[id];
	icmperr_limit_init(&w->icmp_limit, 1000, 50);
	ret = aead_burst_init(&w->aead, backend);
	if (ret)
		return ret;
	ret = frag_init(w);
	if (ret) {
		aead_burst_fini(&w->aead);
		return ret;
	}
	ret = spread_init(w);
	if (ret) {
		worker_fini(w);
		return ret;
	}
	if (mg_dev.flow_max) {
		/* Keyed by a seed of its own: LAN hosts choose their 5-tuples. */
		w->flows = flow_table_create(mg_dev.flow_max, rte_rand(), &FLOW_TIMEOUTS_DEFAULT);
		if (!w->flows) {
			worker_fini(w);
			return -ENOMEM;
		}
		mg_dev.flow_tables[id] = w->flows;
	}
	return 0;
}

void worker_fini(struct mg_worker *w)
{
	spread_fini(w);
	mg_dev.flow_tables[w->id] = NULL;
	flow_table_destroy(w->flows);
	w->flows = NULL;
	frag_fini(w);
	aead_burst_fini(&w->aead);
}

int worker_main(void *arg)
{
	struct mg_worker *w = arg;
	struct rte_mbuf *pkts[MG_BURST];
	unsigned int idle = 0, sleep_us = 1, iterations = 0;

	w->lcore = rte_lcore_id();
	mg_dev.worker_lcore[w->id] = w->lcore;
	rte_rcu_qsbr_thread_register(mg_dev.rcu, w->id);
	rte_rcu_qsbr_thread_online(mg_dev.rcu, w->id);
	while (!mg_dev.quit) {
		uint16_t n_wan, n_inner;
		unsigned int n_ctrl;

		w->now_ns = mg_now_ns();
		/* Decrypted bursts come back in order (spread.c): none taken while its FIFO is full (and
		 * then it stays marked busy, as it is). */
		n_wan = 0;
		if (spread_room(w)) {
			n_wan = rte_eth_rx_burst(mg_dev.wan_port, w->id, pkts, MG_BURST);
			spread_note_load(w, n_wan);
		}
		if (n_wan)
			decrypt_burst(w, pkts, n_wan);
		n_inner = mg_dev.inner->rx((uint16_t)w->id, pkts, MG_BURST);
		if (n_inner)
			encrypt_burst(w, pkts, n_inner);
		n_ctrl = poll_ctrl(w);
		rte_rcu_qsbr_quiescent(mg_dev.rcu, w->id);
		if ((++iterations & 63) == 0) {
			frag_expire(w);
			if (w->flows)
				flow_expire(w->flows, w->now_ns, 64);
		}

		if (n_wan + n_inner + n_ctrl || !mg_dev.idle_backoff) {
			idle = 0;
			sleep_us = 1;
		} else if (++idle > IDLE_SPINS) {
			spread_note_sleep(w, true);
			rte_delay_us_sleep(sleep_us);
			spread_note_sleep(w, false);
			sleep_us = RTE_MIN(sleep_us * 2, IDLE_SLEEP_MAX_US);
		}
	}
	rte_rcu_qsbr_thread_offline(mg_dev.rcu, w->id);
	rte_rcu_qsbr_thread_unregister(mg_dev.rcu, w->id);
	return 0;
}
