/* SPDX-License-Identifier: MIT */
/*
 * Cross-packet SIMD ChaCha20-Poly1305 (lib/simd/), every level this CPU supports:
 *  - Wycheproof ChaCha20-Poly1305 and the kernel self-test vectors where the AD is empty (a nonce
 *    with a non-zero first word goes through the level's internal entry, which takes that word);
 *  - the lane ChaCha20 and Poly1305 against libsodium for lengths 0..9000;
 *  - differential: random bursts (1..64 packets, lengths 0..9000 weighted toward 0..128 and about
 *    1420, random keys and counters) sealed and opened, tampered tags and ciphertexts, in place and
 *    out of place mixed in a burst, against libsodium; guard bytes around every output;
 *  - the split to intel-ipsec-mb fixed by length (aead_simd_fix_split) on and off, so that it is
 *    covered here whatever the cost model measures on this host (test_split_fixed).
 * Every output a backend must write is preset to something else first, open's ok flag to the
 * wrong verdict, so a backend that leaves one alone fails.
 * MG_SIMD_TEST_BURSTS sets the number of random bursts (default 100000, or 10000 when built with
 * AddressSanitizer, which is ~10x slower; the split test takes at most 300 of them per level and
 * threshold), MG_SIMD_TEST_SEED the base seed. A failing burst prints the seed and count that
 * reproduce it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aead_burst_simd.h"
#include "simd/aead_simd_internal.h"
#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
#define MG_SIMD_TEST_DEFAULT_BURSTS 10000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MG_SIMD_TEST_DEFAULT_BURSTS 10000
#endif
#endif
#ifndef MG_SIMD_TEST_DEFAULT_BURSTS
#define MG_SIMD_TEST_DEFAULT_BURSTS 100000
#endif

struct level {
	const char *name;
	const struct aead_burst_impl *impl;
	void (*seal)(struct aead_burst_op *ops, unsigned int n, const uint32_t *nonce0);
	unsigned int (*open)(struct aead_burst_op *ops, unsigned int n, const uint32_t *nonce0);
	void (*stream)(const struct simd_stream_lane *l, unsigned int n);
	void (*poly)(const struct simd_poly_lane *l, unsigned int n);
	unsigned int lanes;
};

#define LEVEL(lvl, nl)                                                                    \
	{                                                                                 \
#lvl, &aead_burst_simd_##lvl, mg_simd_##lvl##_seal, mg_simd_##lvl##_open, \
			mg_simd_##lvl##_chacha20_xor, mg_simd_##lvl##_poly1305, nl        \
	}

static const struct level all_levels[] = {
	LEVEL(ifma, 16),
	LEVEL(avx512, 16),
	LEVEL(avx2, 8),
};
#define NLEVELS (sizeof(all_levels) / sizeof(all_levels[0]))

static const struct level *levels[NLEVELS];
static struct aead_burst level_ab[NLEVELS]; /* each level's impl context (split to ipsec-mb on) */
static unsigned int nlevels;

#define MAXLEN	 9000
#define MAXBURST 64
#define GUARD	 64

static void le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= p[i];
	return d == 0;
}

/* One known-answer case with empty AD: seal and open through a level, one packet and in a burst. */
struct kat {
	uint8_t key[32], nonce[12];
	uint8_t *msg, *ct, tag[16];
	size_t len;
	bool valid;
};

static void kat_free(struct kat *k, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		free(k[i].msg);
		free(k[i].ct);
	}
	free(k);
}

