/* SPDX-License-Identifier: MIT */
/*
 * The router's per-packet duties (router.h), against checksums computed in full here, the plain
 * RFC 1071 way, never incrementally.
 *
 * TTL: a table of edge cases (TTL 0, 1, 2, 255; checksums 0x0000, 0xfeff, 0xff00, 0xfffe, and the
 * 0xffff a correct header never has); every checksum value an IPv4 header can have; a million
 * random headers with options; the IPv6 hop limit.
 *
 * MSS: hand-made SYNs of both families (IPv6 through extension headers) with the MSS above, at and
 * below the clamp, option lists in the orders real stacks send and in odd ones (the MSS at an odd
 * offset, twice, after EOL, around malformed options), segments that are not SYNs, fragments, and
 * cut or inconsistent headers. Every cut of a valid SYN, in a buffer of exactly the cut's size so
 * that ASan sees a read past the end. Random SYNs built with a record of where each MSS is and
 * whether the walk reaches it, so the construction predicts every byte of the result; random bytes.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"
#include "router.h"

/* A check inside a loop of many: cond evaluated once; only the first 10 failures are printed. */
static unsigned long prop_failures;
#define PROP_CHECK(cond, ...)                                                                   \
	do {                                                                                    \
		if (cond) {                                                                     \
			test_checks_passed++;                                                   \
		} else {                                                                        \
			test_checks_failed++;                                                   \
			if (prop_failures++ < 10) {                                             \
				fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
				fprintf(stderr, __VA_ARGS__);                                   \
				fputc('\n', stderr);                                            \
			}                                                                       \
		}                                                                               \
	} while (0)

static const uint8_t A4[4] = { 10, 0, 0, 1 }, B4[4] = { 192, 168, 7, 2 };
static const uint8_t A6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t B6[16] = { 0xfd, 0x00, [14] = 0xbe, [15] = 0xef };

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- RFC 1071, plainly: big-endian 16-bit words (an odd last byte padded), summed wide ---- */

static uint64_t sum_words(const uint8_t *p, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += i & 1 ? p[i] : (uint64_t)p[i] << 8;
	return s;
}

