/* SPDX-License-Identifier: MIT */
/*
 * WireGuard's DoS defence (whitepaper section 5.4.4, 5.4.7): mac1 and mac2 on handshake messages, and
 * cookie replies. The checker (one per interface) verifies incoming MACs and makes cookie replies;
 * the maker (one per peer) adds MACs to outgoing messages and consumes cookie replies.
 *
 *   mac1   = MAC(HASH("mac1----" || Spub_receiver), msg[0 .. mac1))
 *   cookie = MAC(Rm, source IP || source port)          Rm random, renewed every 2 minutes
 *   mac2   = MAC(cookie, msg[0 .. mac2))
 *   reply  = XAEAD(HASH("cookie--" || Spub_receiver), nonce, cookie, AD = mac1 of the message)
 *
 * No I/O and no clock: time is an argument. Randomness (Rm, reply nonces) comes from libsodium.
 * "src" is the source address as bytes: IPv4 (4) or IPv6 (16) address then the UDP port, both in
 * network order.
 */
#ifndef MG_COOKIE_H
#define MG_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages.h"

#define COOKIE_SRC_MAX 18

enum cookie_mac_state {
	COOKIE_INVALID_MAC,             /* mac1 wrong: drop */
	COOKIE_VALID_MAC_BUT_NO_COOKIE, /* mac1 right, mac2 absent or wrong: under load, send a reply */
	COOKIE_VALID_MAC_WITH_COOKIE,   /* both right: process even under load (rate limited) */
};

struct cookie_checker {
	uint8_t secret[NOISE_HASH_LEN];
	uint64_t secret_birth_ns;
	bool has_secret;
	uint8_t cookie_encryption_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];
};

struct cookie_maker {
	uint8_t cookie_decryption_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t cookie[COOKIE_LEN];
	uint64_t cookie_birth_ns;
	bool is_valid;
	uint8_t last_mac1_sent[COOKIE_LEN];
	bool have_sent_mac1;
};

/* Keys from our own static public key (again whenever it changes). The secret is drawn lazily. */
void cookie_checker_init(struct cookie_checker *c, const uint8_t our_public[NOISE_PUBLIC_KEY_LEN]);
/* Keys from the peer's static public key. */
void cookie_maker_init(struct cookie_maker *m, const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN]);
void cookie_checker_wipe(struct cookie_checker *c);
void cookie_maker_wipe(struct cookie_maker *m);

/*
 * Checks a handshake message (initiation or response, len >= 32) for mac1 and, if check_cookie, for
 * mac2 against the cookie this source would be given now. Constant-time comparisons.
 */
enum cookie_mac_state cookie_validate(struct cookie_checker *c, const uint8_t *msg, size_t len,
				      const uint8_t *src, size_t src_len, bool check_cookie,
				      uint64_t now_ns);

/* Writes mac1 and (when we hold a fresh cookie from this peer) mac2 into the last 32 bytes of msg;
 * whether it wrote a mac2. */
bool cookie_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns);

/* A cookie reply to the handshake message msg (whose mac1 was valid) from src. */
void cookie_create_reply(struct cookie_checker *c, struct message_handshake_cookie *reply,
			 const uint8_t *msg, size_t len, uint32_t receiver_index,
			 const uint8_t *src, size_t src_len, uint64_t now_ns);

/* The maker that sent the message named by reply->receiver_index takes the cookie.
 * -EINVAL when we sent no mac1 to be answered, -EBADMSG when the reply does not authenticate. */
int cookie_consume_reply(struct cookie_maker *m, const struct message_handshake_cookie *reply,
			 uint64_t now_ns);

#endif
