/* SPDX-License-Identifier: MIT */
/*
 * UAPI text protocol: set bodies into a devconf, a devconf into a get answer. Written from the
 * protocol description and wireguard-go's observable behaviour (which values it accepts, which
 * errno it answers); see uapi.h for the contract.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "addr.h"
#include "devconf.h"
#include "keyenc.h"
#include "uapi.h"

enum uapi_op uapi_parse_op(const char *line, size_t len)
{
	if (len == 5 && memcmp(line, "get=1", 5) == 0)
		return UAPI_OP_GET;
	if (len == 5 && memcmp(line, "set=1", 5) == 0)
		return UAPI_OP_SET;
	return UAPI_OP_INVALID;
}

ssize_t uapi_find_body_end(const char *buf, size_t len, size_t from, size_t *next)
{
	size_t pos = from;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end;

		if (!nl)
			break;
		end = (size_t)(nl - buf);
		if (end == pos || (end == pos + 1 && buf[pos] == '\r')) {
			*next = end + 1;
			return (ssize_t)pos;
		}
		pos = end + 1;
	}
	/* pos is a line start: everything before it is complete non-empty lines. */
	*next = pos;
	return -1;
}

/* --- set --- */

struct parser {
	struct devconf *out;
	addr_scope_resolver *resolve; /* "%eth0" scopes: the caller's lookup, NULL refuses them */
	char *err;
	size_t errlen;
	unsigned long line;
	const char *key; /* key of the current line, NULL before it is known */
	size_t keylen;
	const char *why; /* set by handlers that fail */
};

