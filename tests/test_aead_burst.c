/* SPDX-License-Identifier: MIT */
/*
 * Burst AEAD, for every backend this machine runs:
 *  1. known answers: the WireGuard selftest vectors that have no AD and an 8-byte nonce (which is our
 *     counter), and one fixed case from libsodium's one-shot API, also hard-coded here (cross-checked
 *     with pyca/cryptography) so the nonce layout is pinned down independently of libsodium;
 *  2. a differential test on random bursts against libsodium's one-shot API (the reference): seal
 *     output, open round trip, tampered tag / ciphertext / counter / key failing with dst wiped, in
 *     place and out of place, and every backend giving the same bytes;
 *  3. backend choice: MESHGATE_AEAD set to each name, "auto", empty and a bad name; names <-> enum.
 * The seed is fixed and printed; pass another as argv[1] to explore.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aead_burst.h"
#include "harness.h"

#define ROUNDS 2000
#define MAX_BURST 300 /* beyond the ipsec-mb chunk (128) to cross chunk boundaries */
#define MAX_LEN 9000
#define GARBAGE 0xa5

static struct aead_burst ctx[AEAD_BACKEND_COUNT];
static bool have[AEAD_BACKEND_COUNT];

static const char *bname(enum aead_backend b)
{
	return aead_burst_backend_name(b);
}

/* Built byte by byte, unlike the backends, so a layout mistake there cannot hide here. */
static void ref_nonce(uint8_t nonce[AEAD_NONCE_SIZE], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

static void ref_seal(uint8_t *ct, uint8_t tag[AEAD_TAG_SIZE], const uint8_t *pt, uint32_t len,
		     uint64_t counter, const uint8_t key[AEAD_KEY_SIZE])
{
	uint8_t nonce[AEAD_NONCE_SIZE];

	ref_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(ct, tag, NULL, pt, len, NULL, 0, NULL,
							   nonce, key);
}

static bool mem_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static uint8_t *xmalloc(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	return p;
}

/* ---- 1. known answers ---- */

struct kat {
	uint8_t key[AEAD_KEY_SIZE];
	uint64_t counter;
	uint8_t *pt, *ct; /* ct = ciphertext || tag */
	size_t len;
};

static uint64_t le64(const uint8_t b[8])
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

/* The selftest vectors WireGuard itself uses, where they fit our API: no AD, 8-byte nonce. */
static size_t kat_load(struct kat *kats, size_t max)
{
	cJSON *json = test_load_json_required("linux_selftests/zinc_chacha20poly1305_selftest.json");
	const cJSON *v;
	size_t n = 0;

	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(json, "chacha20poly1305_enc_vectors")) {
		uint8_t nonce[8], *pt, *ct;
		size_t ptlen, ctlen;

		if (strlen(test_str(v, "assoc")) != 0 || n == max ||
		    test_hex_fixed(test_str(v, "nonce"), nonce, sizeof(nonce)) != 0)
			continue;
		CHECK(test_hex_fixed(test_str(v, "key"), kats[n].key, AEAD_KEY_SIZE) == 0, "key");
		CHECK(test_hex(test_str(v, "input"), &pt, &ptlen) == 0, "input");
		CHECK(test_hex(test_str(v, "output"), &ct, &ctlen) == 0, "output");
		CHECK(ctlen == ptlen + AEAD_TAG_SIZE, "output length");
		kats[n].counter = le64(nonce);
		kats[n].pt = pt;
		kats[n].ct = ct;
		kats[n].len = ptlen;
		n++;
	}
	cJSON_Delete(json);
	return n;
}

/* 114-byte RFC 8439 plaintext, key 80..9f, counter 0x0706050403020100, no AD. */
static const char kat_fixed_pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you "
				   "only one tip for the future, sunscreen would be it.";
static const char kat_fixed_ct[] =
	"44436f98c0705432198f041ed7bb5c001e7051772bcafe64d11615cf843332a5"
	"5fadf172be623e5283b879da274c16525ae4b0f9b31fe96b16c62dfe72dba057"
	"6aba5850bf2e6bd7b20b40f65b09b74c85f67545406256d0f6432caee1b6719a"
	"cd5e81bfd168a7cc92b6f0f2a80d45e3703c5dc682098fb9f033ccc66bb201fc"
	"339d";

