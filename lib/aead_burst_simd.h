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
 * lane loses per packet). false when the context does not split, or splits as fixed by
 * aead_simd_fix_split rather than by these. For benchmarks' records. */
struct aead_simd_costs {
	uint32_t step, c0, c1_x1000, split_min;
};
bool aead_simd_costs(const struct aead_burst *ab, struct aead_simd_costs *out);

/*
 * For tests: fix the split instead of leaving it to the cost model, whose choice comes from timing
 * this host at init (so whether a test burst is split at all would depend on the machine). From
 * this call on, in every burst (each 64-packet chunk of it), the packets of min_len bytes or more
 * go to intel-ipsec-mb and the others to the lanes; AEAD_SIMD_SPLIT_NEVER keeps every packet in
 * the lanes. The paths taken are the model's own, only the choice differs. Sets up the
 * intel-ipsec-mb context if init did not (MESHGATE_SIMD_SPLIT=0). Returns 0; -EINVAL when ab is
 * not a SIMD context; -ENOTSUP when intel-ipsec-mb cannot run here (NEVER still works); -ENOMEM.
 */
#define AEAD_SIMD_SPLIT_NEVER UINT32_MAX
int aead_simd_fix_split(struct aead_burst *ab, uint32_t min_len);

#endif
