/* SPDX-License-Identifier: MIT */
/*
 * BLAKE2s and HMAC-BLAKE2s: the BLAKE2 reference KATs (JSON and text), the Linux varlen
 * self-test table, incremental hashing in odd chunk sizes, and a differential run against
 * OpenSSL (BLAKE2S-256, BLAKE2SMAC, HMAC with BLAKE2S-256).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "blake2s.h"
#include "harness.h"

#define DIFF_SEED 0x626c616b65327332ULL
#define DIFF_ROUNDS 3000
#define DIFF_MAX_MSG 300
#define DIFF_MAX_HMAC_KEY 150

/* Decodes a hex member; a bad member fails a check and yields an empty buffer. */
static uint8_t *get_hex(const cJSON *obj, const char *name, size_t *len)
{
	uint8_t *buf;

	if (test_hex(test_str(obj, name), &buf, len) != 0) {
		CHECK(0, "bad hex in member %s", name);
		*len = 0;
	}
	return buf;
}

/* Hashes msg in update calls of varying odd sizes (and empty ones) picked by rng. */
static void hash_chunked(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen,
			 const uint8_t *msg, size_t len, struct test_rng *rng)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 5, 7, 13, 31, 63, 64, 65, 127, 129 };
	struct blake2s_state s;
	size_t off = 0;

	blake2s_init(&s, outlen, key, keylen);
	while (off < len) {
		size_t n = sizes[test_rng_next(rng) % (sizeof(sizes) / sizeof(sizes[0]))];

		if (n > len - off)
			n = len - off;
		blake2s_update(&s, msg + off, n);
		off += n;
	}
	blake2s_final(&s, out);
}

/* One KAT: one-shot, byte-at-a-time, and the state is wiped by final. */
static void check_kat(const uint8_t *key, size_t keylen, const uint8_t *in, size_t inlen,
		      const uint8_t *want, size_t outlen, const char *what, int idx)
{
	uint8_t out[BLAKE2S_HASH_SIZE];
	struct blake2s_state s;
	size_t i;

	blake2s(out, outlen, key, keylen, in, inlen);
	CHECK_MEM(out, want, outlen, "%s #%d one-shot", what, idx);
	memset(out, 0, sizeof(out));
	blake2s_init(&s, outlen, key, keylen);
	for (i = 0; i < inlen; i++)
		blake2s_update(&s, in + i, 1);
	blake2s_final(&s, out);
	CHECK_MEM(out, want, outlen, "%s #%d byte-wise", what, idx);
}

static void test_kat_json(void)
{
	cJSON *root = test_load_json_required("blake2/blake2s-kat.json");
	const cJSON *v;
	int n = 0, keyed = 0;

	cJSON_ArrayForEach(v, root) {
		size_t keylen, inlen, outlen;
		uint8_t *key = get_hex(v, "key", &keylen);
		uint8_t *in = get_hex(v, "in", &inlen);
		uint8_t *want = get_hex(v, "out", &outlen);

		CHECK(strcmp(test_str(v, "hash"), "blake2s") == 0 && outlen == BLAKE2S_HASH_SIZE &&
		      keylen <= BLAKE2S_KEY_SIZE, "kat json #%d shape", n);
		if (outlen == BLAKE2S_HASH_SIZE && keylen <= BLAKE2S_KEY_SIZE)
			check_kat(key, keylen, in, inlen, want, outlen, "kat json", n);
		keyed += keylen != 0;
		n++;
		free(key);
		free(in);
		free(want);
	}
	CHECK(n == 512 && keyed == 256, "kat json: %d entries, %d keyed", n, keyed);
	printf("blake2s-kat.json: %d entries (%d keyed, %d unkeyed)\n", n, keyed, n - keyed);
	cJSON_Delete(root);
}

