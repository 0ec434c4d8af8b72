/* SPDX-License-Identifier: MIT */
/*
 * Set-up of everything the paths use: the WAN port (one RX and one TX queue per worker), the inner
 * side -- host mode's TUN (one queue per worker, tunport.c) as the kernel sees it, or gateway mode's
 * LAN port (one queue pair per worker, dataplane/lanport.c) -- and the shared device state
 * (device.c). Runs once, before any worker starts.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "device_setup.h"
#include "ifstate.h"
#include "neigh.h"
#include "port.h"
#include "tun.h"
#include "tunport.h"
#include "worker.h"

#define RX_DESC 1024
#define TX_DESC 1024

static bool is_vdev(const char *dev)
{
	return strncmp(dev, "net_", 4) == 0;
}

int port_eal_vdev_args(const struct mg_config *cfg, char **argv, int argc, int max)
{
	if (is_vdev(cfg->wan.device) && argc + 2 <= max) {
		argv[argc++] = "--vdev";
		argv[argc++] = (char *)cfg->wan.device;
	}
	if (cfg->inner.device && is_vdev(cfg->inner.device) && argc + 2 <= max) {
		argv[argc++] = "--vdev";
		argv[argc++] = (char *)cfg->inner.device;
	}
	return argc;
}

/* The ethdev port of a device string: its name is the part before the first ','. */
static int find_port(const char *dev, uint16_t *port)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	size_t len = strcspn(dev, ",");

	if (len >= sizeof(name))
		return -ENAMETOOLONG;
	memcpy(name, dev, len);
	name[len] = 0;
	return rte_eth_dev_get_port_by_name(name, port);
}

/*
 * Offloads where the device has them: RSS over addresses and UDP ports across the workers' queues
 * (fragments, which carry no ports, hash by addresses so a datagram's fragments meet in one
 * worker's reassembly table), the IPv4 header checksum checked on receive, chained mbufs on send
 * (for fragments; without it they are linearized). AF_XDP has none of these in DPDK 22.11: there the
 * kernel's own RSS spreads frames over the queues.
 */
void port_offloads(const struct rte_eth_dev_info *info, unsigned int nq, struct rte_eth_conf *conf)
{
	if (nq > 1 && info->flow_type_rss_offloads) {
		conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf->rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info->flow_type_rss_offloads;
	}
	conf->rxmode.offloads |= info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	conf->txmode.offloads |= info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	mg_dev.wan_multi_seg = (conf->txmode.offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
}

/* The LAN port's: RSS over addresses and TCP and UDP ports, so one inner flow stays on one worker
 * (in order) while flows spread; IPv4 header checksums checked on receive. Sends are one segment. */
static void lan_offloads(const struct rte_eth_dev_info *info, unsigned int nq, struct rte_eth_conf *conf)
{
	if (nq > 1 && info->flow_type_rss_offloads) {
		conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf->rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
						    info->flow_type_rss_offloads;
	}
	conf->rxmode.offloads |= info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
}

static int start_port(uint16_t port, const char *what, unsigned int nq, bool wan)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	int ret = rte_eth_dev_info_get(port, &info);

	if (ret)
		return ret;
	if (info.max_rx_queues < nq || info.max_tx_queues < nq) {
		fprintf(stderr, "meshgate: %s supports %u queue(s), %u worker(s) need one each "
			"(use fewer lcores, or a device with more queues)\n", what,
			RTE_MIN(info.max_rx_queues, info.max_tx_queues), nq);
		return -EINVAL;
	}
	if (wan)
		port_offloads(&info, nq, &conf);
	else
		lan_offloads(&info, nq, &conf);
	ret = rte_eth_dev_configure(port, (uint16_t)nq, (uint16_t)nq, &conf);
	for (uint16_t q = 0; q < nq && !ret; q++) {
		ret = rte_eth_rx_queue_setup(port, q, RX_DESC, rte_eth_dev_socket_id(port), NULL, mg_dev.pool);
		if (!ret)
			ret = rte_eth_tx_queue_setup(port, q, TX_DESC, rte_eth_dev_socket_id(port), NULL);
	}
	if (!ret)
		ret = rte_eth_dev_start(port);
	if (ret)
		fprintf(stderr, "meshgate: %s: cannot start: %s\n", what, strerror(-ret));
	else if (conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS)
		RTE_LOG(INFO, USER1, "%s: RSS over %u queues (hash functions 0x%" PRIx64 ")\n", what, nq,
			conf.rx_adv_conf.rss_conf.rss_hf);
	return ret;
}

/*
 * The WAN MTU: wan.mtu when configured (and set on the port), else the kernel interface's behind a
 * kernel-backed port, else the port's own. Outer packets above it leave as IP fragments. Then the
 * buffers this needs must be ones the port can take.
 */
