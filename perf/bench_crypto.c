/* SPDX-License-Identifier: MIT */
/*
 * Crypto benchmark: burst ChaCha20-Poly1305 seal and open, bursts of 32 packets, at 64..9000 bytes
 * and an IMIX-like mix, for every backend this CPU runs: the cross-packet SIMD levels,
 * intel-ipsec-mb and libsodium (through the burst API) and OpenSSL EVP (one EVP_CIPHER_CTX,
 * re-keyed per packet).
 *
 * Before anything is timed, every backend's seal and open is checked against libsodium at every
 * point (verify_all); a backend that is wrong stops the run (exit 1), naming it and the size.
 *
 * Pinned to one CPU; for each point, repeats of a timed loop and the median. Cycles are TSC ticks
 * (no hardware counters here): the TSC is calibrated against CLOCK_MONOTONIC, and the core clock is
 * estimated separately with a chain of dependent adds, so the two can be compared.
 *
 * Usage: bench_crypto [--quick] [--cpu N] [--out DIR]   (writes DIR/bench_crypto.{json,md,dat})
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>
#include <x86intrin.h>

#include "aead_burst.h"
#include "aead_burst_simd.h"

#define BURST  32
#define MAXLEN 9000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double tsc_hz(void)
{
	double t0 = now(), t1;
	uint64_t c0 = __rdtsc(), c1;

	do
		t1 = now();
	while (t1 - t0 < 0.2);
	c1 = __rdtsc();
	return (double)(c1 - c0) / (t1 - t0);
}

/* Core clock: 100 dependent adds per iteration retire at one per cycle. */
static double core_hz(void)
{
	const uint64_t iters = 2000000;
	uint64_t x = 0;
	double t0 = now(), t1;

	for (uint64_t i = 0; i < iters; i++) {
		__asm__ volatile(".rept 100\n\tadd $1, %0\n\t.endr" : "+r"(x));
	}
	t1 = now();
	return (double)iters * 100 / (t1 - t0);
}

/* ---- backends ---- */

struct backend {
	const char *name;
	int kind; /* 0 = burst API impl, 1 = OpenSSL EVP */
	const struct aead_burst_impl *impl;
	enum aead_backend id;
	bool lanes_only; /* SIMD: MESHGATE_SIMD_SPLIT=0, no hand-off of long packets to ipsec-mb */
	struct aead_burst ab;
};

static EVP_CIPHER_CTX *evp_ctx;

static void evp_seal(struct aead_burst_op *ops, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint8_t nonce[12] = {0};
		int outl;

		memcpy(nonce + 4, &ops[i].counter, 8);
		EVP_EncryptInit_ex(evp_ctx, NULL, NULL, ops[i].key, nonce);
		EVP_EncryptUpdate(evp_ctx, ops[i].dst, &outl, ops[i].src, (int)ops[i].len);
		EVP_EncryptFinal_ex(evp_ctx, ops[i].dst + outl, &outl);
		EVP_CIPHER_CTX_ctrl(evp_ctx, EVP_CTRL_AEAD_GET_TAG, 16, ops[i].tag);
	}
}

static unsigned int evp_open(struct aead_burst_op *ops, unsigned int n)
{
	unsigned int ok = 0;

	for (unsigned int i = 0; i < n; i++) {
		uint8_t nonce[12] = {0};
		int outl;

		memcpy(nonce + 4, &ops[i].counter, 8);
		EVP_DecryptInit_ex(evp_ctx, NULL, NULL, ops[i].key, nonce);
		EVP_DecryptUpdate(evp_ctx, ops[i].dst, &outl, ops[i].src, (int)ops[i].len);
		EVP_CIPHER_CTX_ctrl(evp_ctx, EVP_CTRL_AEAD_SET_TAG, 16, ops[i].tag);
		ops[i].ok = EVP_DecryptFinal_ex(evp_ctx, ops[i].dst + outl, &outl) > 0;
		if (!ops[i].ok)
			memset(ops[i].dst, 0, ops[i].len);
		ok += ops[i].ok;
	}
	return ok;
}

