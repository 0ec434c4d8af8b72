/* SPDX-License-Identifier: MIT */
/*
 * Key text codecs: known encodings, random round trips, every way a base64 or hex key can be
 * malformed (including non-canonical base64, whose unused low bits are set), and keys made by the
 * real wg(8) decoding to the same bytes and the same public key as our X25519.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"
#include "keyenc.h"
#include "x25519.h"

#define ZERO_B64 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define ZERO_HEX "0000000000000000000000000000000000000000000000000000000000000000"
#define SEQ_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define SEQ_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define FF_B64 "//////////////////////////////////////////8="
#define WG_PATH "/usr/bin/wg"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64(uint8_t key[32], const char *text)
{
	return keyenc_from_base64(key, text, strlen(text));
}

static int hex(uint8_t key[32], const char *text)
{
	return keyenc_from_hex(key, text, strlen(text));
}

static void test_known(void)
{
	uint8_t key[32], seq[32], ff[32], zero[32] = { 0 };
	char out[KEYENC_HEX_LEN + 1];

	for (int i = 0; i < 32; i++)
		seq[i] = (uint8_t)i;
	memset(ff, 0xff, sizeof(ff));

	keyenc_to_base64(out, zero);
	CHECK(strcmp(out, ZERO_B64) == 0, "zero key base64: %s", out);
	keyenc_to_hex(out, zero);
	CHECK(strcmp(out, ZERO_HEX) == 0, "zero key hex: %s", out);
	keyenc_to_base64(out, seq);
	CHECK(strcmp(out, SEQ_B64) == 0, "0..31 base64: %s", out);
	keyenc_to_hex(out, seq);
	CHECK(strcmp(out, SEQ_HEX) == 0, "0..31 hex: %s", out);
	keyenc_to_base64(out, ff);
	CHECK(strcmp(out, FF_B64) == 0, "ff base64: %s", out);

	CHECK(b64(key, ZERO_B64) == 0 && sodium_is_zero(key, 32), "zero key from base64");
	CHECK(hex(key, ZERO_HEX) == 0 && sodium_is_zero(key, 32), "zero key from hex");
	CHECK(b64(key, SEQ_B64) == 0 && memcmp(key, seq, 32) == 0, "0..31 from base64");
	CHECK(hex(key, SEQ_HEX) == 0 && memcmp(key, seq, 32) == 0, "0..31 from hex");
	CHECK(b64(key, FF_B64) == 0 && memcmp(key, ff, 32) == 0, "ff from base64");
}

static void test_round_trip(void)
{
	char t64[KEYENC_B64_LEN + 1], thex[KEYENC_HEX_LEN + 1];
	uint8_t key[32], back[32];
	struct test_rng rng;
	int bad = 0;

	test_rng_seed(&rng, 0x6b6579656e63ULL);
	for (int i = 0; i < 2000; i++) {
		test_rng_bytes(&rng, key, sizeof(key));
		memset(t64, 'x', sizeof(t64));
		memset(thex, 'x', sizeof(thex));
		keyenc_to_base64(t64, key);
		keyenc_to_hex(thex, key);
		if (strlen(t64) != KEYENC_B64_LEN || strlen(thex) != KEYENC_HEX_LEN ||
		    b64(back, t64) != 0 || memcmp(back, key, 32) != 0 ||
		    hex(back, thex) != 0 || memcmp(back, key, 32) != 0)
			bad++;
	}
	CHECK(bad == 0, "%d of 2000 random keys failed to round trip (seed 0x6b6579656e63)", bad);
}

/* Rejections leave the output untouched (decoding goes through a scratch buffer). */
static void check_rejected(int (*decode)(uint8_t *, const char *, size_t), const char *text,
			   size_t len, const char *what)
{
	uint8_t key[32];
	uint8_t canary[32];

	memset(key, 0xa5, sizeof(key));
	memset(canary, 0xa5, sizeof(canary));
	CHECK(decode(key, text, len) == -EINVAL, "%s accepted", what);
	CHECK(memcmp(key, canary, 32) == 0, "%s: output written on rejection", what);
}

