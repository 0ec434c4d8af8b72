/* SPDX-License-Identifier: MIT */
/*
 * Poly1305 over 16 packets at once (AVX-512F), 26-bit limbs: the form for CPUs without IFMA.
 *
 * Lane layout: packet i is lane i of the 16 32-bit lanes of the message words handed in
 * (word-major, as chacha20_x16.h produces and transpose_x16 turns ciphertext into): w[0..3] are
 * the four little-endian 32-bit words of one 16-byte block of every packet. Products need 64-bit
 * lanes (vpmuludq multiplies the low 32 bits of each 64-bit lane), so the accumulator and key are
 * kept in two halves: [0] = even packets (0, 2, .. 14) in the low half of 64-bit lane i/2,
 * [1] = odd packets. A message limb in 32-bit form is therefore already in place for the even
 * half (the odd packet sits in the high half, which vpmuludq ignores) and one shift away for the
 * odd half.
 *
 * h = (h + m) * r mod 2^130 - 5 with h, r in five 26-bit limbs; 2^130 = 5 mod p folds the high
 * products down with 5 * r. Limbs stay below 2^27 between blocks, products below 2^59.
 *
 * Include only from files compiled with -mavx512f.
 */
#ifndef MG_SIMD_POLY1305_X16_H
#define MG_SIMD_POLY1305_X16_H

#include <stdint.h>
#include <immintrin.h>

#include "chacha20_x16.h" /* transpose_x16 */

struct poly1305_x16 {
	__m512i h[5][2];  /* accumulator, [limb][half] */
	__m512i r[5][2];  /* clamped key r */
	__m512i r5[5][2]; /* 5 * r (limbs 1..4 used) */
	__m512i s[4];	  /* key s, word-major (32-bit lanes) */
};

#define P26_MASK 0x3ffffff

/* The even/odd 8-bit halves of a 16-bit lane mask. */
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

/* Four little-endian 32-bit words (32-bit lanes) to five 26-bit limbs (32-bit lanes). */
static inline void p26_limbs(const __m512i w[4], __m512i l[5])
{
	const __m512i m26 = _mm512_set1_epi32(P26_MASK);

	l[0] = _mm512_and_si512(w[0], m26);
	l[1] = _mm512_and_si512(
		_mm512_or_si512(_mm512_srli_epi32(w[0], 26), _mm512_slli_epi32(w[1], 6)), m26);
	l[2] = _mm512_and_si512(
		_mm512_or_si512(_mm512_srli_epi32(w[1], 20), _mm512_slli_epi32(w[2], 12)), m26);
	l[3] = _mm512_and_si512(
		_mm512_or_si512(_mm512_srli_epi32(w[2], 14), _mm512_slli_epi32(w[3], 18)), m26);
	l[4] = _mm512_srli_epi32(w[3], 8);
}

/* Lanes in m take the key from ChaCha20 block 0 (x[0..3] = r, x[4..7] = s) and restart h at 0. */
static inline void poly1305_x16_setkey(struct poly1305_x16 *p, const __m512i x[8], __mmask16 m)
{
	const __m512i lo32 = _mm512_set1_epi64(0xffffffff);
	__mmask8 me = lanes_even(m), mo = lanes_odd(m);
	__m512i w[4], l[5];

	w[0] = _mm512_and_si512(x[0], _mm512_set1_epi32(0x0fffffff));
	w[1] = _mm512_and_si512(x[1], _mm512_set1_epi32(0x0ffffffc));
	w[2] = _mm512_and_si512(x[2], _mm512_set1_epi32(0x0ffffffc));
	w[3] = _mm512_and_si512(x[3], _mm512_set1_epi32(0x0ffffffc));
	p26_limbs(w, l);
	for (int j = 0; j < 5; j++) {
		__m512i e = _mm512_and_si512(l[j], lo32), o = _mm512_srli_epi64(l[j], 32);

		p->r[j][0] = _mm512_mask_mov_epi64(p->r[j][0], me, e);
		p->r[j][1] = _mm512_mask_mov_epi64(p->r[j][1], mo, o);
		/* 5r = r + 4r */
		p->r5[j][0] = _mm512_mask_mov_epi64(p->r5[j][0], me,
						    _mm512_add_epi64(e, _mm512_slli_epi64(e, 2)));
		p->r5[j][1] = _mm512_mask_mov_epi64(p->r5[j][1], mo,
						    _mm512_add_epi64(o, _mm512_slli_epi64(o, 2)));
		p->h[j][0] = _mm512_maskz_mov_epi64((__mmask8)~me, p->h[j][0]);
		p->h[j][1] = _mm512_maskz_mov_epi64((__mmask8)~mo, p->h[j][1]);
	}
	for (int j = 0; j < 4; j++)
		p->s[j] = _mm512_mask_mov_epi32(p->s[j], m, x[4 + j]);
}

