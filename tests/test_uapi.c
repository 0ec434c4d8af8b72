/* SPDX-License-Identifier: MIT */
/*
 * The UAPI text protocol: table-driven valid and invalid set bodies (each invalid one with the
 * errno wireguard-go answers and a provably empty result), the line-protocol helpers, exact get
 * output, format->parse round trips of random states, and a mutation smoke test: the protocol as
 * pure functions. The real wg(8) against the real socket server (ctrl/uapi_server.c) is
 * tests/test_uapi_server.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "devconf.h"
#include "devconf_util.h"
#include "harness.h"
#include "keyenc.h"
#include "uapi.h"

#define KZ "0000000000000000000000000000000000000000000000000000000000000000"

static bool devconf_is_empty(const struct devconf *c)
{
	static const struct devconf zero;

	return memcmp(c, &zero, sizeof(zero)) == 0;
}

/* --- table: valid set bodies --- */

struct valid_case {
	const char *text;
	const char *want;
};

static const struct valid_case valid_cases[] = {
	{ "", "dev:" },
	{ "private_key=" KA "\nlisten_port=51820\nfwmark=0\nreplace_peers=true\n",
	  "dev: pk=aaaaaaaa port=51820 fwmark=0 replace_peers" },
	{ "private_key=" KZ "\n", "dev: pk=00000000" },
	{ "private_key=" KU "\n", "dev: pk=01234567" },
	{ "listen_port=0\n", "dev: port=0" },
	{ "listen_port=65535\n", "dev: port=65535" },
	{ "listen_port=00080\n", "dev: port=80" },
	{ "listen_port=1\nlisten_port=2\n", "dev: port=2" },
	{ "fwmark=4294967295\n", "dev: fwmark=4294967295" },
	{ "listen_port=7\r\nfwmark=9", "dev: port=7 fwmark=9" },
	{ "public_key=" KB "\npreshared_key=" KC "\nendpoint=192.0.2.1:51820\n"
	  "persistent_keepalive_interval=25\nreplace_allowed_ips=true\nallowed_ip=10.0.0.0/8\n"
	  "allowed_ip=fd00::1/64\nprotocol_version=1\n",
	  "dev: | peer=bbbbbbbb psk=01234567 ep=192.0.2.1%0:51820 ka=25 replace_ips "
	  "ips=10.0.0.0/8,fd00::1/64" },
	{ "public_key=" KA "\nremove=true\npublic_key=" KB "\nupdate_only=true\n",
	  "dev: | peer=aaaaaaaa remove | peer=bbbbbbbb update_only" },
	{ "public_key=" KA "\npreshared_key=" KZ "\npersistent_keepalive_interval=0\n",
	  "dev: | peer=aaaaaaaa psk=00000000 ka=0" },
	{ "public_key=" KA "\nendpoint=[2001:db8::1]:443\n",
	  "dev: | peer=aaaaaaaa ep=2001:db8::1%0:443" },
	{ "public_key=" KA "\nendpoint=[fe80::1%7]:1\n", "dev: | peer=aaaaaaaa ep=fe80::1%7:1" },
	{ "public_key=" KA "\nendpoint=[::ffff:1.2.3.4]:0\n",
	  "dev: | peer=aaaaaaaa ep=::ffff:1.2.3.4%0:0" },
	{ "public_key=" KA "\nendpoint=1.2.3.4:065535\n",
	  "dev: | peer=aaaaaaaa ep=1.2.3.4%0:65535" },
	{ "public_key=" KA "\nallowed_ip=0.0.0.0/0\nallowed_ip=::/0\nallowed_ip=1.2.3.4/32\n"
	  "allowed_ip=::1/128\nallowed_ip=-10.1.0.0/16\nallowed_ip=-fd00::/8\n",
	  "dev: | peer=aaaaaaaa ips=0.0.0.0/0,::/0,1.2.3.4/32,::1/128,-10.1.0.0/16,-fd00::/8" },
	/* replace_allowed_ips after some: applied in order it wipes them */
	{ "public_key=" KA "\nallowed_ip=1.0.0.0/8\nreplace_allowed_ips=true\n"
	  "allowed_ip=2.0.0.0/8\n",
	  "dev: | peer=aaaaaaaa replace_ips ips=2.0.0.0/8" },
	/* the same key twice: two entries, applied in order */
	{ "public_key=" KA "\nremove=true\npublic_key=" KA "\nallowed_ip=1.0.0.0/8\n",
	  "dev: | peer=aaaaaaaa remove | peer=aaaaaaaa ips=1.0.0.0/8" },
	/* after remove the rest is validated, kept, and meaningless to the applier */
	{ "public_key=" KA "\nremove=true\nallowed_ip=1.0.0.0/8\n",
	  "dev: | peer=aaaaaaaa remove ips=1.0.0.0/8" },
};

