/* SPDX-License-Identifier: MIT */
/*
 * Handshake rate limiter: a token bucket per source, RATELIMIT_PACKETS_PER_SECOND with bursts of
 * RATELIMIT_BURST. A source is an IPv4 address or an IPv6 /64 (whoever holds a /64 can use all of
 * it, so it counts as one).
 *
 * The table is preallocated at init and holds at most RATELIMIT_TABLE_SIZE sources; nothing is
 * allocated per packet. A source idle for more than a second has a full bucket again, so its entry
 * carries no information and is reclaimed (by ratelimit_gc, and lazily when met while probing).
 * When the table is full of live sources, new sources are refused: failing closed is right for
 * handshakes under load, and sources already tracked keep their own rate. Buckets are picked by
 * SipHash under a secret, so an attacker cannot aim sources at one probe sequence.
 *
 * Time is CLOCK_MONOTONIC-like nanoseconds passed in by the caller; a step backwards is treated
 * as no time passing. Single threaded: the control thread owns the table.
 */
#ifndef MG_RATELIMIT_H
#define MG_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "tuning.h"

#define RATELIMIT_SECRET_LEN 16

struct ratelimit_entry;

struct ratelimit {
	struct ratelimit_entry *slots; /* 2 * RATELIMIT_TABLE_SIZE, linear probing */
	uint32_t mask;
	uint32_t count;                /* live entries, at most RATELIMIT_TABLE_SIZE */
	uint64_t gc_useless_until_ns;  /* a full table cannot have expired entries before this */
	uint8_t secret[RATELIMIT_SECRET_LEN];
};

/* Allocates the table. 0, or -ENOMEM. The secret should be fresh random bytes. */
int ratelimit_init(struct ratelimit *rl, const uint8_t secret[RATELIMIT_SECRET_LEN]);
void ratelimit_fini(struct ratelimit *rl);

/*
 * One handshake message from addr (network order: 4 bytes for AF_INET, 16 for AF_INET6) at now_ns:
 * true if its source may have it processed now (and a token is taken). Unknown families: false.
 */
bool ratelimit_allow(struct ratelimit *rl, int family, const uint8_t *addr, uint64_t now_ns);

/* Drops every entry idle for more than a second; call about once a second. */
void ratelimit_gc(struct ratelimit *rl, uint64_t now_ns);

/* Sources tracked now (for tests and statistics). */
uint32_t ratelimit_count(const struct ratelimit *rl);

#endif
