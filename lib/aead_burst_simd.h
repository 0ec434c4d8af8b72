/* SPDX-License-Identifier: MIT */
/*
 * Cross-packet SIMD ChaCha20-Poly1305 backends for the burst API (code in lib/simd/): each SIMD
 * lane carries a different packet of the burst.
 *   aead_burst_simd_ifma    16 lanes, AVX-512F/BW/VL, Poly1305 in 52-bit IFMA limbs
 *   aead_burst_simd_avx512  16 lanes, AVX-512F/BW/VL, Poly1305 in 26-bit limbs
 *   aead_burst_simd_avx2     8 lanes, AVX2, Poly1305 in 26-bit limbs
 * Each impl's supported() checks the CPU at run time; the binary itself needs only x86-64.
 */
#ifndef MG_AEAD_BURST_SIMD_H
#define MG_AEAD_BURST_SIMD_H

#include "aead_burst.h"

extern const struct aead_burst_impl aead_burst_simd_avx2, aead_burst_simd_avx512,
	aead_burst_simd_ifma;

/* What a SIMD context measured at init for splitting bursts with intel-ipsec-mb (TSC ticks: one
 * lane step; intel-ipsec-mb per packet c0 + c1_x1000 / 1000 per byte; the length from which a
 * lane loses per packet). false when the context does not split. For benchmarks' records. */
struct aead_simd_costs {
	uint32_t step, c0, c1_x1000, split_min;
};
bool aead_simd_costs(const struct aead_burst *ab, struct aead_simd_costs *out);

#endif
