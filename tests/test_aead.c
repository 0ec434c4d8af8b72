/* SPDX-License-Identifier: MIT */
/*
 * ChaCha20-Poly1305 and XChaCha20-Poly1305: Wycheproof, the WireGuard (zinc) self-test tables,
 * RFC 8439 2.8.2, the WireGuard counter nonce, in-place use and rejection of tampering.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "harness.h"

#define POISON 0xa5

/* One AEAD under test: the IETF one with a 12-byte nonce, or XChaCha with 24 bytes. */
struct aead_alg {
	const char *name;
	size_t nonce_size;
	void (*seal)(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		     const uint8_t *nonce, const uint8_t *key);
	int (*open)(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		    const uint8_t *nonce, const uint8_t *key);
};

static const struct aead_alg ietf = { "chacha20poly1305", AEAD_NONCE_SIZE, aead_seal_ietf,
				      aead_open_ietf };
static const struct aead_alg xchacha = { "xchacha20poly1305", XAEAD_NONCE_SIZE, xaead_seal,
					 xaead_open };

/* A parsed test case; ct includes the tag. */
struct aead_case {
	uint8_t *key, *nonce, *ad, *pt, *ct;
	size_t keylen, noncelen, adlen, ptlen, ctlen;
};

static void case_free(struct aead_case *c)
{
	free(c->key);
	free(c->nonce);
	free(c->ad);
	free(c->pt);
	free(c->ct);
}

static int is_poisoned(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != POISON)
			return 0;
	return 1;
}

/* Encrypts, then decrypts both out of place and in place. */
static void check_good(const struct aead_alg *a, const struct aead_case *c, const char *what,
		       int id)
{
	uint8_t *buf = malloc(c->ctlen + 1);

	a->seal(buf, c->pt, c->ptlen, c->ad, c->adlen, c->nonce, c->key);
	CHECK_MEM(buf, c->ct, c->ctlen, "%s %d: seal", what, id);
	memset(buf, POISON, c->ctlen);
	CHECK(a->open(buf, c->ct, c->ctlen, c->ad, c->adlen, c->nonce, c->key) == 0 &&
	      memcmp(buf, c->pt, c->ptlen) == 0, "%s %d: open", what, id);
	memcpy(buf, c->ct, c->ctlen);
	CHECK(a->open(buf, buf, c->ctlen, c->ad, c->adlen, c->nonce, c->key) == 0 &&
	      memcmp(buf, c->pt, c->ptlen) == 0, "%s %d: open in place", what, id);
	memcpy(buf, c->pt, c->ptlen);
	a->seal(buf, buf, c->ptlen, c->ad, c->adlen, c->nonce, c->key);
	CHECK_MEM(buf, c->ct, c->ctlen, "%s %d: seal in place", what, id);
	free(buf);
}

/* Must fail with -EBADMSG, writing nothing, out of place and in place. */
static void check_bad(const struct aead_alg *a, const struct aead_case *c, const char *what,
		      int id)
{
	uint8_t *buf = malloc(c->ctlen + 1);
	int ret;

	memset(buf, POISON, c->ctlen + 1);
	ret = a->open(buf, c->ct, c->ctlen, c->ad, c->adlen, c->nonce, c->key);
	CHECK(ret == -EBADMSG && is_poisoned(buf, c->ctlen + 1), "%s %d: must fail, ret %d", what,
	      id, ret);
	memcpy(buf, c->ct, c->ctlen);
	ret = a->open(buf, buf, c->ctlen, c->ad, c->adlen, c->nonce, c->key);
	CHECK(ret == -EBADMSG && memcmp(buf, c->ct, c->ctlen) == 0,
	      "%s %d: must fail in place, input intact, ret %d", what, id, ret);
	free(buf);
}

