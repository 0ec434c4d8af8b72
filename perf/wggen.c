/* SPDX-License-Identifier: MIT */
/*
 * wggen: a WireGuard peer that only generates and counts traffic, to benchmark any WireGuard
 * implementation (the DUT) by the protocol alone.
 *
 *   wggen send       handshake with the DUT, then encrypted transport packets at it (decrypt path)
 *   wggen recv       count stamped plaintext datagrams delivered on the DUT's inner side
 *   wggen sink       handshake, then open and count what the DUT encrypted toward us (encrypt path)
 *   wggen send-plain plaintext datagrams into the DUT's inner side (encrypt path)
 *   wggen keys       the public keys of --peers N generator peers derived from --key, one a line
 *
 * With --peers N the generator is N WireGuard peers at once (a socket, a session and an inner
 * address each; bursts go to them in turn), which the DUT must know: `wggen keys` tells it whom.
 *
 * A sender given --ctl asks the counter (recv or sink, listening on that unix socket) for what was
 * delivered of the measured packets and prints one JSON record per measurement:
 *   {"dut", "path", "size", "flows", "pps", "gbps", "loss", "limited_by_generator", ...}
 * pps and gbps are what was delivered (inner IPv4 packets and bytes) over the measurement window.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <sodium.h>

#include "aead.h"
#include "blake2s.h"
#include "keyenc.h"
#include "wggen.h"
#include "x25519.h"

struct opts {
	const char *mode, *dut, *ctl, *bind, *path;
	struct wggen_peer peer;
	struct wggen_load load;
	struct wggen_rx_opts rx;
	bool no_handshake;
	bool endpoint_per_peer;  /* peer p's far end is at --endpoint's port + p */
};

/* Big socket buffers (forced: we run as root in the benchmark) so bursts are not dropped by us. */
int wggen_udp_socket(const struct sockaddr_in *local, bool big_buffers)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), sz = 16 << 20, one = 1;

	if (fd < 0)
		return -errno;
	if (big_buffers) {
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)local, sizeof(*local)) < 0) {
		int err = -errno;

		fprintf(stderr, "wggen: bind %s:%u: %s\n", inet_ntoa(local->sin_addr),
			ntohs(local->sin_port), strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

static int read_key(uint8_t key[32], const char *arg)
{
	char text[128] = "";
	FILE *f;
	size_t n;

	if (arg[0] != '@')
		return keyenc_from_base64(key, arg, strlen(arg));
	f = fopen(arg + 1, "r");
	if (f == NULL)
		return -errno;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' ' || text[n - 1] == '\r'))
		n--;
	return keyenc_from_base64(key, text, n);
}

static void usage_to(FILE *out, int status)
{
	fputs("usage: wggen send|recv|sink|send-plain|keys [options]\n"
	      "  peer:  --key B64|@FILE --peer-pub B64 --local IP:PORT --endpoint IP:PORT\n"
	      "         [--respond] [--hs-timeout S] [--no-handshake] [--peers N]\n"
	      "         [--endpoint-per-peer] (peer p: key derived from --key, port --local's + p,\n"
	      "         inner --inner-src + p; and the far end's port + p with --endpoint-per-peer)\n"
	      "  load:  --size 64..1420|imix --flows N --rate PPS(0=max) --warmup S --duration S\n"
	      "         [--count N] --inner-src IP --inner-dst IP [--sport N] [--dport N]\n"
	      "         [--no-gso] (send: never batch same-size messages as one UDP GSO send)\n"
	      "  count: --bind IP:PORT (recv) [--wire] [--count N] [--idle S] [--timeout S]\n"
	      "  both:  --ctl PATH (counter listens, sender asks) --run-id N --dut NAME\n"
	      "         [--path decrypt|encrypt] (the record's label; default by mode)\n", out);
	exit(status);
}

static void usage(void)
{
	usage_to(stderr, 2);
}

enum { O_KEY = 256, O_PEER, O_LOCAL, O_EP, O_RESPOND, O_HST, O_NOHS, O_SIZE, O_FLOWS, O_RATE,
       O_WARM, O_DUR, O_COUNT, O_ISRC, O_IDST, O_SPORT, O_DPORT, O_BIND, O_WIRE, O_IDLE,
       O_TIMEOUT, O_CTL, O_RUN, O_DUT, O_PATH, O_NOGSO, O_PEERS, O_EPP };

