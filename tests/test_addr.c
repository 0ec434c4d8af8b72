/* SPDX-License-Identifier: MIT */
/*
 * Address text in each dialect (lib/addr.c): one table of prefixes and one of endpoints, each row
 * a text and what every dialect makes of it (the value as inet_ntop prints it, or "!" and the
 * words of the refusal), so the rows where the dialects differ stand next to those where they
 * agree. Then the dialect-free address parser, what a refusal leaves behind, short message
 * buffers, and random texts built from the grammar's pieces: the dialects must agree on every one
 * that no rule of addr.h's table tells apart.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "harness.h"

#define V4_UAPI "!expected a.b.c.d:port or [ipv6]:port (hostnames are resolved by wg)"
#define V4_CONFIG "!not an IPv4 address (host names are not resolved)"
#define SCOPE_CONFIG "!bad scope (only numeric scopes: no interfaces to name here)"
#define ONES49 "1111111111111111111111111111111111111111111111111"
/* NUL_ROW("text\0more") gives a text with a NUL inside, and its length. */
#define NUL_ROW(s) s, sizeof(s) - 1

static const char *const dialect_name[ADDR_DIALECTS] = { "config", "uapi" };

/* A resolver that knows two interfaces and counts its calls. */
static unsigned int resolver_calls;

static uint32_t fake_resolver(const char *name)
{
	resolver_calls++;
	if (strcmp(name, "eth0") == 0)
		return 7;
	if (strcmp(name, "abcdefghijklmno") == 0) /* 15 characters: the longest name */
		return 15;
	return 0;
}

/* --- the tables --- */

struct row {
	const char *text;
	size_t len; /* 0: strlen(text) */
	const char *want[ADDR_DIALECTS];
};