static void test_valid(void)
{
	for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		const struct valid_case *t = &valid_cases[i];
		struct devconf c;
		struct sbuf b;
		char err[256];
		int ret = uapi_parse_set(t->text, strlen(t->text), if_nametoindex, &c, err, sizeof(err));

		CHECK(ret == 0, "valid case %zu: ret %d (%s)", i, ret, err);
		CHECK(err[0] == '\0', "valid case %zu: err \"%s\"", i, err);
		CHECK(strcmp(describe(&c, &b), t->want) == 0, "valid case %zu:\n got %s\nwant %s",
		      i, b.s, t->want);
		devconf_free(&c);
	}
}

/* An interface-name scope resolves through if_nametoindex: "lo" exists in every netns. */
static void test_scope_name(void)
{
	const char *text = "public_key=" KA "\nendpoint=[fe80::1%lo]:51820\n";
	struct devconf c;
	char err[256];
	int ret = uapi_parse_set(text, strlen(text), if_nametoindex, &c, err, sizeof(err));

	CHECK(ret == 0, "scope name: ret %d (%s)", ret, err);
	if (ret == 0) {
		CHECK(c.peers[0].endpoint.scope_id == if_nametoindex("lo"), "scope %u",
		      c.peers[0].endpoint.scope_id);
		CHECK(c.peers[0].endpoint.family == AF_INET6, "family");
	}
	devconf_free(&c);
}

/* --- table: invalid set bodies --- */

struct invalid_case {
	const char *text;
	size_t len; /* 0: strlen(text); set for embedded NULs */
	int err;    /* what wireguard-go answers */
	unsigned int line;
};

#define NUL_CASE(s) s, sizeof(s) - 1
#define INV UAPI_ERR_INVALID
#define PROTO UAPI_ERR_PROTOCOL

