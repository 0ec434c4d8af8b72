/* SPDX-License-Identifier: MIT */
/*
 * One peer on many cores (dataplane/spread.c): one peer's bursts decrypted by other workers and
 * delivered in the order they arrived, with the serial stage's checks intact.
 *
 * First step by step on the main lcore, two worker states driven by hand (no threads), so each
 * moment is pinned down: a burst handed to worker 1 waits for it; a burst opened at once behind one
 * that is away waits too (head of line); a keypair that goes while its burst is away drops the
 * burst; a bad tag and a replay are still caught; a full FIFO stops the WAN poll. Then the real
 * worker loop on two lcores over a net_ring WAN port whose one queue holds all of a peer's packets
 * (the case RSS cannot spread): everything arrives, in order, and worker 1 did some of the work.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_udp.h>

#include <sodium.h>

#include "aead.h"
#include "counters.h"
#include "device_setup.h"
#include "harness.h"
#include "packet.h"
#include "worker.h"

#define WG_PORT 51820
#define INNER_MTU 1420
#define STREAM 20000u /* packets in the threaded case */

static const uint8_t our_addr[4] = { 192, 0, 2, 1 }, peer_addr[4] = { 192, 0, 2, 2 };
static const struct rte_ether_addr our_mac = { { 0x02, 0, 0, 0, 0, 1 } }, peer_mac = { { 0x02, 0, 0, 0, 0, 2 } };
static struct mg_peer *peer;
static struct mg_keypair *kp;
static uint64_t next_counter;

/* The inner side: what the distributor delivers, by sequence number (the inner UDP payload). */
static uint32_t got[STREAM];
static unsigned int n_got;
static bool out_of_order;

static uint16_t capture_tx(uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	(void)queue;
	for (uint16_t i = 0; i < n; i++) {
		uint32_t seq;

		memcpy(&seq, rte_pktmbuf_mtod_offset(pkts[i], const uint8_t *, 28), 4);
		if (n_got && seq != got[n_got - 1] + 1)
			out_of_order = true;
		if (n_got < STREAM)
			got[n_got++] = seq;
	}
	rte_pktmbuf_free_bulk(pkts, n);
	return n;
}

static uint16_t no_rx(uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	(void)queue, (void)pkts, (void)n;
	return 0;
}

static const struct mg_inner_ops capture = { .rx = no_rx, .tx = capture_tx };

/* A data message from the peer carrying inner IPv4/UDP 10.200.0.2 -> 10.77.0.1 with seq. */
static struct rte_mbuf *data_frame(uint32_t seq, uint64_t counter)
{
	struct devconf_endpoint to = { .family = AF_INET, .port = WG_PORT };
	uint8_t hdr[MG_OUTER_HDR_MAX], hl, inner[32] = { 0 };
	uint32_t wire = message_data_len(sizeof(inner));
	struct rte_mbuf *m = rte_pktmbuf_alloc(mg_dev.pool);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)inner;
	struct message_data *d;
	uint8_t *p;

	if (!m)
		return NULL;
	memcpy(to.addr, our_addr, 4);
	*ip = (struct rte_ipv4_hdr){ .version_ihl = 0x45, .total_length = rte_cpu_to_be_16(32), .time_to_live = 64,
				     .next_proto_id = IPPROTO_UDP };
	memcpy(&ip->src_addr, (uint8_t[4]){ 10, 200, 0, 2 }, 4);
	memcpy(&ip->dst_addr, (uint8_t[4]){ 10, 77, 0, 1 }, 4);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	*(struct rte_udp_hdr *)(inner + 20) = (struct rte_udp_hdr){ .src_port = rte_cpu_to_be_16(1000),
		.dst_port = rte_cpu_to_be_16(2000), .dgram_len = rte_cpu_to_be_16(12) };
	memcpy(inner + 28, &seq, 4);
	packet_build_template(hdr, &hl, &peer_mac, &our_mac, peer_addr, &to, WG_PORT + 1);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hl + wire));
	memcpy(p, hdr, hl);
	packet_outer_finish(m, hl, wire, (uint16_t)seq);
	d = (struct message_data *)(p + hl);
	d->header.type = MESSAGE_HEADER_WORD(MESSAGE_DATA);
	d->key_idx = kp->local_index;
	d->counter = counter;
	aead_seal(d->encrypted_data, inner, sizeof(inner), NULL, 0, counter, kp->recv_key);
	return m;
}

