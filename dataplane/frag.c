/* SPDX-License-Identifier: MIT */
/*
 * Outer IP fragments on the WAN, with DPDK's rte_ip_frag: reassembly of what arrives fragmented,
 * fragmentation of what is larger than the WAN port's MTU. Linux does both for WireGuard's UDP
 * (its IP stack reassembles before the socket sees a datagram and fragments what the route's MTU
 * cannot carry), and paths between clouds have smaller MTUs than the inner one assumes (1460 on
 * some, an IPv6 outer header takes 80 bytes of a 1500 one).
 *
 * One table per worker, so no lock: RSS hashes the fragments of a datagram, which carry no ports,
 * by addresses alone, so they reach one queue. A table holds at most FRAG_MAX_DATAGRAMS datagrams
 * for at most FRAG_TIMEOUT_MS; what it holds comes out of the same pool as WAN receive, so both are
 * far below Linux's 30 s and 4 MB, and the pool is sized for them (frag_pool_mbufs).
 *
 * Every fragment ends counted: as part of a datagram that completed (wan_frags, then the datagram's
 * own fate: wan_frag_too_big for one larger than our buffers, else as any packet), or dropped as
 * wan_frag_timeout (its datagram did not complete in time) or wan_frag_bad (overlapping or too many
 * fragments, table full).
 */
#include <errno.h>

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "counters.h"
#include "frag.h"
#include "worker.h"

#define FRAG_MAX_DATAGRAMS 256 /* per worker */
#define FRAG_BUCKET_ENTRIES 16
#define FRAG_TIMEOUT_MS 1000

unsigned int frag_pool_mbufs(unsigned int workers)
{
	return workers * FRAG_MAX_DATAGRAMS * RTE_LIBRTE_IP_FRAG_MAX_FRAG;
}

int frag_init(struct mg_worker *w)
{
	uint64_t cycles = rte_get_tsc_hz() / 1000 * FRAG_TIMEOUT_MS;

	w->frag_tbl = rte_ip_frag_table_create(FRAG_MAX_DATAGRAMS / FRAG_BUCKET_ENTRIES * 2, FRAG_BUCKET_ENTRIES,
					       FRAG_MAX_DATAGRAMS, cycles, SOCKET_ID_ANY);
	w->frag_dr.cnt = 0;
	/* Identifications: each worker its own residue class, from a random start (RFC 6864 asks
	 * only that they not repeat between one source and destination within a datagram's life). */
	w->ip_id = (uint16_t)(w->id + mg_dev.n_workers * (rte_rand() % (UINT16_MAX / mg_dev.n_workers)));
	w->frag_id = (uint32_t)(w->id + mg_dev.n_workers * (rte_rand() % (UINT32_MAX / mg_dev.n_workers)));
	return w->frag_tbl ? 0 : -ENOMEM;
}

void frag_fini(struct mg_worker *w)
{
	if (!w->frag_tbl)
		return;
	/* Everything still held goes to the death row (a table frees its fragments when destroyed). */
	rte_ip_frag_free_death_row(&w->frag_dr, 0);
	rte_ip_frag_table_destroy(w->frag_tbl);
	w->frag_tbl = NULL;
}

/* Free what the table put on the death row since the last call, counted as why. */
static void bury(struct mg_worker *w, enum mg_drop why)
{
	if (w->frag_dr.cnt) {
		mg_drop(why, w->frag_dr.cnt);
		rte_ip_frag_free_death_row(&w->frag_dr, 0);
	}
}

void frag_expire(struct mg_worker *w)
{
	bury(w, MG_DROP_WAN_FRAG_BAD);
	rte_ip_frag_table_del_expired_entries(w->frag_tbl, &w->frag_dr, rte_rdtsc());
	bury(w, MG_DROP_WAN_FRAG_TIMEOUT);
}

/*
 * A reassembled datagram in one segment (the classifier and the paths need one), or NULL (counted).
 * The pool's buffers hold the largest datagram the MTUs allow (device.c); a larger one is no
 * tunnel packet of ours: dropped as wan_frag_too_big.
 */
static struct rte_mbuf *linearize(struct rte_mbuf *m)
{
	struct rte_mbuf *one;
	uint32_t len = rte_pktmbuf_pkt_len(m);

