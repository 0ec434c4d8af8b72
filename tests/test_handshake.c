/* SPDX-License-Identifier: MIT */
/*
 * Two WireGuard peers handshake in memory through handshake.c and cookie.c, then the responder's
 * rules are pushed: replayed and flooding initiations, unknown peers, wrong states, forged
 * responses, mismatched pre-shared keys, low-order keys.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "cookie.h"
#include "handshake.h"
#include "harness.h"
#include "tai64n.h"
#include "x25519.h"

#define MS 1000000ULL

struct side {
	struct handshake_identity id;
	struct handshake hs;        /* with the other side */
	struct cookie_checker checker;
	struct cookie_maker maker;  /* towards the other side */
	uint8_t other_pub[32];
};

static struct side a, b;

static struct handshake *lookup(void *ctx, const uint8_t *remote_static)
{
	struct side *s = ctx;

	return memcmp(remote_static, s->other_pub, 32) == 0 ? &s->hs : NULL;
}

static void setup(const uint8_t *psk_a, const uint8_t *psk_b)
{
	uint8_t priv[32], pub[32];

	x25519_generate(priv, pub);
	CHECK(handshake_identity_set(&a.id, priv) == 0, "identity a");
	x25519_generate(priv, pub);
	CHECK(handshake_identity_set(&b.id, priv) == 0, "identity b");
	memcpy(a.other_pub, b.id.static_public, 32);
	memcpy(b.other_pub, a.id.static_public, 32);
	handshake_init(&a.hs, &a.id, a.other_pub, psk_a);
	handshake_init(&b.hs, &b.id, b.other_pub, psk_b);
	cookie_checker_init(&a.checker, a.id.static_public);
	cookie_checker_init(&b.checker, b.id.static_public);
	cookie_maker_init(&a.maker, a.other_pub);
	cookie_maker_init(&b.maker, b.other_pub);
}

static void initiation(struct message_handshake_initiation *m, uint64_t unix_sec, uint64_t now)
{
	uint8_t e[32], epub[32], ts[12];

	x25519_generate(e, epub);
	tai64n_encode(ts, unix_sec, 0);
	CHECK(handshake_create_initiation(m, &a.hs, &a.id, 0x1111, e, ts) == 0, "create initiation");
	cookie_add_macs(&a.maker, (uint8_t *)m, sizeof(*m), now);
}

static void full_handshake(void)
{
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct handshake_session sa, sb;
	struct handshake *peer;
	uint8_t e[32], epub[32], pkt[64], out[64];
	const uint8_t src[6] = { 192, 0, 2, 1, 0xca, 0x6c };

	setup(NULL, NULL);
	initiation(&init, 1000, 0);
	CHECK(init.header.type == 1 && init.sender_index == 0x1111, "initiation header");
	CHECK(cookie_validate(&b.checker, (uint8_t *)&init, sizeof(init), src, 6, false, 0) ==
	      COOKIE_VALID_MAC_BUT_NO_COOKIE, "mac1 valid");
	CHECK(handshake_consume_initiation(&init, &b.id, lookup, &b, 0, &peer) == 0, "consume initiation");
	CHECK(peer == &b.hs && peer->state == HANDSHAKE_CONSUMED_INITIATION, "responder state");
	CHECK(peer->remote_index == 0x1111, "remote index learnt");

	x25519_generate(e, epub);
	CHECK(handshake_create_response(&resp, &b.hs, 0x2222, e) == 0, "create response");
	cookie_add_macs(&b.maker, (uint8_t *)&resp, sizeof(resp), 0);
	CHECK(resp.receiver_index == 0x1111 && resp.sender_index == 0x2222, "response indices");
	CHECK(cookie_validate(&a.checker, (uint8_t *)&resp, sizeof(resp), src, 6, false, 0) ==
	      COOKIE_VALID_MAC_BUT_NO_COOKIE, "response mac1 valid");

	/* A forged response must not cost the initiator its pending handshake. */
	resp.encrypted_nothing[3] ^= 0x80;
	CHECK(handshake_consume_response(&resp, &a.hs) == -EBADMSG, "forged response rejected");
	CHECK(a.hs.state == HANDSHAKE_CREATED_INITIATION, "pending initiation kept");
	resp.encrypted_nothing[3] ^= 0x80;
	resp.receiver_index = 0x9999;
	CHECK(handshake_consume_response(&resp, &a.hs) == -EINVAL, "wrong receiver index");
	resp.receiver_index = 0x1111;
	CHECK(handshake_consume_response(&resp, &a.hs) == 0, "consume response");
	CHECK(handshake_consume_response(&resp, &a.hs) == -EINVAL, "second response: wrong state");

	CHECK(handshake_derive_session(&a.hs, &sa) == 0 && handshake_derive_session(&b.hs, &sb) == 0, "derive");
	CHECK(sa.initiator && !sb.initiator, "roles");
	CHECK_MEM(sa.send_key, sb.recv_key, 32, "a->b key");
	CHECK_MEM(sa.recv_key, sb.send_key, 32, "b->a key");
	CHECK(memcmp(sa.send_key, sa.recv_key, 32) != 0, "directions differ");
	CHECK(sa.local_index == 0x1111 && sa.remote_index == 0x2222, "a indices");
	CHECK(sb.local_index == 0x2222 && sb.remote_index == 0x1111, "b indices");
	CHECK(a.hs.state == HANDSHAKE_ZEROED && sodium_is_zero(a.hs.noise.e_priv, 32), "a wiped");
	CHECK(handshake_derive_session(&a.hs, &sa) == -EINVAL, "derive twice");

	memset(pkt, 0x5a, 32);
	aead_seal(pkt, pkt, 32, NULL, 0, 7, sa.send_key);
	CHECK(aead_open(out, pkt, 48, NULL, 0, 7, sb.recv_key) == 0 && out[31] == 0x5a, "transport");
}