static int wan_mtu(const struct mg_config *cfg, uint16_t port, uint16_t *mtu)
{
	struct rte_eth_dev_info info;
	unsigned int room, page = (unsigned int)sysconf(_SC_PAGESIZE);
	int ret = rte_eth_dev_info_get(port, &info);

	if (ret)
		return ret;
	if (cfg->wan.mtu) {
		ret = rte_eth_dev_set_mtu(port, cfg->wan.mtu);
		if (ret && ret != -ENOTSUP) {
			fprintf(stderr, "meshgate: wan.mtu %u: %s cannot take it: %s\n", cfg->wan.mtu,
				cfg->wan.device, strerror(-ret));
			return ret;
		}
		*mtu = cfg->wan.mtu;
	} else if (!(*mtu = (uint16_t)ifstate_mtu(info.if_index)) && rte_eth_dev_get_mtu(port, mtu) != 0) {
		*mtu = RTE_ETHER_MTU;
	}
	if (*mtu < RTE_ETHER_MIN_MTU) {
		fprintf(stderr, "meshgate: the WAN MTU is %u, below IPv4's minimum of %u\n", *mtu, RTE_ETHER_MIN_MTU);
		return -EINVAL;
	}
	/* DPDK 22.11's AF_XDP driver makes its UMEM of the pool's buffers, and the kernel takes UMEM
	 * chunks of at most a page. */
	room = device_data_room(cfg->inner.mtu, *mtu);
	if (strcmp(info.driver_name, "net_af_xdp") == 0 &&
	    room + sizeof(struct rte_mbuf) + sizeof(struct rte_mempool_objhdr) > page) {
		fprintf(stderr, "meshgate: inner.mtu %u and a WAN MTU of %u need %u-byte buffers, but net_af_xdp "
			"takes buffers of at most a page (%u bytes, headers included): lower inner.mtu, or use "
			"another WAN device (a NIC, net_af_packet)\n", cfg->inner.mtu, *mtu, room, page);
		return -EINVAL;
	}
	return 0;
}

static void copy_addresses(const struct mg_config *cfg)
{
	for (size_t i = 0; i < cfg->wan.n_addresses && i < MG_MAX_WAN_ADDRS; i++) {
		struct mg_wan_addr *a = &mg_dev.wan_addrs[mg_dev.n_wan_addrs++];

		a->family = cfg->wan.addresses[i].family;
		memcpy(a->addr, cfg->wan.addresses[i].addr, 16);
		a->prefix_len = cfg->wan.addresses[i].prefix_len;
	}
	if (cfg->wan.has_gateway)
		neigh_set_gateway(AF_INET, cfg->wan.gateway);
	if (cfg->wan.has_gateway6)
		neigh_set_gateway(AF_INET6, cfg->wan.gateway6);
}

/* Gateway mode: the LAN port, started with the WAN port (before the pool's level is read). */
static int setup_lan(const struct mg_config *cfg, unsigned int workers)
{
	struct mg_lan *lan;
	int ret = device_create_lan();

	if (ret)
		return ret;
	lan = mg_dev.lan;
	if (find_port(cfg->inner.device, &lan->port)) {
		fprintf(stderr, "meshgate: inner.device %s not found after EAL start\n", cfg->inner.device);
		return -ENODEV;
	}
	if (lan->port == mg_dev.wan_port) {
		fprintf(stderr, "meshgate: inner.device and wan.device are the same port\n");
		return -EINVAL;
	}
	if (cfg->inner.n_addresses > MG_MAX_WAN_ADDRS) {
		fprintf(stderr, "meshgate: inner.addresses: a LAN port takes at most %d addresses, %zu given\n",
			MG_MAX_WAN_ADDRS, cfg->inner.n_addresses);
		return -EINVAL;
	}
	ret = start_port(lan->port, cfg->inner.device, workers, false);
	if (ret)
		return ret;
	rte_eth_allmulticast_enable(lan->port); /* IPv6 neighbour solicitations */
	rte_eth_macaddr_get(lan->port, &lan->mac);
	for (size_t i = 0; i < cfg->inner.n_addresses && i < MG_MAX_WAN_ADDRS; i++) {
		struct mg_wan_addr *a = &lan->addrs[lan->n_addrs++];

		a->family = cfg->inner.addresses[i].family;
		memcpy(a->addr, cfg->inner.addresses[i].addr, 16);
		a->prefix_len = cfg->inner.addresses[i].prefix_len;
	}
	mg_dev.inner = &mg_inner_lan;
	return 0;
}

