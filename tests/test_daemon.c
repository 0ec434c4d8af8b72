/* SPDX-License-Identifier: MIT */
/*
 * The daemon's control thread in-process: ctrl/ (peers, handshakes, neighbours, apply, the UAPI
 * socket) and the shared device state of dataplane/, on a DPDK process without hugepages or
 * devices, against a WireGuard peer played by this test on lib/ (handshake.c, cookie.c). Frames the
 * control thread sends come off the ctrl_tx ring; frames from the peer go in through hs_input and
 * neigh_input, as a worker hands them over. The protocol clock is the test's (ctrl_turn).
 *
 * Each case pins down one behaviour of Linux's drivers/net/wireguard (and wireguard-go) that
 * meshgate got wrong once (issue 11): keypair slots after simultaneous handshakes, events naming a
 * keypair whose memory was reused, peer ids reused before their grace period, private key changes,
 * keepalives and key expiry, and the UAPI socket's mode from the moment it exists. And the outer
 * IP fragmentation and reassembly of dataplane/frag.c, round trip, in and out of order; an IPv6
 * atomic fragment taken whole.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_udp.h>

#include <sodium.h>

#include "aead.h"
#include "apply.h"
#include "cookie.h"
#include "core.h"
#include "counters.h"
#include "device_setup.h"
#include "frag.h"
#include "handshake.h"
#include "harness.h"
#include "hs.h"
#include "loop.h"
#include "neigh.h"
#include "packet.h"
#include "peers.h"
#include "port.h"
#include "tai64n.h"
#include "uapi_server.h"
#include "worker.h"
#include "x25519.h"

#define S(x) ((uint64_t)(x) * MG_NS_PER_S)
#define OUR_PORT 51820
#define PEER_PORT 51821

static const uint8_t our_addr[4] = { 192, 0, 2, 1 }, peer_addr[4] = { 192, 0, 2, 2 };
static const struct rte_ether_addr our_mac = { { 0x02, 0, 0, 0, 0, 1 } }, peer_mac = { { 0x02, 0, 0, 0, 0, 2 } };
static uint64_t now = S(1000);

/* The test's WireGuard peer: its identity, and its view of meshgate. */
static struct handshake_identity peer_id;
static uint8_t our_private[32];
static struct cookie_maker peer_cookie; /* the peer's MACs towards meshgate */

static void turn(void)
{
	loop_turn(now);
}

/* The protocol clock moves on (without a turn of the loop). */
static void advance(uint64_t ns)
{
	now += ns;
	ctrl.now_ns = now;
}

/* On a failed check, what the control thread counted helps: every non-zero drop reason. */
static void show_drops(const char *when)
{
	fprintf(stderr, "drops %s:", when);
	for (unsigned int r = 0; r < MG_DROP_COUNT; r++)
		if (mg_drop_total(r))
			fprintf(stderr, " %s=%lu", mg_drop_names[r], (unsigned long)mg_drop_total(r));
	fputc('\n', stderr);
}

/* ---- frames ------------------------------------------------------------------------------- */

/* A UDP frame from the peer to us, as a worker hands it to the control thread. */
static struct rte_mbuf *from_peer(const void *msg, uint16_t len)
{
	struct devconf_endpoint to = { .family = AF_INET, .port = OUR_PORT };
	struct rte_mbuf *m = rte_pktmbuf_alloc(mg_dev.pool);
	uint8_t hdr[MG_OUTER_HDR_MAX], hl, *p;

	memcpy(to.addr, our_addr, 4);
	packet_build_template(hdr, &hl, &peer_mac, &our_mac, peer_addr, &to, PEER_PORT);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hl + len));
	memcpy(p, hdr, hl);
	memcpy(p + hl, msg, len);
	packet_outer_finish(m, hl, len, 1);
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = sizeof(struct rte_ipv4_hdr);
	return m;
}

/* The next WireGuard message meshgate sent (ARP and ND skipped): its UDP payload, its length; 0
 * when nothing is waiting. */
static size_t sent(uint8_t *out, size_t room)
{
	struct rte_mbuf *m;

	while (rte_ring_dequeue(mg_dev.ctrl_tx, (void **)&m) == 0) {
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		size_t off = RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr);
		size_t len = rte_pktmbuf_data_len(m) - off;

		if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || len > room) {
			rte_pktmbuf_free(m);
			continue;
		}
		memcpy(out, rte_pktmbuf_mtod_offset(m, const uint8_t *, off), len);
		rte_pktmbuf_free(m);
		return len;
	}
	return 0;
}

