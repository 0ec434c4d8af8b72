/* SPDX-License-Identifier: MIT */
/*
 * ICMP and ICMPv6 errors about packets a router cannot forward, and their token bucket; see
 * icmperr.h for the rules.
 *
 * One parse (classify) serves icmperr_allowed and icmperr_build alike, so the two cannot disagree:
 * it checks the IP header, applies the refusal rules and says how many bytes are the packet's own.
 * The builder then copies the quote into place before it writes a header, which is what lets the
 * error be built in front of the packet in its own buffer.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "icmperr.h"

#define NS_PER_S 1000000000ULL
#define IP4_HDR 20
#define IP6_HDR 40
#define ICMP_HDR 8 /* type, code, checksum and one word, the same in both families */

struct icmp_tc {
	uint8_t type, code;
};

static const struct icmp_tc icmp4_tc[] = {
	[ICMPERR_TIME_EXCEEDED] = { 11, 0 },    /* time exceeded, in transit */
	[ICMPERR_NET_UNREACHABLE] = { 3, 0 },   /* destination unreachable: net */
	[ICMPERR_HOST_UNREACHABLE] = { 3, 1 },  /* host */
	[ICMPERR_ADMIN_PROHIBITED] = { 3, 13 }, /* communication administratively prohibited */
	[ICMPERR_TOO_BIG] = { 3, 4 },           /* fragmentation needed and DF set */
};

static const struct icmp_tc icmp6_tc[] = {
	[ICMPERR_TIME_EXCEEDED] = { 3, 0 },    /* hop limit exceeded in transit */
	[ICMPERR_NET_UNREACHABLE] = { 1, 0 },  /* no route to destination */
	[ICMPERR_HOST_UNREACHABLE] = { 1, 3 }, /* address unreachable */
	[ICMPERR_ADMIN_PROHIBITED] = { 1, 1 }, /* administratively prohibited */
	[ICMPERR_TOO_BIG] = { 2, 0 },          /* packet too big */
};

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

/* ---- When an error may be sent ---- */

/*
 * Queries, the types Linux's icmp_pointers[] does not mark as errors: echo reply and request,
 * timestamp, information and address mask (request and reply each). Linux counts every other
 * type, unknown ones included, as an error, so that no two routers can trade errors forever.
 */
static bool icmp4_is_query(uint8_t type)
{
	return type == 0 || type == 8 || (type >= 13 && type <= 18);
}

/*
 * Network 0, loopback, multicast and class E (which holds 255.255.255.255), as RFC 1122 3.2.2
 * lists them. Linux routes 240/4 as unicast and so would answer it; the RFCs say no, and so do we.
 */
static bool ip4_src_refused(const uint8_t *a)
{
	return a[0] == 0 || a[0] == 127 || a[0] >= 224;
}

static bool ip4_dst_refused(const uint8_t *a)
{
	static const uint8_t bcast[4] = { 255, 255, 255, 255 };

	return (a[0] & 0xf0) == 224 || memcmp(a, bcast, 4) == 0;
}

static int classify4(const uint8_t *p, size_t len, enum icmperr_kind kind, size_t *own)
{
	size_t hl, tot;
	uint16_t frag;

	if (len < IP4_HDR || p[0] >> 4 != 4)
		return -EINVAL;
	hl = (p[0] & 0xf) * 4u;
	tot = be16(p + 2);
	if (hl < IP4_HDR || tot < hl || tot > len)
		return -EINVAL;
	*own = tot;
	frag = be16(p + 6);
	if (frag & 0x1fff) /* not the first fragment: its sender cannot match an error to it */
		return 0;
	if (kind == ICMPERR_TOO_BIG && !(frag & 0x4000))
		return 0; /* no DF: the router fragments it instead */
	if (ip4_src_refused(p + 12) || ip4_dst_refused(p + 16))
		return 0;
	/* Linux refuses too when the ICMP type is not there to read. */
	if (p[9] == IPPROTO_ICMP && (tot == hl || !icmp4_is_query(p[hl])))
		return 0;
	return 1;
}

/* ::, ::1 (RFC 4291 2.5.3: never a source outside its node) and multicast. */
static bool ip6_src_refused(const uint8_t *a)
{
	static const uint8_t zero[15];

	return a[0] == 0xff || (memcmp(a, zero, 15) == 0 && a[15] <= 1);
}