static int setup_inner(const struct mg_config *cfg, unsigned int workers)
{
	int ret;

	if (cfg->inner.device)
		return 0; /* gateway mode: the LAN port is up already */
	ret = tunport_open(cfg->inner.name, workers);

	if (ret) {
		fprintf(stderr, "meshgate: inner %s: cannot create the TUN: %s\n", cfg->inner.name,
			strerror(-ret));
		return ret;
	}
	mg_dev.inner = &mg_inner_tun;
	ret = tun_set_mtu(cfg->inner.name, cfg->inner.mtu);
	if (ret) {
		fprintf(stderr, "meshgate: inner %s: cannot set MTU %u: %s\n", cfg->inner.name,
			cfg->inner.mtu, strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < cfg->inner.n_addresses; i++) {
		ret = tun_add_address(cfg->inner.name, cfg->inner.addresses[i].family,
				      cfg->inner.addresses[i].addr, cfg->inner.addresses[i].prefix_len);
		if (ret) {
			fprintf(stderr, "meshgate: inner %s: cannot add address %zu: %s\n", cfg->inner.name,
				i, strerror(-ret));
			return ret;
		}
	}
	return tun_set_up(cfg->inner.name);
}

int port_setup(const struct mg_config *cfg)
{
	unsigned int workers = rte_lcore_count() - 1;
	uint16_t mtu;
	int ret;

	if (workers == 0 || workers > MG_MAX_WORKERS) {
		fprintf(stderr, "meshgate: need 2 to %u lcores (one control, the rest workers), have %u\n",
			MG_MAX_WORKERS + 1, rte_lcore_count());
		return -EINVAL;
	}
	if (cfg->workers && cfg->workers < workers)
		workers = cfg->workers;
	mg_dev.flow_max = cfg->flow_max;
	mg_dev.idle_backoff = cfg->idle_backoff;
	mg_dev.spread = cfg->spread;
	if (find_port(cfg->wan.device, &mg_dev.wan_port)) {
		fprintf(stderr, "meshgate: wan.device %s not found after EAL start\n", cfg->wan.device);
		return -ENODEV;
	}
	ret = wan_mtu(cfg, mg_dev.wan_port, &mtu);
	if (ret)
		return ret;
	/* The WAN port's descriptors with room to spare (AF_XDP's rings hold more), and the TUN
	 * queues' stashes (MG_BURST each); in gateway mode the LAN port's likewise and what its rings
	 * and waiting packets hold. */
	ret = device_create(workers, (cfg->inner.device ? 2 : 1) * 4 * (RX_DESC + TX_DESC) * workers +
				     (cfg->inner.device ? MG_LAN_RING_MBUFS : 0), cfg->inner.mtu, mtu);
	if (!ret)
		ret = start_port(mg_dev.wan_port, cfg->wan.device, workers, true);
	if (!ret && cfg->inner.device)
		ret = setup_lan(cfg, workers);
	if (ret)
		return ret;
	/* What the started port holds before any traffic (its RX ring's buffers) is its own. DPDK
	 * 22.11's AF_XDP driver does not give its fill ring's mbufs back when closed, so the leak check
	 * at exit (device_destroy) counts from this level; the driver refills exactly what it takes. */
	mg_dev.pool_kept_by_ports = rte_mempool_in_use_count(mg_dev.pool);
	rte_eth_allmulticast_enable(mg_dev.wan_port); /* IPv6 neighbour solicitations */
	rte_eth_macaddr_get(mg_dev.wan_port, &mg_dev.wan_mac);
	copy_addresses(cfg);
	return setup_inner(cfg, workers);
}

int port_launch_workers(void)
{
	unsigned int lcore, i = 0;
	int ret;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct mg_worker *w = &mg_workers[i];

		if (i == mg_dev.n_workers)
			break;
		ret = worker_init(w, i++, AEAD_BACKEND_AUTO);
		if (ret)
			return ret;
		w->lcore = mg_dev.worker_lcore[w->id] = lcore; /* the worker sets them too; the counters
								  * file may read them before */
		ret = rte_eal_remote_launch(worker_main, w, lcore);
		if (ret)
			return ret;
	}
	return 0;
}

unsigned int port_teardown(void)
{
	for (unsigned int i = 0; i < mg_dev.n_workers; i++)
		worker_fini(&mg_workers[i]);
	tunport_close();
	if (mg_dev.pool) {
		/* An empty send lets drivers that free sent mbufs lazily (AF_XDP: on the next send)
		 * reap what the kernel has finished with, so those are not counted as leaked. */
		for (uint16_t q = 0; q < mg_dev.n_workers; q++) {
			rte_eth_tx_burst(mg_dev.wan_port, q, NULL, 0);
			if (mg_dev.lan)
				rte_eth_tx_burst(mg_dev.lan->port, q, NULL, 0);
		}
		rte_eth_dev_stop(mg_dev.wan_port);
		rte_eth_dev_close(mg_dev.wan_port);
		if (mg_dev.lan) {
			rte_eth_dev_stop(mg_dev.lan->port);
			rte_eth_dev_close(mg_dev.lan->port);
		}
	}
	return device_destroy();
}
