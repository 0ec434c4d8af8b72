/* SPDX-License-Identifier: MIT */
/*
 * The data plane's WAN input: the real decrypt_burst (dataplane/decrypt.c) on a burst of Ethernet
 * frames as a worker receives them, against the fixed world of fuzz_wan.h (our addresses, two
 * peers, four keypairs, allowed-IPs) in the real mg_dev, on a real DPDK mbuf pool. So one input
 * runs classification (Ethernet, ARP, IPv4, IPv6, ND, UDP, WireGuard), the hand-off to the control
 * ring, the keypair lookup by receiver index and its expiry, one burst AEAD open, the replay window
 * per run of same-keypair packets, confirmation and roaming events, the inner checks and the
 * delivery to the inner device (a stub that checks and frees). What reaches the control ring goes
 * on as the control thread would send it: ARP and neighbour discovery to ctrl/neigh.c (its replies
 * are checked and freed), handshake messages are checked against what ctrl/hs.c relies on and freed
 * (hs.c itself would need the whole control thread; fuzz_message covers its consumers).
 *
 * Input:
 *   u8 knobs   bits 0-1: the inner device takes every packet / none, queue full / none, down /
 *                        the first half, queue full
 *              bit 2:    the to_ctrl ring has room for 3, to_neigh for 1 (a burst overflows them)
 *              bit 3:    the event ring has room for 1
 *              bits 4-7: the AEAD backend, mod the number this CPU runs (sodium first)
 *   then up to MG_BURST frames, each:
 *   u16 little-endian: bits 0-10 the frame's length (cut to what is left of the input);
 *                      bit 14: seal it first (below); bit 15: chain it as two segments (the first
 *                      half, the rest); bits 11-13 unused
 *   that many bytes:   the frame, from the destination MAC on
 * Sealing stands for a peer that holds the keys but sends what it likes: when the frame is IPv4 or
 * IPv6 with a data message of at least 32 bytes where its UDP payload would be, and the message's
 * receiver index is one of ours, the bytes after the message header up to the IP packet's end are
 * encrypted in place with that keypair's key and the message's counter (the last 16 becoming the
 * tag). So the fuzzer's own plaintext reaches the inner checks, which it could not forge a tag for.
 * Each segment's bytes sit in an mbuf at the usual headroom with everything around them poisoned
 * for ASan, so a read past a frame's end is a finding even inside the mbuf.
 *
 * After each input: every packet has exactly one named fate in the counters (a drop reason, the
 * control ring, a keepalive, the inner device), what was delivered is one whole inner IP packet,
 * the start of what the reference AEAD opens from its frame, from a source that routes to the peer
 * whose keypair opened it, and no (keypair, counter) twice; what went to the control ring is ARP, ND or a handshake message as the
 * control thread expects, events are valid and posted once, and the mbuf pool is back to where it
 * started (a leak aborts). State that packets change (replay windows, posted flags, neighbours,
 * counters) is reset per input, and the clock is fixed, so a finding reproduces.
 * FUZZ_WAN_TRACE=1 build-fuzz/tests/fuzz/fuzz_wan FILE... prints what each input did (counters,
 * events, neighbour replies): how the seeds in corpus/wan/ were checked to do what they are named.
 */
#include <endian.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

#include <rte_eal.h>
#include <rte_ip_frag.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "aead.h"
#include "aead_burst.h"
#include "allowedips.h"
#include "counters.h"
#include "device.h"
#include "device_setup.h"
#include "fuzz.h"
#include "fuzz_common.h"
#include "fuzz_wan.h"
#include "packet.h"
#include "worker.h"

/*
 * ctrl/neigh.c, included rather than linked so that its neighbour table (static) can be emptied
 * per input. Of the control thread's core below it, it needs the context, core_tx and core_lan_tx,
 * defined here.
 */
#include "neigh.c"

struct ctrl ctrl;

void core_tx(struct rte_mbuf *m)
{
	if (rte_ring_enqueue(mg_dev.ctrl_tx, m) != 0) {
		mg_drop(MG_DROP_WAN_TX_FULL, 1);
		rte_pktmbuf_free(m);
	}
}

/* neigh.c's LAN port sends through this; this world has no LAN (host mode). */
void core_lan_tx(struct rte_mbuf *m)
{
	FUZZ_CHECK(!"a LAN frame in host mode");
	rte_pktmbuf_free(m);
}

static uint64_t neighbour_updates_before; /* neigh_changes() when the input began */

static struct fuzz_world world;
static struct mg_peer wan_peer_store[WAN_PEERS];
static struct mg_endpoint wan_endpoint_store[WAN_PEERS];
static struct mg_keypair wan_kp_store[WAN_KEYPAIRS];
static struct allowedips wan_allowedips;
static struct mg_worker wan_workers[AEAD_BACKEND_COUNT]; /* one per backend this CPU runs */
static unsigned int n_wan_workers;
static struct rte_ring *ring_to_ctrl, *ring_to_neigh, *ring_events, *small_to_ctrl, *small_to_neigh,
	*small_events;
static unsigned int pool_baseline;
static bool trace; /* FUZZ_WAN_TRACE set: one line per input on what happened (to check seeds) */
static unsigned int n_events, n_replies;

/* The burst as built: each frame's bytes (sealed when asked) and its mbuf. */
static uint8_t burst_bytes[MG_BURST][WAN_FRAME_LEN_MASK];
#define WHOLE_MAX 16384 /* a datagram the burst's fragments can make, and then some */
static uint16_t burst_len[MG_BURST];
static struct rte_mbuf *burst_mbuf[MG_BURST];
static uint16_t burst_n;