static void drain_sent(void)
{
	uint8_t buf[2048];

	while (sent(buf, sizeof(buf)))
		;
}

/* ---- the peer's side of handshakes ---------------------------------------------------------- */

static struct handshake *lookup_meshgate(void *ctx, const uint8_t *remote_static)
{
	struct handshake *hs = ctx;

	return memcmp(remote_static, hs->remote_static, 32) == 0 ? hs : NULL;
}

/* The peer answers meshgate's initiation; the response goes back in. Returns meshgate's session
 * as the peer sees it (its send key is meshgate's receive key). */
static bool answer_initiation(const uint8_t *init_msg, struct handshake_session *peer_side)
{
	static struct handshake hs;
	struct handshake *found;
	struct message_handshake_response resp;
	uint8_t pub[32], e[32], epub[32];

	x25519_public(pub, our_private);
	handshake_init(&hs, &peer_id, pub, NULL);
	if (handshake_consume_initiation((const void *)init_msg, &peer_id, lookup_meshgate, &hs, now, &found) != 0)
		return false;
	x25519_generate(e, epub);
	if (handshake_create_response(&resp, found, 0x5000 + (uint32_t)(now % 1000), e) != 0 ||
	    handshake_derive_session(found, peer_side) != 0)
		return false;
	cookie_add_macs(&peer_cookie, (uint8_t *)&resp, sizeof(resp), now);
	hs_input(from_peer(&resp, sizeof(resp)));
	return true;
}

/* The peer initiates; meshgate answers (the response is left on ctrl_tx). */
static struct handshake peer_hs;

static void peer_initiates(uint32_t sender)
{
	struct message_handshake_initiation init;
	uint8_t pub[32], e[32], epub[32], ts[NOISE_TIMESTAMP_LEN];

	x25519_public(pub, our_private);
	handshake_init(&peer_hs, &peer_id, pub, NULL);
	x25519_generate(e, epub);
	/* From the test's clock: the real one is coarse (Linux rounds it to ~17 ms against timing) and
	 * two initiations in one tick would look like a replay. */
	tai64n_encode(ts, now / MG_NS_PER_S, (uint32_t)(now % MG_NS_PER_S));
	CHECK(handshake_create_initiation(&init, &peer_hs, &peer_id, sender, e, ts) == 0, "peer initiation");
	cookie_add_macs(&peer_cookie, (uint8_t *)&init, sizeof(init), now);
	hs_input(from_peer(&init, sizeof(init)));
}

/* ---- set-up --------------------------------------------------------------------------------- */

static void eal_init(void)
{
	char prefix[64];
	char *argv[] = { "test_daemon", "--no-huge", "--no-pci", "--no-shconf", "--no-telemetry", "-m", "512",
			 "-l", "0", "--log-level=*:error", "--file-prefix", prefix, NULL };

	snprintf(prefix, sizeof(prefix), "test_daemon_%d", getpid());
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0)
		test_skip("DPDK's EAL did not start here (no --no-huge memory?)");
}

static struct mg_peer *the_peer(void)
{
	return peers_find(peer_id.static_public);
}

/* meshgate with our key, one peer (the test's) with an endpoint on our link, its MAC known. */
static void setup(void)
{
	struct devconf c = { 0 };
	struct devconf_peer *p;
	uint8_t peer_private[32];

	/* Jumbo-sized buffers, so the fragment cases can build datagrams of up to 9000 bytes. */
	CHECK(device_create(1, 0, 8920, 1500) == 0, "device");
	mg_dev.wan_addrs[0] = (struct mg_wan_addr){ .family = AF_INET, .prefix_len = 24 };
	memcpy(mg_dev.wan_addrs[0].addr, our_addr, 4);
	mg_dev.n_wan_addrs = 1;
	mg_dev.wan_mac = our_mac;
	CHECK(core_init() == 0, "ctrl state");
	x25519_generate(our_private, (uint8_t[32]){ 0 });
	x25519_generate(peer_private, (uint8_t[32]){ 0 });
	handshake_identity_set(&peer_id, peer_private);
	c.has_private_key = true;
	memcpy(c.private_key, our_private, 32);
	c.has_listen_port = true;
	c.listen_port = OUR_PORT;
	p = devconf_add_peer(&c);
	memcpy(p->public_key, peer_id.static_public, 32);
	p->has_endpoint = true;
	p->endpoint = (struct devconf_endpoint){ .family = AF_INET, .port = PEER_PORT };
	memcpy(p->endpoint.addr, peer_addr, 4);
	CHECK(apply_devconf(&c) == 0, "apply");
	devconf_free(&c);
	{
		uint8_t pub[32];

		x25519_public(pub, our_private);
		cookie_maker_init(&peer_cookie, pub);
	}
	neigh_learn(AF_INET, peer_addr, &peer_mac);
	turn();
	CHECK(the_peer() && the_peer()->endpoint && the_peer()->endpoint->resolved, "peer endpoint resolved");
	drain_sent();
}