static void kat_fixed(struct kat *k)
{
	uint8_t nonce[AEAD_NONCE_SIZE], *sodium_ct;
	unsigned long long clen;
	size_t ctlen;

	for (int i = 0; i < AEAD_KEY_SIZE; i++)
		k->key[i] = (uint8_t)(0x80 + i);
	k->counter = 0x0706050403020100ULL;
	k->len = sizeof(kat_fixed_pt) - 1;
	k->pt = xmalloc(k->len);
	memcpy(k->pt, kat_fixed_pt, k->len);
	CHECK(test_hex(kat_fixed_ct, &k->ct, &ctlen) == 0 && ctlen == k->len + AEAD_TAG_SIZE, "hex");
	/* libsodium's combined one-shot API must agree with the hard-coded answer. */
	sodium_ct = xmalloc(k->len + AEAD_TAG_SIZE);
	ref_nonce(nonce, k->counter);
	crypto_aead_chacha20poly1305_ietf_encrypt(sodium_ct, &clen, k->pt, k->len, NULL, 0, NULL,
						  nonce, k->key);
	CHECK(clen == ctlen && mem_eq(sodium_ct, k->ct, ctlen), "libsodium one-shot known answer");
	free(sodium_ct);
}

static void kat_seal(struct aead_burst *ab, const struct kat *kats, size_t n)
{
	struct aead_burst_op kops[8];
	uint8_t *out[8], tags[8][AEAD_TAG_SIZE];

	for (size_t i = 0; i < n; i++) {
		out[i] = xmalloc(kats[i].len);
		kops[i] = (struct aead_burst_op){ .key = kats[i].key, .counter = kats[i].counter,
						 .src = kats[i].pt, .dst = out[i], .tag = tags[i],
						 .len = (uint32_t)kats[i].len };
	}
	aead_burst_seal(ab, kops, (unsigned int)n);
	for (size_t i = 0; i < n; i++) {
		CHECK(mem_eq(out[i], kats[i].ct, kats[i].len) &&
			      mem_eq(tags[i], kats[i].ct + kats[i].len, AEAD_TAG_SIZE),
		      "%s: known answer %zu (len %zu) seal", bname(ab->backend), i, kats[i].len);
		free(out[i]);
	}
}

/* Opens every vector in place, once as received and once with a flipped bit (tag, then data). */
static void kat_open(struct aead_burst *ab, const struct kat *kats, size_t n, bool tamper)
{
	struct aead_burst_op kops[8];
	uint8_t *buf[8], tags[8][AEAD_TAG_SIZE];
	unsigned int ok;

	for (size_t i = 0; i < n; i++) {
		buf[i] = xmalloc(kats[i].len);
		memcpy(buf[i], kats[i].ct, kats[i].len);
		memcpy(tags[i], kats[i].ct + kats[i].len, AEAD_TAG_SIZE);
		if (tamper && (i % 2 == 0 || kats[i].len == 0))
			tags[i][i % AEAD_TAG_SIZE] ^= 0x01;
		else if (tamper)
			buf[i][kats[i].len / 2] ^= 0x80;
		kops[i] = (struct aead_burst_op){ .key = kats[i].key, .counter = kats[i].counter,
						 .src = buf[i], .dst = buf[i], .tag = tags[i],
						 .len = (uint32_t)kats[i].len };
	}
	ok = aead_burst_open(ab, kops, (unsigned int)n);
	CHECK(ok == (tamper ? 0 : n), "%s: known answers opened %u of %zu", bname(ab->backend), ok,
	      n);
	for (size_t i = 0; i < n; i++) {
		if (tamper)
			CHECK(!kops[i].ok && all_zero(buf[i], kats[i].len),
			      "%s: tampered known answer %zu opened or not wiped", bname(ab->backend), i);
		else
			CHECK(kops[i].ok && mem_eq(buf[i], kats[i].pt, kats[i].len),
			      "%s: known answer %zu open", bname(ab->backend), i);
		free(buf[i]);
	}
}

