/* SPDX-License-Identifier: MIT */
/*
 * The 16-lane AEAD engine: schedules a burst of packets onto 16 lanes and runs ChaCha20 and
 * Poly1305 side by side, one packet per lane.
 *
 * Lane layout: lane i = one packet at a time. The ChaCha20 state lives word-major in st[word][lane]
 * (see chacha20_x16.h); each step computes one 64-byte keystream block for every lane, at each
 * lane's own block counter. A lane's packet goes through:
 *   key step   block 0: its first 32 bytes become the lane's Poly1305 key (r, s); h = 0;
 *   data steps blocks 1..: keystream transposed to lane-major, XORed with up to 64 bytes of the
 *              packet (byte-masked loads and stores for the tail, so nothing past len is touched),
 *              the ciphertext (zero past len: that is the AEAD's pad16) transposed back to
 *              word-major and absorbed as up to four 16-byte Poly1305 blocks per lane;
 *   finish     the length block (AD length 0, ciphertext length) and the tag.
 * A lane that finishes takes the next packet of the burst at once, so short and long packets mix
 * without idling lanes until the burst runs dry (the glue hands them over longest first).
 * Poly1305 runs one step behind: a step's ciphertext is absorbed inside the next step's ChaCha20
 * rounds (chacha20_x16_block_poly), and tags follow one step after a packet's last data; this
 * measured ~5% faster at 1420 bytes than one after the other.
 * The lane state is per thread (TLS), not on the stack: zeroing it per burst cost ~5% at 64 bytes.
 *
 * Included by one .c file per level with the matching Poly1305 header, after defining
 * MG_LEVEL_FN(name) to give the exported names their level prefix.
 */
#ifndef MG_SIMD_AEAD_LANES_X16_H
#define MG_SIMD_AEAD_LANES_X16_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <immintrin.h>

#include "aead_simd_internal.h"
#include "chacha20_x16.h"

#define X16 16

struct lanes_x16 {
	uint32_t st[16][X16] __attribute__((aligned(64))); /* words 4..15 used */
	__m512i pend[16]; /* ciphertext of the previous step, word-major, not yet in Poly1305 */
	uint16_t pend_slot[4];
	bool pending;
	/* packets whose data ended in the previous step: length block and tag still to do */
	uint32_t fin_len[X16] __attribute__((aligned(64)));
	struct aead_burst_op *fin_op[X16];
	uint16_t fin_due;
	uint32_t len[X16] __attribute__((aligned(64)));
	uint32_t tag[4][X16] __attribute__((aligned(64)));
	struct poly1305_x16 poly;
	struct aead_burst_op *op[X16];
	uint32_t off[X16];
	uint16_t active; /* lanes holding a packet */
	uint16_t keyed;	 /* lanes whose next step is block 0 */
};

static inline uint32_t lanes_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline void lanes_x16_assign(struct lanes_x16 *e, unsigned int i, struct aead_burst_op *op,
				    uint32_t n0)
{
	for (int j = 0; j < 8; j++)
		e->st[4 + j][i] = lanes_le32(op->key + 4 * j);
	e->st[12][i] = 0;
	e->st[13][i] = n0;
	e->st[14][i] = (uint32_t)op->counter;
	e->st[15][i] = (uint32_t)(op->counter >> 32);
	e->len[i] = op->len;
	e->off[i] = 0;
	e->op[i] = op;
	e->active |= (uint16_t)(1u << i);
	e->keyed |= (uint16_t)(1u << i);
}

static inline void lanes_x16_load(const struct lanes_x16 *e, __m512i s[16])
{
	s[0] = _mm512_set1_epi32(0x61707865);
	s[1] = _mm512_set1_epi32(0x3320646e);
	s[2] = _mm512_set1_epi32(0x79622d32);
	s[3] = _mm512_set1_epi32(0x6b206574);
	for (int j = 4; j < 16; j++)
		s[j] = _mm512_load_si512(e->st[j]);
}

/* Tags of the lanes in fin: written (seal) or compared in constant time (open). Returns how many
 * verified. */
