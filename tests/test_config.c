/* SPDX-License-Identifier: MIT */
/*
 * The JSON config: the example parses to exactly the expected struct; a table of edits to
 * that example (by field path, so each row reads as the error it expects) is refused with a
 * message starting with that path, leaving the output zeroed; raw-text cases cover JSON syntax;
 * random mutations never crash (run under ASan / LeakSanitizer); and the key file's mode and
 * content checks on real files (host/keyfile.c, which the daemon calls for private_key_file, over
 * lib/'s keyenc_from_keyfile). The address dialect itself is test_addr.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "addr.h"
#include "config.h"
#include "harness.h"
#include "keyenc.h"
#include "keyfile.h"

/* Real keys (the wg(8) man page's). */
#define KEY1 "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define KEY2 "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="
#define PRIV "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
#define ZERO_B64 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define HEXKEY "c53201039adba14be71f886da1d8dbe9eebded08cb111b75340078999aa9f038" /* KEY1 */

/* The "How it starts" example, verbatim but for a real public key. */
static const char example[] =
	"{\n"
	"  \"interface\": \"mg0\",\n"
	"  \"private_key_file\": \"/etc/meshgate/mg0.key\",\n"
	"  \"listen_port\": 51820,\n"
	"  \"eal\": [\"--no-pci\", \"--in-memory\", \"-l\", \"0-1\", \"--file-prefix\", \"mg0\"],\n"
	"  \"wan\": { \"device\": \"net_af_xdp0,iface=veth-mg\",\n"
	"           \"addresses\": [\"192.168.77.1/24\", \"fd77::1/64\"], \"gateway\": \"192.168.77.254\" },\n"
	"  \"inner\": { \"device\": \"tun\", \"name\": \"mg0\", \"addresses\": [\"10.77.0.1/24\", \"fd00:77::1/64\"], \"mtu\": 1420 },\n"
	"  \"idle\": \"backoff\",\n"
	"  \"peers\": [ { \"public_key\": \"" KEY1 "\", \"endpoint\": \"192.168.77.2:51820\",\n"
	"               \"allowed_ips\": [\"10.77.0.2/32\", \"fd00:77::2/128\"], \"persistent_keepalive\": 25 } ]\n"
	"}\n";

static const struct mg_config zero_config;

static int parse(const char *text, struct mg_config *cfg, char *err, size_t errlen)
{
	/* Garbage first: config_parse must overwrite, never read or free, what was there. */
	memset(cfg, 0xa5, sizeof(*cfg));
	return config_parse(text, strlen(text), cfg, err, errlen);
}

static bool cidr_is(const struct config_cidr *a, int family, const char *addr, uint8_t len)
{
	uint8_t want[16] = { 0 };

	return inet_pton(family, addr, want) == 1 && a->family == family &&
	       memcmp(a->addr, want, 16) == 0 && a->prefix_len == len;
}

static bool aip_is(const struct devconf_allowed_ip *a, int family, const char *addr, uint8_t len)
{
	uint8_t want[16] = { 0 };

	return inet_pton(family, addr, want) == 1 && a->family == family &&
	       memcmp(a->addr, want, 16) == 0 && a->cidr == len && !a->remove;
}

static bool key_is(const uint8_t *key, const char *b64)
{
	uint8_t want[32];

	return keyenc_from_base64(want, b64, strlen(b64)) == 0 && memcmp(key, want, 32) == 0;
}

static void check_example_top(const struct mg_config *c)
{
	static const char *const eal[] = {
		"--no-pci", "--in-memory", "-l", "0-1", "--file-prefix", "mg0"
	};
	uint8_t gw[4] = { 192, 168, 77, 254 };

	CHECK(strcmp(c->interface, "mg0") == 0, "interface %s", c->interface);
	CHECK(strcmp(c->private_key_file, "/etc/meshgate/mg0.key") == 0, "key file");
	CHECK(c->listen_port == 51820, "listen_port %u", c->listen_port);
	CHECK(c->n_eal == 6, "n_eal %zu", c->n_eal);
	for (size_t i = 0; i < 6 && i < c->n_eal; i++)
		CHECK(strcmp(c->eal[i], eal[i]) == 0, "eal[%zu] %s", i, c->eal[i]);
	CHECK(strcmp(c->wan.device, "net_af_xdp0,iface=veth-mg") == 0, "wan.device %s",
	      c->wan.device);
	CHECK(c->wan.n_addresses == 2, "wan addresses %zu", c->wan.n_addresses);
	CHECK(cidr_is(&c->wan.addresses[0], AF_INET, "192.168.77.1", 24), "wan.addresses[0]");
	CHECK(cidr_is(&c->wan.addresses[1], AF_INET6, "fd77::1", 64), "wan.addresses[1]");
	CHECK(c->wan.has_gateway && memcmp(c->wan.gateway, gw, 4) == 0, "wan.gateway");
	CHECK(!c->wan.has_gateway6, "no gateway6");
	CHECK(strcmp(c->inner.name, "mg0") == 0, "inner.name %s", c->inner.name);
	CHECK(c->inner.n_addresses == 2, "inner addresses %zu", c->inner.n_addresses);
	CHECK(cidr_is(&c->inner.addresses[0], AF_INET, "10.77.0.1", 24), "inner.addresses[0]");
	CHECK(cidr_is(&c->inner.addresses[1], AF_INET6, "fd00:77::1", 64), "inner.addresses[1]");
	CHECK(c->inner.mtu == 1420, "mtu %u", c->inner.mtu);
	CHECK(c->idle_backoff, "idle backoff");
	CHECK(c->workers == 0, "workers default 0 (derived)");
	CHECK(c->log_level == CONFIG_LOG_INFO, "log_level default info");
}

static void check_example_wg(const struct devconf *wg)
{
	const struct devconf_peer *p = wg->peers;
	uint8_t ep[4] = { 192, 168, 77, 2 };

	CHECK(wg->replace_peers, "replace_peers");
	CHECK(!wg->has_private_key, "private key is the caller's to add");
	CHECK(wg->has_listen_port && wg->listen_port == 51820, "wg.listen_port");
	CHECK(!wg->has_fwmark, "no fwmark");
	CHECK(wg->n_peers == 1, "n_peers %zu", wg->n_peers);
	if (wg->n_peers != 1)
		return;
	CHECK(key_is(p->public_key, KEY1), "public key");
	CHECK(!p->remove && !p->update_only && !p->has_preshared_key, "peer flags");
	CHECK(p->has_endpoint && p->endpoint.family == AF_INET &&
	      memcmp(p->endpoint.addr, ep, 4) == 0 && p->endpoint.port == 51820 &&
	      p->endpoint.scope_id == 0, "endpoint");
	CHECK(p->replace_allowed_ips && p->n_allowed_ips == 2, "allowed_ips %zu", p->n_allowed_ips);
	CHECK(p->n_allowed_ips == 2 && aip_is(&p->allowed_ips[0], AF_INET, "10.77.0.2", 32) &&
	      aip_is(&p->allowed_ips[1], AF_INET6, "fd00:77::2", 128), "allowed_ips values");
	CHECK(p->has_persistent_keepalive && p->persistent_keepalive == 25, "keepalive");
}

