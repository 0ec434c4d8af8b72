/* SPDX-License-Identifier: MIT */
/*
 * The state shared by the control thread and the workers, and who may touch what.
 *
 * Ownership rules (the whole concurrency design in one place):
 *  - The control thread creates, changes and frees peers, keypairs, endpoints and allowed-IPs. It
 *    publishes a pointer with a release store only after the object is complete, and frees an
 *    unpublished object only after an RCU grace period (rte_rcu_qsbr; workers report a quiescent
 *    state once per loop iteration), via core_defer_free() (ctrl/core.h).
 *  - Workers read published pointers with acquire loads and never write them. What workers learn
 *    (times of last traffic, a keypair confirmed, an endpoint moved, a handshake needed) they either
 *    store in fields marked "worker-written" (relaxed atomics, read by the control thread) or send as
 *    an event on the event ring. Workers never wait on the control thread; nothing on the packet path
 *    takes a lock except the per-keypair replay lock, taken once per burst group.
 *  - Per-lcore counters (counters.h) and per-worker peer byte counters are written by their lcore
 *    only and summed on read.
 */
#ifndef MG_DEVICE_H
#define MG_DEVICE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_atomic.h>
#include <rte_common.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_spinlock.h>

#include "allowedips.h"
#include "cookie.h"
#include "devconf.h"
#include "events.h"
#include "handshake.h"
#include "messages.h"
#include "ratelimit.h"
#include "replay.h"
#include "timers.h"

#define MG_MAX_PEERS 1024           /* peer slots; also sizes the per-worker byte counters */
#define MG_INDEX_BITS 16            /* receiver-index slots: 2^16 keypairs and handshakes */
#define MG_INDEX_SLOTS (1u << MG_INDEX_BITS)
#define MG_MAX_STAGED 128           /* packets held per peer while a handshake is pending */
#define MG_MAX_WORKERS 16
#define MG_BURST 32u
#define MG_NS_PER_S 1000000000ULL  /* DPDK's NS_PER_S is an int */
#define MG_OUTER_HDR_MAX (RTE_ETHER_HDR_LEN + 40 + 8)
/* What an inner packet grows by on the way out: data header and tag, UDP, IPv6, Ethernet. */
#define MG_WG_OVERHEAD (MESSAGE_DATA_HEADER_SIZE + NOISE_AUTHTAG_LEN + 8 + 40 + RTE_ETHER_HDR_LEN)
#define MG_MAX_FRAGS 32             /* fragments of one outer datagram we send (9000 B over 576) */

/*
 * Keys for one direction pair, from one handshake. Immutable once published but for the counters
 * and the sending flag, which only ever goes from valid to not (a private key change expires
 * keypairs for sending while they still decrypt, as Linux's keypair->sending.is_valid).
 */
struct mg_keypair {
	uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN];
	uint64_t birth_ns;
	uint64_t serial;                   /* unique per keypair ever made: events name it by this */
	uint32_t local_index;              /* the receiver index peers put on packets to us */
	uint32_t remote_index;             /* what we put on packets to the peer */
	bool initiator;
	uint8_t sending_valid;             /* written by the control thread (relaxed), read per burst */
	struct mg_peer *peer;
	uint32_t confirm_sent;             /* worker-written: MG_EV_KEYPAIR_CONFIRMED posted once */
	uint64_t send_counter __rte_cache_aligned; /* next nonce: one atomic add per burst */
	rte_spinlock_t replay_lock __rte_cache_aligned;
	struct replay replay;
};

/*
 * Where a peer is and how to reach it: a ready-made outer header. Immutable; replaced as a whole.
 * The header's source address is the one of ours the peer last reached us at (as Linux keeps a
 * source per endpoint), else one on the peer's link, else our first of its family.
 */
struct mg_endpoint {
	uint8_t hdr[MG_OUTER_HDR_MAX] __rte_aligned(8); /* Ethernet + IP + UDP, lengths and checksums
							 * to fill */
	uint8_t hdr_len;                   /* 42 (IPv4) or 62 (IPv6) */
	bool resolved;                     /* hdr carries the next hop's MAC */
	bool on_link;                      /* next hop is the peer itself: its frames' MAC is news */
	struct devconf_endpoint addr;
	uint8_t local[16];                 /* our address in the header (IPv4: the first 4 bytes) */
};

struct mg_peer {
	/* Published by the control thread, read by workers (acquire). */
	struct mg_keypair *current;
	struct mg_keypair *previous;
	struct mg_keypair *next;           /* responder's new keypair until the first packet confirms it */
	struct mg_endpoint *endpoint;
	struct rte_ring *staged;           /* mbufs waiting for a keypair (MP/MC) */
	uint32_t id;                       /* slot in the peer table and the per-worker counters */
	uint64_t gen;                      /* unique per peer ever created: validates events */

	/* Worker-written (relaxed), read by the control thread. */
	uint64_t last_tx_data_ns __rte_cache_aligned;
	uint64_t last_rx_data_ns;
	uint64_t last_rx_auth_ns;          /* any authenticated packet, keepalives included */
	uint64_t last_tx_any_ns;
	uint32_t want_handshake;           /* set by workers, cleared by the control thread */
	uint32_t roam_pending;

