// SPDX-License-Identifier: MIT
/*
 * A tc egress program for the e2e tests (test_wan.py bad_checksum): rewrites the IPv4 source address
 * of every UDP packet to 192.168.77.9 and leaves the header checksum as it was, as a bit flip on the
 * way would. Built by the test with clang -target bpf; attached with tc's direct-action mode.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

SEC("tc")
int corrupt_src(struct __sk_buff *skb)
{
	__u32 src = __builtin_bswap32(0xc0a84d09); /* 192.168.77.9 */
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > end || eth->h_proto != __builtin_bswap16(ETH_P_IP) || ip->protocol != 17)
		return TC_ACT_OK;
	bpf_skb_store_bytes(skb, ETH_HLEN + 12, &src, sizeof(src), 0); /* flags 0: no checksum fix */
	return TC_ACT_OK;
}

char _license[] SEC("license") = "Dual MIT/GPL";
