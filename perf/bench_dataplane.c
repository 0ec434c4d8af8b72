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
 * One peer on many cores (dataplane/spread.c), side by side: --workers N0,N1,... names
 * configurations of N worker lcores each, decrypt path only, no flow stage. The device is made
 * with mg_dev.spread for the most workers named, the WAN port with a queue (a ring) per worker, and
 * every packet goes into queue 0's ring: one peer's one UDP flow, which RSS cannot spread. Worker 0
 * receives it all and spreads the AEAD over the others; only it delivers, on inner queue 0 (every
 * TX queue's ring is the same multi-producer ring). A configuration of N > 1 workers runs the
 * states mg_workers[0..N-1] on the first N worker lcores, with mg_dev.n_workers = N while it
 * runs; one of a single worker has a state of its own made as a device of one worker makes it (no
 * spread state: the plain path). They take turns round by round as above; "ratio_to_base" is then
 * the speed-up over the first (list 1 first). Every output is checked as above and must come out in
 * the order generated (the feature's promise): "out_of_order" counts those that did not, and the
 * exit status is 1 if any did. spread.c's counters are recorded per configuration: packets worker
 * 0 handed out ("spread_out") and each worker opened for another ("spread_in").
 *   The main lcore may share a CPU with a worker here (an oversubscribed lcore map, on a machine
 * with fewer CPUs than workers + 1, e.g. --lcores 0@0,1@0,2@1: the main lcore and worker 0 on CPU
 * 0, worker 1 on CPU 1; the single-worker configurations run on that same worker 0, beside the same
 * main lcore), so with --workers the main lcore never spins while workers run: it sleeps
 * (nanosleep, longer at each look up to POLL_SLEEP_MAX_US: each wake-up takes worker 0's CPU for a
 * moment), and a round's end is the moment the worker that delivered the last packet stamped (the
 * inner side's transmit wrapped: mg_inner_ethdev's, then a count), not the moment the main lcore
 * woke to see it.
 *
 * Gateway mode's LAN port, side by side: --lan L0,L1,... gives each configuration its inner side (as
 * --rules its policy; missing ones 0): 0 the bare ethdev port (mg_inner_ethdev, as above), 1 gateway
 * mode's LAN port (mg_inner_lan, dataplane/lanport.c) on a net_ring port of its own over the same
 * rings, set up as daemon/port.c and ctrl/lan.c would: our address 10.77.0.254/24 on it, that prefix
 * the one route (on link), and a neighbour snapshot that holds the host 10.77.0.1 and its MAC, as
 * if the control thread had resolved it. So the decrypt path ends in Ethernet frames to the host's
 * MAC from the gateway's, the TTL one less, and the encrypt path starts from frames to the
 * gateway's MAC; the checks take the Ethernet header off and want TTL 63 (64 on the bare port) and
 * a right IPv4 header checksum either way. The crypto alone is the same for both.
 *
 * Usage: bench_dataplane [EAL options] -- [--quick] [--packets K] [--rounds R] [--peers P]
 *        [--sizes 64,128,...,imix] [--flows F[,F...]] [--rules R[,R...]] [--workers N[,N...]]
 *        [--lan L[,L...]]
 * (F and R take k and M suffixes: 1k = 1000, 1M = 1000000.) Prints one JSON record per point and
 * configuration on stdout and a progress line on stderr. Needs 2 lcores; with --workers, one more
 * than the most workers named.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
#include "inner.h"
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
#define MAX_WORKERS 8         /* --workers: the most a configuration may have */
#define LAN_PREFIX 24          /* --lan: the LAN, 10.77.0.0/24; the gateway 10.77.0.254 */
#define POLL_SLEEP_MIN_US 20u  /* --workers: the main lcore's first sleep between looks, */
#define POLL_SLEEP_MAX_US 1000u /* doubling up to this (few wake-ups: each takes worker 0's CPU) */

/* One configuration of the flow stage. */
struct config {
	unsigned int flows, rules; /* F (0: no flow stage) and R (0: no filter), as asked */
	uint32_t per_peer;         /* flows per peer: F / P rounded up */
	uint32_t flow_max;         /* the table's size: per_peer * P, exactly the flows sent */
	unsigned int workers;      /* worker lcores (--workers; else 1) */
	bool lan;                  /* the inner side is gateway mode's LAN port (--lan), not a bare port */
	struct mg_worker *w;       /* worker 0's state (worker_init under its flow_max); with more
				    * workers, mg_workers[0], and the others follow it there */
	struct mg_filter *filter;  /* published while it runs */
	uint64_t next;             /* timed rounds: the per-peer ordinal of the next packet */
};

