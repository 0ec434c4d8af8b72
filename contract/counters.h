/* SPDX-License-Identifier: MIT */
/*
 * Every packet meshgate does not deliver has a named reason. One X-macro makes the enum and the
 * names, so a new reason cannot be counted without being named. Counters are per lcore, written only
 * by their lcore, summed on read (control thread, telemetry).
 */
#ifndef MG_COUNTERS_H
#define MG_COUNTERS_H

#include <stdint.h>

#include <rte_common.h>
#include <rte_lcore.h>

#define MG_DROP_REASONS(X)                                                                      \
	/* WAN receive: classification */                                                       \
	X(WAN_NOT_IP, "wan_not_ip")                 /* not IPv4/IPv6/ARP */                     \
	X(WAN_BAD_IP, "wan_bad_ip")                 /* truncated or malformed IP header */      \
	X(WAN_NOT_OURS, "wan_not_ours")             /* not to our address, not UDP to our port */ \
	X(WAN_BAD_CHECKSUM, "wan_bad_checksum")     /* IPv4 header checksum wrong */            \
	X(WAN_FRAG_BAD, "wan_frag_bad")             /* fragment overlapping, excess, no room */ \
	X(WAN_FRAG_TIMEOUT, "wan_frag_timeout")     /* its datagram did not complete in time */ \
	X(WAN_FRAG_TOO_BIG, "wan_frag_too_big")     /* reassembled: larger than our buffers */ \
	X(WAN_BAD_UDP, "wan_bad_udp")               /* UDP length inconsistent */               \
	X(WG_BAD_MESSAGE, "wg_bad_message")         /* unknown type or wrong length */          \
	X(CTRL_RING_FULL, "ctrl_ring_full")         /* control thread behind: handshake dropped */ \
	X(NEIGH_RING_FULL, "neigh_ring_full")       /* control thread behind: ARP/ND dropped */ \
	X(NO_MBUF, "no_mbuf")                       /* pool empty where a copy was needed */    \
	/* decrypt */                                                                           \
	X(WG_UNKNOWN_INDEX, "wg_unknown_index")     /* no keypair for the receiver index */     \
	X(WG_KEY_EXPIRED, "wg_key_expired")         /* keypair too old or counter at limit */   \
	X(WG_AUTH_FAILED, "wg_auth_failed")         /* tag did not verify */                    \
	X(WG_REPLAY, "wg_replay")                   /* counter seen or behind the window */     \
	X(INNER_BAD_IP, "inner_bad_ip")             /* decrypted packet not valid IPv4/IPv6 */  \
	X(INNER_NOT_ALLOWED, "inner_not_allowed")   /* source not in the peer's allowed-IPs */  \
	X(INNER_TX_FULL, "inner_tx_full")           /* the inner device's queue was full */     \
	X(INNER_DOWN, "inner_down")                 /* the inner device refused (down, gone) */ \
	/* encrypt */                                                                           \
	X(INNER_NO_ROUTE, "inner_no_route")         /* destination matches no peer */           \
	X(NO_ENDPOINT, "no_endpoint")               /* peer has no known endpoint */            \
	X(STAGED_FULL, "staged_full")               /* waiting-for-handshake queue full */      \
	X(STAGED_LIMIT, "staged_limit")             /* all peers' waiting packets at the cap */ \
	X(NO_ROOM, "no_room")                       /* mbuf lacks head/tailroom for headers */   \
	X(TOO_BIG, "too_big")                       /* larger than the inner MTU */             \
	X(FRAG_FAILED, "frag_failed")               /* larger than the WAN MTU, not fragmented */ \
	X(WAN_TX_FULL, "wan_tx_full")               /* the WAN port did not take it */          \
	X(WAN_DOWN, "wan_down")                     /* the WAN link was down */                 \
	/* the flow stage (either path) */                                                      \
	X(POLICY, "policy_drop")                    /* the policy refused its flow */           \
	X(FLOW_INVALID, "flow_invalid")             /* unparseable for the flow table, or an ICMP error about no flow */ \
	X(FLOW_HANDOFF_FULL, "flow_handoff_full")   /* its flow's worker was behind */          \
	/* gateway mode: the LAN port */                                                        \
	X(LAN_NOT_IP, "lan_not_ip")                 /* not IPv4/IPv6/ARP */                     \
	X(LAN_BAD_IP, "lan_bad_ip")                 /* malformed IP header, bad IPv4 checksum */ \
	X(LAN_TO_US, "lan_to_us")                   /* for our LAN address, not ARP/ND: not served */ \
	X(LAN_NOT_ROUTED, "lan_not_routed")         /* multicast, broadcast, link-local: not forwarded */ \
	X(TTL_EXCEEDED, "ttl_exceeded")             /* TTL / hop limit ran out (either way) */  \
	X(LAN_NO_ROUTE, "lan_no_route")             /* from the mesh, to no LAN prefix or route */ \
	X(LAN_UNRESOLVED, "lan_unresolved")         /* next hop never answered ARP/ND, or too many waited */ \
	X(LAN_RING_FULL, "lan_ring_full")           /* control thread behind: ARP/ND or a waiting packet */ \
	X(LAN_TX_FULL, "lan_tx_full")               /* the LAN port did not take it */          \
	X(LAN_DOWN, "lan_down")                     /* the LAN link was down */                 \
	X(ECHO_LIMITED, "echo_limited")             /* a ping to us over the ICMP rate limit */ \
	/* control thread */                                                                    \
	X(HS_INVALID_MAC, "hs_invalid_mac")         /* mac1 wrong */                            \
	X(HS_RATELIMITED, "hs_ratelimited")         /* per-source limit under load */           \
	X(HS_COOKIE_SENT, "hs_cookie_sent")         /* under load without mac2: cookie reply */ \
	X(HS_UNKNOWN_PEER, "hs_unknown_peer")       /* static key of no configured peer */      \
	X(HS_REPLAY, "hs_replay")                   /* initiation timestamp not newer */        \
	X(HS_FLOOD, "hs_flood")                     /* over 50 initiations/s from one peer */   \
	X(HS_AUTH_FAILED, "hs_auth_failed")         /* handshake did not decrypt */             \
	X(HS_UNEXPECTED, "hs_unexpected")           /* response/cookie for no pending handshake */

