/* SPDX-License-Identifier: MIT */
/*
 * meshgate's JSON config file: its schema, one field table per object, walked by jsonwalk.c
 * (which refuses unknown, duplicate and missing members and names the field path in every
 * message); addresses are parsed in the config file's dialect of addr.c. Handlers write straight
 * into the output; on any error config_parse frees it whole, so nothing half-filled escapes.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "addr.h"
#include "config.h"
#include "flow.h"
#include "jsonwalk.h"
#include "keyenc.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* --- values of this schema --- */

/* Linux dev_valid_name(): 1..15 bytes, no '/', ':' or whitespace, not "." or "..". We are
 * stricter (a conservative set) because the name also makes the UAPI socket path. */
static int get_ifname(struct jsonwalk *w, const cJSON *v, char out[CONFIG_IFNAME_MAX + 1])
{
	const char *s;
	int ret = jsonwalk_string(w, v, &s);
	size_t n;

	if (ret)
		return ret;
	n = strlen(s);
	if (n > CONFIG_IFNAME_MAX)
		return jsonwalk_fail_value(w, s, "longer than 15 characters (Linux IFNAMSIZ)");
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
		return jsonwalk_fail_value(w, s,
					   "only letters, digits, '_', '.' and '-' are allowed");
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return jsonwalk_fail_value(w, s, "not a valid interface name");
	memcpy(out, s, n + 1);
	return 0;
}

static int get_key(struct jsonwalk *w, const cJSON *v, uint8_t key[32], bool secret)
{
	const char *s;
	int ret = jsonwalk_string(w, v, &s);
	size_t n;

	if (ret)
		return ret;
	n = strlen(s);
	if (keyenc_from_base64(key, s, n) == 0)
		return 0;
	/* Never echo a secret, even a malformed one. */
	if (secret)
		return jsonwalk_fail(w, "not a base64 key (44 characters ending in '=', as wg "
				     "genpsk prints); got %zu characters", n);
	return jsonwalk_fail_value(w, s, "not a base64 key (44 characters ending in '=', as wg "
				   "pubkey prints)");
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

static int get_prefix(struct jsonwalk *w, const cJSON *v, struct addr_prefix *p)
{
	const char *s;
	char why[ADDR_WHY_MAX];
	int ret = jsonwalk_string(w, v, &s);

	if (ret)
		return ret;
	if (addr_parse_prefix(ADDR_CONFIG, s, strlen(s), p, why, sizeof(why)))
		return jsonwalk_fail_value(w, s, why);
	return 0;
}

/* One interface address: unicast and not listed twice. */
static int if_address(struct jsonwalk *w, const cJSON *v, size_t i, void *arg)
{
	struct config_cidr *list = arg, *a = &list[i];
	struct addr_prefix p;
	const char *why;
	char q[JSONWALK_QUOTE_MAX];
	int ret = get_prefix(w, v, &p);

	if (ret)
		return ret;
	a->family = p.family;
	memcpy(a->addr, p.addr, 16);
	a->prefix_len = p.len;
	why = not_unicast(a->family, a->addr);
	if (why)
		return jsonwalk_fail_value(w, v->valuestring, why);
	for (size_t j = 0; j < i; j++)
		if (list[j].family == a->family && memcmp(list[j].addr, a->addr, 16) == 0)
			return jsonwalk_fail(w, "%s: same address as element [%zu]",
					     jsonwalk_quote(q, v->valuestring), j);
	return 0;
}

static int get_if_addresses(struct jsonwalk *w, const cJSON *v, size_t min,
			    struct config_cidr **list, size_t *n)
{
	size_t count;
	int ret = jsonwalk_array(w, v, min, CONFIG_MAX_ADDRESSES, &count);

	if (ret || count == 0)
		return ret;
	*list = calloc(count, sizeof(**list));
	if (!*list)
		return jsonwalk_fail_nomem(w);
	*n = count;
	return jsonwalk_elements(w, v, if_address, *list);
}

static int get_gateway(struct jsonwalk *w, const cJSON *v, int family, uint8_t *addr)
{
	const char *s, *why;
	uint8_t a[16];
	int ret = jsonwalk_string(w, v, &s);

	if (ret)
		return ret;
	if (addr_parse_ip(family, s, strlen(s), a))
		return jsonwalk_fail_value(w, s, family == AF_INET ?
					   "not an IPv4 address (gateway6 takes IPv6)" :
					   "not an IPv6 address (gateway takes IPv4)");
	memcpy(addr, a, family == AF_INET ? 4 : 16);
	why = not_unicast(family, a);
	return why ? jsonwalk_fail_value(w, s, why) : 0;
}

static int get_mtu(struct jsonwalk *w, const cJSON *v, unsigned long max, uint16_t *out)
{
	unsigned long mtu = 0;
	int ret = jsonwalk_uint(w, v, CONFIG_MTU_MIN, max, &mtu);

	*out = (uint16_t)mtu;
	return ret;
}

static bool has_family(const struct config_cidr *list, size_t n, int family)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].family == family)
			return true;
	return false;
}