static void test_base64_rejections(void)
{
	static const struct {
		const char *text;
		const char *what;
	} bad[] = {
		{ "", "empty" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "43 chars, no '='" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "43 chars with '='" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", "45 chars" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "44 chars, no '=' (33 bytes)" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", "'==' (31 bytes)" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", "non-canonical: low bits set" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/=", "non-canonical '/'" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_=", "URL-safe alphabet '_'" },
		{ "-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "URL-safe alphabet '-'" },
		{ "AAAAAAAAAAAAAAAAAAAAA*AAAAAAAAAAAAAAAAAAAAA=", "'*'" },
		{ " AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "leading space" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "trailing newline" },
		{ "AAAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAA=", "inner space" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=A=", "'=' inside" },
		{ "=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "'=' first" },
		{ ZERO_HEX, "a hex key" },
	};
	static const char nul_inside[] = "AAAAAAAAAAAAAAAAAAAA\0AAAAAAAAAAAAAAAAAAAAAA=";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_rejected(keyenc_from_base64, bad[i].text, strlen(bad[i].text), bad[i].what);
	check_rejected(keyenc_from_base64, nul_inside, sizeof(nul_inside) - 1, "NUL inside");
	/* Every byte with the top bit set, at every position: libsodium 1.0.18 alone would decode each
	 * as '/' (found by tests/fuzz/fuzz_keyenc). */
	for (unsigned int c = 0x80; c <= 0xff; c++) {
		for (size_t pos = 0; pos < KEYENC_B64_LEN - 1; pos += 7) {
			char text[KEYENC_B64_LEN + 1] = ZERO_B64;

			text[pos] = (char)c;
			check_rejected(keyenc_from_base64, text, KEYENC_B64_LEN, "a byte >= 0x80");
		}
	}
}

/*
 * 32 bytes are 256 bits, 43 characters carry 258: the last character's low two bits are padding
 * and must be zero (RFC 4648 3.5 canonical encoding). libsodium's decoder rejects set padding
 * bits, as wg(8) does, so each key has exactly one accepted spelling. Try all 64 last characters.
 */
static void test_base64_canonical(void)
{
	char text[KEYENC_B64_LEN + 1] = ZERO_B64;
	int accepted = 0, wrong = 0;
	uint8_t key[32];

	for (int i = 0; i < 64; i++) {
		bool canonical = (i & 3) == 0;
		int ret;

		text[42] = b64_alphabet[i];
		ret = b64(key, text);
		accepted += ret == 0;
		if ((ret == 0) != canonical || (ret == 0 && key[31] != (uint8_t)(i >> 2)))
			wrong++;
	}
	CHECK(accepted == 16 && wrong == 0, "last character: %d accepted, %d wrong", accepted,
	      wrong);
}

/* Uppercase and mixed-case hex are accepted, as wg(8) and wireguard-go accept them. */
static void test_hex_codec(void)
{
	static const char upper[] =
		"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F";
	static const char mixed[] =
		"000102030405060708090a0B0c0D0e0F101112131415161718191A1b1C1d1E1f";
	static const struct {
		const char *text;
		const char *what;
	} bad[] = {
		{ "", "empty" },
		{ "000000000000000000000000000000000000000000000000000000000000000", "63 digits" },
		{ ZERO_HEX "0", "65 digits" },
		{ "000000000000000000000000000000000000000000000000000000000000000g", "'g'" },
		{ "0x00000000000000000000000000000000000000000000000000000000000000", "0x prefix" },
		{ " " ZERO_HEX, "leading space (65)" },
		{ " 000000000000000000000000000000000000000000000000000000000000000",
		  "leading space (64)" },
		{ "00000000000000000000000000000000:0000000000000000000000000000000", "':'" },
		{ ZERO_B64, "a base64 key" },
	};
	static const char nul_inside[] = "0000000000000000000000000000000\0"
					 "00000000000000000000000000000000";
	uint8_t key[32], seq[32];

	for (int i = 0; i < 32; i++)
		seq[i] = (uint8_t)i;
	CHECK(hex(key, upper) == 0 && memcmp(key, seq, 32) == 0, "uppercase hex");
	CHECK(hex(key, mixed) == 0 && memcmp(key, seq, 32) == 0, "mixed-case hex");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_rejected(keyenc_from_hex, bad[i].text, strlen(bad[i].text), bad[i].what);
	check_rejected(keyenc_from_hex, nul_inside, sizeof(nul_inside) - 1, "NUL inside");
}

/* One line of a command's output, newline stripped; false when it fails. */
static bool run_line(const char *cmd, char *out, size_t n)
{
	FILE *p = popen(cmd, "r");
	bool ok;

	if (!p)
		return false;
	ok = fgets(out, (int)n, p) != NULL;
	ok = pclose(p) == 0 && ok;
	out[strcspn(out, "\n")] = '\0';
	return ok;
}

/* wg genkey -> our decode and X25519 public key == wg pubkey's; and ours -> wg pubkey. */
static void test_real_wg(void)
{
	char priv64[128], pub64[128], ours64[KEYENC_B64_LEN + 1], cmd[256];
	uint8_t priv[32], pub[32], ours[32];

	if (access(WG_PATH, X_OK) != 0) {
		printf("SKIP: %s not found: real wg genkey/pubkey interop not tested\n", WG_PATH);
		return;
	}
	for (int i = 0; i < 4; i++) {
		CHECK(run_line(WG_PATH " genkey", priv64, sizeof(priv64)), "wg genkey failed");
		snprintf(cmd, sizeof(cmd), "echo '%s' | " WG_PATH " pubkey", priv64);
		CHECK(run_line(cmd, pub64, sizeof(pub64)), "wg pubkey failed");
		CHECK(b64(priv, priv64) == 0, "wg genkey output %s rejected", priv64);
		CHECK(b64(pub, pub64) == 0, "wg pubkey output %s rejected", pub64);
		CHECK(x25519_public(ours, priv) == 0 && memcmp(ours, pub, 32) == 0,
		      "public key of %s: wg says %s", priv64, pub64);
		keyenc_to_base64(ours64, priv);
		CHECK(strcmp(ours64, priv64) == 0, "re-encoding %s gave %s", priv64, ours64);
	}
	/* The other way: our key pair, wg's public key. */
	x25519_generate(priv, ours);
	keyenc_to_base64(ours64, priv);
	snprintf(cmd, sizeof(cmd), "echo '%s' | " WG_PATH " pubkey", ours64);
	CHECK(run_line(cmd, pub64, sizeof(pub64)) && b64(pub, pub64) == 0 &&
	      memcmp(pub, ours, 32) == 0, "wg pubkey of our key %s: %s", ours64, pub64);
	CHECK(run_line(WG_PATH " genpsk", priv64, sizeof(priv64)) && b64(priv, priv64) == 0,
	      "wg genpsk output %s rejected", priv64);
	sodium_memzero(priv, sizeof(priv));
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_known();
	test_round_trip();
	test_base64_rejections();
	test_base64_canonical();
	test_hex_codec();
	test_real_wg();
	return test_done("keyenc");
}