/* meshgate initiates and the peer answers: a fresh current keypair, meshgate the initiator. */
static struct mg_keypair *handshake_as_initiator(struct handshake_session *peer_side)
{
	uint8_t msg[256];
	struct mg_peer *peer = the_peer();

	turn();      /* what the timers had due (retransmissions...) goes first */
	drain_sent();
	advance(S(6)); /* then past REKEY_TIMEOUT since whatever went before */
	hs_send_initiation(peer, false);
	size_t len = sent(msg, sizeof(msg));
	CHECK(len == MESSAGE_INITIATION_SIZE, "initiation sent: %zu", len);
	CHECK(answer_initiation(msg, peer_side), "peer answers");
	drain_sent(); /* the keepalive that confirms the session to the peer */
	return peer->current;
}

/* ---- cases ---------------------------------------------------------------------------------- */

/*
 * Linux's add_new_keypair: an initiator's new keypair, arriving while a responder keypair waits for
 * confirmation (simultaneous handshakes), demotes that one to previous (the peer may already send
 * under it) and retires the current; a responder's drops the previous.
 */
static void test_simultaneous_handshakes(void)
{
	struct mg_peer *peer = the_peer();
	struct handshake_session ps;
	struct mg_keypair *k1 = handshake_as_initiator(&ps), *next;
	uint8_t init[256], resp[256];
	uint32_t k1_index;

	CHECK(k1 && k1->initiator && peer->next == NULL, "first session: meshgate initiated");
	k1_index = k1 ? k1->local_index : 0;
	/* The peer initiates; meshgate answers, and its keypair waits for the peer's first packet. */
	advance(S(6));
	turn();
	drain_sent();
	peer_initiates(0x1234);
	CHECK(sent(resp, sizeof(resp)) == MESSAGE_RESPONSE_SIZE, "meshgate answers the peer's initiation");
	next = peer->next;
	CHECK(next && !next->initiator && peer->current == k1 && peer->previous == NULL,
	      "responder: next waits, current stays, previous dropped (as Linux)");
	/* Before that packet comes, meshgate's own initiation completes. */
	advance(S(6));
	turn();
	drain_sent();
	hs_send_initiation(peer, false);
	CHECK(sent(init, sizeof(init)) == MESSAGE_INITIATION_SIZE, "meshgate initiates");
	CHECK(answer_initiation(init, &ps), "peer answers it");
	CHECK(peer->current && peer->current != k1 && peer->current->initiator, "initiator keypair is current");
	CHECK(next && peer->previous == next, "the waiting responder keypair became previous, not retired");
	CHECK(peer->next == NULL, "next cleared");
	CHECK(next && peers_index_keypair(next->local_index) == next, "and still decrypts: its index is published");
	CHECK(peers_index_keypair(k1_index) == NULL, "the old current was retired");
}

/* An event names a keypair by pointer and serial: one whose memory now holds another keypair must
 * not confirm it. */
static void test_stale_confirmation(void)
{
	struct mg_peer *peer = the_peer();
	uint8_t resp[256];
	struct mg_keypair *next;
	struct mg_event ev;

	advance(S(6));
	turn();
	drain_sent();
	peer_initiates(0x2345);
	CHECK(sent(resp, sizeof(resp)) == MESSAGE_RESPONSE_SIZE, "meshgate answers");
	if (!peer->next)
		show_drops("after the peer's initiation");
	next = peer->next;
	CHECK(next != NULL, "responder keypair waits for confirmation");
	if (!next)
		return;
	ev = (struct mg_event){ .type = MG_EV_KEYPAIR_CONFIRMED, .peer = peer, .peer_gen = peer->gen,
				.peer_id = peer->id, .keypair = next, .keypair_serial = next->serial - 1 };
	loop_handle_event(&ev);
	CHECK(peer->next == next && peer->current != next, "a stale event (same pointer, older serial) is ignored");
	ev.keypair_serial = next->serial;
	loop_handle_event(&ev);
	CHECK(peer->current == next && peer->next == NULL, "the event for this keypair confirms it");
}

