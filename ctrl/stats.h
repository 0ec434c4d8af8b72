/* SPDX-License-Identifier: MIT */
#ifndef MG_STATS_H
#define MG_STATS_H

void stats_init(const char *ifname);
/* Rewrite the counters file (once a second from the control loop). */
void stats_write(void);
/* Remove the file (clean shutdown). */
void stats_fini(void);

#endif
