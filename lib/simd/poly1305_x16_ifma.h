/* SPDX-License-Identifier: MIT */
/*
 * Poly1305 over 16 packets at once with AVX-512 IFMA (vpmadd52luq/huq): limbs of 44, 44 and 42
 * bits.
 * Same interface as poly1305_x16.h; the engine includes one or the other.
 *
 * Lane layout: message words come word-major (w[k] lane i = 32-bit word k of packet i's block).
 * IFMA works on 64-bit lanes, so the state is kept in two halves: [0] = even packets (0, 2, .. 14)
 * in 64-bit lane i/2, [1] = odd packets. Two 32-bit words of a packet are joined into one 64-bit
 * value with a shift and a blend.
 *
 * h = (h + m) * r: nine 52-bit products, each split into its low and high 52 bits. A high half
 * weighs 2^52 = 2^44 * 2^8 relative to its product, so it goes to the next limb shifted by 8; the
 * top one weighs 2^140 = 2^130 * 2^10 and folds to limb 0 times 5 * 2^10. Cross products above
 * 2^130 use 20 * r (2^132 = 20 mod p).
 *
 * Include only from files compiled with -mavx512f -mavx512ifma.
 */
#ifndef MG_SIMD_POLY1305_X16_IFMA_H
#define MG_SIMD_POLY1305_X16_IFMA_H

#include <stdint.h>
#include <immintrin.h>

#include "chacha20_x16.h" /* transpose_x16 */

struct poly1305_x16 {
	__m512i h[3][2];   /* accumulator, [limb][half] */
	__m512i r[3][2];   /* clamped key r */
	__m512i r20[3][2]; /* 20 * r (limbs 1, 2 used) */
	__m512i s[4];	   /* key s, word-major (32-bit lanes) */
};

#define P44_MASK 0xfffffffffffULL
#define P42_MASK 0x3ffffffffffULL

static inline __mmask8 lanes_even(__mmask16 m)
{
	uint32_t x = m & 0x5555;

	x = (x | x >> 1) & 0x3333;
	x = (x | x >> 2) & 0x0f0f;
	x = (x | x >> 4) & 0x00ff;
	return (__mmask8)x;
}

static inline __mmask8 lanes_odd(__mmask16 m)
{
	return lanes_even((__mmask16)(m >> 1));
}

/* Words a, b (32-bit lanes) to a | b << 32 for the packets of half e (64-bit lanes). */
static inline __m512i join64(__m512i a, __m512i b, int e)
{
	if (e)
		return _mm512_mask_blend_epi32(0xaaaa, _mm512_srli_epi64(a, 32), b);
	return _mm512_mask_blend_epi32(0xaaaa, a, _mm512_slli_epi64(b, 32));
}

/* 128-bit value (as lo, hi 64-bit halves) to 44/44/42-bit limbs. */
static inline void p44_limbs(__m512i lo, __m512i hi, __m512i l[3])
{
	const __m512i m44 = _mm512_set1_epi64(P44_MASK);

	l[0] = _mm512_and_si512(lo, m44);
	l[1] = _mm512_and_si512(
		_mm512_or_si512(_mm512_srli_epi64(lo, 44), _mm512_slli_epi64(hi, 20)), m44);
	l[2] = _mm512_srli_epi64(hi, 24);
}

static inline __m512i times20(__m512i x)
{
	return _mm512_add_epi64(_mm512_slli_epi64(x, 4), _mm512_slli_epi64(x, 2));
}

static inline void poly1305_x16_setkey(struct poly1305_x16 *p, const __m512i x[8], __mmask16 m)
{
	__m512i w[4];

	w[0] = _mm512_and_si512(x[0], _mm512_set1_epi32(0x0fffffff));
	w[1] = _mm512_and_si512(x[1], _mm512_set1_epi32(0x0ffffffc));
	w[2] = _mm512_and_si512(x[2], _mm512_set1_epi32(0x0ffffffc));
	w[3] = _mm512_and_si512(x[3], _mm512_set1_epi32(0x0ffffffc));
	for (int e = 0; e < 2; e++) {
		__mmask8 me = e ? lanes_odd(m) : lanes_even(m);
		__m512i l[3];

		p44_limbs(join64(w[0], w[1], e), join64(w[2], w[3], e), l);
		for (int j = 0; j < 3; j++) {
			p->r[j][e] = _mm512_mask_mov_epi64(p->r[j][e], me, l[j]);
			p->r20[j][e] = _mm512_mask_mov_epi64(p->r20[j][e], me, times20(l[j]));
			p->h[j][e] = _mm512_maskz_mov_epi64((__mmask8)~me, p->h[j][e]);
		}
	}
	for (int j = 0; j < 4; j++)
		p->s[j] = _mm512_mask_mov_epi32(p->s[j], m, x[4 + j]);
}

