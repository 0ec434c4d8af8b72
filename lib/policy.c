/* SPDX-License-Identifier: MIT */
/*
 * The packet-filter policy: rules checked and compiled into per-family arrays of compact records,
 * a first-match scan over them, and the config file's policy block on jsonwalk.c. See policy.h.
 *
 * Layout. Each family has one array of records (IPv4: 32 bytes, addresses and masks as 32-bit
 * words; IPv6: 80 bytes, as two 64-bit words each), cut into lists; a rule for either family is
 * in both arrays. A rule sits in exactly one list of its family's array, chosen by what a key
 * must have for the rule to match it:
 *   - proto any:                                  the "any" list;
 *   - a port protocol with one destination port:  a bucket of that protocol, by a hash of the port;
 *   - any other proto:                            the list of that protocol.
 * Within a list, records keep rule order. A key can only match rules in its protocol's list, the
 * bucket of its protocol and destination port, and the "any" list, so a match scans those three
 * and no other rule: the first match in each, and since each is in rule order, the smallest of
 * the three is the first match overall (and each scan stops at a rule past the best so far).
 * Policies are mostly "tcp to port 443 from these prefixes": one-port rules of other ports and
 * other protocols are never looked at. What is left is a tight loop with one branch per rule:
 * masked compares of address words, one unsigned compare per port range (lo..hi as lo and
 * hi - lo), and one masked compare for peer and direction together. The peer's key is looked up
 * once per call (a binary search in the policy's sorted distinct keys) and matched by its index.
 *
 * The cost is linear in the rules sharing a key's lists: fine for the hundreds to thousands of
 * rules a node gets, once per new flow. If rule counts grow past that, the data plane could move
 * to DPDK's rte_acl (multi-bit tries over the same 5-tuple fields, built by the control thread and
 * swapped the same way); lib/ stays free of DPDK, so it would sit beside this, not in it.
 */
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

#include "addr.h"
#include "jsonwalk.h"
#include "keyenc.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* --- the compiled form --- */

#define PORT_PROTOS 5
#define BUCKET_BITS 6
#define BUCKETS (1u << BUCKET_BITS)
#define LIST_ANY 0u
#define LIST_PROTO(p) (1u + (p))
#define LIST_BUCKET(pp, b) (257u + (unsigned int)(pp) * BUCKETS + (b))
#define LISTS (257u + PORT_PROTOS * BUCKETS)

/*
 * Peer and direction are one masked compare. A key's "who" word is its peer's index in
 * policy.peers (bits 0-15; NO_PEER, bit 16, when its peer is in no rule or it has none) and its
 * direction as bit WHO_DIR + dir. A record holds its peer's index and a mask: bits 0-16 when it
 * names a peer, and the bits of the directions it does not take; it matches when
 * (who ^ peer) & mask is 0.
 */
#define NO_PEER 0x10000u
#define WHO_PEER_MASK 0x1ffffu
#define WHO_DIR 24

struct span {
	uint32_t off, len;
};

/* What both families' records hold besides addresses; port ranges as lo and hi - lo, so that
 * one unsigned compare tests both ends. */
struct rule_common {
	uint16_t sport_lo, sport_span, dport_lo, dport_span;
	uint16_t index, peer; /* index < POLICY_RULES_MAX; peer: into policy.peers */
	uint32_t who_mask;
};

struct rule4 {
	uint32_t src, smask, dst, dmask; /* host order, host bits zero */
	struct rule_common c;
};

struct rule6 {
	uint64_t src[2], smask[2], dst[2], dmask[2];
	struct rule_common c;
};

_Static_assert(sizeof(struct rule4) == 32, "two IPv4 records per cache line");

struct policy {
	uint32_t n;
	enum policy_action dflt;
	struct policy_rule *rules; /* as compiled, for policy_rule_get and policy_action */
	uint8_t (*peers)[POLICY_KEY_LEN]; /* sorted, distinct; a record's peer id indexes this */
	uint32_t npeers;
	struct rule4 *r4;
	struct rule6 *r6;
	struct span lists4[LISTS], lists6[LISTS];
};