static void test_known_answers(void)
{
	struct kat kats[8];
	size_t n = kat_load(kats, 7);

	CHECK(n == 4, "expected the 4 WireGuard selftest vectors without AD, found %zu", n);
	kat_fixed(&kats[n++]);
	for (enum aead_backend b = AEAD_BACKEND_AUTO; b < AEAD_BACKEND_COUNT; b++) {
		if (!have[b])
			continue;
		kat_seal(&ctx[b], kats, n);
		kat_open(&ctx[b], kats, n, false);
		kat_open(&ctx[b], kats, n, true);
	}
	for (size_t i = 0; i < n; i++) {
		free(kats[i].pt);
		free(kats[i].ct);
	}
}

/* ---- 2. differential ---- */

enum tamper { T_NONE, T_TAG, T_DATA, T_COUNTER, T_KEY, T_COUNT };

struct tcase {
	uint8_t key[AEAD_KEY_SIZE];
	uint64_t counter;
	uint32_t len;
	bool null_bufs; /* len 0 with NULL src and dst */
	uint8_t *pt, *ct, *out, *buf, *first; /* len bytes each */
	uint8_t tag[AEAD_TAG_SIZE], out_tag[AEAD_TAG_SIZE], first_tag[AEAD_TAG_SIZE];
	uint8_t bad_key[AEAD_KEY_SIZE], bad_tag[AEAD_TAG_SIZE];
	enum tamper tamper;
};

static struct tcase cases[MAX_BURST];
static struct aead_burst_op ops[MAX_BURST];

/* Mostly small packets and ~1420 (a full MTU), some anything up to jumbo. */
static uint32_t rand_len(struct test_rng *r)
{
	uint64_t x = test_rng_next(r);

	uint32_t y = (uint32_t)(x >> 8);

	if (x % 8 < 4)
		return y % 129;
	if (x % 8 < 6)
		return 1400 + y % 41;
	if (x % 8 < 7)
		return y % 1501;
	return y % (MAX_LEN + 1);
}

/* Small, near 2^64 (UINT64_MAX included) or anything. */
static uint64_t rand_counter(struct test_rng *r)
{
	uint64_t x = test_rng_next(r), y = test_rng_next(r);

	switch (x % 3) {
	case 0:
		return y % 1024;
	case 1:
		return UINT64_MAX - y % 1024;
	default:
		return y;
	}
}

static unsigned int rand_burst(struct test_rng *r, unsigned int round)
{
	if (round % 50 == 49)
		return 129 + (unsigned int)(test_rng_next(r) % (MAX_BURST - 128));
	return 1 + (unsigned int)(test_rng_next(r) % 64);
}

static void case_make(struct tcase *c, struct test_rng *r, uint8_t pool[4][AEAD_KEY_SIZE])
{
	uint64_t x = test_rng_next(r);

	/* a peer sends many packets under one key: share keys within a burst half of the time */
	if (x & 1)
		memcpy(c->key, pool[(x >> 1) % 4], AEAD_KEY_SIZE);
	else
		test_rng_bytes(r, c->key, AEAD_KEY_SIZE);
	c->counter = rand_counter(r);
	c->len = rand_len(r);
	c->null_bufs = c->len == 0 && (x >> 8) % 2;
	c->pt = xmalloc(c->len);
	c->ct = xmalloc(c->len);
	c->out = xmalloc(c->len);
	c->buf = xmalloc(c->len);
	c->first = xmalloc(c->len);
	test_rng_bytes(r, c->pt, c->len);
	ref_seal(c->ct, c->tag, c->pt, c->len, c->counter, c->key);
}

static void case_free(struct tcase *c)
{
	free(c->pt);
	free(c->ct);
	free(c->out);
	free(c->buf);
	free(c->first);
}

static void op_set(struct aead_burst_op *op, const struct tcase *c, const uint8_t *key,
		   uint64_t counter, const uint8_t *src, uint8_t *dst, uint8_t *tag)
{
	*op = (struct aead_burst_op){ .key = key, .counter = counter,
				      .src = c->null_bufs ? NULL : src,
				      .dst = c->null_bufs ? NULL : dst, .tag = tag, .len = c->len,
				      .ok = true /* open must set it either way */ };
}

