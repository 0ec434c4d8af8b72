/* SPDX-License-Identifier: MIT */
/*
 * Connection tracking for inner flows: a worker's table of the flows it forwards, with per-flow
 * counters and a simplified Linux conntrack state, for the gateway's stateful policy (a flow
 * accepted one way lets its replies back) and for telemetry (the top flows of a peer).
 *
 * Each worker owns one table and is its only user: no locks, no atomics, nothing allocated after
 * flow_table_create, O(1) per packet. Time is the caller's monotonic nanoseconds, as everywhere in
 * lib/.
 *
 * Keys (flowkey.h) come from flow_key_from_packet, which reads an inner IPv4 or IPv6 packet:
 *   - TCP, UDP, UDP-Lite, SCTP, DCCP: the packet's ports.
 *   - ICMP and ICMPv6 queries (echo; for IPv4 also timestamp, information and address mask): both
 *     ports hold the identifier, so a reply's reversed key is its query's.
 *   - ICMP errors (IPv4 types 3, 4, 5, 11, 12; ICMPv6 types 1-4): the key of the packet quoted
 *     in the error, as that packet travelled, with FLOW_PKT_RELATED set: the caller looks it up,
 *     and an error about a tracked flow is let through as Linux's RELATED is. An error quoting
 *     an error is refused (RFC 1122 3.2.2, RFC 4443 2.4 (e): none is ever sent).
 *   - Fragments (IPv4 MF or an offset, an IPv6 fragment header that is not an atomic fragment):
 *     ports 0 for every fragment of a datagram, the first included, so that all of them share one
 *     flow; only the first carries ports, and a gateway that does not reassemble cannot give the
 *     others any. For IPv6 the protocol is the fragment header's next header.
 *   - Anything else, ESP (50) and "no next header" (59) included: ports 0.
 *
 * The table. A flow is found from either direction: it is filed under the hash of its key's
 * canonical orientation (the lower end as source, in a fixed order of addresses, then ports) and
 * remembers which orientation was the original. The hash is keyed by a per-table seed (LAN hosts choose their
 * 5-tuples) and picks two buckets of FLOW_BUCKET_SLOTS slots; a slot is a 16-bit signature and the
 * index of a flow in a pool of exactly max_flows flows. A lookup reads one bucket (a cache line),
 * two when the flow is in its second bucket or absent, and the flows whose signature matches. A
 * new flow goes into its first bucket while that holds fewer than FLOW_BUCKET_PREFER flows, else
 * into the emptier of the two (the first on a tie). There are twice as many slots as flows; in a
 * simulation of churn at half load (a million slots, ten million insertions) no key found both
 * its buckets full, and 85% of flows were in their first bucket, so most lookups read one bucket
 * and take the branch the predictor expects.
 *
 * Eviction: flow_create never fails for lack of room. When the table holds max_flows flows, or
 * both buckets of the new key are full, the flow with the soonest deadline among the flows in the
 * new key's two buckets goes (ties: the first bucket, then the lower slot); one whose deadline has
 * passed is counted as expired, any other as evicted. When the table is full and both buckets are
 * empty (its flows are elsewhere), the victim is the soonest in the first non-empty bucket after
 * the key's first one.
 * So a flood of new flows pushes out the idlest flows near it, never a busy one at random, and an
 * aimed flood (which needs the seed) costs at most the flows of two buckets.
 *
 * Expiry: a flow lives while now_ns < deadline_ns. A dead flow is freed when a lookup or create
 * meets it, by the incremental sweep (flow_expire), or as an eviction victim; until then it holds
 * its slot. Every flow that leaves the table goes through the end hook, if one is set (not those
 * still there when it is destroyed).
 *
 * TCP, simplified from Linux's nf_conntrack (no sequence or window tracking; the inner hosts'
 * stacks do that, and the tunnel authenticates the peer):
 *   NEW          created, no packet accounted yet                  (tcp_syn_sent)
 *   SYN_SENT     a SYN without ACK from the originator             (tcp_syn_sent)
 *   ESTABLISHED  a reply seen after the SYN, or picked up mid-stream (tcp_established once a
 *                reply has been seen; tcp_unacknowledged before)
 *   CLOSING      a FIN seen either way (Linux's FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT)
 *                                                                  (tcp_closing)
 *   CLOSE        an RST seen either way                            (tcp_close)
 * Loose mode, as Linux's nf_conntrack_tcp_loose=1: a flow whose first packet is not a lone SYN
 * (a connection that was open before a gateway restart, or before the flow was evicted) is picked
 * up as ESTABLISHED. Until its other end answers it keeps Linux's 300 s "unacknowledged" timeout
 * rather than five days, so stray ACKs (a scan, a dead connection's last segments) do not pin a
 * slot for days. A lone SYN from the originator in CLOSING or CLOSE reopens the flow (a reused
 * port) as SYN_SENT, waiting for a reply again. The table refuses nothing: a caller that wants
 * Linux's strict rule (no flow from an RST) checks the flags before flow_create.
 * UDP and UDP-Lite: UNREPLIED until a reply, then REPLIED (Linux's "stream"). Fragments of TCP
 * (a 3-tuple, no flags to follow) are treated the same way. ICMP, ICMPv6 and everything else: one
 * timeout each, refreshed by every packet; FLOW_PKT_RELATED packets are counted but neither move
 * the state nor refresh the deadline (an error cannot keep a flow alive).
 *
 * Pointers to flows: valid until the next flow_create or flow_expire on the table, or a
 * flow_lookup that finds that flow dead. The caller may write verdict and peer, and only those.
 */
