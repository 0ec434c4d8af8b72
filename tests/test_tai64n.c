/* SPDX-License-Identifier: MIT */
/* TAI64N: known encodings, ordering, and tai64n_now's clock and 2^24 ns rounding. */
#include <string.h>
#include <time.h>

#include "harness.h"
#include "tai64n.h"

#define WHITEN_NS (1U << 24)

struct known {
	uint64_t sec;
	uint32_t nsec;
	const char *hex;
};

static const struct known known[] = {
	{ 0, 0, "400000000000000a00000000" },
	{ 1, 1, "400000000000000b00000001" },
	{ 0, 999999999, "400000000000000a3b9ac9ff" },
	/* 2001-09-09T01:46:40Z */
	{ 1000000000, 0, "400000003b9aca0a00000000" },
	/* 2023-11-14T22:13:20.123456789Z */
	{ 1700000000, 123456789, "400000006553f10a075bcd15" },
	/* after 2038: needs more than 31 bits */
	{ 4294967296ULL, 16777216, "400000010000000a01000000" },
};

static uint64_t be_get(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void test_known(void)
{
	uint8_t out[TAI64N_SIZE], want[TAI64N_SIZE];
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		CHECK(test_hex_fixed(known[i].hex, want, sizeof(want)) == 0, "hex %zu", i);
		tai64n_encode(out, known[i].sec, known[i].nsec);
		CHECK_MEM(out, want, TAI64N_SIZE, "encode %llu.%09u",
			  (unsigned long long)known[i].sec, known[i].nsec);
	}
}

static void test_ordering(void)
{
	static const struct {
		uint64_t sec;
		uint32_t nsec;
	} t[] = { { 0, 0 }, { 0, 1 }, { 0, 255 }, { 0, 256 }, { 0, 999999999 }, { 1, 0 },
		  { 255, 0 }, { 256, 0 }, { 1700000000, 0 }, { 1700000000, 16777216 },
		  { 4294967296ULL, 0 } };
	size_t n = sizeof(t) / sizeof(t[0]);
	uint8_t a[TAI64N_SIZE], b[TAI64N_SIZE];

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			tai64n_encode(a, t[i].sec, t[i].nsec);
			tai64n_encode(b, t[j].sec, t[j].nsec);
			CHECK(!!tai64n_after(a, b) == (i > j), "after(%zu, %zu)", i, j);
		}
	}
}

/* tai64n_now agrees with the clock, never goes back, and hides the low 24 bits of the ns. */
static void test_now(void)
{
	struct timespec ts, pause = { 0, 40 * 1000 * 1000 };
	uint8_t prev[TAI64N_SIZE], cur[TAI64N_SIZE];
	int went_back = 0, unrounded = 0, i;
	uint64_t sec;
	uint32_t nsec;

	clock_gettime(CLOCK_REALTIME, &ts);
	tai64n_now(cur);
	sec = be_get(cur, 8) - ((1ULL << 62) + 10);
	CHECK(sec + 1 >= (uint64_t)ts.tv_sec && sec <= (uint64_t)ts.tv_sec + 1,
	      "now %llu vs clock %lld", (unsigned long long)sec, (long long)ts.tv_sec);
	for (i = 0; i < 2000; i++) {
		memcpy(prev, cur, sizeof(cur));
		tai64n_now(cur);
		nsec = (uint32_t)be_get(cur + 8, 4);
		went_back |= tai64n_after(prev, cur);
		unrounded |= nsec % WHITEN_NS != 0 || nsec >= 1000000000U;
	}
	CHECK(!went_back, "tai64n_now went back");
	CHECK(!unrounded, "nanoseconds rounded down to 2^24 and below 1 s");
	/* 40 ms is more than two 16.8 ms steps, so the timestamp must advance. */
	memcpy(prev, cur, sizeof(cur));
	nanosleep(&pause, NULL);
	tai64n_now(cur);
	CHECK(tai64n_after(cur, prev), "advances after 40 ms");
}

int main(void)
{
	test_known();
	test_ordering();
	test_now();
	return test_done("tai64n");
}