/* TCP, UDP, UDP-Lite, SCTP and DCCP carry ports; -1 for the rest. */
static int port_proto(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 0;
	case IPPROTO_UDP:
		return 1;
	case IPPROTO_UDPLITE:
		return 2;
	case IPPROTO_SCTP:
		return 3;
	case IPPROTO_DCCP:
		return 4;
	default:
		return -1;
	}
}

/* Fibonacci hashing, so that runs of ports (1000, 1001, ...) spread over the buckets. */
static unsigned int port_bucket(uint16_t port)
{
	return (uint16_t)(port * 40503u) >> (16 - BUCKET_BITS);
}

static unsigned int list_of(const struct policy_rule *r)
{
	int pp = port_proto(r->proto);

	if (r->proto == 0)
		return LIST_ANY;
	if (pp >= 0 && r->dport.set && r->dport.lo == r->dport.hi)
		return LIST_BUCKET(pp, port_bucket(r->dport.lo));
	return LIST_PROTO(r->proto);
}

static uint64_t mask64(unsigned int bits)
{
	return bits ? ~0ULL << (64 - bits) : 0;
}

static uint64_t load64(const uint8_t *a)
{
	uint64_t v;

	memcpy(&v, a, 8);
	return be64toh(v);
}

static uint32_t load32(const uint8_t *a)
{
	uint32_t v;

	memcpy(&v, a, 4);
	return be32toh(v);
}

/* --- matching --- */

/* Keys are passed by value, so that the compiler keeps them in registers across the scan. */
struct key4 {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t who;
};

struct key6 {
	uint64_t src[2], dst[2];
	uint16_t sport, dport;
	uint32_t who;
};

/* A key against one record's ports, direction and peer: nonzero when they do not match. */
static uint32_t miss_common(const struct rule_common *c, uint16_t sport, uint16_t dport,
			    uint32_t who)
{
	uint32_t miss = (who ^ c->peer) & c->who_mask;

	miss |= (uint16_t)(sport - c->sport_lo) > c->sport_span;
	miss |= (uint16_t)(dport - c->dport_lo) > c->dport_span;
	return miss;
}

static uint32_t scan4(const struct rule4 *r, const struct span *s, struct key4 k, uint32_t best)
{
	const struct rule4 *end = r + s->off + s->len;

	for (r += s->off; r < end && r->c.index < best; r++) {
		uint32_t miss = ((k.src ^ r->src) & r->smask) | ((k.dst ^ r->dst) & r->dmask);

		if (!(miss | miss_common(&r->c, k.sport, k.dport, k.who)))
			return r->c.index;
	}
	return best;
}

static uint32_t scan6(const struct rule6 *r, const struct span *s, struct key6 k, uint32_t best)
{
	const struct rule6 *end = r + s->off + s->len;

	for (r += s->off; r < end && r->c.index < best; r++) {
		uint64_t miss = ((k.src[0] ^ r->src[0]) & r->smask[0]) |
				((k.src[1] ^ r->src[1]) & r->smask[1]) |
				((k.dst[0] ^ r->dst[0]) & r->dmask[0]) |
				((k.dst[1] ^ r->dst[1]) & r->dmask[1]);

		if (!(miss | miss_common(&r->c, k.sport, k.dport, k.who)))
			return r->c.index;
	}
	return best;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, POLICY_KEY_LEN);
}

static uint32_t peer_id(const struct policy *p, const uint8_t *pub)
{
	const uint8_t (*hit)[POLICY_KEY_LEN];

	if (!pub || !p->npeers)
		return NO_PEER;
	/* Public keys: memcmp's timing gives nothing away. */
	hit = bsearch(pub, p->peers, p->npeers, POLICY_KEY_LEN, key_cmp);
	return hit ? (uint32_t)(hit - p->peers) : NO_PEER;
}

uint32_t policy_match(const struct policy *p, const struct flow_key *k, const uint8_t *peer_pub,
		      enum policy_dir dir)
{
	/* An out-of-range dir is treated as ANY: only rules for either direction. */
	unsigned int d = (unsigned int)dir <= POLICY_DIR_OUT ? (unsigned int)dir : POLICY_DIR_ANY;
	uint32_t best = POLICY_DEFAULT, who = peer_id(p, peer_pub) | 1u << (WHO_DIR + d);
	int pp = port_proto(k->proto);

