/* SPDX-License-Identifier: MIT */
/*
 * bench_dataplane: meshgate's worker in memory, next to the crypto alone.
 *
 * The real worker loop (worker_main, decrypt.c, encrypt.c) runs on one worker lcore against two
 * ring-backed ethdev ports (net_ring: WAN and inner), so no kernel, NIC or TUN is in the path and
 * what is measured is the data plane itself: classification, keypair lookup, the burst AEAD, replay
 * window, allowed-IPs, padding, headers, the ethdev bursts. Per point:
 *
 *   1. The main lcore (the generator) fills the input ring with K packets: WireGuard transport
 *      frames sealed for the worker's keypairs (decrypt path) or plaintext IPv4/UDP packets
 *      (encrypt path), round-robin over the peers. Untimed.
 *   2. The worker is launched and timed (TSC) until all K packets are in the output ring.
 *   3. Untimed: every output is checked (decrypt: the inner packet as generated; encrypt: opened with
 *      the peer's key, counter and header as expected) and freed; the worker's drop counters must
 *      not have moved.
 *   4. On the same lcore, the burst AEAD alone (bursts of 32, same backend) over a fresh fill of
 *      the same K packets: the crypto-only rate, so the framework's cost shows as a ratio.
 *   Rounds of 2-3 and 4 alternate, so both figures see the same moments of a noisy machine;
 *   medians over the rounds, and the ratio is the median of the rounds' own ratios.
 *
 * The flow stage (dataplane/flowstage.c), side by side: --flows F0,F1,... --rules R0,R1,... name
 * configurations (F flows, R policy rules; F 0: no flow stage, as without the options). Each is a
 * worker state of its own (worker_init with mg_dev.flow_max set for it, so a table of exactly the
 * flows it holds) and its own published filter (R > 0: R rules that match none of the traffic, all
 * in the list every UDP key scans, and default accept; R 0: no filter). In a round every
 * configuration takes its turn on the same lcore (the order rotating round by round), then the
 * crypto alone, so all of them see the same moments of the machine; "ratio_to_base" is each one's
 * packets/s over the first configuration's and "ns_over_base" its time a packet less the first's,
 * each the median of the rounds' own figures.
 *   With F > 0 the packets spread over F inner flows, F / P per peer: the peer's end of flow j is
 * 10.200.<peer>.(2 + j / 64512), port 1024 + j % 64512 (the peer's allowed-IPs widened to its /24
 * when a peer has more flows than one address holds), the host's end 10.77.0.1 port 5201; decrypt
 * path from the peer's end, encrypt path to it. Per point and configuration, untimed for the
 * figures: the table is emptied and one pass sends one packet of every flow in order (all new:
 * timed on its own as "new_flow_ns_per_packet", the policy judging each; when the flows fit in
 * one round, as many passes as timed rounds and the median), so the table is full before the
 * timed rounds, whose packets then visit the flows in a scattered order (flow
 * x * 2654435761 mod F/P): lookups of established flows in a full table. A point that runs long
 * (a big table, a busy machine) passes over all the flows again, untimed, before they could time
 * out ("refresh_passes"). The record says how many flows the timed rounds created (0: none was
 * missing), and the policy's judgements and matches (matches: 0, or the flows would be dropped).
 *
 * Usage: bench_dataplane [EAL options] -- [--quick] [--packets K] [--rounds R] [--peers P]
 *        [--sizes 64,128,...,imix] [--flows F[,F...]] [--rules R[,R...]]
 * (F and R take k and M suffixes: 1k = 1000, 1M = 1000000.) Prints one JSON record per point and
 * configuration on stdout and a progress line on stderr. Needs 2 lcores.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <sodium.h>

#include "counters.h"
#include "device_setup.h"
#include "flow.h"
#include "packet.h"
#include "policy.h"
#include "worker.h"

#define MAX_PEERS 64
#define INNER_MTU 1420
#define WG_PORT 51820
#define MAX_ROUNDS 255
#define MAX_CONFIGS 8
#define HOST_PORT 5201
#define PORTS_PER_ADDR 64512u /* a peer's end of a flow: ports 1024..65535 */
#define ADDRS_PER_PEER 253u   /* and addresses 10.200.<peer>.2..254 */
#define SPREAD 2654435761u    /* a prime above any flows-per-peer count: x -> x * SPREAD mod n permutes */

/* One configuration of the flow stage. */
struct config {
	unsigned int flows, rules; /* F (0: no flow stage) and R (0: no filter), as asked */
	uint32_t per_peer;         /* flows per peer: F / P rounded up */
	uint32_t flow_max;         /* the table's size: per_peer * P, exactly the flows sent */
	struct mg_worker *w;       /* its worker state (worker_init under its flow_max) */
	struct mg_filter *filter;  /* published while it runs */
	uint64_t next;             /* timed rounds: the per-peer ordinal of the next packet */
};

struct opts {
	unsigned int packets, rounds, peers;
	int sizes[16];     /* inner IPv4 packet lengths; 0: IMIX */
	unsigned int n_sizes;
	unsigned int flows[MAX_CONFIGS], rules[MAX_CONFIGS];
	unsigned int n_flows, n_rules;
};

/* The generator's view of one peer: what it would know as the real peer. */
struct gen_peer {
	struct mg_peer *peer;
	struct mg_keypair *kp;
	uint8_t inner[4];          /* the peer's inner address (allowed-IPs) */
	struct devconf_endpoint ep; /* the peer's WAN endpoint */
	struct rte_ether_addr mac;
	uint64_t next_counter;      /* decrypt path: the peer's send counter */
};

static struct {
	struct gen_peer peers[MAX_PEERS];
	unsigned int n_peers;
	struct rte_ring *wan_rx, *wan_tx, *inner_rx, *inner_tx;
	struct aead_burst aead;     /* the generator's, on the main lcore */
	unsigned int worker_lcore;
	uint8_t wan_addr[4], inner_addr[4];
	struct config cfg[MAX_CONFIGS];
	unsigned int n_cfg;
} B;

