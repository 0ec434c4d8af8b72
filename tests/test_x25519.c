/* SPDX-License-Identifier: MIT */
/*
 * X25519: every Wycheproof XDH test, the WireGuard (zinc) self-test table including its must-fail
 * low-order entries, key generation and DH commutativity.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "x25519.h"

static const uint8_t zero[X25519_KEY_SIZE];

struct wp_counts {
	int valid, acceptable, zero_rejected, invalid_rejected, bad_size;
};

static int has_flag(const cJSON *t, const char *flag)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, cJSON_GetObjectItem(t, "flags"))
		if (cJSON_IsString(f) && strcmp(f->valuestring, flag) == 0)
			return 1;
	return 0;
}

/*
 * valid/acceptable: our result must match, except that an all-zero shared secret (flag
 * ZeroSharedSecret) must be refused with -EINVAL and a zeroed output. invalid: refused.
 */
static void wycheproof_one(const cJSON *t, struct wp_counts *c)
{
	uint8_t priv[32], pub[32], want[32], out[32];
	int id = cJSON_GetObjectItem(t, "tcId")->valueint;
	const char *result = test_str(t, "result");
	int zero_secret, ret;

	if (test_hex_fixed(test_str(t, "private"), priv, 32) ||
	    test_hex_fixed(test_str(t, "public"), pub, 32) ||
	    test_hex_fixed(test_str(t, "shared"), want, 32)) {
		/* The API takes 32-byte keys only: such a test must be an invalid one. */
		CHECK(strcmp(result, "invalid") == 0, "tc %d: wrong-size key in a %s test", id,
		      result);
		c->bad_size++;
		return;
	}
	zero_secret = sodium_is_zero(want, 32);
	CHECK(zero_secret == has_flag(t, "ZeroSharedSecret"), "tc %d: flag matches shared", id);
	memset(out, 0xaa, sizeof(out));
	ret = x25519_shared(out, priv, pub);
	if (strcmp(result, "invalid") == 0) {
		CHECK(ret == -EINVAL, "tc %d: invalid accepted", id);
		c->invalid_rejected++;
	} else if (zero_secret) {
		CHECK(ret == -EINVAL && sodium_is_zero(out, 32), "tc %d: zero secret, ret %d", id,
		      ret);
		c->zero_rejected++;
	} else {
		CHECK(ret == 0 && memcmp(out, want, 32) == 0, "tc %d (%s): ret %d", id, result,
		      ret);
		if (strcmp(result, "valid") == 0)
			c->valid++;
		else
			c->acceptable++;
		CHECK(strcmp(result, "valid") == 0 || strcmp(result, "acceptable") == 0,
		      "tc %d: unknown result %s", id, result);
	}
}

static void test_wycheproof(void)
{
	cJSON *root = test_load_json_required("wycheproof/x25519_test.json");
	struct wp_counts c = { 0 };
	const cJSON *g, *t;
	int n = 0;

	cJSON_ArrayForEach(g, cJSON_GetObjectItem(root, "testGroups")) {
		CHECK(strcmp(test_str(g, "curve"), "curve25519") == 0, "group curve %s",
		      test_str(g, "curve"));
		cJSON_ArrayForEach(t, cJSON_GetObjectItem(g, "tests")) {
			wycheproof_one(t, &c);
			n++;
		}
	}
	CHECK(n == cJSON_GetObjectItem(root, "numberOfTests")->valueint, "ran %d tests", n);
	printf("wycheproof x25519: %d tests: %d valid matched, %d acceptable matched, "
	       "%d all-zero secrets rejected (-EINVAL), %d invalid rejected, %d wrong-size\n",
	       n, c.valid, c.acceptable, c.zero_rejected, c.invalid_rejected, c.bad_size);
	cJSON_Delete(root);
}

