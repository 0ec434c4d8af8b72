/* SPDX-License-Identifier: MIT */
/*
 * A WireGuard UDP payload from the wire: message_classify, then the consumer of each type, as the
 * control thread and the decrypt path run them:
 *   initiation: cookie_validate (mac1, mac2) and handshake_consume_initiation as responder B with
 *               one configured peer A; on success B answers and derives a session.
 *   response:   cookie_validate and handshake_consume_response against A's handshake waiting in
 *               CREATED_INITIATION; on success A derives a session.
 *   cookie:     cookie_consume_reply by A's maker that sent the initiation's mac1.
 *   data:       aead_burst_open with the world's transport key on every backend this CPU runs
 *               (they must agree: a differential check for free), then replay_check when it
 *               authenticated.
 * The consumers are fed even when mac1 is wrong: the daemon gates on mac1 first, but each consumer
 * must be safe on any bytes of its size and the fuzzer cannot forge a MAC anyway. Only the seeds
 * (tests/fuzz/make_seeds.c) and their mutations in unauthenticated fields get past the AEADs, so
 * what an accepted message must lead to is known exactly: the world's handshake and keys.
 * Every piece of state is a fresh copy of a fixed template per input, so a finding reproduces.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aead_burst.h"
#include "cookie.h"
#include "fuzz.h"
#include "fuzz_common.h"
#include "handshake.h"
#include "messages.h"
#include "replay.h"

static struct fuzz_world world;
static struct aead_burst backends[AEAD_BACKEND_COUNT];
static bool have_backend[AEAD_BACKEND_COUNT];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned int n = 0;

	(void)argc;
	(void)argv;
	fuzz_world_init(&world);
	for (int b = AEAD_BACKEND_SODIUM; b < AEAD_BACKEND_COUNT; b++) {
		if (aead_burst_backend_supported((enum aead_backend)b) &&
		    aead_burst_init(&backends[b], (enum aead_backend)b) == 0) {
			have_backend[b] = true;
			n++;
		}
	}
	FUZZ_CHECK(n > 0);
	return 0;
}

/* The classifier written out the slow way: type byte, three zero bytes, that type's length. */
static enum message_type expected_type(const uint8_t *p, size_t n)
{
	if (n < 4 || (p[1] | p[2] | p[3]) != 0)
		return MESSAGE_INVALID;
	switch (p[0]) {
	case MESSAGE_HANDSHAKE_INITIATION:
		return n == MESSAGE_INITIATION_SIZE ? MESSAGE_HANDSHAKE_INITIATION : MESSAGE_INVALID;
	case MESSAGE_HANDSHAKE_RESPONSE:
		return n == MESSAGE_RESPONSE_SIZE ? MESSAGE_HANDSHAKE_RESPONSE : MESSAGE_INVALID;
	case MESSAGE_HANDSHAKE_COOKIE:
		return n == MESSAGE_COOKIE_SIZE ? MESSAGE_HANDSHAKE_COOKIE : MESSAGE_INVALID;
	case MESSAGE_DATA:
		return n >= MESSAGE_MINIMUM_LENGTH ? MESSAGE_DATA : MESSAGE_INVALID;
	default:
		return MESSAGE_INVALID;
	}
}

static void initiation(const uint8_t *data, size_t size)
{
	const struct message_handshake_initiation *msg = (const void *)data;
	struct cookie_checker checker = world.checker_b;
	struct message_handshake_response resp;
	struct handshake_session session;
	struct handshake hs_b, *peer;
	uint8_t e[32];
	int ret;

	(void)cookie_validate(&checker, data, size, fuzz_src_a, sizeof(fuzz_src_a), true, FUZZ_NOW_NS);
	fuzz_handshake_copy(&hs_b, &world.hs_b);
	ret = handshake_consume_initiation(msg, &world.id_b, fuzz_lookup_one, &hs_b, FUZZ_NOW_NS,
					   &peer);
	if (ret != 0) {
		FUZZ_CHECK(peer == NULL);
		goto out;
	}
	FUZZ_CHECK(peer == &hs_b && hs_b.state == HANDSHAKE_CONSUMED_INITIATION);
	FUZZ_CHECK(hs_b.remote_index == msg->sender_index);
	/* The same initiation again is a replay, whatever the clock says (the API's promise). */
	FUZZ_CHECK(handshake_consume_initiation(msg, &world.id_b, fuzz_lookup_one, &hs_b,
					   FUZZ_NOW_NS + 1000000000ULL, &peer) == -ESTALE);
	/* Only A's initiation authenticates, so B answers and derives exactly as in the world. */
	fuzz_ephemeral(e, 0xe2);
	FUZZ_CHECK(handshake_create_response(&resp, &hs_b, FUZZ_INDEX_B, e) == 0);
	FUZZ_CHECK(memcmp(resp.unencrypted_ephemeral, world.resp.unencrypted_ephemeral,
		     sizeof(resp.unencrypted_ephemeral) + sizeof(resp.encrypted_nothing)) == 0);
	FUZZ_CHECK(handshake_derive_session(&hs_b, &session) == 0);
	FUZZ_CHECK(!session.initiator && session.remote_index == msg->sender_index);
	FUZZ_CHECK(memcmp(session.send_key, world.session_b.send_key, sizeof(session.send_key)) == 0 &&
	      memcmp(session.recv_key, world.session_b.recv_key, sizeof(session.recv_key)) == 0);
out:
	handshake_destroy(&hs_b);
	cookie_checker_wipe(&checker);
}