static uint16_t fold_not(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The IPv4 header checksum ip's header should carry (its own checksum field counted as zero). */
static uint16_t ip4_csum(const uint8_t *ip)
{
	size_t hl = (ip[0] & 0xf) * 4u;

	return fold_not(sum_words(ip, hl) - get16(ip + 10));
}

/* The TCP checksum the segment at ip + l4, seglen bytes, should carry: pseudo-header and all. */
static uint16_t tcp_csum(const uint8_t *ip, int family, size_t l4, size_t seglen)
{
	const uint8_t *tcp = ip + l4;
	uint64_t s;

	if (family == AF_INET)
		s = sum_words(ip + 12, 8); /* source, destination */
	else
		s = sum_words(ip + 8, 32);
	s += IPPROTO_TCP + seglen;     /* zero, protocol, length (IPv6's 32 bits: < 64k here) */
	return fold_not(s + sum_words(tcp, seglen) - get16(tcp + 16));
}

/* ---- TTL ---- */

/*
 * A valid IPv4 header of hl bytes with this TTL whose checksum is exactly want: the identification
 * field is chosen to make the sum come out. Random other fields from seed. Not for want 0xffff.
 */
static void ip4_with_csum(uint8_t *ip, size_t hl, uint8_t ttl, uint16_t want, uint64_t seed)
{
	uint64_t s;
	uint16_t id;

	memset(ip, 0, hl);
	ip[0] = (uint8_t)(0x40 | hl / 4);
	ip[1] = (uint8_t)seed;
	put16(ip + 2, (unsigned int)(hl + (seed >> 8) % 1000));
	ip[8] = ttl;
	ip[9] = (uint8_t)(seed >> 24);
	memcpy(ip + 12, &seed, 8);
	/* ~want is the sum of all the words; the identification makes up what the rest lacks. */
	s = sum_words(ip, hl);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	id = (uint16_t)(((uint16_t)~want + (uint32_t)(uint16_t)~s) % 0xffff);
	put16(ip + 4, id);
	put16(ip + 10, want);
}

static void test_ttl_table(void)
{
	static const struct {
		uint8_t ttl;
		uint16_t csum, want_csum;
		int ret;
		bool valid; /* a checksum a real header can have; then also checked by recompute */
	} t[] = {
		{ 0, 0x1234, 0x1234, -1, true },
		{ 1, 0x1234, 0x1234, -1, true },
		{ 1, 0x0000, 0x0000, -1, true },
		{ 2, 0x1234, 0x1334, 0, true },
		{ 255, 0xb1e6, 0xb2e6, 0, true },
		{ 64, 0x0000, 0x0100, 0, true },  /* the sum was 0xffff */
		{ 64, 0x00ff, 0x01ff, 0, true },
		{ 64, 0xfefe, 0xfffe, 0, true },  /* the largest a correct checksum can be */
		{ 64, 0xfeff, 0x0000, 0, true },  /* 0xffff would be negative zero: written as 0 */
		{ 64, 0xff00, 0x0001, 0, true },  /* end-around carry */
		{ 64, 0xfffe, 0x00ff, 0, true },
		{ 2, 0xfeff, 0x0000, 0, true },
		{ 64, 0xffff, 0x0100, 0, false }, /* no header sums to 0; RFC 1624 eqn. 3, Linux */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint8_t ip[20], before[20];
		int ret;

		ip4_with_csum(ip, 20, t[i].ttl, t[i].valid ? t[i].csum : 0, i);
		put16(ip + 10, t[i].csum);
		if (t[i].valid)
			CHECK(ip4_csum(ip) == t[i].csum, "ttl[%zu]: the test's header is wrong", i);
		memcpy(before, ip, 20);
		ret = router_dec_ttl(ip, AF_INET);
		CHECK(ret == t[i].ret, "ttl[%zu]: %d", i, ret);
		CHECK(get16(ip + 10) == t[i].want_csum, "ttl[%zu]: checksum %#06x, want %#06x", i,
		      get16(ip + 10), t[i].want_csum);
		CHECK(ip[8] == (ret ? t[i].ttl : t[i].ttl - 1), "ttl[%zu]: ttl %u", i, ip[8]);
		CHECK(memcmp(ip, before, 8) == 0 && ip[9] == before[9] &&
		      memcmp(ip + 12, before + 12, 8) == 0, "ttl[%zu]: other bytes changed", i);
		if (t[i].valid)
			CHECK(get16(ip + 10) == ip4_csum(ip), "ttl[%zu]: %#06x, recompute %#06x", i,
			      get16(ip + 10), ip4_csum(ip));
	}
}

/* Every checksum a correct header can carry, 0x0000..0xfffe, each with a TTL of 2..255. */
static void test_ttl_every_checksum(void)
{
	for (uint32_t c = 0; c < 0xffff; c++) {
		uint8_t ip[24];

		uint64_t seed = c * 0x9e3779b97f4a7c15ULL;

		ip4_with_csum(ip, 24, (uint8_t)(2 + c % 254), (uint16_t)c, seed);
		PROP_CHECK(ip4_csum(ip) == c, "every checksum: the test's header for %#06x", c);
		PROP_CHECK(router_dec_ttl(ip, AF_INET) == 0, "every checksum: %#06x refused", c);
		PROP_CHECK(get16(ip + 10) == ip4_csum(ip),
			   "every checksum: %#06x became %#06x, want %#06x", c, get16(ip + 10),
			   ip4_csum(ip));
	}
}

static void test_ttl_random(uint64_t seed, unsigned long n)
{
	struct test_rng rng;
	unsigned long refused = 0, zero = 0;

	printf("ttl random: seed %#llx, %lu headers\n", (unsigned long long)seed, n);
	test_rng_seed(&rng, seed);
	for (unsigned long i = 0; i < n; i++) {
		uint8_t ip[60], before[60];
		uint64_t r = test_rng_next(&rng);
		size_t hl = 20 + 4 * (r % 11); /* IHL 5..15: options are under the checksum too */
		int ret;

		test_rng_bytes(&rng, ip, hl);
		ip[0] = (uint8_t)(0x40 | hl / 4);
		if ((r >> 8) % 8 == 0)
			ip[8] = (uint8_t)((r >> 16) % 3); /* 0, 1, 2 often */
		put16(ip + 10, ip4_csum(ip));
		memcpy(before, ip, hl);
		zero += get16(ip + 10) == 0;
		ret = router_dec_ttl(ip, AF_INET);
		if (before[8] <= 1) {
			refused++;
			PROP_CHECK(ret == -1 && memcmp(ip, before, hl) == 0,
				   "ttl random %lu: ttl %u: %d, or it changed", i, before[8], ret);
			continue;
		}
		PROP_CHECK(ret == 0 && ip[8] == before[8] - 1, "ttl random %lu: %d, ttl %u from %u",
			   i, ret, ip[8], before[8]);
		PROP_CHECK(get16(ip + 10) == ip4_csum(ip),
			   "ttl random %lu: checksum %#06x from %#06x, recompute %#06x", i,
			   get16(ip + 10), get16(before + 10), ip4_csum(ip));
		PROP_CHECK(memcmp(ip, before, 8) == 0 && ip[9] == before[9] &&
			   memcmp(ip + 12, before + 12, hl - 12) == 0,
			   "ttl random %lu: other bytes changed", i);
	}
	CHECK(refused > n / 40 && refused < n / 8, "ttl random: %lu refused", refused);
	CHECK(zero > 0, "ttl random: no header had checksum 0x0000");
}

static void test_hop_limit(void)
{
	static const uint8_t hl[] = { 0, 1, 2, 64, 255 };

	for (size_t i = 0; i < sizeof(hl); i++) {
		uint8_t ip[40], before[40];
		int ret;

		for (size_t j = 0; j < 40; j++)
			ip[j] = (uint8_t)(j * 37 + 5);
		ip[0] = 0x60;
		ip[7] = hl[i];
		memcpy(before, ip, 40);
		ret = router_dec_ttl(ip, AF_INET6);
		CHECK(ret == (hl[i] <= 1 ? -1 : 0), "hop limit %u: %d", hl[i], ret);
		CHECK(ip[7] == (hl[i] <= 1 ? hl[i] : hl[i] - 1), "hop limit %u: became %u", hl[i],
		      ip[7]);
		CHECK(memcmp(ip, before, 7) == 0 && memcmp(ip + 8, before + 8, 32) == 0,
		      "hop limit %u: other bytes changed", hl[i]);
	}
}

/* ---- MSS: packets ---- */

struct pkt {
	uint8_t b[1024];
	uint32_t len; /* the packet, as the IP header says */
	uint32_t l4;  /* where the TCP header starts */
	int family;
};

/* The TCP header: flags, options (zero-padded to a word), payload bytes; the lengths after it. */
static void put_tcp(struct pkt *k, uint8_t flags, const uint8_t *opt, size_t optlen, size_t payload)
{
	uint8_t *t = k->b + k->l4;
	size_t doff = 20 + (optlen + 3) / 4 * 4;

	memset(t, 0, doff);
	put16(t, 40000);
	put16(t + 2, 443);
	put16(t + 4, 0x1234);
	put16(t + 6, 0x5678);
	t[12] = (uint8_t)(doff / 4 << 4);
	t[13] = flags;
	put16(t + 14, 64240);
	memcpy(t + 20, opt, optlen);
	for (size_t i = 0; i < payload; i++)
		t[doff + i] = (uint8_t)(0xa5 ^ i * 13);
	k->len = (uint32_t)(k->l4 + doff + payload);
}

/* Writes the IP lengths for k->len and both checksums. */
static void seal(struct pkt *k)
{
	uint8_t *ip = k->b;

	if (k->family == AF_INET) {
		put16(ip + 2, k->len);
		put16(ip + 10, ip4_csum(ip));
	} else {
		put16(ip + 4, k->len - 40);
	}
	put16(k->b + k->l4 + 16, tcp_csum(k->b, k->family, k->l4, k->len - k->l4));
}

/* IPv4, IHL ihl, the fragment field frag (flags and offset). */
static void mk4(struct pkt *k, unsigned int ihl, unsigned int frag, uint8_t flags,
		const uint8_t *opt, size_t optlen, size_t payload)
{
	uint8_t *ip = k->b;

	memset(k, 0, sizeof(*k));
	k->family = AF_INET;
	k->l4 = ihl * 4;
	ip[0] = (uint8_t)(0x40 | ihl);
	put16(ip + 4, 0xbeef);
	put16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, A4, 4);
	memcpy(ip + 16, B4, 4);
	memset(ip + 20, 1, k->l4 - 20); /* NOP IP options */
	put_tcp(k, flags, opt, optlen, payload);
	seal(k);
}

/*
 * IPv6 through the extension headers exts[0..n) in order: hop-by-hop, routing and destination
 * options of 8 or 16 bytes, fragment (offset 0, more fragments set) and AH of 16 bytes.
 */
