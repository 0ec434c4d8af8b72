/* SPDX-License-Identifier: MIT */
/*
 * ChaCha20 block function over 16 packets at once (AVX-512F), one packet per 32-bit lane.
 *
 * Lane layout (transposed state): vector j holds state word j of all 16 packets, lane i = packet i.
 *   s[0..3]   the constant "expand 32-byte k" (same in every lane)
 *   s[4..11]  the 256-bit key of packet i
 *   s[12]     block counter of packet i (each lane at its own position in its own packet)
 *   s[13..15] the 96-bit nonce: WireGuard uses 0, LE64 counter (lo, hi)
 * The output x[j] is keystream word j of the block of lane i: "word-major". Transposing it (see
 * transpose_x16) gives "lane-major": vector i = the 64 keystream bytes of packet i, ready to XOR
 * with that packet's data.
 *
 * Include only from files compiled with -mavx512f.
 */
#ifndef MG_SIMD_CHACHA20_X16_H
#define MG_SIMD_CHACHA20_X16_H

#include <immintrin.h>

#define CHACHA_X16_QR(a, b, c, d)                                 \
	do {                                                      \
		a = _mm512_add_epi32(a, b);                       \
		d = _mm512_rol_epi32(_mm512_xor_si512(d, a), 16); \
		c = _mm512_add_epi32(c, d);                       \
		b = _mm512_rol_epi32(_mm512_xor_si512(b, c), 12); \
		a = _mm512_add_epi32(a, b);                       \
		d = _mm512_rol_epi32(_mm512_xor_si512(d, a), 8);  \
		c = _mm512_add_epi32(c, d);                       \
		b = _mm512_rol_epi32(_mm512_xor_si512(b, c), 7);  \
	} while (0)

#define CHACHA_X16_DOUBLE_ROUND()                \
	do {                                     \
		CHACHA_X16_QR(x0, x4, x8, x12);  \
		CHACHA_X16_QR(x1, x5, x9, x13);  \
		CHACHA_X16_QR(x2, x6, x10, x14); \
		CHACHA_X16_QR(x3, x7, x11, x15); \
		CHACHA_X16_QR(x0, x5, x10, x15); \
		CHACHA_X16_QR(x1, x6, x11, x12); \
		CHACHA_X16_QR(x2, x7, x8, x13);  \
		CHACHA_X16_QR(x3, x4, x9, x14);  \
	} while (0)

#define CHACHA_X16_LOAD(s)                                      \
	__m512i x0 = s[0], x1 = s[1], x2 = s[2], x3 = s[3];     \
	__m512i x4 = s[4], x5 = s[5], x6 = s[6], x7 = s[7];     \
	__m512i x8 = s[8], x9 = s[9], x10 = s[10], x11 = s[11]; \
	__m512i x12 = s[12], x13 = s[13], x14 = s[14], x15 = s[15]

#define CHACHA_X16_STORE(s, x)                        \
	do {                                          \
		x[0] = _mm512_add_epi32(x0, s[0]);    \
		x[1] = _mm512_add_epi32(x1, s[1]);    \
		x[2] = _mm512_add_epi32(x2, s[2]);    \
		x[3] = _mm512_add_epi32(x3, s[3]);    \
		x[4] = _mm512_add_epi32(x4, s[4]);    \
		x[5] = _mm512_add_epi32(x5, s[5]);    \
		x[6] = _mm512_add_epi32(x6, s[6]);    \
		x[7] = _mm512_add_epi32(x7, s[7]);    \
		x[8] = _mm512_add_epi32(x8, s[8]);    \
		x[9] = _mm512_add_epi32(x9, s[9]);    \
		x[10] = _mm512_add_epi32(x10, s[10]); \
		x[11] = _mm512_add_epi32(x11, s[11]); \
		x[12] = _mm512_add_epi32(x12, s[12]); \
		x[13] = _mm512_add_epi32(x13, s[13]); \
		x[14] = _mm512_add_epi32(x14, s[14]); \
		x[15] = _mm512_add_epi32(x15, s[15]); \
	} while (0)

/* x = ChaCha20(s): 20 rounds plus the feed-forward, for all 16 lanes. */
static inline void chacha20_x16_block(const __m512i s[16], __m512i x[16])
{
	CHACHA_X16_LOAD(s);

	for (int i = 0; i < 10; i++)
		CHACHA_X16_DOUBLE_ROUND();
	CHACHA_X16_STORE(s, x);
}

/*
 * In-place 16x16 transpose of 32-bit words: word-major <-> lane-major (an involution).
 * Stages: 32-bit and 64-bit unpacks transpose 4x4 blocks inside each 128-bit lane, then two rounds
 * of 128-bit shuffles transpose the 4x4 grid of those blocks. 64 shuffles in all.
 */
static inline void transpose_x16(__m512i v[16])
{
	__m512i b[16], e[16];

	for (int g = 0; g < 4; g++) {
		const __m512i *x = &v[4 * g];
		__m512i a0 = _mm512_unpacklo_epi32(x[0], x[1]);
		__m512i a1 = _mm512_unpackhi_epi32(x[0], x[1]);
		__m512i a2 = _mm512_unpacklo_epi32(x[2], x[3]);
		__m512i a3 = _mm512_unpackhi_epi32(x[2], x[3]);

		/* b[4g + c]: rows 4g..4g+3 of column 4L + c in 128-bit lane L */
		b[4 * g + 0] = _mm512_unpacklo_epi64(a0, a2);
		b[4 * g + 1] = _mm512_unpackhi_epi64(a0, a2);
		b[4 * g + 2] = _mm512_unpacklo_epi64(a1, a3);
		b[4 * g + 3] = _mm512_unpackhi_epi64(a1, a3);
	}
	for (int c = 0; c < 4; c++) {
		/* out[4L + c] lane g = b[4g + c] lane L */
		e[4 * c + 0] = _mm512_shuffle_i32x4(b[c], b[4 + c], 0x44);
		e[4 * c + 1] = _mm512_shuffle_i32x4(b[c], b[4 + c], 0xee);
		e[4 * c + 2] = _mm512_shuffle_i32x4(b[8 + c], b[12 + c], 0x44);
		e[4 * c + 3] = _mm512_shuffle_i32x4(b[8 + c], b[12 + c], 0xee);
		v[0 + c] = _mm512_shuffle_i32x4(e[4 * c + 0], e[4 * c + 2], 0x88);
		v[4 + c] = _mm512_shuffle_i32x4(e[4 * c + 0], e[4 * c + 2], 0xdd);
		v[8 + c] = _mm512_shuffle_i32x4(e[4 * c + 1], e[4 * c + 3], 0x88);
		v[12 + c] = _mm512_shuffle_i32x4(e[4 * c + 1], e[4 * c + 3], 0xdd);
	}
}

#endif
