/* SPDX-License-Identifier: MIT */
/*
 * Writes the binary seeds of the fuzz targets: for message and noise, messages of the fixed world
 * of fuzz_common.h that authenticate (so the fuzzer starts past every MAC and AEAD check); for the
 * targets whose input is a stream of operations, a few streams that reach their interesting
 * states (a full burst, a full rate-limiter table, nested prefixes...). The text seeds (uapi,
 * config, keyenc, keyfile) are plain files in tests/fuzz/corpus/.
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
	printf("make_seeds: %u seeds in %s\n", written, outdir);
	return 0;
}
