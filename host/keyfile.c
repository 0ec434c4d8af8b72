/* SPDX-License-Identifier: MIT */
/*
 * The private key file: open without blocking, refuse anything but a regular file that only its
 * owner can reach, read at most one byte more than a key file may hold, and hand the bytes to
 * lib/'s keyenc_from_keyfile. Every copy of the key's text is wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "keyenc.h"
#include "keyfile.h"

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Opens and vets the file: regular, and no access for group or others (as ssh insists). */
static int open_key_file(const char *path, char *err, size_t errlen)
{
	/* O_NONBLOCK: opening a FIFO must not hang start-up; fstat then refuses it. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	int ret;

	if (fd < 0 || fstat(fd, &st) != 0) {
		ret = -errno;
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_mode & 077) {
		set_err(err, errlen, "%s: mode %04o lets group or others access the private key; "
			"run chmod 600 %s", path, (unsigned int)(st.st_mode & 07777), path);
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* Up to max bytes; *len is max + 1 when there is more. */
static int read_all(int fd, char *buf, size_t max, size_t *len)
{
	ssize_t n;

	*len = 0;
	while (*len <= max) {
		n = read(fd, buf + *len, max + 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

int keyfile_read(const char *path, uint8_t key[32], char *err, size_t errlen)
{
	char buf[KEYENC_KEYFILE_MAX + 1];
	const char *why;
	size_t len;
	int fd, ret;

	sodium_memzero(key, 32);
	fd = open_key_file(path, err, errlen);
	if (fd < 0)
		return fd;
	ret = read_all(fd, buf, KEYENC_KEYFILE_MAX, &len);
	close(fd);
	if (ret) {
		set_err(err, errlen, "%s: %s", path, strerror(-ret));
	} else if (keyenc_from_keyfile(key, buf, len, &why) != 0) {
		set_err(err, errlen, "%s: %s", path, why);
		ret = -EINVAL;
	}
	sodium_memzero(buf, sizeof(buf));
	return ret;
}