static void test_example(void)
{
	struct mg_config c;
	char err[256] = "";
	int ret = parse(example, &c, err, sizeof(err));

	CHECK(ret == 0, "example refused: %s", err);
	if (ret)
		return;
	check_example_top(&c);
	check_example_wg(&c.wg);
	config_free(&c);
	CHECK(memcmp(&c, &zero_config, sizeof(c)) == 0, "config_free leaves the struct zeroed");
	/* A caller counting the terminating NUL, and a NULL err buffer. */
	ret = config_parse(example, sizeof(example), &c, NULL, 0);
	CHECK(ret == 0, "length including the NUL: %d", ret);
	config_free(&c);
}

/* Every optional field set, and a minimal file taking every default. */
static void test_full_and_minimal(void)
{
	static const char full[] =
		"{\"interface\": \"a-15-char-name.\", \"private_key_file\": \"k\","
		" \"listen_port\": 65535,"
		" \"wan\": {\"device\": \"0000:3b:00.0\","
		" \"addresses\": [\"fd77::1/64\", \"10.1.1.1/32\"],"
		" \"gateway\": \"10.1.1.254\", \"gateway6\": \"fe80::1\"},"
		" \"inner\": {\"device\": \"tun\", \"mtu\": 9000},"
		" \"idle\": \"poll\", \"workers\": 3, \"spread\": false,"
		" \"log_level\": \"debug\", \"peers\": [{\"public_key\": \"" KEY1 "\"},"
		" {\"public_key\": \"" KEY2 "\", \"preshared_key\": \"" PRIV "\","
		" \"endpoint\": \"[fe80::2%7]:1\","
		" \"allowed_ips\": [\"0.0.0.0/0\", \"::/0\", \"10.9.9.9\"],"
		" \"persistent_keepalive\": 0}]}";
	static const char minimal[] =
		"{\"interface\": \"wg0\", \"private_key_file\": \"k\", \"listen_port\": 1,"
		" \"wan\": {\"device\": \"net_memif\", \"addresses\": [\"10.0.0.1/8\"]},"
		" \"inner\": {\"device\": \"tun\"}}";
	struct mg_config c;
	char err[256] = "";
	const struct devconf_peer *p;

	CHECK(parse(full, &c, err, sizeof(err)) == 0, "full config refused: %s", err);
	p = &c.wg.peers[1];
	CHECK(strcmp(c.inner.name, "a-15-char-name.") == 0, "inner.name defaults to the interface");
	CHECK(c.wan.has_gateway6 && c.wan.gateway6[0] == 0xfe && c.wan.gateway6[15] == 1,
	      "gateway6");
	CHECK(c.inner.mtu == 9000 && c.inner.n_addresses == 0, "inner");
	CHECK(!c.idle_backoff && c.workers == 3 && !c.spread && c.log_level == CONFIG_LOG_DEBUG,
	      "idle/workers/spread/log");
	CHECK(c.n_eal == 0 && c.eal == NULL, "no eal");
	CHECK(c.wg.n_peers == 2 && c.wg.peers[0].n_allowed_ips == 0 &&
	      !c.wg.peers[0].has_endpoint && !c.wg.peers[0].has_persistent_keepalive, "bare peer");
	CHECK(p->has_preshared_key && key_is(p->preshared_key, PRIV), "preshared key");
	CHECK(p->has_endpoint && p->endpoint.family == AF_INET6 && p->endpoint.port == 1 &&
	      p->endpoint.scope_id == 7, "IPv6 endpoint with scope");
	CHECK(p->n_allowed_ips == 3 && aip_is(&p->allowed_ips[0], AF_INET, "0.0.0.0", 0) &&
	      aip_is(&p->allowed_ips[1], AF_INET6, "::", 0) &&
	      aip_is(&p->allowed_ips[2], AF_INET, "10.9.9.9", 32), "allowed_ips");
	CHECK(p->has_persistent_keepalive && p->persistent_keepalive == 0, "keepalive 0");
	config_free(&c);

	CHECK(parse(minimal, &c, err, sizeof(err)) == 0, "minimal config refused: %s", err);
	CHECK(strcmp(c.inner.name, "wg0") == 0 && c.inner.mtu == CONFIG_MTU_DEFAULT &&
	      c.idle_backoff && c.workers == 0 && c.spread && c.log_level == CONFIG_LOG_INFO &&
	      c.wg.replace_peers && c.wg.n_peers == 0 && !c.wan.has_gateway, "defaults");
	config_free(&c);
}

/* --- edits of the example by field path --- */

struct token {
	char name[64];
	int index; /* -1: a name */
};

static int tokenize(const char *path, struct token *t, int max)
{
	int n = 0;

	while (*path && n < max) {
		if (*path == '.')
			path++;
		if (*path == '[') {
			t[n].index = (int)strtol(path + 1, (char **)&path, 10);
			path++; /* ']' */
		} else {
			size_t len = strcspn(path, ".[");

			snprintf(t[n].name, sizeof(t[n].name), "%.*s", (int)len, path);
			t[n].index = -1;
			path += len;
		}
		n++;
	}
	return n;
}

/* Sets (or with v NULL, deletes) the member or element the last token names. */
static void apply(cJSON *parent, const struct token *t, cJSON *v)
{
	if (t->index >= 0) {
		if (!v)
			cJSON_DeleteItemFromArray(parent, t->index);
		else if (t->index < cJSON_GetArraySize(parent))
			cJSON_ReplaceItemInArray(parent, t->index, v);
		else
			cJSON_AddItemToArray(parent, v);
	} else if (!v) {
		cJSON_DeleteItemFromObjectCaseSensitive(parent, t->name);
	} else if (cJSON_GetObjectItemCaseSensitive(parent, t->name)) {
		cJSON_ReplaceItemInObjectCaseSensitive(parent, t->name, v);
	} else {
		cJSON_AddItemToObject(parent, t->name, v);
	}
}

/* The example with the value at path replaced by value (JSON text), or removed; malloc'd. */
static char *edit(const char *path, const char *value)
{
	cJSON *root = cJSON_Parse(example), *cur = root, *v = NULL;
	struct token t[8];
	int n = tokenize(path, t, 8);
	char *out;

	if (!root || (value && !(v = cJSON_Parse(value)))) {
		cJSON_Delete(root);
		return NULL;
	}
	if (n == 0) {
		cJSON_Delete(root);
		root = v;
	} else {
		for (int i = 0; i < n - 1 && cur; i++)
			cur = t[i].index >= 0 ? cJSON_GetArrayItem(cur, t[i].index) :
			      cJSON_GetObjectItemCaseSensitive(cur, t[i].name);
		if (!cur) {
			cJSON_Delete(v);
			cJSON_Delete(root);
			return NULL;
		}
		apply(cur, &t[n - 1], v);
	}
	out = cJSON_Print(root);
	cJSON_Delete(root);
	return out;
}

