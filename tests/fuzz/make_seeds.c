/* SPDX-License-Identifier: MIT */
/*
 * Writes the binary seeds of the fuzz targets: for message and noise, messages of the fixed world
 * of fuzz_common.h that authenticate (so the fuzzer starts past every MAC and AEAD check); for wan,
 * bursts of Ethernet frames for the data plane's world of fuzz_wan.h (data messages that open and
 * pass or fail the inner checks, handshakes, ARP, ND and malformed frames); for lan, LAN frames
 * and packets from the mesh for gateway mode's world of fuzz_lan.c; for the targets whose input
 * is a stream of operations, a few streams that reach their interesting states (a full burst, a
 * full rate-limiter table, nested prefixes...). The text seeds (uapi, config, keyenc, keyfile)
 * are plain files in tests/fuzz/corpus/.
 *
 *   make_seeds DIR      writes DIR/<target>/<name>
 *
 * The committed corpus is `build-fuzz/tests/fuzz/make_seeds tests/fuzz/corpus`, and scripts/fuzz.sh
 * runs it again into its temporary corpus, so seeds follow any change to the library. Output is
 * deterministic: the keys are fixed, and libsodium's randomness (only a cookie reply's nonce is
 * drawn) is replaced by a fixed stream.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "aead.h"
#include "cookie.h"
#include "fuzz_common.h"
#include "fuzz_wan.h"
#include "messages.h"
#include "noise.h"

static const char *outdir;
static unsigned int written;

static void put(const char *target, const char *name, const void *p, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	written++;
}

/* libsodium's randomness as a fixed stream: a fresh deterministic block per call. */
static uint64_t rng_calls;

static void fixed_buf(void *const buf, const size_t size)
{
	uint8_t seed[randombytes_SEEDBYTES] = "meshgate make_seeds";

	memcpy(seed + 24, &rng_calls, sizeof(rng_calls));
	rng_calls++;
	randombytes_buf_deterministic(buf, size, seed);
}

static uint32_t fixed_random(void)
{
	uint32_t v;

	fixed_buf(&v, sizeof(v));
	return v;
}

static const char *fixed_name(void)
{
	return "make_seeds fixed stream";
}

static randombytes_implementation fixed_rng = {
	.implementation_name = fixed_name,
	.random = fixed_random,
	.buf = fixed_buf,
};

/* --- message: the world's handshake, a cookie reply, data messages --- */

static uint16_t csum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An IPv4 packet 10.77.0.2 -> 10.77.0.1 of len bytes: ICMP echo request, or UDP. */
static void ipv4(uint8_t *p, size_t len, uint8_t proto)
{
	static const uint8_t addrs[8] = { 10, 77, 0, 2, 10, 77, 0, 1 };

	memset(p, 0, len);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)len);
	p[6] = 0x40; /* DF */
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, addrs, 8);
	put16(p + 10, csum(0, p, 20));
	fuzz_fill(p + 28, len - 28, 0x30);
	if (proto == 1) {
		p[20] = 8; /* echo request, id 0x4d47, seq 1 */
		put16(p + 24, 0x4d47);
		put16(p + 26, 1);
		put16(p + 22, csum(0, p + 20, len - 20));
	} else {
		put16(p + 20, 40000);
		put16(p + 22, 5201);
		put16(p + 24, (uint16_t)(len - 20));
	}
}

/* An ICMPv6 echo request fd00:77::2 -> fd00:77::1 of len bytes. */
static void ipv6_ping(uint8_t *p, size_t len)
{
	uint32_t sum = 58 + (uint32_t)(len - 40);

	memset(p, 0, len);
	p[0] = 0x60;
	put16(p + 4, (uint16_t)(len - 40));
	p[6] = 58;
	p[7] = 64;
	p[8] = 0xfd, p[10] = 0x00, p[11] = 0x77, p[23] = 2;
	p[24] = 0xfd, p[26] = 0x00, p[27] = 0x77, p[39] = 1;
	p[40] = 128;
	put16(p + 44, 0x4d47);
	put16(p + 46, 1);
	fuzz_fill(p + 48, len - 48, 0x31);
	for (size_t i = 8; i < 40; i += 2) /* pseudo-header addresses */
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	put16(p + 42, csum(sum, p + 40, len - 40));
}

/* A data message from A to B: padded to 16 as WireGuard pads, sealed with the world's key. */
static void data_message(const struct fuzz_world *w, const char *name, uint64_t counter,
			 const uint8_t *plain, size_t len)
{
	size_t padded = (len + MESSAGE_PADDING_MULTIPLE - 1) & ~(size_t)(MESSAGE_PADDING_MULTIPLE - 1);
	uint8_t *msg = calloc(1, message_data_len(padded)), *pt = calloc(1, padded + 1);
	struct message_data *m = (void *)msg;
	uint64_t le = htole64(counter);

	if (!msg || !pt)
		abort();
	if (len)
		memcpy(pt, plain, len);
	m->header.type = MESSAGE_HEADER_WORD(MESSAGE_DATA);
	m->key_idx = FUZZ_INDEX_B; /* the receiver's index */
	memcpy(&m->counter, &le, sizeof(le));
	aead_seal(m->encrypted_data, pt, padded, NULL, 0, counter, w->data_key);
	put("message", name, msg, message_data_len(padded));
	free(msg);
	free(pt);
}

static void message_seeds(const struct fuzz_world *w)
{
	struct message_handshake_initiation init = w->init;
	struct message_handshake_cookie reply;
	struct cookie_checker checker = w->checker_b;
	struct cookie_maker maker = w->maker_a;
	uint8_t p[1420];

	put("message", "initiation", &w->init, sizeof(w->init));
	put("message", "response", &w->resp, sizeof(w->resp));
	/* B under load answers A's initiation with a cookie; A resends it with mac2. */
	cookie_create_reply(&checker, &reply, (const uint8_t *)&w->init, sizeof(w->init),
			    FUZZ_INDEX_A, fuzz_src_a, sizeof(fuzz_src_a), FUZZ_NOW_NS);
	put("message", "cookie-reply", &reply, sizeof(reply));
	if (cookie_consume_reply(&maker, &reply, FUZZ_NOW_NS) != 0)
		abort();
	cookie_add_macs(&maker, (uint8_t *)&init, sizeof(init), FUZZ_NOW_NS);
	put("message", "initiation-mac2", &init, sizeof(init));

	data_message(w, "data-keepalive", 0, NULL, 0);
	ipv4(p, 84, 1);
	data_message(w, "data-ping4", 1, p, 84);
	ipv6_ping(p, 104);
	data_message(w, "data-ping6", 2, p, 104);
	ipv4(p, 1420, 17);
	data_message(w, "data-udp4-1420", 3, p, 1420);
	ipv4(p, 61, 17);
	data_message(w, "data-udp4-61", COUNTER_WINDOW_SIZE, p, 61);
	data_message(w, "data-last-counter", REJECT_AFTER_MESSAGES - 1, NULL, 0);
	data_message(w, "data-counter-limit", REJECT_AFTER_MESSAGES, NULL, 0);
}

/* --- noise: message 1 and message 2 of each pattern, with a few payload lengths --- */

static void noise_seeds(void)
{
	static const uint8_t p1[] = FUZZ_NOISE_MSG1_PAYLOAD;
	static const size_t lens1[] = { 0, NOISE_TIMESTAMP_LEN, 64 }, lens2[] = { 0, 16 };
	uint8_t out[1 + NOISE_MSG1_LEN(64)], payload[64], m1[NOISE_MSG1_LEN(sizeof(p1))];
	uint8_t p1_read[sizeof(p1)], e[32];
	struct noise_handshake init, resp;
	char name[64];

	fuzz_fill(payload, sizeof(payload), 0x70);
	for (unsigned int psk = 0; psk < 3; psk++) {
		for (size_t i = 0; i < sizeof(lens1) / sizeof(lens1[0]); i++) {
			out[0] = (uint8_t)(psk << 1);
			fuzz_noise_initiator(&init, psk, payload, lens1[i], out + 1);
			snprintf(name, sizeof(name), "m1-psk%u-payload%zu", psk, lens1[i]);
			put("noise", name, out, 1 + NOISE_MSG1_LEN(lens1[i]));
		}
		for (size_t i = 0; i < sizeof(lens2) / sizeof(lens2[0]); i++) {
			fuzz_noise_initiator(&init, psk, p1, sizeof(p1), m1);
			fuzz_noise_responder(&resp, psk);
			if (noise_read_message1(&resp, m1, sizeof(m1), NULL, NULL, p1_read) != 0)
				abort();
			fuzz_ephemeral(e, 0xe2);
			out[0] = (uint8_t)(psk << 1 | 1);
			if (noise_write_message2(&resp, e, payload, lens2[i], out + 1) != 0)
				abort();
			snprintf(name, sizeof(name), "m2-psk%u-payload%zu", psk, lens2[i]);
			put("noise", name, out, 1 + NOISE_MSG2_LEN(lens2[i]));
		}
	}
}

