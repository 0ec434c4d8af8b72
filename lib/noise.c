/* SPDX-License-Identifier: MIT */
/*
 * Noise IK (optionally psk1/psk2) with 25519, ChaChaPoly and BLAKE2s, as the Noise spec (rev 34)
 * section 5 describes the symmetric state; see noise.h. Spec tokens stand beside each step.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "blake2s.h"
#include "kdf.h"
#include "noise.h"
#include "x25519.h"

static void mix_hash(struct noise_handshake *hs, const uint8_t *data, size_t len)
{
	struct blake2s_state st;

	blake2s_init(&st, NOISE_HASH_LEN, NULL, 0);
	blake2s_update(&st, hs->h, NOISE_HASH_LEN);
	blake2s_update(&st, data, len);
	blake2s_final(&st, hs->h);
}

static void mix_key(struct noise_handshake *hs, const uint8_t *ikm, size_t len)
{
	kdf_derive(hs->ck, hs->k, NULL, hs->ck, NOISE_HASH_LEN, ikm, len);
	hs->n = 0;
	hs->has_key = true;
}

static void mix_key_and_hash(struct noise_handshake *hs, const uint8_t *ikm, size_t len)
{
	uint8_t temp_h[NOISE_HASH_LEN];

	kdf_derive(hs->ck, temp_h, hs->k, hs->ck, NOISE_HASH_LEN, ikm, len);
	mix_hash(hs, temp_h, sizeof(temp_h));
	sodium_memzero(temp_h, sizeof(temp_h));
	hs->n = 0;
	hs->has_key = true;
}

/* DH then MixKey; an all-zero shared secret (low-order point) fails the handshake. */
static int mix_dh(struct noise_handshake *hs, const uint8_t *priv, const uint8_t *pub)
{
	uint8_t shared[NOISE_PUBLIC_KEY_LEN];

	if (x25519_shared(shared, priv, pub) != 0)
		return -EINVAL;
	mix_key(hs, shared, sizeof(shared));
	sodium_memzero(shared, sizeof(shared));
	return 0;
}

static void encrypt_and_hash(struct noise_handshake *hs, uint8_t *dst, const uint8_t *src, size_t len)
{
	if (hs->has_key) {
		aead_seal(dst, src, len, hs->h, NOISE_HASH_LEN, hs->n++, hs->k);
		len = noise_encrypted_len(len);
	} else {
		memmove(dst, src, len);
	}
	mix_hash(hs, dst, len);
}

/* len is the ciphertext length (with tag when keyed). */
static int decrypt_and_hash(struct noise_handshake *hs, uint8_t *dst, const uint8_t *src, size_t len)
{
	uint8_t h[NOISE_HASH_LEN];

	if (!hs->has_key) {
		memmove(dst, src, len);
		mix_hash(hs, dst, len);
		return 0;
	}
	/* Hash the ciphertext before decrypting: dst may alias src. */
	memcpy(h, hs->h, sizeof(h));
	mix_hash(hs, src, len);
	if (aead_open(dst, src, len, h, sizeof(h), hs->n++, hs->k) != 0)
		return -EBADMSG;
	return 0;
}

static void set_ephemeral(struct noise_handshake *hs, const uint8_t e_priv[NOISE_PUBLIC_KEY_LEN])
{
	memcpy(hs->e_priv, e_priv, NOISE_PUBLIC_KEY_LEN);
	x25519_public(hs->e_pub, hs->e_priv);
}

/* Token "e" on either side: MixHash(e), and with a psk also MixKey(e). */
static void mix_ephemeral(struct noise_handshake *hs, const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	mix_hash(hs, pub, NOISE_PUBLIC_KEY_LEN);
	if (hs->psk_position)
		mix_key(hs, pub, NOISE_PUBLIC_KEY_LEN);
}

void noise_handshake_init(struct noise_handshake *hs, const struct noise_params *p, bool initiator,
			  const uint8_t s_priv[NOISE_PUBLIC_KEY_LEN], const uint8_t *rs, const uint8_t *psk)
{
	size_t name_len = strlen(p->protocol_name);

	memset(hs, 0, sizeof(*hs));
	if (name_len <= NOISE_HASH_LEN)
		memcpy(hs->h, p->protocol_name, name_len);
	else
		blake2s(hs->h, NOISE_HASH_LEN, NULL, 0, (const uint8_t *)p->protocol_name, name_len);
	memcpy(hs->ck, hs->h, NOISE_HASH_LEN);
	mix_hash(hs, p->prologue, p->prologue_len);

	hs->initiator = initiator;
	hs->psk_position = p->psk_position;
	memcpy(hs->s_priv, s_priv, NOISE_PUBLIC_KEY_LEN);
	x25519_public(hs->s_pub, hs->s_priv);
	if (psk)
		memcpy(hs->psk, psk, NOISE_SYMMETRIC_KEY_LEN);
	if (initiator)
		memcpy(hs->rs, rs, NOISE_PUBLIC_KEY_LEN);
	/* <- s */
	mix_hash(hs, initiator ? hs->rs : hs->s_pub, NOISE_PUBLIC_KEY_LEN);
}

void noise_handshake_clear(struct noise_handshake *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}

static int mix_ss(struct noise_handshake *hs)
{
	uint8_t zero[NOISE_PUBLIC_KEY_LEN] = { 0 };

	if (!hs->precomputed_ss)
		return mix_dh(hs, hs->s_priv, hs->rs);
	/* A precomputed all-zero DH means the peer's key is low order: fail as mix_dh would. */
	if (sodium_memcmp(hs->precomputed_ss, zero, sizeof(zero)) == 0)
		return -EINVAL;
	mix_key(hs, hs->precomputed_ss, NOISE_PUBLIC_KEY_LEN);
	return 0;
}