/* Returns how many cases ran through the public burst API (nonce word 0 zero) for this level. */
static unsigned int kat_run(unsigned int l, const struct kat *k, unsigned int n, const char *what)
{
	const struct level *lv = levels[l];
	struct aead_burst_op *ops = calloc(n ? n : 1, sizeof(*ops));
	uint32_t *n0 = calloc(n ? n : 1, sizeof(*n0));
	uint8_t **out = calloc(n ? n : 1, sizeof(*out));
	uint8_t(*tags)[16] = calloc(n ? n : 1, 16);
	unsigned int via_api = 0, expect_ok = 0, got;

	for (unsigned int i = 0; i < n; i++) {
		out[i] = malloc(k[i].len + 1);
		n0[i] = rd32(k[i].nonce);
		via_api += n0[i] == 0;
	}
	/* seal, one packet per call; through the impl when the nonce is WireGuard's */
	for (unsigned int i = 0; i < n; i++) {
		struct aead_burst_op op = {.key = k[i].key,
					   .counter = rd64(k[i].nonce + 4),
					   .src = k[i].msg,
					   .dst = out[i],
					   .tag = tags[i],
					   .len = (uint32_t)k[i].len};

		if (!k[i].valid)
			continue;
		/* outputs preset to what seal must overwrite */
		memset(out[i], 0xa5, k[i].len);
		for (unsigned int j = 0; j < 16; j++)
			tags[i][j] = (uint8_t)~k[i].tag[j];
		if (n0[i] == 0)
			lv->impl->seal(&level_ab[l], &op, 1);
		else
			lv->seal(&op, 1, &n0[i]);
		CHECK_MEM(out[i], k[i].ct, k[i].len, "%s %s #%u seal ct", lv->name, what, i);
		CHECK_MEM(tags[i], k[i].tag, 16, "%s %s #%u seal tag", lv->name, what, i);
	}
	/* open, all cases in one burst of mixed lengths, valid and invalid */
	for (unsigned int i = 0; i < n; i++) {
		memcpy(tags[i], k[i].tag, 16);
		memset(out[i], 0xa5, k[i].len);
		ops[i] = (struct aead_burst_op){.key = k[i].key,
						.counter = rd64(k[i].nonce + 4),
						.src = k[i].ct,
						.dst = out[i],
						.tag = tags[i],
						.len = (uint32_t)k[i].len,
						.ok = !k[i].valid /* the wrong verdict */};
		expect_ok += k[i].valid;
	}
	got = lv->open(ops, n, n0);
	CHECK(got == expect_ok, "%s %s burst open verified %u, expected %u", lv->name, what, got,
	      expect_ok);
	for (unsigned int i = 0; i < n; i++) {
		CHECK(ops[i].ok == k[i].valid, "%s %s #%u open ok=%d", lv->name, what, i,
		      ops[i].ok);
		if (k[i].valid)
			CHECK_MEM(out[i], k[i].msg, k[i].len, "%s %s #%u open plaintext", lv->name,
				  what, i);
		else
			CHECK(all_zero(out[i], k[i].len), "%s %s #%u failed open left data",
			      lv->name, what, i);
	}
	/* and again with one tag bit flipped in each (the vector files have no such cases with
	 * empty AD) */
	for (unsigned int i = 0; i < n; i++) {
		memcpy(tags[i], k[i].tag, 16);
		tags[i][(i / 8) % 16] ^= (uint8_t)(1u << (i % 8));
		memset(out[i], 0xa5, k[i].len);
		ops[i].ok = true; /* the wrong verdict */
	}
	got = lv->open(ops, n, n0);
	CHECK(got == 0, "%s %s tampered burst: %u verified", lv->name, what, got);
	for (unsigned int i = 0; i < n; i++) {
		CHECK(!ops[i].ok, "%s %s #%u tampered tag verified", lv->name, what, i);
		CHECK(all_zero(out[i], k[i].len), "%s %s #%u failed open left data", lv->name, what,
		      i);
	}
	for (unsigned int i = 0; i < n; i++)
		free(out[i]);
	free(out);
	free(tags);
	free(n0);
	free(ops);
	return via_api;
}

static void hex_or_die(const char *hex, uint8_t **out, size_t *len)
{
	if (test_hex(hex, out, len) != 0) {
		fprintf(stderr, "bad hex in vectors\n");
		exit(1);
	}
}

static void test_wycheproof(void)
{
	cJSON *root = test_load_json_required("wycheproof/chacha20_poly1305_test.json");
	cJSON *groups = cJSON_GetObjectItem(root, "testGroups"), *g, *t;
	unsigned int n = 0, total = 0, cap = 512;
	struct kat *k = calloc(cap, sizeof(*k));

	cJSON_ArrayForEach(g, groups)
	{
		cJSON_ArrayForEach(t, cJSON_GetObjectItem(g, "tests"))
		{
			size_t ctlen;
			uint8_t *tag;
			size_t taglen;

			total++;
			if (strlen(test_str(t, "iv")) != 24 || strlen(test_str(t, "aad")) != 0 ||
			    strlen(test_str(t, "tag")) != 32)
				continue;
			if (test_hex_fixed(test_str(t, "key"), k[n].key, 32) ||
			    test_hex_fixed(test_str(t, "iv"), k[n].nonce, 12))
				continue;
			hex_or_die(test_str(t, "msg"), &k[n].msg, &k[n].len);
			hex_or_die(test_str(t, "ct"), &k[n].ct, &ctlen);
			hex_or_die(test_str(t, "tag"), &tag, &taglen);
			memcpy(k[n].tag, tag, 16);
			free(tag);
			k[n].valid = strcmp(test_str(t, "result"), "invalid") != 0;
			if (ctlen != k[n].len) {
				free(k[n].msg);
				free(k[n].ct);
				continue;
			}
			n++;
		}
	}
	for (unsigned int l = 0; l < nlevels; l++) {
		unsigned int api = kat_run(l, k, n, "wycheproof");

		printf("%s: wycheproof: %u of %u cases applicable (96-bit nonce, empty AD): %u "
		       "through the "
		       "burst API (nonce 0||LE64), %u through the level entry with the nonce's "
		       "first word\n",
		       levels[l]->name, n, total, api, n - api);
	}
	kat_free(k, n);
	cJSON_Delete(root);
}