/* Worker states of the configurations after the first (which is mg_workers[0]). */
static struct mg_worker extra_workers[MAX_CONFIGS - 1];

static const uint16_t imix[12] = { 64, 576, 64, 64, 576, 64, 1420, 64, 576, 64, 576, 64 };

static uint32_t inner_len(int size, uint64_t seq)
{
	return size ? (uint32_t)size : imix[seq % RTE_DIM(imix)];
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_dataplane: %s: %s\n", what, rte_strerror(err < 0 ? -err : err));
	exit(1);
}

/* ---- set-up: ports, peers, keypairs, as the control thread would publish them ---------------- */

static struct rte_ring *ring(const char *name, unsigned int count)
{
	struct rte_ring *r = rte_ring_create(name, rte_align32pow2(count + 1), rte_socket_id(),
					     RING_F_SP_ENQ | RING_F_SC_DEQ);

	if (!r)
		die(name, rte_errno);
	return r;
}

static uint16_t ring_port(const char *name, struct rte_ring *rx, struct rte_ring *tx)
{
	struct rte_eth_conf conf = { 0 };
	int port = rte_eth_from_rings(name, &rx, 1, &tx, 1, rte_socket_id());

	if (port < 0)
		die(name, rte_errno);
	if (rte_eth_dev_configure(port, 1, 1, &conf) ||
	    rte_eth_rx_queue_setup(port, 0, 1024, rte_socket_id(), NULL, mg_dev.pool) ||
	    rte_eth_tx_queue_setup(port, 0, 1024, rte_socket_id(), NULL) || rte_eth_dev_start(port))
		die("ring port start", EIO);
	return (uint16_t)port;
}

/* Peer i, with allowed-IPs 10.200.i.2/32, or its /24 (plen 24) when its flows need more addresses. */
static void add_peer(unsigned int i, uint8_t plen)
{
	struct gen_peer *g = &B.peers[i];
	struct mg_peer *p = rte_zmalloc("bp", sizeof(*p), RTE_CACHE_LINE_SIZE);
	struct mg_keypair *kp = rte_zmalloc("bkp", sizeof(*kp), RTE_CACHE_LINE_SIZE);
	struct mg_endpoint *e = rte_zmalloc("bep", sizeof(*e), 0);
	uint8_t net[4];
	char name[32];
	int ret;

	snprintf(name, sizeof(name), "bstaged%u", i);
	if (!p || !kp || !e || !(p->staged = rte_ring_create(name, MG_MAX_STAGED, SOCKET_ID_ANY, 0)))
		die("peer", ENOMEM);
	g->peer = p;
	g->kp = kp;
	g->ep = (struct devconf_endpoint){ .family = AF_INET, .addr = { 192, 0, 2, (uint8_t)(10 + i) },
					   .port = (uint16_t)(40000 + i) };
	g->mac = (struct rte_ether_addr){ { 0x02, 0xbe, 0, 0, 0, (uint8_t)i } };
	memcpy(g->inner, (uint8_t[4]){ 10, 200, (uint8_t)i, 2 }, 4);
	p->id = i;
	p->gen = i + 1;
	e->addr = g->ep;
	memcpy(e->local, B.wan_addr, 4);
	e->resolved = true;
	packet_build_template(e->hdr, &e->hdr_len, &mg_dev.wan_mac, &g->mac, B.wan_addr, &g->ep, WG_PORT);
	p->endpoint = e;
	randombytes_buf(kp->send_key, sizeof(kp->send_key));
	randombytes_buf(kp->recv_key, sizeof(kp->recv_key));
	kp->local_index = (randombytes_random() << MG_INDEX_BITS) | i;
	kp->remote_index = randombytes_random();
	kp->initiator = true;
	kp->sending_valid = 1;
	kp->serial = i + 1;
	kp->peer = p;
	rte_spinlock_init(&kp->replay_lock);
	replay_init(&kp->replay);
	p->current = kp;
	mg_dev.index[i].keypair = kp;
	mg_dev.index[i].index = kp->local_index;
	mg_dev.peers[i] = p;
	memcpy(net, g->inner, 4);
	if (plen == 24)
		net[3] = 0;
	ret = allowedips_insert(mg_dev.allowedips, AF_INET, net, plen, p);
	if (ret)
		die("allowedips", ret);
}

/*
 * A filter of n rules that match none of the bench's traffic, default accept, as filter_publish
 * (ctrl/filter.c) makes one: UDP with a destination port range within 1..1001 (the bench's flows
 * go to port 5201, or to a peer's port 1024 and up). A range (not one port) keeps every rule in
 * the protocol's list, which policy_match scans for every UDP key: a new flow is judged against
 * all n. (TCP rules would be in TCP's lists, which a UDP key never visits.) Each rule drops what
 * it matches, so a rule that did match would show as policy drops.
 */
static struct mg_filter *make_filter(unsigned int n)
{
	struct policy_rule *rules = calloc(n, sizeof(*rules));
	struct mg_filter *fl = calloc(1, sizeof(*fl));
	char err[256];

	if (!rules || !fl)
		die("policy", ENOMEM);
	for (unsigned int r = 0; r < n; r++) {
		uint16_t lo = (uint16_t)(1 + r % 1000);

		rules[r] = (struct policy_rule){ .family = AF_INET, .proto = IPPROTO_UDP,
			.dport = { .set = true, .lo = lo, .hi = (uint16_t)(lo + 1) },
			.dir = POLICY_DIR_ANY, .action = POLICY_DROP };
	}
	fl->policy = policy_compile(rules, n, POLICY_ACCEPT, err, sizeof(err));
	free(rules);
	if (!fl->policy) {
		fprintf(stderr, "bench_dataplane: policy: %s\n", err);
		exit(1);
	}
	fl->gen = 1;
	fl->n_counters = policy_rule_count(fl->policy) + 1;
	for (unsigned int i = 0; i < mg_dev.n_workers; i++)
		if (!(fl->hits[i] = calloc(fl->n_counters, sizeof(uint64_t))))
			die("policy", ENOMEM);
	return fl;
}