/* Copies untrusted bytes into an error message: bounded, control bytes shown as '?'. */
static void sanitize(char *dst, size_t size, const char *src, size_t n)
{
	size_t max = size - 4, i;

	for (i = 0; i < n && i < max; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	if (i < n) {
		memcpy(&dst[i], "...", 3);
		i += 3;
	}
	dst[i] = '\0';
}

/* Records why the line failed. val, when given, is quoted: never pass key material. */
static int fail(struct parser *p, int code, const char *why, const char *val, size_t vlen)
{
	char key[36], v[52];

	if (!p->errlen)
		return code;
	sanitize(key, sizeof(key), p->key ? p->key : "", p->key ? p->keylen : 0);
	sanitize(v, sizeof(v), val ? val : "", val ? vlen : 0);
	if (!p->key)
		snprintf(p->err, p->errlen, "line %lu: %s", p->line, why);
	else if (!val)
		snprintf(p->err, p->errlen, "line %lu: %s: %s", p->line, key, why);
	else
		snprintf(p->err, p->errlen, "line %lu: %s: %s: \"%s\"", p->line, key, why, v);
	return code;
}

/* Go's strconv.ParseUint(s, 10, bits): digits only, leading zeros fine, no sign. */
static bool parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
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

static bool is_true(const char *v, size_t n)
{
	return n == 4 && memcmp(v, "true", 4) == 0;
}

static struct devconf_peer *cur_peer(struct parser *p)
{
	return &p->out->peers[p->out->n_peers - 1];
}

static int h_private_key(struct parser *p, const char *v, size_t n)
{
	if (keyenc_from_hex(p->out->private_key, v, n) != 0)
		return fail(p, UAPI_ERR_INVALID, "not a 64-digit hex key", NULL, 0);
	p->out->has_private_key = true;
	return 0;
}

static int h_listen_port(struct parser *p, const char *v, size_t n)
{
	uint64_t port;

	if (!parse_uint(v, n, UINT16_MAX, &port))
		return fail(p, UAPI_ERR_INVALID, "not a port number", v, n);
	p->out->has_listen_port = true;
	p->out->listen_port = (uint16_t)port;
	return 0;
}

static int h_fwmark(struct parser *p, const char *v, size_t n)
{
	uint64_t mark;

	if (!parse_uint(v, n, UINT32_MAX, &mark))
		return fail(p, UAPI_ERR_INVALID, "not a 32-bit decimal number", v, n);
	p->out->has_fwmark = true;
	p->out->fwmark = (uint32_t)mark;
	return 0;
}

static int h_replace_peers(struct parser *p, const char *v, size_t n)
{
	if (!is_true(v, n))
		return fail(p, UAPI_ERR_INVALID, "only \"true\" is valid", v, n);
	p->out->replace_peers = true;
	return 0;
}

static int h_public_key(struct parser *p, const char *v, size_t n)
{
	uint8_t key[DEVCONF_KEY_LEN];

	if (keyenc_from_hex(key, v, n) != 0)
		return fail(p, UAPI_ERR_INVALID, "not a 64-digit hex key", NULL, 0);
	if (!devconf_add_peer(p->out)) {
		sodium_memzero(key, sizeof(key));
		return fail(p, -ENOMEM, "out of memory", NULL, 0);
	}
	memcpy(cur_peer(p)->public_key, key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	return 0;
}

static int h_update_only(struct parser *p, const char *v, size_t n)
{
	if (!is_true(v, n))
		return fail(p, UAPI_ERR_INVALID, "only \"true\" is valid", v, n);
	cur_peer(p)->update_only = true;
	return 0;
}

static int h_remove(struct parser *p, const char *v, size_t n)
{
	if (!is_true(v, n))
		return fail(p, UAPI_ERR_INVALID, "only \"true\" is valid", v, n);
	cur_peer(p)->remove = true;
	return 0;
}

static int h_preshared_key(struct parser *p, const char *v, size_t n)
{
	struct devconf_peer *peer = cur_peer(p);

	if (keyenc_from_hex(peer->preshared_key, v, n) != 0)
		return fail(p, UAPI_ERR_INVALID, "not a 64-digit hex key", NULL, 0);
	peer->has_preshared_key = true;
	return 0;
}

static int h_endpoint(struct parser *p, const char *v, size_t n)
{
	struct devconf_peer *peer = cur_peer(p);
	char why[ADDR_WHY_MAX];

	if (addr_parse_endpoint(ADDR_UAPI, v, n, p->resolve, &peer->endpoint, why, sizeof(why)))
		return fail(p, UAPI_ERR_INVALID, why, v, n);
	peer->has_endpoint = true;
	return 0;
}

static int h_keepalive(struct parser *p, const char *v, size_t n)
{
	struct devconf_peer *peer = cur_peer(p);
	uint64_t secs;

	if (!parse_uint(v, n, UINT16_MAX, &secs))
		return fail(p, UAPI_ERR_INVALID, "not a number of seconds (0..65535)", v, n);
	peer->has_persistent_keepalive = true;
	peer->persistent_keepalive = (uint16_t)secs;
	return 0;
}

static int h_replace_allowed_ips(struct parser *p, const char *v, size_t n)
{
	struct devconf_peer *peer = cur_peer(p);

	if (!is_true(v, n))
		return fail(p, UAPI_ERR_INVALID, "only \"true\" is valid", v, n);
	/* Applied in order, it would wipe what earlier lines of this entry added. */
	free(peer->allowed_ips);
	peer->allowed_ips = NULL;
	peer->n_allowed_ips = 0;
	peer->replace_allowed_ips = true;
	return 0;
}

static int h_allowed_ip(struct parser *p, const char *v, size_t n)
{
	bool remove = n > 0 && v[0] == '-';
	struct devconf_allowed_ip *slot;
	struct addr_prefix a;
	char why[ADDR_WHY_MAX];

	if (addr_parse_prefix(ADDR_UAPI, v + remove, n - remove, &a, why, sizeof(why)))
		return fail(p, UAPI_ERR_INVALID, why, v, n);
	slot = devconf_add_allowed_ip(cur_peer(p));
	if (!slot)
		return fail(p, -ENOMEM, "out of memory", NULL, 0);
	slot->family = a.family;
	memcpy(slot->addr, a.addr, sizeof(slot->addr));
	slot->cidr = a.len;
	slot->remove = remove;
	return 0;
}

static int h_protocol_version(struct parser *p, const char *v, size_t n)
{
	if (n != 1 || v[0] != '1')
		return fail(p, UAPI_ERR_INVALID, "only version 1 exists", v, n);
	return 0;
}

struct key_handler {
	const char *name;
	bool peer; /* belongs to the peer section, else to the device section */
	int (*fn)(struct parser *p, const char *v, size_t n);
};

static const struct key_handler handlers[] = {
	{ "private_key", false, h_private_key },
	{ "listen_port", false, h_listen_port },
	{ "fwmark", false, h_fwmark },
	{ "replace_peers", false, h_replace_peers },
	{ "update_only", true, h_update_only },
	{ "remove", true, h_remove },
	{ "preshared_key", true, h_preshared_key },
	{ "endpoint", true, h_endpoint },
	{ "persistent_keepalive_interval", true, h_keepalive },
	{ "replace_allowed_ips", true, h_replace_allowed_ips },
	{ "allowed_ip", true, h_allowed_ip },
	{ "protocol_version", true, h_protocol_version },
};

static int parse_line(struct parser *p, const char *line, size_t n)
{
	bool in_peer = p->out->n_peers > 0;
	const char *eq, *v;
	size_t vn;

	p->key = NULL;
	if (n > UAPI_MAX_LINE)
		return fail(p, UAPI_ERR_IO, "line too long", NULL, 0);
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n == 0)
		return fail(p, UAPI_ERR_PROTOCOL, "empty line inside the body", NULL, 0);
	eq = memchr(line, '=', n);
	if (!eq)
		return fail(p, UAPI_ERR_PROTOCOL, "no '=' in line", NULL, 0); /* may hold a key */
	p->key = line;
	p->keylen = (size_t)(eq - line);
	v = eq + 1;
	vn = n - p->keylen - 1;
	if (p->keylen == 10 && memcmp(line, "public_key", 10) == 0)
		return h_public_key(p, v, vn);
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		const struct key_handler *h = &handlers[i];

		if (h->peer == in_peer && strlen(h->name) == p->keylen &&
		    memcmp(h->name, line, p->keylen) == 0)
			return h->fn(p, v, vn);
	}
	return fail(p, UAPI_ERR_INVALID, in_peer ? "invalid peer key" : "invalid device key",
		    NULL, 0);
}

