/* SPDX-License-Identifier: MIT */
/*
 * The shared device state's life cycle (contract/device.h): the mbuf pool, sized for the MTUs, the
 * rings between the workers and the control thread, RCU. Ports are daemon/port.c's; this part is
 * also what an in-memory benchmark needs to run the real workers without a TUN or a NIC.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_ring_elem.h>

#include "device.h"
#include "device_setup.h"
#include "frag.h"

#define RING_SIZE 1024
#define NEIGH_RING_SIZE 256
#define ICMP_RING_SIZE 256 /* ICMP errors: rate-limited by each worker before they get here */
#define HANDOFF_RING_SIZE 1024 /* packets on their way to their flow's worker, per worker */
#define CRYPT_RING_SIZE 256    /* batches (spread.c): each distributor has at most 16 out */
/* All staging rings together: what the pool holds beyond the ports and the rings, so peers whose
 * handshakes never complete cannot take the mbufs that WAN receive needs. */
#define STAGED_MAX 8192

static int create_rings(void)
{
	mg_dev.to_ctrl = rte_ring_create("mg_to_ctrl", RING_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
	mg_dev.to_neigh = rte_ring_create("mg_to_neigh", NEIGH_RING_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
	mg_dev.ctrl_tx = rte_ring_create("mg_ctrl_tx", RING_SIZE, SOCKET_ID_ANY, RING_F_SP_ENQ);
	mg_dev.events = rte_ring_create_elem("mg_events", sizeof(struct mg_event), RING_SIZE,
					     SOCKET_ID_ANY, RING_F_SC_DEQ);
	mg_dev.flush = rte_ring_create("mg_flush", RING_SIZE, SOCKET_ID_ANY, RING_F_SP_ENQ);
	mg_dev.icmp_req = rte_ring_create("mg_icmp_req", ICMP_RING_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
	mg_dev.to_mesh = rte_ring_create("mg_to_mesh", ICMP_RING_SIZE, SOCKET_ID_ANY, RING_F_SP_ENQ);
	mg_dev.to_inner = rte_ring_create("mg_to_inner", ICMP_RING_SIZE, SOCKET_ID_ANY, RING_F_SP_ENQ);
	for (unsigned int i = 0; mg_dev.n_workers > 1 && i < mg_dev.n_workers; i++) {
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "mg_handoff%u", i);
		mg_dev.handoff[i] = rte_ring_create(name, HANDOFF_RING_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
		if (!mg_dev.handoff[i])
			return -ENOMEM;
		if (!mg_dev.spread)
			continue;
		snprintf(name, sizeof(name), "mg_crypt%u", i);
		mg_dev.crypt[i] = rte_ring_create(name, CRYPT_RING_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
		if (!mg_dev.crypt[i])
			return -ENOMEM;
	}
	return mg_dev.to_ctrl && mg_dev.to_neigh && mg_dev.ctrl_tx && mg_dev.events && mg_dev.flush &&
	       mg_dev.icmp_req && mg_dev.to_mesh && mg_dev.to_inner ? 0 : -ENOMEM;
}

static int create_rcu(void)
{
	size_t sz = rte_rcu_qsbr_get_memsize(mg_dev.n_workers);

	mg_dev.rcu = rte_zmalloc("mg_rcu", sz, RTE_CACHE_LINE_SIZE);
	if (!mg_dev.rcu)
		return -ENOMEM;
	return rte_rcu_qsbr_init(mg_dev.rcu, mg_dev.n_workers);
}

uint16_t device_data_room(uint16_t inner_mtu, uint16_t wan_mtu)
{
	/* An inner packet with the encrypt path's tail (padding, tag) behind it and its headers in the
	 * headroom; a received WAN frame (a VLAN tag's worth spare); a datagram reassembled from
	 * fragments, whole: at least DPDK's default. */
	uint32_t room = RTE_MAX(RTE_MAX((uint32_t)inner_mtu + MG_WG_OVERHEAD, (uint32_t)wan_mtu + RTE_ETHER_HDR_LEN + 4),
				(uint32_t)RTE_MBUF_DEFAULT_DATAROOM);

	return (uint16_t)(RTE_PKTMBUF_HEADROOM + RTE_ALIGN_CEIL(room, 1024));
}

int device_create(unsigned int n_workers, unsigned int port_mbufs, uint16_t inner_mtu, uint16_t wan_mtu)
{
	mg_dev.n_workers = n_workers;
	mg_dev.inner_mtu = inner_mtu;
	mg_dev.wan_mtu = wan_mtu;
	mg_dev.wan_frame_max = (uint16_t)(wan_mtu + RTE_ETHER_HDR_LEN);
	/* The ports' descriptors, the rings in between, the staging rings' worth, and what the
	 * reassembly tables may hold. */
	mg_dev.staged_max = STAGED_MAX;
	mg_dev.staged = 0;
	mg_dev.pool = rte_pktmbuf_pool_create("mg_pool", port_mbufs + 4 * RING_SIZE + NEIGH_RING_SIZE +
					      3 * ICMP_RING_SIZE + (n_workers > 1 ? n_workers * HANDOFF_RING_SIZE : 0) +
					      STAGED_MAX +
					      frag_pool_mbufs(n_workers), 256, 0,
					      device_data_room(inner_mtu, wan_mtu), rte_socket_id());
	/* Fragments we send point into the packet they were cut from: mbufs without data of their own. */
	mg_dev.indirect_pool = rte_pktmbuf_pool_create("mg_indirect", 1024 * n_workers + 1023, 32, 0, 0,
						       rte_socket_id());
	if (!mg_dev.pool || !mg_dev.indirect_pool)
		return -ENOMEM;
	return create_rings() ?: create_rcu();
}

int device_create_lan(void)
{
	static struct mg_lan lan;

	lan.to_neigh = rte_ring_create("mg_lan_neigh", NEIGH_RING_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
	lan.unresolved = rte_ring_create("mg_lan_unres", RING_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
	lan.tx = rte_ring_create("mg_lan_tx", RING_SIZE, SOCKET_ID_ANY, RING_F_SP_ENQ);
	mg_dev.lan = &lan;
	return lan.to_neigh && lan.unresolved && lan.tx ? 0 : -ENOMEM;
}

/* Return what is still in flight between the threads to the pool (workers have stopped). */
static void drain_ring(struct rte_ring *r)
{
	struct rte_mbuf *m;

	while (r && rte_ring_dequeue(r, (void **)&m) == 0)
		rte_pktmbuf_free(m);
}

unsigned int device_destroy(void)
{
	unsigned int leaked = 0;

	drain_ring(mg_dev.to_ctrl);
	drain_ring(mg_dev.to_neigh);
	drain_ring(mg_dev.ctrl_tx);
	drain_ring(mg_dev.icmp_req);
	drain_ring(mg_dev.to_mesh);
	drain_ring(mg_dev.to_inner);
	for (unsigned int i = 0; i < MG_MAX_WORKERS; i++)
		drain_ring(mg_dev.handoff[i]);
	if (mg_dev.lan) {
		drain_ring(mg_dev.lan->to_neigh);
		drain_ring(mg_dev.lan->unresolved);
		drain_ring(mg_dev.lan->tx);
	}
	/* Every holder of mbufs (TUN stashes, staging rings, the rings above) has given them back by
	 * now, and the ports are closed: anything still out of the pool, beyond what the ports kept
	 * from the start, is a leak. */
	if (mg_dev.pool && rte_mempool_in_use_count(mg_dev.pool) > mg_dev.pool_kept_by_ports)
		leaked = rte_mempool_in_use_count(mg_dev.pool) - mg_dev.pool_kept_by_ports;
	rte_ring_free(mg_dev.to_ctrl);
	rte_ring_free(mg_dev.to_neigh);
	rte_ring_free(mg_dev.ctrl_tx);
	rte_ring_free(mg_dev.events);
	rte_ring_free(mg_dev.flush);
	rte_ring_free(mg_dev.icmp_req);
	rte_ring_free(mg_dev.to_mesh);
	rte_ring_free(mg_dev.to_inner);
	mg_dev.icmp_req = mg_dev.to_mesh = mg_dev.to_inner = NULL;
	for (unsigned int i = 0; i < MG_MAX_WORKERS; i++) {
		rte_ring_free(mg_dev.handoff[i]);
		rte_ring_free(mg_dev.crypt[i]); /* pointers into the workers' FIFOs (spread_fini) */
		mg_dev.handoff[i] = mg_dev.crypt[i] = NULL;
	}
	if (mg_dev.lan) {
		rte_ring_free(mg_dev.lan->to_neigh);
		rte_ring_free(mg_dev.lan->unresolved);
		rte_ring_free(mg_dev.lan->tx);
		mg_dev.lan->to_neigh = mg_dev.lan->unresolved = mg_dev.lan->tx = NULL;
		mg_dev.lan = NULL;
	}
	rte_free(mg_dev.rcu);
	rte_mempool_free(mg_dev.pool);
	rte_mempool_free(mg_dev.indirect_pool);
	mg_dev.indirect_pool = NULL;
	mg_dev.to_ctrl = mg_dev.to_neigh = mg_dev.ctrl_tx = mg_dev.events = mg_dev.flush = NULL;
	mg_dev.rcu = NULL;
	mg_dev.pool = NULL;
	return leaked;
}
