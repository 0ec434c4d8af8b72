/* SPDX-License-Identifier: MIT */
/* The private key file (keyfile.c): opened, vetted and read here; its contents are lib/'s
 * (keyenc_from_keyfile). */
#ifndef MG_KEYFILE_H
#define MG_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Reads a wg genkey file: 44 base64 characters, then optional whitespace (as wg(8) accepts). The
 * file must be a regular file that group and others cannot access (as ssh requires); a symlink
 * is followed. 0, -errno when it cannot be opened or read, -EPERM for a loose mode, -EINVAL for
 * anything else (not a regular file, bad content, all-zero key). err names the path and why;
 * key is zeroed on error.
 */
int keyfile_read(const char *path, uint8_t key[32], char *err, size_t errlen);

#endif
