/* SPDX-License-Identifier: MIT */
/*
 * The packet-filter policy: hand-made cases for first match, the default, every field alone at
 * its boundaries (prefix lengths 0, 1, 31, 32, 64, 65, 127, 128, mixed families, ports 0 and
 * 65535 and both ends of a range, protocol, direction, peer), ICMP identifiers in the port slots,
 * host bits, the rule limit, and every validation error with its exact message; the JSON block as
 * tables of valid texts with the rules they give and invalid ones with their exact messages; and
 * a differential test against a naive matcher (a plain loop over the source rules, prefixes
 * compared bit by bit) on random rule sets of up to 1000 rules, biased so that rules and keys
 * overlap, and on random rules that may be invalid. Hand cases check the naive matcher too, so
 * the reference is itself pinned down. Run under ASan for the leak checks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "jsonwalk.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Real keys (the wg(8) man page's). */
#define KEY1 "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define KEY1_BYTES                                                                      \
	{ 0xc5, 0x32, 0x01, 0x03, 0x9a, 0xdb, 0xa1, 0x4b, 0xe7, 0x1f, 0x88, 0x6d, 0xa1,  \
	  0xd8, 0xdb, 0xe9, 0xee, 0xbd, 0xed, 0x08, 0xcb, 0x11, 0x1b, 0x75, 0x34, 0x00,  \
	  0x78, 0x99, 0x9a, 0xa9, 0xf0, 0x38 }

static const uint8_t peer_keys[4][32] = { KEY1_BYTES, { 1 }, { 2 }, { 2, 1 } };
static const uint8_t *const K1 = peer_keys[0], *const K2 = peer_keys[1], *const K3 = peer_keys[2];

/* --- the naive reference: the source rules, in order, every field checked plainly --- */

static int bit_of(const uint8_t *a, unsigned int i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

static bool naive_prefix(const struct policy_prefix *pf, const struct flow_key *k,
			 const uint8_t *addr)
{
	if (pf->family && pf->family != k->family)
		return false;
	for (unsigned int i = 0; i < pf->len; i++)
		if (bit_of(pf->addr, i) != bit_of(addr, i))
			return false;
	return true;
}

static bool naive_rule(const struct policy_rule *r, const struct flow_key *k,
		       const uint8_t *peer, enum policy_dir dir)
{
	if (k->family != AF_INET && k->family != AF_INET6)
		return false;
	if (r->family && r->family != k->family)
		return false;
	if (!naive_prefix(&r->src, k, k->src) || !naive_prefix(&r->dst, k, k->dst))
		return false;
	if (r->proto && r->proto != k->proto)
		return false;
	if (r->sport.set && (k->sport < r->sport.lo || k->sport > r->sport.hi))
		return false;
	if (r->dport.set && (k->dport < r->dport.lo || k->dport > r->dport.hi))
		return false;
	if (r->dir != POLICY_DIR_ANY && r->dir != dir)
		return false;
	if (r->has_peer && (!peer || memcmp(peer, r->peer, 32) != 0))
		return false;
	return true;
}

static uint32_t naive_match(const struct policy_rule *r, size_t n, const struct flow_key *k,
			    const uint8_t *peer, enum policy_dir dir)
{
	for (size_t i = 0; i < n; i++)
		if (naive_rule(&r[i], k, peer, dir))
			return (uint32_t)i;
	return POLICY_DEFAULT;
}

static bool naive_family_ok(int f)
{
	return f == 0 || f == AF_INET || f == AF_INET6;
}

/* Whether the source rule is acceptable: the same rules as policy.h states, written apart. */
static bool naive_valid(const struct policy_rule *r)
{
	const struct policy_prefix *pf[2] = { &r->src, &r->dst };
	bool ports = r->proto == IPPROTO_TCP || r->proto == IPPROTO_UDP ||
		     r->proto == IPPROTO_UDPLITE || r->proto == IPPROTO_SCTP ||
		     r->proto == IPPROTO_DCCP;

	if (!naive_family_ok(r->family))
		return false;
	for (int i = 0; i < 2; i++) {
		if (!naive_family_ok(pf[i]->family))
			return false;
		if (pf[i]->family == 0 && pf[i]->len != 0)
			return false;
		if (pf[i]->len > (pf[i]->family == AF_INET ? 32 : 128))
			return false;
		if (pf[i]->family && r->family && pf[i]->family != r->family)
			return false;
	}
	if (r->src.family && r->dst.family && r->src.family != r->dst.family)
		return false;
	if (r->sport.set && (!ports || r->sport.lo > r->sport.hi))
		return false;
	if (r->dport.set && (!ports || r->dport.lo > r->dport.hi))
		return false;
	return (unsigned int)r->dir <= 2 &&
	       (r->action == POLICY_DROP || r->action == POLICY_ACCEPT);
}

/* --- building rules and keys --- */

static void parse_addr(const char *text, int *family, uint8_t addr[16])
{
	*family = strchr(text, ':') ? AF_INET6 : AF_INET;
	memset(addr, 0, 16);
	if (inet_pton(*family, text, addr) != 1) {
		fprintf(stderr, "bad address in test: %s\n", text);
		abort();
	}
}

/* "a.b.c.d/len", "v6/len" or a bare address (all bits). */
static struct policy_prefix PFX(const char *text)
{
	struct policy_prefix pf = { 0 };
	char buf[64];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	parse_addr(buf, &pf.family, pf.addr);
	pf.len = (uint8_t)(slash ? atoi(slash + 1) : pf.family == AF_INET ? 32 : 128);
	return pf;
}

static struct flow_key KEY(const char *src, const char *dst, uint8_t proto, uint16_t sport,
			   uint16_t dport)
{
	struct flow_key k;
	int f1, f2;

	memset(&k, 0, sizeof(k));
	parse_addr(src, &f1, k.src);
	parse_addr(dst, &f2, k.dst);
	if (f1 != f2)
		abort();
	k.family = (uint8_t)f1;
	k.proto = proto;
	k.sport = sport;
	k.dport = dport;
	return k;
}

#define PORTS(l, h) ((struct policy_ports){ true, (l), (h) })
#define RULE(...) ((struct policy_rule){ __VA_ARGS__ })

static struct policy *compile_ok(const struct policy_rule *r, size_t n, enum policy_action d,
				 int line)
{
	char err[256];
	struct policy *p = policy_compile(r, n, d, err, sizeof(err));

	CHECK(p != NULL, "line %d: compile: %s", line, err);
	return p;
}

/* Both the policy and the naive reference must give want. */
static void expect_match(int line, const struct policy *p, const struct policy_rule *r, size_t n,
			 uint32_t want, struct flow_key k, const uint8_t *peer, enum policy_dir dir)
{
	uint32_t got = p ? policy_match(p, &k, peer, dir) : POLICY_DEFAULT - 1;
	uint32_t ref = naive_match(r, n, &k, peer, dir);

	CHECK(got == want, "line %d: policy_match gave %d, want %d", line, (int)got, (int)want);
	CHECK(ref == want, "line %d: the naive matcher gave %d, want %d", line, (int)ref,
	      (int)want);
}

#define MATCH(p, rules, want, key, peer, dir) \
	expect_match(__LINE__, p, rules, ARRAY_SIZE(rules), want, key, peer, dir)

/* One rule alone: does it take key (from peer, in dir)? */
static void expect_one(int line, struct policy_rule r, struct flow_key k, const uint8_t *peer,
		       enum policy_dir dir, bool want)
{
	struct policy *p = compile_ok(&r, 1, POLICY_DROP, line);

	expect_match(line, p, &r, 1, want ? 0 : POLICY_DEFAULT, k, peer, dir);
	policy_free(p);
}

#define YES(r, k) expect_one(__LINE__, r, k, NULL, POLICY_DIR_IN, true)
#define NO(r, k) expect_one(__LINE__, r, k, NULL, POLICY_DIR_IN, false)
#define YES_FROM(r, k, peer, dir) expect_one(__LINE__, r, k, peer, dir, true)
#define NO_FROM(r, k, peer, dir) expect_one(__LINE__, r, k, peer, dir, false)

/* --- hand cases --- */

static void test_first_match(void)
{
	const struct policy_rule rules[] = {
		RULE(.proto = IPPROTO_TCP, .dst = PFX("10.0.0.0/24"), .dport = PORTS(80, 80),
		     .action = POLICY_ACCEPT),
		RULE(.dst = PFX("10.0.0.0/8"), .action = POLICY_DROP),
		RULE(.proto = IPPROTO_TCP, .dport = PORTS(1, 1024), .action = POLICY_ACCEPT),
		RULE(.proto = IPPROTO_TCP, .dport = PORTS(22, 22), .action = POLICY_DROP),
		RULE(.action = POLICY_ACCEPT),
	};
	/* A one-port rule before a range, and a rule of any protocol before a one-port rule. */
	const struct policy_rule order[] = {
		RULE(.proto = IPPROTO_TCP, .dport = PORTS(22, 22), .action = POLICY_DROP),
		RULE(.proto = IPPROTO_TCP, .dport = PORTS(1, 1024), .action = POLICY_ACCEPT),
		RULE(.src = PFX("192.168.0.0/16")),
		RULE(.proto = IPPROTO_TCP, .dport = PORTS(443, 443), .action = POLICY_ACCEPT),
	};
	struct policy *p = compile_ok(rules, ARRAY_SIZE(rules), POLICY_DROP, __LINE__);
	struct flow_key k;

	k = KEY("1.1.1.1", "10.0.0.5", IPPROTO_TCP, 5000, 80);
	MATCH(p, rules, 0, k, NULL, POLICY_DIR_IN);
	k.dport = 81;
	MATCH(p, rules, 1, k, NULL, POLICY_DIR_IN);
	k = KEY("1.1.1.1", "10.1.0.0", IPPROTO_TCP, 5000, 80);
	MATCH(p, rules, 1, k, NULL, POLICY_DIR_IN);
	k = KEY("1.1.1.1", "11.0.0.1", IPPROTO_TCP, 5000, 22);
	MATCH(p, rules, 2, k, NULL, POLICY_DIR_IN); /* not 3: 2 comes first */
	k.dport = 2000;
	MATCH(p, rules, 4, k, NULL, POLICY_DIR_IN);
	k = KEY("1.1.1.1", "11.0.0.1", IPPROTO_UDP, 5000, 22);
	MATCH(p, rules, 4, k, NULL, POLICY_DIR_IN);
	CHECK(policy_rule_count(p) == 5, "count %u", policy_rule_count(p));
	CHECK(policy_action(p, 0) == POLICY_ACCEPT && policy_action(p, 1) == POLICY_DROP &&
	      policy_action(p, 3) == POLICY_DROP, "actions");
	policy_free(p);

	p = compile_ok(order, ARRAY_SIZE(order), POLICY_DROP, __LINE__);
	k = KEY("10.0.0.1", "10.0.0.2", IPPROTO_TCP, 5000, 22);
	MATCH(p, order, 0, k, NULL, POLICY_DIR_OUT);
	k.dport = 23;
	MATCH(p, order, 1, k, NULL, POLICY_DIR_OUT);
	k.dport = 443;
	MATCH(p, order, 1, k, NULL, POLICY_DIR_OUT);
	k = KEY("192.168.1.1", "10.0.0.2", IPPROTO_TCP, 5000, 2443);
	MATCH(p, order, 2, k, NULL, POLICY_DIR_OUT);
	k.dport = 443;
	MATCH(p, order, 1, k, NULL, POLICY_DIR_OUT);
	k = KEY("192.168.1.1", "10.0.0.2", IPPROTO_UDP, 5000, 443);
	MATCH(p, order, 2, k, NULL, POLICY_DIR_OUT);
	policy_free(p);
}

/* Many one-port rules: several share whatever buckets the policy keeps them in. */
static void test_many_ports(void)
{
	struct policy_rule rules[600];
	struct policy *p;
	unsigned long bad = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(rules); i++) {
		unsigned int port = i < 300 ? i + 1 : (i - 300) * 211;

		rules[i] = RULE(.proto = i % 3 ? IPPROTO_TCP : IPPROTO_UDP,
				.dport = PORTS((uint16_t)port, (uint16_t)port),
				.action = (enum policy_action)(i & 1));
	}
	p = compile_ok(rules, ARRAY_SIZE(rules), POLICY_DROP, __LINE__);
	for (unsigned int port = 0; port <= 65535 && p; port++) {
		struct flow_key k = KEY("10.0.0.1", "10.0.0.2", IPPROTO_TCP, 1, (uint16_t)port);

		bad += policy_match(p, &k, NULL, POLICY_DIR_IN) !=
		       naive_match(rules, ARRAY_SIZE(rules), &k, NULL, POLICY_DIR_IN);
		k.proto = IPPROTO_UDP;
		bad += policy_match(p, &k, NULL, POLICY_DIR_IN) !=
		       naive_match(rules, ARRAY_SIZE(rules), &k, NULL, POLICY_DIR_IN);
	}
	CHECK(bad == 0, "%lu one-port keys disagree", bad);
	policy_free(p);
}