/* --- wan --- */

static int h_wan_device(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct config_wan *wan = obj;

	return jsonwalk_strdup(w, v, &wan->device);
}

static int h_wan_addresses(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct config_wan *wan = obj;

	/* The WAN port answers ARP / neighbour solicitations for its addresses: it needs one. */
	return get_if_addresses(w, v, 1, &wan->addresses, &wan->n_addresses);
}

static int h_wan_gateway(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct config_wan *wan = obj;

	wan->has_gateway = true;
	return get_gateway(w, v, AF_INET, wan->gateway);
}

static int h_wan_gateway6(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct config_wan *wan = obj;

	wan->has_gateway6 = true;
	return get_gateway(w, v, AF_INET6, wan->gateway6);
}

static int h_wan_mtu(struct jsonwalk *w, const cJSON *v, void *obj)
{
	return get_mtu(w, v, CONFIG_WAN_MTU_MAX, &((struct config_wan *)obj)->mtu);
}

static const struct jsonwalk_field wan_fields[] = {
	{ "device", true, h_wan_device },
	{ "addresses", true, h_wan_addresses },
	{ "gateway", false, h_wan_gateway },
	{ "gateway6", false, h_wan_gateway6 },
	{ "mtu", false, h_wan_mtu },
};

/* A gateway need not be inside a WAN prefix (clouds hand out /32s with an off-link gateway), but
 * without an address of its family there is nothing to send from. */
static int h_wan(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct config_wan *wan = &((struct mg_config *)obj)->wan;
	int ret = jsonwalk_object(w, v, wan_fields, ARRAY_SIZE(wan_fields), wan);

	if (ret)
		return ret;
	if (wan->has_gateway && !has_family(wan->addresses, wan->n_addresses, AF_INET)) {
		jsonwalk_path_field(w, "gateway");
		return jsonwalk_fail(w, "no IPv4 address in wan.addresses to use it from");
	}
	if (wan->has_gateway6 && !has_family(wan->addresses, wan->n_addresses, AF_INET6)) {
		jsonwalk_path_field(w, "gateway6");
		return jsonwalk_fail(w, "no IPv6 address in wan.addresses to use it from");
	}
	return 0;
}

/* --- inner --- */

/* "tun" (host mode) or a DPDK device string (gateway mode: the LAN port, as wan.device). */
static int h_inner_device(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct config_inner *in = obj;
	const char *s;
	int ret = jsonwalk_string(w, v, &s);

	if (ret)
		return ret;
	if (strcmp(s, "tun") == 0)
		return 0;
	return jsonwalk_strdup(w, v, &in->device);
}

static int h_inner_name(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct config_inner *in = obj;

	return get_ifname(w, v, in->name);
}

