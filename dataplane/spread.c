/* SPDX-License-Identifier: MIT */
/*
 * One peer on many cores: the decrypt path's AEAD spread over the workers, delivery in order.
 *
 * Between two cluster gateways there is one peer and one outer UDP flow, so RSS puts all of it on
 * one WAN queue and one worker's crypto would be the peer's ceiling. As Linux does (parallel
 * decryption, then a serial per-peer stage), the worker that received a burst (its distributor)
 * classifies it and finds its keypairs, then hands the AEAD to a worker with time to spare or keeps
 * it; the serial stage (replay window, roaming, inner checks, the flow stage, delivery) stays with
 * the distributor, which takes its bursts back in the order it received them.
 *
 * The unit is a burst, not a packet: the burst AEAD's lanes want many packets, and a hand-over costs
 * one ring operation and one flag per burst. A distributor's bursts in flight are a FIFO of batches
 * (SPREAD_DEPTH); a batch is done when the worker that opened it release-stores its flag, and the
 * distributor delivers from the head while the head is done. Every batch comes back (a tag that does
 * not verify is a result, not a loss), so arrival order holds with no sequence numbers, no gaps and
 * no timeouts: why not rte_reorder, which orders single mbufs by a stamped sequence and needs a
 * return ring to feed it.
 *
 * Keypairs: the distributor's RCU read side ends (a quiescent state per loop) while a batch is away,
 * so a batch carries copies of its receive keys (wiped once opened) and each packet's keypair
 * serial; the serial stage finds each keypair again by its index and drops a packet whose keypair
 * went meanwhile (wg_unknown_index), as it would have been dropped had it arrived a moment later.
 *
 * When: a burst of at least SPREAD_MIN data messages, or any while earlier batches are out (order).
 * To whom: the next other worker, round robin, that is awake (not in idle backoff's sleep, which
 * would hold the batch, and everything behind it, for up to 256 us), whose own WAN queue was not
 * busy at its last poll, and that has fewer than SPREAD_BACKLOG of this distributor's batches not
 * yet delivered (counted off in order at delivery: a batch done behind an undelivered head still
 * counts, which errs towards the distributor opening more itself); none: the distributor opens it
 * itself. So a helper is kept busy and the distributor does the rest: the split follows the cores'
 * speeds with no tuning. A full FIFO pauses the distributor's WAN receive (worker.c) until its head
 * comes back; a helper descheduled meanwhile stalls its distributor (the batch cannot be taken
 * back), as a preempted CPU stalls Linux's per-peer queue.
 */
#include <string.h>

#include <rte_malloc.h>
#include <rte_udp.h>
#include <sodium.h>

#include "counters.h"
#include "worker.h"

#define SPREAD_DEPTH 16u   /* batches a distributor has in flight (a power of two) */
#define SPREAD_MIN 8u      /* data messages in a burst worth handing over */
#define SPREAD_BACKLOG 2u  /* a distributor's batches at a helper, not delivered, beyond which it is passed over */

struct mg_crypt_batch {
	struct aead_burst_op ops[MG_BURST]; /* keys point into keys[] */
	struct rte_mbuf *pkts[MG_BURST];
	uint64_t serial[MG_BURST];          /* each packet's keypair, as found at receive */
	uint8_t keys[MG_BURST][AEAD_KEY_SIZE];
	unsigned int n, n_keys;
	int helper;                         /* the worker it went to; -1: opened by the distributor */
	uint32_t done;                      /* release-stored by the worker that opened it */
};

struct mg_spread {
	struct mg_crypt_batch batch[SPREAD_DEPTH];
	uint32_t head, tail;                /* delivered up to head, filled up to tail */
	unsigned int next;                  /* round robin over the helpers */
	uint8_t at[MG_MAX_WORKERS];         /* batches given to each helper, not yet delivered */
};

/* Whether each worker's WAN queue was busy at its last poll, and whether it is asleep (idle backoff):
 * written by that worker when they change, read by distributors choosing a helper. A line each, so
 * the writes disturb no one's other state. */
static struct {
	uint32_t busy, asleep;
} __rte_cache_aligned load[MG_MAX_WORKERS];

int spread_init(struct mg_worker *w)
{
	if (!mg_dev.spread || mg_dev.n_workers < 2)
		return 0;
	w->spread = rte_zmalloc("mg_spread", sizeof(*w->spread), RTE_CACHE_LINE_SIZE);
	return w->spread ? 0 : -ENOMEM;
}

void spread_fini(struct mg_worker *w)
{
	struct mg_spread *s = w->spread;

	if (!s)
		return;
	/* Workers have stopped: what never came back goes back to the pool (the helpers' rings hold
	 * only pointers into this FIFO; device_destroy empties them). */
	for (; s->head != s->tail; s->head++) {
		struct mg_crypt_batch *b = &s->batch[s->head % SPREAD_DEPTH];

		rte_pktmbuf_free_bulk(b->pkts, b->n);
	}
	sodium_memzero(s, sizeof(*s));
	rte_free(s);
	w->spread = NULL;
}

