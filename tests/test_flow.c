/* SPDX-License-Identifier: MIT */
/*
 * The flow table and its packet parser. Hand-made packets (TCP and UDP over IPv4 with options and
 * over IPv6 through a chain of extension headers, ICMP and ICMPv6 echo both ways, errors quoting a
 * packet, fragments) and every cut of each, in a buffer of exactly the cut's size so that ASan sees
 * a read past the end; random bytes. Hand-made table cases with a fake clock: the TCP states and
 * their timeouts, UDP, reply detection, expiry by lookup and by the sweep, eviction when the table
 * or a key's two buckets are full, counters, flow_top, stats. Then a differential test against a
 * naive model (tests/flow_model.h: an array searched linearly, the timeout rules written again as
 * a transition table) on long random streams, which predicts every flow that leaves the table,
 * why, and where a new one is filed, and compares every flow after every step.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "flow.h"
#include "harness.h"

/* The model's checks: only the first 10 failures of a differential run are printed. */
#define MODEL_CHECK(m, cond, ...)                            \
	do {                                                 \
		if (!(cond) && (m)->failures++ < 10)         \
			CHECK(cond, __VA_ARGS__);            \
		else if (cond)                               \
			test_checks_passed++;                \
	} while (0)

#include "flow_model.h"

#define S(x) ((uint64_t)(x) * 1000000000ULL)

static const uint8_t A4[4] = { 10, 0, 0, 1 }, B4[4] = { 192, 168, 7, 2 }, R4[4] = { 10, 0, 0, 254 };
static const uint8_t A6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t B6[16] = { 0xfd, 0x00, [14] = 0xbe, [15] = 0xef };
static const uint8_t R6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0xfe };

/* ---- Packet builders: each writes one header at p and returns its length ---- */

static void put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* IPv4 with optwords 4-byte words of options; total = header + payload. */
static size_t ip4(uint8_t *p, uint8_t proto, const uint8_t *src, const uint8_t *dst,
		  unsigned int optwords, unsigned int fragfield, size_t payload)
{
	size_t hl = 20 + 4 * optwords;

	memset(p, 0, hl);
	p[0] = (uint8_t)(0x40 | (hl / 4));
	put16(p + 2, (unsigned int)(hl + payload));
	put16(p + 4, 0x1234);
	put16(p + 6, fragfield);
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	for (size_t i = 20; i < hl; i++)
		p[i] = 1; /* NOP options */
	return hl;
}

static size_t ip6(uint8_t *p, uint8_t nh, const uint8_t *src, const uint8_t *dst, size_t payload)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, (unsigned int)payload);
	p[6] = nh;
	p[7] = 64;
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
	if (n > 2)
		p[2] = 1; /* PadN, so the options parse for anyone who looks */
	return n;
}

/* AH with words 4-byte words in all (RFC 4302: its length field is words - 2). */
static size_t ah6(uint8_t *p, uint8_t nh, unsigned int words)
{
	memset(p, 0, words * 4);
	p[0] = nh;
	p[1] = (uint8_t)(words - 2);
	memset(p + 4, 0xaa, 8); /* SPI, sequence */
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

static size_t tcp(uint8_t *p, unsigned int sport, unsigned int dport, uint8_t flags,
		  unsigned int doff)
{
	memset(p, 0, doff * 4);
	put16(p, sport);
	put16(p + 2, dport);
	p[12] = (uint8_t)(doff << 4);
	p[13] = flags | 0x08; /* PSH: not one we track, must be ignored */
	put16(p + 14, 65535);
	return doff * 4;
}

static size_t udp(uint8_t *p, unsigned int sport, unsigned int dport, size_t payload)
{
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, (unsigned int)(8 + payload));
	put16(p + 6, 0);
	return 8;
}

static size_t icmp(uint8_t *p, uint8_t type, uint8_t code, unsigned int id, unsigned int seq)
{
	p[0] = type;
	p[1] = code;
	put16(p + 2, 0);
	put16(p + 4, id);
	put16(p + 6, seq);
	return 8;
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(0x41 + i * 7);
}

static struct flow_key key(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
			   uint16_t sport, uint16_t dport)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	memcpy(k.src, src, family == AF_INET ? 4 : 16);
	memcpy(k.dst, dst, family == AF_INET ? 4 : 16);
	k.proto = proto;
	k.family = (uint8_t)family;
	k.sport = sport;
	k.dport = dport;
	return k;
}

/* Parses a copy of exactly n bytes (NULL for none), so ASan sees any read past the end. */
static int parse_exact(const uint8_t *pkt, size_t n, struct flow_key *k, struct flow_pkt *info)
{
	uint8_t *c = n ? malloc(n) : NULL;
	int ret;

	if (n && !c)
		abort();
	if (n)
		memcpy(c, pkt, n);
	ret = flow_key_from_packet(c, n, k, info);
	free(c);
	return ret;
}

/* The IP header's own length set to n, where the header has room for it. */
static void set_ip_len(uint8_t *p, size_t n)
{
	if ((p[0] >> 4) == 4 && n >= 4)
		put16(p + 2, (unsigned int)n);
	else if ((p[0] >> 4) == 6 && n >= 6)
		put16(p + 4, n >= 40 ? (unsigned int)(n - 40) : 0);
}

/*
 * Every cut of pkt (whose IP length is len): refused while the IP header still claims len; with
 * the IP length set to the cut, refused below min_ok and the same key from there on.
 */
static void check_cuts(const char *what, const uint8_t *pkt, size_t len, size_t min_ok)
{
	struct flow_key want, k;
	struct flow_pkt info;
	uint8_t *c = malloc(len);
	unsigned int bad = 0;

	if (!c)
		abort();
	CHECK(parse_exact(pkt, len, &want, &info) == 0, "%s: whole", what);
	for (size_t n = 0; n < len; n++) {
		int ret = parse_exact(pkt, n, &k, &info);

		bad += ret != -EINVAL;
		memcpy(c, pkt, len);
		set_ip_len(c, n);
		ret = parse_exact(c, n, &k, &info);
		if (n < min_ok)
			bad += ret != -EINVAL;
		else
			bad += ret != 0 || !key_eq(&k, &want);
	}
	CHECK(bad == 0, "%s: %u of %zu cuts wrong", what, bad, 2 * len);
	free(c);
}

