/* SPDX-License-Identifier: MIT */
/*
 * Devconf (lib/devconf.h) helpers shared by tests/test_uapi.c and tests/test_uapi_server.c:
 * describe() writes one as a canonical line, so tests state what a parse or a set produced as
 * text ("dev: pk=aaaaaaaa port=51820 | peer=bbbbbbbb ep=192.0.2.1%0:1 ips=10.0.0.0/8"; keys show
 * their first 4 bytes); the builders abort() on bad test input.
 */
#ifndef MG_TESTS_DEVCONF_UTIL_H
#define MG_TESTS_DEVCONF_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "devconf.h"

/* Test keys, as hex: KU is KC in upper case (the same key). */
#define KA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define KB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define KC "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define KU "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"

struct sbuf {
	char s[4096];
	size_t n;
};

/* Fills b and returns b->s. */
const char *describe(const struct devconf *c, struct sbuf *b);

void set_key(uint8_t key[32], const char *hex);
void add_ip(struct devconf_peer *p, int family, const char *ip, unsigned int cidr);
void set_endpoint(struct devconf_peer *p, int family, const char *ip, uint16_t port, uint32_t scope);
struct devconf_peer *add_peer(struct devconf *c, const char *hex);
/* Private key KC, port 51820, fwmark 0x1234; peers KA (psk, IPv4 endpoint, handshake, counters,
 * keepalive, three allowed IPs), KB (link-local IPv6 endpoint, scope 3), KU (::/0). */
void build_state(struct devconf *c);

#endif