static const struct row prefixes[] = {
	/* the same in both */
	{ "10.0.0.0/8", 0, { "10.0.0.0/8", "10.0.0.0/8" } },
	{ "10.1.2.3/8", 0, { "10.1.2.3/8", "10.1.2.3/8" } }, /* host bits kept */
	{ "0.0.0.0/0", 0, { "0.0.0.0/0", "0.0.0.0/0" } },
	{ "::/0", 0, { "::/0", "::/0" } },
	{ "1.2.3.4/32", 0, { "1.2.3.4/32", "1.2.3.4/32" } },
	{ "fd00::1/64", 0, { "fd00::1/64", "fd00::1/64" } },
	{ "FD00::1/128", 0, { "fd00::1/128", "fd00::1/128" } },
	{ "::ffff:1.2.3.4/96", 0, { "::ffff:1.2.3.4/96", "::ffff:1.2.3.4/96" } },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/1", 0, /* 45 characters */
	  { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/1",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/1" } },
	{ "10.0.0.0/0", 0, { "10.0.0.0/0", "10.0.0.0/0" } },
	/* a bare address: wg(8)'s config forms take it, Go's netip.ParsePrefix does not */
	{ "10.0.0.1", 0, { "10.0.0.1/32", "!expected address/cidr" } },
	{ "fd00::1", 0, { "fd00::1/128", "!expected address/cidr" } },
	{ "", 0, { "!expected address/prefix", "!expected address/cidr" } },
	{ "zz", 0, { "!not an IPv4 address", "!expected address/cidr" } },
	/* a leading zero in the length: wg(8)'s strtoul takes it, Go >= 1.22 does not */
	{ "10.0.0.0/08", 0, { "10.0.0.0/8", "!leading zero in cidr" } },
	{ "10.0.0.0/00", 0, { "10.0.0.0/0", "!leading zero in cidr" } },
	{ "1.2.3.4/032", 0, { "1.2.3.4/32", "!leading zero in cidr" } },
	{ "10.0.0.0/0000000008", 0, { "10.0.0.0/8", "!leading zero in cidr" } }, /* 10 digits */
	{ "10.0.0.0/00000000008", 0, { "!bad prefix length", "!leading zero in cidr" } }, /* 11 */
	{ "::/0128", 0, { "::/128", "!leading zero in cidr" } },
	{ "10.0.0.0/0x", 0, { "!bad prefix length", "!leading zero in cidr" } },
	/* refused by both, in their words */
	{ "1.2.3.4/33", 0, { "!prefix length 33 out of range for IPv4", "!bad cidr" } },
	{ "::/129", 0, { "!prefix length 129 out of range for IPv6", "!bad cidr" } },
	{ "1.2.3.4/4294967295", 0,
	  { "!prefix length 4294967295 out of range for IPv4", "!bad cidr" } },
	{ "1.2.3.4/4294967296", 0, { "!bad prefix length", "!bad cidr" } },
	{ "1.2.3.4/99999999999999999999", 0, { "!bad prefix length", "!bad cidr" } },
	{ "1.2.3.4/", 0, { "!bad prefix length", "!bad cidr" } },
	{ "1.2.3.4/+8", 0, { "!bad prefix length", "!bad cidr" } },
	{ "1.2.3.4/-1", 0, { "!bad prefix length", "!bad cidr" } },
	{ "1.2.3.4/ 8", 0, { "!bad prefix length", "!bad cidr" } },
	{ "1.2.3.4/8 ", 0, { "!bad prefix length", "!bad cidr" } },
	{ "1.2.3.4/2x", 0, { "!bad prefix length", "!bad cidr" } },
	{ "10.77.0.2/32/1", 0, { "!bad prefix length", "!bad address" } },
	{ "1.2.3.4//8", 0, { "!bad prefix length", "!bad address" } },
	{ "/24", 0, { "!expected address/prefix", "!bad address" } },
	{ "/8/8", 0, { "!expected address/prefix", "!bad address" } },
	{ "zz/8/8", 0, { "!not an IPv4 address", "!bad address" } },
	{ "192.168.77/24", 0, { "!not an IPv4 address", "!bad address" } },
	{ "192.168.077.1/24", 0, { "!not an IPv4 address", "!bad address" } },
	{ " 192.168.77.1/24", 0, { "!not an IPv4 address", "!bad address" } },
	{ "10.0.0.0 /8", 0, { "!not an IPv4 address", "!bad address" } },
	{ "256.1.1.1/8", 0, { "!not an IPv4 address", "!bad address" } },
	{ "1.2.3.4.5/8", 0, { "!not an IPv4 address", "!bad address" } },
	{ "-10.0.0.0/8", 0, { "!not an IPv4 address", "!bad address" } },
	{ "fd77:::1/64", 0, { "!not an IPv6 address", "!bad address" } },
	{ "fe80::1%1/64", 0, { "!not an IPv6 address", "!bad address" } },
	{ "1.2.3.4::/64", 0, { "!not an IPv6 address", "!bad address" } },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555/1", 0, /* 46 characters */
	  { "!expected address/prefix", "!bad address" } },
	{ NUL_ROW("1.2.3.4\0/32"), { "!not an IPv4 address", "!bad address" } },
	{ NUL_ROW("1.2.3.4/3\0"), { "!bad prefix length", "!bad cidr" } },
	{ NUL_ROW("\0"), { "!not an IPv4 address", "!expected address/cidr" } },
};

