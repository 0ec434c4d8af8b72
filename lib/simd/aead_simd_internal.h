/* SPDX-License-Identifier: MIT */
/*
 * Entry points of the cross-packet SIMD ChaCha20-Poly1305 levels (lib/simd/). Each level lives in
 * its own static library compiled with its own -m flags; call a level only after its CPU check
 * (aead_simd_*_supported) passed. aead_simd.c wraps them as struct aead_burst_impl.
 *
 * nonce0 (may be NULL): per-op first 32-bit word of the 96-bit nonce. WireGuard's is always 0;
 * tests pass other values to run general RFC 8439 vectors through the same lanes.
 * The stream and Poly1305 hooks exist for unit tests of the lane code against libsodium.
 */
#ifndef MG_SIMD_AEAD_SIMD_INTERNAL_H
#define MG_SIMD_AEAD_SIMD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "aead_burst.h"

/* One lane of the stream hook: len bytes of in XOR ChaCha20(key, nonce, from block ic). */
struct simd_stream_lane {
	const uint8_t *key;   /* 32 bytes */
	const uint8_t *nonce; /* 12 bytes */
	uint32_t ic;
	const uint8_t *in;
	uint8_t *out;
	size_t len;
};

/* One lane of the Poly1305 hook: msg is len bytes, len a multiple of 16 (every block gets
 * 2^128). */
struct simd_poly_lane {
	const uint8_t *key; /* 32 bytes: r || s */
	const uint8_t *msg;
	size_t len;
	uint8_t *tag; /* 16 bytes out */
};

#define MG_SIMD_DECLARE_LEVEL(lvl)                                                                \
	void mg_simd_##lvl##_seal(struct aead_burst_op *ops, unsigned int n,                      \
				  const uint32_t *nonce0);                                        \
	unsigned int mg_simd_##lvl##_open(struct aead_burst_op *ops, unsigned int n,              \
					  const uint32_t *nonce0);                                \
	/* the packets *opp[0..n-1], WireGuard nonces, lanes filled in this order */              \
	void mg_simd_##lvl##_seal_ptrs(struct aead_burst_op *const *opp, unsigned int n);         \
	unsigned int mg_simd_##lvl##_open_ptrs(struct aead_burst_op *const *opp, unsigned int n); \
	/* at most 16 (AVX-512) or 8 (AVX2) lanes per call */                                     \
	void mg_simd_##lvl##_chacha20_xor(const struct simd_stream_lane *l, unsigned int n);      \
	void mg_simd_##lvl##_poly1305(const struct simd_poly_lane *l, unsigned int n);

MG_SIMD_DECLARE_LEVEL(avx512)
MG_SIMD_DECLARE_LEVEL(ifma)
MG_SIMD_DECLARE_LEVEL(avx2)

#endif
