/* SPDX-License-Identifier: MIT */
/*
 * The control thread's core (core.h): its context, the way out to the WAN, and deferred freeing
 * after an RCU grace period.
 */
#include <stdlib.h>

#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <sodium.h>

#include "core.h"
#include "counters.h"

struct ctrl ctrl;

struct deferred {
	void *ptr;
	void (*fn)(void *);
	uint64_t token;
};

static struct deferred *deferred;
static size_t n_deferred, cap_deferred;

void core_defer_free(void *ptr, void (*fn)(void *))
{
	if (n_deferred == cap_deferred) {
		size_t cap = cap_deferred ? cap_deferred * 2 : 64;
		struct deferred *d = realloc(deferred, cap * sizeof(*d));

		if (!d) {
			/* Cannot defer: wait out a grace period here instead (rare, and only slow). */
			rte_rcu_qsbr_synchronize(mg_dev.rcu, RTE_QSBR_THRID_INVALID);
			fn(ptr);
			return;
		}
		deferred = d;
		cap_deferred = cap;
	}
	deferred[n_deferred++] = (struct deferred){ ptr, fn, rte_rcu_qsbr_start(mg_dev.rcu) };
}

static void reclaim(bool all)
{
	size_t kept = 0;

	if (all && n_deferred)
		rte_rcu_qsbr_synchronize(mg_dev.rcu, RTE_QSBR_THRID_INVALID);
	for (size_t i = 0; i < n_deferred; i++) {
		if (all || rte_rcu_qsbr_check(mg_dev.rcu, deferred[i].token, false) == 1)
			deferred[i].fn(deferred[i].ptr);
		else
			deferred[kept++] = deferred[i];
	}
	n_deferred = kept;
}

void core_reclaim(void)
{
	reclaim(false);
}

void core_reclaim_all(void)
{
	reclaim(true);
}

static void reclaim_node(void *ctx, void *node)
{
	(void)ctx;
	core_defer_free(node, free);
}

void core_tx(struct rte_mbuf *m)
{
	if (rte_ring_enqueue(mg_dev.ctrl_tx, m) != 0) {
		mg_drop(MG_DROP_WAN_TX_FULL, 1);
		rte_pktmbuf_free(m);
	}
}

void core_lan_tx(struct rte_mbuf *m)
{
	if (rte_ring_enqueue(mg_dev.lan->tx, m) != 0) {
		mg_drop(MG_DROP_LAN_TX_FULL, 1);
		rte_pktmbuf_free(m);
	}
}

int core_init(void)
{
	static struct allowedips table;
	static const struct allowedips_ops ops = { .reclaim = reclaim_node };
	uint8_t secret[RATELIMIT_SECRET_LEN];
	int ret;

	ctrl.now_ns = mg_now_ns();
	randombytes_buf(secret, sizeof(secret));
	ret = ratelimit_init(&ctrl.ratelimit, secret);
	sodium_memzero(secret, sizeof(secret));
	if (ret)
		return ret;
	allowedips_init(&table, &ops);
	mg_dev.allowedips = &table;
	cookie_checker_init(&ctrl.checker, ctrl.id.static_public);
	return 0;
}

void core_fini(void)
{
	if (mg_dev.allowedips)
		allowedips_fini(mg_dev.allowedips);
	reclaim(true);
	free(deferred);
	deferred = NULL;
	n_deferred = cap_deferred = 0;
	ratelimit_fini(&ctrl.ratelimit);
	cookie_checker_wipe(&ctrl.checker);
	sodium_memzero(&ctrl.id, sizeof(ctrl.id));
}
