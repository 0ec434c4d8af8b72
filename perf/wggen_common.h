/* SPDX-License-Identifier: MIT */
/*
 * wggen_common: the helpers that two traffic programs share, and nothing of either's options or
 * state:
 *   wggen    (perf/wggen*.c)         the benchmarks' WireGuard peer that generates and counts
 *   wgflood  (tests/tools/wgflood.c) the attack tests' flooder: raw frames with spoofed sources
 * Both take from here the monotonic clock and pacing to it, big-endian 16-bit fields, the IPv4
 * header with its checksum, and IP[:PORT] parsing. perf/meson.build builds it as a static library
 * of its own (wggen_common_dep) that both link.
 */
#ifndef MG_WGGEN_COMMON_H
#define MG_WGGEN_COMMON_H

#include <netinet/in.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t wggen_now_ns(void);
/* Pace to t (wggen_now_ns): sleep for long waits, then spin. */
void wggen_sleep_until(uint64_t t);

/* Network byte order 16-bit fields, at any alignment (inline: they are per packet). */
static inline void wggen_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline uint16_t wggen_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The checksum of a 20-byte IPv4 header (its checksum field zero), host order. */
uint16_t wggen_ip4_checksum(const uint8_t *h);
/* A 20-byte IPv4 header (no options, TTL 64, identification 0) at p, its checksum set; addresses
 * in network order, frag (flags and fragment offset) in host order. */
void wggen_put_ip4(uint8_t *p, uint16_t total_len, uint8_t proto, uint32_t src, uint32_t dst,
		   uint16_t frag);

/* "IP" or "IP:PORT" (IPv4; port 0 when absent): 0, or -EINVAL. */
int wggen_parse_addr(struct sockaddr_in *sa, const char *text);

#endif