struct opts {
	unsigned int packets, rounds, peers;
	int sizes[16];     /* inner IPv4 packet lengths; 0: IMIX */
	unsigned int n_sizes;
	unsigned int flows[MAX_CONFIGS], rules[MAX_CONFIGS], workers[MAX_CONFIGS], lan[MAX_CONFIGS];
	unsigned int n_flows, n_rules, n_workers, n_lan;
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
	unsigned int worker_lcores[MAX_WORKERS]; /* worker i's; the crypto alone runs on the first */
	bool sleepy;                /* --workers: the main lcore sleeps while workers run */
	struct mg_inner_ops stamped; /* --workers: mg_inner_ethdev, its tx stamping a round's end */
	uint64_t out_of_order;      /* decrypt outputs out of order, all points: the exit status */
	struct mg_lan *lan;         /* --lan: gateway mode's LAN port, published while a configuration
				     * that has it runs */
	const struct config *cur;   /* the configuration the workers run */
	uint8_t wan_addr[4], inner_addr[4];
	struct config cfg[MAX_CONFIGS];
	unsigned int n_cfg;
} B;

/* Worker states of the configurations of one worker; those of more share mg_workers[]. */
static struct mg_worker single_workers[MAX_CONFIGS];

/* --workers: where a round stands at the inner side's transmit (stamped_tx), written by workers. */
static struct {
	uint32_t want, sent; /* packets the round delivers; delivered so far */
	uint64_t at;         /* TSC when the last one went (0: not yet) */
} __rte_cache_aligned delivered;

/* --lan: the gateway's MAC on the LAN, and the host's (10.77.0.1, the bench's inner end). */
static const struct rte_ether_addr lan_mac = { { 0x02, 0x6d, 0x67, 0, 0, 2 } },
				   host_mac = { { 0x02, 0x68, 0x6f, 0x73, 0x74, 1 } };

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

/* A ring for count mbufs; single consumer (the main lcore, or one worker's queue), and single
 * producer unless mp (one ring behind every worker's TX queue). */
static struct rte_ring *ring(const char *name, unsigned int count, bool mp)
{
	struct rte_ring *r = rte_ring_create(name, rte_align32pow2(count + 1), rte_socket_id(),
					     (mp ? 0 : RING_F_SP_ENQ) | RING_F_SC_DEQ);

	if (!r)
		die(name, rte_errno);
	return r;
}

/*
 * A port of nq queues: RX queue q reads rx (queue 0) or an empty ring of its own, every TX queue
 * writes tx (multi-producer when nq > 1).
 */
static uint16_t ring_port(const char *name, struct rte_ring *rx, struct rte_ring *tx, unsigned int nq)
{
	struct rte_ring *rxs[MAX_WORKERS], *txs[MAX_WORKERS];
	struct rte_eth_conf conf = { 0 };
	int port;

	for (unsigned int q = 0; q < nq; q++) {
		char qname[RTE_RING_NAMESIZE];

		snprintf(qname, sizeof(qname), "%s_rx%u", name, q);
		rxs[q] = q ? ring(qname, MG_BURST, false) : rx;
		txs[q] = tx;
	}
	port = rte_eth_from_rings(name, rxs, nq, txs, nq, rte_socket_id());
	if (port < 0)
		die(name, rte_errno);
	if (rte_eth_dev_configure(port, (uint16_t)nq, (uint16_t)nq, &conf))
		die("ring port configure", EIO);
	for (uint16_t q = 0; q < nq; q++)
		if (rte_eth_rx_queue_setup(port, q, 1024, rte_socket_id(), NULL, mg_dev.pool) ||
		    rte_eth_tx_queue_setup(port, q, 1024, rte_socket_id(), NULL))
			die("ring port queues", EIO);
	if (rte_eth_dev_start(port))
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
	unsigned int most = mg_dev.n_workers;
	bool shared_made = false;
	int ret;

	B.n_cfg = RTE_MAX(RTE_MAX(RTE_MAX(o->n_flows, o->n_workers), o->n_lan), 1u);
	for (unsigned int c = 0; c < B.n_cfg; c++) {
		struct config *cf = &B.cfg[c];

		cf->flows = c < o->n_flows ? o->flows[c] : 0;
		cf->rules = c < o->n_rules ? o->rules[c] : 0;
		cf->lan = c < o->n_lan && o->lan[c];
		cf->per_peer = (uint32_t)((cf->flows + B.n_peers - 1) / B.n_peers);
		cf->flow_max = cf->per_peer * B.n_peers;
		cf->workers = o->n_workers ? o->workers[c] : 1;
		/* As the daemon: the table's size is set before the worker's state is made. */
		mg_dev.flow_max = cf->flow_max;
		cf->filter = cf->rules ? make_filter(cf->rules) : NULL;
		if (cf->workers == 1) {
			/* As on a device of one worker: no spread state (spread_init). */
			mg_dev.n_workers = 1;
			cf->w = &single_workers[c];
			ret = worker_init(cf->w, 0, AEAD_BACKEND_AUTO);
			if (ret)
				die(c == 0 ? "aead" : "worker", ret);
			continue;
		}
		/* Several: the device's own, made once for the most workers, each with its FIFO. */
		cf->w = &mg_workers[0];
		mg_dev.n_workers = most;
		for (unsigned int i = 0; i < most && !shared_made; i++)
			if ((ret = worker_init(&mg_workers[i], i, AEAD_BACKEND_AUTO)))
				die("worker", ret);
		shared_made = true;
	}
}