/* One half: h = (h + m) * r, partially reduced; m in 32-bit form (see the layout note). */
static inline void p26_mul_half(struct poly1305_x16 *p, int e, const __m512i l[5], __mmask8 mask)
{
	const __m512i m26 = _mm512_set1_epi64(P26_MASK);
	__m512i h0, h1, h2, h3, h4, d0, d1, d2, d3, d4, c;
	__m512i r0 = p->r[0][e], r1 = p->r[1][e], r2 = p->r[2][e], r3 = p->r[3][e], r4 = p->r[4][e];
	__m512i s1 = p->r5[1][e], s2 = p->r5[2][e], s3 = p->r5[3][e], s4 = p->r5[4][e];

	if (e) {
		h0 = _mm512_add_epi64(p->h[0][e], _mm512_srli_epi64(l[0], 32));
		h1 = _mm512_add_epi64(p->h[1][e], _mm512_srli_epi64(l[1], 32));
		h2 = _mm512_add_epi64(p->h[2][e], _mm512_srli_epi64(l[2], 32));
		h3 = _mm512_add_epi64(p->h[3][e], _mm512_srli_epi64(l[3], 32));
		h4 = _mm512_add_epi64(p->h[4][e], _mm512_srli_epi64(l[4], 32));
	} else {
		/* the odd packet lands in the high half, which vpmuludq ignores; no carry
		 * crosses */
		h0 = _mm512_add_epi32(p->h[0][e], l[0]);
		h1 = _mm512_add_epi32(p->h[1][e], l[1]);
		h2 = _mm512_add_epi32(p->h[2][e], l[2]);
		h3 = _mm512_add_epi32(p->h[3][e], l[3]);
		h4 = _mm512_add_epi32(p->h[4][e], l[4]);
	}
#define MUL _mm512_mul_epu32
#define ADD _mm512_add_epi64
	d0 = ADD(ADD(MUL(h0, r0), MUL(h1, s4)), ADD(ADD(MUL(h2, s3), MUL(h3, s2)), MUL(h4, s1)));
	d1 = ADD(ADD(MUL(h0, r1), MUL(h1, r0)), ADD(ADD(MUL(h2, s4), MUL(h3, s3)), MUL(h4, s2)));
	d2 = ADD(ADD(MUL(h0, r2), MUL(h1, r1)), ADD(ADD(MUL(h2, r0), MUL(h3, s4)), MUL(h4, s3)));
	d3 = ADD(ADD(MUL(h0, r3), MUL(h1, r2)), ADD(ADD(MUL(h2, r1), MUL(h3, r0)), MUL(h4, s4)));
	d4 = ADD(ADD(MUL(h0, r4), MUL(h1, r3)), ADD(ADD(MUL(h2, r2), MUL(h3, r1)), MUL(h4, r0)));
#undef MUL
	c = _mm512_srli_epi64(d0, 26);
	h0 = _mm512_and_si512(d0, m26);
	d1 = ADD(d1, c);
	c = _mm512_srli_epi64(d1, 26);
	h1 = _mm512_and_si512(d1, m26);
	d2 = ADD(d2, c);
	c = _mm512_srli_epi64(d2, 26);
	h2 = _mm512_and_si512(d2, m26);
	d3 = ADD(d3, c);
	c = _mm512_srli_epi64(d3, 26);
	h3 = _mm512_and_si512(d3, m26);
	d4 = ADD(d4, c);
	c = _mm512_srli_epi64(d4, 26);
	h4 = _mm512_and_si512(d4, m26);
	h0 = ADD(h0, ADD(c, _mm512_slli_epi64(c, 2)));
	c = _mm512_srli_epi64(h0, 26);
	h0 = _mm512_and_si512(h0, m26);
	h1 = ADD(h1, c);
#undef ADD
	p->h[0][e] = _mm512_mask_mov_epi64(p->h[0][e], mask, h0);
	p->h[1][e] = _mm512_mask_mov_epi64(p->h[1][e], mask, h1);
	p->h[2][e] = _mm512_mask_mov_epi64(p->h[2][e], mask, h2);
	p->h[3][e] = _mm512_mask_mov_epi64(p->h[3][e], mask, h3);
	p->h[4][e] = _mm512_mask_mov_epi64(p->h[4][e], mask, h4);
}

/* Lanes in m absorb one full 16-byte block w[0..3] (with the 2^128 bit); other lanes keep h. */
static inline void poly1305_x16_block(struct poly1305_x16 *p, const __m512i w[4], __mmask16 m)
{
	__m512i l[5];

	p26_limbs(w, l);
	l[4] = _mm512_or_si512(l[4], _mm512_set1_epi32(1 << 24));
	p26_mul_half(p, 0, l, lanes_even(m));
	p26_mul_half(p, 1, l, lanes_odd(m));
}

