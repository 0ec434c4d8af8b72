/* SPDX-License-Identifier: MIT */
/*
 * The JSON config file, parsed by walking cJSON's tree against one field table per object. Each
 * table names its fields, which are required, and a handler; the walk refuses unknown and
 * duplicate members first, then missing ones, then runs handlers in table order, so the first
 * error reported does not depend on member order. A context carries the field path
 * ("peers[0].allowed_ips[1]") for messages. Handlers write straight into the output; on any
 * error config_parse frees it whole, so nothing half-filled escapes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "config.h"
#include "keyenc.h"

#define QUOTE_MAX 80       /* a user's string as shown in an error message */
#define MAX_STRING 4096    /* paths, device strings, EAL arguments */
#define KEY_FILE_MAX 256   /* a key plus generous trailing whitespace */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct ctx {
	char *err;
	size_t errlen;
	char path[256];
	size_t plen;
};

struct field {
	const char *name;
	bool required;
	int (*parse)(struct ctx *c, const cJSON *v, void *obj);
};

/* --- error messages and field paths --- */

__attribute__((format(printf, 2, 3)))
static int fail(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->err || c->errlen == 0)
		return -EINVAL;
	n = snprintf(c->err, c->errlen, "%s: ", c->plen ? c->path : "top level");
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int fail_nomem(struct ctx *c)
{
	fail(c, "out of memory");
	return -ENOMEM;
}

/* A user's string for a message: quoted, non-printables escaped, long ones cut. */
static const char *quote(char buf[QUOTE_MAX], const char *s)
{
	size_t o = 0;

	buf[o++] = '"';
	for (; *s && o < QUOTE_MAX - 10; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, 5, "\\x%02x", ch);
	}
	if (*s) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static int fail_value(struct ctx *c, const char *value, const char *why)
{
	char q[QUOTE_MAX];

	return fail(c, "%s: %s", quote(q, value), why);
}

/* Advances the path by what snprintf wrote (clamped when cut short). */
static void path_grow(struct ctx *c, int n)
{
	if (n > 0)
		c->plen = c->plen + (size_t)n < sizeof(c->path) ? c->plen + (size_t)n :
			  sizeof(c->path) - 1;
}

/* Appends ".name"; returns the length to restore. Names may come from the user: sanitised. */
static size_t path_field(struct ctx *c, const char *name)
{
	size_t old = c->plen;
	char q[QUOTE_MAX];

	quote(q, name);
	q[strlen(q) - 1] = '\0'; /* without the quotes */
	path_grow(c, snprintf(c->path + old, sizeof(c->path) - old, "%s%s", old ? "." : "", q + 1));
	return old;
}

static size_t path_index(struct ctx *c, size_t i)
{
	size_t old = c->plen;

	path_grow(c, snprintf(c->path + old, sizeof(c->path) - old, "[%zu]", i));
	return old;
}

static void path_pop(struct ctx *c, size_t len)
{
	c->plen = len;
	c->path[len] = '\0';
}

/* --- typed values --- */

static const char *type_name(const cJSON *v)
{
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "something else";
}

static int fail_type(struct ctx *c, const cJSON *v, const char *want)
{
	return fail(c, "expected %s, got %s", want, type_name(v));
}

/* Non-empty string of at most MAX_STRING bytes. */
static int get_string(struct ctx *c, const cJSON *v, const char **out)
{
	if (!cJSON_IsString(v) || !v->valuestring)
		return fail_type(c, v, "a string");
	if (v->valuestring[0] == '\0')
		return fail(c, "empty string");
	if (strnlen(v->valuestring, MAX_STRING + 1) > MAX_STRING)
		return fail(c, "longer than %d bytes", MAX_STRING);
	*out = v->valuestring;
	return 0;
}

static int dup_string(struct ctx *c, const cJSON *v, char **out)
{
	const char *s;
	int ret = get_string(c, v, &s);

	if (ret)
		return ret;
	*out = strdup(s);
	return *out ? 0 : fail_nomem(c);
}