static inline void p44_mul_half(struct poly1305_x16 *p, int e, const __m512i w[4], __mmask8 mask)
{
	const __m512i m44 = _mm512_set1_epi64(P44_MASK), m42 = _mm512_set1_epi64(P42_MASK);
	const __m512i z = _mm512_setzero_si512();
	__m512i l[3], h0, h1, h2, lo0, lo1, lo2, hi0, hi1, hi2, c;
	__m512i r0 = p->r[0][e], r1 = p->r[1][e], r2 = p->r[2][e], s1 = p->r20[1][e],
		s2 = p->r20[2][e];

	p44_limbs(join64(w[0], w[1], e), join64(w[2], w[3], e), l);
	h0 = _mm512_add_epi64(p->h[0][e], l[0]);
	h1 = _mm512_add_epi64(p->h[1][e], l[1]);
	h2 = _mm512_add_epi64(p->h[2][e], _mm512_or_si512(l[2], _mm512_set1_epi64(1ULL << 40)));

	lo0 = _mm512_madd52lo_epu64(z, h0, r0);
	hi0 = _mm512_madd52hi_epu64(z, h0, r0);
	lo1 = _mm512_madd52lo_epu64(z, h0, r1);
	hi1 = _mm512_madd52hi_epu64(z, h0, r1);
	lo2 = _mm512_madd52lo_epu64(z, h0, r2);
	hi2 = _mm512_madd52hi_epu64(z, h0, r2);
	lo0 = _mm512_madd52lo_epu64(lo0, h1, s2);
	hi0 = _mm512_madd52hi_epu64(hi0, h1, s2);
	lo1 = _mm512_madd52lo_epu64(lo1, h1, r0);
	hi1 = _mm512_madd52hi_epu64(hi1, h1, r0);
	lo2 = _mm512_madd52lo_epu64(lo2, h1, r1);
	hi2 = _mm512_madd52hi_epu64(hi2, h1, r1);
	lo0 = _mm512_madd52lo_epu64(lo0, h2, s1);
	hi0 = _mm512_madd52hi_epu64(hi0, h2, s1);
	lo1 = _mm512_madd52lo_epu64(lo1, h2, s2);
	hi1 = _mm512_madd52hi_epu64(hi1, h2, s2);
	lo2 = _mm512_madd52lo_epu64(lo2, h2, r0);
	hi2 = _mm512_madd52hi_epu64(hi2, h2, r0);

	/* recombine: hi halves move up a limb (<< 8); the top one folds to limb 0 as * 5 << 10 */
	lo0 = _mm512_add_epi64(
		lo0, _mm512_add_epi64(_mm512_slli_epi64(hi2, 10), _mm512_slli_epi64(hi2, 12)));
	lo1 = _mm512_add_epi64(lo1, _mm512_slli_epi64(hi0, 8));
	lo2 = _mm512_add_epi64(lo2, _mm512_slli_epi64(hi1, 8));
	c = _mm512_srli_epi64(lo0, 44);
	h0 = _mm512_and_si512(lo0, m44);
	lo1 = _mm512_add_epi64(lo1, c);
	c = _mm512_srli_epi64(lo1, 44);
	h1 = _mm512_and_si512(lo1, m44);
	lo2 = _mm512_add_epi64(lo2, c);
	c = _mm512_srli_epi64(lo2, 42);
	h2 = _mm512_and_si512(lo2, m42);
	h0 = _mm512_add_epi64(h0, _mm512_add_epi64(c, _mm512_slli_epi64(c, 2)));
	c = _mm512_srli_epi64(h0, 44);
	h0 = _mm512_and_si512(h0, m44);
	h1 = _mm512_add_epi64(h1, c);

	p->h[0][e] = _mm512_mask_mov_epi64(p->h[0][e], mask, h0);
	p->h[1][e] = _mm512_mask_mov_epi64(p->h[1][e], mask, h1);
	p->h[2][e] = _mm512_mask_mov_epi64(p->h[2][e], mask, h2);
}

static inline void poly1305_x16_block(struct poly1305_x16 *p, const __m512i w[4], __mmask16 m)
{
	p44_mul_half(p, 0, w, lanes_even(m));
	p44_mul_half(p, 1, w, lanes_odd(m));
}

/* Half e (even or odd packets) of one block for the lanes in m: a piece to interleave with
 * ChaCha20. */
static inline void poly1305_x16_half(struct poly1305_x16 *p, const __m512i w[4], __mmask16 m, int e)
{
	__mmask8 mh = e ? lanes_odd(m) : lanes_even(m);

	if (mh)
		p44_mul_half(p, e, w, mh);
}