static void setup_configs(const struct opts *o)
{
	B.n_cfg = RTE_MAX(o->n_flows, 1u);
	for (unsigned int c = 0; c < B.n_cfg; c++) {
		struct config *cf = &B.cfg[c];
		int ret;

		cf->flows = o->n_flows ? o->flows[c] : 0;
		cf->rules = c < o->n_rules ? o->rules[c] : 0;
		cf->per_peer = (uint32_t)((cf->flows + B.n_peers - 1) / B.n_peers);
		cf->flow_max = cf->per_peer * B.n_peers;
		cf->w = c == 0 ? &mg_workers[0] : &extra_workers[c - 1];
		/* As the daemon: the table's size is set before the worker's state is made. */
		mg_dev.flow_max = cf->flow_max;
		ret = worker_init(cf->w, 0, AEAD_BACKEND_AUTO);
		if (ret)
			die(c == 0 ? "aead" : "worker", ret);
		cf->filter = cf->rules ? make_filter(cf->rules) : NULL;
	}
}

/* Configuration c is the one the worker runs: its table and its filter, as the device shows them. */
static void use_config(const struct config *cf)
{
	mg_dev.flow_max = cf->flow_max;
	mg_dev.flow_tables[0] = cf->w->flows;
	__atomic_store_n(&mg_dev.filter, cf->filter, __ATOMIC_RELEASE);
}

static void setup(const struct opts *o)
{
	static struct allowedips table;
	unsigned int k = o->packets;
	uint32_t most = 0;
	int ret;

	if (rte_lcore_count() < 2)
		die("needs 2 lcores (-l 0-1): the generator and one worker", EINVAL);
	B.worker_lcore = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
	mg_clock_init();
	ret = device_create(1, k + 4096, INNER_MTU, RTE_ETHER_MTU);
	if (ret)
		die("device", ret);
	memcpy(B.wan_addr, (uint8_t[4]){ 192, 0, 2, 1 }, 4);
	memcpy(B.inner_addr, (uint8_t[4]){ 10, 77, 0, 1 }, 4);
	mg_dev.wan_addrs[0] = (struct mg_wan_addr){ .family = AF_INET, .prefix_len = 24 };
	memcpy(mg_dev.wan_addrs[0].addr, B.wan_addr, 4);
	mg_dev.n_wan_addrs = 1;
	mg_dev.wan_mac = (struct rte_ether_addr){ { 0x02, 0x6d, 0x67, 0, 0, 1 } };
	mg_dev.listen_port = WG_PORT;
	mg_dev.idle_backoff = false;
	allowedips_init(&table, NULL);
	mg_dev.allowedips = &table;
	B.wan_rx = ring("b_wan_rx", k);
	B.wan_tx = ring("b_wan_tx", k);
	B.inner_rx = ring("b_inner_rx", k);
	B.inner_tx = ring("b_inner_tx", k);
	mg_dev.wan_port = ring_port("b_wan", B.wan_rx, B.wan_tx);
	mg_dev.inner_port = ring_port("b_inner", B.inner_rx, B.inner_tx);
	mg_dev.inner = &mg_inner_ethdev;
	B.n_peers = o->peers;
	/* The same allowed-IPs for every configuration of the run: /24 if any needs it. */
	for (unsigned int c = 0; c < o->n_flows; c++)
		most = RTE_MAX(most, (o->flows[c] + o->peers - 1) / o->peers);
	for (unsigned int i = 0; i < o->peers; i++)
		add_peer(i, most > PORTS_PER_ADDR ? 24 : 32);
	if ((ret = aead_burst_init(&B.aead, AEAD_BACKEND_AUTO)))
		die("aead", ret);
	setup_configs(o);
}

/* ---- the generator ------------------------------------------------------------------------- */

/*
 * Which flow each packet of a round is on. Packet i of a round goes to peer i % P as its
 * (i / P)-th packet; its flow is that ordinal counted from base: in order in the new-flow pass,
 * scattered (a permutation of the peer's flows) in the timed rounds.
 */
struct plan {
	uint32_t per_peer; /* flows per peer; 0: one flow per peer, as without --flows */
	bool in_order;
	uint64_t base;
};

static const struct plan no_flows = { 0 };

static uint32_t plan_flow(const struct plan *pl, uint64_t i)
{
	uint64_t x = pl->base + i / B.n_peers;

	if (pl->in_order)
		return (uint32_t)x;
	return (uint32_t)(x % pl->per_peer * (SPREAD % pl->per_peer) % pl->per_peer);
}

/*
 * Packet i's addresses and ports; to_peer: the encrypt path's (host to peer), else the decrypt
 * path's. Without flows: 10.200.<peer>.2 and 10.77.0.1, ports 9000 to 5201 either way (as before
 * the flow stage was measured).
 */
static void tuple(const struct plan *pl, uint64_t i, bool to_peer, uint8_t src[4], uint16_t *sport,
		  uint8_t dst[4], uint16_t *dport)
{
	uint8_t peer[4];
	uint16_t pport = 9000, hport = HOST_PORT;

	memcpy(peer, B.peers[i % B.n_peers].inner, 4);
	if (pl->per_peer) {
		uint32_t j = plan_flow(pl, i);

		peer[3] = (uint8_t)(2 + j / PORTS_PER_ADDR);
		pport = (uint16_t)(1024 + j % PORTS_PER_ADDR);
	} else if (to_peer) {
		pport = HOST_PORT;
		hport = 9000;
	}
	memcpy(src, to_peer ? B.inner_addr : peer, 4);
	memcpy(dst, to_peer ? peer : B.inner_addr, 4);
	*sport = to_peer ? hport : pport;
	*dport = to_peer ? pport : hport;
}

/* An inner IPv4/UDP packet of len bytes on packet i's flow; the payload carries i so outputs can be
 * checked. */