static const struct invalid_case invalid_cases[] = {
	{ "listen_port\n", 0, PROTO, 1 },
	{ "listen_port=1\n\nfwmark=1\n", 0, PROTO, 2 },
	{ "listen_port=1\n\r\n", 0, PROTO, 2 },
	{ "bogus=1\n", 0, INV, 1 },
	{ "=1\n", 0, INV, 1 },
	{ "Listen_port=1\n", 0, INV, 1 },
	{ "private_key=abc\n", 0, INV, 1 },
	{ "private_key=" KA "a\n", 0, INV, 1 },
	{ "private_key=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 0, INV, 1 }, /* 63 digits */
	{ "private_key=gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 0, INV, 1 },
	{ "private_key= " KA "\n", 0, INV, 1 },
	{ "listen_port=65536\n", 0, INV, 1 },
	{ "listen_port=-1\n", 0, INV, 1 },
	{ "listen_port=+1\n", 0, INV, 1 },
	{ "listen_port=\n", 0, INV, 1 },
	{ "listen_port=1 \n", 0, INV, 1 },
	{ "listen_port=0x10\n", 0, INV, 1 },
	{ "listen_port=99999999999999999999999\n", 0, INV, 1 },
	{ "fwmark=4294967296\n", 0, INV, 1 },
	{ "replace_peers=false\n", 0, INV, 1 },
	{ "replace_peers=TRUE\n", 0, INV, 1 },
	{ "replace_peers=true \n", 0, INV, 1 },
	{ "public_key=" KA "x\n", 0, INV, 1 },
	{ "public_key=\n", 0, INV, 1 },
	{ "remove=true\n", 0, INV, 1 },            /* peer key in the device section */
	{ "protocol_version=1\n", 0, INV, 1 },     /* so is this one */
	{ "public_key=" KA "\nlisten_port=1\n", 0, INV, 2 },
	{ "public_key=" KA "\nprivate_key=" KB "\n", 0, INV, 2 },
	{ "public_key=" KA "\nreplace_peers=true\n", 0, INV, 2 },
	{ "public_key=" KA "\nremove=false\n", 0, INV, 2 },
	{ "public_key=" KA "\nupdate_only=1\n", 0, INV, 2 },
	{ "public_key=" KA "\npreshared_key=" KZ "0\n", 0, INV, 2 },
	{ "public_key=" KA "\nendpoint=1.2.3.4\n", 0, INV, 2 },
	{ "public_key=" KA "\nendpoint=1.2.3.4:\n", 0, INV, 2 },
	{ "public_key=" KA "\nendpoint=1.2.3.4:65536\n", 0, INV, 2 },
	{ "public_key=" KA "\nendpoint=example.com:51820\n", 0, INV, 2 },
	{ "public_key=" KA "\nendpoint=[1.2.3.4]:5\n", 0, INV, 2 },
	{ "public_key=" KA "\nendpoint=2001:db8::1:51820\n", 0, INV, 2 },
	{ "public_key=" KA "\nendpoint=[2001:db8::1]\n", 0, INV, 2 },
	{ "public_key=" KA "\nendpoint=[fe80::1%]:5\n", 0, INV, 2 },
	{ "public_key=" KA "\nendpoint=[fe80::1%nosuchif0x]:5\n", 0, INV, 2 },
	{ "public_key=" KA "\nendpoint=01.2.3.4:5\n", 0, INV, 2 },
	{ "public_key=" KA "\nendpoint=256.1.1.1:5\n", 0, INV, 2 },
	{ "public_key=" KA "\nendpoint=1.2.3.4%1:5\n", 0, INV, 2 },
	{ "public_key=" KA "\nendpoint=1.2.3.4:5=6\n", 0, INV, 2 },
	{ "public_key=" KA "\nendpoint=[2001:db8::1]:5 \n", 0, INV, 2 },
	{ "public_key=" KA "\nendpoint=\n", 0, INV, 2 },
	{ NUL_CASE("public_key=" KA "\nendpoint=1.2.3.4\0:5\n"), INV, 2 },
	{ "public_key=" KA "\npersistent_keepalive_interval=65536\n", 0, INV, 2 },
	{ "public_key=" KA "\npersistent_keepalive_interval=-1\n", 0, INV, 2 },
	{ "public_key=" KA "\nreplace_allowed_ips=yes\n", 0, INV, 2 },
	{ "public_key=" KA "\nallowed_ip=10.0.0.0\n", 0, INV, 2 },
	{ "public_key=" KA "\nallowed_ip=10.0.0.0/33\n", 0, INV, 2 },
	{ "public_key=" KA "\nallowed_ip=::/129\n", 0, INV, 2 },
	{ "public_key=" KA "\nallowed_ip=10.0.0.0/08\n", 0, INV, 2 },
	{ "public_key=" KA "\nallowed_ip=10.0.0.0/+8\n", 0, INV, 2 },
	{ "public_key=" KA "\nallowed_ip=10.0.0.0/\n", 0, INV, 2 },
	{ "public_key=" KA "\nallowed_ip=/8\n", 0, INV, 2 },
	{ "public_key=" KA "\nallowed_ip=fe80::1%1/64\n", 0, INV, 2 },
	{ "public_key=" KA "\nallowed_ip=--10.0.0.0/8\n", 0, INV, 2 },
	{ "public_key=" KA "\nallowed_ip=10.0.0.0/8/8\n", 0, INV, 2 },
	{ "public_key=" KA "\nallowed_ip=1.2.3/24\n", 0, INV, 2 },
	{ "public_key=" KA "\nallowed_ip=10.0.0.0 /8\n", 0, INV, 2 },
	{ "public_key=" KA "\nallowed_ip=-\n", 0, INV, 2 },
	{ NUL_CASE("public_key=" KA "\nallowed_ip=1.2.3.4\0/32\n"), INV, 2 },
	{ "public_key=" KA "\nprotocol_version=2\n", 0, INV, 2 },
	{ "public_key=" KA "\nprotocol_version=01\n", 0, INV, 2 },
	/* a failure after complete peers with allocations: all of it must be released */
	{ "private_key=" KB "\npublic_key=" KA "\nallowed_ip=10.0.0.0/8\npublic_key=" KB
	  "\nallowed_ip=1.2.3.4/32\nallowed_ip=bad\n", 0, INV, 6 },
};

static void check_invalid(const char *what, const char *text, size_t len, int want, unsigned line)
{
	struct devconf c;
	char err[256], where[32];
	int ret;

	memset(&c, 0xa5, sizeof(c)); /* garbage in: must come out zeroed */
	ret = uapi_parse_set(text, len, if_nametoindex, &c, err, sizeof(err));
	CHECK(ret == want, "%s: ret %d, want %d (%s)", what, ret, want, err);
	CHECK(devconf_is_empty(&c), "%s: output not empty", what);
	snprintf(where, sizeof(where), "line %u:", line);
	CHECK(strncmp(err, where, strlen(where)) == 0, "%s: err \"%s\", want \"%s...\"", what, err,
	      where);
	/* never echo key material */
	CHECK(!strstr(err, "aaaaaaaaaaaa") && !strstr(err, "bbbbbbbbbbbb"), "%s: err leaks: %s",
	      what, err);
	if (ret == 0)
		devconf_free(&c);
}

static void test_invalid(void)
{
	char what[32];

	for (size_t i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]); i++) {
		const struct invalid_case *t = &invalid_cases[i];

		snprintf(what, sizeof(what), "invalid case %zu", i);
		check_invalid(what, t->text, t->len ? t->len : strlen(t->text), t->err, t->line);
	}
}