/* Worker i of configuration cf. */
static struct mg_worker *cfg_worker(const struct config *cf, unsigned int i)
{
	return cf->workers > 1 ? &mg_workers[i] : cf->w;
}

/*
 * Configuration c is the one the workers run: its table and its filter, as the device shows them,
 * and its number of workers (spread.c hands batches to workers below it).
 */
static void use_config(const struct config *cf)
{
	B.cur = cf;
	mg_dev.lan = cf->lan ? B.lan : NULL;
	mg_dev.inner = cf->lan ? &mg_inner_lan : B.sleepy ? &B.stamped : &mg_inner_ethdev;
	mg_dev.n_workers = cf->workers;
	mg_dev.flow_max = cf->flow_max;
	mg_dev.flow_tables[0] = cf->w->flows;
	__atomic_store_n(&mg_dev.filter, cf->filter, __ATOMIC_RELEASE);
}

/*
 * --workers: the inner side's transmit, mg_inner_ethdev's, then a count; the worker that sends the
 * round's last packet stamps the moment (delivered.at), so the sleeping main lcore's late look does
 * not lengthen the round.
 */
static uint16_t stamped_tx(uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent = mg_inner_ethdev.tx(queue, pkts, n);
	uint32_t total = __atomic_add_fetch(&delivered.sent, sent, __ATOMIC_RELAXED);

	if (total >= delivered.want && total - sent < delivered.want)
		__atomic_store_n(&delivered.at, rte_rdtsc(), __ATOMIC_RELEASE);
	return sent;
}

/*
 * --lan: gateway mode's LAN port, as daemon/port.c (setup_lan) and ctrl/lan.c (lan_init, and the
 * neighbour snapshot it publishes) make it: a port over the inner rings, our address and its
 * prefix, the prefix's route on link, the host resolved. Published per configuration (use_config).
 * (lanport.c takes mg_workers[queue] for the ICMP rate limits only: nothing here asks for ICMP.)
 */
static void setup_lan(unsigned int workers)
{
	static struct mg_lan_route on_link = { .family = AF_INET, .on_link = true };
	static const uint8_t net[4] = { 10, 77, 0, 0 };
	struct mg_lan_neighs *t = calloc(1, sizeof(*t) + 16 * sizeof(t->slot[0]));
	struct mg_lan *lan;
	uint32_t i;
	int ret = device_create_lan();

	if (ret || !t)
		die("LAN", ret ? ret : ENOMEM);
	lan = B.lan = mg_dev.lan;
	lan->port = ring_port("b_lan", B.inner_rx, B.inner_tx, workers);
	lan->mac = lan_mac;
	lan->addrs[0] = (struct mg_wan_addr){ .family = AF_INET, .addr = { 10, 77, 0, 254 },
					      .prefix_len = LAN_PREFIX };
	lan->n_addrs = 1;
	allowedips_init(&lan->routes, NULL);
	if ((ret = allowedips_insert(&lan->routes, AF_INET, net, LAN_PREFIX, &on_link)))
		die("LAN route", ret);
	t->mask = 15;
	i = mg_lan_neigh_hash(AF_INET, B.inner_addr) & t->mask;
	t->slot[i].mac = host_mac;
	memcpy(t->slot[i].addr, B.inner_addr, 4);
	t->slot[i].family = AF_INET;
	lan->neighs = t;
	mg_dev.lan = NULL; /* published by the configurations that have it */
}

