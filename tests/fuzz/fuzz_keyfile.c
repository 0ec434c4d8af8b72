/* SPDX-License-Identifier: MIT */
/*
 * The private key file with arbitrary contents, read as the daemon reads it (host/keyfile.c's
 * keyfile_read) and parsed as bytes alone (lib/'s keyenc_from_keyfile), against the rule they
 * state: 44 base64 characters of a key that is not all zero, then only whitespace, at most
 * KEYENC_KEYFILE_MAX (256) bytes in all. Both must give the verdict and key the rule gives, and
 * the file's message must be the parser's words after the path. The file is a memfd with mode
 * 0600 reached through /proc, so nothing is left on disk; it is rewritten for every input.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "keyenc.h"
#include "keyfile.h"

static int fd;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd = memfd_create("meshgate-fuzz-key", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0 && fchmod(fd, 0600) == 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

static bool is_zero(const uint8_t *p, size_t len)
{
	while (len > 0 && p[len - 1] == 0)
		len--;
	return len == 0;
}

static bool expected(const uint8_t *data, size_t size, uint8_t key[32])
{
	if (size > KEYENC_KEYFILE_MAX || size < KEYENC_B64_LEN ||
	    keyenc_from_base64(key, (const char *)data, KEYENC_B64_LEN) != 0)
		return false;
	for (size_t i = KEYENC_B64_LEN; i < size; i++)
		if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r' && data[i] != '\n')
			return false;
	return !is_zero(key, 32);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[32], text_key[32], want[32];
	char err[256];
	const char *why;
	bool ok = expected(data, size, want);
	size_t plen = strlen(path);
	int ret;

	memset(text_key, 0xa5, sizeof(text_key));
	ret = keyenc_from_keyfile(text_key, (const char *)data, size, &why);
	FUZZ_CHECK(ret == (ok ? 0 : -EINVAL) && (why == NULL) == ok);
	if (ok)
		FUZZ_CHECK(memcmp(text_key, want, 32) == 0);
	else
		FUZZ_CHECK(is_zero(text_key, 32));

	FUZZ_CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == (ssize_t)size);
	ret = keyfile_read(path, key, err, sizeof(err));
	FUZZ_CHECK(ret == (ok ? 0 : -EINVAL));
	if (ok)
		FUZZ_CHECK(memcmp(key, want, 32) == 0);
	else
		FUZZ_CHECK(is_zero(key, 32) && strncmp(err, path, plen) == 0 &&
			   strncmp(err + plen, ": ", 2) == 0 && strcmp(err + plen + 2, why) == 0);
	return 0;
}
