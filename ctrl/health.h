/* SPDX-License-Identifier: MIT */
/* Once a second (health.c): the WAN link's state (logged, counted) and the inner TUN's presence
 * (gone: log and stop). */
#ifndef MG_HEALTH_H
#define MG_HEALTH_H

/* inner: the TUN's name; NULL in gateway mode (the LAN port is a DPDK device). */
void health_init(const char *inner);
void health_check(void);
void health_fini(void);

#endif
