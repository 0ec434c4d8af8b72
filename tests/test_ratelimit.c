/* SPDX-License-Identifier: MIT */
/*
 * The handshake rate limiter on a fake clock: the burst/refill schedule (the idea of Linux
 * WireGuard's ratelimiter self-test, without its sleeping), sources and /64s, gc, the full table,
 * and a differential test against a naive per-source model.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"
#include "ratelimit.h"

#define MS 1000000ULL
#define S (1000 * MS)
#define COST (S / RATELIMIT_PACKETS_PER_SECOND)

static const uint8_t secret[RATELIMIT_SECRET_LEN] = "0123456789abcdef";

static void v4(uint8_t a[4], uint32_t x)
{
	a[0] = (uint8_t)(x >> 24);
	a[1] = (uint8_t)(x >> 16);
	a[2] = (uint8_t)(x >> 8);
	a[3] = (uint8_t)x;
}

/* An IPv6 address from its /64 and its interface identifier. */
static void v6(uint8_t a[16], uint64_t prefix, uint64_t iid)
{
	for (int i = 0; i < 8; i++) {
		a[i] = (uint8_t)(prefix >> (56 - 8 * i));
		a[8 + i] = (uint8_t)(iid >> (56 - 8 * i));
	}
}

/* Each step: the clock advances by `after`, then one message from the source being limited is
 * allowed or not. Alongside, a fresh IPv4 source and another /64 are always allowed, and a new
 * address in the limited /64 gets the limited source's verdict. */
static const struct {
	uint64_t after;
	bool allowed;
} schedule[] = {
	{ 0, true }, { 0, true }, { 0, true }, { 0, true }, { 0, true }, /* the burst */
	{ 0, false },
	{ COST, true },           /* one token back after 1/20 s */
	{ 0, false },
	{ COST - 1, false },      /* one nanosecond short */
	{ 1, true },
	{ 2 * COST, true },       /* two tokens back */
	{ 0, true },
	{ 0, false },
	{ 10 * COST, true },      /* long idle: still at most a burst */
	{ 0, true }, { 0, true }, { 0, true }, { 0, true },
	{ 0, false },
};

static void test_schedule(void)
{
	struct ratelimit rl;
	uint8_t a4[4], o4[4], a6[16], o6[16];
	uint64_t now = 12345 * S;

	CHECK(ratelimit_init(&rl, secret) == 0, "init");
	for (size_t i = 0; i < sizeof(schedule) / sizeof(schedule[0]); i++) {
		now += schedule[i].after;
		v4(a4, 0x0a000001);
		CHECK(ratelimit_allow(&rl, AF_INET, a4, now) == schedule[i].allowed, "v4 step %zu", i);
		v4(o4, 0x0a000002 + (uint32_t)i);
		CHECK(ratelimit_allow(&rl, AF_INET, o4, now), "other v4 source at step %zu", i);
		v6(a6, 0x20010db800000001ULL, 0x1000 + i); /* a new address, the same /64 */
		CHECK(ratelimit_allow(&rl, AF_INET6, a6, now) == schedule[i].allowed, "v6 step %zu", i);
		v6(o6, 0x20010db800000002ULL + i, 0x1000 + i);
		CHECK(ratelimit_allow(&rl, AF_INET6, o6, now), "other /64 at step %zu", i);
	}
	ratelimit_fini(&rl);
}

/* Addresses that must or must not share a bucket. */
static void test_sources(void)
{
	struct ratelimit rl;
	uint8_t a[16], b[16];
	uint64_t now = 5 * S;
	int i;

	CHECK(ratelimit_init(&rl, secret) == 0, "init");
	/* Exhaust 2001:db8:0:1::/64 from one address; all of its addresses are refused. */
	v6(a, 0x20010db800000001ULL, 1);
	for (i = 0; i < RATELIMIT_BURST; i++)
		CHECK(ratelimit_allow(&rl, AF_INET6, a, now), "burst %d", i);
	v6(b, 0x20010db800000001ULL, UINT64_MAX);
	CHECK(!ratelimit_allow(&rl, AF_INET6, b, now), "same /64, other iid");
	v6(b, 0x20010db800000000ULL, 1); /* differs in the last bit of the /64 */
	CHECK(ratelimit_allow(&rl, AF_INET6, b, now), "neighbouring /64");
	v6(b, 0xa0010db800000001ULL, 1); /* differs in the first bit */
	CHECK(ratelimit_allow(&rl, AF_INET6, b, now), "far /64");

	/* 0.0.0.0 and :: both have key 0 and must still be different sources. */
	memset(a, 0, sizeof(a));
	for (i = 0; i < RATELIMIT_BURST; i++)
		CHECK(ratelimit_allow(&rl, AF_INET, a, now), "v4 zero burst %d", i);
	CHECK(!ratelimit_allow(&rl, AF_INET, a, now), "v4 zero exhausted");
	CHECK(ratelimit_allow(&rl, AF_INET6, a, now), "v6 zero is another source");

	/* IPv4 sources that differ in one bit anywhere are independent. */
	for (int bit = 0; bit < 32; bit++) {
		v4(b, 1u << bit);
		for (i = 0; i < RATELIMIT_BURST; i++)
			CHECK(ratelimit_allow(&rl, AF_INET, b, now), "bit %d burst %d", bit, i);
		CHECK(!ratelimit_allow(&rl, AF_INET, b, now), "bit %d exhausted", bit);
	}
	CHECK(!ratelimit_allow(&rl, AF_UNSPEC, a, now), "unknown family");
	CHECK(!ratelimit_allow(&rl, 12345, a, now), "unknown family");

	/* A clock stepping back earns nothing, and does not confuse the bucket later. */
	v4(a, 0xc0000201);
	for (i = 0; i < RATELIMIT_BURST; i++)
		CHECK(ratelimit_allow(&rl, AF_INET, a, now), "burst %d", i);
	CHECK(!ratelimit_allow(&rl, AF_INET, a, now - 100 * MS), "time went back");
	CHECK(!ratelimit_allow(&rl, AF_INET, a, now + COST - 1), "short of a token");
	CHECK(ratelimit_allow(&rl, AF_INET, a, now + COST), "a token back");
	ratelimit_fini(&rl);
}

