/* SPDX-License-Identifier: MIT */
/*
 * wgflood: handshake and garbage floods at a WireGuard listener, the attacker of the attack tests
 * (tests/e2e/test_attack.py, which finds it as $FLOOD). A test tool, not a benchmark: it used to be
 * wggen's "flood" mode in perf/, and shares only perf/wggen_common.c's helpers (clock, pacing, the
 * IPv4 header, address parsing) with wggen.
 *
 * Whole Ethernet frames are written to one interface through an AF_PACKET socket (the qdisc
 * bypassed, sendmmsg batches), so IPv4 sources can be spoofed at will and nothing can leave by any
 * other way: the frames exist only on that link. Kinds, mixed frame by frame in turn (--kind a,b):
 *
 *   init-mac1    initiations with a random body and a valid mac1 for the listener's key, no mac2:
 *                under load the listener must answer each with a cookie reply instead of a DH
 *   init-badmac  initiations whose mac1 is wrong: dropped before any crypto beyond one BLAKE2s
 *   init-cookie  from the first --cookie-sources sources: initiations with a valid mac1 until the
 *                listener answers with a cookie reply (sniffed on the same link, consumed with
 *                lib/cookie.c), then well-formed initiations from unknown static keys with a valid
 *                mac2 for that source, so the listener's per-source rate limiter is what stops them
 *                (what gets past costs it one DH and ends as "unknown peer")
 *   garbage-udp  random bytes of random length (--size) to the listen port; a quarter carry a
 *                data message header (type 4) so they reach the receiver-index lookup
 *   garbage-raw  frames that are not WireGuard at all: random ethertypes, truncated and malformed
 *                IPv4/IPv6 headers, bad IPv4 checksums, other IP protocols, fragments, bad UDP
 *                lengths, other ports
 *                and other destinations
 *
 * Every frame is built from buffers prepared at start (message pools, a random byte pool), so the
 * per-frame work is a few copies and a checksum; nothing is allocated per frame. What each frame
 * should become at a classifier like meshgate's is counted ("expect", by meshgate's drop reason
 * names; "handshake" for frames that are handshake messages), for the frames the kernel took: a
 * frame the veth refused (its peer's queue full) is counted in tx_dropped, not sent.
 *
 * One JSON line at the end: sent, seconds, pps, per kind, cookie replies seen and consumed, expect.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <sodium.h>

#include "cookie.h"
#include "handshake.h"
#include "keyenc.h"
#include "tai64n.h"
#include "wggen_common.h"
#include "x25519.h"

#define FLOOD_BATCH 64
#define FLOOD_POOL 256            /* distinct messages per handshake kind */
#define FLOOD_UNK 8               /* unknown-peer initiations each cookie source cycles through */
#define FLOOD_MAX_SOURCES 65536
#define FLOOD_FRAME_MAX 2048
#define FLOOD_RND_SIZE 65536      /* random byte pool; payloads start at a random offset in it */
#define ETH_HDR 14

/* sender_index of our initiations: what a cookie reply's receiver_index tells us it answers. */
#define TAG_MASK 0xf0000000u
#define TAG_MAC1 0x10000000u      /* init-mac1 pool message k */
#define TAG_REQ 0x20000000u       /* init-cookie request of source j */
#define TAG_UNK 0x30000000u       /* init-cookie unknown-peer message k (with mac2) */

enum kind { K_INIT_MAC1, K_INIT_BADMAC, K_INIT_COOKIE, K_GARBAGE_UDP, K_GARBAGE_RAW, K_COUNT };

static const char *const kind_names[K_COUNT] = {
	"init-mac1", "init-badmac", "init-cookie", "garbage-udp", "garbage-raw"
};

/* What a frame should become at meshgate's classifier (dataplane/decrypt.c), by its drop names. */
/* "wan_frag": a fragment no other completes, dropped by reassembly (wan_frag_bad or, a second
 * later, wan_frag_timeout). */
enum expect { E_HANDSHAKE, E_NOT_IP, E_BAD_IP, E_BAD_CHECKSUM, E_NOT_OURS, E_FRAGMENT, E_BAD_UDP,
	      E_BAD_MESSAGE, E_UNKNOWN_INDEX, E_COUNT };

static const char *const expect_names[E_COUNT] = {
	"handshake", "wan_not_ip", "wan_bad_ip", "wan_bad_checksum", "wan_not_ours", "wan_frag",
	"wan_bad_udp", "wg_bad_message", "wg_unknown_index"
};

struct flood_opts {
	const char *iface, *dst_mac, *peer_pub;
	struct sockaddr_in dst;
	enum kind kinds[K_COUNT * 4];
	unsigned int n_kinds;
	uint32_t sources, cookie_sources;
	struct in_addr src_base;
	uint16_t src_port;
	double duration_s, rate;
	uint64_t count;
	unsigned int size_min, size_max;
	uint64_t seed;
	bool have_seed;
};

struct flood_stats {
	uint64_t sent, bytes, tx_dropped, send_errors;
	uint64_t per_kind[K_COUNT];
	uint64_t expect[E_COUNT];
	uint64_t cookie_replies, cookies_consumed, cookies_bad, sources_with_cookie;
	uint64_t cookie_requests, mac2_sent;
	double seconds;
};

struct flood {
	struct flood_opts o;
	int tx_fd, rx_fd, ifindex;
	unsigned int mtu;
	uint8_t src_mac[ETH_ALEN], dst_mac[ETH_ALEN];
	uint64_t rng;
	uint64_t kind_seq[K_COUNT];
	uint8_t *rnd;                                        /* FLOOD_RND_SIZE + FLOOD_FRAME_MAX */
	struct message_handshake_initiation *mac1_pool;     /* FLOOD_POOL */
	struct message_handshake_initiation *badmac_pool;   /* FLOOD_POOL */
	/* init-cookie */
	struct message_handshake_initiation request;        /* body of every source's request */
	struct message_handshake_initiation unk[FLOOD_UNK]; /* well-formed, unknown static keys */
	struct cookie_maker *makers;                        /* per cookie source */
	uint8_t (*req_mac1)[COOKIE_LEN];                    /* per cookie source */
	uint8_t (*mac2)[FLOOD_UNK][COOKIE_LEN];             /* per cookie source, per unk message */
	bool *has_cookie;
	/* the batch */
	uint8_t frames[FLOOD_BATCH][FLOOD_FRAME_MAX];
	struct iovec iov[FLOOD_BATCH];
	struct mmsghdr msg[FLOOD_BATCH];
	uint8_t slot_kind[FLOOD_BATCH], slot_expect[FLOOD_BATCH];
	uint8_t rx_buf[FLOOD_BATCH][256];
	struct iovec rx_iov[FLOOD_BATCH];
	struct mmsghdr rx_msg[FLOOD_BATCH];
	struct flood_stats st;
};

