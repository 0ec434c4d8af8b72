/* SPDX-License-Identifier: MIT */
/*
 * Inner flow keys from packets, and the per-worker connection-tracking table; see flow.h.
 *
 * Layout: a bucket is one cache line of FLOW_BUCKET_SLOTS (signature, flow index) pairs; flows live
 * in a pool of exactly max_flows entries, two cache lines each, with a stack of free indices. A
 * flow remembers its slot, so freeing it touches its bucket and nothing else. Flows being in a pool
 * rather than in the buckets is what lets the buckets have twice the slots (cheaply: 8 bytes of
 * bucket per slot) and the pool no more flows than asked for.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "flow.h"

#define NS_PER_S 1000000000ULL
#define SLOTS FLOW_BUCKET_SLOTS

struct bucket {
	uint16_t sig[SLOTS]; /* 0: the slot is empty */
	uint32_t idx[SLOTS]; /* the flow's index in the pool */
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct bucket) == 64, "a bucket is one cache line");
_Static_assert(SLOTS * sizeof(uint16_t) == 16, "the signatures are one 128-bit vector");

struct flow_table {
	struct bucket *buckets;
	struct flow *flows;   /* the pool: max_flows entries, FLOW_FREE when not in use */
	uint32_t *free_idx;   /* a stack of the pool's free indices */
	uint32_t nfree;
	uint32_t nbuckets;
	uint32_t max_flows;
	uint32_t in_use;
	uint32_t cursor;      /* flow_expire's position in the pool */
	uint64_t key[8];      /* the hash's key, derived from the seed */
	struct {
		uint64_t syn_sent, established, unack, closing, close, udp, udp_stream, icmp,
			generic;
	} to;                 /* timeouts in nanoseconds */
	uint64_t created, expired, evicted;
	flow_end_fn *end_fn;
	void *end_arg;
};

/* ---- Keys from packets ---- */

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Where a parse writes, and whether it is in the packet an ICMP error quotes. */
struct parse {
	struct flow_key *k;
	struct flow_pkt *info;
	bool quoted;
};

static int parse_ip4(struct parse *c, const uint8_t *p, size_t len);
static int parse_ip6(struct parse *c, const uint8_t *p, size_t len);

/* The packet an ICMP error quotes: its key as it travelled. Never an error about an error. */
static int quoted(struct parse *c, const uint8_t *p, size_t len, int family)
{
	if (c->quoted)
		return -EINVAL;
	c->quoted = true;
	c->info->flags |= FLOW_PKT_RELATED;
	return family == AF_INET ? parse_ip4(c, p, len) : parse_ip6(c, p, len);
}

/* ICMP or ICMPv6 (is6), whose 8-byte header the caller checked is there. */
static int icmp(struct parse *c, const uint8_t *l4, size_t avail, bool is6)
{
	uint8_t type = l4[0];
	bool query, error;

	if (!c->quoted) {
		c->info->icmp_type = type;
		c->info->icmp_code = l4[1];
	}
	if (is6) {
		query = type == 128 || type == 129; /* echo request, reply */
		error = type < 128;                 /* RFC 4443 2.1: 0-127 are errors */
		if (error && !c->quoted && (type < 1 || type > 4))
			return 0; /* unassigned or private: not tracked as related */
	} else {
		query = type == 0 || type == 8 || (type >= 13 && type <= 18);
		error = type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
	}
	if (query) {
		/* Both ends hold the identifier: a reply's reversed key is its query's. */
		c->k->sport = c->k->dport = be16(l4 + 4);
		return 0;
	}
	if (error)
		return quoted(c, l4 + 8, avail - 8, is6 ? AF_INET6 : AF_INET);
	return 0;
}

/*
 * The upper-layer header at l4, avail bytes of it, for the protocol already in the key. A packet
 * of our own must hold the fixed header whole; a quoted one only its first 8 bytes, all that an
 * ICMP error is sure to carry (RFC 792) and all that the key needs.
 */