static void test_kernel_selftests(void)
{
	cJSON *root =
		test_load_json_required("linux_selftests/zinc_chacha20poly1305_selftest.json");
	const char *sets[] = {"chacha20poly1305_enc_vectors", "chacha20poly1305_dec_vectors"};
	unsigned int n = 0, total = 0;
	struct kat *k = calloc(256, sizeof(*k));

	for (int s = 0; s < 2; s++) {
		cJSON *t;

		cJSON_ArrayForEach(t, cJSON_GetObjectItem(root, sets[s]))
		{
			const char *nonce = test_str(t, "nonce");
			uint8_t *in, *outp;
			size_t inlen, outlen;
			bool failure = cJSON_IsTrue(cJSON_GetObjectItem(t, "failure"));

			total++;
			if (strlen(test_str(t, "assoc")) != 0 ||
			    test_hex_fixed(test_str(t, "key"), k[n].key, 32))
				continue;
			memset(k[n].nonce, 0, 12);
			if (strlen(nonce) == 16) {
				if (test_hex_fixed(nonce, k[n].nonce + 4, 8))
					continue;
			} else if (strlen(nonce) != 24 || test_hex_fixed(nonce, k[n].nonce, 12)) {
				continue;
			}
			hex_or_die(test_str(t, "input"), &in, &inlen);
			hex_or_die(test_str(t, "output"), &outp, &outlen);
			if (s == 0) { /* enc: input = plaintext, output = ciphertext || tag */
				if (outlen != inlen + 16) {
					free(in);
					free(outp);
					continue;
				}
				k[n].msg = in;
				k[n].len = inlen;
				k[n].ct = outp;
				memcpy(k[n].tag, outp + inlen, 16);
				k[n].valid = !failure;
			} else { /* dec: input = ciphertext || tag, output = plaintext */
				if (inlen < 16) {
					free(in);
					free(outp);
					continue;
				}
				k[n].len = inlen - 16;
				k[n].ct = in;
				memcpy(k[n].tag, in + k[n].len, 16);
				k[n].msg = outp;
				if (failure || outlen != k[n].len) {
					/* a failure case's "output" is not a plaintext: keep a
					 * buffer of len */
					free(outp);
					k[n].msg = calloc(k[n].len + 1, 1);
				}
				k[n].valid = !failure;
			}
			n++;
		}
	}
	for (unsigned int l = 0; l < nlevels; l++) {
		unsigned int api = kat_run(l, k, n, "kernel-selftest");

		printf("%s: kernel self-tests: %u of %u enc+dec cases applicable (empty AD): %u "
		       "through the burst "
		       "API, %u through the level entry\n",
		       levels[l]->name, n, total, api, n - api);
	}
	kat_free(k, n);
	cJSON_Delete(root);
}