/* Wycheproof keeps msg, ct and tag apart; ct gets the tag appended. */
static int wycheproof_case(const cJSON *t, struct aead_case *c)
{
	uint8_t *ct, *tag;
	size_t ctlen, taglen;
	int bad = test_hex(test_str(t, "key"), &c->key, &c->keylen) |
		  test_hex(test_str(t, "iv"), &c->nonce, &c->noncelen) |
		  test_hex(test_str(t, "aad"), &c->ad, &c->adlen) |
		  test_hex(test_str(t, "msg"), &c->pt, &c->ptlen) |
		  test_hex(test_str(t, "ct"), &ct, &ctlen) |
		  test_hex(test_str(t, "tag"), &tag, &taglen);

	c->ctlen = ctlen + taglen;
	c->ct = malloc(c->ctlen + 1);
	memcpy(c->ct, ct, ctlen);
	memcpy(c->ct + ctlen, tag, taglen);
	free(ct);
	free(tag);
	return bad || c->keylen != AEAD_KEY_SIZE || taglen != AEAD_TAG_SIZE || ctlen != c->ptlen;
}

struct wp_counts {
	int valid, invalid, skipped, total;
};

static void wycheproof_one(const struct aead_alg *a, const cJSON *t, int ivbits,
			   struct wp_counts *n)
{
	int id = cJSON_GetObjectItem(t, "tcId")->valueint;
	const char *result = test_str(t, "result");
	struct aead_case c = { 0 };

	n->total++;
	if ((size_t)ivbits != 8 * a->nonce_size) {
		/* The API's nonce is a fixed-size array: such a test cannot be expressed. */
		CHECK(strcmp(result, "invalid") == 0, "tc %d: %d-bit nonce but %s", id, ivbits,
		      result);
		n->skipped++;
		return;
	}
	CHECK(wycheproof_case(t, &c) == 0, "%s tc %d parse", a->name, id);
	if (strcmp(result, "valid") == 0) {
		check_good(a, &c, a->name, id);
		n->valid++;
	} else {
		CHECK(strcmp(result, "invalid") == 0, "tc %d: result %s", id, result);
		check_bad(a, &c, a->name, id);
		n->invalid++;
	}
	case_free(&c);
}

static void test_wycheproof(const struct aead_alg *a, const char *file)
{
	cJSON *root = test_load_json_required(file);
	struct wp_counts n = { 0 };
	const cJSON *g, *t;

	cJSON_ArrayForEach(g, cJSON_GetObjectItem(root, "testGroups")) {
		int ivbits = cJSON_GetObjectItem(g, "ivSize")->valueint;

		cJSON_ArrayForEach(t, cJSON_GetObjectItem(g, "tests"))
			wycheproof_one(a, t, ivbits, &n);
	}
	CHECK(n.total == cJSON_GetObjectItem(root, "numberOfTests")->valueint, "%s: %d tests",
	      file, n.total);
	printf("%s: %d tests: %d valid passed, %d invalid rejected, %d skipped (nonce size not %zu "
	       "bits: not expressible with the fixed-size nonce API; all are 'invalid')\n",
	       file, n.total, n.valid, n.invalid, n.skipped, 8 * a->nonce_size);
	cJSON_Delete(root);
}

static int zinc_case(const cJSON *v, const char *in_name, const char *out_name,
		     struct aead_case *c)
{
	return test_hex(test_str(v, "key"), &c->key, &c->keylen) |
	       test_hex(test_str(v, "nonce"), &c->nonce, &c->noncelen) |
	       test_hex(test_str(v, "assoc"), &c->ad, &c->adlen) |
	       test_hex(test_str(v, in_name), &c->pt, &c->ptlen) |
	       test_hex(test_str(v, out_name), &c->ct, &c->ctlen) | (c->keylen != AEAD_KEY_SIZE);
}