static void diff_seal(struct aead_burst *ab, unsigned int n, bool in_place, bool first)
{
	for (unsigned int i = 0; i < n; i++) {
		struct tcase *c = &cases[i];

		memcpy(c->buf, c->pt, c->len);
		memset(c->out, GARBAGE, c->len);
		op_set(&ops[i], c, c->key, c->counter, in_place ? c->buf : c->pt,
		       in_place ? c->buf : c->out, c->out_tag);
	}
	aead_burst_seal(ab, ops, n);
	for (unsigned int i = 0; i < n; i++) {
		struct tcase *c = &cases[i];
		const uint8_t *got = in_place ? c->buf : c->out;

		CHECK(mem_eq(got, c->ct, c->len) && mem_eq(c->out_tag, c->tag, AEAD_TAG_SIZE),
		      "%s: seal %s, op %u len %u counter 0x%" PRIx64, bname(ab->backend),
		      in_place ? "in place" : "out of place", i, c->len, c->counter);
		if (first) {
			memcpy(c->first, got, c->len);
			memcpy(c->first_tag, c->out_tag, AEAD_TAG_SIZE);
		} else {
			CHECK(mem_eq(got, c->first, c->len) &&
				      mem_eq(c->out_tag, c->first_tag, AEAD_TAG_SIZE),
			      "%s: seal differs from the first backend, op %u len %u",
			      bname(ab->backend), i, c->len);
		}
	}
}

static enum tamper pick_tamper(struct test_rng *r, const struct tcase *c)
{
	uint64_t x = test_rng_next(r);
	enum tamper t;

	if (x % 2 == 0)
		return T_NONE;
	t = (enum tamper)(1 + (x >> 1) % (T_COUNT - 1));
	return t == T_DATA && c->len == 0 ? T_TAG : t;
}

/* Prepares cases[i] for open with its tamper; returns the op's source. */
static const uint8_t *open_prepare(struct tcase *c, struct test_rng *r, bool in_place)
{
	uint64_t x = test_rng_next(r);

	memcpy(c->bad_key, c->key, AEAD_KEY_SIZE);
	memcpy(c->bad_tag, c->tag, AEAD_TAG_SIZE);
	memcpy(c->buf, c->ct, c->len);
	memset(c->out, GARBAGE, c->len);
	switch (c->tamper) {
	case T_TAG:
		c->bad_tag[x % AEAD_TAG_SIZE] ^= (uint8_t)(1u << (x >> 8) % 8);
		break;
	case T_DATA:
		c->buf[(x >> 16) % c->len] ^= (uint8_t)(1u << (x >> 8) % 8);
		break;
	case T_KEY:
		c->bad_key[x % AEAD_KEY_SIZE] ^= (uint8_t)(1u << (x >> 8) % 8);
		break;
	default:
		break;
	}
	return in_place || c->tamper == T_DATA ? c->buf : c->ct;
}

static void open_check(struct aead_burst *ab, unsigned int n, bool in_place, unsigned int ok,
		       unsigned int want)
{
	CHECK(ok == want, "%s: open %s returned %u, want %u", bname(ab->backend),
	      in_place ? "in place" : "out of place", ok, want);
	for (unsigned int i = 0; i < n; i++) {
		const struct tcase *c = &cases[i];
		const uint8_t *got = in_place ? c->buf : c->out;

		if (c->tamper == T_NONE)
			CHECK(ops[i].ok && mem_eq(got, c->pt, c->len),
			      "%s: open op %u len %u counter 0x%" PRIx64, bname(ab->backend), i,
			      c->len, c->counter);
		else
			CHECK(!ops[i].ok && (c->null_bufs || all_zero(got, c->len)),
			      "%s: tamper %d accepted or dst not wiped, op %u len %u",
			      bname(ab->backend), (int)c->tamper, i, c->len);
	}
}