	if (k->family == AF_INET) {
		struct key4 q = { load32(k->src), load32(k->dst), k->sport, k->dport, who };

		if (pp >= 0)
			best = scan4(p->r4, &p->lists4[LIST_BUCKET(pp, port_bucket(k->dport))], q,
				     best);
		best = scan4(p->r4, &p->lists4[LIST_PROTO(k->proto)], q, best);
		return scan4(p->r4, &p->lists4[LIST_ANY], q, best);
	}
	if (k->family == AF_INET6) {
		struct key6 q = { { load64(k->src), load64(k->src + 8) },
				  { load64(k->dst), load64(k->dst + 8) },
				  k->sport, k->dport, who };

		if (pp >= 0)
			best = scan6(p->r6, &p->lists6[LIST_BUCKET(pp, port_bucket(k->dport))], q,
				     best);
		best = scan6(p->r6, &p->lists6[LIST_PROTO(k->proto)], q, best);
		return scan6(p->r6, &p->lists6[LIST_ANY], q, best);
	}
	return best;
}

enum policy_action policy_action(const struct policy *p, uint32_t i)
{
	if (i == POLICY_DEFAULT)
		return p->dflt;
	return i < p->n ? p->rules[i].action : POLICY_DROP;
}

uint32_t policy_rule_count(const struct policy *p)
{
	return p->n;
}

enum policy_action policy_default(const struct policy *p)
{
	return p->dflt;
}

const struct policy_rule *policy_rule_get(const struct policy *p, uint32_t i)
{
	return i < p->n ? &p->rules[i] : NULL;
}

/* --- checking rules --- */

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case 0:
		return "any";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_DCCP:
		return "dccp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_UDPLITE:
		return "udplite";
	default:
		return NULL;
	}
}

static const char *family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

static bool family_ok(int family)
{
	return family == 0 || family == AF_INET || family == AF_INET6;
}

/* A prefix on its own and against the rule's family; NULL when fine, else why (in why). */
static const char *check_prefix(const struct policy_prefix *pf, int family, char *why,
				size_t whylen)
{
	if (!family_ok(pf->family)) {
		snprintf(why, whylen, "family %d is not 0 (any), AF_INET or AF_INET6", pf->family);
		return why;
	}
	if (pf->family == 0) {
		if (pf->len == 0)
			return NULL;
		snprintf(why, whylen, "prefix length %u without an address family", pf->len);
		return why;
	}
	if (pf->len > (pf->family == AF_INET ? 32 : 128)) {
		snprintf(why, whylen, "prefix length %u out of range for %s", pf->len,
			 family_name(pf->family));
		return why;
	}
	if (family && pf->family != family) {
		snprintf(why, whylen, "an %s prefix in an %s rule", family_name(pf->family),
			 family_name(family));
		return why;
	}
	return NULL;
}

static const char *check_ports(const struct policy_ports *pr, uint8_t proto, char *why,
			       size_t whylen)
{
	const char *name = proto_name(proto);

	if (!pr->set)
		return NULL;
	if (pr->lo > pr->hi) {
		snprintf(why, whylen, "empty range %u-%u (lo > hi)", pr->lo, pr->hi);
		return why;
	}
	if (port_proto(proto) >= 0)
		return NULL;
	/* Ports under another protocol would match whatever the flow key holds there: the
	 * identifier of an ICMP query, 0 for the rest. */
	if (proto == 0)
		snprintf(why, whylen, "ports need proto tcp, udp, udplite, sctp or dccp; proto any "
			 "also takes packets that have none");
	else if (name)
		snprintf(why, whylen, "ports need proto tcp, udp, udplite, sctp or dccp; %s (%u) "
			 "has none", name, proto);
	else
		snprintf(why, whylen, "ports need proto tcp, udp, udplite, sctp or dccp; "
			 "protocol %u has none", proto);
	return why;
}