/* JSON has only doubles: an integer is a number in range with no fraction. */
static int get_uint(struct ctx *c, const cJSON *v, unsigned long min, unsigned long max,
		    unsigned long *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return fail_type(c, v, "an integer");
	d = v->valuedouble;
	if (!(d >= (double)min && d <= (double)max))
		return fail(c, "%g out of range %lu..%lu", d, min, max);
	if (d != (double)(unsigned long)d)
		return fail(c, "%g is not an integer", d);
	*out = (unsigned long)d;
	return 0;
}

/* Exactly one of names; returns its index. */
static int get_choice(struct ctx *c, const cJSON *v, const char *const *names, size_t n,
		      const char *expect, int *out)
{
	const char *s;
	int ret = get_string(c, v, &s);

	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	return fail_value(c, s, expect);
}

/* Linux dev_valid_name(): 1..15 bytes, no '/', ':' or whitespace, not "." or "..". We are
 * stricter (a conservative set) because the name also makes the UAPI socket path. */
static int get_ifname(struct ctx *c, const cJSON *v, char out[CONFIG_IFNAME_MAX + 1])
{
	const char *s;
	int ret = get_string(c, v, &s);
	size_t n;

	if (ret)
		return ret;
	n = strlen(s);
	if (n > CONFIG_IFNAME_MAX)
		return fail_value(c, s, "longer than 15 characters (Linux IFNAMSIZ)");
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
		return fail_value(c, s, "only letters, digits, '_', '.' and '-' are allowed");
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return fail_value(c, s, "not a valid interface name");
	memcpy(out, s, n + 1);
	return 0;
}

static int get_key(struct ctx *c, const cJSON *v, uint8_t key[32], bool secret)
{
	const char *s;
	int ret = get_string(c, v, &s);
	size_t n;

	if (ret)
		return ret;
	n = strlen(s);
	if (keyenc_from_base64(key, s, n) == 0)
		return 0;
	/* Never echo a secret, even a malformed one. */
	if (secret)
		return fail(c, "not a base64 key (44 characters ending in '=', as wg genpsk "
			    "prints); got %zu characters", n);
	return fail_value(c, s,
			  "not a base64 key (44 characters ending in '=', as wg pubkey prints)");
}

/* --- walking objects and arrays --- */

static int check_members(struct ctx *c, const cJSON *o, const struct field *f, size_t n,
			 uint32_t *seen)
{
	const cJSON *m;
	size_t i;

	cJSON_ArrayForEach(m, o) {
		for (i = 0; i < n && strcmp(m->string, f[i].name) != 0; i++)
			;
		if (i < n && !(*seen & (1u << i))) {
			*seen |= 1u << i;
			continue;
		}
		path_field(c, m->string);
		if (i < n)
			return fail(c, "duplicate field");
		/* Listing the known names turns a typo into an obvious fix. */
		fail(c, "unknown field; expected one of:");
		for (i = 0; i < n && c->err && c->errlen; i++) {
			size_t used = strlen(c->err);

			snprintf(c->err + used, c->errlen - used, "%s %s", i ? "," : "", f[i].name);
		}
		return -EINVAL;
	}
	return 0;
}

static int walk_object(struct ctx *c, const cJSON *o, const struct field *f, size_t n, void *obj)
{
	uint32_t seen = 0;
	size_t mark;
	int ret;

	if (!cJSON_IsObject(o))
		return fail_type(c, o, "an object");
	ret = check_members(c, o, f, n, &seen);
	for (size_t i = 0; i < n && !ret; i++) {
		if (!(seen & (1u << i))) {
			if (f[i].required) {
				path_field(c, f[i].name);
				ret = fail(c, "missing (required)");
			}
			continue;
		}
		mark = path_field(c, f[i].name);
		ret = f[i].parse(c, cJSON_GetObjectItemCaseSensitive(o, f[i].name), obj);
		if (!ret)
			path_pop(c, mark);
	}
	return ret;
}

/* An array of at most max elements; returns its size. */
static int get_array(struct ctx *c, const cJSON *v, size_t min, size_t max, size_t *n)
{
	if (!cJSON_IsArray(v))
		return fail_type(c, v, "an array");
	*n = (size_t)cJSON_GetArraySize(v);
	if (*n < min)
		return fail(c, "needs at least %zu element(s)", min);
	if (*n > max)
		return fail(c, "more than %zu elements", max);
	return 0;
}

