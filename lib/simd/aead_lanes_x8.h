/* SPDX-License-Identifier: MIT */
/*
 * The 8-lane AVX2 AEAD engine: aead_lanes_x16.h at half the width, for CPUs without AVX-512.
 *
 * Lane layout: lane i = one packet at a time; the ChaCha20 state lives word-major in st[word][lane]
 * and each step computes one 64-byte keystream block per lane at the lane's own counter. Phases per
 * packet as in aead_lanes_x16.h: key step (block 0 -> r, s), data steps (XOR up to 64 bytes, absorb
 * up to four zero-padded 16-byte blocks), finish (length block, tag); a finished lane takes the
 * next packet at once. A 64-byte block of a lane is two 32-byte halves: words 0..7 and 8..15 are
 * transposed separately. AVX2 has no byte-masked loads or stores: a packet's last partial block
 * goes through a zeroed 64-byte buffer, so nothing past len is read or written.
 */
#ifndef MG_SIMD_AEAD_LANES_X8_H
#define MG_SIMD_AEAD_LANES_X8_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <immintrin.h>

#include "aead_simd_internal.h"
#include "chacha20_x8.h"
#include "poly1305_x8.h"

#define X8 8

struct lanes_x8 {
	uint32_t st[16][X8] __attribute__((aligned(32))); /* words 4..15 used */
	uint32_t len[X8] __attribute__((aligned(32)));
	uint32_t tag[4][X8] __attribute__((aligned(32)));
	struct poly1305_x8 poly;
	struct aead_burst_op *op[X8];
	uint32_t off[X8];
	uint8_t active, keyed;
};

static inline uint32_t lanes8_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline void lanes_x8_assign(struct lanes_x8 *e, unsigned int i, struct aead_burst_op *op,
				   uint32_t n0)
{
	for (int j = 0; j < 8; j++)
		e->st[4 + j][i] = lanes8_le32(op->key + 4 * j);
	e->st[12][i] = 0;
	e->st[13][i] = n0;
	e->st[14][i] = (uint32_t)op->counter;
	e->st[15][i] = (uint32_t)(op->counter >> 32);
	e->len[i] = op->len;
	e->off[i] = 0;
	e->op[i] = op;
	e->active |= (uint8_t)(1u << i);
	e->keyed |= (uint8_t)(1u << i);
}

static inline void lanes_x8_load(const struct lanes_x8 *e, __m256i s[16])
{
	s[0] = _mm256_set1_epi32(0x61707865);
	s[1] = _mm256_set1_epi32(0x3320646e);
	s[2] = _mm256_set1_epi32(0x79622d32);
	s[3] = _mm256_set1_epi32(0x6b206574);
	for (int j = 4; j < 16; j++)
		s[j] = _mm256_load_si256((const __m256i *)e->st[j]);
}

static inline unsigned int lanes_x8_finish(struct lanes_x8 *e, uint8_t fin, bool open)
{
	__m256i w[4], t[4];
	unsigned int ok = 0;

	w[0] = _mm256_setzero_si256();
	w[1] = _mm256_setzero_si256();
	w[2] = _mm256_load_si256((const __m256i *)e->len);
	w[3] = _mm256_setzero_si256();
	poly1305_x8_block(&e->poly, w, fin);
	poly1305_x8_tag(&e->poly, t);
	for (int k = 0; k < 4; k++)
		_mm256_store_si256((__m256i *)e->tag[k], t[k]);
	for (unsigned int i = 0; i < X8; i++) {
		struct aead_burst_op *op = e->op[i];

		if (!(fin >> i & 1))
			continue;
		if (!open) {
			for (int k = 0; k < 4; k++)
				memcpy(op->tag + 4 * k, &e->tag[k][i], 4);
		} else {
			uint32_t d = 0;

			for (int k = 0; k < 4; k++)
				d |= e->tag[k][i] ^ lanes8_le32(op->tag + 4 * k);
			op->ok = (bool)((((uint64_t)d) - 1) >> 63);
			if (!op->ok && op->len) /* dst may be NULL when len is 0 */
				memset(op->dst, 0, op->len);
			ok += op->ok;
		}
	}
	return ok;
}

