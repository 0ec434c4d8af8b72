/* SPDX-License-Identifier: MIT */
/*
 * The packet-filter policy, two ways, chosen by the first byte's low bit:
 *
 * 0: rules and keys as bytes. A u8 default (bit 7 set: a raw value 0..7, else bit 0), a u8 rule
 *    count (mod 33), then per rule:
 *      u8 family (bits 0-2, some of them not a family) | dir << 3 (3 is none) | action << 5
 *         (2, 3 are none) | has_peer << 7
 *      u8 proto: below 0xc0 one of a table biased to the port protocols, else a raw byte follows
 *      src, dst: u8 family (0: none, 1: IPv4, 2: IPv6, 3: a bad one), u8 length (bit 7 clear:
 *         within the family's, else raw), then an address: 4 bytes, a fifth repeated over the
 *         other 12, so that prefixes share leading bits often, and a u8 position and a u8 value
 *         XORed into the byte there, so that two addresses can also differ deep in an IPv6 one
 *      u8 ports: bit 0 sport, bit 1 dport given, each as u16 lo and an s8 added for hi
 *      u8 peer (when has_peer): one of four keys
 *    The rules are compiled, and must be refused exactly when the naive check finds one invalid
 *    (the message naming the first). Then, while input is left, keys: u8 family | dir << 2 |
 *    peer << 4 (4: a key in no rule, 5-7: none), u8 proto as above, two addresses, u16 sport
 *    and dport; each matched and compared with a naive first-match loop over the rules. A key's
 *    address is a u8: bit 7 clear, an address as above; set, a rule's address (rule bits 0-5,
 *    its src or dst by bit 6) with one byte XORed as above, so keys fall on either side of a
 *    prefix's last bit (the matcher has no branch per field for coverage to steer by).
 * 1: the rest is JSON text for policy_from_json, placed to end right before an inaccessible
 *    page (cJSON, a system library without ASan, would read past it unnoticed). Refused: no
 *    policy, a printable message. Accepted: every rule valid by the naive check, host bits
 *    zero, and keys built inside each rule match as the naive loop says.
 * Everything is freed (LeakSanitizer checks).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "jsonwalk.h"
#include "policy.h"

#define MAX_RULES 32
#define MAX_INPUT (64 * 1024)

static char *region; /* MAX_INPUT bytes, then a PROT_NONE page */
static uint8_t keys[5][32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	(void)argc;
	(void)argv;
	for (int i = 0; i < 5; i++)
		fuzz_fill(keys[i], 32, (uint8_t)(17 * i + 1));
	FUZZ_CHECK(MAX_INPUT % page == 0);
	region = mmap(NULL, MAX_INPUT + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	FUZZ_CHECK(region != MAP_FAILED && mprotect(region + MAX_INPUT, page, PROT_NONE) == 0);
	return 0;
}

/* --- the naive model --- */

static int bit_of(const uint8_t *a, unsigned int i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

static bool model_prefix(const struct policy_prefix *pf, int family, const uint8_t *a)
{
	if (pf->family && pf->family != family)
		return false;
	for (unsigned int i = 0; i < pf->len; i++)
		if (bit_of(pf->addr, i) != bit_of(a, i))
			return false;
	return true;
}

static bool model_ports(const struct policy_ports *pr, uint16_t port)
{
	return !pr->set || (port >= pr->lo && port <= pr->hi);
}

static uint32_t model_match(const struct policy_rule *rules, size_t n, const struct flow_key *k,
			    const uint8_t *peer, enum policy_dir dir)
{
	if (k->family != AF_INET && k->family != AF_INET6)
		return POLICY_DEFAULT;
	for (size_t i = 0; i < n; i++) {
		const struct policy_rule *r = &rules[i];

		if ((!r->family || r->family == k->family) &&
		    model_prefix(&r->src, k->family, k->src) &&
		    model_prefix(&r->dst, k->family, k->dst) &&
		    (!r->proto || r->proto == k->proto) && model_ports(&r->sport, k->sport) &&
		    model_ports(&r->dport, k->dport) &&
		    (r->dir == POLICY_DIR_ANY || r->dir == dir) &&
		    (!r->has_peer || (peer && memcmp(peer, r->peer, 32) == 0)))
			return (uint32_t)i;
	}
	return POLICY_DEFAULT;
}

static bool model_family(int f)
{
	return f == 0 || f == AF_INET || f == AF_INET6;
}

static bool model_prefix_valid(const struct policy_prefix *pf, int family)
{
	if (!model_family(pf->family) || (pf->family == 0 && pf->len))
		return false;
	if (pf->len > (pf->family == AF_INET ? 32 : 128))
		return false;
	return !pf->family || !family || pf->family == family;
}

static bool model_ports_valid(const struct policy_ports *pr, uint8_t proto)
{
	bool has_ports = proto == 6 || proto == 17 || proto == 33 || proto == 132 || proto == 136;

	return !pr->set || (has_ports && pr->lo <= pr->hi);
}

static bool model_valid(const struct policy_rule *r)
{
	return model_family(r->family) && model_prefix_valid(&r->src, r->family) &&
	       model_prefix_valid(&r->dst, r->family) &&
	       (!r->src.family || !r->dst.family || r->src.family == r->dst.family) &&
	       model_ports_valid(&r->sport, r->proto) && model_ports_valid(&r->dport, r->proto) &&
	       (unsigned int)r->dir <= 2 && (unsigned int)r->action <= 1;
}

/* --- checks shared by both modes --- */

/* A compiled rule as policy.h promises: valid, host bits zero, the family filled in. */
static void check_compiled(const struct policy *p)
{
	for (uint32_t i = 0; i < policy_rule_count(p); i++) {
		const struct policy_rule *r = policy_rule_get(p, i);
		const struct policy_prefix *pf[2] = { &r->src, &r->dst };

		FUZZ_CHECK(model_valid(r));
		for (int j = 0; j < 2; j++) {
			for (unsigned int b = pf[j]->len; b < 128; b++)
				FUZZ_CHECK(!bit_of(pf[j]->addr, b));
			FUZZ_CHECK(!pf[j]->family || r->family == pf[j]->family);
		}
	}
	FUZZ_CHECK(policy_rule_get(p, policy_rule_count(p)) == NULL);
}

static void check_key(const struct policy *p, const struct policy_rule *rules, size_t n,
		      enum policy_action dflt, const struct flow_key *k, const uint8_t *peer,
		      enum policy_dir dir)
{
	uint32_t got = policy_match(p, k, peer, dir);

	FUZZ_CHECK(got == model_match(rules, n, k, peer, dir));
	FUZZ_CHECK(policy_action(p, got) == (got == POLICY_DEFAULT ? dflt : rules[got].action));
}

static void check_message(const char *err, size_t errlen)
{
	FUZZ_CHECK(memchr(err, '\0', errlen) != NULL);
	for (; *err; err++)
		FUZZ_CHECK(*err >= 0x20 && *err < 0x7f);
}

/* --- mode 0: bytes --- */

static uint8_t get_proto(struct fuzz_in *in)
{
	static const uint8_t protos[16] = { 0, 6, 17, 1, 58, 132, 33, 136, 0, 6, 17, 6, 17, 47,
					    0, 255 };
	uint8_t b = fuzz_u8(in);

	return b < 0xc0 ? protos[b & 15] : fuzz_u8(in);
}

static void poke(struct fuzz_in *in, uint8_t a[16])
{
	uint8_t at = fuzz_u8(in);

	a[at & 15] ^= fuzz_u8(in);
}

static void get_addr(struct fuzz_in *in, uint8_t a[16])
{
	for (int i = 0; i < 4; i++)
		a[i] = fuzz_u8(in);
	memset(a + 4, fuzz_u8(in), 12);
	poke(in, a);
}

static void get_key_addr(struct fuzz_in *in, const struct policy_rule *rules, size_t n,
			 uint8_t a[16])
{
	uint8_t sel = fuzz_u8(in);
	const struct policy_rule *r;

	if (!(sel & 0x80) || n == 0) {
		get_addr(in, a);
		return;
	}
	r = &rules[(sel & 0x3f) % n];
	memcpy(a, sel & 0x40 ? r->dst.addr : r->src.addr, 16);
	poke(in, a);
}

static void get_prefix(struct fuzz_in *in, struct policy_prefix *pf)
{
	static const int families[4] = { 0, AF_INET, AF_INET6, 9 };
	uint8_t f = fuzz_u8(in), len = fuzz_u8(in);

	pf->family = families[f & 3];
	pf->len = len & 0x80 ? len : (uint8_t)(len % (pf->family == AF_INET ? 33 : 129));
	get_addr(in, pf->addr);
}

static void get_ports(struct fuzz_in *in, struct policy_ports *pr)
{
	pr->set = true;
	pr->lo = fuzz_u16(in);
	pr->hi = (uint16_t)(pr->lo + (int8_t)fuzz_u8(in));
}

static void get_rule(struct fuzz_in *in, struct policy_rule *r)
{
	static const int families[8] = { 0, AF_INET, AF_INET6, 0, AF_INET, AF_INET6, AF_INET, 7 };
	uint8_t b = fuzz_u8(in), ports;

	memset(r, 0, sizeof(*r));
	r->family = families[b & 7];
	r->dir = (enum policy_dir)((b >> 3) & 3);
	r->action = (enum policy_action)((b >> 5) & 3);
	r->proto = get_proto(in);
	get_prefix(in, &r->src);
	get_prefix(in, &r->dst);
	ports = fuzz_u8(in);
	if (ports & 1)
		get_ports(in, &r->sport);
	if (ports & 2)
		get_ports(in, &r->dport);
	if (b & 0x80) {
		r->has_peer = true;
		memcpy(r->peer, keys[fuzz_u8(in) & 3], 32);
	}
}

static void run_rules(struct fuzz_in *in)
{
	static struct policy_rule rules[MAX_RULES];
	uint8_t d = fuzz_u8(in);
	enum policy_action dflt = (enum policy_action)(d & 0x80 ? d & 7 : d & 1);
	size_t n = fuzz_u8(in) % (MAX_RULES + 1), first_bad = n;
	char err[256], want[32];
	struct policy *p;

	for (size_t i = 0; i < n; i++) {
		get_rule(in, &rules[i]);
		if (first_bad == n && !model_valid(&rules[i]))
			first_bad = i;
	}
	p = policy_compile(rules, n, dflt, err, sizeof(err));
	check_message(err, sizeof(err));
	if ((unsigned int)dflt > 1 || first_bad < n) {
		FUZZ_CHECK(p == NULL && err[0]);
		snprintf(want, sizeof(want), "rule %zu: ", first_bad);
		if ((unsigned int)dflt <= 1)
			FUZZ_CHECK(strncmp(err, want, strlen(want)) == 0);
		return;
	}
	FUZZ_CHECK(p != NULL && err[0] == '\0');
	FUZZ_CHECK(policy_rule_count(p) == n && policy_default(p) == dflt);
	check_compiled(p);
	while (fuzz_left(in)) {
		static const int families[4] = { AF_INET, AF_INET6, AF_INET, 0 };
		uint8_t b = fuzz_u8(in);
		const uint8_t *peer = (b >> 4) < 5 ? keys[b >> 4] : NULL;
		struct flow_key k;

		memset(&k, 0, sizeof(k));
		k.family = (uint8_t)families[b & 3];
		k.proto = get_proto(in);
		get_key_addr(in, rules, n, k.src);
		get_key_addr(in, rules, n, k.dst);
		if (k.family == AF_INET) { /* an IPv4 key's unused bytes are zero */
			memset(k.src + 4, 0, 12);
			memset(k.dst + 4, 0, 12);
		}
		k.sport = fuzz_u16(in);
		k.dport = fuzz_u16(in);
		check_key(p, rules, n, dflt, &k, peer, (enum policy_dir)((b >> 2) & 3));
	}
	policy_free(p);
}

/* --- mode 1: JSON --- */

/* A key inside rule r: its prefixes' addresses, its ports' low ends, its protocol. */
static void key_in(const struct policy_rule *r, struct flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)(r->family ? r->family : AF_INET);
	memcpy(k->src, r->src.addr, k->family == AF_INET ? 4 : 16);
	memcpy(k->dst, r->dst.addr, k->family == AF_INET ? 4 : 16);
	k->proto = r->proto ? r->proto : IPPROTO_TCP;
	k->sport = r->sport.set ? r->sport.lo : 1;
	k->dport = r->dport.set ? r->dport.hi : 1;
}

static void run_json(const uint8_t *data, size_t size)
{
	char *json = region + MAX_INPUT - size, err[512];
	struct policy *p = NULL;
	struct jsonwalk w;
	cJSON *root;
	int ret;

	if (size > MAX_INPUT)
		return;
	memcpy(json, data, size);
	jsonwalk_init(&w, err, sizeof(err));
	if (jsonwalk_parse(&w, json, size, &root))
		return;
	jsonwalk_path_field(&w, "policy");
	ret = policy_from_json(&w, root, &p);
	jsonwalk_free_tree(root);
	check_message(err, sizeof(err));
	if (ret) {
		FUZZ_CHECK((ret == -EINVAL || ret == -ENOMEM) && p == NULL);
		FUZZ_CHECK(strncmp(err, "policy", 6) == 0);
		/* Every rule is checked where the JSON names its field: compile's own "rule N: ..."
		 * (no path) never gets through. */
		FUZZ_CHECK(strncmp(err, "policy: rule ", 13) != 0);
		return;
	}
	FUZZ_CHECK(p != NULL && err[0] == '\0');
	FUZZ_CHECK(policy_rule_count(p) <= POLICY_RULES_MAX);
	check_compiled(p);
	for (uint32_t i = 0; i < policy_rule_count(p) && i < 64; i++) {
		const struct policy_rule *r = policy_rule_get(p, i);
		struct flow_key k;

		key_in(r, &k);
		for (int dir = POLICY_DIR_ANY; dir <= POLICY_DIR_OUT; dir++) {
			check_key(p, policy_rule_get(p, 0), policy_rule_count(p), policy_default(p),
				  &k, r->has_peer ? r->peer : NULL, (enum policy_dir)dir);
			check_key(p, policy_rule_get(p, 0), policy_rule_count(p), policy_default(p),
				  &k, NULL, (enum policy_dir)dir);
		}
	}
	policy_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data + 1, size ? size - 1 : 0 };

	if (size == 0)
		return 0;
	if (data[0] & 1)
		run_json(data + 1, size - 1);
	else
		run_rules(&in);
	return 0;
}
