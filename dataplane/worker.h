/* SPDX-License-Identifier: MIT */
#ifndef MG_WORKER_H
#define MG_WORKER_H

#include <stdint.h>

#include <rte_ip_frag.h>
#include <rte_mbuf.h>
#include <rte_ring_elem.h>

#include "aead_burst.h"
#include "counters.h"
#include "flow.h"
#include "icmperr.h"
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
	struct icmperr_limit icmp_limit; /* ICMP errors this worker asks for (Linux: 1000/s, burst 50) */
	struct flow_table *flows;    /* the flow stage's table (mg_dev.flow_max); NULL: no stage */
	struct mg_spread *spread;    /* spread.c: its bursts out for decryption; NULL: not spreading */
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
/*
 * The flow stage (flowstage.c) for m, an inner packet to or from peer (dir: POLICY_DIR_OUT on the
 * encrypt path, POLICY_DIR_IN on decrypt). PASS: it goes on here; DROPPED: counted and freed;
 * HANDED_OFF: the flow is another worker's (handoff allowed), which now has the packet and
 * carries on with it (flow_handoff_poll). Call only with w->flows.
 */
enum flow_stage_result { FLOW_STAGE_PASS, FLOW_STAGE_DROPPED, FLOW_STAGE_HANDED_OFF };
enum flow_stage_result flow_stage(struct mg_worker *w, struct rte_mbuf *m, const struct mg_peer *peer, int dir,
				  bool handoff);
/* Packets other workers handed to this one: their flow stage here, then on to the peer (out) or
 * the inner side (in). Returns how many it took. */
unsigned int flow_handoff_poll(struct mg_worker *w);
/* Encrypt path steps 3-7 for packets whose peers are known (dest[i] NULL: skipped). */
void encrypt_to_peers(struct mg_worker *w, struct rte_mbuf **pkts, struct mg_peer **dest, uint16_t n);
/* Gateway mode: frames the control thread queued for the LAN, onto the worker's LAN queue. */
unsigned int lan_tx_ctrl(struct mg_worker *w);
/*
 * A packet that cannot be forwarded and is owed an ICMP error (its drop is counted by the caller):
 * to the control thread, which builds the error and sends it (icmp.c); freed when this worker's
 * rate limit or the ring says no. Error path only: one ring operation per packet.
 */
static inline void worker_icmp_error(struct mg_worker *w, struct rte_mbuf *m, unsigned int kind, bool to_mesh,
				     uint16_t mtu)
{
	/* What may not be answered (an error about an error, multicast...) takes no token. */
	if (icmperr_allowed(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), (enum icmperr_kind)kind) &&
	    icmperr_limit_allow(&w->icmp_limit, w->now_ns)) {
		mg_icmp_request(m, kind, to_mesh, mtu);
		if (rte_ring_enqueue(mg_dev.icmp_req, m) == 0)
			return;
	}
	rte_pktmbuf_free(m);
}
/* An echo request to one of our LAN addresses: the control thread answers it (icmp.c), within the
 * same rate limit as errors; to_mesh: it came from a peer. */
static inline void worker_icmp_echo(struct mg_worker *w, struct rte_mbuf *m, bool to_mesh)
{
	if (icmperr_limit_allow(&w->icmp_limit, w->now_ns)) {
		mg_icmp_request(m, MG_ICMP_ECHO, to_mesh, 0);
		if (rte_ring_enqueue(mg_dev.icmp_req, m) == 0)
			return;
	}
	mg_drop(MG_DROP_ECHO_LIMITED, 1);
	rte_pktmbuf_free(m);
}
/* Decrypt path steps 5-7 for opened packets (kps[i] NULL: its keypair went; counted). */
void decrypt_deliver(struct mg_worker *w, struct rte_mbuf **pkts, struct mg_keypair **kps,
		     const struct aead_burst_op *ops, unsigned int n);
/*
 * One peer on many cores (spread.c; with mg_dev.spread and more than one worker). spread_submit:
 * the decrypt path offers a burst of n data messages with their keypairs and unopened ops; true: it
 * was taken (opened here or by another worker, delivered in order by spread_deliver); false: open it
 * here and now. spread_room: whether the WAN may be polled (a burst's batch fits). spread_note_load:
 * the WAN poll's size, so distributors pass a busy worker over; spread_note_sleep: likewise a
 * worker asleep in idle backoff. spread_poll: open other workers'
 * batches, deliver this worker's that are back; returns the work done (for idle backoff).
 */
int spread_init(struct mg_worker *w);
void spread_fini(struct mg_worker *w);
bool spread_submit(struct mg_worker *w, struct rte_mbuf **pkts, struct mg_keypair **kps,
		   const struct aead_burst_op *ops, unsigned int n);
bool spread_room(const struct mg_worker *w);
void spread_note_load(struct mg_worker *w, unsigned int n_wan);
void spread_note_sleep(struct mg_worker *w, bool asleep);
unsigned int spread_deliver(struct mg_worker *w);
unsigned int spread_poll(struct mg_worker *w);
/* Packets staged for a peer that now has a keypair. */
void encrypt_flush_staged(struct mg_worker *w, struct mg_peer *peer);

#endif
