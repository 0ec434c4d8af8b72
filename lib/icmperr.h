/* SPDX-License-Identifier: MIT */
/*
 * The ICMP and ICMPv6 errors a router sends about an IP packet it cannot forward (RFC 792,
 * RFC 1812 4.3.2, RFC 4443, RFC 1191 and RFC 8201 for "too big"), for gateway mode: whether one
 * may be sent at all, the error itself as a whole IP packet, and a token bucket to limit how many
 * go out. Pure functions over byte buffers: no I/O, no clock, no allocation.
 *
 * The caller passes the packet as it was received, before its TTL or hop limit was decremented,
 * as Linux quotes it (RFC 1812 4.3.2.3 allows either), and calls in this order:
 *
 *   1. icmperr_allowed:     the RFC's "MUST NOT send" rules; free of side effects.
 *   2. icmperr_limit_allow: one token, so packets that may not be answered cost none (as in
 *                           Linux, whose eligibility checks come before icmp_global_allow).
 *   3. icmperr_build:       the error, checking 1. again (it returns 0 where 1. said no).
 *
 * When no error may be sent (Linux's __icmp_send and icmp6_send, RFC 1812 4.3.2.7, RFC 4443
 * 2.4 (e)):
 *   - about an ICMP error. IPv4: an ICMP packet whose type is not a query (echo, timestamp,
 *     information, address mask: 0, 8, 13-18), so unknown types count as errors, as in Linux's
 *     icmp_pointers[].error; also an ICMP packet too short to hold its type. IPv6: an ICMPv6 type
 *     below 128, found by walking the extension headers exactly as Linux's is_ineligible does
 *     (see icmperr.c: a chain it cannot follow, or one that ends in a fragment that is not the
 *     first, is eligible).
 *   - from a source that is no single host. IPv4: 0/8, 127/8, 224/4 and 240/4 (so also
 *     255.255.255.255); IPv6: ::, ::1 and ff00::/8.
 *   - to a multicast or broadcast destination. IPv4: 224/4 and 255.255.255.255 (a subnet's
 *     directed broadcast is the caller's to know); IPv6: ff00::/8, except ICMPERR_TOO_BIG
 *     (RFC 4443 2.4 (e.3): path MTU discovery for multicast needs it).
 *   - IPv4: about a fragment that is not the first (a nonzero offset).
 *   - IPv4 ICMPERR_TOO_BIG without DF: such a packet is fragmented, not refused.
 * A packet that arrived as a link-layer broadcast is not answered either; only the caller knows.
 *
 * Malformed packets (too short for the fixed header, the wrong version, an IPv4 IHL below 5, an IP
 * length that is shorter than the header or claims more than len bytes) are never answered:
 * icmperr_allowed is false and icmperr_build -EINVAL. Bytes past the IP length (link padding) are
 * ignored. Nothing outside pkt[0..len) is read.
 */
#ifndef MG_ICMPERR_H
#define MG_ICMPERR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ICMPERR_MAX_V4 576  /* RFC 1812 4.3.2.3: an IPv4 error is at most 576 bytes */
#define ICMPERR_MAX_V6 1280 /* RFC 4443 2.4 (c): an ICMPv6 error fits the IPv6 minimum MTU */
#define ICMPERR_TTL 64      /* the error's TTL or hop limit: Linux's default */
#define ICMPERR_MIN_MTU_V4 68   /* RFC 791: every link carries 68 bytes */
#define ICMPERR_MIN_MTU_V6 1280 /* RFC 8200 5 */

enum icmperr_kind {
	ICMPERR_TIME_EXCEEDED,    /* TTL or hop limit reached 0 in transit: v4 11/0, v6 3/0 */
	ICMPERR_NET_UNREACHABLE,  /* no route: v4 3/0, v6 1/0 */
	ICMPERR_HOST_UNREACHABLE, /* the next hop did not resolve: v4 3/1, v6 1/3 */
	ICMPERR_ADMIN_PROHIBITED, /* policy: v4 3/13 (RFC 1812 5.2.7.1), v6 1/1 */
	ICMPERR_TOO_BIG,          /* v4 3/4 with the next-hop MTU (RFC 1191), v6 2/0 with the MTU */
};

/*
 * Whether an error of this kind may be sent about pkt[0..len), an IPv4 or IPv6 packet by its
 * version (the rules at the top of this file). False for malformed packets and unknown kinds.
 */
bool icmperr_allowed(const uint8_t *pkt, size_t len, enum icmperr_kind kind);

/*
 * Writes into out (cap bytes) the error of this kind about pkt[0..len), as a whole IP packet of
 * pkt's family from src (our address: 4 or 16 bytes, network order) to pkt's source:
 *   IPv4: version 4, IHL 5, TOS 0xc0 (precedence 6, RFC 1812 4.3.2.5), DF set and identification
 *         0 (an atomic datagram, RFC 6864 4.1: with no state to count with, an ID that repeats is
 *         only harmless when the datagram is never fragmented, and one of at most 576 bytes need
 *         not be), TTL ICMPERR_TTL, then the ICMP header;
 *   IPv6: traffic class and flow label 0, hop limit ICMPERR_TTL, then the ICMPv6 header;
 * followed by as much of pkt (up to its IP length) as fits in ICMPERR_MAX_V4 / ICMPERR_MAX_V6
 * bytes, with every checksum filled in (ICMPv6 over the pseudo-header). mtu is read for
 * ICMPERR_TOO_BIG only: IPv4 68..65535 in the low 16 bits of the header's second word (bytes
 * 6-7), IPv6 at least 1280 in all 32 bits (bytes 4-7).
 *
 * Returns the error's length; 0 when none may be sent (icmperr_allowed is false); -EINVAL when pkt
 * is malformed, kind unknown or mtu out of range for ICMPERR_TOO_BIG (these before 0, so that a
 * caller's bug shows whatever the packet), or when cap is too small for the whole error. out is
 * untouched unless the length is returned. out may overlap pkt and src (an mbuf's headroom:
 * out = pkt - 28 or pkt - 48, or out = pkt itself): what it needs is read before it writes.
 */
int icmperr_build(uint8_t *out, size_t cap, const uint8_t *pkt, size_t len, enum icmperr_kind kind,
		  uint32_t mtu, const uint8_t *src);

/*
 * A token bucket for errors: per_sec a second on average, at most burst at once, as Linux's
 * net.ipv4.icmp_msgs_per_sec (1000) and icmp_msgs_burst (50) do for all errors of a host. A
 * worker keeps its own (its share of the rate); nothing in it is shared. The arithmetic is exact:
 * a token is worth 10^9 units, and each nanosecond earns per_sec units, so no rate is rounded.
 * Time is the caller's monotonic nanoseconds; a step backwards is treated as no time passing (the
 * bucket keeps the latest time it saw, so a clock that steps back earns nothing twice).
 */
struct icmperr_limit {
	uint64_t units;   /* credit now; at most max */
	uint64_t max;     /* burst * 10^9 (< 2^63 for any 32-bit burst) */
	uint64_t last_ns; /* the latest time seen */
	uint32_t per_sec;
};

/* A full bucket. per_sec 0: the burst and then nothing; burst 0: nothing ever. */
void icmperr_limit_init(struct icmperr_limit *l, uint32_t per_sec, uint32_t burst);

/* Whether one more error may go out at now_ns (and if so, its token is taken). */
bool icmperr_limit_allow(struct icmperr_limit *l, uint64_t now_ns);

#endif