static void build_inner(uint8_t *p, uint32_t len, const struct plan *pl, bool to_peer, uint64_t i)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint8_t src[4], dst[4];
	uint16_t sport, dport;

	tuple(pl, i, to_peer, src, &sport, dst, &dport);
	memset(p, 0, len);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)len);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	memcpy(&ip->src_addr, src, 4);
	memcpy(&ip->dst_addr, dst, 4);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(len - sizeof(*ip)));
	memcpy(udp + 1, &i, sizeof(i));
}

static struct rte_mbuf *alloc_mbuf(void)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mg_dev.pool);

	if (!m)
		die("mbuf pool empty", ENOMEM);
	return m;
}

/* Decrypt path input: n sealed transport frames, as the peers would send them. */
static void fill_wan(unsigned int n, int size, const struct plan *pl, struct rte_mbuf **ms)
{
	struct aead_burst_op ops[MG_BURST];
	struct devconf_endpoint us = { .family = AF_INET, .port = WG_PORT };
	unsigned int nops = 0;

	memcpy(us.addr, B.wan_addr, 4);
	for (uint64_t i = 0; i < n; i++) {
		struct gen_peer *g = &B.peers[i % B.n_peers];
		uint32_t len = inner_len(size, i);
		uint32_t plen = RTE_MIN(RTE_ALIGN_CEIL(len, MESSAGE_PADDING_MULTIPLE), (uint32_t)INNER_MTU);
		uint8_t hdr[MG_OUTER_HDR_MAX], hl;
		struct rte_mbuf *m = ms[i] = alloc_mbuf();
		uint8_t *f = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(42 + message_data_len(plen)));
		struct message_data *d = (struct message_data *)(f + 42);

		packet_build_template(hdr, &hl, &g->mac, &mg_dev.wan_mac, g->ep.addr, &us, g->ep.port);
		memcpy(f, hdr, hl);
		packet_outer_finish(m, hl, message_data_len(plen), (uint16_t)i);
		d->header.type = MESSAGE_HEADER_WORD(MESSAGE_DATA);
		d->key_idx = g->kp->local_index;
		d->counter = g->next_counter++;
		build_inner(d->encrypted_data, len, pl, false, i);
		memset(d->encrypted_data + len, 0, plen - len); /* padding, as a peer sends it */
		ops[nops++] = (struct aead_burst_op){ .key = g->kp->recv_key, .counter = d->counter,
			.src = d->encrypted_data, .dst = d->encrypted_data,
			.tag = d->encrypted_data + plen, .len = plen };
		if (nops == MG_BURST || i + 1 == n) {
			aead_burst_seal(&B.aead, ops, nops);
			nops = 0;
		}
	}
}

/* Encrypt path input: n plaintext packets from the host to the peers. */
static void fill_inner(unsigned int n, int size, const struct plan *pl, struct rte_mbuf **ms)
{
	for (uint64_t i = 0; i < n; i++) {
		uint32_t len = inner_len(size, i);
		struct rte_mbuf *m = ms[i] = alloc_mbuf();

		build_inner((uint8_t *)rte_pktmbuf_append(m, (uint16_t)len), len, pl, true, i);
	}
}

/* ---- checking what came out (untimed) ------------------------------------------------------- */

/*
 * Outputs are matched to inputs by the sequence number in the inner payload, not by position: the
 * encrypt path groups a burst by peer, so packets of different peers may come out reordered (each
 * peer's own stay in order). Every input must come out exactly once (seen), on its own flow.
 */
struct checker {
	int size;
	const uint64_t *first_ctr; /* encrypt: each peer's first nonce of the round */
	const struct plan *plan;
	uint8_t *seen;
	unsigned int k;
};

/* The inner packet p of len bytes (at least 36): packet seq of the round, for peer, on its flow. */
static bool check_inner(struct checker *c, const uint8_t *p, uint32_t len, unsigned int peer, bool to_peer)
{
	uint8_t src[4], dst[4];
	uint16_t sport, dport;
	uint64_t seq;

	memcpy(&seq, p + 28, sizeof(seq));
	if (seq >= c->k || c->seen[seq] || seq % B.n_peers != peer || len != inner_len(c->size, seq) ||
	    ((uint32_t)p[2] << 8 | p[3]) != len)
		return false;
	tuple(c->plan, seq, to_peer, src, &sport, dst, &dport);
	if (memcmp(p + 12, src, 4) || memcmp(p + 16, dst, 4) ||
	    ((uint32_t)p[20] << 8 | p[21]) != sport || ((uint32_t)p[22] << 8 | p[23]) != dport)
		return false;
	c->seen[seq] = 1;
	return true;
}

static bool check_decrypted(struct checker *c, struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m);
	unsigned int peer = p[14]; /* source 10.200.<peer>.x */

	return len >= 36 && peer < B.n_peers && check_inner(c, p, len, peer, false);
}

/* Opens the frame with its peer's key: header, index, nonce and plaintext as expected. */
static bool check_encrypted(struct checker *c, struct rte_mbuf *m)
{
	uint32_t flen = rte_pktmbuf_data_len(m), ilen;
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	struct message_data *d = (struct message_data *)(f + 42);
	struct aead_burst_op op;
	unsigned int peer = f[33] - 10; /* outer destination 192.0.2.<10 + peer> */
	struct gen_peer *g = &B.peers[peer];
	uint64_t seq;

	if (flen < 42 + MESSAGE_MINIMUM_LENGTH || peer >= B.n_peers ||
	    memcmp(f, g->peer->endpoint->hdr, 12) || d->key_idx != g->kp->remote_index)
		return false;
	op = (struct aead_burst_op){ .key = g->kp->send_key, .counter = d->counter,
		.src = d->encrypted_data, .dst = d->encrypted_data,
		.len = flen - 42 - MESSAGE_MINIMUM_LENGTH, .tag = f + flen - NOISE_AUTHTAG_LEN };
	if ((op.len % MESSAGE_PADDING_MULTIPLE && op.len != INNER_MTU) || op.len < 36 ||
	    aead_burst_open(&B.aead, &op, 1) != 1)
		return false;
	memcpy(&seq, d->encrypted_data + 28, sizeof(seq));
	ilen = (uint32_t)d->encrypted_data[2] << 8 | d->encrypted_data[3];
	/* Each peer's nonces continue from the last round, in the order of its packets. */
	return d->counter == c->first_ctr[peer] + seq / B.n_peers && ilen >= 36 && ilen <= op.len &&
	       check_inner(c, d->encrypted_data, ilen, peer, true);
}

