/* SPDX-License-Identifier: MIT */
#include <netinet/in.h>
#include <string.h>

#include "packet.h"

void packet_build_template(uint8_t *hdr, uint8_t *hdr_len, const struct rte_ether_addr *src_mac,
			   const struct rte_ether_addr *dst_mac, const uint8_t *src_addr,
			   const struct devconf_endpoint *dst, uint16_t src_port)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)hdr;
	struct rte_udp_hdr *udp;

	eth->dst_addr = *dst_mac;
	eth->src_addr = *src_mac;
	if (dst->family == AF_INET) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		memset(ip, 0, sizeof(*ip));
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		memcpy(&ip->src_addr, src_addr, 4);
		memcpy(&ip->dst_addr, dst->addr, 4);
		udp = (struct rte_udp_hdr *)(ip + 1);
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
		memset(ip, 0, sizeof(*ip));
		ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip->proto = IPPROTO_UDP;
		ip->hop_limits = 64;
		memcpy(ip->src_addr, src_addr, 16);
		memcpy(ip->dst_addr, dst->addr, 16);
		udp = (struct rte_udp_hdr *)(ip + 1);
	}
	udp->src_port = rte_cpu_to_be_16(src_port);
	udp->dst_port = rte_cpu_to_be_16(dst->port);
	udp->dgram_len = 0;
	udp->dgram_cksum = 0;
	*hdr_len = (uint8_t)((uint8_t *)(udp + 1) - hdr);
}
