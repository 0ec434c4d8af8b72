/* SPDX-License-Identifier: MIT */
/* Kernel network interfaces' state, by index (ifstate.c). */
#ifndef MG_IFSTATE_H
#define MG_IFSTATE_H

#include <stdbool.h>

/* Up, with carrier: 1; down or without carrier: 0; -errno when the kernel cannot say (gone). */
int ifstate_link_up(unsigned int ifindex);
/* The interface's MTU; 0 when it has none (no such interface). */
unsigned int ifstate_mtu(unsigned int ifindex);
/* The index of the interface called name; 0 when there is none. */
unsigned int ifstate_index(const char *name);
void ifstate_fini(void);

#endif