static const struct option long_opts[] = {
	{ "key", 1, 0, O_KEY }, { "peer-pub", 1, 0, O_PEER }, { "local", 1, 0, O_LOCAL },
	{ "endpoint", 1, 0, O_EP }, { "respond", 0, 0, O_RESPOND }, { "hs-timeout", 1, 0, O_HST },
	{ "no-handshake", 0, 0, O_NOHS }, { "size", 1, 0, O_SIZE }, { "flows", 1, 0, O_FLOWS },
	{ "rate", 1, 0, O_RATE }, { "warmup", 1, 0, O_WARM }, { "duration", 1, 0, O_DUR },
	{ "count", 1, 0, O_COUNT }, { "inner-src", 1, 0, O_ISRC }, { "inner-dst", 1, 0, O_IDST },
	{ "sport", 1, 0, O_SPORT }, { "dport", 1, 0, O_DPORT }, { "bind", 1, 0, O_BIND },
	{ "wire", 0, 0, O_WIRE }, { "idle", 1, 0, O_IDLE }, { "timeout", 1, 0, O_TIMEOUT },
	{ "ctl", 1, 0, O_CTL }, { "run-id", 1, 0, O_RUN }, { "dut", 1, 0, O_DUT },
	{ "path", 1, 0, O_PATH }, { "no-gso", 0, 0, O_NOGSO },
	{ "peers", 1, 0, O_PEERS }, { "endpoint-per-peer", 0, 0, O_EPP }, { 0, 0, 0, 0 }
};

static void defaults(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->dut = "dut";
	o->peer.hs_timeout_s = 10;
	o->load = (struct wggen_load){ .size = 1420, .flows = 1, .peers = 1, .warmup_s = 1, .duration_s = 2,
				       .sport = 40000, .dport = 5201 };
	inet_pton(AF_INET, "10.77.0.2", &o->load.inner_src);
	inet_pton(AF_INET, "10.77.0.1", &o->load.inner_dst);
	o->rx = (struct wggen_rx_opts){ .idle_s = 2, .timeout_s = 600 };
}

static int parse_size(const char *a)
{
	int v = strcmp(a, "imix") == 0 ? 0 : atoi(a);

	if (strcmp(a, "imix") != 0 && (v < WGGEN_MIN_INNER || v > WGGEN_MAX_INNER)) {
		fprintf(stderr, "wggen: --size %s: 64..%d or imix\n", a, WGGEN_MAX_INNER);
		exit(2);
	}
	return v;
}

static int parse_one(struct opts *o, int c, const char *a)
{
	switch (c) {
	case O_KEY: return read_key(o->peer.priv, a);
	case O_PEER: return read_key(o->peer.peer_pub, a);
	case O_LOCAL: return wggen_parse_addr(&o->peer.local, a);
	case O_EP: return wggen_parse_addr(&o->peer.endpoint, a);
	case O_RESPOND: o->peer.respond = true; return 0;
	case O_HST: o->peer.hs_timeout_s = atof(a); return 0;
	case O_NOHS: o->no_handshake = true; return 0;
	case O_SIZE: o->load.size = parse_size(a); return 0;
	case O_FLOWS: o->load.flows = (unsigned int)atoi(a); return o->load.flows ? 0 : -EINVAL;
	case O_RATE: o->load.rate = atof(a); return 0;
	case O_WARM: o->load.warmup_s = atof(a); return 0;
	case O_DUR: o->load.duration_s = atof(a); return 0;
	case O_COUNT: o->load.count = o->rx.count = strtoull(a, NULL, 0); return 0;
	case O_ISRC: return inet_pton(AF_INET, a, &o->load.inner_src) == 1 ? 0 : -EINVAL;
	case O_IDST: return inet_pton(AF_INET, a, &o->load.inner_dst) == 1 ? 0 : -EINVAL;
	case O_SPORT: o->load.sport = (uint16_t)atoi(a); return 0;
	case O_DPORT: o->load.dport = (uint16_t)atoi(a); return 0;
	case O_BIND: o->bind = a; return 0;
	case O_WIRE: o->rx.wire = true; return 0;
	case O_IDLE: o->rx.idle_s = atof(a); return 0;
	case O_TIMEOUT: o->rx.timeout_s = atof(a); return 0;
	case O_CTL: o->ctl = o->rx.ctl_path = a; return 0;
	case O_RUN: o->load.run_id = o->rx.run_id = (uint32_t)strtoul(a, NULL, 0); return 0;
	case O_DUT: o->dut = a; return 0;
	case O_PATH: o->path = a; return 0;
	case O_NOGSO: o->load.no_gso = true; return 0;
	case O_PEERS: o->load.peers = (unsigned int)atoi(a); return 0;
	case O_EPP: o->endpoint_per_peer = true; return 0;
	default: usage();
	}
	return 0;
}

