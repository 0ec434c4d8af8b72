/* SPDX-License-Identifier: MIT */
/*
 * The identity of an inner flow, as the flow table (flow.h) tracks it and the policy (policy.h)
 * matches it: addresses, protocol and ports of one packet, in the direction that packet travels.
 * A reply's key is the original's with the two ends swapped (flow_key_reverse).
 *
 * 40 bytes, no padding, every unused byte zero, so keys compare and hash as memory: an IPv4
 * address fills the first 4 bytes of its 16. For TCP, UDP, UDP-Lite, SCTP and DCCP the ports
 * are the packet's; for ICMP and ICMPv6 queries (echo and the like) both hold the identifier, so
 * a reply's reversed key is the query's; for everything else they are 0 (a 3-tuple).
 */
#ifndef MG_FLOWKEY_H
#define MG_FLOWKEY_H

#include <stdint.h>
#include <string.h>

struct flow_key {
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport, dport; /* host byte order */
	uint8_t proto;         /* IPPROTO_* of the upper layer */
	uint8_t family;        /* AF_INET or AF_INET6 */
	uint8_t zero[2];
};

_Static_assert(sizeof(struct flow_key) == 40, "flow_key is hashed and compared as 40 bytes");

static inline void flow_key_reverse(struct flow_key *out, const struct flow_key *k)
{
	*out = *k;
	memcpy(out->src, k->dst, 16);
	memcpy(out->dst, k->src, 16);
	out->sport = k->dport;
	out->dport = k->sport;
}

#endif