/* --- small helpers ---------------------------------------------------------------------------- */

static uint64_t rnd64(struct flood *fl)
{
	/* splitmix64: fast, and --seed makes a run repeatable */
	uint64_t z = (fl->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rnd_below(struct flood *fl, uint32_t n)
{
	return (uint32_t)((rnd64(fl) >> 32) * n >> 32);
}

static void rnd_fill(struct flood *fl, void *p, size_t len)
{
	uint8_t *b = p;

	while (len >= 8) {
		uint64_t v = rnd64(fl);

		memcpy(b, &v, 8);
		b += 8;
		len -= 8;
	}
	if (len) {
		uint64_t v = rnd64(fl);

		memcpy(b, &v, len);
	}
}

/* Random bytes from the pool: len <= FLOOD_FRAME_MAX. */
static const uint8_t *rnd_bytes(struct flood *fl)
{
	return fl->rnd + rnd_below(fl, FLOOD_RND_SIZE);
}

static uint32_t source_addr(const struct flood *fl, uint32_t j)
{
	return htonl(ntohl(fl->o.src_base.s_addr) + j);
}

static uint8_t *put_eth(const struct flood *fl, uint8_t *f, uint16_t type)
{
	memcpy(f, fl->dst_mac, ETH_ALEN);
	memcpy(f + ETH_ALEN, fl->src_mac, ETH_ALEN);
	wggen_put16(f + 12, type);
	return f + ETH_HDR;
}

/* Ethernet + IPv4 + UDP (checksum 0) from source j to the listener; the payload is left to the
 * caller at the returned pointer. *len is set to the frame's length. */
static uint8_t *udp4_frame(const struct flood *fl, uint8_t *f, uint32_t src, uint16_t sport,
			   uint16_t dport, size_t plen, size_t *len)
{
	uint8_t *ip = put_eth(fl, f, ETH_P_IP), *udp = ip + 20;

	wggen_put_ip4(ip, (uint16_t)(28 + plen), IPPROTO_UDP, src, fl->o.dst.sin_addr.s_addr, 0);
	wggen_put16(udp, sport);
	wggen_put16(udp + 2, dport);
	wggen_put16(udp + 4, (uint16_t)(8 + plen));
	wggen_put16(udp + 6, 0);
	*len = ETH_HDR + 28 + plen;
	return udp + 8;
}

/* --- handshake kinds -------------------------------------------------------------------------- */

/* init-mac1, init-badmac: message c of the kind's pool, from source c % --sources. */
static size_t frame_init_pool(struct flood *fl, uint8_t *f, uint64_t c,
			      const struct message_handshake_initiation *pool)
{
	uint32_t j = (uint32_t)(c % fl->o.sources);
	size_t len;
	uint8_t *p = udp4_frame(fl, f, source_addr(fl, j), fl->o.src_port, ntohs(fl->o.dst.sin_port),
				MESSAGE_INITIATION_SIZE, &len);

	memcpy(p, &pool[c % FLOOD_POOL], MESSAGE_INITIATION_SIZE);
	return len;
}

/* A source without a cookie asks for one (a valid mac1, its own sender index); one with a cookie
 * sends unknown-peer initiations with a valid mac2 for its address and port. */
static size_t frame_init_cookie(struct flood *fl, uint8_t *f, uint64_t c)
{
	uint32_t j = (uint32_t)(c % fl->o.cookie_sources);
	size_t len;
	struct message_handshake_initiation *m = (void *)udp4_frame(fl, f, source_addr(fl, j),
		fl->o.src_port, ntohs(fl->o.dst.sin_port), MESSAGE_INITIATION_SIZE, &len);

	if (!fl->has_cookie[j]) {
		memcpy(m, &fl->request, MESSAGE_INITIATION_SIZE);
		m->sender_index = TAG_REQ | j;
		memcpy(m->macs.mac1, fl->req_mac1[j], COOKIE_LEN);
		fl->st.cookie_requests++;
	} else {
		unsigned int k = (unsigned int)(c / fl->o.cookie_sources % FLOOD_UNK);

		memcpy(m, &fl->unk[k], MESSAGE_INITIATION_SIZE);
		memcpy(m->macs.mac2, fl->mac2[j][k], COOKIE_LEN);
		fl->st.mac2_sent++;
	}
	return len;
}

/* --- garbage kinds ---------------------------------------------------------------------------- */

static size_t frame_garbage_udp(struct flood *fl, uint8_t *f, enum expect *e)
{
	uint32_t j = rnd_below(fl, fl->o.sources);
	size_t plen = fl->o.size_min + rnd_below(fl, fl->o.size_max - fl->o.size_min + 1), len;
	uint8_t *p = udp4_frame(fl, f, source_addr(fl, j), fl->o.src_port, ntohs(fl->o.dst.sin_port),
				plen, &len);

	memcpy(p, rnd_bytes(fl), plen);
	if (plen >= MESSAGE_MINIMUM_LENGTH && rnd_below(fl, 4) == 0) {
		/* a data message header and a random receiver index: the index lookup drops it */
		p[0] = MESSAGE_DATA;
		p[1] = p[2] = p[3] = 0;
		*e = E_UNKNOWN_INDEX;
		return len;
	}
	/* anything else must not be a valid message by accident (type 1..4 with three zero bytes) */
	if (plen >= 4 && p[0] >= 1 && p[0] <= 4 && !p[1] && !p[2] && !p[3])
		p[1] = 0x55;
	*e = E_BAD_MESSAGE;
	return len;
}

enum raw_variant { R_ETHERTYPE, R_IP4_SHORT, R_IP4_BAD, R_IP4_BADSUM, R_IP4_PROTO, R_IP4_FRAG, R_IP4_OTHER_DST,
		   R_UDP_BADLEN, R_UDP_PORT, R_IP6_SHORT, R_IP6_BAD, R_IP6_PROTO, R_COUNT };

/* A random IP protocol number that is none of the excluded ones (UDP; ICMPv6 for IPv6, whose
 * neighbour discovery goes to the control thread). */
static uint8_t other_proto(struct flood *fl, bool v6)
{
	for (;;) {
		uint8_t p = (uint8_t)rnd64(fl);

		if (p != IPPROTO_UDP && !(v6 && p == IPPROTO_ICMPV6))
			return p;
	}
}

/* A well-formed IPv4/UDP frame of random length and payload (the garbage variants that are
 * foreign only by destination address or port); returns the frame's length. */
static size_t garbage_udp4(struct flood *fl, uint8_t *f, size_t room, uint32_t src, uint32_t dst,
			   uint16_t dport)
{
	uint8_t *l3 = put_eth(fl, f, ETH_P_IP);
	size_t l3len = 28 + rnd_below(fl, (uint32_t)(room - 28 + 1));

	memcpy(l3 + 28, rnd_bytes(fl), l3len - 28);
	wggen_put_ip4(l3, (uint16_t)l3len, IPPROTO_UDP, src, dst, 0);
	wggen_put16(l3 + 20, fl->o.src_port);
	wggen_put16(l3 + 22, dport);
	wggen_put16(l3 + 24, (uint16_t)(l3len - 20));
	wggen_put16(l3 + 26, 0);
	return ETH_HDR + l3len;
}

static size_t frame_garbage_raw(struct flood *fl, uint8_t *f, enum expect *e)
{
	size_t room = fl->mtu; /* bytes after the Ethernet header */
	uint32_t src = source_addr(fl, rnd_below(fl, fl->o.sources)), dst = fl->o.dst.sin_addr.s_addr;
	uint16_t port = ntohs(fl->o.dst.sin_port);
	uint8_t *l3;
	size_t l3len;

	switch ((enum raw_variant)rnd_below(fl, R_COUNT)) {
	case R_ETHERTYPE: {
		uint16_t type;

		do
			type = (uint16_t)rnd64(fl);
		while (type == ETH_P_IP || type == ETH_P_IPV6 || type == ETH_P_ARP);
		l3 = put_eth(fl, f, type);
		l3len = rnd_below(fl, (uint32_t)room + 1);
		memcpy(l3, rnd_bytes(fl), l3len);
		*e = E_NOT_IP;
		return ETH_HDR + l3len;
	}
	case R_IP4_SHORT:
		l3 = put_eth(fl, f, ETH_P_IP);
		l3len = rnd_below(fl, 20);
		memcpy(l3, rnd_bytes(fl), l3len);
		if (l3len)
			l3[0] = 0x45;
		*e = E_BAD_IP;
		return ETH_HDR + l3len;
	case R_IP4_BAD:
		l3 = put_eth(fl, f, ETH_P_IP);
		l3len = 20 + rnd_below(fl, (uint32_t)(room - 20 + 1));
		memcpy(l3, rnd_bytes(fl), l3len);
		switch (rnd_below(fl, 4)) {
		case 0: /* not version 4 */
			l3[0] = (uint8_t)((rnd_below(fl, 15) + 5) % 16 << 4 | 5);
			break;
		case 1: /* header length under 20 */
			l3[0] = (uint8_t)(0x40 | rnd_below(fl, 5));
			break;
		case 2: /* total length past the frame */
			l3[0] = 0x45;
			wggen_put16(l3 + 2, (uint16_t)(l3len + 1 + rnd_below(fl, (uint32_t)(65535 - l3len))));
			break;
		default: /* total length shorter than the header */
			l3[0] = 0x4f;
			wggen_put16(l3 + 2, (uint16_t)rnd_below(fl, 60));
			if (l3len < 60) { /* make the options fit so only the total length is wrong */
				memcpy(l3 + l3len, rnd_bytes(fl), 60 - l3len);
				l3len = 60;
			}
			break;
		}
		*e = E_BAD_IP;
		return ETH_HDR + l3len;
	case R_IP4_BADSUM: /* well formed, to our port, but the header checksum is off */
		*e = E_BAD_CHECKSUM;
		l3len = garbage_udp4(fl, f, room, src, dst, port) - ETH_HDR;
		l3 = f + ETH_HDR;
		l3[10] ^= (uint8_t)(1 + rnd_below(fl, 255)); /* never a multiple of 0xffff away from right */
		return ETH_HDR + l3len;
	case R_IP4_PROTO:
		l3 = put_eth(fl, f, ETH_P_IP);
		l3len = 20 + rnd_below(fl, (uint32_t)(room - 20 + 1));
		memcpy(l3 + 20, rnd_bytes(fl), l3len - 20);
		wggen_put_ip4(l3, (uint16_t)l3len, other_proto(fl, false), src, dst, 0);
		*e = E_NOT_OURS;
		return ETH_HDR + l3len;
	case R_IP4_FRAG: {
		/* more fragments, or a non-zero offset (with or without MF) */
		uint16_t frag = rnd_below(fl, 2) ? 0x2000 : (uint16_t)(1 + rnd_below(fl, 0x1fff));

		l3 = put_eth(fl, f, ETH_P_IP);
		l3len = 28 + rnd_below(fl, (uint32_t)(room - 28 + 1));
		memcpy(l3 + 20, rnd_bytes(fl), l3len - 20);
		wggen_put_ip4(l3, (uint16_t)l3len, IPPROTO_UDP, src, dst,
			      frag | (uint16_t)(rnd_below(fl, 2) << 13));
		*e = E_FRAGMENT;
		return ETH_HDR + l3len;
	}
	case R_IP4_OTHER_DST: {
		uint32_t other;

		do
			other = (uint32_t)rnd64(fl);
		while (other == dst);
		*e = E_NOT_OURS;
		return garbage_udp4(fl, f, room, src, other, port);
	}
	case R_UDP_BADLEN: {
		uint16_t ulen;

		l3 = put_eth(fl, f, ETH_P_IP);
		l3len = 20 + rnd_below(fl, (uint32_t)(room - 20 + 1));
		memcpy(l3 + 20, rnd_bytes(fl), l3len - 20);
		wggen_put_ip4(l3, (uint16_t)l3len, IPPROTO_UDP, src, dst, 0);
		if (l3len >= 28) {
			do
				ulen = (uint16_t)rnd64(fl);
			while (ulen == l3len - 20);
			wggen_put16(l3 + 20, fl->o.src_port);
			wggen_put16(l3 + 22, port);
			wggen_put16(l3 + 24, ulen);
		}
		*e = E_BAD_UDP;
		return ETH_HDR + l3len;
	}
	case R_UDP_PORT: {
		uint16_t other;

		do
			other = (uint16_t)rnd64(fl);
		while (other == port);
		*e = E_NOT_OURS;
		return garbage_udp4(fl, f, room, src, dst, other);
	}
	case R_IP6_SHORT:
		l3 = put_eth(fl, f, ETH_P_IPV6);
		l3len = rnd_below(fl, 40);
		memcpy(l3, rnd_bytes(fl), l3len);
		if (l3len)
			l3[0] = 0x60;
		*e = E_BAD_IP;
		return ETH_HDR + l3len;
	case R_IP6_BAD:
		l3 = put_eth(fl, f, ETH_P_IPV6);
		l3len = 40 + rnd_below(fl, (uint32_t)(room - 40 + 1));
		memcpy(l3, rnd_bytes(fl), l3len);
		if (rnd_below(fl, 2)) { /* not version 6 */
			l3[0] = (uint8_t)(((rnd_below(fl, 15) + 7) % 16) << 4 | (l3[0] & 0xf));
		} else {                /* payload length past the frame */
			l3[0] = 0x60;
			wggen_put16(l3 + 4, (uint16_t)(l3len - 40 + 1 +
						      rnd_below(fl, (uint32_t)(65535 - (l3len - 40)))));
		}
		*e = E_BAD_IP;
		return ETH_HDR + l3len;
	default: /* R_IP6_PROTO: a valid header, a protocol that is neither UDP nor ICMPv6 */
		l3 = put_eth(fl, f, ETH_P_IPV6);
		l3len = 40 + rnd_below(fl, (uint32_t)(room - 40 + 1));
		memcpy(l3, rnd_bytes(fl), l3len);
		l3[0] = 0x60;
		wggen_put16(l3 + 4, (uint16_t)(l3len - 40));
		l3[6] = other_proto(fl, true);
		*e = E_NOT_OURS;
		return ETH_HDR + l3len;
	}
}

static size_t build_frame(struct flood *fl, enum kind k, uint8_t *f, enum expect *e)
{
	uint64_t c = fl->kind_seq[k]++;

	*e = E_HANDSHAKE;
	switch (k) {
	case K_INIT_MAC1:
		return frame_init_pool(fl, f, c, fl->mac1_pool);
	case K_INIT_BADMAC:
		return frame_init_pool(fl, f, c, fl->badmac_pool);
	case K_INIT_COOKIE:
		return frame_init_cookie(fl, f, c);
	case K_GARBAGE_UDP:
		return frame_garbage_udp(fl, f, e);
	default:
		return frame_garbage_raw(fl, f, e);
	}
}

/* --- preparation ------------------------------------------------------------------------------ */

static bool uses(const struct flood *fl, enum kind k)
{
	for (unsigned int i = 0; i < fl->o.n_kinds; i++)
		if (fl->o.kinds[i] == k)
			return true;
	return false;
}

/* A random initiation body: the type, our tag as sender index, random ephemeral/static/timestamp. */
static void random_initiation(struct flood *fl, struct message_handshake_initiation *m, uint32_t index)
{
	rnd_fill(fl, m, sizeof(*m));
	m->header.type = MESSAGE_HEADER_WORD(MESSAGE_HANDSHAKE_INITIATION);
	m->sender_index = index;
	memset(&m->macs, 0, sizeof(m->macs));
}

/* Well-formed initiations from a fresh random static key each, to the listener: they decrypt up to
 * the static key, which no peer of the listener has. */
static int unknown_peer_initiations(struct flood *fl, const uint8_t listener_pub[32],
				    struct cookie_maker *maker)
{
	for (unsigned int k = 0; k < FLOOD_UNK; k++) {
		struct handshake_identity id;
		struct handshake hs;
		uint8_t priv[32], e[32], epub[32], ts[TAI64N_SIZE];
		int err;

		x25519_generate(priv, epub);
		x25519_generate(e, epub);
		tai64n_now(ts);
		err = handshake_identity_set(&id, priv);
		if (!err) {
			handshake_init(&hs, &id, listener_pub, NULL);
			err = handshake_create_initiation(&fl->unk[k], &hs, &id, TAG_UNK | k, e, ts);
			handshake_destroy(&hs);
		}
		sodium_memzero(priv, sizeof(priv));
		sodium_memzero(e, sizeof(e));
		sodium_memzero(&id, sizeof(id));
		if (err)
			return err;
		cookie_add_macs(maker, (uint8_t *)&fl->unk[k], sizeof(fl->unk[k]), 0);
	}
	return 0;
}

/* init-cookie: the unknown-peer messages, and per cookie source a maker and its request's mac1. */
static int prepare_cookie_sources(struct flood *fl, const uint8_t pub[32], struct cookie_maker *maker)
{
	uint32_t n = fl->o.cookie_sources;
	int err = unknown_peer_initiations(fl, pub, maker);

	if (err)
		return err;
	random_initiation(fl, &fl->request, 0);
	fl->makers = calloc(n, sizeof(*fl->makers));
	fl->req_mac1 = calloc(n, sizeof(*fl->req_mac1));
	fl->mac2 = calloc(n, sizeof(*fl->mac2));
	fl->has_cookie = calloc(n, sizeof(*fl->has_cookie));
	if (!fl->makers || !fl->req_mac1 || !fl->mac2 || !fl->has_cookie)
		return -ENOMEM;
	for (uint32_t j = 0; j < n; j++) {
		struct message_handshake_initiation m = fl->request;

		cookie_maker_init(&fl->makers[j], pub);
		m.sender_index = TAG_REQ | j;
		cookie_add_macs(&fl->makers[j], (uint8_t *)&m, sizeof(m), 0);
		memcpy(fl->req_mac1[j], m.macs.mac1, COOKIE_LEN);
	}
	return 0;
}

static int prepare_handshakes(struct flood *fl)
{
	uint8_t pub[32];
	struct cookie_maker maker;
	int err;

	if (!fl->o.peer_pub) {
		fprintf(stderr, "wgflood: the init-* kinds need --peer-pub (the listener's public key)\n");
		return -EINVAL;
	}
	err = keyenc_from_base64(pub, fl->o.peer_pub, strlen(fl->o.peer_pub));
	if (err) {
		fprintf(stderr, "wgflood: --peer-pub: not a base64 key\n");
		return err;
	}
	cookie_maker_init(&maker, pub);
	fl->mac1_pool = calloc(FLOOD_POOL, sizeof(*fl->mac1_pool));
	fl->badmac_pool = calloc(FLOOD_POOL, sizeof(*fl->badmac_pool));
	if (!fl->mac1_pool || !fl->badmac_pool)
		return -ENOMEM;
	for (unsigned int k = 0; k < FLOOD_POOL; k++) {
		random_initiation(fl, &fl->mac1_pool[k], TAG_MAC1 | k);
		cookie_add_macs(&maker, (uint8_t *)&fl->mac1_pool[k], MESSAGE_INITIATION_SIZE, 0);
		random_initiation(fl, &fl->badmac_pool[k], (uint32_t)rnd64(fl));
		rnd_fill(fl, fl->badmac_pool[k].macs.mac1, COOKIE_LEN); /* wrong but for 2^-128 */
	}
	err = uses(fl, K_INIT_COOKIE) ? prepare_cookie_sources(fl, pub, &maker) : 0;
	cookie_maker_wipe(&maker);
	return err;
}

/* --- the link --------------------------------------------------------------------------------- */

static int if_info(struct flood *fl)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", fl->o.iface);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0)
		goto fail;
	fl->ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		goto fail;
	memcpy(fl->src_mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
		goto fail;
	fl->mtu = (unsigned int)ifr.ifr_mtu;
	if (fl->mtu > FLOOD_FRAME_MAX - ETH_HDR)
		fl->mtu = FLOOD_FRAME_MAX - ETH_HDR;
	close(fd);
	return 0;
fail:
	err = -errno;
	close(fd);
	fprintf(stderr, "wgflood: interface %s: %s\n", fl->o.iface, strerror(-err));
	return err;
}

static int packet_socket(struct flood *fl, uint16_t proto)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(proto),
				   .sll_ifindex = fl->ifindex };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(proto)), sz = 8 << 20;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	return fd;
}