static void test_default(void)
{
	const struct policy_rule none[1] = { RULE(.proto = 99) };
	struct flow_key k = KEY("10.0.0.1", "10.0.0.2", IPPROTO_TCP, 1, 2);

	for (int d = POLICY_DROP; d <= POLICY_ACCEPT; d++) {
		struct policy *p = compile_ok(NULL, 0, (enum policy_action)d, __LINE__);

		CHECK(policy_rule_count(p) == 0 && policy_default(p) == (enum policy_action)d,
		      "empty policy");
		CHECK(policy_match(p, &k, K1, POLICY_DIR_IN) == POLICY_DEFAULT, "no rules");
		CHECK(policy_action(p, POLICY_DEFAULT) == (enum policy_action)d, "default %d", d);
		CHECK(policy_action(p, 0) == POLICY_DROP, "out of range is drop");
		CHECK(policy_rule_get(p, 0) == NULL, "no rule 0");
		policy_free(p);
		p = compile_ok(none, 1, (enum policy_action)d, __LINE__);
		MATCH(p, none, POLICY_DEFAULT, k, NULL, POLICY_DIR_OUT);
		CHECK(policy_action(p, POLICY_DEFAULT) == (enum policy_action)d, "default %d", d);
		CHECK(policy_action(p, 0) == POLICY_DROP && policy_action(p, 1) == POLICY_DROP,
		      "rule 0 drops, 1 is out of range");
		policy_free(p);
	}
	policy_free(NULL);
}

