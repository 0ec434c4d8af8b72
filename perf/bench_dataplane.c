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
 * Usage: bench_dataplane [EAL options] -- [--quick] [--packets K] [--rounds R] [--peers P]
 *        [--sizes 64,128,...,imix]
 * Prints one JSON record per point on stdout and a progress line on stderr. Needs 2 lcores.
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
#include "packet.h"
#include "worker.h"

#define MAX_PEERS 64
#define INNER_MTU 1420
#define WG_PORT 51820
#define MAX_ROUNDS 64

struct opts {
	unsigned int packets, rounds, peers;
	int sizes[16];     /* inner IPv4 packet lengths; 0: IMIX */
	unsigned int n_sizes;
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
} B;

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

static void add_peer(unsigned int i)
{
	struct gen_peer *g = &B.peers[i];
	struct mg_peer *p = rte_zmalloc("bp", sizeof(*p), RTE_CACHE_LINE_SIZE);
	struct mg_keypair *kp = rte_zmalloc("bkp", sizeof(*kp), RTE_CACHE_LINE_SIZE);
	struct mg_endpoint *e = rte_zmalloc("bep", sizeof(*e), 0);
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
	ret = allowedips_insert(mg_dev.allowedips, AF_INET, g->inner, 32, p);
	if (ret)
		die("allowedips", ret);
}

static void setup(const struct opts *o)
{
	static struct allowedips table;
	unsigned int k = o->packets;
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
	for (unsigned int i = 0; i < o->peers; i++)
		add_peer(i);
	if ((ret = aead_burst_init(&B.aead, AEAD_BACKEND_AUTO)) ||
	    (ret = worker_init(&mg_workers[0], 0, AEAD_BACKEND_AUTO)))
		die("aead", ret);
}

/* ---- the generator ------------------------------------------------------------------------- */

/* An inner IPv4/UDP packet of len bytes; the payload carries seq so outputs can be checked. */
static void build_inner(uint8_t *p, uint32_t len, const uint8_t *src, const uint8_t *dst, uint64_t seq)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	memset(p, 0, len);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)len);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	memcpy(&ip->src_addr, src, 4);
	memcpy(&ip->dst_addr, dst, 4);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(9000);
	udp->dst_port = rte_cpu_to_be_16(5201);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(len - sizeof(*ip)));
	memcpy(udp + 1, &seq, sizeof(seq));
}

static struct rte_mbuf *alloc_mbuf(void)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mg_dev.pool);

	if (!m)
		die("mbuf pool empty", ENOMEM);
	return m;
}

/* Decrypt path input: K sealed transport frames, as the peers would send them. */
static void fill_wan(const struct opts *o, int size, struct rte_mbuf **ms)
{
	struct aead_burst_op ops[MG_BURST];
	struct devconf_endpoint us = { .family = AF_INET, .port = WG_PORT };
	unsigned int n = 0;

	memcpy(us.addr, B.wan_addr, 4);
	for (uint64_t i = 0; i < o->packets; i++) {
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
		build_inner(d->encrypted_data, len, g->inner, B.inner_addr, i);
		memset(d->encrypted_data + len, 0, plen - len); /* padding, as a peer sends it */
		ops[n++] = (struct aead_burst_op){ .key = g->kp->recv_key, .counter = d->counter,
			.src = d->encrypted_data, .dst = d->encrypted_data,
			.tag = d->encrypted_data + plen, .len = plen };
		if (n == MG_BURST || i + 1 == o->packets) {
			aead_burst_seal(&B.aead, ops, n);
			n = 0;
		}
	}
}

/* Encrypt path input: K plaintext packets from the host to the peers. */
static void fill_inner(const struct opts *o, int size, struct rte_mbuf **ms)
{
	for (uint64_t i = 0; i < o->packets; i++) {
		uint32_t len = inner_len(size, i);
		struct rte_mbuf *m = ms[i] = alloc_mbuf();

		build_inner((uint8_t *)rte_pktmbuf_append(m, (uint16_t)len), len, B.inner_addr,
			    B.peers[i % B.n_peers].inner, i);
	}
}

/* ---- checking what came out (untimed) ------------------------------------------------------- */

/*
 * Outputs are matched to inputs by the sequence number in the inner payload, not by position: the
 * encrypt path groups a burst by peer, so packets of different peers may come out reordered (each
 * peer's own stay in order). Every input must come out exactly once (seen).
 */
