/* SPDX-License-Identifier: MIT */
/* ChaCha20-Poly1305 and XChaCha20-Poly1305 via libsodium; see aead.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"

static pthread_once_t aead_sodium_once = PTHREAD_ONCE_INIT;

/* sodium_init picks the fastest ChaCha20 and Poly1305 code for this CPU; once is enough. */
static void aead_sodium_init(void)
{
	if (sodium_init() < 0)
		abort();
}

static void aead_ready(void)
{
	pthread_once(&aead_sodium_once, aead_sodium_init);
}

/* WireGuard's nonce: 32 zero bits, then the 64-bit counter little-endian. */
static void aead_wg_nonce(uint8_t nonce[AEAD_NONCE_SIZE], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

void aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	       uint64_t counter, const uint8_t key[AEAD_KEY_SIZE])
{
	uint8_t nonce[AEAD_NONCE_SIZE];

	aead_wg_nonce(nonce, counter);
	aead_seal_ietf(dst, src, len, ad, adlen, nonce, key);
}

int aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	      uint64_t counter, const uint8_t key[AEAD_KEY_SIZE])
{
	uint8_t nonce[AEAD_NONCE_SIZE];

	aead_wg_nonce(nonce, counter);
	return aead_open_ietf(dst, src, len, ad, adlen, nonce, key);
}

/* Encryption runs before the tag is computed over the ciphertext, so dst == src is fine. */
void aead_seal_ietf(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		    const uint8_t nonce[AEAD_NONCE_SIZE], const uint8_t key[AEAD_KEY_SIZE])
{
	aead_ready();
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(dst, dst + len, NULL, src, len, ad,
							   adlen, NULL, nonce, key);
}

/*
 * libsodium zeroes the output when the tag is wrong, which in place would destroy the input.
 * So the tag is verified first (a NULL message pointer makes libsodium only verify) and the
 * payload decrypted afterwards: keystream from block 1, as block 0 keys Poly1305.
 * tests/test_aead.c checks that a rejected message leaves dst (and an in-place input) intact.
 */
int aead_open_ietf(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[AEAD_NONCE_SIZE], const uint8_t key[AEAD_KEY_SIZE])
{
	size_t mlen;

	if (len < AEAD_TAG_SIZE)
		return -EINVAL;
	aead_ready();
	mlen = len - AEAD_TAG_SIZE;
	if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(NULL, NULL, src, mlen, src + mlen,
							       ad, adlen, nonce, key) != 0)
		return -EBADMSG;
	crypto_stream_chacha20_ietf_xor_ic(dst, src, mlen, nonce, 1, key);
	return 0;
}

void xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		const uint8_t nonce[XAEAD_NONCE_SIZE], const uint8_t key[AEAD_KEY_SIZE])
{
	aead_ready();
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(dst, dst + len, NULL, src, len, ad,
							    adlen, NULL, nonce, key);
}

/*
 * Same verify-then-decrypt split as aead_open_ietf. XChaCha20 keystream block 1 under the
 * 192-bit nonce is exactly what the AEAD uses for the payload.
 */
int xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	       const uint8_t nonce[XAEAD_NONCE_SIZE], const uint8_t key[AEAD_KEY_SIZE])
{
	size_t mlen;

	if (len < AEAD_TAG_SIZE)
		return -EINVAL;
	aead_ready();
	mlen = len - AEAD_TAG_SIZE;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(NULL, NULL, src, mlen, src + mlen,
								ad, adlen, nonce, key) != 0)
		return -EBADMSG;
	crypto_stream_xchacha20_xor_ic(dst, src, mlen, nonce, 1, key);
	return 0;
}