static void test_prefixes(void)
{
	const char *v4[] = { "0.0.0.0/0", "128.0.0.0/1", "10.0.0.2/31", "10.0.0.2/32" };
	/* For each prefix: addresses inside, then after NULL addresses outside. */
	const char *in4[][6] = {
		{ "1.2.3.4", "255.255.255.255", "0.0.0.0", NULL, NULL },
		{ "128.0.0.0", "255.255.255.255", NULL, "127.255.255.255", "0.0.0.0", NULL },
		{ "10.0.0.2", "10.0.0.3", NULL, "10.0.0.1", "10.0.0.4", NULL },
		{ "10.0.0.2", NULL, "10.0.0.3", "10.0.0.0", "138.0.0.2", NULL },
	};
	const char *v6[] = { "::/0", "8000::/1", "fd00:0:0:1::/64", "fd00::/65", "fd00::/127",
			     "fd00::5/128" };
	const char *in6[][6] = {
		{ "::", "ffff::1", NULL, NULL },
		{ "8000::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL,
		  "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::", NULL },
		{ "fd00:0:0:1::", "fd00:0:0:1:ffff:ffff:ffff:ffff", NULL, "fd00:0:0:2::",
		  "fd00::ffff", NULL },
		{ "fd00::", "fd00::7fff:ffff:ffff:ffff", NULL, "fd00::8000:0:0:0", "fd00:0:0:1::",
		  NULL },
		{ "fd00::", "fd00::1", NULL, "fd00::2", "fc00::1", NULL },
		{ "fd00::5", NULL, "fd00::4", "fd00::7", "fd00:1::5", NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v4); i++) {
		bool inside = true;

		for (const char *const *a = in4[i]; inside || *a; a++) {
			if (!*a) {
				inside = false;
				continue;
			}
			if (inside) {
				YES(RULE(.src = PFX(v4[i])), KEY(*a, "9.9.9.9", 6, 1, 1));
				YES(RULE(.dst = PFX(v4[i])), KEY("9.9.9.9", *a, 6, 1, 1));
			} else {
				NO(RULE(.src = PFX(v4[i])), KEY(*a, "10.0.0.2", 6, 1, 1));
				NO(RULE(.dst = PFX(v4[i])), KEY("10.0.0.2", *a, 6, 1, 1));
			}
		}
		/* Never an IPv6 key, even one whose first bytes would be inside. */
		NO(RULE(.src = PFX(v4[i])), KEY("a00:2::", "::", 6, 1, 1));
	}
	for (size_t i = 0; i < ARRAY_SIZE(v6); i++) {
		bool inside = true;

		for (const char *const *a = in6[i]; inside || *a; a++) {
			if (!*a) {
				inside = false;
				continue;
			}
			if (inside) {
				YES(RULE(.src = PFX(v6[i])), KEY(*a, "::9", 17, 1, 1));
				YES(RULE(.dst = PFX(v6[i])), KEY("::9", *a, 17, 1, 1));
			} else {
				NO(RULE(.src = PFX(v6[i])), KEY(*a, "fd00::5", 17, 1, 1));
				NO(RULE(.dst = PFX(v6[i])), KEY("fd00::5", *a, 17, 1, 1));
			}
		}
		NO(RULE(.src = PFX(v6[i])), KEY("0.0.0.0", "0.0.0.0", 17, 1, 1));
	}
	/* Both prefixes must hold. */
	YES(RULE(.src = PFX("10.0.0.0/8"), .dst = PFX("192.168.0.0/16")),
	    KEY("10.1.1.1", "192.168.9.9", 6, 1, 1));
	NO(RULE(.src = PFX("10.0.0.0/8"), .dst = PFX("192.168.0.0/16")),
	   KEY("10.1.1.1", "192.169.9.9", 6, 1, 1));
	NO(RULE(.src = PFX("10.0.0.0/8"), .dst = PFX("192.168.0.0/16")),
	   KEY("11.1.1.1", "192.168.9.9", 6, 1, 1));

	/* Families: a rule without prefixes takes its family's keys, or both. */
	YES(RULE(.family = 0), KEY("1.2.3.4", "5.6.7.8", 6, 1, 1));
	YES(RULE(.family = 0), KEY("::1", "::2", 6, 1, 1));
	YES(RULE(.family = AF_INET), KEY("1.2.3.4", "5.6.7.8", 6, 1, 1));
	NO(RULE(.family = AF_INET), KEY("::1", "::2", 6, 1, 1));
	YES(RULE(.family = AF_INET6), KEY("::1", "::2", 6, 1, 1));
	NO(RULE(.family = AF_INET6), KEY("1.2.3.4", "5.6.7.8", 6, 1, 1));
	NO(RULE(.dst = PFX("0.0.0.0/0")), KEY("::1", "::2", 6, 1, 1));
	YES(RULE(.family = AF_INET6, .dst = PFX("::/0")), KEY("::1", "::2", 6, 1, 1));
	/* A key of no known family matches nothing, not even a rule for everything. */
	{
		struct flow_key k = KEY("1.2.3.4", "5.6.7.8", 6, 1, 1);

		k.family = AF_UNIX;
		NO(RULE(.action = POLICY_ACCEPT), k);
		k.family = 0;
		NO(RULE(.action = POLICY_ACCEPT), k);
	}
}

static void test_ports_proto(void)
{
	const uint8_t port_protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPPROTO_SCTP,
					IPPROTO_DCCP };

	for (size_t i = 0; i < ARRAY_SIZE(port_protos); i++) {
		uint8_t pr = port_protos[i];

		YES(RULE(.proto = pr, .dport = PORTS(0, 0)), KEY("1.1.1.1", "2.2.2.2", pr, 9, 0));
		NO(RULE(.proto = pr, .dport = PORTS(0, 0)), KEY("1.1.1.1", "2.2.2.2", pr, 0, 1));
		YES(RULE(.proto = pr, .dport = PORTS(65535, 65535)),
		    KEY("1.1.1.1", "2.2.2.2", pr, 9, 65535));
		NO(RULE(.proto = pr, .dport = PORTS(65535, 65535)),
		   KEY("1.1.1.1", "2.2.2.2", pr, 65535, 65534));
		YES(RULE(.proto = pr, .sport = PORTS(65535, 65535)),
		    KEY("::1", "::2", pr, 65535, 9));
		NO(RULE(.proto = pr, .sport = PORTS(65535, 65535)),
		   KEY("::1", "::2", pr, 0, 65535));
	}
	YES(RULE(.proto = 6, .dport = PORTS(0, 65535)), KEY("1.1.1.1", "2.2.2.2", 6, 0, 0));
	YES(RULE(.proto = 6, .dport = PORTS(0, 65535)), KEY("1.1.1.1", "2.2.2.2", 6, 0, 65535));
	NO(RULE(.proto = 6, .dport = PORTS(1000, 2000)), KEY("1.1.1.1", "2.2.2.2", 6, 1500, 999));
	YES(RULE(.proto = 6, .dport = PORTS(1000, 2000)), KEY("1.1.1.1", "2.2.2.2", 6, 0, 1000));
	YES(RULE(.proto = 6, .dport = PORTS(1000, 2000)), KEY("1.1.1.1", "2.2.2.2", 6, 0, 2000));
	NO(RULE(.proto = 6, .dport = PORTS(1000, 2000)), KEY("1.1.1.1", "2.2.2.2", 6, 1500, 2001));
	NO(RULE(.proto = 6, .sport = PORTS(1024, 65535)), KEY("::1", "::2", 6, 1023, 1500));
	YES(RULE(.proto = 6, .sport = PORTS(1024, 65535)), KEY("::1", "::2", 6, 1024, 0));
	YES(RULE(.proto = 6, .sport = PORTS(1024, 65535)), KEY("::1", "::2", 6, 65535, 0));
	YES(RULE(.proto = 17, .sport = PORTS(53, 53), .dport = PORTS(1024, 65535)),
	    KEY("::1", "::2", 17, 53, 1024));
	NO(RULE(.proto = 17, .sport = PORTS(53, 53), .dport = PORTS(1024, 65535)),
	   KEY("::1", "::2", 17, 1024, 53)); /* the other way round */

	/* Protocol: given, or any. */
	YES(RULE(.proto = 6), KEY("1.1.1.1", "2.2.2.2", 6, 1, 2));
	NO(RULE(.proto = 6), KEY("1.1.1.1", "2.2.2.2", 17, 1, 2));
	NO(RULE(.proto = 17, .dport = PORTS(2, 2)), KEY("1.1.1.1", "2.2.2.2", 6, 1, 2));
	YES(RULE(.proto = 47), KEY("1.1.1.1", "2.2.2.2", 47, 0, 0));
	NO(RULE(.proto = 47), KEY("1.1.1.1", "2.2.2.2", 4, 0, 0));
	YES(RULE(.proto = 0), KEY("1.1.1.1", "2.2.2.2", 47, 0, 0));
	YES(RULE(.proto = 0), KEY("1.1.1.1", "2.2.2.2", 255, 0, 0));
	YES(RULE(.proto = 255), KEY("1.1.1.1", "2.2.2.2", 255, 0, 0));

	/* ICMP queries: both ports hold the identifier (7), which no port rule can take. */
	NO(RULE(.proto = IPPROTO_TCP, .dport = PORTS(7, 7)),
	   KEY("1.1.1.1", "2.2.2.2", IPPROTO_ICMP, 7, 7));
	NO(RULE(.proto = IPPROTO_UDP, .sport = PORTS(7, 7), .dport = PORTS(0, 65535)),
	   KEY("1.1.1.1", "2.2.2.2", IPPROTO_ICMP, 7, 7));
	YES(RULE(.proto = IPPROTO_ICMP), KEY("1.1.1.1", "2.2.2.2", IPPROTO_ICMP, 7, 7));
	YES(RULE(.proto = 0), KEY("1.1.1.1", "2.2.2.2", IPPROTO_ICMP, 7, 7));
	NO(RULE(.proto = IPPROTO_ICMP), KEY("::1", "::2", IPPROTO_ICMPV6, 7, 7));
	YES(RULE(.proto = IPPROTO_ICMPV6), KEY("::1", "::2", IPPROTO_ICMPV6, 7, 7));
	NO(RULE(.proto = IPPROTO_TCP, .dport = PORTS(0, 65535)),
	   KEY("::1", "::2", IPPROTO_ICMPV6, 7, 7));
}