/* n frames with sequence numbers from seq and fresh counters. */
static void burst(struct rte_mbuf **ms, unsigned int n, uint32_t seq)
{
	for (unsigned int i = 0; i < n; i++)
		ms[i] = data_frame(seq + i, next_counter++);
}

static uint64_t stat_sum(size_t offset)
{
	uint64_t s = 0;

	for (unsigned int l = 0; l < RTE_MAX_LCORE; l++)
		s += *(const uint64_t *)((const uint8_t *)&mg_stats[l] + offset);
	return s;
}
#define SPREAD_OUT() stat_sum(offsetof(struct mg_lcore_stats, spread_out))
#define SPREAD_IN() stat_sum(offsetof(struct mg_lcore_stats, spread_in))

static void eal_init(void)
{
	char prefix[64];
	/* Three lcores (the test, two workers) on whatever CPUs there are. */
	char *argv[] = { "test_spread", "--no-huge", "--no-pci", "--no-shconf", "--no-telemetry", "-m", "512",
			 "--lcores", "0@0,(1,2)@(0-1)", "--log-level=*:error", "--file-prefix", prefix, NULL };

	snprintf(prefix, sizeof(prefix), "test_spread_%d", getpid());
	if (rte_eal_init((int)(RTE_DIM(argv)) - 1, argv) < 0)
		test_skip("DPDK's EAL did not start here (no --no-huge memory?)");
}

static void setup(void)
{
	static struct allowedips table;

	mg_dev.spread = true;
	CHECK(device_create(2, 8192, INNER_MTU, 1500) == 0, "device");
	mg_dev.wan_addrs[0] = (struct mg_wan_addr){ .family = AF_INET, .prefix_len = 24 };
	memcpy(mg_dev.wan_addrs[0].addr, our_addr, 4);
	mg_dev.n_wan_addrs = 1;
	mg_dev.wan_mac = our_mac;
	mg_dev.listen_port = WG_PORT;
	mg_dev.inner = &capture;
	allowedips_init(&table, NULL);
	mg_dev.allowedips = &table;
	peer = rte_zmalloc("peer", sizeof(*peer), RTE_CACHE_LINE_SIZE);
	kp = rte_zmalloc("kp", sizeof(*kp), RTE_CACHE_LINE_SIZE);
	CHECK(peer && kp, "peer");
	peer->id = 0;
	peer->gen = 1;
	randombytes_buf(kp->recv_key, sizeof(kp->recv_key));
	kp->local_index = (0x1234u << MG_INDEX_BITS) | 7;
	kp->serial = 1;
	kp->peer = peer;
	kp->birth_ns = mg_now_ns();
	rte_spinlock_init(&kp->replay_lock);
	replay_init(&kp->replay);
	peer->current = kp;
	mg_dev.index[7].keypair = kp;
	mg_dev.peers[0] = peer;
	CHECK(allowedips_insert(&table, AF_INET, (uint8_t[4]){ 10, 200, 0, 0 }, 24, peer) == 0, "allowed-IPs");
	for (unsigned int i = 0; i < 2; i++) {
		CHECK(worker_init(&mg_workers[i], i, AEAD_BACKEND_AUTO) == 0, "worker %u", i);
		mg_workers[i].lcore = rte_lcore_id();
		mg_workers[i].now_ns = mg_now_ns();
		CHECK(mg_workers[i].spread != NULL, "worker %u spreads", i);
	}
}

static uint64_t drops(enum mg_drop r)
{
	return mg_drop_total(r);
}

/* ---- step by step ------------------------------------------------------------------------ */

