/* SPDX-License-Identifier: MIT */
/*
 * The control thread's loop: what the workers hand over (neighbour and handshake frames, events),
 * the peers' timers, the once-a-second chores (neighbour confirmation, health, counters file), and
 * the UAPI socket, whose poll() is where the loop sleeps when there is nothing else to do.
 */
#ifndef MG_LOOP_H
#define MG_LOOP_H

#include <stdint.h>

#include "config.h"
#include "events.h"

/* Everything from the configuration: the core, the peers, gateway mode's LAN side, the policy
 * (taken from cfg->policy, which is left NULL), the counters file, health checks and the UAPI
 * socket. 0 or -errno. */
int loop_init(struct mg_config *cfg);
/* Until mg_dev.quit. */
void loop_run(void);
/* One turn at protocol time now (the in-process tests' clock); how much work it found. */
unsigned int loop_turn(uint64_t now);
void loop_fini(void);
/* What a turn does with one worker event (a peer or keypair it names may be gone). */
void loop_handle_event(const struct mg_event *ev);

#endif