/* ---- the inner device: checks, counts, frees ---- */

static unsigned int inner_mode, inner_taken;
static struct {
	const struct mg_keypair *kp;
	uint64_t counter;
} delivered[MG_BURST];
static unsigned int n_delivered;

/*
 * A packet on its way to the inner side, against the frame it came from: that frame's data message
 * opens with the reference AEAD (aead.c, one message) under the keypair its index names, the packet
 * is the start of that plaintext, its source routes to that keypair's peer (cryptokey routing), and
 * no (keypair, counter) gets this far twice in one input (replay windows start empty per input).
 */
static void check_delivery(const struct rte_mbuf *m, const uint8_t *f, size_t flen, int family)
{
	static uint8_t plain[WHOLE_MAX];
	const uint8_t *msg = f + m->l2_len + m->l3_len + sizeof(struct rte_udp_hdr);
	const struct mg_keypair *kp;
	size_t ip_len, msg_len;
	uint32_t index;
	uint64_t counter;

	if ((f[RTE_ETHER_HDR_LEN] >> 4) == 4)
		ip_len = (size_t)f[RTE_ETHER_HDR_LEN + 2] << 8 | f[RTE_ETHER_HDR_LEN + 3];
	else
		ip_len = ((size_t)f[RTE_ETHER_HDR_LEN + 4] << 8 | f[RTE_ETHER_HDR_LEN + 5]) + 40;
	FUZZ_CHECK(RTE_ETHER_HDR_LEN + ip_len <= flen);
	msg_len = ip_len - m->l3_len - sizeof(struct rte_udp_hdr);
	FUZZ_CHECK(msg_len >= MESSAGE_MINIMUM_LENGTH);
	memcpy(&index, msg + 4, sizeof(index));
	memcpy(&counter, msg + 8, sizeof(counter));
	counter = le64toh(counter);
	kp = mg_dev.index[index & (MG_INDEX_SLOTS - 1)].keypair;
	FUZZ_CHECK(kp && kp->local_index == index);
	FUZZ_CHECK(aead_open(plain, msg + MESSAGE_DATA_HEADER_SIZE, msg_len - MESSAGE_DATA_HEADER_SIZE,
			     NULL, 0, counter, kp->recv_key) == 0);
	FUZZ_CHECK(m->data_len <= msg_len - MESSAGE_MINIMUM_LENGTH);
	FUZZ_CHECK(memcmp(rte_pktmbuf_mtod(m, const uint8_t *), plain, m->data_len) == 0);
	FUZZ_CHECK(allowedips_lookup(&wan_allowedips, family, packet_inner_src(plain, family)) == kp->peer);
	for (unsigned int d = 0; d < n_delivered; d++)
		FUZZ_CHECK(delivered[d].kp != kp || delivered[d].counter != counter);
	delivered[n_delivered].kp = kp;
	delivered[n_delivered++].counter = counter;
}

/*
 * The datagrams the burst's fragments can make, by a reference reassembly as plain as can be. It
 * sees the fragments that reached the table (fed[], from the wrapped rte_ip_frag calls below: the
 * classifier drops some before, for a bad checksum, an address not ours, a chained frame), in burst
 * order, per (source, destination, identification). The table accumulates an entry from the
 * fragment that opens it and gives it up when it completes or errs (a duplicate first or last
 * fragment, an overlap, too many, no room); the next fragment of that key opens a new one. So a
 * datagram it delivers is a run of consecutive fragments of one key, from any start, that tile it
 * from offset 0 to a last fragment without a gap or an overlap: every such run is a candidate here.
 * The table may deliver fewer, never others: a packet delivered from a reassembled datagram must
 * open from one of these. Zero-length fragments add no bytes and are left out.
 */
static uint8_t whole_bytes[MG_BURST][WHOLE_MAX];
static size_t whole_len[MG_BURST];
static unsigned int n_whole;
static bool fed[MG_BURST], reference_done;

struct frag_view {
	bool v6, more;
	size_t hl, off, len;      /* header bytes (IPv6: with the fragment header), offset, payload */
	uint8_t key[36];
};

static bool view_fragment(const uint8_t *f, size_t flen, struct frag_view *v)
{
	const uint8_t *ip = f + RTE_ETHER_HDR_LEN;

	memset(v, 0, sizeof(*v));
	if (flen >= RTE_ETHER_HDR_LEN + 20 && f[12] == 0x08 && f[13] == 0x00 && (ip[0] >> 4) == 4) {
		size_t tot = (size_t)ip[2] << 8 | ip[3];
		uint16_t fo = (uint16_t)(ip[6] << 8 | ip[7]);

		v->hl = (ip[0] & 0xfu) * 4;
		if (v->hl < 20 || tot < v->hl || RTE_ETHER_HDR_LEN + tot > flen || !(fo & 0x3fff))
			return false;
		v->more = fo & 0x2000;
		v->off = (size_t)(fo & 0x1fff) * 8;
		v->len = tot - v->hl;
		memcpy(v->key, ip + 12, 8);
		memcpy(v->key + 8, ip + 4, 2);
		return true;
	}
	if (flen >= RTE_ETHER_HDR_LEN + 48 && f[12] == 0x86 && f[13] == 0xdd && (ip[0] >> 4) == 6 && ip[6] == 44) {
		size_t tot = ((size_t)ip[4] << 8 | ip[5]) + 40;
		uint16_t fo = (uint16_t)(ip[42] << 8 | ip[43]);

		if (tot < 48 || RTE_ETHER_HDR_LEN + tot > flen || !(fo & 0xfff9)) /* atomic: whole */
			return false;
		v->v6 = true;
		v->hl = 48;
		v->more = fo & 1;
		v->off = fo & 0xfff8;
		v->len = tot - 48;
		memcpy(v->key, ip + 8, 32);
		memcpy(v->key + 32, ip + 44, 4);
		return true;
	}
	return false;
}