static void test_steps(void)
{
	struct mg_worker *w0 = &mg_workers[0], *w1 = &mg_workers[1];
	struct rte_mbuf *ms[MG_BURST];
	uint64_t out0 = SPREAD_OUT(), in0 = SPREAD_IN();
	uint32_t seq = 0;

	/* A few packets with nothing out: opened and delivered at once, not handed over. */
	burst(ms, 4, seq);
	decrypt_burst(w0, ms, 4);
	seq += 4;
	CHECK(n_got == 4 && SPREAD_OUT() == out0, "a small burst stays: %u delivered", n_got);

	/* A full burst: to worker 1, and nothing is delivered until worker 1 has opened it. */
	burst(ms, MG_BURST, seq);
	decrypt_burst(w0, ms, MG_BURST);
	seq += MG_BURST;
	CHECK(SPREAD_OUT() == out0 + MG_BURST && rte_ring_count(mg_dev.crypt[1]) == 1, "burst A handed to worker 1");
	CHECK(n_got == 4 && spread_poll(w0) == 1, "A waits for worker 1 (the distributor stays awake)");

	/* Worker 1 busy with its own WAN: burst B is opened by worker 0 at once, and waits behind A. */
	spread_note_load(w1, MG_BURST);
	burst(ms, MG_BURST, seq);
	decrypt_burst(w0, ms, MG_BURST);
	seq += MG_BURST;
	CHECK(SPREAD_OUT() == out0 + MG_BURST && n_got == 4, "B opened here, held behind A: %u", n_got);
	CHECK(spread_poll(w1) >= 1 && SPREAD_IN() == in0 + MG_BURST, "worker 1 opens A");
	spread_poll(w0);
	CHECK(n_got == seq && !out_of_order, "A then B delivered in order: %u of %u", n_got, seq);
	spread_note_load(w1, 0);

	/* Worker 1 asleep (idle backoff): not handed a burst that would wait for it to wake. */
	spread_note_sleep(w1, true);
	burst(ms, MG_BURST, seq);
	decrypt_burst(w0, ms, MG_BURST);
	seq += MG_BURST;
	CHECK(SPREAD_OUT() == out0 + MG_BURST && n_got == seq, "worker 1 asleep: opened and delivered here: %u", n_got);
	spread_note_sleep(w1, false);

	/* The keypair goes while its burst is away: the burst is dropped, counted. */
	{
		uint64_t unknown = drops(MG_DROP_WG_UNKNOWN_INDEX);
		struct mg_keypair *gone = rte_zmalloc("kp2", sizeof(*gone), RTE_CACHE_LINE_SIZE);

		burst(ms, MG_BURST, seq);
		decrypt_burst(w0, ms, MG_BURST);
		/* Replaced by a keypair with the same index, as a reused slot would be. */
		*gone = *kp;
		gone->serial = 2;
		mg_dev.index[7].keypair = gone;
		spread_poll(w1);
		spread_poll(w0);
		CHECK(drops(MG_DROP_WG_UNKNOWN_INDEX) == unknown + MG_BURST && n_got == seq,
		      "a keypair gone meanwhile drops its burst: %lu", (unsigned long)(drops(MG_DROP_WG_UNKNOWN_INDEX) - unknown));
		mg_dev.index[7].keypair = kp;
		rte_free(gone);
		out_of_order = false;
		n_got = 0; /* the stream goes on from seq after the gap */
		got[0] = 0;
	}

	/* A bad tag and a replayed counter among a handed-over burst: caught by the serial stage. */
	{
		uint64_t auth = drops(MG_DROP_WG_AUTH_FAILED), replay = drops(MG_DROP_WG_REPLAY);

		seq += MG_BURST;
		burst(ms, MG_BURST, seq);
		rte_pktmbuf_mtod(ms[3], uint8_t *)[rte_pktmbuf_data_len(ms[3]) - 1] ^= 1;
		rte_pktmbuf_free(ms[9]);
		ms[9] = data_frame(seq + 9, next_counter - 2); /* the counter of ms[30] again */
		decrypt_burst(w0, ms, MG_BURST);
		spread_poll(w1);
		spread_poll(w0);
		CHECK(drops(MG_DROP_WG_AUTH_FAILED) == auth + 1, "bad tag counted");
		CHECK(drops(MG_DROP_WG_REPLAY) == replay + 1, "replay counted (the later one)");
		CHECK(n_got == MG_BURST - 2, "the rest delivered: %u", n_got);
		seq += MG_BURST;
		n_got = 0;
	}

	/* Worker 1 keeps at most two of worker 0's bursts not done (one it opens, one waiting): the
	 * third is opened by worker 0 itself, and waits its turn. */
	{
		uint64_t out = SPREAD_OUT();

		n_got = 0;
		out_of_order = false;
		for (unsigned int b = 0; b < 3; b++) {
			burst(ms, MG_BURST, seq);
			decrypt_burst(w0, ms, MG_BURST);
			seq += MG_BURST;
		}
		CHECK(SPREAD_OUT() == out + 2 * MG_BURST && rte_ring_count(mg_dev.crypt[1]) == 2 && n_got == 0,
		      "two bursts at worker 1, the third opened here: %lu handed over",
		      (unsigned long)(SPREAD_OUT() - out));
		spread_poll(w1);
		spread_poll(w0);
		CHECK(n_got == 3 * MG_BURST && !out_of_order, "all three in order: %u", n_got);
	}

	/* A full FIFO: one burst away at worker 1, the rest opened here and held; no WAN poll. */
	{
		unsigned int batches = 0;

		n_got = 0;
		out_of_order = false;
		while (spread_room(w0) && batches < 64) {
			burst(ms, MG_BURST, seq);
			decrypt_burst(w0, ms, MG_BURST);
			seq += MG_BURST;
			batches++;
			if (batches == 1)
				spread_note_load(w1, MG_BURST); /* only the first goes to worker 1 */
		}
		CHECK(batches == 16 && n_got == 0, "the FIFO holds 16 bursts, none delivered: %u", batches);
		spread_note_load(w1, 0);
		spread_poll(w1);
		spread_poll(w0);
		CHECK(spread_room(w0) && n_got == 16 * MG_BURST && !out_of_order, "all 16 in order: %u", n_got);
	}
}