/*
 * NULL when r is valid; else the field at fault, with why it is wrong in why. The one check of
 * the source form: policy_compile and the JSON walk both use it, so the two say the same.
 */
static const char *check_rule(const struct policy_rule *r, char *why, size_t whylen)
{
	if (!family_ok(r->family)) {
		snprintf(why, whylen, "%d is not 0 (either), AF_INET or AF_INET6", r->family);
		return "family";
	}
	if (check_prefix(&r->src, r->family, why, whylen))
		return "src";
	if (check_prefix(&r->dst, r->family, why, whylen))
		return "dst";
	if (r->src.family && r->dst.family && r->src.family != r->dst.family) {
		snprintf(why, whylen, "an %s prefix, but src is %s: no packet has both",
			 family_name(r->dst.family), family_name(r->src.family));
		return "dst";
	}
	if (check_ports(&r->sport, r->proto, why, whylen))
		return "sport";
	if (check_ports(&r->dport, r->proto, why, whylen))
		return "dport";
	if ((unsigned int)r->dir > POLICY_DIR_OUT) {
		snprintf(why, whylen, "%d is not any (0), in (1) or out (2)", (int)r->dir);
		return "direction";
	}
	if (r->action != POLICY_DROP && r->action != POLICY_ACCEPT) {
		snprintf(why, whylen, "%d is neither drop (0) nor accept (1)", (int)r->action);
		return "action";
	}
	return NULL;
}

/* --- compiling --- */

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Clears the bits past len (all of bytes 4..15 for IPv4, whose len is at most 32). */
static void mask_prefix(struct policy_prefix *pf)
{
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int keep = pf->len > 8 * i ? pf->len - 8 * i : 0;

		pf->addr[i] &= keep >= 8 ? 0xff : (uint8_t)(0xff00u >> keep);
	}
}

/* A valid rule with its host bits cleared and its family filled in from its prefixes. */
static void normalise(struct policy_rule *r)
{
	mask_prefix(&r->src);
	mask_prefix(&r->dst);
	if (!r->family)
		r->family = r->src.family ? r->src.family : r->dst.family;
}

static int collect_peers(struct policy *p)
{
	uint32_t n = 0, d = 0;

	for (uint32_t i = 0; i < p->n; i++)
		n += p->rules[i].has_peer;
	if (!n)
		return 0;
	p->peers = malloc(n * sizeof(*p->peers));
	if (!p->peers)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->n; i++)
		if (p->rules[i].has_peer)
			memcpy(p->peers[d++], p->rules[i].peer, POLICY_KEY_LEN);
	qsort(p->peers, n, POLICY_KEY_LEN, key_cmp);
	d = 1;
	for (uint32_t i = 1; i < n; i++)
		if (memcmp(p->peers[i], p->peers[d - 1], POLICY_KEY_LEN) != 0)
			memcpy(p->peers[d++], p->peers[i], POLICY_KEY_LEN);
	p->npeers = d;
	return 0;
}

static void fill_common(struct rule_common *c, const struct policy *p, uint32_t i)
{
	const struct policy_rule *r = &p->rules[i];

	/* Any port is the range 0..65535. */
	c->sport_lo = r->sport.set ? r->sport.lo : 0;
	c->sport_span = r->sport.set ? (uint16_t)(r->sport.hi - r->sport.lo) : UINT16_MAX;
	c->dport_lo = r->dport.set ? r->dport.lo : 0;
	c->dport_span = r->dport.set ? (uint16_t)(r->dport.hi - r->dport.lo) : UINT16_MAX;
	c->index = (uint16_t)i;
	c->peer = (uint16_t)(r->has_peer ? peer_id(p, r->peer) : 0);
	c->who_mask = r->has_peer ? WHO_PEER_MASK : 0;
	/* A rule for one direction refuses the other and POLICY_DIR_ANY. */
	if (r->dir != POLICY_DIR_ANY)
		c->who_mask |= 7u << WHO_DIR & ~(1u << (WHO_DIR + r->dir));
}