/*
 * Whether the packet p[0..end) is an ICMPv6 error, decided as Linux's is_ineligible does over
 * ipv6_skip_exthdr, so that meshgate refuses exactly what a Linux router refuses:
 *   - hop-by-hop, routing, destination options, AH and fragment headers are skipped, wherever
 *     they are and however many (each is at least 8 bytes, so the walk ends: at worst some 8000
 *     steps in a 64 KiB packet, microseconds, and only for packets that would get an error);
 *   - a chain that cannot be followed (an extension header that is not there to read, "no next
 *     header") is no ICMPv6 error: the error is sent. A header that claims more bytes than are
 *     left is skipped all the same; what follows it is then not there to read;
 *   - a fragment header with a nonzero offset stops the walk at itself: a later fragment is no
 *     ICMPv6 error either, whatever its next header says (unlike IPv4, Linux answers it);
 *   - an ICMPv6 header whose type byte is missing is an error unless a fragment header came
 *     before it (RFC 8200 4.5 puts the upper-layer header in the first fragment, but Linux gives
 *     a first fragment that lacks it the benefit of the doubt).
 */
static bool ip6_is_icmp_error(const uint8_t *p, size_t end)
{
	size_t off = IP6_HDR, hl;
	uint16_t frag = 0;
	uint8_t nh = p[6];

	for (;;) {
		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (off + 2 > end)
				return false;
			hl = (p[off + 1] + 1u) * 8;
			break;
		case IPPROTO_AH: /* its length is in 4-byte units, less 2 (RFC 4302 2.2) */
			if (off + 2 > end)
				return false;
			hl = (p[off + 1] + 2u) * 4;
			break;
		case IPPROTO_FRAGMENT:
			if (off + 4 > end)
				return false;
			frag = be16(p + off + 2);
			if (frag & 0xfff8)
				return false;
			hl = 8;
			break;
		case IPPROTO_ICMPV6:
			if (off >= end)
				return frag == 0;
			return !(p[off] & 0x80); /* RFC 4443 2.1: types 0-127 are errors */
		default: /* an upper layer, ESP, or "no next header" */
			return false;
		}
		nh = p[off];
		off += hl;
	}
}

static int classify6(const uint8_t *p, size_t len, enum icmperr_kind kind, size_t *own)
{
	size_t end;

	if (len < IP6_HDR || p[0] >> 4 != 6)
		return -EINVAL;
	end = IP6_HDR + (size_t)be16(p + 4);
	if (end > len)
		return -EINVAL;
	*own = end;
	if (ip6_src_refused(p + 8))
		return 0;
	if (p[24] == 0xff && kind != ICMPERR_TOO_BIG)
		return 0;
	if (ip6_is_icmp_error(p, end))
		return 0;
	return 1;
}

/* -EINVAL (malformed, or an unknown kind), 0 (no error may be sent) or 1; *own: the IP length. */
static int classify(const uint8_t *p, size_t len, enum icmperr_kind kind, size_t *own)
{
	if ((unsigned int)kind > ICMPERR_TOO_BIG || len < 1)
		return -EINVAL;
	switch (p[0] >> 4) {
	case 4:
		return classify4(p, len, kind, own);
	case 6:
		return classify6(p, len, kind, own);
	default:
		return -EINVAL;
	}
}

bool icmperr_allowed(const uint8_t *pkt, size_t len, enum icmperr_kind kind)
{
	size_t own;

	return classify(pkt, len, kind, &own) > 0;
}

/* ---- The error ---- */