static void fill(struct ratelimit *rl, uint32_t base, uint32_t n, uint64_t now, const char *what)
{
	uint8_t a[4];
	uint32_t refused = 0;

	for (uint32_t i = 0; i < n; i++) {
		v4(a, base + i);
		refused += !ratelimit_allow(rl, AF_INET, a, now);
	}
	CHECK(refused == 0, "%s: %u of %u refused", what, refused, n);
}

/* Idle entries go away exactly after a second of idleness, and their bucket was full anyway. */
static void test_gc(void)
{
	struct ratelimit rl;
	uint8_t a[4];
	uint64_t t0 = 100 * S;

	CHECK(ratelimit_init(&rl, secret) == 0, "init");
	fill(&rl, 0x01000000, 1000, t0, "first");
	fill(&rl, 0x01000000, 500, t0 + 600 * MS, "refresh half");
	fill(&rl, 0x02000000, 300, t0 + 700 * MS, "second");
	CHECK(ratelimit_count(&rl) == 1300, "count %u", ratelimit_count(&rl));
	ratelimit_gc(&rl, t0 + S);
	CHECK(ratelimit_count(&rl) == 1300, "idle exactly 1 s stays: %u", ratelimit_count(&rl));
	ratelimit_gc(&rl, t0 + S + 1);
	CHECK(ratelimit_count(&rl) == 800, "idle 1 s + 1 ns goes: %u", ratelimit_count(&rl));
	ratelimit_gc(&rl, t0 + 1600 * MS + 1);
	CHECK(ratelimit_count(&rl) == 300, "after the refresh expired: %u", ratelimit_count(&rl));
	/* A reclaimed source starts again with a full burst. */
	v4(a, 0x01000000);
	for (int i = 0; i < RATELIMIT_BURST; i++)
		CHECK(ratelimit_allow(&rl, AF_INET, a, t0 + 2 * S), "fresh burst %d", i);
	CHECK(!ratelimit_allow(&rl, AF_INET, a, t0 + 2 * S), "fresh burst over");
	ratelimit_gc(&rl, t0 + 10 * S);
	CHECK(ratelimit_count(&rl) == 0, "all idle: %u", ratelimit_count(&rl));
	ratelimit_gc(&rl, t0 + 11 * S);
	CHECK(ratelimit_count(&rl) == 0, "gc of an empty table");
	ratelimit_fini(&rl);
}

/* A full table refuses new sources (fail closed), keeps serving the ones it has, and takes new
 * ones again once old ones expire, with or without an explicit gc. */
