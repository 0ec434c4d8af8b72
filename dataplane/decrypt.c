/* SPDX-License-Identifier: MIT */
/*
 * Decrypt path: WAN -> inner. One call per received burst:
 *  1. rte_eth_rx_burst on the worker's WAN queue (worker.c).
 *  2. Classify into sub-vectors: ARP and IPv6 neighbour discovery -> the neighbour ring; UDP to one
 *     of our addresses and the listen port carrying a WireGuard message: data -> the data vector,
 *     handshake and cookie messages -> the control ring; everything else -> a named drop. IPv4
 *     header checksums are checked; fragments of UDP to us are reassembled (frag.c) and a datagram
 *     they complete is classified in their place.
 *  3. Data: receiver index -> keypair through the published index table (RCU read side); expired
 *     keypairs drop here, before any crypto.
 *  4. One burst AEAD open, in place; under load possibly on another worker (spread.c), the burst
 *     coming back in the order it arrived.
 *  5. In burst order, per keypair: the replay window (under the keypair's lock, taken once per run of
 *     packets with the same keypair), then last-received times, a "next" keypair's confirmation and
 *     roaming (another source address or port, another of our addresses, or, for a peer on our link,
 *     another MAC), reported to the control thread as events.
 *  6. Inner checks: IP version and length, the source must route to the same peer (allowed-IPs);
 *     keepalives end here. With a flow table, the flow stage (flowstage.c: connection tracking,
 *     the policy for a new flow).
 *  7. Burst to the inner device (host mode: the TUN); what it does not take is counted and freed.
 */
#include <netinet/in.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_ip_frag.h>

#include "counters.h"
#include "frag.h"
#include "packet.h"
#include "policy.h"
#include "worker.h"

static bool is_our_addr(int family, const uint8_t *addr)
{
	for (unsigned int i = 0; i < mg_dev.n_wan_addrs; i++) {
		const struct mg_wan_addr *a = &mg_dev.wan_addrs[i];

		if (a->family == family && memcmp(a->addr, addr, family == AF_INET ? 4 : 16) == 0)
			return true;
	}
	return false;
}

enum verdict { V_DATA, V_CTRL, V_NEIGH, V_FRAG, V_DROP };

/*
 * Sets l2_len/l3_len and, for data and handshakes, leaves the UDP payload findable. A fragment
 * for one of our addresses, of a UDP datagram, is V_FRAG with l3_len covering IPv6's fragment
 * header (as rte_ip_frag expects); its UDP header is in the first fragment only.
 */