/* ---- timing --------------------------------------------------------------------------------- */

static uint64_t drops_total(void)
{
	uint64_t sum = 0;

	for (unsigned int r = 0; r < MG_DROP_COUNT; r++)
		sum += mg_drop_total(r);
	return sum;
}

/* Busy wait without PAUSE: a hypervisor may take a PAUSE loop for lock spinning and deschedule the
 * vCPU, which would show in the figures. */
static void spin_us(unsigned int us)
{
	uint64_t end = rte_rdtsc() + rte_get_tsc_hz() / 1000000 * us;

	while (rte_rdtsc() < end)
		;
}

/* The worker loop of configuration cf runs across rounds (idle: spinning), as in the daemon. */
static void start_worker(const struct config *cf)
{
	use_config(cf);
	mg_dev.quit = false;
	if (rte_eal_remote_launch(worker_main, cf->w, B.worker_lcore))
		die("launch", EBUSY);
}

static void stop_worker(void)
{
	mg_dev.quit = true;
	rte_eal_wait_lcore(B.worker_lcore);
}

/*
 * One round: all k packets appear in the input ring at once (one bulk enqueue publishes them), the
 * clock runs until the output ring holds k. TSC ticks, or 0 when they did not all come out.
 * The 1 us polling granularity is well under 1% of a round.
 */
static uint64_t time_round(struct rte_ring *in, struct rte_mbuf **ms, struct rte_ring *out, unsigned int k)
{
	uint64_t t0, t1, limit = rte_get_tsc_hz() * 10;

	if (rte_ring_enqueue_bulk(in, (void **)ms, k, NULL) != k)
		die("input ring", ENOSPC);
	t0 = rte_rdtsc();
	while (rte_ring_count(out) < k && rte_rdtsc() - t0 < limit)
		spin_us(1);
	t1 = rte_rdtsc();
	return rte_ring_count(out) == k ? t1 - t0 : 0;
}

/* What one configuration gave at one point. */
struct point {
	double ticks[MAX_ROUNDS];  /* timed rounds that all came out */
	double ratio_crypto[MAX_ROUNDS], ratio_base[MAX_ROUNDS], ns_over_base[MAX_ROUNDS];
	unsigned int rounds, n_crypto, n_base;
	uint64_t bad;              /* outputs that failed their check */
	uint64_t lost;             /* packets that did not come out */
	double new_flow_ns;        /* the new-flow pass, ns per packet; 0 without flows */
	uint64_t filled_ns;        /* when the last pass over all flows began */
	unsigned int refreshes;    /* passes that kept the flows alive during the timed rounds */
	uint64_t created_timed;    /* flows the timed rounds created */
	uint64_t judged, matched;  /* the policy's judgements in this point, and rule matches */
	struct flow_stats st;      /* the table after the point */
};

/* One round of n packets on one path, on the running worker: fill, time, check, free. TSC ticks,
 * or 0 when not all came out. */
static uint64_t round_once(unsigned int n, int size, const struct plan *pl, bool decrypt, struct point *pt)
{
	uint64_t first_ctr[MAX_PEERS];
	struct checker c;
	struct rte_mbuf **ms = malloc(n * sizeof(*ms));
	struct rte_ring *out = decrypt ? B.inner_tx : B.wan_tx;
	uint64_t drops = drops_total(), t;

	if (!ms)
		die("malloc", ENOMEM);
	for (unsigned int i = 0; i < B.n_peers; i++) {
		B.peers[i].kp->birth_ns = mg_now_ns(); /* keys stay young however long the run is */
		first_ctr[i] = B.peers[i].kp->send_counter; /* encrypt: the nonces this round takes */
	}
	if (decrypt)
		fill_wan(n, size, pl, ms);
	else
		fill_inner(n, size, pl, ms);
	t = time_round(decrypt ? B.wan_rx : B.inner_rx, ms, out, n);
	pt->lost += drops_total() - drops;
	if (t == 0) {
		/* Stuck (the worker keeps running): count what is missing, free what came out and
		 * what is still queued. */
		unsigned int got = rte_ring_dequeue_burst(out, (void **)ms, n, NULL);

		pt->lost += n - got;
		rte_pktmbuf_free_bulk(ms, got);
		while ((got = rte_ring_dequeue_burst(decrypt ? B.wan_rx : B.inner_rx, (void **)ms,
						     n, NULL)) > 0)
			rte_pktmbuf_free_bulk(ms, got);
		free(ms);
		return 0;
	}
	rte_ring_dequeue_bulk(out, (void **)ms, n, NULL);
	c = (struct checker){ .size = size, .first_ctr = first_ctr, .plan = pl, .k = n,
			      .seen = calloc(n, 1) };
	if (!c.seen)
		die("malloc", ENOMEM);
	for (unsigned int i = 0; i < n; i++)
		if (!(decrypt ? check_decrypted(&c, ms[i]) : check_encrypted(&c, ms[i])))
			pt->bad++;
	free(c.seen);
	rte_pktmbuf_free_bulk(ms, n);
	free(ms);
	return t;
}

/*
 * The burst AEAD alone, on the worker lcore, over the very packets a round would carry, just
 * written by the generator as in a round (so caches are in the same state): decrypt path: open the
 * sealed frames in place; encrypt path: seal the plaintext in place (padded length, tag after it).
 */
struct crypto_job {
	struct rte_mbuf **ms;
	unsigned int n;
	bool open;
	uint32_t done;      /* set when the round is over (atomic) */
	uint64_t ticks;
	unsigned int ok;
};