static int h_inner_addresses(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct config_inner *in = obj;

	return get_if_addresses(w, v, 0, &in->addresses, &in->n_addresses);
}

static int h_inner_mtu(struct jsonwalk *w, const cJSON *v, void *obj)
{
	return get_mtu(w, v, CONFIG_MTU_MAX, &((struct config_inner *)obj)->mtu);
}

static int h_route_prefix(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct config_route *r = obj;
	struct addr_prefix p;
	int ret = get_prefix(w, v, &p);

	if (ret)
		return ret;
	r->family = p.family;
	r->prefix_len = p.len;
	/* Host bits cleared, so 10.1.5.1/24 and 10.1.5.0/24 are seen as one prefix. */
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int bits = i * 8 >= p.len ? 0 : p.len - i * 8 >= 8 ? 8 : p.len - i * 8;

		r->addr[i] = p.addr[i] & (uint8_t)(0xff00 >> bits);
	}
	return 0;
}

static int h_route_via(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct config_route *r = obj;
	const char *s, *why;
	int ret = jsonwalk_string(w, v, &s);

	if (ret)
		return ret;
	if (addr_parse_ip(AF_INET, s, strlen(s), r->via) && addr_parse_ip(AF_INET6, s, strlen(s), r->via))
		return jsonwalk_fail_value(w, s, "not an IPv4 or IPv6 address");
	r->via_family = strchr(s, ':') ? AF_INET6 : AF_INET;
	why = not_unicast(r->via_family, r->via);
	return why ? jsonwalk_fail_value(w, s, why) : 0;
}

static const struct jsonwalk_field route_fields[] = {
	{ "prefix", true, h_route_prefix },
	{ "via", true, h_route_via },
};

static bool in_prefix(const uint8_t *net, unsigned int bits, const uint8_t *a)
{
	unsigned int bytes = bits / 8;

	return memcmp(net, a, bytes) == 0 &&
	       (bits % 8 == 0 || ((net[bytes] ^ a[bytes]) & (0xff00 >> (bits % 8)) & 0xff) == 0);
}

/* A route: its next hop of the prefix's family, on one of the LAN prefixes, not ours; no prefix
 * twice. The LAN addresses are parsed before the routes (checked in h_inner). */
static int route(struct jsonwalk *w, const cJSON *v, size_t i, void *arg)
{
	struct config_inner *in = arg;
	struct config_route *r = &in->routes[i];
	int ret = jsonwalk_object(w, v, route_fields, ARRAY_SIZE(route_fields), r);
	bool on_link = false;
	size_t alen, mark;

	if (ret)
		return ret;
	alen = r->family == AF_INET ? 4 : 16;
	mark = jsonwalk_path_field(w, "via");
	if (r->via_family != r->family)
		return jsonwalk_fail(w, "%s next hop for an %s prefix", r->family == AF_INET ? "an IPv6" : "an IPv4",
				     r->family == AF_INET ? "IPv4" : "IPv6");
	for (size_t j = 0; j < in->n_addresses; j++) {
		const struct config_cidr *a = &in->addresses[j];

		if (a->family != r->family)
			continue;
		if (memcmp(a->addr, r->via, alen) == 0)
			return jsonwalk_fail(w, "the next hop is inner.addresses[%zu], this gateway itself", j);
		on_link |= in_prefix(a->addr, a->prefix_len, r->via);
	}
	if (!on_link)
		return jsonwalk_fail(w, "the next hop is on none of inner.addresses' prefixes (a route's next "
				     "hop must be a neighbour on the LAN)");
	jsonwalk_path_pop(w, mark);
	for (size_t j = 0; j < i; j++)
		if (in->routes[j].family == r->family && in->routes[j].prefix_len == r->prefix_len &&
		    memcmp(in->routes[j].addr, r->addr, alen) == 0) {
			jsonwalk_path_field(w, "prefix");
			return jsonwalk_fail(w, "same prefix as routes[%zu]", j);
		}
	return 0;
}

