/* SPDX-License-Identifier: MIT */
/*
 * ICMP and ICMPv6 errors. First the errors Linux 6.x itself sent as a router (captured from a tun
 * device in a network namespace: see linux_vectors), which ours must match byte for byte where we
 * make the same choices and in every other field be what icmperr.h says. Then every kind in both
 * families, field by field, with every checksum verified by a naive RFC 1071 sum written
 * separately here; how much is quoted (a 1500-byte packet up to 576 / 1280 bytes in all, a short
 * one whole, link padding never); every refusal rule; the IPv6 extension-header walk against
 * Linux's is_ineligible; malformed packets; every cut of several packets in a buffer of exactly
 * the cut's size, so that ASan sees a read past the end; errors built in place over the packet;
 * random bytes. Last the token bucket: burst, refill, long gaps, time going backwards, and a
 * differential run against a model in 128-bit arithmetic.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "icmperr.h"

#define NKINDS 5
#define MAXPKT 65535

static const uint8_t US4[4] = { 10, 0, 0, 254 }, H4[4] = { 10, 0, 0, 1 };
static const uint8_t D4[4] = { 192, 168, 7, 2 };
static const uint8_t US6[16] = { 0xfd, [15] = 0xfe }, H6[16] = { 0xfd, [15] = 1 };
static const uint8_t D6[16] = { 0xfd, 0x07, [15] = 2 };

static const char *const kind_name[NKINDS] = { "time exceeded", "net unreachable",
					       "host unreachable", "admin prohibited", "too big" };

/* The type and code each kind must have, written out again rather than shared with the library. */
static const uint8_t want_tc4[NKINDS][2] = { { 11, 0 }, { 3, 0 }, { 3, 1 }, { 3, 13 }, { 3, 4 } };
static const uint8_t want_tc6[NKINDS][2] = { { 3, 0 }, { 1, 0 }, { 1, 3 }, { 1, 1 }, { 2, 0 } };

/* ---- A naive RFC 1071 checksum: a word at a time, the carry folded back after each ---- */

static uint32_t naive_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 2) {
		uint32_t word = (uint32_t)p[i] << 8;

		if (i + 1 < n)
			word |= p[i + 1];
		sum += word;
		if (sum > 0xffff)
			sum -= 0xffff;
	}
	return sum;
}

/* 0 for data whose checksum field is right. */
static uint16_t naive_csum(const uint8_t *p, size_t n)
{
	return (uint16_t)~naive_add(0, p, n);
}

/* 0 when the ICMPv6 message m[0..n) has the right checksum between src and dst. */
static uint16_t naive_csum6(const uint8_t *src, const uint8_t *dst, const uint8_t *m, size_t n)
{
	uint8_t ph[40] = { 0 };

	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	ph[32] = (uint8_t)(n >> 24);
	ph[33] = (uint8_t)(n >> 16);
	ph[34] = (uint8_t)(n >> 8);
	ph[35] = (uint8_t)n;
	ph[39] = IPPROTO_ICMPV6;
	return (uint16_t)~naive_add(naive_add(0, ph, 40), m, n);
}

/* ---- Packet builders ---- */

static void put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned int get16(const uint8_t *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* IPv4 with optwords words of NOP options and a right header checksum; total = header + payload. */
static size_t ip4(uint8_t *p, uint8_t proto, const uint8_t *src, const uint8_t *dst, uint8_t ttl,
		  unsigned int fragfield, unsigned int optwords, size_t payload)
{
	size_t hl = 20 + 4 * optwords;

	memset(p, 0, hl);
	p[0] = (uint8_t)(0x40 | hl / 4);
	put16(p + 2, (unsigned int)(hl + payload));
	put16(p + 4, 0x1234);
	put16(p + 6, fragfield);
	p[8] = ttl;
	p[9] = proto;
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	memset(p + 20, 1, hl - 20);
	put16(p + 10, naive_csum(p, hl));
	return hl;
}

static size_t ip6(uint8_t *p, uint8_t nh, const uint8_t *src, const uint8_t *dst, uint8_t hlim,
		  size_t payload)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, (unsigned int)payload);
	p[6] = nh;
	p[7] = hlim;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
	return 40;
}

/* Hop-by-hop, routing or destination options: (len8 + 1) * 8 bytes. */
static size_t ext6(uint8_t *p, uint8_t nh, unsigned int len8)
{
	size_t n = (len8 + 1) * 8;

	memset(p, 0, n);
	p[0] = nh;
	p[1] = (uint8_t)len8;
	p[2] = 1; /* PadN */
	p[3] = (uint8_t)(n - 4);
	return n;
}

/* AH of words 4-byte words (its length field is words - 2, RFC 4302 2.2). */
static size_t ah6(uint8_t *p, uint8_t nh, unsigned int words)
{
	memset(p, 0xaa, words * 4);
	p[0] = nh;
	p[1] = (uint8_t)(words - 2);
	p[2] = p[3] = 0;
	return words * 4;
}

static size_t frag6(uint8_t *p, uint8_t nh, unsigned int offset8, bool more)
{
	memset(p, 0, 8);
	p[0] = nh;
	put16(p + 2, offset8 << 3 | more);
	memset(p + 4, 0x5a, 4);
	return 8;
}

/* UDP as in the Linux capture: 40000 -> 53, checksum 0, body bytes 0x41 + 7i. */
static size_t udp(uint8_t *p, size_t body)
{
	put16(p, 40000);
	put16(p + 2, 53);
	put16(p + 4, (unsigned int)(8 + body));
	put16(p + 6, 0);
	for (size_t i = 0; i < body; i++)
		p[8 + i] = (uint8_t)(0x41 + 7 * i);
	return 8 + body;
}

static size_t icmp(uint8_t *p, uint8_t type, uint8_t code)
{
	p[0] = type;
	p[1] = code;
	put16(p + 2, 0);
	put16(p + 4, 0x4242);
	put16(p + 6, 7);
	return 8;
}

/* A whole UDP packet of total bytes (at least 28 / 48). */
static size_t udp4(uint8_t *p, const uint8_t *src, const uint8_t *dst, unsigned int frag,
		   size_t total)
{
	size_t hl = ip4(p, IPPROTO_UDP, src, dst, 64, frag, 0, total - 20);

	udp(p + hl, total - hl - 8);
	return total;
}

static size_t udp6(uint8_t *p, const uint8_t *src, const uint8_t *dst, size_t total)
{
	ip6(p, IPPROTO_UDP, src, dst, 64, total - 40);
	udp(p + 40, total - 48);
	return total;
}

/* ---- Calls on exact copies, and the checks every error gets ---- */

/* icmperr_build on a copy of exactly n bytes (NULL for none): ASan sees any read past the end. */
static int build_exact(uint8_t *out, size_t cap, const uint8_t *pkt, size_t n,
		       enum icmperr_kind kind, uint32_t mtu, const uint8_t *src)
{
	uint8_t *c = n ? malloc(n) : NULL;
	int ret;

	if (n && !c)
		abort();
	if (n)
		memcpy(c, pkt, n);
	ret = icmperr_build(out, cap, c, n, kind, mtu, src);
	free(c);
	return ret;
}