/* Lane ChaCha20 and Poly1305 on their own, against libsodium. */
static void test_units(struct test_rng *rng)
{
	static uint8_t in[16][MAXLEN + 16], out[16][MAXLEN + 16 + GUARD], ref[MAXLEN + 16];
	uint8_t keys[16][32], nonces[16][12], tags[16][16], rtag[16];

	for (unsigned int l = 0; l < nlevels; l++) {
		const struct level *lv = levels[l];
		unsigned int bad_stream = 0, bad_poly = 0, cases = 0;

		/* every length 0..9000, lanes of a call at different lengths */
		for (size_t base = 0; base <= MAXLEN; base += lv->lanes) {
			struct simd_stream_lane sl[16];
			unsigned int nl = 0;

			for (unsigned int i = 0; i < lv->lanes && base + i <= MAXLEN; i++, nl++) {
				size_t len = base + i;

				test_rng_bytes(rng, keys[i], 32);
				test_rng_bytes(rng, nonces[i], 12);
				test_rng_bytes(rng, in[i], len);
				memset(out[i], 0xee, len + GUARD);
				sl[i] = (struct simd_stream_lane){
					keys[i],
					nonces[i],
					(uint32_t)(test_rng_next(rng) % 0xffff0000u),
					in[i],
					out[i],
					len};
			}
			lv->stream(sl, nl);
			for (unsigned int i = 0; i < nl; i++) {
				crypto_stream_chacha20_ietf_xor_ic(ref, in[i], sl[i].len, nonces[i],
								   sl[i].ic, keys[i]);
				bad_stream += memcmp(ref, out[i], sl[i].len) != 0;
				for (unsigned int j = 0; j < GUARD; j++)
					bad_stream += out[i][sl[i].len + j] != 0xee;
				cases++;
			}
		}
		/* Poly1305 of whole blocks: lengths 0..9016, random and all-ones keys and
		 * messages */
		for (size_t base = 0; base <= MAXLEN + 16; base += 16 * lv->lanes) {
			struct simd_poly_lane pl[16];
			unsigned int nl = 0;

			for (unsigned int i = 0; i < lv->lanes && base + 16 * i <= MAXLEN + 16;
			     i++, nl++) {
				size_t len = base + 16 * i;
				bool ones = (test_rng_next(rng) & 3) == 0;

				if (ones) {
					memset(keys[i], 0xff, 32);
					memset(in[i], 0xff, len);
				} else {
					test_rng_bytes(rng, keys[i], 32);
					test_rng_bytes(rng, in[i], len);
				}
				pl[i] = (struct simd_poly_lane){keys[i], in[i], len, tags[i]};
			}
			lv->poly(pl, nl);
			for (unsigned int i = 0; i < nl; i++) {
				crypto_onetimeauth_poly1305(rtag, in[i], pl[i].len, keys[i]);
				bad_poly += memcmp(rtag, tags[i], 16) != 0;
			}
		}
		CHECK(bad_stream == 0, "%s: %u keystream mismatches of %u", lv->name, bad_stream,
		      cases);
		CHECK(bad_poly == 0, "%s: %u Poly1305 mismatches", lv->name, bad_poly);
		printf("%s: lane ChaCha20 (lengths 0..%d) and Poly1305 (0..%d in 16s) match "
		       "libsodium\n",
		       lv->name, MAXLEN, MAXLEN + 16);
	}
}

/* ---- differential ---- */

struct pkt {
	uint8_t key[32];
	uint64_t counter;
	uint32_t len;
	bool inplace, tamper;
	uint32_t flip_pos; /* a tamper flipped ct[flip_pos] ^= flip_bit when flip_bit != 0 */
	uint8_t flip_bit;
	uint8_t *pt, *ct, *rtag; /* plaintext, libsodium's ciphertext and tag */
	uint8_t *buf;		 /* work buffer with GUARD bytes either side */
	uint8_t tag[16];
};

static uint32_t rand_len(struct test_rng *r)
{
	static const uint32_t special[] = {0,  1,   15,	 16,  17,   63,	  64,
					   65, 127, 128, 129, 1420, 8999, 9000};
	uint64_t x = test_rng_next(r);

	switch (x % 20) {
	case 0 ... 9: /* small */
		return (uint32_t)((x >> 8) % 129);
	case 10 ... 14: /* around the tunnel MTU */
		return 1380 + (uint32_t)((x >> 8) % 81);
	case 15 ... 17:
		return (uint32_t)((x >> 8) % (MAXLEN + 1));
	default:
		return special[(x >> 8) % (sizeof(special) / sizeof(special[0]))];
	}
}

static void guard_set(uint8_t *buf, uint32_t len)
{
	memset(buf, 0x5c, GUARD);
	memset(buf + GUARD + len, 0x5c, GUARD);
}

static bool guard_ok(const uint8_t *buf, uint32_t len)
{
	for (unsigned int i = 0; i < GUARD; i++)
		if (buf[i] != 0x5c || buf[GUARD + len + i] != 0x5c)
			return false;
	return true;
}

static unsigned long diff_fail;

/* rerun: the MG_SIMD_TEST_SEED and MG_SIMD_TEST_BURSTS that repeat the failing burst first. */
static void burst_fail(const char *lvl, const char *via, uint64_t rerun_seed,
		       unsigned long rerun_bursts, const char *what, unsigned int i)
{
	CHECK(0, "%s%s: %s (packet %u); rerun with MG_SIMD_TEST_SEED=%llu MG_SIMD_TEST_BURSTS=%lu",
	      lvl, via, what, i, (unsigned long long)rerun_seed, rerun_bursts);
	diff_fail++;
}

/* A random packet of len bytes (key sometimes shared with p[-1], as for one peer) and what
 * libsodium makes of it. */