static void test_dir_peer(void)
{
	struct flow_key k = KEY("10.0.0.1", "10.0.0.2", 6, 1, 2);
	const struct policy_rule peers[] = {
		RULE(.has_peer = true, .peer = KEY1_BYTES, .action = POLICY_ACCEPT),
		RULE(.has_peer = true, .peer = { 1 }, .dir = POLICY_DIR_IN),
		RULE(.has_peer = true, .peer = { 1 }, .action = POLICY_ACCEPT),
		RULE(.dir = POLICY_DIR_OUT),
	};
	struct policy *p;

	YES_FROM(RULE(.dir = POLICY_DIR_IN), k, NULL, POLICY_DIR_IN);
	NO_FROM(RULE(.dir = POLICY_DIR_IN), k, NULL, POLICY_DIR_OUT);
	NO_FROM(RULE(.dir = POLICY_DIR_IN), k, NULL, POLICY_DIR_ANY);
	YES_FROM(RULE(.dir = POLICY_DIR_OUT), k, NULL, POLICY_DIR_OUT);
	NO_FROM(RULE(.dir = POLICY_DIR_OUT), k, NULL, POLICY_DIR_IN);
	YES_FROM(RULE(.dir = POLICY_DIR_ANY), k, NULL, POLICY_DIR_IN);
	YES_FROM(RULE(.dir = POLICY_DIR_ANY), k, NULL, POLICY_DIR_OUT);
	YES_FROM(RULE(.dir = POLICY_DIR_ANY), k, NULL, POLICY_DIR_ANY);

	YES_FROM(RULE(.has_peer = true, .peer = KEY1_BYTES), k, K1, POLICY_DIR_IN);
	YES_FROM(RULE(.has_peer = true, .peer = KEY1_BYTES), k, K1, POLICY_DIR_OUT);
	NO_FROM(RULE(.has_peer = true, .peer = KEY1_BYTES), k, K2, POLICY_DIR_IN);
	NO_FROM(RULE(.has_peer = true, .peer = KEY1_BYTES), k, NULL, POLICY_DIR_IN);
	YES_FROM(RULE(.has_peer = false, .peer = KEY1_BYTES), k, NULL, POLICY_DIR_IN);
	YES_FROM(RULE(.has_peer = false), k, K2, POLICY_DIR_IN);

	p = compile_ok(peers, ARRAY_SIZE(peers), POLICY_ACCEPT, __LINE__);
	MATCH(p, peers, 0, k, K1, POLICY_DIR_IN);
	MATCH(p, peers, 1, k, K2, POLICY_DIR_IN);
	MATCH(p, peers, 2, k, K2, POLICY_DIR_OUT);
	MATCH(p, peers, 3, k, K3, POLICY_DIR_OUT);
	MATCH(p, peers, POLICY_DEFAULT, k, K3, POLICY_DIR_IN);
	MATCH(p, peers, POLICY_DEFAULT, k, NULL, POLICY_DIR_IN);
	MATCH(p, peers, 3, k, NULL, POLICY_DIR_OUT);
	policy_free(p);
}

/* Host bits are cleared, as wg does for allowed IPs; the family comes from the prefixes. */
static void test_host_bits(void)
{
	struct policy_rule r[4] = {
		RULE(.src = PFX("10.1.2.3/8"), .dst = PFX("192.168.77.77/23")),
		RULE(.dst = PFX("fd00:1::1:2:3/64")),
		RULE(.src = PFX("fd00::/0"), .dst = PFX("fd00::ff/121")),
		RULE(.src = { .family = 0, .addr = { 1, 2, 3 }, .len = 0 }),
	};
	const uint8_t v4a[16] = { 10 }, v4b[16] = { 192, 168, 76 }, v6a[16] = { 0xfd, 0, 0, 1 },
		      v6b[16] = { 0xfd, [15] = 0x80 }, zero[16] = { 0 };
	struct policy *p;

	memset(r[0].src.addr + 4, 0xee, 12); /* beyond IPv4's 4 bytes */
	p = compile_ok(r, 4, POLICY_DROP, __LINE__);
	if (!p)
		return;
	CHECK_MEM(policy_rule_get(p, 0)->src.addr, v4a, 16, "10.1.2.3/8 is 10.0.0.0/8");
	CHECK_MEM(policy_rule_get(p, 0)->dst.addr, v4b, 16, "192.168.77.77/23 is 192.168.76.0");
	CHECK(policy_rule_get(p, 0)->src.len == 8 && policy_rule_get(p, 0)->family == AF_INET,
	      "length and family kept");
	CHECK_MEM(policy_rule_get(p, 1)->dst.addr, v6a, 16, "fd00:1::1:2:3/64 is fd00:1::/64");
	CHECK(policy_rule_get(p, 1)->family == AF_INET6, "family from dst");
	CHECK_MEM(policy_rule_get(p, 2)->src.addr, zero, 16, "/0 is all zero");
	CHECK_MEM(policy_rule_get(p, 2)->dst.addr, v6b, 16, "fd00::ff/121 is fd00::80");
	CHECK_MEM(policy_rule_get(p, 3)->src.addr, zero, 16, "any is all zero");
	CHECK(policy_rule_get(p, 3)->family == 0, "any family stays");
	MATCH(p, r, 0, KEY("10.200.0.1", "192.168.77.1", 6, 1, 1), NULL, POLICY_DIR_IN);
	MATCH(p, r, 0, KEY("10.200.0.1", "192.168.76.1", 6, 1, 1), NULL, POLICY_DIR_IN);
	MATCH(p, r, 3, KEY("10.200.0.1", "192.168.78.1", 6, 1, 1), NULL, POLICY_DIR_IN);
	MATCH(p, r, 1, KEY("::1", "fd00:1::ffff:0:0:1", 6, 1, 1), NULL, POLICY_DIR_IN);
	MATCH(p, r, 2, KEY("::1", "fd00::80", 6, 1, 1), NULL, POLICY_DIR_IN);
	MATCH(p, r, 2, KEY("::1", "fd00::ff", 6, 1, 1), NULL, POLICY_DIR_IN);
	MATCH(p, r, 3, KEY("::1", "fd00::7f", 6, 1, 1), NULL, POLICY_DIR_IN);
	policy_free(p);
}

