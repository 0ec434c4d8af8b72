/* SPDX-License-Identifier: MIT */
/* The packet filter and the flow tables, control thread's side (filter.c). */
#ifndef MG_FILTER_H
#define MG_FILTER_H

#include <stdio.h>

#include "config.h"

/* Publishes policy (may be NULL: accept everything) as a new filter generation; the filter takes
 * it. 0 or -ENOMEM (then policy is freed and the old filter stays). */
int filter_publish(struct policy *policy);
/* Reads the config file at path again and publishes its policy block: on SIGHUP. Other changes in
 * the file need a restart (peers change through wg); a file that does not parse changes nothing.
 * Logged either way; 0 or -errno. */
int filter_reload(const char *path);
void filter_fini(void);
/* The filter's rule hits, the flow tables' counts and the largest flows, in Prometheus text. */
void filter_write_stats(FILE *f);

#endif