static void test_parse_tcp_udp(void)
{
	uint8_t p[512];
	struct flow_key k, want;
	struct flow_pkt info;
	size_t n, hl;

	/* A TCP SYN over IPv4 with 12 bytes of options, TCP options (doff 8), link padding. */
	hl = ip4(p, IPPROTO_TCP, A4, B4, 3, 0x4000 /* DF */, 32 + 10);
	n = hl + tcp(p + hl, 40000, 443, FLOW_TCP_SYN, 8);
	fill(p + n, 10);
	n += 10;
	memset(p + n, 0xee, 6);
	CHECK(flow_key_from_packet(p, n + 6, &k, &info) == 0, "tcp4");
	want = key(AF_INET, A4, B4, IPPROTO_TCP, 40000, 443);
	CHECK(key_eq(&k, &want), "tcp4 key");
	CHECK(info.len == n && info.l4_off == 32 && info.flags == 0, "tcp4 info %u %u %u", info.len,
	      info.l4_off, info.flags);
	CHECK(info.tcp_flags == FLOW_TCP_SYN, "tcp4 flags %#x", info.tcp_flags);
	check_cuts("tcp4", p, n, 32 + 32);

	/* The TCP data offset must be 5..what is there. */
	p[32 + 12] = 4 << 4;
	CHECK(flow_key_from_packet(p, n, &k, &info) == -EINVAL, "doff 4");
	p[32 + 12] = 15 << 4; /* 60 bytes > 42 */
	CHECK(flow_key_from_packet(p, n, &k, &info) == -EINVAL, "doff past the end");
	p[32 + 12] = 8 << 4;
	p[32 + 13] = 0xff; /* every flag: only the four we track */
	CHECK(flow_key_from_packet(p, n, &k, &info) == 0 &&
	      info.tcp_flags == (FLOW_TCP_FIN | FLOW_TCP_SYN | FLOW_TCP_RST | FLOW_TCP_ACK),
	      "flags masked");

	/* IHL and total length. */
	p[0] = 0x44;
	CHECK(flow_key_from_packet(p, n, &k, &info) == -EINVAL, "IHL 4");
	p[0] = 0x48;
	put16(p + 2, 19);
	CHECK(flow_key_from_packet(p, n, &k, &info) == -EINVAL, "total length below IHL");
	put16(p + 2, (unsigned int)n);
	p[0] = 0x58;
	CHECK(flow_key_from_packet(p, n, &k, &info) == -EINVAL, "version 5");

	/* UDP over IPv4, no options. */
	hl = ip4(p, IPPROTO_UDP, B4, A4, 0, 0, 8 + 3);
	n = hl + udp(p + hl, 53, 5353, 3);
	fill(p + n, 3);
	n += 3;
	CHECK(flow_key_from_packet(p, n, &k, &info) == 0, "udp4");
	want = key(AF_INET, B4, A4, IPPROTO_UDP, 53, 5353);
	CHECK(key_eq(&k, &want) && info.tcp_flags == 0 && info.l4_off == 20, "udp4 key");
	check_cuts("udp4", p, n, 28);

	/* UDP-Lite, SCTP, DCCP: ports; something else: a 3-tuple. */
	hl = ip4(p, IPPROTO_SCTP, A4, B4, 0, 0, 12);
	put16(p + hl, 7);
	put16(p + hl + 2, 9);
	memset(p + hl + 4, 0, 8);
	CHECK(flow_key_from_packet(p, hl + 12, &k, &info) == 0 && k.sport == 7 && k.dport == 9,
	      "sctp");
	check_cuts("sctp", p, hl + 12, hl + 12);
	p[9] = IPPROTO_DCCP;
	CHECK(flow_key_from_packet(p, hl + 12, &k, &info) == 0 && k.sport == 7 && k.proto == 33,
	      "dccp");
	p[9] = IPPROTO_UDPLITE;
	CHECK(flow_key_from_packet(p, hl + 12, &k, &info) == 0 && k.dport == 9, "udplite");
	p[9] = 47; /* GRE */
	want = key(AF_INET, A4, B4, 47, 0, 0);
	CHECK(flow_key_from_packet(p, hl + 12, &k, &info) == 0 && key_eq(&k, &want), "gre");
	check_cuts("gre", p, hl + 12, hl);

	/*
	 * TCP over IPv6 through hop-by-hop, routing, an atomic fragment, AH and destination
	 * options: the walk must reach the ports.
	 */
	n = 40;
	n += ext6(p + n, IPPROTO_ROUTING, 0);
	n += ext6(p + n, IPPROTO_FRAGMENT, 2);
	n += frag6(p + n, IPPROTO_AH, 0, false);
	n += ah6(p + n, IPPROTO_DSTOPTS, 6);
	n += ext6(p + n, IPPROTO_TCP, 1);
	hl = n;
	n += tcp(p + n, 22, 50000, FLOW_TCP_SYN | FLOW_TCP_ACK, 5);
	fill(p + n, 7);
	n += 7;
	ip6(p, IPPROTO_HOPOPTS, B6, A6, n - 40);
	CHECK(flow_key_from_packet(p, n, &k, &info) == 0, "tcp6 chain");
	want = key(AF_INET6, B6, A6, IPPROTO_TCP, 22, 50000);
	CHECK(key_eq(&k, &want), "tcp6 key");
	CHECK(info.len == n && info.l4_off == hl && info.flags == 0, "tcp6 info");
	CHECK(info.tcp_flags == (FLOW_TCP_SYN | FLOW_TCP_ACK), "tcp6 flags");
	check_cuts("tcp6 chain", p, n, hl + 20);

	/* Hop-by-hop anywhere but first is refused. */
	p[40] = IPPROTO_HOPOPTS;
	CHECK(flow_key_from_packet(p, n, &k, &info) == -EINVAL, "misplaced hop-by-hop");
	p[40] = IPPROTO_ROUTING;
	CHECK(flow_key_from_packet(p, n, &k, &info) == 0, "restored");
	/* AH shorter than its fixed part. */
	p[40 + 8 + 24 + 8 + 1] = 0;
	CHECK(flow_key_from_packet(p, n, &k, &info) == -EINVAL, "AH length 0");

	/* Exactly FLOW_MAX_EXTHDRS extension headers pass; one more is refused. */
	for (unsigned int extra = 0; extra <= 1; extra++) {
		unsigned int count = FLOW_MAX_EXTHDRS + extra;

		n = 40;
		for (unsigned int i = 0; i < count; i++)
			n += ext6(p + n, i + 1 < count ? IPPROTO_DSTOPTS : IPPROTO_UDP, 0);
		n += udp(p + n, 1, 2, 0);
		ip6(p, IPPROTO_DSTOPTS, A6, B6, n - 40);
		CHECK(flow_key_from_packet(p, n, &k, &info) == (extra ? -EINVAL : 0),
		      "%u extension headers", count);
	}

	/* ESP and "no next header" end the walk: 3-tuples. */
	n = 40 + ext6(p + 40, 50, 0);
	memset(p + n, 0xcc, 16);
	n += 16;
	ip6(p, IPPROTO_DSTOPTS, A6, B6, n - 40);
	want = key(AF_INET6, A6, B6, 50, 0, 0);
	CHECK(flow_key_from_packet(p, n, &k, &info) == 0 && key_eq(&k, &want) && info.l4_off == 48,
	      "esp");
	ip6(p, IPPROTO_NONE, A6, B6, 0);
	want = key(AF_INET6, A6, B6, IPPROTO_NONE, 0, 0);
	CHECK(flow_key_from_packet(p, 40, &k, &info) == 0 && key_eq(&k, &want), "no next header");
	check_cuts("no next header", p, 40, 40);
	p[0] = 0x70;
	CHECK(flow_key_from_packet(p, 40, &k, &info) == -EINVAL, "version 7");
	CHECK(flow_key_from_packet(p, 0, &k, &info) == -EINVAL, "empty");
}

