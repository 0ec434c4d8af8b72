/* SPDX-License-Identifier: MIT */
/*
 * What a router does to every packet it forwards in gateway mode, besides choosing the way out:
 * the TTL (IPv6: hop limit) goes down by one, and the MSS that a TCP SYN or SYN-ACK announces is
 * clamped so that the segments of the connection fit the tunnel.
 *
 * Why clamp: the tunnel's MTU is below the LAN's (WireGuard adds 60 or 80 bytes), and a LAN host
 * announces the MSS of its own link. Path MTU discovery would correct it, but the ICMP "too big"
 * that it needs is lost to firewalls often enough that subnet routers clamp as a rule: Linux's
 * iptables TCPMSS --clamp-mss-to-pmtu, nftables' "tcp option maxseg size set rt mtu". Both ends'
 * SYNs pass through the gateway, so clamping both caps the segments sent either way.
 *
 * Both functions work in place on an IP packet in a byte buffer, starting at the IP header. They
 * do no I/O, allocate nothing and keep no state, so any worker may call them on its own packets.
 */
#ifndef MG_ROUTER_H
#define MG_ROUTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* IP plus TCP fixed headers: an MTU less these is the largest MSS that fits (Linux's minlen). */
#define ROUTER_MSS_OVERHEAD4 40
#define ROUTER_MSS_OVERHEAD6 60

/*
 * Decrements the TTL of an IPv4 header (family AF_INET) or the hop limit of an IPv6 header (any
 * other family), whose fixed header the caller has validated. -1 when it is 0 or 1: the packet
 * must not be forwarded, the caller sends ICMP time exceeded, and nothing was written. Else 0.
 *
 * IPv4's header checksum is updated, not recomputed (RFC 1624). The TTL is the high byte of the
 * header's fifth 16-bit word, so that word drops by 0x0100 and the checksum, the complement of the
 * sum, rises by 0x0100 in ones' complement arithmetic: an end-around carry when it passes 0xffff,
 * and a result of exactly 0xffff (negative zero) written as 0x0000. That is RFC 1624 eqn. 3,
 * HC' = ~(~HC + ~m + m'), with m' = m - 0x0100 worked through (Linux's ip_decrease_ttl does the
 * same); a full recompute can never give 0xffff either, since a header's sum is never zero, so a
 * correct checksum stays exactly the one a recompute would give.
 */
static inline int router_dec_ttl(uint8_t *ip, int family)
{
	uint32_t check;

	if (family != AF_INET) {
		if (ip[7] <= 1)
			return -1;
		ip[7]--;
		return 0;
	}
	if (ip[8] <= 1)
		return -1;
	ip[8]--;
	check = (uint32_t)(ip[10] << 8 | ip[11]) + 0x0100;
	check += check >= 0xffff; /* the carry; and 0xffff becomes 0x10000, written as 0 */
	ip[10] = (uint8_t)(check >> 8);
	ip[11] = (uint8_t)check;
	return 0;
}

/*
 * Clamps the MSS option of a TCP SYN or SYN-ACK in the packet ip[0..len), of family AF_INET or
 * AF_INET6, to mtu - ROUTER_MSS_OVERHEAD4 (or 6), and updates the TCP checksum incrementally. True
 * when it changed the packet; false, with nothing written, for everything else:
 *   - not TCP, or TCP behind an IPv6 extension header other than hop-by-hop (first only),
 *     routing or destination options, or behind more than 8 of them;
 *   - a fragment (IPv4 MF or an offset; any IPv6 fragment header);
 *   - not SYN, or SYN with RST (the rule the iptables TCPMSS manual gives: SYN,RST SYN);
 *   - a TCP header shorter than 20 bytes or cut short;
 *   - no MSS option, or every one at or below the clamp (an MSS is never raised);
 *   - an mtu too small to leave an MSS of at least 1.
 * It reads nothing outside ip[0..len), nor past the IP header's own length (IPv4 total length,
 * IPv6 40 + payload length) where that is shorter. It neither checks the TCP checksum nor needs
 * the payload: a segment that arrived corrupt stays corrupt, and one cut short is still clamped
 * when its TCP header is whole.
 *
 * Options are walked as a receiving stack walks them (Linux's tcp_parse_options): EOL ends the
 * list, and so does an option whose length is below 2 or runs past the header, since the receiver
 * stops there too. Every MSS option of length 4 met before the end is clamped, not only the first:
 * a receiver that meets two uses the last.
 *
 * A SYN without an MSS option is left alone. Linux's xt_TCPMSS adds one (min(clamp, 536) for IPv4,
 * min(clamp, 1220) for IPv6: the default MSS the receiver would assume) when the segment has no
 * payload and room in the header. Doing that here would mean moving bytes, growing the packet and
 * the IP length, in a buffer whose tailroom we do not know; and the defaults are already at or
 * below the clamp of any tunnel that can carry IPv6 (an MTU of at least 1280 leaves 1240 and
 * 1220), so the added option would change nothing that matters.
 *
 * On the fast path, a caller that has parsed the packet already (flow_key_from_packet) can call
 * this only when FLOW_TCP_SYN is in its tcp_flags.
 */
bool router_clamp_mss(uint8_t *ip, uint32_t len, int family, uint16_t mtu);

#endif