/* A bad rule at index 2, behind two good ones: the message names it and its field. */
static void test_validation(void)
{
	const struct {
		struct policy_rule r;
		const char *expect;
	} bad[] = {
		{ RULE(.family = 3), "rule 2: family: 3 is not 0 (either), AF_INET or AF_INET6" },
		{ RULE(.src = { .family = 7 }),
		  "rule 2: src: family 7 is not 0 (any), AF_INET or AF_INET6" },
		{ RULE(.src = { .family = 0, .len = 8 }),
		  "rule 2: src: prefix length 8 without an address family" },
		{ RULE(.src = { .family = AF_INET, .len = 33 }),
		  "rule 2: src: prefix length 33 out of range for IPv4" },
		{ RULE(.dst = { .family = AF_INET6, .len = 129 }),
		  "rule 2: dst: prefix length 129 out of range for IPv6" },
		{ RULE(.dst = { .family = AF_INET6, .len = 255 }),
		  "rule 2: dst: prefix length 255 out of range for IPv6" },
		{ RULE(.family = AF_INET, .src = { .family = AF_INET6 }),
		  "rule 2: src: an IPv6 prefix in an IPv4 rule" },
		{ RULE(.family = AF_INET6, .dst = { .family = AF_INET, .len = 32 }),
		  "rule 2: dst: an IPv4 prefix in an IPv6 rule" },
		{ RULE(.src = { .family = AF_INET, .len = 8 }, .dst = { .family = AF_INET6 }),
		  "rule 2: dst: an IPv6 prefix, but src is IPv4: no packet has both" },
		{ RULE(.proto = 6, .sport = PORTS(2000, 1000)),
		  "rule 2: sport: empty range 2000-1000 (lo > hi)" },
		{ RULE(.proto = 17, .dport = PORTS(65535, 0)),
		  "rule 2: dport: empty range 65535-0 (lo > hi)" },
		{ RULE(.dport = PORTS(80, 80)),
		  "rule 2: dport: ports need proto tcp, udp, udplite, sctp or dccp; proto any also "
		  "takes packets that have none" },
		{ RULE(.proto = IPPROTO_ICMP, .dport = PORTS(7, 7)),
		  "rule 2: dport: ports need proto tcp, udp, udplite, sctp or dccp; icmp (1) has "
		  "none" },
		{ RULE(.proto = IPPROTO_ICMPV6, .sport = PORTS(0, 65535)),
		  "rule 2: sport: ports need proto tcp, udp, udplite, sctp or dccp; "
		  "icmpv6 (58) has none" },
		{ RULE(.proto = 47, .sport = PORTS(1, 1)),
		  "rule 2: sport: ports need proto tcp, udp, udplite, sctp or dccp; "
		  "protocol 47 has none" },
		{ RULE(.dir = (enum policy_dir)3), "rule 2: direction: 3 is not any (0), in (1) or "
		  "out (2)" },
		{ RULE(.action = (enum policy_action)2),
		  "rule 2: action: 2 is neither drop (0) nor accept (1)" },
		{ RULE(.action = (enum policy_action)-1),
		  "rule 2: action: -1 is neither drop (0) nor accept (1)" },
	};
	struct policy_rule rules[3] = {
		RULE(.proto = 6, .dport = PORTS(22, 22), .action = POLICY_ACCEPT),
		RULE(.src = PFX("fd00::/8"), .dst = PFX("::/0")),
	};
	char err[256], tiny[8];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct policy *p;

		rules[2] = bad[i].r;
		CHECK(!naive_valid(&bad[i].r), "bad[%zu]: the naive check takes it", i);
		memset(err, 'x', sizeof(err));
		p = policy_compile(rules, 3, POLICY_ACCEPT, err, sizeof(err));
		CHECK(p == NULL, "bad[%zu] compiled", i);
		CHECK(strcmp(err, bad[i].expect) == 0, "bad[%zu]:\n  got:    %s\n  wanted: %s", i,
		      err, bad[i].expect);
		policy_free(p);
		/* Cut short, or no buffer at all: still refused, nothing overrun. */
		CHECK(policy_compile(rules, 3, POLICY_ACCEPT, tiny, sizeof(tiny)) == NULL &&
		      strncmp(tiny, bad[i].expect, sizeof(tiny) - 1) == 0, "bad[%zu] tiny", i);
		CHECK(policy_compile(rules, 3, POLICY_ACCEPT, NULL, 0) == NULL, "bad[%zu] NULL", i);
	}
	rules[2] = RULE(.action = POLICY_ACCEPT);
	CHECK(naive_valid(&rules[0]) && naive_valid(&rules[1]) && naive_valid(&rules[2]),
	      "the good rules");
	CHECK(policy_compile(rules, 3, (enum policy_action)5, err, sizeof(err)) == NULL &&
	      strcmp(err, "default: 5 is neither drop (0) nor accept (1)") == 0, "default: %s",
	      err);
	CHECK(policy_compile(NULL, 1, POLICY_DROP, err, sizeof(err)) == NULL &&
	      strcmp(err, "rules is NULL but n is 1") == 0, "NULL rules: %s", err);
	CHECK(policy_compile(rules, (size_t)POLICY_RULES_MAX + 1, POLICY_DROP, err,
			     sizeof(err)) == NULL &&
	      strcmp(err, "65537 rules: more than 65536") == 0, "too many: %s", err);
	/* A good compile clears what err held. */
	policy_free(compile_ok(rules, 3, POLICY_DROP, __LINE__));
	strcpy(err, "stale");
	policy_free(policy_compile(rules, 3, POLICY_DROP, err, sizeof(err)));
	CHECK(err[0] == '\0', "err cleared: %s", err);
}

/* The most rules, each with a peer of its own: indices and peer ids use every 16-bit value. */
static void test_limit(void)
{
	struct policy_rule *r = calloc(POLICY_RULES_MAX, sizeof(*r));
	struct flow_key k = KEY("10.0.0.1", "10.0.0.2", 6, 1, 0);
	uint8_t pub[32] = { 0 };
	struct policy *p;

	if (!r)
		abort();
	for (uint32_t i = 0; i < POLICY_RULES_MAX; i++) {
		r[i] = RULE(.proto = 6, .dport = PORTS((uint16_t)i, (uint16_t)i), .has_peer = true,
			    .action = (enum policy_action)(i & 1));
		memcpy(r[i].peer, &i, sizeof(i));
	}
	p = compile_ok(r, POLICY_RULES_MAX, POLICY_DROP, __LINE__);
	for (uint32_t i = 0; p && i < POLICY_RULES_MAX; i += 4369) { /* 0 .. 65535 */
		k.dport = (uint16_t)i;
		memcpy(pub, &i, sizeof(i));
		CHECK(policy_match(p, &k, pub, POLICY_DIR_IN) == i, "rule %u", i);
		CHECK(policy_action(p, i) == (enum policy_action)(i & 1), "rule %u's action", i);
		pub[0] ^= 1;
		CHECK(policy_match(p, &k, pub, POLICY_DIR_IN) == POLICY_DEFAULT, "rule %u, not its "
		      "peer", i);
	}
	CHECK(p && policy_rule_count(p) == POLICY_RULES_MAX, "count");
	policy_free(p);
	free(r);
}

/* --- JSON --- */

/* text with every ' turned into " (so that tables read), as the config walk would hand the
 * policy block over: parsed, with "policy" on the path. */
static int from_json(const char *text, struct policy **p, char *err, size_t errlen)
{
	char *json = strdup(text);
	struct jsonwalk w;
	cJSON *root;
	int ret;

	if (!json)
		abort();
	for (char *c = json; *c; c++)
		*c = *c == '\'' ? '"' : *c;
	*p = (struct policy *)&w; /* must be overwritten */
	jsonwalk_init(&w, err, errlen);
	ret = jsonwalk_parse(&w, json, strlen(json), &root);
	free(json);
	if (ret) {
		fprintf(stderr, "test JSON does not parse: %s\n", err);
		abort();
	}
	jsonwalk_path_field(&w, "policy");
	ret = policy_from_json(&w, root, p);
	jsonwalk_free_tree(root);
	return ret;
}

static bool prefix_eq(const struct policy_prefix *a, const struct policy_prefix *b)
{
	return a->family == b->family && a->len == b->len && memcmp(a->addr, b->addr, 16) == 0;
}

static bool ports_eq(const struct policy_ports *a, const struct policy_ports *b)
{
	return a->set == b->set && (!a->set || (a->lo == b->lo && a->hi == b->hi));
}

static bool rule_eq(const struct policy_rule *a, const struct policy_rule *b)
{
	return a->family == b->family && prefix_eq(&a->src, &b->src) &&
	       prefix_eq(&a->dst, &b->dst) && a->has_peer == b->has_peer &&
	       (!a->has_peer || memcmp(a->peer, b->peer, 32) == 0) && a->proto == b->proto &&
	       ports_eq(&a->sport, &b->sport) && ports_eq(&a->dport, &b->dport) &&
	       a->dir == b->dir && a->action == b->action;
}

#define V4(a, b, c, d, l) { AF_INET, { a, b, c, d }, l }
#define R(...) { __VA_ARGS__ }
#define ACCEPT .action = POLICY_ACCEPT
#define PR(l, h) { true, (l), (h) }