#define PEER2 "{\"public_key\": \"" KEY2 "\"," \
	      " \"allowed_ips\": [\"10.77.0.2/32\", \"10.77.0.0/24\"]}"

/* A gateway-mode inner block with the given routes. */
#define GW_INNER(routes) "{\"device\": \"net_af_xdp1,iface=lan0\", \"addresses\": [\"10.1.0.1/24\"," \
	" \"fd01::1/64\"], \"routes\": [" routes "]}"

/* expect NULL: must parse. Otherwise the error message must start with expect. */
static const struct {
	const char *path;
	const char *value; /* NULL: remove the field */
	const char *expect;
} edits[] = {
	{ "", "[]", "top level: expected an object, got an array" },
	{ "", "\"mg0\"", "top level: expected an object, got a string" },
	{ "Interface", "\"mg0\"", "Interface: unknown field; expected one of: interface," },
	{ "idel", "\"poll\"", "idel: unknown field" },
	{ "interface", "7", "interface: expected a string, got a number" },
	{ "interface", "null", "interface: expected a string, got null" },
	{ "interface", "\"\"", "interface: empty string" },
	{ "interface", "\"abcdefghijklmnop\"", "interface: \"abcdefghijklmnop\": longer than 15" },
	{ "interface", "\"abcdefghijklmno\"", NULL },
	{ "interface", "\"mg/0\"", "interface: \"mg/0\": only letters" },
	{ "interface", "\"mg 0\"", "interface: \"mg 0\": only letters" },
	{ "interface", "\"m\\u00e9\"", "interface: \"m\\xc3\\xa9\": only letters" },
	{ "interface", "\"..\"", "interface: \"..\": not a valid interface name" },
	{ "interface", NULL, "interface: missing (required)" },
	{ "private_key_file", NULL, "private_key_file: missing (required)" },
	{ "private_key_file", "[]", "private_key_file: expected a string, got an array" },
	{ "listen_port", "\"51820\"", "listen_port: expected an integer, got a string" },
	{ "listen_port", "true", "listen_port: expected an integer, got a boolean" },
	{ "listen_port", "0", NULL }, /* picked at start, as wg(8) does */
	{ "listen_port", "65536", "listen_port: 65536 out of range 0..65535" },
	{ "listen_port", "-1", "listen_port: -1 out of range" },
	{ "listen_port", "1.5", "listen_port: 1.5 is not an integer" },
	{ "listen_port", NULL, "listen_port: missing (required)" },
	{ "eal", "\"--no-pci\"", "eal: expected an array, got a string" },
	{ "eal[1]", "5", "eal[1]: expected a string, got a number" },
	{ "eal[0]", "\"\"", "eal[0]: empty string" },
	{ "eal", NULL, NULL },
	{ "eal", "[]", NULL },
	{ "wan", "5", "wan: expected an object, got a number" },
	{ "wan", NULL, "wan: missing (required)" },
	{ "wan.device", NULL, "wan.device: missing (required)" },
	{ "wan.device", "\"\"", "wan.device: empty string" },
	{ "wan.device", "1", "wan.device: expected a string, got a number" },
	{ "wan.mtu", "1280", NULL },
	{ "wan.mtu", "575", "wan.mtu: 575 out of range 576..9216" },
	{ "wan.mtu", "9217", "wan.mtu: 9217 out of range 576..9216" },
	{ "wan.mtu", "\"1500\"", "wan.mtu: expected an integer, got a string" },
	{ "wan.addresses", NULL, "wan.addresses: missing (required)" },
	{ "wan.addresses", "[]", "wan.addresses: needs at least 1 element(s)" },
	{ "wan.addresses", "\"192.168.77.1/24\"",
	  "wan.addresses: expected an array, got a string" },
	{ "wan.addresses[0]", "17", "wan.addresses[0]: expected a string, got a number" },
	{ "wan.addresses[0]", "\"192.168.77.1/33\"",
	  "wan.addresses[0]: \"192.168.77.1/33\": prefix length 33 out of range for IPv4" },
	{ "wan.addresses[1]", "\"fd77::1/129\"",
	  "wan.addresses[1]: \"fd77::1/129\": prefix length 129 out of range for IPv6" },
	{ "wan.addresses[0]", "\"192.168.77/24\"",
	  "wan.addresses[0]: \"192.168.77/24\": not an IPv4 address" },
	{ "wan.addresses[0]", "\"192.168.077.1/24\"",
	  "wan.addresses[0]: \"192.168.077.1/24\": not an IPv4" },
	{ "wan.addresses[0]", "\" 192.168.77.1/24\"",
	  "wan.addresses[0]: \" 192.168.77.1/24\": not an IPv4" },
	{ "wan.addresses[1]", "\"fd77:::1/64\"",
	  "wan.addresses[1]: \"fd77:::1/64\": not an IPv6 address" },
	{ "wan.addresses[0]", "\"192.168.77.1/\"",
	  "wan.addresses[0]: \"192.168.77.1/\": bad prefix length" },
	{ "wan.addresses[0]", "\"192.168.77.1/-1\"",
	  "wan.addresses[0]: \"192.168.77.1/-1\": bad prefix" },
	{ "wan.addresses[0]", "\"192.168.77.1/2x\"",
	  "wan.addresses[0]: \"192.168.77.1/2x\": bad prefix" },
	{ "wan.addresses[0]", "\"192.168.77.1/24/1\"",
	  "wan.addresses[0]: \"192.168.77.1/24/1\": bad prefix" },
	{ "wan.addresses[0]", "\"/24\"", "wan.addresses[0]: \"/24\": expected address/prefix" },
	{ "wan.addresses[0]", "\"0.0.0.0/0\"",
	  "wan.addresses[0]: \"0.0.0.0/0\": unspecified address" },
	{ "wan.addresses[0]", "\"127.0.0.1/8\"",
	  "wan.addresses[0]: \"127.0.0.1/8\": loopback address" },
	{ "wan.addresses[0]", "\"224.0.0.1/24\"", "wan.addresses[0]: \"224.0.0.1/24\": multicast" },
	{ "wan.addresses[1]", "\"::1/128\"", "wan.addresses[1]: \"::1/128\": loopback address" },
	{ "wan.addresses[1]", "\"::/0\"", "wan.addresses[1]: \"::/0\": unspecified address" },
	{ "wan.addresses[1]", "\"ff02::1/64\"",
	  "wan.addresses[1]: \"ff02::1/64\": multicast address" },
	{ "wan.addresses[2]", "\"192.168.77.1/16\"",
	  "wan.addresses[2]: \"192.168.77.1/16\": same address as element [0]" },
	{ "wan.addresses[1]", "\"192.168.78.1\"", NULL }, /* bare: /32 */
	{ "wan.gateway", "\"fd77::fe\"", "wan.gateway: \"fd77::fe\": not an IPv4 address" },
	{ "wan.gateway", "\"192.168.77.254/24\"",
	  "wan.gateway: \"192.168.77.254/24\": not an IPv4" },
	{ "wan.gateway", "\"255.255.255.255\"",
	  "wan.gateway: \"255.255.255.255\": multicast, broadcast" },
	{ "wan.gateway", "[]", "wan.gateway: expected a string, got an array" },
	{ "wan.gateway", NULL, NULL },
	{ "wan.gateway6", "\"fd77::fe\"", NULL },
	{ "wan.gateway6", "\"192.168.77.254\"",
	  "wan.gateway6: \"192.168.77.254\": not an IPv6 address" },
	{ "wan.addresses", "[\"fd77::1/64\"]", "wan.gateway: no IPv4 address in wan.addresses" },
	{ "wan", "{\"device\": \"x\", \"addresses\": [\"1.2.3.4/24\"], \"gateway6\": \"fd77::fe\"}",
	  "wan.gateway6: no IPv6 address in wan.addresses" },
	{ "wan.gatway", "\"192.168.77.254\"",
	  "wan.gatway: unknown field; expected one of: device, addresses, gateway, gateway6, mtu" },
	{ "inner", NULL, "inner: missing (required)" },
	{ "inner", "[]", "inner: expected an object, got an array" },
	{ "inner.device", NULL, "inner.device: missing (required)" },
	{ "inner.device", "\"\"", "inner.device: empty string" },
	{ "inner.device", "5", "inner.device: expected a string, got a number" },
	/* Gateway mode: a DPDK device as the LAN port. */
	{ "inner", "{\"device\": \"net_af_xdp1,iface=lan0\", \"addresses\": [\"10.1.0.1/24\"]}", NULL },
	{ "inner.device", "\"net_af_xdp1,iface=lan0\"",
	  "inner.name: names the TUN of host mode; inner.device is a DPDK device" },
	{ "inner", "{\"device\": \"0000:3b:00.1\"}",
	  "inner.addresses: gateway mode (inner.device a DPDK device) needs the LAN port's address" },
	{ "inner.routes", "[{\"prefix\": \"10.9.0.0/16\", \"via\": \"10.77.0.254\"}]",
	  "inner.routes: only for gateway mode" },
	{ "inner.routes", "[]", NULL },
	/* The flow table and the policy. */
	{ "flows", "{\"max\": 1000}", NULL },
	{ "flows", "{\"max\": 0}", "flows.max: 0 out of range 1..268435456" },
	{ "flows", "{}", "flows.max: missing (required)" },
	{ "flows", "{\"max\": 10, \"top\": 5}", "flows.top: unknown field" },
	{ "policy", "{\"default\": \"accept\", \"rules\": [{\"action\": \"drop\", \"proto\": \"tcp\","
		    " \"dport\": 22}]}", NULL },
	{ "policy", "{\"rules\": []}", "policy.default: missing (required)" },
	{ "policy", "{\"default\": \"drop\", \"rules\": [{\"action\": \"accept\", \"dport\": 22}]}",
	  "policy.rules[0]" },
	{ "inner", GW_INNER("{\"prefix\": \"10.9.0.0/16\", \"via\": \"10.1.0.254\"},"
			    " {\"prefix\": \"fd09::/48\", \"via\": \"fd01::fe\"}"), NULL },
	{ "inner", GW_INNER("{\"prefix\": \"10.9.0.0/16\", \"via\": \"10.2.0.254\"}"),
	  "inner.routes[0].via: the next hop is on none of inner.addresses' prefixes" },
	{ "inner", GW_INNER("{\"prefix\": \"10.9.0.0/16\", \"via\": \"fd01::fe\"}"),
	  "inner.routes[0].via: an IPv6 next hop for an IPv4 prefix" },
	{ "inner", GW_INNER("{\"prefix\": \"fd09::/48\", \"via\": \"10.1.0.254\"}"),
	  "inner.routes[0].via: an IPv4 next hop for an IPv6 prefix" },
	{ "inner", GW_INNER("{\"prefix\": \"10.9.0.0/16\", \"via\": \"10.1.0.1\"}"),
	  "inner.routes[0].via: the next hop is inner.addresses[0], this gateway itself" },
	{ "inner", GW_INNER("{\"prefix\": \"10.9.1.0/24\", \"via\": \"10.1.0.2\"},"
			    " {\"prefix\": \"10.9.1.7/24\", \"via\": \"10.1.0.3\"}"),
	  "inner.routes[1].prefix: same prefix as routes[0]" },
	{ "inner", GW_INNER("{\"prefix\": \"10.9.0.0/16\"}"), "inner.routes[0].via: missing (required)" },
	{ "inner", GW_INNER("{\"prefix\": \"10.9.0.0/16\", \"via\": \"10.1.0.2\", \"metric\": 1}"),
	  "inner.routes[0].metric: unknown field" },
	{ "inner", GW_INNER("{\"prefix\": \"10.9.0.0/16\", \"via\": \"lan-router\"}"),
	  "inner.routes[0].via: \"lan-router\": not an IPv4 or IPv6 address" },
	{ "inner", GW_INNER("{\"prefix\": \"10.9.0.0/16\", \"via\": \"10.1.0.255/24\"}"),
	  "inner.routes[0].via: \"10.1.0.255/24\": not an IPv4 or IPv6 address" },
	{ "inner", GW_INNER("{\"prefix\": \"10.9.0.0/33\", \"via\": \"10.1.0.2\"}"),
	  "inner.routes[0].prefix: \"10.9.0.0/33\": prefix length 33" },
	{ "inner", GW_INNER("\"10.9.0.0/16\""), "inner.routes[0]: expected an object, got a string" },
	{ "inner.name", "\"a-very-long-name\"",
	  "inner.name: \"a-very-long-name\": longer than 15" },
	{ "inner.name", "\"mg:0\"", "inner.name: \"mg:0\": only letters" },
	{ "inner.name", NULL, NULL },
	{ "inner.mtu", "575", "inner.mtu: 575 out of range 576..9000" },
	{ "inner.mtu", "9001", "inner.mtu: 9001 out of range 576..9000" },
	{ "inner.mtu", "\"1420\"", "inner.mtu: expected an integer, got a string" },
	{ "inner.mtu", "1000", "inner.mtu: 1000 is below 1280, the IPv6 minimum" },
	{ "inner.mtu", "1280", NULL },
	{ "inner.mtu", NULL, NULL },
	{ "inner.addresses", "{}", "inner.addresses: expected an array, got an object" },
	{ "inner.addresses[1]", "\"fd00:77::1/129\"",
	  "inner.addresses[1]: \"fd00:77::1/129\": prefix" },
	{ "inner.addresses", "[]", NULL },
	{ "inner.addresses", NULL, NULL },
	{ "inner.mttu", "1420", "inner.mttu: unknown field" },
	{ "idle", "\"spin\"", "idle: \"spin\": expected \"backoff\" or \"poll\"" },
	{ "idle", "\"Poll\"", "idle: \"Poll\": expected \"backoff\" or \"poll\"" },
	{ "idle", "true", "idle: expected a string, got a boolean" },
	{ "idle", "\"poll\"", NULL },
	{ "workers", "0", "workers: 0 out of range 1..128" },
	{ "workers", "129", "workers: 129 out of range 1..128" },
	{ "workers", "\"2\"", "workers: expected an integer, got a string" },
	{ "workers", "2", NULL },
	{ "spread", "\"yes\"", "spread: expected true or false, got a string" },
	{ "spread", "1", "spread: expected true or false, got a number" },
	{ "spread", "false", NULL },
	{ "log_level", "\"verbose\"", "log_level: \"verbose\": expected \"error\"" },
	{ "log_level", "\"warning\"", NULL },
	{ "peers", "{}", "peers: expected an array, got an object" },
	{ "peers", "[]", NULL },
	{ "peers", NULL, NULL },
	{ "peers[0]", "\"x\"", "peers[0]: expected an object, got a string" },
	{ "peers[0]", "{}", "peers[0].public_key: missing (required)" },
	{ "peers[0].public_key", NULL, "peers[0].public_key: missing (required)" },
	{ "peers[0].public_key", "5", "peers[0].public_key: expected a string, got a number" },
	{ "peers[0].public_key", "\"abc\"", "peers[0].public_key: \"abc\": not a base64 key" },
	{ "peers[0].public_key", "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg\"",
	  "peers[0].public_key: \"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg\": not a base64" },
	{ "peers[0].public_key", "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh=\"",
	  "peers[0].public_key: \"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh=\": not a base64" },
	{ "peers[0].public_key", "\"" HEXKEY "\"", "peers[0].public_key: \"" HEXKEY "\": not" },
	{ "peers[0].preshared_key", "\"" KEY2 "\"", NULL },
	{ "peers[0].preshared_key", "\"" ZERO_B64 "\"", NULL }, /* all zero: no PSK, as in wg */
	{ "peers[0].preshared_key", "\"secret\"",
	  "peers[0].preshared_key: not a base64 key (44 characters ending in '=', as wg genpsk "
	  "prints); got 6 characters" },
	{ "peers[0].endpoint", "51820", "peers[0].endpoint: expected a string, got a number" },
	{ "peers[0].endpoint", "\"192.168.77.2\"",
	  "peers[0].endpoint: \"192.168.77.2\": expected a.b.c.d:port or [ipv6]:port" },
	{ "peers[0].endpoint", "\"192.168.77.2:0\"",
	  "peers[0].endpoint: \"192.168.77.2:0\": bad port" },
	{ "peers[0].endpoint", "\"192.168.77.2:65536\"",
	  "peers[0].endpoint: \"192.168.77.2:65536\": bad port" },
	{ "peers[0].endpoint", "\"192.168.77.2:\"",
	  "peers[0].endpoint: \"192.168.77.2:\": bad port" },
	{ "peers[0].endpoint", "\"192.168.77.2:+5\"",
	  "peers[0].endpoint: \"192.168.77.2:+5\": bad port" },
	{ "peers[0].endpoint", "\":51820\"", "peers[0].endpoint: \":51820\": not an IPv4 address" },
	{ "peers[0].endpoint", "\"example.com:51820\"",
	  "peers[0].endpoint: \"example.com:51820\": not an IPv4 address (host names are not "
	  "resolved)" },
	{ "peers[0].endpoint", "\"fd77::2:51820\"",
	  "peers[0].endpoint: \"fd77::2:51820\": an IPv6 endpoint needs brackets" },
	{ "peers[0].endpoint", "\"[fd77::2]\"", "peers[0].endpoint: \"[fd77::2]\": bad port" },
	{ "peers[0].endpoint", "\"[fd77::2:51820\"",
	  "peers[0].endpoint: \"[fd77::2:51820\": expected [ipv6]:port" },
	{ "peers[0].endpoint", "\"[fd77::zz]:51820\"",
	  "peers[0].endpoint: \"[fd77::zz]:51820\": not an IPv6" },
	{ "peers[0].endpoint", "\"[192.168.77.2]:51820\"",
	  "peers[0].endpoint: \"[192.168.77.2]:51820\": not an IPv6" },
	{ "peers[0].endpoint", "\"[fe80::1%eth0]:51820\"",
	  "peers[0].endpoint: \"[fe80::1%eth0]:51820\": bad scope" },
	{ "peers[0].endpoint", "\"[fd77::2]:51820\"", NULL },
	{ "peers[0].allowed_ips[1]", "\"10.0.0.0/33\"",
	  "peers[0].allowed_ips[1]: \"10.0.0.0/33\": prefix length 33 out of range for IPv4" },
	{ "peers[0].allowed_ips[0]", "\"10.77.0.2/32/1\"",
	  "peers[0].allowed_ips[0]: \"10.77.0.2/32/1\": bad" },
	{ "peers[0].allowed_ips[0]", "null",
	  "peers[0].allowed_ips[0]: expected a string, got null" },
	{ "peers[0].allowed_ips", "\"10.77.0.2/32\"",
	  "peers[0].allowed_ips: expected an array, got a string" },
	{ "peers[0].allowed_ips", "[]", NULL },
	{ "peers[0].allowed_ips[2]", "\"10.77.0.2/32\"", NULL }, /* repeated: legal, as in wg */
	{ "peers[0].allowed_ips[2]", "\"224.0.0.0/4\"", NULL },  /* routes need not be unicast */
	{ "peers[0].persistent_keepalive", "65536",
	  "peers[0].persistent_keepalive: 65536 out of range 0..65535" },
	{ "peers[0].persistent_keepalive", "-1",
	  "peers[0].persistent_keepalive: -1 out of range 0..65535" },
	{ "peers[0].persistent_keepalive", "\"25\"",
	  "peers[0].persistent_keepalive: expected an integer" },
	{ "peers[0].persistent_keepalive", "0", NULL },
	{ "peers[0].persistent_keepalive", "65535", NULL },
	{ "peers[0].endpont", "\"192.168.77.2:51820\"",
	  "peers[0].endpont: unknown field; expected one of: public_key, preshared_key, endpoint, "
	  "allowed_ips, persistent_keepalive" },
	{ "peers[1]", "{\"public_key\": \"" KEY1 "\"}",
	  "peers[1].public_key: same key as peers[0]" },
	{ "peers[1]", "{\"public_key\": \"" KEY2 "\", \"foo\": 1}", "peers[1].foo: unknown field" },
	{ "peers[1]", PEER2, NULL }, /* overlapping allowed-IPs between peers: legal, last wins */
};