/* --- addresses --- */

/* Unsigned decimal, 1..10 digits, nothing else. */
static bool parse_digits(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 10 || strspn(s, "0123456789") != n)
		return false;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	*out = v;
	return v <= max;
}

static int cidr_parse(const char *s, int *family, uint8_t addr[16], uint8_t *cidr, char *why,
		      size_t whylen)
{
	const char *slash = strchr(s, '/');
	size_t hn = slash ? (size_t)(slash - s) : strlen(s);
	int fam = memchr(s, ':', hn) ? AF_INET6 : AF_INET;
	unsigned int max = fam == AF_INET ? 32 : 128;
	char host[INET6_ADDRSTRLEN];
	uint64_t plen = max;

	memset(addr, 0, 16);
	if (hn == 0 || hn >= sizeof(host)) {
		snprintf(why, whylen, "expected address/prefix");
		return -EINVAL;
	}
	memcpy(host, s, hn);
	host[hn] = '\0';
	if (inet_pton(fam, host, addr) != 1) {
		snprintf(why, whylen, "not an %s address", fam == AF_INET ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	if (slash && !parse_digits(slash + 1, UINT32_MAX, &plen)) {
		snprintf(why, whylen, "bad prefix length");
		return -EINVAL;
	}
	if (plen > max) {
		snprintf(why, whylen, "prefix length %u out of range for %s", (unsigned int)plen,
			 fam == AF_INET ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	*family = fam;
	*cidr = (uint8_t)plen;
	return 0;
}

int config_parse_cidr(const char *text, int *family, uint8_t addr[16], uint8_t *cidr)
{
	char why[64];
	int ret = cidr_parse(text, family, addr, cidr, why, sizeof(why));

	if (ret) {
		*family = 0;
		*cidr = 0;
		memset(addr, 0, 16);
	}
	return ret;
}

/* A bracketed "[v6]" or "[v6%scope]" endpoint host. */
static const char *endpoint_v6(const char *s, size_t hn, struct devconf_endpoint *ep)
{
	char host[INET6_ADDRSTRLEN + 12];
	uint64_t scope = 0;
	char *zone;

	if (hn < 2 || s[hn - 1] != ']')
		return "expected [ipv6]:port";
	if (hn - 2 >= sizeof(host))
		return "not an IPv6 address";
	memcpy(host, s + 1, hn - 2);
	host[hn - 2] = '\0';
	zone = strchr(host, '%');
	if (zone) {
		*zone = '\0';
		if (!parse_digits(zone + 1, UINT32_MAX, &scope))
			return "bad scope (only numeric scopes: no interfaces to name here)";
	}
	if (inet_pton(AF_INET6, host, ep->addr) != 1)
		return "not an IPv6 address";
	ep->family = AF_INET6;
	ep->scope_id = (uint32_t)scope;
	return NULL;
}

/* NULL when fine, else why not. */
static const char *endpoint_parse(const char *s, struct devconf_endpoint *ep)
{
	const char *colon = strrchr(s, ':');
	char host[INET_ADDRSTRLEN];
	uint64_t port;
	size_t hn;

	memset(ep, 0, sizeof(*ep));
	if (!colon)
		return "expected a.b.c.d:port or [ipv6]:port";
	if (!parse_digits(colon + 1, UINT16_MAX, &port) || port == 0)
		return "bad port (1..65535)";
	ep->port = (uint16_t)port;
	hn = (size_t)(colon - s);
	if (s[0] == '[')
		return endpoint_v6(s, hn, ep);
	if (memchr(s, ':', hn))
		return "an IPv6 endpoint needs brackets: [ipv6]:port";
	if (hn == 0 || hn >= sizeof(host))
		return "not an IPv4 address (host names are not resolved)";
	memcpy(host, s, hn);
	host[hn] = '\0';
	if (inet_pton(AF_INET, host, ep->addr) != 1)
		return "not an IPv4 address (host names are not resolved)";
	ep->family = AF_INET;
	return NULL;
}

int config_parse_endpoint(const char *text, struct devconf_endpoint *ep)
{
	if (endpoint_parse(text, ep)) {
		memset(ep, 0, sizeof(*ep));
		return -EINVAL;
	}
	return 0;
}

/* Addresses we own or route via must be unicast; NULL when fine. */
static const char *not_unicast(int family, const uint8_t *a)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };

	if (family == AF_INET) {
		if (a[0] == 0)
			return "unspecified address";
		if (a[0] == 127)
			return "loopback address";
		if (a[0] >= 224)
			return "multicast, broadcast or reserved address";
		return NULL;
	}
	if (sodium_is_zero(a, 16))
		return "unspecified address";
	if (memcmp(a, v6_loopback, 16) == 0)
		return "loopback address";
	return a[0] == 0xff ? "multicast address" : NULL;
}

static int get_cidr(struct ctx *c, const cJSON *v, int *family, uint8_t addr[16], uint8_t *cidr)
{
	const char *s;
	char why[64];
	int ret = get_string(c, v, &s);

	if (ret)
		return ret;
	if (cidr_parse(s, family, addr, cidr, why, sizeof(why)))
		return fail_value(c, s, why);
	return 0;
}

/* One interface address: unicast and not listed twice. */
static int get_if_address(struct ctx *c, const cJSON *v, struct config_cidr *list, size_t i)
{
	struct config_cidr *a = &list[i];
	const char *why;
	char q[QUOTE_MAX];
	int ret = get_cidr(c, v, &a->family, a->addr, &a->prefix_len);

	if (ret)
		return ret;
	why = not_unicast(a->family, a->addr);
	if (why)
		return fail_value(c, v->valuestring, why);
	for (size_t j = 0; j < i; j++)
		if (list[j].family == a->family && memcmp(list[j].addr, a->addr, 16) == 0)
			return fail(c, "%s: same address as element [%zu]",
				    quote(q, v->valuestring), j);
	return 0;
}

static int get_if_addresses(struct ctx *c, const cJSON *v, size_t min, struct config_cidr **list,
			    size_t *n)
{
	const cJSON *e;
	size_t i = 0, count;
	int ret = get_array(c, v, min, CONFIG_MAX_ADDRESSES, &count);

	if (ret || count == 0)
		return ret;
	*list = calloc(count, sizeof(**list));
	if (!*list)
		return fail_nomem(c);
	*n = count;
	cJSON_ArrayForEach(e, v) {
		size_t mark = path_index(c, i);

		ret = get_if_address(c, e, *list, i++);
		if (ret)
			return ret;
		path_pop(c, mark);
	}
	return 0;
}

static int get_gateway(struct ctx *c, const cJSON *v, int family, uint8_t *addr)
{
	const char *s, *why;
	int ret = get_string(c, v, &s);

	if (ret)
		return ret;
	if (inet_pton(family, s, addr) != 1)
		return fail_value(c, s, family == AF_INET ?
				  "not an IPv4 address (gateway6 takes IPv6)" :
				  "not an IPv6 address (gateway takes IPv4)");
	why = not_unicast(family, addr);
	return why ? fail_value(c, s, why) : 0;
}

/* --- wan --- */

static int h_wan_device(struct ctx *c, const cJSON *v, void *obj)
{
	struct config_wan *w = obj;

	return dup_string(c, v, &w->device);
}

static int h_wan_addresses(struct ctx *c, const cJSON *v, void *obj)
{
	struct config_wan *w = obj;

	/* The WAN port answers ARP / neighbour solicitations for its addresses: it needs one. */
	return get_if_addresses(c, v, 1, &w->addresses, &w->n_addresses);
}

static int h_wan_gateway(struct ctx *c, const cJSON *v, void *obj)
{
	struct config_wan *w = obj;

	w->has_gateway = true;
	return get_gateway(c, v, AF_INET, w->gateway);
}

static int h_wan_gateway6(struct ctx *c, const cJSON *v, void *obj)
{
	struct config_wan *w = obj;

	w->has_gateway6 = true;
	return get_gateway(c, v, AF_INET6, w->gateway6);
}

static bool has_family(const struct config_cidr *list, size_t n, int family)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].family == family)
			return true;
	return false;
}

