/* SPDX-License-Identifier: MIT */
/*
 * A naive reference model of the flow table (lib/flow.c): an array of flows searched linearly,
 * with the timeout rules written again as a transition table. It is the reference, so it is
 * written from flow.h's description, not from flow.c: of the table it uses only the calls it
 * checks, and flow_table_buckets (which two buckets a key may go in: the hash is the table's).
 *
 * Each m_* operation makes one call into the table and checks it against the model: the flows
 * that leave the table (through the end hook, model_on_end) and why, where a new flow is filed,
 * the state and deadline after accounting, flow_top's answer; m_compare checks every flow and the
 * counters. Used by the differential test in tests/test_flow.c (long random streams) and by
 * tests/fuzz/fuzz_flow.c (streams of operations from the fuzzer's bytes).
 *
 * The includer defines MODEL_CHECK(m, cond, fmt, ...) before including this file: a failed cond is
 * a failure of model m, and fmt with its arguments says what. cond has no side effects. Both users
 * are single translation units, so everything here is static.
 */
#ifndef MG_TESTS_FLOW_MODEL_H
#define MG_TESTS_FLOW_MODEL_H

#ifndef MODEL_CHECK
#error "define MODEL_CHECK(m, cond, ...) before including flow_model.h"
#endif

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"

#define MODEL_NS_PER_S 1000000000ULL

/* A flow that left the table, as the end hook reported it or as the model predicts it. */
struct mend {
	const struct flow *f;
	struct flow_key key;
	enum flow_end why;
};

struct mflow {
	struct flow_key key; /* original direction */
	struct flow *tf;     /* the table's flow for it */
	uint64_t deadline, created, last;
	uint64_t packets[2], bytes[2];
	uint32_t verdict, peer;
	int state;
	bool replied;
};

struct model {
	struct mflow *f; /* max of them, the first n in use */
	unsigned int n, max, nbuckets;
	const struct flow_timeouts *to; /* the table's, in seconds */
	uint64_t now;
	uint64_t created, expired, evicted;
	uint64_t room_bucket; /* victims because the key's buckets were full */
	uint64_t room_far;    /* victims from beyond the key's (empty) buckets */
	struct mend *got;     /* what the table reported during the current call: at most max + 1 */
	unsigned int ngot;
	bool *slot_seen;        /* m_compare's scratch, one per slot */
	unsigned long failures; /* for the includer's MODEL_CHECK, if it counts */
};

/* A model of an empty table of max_flows flows with timeouts to (kept as a pointer), at 1 s. */
static void model_init(struct model *m, unsigned int max_flows, const struct flow_timeouts *to)
{
	memset(m, 0, sizeof(*m));
	m->max = max_flows;
	m->nbuckets = (2 * max_flows + FLOW_BUCKET_SLOTS - 1) / FLOW_BUCKET_SLOTS;
	m->to = to;
	m->now = MODEL_NS_PER_S;
	m->f = calloc(max_flows, sizeof(*m->f));
	m->got = calloc(max_flows + 1, sizeof(*m->got));
	m->slot_seen = calloc((size_t)m->nbuckets * FLOW_BUCKET_SLOTS, sizeof(*m->slot_seen));
	if (!m->f || !m->got || !m->slot_seen)
		abort();
}

static void model_free(struct model *m)
{
	free(m->f);
	free(m->got);
	free(m->slot_seen);
}

