/* SPDX-License-Identifier: MIT */
/*
 * Kernel network interfaces' state: what the health checks and start-up ask of the kernel about
 * the interface behind a kernel-backed WAN port (AF_XDP, AF_PACKET) and the inner TUN. One
 * datagram socket for the ioctls, opened on first use.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ifstate.h"

static int sock = -1;

static int ask(unsigned long request, unsigned int ifindex, struct ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	if (sock < 0 && (sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (!ifindex || !if_indextoname(ifindex, ifr->ifr_name))
		return -ENODEV;
	return ioctl(sock, request, ifr) == 0 ? 0 : -errno;
}

int ifstate_link_up(unsigned int ifindex)
{
	struct ifreq ifr;
	int ret = ask(SIOCGIFFLAGS, ifindex, &ifr);

	if (ret)
		return ret;
	return (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
}

unsigned int ifstate_mtu(unsigned int ifindex)
{
	struct ifreq ifr;

	return ask(SIOCGIFMTU, ifindex, &ifr) == 0 && ifr.ifr_mtu > 0 ? (unsigned int)ifr.ifr_mtu : 0;
}

unsigned int ifstate_index(const char *name)
{
	return if_nametoindex(name);
}

void ifstate_fini(void)
{
	if (sock >= 0)
		close(sock);
	sock = -1;
}