/* --- operation streams --- */

struct stream {
	uint8_t b[1024];
	size_t n;
};

static void s8(struct stream *s, unsigned int v)
{
	if (s->n == sizeof(s->b))
		abort();
	s->b[s->n++] = (uint8_t)v;
}

static void s16(struct stream *s, unsigned int v)
{
	s8(s, v & 0xff);
	s8(s, v >> 8);
}

static void s64(struct stream *s, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		s8(s, (unsigned int)(v >> (8 * i)) & 0xff);
}

static void put_stream(const char *target, const char *name, struct stream *s)
{
	put(target, name, s->b, s->n);
	s->n = 0;
}

/* fuzz_burst: per packet u16 len, u8 flags (1 authentic, 2 in place, 4 NULL if empty, 8/16
 * key, 32.. counter top bits), u8 corrupt. */
static void burst_op(struct stream *s, unsigned int len, unsigned int flags, unsigned int corrupt)
{
	s16(s, len);
	s8(s, flags);
	s8(s, corrupt);
}

static void burst_seeds(void)
{
	static const unsigned int mixed[] = { 0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 255, 500,
					      1420, 1500, 2400, 3100, 4096 };
	struct stream s = { .n = 0 };

	for (unsigned int i = 0; i < 16; i++)
		burst_op(&s, 1420 + 32, 1 | (i & 3) << 3, 0);
	put_stream("burst", "16-full-size", &s);
	for (unsigned int i = 0; i < sizeof(mixed) / sizeof(mixed[0]); i++)
		burst_op(&s, mixed[i], 1 | (i & 1) << 1 | (i & 3) << 3 | (i & 7) << 5, 0);
	put_stream("burst", "mixed-lengths", &s);
	for (unsigned int i = 0; i < 12; i++)
		burst_op(&s, 64 + 100 * i, 1 | (i & 1) << 1, i % 3 ? 8 * i + (i & 7) : 0);
	put_stream("burst", "some-corrupt", &s);
	for (unsigned int i = 0; i < 70; i++)
		burst_op(&s, 64 + (i % 5) * 16, 1 | (i & 3) << 3, 0);
	put_stream("burst", "70-small", &s);
	for (unsigned int i = 0; i < 4; i++)
		burst_op(&s, 4096 - i, 1, 0);
	for (unsigned int i = 0; i < 12; i++)
		burst_op(&s, 128, 1, 0);
	put_stream("burst", "long-and-short", &s);
	burst_op(&s, 0, 1 | 4, 0);
	burst_op(&s, 0, 4, 0);
	burst_op(&s, 0, 1, 200);
	burst_op(&s, 32, 2, 0);
	put_stream("burst", "empty-and-garbage", &s);
}

/* fuzz_replay: u8 mode, then 0: i16 from the highest; 1: i8 from the window's edge; 2: u64;
 * 3: u8 below the limit. */
static void replay_seeds(void)
{
	struct stream s = { .n = 0 };

	for (unsigned int i = 0; i < 40; i++) {
		s8(&s, 0);
		s16(&s, i ? 1 : 0);
	}
	put_stream("replay", "in-order", &s);
	for (unsigned int i = 0; i < 40; i++) {
		s8(&s, 0);
		s16(&s, (unsigned int)(int16_t)((i * 37) % 64 - 32) & 0xffff);
	}
	put_stream("replay", "reordered", &s);
	s8(&s, 2);
	s64(&s, 100000);
	for (int d = -2; d <= 2; d++) {
		s8(&s, 1);
		s8(&s, (unsigned int)(int8_t)d & 0xff);
	}
	s8(&s, 0);
	s16(&s, 8192);
	s8(&s, 1);
	s8(&s, 0);
	put_stream("replay", "window-edge", &s);
	for (unsigned int i = 0; i < 4; i++) {
		s8(&s, 3);
		s8(&s, i);
	}
	s8(&s, 0);
	s16(&s, (unsigned int)(int16_t)-3 & 0xffff);
	put_stream("replay", "near-limit", &s);
}

/* fuzz_ratelimit: u8 op, then 0: u16 source, u8 iid; 1: u16 x 50 us; 2: u8 count, u16 base;
 * 3: nothing (gc). */
static void ratelimit_seeds(void)
{
	struct stream s = { .n = 0 };

	for (unsigned int i = 0; i < 7; i++) {
		s8(&s, 0);
		s16(&s, 42);
		s8(&s, i);
	}
	s8(&s, 1);
	s16(&s, 1000); /* 50 ms: one token back */
	for (unsigned int i = 0; i < 3; i++) {
		s8(&s, 0);
		s16(&s, 42);
		s8(&s, 0);
	}
	put_stream("ratelimit", "burst-refill", &s);
	for (unsigned int i = 0; i < 7; i++) { /* one /64, many addresses */
		s8(&s, 0);
		s16(&s, 9000);
		s8(&s, i * 31);
	}
	put_stream("ratelimit", "ipv6-slash64", &s);
	for (unsigned int i = 0; i < 3; i++) { /* 3 x 4081 sources: the table fills */
		s8(&s, 2);
		s8(&s, 255);
		s16(&s, i * 4081);
	}
	s8(&s, 0);
	s16(&s, 11000);
	s8(&s, 0);
	s8(&s, 3);
	s8(&s, 1);
	s16(&s, 21000); /* 1.05 s: all idle */
	s8(&s, 0);
	s16(&s, 11000);
	s8(&s, 0);
	s8(&s, 3);
	put_stream("ratelimit", "full-table", &s);
}

/* fuzz_allowedips: u8 op (op % 5: insert, remove, remove_by_peer, lookup, walk; bits 3-4
 * family: AF_INET, AF_INET6, AF_INET, unsupported; bits 5-6 peer), 4 address bytes, a fifth for
 * the 16-byte families, u8 cidr for insert and remove. */
static void aip(struct stream *s, unsigned int op, unsigned int family, unsigned int peer,
		const uint8_t a[5], int cidr)
{
	s8(s, op | family << 3 | peer << 5);
	for (int i = 0; i < (family & 1 ? 5 : 4); i++) /* 1, 3: 16-byte families */
		s8(s, a[i]);
	if (cidr >= 0)
		s8(s, (unsigned int)cidr);
}

static void allowedips_seeds(void)
{
	static const uint8_t net10[5] = { 10, 0, 0, 0, 0 }, net10_77[5] = { 10, 77, 0, 0, 0 },
			     host[5] = { 10, 77, 0, 2, 0 }, other[5] = { 10, 78, 1, 1, 0 },
			     fd00[5] = { 0xfd, 0x00, 0x00, 0x77, 0x00 },
			     fd00h[5] = { 0xfd, 0x00, 0x00, 0x77, 0x02 };
	struct stream s = { .n = 0 };

	aip(&s, 0, 0, 0, net10, 8);
	aip(&s, 0, 0, 1, net10_77, 24);
	aip(&s, 0, 0, 2, host, 32);
	aip(&s, 0, 1, 1, fd00, 32);
	aip(&s, 0, 1, 2, fd00h, 128);
	aip(&s, 3, 0, 0, host, -1);
	aip(&s, 3, 0, 0, other, -1);
	aip(&s, 3, 1, 0, fd00h, -1);
	aip(&s, 4, 0, 1, host, -1);
	aip(&s, 1, 0, 2, host, 32);
	aip(&s, 3, 0, 0, host, -1);
	aip(&s, 2, 0, 1, host, -1);
	aip(&s, 3, 1, 0, fd00h, -1);
	put_stream("allowedips", "nested", &s);
	aip(&s, 0, 0, 0, net10, 0);
	aip(&s, 0, 1, 0, fd00, 0);
	aip(&s, 0, 0, 1, other, 33);
	aip(&s, 0, 3, 1, other, 8);
	aip(&s, 3, 0, 0, other, -1);
	aip(&s, 1, 0, 1, net10, 0);
	aip(&s, 1, 0, 0, net10, 0);
	put_stream("allowedips", "defaults-and-errors", &s);
}

/* --- wan: bursts of Ethernet frames for the data plane's fixed world (fuzz_wan.h) --- */

struct wan_input {
	uint8_t b[8192];
	size_t n;
};

static void wan_begin(struct wan_input *in, uint8_t knobs)
{
	in->b[0] = knobs;
	in->n = 1;
}

/* One frame of the burst: u16 LE header (length, WAN_FRAME_ flags), then the bytes. */
static void wan_add(struct wan_input *in, const uint8_t *f, size_t len, unsigned int flags)
{
	uint16_t hdr = (uint16_t)(len | flags);

	if (len > WAN_FRAME_LEN_MASK || in->n + 2 + len > sizeof(in->b))
		abort();
	in->b[in->n++] = (uint8_t)hdr;
	in->b[in->n++] = (uint8_t)(hdr >> 8);
	memcpy(in->b + in->n, f, len);
	in->n += len;
}

