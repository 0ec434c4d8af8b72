/* SPDX-License-Identifier: MIT */
#ifndef MG_TUNPORT_H
#define MG_TUNPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "device.h"
#include "inner.h"

/* Creates (or attaches to) the TUN interface name with one non-blocking queue per worker: 0 or
 * -errno, nothing left open on failure. Closing the last queue removes the interface. */
int tunport_open(const char *name, unsigned int queues);
void tunport_close(void);

/* Burst I/O on one queue (a worker's own): rx reads up to n packets into mbufs from mg_dev.pool;
 * tx writes what the kernel takes, returns how many, counts the rest (inner_tx_full, or inner_down
 * when the interface refused for another reason than a full queue) and frees every mbuf. */
uint16_t tunport_rx(uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t tunport_tx(uint16_t queue, struct rte_mbuf **pkts, uint16_t n);

#endif
