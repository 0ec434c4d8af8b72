/* SPDX-License-Identifier: MIT */
/*
 * Gateway mode's LAN side, control thread (mg_dev.lan; dataplane/lanport.c is the workers' half):
 *  - the routes: every LAN prefix on link, and inner.routes through their next hops, in an
 *    allowed-IPs table the workers look up (fixed at start);
 *  - the neighbours: neigh.c's engine on the LAN port (ARP and ND answered for our LAN addresses,
 *    next hops resolved, confirmed and probed as Linux does), published to the workers as an
 *    immutable snapshot, rebuilt when an entry is learned or moves; entries the workers used are
 *    checked once a second, so one gone stale is probed while traffic goes to it;
 *  - packets whose next hop has no MAC yet (the workers hand them over): held, at most
 *    LAN_PENDING_PER_HOP per next hop and LAN_PENDING_MAX in all, sent as soon as the neighbour
 *    answers, dropped as lan_unresolved after LAN_PENDING_NS (Linux's neighbour queue and its three
 *    solicitations a second apart), with an ICMP host unreachable to the sender as Linux sends.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_ring.h>

#include "core.h"
#include "counters.h"
#include "icmperr.h"
#include "lan.h"
#include "neigh.h"

#define LAN_PENDING_MAX 256                  /* mbufs held in all (MG_LAN_RING_MBUFS counts them) */
#define LAN_PENDING_PER_HOP 16
#define LAN_PENDING_NS (3ULL * 1000000000ULL)
#define LAN_CHECK_NS (1000000000ULL)
#define LAN_BATCH 64

struct pending {
	struct rte_mbuf *m;
	int family;
	uint8_t hop[16];
	uint64_t deadline_ns;
};

static struct pending pending[LAN_PENDING_MAX];
static unsigned int n_pending;
static struct mg_lan_route routes[CONFIG_MAX_ROUTES + MG_MAX_WAN_ADDRS];
static uint64_t neigh_seen, next_check_ns;
static struct icmperr_limit unreachable_limit;

static size_t alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

static void reclaim_node(void *ctx, void *node)
{
	(void)ctx;
	core_defer_free(node, free);
}

int lan_init(const struct mg_config *cfg)
{
	static const struct allowedips_ops ops = { .reclaim = reclaim_node };
	struct mg_lan *lan = mg_dev.lan;
	unsigned int n = 0;
	int ret = 0;

	allowedips_init(&lan->routes, &ops);
	for (unsigned int i = 0; i < lan->n_addrs && !ret; i++) {
		routes[n] = (struct mg_lan_route){ .family = lan->addrs[i].family, .on_link = true };
		ret = allowedips_insert(&lan->routes, lan->addrs[i].family, lan->addrs[i].addr,
					lan->addrs[i].prefix_len, &routes[n++]);
	}
	for (size_t i = 0; i < cfg->inner.n_routes && !ret; i++) {
		const struct config_route *r = &cfg->inner.routes[i];

		routes[n] = (struct mg_lan_route){ .family = r->family };
		memcpy(routes[n].via, r->via, 16);
		ret = allowedips_insert(&lan->routes, r->family, r->addr, r->prefix_len, &routes[n++]);
	}
	neigh_lan_init();
	neigh_seen = neigh_lan_changes();
	icmperr_limit_init(&unreachable_limit, 1000, 50);
	return ret;
}

void lan_fini(void)
{
	struct mg_lan *lan = mg_dev.lan;

	for (unsigned int i = 0; i < n_pending; i++)
		rte_pktmbuf_free(pending[i].m);
	n_pending = 0;
	allowedips_fini(&lan->routes);
	core_defer_free(lan->neighs, free);
	lan->neighs = NULL;
}

/* ---- the workers' snapshot ---- */

struct build {
	struct mg_lan_neighs *t;
	unsigned int count;
};

static void count_one(void *arg, int family, const uint8_t *addr, const struct rte_ether_addr *mac)
{
	(void)family;
	(void)addr;
	(void)mac;
	((struct build *)arg)->count++;
}

static void insert_one(void *arg, int family, const uint8_t *addr, const struct rte_ether_addr *mac)
{
	struct mg_lan_neighs *t = ((struct build *)arg)->t;
	uint32_t i = mg_lan_neigh_hash(family, addr) & t->mask;

	while (t->slot[i].family)
		i = (i + 1) & t->mask;
	t->slot[i].mac = *mac;
	memcpy(t->slot[i].addr, addr, alen(family));
	t->slot[i].family = (uint8_t)family;
}

/* A new snapshot of the resolved neighbours, at most half full; the old one freed after a grace
 * period. Without memory the old one stays (and the next change tries again). */
static void publish(void)
{
	struct build b = { 0 };
	uint32_t slots = 16;
	struct mg_lan_neighs *old = mg_dev.lan->neighs;

	neigh_lan_walk(count_one, &b);
	while (slots < 2 * b.count)
		slots *= 2;
	b.t = calloc(1, sizeof(*b.t) + slots * sizeof(b.t->slot[0]));
	if (!b.t)
		return;
	b.t->mask = slots - 1;
	neigh_lan_walk(insert_one, &b);
	__atomic_store_n(&mg_dev.lan->neighs, b.t, __ATOMIC_RELEASE);
	if (old)
		core_defer_free(old, free);
	neigh_seen = neigh_lan_changes();
}