static void wan_put(const char *name, const struct wan_input *in)
{
	put("wan", name, in->b, in->n);
}

/* Who sends: an address, a port and a MAC. */
struct wan_from {
	int family;
	uint8_t addr[16];
	uint16_t port;
	const uint8_t *mac;
};

static struct wan_from wan_from_peer(unsigned int peer)
{
	struct wan_from f = { .family = wan_peers[peer].family, .port = wan_peers[peer].port,
			      .mac = peer == WAN_PEER_A ? wan_a_mac : wan_c_mac };

	memcpy(f.addr, wan_peers[peer].addr, 16);
	return f;
}

static size_t wan_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, type);
	return 14;
}

/* Ethernet, IPv4 (opt_len bytes of NOP options) or IPv6, UDP from `from` to our first address of
 * its family, port dport, carrying payload. The IPv6 UDP checksum is computed, IPv4's left 0. */
static size_t wan_udp(uint8_t *f, const struct wan_from *from, uint16_t dport, const void *payload,
		      size_t len, size_t opt_len)
{
	const uint8_t *to = from->family == AF_INET ? wan_addrs[0].addr : wan_addrs[1].addr;
	size_t n = wan_eth(f, wan_our_mac, from->mac, from->family == AF_INET ? 0x0800 : 0x86dd);
	uint8_t *ip = f + n, *udp;

	if (from->family == AF_INET) {
		size_t hl = 20 + opt_len;

		memset(ip, 0, hl);
		ip[0] = (uint8_t)(0x40 | hl / 4);
		put16(ip + 2, (uint16_t)(hl + 8 + len));
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, from->addr, 4);
		memcpy(ip + 16, to, 4);
		memset(ip + 20, 1, opt_len); /* NOP */
		put16(ip + 10, csum(0, ip, hl));
		udp = ip + hl;
	} else {
		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(8 + len));
		ip[6] = 17;
		ip[7] = 64;
		memcpy(ip + 8, from->addr, 16);
		memcpy(ip + 24, to, 16);
		udp = ip + 40;
	}
	put16(udp, from->port);
	put16(udp + 2, dport);
	put16(udp + 4, (uint16_t)(8 + len));
	put16(udp + 6, 0);
	memcpy(udp + 8, payload, len);
	if (from->family == AF_INET6) {
		uint32_t sum = 17 + (uint32_t)(8 + len);
		uint16_t c;

		for (size_t i = 8; i < 40; i += 2)
			sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
		c = csum(sum, udp, 8 + len);
		put16(udp + 6, c ? c : 0xffff);
	}
	return (size_t)(udp + 8 + len - f);
}

/* A data message under keypair k: padded to 16 as WireGuard pads, sealed with its key. */
static size_t wan_seal(const struct fuzz_world *w, uint8_t *out, unsigned int k, uint64_t counter,
		       const uint8_t *plain, size_t len)
{
	size_t padded = (len + MESSAGE_PADDING_MULTIPLE - 1) & ~(size_t)(MESSAGE_PADDING_MULTIPLE - 1);
	struct message_data *m = (void *)out;
	uint64_t le = htole64(counter);
	uint8_t pt[1500] = { 0 }, key[32];

	if (padded > sizeof(pt))
		abort();
	if (len)
		memcpy(pt, plain, len);
	wan_key(w, k, key);
	m->header.type = MESSAGE_HEADER_WORD(MESSAGE_DATA);
	m->key_idx = wan_keypairs[k].index;
	memcpy(&m->counter, &le, sizeof(le));
	aead_seal(m->encrypted_data, pt, padded, NULL, 0, counter, key);
	return message_data_len(padded);
}

/* A whole frame carrying a data message under k from its peer's endpoint. */
static size_t wan_data(const struct fuzz_world *w, uint8_t *f, unsigned int k, uint64_t counter,
		       const uint8_t *plain, size_t len)
{
	struct wan_from from = wan_from_peer(wan_keypairs[k].peer);
	uint8_t msg[1600];

	return wan_udp(f, &from, WAN_LISTEN_PORT, msg, wan_seal(w, msg, k, counter, plain, len), 0);
}

/* The same, left in clear with room for the tag, for fuzz_wan to seal (WAN_FRAME_SEAL). */
static size_t wan_clear(uint8_t *f, unsigned int k, uint64_t counter, const uint8_t *plain, size_t len)
{
	struct wan_from from = wan_from_peer(wan_keypairs[k].peer);
	uint8_t msg[1600] = { 0 };
	struct message_data *m = (void *)msg;
	uint64_t le = htole64(counter);

	if (len > sizeof(msg) - MESSAGE_MINIMUM_LENGTH)
		abort();
	m->header.type = MESSAGE_HEADER_WORD(MESSAGE_DATA);
	m->key_idx = wan_keypairs[k].index;
	memcpy(&m->counter, &le, sizeof(le));
	if (len)
		memcpy(m->encrypted_data, plain, len);
	return wan_udp(f, &from, WAN_LISTEN_PORT, msg, message_data_len(len), 0);
}

/*
 * A whole frame's IP payload cut at byte `at` (a multiple of 8) into two fragments, added to the
 * burst second first (reassembly must not depend on order), as a narrower link on the way sends
 * it: IPv4 with MF and offsets (the header checksum redone), IPv6 with a fragment header.
 */
static void wan_add_fragments(struct wan_input *in, const uint8_t *whole, size_t len, size_t at)
{
	uint8_t a[2048], b[2048];
	size_t la, lb;

	if (whole[12] == 0x08) {
		size_t hl = (whole[14] & 0xfu) * 4, pay = len - 14 - hl;

		memcpy(a, whole, 14 + hl + at);
		la = 14 + hl + at;
		memcpy(b, whole, 14 + hl);
		memcpy(b + 14 + hl, whole + 14 + hl + at, pay - at);
		lb = 14 + hl + pay - at;
		put16(a + 16, (uint16_t)(hl + at));
		put16(b + 16, (uint16_t)(hl + pay - at));
		put16(a + 18, 0x4d47);
		put16(b + 18, 0x4d47);
		put16(a + 20, 0x2000);                   /* more fragments, offset 0 */
		put16(b + 20, (uint16_t)(at / 8));       /* the last, at offset `at` */
		put16(a + 24, 0);
		put16(b + 24, 0);
		put16(a + 24, csum(0, a + 14, hl));
		put16(b + 24, csum(0, b + 14, hl));
	} else {
		size_t pay = len - 54;
		uint8_t fh[8] = { whole[20], 0, 0, 1, 0x4d, 0x47, 0x00, 0x01 }; /* next header, M, id */

		memcpy(a, whole, 54);
		memcpy(a + 54, fh, 8);
		memcpy(a + 62, whole + 54, at);
		la = 62 + at;
		memcpy(b, whole, 54);
		fh[2] = (uint8_t)(at >> 8);
		fh[3] = (uint8_t)(at & 0xf8);          /* offset, M clear */
		memcpy(b + 54, fh, 8);
		memcpy(b + 62, whole + 54 + at, pay - at);
		lb = 62 + pay - at;
		a[20] = b[20] = 44;
		put16(a + 18, (uint16_t)(8 + at));
		put16(b + 18, (uint16_t)(8 + pay - at));
	}
	wan_add(in, b, lb, 0);
	wan_add(in, a, la, 0);
}

/* Inner packets: IPv4 (ICMP echo or UDP) and IPv6 ICMPv6 echo, src -> dst, len bytes. */
static size_t inner4(uint8_t *p, size_t len, const uint8_t src[4], const uint8_t dst[4], uint8_t proto)
{
	memset(p, 0, len);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)len);
	p[6] = 0x40;
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	put16(p + 10, csum(0, p, 20));
	fuzz_fill(p + 28, len - 28, 0x32);
	if (proto == 1) {
		p[20] = 8;
		put16(p + 24, 0x4d47);
		put16(p + 26, 7);
		put16(p + 22, csum(0, p + 20, len - 20));
	} else {
		put16(p + 20, 40000);
		put16(p + 22, 5201);
		put16(p + 24, (uint16_t)(len - 20));
	}
	return len;
}