/* Whether the fragments run[0..n) (frame indices) tile a datagram exactly; its payload length. */
static bool tiles(const uint16_t *run, const struct frag_view *views, unsigned int n, size_t *total)
{
	size_t end = 0;
	unsigned int placed = 0, lasts = 0;

	for (unsigned int i = 0; i < n; i++)
		lasts += !views[run[i]].more;
	if (lasts != 1)
		return false;
	/* Chain from offset 0: each step the one fragment that starts where the datagram so far ends. */
	while (placed < n) {
		unsigned int at = n, found = 0;

		for (unsigned int i = 0; i < n; i++)
			if (views[run[i]].off == end) {
				at = i;
				found++;
			}
		if (found != 1)
			return false;
		end += views[run[at]].len;
		placed++;
		if (!views[run[at]].more)
			break;
	}
	*total = end;
	return placed == n && end + RTE_ETHER_HDR_LEN + 48 <= WHOLE_MAX;
}

static void build_whole(const uint16_t *run, const struct frag_view *views, unsigned int n, size_t total)
{
	uint8_t *w = whole_bytes[n_whole];

	memset(w, 0, WHOLE_MAX);
	for (unsigned int i = 0; i < n; i++) {
		const struct frag_view *b = &views[run[i]];

		if (b->off == 0) /* headers from the first fragment */
			memcpy(w, burst_bytes[run[i]], RTE_ETHER_HDR_LEN + b->hl);
		memcpy(w + RTE_ETHER_HDR_LEN + 48 + b->off, burst_bytes[run[i]] + RTE_ETHER_HDR_LEN + b->hl, b->len);
	}
	/* The headers as reassembly leaves them: no fragment fields, the whole length. */
	if (!views[run[0]].v6) {
		size_t hl = (w[RTE_ETHER_HDR_LEN] & 0xfu) * 4;

		memmove(w + RTE_ETHER_HDR_LEN + hl, w + RTE_ETHER_HDR_LEN + 48, total);
		w[RTE_ETHER_HDR_LEN + 2] = (uint8_t)((hl + total) >> 8);
		w[RTE_ETHER_HDR_LEN + 3] = (uint8_t)(hl + total);
		whole_len[n_whole++] = RTE_ETHER_HDR_LEN + hl + total;
	} else {
		w[RTE_ETHER_HDR_LEN + 6] = w[RTE_ETHER_HDR_LEN + 40];
		memmove(w + RTE_ETHER_HDR_LEN + 40, w + RTE_ETHER_HDR_LEN + 48, total);
		w[RTE_ETHER_HDR_LEN + 4] = (uint8_t)(total >> 8);
		w[RTE_ETHER_HDR_LEN + 5] = (uint8_t)total;
		whole_len[n_whole++] = RTE_ETHER_HDR_LEN + 40 + total;
	}
}

static void reference_reassembly(void)
{
	static struct frag_view views[MG_BURST];
	bool is_frag[MG_BURST] = { false };

	reference_done = true;
	n_whole = 0;
	for (uint16_t i = 0; i < burst_n; i++)
		is_frag[i] = fed[i] && view_fragment(burst_bytes[i], burst_len[i], &views[i]) && views[i].len > 0;
	for (uint16_t s = 0; s < burst_n; s++) {
		uint16_t run[MG_BURST];
		unsigned int n = 0;
		size_t total;

		if (!is_frag[s])
			continue;
		/* At most one candidate per start: a run that tiles, grown, overlaps. */
		for (uint16_t j = s; j < burst_n && n_whole < MG_BURST; j++) {
			if (!is_frag[j] || views[j].v6 != views[s].v6 ||
			    memcmp(views[j].key, views[s].key, sizeof(views[s].key)) != 0)
				continue;
			run[n++] = j;
			if (tiles(run, views, n, &total)) {
				build_whole(run, views, n, total);
				break;
			}
		}
	}
}

/* The fragments that reach the table, seen on their way in (-Wl,--wrap, tests/fuzz/meson.build). */
struct rte_mbuf *__real_rte_ipv4_frag_reassemble_packet(struct rte_ip_frag_tbl *tbl, struct rte_ip_frag_death_row *dr,
							struct rte_mbuf *mb, uint64_t tms, struct rte_ipv4_hdr *ip);
struct rte_mbuf *__real_rte_ipv6_frag_reassemble_packet(struct rte_ip_frag_tbl *tbl, struct rte_ip_frag_death_row *dr,
							struct rte_mbuf *mb, uint64_t tms, struct rte_ipv6_hdr *ip,
							struct rte_ipv6_fragment_ext *frag);
struct rte_mbuf *__wrap_rte_ipv4_frag_reassemble_packet(struct rte_ip_frag_tbl *tbl, struct rte_ip_frag_death_row *dr,
							struct rte_mbuf *mb, uint64_t tms, struct rte_ipv4_hdr *ip);