/* Workers' per-peer byte counters are theirs (device.h): a removed peer's id waits out its grace
 * period, and a peer reports bytes from its creation on, without the control thread zeroing them. */
static void test_peer_ids_and_bytes(void)
{
	uint8_t key_a[32], key_b[32], key_c[32];
	struct mg_peer *a, *b, *c;
	unsigned int a_id;
	uint64_t rx, tx;

	randombytes_buf(key_a, 32);
	randombytes_buf(key_b, 32);
	randombytes_buf(key_c, 32);
	a = peers_create(key_a);
	CHECK(a != NULL, "peer a");
	if (!a)
		return;
	a_id = a->id;
	mg_peer_bytes[0].rx[a_id] += 1000; /* as a worker that still holds a */
	mg_peer_bytes[0].tx[a_id] += 500;
	peers_data_bytes(a, &rx, &tx);
	CHECK(rx == 1000 && tx == 500, "a's bytes: %lu %lu", (unsigned long)rx, (unsigned long)tx);
	peers_remove(a);
	b = peers_create(key_b);
	CHECK(b && b->id != a_id, "a's id is not reused within its grace period");
	/* Workers report quiescence (none registered here): the grace period ends at the next turn. */
	turn();
	c = peers_create(key_c);
	CHECK(c && c->id == a_id, "after the grace period the id is free again");
	mg_peer_bytes[0].rx[a_id] += 7;
	peers_data_bytes(c, &rx, &tx);
	CHECK(rx == 7 && tx == 0, "c counts only its own bytes: %lu %lu", (unsigned long)rx, (unsigned long)tx);
	CHECK(mg_peer_bytes[0].rx[a_id] == 1007, "and the worker's counter was never written by ctrl");
	peers_remove(b);
	peers_remove(c);
	turn();
	/* A full table replaced at once (wg setconf with as many peers): no id is free until the
	 * grace period ends, so creation waits it out rather than fail. */
	{
		static struct mg_peer *all[MG_MAX_PEERS];
		unsigned int made = 0, remade = 0;

		while (ctrl.n_peers < MG_MAX_PEERS) {
			uint8_t k[32];

			randombytes_buf(k, 32);
			if (!(all[made++] = peers_create(k)))
				break;
		}
		for (unsigned int i = 0; i < made; i++)
			if (all[i])
				peers_remove(all[i]);
		for (unsigned int i = 0; i < made; i++) {
			uint8_t k[32];

			randombytes_buf(k, 32);
			remade += (all[i] = peers_create(k)) != NULL;
		}
		CHECK(made > 1000 && remade == made, "a full table removed and made again at once: %u of %u", remade, made);
		for (unsigned int i = 0; i < made; i++)
			if (all[i])
				peers_remove(all[i]);
		turn();
	}
}

/* Linux and wireguard-go: the same private key again changes nothing; another expires the
 * keypairs for sending only; they still decrypt. */
static void test_private_key_changes(void)
{
	struct mg_peer *peer = the_peer();
	struct handshake_session ps;
	struct mg_keypair *kp = handshake_as_initiator(&ps);
	struct devconf c = { .has_private_key = true };
	uint8_t other[32], msg[256];

	memcpy(c.private_key, our_private, 32);
	CHECK(apply_devconf(&c) == 0 && peer->current == kp && kp->sending_valid, "same key: session kept");
	hs_send_initiation(peer, false);
	CHECK(sent(msg, sizeof(msg)) == 0, "and the initiation rate limit too (nothing sent)");
	x25519_generate(other, (uint8_t[32]){ 0 });
	memcpy(c.private_key, other, 32);
	CHECK(apply_devconf(&c) == 0, "another key");
	CHECK(peer->current == kp && !kp->sending_valid, "the keypair stays, expired for sending");
	CHECK(peers_index_keypair(kp->local_index) == kp, "and still decrypts");
	hs_send_initiation(peer, false);
	CHECK(sent(msg, sizeof(msg)) == MESSAGE_INITIATION_SIZE, "a new initiation may go at once");
	hs_send_keepalive(peer);
	CHECK(sent(msg, sizeof(msg)) == 0, "no keepalive under an expired keypair (rate limited initiation)");
	memset(c.private_key, 0, 32);
	CHECK(apply_devconf(&c) == 0 && !ctrl.id.has_identity, "key cleared");
	memcpy(c.private_key, our_private, 32);
	CHECK(apply_devconf(&c) == 0 && ctrl.id.has_identity, "key restored");
	(void)handshake_as_initiator(&ps);
	CHECK(peer->current && peer->current->sending_valid, "a new session under the restored key");
}