	if (m->nb_segs == 1 || rte_pktmbuf_linearize(m) == 0)
		return m;
	if (len > (uint32_t)rte_pktmbuf_data_room_size(mg_dev.pool) - RTE_PKTMBUF_HEADROOM) {
		mg_drop(MG_DROP_WAN_FRAG_TOO_BIG, 1);
		rte_pktmbuf_free(m);
		return NULL;
	}
	/* The first fragment's buffer lacks the room: copy into a fresh one. */
	one = rte_pktmbuf_alloc(mg_dev.pool);
	if (one && rte_pktmbuf_append(one, (uint16_t)len) && rte_pktmbuf_read(m, 0, len, rte_pktmbuf_mtod(one, void *))) {
		one->l2_len = m->l2_len;
		one->l3_len = m->l3_len;
		one->ol_flags = m->ol_flags;
		rte_pktmbuf_free(m);
		return one;
	}
	mg_drop(MG_DROP_NO_MBUF, 1);
	rte_pktmbuf_free(one);
	rte_pktmbuf_free(m);
	return NULL;
}

struct rte_mbuf *frag_reassemble(struct mg_worker *w, struct rte_mbuf *m)
{
	uint8_t *l3 = rte_pktmbuf_mtod_offset(m, uint8_t *, m->l2_len);
	uint64_t now = rte_rdtsc();
	struct rte_mbuf *whole;

	mg_stats[w->lcore].wan_frags++;
	if ((l3[0] >> 4) == 4) {
		whole = rte_ipv4_frag_reassemble_packet(w->frag_tbl, &w->frag_dr, m, now,
							(struct rte_ipv4_hdr *)l3);
		if (whole) {
			/* The library zeroes the header checksum; every fragment's was checked. */
			whole->ol_flags = (whole->ol_flags & ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_TX_IP_CKSUM)) |
					  RTE_MBUF_F_RX_IP_CKSUM_GOOD;
		}
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)l3;

		whole = rte_ipv6_frag_reassemble_packet(w->frag_tbl, &w->frag_dr, m, now, ip,
							(struct rte_ipv6_fragment_ext *)(ip + 1));
	}
	bury(w, MG_DROP_WAN_FRAG_BAD);
	if (!whole)
		return NULL;
	mg_stats[w->lcore].reassembled++;
	return linearize(whole);
}

uint16_t frag_fragment(struct mg_worker *w, struct rte_mbuf *m, struct rte_mbuf **out, uint16_t max)
{
	struct rte_ether_hdr eth = *rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	bool v4 = eth.ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	int32_t n;

	rte_pktmbuf_adj(m, RTE_ETHER_HDR_LEN);
	if (v4)
		n = rte_ipv4_fragment_packet(m, out, max, mg_dev.wan_mtu, mg_dev.pool, mg_dev.indirect_pool);
	else
		n = rte_ipv6_fragment_packet(m, out, max, mg_dev.wan_mtu, mg_dev.pool, mg_dev.indirect_pool);
	/* The fragments hold references to m's data (indirect mbufs): m itself is done. */
	rte_pktmbuf_free(m);
	if (n <= 0) {
		mg_drop(MG_DROP_FRAG_FAILED, 1);
		return 0;
	}
	if (!v4)
		w->frag_id += (uint32_t)mg_dev.n_workers;
	for (int32_t i = 0; i < n; i++) {
		struct rte_mbuf *f = out[i];
		struct rte_ether_hdr *e;

		if (v4) {
			struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(f, struct rte_ipv4_hdr *);

			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
		} else {
			/* The library leaves the identification 0: each datagram needs its own. */
			struct rte_ipv6_fragment_ext *fh =
				rte_pktmbuf_mtod_offset(f, struct rte_ipv6_fragment_ext *, sizeof(struct rte_ipv6_hdr));

			fh->id = rte_cpu_to_be_32(w->frag_id);
		}
		e = (struct rte_ether_hdr *)rte_pktmbuf_prepend(f, RTE_ETHER_HDR_LEN);
		/* A driver without multi-segment send (AF_XDP in 22.11) copies one contiguous frame. */
		if (!e || (!mg_dev.wan_multi_seg && rte_pktmbuf_linearize(f) != 0)) {
			/* Part of a datagram is worth nothing to the receiver. */
			mg_drop(MG_DROP_FRAG_FAILED, 1);
			rte_pktmbuf_free_bulk(out, (unsigned int)n);
			return 0;
		}
		*e = eth;
	}
	mg_stats[w->lcore].fragmented++;
	return (uint16_t)n;
}