/* An 8-byte zinc nonce is the little-endian counter of WireGuard's nonce. */
static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* zinc 8-byte nonce vectors through aead_seal/aead_open (the counter API). */
static void check_zinc_counter(const struct aead_case *c, int dec, int failure, int id)
{
	uint64_t ctr = le64(c->nonce);
	uint8_t *buf = malloc(c->ctlen + 1);

	if (!dec) {
		aead_seal(buf, c->pt, c->ptlen, c->ad, c->adlen, ctr, c->key);
		CHECK_MEM(buf, c->ct, c->ctlen, "zinc enc %d: counter API", id);
	} else if (failure) {
		memset(buf, POISON, c->ctlen + 1);
		CHECK(aead_open(buf, c->ct, c->ctlen, c->ad, c->adlen, ctr, c->key) == -EBADMSG &&
		      is_poisoned(buf, c->ctlen + 1), "zinc dec %d: counter API must fail", id);
	} else {
		CHECK(aead_open(buf, c->ct, c->ctlen, c->ad, c->adlen, ctr, c->key) == 0 &&
		      memcmp(buf, c->pt, c->ptlen) == 0, "zinc dec %d: counter API", id);
	}
	free(buf);
}

/* The zinc nonce as the 12-byte IETF nonce: 8-byte nonces get 4 zero bytes in front. */
static int zinc_ietf_nonce(struct aead_case *c)
{
	if (c->noncelen == 8) {
		uint8_t *n = calloc(1, AEAD_NONCE_SIZE);

		memcpy(n + 4, c->nonce, 8);
		free(c->nonce);
		c->nonce = n;
		c->noncelen = AEAD_NONCE_SIZE;
	}
	return c->noncelen == AEAD_NONCE_SIZE;
}

/* enc lists map input -> output (ciphertext||tag), dec lists the other way round. */
static int test_zinc_list(const cJSON *list, const struct aead_alg *a, int dec, const char *what,
			  int *must_fail)
{
	const cJSON *v;
	int n = 0, counter_api = 0;

	cJSON_ArrayForEach(v, list) {
		struct aead_case c = { 0 };
		int failure = cJSON_IsTrue(cJSON_GetObjectItem(v, "failure"));

		CHECK(zinc_case(v, dec ? "output" : "input", dec ? "input" : "output", &c) == 0 &&
		      (failure || c.ctlen == c.ptlen + AEAD_TAG_SIZE), "%s %d parse", what, n);
		CHECK(dec || !failure, "%s %d: failure flag on an encryption vector", what, n);
		if (a == &ietf && c.noncelen == 8) {
			check_zinc_counter(&c, dec, failure, n);
			counter_api++;
		}
		if (a == &ietf)
			CHECK(zinc_ietf_nonce(&c), "%s %d: nonce size %zu", what, n, c.noncelen);
		if (failure) {
			check_bad(a, &c, what, n);
			(*must_fail)++;
		} else if (c.noncelen == a->nonce_size && c.ctlen == c.ptlen + AEAD_TAG_SIZE) {
			check_good(a, &c, what, n);
		}
		case_free(&c);
		n++;
	}
	printf("zinc %s: %d vectors (%d also via the counter API), %d must-fail rejected\n", what,
	       n, counter_api, *must_fail);
	return n;
}

static void test_zinc(void)
{
	const char *file = "linux_selftests/zinc_chacha20poly1305_selftest.json";
	cJSON *root = test_load_json_required(file);
	int fail = 0, xfail = 0, none = 0, enc, dec, xenc, xdec;

	enc = test_zinc_list(cJSON_GetObjectItem(root, "chacha20poly1305_enc_vectors"), &ietf, 0,
			     "enc", &none);
	dec = test_zinc_list(cJSON_GetObjectItem(root, "chacha20poly1305_dec_vectors"), &ietf, 1,
			     "dec", &fail);
	xenc = test_zinc_list(cJSON_GetObjectItem(root, "xchacha20poly1305_enc_vectors"), &xchacha,
			      0, "xenc", &none);
	xdec = test_zinc_list(cJSON_GetObjectItem(root, "xchacha20poly1305_dec_vectors"), &xchacha,
			      1, "xdec", &xfail);
	CHECK(enc == 118 && dec == 13 && fail == 1 && xenc == 1 && xdec == 1 && xfail == 0 &&
	      none == 0, "zinc counts: enc %d dec %d (must-fail %d) xenc %d xdec %d", enc, dec,
	      fail, xenc, xdec);
	cJSON_Delete(root);
}

