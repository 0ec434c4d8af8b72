/* SPDX-License-Identifier: MIT */
/*
 * The flow table's packet parser on arbitrary bytes, and the table on a stream of operations
 * against the naive model of tests/flow_model.h (an array searched linearly, the timeout rules
 * again as a transition table), which tests/test_flow.c uses too. The first byte chooses:
 *
 *   even: the rest is one packet. It must be refused (-EINVAL) or give a well-formed key: padding
 *         zero, the family its version's, an IPv4 address in the first 4 bytes of its 16, the
 *         packet's own addresses unless it is an ICMP error, no ports for a fragment, and the same
 *         answer from the packet cut to its own length, a refusal from one byte less.
 *   odd:  byte 1 sets the table's size (1..40 flows) and byte 2 its hash seed; then operations,
 *         each a u8 op and what it takes:
 *           op % 8 = 0, 1: create (u8 key); 2: lookup (u8 key); 3: look up and account (u8 key,
 *           u8 TCP flags, u16 bytes; op bit 3: an ICMP error, "related"); 4: the clock moves on
 *           by u16 milliseconds (op bit 3: 60 s more); 5: flow_expire (u8 budget); 6: flow_top
 *           (u8 peer, u8 count); 7: a packet (u8 length, then that many bytes): its key is looked
 *           up, created if absent, and accounted with what the parser says.
 *         A key byte picks one of NKEYS fixed keys (bit 7: reversed). After every operation each
 *         flow of the model must be in the table as the model has it, and the table no other;
 *         every flow that leaves it (through the end hook) must be one the model expected to go,
 *         for the reason it expected, and a new flow must sit where the model says.
 *
 * Timeouts are 1..40 s, so that the clock (which only moves forward) reaches all of them.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "flow.h"
#include "fuzz.h"

/* A failed check of the model says what, then aborts naming its line. */
#define MODEL_CHECK(m, cond, ...)                          \
	do {                                               \
		if (!(cond)) {                             \
			fprintf(stderr, __VA_ARGS__);      \
			fputc('\n', stderr);               \
			FUZZ_CHECK(cond);                  \
		}                                          \
	} while (0)

#include "../flow_model.h"

#define NKEYS 48
#define MAX_FLOWS 40
#define NS_PER_S 1000000000ULL
#define NS_PER_MS 1000000ULL

static const struct flow_timeouts timeouts = { .tcp_syn_sent = 3, .tcp_established = 40,
					       .tcp_unacknowledged = 7, .tcp_closing = 4,
					       .tcp_close = 1, .udp_unreplied = 2, .udp_replied = 6,
					       .icmp = 2, .generic = 9 };

static struct flow_key keys[NKEYS];

/* A few hosts, protocols and ports: the keys meet each other reversed and share buckets. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_TCP, 47,
					  IPPROTO_UDP };
	static const uint16_t ports[] = { 22, 53, 443, 40000 };

	(void)argc;
	(void)argv;
	for (unsigned int i = 0; i < NKEYS; i++) {
		struct flow_key *k = &keys[i];
		bool v6 = i % 3 == 0;
		uint8_t proto = protos[i % sizeof(protos)];

		memset(k, 0, sizeof(*k));
		k->family = v6 ? AF_INET6 : AF_INET;
		k->src[0] = k->dst[0] = v6 ? 0xfd : 10;
		k->src[v6 ? 15 : 3] = (uint8_t)(i / 7 % 3);
		k->dst[v6 ? 15 : 3] = (uint8_t)(i / 5 % 3);
		k->proto = v6 && proto == IPPROTO_ICMP ? IPPROTO_ICMPV6 : proto;
		if (proto == IPPROTO_ICMP)
			k->sport = k->dport = (uint16_t)(i % 2);
		else if (proto != 47 && i % 11)
			k->sport = ports[i % 4], k->dport = ports[i / 4 % 4];
	}
	return 0;
}

/* ---- The parser ---- */

