/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "counters.h"
#include "device.h"

const char *const mg_drop_names[MG_DROP_COUNT] = {
#define MG_DROP_NAME(e, s) [MG_DROP_##e] = s,
	MG_DROP_REASONS(MG_DROP_NAME)
#undef MG_DROP_NAME
};

struct mg_lcore_stats mg_stats[RTE_MAX_LCORE];

uint64_t mg_drop_total(enum mg_drop reason)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < RTE_MAX_LCORE; i++)
		sum += __atomic_load_n(&mg_stats[i].drops[reason], __ATOMIC_RELAXED);
	return sum;
}
