/* SPDX-License-Identifier: MIT */
/* TAI64N timestamps; see tai64n.h. */
#include <string.h>
#include <time.h>

#include "tai64n.h"

/* TAI64 labels start at 2^62; WireGuard implementations add the 10 s TAI-UTC offset of 1970. */
#define TAI64_BASE ((1ULL << 62) + 10)
/* 2^24 ns: largest power of two below 1 s / 50 initiations per second (Linux, wireguard-go). */
#define TAI64N_WHITEN_MASK ((1U << 24) - 1)

static void store_be(uint8_t *p, uint64_t v, int nbytes)
{
	for (int i = nbytes - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

void tai64n_encode(uint8_t out[TAI64N_SIZE], uint64_t unix_sec, uint32_t nsec)
{
	store_be(out, TAI64_BASE + unix_sec, 8);
	store_be(out + 8, nsec, 4);
}

void tai64n_now(uint8_t out[TAI64N_SIZE])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	tai64n_encode(out, (uint64_t)ts.tv_sec, (uint32_t)ts.tv_nsec & ~TAI64N_WHITEN_MASK);
}

int tai64n_after(const uint8_t a[TAI64N_SIZE], const uint8_t b[TAI64N_SIZE])
{
	/* Not secret (a peer's clock reading), so a plain memcmp as in Linux WireGuard. */
	return memcmp(a, b, TAI64N_SIZE) > 0;
}