#ifndef MG_FLOW_H
#define MG_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flowkey.h"

#define FLOW_BUCKET_SLOTS 8
#define FLOW_BUCKET_PREFER 6      /* a new flow's first bucket takes it while it holds fewer */
#define FLOW_MAX_FLOWS (1u << 28) /* keeps every index and size in 32 bits with room */
#define FLOW_MAX_EXTHDRS 8        /* IPv6 extension headers walked before the packet is refused */

/* TCP flags in flow_pkt.tcp_flags, at their bits in the TCP header. */
#define FLOW_TCP_FIN 0x01
#define FLOW_TCP_SYN 0x02
#define FLOW_TCP_RST 0x04
#define FLOW_TCP_ACK 0x10

/* flow_pkt.flags */
#define FLOW_PKT_RELATED 0x01  /* an ICMP error: the key is the quoted packet's, as it went */
#define FLOW_PKT_FRAGMENT 0x02 /* a fragment (with RELATED: the quoted packet was one); ports 0 */

/* What flow_key_from_packet learns besides the key. */
struct flow_pkt {
	uint32_t len;      /* the packet's own length: IPv4 total length, IPv6 40 + payload */
	uint16_t l4_off;   /* where the upper-layer header (or a fragment's payload) starts */
	uint8_t flags;     /* FLOW_PKT_* */
	uint8_t tcp_flags; /* FLOW_TCP_* of a TCP packet that is not a fragment; else 0 */
	uint8_t icmp_type; /* of an ICMP or ICMPv6 packet (the error's own when RELATED); else 0 */
	uint8_t icmp_code;
};

/*
 * The key of the IP packet pkt[0..len), IPv4 or IPv6 by its version, and what info says. Bytes
 * past the IP header's own length (link padding) are ignored. 0, or -EINVAL when a header read is
 * truncated or wrong (version, IHL, a total length beyond len, a misplaced hop-by-hop header, more
 * than FLOW_MAX_EXTHDRS extension headers, an upper-layer header cut short, an ICMP error quoting
 * an error or a packet of the other family). Reads nothing outside pkt[0..len).
 */
int flow_key_from_packet(const uint8_t *pkt, size_t len, struct flow_key *k, struct flow_pkt *info);

enum flow_state {
	FLOW_FREE = 0, /* table internal: a pool entry not in use */
	FLOW_TCP_NEW,
	FLOW_TCP_SYN_SENT,
	FLOW_TCP_ESTABLISHED,
	FLOW_TCP_CLOSING,
	FLOW_TCP_CLOSE,
	FLOW_UDP_UNREPLIED,
	FLOW_UDP_REPLIED,
	FLOW_ICMP,
	FLOW_GENERIC,
};

/*
 * Timeouts in seconds. The defaults (FLOW_TIMEOUTS_DEFAULT) are Linux's nf_conntrack sysctls:
 * nf_conntrack_tcp_timeout_{syn_sent, established, unacknowledged, fin_wait (= time_wait), close},
 * nf_conntrack_udp_timeout and _stream, nf_conntrack_icmp_timeout (and icmpv6), and
 * nf_conntrack_generic_timeout.
 */
struct flow_timeouts {
	uint32_t tcp_syn_sent;       /* 120 */
	uint32_t tcp_established;    /* 432000 (5 days) */
	uint32_t tcp_unacknowledged; /* 300: ESTABLISHED picked up mid-stream, no reply yet */
	uint32_t tcp_closing;        /* 120 */
	uint32_t tcp_close;          /* 10 */
	uint32_t udp_unreplied;      /* 30 */
	uint32_t udp_replied;        /* 120 */
	uint32_t icmp;               /* 30 */
	uint32_t generic;            /* 600 */
};

#define FLOW_TIMEOUTS_DEFAULT                                                             \
	((struct flow_timeouts){ .tcp_syn_sent = 120, .tcp_established = 432000,          \
				 .tcp_unacknowledged = 300, .tcp_closing = 120,           \
				 .tcp_close = 10, .udp_unreplied = 30, .udp_replied = 120, \
				 .icmp = 30, .generic = 600 })

/*
 * One tracked flow: two cache lines, the first what a lookup reads, the second what accounting
 * writes. Direction 0 is the original (the key's), 1 the reply.
 */