static inline unsigned int lanes_x8_step(struct lanes_x8 *e, bool open)
{
	__m256i s[16], x[16];
	uint8_t keyed = e->keyed, data = (uint8_t)(e->active & ~e->keyed), fin = 0;
	unsigned int ok = 0;

	lanes_x8_load(e, s);
	chacha20_x8_block(s, x);
	if (keyed) {
		poly1305_x8_setkey(&e->poly, x, keyed);
		for (unsigned int i = 0; i < X8; i++)
			if ((keyed >> i & 1) && e->len[i] == 0)
				fin |= (uint8_t)(1u << i);
	}
	if (data) {
		__m256i d0[8], d1[8];
		uint8_t slot[4] = {0, 0, 0, 0};

		transpose_x8(&x[0]); /* x[i]: keystream bytes 0..31 of lane i */
		transpose_x8(&x[8]); /* x[8 + i]: bytes 32..63 */
		for (unsigned int i = 0; i < X8; i++) {
			struct aead_burst_op *op = e->op[i];
			uint32_t off = e->off[i], rem;
			__m256i in0, in1, o0, o1;

			if (!(data >> i & 1)) {
				d0[i] = d1[i] = _mm256_setzero_si256();
				continue;
			}
			rem = e->len[i] - off;
			if (rem >= 64) {
				slot[0] |= (uint8_t)(1u << i);
				slot[1] |= (uint8_t)(1u << i);
				slot[2] |= (uint8_t)(1u << i);
				slot[3] |= (uint8_t)(1u << i);
				in0 = _mm256_loadu_si256((const __m256i *)(op->src + off));
				in1 = _mm256_loadu_si256((const __m256i *)(op->src + off + 32));
				o0 = _mm256_xor_si256(in0, x[i]);
				o1 = _mm256_xor_si256(in1, x[8 + i]);
				_mm256_storeu_si256((__m256i *)(op->dst + off), o0);
				_mm256_storeu_si256((__m256i *)(op->dst + off + 32), o1);
			} else {
				uint8_t buf[64] __attribute__((aligned(32)));

				for (unsigned int k = 0; k < 4 && 16 * k < rem; k++)
					slot[k] |= (uint8_t)(1u << i);
				memset(buf, 0, sizeof(buf));
				memcpy(buf, op->src + off, rem);
				in0 = _mm256_load_si256((const __m256i *)buf);
				in1 = _mm256_load_si256((const __m256i *)(buf + 32));
				o0 = _mm256_xor_si256(in0, x[i]);
				o1 = _mm256_xor_si256(in1, x[8 + i]);
				_mm256_store_si256((__m256i *)buf, o0);
				_mm256_store_si256((__m256i *)(buf + 32), o1);
				memcpy(op->dst + off, buf, rem);
				if (!open) {
					/* pad16 is zeros, not keystream */
					memset(buf + rem, 0, 64 - rem);
					o0 = _mm256_load_si256((const __m256i *)buf);
					o1 = _mm256_load_si256((const __m256i *)(buf + 32));
				}
			}
			d0[i] = open ? in0 : o0;
			d1[i] = open ? in1 : o1;
			e->off[i] = off + 64;
			if (off + 64 >= e->len[i])
				fin |= (uint8_t)(1u << i);
		}
		transpose_x8(d0); /* words 0..7: blocks 0, 1 */
		transpose_x8(d1); /* words 8..15: blocks 2, 3 */
		if (slot[0])
			poly1305_x8_block(&e->poly, &d0[0], slot[0]);
		if (slot[1])
			poly1305_x8_block(&e->poly, &d0[4], slot[1]);
		if (slot[2])
			poly1305_x8_block(&e->poly, &d1[0], slot[2]);
		if (slot[3])
			poly1305_x8_block(&e->poly, &d1[4], slot[3]);
	}
	if (fin)
		ok = lanes_x8_finish(e, fin, open);
	e->active &= (uint8_t)~fin;
	e->keyed = 0;
	_mm256_store_si256((__m256i *)e->st[12], _mm256_add_epi32(s[12], _mm256_set1_epi32(1)));
	return ok;
}

static inline unsigned int lanes_x8_run(struct aead_burst_op *const *opp, unsigned int n,
					const uint32_t *nonce0, bool open)
{
	/*
	 * Per thread, not on the stack: zeroing several KiB per burst cost ~5% at 64-byte packets.
	 * Lanes left idle compute on whatever an earlier burst left there, which is never output.
	 */
	static __thread struct lanes_x8 e __attribute__((aligned(64), tls_model("initial-exec")));
	unsigned int next = 0, ok = 0;

	e.active = 0;
	e.keyed = 0;
	for (unsigned int i = 0; i < X8 && next < n; i++, next++)
		lanes_x8_assign(&e, i, opp[next], nonce0 ? nonce0[next] : 0);
	while (e.active) {
		uint8_t before = e.active;

		ok += lanes_x8_step(&e, open);
		for (unsigned int i = 0; i < X8 && next < n; i++) {
			if ((before >> i & 1) && !(e.active >> i & 1)) {
				lanes_x8_assign(&e, i, opp[next], nonce0 ? nonce0[next] : 0);
				next++;
			}
		}
	}
	return ok;
}

/* ops[] in order, in chunks of up to 64 (the lanes refill across a chunk, not between chunks). */
static inline unsigned int lanes_x8_run_array(struct aead_burst_op *ops, unsigned int n,
					      const uint32_t *nonce0, bool open)
{
	struct aead_burst_op *opp[64];
	unsigned int ok = 0;

	for (unsigned int base = 0; base < n; base += 64) {
		unsigned int m = n - base < 64 ? n - base : 64;

		for (unsigned int i = 0; i < m; i++)
			opp[i] = &ops[base + i];
		ok += lanes_x8_run(opp, m, nonce0 ? nonce0 + base : NULL, open);
	}
	return ok;
}

