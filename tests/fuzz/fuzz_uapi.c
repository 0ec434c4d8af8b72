/* SPDX-License-Identifier: MIT */
/*
 * The UAPI text protocol (lib/uapi.c) on the bytes of one connection, split into operations as
 * ctrl/uapi_server.c splits them: the first line names the operation (uapi_parse_op); "get=1"
 * must be followed by the empty line; a "set=1" body runs to the empty line
 * (uapi_find_body_end, checked against the same search fed in pieces as the socket delivers
 * them) and goes to uapi_parse_set. What a set parses is formatted back as a get answer
 * (uapi_format_get), which must parse again, without its get-only lines, into a state that
 * formats to the same text. Errors must leave nothing behind and explain themselves in
 * printable text.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <net/if.h>
#include <string.h>
#include <sys/types.h>

#include "devconf.h"
#include "fuzz.h"
#include "uapi.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static bool is_empty(const struct devconf *c)
{
	static const struct devconf zero;

	return memcmp(c, &zero, sizeof(zero)) == 0;
}

static bool has_removal(const struct devconf *c)
{
	for (size_t i = 0; i < c->n_peers; i++)
		for (size_t j = 0; j < c->peers[i].n_allowed_ips; j++)
			if (c->peers[i].allowed_ips[j].remove)
				return true;
	return false;
}

/* Drops the lines a set body may not carry (counters and handshake time). */
static size_t strip_get_only(char *text, size_t len)
{
	static const char *const drop[] = { "last_handshake_time_sec=", "last_handshake_time_nsec=",
					    "tx_bytes=", "rx_bytes=" };
	size_t in = 0, out = 0;

	while (in < len) {
		char *nl = memchr(text + in, '\n', len - in);
		size_t n = (size_t)(nl - (text + in)) + 1;
		bool keep = true;

		FUZZ_CHECK(nl != NULL); /* every line of a get answer ends in '\n' */
		for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
			keep = keep && strncmp(text + in, drop[i], strlen(drop[i])) != 0;
		if (keep) {
			memmove(text + out, text + in, n);
			out += n;
		}
		in += n;
	}
	return out;
}

/* get text -> set parser -> get text: the same text. */
static void round_trip(const char *text, size_t len)
{
	struct devconf again;
	char *copy = malloc(len + 1), *text2, err[128];
	size_t len2;

	FUZZ_CHECK(copy != NULL);
	memcpy(copy, text, len + 1);
	FUZZ_CHECK(uapi_parse_set(copy, strip_get_only(copy, len), if_nametoindex, &again, err, sizeof(err)) == 0);
	FUZZ_CHECK(uapi_format_get(&again, &text2, &len2) == 0);
	FUZZ_CHECK(len2 == len && memcmp(text2, text, len) == 0);
	uapi_free_text(text2, len2);
	devconf_free(&again);
	free(copy);
}

static void set(const char *text, size_t len)
{
	char err[128], *out, *body = malloc(len ? len : 1); /* exactly len: ASan sees overreads */
	struct devconf c;
	size_t out_len;
	int ret;

	FUZZ_CHECK(body != NULL);
	memcpy(body, text, len);
	ret = uapi_parse_set(body, len, if_nametoindex, &c, err, sizeof(err));
	free(body);
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	for (const char *p = err; *p; p++)
		FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
	if (ret != 0) {
		FUZZ_CHECK(ret == UAPI_ERR_INVALID || ret == UAPI_ERR_PROTOCOL || ret == UAPI_ERR_IO ||
			   ret == -ENOMEM);
		FUZZ_CHECK(is_empty(&c) && strncmp(err, "line ", 5) == 0);
		return;
	}
	FUZZ_CHECK(err[0] == '\0');
	/* A prefix removal is a request, never state: a get cannot show it. */
	ret = uapi_format_get(&c, &out, &out_len);
	FUZZ_CHECK(ret == (has_removal(&c) ? -EINVAL : 0));
	if (ret == 0) {
		FUZZ_CHECK(strlen(out) == out_len);
		round_trip(out, out_len);
		uapi_free_text(out, out_len);
	}
	devconf_free(&c);
}

/* The end of the body as one search over it all, and fed in pieces (the server's resumption). */
static ssize_t body_end(const char *buf, size_t len, size_t *next)
{
	size_t step = 1 + len / 5, from = 0, next2 = 0;
	ssize_t whole = uapi_find_body_end(buf, len, 0, next), part = -1;

	for (size_t have = step; part < 0; have += step) {
		if (have > len)
			have = len;
		part = uapi_find_body_end(buf, have, from, &next2);
		if (part < 0) {
			FUZZ_CHECK(next2 <= have && (next2 == 0 || buf[next2 - 1] == '\n'));
			from = next2;
		}
		if (have == len)
			break;
	}
	FUZZ_CHECK(part == whole && (whole < 0 || next2 == *next));
	return whole;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t len = size;

	while (len > 0) {
		const char *nl = memchr(buf, '\n', len < 7 ? len : 7);
		size_t consumed, next;
		ssize_t body;

		if (!nl)
			return 0; /* waiting for more, or closed for a line too long */
		switch (uapi_parse_op(buf, (size_t)(nl - buf))) {
		case UAPI_OP_GET:
			consumed = 7; /* "get=1\n" and the empty line (or EINVAL for another byte) */
			break;
		case UAPI_OP_SET:
			body = body_end(buf + 6, len - 6, &next);
			if (body < 0)
				return 0;
			set(buf + 6, (size_t)body);
			consumed = 6 + next;
			break;
		default:
			return 0; /* closed without an answer */
		}
		if (consumed > len)
			return 0;
		buf += consumed;
		len -= consumed;
	}
	return 0;
}