static void test_edits(void)
{
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *text = edit(edits[i].path, edits[i].value);
		char err[512] = "";
		struct mg_config c;
		int ret;

		CHECK(text != NULL, "row %zu: the test's own edit of %s failed", i, edits[i].path);
		if (!text)
			continue;
		ret = parse(text, &c, err, sizeof(err));
		if (!edits[i].expect) {
			CHECK(ret == 0, "row %zu (%s = %s) refused: %s", i, edits[i].path,
			      edits[i].value ? edits[i].value : "removed", err);
			config_free(&c);
		} else {
			CHECK(ret == -EINVAL, "row %zu (%s) returned %d", i, edits[i].path, ret);
			CHECK(strncmp(err, edits[i].expect, strlen(edits[i].expect)) == 0,
			      "row %zu: error\n  got:    %s\n  wanted: %s...", i, err,
			      edits[i].expect);
			CHECK(memcmp(&c, &zero_config, sizeof(c)) == 0, "row %zu: not zeroed", i);
		}
		free(text);
	}
}

/* A policy brings the flow table with it (stateful); "flows" sizes it. */
static void test_flows_policy(void)
{
	char *text = edit("policy", "{\"default\": \"drop\", \"rules\": [{\"action\": \"accept\", \"dir\": \"out\"}]}");
	char err[512] = "";
	struct mg_config c;

	CHECK(text && parse(text, &c, err, sizeof(err)) != 0, "a misspelt rule field refused");
	free(text);
	text = edit("policy", "{\"default\": \"drop\", \"rules\": [{\"action\": \"accept\", \"direction\": \"out\"}]}");
	CHECK(text && parse(text, &c, err, sizeof(err)) == 0, "policy: %s", err);
	CHECK(c.policy && c.flow_max == CONFIG_FLOWS_DEFAULT, "a policy gets the default flow table: %u", c.flow_max);
	config_free(&c);
	free(text);
	text = edit("flows", "{\"max\": 4096}");
	CHECK(text && parse(text, &c, err, sizeof(err)) == 0 && c.flow_max == 4096 && !c.policy,
	      "flows without a policy: %s", err);
	config_free(&c);
	free(text);
	text = edit("inner.mtu", "1420");
	CHECK(text && parse(text, &c, err, sizeof(err)) == 0 && c.flow_max == 0 && !c.policy, "neither: no table");
	config_free(&c);
	free(text);
}