/* JSON texts below are written with ' for " (from_json swaps them back). */
static void test_json_valid(void)
{
	const struct {
		const char *text;
		enum policy_action dflt;
		size_t n;
		struct policy_rule r[3];
	} ok[] = {
		{ "{'default': 'drop'}", POLICY_DROP, 0, { R(0) } },
		{ "{'default': 'accept', 'rules': []}", POLICY_ACCEPT, 0, { R(0) } },
		{ "{'rules': [{'action': 'accept'}], 'default': 'drop'}", POLICY_DROP, 1,
		  { R(ACCEPT) } },
		{ "{'default': 'drop', 'rules': [{'action': 'accept', 'direction': 'in',"
		  " 'proto': 'tcp', 'src': '10.1.0.0/24', 'dst': '10.2.0.5', 'sport': '1000-2000',"
		  " 'dport': 443, 'peer': '" KEY1 "'}]}",
		  POLICY_DROP, 1,
		  { R(.family = AF_INET, .src = V4(10, 1, 0, 0, 24), .dst = V4(10, 2, 0, 5, 32),
		      .has_peer = true, .peer = KEY1_BYTES, .proto = 6, .sport = PR(1000, 2000),
		      .dport = PR(443, 443), .dir = POLICY_DIR_IN, ACCEPT) } },
		{ "{'default': 'accept', 'rules': [{'action': 'drop', 'direction': 'out',"
		  " 'proto': 'udp', 'dst': 'fd00::/64', 'dport': '53'},"
		  " {'action': 'drop', 'direction': 'any', 'src': '::/0'},"
		  " {'action': 'accept', 'proto': 'any', 'src': '0.0.0.0/0',"
		  " 'dst': '10.0.0.0/8'}]}",
		  POLICY_ACCEPT, 3,
		  { R(.family = AF_INET6, .dst = { AF_INET6, { 0xfd }, 64 }, .proto = 17,
		      .dport = PR(53, 53), .dir = POLICY_DIR_OUT),
		    R(.family = AF_INET6, .src = { AF_INET6, { 0 }, 0 }),
		    R(.family = AF_INET, .src = V4(0, 0, 0, 0, 0), .dst = V4(10, 0, 0, 0, 8),
		      ACCEPT) } },
		{ "{'default': 'drop', 'rules': [{'action': 'accept', 'proto': 'udplite',"
		  " 'dport': '0-65535'}, {'action': 'accept', 'proto': 'sctp', 'sport': 0,"
		  " 'dport': 65535}, {'action': 'accept', 'proto': 'dccp',"
		  " 'sport': '00080-08080'}]}",
		  POLICY_DROP, 3,
		  { R(.proto = 136, .dport = PR(0, 65535), ACCEPT),
		    R(.proto = 132, .sport = PR(0, 0), .dport = PR(65535, 65535), ACCEPT),
		    R(.proto = 33, .sport = PR(80, 8080), ACCEPT) } },
		{ "{'default': 'drop', 'rules': [{'action': 'accept', 'proto': 'icmp'},"
		  " {'action': 'accept', 'proto': 'icmpv6'}, {'action': 'accept', 'proto': 47}]}",
		  POLICY_DROP, 3,
		  { R(.proto = 1, ACCEPT), R(.proto = 58, ACCEPT), R(.proto = 47, ACCEPT) } },
		{ "{'default': 'drop', 'rules': [{'action': 'accept', 'proto': 0},"
		  " {'action': 'drop', 'proto': 255, 'src': '10.1.2.3/8', 'dst': '10.9.8.7/16'},"
		  " {'action': 'accept', 'proto': 6.0, 'dport': 22.0}]}",
		  POLICY_DROP, 3,
		  { R(ACCEPT),
		    R(.family = AF_INET, .proto = 255, .src = V4(10, 0, 0, 0, 8),
		      .dst = V4(10, 9, 0, 0, 16)),
		    R(.proto = 6, .dport = PR(22, 22), ACCEPT) } },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		char err[512];
		struct policy *p;
		int ret = from_json(ok[i].text, &p, err, sizeof(err));
		uint32_t n;

		CHECK(ret == 0 && p, "ok[%zu]: %d %s", i, ret, err);
		if (ret || !p)
			continue;
		n = policy_rule_count(p);
		CHECK(err[0] == '\0', "ok[%zu]: message %s", i, err);
		CHECK(policy_default(p) == ok[i].dflt, "ok[%zu]: default", i);
		CHECK(n == ok[i].n, "ok[%zu]: %u rules", i, n);
		for (uint32_t j = 0; j < ok[i].n && j < n; j++)
			CHECK(rule_eq(policy_rule_get(p, j), &ok[i].r[j]),
			      "ok[%zu]: rule %u differs", i, j);
		policy_free(p);
	}
}

#define RULES(...) "{'default': 'drop', 'rules': [" __VA_ARGS__ "]}"
#define A "'action': 'accept'"
#define R0 "policy.rules[0]."
#define PORTS_NEED "ports need proto tcp, udp, udplite, sctp or dccp; "
#define PROTO_NAMES "expected \"tcp\", \"udp\", \"udplite\", \"sctp\", \"dccp\", \"icmp\", " \
		    "\"icmpv6\", \"any\" or a number 0..255"
#define NOT_B64 ": not a base64 key (44 characters ending in '=', as wg pubkey prints)"
/* A tcp rule's dport text that is not a port or range, with its message. */
#define NOT_PORT(v) { RULES("{" A ", 'proto': 'tcp', 'dport': '" v "'}"), \
		      R0 "dport: \"" v "\": expected a port or a range of ports, as \"80\" or " \
		      "\"1000-2000\"" }

