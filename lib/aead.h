/* SPDX-License-Identifier: MIT */
/*
 * One-message AEADs for the control path (handshake, cookies) and tests, via libsodium:
 *  - ChaCha20-Poly1305 IETF (RFC 8439), 96-bit nonce; WireGuard's nonce is 32 zero bits followed by
 *    a little-endian 64-bit counter (aead_seal / aead_open take that counter);
 *  - XChaCha20-Poly1305 (192-bit nonce), used by cookie replies.
 * Ciphertext = encrypted payload || 16-byte tag. dst and src may be equal (in place).
 * The data path uses the burst API in aead_burst.h instead.
 */
#ifndef MG_AEAD_H
#define MG_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_SIZE 32
#define AEAD_TAG_SIZE 16
#define AEAD_NONCE_SIZE 12
#define XAEAD_NONCE_SIZE 24

/* dst receives len + AEAD_TAG_SIZE bytes. */
void aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	       uint64_t counter, const uint8_t key[AEAD_KEY_SIZE]);
/* len includes the tag. 0 and dst holds len - 16 bytes, or -EBADMSG (nothing written) / -EINVAL. */
int aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	      uint64_t counter, const uint8_t key[AEAD_KEY_SIZE]);

void aead_seal_ietf(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		    const uint8_t nonce[AEAD_NONCE_SIZE], const uint8_t key[AEAD_KEY_SIZE]);
int aead_open_ietf(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[AEAD_NONCE_SIZE], const uint8_t key[AEAD_KEY_SIZE]);

void xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		const uint8_t nonce[XAEAD_NONCE_SIZE], const uint8_t key[AEAD_KEY_SIZE]);
int xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	       const uint8_t nonce[XAEAD_NONCE_SIZE], const uint8_t key[AEAD_KEY_SIZE]);

#endif
