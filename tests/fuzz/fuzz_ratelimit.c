/* SPDX-License-Identifier: MIT */
/*
 * The handshake rate limiter on a stream of source addresses (spoofable: anyone can send a
 * handshake from anywhere) and clock steps, against the naive per-source model of
 * tests/test_ratelimit.c: a token bucket per source, and a new source refused while
 * RATELIMIT_TABLE_SIZE others are live (seen within the last second). Sources are indices into
 * NSRC addresses, IPv4 below NV4 and IPv6 /64s above, so that the fuzzer can repeat one, and fill
 * the table, in a few bytes. Per operation a u8, then by op & 3:
 *   0: one handshake from source u16 % NSRC (IPv6: interface id from a u8, same /64 whatever it is)
 *   1: the clock advances by u16 * 50 us (monotonic, as the caller's clock is)
 *   2: a flood: 1 + u8 * 16 consecutive sources from u16 % NSRC, all at this instant
 *   3: ratelimit_gc; afterwards the table holds exactly the live sources
 * An input stops after MAX_MESSAGES handshakes. The secret is fixed: which sources collide in the
 * table is part of the input's meaning.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "ratelimit.h"

#define S 1000000000ULL
#define COST (S / RATELIMIT_PACKETS_PER_SECOND)
#define NSRC 12000
#define NV4 8000
#define MAX_MESSAGES 20000 /* per input: enough to fill the table twice, and keeps runs quick */

struct model_src {
	bool present;
	uint64_t last, tokens;
};

struct model {
	struct model_src src[NSRC];
	uint32_t present;    /* sources present, live or not */
	uint64_t purged_at;  /* present == live at this instant (time only moves forward) */
};

static const uint8_t secret[RATELIMIT_SECRET_LEN] = "meshgate fuzzing";
static struct ratelimit table;
static struct model model;

/* One table for every input: allocating its 512 KiB anew each time costs more than the input. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(ratelimit_init(&table, secret) == 0);
	return 0;
}

static bool live(const struct model_src *s, uint64_t now)
{
	return s->present && now - s->last <= S;
}

/* Forgets the sources idle for more than a second: then present counts the live ones. */
static void model_purge(struct model *m, uint64_t now)
{
	for (size_t i = 0; i < NSRC; i++)
		if (m->src[i].present && !live(&m->src[i], now)) {
			m->src[i].present = false;
			m->present--;
		}
	m->purged_at = now;
}

static bool model_allow(struct model *m, size_t i, uint64_t now)
{
	struct model_src *s = &m->src[i];

	if (live(s, now)) {
		s->tokens += now - s->last;
		if (s->tokens > COST * RATELIMIT_BURST)
			s->tokens = COST * RATELIMIT_BURST;
		s->last = now;
		if (s->tokens < COST)
			return false;
		s->tokens -= COST;
		return true;
	}
	if (m->present >= RATELIMIT_TABLE_SIZE && m->purged_at != now)
		model_purge(m, now);
	if (m->present - s->present >= RATELIMIT_TABLE_SIZE)
		return false;
	m->present += !s->present;
	s->present = true;
	s->last = now;
	s->tokens = COST * RATELIMIT_BURST - COST;
	return true;
}

static void one(struct ratelimit *rl, struct model *m, size_t i, uint8_t iid, uint64_t now)
{
	uint8_t a[16];
	int family = i < NV4 ? AF_INET : AF_INET6;

	memset(a, iid, sizeof(a));
	a[0] = family == AF_INET ? 10 : 0x20;
	a[1] = family == AF_INET ? 0x77 : 0x01;
	a[2] = (uint8_t)(i >> 8);
	a[3] = (uint8_t)i;
	if (family == AF_INET6)
		memset(a + 4, 0, 4); /* the /64 is 2001:iiii::/64; iid fills the rest */
	FUZZ_CHECK(ratelimit_allow(rl, family, a, now) == model_allow(m, i, now));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct model *m = &model;
	uint64_t now = 3 * S;
	unsigned int messages = 0;

	/* A fresh start: a gc at the end of time finds every entry expired, which leaves the table
	 * as ratelimit_init made it (nothing tracked, nothing about past times remembered). */
	ratelimit_gc(&table, UINT64_MAX);
	FUZZ_CHECK(ratelimit_count(&table) == 0);
	memset(m, 0, sizeof(*m));
	while (fuzz_left(&in) && messages < MAX_MESSAGES) {
		uint8_t op = fuzz_u8(&in);

		switch (op & 3) {
		case 0: {
			size_t i = fuzz_u16(&in) % NSRC;

			one(&table, m, i, fuzz_u8(&in), now);
			messages++;
			break;
		}
		case 1:
			now += fuzz_u16(&in) * 50000ULL;
			break;
		case 2: {
			unsigned int n = 1 + fuzz_u8(&in) * 16u;
			size_t base = fuzz_u16(&in);

			for (unsigned int k = 0; k < n; k++)
				one(&table, m, (base + k) % NSRC, (uint8_t)k, now);
			messages += n;
			break;
		}
		default:
			ratelimit_gc(&table, now);
			model_purge(m, now);
			FUZZ_CHECK(ratelimit_count(&table) == m->present);
			break;
		}
	}
	return 0;
}
