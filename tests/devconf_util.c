/* SPDX-License-Identifier: MIT */
/* Devconf helpers for tests: see devconf_util.h. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devconf_util.h"
#include "keyenc.h"

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

const char *describe(const struct devconf *c, struct sbuf *b)
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

/* --- building one --- */

void set_key(uint8_t key[32], const char *hex)
{
	if (keyenc_from_hex(key, hex, strlen(hex)) != 0)
		abort();
}

void add_ip(struct devconf_peer *p, int family, const char *ip, unsigned int cidr)
{
	struct devconf_allowed_ip *a = devconf_add_allowed_ip(p);

	if (!a || inet_pton(family, ip, a->addr) != 1)
		abort();
	a->family = family;
	a->cidr = (uint8_t)cidr;
}

void set_endpoint(struct devconf_peer *p, int family, const char *ip, uint16_t port,
			 uint32_t scope)
{
	p->has_endpoint = true;
	p->endpoint.family = family;
	p->endpoint.port = port;
	p->endpoint.scope_id = scope;
	if (inet_pton(family, ip, p->endpoint.addr) != 1)
		abort();
}

struct devconf_peer *add_peer(struct devconf *c, const char *hex)
{
	struct devconf_peer *p = devconf_add_peer(c);

	if (!p)
		abort();
	set_key(p->public_key, hex);
	return p;
}

/* The device state both tests format and serve. */
void build_state(struct devconf *c)
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
