/* SPDX-License-Identifier: MIT */
/*
 * The UAPI text protocol: table-driven valid and invalid set bodies (each invalid one with the
 * errno wireguard-go answers and a provably empty result), the line-protocol helpers, exact get
 * output, format->parse round trips of random states, a mutation smoke test, and the real wg(8)
 * talking to a socket server in this process (set, setconf, syncconf, show dump, showconf).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "devconf.h"
#include "harness.h"
#include "keyenc.h"
#include "uapi.h"

extern char **environ;

#define KA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define KB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define KC "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define KU "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define KZ "0000000000000000000000000000000000000000000000000000000000000000"

/* --- describing a devconf as one canonical line, so tables can state expectations --- */

struct sbuf {
	char s[4096];
	size_t n;
};

__attribute__((format(printf, 2, 3)))
static void sb(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->n = b->n + (size_t)n < sizeof(b->s) ? b->n + (size_t)n : sizeof(b->s) - 1;
}

/* First 4 key bytes as hex: enough to tell the test keys apart. */
static void sb_key(struct sbuf *b, const char *name, const uint8_t *k)
{
	sb(b, " %s=%02x%02x%02x%02x", name, k[0], k[1], k[2], k[3]);
}

static void sb_addr(struct sbuf *b, int family, const uint8_t *addr)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family, addr, ip, sizeof(ip));
	sb(b, "%s", ip);
}

static void sb_peer(struct sbuf *b, const struct devconf_peer *p)
{
	sb(b, " |");
	sb_key(b, "peer", p->public_key);
	if (p->remove)
		sb(b, " remove");
	if (p->update_only)
		sb(b, " update_only");
	if (p->has_preshared_key)
		sb_key(b, "psk", p->preshared_key);
	if (p->has_endpoint) {
		sb(b, " ep=");
		sb_addr(b, p->endpoint.family, p->endpoint.addr);
		sb(b, "%%%u:%u", p->endpoint.scope_id, p->endpoint.port);
	}
	if (p->has_persistent_keepalive)
		sb(b, " ka=%u", p->persistent_keepalive);
	if (p->replace_allowed_ips)
		sb(b, " replace_ips");
	for (size_t i = 0; i < p->n_allowed_ips; i++) {
		const struct devconf_allowed_ip *a = &p->allowed_ips[i];

		sb(b, "%s%s", i ? "," : " ips=", a->remove ? "-" : "");
		sb_addr(b, a->family, a->addr);
		sb(b, "/%u", a->cidr);
	}
}

static const char *describe(const struct devconf *c, struct sbuf *b)
{
	b->n = 0;
	b->s[0] = '\0';
	sb(b, "dev:");
	if (c->has_private_key)
		sb_key(b, "pk", c->private_key);
	if (c->has_listen_port)
		sb(b, " port=%u", c->listen_port);
	if (c->has_fwmark)
		sb(b, " fwmark=%u", c->fwmark);
	if (c->replace_peers)
		sb(b, " replace_peers");
	for (size_t i = 0; i < c->n_peers; i++)
		sb_peer(b, &c->peers[i]);
	return b->s;
}

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

static void set_key(uint8_t key[32], const char *hex)
{
	if (keyenc_from_hex(key, hex, strlen(hex)) != 0)
		abort();
}

static void add_ip(struct devconf_peer *p, int family, const char *ip, unsigned int cidr)
{
	struct devconf_allowed_ip *a = devconf_add_allowed_ip(p);

	if (!a || inet_pton(family, ip, a->addr) != 1)
		abort();
	a->family = family;
	a->cidr = (uint8_t)cidr;
}

static void set_endpoint(struct devconf_peer *p, int family, const char *ip, uint16_t port,
			 uint32_t scope)
{
	p->has_endpoint = true;
	p->endpoint.family = family;
	p->endpoint.port = port;
	p->endpoint.scope_id = scope;
	if (inet_pton(family, ip, p->endpoint.addr) != 1)
		abort();
}