static void crypto_op(struct aead_burst_op *op, struct rte_mbuf *m, bool open, unsigned int i)
{
	const uint8_t *key = B.peers[i % B.n_peers].kp->recv_key;

	if (open) {
		struct message_data *d = rte_pktmbuf_mtod_offset(m, struct message_data *, 42);
		uint32_t len = rte_pktmbuf_data_len(m) - 42 - MESSAGE_MINIMUM_LENGTH;

		*op = (struct aead_burst_op){ .key = key, .counter = d->counter, .src = d->encrypted_data,
			.dst = d->encrypted_data, .tag = d->encrypted_data + len, .len = len };
	} else {
		uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
		uint32_t len = RTE_MIN(RTE_ALIGN_CEIL((uint32_t)rte_pktmbuf_data_len(m), MESSAGE_PADDING_MULTIPLE),
				       (uint32_t)INNER_MTU);

		*op = (struct aead_burst_op){ .key = key, .counter = i, .src = p, .dst = p,
			.tag = p + len, .len = len };
	}
}

static void crypto_round(struct crypto_job *j)
{
	struct aead_burst_op ops[MG_BURST];
	unsigned int n = 0;
	uint64_t t0 = rte_rdtsc();

	j->ok = 0;
	for (unsigned int i = 0; i < j->n; i++) {
		crypto_op(&ops[n++], j->ms[i], j->open, i);
		if (n == MG_BURST || i + 1 == j->n) {
			if (j->open)
				j->ok += aead_burst_open(&mg_workers[0].aead, ops, n);
			else
				aead_burst_seal(&mg_workers[0].aead, ops, n);
			n = 0;
		}
	}
	j->ticks = rte_rdtsc() - t0;
}

/* On the worker lcore: 2 ms of spinning first (the worker loop is timed spinning too), then the
 * round. */
static int crypto_only(void *arg)
{
	struct crypto_job *j = arg;

	spin_us(2000);
	crypto_round(j);
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n ? v[n / 2] : 0;
}

/* One round of the crypto alone: TSC ticks, or 0 if an open failed to verify. The main lcore waits
 * spinning without PAUSE (spin_us). */
static double crypto_round_once(const struct opts *o, int size, bool open, struct rte_mbuf **ms)
{
	struct crypto_job j = { .ms = ms, .n = o->packets, .open = open };

	if (open)
		fill_wan(o->packets, size, &no_flows, ms);
	else
		fill_inner(o->packets, size, &no_flows, ms);
	rte_eal_remote_launch(crypto_only, &j, B.worker_lcore);
	while (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE))
		spin_us(1);
	rte_eal_wait_lcore(B.worker_lcore);
	rte_pktmbuf_free_bulk(ms, o->packets);
	return open && j.ok != o->packets ? 0 : (double)j.ticks;
}

static uint64_t inner_bytes(const struct opts *o, int size)
{
	uint64_t b = 0;

	for (uint64_t i = 0; i < o->packets; i++)
		b += inner_len(size, i);
	return b;
}

/* The policy's judgements so far (every rule and the default), and the rules' matches. */
static void policy_hits(const struct config *cf, uint64_t *judged, uint64_t *matched)
{
	*judged = *matched = 0;
	if (!cf->filter)
		return;
	for (uint32_t r = 0; r < cf->filter->n_counters; r++) {
		*judged += cf->filter->hits[0][r];
		if (r + 1 < cf->filter->n_counters)
			*matched += cf->filter->hits[0][r];
	}
}

/*
 * A pass over all flows of configuration cf: one packet of each, in order, in rounds of up to K
 * packets on the running worker. fresh: the table emptied first, so every packet makes a flow,
 * judged by the policy (the new-flow pass); else each finds its flow and keeps it alive. ns per
 * packet (0 when a round failed). The table is full afterwards.
 */
static double flow_pass(const struct opts *o, struct config *cf, int size, bool decrypt, struct point *pt,
			bool fresh)
{
	uint32_t step = o->packets / B.n_peers; /* per-peer ordinals a round */
	double ticks = 0;

	/* Every flow dead at the end of time: the sweep frees them all. */
	if (fresh)
		flow_expire(cf->w->flows, UINT64_MAX, cf->flow_max);
	pt->filled_ns = mg_now_ns();
	start_worker(cf);
	spin_us(2000);
	for (uint64_t base = 0; base < cf->per_peer; base += step) {
		struct plan pl = { .per_peer = cf->per_peer, .in_order = true, .base = base };
		unsigned int n = (unsigned int)RTE_MIN((uint64_t)step, cf->per_peer - base) * B.n_peers;
		uint64_t t = round_once(n, size, &pl, decrypt, pt);

		if (!t) {
			ticks = 0;
			break;
		}
		ticks += (double)t;
	}
	stop_worker();
	return ticks / (double)rte_get_tsc_hz() * 1e9 / cf->flow_max;
}

static void report(const struct opts *o, const char *path, int size, const struct config *cf,
		   struct point *pt, double *cticks, uint64_t bytes)
{
	double secs = median(pt->ticks, pt->rounds) / (double)rte_get_tsc_hz();
	double pps = pt->rounds ? (double)o->packets / secs : 0;
	double cmed = median(cticks, o->rounds);
	double cpps = cmed ? (double)o->packets / (cmed / (double)rte_get_tsc_hz()) : 0;
	double ratio_med = median(pt->ratio_crypto, pt->n_crypto), base_med = median(pt->ratio_base, pt->n_base);
	double over_med = median(pt->ns_over_base, pt->n_base);
	bool failed = pt->bad || pt->lost || pt->matched;
	char label[16], conf[64] = "";

