/* SPDX-License-Identifier: MIT */
#ifndef MG_PORT_H
#define MG_PORT_H

#include <rte_ethdev.h>

#include "config.h"

/* EAL arguments that create the config's virtual WAN device, if it is one. Appends
 * to argv (which has room for max entries) and returns the new argc. */
int port_eal_vdev_args(const struct mg_config *cfg, char **argv, int argc, int max);
/* Ports, mempool, rings, RCU and the TUN's addresses: 0 or -errno, with a message printed. */
int port_setup(const struct mg_config *cfg);
int port_launch_workers(void);
/* Stops and frees everything; returns the mbufs missing from the pool at the end (a leak). */
unsigned int port_teardown(void);

/* The WAN port's offloads from what the device offers, for nq queues: RSS over addresses and UDP
 * ports, IPv4 checksums checked on receive, chained mbufs on send (sets mg_dev.wan_multi_seg). */
void port_offloads(const struct rte_eth_dev_info *info, unsigned int nq, struct rte_eth_conf *conf);

#endif