bool spread_room(const struct mg_worker *w)
{
	return !w->spread || w->spread->tail - w->spread->head < SPREAD_DEPTH;
}

void spread_note_load(struct mg_worker *w, unsigned int n_wan)
{
	uint32_t busy = n_wan >= SPREAD_MIN;

	if (w->spread && load[w->id].busy != busy)
		__atomic_store_n(&load[w->id].busy, busy, __ATOMIC_RELAXED);
}

void spread_note_sleep(struct mg_worker *w, bool asleep)
{
	if (w->spread)
		__atomic_store_n(&load[w->id].asleep, asleep, __ATOMIC_RELAXED);
}

/* A helper for a batch: the next worker, round robin, that is neither busy nor behind; or -1. */
static int pick_helper(struct mg_worker *w)
{
	struct mg_spread *s = w->spread;

	for (unsigned int k = 1; k <= mg_dev.n_workers; k++) {
		unsigned int t = (s->next + k) % mg_dev.n_workers;

		if (t == w->id || s->at[t] >= SPREAD_BACKLOG || __atomic_load_n(&load[t].busy, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&load[t].asleep, __ATOMIC_RELAXED))
			continue;
		s->next = t;
		return (int)t;
	}
	return -1;
}

static void open_batch(struct mg_worker *w, struct mg_crypt_batch *b)
{
	aead_burst_open(&w->aead, b->ops, b->n);
	sodium_memzero(b->keys, (size_t)b->n_keys * AEAD_KEY_SIZE);
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
}

bool spread_submit(struct mg_worker *w, struct rte_mbuf **pkts, struct mg_keypair **kps,
		   const struct aead_burst_op *ops, unsigned int n)
{
	struct mg_spread *s = w->spread;
	struct mg_crypt_batch *b;
	const struct mg_keypair *prev = NULL;
	bool queued = s->head != s->tail;
	int helper;

	if (!queued && n < SPREAD_MIN)
		return false;
	helper = pick_helper(w);
	if (!queued && helper < 0)
		return false; /* nothing ahead of it and no one to help: the plain path */
	/* worker.c polls the WAN only with room here, and one poll makes at most one batch. */
	RTE_VERIFY(s->tail - s->head < SPREAD_DEPTH);
	b = &s->batch[s->tail % SPREAD_DEPTH];
	b->n = n;
	b->n_keys = 0;
	b->done = 0;
	for (unsigned int i = 0; i < n; i++) {
		if (kps[i] != prev) {
			memcpy(b->keys[b->n_keys++], kps[i]->recv_key, AEAD_KEY_SIZE);
			prev = kps[i];
		}
		b->pkts[i] = pkts[i];
		b->serial[i] = kps[i]->serial;
		b->ops[i] = ops[i];
		b->ops[i].key = b->keys[b->n_keys - 1];
	}
	s->tail++;
	b->helper = helper;
	if (helper >= 0 && rte_ring_enqueue(mg_dev.crypt[helper], b) == 0) {
		s->at[helper]++;
		mg_stats[w->lcore].spread_out += n;
	} else {
		b->helper = -1;
		open_batch(w, b);
	}
	spread_deliver(w);
	return true;
}

unsigned int spread_deliver(struct mg_worker *w)
{
	struct mg_spread *s = w->spread;
	unsigned int batches = 0;

	while (s->head != s->tail) {
		struct mg_crypt_batch *b = &s->batch[s->head % SPREAD_DEPTH];
		struct mg_keypair *kps[MG_BURST];

		if (!__atomic_load_n(&b->done, __ATOMIC_ACQUIRE))
			break;
		for (unsigned int i = 0; i < b->n; i++) {
			const struct message_data *d = rte_pktmbuf_mtod_offset(b->pkts[i], const struct message_data *,
				b->pkts[i]->l2_len + b->pkts[i]->l3_len + sizeof(struct rte_udp_hdr));
			struct mg_keypair *kp = mg_load(&mg_dev.index[d->key_idx & (MG_INDEX_SLOTS - 1)].keypair);

			kps[i] = kp && kp->local_index == d->key_idx && kp->serial == b->serial[i] ? kp : NULL;
		}
		decrypt_deliver(w, b->pkts, kps, b->ops, b->n);
		if (b->helper >= 0)
			s->at[b->helper]--; /* counted off in order: a helper opens its ring in order */
		s->head++;
		batches++;
	}
	return batches;
}

unsigned int spread_poll(struct mg_worker *w)
{
	struct mg_crypt_batch *in[4];
	unsigned int n = rte_ring_dequeue_burst(mg_dev.crypt[w->id], (void **)in, RTE_DIM(in), NULL);

	for (unsigned int i = 0; i < n; i++) {
		mg_stats[w->lcore].spread_in += in[i]->n;
		open_batch(w, in[i]);
	}
	/* Batches still out keep the distributor awake: it owes their delivery. */
	return n + spread_deliver(w) + (w->spread->head != w->spread->tail);
}