/* The text KAT: blocks of "in:\t<hex>", "key:\t<hex>", "hash:\t<hex>" lines. */
static void test_kat_txt(void)
{
	const char *dir = getenv("MG_VECTORS");
	char path[4096], *line = NULL;
	char in_hex[1024] = "", key_hex[1024] = "";
	size_t cap = 0;
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/blake2/blake2s-kat.txt", dir ? dir : ".");
	f = fopen(path, "r");
	CHECK(f != NULL, "open %s", path);
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		char *tab = strchr(line, '\t');
		uint8_t *in, *key, *want;
		size_t inlen, keylen, outlen;
		int bad;

		line[strcspn(line, "\r\n")] = '\0';
		if (!tab)
			continue;
		*tab++ = '\0';
		if (strcmp(line, "in:") == 0) {
			snprintf(in_hex, sizeof(in_hex), "%s", tab);
			key_hex[0] = '\0';
			continue;
		}
		if (strcmp(line, "key:") == 0) {
			snprintf(key_hex, sizeof(key_hex), "%s", tab);
			continue;
		}
		if (strcmp(line, "hash:") != 0)
			continue;
		/* All three decoded unconditionally: each call allocates what is freed below. */
		bad = test_hex(in_hex, &in, &inlen) | test_hex(key_hex, &key, &keylen) |
		      test_hex(tab, &want, &outlen);
		CHECK(!bad && outlen == BLAKE2S_HASH_SIZE && keylen <= BLAKE2S_KEY_SIZE,
		      "kat txt #%d parse", n);
		if (outlen == BLAKE2S_HASH_SIZE && keylen <= BLAKE2S_KEY_SIZE)
			check_kat(key, keylen, in, inlen, want, outlen, "kat txt", n);
		free(in);
		free(key);
		free(want);
		n++;
	}
	free(line);
	fclose(f);
	CHECK(n == 256, "kat txt: %d entries", n);
	printf("blake2s-kat.txt: %d entries\n", n);
}

/* Linux's generator: key[0] = key[1] = 1, key[i] = key[i-2] + key[i-1]; buf[i] = i. */
static void linux_recipe(uint8_t key[BLAKE2S_KEY_SIZE], uint8_t buf[256])
{
	int i;

	key[0] = key[1] = 1;
	for (i = 2; i < BLAKE2S_KEY_SIZE; i++)
		key[i] = (uint8_t)(key[i - 2] + key[i - 1]);
	for (i = 0; i < 256; i++)
		buf[i] = (uint8_t)i;
}

/* Entry i of the Linux table: outlen 1 + i % 32, last (13 i) % 33 key bytes, buf[0..i). */
static void linux_entry(uint8_t *out, int i)
{
	uint8_t key[BLAKE2S_KEY_SIZE], buf[256];
	size_t keylen = (size_t)(13 * i) % 33;

	linux_recipe(key, buf);
	blake2s(out, 1 + (size_t)i % 32, key + BLAKE2S_KEY_SIZE - keylen, keylen, buf, (size_t)i);
}

static void test_linux_vectors(const cJSON *vectors)
{
	uint8_t key[BLAKE2S_KEY_SIZE], buf[256], out[BLAKE2S_HASH_SIZE];
	const cJSON *v;
	int n = 0;

	linux_recipe(key, buf);
	cJSON_ArrayForEach(v, vectors) {
		int i = cJSON_GetObjectItem(v, "i")->valueint;
		size_t keylen, outlen;
		uint8_t *vkey = get_hex(v, "key", &keylen);
		uint8_t *want = get_hex(v, "out", &outlen);

		CHECK(i == n && outlen == 1 + (size_t)i % 32 && keylen == (size_t)(13 * i) % 33 &&
		      memcmp(vkey, key + BLAKE2S_KEY_SIZE - keylen, keylen) == 0 &&
		      cJSON_GetObjectItem(v, "input_len")->valueint == i,
		      "varlen #%d follows recipe", n);
		if (outlen >= 1 && outlen <= BLAKE2S_HASH_SIZE && i >= 0 && i < 256) {
			blake2s(out, outlen, vkey, keylen, buf, (size_t)i);
			CHECK_MEM(out, want, outlen, "varlen #%d", i);
		}
		free(vkey);
		free(want);
		n++;
	}
	CHECK(n == 256, "varlen: %d entries", n);
}

/* The values transcribed from the upstream table, checked from the recipe alone. */
static void test_linux_upstream(const cJSON *origin)
{
	const cJSON *values = cJSON_GetObjectItem(origin, "upstream_transcribed_values");
	const cJSON *t = values ? values->child : NULL;
	uint8_t out[BLAKE2S_HASH_SIZE];
	int n = 0;

	for (; t; t = t->next, n++) {
		int i = atoi(t->string);
		uint8_t *want = NULL;
		size_t len = 0;

		CHECK(i >= 0 && i < 256 && test_hex(t->valuestring, &want, &len) == 0 &&
		      len == 1 + (size_t)i % 32, "upstream #%d shape", i);
		if (i >= 0 && i < 256 && len == 1 + (size_t)i % 32) {
			linux_entry(out, i);
			CHECK_MEM(out, want, len, "upstream #%d", i);
		}
		free(want);
	}
	CHECK(n == 27, "upstream: %d values", n);
}

