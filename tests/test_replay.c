/* SPDX-License-Identifier: MIT */
/*
 * The anti-replay window: the edge cases Linux WireGuard's counter self-test covers (restated
 * here: small reorderings, the window boundary, far jumps, the reject limit, filling the window
 * upward and downward), then a differential test against a naive model over 1e6 random counters.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "replay.h"

#define W COUNTER_WINDOW_SIZE
#define LIM REJECT_AFTER_MESSAGES

static struct replay rp;
static unsigned int step;

/* One step of a scripted sequence: feed counter c, expect the verdict. */
static void expect(uint64_t c, bool want)
{
	bool got = replay_check(&rp, c, LIM);

	step++;
	CHECK(got == want, "step %u: counter %llu gave %d, want %d", step, (unsigned long long)c,
	      got, want);
}

static void reset(void)
{
	replay_init(&rp);
	step = 0;
}

static void test_table(void)
{
	const uint64_t top = W + 1; /* first counter that pushes 0 out of the window */

	reset();
	expect(0, true);
	expect(1, true);
	expect(1, false);                /* plain replay */
	expect(9, true);
	expect(8, true);                 /* reordered, inside the window */
	expect(7, true);
	expect(7, false);
	expect(top, true);               /* 0 is now exactly out of reach */
	expect(top - 1, true);
	expect(top - 1, false);
	expect(top - 2, true);
	expect(2, true);                 /* top - 2 = W - 1 above: still in */
	expect(2, false);
	expect(top + 16, true);          /* slides by 16: 3 falls out */
	expect(3, false);
	expect(top + 16, false);
	expect(top * 4, true);           /* far jump: the whole ring is cleared */
	expect(top * 4 - W, true);       /* the oldest counter still inside */
	expect(10, false);
	expect(top * 4 - W - 1, false);  /* one past the edge, never seen */
	expect(top * 4 - W - 2, false);
	expect(top * 4 - W + 1, true);
	expect(top * 4 - W - 1, false);
	expect(0, false);
	/* The reject limit: LIM itself is never valid, LIM - 1 is the last usable counter. */
	expect(LIM, false);
	expect(LIM - 1, true);
	expect(LIM, false);
	expect(LIM - 1, false);
	expect(LIM - 2, true);
	expect(LIM + 1, false);
	expect(LIM + 2, false);
	expect(UINT64_MAX, false);
	expect(LIM - 2, false);
	expect(LIM - 3, true);
	expect(LIM - 1 - W, true);       /* the window's bottom edge up at the limit */
	expect(LIM - 2 - W, false);
	expect(0, false);
}

/* A rejected counter leaves the window alone, even a huge one. */
static void test_reject_no_side_effect(void)
{
	reset();
	expect(5, true);
	expect(LIM, false);
	expect(UINT64_MAX, false);
	expect(4, true);
	expect(5, false);
	/* A caller-chosen limit: everything from it on is refused. */
	CHECK(replay_check(&rp, 99, 100), "below a custom limit");
	CHECK(!replay_check(&rp, 100, 100), "at a custom limit");
	CHECK(!replay_check(&rp, 6, 0), "limit 0 refuses all");
	/* The largest representable limit: UINT64_MAX - 1 is usable, without wrapping. */
	CHECK(replay_check(&rp, UINT64_MAX - 1, UINT64_MAX), "max counter");
	CHECK(!replay_check(&rp, UINT64_MAX - 1, UINT64_MAX), "max counter replayed");
	CHECK(replay_check(&rp, UINT64_MAX - 1 - W, UINT64_MAX), "max counter window edge");
	CHECK(!replay_check(&rp, UINT64_MAX - 2 - W, UINT64_MAX), "max counter past edge");
}

/* Filling the whole window in various orders; the "bulk" cases. */
static void test_bulk(void)
{
	/* Upward 1..W, then 0 is exactly at the edge (W below), once. */
	reset();
	for (uint64_t i = 1; i <= W; i++)
		expect(i, true);
	expect(0, true);
	expect(0, false);

	/* Upward 2..W+1: 1 is at the edge, 0 beyond it. */
	reset();
	for (uint64_t i = 2; i <= W + 1; i++)
		expect(i, true);
	expect(1, true);
	expect(0, false);

	/* Downward W..0: every one inside the window. */
	reset();
	for (uint64_t i = W + 1; i-- > 0;)
		expect(i, true);
	for (uint64_t i = 0; i <= W; i++)
		expect(i, false);

	/* Downward W+1..1: 0 is beyond the edge. */
	reset();
	for (uint64_t i = W + 2; i-- > 1;)
		expect(i, true);
	expect(0, false);

	/* Downward W..1, then forward by one: 0 is still unseen but now beyond the edge. */
	reset();
	for (uint64_t i = W + 1; i-- > 1;)
		expect(i, true);
	expect(W + 1, true);
	expect(0, false);

	/* Downward W..1, 0, then forward by one: fine. */
	reset();
	for (uint64_t i = W + 1; i-- > 1;)
		expect(i, true);
	expect(0, true);
	expect(W + 1, true);

	/* Slides by exactly the ring size and by one word at word boundaries. */
	reset();
	expect(63, true);
	expect(64, true);
	expect(63 + REPLAY_BITS_TOTAL, true);
	expect(63, false);
	expect(64 + REPLAY_BITS_TOTAL - W - 1, true);
	expect(64 + REPLAY_BITS_TOTAL - W - 2, false);
}

