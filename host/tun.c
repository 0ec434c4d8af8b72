/* SPDX-License-Identifier: MIT */
/*
 * The inner TUN interface as the kernel sees it: addresses and up, through rtnetlink, so mg0 looks
 * like wg0 to the host: MTU, addresses, up. The workers' queues (dataplane/tunport.c) create the
 * interface. Runs once at start, before the workers.
 */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun.h"

struct nl_req {
	struct nlmsghdr nh;
	union {
		struct ifaddrmsg ifa;
		struct ifinfomsg ifi;
	};
	char attrs[64];
};

static void add_attr(struct nl_req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* Send one request and wait for its acknowledgement: 0 or -errno from the kernel. */
static int talk(struct nl_req *r)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	char buf[4096];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), ret = -EIO;
	ssize_t n;

	if (fd < 0)
		return -errno;
	r->nh.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (sendto(fd, r, r->nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		ret = -errno;
	} else if ((n = recv(fd, buf, sizeof(buf), 0)) >= (ssize_t)sizeof(struct nlmsghdr)) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (h->nlmsg_type == NLMSG_ERROR)
			ret = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	}
	close(fd);
	return ret;
}

int tun_add_address(const char *ifname, int family, const uint8_t *addr, uint8_t prefix_len)
{
	struct nl_req r;
	unsigned int index = if_nametoindex(ifname);
	size_t alen = family == AF_INET ? 4 : 16;

	if (!index)
		return -ENODEV;
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	r.nh.nlmsg_type = RTM_NEWADDR;
	r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	r.ifa.ifa_family = (unsigned char)family;
	r.ifa.ifa_prefixlen = prefix_len;
	r.ifa.ifa_index = index;
	/* IPv6: no duplicate address detection on a point-to-point tunnel. */
	r.ifa.ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0;
	add_attr(&r, IFA_LOCAL, addr, alen);
	add_attr(&r, IFA_ADDRESS, addr, alen);
	return talk(&r);
}

/* An RTM_NEWLINK request changing the existing interface ifname: 0, or -ENODEV. */
static int link_request(struct nl_req *r, const char *ifname)
{
	unsigned int index = if_nametoindex(ifname);

	if (!index)
		return -ENODEV;
	memset(r, 0, sizeof(*r));
	r->nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r->nh.nlmsg_type = RTM_NEWLINK;
	r->ifi.ifi_family = AF_UNSPEC;
	r->ifi.ifi_index = (int)index;
	return 0;
}

int tun_set_mtu(const char *ifname, uint32_t mtu)
{
	struct nl_req r;

	if (link_request(&r, ifname))
		return -ENODEV;
	add_attr(&r, IFLA_MTU, &mtu, sizeof(mtu));
	return talk(&r);
}

int tun_set_up(const char *ifname)
{
	struct nl_req r;

	if (link_request(&r, ifname))
		return -ENODEV;
	r.ifi.ifi_flags = IFF_UP;
	r.ifi.ifi_change = IFF_UP;
	return talk(&r);
}
