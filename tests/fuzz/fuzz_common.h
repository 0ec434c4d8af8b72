/* SPDX-License-Identifier: MIT */
/*
 * The fixed world the message and Noise fuzz targets and the seed generator share: two peers A
 * (initiator) and B (responder) with fixed static and ephemeral keys, a fixed clock and fixed
 * cookie secrets, and the complete handshake between them: A's initiation, B's response and the
 * transport keys both derive. Everything is deterministic, so a seed the generator writes
 * authenticates in the target (the fuzzer starts past the MAC and AEAD checks) and a crash input
 * reproduces in a later run.
 */
#ifndef MG_FUZZ_COMMON_H
#define MG_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cookie.h"
#include "fuzz.h"
#include "handshake.h"
#include "messages.h"
#include "noise.h"
#include "tai64n.h"
#include "x25519.h"

#define FUZZ_NOW_NS (1000ULL * 1000000000ULL)
#define FUZZ_UNIX_SEC 1700000000ULL
#define FUZZ_INDEX_A 0x11111111u /* A's sender index in the initiation */
#define FUZZ_INDEX_B 0x22222222u /* B's sender index in the response */

/* UDP source of A as cookie.c wants it: IPv4 192.0.2.1, port 51820, network order. */
static const uint8_t fuzz_src_a[6] = { 192, 0, 2, 1, 0xca, 0x6c };

struct fuzz_world {
	struct handshake_identity id_a, id_b;
	struct handshake hs_a;  /* A's handshake with B: CREATED_INITIATION, waiting for a response */
	struct handshake hs_b;  /* B's handshake with A: nothing consumed yet */
	struct cookie_checker checker_a, checker_b; /* fixed secrets born at FUZZ_NOW_NS */
	struct cookie_maker maker_a;  /* A towards B: has sent the initiation's mac1 */
	struct cookie_maker maker_b;  /* B towards A: MACs on the response */
	struct message_handshake_initiation init; /* what A sent, MACs included */
	struct message_handshake_response resp;   /* B's answer to it, MACs included */
	struct handshake_session session_b;       /* what B derived when it sent resp */
	/* Data messages go from A to B: sealed with A's sending key, which is B's receiving key. */
	uint8_t data_key[NOISE_SYMMETRIC_KEY_LEN];
};

/* Handshake structs point into themselves (noise.precomputed_ss); fix that after a struct copy. */
static inline void fuzz_handshake_copy(struct handshake *dst, const struct handshake *src)
{
	*dst = *src;
	dst->noise.precomputed_ss = src->noise.precomputed_ss ? dst->precomputed_static_static : NULL;
}

static inline void fuzz_ephemeral(uint8_t e[32], uint8_t seed)
{
	fuzz_fill(e, 32, seed);
}

/* B knows exactly one peer, the handshake passed as ctx, as the daemon's lookup by key would. */
static inline struct handshake *fuzz_lookup_one(void *ctx, const uint8_t *remote_static)
{
	struct handshake *hs = ctx;

	return memcmp(remote_static, hs->remote_static, NOISE_PUBLIC_KEY_LEN) == 0 ? hs : NULL;
}

static inline void fuzz_cookie_checker(struct cookie_checker *c, const uint8_t pub[32], uint8_t seed)
{
	/* A fixed secret born now: mac2 is reproducible, and make_cookie draws no randomness while
	 * FUZZ_NOW_NS is the clock. */
	cookie_checker_init(c, pub);
	fuzz_fill(c->secret, sizeof(c->secret), seed);
	c->secret_birth_ns = FUZZ_NOW_NS;
	c->has_secret = true;
}

/* B's side of the handshake on a scratch copy of hs_b: the response and B's session. */
static inline void fuzz_world_respond(struct fuzz_world *w)
{
	struct handshake hs, *peer;
	uint8_t e[32];

	fuzz_handshake_copy(&hs, &w->hs_b);
	fuzz_ephemeral(e, 0xe2);
	if (handshake_consume_initiation(&w->init, &w->id_b, fuzz_lookup_one, &hs, FUZZ_NOW_NS,
					 &peer) != 0 ||
	    handshake_create_response(&w->resp, &hs, FUZZ_INDEX_B, e) != 0 ||
	    handshake_derive_session(&hs, &w->session_b) != 0)
		abort();
	cookie_add_macs(&w->maker_b, (uint8_t *)&w->resp, sizeof(w->resp), FUZZ_NOW_NS);
	memcpy(w->data_key, w->session_b.recv_key, sizeof(w->data_key));
	handshake_destroy(&hs);
}