static void mk6(struct pkt *k, const uint8_t *exts, size_t n, uint8_t flags, const uint8_t *opt,
		size_t optlen, size_t payload)
{
	uint8_t *ip = k->b, *nh = ip + 6;
	uint32_t off = 40;

	memset(k, 0, sizeof(*k));
	k->family = AF_INET6;
	ip[0] = 0x60;
	ip[7] = 64;
	memcpy(ip + 8, A6, 16);
	memcpy(ip + 24, B6, 16);
	for (size_t i = 0; i < n; i++) {
		uint8_t *h = ip + off;
		size_t len = 8 * (1 + i % 2);

		*nh = exts[i];
		nh = h;
		if (exts[i] == IPPROTO_FRAGMENT) {
			len = 8;
			put16(h + 2, 1); /* offset 0, M */
			memset(h + 4, 0x5a, 4);
		} else if (exts[i] == IPPROTO_AH) {
			len = 16;
			h[1] = 2; /* 4-byte words less 2 */
			memset(h + 4, 0xaa, 12);
		} else {
			h[1] = (uint8_t)(len / 8 - 1);
			h[2] = 1; /* PadN */
			h[3] = (uint8_t)(len - 4);
		}
		off += (uint32_t)len;
	}
	*nh = IPPROTO_TCP;
	k->l4 = off;
	put_tcp(k, flags, opt, optlen, payload);
	seal(k);
}

static void mk(struct pkt *k, int family, uint8_t flags, const uint8_t *opt, size_t optlen)
{
	if (family == AF_INET)
		mk4(k, 5, 0x4000 /* DF */, flags, opt, optlen, 0);
	else
		mk6(k, NULL, 0, flags, opt, optlen, 0);
}

#define SYN 0x02
#define ACK 0x10
#define FIN 0x01
#define RST 0x04
#define PSH 0x08
#define ECE 0x40
#define CWR 0x80

static uint16_t clamp_of(int family, uint16_t mtu)
{
	return (uint16_t)(mtu - (family == AF_INET ? 40 : 60));
}

/*
 * Runs router_clamp_mss on a copy of k (len bytes of it given; the buffer exactly that size) and
 * checks the result: with nat == 0 nothing may change; else exactly the MSS values at the option
 * offsets at[0..nat) become want, and the checksum is the one a recompute gives.
 */
static void expect(const char *what, const struct pkt *k, uint32_t len, uint16_t mtu,
		   const int *at, size_t nat, uint16_t want)
{
	uint8_t *buf = malloc(len ? len : 1);
	uint8_t want_b[sizeof(k->b)];
	bool ret;

	if (!buf)
		abort();
	memcpy(buf, k->b, len);
	memcpy(want_b, k->b, len);
	for (size_t i = 0; i < nat; i++)
		put16(want_b + k->l4 + 20 + at[i], want);
	if (nat) {
		uint32_t seg = (k->len < len ? k->len : len) - k->l4;

		put16(want_b + k->l4 + 16, tcp_csum(want_b, k->family, k->l4, seg));
	}
	ret = router_clamp_mss(buf, len, k->family, mtu);
	CHECK(ret == (nat > 0), "%s: returned %d", what, ret);
	CHECK(memcmp(buf, want_b, len) == 0, "%s: the packet is not as expected", what);
	if (nat && k->len <= len)
		CHECK(get16(buf + k->l4 + 16) == tcp_csum(buf, k->family, k->l4, k->len - k->l4),
		      "%s: the checksum does not verify", what);
	free(buf);
}

static void expect_none(const char *what, const struct pkt *k, uint16_t mtu)
{
	expect(what, k, k->len, mtu, NULL, 0, 0);
}

/* ---- MSS: hand-made cases ---- */

#define MSS_1460 2, 4, 0x05, 0xb4
#define TS 8, 10, 1, 2, 3, 4, 0, 0, 0, 0
#define WS7 3, 3, 7
#define SACKP 4, 2
#define NOP 1
#define EOL 0

/* Option lists, each with the MSS 1460 at the offsets at (of its value, in the options). */
static const struct {
	const char *name;
	uint8_t opt[40];
	uint8_t optlen;
	int at[2];
	uint8_t nat;
} opt_cases[] = {
	{ "MSS alone", { MSS_1460 }, 4, { 2 }, 1 },
	{ "Linux: MSS SACKP TS NOP WS", { MSS_1460, SACKP, TS, NOP, WS7 }, 20, { 2 }, 1 },
	{ "Windows: MSS NOP WS NOP NOP SACKP", { MSS_1460, NOP, WS7, NOP, NOP, SACKP }, 12, { 2 },
	  1 },
	{ "NOP NOP TS then MSS", { NOP, NOP, TS, MSS_1460 }, 16, { 14 }, 1 },
	{ "MSS at an odd offset", { NOP, MSS_1460, NOP, NOP, NOP }, 8, { 3 }, 1 },
	{ "WS then MSS, odd", { WS7, MSS_1460, EOL }, 8, { 5 }, 1 },
	{ "SACKP then MSS", { SACKP, MSS_1460 }, 6, { 4 }, 1 },
	{ "unknown kind then MSS", { 253, 6, 0xde, 0xad, 0xbe, 0xef, MSS_1460 }, 10, { 8 }, 1 },
	{ "MSS last, filling the header", { TS, TS, TS, NOP, NOP, MSS_1460 }, 36, { 34 }, 1 },
	{ "two MSS (a receiver uses the last)", { MSS_1460, NOP, MSS_1460 }, 9, { 2, 7 }, 2 },
	{ "EOL after MSS", { MSS_1460, EOL, 2, 4, 5, 0xb4 }, 9, { 2 }, 1 },
	{ "malformed length 0 after MSS", { MSS_1460, 8, 0, MSS_1460 }, 10, { 2 }, 1 },
	{ "length past the end after MSS", { MSS_1460, 8, 9, 0 }, 8, { 2 }, 1 },
	{ "no options", { 0 }, 0, { 0 }, 0 },
	{ "no MSS", { NOP, NOP, TS, NOP, WS7, SACKP, EOL }, 18, { 0 }, 0 },
	{ "EOL before MSS", { NOP, EOL, MSS_1460, 0, 0 }, 8, { 0 }, 0 },
	{ "EOL first", { EOL, MSS_1460 }, 5, { 0 }, 0 },
	{ "length 0 before MSS", { 8, 0, MSS_1460 }, 6, { 0 }, 0 },
	{ "length 1 before MSS", { 8, 1, MSS_1460 }, 6, { 0 }, 0 },
	{ "length past the end before MSS", { 8, 20, MSS_1460, 0, 0 }, 8, { 0 }, 0 },
	{ "MSS cut by the header's end", { NOP, NOP, NOP, NOP, NOP, NOP, 2, 4 }, 8, { 0 }, 0 },
	{ "MSS kind as the last byte", { NOP, NOP, NOP, 2 }, 4, { 0 }, 0 },
	{ "MSS of length 3", { 2, 3, 0x05, NOP, NOP, NOP, NOP, NOP }, 8, { 0 }, 0 },
	{ "MSS of length 5", { 2, 5, 0x05, 0xb4, 0xff, EOL }, 6, { 0 }, 0 },
	{ "MSS of length 2", { 2, 2, MSS_1460 }, 6, { 4 }, 1 },
};