struct rte_mbuf *__wrap_rte_ipv6_frag_reassemble_packet(struct rte_ip_frag_tbl *tbl, struct rte_ip_frag_death_row *dr,
							struct rte_mbuf *mb, uint64_t tms, struct rte_ipv6_hdr *ip,
							struct rte_ipv6_fragment_ext *frag);

static void note_fed(const struct rte_mbuf *mb)
{
	for (uint16_t f = 0; f < burst_n; f++)
		if (burst_mbuf[f] == mb)
			fed[f] = true;
}

struct rte_mbuf *__wrap_rte_ipv4_frag_reassemble_packet(struct rte_ip_frag_tbl *tbl, struct rte_ip_frag_death_row *dr,
							struct rte_mbuf *mb, uint64_t tms, struct rte_ipv4_hdr *ip)
{
	note_fed(mb);
	return __real_rte_ipv4_frag_reassemble_packet(tbl, dr, mb, tms, ip);
}

struct rte_mbuf *__wrap_rte_ipv6_frag_reassemble_packet(struct rte_ip_frag_tbl *tbl, struct rte_ip_frag_death_row *dr,
							struct rte_mbuf *mb, uint64_t tms, struct rte_ipv6_hdr *ip,
							struct rte_ipv6_fragment_ext *frag)
{
	note_fed(mb);
	return __real_rte_ipv6_frag_reassemble_packet(tbl, dr, mb, tms, ip, frag);
}

/* Whether m is the start of what frame f's data message opens to (no checks fail). */
static bool opens_to(const struct rte_mbuf *m, const uint8_t *f, size_t flen)
{
	static uint8_t plain[WHOLE_MAX];
	const uint8_t *msg = f + m->l2_len + m->l3_len + sizeof(struct rte_udp_hdr);
	size_t ip_len = (f[RTE_ETHER_HDR_LEN] >> 4) == 4 ? (size_t)f[RTE_ETHER_HDR_LEN + 2] << 8 | f[RTE_ETHER_HDR_LEN + 3]
							 : ((size_t)f[RTE_ETHER_HDR_LEN + 4] << 8 | f[RTE_ETHER_HDR_LEN + 5]) + 40;
	const struct mg_keypair *kp;
	uint32_t index;
	uint64_t counter;
	size_t msg_len;

	if (RTE_ETHER_HDR_LEN + ip_len > flen || ip_len < m->l3_len + sizeof(struct rte_udp_hdr) + MESSAGE_MINIMUM_LENGTH)
		return false;
	msg_len = ip_len - m->l3_len - sizeof(struct rte_udp_hdr);
	memcpy(&index, msg + 4, sizeof(index));
	memcpy(&counter, msg + 8, sizeof(counter));
	kp = mg_dev.index[index & (MG_INDEX_SLOTS - 1)].keypair;
	return kp && kp->local_index == index && m->data_len <= msg_len - MESSAGE_MINIMUM_LENGTH &&
	       aead_open(plain, msg + MESSAGE_DATA_HEADER_SIZE, msg_len - MESSAGE_DATA_HEADER_SIZE, NULL, 0,
			 le64toh(counter), kp->recv_key) == 0 &&
	       memcmp(rte_pktmbuf_mtod(m, const uint8_t *), plain, m->data_len) == 0;
}

static uint16_t inner_rx(uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	(void)queue;
	(void)pkts;
	(void)n;
	return 0;
}

static uint16_t inner_tx(uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t take = inner_mode == 0 ? n : inner_mode == WAN_KNOB_INNER_HALF ? n / 2 : 0;

	FUZZ_CHECK(queue == 0 && n > 0 && n <= MG_BURST);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		int family = 0;
		uint16_t f = 0;

		/* One whole inner IPv4/IPv6 packet, cut to its IP length, of a frame of this burst. */
		FUZZ_CHECK(m->nb_segs == 1 && m->pkt_len == m->data_len);
		FUZZ_CHECK(packet_inner_len(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, &family) ==
			   m->data_len);
		while (f < burst_n && burst_mbuf[f] != m)
			f++;
		if (f < burst_n && !view_fragment(burst_bytes[f], burst_len[f], &(struct frag_view){ 0 })) {
			check_delivery(m, burst_bytes[f], burst_len[f], family);
			continue;
		}
		/* From a datagram fragments made (in the first fragment's mbuf, or a copy). */
		if (!reference_done)
			reference_reassembly();
		for (f = 0; f < n_whole && !opens_to(m, whole_bytes[f], whole_len[f]); f++)
			;
		FUZZ_CHECK(f < n_whole);
		check_delivery(m, whole_bytes[f], whole_len[f], family);
	}
	/* As the ops say: every packet consumed, what was not taken counted. */
	if (take < n)
		mg_drop(inner_mode == WAN_KNOB_INNER_DOWN ? MG_DROP_INNER_DOWN : MG_DROP_INNER_TX_FULL, n - take);
	rte_pktmbuf_free_bulk(pkts, n);
	inner_taken += take;
	return take;
}

static const struct mg_inner_ops inner_stub = { .rx = inner_rx, .tx = inner_tx };

/* ---- set-up ---- */