	/* Control thread only. */
	uint8_t public_key[NOISE_PUBLIC_KEY_LEN] __rte_cache_aligned;
	uint64_t seen_tx_data_ns, seen_rx_data_ns, seen_rx_auth_ns, seen_tx_any_ns; /* fed to timers */
	struct handshake hs;
	struct cookie_maker cookie;
	struct timers timers;
	uint16_t persistent_keepalive;
	uint64_t ctrl_tx_bytes, ctrl_rx_bytes; /* handshake messages and control keepalives */
	uint64_t rx_bytes_base, tx_bytes_base; /* the workers' counters for this id at creation */
	bool sent_lastminute_handshake;    /* the receive path's last-chance rekey, once per session */
	uint64_t last_handshake_unix_ns;   /* wall clock, for "wg show" */
	uint8_t pending_msg[MESSAGE_INITIATION_SIZE]; /* a handshake message waiting for ARP/ND */
	uint16_t pending_len;
	bool removed;
};

struct mg_index_slot {
	struct mg_keypair *keypair;        /* published for workers */
	struct mg_peer *handshake_peer;    /* control only: an initiation/response in flight */
	uint32_t index;                    /* the full index (random high bits | slot) */
};

/* A WAN address of ours. */
struct mg_wan_addr {
	int family;
	uint8_t addr[16];
	uint8_t prefix_len;
};

#define MG_MAX_WAN_ADDRS 8

struct mg_inner_ops; /* dataplane/inner.h: the inner side's burst I/O */
struct flow_table;   /* lib/flow.h */
struct policy;       /* lib/policy.h */

/*
 * The packet filter as workers see it: a compiled policy (lib/policy.h), its generation, and a hit
 * counter per rule (the last one: the default) for each worker, written by that worker only.
 * Immutable but for the counters; replaced as a whole (a reload), the old one freed after a grace
 * period. A flow remembers the generation that judged it: under a new one, its next packet is
 * judged again, so a change takes effect at once and keeps what the new policy still accepts.
 */
struct mg_filter {
	struct policy *policy;
	uint32_t gen;                      /* 1, 2, ... (never 0: a new flow's verdict is 0) */
	uint32_t n_counters;               /* policy_rule_count() + 1 */
	uint64_t *hits[MG_MAX_WORKERS];
};

/*
 * Gateway mode's LAN side. Routes: the LAN prefixes (on link) and inner.routes, in an allowed-IPs
 * table whose values are these. Immutable once published.
 */
struct mg_lan_route {
	int family;
	bool on_link;                      /* next hop: the destination itself */
	uint8_t via[16];
};

/*
 * The LAN neighbours as workers see them: an open-addressing snapshot (linear probing, at most half
 * full), rebuilt and republished by the control thread whenever an entry is learned or moves, freed
 * after a grace period. Workers only read it, but for `used`, which they set when it is clear (the
 * control thread clears it each second and re-probes used entries gone stale, as Linux probes a
 * neighbour only while traffic goes to it).
 */
struct mg_lan_neigh {
	uint8_t family;                    /* 0: empty slot */
	uint8_t used;                      /* worker-written (relaxed) */
	struct rte_ether_addr mac;
	uint8_t addr[16];
};

struct mg_lan_neighs {
	uint32_t mask;                     /* slots - 1 (a power of two) */
	struct mg_lan_neigh slot[];
};

static inline uint32_t mg_lan_neigh_hash(int family, const uint8_t *addr)
{
	uint32_t h = (uint32_t)family * 0x9e3779b1u;

	for (unsigned int i = 0; i < (family == AF_INET ? 4u : 16u); i += 4) {
		uint32_t w;

		memcpy(&w, addr + i, 4);
		h = (h ^ w) * 0x85ebca6bu;
		h ^= h >> 13;
	}
	return h;
}

struct mg_lan {
	uint16_t port;
	struct rte_ether_addr mac;
	struct mg_wan_addr addrs[MG_MAX_WAN_ADDRS]; /* ours on the LAN, with their prefixes */
	unsigned int n_addrs;
	struct rte_ring *to_neigh;         /* mbufs: ARP and ND from the LAN (MP/SC) */
	struct rte_ring *unresolved;       /* mbufs: IP packets whose next hop has no MAC yet (MP/SC) */
	struct rte_ring *tx;               /* mbufs the control thread sends on the LAN (SP/MC) */
	bool down;                         /* written by the control thread (health.c), read per burst */
	/* Published by the control thread (acquire/release). */
	struct allowedips routes;          /* -> struct mg_lan_route */
	struct mg_lan_neighs *neighs;
};

