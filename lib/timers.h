/* SPDX-License-Identifier: MIT */
/*
 * WireGuard's per-peer timers (Linux drivers/net/wireguard/timers.c) as a pure state machine, and
 * the "who rekeys when" rules of its send and receive paths as pure predicates.
 *
 * The control thread owns one struct timers per peer. It reports what happened (timers_<event>,
 * each with the monotonic time in nanoseconds it happened at), calls timers_expire() at or after
 * timers_next_deadline() and does what the returned TIMERS_* bits say. Nothing here sends,
 * allocates or reads a clock. Not thread safe: one owner.
 *
 * Events imply the more general ones, as Linux always reports them together:
 *   data_sent, handshake_initiated, handshake_response_sent  => any_authenticated_packet_sent
 *   data_received                                            => any_authenticated_packet_received
 *   any_authenticated_packet_sent, _received                 => any_authenticated_packet_traversal
 * A keepalive is an authenticated packet but not data: report it as any_authenticated_packet_sent
 * (or _received), never as data_sent, or it would arm the new-handshake timer.
 *
 * The timer table (what arms, disarms and fires what) is at the top of timers.c.
 */
#ifndef MG_TIMERS_H
#define MG_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

#include "messages.h"

#define TIMERS_NEVER UINT64_MAX /* a disarmed timer's deadline */

/* What timers_expire() says is due. Several bits may be set at once. */
enum timers_action {
	/* Retransmit: send an initiation, then timers_handshake_initiated(). */
	TIMERS_SEND_HANDSHAKE_INITIATION = 1u << 0,
	/* MAX_TIMER_HANDSHAKES + 2 initiations went unanswered: drop the staged packets. No more
	 * retries until something calls timers_handshake_requested() (new data to send). */
	TIMERS_GIVE_UP = 1u << 1,
	/* Data went out and nothing came back: start a new handshake, if
	 * timers_initiation_allowed(). The retry budget is already reset. */
	TIMERS_NEW_HANDSHAKE = 1u << 2,
	/* Data came in and nothing went back: send a keepalive (empty data message). */
	TIMERS_SEND_KEEPALIVE = 1u << 3,
	/* Nothing traversed for the persistent keepalive interval: send a keepalive. */
	TIMERS_SEND_PERSISTENT_KEEPALIVE = 1u << 4,
	/* No new session for REJECT_AFTER_TIME * 3: erase every keypair and the handshake state. */
	TIMERS_ZERO_KEYS = 1u << 5,
};

struct timers {
	/* Deadlines, TIMERS_NEVER when disarmed. */
	uint64_t retransmit_handshake_ns;
	uint64_t send_keepalive_ns;
	uint64_t new_handshake_ns;
	uint64_t zero_key_material_ns;
	uint64_t persistent_keepalive_ns;

	uint64_t last_handshake_sent_ns;  /* initiation or response; TIMERS_NEVER: none yet */
	uint64_t jitter_ns;               /* added to the next jittered deadline armed */
	uint16_t persistent_keepalive_s;  /* 0: off */
	uint8_t handshake_attempts;       /* retransmissions in this series (Linux's count) */
	bool need_another_keepalive;      /* data came in while the keepalive timer was pending */
};

/* Everything disarmed, no persistent keepalive, no handshake sent yet, no jitter. */
void timers_init(struct timers *t);

/* Events. */
void timers_data_sent(struct timers *t, uint64_t now);
void timers_data_received(struct timers *t, uint64_t now);
void timers_any_authenticated_packet_sent(struct timers *t, uint64_t now);
void timers_any_authenticated_packet_received(struct timers *t, uint64_t now);
void timers_any_authenticated_packet_traversal(struct timers *t, uint64_t now);
/* A handshake initiation was sent (first or retry). */
void timers_handshake_initiated(struct timers *t, uint64_t now);
/* A handshake response was sent: counts against the initiation rate, as in Linux. */
void timers_handshake_response_sent(struct timers *t, uint64_t now);
/* Something other than the retransmit timer wants a handshake: data waiting for a keypair, a
 * keypair due for rekeying, a keepalive with no keypair. Restarts the retry budget. */
void timers_handshake_requested(struct timers *t, uint64_t now);
/* A handshake response was received and processed, or a responder's keypair was confirmed by
 * the first data message under it. */
void timers_handshake_complete(struct timers *t, uint64_t now);
/* A keypair was derived: before sending a response, or after receiving one. */
void timers_session_derived(struct timers *t, uint64_t now);
/* Our static key changed (Linux's wg_noise_reset_last_sent_handshake): the last initiation or
 * response was made for another identity, so a new one may go at once. */
void timers_handshake_forget(struct timers *t);
/* The persistent keepalive interval was set (0: off). A change re-arms from now. */
void timers_set_persistent_keepalive(struct timers *t, uint16_t interval_s, uint64_t now);

/*
 * Fires the timers due at now (deadline <= now) and returns their TIMERS_* bits; 0 when nothing
 * is due. jitter_ms must be a fresh uniform draw from [0, REKEY_TIMEOUT_JITTER_MAX_MS] on every
 * call (larger values are clamped): it becomes the jitter of the next jittered deadline armed
 * (retransmit, new handshake), which keeps the randomness out of this file and tests exact.
 */
unsigned int timers_expire(struct timers *t, uint64_t now, uint32_t jitter_ms);

/* The earliest armed deadline, TIMERS_NEVER when none: sleep until then, then timers_expire(). */
uint64_t timers_next_deadline(const struct timers *t);

/* false when a handshake initiation or response was sent less than REKEY_TIMEOUT ago: Linux
 * sends at most one initiation per REKEY_TIMEOUT, retries included. */
bool timers_initiation_allowed(const struct timers *t, uint64_t now);

/*
 * Keypair rules, pure, safe to call from any thread. created_ns: when the keypair was derived.
 * is_initiator: we sent the initiation of the handshake that derived it. A now earlier than
 * created_ns (a stale timestamp) counts as age 0.
 */

/* Past its limits (age >= REJECT_AFTER_TIME, or counter >= REJECT_AFTER_MESSAGES where counter is
 * the nonce about to be used or just received): neither send nor accept with it. */
bool timers_keypair_rejected(uint64_t created_ns, uint64_t counter, uint64_t now);

/*
 * Data may be encrypted with this keypair now: it is not rejected, and the peer is known to have
 * it. The initiator knows once the response arrives; a responder's keypair is unconfirmed ("next"
 * in Linux) until the first data message under it arrives, and must not be used before.
 */
bool timers_keypair_can_send(uint64_t created_ns, uint64_t counter, bool is_initiator,
			     bool confirmed, uint64_t now);

/* After sending, counter being the messages sent with it so far (the next nonce): start a new
 * handshake when counter > REKEY_AFTER_MESSAGES, or, for the initiator only, the keypair is
 * REKEY_AFTER_TIME old. The responder does not rekey on age, so both sides do not race. */
bool timers_keypair_should_rekey_on_send(uint64_t created_ns, uint64_t counter, bool is_initiator,
					 uint64_t now);

/* After receiving data: the initiator starts a new handshake once its current keypair is
 * REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT (165 s) old, so a peer that only receives
 * still gets a new keypair before the old one is rejected. Linux asks this once per handshake. */
bool timers_keypair_should_rekey_on_receive(uint64_t created_ns, bool is_initiator, uint64_t now);

#endif
