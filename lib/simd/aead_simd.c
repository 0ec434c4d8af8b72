/* SPDX-License-Identifier: MIT */
/*
 * The SIMD levels as burst AEAD backends: CPU checks, the struct aead_burst_impl wrappers, and the
 * per-burst choice of which packets go to the lanes.
 *
 * Compiled without -m flags: nothing here uses vector instructions itself; it only calls a level's
 * code after that level's check passed.
 *
 * Why a split: a burst in the lanes takes as many steps as its longest packet needs (one 64-byte
 * block per lane per step), and from about 3 KiB intel-ipsec-mb's single-message AVX-512 code is
 * faster per byte than a lane (on some hosts already at 1420 bytes). So the longest packets of a
 * burst may go to intel-ipsec-mb while the rest fill the lanes, longest first. Which split is
 * cheapest comes from a cost model:
 *   lanes: one step costs the level's step (TSC ticks), a packet takes 1 + ceil(len / 64)
 *          steps, and a burst takes max(ceil(sum of steps / lanes), longest packet's steps) steps;
 *   intel-ipsec-mb: c0 + c1 * len per packet.
 * Every k from 0 to n (the k longest packets to intel-ipsec-mb) is costed and the cheapest taken.
 * The constants are measured when a context is made (simd_calibrate: a few hundred microseconds of
 * sealing, the fastest of several repeats), because they move with the host: on the same machine
 * kind the 1420-byte lane cost moved by a third between two days while intel-ipsec-mb's moved by a
 * fifth, which turned a 1.2x lead into a loss with fixed constants.
 * MESHGATE_SIMD_SPLIT=0 in the environment (read at init) keeps every packet in the lanes (tests,
 * benchmarks); so does a CPU or build where intel-ipsec-mb cannot run. Tests fix the split by
 * length instead (aead_simd_fix_split), so that they cover it whatever this host measures.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "aead_burst_simd.h"
#include "aead_simd_internal.h"

#define SIMD_BACKEND(x) AEAD_BACKEND_SIMD_##x

#define SIMD_ENV_SPLIT "MESHGATE_SIMD_SPLIT"
#define SIMD_CHUNK     64

struct simd_level {
	void (*seal)(struct aead_burst_op *const *opp, unsigned int n);
	unsigned int (*open)(struct aead_burst_op *const *opp, unsigned int n);
	unsigned int lanes_log2; /* 4: 16 lanes, 3: 8 lanes */
};

/*
 * The cost model's constants, TSC ticks (see the top comment, and struct aead_simd_costs): from
 * split_min on a lane no longer beats intel-ipsec-mb per packet (step / lanes * (1 + len / 64) >=
 * c0 + c1 * len), so a burst of equal lengths below it stays in the lanes without costing.
 */
struct simd_ctx {
	const struct simd_level *lvl;
	struct aead_burst ipsec; /* for the long packets of a burst, when split */
	bool split;		 /* ipsec is set up and bursts may be split */
	bool fixed;		 /* aead_simd_fix_split: by fixed_min, not by the model */
	uint32_t fixed_min;
	struct aead_simd_costs costs;
};

static bool simd_avx512_supported(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl");
}

static bool simd_ifma_supported(void)
{
	return simd_avx512_supported() && __builtin_cpu_supports("avx512ifma");
}

static bool simd_avx2_supported(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
}

static unsigned int simd_steps(const struct aead_burst_op *op)
{
	return 1 + (op->len + 63) / 64;
}

#define CAL_PACKETS 32	 /* two rounds of 16 lanes, four of 8 */
#define CAL_LONG    1420 /* the size that matters most; the model is linear beyond */
#define CAL_SHORT   64
#define CAL_MAX_LEN 9216 /* past jumbo frames: no split_min below means never */
#define CAL_REPEATS 32	 /* the fastest repeat counts: the others met an interruption */

enum { CAL_LANES_LONG, CAL_IPSEC_SHORT, CAL_IPSEC_LONG, CAL_N };

