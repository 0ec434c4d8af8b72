/* SPDX-License-Identifier: MIT */
/*
 * Poly1305 over 8 packets at once (AVX2), 26-bit limbs.
 *
 * Lane layout: as poly1305_x16.h at half the width. Message words come word-major (w[k] lane i =
 * word k of packet i's block); the state is kept in two halves of 64-bit lanes, [0] = even packets
 * (0, 2, 4, 6) in 64-bit lane i/2, [1] = odd packets, because vpmuludq multiplies the low 32 bits
 * of each 64-bit lane. AVX2 has no mask registers: lane selections are all-ones/all-zeros vectors
 * and blends.
 *
 * Include only from files compiled with -mavx2.
 */
#ifndef MG_SIMD_POLY1305_X8_H
#define MG_SIMD_POLY1305_X8_H

#include <stdint.h>
#include <immintrin.h>

struct poly1305_x8 {
	__m256i h[5][2];
	__m256i r[5][2];
	__m256i r5[5][2];
	__m256i s[4];
};

#define P26_MASK_X8 0x3ffffff

/* Lane mask bits to all-ones 32-bit lanes. */
static inline __m256i mask_x8(uint8_t m)
{
	const __m256i bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);

	return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(m), bits), bits);
}

/* The 64-bit lane masks of half e (even or odd packets). */
static inline __m256i mask_half_x8(__m256i m32, int e)
{
	return e ? _mm256_shuffle_epi32(m32, 0xf5) : _mm256_shuffle_epi32(m32, 0xa0);
}

static inline void p26_limbs_x8(const __m256i w[4], __m256i l[5])
{
	const __m256i m26 = _mm256_set1_epi32(P26_MASK_X8);

	l[0] = _mm256_and_si256(w[0], m26);
	l[1] = _mm256_and_si256(
		_mm256_or_si256(_mm256_srli_epi32(w[0], 26), _mm256_slli_epi32(w[1], 6)), m26);
	l[2] = _mm256_and_si256(
		_mm256_or_si256(_mm256_srli_epi32(w[1], 20), _mm256_slli_epi32(w[2], 12)), m26);
	l[3] = _mm256_and_si256(
		_mm256_or_si256(_mm256_srli_epi32(w[2], 14), _mm256_slli_epi32(w[3], 18)), m26);
	l[4] = _mm256_srli_epi32(w[3], 8);
}

static inline void poly1305_x8_setkey(struct poly1305_x8 *p, const __m256i x[8], uint8_t m)
{
	const __m256i lo32 = _mm256_set1_epi64x(0xffffffff);
	__m256i m32 = mask_x8(m), me = mask_half_x8(m32, 0), mo = mask_half_x8(m32, 1);
	__m256i w[4], l[5];

	w[0] = _mm256_and_si256(x[0], _mm256_set1_epi32(0x0fffffff));
	w[1] = _mm256_and_si256(x[1], _mm256_set1_epi32(0x0ffffffc));
	w[2] = _mm256_and_si256(x[2], _mm256_set1_epi32(0x0ffffffc));
	w[3] = _mm256_and_si256(x[3], _mm256_set1_epi32(0x0ffffffc));
	p26_limbs_x8(w, l);
	for (int j = 0; j < 5; j++) {
		__m256i e = _mm256_and_si256(l[j], lo32), o = _mm256_srli_epi64(l[j], 32);

		p->r[j][0] = _mm256_blendv_epi8(p->r[j][0], e, me);
		p->r[j][1] = _mm256_blendv_epi8(p->r[j][1], o, mo);
		p->r5[j][0] = _mm256_blendv_epi8(p->r5[j][0],
						 _mm256_add_epi64(e, _mm256_slli_epi64(e, 2)), me);
		p->r5[j][1] = _mm256_blendv_epi8(p->r5[j][1],
						 _mm256_add_epi64(o, _mm256_slli_epi64(o, 2)), mo);
		p->h[j][0] = _mm256_andnot_si256(me, p->h[j][0]);
		p->h[j][1] = _mm256_andnot_si256(mo, p->h[j][1]);
	}
	for (int j = 0; j < 4; j++)
		p->s[j] = _mm256_blendv_epi8(p->s[j], x[4 + j], m32);
}