static void pkt_make(struct pkt *p, bool first, struct test_rng *r, uint32_t len)
{
	uint8_t nonce[12] = {0};
	unsigned long long tl;

	if (!first && (test_rng_next(r) & 3) == 0)
		memcpy(p->key, p[-1].key, 32);
	else
		test_rng_bytes(r, p->key, 32);
	p->counter = test_rng_next(r);
	if (test_rng_next(r) & 1)
		p->counter >>= 40; /* small counters too */
	p->len = len;
	p->inplace = test_rng_next(r) & 1;
	p->tamper = (test_rng_next(r) & 7) == 0;
	test_rng_bytes(r, p->pt, p->len);
	le64(nonce + 4, p->counter);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(p->ct, p->rtag, &tl, p->pt, p->len, NULL, 0,
							   NULL, nonce, p->key);
}

/*
 * p[0..n) sealed through ab (NULL: the level's lanes alone, lv->seal), then libsodium's
 * ciphertexts opened, the p[i].tamper ones with one bit of the tag or ciphertext flipped. Checked
 * against libsodium: ciphertext and tag; each verdict (ok is preset to the wrong one, so a backend
 * that leaves it alone fails), the plaintext or a wiped dst, the count; nothing written outside
 * dst. Outputs are preset too (0xa5, the tag to libsodium's inverted).
 */
static void burst_check(const struct level *lv, struct aead_burst *ab, const char *via,
			struct pkt *p, struct aead_burst_op *ops, unsigned int n, struct test_rng *r,
			uint64_t rerun_seed, unsigned long rerun_bursts)
{
	unsigned int expect = 0, got;

#define FAIL(what, i) burst_fail(lv->name, via, rerun_seed, rerun_bursts, what, i)
	/* seal */
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *w = p[i].buf + GUARD;

		guard_set(p[i].buf, p[i].len);
		if (p[i].inplace)
			memcpy(w, p[i].pt, p[i].len);
		else
			memset(w, 0xa5, p[i].len);
		for (unsigned int j = 0; j < 16; j++)
			p[i].tag[j] = (uint8_t)~p[i].rtag[j];
		ops[i] = (struct aead_burst_op){.key = p[i].key,
						.counter = p[i].counter,
						.src = p[i].inplace ? w : p[i].pt,
						.dst = w,
						.tag = p[i].tag,
						.len = p[i].len};
	}
	if (ab != NULL)
		lv->impl->seal(ab, ops, n);
	else
		lv->seal(ops, n, NULL);
	for (unsigned int i = 0; i < n; i++) {
		if (memcmp(p[i].buf + GUARD, p[i].ct, p[i].len) != 0)
			FAIL("seal ciphertext differs", i);
		if (memcmp(p[i].tag, p[i].rtag, 16) != 0)
			FAIL("seal tag differs", i);
		if (!guard_ok(p[i].buf, p[i].len))
			FAIL("seal wrote outside dst", i);
	}
	/* open libsodium's output, some tampered */
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *w = p[i].buf + GUARD;

		guard_set(p[i].buf, p[i].len);
		memcpy(p[i].tag, p[i].rtag, 16);
		if (p[i].inplace)
			memcpy(w, p[i].ct, p[i].len);
		else
			memset(w, 0xa5, p[i].len);
		ops[i] = (struct aead_burst_op){.key = p[i].key,
						.counter = p[i].counter,
						.src = p[i].inplace ? w : p[i].ct,
						.dst = w,
						.tag = p[i].tag,
						.len = p[i].len,
						.ok = p[i].tamper /* the wrong verdict */};
		p[i].flip_bit = 0;
		if (p[i].tamper) {
			/* flip one bit of the tag or, when there is one, of the ciphertext */
			uint64_t x = test_rng_next(r);

			if (p[i].len && (x & 1)) {
				p[i].flip_pos = (uint32_t)((x >> 8) % p[i].len);
				p[i].flip_bit = (uint8_t)(1u << ((x >> 4) & 7));
				((uint8_t *)ops[i].src)[p[i].flip_pos] ^= p[i].flip_bit;
			} else
				p[i].tag[(x >> 8) % 16] ^= (uint8_t)(1u << ((x >> 4) & 7));
		}
		expect += !p[i].tamper;
	}
	got = ab != NULL ? lv->impl->open(ab, ops, n) : lv->open(ops, n, NULL);
	if (got != expect)
		FAIL("open returned a wrong count", 0);
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *w = p[i].buf + GUARD;

		if (ops[i].ok != !p[i].tamper)
			FAIL("open ok flag wrong", i);
		else if (ops[i].ok && memcmp(w, p[i].pt, p[i].len) != 0)
			FAIL("open plaintext differs", i);
		else if (!ops[i].ok && !all_zero(w, p[i].len))
			FAIL("failed open left data in dst", i);
		if (!guard_ok(p[i].buf, p[i].len))
			FAIL("open wrote outside dst", i);
		/* undo a flip in an out-of-place source: it is libsodium's reference */
		if (p[i].flip_bit && !p[i].inplace)
			p[i].ct[p[i].flip_pos] ^= p[i].flip_bit;
	}