void mg_simd_avx2_seal(struct aead_burst_op *ops, unsigned int n, const uint32_t *nonce0)
{
	lanes_x8_run_array(ops, n, nonce0, false);
}

unsigned int mg_simd_avx2_open(struct aead_burst_op *ops, unsigned int n, const uint32_t *nonce0)
{
	return lanes_x8_run_array(ops, n, nonce0, true);
}

void mg_simd_avx2_seal_ptrs(struct aead_burst_op *const *opp, unsigned int n)
{
	lanes_x8_run(opp, n, NULL, false);
}

unsigned int mg_simd_avx2_open_ptrs(struct aead_burst_op *const *opp, unsigned int n)
{
	return lanes_x8_run(opp, n, NULL, true);
}

void mg_simd_avx2_chacha20_xor(const struct simd_stream_lane *l, unsigned int n)
{
	struct lanes_x8 e;
	size_t max = 0;

	memset(&e, 0, sizeof(e));
	for (unsigned int i = 0; i < n && i < X8; i++) {
		for (int j = 0; j < 8; j++)
			e.st[4 + j][i] = lanes8_le32(l[i].key + 4 * j);
		e.st[12][i] = l[i].ic;
		for (int j = 0; j < 3; j++)
			e.st[13 + j][i] = lanes8_le32(l[i].nonce + 4 * j);
		if (l[i].len > max)
			max = l[i].len;
	}
	for (size_t off = 0; off < max; off += 64) {
		__m256i s[16], x[16];

		lanes_x8_load(&e, s);
		chacha20_x8_block(s, x);
		transpose_x8(&x[0]);
		transpose_x8(&x[8]);
		for (unsigned int i = 0; i < n && i < X8; i++) {
			size_t rem = l[i].len > off ? l[i].len - off : 0;
			uint8_t buf[64] __attribute__((aligned(32)));

			if (rem > 64)
				rem = 64;
			memset(buf, 0, sizeof(buf));
			memcpy(buf, l[i].in + off, rem);
			_mm256_store_si256(
				(__m256i *)buf,
				_mm256_xor_si256(_mm256_load_si256((const __m256i *)buf), x[i]));
			_mm256_store_si256(
				(__m256i *)(buf + 32),
				_mm256_xor_si256(_mm256_load_si256((const __m256i *)(buf + 32)),
						 x[8 + i]));
			memcpy(l[i].out + off, buf, rem);
		}
		_mm256_store_si256((__m256i *)e.st[12],
				   _mm256_add_epi32(s[12], _mm256_set1_epi32(1)));
	}
}

void mg_simd_avx2_poly1305(const struct simd_poly_lane *l, unsigned int n)
{
	struct lanes_x8 e;
	uint32_t kw[8][X8] __attribute__((aligned(32)));
	__m256i x[8], t[4];
	uint8_t all = 0;
	size_t max = 0;

	memset(&e, 0, sizeof(e));
	memset(kw, 0, sizeof(kw));
	for (unsigned int i = 0; i < n && i < X8; i++) {
		for (int j = 0; j < 8; j++)
			kw[j][i] = lanes8_le32(l[i].key + 4 * j);
		all |= (uint8_t)(1u << i);
		if (l[i].len > max)
			max = l[i].len;
	}
	for (int j = 0; j < 8; j++)
		x[j] = _mm256_load_si256((const __m256i *)kw[j]);
	poly1305_x8_setkey(&e.poly, x, all);
	for (size_t off = 0; off < max; off += 64) {
		__m256i d0[8], d1[8];
		uint8_t slot[4] = {0, 0, 0, 0};

		for (unsigned int i = 0; i < X8; i++) {
			size_t rem = i < n && l[i].len > off ? l[i].len - off : 0;
			uint8_t buf[64] __attribute__((aligned(32)));

			if (rem > 64)
				rem = 64;
			for (unsigned int k = 0; k < 4 && 16 * k < rem; k++)
				slot[k] |= (uint8_t)(1u << i);
			memset(buf, 0, sizeof(buf));
			if (rem)
				memcpy(buf, l[i].msg + off, rem);
			d0[i] = _mm256_load_si256((const __m256i *)buf);
			d1[i] = _mm256_load_si256((const __m256i *)(buf + 32));
		}
		transpose_x8(d0);
		transpose_x8(d1);
		if (slot[0])
			poly1305_x8_block(&e.poly, &d0[0], slot[0]);
		if (slot[1])
			poly1305_x8_block(&e.poly, &d0[4], slot[1]);
		if (slot[2])
			poly1305_x8_block(&e.poly, &d1[0], slot[2]);
		if (slot[3])
			poly1305_x8_block(&e.poly, &d1[4], slot[3]);
	}
	poly1305_x8_tag(&e.poly, t);
	for (int k = 0; k < 4; k++)
		_mm256_store_si256((__m256i *)e.tag[k], t[k]);
	for (unsigned int i = 0; i < n && i < X8; i++)
		for (int k = 0; k < 4; k++)
			memcpy(l[i].tag + 4 * k, &e.tag[k][i], 4);
}

#endif