/*
 * Absorb up to four blocks per lane from d[i] = 64 bytes of packet i (lane-major, zero past the
 * packet's end); slot[k] = lanes with more than k blocks. d is clobbered (transposed).
 *
 * Measured on Zen 4: one block at a time after a 32-bit transpose beat both a 64-bit transpose
 * (more cross-lane shuffles) and a Horner form with r^2..r^4 (the powers cost more at the key step
 * than the shorter dependency chain saved; the chain is hidden behind ChaCha20 already).
 */
static inline void poly1305_x16_absorb(struct poly1305_x16 *p, __m512i d[16],
				       const uint16_t slot[4])
{
	transpose_x16(d); /* word-major: block k = d[4k .. 4k + 3] */
	for (int k = 0; k < 4; k++)
		if (slot[k])
			poly1305_x16_block(p, &d[4 * k], slot[k]);
}

static inline void p44_final_half(const struct poly1305_x16 *p, int e, __m512i *lo, __m512i *hi)
{
	const __m512i m44 = _mm512_set1_epi64(P44_MASK), m42 = _mm512_set1_epi64(P42_MASK);
	__m512i h0 = p->h[0][e], h1 = p->h[1][e], h2 = p->h[2][e], g0, g1, g2, c, slo, shi, sum;
	__mmask8 lt, carry;

	c = _mm512_srli_epi64(h1, 44);
	h1 = _mm512_and_si512(h1, m44);
	h2 = _mm512_add_epi64(h2, c);
	c = _mm512_srli_epi64(h2, 42);
	h2 = _mm512_and_si512(h2, m42);
	h0 = _mm512_add_epi64(h0, _mm512_add_epi64(c, _mm512_slli_epi64(c, 2)));
	c = _mm512_srli_epi64(h0, 44);
	h0 = _mm512_and_si512(h0, m44);
	h1 = _mm512_add_epi64(h1, c);
	c = _mm512_srli_epi64(h1, 44);
	h1 = _mm512_and_si512(h1, m44);
	h2 = _mm512_add_epi64(h2, c);
	/* g = h + 5 - 2^130: h >= p exactly when g does not go negative */
	g0 = _mm512_add_epi64(h0, _mm512_set1_epi64(5));
	c = _mm512_srli_epi64(g0, 44);
	g0 = _mm512_and_si512(g0, m44);
	g1 = _mm512_add_epi64(h1, c);
	c = _mm512_srli_epi64(g1, 44);
	g1 = _mm512_and_si512(g1, m44);
	g2 = _mm512_sub_epi64(_mm512_add_epi64(h2, c), _mm512_set1_epi64(1ULL << 42));
	lt = _mm512_cmplt_epi64_mask(g2, _mm512_setzero_si512());
	h0 = _mm512_mask_mov_epi64(g0, lt, h0);
	h1 = _mm512_mask_mov_epi64(g1, lt, h1);
	h2 = _mm512_mask_mov_epi64(g2, lt, h2);
	/* mod 2^128, + s with the carry between the 64-bit halves */
	*lo = _mm512_or_si512(h0, _mm512_slli_epi64(h1, 44));
	*hi = _mm512_or_si512(_mm512_srli_epi64(h1, 20), _mm512_slli_epi64(h2, 24));
	slo = join64(p->s[0], p->s[1], e);
	shi = join64(p->s[2], p->s[3], e);
	sum = _mm512_add_epi64(*lo, slo);
	carry = _mm512_cmplt_epu64_mask(sum, slo);
	*lo = sum;
	*hi = _mm512_mask_add_epi64(_mm512_add_epi64(*hi, shi), carry, _mm512_add_epi64(*hi, shi),
				    _mm512_set1_epi64(1));
}

static inline void poly1305_x16_tag(const struct poly1305_x16 *p, __m512i t[4])
{
	__m512i lo_e, hi_e, lo_o, hi_o;

	p44_final_half(p, 0, &lo_e, &hi_e);
	p44_final_half(p, 1, &lo_o, &hi_o);
	t[0] = _mm512_mask_blend_epi32(0xaaaa, lo_e, _mm512_slli_epi64(lo_o, 32));
	t[1] = _mm512_mask_blend_epi32(0xaaaa, _mm512_srli_epi64(lo_e, 32), lo_o);
	t[2] = _mm512_mask_blend_epi32(0xaaaa, hi_e, _mm512_slli_epi64(hi_o, 32));
	t[3] = _mm512_mask_blend_epi32(0xaaaa, _mm512_srli_epi64(hi_e, 32), hi_o);
}

#endif
