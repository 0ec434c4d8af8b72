/* SPDX-License-Identifier: MIT */
/* TAI64N timestamps as WireGuard sends them in initiations: 8-byte big-endian seconds + 2^62 + 10,
 * 4-byte big-endian nanoseconds. */
#ifndef MG_TAI64N_H
#define MG_TAI64N_H

#include <stdint.h>

#define TAI64N_SIZE 12

/* Encode a wall-clock time (Unix seconds, nanoseconds). */
void tai64n_encode(uint8_t out[TAI64N_SIZE], uint64_t unix_sec, uint32_t nsec);
/* Current time, with nanoseconds rounded down to a multiple of 2^24 ns (about 16.8 ms) as
 * WireGuard does, so the timestamp does not reveal a fine-grained clock. */
void tai64n_now(uint8_t out[TAI64N_SIZE]);
/* Byte order is chronological, so "newer" is memcmp > 0. */
int tai64n_after(const uint8_t a[TAI64N_SIZE], const uint8_t b[TAI64N_SIZE]);

#endif