/* Half e (even or odd packets) of one block for the lanes in m: a piece to interleave with
 * ChaCha20. */
static inline void poly1305_x16_half(struct poly1305_x16 *p, const __m512i w[4], __mmask16 m, int e)
{
	__mmask8 mh = e ? lanes_odd(m) : lanes_even(m);
	__m512i l[5];

	if (!mh)
		return;
	p26_limbs(w, l);
	l[4] = _mm512_or_si512(l[4], _mm512_set1_epi32(1 << 24));
	p26_mul_half(p, e, l, mh);
}

/*
 * Absorb up to four blocks per lane from d[i] = 64 bytes of packet i (lane-major, zero past the
 * packet's end); slot[k] = lanes with more than k blocks. d is clobbered (transposed).
 */
static inline void poly1305_x16_absorb(struct poly1305_x16 *p, __m512i d[16],
				       const uint16_t slot[4])
{
	transpose_x16(d); /* word-major: block k = d[4k .. 4k + 3] */
	for (int k = 0; k < 4; k++)
		if (slot[k])
			poly1305_x16_block(p, &d[4 * k], slot[k]);
}

/* Final reduction mod p, + s mod 2^128, as two 64-bit halves of the tag (one half of lanes). */
static inline void p26_final_half(const struct poly1305_x16 *p, int e, const __m512i sl[5],
				  __m512i *lo, __m512i *hi)
{
	const __m512i m26 = _mm512_set1_epi64(P26_MASK);
	const __m512i five = _mm512_set1_epi64(5);
	__m512i h0 = p->h[0][e], h1 = p->h[1][e], h2 = p->h[2][e], h3 = p->h[3][e], h4 = p->h[4][e];
	__m512i g0, g1, g2, g3, g4, c;
	__mmask8 lt;

#define ADD    _mm512_add_epi64
#define SR(x)  _mm512_srli_epi64(x, 26)
#define LOW(x) _mm512_and_si512(x, m26)
	/* fully carry, wrapping 2^130 to 5 */
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
	h0 = ADD(h0, _mm512_mul_epu32(c, five));
	c = SR(h0);
	h0 = LOW(h0);
	h1 = ADD(h1, c);
	c = SR(h1);
	h1 = LOW(h1);
	h2 = ADD(h2, c);
	/* g = h + 5 - 2^130: h >= p exactly when g does not go negative */
	g0 = ADD(h0, five);
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
	g4 = _mm512_sub_epi64(ADD(h4, c), _mm512_set1_epi64(1 << 26));
	lt = _mm512_cmplt_epi64_mask(g4, _mm512_setzero_si512());
	h0 = _mm512_mask_mov_epi64(g0, lt, h0);
	h1 = _mm512_mask_mov_epi64(g1, lt, h1);
	h2 = _mm512_mask_mov_epi64(g2, lt, h2);
	h3 = _mm512_mask_mov_epi64(g3, lt, h3);
	h4 = _mm512_mask_mov_epi64(g4, lt, h4);
	/* + s, carried without wrap: the sum is taken mod 2^128 when packing */
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
	*lo = _mm512_or_si512(_mm512_or_si512(h0, _mm512_slli_epi64(h1, 26)),
			      _mm512_slli_epi64(h2, 52));
	*hi = _mm512_or_si512(_mm512_or_si512(_mm512_srli_epi64(h2, 12), _mm512_slli_epi64(h3, 14)),
			      _mm512_slli_epi64(h4, 40));
#undef ADD
#undef SR
#undef LOW
}

/* The tags of all 16 lanes, word-major (t[k] lane i = tag word k of packet i). */
static inline void poly1305_x16_tag(const struct poly1305_x16 *p, __m512i t[4])
{
	const __m512i lo32 = _mm512_set1_epi64(0xffffffff);
	__m512i sl[5], se[5], so[5], lo_e, hi_e, lo_o, hi_o;

	p26_limbs(p->s, sl);
	for (int j = 0; j < 5; j++) {
		se[j] = _mm512_and_si512(sl[j], lo32);
		so[j] = _mm512_srli_epi64(sl[j], 32);
	}
	p26_final_half(p, 0, se, &lo_e, &hi_e);
	p26_final_half(p, 1, so, &lo_o, &hi_o);
	t[0] = _mm512_mask_blend_epi32(0xaaaa, lo_e, _mm512_slli_epi64(lo_o, 32));
	t[1] = _mm512_mask_blend_epi32(0xaaaa, _mm512_srli_epi64(lo_e, 32), lo_o);
	t[2] = _mm512_mask_blend_epi32(0xaaaa, hi_e, _mm512_slli_epi64(hi_o, 32));
	t[3] = _mm512_mask_blend_epi32(0xaaaa, _mm512_srli_epi64(hi_e, 32), hi_o);
}

#endif