static const struct row endpoints[] = {
	/* the same in both */
	{ "192.0.2.1:51820", 0, { "192.0.2.1:51820", "192.0.2.1:51820" } },
	{ "1.2.3.4:65535", 0, { "1.2.3.4:65535", "1.2.3.4:65535" } },
	{ "1.2.3.4:1", 0, { "1.2.3.4:1", "1.2.3.4:1" } },
	{ "1.2.3.4:065535", 0, { "1.2.3.4:65535", "1.2.3.4:65535" } },
	{ "1.2.3.4:0000051820", 0, { "1.2.3.4:51820", "1.2.3.4:51820" } }, /* 10 digits */
	{ "[2001:db8::1]:443", 0, { "[2001:db8::1]:443", "[2001:db8::1]:443" } },
	{ "[::1]:1", 0, { "[::1]:1", "[::1]:1" } },
	{ "[::ffff:1.2.3.4]:5", 0, { "[::ffff:1.2.3.4]:5", "[::ffff:1.2.3.4]:5" } },
	{ "[fe80::1%7]:1", 0, { "[fe80::1%7]:1", "[fe80::1%7]:1" } },
	{ "[FE80::1%07]:1", 0, { "[fe80::1%7]:1", "[fe80::1%7]:1" } },
	{ "[fe80::1%0]:1", 0, { "[fe80::1]:1", "[fe80::1]:1" } },
	{ "[fe80::1%4294967295]:1", 0, { "[fe80::1%4294967295]:1", "[fe80::1%4294967295]:1" } },
	{ "[2001:db8::1%3]:1", 0, { "[2001:db8::1%3]:1", "[2001:db8::1%3]:1" } },
	/* port 0: Go's netip.ParseAddrPort and wireguard-go take it; a config file has no use
	 * for it */
	{ "1.2.3.4:0", 0, { "!bad port (1..65535)", "1.2.3.4:0" } },
	{ "[::ffff:1.2.3.4]:0", 0, { "!bad port (1..65535)", "[::ffff:1.2.3.4]:0" } },
	{ "1.2.3.4:00", 0, { "!bad port (1..65535)", "1.2.3.4:0" } },
	/* more than 10 digits: Go's ParseUint takes any number of leading zeros */
	{ "1.2.3.4:00000051820", 0, { "!bad port (1..65535)", "1.2.3.4:51820" } },
	{ "[fe80::1%00000000007]:1", 0, { SCOPE_CONFIG, "[fe80::1%7]:1" } },
	/* a scope by name: the UAPI's resolver, never the config file's */
	{ "[fe80::1%eth0]:51820", 0, { SCOPE_CONFIG, "[fe80::1%7]:51820" } },
	{ "[fe80::1%abcdefghijklmno]:1", 0, { SCOPE_CONFIG, "[fe80::1%15]:1" } },
	{ "[fe80::1%abcdefghijklmnop]:1", 0, { SCOPE_CONFIG, "!bad or unknown scope" } },
	{ "[fe80::1%nosuchif0x]:5", 0, { SCOPE_CONFIG, "!bad or unknown scope" } },
	{ "[fe80::1%4294967296]:1", 0, { SCOPE_CONFIG, "!bad or unknown scope" } },
	{ "[fe80::1%]:5", 0, { SCOPE_CONFIG, "!bad or unknown scope" } },
	{ "[fe80::1%1%2]:5", 0, { SCOPE_CONFIG, "!bad or unknown scope" } },
	{ "[fe80::1%-1]:5", 0, { SCOPE_CONFIG, "!bad or unknown scope" } },
	{ "[zz%eth0]:5", 0, { SCOPE_CONFIG, "!bad IPv6 address" } },
	{ NUL_ROW("[fe80::1%e\0th0]:5"), { SCOPE_CONFIG, "!bad or unknown scope" } },
	/* 57 characters in the brackets: the config file looks at the scope; 58: not an address
	 * (an address's buffer, '%' and 10 digits), whatever the scope */
	{ "[fe80::" ONES49 "%x]:5", 0, { SCOPE_CONFIG, "!bad or unknown scope" } },
	{ "[fe80::" ONES49 "1%x]:5", 0, { "!not an IPv6 address", "!bad or unknown scope" } },
	{ "[fe80::" ONES49 "1%1]:5", 0, { "!not an IPv6 address", "!bad IPv6 address" } },
	/* refused by both, in their words */
	{ "", 0, { "!expected a.b.c.d:port or [ipv6]:port", "!expected address:port" } },
	{ "192.168.77.2", 0,
	  { "!expected a.b.c.d:port or [ipv6]:port", "!expected address:port" } },
	{ "1.2.3.4:", 0, { "!bad port (1..65535)", "!bad port" } },
	{ "1.2.3.4:65536", 0, { "!bad port (1..65535)", "!bad port" } },
	{ "1.2.3.4:+5", 0, { "!bad port (1..65535)", "!bad port" } },
	{ "1.2.3.4:-5", 0, { "!bad port (1..65535)", "!bad port" } },
	{ "1.2.3.4: 5", 0, { "!bad port (1..65535)", "!bad port" } },
	{ "1.2.3.4:5 ", 0, { "!bad port (1..65535)", "!bad port" } },
	{ "1.2.3.4:5=6", 0, { "!bad port (1..65535)", "!bad port" } },
	{ "1.2.3.4:99999999999", 0, { "!bad port (1..65535)", "!bad port" } },
	{ "[fd77::2]", 0, { "!bad port (1..65535)", "!bad port" } },
	{ "[2001:db8::1]:5 ", 0, { "!bad port (1..65535)", "!bad port" } },
	{ ":51820", 0, { V4_CONFIG, V4_UAPI } },
	{ "example.com:51820", 0, { V4_CONFIG, V4_UAPI } },
	{ "01.2.3.4:5", 0, { V4_CONFIG, V4_UAPI } },
	{ "256.1.1.1:5", 0, { V4_CONFIG, V4_UAPI } },
	{ "1.2.3.4%1:5", 0, { V4_CONFIG, V4_UAPI } },
	{ "]:5", 0, { V4_CONFIG, V4_UAPI } },
	{ NUL_ROW("1.2.3.4\0:5"), { V4_CONFIG, V4_UAPI } },
	{ "fd77::2:51820", 0, { "!an IPv6 endpoint needs brackets: [ipv6]:port", V4_UAPI } },
	{ "1.2.3.4:5:6", 0, { "!an IPv6 endpoint needs brackets: [ipv6]:port", V4_UAPI } },
	{ "x[::1]:5", 0, { "!an IPv6 endpoint needs brackets: [ipv6]:port", V4_UAPI } },
	{ "[fd77::2:51820", 0, { "!expected [ipv6]:port", V4_UAPI } },
	{ "[:5", 0, { "!expected [ipv6]:port", V4_UAPI } },
	{ "[::1]x:5", 0, { "!expected [ipv6]:port", V4_UAPI } },
	{ "[]:1", 0, { "!not an IPv6 address", "!bad IPv6 address" } },
	{ "[fd77::zz]:51820", 0, { "!not an IPv6 address", "!bad IPv6 address" } },
	{ "[192.168.77.2]:51820", 0, { "!not an IPv6 address", "!bad IPv6 address" } },
	{ "[[::1]]:5", 0, { "!not an IPv6 address", "!bad IPv6 address" } },
	{ "[ ::1]:5", 0, { "!not an IPv6 address", "!bad IPv6 address" } },
};