static void parse(struct opts *o, int argc, char **argv)
{
	int c;

	defaults(o);
	if (argc < 2)
		usage();
	o->mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (parse_one(o, c, optarg) != 0) {
			fprintf(stderr, "wggen: bad value for --%s: %s\n", long_opts[c - O_KEY].name,
				optarg);
			exit(2);
		}
	}
	/* A sender's stamps must not count in another run; a counter without --run-id takes any. */
	if (o->load.run_id == 0 && strncmp(o->mode, "send", 4) == 0)
		o->load.run_id = randombytes_random() | 1;
	if (o->load.peers < 1 || o->load.peers > WGGEN_MAX_PEERS || (o->peer.respond && o->load.peers > 1)) {
		fprintf(stderr, "wggen: --peers 1..%d (1 with --respond)\n", WGGEN_MAX_PEERS);
		exit(2);
	}
}

static void print_size(const struct wggen_load *l)
{
	if (l->size)
		printf("\"size\": %d", l->size);
	else
		printf("\"size\": \"imix\"");
}

/* The measurement's record; rx NULL when no counter was asked (offered load only). */
static void print_record(const struct opts *o, const char *path, const struct wggen_tx_result *t,
			 const struct wggen_rx_result *rx)
{
	double secs = t->seconds > 0 ? t->seconds : 1e-9;
	double loss = rx && t->pkts ? 1.0 - (double)rx->pkts / (double)t->pkts : 0;

	printf("{\"dut\": \"%s\", \"path\": \"%s\", ", o->dut, o->path ? o->path : path);
	print_size(&o->load);
	printf(", \"flows\": %u, \"peers\": %u, \"rate\": %.0f, \"offered_pps\": %.0f, "
	       "\"offered_gbps\": %.4f, ", o->load.flows, o->load.peers, o->load.rate, (double)t->pkts / secs,
	       (double)t->bytes * 8 / secs / 1e9);
	if (rx)
		printf("\"pps\": %.0f, \"gbps\": %.4f, \"loss\": %.6f, \"rx_pkts\": %llu, "
		       "\"rx_bad\": %llu, \"rx_foreign\": %llu, \"rx_reordered\": %llu, ", (double)rx->pkts / secs,
		       (double)rx->bytes * 8 / secs / 1e9, loss < 0 ? 0 : loss,
		       (unsigned long long)rx->pkts, (unsigned long long)rx->bad,
		       (unsigned long long)rx->foreign, (unsigned long long)rx->reordered);
	else
		printf("\"pps\": null, \"gbps\": null, \"loss\": null, ");
	/* At full rate the DUT took everything offered: the generator, not the DUT, set the figure. */
	printf("\"tx_pkts\": %llu, \"tx_total\": %llu, \"send_errors\": %llu, \"seconds\": %.4f, "
	       "\"aead\": \"%s\", \"run_id\": %u, \"limited_by_generator\": %s}\n",
	       (unsigned long long)t->pkts, (unsigned long long)t->total,
	       (unsigned long long)t->send_errors, t->seconds, t->backend, o->load.run_id,
	       !rx ? "null" : o->load.rate == 0 && loss < 0.01 ? "true" : "false");
	fflush(stdout);
}