static void test_parse_icmp(void)
{
	uint8_t p[512], q[512];
	struct flow_key k, k2, rev, want;
	struct flow_pkt info;
	size_t n, hl, qn;

	/* Echo request A->B and its reply B->A: the reply reversed is the request. */
	hl = ip4(p, IPPROTO_ICMP, A4, B4, 0, 0, 8 + 16);
	n = hl + icmp(p + hl, 8, 0, 0x4242, 1);
	fill(p + n, 16);
	n += 16;
	CHECK(flow_key_from_packet(p, n, &k, &info) == 0, "echo request");
	want = key(AF_INET, A4, B4, IPPROTO_ICMP, 0x4242, 0x4242);
	CHECK(key_eq(&k, &want) && info.icmp_type == 8 && info.flags == 0, "echo request key");
	check_cuts("echo request", p, n, hl + 8);
	hl = ip4(q, IPPROTO_ICMP, B4, A4, 0, 0, 8 + 16);
	qn = hl + icmp(q + hl, 0, 0, 0x4242, 1);
	fill(q + qn, 16);
	qn += 16;
	CHECK(flow_key_from_packet(q, qn, &k2, &info) == 0 && info.icmp_type == 0, "echo reply");
	flow_key_reverse(&rev, &k2);
	CHECK(key_eq(&rev, &k), "echo reply reversed is the request");
	/* Timestamp, information and address mask queries alike; a router advertisement is not. */
	for (uint8_t type = 13; type <= 18; type++) {
		icmp(q + hl, type, 0, 7, 0);
		CHECK(flow_key_from_packet(q, qn, &k2, &info) == 0 && k2.sport == 7 &&
		      k2.dport == 7, "query type %u", type);
	}
	icmp(q + hl, 9, 0, 7, 0);
	CHECK(flow_key_from_packet(q, qn, &k2, &info) == 0 && k2.sport == 0 && k2.dport == 0 &&
	      info.icmp_type == 9, "router advertisement");

	/* ICMPv6 echo, both ways. */
	hl = ip6(p, IPPROTO_ICMPV6, A6, B6, 8 + 8);
	n = hl + icmp(p + hl, 128, 0, 0x0101, 9);
	fill(p + n, 8);
	n += 8;
	CHECK(flow_key_from_packet(p, n, &k, &info) == 0 && info.icmp_type == 128, "echo6 request");
	want = key(AF_INET6, A6, B6, IPPROTO_ICMPV6, 0x0101, 0x0101);
	CHECK(key_eq(&k, &want), "echo6 request key");
	check_cuts("echo6 request", p, n, 48);
	ip6(q, IPPROTO_ICMPV6, B6, A6, 8);
	icmp(q + 40, 129, 0, 0x0101, 9);
	CHECK(flow_key_from_packet(q, 48, &k2, &info) == 0, "echo6 reply");
	flow_key_reverse(&rev, &k2);
	CHECK(key_eq(&rev, &k), "echo6 reply reversed is the request");
	/* Neighbour solicitation: no identifier, a 3-tuple. */
	icmp(q + 40, 135, 0, 0x0101, 9);
	CHECK(flow_key_from_packet(q, 48, &k2, &info) == 0 && k2.sport == 0 && info.flags == 0,
	      "neighbour solicitation");

	/*
	 * Port unreachable from B about A's UDP datagram to B (its header and 8 bytes, as RFC 792
	 * has it): the key is the datagram's as it went, A->B, and RELATED.
	 */
	hl = ip4(q, IPPROTO_UDP, A4, B4, 1, 0, 8 + 100); /* the datagram claims 100 bytes */
	qn = hl + udp(q + hl, 33000, 53, 100);
	hl = ip4(p, IPPROTO_ICMP, B4, A4, 0, 0, 8 + qn);
	n = hl + icmp(p + hl, 3, 3, 0, 0);
	memcpy(p + n, q, qn);
	n += qn;
	CHECK(flow_key_from_packet(p, n, &k, &info) == 0, "port unreachable");
	want = key(AF_INET, A4, B4, IPPROTO_UDP, 33000, 53);
	CHECK(key_eq(&k, &want), "port unreachable: the datagram's key");
	CHECK(info.flags == FLOW_PKT_RELATED && info.icmp_type == 3 && info.icmp_code == 3 &&
	      info.len == n && info.l4_off == 20, "port unreachable info");
	check_cuts("port unreachable", p, n, n);
	/* Time exceeded from a router, about an echo request: the echo's key. */
	hl = ip4(q, IPPROTO_ICMP, A4, B4, 0, 0, 8 + 56);
	qn = hl + icmp(q + hl, 8, 0, 0x77, 3);
	hl = ip4(p, IPPROTO_ICMP, R4, A4, 0, 0, 8 + qn);
	n = hl + icmp(p + hl, 11, 0, 0, 0);
	memcpy(p + n, q, qn);
	n += qn;
	want = key(AF_INET, A4, B4, IPPROTO_ICMP, 0x77, 0x77);
	CHECK(flow_key_from_packet(p, n, &k, &info) == 0 && key_eq(&k, &want) &&
	      info.flags == FLOW_PKT_RELATED && info.icmp_type == 11, "time exceeded about echo");
	/*
	 * An error about an error is refused, even when the quoted error quotes a whole packet
	 * (routers quote more than 8 bytes); so is an IPv6 packet quoted by ICMP.
	 */
	{
		uint8_t inner[64];
		size_t in = ip4(inner, IPPROTO_UDP, A4, B4, 0, 0, 8);

		in += udp(inner + in, 33000, 53, 0);
		hl = ip4(q, IPPROTO_ICMP, B4, A4, 0, 0, 8 + in);
		qn = hl + icmp(q + hl, 3, 3, 0, 0);
		memcpy(q + qn, inner, in);
		qn += in;
		hl = ip4(p, IPPROTO_ICMP, R4, B4, 0, 0, 8 + qn);
		n = hl + icmp(p + hl, 11, 0, 0, 0);
		memcpy(p + n, q, qn);
		n += qn;
		CHECK(flow_key_from_packet(q, qn, &k, &info) == 0, "the quoted error alone");
		CHECK(flow_key_from_packet(p, n, &k, &info) == -EINVAL, "error about an error");
	}
	ip6(q, IPPROTO_UDP, A6, B6, 8);
	udp(q + 40, 1, 2, 0);
	hl = ip4(p, IPPROTO_ICMP, R4, A4, 0, 0, 8 + 48);
	icmp(p + hl, 3, 0, 0, 0);
	memcpy(p + hl + 8, q, 48);
	CHECK(flow_key_from_packet(p, hl + 56, &k, &info) == -EINVAL, "IPv6 quoted by ICMP");
	/* A quoted fragment is keyed as that fragment travelled: a 3-tuple. */
	hl = ip4(q, IPPROTO_UDP, A4, B4, 0, 0x2000, 8 + 1000);
	qn = hl + udp(q + hl, 33000, 53, 2000);
	hl = ip4(p, IPPROTO_ICMP, B4, A4, 0, 0, 8 + qn);
	icmp(p + hl, 3, 3, 0, 0);
	memcpy(p + hl + 8, q, qn);
	want = key(AF_INET, A4, B4, IPPROTO_UDP, 0, 0);
	CHECK(flow_key_from_packet(p, hl + 8 + qn, &k, &info) == 0 && key_eq(&k, &want) &&
	      info.flags == (FLOW_PKT_RELATED | FLOW_PKT_FRAGMENT), "quoted fragment");

	/* Packet too big from a router about A's UDP over IPv6 with a destination option. */
	qn = 40 + ext6(q + 40, IPPROTO_UDP, 0);
	qn += udp(q + qn, 4500, 4500, 1400);
	ip6(q, IPPROTO_DSTOPTS, A6, B6, qn - 40 + 1400);
	hl = ip6(p, IPPROTO_ICMPV6, R6, A6, 8 + qn);
	n = hl + icmp(p + hl, 2, 0, 0, 1280);
	memcpy(p + n, q, qn);
	n += qn;
	want = key(AF_INET6, A6, B6, IPPROTO_UDP, 4500, 4500);
	CHECK(flow_key_from_packet(p, n, &k, &info) == 0 && key_eq(&k, &want) &&
	      info.flags == FLOW_PKT_RELATED && info.icmp_type == 2, "packet too big");
	check_cuts("packet too big", p, n, n);
	/* ICMPv6 errors of types 1-4 only; quoting any error (type < 128) is refused. */
	p[40] = 5; /* unassigned error type: neither related nor refused */
	CHECK(flow_key_from_packet(p, n, &k, &info) == 0 && info.flags == 0 && k.sport == 0,
	      "ICMPv6 type 5");
	/* An ICMPv6 error quoting an error that quotes a whole UDP packet. */
	ip6(q, IPPROTO_ICMPV6, A6, B6, 8 + 48);
	icmp(q + 40, 1, 4, 0, 0);
	ip6(q + 48, IPPROTO_UDP, A6, B6, 8);
	udp(q + 88, 7, 7, 0);
	memcpy(p + 48, q, 96);
	ip6(p, IPPROTO_ICMPV6, R6, A6, 8 + 96);
	icmp(p + 40, 1, 4, 0, 0);
	CHECK(flow_key_from_packet(q, 96, &k, &info) == 0, "the quoted ICMPv6 error alone");
	CHECK(flow_key_from_packet(p, 144, &k, &info) == -EINVAL, "ICMPv6 error about an error");
	ip6(q, IPPROTO_ICMPV6, A6, B6, 8);
	icmp(q + 40, 128, 0, 0x99, 0); /* about an echo request: fine */
	memcpy(p + 48, q, 48);
	ip6(p, IPPROTO_ICMPV6, R6, A6, 8 + 48);
	want = key(AF_INET6, A6, B6, IPPROTO_ICMPV6, 0x99, 0x99);
	CHECK(flow_key_from_packet(p, 96, &k, &info) == 0 && key_eq(&k, &want), "about echo6");
}