static int get_mtu(struct ctx *c, const cJSON *v, unsigned long max, uint16_t *out)
{
	unsigned long mtu = 0;
	int ret = get_uint(c, v, CONFIG_MTU_MIN, max, &mtu);

	*out = (uint16_t)mtu;
	return ret;
}

static int h_wan_mtu(struct ctx *c, const cJSON *v, void *obj)
{
	return get_mtu(c, v, CONFIG_WAN_MTU_MAX, &((struct config_wan *)obj)->mtu);
}

static const struct field wan_fields[] = {
	{ "device", true, h_wan_device },
	{ "addresses", true, h_wan_addresses },
	{ "gateway", false, h_wan_gateway },
	{ "gateway6", false, h_wan_gateway6 },
	{ "mtu", false, h_wan_mtu },
};

/* A gateway need not be inside a WAN prefix (clouds hand out /32s with an off-link gateway), but
 * without an address of its family there is nothing to send from. */
static int h_wan(struct ctx *c, const cJSON *v, void *obj)
{
	struct config_wan *w = &((struct mg_config *)obj)->wan;
	int ret = walk_object(c, v, wan_fields, ARRAY_SIZE(wan_fields), w);

	if (ret)
		return ret;
	if (w->has_gateway && !has_family(w->addresses, w->n_addresses, AF_INET)) {
		path_field(c, "gateway");
		return fail(c, "no IPv4 address in wan.addresses to use it from");
	}
	if (w->has_gateway6 && !has_family(w->addresses, w->n_addresses, AF_INET6)) {
		path_field(c, "gateway6");
		return fail(c, "no IPv6 address in wan.addresses to use it from");
	}
	return 0;
}