/* ---- the worker loop on two lcores --------------------------------------------------------- */

static void test_threads(void)
{
	struct rte_ring *rx[2], *tx;
	unsigned int lcore, i = 0, fed = 0;
	uint64_t in0 = SPREAD_IN();
	int port;

	rx[0] = rte_ring_create("sp_rx0", 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	rx[1] = rte_ring_create("sp_rx1", 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	tx = rte_ring_create("sp_tx", 64, SOCKET_ID_ANY, 0);
	port = rte_eth_from_rings("spread_wan", rx, 2, (struct rte_ring *[]){ tx, tx }, 2, SOCKET_ID_ANY);
	CHECK(port >= 0, "ring port");
	if (port < 0)
		return;
	{
		struct rte_eth_conf conf = { 0 };
		bool ok = rte_eth_dev_configure((uint16_t)port, 2, 2, &conf) == 0;

		for (uint16_t q = 0; q < 2; q++)
			ok = ok && rte_eth_rx_queue_setup((uint16_t)port, q, 1024, SOCKET_ID_ANY, NULL, mg_dev.pool) == 0 &&
			     rte_eth_tx_queue_setup((uint16_t)port, q, 1024, SOCKET_ID_ANY, NULL) == 0;
		CHECK(ok && rte_eth_dev_start((uint16_t)port) == 0, "ring port started");
		if (!ok)
			return;
	}
	mg_dev.wan_port = (uint16_t)port;
	n_got = 0;
	out_of_order = false;
	next_counter += 1000; /* past the window's memory of the step cases */
	mg_dev.quit = false;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (i < 2)
			CHECK(rte_eal_remote_launch(worker_main, &mg_workers[i++], lcore) == 0, "launch");
	}
	for (time_t start = time(NULL); n_got < STREAM && time(NULL) - start < 30;) {
		struct rte_mbuf *ms[MG_BURST];
		unsigned int n = RTE_MIN(MG_BURST, STREAM - fed);

		if (n && rte_ring_free_count(rx[0]) >= n) {
			burst(ms, n, fed);
			rte_ring_enqueue_bulk(rx[0], (void **)ms, n, NULL);
			fed += n;
		} else {
			nanosleep(&(struct timespec){ .tv_nsec = 50000 }, NULL);
		}
	}
	mg_dev.quit = true;
	rte_eal_mp_wait_lcore();
	CHECK(n_got == STREAM && !out_of_order, "%u of %u delivered, in order: %s", n_got, STREAM,
	      out_of_order ? "no" : "yes");
	CHECK(SPREAD_IN() > in0, "worker 1 opened some: %lu packets", (unsigned long)(SPREAD_IN() - in0));
	rte_eth_dev_stop((uint16_t)port);
	rte_eth_dev_close((uint16_t)port);
	for (struct rte_mbuf *m = NULL; rte_ring_dequeue(rx[0], (void **)&m) == 0;) /* after a failure */
		rte_pktmbuf_free(m);
	rte_ring_free(rx[0]);
	rte_ring_free(rx[1]);
	rte_ring_free(tx);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	eal_init();
	mg_clock_init();
	setup();
	test_steps();
	CHECK(rte_lcore_count() == 3, "three lcores: %u", rte_lcore_count());
	test_threads();
	for (unsigned int i = 0; i < 2; i++)
		worker_fini(&mg_workers[i]);
	rte_free(kp);
	rte_free(peer);
	CHECK(device_destroy() == 0, "no mbuf leaked");
	rte_eal_cleanup();
	return test_done("spread");
}
