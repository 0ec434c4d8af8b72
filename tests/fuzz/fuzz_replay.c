/* SPDX-License-Identifier: MIT */
/*
 * The replay window on a stream of counters, as an authenticated peer chooses them (any order, any
 * jump), against a naive model: the accepted counters as a list, the highest one, and the rule
 * "below the limit, not older than COUNTER_WINDOW_SIZE below the highest, not seen before".
 * Counters are coded relative to the window so that the fuzzer reaches its edges easily; per
 * counter a u8 mode, then:
 *   mode & 3 == 0: i16 delta from the highest accepted
 *   mode & 3 == 1: i8 delta from the window's lower edge (highest - COUNTER_WINDOW_SIZE)
 *   mode & 3 == 2: u64 counter
 *   mode & 3 == 3: REJECT_AFTER_MESSAGES + 1 - u8 (the limit and both sides of it)
 */
#include <stdbool.h>
#include <stdint.h>

#include "fuzz.h"
#include "messages.h"
#include "replay.h"

#define MAX_COUNTERS 1024

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

struct model {
	uint64_t seen[MAX_COUNTERS];
	unsigned int n;
	uint64_t highest;
};

static bool model_check(struct model *m, uint64_t c)
{
	if (c >= REJECT_AFTER_MESSAGES)
		return false;
	if (m->n > 0 && c < m->highest && m->highest - c > COUNTER_WINDOW_SIZE)
		return false;
	for (unsigned int i = 0; i < m->n; i++)
		if (m->seen[i] == c)
			return false;
	m->seen[m->n++] = c;
	if (c > m->highest)
		m->highest = c;
	return true;
}

static uint64_t next_counter(struct fuzz_in *in, const struct model *m)
{
	uint8_t mode = fuzz_u8(in);

	switch (mode & 3) {
	case 0:
		return m->highest + (uint64_t)(int64_t)(int16_t)fuzz_u16(in);
	case 1:
		return m->highest - COUNTER_WINDOW_SIZE + (uint64_t)(int64_t)(int8_t)fuzz_u8(in);
	case 2:
		return fuzz_u64(in);
	default:
		return REJECT_AFTER_MESSAGES + 1 - fuzz_u8(in);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static struct model m;
	struct replay r;

	m.n = 0;
	m.highest = 0;
	replay_init(&r);
	while (fuzz_left(&in) && m.n < MAX_COUNTERS) {
		uint64_t c = next_counter(&in, &m);
		bool want = model_check(&m, c);

		FUZZ_CHECK(replay_check(&r, c, REJECT_AFTER_MESSAGES) == want);
	}
	return 0;
}
