/* SPDX-License-Identifier: MIT */
/*
 * Key text decoding (lib/keyenc.c) against naive reference decoders: base64 as wg(8) takes a
 * key (44 characters, one '=' of padding, the unused low bits of the last symbol zero, so each
 * key has one spelling) and hex as the UAPI sends it (64 digits, either case). The input is both
 * candidate texts at once, in a buffer of exactly its size so ASan sees any read past it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "keyenc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int b64_value(uint8_t c)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? memchr(alphabet, c, 64) : NULL;

	return p ? (int)(p - alphabet) : -1;
}

static bool ref_base64(uint8_t key[32], const uint8_t *t, size_t len)
{
	uint32_t acc = 0;
	unsigned int bits = 0, out = 0;

	if (len != KEYENC_B64_LEN || t[43] != '=')
		return false;
	for (size_t i = 0; i < 43; i++) {
		int v = b64_value(t[i]);

		if (v < 0)
			return false;
		acc = (acc << 6 | (uint32_t)v) & 0x3fff; /* at most 13 bits are pending */
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			key[out++] = (uint8_t)(acc >> bits);
		}
	}
	return out == 32 && (acc & ((1u << bits) - 1)) == 0;
}

static int hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

static bool ref_hex(uint8_t key[32], const uint8_t *t, size_t len)
{
	if (len != KEYENC_HEX_LEN)
		return false;
	for (size_t i = 0; i < 32; i++) {
		int hi = hex_value(t[2 * i]), lo = hex_value(t[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	uint8_t key[32], want[32];
	char back[KEYENC_HEX_LEN + 1];
	bool ok;

	ok = ref_base64(want, data, size);
	FUZZ_CHECK((keyenc_from_base64(key, text, size) == 0) == ok);
	if (ok) {
		FUZZ_CHECK(memcmp(key, want, 32) == 0);
		keyenc_to_base64(back, key);
		FUZZ_CHECK(strlen(back) == KEYENC_B64_LEN && memcmp(back, text, size) == 0);
	}
	ok = ref_hex(want, data, size);
	FUZZ_CHECK((keyenc_from_hex(key, text, size) == 0) == ok);
	if (ok) {
		FUZZ_CHECK(memcmp(key, want, 32) == 0);
		keyenc_to_hex(back, key);
		FUZZ_CHECK(strlen(back) == KEYENC_HEX_LEN && strncasecmp(back, text, size) == 0);
	}
	return 0;
}
