/* SPDX-License-Identifier: MIT */
/* WireGuard's KDF_n; see kdf.h. */
#include <string.h>

#include <sodium.h>

#include "blake2s.h"
#include "kdf.h"

/*
 * All outputs are computed into locals and copied out at the end, because callers pass the
 * chaining key (and sometimes the input) as one of the outputs.
 */
void kdf_derive(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t *ck, size_t cklen,
		const uint8_t *in, size_t inlen)
{
	uint8_t prk[BLAKE2S_HASH_SIZE];
	uint8_t t[3][KDF_OUT_SIZE];
	uint8_t block[KDF_OUT_SIZE + 1];
	int n = t3 ? 3 : t2 ? 2 : 1;
	int i;

	blake2s_hmac(prk, ck, cklen, in, inlen);
	block[0] = 0x1;
	blake2s_hmac(t[0], prk, sizeof(prk), block, 1);
	for (i = 1; i < n; i++) {
		/* t_{i+1} = HMAC(prk, t_i || i+1) */
		memcpy(block, t[i - 1], KDF_OUT_SIZE);
		block[KDF_OUT_SIZE] = (uint8_t)(i + 1);
		blake2s_hmac(t[i], prk, sizeof(prk), block, sizeof(block));
	}
	memcpy(t1, t[0], KDF_OUT_SIZE);
	if (t2)
		memcpy(t2, t[1], KDF_OUT_SIZE);
	if (t3)
		memcpy(t3, t[2], KDF_OUT_SIZE);
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(t, sizeof(t));
	sodium_memzero(block, sizeof(block));
}