struct mg_device {
	/* Immutable after start. */
	uint16_t wan_port, inner_port;     /* inner_port: with mg_inner_ethdev only */
	const struct mg_inner_ops *inner;
	struct mg_lan *lan;                /* gateway mode (mg_inner_lan); NULL in host mode */
	unsigned int n_workers;
	uint16_t inner_mtu;
	uint16_t wan_mtu;                  /* IP packets larger than this leave fragmented */
	uint16_t wan_frame_max;            /* wan_mtu + Ethernet header */
	bool wan_multi_seg;                /* the WAN port sends chained mbufs (else: linearized) */
	bool idle_backoff;
	struct rte_mempool *pool;
	struct rte_mempool *indirect_pool; /* for fragments referring to a packet's data */
	unsigned int pool_kept_by_ports;   /* out of the pool once the ports started (see port.c) */
	struct rte_ether_addr wan_mac;
	struct mg_wan_addr wan_addrs[MG_MAX_WAN_ADDRS];
	unsigned int n_wan_addrs;
	struct rte_ring *to_ctrl;          /* mbufs: handshake messages (MP/SC) */
	struct rte_ring *to_neigh;         /* mbufs: ARP and ND, apart so a handshake flood cannot
					    * starve neighbour resolution (MP/SC) */
	struct rte_ring *ctrl_tx;          /* mbufs the control thread wants sent on the WAN (SP/MC) */
	struct rte_ring *events;           /* struct mg_event by value (MP/SC) */
	struct rte_ring *flush;            /* ids of peers whose staged packets can go now (SP/MC) */
	struct rte_ring *icmp_req;         /* mbufs: packets an ICMP error is owed for, the request in
					    * hash.usr (mg_icmp_request) (MP/SC; the control thread
					    * enqueues too, on its own lcore) */
	struct rte_ring *to_mesh;          /* mbufs: inner packets the control thread originates for
					    * the mesh (ICMP errors): workers encrypt them (SP/MC) */
	struct rte_ring *to_inner;         /* mbufs: likewise for the inner side (host mode's TUN) (SP/MC) */
	struct rte_ring *handoff[MG_MAX_WORKERS]; /* mbufs for worker i's flow table, from the others
						   * (MP/SC; with more than one worker) */
	bool spread;                       /* decryption spread over the workers (dataplane/spread.c) */
	struct rte_ring *crypt[MG_MAX_WORKERS]; /* bursts for worker i to open for the others (spread.c's
						 * batches; MP/SC; with spread and more than one worker) */
	struct rte_rcu_qsbr *rcu;
	unsigned int staged_max;           /* mbufs all staging rings together may hold */
	uint32_t staged;                   /* mbufs in staging rings now (atomic, any thread) */

	uint32_t flow_max;                 /* flows per worker table; 0: no flow stage */
	struct flow_table *flow_tables[MG_MAX_WORKERS]; /* each worker's own (set by worker_init);
							  * the control thread reads counters only */

	/* Published by the control thread (acquire/release). */
	uint16_t listen_port;              /* host order */
	struct mg_filter *filter;          /* NULL: flows tracked (if flow_max), everything accepted */
	struct allowedips *allowedips;
	struct mg_peer *peers[MG_MAX_PEERS];
	struct mg_index_slot index[MG_INDEX_SLOTS];

	unsigned int worker_lcore[MG_MAX_WORKERS]; /* worker id -> its lcore (per-lcore counters) */

	volatile bool quit;
	bool wan_down;                     /* written by the control thread (health.c), read per burst */
};

extern struct mg_device mg_dev;

/* An ICMP error request, in the offending packet's hash.usr: the kind (lib/icmperr.h, or
 * MG_ICMP_ECHO: an echo request to answer), which way the answer goes (to the mesh: the packet came
 * from a peer; else back to the inner side) and the MTU for "too big". */
#define MG_ICMP_ECHO 0x7fu
static inline void mg_icmp_request(struct rte_mbuf *m, unsigned int kind, bool to_mesh, uint16_t mtu)
{
	m->hash.usr = (kind & 0x7f) | (uint32_t)to_mesh << 7 | (uint32_t)mtu << 16;
}

static inline void mg_icmp_request_get(const struct rte_mbuf *m, unsigned int *kind, bool *to_mesh, uint16_t *mtu)
{
	*kind = m->hash.usr & 0x7f;
	*to_mesh = (m->hash.usr >> 7) & 1;
	*mtu = (uint16_t)(m->hash.usr >> 16);
}

/* Bytes of data per peer id, per worker: written by that worker only, summed by the control thread
 * against the baseline it took when the peer was created (never reset). */
struct mg_peer_bytes {
	uint64_t rx[MG_MAX_PEERS];
	uint64_t tx[MG_MAX_PEERS];
} __rte_cache_aligned;

extern struct mg_peer_bytes mg_peer_bytes[MG_MAX_WORKERS];

/* Monotonic nanoseconds from the TSC: cheap enough to read once per burst on every thread. */
uint64_t mg_now_ns(void);
void mg_clock_init(void);
/* Tests only: the protocol clock jumps ns ahead, for every thread at once (a rekey after
 * REKEY_AFTER_TIME without waiting two minutes). */
void mg_clock_skip(uint64_t ns);

static inline struct mg_keypair *mg_load(struct mg_keypair *const *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

#endif