static inline unsigned int lanes_x16_finish(struct lanes_x16 *e, uint16_t fin, bool open)
{
	__m512i w[4], t[4];
	unsigned int ok = 0;

	w[0] = _mm512_setzero_si512();
	w[1] = _mm512_setzero_si512();
	w[2] = _mm512_load_si512(e->fin_len); /* ciphertext length < 2^32: word 2 of the block */
	w[3] = _mm512_setzero_si512();
	poly1305_x16_block(&e->poly, w, fin);
	poly1305_x16_tag(&e->poly, t);
	for (int k = 0; k < 4; k++)
		_mm512_store_si512(e->tag[k], t[k]);
	for (unsigned int i = 0; i < X16; i++) {
		struct aead_burst_op *op = e->fin_op[i];

		if (!(fin >> i & 1))
			continue;
		if (!open) {
			for (int k = 0; k < 4; k++)
				memcpy(op->tag + 4 * k, &e->tag[k][i], 4);
		} else {
			uint32_t d = 0;

			for (int k = 0; k < 4; k++)
				d |= e->tag[k][i] ^ lanes_le32(op->tag + 4 * k);
			/* 1 iff d == 0, without a data-dependent branch */
			op->ok = (bool)((((uint64_t)d) - 1) >> 63);
			if (!op->ok && op->len) /* dst may be NULL when len is 0 */
				memset(op->dst, 0, op->len);
			ok += op->ok;
		}
	}
	return ok;
}

/*
 * ChaCha20 with the previous step's Poly1305 blocks interleaved: after each of the first eight
 * double rounds, one half (even or odd packets) of one block. The two are independent, and mixing
 * the multiplies in among ChaCha20's adds, xors and rotates keeps more of the core's vector pipes
 * busy than running them one after the other.
 */
static inline void chacha20_x16_block_poly(const __m512i s[16], __m512i x[16],
					   struct poly1305_x16 *p, const __m512i w[16],
					   const uint16_t slot[4])
{
	CHACHA_X16_LOAD(s);

	CHACHA_X16_DOUBLE_ROUND();
	poly1305_x16_half(p, &w[0], slot[0], 0);
	CHACHA_X16_DOUBLE_ROUND();
	poly1305_x16_half(p, &w[0], slot[0], 1);
	CHACHA_X16_DOUBLE_ROUND();
	poly1305_x16_half(p, &w[4], slot[1], 0);
	CHACHA_X16_DOUBLE_ROUND();
	poly1305_x16_half(p, &w[4], slot[1], 1);
	CHACHA_X16_DOUBLE_ROUND();
	poly1305_x16_half(p, &w[8], slot[2], 0);
	CHACHA_X16_DOUBLE_ROUND();
	poly1305_x16_half(p, &w[8], slot[2], 1);
	CHACHA_X16_DOUBLE_ROUND();
	poly1305_x16_half(p, &w[12], slot[3], 0);
	CHACHA_X16_DOUBLE_ROUND();
	poly1305_x16_half(p, &w[12], slot[3], 1);
	CHACHA_X16_DOUBLE_ROUND();
	CHACHA_X16_DOUBLE_ROUND();
	CHACHA_X16_STORE(s, x);
}

/* Poly1305 work left over after the last step. */
static inline unsigned int lanes_x16_flush(struct lanes_x16 *e, bool open)
{
	unsigned int ok = 0;

	if (e->pending) {
		for (int k = 0; k < 4; k++)
			if (e->pend_slot[k])
				poly1305_x16_block(&e->poly, &e->pend[4 * k], e->pend_slot[k]);
		e->pending = false;
	}
	if (e->fin_due)
		ok = lanes_x16_finish(e, e->fin_due, open);
	e->fin_due = 0;
	return ok;
}

/*
 * One step: a keystream block for every lane, then each lane's share of work. Poly1305 runs a step
 * behind: the previous step's ciphertext inside this step's ChaCha20 rounds, then the tags of the
 * packets that ended in the previous step (before a refilled lane's new key replaces theirs).
 */