static void test_linux_hmac(const cJSON *hmac, const cJSON *upstream)
{
	uint8_t out[BLAKE2S_HASH_SIZE], up[BLAKE2S_HASH_SIZE];
	const cJSON *h;
	int n = 0;

	cJSON_ArrayForEach(h, hmac) {
		size_t keylen, msglen, outlen;
		uint8_t *key = get_hex(h, "key", &keylen);
		uint8_t *msg = get_hex(h, "msg", &msglen);
		uint8_t *want = get_hex(h, "out", &outlen);
		const cJSON *u = cJSON_GetArrayItem(upstream, n);

		CHECK(outlen == BLAKE2S_HASH_SIZE, "hmac #%d shape", n);
		blake2s_hmac(out, key, keylen, msg, msglen);
		CHECK_MEM(out, want, BLAKE2S_HASH_SIZE < outlen ? BLAKE2S_HASH_SIZE : outlen,
			  "hmac #%d (keylen %zu)", n, keylen);
		CHECK(u && test_hex_fixed(u->valuestring, up, sizeof(up)) == 0 &&
		      memcmp(out, up, sizeof(up)) == 0, "hmac #%d upstream value", n);
		free(key);
		free(msg);
		free(want);
		n++;
	}
	CHECK(n == 2, "hmac: %d entries", n);
}

static void test_linux_varlen(void)
{
	cJSON *root = test_load_json_required("blake2/linux_blake2s_selftest_varlen.json");
	const cJSON *origin = cJSON_GetObjectItem(root, "_origin");

	test_linux_vectors(cJSON_GetObjectItem(root, "vectors"));
	test_linux_upstream(origin);
	test_linux_hmac(cJSON_GetObjectItem(root, "hmac"),
			cJSON_GetObjectItem(origin, "upstream_hmac"));
	cJSON_Delete(root);
}

static void test_incremental(struct test_rng *rng)
{
	uint8_t msg[1000], key[BLAKE2S_KEY_SIZE], a[BLAKE2S_HASH_SIZE], b[BLAKE2S_HASH_SIZE];
	int i;

	for (i = 0; i < 500; i++) {
		size_t len = test_rng_next(rng) % sizeof(msg);
		size_t outlen = 1 + test_rng_next(rng) % BLAKE2S_HASH_SIZE;
		size_t keylen = test_rng_next(rng) % (BLAKE2S_KEY_SIZE + 1);

		if (i < 200)
			len = (size_t)i; /* every length around the block boundaries */
		test_rng_bytes(rng, msg, len);
		test_rng_bytes(rng, key, keylen);
		blake2s(a, outlen, key, keylen, msg, len);
		hash_chunked(b, outlen, key, keylen, msg, len, rng);
		CHECK_MEM(a, b, outlen, "incremental len %zu outlen %zu keylen %zu", len, outlen,
			  keylen);
	}
}

/* HMAC output written over its own key and message buffers. */
static void test_hmac_alias(struct test_rng *rng)
{
	uint8_t key[BLAKE2S_HASH_SIZE], msg[BLAKE2S_HASH_SIZE], want[BLAKE2S_HASH_SIZE];

	test_rng_bytes(rng, key, sizeof(key));
	test_rng_bytes(rng, msg, sizeof(msg));
	blake2s_hmac(want, key, sizeof(key), msg, sizeof(msg));
	blake2s_hmac(key, key, sizeof(key), msg, sizeof(msg));
	CHECK_MEM(key, want, sizeof(want), "hmac out == key");
	test_rng_bytes(rng, key, sizeof(key));
	blake2s_hmac(want, key, sizeof(key), msg, sizeof(msg));
	blake2s_hmac(msg, key, sizeof(key), msg, sizeof(msg));
	CHECK_MEM(msg, want, sizeof(want), "hmac out == in");
}

struct ossl {
	EVP_MD *md;
	EVP_MAC *b2mac;
	EVP_MAC *hmac;
};