static int h_inner_routes(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct config_inner *in = obj;
	size_t count;
	int ret = jsonwalk_array(w, v, 0, CONFIG_MAX_ROUTES, &count);

	if (ret || count == 0)
		return ret;
	in->routes = calloc(count, sizeof(*in->routes));
	if (!in->routes)
		return jsonwalk_fail_nomem(w);
	in->n_routes = count;
	return jsonwalk_elements(w, v, route, in);
}

/* "routes" after "addresses": its checks read them (jsonwalk_object calls handlers in this order). */
static const struct jsonwalk_field inner_fields[] = {
	{ "device", true, h_inner_device },
	{ "name", false, h_inner_name },
	{ "addresses", false, h_inner_addresses },
	{ "mtu", false, h_inner_mtu },
	{ "routes", false, h_inner_routes },
};

static int h_inner(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct config_inner *in = &((struct mg_config *)obj)->inner;
	int ret = jsonwalk_object(w, v, inner_fields, ARRAY_SIZE(inner_fields), in);

	if (ret)
		return ret;
	if (in->device) {
		/* Gateway mode: the LAN port answers ARP and ND for its addresses and routes its
		 * prefixes, as the WAN port does; it has no kernel name to set. */
		if (cJSON_GetObjectItemCaseSensitive(v, "name")) {
			jsonwalk_path_field(w, "name");
			return jsonwalk_fail(w, "names the TUN of host mode; inner.device is a DPDK device");
		}
		if (!in->n_addresses) {
			jsonwalk_path_field(w, "addresses");
			return jsonwalk_fail(w, "gateway mode (inner.device a DPDK device) needs the LAN port's "
					     "address and prefix, e.g. [\"10.1.0.1/24\"]");
		}
	} else if (in->n_routes) {
		jsonwalk_path_field(w, "routes");
		return jsonwalk_fail(w, "only for gateway mode (inner.device a DPDK device); in host mode "
				     "the kernel's routing table routes through the TUN");
	}
	/* The kernel disables IPv6 on a link below the IPv6 minimum MTU: addresses would vanish. */
	if (in->mtu < 1280 && has_family(in->addresses, in->n_addresses, AF_INET6)) {
		jsonwalk_path_field(w, "mtu");
		return jsonwalk_fail(w, "%u is below 1280, the IPv6 minimum, and inner.addresses "
				     "has IPv6", in->mtu);
	}
	return 0;
}

/* --- peers --- */

static int h_public_key(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct devconf_peer *p = obj;

	return get_key(w, v, p->public_key, false);
}

static int h_preshared_key(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct devconf_peer *p = obj;

	p->has_preshared_key = true;
	return get_key(w, v, p->preshared_key, true);
}

static int h_endpoint(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct devconf_peer *p = obj;
	char why[ADDR_WHY_MAX];
	const char *s;
	int ret = jsonwalk_string(w, v, &s);

	if (ret)
		return ret;
	if (addr_parse_endpoint(ADDR_CONFIG, s, strlen(s), NULL, &p->endpoint, why, sizeof(why)))
		return jsonwalk_fail_value(w, s, why);
	p->has_endpoint = true;
	return 0;
}

static int allowed_ip(struct jsonwalk *w, const cJSON *v, size_t i, void *arg)
{
	struct devconf_allowed_ip *a = &((struct devconf_allowed_ip *)arg)[i];
	struct addr_prefix p;
	int ret = get_prefix(w, v, &p);

	if (ret)
		return ret;
	a->family = p.family;
	memcpy(a->addr, p.addr, 16);
	a->cidr = p.len;
	return 0;
}

