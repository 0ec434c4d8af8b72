/* SPDX-License-Identifier: MIT */
/* WireGuard's handshake on the generic Noise core; see handshake.h. */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "handshake.h"
#include "x25519.h"

static const struct noise_params wg_params = {
	.protocol_name = WG_CONSTRUCTION,
	.prologue = (const uint8_t *)WG_IDENTIFIER,
	.prologue_len = sizeof(WG_IDENTIFIER) - 1,
	.psk_position = 2,
};

int handshake_identity_set(struct handshake_identity *id, const uint8_t priv[NOISE_PUBLIC_KEY_LEN])
{
	sodium_memzero(id, sizeof(*id));
	/* All zero means "no key" (as the UAPI's private_key=000...), checked before clamping. */
	if (sodium_is_zero(priv, NOISE_PUBLIC_KEY_LEN))
		return -EINVAL;
	memcpy(id->static_private, priv, NOISE_PUBLIC_KEY_LEN);
	x25519_clamp(id->static_private);
	x25519_public(id->static_public, id->static_private);
	id->has_identity = true;
	return 0;
}

void handshake_init(struct handshake *hs, const struct handshake_identity *id,
		    const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN], const uint8_t *psk)
{
	sodium_memzero(hs, sizeof(*hs));
	memcpy(hs->remote_static, remote_static, NOISE_PUBLIC_KEY_LEN);
	handshake_set_psk(hs, psk);
	handshake_set_identity(hs, id);
}

void handshake_set_identity(struct handshake *hs, const struct handshake_identity *id)
{
	handshake_clear(hs);
	/* A low-order peer key leaves this all zero, which makes every handshake with it fail. */
	if (!id->has_identity ||
	    x25519_shared(hs->precomputed_static_static, id->static_private, hs->remote_static) != 0)
		sodium_memzero(hs->precomputed_static_static, NOISE_PUBLIC_KEY_LEN);
}

