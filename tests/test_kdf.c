/* SPDX-License-Identifier: MIT */
/* KDF1/KDF2/KDF3 against wireguard-go's vectors, including outputs aliasing the chaining key. */
#include <stdlib.h>
#include <string.h>

#include "blake2s.h"
#include "harness.h"
#include "kdf.h"

struct kdf_vector {
	uint8_t *key, *in;
	size_t keylen, inlen;
	uint8_t t[3][KDF_OUT_SIZE];
};

static int load_vector(const cJSON *v, struct kdf_vector *kv)
{
	int bad = test_hex(test_str(v, "key"), &kv->key, &kv->keylen) |
		  test_hex(test_str(v, "input"), &kv->in, &kv->inlen);

	bad |= test_hex_fixed(test_str(v, "t0"), kv->t[0], KDF_OUT_SIZE);
	bad |= test_hex_fixed(test_str(v, "t1"), kv->t[1], KDF_OUT_SIZE);
	bad |= test_hex_fixed(test_str(v, "t2"), kv->t[2], KDF_OUT_SIZE);
	return bad;
}

static void check_kdf_n(const struct kdf_vector *kv, int idx)
{
	uint8_t t[3][KDF_OUT_SIZE];

	memset(t, 0xaa, sizeof(t));
	kdf_derive(t[0], NULL, NULL, kv->key, kv->keylen, kv->in, kv->inlen);
	CHECK_MEM(t[0], kv->t[0], KDF_OUT_SIZE, "#%d KDF1", idx);
	memset(t, 0xaa, sizeof(t));
	kdf_derive(t[0], t[1], NULL, kv->key, kv->keylen, kv->in, kv->inlen);
	CHECK(memcmp(t[0], kv->t[0], KDF_OUT_SIZE) == 0 &&
	      memcmp(t[1], kv->t[1], KDF_OUT_SIZE) == 0, "#%d KDF2", idx);
	memset(t, 0xaa, sizeof(t));
	kdf_derive(t[0], t[1], t[2], kv->key, kv->keylen, kv->in, kv->inlen);
	CHECK(memcmp(t, kv->t, sizeof(t)) == 0, "#%d KDF3", idx);
}

/* The handshake derives the next chaining key into the buffer holding the current one. */
static void check_aliasing(const struct kdf_vector *kv, int idx)
{
	uint8_t ck[KDF_OUT_SIZE], t2[KDF_OUT_SIZE], t3[KDF_OUT_SIZE], in[64];

	if (kv->keylen > sizeof(ck) || kv->inlen > sizeof(in)) {
		CHECK(0, "#%d: vector too long for the aliasing buffers", idx);
		return;
	}
	memcpy(ck, kv->key, kv->keylen);
	kdf_derive(ck, t2, t3, ck, kv->keylen, kv->in, kv->inlen);
	CHECK(memcmp(ck, kv->t[0], KDF_OUT_SIZE) == 0 && memcmp(t2, kv->t[1], KDF_OUT_SIZE) == 0 &&
	      memcmp(t3, kv->t[2], KDF_OUT_SIZE) == 0, "#%d ck == t1", idx);
	memcpy(ck, kv->key, kv->keylen);
	kdf_derive(ck, NULL, NULL, ck, kv->keylen, kv->in, kv->inlen);
	CHECK_MEM(ck, kv->t[0], KDF_OUT_SIZE, "#%d KDF1 ck == t1", idx);
	memcpy(t2, kv->key, kv->keylen);
	kdf_derive(ck, t2, NULL, t2, kv->keylen, kv->in, kv->inlen);
	CHECK(memcmp(ck, kv->t[0], KDF_OUT_SIZE) == 0 && memcmp(t2, kv->t[1], KDF_OUT_SIZE) == 0,
	      "#%d ck == t2", idx);
	memcpy(in, kv->in, kv->inlen);
	kdf_derive(in, t2, NULL, kv->key, kv->keylen, in, kv->inlen);
	CHECK(memcmp(in, kv->t[0], KDF_OUT_SIZE) == 0 && memcmp(t2, kv->t[1], KDF_OUT_SIZE) == 0,
	      "#%d in == t1", idx);
}

/* The definition in kdf.h spelled out with blake2s_hmac, over a longer chaining key. */
static void check_definition(void)
{
	uint8_t ck[100], in[77], prk[32], block[33], want[3][32], got[3][32];
	int i;

	for (i = 0; i < (int)sizeof(ck); i++)
		ck[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < (int)sizeof(in); i++)
		in[i] = (uint8_t)(255 - i);
	blake2s_hmac(prk, ck, sizeof(ck), in, sizeof(in));
	block[0] = 1;
	blake2s_hmac(want[0], prk, sizeof(prk), block, 1);
	for (i = 1; i < 3; i++) {
		memcpy(block, want[i - 1], 32);
		block[32] = (uint8_t)(i + 1);
		blake2s_hmac(want[i], prk, sizeof(prk), block, sizeof(block));
	}
	kdf_derive(got[0], got[1], got[2], ck, sizeof(ck), in, sizeof(in));
	CHECK(memcmp(got, want, sizeof(want)) == 0, "KDF3 with a 100-byte chaining key");
}

int main(void)
{
	cJSON *root = test_load_json_required("wireguard/wireguard_go_kdf_vectors.json");
	const cJSON *v;
	int n = 0;

	cJSON_ArrayForEach(v, cJSON_GetObjectItem(root, "tests")) {
		struct kdf_vector kv = { 0 };

		CHECK(load_vector(v, &kv) == 0, "#%d parse", n);
		check_kdf_n(&kv, n);
		check_aliasing(&kv, n);
		free(kv.key);
		free(kv.in);
		n++;
	}
	CHECK(n == 3, "%d wireguard-go vectors", n);
	printf("wireguard_go_kdf_vectors.json: %d vectors\n", n);
	check_definition();
	cJSON_Delete(root);
	return test_done("kdf");
}