static bool key_eq(const struct flow_key *a, const struct flow_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* The rules again, as a table: the next TCP state by event. RST and FIN come on top. */
enum { EV_ORIG_SYN, EV_ORIG_OTHER, EV_REPLY, NEV };
static const int tcp_next[FLOW_TCP_CLOSE + 1][NEV] = {
	[FLOW_TCP_NEW] = { FLOW_TCP_SYN_SENT, FLOW_TCP_ESTABLISHED, FLOW_TCP_ESTABLISHED },
	[FLOW_TCP_SYN_SENT] = { FLOW_TCP_SYN_SENT, FLOW_TCP_SYN_SENT, FLOW_TCP_ESTABLISHED },
	[FLOW_TCP_ESTABLISHED] = { FLOW_TCP_ESTABLISHED, FLOW_TCP_ESTABLISHED,
				   FLOW_TCP_ESTABLISHED },
	[FLOW_TCP_CLOSING] = { FLOW_TCP_SYN_SENT, FLOW_TCP_CLOSING, FLOW_TCP_CLOSING },
	[FLOW_TCP_CLOSE] = { FLOW_TCP_SYN_SENT, FLOW_TCP_CLOSE, FLOW_TCP_CLOSE },
};

static uint64_t model_timeout(const struct model *m, const struct mflow *f)
{
	const struct flow_timeouts *to = m->to;
	const uint64_t s = MODEL_NS_PER_S;

	switch (f->state) {
	case FLOW_TCP_NEW:
	case FLOW_TCP_SYN_SENT:
		return to->tcp_syn_sent * s;
	case FLOW_TCP_ESTABLISHED:
		return (f->replied ? to->tcp_established : to->tcp_unacknowledged) * s;
	case FLOW_TCP_CLOSING:
		return to->tcp_closing * s;
	case FLOW_TCP_CLOSE:
		return to->tcp_close * s;
	case FLOW_UDP_UNREPLIED:
		return to->udp_unreplied * s;
	case FLOW_UDP_REPLIED:
		return to->udp_replied * s;
	case FLOW_ICMP:
		return to->icmp * s;
	default:
		return to->generic * s;
	}
}

static int model_initial(const struct flow_key *k)
{
	if (k->proto == IPPROTO_TCP)
		return k->sport == 0 && k->dport == 0 ? FLOW_UDP_UNREPLIED : FLOW_TCP_NEW;
	if (k->proto == IPPROTO_UDP || k->proto == IPPROTO_UDPLITE)
		return FLOW_UDP_UNREPLIED;
	if (k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6)
		return FLOW_ICMP;
	return FLOW_GENERIC;
}

static void model_account(struct model *m, struct mflow *f, bool reply, uint8_t flags,
			  bool related, uint32_t bytes)
{
	f->packets[reply]++;
	f->bytes[reply] += bytes;
	f->last = m->now;
	if (related)
		return;
	if (f->state >= FLOW_TCP_NEW && f->state <= FLOW_TCP_CLOSE) {
		bool lone_syn = (flags & (FLOW_TCP_SYN | FLOW_TCP_ACK)) == FLOW_TCP_SYN;
		int ev = reply ? EV_REPLY : lone_syn ? EV_ORIG_SYN : EV_ORIG_OTHER;
		int next = tcp_next[f->state][ev];

		if (flags & FLOW_TCP_RST) {
			next = FLOW_TCP_CLOSE;
		} else {
			/* A reopening waits for a reply again. */
			if (next == FLOW_TCP_SYN_SENT && f->state != FLOW_TCP_NEW)
				f->replied = false;
			if ((flags & FLOW_TCP_FIN) && next != FLOW_TCP_CLOSE)
				next = FLOW_TCP_CLOSING;
		}
		f->state = next;
	} else if (f->state == FLOW_UDP_UNREPLIED && reply) {
		f->state = FLOW_UDP_REPLIED;
	}
	if (reply)
		f->replied = true;
	f->deadline = m->now + model_timeout(m, f);
}

static bool mdead(const struct model *m, const struct mflow *f)
{
	return m->now >= f->deadline;
}

/* The model's flow for k either way, or NULL; *reply as the table should say. */
static struct mflow *model_find(struct model *m, const struct flow_key *k, bool *reply)
{
	struct flow_key r;

	flow_key_reverse(&r, k);
	for (unsigned int i = 0; i < m->n; i++) {
		if (key_eq(&m->f[i].key, k)) {
			*reply = false;
			return &m->f[i];
		}
		if (key_eq(&m->f[i].key, &r)) {
			*reply = true;
			return &m->f[i];
		}
	}
	return NULL;
}

static void model_drop(struct model *m, struct mflow *f)
{
	*f = m->f[--m->n];
}

/* Takes mf out of the model as the table should report it. */
static struct mend model_end(struct model *m, struct mflow *mf, enum flow_end why)
{
	struct mend e = { mf->tf, mf->key, why };

	if (why == FLOW_END_EXPIRED)
		m->expired++;
	else
		m->evicted++;
	model_drop(m, mf);
	return e;
}

static unsigned int bucket_of(const struct mflow *f)
{
	return f->tf->slot / FLOW_BUCKET_SLOTS;
}

/* The model flow in bucket b with the soonest deadline, first by slot; best if none is sooner. */
static struct mflow *soonest_in(struct model *m, uint32_t b, struct mflow *best)
{
	for (unsigned int s = 0; s < FLOW_BUCKET_SLOTS; s++)
		for (unsigned int i = 0; i < m->n; i++)
			if (m->f[i].tf->slot == b * FLOW_BUCKET_SLOTS + s &&
			    (!best || m->f[i].deadline < best->deadline))
				best = &m->f[i];
	return best;
}

static unsigned int used_in(const struct model *m, uint32_t b)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < m->n; i++)
		n += bucket_of(&m->f[i]) == b;
	return n;
}