static void test_json_invalid(void)
{
	static const struct {
		const char *text;
		const char *expect;
	} bad[] = {
		{ "[]", "policy: expected an object, got an array" },
		{ "{}", "policy.default: missing (required)" },
		{ "{'rules': []}", "policy.default: missing (required)" },
		{ "{'default': 'allow'}",
		  "policy.default: \"allow\": expected \"accept\" or \"drop\"" },
		{ "{'default': 1}", "policy.default: expected a string, got a number" },
		{ "{'default': 'drop', 'rule': []}",
		  "policy.rule: unknown field; expected one of: default, rules" },
		{ "{'default': 'drop', 'default': 'drop'}", "policy.default: duplicate field" },
		{ "{'default': 'drop', 'rules': {}}",
		  "policy.rules: expected an array, got an object" },
		{ RULES("5"), "policy.rules[0]: expected an object, got a number" },
		{ RULES("{}"), R0 "action: missing (required)" },
		{ RULES("{" A "}, {'direction': 'in'}"),
		  "policy.rules[1].action: missing (required)" },
		{ RULES("{" A ", 'prot': 'tcp'}"),
		  R0 "prot: unknown field; expected one of: action, direction, proto, src, dst, "
		  "sport, dport, peer" },
		{ RULES("{" A ", 'action': 'drop'}"), R0 "action: duplicate field" },
		{ RULES("{'action': 'allow'}"),
		  R0 "action: \"allow\": expected \"accept\" or \"drop\"" },
		{ RULES("{'action': null}"), R0 "action: expected a string, got null" },
		{ RULES("{" A ", 'direction': 'both'}"),
		  R0 "direction: \"both\": expected \"in\", \"out\" or \"any\"" },
		{ RULES("{" A ", 'proto': 'gre'}"), R0 "proto: \"gre\": " PROTO_NAMES },
		{ RULES("{" A ", 'proto': 'TCP'}"), R0 "proto: \"TCP\": " PROTO_NAMES },
		{ RULES("{" A ", 'proto': '6'}"), R0 "proto: \"6\": " PROTO_NAMES },
		{ RULES("{" A ", 'proto': 256}"), R0 "proto: 256 out of range 0..255" },
		{ RULES("{" A ", 'proto': -1}"), R0 "proto: -1 out of range 0..255" },
		{ RULES("{" A ", 'proto': 6.5}"), R0 "proto: 6.5 is not an integer" },
		{ RULES("{" A ", 'proto': true}"),
		  R0 "proto: expected a protocol name or number 0..255" },
		{ RULES("{" A ", 'proto': ''}"), R0 "proto: empty string" },
		{ RULES("{" A ", 'src': '10.0.0.0/33'}"),
		  R0 "src: \"10.0.0.0/33\": prefix length 33 out of range for IPv4" },
		{ RULES("{" A ", 'dst': 'fd00::/129'}"),
		  R0 "dst: \"fd00::/129\": prefix length 129 out of range for IPv6" },
		{ RULES("{" A ", 'src': 'any'}"), R0 "src: \"any\": not an IPv4 address" },
		{ RULES("{" A ", 'src': '10.0.0.0/8 '}"),
		  R0 "src: \"10.0.0.0/8 \": bad prefix length" },
		{ RULES("{" A ", 'dst': 10}"), R0 "dst: expected a string, got a number" },
		{ RULES("{" A "}, {" A ", 'src': '10.0.0.0/8', 'dst': 'fd00::1:2:3/64'}"),
		  "policy.rules[1].dst: an IPv6 prefix, but src is IPv4: no packet has both" },
		{ RULES("{" A ", 'dst': '::/0', 'src': '0.0.0.0/0'}"),
		  R0 "dst: an IPv6 prefix, but src is IPv4: no packet has both" },
		{ RULES("{" A ", 'sport': 80}"),
		  R0 "sport: " PORTS_NEED "proto any also takes packets that have none" },
		{ RULES("{" A ", 'proto': 'icmp', 'dport': '0-65535'}"),
		  R0 "dport: " PORTS_NEED "icmp (1) has none" },
		{ RULES("{" A ", 'proto': 47, 'dport': 1}"),
		  R0 "dport: " PORTS_NEED "protocol 47 has none" },
		{ RULES("{" A ", 'proto': 'tcp', 'dport': '2000-1000'}"),
		  R0 "dport: \"2000-1000\": empty range (the first port is above the last)" },
		{ RULES("{" A ", 'proto': 'tcp', 'dport': '70000'}"),
		  R0 "dport: \"70000\": port out of range 0..65535" },
		{ RULES("{" A ", 'proto': 'tcp', 'dport': '1-65536'}"),
		  R0 "dport: \"1-65536\": port out of range 0..65535" },
		{ RULES("{" A ", 'proto': 'tcp', 'dport': 70000}"),
		  R0 "dport: 70000 out of range 0..65535" },
		{ RULES("{" A ", 'proto': 'tcp', 'sport': -1}"),
		  R0 "sport: -1 out of range 0..65535" },
		{ RULES("{" A ", 'proto': 'tcp', 'dport': 80.5}"),
		  R0 "dport: 80.5 is not an integer" },
		{ RULES("{" A ", 'proto': 'tcp', 'dport': [80]}"),
		  R0 "dport: expected a port number or a string such as \"1000-2000\"" },
		{ RULES("{" A ", 'proto': 'tcp', 'dport': ''}"), R0 "dport: empty string" },
		NOT_PORT("80-"),
		NOT_PORT("-80"),
		NOT_PORT(" 80"),
		NOT_PORT("80 - 90"),
		NOT_PORT("1-2-3"),
		NOT_PORT("0x50"),
		NOT_PORT("123456"),
		NOT_PORT("+80"),
		{ RULES("{" A ", 'peer': 'abc'}"), R0 "peer: \"abc\"" NOT_B64 },
		{ RULES("{" A ", 'peer': 5}"), R0 "peer: expected a string, got a number" },
		{ RULES("{" A ", 'peer': '" KEY1 " '}"), R0 "peer: \"" KEY1 " \"" NOT_B64 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char err[512];
		struct policy *p;
		int ret = from_json(bad[i].text, &p, err, sizeof(err));

		CHECK(ret == -EINVAL && p == NULL, "bad[%zu]: returned %d", i, ret);
		CHECK(strcmp(err, bad[i].expect) == 0, "bad[%zu]:\n  got:    %s\n  wanted: %s", i,
		      err, bad[i].expect);
		policy_free(p);
	}
}

/* Exactly POLICY_RULES_MAX rules parse; one more is refused by the array's size. */
static void test_json_limit(void)
{
	static const char head[] = "{\"default\": \"accept\", \"rules\": [",
			  rule[] = "{\"action\": \"drop\"},", tail[] = "]}";
	size_t n = (size_t)POLICY_RULES_MAX + 1, len = 0;
	char *text = malloc(sizeof(head) + n * (sizeof(rule) - 1) + sizeof(tail));
	char err[256];
	struct policy *p;

	if (!text)
		abort();
	for (int extra = 0; extra < 2; extra++) {
		len = 0;
		memcpy(text, head, sizeof(head) - 1);
		len += sizeof(head) - 1;
		for (size_t i = 0; i < POLICY_RULES_MAX + (size_t)extra; i++) {
			memcpy(text + len, rule, sizeof(rule) - 1);
			len += sizeof(rule) - 1;
		}
		memcpy(text + len - 1, tail, sizeof(tail)); /* over the last ',' */
		if (!extra) {
			CHECK(from_json(text, &p, err, sizeof(err)) == 0 && p &&
			      policy_rule_count(p) == POLICY_RULES_MAX, "the most rules: %s", err);
		} else {
			CHECK(from_json(text, &p, err, sizeof(err)) == -EINVAL && !p &&
			      strcmp(err, "policy.rules: more than 65536 elements") == 0,
			      "one more: %s", err);
		}
		policy_free(p);
	}
	free(text);
}

/* --- differential: random rule sets against the naive matcher --- */

#define NBASES 6

struct gen {
	struct test_rng rng;
	uint8_t base[2][NBASES][16]; /* [v6] */
	uint32_t any_in; /* a prefix is "any" one time in any_in */
};

static uint32_t rnd(struct gen *g, uint32_t n)
{
	return (uint32_t)(test_rng_next(&g->rng) % n);
}

/* Bits from..to-1 of src into dst. */
static void copy_bits(uint8_t *dst, const uint8_t *src, unsigned int from, unsigned int to)
{
	for (unsigned int i = from; i < to; i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));

		dst[i / 8] = (uint8_t)((dst[i / 8] & ~m) | (src[i / 8] & m));
	}
}

/* A base's first keep bits, random bits after. */
static void near_base(struct gen *g, int v6, unsigned int keep, uint8_t out[16])
{
	const uint8_t *b = g->base[v6][rnd(g, NBASES)];
	unsigned int bits = v6 ? 128 : 32;

	memset(out, 0, 16);
	test_rng_bytes(&g->rng, out, bits / 8);
	copy_bits(out, b, 0, keep < bits ? keep : bits);
}

static uint8_t random_len(struct gen *g, int v6)
{
	static const uint8_t l4[] = { 0, 1, 8, 16, 24, 28, 31, 32 },
			     l6[] = { 0, 1, 48, 63, 64, 65, 112, 127, 128 };

	if (rnd(g, 4) == 0)
		return (uint8_t)rnd(g, v6 ? 129 : 33);
	if (g->any_in > 3) /* big sets: few short prefixes */
		return v6 ? l6[3 + rnd(g, ARRAY_SIZE(l6) - 3)] : l4[3 + rnd(g, ARRAY_SIZE(l4) - 3)];
	return v6 ? l6[rnd(g, ARRAY_SIZE(l6))] : l4[rnd(g, ARRAY_SIZE(l4))];
}

static void random_prefix(struct gen *g, int family, struct policy_prefix *pf)
{
	int v6 = family == AF_INET6;

	memset(pf, 0, sizeof(*pf));
	if (!family || rnd(g, g->any_in) == 0)
		return;
	pf->family = family;
	pf->len = random_len(g, v6);
	/* The address is near a base, with host bits set at random (masking is compile's). */
	near_base(g, v6, pf->len + rnd(g, 8), pf->addr);
}

static uint16_t random_port(struct gen *g)
{
	static const uint16_t common[] = { 0, 1, 22, 53, 80, 443, 1024, 8080, 65534, 65535 };

	return rnd(g, 3) ? common[rnd(g, ARRAY_SIZE(common))] : (uint16_t)rnd(g, 65536);
}

static void random_ports(struct gen *g, struct policy_ports *pr, unsigned int percent)
{
	uint16_t lo;

	memset(pr, 0, sizeof(*pr));
	if (rnd(g, 100) >= percent)
		return;
	lo = random_port(g);
	pr->set = true;
	pr->lo = lo;
	pr->hi = rnd(g, 2) ? lo : (uint16_t)(lo + rnd(g, 65536u - lo < 100 ? 65536u - lo : 100));
	if (rnd(g, 10) == 0) /* a wide range */
		pr->hi = (uint16_t)(lo + rnd(g, 65536u - lo));
}

static uint8_t random_proto(struct gen *g)
{
	static const uint8_t protos[] = { 0, 0, 6, 6, 6, 17, 17, 1, 58, 132, 33, 136, 47 };

	return rnd(g, 20) ? protos[rnd(g, ARRAY_SIZE(protos))] : (uint8_t)rnd(g, 256);
}

static void random_rule(struct gen *g, struct policy_rule *r)
{
	static const int families[] = { 0, AF_INET, AF_INET, AF_INET6, AF_INET6 };
	int family = families[rnd(g, ARRAY_SIZE(families))];
	bool ports;

	memset(r, 0, sizeof(*r));
	/* Family 0 with one prefix of a family: the rule takes the prefix's. */
	if (family == 0 && rnd(g, 2)) {
		int f = rnd(g, 2) ? AF_INET : AF_INET6;

		random_prefix(g, f, rnd(g, 2) ? &r->src : &r->dst);
	} else {
		r->family = family;
		random_prefix(g, family, &r->src);
		random_prefix(g, family, &r->dst);
		if (family && rnd(g, 4) == 0) /* the family left to the prefixes */
			r->family = r->src.family || r->dst.family ? 0 : family;
	}
	r->proto = random_proto(g);
	ports = r->proto == 6 || r->proto == 17 || r->proto == 132 || r->proto == 33 ||
		r->proto == 136;
	if (ports) {
		random_ports(g, &r->sport, 20);
		random_ports(g, &r->dport, 70);
	}
	r->dir = (enum policy_dir)rnd(g, 3);
	r->action = (enum policy_action)rnd(g, 2);
	r->has_peer = rnd(g, 5) == 0;
	if (r->has_peer)
		memcpy(r->peer, peer_keys[rnd(g, 4)], 32);
}