static void test_full(void)
{
	struct ratelimit rl;
	uint8_t a[4];
	uint64_t t0 = 7 * S;
	const uint32_t n = RATELIMIT_TABLE_SIZE;

	CHECK(ratelimit_init(&rl, secret) == 0, "init");
	fill(&rl, 0x0a000000, n, t0, "fill");
	CHECK(ratelimit_count(&rl) == n, "full: %u", ratelimit_count(&rl));
	for (uint32_t i = 0; i < 100; i++) {
		v4(a, 0x0b000000 + i);
		CHECK(!ratelimit_allow(&rl, AF_INET, a, t0 + i * MS), "new source %u refused", i);
	}
	/* An existing source: 4 tokens left + 100 ms of refill, capped at a burst. */
	v4(a, 0x0a000000 + n / 2);
	for (int i = 0; i < RATELIMIT_BURST; i++)
		CHECK(ratelimit_allow(&rl, AF_INET, a, t0 + 100 * MS), "existing %d", i);
	CHECK(!ratelimit_allow(&rl, AF_INET, a, t0 + 100 * MS), "existing still limited");
	ratelimit_gc(&rl, t0 + 500 * MS);
	CHECK(ratelimit_count(&rl) == n, "nothing idle yet: %u", ratelimit_count(&rl));

	/* Keep the first quarter alive; the rest expires at t0 + 1 s, except the source used at
	 * t0 + 100 ms. */
	fill(&rl, 0x0a000000, n / 4, t0 + 900 * MS, "keep alive");
	v4(a, 0x0b000000);
	CHECK(!ratelimit_allow(&rl, AF_INET, a, t0 + S), "nothing expired at exactly 1 s");
	/* No explicit gc: the refusal path reclaims by itself once entries can have expired. */
	fill(&rl, 0x0c000000, n - n / 4 - 1, t0 + S + 1, "reuse without gc");
	CHECK(ratelimit_count(&rl) == n, "full again: %u", ratelimit_count(&rl));
	v4(a, 0x0d000000);
	CHECK(!ratelimit_allow(&rl, AF_INET, a, t0 + S + 2), "full again refuses");
	v4(a, 0x0a000001);
	CHECK(ratelimit_allow(&rl, AF_INET, a, t0 + S + 2), "kept-alive source still served");

	/* Explicit gc after everything went idle, then the whole table is usable again. */
	ratelimit_gc(&rl, t0 + 3 * S);
	CHECK(ratelimit_count(&rl) == 0, "empty after gc: %u", ratelimit_count(&rl));
	fill(&rl, 0x0e000000, n, t0 + 3 * S, "refill after gc");
	v4(a, 0x0f000000);
	CHECK(!ratelimit_allow(&rl, AF_INET, a, t0 + 3 * S), "full once more");
	ratelimit_fini(&rl);
}

/* The naive model: per source index, present/last/tokens; live = present and idle <= 1 s. */
#define NSRC 12000
#define NV4 8000 /* sources below this are IPv4, the rest IPv6 /64s */

struct model_src {
	bool present;
	uint64_t last, tokens;
};

static bool model_allow(struct model_src *m, size_t s, uint64_t now)
{
	const uint64_t max = COST * RATELIMIT_BURST;
	size_t live = 0;

	if (m[s].present && now - m[s].last <= S) {
		m[s].tokens += now - m[s].last;
		if (m[s].tokens > max)
			m[s].tokens = max;
		m[s].last = now;
		if (m[s].tokens < COST)
			return false;
		m[s].tokens -= COST;
		return true;
	}
	for (size_t i = 0; i < NSRC; i++)
		live += m[i].present && now - m[i].last <= S;
	if (live >= RATELIMIT_TABLE_SIZE)
		return false;
	m[s].present = true;
	m[s].last = now;
	m[s].tokens = max - COST;
	return true;
}

static void test_random(uint64_t seed, unsigned long ops)
{
	struct model_src *m = calloc(NSRC, sizeof(*m));
	struct ratelimit rl;
	struct test_rng rng;
	uint64_t now = 3 * S;
	unsigned long bad = 0, allowed = 0, refused_new = 0;
	uint8_t a[16];

	printf("random: seed %llu, %lu ops\n", (unsigned long long)seed, ops);
	test_rng_seed(&rng, seed);
	CHECK(m && ratelimit_init(&rl, secret) == 0, "init");
	if (!m)
		return;
	for (unsigned long i = 0; i < ops; i++) {
		uint64_t r = test_rng_next(&rng);
		/* Mostly any source (enough to fill the table), else one of a small hot set (whose
		 * buckets run dry). */
		size_t s = (r & 3) ? (r >> 8) % NSRC : (r >> 8) % 64;
		bool want, got, was_live = m[s].present && now - m[s].last <= S;
		int family = s < NV4 ? AF_INET : AF_INET6;

		if (family == AF_INET)
			v4(a, 0xc6120000 + (uint32_t)s * 7);
		else
			v6(a, 0x2001000000000000ULL + (s - NV4) * 0x10000ULL, test_rng_next(&rng));
		want = model_allow(m, s, now);
		got = ratelimit_allow(&rl, family, a, now);
		allowed += want;
		refused_new += !want && !was_live;
		if (got != want && bad++ < 10)
			CHECK(got == want, "op %lu source %zu at %llu: %d want %d", i, s,
			      (unsigned long long)now, got, want);
		r = test_rng_next(&rng);
		if (r % 30000 == 0)
			now += S + r % (2 * S); /* a lull: everything may expire */
		else
			now += r % (60 * 1000); /* up to 60 us: about 33000 packets a second */
		if (r % 5000 == 1)
			ratelimit_gc(&rl, now);
	}
	printf("random: %lu allowed, %lu new sources refused\n", allowed, refused_new);
	CHECK(bad == 0, "%lu disagreements with the model", bad);
	CHECK(refused_new > 0 && allowed > ops / 4, "the mix exercised a full table");
	ratelimit_fini(&rl);
	free(m);
}

int main(void)
{
	test_schedule();
	test_sources();
	test_gc();
	test_full();
	test_random(0xa11ce, 100000);
	return test_done("ratelimit");
}