/* The sending socket: protocol 0 receives nothing; the qdisc is bypassed (frames go straight to
 * the driver, and a full veth peer refuses them at once instead of queueing). */
static int open_tx(struct flood *fl)
{
	int one = 1;

	fl->tx_fd = packet_socket(fl, 0);
	if (fl->tx_fd < 0)
		return fl->tx_fd;
	setsockopt(fl->tx_fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	return 0;
}

/* The receiving socket: cookie replies only (IPv4 UDP from the listen port), never our own frames. */
static int open_rx(struct flood *fl)
{
	uint16_t port = ntohs(fl->o.dst.sin_port);
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 8),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 6),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 4, 0),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, ETH_HDR),
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, ETH_HDR),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
	int one = 1;

	fl->rx_fd = packet_socket(fl, ETH_P_IP);
	if (fl->rx_fd < 0)
		return fl->rx_fd;
	setsockopt(fl->rx_fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	if (setsockopt(fl->rx_fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		return -errno;
	for (unsigned int i = 0; i < FLOOD_BATCH; i++) {
		fl->rx_iov[i] = (struct iovec){ fl->rx_buf[i], sizeof(fl->rx_buf[i]) };
		fl->rx_msg[i].msg_hdr = (struct msghdr){ .msg_iov = &fl->rx_iov[i], .msg_iovlen = 1 };
	}
	/* Frames that arrived before the filter was attached are dropped with the rest. */
	return 0;
}

static int parse_mac(uint8_t mac[ETH_ALEN], const char *s)
{
	unsigned int b[ETH_ALEN];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != ETH_ALEN)
		return -EINVAL;
	for (int i = 0; i < ETH_ALEN; i++) {
		if (b[i] > 0xff)
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

/* Ask who has the listener's address (from the interface's own IPv4 address, else the first
 * source) and take the answer's sender MAC; three tries a second apart. */
static int learn_mac_by_arp(struct flood *fl)
{
	uint8_t req[42], buf[128];
	uint32_t sip = fl->o.src_base.s_addr, tip = fl->o.dst.sin_addr.s_addr;
	struct ifreq ifr;
	int fd = packet_socket(fl, ETH_P_ARP), ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fd;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", fl->o.iface);
	if (ufd >= 0 && ioctl(ufd, SIOCGIFADDR, &ifr) == 0)
		sip = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr;
	if (ufd >= 0)
		close(ufd);
	memset(req, 0xff, ETH_ALEN);
	memcpy(req + ETH_ALEN, fl->src_mac, ETH_ALEN);
	wggen_put16(req + 12, ETH_P_ARP);
	wggen_put16(req + 14, 1); /* Ethernet */
	wggen_put16(req + 16, ETH_P_IP);
	req[18] = ETH_ALEN;
	req[19] = 4;
	wggen_put16(req + 20, 1); /* request */
	memcpy(req + 22, fl->src_mac, ETH_ALEN);
	memcpy(req + 28, &sip, 4);
	memset(req + 32, 0, ETH_ALEN);
	memcpy(req + 38, &tip, 4);
	for (int attempt = 0; attempt < 3; attempt++) {
		uint64_t deadline = wggen_now_ns() + 1000000000ull;

		if (send(fl->tx_fd, req, sizeof(req), 0) < 0)
			break;
		while (wggen_now_ns() < deadline) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			ssize_t n;

			if (poll(&pfd, 1, 100) <= 0)
				continue;
			n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n >= 42 && wggen_get16(buf + 12) == ETH_P_ARP && wggen_get16(buf + 20) == 2 &&
			    memcmp(buf + 28, &tip, 4) == 0) {
				memcpy(fl->dst_mac, buf + 22, ETH_ALEN);
				close(fd);
				return 0;
			}
		}
	}
	close(fd);
	fprintf(stderr, "wgflood: no ARP answer from %s on %s (give --dst-mac)\n",
		inet_ntoa(fl->o.dst.sin_addr), fl->o.iface);
	return -EHOSTUNREACH;
}

/* --- cookie replies --------------------------------------------------------------------------- */

/* A cookie reply to one of our sources: counted, and for a cookie source taken when it tells us
 * something new (the source had none, or its mac2 was refused). */
static void on_reply(struct flood *fl, const uint8_t *f, size_t len, uint64_t now)
{
	const uint8_t *ip = f + ETH_HDR, *udp;
	const struct message_handshake_cookie *c;
	struct cookie_maker *mk;
	const uint8_t *mac1;
	uint32_t j, dst, idx, k;
	size_t ihl;

	if (len < ETH_HDR + 20 || wggen_get16(f + 12) != ETH_P_IP || (ip[0] >> 4) != 4)
		return;
	ihl = (ip[0] & 0xfu) * 4;
	udp = ip + ihl;
	if (ihl < 20 || len < ETH_HDR + ihl + 8 + MESSAGE_COOKIE_SIZE || ip[9] != IPPROTO_UDP ||
	    wggen_get16(udp) != ntohs(fl->o.dst.sin_port) ||
	    wggen_get16(udp + 4) != 8 + MESSAGE_COOKIE_SIZE)
		return;
	c = (const void *)(udp + 8);
	if (c->header.type != MESSAGE_HEADER_WORD(MESSAGE_HANDSHAKE_COOKIE))
		return;
	fl->st.cookie_replies++;
	memcpy(&dst, ip + 16, 4);
	j = ntohl(dst) - ntohl(fl->o.src_base.s_addr);
	if (!fl->makers || j >= fl->o.cookie_sources)
		return;
	idx = c->receiver_index;
	k = idx & ~TAG_MASK;
	switch (idx & TAG_MASK) {
	case TAG_MAC1:
		if (k >= FLOOD_POOL || fl->has_cookie[j])
			return;
		mac1 = fl->mac1_pool[k].macs.mac1;
		break;
	case TAG_REQ:
		if (k != j || fl->has_cookie[j])
			return;
		mac1 = fl->req_mac1[j];
		break;
	case TAG_UNK: /* our mac2 was refused (the listener's secret changed): take the new cookie */
		if (k >= FLOOD_UNK)
			return;
		mac1 = fl->unk[k].macs.mac1;
		break;
	default:
		return;
	}
	mk = &fl->makers[j];
	memcpy(mk->last_mac1_sent, mac1, COOKIE_LEN);
	mk->have_sent_mac1 = true;
	if (cookie_consume_reply(mk, c, now) != 0) {
		fl->st.cookies_bad++;
		return;
	}
	fl->st.cookies_consumed++;
	for (unsigned int u = 0; u < FLOOD_UNK; u++) {
		struct message_handshake_initiation m = fl->unk[u];

		cookie_add_macs(mk, (uint8_t *)&m, sizeof(m), now);
		memcpy(fl->mac2[j][u], m.macs.mac2, COOKIE_LEN);
	}
	if (!fl->has_cookie[j]) {
		fl->has_cookie[j] = true;
		fl->st.sources_with_cookie++;
	}
}

static void drain_rx(struct flood *fl)
{
	int n;

	if (fl->rx_fd < 0)
		return;
	while ((n = recvmmsg(fl->rx_fd, fl->rx_msg, FLOOD_BATCH, MSG_DONTWAIT, NULL)) > 0) {
		uint64_t now = wggen_now_ns();

		for (int i = 0; i < n; i++)
			on_reply(fl, fl->rx_buf[i], fl->rx_msg[i].msg_len, now);
		if (n < FLOOD_BATCH)
			break;
	}
}

/* --- the loop --------------------------------------------------------------------------------- */

/* SIGINT or SIGTERM ends the flood early, with its report (a test stops it when it has measured). */
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void accepted(struct flood *fl, unsigned int i)
{
	fl->st.sent++;
	fl->st.bytes += fl->iov[i].iov_len;
	fl->st.per_kind[fl->slot_kind[i]]++;
	fl->st.expect[fl->slot_expect[i]]++;
}

/* Send the batch; a frame the device refuses (its peer's queue full: ENOBUFS) is dropped. */
static void send_batch(struct flood *fl, unsigned int n)
{
	unsigned int done = 0;

	while (done < n) {
		int k = sendmmsg(fl->tx_fd, fl->msg + done, n - done, 0);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS || errno == EAGAIN)
				fl->st.tx_dropped++;
			else
				fl->st.send_errors++;
			done++;
			continue;
		}
		for (int i = 0; i < k; i++)
			accepted(fl, done + (unsigned int)i);
		done += (unsigned int)k;
	}
}