struct checker {
	int size;
	const uint64_t *first_ctr; /* encrypt: each peer's first nonce of the round */
	uint8_t *seen;
	unsigned int k;
};

static bool check_inner(struct checker *c, const uint8_t *p, uint32_t len, unsigned int peer)
{
	uint64_t seq;

	memcpy(&seq, p + 28, sizeof(seq));
	if (seq >= c->k || c->seen[seq] || seq % B.n_peers != peer || len != inner_len(c->size, seq) ||
	    ((uint32_t)p[2] << 8 | p[3]) != len)
		return false;
	c->seen[seq] = 1;
	return true;
}

static bool check_decrypted(struct checker *c, struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	unsigned int peer = p[14]; /* source 10.200.<peer>.2 */

	return peer < B.n_peers && memcmp(p + 12, B.peers[peer].inner, 4) == 0 &&
	       check_inner(c, p, rte_pktmbuf_data_len(m), peer);
}

/* Opens the frame with its peer's key: header, index, nonce and plaintext as expected. */
static bool check_encrypted(struct checker *c, struct rte_mbuf *m)
{
	uint32_t flen = rte_pktmbuf_data_len(m);
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
	if ((op.len % MESSAGE_PADDING_MULTIPLE && op.len != INNER_MTU) || aead_burst_open(&B.aead, &op, 1) != 1)
		return false;
	memcpy(&seq, d->encrypted_data + 28, sizeof(seq));
	/* Each peer's nonces continue from the last round, in the order of its packets. */
	return d->counter == c->first_ctr[peer] + seq / B.n_peers &&
	       check_inner(c, d->encrypted_data, (uint32_t)d->encrypted_data[2] << 8 | d->encrypted_data[3], peer);
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

/* The worker loop runs across a point's rounds (idle: spinning), as in the daemon. */
static void start_worker(void)
{
	mg_dev.quit = false;
	if (rte_eal_remote_launch(worker_main, &mg_workers[0], B.worker_lcore))
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

struct point {
	const char *path;
	int size;
	uint64_t bytes;            /* inner IP bytes of the K packets */
	double ticks[MAX_ROUNDS];
	unsigned int rounds, bad; /* timed rounds; outputs that failed their check */
	uint64_t lost;            /* packets that did not come out */
};

/* One round of one path: fill, time, check, free. */
static void round_once(const struct opts *o, struct point *pt, bool decrypt)
{
	uint64_t first_ctr[MAX_PEERS];
	struct checker c;
	struct rte_mbuf **ms = malloc(o->packets * sizeof(*ms));
	struct rte_ring *out = decrypt ? B.inner_tx : B.wan_tx;
	uint64_t drops = drops_total(), t;

	if (!ms)
		die("malloc", ENOMEM);
	for (unsigned int i = 0; i < B.n_peers; i++) {
		B.peers[i].kp->birth_ns = mg_now_ns(); /* keys stay young however long the run is */
		first_ctr[i] = B.peers[i].kp->send_counter; /* encrypt: the nonces this round takes */
	}
	if (decrypt)
		fill_wan(o, pt->size, ms);
	else
		fill_inner(o, pt->size, ms);
	t = time_round(decrypt ? B.wan_rx : B.inner_rx, ms, out, o->packets);
	pt->lost += drops_total() - drops;
	if (t == 0) {
		/* Stuck (the worker keeps running): count what is missing, free what came out and
		 * what is still queued. */
		unsigned int got = rte_ring_dequeue_burst(out, (void **)ms, o->packets, NULL);

		pt->lost += o->packets - got;
		rte_pktmbuf_free_bulk(ms, got);
		while ((got = rte_ring_dequeue_burst(decrypt ? B.wan_rx : B.inner_rx, (void **)ms,
						     o->packets, NULL)) > 0)
			rte_pktmbuf_free_bulk(ms, got);
		free(ms);
		return;
	}
	rte_ring_dequeue_bulk(out, (void **)ms, o->packets, NULL);
	c = (struct checker){ .size = pt->size, .first_ctr = first_ctr, .k = o->packets,
			      .seen = calloc(o->packets, 1) };
	if (!c.seen)
		die("malloc", ENOMEM);
	for (unsigned int i = 0; i < o->packets; i++)
		if (!(decrypt ? check_decrypted(&c, ms[i]) : check_encrypted(&c, ms[i])))
			pt->bad++;
	free(c.seen);
	rte_pktmbuf_free_bulk(ms, o->packets);
	pt->ticks[pt->rounds++] = (double)t;
	free(ms);
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
		fill_wan(o, size, ms);
	else
		fill_inner(o, size, ms);
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

static void measure(const struct opts *o, const char *path, int size)
{
	bool decrypt = strcmp(path, "decrypt") == 0;
	struct point pt = { .path = path, .size = size, .bytes = inner_bytes(o, size) };
	double secs, pps, cpps, cticks[MAX_ROUNDS], ratio[MAX_ROUNDS], ratio_med;
	struct rte_mbuf **ms = malloc(o->packets * sizeof(*ms));
	unsigned int nr = 0;
	char label[16];

	if (!ms)
		die("malloc", ENOMEM);
	/*
	 * Data plane and crypto alone take turns, round by round, so that both see the same moments
	 * of a noisy machine; the ratio is the median of the rounds' own ratios.
	 */
	for (unsigned int r = 0; r < o->rounds; r++) {
		unsigned int before = pt.rounds;

		start_worker();
		spin_us(2000);
		round_once(o, &pt, decrypt);
		stop_worker();
		cticks[r] = crypto_round_once(o, size, decrypt, ms);
		if (pt.rounds > before && cticks[r] > 0)
			ratio[nr++] = cticks[r] / pt.ticks[pt.rounds - 1];
	}
	free(ms);
	ratio_med = median(ratio, nr);
	secs = median(pt.ticks, pt.rounds) / (double)rte_get_tsc_hz();
	pps = pt.rounds ? (double)o->packets / secs : 0;
	cpps = median(cticks, o->rounds) ? (double)o->packets / (median(cticks, o->rounds) /
								  (double)rte_get_tsc_hz()) : 0;
	printf("{\"dut\": \"meshgate-inmem\", \"path\": \"%s\", ", path);
	printf(size ? "\"size\": %d, " : "\"size\": \"imix\", ", size);
	printf("\"flows\": %u, \"peers\": %u, \"pps\": %.0f, \"gbps\": %.4f, \"loss\": %.6f, "
	       "\"crypto_pps\": %.0f, \"ratio_to_crypto\": %.4f, \"ns_per_packet\": %.2f, "
	       "\"crypto_ns_per_packet\": %.2f, \"rounds\": %u, \"packets_per_round\": %u, "
	       "\"bad\": %u, \"aead\": \"%s\", \"worker_cores\": 1}\n",
	       B.n_peers, B.n_peers, pps, pt.rounds ? (double)pt.bytes * 8 / secs / 1e9 : 0,
	       (double)pt.lost / ((double)o->packets * o->rounds), cpps, ratio_med, pps ? 1e9 / pps : 0,
	       cpps ? 1e9 / cpps : 0,
	       pt.rounds, o->packets, pt.bad, aead_burst_backend_name(mg_workers[0].aead.backend));
	fflush(stdout);
	snprintf(label, sizeof(label), size ? "%d B" : "imix", size);
	fprintf(stderr, "bench_dataplane: %-7s %6s x%u peers: %6.2f Mpps (%6.1f ns/pkt), crypto alone "
		"%6.2f Mpps, ratio %.2f%s\n", path, label, B.n_peers, pps / 1e6, pps ? 1e9 / pps : 0,
		cpps / 1e6, ratio_med, pt.bad || pt.lost ? " CHECK FAILED" : "");
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

static void parse(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = { { "quick", 0, 0, 'q' }, { "packets", 1, 0, 'k' },
		{ "rounds", 1, 0, 'r' }, { "peers", 1, 0, 'p' }, { "sizes", 1, 0, 's' }, { 0, 0, 0, 0 } };
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
		default:
			fprintf(stderr, "usage: bench_dataplane [EAL options] -- [--quick] [--packets K] "
				"[--rounds R] [--peers P] [--sizes 64,...,imix]\n");
			exit(2);
		}
	}
	if (o->packets < MG_BURST || o->packets > (1u << 20) || o->rounds < 1 || o->rounds > MAX_ROUNDS ||
	    o->peers < 1 || o->peers > MAX_PEERS) {
		fprintf(stderr, "bench_dataplane: --packets 32..1048576, --rounds 1..%d, --peers 1..%d\n",
			MAX_ROUNDS, MAX_PEERS);
		exit(2);
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