static bool allowed_exact(const uint8_t *pkt, size_t n, enum icmperr_kind kind)
{
	uint8_t *c = n ? malloc(n) : NULL;
	bool ret;

	if (n && !c)
		abort();
	if (n)
		memcpy(c, pkt, n);
	ret = icmperr_allowed(c, n, kind);
	free(c);
	return ret;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * One field of an error: a failure is printed and counted, so that each error is one check (the
 * random test verifies a hundred thousand) that still names every field it got wrong.
 */
#define FIELD(cond, ...)                                                        \
	do {                                                                    \
		if (!(cond)) {                                                  \
			bad++;                                                  \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, \
				#cond);                                         \
			fprintf(stderr, __VA_ARGS__);                           \
			fputc('\n', stderr);                                    \
		}                                                               \
	} while (0)

/*
 * An IPv4 error e[0..n) about pkt (own bytes its own), field by field: the IP header as icmperr.h
 * promises it, the type and code, bytes 4-7 of the ICMP header (word), both checksums, the quote.
 * Returns how many fields are wrong.
 */
static unsigned int error4_wrong(const char *what, const uint8_t *e, int n, const uint8_t *pkt,
				 size_t own, uint8_t type, uint8_t code, uint32_t word)
{
	size_t quote = min_size(own, 576 - 28);
	unsigned int bad = 0;

	FIELD(n == (int)(28 + quote), "%s: length %d, want %zu", what, n, 28 + quote);
	if (bad)
		return bad;
	FIELD(e[0] == 0x45, "%s: version/IHL %02x", what, e[0]);
	FIELD(e[1] == 0xc0, "%s: TOS %02x", what, e[1]);
	FIELD(get16(e + 2) == (unsigned int)n, "%s: total length %u", what, get16(e + 2));
	FIELD(get16(e + 4) == 0, "%s: identification %04x", what, get16(e + 4));
	FIELD(get16(e + 6) == 0x4000, "%s: flags/offset %04x, want DF", what, get16(e + 6));
	FIELD(e[8] == 64, "%s: TTL %u", what, e[8]);
	FIELD(e[9] == IPPROTO_ICMP, "%s: protocol %u", what, e[9]);
	FIELD(naive_csum(e, 20) == 0, "%s: IP header checksum %04x wrong", what, get16(e + 10));
	FIELD(memcmp(e + 12, US4, 4) == 0, "%s: source", what);
	FIELD(memcmp(e + 16, pkt + 12, 4) == 0, "%s: destination is not the packet's source", what);
	FIELD(e[20] == type && e[21] == code, "%s: type/code %u/%u, want %u/%u", what, e[20], e[21],
	      type, code);
	FIELD(get32(e + 24) == word, "%s: bytes 4-7 %08x, want %08x", what, get32(e + 24), word);
	FIELD(naive_csum(e + 20, (size_t)n - 20) == 0, "%s: ICMP checksum %04x wrong", what,
	      get16(e + 22));
	FIELD(memcmp(e + 28, pkt, quote) == 0, "%s: quote", what);
	return bad;
}

static unsigned int error6_wrong(const char *what, const uint8_t *e, int n, const uint8_t *pkt,
				 size_t own, uint8_t type, uint8_t code, uint32_t word)
{
	size_t quote = min_size(own, 1280 - 48);
	unsigned int bad = 0;

	FIELD(n == (int)(48 + quote), "%s: length %d, want %zu", what, n, 48 + quote);
	if (bad)
		return bad;
	FIELD(get32(e) == 0x60000000, "%s: version/class/label %08x", what, get32(e));
	FIELD(get16(e + 4) == (unsigned int)n - 40, "%s: payload length %u", what, get16(e + 4));
	FIELD(e[6] == IPPROTO_ICMPV6, "%s: next header %u", what, e[6]);
	FIELD(e[7] == 64, "%s: hop limit %u", what, e[7]);
	FIELD(memcmp(e + 8, US6, 16) == 0, "%s: source", what);
	FIELD(memcmp(e + 24, pkt + 8, 16) == 0, "%s: destination is not the packet's source", what);
	FIELD(e[40] == type && e[41] == code, "%s: type/code %u/%u, want %u/%u", what, e[40], e[41],
	      type, code);
	FIELD(get32(e + 44) == word, "%s: bytes 4-7 %08x, want %08x", what, get32(e + 44), word);
	FIELD(naive_csum6(US6, pkt + 8, e + 40, (size_t)n - 40) == 0, "%s: ICMPv6 checksum %04x",
	      what, get16(e + 42));
	FIELD(memcmp(e + 48, pkt, quote) == 0, "%s: quote", what);
	return bad;
}

/* Checks an error of kind about pkt, whichever family: one check, every field. */
static void check_error(const char *what, const uint8_t *e, int n, const uint8_t *pkt, size_t own,
			enum icmperr_kind kind, uint32_t mtu)
{
	uint32_t word = kind == ICMPERR_TOO_BIG ? mtu : 0;
	unsigned int bad;

	if (pkt[0] >> 4 == 4)
		bad = error4_wrong(what, e, n, pkt, own, want_tc4[kind][0], want_tc4[kind][1], word);
	else
		bad = error6_wrong(what, e, n, pkt, own, want_tc6[kind][0], want_tc6[kind][1], word);
	CHECK(bad == 0, "%s: %u fields wrong (above)", what, bad);
}

/* Refused by both calls, and nothing written. */
static void check_refused(const char *what, const uint8_t *pkt, size_t len, enum icmperr_kind kind)
{
	static uint8_t out[2048];
	const uint8_t *src = pkt[0] >> 4 == 4 ? US4 : US6;
	int ret;

	memset(out, 0xee, sizeof(out));
	CHECK(!allowed_exact(pkt, len, kind), "%s (%s): allowed", what, kind_name[kind]);
	ret = build_exact(out, sizeof(out), pkt, len, kind, 1280, src);
	CHECK(ret == 0, "%s (%s): build %d, want 0", what, kind_name[kind], ret);
	CHECK(out[0] == 0xee && out[100] == 0xee, "%s (%s): wrote", what, kind_name[kind]);
}

/* Allowed by both, and the error right. */
static void check_allowed(const char *what, const uint8_t *pkt, size_t len, enum icmperr_kind kind)
{
	static uint8_t out[2048];
	const uint8_t *src = pkt[0] >> 4 == 4 ? US4 : US6;
	size_t own = pkt[0] >> 4 == 4 ? get16(pkt + 2) : 40 + get16(pkt + 4);
	int ret;

	CHECK(allowed_exact(pkt, len, kind), "%s (%s): refused", what, kind_name[kind]);
	ret = build_exact(out, sizeof(out), pkt, len, kind, 1280, src);
	check_error(what, out, ret, pkt, own, kind, 1280);
}

/* ---- What Linux sends ---- */

/*
 * Errors sent by Linux 6.x forwarding, captured in an unprivileged user and network namespace:
 * a tun device tun0 (10.0.0.254/24, fd00::fe/64) as the side the packets came from; a tun d0 of
 * MTU 1280 (192.168.7.0/24, fd07::/64) for "time exceeded" and "too big"; a tap e0
 * (192.168.8.0/24, fd08::/64) where no neighbour answers, for "host unreachable" after ARP or
 * neighbour discovery fail; no route to 100.64.0.1 and 2001:db8::1; "prohibit" routes for
 * 198.51.100.0/24 and fd99::/16; an "unreachable" route for 203.0.113.0/24. The packets written
 * to tun0 were UDP from 10.0.0.1 / fd00::1 as udp4/udp6 build them (identification 0x1234,
 * hop limit or TTL as below); in every case the quote Linux sent was the packet's first bytes.
 * When ARP failed Linux quoted the packet as forwarded, TTL 63, so that is what is passed here.
 *
 * Kept: the first 28 / 48 bytes of each error, which hold the ICMP checksum over the whole quote.
 * Where we choose differently (icmperr.h): IPv4 identification (Linux's is random), flags (Linux
 * leaves DF clear) and so the header checksum; the IPv6 flow label (Linux's is a hash).
 */
struct linux_vec {
	const char *name;
	enum icmperr_kind kind;
	uint8_t dst[16];
	uint8_t ttl;
	bool df;
	size_t total; /* of the packet */
	uint32_t mtu;
	const char *head; /* Linux's error, its first 28 or 48 bytes */
};

static const struct linux_vec v4_vecs[] = {
	{ "v4 ttl 1", ICMPERR_TIME_EXCEEDED, { 192, 168, 7, 2 }, 1, true, 128, 0,
	  "45c0009cbc3b00004001a8670a0000fe0a0000010b008cf600000000" },
	{ "v4 no route", ICMPERR_NET_UNREACHABLE, { 100, 64, 0, 1 }, 64, true, 128, 0,
	  "45c0009cbc4400004001a85e0a0000fe0a000001030094f600000000" },
	{ "v4 unreachable route", ICMPERR_HOST_UNREACHABLE, { 203, 0, 113, 9 }, 64, true, 128, 0,
	  "45c0009cbd3000004001a7720a0000fe0a000001030194f500000000" },
	{ "v4 no ARP reply", ICMPERR_HOST_UNREACHABLE, { 192, 168, 8, 2 }, 63, true, 128, 0,
	  "45c0009c84bd00004001dfe50a0000fe0a000001030194f500000000" },
	{ "v4 prohibit route", ICMPERR_ADMIN_PROHIBITED, { 198, 51, 100, 9 }, 64, true, 128, 0,
	  "45c0009cbda500004001a6fd0a0000fe0a000001030d94e900000000" },
	{ "v4 1400 over 1280, DF", ICMPERR_TOO_BIG, { 192, 168, 7, 2 }, 64, true, 1400, 1280,
	  "45c00240be2a00004001a4d40a0000fe0a00000103047d2c00000500" },
	{ "v4 ttl 1, 1500 bytes", ICMPERR_TIME_EXCEEDED, { 192, 168, 7, 2 }, 1, false, 1500, 0,
	  "45c00240bea300004001a45b0a0000fe0a0000010b0079cc00000000" },
};

#define FD(a, b, z) { 0xfd, a, [14] = b, [15] = z }

static const struct linux_vec v6_vecs[] = {
	{ "v6 hop limit 1", ICMPERR_TIME_EXCEEDED, FD(0x07, 0, 2), 1, false, 148, 0,
	  "6009b53b009c3a40fd0000000000000000000000000000fefd00000000000000000000000000000103002da6"
	  "00000000" },
	{ "v6 no route", ICMPERR_NET_UNREACHABLE,
	  { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, 64, false, 148, 0,
	  "6000837e009c3a40fd0000000000000000000000000000fefd0000000000000000000000000000010100feb6"
	  "00000000" },
	{ "v6 no neighbour", ICMPERR_HOST_UNREACHABLE, FD(0x08, 0, 2), 63, false, 148, 0,
	  "600b6913009c3a40fd0000000000000000000000000000fefd00000000000000000000000000000101032f64"
	  "00000000" },
	{ "v6 prohibit route", ICMPERR_ADMIN_PROHIBITED, FD(0x99, 0, 9), 64, false, 148, 0,
	  "600639b5009c3a40fd0000000000000000000000000000fefd00000000000000000000000000000101012ecd"
	  "00000000" },
	{ "v6 1400 over 1280", ICMPERR_TOO_BIG, FD(0x07, 0, 2), 64, false, 1400, 1280,
	  "6002fdd404d83a40fd0000000000000000000000000000fefd0000000000000000000000000000010200a012"
	  "00000500" },
	{ "v6 hop limit 1, 1500 bytes", ICMPERR_TIME_EXCEEDED, FD(0x07, 0, 2), 1, false, 1500, 0,
	  "6009b53b04d83a40fd0000000000000000000000000000fefd0000000000000000000000000000010300a389"
	  "00000000" },
};

static void test_linux_vectors(void)
{
	static uint8_t pkt[1500], out[2048];
	uint8_t head[48];
	int n;

	for (size_t i = 0; i < sizeof(v4_vecs) / sizeof(v4_vecs[0]); i++) {
		const struct linux_vec *v = &v4_vecs[i];
		size_t hl = ip4(pkt, IPPROTO_UDP, H4, v->dst, v->ttl, v->df ? 0x4000 : 0, 0,
				v->total - 20);

		udp(pkt + hl, v->total - 28);
		if (test_hex_fixed(v->head, head, 28))
			abort();
		n = build_exact(out, sizeof(out), pkt, v->total, v->kind, v->mtu, US4);
		CHECK(n == (int)get16(head + 2), "%s: length %d, Linux %u", v->name, n,
		      get16(head + 2));
		if (n != (int)get16(head + 2))
			continue;
		CHECK_MEM(out, head, 4, "%s: bytes 0-3 differ from Linux's", v->name);
		CHECK_MEM(out + 8, head + 8, 2, "%s: TTL/protocol differ from Linux's", v->name);
		CHECK_MEM(out + 12, head + 12, 16, "%s: addresses or ICMP header differ", v->name);
		CHECK_MEM(out + 28, pkt, (size_t)n - 28, "%s: quote", v->name);
		check_error(v->name, out, n, pkt, v->total, v->kind, v->mtu);
	}
	for (size_t i = 0; i < sizeof(v6_vecs) / sizeof(v6_vecs[0]); i++) {
		const struct linux_vec *v = &v6_vecs[i];

		ip6(pkt, IPPROTO_UDP, H6, v->dst, v->ttl, v->total - 40);
		udp(pkt + 40, v->total - 48);
		if (test_hex_fixed(v->head, head, 48))
			abort();
		n = build_exact(out, sizeof(out), pkt, v->total, v->kind, v->mtu, US6);
		CHECK(n == (int)get16(head + 4) + 40, "%s: length %d, Linux %u", v->name, n,
		      get16(head + 4) + 40);
		if (n != (int)get16(head + 4) + 40)
			continue;
		CHECK(out[0] == head[0] && (out[1] & 0xf0) == (head[1] & 0xf0),
		      "%s: version or traffic class differ from Linux's", v->name);
		CHECK_MEM(out + 4, head + 4, 44, "%s: bytes 4-47 differ from Linux's", v->name);
		CHECK_MEM(out + 48, pkt, (size_t)n - 48, "%s: quote", v->name);
		check_error(v->name, out, n, pkt, v->total, v->kind, v->mtu);
	}
}

/* ---- Every kind, both families ---- */

static void test_kinds(void)
{
	static uint8_t pkt[200], out[2048];
	char what[64];
	int n;

	for (int k = 0; k < NKINDS; k++) {
		snprintf(what, sizeof(what), "v4 %s", kind_name[k]);
		udp4(pkt, H4, D4, 0x4000, 100);
		n = build_exact(out, sizeof(out), pkt, 100, k, 1400, US4);
		check_error(what, out, n, pkt, 100, k, 1400);

		snprintf(what, sizeof(what), "v6 %s", kind_name[k]);
		udp6(pkt, H6, D6, 120);
		n = build_exact(out, sizeof(out), pkt, 120, k, 1400, US6);
		check_error(what, out, n, pkt, 120, k, 1400);
	}

	/* The MTU's place, byte by byte: IPv4 bytes 6-7 with 4-5 zero, IPv6 all of 4-7. */
	udp4(pkt, H4, D4, 0x4000, 100);
	n = build_exact(out, sizeof(out), pkt, 100, ICMPERR_TOO_BIG, 0xfffe, US4);
	CHECK(n == 128 && out[20] == 3 && out[21] == 4, "v4 too big: type/code");
	CHECK(out[24] == 0 && out[25] == 0 && out[26] == 0xff && out[27] == 0xfe,
	      "v4 too big: MTU bytes %02x %02x %02x %02x", out[24], out[25], out[26], out[27]);
	n = build_exact(out, sizeof(out), pkt, 100, ICMPERR_TOO_BIG, 68, US4);
	CHECK(n == 128 && out[26] == 0 && out[27] == 68, "v4 too big: MTU 68");
	udp6(pkt, H6, D6, 120);
	n = build_exact(out, sizeof(out), pkt, 120, ICMPERR_TOO_BIG, 0x01234567, US6);
	CHECK(n == 168 && out[40] == 2 && out[41] == 0, "v6 too big: type/code");
	CHECK(out[44] == 0x01 && out[45] == 0x23 && out[46] == 0x45 && out[47] == 0x67,
	      "v6 too big: MTU bytes %02x %02x %02x %02x", out[44], out[45], out[46], out[47]);
	check_error("v6 too big, 32-bit MTU", out, n, pkt, 120, ICMPERR_TOO_BIG, 0x01234567);

	/* The other kinds leave bytes 4-7 zero whatever mtu says. */
	n = build_exact(out, sizeof(out), pkt, 120, ICMPERR_TIME_EXCEEDED, 0xffffffff, US6);
	CHECK(n == 168 && get32(out + 44) == 0, "v6: mtu leaked into time exceeded");
	udp4(pkt, H4, D4, 0x4000, 100);
	n = build_exact(out, sizeof(out), pkt, 100, ICMPERR_NET_UNREACHABLE, 0xffffffff, US4);
	CHECK(n == 128 && get32(out + 24) == 0, "v4: mtu leaked into net unreachable");
}

/* ---- How much is quoted ---- */

static void test_quote_lengths(void)
{
	static const size_t sizes4[] = { 28, 29, 100, 547, 548, 549, 550, 1500, 9000, MAXPKT };
	static const size_t sizes6[] = { 48, 49, 100, 1231, 1232, 1233, 1234, 1500, 9000, MAXPKT };
	static uint8_t pkt[MAXPKT + 64], out[2048];
	char what[64];
	int n;

	for (size_t i = 0; i < sizeof(sizes4) / sizeof(sizes4[0]); i++) {
		size_t total = sizes4[i];

		snprintf(what, sizeof(what), "v4 quote of %zu", total);
		udp4(pkt, H4, D4, 0x4000, total);
		n = build_exact(out, sizeof(out), pkt, total, ICMPERR_TOO_BIG, 1280, US4);
		CHECK(n == (int)(total + 28 < 576 ? total + 28 : 576), "%s: %d bytes", what, n);
		check_error(what, out, n, pkt, total, ICMPERR_TOO_BIG, 1280);
	}
	for (size_t i = 0; i < sizeof(sizes6) / sizeof(sizes6[0]); i++) {
		size_t total = sizes6[i];

		snprintf(what, sizeof(what), "v6 quote of %zu", total);
		udp6(pkt, H6, D6, total);
		n = build_exact(out, sizeof(out), pkt, total, ICMPERR_TIME_EXCEEDED, 0, US6);
		CHECK(n == (int)(total + 48 < 1280 ? total + 48 : 1280), "%s: %d bytes", what, n);
		check_error(what, out, n, pkt, total, ICMPERR_TIME_EXCEEDED, 0);
	}

	/* Link padding after the IP length is not the packet's: never quoted. */
	udp4(pkt, H4, D4, 0, 61);
	memset(pkt + 61, 0x99, 40);
	n = build_exact(out, sizeof(out), pkt, 101, ICMPERR_TIME_EXCEEDED, 0, US4);
	check_error("v4 padded", out, n, pkt, 61, ICMPERR_TIME_EXCEEDED, 0);
	udp6(pkt, H6, D6, 77);
	memset(pkt + 77, 0x99, 40);
	n = build_exact(out, sizeof(out), pkt, 117, ICMPERR_TIME_EXCEEDED, 0, US6);
	check_error("v6 padded", out, n, pkt, 77, ICMPERR_TIME_EXCEEDED, 0);

	/* IPv4 options are part of what is quoted. */
	ip4(pkt, IPPROTO_UDP, H4, D4, 1, 0, 10, 40);
	udp(pkt + 60, 32);
	n = build_exact(out, sizeof(out), pkt, 100, ICMPERR_TIME_EXCEEDED, 0, US4);
	check_error("v4 with 40 bytes of options", out, n, pkt, 100, ICMPERR_TIME_EXCEEDED, 0);

	/* cap: exactly the error's length is enough, one byte less is not (and writes nothing). */
	udp4(pkt, H4, D4, 0x4000, 1500);
	memset(out, 0xee, sizeof(out));
	n = build_exact(out, 575, pkt, 1500, ICMPERR_TIME_EXCEEDED, 0, US4);
	CHECK(n == -EINVAL && out[0] == 0xee, "v4 cap 575: %d", n);
	n = build_exact(out, 576, pkt, 1500, ICMPERR_TIME_EXCEEDED, 0, US4);
	CHECK(n == 576, "v4 cap 576: %d", n);
	udp6(pkt, H6, D6, 100);
	memset(out, 0xee, sizeof(out));
	n = build_exact(out, 147, pkt, 100, ICMPERR_TIME_EXCEEDED, 0, US6);
	CHECK(n == -EINVAL && out[0] == 0xee, "v6 cap 147: %d", n);
	n = build_exact(out, 148, pkt, 100, ICMPERR_TIME_EXCEEDED, 0, US6);
	CHECK(n == 148, "v6 cap 148: %d", n);
	CHECK(build_exact(NULL, 0, pkt, 100, ICMPERR_TIME_EXCEEDED, 0, US6) == -EINVAL, "cap 0");
}

/* ---- Refusals ---- */

static void test_refusals4(void)
{
	static const uint8_t bad_src[][4] = {
		{ 0, 0, 0, 0 },       { 0, 1, 2, 3 },     { 127, 0, 0, 1 },       { 127, 255, 0, 9 },
		{ 224, 0, 0, 1 },     { 239, 9, 9, 9 },   { 240, 0, 0, 1 },       { 254, 1, 1, 1 },
		{ 255, 255, 255, 255 },
	};
	static const uint8_t ok_src[][4] = {
		{ 1, 0, 0, 0 },     { 126, 255, 255, 255 }, { 128, 0, 0, 1 }, { 223, 255, 255, 255 },
		{ 169, 254, 1, 1 }, { 10, 255, 255, 255 },
	};
	static const uint8_t bad_dst[][4] = {
		{ 224, 0, 0, 1 }, { 224, 0, 0, 251 }, { 239, 255, 255, 250 }, { 255, 255, 255, 255 },
	};
	static const uint8_t ok_dst[][4] = {
		{ 223, 255, 255, 255 }, { 240, 0, 0, 1 }, { 255, 255, 255, 254 }, { 10, 0, 0, 255 },
	};
	uint8_t pkt[200];
	char what[80];

	for (int k = 0; k < NKINDS; k++) {
		for (size_t i = 0; i < sizeof(bad_src) / 4; i++) {
			snprintf(what, sizeof(what), "v4 from %u.%u.%u.%u", bad_src[i][0],
				 bad_src[i][1], bad_src[i][2], bad_src[i][3]);
			check_refused(what, pkt, udp4(pkt, bad_src[i], D4, 0x4000, 100), k);
		}
		for (size_t i = 0; i < sizeof(ok_src) / 4; i++) {
			snprintf(what, sizeof(what), "v4 from %u.%u.%u.%u", ok_src[i][0],
				 ok_src[i][1], ok_src[i][2], ok_src[i][3]);
			check_allowed(what, pkt, udp4(pkt, ok_src[i], D4, 0x4000, 100), k);
		}
		for (size_t i = 0; i < sizeof(bad_dst) / 4; i++) {
			snprintf(what, sizeof(what), "v4 to %u.%u.%u.%u", bad_dst[i][0],
				 bad_dst[i][1], bad_dst[i][2], bad_dst[i][3]);
			check_refused(what, pkt, udp4(pkt, H4, bad_dst[i], 0x4000, 100), k);
		}
		for (size_t i = 0; i < sizeof(ok_dst) / 4; i++) {
			snprintf(what, sizeof(what), "v4 to %u.%u.%u.%u", ok_dst[i][0],
				 ok_dst[i][1], ok_dst[i][2], ok_dst[i][3]);
			check_allowed(what, pkt, udp4(pkt, H4, ok_dst[i], 0x4000, 100), k);
		}

		/* Fragments: the first (MF, offset 0) is answered, no later one (RFC 1812 4.3.2.7). */
		check_allowed("v4 first fragment", pkt, udp4(pkt, H4, D4, 0x6000, 100), k);
		check_refused("v4 fragment at 8", pkt, udp4(pkt, H4, D4, 0x2001, 100), k);
		check_refused("v4 last fragment", pkt, udp4(pkt, H4, D4, 0x0001, 100), k);
		check_refused("v4 fragment at 65528", pkt, udp4(pkt, H4, D4, 0x5fff, 100), k);
		for (unsigned int bit = 0; bit < 13; bit++) {
			snprintf(what, sizeof(what), "v4 fragment at %u", 8u << bit);
			check_refused(what, pkt, udp4(pkt, H4, D4, 0x4000 | 1u << bit, 100), k);
		}
		/* The reserved flag is no offset. */
		check_allowed("v4 evil bit", pkt, udp4(pkt, H4, D4, 0xc000, 100), k);
	}

	/* DF decides "too big" alone. */
	check_refused("v4 too big without DF", pkt, udp4(pkt, H4, D4, 0, 100), ICMPERR_TOO_BIG);
	check_refused("v4 too big, MF without DF", pkt, udp4(pkt, H4, D4, 0x2000, 100),
		      ICMPERR_TOO_BIG);
	for (int k = 0; k < ICMPERR_TOO_BIG; k++)
		check_allowed("v4 without DF", pkt, udp4(pkt, H4, D4, 0, 100), k);

	/* ICMP: queries are answered, every other type (Linux's icmp_pointers[].error) is not. */
	for (unsigned int type = 0; type < 256; type++) {
		bool query = type == 0 || type == 8 || (type >= 13 && type <= 18);
		size_t hl = ip4(pkt, IPPROTO_ICMP, H4, D4, 1, 0x4000, 0, 36);

		icmp(pkt + hl, (uint8_t)type, 0);
		snprintf(what, sizeof(what), "v4 ICMP type %u", type);
		for (int k = 0; k < NKINDS; k++) {
			if (query)
				check_allowed(what, pkt, 56, k);
			else
				check_refused(what, pkt, 56, k);
		}
	}
	/* An ICMP packet that ends with its IP header has no type to read: Linux refuses it. */
	ip4(pkt, IPPROTO_ICMP, H4, D4, 1, 0x4000, 0, 0);
	check_refused("v4 ICMP without a header", pkt, 20, ICMPERR_TIME_EXCEEDED);
	ip4(pkt, IPPROTO_ICMP, H4, D4, 1, 0x4000, 0, 1);
	pkt[20] = 8;
	check_allowed("v4 ICMP echo of 1 byte", pkt, 21, ICMPERR_TIME_EXCEEDED);
	/* ... but a later fragment of ICMP is refused as a fragment, whatever its first bytes. */
	ip4(pkt, IPPROTO_ICMP, H4, D4, 1, 0x0003, 0, 36);
	pkt[20] = 8;
	check_refused("v4 ICMP later fragment", pkt, 56, ICMPERR_TIME_EXCEEDED);
	/* ICMP over another protocol number is no ICMP. */
	ip4(pkt, IPPROTO_ICMPV6, H4, D4, 1, 0, 0, 36);
	pkt[20] = 3;
	check_allowed("v4 protocol 58 type 3", pkt, 56, ICMPERR_TIME_EXCEEDED);
}

static void test_refusals6(void)
{
	static const uint8_t bad_src[][16] = {
		{ 0 }, { [15] = 1 }, { 0xff, 0x02, [15] = 1 }, { 0xff, 0x0e, [15] = 0x42 },
		{ 0xff, 0xff, [15] = 0xff },
	};
	static const uint8_t ok_src[][16] = {
		{ [15] = 2 }, { 0xfe, 0x80, [15] = 1 }, { 0xfe, 0xff, [15] = 1 },
		{ [10] = 0xff, [11] = 0xff, [12] = 10, [15] = 1 }, { 0x20, 0x01, 0x0d, 0xb8 },
	};
	static const uint8_t mcast_dst[][16] = {
		{ 0xff, 0x02, [15] = 1 }, { 0xff, 0x05, [15] = 2 }, { 0xff, 0x0e, [15] = 9 },
	};
	uint8_t pkt[400];
	char what[80];

	for (int k = 0; k < NKINDS; k++) {
		for (size_t i = 0; i < sizeof(bad_src) / 16; i++) {
			snprintf(what, sizeof(what), "v6 bad source %zu", i);
			check_refused(what, pkt, udp6(pkt, bad_src[i], D6, 100), k);
		}
		for (size_t i = 0; i < sizeof(ok_src) / 16; i++) {
			snprintf(what, sizeof(what), "v6 good source %zu", i);
			check_allowed(what, pkt, udp6(pkt, ok_src[i], D6, 100), k);
		}
		/* Multicast destinations: only "too big" (RFC 4443 2.4 (e.3)). */
		for (size_t i = 0; i < sizeof(mcast_dst) / 16; i++) {
			snprintf(what, sizeof(what), "v6 to multicast %zu", i);
			if (k == ICMPERR_TOO_BIG)
				check_allowed(what, pkt, udp6(pkt, H6, mcast_dst[i], 100), k);
			else
				check_refused(what, pkt, udp6(pkt, H6, mcast_dst[i], 100), k);
		}
		/* Never from a multicast source, even "too big" to a multicast group. */
		check_refused("v6 multicast to multicast", pkt,
			      udp6(pkt, bad_src[2], mcast_dst[0], 100), k);
	}

	/* ICMPv6: types 0-127 are errors (RFC 4443 2.1), 128-255 informational. */
	for (unsigned int type = 0; type < 256; type++) {
		ip6(pkt, IPPROTO_ICMPV6, H6, D6, 1, 16);
		icmp(pkt + 40, (uint8_t)type, 0);
		memset(pkt + 48, 0x33, 8);
		snprintf(what, sizeof(what), "v6 ICMPv6 type %u", type);
		for (int k = 0; k < NKINDS; k++) {
			if (type >= 128)
				check_allowed(what, pkt, 56, k);
			else
				check_refused(what, pkt, 56, k);
		}
	}
	/* No ICMPv6 header at all: Linux cannot tell, and refuses (unless a fragment; below). */
	ip6(pkt, IPPROTO_ICMPV6, H6, D6, 1, 0);
	check_refused("v6 ICMPv6 without a header", pkt, 40, ICMPERR_TIME_EXCEEDED);
	ip6(pkt, IPPROTO_ICMPV6, H6, D6, 1, 1);
	pkt[40] = 128;
	check_allowed("v6 ICMPv6 echo of 1 byte", pkt, 41, ICMPERR_TIME_EXCEEDED);
	/* ICMP (1) over IPv6 is no ICMPv6. */
	ip6(pkt, IPPROTO_ICMP, H6, D6, 1, 8);
	icmp(pkt + 40, 3, 0);
	check_allowed("v6 protocol 1 type 3", pkt, 48, ICMPERR_TIME_EXCEEDED);
}

/*
 * The extension-header walk, case by case against Linux's is_ineligible and ipv6_skip_exthdr
 * (net/ipv6/icmp.c, net/ipv6/exthdrs_core.c): refused means an ICMPv6 error was found.
 */
static void test_exthdr_walk(void)
{
	uint8_t pkt[600];
	size_t o;

#define START(nh) (o = ip6(pkt, (nh), H6, D6, 1, 0))
#define DONE() put16(pkt + 4, (unsigned int)(o - 40))

	/* Hop-by-hop, then an ICMPv6 error / echo. */
	START(IPPROTO_HOPOPTS);
	o += ext6(pkt + o, IPPROTO_ICMPV6, 0);
	o += icmp(pkt + o, 1, 4);
	DONE();
	check_refused("v6 hbh, ICMPv6 error", pkt, o, ICMPERR_TIME_EXCEEDED);
	pkt[48] = 128;
	check_allowed("v6 hbh, ICMPv6 echo", pkt, o, ICMPERR_TIME_EXCEEDED);

	/* A long chain: hbh, dstopts, routing, AH, dstopts, then the error. */
	START(IPPROTO_HOPOPTS);
	o += ext6(pkt + o, IPPROTO_DSTOPTS, 1);
	o += ext6(pkt + o, IPPROTO_ROUTING, 3);
	o += ext6(pkt + o, IPPROTO_AH, 0);
	o += ah6(pkt + o, IPPROTO_DSTOPTS, 6);
	o += ext6(pkt + o, IPPROTO_ICMPV6, 2);
	o += icmp(pkt + o, 3, 0);
	DONE();
	check_refused("v6 five headers, ICMPv6 error", pkt, o, ICMPERR_HOST_UNREACHABLE);
	pkt[o - 8] = 129;
	check_allowed("v6 five headers, ICMPv6 reply", pkt, o, ICMPERR_HOST_UNREACHABLE);

	/* Linux does not insist that hop-by-hop comes first: it walks whatever it finds. */
	START(IPPROTO_DSTOPTS);
	o += ext6(pkt + o, IPPROTO_HOPOPTS, 0);
	o += ext6(pkt + o, IPPROTO_ICMPV6, 0);
	o += icmp(pkt + o, 2, 0);
	DONE();
	check_refused("v6 misplaced hbh, ICMPv6 error", pkt, o, ICMPERR_TIME_EXCEEDED);

	/* A first fragment (offset 0, M) is walked through. */
	START(IPPROTO_FRAGMENT);
	o += frag6(pkt + o, IPPROTO_ICMPV6, 0, true);
	o += icmp(pkt + o, 4, 0);
	DONE();
	check_refused("v6 first fragment of an ICMPv6 error", pkt, o, ICMPERR_TIME_EXCEEDED);
	pkt[48] = 128;
	check_allowed("v6 first fragment of an echo", pkt, o, ICMPERR_TIME_EXCEEDED);
	/* An atomic fragment too. */
	START(IPPROTO_FRAGMENT);
	o += frag6(pkt + o, IPPROTO_ICMPV6, 0, false);
	o += icmp(pkt + o, 1, 0);
	DONE();
	check_refused("v6 atomic fragment of an ICMPv6 error", pkt, o, ICMPERR_TIME_EXCEEDED);

	/*
	 * A later fragment stops the walk at the fragment header, so its next header is never read
	 * as the upper layer: Linux answers later fragments of ICMPv6 errors (and of anything), even
	 * when the payload's first byte looks like an error type.
	 */
	START(IPPROTO_FRAGMENT);
	o += frag6(pkt + o, IPPROTO_ICMPV6, 185, true);
	o += icmp(pkt + o, 1, 0);
	DONE();
	for (int k = 0; k < NKINDS; k++)
		check_allowed("v6 later fragment of ICMPv6", pkt, o, k);
	START(IPPROTO_HOPOPTS);
	o += ext6(pkt + o, IPPROTO_FRAGMENT, 0);
	o += frag6(pkt + o, IPPROTO_ICMPV6, 1, false);
	o += icmp(pkt + o, 3, 0);
	DONE();
	check_allowed("v6 hbh, last fragment of ICMPv6", pkt, o, ICMPERR_TIME_EXCEEDED);

	/*
	 * A first fragment that ends before the ICMPv6 type (its upper-layer header is in a later
	 * fragment, which RFC 8200 4.5 forbids): Linux cannot tell and answers it, because the
	 * fragment field it saw is nonzero. An unfragmented packet cut the same way is refused.
	 */
	START(IPPROTO_FRAGMENT);
	o += frag6(pkt + o, IPPROTO_ICMPV6, 0, true);
	DONE();
	check_allowed("v6 first fragment without its ICMPv6 header", pkt, o, ICMPERR_TIME_EXCEEDED);
	START(IPPROTO_HOPOPTS);
	o += ext6(pkt + o, IPPROTO_ICMPV6, 0);
	DONE();
	check_refused("v6 hbh without the ICMPv6 header", pkt, o, ICMPERR_TIME_EXCEEDED);
	/* The fragment header before the hop-by-hop one still counts (Linux keeps the last seen). */
	START(IPPROTO_FRAGMENT);
	o += frag6(pkt + o, IPPROTO_DSTOPTS, 0, true);
	o += ext6(pkt + o, IPPROTO_ICMPV6, 0);
	DONE();
	check_allowed("v6 first fragment, dstopts, no ICMPv6 header", pkt, o,
		      ICMPERR_TIME_EXCEEDED);

	/*
	 * Chains Linux cannot follow are no ICMPv6 errors: answered. A header longer than the
	 * packet is skipped all the same (ipv6_skip_exthdr checks only what it reads): what comes
	 * next decides. An extension header there cannot be read, so the packet is answered; an
	 * ICMPv6 header there has no type to read, so it is not.
	 */
	START(IPPROTO_HOPOPTS);
	o += ext6(pkt + o, IPPROTO_DSTOPTS, 0);
	o += ext6(pkt + o, IPPROTO_ICMPV6, 0);
	o += icmp(pkt + o, 1, 0);
	pkt[41] = 10; /* claims 88 bytes, 24 there */
	DONE();
	check_allowed("v6 hbh longer than the packet, then dstopts", pkt, o, ICMPERR_TIME_EXCEEDED);
	pkt[40] = IPPROTO_ICMPV6;
	check_refused("v6 hbh longer than the packet, then ICMPv6", pkt, o, ICMPERR_TIME_EXCEEDED);
	START(IPPROTO_HOPOPTS);
	o += ext6(pkt + o, IPPROTO_NONE, 0);
	o += icmp(pkt + o, 1, 0);
	DONE();
	check_allowed("v6 hbh, no next header", pkt, o, ICMPERR_TIME_EXCEEDED);
	START(50); /* ESP: an upper layer to Linux's walk */
	o += icmp(pkt + o, 1, 0);
	DONE();
	check_allowed("v6 ESP", pkt, o, ICMPERR_TIME_EXCEEDED);
	START(IPPROTO_FRAGMENT);
	pkt[o++] = IPPROTO_ICMPV6;
	pkt[o++] = 0;
	pkt[o++] = 0; /* the fragment field cut in half */
	DONE();
	check_allowed("v6 fragment header cut short", pkt, o, ICMPERR_TIME_EXCEEDED);

	/* The longest chain a packet can hold: each header 8 bytes, the error at the very end. */
	{
		static uint8_t big[MAXPKT];
		size_t n;

		ip6(big, IPPROTO_DSTOPTS, H6, D6, 1, 0);
		for (n = 40; n + 16 <= MAXPKT - 8; n += 8)
			ext6(big + n, IPPROTO_DSTOPTS, 0);
		n += ext6(big + n, IPPROTO_ICMPV6, 0);
		n += icmp(big + n, 1, 0);
		put16(big + 4, (unsigned int)(n - 40));
		check_refused("v6 8000 dstopts, ICMPv6 error", big, n, ICMPERR_TIME_EXCEEDED);
		big[n - 8] = 128;
		check_allowed("v6 8000 dstopts, echo", big, n, ICMPERR_TIME_EXCEEDED);
	}
#undef START
#undef DONE
}

/* ---- Malformed packets and bad arguments ---- */

static void check_malformed(const char *what, const uint8_t *pkt, size_t len)
{
	uint8_t out[1400];
	const uint8_t *src = len && pkt[0] >> 4 == 6 ? US6 : US4;

	for (int k = 0; k < NKINDS; k++) {
		int ret;

		memset(out, 0xee, sizeof(out));
		CHECK(!allowed_exact(pkt, len, k), "%s (%s): allowed", what, kind_name[k]);
		ret = build_exact(out, sizeof(out), pkt, len, k, 1280, src);
		CHECK(ret == -EINVAL, "%s (%s): build %d", what, kind_name[k], ret);
		CHECK(out[0] == 0xee, "%s: wrote", what);
	}
}

static void test_malformed(void)
{
	uint8_t pkt[200] = { 0 }, out[1400];
	int n;

	check_malformed("empty", pkt, 0);
	udp4(pkt, H4, D4, 0x4000, 100);
	check_malformed("v4 19 bytes", pkt, 19);
	pkt[0] = 0x55;
	check_malformed("version 5", pkt, 100);
	pkt[0] = 0x05;
	check_malformed("version 0", pkt, 100);
	pkt[0] = 0x44;
	check_malformed("v4 IHL 4", pkt, 100);
	pkt[0] = 0x40;
	check_malformed("v4 IHL 0", pkt, 100);
	pkt[0] = 0x4f;
	check_malformed("v4 IHL 15, total 100 but only 50 bytes", pkt, 50);
	udp4(pkt, H4, D4, 0x4000, 100);
	put16(pkt + 2, 101);
	check_malformed("v4 total 101 of 100", pkt, 100);
	put16(pkt + 2, 19);
	check_malformed("v4 total 19", pkt, 100);
	put16(pkt + 2, 0);
	check_malformed("v4 total 0", pkt, 100);
	pkt[0] = 0x46;
	put16(pkt + 2, 23);
	check_malformed("v4 total shorter than its IHL", pkt, 100);

	udp6(pkt, H6, D6, 100);
	check_malformed("v6 39 bytes", pkt, 39);
	put16(pkt + 4, 61);
	check_malformed("v6 payload 61 of 60", pkt, 100);
	put16(pkt + 4, 0xffff);
	check_malformed("v6 payload 65535 of 60", pkt, 100);
	udp6(pkt, H6, D6, 100);
	pkt[0] = 0x40;
	check_malformed("v6 packet marked 4 (IHL 0)", pkt, 100);
	udp4(pkt, H4, D4, 0x4000, 100);
	pkt[0] = 0x65;
	check_malformed("v4 packet marked 6 (payload too long)", pkt, 100);

	/* Unknown kinds. */
	udp4(pkt, H4, D4, 0x4000, 100);
	CHECK(!icmperr_allowed(pkt, 100, (enum icmperr_kind)5), "kind 5 allowed");
	CHECK(!icmperr_allowed(pkt, 100, (enum icmperr_kind)-1), "kind -1 allowed");
	CHECK(icmperr_build(out, sizeof(out), pkt, 100, (enum icmperr_kind)5, 1280, US4) == -EINVAL,
	      "kind 5 built");

	/* MTUs out of range: IPv4 68..65535, IPv6 1280 up. */
	n = icmperr_build(out, sizeof(out), pkt, 100, ICMPERR_TOO_BIG, 67, US4);
	CHECK(n == -EINVAL, "v4 MTU 67: %d", n);
	n = icmperr_build(out, sizeof(out), pkt, 100, ICMPERR_TOO_BIG, 65536, US4);
	CHECK(n == -EINVAL, "v4 MTU 65536: %d", n);
	n = icmperr_build(out, sizeof(out), pkt, 100, ICMPERR_TOO_BIG, 65535, US4);
	CHECK(n == 128, "v4 MTU 65535: %d", n);
	/* ... and checked before the refusal rules, so a caller's bug shows every time. */
	udp4(pkt, H4, D4, 0, 100);
	n = icmperr_build(out, sizeof(out), pkt, 100, ICMPERR_TOO_BIG, 0, US4);
	CHECK(n == -EINVAL, "v4 MTU 0 without DF: %d", n);
	udp6(pkt, H6, D6, 100);
	n = icmperr_build(out, sizeof(out), pkt, 100, ICMPERR_TOO_BIG, 1279, US6);
	CHECK(n == -EINVAL, "v6 MTU 1279: %d", n);
	n = icmperr_build(out, sizeof(out), pkt, 100, ICMPERR_TOO_BIG, 1280, US6);
	CHECK(n == 148, "v6 MTU 1280: %d", n);
	n = icmperr_build(out, sizeof(out), pkt, 100, ICMPERR_TIME_EXCEEDED, 0, US6);
	CHECK(n == 148, "v6 MTU ignored unless too big: %d", n);
}

/* ---- Every cut ---- */

/*
 * Every cut pkt[0..n) of a packet of len bytes, in a buffer of exactly n bytes: malformed while
 * the IP length still says len. With the IP length set to n: malformed below min_ok; from there
 * refused for n in [refuse_lo, refuse_hi), else an error quoting exactly those n bytes.
 */
struct cut_case {
	const char *what;
	size_t min_ok, refuse_lo, refuse_hi;
};

static void check_cuts(const struct cut_case *c, const uint8_t *pkt, size_t len)
{
	static uint8_t buf[2048], out[2048];
	const uint8_t *src = pkt[0] >> 4 == 4 ? US4 : US6;
	unsigned int bad = 0;

	for (size_t n = 0; n <= len; n++) {
		int want, ret;

		if (n < len) {
			ret = build_exact(out, sizeof(out), pkt, n, ICMPERR_TIME_EXCEEDED, 0, src);
			bad += ret != -EINVAL;
			bad += allowed_exact(pkt, n, ICMPERR_TIME_EXCEEDED);
		}

		memcpy(buf, pkt, len);
		if (pkt[0] >> 4 == 4 && n >= 4)
			put16(buf + 2, (unsigned int)n);
		if (pkt[0] >> 4 == 6 && n >= 6)
			put16(buf + 4, n >= 40 ? (unsigned int)(n - 40) : 0);
		if (n < c->min_ok)
			want = -EINVAL;
		else if (n >= c->refuse_lo && n < c->refuse_hi)
			want = 0;
		else
			want = pkt[0] >> 4 == 4 ? (int)min_size(28 + n, 576) : (int)min_size(48 + n, 1280);
		ret = build_exact(out, sizeof(out), buf, n, ICMPERR_TIME_EXCEEDED, 0, src);
		if (ret != want) {
			bad++;
			if (bad < 5)
				fprintf(stderr, "%s: cut at %zu: %d, want %d\n", c->what, n, ret,
					want);
		}
		bad += allowed_exact(buf, n, ICMPERR_TIME_EXCEEDED) != (want > 0);
		if (ret > 0)
			check_error(c->what, out, ret, buf, n, ICMPERR_TIME_EXCEEDED, 0);
	}
	CHECK(bad == 0, "%s: %u of %zu cuts wrong", c->what, bad, 2 * (len + 1));
}

static void test_cuts(void)
{
	uint8_t pkt[600];
	size_t o;

	/* UDP over IPv4 with 8 bytes of options. */
	o = ip4(pkt, IPPROTO_UDP, H4, D4, 1, 0x4000, 2, 40);
	o += udp(pkt + o, 32);
	check_cuts(&(struct cut_case){ "v4 UDP with options", 28, 0, 0 }, pkt, o);

	/* ICMP echo over IPv4: refused only when its type byte is missing. */
	o = ip4(pkt, IPPROTO_ICMP, H4, D4, 1, 0, 0, 24);
	o += icmp(pkt + o, 8, 0);
	memset(pkt + o, 0x61, 16);
	o += 16;
	check_cuts(&(struct cut_case){ "v4 ICMP echo", 20, 20, 21 }, pkt, o);

	/* An ICMP error over IPv4: refused from its header on. */
	o = ip4(pkt, IPPROTO_ICMP, H4, D4, 1, 0, 0, 36);
	o += icmp(pkt + o, 3, 3);
	o += udp4(pkt + o, D4, H4, 0, 28);
	check_cuts(&(struct cut_case){ "v4 ICMP error", 20, 20, SIZE_MAX }, pkt, o);

	/* A later IPv4 fragment: refused from the header on. */
	udp4(pkt, H4, D4, 0x0010, 60);
	check_cuts(&(struct cut_case){ "v4 later fragment", 20, 20, SIZE_MAX }, pkt, 60);

	/* UDP over IPv6 behind hop-by-hop and destination options: always answered. */
	o = ip6(pkt, IPPROTO_HOPOPTS, H6, D6, 1, 0);
	o += ext6(pkt + o, IPPROTO_DSTOPTS, 0);
	o += ext6(pkt + o, IPPROTO_UDP, 1);
	o += udp(pkt + o, 20);
	put16(pkt + 4, (unsigned int)(o - 40));
	check_cuts(&(struct cut_case){ "v6 hbh dstopts UDP", 40, 0, 0 }, pkt, o);

	/*
	 * An ICMPv6 error behind hop-by-hop: answered while Linux cannot read the hop-by-hop
	 * header's first two bytes, refused once it can (the ICMPv6 header is then missing or an
	 * error's).
	 */
	o = ip6(pkt, IPPROTO_HOPOPTS, H6, D6, 1, 0);
	o += ext6(pkt + o, IPPROTO_ICMPV6, 0);
	o += icmp(pkt + o, 1, 0);
	o += udp6(pkt + o, D6, H6, 48);
	put16(pkt + 4, (unsigned int)(o - 40));
	check_cuts(&(struct cut_case){ "v6 hbh ICMPv6 error", 40, 42, SIZE_MAX }, pkt, o);

	/* The first fragment of an ICMPv6 error: refused only once the type byte is there. */
	o = ip6(pkt, IPPROTO_FRAGMENT, H6, D6, 1, 0);
	o += frag6(pkt + o, IPPROTO_ICMPV6, 0, true);
	o += icmp(pkt + o, 2, 0);
	memset(pkt + o, 0x61, 24);
	o += 24;
	put16(pkt + 4, (unsigned int)(o - 40));
	check_cuts(&(struct cut_case){ "v6 first fragment of an error", 40, 49, SIZE_MAX }, pkt, o);

	/* A bigger packet, so that cuts past the quote limit are covered too. */
	udp4(pkt, H4, D4, 0x4000, 600);
	check_cuts(&(struct cut_case){ "v4 UDP of 600", 20, 0, 0 }, pkt, 600);
}

/* ---- Built in place ---- */

static void check_in_place(const char *what, const uint8_t *pkt, size_t len, enum icmperr_kind kind)
{
	static uint8_t want[2048], buf[4096];
	const size_t head = pkt[0] >> 4 == 4 ? 28 : 48;
	const uint8_t *src = pkt[0] >> 4 == 4 ? US4 : US6;
	int n = icmperr_build(want, sizeof(want), pkt, len, kind, 1280, src);
	int m;

	CHECK(n > 0, "%s: %d", what, n);
	if (n <= 0)
		return;
	/* In the headroom, right in front of the packet. */
	memcpy(buf + head, pkt, len);
	m = icmperr_build(buf, sizeof(buf), buf + head, len, kind, 1280, src);
	CHECK(m == n && memcmp(buf, want, (size_t)n) == 0, "%s: in the headroom", what);
	/* Over the packet itself. */
	memcpy(buf, pkt, len);
	m = icmperr_build(buf, sizeof(buf), buf, len, kind, 1280, src);
	CHECK(m == n && memcmp(buf, want, (size_t)n) == 0, "%s: over the packet", what);
	/* Behind it, overlapping its end; and with src where the IP header will go. */
	memcpy(buf + 300, pkt, len);
	m = icmperr_build(buf + 310, sizeof(buf) - 310, buf + 300, len, kind, 1280, src);
	CHECK(m == n && memcmp(buf + 310, want, (size_t)n) == 0, "%s: behind the packet", what);
	memcpy(buf + head, pkt, len);
	memcpy(buf, src, head == 28 ? 4 : 16);
	m = icmperr_build(buf, sizeof(buf), buf + head, len, kind, 1280, buf);
	CHECK(m == n && memcmp(buf, want, (size_t)n) == 0, "%s: src where the header goes", what);
	/* src inside the packet, where the quote is moved over it (from the packet's own bytes). */
	{
		uint8_t own_src[16];

		memcpy(own_src, pkt + 40, 16);
		n = icmperr_build(want, sizeof(want), pkt, len, kind, 1280, own_src);
		memcpy(buf, pkt, len);
		m = icmperr_build(buf, sizeof(buf), buf, len, kind, 1280, buf + 40);
		CHECK(n > 0 && m == n && memcmp(buf, want, (size_t)n) == 0,
		      "%s: src under the quote", what);
	}
}

static void test_in_place(void)
{
	static uint8_t pkt[2048];

	udp4(pkt, H4, D4, 0x4000, 100);
	check_in_place("v4 100", pkt, 100, ICMPERR_TOO_BIG);
	udp4(pkt, H4, D4, 0x4000, 1500);
	check_in_place("v4 1500", pkt, 1500, ICMPERR_TIME_EXCEEDED);
	udp6(pkt, H6, D6, 101);
	check_in_place("v6 101", pkt, 101, ICMPERR_ADMIN_PROHIBITED);
	udp6(pkt, H6, D6, 1500);
	check_in_place("v6 1500", pkt, 1500, ICMPERR_TOO_BIG);
}

/* ---- Random bytes ---- */

static void test_random(uint64_t seed, unsigned long rounds)
{
	static uint8_t pkt[300], out[2048];
	struct test_rng r;
	unsigned long built = 0, bad = 0;

	printf("icmperr random: seed %#llx\n", (unsigned long long)seed);
	test_rng_seed(&r, seed);
	for (unsigned long i = 0; i < rounds; i++) {
		uint64_t x = test_rng_next(&r);
		size_t len = x % sizeof(pkt), own;
		enum icmperr_kind kind = (enum icmperr_kind)((x >> 16) % NKINDS);
		bool v4 = x >> 24 & 1, allowed;
		int n;

		test_rng_bytes(&r, pkt, len);
		if (len && (x >> 25 & 3)) { /* mostly plausible headers, to reach the rules */
			pkt[0] = v4 ? (uint8_t)(0x45 + (x >> 27 & 1)) : 0x60;
			if (v4 && len >= 4)
				put16(pkt + 2, (unsigned int)(len - (x >> 28 & 7)));
			if (!v4 && len >= 6)
				put16(pkt + 4, (unsigned int)(len >= 40 ? len - 40 - (x >> 28 & 7) : 0));
			if (len > 12 && (x >> 31 & 1))
				pkt[v4 ? 12 : 8] = 10;
			if (len > 24 && (x >> 32 & 1))
				pkt[v4 ? 16 : 24] = 10;
		}
		allowed = allowed_exact(pkt, len, kind);
		/* src's size follows the packet's version, whatever was meant. */
		n = build_exact(out, sizeof(out), pkt, len, kind, 1280,
				len && pkt[0] >> 4 == 4 ? US4 : US6);
		bad += allowed != (n > 0);
		if (n > 0) {
			built++;
			own = pkt[0] >> 4 == 4 ? get16(pkt + 2) : 40 + (size_t)get16(pkt + 4);
			check_error("random", out, n, pkt, own, kind, 1280);
		}
	}
	printf("icmperr random: %lu of %lu built\n", built, rounds);
	CHECK(bad == 0, "random: allowed and build disagree %lu times", bad);
	CHECK(built > rounds / 20, "random: only %lu built of %lu", built, rounds);
}

/* ---- The token bucket ---- */

#define MS 1000000ULL
#define SEC 1000000000ULL

static unsigned int take(struct icmperr_limit *l, uint64_t now, unsigned int tries)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < tries; i++)
		n += icmperr_limit_allow(l, now);
	return n;
}

