/* SPDX-License-Identifier: MIT */
#ifndef MG_INNER_H
#define MG_INNER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

/*
 * The inner side's burst I/O, chosen once at start (mg_dev.inner): host mode's TUN (tunport.c) or
 * an ethdev port (inner_ethdev.c; the in-memory benchmark's ring). ethdev burst semantics: rx fills
 * up to n; tx takes and frees what the device accepted and returns how many, setting *down when it
 * refused for another reason than a full queue.
 */
struct mg_inner_ops {
	uint16_t (*rx)(uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
	uint16_t (*tx)(uint16_t queue, struct rte_mbuf **pkts, uint16_t n, bool *down);
};

extern const struct mg_inner_ops mg_inner_tun, mg_inner_ethdev;

#endif