#undef FAIL
}

static void pkts_alloc(struct pkt *p, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		p[i].pt = malloc(MAXLEN);
		p[i].ct = malloc(MAXLEN);
		p[i].rtag = malloc(16);
		p[i].buf = malloc(MAXLEN + 2 * GUARD);
	}
}

static void pkts_free(struct pkt *p, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		free(p[i].pt);
		free(p[i].ct);
		free(p[i].rtag);
		free(p[i].buf);
	}
}

static void test_differential(uint64_t base_seed, unsigned long nbursts)
{
	static struct pkt p[MAXBURST];
	static struct aead_burst_op ops[MAXBURST];
	unsigned long packets = 0, tampered = 0, bytes = 0, via_impl_bursts = 0, fail0 = diff_fail;

	pkts_alloc(p, MAXBURST);
	for (unsigned long b = 0; b < nbursts && diff_fail < 10; b++) {
		uint64_t seed = base_seed + b;
		struct test_rng r;
		unsigned int n;

		test_rng_seed(&r, seed);
		n = 1 + (unsigned int)(test_rng_next(&r) % MAXBURST);
		for (unsigned int i = 0; i < n; i++) {
			pkt_make(&p[i], i == 0, &r, rand_len(&r));
			packets++;
			bytes += p[i].len;
			tampered += p[i].tamper;
		}
		for (unsigned int pass = 0; pass < nlevels * 2; pass++) {
			unsigned int l = pass / 2;
			/* pass 0: the lanes alone; pass 1 (every 4th burst): the impl, which may
			 * hand the longest packets to intel-ipsec-mb (as this host's costs say) */
			bool via_impl = pass & 1;

			if (via_impl && (b & 3) != 0)
				continue;
			via_impl_bursts += via_impl;
			burst_check(levels[l], via_impl ? &level_ab[l] : NULL,
				    via_impl ? " impl" : " lanes", p, ops, n, &r, seed, 1);
		}
	}
	if (diff_fail == fail0)
		test_checks_passed++;
	printf("differential: %lu bursts from seed %llu, %lu packets (%lu tampered), %lu payload "
	       "bytes, "
	       "%u level(s): each burst through every level's lanes, every 4th also through the "
	       "impl "
	       "(%lu level-bursts); %lu failures\n",
	       nbursts, (unsigned long long)base_seed, packets, tampered, bytes, nlevels,
	       via_impl_bursts, diff_fail - fail0);
	pkts_free(p, MAXBURST);
}

/*
 * The split to intel-ipsec-mb, fixed by length (aead_simd_fix_split) so that it runs here whatever
 * this host's cost model says: at 0 (every packet to intel-ipsec-mb), 64 and 1420 (the longest of
 * each burst there, the rest in the lanes), and never (every packet in the lanes, even equal
 * lengths the model would hand over whole). Bursts of up to 130 packets (so two or three 64-packet
 * chunks), mixed lengths with, in each chunk, at least one valid and one tampered packet on each
 * side of the threshold, and now and then all of one length on either side (whole to one side);
 * every output checked against libsodium (burst_check). The packets each side got are counted by
 * the rule, and every kind must have come up.
 */
#define SPLIT_MAXBURST 130
#define SPLIT_BURSTS   300

/* A length from x: at least min (min <= MAXLEN), or below it (min > 0). */
static uint32_t len_from(uint32_t min, uint64_t x)
{
	return min + (uint32_t)(x % (MAXLEN - min + 1));
}

static uint32_t len_below(uint32_t min, uint64_t x)
{
	return (uint32_t)(x % (min <= MAXLEN ? min : MAXLEN + 1));
}

