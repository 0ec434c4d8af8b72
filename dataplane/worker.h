/* SPDX-License-Identifier: MIT */
#ifndef MG_WORKER_H
#define MG_WORKER_H

#include <stdint.h>

#include <rte_ip_frag.h>
#include <rte_mbuf.h>
#include <rte_ring_elem.h>

#include "aead_burst.h"
#include "device.h"
#include "inner.h"

/* One per worker lcore, written by that lcore only. */
struct mg_worker {
	unsigned int id;        /* 0..n_workers-1: queue number and RCU thread id */
	unsigned int lcore;
	struct aead_burst aead;
	uint64_t now_ns;        /* read once per loop iteration */
	uint16_t ip_id;         /* outer IPv4 identification: this worker's residue class */
	uint32_t frag_id;       /* outer IPv6 fragment identification, likewise */
	struct rte_ip_frag_tbl *frag_tbl;
	struct rte_ip_frag_death_row frag_dr;
	struct mg_peer_bytes *bytes; /* &mg_peer_bytes[id] */
} __rte_cache_aligned;

extern struct mg_worker mg_workers[MG_MAX_WORKERS];

/* A worker's own state: its AEAD context (backend, or AEAD_BACKEND_AUTO) and reassembly table. */
int worker_init(struct mg_worker *w, unsigned int id, enum aead_backend backend);
void worker_fini(struct mg_worker *w);
int worker_main(void *arg);
/* The two paths: each consumes (sends, hands off or frees) every mbuf it is given. */
void decrypt_burst(struct mg_worker *w, struct rte_mbuf **pkts, uint16_t n);
void encrypt_burst(struct mg_worker *w, struct rte_mbuf **pkts, uint16_t n);
/* Tell the control thread something; false when the ring is full (the caller clears its
 * "posted" flag so a later packet posts again). */
static inline bool worker_post_event(struct mg_event *ev)
{
	return rte_ring_enqueue_elem(mg_dev.events, ev, sizeof(*ev)) == 0;
}
/* Packets staged for a peer that now has a keypair. */
void encrypt_flush_staged(struct mg_worker *w, struct mg_peer *peer);

#endif