static inline void p26_mul_half_x8(struct poly1305_x8 *p, int e, const __m256i l[5], __m256i mask)
{
	const __m256i m26 = _mm256_set1_epi64x(P26_MASK_X8);
	__m256i h0, h1, h2, h3, h4, d0, d1, d2, d3, d4, c;
	__m256i r0 = p->r[0][e], r1 = p->r[1][e], r2 = p->r[2][e], r3 = p->r[3][e], r4 = p->r[4][e];
	__m256i s1 = p->r5[1][e], s2 = p->r5[2][e], s3 = p->r5[3][e], s4 = p->r5[4][e];

	if (e) {
		h0 = _mm256_add_epi64(p->h[0][e], _mm256_srli_epi64(l[0], 32));
		h1 = _mm256_add_epi64(p->h[1][e], _mm256_srli_epi64(l[1], 32));
		h2 = _mm256_add_epi64(p->h[2][e], _mm256_srli_epi64(l[2], 32));
		h3 = _mm256_add_epi64(p->h[3][e], _mm256_srli_epi64(l[3], 32));
		h4 = _mm256_add_epi64(p->h[4][e], _mm256_srli_epi64(l[4], 32));
	} else {
		/* the odd packet lands in the high half, which vpmuludq ignores; no carry
		 * crosses */
		h0 = _mm256_add_epi32(p->h[0][e], l[0]);
		h1 = _mm256_add_epi32(p->h[1][e], l[1]);
		h2 = _mm256_add_epi32(p->h[2][e], l[2]);
		h3 = _mm256_add_epi32(p->h[3][e], l[3]);
		h4 = _mm256_add_epi32(p->h[4][e], l[4]);
	}
#define MUL _mm256_mul_epu32
#define ADD _mm256_add_epi64
	d0 = ADD(ADD(MUL(h0, r0), MUL(h1, s4)), ADD(ADD(MUL(h2, s3), MUL(h3, s2)), MUL(h4, s1)));
	d1 = ADD(ADD(MUL(h0, r1), MUL(h1, r0)), ADD(ADD(MUL(h2, s4), MUL(h3, s3)), MUL(h4, s2)));
	d2 = ADD(ADD(MUL(h0, r2), MUL(h1, r1)), ADD(ADD(MUL(h2, r0), MUL(h3, s4)), MUL(h4, s3)));
	d3 = ADD(ADD(MUL(h0, r3), MUL(h1, r2)), ADD(ADD(MUL(h2, r1), MUL(h3, r0)), MUL(h4, s4)));
	d4 = ADD(ADD(MUL(h0, r4), MUL(h1, r3)), ADD(ADD(MUL(h2, r2), MUL(h3, r1)), MUL(h4, r0)));
#undef MUL
	c = _mm256_srli_epi64(d0, 26);
	h0 = _mm256_and_si256(d0, m26);
	d1 = ADD(d1, c);
	c = _mm256_srli_epi64(d1, 26);
	h1 = _mm256_and_si256(d1, m26);
	d2 = ADD(d2, c);
	c = _mm256_srli_epi64(d2, 26);
	h2 = _mm256_and_si256(d2, m26);
	d3 = ADD(d3, c);
	c = _mm256_srli_epi64(d3, 26);
	h3 = _mm256_and_si256(d3, m26);
	d4 = ADD(d4, c);
	c = _mm256_srli_epi64(d4, 26);
	h4 = _mm256_and_si256(d4, m26);
	h0 = ADD(h0, ADD(c, _mm256_slli_epi64(c, 2)));
	c = _mm256_srli_epi64(h0, 26);
	h0 = _mm256_and_si256(h0, m26);
	h1 = ADD(h1, c);
#undef ADD
	p->h[0][e] = _mm256_blendv_epi8(p->h[0][e], h0, mask);
	p->h[1][e] = _mm256_blendv_epi8(p->h[1][e], h1, mask);
	p->h[2][e] = _mm256_blendv_epi8(p->h[2][e], h2, mask);
	p->h[3][e] = _mm256_blendv_epi8(p->h[3][e], h3, mask);
	p->h[4][e] = _mm256_blendv_epi8(p->h[4][e], h4, mask);
}

static inline void poly1305_x8_block(struct poly1305_x8 *p, const __m256i w[4], uint8_t m)
{
	__m256i l[5], m32 = mask_x8(m);

	p26_limbs_x8(w, l);
	l[4] = _mm256_or_si256(l[4], _mm256_set1_epi32(1 << 24));
	p26_mul_half_x8(p, 0, l, mask_half_x8(m32, 0));
	p26_mul_half_x8(p, 1, l, mask_half_x8(m32, 1));
}