static size_t inner6(uint8_t *p, size_t len, const uint8_t src[16], const uint8_t dst[16])
{
	uint32_t sum = 58 + (uint32_t)(len - 40);

	memset(p, 0, len);
	p[0] = 0x60;
	put16(p + 4, (uint16_t)(len - 40));
	p[6] = 58;
	p[7] = 64;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
	p[40] = 128;
	put16(p + 44, 0x4d47);
	put16(p + 46, 7);
	fuzz_fill(p + 48, len - 48, 0x33);
	for (size_t i = 8; i < 40; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	put16(p + 42, csum(sum, p + 40, len - 40));
	return len;
}

static const uint8_t in4_a[4] = { 10, 77, 0, 2 }, in4_c[4] = { 10, 77, 1, 7 },
		     in4_us[4] = { 10, 77, 0, 1 }, in4_nobody[4] = { 10, 99, 0, 1 };
static const uint8_t in6_a[16] = { 0xfd, 0, 0, 0x77, [15] = 2 },
		     in6_c[16] = { 0xfd, 0, 0, 0x77, 0, 1, [15] = 7 },
		     in6_us[16] = { 0xfd, 0, 0, 0x77, [15] = 1 };

/* ARP from sha/sip about tip, to dst_mac. */
static size_t wan_arp(uint8_t *f, uint16_t op, const uint8_t *dst_mac, const uint8_t *sha,
		      const uint8_t sip[4], const uint8_t *tha, const uint8_t tip[4])
{
	size_t n = wan_eth(f, dst_mac, sha, 0x0806);
	uint8_t *a = f + n;

	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, sip, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, tip, 4);
	return n + 28;
}

/* ICMPv6 neighbour solicitation (135) or advertisement (136) for target, with a link-layer
 * option (1 source, 2 target) when mac is not NULL. */