static enum verdict classify(struct rte_mbuf *m, enum mg_drop *why)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	uint32_t len = rte_pktmbuf_data_len(m), l3_len, ip_len;
	const uint8_t *l3 = (const uint8_t *)(eth + 1);
	const struct rte_udp_hdr *udp;
	uint16_t type;

	*why = MG_DROP_WAN_BAD_IP;
	if (m->nb_segs != 1 || len < RTE_ETHER_HDR_LEN)
		return V_DROP;
	type = rte_be_to_cpu_16(eth->ether_type);
	m->l2_len = RTE_ETHER_HDR_LEN;
	len -= RTE_ETHER_HDR_LEN;
	if (type == RTE_ETHER_TYPE_ARP)
		return V_NEIGH;
	if (type == RTE_ETHER_TYPE_IPV4) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)l3;

		if (len < sizeof(*ip) || (ip->version_ihl >> 4) != 4)
			return V_DROP;
		l3_len = (ip->version_ihl & 0xf) * 4u;
		ip_len = rte_be_to_cpu_16(ip->total_length);
		if (l3_len < sizeof(*ip) || ip_len < l3_len || ip_len > len)
			return V_DROP;
		/* A source corrupted on the way must not be adopted by roaming. */
		*why = MG_DROP_WAN_BAD_CHECKSUM;
		if (!packet_ipv4_checksum_ok(m, ip, l3_len))
			return V_DROP;
		*why = MG_DROP_WAN_NOT_OURS;
		if (ip->next_proto_id != IPPROTO_UDP || !is_our_addr(AF_INET, (const uint8_t *)&ip->dst_addr))
			return V_DROP;
		if (unlikely(rte_ipv4_frag_pkt_is_fragmented(ip))) {
			m->l3_len = l3_len;
			return V_FRAG;
		}
	} else if (type == RTE_ETHER_TYPE_IPV6) {
		const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)l3;
		bool frag = false;
		uint8_t proto;

		if (len < sizeof(*ip) || (l3[0] >> 4) != 6)
			return V_DROP;
		proto = ip->proto;
		l3_len = sizeof(*ip);
		ip_len = rte_be_to_cpu_16(ip->payload_len) + l3_len;
		if (ip_len > len)
			return V_DROP;
		/* Neighbour discovery (ICMPv6 133-137) goes to the control thread whatever its target. */
		if (proto == IPPROTO_ICMPV6 && ip_len >= l3_len + 4 && l3[l3_len] >= 133 && l3[l3_len] <= 137) {
			m->l3_len = l3_len;
			return V_NEIGH;
		}
		if (unlikely(proto == IPPROTO_FRAGMENT) && ip_len >= l3_len + RTE_IPV6_FRAG_HDR_SIZE) {
			const struct rte_ipv6_fragment_ext *fh = (const struct rte_ipv6_fragment_ext *)(l3 + l3_len);

			proto = fh->next_header;
			l3_len += RTE_IPV6_FRAG_HDR_SIZE;
			/* Offset 0 and no more: an atomic fragment (RFC 6946), a whole datagram that
			 * Linux's ipv6_frag_rcv passes on as such, never mixed into a reassembly. */
			frag = (rte_be_to_cpu_16(fh->frag_data) & RTE_IPV6_FRAG_USED_MASK) != 0;
		}
		*why = MG_DROP_WAN_NOT_OURS;
		if (proto != IPPROTO_UDP || !is_our_addr(AF_INET6, ip->dst_addr))
			return V_DROP;
		if (unlikely(frag)) {
			m->l3_len = l3_len;
			return V_FRAG;
		}
	} else {
		*why = MG_DROP_WAN_NOT_IP;
		return V_DROP;
	}
	m->l3_len = l3_len;
	udp = (const struct rte_udp_hdr *)(l3 + l3_len);
	*why = MG_DROP_WAN_BAD_UDP;
	if (ip_len < l3_len + sizeof(*udp) || rte_be_to_cpu_16(udp->dgram_len) != ip_len - l3_len)
		return V_DROP;
	*why = MG_DROP_WAN_NOT_OURS;
	if (rte_be_to_cpu_16(udp->dst_port) != __atomic_load_n(&mg_dev.listen_port, __ATOMIC_RELAXED))
		return V_DROP;
	/* Trim Ethernet padding so the UDP payload ends the mbuf. */
	rte_pktmbuf_trim(m, len - ip_len);
	switch (message_classify((const uint8_t *)(udp + 1), ip_len - l3_len - sizeof(*udp))) {
	case MESSAGE_DATA:
		return V_DATA;
	case MESSAGE_HANDSHAKE_INITIATION:
	case MESSAGE_HANDSHAKE_RESPONSE:
	case MESSAGE_HANDSHAKE_COOKIE:
		return V_CTRL;
	default:
		*why = MG_DROP_WG_BAD_MESSAGE;
		return V_DROP;
	}
}

static inline struct message_data *data_msg(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct message_data *,
				       m->l2_len + m->l3_len + sizeof(struct rte_udp_hdr));
}

static inline uint32_t data_len(struct rte_mbuf *m)
{
	return rte_pktmbuf_data_len(m) - m->l2_len - m->l3_len - sizeof(struct rte_udp_hdr);
}

/* Hand frames to the control thread on ring r; what does not fit is counted as full. */
static void to_ctrl(struct rte_ring *r, struct rte_mbuf **ctrl, unsigned int n, enum mg_drop full)
{
	unsigned int sent = rte_ring_enqueue_burst(r, (void **)ctrl, n, NULL);

	mg_stats[rte_lcore_id()].to_ctrl += sent;
	if (sent < n) {
		mg_drop(full, n - sent);
		rte_pktmbuf_free_bulk(ctrl + sent, n - sent);
	}
}

/* Step 3: the keypair for a data message, or NULL (counted). */
static struct mg_keypair *lookup_keypair(struct mg_worker *w, struct rte_mbuf *m)
{
	struct message_data *d = data_msg(m);
	uint32_t idx = d->key_idx;
	struct mg_keypair *kp = mg_load(&mg_dev.index[idx & (MG_INDEX_SLOTS - 1)].keypair);

	if (!kp || kp->local_index != idx) {
		mg_drop(MG_DROP_WG_UNKNOWN_INDEX, 1);
		return NULL;
	}
	if (timers_keypair_rejected(kp->birth_ns, d->counter, w->now_ns)) {
		mg_drop(MG_DROP_WG_KEY_EXPIRED, 1);
		return NULL;
	}
	return kp;
}