/* A line of n bytes "listen_port=000...1" (no '\n'), malloc'd. */
static char *long_line(size_t n)
{
	char *text = malloc(n);

	if (!text)
		abort();
	memcpy(text, "listen_port=", 12);
	memset(text + 12, '0', n - 12 - 1);
	text[n - 1] = '1';
	return text;
}

/* Longer than wireguard-go's 64 KiB scanner token: it answers EIO. UAPI_MAX_LINE itself is fine. */
static void test_long_line(void)
{
	char *text = long_line(UAPI_MAX_LINE + 1);
	struct devconf c;
	char err[128];
	int ret;

	check_invalid("long line", text, UAPI_MAX_LINE + 1, UAPI_ERR_IO, 1);
	free(text);
	text = long_line(UAPI_MAX_LINE);
	ret = uapi_parse_set(text, UAPI_MAX_LINE, if_nametoindex, &c, err, sizeof(err));
	CHECK(ret == 0 && c.listen_port == 1, "UAPI_MAX_LINE bytes accepted: %d (%s)", ret, err);
	devconf_free(&c);
	free(text);
}

/* --- line-protocol helpers --- */

static void test_ops(void)
{
	CHECK(uapi_parse_op("get=1", 5) == UAPI_OP_GET, "get");
	CHECK(uapi_parse_op("set=1", 5) == UAPI_OP_SET, "set");
	CHECK(uapi_parse_op("get=1\r", 6) == UAPI_OP_INVALID, "get CR");
	CHECK(uapi_parse_op("get=2", 5) == UAPI_OP_INVALID, "get=2");
	CHECK(uapi_parse_op("get=", 4) == UAPI_OP_INVALID, "get=");
	CHECK(uapi_parse_op("set=11", 6) == UAPI_OP_INVALID, "set=11");
	CHECK(uapi_parse_op("GET=1", 5) == UAPI_OP_INVALID, "GET");
	CHECK(uapi_parse_op("", 0) == UAPI_OP_INVALID, "empty");
}