static size_t wan_nd(uint8_t *f, uint8_t type, const uint8_t *dst_mac, const uint8_t *src_mac,
		     const uint8_t src[16], const uint8_t dst[16], const uint8_t target[16],
		     const uint8_t *ll)
{
	size_t n = wan_eth(f, dst_mac, src_mac, 0x86dd), icmp_len = 24 + (ll ? 8 : 0);
	uint8_t *ip = f + n, *icmp = ip + 40;
	uint32_t sum = 58 + (uint32_t)icmp_len;

	memset(ip, 0, 40 + icmp_len);
	ip[0] = 0x60;
	put16(ip + 4, (uint16_t)icmp_len);
	ip[6] = 58;
	ip[7] = 255;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	icmp[0] = type;
	if (type == 136)
		icmp[4] = 0x20; /* override */
	memcpy(icmp + 8, target, 16);
	if (ll) {
		icmp[24] = type == 135 ? 1 : 2;
		icmp[25] = 1;
		memcpy(icmp + 26, ll, 6);
	}
	for (size_t i = 8; i < 40; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	put16(icmp + 2, csum(sum, icmp, icmp_len));
	return n + 40 + icmp_len;
}

static void wan_seeds(const struct fuzz_world *w)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, zero_mac[6] = { 0 };
	static const uint8_t unspecified[16] = { 0 };
	static const uint8_t snm_us[16] = { 0xff, 2, [11] = 1, [12] = 0xff, 0, 0, 2 };
	static const uint8_t snm_mac[6] = { 0x33, 0x33, 0xff, 0, 0, 2 };
	static const uint8_t all_nodes[16] = { 0xff, 2, [15] = 1 }, all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	const uint8_t *our4 = wan_addrs[0].addr, *our6 = wan_addrs[1].addr;
	const uint8_t *a4 = wan_peers[WAN_PEER_A].addr, *c6 = wan_peers[WAN_PEER_C].addr;
	struct wan_from from_a = wan_from_peer(WAN_PEER_A), from_c = wan_from_peer(WAN_PEER_C);
	struct wan_from roamed = { AF_INET, { 192, 0, 2, 99 }, 40000, wan_c_mac };
	struct message_handshake_cookie reply;
	struct cookie_checker checker = w->checker_b;
	uint8_t f[2048], g[2048], p[1500], bad[5] = { 5, 0, 0, 0, 0 };
	struct wan_input in;
	size_t n;

	/* One data frame each: delivered, or the drop it names. */
	wan_begin(&in, 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_CURRENT, 1, p, inner4(p, 84, in4_a, in4_us, 1)), 0);
	wan_put("data-v4-inner4", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_CURRENT, 2, p, inner6(p, 104, in6_a, in6_us)), 0);
	wan_put("data-v4-inner6", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_C_CURRENT, 1, p, inner4(p, 200, in4_c, in4_us, 17)), 0);
	wan_put("data-v6-inner4", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_C_CURRENT, 2, p, inner6(p, 1280, in6_c, in6_us)), 0);
	wan_put("data-v6-inner6-1280", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_CURRENT, 1, p, inner4(p, 84, in4_c, in4_us, 1)), 0);
	wan_put("data-not-allowed4", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_C_CURRENT, 1, p, inner6(p, 104, in6_a, in6_us)), 0);
	wan_put("data-not-allowed6", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_CURRENT, 1, p, inner4(p, 61, in4_nobody, in4_us, 17)), 0);
	wan_put("data-no-route", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_NEXT, 0, p, inner4(p, 84, in4_a, in4_us, 1)), 0);
	wan_put("data-next-confirms", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_PREVIOUS, 1, p, inner4(p, 84, in4_a, in4_us, 1)), 0);
	wan_put("data-expired", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_CURRENT, 3, NULL, 0), 0);
	wan_put("keepalive", &in);
	wan_begin(&in, 0);
	fuzz_fill(p, 32, 0x01);
	p[0] = 0x10;
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_CURRENT, 4, p, 32), 0);
	wan_put("data-inner-not-ip", &in);
	wan_begin(&in, 0);
	n = wan_data(w, f, WAN_KP_A_CURRENT, 5, p, inner4(p, 84, in4_a, in4_us, 1));
	f[n - 1] ^= 1;
	wan_add(&in, f, n, 0);
	wan_put("data-bad-tag", &in);
	wan_begin(&in, 0);
	n = wan_data(w, f, WAN_KP_A_CURRENT, 6, p, inner4(p, 84, in4_a, in4_us, 1));
	f[42 + 4 + 3] ^= 0x80; /* the index's high bits: its slot holds another index */
	wan_add(&in, f, n, 0);
	wan_put("data-stale-index", &in);
	wan_begin(&in, 0);
	{
		uint8_t msg[1600];

		n = wan_seal(w, msg, WAN_KP_A_CURRENT, 7, p, inner4(p, 84, in4_a, in4_us, 1));
		wan_add(&in, f, wan_udp(f, &roamed, WAN_LISTEN_PORT, msg, n, 0), 0);
		n = wan_seal(w, msg, WAN_KP_C_CURRENT, 7, p, inner6(p, 104, in6_c, in6_us));
		wan_add(&in, f, wan_udp(f, &from_a, WAN_LISTEN_PORT, msg, n, 0), 0);
		wan_put("data-roamed", &in);
		/* IPv4 header options, and an Ethernet trailer after the IP packet. */
		wan_begin(&in, 0);
		n = wan_seal(w, msg, WAN_KP_A_CURRENT, 8, p, inner4(p, 84, in4_a, in4_us, 1));
		wan_add(&in, f, wan_udp(f, &from_a, WAN_LISTEN_PORT, msg, n, 8), 0);
		n = wan_data(w, f, WAN_KP_A_CURRENT, 9, p, inner4(p, 84, in4_a, in4_us, 1));
		memset(f + n, 0, 6);
		wan_add(&in, f, n + 6, 0);
		wan_put("ipv4-options-and-trailer", &in);
		/* Not for us: another address, another port, not UDP. */
		wan_begin(&in, 0);
		n = wan_data(w, f, WAN_KP_A_CURRENT, 10, p, inner4(p, 84, in4_a, in4_us, 1));
		f[14 + 19] = 3;
		wan_add(&in, f, n, 0);
		n = wan_data(w, f, WAN_KP_A_CURRENT, 11, p, inner4(p, 84, in4_a, in4_us, 1));
		put16(f + 14 + 20 + 2, WAN_LISTEN_PORT + 1);
		wan_add(&in, f, n, 0);
		n = wan_data(w, f, WAN_KP_C_CURRENT, 11, p, inner4(p, 84, in4_c, in4_us, 1));
		f[14 + 6] = 6;
		wan_add(&in, f, n, 0);
		wan_put("not-ours", &in);
		/* To our second IPv4 address. */
		wan_begin(&in, 0);
		n = wan_data(w, f, WAN_KP_A_CURRENT, 12, p, inner4(p, 84, in4_a, in4_us, 1));
		memcpy(f + 14 + 16, wan_addrs[2].addr, 4);
		wan_add(&in, f, n, 0);
		wan_put("data-second-address", &in);
	}

	/* Bursts: runs of one keypair, interleaved peers, replays within the burst, every drop. */
	wan_begin(&in, 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_CURRENT, 10, p, inner4(p, 84, in4_a, in4_us, 1)), 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_CURRENT, 11, p, inner6(p, 104, in6_a, in6_us)), 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_C_CURRENT, 1, p, inner4(p, 120, in4_c, in4_us, 17)), 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_CURRENT, 12, p, inner4(p, 300, in4_a, in4_us, 17)), 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_CURRENT, 11, p, inner6(p, 104, in6_a, in6_us)), 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_NEXT, 0, p, inner4(p, 84, in4_a, in4_us, 1)), 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_NEXT, 1, p, inner4(p, 84, in4_a, in4_us, 1)), 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_C_CURRENT, 2, p, inner6(p, 104, in6_c, in6_us)), 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_C_CURRENT, 2, p, inner6(p, 104, in6_c, in6_us)), 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_CURRENT, 13, NULL, 0), 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_PREVIOUS, 3, p, inner4(p, 84, in4_a, in4_us, 1)), 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_CURRENT, 10 + COUNTER_WINDOW_SIZE, p, inner4(p, 84, in4_a, in4_us, 1)), 0);
	wan_add(&in, f, wan_data(w, f, WAN_KP_A_CURRENT, 9, p, inner4(p, 84, in4_a, in4_us, 1)), 0);
	wan_put("burst-runs", &in);
	/* The same burst with each AEAD backend (mod the number this CPU runs). */
	for (unsigned int b = 1; b < 5; b++) {
		char name[32];

		in.b[0] = (uint8_t)(b << WAN_KNOB_BACKEND_SHIFT);
		snprintf(name, sizeof(name), "burst-runs-backend%u", b);
		wan_put(name, &in);
	}
	/* The inner device refusing: full, down, half. */
	for (unsigned int mode = 1; mode <= 3; mode++) {
		static const char *const names[] = { NULL, "inner-full", "inner-down", "inner-half" };

		wan_begin(&in, (uint8_t)mode);
		for (unsigned int i = 0; i < 5; i++)
			wan_add(&in, f, wan_data(w, f, i & 1 ? WAN_KP_C_CURRENT : WAN_KP_A_CURRENT, 20 + i,
						 p, inner4(p, 84, i & 1 ? in4_c : in4_a, in4_us, 1)), 0);
		wan_put(names[mode], &in);
	}

	/* Handshake messages (to the control thread) over IPv4 and IPv6. */
	wan_begin(&in, 0);
	wan_add(&in, f, wan_udp(f, &from_a, WAN_LISTEN_PORT, &w->init, sizeof(w->init), 0), 0);
	wan_put("handshake-initiation", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_udp(f, &from_c, WAN_LISTEN_PORT, &w->init, sizeof(w->init), 0), 0);
	wan_put("handshake-initiation-v6", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_udp(f, &from_a, WAN_LISTEN_PORT, &w->resp, sizeof(w->resp), 0), 0);
	wan_put("handshake-response", &in);
	cookie_create_reply(&checker, &reply, (const uint8_t *)&w->init, sizeof(w->init), FUZZ_INDEX_A,
			    fuzz_src_a, sizeof(fuzz_src_a), FUZZ_NOW_NS);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_udp(f, &from_a, WAN_LISTEN_PORT, &reply, sizeof(reply), 0), 0);
	wan_put("cookie-reply", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_udp(f, &from_a, WAN_LISTEN_PORT, bad, sizeof(bad), 0), 0);
	n = wan_udp(f, &from_c, WAN_LISTEN_PORT, &w->init, sizeof(w->init) - 1, 0);
	wan_add(&in, f, n, 0);
	wan_put("bad-message", &in);

	/* ARP and neighbour discovery (to the control thread, then ctrl/neigh.c). */
	wan_begin(&in, 0);
	wan_add(&in, f, wan_arp(f, 1, bcast, wan_a_mac, a4, zero_mac, our4), 0);
	wan_put("arp-request", &in);
	wan_begin(&in, 0);
	n = wan_arp(f, 1, bcast, wan_a_mac, a4, zero_mac, wan_gateway4);
	memset(f + n, 0, 60 - n); /* padded to the minimum frame */
	wan_add(&in, f, 60, 0);
	wan_put("arp-request-not-us-padded", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_arp(f, 2, wan_our_mac, wan_a_mac, a4, wan_our_mac, our4), 0);
	wan_put("arp-reply", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_nd(f, 135, snm_mac, wan_c_mac, c6, snm_us, our6, wan_c_mac), 0);
	wan_put("nd-solicit", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_nd(f, 135, snm_mac, wan_c_mac, unspecified, snm_us, our6, NULL), 0);
	wan_put("nd-solicit-dad", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_nd(f, 136, all_nodes_mac, wan_c_mac, c6, all_nodes, c6, wan_c_mac), 0);
	wan_put("nd-advert", &in);

	/* Malformed or not ours at layers 2-4. */
	wan_begin(&in, 0);
	n = wan_data(w, f, WAN_KP_A_CURRENT, 1, p, inner4(p, 84, in4_a, in4_us, 1));
	f[14 + 6] |= 0x20; /* more fragments */
	put16(f + 14 + 10, 0);
	put16(f + 14 + 10, csum(0, f + 14, 20));
	wan_add(&in, f, n, 0);
	n = wan_data(w, f, WAN_KP_A_CURRENT, 2, p, inner4(p, 84, in4_a, in4_us, 1));
	put16(f + 14 + 6, 0x0010); /* offset 128 */
	put16(f + 14 + 10, 0);
	put16(f + 14 + 10, csum(0, f + 14, 20));
	wan_add(&in, f, n, 0);
	wan_put("ipv4-fragment", &in);
	/* Data messages that arrive in two fragments each, reassembled and delivered. */
	wan_begin(&in, 0);
	n = wan_data(w, g, WAN_KP_A_CURRENT, 3, p, inner4(p, 600, in4_a, in4_us, 17));
	wan_add_fragments(&in, g, n, 256);
	wan_put("fragments-v4-data", &in);
	wan_begin(&in, 0);
	n = wan_data(w, g, WAN_KP_C_CURRENT, 3, p, inner6(p, 900, in6_c, in6_us));
	wan_add_fragments(&in, g, n, 512);
	wan_put("fragments-v6-data", &in);
	/* Two datagrams under one identification in one burst: the table gives up an entry when it
	 * completes, so the second opens a new one and is delivered too. */
	wan_begin(&in, 0);
	n = wan_data(w, g, WAN_KP_A_CURRENT, 5, p, inner4(p, 600, in4_a, in4_us, 17));
	wan_add_fragments(&in, g, n, 256);
	n = wan_data(w, g, WAN_KP_A_CURRENT, 6, p, inner4(p, 700, in4_a, in4_us, 17));
	wan_add_fragments(&in, g, n, 256);
	wan_put("fragments-v4-id-reused", &in);
	wan_begin(&in, 0);
	n = wan_data(w, g, WAN_KP_C_CURRENT, 5, p, inner6(p, 900, in6_c, in6_us));
	wan_add_fragments(&in, g, n, 512);
	n = wan_data(w, g, WAN_KP_C_CURRENT, 6, p, inner6(p, 800, in6_c, in6_us));
	wan_add_fragments(&in, g, n, 512);
	wan_put("fragments-v6-id-reused", &in);
	/* An IPv4 header whose checksum is off. */
	wan_begin(&in, 0);
	n = wan_data(w, f, WAN_KP_A_CURRENT, 4, p, inner4(p, 84, in4_a, in4_us, 1));
	f[14 + 10] ^= 0x5a;
	wan_add(&in, f, n, 0);
	wan_put("ipv4-bad-checksum", &in);
	wan_begin(&in, 0);
	n = wan_eth(f, bcast, wan_a_mac, 0x88cc);
	fuzz_fill(f + n, 46, 0x44);
	wan_add(&in, f, n + 46, 0);
	wan_put("non-ip", &in);
	wan_begin(&in, 0);
	n = wan_data(w, g, WAN_KP_A_CURRENT, 1, p, inner4(p, 84, in4_a, in4_us, 1));
	memcpy(f, g, 12);
	put16(f + 12, 0x8100);
	put16(f + 14, 100); /* VLAN 100 */
	memcpy(f + 16, g + 12, n - 12);
	wan_add(&in, f, n + 4, 0);
	wan_put("vlan", &in);
	wan_begin(&in, 0);
	n = wan_data(w, f, WAN_KP_A_CURRENT, 1, p, inner4(p, 84, in4_a, in4_us, 1));
	put16(f + 14 + 20 + 4, (uint16_t)(n - 14 - 20 + 1));
	wan_add(&in, f, n, 0);
	n = wan_data(w, f, WAN_KP_C_CURRENT, 1, p, inner4(p, 84, in4_c, in4_us, 1));
	put16(f + 14 + 40 + 4, 7);
	wan_add(&in, f, n, 0);
	wan_put("bad-udp-length", &in);
	wan_begin(&in, 0);
	n = wan_data(w, f, WAN_KP_A_CURRENT, 1, p, inner4(p, 84, in4_a, in4_us, 1));
	wan_add(&in, f, n - 10, 0); /* IP length past the frame */
	n = wan_data(w, f, WAN_KP_C_CURRENT, 1, p, inner4(p, 84, in4_c, in4_us, 1));
	wan_add(&in, f, 14 + 30, 0); /* half an IPv6 header */
	wan_add(&in, f, 10, 0);      /* not even Ethernet */
	n = wan_data(w, f, WAN_KP_A_CURRENT, 2, p, inner4(p, 84, in4_a, in4_us, 1));
	wan_add(&in, f, n, WAN_FRAME_CHAINED); /* two segments */
	wan_put("truncated-and-chained", &in);

	/* Sealed by fuzz_wan: inner packets no peer of ours would send, as an authenticated peer. */
	wan_begin(&in, 0);
	wan_add(&in, f, wan_clear(f, WAN_KP_A_CURRENT, 30, p, inner4(p, 61, in4_a, in4_us, 17)), WAN_FRAME_SEAL);
	wan_put("sealed-unpadded", &in);
	wan_begin(&in, 0);
	inner4(p, 84, in4_a, in4_us, 1);
	put16(p + 2, 100); /* total length past the plaintext */
	wan_add(&in, f, wan_clear(f, WAN_KP_A_CURRENT, 31, p, 84), WAN_FRAME_SEAL);
	inner4(p, 40, in4_a, in4_us, 17);
	p[0] = 0x4f; /* a 60-byte header in a 40-byte packet */
	wan_add(&in, f, wan_clear(f, WAN_KP_A_CURRENT, 32, p, 48), WAN_FRAME_SEAL);
	inner6(p, 104, in6_c, in6_us);
	put16(p + 4, 0xffff);
	wan_add(&in, f, wan_clear(f, WAN_KP_C_CURRENT, 33, p, 104), WAN_FRAME_SEAL);
	inner4(p, 28, in4_a, in4_us, 17); /* cut to 19 bytes below */
	wan_add(&in, f, wan_clear(f, WAN_KP_A_CURRENT, 34, p, 19), WAN_FRAME_SEAL);
	inner6(p, 48, in6_c, in6_us);
	wan_add(&in, f, wan_clear(f, WAN_KP_C_CURRENT, 35, p, 39), WAN_FRAME_SEAL);
	wan_add(&in, f, wan_clear(f, WAN_KP_A_NEXT, 36, p, 0), WAN_FRAME_SEAL);
	wan_put("sealed-inner-lengths", &in);

	/* Small rings: the control ring overflows, the event ring takes one event. */
	wan_begin(&in, WAN_KNOB_CTRL_SMALL);
	for (unsigned int i = 0; i < 3; i++) {
		wan_add(&in, f, wan_udp(f, &from_a, WAN_LISTEN_PORT, &w->init, sizeof(w->init), 0), 0);
		wan_add(&in, f, wan_arp(f, 1, bcast, wan_a_mac, a4, zero_mac, our4), 0);
	}
	wan_put("ctrl-ring-full", &in);
	wan_begin(&in, WAN_KNOB_EVENTS_SMALL);
	{
		uint8_t msg[1600];

		n = wan_seal(w, msg, WAN_KP_A_NEXT, 0, p, inner4(p, 84, in4_a, in4_us, 1));
		wan_add(&in, f, wan_udp(f, &roamed, WAN_LISTEN_PORT, msg, n, 0), 0);
		n = wan_seal(w, msg, WAN_KP_C_CURRENT, 3, p, inner4(p, 84, in4_c, in4_us, 1));
		wan_add(&in, f, wan_udp(f, &from_a, WAN_LISTEN_PORT, msg, n, 0), 0);
	}
	wan_put("event-ring-full", &in);

	/* A full burst of 32: a bit of everything. */
	wan_begin(&in, 0);
	for (unsigned int i = 0; i < 32; i++) {
		switch (i % 8) {
		case 0:
		case 3:
			n = wan_data(w, f, WAN_KP_A_CURRENT, 100 + i, p, inner4(p, 84, in4_a, in4_us, 1));
			break;
		case 1:
		case 5:
			n = wan_data(w, f, WAN_KP_C_CURRENT, 100 + i, p, inner6(p, 104, in6_c, in6_us));
			break;
		case 2:
			n = wan_data(w, f, WAN_KP_A_NEXT, i, p, inner6(p, 104, in6_a, in6_us));
			break;
		case 4:
			n = wan_arp(f, 1, bcast, wan_a_mac, a4, zero_mac, our4);
			break;
		case 6:
			n = wan_nd(f, 135, snm_mac, wan_c_mac, c6, snm_us, our6, wan_c_mac);
			break;
		default:
			n = wan_udp(f, &from_a, WAN_LISTEN_PORT, &w->init, sizeof(w->init), 0);
		}
		wan_add(&in, f, n, 0);
	}
	wan_put("burst-32-mixed", &in);
}