/*
 * Whether an authenticated packet came the way the peer's endpoint says: its source address and
 * port, our address it was sent to, and, when the peer is on our link, its MAC (a new one means
 * the peer's NIC or host changed under the same address).
 */
static bool came_as_expected(const struct mg_endpoint *ep, const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const uint8_t *l3 = (const uint8_t *)(eth + 1);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(l3 + m->l3_len);
	bool v4 = (l3[0] >> 4) == 4;

	if (!ep || ep->addr.family != (v4 ? AF_INET : AF_INET6) ||
	    rte_be_to_cpu_16(udp->src_port) != ep->addr.port)
		return false;
	if (v4 ? memcmp(l3 + 12, ep->addr.addr, 4) || memcmp(l3 + 16, ep->local, 4)
	       : memcmp(l3 + 8, ep->addr.addr, 16) || memcmp(l3 + 24, ep->local, 16))
		return false;
	return !ep->on_link || rte_is_same_ether_addr(&eth->src_addr, (const struct rte_ether_addr *)ep->hdr);
}

/* Step 5 side effects for one authenticated packet. */
static void note_authenticated(struct mg_worker *w, struct mg_keypair *kp, struct rte_mbuf *m)
{
	struct mg_peer *peer = kp->peer;
	struct mg_endpoint *ep = __atomic_load_n(&peer->endpoint, __ATOMIC_ACQUIRE);
	struct mg_event ev = { .peer = peer, .peer_gen = peer->gen, .peer_id = peer->id, .keypair = kp,
			       .keypair_serial = kp->serial };

	__atomic_store_n(&peer->last_rx_auth_ns, w->now_ns, __ATOMIC_RELAXED);
	w->bytes->rx[peer->id] += data_len(m);
	if (unlikely(mg_load(&peer->next) == kp) && !__atomic_exchange_n(&kp->confirm_sent, 1, __ATOMIC_RELAXED)) {
		ev.type = MG_EV_KEYPAIR_CONFIRMED;
		if (!worker_post_event(&ev))
			__atomic_store_n(&kp->confirm_sent, 0, __ATOMIC_RELAXED);
	}
	if (unlikely(!came_as_expected(ep, m)) && !__atomic_exchange_n(&peer->roam_pending, 1, __ATOMIC_RELAXED)) {
		ev.type = MG_EV_ROAMED;
		packet_outer_source(m, &ev.from);
		packet_outer_dest(m, ev.local);
		rte_ether_addr_copy(&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr, &ev.from_mac);
		if (!worker_post_event(&ev))
			__atomic_store_n(&peer->roam_pending, 0, __ATOMIC_RELAXED);
	}
}

/* Step 6: strip to the inner packet; false when it is to be dropped or was a keepalive. */
static bool inner_check(struct mg_worker *w, struct mg_keypair *kp, struct rte_mbuf *m)
{
	uint32_t plain = data_len(m) - MESSAGE_DATA_HEADER_SIZE - NOISE_AUTHTAG_LEN;
	uint8_t *p = data_msg(m)->encrypted_data;
	int family = 0;
	uint32_t len;

	if (plain == 0) {
		mg_stats[w->lcore].keepalives_rx++;
		return false;
	}
	len = packet_inner_len(p, plain, &family);
	if (!len) {
		mg_drop(MG_DROP_INNER_BAD_IP, 1);
		return false;
	}
	if (allowedips_lookup(mg_dev.allowedips, family, packet_inner_src(p, family)) != kp->peer) {
		mg_drop(MG_DROP_INNER_NOT_ALLOWED, 1);
		return false;
	}
	__atomic_store_n(&kp->peer->last_rx_data_ns, w->now_ns, __ATOMIC_RELAXED);
	rte_pktmbuf_adj(m, (uint16_t)(p - rte_pktmbuf_mtod(m, uint8_t *)));
	rte_pktmbuf_trim(m, rte_pktmbuf_data_len(m) - len);
	return true;
}

/*
 * Steps 5-7 for n opened packets, in order: kps[i] the keypair each was opened with (NULL: it went
 * while the packet was away, spread.c), ops[i].ok and .counter the AEAD's result. Consumes them all.
 */