	printf("{\"dut\": \"meshgate-inmem\", \"path\": \"%s\", ", path);
	printf(size ? "\"size\": %d, " : "\"size\": \"imix\", ", size);
	printf("\"flows\": %u, \"peers\": %u, \"pps\": %.0f, \"gbps\": %.4f, \"loss\": %.6f, "
	       "\"crypto_pps\": %.0f, \"ratio_to_crypto\": %.4f, \"ns_per_packet\": %.2f, "
	       "\"crypto_ns_per_packet\": %.2f, \"rounds\": %u, \"packets_per_round\": %u, "
	       "\"bad\": %" PRIu64 ", \"aead\": \"%s\", \"worker_cores\": 1, ",
	       B.n_peers, B.n_peers, pps, pt->rounds ? (double)bytes * 8 / secs / 1e9 : 0,
	       (double)pt->lost / ((double)o->packets * o->rounds), cpps, ratio_med, pps ? 1e9 / pps : 0,
	       cpps ? 1e9 / cpps : 0, pt->rounds, o->packets, pt->bad,
	       aead_burst_backend_name(mg_workers[0].aead.backend));
	printf("\"flow_table\": %u, \"rules\": %u, \"flow_max\": %u, \"configs\": %u, "
	       "\"ratio_to_base\": %.4f, \"ns_over_base\": %.2f, \"base\": {\"flow_table\": %u, \"rules\": %u}, "
	       "\"new_flow_ns_per_packet\": %.2f, \"flows_created_timed\": %" PRIu64 ", "
	       "\"flows_in_use\": %" PRIu64 ", \"flows_evicted\": %" PRIu64 ", "
	       "\"policy_judged\": %" PRIu64 ", \"policy_matched\": %" PRIu64 ", \"refresh_passes\": %u}\n",
	       cf->flows, cf->rules, cf->flow_max, B.n_cfg, base_med, over_med, B.cfg[0].flows, B.cfg[0].rules,
	       pt->new_flow_ns, pt->created_timed, pt->st.in_use, pt->st.evicted, pt->judged, pt->matched,
	       pt->refreshes);
	fflush(stdout);
	snprintf(label, sizeof(label), size ? "%d B" : "imix", size);
	if (cf->flows)
		snprintf(conf, sizeof(conf), ", %u flows, %u rules", cf->flows, cf->rules);
	fprintf(stderr, "bench_dataplane: %-7s %6s x%u peers%s: %6.2f Mpps (%6.1f ns/pkt), crypto alone "
		"%6.2f Mpps, ratio %.2f", path, label, B.n_peers, conf, pps / 1e6, pps ? 1e9 / pps : 0,
		cpps / 1e6, ratio_med);
	if (B.n_cfg > 1)
		fprintf(stderr, ", %.3f of the first (%+.1f ns/pkt)", base_med, over_med);
	if (cf->flows)
		fprintf(stderr, "; new flows %.1f ns/pkt", pt->new_flow_ns);
	if (pt->created_timed)
		fprintf(stderr, " (the timed rounds created %" PRIu64 " flows)", pt->created_timed);
	fprintf(stderr, "%s\n", failed ? " CHECK FAILED" : "");
}

static void measure(const struct opts *o, const char *path, int size)
{
	bool decrypt = strcmp(path, "decrypt") == 0;
	struct point *pts = calloc(B.n_cfg, sizeof(*pts));
	double cticks[MAX_ROUNDS], cfg_ticks[MAX_CONFIGS];
	struct rte_mbuf **ms = malloc(o->packets * sizeof(*ms));
	uint64_t created[MAX_CONFIGS], judged[MAX_CONFIGS], matched[MAX_CONFIGS];
	uint32_t step = (o->packets + B.n_peers - 1) / B.n_peers;
	uint64_t refresh_ns = FLOW_TIMEOUTS_DEFAULT.udp_unreplied * UINT64_C(1000000000) / 2;

	if (!ms || !pts)
		die("malloc", ENOMEM);
	/* Untimed for the figures: each table emptied and filled with all of its flows. */
	for (unsigned int c = 0; c < B.n_cfg; c++) {
		struct config *cf = &B.cfg[c];
		double pass[MAX_ROUNDS];
		unsigned int passes = cf->flow_max <= o->packets ? o->rounds : 1;
		struct flow_stats st;

		policy_hits(cf, &judged[c], &matched[c]);
		if (!cf->flows)
			continue;
		for (unsigned int i = 0; i < passes; i++)
			pass[i] = flow_pass(o, cf, size, decrypt, &pts[c], true);
		pts[c].new_flow_ns = median(pass, passes);
		flow_table_stats(cf->w->flows, &st);
		created[c] = st.created;
		cf->next = 0;
	}
	/*
	 * The configurations and the crypto alone take turns, round by round, so that all see the
	 * same moments of a noisy machine; the ratios are the medians of the rounds' own ratios.
	 */
	for (unsigned int r = 0; r < o->rounds; r++) {
		for (unsigned int i = 0; i < B.n_cfg; i++) {
			unsigned int c = (r + i) % B.n_cfg;
			struct config *cf = &B.cfg[c];
			struct plan pl = { .per_peer = cf->per_peer, .base = cf->next };

			/* The timed rounds visit a fraction of a big table's flows: the others would
			 * time out (UDP, no reply: 30 s) in a long point, on a busy machine, and be
			 * made again in a timed round. Untimed, they are kept alive well before. */
			if (cf->flows && mg_now_ns() - pts[c].filled_ns > refresh_ns) {
				flow_pass(o, cf, size, decrypt, &pts[c], false);
				pts[c].refreshes++;
			}
			start_worker(cf);
			spin_us(2000);
			cfg_ticks[c] = (double)round_once(o->packets, size, &pl, decrypt, &pts[c]);
			stop_worker();
			cf->next += step;
			if (cfg_ticks[c] > 0)
				pts[c].ticks[pts[c].rounds++] = cfg_ticks[c];
		}
		cticks[r] = crypto_round_once(o, size, decrypt, ms);
		for (unsigned int c = 0; c < B.n_cfg; c++) {
			if (cfg_ticks[c] <= 0)
				continue;
			if (cticks[r] > 0)
				pts[c].ratio_crypto[pts[c].n_crypto++] = cticks[r] / cfg_ticks[c];
			if (cfg_ticks[0] > 0) {
				pts[c].ns_over_base[pts[c].n_base] = (cfg_ticks[c] - cfg_ticks[0]) /
					(double)rte_get_tsc_hz() * 1e9 / o->packets;
				pts[c].ratio_base[pts[c].n_base++] = cfg_ticks[0] / cfg_ticks[c];
			}
		}
	}
	free(ms);
	for (unsigned int c = 0; c < B.n_cfg; c++) {
		struct config *cf = &B.cfg[c];
		uint64_t j, m;

		if (cf->flows) {
			flow_table_stats(cf->w->flows, &pts[c].st);
			pts[c].created_timed = pts[c].st.created - created[c];
		}
		policy_hits(cf, &j, &m);
		pts[c].judged = j - judged[c];
		pts[c].matched = m - matched[c];
		report(o, path, size, cf, &pts[c], cticks, inner_bytes(o, size));
	}
	free(pts);
}