static void test_mss_options(void)
{
	for (size_t i = 0; i < sizeof(opt_cases) / sizeof(opt_cases[0]); i++) {
		for (int fam = 0; fam < 3; fam++) {
			static const uint8_t chain[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS,
							 IPPROTO_ROUTING, IPPROTO_DSTOPTS };
			int family = fam ? AF_INET6 : AF_INET;
			char what[120];
			struct pkt k;

			if (fam == 2)
				mk6(&k, chain, 4, SYN, opt_cases[i].opt, opt_cases[i].optlen, 0);
			else
				mk(&k, family, SYN, opt_cases[i].opt, opt_cases[i].optlen);
			snprintf(what, sizeof(what), "%s, %s", opt_cases[i].name,
				 fam == 0 ? "IPv4" : fam == 1 ? "IPv6" : "IPv6 via 4 headers");
			expect(what, &k, k.len, 1420, opt_cases[i].at, opt_cases[i].nat,
			       clamp_of(family, 1420));
		}
	}
}

/*
 * The MSS at an odd offset needs its bytes swapped in the checksum update; show that the test
 * would see the mistake: an update that takes the value as an aligned word does not verify.
 */
static void test_mss_odd_offset_discriminates(void)
{
	static const uint8_t opt[] = { NOP, MSS_1460, NOP, NOP, NOP };
	uint8_t *t;
	struct pkt k;
	uint32_t s;

	mk(&k, AF_INET, SYN, opt, sizeof(opt));
	t = k.b + k.l4;
	s = (uint16_t)~get16(t + 16) + (uint32_t)(uint16_t)~1460 + 1380;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	put16(t + 16, (uint16_t)~s);
	put16(t + 23, 1380);
	CHECK(get16(t + 16) != tcp_csum(k.b, AF_INET, k.l4, k.len - k.l4),
	      "odd offset: an aligned update verifies, so the case would not catch it");
}

/*
 * The update's sum needs its second fold when it comes to exactly 0x1ffff, which an MSS at an odd
 * offset can give (its swapped new value may exceed its swapped old one): old 1536 (swapped
 * 0x0006, complement 0xfff9), new 1535 (swapped 0xff05), and a checksum of 0xfefe before, its
 * complement 0x0101: 0x0101 + 0xfff9 + 0xff05 = 0x1ffff. The sequence number is chosen to give
 * that checksum.
 */
static void test_mss_fold_twice(void)
{
	static const uint8_t opt[] = { NOP, 2, 4, 0x06, 0x00, NOP, NOP, NOP };
	const int at = 3;
	uint16_t seq;
	struct pkt k;

	mk(&k, AF_INET, SYN, opt, sizeof(opt));
	put16(k.b + k.l4 + 4, 0);
	/* The sum must come to ~0xfefe; the checksum without it is the complement of the rest. */
	seq = tcp_csum(k.b, AF_INET, k.l4, k.len - k.l4);
	seq = (uint16_t)(((uint32_t)(uint16_t)~0xfefe + seq) % 0xffff);
	put16(k.b + k.l4 + 4, seq);
	put16(k.b + k.l4 + 16, tcp_csum(k.b, AF_INET, k.l4, k.len - k.l4));
	CHECK(get16(k.b + k.l4 + 16) == 0xfefe, "fold twice: the test's checksum is %#06x",
	      get16(k.b + k.l4 + 16));
	expect("an update whose sum folds twice", &k, k.len, 1535 + 40, &at, 1, 1535);
}

static void test_mss_values(void)
{
	/* IPv4's clamp is mtu - 40, IPv6's mtu - 60; nothing for an MTU that leaves no MSS. */
	static const struct {
		uint16_t mss, mtu;
		bool clamp4, clamp6;
	} v[] = {
		{ 1460, 1420, true, true },   { 1381, 1420, true, true },
		{ 1380, 1420, false, true },  { 1379, 1420, false, true },
		{ 1361, 1420, false, true },  { 1360, 1420, false, false },
		{ 536, 1420, false, false },  { 0, 1420, false, false },
		{ 65535, 1420, true, true },  { 65535, 65535, true, true },
		{ 65495, 65535, false, true }, { 65475, 65535, false, false },
		{ 8960, 9000, false, true },  { 8961, 9000, true, true },
		{ 1460, 1280, true, true },   { 1460, 1500, false, true },
		{ 1440, 1500, false, false }, { 1460, 41, true, false },
		{ 1460, 61, true, true },     { 1460, 40, false, false },
		{ 1460, 60, true, false },    { 1460, 0, false, false },
		{ 1, 41, false, false },      { 2, 41, true, false },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (int fam = 0; fam < 2; fam++) {
			int family = fam ? AF_INET6 : AF_INET;
			uint8_t opt[] = { MSS_1460, SACKP, TS, NOP, WS7 };
			bool yes = fam ? v[i].clamp6 : v[i].clamp4;
			char what[100];
			struct pkt k;
			const int at = 2;

			put16(opt + 2, v[i].mss);
			mk(&k, family, SYN, opt, sizeof(opt));
			snprintf(what, sizeof(what), "MSS %u, MTU %u, %s", v[i].mss, v[i].mtu,
				 fam ? "IPv6" : "IPv4");
			expect(what, &k, k.len, v[i].mtu, &at, yes, clamp_of(family, v[i].mtu));
		}
	}
}

static void test_mss_flags(void)
{
	static const struct {
		uint8_t flags;
		bool clamp;
	} f[] = {
		{ SYN, true },		   { SYN | ACK, true }, { SYN | ECE | CWR, true },
		{ SYN | ACK | ECE, true }, { SYN | PSH, true }, { SYN | FIN, true },
		{ ACK, false },		   { 0, false },	{ FIN | ACK, false },
		{ RST, false },		   { RST | ACK, false }, { SYN | RST, false },
		{ PSH | ACK, false },	   { 0xff & ~SYN, false },
	};
	static const uint8_t opt[] = { MSS_1460, NOP, WS7 };

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		for (int fam = 0; fam < 2; fam++) {
			int family = fam ? AF_INET6 : AF_INET;
			char what[80];
			struct pkt k;
			const int at = 2;

			mk(&k, family, f[i].flags, opt, sizeof(opt));
			snprintf(what, sizeof(what), "flags %#04x, %s", f[i].flags,
				 fam ? "IPv6" : "IPv4");
			expect(what, &k, k.len, 1400, &at, f[i].clamp, clamp_of(family, 1400));
		}
	}
}