static void setup(const struct opts *o)
{
	static struct allowedips table;
	unsigned int k = o->packets, workers = 1, lcore = rte_get_main_lcore();
	uint32_t most = 0;
	int ret;

	for (unsigned int c = 0; c < o->n_workers; c++)
		workers = RTE_MAX(workers, o->workers[c]);
	if (rte_lcore_count() < workers + 1) {
		fprintf(stderr, "bench_dataplane: needs %u lcores (the generator and %u worker%s; with fewer "
			"CPUs, e.g. --lcores 0@0,1@0,2@1), has %u\n", workers + 1, workers,
			workers > 1 ? "s" : "", rte_lcore_count());
		exit(2);
	}
	for (unsigned int i = 0; i < workers; i++)
		B.worker_lcores[i] = lcore = rte_get_next_lcore(lcore, 1, 0);
	mg_clock_init();
	/* Before device_create: the crypt rings (spread.c's) are made with the device. */
	mg_dev.spread = o->n_workers > 0;
	B.sleepy = o->n_workers > 0;
	ret = device_create(workers, k + 4096, INNER_MTU, RTE_ETHER_MTU);
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
	B.wan_rx = ring("b_wan_rx", k, false);
	B.wan_tx = ring("b_wan_tx", k, workers > 1);
	B.inner_rx = ring("b_inner_rx", k, false);
	B.inner_tx = ring("b_inner_tx", k, workers > 1);
	mg_dev.wan_port = ring_port("b_wan", B.wan_rx, B.wan_tx, workers);
	mg_dev.inner_port = ring_port("b_inner", B.inner_rx, B.inner_tx, workers);
	mg_dev.inner = &mg_inner_ethdev;
	if (B.sleepy) {
		B.stamped = mg_inner_ethdev;
		B.stamped.tx = stamped_tx;
		mg_dev.inner = &B.stamped;
	}
	for (unsigned int c = 0; c < o->n_lan; c++)
		if (o->lan[c] && !B.lan)
			setup_lan(workers);
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

/* Encrypt path input: n plaintext packets from the host to the peers; lan: in Ethernet frames to
 * the gateway's MAC. */
static void fill_inner(unsigned int n, int size, const struct plan *pl, bool lan, struct rte_mbuf **ms)
{
	uint16_t l2 = lan ? RTE_ETHER_HDR_LEN : 0;

	for (uint64_t i = 0; i < n; i++) {
		uint32_t len = inner_len(size, i);
		struct rte_mbuf *m = ms[i] = alloc_mbuf();
		uint8_t *f = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(l2 + len));

		if (lan)
			*(struct rte_ether_hdr *)f = (struct rte_ether_hdr){ .dst_addr = lan_mac,
				.src_addr = host_mac, .ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4) };
		build_inner(f + l2, len, pl, true, i);
	}
}

/* ---- checking what came out (untimed) ------------------------------------------------------- */

/*
 * Outputs are matched to inputs by the sequence number in the inner payload, not by position: the
 * encrypt path groups a burst by peer, so packets of different peers may come out reordered (each
 * peer's own stay in order). Every input must come out exactly once (seen), on its own flow. The
 * decrypt path delivers in arrival order, across workers too (spread.c): there each output's
 * number must also be above that of the output before it (with every input once: 0..k-1 in order).
 */
struct checker {
	int size;
	const uint64_t *first_ctr; /* encrypt: each peer's first nonce of the round */
	const struct plan *plan;
	uint8_t *seen;
	unsigned int k;
	bool lan;                  /* through the LAN port: Ethernet frames out, TTL one less */
	uint64_t last;             /* decrypt: the number of the last output that passed (+1; 0: none) */
	uint64_t out_of_order;     /* decrypt: outputs numbered below the output before them */
};

/* The inner packet p of len bytes (at least 36): packet seq of the round, for peer, on its flow. */
static bool check_inner(struct checker *c, const uint8_t *p, uint32_t len, unsigned int peer, bool to_peer)
{
	uint8_t src[4], dst[4];
	uint16_t sport, dport;
	uint64_t seq;

	memcpy(&seq, p + 28, sizeof(seq));
	if (seq >= c->k || c->seen[seq] || seq % B.n_peers != peer || len != inner_len(c->size, seq) ||
	    ((uint32_t)p[2] << 8 | p[3]) != len || p[8] != 64 - c->lan ||
	    rte_ipv4_cksum((const struct rte_ipv4_hdr *)p) != 0)
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
	unsigned int peer;
	uint64_t seq;

	if (c->lan) {
		const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)p;

		if (len < RTE_ETHER_HDR_LEN || !rte_is_same_ether_addr(&eth->dst_addr, &host_mac) ||
		    !rte_is_same_ether_addr(&eth->src_addr, &lan_mac) ||
		    eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4))
			return false;
		p += RTE_ETHER_HDR_LEN;
		len -= RTE_ETHER_HDR_LEN;
	}
	peer = p[14]; /* source 10.200.<peer>.x */
	if (len < 36 || peer >= B.n_peers || !check_inner(c, p, len, peer, false))
		return false;
	memcpy(&seq, p + 28, sizeof(seq));
	if (seq + 1 < c->last)
		c->out_of_order++;
	c->last = seq + 1;
	return true;
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

