/* SPDX-License-Identifier: MIT */
/*
 * WireGuard's KDF_n: HKDF (RFC 5869) with HMAC-BLAKE2s, n = 1..3 outputs of 32 bytes.
 *   prk = HMAC(ck, input); t1 = HMAC(prk, 0x1); t2 = HMAC(prk, t1 || 0x2); t3 = HMAC(prk, t2 || 0x3)
 */
#ifndef MG_KDF_H
#define MG_KDF_H

#include <stddef.h>
#include <stdint.h>

#define KDF_OUT_SIZE 32

/* t2 and t3 may be NULL (KDF1, KDF2). Intermediate secrets are wiped. ck may alias t1. */
void kdf_derive(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t *ck, size_t cklen,
		const uint8_t *in, size_t inlen);

#endif