/*
 * The fastest of CAL_REPEATS seals of the CAL_PACKETS packets, in TSC ticks: in the lanes at
 * CAL_LONG bytes, by intel-ipsec-mb at CAL_SHORT and at CAL_LONG. The three take turns, so a
 * change of clock speed or a busy neighbour meets them alike (at 1420 bytes the lanes and the
 * library are within a few percent of each other on some hosts); a first round warms up.
 */
static void cal_times(struct simd_ctx *c, struct aead_burst_op *ops, struct aead_burst_op **opp,
		      uint64_t best[CAL_N])
{
	static const struct {
		bool lanes;
		uint32_t len;
	} what[CAL_N] = { { true, CAL_LONG }, { false, CAL_SHORT }, { false, CAL_LONG } };

	for (unsigned int w = 0; w < CAL_N; w++)
		best[w] = UINT64_MAX;
	for (unsigned int r = 0; r <= CAL_REPEATS; r++) {
		for (unsigned int w = 0; w < CAL_N; w++) {
			uint64_t t0, t;

			for (unsigned int i = 0; i < CAL_PACKETS; i++)
				ops[i].len = what[w].len;
			t0 = __rdtsc();
			if (what[w].lanes)
				c->lvl->seal(opp, CAL_PACKETS);
			else
				c->ipsec.impl->seal(&c->ipsec, ops, CAL_PACKETS);
			t = __rdtsc() - t0;
			if (r > 0 && t < best[w])
				best[w] = t;
		}
	}
}

/* Measure the cost model's constants on this machine (see the top comment); false if it could
 * not (no memory), in which case the caller does not split. */
static bool simd_calibrate(struct simd_ctx *c)
{
	const unsigned int lanes = 1u << c->lvl->lanes_log2;
	static const uint8_t key[AEAD_KEY_SIZE];
	struct aead_burst_op ops[CAL_PACKETS], *opp[CAL_PACKETS];
	uint8_t *buf = calloc(CAL_PACKETS, CAL_LONG + AEAD_TAG_SIZE);
	uint64_t t[CAL_N], rounds = (uint64_t)CAL_PACKETS * (1 + (CAL_LONG + 63) / 64) >> c->lvl->lanes_log2;
	struct aead_simd_costs *k = &c->costs;

	if (buf == NULL)
		return false;
	for (unsigned int i = 0; i < CAL_PACKETS; i++) {
		uint8_t *p = buf + i * (CAL_LONG + AEAD_TAG_SIZE);

		ops[i] = (struct aead_burst_op){ .key = key, .counter = i, .src = p, .dst = p,
						 .tag = p + CAL_LONG };
		opp[i] = &ops[i];
	}
	cal_times(c, ops, opp, t);
	free(buf);
	k->step = (uint32_t)(t[CAL_LANES_LONG] / rounds);
	k->c1_x1000 = t[CAL_IPSEC_LONG] > t[CAL_IPSEC_SHORT] ?
		(uint32_t)((t[CAL_IPSEC_LONG] - t[CAL_IPSEC_SHORT]) * 1000 / CAL_PACKETS / (CAL_LONG - CAL_SHORT)) : 0;
	k->c0 = (uint32_t)(t[CAL_IPSEC_SHORT] / CAL_PACKETS);
	k->c0 = k->c0 > CAL_SHORT * k->c1_x1000 / 1000 ? k->c0 - CAL_SHORT * k->c1_x1000 / 1000 : 0;
	/* A lane's cost steps up at 64 j + 1 bytes, where it is worst against the library's. */
	k->split_min = UINT32_MAX;
	for (uint32_t len = 1; len <= CAL_MAX_LEN; len += 64)
		if ((uint64_t)k->step * (1 + (len + 63) / 64) / lanes >= k->c0 + (uint64_t)len * k->c1_x1000 / 1000) {
			k->split_min = len;
			break;
		}
	return true;
}

/* Sets up c->ipsec; false when intel-ipsec-mb cannot run here or init failed. */
static bool simd_ipsec_init(struct simd_ctx *c)
{
	if (!aead_burst_ipsecmb.supported())
		return false;
	c->ipsec.impl = &aead_burst_ipsecmb;
	c->ipsec.backend = AEAD_BACKEND_IPSECMB;
	return aead_burst_ipsecmb.init(&c->ipsec) == 0;
}