static void test_body_end(void)
{
	const char *req = "listen_port=1\r\nfwmark=2\n\r\nget=1\n";
	size_t next = 99, from = 0;
	ssize_t body = -1;

	CHECK(uapi_find_body_end("\n", 1, 0, &next) == 0 && next == 1, "empty body");
	CHECK(uapi_find_body_end("\r\n", 2, 0, &next) == 0 && next == 2, "empty body CRLF");
	CHECK(uapi_find_body_end("", 0, 0, &next) == -1 && next == 0, "nothing yet");
	CHECK(uapi_find_body_end("a=b\n", 4, 0, &next) == -1 && next == 4, "one line, no end");
	CHECK(uapi_find_body_end("a=b\n\r", 5, 0, &next) == -1 && next == 4, "CR pending");
	/* fed one byte at a time, resuming where the last call stopped */
	for (size_t len = 0; len <= strlen(req) && body < 0; len++) {
		body = uapi_find_body_end(req, len, from, &next);
		if (body < 0) {
			CHECK(next <= len && next >= from, "resume point %zu", next);
			from = next;
		}
	}
	CHECK(body == 24 && next == 26, "incremental: body %zd next %zu", body, next);
}

/* --- get formatting --- */

static const char want_get[] =
	"private_key=" KC "\nlisten_port=51820\nfwmark=4660\n"
	"public_key=" KA "\npreshared_key=" KC "\nprotocol_version=1\nendpoint=192.0.2.1:51820\n"
	"last_handshake_time_sec=1700000000\nlast_handshake_time_nsec=123456789\n"
	"tx_bytes=1000\nrx_bytes=18446744073709551615\npersistent_keepalive_interval=25\n"
	"allowed_ip=10.0.0.0/8\nallowed_ip=fd00::/64\nallowed_ip=192.168.1.128/25\n"
	"public_key=" KB "\npreshared_key=" KZ "\nprotocol_version=1\nendpoint=[fe80::1%3]:443\n"
	"last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\n"
	"persistent_keepalive_interval=0\n"
	"public_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	"preshared_key=" KZ "\nprotocol_version=1\nendpoint=[2001:db8::1]:1\n"
	"last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\n"
	"persistent_keepalive_interval=0\nallowed_ip=::/0\n";

static void check_format_fails(struct devconf *c, const char *what)
{
	char *text = (char *)1;
	size_t len = 1;

	CHECK(uapi_format_get(c, &text, &len) == -EINVAL && !text && !len, "%s: accepted", what);
}

static void test_format(void)
{
	struct devconf c;
	char *text;
	size_t len;

	build_state(&c);
	CHECK(uapi_format_get(&c, &text, &len) == 0, "format");
	CHECK(len == strlen(want_get) && strcmp(text, want_get) == 0, "get text:\n%s\nwant:\n%s",
	      text, want_get);
	uapi_free_text(text, len);

	c.peers[0].allowed_ips[1].remove = true;
	check_format_fails(&c, "removal in state");
	c.peers[0].allowed_ips[1].remove = false;
	c.peers[0].allowed_ips[0].cidr = 33;
	check_format_fails(&c, "v4 cidr 33");
	c.peers[0].allowed_ips[0].cidr = 8;
	c.peers[0].allowed_ips[0].family = 0;
	check_format_fails(&c, "no family");
	c.peers[0].allowed_ips[0].family = AF_INET;
	c.peers[1].endpoint.family = AF_UNIX;
	check_format_fails(&c, "endpoint family");
	devconf_free(&c);

	/* zero key, port 0 and fwmark 0 are "unset" to wireguard-go: no lines */
	memset(&c, 0, sizeof(c));
	c.has_private_key = c.has_listen_port = c.has_fwmark = true;
	CHECK(uapi_format_get(&c, &text, &len) == 0 && text && len == 0 && text[0] == '\0',
	      "empty state");
	uapi_free_text(text, len);
}

/* --- round trip: random state -> get text -> (minus get-only lines) -> set parser --- */

static uint64_t rnd(struct test_rng *r, uint64_t n)
{
	return test_rng_next(r) % n;
}