/* Builds the world; aborts if the library refuses the fixed keys (then nothing would be fuzzed). */
static inline void fuzz_world_init(struct fuzz_world *w)
{
	uint8_t priv[32], e[32], ts[NOISE_TIMESTAMP_LEN];

	if (sodium_init() < 0)
		abort();
	memset(w, 0, sizeof(*w));
	fuzz_fill(priv, sizeof(priv), 0xa1);
	if (handshake_identity_set(&w->id_a, priv) != 0)
		abort();
	fuzz_fill(priv, sizeof(priv), 0xb2);
	if (handshake_identity_set(&w->id_b, priv) != 0)
		abort();
	handshake_init(&w->hs_a, &w->id_a, w->id_b.static_public, NULL);
	handshake_init(&w->hs_b, &w->id_b, w->id_a.static_public, NULL);

	fuzz_ephemeral(e, 0xe1);
	tai64n_encode(ts, FUZZ_UNIX_SEC, 0);
	if (handshake_create_initiation(&w->init, &w->hs_a, &w->id_a, FUZZ_INDEX_A, e, ts) != 0)
		abort();
	cookie_maker_init(&w->maker_a, w->id_b.static_public);
	cookie_add_macs(&w->maker_a, (uint8_t *)&w->init, sizeof(w->init), FUZZ_NOW_NS);

	fuzz_cookie_checker(&w->checker_a, w->id_a.static_public, 0x5a);
	fuzz_cookie_checker(&w->checker_b, w->id_b.static_public, 0x5e);
	cookie_maker_init(&w->maker_b, w->id_a.static_public);
	fuzz_world_respond(w);
}

/* Plain Noise (fuzz_noise): IK, IKpsk1, IKpsk2 by psk position, between A's and B's keys. */
#define FUZZ_NOISE_MSG1_PAYLOAD "meshgate" /* what the initiator sends before a message 2 */

static inline const struct noise_params *fuzz_noise_params(unsigned int psk_position)
{
	static const struct noise_params params[3] = {
		{ "Noise_IK_25519_ChaChaPoly_BLAKE2s", (const uint8_t *)"meshgate fuzz", 13, 0 },
		{ "Noise_IKpsk1_25519_ChaChaPoly_BLAKE2s", (const uint8_t *)"meshgate fuzz", 13, 1 },
		{ "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s", (const uint8_t *)"meshgate fuzz", 13, 2 },
	};

	return &params[psk_position % 3];
}

/* The initiator's handshake after writing message 1 (out: NOISE_MSG1_LEN(payload_len) bytes). */
static inline void fuzz_noise_initiator(struct noise_handshake *hs, unsigned int psk_position,
					const uint8_t *payload, size_t payload_len, uint8_t *out)
{
	uint8_t s_a[32], s_b[32], pub_b[32], psk[32], e[32];

	fuzz_fill(s_a, sizeof(s_a), 0xa1);
	fuzz_fill(s_b, sizeof(s_b), 0xb2);
	if (x25519_public(pub_b, s_b) != 0)
		abort();
	fuzz_fill(psk, sizeof(psk), 0x9c);
	fuzz_ephemeral(e, 0xe1);
	noise_handshake_init(hs, fuzz_noise_params(psk_position), true, s_a, pub_b, psk);
	if (noise_write_message1(hs, e, payload, payload_len, out) != 0)
		abort();
}

/* The responder before reading message 1. */
static inline void fuzz_noise_responder(struct noise_handshake *hs, unsigned int psk_position)
{
	uint8_t s_b[32], psk[32];

	fuzz_fill(s_b, sizeof(s_b), 0xb2);
	fuzz_fill(psk, sizeof(psk), 0x9c);
	noise_handshake_init(hs, fuzz_noise_params(psk_position), false, s_b, NULL, psk);
}

#endif
