/* SPDX-License-Identifier: MIT */
/*
 * BLAKE2s (RFC 7693): plain, keyed (any output length 1..32, key 0..32) and HMAC-BLAKE2s.
 * WireGuard uses HASH = BLAKE2s-256, MAC = keyed BLAKE2s-128 (mac1/mac2) and HMAC for its KDF.
 */
#ifndef MG_BLAKE2S_H
#define MG_BLAKE2S_H

#include <stddef.h>
#include <stdint.h>

#define BLAKE2S_HASH_SIZE 32
#define BLAKE2S_BLOCK_SIZE 64
#define BLAKE2S_KEY_SIZE 32

struct blake2s_state {
	uint32_t h[8];
	uint32_t t[2];
	uint32_t f[2];
	uint8_t buf[BLAKE2S_BLOCK_SIZE];
	size_t buflen;
	size_t outlen;
};

/* outlen 1..32; key may be NULL when keylen is 0; keylen 0..32. */
void blake2s_init(struct blake2s_state *s, size_t outlen, const uint8_t *key, size_t keylen);
void blake2s_update(struct blake2s_state *s, const uint8_t *in, size_t len);
/* Writes s->outlen bytes and wipes the state. */
void blake2s_final(struct blake2s_state *s, uint8_t *out);

/* One shot: out = BLAKE2s(key, in) truncated to outlen. */
void blake2s(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen,
	     const uint8_t *in, size_t inlen);

/* HMAC-BLAKE2s-256 (RFC 2104 over BLAKE2s-256, 64-byte block); any key length. */
void blake2s_hmac(uint8_t out[BLAKE2S_HASH_SIZE], const uint8_t *key, size_t keylen,
		  const uint8_t *in, size_t inlen);

#endif