static int upper(struct parse *c, const uint8_t *l4, size_t avail)
{
	struct flow_key *k = c->k;
	size_t need;

	switch (k->proto) {
	case IPPROTO_TCP:
		need = 20;
		break;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		need = 8;
		break;
	case IPPROTO_SCTP: /* the common header */
	case IPPROTO_DCCP: /* the generic header without extended sequence numbers */
		need = 12;
		break;
	case IPPROTO_ICMP:
		if (k->family != AF_INET)
			return 0; /* ICMP over IPv6 is no ICMP: a plain 3-tuple */
		need = 8;
		break;
	case IPPROTO_ICMPV6:
		if (k->family != AF_INET6)
			return 0;
		need = 8;
		break;
	default:
		return 0;
	}
	if (c->quoted)
		need = 8;
	if (avail < need)
		return -EINVAL;
	if (k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6)
		return icmp(c, l4, avail, k->proto == IPPROTO_ICMPV6);
	k->sport = be16(l4);
	k->dport = be16(l4 + 2);
	if (k->proto == IPPROTO_TCP && !c->quoted) {
		size_t doff = (l4[12] >> 4) * 4u;

		if (doff < 20 || doff > avail)
			return -EINVAL;
		c->info->tcp_flags =
			l4[13] & (FLOW_TCP_FIN | FLOW_TCP_SYN | FLOW_TCP_RST | FLOW_TCP_ACK);
	}
	return 0;
}

static int parse_ip4(struct parse *c, const uint8_t *p, size_t len)
{
	struct flow_key *k = c->k;
	size_t hl, tot;

	if (len < 20 || p[0] >> 4 != 4)
		return -EINVAL;
	hl = (p[0] & 0xf) * 4u;
	tot = be16(p + 2);
	if (hl < 20 || hl > len || tot < hl)
		return -EINVAL;
	if (tot > len) {
		if (!c->quoted)
			return -EINVAL;
		tot = len; /* a quoted packet is cut short by design */
	}
	memset(k, 0, sizeof(*k));
	memcpy(k->src, p + 12, 4);
	memcpy(k->dst, p + 16, 4);
	k->proto = p[9];
	k->family = AF_INET;
	if (!c->quoted) {
		c->info->len = (uint32_t)tot;
		c->info->l4_off = (uint16_t)hl;
	}
	if (be16(p + 6) & 0x3fff) { /* MF or an offset: a fragment, first or not */
		c->info->flags |= FLOW_PKT_FRAGMENT;
		return 0;
	}
	return upper(c, p + hl, tot - hl);
}

/*
 * IPv6: the extension headers are walked to the upper layer. Hop-by-hop options only right after
 * the fixed header (RFC 8200 4.1), at most FLOW_MAX_EXTHDRS headers in all (a real chain has a few;
 * a long one only costs time). ESP and "no next header" end the walk as upper layers without ports.
 */
static int parse_ip6(struct parse *c, const uint8_t *p, size_t len)
{
	struct flow_key *k = c->k;
	size_t end, off = 40, hl;
	unsigned int n = 0;
	uint8_t nh;

	if (len < 40 || p[0] >> 4 != 6)
		return -EINVAL;
	end = 40 + (size_t)be16(p + 4);
	if (end > len) {
		if (!c->quoted)
			return -EINVAL;
		end = len;
	}
	memset(k, 0, sizeof(*k));
	memcpy(k->src, p + 8, 16);
	memcpy(k->dst, p + 24, 16);
	k->family = AF_INET6;
	if (!c->quoted)
		c->info->len = (uint32_t)end;
	for (nh = p[6];; nh = p[off], off += hl) {
		switch (nh) {
		case IPPROTO_HOPOPTS:
			if (off != 40)
				return -EINVAL;
			/* fallthrough */
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (end - off < 8)
				return -EINVAL;
			hl = (p[off + 1] + 1u) * 8;
			break;
		case IPPROTO_AH: /* its length is in 4-byte units, less 2 (RFC 4302 2.2) */
			if (end - off < 12)
				return -EINVAL;
			hl = (p[off + 1] + 2u) * 4;
			if (hl < 12)
				return -EINVAL;
			break;
		case IPPROTO_FRAGMENT:
			if (end - off < 8)
				return -EINVAL;
			/* Offset 0 and no more fragments: an atomic fragment (RFC 6946), whole. */
			if (be16(p + off + 2) & 0xfff9) {
				/* What follows the fragment header: the same in every fragment. */
				k->proto = p[off];
				c->info->flags |= FLOW_PKT_FRAGMENT;
				if (!c->quoted)
					c->info->l4_off = (uint16_t)(off + 8);
				return 0;
			}
			hl = 8;
			break;
		default:
			k->proto = nh;
			if (!c->quoted)
				c->info->l4_off = (uint16_t)off;
			return upper(c, p + off, end - off);
		}
		if (++n > FLOW_MAX_EXTHDRS || hl > end - off)
			return -EINVAL;
	}
}