static void test_zinc(void)
{
	cJSON *root = test_load_json_required("linux_selftests/zinc_curve25519_selftest.json");
	const cJSON *v;
	int n = 0, must_fail = 0;

	cJSON_ArrayForEach(v, cJSON_GetObjectItem(root, "vectors")) {
		uint8_t priv[32], pub[32], want[32], out[32];
		int valid = cJSON_IsTrue(cJSON_GetObjectItem(v, "valid"));
		int ret;

		CHECK(test_hex_fixed(test_str(v, "private"), priv, 32) == 0 &&
		      test_hex_fixed(test_str(v, "public"), pub, 32) == 0 &&
		      test_hex_fixed(test_str(v, "result"), want, 32) == 0, "zinc #%d parse", n);
		memset(out, 0xaa, sizeof(out));
		ret = x25519_shared(out, priv, pub);
		if (valid) {
			CHECK(ret == 0 && memcmp(out, want, 32) == 0, "zinc #%d: ret %d", n, ret);
		} else {
			CHECK(ret == -EINVAL && sodium_is_zero(out, 32), "zinc #%d must fail", n);
			must_fail++;
		}
		n++;
	}
	CHECK(n == 81 && must_fail == 16, "zinc: %d vectors, %d must-fail", n, must_fail);
	printf("zinc curve25519: %d vectors, %d must-fail rejected\n", n, must_fail);
	cJSON_Delete(root);
}

static int is_clamped(const uint8_t k[32])
{
	return (k[0] & 7) == 0 && (k[31] & 0xc0) == 0x40;
}

static void test_clamp(void)
{
	uint8_t k[32], ones[32];

	memset(k, 0xff, sizeof(k));
	x25519_clamp(k);
	memset(ones, 0xff, sizeof(ones));
	ones[0] = 0xf8;
	ones[31] = 0x7f;
	CHECK(memcmp(k, ones, 32) == 0, "clamp all-ones");
	memset(k, 0, sizeof(k));
	x25519_clamp(k);
	CHECK(k[31] == 0x40 && sodium_is_zero(k, 31), "clamp zero");
}

/* RFC 7748 6.1: Alice's and Bob's keys and their shared secret. */
static const char *const rfc7748_hex[5] = {
	"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", /* Alice private */
	"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", /* Alice public */
	"5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", /* Bob private */
	"de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", /* Bob public */
	"4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", /* shared */
};

static void test_rfc7748(void)
{
	uint8_t v[5][32], a_pub[32], b_pub[32], k[32];
	int i;

	for (i = 0; i < 5; i++)
		CHECK(test_hex_fixed(rfc7748_hex[i], v[i], 32) == 0, "RFC 7748 hex %d", i);
	CHECK(x25519_public(a_pub, v[0]) == 0 && memcmp(a_pub, v[1], 32) == 0, "RFC 7748 A pub");
	CHECK(x25519_public(b_pub, v[2]) == 0 && memcmp(b_pub, v[3], 32) == 0, "RFC 7748 B pub");
	CHECK(x25519_shared(k, v[0], b_pub) == 0 && memcmp(k, v[4], 32) == 0, "RFC 7748 A DH");
	CHECK(x25519_shared(k, v[2], a_pub) == 0 && memcmp(k, v[4], 32) == 0, "RFC 7748 B DH");
}

static void test_generate_and_dh(void)
{
	uint8_t a[32], a_pub[32], b[32], b_pub[32], p[32], ab[32], ba[32], unclamped[32];
	int i;

	for (i = 0; i < 200; i++) {
		x25519_generate(a, a_pub);
		x25519_generate(b, b_pub);
		CHECK(is_clamped(a) && is_clamped(b), "#%d generated keys clamped", i);
		CHECK(x25519_public(p, a) == 0 && memcmp(p, a_pub, 32) == 0, "#%d public(a)", i);
		CHECK(x25519_shared(ab, a, b_pub) == 0 && x25519_shared(ba, b, a_pub) == 0 &&
		      memcmp(ab, ba, 32) == 0 && !sodium_is_zero(ab, 32), "#%d DH commutes", i);
		CHECK(memcmp(a, b, 32) != 0 && memcmp(a_pub, b_pub, 32) != 0, "#%d keys differ", i);
		/* The scalar multiplication clamps by itself: the unclamped bits do not matter. */
		memcpy(unclamped, a, 32);
		unclamped[0] |= 7;
		unclamped[31] ^= 0x80;
		CHECK(x25519_public(p, unclamped) == 0 && memcmp(p, a_pub, 32) == 0,
		      "#%d public ignores clamped bits", i);
	}
	memset(p, 0xaa, sizeof(p));
	CHECK(x25519_public(p, zero) == -EINVAL && sodium_is_zero(p, 32), "all-zero private key");
	x25519_generate(a, a_pub);
	memset(ab, 0xaa, sizeof(ab));
	CHECK(x25519_shared(ab, a, zero) == -EINVAL && sodium_is_zero(ab, 32), "zero public key");
}

int main(void)
{
	test_wycheproof();
	test_zinc();
	test_clamp();
	test_rfc7748();
	test_generate_and_dh();
	return test_done("x25519");
}