static void run(struct flood *fl)
{
	uint64_t t0 = wggen_now_ns(), end = t0 + (uint64_t)(fl->o.duration_s * 1e9), seq = 0, t1 = t0;

	for (unsigned int i = 0; i < FLOOD_BATCH; i++) {
		fl->iov[i].iov_base = fl->frames[i];
		fl->msg[i].msg_hdr = (struct msghdr){ .msg_iov = &fl->iov[i], .msg_iovlen = 1 };
	}
	while (!stop) {
		uint64_t now = wggen_now_ns(), n = FLOOD_BATCH;

		if (now >= end || (fl->o.count && seq >= fl->o.count))
			break;
		if (fl->o.rate > 0) {
			double due = (double)(now - t0) * 1e-9 * fl->o.rate - (double)seq;

			if (due < 1) {
				wggen_sleep_until(t0 + (uint64_t)((double)(seq + 1) * 1e9 / fl->o.rate));
				drain_rx(fl);
				continue;
			}
			n = due > FLOOD_BATCH ? FLOOD_BATCH : (uint64_t)due;
		}
		if (fl->o.count && fl->o.count - seq < n)
			n = fl->o.count - seq;
		for (unsigned int i = 0; i < n; i++) {
			enum kind k = fl->o.kinds[(seq + i) % fl->o.n_kinds];
			enum expect e;

			fl->iov[i].iov_len = build_frame(fl, k, fl->frames[i], &e);
			fl->slot_kind[i] = (uint8_t)k;
			fl->slot_expect[i] = (uint8_t)e;
		}
		send_batch(fl, (unsigned int)n);
		seq += n;
		t1 = wggen_now_ns();
		drain_rx(fl);
	}
	fl->st.seconds = (double)(t1 - t0) * 1e-9;
	/* Replies still in flight: a moment to count them. */
	for (uint64_t until = wggen_now_ns() + 200000000ull; wggen_now_ns() < until; ) {
		struct pollfd pfd = { .fd = fl->rx_fd, .events = POLLIN };

		if (fl->rx_fd < 0 || poll(&pfd, 1, 50) < 0)
			break;
		drain_rx(fl);
	}
}