static void test_limit(void)
{
	struct icmperr_limit l;
	uint64_t t0 = 5 * SEC;
	unsigned int n;

	/* Linux's defaults: a burst of 50, then 1000 a second. */
	icmperr_limit_init(&l, 1000, 50);
	CHECK(take(&l, t0, 60) == 50, "burst of 50");
	CHECK(take(&l, t0 + MS - 1, 5) == 0, "a token before 1 ms");
	CHECK(take(&l, t0 + MS, 5) == 1, "one token at 1 ms");
	CHECK(take(&l, t0 + MS + MS / 2, 5) == 0, "half a token");
	CHECK(take(&l, t0 + 2 * MS, 5) == 1, "the other half");
	n = 0;
	for (uint64_t k = 1; k <= 100000; k++) /* asked every 10 us for a second */
		n += icmperr_limit_allow(&l, t0 + 2 * MS + k * 10000);
	CHECK(n == 1000, "steady rate: %u in a second, want 1000", n);

	/* A long pause refills to the burst and no more, however long. */
	t0 += 2 * SEC;
	CHECK(take(&l, t0, 100) == 50, "refilled to 50 after a pause");
	CHECK(take(&l, t0 + UINT64_MAX / 2, 100) == 50, "50 after 292 years");
	CHECK(take(&l, UINT64_MAX, 100) == 50, "50 at the end of time");
	CHECK(take(&l, UINT64_MAX, 100) == 0, "nothing more at the end of time");

	/* Time going backwards earns nothing, and does not restart the clock either. */
	icmperr_limit_init(&l, 1000, 50);
	CHECK(take(&l, 10 * SEC, 60) == 50, "drained at 10 s");
	CHECK(take(&l, 5 * SEC, 10) == 0, "back to 5 s: nothing");
	CHECK(take(&l, 0, 10) == 0, "back to 0: nothing");
	CHECK(take(&l, 10 * SEC + MS, 10) == 1, "10 s + 1 ms: one token, not 5 s worth");
	CHECK(take(&l, 10 * SEC + MS, 10) == 0, "same instant: nothing more");

	/* Extremes. */
	icmperr_limit_init(&l, 0, 3);
	CHECK(take(&l, 1, 10) == 3, "per_sec 0: the burst");
	CHECK(take(&l, UINT64_MAX, 10) == 0, "per_sec 0: nothing after");
	icmperr_limit_init(&l, 1000, 0);
	CHECK(take(&l, 0, 10) == 0 && take(&l, UINT64_MAX, 10) == 0, "burst 0: nothing");
	icmperr_limit_init(&l, UINT32_MAX, UINT32_MAX);
	CHECK(take(&l, 0, 1000) == 1000, "huge bucket");
	CHECK(icmperr_limit_allow(&l, UINT64_MAX) && l.units == l.max - SEC,
	      "huge bucket refilled exactly to its burst at the end of time");
	CHECK(l.max == (uint64_t)UINT32_MAX * SEC, "huge bucket size");
	icmperr_limit_init(&l, 3, 1); /* a rate that is no whole number of nanoseconds */
	CHECK(take(&l, 0, 5) == 1, "rate 3: burst 1");
	CHECK(take(&l, 333333333, 5) == 0, "rate 3: not at 333333333 ns");
	CHECK(take(&l, 333333334, 5) == 1, "rate 3: at 333333334 ns");
	CHECK(take(&l, 1000000000, 5) == 1, "rate 3: at 1 s");
	CHECK(take(&l, 1000000000 + 999999999999ULL, 5) == 1, "rate 3: burst 1 after 1000 s");
}