static inline unsigned int lanes_x16_step(struct lanes_x16 *e, bool open)
{
	__m512i s[16], x[16];
	uint16_t keyed = e->keyed, data = (uint16_t)(e->active & ~e->keyed), fin = 0;
	unsigned int ok = 0;

	lanes_x16_load(e, s);
	if (e->pending) {
		chacha20_x16_block_poly(s, x, &e->poly, e->pend, e->pend_slot);
		e->pending = false;
	} else {
		chacha20_x16_block(s, x);
	}
	if (e->fin_due) {
		ok = lanes_x16_finish(e, e->fin_due, open);
		e->fin_due = 0;
	}
	if (keyed) {
		poly1305_x16_setkey(&e->poly, x, keyed);
		for (unsigned int i = 0; i < X16; i++)
			if ((keyed >> i & 1) && e->len[i] == 0)
				fin |= (uint16_t)(1u << i);
	}
	if (data) {
		__m512i d[16];
		uint16_t slot[4] = {0, 0, 0, 0};

		transpose_x16(x); /* keystream lane-major */
		for (unsigned int i = 0; i < X16; i++) {
			struct aead_burst_op *op = e->op[i];
			uint32_t off = e->off[i], rem;
			__mmask64 km;
			__m512i in, out;
			unsigned int nb;

			if (!(data >> i & 1)) {
				d[i] = _mm512_setzero_si512();
				continue;
			}
			rem = e->len[i] - off;
			if (rem >= 64) {
				km = ~(__mmask64)0;
				nb = 4;
			} else {
				km = ((__mmask64)1 << rem) - 1;
				nb = (rem + 15) / 16;
			}
			for (unsigned int k = 0; k < nb; k++)
				slot[k] |= (uint16_t)(1u << i);
			in = _mm512_maskz_loadu_epi8(km, op->src + off);
			out = _mm512_xor_si512(in, x[i]);
			if (open) {
				d[i] = in; /* Poly1305 reads the ciphertext */
			} else {
				if (rem < 64)
					out = _mm512_maskz_mov_epi8(km, out); /* pad16 is zeros */
				d[i] = out;
			}
			_mm512_mask_storeu_epi8(op->dst + off, km, out);
			e->off[i] = off + 64;
			if (off + 64 >= e->len[i])
				fin |= (uint16_t)(1u << i);
		}
		transpose_x16(d); /* word-major: block k = d[4k .. 4k + 3] */
		/* absorbed during the next step's ChaCha20 (or by lanes_x16_flush) */
		memcpy(e->pend, d, sizeof(d));
		memcpy(e->pend_slot, slot, sizeof(slot));
		e->pending = true;
	}
	if (fin) {
		for (unsigned int i = 0; i < X16; i++) {
			e->fin_op[i] = e->op[i];
			e->fin_len[i] = e->len[i];
		}
		e->fin_due = fin;
	}
	e->active &= (uint16_t)~fin;
	e->keyed = 0;
	_mm512_store_si512(e->st[12], _mm512_add_epi32(s[12], _mm512_set1_epi32(1)));
	return ok;
}

static inline unsigned int lanes_x16_run(struct aead_burst_op *const *opp, unsigned int n,
					 const uint32_t *nonce0, bool open)
{
	/*
	 * Per thread, not on the stack (see the top). Lanes left idle compute on whatever an
	 * earlier burst left there, which is never output. initial-exec: no __tls_get_addr call
	 * in -fPIC code.
	 */
	static __thread struct lanes_x16 e __attribute__((aligned(64), tls_model("initial-exec")));
	unsigned int next = 0, ok = 0;

	e.active = 0;
	e.keyed = 0;
	e.pending = false;
	e.fin_due = 0;
	for (unsigned int i = 0; i < X16 && next < n; i++, next++)
		lanes_x16_assign(&e, i, opp[next], nonce0 ? nonce0[next] : 0);
	while (e.active) {
		uint16_t before = e.active;

		ok += lanes_x16_step(&e, open);
		for (unsigned int i = 0; i < X16 && next < n; i++) {
			if ((before >> i & 1) && !(e.active >> i & 1)) {
				lanes_x16_assign(&e, i, opp[next], nonce0 ? nonce0[next] : 0);
				next++;
			}
		}
	}
	return ok + lanes_x16_flush(&e, open);
}

/* ops[] in order, in chunks of up to 64 (the lanes refill across a chunk, not between chunks). */
static inline unsigned int lanes_x16_run_array(struct aead_burst_op *ops, unsigned int n,
					       const uint32_t *nonce0, bool open)
{
	struct aead_burst_op *opp[64];
	unsigned int ok = 0;

	for (unsigned int base = 0; base < n; base += 64) {
		unsigned int m = n - base < 64 ? n - base : 64;

		for (unsigned int i = 0; i < m; i++)
			opp[i] = &ops[base + i];
		ok += lanes_x16_run(opp, m, nonce0 ? nonce0 + base : NULL, open);
	}
	return ok;
}