static void test_parse_fragments(void)
{
	uint8_t p[256];
	struct flow_key k1, k2, k3, want;
	struct flow_pkt info;
	size_t hl, n;

	/* IPv4: the first fragment (MF, offset 0) carries the UDP header; the last does not. */
	hl = ip4(p, IPPROTO_UDP, A4, B4, 0, 0x2000, 8 + 64);
	n = hl + udp(p + hl, 4000, 4001, 2000);
	fill(p + n, 64);
	n += 64;
	CHECK(flow_key_from_packet(p, n, &k1, &info) == 0 && info.flags == FLOW_PKT_FRAGMENT &&
	      info.l4_off == 20, "v4 first fragment");
	check_cuts("v4 first fragment", p, n, 20);
	hl = ip4(p, IPPROTO_UDP, A4, B4, 0, 9, 40); /* offset 72 bytes, last */
	fill(p + hl, 40);
	CHECK(flow_key_from_packet(p, hl + 40, &k2, &info) == 0 && info.flags == FLOW_PKT_FRAGMENT,
	      "v4 last fragment");
	want = key(AF_INET, A4, B4, IPPROTO_UDP, 0, 0);
	CHECK(key_eq(&k1, &want) && key_eq(&k2, &want), "v4 fragments share a 3-tuple");
	/* DF alone is no fragment. */
	hl = ip4(p, IPPROTO_UDP, A4, B4, 0, 0x4000, 8);
	udp(p + hl, 4000, 4001, 0);
	CHECK(flow_key_from_packet(p, hl + 8, &k3, &info) == 0 && info.flags == 0 &&
	      k3.sport == 4000, "DF");

	/* IPv6: first and later fragments behind a destination option; an atomic one is whole. */
	n = 40 + ext6(p + 40, IPPROTO_FRAGMENT, 0);
	hl = n + frag6(p + n, IPPROTO_TCP, 0, true);
	n = hl + tcp(p + hl, 443, 50000, FLOW_TCP_ACK, 5);
	ip6(p, IPPROTO_DSTOPTS, B6, A6, n - 40);
	CHECK(flow_key_from_packet(p, n, &k1, &info) == 0 && info.flags == FLOW_PKT_FRAGMENT &&
	      info.l4_off == hl && info.tcp_flags == 0, "v6 first fragment");
	check_cuts("v6 first fragment", p, n, hl);
	frag6(p + 48, IPPROTO_TCP, 100, false);
	CHECK(flow_key_from_packet(p, n, &k2, &info) == 0 && info.flags == FLOW_PKT_FRAGMENT,
	      "v6 last fragment");
	want = key(AF_INET6, B6, A6, IPPROTO_TCP, 0, 0);
	CHECK(key_eq(&k1, &want) && key_eq(&k2, &want), "v6 fragments share a 3-tuple");
	frag6(p + 48, IPPROTO_TCP, 0, false);
	want = key(AF_INET6, B6, A6, IPPROTO_TCP, 443, 50000);
	CHECK(flow_key_from_packet(p, n, &k3, &info) == 0 && info.flags == 0 &&
	      key_eq(&k3, &want) && info.tcp_flags == FLOW_TCP_ACK, "v6 atomic fragment");
}

/* Random bytes behind a version nibble: refused or a well-formed key, never a read past the end. */
static void test_parse_random(uint64_t seed, unsigned long rounds)
{
	struct test_rng rng;
	uint8_t buf[160];
	unsigned long ok = 0, bad = 0;

	test_rng_seed(&rng, seed);
	printf("parse random: seed %llu, %lu packets\n", (unsigned long long)seed, rounds);
	for (unsigned long i = 0; i < rounds; i++) {
		size_t n = test_rng_next(&rng) % sizeof(buf);
		struct flow_key k;
		struct flow_pkt info;
		int ret;

		test_rng_bytes(&rng, buf, sizeof(buf));
		buf[0] = (uint8_t)((i & 1 ? 0x40 : 0x60) | (buf[0] & 0xf));
		if (n >= 4 && (i & 2)) /* often a consistent length, to get further in */
			set_ip_len(buf, n);
		if (i & 4)
			buf[i & 1 ? 9 : 6] = (uint8_t[]){ 1, 6, 17, 58, 0, 44 }[i % 6];
		ret = parse_exact(buf, n, &k, &info);
		if (ret == 0) {
			ok++;
			bad += k.zero[0] || k.zero[1] || info.len > n || info.l4_off > info.len;
			bad += k.family != (i & 1 ? AF_INET : AF_INET6);
			if (k.family == AF_INET)
				for (int j = 4; j < 16; j++)
					bad += k.src[j] || k.dst[j];
		} else {
			bad += ret != -EINVAL;
		}
	}
	CHECK(bad == 0, "%lu malformed results", bad);
	CHECK(ok > rounds / 50, "only %lu of %lu parsed: the generator is too weak", ok, rounds);
}

/* ---- The table, by hand ---- */

struct ends {
	struct flow_key key[64];
	enum flow_end why[64];
	unsigned int n;
};

static void on_end(void *arg, const struct flow *f, enum flow_end why)
{
	struct ends *e = arg;

	if (e->n < 64) {
		e->key[e->n] = f->key;
		e->why[e->n] = why;
	}
	e->n++;
}

static void acct(struct flow_table *t, struct flow *f, bool reply, uint8_t tcp_flags,
		 uint32_t bytes, uint64_t now)
{
	struct flow_pkt info = { .len = bytes, .tcp_flags = tcp_flags };

	CHECK(f != NULL, "a flow to account on");
	if (f)
		flow_account(t, f, reply, &info, bytes, now);
}

static struct flow_table *table(uint32_t max_flows, struct ends *e)
{
	struct flow_table *t = flow_table_create(max_flows, 0x5eed0000 + max_flows, NULL);

	if (!t)
		abort();
	memset(e, 0, sizeof(*e));
	flow_table_on_end(t, on_end, e);
	return t;
}