/* Every drop counter now, and how many drops there have been since such a snapshot. */
static void drops_snapshot(uint64_t *d)
{
	for (unsigned int r = 0; r < MG_DROP_COUNT; r++)
		d[r] = mg_drop_total(r);
}

static uint64_t drops_since(const uint64_t *d0)
{
	uint64_t sum = 0;

	for (unsigned int r = 0; r < MG_DROP_COUNT; r++)
		sum += mg_drop_total(r) - d0[r];
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

/* The main lcore waits: spinning where it has a CPU of its own; with --workers, where it may share
 * one with worker 0, sleeping. */
static void main_wait_us(unsigned int us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	if (!B.sleepy)
		spin_us(us);
	else
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
}

/* Between two looks at what the workers did: 1 us spinning, or a sleep that doubles at each look
 * (*us, which starts at 0) from POLL_SLEEP_MIN_US to POLL_SLEEP_MAX_US. */
static void main_poll(unsigned int *us)
{
	*us = !B.sleepy ? 1 : RTE_MIN(RTE_MAX(*us * 2, POLL_SLEEP_MIN_US), POLL_SLEEP_MAX_US);
	main_wait_us(*us);
}

/* The worker loops of configuration cf run across rounds (idle: spinning), as in the daemon. */
static void start_worker(const struct config *cf)
{
	use_config(cf);
	mg_dev.quit = false;
	for (unsigned int i = 0; i < cf->workers; i++)
		if (rte_eal_remote_launch(worker_main, cfg_worker(cf, i), B.worker_lcores[i]))
			die("launch", EBUSY);
}

static void stop_worker(const struct config *cf)
{
	unsigned int us = 0;

	mg_dev.quit = true;
	for (unsigned int i = 0; i < cf->workers; i++) {
		while (rte_eal_get_lcore_state(B.worker_lcores[i]) == RUNNING)
			main_poll(&us);
		rte_eal_wait_lcore(B.worker_lcores[i]);
	}
}

/*
 * One round: all k packets appear in the input ring at once (one bulk enqueue publishes them), the
 * clock runs until the output ring holds k. TSC ticks, or 0 when they did not all come out.
 * The 1 us polling granularity is well under 1% of a round; with --workers, the end is the stamp
 * the delivering worker made (stamped_tx) and the polling's granularity does not count.
 */
static uint64_t time_round(struct rte_ring *in, struct rte_mbuf **ms, struct rte_ring *out, unsigned int k)
{
	uint64_t t0, t1, limit = rte_get_tsc_hz() * 10;
	unsigned int us = 0;

	delivered.want = k;
	__atomic_store_n(&delivered.sent, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&delivered.at, 0, __ATOMIC_RELAXED);
	if (rte_ring_enqueue_bulk(in, (void **)ms, k, NULL) != k)
		die("input ring", ENOSPC);
	t0 = rte_rdtsc();
	while (rte_ring_count(out) < k && rte_rdtsc() - t0 < limit)
		main_poll(&us);
	t1 = rte_rdtsc();
	if (B.sleepy && __atomic_load_n(&delivered.at, __ATOMIC_ACQUIRE))
		t1 = __atomic_load_n(&delivered.at, __ATOMIC_ACQUIRE);
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
	uint64_t out_of_order;     /* decrypt outputs that came after a later packet */
	unsigned int failed;       /* rounds that did not give exactly their packets in time */
	uint64_t spread_out, spread_in[MAX_WORKERS]; /* spread.c's counters over the timed rounds */
};

/*
 * A round that did not give exactly its n packets in time (stuck, or more came out): said on
 * stderr, with the drops since it began (d0), then what is still on its way is let through (until
 * the output ring has not grown for 100 ms) and freed with what is still queued, so that the next
 * round starts clean. What did not come out is counted lost.
 */
static void round_failed(unsigned int n, bool decrypt, struct rte_mbuf **ms, struct point *pt,
			 const uint64_t *d0)
{
	struct rte_ring *in = decrypt ? B.wan_rx : B.inner_rx, *out = decrypt ? B.inner_tx : B.wan_tx;
	unsigned int seen = rte_ring_count(out), queued = rte_ring_count(in), got = 0, k, before;

	do {
		before = rte_ring_count(out);
		main_wait_us(100000);
	} while (rte_ring_count(out) != before);
	while ((k = rte_ring_dequeue_burst(out, (void **)ms, n, NULL)) > 0) {
		got += k;
		rte_pktmbuf_free_bulk(ms, k);
	}
	while ((k = rte_ring_dequeue_burst(in, (void **)ms, n, NULL)) > 0)
		rte_pktmbuf_free_bulk(ms, k);
	pt->lost += got < n ? n - got : 0;
	pt->failed++;
	fprintf(stderr, "bench_dataplane: a round failed: %u of %u packets out when it was given up (%u still "
		"in the input ring), %u in the end; drops:", seen, n, queued, got);
	for (unsigned int r = 0; r < MG_DROP_COUNT; r++)
		if (mg_drop_total(r) != d0[r])
			fprintf(stderr, " %s %" PRIu64, mg_drop_names[r], mg_drop_total(r) - d0[r]);
	fprintf(stderr, "\n");
}

/* One round of n packets on one path, on the running worker: fill, time, check, free. TSC ticks,
 * or 0 when not exactly n came out. */
static uint64_t round_once(unsigned int n, int size, const struct plan *pl, bool decrypt, struct point *pt)
{
	uint64_t first_ctr[MAX_PEERS], d0[MG_DROP_COUNT];
	struct checker c;
	struct rte_mbuf **ms = malloc(n * sizeof(*ms));
	struct rte_ring *out = decrypt ? B.inner_tx : B.wan_tx;
	uint64_t t;

	if (!ms)
		die("malloc", ENOMEM);
	for (unsigned int i = 0; i < B.n_peers; i++) {
		B.peers[i].kp->birth_ns = mg_now_ns(); /* keys stay young however long the run is */
		first_ctr[i] = B.peers[i].kp->send_counter; /* encrypt: the nonces this round takes */
	}
	if (decrypt)
		fill_wan(n, size, pl, ms);
	else
		fill_inner(n, size, pl, B.cur->lan, ms);
	drops_snapshot(d0);
	t = time_round(decrypt ? B.wan_rx : B.inner_rx, ms, out, n);
	pt->lost += drops_since(d0);
	if (t == 0) {
		round_failed(n, decrypt, ms, pt, d0);
		free(ms);
		return 0;
	}
	rte_ring_dequeue_bulk(out, (void **)ms, n, NULL);
	c = (struct checker){ .size = size, .first_ctr = first_ctr, .plan = pl, .k = n,
			      .seen = calloc(n, 1), .lan = B.cur->lan };
	if (!c.seen)
		die("malloc", ENOMEM);
	for (unsigned int i = 0; i < n; i++)
		if (!(decrypt ? check_decrypted(&c, ms[i]) : check_encrypted(&c, ms[i])))
			pt->bad++;
	pt->out_of_order += c.out_of_order;
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
				j->ok += aead_burst_open(&B.cfg[0].w->aead, ops, n);
			else
				aead_burst_seal(&B.cfg[0].w->aead, ops, n);
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

/* The value num/den of the way up v (sorted here): 1/2 the median. */
static double quantile(double *v, unsigned int n, unsigned int num, unsigned int den)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n ? v[n * num / den] : 0;
}

static double median(double *v, unsigned int n)
{
	return quantile(v, n, 1, 2);
}

/* One round of the crypto alone, on worker 0's lcore: TSC ticks, or 0 if an open failed to verify.
 * The main lcore waits spinning without PAUSE (spin_us), or sleeping (main_poll). */
static double crypto_round_once(const struct opts *o, int size, bool open, struct rte_mbuf **ms)
{
	struct crypto_job j = { .ms = ms, .n = o->packets, .open = open };
	unsigned int us = 0;

	if (open)
		fill_wan(o->packets, size, &no_flows, ms);
	else
		fill_inner(o->packets, size, &no_flows, false, ms);
	rte_eal_remote_launch(crypto_only, &j, B.worker_lcores[0]);
	while (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE))
		main_poll(&us);
	rte_eal_wait_lcore(B.worker_lcores[0]);
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
	main_wait_us(2000);
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
	stop_worker(cf);
	return ticks / (double)rte_get_tsc_hz() * 1e9 / cf->flow_max;
}