static void test_mss_ip4(void)
{
	static const uint8_t opt[] = { MSS_1460, SACKP, TS, NOP, WS7 };
	const int at = 2;
	struct pkt k;
	uint32_t tot;

	mk4(&k, 5, 0, SYN, opt, sizeof(opt), 0);
	expect("IPv4, no DF", &k, k.len, 1420, &at, 1, 1380);
	mk4(&k, 15, 0x4000, SYN, opt, sizeof(opt), 0);
	expect("IPv4 with 40 bytes of options", &k, k.len, 1420, &at, 1, 1380);
	mk4(&k, 5, 0x4000, SYN, opt, sizeof(opt), 100);
	expect("IPv4 SYN with data", &k, k.len, 1420, &at, 1, 1380);
	mk4(&k, 5, 0x2000, SYN, opt, sizeof(opt), 0);
	expect_none("IPv4 first fragment (MF)", &k, 1420);
	mk4(&k, 5, 0x0001, SYN, opt, sizeof(opt), 0);
	expect_none("IPv4 fragment, offset 8", &k, 1420);
	mk4(&k, 5, 0x1fff, SYN, opt, sizeof(opt), 0);
	expect_none("IPv4 fragment, last offset", &k, 1420);
	mk4(&k, 5, 0x6001, SYN, opt, sizeof(opt), 0);
	expect_none("IPv4 fragment, DF and offset", &k, 1420);
	mk4(&k, 5, 0x8000, SYN, opt, sizeof(opt), 0);
	expect("IPv4 reserved flag only: not a fragment", &k, k.len, 1420, &at, 1, 1380);

	mk4(&k, 5, 0, SYN, opt, sizeof(opt), 0);
	k.b[9] = IPPROTO_UDP;
	expect_none("IPv4 UDP", &k, 1420);
	mk4(&k, 5, 0, SYN, opt, sizeof(opt), 0);
	k.b[0] = 0x65;
	expect_none("IPv4 with version 6", &k, 1420);
	expect_none("IPv4 with version 6, as IPv6", &k, 1420);
	mk4(&k, 5, 0, SYN, opt, sizeof(opt), 0);
	k.b[0] = 0x44;
	expect_none("IPv4 with IHL 4", &k, 1420);
	mk4(&k, 5, 0, SYN, opt, sizeof(opt), 0);
	k.family = AF_UNIX;
	expect_none("IPv4 packet, family AF_UNIX", &k, 1420);

	/* Link padding after the packet: clamped, and the padding is neither read nor written. */
	mk4(&k, 5, 0, SYN, opt, sizeof(opt), 0);
	memset(k.b + k.len, 0xee, 18);
	expect("IPv4 with 18 bytes of link padding", &k, k.len + 18, 1420, &at, 1, 1380);

	/* The IP length is the limit when shorter than the buffer. */
	mk4(&k, 5, 0, SYN, opt, sizeof(opt), 0);
	tot = k.len;
	put16(k.b + 2, tot - 1);
	expect_none("IPv4 total length one short of the TCP header", &k, 1420);
	put16(k.b + 2, 19);
	expect_none("IPv4 total length 19", &k, 1420);
	put16(k.b + 2, 0);
	expect_none("IPv4 total length 0", &k, 1420);
	/* A total length beyond the buffer: the buffer is the limit, and the header is whole. */
	put16(k.b + 2, 1500);
	expect("IPv4 total length beyond the buffer", &k, tot, 1420, &at, 1, 1380);

	/* The TCP data offset. */
	for (unsigned int doff = 0; doff < 16; doff++) {
		char what[60];

		mk4(&k, 5, 0, SYN, opt, sizeof(opt), 16);
		k.b[k.l4 + 12] = (uint8_t)(doff << 4);
		seal(&k);
		snprintf(what, sizeof(what), "IPv4 TCP data offset %u", doff);
		/*
		 * 6 holds the MSS whole (the walk stops at a cut option after it); 11..14 take in
		 * payload bytes, which walk as options; 15 runs past the packet.
		 */
		if (doff < 6 || doff > 14)
			expect_none(what, &k, 1420);
		else
			expect(what, &k, k.len, 1420, &at, 1, 1380);
	}
}

