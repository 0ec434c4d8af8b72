/* SPDX-License-Identifier: MIT */
/*
 * Anti-replay window for data message counters (WireGuard whitepaper section 5.4.6), the RFC 6479
 * scheme as in Linux WireGuard: a ring of REPLAY_WORDS 64-bit words holding one bit per counter.
 * Counters more than COUNTER_WINDOW_SIZE below the highest one accepted are rejected; within the
 * window each counter is accepted once. The ring is one word larger than the window so that
 * sliding forward only ever clears whole words, never bits still inside the window.
 *
 * CONTRACT: call replay_check only AFTER the packet authenticated (AEAD open succeeded). The check
 * records the counter; a forged packet checked first would burn the genuine counter and could
 * slide the window past real traffic.
 *
 * Not thread safe and no atomics: one keypair's packets are checked serially by one core.
 */
#ifndef MG_REPLAY_H
#define MG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "messages.h"

#define REPLAY_BITS_TOTAL 8192
#define REPLAY_WORDS (REPLAY_BITS_TOTAL / 64)

_Static_assert(COUNTER_WINDOW_SIZE == REPLAY_BITS_TOTAL - 64, "window is the ring minus one word");

struct replay {
	uint64_t next;                  /* highest accepted counter + 1; 0 while none accepted */
	uint64_t ring[REPLAY_WORDS];    /* bit (c + 1) % REPLAY_BITS_TOTAL set: counter c seen */
};

/* An empty window: every counter below the reject limit is acceptable once. */
void replay_init(struct replay *r);

/*
 * Accepts (true, and records) a counter not seen before, not older than COUNTER_WINDOW_SIZE
 * below the highest accepted, and below reject_limit (REJECT_AFTER_MESSAGES for WireGuard).
 * Rejects (false, state unchanged) anything else.
 */
bool replay_check(struct replay *r, uint64_t counter, uint64_t reject_limit);

#endif