static void print_counts(const char *mode, const struct wggen_rx_result *r)
{
	printf("{\"mode\": \"%s\", \"rx_pkts\": %llu, \"rx_bytes\": %llu, \"warmup_pkts\": %llu, "
	       "\"foreign\": %llu, \"bad\": %llu, \"reordered\": %llu}\n", mode, (unsigned long long)r->pkts,
	       (unsigned long long)r->bytes, (unsigned long long)r->warmup_pkts,
	       (unsigned long long)r->foreign, (unsigned long long)r->bad, (unsigned long long)r->reordered);
	fflush(stdout);
}

/* After the load: ask the counter. The expected count lets it stop as soon as all arrived. */
static int finish(const struct opts *o, const char *path, const struct wggen_tx_result *t)
{
	struct wggen_rx_result rx;
	int err;

	if (o->ctl == NULL) {
		print_record(o, path, t, NULL);
		return 0;
	}
	err = wggen_ctl_query(o->ctl, o->load.run_id, t->pkts, &rx, 10);
	if (err) {
		fprintf(stderr, "wggen: counter at %s: %s\n", o->ctl, strerror(-err));
		return 1;
	}
	print_record(o, path, t, &rx);
	return 0;
}

/*
 * No handshake (the generator measured alone): a session both ends derive from the run id and the
 * peer number, so a sender and a sink of the same run share keys without talking. Never used with
 * a real DUT.
 */
static void fake_session(struct handshake_session *s, uint32_t run_id, unsigned int p)
{
	static const char label[] = "wggen fake session";
	uint8_t seed[sizeof(label) + 2 * sizeof(uint32_t)];
	uint32_t peer = p;

	memcpy(seed, label, sizeof(label));
	memcpy(seed + sizeof(label), &run_id, sizeof(run_id));
	memcpy(seed + sizeof(label) + sizeof(run_id), &peer, sizeof(peer));
	blake2s(s->send_key, sizeof(s->send_key), NULL, 0, seed, sizeof(seed));
	memcpy(s->recv_key, s->send_key, sizeof(s->recv_key));
	s->local_index = s->remote_index = run_id + p;
	s->initiator = true;
}

/* Peer p's private key: --key itself for peer 0, else BLAKE2s keyed with it over "wggen peer" p. */
static void peer_key(uint8_t out[32], const uint8_t base[32], unsigned int p)
{
	static const char label[] = "wggen peer";
	uint8_t msg[sizeof(label) + sizeof(uint32_t)];
	uint32_t peer = p;

	if (p == 0) {
		memcpy(out, base, 32);
		return;
	}
	memcpy(msg, label, sizeof(label));
	memcpy(msg + sizeof(label), &peer, sizeof(peer));
	blake2s(out, 32, base, 32, msg, sizeof(msg));
}

/* An empty transport message: confirms the session to a responder DUT so it may send to us. */
static void send_keepalive(const struct wggen_link *k)
{
	uint8_t buf[MESSAGE_MINIMUM_LENGTH];
	struct message_data *d = (struct message_data *)buf;

	d->header.type = MESSAGE_HEADER_WORD(MESSAGE_DATA);
	d->key_idx = k->s.remote_index;
	d->counter = 0;
	aead_seal(d->encrypted_data, NULL, 0, NULL, 0, 0, k->s.send_key);
	sendto(k->fd, buf, sizeof(buf), 0, (const struct sockaddr *)&k->ep, sizeof(k->ep));
}

static void close_links(struct wggen_link *links, unsigned int n)
{
	for (unsigned int p = 0; p < n; p++) {
		if (links[p].fd >= 0)
			close(links[p].fd);
	}
	sodium_memzero(links, n * sizeof(*links));
	free(links);
}

/* One socket and one session per generator peer (handshakes one after the other). NULL on failure. */
static struct wggen_link *open_links(struct opts *o)
{
	unsigned int n = o->load.peers;
	struct wggen_link *links = calloc(n, sizeof(*links));