static void random_endpoint(struct test_rng *r, struct devconf_peer *p)
{
	p->has_endpoint = true;
	p->endpoint.port = (uint16_t)rnd(r, 65536);
	if (rnd(r, 2)) {
		p->endpoint.family = AF_INET;
		test_rng_bytes(r, p->endpoint.addr, 4);
	} else {
		p->endpoint.family = AF_INET6;
		test_rng_bytes(r, p->endpoint.addr, 16);
		if (rnd(r, 2))
			p->endpoint.scope_id = (uint32_t)test_rng_next(r);
	}
}

static void random_peer(struct test_rng *r, struct devconf_peer *p)
{
	test_rng_bytes(r, p->public_key, 32);
	if ((p->has_preshared_key = rnd(r, 2)))
		test_rng_bytes(r, p->preshared_key, 32);
	if (rnd(r, 3))
		random_endpoint(r, p);
	p->last_handshake_sec = (int64_t)rnd(r, 1ull << 40);
	p->last_handshake_nsec = (int64_t)rnd(r, 1000000000);
	p->tx_bytes = test_rng_next(r);
	p->rx_bytes = test_rng_next(r);
	if ((p->has_persistent_keepalive = rnd(r, 2)))
		p->persistent_keepalive = (uint16_t)rnd(r, 65536);
	for (uint64_t n = rnd(r, 7); n > 0; n--) {
		struct devconf_allowed_ip *a = devconf_add_allowed_ip(p);

		if (!a)
			abort();
		a->family = rnd(r, 2) ? AF_INET : AF_INET6;
		test_rng_bytes(r, a->addr, a->family == AF_INET ? 4 : 16);
		a->cidr = (uint8_t)rnd(r, a->family == AF_INET ? 33 : 129);
	}
}