int uapi_parse_set(const char *text, size_t len, addr_scope_resolver *resolve, struct devconf *out,
		   char *err, size_t errlen)
{
	struct parser p = { .out = out, .resolve = resolve, .err = err, .errlen = errlen };
	size_t pos = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	while (pos < len && ret == 0) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;

		pos += n + (nl != NULL);
		p.line++;
		ret = parse_line(&p, line, n);
	}
	if (ret)
		devconf_free(out); /* wipes and zeroes: nothing half-filled */
	return ret;
}

/* --- get --- */

/* Two passes over the same output: count (buf NULL), then write into an exact allocation, so
 * the private key never sits in a buffer that realloc would free unwiped. */
struct outbuf {
	char *buf;
	size_t cap;
	size_t len;
	bool bad;
};

__attribute__((format(printf, 2, 3)))
static void put(struct outbuf *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf ? o->buf + o->len : NULL, o->buf ? o->cap - o->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (o->buf && (size_t)n >= o->cap - o->len)) {
		o->bad = true;
		return;
	}
	o->len += (size_t)n;
}

static void put_key(struct outbuf *o, const char *name, const uint8_t key[DEVCONF_KEY_LEN])
{
	char hex[KEYENC_HEX_LEN + 1];

	keyenc_to_hex(hex, key);
	put(o, "%s=%s\n", name, hex);
	sodium_memzero(hex, sizeof(hex));
}

static int put_endpoint(struct outbuf *o, const struct devconf_endpoint *ep)
{
	char ip[INET6_ADDRSTRLEN];

	if ((ep->family != AF_INET && ep->family != AF_INET6) ||
	    !inet_ntop(ep->family, ep->addr, ip, sizeof(ip)))
		return -EINVAL;
	if (ep->family == AF_INET)
		put(o, "endpoint=%s:%u\n", ip, ep->port);
	else if (ep->scope_id)
		put(o, "endpoint=[%s%%%" PRIu32 "]:%u\n", ip, ep->scope_id, ep->port);
	else
		put(o, "endpoint=[%s]:%u\n", ip, ep->port);
	return 0;
}