static inline void p26_final_half_x8(const struct poly1305_x8 *p, int e, const __m256i sl[5],
				     __m256i *lo, __m256i *hi)
{
	const __m256i m26 = _mm256_set1_epi64x(P26_MASK_X8);
	__m256i h0 = p->h[0][e], h1 = p->h[1][e], h2 = p->h[2][e], h3 = p->h[3][e], h4 = p->h[4][e];
	__m256i g0, g1, g2, g3, g4, c, lt;

#define ADD	  _mm256_add_epi64
#define SR(x)	  _mm256_srli_epi64(x, 26)
#define LOW(x)	  _mm256_and_si256(x, m26)
#define TIMES5(x) ADD(x, _mm256_slli_epi64(x, 2))
	c = SR(h1);
	h1 = LOW(h1);
	h2 = ADD(h2, c);
	c = SR(h2);
	h2 = LOW(h2);
	h3 = ADD(h3, c);
	c = SR(h3);
	h3 = LOW(h3);
	h4 = ADD(h4, c);
	c = SR(h4);
	h4 = LOW(h4);
	h0 = ADD(h0, TIMES5(c));
	c = SR(h0);
	h0 = LOW(h0);
	h1 = ADD(h1, c);
	c = SR(h1);
	h1 = LOW(h1);
	h2 = ADD(h2, c);
	/* g = h + 5 - 2^130: h >= p exactly when g does not go negative */
	g0 = ADD(h0, _mm256_set1_epi64x(5));
	c = SR(g0);
	g0 = LOW(g0);
	g1 = ADD(h1, c);
	c = SR(g1);
	g1 = LOW(g1);
	g2 = ADD(h2, c);
	c = SR(g2);
	g2 = LOW(g2);
	g3 = ADD(h3, c);
	c = SR(g3);
	g3 = LOW(g3);
	g4 = _mm256_sub_epi64(ADD(h4, c), _mm256_set1_epi64x(1 << 26));
	lt = _mm256_cmpgt_epi64(_mm256_setzero_si256(), g4);
	h0 = _mm256_blendv_epi8(g0, h0, lt);
	h1 = _mm256_blendv_epi8(g1, h1, lt);
	h2 = _mm256_blendv_epi8(g2, h2, lt);
	h3 = _mm256_blendv_epi8(g3, h3, lt);
	h4 = _mm256_blendv_epi8(g4, h4, lt);
	h0 = ADD(h0, sl[0]);
	c = SR(h0);
	h0 = LOW(h0);
	h1 = ADD(ADD(h1, sl[1]), c);
	c = SR(h1);
	h1 = LOW(h1);
	h2 = ADD(ADD(h2, sl[2]), c);
	c = SR(h2);
	h2 = LOW(h2);
	h3 = ADD(ADD(h3, sl[3]), c);
	c = SR(h3);
	h3 = LOW(h3);
	h4 = ADD(ADD(h4, sl[4]), c);
	*lo = _mm256_or_si256(_mm256_or_si256(h0, _mm256_slli_epi64(h1, 26)),
			      _mm256_slli_epi64(h2, 52));
	*hi = _mm256_or_si256(_mm256_or_si256(_mm256_srli_epi64(h2, 12), _mm256_slli_epi64(h3, 14)),
			      _mm256_slli_epi64(h4, 40));
#undef ADD
#undef SR
#undef LOW
#undef TIMES5
}

static inline void poly1305_x8_tag(const struct poly1305_x8 *p, __m256i t[4])
{
	const __m256i lo32 = _mm256_set1_epi64x(0xffffffff);
	__m256i sl[5], se[5], so[5], lo_e, hi_e, lo_o, hi_o;

	p26_limbs_x8(p->s, sl);
	for (int j = 0; j < 5; j++) {
		se[j] = _mm256_and_si256(sl[j], lo32);
		so[j] = _mm256_srli_epi64(sl[j], 32);
	}
	p26_final_half_x8(p, 0, se, &lo_e, &hi_e);
	p26_final_half_x8(p, 1, so, &lo_o, &hi_o);
	t[0] = _mm256_blend_epi32(lo_e, _mm256_slli_epi64(lo_o, 32), 0xaa);
	t[1] = _mm256_blend_epi32(_mm256_srli_epi64(lo_e, 32), lo_o, 0xaa);
	t[2] = _mm256_blend_epi32(hi_e, _mm256_slli_epi64(hi_o, 32), 0xaa);
	t[3] = _mm256_blend_epi32(_mm256_srli_epi64(hi_e, 32), hi_o, 0xaa);
}

#endif
