/* SPDX-License-Identifier: MIT */
/*
 * ChaCha20 block function over 8 packets at once (AVX2), one packet per 32-bit lane.
 *
 * Lane layout (transposed state): vector j holds state word j of all 8 packets, lane i = packet i;
 * s[0..3] constants, s[4..11] key, s[12] block counter, s[13..15] nonce, as in chacha20_x16.h.
 * The output is word-major; transpose_x8 turns 8 words of 8 lanes into lane-major (vector i = 32
 * keystream bytes of packet i), so a 64-byte block takes two transposes (words 0..7 and 8..15).
 *
 * AVX2 has no rotate: 16 and 8 are byte shuffles, 12 and 7 shift pairs. Include only from files
 * compiled with -mavx2.
 */
#ifndef MG_SIMD_CHACHA20_X8_H
#define MG_SIMD_CHACHA20_X8_H

#include <immintrin.h>

static inline __m256i rotl16_x8(__m256i x)
{
	const __m256i r16 = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
					     2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);

	return _mm256_shuffle_epi8(x, r16);
}

static inline __m256i rotl8_x8(__m256i x)
{
	const __m256i r8 = _mm256_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, 3,
					    0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);

	return _mm256_shuffle_epi8(x, r8);
}

#define ROTL_X8(x, n) _mm256_or_si256(_mm256_slli_epi32(x, n), _mm256_srli_epi32(x, 32 - (n)))

#define CHACHA_X8_QR(a, b, c, d)                       \
	do {                                           \
		a = _mm256_add_epi32(a, b);            \
		d = rotl16_x8(_mm256_xor_si256(d, a)); \
		c = _mm256_add_epi32(c, d);            \
		b = _mm256_xor_si256(b, c);            \
		b = ROTL_X8(b, 12);                    \
		a = _mm256_add_epi32(a, b);            \
		d = rotl8_x8(_mm256_xor_si256(d, a));  \
		c = _mm256_add_epi32(c, d);            \
		b = _mm256_xor_si256(b, c);            \
		b = ROTL_X8(b, 7);                     \
	} while (0)

static inline void chacha20_x8_block(const __m256i s[16], __m256i x[16])
{
	__m256i x0 = s[0], x1 = s[1], x2 = s[2], x3 = s[3];
	__m256i x4 = s[4], x5 = s[5], x6 = s[6], x7 = s[7];
	__m256i x8 = s[8], x9 = s[9], x10 = s[10], x11 = s[11];
	__m256i x12 = s[12], x13 = s[13], x14 = s[14], x15 = s[15];

	for (int i = 0; i < 10; i++) {
		CHACHA_X8_QR(x0, x4, x8, x12);
		CHACHA_X8_QR(x1, x5, x9, x13);
		CHACHA_X8_QR(x2, x6, x10, x14);
		CHACHA_X8_QR(x3, x7, x11, x15);
		CHACHA_X8_QR(x0, x5, x10, x15);
		CHACHA_X8_QR(x1, x6, x11, x12);
		CHACHA_X8_QR(x2, x7, x8, x13);
		CHACHA_X8_QR(x3, x4, x9, x14);
	}
	x[0] = _mm256_add_epi32(x0, s[0]);
	x[1] = _mm256_add_epi32(x1, s[1]);
	x[2] = _mm256_add_epi32(x2, s[2]);
	x[3] = _mm256_add_epi32(x3, s[3]);
	x[4] = _mm256_add_epi32(x4, s[4]);
	x[5] = _mm256_add_epi32(x5, s[5]);
	x[6] = _mm256_add_epi32(x6, s[6]);
	x[7] = _mm256_add_epi32(x7, s[7]);
	x[8] = _mm256_add_epi32(x8, s[8]);
	x[9] = _mm256_add_epi32(x9, s[9]);
	x[10] = _mm256_add_epi32(x10, s[10]);
	x[11] = _mm256_add_epi32(x11, s[11]);
	x[12] = _mm256_add_epi32(x12, s[12]);
	x[13] = _mm256_add_epi32(x13, s[13]);
	x[14] = _mm256_add_epi32(x14, s[14]);
	x[15] = _mm256_add_epi32(x15, s[15]);
}

/*
 * In-place 8x8 transpose of 32-bit words (an involution): unpacks transpose the 4x4 blocks inside
 * each 128-bit lane, then 128-bit permutes swap the off-diagonal blocks. 24 shuffles.
 */
static inline void transpose_x8(__m256i v[8])
{
	__m256i b[8];

	for (int g = 0; g < 2; g++) {
		const __m256i *x = &v[4 * g];
		__m256i a0 = _mm256_unpacklo_epi32(x[0], x[1]);
		__m256i a1 = _mm256_unpackhi_epi32(x[0], x[1]);
		__m256i a2 = _mm256_unpacklo_epi32(x[2], x[3]);
		__m256i a3 = _mm256_unpackhi_epi32(x[2], x[3]);

		b[4 * g + 0] = _mm256_unpacklo_epi64(a0, a2);
		b[4 * g + 1] = _mm256_unpackhi_epi64(a0, a2);
		b[4 * g + 2] = _mm256_unpacklo_epi64(a1, a3);
		b[4 * g + 3] = _mm256_unpackhi_epi64(a1, a3);
	}
	for (int c = 0; c < 4; c++) {
		v[c] = _mm256_permute2x128_si256(b[c], b[4 + c], 0x20);
		v[4 + c] = _mm256_permute2x128_si256(b[c], b[4 + c], 0x31);
	}
}

#endif