static void response(const uint8_t *data, size_t size)
{
	const struct message_handshake_response *msg = (const void *)data;
	struct cookie_checker checker = world.checker_a;
	struct handshake_session session;
	struct handshake hs_a;

	(void)cookie_validate(&checker, data, size, fuzz_src_a, sizeof(fuzz_src_a), true, FUZZ_NOW_NS);
	fuzz_handshake_copy(&hs_a, &world.hs_a);
	if (handshake_consume_response(msg, &hs_a) == 0) {
		FUZZ_CHECK(hs_a.state == HANDSHAKE_CONSUMED_RESPONSE);
		FUZZ_CHECK(handshake_derive_session(&hs_a, &session) == 0);
		/* A's keys are B's, crossed over: the two sides of the handshake agree. */
		FUZZ_CHECK(session.initiator && session.local_index == FUZZ_INDEX_A &&
		      session.remote_index == msg->sender_index);
		FUZZ_CHECK(memcmp(session.send_key, world.session_b.recv_key, sizeof(session.send_key)) == 0 &&
		      memcmp(session.recv_key, world.session_b.send_key, sizeof(session.recv_key)) == 0);
	} else {
		/* A forged response must not cost A the initiation it is waiting on. */
		FUZZ_CHECK(hs_a.state == HANDSHAKE_CREATED_INITIATION);
	}
	handshake_destroy(&hs_a);
	cookie_checker_wipe(&checker);
}

static void cookie_reply(const uint8_t *data)
{
	struct cookie_maker maker = world.maker_a;
	struct cookie_checker checker = world.checker_b;
	struct message_handshake_initiation init = world.init;

	if (cookie_consume_reply(&maker, (const void *)data, FUZZ_NOW_NS) == 0) {
		/* Only B can have made the reply, for A's address: A's resent initiation now carries
		 * a mac2 that B accepts under load. */
		FUZZ_CHECK(!maker.have_sent_mac1 && maker.is_valid);
		cookie_add_macs(&maker, (uint8_t *)&init, sizeof(init), FUZZ_NOW_NS);
		FUZZ_CHECK(cookie_validate(&checker, (const uint8_t *)&init, sizeof(init), fuzz_src_a,
				      sizeof(fuzz_src_a), true, FUZZ_NOW_NS) ==
		      COOKIE_VALID_MAC_WITH_COOKIE);
	}
	cookie_maker_wipe(&maker);
	cookie_checker_wipe(&checker);
}

static void transport(const uint8_t *data, size_t size)
{
	const struct message_data *msg = (const void *)data;
	uint32_t len = (uint32_t)(size - MESSAGE_MINIMUM_LENGTH);
	uint8_t *first = NULL;
	int first_ok = -1;
	uint64_t counter;

	memcpy(&counter, &msg->counter, sizeof(counter));
	for (int b = 0; b < AEAD_BACKEND_COUNT; b++) {
		struct aead_burst_op op = {
			.key = world.data_key,
			.counter = counter,
			.src = msg->encrypted_data,
			.tag = (uint8_t *)(uintptr_t)(msg->encrypted_data + len),
			.len = len,
		};
		uint8_t *dst;

		if (!have_backend[b])
			continue;
		/* Exactly len bytes, so ASan sees a backend writing past the end. */
		dst = malloc(len ? len : 1);
		FUZZ_CHECK(dst != NULL);
		op.dst = dst;
		FUZZ_CHECK(aead_burst_open(&backends[b], &op, 1) == (op.ok ? 1u : 0u));
		if (first_ok < 0) {
			first_ok = op.ok;
			first = dst;
			continue;
		}
		/* Backends agree on the verdict and, when it verified, on the plaintext. */
		if (op.ok != first_ok || (op.ok && memcmp(dst, first, len) != 0)) {
			fprintf(stderr, "backend %s disagrees with the first\n",
				aead_burst_backend_name((enum aead_backend)b));
			abort();
		}
		free(dst);
	}
	free(first);
	if (first_ok == 1) {
		struct replay r;

		/* Only after authentication (replay.h's contract). A fresh window takes any counter
		 * below the limit, once. */
		replay_init(&r);
		FUZZ_CHECK(replay_check(&r, counter, REJECT_AFTER_MESSAGES) ==
		      (counter < REJECT_AFTER_MESSAGES));
		FUZZ_CHECK(!replay_check(&r, counter, REJECT_AFTER_MESSAGES));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum message_type type = message_classify(data, size);

	/* The classifier is the only gate between the wire and the fixed-size consumers. */
	FUZZ_CHECK(type == expected_type(data, size));
	switch (type) {
	case MESSAGE_HANDSHAKE_INITIATION:
		initiation(data, size);
		break;
	case MESSAGE_HANDSHAKE_RESPONSE:
		response(data, size);
		break;
	case MESSAGE_HANDSHAKE_COOKIE:
		cookie_reply(data);
		break;
	case MESSAGE_DATA:
		transport(data, size);
		break;
	case MESSAGE_INVALID:
		break;
	}
	return 0;
}