/* --- options and report ----------------------------------------------------------------------- */

static void usage(FILE *out, int status)
{
	fputs("usage: wgflood --iface IF --dst IP:PORT --kind K[,K...] [options]\n"
	      "  Whole Ethernet frames with spoofed IPv4 sources, written to IF only (AF_PACKET).\n"
	      "  --iface IF            the link to flood (frames go nowhere else)\n"
	      "  --dst IP:PORT         the WireGuard listener\n"
	      "  --dst-mac MAC         its MAC address (default: ask by ARP on IF)\n"
	      "  --peer-pub B64        its public key (the init-* kinds need it for mac1)\n"
	      "  --kind K[,K...]       frame kinds, taken in turn frame by frame:\n"
	      "                          init-mac1    initiations, random body, valid mac1, no mac2\n"
	      "                          init-badmac  initiations with a wrong mac1\n"
	      "                          init-cookie  take cookie replies, then unknown-peer initiations\n"
	      "                                       with a valid mac2 (the rate limiter must stop them)\n"
	      "                          garbage-udp  random bytes of random length to the listen port\n"
	      "                          garbage-raw  random ethertypes, malformed IPv4/IPv6, other\n"
	      "                                       protocols, bad checksums, fragments, bad UDP lengths,\n"
	      "                                       other ports\n"
	      "  --sources N           spoofed sources, consecutive from --src-base (default 256)\n"
	      "  --src-base IP         the first source (default 198.18.0.1)\n"
	      "  --src-port N          the sources' UDP port (default 40000)\n"
	      "  --cookie-sources N    init-cookie uses the first N sources (default 16, at most --sources)\n"
	      "  --duration S          seconds (default 5); SIGINT or SIGTERM ends it sooner\n"
	      "  --count N             stop after N frames\n"
	      "  --rate PPS            frames per second; 0: as fast as possible (default)\n"
	      "  --size MIN[-MAX]      garbage-udp payload bytes (default 0-1472, at most IF's MTU - 28)\n"
	      "  --seed N              repeatable frames\n"
	      "Prints one JSON line: sent, seconds, pps, per_kind, tx_dropped (refused by the device),\n"
	      "cookie_replies (seen on IF), cookies_consumed, sources_with_cookie, cookie_requests,\n"
	      "mac2_sent, and expect: what the frames sent should become at a classifier like\n"
	      "meshgate's, by its drop reason names (\"handshake\": handshake messages).\n", out);
	exit(status);
}