static int simd_init(struct aead_burst *ab, const struct simd_level *lvl)
{
	struct simd_ctx *c = calloc(1, sizeof(*c));
	const char *env = getenv(SIMD_ENV_SPLIT);

	if (c == NULL)
		return -ENOMEM;
	c->lvl = lvl;
	c->costs.split_min = UINT32_MAX;
	if (env == NULL || strcmp(env, "0") != 0) {
		c->split = simd_ipsec_init(c);
		if (c->split && !simd_calibrate(c)) {
			aead_burst_ipsecmb.fini(&c->ipsec);
			c->split = false;
		}
	}
	ab->state = c;
	return 0;
}

static void simd_fini(struct aead_burst *ab)
{
	struct simd_ctx *c = ab->state;

	if (c != NULL && c->split)
		aead_burst_ipsecmb.fini(&c->ipsec);
	free(c);
	ab->state = NULL;
}

/* opp[0..n) sorted by length, longest first (insertion sort: n <= SIMD_CHUNK). */
static void simd_sort(struct aead_burst_op **opp, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++) {
		struct aead_burst_op *x = opp[i];
		unsigned int j = i;

		for (; j > 0 && opp[j - 1]->len < x->len; j--)
			opp[j] = opp[j - 1];
		opp[j] = x;
	}
}

/* How many of the longest packets (opp sorted) to give intel-ipsec-mb. */
static unsigned int simd_choose(const struct simd_ctx *c, struct aead_burst_op *const *opp,
				unsigned int n)
{
	const unsigned int shift = c->lvl->lanes_log2, lanes = 1u << shift;
	uint32_t steps[SIMD_CHUNK + 1], suffix = 0, ipsec = 0, best = UINT32_MAX;
	unsigned int k_best = 0;

	steps[n] = 0;
	for (unsigned int i = n; i-- > 0;) {
		suffix += simd_steps(opp[i]);
		steps[i] = suffix;
	}
	for (unsigned int k = 0; k <= n; k++) {
		/* no division here: at 64-byte packets a divide per k cost ~5% */
		uint32_t rounds = (steps[k] + lanes - 1) >> shift, cost;

		if (k < n && simd_steps(opp[k]) > rounds)
			rounds = simd_steps(opp[k]);
		cost = rounds * c->costs.step + ipsec;
		if (cost < best) {
			best = cost;
			k_best = k;
		}
		if (k < n)
			ipsec += c->costs.c0 + opp[k]->len * c->costs.c1_x1000 / 1000;
	}
	return k_best;
}

/* How many of the longest packets (opp sorted) are of at least min bytes: the fixed split's k. */
static unsigned int simd_count_long(struct aead_burst_op *const *opp, unsigned int n, uint32_t min)
{
	unsigned int k = 0;

	if (min == AEAD_SIMD_SPLIT_NEVER)
		return 0;
	while (k < n && opp[k]->len >= min)
		k++;
	return k;
}