/*
 * --- lan: gateway mode's LAN port (fuzz_lan.c): its world and input format, kept in step by hand
 * (fuzz_lan.c's header has both; FUZZ_LAN_TRACE=1 shows what each seed does) ---
 */
#define LAN_REC_NIC_CSUM 0x2000u  /* LAN frame: the NIC checked the IPv4 header checksum */
#define LAN_REC_CHAINED 0x1000u   /* LAN frame: two segments */
#define LAN_REC_FIX_CSUM 0x4000u  /* the harness writes the IPv4 header checksum */
#define LAN_REC_MESH 0x8000u      /* a packet from the mesh (tx), not a LAN frame */
#define LAN_KNOB_FRESH 1u         /* H and R resolved */
#define LAN_KNOB_STALE 2u         /* H and R resolved 60 s ago */
#define LAN_KNOB_ROUTER 3u        /* R only */
#define LAN_KNOB_MESH_FIRST 4u
#define LAN_KNOB_DOWN 8u
#define LAN_KNOB_RINGS_SMALL 16u
#define LAN_KNOB_WIRE_FULL 32u
#define LAN_KNOB_STEP_1S (2u << 6)

static const uint8_t lan_our_mac[6] = { 2, 0, 0, 0, 1, 1 }, lan_h_mac[6] = { 2, 0, 0, 0, 2, 2 },
		     lan_x_mac[6] = { 2, 0, 0, 0, 2, 0x50 }, lan_q_mac[6] = { 2, 0, 0, 0, 2, 3 };
static const uint8_t lan_our4[4] = { 10, 1, 0, 1 }, lan_our4b[4] = { 192, 168, 77, 1 }, lan_h4[4] = { 10, 1, 0, 2 },
		     lan_q4[4] = { 10, 1, 0, 3 }, lan_quiet4[4] = { 10, 1, 0, 77 }, lan_behind_r4[4] = { 10, 1, 9, 7 },
		     lan_remote4[4] = { 10, 2, 0, 5 }, lan_nowhere4[4] = { 10, 9, 9, 9 };
static const uint8_t lan_our6[16] = { 0xfd, 1, [15] = 1 }, lan_h6[16] = { 0xfd, 1, [15] = 2 },
		     lan_quiet6[16] = { 0xfd, 1, [15] = 0x77 }, lan_behind_r6[16] = { 0xfd, 8, [15] = 7 },
		     lan_remote6[16] = { 0xfd, 2, [15] = 5 }, lan_nowhere6[16] = { 0xfd, 9, [15] = 1 };

/* An IP packet (IPv6 when v6) src -> dst of proto carrying l4[0..l4_len), its checksums done: the
 * IPv4 header's, and the upper layer's at csum_at in l4 (UDP 6, TCP 16, ICMP 2; ICMPv6 and the
 * others over the pseudo-header). Returns its length. */
static size_t lan_ip(uint8_t *p, int v6, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint8_t ttl,
		     const uint8_t *l4, size_t l4_len, size_t csum_at)
{
	size_t hl = v6 ? 40 : 20;
	uint8_t *u = p + hl;
	uint32_t sum = 0;

	memset(p, 0, hl);
	if (v6) {
		p[0] = 0x60;
		put16(p + 4, (uint16_t)l4_len);
		p[6] = proto;
		p[7] = ttl;
		memcpy(p + 8, src, 16);
		memcpy(p + 24, dst, 16);
	} else {
		p[0] = 0x45;
		put16(p + 2, (uint16_t)(hl + l4_len));
		put16(p + 4, 0x4c41);
		p[6] = 0x40; /* DF */
		p[8] = ttl;
		p[9] = proto;
		memcpy(p + 12, src, 4);
		memcpy(p + 16, dst, 4);
		put16(p + 10, csum(0, p, 20));
	}
	memcpy(u, l4, l4_len);
	u[csum_at] = u[csum_at + 1] = 0;
	if (v6 || proto != 1) { /* the pseudo-header */
		for (size_t i = v6 ? 8 : 12; i < (v6 ? 40u : 20u); i += 2)
			sum += (uint32_t)(p[i] << 8 | p[i + 1]);
		sum += proto + (uint32_t)l4_len;
	}
	put16(u + csum_at, csum(sum, u, l4_len));
	return hl + l4_len;
}

static size_t lan_udp(uint8_t *p, int v6, const uint8_t *src, const uint8_t *dst, uint8_t ttl, size_t data)
{
	uint8_t u[1500];

	put16(u, 40000);
	put16(u + 2, 5201);
	put16(u + 4, (uint16_t)(8 + data));
	fuzz_fill(u + 8, data, 0x4c);
	return lan_ip(p, v6, src, dst, 17, ttl, u, 8 + data, 6);
}