static struct devconf_peer *add_peer(struct devconf *c, const char *hex)
{
	struct devconf_peer *p = devconf_add_peer(c);

	if (!p)
		abort();
	set_key(p->public_key, hex);
	return p;
}

static void build_state(struct devconf *c)
{
	struct devconf_peer *p;

	memset(c, 0, sizeof(*c));
	c->has_private_key = true;
	set_key(c->private_key, KC);
	c->has_listen_port = true;
	c->listen_port = 51820;
	c->has_fwmark = true;
	c->fwmark = 0x1234;
	p = add_peer(c, KA);
	p->has_preshared_key = true;
	set_key(p->preshared_key, KC);
	set_endpoint(p, AF_INET, "192.0.2.1", 51820, 0);
	p->last_handshake_sec = 1700000000;
	p->last_handshake_nsec = 123456789;
	p->tx_bytes = 1000;
	p->rx_bytes = 18446744073709551615u;
	p->has_persistent_keepalive = true;
	p->persistent_keepalive = 25;
	add_ip(p, AF_INET, "10.1.2.3", 8);          /* host bits: printed masked */
	add_ip(p, AF_INET6, "fd00::1", 64);
	add_ip(p, AF_INET, "192.168.1.129", 25);
	p = add_peer(c, KB);
	set_endpoint(p, AF_INET6, "fe80::1", 443, 3);
	p = add_peer(c, KU);
	set_endpoint(p, AF_INET6, "2001:db8::1", 1, 0);
	add_ip(p, AF_INET6, "::", 0);
}

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

/* --- the real wg(8) against a UAPI socket served by this process --- */

#define WG_TIMEOUT_MS 5000

struct server {
	int lfd;
	char name[16];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_t thread;
	pthread_mutex_t lock;
	bool stop;
	/* set by the test before running wg */
	struct devconf get_state;
	int force_errno; /* answer sets with this instead of the parse result, if nonzero */
	/* recorded by the server */
	unsigned int n_sets, n_gets, n_bad_ops;
	struct devconf last_set;
	int last_ret;
	char last_err[256];
};

static struct server srv = { .lfd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

static bool send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static bool send_status(int fd, int err)
{
	char line[32];
	int n = snprintf(line, sizeof(line), UAPI_STATUS_FMT, err);

	return send_all(fd, line, (size_t)n);
}

static bool serve_set(int fd, const char *body, size_t len)
{
	struct devconf c;
	char err[256];
	int ret = uapi_parse_set(body, len, if_nametoindex, &c, err, sizeof(err));

	pthread_mutex_lock(&srv.lock);
	srv.n_sets++;
	devconf_free(&srv.last_set);
	srv.last_set = c; /* empty on error */
	srv.last_ret = ret;
	memcpy(srv.last_err, err, sizeof(err));
	if (srv.force_errno)
		ret = srv.force_errno;
	pthread_mutex_unlock(&srv.lock);
	return send_status(fd, ret);
}

static bool serve_get(int fd)
{
	char *text;
	size_t len;
	int ret;
	bool ok;

	pthread_mutex_lock(&srv.lock);
	srv.n_gets++;
	ret = uapi_format_get(&srv.get_state, &text, &len);
	pthread_mutex_unlock(&srv.lock);
	if (ret)
		return send_status(fd, ret);
	ok = send_all(fd, text, len) && send_status(fd, 0);
	uapi_free_text(text, len);
	return ok;
}

struct conn {
	char *buf;
	size_t len, cap;
	size_t off;  /* start of the operation being read */
	size_t scan; /* uapi_find_body_end's resume point, relative to off */
	enum uapi_op op;
};

/* Serves every complete operation in the buffer, as the ctrl server would. false: close. */
static bool serve_buffered(int fd, struct conn *c)
{
	for (;;) {
		const char *start = c->buf + c->off;
		size_t avail = c->len - c->off, next;
		ssize_t body;
		bool ok;

		if (c->op == UAPI_OP_INVALID) {
			const char *nl = memchr(start, '\n', avail);

			if (!nl)
				return avail <= 5; /* no valid first line is longer */
			c->op = uapi_parse_op(start, (size_t)(nl - start));
			if (c->op == UAPI_OP_INVALID) {
				srv.n_bad_ops++;
				return false; /* wireguard-go closes without an answer */
			}
			c->off += (size_t)(nl - start) + 1;
			c->scan = 0;
			continue;
		}
		if (c->op == UAPI_OP_GET) {
			if (avail == 0)
				return true;
			c->off++;
			ok = *start == '\n' ? serve_get(fd) : send_status(fd, UAPI_ERR_INVALID);
		} else {
			body = uapi_find_body_end(start, avail, c->scan, &next);
			if (body < 0) {
				c->scan = next;
				if (avail < UAPI_MAX_REQUEST)
					return true;
				send_status(fd, UAPI_ERR_IO);
				return false;
			}
			ok = serve_set(fd, start, (size_t)body);
			c->off += next;
		}
		c->op = UAPI_OP_INVALID;
		if (!ok)
			return false;
	}
}

static void serve_conn(int fd)
{
	struct conn c = { 0 };

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (c.cap - c.len < 4096) {
			char *nb = realloc(c.buf, c.cap ? c.cap * 2 : 8192);

			if (!nb)
				break;
			c.buf = nb;
			c.cap = c.cap ? c.cap * 2 : 8192;
		}
		if (poll(&pfd, 1, 2000) <= 0)
			break;
		n = read(fd, c.buf + c.len, c.cap - c.len);
		if (n <= 0)
			break;
		c.len += (size_t)n;
		if (!serve_buffered(fd, &c))
			break;
		if (c.off == c.len)
			c.off = c.len = 0;
	}
	if (c.buf)
		sodium_memzero(c.buf, c.cap); /* set bodies carry private keys */
	free(c.buf);
}