static void fill4(struct rule4 *rec, const struct policy *p, uint32_t i)
{
	const struct policy_rule *r = &p->rules[i];

	rec->src = load32(r->src.addr);
	rec->smask = (uint32_t)(mask64(r->src.len) >> 32);
	rec->dst = load32(r->dst.addr);
	rec->dmask = (uint32_t)(mask64(r->dst.len) >> 32);
	fill_common(&rec->c, p, i);
}

static void fill6(struct rule6 *rec, const struct policy *p, uint32_t i)
{
	const struct policy_rule *r = &p->rules[i];
	const struct policy_prefix *pf[2] = { &r->src, &r->dst };
	uint64_t *addr[2] = { rec->src, rec->dst }, *mask[2] = { rec->smask, rec->dmask };

	for (int j = 0; j < 2; j++) {
		unsigned int len = pf[j]->len;

		addr[j][0] = load64(pf[j]->addr);
		addr[j][1] = load64(pf[j]->addr + 8);
		mask[j][0] = mask64(len < 64 ? len : 64);
		mask[j][1] = mask64(len > 64 ? len - 64 : 0);
	}
	fill_common(&rec->c, p, i);
}

/*
 * One family's records: counted per list, then placed in rule order, so each list is a run of
 * the array in rule order. Rules of the other family are left out.
 */
static int build_family(struct policy *p, int family)
{
	struct span *lists = family == AF_INET ? p->lists4 : p->lists6;
	size_t size = family == AF_INET ? sizeof(struct rule4) : sizeof(struct rule6);
	uint32_t at[LISTS], total = 0;
	void *recs;

	for (uint32_t i = 0; i < p->n; i++)
		if (!p->rules[i].family || p->rules[i].family == family)
			lists[list_of(&p->rules[i])].len++;
	for (unsigned int l = 0; l < LISTS; l++) {
		lists[l].off = at[l] = total;
		total += lists[l].len;
	}
	recs = calloc(total ? total : 1, size);
	if (!recs)
		return -ENOMEM;
	if (family == AF_INET)
		p->r4 = recs;
	else
		p->r6 = recs;
	for (uint32_t i = 0; i < p->n; i++) {
		unsigned int l = list_of(&p->rules[i]);

		if (p->rules[i].family && p->rules[i].family != family)
			continue;
		if (family == AF_INET)
			fill4(&p->r4[at[l]++], p, i);
		else
			fill6(&p->r6[at[l]++], p, i);
	}
	return 0;
}

static int compile(const struct policy_rule *rules, size_t n, enum policy_action dflt,
		   struct policy **out, char *err, size_t errlen)
{
	struct policy *p;
	const char *field;
	char why[160];

	*out = NULL;
	if (n > POLICY_RULES_MAX)
		return fail(err, errlen, "%zu rules: more than %u", n, POLICY_RULES_MAX);
	if (n && !rules)
		return fail(err, errlen, "rules is NULL but n is %zu", n);
	if (dflt != POLICY_DROP && dflt != POLICY_ACCEPT)
		return fail(err, errlen, "default: %d is neither drop (0) nor accept (1)",
			    (int)dflt);
	for (size_t i = 0; i < n; i++) {
		field = check_rule(&rules[i], why, sizeof(why));
		if (field)
			return fail(err, errlen, "rule %zu: %s: %s", i, field, why);
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		goto nomem;
	p->n = (uint32_t)n;
	p->dflt = dflt;
	p->rules = malloc((n ? n : 1) * sizeof(*p->rules));
	if (!p->rules)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		p->rules[i] = rules[i];
		normalise(&p->rules[i]);
	}
	if (collect_peers(p) || build_family(p, AF_INET) || build_family(p, AF_INET6))
		goto nomem;
	*out = p;
	return 0;
nomem:
	policy_free(p);
	fail(err, errlen, "out of memory");
	return -ENOMEM;
}

struct policy *policy_compile(const struct policy_rule *rules, size_t n, enum policy_action dflt,
			      char *err, size_t errlen)
{
	struct policy *p;

	if (err && errlen)
		err[0] = '\0';
	compile(rules, n, dflt, &p, err, errlen);
	return p;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	free(p->rules);
	free(p->peers);
	free(p->r4);
	free(p->r6);
	free(p);
}