/* Gateway mode's inner block as parsed: the device, routes with host bits cleared. */
static void test_gateway_inner(void)
{
	char *text = edit("inner", GW_INNER("{\"prefix\": \"10.9.1.7/24\", \"via\": \"10.1.0.254\"},"
					     " {\"prefix\": \"fd09:1:2:3::/48\", \"via\": \"fd01::fe\"}"));
	char err[512] = "";
	struct mg_config c;
	uint8_t a[16];

	CHECK(text && parse(text, &c, err, sizeof(err)) == 0, "gateway inner refused: %s", err);
	free(text);
	if (test_checks_failed)
		return;
	CHECK(c.inner.device && strcmp(c.inner.device, "net_af_xdp1,iface=lan0") == 0, "device");
	CHECK(c.inner.n_addresses == 2 && c.inner.n_routes == 2, "%zu addresses, %zu routes",
	      c.inner.n_addresses, c.inner.n_routes);
	CHECK(c.inner.routes[0].family == AF_INET && c.inner.routes[0].prefix_len == 24, "route 0");
	addr_parse_ip(AF_INET, "10.9.1.0", 8, a);
	CHECK_MEM(c.inner.routes[0].addr, a, 4, "route 0's host bits cleared");
	addr_parse_ip(AF_INET, "10.1.0.254", 10, a);
	CHECK_MEM(c.inner.routes[0].via, a, 4, "route 0's next hop");
	CHECK(c.inner.routes[1].family == AF_INET6 && c.inner.routes[1].prefix_len == 48, "route 1");
	addr_parse_ip(AF_INET6, "fd09:1:2::", 10, a);
	CHECK_MEM(c.inner.routes[1].addr, a, 16, "route 1's host bits cleared");
	config_free(&c);
	/* Host mode leaves the device NULL ("tun"). */
	text = edit("inner.mtu", "1420");
	CHECK(text && parse(text, &c, err, sizeof(err)) == 0 && !c.inner.device && !c.inner.n_routes,
	      "host mode: device %s", c.inner.device ? c.inner.device : "NULL");
	config_free(&c);
	free(text);
}