/* Overlaps, within a peer or between peers, are legal in WireGuard (the last one set wins). */
static int h_allowed_ips(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct devconf_peer *p = obj;
	size_t count;
	int ret = jsonwalk_array(w, v, 0, SIZE_MAX, &count);

	if (ret || count == 0)
		return ret;
	p->allowed_ips = calloc(count, sizeof(*p->allowed_ips));
	if (!p->allowed_ips)
		return jsonwalk_fail_nomem(w);
	p->n_allowed_ips = count;
	return jsonwalk_elements(w, v, allowed_ip, p->allowed_ips);
}

static int h_persistent_keepalive(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct devconf_peer *p = obj;
	unsigned long secs = 0;
	int ret = jsonwalk_uint(w, v, 0, UINT16_MAX, &secs);

	p->has_persistent_keepalive = true;
	p->persistent_keepalive = (uint16_t)secs;
	return ret;
}

static const struct jsonwalk_field peer_fields[] = {
	{ "public_key", true, h_public_key },
	{ "preshared_key", false, h_preshared_key },
	{ "endpoint", false, h_endpoint },
	{ "allowed_ips", false, h_allowed_ips },
	{ "persistent_keepalive", false, h_persistent_keepalive },
};

static int peer(struct jsonwalk *w, const cJSON *v, size_t i, void *arg)
{
	struct devconf *wg = arg;
	struct devconf_peer *p = &wg->peers[i];
	int ret = jsonwalk_object(w, v, peer_fields, ARRAY_SIZE(peer_fields), p);

	if (ret)
		return ret;
	p->replace_allowed_ips = true;
	/* Public keys are not secret: plain memcmp. Quadratic, but peers number in the hundreds. */
	for (size_t j = 0; j < i; j++)
		if (memcmp(wg->peers[j].public_key, p->public_key, DEVCONF_KEY_LEN) == 0) {
			jsonwalk_path_field(w, "public_key");
			return jsonwalk_fail(w, "same key as peers[%zu]", j);
		}
	return 0;
}

static int h_peers(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct devconf *wg = &((struct mg_config *)obj)->wg;
	size_t count;
	int ret = jsonwalk_array(w, v, 0, SIZE_MAX, &count);

	if (ret || count == 0)
		return ret;
	wg->peers = calloc(count, sizeof(*wg->peers));
	if (!wg->peers)
		return jsonwalk_fail_nomem(w);
	wg->n_peers = count; /* all zeroed: devconf_free copes with the ones not reached */
	return jsonwalk_elements(w, v, peer, wg);
}

/* --- top level --- */

static int h_interface(struct jsonwalk *w, const cJSON *v, void *obj)
{
	return get_ifname(w, v, ((struct mg_config *)obj)->interface);
}

static int h_private_key_file(struct jsonwalk *w, const cJSON *v, void *obj)
{
	return jsonwalk_strdup(w, v, &((struct mg_config *)obj)->private_key_file);
}

static int h_listen_port(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct mg_config *cfg = obj;
	unsigned long port = 0;
	/* 0: a port picked at start, as wg(8) and Linux do. */
	int ret = jsonwalk_uint(w, v, 0, UINT16_MAX, &port);

	cfg->listen_port = (uint16_t)port;
	cfg->wg.has_listen_port = true;
	cfg->wg.listen_port = (uint16_t)port;
	return ret;
}

static int eal_arg(struct jsonwalk *w, const cJSON *v, size_t i, void *arg)
{
	return jsonwalk_strdup(w, v, &((char **)arg)[i]);
}

static int h_eal(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct mg_config *cfg = obj;
	size_t count;
	int ret = jsonwalk_array(w, v, 0, CONFIG_MAX_EAL_ARGS, &count);

	if (ret || count == 0)
		return ret;
	cfg->eal = calloc(count, sizeof(*cfg->eal));
	if (!cfg->eal)
		return jsonwalk_fail_nomem(w);
	cfg->n_eal = count;
	return jsonwalk_elements(w, v, eal_arg, cfg->eal);
}