void MG_LEVEL_FN(seal)(struct aead_burst_op *ops, unsigned int n, const uint32_t *nonce0)
{
	lanes_x16_run_array(ops, n, nonce0, false);
}

unsigned int MG_LEVEL_FN(open)(struct aead_burst_op *ops, unsigned int n, const uint32_t *nonce0)
{
	return lanes_x16_run_array(ops, n, nonce0, true);
}

void MG_LEVEL_FN(seal_ptrs)(struct aead_burst_op *const *opp, unsigned int n)
{
	lanes_x16_run(opp, n, NULL, false);
}

unsigned int MG_LEVEL_FN(open_ptrs)(struct aead_burst_op *const *opp, unsigned int n)
{
	return lanes_x16_run(opp, n, NULL, true);
}

/* Test hook: ChaCha20 keystream XOR through the same block and transpose code. */
void MG_LEVEL_FN(chacha20_xor)(const struct simd_stream_lane *l, unsigned int n)
{
	struct lanes_x16 e;
	size_t off = 0, max = 0;

	memset(&e, 0, sizeof(e));
	for (unsigned int i = 0; i < n && i < X16; i++) {
		for (int j = 0; j < 8; j++)
			e.st[4 + j][i] = lanes_le32(l[i].key + 4 * j);
		e.st[12][i] = l[i].ic;
		for (int j = 0; j < 3; j++)
			e.st[13 + j][i] = lanes_le32(l[i].nonce + 4 * j);
		if (l[i].len > max)
			max = l[i].len;
	}
	for (; off < max; off += 64) {
		__m512i s[16], x[16];

		lanes_x16_load(&e, s);
		chacha20_x16_block(s, x);
		transpose_x16(x);
		for (unsigned int i = 0; i < n && i < X16; i++) {
			size_t rem = l[i].len > off ? l[i].len - off : 0;
			__mmask64 km = rem >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << rem) - 1;
			__m512i in = _mm512_maskz_loadu_epi8(km, l[i].in + off);

			_mm512_mask_storeu_epi8(l[i].out + off, km, _mm512_xor_si512(in, x[i]));
		}
		_mm512_store_si512(e.st[12], _mm512_add_epi32(s[12], _mm512_set1_epi32(1)));
	}
}

/* Test hook: Poly1305 of whole 16-byte blocks through the same lane code. */
void MG_LEVEL_FN(poly1305)(const struct simd_poly_lane *l, unsigned int n)
{
	struct lanes_x16 e;
	uint32_t kw[8][X16] __attribute__((aligned(64)));
	__m512i x[8], t[4];
	uint16_t all = 0;
	size_t off = 0, max = 0;

	memset(&e, 0, sizeof(e));
	memset(kw, 0, sizeof(kw));
	for (unsigned int i = 0; i < n && i < X16; i++) {
		for (int j = 0; j < 8; j++)
			kw[j][i] = lanes_le32(l[i].key + 4 * j);
		all |= (uint16_t)(1u << i);
		if (l[i].len > max)
			max = l[i].len;
	}
	for (int j = 0; j < 8; j++)
		x[j] = _mm512_load_si512(kw[j]);
	poly1305_x16_setkey(&e.poly, x, all);
	for (; off < max; off += 64) {
		__m512i d[16];
		uint16_t slot[4] = {0, 0, 0, 0};

		for (unsigned int i = 0; i < X16; i++) {
			size_t rem = i < n && l[i].len > off ? l[i].len - off : 0;
			__mmask64 km = rem >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << rem) - 1;

			for (unsigned int k = 0; k < 4 && 16 * k < rem; k++)
				slot[k] |= (uint16_t)(1u << i);
			d[i] = rem ? _mm512_maskz_loadu_epi8(km, l[i].msg + off)
				   : _mm512_setzero_si512();
		}
		poly1305_x16_absorb(&e.poly, d, slot);
	}
	poly1305_x16_tag(&e.poly, t);
	for (int k = 0; k < 4; k++)
		_mm512_store_si512(e.tag[k], t[k]);
	for (unsigned int i = 0; i < n && i < X16; i++)
		for (int k = 0; k < 4; k++)
			memcpy(l[i].tag + 4 * k, &e.tag[k][i], 4);
}

#endif
