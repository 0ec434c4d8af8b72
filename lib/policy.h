/* SPDX-License-Identifier: MIT */
/*
 * The packet-filter policy of gateway mode: an ordered list of rules over a new flow's key
 * (flowkey.h), the mesh-side peer and the direction, first match wins, else a default action.
 * The flow table (flow.h) makes it stateful: it asks the policy once per new flow, and a flow
 * accepted one way lets its replies back, so nothing here is per packet or keeps state.
 *
 * Rules are written as struct policy_rule (from the JSON config today, from a coordination server
 * later) and compiled into an immutable struct policy. The control thread compiles a new policy,
 * publishes the pointer with a release store, and frees the old one with policy_free after an RCU
 * grace period; workers load the pointer with acquire and only call the const functions below,
 * which never write to the policy and never allocate. A match returns the rule's index, so
 * callers keep hit counters per worker in arrays of policy_rule_count() entries.
 *
 * Rules are numbered from 0 in the order given (as rules[i] in the JSON), in every message and
 * every index; POLICY_DEFAULT stands for "no rule matched".
 */
#ifndef MG_POLICY_H
#define MG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flowkey.h"

struct jsonwalk;
struct cJSON;

/* Rule indices fit 16 bits in the compiled form; 64k rules is far past anything a node needs. */
#define POLICY_RULES_MAX 65536u
/* What policy_match returns when no rule matches. */
#define POLICY_DEFAULT UINT32_MAX
#define POLICY_KEY_LEN 32

/* Zero is drop, so that an action left unset fails closed. */
enum policy_action {
	POLICY_DROP = 0,
	POLICY_ACCEPT = 1,
};

/* Where a flow's first packet goes. A rule's POLICY_DIR_ANY matches both ways. */
enum policy_dir {
	POLICY_DIR_ANY = 0,
	POLICY_DIR_IN = 1,  /* from the mesh (a peer) to the LAN */
	POLICY_DIR_OUT = 2, /* from the LAN to the mesh */
};

/* An address prefix. family 0 (then len must be 0) is any address of either family; a family
 * with len 0 is any address of that family ("::/0"). Host bits are masked when compiled. */
struct policy_prefix {
	int family;       /* 0, AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
	uint8_t len;
};

/* An inclusive port range; set false (as zeroed) is any port. */
struct policy_ports {
	bool set;
	uint16_t lo, hi;
};

/* One rule in its source form; a zeroed rule matches everything and drops it. */
struct policy_rule {
	int family;                    /* 0 (either), AF_INET or AF_INET6 */
	struct policy_prefix src, dst; /* their families agree with the rule's and each other */
	bool has_peer;
	uint8_t peer[POLICY_KEY_LEN];  /* the mesh-side peer's public key */
	uint8_t proto;                 /* 0: any, else an IP protocol number */
	/* Only with proto TCP, UDP, UDP-Lite, SCTP or DCCP: an ICMP query's key holds its
	 * identifier in both ports, and a rule on "port" 7 of ICMP would match identifier 7. */
	struct policy_ports sport, dport;
	enum policy_dir dir;
	enum policy_action action;
};

struct policy;

/*
 * Checks every rule and compiles rules[0..n) (n <= POLICY_RULES_MAX; rules may be NULL when n is
 * 0) with dflt for flows no rule matches. NULL on error, with err saying why ("rule 3: dport:
 * ..."; "out of memory"); err may be NULL, errlen 0. Nothing is kept of rules.
 */
struct policy *policy_compile(const struct policy_rule *rules, size_t n, enum policy_action dflt,
			      char *err, size_t errlen);
/* NULL is fine. Only once no worker can still hold p (after a grace period). */
void policy_free(struct policy *p);

uint32_t policy_rule_count(const struct policy *p);
enum policy_action policy_default(const struct policy *p);
/* Rule i as compiled: host bits zero, family filled in from the prefixes when it was 0 and they
 * had one. i < policy_rule_count(p). */
const struct policy_rule *policy_rule_get(const struct policy *p, uint32_t i);

/*
 * The index of the first rule matching a new flow, or POLICY_DEFAULT: k's family, source and
 * destination in the prefixes, protocol, ports in the ranges, the peer (peer_pub, 32 bytes, or
 * NULL when the flow has none: then no rule naming a peer matches) and dir (IN or OUT; ANY
 * matches only the rules for either direction). A key of another family matches nothing.
 */
uint32_t policy_match(const struct policy *p, const struct flow_key *k, const uint8_t *peer_pub,
		      enum policy_dir dir);
/* The action of rule i, or the default's for POLICY_DEFAULT; drop for any other i. */
enum policy_action policy_action(const struct policy *p, uint32_t i);

/*
 * The config file's policy block, v (w's path already names it, e.g. "policy"):
 *   { "default": "accept" | "drop",                         required
 *     "rules": [ {                                          optional, at most POLICY_RULES_MAX
 *       "action": "accept" | "drop",                        required
 *       "direction": "in" | "out" | "any",                  default "any"
 *       "proto": "tcp" | "udp" | "udplite" | "sctp" | "dccp" | "icmp" | "icmpv6" | "any"
 *                or a number 0..255 (0: any),               default "any"
 *       "src", "dst": "10.1.0.0/24", "fd00::/64", a bare address (/32, /128), "::/0" (any IPv6),
 *                in addr.c's config dialect,                default any address
 *       "sport", "dport": 80, "80" or "1000-2000",          default any port
 *       "peer": "<base64 public key>" } ... ] }             default any peer (or none)
 * The rule's family is its prefixes'. Unknown fields are errors. 0 with *out the compiled
 * policy, or -EINVAL / -ENOMEM with *out NULL and w's message naming the field
 * ("policy.rules[3].dport: ...").
 */
int policy_from_json(struct jsonwalk *w, const struct cJSON *v, struct policy **out);

#endif