void handshake_set_psk(struct handshake *hs, const uint8_t *psk)
{
	if (psk)
		memcpy(hs->preshared_key, psk, NOISE_SYMMETRIC_KEY_LEN);
	else
		sodium_memzero(hs->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
}

void handshake_clear(struct handshake *hs)
{
	noise_handshake_clear(&hs->noise);
	hs->state = HANDSHAKE_ZEROED;
	hs->local_index = 0;
	hs->remote_index = 0;
}

void handshake_destroy(struct handshake *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}

static void start(struct handshake *hs, const struct handshake_identity *id, bool initiator)
{
	noise_handshake_init(&hs->noise, &wg_params, initiator, id->static_private,
			     initiator ? hs->remote_static : NULL, hs->preshared_key);
	hs->noise.precomputed_ss = hs->precomputed_static_static;
}

int handshake_create_initiation(struct message_handshake_initiation *msg, struct handshake *hs,
				const struct handshake_identity *id, uint32_t local_index,
				const uint8_t e_priv[NOISE_PUBLIC_KEY_LEN],
				const uint8_t timestamp[NOISE_TIMESTAMP_LEN])
{
	handshake_clear(hs);
	if (!id->has_identity)
		return -EINVAL;
	start(hs, id, true);
	memset(msg, 0, sizeof(*msg));
	msg->header.type = MESSAGE_HEADER_WORD(MESSAGE_HANDSHAKE_INITIATION);
	msg->sender_index = local_index;
	/* e, es, s, ss, {timestamp}: the Noise message is the contiguous body after the index. */
	if (noise_write_message1(&hs->noise, e_priv, timestamp, NOISE_TIMESTAMP_LEN,
				 msg->unencrypted_ephemeral) != 0) {
		handshake_clear(hs);
		return -EINVAL;
	}
	hs->local_index = local_index;
	hs->state = HANDSHAKE_CREATED_INITIATION;
	return 0;
}

struct lookup_ctx {
	struct handshake *(*lookup)(void *ctx, const uint8_t *remote_static);
	void *ctx;
	struct handshake *peer;
};

/* Runs inside noise_read_message1 once the sender's static key is decrypted. */
static int on_remote_static(struct noise_handshake *nh, void *arg)
{
	struct lookup_ctx *lc = arg;

	lc->peer = lc->lookup(lc->ctx, nh->rs);
	if (!lc->peer)
		return -ENOKEY;
	nh->precomputed_ss = lc->peer->precomputed_static_static;
	memcpy(nh->psk, lc->peer->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
	return 0;
}

int handshake_consume_initiation(const struct message_handshake_initiation *msg,
				 const struct handshake_identity *id,
				 struct handshake *(*lookup)(void *ctx, const uint8_t *remote_static),
				 void *ctx, uint64_t now_ns, struct handshake **peer_out)
{
	struct lookup_ctx lc = { .lookup = lookup, .ctx = ctx };
	struct noise_handshake nh;
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];
	struct handshake *peer;
	bool replay, flood;
	int ret;

	*peer_out = NULL;
	if (!id->has_identity || msg->header.type != MESSAGE_HEADER_WORD(MESSAGE_HANDSHAKE_INITIATION))
		return -EINVAL;
	noise_handshake_init(&nh, &wg_params, false, id->static_private, NULL, NULL);
	ret = noise_read_message1(&nh, msg->unencrypted_ephemeral, NOISE_MSG1_LEN(NOISE_TIMESTAMP_LEN),
				  on_remote_static, &lc, timestamp);
	if (ret != 0)
		goto out;
	peer = lc.peer;
	/* Replay: the timestamp must be strictly newer. Flood: at most INITIATIONS_PER_SECOND. */
	replay = memcmp(timestamp, peer->latest_timestamp, NOISE_TIMESTAMP_LEN) <= 0;
	flood = peer->consumed_any_initiation &&
		now_ns - peer->last_initiation_consumption_ns < 1000000000ULL / INITIATIONS_PER_SECOND;
	if (replay || flood) {
		ret = replay ? -ESTALE : -EBUSY;
		goto out;
	}
	noise_handshake_clear(&peer->noise);
	peer->noise = nh;
	peer->noise.precomputed_ss = peer->precomputed_static_static;
	memcpy(peer->latest_timestamp, timestamp, NOISE_TIMESTAMP_LEN);
	peer->last_initiation_consumption_ns = now_ns;
	peer->consumed_any_initiation = true;
	peer->remote_index = msg->sender_index;
	peer->state = HANDSHAKE_CONSUMED_INITIATION;
	*peer_out = peer;
out:
	noise_handshake_clear(&nh);
	sodium_memzero(timestamp, sizeof(timestamp));
	return ret;
}

int handshake_create_response(struct message_handshake_response *msg, struct handshake *hs,
			      uint32_t local_index, const uint8_t e_priv[NOISE_PUBLIC_KEY_LEN])
{
	if (hs->state != HANDSHAKE_CONSUMED_INITIATION)
		return -EINVAL;
	memset(msg, 0, sizeof(*msg));
	msg->header.type = MESSAGE_HEADER_WORD(MESSAGE_HANDSHAKE_RESPONSE);
	msg->sender_index = local_index;
	msg->receiver_index = hs->remote_index;
	/* e, ee, se, psk, {} */
	if (noise_write_message2(&hs->noise, e_priv, NULL, 0, msg->unencrypted_ephemeral) != 0) {
		handshake_clear(hs);
		return -EINVAL;
	}
	hs->local_index = local_index;
	hs->state = HANDSHAKE_CREATED_RESPONSE;
	return 0;
}

int handshake_consume_response(const struct message_handshake_response *msg, struct handshake *hs)
{
	struct noise_handshake nh;
	uint8_t empty[1];
	int ret;

	if (msg->header.type != MESSAGE_HEADER_WORD(MESSAGE_HANDSHAKE_RESPONSE) ||
	    hs->state != HANDSHAKE_CREATED_INITIATION || msg->receiver_index != hs->local_index)
		return -EINVAL;
	/* Work on a copy: a forged response must not destroy the initiation we are waiting on. */
	nh = hs->noise;
	ret = noise_read_message2(&nh, msg->unencrypted_ephemeral, NOISE_MSG2_LEN(0), empty);
	if (ret == 0) {
		hs->noise = nh;
		hs->remote_index = msg->sender_index;
		hs->state = HANDSHAKE_CONSUMED_RESPONSE;
	}
	noise_handshake_clear(&nh);
	return ret == -EINVAL ? -EBADMSG : ret;
}

int handshake_derive_session(struct handshake *hs, struct handshake_session *out)
{
	if (hs->state != HANDSHAKE_CREATED_RESPONSE && hs->state != HANDSHAKE_CONSUMED_RESPONSE)
		return -EINVAL;
	noise_split(&hs->noise, out->send_key, out->recv_key);
	out->initiator = hs->state == HANDSHAKE_CONSUMED_RESPONSE;
	out->local_index = hs->local_index;
	out->remote_index = hs->remote_index;
	handshake_clear(hs);
	return 0;
}