/* The bucket against a model in 128-bit arithmetic, on random steps in both directions. */
static void test_limit_model(uint64_t seed, unsigned long steps)
{
	static const uint32_t rates[] = { 0, 1, 3, 7, 1000, 1000000, 999999937, UINT32_MAX };
	static const uint32_t bursts[] = { 0, 1, 2, 50, 1000, UINT32_MAX };
	struct test_rng r;
	unsigned long bad = 0, allowed = 0;

	printf("icmperr limit model: seed %#llx\n", (unsigned long long)seed);
	test_rng_seed(&r, seed);
	for (size_t ri = 0; ri < sizeof(rates) / sizeof(rates[0]); ri++) {
		for (size_t bi = 0; bi < sizeof(bursts) / sizeof(bursts[0]); bi++) {
			struct icmperr_limit l;
			unsigned __int128 units, max = (unsigned __int128)bursts[bi] * SEC;
			uint64_t now = 0, last = 0;

			icmperr_limit_init(&l, rates[ri], bursts[bi]);
			units = max;
			for (unsigned long s = 0; s < steps; s++) {
				uint64_t x = test_rng_next(&r);
				bool want, got;

				uint64_t step;

				switch (x & 7) {
				case 0: /* back, to 0 at most */
					now -= now == UINT64_MAX ? x >> 8 : (x >> 8) % (now + 1);
					break;
				case 1: /* a long gap */
					step = x >> 8;
					now = now > UINT64_MAX - step ? UINT64_MAX : now + step;
					break;
				case 2: /* the same instant */
					break;
				default: /* a little later, about a token's worth */
					step = (x >> 8) % (2 * SEC / ((uint64_t)rates[ri] + 1) + 2);
					now = now > UINT64_MAX - step ? UINT64_MAX : now + step;
				}
				if (now > last) {
					units += (unsigned __int128)(now - last) * rates[ri];
					if (units > max)
						units = max;
					last = now;
				}
				want = units >= SEC;
				if (want)
					units -= SEC;
				got = icmperr_limit_allow(&l, now);
				allowed += got;
				bad += got != want || l.units != (uint64_t)units;
			}
		}
	}
	CHECK(bad == 0, "limit model: %lu steps differ", bad);
	CHECK(allowed > steps, "limit model: only %lu allowed", allowed);
}

int main(void)
{
	test_linux_vectors();
	test_kinds();
	test_quote_lengths();
	test_refusals4();
	test_refusals6();
	test_exthdr_walk();
	test_malformed();
	test_cuts();
	test_in_place();
	test_random(0x1c3e77, 200000);
	test_limit();
	test_limit_model(0x1b0c4e7, 20000);
	return test_done("icmperr");
}