/* --- what a result looks like --- */

static void ntop(int family, const uint8_t *addr, char *out, size_t n)
{
	if (!inet_ntop(family, addr, out, (socklen_t)n))
		snprintf(out, n, "(family %d)", family);
}

static void show_prefix(const struct addr_prefix *p, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN];

	ntop(p->family, p->addr, ip, sizeof(ip));
	snprintf(out, n, "%s/%u", ip, p->len);
}

static void show_endpoint(const struct devconf_endpoint *ep, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN];

	ntop(ep->family, ep->addr, ip, sizeof(ip));
	if (ep->family == AF_INET)
		snprintf(out, n, "%s:%u", ip, ep->port);
	else if (ep->scope_id)
		snprintf(out, n, "[%s%%%u]:%u", ip, ep->scope_id, ep->port);
	else
		snprintf(out, n, "[%s]:%u", ip, ep->port);
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* Runs one text in one dialect; got is the value shown, or "!" and why. */
static int run_prefix(enum addr_dialect d, const char *text, size_t len, char *got, size_t n)
{
	struct addr_prefix p;
	char why[ADDR_WHY_MAX];
	int ret;

	memset(&p, 0xa5, sizeof(p));
	ret = addr_parse_prefix(d, text, len, &p, why, sizeof(why));
	if (ret == 0) {
		show_prefix(&p, got, n);
		CHECK(why[0] == '\0', "%s: why \"%s\" on success", text, why);
		CHECK(p.family != AF_INET || all_zero(p.addr + 4, 12), "%s: IPv4 not zero-padded",
		      text);
	} else {
		snprintf(got, n, "!%s", why);
		CHECK(ret == -EINVAL && all_zero(&p, sizeof(p)), "%s: ret %d, output not zeroed",
		      text, ret);
	}
	return ret;
}

static int run_endpoint(enum addr_dialect d, const char *text, size_t len, char *got, size_t n)
{
	struct devconf_endpoint ep;
	char why[ADDR_WHY_MAX];
	int ret;

	memset(&ep, 0xa5, sizeof(ep));
	ret = addr_parse_endpoint(d, text, len, fake_resolver, &ep, why, sizeof(why));
	if (ret == 0) {
		show_endpoint(&ep, got, n);
		CHECK(why[0] == '\0', "%s: why \"%s\" on success", text, why);
	} else {
		snprintf(got, n, "!%s", why);
		CHECK(ret == -EINVAL && all_zero(&ep, sizeof(ep)), "%s: ret %d, output not zeroed",
		      text, ret);
	}
	return ret;
}