/* ---- command line --------------------------------------------------------------------------- */

static void parse_sizes(struct opts *o, char *list)
{
	o->n_sizes = 0;
	for (char *t = strtok(list, ","); t && o->n_sizes < RTE_DIM(o->sizes); t = strtok(NULL, ",")) {
		int v = strcmp(t, "imix") == 0 ? 0 : atoi(t);

		if (strcmp(t, "imix") && (v < 28 + 8 || v > INNER_MTU)) {
			fprintf(stderr, "bench_dataplane: size %s: 36..%d or imix\n", t, INNER_MTU);
			exit(2);
		}
		o->sizes[o->n_sizes++] = v;
	}
}

/* A comma list of counts with optional k (1000) and M (1000000) suffixes; how many it held. */
static unsigned int parse_counts(const char *what, char *list, unsigned int *v, unsigned int max)
{
	unsigned int n = 0;

	for (char *t = strtok(list, ","); t; t = strtok(NULL, ",")) {
		char *end;
		unsigned long long x = strtoull(t, &end, 10);

		if (*end == 'k' || *end == 'M')
			x *= *end++ == 'k' ? 1000 : 1000000;
		if (end == t || *end || x > UINT32_MAX || n == MAX_CONFIGS || x > max) {
			fprintf(stderr, "bench_dataplane: --%s %s: at most %d counts of 0..%u (k, M suffixes)\n",
				what, t, MAX_CONFIGS, max);
			exit(2);
		}
		v[n++] = (unsigned int)x;
	}
	return n;
}

static void parse(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = { { "quick", 0, 0, 'q' }, { "packets", 1, 0, 'k' },
		{ "rounds", 1, 0, 'r' }, { "peers", 1, 0, 'p' }, { "sizes", 1, 0, 's' },
		{ "flows", 1, 0, 'f' }, { "rules", 1, 0, 'R' }, { 0, 0, 0, 0 } };
	char all[] = "64,128,256,512,1024,1420,imix", quick[] = "64,1420";
	int c;

	*o = (struct opts){ .packets = 4096, .rounds = 31, .peers = 1 };
	parse_sizes(o, all);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'q': o->rounds = 5; parse_sizes(o, quick); break;
		case 'k': o->packets = (unsigned int)atoi(optarg); break;
		case 'r': o->rounds = (unsigned int)atoi(optarg); break;
		case 'p': o->peers = (unsigned int)atoi(optarg); break;
		case 's': parse_sizes(o, optarg); break;
		case 'f': o->n_flows = parse_counts("flows", optarg, o->flows, ADDRS_PER_PEER * PORTS_PER_ADDR); break;
		case 'R': o->n_rules = parse_counts("rules", optarg, o->rules, POLICY_RULES_MAX); break;
		default:
			fprintf(stderr, "usage: bench_dataplane [EAL options] -- [--quick] [--packets K] "
				"[--rounds R] [--peers P] [--sizes 64,...,imix] [--flows F[,F...]] "
				"[--rules R[,R...]]\n");
			exit(2);
		}
	}
	if (o->packets < MG_BURST || o->packets > (1u << 20) || o->rounds < 1 || o->rounds > MAX_ROUNDS ||
	    o->peers < 1 || o->peers > MAX_PEERS) {
		fprintf(stderr, "bench_dataplane: --packets 32..1048576, --rounds 1..%d, --peers 1..%d\n",
			MAX_ROUNDS, MAX_PEERS);
		exit(2);
	}
	if (o->n_rules > RTE_MAX(o->n_flows, 1u)) {
		fprintf(stderr, "bench_dataplane: --rules: one count per --flows configuration\n");
		exit(2);
	}
	for (unsigned int i = 0; i < o->n_rules; i++) {
		if (o->rules[i] && (i >= o->n_flows || !o->flows[i])) {
			fprintf(stderr, "bench_dataplane: a policy needs a flow table: rules %u with flows 0\n",
				o->rules[i]);
			exit(2);
		}
	}
	for (unsigned int i = 0; i < o->n_flows; i++) {
		uint64_t per_peer = (o->flows[i] + (uint64_t)o->peers - 1) / o->peers;

		if (o->flows[i] && (o->packets < o->peers || per_peer > ADDRS_PER_PEER * PORTS_PER_ADDR ||
				    per_peer * o->peers > FLOW_MAX_FLOWS)) {
			fprintf(stderr, "bench_dataplane: --flows %u: at most %u a peer and %u in all, and "
				"--packets at least --peers\n", o->flows[i], ADDRS_PER_PEER * PORTS_PER_ADDR,
				FLOW_MAX_FLOWS);
			exit(2);
		}
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	int n = rte_eal_init(argc, argv);

	if (n < 0)
		die("EAL", rte_errno);
	if (sodium_init() < 0)
		die("libsodium", EIO);
	parse(&o, argc - n, argv + n);
	setup(&o);
	for (unsigned int s = 0; s < o.n_sizes; s++) {
		measure(&o, "decrypt", o.sizes[s]);
		measure(&o, "encrypt", o.sizes[s]);
	}
	return 0;
}
