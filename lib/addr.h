/* SPDX-License-Identifier: MIT */
/*
 * Address text: IPv4 and IPv6 addresses, prefixes ("10.0.0.0/8", "fd00::/64") and endpoints
 * ("192.0.2.1:51820", "[2001:db8::1]:51820", "[fe80::1%2]:51820"), parsed as pure functions over
 * counted strings. Strictly numeric: no host name is resolved here, and the one name an endpoint
 * may carry (an interface as IPv6 scope, in dialects that take one) is resolved by the caller's
 * function. Addresses themselves are inet_pton's (glibc: dotted quads without leading zeros,
 * RFC 4291 IPv6 text, IPv4-mapped forms); an embedded NUL is refused.
 *
 * Each source of address text has rules of its own, its dialect, and words of its own for what
 * is wrong. The dialects differ only where a rule below says so; everything else is common:
 *
 *   rule                               ADDR_CONFIG               ADDR_UAPI
 *   a bare address as a prefix         yes: /32 or /128 (wg(8))  no: "/" required (Go's netip)
 *   leading zero in a prefix length    yes: "/08" is 8 (wg(8))   no (Go >= 1.22's netip)
 *   endpoint port 0                    no (nothing to send to)   yes (Go's netip, wireguard-go)
 *   digits in a number (port, prefix   at most 10                any (Go's ParseUint: leading
 *   length, scope)                                               zeros without limit)
 *   scope by interface name            no: numeric only          yes, through the resolver
 *
 * Common: a prefix length in decimal digits only (no sign, no space) within 32 or 128; host bits
 * kept as given; an IPv6 endpoint in brackets, an IPv4 one without; the port after the last ':';
 * a scope ('%' in the brackets) on any IPv6 address, numeric up to 2^32 - 1, never empty.
 */
#ifndef MG_ADDR_H
#define MG_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "devconf.h"

enum addr_dialect {
	ADDR_CONFIG, /* meshgate's JSON config file (lib/config.c) */
	ADDR_UAPI,   /* the cross-platform UAPI that wg(8) speaks (lib/uapi.c), as wireguard-go */
	ADDR_DIALECTS
};

/* Room for any reason a parser gives, with its terminating NUL. */
#define ADDR_WHY_MAX 96
/* The longest interface name a scope may be (Linux IFNAMSIZ - 1). */
#define ADDR_SCOPE_NAME_MAX 15

struct addr_prefix {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes, then zeros; host bits kept */
	uint8_t len;      /* prefix length */
};

/* An interface name (NUL-terminated, 1..ADDR_SCOPE_NAME_MAX bytes) to its index; 0: none. */
typedef uint32_t addr_scope_resolver(const char *name);

/* One address of the given family (AF_INET or AF_INET6), nothing around it; addr is zero-padded
 * to 16 bytes. 0 or -EINVAL (then addr is all zero). The same in every dialect. */
int addr_parse_ip(int family, const char *text, size_t len, uint8_t addr[16]);

/*
 * "addr/len" (or, in ADDR_CONFIG, a bare address meaning /32 or /128). 0, or -EINVAL with *out
 * zeroed and why (when whylen > 0) saying what is wrong in the dialect's words.
 */
int addr_parse_prefix(enum addr_dialect d, const char *text, size_t len, struct addr_prefix *out,
		      char *why, size_t whylen);

/*
 * "a.b.c.d:port", "[ipv6]:port" or "[ipv6%scope]:port" into *ep (family, address, port, scope).
 * resolve turns a scope that is not a number into an interface index, in dialects that take
 * names (ADDR_UAPI); NULL refuses names there. 0, or -EINVAL with *ep zeroed and why saying what
 * is wrong in the dialect's words.
 */
int addr_parse_endpoint(enum addr_dialect d, const char *text, size_t len,
			addr_scope_resolver *resolve, struct devconf_endpoint *ep, char *why,
			size_t whylen);

#endif