typedef int run_fn(enum addr_dialect d, const char *text, size_t len, char *got, size_t n);

static void test_table(const char *what, const struct row *rows, size_t n, run_fn *run)
{
	unsigned int differ = 0;

	for (size_t i = 0; i < n; i++) {
		size_t len = rows[i].len ? rows[i].len : strlen(rows[i].text);

		for (int d = 0; d < ADDR_DIALECTS; d++) {
			char got[ADDR_WHY_MAX + 64];
			unsigned int calls = resolver_calls;

			run((enum addr_dialect)d, rows[i].text, len, got, sizeof(got));
			CHECK(strcmp(got, rows[i].want[d]) == 0,
			      "%s row %zu \"%s\" in %s:\n  got:    %s\n  wanted: %s", what, i,
			      rows[i].text, dialect_name[d], got, rows[i].want[d]);
			CHECK(d != ADDR_CONFIG || resolver_calls == calls,
			      "%s row %zu: the config dialect asked the resolver", what, i);
		}
		differ += strcmp(rows[i].want[ADDR_CONFIG], rows[i].want[ADDR_UAPI]) != 0 &&
			  (rows[i].want[ADDR_CONFIG][0] != '!' ||
			   rows[i].want[ADDR_UAPI][0] != '!');
	}
	printf("%s: %zu rows, %u where one dialect takes what the other refuses or reads "
	       "otherwise\n", what, n, differ);
}

/* --- the rest of the contract --- */

