/* SPDX-License-Identifier: MIT */
/* Token buckets per source in an open-addressed table; see ratelimit.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "ratelimit.h"

#define NS_PER_S 1000000000ULL
#define PACKET_COST (NS_PER_S / RATELIMIT_PACKETS_PER_SECOND) /* tokens are nanoseconds of credit */
#define TOKEN_MAX (PACKET_COST * RATELIMIT_BURST)
#define IDLE_NS NS_PER_S /* > TOKEN_MAX: an entry idle this long has a full bucket */
#define NSLOTS (2 * RATELIMIT_TABLE_SIZE) /* load <= 1/2 keeps probes short, leaves empty slots */

_Static_assert(NS_PER_S % RATELIMIT_PACKETS_PER_SECOND == 0, "exact packet cost");
_Static_assert(IDLE_NS >= TOKEN_MAX, "reclaiming must not forget a partly empty bucket");
_Static_assert((NSLOTS & (NSLOTS - 1)) == 0, "power of two slots");

struct ratelimit_entry {
	uint64_t key;     /* IPv4 address or the IPv6 /64, as the bytes read big endian */
	uint64_t last_ns; /* when tokens were last brought up to date */
	uint64_t tokens;
	uint32_t hash;
	uint8_t family;   /* 4 or 6; 0 marks an empty slot */
};

int ratelimit_init(struct ratelimit *rl, const uint8_t secret[RATELIMIT_SECRET_LEN])
{
	memset(rl, 0, sizeof(*rl));
	rl->slots = calloc(NSLOTS, sizeof(*rl->slots));
	if (!rl->slots)
		return -ENOMEM;
	rl->mask = NSLOTS - 1;
	memcpy(rl->secret, secret, RATELIMIT_SECRET_LEN);
	return 0;
}

void ratelimit_fini(struct ratelimit *rl)
{
	free(rl->slots);
	sodium_memzero(rl, sizeof(*rl));
}

uint32_t ratelimit_count(const struct ratelimit *rl)
{
	return rl->count;
}

static bool expired(const struct ratelimit_entry *e, uint64_t now_ns)
{
	return now_ns > e->last_ns && now_ns - e->last_ns > IDLE_NS;
}

/* Backward-shift deletion: pulls later members of the cluster into the hole so that every entry
 * stays reachable from its home slot without crossing an empty one (no tombstones). */
static void erase(struct ratelimit *rl, uint32_t hole)
{
	uint32_t j = hole, mask = rl->mask;

	for (;;) {
		struct ratelimit_entry *e;

		j = (j + 1) & mask;
		e = &rl->slots[j];
		if (!e->family)
			break;
		/* e may fill the hole unless its home lies cyclically in (hole, j]. */
		if (((j - e->hash) & mask) >= ((j - hole) & mask)) {
			rl->slots[hole] = *e;
			hole = j;
		}
	}
	rl->slots[hole].family = 0;
	rl->count--;
}

void ratelimit_gc(struct ratelimit *rl, uint64_t now_ns)
{
	uint64_t oldest = UINT64_MAX;
	uint32_t i = 0, n;

	/* Start just past an empty slot (there always is one) so no cluster wraps past the start:
	 * erase() then only moves not yet visited entries into the visited slot, which is looked
	 * at again. */
	while (rl->slots[i].family)
		i++;
	for (n = 0; n < NSLOTS; ) {
		struct ratelimit_entry *e;

		i = (i + 1) & rl->mask;
		e = &rl->slots[i];
		if (e->family && expired(e, now_ns)) {
			erase(rl, i);
			i = (i - 1) & rl->mask; /* look at slot i again */
			continue;
		}
		if (e->family && e->last_ns < oldest)
			oldest = e->last_ns;
		n++;
	}
	/* Entries only get younger, and new ones are younger still (time being monotonic). */
	rl->gc_useless_until_ns = oldest == UINT64_MAX ? 0 : oldest + IDLE_NS;
}

/* The slot holding (family, key), or else the empty slot where it would go. Expired entries met
 * on the way are erased, which keeps clusters short without a gc. */
static uint32_t probe(struct ratelimit *rl, uint8_t family, uint64_t key, uint32_t hash,
		      uint64_t now_ns, bool *found)
{
	uint32_t i = hash & rl->mask;

	for (;;) {
		struct ratelimit_entry *e = &rl->slots[i];

		if (!e->family) {
			*found = false;
			return i;
		}
		if (expired(e, now_ns)) {
			erase(rl, i); /* the entries before i are untouched: keep probing at i */
			continue;
		}
		if (e->family == family && e->key == key) {
			*found = true;
			return i;
		}
		i = (i + 1) & rl->mask;
	}
}

/* Tokens earned since last_ns, then one packet's worth taken if there is enough. */
static bool take_token(struct ratelimit_entry *e, uint64_t now_ns)
{
	if (now_ns > e->last_ns) {
		uint64_t earned = now_ns - e->last_ns;

		e->tokens = earned >= TOKEN_MAX - e->tokens ? TOKEN_MAX : e->tokens + earned;
		e->last_ns = now_ns;
	}
	if (e->tokens < PACKET_COST)
		return false;
	e->tokens -= PACKET_COST;
	return true;
}

/* The source key: the IPv4 address, or the first 64 bits of the IPv6 address. */
static bool source_key(int family, const uint8_t *addr, uint8_t *fam, uint64_t *key)
{
	uint64_t k = 0;
	int len;

	if (family == AF_INET) {
		*fam = 4;
		len = 4;
	} else if (family == AF_INET6) {
		*fam = 6;
		len = 8;
	} else {
		return false;
	}
	for (int i = 0; i < len; i++)
		k = k << 8 | addr[i];
	*key = k;
	return true;
}

static uint32_t source_hash(const struct ratelimit *rl, uint8_t fam, uint64_t key)
{
	uint8_t in[9], out[crypto_shorthash_BYTES];
	uint32_t h;

	in[0] = fam;
	memcpy(in + 1, &key, sizeof(key));
	crypto_shorthash(out, in, sizeof(in), rl->secret);
	memcpy(&h, out, sizeof(h));
	return h;
}

bool ratelimit_allow(struct ratelimit *rl, int family, const uint8_t *addr, uint64_t now_ns)
{
	struct ratelimit_entry *e;
	uint64_t key;
	uint32_t hash, i;
	uint8_t fam;
	bool found;

	if (!source_key(family, addr, &fam, &key))
		return false;
	hash = source_hash(rl, fam, key);
	i = probe(rl, fam, key, hash, now_ns, &found);
	if (found)
		return take_token(&rl->slots[i], now_ns);
	if (rl->count >= RATELIMIT_TABLE_SIZE) {
		/* Full: a scan only helps once something can have expired; then it frees at least
		 * one entry or moves that moment later, so refusals stay cheap under a flood. */
		if (now_ns <= rl->gc_useless_until_ns)
			return false;
		ratelimit_gc(rl, now_ns);
		if (rl->count >= RATELIMIT_TABLE_SIZE)
			return false;
		i = probe(rl, fam, key, hash, now_ns, &found);
	}
	e = &rl->slots[i];
	e->family = fam;
	e->key = key;
	e->hash = hash;
	e->last_ns = now_ns;
	e->tokens = TOKEN_MAX - PACKET_COST; /* this packet is the first of the burst */
	rl->count++;
	return true;
}