static void test_tcp_lifecycle(void)
{
	struct flow_key k = key(AF_INET, A4, B4, IPPROTO_TCP, 40000, 443), r;
	struct flow_stats st;
	struct ends e;
	struct flow_table *t = table(64, &e);
	struct flow *f;
	uint64_t t0 = S(1000), t1;
	bool reply = true;

	flow_key_reverse(&r, &k);
	CHECK(flow_lookup(t, &k, t0, &reply) == NULL, "empty");
	f = flow_create(t, &k, t0);
	CHECK(f && f->state == FLOW_TCP_NEW && f->deadline_ns == t0 + S(120), "new");
	CHECK(f->verdict == 0 && f->peer == 0 && f->packets[0] == 0 && f->created_ns == t0,
	      "zeroed");
	CHECK(flow_create(t, &k, t0) == NULL && flow_create(t, &r, t0) == NULL, "no duplicates");
	f->verdict = 0xabcd0001;
	f->peer = 7;
	acct(t, f, false, FLOW_TCP_SYN, 60, t0);
	CHECK(f->state == FLOW_TCP_SYN_SENT && f->deadline_ns == t0 + S(120) && !f->replied,
	      "syn sent");
	/* A retransmitted SYN just refreshes. */
	acct(t, f, false, FLOW_TCP_SYN, 60, t0 + S(1));
	CHECK(f->state == FLOW_TCP_SYN_SENT && f->deadline_ns == t0 + S(121), "syn again");
	CHECK(flow_lookup(t, &r, t0 + S(2), &reply) == f && reply, "the SYN-ACK finds it as reply");
	acct(t, f, true, FLOW_TCP_SYN | FLOW_TCP_ACK, 60, t0 + S(2));
	CHECK(f->state == FLOW_TCP_ESTABLISHED && f->replied &&
	      f->deadline_ns == t0 + S(2 + 432000), "established");
	CHECK(flow_lookup(t, &k, t0 + S(3), &reply) == f && !reply, "the ACK finds it as original");
	acct(t, f, false, FLOW_TCP_ACK, 52, t0 + S(3));
	acct(t, f, true, FLOW_TCP_ACK, 1500, t0 + S(4));
	CHECK(f->state == FLOW_TCP_ESTABLISHED && f->deadline_ns == t0 + S(4 + 432000), "data");
	/* Alive a nanosecond before five days of silence, not at them. */
	t1 = t0 + S(4 + 432000);
	CHECK(flow_lookup(t, &k, t1 - 1, &reply) == f, "alive just before the deadline");
	acct(t, f, false, FLOW_TCP_FIN | FLOW_TCP_ACK, 52, t1 - 1);
	CHECK(f->state == FLOW_TCP_CLOSING && f->deadline_ns == t1 - 1 + S(120), "fin");
	acct(t, f, true, FLOW_TCP_ACK, 52, t1);
	acct(t, f, true, FLOW_TCP_FIN | FLOW_TCP_ACK, 52, t1);
	acct(t, f, false, FLOW_TCP_ACK, 52, t1 + S(1));
	CHECK(f->state == FLOW_TCP_CLOSING && f->deadline_ns == t1 + S(121), "time wait");
	CHECK(f->packets[0] == 5 && f->packets[1] == 4, "packets %llu %llu",
	      (unsigned long long)f->packets[0], (unsigned long long)f->packets[1]);
	CHECK(f->bytes[0] == 60 + 60 + 52 + 52 + 52 && f->bytes[1] == 60 + 1500 + 52 + 52, "bytes");
	CHECK(f->last_ns == t1 + S(1) && f->verdict == 0xabcd0001 && f->peer == 7, "kept");
	CHECK(flow_lookup(t, &r, t1 + S(121) - 1, &reply) == f, "closing: alive");
	CHECK(e.n == 0, "nothing ended yet");
	CHECK(flow_lookup(t, &r, t1 + S(121), &reply) == NULL, "closing: gone at its deadline");
	CHECK(e.n == 1 && e.why[0] == FLOW_END_EXPIRED && key_eq(&e.key[0], &k), "hook: expired");
	flow_table_stats(t, &st);
	CHECK(st.in_use == 0 && st.created == 1 && st.expired == 1 && st.evicted == 0 &&
	      st.max_flows == 64, "stats");

	/* A SYN that is never answered: gone after syn_sent. */
	f = flow_create(t, &k, t0);
	acct(t, f, false, FLOW_TCP_SYN, 60, t0);
	CHECK(flow_lookup(t, &k, t0 + S(120) - 1, &reply) == f, "syn: alive");
	CHECK(flow_lookup(t, &k, t0 + S(120), &reply) == NULL, "syn: gone");

	/* RST either way: CLOSE, ten seconds; a lone SYN from the originator reopens. */
	f = flow_create(t, &k, t0);
	acct(t, f, false, FLOW_TCP_SYN, 60, t0);
	acct(t, f, true, FLOW_TCP_SYN | FLOW_TCP_ACK, 60, t0);
	acct(t, f, true, FLOW_TCP_RST | FLOW_TCP_ACK, 40, t0 + S(1));
	CHECK(f->state == FLOW_TCP_CLOSE && f->deadline_ns == t0 + S(11), "rst");
	acct(t, f, false, FLOW_TCP_FIN, 40, t0 + S(2));
	CHECK(f->state == FLOW_TCP_CLOSE && f->deadline_ns == t0 + S(12), "a FIN after RST");
	acct(t, f, true, FLOW_TCP_SYN, 40, t0 + S(2));
	CHECK(f->state == FLOW_TCP_CLOSE, "a SYN from the other end does not reopen");
	acct(t, f, false, FLOW_TCP_SYN, 60, t0 + S(3));
	CHECK(f->state == FLOW_TCP_SYN_SENT && !f->replied && f->deadline_ns == t0 + S(123),
	      "reopened");
	acct(t, f, true, FLOW_TCP_SYN | FLOW_TCP_ACK, 60, t0 + S(3));
	acct(t, f, false, FLOW_TCP_FIN | FLOW_TCP_ACK, 60, t0 + S(4));
	CHECK(f->state == FLOW_TCP_CLOSING, "closing again");
	acct(t, f, false, FLOW_TCP_SYN, 60, t0 + S(5));
	CHECK(f->state == FLOW_TCP_SYN_SENT && !f->replied, "reopened from closing");
	CHECK(flow_lookup(t, &k, t0 + S(5 + 120), &reply) == NULL, "reopened: syn_sent timeout");

	/* Loose pickup: the first packet is an ACK (a connection older than the gateway). */
	f = flow_create(t, &r, t0);
	acct(t, f, false, FLOW_TCP_ACK, 1000, t0);
	CHECK(f->state == FLOW_TCP_ESTABLISHED && !f->replied && f->deadline_ns == t0 + S(300),
	      "picked up: unacknowledged timeout");
	acct(t, f, false, FLOW_TCP_ACK, 1000, t0 + S(10));
	CHECK(f->deadline_ns == t0 + S(310), "still unanswered");
	CHECK(flow_lookup(t, &k, t0 + S(11), &reply) == f && reply, "the other way is the reply");
	acct(t, f, true, FLOW_TCP_ACK, 40, t0 + S(11));
	CHECK(f->state == FLOW_TCP_ESTABLISHED && f->replied &&
	      f->deadline_ns == t0 + S(11 + 432000), "answered: established");
	CHECK(flow_lookup(t, &k, t0 + S(11 + 432000), &reply) == NULL, "gone");
	/* A SYN-ACK first (the SYN went another way) and a FIN first are picked up too. */
	f = flow_create(t, &r, t0);
	acct(t, f, false, FLOW_TCP_SYN | FLOW_TCP_ACK, 60, t0);
	CHECK(f->state == FLOW_TCP_ESTABLISHED && !f->replied, "syn-ack first");
	CHECK(flow_lookup(t, &r, t0 + S(300), &reply) == NULL, "syn-ack first: 300 s");
	f = flow_create(t, &r, t0);
	acct(t, f, false, FLOW_TCP_FIN | FLOW_TCP_ACK, 60, t0);
	CHECK(f->state == FLOW_TCP_CLOSING, "fin first");
	f = flow_lookup(t, &r, t0, &reply);
	acct(t, f, false, FLOW_TCP_RST, 40, t0);
	CHECK(f->state == FLOW_TCP_CLOSE && f->deadline_ns == t0 + S(10), "rst");
	/* NULL info: no flags. */
	flow_account(t, f, true, NULL, 40, t0 + S(1));
	CHECK(f->state == FLOW_TCP_CLOSE && f->packets[1] == 1 && f->replied, "no info");
	flow_table_destroy(t);
}

static void test_other_protocols(void)
{
	struct flow_key u = key(AF_INET6, A6, B6, IPPROTO_UDP, 5000, 53), ur;
	struct flow_key g = key(AF_INET, A4, B4, 47, 0, 0), pal = key(AF_INET, A4, A4, 17, 9, 9);
	struct flow_key frag = key(AF_INET, A4, B4, IPPROTO_TCP, 0, 0), ek, rk;
	struct flow_pkt info, rinfo;
	struct ends e;
	struct flow_table *t = table(64, &e);
	uint8_t p[64];
	struct flow *f;
	uint64_t t0 = S(50);
	bool reply;
	size_t hl;

	flow_key_reverse(&ur, &u);
	f = flow_create(t, &u, t0);
	CHECK(f && f->state == FLOW_UDP_UNREPLIED && f->deadline_ns == t0 + S(30), "udp new");
	acct(t, f, false, 0, 100, t0 + S(20));
	CHECK(f->state == FLOW_UDP_UNREPLIED && f->deadline_ns == t0 + S(50), "udp unreplied");
	CHECK(flow_lookup(t, &ur, t0 + S(49), &reply) == f && reply, "udp reply");
	acct(t, f, true, 0, 300, t0 + S(49));
	CHECK(f->state == FLOW_UDP_REPLIED && f->replied && f->deadline_ns == t0 + S(169),
	      "udp replied");
	acct(t, f, false, 0, 100, t0 + S(60));
	CHECK(f->state == FLOW_UDP_REPLIED && f->deadline_ns == t0 + S(180), "udp stream");
	CHECK(f->bytes[0] == 200 && f->bytes[1] == 300 && f->packets[0] == 2, "udp counters");
	/* A related packet (an ICMP error about it) is counted but keeps nothing alive. */
	info = (struct flow_pkt){ .flags = FLOW_PKT_RELATED, .icmp_type = 3 };
	flow_account(t, f, true, &info, 56, t0 + S(100));
	CHECK(f->packets[1] == 2 && f->bytes[1] == 356 && f->deadline_ns == t0 + S(180) &&
	      f->state == FLOW_UDP_REPLIED && f->last_ns == t0 + S(100), "related");
	CHECK(flow_lookup(t, &u, t0 + S(180), &reply) == NULL, "udp gone");

	/* ICMP echo through the parser: the reply finds the request's flow. */
	hl = ip4(p, IPPROTO_ICMP, A4, B4, 0, 0, 8);
	icmp(p + hl, 8, 0, 0x1234, 1);
	CHECK(flow_key_from_packet(p, hl + 8, &ek, &info) == 0, "echo");
	f = flow_create(t, &ek, t0);
	CHECK(f && f->state == FLOW_ICMP && f->deadline_ns == t0 + S(30), "icmp new");
	acct(t, f, false, 0, 28, t0);
	hl = ip4(p, IPPROTO_ICMP, B4, A4, 0, 0, 8);
	icmp(p + hl, 0, 0, 0x1234, 1);
	CHECK(flow_key_from_packet(p, hl + 8, &rk, &rinfo) == 0, "echo reply");
	CHECK(flow_lookup(t, &rk, t0 + S(1), &reply) == f && reply, "echo reply is the reply");
	flow_account(t, f, reply, &rinfo, rinfo.len, t0 + S(1));
	CHECK(f->state == FLOW_ICMP && f->replied && f->deadline_ns == t0 + S(31),
	      "icmp refreshed");

	f = flow_create(t, &g, t0);
	CHECK(f && f->state == FLOW_GENERIC && f->deadline_ns == t0 + S(600), "generic");
	acct(t, f, true, 0, 1, t0 + S(1));
	CHECK(f->deadline_ns == t0 + S(601) && f->replied && f->state == FLOW_GENERIC,
	      "generic reply");
	/* TCP fragments have no flags to follow: UDP's rule. */
	f = flow_create(t, &frag, t0);
	CHECK(f && f->state == FLOW_UDP_UNREPLIED && f->deadline_ns == t0 + S(30), "tcp fragments");
	/* A key that is its own reverse is always the original direction. */
	f = flow_create(t, &pal, t0);
	CHECK(f && flow_lookup(t, &pal, t0, &reply) == f && !reply, "palindrome");
	flow_table_destroy(t);
}