/* --- inner --- */

static int h_inner_device(struct ctx *c, const cJSON *v, void *obj)
{
	static const char *const devices[] = { "tun" };
	int which;

	(void)obj;
	return get_choice(c, v, devices, ARRAY_SIZE(devices), "expected \"tun\"", &which);
}

static int h_inner_name(struct ctx *c, const cJSON *v, void *obj)
{
	struct config_inner *in = obj;

	return get_ifname(c, v, in->name);
}

static int h_inner_addresses(struct ctx *c, const cJSON *v, void *obj)
{
	struct config_inner *in = obj;

	return get_if_addresses(c, v, 0, &in->addresses, &in->n_addresses);
}

static int h_inner_mtu(struct ctx *c, const cJSON *v, void *obj)
{
	return get_mtu(c, v, CONFIG_MTU_MAX, &((struct config_inner *)obj)->mtu);
}

static const struct field inner_fields[] = {
	{ "device", true, h_inner_device },
	{ "name", false, h_inner_name },
	{ "addresses", false, h_inner_addresses },
	{ "mtu", false, h_inner_mtu },
};

static int h_inner(struct ctx *c, const cJSON *v, void *obj)
{
	struct config_inner *in = &((struct mg_config *)obj)->inner;
	int ret = walk_object(c, v, inner_fields, ARRAY_SIZE(inner_fields), in);

	if (ret)
		return ret;
	/* The kernel disables IPv6 on a link below the IPv6 minimum MTU: addresses would vanish. */
	if (in->mtu < 1280 && has_family(in->addresses, in->n_addresses, AF_INET6)) {
		path_field(c, "mtu");
		return fail(c, "%u is below 1280, the IPv6 minimum, and inner.addresses has IPv6",
			    in->mtu);
	}
	return 0;
}

/* --- peers --- */

static int h_public_key(struct ctx *c, const cJSON *v, void *obj)
{
	struct devconf_peer *p = obj;

	return get_key(c, v, p->public_key, false);
}

static int h_preshared_key(struct ctx *c, const cJSON *v, void *obj)
{
	struct devconf_peer *p = obj;

	p->has_preshared_key = true;
	return get_key(c, v, p->preshared_key, true);
}

