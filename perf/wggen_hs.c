/* SPDX-License-Identifier: MIT */
/*
 * wggen's handshake: one WireGuard peer's side of Noise_IKpsk2 with mac1 (and mac2 after a cookie
 * reply), built from meshgate's lib/ exactly as the control thread does it, but blocking on a
 * plain UDP socket: a generator does one handshake per run, so simplicity beats concurrency here.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "cookie.h"
#include "tai64n.h"
#include "wggen.h"
#include "x25519.h"

struct hs_ctx {
	struct handshake_identity id;
	struct handshake hs;
	struct cookie_maker maker;     /* MACs on what we send */
	struct cookie_checker checker; /* mac1 on what we receive */
	uint8_t buf[WGGEN_BUF];
};

/* Wait for one datagram until deadline; its length, 0 on timeout, -errno on error. */
static int recv_until(int fd, uint8_t *buf, struct sockaddr_in *from, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	socklen_t flen = sizeof(*from);
	uint64_t now = wggen_now_ns();
	ssize_t n;

	if (now >= deadline)
		return 0;
	if (poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1)) <= 0)
		return 0;
	n = recvfrom(fd, buf, WGGEN_BUF, MSG_DONTWAIT, (struct sockaddr *)from, &flen);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	return (int)n;
}

static bool mac1_ok(struct hs_ctx *c, int n)
{
	return cookie_validate(&c->checker, c->buf, (size_t)n, NULL, 0, false, wggen_now_ns()) !=
	       COOKIE_INVALID_MAC;
}

static int send_initiation(int fd, struct hs_ctx *c, const struct wggen_peer *p, uint32_t idx)
{
	struct message_handshake_initiation msg;
	uint8_t e[32], epub[32], ts[TAI64N_SIZE];

	x25519_generate(e, epub);
	tai64n_now(ts);
	if (handshake_create_initiation(&msg, &c->hs, &c->id, idx, e, ts) != 0)
		return -EINVAL;
	sodium_memzero(e, sizeof(e));
	cookie_add_macs(&c->maker, (uint8_t *)&msg, sizeof(msg), wggen_now_ns());
	if (sendto(fd, &msg, sizeof(msg), 0, (const struct sockaddr *)&p->endpoint,
		   sizeof(p->endpoint)) != sizeof(msg))
		return -errno;
	return 0;
}

/* One initiation and its answer: 0 with the session, -EAGAIN to retry, else fatal. */
static int initiate_once(int fd, struct hs_ctx *c, struct wggen_peer *p,
			 struct handshake_session *s)
{
	uint32_t idx = randombytes_random() | 1; /* never 0: some peers treat 0 as "none" */
	uint64_t deadline = wggen_now_ns() + 1000000000ull; /* 1 s: shorter than REKEY_TIMEOUT, as tests wait */
	struct sockaddr_in from;
	int n, err;

	err = send_initiation(fd, c, p, idx);
	if (err)
		return err;
	while ((n = recv_until(fd, c->buf, &from, deadline)) > 0) {
		enum message_type t = message_classify(c->buf, (size_t)n);

		if (t == MESSAGE_HANDSHAKE_COOKIE) {
			/* The DUT is under load: take the cookie; the next initiation carries mac2. */
			if (cookie_consume_reply(&c->maker, (void *)c->buf, wggen_now_ns()) == 0)
				return -EAGAIN;
			continue;
		}
		if (t != MESSAGE_HANDSHAKE_RESPONSE || !mac1_ok(c, n))
			continue;
		if (((struct message_handshake_response *)c->buf)->receiver_index != idx)
			continue;
		if (handshake_consume_response((void *)c->buf, &c->hs) != 0)
			continue;
		return handshake_derive_session(&c->hs, s);
	}
	return n < 0 ? n : -EAGAIN;
}

static struct handshake *lookup_peer(void *ctx, const uint8_t *remote_static)
{
	struct hs_ctx *c = ctx;

	return sodium_memcmp(remote_static, c->hs.remote_static, 32) == 0 ? &c->hs : NULL;
}

/* Responder: wait for the DUT's initiation, answer it, and learn its endpoint from it. */
static int respond(int fd, struct hs_ctx *c, struct wggen_peer *p, struct handshake_session *s,
		   uint64_t deadline)
{
	struct message_handshake_response resp;
	struct handshake *peer;
	struct sockaddr_in from;
	uint8_t e[32], epub[32];
	int n;

	while ((n = recv_until(fd, c->buf, &from, deadline)) > 0) {
		if (message_classify(c->buf, (size_t)n) != MESSAGE_HANDSHAKE_INITIATION || !mac1_ok(c, n))
			continue;
		if (handshake_consume_initiation((void *)c->buf, &c->id, lookup_peer, c,
						 wggen_now_ns(), &peer) != 0)
			continue;
		x25519_generate(e, epub);
		if (handshake_create_response(&resp, &c->hs, randombytes_random() | 1, e) != 0)
			return -EINVAL;
		sodium_memzero(e, sizeof(e));
		cookie_add_macs(&c->maker, (uint8_t *)&resp, sizeof(resp), wggen_now_ns());
		if (sendto(fd, &resp, sizeof(resp), 0, (struct sockaddr *)&from, sizeof(from)) < 0)
			return -errno;
		p->endpoint = from;
		return handshake_derive_session(&c->hs, s);
	}
	return n < 0 ? n : -ETIMEDOUT;
}

int wggen_handshake(int fd, struct wggen_peer *p, struct handshake_session *s)
{
	uint64_t deadline = wggen_now_ns() + (uint64_t)(p->hs_timeout_s * 1e9);
	struct hs_ctx *c = sodium_malloc(sizeof(*c));
	int err = -ETIMEDOUT;

	if (c == NULL)
		return -ENOMEM;
	memset(c, 0, sizeof(*c));
	if (handshake_identity_set(&c->id, p->priv) != 0) {
		sodium_free(c);
		return -EINVAL;
	}
	handshake_init(&c->hs, &c->id, p->peer_pub, NULL);
	cookie_maker_init(&c->maker, p->peer_pub);
	cookie_checker_init(&c->checker, c->id.static_public);
	if (p->respond) {
		err = respond(fd, c, p, s, deadline);
	} else {
		do
			err = initiate_once(fd, c, p, s);
		while (err == -EAGAIN && wggen_now_ns() < deadline);
	}
	handshake_destroy(&c->hs);
	sodium_free(c);
	if (err)
		fprintf(stderr, "wggen: handshake failed: %s\n", strerror(-err));
	return err;
}