/* The record's spread.c part: the workers, how many packets went out to them and came in, and the
 * quartiles of the rounds' ratios to the first configuration (how much the machine's noise moved
 * them). */
static void report_spread(const struct config *cf, struct point *pt)
{
	printf("\"ratio_to_base_q\": [%.4f, %.4f], ", quantile(pt->ratio_base, pt->n_base, 1, 4),
	       quantile(pt->ratio_base, pt->n_base, 3, 4));
	printf("\"workers\": %u, \"spread\": %s, \"spread_out\": %" PRIu64 ", \"spread_in\": [", cf->workers,
	       cf->workers > 1 && mg_dev.spread ? "true" : "false", pt->spread_out);
	for (unsigned int i = 0; i < cf->workers; i++)
		printf("%s%" PRIu64, i ? ", " : "", pt->spread_in[i]);
	printf("], ");
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
	bool failed = pt->bad || pt->lost || pt->matched || pt->out_of_order || pt->failed;
	char label[16], conf[64] = "";

	printf("{\"dut\": \"meshgate-inmem\", \"path\": \"%s\", ", path);
	printf(size ? "\"size\": %d, " : "\"size\": \"imix\", ", size);
	printf("\"flows\": %u, \"peers\": %u, \"pps\": %.0f, \"gbps\": %.4f, \"loss\": %.6f, "
	       "\"crypto_pps\": %.0f, \"ratio_to_crypto\": %.4f, \"ns_per_packet\": %.2f, "
	       "\"crypto_ns_per_packet\": %.2f, \"rounds\": %u, \"packets_per_round\": %u, "
	       "\"bad\": %" PRIu64 ", \"aead\": \"%s\", \"worker_cores\": %u, ",
	       B.n_peers, B.n_peers, pps, pt->rounds ? (double)bytes * 8 / secs / 1e9 : 0,
	       (double)pt->lost / ((double)o->packets * o->rounds), cpps, ratio_med, pps ? 1e9 / pps : 0,
	       cpps ? 1e9 / cpps : 0, pt->rounds, o->packets, pt->bad,
	       aead_burst_backend_name(B.cfg[0].w->aead.backend), cf->workers);
	printf("\"inner\": \"%s\", \"flow_table\": %u, \"rules\": %u, \"flow_max\": %u, \"configs\": %u, "
	       "\"ratio_to_base\": %.4f, \"ns_over_base\": %.2f, \"base\": {\"flow_table\": %u, \"rules\": %u}, "
	       "\"new_flow_ns_per_packet\": %.2f, \"flows_created_timed\": %" PRIu64 ", "
	       "\"flows_in_use\": %" PRIu64 ", \"flows_evicted\": %" PRIu64 ", "
	       "\"policy_judged\": %" PRIu64 ", \"policy_matched\": %" PRIu64 ", \"refresh_passes\": %u, ",
	       cf->lan ? "lan" : "ethdev", cf->flows, cf->rules, cf->flow_max, B.n_cfg, base_med, over_med,
	       B.cfg[0].flows, B.cfg[0].rules,
	       pt->new_flow_ns, pt->created_timed, pt->st.in_use, pt->st.evicted, pt->judged, pt->matched,
	       pt->refreshes);
	report_spread(cf, pt);
	printf("\"out_of_order\": %" PRIu64 ", \"failed_rounds\": %u}\n", pt->out_of_order, pt->failed);
	fflush(stdout);
	snprintf(label, sizeof(label), size ? "%d B" : "imix", size);
	if (cf->flows)
		snprintf(conf, sizeof(conf), "%s, %u flows, %u rules", cf->lan ? ", LAN port" : "", cf->flows,
			 cf->rules);
	else if (cf->lan)
		snprintf(conf, sizeof(conf), ", LAN port");
	else if (o->n_workers)
		snprintf(conf, sizeof(conf), ", %u worker%s", cf->workers, cf->workers > 1 ? "s" : "");
	fprintf(stderr, "bench_dataplane: %-7s %6s x%u peers%s: %6.2f Mpps (%6.1f ns/pkt), crypto alone "
		"%6.2f Mpps, ratio %.2f", path, label, B.n_peers, conf, pps / 1e6, pps ? 1e9 / pps : 0,
		cpps / 1e6, ratio_med);
	if (B.n_cfg > 1)
		fprintf(stderr, ", %.3f of the first (%+.1f ns/pkt)", base_med, over_med);
	if (cf->flows)
		fprintf(stderr, "; new flows %.1f ns/pkt", pt->new_flow_ns);
	if (pt->created_timed)
		fprintf(stderr, " (the timed rounds created %" PRIu64 " flows)", pt->created_timed);
	if (cf->workers > 1)
		fprintf(stderr, "; %.0f%% opened by others", 100.0 * (double)pt->spread_out /
			((double)o->packets * o->rounds));
	if (pt->out_of_order)
		fprintf(stderr, "; %" PRIu64 " OUT OF ORDER", pt->out_of_order);
	fprintf(stderr, "%s\n", failed ? " CHECK FAILED" : "");
}