static void test_ip(void)
{
	static const struct {
		int family;
		const char *text;
		size_t len;
		bool ok;
	} cases[] = {
		{ AF_INET, "1.2.3.4", 0, true },
		{ AF_INET, "255.255.255.255", 0, true },
		{ AF_INET6, "1.2.3.4", 0, false },
		{ AF_INET6, "::1", 0, true },
		{ AF_INET6, "::ffff:1.2.3.4", 0, true },
		{ AF_INET, "::1", 0, false },
		{ AF_INET, "", 0, false },
		{ AF_INET, "1.2.3.4 ", 0, false },
		{ AF_INET, "01.2.3.4", 0, false },
		{ AF_INET, NUL_ROW("1.2.3.4\0"), false },
		{ AF_INET6, "fe80::1%1", 0, false },
		{ AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 0, true },
		{ AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555", 0, false },
		{ 0, "1.2.3.4", 0, false },
		{ AF_UNIX, "1.2.3.4", 0, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t addr[16], want[16] = { 0 };
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		int ret;

		memset(addr, 0xa5, sizeof(addr));
		ret = addr_parse_ip(cases[i].family, cases[i].text, len, addr);
		CHECK((ret == 0) == cases[i].ok, "ip case %zu \"%s\": %d", i, cases[i].text, ret);
		if (cases[i].ok)
			CHECK(inet_pton(cases[i].family, cases[i].text, want) == 1 &&
			      memcmp(addr, want, 16) == 0, "ip case %zu: value", i);
		else
			CHECK(ret == -EINVAL && all_zero(addr, 16), "ip case %zu: not zeroed", i);
	}
}

static void test_edges(void)
{
	struct devconf_endpoint ep;
	struct addr_prefix p;
	char why[ADDR_WHY_MAX], small[8];

	/* No message buffer at all, and one too small: the start of the same words. */
	CHECK(addr_parse_prefix(ADDR_CONFIG, "1.2.3.4/33", 10, &p, NULL, 0) == -EINVAL, "no why");
	CHECK(addr_parse_prefix(ADDR_CONFIG, "1.2.3.4/33", 10, &p, small, sizeof(small)) ==
	      -EINVAL && strcmp(small, "prefix ") == 0, "short why: \"%s\"", small);
	CHECK(addr_parse_endpoint(ADDR_UAPI, "x", 1, NULL, &ep, small, 1) == -EINVAL &&
	      small[0] == '\0', "1-byte why");
	/* A dialect that is none. */
	CHECK(addr_parse_prefix(ADDR_DIALECTS, "1.2.3.4/8", 9, &p, why, sizeof(why)) == -EINVAL &&
	      strstr(why, "dialect") && all_zero(&p, sizeof(p)), "unknown dialect (prefix)");
	CHECK(addr_parse_endpoint(ADDR_DIALECTS, "1.2.3.4:5", 9, NULL, &ep, why,
				  sizeof(why)) == -EINVAL && strstr(why, "dialect") &&
	      all_zero(&ep, sizeof(ep)), "unknown dialect (endpoint)");
	/* Without a resolver the UAPI takes numeric scopes only. */
	CHECK(addr_parse_endpoint(ADDR_UAPI, "[fe80::1%eth0]:5", 16, NULL, &ep, why,
				  sizeof(why)) == -EINVAL &&
	      strcmp(why, "bad or unknown scope") == 0, "no resolver: %s", why);
	CHECK(addr_parse_endpoint(ADDR_UAPI, "[fe80::1%2]:5", 13, NULL, &ep, why, sizeof(why)) ==
	      0 && ep.scope_id == 2, "no resolver, numeric scope");
	/* Counted: nothing past len is read (the bytes after it would change the answer). */
	CHECK(addr_parse_prefix(ADDR_UAPI, "10.0.0.0/8junk", 10, &p, why, sizeof(why)) == 0 &&
	      p.len == 8, "counted prefix: %s", why);
	CHECK(addr_parse_endpoint(ADDR_CONFIG, "1.2.3.4:5678", 9, NULL, &ep, why, sizeof(why)) ==
	      0 && ep.port == 5, "counted endpoint: %s", why);
}

/* --- random texts from the grammar's pieces --- */

static const char *const v4s[] = { "1.2.3.4", "10.0.0.0", "0.0.0.0", "255.255.255.255",
				   "256.1.1.1", "01.2.3.4", "1.2.3" };
static const char *const v6s[] = { "::1", "fe80::1", "::", "::ffff:1.2.3.4", "fd00::",
				   "1:2:3:4:5:6:7:8", "fe80:::1", "1.2.3.4" };
static const char *const nums[] = { "0", "00", "8", "08", "32", "33", "128", "129",
				    "0000000000032", "65535", "65536", "51820", "0000051820",
				    "00000051820", "4294967295", "4294967296", "" };
static const char *const scopes[] = { "7", "07", "eth0", "lo", "4294967296", "00000000007", "",
				      "abcdefghijklmno", "1%2" };
static const char *const junk[] = { ":", "/", "[", "]", "%", "-", "+", " ", "x", "0", "\0" };

#define PICK(r, a) ((a)[test_rng_next(r) % (sizeof(a) / sizeof((a)[0]))])

static size_t put(char *buf, size_t len, const char *piece)
{
	size_t n = piece[0] ? strlen(piece) : 1; /* "\0": one NUL byte */

	memcpy(buf + len, piece, n);
	return len + n;
}

/* A well-formed shape (an address, a '/' and a length; an address and a port, bracketed IPv6
 * with or without a scope) from good and bad pieces, then sometimes a byte inserted or dropped.
 * buf holds at least 96 bytes. */
static size_t random_text(struct test_rng *r, char *buf, bool endpoint)
{
	size_t len = 0;
	bool v6 = test_rng_next(r) & 1;

	if (!endpoint) {
		len = put(buf, len, v6 ? PICK(r, v6s) : PICK(r, v4s));
		if (test_rng_next(r) % 4) {
			len = put(buf, len, "/");
			len = put(buf, len, PICK(r, nums));
		}
	} else if (!v6) {
		len = put(buf, len, PICK(r, v4s));
		len = put(buf, len, ":");
		len = put(buf, len, PICK(r, nums));
	} else {
		len = put(buf, len, "[");
		len = put(buf, len, PICK(r, v6s));
		if (test_rng_next(r) & 1) {
			len = put(buf, len, "%");
			len = put(buf, len, PICK(r, scopes));
		}
		len = put(buf, len, "]:");
		len = put(buf, len, PICK(r, nums));
	}
	for (int m = (int)(test_rng_next(r) % 4) - 1; m > 0; m--) {
		size_t at = test_rng_next(r) % (len + 1);
		const char *p = PICK(r, junk);
		size_t n = p[0] ? strlen(p) : 1;

		if (test_rng_next(r) & 1) { /* insert */
			memmove(buf + at + n, buf + at, len - at);
			memcpy(buf + at, p, n);
			len += n;
		} else if (at < len) { /* drop */
			memmove(buf + at, buf + at + 1, len - at - 1);
			len--;
		}
	}
	return len;
}

/* s[0..n) is one or more decimal digits. */
static bool digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool only_zeros(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != '0')
			return false;
	return true;
}

/* Does a rule of addr.h's table tell the dialects apart on this prefix text? */
static bool prefix_rules_differ(const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);
	const char *bits;
	size_t bn;

	if (!slash)
		return true; /* bare address */
	bits = slash + 1;
	bn = n - (size_t)(bits - s);
	return (bn > 1 && bits[0] == '0') || (digits(bits, bn) && bn > 10);
}