/* Linux's keepalives go the data path's way: no keypair valid for sending means a handshake, and
 * after sending, keep_key_fresh. */
static void test_keepalive_freshness(void)
{
	struct mg_peer *peer = the_peer();
	struct handshake_session ps;
	struct mg_keypair *kp = handshake_as_initiator(&ps);
	uint8_t msg[256];

	hs_send_keepalive(peer);
	CHECK(sent(msg, sizeof(msg)) == MESSAGE_MINIMUM_LENGTH, "a keepalive under a fresh keypair");
	CHECK(sent(msg, sizeof(msg)) == 0, "and nothing else");
	advance(S(121)); /* past REKEY_AFTER_TIME: the initiator rekeys after sending */
	turn();
	drain_sent();
	kp = peer->current;
	hs_send_keepalive(peer);
	CHECK(sent(msg, sizeof(msg)) == MESSAGE_MINIMUM_LENGTH, "keepalive sent");
	CHECK(sent(msg, sizeof(msg)) == MESSAGE_INITIATION_SIZE, "then an initiation: the key is kept fresh");
	advance(S(60)); /* past REJECT_AFTER_TIME since the keypair was made */
	turn();       /* (retransmits the unanswered initiation) */
	drain_sent();
	advance(S(6));  /* past the initiation rate limit */
	CHECK(peer->current == kp, "still the old keypair (no answer came)");
	hs_send_keepalive(peer);
	CHECK(sent(msg, sizeof(msg)) == MESSAGE_INITIATION_SIZE, "no keepalive under a rejected keypair: a handshake");
	CHECK(sent(msg, sizeof(msg)) == 0, "only that");
}

/* The UAPI socket never exists with a mode looser than 0600, whatever the process umask. */
static int bind_mode = -1;

int __real_bind(int fd, const struct sockaddr *addr, socklen_t len);
int __wrap_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int ret = __real_bind(fd, addr, len);
	struct stat st;

	if (ret == 0 && addr->sa_family == AF_UNIX &&
	    stat(((const struct sockaddr_un *)addr)->sun_path, &st) == 0)
		bind_mode = (int)(st.st_mode & 0777);
	return ret;
}

static void test_uapi_socket_mode(void)
{
	char name[32], path[128];
	struct stat st;
	mode_t old = umask(0);
	int ret;

	snprintf(name, sizeof(name), "mgtest%d", getpid() % 100000);
	snprintf(path, sizeof(path), "/var/run/wireguard/%s.sock", name);
	ret = uapi_server_open(name);
	umask(old);
	if (ret == -EACCES || ret == -EPERM) {
		printf("uapi socket mode: skipped (cannot create %s: not root)\n", path);
		return;
	}
	CHECK(ret == 0, "uapi socket opened: %d", ret);
	CHECK(bind_mode >= 0 && (bind_mode & 077) == 0, "mode right after bind: %o", bind_mode);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode after open: %o", st.st_mode & 0777);
	uapi_server_close();
	CHECK(access(path, F_OK) != 0, "removed on close");
}

/* ARP gets through while handshakes flood the control thread: its own ring, drained first. */
static void test_neighbours_under_flood(void)
{
	struct mg_worker *w = &mg_workers[0];
	struct rte_mbuf *m;
	unsigned int filled = 0, replies = 0;
	static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	uint64_t full_before = mg_drop_total(MG_DROP_CTRL_RING_FULL);

	drain_sent();
	/* The handshake ring full, as a flood leaves it. */
	while (rte_ring_free_count(mg_dev.to_ctrl)) {
		struct message_handshake_initiation junk = { .header.type = MESSAGE_HEADER_WORD(MESSAGE_HANDSHAKE_INITIATION) };

		m = from_peer(&junk, sizeof(junk));
		if (rte_ring_enqueue(mg_dev.to_ctrl, m) != 0)
			rte_pktmbuf_free(m);
		filled++;
	}
	/* An ARP request for our address, through the worker's receive path. */
	m = rte_pktmbuf_alloc(mg_dev.pool);
	{
		struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, RTE_ETHER_HDR_LEN + sizeof(struct rte_arp_hdr));
		struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

		eth->dst_addr = bcast;
		eth->src_addr = peer_mac;
		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
		*arp = (struct rte_arp_hdr){ .arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER),
					     .arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4),
					     .arp_hlen = RTE_ETHER_ADDR_LEN, .arp_plen = 4,
					     .arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) };
		arp->arp_data.arp_sha = peer_mac;
		memcpy(&arp->arp_data.arp_sip, peer_addr, 4);
		memcpy(&arp->arp_data.arp_tip, our_addr, 4);
	}
	w->now_ns = now;
	decrypt_burst(w, &m, 1);
	CHECK(mg_drop_total(MG_DROP_CTRL_RING_FULL) == full_before, "the ARP request was not lost to the full ring");
	turn(); /* one turn: it takes at most a batch of the handshakes, and the neighbour ring first */
	while (rte_ring_dequeue(mg_dev.ctrl_tx, (void **)&m) == 0) {
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)(eth + 1);

		replies += eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) &&
			   arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY) &&
			   rte_is_same_ether_addr(&eth->dst_addr, &peer_mac);
		rte_pktmbuf_free(m);
	}
	CHECK(replies == 1, "answered in the first turn, with %u handshake messages waiting", filled);
	while (rte_ring_count(mg_dev.to_ctrl))
		turn();
	drain_sent();
}