enum mg_drop {
#define MG_DROP_ENUM(e, s) MG_DROP_##e,
	MG_DROP_REASONS(MG_DROP_ENUM)
#undef MG_DROP_ENUM
	MG_DROP_COUNT
};

extern const char *const mg_drop_names[MG_DROP_COUNT];

struct mg_lcore_stats {
	uint64_t drops[MG_DROP_COUNT];
	uint64_t wan_rx, wan_tx, inner_rx, inner_tx;  /* packets */
	uint64_t decrypted, encrypted, keepalives_rx;
	uint64_t to_ctrl;                              /* handshake/ARP/ND handed to the control thread */
	uint64_t wan_frags, reassembled, fragmented;   /* fragments in, datagrams out of them; sent */
	/* Control thread: cookie replies taken from a peer under load, and handshake messages sent
	 * with a mac2 made from one (the retry that gets through). */
	uint64_t cookie_replies_rx, cookie_mac2_sent;
	uint64_t handed_off;                           /* to the worker that owns the packet's flow */
	uint64_t spread_out, spread_in;                /* data messages another worker opened for this
							* one; that this one opened for another */
} __rte_cache_aligned;

extern struct mg_lcore_stats mg_stats[RTE_MAX_LCORE];

static inline void mg_drop(enum mg_drop reason, uint64_t n)
{
	mg_stats[rte_lcore_id()].drops[reason] += n;
}

/* Sum of one drop counter over all lcores (any thread; counters may be mid-update). */
uint64_t mg_drop_total(enum mg_drop reason);

#endif
