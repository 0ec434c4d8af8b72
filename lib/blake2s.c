/* SPDX-License-Identifier: MIT */
/*
 * BLAKE2s (RFC 7693) and HMAC-BLAKE2s, written here rather than taken from OpenSSL because:
 *  - OpenSSL 3.0 (Debian bookworm) has BLAKE2S-256 and BLAKE2SMAC but no unkeyed hash with a
 *    variable output length, and BLAKE2SMAC refuses an empty key;
 *  - its EVP interface allocates a context per call, which the mac1 check done under load
 *    (a flood path) should not do.
 * tests/test_blake2s.c cross-checks this code against OpenSSL and the reference vectors.
 */
#include <string.h>

#include <sodium.h>

#include "blake2s.h"

#define BLAKE2S_ROUNDS 10

static const uint32_t blake2s_iv[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static const uint8_t blake2s_sigma[BLAKE2S_ROUNDS][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

/* Byte-wise loads and stores keep the code independent of host endianness and alignment. */
static uint32_t load32_le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store32_le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t ror32(uint32_t v, unsigned int n)
{
	return (v >> n) | (v << (32 - n));
}

/* The mixing function G (RFC 7693 3.1) with BLAKE2s rotation constants 16, 12, 8, 7. */
static void blake2s_g(uint32_t v[16], int a, int b, int c, int d, uint32_t x, uint32_t y)
{
	v[a] = v[a] + v[b] + x;
	v[d] = ror32(v[d] ^ v[a], 16);
	v[c] = v[c] + v[d];
	v[b] = ror32(v[b] ^ v[c], 12);
	v[a] = v[a] + v[b] + y;
	v[d] = ror32(v[d] ^ v[a], 8);
	v[c] = v[c] + v[d];
	v[b] = ror32(v[b] ^ v[c], 7);
}

static void blake2s_round(uint32_t v[16], const uint32_t m[16], const uint8_t s[16])
{
	blake2s_g(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
	blake2s_g(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
	blake2s_g(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
	blake2s_g(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
	blake2s_g(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
	blake2s_g(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
	blake2s_g(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
	blake2s_g(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
}

/* The compression function F (RFC 7693 3.2); the counter t must already include this block. */
static void blake2s_compress(struct blake2s_state *s, const uint8_t block[BLAKE2S_BLOCK_SIZE])
{
	uint32_t m[16], v[16];
	int i;

	for (i = 0; i < 16; i++)
		m[i] = load32_le(block + 4 * i);
	for (i = 0; i < 8; i++) {
		v[i] = s->h[i];
		v[i + 8] = blake2s_iv[i];
	}
	v[12] ^= s->t[0];
	v[13] ^= s->t[1];
	v[14] ^= s->f[0];
	v[15] ^= s->f[1];
	for (i = 0; i < BLAKE2S_ROUNDS; i++)
		blake2s_round(v, m, blake2s_sigma[i]);
	for (i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
	/* m holds message (possibly key) words and v is derived from them. */
	sodium_memzero(m, sizeof(m));
	sodium_memzero(v, sizeof(v));
}

/* The byte counter is 64 bits split over two words. */
static void blake2s_add_counter(struct blake2s_state *s, uint32_t inc)
{
	s->t[0] += inc;
	s->t[1] += (s->t[0] < inc);
}

void blake2s_init(struct blake2s_state *s, size_t outlen, const uint8_t *key, size_t keylen)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->h, blake2s_iv, sizeof(s->h));
	/* Parameter block word 0: digest length, key length, fanout 1, depth 1. */
	s->h[0] ^= 0x01010000 ^ (uint32_t)(keylen << 8) ^ (uint32_t)outlen;
	s->outlen = outlen;
	if (keylen) {
		/* A keyed hash starts with the key zero-padded to one full block. */
		memcpy(s->buf, key, keylen);
		s->buflen = BLAKE2S_BLOCK_SIZE;
	}
}

/*
 * The last block must be compressed with the final flag set, so a full buffer is only
 * compressed once more input is known to follow.
 */
void blake2s_update(struct blake2s_state *s, const uint8_t *in, size_t len)
{
	size_t fill = BLAKE2S_BLOCK_SIZE - s->buflen;

	if (len == 0)
		return;
	if (len > fill) {
		memcpy(s->buf + s->buflen, in, fill);
		blake2s_add_counter(s, BLAKE2S_BLOCK_SIZE);
		blake2s_compress(s, s->buf);
		s->buflen = 0;
		in += fill;
		len -= fill;
		while (len > BLAKE2S_BLOCK_SIZE) {
			blake2s_add_counter(s, BLAKE2S_BLOCK_SIZE);
			blake2s_compress(s, in);
			in += BLAKE2S_BLOCK_SIZE;
			len -= BLAKE2S_BLOCK_SIZE;
		}
	}
	memcpy(s->buf + s->buflen, in, len);
	s->buflen += len;
}

void blake2s_final(struct blake2s_state *s, uint8_t *out)
{
	uint8_t digest[BLAKE2S_HASH_SIZE];
	int i;

	blake2s_add_counter(s, (uint32_t)s->buflen);
	s->f[0] = UINT32_MAX;
	memset(s->buf + s->buflen, 0, BLAKE2S_BLOCK_SIZE - s->buflen);
	blake2s_compress(s, s->buf);
	for (i = 0; i < 8; i++)
		store32_le(digest + 4 * i, s->h[i]);
	memcpy(out, digest, s->outlen);
	sodium_memzero(digest, sizeof(digest));
	sodium_memzero(s, sizeof(*s));
}

void blake2s(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen,
	     const uint8_t *in, size_t inlen)
{
	struct blake2s_state s;

	blake2s_init(&s, outlen, key, keylen);
	blake2s_update(&s, in, inlen);
	blake2s_final(&s, out);
}

/* HASH((key block ^ pad) || msg): one of the two HMAC passes. */
static void hmac_pass(uint8_t out[BLAKE2S_HASH_SIZE], const uint8_t kblock[BLAKE2S_BLOCK_SIZE],
		      uint8_t pad, const uint8_t *msg, size_t len)
{
	uint8_t padded[BLAKE2S_BLOCK_SIZE];
	struct blake2s_state s;
	int i;

	for (i = 0; i < BLAKE2S_BLOCK_SIZE; i++)
		padded[i] = kblock[i] ^ pad;
	blake2s_init(&s, BLAKE2S_HASH_SIZE, NULL, 0);
	blake2s_update(&s, padded, sizeof(padded));
	blake2s_update(&s, msg, len);
	blake2s_final(&s, out);
	sodium_memzero(padded, sizeof(padded));
}

/* out is written last, so it may alias key or in. */
void blake2s_hmac(uint8_t out[BLAKE2S_HASH_SIZE], const uint8_t *key, size_t keylen,
		  const uint8_t *in, size_t inlen)
{
	uint8_t kblock[BLAKE2S_BLOCK_SIZE] = { 0 };
	uint8_t inner[BLAKE2S_HASH_SIZE];

	if (keylen > BLAKE2S_BLOCK_SIZE)
		blake2s(kblock, BLAKE2S_HASH_SIZE, NULL, 0, key, keylen);
	else if (keylen)
		memcpy(kblock, key, keylen);
	hmac_pass(inner, kblock, 0x36, in, inlen);
	hmac_pass(out, kblock, 0x5c, inner, sizeof(inner));
	sodium_memzero(kblock, sizeof(kblock));
	sodium_memzero(inner, sizeof(inner));
}
