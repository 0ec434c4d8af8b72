/* SPDX-License-Identifier: MIT */
/*
 * Address text, one parser for every dialect: each dialect is a row of rules (what it accepts
 * beyond the common grammar) and words (what it says for each way text can be wrong). A parser
 * checks in one fixed order, so for any text every dialect refuses at the same step and only the
 * words differ, unless a rule makes that step pass in one dialect and not another.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

struct words {
	/* prefixes */
	const char *no_slash;       /* "/" missing where a bare address is not a prefix */
	const char *no_address;     /* nothing before "/", or too long to be an address */
	const char *bad_ip4;        /* not an IPv4 address (no ':' before "/") */
	const char *bad_ip6;
	const char *extra_slash;    /* a second "/" */
	const char *leading_zero;   /* "/08" where that is refused */
	const char *bad_len;        /* not digits, or more than 2^32 - 1 */
	const char *len_range;      /* above 32 or 128; NULL: say "prefix length N out of range
	                             * for IPvX" */
	/* endpoints */
	const char *no_port;        /* no ':' at all */
	const char *bad_port;
	const char *unclosed;       /* "[" without "]" right before the port's ':' */
	const char *no_brackets;    /* IPv6 without brackets */
	const char *bad_scope;
	const char *bad_ep6;        /* the bracketed address */
	const char *bad_ep4;
};

struct dialect {
	bool bare_is_host;   /* "10.0.0.1" is 10.0.0.1/32 */
	bool len_leading_zero;
	bool port_zero;
	bool scope_names;    /* a scope that is not a number is an interface name */
	size_t max_digits;   /* in any number; 0: no limit */
	struct words say;
};

static const char v4_endpoint_uapi[] =
	"expected a.b.c.d:port or [ipv6]:port (hostnames are resolved by wg)";

static const struct dialect dialects[ADDR_DIALECTS] = {
	/* The config file: wg(8)'s config-file forms (bare addresses, "/08"), numbers of at most
	 * 10 digits, and a port something can be sent to. Scopes are numbers: meshgate's WAN is a
	 * DPDK port, so the host's interface names do not name a way out. */
	[ADDR_CONFIG] = {
		.bare_is_host = true,
		.len_leading_zero = true,
		.port_zero = false,
		.scope_names = false,
		.max_digits = 10,
		.say = {
			.no_slash = "expected address/prefix",
			.no_address = "expected address/prefix",
			.bad_ip4 = "not an IPv4 address",
			.bad_ip6 = "not an IPv6 address",
			.extra_slash = "bad prefix length",
			.leading_zero = "bad prefix length",
			.bad_len = "bad prefix length",
			.len_range = NULL,
			.no_port = "expected a.b.c.d:port or [ipv6]:port",
			.bad_port = "bad port (1..65535)",
			.unclosed = "expected [ipv6]:port",
			.no_brackets = "an IPv6 endpoint needs brackets: [ipv6]:port",
			.bad_scope = "bad scope (only numeric scopes: no interfaces to name here)",
			.bad_ep6 = "not an IPv6 address",
			.bad_ep4 = "not an IPv4 address (host names are not resolved)",
		},
	},
	/* The UAPI: what wireguard-go takes, Go's netip.ParsePrefix and netip.ParseAddrPort with
	 * strconv.ParseUint's numbers; scopes by name too, since wg(8) prints link-local endpoints
	 * with interface names (getnameinfo) and sends them back so in `wg syncconf`. */
	[ADDR_UAPI] = {
		.bare_is_host = false,
		.len_leading_zero = false,
		.port_zero = true,
		.scope_names = true,
		.max_digits = 0,
		.say = {
			.no_slash = "expected address/cidr",
			.no_address = "bad address",
			.bad_ip4 = "bad address",
			.bad_ip6 = "bad address",
			.extra_slash = "bad address",
			.leading_zero = "leading zero in cidr",
			.bad_len = "bad cidr",
			.len_range = "bad cidr",
			.no_port = "expected address:port",
			.bad_port = "bad port",
			.unclosed = v4_endpoint_uapi,
			.no_brackets = v4_endpoint_uapi,
			.bad_scope = "bad or unknown scope",
			.bad_ep6 = "bad IPv6 address",
			.bad_ep4 = v4_endpoint_uapi,
		},
	},
};

static int refuse(char *why, size_t whylen, const char *words)
{
	if (whylen)
		snprintf(why, whylen, "%s", words);
	return -EINVAL;
}

/* Decimal digits only (no sign, no space), at most max; at most d->max_digits of them. */
static bool number(const struct dialect *d, const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || (d->max_digits && n > d->max_digits))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

int addr_parse_ip(int family, const char *text, size_t len, uint8_t addr[16])
{
	char buf[INET6_ADDRSTRLEN];

	memset(addr, 0, 16);
	if ((family != AF_INET && family != AF_INET6) || len == 0 || len >= sizeof(buf) ||
	    memchr(text, '\0', len))
		return -EINVAL;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(family, buf, addr) != 1) {
		memset(addr, 0, 16);
		return -EINVAL;
	}
	return 0;
}