static void test_rfc8439(void)
{
	static const char pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you "
				 "only one tip for the future, sunscreen would be it.";
	struct aead_case c = { 0 };
	uint8_t *tag;
	size_t taglen;

	test_hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", &c.key,
		 &c.keylen);
	test_hex("070000004041424344454647", &c.nonce, &c.noncelen);
	test_hex("50515253c0c1c2c3c4c5c6c7", &c.ad, &c.adlen);
	test_hex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
		 "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
		 "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
		 "3ff4def08e4b7a9de576d26586cec64b6116" "1ae10b594f09e26a7e902ecbd0600691",
		 &c.ct, &c.ctlen);
	c.ptlen = sizeof(pt) - 1;
	c.pt = malloc(c.ptlen);
	memcpy(c.pt, pt, c.ptlen);
	CHECK(c.ptlen == 114 && c.ctlen == 130, "RFC 8439 2.8.2 sizes");
	check_good(&ietf, &c, "RFC 8439 2.8.2", 0);
	test_hex("1ae10b594f09e26a7e902ecbd0600691", &tag, &taglen);
	CHECK(memcmp(c.ct + c.ptlen, tag, taglen) == 0, "RFC 8439 tag placement");
	free(tag);
	case_free(&c);
}

static void wg_nonce(uint8_t nonce[AEAD_NONCE_SIZE], uint64_t ctr)
{
	memset(nonce, 0, AEAD_NONCE_SIZE);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(ctr >> (8 * i));
}

/* aead_seal(counter) is aead_seal_ietf(0^32 || le64(counter)). */
static void test_counter_nonce(struct test_rng *rng)
{
	static const uint64_t fixed[] = { 0, 1, 255, 256, 0xffffffffULL, 0x100000000ULL,
					  UINT64_MAX - 1, UINT64_MAX };
	uint8_t key[32], nonce[12], ad[32], pt[200], a[216], b[216], back[200];
	int i;

	for (i = 0; i < 200; i++) {
		uint64_t ctr = i < 8 ? fixed[i] : test_rng_next(rng);
		size_t len = test_rng_next(rng) % sizeof(pt);
		size_t adlen = test_rng_next(rng) % sizeof(ad);

		test_rng_bytes(rng, key, sizeof(key));
		test_rng_bytes(rng, ad, adlen);
		test_rng_bytes(rng, pt, len);
		wg_nonce(nonce, ctr);
		aead_seal(a, pt, len, ad, adlen, ctr, key);
		aead_seal_ietf(b, pt, len, ad, adlen, nonce, key);
		CHECK_MEM(a, b, len + AEAD_TAG_SIZE, "counter %llu", (unsigned long long)ctr);
		CHECK(aead_open(back, a, len + AEAD_TAG_SIZE, ad, adlen, ctr, key) == 0 &&
		      memcmp(back, pt, len) == 0, "open counter %llu", (unsigned long long)ctr);
		CHECK(aead_open(back, a, len + AEAD_TAG_SIZE, ad, adlen, ctr ^ 1, key) == -EBADMSG,
		      "wrong counter %llu", (unsigned long long)ctr);
	}
}

