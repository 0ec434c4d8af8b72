/* SPDX-License-Identifier: MIT */
/* The RFC 6479 sliding window; see replay.h. */
#include <string.h>

#include "replay.h"

#define WORD_SHIFT 6 /* log2(64) */

void replay_init(struct replay *r)
{
	memset(r, 0, sizeof(*r));
}

/* Moves the top of the window to pos, clearing the words it enters (at most the whole ring). */
static void slide_to(struct replay *r, uint64_t pos)
{
	uint64_t cur = r->next >> WORD_SHIFT, top = pos >> WORD_SHIFT;
	uint64_t n = top - cur;

	if (n > REPLAY_WORDS)
		n = REPLAY_WORDS;
	for (uint64_t i = 1; i <= n; i++)
		r->ring[(cur + i) % REPLAY_WORDS] = 0;
	r->next = pos;
}

bool replay_check(struct replay *r, uint64_t counter, uint64_t reject_limit)
{
	uint64_t pos, bit, *word;

	if (counter >= reject_limit)
		return false;
	/* Bits are kept at counter + 1 so that next == 0 can mean "nothing yet"; counter <
	 * reject_limit <= UINT64_MAX, so this cannot wrap. */
	pos = counter + 1;
	if (pos <= r->next && r->next - pos > COUNTER_WINDOW_SIZE)
		return false;
	if (pos > r->next)
		slide_to(r, pos);
	word = &r->ring[(pos >> WORD_SHIFT) % REPLAY_WORDS];
	bit = 1ULL << (pos & 63);
	if (*word & bit)
		return false;
	*word |= bit;
	return true;
}