static void test_expiry(void)
{
	struct flow_timeouts to = FLOW_TIMEOUTS_DEFAULT;
	struct flow_key k[10], r;
	struct flow_stats st;
	struct ends e;
	struct flow_table *t = table(10, &e);
	struct flow *f[10];
	unsigned int freed = 0, calls = 0;
	bool reply;

	/* The defaults are Linux's. */
	CHECK(to.tcp_syn_sent == 120 && to.tcp_established == 432000 &&
	      to.tcp_unacknowledged == 300 && to.tcp_closing == 120 && to.tcp_close == 10 &&
	      to.udp_unreplied == 30 && to.udp_replied == 120 && to.icmp == 30 &&
	      to.generic == 600, "Linux's defaults");

	/* UDP flows created a second apart: deadlines 30..39 s. */
	for (unsigned int i = 0; i < 10; i++) {
		k[i] = key(AF_INET, A4, B4, IPPROTO_UDP, (uint16_t)(1000 + i), 53);
		f[i] = flow_create(t, &k[i], S(i));
		CHECK(f[i] != NULL, "create %u", i);
	}
	/* At 35 s six are dead; the sweep finds them 3 entries at a time, from where it stopped. */
	for (calls = 0; calls < 4; calls++)
		freed += flow_expire(t, S(35), 3);
	CHECK(freed == 6 && e.n == 6, "sweep freed %u (%u ends)", freed, e.n);
	for (unsigned int i = 0; i < 6 && i < e.n; i++)
		CHECK(e.why[i] == FLOW_END_EXPIRED && key_eq(&e.key[i], &k[i]), "sweep order %u",
		      i);
	for (unsigned int i = 0; i < 10; i++)
		CHECK((flow_lookup(t, &k[i], S(35), &reply) != NULL) == (i >= 6), "after sweep %u",
		      i);
	CHECK(flow_expire(t, S(35), 100) == 0, "nothing more");
	/* Expiry by lookup, from either direction. */
	flow_key_reverse(&r, &k[6]);
	CHECK(flow_lookup(t, &r, S(36), &reply) == NULL && e.n == 7, "expired by lookup");
	/* A create meeting its dead self frees it and makes a new one. */
	f[7] = flow_create(t, &k[7], S(40));
	CHECK(f[7] && f[7]->created_ns == S(40) && e.n == 8 && key_eq(&e.key[7], &k[7]),
	      "create over a dead flow");
	flow_table_stats(t, &st);
	CHECK(st.in_use == 3 && st.created == 11 && st.expired == 8 && st.evicted == 0, "stats");
	flow_table_destroy(t);

	/* Bad arguments. */
	to.tcp_close = 0;
	CHECK(flow_table_create(10, 1, &to) == NULL && errno == EINVAL, "a zero timeout");
	CHECK(flow_table_create(0, 1, NULL) == NULL && errno == EINVAL, "no flows");
	CHECK(flow_table_create(FLOW_MAX_FLOWS + 1, 1, NULL) == NULL && errno == EINVAL,
	      "too many");
	flow_table_destroy(NULL);
}

/* count keys (UDP, random ports) whose two buckets are, in either order, those of the first. */
static void keys_sharing_buckets(const struct flow_table *t, struct flow_key *out,
				 unsigned int count, uint64_t seed)
{
	struct test_rng rng;
	uint32_t want[2], b[2];
	unsigned int have = 0;

	test_rng_seed(&rng, seed);
	for (unsigned long tries = 0; have < count; tries++) {
		if (tries == 100000000) { /* a hash that ignores the ports cannot get here */
			CHECK(false, "only %u keys share their buckets", have);
			abort();
		}
		uint64_t r = test_rng_next(&rng);
		struct flow_key k =
			key(AF_INET, A4, B4, IPPROTO_UDP, (uint16_t)r, (uint16_t)(r >> 16));

		k.src[3] = (uint8_t)(r >> 32);
		flow_table_buckets(t, &k, b);
		if (have == 0) {
			want[0] = b[0];
			want[1] = b[1];
		}
		if ((b[0] == want[0] && b[1] == want[1]) || (b[0] == want[1] && b[1] == want[0]))
			out[have++] = k;
	}
}