static void b_seal(struct backend *b, struct aead_burst_op *ops, unsigned int n)
{
	if (b->kind == 1)
		evp_seal(ops, n);
	else
		b->impl->seal(&b->ab, ops, n);
}

static unsigned int b_open(struct backend *b, struct aead_burst_op *ops, unsigned int n)
{
	return b->kind == 1 ? evp_open(ops, n) : b->impl->open(&b->ab, ops, n);
}

/* ---- measurement ---- */

struct result {
	const char *backend, *op;
	int size; /* 0 = imix */
	double pps, gbps, cpb, ns_per_burst;
};

static uint8_t *pt[BURST], *ct[BURST], *out[BURST], keys[BURST][32], tags[BURST][16];
static struct aead_burst_op ops[BURST];
static double g_tsc;

static const uint32_t imix_pattern[12] = {64, 576, 64, 64, 1420, 64, 576, 64, 576, 64, 64, 576};

static uint64_t burst_bytes(int size)
{
	uint64_t s = 0;

	for (unsigned int i = 0; i < BURST; i++)
		s += size ? (uint64_t)size : imix_pattern[i % 12];
	return s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The burst for one point: keys, counters and lengths; for open, valid ciphertexts and tags. */
static void prepare(struct backend *b, bool open, int size)
{
	for (unsigned int i = 0; i < BURST; i++) {
		uint32_t len = size ? (uint32_t)size : imix_pattern[i % 12];

		ops[i] = (struct aead_burst_op){.key = keys[i],
						.counter = 1000 + i,
						.src = pt[i],
						.dst = ct[i],
						.tag = tags[i],
						.len = len};
	}
	b_seal(b, ops, BURST);
	for (unsigned int i = 0; i < BURST; i++) {
		ops[i].src = open ? ct[i] : pt[i];
		ops[i].dst = out[i];
	}
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= p[i];
	return d == 0;
}

/*
 * Every backend at every point, before any timing: its own seal against libsodium (ciphertext and
 * tag), its open of libsodium's output (every verdict true, the plaintext back), and its open of
 * the same with one bit flipped in every other packet, of the tag or of the ciphertext (those
 * refused with dst wiped, the others opened). Outputs and verdicts are preset to something else
 * first, so a backend that leaves one alone is caught. Timing a wrong backend says nothing, and
 * the SIMD backends take different paths by size (lanes, intel-ipsec-mb whole, split within a
 * burst), so one point checked is not enough. Returns 0, or -1 after naming the first mismatch.
 */
static int verify_all(struct backend **bk, int nb, const int *sizes, int nsizes)
{
	uint8_t *rct[BURST], rtag[BURST][16];
	int ret = 0;

	for (unsigned int i = 0; i < BURST; i++)
		rct[i] = malloc(MAXLEN);
	for (int s = 0; s < nsizes && ret == 0; s++) {
		const int size = sizes[s];
		char sz[16];

		if (size)
			snprintf(sz, sizeof(sz), "%d bytes", size);
		else
			snprintf(sz, sizeof(sz), "imix");
		for (unsigned int i = 0; i < BURST; i++) {
			uint32_t len = size ? (uint32_t)size : imix_pattern[i % 12];
			uint8_t nonce[12] = {0};
			uint64_t counter = 1000 + i;

			memcpy(nonce + 4, &counter, 8);
			crypto_aead_chacha20poly1305_ietf_encrypt_detached(rct[i], rtag[i], NULL, pt[i],
									   len, NULL, 0, NULL, nonce,
									   keys[i]);
		}
		for (int b = 0; b < nb && ret == 0; b++) {
			const char *name = bk[b]->name;
			unsigned int got;

			/* seal */
			for (unsigned int i = 0; i < BURST; i++) {
				uint32_t len = size ? (uint32_t)size : imix_pattern[i % 12];

				memset(out[i], 0xa5, len);
				for (unsigned int j = 0; j < 16; j++)
					tags[i][j] = (uint8_t)~rtag[i][j];
				ops[i] = (struct aead_burst_op){.key = keys[i], .counter = 1000 + i,
								.src = pt[i], .dst = out[i],
								.tag = tags[i], .len = len};
			}
			b_seal(bk[b], ops, BURST);
			for (unsigned int i = 0; i < BURST && ret == 0; i++) {
				const char *bad = NULL;

				if (memcmp(out[i], rct[i], ops[i].len) != 0)
					bad = "ciphertext";
				else if (memcmp(tags[i], rtag[i], 16) != 0)
					bad = "tag";
				if (bad) {
					fprintf(stderr, "bench_crypto: %s seal at %s: packet %u: %s differs "
						"from libsodium's\n", name, sz, i, bad);
					ret = -1;
				}
			}
			/* open: pass 0 as sealed, pass 1 every other packet tampered */
			for (int pass = 0; pass < 2 && ret == 0; pass++) {
				unsigned int want = 0;

				for (unsigned int i = 0; i < BURST; i++) {
					bool tamper = pass == 1 && i % 2 == 0;

					memcpy(tags[i], rtag[i], 16);
					memcpy(ct[i], rct[i], ops[i].len);
					if (tamper && (i % 4 == 0 || ops[i].len == 0))
						tags[i][i % 16] ^= 0x01;
					else if (tamper)
						ct[i][ops[i].len / 2] ^= 0x80;
					memset(out[i], 0xa5, ops[i].len);
					ops[i].src = ct[i];
					ops[i].dst = out[i];
					ops[i].ok = tamper; /* the wrong verdict */
					want += !tamper;
				}
				got = b_open(bk[b], ops, BURST);
				if (got != want) {
					fprintf(stderr, "bench_crypto: %s open%s at %s: %u of %d verified, "
						"want %u\n", name, pass ? " (tampered)" : "", sz, got, BURST,
						want);
					ret = -1;
				}
				for (unsigned int i = 0; i < BURST && ret == 0; i++) {
					bool tamper = pass == 1 && i % 2 == 0;
					const char *bad = NULL;

					if (ops[i].ok == tamper)
						bad = "verdict";
					else if (!tamper && memcmp(out[i], pt[i], ops[i].len) != 0)
						bad = "plaintext";
					else if (tamper && !all_zero(out[i], ops[i].len))
						bad = "dst (not wiped)";
					if (bad) {
						fprintf(stderr, "bench_crypto: %s open%s at %s: packet %u "
							"(%s): wrong %s\n", name, pass ? " (tampered)" : "",
							sz, i, tamper ? "tampered" : "valid", bad);
						ret = -1;
					}
				}
			}
		}
	}
	for (unsigned int i = 0; i < BURST; i++)
		free(rct[i]);
	return ret;
}

/* TSC ticks per burst over a timed loop of about seconds. */
static double time_once(struct backend *b, bool open, double seconds)
{
	uint64_t iters = 0, t0 = __rdtsc(), t1, budget = (uint64_t)(seconds * g_tsc);

	do {
		for (int k = 0; k < 8; k++) {
			if (open)
				b_open(b, ops, BURST);
			else
				b_seal(b, ops, BURST);
		}
		iters += 8;
		t1 = __rdtsc();
	} while (t1 - t0 < budget);
	return (double)(t1 - t0) / (double)iters;
}

/*
 * One point (size, op) for all backends. The repeats go round the backends in turn, so that a
 * disturbance from elsewhere on the machine (it is shared) hits every backend's samples alike
 * rather than all of one backend's; each backend's median is reported.
 */
static int measure_all(struct backend **bk, int nb, bool open, int size, int repeats,
		       double seconds, struct result *res)
{
	double ticks[16][16];
	uint64_t bytes = burst_bytes(size);

	prepare(bk[0], open, size);
	for (int i = 0; i < nb; i++) {
		/* every backend opens what the first one sealed: a cross-check on the way */
		if (open && b_open(bk[i], ops, BURST) != BURST) {
			fprintf(stderr, "%s: open failed to verify at size %d\n", bk[i]->name,
				size);
			return -1;
		}
	}
	for (int rep = 0; rep < repeats; rep++)
		for (int i = 0; i < nb; i++)
			ticks[i][rep] = time_once(bk[i], open, seconds);
	for (int i = 0; i < nb; i++) {
		struct result *r = &res[i];
		double per_burst, sec;

		qsort(ticks[i], (size_t)repeats, sizeof(ticks[i][0]), cmp_double);
		per_burst = ticks[i][repeats / 2];
		sec = per_burst / g_tsc;
		r->backend = bk[i]->name;
		r->op = open ? "open" : "seal";
		r->size = size;
		r->ns_per_burst = sec * 1e9;
		r->pps = BURST / sec;
		r->gbps = (double)bytes * 8 / sec / 1e9;
		r->cpb = per_burst / (double)bytes;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const int sizes[] = {64, 128, 256, 512, 1024, 1420, 4096, 9000, 0};
	const int nsizes = sizeof(sizes) / sizeof(sizes[0]);
	struct backend all[] = {
		{"simd-ifma", 0, &aead_burst_simd_ifma, 0, false, {0}},
		{"simd-ifma-lanes", 0, &aead_burst_simd_ifma, 0, true, {0}},
		{"simd-avx512", 0, &aead_burst_simd_avx512, 0, false, {0}},
		{"simd-avx512-lanes", 0, &aead_burst_simd_avx512, 0, true, {0}},
		{"simd-avx2", 0, &aead_burst_simd_avx2, 0, false, {0}},
		{"simd-avx2-lanes", 0, &aead_burst_simd_avx2, 0, true, {0}},
		{"ipsecmb", 0, NULL, AEAD_BACKEND_IPSECMB, false, {0}},
		{"sodium", 0, NULL, AEAD_BACKEND_SODIUM, false, {0}},
		{"openssl", 1, NULL, 0, false, {0}},
	};
	struct backend *bk[16];
	struct aead_simd_costs costs;
	int nb = 0, cpu = -1, repeats = 7, nres = 0;
	double seconds = 0.1, chz;
	const char *outdir = "perf/results";
	struct result *res;
	char path[4096];
	FILE *f;
	cpu_set_t set;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			repeats = 3;
			seconds = 0.03;
		} else if (!strcmp(argv[i], "--cpu") && i + 1 < argc) {
			cpu = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			outdir = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--quick] [--cpu N] [--out DIR]\n", argv[0]);
			return 2;
		}
	}
	if (cpu < 0)
		cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0) {
		perror("sched_setaffinity");
		return 1;
	}
	if (sodium_init() < 0)
		return 1;
	evp_ctx = EVP_CIPHER_CTX_new();
	EVP_EncryptInit_ex(evp_ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL);
	for (unsigned int i = 0; i < BURST; i++) {
		pt[i] = malloc(MAXLEN);
		ct[i] = malloc(MAXLEN);
		out[i] = malloc(MAXLEN);
		randombytes_buf(pt[i], MAXLEN);
		randombytes_buf(keys[i], 32);
	}
	for (unsigned int i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		struct backend *b = &all[i];

		if (b->kind == 0 && b->impl == NULL) {
			if (aead_burst_init(&b->ab, b->id) != 0) {
				printf("# %s: not available here, skipped\n", b->name);
				continue;
			}
			b->impl = b->ab.impl;
		} else if (b->kind == 0) {
			if (!b->impl->supported()) {
				printf("# %s: not supported by this CPU, skipped\n", b->name);
				continue;
			}
			b->ab.impl = b->impl;
			if (b->lanes_only)
				setenv("MESHGATE_SIMD_SPLIT", "0", 1);
			if (b->impl->init(&b->ab) != 0) {
				fprintf(stderr, "%s: init failed\n", b->name);
				return 1;
			}
			unsetenv("MESHGATE_SIMD_SPLIT");
		}
		if (aead_simd_costs(&b->ab, &costs))
			printf("# %s: split costs measured at init (TSC ticks): lane step %u; intel-ipsec-mb "
			       "%u + %.3f/byte per packet; a lane loses from %u bytes\n", b->name, costs.step,
			       costs.c0, costs.c1_x1000 / 1000.0, costs.split_min);
		bk[nb++] = b;
	}
	if (verify_all(bk, nb, sizes, nsizes) != 0)
		return 1;
	printf("# every backend's seal (ciphertext, tag) and open (verdicts, plaintext; every other "
	       "packet tampered, refused and wiped) match libsodium at every size\n");
	g_tsc = tsc_hz();
	chz = core_hz();
	printf("# cpu %d; TSC %.3f GHz (calibrated against CLOCK_MONOTONIC); core clock estimate "
	       "%.3f GHz\n"
	       "# cycles/byte are TSC ticks per payload byte; %d repeats, median\n",
	       cpu, g_tsc / 1e9, chz / 1e9, repeats);
	res = calloc((size_t)(nb * nsizes * 2), sizeof(*res));
	for (int s = 0; s < nsizes; s++) {
		for (int op = 0; op < 2; op++) {
			if (measure_all(bk, nb, op == 1, sizes[s], repeats, seconds, &res[nres]) !=
			    0)
				return 1;
			for (int i = 0; i < nb; i++, nres++) {
				struct result *r = &res[nres];

				printf("%-18s %-4s %5s%-5d %10.0f pps %8.2f Gbit/s %6.3f cpb\n",
				       r->backend, r->op, r->size ? "" : "imix",
				       r->size ? r->size : 0, r->pps, r->gbps, r->cpb);
			}
			fflush(stdout);
		}
	}
	/* JSON */
	snprintf(path, sizeof(path), "%s/bench_crypto.json", outdir);
	if (!(f = fopen(path, "w"))) {
		perror(path);
		return 1;
	}
	fprintf(f, "[\n");
	for (int i = 0; i < nres; i++) {
		struct result *r = &res[i];
		char sz[16];

		if (r->size)
			snprintf(sz, sizeof(sz), "%d", r->size);
		else
			snprintf(sz, sizeof(sz), "\"imix\"");
		fprintf(f,
			"  {\"backend\": \"%s\", \"op\": \"%s\", \"size\": %s, \"burst\": %d, "
			"\"pps\": %.0f, "
			"\"gbps\": %.4f, \"cpb\": %.4f, \"ns_per_burst\": %.1f, \"cycles\": "
			"\"tsc\", "
			"\"tsc_ghz\": %.4f, \"core_ghz_est\": %.4f}%s\n",
			r->backend, r->op, sz, BURST, r->pps, r->gbps, r->cpb, r->ns_per_burst,
			g_tsc / 1e9, chz / 1e9, i + 1 < nres ? "," : "");
	}
	fprintf(f, "]\n");
	fclose(f);
	/* markdown: one table per op, backends as columns: Gbit/s (Mpps) cpb */
	snprintf(path, sizeof(path), "%s/bench_crypto.md", outdir);
	if (!(f = fopen(path, "w"))) {
		perror(path);
		return 1;
	}
	fprintf(f,
		"ChaCha20-Poly1305, bursts of %d, one core (cpu %d). Cell: Gbit/s of payload / "
		"Mpps / "
		"cycles per byte (TSC ticks, TSC %.2f GHz; core clock estimate %.2f GHz). Median "
		"of %d.\n",
		BURST, cpu, g_tsc / 1e9, chz / 1e9, repeats);
	for (int op = 0; op < 2; op++) {
		fprintf(f, "\n### %s\n\n| size |", op ? "open" : "seal");
		for (int i = 0; i < nb; i++)
			fprintf(f, " %s |", bk[i]->name);
		fprintf(f, "\n|---|");
		for (int i = 0; i < nb; i++)
			fprintf(f, "---|");
		fprintf(f, "\n");
		for (int s = 0; s < nsizes; s++) {
			if (sizes[s])
				fprintf(f, "| %d |", sizes[s]);
			else
				fprintf(f, "| imix |");
			for (int i = 0; i < nres; i++) {
				struct result *r = &res[i];

				if (r->size == sizes[s] && !strcmp(r->op, op ? "open" : "seal"))
					fprintf(f, " %.2f / %.2f / %.2f |", r->gbps, r->pps / 1e6,
						r->cpb);
			}
			fprintf(f, "\n");
		}
	}
	/* the targets: the first backend (the fastest SIMD level, as the data plane would
	 * pick it) against intel-ipsec-mb and against the best library at each point */
	fprintf(f,
		"\n### %s against the libraries (packets/s ratio)\n\n"
		"| op | size | vs ipsecmb | vs best library (which) |\n|---|---|---|---|\n",
		bk[0]->name);
	for (int op = 0; op < 2; op++) {
		for (int s = 0; s < nsizes; s++) {
			const struct result *mine = NULL, *ipsec = NULL, *lib = NULL;

			for (int i = 0; i < nres; i++) {
				const struct result *r = &res[i];

				if (r->size != sizes[s] || strcmp(r->op, op ? "open" : "seal"))
					continue;
				if (r->backend == bk[0]->name)
					mine = r;
				if (!strcmp(r->backend, "ipsecmb"))
					ipsec = r;
				if ((!strcmp(r->backend, "ipsecmb") ||
				     !strcmp(r->backend, "sodium") ||
				     !strcmp(r->backend, "openssl")) &&
				    (!lib || r->pps > lib->pps))
					lib = r;
			}
			if (!mine || !lib)
				continue;
			if (sizes[s])
				fprintf(f, "| %s | %d |", op ? "open" : "seal", sizes[s]);
			else
				fprintf(f, "| %s | imix |", op ? "open" : "seal");
			if (ipsec)
				fprintf(f, " %.2fx |", mine->pps / ipsec->pps);
			else
				fprintf(f, " - |");
			fprintf(f, " %.2fx (%s) |\n", mine->pps / lib->pps, lib->backend);
		}
	}
	fclose(f);
	/* gnuplot data: one block per backend and op, size index vs Gbit/s */
	snprintf(path, sizeof(path), "%s/bench_crypto.dat", outdir);
	if (!(f = fopen(path, "w"))) {
		perror(path);
		return 1;
	}
	for (int op = 0; op < 2; op++) {
		for (int i = 0; i < nb; i++) {
			fprintf(f, "# %s %s\n", bk[i]->name, op ? "open" : "seal");
			for (int k = 0; k < nres; k++) {
				struct result *r = &res[k];

				if (r->backend == bk[i]->name &&
				    !strcmp(r->op, op ? "open" : "seal")) {
					int idx = 0;

					while (sizes[idx] != r->size)
						idx++;
					/* imix: a point of its own, not on the size line */
					if (!r->size)
						fprintf(f, "\n");
					fprintf(f, "%d \"%s\" %.4f\n", idx, r->size ? "" : "imix",
						r->gbps);
				}
			}
			fprintf(f, "\n\n");
		}
	}
	fclose(f);
	for (int i = 0; i < nb; i++)
		if (bk[i]->kind == 0)
			bk[i]->impl->fini(&bk[i]->ab);
	EVP_CIPHER_CTX_free(evp_ctx);
	free(res);
	return 0;
}