static void diff_open(struct aead_burst *ab, unsigned int n, bool in_place, bool tamper,
		      struct test_rng *r)
{
	unsigned int want = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct tcase *c = &cases[i];
		const uint8_t *src;
		uint64_t counter = c->counter;

		c->tamper = tamper ? pick_tamper(r, c) : T_NONE;
		src = open_prepare(c, r, in_place);
		if (c->tamper == T_COUNTER)
			counter ^= 1ULL << (test_rng_next(r) % 64);
		op_set(&ops[i], c, c->bad_key, counter, src, in_place ? c->buf : c->out,
		       c->bad_tag);
		want += c->tamper == T_NONE;
	}
	open_check(ab, n, in_place, aead_burst_open(ab, ops, n), want);
}

static void diff_round(struct test_rng *r, unsigned int round)
{
	uint8_t pool[4][AEAD_KEY_SIZE];
	unsigned int n = rand_burst(r, round);
	bool first = true;

	test_rng_bytes(r, pool, sizeof(pool));
	for (unsigned int i = 0; i < n; i++)
		case_make(&cases[i], r, pool);
	for (enum aead_backend b = AEAD_BACKEND_AUTO; b < AEAD_BACKEND_COUNT; b++) {
		if (!have[b])
			continue;
		diff_seal(&ctx[b], n, false, first);
		diff_seal(&ctx[b], n, true, false);
		first = false;
		for (int in_place = 0; in_place < 2; in_place++) {
			diff_open(&ctx[b], n, in_place, false, r);
			diff_open(&ctx[b], n, in_place, true, r);
		}
	}
	for (unsigned int i = 0; i < n; i++)
		case_free(&cases[i]);
}

static void test_differential(uint64_t seed)
{
	struct test_rng r;

	printf("differential: %u rounds, seed 0x%" PRIx64 "\n", ROUNDS, seed);
	test_rng_seed(&r, seed);
	for (unsigned int round = 0; round < ROUNDS; round++)
		diff_round(&r, round);
}

/* An empty burst is a no-op, for every backend. */
static void test_empty_burst(void)
{
	for (enum aead_backend b = AEAD_BACKEND_AUTO; b < AEAD_BACKEND_COUNT; b++) {
		if (!have[b])
			continue;
		aead_burst_seal(&ctx[b], NULL, 0);
		CHECK(aead_burst_open(&ctx[b], NULL, 0) == 0, "%s: empty open", bname(b));
	}
}

/* ---- 3. backend choice ---- */

/* The documented preference, fastest first (lib/aead_burst.c). */
static enum aead_backend expected_auto(void)
{
	static const enum aead_backend order[] = { AEAD_BACKEND_SIMD_IFMA, AEAD_BACKEND_SIMD_AVX512,
		AEAD_BACKEND_SIMD_AVX2, AEAD_BACKEND_IPSECMB };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (aead_burst_backend_supported(order[i]))
			return order[i];
	return AEAD_BACKEND_SODIUM;
}

/* aead_burst_init(AUTO) with MESHGATE_AEAD = value (NULL: unset). */
static void env_case(const char *value, int want_ret, enum aead_backend want)
{
	struct aead_burst ab;
	int ret;

	if (value == NULL)
		unsetenv("MESHGATE_AEAD");
	else
		setenv("MESHGATE_AEAD", value, 1);
	ret = aead_burst_init(&ab, AEAD_BACKEND_AUTO);
	CHECK(ret == want_ret, "MESHGATE_AEAD=%s: init returned %d, want %d",
	      value ? value : "(unset)", ret, want_ret);
	if (ret == 0)
		CHECK(ab.backend == want && ab.impl != NULL && ab.impl->backend == want,
		      "MESHGATE_AEAD=%s: got %s, want %s", value ? value : "(unset)",
		      bname(ab.backend), bname(want));
	else
		CHECK(ab.impl == NULL, "failed init leaves no backend");
	aead_burst_fini(&ab);
	aead_burst_fini(&ab); /* harmless twice */
}