int noise_write_message1(struct noise_handshake *hs, const uint8_t e_priv[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t *payload, size_t payload_len, uint8_t *out)
{
	uint8_t *enc_static = out + NOISE_PUBLIC_KEY_LEN;
	uint8_t *enc_payload = enc_static + noise_encrypted_len(NOISE_PUBLIC_KEY_LEN);

	if (!hs->initiator)
		return -EINVAL;
	/* e */
	set_ephemeral(hs, e_priv);
	memcpy(out, hs->e_pub, NOISE_PUBLIC_KEY_LEN);
	mix_ephemeral(hs, hs->e_pub);
	/* es */
	if (mix_dh(hs, hs->e_priv, hs->rs))
		return -EINVAL;
	/* s */
	encrypt_and_hash(hs, enc_static, hs->s_pub, NOISE_PUBLIC_KEY_LEN);
	/* ss */
	if (mix_ss(hs))
		return -EINVAL;
	/* psk (psk1) */
	if (hs->psk_position == 1)
		mix_key_and_hash(hs, hs->psk, NOISE_SYMMETRIC_KEY_LEN);
	/* payload */
	encrypt_and_hash(hs, enc_payload, payload, payload_len);
	return 0;
}

int noise_read_message1(struct noise_handshake *hs, const uint8_t *msg, size_t len,
			int (*on_remote_static)(struct noise_handshake *hs, void *ctx), void *ctx,
			uint8_t *payload_out)
{
	const uint8_t *enc_static = msg + NOISE_PUBLIC_KEY_LEN;
	const uint8_t *enc_payload = enc_static + noise_encrypted_len(NOISE_PUBLIC_KEY_LEN);
	int ret;

	if (hs->initiator || len < NOISE_MSG1_LEN(0))
		return -EINVAL;
	/* e */
	memcpy(hs->re, msg, NOISE_PUBLIC_KEY_LEN);
	mix_ephemeral(hs, hs->re);
	/* es */
	if (mix_dh(hs, hs->s_priv, hs->re))
		return -EINVAL;
	/* s */
	if (decrypt_and_hash(hs, hs->rs, enc_static, noise_encrypted_len(NOISE_PUBLIC_KEY_LEN)))
		return -EBADMSG;
	if (on_remote_static && (ret = on_remote_static(hs, ctx)) != 0)
		return ret;
	/* ss */
	if (mix_ss(hs))
		return -EINVAL;
	/* psk (psk1) */
	if (hs->psk_position == 1)
		mix_key_and_hash(hs, hs->psk, NOISE_SYMMETRIC_KEY_LEN);
	/* payload */
	if (decrypt_and_hash(hs, payload_out, enc_payload, len - NOISE_MSG1_LEN(0) + NOISE_AUTHTAG_LEN))
		return -EBADMSG;
	return 0;
}

int noise_write_message2(struct noise_handshake *hs, const uint8_t e_priv[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t *payload, size_t payload_len, uint8_t *out)
{
	if (hs->initiator)
		return -EINVAL;
	/* e */
	set_ephemeral(hs, e_priv);
	memcpy(out, hs->e_pub, NOISE_PUBLIC_KEY_LEN);
	mix_ephemeral(hs, hs->e_pub);
	/* ee */
	if (mix_dh(hs, hs->e_priv, hs->re))
		return -EINVAL;
	/* se */
	if (mix_dh(hs, hs->e_priv, hs->rs))
		return -EINVAL;
	/* psk (psk2) */
	if (hs->psk_position == 2)
		mix_key_and_hash(hs, hs->psk, NOISE_SYMMETRIC_KEY_LEN);
	/* payload */
	encrypt_and_hash(hs, out + NOISE_PUBLIC_KEY_LEN, payload, payload_len);
	return 0;
}

int noise_read_message2(struct noise_handshake *hs, const uint8_t *msg, size_t len,
			uint8_t *payload_out)
{
	if (!hs->initiator || len < NOISE_MSG2_LEN(0))
		return -EINVAL;
	/* e */
	memcpy(hs->re, msg, NOISE_PUBLIC_KEY_LEN);
	mix_ephemeral(hs, hs->re);
	/* ee */
	if (mix_dh(hs, hs->e_priv, hs->re))
		return -EINVAL;
	/* se */
	if (mix_dh(hs, hs->s_priv, hs->re))
		return -EINVAL;
	/* psk (psk2) */
	if (hs->psk_position == 2)
		mix_key_and_hash(hs, hs->psk, NOISE_SYMMETRIC_KEY_LEN);
	/* payload */
	if (decrypt_and_hash(hs, payload_out, msg + NOISE_PUBLIC_KEY_LEN, len - NOISE_PUBLIC_KEY_LEN))
		return -EBADMSG;
	return 0;
}

void noise_split(struct noise_handshake *hs, uint8_t send[NOISE_SYMMETRIC_KEY_LEN],
		 uint8_t recv[NOISE_SYMMETRIC_KEY_LEN])
{
	uint8_t *first = hs->initiator ? send : recv, *second = hs->initiator ? recv : send;

	kdf_derive(first, second, NULL, hs->ck, NOISE_HASH_LEN, NULL, 0);
	sodium_memzero(hs->ck, sizeof(hs->ck));
	sodium_memzero(hs->k, sizeof(hs->k));
	sodium_memzero(hs->e_priv, sizeof(hs->e_priv));
	sodium_memzero(hs->psk, sizeof(hs->psk));
	hs->has_key = false;
}
