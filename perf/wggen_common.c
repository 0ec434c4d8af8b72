/* SPDX-License-Identifier: MIT */
/*
 * wggen_common: helpers shared by wggen (perf/wggen*.c, the benchmarks' generator) and wgflood
 * (tests/tools/wgflood.c, the attack tests' flooder). See wggen_common.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "wggen_common.h"

uint64_t wggen_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void wggen_sleep_until(uint64_t t)
{
	uint64_t now = wggen_now_ns();

	/* Sleep for long waits only: nanosleep overshoots by ~60 us, which would cap the rate. */
	if (t > now + 200000) {
		struct timespec ts = { 0, (long)(t - now - 100000) };

		nanosleep(&ts, NULL);
	}
	while (wggen_now_ns() < t)
		__builtin_ia32_pause();
}

uint16_t wggen_ip4_checksum(const uint8_t *h)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void wggen_put_ip4(uint8_t *p, uint16_t total_len, uint8_t proto, uint32_t src, uint32_t dst,
		   uint16_t frag)
{
	p[0] = 0x45;
	p[1] = 0;
	wggen_put16(p + 2, total_len);
	wggen_put16(p + 4, 0);
	wggen_put16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	wggen_put16(p + 10, 0);
	memcpy(p + 12, &src, 4);
	memcpy(p + 16, &dst, 4);
	wggen_put16(p + 10, wggen_ip4_checksum(p));
}

int wggen_parse_addr(struct sockaddr_in *sa, const char *text)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	size_t hl = colon ? (size_t)(colon - text) : strlen(text);

	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, hl);
	host[hl] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(colon ? (uint16_t)atoi(colon + 1) : 0);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}