static void eal_init(void)
{
	static char lcores[8192];
	char *argv[] = { "fuzz_wan", "--no-huge", "--no-pci", "--no-shconf", "--no-telemetry",
			 "-m", "256", lcores, "--log-level=*:error", NULL };
	size_t n = (size_t)snprintf(lcores, sizeof(lcores), "--lcores=0@(");
	cpu_set_t set;

	/* Lcore 0 on every CPU this process may run on, as it was: EAL pins the main thread to its
	 * lcore's CPUs, and one CPU (the first, say) may be busy with a daemon's polling core. */
	FUZZ_CHECK(sched_getaffinity(0, sizeof(set), &set) == 0);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set) && n < sizeof(lcores))
			n += (size_t)snprintf(lcores + n, sizeof(lcores) - n, "%d,", cpu);
	FUZZ_CHECK(n < sizeof(lcores) && lcores[n - 1] == ',');
	lcores[n - 1] = ')';
	FUZZ_CHECK(rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) >= 0);
	FUZZ_CHECK(rte_lcore_id() == 0);
}

static void set_addresses(void)
{
	for (unsigned int i = 0; i < WAN_N_ADDRS; i++) {
		struct mg_wan_addr *a = &mg_dev.wan_addrs[mg_dev.n_wan_addrs++];

		a->family = wan_addrs[i].family;
		memcpy(a->addr, wan_addrs[i].addr, 16);
		a->prefix_len = wan_addrs[i].cidr;
	}
	memcpy(&mg_dev.wan_mac, wan_our_mac, RTE_ETHER_ADDR_LEN);
	mg_dev.listen_port = WAN_LISTEN_PORT;
	neigh_set_gateway(AF_INET, wan_gateway4);
}

static void add_peers(void)
{
	for (unsigned int i = 0; i < WAN_PEERS; i++) {
		const struct wan_peer *wp = &wan_peers[i];
		struct mg_peer *p = &wan_peer_store[i];
		struct mg_endpoint *e = &wan_endpoint_store[i];
		struct rte_ether_addr mac;

		p->id = i;
		p->gen = i + 1;
		e->addr = (struct devconf_endpoint){ .family = wp->family, .port = wp->port };
		memcpy(e->addr.addr, wp->addr, 16);
		e->resolved = true;
		e->on_link = neigh_on_link(wp->family, wp->addr);
		memcpy(e->local, neigh_source_addr(wp->family, wp->addr), wp->family == AF_INET ? 4 : 16);
		memcpy(&mac, i == WAN_PEER_A ? wan_a_mac : wan_c_mac, sizeof(mac));
		packet_build_template(e->hdr, &e->hdr_len, &mg_dev.wan_mac, &mac, e->local, &e->addr,
				      mg_dev.listen_port);
		p->endpoint = e;
		for (unsigned int a = 0; a < 2; a++)
			FUZZ_CHECK(allowedips_insert(&wan_allowedips, wp->allowed[a].family,
						     wp->allowed[a].addr, wp->allowed[a].cidr, p) == 0);
		mg_dev.peers[i] = p;
	}
	/* As ctrl/peers.c installs them: keys, index slot, the peer's next/current/previous. */
	for (unsigned int k = 0; k < WAN_KEYPAIRS; k++) {
		const struct wan_keypair *wk = &wan_keypairs[k];
		struct mg_keypair *kp = &wan_kp_store[k];
		struct mg_peer *p = &wan_peer_store[wk->peer];
		struct mg_index_slot *slot = &mg_dev.index[wk->index & (MG_INDEX_SLOTS - 1)];

		FUZZ_CHECK(slot->index == 0);
		wan_key(&world, k, kp->recv_key);
		fuzz_fill(kp->send_key, sizeof(kp->send_key), (uint8_t)(0xd0 + k));
		kp->birth_ns = FUZZ_NOW_NS - wk->age_ns;
		kp->local_index = wk->index;
		kp->remote_index = 0x77770000u + k;
		kp->initiator = wk->role != WAN_NEXT;
		kp->sending_valid = 1;
		kp->serial = k + 1;
		kp->peer = p;
		rte_spinlock_init(&kp->replay_lock);
		replay_init(&kp->replay);
		slot->index = wk->index;
		slot->keypair = kp;
		*(wk->role == WAN_NEXT ? &p->next : wk->role == WAN_CURRENT ? &p->current : &p->previous) = kp;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_world_init(&world);
	eal_init();
	FUZZ_CHECK(device_create(1, 0, 1420, 1500) == 0);
	mg_dev.inner = &inner_stub;
	allowedips_init(&wan_allowedips, NULL);
	mg_dev.allowedips = &wan_allowedips;
	set_addresses();
	add_peers();
	for (int b = AEAD_BACKEND_SODIUM; b < AEAD_BACKEND_COUNT; b++) {
		struct mg_worker *w = &wan_workers[n_wan_workers];

		if (!aead_burst_backend_supported((enum aead_backend)b) ||
		    worker_init(w, 0, (enum aead_backend)b) != 0)
			continue;
		w->lcore = rte_lcore_id();
		w->now_ns = FUZZ_NOW_NS;
		n_wan_workers++;
	}
	FUZZ_CHECK(n_wan_workers > 0);
	ring_to_ctrl = mg_dev.to_ctrl;
	ring_to_neigh = mg_dev.to_neigh;
	ring_events = mg_dev.events;
	small_to_ctrl = rte_ring_create("fz_to_ctrl", 4, SOCKET_ID_ANY, RING_F_SC_DEQ);
	small_to_neigh = rte_ring_create("fz_to_neigh", 2, SOCKET_ID_ANY, RING_F_SC_DEQ);
	small_events = rte_ring_create_elem("fz_events", sizeof(struct mg_event), 2, SOCKET_ID_ANY,
					    RING_F_SC_DEQ);
	FUZZ_CHECK(small_to_ctrl && small_to_neigh && small_events);
	ctrl.now_ns = FUZZ_NOW_NS;
	pool_baseline = rte_mempool_in_use_count(mg_dev.pool);
	trace = getenv("FUZZ_WAN_TRACE") != NULL;
	return 0;
}

/* ---- building the burst: each segment alone in its buffer, surroundings poisoned ---- */

struct seg_buf {
	void *addr;
	size_t len;
};

static struct seg_buf segs[2 * MG_BURST];
static unsigned int n_segs;

static struct rte_mbuf *segment(const uint8_t *p, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mg_dev.pool);
	uint8_t *d;

	FUZZ_CHECK(m != NULL);
	d = (uint8_t *)rte_pktmbuf_append(m, len);
	FUZZ_CHECK(d != NULL);
	memcpy(d, p, len);
	segs[n_segs++] = (struct seg_buf){ m->buf_addr, m->buf_len };
	ASAN_POISON_MEMORY_REGION(m->buf_addr, m->data_off);
	ASAN_POISON_MEMORY_REGION(d + len, m->buf_len - m->data_off - len);
	return m;
}