/* A preshared key is secret: never in a message, however malformed. */
static void test_secret_not_echoed(void)
{
	char *text = edit("peers[0].preshared_key", "\"" KEY2 "x\"");
	char err[512] = "";
	struct mg_config c;

	CHECK(text && parse(text, &c, err, sizeof(err)) == -EINVAL, "bad psk accepted");
	CHECK(strstr(err, "TrMvSoP4") == NULL, "psk echoed: %s", err);
	free(text);
}

/* Limits that need built-up values. */
static void test_limits(void)
{
	char value[2048] = "[";
	char err[512] = "";
	struct mg_config c;
	char *text;

	for (int i = 0; i < CONFIG_MAX_EAL_ARGS + 1; i++)
		strcat(value, i ? ",\"-v\"" : "\"-v\"");
	strcat(value, "]");
	text = edit("eal", value);
	CHECK(text && parse(text, &c, err, sizeof(err)) == -EINVAL &&
	      strcmp(err, "eal: more than 64 elements") == 0, "65 EAL args: %s", err);
	free(text);
	value[strlen(value) - 6] = ']'; /* 64 */
	value[strlen(value) - 5] = '\0';
	text = edit("eal", value);
	CHECK(text && parse(text, &c, err, sizeof(err)) == 0 && c.n_eal == 64, "64 EAL args: %s",
	      err);
	config_free(&c);
	free(text);

	strcpy(value, "[");
	for (int i = 0; i < CONFIG_MAX_ADDRESSES + 1; i++)
		sprintf(value + strlen(value), "%s\"10.77.%d.1/24\"", i ? "," : "", i);
	strcat(value, "]");
	text = edit("inner.addresses", value);
	CHECK(text && parse(text, &c, err, sizeof(err)) == -EINVAL &&
	      strcmp(err, "inner.addresses: more than 16 elements") == 0, "17 addresses: %s", err);
	free(text);
}

/* --- raw text: JSON syntax and what cJSON alone would let through --- */