/* The naive model: a set of every accepted counter, and the highest. */
struct model {
	uint64_t *slot; /* open addressing, key + 1 stored so 0 = empty */
	size_t mask, n;
	uint64_t max;
	bool any;
};

static bool model_seen_or_add(struct model *m, uint64_t c, bool add)
{
	size_t i = (size_t)((c * 0x9e3779b97f4a7c15ULL) >> 20) & m->mask;

	for (; m->slot[i]; i = (i + 1) & m->mask)
		if (m->slot[i] == c + 1)
			return true;
	if (add) {
		m->slot[i] = c + 1;
		m->n++;
	}
	return false;
}

static bool model_check(struct model *m, uint64_t c, uint64_t limit)
{
	if (c >= limit)
		return false;
	if (m->any && c <= m->max && (m->max - c > W || model_seen_or_add(m, c, false)))
		return false;
	model_seen_or_add(m, c, true);
	if (!m->any || c > m->max)
		m->max = c;
	m->any = true;
	return true;
}

/* The next counter: mostly near the top (both sides of the window edge), sometimes far; near
 * the reject limit when near_limit. */
static uint64_t random_counter(struct test_rng *rng, uint64_t max, uint64_t limit, bool near_limit)
{
	uint64_t r = test_rng_next(rng), sel = r % 100, v = r >> 8;

	if (near_limit && sel < 10)
		return limit - v % 16;
	if (sel < 40)
		return max + v % 64;                        /* in order, small gaps */
	if (sel < 80)
		return max > v % (2 * W + 200) ? max - v % (2 * W + 200) : v % 8; /* late */
	if (sel < 90)
		return max + v % (3 * REPLAY_BITS_TOTAL);   /* jumps over a ring or more */
	return max > W + 8 ? max - W - 4 + v % 8 : v % 16; /* the edge */
}

/*
 * Epochs of EPOCH_OPS counters, each on a fresh window and model; the last NEAR_LIMIT_OPS of an
 * epoch also aim at the reject limit (and, after a jump there, stay near it).
 */
#define EPOCH_OPS 50000
#define NEAR_LIMIT_OPS 2000

static void test_random(uint64_t seed, uint64_t limit, unsigned long epochs)
{
	struct test_rng rng;
	struct model m = { 0 };
	unsigned long bad = 0, accepted = 0, at_limit = 0;

	printf("random: seed %llu, limit %llu, %lu ops\n", (unsigned long long)seed,
	       (unsigned long long)limit, epochs * EPOCH_OPS);
	test_rng_seed(&rng, seed);
	m.mask = (1u << 17) - 1; /* > 2 * EPOCH_OPS */
	m.slot = calloc(m.mask + 1, sizeof(*m.slot));
	CHECK(m.slot != NULL, "model alloc");
	if (!m.slot)
		return;
	for (unsigned long e = 0; e < epochs; e++) {
		memset(m.slot, 0, (m.mask + 1) * sizeof(*m.slot));
		m.n = 0;
		m.max = 0;
		m.any = false;
		replay_init(&rp);
		for (unsigned long i = 0; i < EPOCH_OPS; i++) {
			bool near = i >= EPOCH_OPS - NEAR_LIMIT_OPS;
			uint64_t c = random_counter(&rng, m.max, limit, near);
			bool want = model_check(&m, c, limit), got = replay_check(&rp, c, limit);

			accepted += want;
			at_limit += want && c >= limit - 16;
			if (got != want && bad++ < 10)
				CHECK(got == want, "epoch %lu op %lu: counter %llu gave %d want %d", e,
				      i, (unsigned long long)c, got, want);
		}
	}
	CHECK(bad == 0, "%lu disagreements with the model", bad);
	printf("random: accepted %lu, %lu just below the limit\n", accepted, at_limit);
	CHECK(accepted > epochs * EPOCH_OPS / 10, "accepted %lu", accepted);
	CHECK(at_limit >= epochs, "accepted %lu just below the limit", at_limit);
	free(m.slot);
}

int main(void)
{
	test_table();
	test_reject_no_side_effect();
	test_bulk();
	test_random(0x5eed0001, LIM, 20);
	/* A low limit, within reach of ordinary growth too. */
	test_random(0x5eed0002, 40000000, 4);
	/* The largest limit: counters up to UINT64_MAX - 1. */
	test_random(0x5eed0003, UINT64_MAX, 2);
	return test_done("replay");
}
