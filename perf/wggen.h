/* SPDX-License-Identifier: MIT */
/*
 * wggen: a WireGuard traffic generator that speaks only the protocol, so it can drive any WireGuard
 * implementation (meshgate, wireguard-go, the Linux kernel). Shared declarations of its pieces:
 *   wggen.c      command line, modes, the JSON record
 *   wggen_hs.c   the handshake, initiator and responder, on meshgate's lib/
 *   wggen_tx.c   load: encrypted transport packets (decrypt path) or plaintext (encrypt path)
 *   wggen_rx.c   counting what a DUT delivered: a plain UDP receiver or a decrypting one
 *   wggen_common.c the clock, pacing, IPv4 header and address helpers it shares with the attack
 *                tests' flooder (tests/tools/wgflood.c); see wggen_common.h
 *
 * Every generated inner packet is IPv4/UDP and carries a stamp (struct wggen_stamp) at the start of
 * its UDP payload. The counter counts only stamps of its run and of the measurement phase, so what
 * is delivered and what was offered are the same set of packets even though sender and counter are
 * different processes in different namespaces.
 */
#ifndef MG_WGGEN_H
#define MG_WGGEN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "handshake.h"
#include "replay.h"
#include "wggen_common.h"

#define WGGEN_MAGIC 0x4e474757u /* "WGGN" */
#define WGGEN_BURST 32
#define WGGEN_MAX_INNER 1420    /* the DUTs' inner MTU */
#define WGGEN_MIN_INNER 64
#define WGGEN_IPUDP_LEN 28
#define WGGEN_BUF 2048
#define WGGEN_MAX_PEERS 256

enum wggen_phase { WGGEN_WARMUP = 1, WGGEN_MEASURE = 2 };

struct wggen_stamp {
	uint32_t magic;
	uint32_t run_id;
	uint64_t seq;
	uint8_t phase;
} __attribute__((packed));

/* Keys and addresses of one generator peer. */
struct wggen_peer {
	uint8_t priv[32];
	uint8_t peer_pub[32];
	struct sockaddr_in local;    /* our WireGuard UDP address */
	struct sockaddr_in endpoint; /* the DUT's; port 0 in responder mode: learnt */
	bool respond;                /* wait for the DUT's initiation instead of sending one */
	double hs_timeout_s;
};

/*
 * One generator peer's session (of --peers N): its own socket (--local's port + p), its keys
 * (peer 0: --key; peer p: derived from it, see `wggen keys`) and its inner address (--inner-src
 * + p). Bursts go to the peers in turn.
 */
struct wggen_link {
	int fd;
	struct handshake_session s;
	struct sockaddr_in ep;   /* the DUT's endpoint as this peer reaches it */
	struct in_addr inner;    /* this peer's inner address */
	struct replay replay;    /* sink: this session's receive window */
};

/* What to offer. */
struct wggen_load {
	int size;              /* inner IPv4 packet length; 0: IMIX */
	unsigned int flows;    /* distinct inner UDP source ports */
	unsigned int peers;    /* send-plain: destinations inner_dst + 0..peers-1, a burst each */
	double rate;           /* packets/s; 0: as fast as possible */
	bool no_gso;           /* one datagram per system call slot, never a UDP GSO send */
	double warmup_s, duration_s;
	uint64_t count;        /* instead of a duration: exactly this many measured packets */
	uint32_t run_id;
	struct in_addr inner_src, inner_dst;
	uint16_t sport, dport; /* first source port; destination port */
};

/* What the sender offered in the measurement phase. */
struct wggen_tx_result {
	uint64_t pkts, bytes;  /* inner IP bytes */
	uint64_t send_errors;
	uint64_t total;        /* every packet sent, warm-up included */
	double seconds;
	const char *backend;   /* the AEAD backend that sealed them */
};

/* What a counter saw of one run's measurement phase. */
struct wggen_rx_result {
	uint64_t pkts, bytes;  /* inner IP bytes */
	uint64_t warmup_pkts, foreign, bad;
	uint64_t reordered;    /* arrived after a later one of the sender's (meaningful with one peer) */
};

/* wggen.c: a UDP socket bound to local (big buffers: forced, we run as root), or -errno. */
int wggen_udp_socket(const struct sockaddr_in *local, bool big_buffers);

/* wggen_hs.c: the session on success, else -errno (a message is printed). */
int wggen_handshake(int fd, struct wggen_peer *p, struct handshake_session *s);

/* wggen_tx.c */
unsigned int wggen_imix_len(uint64_t seq);
int wggen_inner_len(const struct wggen_load *l, uint64_t seq);
void wggen_build_inner(uint8_t *pkt, int len, const struct wggen_load *l, uint64_t seq,
		       enum wggen_phase phase, struct in_addr src);
int wggen_send_encrypted(struct wggen_link *links, unsigned int n_links, const struct wggen_load *l,
			 struct wggen_tx_result *r);
int wggen_send_plain(const struct wggen_load *l, struct wggen_tx_result *r);

/* wggen_rx.c: count until the controller asks (ctl_path), count reached, or idle/timeout. */
struct wggen_rx_opts {
	uint32_t run_id;        /* 0: any */
	uint64_t count;         /* stop when this many measured packets were seen; 0: no limit */
	double idle_s;          /* stop this long after the last packet once packets were seen */
	double timeout_s;       /* stop regardless */
	const char *ctl_path;   /* unix socket: a sender asks for the result here, then we exit */
	bool wire;              /* count WireGuard transport messages without opening them */
	bool decrypt;           /* open with each link's session (sink); else plain datagrams */
};

int wggen_count(struct wggen_link *links, unsigned int n_links, const struct wggen_rx_opts *o,
		struct wggen_rx_result *r);
/* The sender's side of ctl_path: ask the counter for its result (waits for it to drain). */
int wggen_ctl_query(const char *ctl_path, uint32_t run_id, uint64_t expect,
		    struct wggen_rx_result *r, double timeout_s);

#endif
