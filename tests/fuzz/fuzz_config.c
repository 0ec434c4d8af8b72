/* SPDX-License-Identifier: MIT */
/*
 * The JSON config file (config_parse) on arbitrary text. The text is placed so that it ends right
 * before an inaccessible page: config_parse promises not to need a terminating NUL, and cJSON, a
 * system library without ASan instrumentation, would otherwise read past the end unnoticed. A
 * parsed config must satisfy what the rest of meshgate relies on; a refused one must leave
 * nothing behind and say why in printable text, the same words however small the error buffer.
 * Everything is freed (LeakSanitizer checks).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

#define MAX_INPUT (64 * 1024)

static char *region; /* MAX_INPUT bytes, then a PROT_NONE page */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	(void)argc;
	(void)argv;
	FUZZ_CHECK(MAX_INPUT % page == 0);
	region = mmap(NULL, MAX_INPUT + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	FUZZ_CHECK(region != MAP_FAILED && mprotect(region + MAX_INPUT, page, PROT_NONE) == 0);
	return 0;
}

static bool is_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	return len == 0 || (b[0] == 0 && memcmp(b, b + 1, len - 1) == 0);
}

static void check_err(const char *err, size_t errlen)
{
	FUZZ_CHECK(memchr(err, '\0', errlen) != NULL);
	for (; *err; err++)
		FUZZ_CHECK(*err >= 0x20 && *err < 0x7f);
}

/* What the daemon relies on in a config that parsed. */
static void check_config(const struct mg_config *c)
{
	FUZZ_CHECK(c->interface[0] && c->inner.name[0] && c->private_key_file && c->wan.device);
	/* 0: the daemon picks a port at start (ctrl/apply.c), as wg(8) does. */
	FUZZ_CHECK(c->wg.has_listen_port && c->wg.listen_port == c->listen_port);
	FUZZ_CHECK(c->wan.mtu == 0 || (c->wan.mtu >= CONFIG_MTU_MIN && c->wan.mtu <= CONFIG_WAN_MTU_MAX));
	FUZZ_CHECK(c->wan.n_addresses >= 1 && c->wan.n_addresses <= CONFIG_MAX_ADDRESSES);
	FUZZ_CHECK(c->inner.n_addresses <= CONFIG_MAX_ADDRESSES);
	FUZZ_CHECK(c->inner.mtu >= CONFIG_MTU_MIN && c->inner.mtu <= CONFIG_MTU_MAX);
	FUZZ_CHECK(c->n_eal <= CONFIG_MAX_EAL_ARGS && c->workers <= CONFIG_MAX_WORKERS);
	for (size_t i = 0; i < c->n_eal; i++)
		FUZZ_CHECK(c->eal[i] && c->eal[i][0]);
	FUZZ_CHECK(c->wg.replace_peers && !c->wg.has_private_key);
	for (size_t i = 0; i < c->wg.n_peers; i++) {
		const struct devconf_peer *p = &c->wg.peers[i];

		FUZZ_CHECK(p->replace_allowed_ips && !p->remove && !p->update_only);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(memcmp(p->public_key, c->wg.peers[j].public_key, 32) != 0);
		for (size_t j = 0; j < p->n_allowed_ips; j++) {
			const struct devconf_allowed_ip *a = &p->allowed_ips[j];

			FUZZ_CHECK((a->family == AF_INET && a->cidr <= 32) ||
				   (a->family == AF_INET6 && a->cidr <= 128));
		}
		FUZZ_CHECK(!p->has_endpoint || p->endpoint.port != 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = region + MAX_INPUT - size, err[256], small[48];
	struct mg_config cfg;
	size_t small_len;
	int ret;

	if (size > MAX_INPUT)
		return 0;
	memcpy(json, data, size);
	ret = config_parse(json, size, &cfg, err, sizeof(err));
	check_err(err, sizeof(err));
	if (ret == 0) {
		FUZZ_CHECK(err[0] == '\0');
		check_config(&cfg);
		config_free(&cfg);
		FUZZ_CHECK(is_zero(&cfg, sizeof(cfg)));
		return 0;
	}
	FUZZ_CHECK((ret == -EINVAL || ret == -ENOMEM) && err[0] && is_zero(&cfg, sizeof(cfg)));
	/* A smaller buffer holds the start of the same message. */
	small_len = 1 + size % sizeof(small);
	FUZZ_CHECK(config_parse(json, size, &cfg, small, small_len) == ret);
	FUZZ_CHECK(strlen(small) == (strlen(err) < small_len ? strlen(err) : small_len - 1));
	FUZZ_CHECK(strncmp(small, err, strlen(small)) == 0);
	return 0;
}
