/* SPDX-License-Identifier: MIT */
/*
 * What device.h declares for both sides: the shared state itself, the workers' byte counters, and
 * the protocol clock every thread reads.
 */
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_log.h>

#include "device.h"

struct mg_device mg_dev;
struct mg_peer_bytes mg_peer_bytes[MG_MAX_WORKERS];

static uint64_t tsc_hz, tsc_start;
static uint64_t skipped_ns; /* mg_clock_skip: tests only */

/*
 * MESHGATE_TEST_CLOCK_SPEEDUP=N (tests only) makes meshgate's protocol clock run N times fast, so
 * rekeying (REKEY_AFTER_TIME, 120 s) can be watched in seconds. It divides the TSC rate, so every
 * timer and key age speeds up together; wall-clock timestamps are untouched.
 */
void mg_clock_init(void)
{
	const char *speedup = getenv("MESHGATE_TEST_CLOCK_SPEEDUP");
	unsigned long n = speedup ? strtoul(speedup, NULL, 10) : 1;

	tsc_hz = rte_get_tsc_hz() / (n ? n : 1);
	tsc_start = rte_get_tsc_cycles();
	if (n > 1)
		RTE_LOG(WARNING, USER1, "MESHGATE_TEST_CLOCK_SPEEDUP=%lu: protocol clock runs %lu times fast\n", n, n);
}

uint64_t mg_now_ns(void)
{
	/* Offset so that the first reading is 1 s, never 0 (0 means "never" in several fields). */
	uint64_t c = rte_get_tsc_cycles() - tsc_start + tsc_hz;

	/* Split to avoid overflow of c * 1e9 after a few seconds of uptime. */
	return c / tsc_hz * MG_NS_PER_S + c % tsc_hz * MG_NS_PER_S / tsc_hz +
	       __atomic_load_n(&skipped_ns, __ATOMIC_RELAXED);
}

void mg_clock_skip(uint64_t ns)
{
	__atomic_fetch_add(&skipped_ns, ns, __ATOMIC_RELAXED);
}