/* spread.c's counters on configuration cf's worker lcores: what they handed out, and what each
 * opened for another. */
static uint64_t spread_counts(const struct config *cf, uint64_t *in)
{
	uint64_t out = 0;

	for (unsigned int i = 0; i < cf->workers; i++) {
		out += mg_stats[B.worker_lcores[i]].spread_out;
		in[i] = mg_stats[B.worker_lcores[i]].spread_in;
	}
	return out;
}

/* A timed round of configuration cf, its workers started for it (and given 2 ms to spin up) and
 * stopped after; spread.c's counters in the point. TSC ticks, or 0 as round_once. */
static uint64_t timed_round(unsigned int n, int size, const struct config *cf, const struct plan *pl,
			    bool decrypt, struct point *pt)
{
	uint64_t in0[MAX_WORKERS], in1[MAX_WORKERS], out0 = spread_counts(cf, in0), t;

	start_worker(cf);
	main_wait_us(2000);
	t = round_once(n, size, pl, decrypt, pt);
	stop_worker(cf);
	pt->spread_out += spread_counts(cf, in1) - out0;
	for (unsigned int i = 0; i < cf->workers; i++)
		pt->spread_in[i] += in1[i] - in0[i];
	return t;
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
			cfg_ticks[c] = (double)timed_round(o->packets, size, cf, &pl, decrypt, &pts[c]);
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
		B.out_of_order += pts[c].out_of_order;
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

static void check_opts(const struct opts *o)
{
	if (o->packets < MG_BURST || o->packets > (1u << 20) || o->rounds < 1 || o->rounds > MAX_ROUNDS ||
	    o->peers < 1 || o->peers > MAX_PEERS) {
		fprintf(stderr, "bench_dataplane: --packets 32..1048576, --rounds 1..%d, --peers 1..%d\n",
			MAX_ROUNDS, MAX_PEERS);
		exit(2);
	}
	if (o->n_rules > RTE_MAX(RTE_MAX(o->n_flows, o->n_lan), 1u)) {
		fprintf(stderr, "bench_dataplane: --rules: one count per configuration\n");
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
	for (unsigned int i = 0; i < o->n_workers; i++) {
		if (!o->workers[i] || o->n_flows || o->n_rules || o->n_lan) {
			fprintf(stderr, "bench_dataplane: --workers: 1..%d each, and no --flows, --rules or --lan "
				"with it\n", MAX_WORKERS);
			exit(2);
		}
	}
}

static void parse(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = { { "quick", 0, 0, 'q' }, { "packets", 1, 0, 'k' },
		{ "rounds", 1, 0, 'r' }, { "peers", 1, 0, 'p' }, { "sizes", 1, 0, 's' },
		{ "flows", 1, 0, 'f' }, { "rules", 1, 0, 'R' }, { "workers", 1, 0, 'w' }, { "lan", 1, 0, 'l' },
		{ 0, 0, 0, 0 } };
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
		case 'w': o->n_workers = parse_counts("workers", optarg, o->workers, MAX_WORKERS); break;
		case 'l': o->n_lan = parse_counts("lan", optarg, o->lan, 1); break;
		default:
			fprintf(stderr, "usage: bench_dataplane [EAL options] -- [--quick] [--packets K] "
				"[--rounds R] [--peers P] [--sizes 64,...,imix] [--flows F[,F...]] "
				"[--rules R[,R...]] [--workers N[,N...]] [--lan L[,L...]]\n");
			exit(2);
		}
	}
	check_opts(o);
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
		/* --workers: the encrypt path spreads by the inner side's RSS already. */
		if (!o.n_workers)
			measure(&o, "encrypt", o.sizes[s]);
	}
	if (B.out_of_order) {
		fprintf(stderr, "bench_dataplane: FAILED: %" PRIu64 " decrypt outputs out of order\n",
			B.out_of_order);
		return 1;
	}
	return 0;
}