static void test_mss_ip6(void)
{
	static const uint8_t opt[] = { MSS_1460, SACKP, TS, NOP, WS7 };
	static const struct {
		const char *name;
		uint8_t ext[10];
		uint8_t n;
		bool clamp;
	} c[] = {
		{ "no extension header", { 0 }, 0, true },
		{ "hop-by-hop", { IPPROTO_HOPOPTS }, 1, true },
		{ "routing", { IPPROTO_ROUTING }, 1, true },
		{ "destination options", { IPPROTO_DSTOPTS }, 1, true },
		{ "hop-by-hop, destination, routing, destination",
		  { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS }, 4, true },
		{ "8 extension headers", { 0, 60, 43, 60, 43, 60, 43, 60 }, 8, true },
		{ "9 extension headers", { 0, 60, 43, 60, 43, 60, 43, 60, 60 }, 9, false },
		{ "hop-by-hop after destination options", { IPPROTO_DSTOPTS, IPPROTO_HOPOPTS }, 2,
		  false },
		{ "fragment", { IPPROTO_FRAGMENT }, 1, false },
		{ "hop-by-hop, fragment", { IPPROTO_HOPOPTS, IPPROTO_FRAGMENT }, 2, false },
		{ "AH", { IPPROTO_AH }, 1, false },
		{ "destination options, AH", { IPPROTO_DSTOPTS, IPPROTO_AH }, 2, false },
	};
	const int at = 2;
	struct pkt k;
	uint32_t len;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char what[100];

		mk6(&k, c[i].ext, c[i].n, SYN | ACK, opt, sizeof(opt), 0);
		snprintf(what, sizeof(what), "IPv6, %s", c[i].name);
		expect(what, &k, k.len, 1420, &at, c[i].clamp, 1360);
	}

	/* An atomic fragment (offset 0, no M) is a whole datagram, but still refused. */
	mk6(&k, (const uint8_t[]){ IPPROTO_FRAGMENT }, 1, SYN, opt, sizeof(opt), 0);
	put16(k.b + 42, 0);
	seal(&k);
	expect_none("IPv6 atomic fragment", &k, 1420);

	mk6(&k, NULL, 0, SYN, opt, sizeof(opt), 0);
	k.b[6] = IPPROTO_UDP;
	expect_none("IPv6 UDP", &k, 1420);
	mk6(&k, NULL, 0, SYN, opt, sizeof(opt), 0);
	k.b[6] = 50; /* ESP */
	expect_none("IPv6 ESP", &k, 1420);
	mk6(&k, NULL, 0, SYN, opt, sizeof(opt), 0);
	k.b[6] = 59; /* no next header */
	expect_none("IPv6 no next header", &k, 1420);
	mk6(&k, NULL, 0, SYN, opt, sizeof(opt), 0);
	k.b[0] = 0x45;
	expect_none("IPv6 with version 4", &k, 1420);
	k.family = AF_INET;
	expect_none("IPv6 with version 4, as IPv4", &k, 1420);

	mk6(&k, NULL, 0, SYN, opt, sizeof(opt), 200);
	expect("IPv6 SYN with data", &k, k.len, 1420, &at, 1, 1360);

	/* The payload length is the limit when shorter than the buffer. */
	mk6(&k, (const uint8_t[]){ IPPROTO_HOPOPTS, IPPROTO_ROUTING }, 2, SYN, opt, sizeof(opt), 0);
	len = k.len;
	put16(k.b + 4, len - 41);
	expect_none("IPv6 payload length one short of the TCP header", &k, 1420);
	put16(k.b + 4, 16);
	expect_none("IPv6 payload length ends in the extension headers", &k, 1420);
	put16(k.b + 4, 0); /* what a jumbogram carries; none fits our buffers */
	expect_none("IPv6 payload length 0", &k, 1420);
	put16(k.b + 4, 60000);
	expect("IPv6 payload length beyond the buffer", &k, len, 1420, &at, 1, 1360);

	/* An extension header whose length runs past the packet. */
	mk6(&k, (const uint8_t[]){ IPPROTO_DSTOPTS }, 1, SYN, opt, sizeof(opt), 0);
	k.b[41] = 200;
	expect_none("IPv6 extension header past the end", &k, 1420);

	for (unsigned int doff = 0; doff < 5; doff++) {
		mk6(&k, NULL, 0, SYN, opt, sizeof(opt), 0);
		k.b[k.l4 + 12] = (uint8_t)(doff << 4);
		seal(&k);
		expect_none("IPv6 TCP data offset below 5", &k, 1420);
	}
	mk6(&k, NULL, 0, SYN, opt, sizeof(opt), 0);
	k.b[k.l4 + 12] = 0xf0;
	seal(&k);
	expect_none("IPv6 TCP data offset past the end", &k, 1420);
}

/*
 * Every cut of a valid SYN, two ways. In a buffer of exactly the cut (the IP header still says
 * the whole length): clamped exactly as the whole packet is when the TCP header is in the cut,
 * else untouched. With the IP length saying the cut and the checksum made for the cut segment
 * (a consistent short packet): clamped when the TCP header is whole, and the checksum verifies.
 */
static void test_mss_cuts(const struct pkt *k, uint16_t mtu, uint32_t mss_at)
{
	uint32_t doff = (k->b[k->l4 + 12] >> 4) * 4u;
	uint16_t clamp = clamp_of(k->family, mtu);
	uint8_t whole[sizeof(k->b)];
	bool ret;

	memcpy(whole, k->b, k->len);
	ret = router_clamp_mss(whole, k->len, k->family, mtu);
	CHECK(ret && get16(whole + k->l4 + mss_at) == clamp, "cuts: the whole packet: %d", ret);
	for (uint32_t cut = 0; cut <= k->len; cut++) {
		uint8_t *buf = malloc(cut ? cut : 1), want[sizeof(k->b)];
		bool fits = cut >= k->l4 + doff;
		struct pkt s;

		if (!buf)
			abort();
		memcpy(buf, k->b, cut);
		ret = router_clamp_mss(buf, cut, k->family, mtu);
		PROP_CHECK(ret == fits && memcmp(buf, fits ? whole : k->b, cut) == 0,
			   "cut %u of %u (%s): %d", cut, k->len, k->family == AF_INET ? "v4" : "v6",
			   ret);
		free(buf);

		if (cut < k->l4 + 18)
			continue; /* no TCP checksum to make */
		s = *k;
		s.len = cut;
		seal(&s);
		memcpy(want, s.b, cut);
		if (fits) {
			put16(want + s.l4 + mss_at, clamp);
			put16(want + s.l4 + 16, tcp_csum(want, s.family, s.l4, cut - s.l4));
		}
		ret = router_clamp_mss(s.b, cut, s.family, mtu);
		PROP_CHECK(ret == fits && memcmp(s.b, want, cut) == 0,
			   "short packet %u of %u (%s): %d", cut, k->len,
			   k->family == AF_INET ? "v4" : "v6", ret);
		PROP_CHECK(get16(s.b + s.l4 + 16) == tcp_csum(s.b, s.family, s.l4, cut - s.l4),
			   "short packet %u of %u: the checksum does not verify", cut, k->len);
		/* Again in the whole buffer: the IP length is the limit. */
		s = *k;
		s.len = cut;
		seal(&s);
		ret = router_clamp_mss(s.b, k->len, s.family, mtu);
		PROP_CHECK(ret == fits && memcmp(s.b, want, cut) == 0 &&
			   memcmp(s.b + cut, k->b + cut, k->len - cut) == 0,
			   "short packet %u of %u in the whole buffer: %d", cut, k->len, ret);
	}
}

static void test_mss_truncation(void)
{
	static const uint8_t opt[] = { NOP, NOP, TS, MSS_1460, NOP, WS7, SACKP };
	static const uint8_t chain[] = { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS };
	struct pkt k;

	mk4(&k, 7, 0x4000, SYN, opt, sizeof(opt), 11);
	test_mss_cuts(&k, 1400, 20 + 14);
	mk6(&k, chain, 3, SYN | ACK, opt, sizeof(opt), 9);
	test_mss_cuts(&k, 1400, 20 + 14);
}

/* ---- MSS: random SYNs, predicted from their construction ---- */

struct gen {
	struct pkt k;
	bool eligible;	  /* IP, TCP flags and MTU allow a clamp */
	unsigned int nmss; /* MSS options the walk reaches */
	uint32_t mss_at[20]; /* their values' offsets from the TCP header */
	bool odd;	  /* one of them at an odd offset */
};