/* A TCP SYN announcing an MSS (the tunnel's 1420 clamps it to 1380 or 1360). */
static size_t lan_syn(uint8_t *p, int v6, const uint8_t *src, const uint8_t *dst, uint16_t mss)
{
	uint8_t t[28] = { 0 };

	put16(t, 43210);
	put16(t + 2, 443);
	put16(t + 4, 0x1234);
	t[12] = 7 << 4;
	t[13] = 0x02; /* SYN */
	put16(t + 14, 64240);
	t[20] = 2; /* MSS */
	t[21] = 4;
	put16(t + 22, mss);
	t[24] = 1;
	t[25] = 1;
	t[26] = 4; /* SACK permitted */
	t[27] = 2;
	return lan_ip(p, v6, src, dst, 6, 64, t, sizeof(t), 16);
}

static size_t lan_echo(uint8_t *p, int v6, const uint8_t *src, const uint8_t *dst, uint8_t ttl)
{
	uint8_t e[8 + 24];

	memset(e, 0, sizeof(e));
	e[0] = v6 ? 128 : 8;
	put16(e + 4, 0x4d47);
	put16(e + 6, 3);
	fuzz_fill(e + 8, 24, 0x4d);
	return lan_ip(p, v6, src, dst, v6 ? 58 : 1, ttl, e, sizeof(e), 2);
}

/* A frame around an IP packet, padded to the Ethernet minimum with 0xee. */
static size_t lan_frame(uint8_t *f, const uint8_t *dst_mac, const uint8_t *src_mac, const uint8_t *pkt, size_t len)
{
	size_t n = wan_eth(f, dst_mac, src_mac, (pkt[0] >> 4) == 4 ? 0x0800 : 0x86dd);

	memcpy(f + n, pkt, len);
	n += len;
	while (n < 60)
		f[n++] = 0xee;
	return n;
}

/* From H to us (to be routed), and from the mesh. */
static void lan_from_h(struct wan_input *in, const uint8_t *pkt, size_t len)
{
	uint8_t f[2048];

	wan_add(in, f, lan_frame(f, lan_our_mac, lan_h_mac, pkt, len), 0);
}

static void lan_from_mesh(struct wan_input *in, const uint8_t *pkt, size_t len)
{
	wan_add(in, pkt, len, LAN_REC_MESH);
}

static void lan_put(const char *name, const struct wan_input *in)
{
	put("lan", name, in->b, in->n);
}