static void responder_rules(void)
{
	struct message_handshake_initiation init, old;
	struct handshake *peer;
	uint64_t now = 5000 * MS;

	setup(NULL, NULL);
	initiation(&init, 2000, now);
	CHECK(handshake_consume_initiation(&init, &b.id, lookup, &b, now, &peer) == 0, "first");
	old = init;
	/* Same timestamp a second later: a replay. */
	now += 1000 * MS;
	CHECK(handshake_consume_initiation(&old, &b.id, lookup, &b, now, &peer) == -ESTALE, "replay");
	CHECK(peer == NULL, "no peer on error");
	/* Newer timestamp but 10 ms after the last accepted: a flood (limit 50/s = 20 ms). */
	initiation(&init, 2001, now);
	CHECK(handshake_consume_initiation(&init, &b.id, lookup, &b, now, &peer) == 0, "newer");
	initiation(&init, 2002, now);
	CHECK(handshake_consume_initiation(&init, &b.id, lookup, &b, now + 10 * MS, &peer) == -EBUSY,
	      "flood at 10 ms");
	CHECK(handshake_consume_initiation(&init, &b.id, lookup, &b, now + 19 * MS, &peer) == -EBUSY,
	      "flood at 19 ms");
	CHECK(handshake_consume_initiation(&init, &b.id, lookup, &b, now + 20 * MS, &peer) == 0,
	      "accepted at 20 ms");
	/* An older timestamp than the newest accepted is a replay even if never seen. */
	initiation(&init, 1999, now);
	CHECK(handshake_consume_initiation(&init, &b.id, lookup, &b, now + 5000 * MS, &peer) == -ESTALE,
	      "older timestamp");
	/* Unknown sender. */
	initiation(&init, 3000, now);
	memset(b.other_pub, 0, 32);
	CHECK(handshake_consume_initiation(&init, &b.id, lookup, &b, now + 9000 * MS, &peer) == -ENOKEY,
	      "unknown peer");
	/* Tampered encrypted static. */
	memcpy(b.other_pub, a.id.static_public, 32);
	init.encrypted_static[0] ^= 1;
	CHECK(handshake_consume_initiation(&init, &b.id, lookup, &b, now + 9000 * MS, &peer) == -EBADMSG,
	      "tampered static");
	init.encrypted_static[0] ^= 1;
	init.encrypted_timestamp[27] ^= 1;
	CHECK(handshake_consume_initiation(&init, &b.id, lookup, &b, now + 9000 * MS, &peer) == -EBADMSG,
	      "tampered timestamp");
	init.header.type = 2;
	CHECK(handshake_consume_initiation(&init, &b.id, lookup, &b, now + 9000 * MS, &peer) == -EINVAL,
	      "wrong type");
}

static void wrong_psk_and_states(void)
{
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct handshake *peer;
	uint8_t psk1[32], psk2[32], e[32], epub[32], zero[32] = { 0 };

	memset(psk1, 1, 32);
	memset(psk2, 2, 32);
	setup(psk1, psk2);
	x25519_generate(e, epub);
	CHECK(handshake_create_response(&resp, &b.hs, 1, e) == -EINVAL, "response without initiation");
	initiation(&init, 10, 0);
	CHECK(handshake_consume_initiation(&init, &b.id, lookup, &b, 0, &peer) == 0, "psk: consume");
	CHECK(handshake_create_response(&resp, &b.hs, 0x2222, e) == 0, "psk: response");
	CHECK(handshake_consume_response(&resp, &a.hs) == -EBADMSG, "mismatched psk rejected");

	setup(psk1, psk1);
	initiation(&init, 10, 0);
	CHECK(handshake_consume_initiation(&init, &b.id, lookup, &b, 0, &peer) == 0, "psk ok: consume");
	CHECK(handshake_create_response(&resp, &b.hs, 0x2222, e) == 0, "psk ok: response");
	CHECK(handshake_consume_response(&resp, &a.hs) == 0, "matching psk accepted");

	/* Low-order peer keys cannot handshake; an all-zero private key is no identity. */
	handshake_init(&a.hs, &a.id, zero, NULL);
	CHECK(handshake_create_initiation(&init, &a.hs, &a.id, 1, e, zero) == -EINVAL, "low-order peer");
	CHECK(handshake_identity_set(&a.id, zero) == -EINVAL && !a.id.has_identity, "zero private key");
	CHECK(handshake_create_initiation(&init, &a.hs, &a.id, 1, e, zero) == -EINVAL, "no identity");
	handshake_destroy(&a.hs);
	handshake_destroy(&b.hs);
}

int main(void)
{
	CHECK(sodium_init() >= 0, "sodium");
	full_handshake();
	responder_rules();
	wrong_psk_and_states();
	return test_done("handshake");
}