int flow_key_from_packet(const uint8_t *pkt, size_t len, struct flow_key *k, struct flow_pkt *info)
{
	struct parse c = { k, info, false };

	memset(info, 0, sizeof(*info));
	if (len < 1)
		return -EINVAL;
	switch (pkt[0] >> 4) {
	case 4:
		return parse_ip4(&c, pkt, len);
	case 6:
		return parse_ip6(&c, pkt, len);
	default:
		return -EINVAL;
	}
}

/* ---- The table ---- */

/*
 * The hash: 64x64->128-bit multiplies folded to 64 bits (as wyhash does), over the five words
 * of the key in its canonical orientation, each XORed with a word of the table's secret key:
 * four multiplies. SipHash would be a PRF, but costs three times as much on every packet
 * (libsodium's SipHash-2-4 of 40 bytes: 30 ns; this hash with the orientation chosen: 11 ns, on
 * the 2.3 GHz machine this was written on), and what we defend against is weaker: LAN hosts
 * choosing 5-tuples blind to aim them at one bucket. Without the 512-bit key they cannot, and a
 * flood that did land in two buckets would cost only the flows there (see the eviction rule).
 */
static inline uint64_t mum(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* x in [0, 2^32) scaled to [0, n) with a multiply (Lemire), so n need not be a power of two. */
static inline uint32_t scale(uint32_t x, uint32_t n)
{
	return (uint32_t)(((uint64_t)x * n) >> 32);
}

static inline uint64_t pick(uint64_t mask, uint64_t if_set, uint64_t if_clear)
{
	return (if_set & mask) | (if_clear & ~mask);
}

/*
 * A key as five words, both ways round: what a lookup hashes and compares. Loaded once; the
 * choices between the two orientations are masks rather than branches, since which way a packet
 * goes is a coin toss to the branch predictor.
 */
struct probe {
	uint64_t s0, s1, d0, d1; /* source and destination addresses */
	uint64_t tail, tail_rev; /* ports, protocol, family, padding; with the ports swapped */
	uint32_t b[2];
	unsigned int nb;         /* 1 when both choices are the same bucket (a one-bucket table) */
	uint16_t sig;
	bool krev;               /* the key is the canonical key reversed */
};

/*
 * The canonical orientation has the lower source, in an order of our own (the address's two
 * words as integers, then the ports): any total order that a reversal flips will do, and this
 * one is a few compares of words already loaded for the hash.
 */
static inline void probe_init(const struct flow_table *t, const struct flow_key *k,
			      struct probe *p)
{
	const uint8_t *w = (const uint8_t *)k;
	uint8_t rev[8];
	uint64_t m, a, b, c, h;

	p->s0 = load64(w);
	p->s1 = load64(w + 8);
	p->d0 = load64(w + 16);
	p->d1 = load64(w + 24);
	p->tail = load64(w + 32);
	memcpy(rev, &k->dport, 2);
	memcpy(rev + 2, &k->sport, 2);
	memcpy(rev + 4, w + 36, 4); /* protocol, family, padding */
	p->tail_rev = load64(rev);
	p->krev = (p->s0 > p->d0) |
		  ((p->s0 == p->d0) &
		   ((p->s1 > p->d1) | ((p->s1 == p->d1) & (k->sport > k->dport))));
	m = -(uint64_t)p->krev;
	a = mum(pick(m, p->d0, p->s0) ^ t->key[0], pick(m, p->d1, p->s1) ^ t->key[1]);
	b = mum(pick(m, p->s0, p->d0) ^ t->key[2], pick(m, p->s1, p->d1) ^ t->key[3]);
	c = mum(pick(m, p->tail_rev, p->tail) ^ t->key[4], t->key[5]);
	h = mum(a ^ t->key[6], b ^ c ^ t->key[7]);
	/* Bucket choices from the high bits of each half, the signature from the low 16. */
	p->b[0] = scale((uint32_t)(h >> 32), t->nbuckets);
	p->b[1] = scale((uint32_t)h, t->nbuckets);
	if (p->b[1] == p->b[0])
		p->b[1] = p->b[0] + 1 == t->nbuckets ? 0 : p->b[0] + 1;
	p->nb = p->b[1] == p->b[0] ? 1 : 2;
	p->sig = (uint16_t)h ? (uint16_t)h : 1;
}

/* f's key is the probed key, or (rev) the probed key reversed. */
static inline bool probe_match(const struct probe *p, const struct flow *f, bool rev)
{
	const uint8_t *x = (const uint8_t *)&f->key;
	uint64_t m = -(uint64_t)rev;

	return !((load64(x) ^ pick(m, p->d0, p->s0)) | (load64(x + 8) ^ pick(m, p->d1, p->s1)) |
		 (load64(x + 16) ^ pick(m, p->s0, p->d0)) |
		 (load64(x + 24) ^ pick(m, p->s1, p->d1)) |
		 (load64(x + 32) ^ pick(m, p->tail_rev, p->tail)));
}

/*
 * Bit 2s set for each slot s of b whose signature is sig, found without a branch per slot (which
 * slot matches is anyone's guess): on x86 one vector compare, whose byte mask has two bits a slot.
 */
static inline unsigned int sig_mask(const struct bucket *b, uint16_t sig)
{
#ifdef __SSE2__
	__m128i eq = _mm_cmpeq_epi16(_mm_load_si128((const __m128i *)b->sig),
				     _mm_set1_epi16((short)sig));

	return (unsigned int)_mm_movemask_epi8(eq) & 0x5555;
#else
	unsigned int mask = 0;

	for (unsigned int s = 0; s < SLOTS; s++)
		mask |= (unsigned int)(b->sig[s] == sig) << (2 * s);
	return mask;
#endif
}

static inline struct flow *probe_find(struct flow_table *t, const struct probe *p, bool *reply)
{
	for (unsigned int i = 0; i < p->nb; i++) {
		const struct bucket *b = &t->buckets[p->b[i]];

		for (unsigned int mask = sig_mask(b, p->sig); mask; mask &= mask - 1) {
			struct flow *f = &t->flows[b->idx[__builtin_ctz(mask) / 2]];
			bool rev = f->orig_rev != p->krev;

			if (probe_match(p, f, rev)) {
				*reply = rev;
				return f;
			}
		}
	}
	return NULL;
}

static inline bool dead(const struct flow *f, uint64_t now_ns)
{
	return now_ns >= f->deadline_ns;
}

static unsigned int bucket_used(const struct bucket *b)
{
	unsigned int n = 0;

	for (unsigned int s = 0; s < SLOTS; s++)
		n += b->sig[s] != 0;
	return n;
}

static void release(struct flow_table *t, struct flow *f, enum flow_end why)
{
	if (t->end_fn)
		t->end_fn(t->end_arg, f, why);
	if (why == FLOW_END_EXPIRED)
		t->expired++;
	else
		t->evicted++;
	t->buckets[f->slot / SLOTS].sig[f->slot % SLOTS] = 0;
	f->state = FLOW_FREE;
	t->free_idx[t->nfree++] = (uint32_t)(f - t->flows);
	t->in_use--;
}

/* The flow in bucket b with the soonest deadline (the first such), or NULL when it is empty. */
static struct flow *soonest_in(struct flow_table *t, uint32_t b, struct flow *best)
{
	const struct bucket *bk = &t->buckets[b];

	for (unsigned int s = 0; s < SLOTS; s++) {
		struct flow *f;

		if (!bk->sig[s])
			continue;
		f = &t->flows[bk->idx[s]];
		if (!best || f->deadline_ns < best->deadline_ns)
			best = f;
	}
	return best;
}

/* Frees one flow for a new key whose buckets are full or whose table is: see flow.h. */
static void make_room(struct flow_table *t, const struct probe *p, uint64_t now_ns)
{
	struct flow *victim = NULL;

	for (unsigned int i = 0; i < p->nb; i++)
		victim = soonest_in(t, p->b[i], victim);
	/* The table is full and both buckets are empty: in_use > 0, so this ends. */
	for (uint32_t b = p->b[0]; !victim;) {
		b = b + 1 == t->nbuckets ? 0 : b + 1;
		victim = soonest_in(t, b, NULL);
	}
	release(t, victim, dead(victim, now_ns) ? FLOW_END_EXPIRED : FLOW_END_EVICTED);
}

static uint64_t timeout_of(const struct flow_table *t, const struct flow *f)
{
	switch (f->state) {
	case FLOW_TCP_NEW:
	case FLOW_TCP_SYN_SENT:
		return t->to.syn_sent;
	case FLOW_TCP_ESTABLISHED:
		return f->replied ? t->to.established : t->to.unack;
	case FLOW_TCP_CLOSING:
		return t->to.closing;
	case FLOW_TCP_CLOSE:
		return t->to.close;
	case FLOW_UDP_UNREPLIED:
		return t->to.udp;
	case FLOW_UDP_REPLIED:
		return t->to.udp_stream;
	case FLOW_ICMP:
		return t->to.icmp;
	default:
		return t->to.generic;
	}
}

static inline uint64_t deadline_after(uint64_t now_ns, uint64_t timeout_ns)
{
	return now_ns > UINT64_MAX - timeout_ns ? UINT64_MAX : now_ns + timeout_ns;
}

/* A TCP key has ports; a 3-tuple of TCP is fragments, which carry no flags to follow. */
static uint8_t initial_state(const struct flow_key *k)
{
	switch (k->proto) {
	case IPPROTO_TCP:
		return k->sport || k->dport ? FLOW_TCP_NEW : FLOW_UDP_UNREPLIED;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		return FLOW_UDP_UNREPLIED;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return FLOW_ICMP;
	default:
		return FLOW_GENERIC;
	}
}

struct flow *flow_lookup(struct flow_table *t, const struct flow_key *k, uint64_t now_ns,
			 bool *reply)
{
	struct probe p;
	struct flow *f;

	probe_init(t, k, &p);
	f = probe_find(t, &p, reply);
	if (f && dead(f, now_ns)) {
		release(t, f, FLOW_END_EXPIRED);
		return NULL;
	}
	return f;
}

struct flow *flow_create(struct flow_table *t, const struct flow_key *k, uint64_t now_ns)
{
	struct bucket *b;
	struct probe p;
	struct flow *f;
	unsigned int s, used0, used1;
	uint32_t bi, idx;
	bool reply;

	probe_init(t, k, &p);
	f = probe_find(t, &p, &reply);
	if (f) {
		if (!dead(f, now_ns))
			return NULL;
		release(t, f, FLOW_END_EXPIRED);
	}
	used0 = bucket_used(&t->buckets[p.b[0]]);
	used1 = p.nb == 2 ? bucket_used(&t->buckets[p.b[1]]) : SLOTS;
	if (t->in_use == t->max_flows || (used0 == SLOTS && used1 == SLOTS)) {
		make_room(t, &p, now_ns);
		used0 = bucket_used(&t->buckets[p.b[0]]);
		used1 = p.nb == 2 ? bucket_used(&t->buckets[p.b[1]]) : SLOTS;
	}
	bi = used0 < FLOW_BUCKET_PREFER || used0 <= used1 ? p.b[0] : p.b[1];
	b = &t->buckets[bi];
	for (s = 0; b->sig[s]; s++)
		;
	idx = t->free_idx[--t->nfree];
	f = &t->flows[idx];
	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->orig_rev = p.krev;
	f->slot = bi * SLOTS + s;
	f->state = initial_state(k);
	f->created_ns = now_ns;
	f->last_ns = now_ns;
	f->deadline_ns = deadline_after(now_ns, timeout_of(t, f));
	b->sig[s] = p.sig;
	b->idx[s] = idx;
	t->in_use++;
	t->created++;
	return f;
}

/* See the TCP block at the top of flow.h. */
static void tcp_track(struct flow *f, bool reply, uint8_t flags)
{
	bool lone_syn = (flags & (FLOW_TCP_SYN | FLOW_TCP_ACK)) == FLOW_TCP_SYN;

	if (flags & FLOW_TCP_RST) {
		f->state = FLOW_TCP_CLOSE;
		return;
	}
	switch (f->state) {
	case FLOW_TCP_NEW:
		f->state = !reply && lone_syn ? FLOW_TCP_SYN_SENT : FLOW_TCP_ESTABLISHED;
		break;
	case FLOW_TCP_SYN_SENT:
		if (reply)
			f->state = FLOW_TCP_ESTABLISHED;
		break;
	case FLOW_TCP_CLOSING:
	case FLOW_TCP_CLOSE:
		if (!reply && lone_syn) {
			f->state = FLOW_TCP_SYN_SENT;
			f->replied = 0;
		}
		break;
	default:
		break;
	}
	if ((flags & FLOW_TCP_FIN) && f->state != FLOW_TCP_CLOSE)
		f->state = FLOW_TCP_CLOSING;
}

void flow_account(struct flow_table *t, struct flow *f, bool reply, const struct flow_pkt *info,
		  uint32_t bytes, uint64_t now_ns)
{
	unsigned int dir = reply;

	f->packets[dir]++;
	f->bytes[dir] += bytes;
	f->last_ns = now_ns;
	if (info && (info->flags & FLOW_PKT_RELATED))
		return;
	if (f->state <= FLOW_TCP_CLOSE)
		tcp_track(f, reply, info ? info->tcp_flags : 0);
	else if (reply && f->state == FLOW_UDP_UNREPLIED)
		f->state = FLOW_UDP_REPLIED;
	if (reply)
		f->replied = 1;
	f->deadline_ns = deadline_after(now_ns, timeout_of(t, f));
}

unsigned int flow_expire(struct flow_table *t, uint64_t now_ns, unsigned int budget)
{
	unsigned int freed = 0;

	while (budget--) {
		struct flow *f = &t->flows[t->cursor];

		t->cursor = t->cursor + 1 == t->max_flows ? 0 : t->cursor + 1;
		if (f->state != FLOW_FREE && dead(f, now_ns)) {
			release(t, f, FLOW_END_EXPIRED);
			freed++;
		}
	}
	return freed;
}

/* SplitMix64: spreads one seed over the hash's eight key words. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct flow_table *flow_table_create(uint32_t max_flows, uint64_t seed,
				     const struct flow_timeouts *timeouts)
{
	struct flow_timeouts to = timeouts ? *timeouts : FLOW_TIMEOUTS_DEFAULT;
	struct flow_table *t;

	if (max_flows < 1 || max_flows > FLOW_MAX_FLOWS || !to.tcp_syn_sent ||
	    !to.tcp_established || !to.tcp_unacknowledged || !to.tcp_closing || !to.tcp_close ||
	    !to.udp_unreplied || !to.udp_replied || !to.icmp || !to.generic) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->max_flows = max_flows;
	/* Twice the slots of the flows: see "A new flow goes..." in flow.h. */
	t->nbuckets = (2 * max_flows + SLOTS - 1) / SLOTS;
	t->buckets = aligned_alloc(64, (size_t)t->nbuckets * sizeof(*t->buckets));
	t->flows = aligned_alloc(64, (size_t)max_flows * sizeof(*t->flows));
	t->free_idx = malloc((size_t)max_flows * sizeof(*t->free_idx));
	if (!t->buckets || !t->flows || !t->free_idx) {
		flow_table_destroy(t);
		errno = ENOMEM;
		return NULL;
	}
	memset(t->buckets, 0, (size_t)t->nbuckets * sizeof(*t->buckets));
	memset(t->flows, 0, (size_t)max_flows * sizeof(*t->flows));
	/* Popped in pool order, so a fresh table fills the pool from the start. */
	for (uint32_t i = 0; i < max_flows; i++)
		t->free_idx[i] = max_flows - 1 - i;
	t->nfree = max_flows;
	for (unsigned int i = 0; i < 8; i++)
		t->key[i] = splitmix64(&seed);
	t->to.syn_sent = to.tcp_syn_sent * NS_PER_S;
	t->to.established = to.tcp_established * NS_PER_S;
	t->to.unack = to.tcp_unacknowledged * NS_PER_S;
	t->to.closing = to.tcp_closing * NS_PER_S;
	t->to.close = to.tcp_close * NS_PER_S;
	t->to.udp = to.udp_unreplied * NS_PER_S;
	t->to.udp_stream = to.udp_replied * NS_PER_S;
	t->to.icmp = to.icmp * NS_PER_S;
	t->to.generic = to.generic * NS_PER_S;
	return t;
}