/* Steps, in order: the '/', the address (family by ':'), the length. */
static int prefix(const struct dialect *d, const char *s, size_t n, struct addr_prefix *out,
		  char *why, size_t whylen)
{
	const char *slash = memchr(s, '/', n);
	size_t an = slash ? (size_t)(slash - s) : n;
	const char *bits = slash ? slash + 1 : NULL;
	size_t bn = slash ? n - an - 1 : 0;
	uint64_t v;

	if (!slash && !d->bare_is_host)
		return refuse(why, whylen, d->say.no_slash);
	out->family = memchr(s, ':', an) ? AF_INET6 : AF_INET;
	if (an == 0 || an >= INET6_ADDRSTRLEN)
		return refuse(why, whylen, d->say.no_address);
	if (addr_parse_ip(out->family, s, an, out->addr))
		return refuse(why, whylen,
			      out->family == AF_INET ? d->say.bad_ip4 : d->say.bad_ip6);
	v = out->family == AF_INET ? 32 : 128;
	if (bits) {
		if (memchr(bits, '/', bn))
			return refuse(why, whylen, d->say.extra_slash);
		if (!d->len_leading_zero && bn > 1 && bits[0] == '0')
			return refuse(why, whylen, d->say.leading_zero);
		if (!number(d, bits, bn, UINT32_MAX, &v))
			return refuse(why, whylen, d->say.bad_len);
		if (v > (out->family == AF_INET ? 32u : 128u)) {
			if (d->say.len_range)
				return refuse(why, whylen, d->say.len_range);
			if (whylen)
				snprintf(why, whylen, "prefix length %u out of range for %s",
					 (unsigned int)v, out->family == AF_INET ? "IPv4" : "IPv6");
			return -EINVAL;
		}
	}
	out->len = (uint8_t)v;
	return 0;
}

int addr_parse_prefix(enum addr_dialect d, const char *text, size_t len, struct addr_prefix *out,
		      char *why, size_t whylen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	if (whylen)
		why[0] = '\0';
	if ((unsigned int)d >= ADDR_DIALECTS)
		return refuse(why, whylen, "unknown address dialect");
	ret = prefix(&dialects[d], text, len, out, why, whylen);
	if (ret)
		memset(out, 0, sizeof(*out));
	return ret;
}

/* A number, or (where the dialect takes names) an interface the resolver knows. */
static bool scope(const struct dialect *d, const char *s, size_t n, addr_scope_resolver *resolve,
		  uint32_t *out)
{
	char name[ADDR_SCOPE_NAME_MAX + 1];
	uint64_t v;

	if (number(d, s, n, UINT32_MAX, &v)) {
		*out = (uint32_t)v;
		return true;
	}
	if (!d->scope_names || !resolve || n == 0 || n >= sizeof(name) || memchr(s, '\0', n))
		return false;
	memcpy(name, s, n);
	name[n] = '\0';
	*out = resolve(name);
	return *out != 0;
}

/* Steps, in order: the last ':' and the port; then brackets, scope, address. */
static int endpoint(const struct dialect *d, const char *s, size_t n, addr_scope_resolver *resolve,
		    struct devconf_endpoint *ep, char *why, size_t whylen)
{
	const char *colon = n ? memrchr(s, ':', n) : NULL;
	size_t hn = colon ? (size_t)(colon - s) : 0;
	const char *inner, *zone;
	size_t in;
	uint64_t port;

	if (!colon)
		return refuse(why, whylen, d->say.no_port);
	if (!number(d, colon + 1, n - hn - 1, UINT16_MAX, &port) || (port == 0 && !d->port_zero))
		return refuse(why, whylen, d->say.bad_port);
	ep->port = (uint16_t)port;
	if (hn == 0 || s[0] != '[') {
		if (memchr(s, ':', hn))
			return refuse(why, whylen, d->say.no_brackets);
		if (addr_parse_ip(AF_INET, s, hn, ep->addr))
			return refuse(why, whylen, d->say.bad_ep4);
		ep->family = AF_INET;
		return 0;
	}
	if (hn < 2 || s[hn - 1] != ']')
		return refuse(why, whylen, d->say.unclosed);
	inner = s + 1;
	in = hn - 2;
	/* Where numbers are bounded, longer than an address's buffer, '%' and the longest scope
	 * cannot be an address: said before looking at the scope. */
	if (d->max_digits && in > INET6_ADDRSTRLEN + 1 + d->max_digits)
		return refuse(why, whylen, d->say.bad_ep6);
	zone = memchr(inner, '%', in);
	if (zone) {
		size_t zn = in - (size_t)(zone - inner) - 1;

		in -= zn + 1;
		if (!scope(d, zone + 1, zn, resolve, &ep->scope_id))
			return refuse(why, whylen, d->say.bad_scope);
	}
	if (addr_parse_ip(AF_INET6, inner, in, ep->addr))
		return refuse(why, whylen, d->say.bad_ep6);
	ep->family = AF_INET6;
	return 0;
}

int addr_parse_endpoint(enum addr_dialect d, const char *text, size_t len,
			addr_scope_resolver *resolve, struct devconf_endpoint *ep, char *why,
			size_t whylen)
{
	int ret;

	memset(ep, 0, sizeof(*ep));
	if (whylen)
		why[0] = '\0';
	if ((unsigned int)d >= ADDR_DIALECTS)
		return refuse(why, whylen, "unknown address dialect");
	ret = endpoint(&dialects[d], text, len, resolve, ep, why, whylen);
	if (ret)
		memset(ep, 0, sizeof(*ep));
	return ret;
}