/* RSS where the device has it: on a NIC with several workers, WAN traffic must not all land on
 * queue 0 (it did: the port was configured with nothing). */
static void test_port_offloads(void)
{
	struct rte_eth_dev_info nic = {
		.flow_type_rss_offloads = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP |
					  RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_NONFRAG_IPV6_UDP,
		.rx_offload_capa = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM,
		.tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_TCP_TSO,
	}, af_xdp = { 0 };
	struct rte_eth_conf conf = { 0 };

	port_offloads(&nic, 4, &conf);
	CHECK(conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS, "a NIC with 4 workers: RSS");
	CHECK(conf.rx_adv_conf.rss_conf.rss_hf == (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP |
						   RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_NONFRAG_IPV6_UDP),
	      "over addresses and UDP ports, as far as the device offers them: 0x%" PRIx64,
	      conf.rx_adv_conf.rss_conf.rss_hf);
	CHECK(conf.rxmode.offloads == RTE_ETH_RX_OFFLOAD_IPV4_CKSUM, "IPv4 header checksums checked by the NIC");
	CHECK(conf.txmode.offloads == RTE_ETH_TX_OFFLOAD_MULTI_SEGS && mg_dev.wan_multi_seg, "chained sends");
	conf = (struct rte_eth_conf){ 0 };
	port_offloads(&nic, 1, &conf);
	CHECK(conf.rxmode.mq_mode == RTE_ETH_MQ_RX_NONE, "one worker: no RSS");
	conf = (struct rte_eth_conf){ 0 };
	port_offloads(&af_xdp, 2, &conf);
	CHECK(conf.rxmode.mq_mode == RTE_ETH_MQ_RX_NONE && conf.rx_adv_conf.rss_conf.rss_hf == 0 &&
	      !mg_dev.wan_multi_seg, "a device without RSS (AF_XDP: the kernel spreads): nothing asked of it");
}

/* ---- outer fragments (dataplane/frag.c) ------------------------------------------------------ */

/* A WAN frame: Ethernet, IPv4 or IPv6, UDP, a payload of len bytes of a known pattern. */
static struct rte_mbuf *outer_frame(bool v6, uint32_t len, uint16_t ip_id)
{
	struct devconf_endpoint to = { .family = v6 ? AF_INET6 : AF_INET, .port = OUR_PORT };
	static const uint8_t peer6[16] = { 0xfd, 0x77, [15] = 2 }, our6[16] = { 0xfd, 0x77, [15] = 1 };
	struct rte_mbuf *m = rte_pktmbuf_alloc(mg_dev.pool);
	uint8_t hdr[MG_OUTER_HDR_MAX], hl, *p;

	memcpy(to.addr, v6 ? our6 : our_addr, v6 ? 16 : 4);
	packet_build_template(hdr, &hl, &peer_mac, &our_mac, v6 ? peer6 : peer_addr, &to, PEER_PORT);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hl + len));
	if (!p) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(p, hdr, hl);
	for (uint32_t i = 0; i < len; i++)
		p[hl + i] = (uint8_t)(i * 7 + len);
	packet_outer_finish(m, hl, len, ip_id);
	return m;
}

/* l2_len and l3_len as the classifier sets them for a fragment. */
static void mark_fragment(struct rte_mbuf *f)
{
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(f, const uint8_t *, RTE_ETHER_HDR_LEN);

	f->l2_len = RTE_ETHER_HDR_LEN;
	f->l3_len = (l3[0] >> 4) == 4 ? (l3[0] & 0xf) * 4 : sizeof(struct rte_ipv6_hdr) + RTE_IPV6_FRAG_HDR_SIZE;
}