static int h_endpoint(struct ctx *c, const cJSON *v, void *obj)
{
	struct devconf_peer *p = obj;
	const char *s, *why;
	int ret = get_string(c, v, &s);

	if (ret)
		return ret;
	why = endpoint_parse(s, &p->endpoint);
	if (why)
		return fail_value(c, s, why);
	p->has_endpoint = true;
	return 0;
}

/* Overlaps, within a peer or between peers, are legal in WireGuard (the last one set wins). */
static int h_allowed_ips(struct ctx *c, const cJSON *v, void *obj)
{
	struct devconf_peer *p = obj;
	const cJSON *e;
	size_t i = 0, count;
	int ret = get_array(c, v, 0, SIZE_MAX, &count);

	if (ret || count == 0)
		return ret;
	p->allowed_ips = calloc(count, sizeof(*p->allowed_ips));
	if (!p->allowed_ips)
		return fail_nomem(c);
	p->n_allowed_ips = count;
	cJSON_ArrayForEach(e, v) {
		struct devconf_allowed_ip *a = &p->allowed_ips[i];
		size_t mark = path_index(c, i++);

		ret = get_cidr(c, e, &a->family, a->addr, &a->cidr);
		if (ret)
			return ret;
		path_pop(c, mark);
	}
	return 0;
}

static int h_persistent_keepalive(struct ctx *c, const cJSON *v, void *obj)
{
	struct devconf_peer *p = obj;
	unsigned long secs = 0;
	int ret = get_uint(c, v, 0, UINT16_MAX, &secs);

	p->has_persistent_keepalive = true;
	p->persistent_keepalive = (uint16_t)secs;
	return ret;
}

static const struct field peer_fields[] = {
	{ "public_key", true, h_public_key },
	{ "preshared_key", false, h_preshared_key },
	{ "endpoint", false, h_endpoint },
	{ "allowed_ips", false, h_allowed_ips },
	{ "persistent_keepalive", false, h_persistent_keepalive },
};

static int parse_peer(struct ctx *c, const cJSON *v, struct devconf *wg, size_t i)
{
	struct devconf_peer *p = &wg->peers[i];
	int ret = walk_object(c, v, peer_fields, ARRAY_SIZE(peer_fields), p);

	if (ret)
		return ret;
	p->replace_allowed_ips = true;
	/* Public keys are not secret: plain memcmp. Quadratic, but peers number in the hundreds. */
	for (size_t j = 0; j < i; j++)
		if (memcmp(wg->peers[j].public_key, p->public_key, DEVCONF_KEY_LEN) == 0) {
			path_field(c, "public_key");
			return fail(c, "same key as peers[%zu]", j);
		}
	return 0;
}

static int h_peers(struct ctx *c, const cJSON *v, void *obj)
{
	struct devconf *wg = &((struct mg_config *)obj)->wg;
	const cJSON *e;
	size_t i = 0, count;
	int ret = get_array(c, v, 0, SIZE_MAX, &count);

	if (ret || count == 0)
		return ret;
	wg->peers = calloc(count, sizeof(*wg->peers));
	if (!wg->peers)
		return fail_nomem(c);
	wg->n_peers = count; /* all zeroed: devconf_free copes with the ones not reached */
	cJSON_ArrayForEach(e, v) {
		size_t mark = path_index(c, i);

		ret = parse_peer(c, e, wg, i++);
		if (ret)
			return ret;
		path_pop(c, mark);
	}
	return 0;
}

/* --- top level --- */

static int h_interface(struct ctx *c, const cJSON *v, void *obj)
{
	return get_ifname(c, v, ((struct mg_config *)obj)->interface);
}

static int h_private_key_file(struct ctx *c, const cJSON *v, void *obj)
{
	return dup_string(c, v, &((struct mg_config *)obj)->private_key_file);
}

static int h_listen_port(struct ctx *c, const cJSON *v, void *obj)
{
	struct mg_config *cfg = obj;
	unsigned long port = 0;
	/* 0: a port picked at start, as wg(8) and Linux do. */
	int ret = get_uint(c, v, 0, UINT16_MAX, &port);

	cfg->listen_port = (uint16_t)port;
	cfg->wg.has_listen_port = true;
	cfg->wg.listen_port = (uint16_t)port;
	return ret;
}