static int h_idle(struct jsonwalk *w, const cJSON *v, void *obj)
{
	static const char *const modes[] = { "poll", "backoff" };
	int which = 1;
	int ret = jsonwalk_choice(w, v, modes, ARRAY_SIZE(modes),
				  "expected \"backoff\" or \"poll\"", &which);

	((struct mg_config *)obj)->idle_backoff = which == 1;
	return ret;
}

static int h_workers(struct jsonwalk *w, const cJSON *v, void *obj)
{
	unsigned long n = 0;
	int ret = jsonwalk_uint(w, v, 1, CONFIG_MAX_WORKERS, &n);

	((struct mg_config *)obj)->workers = (unsigned int)n;
	return ret;
}

static int h_spread(struct jsonwalk *w, const cJSON *v, void *obj)
{
	return jsonwalk_bool(w, v, &((struct mg_config *)obj)->spread);
}

static int h_log_level(struct jsonwalk *w, const cJSON *v, void *obj)
{
	/* In enum config_log_level order. */
	static const char *const levels[] = { "error", "warning", "info", "debug" };
	int which = CONFIG_LOG_INFO;
	int ret = jsonwalk_choice(w, v, levels, ARRAY_SIZE(levels),
				  "expected \"error\", \"warning\", \"info\" or \"debug\"", &which);

	((struct mg_config *)obj)->log_level = (enum config_log_level)which;
	return ret;
}

static int h_flows_max(struct jsonwalk *w, const cJSON *v, void *obj)
{
	unsigned long n = 0;
	int ret = jsonwalk_uint(w, v, 1, FLOW_MAX_FLOWS, &n);

	*(uint32_t *)obj = (uint32_t)n;
	return ret;
}

static const struct jsonwalk_field flows_fields[] = {
	{ "max", true, h_flows_max },
};

static int h_flows(struct jsonwalk *w, const cJSON *v, void *obj)
{
	return jsonwalk_object(w, v, flows_fields, ARRAY_SIZE(flows_fields), &((struct mg_config *)obj)->flow_max);
}

static int h_policy(struct jsonwalk *w, const cJSON *v, void *obj)
{
	return policy_from_json(w, v, &((struct mg_config *)obj)->policy);
}

static const struct jsonwalk_field top_fields[] = {
	{ "interface", true, h_interface },
	{ "private_key_file", true, h_private_key_file },
	{ "listen_port", true, h_listen_port },
	{ "eal", false, h_eal },
	{ "wan", true, h_wan },
	{ "inner", true, h_inner },
	{ "idle", false, h_idle },
	{ "workers", false, h_workers },
	{ "spread", false, h_spread },
	{ "log_level", false, h_log_level },
	{ "peers", false, h_peers },
	{ "flows", false, h_flows },
	{ "policy", false, h_policy },
};

int config_parse(const char *json, size_t len, struct mg_config *out, char *err, size_t errlen)
{
	struct jsonwalk w;
	cJSON *root;
	int ret;

	memset(out, 0, sizeof(*out));
	jsonwalk_init(&w, err, errlen);
	ret = jsonwalk_parse(&w, json, len, &root);
	if (ret)
		return ret;
	out->idle_backoff = true;
	out->spread = true;
	out->inner.mtu = CONFIG_MTU_DEFAULT;
	out->log_level = CONFIG_LOG_INFO;
	out->wg.replace_peers = true; /* the file describes the whole device */
	ret = jsonwalk_object(&w, root, top_fields, ARRAY_SIZE(top_fields), out);
	if (!ret && !out->inner.name[0])
		memcpy(out->inner.name, out->interface, sizeof(out->inner.name));
	if (!ret && out->policy && !out->flow_max)
		out->flow_max = CONFIG_FLOWS_DEFAULT;
	jsonwalk_free_tree(root); /* it holds the preshared keys' text */
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
	free(c->inner.device);
	free(c->inner.addresses);
	free(c->inner.routes);
	policy_free(c->policy);
	devconf_free(&c->wg);
	sodium_memzero(c, sizeof(*c));
}
