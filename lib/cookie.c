/* SPDX-License-Identifier: MIT */
/* mac1/mac2 and cookie replies; see cookie.h. */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "blake2s.h"
#include "cookie.h"

#define NS_PER_S 1000000000ULL

/* key = HASH(label || public key) */
static void derive_key(uint8_t key[NOISE_SYMMETRIC_KEY_LEN], const char label[8],
		       const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	struct blake2s_state st;

	blake2s_init(&st, NOISE_SYMMETRIC_KEY_LEN, NULL, 0);
	blake2s_update(&st, (const uint8_t *)label, 8);
	blake2s_update(&st, pub, NOISE_PUBLIC_KEY_LEN);
	blake2s_final(&st, key);
}

void cookie_checker_init(struct cookie_checker *c, const uint8_t our_public[NOISE_PUBLIC_KEY_LEN])
{
	sodium_memzero(c, sizeof(*c));
	derive_key(c->cookie_encryption_key, WG_LABEL_COOKIE, our_public);
	derive_key(c->message_mac1_key, WG_LABEL_MAC1, our_public);
}

void cookie_maker_init(struct cookie_maker *m, const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN])
{
	sodium_memzero(m, sizeof(*m));
	derive_key(m->cookie_decryption_key, WG_LABEL_COOKIE, peer_public);
	derive_key(m->message_mac1_key, WG_LABEL_MAC1, peer_public);
}

void cookie_checker_wipe(struct cookie_checker *c)
{
	sodium_memzero(c, sizeof(*c));
}

void cookie_maker_wipe(struct cookie_maker *m)
{
	sodium_memzero(m, sizeof(*m));
}

static void compute_mac1(uint8_t mac1[COOKIE_LEN], const uint8_t *msg, size_t len,
			 const uint8_t key[NOISE_SYMMETRIC_KEY_LEN])
{
	blake2s(mac1, COOKIE_LEN, key, NOISE_SYMMETRIC_KEY_LEN, msg, message_mac1_offset(len));
}

static void compute_mac2(uint8_t mac2[COOKIE_LEN], const uint8_t *msg, size_t len,
			 const uint8_t cookie[COOKIE_LEN])
{
	blake2s(mac2, COOKIE_LEN, cookie, COOKIE_LEN, msg, message_mac2_offset(len));
}

/* The cookie this source gets now; renews the secret every COOKIE_SECRET_MAX_AGE_S. */
static void make_cookie(struct cookie_checker *c, uint8_t cookie[COOKIE_LEN], const uint8_t *src,
			size_t src_len, uint64_t now_ns)
{
	if (!c->has_secret || now_ns - c->secret_birth_ns >= COOKIE_SECRET_MAX_AGE_S * NS_PER_S) {
		randombytes_buf(c->secret, sizeof(c->secret));
		c->secret_birth_ns = now_ns;
		c->has_secret = true;
	}
	blake2s(cookie, COOKIE_LEN, c->secret, sizeof(c->secret), src, src_len);
}

enum cookie_mac_state cookie_validate(struct cookie_checker *c, const uint8_t *msg, size_t len,
				      const uint8_t *src, size_t src_len, bool check_cookie,
				      uint64_t now_ns)
{
	uint8_t computed[COOKIE_LEN], cookie[COOKIE_LEN];
	enum cookie_mac_state ret = COOKIE_INVALID_MAC;

	if (len < sizeof(struct message_macs) + sizeof(struct message_header) || src_len > COOKIE_SRC_MAX)
		return COOKIE_INVALID_MAC;
	compute_mac1(computed, msg, len, c->message_mac1_key);
	if (crypto_verify_16(computed, msg + message_mac1_offset(len)) != 0)
		goto out;
	ret = COOKIE_VALID_MAC_BUT_NO_COOKIE;
	if (!check_cookie)
		goto out;
	make_cookie(c, cookie, src, src_len, now_ns);
	compute_mac2(computed, msg, len, cookie);
	if (crypto_verify_16(computed, msg + message_mac2_offset(len)) == 0)
		ret = COOKIE_VALID_MAC_WITH_COOKIE;
out:
	sodium_memzero(cookie, sizeof(cookie));
	return ret;
}

bool cookie_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns)
{
	uint8_t *mac1 = msg + message_mac1_offset(len), *mac2 = msg + message_mac2_offset(len);
	/* A cookie is used only while the sender's secret that made it can still be current. */
	bool fresh = m->is_valid &&
		     now_ns - m->cookie_birth_ns < (COOKIE_SECRET_MAX_AGE_S - COOKIE_SECRET_LATENCY_S) * NS_PER_S;

	compute_mac1(mac1, msg, len, m->message_mac1_key);
	memcpy(m->last_mac1_sent, mac1, COOKIE_LEN);
	m->have_sent_mac1 = true;
	if (fresh)
		compute_mac2(mac2, msg, len, m->cookie);
	else
		memset(mac2, 0, COOKIE_LEN);
	return fresh;
}

void cookie_create_reply(struct cookie_checker *c, struct message_handshake_cookie *reply,
			 const uint8_t *msg, size_t len, uint32_t receiver_index,
			 const uint8_t *src, size_t src_len, uint64_t now_ns)
{
	uint8_t cookie[COOKIE_LEN];

	reply->header.type = MESSAGE_HEADER_WORD(MESSAGE_HANDSHAKE_COOKIE);
	reply->receiver_index = receiver_index;
	randombytes_buf(reply->nonce, COOKIE_NONCE_LEN);
	make_cookie(c, cookie, src, src_len, now_ns);
	xaead_seal(reply->encrypted_cookie, cookie, COOKIE_LEN, msg + message_mac1_offset(len),
		   COOKIE_LEN, reply->nonce, c->cookie_encryption_key);
	sodium_memzero(cookie, sizeof(cookie));
}

int cookie_consume_reply(struct cookie_maker *m, const struct message_handshake_cookie *reply,
			 uint64_t now_ns)
{
	uint8_t cookie[COOKIE_LEN];

	if (!m->have_sent_mac1)
		return -EINVAL;
	if (xaead_open(cookie, reply->encrypted_cookie, sizeof(reply->encrypted_cookie),
		       m->last_mac1_sent, COOKIE_LEN, reply->nonce, m->cookie_decryption_key) != 0)
		return -EBADMSG;
	memcpy(m->cookie, cookie, COOKIE_LEN);
	sodium_memzero(cookie, sizeof(cookie));
	m->cookie_birth_ns = now_ns;
	m->is_valid = true;
	m->have_sent_mac1 = false;
	return 0;
}
