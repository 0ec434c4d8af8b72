/* SPDX-License-Identifier: MIT */
/*
 * Burst AEAD front end: the backend table, backend choice and the per-burst dispatch. The backends
 * themselves live in aead_burst_<name>.c.
 *
 * Adding a backend: a value in enum aead_backend, an extern impl in aead_burst.h, a row in
 * aead_burst_table and its place in aead_burst_preference (fastest first). An enum value without a
 * row has no name and is never supported, so the enum may land first.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "aead_burst.h"
#include "aead_burst_simd.h"

#define AEAD_BURST_ENV "MESHGATE_AEAD"

struct aead_burst_entry {
	const char *name;
	const struct aead_burst_impl *impl; /* NULL for AUTO, which resolves to another row */
};

static const struct aead_burst_entry aead_burst_table[AEAD_BACKEND_COUNT] = {
	[AEAD_BACKEND_AUTO] = { "auto", NULL },
	[AEAD_BACKEND_SODIUM] = { "sodium", &aead_burst_sodium },
	[AEAD_BACKEND_IPSECMB] = { "ipsecmb", &aead_burst_ipsecmb },
	[AEAD_BACKEND_SIMD_AVX2] = { "simd-avx2", &aead_burst_simd_avx2 },
	[AEAD_BACKEND_SIMD_AVX512] = { "simd-avx512", &aead_burst_simd_avx512 },
	[AEAD_BACKEND_SIMD_IFMA] = { "simd-ifma", &aead_burst_simd_ifma },
};

/*
 * What AUTO picks: the first supported entry, fastest first as perf/results/bench_crypto.md
 * measured (the SIMD backends hand the longest packets of a burst to ipsec-mb themselves when that
 * is faster). sodium runs everywhere, so it is last.
 */
static const enum aead_backend aead_burst_preference[] = {
	AEAD_BACKEND_SIMD_IFMA,
	AEAD_BACKEND_SIMD_AVX512,
	AEAD_BACKEND_SIMD_AVX2,
	AEAD_BACKEND_IPSECMB,
	AEAD_BACKEND_SODIUM,
};

static bool backend_valid(enum aead_backend backend)
{
	return (unsigned int)backend < AEAD_BACKEND_COUNT;
}

const char *aead_burst_backend_name(enum aead_backend backend)
{
	return backend_valid(backend) ? aead_burst_table[backend].name : NULL;
}

enum aead_backend aead_burst_backend_from_name(const char *name)
{
	if (name == NULL)
		return AEAD_BACKEND_COUNT;
	for (unsigned int b = 0; b < AEAD_BACKEND_COUNT; b++)
		if (aead_burst_table[b].name != NULL && strcasecmp(name, aead_burst_table[b].name) == 0)
			return (enum aead_backend)b;
	return AEAD_BACKEND_COUNT;
}

bool aead_burst_backend_supported(enum aead_backend backend)
{
	if (!backend_valid(backend))
		return false;
	if (backend == AEAD_BACKEND_AUTO)
		return true; /* resolves to sodium at worst */
	/* an enum value without a row yet (not built) is simply unsupported */
	return aead_burst_table[backend].impl != NULL && aead_burst_table[backend].impl->supported();
}

static enum aead_backend backend_fastest(void)
{
	for (size_t i = 0; i < sizeof(aead_burst_preference) / sizeof(aead_burst_preference[0]); i++)
		if (aead_burst_backend_supported(aead_burst_preference[i]))
			return aead_burst_preference[i];
	return AEAD_BACKEND_SODIUM;
}

/* AUTO: MESHGATE_AEAD when set and not empty (it may itself say "auto"), else the fastest. */
static int backend_resolve(enum aead_backend *backend)
{
	const char *env = getenv(AEAD_BURST_ENV);

	if (env != NULL && env[0] != '\0') {
		*backend = aead_burst_backend_from_name(env);
		if (*backend == AEAD_BACKEND_COUNT)
			return -EINVAL;
	}
	if (*backend == AEAD_BACKEND_AUTO)
		*backend = backend_fastest();
	return 0;
}

int aead_burst_init(struct aead_burst *ab, enum aead_backend backend)
{
	const struct aead_burst_impl *impl;
	int ret;

	memset(ab, 0, sizeof(*ab));
	if (!backend_valid(backend))
		return -EINVAL;
	if (backend == AEAD_BACKEND_AUTO) {
		ret = backend_resolve(&backend);
		if (ret != 0)
			return ret;
	}
	if (!aead_burst_backend_supported(backend))
		return -ENOTSUP;
	impl = aead_burst_table[backend].impl;
	/* Every backend uses libsodium (reference, tag compare, fallback); this picks its SIMD code. */
	if (sodium_init() < 0)
		return -ENOTSUP;
	ab->impl = impl;
	ab->backend = backend;
	ret = impl->init(ab);
	if (ret != 0)
		memset(ab, 0, sizeof(*ab));
	return ret;
}

void aead_burst_fini(struct aead_burst *ab)
{
	if (ab->impl != NULL)
		ab->impl->fini(ab);
	memset(ab, 0, sizeof(*ab));
}

void aead_burst_seal(struct aead_burst *ab, struct aead_burst_op *ops, unsigned int n)
{
	ab->impl->seal(ab, ops, n);
}

unsigned int aead_burst_open(struct aead_burst *ab, struct aead_burst_op *ops, unsigned int n)
{
	return ab->impl->open(ab, ops, n);
}