static void test_env(void)
{
	struct aead_burst ab;

	env_case(NULL, 0, expected_auto());
	env_case("", 0, expected_auto());
	env_case("auto", 0, expected_auto());
	for (enum aead_backend b = AEAD_BACKEND_SODIUM; b < AEAD_BACKEND_COUNT; b++)
		if (bname(b) != NULL) /* test_names reports a backend without a name */
			env_case(bname(b), aead_burst_backend_supported(b) ? 0 : -ENOTSUP, b);
	env_case("SoDiUm", 0, AEAD_BACKEND_SODIUM);
	env_case("bogus", -EINVAL, AEAD_BACKEND_AUTO);
	env_case("sodium ", -EINVAL, AEAD_BACKEND_AUTO);
	/* an explicit backend does not look at the environment */
	setenv("MESHGATE_AEAD", "bogus", 1);
	CHECK(aead_burst_init(&ab, AEAD_BACKEND_SODIUM) == 0 && ab.backend == AEAD_BACKEND_SODIUM,
	      "explicit sodium with a bad MESHGATE_AEAD");
	aead_burst_fini(&ab);
	unsetenv("MESHGATE_AEAD");
	CHECK(aead_burst_init(&ab, AEAD_BACKEND_COUNT) == -EINVAL, "out of range backend");
	CHECK(aead_burst_init(&ab, (enum aead_backend)99) == -EINVAL, "out of range backend");
}

static void test_names(void)
{
	for (enum aead_backend b = AEAD_BACKEND_AUTO; b < AEAD_BACKEND_COUNT; b++)
		CHECK(bname(b) != NULL && aead_burst_backend_from_name(bname(b)) == b,
		      "name round trip %d", b);
	CHECK(strcmp(bname(AEAD_BACKEND_SODIUM), "sodium") == 0, "sodium name");
	CHECK(strcmp(bname(AEAD_BACKEND_IPSECMB), "ipsecmb") == 0, "ipsecmb name");
	CHECK(bname(AEAD_BACKEND_COUNT) == NULL, "out of range name");
	CHECK(aead_burst_backend_from_name("nope") == AEAD_BACKEND_COUNT, "unknown name");
	CHECK(aead_burst_backend_from_name("") == AEAD_BACKEND_COUNT, "empty name");
	CHECK(aead_burst_backend_from_name(NULL) == AEAD_BACKEND_COUNT, "NULL name");
	CHECK(aead_burst_backend_supported(AEAD_BACKEND_AUTO), "auto always runs");
	CHECK(aead_burst_backend_supported(AEAD_BACKEND_SODIUM), "sodium always runs");
	CHECK(!aead_burst_backend_supported(AEAD_BACKEND_COUNT), "out of range unsupported");
	/* ipsec-mb only where the CPU has AVX2 or AVX-512 */
	if (aead_burst_backend_supported(AEAD_BACKEND_IPSECMB))
		CHECK(__builtin_cpu_supports("avx2") || __builtin_cpu_supports("avx512f"),
		      "ipsecmb without AVX2/AVX-512");
}

static void setup_backends(void)
{
	for (enum aead_backend b = AEAD_BACKEND_SODIUM; b < AEAD_BACKEND_COUNT; b++) {
		int ret = aead_burst_init(&ctx[b], b);

		have[b] = aead_burst_backend_supported(b);
		CHECK(ret == (have[b] ? 0 : -ENOTSUP), "%s: init returned %d", bname(b), ret);
		if (ret != 0) {
			have[b] = false;
			printf("backend %s: not supported here, skipped\n", bname(b));
			continue;
		}
		CHECK(ctx[b].backend == b, "%s: backend field", bname(b));
		printf("backend %s: tested\n", bname(b));
	}
}

int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x6d6573686761ULL;

	if (sodium_init() < 0)
		return 1;
	unsetenv("MESHGATE_AEAD"); /* the caller's choice must not change what is tested */
	setup_backends();
	test_names();
	test_env();
	test_empty_burst();
	test_known_answers();
	test_differential(seed);
	for (enum aead_backend b = AEAD_BACKEND_AUTO; b < AEAD_BACKEND_COUNT; b++)
		aead_burst_fini(&ctx[b]);
	return test_done("aead_burst");
}