static unsigned int rnd(struct test_rng *r, unsigned int n)
{
	return (unsigned int)(test_rng_next(r) % n);
}

/*
 * Options into opt[0..room): tokens until the room is used up or the list ends (EOL, or a
 * malformed option: then the rest is random bytes, which the walk must not reach). Records the
 * MSS options before the end.
 */
static size_t gen_options(struct test_rng *r, struct gen *g, uint8_t *opt, size_t room,
			  uint16_t clamp)
{
	size_t i = 0;

	while (i < room) {
		size_t left = room - i;
		unsigned int what = rnd(r, 100);

		if (what < 25 && left >= 4) { /* MSS, around the clamp or anywhere */
			uint16_t v = rnd(r, 2) ? (uint16_t)(clamp - 2 + rnd(r, 5)) :
						 (uint16_t)test_rng_next(r);

			opt[i] = 2;
			opt[i + 1] = 4;
			put16(opt + i + 2, v);
			g->mss_at[g->nmss++] = 20 + (uint32_t)i + 2;
			g->odd |= i & 1;
			i += 4;
		} else if (what < 45) {
			opt[i++] = 1;
		} else if (what < 60 && left >= 10) {
			opt[i] = 8;
			opt[i + 1] = 10;
			test_rng_bytes(r, opt + i + 2, 8);
			i += 10;
		} else if (what < 68 && left >= 3) {
			opt[i] = 3;
			opt[i + 1] = 3;
			opt[i + 2] = (uint8_t)rnd(r, 15);
			i += 3;
		} else if (what < 74 && left >= 2) {
			opt[i] = 4;
			opt[i + 1] = 2;
			i += 2;
		} else if (what < 82 && left >= 2) { /* another kind, or MSS of a wrong length */
			size_t len = 2 + rnd(r, (unsigned int)(left - 1));

			opt[i] = rnd(r, 3) ? (uint8_t)(5 + rnd(r, 251)) : 2;
			if (opt[i] == 2 && len == 4)
				len = 5 <= left ? 5 : 3;
			opt[i + 1] = (uint8_t)len;
			test_rng_bytes(r, opt + i + 2, len - 2);
			i += len;
		} else if (what < 88) { /* the end */
			opt[i++] = 0;
			break;
		} else if (what < 96) { /* malformed: length 0 or 1, past the end, or none at all */
			unsigned int how = rnd(r, 3);

			opt[i++] = (uint8_t)(2 + rnd(r, 30));
			if (i < room)
				opt[i++] = how == 0 ? 0 :
					   how == 1 ? 1 : (uint8_t)(left + 1 + rnd(r, 10));
			break;
		}
	}
	test_rng_bytes(r, opt + i, room - i); /* past the end of the list: anything */
	for (size_t j = i; j + 3 < room; j++)
		if (rnd(r, 4) == 0) { /* an MSS the walk must not reach */
			opt[j] = 2;
			opt[j + 1] = 4;
		}
	return room;
}

static void gen_syn(struct test_rng *r, struct gen *g, uint16_t *mtu)
{
	static const uint8_t flag_choices[] = { SYN, SYN, SYN, SYN | ACK, SYN | ACK,
						SYN | ECE | CWR, ACK, SYN | RST, FIN | ACK, 0 };
	int family = rnd(r, 2) ? AF_INET6 : AF_INET;
	uint8_t flags = flag_choices[rnd(r, sizeof(flag_choices))];
	uint8_t opt[40], ext[10];
	unsigned int frag = 0, next = 0, ihl, m = rnd(r, 10);
	bool ip_ok = true;
	size_t room, payload;
	uint16_t clamp;

	memset(g, 0, sizeof(*g));
	*mtu = m == 0 ? (uint16_t)rnd(r, 100) :
	       m == 1 ? (uint16_t)test_rng_next(r) : (uint16_t)(1280 + rnd(r, 221));
	clamp = (uint16_t)(*mtu - (family == AF_INET ? 40 : 60));
	room = rnd(r, 11) * 4;
	gen_options(r, g, opt, room, clamp);
	payload = rnd(r, 3) ? 0 : rnd(r, 40);
	if (family == AF_INET) {
		m = rnd(r, 10);
		frag = m == 0 ? 0x2000 : m == 1 ? 1 + rnd(r, 0x1fff) : rnd(r, 2) ? 0x4000 : 0;
		ip_ok = !(frag & 0x3fff);
		ihl = 5 + rnd(r, 3); /* not in the call: arguments are read in no set order */
		mk4(&g->k, ihl, frag, flags, opt, room, payload);
	} else {
		next = rnd(r, 4);
		for (unsigned int i = 0; i < next; i++) {
			static const uint8_t any[] = { IPPROTO_HOPOPTS, IPPROTO_ROUTING,
						       IPPROTO_DSTOPTS, IPPROTO_DSTOPTS };

			m = rnd(r, 20);
			ext[i] = m == 0 ? IPPROTO_FRAGMENT : m == 1 ? IPPROTO_AH :
				 any[i ? 1 + rnd(r, 3) : rnd(r, 4)];
			if (m == 2)
				ext[i] = IPPROTO_HOPOPTS; /* anywhere, right only first */
			if (ext[i] == IPPROTO_FRAGMENT || ext[i] == IPPROTO_AH ||
			    (ext[i] == IPPROTO_HOPOPTS && i))
				ip_ok = false;
		}
		mk6(&g->k, ext, next, flags, opt, room, payload);
	}
	g->eligible = ip_ok && (flags & (SYN | RST)) == SYN && *mtu > (family == AF_INET ? 40 : 60);
}

/*
 * Random SYNs (and not), each checked against what its construction predicts, byte for byte; and
 * without the prediction: unchanged, or changed only in the options and the checksum, and the
 * checksum verifies. One in eight is cut at random (the IP header still saying the whole length).
 */