/* See the header: encrypt a data message in place as the holder of its keypair would. */
static void seal_frame(uint8_t *f, size_t len)
{
	const size_t l3 = RTE_ETHER_HDR_LEN;
	const struct mg_keypair *kp;
	size_t end, off;
	uint32_t index;
	uint64_t counter;

	if (len >= l3 + 20 && f[12] == 0x08 && f[13] == 0x00) {
		end = l3 + ((size_t)f[l3 + 2] << 8 | f[l3 + 3]);
		off = l3 + (f[l3] & 0xfu) * 4 + sizeof(struct rte_udp_hdr);
	} else if (len >= l3 + 40 && f[12] == 0x86 && f[13] == 0xdd) {
		end = l3 + 40 + ((size_t)f[l3 + 4] << 8 | f[l3 + 5]);
		off = l3 + 40 + sizeof(struct rte_udp_hdr);
	} else {
		return;
	}
	if (end > len || off + MESSAGE_MINIMUM_LENGTH > end)
		return;
	memcpy(&index, f + off + 4, sizeof(index));
	memcpy(&counter, f + off + 8, sizeof(counter));
	kp = mg_dev.index[index & (MG_INDEX_SLOTS - 1)].keypair;
	if (!kp || kp->local_index != index)
		return;
	aead_seal(f + off + MESSAGE_DATA_HEADER_SIZE, f + off + MESSAGE_DATA_HEADER_SIZE,
		  end - off - MESSAGE_MINIMUM_LENGTH, NULL, 0, le64toh(counter), kp->recv_key);
}

/* The next frame of the burst, kept in burst_bytes as its mbuf got it. */
static struct rte_mbuf *frame_mbuf(const uint8_t *in, uint16_t len, uint16_t flags)
{
	uint8_t *p = burst_bytes[burst_n];
	bool chained = flags & WAN_FRAME_CHAINED;
	struct rte_mbuf *m;

	memcpy(p, in, len);
	if (flags & WAN_FRAME_SEAL)
		seal_frame(p, len);
	m = segment(p, chained ? len / 2 : len);
	if (chained)
		FUZZ_CHECK(rte_pktmbuf_chain(m, segment(p + len / 2, len - len / 2)) == 0);
	else if (view_fragment(p, len, &(struct frag_view){ 0 }))
		/* Reassembly writes the rest of the datagram into the first fragment's tailroom (with
		 * DPDK's uninstrumented rte_pktmbuf_linearize): only its headroom stays poisoned. */
		ASAN_UNPOISON_MEMORY_REGION(rte_pktmbuf_mtod(m, uint8_t *), m->buf_len - m->data_off);
	burst_len[burst_n] = len;
	burst_mbuf[burst_n++] = m;
	return m;
}

static void unpoison_segments(void)
{
	for (unsigned int i = 0; i < n_segs; i++)
		ASAN_UNPOISON_MEMORY_REGION(segs[i].addr, segs[i].len);
	n_segs = 0;
}

/* The data region of a single-segment mbuf only, while a consumer reads it. */
static void poison_around(struct rte_mbuf *m)
{
	ASAN_POISON_MEMORY_REGION(m->buf_addr, m->data_off);
	ASAN_POISON_MEMORY_REGION(rte_pktmbuf_mtod_offset(m, uint8_t *, m->data_len),
				  m->buf_len - m->data_off - m->data_len);
}

static void unpoison(struct rte_mbuf *m)
{
	ASAN_UNPOISON_MEMORY_REGION(m->buf_addr, m->buf_len);
}

/* ---- per input ---- */

static void reset(void)
{
	for (unsigned int k = 0; k < WAN_KEYPAIRS; k++) {
		replay_init(&wan_kp_store[k].replay);
		wan_kp_store[k].confirm_sent = 0;
	}
	for (unsigned int i = 0; i < WAN_PEERS; i++) {
		struct mg_peer *p = &wan_peer_store[i];

		p->last_tx_data_ns = p->last_rx_data_ns = p->last_rx_auth_ns = p->last_tx_any_ns = 0;
		p->want_handshake = p->roam_pending = 0;
		mg_peer_bytes[0].rx[i] = 0; /* every backend's worker is worker 0 */
	}
	memset(wan_table, 0, sizeof(wan_table)); /* neigh.c's */
	memset(&mg_stats[rte_lcore_id()], 0, sizeof(mg_stats[0]));
	inner_taken = n_delivered = burst_n = 0;
	memset(fed, 0, sizeof(fed));
	reference_done = false;
	neighbour_updates_before = neigh_changes();
	n_events = n_replies = 0;
}

