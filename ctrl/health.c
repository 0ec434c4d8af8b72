/* SPDX-License-Identifier: MIT */
/*
 * Once a second the control thread looks at what can go away under meshgate: the WAN link (a
 * cable, a veth's other end, an administrator's `ip link set down`), in gateway mode the LAN
 * link likewise, and in host mode the inner TUN (deleted).
 *
 * A WAN link that goes down is logged and counted, and meshgate carries on: packets sent meanwhile
 * are counted as dropped by the paths (wan_tx_full), handshakes are retried by the timers as for
 * any lost message, and traffic resumes when the link does. The LAN link the same way: what the
 * decrypt path would send meanwhile is dropped as lan_down. A deleted TUN cannot come back under
 * the same queues (its file descriptors are detached for good), so meshgate logs it and stops,
 * with its own exit status, for the service manager to restart it.
 */
#include <net/if.h>
#include <stdio.h>

#include <rte_ethdev.h>

#include "core.h"
#include "health.h"
#include "ifstate.h"

static bool started;
static unsigned int wan_ifindex, lan_ifindex, inner_ifindex;
static char inner_name[IF_NAMESIZE];

/* Kernel-backed ports (AF_XDP, AF_PACKET) report the link of their interface through its flags:
 * up and with carrier. Others (a NIC's own driver) report it through the ethdev; one that cannot
 * say counts as up, so that a driver without link reporting never stops traffic. */
static bool link_up(uint16_t port, unsigned int ifindex)
{
	struct rte_eth_link link;

	if (ifindex)
		return ifstate_link_up(ifindex) == 1;
	return rte_eth_link_get_nowait(port, &link) != 0 || link.link_status == RTE_ETH_LINK_UP;
}

static bool wan_link_up(void)
{
	return link_up(mg_dev.wan_port, wan_ifindex);
}

void health_init(const char *inner)
{
	struct rte_eth_dev_info info;

	if (rte_eth_dev_info_get(mg_dev.wan_port, &info) == 0)
		wan_ifindex = info.if_index;
	if (mg_dev.lan) {
		if (rte_eth_dev_info_get(mg_dev.lan->port, &info) == 0)
			lan_ifindex = info.if_index;
		ctrl.lan_up = link_up(mg_dev.lan->port, lan_ifindex);
		__atomic_store_n(&mg_dev.lan->down, !ctrl.lan_up, __ATOMIC_RELAXED);
	}
	if (inner) {
		snprintf(inner_name, sizeof(inner_name), "%s", inner);
		inner_ifindex = ifstate_index(inner_name);
	}
	ctrl.wan_up = wan_link_up();
	__atomic_store_n(&mg_dev.wan_down, !ctrl.wan_up, __ATOMIC_RELAXED);
	started = true;
}

void health_check(void)
{
	bool up;

	if (!started)
		return; /* not started (in-process tests) */
	up = wan_link_up();
	if (up != ctrl.wan_up) {
		ctrl.wan_up = up;
		ctrl.wan_link_changes++;
		__atomic_store_n(&mg_dev.wan_down, !up, __ATOMIC_RELAXED);
		RTE_LOG(WARNING, USER1, "WAN link %s\n", up ? "up again" : "down");
	}
	if (mg_dev.lan && (up = link_up(mg_dev.lan->port, lan_ifindex)) != ctrl.lan_up) {
		ctrl.lan_up = up;
		ctrl.lan_link_changes++;
		__atomic_store_n(&mg_dev.lan->down, !up, __ATOMIC_RELAXED);
		RTE_LOG(WARNING, USER1, "LAN link %s\n", up ? "up again" : "down");
	}
	if (inner_ifindex && ifstate_index(inner_name) != inner_ifindex) {
		RTE_LOG(ERR, USER1, "inner interface %s was removed: stopping\n", inner_name);
		ctrl.inner_gone = true;
		mg_dev.quit = true;
	}
}

void health_fini(void)
{
	started = false;
	ifstate_fini();
}
