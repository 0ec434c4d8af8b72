/* SPDX-License-Identifier: MIT */
/*
 * The Noise IK pattern over 25519 / ChaChaPoly / BLAKE2s, with an optional pre-shared key (the psk1
 * and psk2 modifiers), as pure functions: no I/O, no clock, no randomness. The caller supplies the
 * ephemeral private key, the prologue and the payloads, so the same code runs WireGuard's handshake
 * (Noise_IKpsk2, prologue = WG_IDENTIFIER, payloads = timestamp / empty) and the published Noise test
 * vectors, and can later run plain Noise_IK for a control channel.
 *
 *   IK:  <- s
 *        ...
 *        -> e, es, s, ss          [psk1: then psk]
 *        <- e, ee, se             [psk2: then psk]
 *
 * Message layouts (contiguous, exactly as inside WireGuard's handshake messages):
 *   message 1: e.pub (32) || AEAD(s.pub) (48) || AEAD(payload) (len + 16)
 *   message 2: e.pub (32) || AEAD(payload) (len + 16)
 * Every function returns 0 or a negative errno, and on error leaves the handshake unusable (the
 * caller starts over); secrets are wiped by noise_handshake_clear.
 */
#ifndef MG_NOISE_H
#define MG_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages.h"

#define NOISE_MSG1_LEN(payload) (NOISE_PUBLIC_KEY_LEN + noise_encrypted_len(NOISE_PUBLIC_KEY_LEN) + \
				 noise_encrypted_len(payload))
#define NOISE_MSG2_LEN(payload) (NOISE_PUBLIC_KEY_LEN + noise_encrypted_len(payload))

struct noise_params {
	const char *protocol_name;  /* e.g. WG_CONSTRUCTION */
	const uint8_t *prologue;
	size_t prologue_len;
	unsigned int psk_position;  /* 0: no psk, 1: psk1, 2: psk2 */
};

struct noise_handshake {
	uint8_t ck[NOISE_HASH_LEN];          /* chaining key */
	uint8_t h[NOISE_HASH_LEN];           /* handshake hash */
	uint8_t k[NOISE_SYMMETRIC_KEY_LEN];  /* current cipher key (valid once has_key) */
	uint64_t n;                          /* nonce for k */
	bool has_key;
	bool initiator;
	unsigned int psk_position;
	uint8_t s_priv[NOISE_PUBLIC_KEY_LEN];  /* local static */
	uint8_t s_pub[NOISE_PUBLIC_KEY_LEN];
	uint8_t e_priv[NOISE_PUBLIC_KEY_LEN];  /* local ephemeral */
	uint8_t e_pub[NOISE_PUBLIC_KEY_LEN];
	uint8_t rs[NOISE_PUBLIC_KEY_LEN];      /* remote static: known to the initiator, learnt by the responder */
	uint8_t re[NOISE_PUBLIC_KEY_LEN];      /* remote ephemeral */
	uint8_t psk[NOISE_SYMMETRIC_KEY_LEN];
	/* Optional: DH(s, rs) computed once per peer (WireGuard precomputes it). */
	const uint8_t *precomputed_ss;
};

/*
 * Initialise: h = HASH(protocol_name) (or the name zero-padded when it fits in 32 bytes), ck = h,
 * MixHash(prologue), then the responder's static key as IK's pre-message. The initiator passes rs;
 * the responder passes NULL for rs and its own s. psk may be NULL (all zero), as WireGuard's default.
 */
void noise_handshake_init(struct noise_handshake *hs, const struct noise_params *p, bool initiator,
			  const uint8_t s_priv[NOISE_PUBLIC_KEY_LEN], const uint8_t *rs, const uint8_t *psk);
/* Wipe every secret in the handshake. */
void noise_handshake_clear(struct noise_handshake *hs);

/* -> e, es, s, ss [, psk]  payload. out holds NOISE_MSG1_LEN(payload_len) bytes. */
int noise_write_message1(struct noise_handshake *hs, const uint8_t e_priv[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t *payload, size_t payload_len, uint8_t *out);
/* Responder. Learns hs->rs. When psk1 is in use, hs->psk must be set before the call. The callback,
 * when not NULL, runs right after rs is known and may set hs->psk and hs->precomputed_ss or refuse
 * (non-zero return, passed through). payload_out holds len - NOISE_MSG1_LEN(0) bytes. */
int noise_read_message1(struct noise_handshake *hs, const uint8_t *msg, size_t len,
			int (*on_remote_static)(struct noise_handshake *hs, void *ctx), void *ctx,
			uint8_t *payload_out);
/* <- e, ee, se [, psk]  payload. */
int noise_write_message2(struct noise_handshake *hs, const uint8_t e_priv[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t *payload, size_t payload_len, uint8_t *out);
int noise_read_message2(struct noise_handshake *hs, const uint8_t *msg, size_t len,
			uint8_t *payload_out);

/* Split(): the initiator's sending key is the first output. Wipes ck, k and ephemeral secrets; h
 * stays readable as the handshake hash (channel binding). */
void noise_split(struct noise_handshake *hs, uint8_t send[NOISE_SYMMETRIC_KEY_LEN],
		 uint8_t recv[NOISE_SYMMETRIC_KEY_LEN]);

#endif