static void test_eviction(void)
{
	struct flow_key k[17], other;
	struct flow_stats st;
	struct ends e;
	struct flow_table *t;
	struct flow *f[17];
	uint32_t b[2];
	unsigned int in0 = 0;
	bool reply;

	/* The table is full (one bucket): the soonest deadline goes, counted. */
	t = table(4, &e);
	for (unsigned int i = 0; i < 4; i++) {
		k[i] = key(AF_INET, A4, B4, IPPROTO_UDP, (uint16_t)(1 + i), 53);
		f[i] = flow_create(t, &k[i], S(i));
	}
	acct(t, f[0], false, 0, 1, S(4)); /* now k[1] has the soonest deadline */
	k[4] = key(AF_INET, A4, B4, IPPROTO_UDP, 5, 53);
	f[4] = flow_create(t, &k[4], S(5));
	CHECK(f[4] && e.n == 1 && e.why[0] == FLOW_END_EVICTED && key_eq(&e.key[0], &k[1]),
	      "full table: the soonest goes");
	CHECK(flow_lookup(t, &k[1], S(5), &reply) == NULL, "evicted");
	/* When the soonest is dead already, it is counted as expired. */
	f[1] = flow_create(t, &k[1], S(100));
	CHECK(f[1] && e.n == 2 && e.why[1] == FLOW_END_EXPIRED && key_eq(&e.key[1], &k[2]),
	      "dead victim: expired");
	flow_table_stats(t, &st);
	CHECK(st.in_use == 4 && st.evicted == 1 && st.expired == 1 && st.created == 6, "stats");
	flow_table_destroy(t);

	/* A key's two buckets full while the table is not: 16 flows of one bucket pair. */
	t = table(1000, &e);
	keys_sharing_buckets(t, k, 17, 17);
	for (unsigned int i = 0; i < 16; i++)
		f[i] = flow_create(t, &k[i], S(10 + i));
	flow_table_buckets(t, &k[0], b);
	for (unsigned int i = 0; i < 16; i++)
		in0 += flow_table_bucket_of(t, f[i]) == b[0];
	CHECK(in0 == 8 && b[0] != b[1], "16 flows fill both buckets, %u in the first", in0);
	acct(t, f[0], false, 0, 1, S(30));
	acct(t, f[1], false, 0, 1, S(30));
	/* An unrelated key is not affected. */
	other = key(AF_INET, B4, A4, IPPROTO_TCP, 1, 2);
	CHECK(flow_create(t, &other, S(30)) && e.n == 0, "another bucket has room");
	f[16] = flow_create(t, &k[16], S(31));
	CHECK(f[16] && e.n == 1 && e.why[0] == FLOW_END_EVICTED && key_eq(&e.key[0], &k[2]),
	      "full buckets: the soonest of the 16 goes");
	CHECK(flow_lookup(t, &k[2], S(31), &reply) == NULL && flow_lookup(t, &k[0], S(31), &reply),
	      "the refreshed one stays");
	flow_table_stats(t, &st);
	CHECK(st.in_use == 17 && st.evicted == 1, "bucket eviction counted");
	flow_table_destroy(t);

	/*
	 * Full, and both buckets of the new key empty: the soonest of the first non-empty bucket
	 * after its first. Flows in buckets 1 and 3, the new key's are 2 then 0: bucket 3.
	 */
	{
		struct flow_key fill_keys[16], nk;
		struct test_rng rng;
		unsigned int have = 0;
		uint64_t soonest = UINT64_MAX;
		struct flow_key victim;

		t = table(16, &e); /* 4 buckets */
		test_rng_seed(&rng, 99);
		for (unsigned long tries = 0; have < 16; tries++) {
			uint64_t r = test_rng_next(&rng);

			if (tries == 10000000) {
				CHECK(false, "no 16 keys in buckets 1 and 3");
				abort();
			}
			nk = key(AF_INET, A4, B4, IPPROTO_UDP, (uint16_t)r, (uint16_t)(r >> 16));
			flow_table_buckets(t, &nk, b);
			if ((b[0] == 1 && b[1] == 3) || (b[0] == 3 && b[1] == 1))
				fill_keys[have++] = nk;
		}
		for (unsigned int i = 0; i < 16; i++) {
			struct flow *ff = flow_create(t, &fill_keys[i], S(100 - i));

			if (flow_table_bucket_of(t, ff) == 3 && ff->deadline_ns < soonest) {
				soonest = ff->deadline_ns;
				victim = ff->key;
			}
		}
		for (unsigned long tries = 0;; tries++) {
			uint64_t r = test_rng_next(&rng);

			if (tries == 10000000) {
				CHECK(false, "no key in buckets 2 and 0");
				abort();
			}
			nk = key(AF_INET, A4, B4, IPPROTO_UDP, (uint16_t)r, (uint16_t)(r >> 16));
			flow_table_buckets(t, &nk, b);
			if (b[0] == 2 && b[1] == 0)
				break;
		}
		CHECK(flow_create(t, &nk, S(200)) && e.n == 1 && key_eq(&e.key[0], &victim),
		      "fallback victim from bucket 3");
		flow_table_destroy(t);
	}
}

/*
 * The hash: both directions of a key get the same buckets; the seed changes them; every bit of
 * the key matters; keys spread evenly (100 buckets, 100000 keys: within 20% of the mean each,
 * about six standard deviations).
 */
static void test_hash(void)
{
	struct flow_table *t1 = flow_table_create(400, 1, NULL);
	struct flow_table *t2 = flow_table_create(400, 2, NULL);
	static unsigned int count[100];
	unsigned int differ = 0, asym = 0, bits_ignored = 0, uneven = 0;
	struct test_rng rng;

	if (!t1 || !t2)
		abort();
	test_rng_seed(&rng, 0x4a54);
	for (unsigned int i = 0; i < 100000; i++) {
		uint8_t a[16], b[16];
		struct flow_key k, r;
		uint32_t b1[2], b2[2], br[2];

		test_rng_bytes(&rng, a, 16);
		test_rng_bytes(&rng, b, 16);
		k = key(i & 1 ? AF_INET6 : AF_INET, a, b, (uint8_t)i, (uint16_t)(i * 7),
			(uint16_t)i);
		flow_key_reverse(&r, &k);
		flow_table_buckets(t1, &k, b1);
		flow_table_buckets(t1, &r, br);
		flow_table_buckets(t2, &k, b2);
		asym += b1[0] != br[0] || b1[1] != br[1];
		differ += b1[0] != b2[0];
		count[b1[0]]++;
		if (i < 320) { /* flip each of the key's 320 bits once */
			struct flow_key f = k;

			((uint8_t *)&f)[i / 8] ^= (uint8_t)(1 << (i % 8));
			flow_table_buckets(t1, &f, br);
			bits_ignored += br[0] == b1[0] && br[1] == b1[1];
		}
	}
	for (unsigned int i = 0; i < 100; i++)
		uneven += count[i] < 800 || count[i] > 1200;
	CHECK(asym == 0, "%u keys hashed unlike their reverse", asym);
	CHECK(differ > 95000, "only %u of 100000 keys moved with the seed", differ);
	CHECK(bits_ignored <= 2, "%u single-bit changes kept both buckets", bits_ignored);
	CHECK(uneven == 0, "%u buckets off the mean by more than 20%%", uneven);
	flow_table_destroy(t1);
	flow_table_destroy(t2);
}

static void test_top(void)
{
	struct flow_info out[8];
	struct flow_key k[6];
	struct ends e;
	struct flow_table *t = table(100, &e);
	struct flow *f[6];
	/* bytes each way and peer tag */
	static const uint32_t bytes[6][2] = { { 10, 0 }, { 500, 500 }, { 0, 700 }, { 999, 0 },
					      { 300, 400 }, { 1, 1 } };
	static const uint32_t peer[6] = { 1, 2, 1, 1, 2, 1 };
	unsigned int n;

	for (unsigned int i = 0; i < 6; i++) {
		k[i] = key(AF_INET, A4, B4, IPPROTO_UDP, (uint16_t)(100 + i), 53);
		f[i] = flow_create(t, &k[i], S(1));
		f[i]->peer = peer[i];
		f[i]->verdict = 1000 + i;
		acct(t, f[i], false, 0, bytes[i][0], S(1));
		acct(t, f[i], true, 0, bytes[i][1], S(1));
	}
	n = flow_top(t, FLOW_PEER_ANY, S(2), out, 3);
	CHECK(n == 3, "top 3 of all: %u", n);
	/* 1 (1000) and 3 (999)... then 2 and 4 tie at 700: the lower key (port 102) first. */
	CHECK(n == 3 && key_eq(&out[0].key, &k[1]) && key_eq(&out[1].key, &k[3]) &&
	      key_eq(&out[2].key, &k[2]), "top order");
	CHECK(out[0].bytes[0] == 500 && out[0].bytes[1] == 500 && out[0].packets[1] == 1 &&
	      out[0].peer == 2 && out[0].verdict == 1001 && out[0].state == FLOW_UDP_REPLIED &&
	      out[0].replied && out[0].created_ns == S(1), "top copy");
	n = flow_top(t, 1, S(2), out, 8);
	CHECK(n == 4 && key_eq(&out[0].key, &k[3]) && key_eq(&out[1].key, &k[2]) &&
	      key_eq(&out[2].key, &k[0]) && key_eq(&out[3].key, &k[5]), "top of peer 1");
	CHECK(flow_top(t, 3, S(2), out, 8) == 0 && flow_top(t, FLOW_PEER_ANY, S(2), out, 0) == 0,
	      "nothing");
	/* Dead flows are not reported. */
	acct(t, f[5], false, 0, 1, S(200));
	n = flow_top(t, FLOW_PEER_ANY, S(200), out, 8);
	CHECK(n == 1 && key_eq(&out[0].key, &k[5]), "only the live one");
	flow_table_destroy(t);
}

/* ---- The differential test ---- */

/* Timeouts short enough that a random stream sees every kind of expiry. */
static const struct flow_timeouts short_to = { .tcp_syn_sent = 3, .tcp_established = 40,
					       .tcp_unacknowledged = 7, .tcp_closing = 4,
					       .tcp_close = 1, .udp_unreplied = 2, .udp_replied = 6,
					       .icmp = 2, .generic = 9 };

/* A create as the model checks it, then a random peer tag and verdict on both. */
static void t_create(struct flow_table *t, struct model *m, const struct flow_key *k,
		     struct test_rng *rng)
{
	struct mflow *mf = m_create(t, m, k);