static unsigned int simd_run(struct aead_burst *ab, struct aead_burst_op *ops, unsigned int n,
			     bool open)
{
	struct simd_ctx *c = ab->state;
	/* from this length on an equal-length chunk goes whole to intel-ipsec-mb */
	uint32_t whole_min = !c->split ? UINT32_MAX : c->fixed ? c->fixed_min : c->costs.split_min;
	unsigned int ok = 0;

	for (unsigned int base = 0; base < n; base += SIMD_CHUNK) {
		unsigned int m = n - base < SIMD_CHUNK ? n - base : SIMD_CHUNK, k = 0;
		struct aead_burst_op *opp[SIMD_CHUNK];
		uint32_t lmin = UINT32_MAX, lmax = 0;

		for (unsigned int i = 0; i < m; i++) {
			opp[i] = &ops[base + i];
			lmin = ops[base + i].len < lmin ? ops[base + i].len : lmin;
			lmax = ops[base + i].len > lmax ? ops[base + i].len : lmax;
		}
		/*
		 * Equal lengths: below split_min the model keeps them all in the lanes, from it on it
		 * gives them all to intel-ipsec-mb (a lane loses per packet), in the burst's own
		 * order. Only mixed lengths are sorted and costed. (A fixed split does the same
		 * by its own length; UINT32_MAX means never, as for a context that does not split.)
		 */
		if (lmin == lmax && lmax >= whole_min && whole_min != AEAD_SIMD_SPLIT_NEVER) {
			if (open)
				ok += c->ipsec.impl->open(&c->ipsec, &ops[base], m);
			else
				c->ipsec.impl->seal(&c->ipsec, &ops[base], m);
			continue;
		}
		if (lmin != lmax) {
			simd_sort(opp, m);
			if (c->split)
				k = c->fixed ? simd_count_long(opp, m, c->fixed_min)
					     : simd_choose(c, opp, m);
		}
		if (k > 0) {
			struct aead_burst_op big[SIMD_CHUNK];

			for (unsigned int i = 0; i < k; i++)
				big[i] = *opp[i];
			if (open) {
				ok += c->ipsec.impl->open(&c->ipsec, big, k);
				for (unsigned int i = 0; i < k; i++)
					opp[i]->ok = big[i].ok;
			} else {
				c->ipsec.impl->seal(&c->ipsec, big, k);
			}
		}
		if (open)
			ok += c->lvl->open(opp + k, m - k);
		else
			c->lvl->seal(opp + k, m - k);
	}
	return ok;
}

/* ab's SIMD context, or NULL when ab is not a SIMD backend's (or not set up). */
static struct simd_ctx *simd_ctx_of(const struct aead_burst *ab)
{
	bool simd = ab->impl == &aead_burst_simd_avx2 || ab->impl == &aead_burst_simd_avx512 ||
		    ab->impl == &aead_burst_simd_ifma;

	return simd ? ab->state : NULL;
}

bool aead_simd_costs(const struct aead_burst *ab, struct aead_simd_costs *out)
{
	const struct simd_ctx *c = simd_ctx_of(ab);

	if (c == NULL || !c->split || c->fixed)
		return false;
	*out = c->costs;
	return true;
}

int aead_simd_fix_split(struct aead_burst *ab, uint32_t min_len)
{
	struct simd_ctx *c = simd_ctx_of(ab);

	if (c == NULL)
		return -EINVAL;
	if (min_len != AEAD_SIMD_SPLIT_NEVER && !c->split) {
		if (!simd_ipsec_init(c))
			return aead_burst_ipsecmb.supported() ? -ENOMEM : -ENOTSUP;
		c->split = true;
	}
	c->fixed = true;
	c->fixed_min = min_len;
	return 0;
}

static void simd_seal(struct aead_burst *ab, struct aead_burst_op *ops, unsigned int n)
{
	simd_run(ab, ops, n, false);
}

static unsigned int simd_open(struct aead_burst *ab, struct aead_burst_op *ops, unsigned int n)
{
	return simd_run(ab, ops, n, true);
}

#define SIMD_IMPL(lvl, LVL, lanes_log2)                                                      \
	static const struct simd_level simd_##lvl##_level = {mg_simd_##lvl##_seal_ptrs,     \
							     mg_simd_##lvl##_open_ptrs,     \
							     lanes_log2};                   \
	static int simd_##lvl##_init(struct aead_burst *ab)                                 \
	{                                                                                   \
		return simd_init(ab, &simd_##lvl##_level);                                  \
	}                                                                                   \
	const struct aead_burst_impl aead_burst_simd_##lvl = {                              \
		.backend = SIMD_BACKEND(LVL),                                               \
		.supported = simd_##lvl##_supported,                                        \
		.init = simd_##lvl##_init,                                                  \
		.fini = simd_fini,                                                          \
		.seal = simd_seal,                                                          \
		.open = simd_open,                                                          \
	};

SIMD_IMPL(ifma, IFMA, 4)
SIMD_IMPL(avx512, AVX512, 4)
SIMD_IMPL(avx2, AVX2, 3)
