/* SPDX-License-Identifier: MIT */
#ifndef MG_INNER_H
#define MG_INNER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

/*
 * The inner side's burst I/O, chosen once at start (mg_dev.inner): host mode's TUN (tunport.c),
 * gateway mode's LAN port (lanport.c), or a bare ethdev port (inner_ethdev.c; the in-memory benchmark's
 * ring). rx fills up to n with inner IP packets (each starting at its IP header); tx takes every
 * packet, sends what it can, counts and frees the rest, and returns how many went out.
 */
struct mg_inner_ops {
	uint16_t (*rx)(uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
	uint16_t (*tx)(uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
};

extern const struct mg_inner_ops mg_inner_tun, mg_inner_ethdev, mg_inner_lan;

#endif