	if (!mf)
		return;
	mf->peer = mf->tf->peer = (uint32_t)(test_rng_next(rng) % 4);
	mf->verdict = mf->tf->verdict = (uint32_t)test_rng_next(rng);
}

/* A lookup and, when the model has the flow live, a packet with random flags and size on it. */
static void t_account(struct flow_table *t, struct model *m, const struct flow_key *k,
		      struct test_rng *rng)
{
	static const uint8_t flag_sets[] = {
		FLOW_TCP_SYN, FLOW_TCP_SYN | FLOW_TCP_ACK, FLOW_TCP_ACK, FLOW_TCP_ACK, FLOW_TCP_ACK,
		FLOW_TCP_FIN | FLOW_TCP_ACK, FLOW_TCP_RST, FLOW_TCP_RST | FLOW_TCP_ACK, 0,
		FLOW_TCP_SYN | FLOW_TCP_FIN, FLOW_TCP_SYN | FLOW_TCP_RST,
	};
	uint64_t r = test_rng_next(rng);
	struct flow_pkt info = { .tcp_flags = flag_sets[r % sizeof(flag_sets)] };

	if (r >> 40 & 1 && !(r >> 41 & 7))
		info.flags = FLOW_PKT_RELATED;
	m_account(t, m, k, &info, (uint32_t)(r >> 8) % 3000);
}

/* A key over few hosts and ports, so that directions, reuse and collisions are common. */
static void random_key(struct test_rng *rng, struct flow_key *k)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_TCP, IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_UDP, IPPROTO_ICMP, 47, IPPROTO_TCP };
	static const uint16_t ports[] = { 22, 53, 80, 443, 40000, 40001 };
	uint64_t r = test_rng_next(rng);
	bool v6 = r % 4 == 0;
	uint8_t a[16] = { 10, 0, 0, 0 }, b[16] = { 10, 0, 0, 0 };
	uint8_t proto = protos[(r >> 8) % sizeof(protos)];

	if (v6) {
		a[0] = b[0] = 0xfd;
		a[15] = (uint8_t)((r >> 16) % 8);
		b[15] = (uint8_t)((r >> 20) % 8);
	} else {
		a[3] = (uint8_t)((r >> 16) % 8);
		b[3] = (uint8_t)((r >> 20) % 8);
	}
	if (v6 && proto == IPPROTO_ICMP)
		proto = IPPROTO_ICMPV6;
	*k = key(v6 ? AF_INET6 : AF_INET, a, b, proto, ports[(r >> 24) % 6], ports[(r >> 28) % 6]);
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
		k->sport = k->dport = (uint16_t)((r >> 32) % 3);
	else if (proto == 47 || (proto == IPPROTO_TCP && (r >> 40) % 8 == 0))
		k->sport = k->dport = 0; /* GRE; TCP fragments */
}

enum crowd {
	CROWD_NONE,
	CROWD_BUCKETS, /* every key's buckets among 0..2: buckets fill before the table */
	CROWD_APART,   /* 7 in 8 keys in buckets 1 and 3, the rest in 0 and 2: when the table is
			* full, a key of the rest finds both its buckets empty */
};

/* A pool of n keys; crowded ones are picked by the buckets the table gives them. */
static void make_keys(struct test_rng *rng, const struct flow_table *t, enum crowd crowd,
		      struct flow_key *keys, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		for (unsigned long tries = 0;; tries++) {
			uint32_t b[2];

			if (tries > 10000000)
				abort();
			random_key(rng, &keys[i]);
			flow_table_buckets(t, &keys[i], b);
			if (crowd == CROWD_NONE || (crowd == CROWD_BUCKETS && b[0] < 3 && b[1] < 3))
				break;
			if (crowd == CROWD_APART && (b[0] | b[1]) == (i % 8 ? 3u : 2u) &&
			    (b[0] & b[1]) == (i % 8 ? 1u : 0u))
				break;
		}
	}
}

static void test_differential(uint64_t seed, unsigned int max_flows, unsigned int nkeys,
			      enum crowd crowd, uint64_t tick, unsigned long steps,
			      const struct flow_timeouts *to)
{
	const struct flow_timeouts linux_to = FLOW_TIMEOUTS_DEFAULT;
	struct model m;
	struct test_rng rng;
	struct flow_key *keys = malloc(nkeys * sizeof(*keys));
	struct flow_table *t = flow_table_create(max_flows, seed, to);

	printf("differential: seed %llu, %u flows, %u keys%s, %lu steps%s\n",
	       (unsigned long long)seed, max_flows, nkeys,
	       crowd == CROWD_BUCKETS ? " in 3 buckets" : crowd == CROWD_APART ? " apart" : "",
	       steps, to ? ", short timeouts" : "");
	if (!keys || !t)
		abort();
	model_init(&m, max_flows, to ? to : &linux_to);
	flow_table_on_end(t, model_on_end, &m);
	test_rng_seed(&rng, seed);
	make_keys(&rng, t, crowd, keys, nkeys);
	for (unsigned long i = 0; i < steps; i++) {
		uint64_t r = test_rng_next(&rng);
		struct flow_key k = keys[(r >> 8) % nkeys];
		bool reply;

		if (r >> 32 & 1)
			flow_key_reverse(&k, &keys[(r >> 8) % nkeys]);
		switch (r % 100) {
		case 0 ... 34:
			t_create(t, &m, &k, &rng);
			break;
		case 35 ... 54:
			m_lookup(t, &m, &k, &reply);
			break;
		case 55 ... 84:
			t_account(t, &m, &k, &rng);
			break;
		case 85 ... 93: /* mostly small steps; now and then past every short timeout */
			m.now += (r >> 40) % 64 == 0 ? S(60) : (r >> 40) % tick;
			break;
		case 94 ... 96:
			m_expire(t, &m,
				 1 + (unsigned int)((r >> 40) % (r >> 60 ? 4 : 2 * max_flows)));
			break;
		case 97:
			m_top(t, &m, (r >> 40) % 5 == 4 ? FLOW_PEER_ANY : (uint32_t)((r >> 40) % 5),
			      1 + (unsigned int)((r >> 48) % 6));
			break;
		default:
			m_compare(t, &m);
			break;
		}
		if (m.failures)
			break;
	}
	m_compare(t, &m);
	CHECK(m.failures == 0, "differential: %lu failures", m.failures);
	CHECK(m.created > steps / 20, "differential: only %llu created",
	      (unsigned long long)m.created);
	CHECK(m.evicted > 0 && m.expired > 0, "differential: %llu evicted, %llu expired",
	      (unsigned long long)m.evicted, (unsigned long long)m.expired);
	CHECK((crowd != CROWD_BUCKETS || m.room_bucket > 0) &&
	      (crowd != CROWD_APART || m.room_far > 0), "differential: the crowding worked");
	printf("  created %llu, expired %llu, evicted %llu (buckets full %llu, victim from "
	       "elsewhere %llu), %u held at the end\n", (unsigned long long)m.created,
	       (unsigned long long)m.expired, (unsigned long long)m.evicted,
	       (unsigned long long)m.room_bucket, (unsigned long long)m.room_far, m.n);
	flow_table_destroy(t);
	model_free(&m);
	free(keys);
}

int main(void)
{
	test_parse_tcp_udp();
	test_parse_icmp();
	test_parse_fragments();
	test_parse_random(0xf10a, 400000);
	test_tcp_lifecycle();
	test_other_protocols();
	test_expiry();
	test_eviction();
	test_hash();
	test_top();
	test_differential(0xd1ff01, 1, 8, CROWD_NONE, S(1), 20000, &short_to);
	test_differential(0xd1ff02, 7, 40, CROWD_NONE, S(1) / 2, 100000, &short_to);
	test_differential(0xd1ff03, 64, 300, CROWD_NONE, S(1) / 5, 200000, &short_to);
	test_differential(0xd1ff04, 300, 1500, CROWD_NONE, S(1) / 30, 200000, &short_to);
	test_differential(0xd1ff05, 40, 600, CROWD_NONE, S(1), 100000, NULL); /* Linux's */
	test_differential(0xd1ff06, 64, 100, CROWD_BUCKETS, S(1) / 5, 100000, &short_to);
	test_differential(0xd1ff07, 16, 64, CROWD_APART, S(1) / 5, 100000, &short_to);
	return test_done("flow");
}