/*
 * Every packet of the burst has exactly one fate, and each fate is counted where it happened. A
 * fragment's fate is the reassembly table (wan_frags); a datagram fragments complete is one more
 * packet (reassembled) with a fate of its own. Fragments the table drops (wan_frag_bad) or times
 * out are accounted for by the pool check at the end of the input.
 */
static void check_counters(uint16_t n, unsigned int to_ctrl_queued)
{
	const struct mg_lcore_stats *s = &mg_stats[rte_lcore_id()];
	uint64_t dropped = 0;

	for (int r = 0; r < MG_DROP_COUNT; r++) {
		switch (r) {
		case MG_DROP_WAN_NOT_IP:
		case MG_DROP_WAN_BAD_IP:
		case MG_DROP_WAN_BAD_CHECKSUM:
		case MG_DROP_WAN_NOT_OURS:
		case MG_DROP_WAN_BAD_UDP:
		case MG_DROP_WG_BAD_MESSAGE:
		case MG_DROP_CTRL_RING_FULL:
		case MG_DROP_NEIGH_RING_FULL:
		case MG_DROP_NO_MBUF:
		case MG_DROP_WAN_FRAG_TOO_BIG:
		case MG_DROP_WG_UNKNOWN_INDEX:
		case MG_DROP_WG_KEY_EXPIRED:
		case MG_DROP_WG_AUTH_FAILED:
		case MG_DROP_WG_REPLAY:
		case MG_DROP_INNER_BAD_IP:
		case MG_DROP_INNER_NOT_ALLOWED:
			dropped += s->drops[r];
			break;
		case MG_DROP_INNER_TX_FULL:
		case MG_DROP_INNER_DOWN:
		case MG_DROP_WAN_FRAG_BAD:
		case MG_DROP_WAN_FRAG_TIMEOUT:
			break;
		default: /* the encrypt path's and the control thread's reasons */
			FUZZ_CHECK(s->drops[r] == 0);
		}
	}
	FUZZ_CHECK(s->wan_rx == n);
	FUZZ_CHECK(dropped + s->to_ctrl + s->keepalives_rx + s->decrypted + s->wan_frags == n + s->reassembled);
	FUZZ_CHECK(s->to_ctrl == to_ctrl_queued);
	FUZZ_CHECK(s->decrypted == s->inner_tx + s->drops[MG_DROP_INNER_TX_FULL] +
				   s->drops[MG_DROP_INNER_DOWN]);
	FUZZ_CHECK(s->inner_tx == inner_taken);
	FUZZ_CHECK(s->drops[MG_DROP_INNER_DOWN] == 0 || inner_mode == WAN_KNOB_INNER_DOWN);
	FUZZ_CHECK(s->drops[MG_DROP_INNER_TX_FULL] == 0 || inner_mode == WAN_KNOB_INNER_FULL ||
		   inner_mode == WAN_KNOB_INNER_HALF);
	FUZZ_CHECK(s->wan_tx == 0 && s->inner_rx == 0 && s->encrypted == 0);
}

/* What the control thread receives: ARP, ND (ICMPv6 133-137) or a handshake message that
 * ctrl/hs.c finds where decrypt.c left it (l2_len, l3_len, trimmed to the UDP payload). */
static void control_frame(struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const uint8_t *l3 = (const uint8_t *)(eth + 1), *msg;
	uint16_t type;

	FUZZ_CHECK(m->nb_segs == 1 && m->data_len >= RTE_ETHER_HDR_LEN);
	type = rte_be_to_cpu_16(eth->ether_type);
	if (type == RTE_ETHER_TYPE_ARP) {
		neigh_input(m);
		return;
	}
	FUZZ_CHECK(type == RTE_ETHER_TYPE_IPV4 || type == RTE_ETHER_TYPE_IPV6);
	FUZZ_CHECK(m->data_len >= RTE_ETHER_HDR_LEN + (type == RTE_ETHER_TYPE_IPV4 ? 20 : 40));
	FUZZ_CHECK((l3[0] >> 4) == (type == RTE_ETHER_TYPE_IPV4 ? 4 : 6));
	if (type == RTE_ETHER_TYPE_IPV6 && l3[6] == IPPROTO_ICMPV6) {
		FUZZ_CHECK(m->data_len >= RTE_ETHER_HDR_LEN + 40 + 4 && l3[40] >= 133 && l3[40] <= 137);
		neigh_input(m);
		return;
	}
	FUZZ_CHECK(m->l2_len == RTE_ETHER_HDR_LEN && m->l3_len >= 20);
	msg = l3 + m->l3_len + sizeof(struct rte_udp_hdr);
	FUZZ_CHECK(msg <= rte_pktmbuf_mtod_offset(m, const uint8_t *, m->data_len));
	switch (message_classify(msg, m->data_len - (size_t)(msg - (const uint8_t *)eth))) {
	case MESSAGE_HANDSHAKE_INITIATION:
	case MESSAGE_HANDSHAKE_RESPONSE:
	case MESSAGE_HANDSHAKE_COOKIE:
		break;
	default:
		FUZZ_CHECK(!"a non-handshake UDP payload on the control ring");
	}
	rte_pktmbuf_free(m); /* hs_input's part: see the header */
}