enum { F_IFACE = 300, F_DST, F_DMAC, F_PUB, F_KIND, F_SOURCES, F_SBASE, F_SPORT, F_CSRC, F_DUR,
       F_COUNT, F_RATE, F_SIZE, F_SEED, F_HELP };

static const struct option flood_opts[] = {
	{ "iface", 1, 0, F_IFACE }, { "dst", 1, 0, F_DST }, { "dst-mac", 1, 0, F_DMAC },
	{ "peer-pub", 1, 0, F_PUB }, { "kind", 1, 0, F_KIND }, { "sources", 1, 0, F_SOURCES },
	{ "src-base", 1, 0, F_SBASE }, { "src-port", 1, 0, F_SPORT }, { "cookie-sources", 1, 0, F_CSRC },
	{ "duration", 1, 0, F_DUR }, { "count", 1, 0, F_COUNT }, { "rate", 1, 0, F_RATE },
	{ "size", 1, 0, F_SIZE }, { "seed", 1, 0, F_SEED }, { "help", 0, 0, F_HELP }, { 0, 0, 0, 0 }
};

static int parse_kinds(struct flood_opts *o, const char *a)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", a);
	o->n_kinds = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned int k;

		for (k = 0; k < K_COUNT && strcmp(t, kind_names[k]) != 0; k++)
			;
		if (k == K_COUNT || o->n_kinds == sizeof(o->kinds) / sizeof(o->kinds[0]))
			return -EINVAL;
		o->kinds[o->n_kinds++] = (enum kind)k;
	}
	return o->n_kinds ? 0 : -EINVAL;
}