/* The table's end hook: records what it reports for the checks after the call. */
static void model_on_end(void *arg, const struct flow *f, enum flow_end why)
{
	struct model *m = arg;

	MODEL_CHECK(m, m->ngot <= m->max, "end hook: %u ends in one call", m->ngot + 1);
	if (m->ngot <= m->max) {
		m->got[m->ngot].f = f;
		m->got[m->ngot].key = f->key;
		m->got[m->ngot].why = why;
	}
	m->ngot++;
}

/* The ends the table reported during the last call are exactly want[0..nwant). */
static void expect_ends(struct model *m, const char *what, const struct mend *want,
			unsigned int nwant)
{
	MODEL_CHECK(m, m->ngot == nwant, "%s: %u ends, the model expected %u", what, m->ngot,
		    nwant);
	for (unsigned int i = 0; i < nwant && i < m->ngot; i++)
		MODEL_CHECK(m, m->got[i].f == want[i].f && key_eq(&m->got[i].key, &want[i].key) &&
			    m->got[i].why == want[i].why, "%s: end %u", what, i);
	m->ngot = 0;
}

/* ---- Operations, each one call into the table checked against the model ---- */

/* flow_lookup: the table's flow (and *reply) when the model has a live one, else NULL. */
static struct flow *m_lookup(struct flow_table *t, struct model *m, const struct flow_key *k,
			     bool *reply)
{
	bool mreply = false;
	struct mflow *mf = model_find(m, k, &mreply);
	struct flow *f;

	*reply = false;
	f = flow_lookup(t, k, m->now, reply);
	if (mf && mdead(m, mf)) {
		struct mend e = model_end(m, mf, FLOW_END_EXPIRED);

		MODEL_CHECK(m, f == NULL, "lookup of a dead flow");
		expect_ends(m, "lookup", &e, 1);
		return NULL;
	}
	if (!mf) {
		MODEL_CHECK(m, f == NULL, "lookup of an absent key");
		expect_ends(m, "lookup", NULL, 0);
		return NULL;
	}
	MODEL_CHECK(m, f == mf->tf && *reply == mreply, "lookup: %p want %p, reply %d want %d",
		    (void *)f, (void *)mf->tf, *reply, mreply);
	expect_ends(m, "lookup", NULL, 0);
	return f == mf->tf ? f : NULL;
}

/*
 * flow_create: the model's new flow (its tf the table's), or NULL when the key is live (or the
 * table failed). The caller sets peer and verdict on both if it wants.
 */
static struct mflow *m_create(struct flow_table *t, struct model *m, const struct flow_key *k)
{
	struct mend want[2];
	unsigned int nwant = 0, used0, used1, nb, slot;
	uint32_t b[2], bi;
	bool mreply;
	struct mflow *mf = model_find(m, k, &mreply), *victim = NULL;
	struct flow *f;