void decrypt_deliver(struct mg_worker *w, struct rte_mbuf **pkts, struct mg_keypair **kps,
		     const struct aead_burst_op *ops, unsigned int n)
{
	struct mg_keypair *locked = NULL;
	struct rte_mbuf *out[MG_BURST], *drop[MG_BURST];
	unsigned int nout = 0, ndrop = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct mg_keypair *kp = kps[i];

		if (unlikely(!kp)) {
			mg_drop(MG_DROP_WG_UNKNOWN_INDEX, 1);
			drop[ndrop++] = pkts[i];
			continue;
		}
		if (!ops[i].ok) {
			mg_drop(MG_DROP_WG_AUTH_FAILED, 1);
			drop[ndrop++] = pkts[i];
			continue;
		}
		if (kp != locked) {
			if (locked)
				rte_spinlock_unlock(&locked->replay_lock);
			rte_spinlock_lock(&kp->replay_lock);
			locked = kp;
		}
		if (!replay_check(&kp->replay, ops[i].counter, REJECT_AFTER_MESSAGES)) {
			mg_drop(MG_DROP_WG_REPLAY, 1);
			drop[ndrop++] = pkts[i];
			continue;
		}
		note_authenticated(w, kp, pkts[i]);
		if (!inner_check(w, kp, pkts[i])) {
			drop[ndrop++] = pkts[i];
			continue;
		}
		/* The flow stage frees what it drops and hands on what another worker's table owns. */
		if (!w->flows || flow_stage(w, pkts[i], kp->peer, POLICY_DIR_IN, true) == FLOW_STAGE_PASS)
			out[nout++] = pkts[i];
	}
	if (locked)
		rte_spinlock_unlock(&locked->replay_lock);
	mg_stats[w->lcore].decrypted += nout;
	if (nout)
		mg_stats[w->lcore].inner_tx += mg_dev.inner->tx((uint16_t)w->id, out, (uint16_t)nout);
	if (ndrop)
		rte_pktmbuf_free_bulk(drop, ndrop);
}

/* Steps 3-7 for the data vector; step 4 on another worker when spread.c takes the burst. */
static void decrypt_data(struct mg_worker *w, struct rte_mbuf **pkts, unsigned int n)
{
	struct aead_burst_op ops[MG_BURST];
	struct mg_keypair *kps[MG_BURST];
	struct rte_mbuf *drop[MG_BURST];
	unsigned int nops = 0, ndrop = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct mg_keypair *kp = lookup_keypair(w, pkts[i]);
		struct message_data *d = data_msg(pkts[i]);
		uint32_t clen = data_len(pkts[i]) - MESSAGE_DATA_HEADER_SIZE - NOISE_AUTHTAG_LEN;

		if (!kp) {
			drop[ndrop++] = pkts[i];
			continue;
		}
		kps[nops] = kp;
		pkts[nops] = pkts[i];
		ops[nops++] = (struct aead_burst_op){ .key = kp->recv_key, .counter = d->counter,
			.src = d->encrypted_data, .dst = d->encrypted_data,
			.tag = d->encrypted_data + clen, .len = clen };
	}
	if (ndrop)
		rte_pktmbuf_free_bulk(drop, ndrop);
	if (!nops || (w->spread && spread_submit(w, pkts, kps, ops, nops)))
		return;
	aead_burst_open(&w->aead, ops, nops);
	decrypt_deliver(w, pkts, kps, ops, nops);
}

void decrypt_burst(struct mg_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_mbuf *data[MG_BURST], *ctrl[MG_BURST], *neigh[MG_BURST], *drop[MG_BURST];
	unsigned int nd = 0, nc = 0, nn = 0, nx = 0;

	mg_stats[w->lcore].wan_rx += n;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		enum mg_drop why;
		enum verdict v;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		v = classify(m, &why);
		if (unlikely(v == V_FRAG)) {
			/* The datagram, when this fragment completes it, is sorted like any frame in the
			 * fragment's place, so the vectors never hold more than the burst. */
			m = frag_reassemble(w, m);
			if (!m)
				continue;
			v = classify(m, &why);
			if (v == V_FRAG) { /* a fragment inside a fragment */
				why = MG_DROP_WAN_FRAG_BAD;
				v = V_DROP;
			}
		}
		switch (v) {
		case V_DATA:
			data[nd++] = m;
			break;
		case V_CTRL:
			ctrl[nc++] = m;
			break;
		case V_NEIGH:
			neigh[nn++] = m;
			break;
		default:
			mg_drop(why, 1);
			drop[nx++] = m;
		}
	}
	if (nx)
		rte_pktmbuf_free_bulk(drop, nx);
	if (nn)
		to_ctrl(mg_dev.to_neigh, neigh, nn, MG_DROP_NEIGH_RING_FULL);
	if (nc)
		to_ctrl(mg_dev.to_ctrl, ctrl, nc, MG_DROP_CTRL_RING_FULL);
	if (nd)
		decrypt_data(w, data, nd);
}
