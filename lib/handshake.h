/* SPDX-License-Identifier: MIT */
/*
 * WireGuard's handshake (Noise_IKpsk2, whitepaper section 5.4) on top of noise.c: building and
 * consuming initiation and response messages, the responder's replay and flood rules, and deriving
 * a session's transport keys. Pure: the caller passes ephemeral keys, timestamps, indices and time;
 * MACs and cookies are cookie.c's job and are not touched here.
 *
 * One struct handshake per peer; the control thread owns it. State machine (as Linux noise.c):
 *   ZEROED --create_initiation--> CREATED_INITIATION --consume_response--> CONSUMED_RESPONSE
 *   ZEROED --consume_initiation--> CONSUMED_INITIATION --create_response--> CREATED_RESPONSE
 *   CONSUMED_RESPONSE | CREATED_RESPONSE --derive_session--> ZEROED (keys handed out)
 * A new initiation (either direction) restarts from any state.
 */
#ifndef MG_HANDSHAKE_H
#define MG_HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "messages.h"
#include "noise.h"

enum handshake_state {
	HANDSHAKE_ZEROED,
	HANDSHAKE_CREATED_INITIATION,
	HANDSHAKE_CONSUMED_INITIATION,
	HANDSHAKE_CREATED_RESPONSE,
	HANDSHAKE_CONSUMED_RESPONSE,
};

/* Our side: the interface's static key pair. */
struct handshake_identity {
	uint8_t static_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t static_public[NOISE_PUBLIC_KEY_LEN];
	bool has_identity;
};

struct handshake {
	enum handshake_state state;
	struct noise_handshake noise;
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t precomputed_static_static[NOISE_PUBLIC_KEY_LEN]; /* DH(our static, remote static) */
	uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t latest_timestamp[NOISE_TIMESTAMP_LEN];          /* newest accepted from this peer */
	uint64_t last_initiation_consumption_ns;
	bool consumed_any_initiation;
	uint32_t local_index;   /* our index for this handshake (its messages' sender_index) */
	uint32_t remote_index;  /* the peer's */
};

/* The result of a completed handshake: what a keypair needs. */
struct handshake_session {
	uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN];
	uint32_t local_index;
	uint32_t remote_index;
	bool initiator;
};

/* Clamps and derives the public key; -EINVAL for an all-zero key (has_identity stays false). */
int handshake_identity_set(struct handshake_identity *id, const uint8_t priv[NOISE_PUBLIC_KEY_LEN]);

/* A new peer (psk may be NULL: all zero). */
void handshake_init(struct handshake *hs, const struct handshake_identity *id,
		    const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN], const uint8_t *psk);
/* Our static key changed: redo the precomputation and drop any handshake in progress. */
void handshake_set_identity(struct handshake *hs, const struct handshake_identity *id);
void handshake_set_psk(struct handshake *hs, const uint8_t *psk);
/* Forget any handshake in progress, wiping its secrets (keeps peer keys and replay state). */
void handshake_clear(struct handshake *hs);
/* Wipe everything. */
void handshake_destroy(struct handshake *hs);

/* Fills msg except the MACs. -EINVAL without identity or with a low-order peer key. */
int handshake_create_initiation(struct message_handshake_initiation *msg, struct handshake *hs,
				const struct handshake_identity *id, uint32_t local_index,
				const uint8_t e_priv[NOISE_PUBLIC_KEY_LEN],
				const uint8_t timestamp[NOISE_TIMESTAMP_LEN]);

/*
 * Responder: consume an initiation whose MACs were already checked. lookup maps the sender's static
 * key to its peer's handshake (NULL: unknown). On success *peer_out is in CONSUMED_INITIATION.
 * Errors (each one drop reason): -EINVAL malformed or no identity, -EBADMSG authentication failed,
 * -ENOKEY unknown peer, -ESTALE timestamp not newer than the last accepted (replay), -EBUSY more
 * than INITIATIONS_PER_SECOND from this peer (flood).
 */
int handshake_consume_initiation(const struct message_handshake_initiation *msg,
				 const struct handshake_identity *id,
				 struct handshake *(*lookup)(void *ctx, const uint8_t *remote_static),
				 void *ctx, uint64_t now_ns, struct handshake **peer_out);

/* Responder: requires CONSUMED_INITIATION. Fills msg except the MACs. */
int handshake_create_response(struct message_handshake_response *msg, struct handshake *hs,
			      uint32_t local_index, const uint8_t e_priv[NOISE_PUBLIC_KEY_LEN]);

/* Initiator: the caller found hs by msg->receiver_index; requires CREATED_INITIATION with that index.
 * -EINVAL wrong state/index, -EBADMSG authentication failed. */
int handshake_consume_response(const struct message_handshake_response *msg, struct handshake *hs);

/* Derive the session after CREATED_RESPONSE or CONSUMED_RESPONSE; the handshake returns to ZEROED. */
int handshake_derive_session(struct handshake *hs, struct handshake_session *out);

#endif