static void lan_seeds(void)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, zero_mac[6] = { 0 };
	static const uint8_t snm_us[16] = { 0xff, 2, [11] = 1, [12] = 0xff, 0, 0, 1 };
	static const uint8_t snm_us_mac[6] = { 0x33, 0x33, 0xff, 0, 0, 1 };
	static const uint8_t other4[4] = { 10, 1, 0, 9 }, mcast4[4] = { 224, 0, 0, 5 }, dbcast4[4] = { 10, 1, 0, 255 },
			     dbcast4b[4] = { 192, 168, 77, 3 }, ll4[4] = { 169, 254, 1, 1 };
	static const uint8_t mcast6[16] = { 0xff, 2, [15] = 1 }, ll6[16] = { 0xfe, 0x80, [15] = 1 };
	uint8_t f[2048], p[1600];
	struct wan_input in;
	size_t n;

	/* ARP and ND: for our address (answered, the host learned), for another (neither). */
	wan_begin(&in, 0);
	wan_add(&in, f, wan_arp(f, 1, bcast, lan_h_mac, lan_h4, zero_mac, lan_our4), 0);
	lan_put("arp-request", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_arp(f, 1, bcast, lan_h_mac, lan_h4, zero_mac, other4), 0);
	lan_put("arp-request-other", &in);
	wan_begin(&in, 0);
	wan_add(&in, f, wan_nd(f, 135, snm_us_mac, lan_h_mac, lan_h6, snm_us, lan_our6, lan_h_mac), 0);
	lan_put("nd-solicit", &in);

	/* Forwarded: UDP and a TCP SYN (its MSS clamped) either family; IPv4 with options. */
	wan_begin(&in, 0);
	lan_from_h(&in, p, lan_udp(p, 0, lan_h4, lan_remote4, 64, 32));
	lan_from_h(&in, p, lan_udp(p, 1, lan_h6, lan_remote6, 64, 32));
	lan_put("udp-forward", &in);
	wan_begin(&in, 0);
	lan_from_h(&in, p, lan_syn(p, 0, lan_h4, lan_remote4, 1460));
	lan_from_h(&in, p, lan_syn(p, 1, lan_h6, lan_remote6, 1440));
	lan_put("tcp-syn-forward", &in);
	wan_begin(&in, 0);
	n = lan_udp(p, 0, lan_h4, lan_remote4, 64, 16);
	memmove(p + 24, p + 20, n - 20); /* a 4-byte option (NOPs): the harness writes the checksum */
	memset(p + 20, 1, 4);
	p[0] = 0x46;
	put16(p + 2, (uint16_t)(n + 4));
	n += 4;
	wan_add(&in, f, lan_frame(f, lan_our_mac, lan_h_mac, p, n), LAN_REC_FIX_CSUM);
	wan_add(&in, f, lan_frame(f, lan_our_mac, lan_h_mac, p, n), LAN_REC_FIX_CSUM | LAN_REC_NIC_CSUM);
	lan_put("ipv4-options-forward", &in);

	/* TTL 1: time exceeded back to H (resolved). */
	wan_begin(&in, LAN_KNOB_FRESH);
	lan_from_h(&in, p, lan_udp(p, 0, lan_h4, lan_remote4, 1, 20));
	lan_from_h(&in, p, lan_udp(p, 1, lan_h6, lan_remote6, 1, 20));
	lan_put("ttl1", &in);

	/* Ping to our addresses: answered on the LAN. From a host not yet resolved, the reply waits. */
	wan_begin(&in, LAN_KNOB_FRESH);
	lan_from_h(&in, p, lan_echo(p, 0, lan_h4, lan_our4, 64));
	lan_from_h(&in, p, lan_echo(p, 1, lan_h6, lan_our6, 64));
	lan_from_h(&in, p, lan_echo(p, 0, lan_h4, lan_our4b, 64));
	lan_put("echo-to-us", &in);
	wan_begin(&in, LAN_KNOB_STEP_1S);
	n = lan_echo(p, 0, lan_q4, lan_our4, 64);
	wan_add(&in, f, lan_frame(f, lan_our_mac, lan_q_mac, p, n), 0);
	lan_put("echo-from-unresolved", &in);

	/* Not forwarded: another host's MAC, the broadcast MAC, multicast, directed broadcasts,
	 * link-local, UDP to us; truncated and malformed headers; a bad checksum (the NIC's say too). */
	wan_begin(&in, 0);
	n = lan_udp(p, 0, lan_h4, lan_remote4, 64, 8);
	wan_add(&in, f, lan_frame(f, lan_x_mac, lan_h_mac, p, n), 0);
	wan_add(&in, f, lan_frame(f, bcast, lan_h_mac, p, n), 0);
	lan_from_h(&in, p, lan_udp(p, 0, lan_h4, mcast4, 64, 8));
	lan_from_h(&in, p, lan_udp(p, 0, lan_h4, dbcast4, 64, 8));
	lan_from_h(&in, p, lan_udp(p, 0, lan_h4, dbcast4b, 64, 8));
	lan_from_h(&in, p, lan_udp(p, 0, lan_h4, ll4, 64, 8));
	lan_from_h(&in, p, lan_udp(p, 1, lan_h6, mcast6, 64, 8));
	lan_from_h(&in, p, lan_udp(p, 1, lan_h6, ll6, 64, 8));
	lan_from_h(&in, p, lan_udp(p, 0, lan_h4, lan_our4, 64, 8));
	lan_put("not-forwarded", &in);
	wan_begin(&in, 0);
	n = lan_udp(p, 0, lan_h4, lan_remote4, 64, 8);
	lan_frame(f, lan_our_mac, lan_h_mac, p, n);
	wan_add(&in, f, 10, 0);                       /* not even an Ethernet header */
	wan_add(&in, f, 14 + 12, 0);                  /* an IPv4 header cut short */
	wan_add(&in, f, 14 + 20 + 4, 0);              /* its total length past the frame */
	n = lan_udp(p, 1, lan_h6, lan_remote6, 64, 8);
	wan_add(&in, f, lan_frame(f, lan_our_mac, lan_h_mac, p, n) - 30, 0);
	wan_add(&in, f, wan_arp(f, 1, bcast, lan_h_mac, lan_h4, zero_mac, lan_our4) - 10, 0);
	f[12] = 0x88, f[13] = 0xb5; /* an ethertype of no one's */
	wan_add(&in, f, 60, 0);
	lan_put("truncated", &in);
	wan_begin(&in, 0);
	n = lan_udp(p, 0, lan_h4, lan_remote4, 64, 8);
	p[11] ^= 1;
	wan_add(&in, f, lan_frame(f, lan_our_mac, lan_h_mac, p, n), 0);
	wan_add(&in, f, lan_frame(f, lan_our_mac, lan_h_mac, p, n), LAN_REC_NIC_CSUM);
	p[11] ^= 1;
	wan_add(&in, f, lan_frame(f, lan_our_mac, lan_h_mac, p, n), LAN_REC_NIC_CSUM);
	wan_add(&in, f, lan_frame(f, lan_our_mac, lan_h_mac, p, n), LAN_REC_CHAINED);
	lan_put("checksum-and-chained", &in);

	/* From the mesh: to H (resolved), behind R, to a quiet host (asked three times, then host
	 * unreachable into the mesh), to no route, ping to us, TTL 1, to us but not ping. */
	wan_begin(&in, LAN_KNOB_FRESH);
	lan_from_mesh(&in, p, lan_udp(p, 0, lan_remote4, lan_h4, 64, 40));
	lan_from_mesh(&in, p, lan_udp(p, 1, lan_remote6, lan_h6, 64, 40));
	lan_from_mesh(&in, p, lan_syn(p, 0, lan_remote4, lan_h4, 1460));
	lan_put("mesh-to-host", &in);
	wan_begin(&in, LAN_KNOB_ROUTER);
	lan_from_mesh(&in, p, lan_udp(p, 0, lan_remote4, lan_behind_r4, 64, 40));
	lan_from_mesh(&in, p, lan_udp(p, 1, lan_remote6, lan_behind_r6, 64, 40));
	lan_put("mesh-via-router", &in);
	wan_begin(&in, LAN_KNOB_STEP_1S);
	lan_from_mesh(&in, p, lan_udp(p, 0, lan_remote4, lan_quiet4, 64, 24));
	lan_from_mesh(&in, p, lan_udp(p, 1, lan_remote6, lan_quiet6, 64, 24));
	lan_put("mesh-unresolved", &in);
	wan_begin(&in, 0);
	lan_from_mesh(&in, p, lan_udp(p, 0, lan_remote4, lan_nowhere4, 64, 24));
	lan_from_mesh(&in, p, lan_udp(p, 1, lan_remote6, lan_nowhere6, 64, 24));
	lan_from_mesh(&in, p, lan_echo(p, 0, lan_remote4, lan_our4, 64));
	lan_from_mesh(&in, p, lan_echo(p, 1, lan_remote6, lan_our6, 64));
	lan_from_mesh(&in, p, lan_udp(p, 0, lan_remote4, lan_our4, 64, 24));
	lan_put("mesh-no-route-and-ping", &in);
	wan_begin(&in, LAN_KNOB_FRESH);
	lan_from_mesh(&in, p, lan_udp(p, 0, lan_remote4, lan_h4, 1, 24));
	lan_from_mesh(&in, p, lan_udp(p, 1, lan_remote6, lan_h6, 1, 24));
	lan_put("mesh-ttl1", &in);

	/* The mesh's packets wait for H; H's ARP reply and neighbour advertisement release them. */
	wan_begin(&in, LAN_KNOB_MESH_FIRST);
	lan_from_mesh(&in, p, lan_udp(p, 0, lan_remote4, lan_h4, 64, 24));
	lan_from_mesh(&in, p, lan_udp(p, 1, lan_remote6, lan_h6, 64, 24));
	wan_add(&in, f, wan_arp(f, 2, lan_our_mac, lan_h_mac, lan_h4, lan_our_mac, lan_our4), 0);
	wan_add(&in, f, wan_nd(f, 136, lan_our_mac, lan_h_mac, lan_h6, lan_our6, lan_h6, lan_h_mac), 0);
	lan_put("answers-release-waiting", &in);

	/* H known but stale: used, so probed (unicast). The LAN down. Small rings, a full wire. */
	wan_begin(&in, LAN_KNOB_STALE | LAN_KNOB_STEP_1S);
	lan_from_mesh(&in, p, lan_udp(p, 0, lan_remote4, lan_h4, 64, 24));
	lan_from_mesh(&in, p, lan_udp(p, 1, lan_remote6, lan_h6, 64, 24));
	lan_put("stale-probed", &in);
	wan_begin(&in, LAN_KNOB_FRESH | LAN_KNOB_DOWN);
	lan_from_mesh(&in, p, lan_udp(p, 0, lan_remote4, lan_h4, 64, 24));
	lan_put("lan-down", &in);
	wan_begin(&in, LAN_KNOB_RINGS_SMALL);
	for (unsigned int i = 0; i < 3; i++) {
		const uint8_t q4[4] = { 10, 1, 0, (uint8_t)(100 + i) };

		wan_add(&in, f, wan_arp(f, 1, bcast, lan_h_mac, lan_h4, zero_mac, lan_our4), 0);
		lan_from_mesh(&in, p, lan_udp(p, 0, lan_remote4, q4, 64, 24));
	}
	lan_put("rings-small", &in);
	wan_begin(&in, LAN_KNOB_FRESH | LAN_KNOB_WIRE_FULL);
	for (unsigned int i = 0; i < 5; i++)
		lan_from_mesh(&in, p, lan_udp(p, 0, lan_remote4, lan_h4, 64, 24 + i));
	lan_put("wire-full", &in);
	/* The waiting queue's bounds: 16 per next hop (20 for one quiet host: 4 dropped at once), and
	 * 60 expiring together while the unreachables' rate limit gives 50. */
	wan_begin(&in, 0);
	for (unsigned int i = 0; i < 32; i++) {
		const uint8_t src4[4] = { 10, 1, 0, (uint8_t)(3 + i % 2) }, mac[6] = { 2, 0, 0, 0, 2, (uint8_t)(3 + i % 2) };
		const uint8_t dst4[4] = { 10, 1, 0, (uint8_t)(i < 20 ? 77 : 78) };

		n = lan_echo(p, 0, src4, lan_our4, 64);
		wan_add(&in, f, lan_frame(f, lan_our_mac, mac, p, n), 0);
		lan_from_mesh(&in, p, lan_udp(p, 0, lan_remote4, dst4, 64, 24));
	}
	lan_put("waiting-bounded", &in);

	/* A full burst each way: a bit of everything. */
	wan_begin(&in, LAN_KNOB_FRESH);
	for (unsigned int i = 0; i < 32; i++) {
		int v6 = i & 1;

		switch (i % 8) {
		case 0:
		case 1:
			lan_from_h(&in, p, lan_udp(p, v6, v6 ? lan_h6 : lan_h4, v6 ? lan_remote6 : lan_remote4, 64, i));
			break;
		case 2:
		case 3:
			lan_from_h(&in, p, lan_syn(p, v6, v6 ? lan_h6 : lan_h4, v6 ? lan_remote6 : lan_remote4, 1460));
			break;
		case 4:
			wan_add(&in, f, wan_arp(f, 1, bcast, lan_h_mac, lan_h4, zero_mac, lan_our4), 0);
			break;
		case 5:
			wan_add(&in, f, wan_nd(f, 135, snm_us_mac, lan_h_mac, lan_h6, snm_us, lan_our6, lan_h_mac), 0);
			break;
		case 6:
			lan_from_h(&in, p, lan_echo(p, 0, lan_h4, lan_our4, 64));
			break;
		default:
			lan_from_h(&in, p, lan_udp(p, 0, lan_h4, lan_remote4, 1, 8));
		}
		switch (i % 4) {
		case 0:
			lan_from_mesh(&in, p, lan_udp(p, v6, v6 ? lan_remote6 : lan_remote4, v6 ? lan_h6 : lan_h4, 64, i));
			break;
		case 1:
			lan_from_mesh(&in, p, lan_udp(p, v6, v6 ? lan_remote6 : lan_remote4, v6 ? lan_behind_r6 : lan_behind_r4, 64, i));
			break;
		case 2:
			lan_from_mesh(&in, p, lan_udp(p, 0, lan_remote4, lan_quiet4, 64, i));
			break;
		default:
			lan_from_mesh(&in, p, lan_echo(p, v6, v6 ? lan_remote6 : lan_remote4, v6 ? lan_our6 : lan_our4, 64));
		}
	}
	lan_put("burst-32-mixed", &in);
}

int main(int argc, char **argv)
{
	static struct fuzz_world world;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
		perror(outdir);
		return 1;
	}
	if (randombytes_set_implementation(&fixed_rng) != 0)
		abort();
	fuzz_world_init(&world);
	message_seeds(&world);
	noise_seeds();
	burst_seeds();
	replay_seeds();
	ratelimit_seeds();
	allowedips_seeds();
	wan_seeds(&world);
	lan_seeds();
	printf("make_seeds: %u seeds in %s\n", written, outdir);
	return 0;
}