/* ---- packets waiting for a next hop ---- */

/* The next hop towards an inner packet's destination; false without a route. */
static bool next_hop(struct rte_mbuf *m, int *family, uint8_t hop[16])
{
	const uint8_t *ip = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *dst;
	const struct mg_lan_route *r;

	*family = (ip[0] >> 4) == 4 ? AF_INET : AF_INET6;
	dst = *family == AF_INET ? ip + 16 : ip + 24;
	r = allowedips_lookup(&mg_dev.lan->routes, *family, dst);
	if (!r)
		return false;
	memset(hop, 0, 16);
	memcpy(hop, r->on_link ? dst : r->via, alen(*family));
	return true;
}

/* Out on the LAN with an Ethernet header to mac (the packet's TTL was decremented by the worker). */
static void send_to(struct rte_mbuf *m, int family, const struct rte_ether_addr *mac)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, RTE_ETHER_HDR_LEN);

	if (!eth) {
		mg_drop(MG_DROP_NO_ROOM, 1);
		rte_pktmbuf_free(m);
		return;
	}
	eth->dst_addr = *mac;
	eth->src_addr = mg_dev.lan->mac;
	eth->ether_type = rte_cpu_to_be_16(family == AF_INET ? RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6);
	core_lan_tx(m);
}

void lan_send(struct rte_mbuf *m)
{
	struct rte_ether_addr mac;
	unsigned int same = 0;
	uint8_t hop[16];
	int family;

	if (!next_hop(m, &family, hop)) {
		mg_drop(MG_DROP_LAN_NO_ROUTE, 1);
		rte_pktmbuf_free(m);
		return;
	}
	/* Resolved since the worker's snapshot, or a request goes out now. */
	if (neigh_lan_lookup(family, hop, &mac)) {
		send_to(m, family, &mac);
		return;
	}
	for (unsigned int i = 0; i < n_pending; i++)
		same += pending[i].family == family && memcmp(pending[i].hop, hop, 16) == 0;
	if (same >= LAN_PENDING_PER_HOP || n_pending == LAN_PENDING_MAX) {
		mg_drop(MG_DROP_LAN_UNRESOLVED, 1);
		rte_pktmbuf_free(m);
		return;
	}
	pending[n_pending] = (struct pending){ .m = m, .family = family, .deadline_ns = ctrl.now_ns + LAN_PENDING_NS };
	memcpy(pending[n_pending++].hop, hop, 16);
}

/* Send what resolved, in arrival order; drop what waited too long; ask again for the rest (the
 * engine sends at most one request a second per address). */
static void flush_pending(bool expire)
{
	unsigned int kept = 0;

	for (unsigned int i = 0; i < n_pending; i++) {
		struct pending *p = &pending[i];
		struct rte_ether_addr mac;

		/* Expiry first: asking again as the last one goes would be a fourth solicitation. */
		if (expire && ctrl.now_ns >= p->deadline_ns) {
			/* As Linux on a failed resolution: host unreachable, to whoever sent it, within
			 * the rate the workers keep (the icmp_req ring is sized for that). */
			mg_drop(MG_DROP_LAN_UNRESOLVED, 1);
			mg_icmp_request(p->m, ICMPERR_HOST_UNREACHABLE, true, 0);
			if (!icmperr_limit_allow(&unreachable_limit, ctrl.now_ns) ||
			    rte_ring_enqueue(mg_dev.icmp_req, p->m) != 0)
				rte_pktmbuf_free(p->m);
		} else if (neigh_lan_lookup(p->family, p->hop, &mac)) {
			send_to(p->m, p->family, &mac);
		} else {
			pending[kept++] = *p;
		}
	}
	n_pending = kept;
}

/* Entries the workers used since the last check: the engine probes those gone stale. */
static void check_used(void)
{
	struct mg_lan_neighs *t = mg_dev.lan->neighs;
	struct rte_ether_addr mac;

	for (uint32_t i = 0; t && i <= t->mask; i++) {
		struct mg_lan_neigh *e = &t->slot[i];

		if (e->family && __atomic_load_n(&e->used, __ATOMIC_RELAXED)) {
			__atomic_store_n(&e->used, 0, __ATOMIC_RELAXED);
			neigh_lan_lookup(e->family, e->addr, &mac);
		}
	}
}

unsigned int lan_turn(void)
{
	struct mg_lan *lan = mg_dev.lan;
	struct rte_mbuf *m[LAN_BATCH];
	unsigned int n, work;
	bool second = ctrl.now_ns >= next_check_ns;

	n = rte_ring_dequeue_burst(lan->to_neigh, (void **)m, LAN_BATCH, NULL);
	for (unsigned int i = 0; i < n; i++)
		neigh_lan_input(m[i]);
	work = n;
	n = rte_ring_dequeue_burst(lan->unresolved, (void **)m, LAN_BATCH, NULL);
	for (unsigned int i = 0; i < n; i++)
		lan_send(m[i]);
	work += n;
	if (neigh_lan_changes() != neigh_seen || !lan->neighs) {
		publish();
		flush_pending(false);
	}
	if (second) {
		next_check_ns = ctrl.now_ns + LAN_CHECK_NS;
		flush_pending(true);
		check_used();
	}
	return work;
}