/* ... on this endpoint text: port 0 or long port; a scope that is a name or long. */
static bool endpoint_rules_differ(const char *s, size_t n)
{
	const char *colon = n ? memrchr(s, ':', n) : NULL;
	const char *port, *zone;
	size_t pn;

	if (!colon)
		return false;
	port = colon + 1;
	pn = n - (size_t)(port - s);
	if (digits(port, pn) && (pn > 10 || only_zeros(port, pn)))
		return true;
	zone = memchr(s, '%', (size_t)(colon - s));
	if (zone && s[0] == '[') {
		const char *end = memchr(zone, ']', (size_t)(colon - zone));
		size_t zn = end ? (size_t)(end - zone - 1) : 0;

		return !digits(zone + 1, zn) || zn > 10;
	}
	return false;
}

static void test_random(void)
{
	const uint64_t seed = 0x61646472ULL;
	unsigned int same = 0, apart = 0, accepted = 0, agreed = 0;
	struct test_rng r;

	test_rng_seed(&r, seed);
	for (int i = 0; i < 200000; i++) {
		char buf[96], *exact, got[ADDR_DIALECTS][ADDR_WHY_MAX + 64];
		bool endpoint = i & 1;
		size_t len = random_text(&r, buf, endpoint);
		bool differ = endpoint ? endpoint_rules_differ(buf, len) :
			      prefix_rules_differ(buf, len);
		int ret[ADDR_DIALECTS];

		/* Exactly len bytes on the heap: ASan sees a read past the end. */
		exact = malloc(len ? len : 1);
		memcpy(exact, buf, len);
		for (int d = 0; d < ADDR_DIALECTS; d++) {
			run_fn *run = endpoint ? run_endpoint : run_prefix;

			ret[d] = run((enum addr_dialect)d, exact, len, got[d], sizeof(got[d]));
		}
		free(exact);
		accepted += ret[ADDR_CONFIG] == 0 || ret[ADDR_UAPI] == 0;
		if (differ) {
			apart++;
			continue;
		}
		same++;
		agreed += ret[ADDR_CONFIG] == 0 && ret[ADDR_UAPI] == 0;
		CHECK((ret[ADDR_CONFIG] == 0) == (ret[ADDR_UAPI] == 0) &&
		      (ret[ADDR_CONFIG] != 0 || strcmp(got[ADDR_CONFIG], got[ADDR_UAPI]) == 0),
		      "%s \"%.*s\": no rule tells the dialects apart, yet config says %s and "
		      "uapi %s", endpoint ? "endpoint" : "prefix", (int)len, buf, got[ADDR_CONFIG],
		      got[ADDR_UAPI]);
	}
	printf("random (seed %#llx): %u texts under the common rules (%u accepted by both), %u "
	       "under a differing rule, %u accepted somewhere\n", (unsigned long long)seed, same,
	       agreed, apart, accepted);
	CHECK(agreed > 1000 && accepted > agreed, "the random texts should reach past the checks");
}

int main(void)
{
	test_table("prefixes", prefixes, sizeof(prefixes) / sizeof(prefixes[0]), run_prefix);
	test_table("endpoints", endpoints, sizeof(endpoints) / sizeof(endpoints[0]), run_endpoint);
	test_ip();
	test_edges();
	test_random();
	return test_done("addr");
}
