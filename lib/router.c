/* SPDX-License-Identifier: MIT */
/*
 * TCP MSS clamping; see router.h. (The TTL decrement is all in router.h, inline.)
 *
 * Pipeline, each step a reason to leave the packet alone:
 *   1. the IP header: version, lengths, not a fragment; IPv6 walks to the TCP header;
 *   2. the TCP header: whole, SYN without RST;
 *   3. the options: walked to EOL or the first malformed one, each MSS above the clamp rewritten
 *      with the checksum updated for that one 16-bit change.
 *
 * Compared with Linux (net/netfilter/xt_TCPMSS.c, and nft_exthdr.c for nftables), which step an
 * option list one byte at a time over a zero length and read on past EOL, this walk stops where
 * the receiver's tcp_parse_options stops: an MSS past that point is one the receiver never reads.
 * Linux also rewrites the first MSS option only, and drops the packet where we decline (a TCP
 * header cut short, an unusable MTU): dropping is the caller's decision here.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "router.h"

/* TCP option kinds (RFC 9293 3.2) and flags. */
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOLEN_MSS 4
#define TCP_SYN 0x02
#define TCP_RST 0x04

/* As flow.h's FLOW_MAX_EXTHDRS: a real chain has a few, and a long one only costs time. */
#define MAX_EXTHDRS 8

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * RFC 1624 eqn. 3: the checksum hc once one 16-bit word of what it covers goes from old to new,
 * HC' = ~(~HC + ~m + m') in ones' complement arithmetic. The sum of three terms is folded twice
 * (the first fold can carry once more). A TCP checksum covers the pseudo-header, whose protocol
 * and length are never zero, so ~HC is never zero, neither is the sum, and the result is never
 * 0xffff: the same value a full recompute gives, and a checksum that was correct stays correct.
 */
static inline uint16_t csum_replace16(uint16_t hc, uint16_t old, uint16_t new)
{
	uint32_t sum = (uint32_t)(uint16_t)~hc + (uint16_t)~old + new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Writes mss at tcp[at..at+2) and updates the checksum at tcp[16..18). The checksum adds 16-bit
 * words from the start of the segment; a value at an odd offset has its high byte in the low half
 * of one word and its low byte in the high half of the next, so it counts byte-swapped (one byte
 * rotation is multiplication by 256 in ones' complement arithmetic, which distributes over the
 * sum). Options after a lone NOP put the MSS there. Linux's xt_TCPMSS and nft_exthdr hand the old
 * and new value to inet_proto_csum_replace2, which knows no offset and sums them as an aligned
 * word: right at even offsets only (test_router shows such an update failing at an odd one).
 */
static void set_mss(uint8_t *tcp, uint32_t at, uint16_t old, uint16_t mss)
{
	uint16_t o = old, n = mss;

	if (at & 1) {
		o = (uint16_t)(o << 8 | o >> 8);
		n = (uint16_t)(n << 8 | n >> 8);
	}
	put_be16(tcp + 16, csum_replace16(be16(tcp + 16), o, n));
	put_be16(tcp + at, mss);
}

/* Step 2 and 3: the TCP header at tcp, avail bytes of it in the packet. */
static bool clamp_tcp(uint8_t *tcp, uint32_t avail, uint16_t clamp)
{
	uint32_t doff, i, optlen;
	bool changed = false;

	if (avail < 20 || (tcp[13] & (TCP_SYN | TCP_RST)) != TCP_SYN)
		return false;
	doff = (tcp[12] >> 4) * 4u;
	if (doff > avail)
		return false;
	/* A data offset below 5 (a header shorter than 20 bytes) leaves the loop nothing to do. */
	for (i = 20; i < doff; i += optlen) {
		uint16_t mss;

		if (tcp[i] == TCPOPT_EOL)
			break;
		if (tcp[i] == TCPOPT_NOP) {
			optlen = 1;
			continue;
		}
		if (i + 1 == doff)
			break; /* a kind with no room for its length */
		optlen = tcp[i + 1];
		if (optlen < 2 || i + optlen > doff)
			break;
		if (tcp[i] != TCPOPT_MSS || optlen != TCPOLEN_MSS)
			continue;
		mss = be16(tcp + i + 2);
		if (mss > clamp) {
			set_mss(tcp, i + 2, mss, clamp);
			changed = true;
		}
	}
	return changed;
}

/*
 * Step 1 for IPv6: the TCP header's offset, or 0. Hop-by-hop options only right after the fixed
 * header (RFC 8200 4.1). Any other header ends the walk: a fragment header even when it is an
 * atomic fragment's (a whole datagram, but rare: RFC 8021 deprecates sending them), and AH, whose
 * integrity check a rewrite would break.
 */
static uint32_t tcp_offset6(const uint8_t *ip, uint32_t end)
{
	uint32_t off = 40;
	uint8_t nh = ip[6];

	for (unsigned int n = 0; n <= MAX_EXTHDRS; n++) {
		if (nh == IPPROTO_TCP)
			return off;
		if (n == MAX_EXTHDRS || off + 8 > end)
			return 0;
		if (nh != IPPROTO_ROUTING && nh != IPPROTO_DSTOPTS &&
		    (nh != IPPROTO_HOPOPTS || off != 40))
			return 0;
		nh = ip[off];
		off += (ip[off + 1] + 1u) * 8;
	}
	return 0;
}

bool router_clamp_mss(uint8_t *ip, uint32_t len, int family, uint16_t mtu)
{
	uint32_t end, off;

	if (family == AF_INET) {
		if (len < 20 || ip[0] >> 4 != 4 || ip[9] != IPPROTO_TCP ||
		    mtu <= ROUTER_MSS_OVERHEAD4)
			return false;
		end = be16(ip + 2) < len ? be16(ip + 2) : len;
		off = (ip[0] & 0xf) * 4u;
		if (off < 20 || off > end || be16(ip + 6) & 0x3fff) /* MF or an offset */
			return false;
		return clamp_tcp(ip + off, end - off, (uint16_t)(mtu - ROUTER_MSS_OVERHEAD4));
	}
	if (family != AF_INET6 || len < 40 || ip[0] >> 4 != 6 || mtu <= ROUTER_MSS_OVERHEAD6)
		return false;
	end = 40u + be16(ip + 4) < len ? 40u + be16(ip + 4) : len;
	off = tcp_offset6(ip, end);
	if (!off || off > end)
		return false;
	return clamp_tcp(ip + off, end - off, (uint16_t)(mtu - ROUTER_MSS_OVERHEAD6));
}
