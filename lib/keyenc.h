/* SPDX-License-Identifier: MIT */
/* 32-byte WireGuard keys as text: base64 (wg genkey, config files, key files' contents) and hex
 * (the UAPI). */
#ifndef MG_KEYENC_H
#define MG_KEYENC_H

#include <stddef.h>
#include <stdint.h>

#define KEYENC_B64_LEN 44  /* without the terminating NUL */
#define KEYENC_HEX_LEN 64

/* out holds KEYENC_B64_LEN + 1 / KEYENC_HEX_LEN + 1 bytes (NUL-terminated). */
void keyenc_to_base64(char *out, const uint8_t key[32]);
void keyenc_to_hex(char *out, const uint8_t key[32]);
/* Exactly one key, no surrounding whitespace; len is the text length. 0 or -EINVAL. Constant time
 * in the key's bytes (these are secrets). */
int keyenc_from_base64(uint8_t key[32], const char *text, size_t len);
int keyenc_from_hex(uint8_t key[32], const char *text, size_t len);

/* The most bytes a key file may hold: a key plus generous trailing whitespace. */
#define KEYENC_KEYFILE_MAX 256
/*
 * A private key file's contents as wg genkey writes them: 44 base64 characters, then only
 * whitespace (' ', '\t', '\r', '\n', as wg(8) reads key files), at most KEYENC_KEYFILE_MAX
 * bytes, and not the all-zero key. 0, or -EINVAL with key zeroed and *why saying what is wrong
 * (never echoing the text). Constant time in the key's bytes.
 */
int keyenc_from_keyfile(uint8_t key[32], const char *text, size_t len, const char **why);

#endif
