/* SPDX-License-Identifier: MIT */
/*
 * A tiny test harness: CHECK counts, a summary line, exit status for meson (0 pass, 1 fail,
 * 77 skip), and loaders for the JSON vector files.
 *
 * Vector files are looked up first in MG_VECTORS (the project's tests/vectors, permissively
 * licensed copies) and then in MG_SHARED_VECTORS (../shared/vectors, which holds GPL-licensed
 * material we do not copy). meson sets both.
 */
#ifndef MG_TEST_HARNESS_H
#define MG_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

extern unsigned long test_checks_passed, test_checks_failed;

#define CHECK(cond, ...)                                                                \
	do {                                                                            \
		if (cond) {                                                             \
			test_checks_passed++;                                           \
		} else {                                                                \
			test_checks_failed++;                                           \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                   \
			fputc('\n', stderr);                                            \
		}                                                                       \
	} while (0)

#define CHECK_MEM(a, b, n, ...) CHECK(memcmp((a), (b), (n)) == 0, __VA_ARGS__)

/* Prints "<name>: N checks passed, M failed" and returns the process exit status. */
int test_done(const char *name);
/* Prints why and exits 77 (meson's skip) when nothing was checked yet. */
void test_skip(const char *why) __attribute__((noreturn));

/* Loads a vector file by relative path (e.g. "wycheproof/x25519_test.json"). On absence: NULL,
 * and *where says where it looked. */
cJSON *test_load_json(const char *relpath, char *where, size_t wherelen);
/* Loads or skips (exit 77, message naming the file) when absent: for GPL material in shared/. */
cJSON *test_load_json_or_skip(const char *relpath);
/* Loads or fails the test (exit 1): for the vectors the project ships. */
cJSON *test_load_json_required(const char *relpath);

/* Hex decode a JSON string member into a malloc'd buffer (never NULL; *len may be 0). -1 on bad hex. */
int test_hex(const char *hex, uint8_t **out, size_t *len);
/* Hex decode into a fixed buffer; -1 unless exactly n bytes. */
int test_hex_fixed(const char *hex, uint8_t *out, size_t n);
/* cJSON helpers: string member or "" when absent. */
const char *test_str(const cJSON *obj, const char *name);

/* Deterministic PRNG for property tests (xoshiro256**); seeds are printed by the tests. */
struct test_rng {
	uint64_t s[4];
};
void test_rng_seed(struct test_rng *r, uint64_t seed);
uint64_t test_rng_next(struct test_rng *r);
void test_rng_bytes(struct test_rng *r, void *buf, size_t n);

#endif