static int h_eal(struct ctx *c, const cJSON *v, void *obj)
{
	struct mg_config *cfg = obj;
	const cJSON *e;
	size_t i = 0, count;
	int ret = get_array(c, v, 0, CONFIG_MAX_EAL_ARGS, &count);

	if (ret || count == 0)
		return ret;
	cfg->eal = calloc(count, sizeof(*cfg->eal));
	if (!cfg->eal)
		return fail_nomem(c);
	cfg->n_eal = count;
	cJSON_ArrayForEach(e, v) {
		size_t mark = path_index(c, i);

		ret = dup_string(c, e, &cfg->eal[i++]);
		if (ret)
			return ret;
		path_pop(c, mark);
	}
	return 0;
}

static int h_idle(struct ctx *c, const cJSON *v, void *obj)
{
	static const char *const modes[] = { "poll", "backoff" };
	int which = 1;
	int ret = get_choice(c, v, modes, ARRAY_SIZE(modes), "expected \"backoff\" or \"poll\"",
			     &which);

	((struct mg_config *)obj)->idle_backoff = which == 1;
	return ret;
}

static int h_workers(struct ctx *c, const cJSON *v, void *obj)
{
	unsigned long n = 0;
	int ret = get_uint(c, v, 1, CONFIG_MAX_WORKERS, &n);

	((struct mg_config *)obj)->workers = (unsigned int)n;
	return ret;
}

static int h_log_level(struct ctx *c, const cJSON *v, void *obj)
{
	/* In enum config_log_level order. */
	static const char *const levels[] = { "error", "warning", "info", "debug" };
	int which = CONFIG_LOG_INFO;
	int ret = get_choice(c, v, levels, ARRAY_SIZE(levels),
			     "expected \"error\", \"warning\", \"info\" or \"debug\"", &which);

	((struct mg_config *)obj)->log_level = (enum config_log_level)which;
	return ret;
}

static const struct field top_fields[] = {
	{ "interface", true, h_interface },
	{ "private_key_file", true, h_private_key_file },
	{ "listen_port", true, h_listen_port },
	{ "eal", false, h_eal },
	{ "wan", true, h_wan },
	{ "inner", true, h_inner },
	{ "idle", false, h_idle },
	{ "workers", false, h_workers },
	{ "log_level", false, h_log_level },
	{ "peers", false, h_peers },
};

/* --- JSON text --- */

/*
 * cJSON accepts what JSON forbids and C strings cannot hold: raw control characters (skipped as
 * whitespace, or kept inside strings) and "\u0000", which cuts a string short so that
 * "10.0.0.1\u0000junk" would pass as "10.0.0.1". Returns the offset of the first such, or len.
 */
static size_t find_bad_byte(const char *s, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 && (in_string || (ch != '\t' && ch != '\n' && ch != '\r')))
			return i;
		if (!in_string) {
			in_string = ch == '"';
		} else if (ch == '"') {
			in_string = false;
		} else if (ch == '\\' && i + 1 < len) {
			if (len - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0)
				return i;
			i++; /* the escaped character: never a quote that ends the string */
		}
	}
	return len;
}

static int fail_syntax(struct ctx *c, const char *json, size_t off, const char *why)
{
	unsigned int line = 1, col = 1;

	for (size_t i = 0; i < off; i++) {
		col++;
		if (json[i] == '\n') {
			line++;
			col = 1;
		}
	}
	/* Not a field's fault: no path. */
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "JSON syntax error at line %u column %u: %s", line, col,
			 why);
	return -EINVAL;
}

static int parse_json(struct ctx *c, const char *json, size_t len, cJSON **root)
{
	const char *end = NULL;
	size_t off;

	*root = NULL;
	if (json && len > 0 && json[len - 1] == '\0')
		len--; /* a caller counting the terminator */
	if (!json || len == 0)
		return fail(c, "empty (no JSON value)");
	for (off = 0; off < len && memchr(" \t\r\n", json[off], 4); off++)
		;
	if (off == len)
		return fail(c, "empty (no JSON value)");
	off = find_bad_byte(json, len);
	if (off < len)
		return fail_syntax(c, json, off, "control character or \\u0000");
	*root = cJSON_ParseWithLengthOpts(json, len, &end, false);
	off = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
	if (!*root)
		return fail_syntax(c, json, off, "invalid JSON");
	while (off < len && memchr(" \t\r\n", json[off], 4))
		off++;
	if (off < len) {
		cJSON_Delete(*root);
		*root = NULL;
		return fail_syntax(c, json, off, "trailing content after the top-level value");
	}
	return 0;
}