/* --- the config file's policy block --- */

static const char *const action_names[] = { "drop", "accept" }; /* enum policy_action order */

static int get_action(struct jsonwalk *w, const cJSON *v, enum policy_action *out)
{
	int which = POLICY_DROP;
	int ret = jsonwalk_choice(w, v, action_names, ARRAY_SIZE(action_names),
				  "expected \"accept\" or \"drop\"", &which);

	*out = (enum policy_action)which;
	return ret;
}

static int h_action(struct jsonwalk *w, const cJSON *v, void *obj)
{
	return get_action(w, v, &((struct policy_rule *)obj)->action);
}

static int h_direction(struct jsonwalk *w, const cJSON *v, void *obj)
{
	static const char *const dirs[] = { "any", "in", "out" }; /* enum policy_dir order */
	int which = POLICY_DIR_ANY;
	int ret = jsonwalk_choice(w, v, dirs, ARRAY_SIZE(dirs),
				  "expected \"in\", \"out\" or \"any\"", &which);

	((struct policy_rule *)obj)->dir = (enum policy_dir)which;
	return ret;
}

static int h_proto(struct jsonwalk *w, const cJSON *v, void *obj)
{
	static const char *const names[] = { "any", "tcp", "udp", "udplite", "sctp", "dccp",
					     "icmp", "icmpv6" };
	static const uint8_t numbers[] = { 0, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE,
					   IPPROTO_SCTP, IPPROTO_DCCP, IPPROTO_ICMP,
					   IPPROTO_ICMPV6 };
	struct policy_rule *r = obj;
	unsigned long number = 0;
	int which = 0, ret;

	if (cJSON_IsNumber(v)) {
		ret = jsonwalk_uint(w, v, 0, UINT8_MAX, &number);
		r->proto = (uint8_t)number;
		return ret;
	}
	if (!cJSON_IsString(v))
		return jsonwalk_fail(w, "expected a protocol name or number 0..255");
	ret = jsonwalk_choice(w, v, names, ARRAY_SIZE(names),
			      "expected \"tcp\", \"udp\", \"udplite\", \"sctp\", \"dccp\", "
			      "\"icmp\", \"icmpv6\", \"any\" or a number 0..255", &which);
	r->proto = numbers[which];
	return ret;
}

static int get_prefix(struct jsonwalk *w, const cJSON *v, struct policy_prefix *out)
{
	struct addr_prefix pf;
	char why[ADDR_WHY_MAX];
	const char *s;
	int ret = jsonwalk_string(w, v, &s);

	if (ret)
		return ret;
	if (addr_parse_prefix(ADDR_CONFIG, s, strlen(s), &pf, why, sizeof(why)))
		return jsonwalk_fail_value(w, s, why);
	out->family = pf.family;
	memcpy(out->addr, pf.addr, 16);
	out->len = pf.len;
	return 0;
}

static int h_src(struct jsonwalk *w, const cJSON *v, void *obj)
{
	return get_prefix(w, v, &((struct policy_rule *)obj)->src);
}

static int h_dst(struct jsonwalk *w, const cJSON *v, void *obj)
{
	return get_prefix(w, v, &((struct policy_rule *)obj)->dst);
}

/* Decimal digits, at most five (no sign, no space); the end of them in *end. */
static bool get_port_text(const char *s, const char **end, unsigned long *out)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 5)
		return false;
	*out = strtoul(s, NULL, 10);
	*end = s + n;
	return true;
}

static int get_ports(struct jsonwalk *w, const cJSON *v, struct policy_ports *out)
{
	unsigned long lo = 0, hi = 0;
	const char *s, *end;
	bool ok;
	int ret;

	if (cJSON_IsNumber(v)) {
		ret = jsonwalk_uint(w, v, 0, UINT16_MAX, &lo);
		if (ret)
			return ret;
		hi = lo;
	} else if (cJSON_IsString(v)) {
		ret = jsonwalk_string(w, v, &s);
		if (ret)
			return ret;
		ok = get_port_text(s, &end, &lo);
		hi = lo;
		if (ok && *end == '-')
			ok = get_port_text(end + 1, &end, &hi);
		if (!ok || *end)
			return jsonwalk_fail_value(w, s, "expected a port or a range of ports, as "
						   "\"80\" or \"1000-2000\"");
		if (lo > UINT16_MAX || hi > UINT16_MAX)
			return jsonwalk_fail_value(w, s, "port out of range 0..65535");
		if (lo > hi)
			return jsonwalk_fail_value(w, s, "empty range (the first port is above "
						   "the last)");
	} else {
		return jsonwalk_fail(w, "expected a port number or a string such as \"1000-2000\"");
	}
	out->set = true;
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return 0;
}