/* Flips each bit of the tag and some ciphertext and AD bits; every one must be rejected. */
static void check_tamper(const struct aead_alg *a, struct test_rng *rng)
{
	uint8_t key[32], nonce[24], ad[20], pt[100], ct[116], buf[117];
	size_t i;
	int rejected = 1, intact = 1;

	test_rng_bytes(rng, key, sizeof(key));
	test_rng_bytes(rng, nonce, sizeof(nonce));
	test_rng_bytes(rng, ad, sizeof(ad));
	test_rng_bytes(rng, pt, sizeof(pt));
	a->seal(ct, pt, sizeof(pt), ad, sizeof(ad), nonce, key);
	for (i = 0; i < 8 * sizeof(ct); i++) {
		ct[i / 8] ^= (uint8_t)(1 << (i % 8));
		memset(buf, POISON, sizeof(buf));
		rejected &= a->open(buf, ct, sizeof(ct), ad, sizeof(ad), nonce, key) == -EBADMSG;
		intact &= is_poisoned(buf, sizeof(buf));
		ct[i / 8] ^= (uint8_t)(1 << (i % 8));
	}
	CHECK(rejected && intact, "%s: every ciphertext/tag bit flip rejected, dst untouched",
	      a->name);
	rejected = 1;
	for (i = 0; i < 8 * sizeof(ad); i++) {
		ad[i / 8] ^= (uint8_t)(1 << (i % 8));
		rejected &= a->open(buf, ct, sizeof(ct), ad, sizeof(ad), nonce, key) == -EBADMSG;
		ad[i / 8] ^= (uint8_t)(1 << (i % 8));
	}
	CHECK(rejected, "%s: every AD bit flip rejected", a->name);
	CHECK(a->open(buf, ct, sizeof(ct), ad, sizeof(ad) - 1, nonce, key) == -EBADMSG,
	      "%s: truncated AD", a->name);
	CHECK(a->open(buf, ct, sizeof(ct) - 1, ad, sizeof(ad), nonce, key) == -EBADMSG,
	      "%s: truncated ciphertext", a->name);
	nonce[0] ^= 1;
	CHECK(a->open(buf, ct, sizeof(ct), ad, sizeof(ad), nonce, key) == -EBADMSG, "%s: nonce",
	      a->name);
	nonce[0] ^= 1;
	key[31] ^= 0x80;
	CHECK(a->open(buf, ct, sizeof(ct), ad, sizeof(ad), nonce, key) == -EBADMSG, "%s: key",
	      a->name);
	key[31] ^= 0x80;
	/* In place: a tampered message leaves the buffer as it was. */
	memcpy(buf, ct, sizeof(ct));
	buf[3] ^= 4;
	CHECK(a->open(buf, buf, sizeof(ct), ad, sizeof(ad), nonce, key) == -EBADMSG &&
	      buf[3] == (ct[3] ^ 4) && memcmp(buf + 4, ct + 4, sizeof(ct) - 4) == 0,
	      "%s: tampered in place, buffer intact", a->name);
	CHECK(a->open(buf, ct, sizeof(ct), ad, sizeof(ad), nonce, key) == 0 &&
	      memcmp(buf, pt, sizeof(pt)) == 0, "%s: untampered still opens", a->name);
}

static void test_short_and_empty(void)
{
	uint8_t key[32] = { 1 }, nonce[24] = { 2 }, buf[32], ct[16];
	size_t len;

	for (len = 0; len < AEAD_TAG_SIZE; len++) {
		memset(buf, POISON, sizeof(buf));
		CHECK(aead_open(buf, buf, len, NULL, 0, 7, key) == -EINVAL &&
		      aead_open_ietf(buf, buf, len, NULL, 0, nonce, key) == -EINVAL &&
		      xaead_open(buf, buf, len, NULL, 0, nonce, key) == -EINVAL &&
		      is_poisoned(buf, sizeof(buf)), "len %zu < 16: -EINVAL", len);
	}
	/* An empty payload is just a tag: WireGuard's keepalive. */
	aead_seal(ct, NULL, 0, NULL, 0, 9, key);
	CHECK(aead_open(buf, ct, sizeof(ct), NULL, 0, 9, key) == 0, "empty payload opens");
	CHECK(aead_open(buf, ct, sizeof(ct), NULL, 0, 10, key) == -EBADMSG, "empty, other counter");
	xaead_seal(ct, NULL, 0, NULL, 0, nonce, key);
	CHECK(xaead_open(buf, ct, sizeof(ct), NULL, 0, nonce, key) == 0, "x: empty payload opens");
}

int main(void)
{
	struct test_rng rng;
	uint64_t seed = 0x6165616474657374ULL;

	printf("random cases: seed 0x%016llx\n", (unsigned long long)seed);
	test_rng_seed(&rng, seed);
	test_wycheproof(&ietf, "wycheproof/chacha20_poly1305_test.json");
	test_wycheproof(&xchacha, "wycheproof/xchacha20_poly1305_test.json");
	test_zinc();
	test_rfc8439();
	test_counter_nonce(&rng);
	check_tamper(&ietf, &rng);
	check_tamper(&xchacha, &rng);
	test_short_and_empty();
	return test_done("aead");
}