	for (unsigned int p = 0; links && p < n; p++)
		links[p].fd = -1;
	for (unsigned int p = 0; links && p < n; p++) {
		struct wggen_link *k = &links[p];
		struct wggen_peer peer = o->peer;

		peer.local.sin_port = htons((uint16_t)(ntohs(peer.local.sin_port) + p));
		peer_key(peer.priv, o->peer.priv, p);
		k->inner.s_addr = htonl(ntohl(o->load.inner_src.s_addr) + p);
		k->fd = wggen_udp_socket(&peer.local, true);
		if (k->fd < 0)
			break;
		if (o->no_handshake)
			fake_session(&k->s, o->load.run_id, p);
		else if (wggen_handshake(k->fd, &peer, &k->s) != 0)
			break;
		k->ep = peer.endpoint; /* learnt in responder mode */
		/* Two wggens as both ends (the generator measured alone): a socket per peer each. */
		if (o->endpoint_per_peer)
			k->ep.sin_port = htons((uint16_t)(ntohs(k->ep.sin_port) + p));
		sodium_memzero(&peer, sizeof(peer));
		if (p + 1 == n)
			return links;
	}
	if (links)
		close_links(links, n);
	return NULL;
}

static int mode_send(struct opts *o)
{
	struct wggen_link *links = open_links(o);
	struct wggen_tx_result t;
	int err;

	if (!links)
		return 1;
	fprintf(stderr, "wggen: %u session(s) up (first: local index %08x, remote %08x)\n",
		o->load.peers, links[0].s.local_index, links[0].s.remote_index);
	err = wggen_send_encrypted(links, o->load.peers, &o->load, &t);
	close_links(links, o->load.peers);
	if (err) {
		fprintf(stderr, "wggen: send: %s\n", strerror(-err));
		return 1;
	}
	return finish(o, "decrypt", &t);
}

static int mode_send_plain(struct opts *o)
{
	struct wggen_tx_result t;
	int err = wggen_send_plain(&o->load, &t);

	if (err) {
		fprintf(stderr, "wggen: send-plain: %s\n", strerror(-err));
		return 1;
	}
	return finish(o, "encrypt", &t);
}

static int mode_recv(struct opts *o)
{
	struct wggen_link link = { .fd = -1 };
	struct sockaddr_in a;
	struct wggen_rx_result r;

	if (o->bind == NULL || wggen_parse_addr(&a, o->bind) != 0)
		usage();
	link.fd = wggen_udp_socket(&a, true);
	if (link.fd < 0 || wggen_count(&link, 1, &o->rx, &r) != 0)
		return 1;
	close(link.fd);
	print_counts("recv", &r);
	return 0;
}

static int mode_sink(struct opts *o)
{
	struct wggen_link *links = open_links(o);
	struct wggen_rx_result r;
	int err;

	if (!links)
		return 1;
	for (unsigned int p = 0; p < o->load.peers; p++)
		send_keepalive(&links[p]);
	fprintf(stderr, "wggen: %u session(s) up, counting\n", o->load.peers);
	o->rx.decrypt = true;
	err = wggen_count(links, o->load.peers, &o->rx, &r);
	close_links(links, o->load.peers);
	if (err)
		return 1;
	print_counts("sink", &r);
	return 0;
}

/* The public keys the DUT must know, peer 0 first. */
static int mode_keys(struct opts *o)
{
	for (unsigned int p = 0; p < o->load.peers; p++) {
		uint8_t priv[32], pub[32];
		char b64[KEYENC_B64_LEN + 1];
		int err;

		peer_key(priv, o->peer.priv, p);
		err = x25519_public(pub, priv);
		sodium_memzero(priv, sizeof(priv));
		if (err)
			return 1;
		keyenc_to_base64(b64, pub);
		printf("%s\n", b64);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;

	if (sodium_init() < 0)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "help") == 0)
			usage_to(stdout, 0);
	parse(&o, argc, argv);
	if (strcmp(o.mode, "send") == 0)
		return mode_send(&o);
	if (strcmp(o.mode, "send-plain") == 0)
		return mode_send_plain(&o);
	if (strcmp(o.mode, "recv") == 0)
		return mode_recv(&o);
	if (strcmp(o.mode, "sink") == 0)
		return mode_sink(&o);
	if (strcmp(o.mode, "keys") == 0)
		return mode_keys(&o);
	usage();
	return 2;
}