static int h_sport(struct jsonwalk *w, const cJSON *v, void *obj)
{
	return get_ports(w, v, &((struct policy_rule *)obj)->sport);
}

static int h_dport(struct jsonwalk *w, const cJSON *v, void *obj)
{
	return get_ports(w, v, &((struct policy_rule *)obj)->dport);
}

static int h_peer(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct policy_rule *r = obj;
	const char *s;
	int ret = jsonwalk_string(w, v, &s);

	if (ret)
		return ret;
	if (keyenc_from_base64(r->peer, s, strlen(s)))
		return jsonwalk_fail_value(w, s, "not a base64 key (44 characters ending in '=', "
					   "as wg pubkey prints)");
	r->has_peer = true;
	return 0;
}

/* In the order a rule reads; the walk runs handlers in this order, so proto is known (and its
 * errors reported) before the ports that depend on it. */
static const struct jsonwalk_field rule_fields[] = {
	{ "action", true, h_action },
	{ "direction", false, h_direction },
	{ "proto", false, h_proto },
	{ "src", false, h_src },
	{ "dst", false, h_dst },
	{ "sport", false, h_sport },
	{ "dport", false, h_dport },
	{ "peer", false, h_peer },
};

/* A rule's fields, then what holds between them (families, ports and proto), at the field
 * check_rule names. */
static int rule(struct jsonwalk *w, const cJSON *v, size_t i, void *arg)
{
	struct policy_rule *r = &((struct policy_rule *)arg)[i];
	const char *field;
	char why[160];
	int ret = jsonwalk_object(w, v, rule_fields, ARRAY_SIZE(rule_fields), r);

	if (ret)
		return ret;
	field = check_rule(r, why, sizeof(why));
	if (!field)
		return 0;
	jsonwalk_path_field(w, field);
	return jsonwalk_fail(w, "%s", why);
}

struct policy_src {
	enum policy_action dflt;
	struct policy_rule *rules;
	size_t n;
};

static int h_default(struct jsonwalk *w, const cJSON *v, void *obj)
{
	return get_action(w, v, &((struct policy_src *)obj)->dflt);
}

static int h_rules(struct jsonwalk *w, const cJSON *v, void *obj)
{
	struct policy_src *src = obj;
	size_t count;
	int ret = jsonwalk_array(w, v, 0, POLICY_RULES_MAX, &count);

	if (ret || count == 0)
		return ret;
	src->rules = calloc(count, sizeof(*src->rules));
	if (!src->rules)
		return jsonwalk_fail_nomem(w);
	src->n = count;
	return jsonwalk_elements(w, v, rule, src->rules);
}

/* The default is required: whether unmatched traffic passes is not something to guess. */
static const struct jsonwalk_field policy_fields[] = {
	{ "default", true, h_default },
	{ "rules", false, h_rules },
};

int policy_from_json(struct jsonwalk *w, const cJSON *v, struct policy **out)
{
	struct policy_src src = { POLICY_DROP, NULL, 0 };
	char err[256];
	int ret;

	*out = NULL;
	ret = jsonwalk_object(w, v, policy_fields, ARRAY_SIZE(policy_fields), &src);
	if (!ret) {
		/* Every rule was checked on the way: only memory can fail here. */
		ret = compile(src.rules, src.n, src.dflt, out, err, sizeof(err));
		if (ret == -ENOMEM)
			jsonwalk_fail_nomem(w);
		else if (ret)
			jsonwalk_fail(w, "%s", err);
	}
	free(src.rules);
	return ret;
}