#define REQ "\"interface\": \"mg0\", \"private_key_file\": \"k\""

static const struct {
	const char *text;
	const char *expect;
} raws[] = {
	{ "", "top level: empty (no JSON value)" },
	{ " \n", "top level: empty (no JSON value)" },
	{ "{", "JSON syntax error at line 1" },
	{ "{\"interface\": }", "JSON syntax error at line 1 column 15: invalid JSON" },
	{ "{\n  \"interface\": mg0\n}", "JSON syntax error at line 2 column 16" },
	{ "{\"a\": 1,}", "JSON syntax error" },
	{ "{'interface': 'mg0'}", "JSON syntax error" },
	{ "{\"interface\": \"mg0\" // comment\n}", "JSON syntax error" },
	{ "{} x", "JSON syntax error at line 1 column 4: trailing content" },
	{ "{}{}", "JSON syntax error at line 1 column 3: trailing content" },
	{ "{}", "interface: missing (required)" },
	{ "[]", "top level: expected an object, got an array" },
	{ "null", "top level: expected an object, got null" },
	{ "42", "top level: expected an object, got a number" },
	{ "{\"interface\": \"mg0\", \"interface\": \"mg1\"}", "interface: duplicate field" },
	{ "{\"interface\": \"mg\\u00000\"}", "JSON syntax error at line 1 column 18: control" },
	{ "{\"interface\": \"mg\\\\u0000\"}", "interface: \"mg\\x5cu0000\": only letters" },
	{ "{\"interface\": \"mg\x01\"}", "JSON syntax error at line 1 column 18: control" },
	{ "{\"interface\": \"mg\t0\"}", "JSON syntax error at line 1 column 18: control" },
	{ "{\x01}", "JSON syntax error at line 1 column 2: control" },
	{ "{\x0b}", "JSON syntax error at line 1 column 2: control" },
	{ "{\"interface\": \"mg\\q\"}", "JSON syntax error" },
	{ "{\"interface\": \"\\ud800\"}", "JSON syntax error" },
	{ "{" REQ ", \"listen_port\": 1e400}", "listen_port: inf out of range 0..65535" },
	{ "{" REQ ", \"listen_port\": 51820.000}", "wan: missing (required)" },
	{ "{" REQ ", \"listen_port\": 5182e1}", "wan: missing (required)" },
	{ "{" REQ ", \"listen_port\": 51820.5}", "listen_port: 51820.5 is not an integer" },
};

static void test_raw(void)
{
	for (size_t i = 0; i < sizeof(raws) / sizeof(raws[0]); i++) {
		char err[512] = "";
		struct mg_config c;
		int ret = parse(raws[i].text, &c, err, sizeof(err));

		CHECK(ret == -EINVAL, "raw %zu returned %d", i, ret);
		CHECK(strncmp(err, raws[i].expect, strlen(raws[i].expect)) == 0,
		      "raw %zu: error\n  got:    %s\n  wanted: %s...", i, err, raws[i].expect);
		CHECK(memcmp(&c, &zero_config, sizeof(c)) == 0, "raw %zu: output not zeroed", i);
	}
}

/* Nesting far past cJSON's limit, and a tiny err buffer: no crash, no overflow. */
static void test_odd_inputs(void)
{
	size_t depth = 100000;
	char *deep = malloc(2 * depth + 1);
	char small[8];
	struct mg_config c;

	if (!deep)
		return;
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = '\0';
	CHECK(parse(deep, &c, small, sizeof(small)) == -EINVAL, "deep nesting");
	CHECK(strlen(small) == sizeof(small) - 1, "message truncated to the buffer");
	free(deep);
	CHECK(parse("{}", &c, small, 1) == -EINVAL && small[0] == '\0', "1-byte err buffer");
	CHECK(config_parse(NULL, 0, &c, NULL, 0) == -EINVAL, "NULL text");
}

/* --- random mutations of the example --- */

static size_t mutate(struct test_rng *r, char *buf, size_t len, size_t cap)
{
	static const char specials[] = "\"{}[],:\\ 0-.e/\x01\xff";
	size_t pos = len ? test_rng_next(r) % len : 0;

	switch (test_rng_next(r) % 6) {
	case 0: /* bit flip */
		if (len)
			buf[pos] ^= (char)(1u << (test_rng_next(r) % 8));
		return len;
	case 1: /* structural character */
		if (len)
			buf[pos] = specials[test_rng_next(r) % (sizeof(specials) - 1)];
		return len;
	case 2: /* truncation */
		return pos;
	case 3: /* deletion */
		if (len)
			memmove(buf + pos, buf + pos + 1, len - pos - 1);
		return len ? len - 1 : 0;
	case 4: /* duplicate a chunk */
	default: {
		size_t n = test_rng_next(r) % 40;

		if (n > len - pos)
			n = len - pos;
		if (len + n > cap)
			return len;
		memmove(buf + pos + n, buf + pos, len - pos);
		return len + n;
	}
	}
}

static void test_mutations(void)
{
	const uint64_t seed = 0x636f6e666967ULL;
	unsigned int accepted = 0, refused = 0, bad = 0;
	size_t cap = sizeof(example) * 4;
	struct test_rng r;

	test_rng_seed(&r, seed);
	for (int i = 0; i < 20000; i++) {
		/* Exactly len bytes, no terminator: ASan sees any read past the end. */
		char *buf = malloc(cap), *exact;
		size_t len = sizeof(example) - 1;
		int rounds = 1 + (int)(test_rng_next(&r) % 4);
		char err[256] = "";
		struct mg_config c;
		int ret;

		memcpy(buf, example, len);
		while (rounds--)
			len = mutate(&r, buf, len, cap);
		exact = malloc(len ? len : 1);
		memcpy(exact, buf, len);
		memset(&c, 0xa5, sizeof(c));
		ret = config_parse(exact, len, &c, err, sizeof(err));
		if (ret == 0) {
			accepted++;
			bad += c.interface[0] == '\0' || c.inner.mtu < CONFIG_MTU_MIN ||
			       !c.wan.n_addresses;
			config_free(&c);
		} else {
			refused++;
			bad += ret != -EINVAL || err[0] == '\0' ||
			       memcmp(&c, &zero_config, sizeof(c)) != 0;
		}
		free(exact);
		free(buf);
	}
	printf("mutations (seed %#llx): %u accepted, %u refused\n", (unsigned long long)seed,
	       accepted, refused);
	CHECK(bad == 0, "%u mutations misbehaved (seed %#llx)", bad, (unsigned long long)seed);
	CHECK(accepted > 0 && refused > 0, "mutations should both pass and fail");
}

/* --- the private key file --- */

static char tmpdir[] = "/tmp/mg-test-config-XXXXXX";

static const char *key_path(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", tmpdir, name);
	return buf;
}