void flow_table_destroy(struct flow_table *t)
{
	if (!t)
		return;
	free(t->buckets);
	free(t->flows);
	free(t->free_idx);
	free(t);
}

void flow_table_on_end(struct flow_table *t, flow_end_fn *fn, void *arg)
{
	t->end_fn = fn;
	t->end_arg = arg;
}

void flow_table_stats(const struct flow_table *t, struct flow_stats *st)
{
	st->in_use = t->in_use;
	st->max_flows = t->max_flows;
	st->created = t->created;
	st->expired = t->expired;
	st->evicted = t->evicted;
}

/* flow_top's order: more bytes first, then the lower key. */
static bool ranks_before(uint64_t bytes, const struct flow_key *k, const struct flow_info *than)
{
	uint64_t other = than->bytes[0] + than->bytes[1];

	if (bytes != other)
		return bytes > other;
	return memcmp(k, &than->key, sizeof(*k)) < 0;
}

unsigned int flow_top(const struct flow_table *t, uint32_t peer, uint64_t now_ns,
		      struct flow_info *out, unsigned int n)
{
	unsigned int have = 0, pos;

	for (uint32_t i = 0; i < t->max_flows && n; i++) {
		const struct flow *f = &t->flows[i];
		uint64_t total = f->bytes[0] + f->bytes[1];

		if (f->state == FLOW_FREE || dead(f, now_ns))
			continue;
		if (peer != FLOW_PEER_ANY && f->peer != peer)
			continue;
		/* Insertion into the sorted out[]: n is small, and most flows fail this test. */
		if (have == n && !ranks_before(total, &f->key, &out[n - 1]))
			continue;
		pos = have < n ? have++ : n - 1;
		for (; pos > 0 && ranks_before(total, &f->key, &out[pos - 1]); pos--)
			out[pos] = out[pos - 1];
		out[pos] = (struct flow_info){
			.key = f->key,
			.packets = { f->packets[0], f->packets[1] },
			.bytes = { f->bytes[0], f->bytes[1] },
			.created_ns = f->created_ns,
			.last_ns = f->last_ns,
			.deadline_ns = f->deadline_ns,
			.verdict = f->verdict,
			.peer = f->peer,
			.state = f->state,
			.replied = f->replied,
		};
	}
	return have;
}

void flow_table_buckets(const struct flow_table *t, const struct flow_key *k, uint32_t b[2])
{
	struct probe p;

	probe_init(t, k, &p);
	b[0] = p.b[0];
	b[1] = p.b[1];
}

uint32_t flow_table_bucket_of(const struct flow_table *t, const struct flow *f)
{
	(void)t;
	return f->slot / SLOTS;
}