static void test_split_fixed(uint64_t base_seed, unsigned long nbursts)
{
	static const uint32_t mins[] = {0, 64, 1420, AEAD_SIMD_SPLIT_NEVER};
	static struct pkt p[SPLIT_MAXBURST];
	static struct aead_burst_op ops[SPLIT_MAXBURST];
	unsigned long fail0 = diff_fail;

	pkts_alloc(p, SPLIT_MAXBURST);
	if (nbursts > SPLIT_BURSTS)
		nbursts = SPLIT_BURSTS;
	for (unsigned int l = 0; l < nlevels; l++) {
		const struct level *lv = levels[l];

		for (unsigned int t = 0; t < sizeof(mins) / sizeof(mins[0]); t++) {
			const uint32_t min = mins[t];
			const bool longs = min <= MAXLEN, shorts = min > 0;
			/* packets to intel-ipsec-mb / to the lanes: [valid, tampered] */
			unsigned long to_ipsec[2] = {0}, to_lanes[2] = {0}, mixed_chunks = 0, b, f0;
			struct aead_burst ab = {.impl = lv->impl};
			char via[32];
			int rc;

			if (lv->impl->init(&ab) != 0) {
				CHECK(0, "%s: init failed", lv->name);
				continue;
			}
			rc = aead_simd_fix_split(&ab, min);
			if (min == AEAD_SIMD_SPLIT_NEVER)
				snprintf(via, sizeof(via), " split never");
			else
				snprintf(via, sizeof(via), " split from %u bytes", min);
			if (rc == -ENOTSUP && min != AEAD_SIMD_SPLIT_NEVER) {
				printf("%s%s: intel-ipsec-mb cannot run here, skipped\n", lv->name, via);
				lv->impl->fini(&ab);
				continue;
			}
			CHECK(rc == 0, "%s%s: aead_simd_fix_split returned %d", lv->name, via, rc);
			for (b = 0, f0 = diff_fail; b < nbursts && diff_fail < f0 + 10; b++) {
				struct test_rng r;
				unsigned int n;
				uint64_t x;
				uint32_t same = 0;

				test_rng_seed(&r, base_seed + b);
				n = 2 + (unsigned int)(test_rng_next(&r) % (SPLIT_MAXBURST - 1));
				x = test_rng_next(&r);
				if (x % 8 == 0) /* all of one length: from min on, or below it */
					same = longs && (!shorts || (x >> 8) & 1) ? len_from(min, x >> 16)
										  : len_below(min, x >> 16);
				for (unsigned int i = 0; i < n; i++) {
					/* the first four of each chunk: long valid, long tampered, short
					 * valid, short tampered (the lanes sort them anyway) */
					unsigned int c = i % 64;
					uint32_t len = rand_len(&r);

					if (x % 8 == 0)
						len = same;
					else if (c < 2 && longs)
						len = len_from(min, test_rng_next(&r));
					else if (c >= 2 && c < 4 && shorts)
						len = len_below(min, test_rng_next(&r));
					pkt_make(&p[i], i == 0, &r, len);
					if (c < 4 && x % 8 != 0)
						p[i].tamper = c & 1;
				}
				for (unsigned int base = 0; base < n; base += 64) {
					unsigned int m = n - base < 64 ? n - base : 64, nlong = 0;

					for (unsigned int i = base; i < base + m; i++) {
						bool big = min != AEAD_SIMD_SPLIT_NEVER && p[i].len >= min;

						nlong += big;
						(big ? to_ipsec : to_lanes)[p[i].tamper]++;
					}
					mixed_chunks += nlong > 0 && nlong < m;
				}
				burst_check(lv, &ab, via, p, ops, n, &r, base_seed, b + 1);
			}
			printf("%s%s: %lu bursts; packets to intel-ipsec-mb %lu (%lu tampered), to the "
			       "lanes %lu (%lu tampered); %lu chunks split both ways; %lu failures\n",
			       lv->name, via, b, to_ipsec[0] + to_ipsec[1], to_ipsec[1],
			       to_lanes[0] + to_lanes[1], to_lanes[1], mixed_chunks, diff_fail - f0);
			lv->impl->fini(&ab);
			if (diff_fail != f0)
				continue; /* stopped early: the counts below say nothing */
			/* the test's own coverage: what the threshold allows must have come up */
			CHECK(!longs || (to_ipsec[0] && to_ipsec[1]),
			      "%s%s: no valid or no tampered packet went to intel-ipsec-mb", lv->name, via);
			CHECK(!shorts || (to_lanes[0] && to_lanes[1]),
			      "%s%s: no valid or no tampered packet stayed in the lanes", lv->name, via);
			CHECK(!(longs && shorts) || mixed_chunks > 0, "%s%s: no burst was split",
			      lv->name, via);
		}
	}
	if (diff_fail == fail0)
		test_checks_passed++;
	pkts_free(p, SPLIT_MAXBURST);
}