static bool same_frame(const struct rte_mbuf *a, const uint8_t *want, uint32_t len)
{
	/* The reassembled IPv4 header has its checksum zeroed (the library's doing): compare the rest. */
	const uint8_t *p = rte_pktmbuf_mtod(a, const uint8_t *);

	if (a->nb_segs != 1 || rte_pktmbuf_data_len(a) != len)
		return false;
	if ((p[RTE_ETHER_HDR_LEN] >> 4) == 4)
		return memcmp(p, want, RTE_ETHER_HDR_LEN + 10) == 0 &&
		       memcmp(p + RTE_ETHER_HDR_LEN + 12, want + RTE_ETHER_HDR_LEN + 12, len - RTE_ETHER_HDR_LEN - 12) == 0;
	return memcmp(p, want, len) == 0;
}

/* m (an IPv6 frame of outer_frame's) with a fragment header: frag_data (offset | M), identification id. */
static struct rte_mbuf *with_fragment_header(struct rte_mbuf *m, uint16_t frag_data, uint32_t id)
{
	struct rte_ipv6_fragment_ext fh = { .next_header = 0, .frag_data = rte_cpu_to_be_16(frag_data),
					    .id = rte_cpu_to_be_32(id) };
	uint8_t *p, *ip;

	if (!m || !rte_pktmbuf_prepend(m, RTE_IPV6_FRAG_HDR_SIZE))
		abort();
	p = rte_pktmbuf_mtod(m, uint8_t *);
	ip = p + RTE_ETHER_HDR_LEN;
	memmove(p, p + RTE_IPV6_FRAG_HDR_SIZE, RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv6_hdr));
	fh.next_header = ip[6];
	ip[6] = IPPROTO_FRAGMENT;
	((struct rte_ipv6_hdr *)ip)->payload_len =
		rte_cpu_to_be_16(rte_be_to_cpu_16(((struct rte_ipv6_hdr *)ip)->payload_len) + RTE_IPV6_FRAG_HDR_SIZE);
	memcpy(ip + sizeof(struct rte_ipv6_hdr), &fh, sizeof(fh));
	return m;
}

/*
 * An atomic fragment (offset 0, no more fragments; RFC 6946) is a whole datagram: Linux's
 * ipv6_frag_rcv passes it on at once. It went into the reassembly table as a first fragment (held
 * until it timed out, or completed with another datagram's last fragment of the same
 * identification, which fuzz_wan found).
 */
static void test_atomic_fragment(void)
{
	static const uint8_t our6[16] = { 0xfd, 0x77, [15] = 1 };
	struct message_handshake_initiation init = { .header.type = MESSAGE_HEADER_WORD(MESSAGE_HANDSHAKE_INITIATION) };
	struct mg_worker *w = &mg_workers[0];
	uint64_t frags_before = mg_stats[w->lcore].wan_frags;
	struct rte_mbuf *m[2], *got = NULL;

	mg_dev.wan_addrs[1] = (struct mg_wan_addr){ .family = AF_INET6, .prefix_len = 64 };
	memcpy(mg_dev.wan_addrs[1].addr, our6, 16);
	mg_dev.n_wan_addrs = 2;
	/* Another datagram's last fragment, same identification, first: as in the finding. */
	m[0] = with_fragment_header(outer_frame(true, 432, 0), 512, 0x4d47);
	m[1] = outer_frame(true, sizeof(init), 0);
	memcpy(rte_pktmbuf_mtod_offset(m[1], uint8_t *, RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv6_hdr) +
					   sizeof(struct rte_udp_hdr)), &init, sizeof(init));
	m[1] = with_fragment_header(m[1], 0, 0x4d47);
	decrypt_burst(w, m, 2);
	CHECK(rte_ring_dequeue(mg_dev.to_ctrl, (void **)&got) == 0 &&
	      got->l3_len == sizeof(struct rte_ipv6_hdr) + RTE_IPV6_FRAG_HDR_SIZE,
	      "the handshake in an atomic fragment went to the control thread, whole");
	rte_pktmbuf_free(got);
	CHECK(mg_stats[w->lcore].wan_frags == frags_before + 1, "only the real fragment went to the table (%" PRIu64 ")",
	      mg_stats[w->lcore].wan_frags - frags_before);
	usleep(1100 * 1000);
	frag_expire(w); /* the lone last fragment */
	mg_dev.n_wan_addrs = 1;
}

