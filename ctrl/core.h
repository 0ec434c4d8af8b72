/* SPDX-License-Identifier: MIT */
/*
 * The control thread's core, what every other part of ctrl/ stands on: its context (identity,
 * cookie checker, rate limiter, the protocol clock of this turn, what happened for the counters),
 * the way out to the WAN (through a worker), and freeing what workers may still hold after an RCU
 * grace period. The control thread runs on the main lcore, never on the packet path: it learns what
 * happens there from the rings and the peers' worker-written fields, and changes what workers see
 * only by publishing complete objects (contract/device.h has the rules).
 *
 * ctrl/ is layered, bottom up (scripts/check-layers.py checks it): core; neigh, health; peers, lan,
 * filter; hs, icmp; apply, stats; uapi_server; loop. A file calls only into the layers below it.
 */
#ifndef MG_CORE_H
#define MG_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "config.h"
#include "cookie.h"
#include "device.h"
#include "handshake.h"
#include "ratelimit.h"

struct ctrl {
	struct handshake_identity id;
	struct cookie_checker checker;
	struct ratelimit ratelimit;
	uint64_t last_under_load_ns;
	uint64_t now_ns;
	uint32_t n_peers;
	const struct mg_config *cfg;
	/* What happened, for the counters file (stats.c). */
	uint64_t initiations_sent, responses_sent, sessions, handshakes_given_up;
	uint64_t wan_link_changes, lan_link_changes;
	uint64_t icmp_errors_sent, echo_replies_sent;
	bool wan_up, lan_up;
	bool inner_gone; /* the inner TUN was deleted: stopping (main's exit status says so) */
	const char *config_path;          /* for a reload of the policy (SIGHUP) */
	volatile int reload;              /* set by the SIGHUP handler */
};

extern struct ctrl ctrl;

/* The context's state (rate limiter, allowed-IPs table, cookie checker): 0 or -errno. */
int core_init(void);
void core_fini(void);
/* Queue a frame for a worker to send on the WAN; frees it (counted) when the ring is full. */
void core_tx(struct rte_mbuf *m);
/* The same for the LAN port (gateway mode). */
void core_lan_tx(struct rte_mbuf *m);
/* Free ptr with fn after an RCU grace period (workers may still hold it). */
void core_defer_free(void *ptr, void (*fn)(void *));
/* Free what has passed its grace period (each turn of the loop). */
void core_reclaim(void);
/* Wait for a grace period and free everything deferred (rare: it blocks the control thread). */
void core_reclaim_all(void);

#endif