static int parse_size_range(struct flood_opts *o, const char *a)
{
	char *end;
	unsigned long lo = strtoul(a, &end, 10), hi = lo;

	if (*end == '-')
		hi = strtoul(end + 1, &end, 10);
	if (*end || lo > hi)
		return -EINVAL;
	o->size_min = (unsigned int)lo;
	o->size_max = (unsigned int)hi;
	return 0;
}

static int parse_flood_one(struct flood_opts *o, int c, const char *a)
{
	switch (c) {
	case F_IFACE: o->iface = a; return 0;
	case F_DST: return wggen_parse_addr(&o->dst, a) == 0 && o->dst.sin_port ? 0 : -EINVAL;
	case F_DMAC: o->dst_mac = a; return 0;
	case F_PUB: o->peer_pub = a; return 0;
	case F_KIND: return parse_kinds(o, a);
	case F_SOURCES: o->sources = (uint32_t)strtoul(a, NULL, 0);
		return o->sources >= 1 && o->sources <= FLOOD_MAX_SOURCES ? 0 : -EINVAL;
	case F_SBASE: return inet_pton(AF_INET, a, &o->src_base) == 1 ? 0 : -EINVAL;
	case F_SPORT: o->src_port = (uint16_t)atoi(a); return o->src_port ? 0 : -EINVAL;
	case F_CSRC: o->cookie_sources = (uint32_t)strtoul(a, NULL, 0); return o->cookie_sources ? 0 : -EINVAL;
	case F_DUR: o->duration_s = atof(a); return o->duration_s > 0 ? 0 : -EINVAL;
	case F_COUNT: o->count = strtoull(a, NULL, 0); return 0;
	case F_RATE: o->rate = atof(a); return o->rate >= 0 ? 0 : -EINVAL;
	case F_SIZE: return parse_size_range(o, a);
	case F_SEED: o->seed = strtoull(a, NULL, 0); o->have_seed = true; return 0;
	case F_HELP: usage(stdout, 0); return 0;
	default: usage(stderr, 2); return 0;
	}
}