struct flow {
	struct flow_key key;  /* the original direction: the key it was created with */
	uint64_t deadline_ns; /* dead once now_ns >= deadline_ns */
	uint32_t verdict;     /* the caller's (policy verdict and generation); 0 when created */
	uint32_t peer;        /* the caller's tag (a peer id); 0 when created; flow_top filters */
	uint32_t slot;        /* table internal: bucket * FLOW_BUCKET_SLOTS + slot */
	uint8_t state;        /* enum flow_state */
	uint8_t replied;      /* a reply has been seen (Linux's IPS_SEEN_REPLY) */
	uint8_t orig_rev;     /* table internal: the key is the reverse of the canonical one */
	uint8_t pad0;
	uint64_t packets[2] __attribute__((aligned(64)));
	uint64_t bytes[2];
	uint64_t created_ns;
	uint64_t last_ns; /* the last packet accounted, either way */
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct flow) == 128, "a flow is two cache lines");

enum flow_end {
	FLOW_END_EXPIRED, /* its deadline had passed */
	FLOW_END_EVICTED, /* alive, but its place was needed */
};

/*
 * Called with each flow as it leaves the table, before its memory is reused (for final counters,
 * a log, a test's model). It must not call into the table.
 */
typedef void flow_end_fn(void *arg, const struct flow *f, enum flow_end why);

struct flow_stats {
	uint64_t in_use;    /* flows held now, dead ones not yet freed included */
	uint64_t max_flows;
	uint64_t created;
	uint64_t expired;   /* freed dead: by lookup, create, the sweep, or as an eviction victim */
	uint64_t evicted;   /* freed alive to make room */
};

/* A copy of one flow, for telemetry. */
struct flow_info {
	struct flow_key key;
	uint64_t packets[2], bytes[2];
	uint64_t created_ns, last_ns, deadline_ns;
	uint32_t verdict, peer;
	uint8_t state, replied;
};

#define FLOW_PEER_ANY UINT32_MAX /* flow_top: every flow, whatever its peer tag */

struct flow_table;

/*
 * A table for at most max_flows flows (1..FLOW_MAX_FLOWS), hashed under seed (fresh random bytes
 * per table), with the given timeouts (NULL: FLOW_TIMEOUTS_DEFAULT; each must be nonzero). All its
 * memory is allocated here: about 150 bytes per flow. NULL with errno EINVAL or ENOMEM.
 */
struct flow_table *flow_table_create(uint32_t max_flows, uint64_t seed,
				     const struct flow_timeouts *timeouts);
void flow_table_destroy(struct flow_table *t);

/* Sets (or with NULL clears) the hook called for every flow that expires or is evicted. */
void flow_table_on_end(struct flow_table *t, flow_end_fn *fn, void *arg);

/*
 * The live flow with key k in either direction, and *reply true when k is its reply direction
 * (always false for a key that is its own reverse). NULL when there is none; a dead one found is
 * freed (counted as expired).
 */
struct flow *flow_lookup(struct flow_table *t, const struct flow_key *k, uint64_t now_ns,
			 bool *reply);

/*
 * A new flow whose original direction is k, in state NEW for TCP (UNREPLIED for UDP, ICMP or
 * GENERIC otherwise), with zero counters, verdict and peer. May free a dead flow or evict one
 * (see the top of this file). NULL only when a live flow with key k in either direction exists
 * already: look up first.
 */
struct flow *flow_create(struct flow_table *t, const struct flow_key *k, uint64_t now_ns);

/*
 * One packet of bytes bytes on f, in its reply direction if reply: counters, last seen, the state
 * machine (with info's TCP flags; info may be NULL: no flags) and a new deadline.
 */
void flow_account(struct flow_table *t, struct flow *f, bool reply, const struct flow_pkt *info,
		  uint32_t bytes, uint64_t now_ns);

/*
 * Looks at up to budget pool entries from where the last call stopped, freeing the dead ones;
 * returns how many it freed. A worker calls it once per loop with a small budget: every entry is
 * visited once per max_flows / budget calls.
 */
unsigned int flow_expire(struct flow_table *t, uint64_t now_ns, unsigned int budget);

void flow_table_stats(const struct flow_table *t, struct flow_stats *st);

/*
 * The (at most) n live flows with the most bytes (both directions) whose peer tag is peer, or
 * every flow for FLOW_PEER_ANY, most first (ties: lower key by memcmp first); returns how many it
 * wrote. Visits the whole pool: O(max_flows), so run it on request, not per packet.
 */
unsigned int flow_top(const struct flow_table *t, uint32_t peer, uint64_t now_ns,
		      struct flow_info *out, unsigned int n);

/* White box, for tests: the buckets key k may be filed in, and the bucket flow f is in. */
void flow_table_buckets(const struct flow_table *t, const struct flow_key *k, uint32_t b[2]);
uint32_t flow_table_bucket_of(const struct flow_table *t, const struct flow *f);

#endif
