/* SPDX-License-Identifier: MIT */
/* Configuration changes (apply.c): from the config file at start and from UAPI "set". */
#ifndef MG_APPLY_H
#define MG_APPLY_H

#include "devconf.h"

/* A whole configuration change, validated first; 0 or -errno with nothing changed. */
int apply_devconf(const struct devconf *c);
/* The running configuration for "get". */
int apply_snapshot(struct devconf *out);

#endif