static bool server_stopping(void)
{
	bool stop;

	pthread_mutex_lock(&srv.lock);
	stop = srv.stop;
	pthread_mutex_unlock(&srv.lock);
	return stop;
}

static void *server_main(void *arg)
{
	(void)arg;
	while (!server_stopping()) {
		struct pollfd pfd = { .fd = srv.lfd, .events = POLLIN };
		int fd;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fd = accept4(srv.lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve_conn(fd);
		close(fd);
	}
	return NULL;
}

static void remove_socket(void)
{
	if (srv.path[0])
		unlink(srv.path);
}

/* NULL on success, else why the wg part cannot run. */
static const char *server_start(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (mkdir("/var/run/wireguard", 0755) != 0 && errno != EEXIST)
		return "cannot create /var/run/wireguard (not root?)";
	/* unique per process: parallel runs must not meet; wg wants < IFNAMSIZ */
	snprintf(srv.name, sizeof(srv.name), "mgu%d", (int)getpid());
	snprintf(srv.path, sizeof(srv.path), "/var/run/wireguard/%s.sock", srv.name);
	memcpy(addr.sun_path, srv.path, sizeof(srv.path));
	unlink(srv.path); /* our pid's name: a leftover of a dead run */
	atexit(remove_socket);
	srv.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv.lfd < 0 || bind(srv.lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(srv.lfd, 8) != 0) {
		if (srv.lfd >= 0)
			close(srv.lfd);
		srv.lfd = -1;
		return "cannot bind the UAPI socket";
	}
	if (pthread_create(&srv.thread, NULL, server_main, NULL) != 0) {
		close(srv.lfd);
		remove_socket();
		return "cannot start the server thread";
	}
	return NULL;
}

static void server_stop(void)
{
	pthread_mutex_lock(&srv.lock);
	srv.stop = true;
	pthread_mutex_unlock(&srv.lock);
	pthread_join(srv.thread, NULL);
	close(srv.lfd);
	remove_socket();
	srv.path[0] = '\0';
	devconf_free(&srv.get_state);
	devconf_free(&srv.last_set);
}

struct run {
	int status; /* exit code; -1 on timeout or failure to start */
	char out[8192];
	char err[2048];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends what fd has to dst (truncating, but always draining); false at EOF. */
static bool drain(int fd, char *dst, size_t size, size_t *len)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	size_t take;

	if (n <= 0)
		return n < 0 && errno == EINTR;
	take = (size_t)n < size - 1 - *len ? (size_t)n : size - 1 - *len;
	memcpy(dst + *len, tmp, take);
	*len += take;
	dst[*len] = '\0';
	return true;
}

/* Collects stdout and stderr until both close or the deadline passes. false on timeout. */
static bool collect(int fds[2], struct run *r)
{
	long long deadline = now_ms() + WG_TIMEOUT_MS;
	size_t lens[2] = { 0, 0 };
	bool open[2] = { true, true };

	while (open[0] || open[1]) {
		struct pollfd pfd[2] = { { .fd = open[0] ? fds[0] : -1, .events = POLLIN },
					 { .fd = open[1] ? fds[1] : -1, .events = POLLIN } };
		long long left = deadline - now_ms();

		if (left <= 0 || poll(pfd, 2, (int)left) < 0)
			return false;
		if (pfd[0].revents)
			open[0] = drain(fds[0], r->out, sizeof(r->out), &lens[0]);
		if (pfd[1].revents)
			open[1] = drain(fds[1], r->err, sizeof(r->err), &lens[1]);
	}
	return true;
}

/* Runs argv (argv[0] a path) with a timeout, capturing its output. */
static int run(struct run *r, char *const argv[])
{
	posix_spawn_file_actions_t fa;
	int out[2], err[2], fds[2], st;
	pid_t pid;
	bool done;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (pipe2(out, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(err, O_CLOEXEC) != 0) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	st = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(err[1]);
	fds[0] = out[0];
	fds[1] = err[0];
	done = st == 0 && collect(fds, r);
	close(out[0]);
	close(err[0]);
	if (st != 0)
		return -1;
	if (!done)
		kill(pid, SIGKILL); /* our own child, by pid */
	if (waitpid(pid, &st, 0) == pid && done && WIFEXITED(st))
		r->status = WEXITSTATUS(st);
	return r->status;
}

static const char *find_wg(char *buf, size_t size)
{
	const char *path = getenv("PATH");

	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");

		snprintf(buf, size, "%.*s/wg", (int)n, p);
		if (n && access(buf, X_OK) == 0)
			return buf;
		p += n + (p[n] == ':');
	}
	return NULL;
}

struct wg_ctx {
	const char *wg;
	uint8_t priv[32], pub[32], psk[32], peer[3][32];
	char priv_b64[KEYENC_B64_LEN + 1], pub_b64[KEYENC_B64_LEN + 1], psk_b64[KEYENC_B64_LEN + 1];
	char peer_b64[3][KEYENC_B64_LEN + 1];
};

/* A temp file holding text; path receives its name. */
static void write_tmp(char path[64], const char *text)
{
	int fd;

	snprintf(path, 64, "/tmp/mgu-%d-XXXXXX", (int)getpid());
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

/* Runs wg with up to 24 arguments after "wg"; NULL-terminated. */
static int wg(struct wg_ctx *x, struct run *r, ...)
{
	char *argv[26] = { (char *)x->wg };
	va_list ap;
	int n = 1;

	va_start(ap, r);
	while (n < 25 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return run(r, argv);
}

/* The last set the server parsed, described; the server's lock makes the read well-ordered. */
static const char *last_set(struct sbuf *b, int *ret)
{
	pthread_mutex_lock(&srv.lock);
	describe(&srv.last_set, b);
	*ret = srv.last_ret;
	pthread_mutex_unlock(&srv.lock);
	return b->s;
}

static void key4(char out[9], const uint8_t *k)
{
	snprintf(out, 9, "%02x%02x%02x%02x", k[0], k[1], k[2], k[3]);
}

/* Full-key comparison for what describe() abbreviates. */
static bool last_set_keys(const uint8_t *priv, const uint8_t *pub0, const uint8_t *psk0)
{
	const struct devconf *c = &srv.last_set;
	bool ok;

	pthread_mutex_lock(&srv.lock);
	ok = (!priv || (c->has_private_key && !memcmp(c->private_key, priv, 32))) &&
	     (!pub0 || (c->n_peers && !memcmp(c->peers[0].public_key, pub0, 32))) &&
	     (!psk0 || (c->n_peers && c->peers[0].has_preshared_key &&
			!memcmp(c->peers[0].preshared_key, psk0, 32)));
	pthread_mutex_unlock(&srv.lock);
	return ok;
}

/* wg set: every per-device and per-peer option, as the tool encodes them. */
static void wg_test_set(struct wg_ctx *x)
{
	char pkf[64], pskf[64], want[512], k[3][9];
	struct run r;
	struct sbuf b;
	int ret;

	write_tmp(pkf, x->priv_b64);
	write_tmp(pskf, x->psk_b64);
	wg(x, &r, "set", srv.name, "private-key", pkf, "listen-port", "51820", "fwmark", "0x1234",
	   "peer", x->peer_b64[0], "preshared-key", pskf, "endpoint", "192.0.2.1:51820",
	   "persistent-keepalive", "25", "allowed-ips", "10.0.0.0/8,fd00::/64", NULL);
	CHECK(r.status == 0, "wg set: status %d: %s", r.status, r.err);
	key4(k[0], x->priv);
	key4(k[1], x->peer[0]);
	key4(k[2], x->psk);
	snprintf(want, sizeof(want),
		 "dev: pk=%s port=51820 fwmark=4660 | peer=%s psk=%s ep=192.0.2.1%%0:51820 ka=25 "
		 "replace_ips ips=10.0.0.0/8,fd00::/64", k[0], k[1], k[2]);
	CHECK(strcmp(last_set(&b, &ret), want) == 0 && ret == 0,
	      "wg set parsed (%d)\n got %s\nwant %s", ret, b.s, want);
	CHECK(last_set_keys(x->priv, x->peer[0], x->psk), "wg set: keys");
	unlink(pkf);
	unlink(pskf);
}

/* wg set: IPv6 endpoints (a scope arrives as an interface name), emptied allowed IPs, remove. */
static void wg_test_set_peers(struct wg_ctx *x)
{
	char want[512], k[3][9];
	struct run r;
	struct sbuf b;
	int ret;

	wg(x, &r, "set", srv.name, "peer", x->peer_b64[1], "endpoint", "[2001:db8::1]:443", "peer",
	   x->peer_b64[2], "endpoint", "[fe80::1%lo]:51820", "allowed-ips", "", "peer",
	   x->peer_b64[0], "remove", NULL);
	CHECK(r.status == 0, "wg set peers: status %d: %s", r.status, r.err);
	for (int i = 0; i < 3; i++)
		key4(k[i], x->peer[i]);
	snprintf(want, sizeof(want),
		 "dev: | peer=%s ep=2001:db8::1%%0:443 | peer=%s ep=fe80::1%%%u:51820 replace_ips "
		 "| peer=%s remove", k[1], k[2], if_nametoindex("lo"), k[0]);
	CHECK(strcmp(last_set(&b, &ret), want) == 0 && ret == 0,
	      "wg set peers parsed (%d)\n got %s\nwant %s", ret, b.s, want);
}

/* wg resolves hostnames itself; what reaches us is numeric. */
static void wg_test_hostname(struct wg_ctx *x)
{
	struct run r;
	struct sbuf b;
	int ret;

	wg(x, &r, "set", srv.name, "peer", x->peer_b64[0], "endpoint", "localhost:9", NULL);
	if (r.status != 0) {
		printf("wg: localhost does not resolve here (%s); hostname case skipped\n", r.err);
		return;
	}
	last_set(&b, &ret);
	CHECK(ret == 0 && (strstr(b.s, "ep=127.0.0.1%0:9") || strstr(b.s, "ep=::1%0:9")),
	      "localhost endpoint: %s", b.s);
}

/* wg set reports our errno the way it reports wireguard-go's: negated, through strerror. */
static void wg_test_errno(struct wg_ctx *x)
{
	static const struct {
		int err;
		const char *msg;
	} cases[] = { { UAPI_ERR_PORT_IN_USE, "Address already in use" },
		      { UAPI_ERR_INVALID, "Invalid argument" },
		      { UAPI_ERR_PROTOCOL, "Protocol error" } };
	struct run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pthread_mutex_lock(&srv.lock);
		srv.force_errno = cases[i].err;
		pthread_mutex_unlock(&srv.lock);
		wg(x, &r, "set", srv.name, "listen-port", "1", NULL);
		CHECK(r.status != 0 && strstr(r.err, cases[i].msg),
		      "errno %d: status %d, stderr %s", cases[i].err, r.status, r.err);
	}
	pthread_mutex_lock(&srv.lock);
	srv.force_errno = 0;
	pthread_mutex_unlock(&srv.lock);
}

static const char *setconf_fmt =
	"[Interface]\nPrivateKey = %s\nListenPort = 12345\nFwMark = 7\n\n"
	"[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 192.168.0.0/24, 2001:db8::/32\n"
	"Endpoint = 198.51.100.7:9\nPersistentKeepalive = 10\n\n"
	"[Peer]\nPublicKey = %s\nAllowedIPs = 0.0.0.0/0, ::/0\n";

/* wg setconf: a whole configuration, replacing peers and each peer's allowed IPs. */
static void wg_test_setconf(struct wg_ctx *x)
{
	char conf[1024], path[64], want[512], k[4][9];
	struct run r;
	struct sbuf b;
	int ret;

	snprintf(conf, sizeof(conf), setconf_fmt, x->priv_b64, x->peer_b64[0], x->psk_b64,
		 x->peer_b64[1]);
	write_tmp(path, conf);
	wg(x, &r, "setconf", srv.name, path, NULL);
	CHECK(r.status == 0, "wg setconf: status %d: %s", r.status, r.err);
	key4(k[0], x->priv);
	key4(k[1], x->peer[0]);
	key4(k[2], x->psk);
	key4(k[3], x->peer[1]);
	snprintf(want, sizeof(want),
		 "dev: pk=%s port=12345 fwmark=7 replace_peers | peer=%s psk=%s "
		 "ep=198.51.100.7%%0:9 ka=10 replace_ips ips=192.168.0.0/24,2001:db8::/32 "
		 "| peer=%s replace_ips "
		 "ips=0.0.0.0/0,::/0", k[0], k[1], k[2], k[3]);
	CHECK(strcmp(last_set(&b, &ret), want) == 0 && ret == 0,
	      "wg setconf parsed (%d)\n got %s\nwant %s", ret, b.s, want);
	CHECK(last_set_keys(x->priv, x->peer[0], x->psk), "wg setconf: keys");
	sodium_memzero(conf, sizeof(conf));
	unlink(path);
}

/* The get state the show tests serve: build_state with our key pair and a scope wg can name. */
static void serve_state(struct wg_ctx *x)
{
	pthread_mutex_lock(&srv.lock);
	devconf_free(&srv.get_state);
	build_state(&srv.get_state);
	memcpy(srv.get_state.private_key, x->priv, 32);
	memcpy(srv.get_state.peers[0].public_key, x->peer[0], 32);
	memcpy(srv.get_state.peers[0].preshared_key, x->psk, 32);
	memcpy(srv.get_state.peers[1].public_key, x->peer[1], 32);
	memcpy(srv.get_state.peers[2].public_key, x->peer[2], 32);
	srv.get_state.peers[1].endpoint.scope_id = if_nametoindex("lo");
	pthread_mutex_unlock(&srv.lock);
}

/* wg show <if> dump: one tab-separated line for the device, one per peer. */
static void wg_test_dump(struct wg_ctx *x)
{
	char want[2048];
	struct run r;

	unsigned int gets;

	serve_state(x);
	pthread_mutex_lock(&srv.lock);
	gets = srv.n_gets;
	pthread_mutex_unlock(&srv.lock);
	wg(x, &r, "show", srv.name, "dump", NULL);
	pthread_mutex_lock(&srv.lock);
	CHECK(srv.n_gets == gets + 1, "wg show dump: %u gets", srv.n_gets - gets);
	pthread_mutex_unlock(&srv.lock);
	snprintf(want, sizeof(want),
		 "%s\t%s\t51820\t0x1234\n"
		 "%s\t%s\t192.0.2.1:51820\t10.0.0.0/8,fd00::/64,192.168.1.128/25\t1700000000\t"
		 "18446744073709551615\t1000\t25\n"
		 "%s\t(none)\t[fe80::1%%lo]:443\t(none)\t0\t0\t0\toff\n"
		 "%s\t(none)\t[2001:db8::1]:1\t::/0\t0\t0\t0\toff\n",
		 x->priv_b64, x->pub_b64, x->peer_b64[0], x->psk_b64, x->peer_b64[1],
		 x->peer_b64[2]);
	CHECK(r.status == 0 && strcmp(r.out, want) == 0,
	      "wg show dump: status %d %s\n got:\n%s\nwant:\n%s", r.status, r.err, r.out, want);
}

/* wg showconf <if>: the configuration file form of the same state. */
static void wg_test_showconf(struct wg_ctx *x)
{
	char want[2048];
	struct run r;

	serve_state(x);
	wg(x, &r, "showconf", srv.name, NULL);
	snprintf(want, sizeof(want),
		 "[Interface]\nListenPort = 51820\nFwMark = 0x1234\nPrivateKey = %s\n\n"
		 "[Peer]\nPublicKey = %s\nPresharedKey = %s\n"
		 "AllowedIPs = 10.0.0.0/8, fd00::/64, 192.168.1.128/25\n"
		 "Endpoint = 192.0.2.1:51820\n"
		 "PersistentKeepalive = 25\n\n"
		 "[Peer]\nPublicKey = %s\nEndpoint = [fe80::1%%lo]:443\n\n"
		 "[Peer]\nPublicKey = %s\nAllowedIPs = ::/0\nEndpoint = [2001:db8::1]:1\n",
		 x->priv_b64, x->peer_b64[0], x->psk_b64, x->peer_b64[1], x->peer_b64[2]);
	CHECK(r.status == 0 && strcmp(r.out, want) == 0,
	      "wg showconf: status %d %s\n got:\n%s\nwant:\n%s", r.status, r.err, r.out, want);
	sodium_memzero(want, sizeof(want));
	sodium_memzero(r.out, sizeof(r.out));
}

/* An empty device, and the interface list (wg finds us by the socket's name). */
static void wg_test_empty(struct wg_ctx *x)
{
	struct run r;

	pthread_mutex_lock(&srv.lock);
	devconf_free(&srv.get_state);
	pthread_mutex_unlock(&srv.lock);
	wg(x, &r, "show", srv.name, "dump", NULL);
	CHECK(r.status == 0 && strcmp(r.out, "(none)\t(none)\t0\toff\n") == 0,
	      "empty dump: status %d %s: %s", r.status, r.err, r.out);
	wg(x, &r, "show", "interfaces", NULL);
	CHECK(r.status == 0 && strstr(r.out, srv.name), "wg show interfaces: %s %s", r.out, r.err);
}

/* The entries of the last set for a key: how many, and how many of them remove it. */
static void count_entries(const uint8_t *key, unsigned int *n, unsigned int *removes)
{
	*n = *removes = 0;
	pthread_mutex_lock(&srv.lock);
	for (size_t i = 0; i < srv.last_set.n_peers; i++) {
		const struct devconf_peer *p = &srv.last_set.peers[i];

		if (memcmp(p->public_key, key, 32) == 0) {
			++*n;
			*removes += p->remove;
		}
	}
	pthread_mutex_unlock(&srv.lock);
}

/*
 * wg syncconf: a get, then a set of the difference: the peer missing from the file is removed,
 * the others are (re)configured, and replace_peers is not used. Entry order is wg's business.
 */
static void wg_test_syncconf(struct wg_ctx *x)
{
	char conf[1024], path[64];
	unsigned int gets, n[3], rm[3];
	struct run r;

	serve_state(x);
	snprintf(conf, sizeof(conf), setconf_fmt, x->priv_b64, x->peer_b64[0], x->psk_b64,
		 x->peer_b64[1]);
	write_tmp(path, conf);
	pthread_mutex_lock(&srv.lock);
	gets = srv.n_gets;
	pthread_mutex_unlock(&srv.lock);
	wg(x, &r, "syncconf", srv.name, path, NULL);
	CHECK(r.status == 0, "wg syncconf: status %d: %s", r.status, r.err);
	pthread_mutex_lock(&srv.lock);
	gets = srv.n_gets - gets;
	CHECK(srv.last_ret == 0 && !srv.last_set.replace_peers && srv.last_set.n_peers == 3,
	      "wg syncconf: ret %d, %zu peers", srv.last_ret, srv.last_set.n_peers);
	pthread_mutex_unlock(&srv.lock);
	CHECK(gets == 1, "wg syncconf: %u gets", gets);
	for (int i = 0; i < 3; i++)
		count_entries(x->peer[i], &n[i], &rm[i]);
	CHECK(n[0] == 1 && rm[0] == 0 && n[1] == 1 && rm[1] == 0, "kept peers");
	CHECK(n[2] == 1 && rm[2] == 1, "peer missing from the file is removed");
	CHECK(last_set_keys(x->priv, NULL, NULL), "wg syncconf: private key");
	sodium_memzero(conf, sizeof(conf));
	unlink(path);
}

static void wg_keys(struct wg_ctx *x)
{
	struct test_rng r;

	test_rng_seed(&r, 0x7767);
	test_rng_bytes(&r, x->priv, 32);
	x->priv[0] &= 248; /* what wg genkey prints: a clamped scalar */
	x->priv[31] = (x->priv[31] & 127) | 64;
	if (crypto_scalarmult_curve25519_base(x->pub, x->priv) != 0)
		abort();
	test_rng_bytes(&r, x->psk, 32);
	test_rng_bytes(&r, x->peer, sizeof(x->peer));
	keyenc_to_base64(x->priv_b64, x->priv);
	keyenc_to_base64(x->pub_b64, x->pub);
	keyenc_to_base64(x->psk_b64, x->psk);
	for (int i = 0; i < 3; i++)
		keyenc_to_base64(x->peer_b64[i], x->peer[i]);
}

static void test_real_wg(void)
{
	struct wg_ctx x = { 0 };
	char path[4096];
	const char *why;

	x.wg = find_wg(path, sizeof(path));
	if (!x.wg) {
		printf("SKIP real wg part: no wg binary in PATH (wireguard-tools not installed)\n");
		return;
	}
	why = server_start();
	if (why) {
		printf("SKIP real wg part: %s\n", why);
		return;
	}
	printf("real wg: %s against %s\n", x.wg, srv.path);
	wg_keys(&x);
	wg_test_set(&x);
	wg_test_set_peers(&x);
	wg_test_hostname(&x);
	wg_test_errno(&x);
	wg_test_setconf(&x);
	wg_test_dump(&x);
	wg_test_showconf(&x);
	wg_test_syncconf(&x);
	wg_test_empty(&x);
	snprintf(path, sizeof(path), "%s", srv.path);
	server_stop();
	CHECK(access(path, F_OK) != 0, "socket %s left behind", path);
	CHECK(srv.n_bad_ops == 0, "wg sent %u invalid operations", srv.n_bad_ops);
	sodium_memzero(&x, sizeof(x));
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
	test_real_wg();
	return test_done("uapi");
}