static void check_parse(const uint8_t *p, size_t n)
{
	struct flow_key k, k2;
	struct flow_pkt info, info2;
	int ret = flow_key_from_packet(p, n, &k, &info);

	FUZZ_CHECK(ret == 0 || ret == -EINVAL);
	if (ret)
		return;
	FUZZ_CHECK(k.zero[0] == 0 && k.zero[1] == 0);
	FUZZ_CHECK(k.family == ((p[0] >> 4) == 4 ? AF_INET : AF_INET6));
	FUZZ_CHECK(info.len <= n && info.l4_off <= info.len);
	if (k.family == AF_INET)
		for (int i = 4; i < 16; i++)
			FUZZ_CHECK(k.src[i] == 0 && k.dst[i] == 0);
	if (!(info.flags & FLOW_PKT_RELATED)) {
		if (k.family == AF_INET)
			FUZZ_CHECK(!memcmp(k.src, p + 12, 4) && !memcmp(k.dst, p + 16, 4));
		else
			FUZZ_CHECK(!memcmp(k.src, p + 8, 16) && !memcmp(k.dst, p + 24, 16));
	} else {
		FUZZ_CHECK(k.family == AF_INET ? (info.icmp_type == 3 || info.icmp_type == 4 ||
						  info.icmp_type == 5 || info.icmp_type == 11 ||
						  info.icmp_type == 12) :
						 (info.icmp_type >= 1 && info.icmp_type <= 4));
		FUZZ_CHECK(info.tcp_flags == 0);
	}
	if (info.flags & FLOW_PKT_FRAGMENT)
		FUZZ_CHECK(k.sport == 0 && k.dport == 0 && info.tcp_flags == 0);
	if (k.proto != IPPROTO_TCP)
		FUZZ_CHECK(info.tcp_flags == 0);
	/* What lies past the packet's own length changes nothing; one byte less is refused. */
	FUZZ_CHECK(flow_key_from_packet(p, info.len, &k2, &info2) == 0);
	FUZZ_CHECK(key_eq(&k, &k2) && !memcmp(&info, &info2, sizeof(info)));
	FUZZ_CHECK(flow_key_from_packet(p, info.len - 1, &k2, &info2) == -EINVAL);
}

/* ---- Operations: the model's, with a tag for peer and verdict ---- */

static struct flow *op_create(struct flow_table *t, struct model *m, const struct flow_key *k,
			      uint8_t tag)
{
	struct mflow *mf = m_create(t, m, k);

	if (!mf)
		return NULL;
	mf->peer = mf->tf->peer = tag % 4;
	mf->verdict = mf->tf->verdict = tag * 0x01010101u;
	return mf->tf;
}

static void step(struct flow_table *t, struct model *m, struct fuzz_in *in)
{
	uint8_t op = fuzz_u8(in), kb;
	struct flow_key k;
	struct flow_pkt info;
	struct flow *f;
	bool reply;

	if (op % 8 <= 3) {
		kb = fuzz_u8(in);
		k = keys[kb % NKEYS];
		if (kb & 0x80)
			flow_key_reverse(&k, &keys[kb % NKEYS]);
	}
	switch (op % 8) {
	case 0:
	case 1:
		op_create(t, m, &k, op >> 3);
		break;
	case 2:
		m_lookup(t, m, &k, &reply);
		break;
	case 3:
		memset(&info, 0, sizeof(info));
		info.tcp_flags = fuzz_u8(in);
		info.flags = op & 8 ? FLOW_PKT_RELATED : 0;
		m_account(t, m, &k, &info, fuzz_u16(in));
		break;
	case 4:
		m->now += fuzz_u16(in) * NS_PER_MS + (op & 8 ? 60 * NS_PER_S : 0);
		break;
	case 5:
		m_expire(t, m, fuzz_u8(in));
		break;
	case 6: {
		uint8_t peer = fuzz_u8(in);

		m_top(t, m, peer % 5 == 4 ? FLOW_PEER_ANY : peer % 5, fuzz_u8(in) % 9);
		break;
	}
	default: {
		size_t len = fuzz_u8(in);
		uint8_t *p;

		if (len > fuzz_left(in))
			len = fuzz_left(in);
		p = malloc(len ? len : 1); /* exactly the packet, for ASan */
		if (!p)
			abort();
		memcpy(p, in->p, len);
		in->p += len;
		in->n -= len;
		if (flow_key_from_packet(p, len, &k, &info) == 0) {
			f = m_lookup(t, m, &k, &reply);
			if (!f && !(info.flags & FLOW_PKT_RELATED))
				f = op_create(t, m, &k, op >> 3);
			if (f)
				m_account(t, m, &k, &info, info.len);
		}
		free(p);
		break;
	}
	}
	m_compare(t, m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct model m;
	struct flow_table *t;

	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		check_parse(data + 1, size - 1);
		return 0;
	}
	fuzz_u8(&in);
	model_init(&m, 1 + fuzz_u8(&in) % MAX_FLOWS, &timeouts);
	t = flow_table_create(m.max, fuzz_u8(&in), &timeouts);
	FUZZ_CHECK(t != NULL);
	flow_table_on_end(t, model_on_end, &m);
	while (fuzz_left(&in))
		step(t, &m, &in);
	flow_table_destroy(t);
	model_free(&m);
	return 0;
}