static void random_state(struct test_rng *r, struct devconf *c)
{
	memset(c, 0, sizeof(*c));
	if ((c->has_private_key = rnd(r, 4) != 0)) {
		test_rng_bytes(r, c->private_key, 32);
		c->private_key[0] |= 1;
	}
	if ((c->has_listen_port = rnd(r, 2)))
		c->listen_port = (uint16_t)rnd(r, 65536);
	if ((c->has_fwmark = rnd(r, 2)))
		c->fwmark = (uint32_t)test_rng_next(r);
	for (uint64_t n = rnd(r, 6); n > 0; n--) {
		struct devconf_peer *p = devconf_add_peer(c);

		if (!p)
			abort();
		random_peer(r, p);
	}
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

static void mask(uint8_t *addr, int family, unsigned int cidr)
{
	for (unsigned int bit = cidr; bit < (family == AF_INET ? 32u : 128u); bit++)
		addr[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
}

static bool same_peer(const struct devconf_peer *s, const struct devconf_peer *p)
{
	static const uint8_t zero[32];
	const uint8_t *psk = s->has_preshared_key ? s->preshared_key : zero;
	unsigned int ka = s->has_persistent_keepalive ? s->persistent_keepalive : 0;
	bool ok = memcmp(s->public_key, p->public_key, 32) == 0 && p->has_preshared_key &&
		  memcmp(psk, p->preshared_key, 32) == 0 && s->has_endpoint == p->has_endpoint &&
		  p->has_persistent_keepalive && p->persistent_keepalive == ka &&
		  s->n_allowed_ips == p->n_allowed_ips && !p->remove && !p->replace_allowed_ips;

	if (ok && s->has_endpoint)
		ok = memcmp(&s->endpoint, &p->endpoint, sizeof(s->endpoint)) == 0;
	for (size_t i = 0; ok && i < s->n_allowed_ips; i++) {
		struct devconf_allowed_ip a = s->allowed_ips[i];

		mask(a.addr, a.family, a.cidr);
		ok = memcmp(&a, &p->allowed_ips[i], sizeof(a)) == 0;
	}
	return ok;
}

static bool same_as_state(const struct devconf *s, const struct devconf *p)
{
	bool pk = s->has_private_key && !sodium_is_zero(s->private_key, 32);
	bool ok = p->has_private_key == pk &&
		  (!pk || !memcmp(s->private_key, p->private_key, 32)) &&
		  p->has_listen_port == (s->has_listen_port && s->listen_port) &&
		  (!p->has_listen_port || p->listen_port == s->listen_port) &&
		  p->has_fwmark == (s->has_fwmark && s->fwmark) &&
		  (!p->has_fwmark || p->fwmark == s->fwmark) && !p->replace_peers &&
		  p->n_peers == s->n_peers;

	for (size_t i = 0; ok && i < s->n_peers; i++)
		ok = same_peer(&s->peers[i], &p->peers[i]);
	return ok;
}

static void test_round_trip(void)
{
	const uint64_t seed = 0x75617069;
	struct test_rng r;

	printf("round trip seed %#llx\n", (unsigned long long)seed);
	test_rng_seed(&r, seed);
	for (int i = 0; i < 300; i++) {
		struct devconf s, p;
		char *text, err[256];
		size_t len;
		int ret;

		random_state(&r, &s);
		ret = uapi_format_get(&s, &text, &len);
		CHECK(ret == 0, "round trip %d: format %d", i, ret);
		if (ret) {
			devconf_free(&s);
			continue;
		}
		ret = uapi_parse_set(text, strip_get_only(text, len), if_nametoindex, &p, err, sizeof(err));
		CHECK(ret == 0 && same_as_state(&s, &p), "round trip %d: ret %d (%s)\n%s", i, ret,
		      err, text);
		uapi_free_text(text, len);
		devconf_free(&s);
		devconf_free(&p);
	}
}

/* --- random edits of a valid body: either a clean result or an error with nothing left --- */

static const char mutation_base[] =
	"private_key=" KC "\nlisten_port=51820\nfwmark=1\nreplace_peers=true\npublic_key=" KA
	"\npreshared_key=" KB "\nendpoint=[fe80::1%1]:51820\npersistent_keepalive_interval=25\n"
	"replace_allowed_ips=true\nallowed_ip=10.0.0.0/8\nallowed_ip=-fd00::/64\n"
	"protocol_version=1\npublic_key=" KB "\nremove=true\nupdate_only=true\n"
	"endpoint=192.0.2.1:1\n";

static void mutate(struct test_rng *r, char *buf, size_t *len)
{
	static const char alphabet[] = "\n\r=:[]%/-.0123456789abcdefABx \0";
	char c = alphabet[rnd(r, sizeof(alphabet) - 1)];
	size_t at = (size_t)rnd(r, *len + 1);

	switch (rnd(r, 3)) {
	case 0: /* replace */
		if (at < *len)
			buf[at] = c;
		break;
	case 1: /* delete */
		if (at < *len)
			memmove(buf + at, buf + at + 1, --*len - at);
		break;
	default: /* insert (buf has room) */
		memmove(buf + at + 1, buf + at, *len - at);
		buf[at] = c;
		++*len;
		break;
	}
}

static void test_mutations(void)
{
	struct test_rng r;
	unsigned int ok = 0, bad = 0;

	test_rng_seed(&r, 0x6d7574);
	for (int i = 0; i < 3000; i++) {
		char buf[sizeof(mutation_base) + 8];
		size_t len = sizeof(mutation_base) - 1;
		struct devconf c;
		char err[128];
		int ret;

		memcpy(buf, mutation_base, len);
		for (uint64_t k = rnd(&r, 4) + 1; k > 0; k--)
			mutate(&r, buf, &len);
		ret = uapi_parse_set(buf, len, if_nametoindex, &c, err, sizeof(err));
		if (ret == 0) {
			ok++;
			devconf_free(&c);
			continue;
		}
		bad++;
		CHECK((ret == UAPI_ERR_INVALID || ret == UAPI_ERR_PROTOCOL) &&
		      devconf_is_empty(&c) && strncmp(err, "line ", 5) == 0,
		      "mutation %d: ret %d err %s", i, ret, err);
	}
	printf("mutations: %u accepted, %u rejected\n", ok, bad);
	CHECK(ok > 100 && bad > 100, "mutations exercise both outcomes");
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_valid();
	test_scope_name();
	test_invalid();
	test_long_line();
	test_ops();
	test_body_end();
	test_format();
	test_round_trip();
	test_mutations();
	return test_done("uapi");
}