/* The RFC 1071 sum of p[0..n), added to sum (no carries are lost below 2^48 bytes). */
static uint64_t sum16(const uint8_t *p, size_t n, uint64_t sum)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += be16(p + i);
	if (n & 1)
		sum += (uint64_t)p[n - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int build4(uint8_t *out, size_t cap, const uint8_t *pkt, size_t own,
		  enum icmperr_kind kind, uint32_t mtu, const uint8_t *src)
{
	size_t quote = own, n;
	uint8_t from[4], to[4];
	uint8_t *icmp;

	if (quote > ICMPERR_MAX_V4 - IP4_HDR - ICMP_HDR)
		quote = ICMPERR_MAX_V4 - IP4_HDR - ICMP_HDR;
	n = IP4_HDR + ICMP_HDR + quote;
	if (cap < n)
		return -EINVAL;
	icmp = out + IP4_HDR;
	memcpy(from, src, 4);
	memcpy(to, pkt + 12, 4);
	memmove(icmp + ICMP_HDR, pkt, quote);

	out[0] = 0x45;
	out[1] = 0xc0; /* precedence 6, internetwork control (RFC 1812 4.3.2.5) */
	put16(out + 2, (uint32_t)n);
	put16(out + 4, 0);      /* identification: meaningless in an atomic datagram */
	put16(out + 6, 0x4000); /* DF, offset 0 */
	out[8] = ICMPERR_TTL;
	out[9] = IPPROTO_ICMP;
	put16(out + 10, 0);
	memcpy(out + 12, from, 4);
	memcpy(out + 16, to, 4);
	put16(out + 10, csum_fold(sum16(out, IP4_HDR, 0)));

	icmp[0] = icmp4_tc[kind].type;
	icmp[1] = icmp4_tc[kind].code;
	put16(icmp + 2, 0);
	put32(icmp + 4, kind == ICMPERR_TOO_BIG ? mtu : 0); /* RFC 1191: high half unused, 0 */
	put16(icmp + 2, csum_fold(sum16(icmp, ICMP_HDR + quote, 0)));
	return (int)n;
}

static int build6(uint8_t *out, size_t cap, const uint8_t *pkt, size_t own,
		  enum icmperr_kind kind, uint32_t mtu, const uint8_t *src)
{
	size_t quote = own, n, ulen;
	uint8_t from[16], to[16];
	uint8_t *icmp;
	uint64_t sum;

	if (quote > ICMPERR_MAX_V6 - IP6_HDR - ICMP_HDR)
		quote = ICMPERR_MAX_V6 - IP6_HDR - ICMP_HDR;
	ulen = ICMP_HDR + quote;
	n = IP6_HDR + ulen;
	if (cap < n)
		return -EINVAL;
	icmp = out + IP6_HDR;
	memcpy(from, src, 16);
	memcpy(to, pkt + 8, 16);
	memmove(icmp + ICMP_HDR, pkt, quote);

	put32(out, 0x60000000); /* version 6, traffic class 0, flow label 0 */
	put16(out + 4, (uint32_t)ulen);
	out[6] = IPPROTO_ICMPV6;
	out[7] = ICMPERR_TTL;
	memcpy(out + 8, from, 16);
	memcpy(out + 24, to, 16);

	icmp[0] = icmp6_tc[kind].type;
	icmp[1] = icmp6_tc[kind].code;
	put16(icmp + 2, 0);
	put32(icmp + 4, kind == ICMPERR_TOO_BIG ? mtu : 0);
	/* The pseudo-header (RFC 8200 8.1): addresses, upper-layer length, next header. */
	sum = sum16(out + 8, 32, 0) + (ulen >> 16) + (ulen & 0xffff) + IPPROTO_ICMPV6;
	put16(icmp + 2, csum_fold(sum16(icmp, ulen, sum)));
	return (int)n;
}

int icmperr_build(uint8_t *out, size_t cap, const uint8_t *pkt, size_t len, enum icmperr_kind kind,
		  uint32_t mtu, const uint8_t *src)
{
	size_t own = 0;
	int ret = classify(pkt, len, kind, &own);
	bool v4;

	if (ret < 0)
		return ret;
	v4 = pkt[0] >> 4 == 4;
	if (kind == ICMPERR_TOO_BIG &&
	    (v4 ? mtu < ICMPERR_MIN_MTU_V4 || mtu > 0xffff : mtu < ICMPERR_MIN_MTU_V6))
		return -EINVAL;
	if (ret == 0)
		return 0;
	if (v4)
		return build4(out, cap, pkt, own, kind, mtu, src);
	return build6(out, cap, pkt, own, kind, mtu, src);
}

/* ---- The token bucket ---- */

void icmperr_limit_init(struct icmperr_limit *l, uint32_t per_sec, uint32_t burst)
{
	l->max = (uint64_t)burst * NS_PER_S;
	l->units = l->max;
	l->last_ns = 0;
	l->per_sec = per_sec;
}

bool icmperr_limit_allow(struct icmperr_limit *l, uint64_t now_ns)
{
	if (now_ns > l->last_ns) {
		uint64_t dt = now_ns - l->last_ns, room = l->max - l->units;

		/* dt * per_sec can pass 2^64 after a long gap: compare before multiplying. */
		if (l->per_sec && dt > room / l->per_sec)
			l->units = l->max;
		else
			l->units += dt * l->per_sec;
		l->last_ns = now_ns;
	}
	if (l->units < NS_PER_S)
		return false;
	l->units -= NS_PER_S;
	return true;
}