static int ossl_mac(EVP_MAC *mac, const OSSL_PARAM *params, const uint8_t *key, size_t keylen,
		    const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen)
{
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
	size_t got = 0;
	int ok;

	ok = ctx && EVP_MAC_init(ctx, key, keylen, params) && EVP_MAC_update(ctx, in, inlen) &&
	     EVP_MAC_final(ctx, out, &got, outlen) && got == outlen;
	EVP_MAC_CTX_free(ctx);
	return ok;
}

static void diff_hash(const struct ossl *o, const uint8_t *msg, size_t len)
{
	uint8_t a[BLAKE2S_HASH_SIZE], b[EVP_MAX_MD_SIZE];
	unsigned int blen = 0;

	blake2s(a, sizeof(a), NULL, 0, msg, len);
	CHECK(EVP_Digest(msg, len, b, &blen, o->md, NULL) == 1 && blen == sizeof(a) &&
	      memcmp(a, b, sizeof(a)) == 0, "BLAKE2S-256 len %zu", len);
}

static void diff_keyed(const struct ossl *o, struct test_rng *rng, const uint8_t *msg, size_t len)
{
	size_t outlen = 1 + test_rng_next(rng) % BLAKE2S_HASH_SIZE;
	size_t keylen = 1 + test_rng_next(rng) % BLAKE2S_KEY_SIZE;
	uint8_t key[BLAKE2S_KEY_SIZE], a[BLAKE2S_HASH_SIZE], b[BLAKE2S_HASH_SIZE];
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &outlen),
		OSSL_PARAM_construct_end(),
	};

	test_rng_bytes(rng, key, keylen);
	blake2s(a, outlen, key, keylen, msg, len);
	CHECK(ossl_mac(o->b2mac, params, key, keylen, msg, len, b, outlen) &&
	      memcmp(a, b, outlen) == 0, "BLAKE2SMAC len %zu outlen %zu keylen %zu", len, outlen,
	      keylen);
}

static void diff_hmac(const struct ossl *o, struct test_rng *rng, const uint8_t *msg, size_t len)
{
	size_t keylen = 1 + test_rng_next(rng) % DIFF_MAX_HMAC_KEY;
	uint8_t key[DIFF_MAX_HMAC_KEY], a[BLAKE2S_HASH_SIZE], b[BLAKE2S_HASH_SIZE];
	char digest[] = "BLAKE2S-256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};

	test_rng_bytes(rng, key, keylen);
	blake2s_hmac(a, key, keylen, msg, len);
	CHECK(ossl_mac(o->hmac, params, key, keylen, msg, len, b, sizeof(b)) &&
	      memcmp(a, b, sizeof(a)) == 0, "HMAC-BLAKE2S-256 len %zu keylen %zu", len, keylen);
}

static void test_openssl(void)
{
	struct ossl o = {
		.md = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL),
		.b2mac = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL),
		.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL),
	};
	uint8_t msg[DIFF_MAX_MSG];
	struct test_rng rng;
	int i;

	CHECK(o.md && o.b2mac && o.hmac, "OpenSSL has BLAKE2S-256, BLAKE2SMAC and HMAC");
	if (!o.md || !o.b2mac || !o.hmac)
		goto out;
	printf("OpenSSL differential: seed 0x%016llx, %d rounds\n", (unsigned long long)DIFF_SEED,
	       DIFF_ROUNDS);
	test_rng_seed(&rng, DIFF_SEED);
	for (i = 0; i < DIFF_ROUNDS; i++) {
		size_t len = test_rng_next(&rng) % (DIFF_MAX_MSG + 1);

		test_rng_bytes(&rng, msg, len);
		diff_hash(&o, msg, len);
		diff_keyed(&o, &rng, msg, len);
		diff_hmac(&o, &rng, msg, len);
	}
out:
	EVP_MD_free(o.md);
	EVP_MAC_free(o.b2mac);
	EVP_MAC_free(o.hmac);
}

int main(void)
{
	struct test_rng rng;
	uint64_t seed = 0x696e6372656d656eULL;

	printf("incremental/alias: seed 0x%016llx\n", (unsigned long long)seed);
	test_rng_seed(&rng, seed);
	test_kat_json();
	test_kat_txt();
	test_linux_varlen();
	test_incremental(&rng);
	test_hmac_alias(&rng);
	test_openssl();
	return test_done("blake2s");
}