/* The table stores prefixes masked, so wireguard-go only ever prints them masked. */
static int put_allowed_ip(struct outbuf *o, const struct devconf_allowed_ip *a)
{
	unsigned int bytes = a->family == AF_INET ? 4 : 16;
	char ip[INET6_ADDRSTRLEN];
	uint8_t addr[16] = { 0 };

	if ((a->family != AF_INET && a->family != AF_INET6) || a->cidr > bytes * 8 || a->remove)
		return -EINVAL;
	memcpy(addr, a->addr, a->cidr / 8);
	if (a->cidr % 8)
		addr[a->cidr / 8] = a->addr[a->cidr / 8] & (uint8_t)(0xff00 >> (a->cidr % 8));
	if (!inet_ntop(a->family, addr, ip, sizeof(ip)))
		return -EINVAL;
	put(o, "allowed_ip=%s/%u\n", ip, a->cidr);
	return 0;
}

static int put_peer(struct outbuf *o, const struct devconf_peer *p)
{
	static const uint8_t zero[DEVCONF_KEY_LEN];
	/* wg parses these with strtoull after an isdigit check: a '-' would fail the whole get. */
	int64_t sec = p->last_handshake_sec < 0 ? 0 : p->last_handshake_sec;
	int64_t nsec = p->last_handshake_nsec < 0 ? 0 : p->last_handshake_nsec;

	put_key(o, "public_key", p->public_key);
	put_key(o, "preshared_key", p->has_preshared_key ? p->preshared_key : zero);
	put(o, "protocol_version=1\n");
	if (p->has_endpoint && put_endpoint(o, &p->endpoint) != 0)
		return -EINVAL;
	put(o, "last_handshake_time_sec=%" PRId64 "\n", sec);
	put(o, "last_handshake_time_nsec=%" PRId64 "\n", nsec);
	put(o, "tx_bytes=%" PRIu64 "\n", p->tx_bytes);
	put(o, "rx_bytes=%" PRIu64 "\n", p->rx_bytes);
	put(o, "persistent_keepalive_interval=%u\n",
	    p->has_persistent_keepalive ? p->persistent_keepalive : 0);
	for (size_t i = 0; i < p->n_allowed_ips; i++)
		if (put_allowed_ip(o, &p->allowed_ips[i]) != 0)
			return -EINVAL;
	return 0;
}

static int put_device(struct outbuf *o, const struct devconf *c)
{
	if (c->has_private_key && !sodium_is_zero(c->private_key, DEVCONF_KEY_LEN))
		put_key(o, "private_key", c->private_key);
	if (c->has_listen_port && c->listen_port)
		put(o, "listen_port=%u\n", c->listen_port);
	if (c->has_fwmark && c->fwmark)
		put(o, "fwmark=%" PRIu32 "\n", c->fwmark);
	for (size_t i = 0; i < c->n_peers; i++)
		if (put_peer(o, &c->peers[i]) != 0)
			return -EINVAL;
	return o->bad ? -EINVAL : 0;
}

int uapi_format_get(const struct devconf *state, char **out, size_t *out_len)
{
	struct outbuf o = { 0 };
	int ret;

	*out = NULL;
	*out_len = 0;
	ret = put_device(&o, state);
	if (ret)
		return ret;
	o.cap = o.len + 1;
	o.len = 0;
	o.buf = malloc(o.cap);
	if (!o.buf)
		return -ENOMEM;
	o.buf[0] = '\0';
	ret = put_device(&o, state);
	if (ret || o.len != o.cap - 1) {
		uapi_free_text(o.buf, o.cap - 1);
		return ret ? ret : -EINVAL;
	}
	*out = o.buf;
	*out_len = o.len;
	return 0;
}

void uapi_free_text(char *text, size_t len)
{
	if (!text)
		return;
	sodium_memzero(text, len + 1);
	free(text);
}