	flow_table_buckets(t, k, b);
	nb = b[0] == b[1] ? 1 : 2;
	if (mf && !mdead(m, mf)) {
		f = flow_create(t, k, m->now);
		MODEL_CHECK(m, f == NULL, "create of a live key");
		expect_ends(m, "create (exists)", NULL, 0);
		return NULL;
	}
	/* Predict: the dead flow of the same key goes, then a victim if there is no room. */
	if (mf)
		want[nwant++] = model_end(m, mf, FLOW_END_EXPIRED);
	used0 = used_in(m, b[0]);
	used1 = nb == 2 ? used_in(m, b[1]) : FLOW_BUCKET_SLOTS;
	if (m->n == m->max || (used0 == FLOW_BUCKET_SLOTS && used1 == FLOW_BUCKET_SLOTS)) {
		for (unsigned int i = 0; i < nb; i++)
			victim = soonest_in(m, b[i], victim);
		m->room_bucket += m->n < m->max;
		m->room_far += !victim;
		for (uint32_t j = b[0]; !victim;) {
			j = j + 1 == m->nbuckets ? 0 : j + 1;
			victim = soonest_in(m, j, NULL);
		}
		want[nwant++] = model_end(m, victim, mdead(m, victim) ? FLOW_END_EXPIRED :
									FLOW_END_EVICTED);
	}
	f = flow_create(t, k, m->now);
	MODEL_CHECK(m, f != NULL, "create");
	expect_ends(m, "create", want, nwant);
	if (!f)
		return NULL;
	/* Where it must be: the first bucket while it has room to spare, else the emptier
	 * (the first on a tie); the first free slot there. */
	used0 = used_in(m, b[0]);
	used1 = nb == 2 ? used_in(m, b[1]) : FLOW_BUCKET_SLOTS;
	bi = used0 < FLOW_BUCKET_PREFER || used0 <= used1 ? b[0] : b[1];
	for (slot = 0; slot < FLOW_BUCKET_SLOTS; slot++) {
		bool taken = false;

		for (unsigned int i = 0; i < m->n; i++)
			taken |= m->f[i].tf->slot == bi * FLOW_BUCKET_SLOTS + slot;
		if (!taken)
			break;
	}
	MODEL_CHECK(m, slot < FLOW_BUCKET_SLOTS && f->slot == bi * FLOW_BUCKET_SLOTS + slot,
		    "placed at %u, the model says %u", f->slot, bi * FLOW_BUCKET_SLOTS + slot);
	mf = &m->f[m->n++];
	memset(mf, 0, sizeof(*mf));
	mf->key = *k;
	mf->tf = f;
	mf->state = model_initial(k);
	mf->created = mf->last = m->now;
	mf->deadline = m->now + model_timeout(m, mf);
	m->created++;
	return mf;
}

/* A lookup as m_lookup, then flow_account on what it found (if anything). */
static void m_account(struct flow_table *t, struct model *m, const struct flow_key *k,
		      const struct flow_pkt *info, uint32_t bytes)
{
	bool reply = false, mreply = false;
	struct flow *f = m_lookup(t, m, k, &reply);
	struct mflow *mf;

	if (!f)
		return;
	mf = model_find(m, k, &mreply);
	flow_account(t, f, reply, info, bytes, m->now);
	model_account(m, mf, mreply, info->tcp_flags, info->flags & FLOW_PKT_RELATED, bytes);
}

static void m_expire(struct flow_table *t, struct model *m, unsigned int budget)
{
	unsigned int freed = flow_expire(t, m->now, budget), ends = m->ngot;

	MODEL_CHECK(m, freed == ends && freed <= budget, "expire: %u freed, %u ends, budget %u",
		    freed, ends, budget);
	for (unsigned int i = 0; i < ends && i <= m->max; i++) {
		struct mflow *mf = NULL;

		for (unsigned int j = 0; j < m->n; j++)
			if (m->f[j].tf == m->got[i].f)
				mf = &m->f[j];
		MODEL_CHECK(m, mf && mdead(m, mf) && m->got[i].why == FLOW_END_EXPIRED &&
			    key_eq(&mf->key, &m->got[i].key), "expire: a flow the model has, dead");
		if (mf)
			model_end(m, mf, FLOW_END_EXPIRED);
	}
	m->ngot = 0;
	if (budget >= m->max)
		for (unsigned int j = 0; j < m->n; j++)
			MODEL_CHECK(m, !mdead(m, &m->f[j]), "a whole sweep leaves no dead flow");
}