static const char *write_key(const char *name, const char *content, size_t len, mode_t mode)
{
	static char path[256];
	int fd;

	key_path(name, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, content, len) != (ssize_t)len || fchmod(fd, mode) != 0)
		CHECK(0, "cannot write %s", path);
	if (fd >= 0)
		close(fd);
	return path;
}

static void check_key(const char *path, int want, const char *msg, const char *what)
{
	uint8_t key[32];
	char err[512] = "";
	int ret;

	memset(key, 0xa5, sizeof(key));
	ret = keyfile_read(path, key, err, sizeof(err));
	CHECK(ret == want, "%s: returned %d, wanted %d (%s)", what, ret, want, err);
	if (want == 0) {
		CHECK(key_is(key, PRIV), "%s: wrong key", what);
		return;
	}
	CHECK(sodium_is_zero(key, 32), "%s: key not zeroed on error", what);
	CHECK(strstr(err, path) && strstr(err, msg), "%s: message \"%s\" lacks path or \"%s\"",
	      what, err, msg);
}

/* The same text given to lib/'s parser directly: the same verdict and words, no file. */
static void check_key_text(const char *text, size_t len, int want, const char *msg,
			   const char *what)
{
	const char *why = "unset";
	uint8_t key[32];
	int ret;

	memset(key, 0xa5, sizeof(key));
	ret = keyenc_from_keyfile(key, text, len, &why);
	CHECK(ret == want, "%s (text): returned %d, wanted %d", what, ret, want);
	if (want == 0) {
		CHECK(key_is(key, PRIV) && why == NULL, "%s (text): wrong key", what);
		return;
	}
	CHECK(sodium_is_zero(key, 32), "%s (text): key not zeroed on error", what);
	CHECK(why && strstr(why, msg), "%s (text): \"%s\" lacks \"%s\"", what, why ? why : "",
	      msg);
}

static void test_key_modes(void)
{
	static const mode_t refused[] = { 0644, 0640, 0604, 0660, 0610, 0601, 0666, 0770 };
	char path[256], msg[32];

	check_key(write_key("ok", PRIV "\n", 45, 0600), 0, "", "0600 with newline");
	check_key(write_key("ok400", PRIV "\n", 45, 0400), 0, "", "0400");
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const char *loose = write_key("loose", PRIV "\n", 45, refused[i]);

		snprintf(msg, sizeof(msg), "mode %04o", (unsigned int)refused[i]);
		check_key(loose, -EPERM, msg, msg);
		check_key(loose, -EPERM, "chmod 600", msg);
	}
	check_key(key_path("missing", path, sizeof(path)), -ENOENT, "No such file", "missing file");
	key_path("dir", path, sizeof(path));
	CHECK(mkdir(path, 0700) == 0, "mkdir %s", path);
	check_key(path, -EINVAL, "not a regular file", "directory");
	key_path("fifo", path, sizeof(path));
	CHECK(mkfifo(path, 0600) == 0, "mkfifo %s", path);
	check_key(path, -EINVAL, "not a regular file", "FIFO (must not block)");
	/* A symlink is followed (as ssh does): what counts is the file it names. */
	key_path("link", path, sizeof(path));
	CHECK(symlink("ok", path) == 0, "symlink %s", path);
	check_key(path, 0, "", "symlink to a 0600 file");
}

static void test_key_content(void)
{
	static const struct {
		const char *content;
		int ret;
		const char *msg;
		const char *what;
	} cases[] = {
		{ PRIV, 0, "", "no newline" },
		{ PRIV "\r\n", 0, "", "CRLF" },
		{ PRIV "\n\n  \t\n", 0, "", "trailing whitespace (as wg reads it)" },
		{ "", -EINVAL, "not a wg genkey file", "empty" },
		{ "\n", -EINVAL, "not a wg genkey file", "just a newline" },
		{ "hello\n", -EINVAL, "not a wg genkey file", "text" },
		{ "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw\n", -EINVAL, "not a wg genkey",
		  "43 chars" },
		{ "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykx=\n", -EINVAL, "not a wg genkey",
		  "non-canonical" },
		{ " " PRIV "\n", -EINVAL, "not a wg genkey file", "leading space" },
		{ PRIV "x\n", -EINVAL, "trailing content", "trailing character" },
		{ PRIV "\n" PRIV "\n", -EINVAL, "trailing content", "two keys" },
		{ "1c8828f7137324c58b2804928624ea2326f1674537c062e251e2753ca7fcca4c\n", -EINVAL,
		  "not a wg genkey file", "hex key" },
		{ ZERO_B64 "\n", -EINVAL, "all-zero key", "all-zero key" },
	};
	char big[600];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check_key(write_key("content", cases[i].content, strlen(cases[i].content), 0600),
			  cases[i].ret, cases[i].msg, cases[i].what);
		check_key_text(cases[i].content, strlen(cases[i].content), cases[i].ret,
			       cases[i].msg, cases[i].what);
	}
	memcpy(big, PRIV, 44);
	memset(big + 44, '\n', sizeof(big) - 44);
	check_key(write_key("big", big, sizeof(big), 0600), -EINVAL, "too large", "600 bytes");
	check_key_text(big, sizeof(big), -EINVAL, "too large", "600 bytes");
	check_key(write_key("big", big, KEYENC_KEYFILE_MAX, 0600), 0, "", "the largest key file");
	check_key(write_key("big", big, KEYENC_KEYFILE_MAX + 1, 0600), -EINVAL, "too large",
		  "one byte over");
	check_key_text(big, KEYENC_KEYFILE_MAX, 0, "", "the largest key file");
	check_key_text(big, KEYENC_KEYFILE_MAX + 1, -EINVAL, "too large", "one byte over");
	check_key(write_key("nul", PRIV "\0", 45, 0600), -EINVAL, "trailing content",
		  "NUL after key");
	check_key_text(PRIV "\0", 45, -EINVAL, "trailing content", "NUL after key");
}

static void remove_tmpdir(void)
{
	static const char *const names[] = { "ok", "ok400", "loose", "dir", "fifo", "link",
					     "content", "big", "nul" };
	char path[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		key_path(names[i], path, sizeof(path));
		if (unlink(path) != 0)
			rmdir(path);
	}
	CHECK(rmdir(tmpdir) == 0, "cannot remove %s", tmpdir);
}

static void test_key_file(void)
{
	mode_t old = umask(077);

	if (!mkdtemp(tmpdir)) {
		CHECK(0, "mkdtemp %s", tmpdir);
		return;
	}
	test_key_modes();
	test_key_content();
	remove_tmpdir();
	umask(old);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_example();
	test_full_and_minimal();
	test_edits();
	test_gateway_inner();
	test_flows_policy();
	test_secret_not_echoed();
	test_limits();
	test_raw();
	test_odd_inputs();
	test_mutations();
	test_key_file();
	return test_done("config");
}
