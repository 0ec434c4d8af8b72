/* SPDX-License-Identifier: MIT */
/* libsodium's codecs are constant time in the data, which matters for private keys. */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "keyenc.h"

void keyenc_to_base64(char *out, const uint8_t key[32])
{
	sodium_bin2base64(out, KEYENC_B64_LEN + 1, key, 32, sodium_base64_VARIANT_ORIGINAL);
}

void keyenc_to_hex(char *out, const uint8_t key[32])
{
	sodium_bin2hex(out, KEYENC_HEX_LEN + 1, key, 32);
}

int keyenc_from_base64(uint8_t key[32], const char *text, size_t len)
{
	unsigned char high = 0;
	size_t bin_len;
	const char *end;
	uint8_t tmp[33];

	/* 44 characters ending in exactly one '=' encode exactly 32 bytes. */
	if (len != KEYENC_B64_LEN || text[43] != '=' || text[42] == '=')
		return -EINVAL;
	/* libsodium (1.0.18) reads each character as a signed char, and its constant-time range
	 * checks then decode every byte >= 0x80 as '/': refuse those first, branching only on
	 * whether there is any (a real key has none). Found by tests/fuzz/fuzz_keyenc. */
	for (size_t i = 0; i < len; i++)
		high |= (unsigned char)text[i];
	if (high & 0x80)
		return -EINVAL;
	if (sodium_base642bin(tmp, sizeof(tmp), text, len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || bin_len != 32 || end != text + len) {
		sodium_memzero(tmp, sizeof(tmp));
		return -EINVAL;
	}
	memcpy(key, tmp, 32);
	sodium_memzero(tmp, sizeof(tmp));
	return 0;
}

int keyenc_from_hex(uint8_t key[32], const char *text, size_t len)
{
	size_t bin_len;
	const char *end;
	uint8_t tmp[32];

	if (len != KEYENC_HEX_LEN)
		return -EINVAL;
	if (sodium_hex2bin(tmp, sizeof(tmp), text, len, NULL, &bin_len, &end) != 0 || bin_len != 32 ||
	    end != text + len) {
		sodium_memzero(tmp, sizeof(tmp));
		return -EINVAL;
	}
	memcpy(key, tmp, 32);
	sodium_memzero(tmp, sizeof(tmp));
	return 0;
}

int keyenc_from_keyfile(uint8_t key[32], const char *text, size_t len, const char **why)
{
	*why = NULL;
	if (len > KEYENC_KEYFILE_MAX)
		*why = "too large for a key file";
	else if (len < KEYENC_B64_LEN || keyenc_from_base64(key, text, KEYENC_B64_LEN) != 0)
		*why = "not a wg genkey file (44 base64 characters and a newline)";
	for (size_t i = KEYENC_B64_LEN; !*why && i < len; i++)
		if (!memchr(" \t\r\n", text[i], 4))
			*why = "trailing content after the key";
	if (!*why && sodium_is_zero(key, 32))
		*why = "all-zero key";
	if (!*why)
		return 0;
	sodium_memzero(key, 32);
	return -EINVAL;
}
