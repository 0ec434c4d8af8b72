/* SPDX-License-Identifier: MIT */
/*
 * Every consumer of outside bytes in lib/ gets truncated, oversized and random input and must
 * return an error, never crash or read out of bounds (the sanitizer build is what proves the
 * latter). Later parsers add their cases here. Seeded; the seed is printed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "cookie.h"
#include "handshake.h"
#include "harness.h"
#include "messages.h"
#include "noise.h"
#include "x25519.h"

#define ROUNDS 3000
#define SEED 0x6d657368ULL

static struct test_rng rng;

/* Exactly len bytes on the heap, so ASan catches any read past the end. */
static uint8_t *random_buf(size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	test_rng_bytes(&rng, p, len);
	return p;
}

static size_t random_len(size_t around)
{
	switch (test_rng_next(&rng) % 4) {
	case 0:
		return test_rng_next(&rng) % (around + 1);          /* truncated */
	case 1:
		return around + 1 + test_rng_next(&rng) % 2048;     /* oversized */
	default:
		return around;
	}
}

static void classify(void)
{
	unsigned int wrong = 0;

	for (int i = 0; i < ROUNDS * 10; i++) {
		size_t len = test_rng_next(&rng) % 300;
		uint8_t *p = random_buf(len);
		enum message_type t;

		if (len >= 4 && test_rng_next(&rng) % 2)
			memcpy(p, (uint8_t[4]){ (uint8_t)(1 + test_rng_next(&rng) % 4), 0, 0, 0 }, 4);
		t = message_classify(p, len);
		wrong += (t == MESSAGE_HANDSHAKE_INITIATION && len != 148) ||
			 (t == MESSAGE_HANDSHAKE_RESPONSE && len != 92) ||
			 (t == MESSAGE_HANDSHAKE_COOKIE && len != 64) || (t == MESSAGE_DATA && len < 32) ||
			 (t != MESSAGE_INVALID && (p[1] | p[2] | p[3]));
		free(p);
	}
	CHECK(wrong == 0, "classify accepted %u malformed messages", wrong);
	CHECK(message_classify((const uint8_t *)"\x04\0\0\0", 4) == MESSAGE_INVALID, "short data");
	CHECK(message_classify((const uint8_t *)"\x01\0\0\x01", 4) == MESSAGE_INVALID, "reserved bits");
}

static struct handshake_identity id;
static struct handshake peer;

static struct handshake *lookup(void *ctx, const uint8_t *remote_static)
{
	(void)ctx;
	(void)remote_static;
	return &peer;
}

static void handshake_messages(void)
{
	static const struct noise_params p = { .protocol_name = WG_CONSTRUCTION, .psk_position = 2 };
	unsigned int accepted = 0;
	uint8_t priv[32], pub[32], out[4096];

	x25519_generate(priv, pub);
	handshake_identity_set(&id, priv);
	handshake_init(&peer, &id, pub, NULL);
	for (int i = 0; i < ROUNDS; i++) {
		struct message_handshake_initiation *init = (void *)random_buf(sizeof(*init));
		struct message_handshake_response *resp = (void *)random_buf(sizeof(*resp));
		size_t len1 = random_len(NOISE_MSG1_LEN(12)), len2 = random_len(NOISE_MSG2_LEN(0));
		uint8_t *m1 = random_buf(len1), *m2 = random_buf(len2);
		struct noise_handshake nh;
		struct handshake *got;

		init->header.type = 1;
		accepted += handshake_consume_initiation(init, &id, lookup, NULL, 0, &got) == 0;
		peer.state = HANDSHAKE_CREATED_INITIATION;
		peer.local_index = resp->receiver_index;
		resp->header.type = 2;
		accepted += handshake_consume_response(resp, &peer) == 0;

		noise_handshake_init(&nh, &p, false, priv, NULL, NULL);
		if (len1 <= NOISE_MSG1_LEN(0) + sizeof(out))
			accepted += noise_read_message1(&nh, m1, len1, NULL, NULL, out) == 0;
		noise_handshake_init(&nh, &p, true, priv, pub, NULL);
		if (len2 <= NOISE_PUBLIC_KEY_LEN + sizeof(out))
			accepted += noise_read_message2(&nh, m2, len2, out) == 0;
		noise_handshake_clear(&nh);
		free(init);
		free(resp);
		free(m1);
		free(m2);
	}
	CHECK(accepted == 0, "random handshake messages: %u accepted", accepted);
	handshake_destroy(&peer);
}

static void cookies(void)
{
	struct cookie_checker c;
	struct cookie_maker m;
	unsigned int accepted = 0;
	uint8_t pub[32];

	randombytes_buf(pub, sizeof(pub));
	cookie_checker_init(&c, pub);
	cookie_maker_init(&m, pub);
	m.have_sent_mac1 = true;
	for (int i = 0; i < ROUNDS; i++) {
		size_t len = test_rng_next(&rng) % 400, slen = test_rng_next(&rng) % 19;
		uint8_t *msg = random_buf(len), *src = random_buf(slen);
		struct message_handshake_cookie *reply = (void *)random_buf(sizeof(*reply));

		accepted += cookie_validate(&c, msg, len, src, slen, true, 0) != COOKIE_INVALID_MAC;
		accepted += cookie_consume_reply(&m, reply, 0) == 0;
		free(msg);
		free(src);
		free(reply);
	}
	CHECK(accepted == 0, "random MACs and cookie replies: %u accepted", accepted);
}

static void aeads(void)
{
	uint8_t key[32], nonce[24];
	unsigned int accepted = 0;

	for (int i = 0; i < ROUNDS; i++) {
		size_t len = test_rng_next(&rng) % 200;
		uint8_t *ct = random_buf(len), *pt = malloc(len + 1);

		test_rng_bytes(&rng, key, sizeof(key));
		test_rng_bytes(&rng, nonce, sizeof(nonce));
		accepted += aead_open(pt, ct, len, NULL, 0, i, key) == 0;
		accepted += aead_open_ietf(pt, ct, len, ct, len / 2, nonce, key) == 0;
		accepted += xaead_open(pt, ct, len, NULL, 0, nonce, key) == 0;
		free(ct);
		free(pt);
	}
	CHECK(accepted == 0, "random AEAD ciphertexts: %u accepted", accepted);
	CHECK(aead_open(key, nonce, 15, NULL, 0, 0, key) == -EINVAL, "shorter than a tag");
}

int main(void)
{
	CHECK(sodium_init() >= 0, "sodium");
	printf("seed 0x%llx\n", (unsigned long long)SEED);
	test_rng_seed(&rng, SEED);
	classify();
	handshake_messages();
	cookies();
	aeads();
	return test_done("badinput");
}
