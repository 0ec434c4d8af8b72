/* SPDX-License-Identifier: MIT */
/*
 * noise.c's readers on messages of any length, which WireGuard never sends (its messages have
 * fixed sizes) but the API takes: the first byte picks the message and the pattern, the rest is
 * the message.
 *   byte 0, bit 0:  0: message 1, read by a fresh responder; 1: message 2, read by the initiator
 *                   that wrote message 1 with payload FUZZ_NOISE_MSG1_PAYLOAD
 *   byte 0 >> 1:    psk position mod 3 (Noise_IK, IKpsk1, IKpsk2)
 * Payloads go to buffers of exactly the size the API promises to write. Only the seeds (written by
 * make_seeds with the fixed keys of fuzz_common.h) authenticate, so an accepted message must be
 * exactly what the other side writes for that payload, and the handshake it completes must give
 * both sides the same keys.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_common.h"
#include "noise.h"
#include "x25519.h"

static uint8_t pub_a[32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t s_a[32];

	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	fuzz_fill(s_a, sizeof(s_a), 0xa1);
	FUZZ_CHECK(x25519_public(pub_a, s_a) == 0);
	return 0;
}

/* Runs once the initiator's static key is decrypted: it authenticated, so it is A's. */
static int on_remote_static(struct noise_handshake *hs, void *ctx)
{
	(void)ctx;
	FUZZ_CHECK(memcmp(hs->rs, pub_a, sizeof(pub_a)) == 0);
	return 0;
}

static void check_split(struct noise_handshake *init, struct noise_handshake *resp)
{
	uint8_t i_send[32], i_recv[32], r_send[32], r_recv[32];

	noise_split(init, i_send, i_recv);
	noise_split(resp, r_send, r_recv);
	FUZZ_CHECK(memcmp(i_send, r_recv, 32) == 0 && memcmp(i_recv, r_send, 32) == 0);
	FUZZ_CHECK(memcmp(init->h, resp->h, sizeof(init->h)) == 0);
}

static void message1(unsigned int psk, const uint8_t *msg, size_t len)
{
	size_t plen = len >= NOISE_MSG1_LEN(0) ? len - NOISE_MSG1_LEN(0) : 0;
	uint8_t *payload = malloc(plen ? plen : 1), *again, msg2[NOISE_MSG2_LEN(0)], e[32], empty[1];
	struct noise_handshake resp, init;

	FUZZ_CHECK(payload != NULL);
	fuzz_noise_responder(&resp, psk);
	if (noise_read_message1(&resp, msg, len, on_remote_static, NULL, payload) != 0)
		goto out;
	/* The initiator writes the same bytes for that payload, then the handshake completes. */
	again = malloc(len);
	FUZZ_CHECK(again != NULL);
	fuzz_noise_initiator(&init, psk, payload, plen, again);
	FUZZ_CHECK(memcmp(again, msg, len) == 0);
	free(again);
	fuzz_ephemeral(e, 0xe2);
	FUZZ_CHECK(noise_write_message2(&resp, e, NULL, 0, msg2) == 0);
	FUZZ_CHECK(noise_read_message2(&init, msg2, sizeof(msg2), empty) == 0);
	check_split(&init, &resp);
	noise_handshake_clear(&init);
out:
	noise_handshake_clear(&resp);
	free(payload);
}

static void message2(unsigned int psk, const uint8_t *msg, size_t len)
{
	static const uint8_t p1[] = FUZZ_NOISE_MSG1_PAYLOAD;
	size_t plen = len >= NOISE_MSG2_LEN(0) ? len - NOISE_MSG2_LEN(0) : 0;
	uint8_t *payload = malloc(plen ? plen : 1), *again, msg1[NOISE_MSG1_LEN(sizeof(p1))];
	uint8_t p1_read[sizeof(p1)], e[32];
	struct noise_handshake resp, init;

	FUZZ_CHECK(payload != NULL);
	fuzz_noise_initiator(&init, psk, p1, sizeof(p1), msg1);
	if (noise_read_message2(&init, msg, len, payload) != 0)
		goto out;
	/* The responder that read message 1 writes the same bytes for that payload. */
	again = malloc(len);
	FUZZ_CHECK(again != NULL);
	fuzz_noise_responder(&resp, psk);
	FUZZ_CHECK(noise_read_message1(&resp, msg1, sizeof(msg1), NULL, NULL, p1_read) == 0);
	fuzz_ephemeral(e, 0xe2);
	FUZZ_CHECK(noise_write_message2(&resp, e, payload, plen, again) == 0);
	FUZZ_CHECK(memcmp(again, msg, len) == 0);
	free(again);
	check_split(&init, &resp);
	noise_handshake_clear(&resp);
out:
	noise_handshake_clear(&init);
	free(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int psk;

	if (size == 0)
		return 0;
	psk = (data[0] >> 1) % 3;
	if (data[0] & 1)
		message2(psk, data + 1, size - 1);
	else
		message1(psk, data + 1, size - 1);
	return 0;
}