/* Bursts longer than the 64-packet chunks the lanes and the split work in, and empty ones. */
static void test_big_and_empty(uint64_t seed)
{
	enum { N = 200 };
	static struct aead_burst_op ops[N];
	static uint8_t key[N][32], tag[N][16], rtag[N][16];
	static uint8_t *pt[N], *buf[N];
	struct test_rng r;

	test_rng_seed(&r, seed);
	for (unsigned int i = 0; i < N; i++) {
		pt[i] = malloc(MAXLEN);
		buf[i] = malloc(MAXLEN);
	}
	for (unsigned int l = 0; l < nlevels; l++) {
		const struct level *lv = levels[l];
		unsigned int bad = 0, got;

		CHECK(lv->impl->open(&level_ab[l], ops, 0) == 0, "%s: empty burst", lv->name);
		lv->impl->seal(&level_ab[l], ops, 0);
		for (unsigned int i = 0; i < N; i++) {
			uint32_t len = rand_len(&r);

			test_rng_bytes(&r, key[i], 32);
			test_rng_bytes(&r, pt[i], len);
			memset(buf[i], 0xa5, len); /* what seal must overwrite */
			memset(tag[i], 0xa5, 16);
			ops[i] = (struct aead_burst_op){.key = key[i],
							.counter = test_rng_next(&r),
							.src = pt[i],
							.dst = buf[i],
							.tag = tag[i],
							.len = len};
		}
		lv->impl->seal(&level_ab[l], ops, N);
		for (unsigned int i = 0; i < N; i++) {
			uint8_t nonce[12] = {0}, *ref = malloc(ops[i].len + 1);
			unsigned long long tl;

			le64(nonce + 4, ops[i].counter);
			crypto_aead_chacha20poly1305_ietf_encrypt_detached(
				ref, rtag[i], &tl, pt[i], ops[i].len, NULL, 0, NULL, nonce, key[i]);
			bad += memcmp(ref, buf[i], ops[i].len) != 0 ||
			       memcmp(rtag[i], tag[i], 16) != 0;
			free(ref);
			/* open in place; every 7th tampered; ok preset to the wrong verdict */
			ops[i].src = buf[i];
			tag[i][0] ^= (uint8_t)(i % 7 == 0);
			ops[i].ok = i % 7 == 0;
		}
		CHECK(bad == 0, "%s: %u of %d packets of a %d-packet burst differ from libsodium",
		      lv->name, bad, N, N);
		got = lv->impl->open(&level_ab[l], ops, N);
		CHECK(got == N - (N + 6) / 7, "%s: %d-packet open verified %u", lv->name, N, got);
		bad = 0;
		for (unsigned int i = 0; i < N; i++) {
			bool want = i % 7 != 0;

			bad += ops[i].ok != want;
			bad += want ? memcmp(buf[i], pt[i], ops[i].len) != 0
				    : !all_zero(buf[i], ops[i].len);
		}
		CHECK(bad == 0, "%s: %d-packet open: %u wrong", lv->name, N, bad);
	}
	for (unsigned int i = 0; i < N; i++) {
		free(pt[i]);
		free(buf[i]);
	}
}

int main(void)
{
	const char *e;
	unsigned long nbursts = MG_SIMD_TEST_DEFAULT_BURSTS;
	uint64_t seed = 0x6d657368676174e5ull;
	struct test_rng rng;

	if (sodium_init() < 0)
		return 1;
	for (unsigned int l = 0; l < NLEVELS; l++) {
		if (all_levels[l].impl->supported()) {
			level_ab[nlevels].impl = all_levels[l].impl;
			if (all_levels[l].impl->init(&level_ab[nlevels]) != 0) {
				fprintf(stderr, "%s: init failed\n", all_levels[l].name);
				return 1;
			}
			levels[nlevels++] = &all_levels[l];
		} else
			printf("%s: not supported by this CPU, skipped\n", all_levels[l].name);
	}
	if (nlevels == 0)
		test_skip("no SIMD level built and supported");
	if ((e = getenv("MG_SIMD_TEST_BURSTS")) != NULL && *e)
		nbursts = strtoul(e, NULL, 0);
	if ((e = getenv("MG_SIMD_TEST_SEED")) != NULL && *e)
		seed = strtoull(e, NULL, 0);
	test_rng_seed(&rng, seed);
	test_wycheproof();
	test_kernel_selftests();
	test_units(&rng);
	test_big_and_empty(seed);
	test_differential(seed, nbursts);
	test_split_fixed(seed, nbursts);
	for (unsigned int l = 0; l < nlevels; l++)
		levels[l]->impl->fini(&level_ab[l]);
	return test_done("aead_simd");
}