static void test_mss_random(uint64_t seed, unsigned long n)
{
	struct test_rng rng;
	unsigned long changed = 0, odd = 0, twice = 0, held = 0, cut = 0;

	printf("mss random: seed %#llx, %lu segments\n", (unsigned long long)seed, n);
	test_rng_seed(&rng, seed);
	for (unsigned long i = 0; i < n; i++) {
		struct gen g;
		uint8_t want[sizeof(g.k.b)], *buf;
		uint32_t l4, doff, len, seg;
		unsigned int nchanged = 0;
		uint16_t mtu, clamp;
		bool ret, odd_one = false;

		gen_syn(&rng, &g, &mtu);
		l4 = g.k.l4;
		seg = g.k.len - l4;
		doff = (g.k.b[l4 + 12] >> 4) * 4u;
		clamp = clamp_of(g.k.family, mtu);
		memcpy(want, g.k.b, g.k.len);
		for (unsigned int j = 0; g.eligible && j < g.nmss; j++) {
			if (get16(want + l4 + g.mss_at[j]) <= clamp) {
				held++;
				continue;
			}
			put16(want + l4 + g.mss_at[j], clamp);
			nchanged++;
			odd_one |= g.mss_at[j] & 1;
		}
		if (nchanged)
			put16(want + l4 + 16, tcp_csum(want, g.k.family, l4, seg));
		len = g.k.len;
		if (rnd(&rng, 8) == 0) {
			len = rnd(&rng, g.k.len + 1);
			cut++;
			if (len < l4 + doff)
				nchanged = 0; /* the TCP header is not whole: untouched */
		}
		buf = malloc(len ? len : 1);
		if (!buf)
			abort();
		memcpy(buf, g.k.b, len);
		ret = router_clamp_mss(buf, len, g.k.family, mtu);
		PROP_CHECK(ret == (nchanged > 0), "mss random %lu: returned %d, want %d", i, ret,
			   nchanged > 0);
		PROP_CHECK(memcmp(buf, nchanged ? want : g.k.b, len) == 0,
			   "mss random %lu: not the predicted bytes", i);
		if (ret && len == g.k.len) {
			PROP_CHECK(get16(buf + l4 + 16) == tcp_csum(buf, g.k.family, l4, seg),
				   "mss random %lu: the checksum does not verify", i);
			PROP_CHECK(memcmp(buf, g.k.b, l4 + 16) == 0 &&
				   memcmp(buf + l4 + 18, g.k.b + l4 + 18, 2) == 0 &&
				   memcmp(buf + l4 + doff, g.k.b + l4 + doff, len - l4 - doff) == 0,
				   "mss random %lu: changed outside the options and checksum", i);
		} else if (!ret) {
			PROP_CHECK(memcmp(buf, g.k.b, len) == 0,
				   "mss random %lu: false, but changed", i);
		}
		changed += ret;
		odd += ret && odd_one;
		twice += nchanged >= 2;
		free(buf);
	}
	printf("  %lu changed (%lu at an odd offset, %lu with two or more), %lu MSS at or below "
	       "the clamp, %lu cut\n", changed, odd, twice, held, cut);
	CHECK(changed > n / 20 && changed < n / 2, "mss random: %lu changed", changed);
	CHECK(odd > n / 100 && twice > n / 100 && held > n / 100, "mss random: the generator's "
	      "reach: %lu odd, %lu twice, %lu held", odd, twice, held);
}

/*
 * Random bytes shaped a little (a version, TCP, a SYN, lengths near the truth): nothing read
 * outside the buffer (ASan), nothing written when it returns false, and where the TCP header's
 * place is plain (IPv4, IPv6 without extension headers) a checksum that verified still verifies.
 */
static void test_mss_random_bytes(uint64_t seed, unsigned long n)
{
	struct test_rng rng;
	unsigned long changed = 0;

	printf("mss random bytes: seed %#llx, %lu packets\n", (unsigned long long)seed, n);
	test_rng_seed(&rng, seed);
	for (unsigned long i = 0; i < n; i++) {
		uint32_t len = rnd(&rng, 140), l4 = 0, end = len;
		int family = rnd(&rng, 2) ? AF_INET6 : AF_INET;
		uint8_t *buf = malloc(len ? len : 1), before[140];
		uint16_t mtu = rnd(&rng, 4) ? (uint16_t)(1280 + rnd(&rng, 200)) :
					      (uint16_t)test_rng_next(&rng);
		bool ret;

		if (!buf)
			abort();
		test_rng_bytes(&rng, buf, len);
		if (family == AF_INET && len >= 20 && rnd(&rng, 8)) {
			buf[0] = (uint8_t)(0x40 | (5 + rnd(&rng, 4)));
			buf[9] = IPPROTO_TCP;
			buf[6] &= rnd(&rng, 4) ? 0xc0 : 0xff;
			if (rnd(&rng, 2))
				put16(buf + 2, len - rnd(&rng, 4));
			l4 = (buf[0] & 0xf) * 4u;
			end = get16(buf + 2) < len ? get16(buf + 2) : len;
		} else if (family == AF_INET6 && len >= 40 && rnd(&rng, 8)) {
			buf[0] = 0x60;
			if (rnd(&rng, 2))
				buf[6] = IPPROTO_TCP;
			if (rnd(&rng, 2))
				put16(buf + 4, len - 40 - rnd(&rng, 4));
			l4 = buf[6] == IPPROTO_TCP ? 40 : 0;
			end = 40u + get16(buf + 4) < len ? 40u + get16(buf + 4) : len;
		}
		if (l4 && l4 + 20 <= end) {
			buf[l4 + 13] = rnd(&rng, 4) ? SYN | (buf[l4 + 13] & ACK) : buf[l4 + 13];
			if (rnd(&rng, 2))
				buf[l4 + 12] = (uint8_t)((5 + rnd(&rng, 11)) << 4);
			if (rnd(&rng, 2) && l4 + 24 <= end) { /* an MSS first, at times */
				buf[l4 + 20] = 2;
				buf[l4 + 21] = 4;
			}
			put16(buf + l4 + 16, tcp_csum(buf, family, l4, end - l4));
		} else {
			l4 = 0;
		}
		memcpy(before, buf, len);
		ret = router_clamp_mss(buf, len, family, mtu);
		if (!ret)
			PROP_CHECK(memcmp(buf, before, len) == 0,
				   "random bytes %lu: false, but changed", i);
		else if (l4)
			PROP_CHECK(get16(buf + l4 + 16) == tcp_csum(buf, family, l4, end - l4),
				   "random bytes %lu: the checksum does not verify", i);
		changed += ret;
		free(buf);
	}
	printf("  %lu changed\n", changed);
	CHECK(changed > n / 1000, "random bytes: only %lu changed", changed);
}

int main(void)
{
	test_ttl_table();
	test_ttl_every_checksum();
	test_ttl_random(0x77100001, 1000000);
	test_hop_limit();
	test_mss_options();
	test_mss_odd_offset_discriminates();
	test_mss_fold_twice();
	test_mss_values();
	test_mss_flags();
	test_mss_ip4();
	test_mss_ip6();
	test_mss_truncation();
	test_mss_random(0x355ca1, 300000);
	test_mss_random_bytes(0xb17e5, 300000);
	return test_done("router");
}