/* Most bytes first, then the lower key. */
static int top_cmp(const void *a, const void *b)
{
	const struct mflow *x = *(struct mflow *const *)a, *y = *(struct mflow *const *)b;
	uint64_t bx = x->bytes[0] + x->bytes[1], by = y->bytes[0] + y->bytes[1];

	if (bx != by)
		return bx > by ? -1 : 1;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}

/* flow_top against a sort of the model's live flows. */
static void m_top(const struct flow_table *t, struct model *m, uint32_t peer, unsigned int n)
{
	struct mflow **sorted = malloc((m->n + 1) * sizeof(*sorted));
	struct flow_info *out = malloc((n + 1) * sizeof(*out));
	unsigned int have = 0, got;

	if (!sorted || !out)
		abort();
	for (unsigned int i = 0; i < m->n; i++)
		if (!mdead(m, &m->f[i]) && (peer == FLOW_PEER_ANY || m->f[i].peer == peer))
			sorted[have++] = &m->f[i];
	qsort(sorted, have, sizeof(*sorted), top_cmp);
	got = flow_top(t, peer, m->now, out, n);
	MODEL_CHECK(m, got == (have < n ? have : n), "top: %u flows, the model has %u", got, have);
	for (unsigned int i = 0; i < got && i < have; i++)
		MODEL_CHECK(m, key_eq(&out[i].key, &sorted[i]->key) &&
			    out[i].bytes[0] == sorted[i]->bytes[0] &&
			    out[i].bytes[1] == sorted[i]->bytes[1] &&
			    out[i].packets[0] == sorted[i]->packets[0] &&
			    out[i].packets[1] == sorted[i]->packets[1] &&
			    out[i].peer == sorted[i]->peer, "top: entry %u", i);
	free(sorted);
	free(out);
}

/* Every flow of the model is in the table as the model has it, and the table has no other. */
static void m_compare(const struct flow_table *t, struct model *m)
{
	struct flow_stats st;

	flow_table_stats(t, &st);
	MODEL_CHECK(m, st.in_use == m->n && st.created == m->created &&
		    st.expired == m->expired && st.evicted == m->evicted &&
		    st.max_flows == m->max, "stats: in use %llu/%u created %llu/%llu expired "
		    "%llu/%llu evicted %llu/%llu max %llu/%u", (unsigned long long)st.in_use, m->n,
		    (unsigned long long)st.created, (unsigned long long)m->created,
		    (unsigned long long)st.expired, (unsigned long long)m->expired,
		    (unsigned long long)st.evicted, (unsigned long long)m->evicted,
		    (unsigned long long)st.max_flows, m->max);
	for (unsigned int i = 0; i < m->n; i++) {
		const struct mflow *mf = &m->f[i];
		const struct flow *f = mf->tf;

		MODEL_CHECK(m, f->state == mf->state && f->replied == mf->replied &&
			    key_eq(&f->key, &mf->key) && f->deadline_ns == mf->deadline &&
			    f->created_ns == mf->created && f->last_ns == mf->last &&
			    f->packets[0] == mf->packets[0] && f->packets[1] == mf->packets[1] &&
			    f->bytes[0] == mf->bytes[0] && f->bytes[1] == mf->bytes[1] &&
			    f->peer == mf->peer && f->verdict == mf->verdict,
			    "flow %u: state %d/%d replied %d/%d deadline %llu/%llu", i, f->state,
			    mf->state, f->replied, mf->replied, (unsigned long long)f->deadline_ns,
			    (unsigned long long)mf->deadline);
		/* Two model flows on one table flow would share its slot too. */
		MODEL_CHECK(m, f->slot < m->nbuckets * FLOW_BUCKET_SLOTS && !m->slot_seen[f->slot],
			    "two flows in slot %u", f->slot);
		if (f->slot < m->nbuckets * FLOW_BUCKET_SLOTS)
			m->slot_seen[f->slot] = true;
	}
	for (unsigned int i = 0; i < m->n; i++)
		if (m->f[i].tf->slot < m->nbuckets * FLOW_BUCKET_SLOTS)
			m->slot_seen[m->f[i].tf->slot] = false;
}

#endif