static void test_fragments(void)
{
	struct mg_worker *w = &mg_workers[0];
	static const uint32_t sizes[] = { 1453, 1480, 2000, 4000, 8980 };
	unsigned int base = rte_mempool_in_use_count(mg_dev.pool);

	w->lcore = rte_lcore_id();
	mg_dev.wan_mtu = 1280;
	mg_dev.wan_frame_max = 1280 + RTE_ETHER_HDR_LEN;
	for (int v6 = 0; v6 < 2; v6++) {
		for (size_t s = 0; s < RTE_DIM(sizes); s++) {
			static uint8_t want[10000];
			struct rte_mbuf *m = outer_frame(v6, sizes[s], (uint16_t)(100 + s)), *frags[MG_MAX_FRAGS], *whole = NULL;
			uint32_t len = rte_pktmbuf_data_len(m);
			uint16_t n;
			bool sizes_ok = true;

			memcpy(want, rte_pktmbuf_mtod(m, void *), len);
			n = frag_fragment(w, m, frags, MG_MAX_FRAGS);
			CHECK(n >= 2, "%s %u B: fragmented into %u", v6 ? "IPv6" : "IPv4", len, n);
			for (uint16_t i = 0; i < n; i++) {
				const uint8_t *l3 = rte_pktmbuf_mtod_offset(frags[i], const uint8_t *, RTE_ETHER_HDR_LEN);

				sizes_ok &= rte_pktmbuf_pkt_len(frags[i]) <= 1280u + RTE_ETHER_HDR_LEN && frags[i]->nb_segs == 1;
				if (!v6)
					sizes_ok &= rte_ipv4_cksum((const struct rte_ipv4_hdr *)l3) == 0;
				else
					sizes_ok &= l3[6] == IPPROTO_FRAGMENT && memcmp(l3 + 44, "\0\0\0\0", 4) != 0;
			}
			CHECK(sizes_ok, "fragments fit 1280 B, one segment, checksums / ids set");
			/* Last first, so reassembly cannot rely on order. */
			for (int i = n - 1; i >= 0; i--) {
				struct rte_mbuf *r;

				mark_fragment(frags[i]);
				r = frag_reassemble(w, frags[i]);
				if (r && i != 0)
					CHECK(false, "completed before the last fragment came");
				if (r)
					whole = r;
			}
			CHECK(whole && same_frame(whole, want, len), "%s %u B: reassembled byte for byte",
			      v6 ? "IPv6" : "IPv4", len);
			rte_pktmbuf_free(whole);
		}
	}
	/* A datagram whose last fragment never comes: dropped as wan_frag_timeout once expired. */
	{
		struct rte_mbuf *m = outer_frame(false, 3000, 999), *frags[MG_MAX_FRAGS];
		uint16_t n = frag_fragment(w, m, frags, MG_MAX_FRAGS);
		uint64_t before = mg_drop_total(MG_DROP_WAN_FRAG_TIMEOUT);

		for (uint16_t i = 0; i + 1 < n; i++) {
			mark_fragment(frags[i]);
			CHECK(frag_reassemble(w, frags[i]) == NULL, "incomplete: held");
		}
		rte_pktmbuf_free(frags[n - 1]);
		usleep(1100 * 1000);
		frag_expire(w);
		CHECK(mg_drop_total(MG_DROP_WAN_FRAG_TIMEOUT) == before + n - 1u, "held fragments time out, counted");
	}
	test_atomic_fragment();
	CHECK(rte_mempool_in_use_count(mg_dev.pool) == base, "every mbuf back: %u vs %u",
	      rte_mempool_in_use_count(mg_dev.pool), base);
	mg_dev.wan_mtu = 1500;
	mg_dev.wan_frame_max = 1500 + RTE_ETHER_HDR_LEN;
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	eal_init();
	mg_clock_init();
	setup();
	CHECK(worker_init(&mg_workers[0], 0, AEAD_BACKEND_SODIUM) == 0, "worker");
	test_simultaneous_handshakes();
	test_stale_confirmation();
	test_peer_ids_and_bytes();
	test_private_key_changes();
	test_keepalive_freshness();
	test_uapi_socket_mode();
	test_neighbours_under_flood();
	test_port_offloads();
	test_fragments();
	worker_fini(&mg_workers[0]);
	loop_fini();
	CHECK(device_destroy() == 0, "no mbuf leaked");
	rte_eal_cleanup();
	return test_done("daemon");
}