/* A key made to fall in rule r (then disturbed a little), or near the bases. */
static void random_key(struct gen *g, const struct policy_rule *rules, size_t n,
		       struct flow_key *k)
{
	const struct policy_rule *r = n ? &rules[rnd(g, (uint32_t)n)] : NULL;
	int family = r && r->family ? r->family : r && r->src.family ? r->src.family :
		     r && r->dst.family ? r->dst.family : rnd(g, 2) ? AF_INET : AF_INET6;
	int v6 = family == AF_INET6;
	const struct policy_prefix *pf[2] = { r ? &r->src : NULL, r ? &r->dst : NULL };
	uint8_t *addr[2] = { k->src, k->dst };
	const struct policy_ports *pr[2] = { r ? &r->sport : NULL, r ? &r->dport : NULL };
	uint16_t *port[2] = { &k->sport, &k->dport };

	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)family;
	for (int i = 0; i < 2; i++) {
		if (r && pf[i]->family == family && rnd(g, 8)) {
			unsigned int last = pf[i]->len - 1u;

			/* The prefix, random bits after; sometimes its last bit flipped, so the
			 * address falls just outside. */
			near_base(g, v6, 0, addr[i]);
			copy_bits(addr[i], pf[i]->addr, 0, pf[i]->len);
			if (pf[i]->len && rnd(g, 10) == 0)
				addr[i][last / 8] ^= (uint8_t)(0x80 >> (last % 8));
		} else {
			near_base(g, v6, rnd(g, v6 ? 129 : 33), addr[i]);
		}
	}
	k->proto = r && r->proto && rnd(g, 8) ? r->proto : random_proto(g);
	for (int i = 0; i < 2; i++) {
		if (r && pr[i]->set && rnd(g, 8)) {
			uint16_t lo = pr[i]->lo, hi = pr[i]->hi;

			*port[i] = (uint16_t)(lo + rnd(g, hi - lo + 1u));
			if (rnd(g, 8) == 0) /* just outside (or, wrapping, the other end) */
				*port[i] = rnd(g, 2) ? (uint16_t)(lo - 1) : (uint16_t)(hi + 1);
		} else {
			*port[i] = random_port(g);
		}
	}
	if (k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6)
		k->dport = k->sport; /* the identifier in both */
}

static void test_random(uint64_t seed, unsigned int sets, size_t max_rules, unsigned int keys)
{
	struct gen g;
	struct policy_rule *rules = calloc(max_rules, sizeof(*rules));
	unsigned long bad = 0, matched = 0, total = 0;

	printf("random: seed %llu, %u sets of up to %zu rules, %u keys each\n",
	       (unsigned long long)seed, sets, max_rules, keys);
	if (!rules)
		abort();
	test_rng_seed(&g.rng, seed);
	for (unsigned int s = 0; s < sets; s++) {
		size_t n = s == 0 ? max_rules : 1 + rnd(&g, (uint32_t)max_rules);
		enum policy_action dflt = (enum policy_action)rnd(&g, 2);
		char err[256];
		struct policy *p;

		test_rng_bytes(&g.rng, g.base, sizeof(g.base));
		/* Big sets need narrower rules, or the first few shadow the rest. */
		g.any_in = n > 100 ? 12 : 3;
		for (size_t i = 0; i < n; i++)
			random_rule(&g, &rules[i]);
		p = policy_compile(rules, n, dflt, err, sizeof(err));
		CHECK(p != NULL, "set %u: %s", s, err);
		if (!p)
			continue;
		for (unsigned int i = 0; i < keys; i++) {
			static const int dirs[] = { POLICY_DIR_IN, POLICY_DIR_OUT, POLICY_DIR_IN,
						    POLICY_DIR_OUT, POLICY_DIR_ANY };
			const uint8_t *peer = rnd(&g, 5) ? peer_keys[rnd(&g, 4)] : NULL;
			enum policy_dir dir = (enum policy_dir)dirs[rnd(&g, ARRAY_SIZE(dirs))];
			enum policy_action act;
			struct flow_key k;
			uint32_t want, got;

			random_key(&g, rules, n, &k);
			want = naive_match(rules, n, &k, peer, dir);
			got = policy_match(p, &k, peer, dir);
			act = want == POLICY_DEFAULT ? dflt : rules[want].action;
			matched += want != POLICY_DEFAULT;
			total++;
			if ((got != want || policy_action(p, got) != act) && bad++ < 10)
				CHECK(0, "set %u (%zu rules), key %u: got %d (action %d), "
				      "want %d (action %d)", s, n, i, (int)got,
				      policy_action(p, got), (int)want, act);
		}
		policy_free(p);
	}
	printf("random: %lu keys, %lu matched a rule\n", total, matched);
	CHECK(bad == 0, "%lu disagreements with the naive matcher", bad);
	/* Biased well enough that many keys meet a rule, and enough fall through. */
	CHECK(matched > total / 4 && matched < total - total / 100, "%lu of %lu matched", matched,
	      total);
	free(rules);
}

/* Raw field values, valid or not: compile refuses exactly what the naive check refuses, and
 * names the first bad rule. */
static void test_random_validity(uint64_t seed, unsigned int sets)
{
	static const int families[] = { 0, AF_INET, AF_INET6, 1, 3, 255 };
	struct gen g;
	unsigned long refused = 0;

	test_rng_seed(&g.rng, seed);
	g.any_in = 3;
	for (unsigned int s = 0; s < sets; s++) {
		struct policy_rule rules[4];
		size_t n = 1 + rnd(&g, 4), first_bad = n;
		char err[256], want[32];
		struct policy *p;

		for (size_t i = 0; i < n; i++) {
			struct policy_rule *r = &rules[i];

			random_rule(&g, r);
			switch (rnd(&g, 8)) { /* one field disturbed, or none */
			case 0:
				r->family = families[rnd(&g, ARRAY_SIZE(families))];
				break;
			case 1:
				r->src.family = families[rnd(&g, ARRAY_SIZE(families))];
				r->src.len = (uint8_t)(rnd(&g, 2) ? rnd(&g, 256) : r->src.len);
				break;
			case 2:
				r->dst.len = (uint8_t)rnd(&g, 256);
				break;
			case 3:
				r->proto = random_proto(&g);
				break;
			case 4: /* one call per statement: the same sequence from every compiler */
				r->dport.set = rnd(&g, 2) != 0;
				r->dport.lo = random_port(&g);
				r->dport.hi = random_port(&g);
				break;
			case 5:
				r->dir = (enum policy_dir)rnd(&g, 5);
				r->action = (enum policy_action)rnd(&g, 3);
				break;
			default:
				break;
			}
			if (first_bad == n && !naive_valid(r))
				first_bad = i;
		}
		p = policy_compile(rules, n, POLICY_DROP, err, sizeof(err));
		CHECK((p == NULL) == (first_bad < n), "set %u: compiled %d, naive says %s", s,
		      p != NULL, first_bad < n ? "invalid" : "valid");
		snprintf(want, sizeof(want), "rule %zu: ", first_bad);
		if (!p && first_bad < n)
			CHECK(strncmp(err, want, strlen(want)) == 0, "set %u: %s (want %s)", s, err,
			      want);
		refused += p == NULL;
		policy_free(p);
	}
	printf("validity: %u sets, %lu refused\n", sets, refused);
	CHECK(refused > sets / 10 && refused < sets - sets / 10, "%lu of %u refused", refused,
	      sets);
}

int main(void)
{
	test_first_match();
	test_many_ports();
	test_default();
	test_prefixes();
	test_ports_proto();
	test_dir_peer();
	test_host_bits();
	test_validation();
	test_limit();
	test_json_valid();
	test_json_invalid();
	test_json_limit();
	test_random(0x9011c1, 300, 1000, 2000);
	test_random(0x9011c2, 2000, 12, 200); /* small sets: dense overlaps */
	test_random_validity(0x9011c3, 20000);
	return test_done("policy");
}