/* The tree holds the preshared keys' text: wipe every string before freeing. */
static void wipe_tree(cJSON *n)
{
	for (; n; n = n->next) {
		if (n->valuestring)
			sodium_memzero(n->valuestring, strlen(n->valuestring));
		wipe_tree(n->child);
	}
}

int config_parse(const char *json, size_t len, struct mg_config *out, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen };
	cJSON *root;
	int ret;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	ret = parse_json(&c, json, len, &root);
	if (ret)
		return ret;
	out->idle_backoff = true;
	out->inner.mtu = CONFIG_MTU_DEFAULT;
	out->log_level = CONFIG_LOG_INFO;
	out->wg.replace_peers = true; /* the file describes the whole device */
	ret = walk_object(&c, root, top_fields, ARRAY_SIZE(top_fields), out);
	if (!ret && !out->inner.name[0])
		memcpy(out->inner.name, out->interface, sizeof(out->inner.name));
	wipe_tree(root);
	cJSON_Delete(root);
	if (ret)
		config_free(out);
	return ret;
}

void config_free(struct mg_config *c)
{
	for (size_t i = 0; i < c->n_eal; i++)
		free(c->eal[i]);
	free(c->eal);
	free(c->private_key_file);
	free(c->wan.device);
	free(c->wan.addresses);
	free(c->inner.addresses);
	devconf_free(&c->wg);
	sodium_memzero(c, sizeof(*c));
}

/* --- the private key file --- */

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Opens and vets the file: regular, and no access for group or others (as ssh insists). */
static int open_key_file(const char *path, char *err, size_t errlen)
{
	/* O_NONBLOCK: opening a FIFO must not hang start-up; fstat then refuses it. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	int ret;

	if (fd < 0 || fstat(fd, &st) != 0) {
		ret = -errno;
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_mode & 077) {
		set_err(err, errlen, "%s: mode %04o lets group or others access the private key; "
			"run chmod 600 %s", path, (unsigned int)(st.st_mode & 07777), path);
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* Up to max bytes; *len is max + 1 when there is more. */
static int read_all(int fd, char *buf, size_t max, size_t *len)
{
	ssize_t n;

	*len = 0;
	while (*len <= max) {
		n = read(fd, buf + *len, max + 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

/* 44 base64 characters, then only whitespace (as wg(8) reads key files). */
static const char *key_text(const char *buf, size_t len, uint8_t key[32])
{
	if (len > KEY_FILE_MAX)
		return "too large for a key file";
	if (len < KEYENC_B64_LEN || keyenc_from_base64(key, buf, KEYENC_B64_LEN) != 0)
		return "not a wg genkey file (44 base64 characters and a newline)";
	for (size_t i = KEYENC_B64_LEN; i < len; i++)
		if (!memchr(" \t\r\n", buf[i], 4))
			return "trailing content after the key";
	if (sodium_is_zero(key, 32))
		return "all-zero key";
	return NULL;
}

int config_read_private_key(const char *path, uint8_t key[32], char *err, size_t errlen)
{
	char buf[KEY_FILE_MAX + 1];
	const char *why;
	size_t len;
	int fd, ret;

	sodium_memzero(key, 32);
	fd = open_key_file(path, err, errlen);
	if (fd < 0)
		return fd;
	ret = read_all(fd, buf, KEY_FILE_MAX, &len);
	close(fd);
	if (ret) {
		set_err(err, errlen, "%s: %s", path, strerror(-ret));
	} else if ((why = key_text(buf, len, key)) != NULL) {
		set_err(err, errlen, "%s: %s", path, why);
		sodium_memzero(key, 32);
		ret = -EINVAL;
	}
	sodium_memzero(buf, sizeof(buf));
	return ret;
}