static void parse_flood(struct flood_opts *o, int argc, char **argv)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->sources = 256;
	o->cookie_sources = 16;
	inet_pton(AF_INET, "198.18.0.1", &o->src_base);
	o->src_port = 40000;
	o->duration_s = 5;
	o->size_max = 1472;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", flood_opts, NULL)) != -1) {
		if (c == 'h')
			usage(stdout, 0);
		if (parse_flood_one(o, c, optarg) != 0) {
			fprintf(stderr, "wgflood: bad value for --%s: %s\n", flood_opts[c - F_IFACE].name,
				optarg);
			exit(2);
		}
	}
	if (!o->iface || !o->dst.sin_port || !o->n_kinds) {
		fprintf(stderr, "wgflood: --iface, --dst and --kind are required (--help)\n");
		exit(2);
	}
	if (o->cookie_sources > o->sources)
		o->cookie_sources = o->sources;
}

static void print_report(const struct flood *fl)
{
	const struct flood_stats *s = &fl->st;
	double secs = s->seconds > 0 ? s->seconds : 1e-9;
	const char *sep = "";

	printf("{\"mode\": \"flood\", \"iface\": \"%s\", \"kinds\": [", fl->o.iface);
	for (unsigned int i = 0; i < fl->o.n_kinds; i++)
		printf("%s\"%s\"", i ? ", " : "", kind_names[fl->o.kinds[i]]);
	printf("], \"sources\": %u, \"cookie_sources\": %u, \"rate\": %.0f, \"seconds\": %.4f, "
	       "\"sent\": %llu, \"pps\": %.0f, \"bytes\": %llu, \"tx_dropped\": %llu, \"send_errors\": %llu, "
	       "\"per_kind\": {", fl->o.sources, uses(fl, K_INIT_COOKIE) ? fl->o.cookie_sources : 0,
	       fl->o.rate, s->seconds, (unsigned long long)s->sent, (double)s->sent / secs,
	       (unsigned long long)s->bytes, (unsigned long long)s->tx_dropped,
	       (unsigned long long)s->send_errors);
	for (unsigned int k = 0; k < K_COUNT; k++) {
		if (!uses(fl, (enum kind)k))
			continue;
		printf("%s\"%s\": {\"sent\": %llu, \"pps\": %.0f}", sep, kind_names[k],
		       (unsigned long long)s->per_kind[k], (double)s->per_kind[k] / secs);
		sep = ", ";
	}
	printf("}, \"cookie_replies\": %llu, \"cookies_consumed\": %llu, \"cookies_bad\": %llu, "
	       "\"sources_with_cookie\": %llu, \"cookie_requests\": %llu, \"mac2_sent\": %llu, \"expect\": {",
	       (unsigned long long)s->cookie_replies, (unsigned long long)s->cookies_consumed,
	       (unsigned long long)s->cookies_bad, (unsigned long long)s->sources_with_cookie,
	       (unsigned long long)s->cookie_requests, (unsigned long long)s->mac2_sent);
	for (unsigned int e = 0; e < E_COUNT; e++)
		printf("%s\"%s\": %llu", e ? ", " : "", expect_names[e], (unsigned long long)s->expect[e]);
	printf("}}\n");
	fflush(stdout);
}

static void flood_free(struct flood *fl)
{
	if (fl->tx_fd >= 0)
		close(fl->tx_fd);
	if (fl->rx_fd >= 0)
		close(fl->rx_fd);
	if (fl->makers)
		sodium_memzero(fl->makers, fl->o.cookie_sources * sizeof(*fl->makers));
	free(fl->makers);
	free(fl->req_mac1);
	free(fl->mac2);
	free(fl->has_cookie);
	free(fl->mac1_pool);
	free(fl->badmac_pool);
	free(fl->rnd);
	free(fl);
}

int main(int argc, char **argv)
{
	struct flood *fl;
	struct sigaction sa = { .sa_handler = on_signal };
	int err;

	if (sodium_init() < 0)
		return 1;
	fl = calloc(1, sizeof(*fl));
	if (!fl)
		return 1;
	fl->tx_fd = fl->rx_fd = -1;
	parse_flood(&fl->o, argc, argv);
	if (fl->o.have_seed)
		fl->rng = fl->o.seed;
	else
		randombytes_buf(&fl->rng, sizeof(fl->rng));
	fl->rnd = malloc(FLOOD_RND_SIZE + FLOOD_FRAME_MAX);
	err = fl->rnd ? if_info(fl) : -ENOMEM;
	if (!err) {
		rnd_fill(fl, fl->rnd, FLOOD_RND_SIZE + FLOOD_FRAME_MAX);
		if (fl->o.size_max > fl->mtu - 28)
			fl->o.size_max = fl->mtu - 28;
		if (fl->o.size_min > fl->o.size_max)
			fl->o.size_min = fl->o.size_max;
		err = open_tx(fl);
	}
	if (!err && fl->o.dst_mac && parse_mac(fl->dst_mac, fl->o.dst_mac) != 0) {
		fprintf(stderr, "wgflood: --dst-mac %s: not a MAC address\n", fl->o.dst_mac);
		err = -EINVAL;
	} else if (!err && !fl->o.dst_mac) {
		err = learn_mac_by_arp(fl);
	}
	if (!err && (uses(fl, K_INIT_MAC1) || uses(fl, K_INIT_BADMAC) || uses(fl, K_INIT_COOKIE)))
		err = prepare_handshakes(fl);
	if (!err && (uses(fl, K_INIT_MAC1) || uses(fl, K_INIT_COOKIE)))
		err = open_rx(fl);
	if (err) {
		fprintf(stderr, "wgflood: %s\n", strerror(-err));
		flood_free(fl);
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	run(fl);
	print_report(fl);
	flood_free(fl);
	return 0;
}