static void drain_to_ctrl(struct rte_ring *r)
{
	struct rte_mbuf *m;

	while (rte_ring_dequeue(r, (void **)&m) == 0) {
		/* Read under poison as the control thread reads it; held by us while it does, so the
		 * replies neigh.c allocates cannot land in a buffer still poisoned. */
		poison_around(m);
		rte_mbuf_refcnt_update(m, 1);
		control_frame(m);
		unpoison(m);
		rte_pktmbuf_free(m);
	}
}

/* neigh.c's answers: ARP replies and neighbour advertisements from our MAC. */
static void drain_ctrl_tx(void)
{
	struct rte_mbuf *m;

	while (rte_ring_dequeue(mg_dev.ctrl_tx, (void **)&m) == 0) {
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

		FUZZ_CHECK(m->data_len >= RTE_ETHER_HDR_LEN + 28);
		FUZZ_CHECK(memcmp(&eth->src_addr, wan_our_mac, RTE_ETHER_ADDR_LEN) == 0);
		FUZZ_CHECK(eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) ||
			   eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6));
		n_replies++;
		rte_pktmbuf_free(m);
	}
}

/* Events name one of our peers as it is; a confirmation is for its next keypair, once; a roam
 * once per peer. */
static void drain_events(void)
{
	unsigned int confirmed[WAN_PEERS] = { 0 }, roamed[WAN_PEERS] = { 0 };
	struct mg_event ev;

	while (rte_ring_dequeue_elem(mg_dev.events, &ev, sizeof(ev)) == 0) {
		n_events++;
		FUZZ_CHECK(ev.peer_id < WAN_PEERS && ev.peer == &wan_peer_store[ev.peer_id] &&
			   ev.peer_gen == ev.peer->gen);
		switch (ev.type) {
		case MG_EV_KEYPAIR_CONFIRMED:
			FUZZ_CHECK(ev.keypair == ev.peer->next && ev.keypair_serial == ev.keypair->serial &&
				   ++confirmed[ev.peer_id] == 1);
			break;
		case MG_EV_ROAMED:
			FUZZ_CHECK(ev.keypair && ev.keypair->peer == ev.peer && ++roamed[ev.peer_id] == 1);
			FUZZ_CHECK(ev.from.family == AF_INET || ev.from.family == AF_INET6);
			break;
		default:
			FUZZ_CHECK(!"an event the decrypt path does not post");
		}
	}
}

static void print_trace(uint16_t n, const struct mg_worker *w)
{
	const struct mg_lcore_stats *s = &mg_stats[rte_lcore_id()];

	fprintf(stderr, "fuzz_wan: %u frames, %s: to_ctrl %" PRIu64 ", decrypted %" PRIu64
		", inner_tx %" PRIu64 ", keepalives %" PRIu64, n, aead_burst_backend_name(w->aead.backend),
		s->to_ctrl, s->decrypted, s->inner_tx, s->keepalives_rx);
	for (int r = 0; r < MG_DROP_COUNT; r++)
		if (s->drops[r])
			fprintf(stderr, ", %s %" PRIu64, mg_drop_names[r], s->drops[r]);
	fprintf(stderr, "; events %u, neighbour replies %u, neighbours learnt %u\n", n_events,
		n_replies, (unsigned int)(neigh_changes() - neighbour_updates_before));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t knobs = fuzz_u8(&in);
	struct rte_mbuf *pkts[MG_BURST];
	struct mg_worker *w;
	unsigned int in_use;
	uint16_t n = 0;

	reset();
	inner_mode = knobs & 3u;
	mg_dev.to_ctrl = knobs & WAN_KNOB_CTRL_SMALL ? small_to_ctrl : ring_to_ctrl;
	mg_dev.to_neigh = knobs & WAN_KNOB_CTRL_SMALL ? small_to_neigh : ring_to_neigh;
	mg_dev.events = knobs & WAN_KNOB_EVENTS_SMALL ? small_events : ring_events;
	w = &wan_workers[(knobs >> WAN_KNOB_BACKEND_SHIFT) % n_wan_workers];
	while (n < MG_BURST && fuzz_left(&in)) {
		uint16_t hdr = fuzz_u16(&in), len = (uint16_t)(hdr & WAN_FRAME_LEN_MASK);

		if (len > in.n)
			len = (uint16_t)in.n;
		pkts[n++] = frame_mbuf(in.p, len, hdr);
		in.p += len;
		in.n -= len;
	}

	decrypt_burst(w, pkts, n);

	/* Everything decrypt_burst freed is back in the pool: unpoisoned before anyone allocates. */
	unpoison_segments();
	check_counters(n, rte_ring_count(mg_dev.to_ctrl) + rte_ring_count(mg_dev.to_neigh));
	/* Fragments still waiting for the rest of their datagram: as if their time ran out. */
	rte_ip_frag_table_del_expired_entries(w->frag_tbl, &w->frag_dr, UINT64_MAX);
	rte_ip_frag_free_death_row(&w->frag_dr, 0);
	drain_to_ctrl(mg_dev.to_ctrl);
	drain_to_ctrl(mg_dev.to_neigh);
	drain_ctrl_tx();
	drain_events();
	if (trace)
		print_trace(n, w);
	in_use = rte_mempool_in_use_count(mg_dev.pool);
	if (in_use != pool_baseline) {
		fprintf(stderr, "fuzz_wan: mbuf leak: %u in use after the input, %u before\n", in_use,
			pool_baseline);
		abort();
	}
	return 0;
}
