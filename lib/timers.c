/* SPDX-License-Identifier: MIT */
/*
 * WireGuard's five per-peer timers, after Linux drivers/net/wireguard/timers.c. A timer is a
 * deadline (TIMERS_NEVER: disarmed). "Arm" sets it from the event's time; "arm if idle" leaves a
 * pending deadline alone; firing disarms it unless the table says it re-arms.
 *
 * retransmit_handshake: we sent an initiation and no response came.
 *   armed by    handshake_initiated: now + REKEY_TIMEOUT + jitter (a retry re-arms it)
 *   disarmed by handshake_complete
 *   fires       while handshake_attempts <= MAX_TIMER_HANDSHAKES: attempts++ and
 *               SEND_HANDSHAKE_INITIATION. Otherwise GIVE_UP: attempts = 0, the keepalive timer
 *               disarmed, zero_key_material armed if idle. So an unanswered series is
 *               MAX_TIMER_HANDSHAKES + 2 initiations, the REKEY_ATTEMPT_TIME budget.
 *   attempts = 0 on handshake_complete, handshake_requested, new_handshake firing, GIVE_UP.
 *
 * send_keepalive: data came in and we have sent nothing back.
 *   armed by    data_received: now + KEEPALIVE_TIMEOUT, if idle; if pending, need_another = true
 *   disarmed by any_authenticated_packet_sent (also clears need_another), GIVE_UP
 *   fires       SEND_KEEPALIVE; re-armed now + KEEPALIVE_TIMEOUT if need_another (then cleared)
 *
 * new_handshake: data went out and nothing, not even a keepalive, came back.
 *   armed by    data_sent: now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter, if idle
 *   disarmed by any_authenticated_packet_received
 *   fires       NEW_HANDSHAKE, attempts = 0 (a fresh request, not a retry)
 *
 * zero_key_material: no new session for a long time; old key material must not linger.
 *   armed by    session_derived: now + REJECT_AFTER_TIME * 3; GIVE_UP: the same, if idle
 *   fires       ZERO_KEYS
 *
 * persistent_keepalive: keep NAT and firewall state alive when nothing else does.
 *   armed by    any_authenticated_packet_traversal: now + interval, when the interval is set;
 *               set_persistent_keepalive: now + interval when it changes (0 disarms)
 *   fires       SEND_PERSISTENT_KEEPALIVE, re-armed now + interval
 *
 * Not a timer: last_handshake_sent_ns (handshake_initiated, handshake_response_sent) for the one
 * initiation per REKEY_TIMEOUT rate limit (timers_initiation_allowed).
 *
 * The same by event (each also does what the events it implies do, see timers.h):
 *   data_sent                           arm new_handshake if idle
 *   data_received                       arm send_keepalive if idle, else need_another
 *   any_authenticated_packet_sent       disarm send_keepalive
 *   any_authenticated_packet_received   disarm new_handshake
 *   any_authenticated_packet_traversal  push persistent_keepalive back to now + interval
 *   handshake_initiated                 arm retransmit_handshake, note a handshake sent
 *   handshake_response_sent             note a handshake sent
 *   handshake_requested                 attempts = 0
 *   handshake_complete                  disarm retransmit_handshake, attempts = 0
 *   session_derived                     arm zero_key_material
 *   set_persistent_keepalive            arm or disarm persistent_keepalive
 *   handshake_forget                    no handshake sent (the rate limit starts afresh)
 *
 * Events may be reported a little late and out of order (the control thread learns of packets a
 * tick after the workers saw them), so re-arming by traversal never moves a deadline earlier.
 */
#include <stdbool.h>
#include <stdint.h>

#include "messages.h"
#include "timers.h"

#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL
#define REKEY_TIMEOUT_NS (REKEY_TIMEOUT_S * NS_PER_S)
#define KEEPALIVE_TIMEOUT_NS (KEEPALIVE_TIMEOUT_S * NS_PER_S)
#define REKEY_AFTER_TIME_NS (REKEY_AFTER_TIME_S * NS_PER_S)
#define REJECT_AFTER_TIME_NS (REJECT_AFTER_TIME_S * NS_PER_S)
#define ZERO_KEYS_AFTER_NS (3 * REJECT_AFTER_TIME_NS)
/* The initiator's last chance to rekey on receive: a new session still fits in before the old
 * one is rejected, after a keepalive timeout and a handshake attempt. */
#define REKEY_ON_RECEIVE_NS (REJECT_AFTER_TIME_NS - KEEPALIVE_TIMEOUT_NS - REKEY_TIMEOUT_NS)

void timers_init(struct timers *t)
{
	*t = (struct timers){
		.retransmit_handshake_ns = TIMERS_NEVER,
		.send_keepalive_ns = TIMERS_NEVER,
		.new_handshake_ns = TIMERS_NEVER,
		.zero_key_material_ns = TIMERS_NEVER,
		.persistent_keepalive_ns = TIMERS_NEVER,
		.last_handshake_sent_ns = TIMERS_NEVER,
	};
}

void timers_any_authenticated_packet_traversal(struct timers *t, uint64_t now)
{
	uint64_t at;

	if (!t->persistent_keepalive_s)
		return;
	at = now + t->persistent_keepalive_s * NS_PER_S;
	if (t->persistent_keepalive_ns == TIMERS_NEVER || at > t->persistent_keepalive_ns)
		t->persistent_keepalive_ns = at;
}

void timers_any_authenticated_packet_sent(struct timers *t, uint64_t now)
{
	/* Whatever we sent tells the peer we are alive and got its data: no keepalive owed. */
	t->send_keepalive_ns = TIMERS_NEVER;
	t->need_another_keepalive = false;
	timers_any_authenticated_packet_traversal(t, now);
}

void timers_any_authenticated_packet_received(struct timers *t, uint64_t now)
{
	/* The peer is alive: the session works, no new handshake needed for lack of replies. */
	t->new_handshake_ns = TIMERS_NEVER;
	timers_any_authenticated_packet_traversal(t, now);
}

void timers_data_sent(struct timers *t, uint64_t now)
{
	timers_any_authenticated_packet_sent(t, now);
	/* Measured from the first unanswered packet, not the last, hence only if idle. */
	if (t->new_handshake_ns == TIMERS_NEVER)
		t->new_handshake_ns = now + KEEPALIVE_TIMEOUT_NS + REKEY_TIMEOUT_NS + t->jitter_ns;
}

void timers_data_received(struct timers *t, uint64_t now)
{
	timers_any_authenticated_packet_received(t, now);
	if (t->send_keepalive_ns == TIMERS_NEVER)
		t->send_keepalive_ns = now + KEEPALIVE_TIMEOUT_NS;
	else
		t->need_another_keepalive = true;
}

void timers_handshake_initiated(struct timers *t, uint64_t now)
{
	timers_any_authenticated_packet_sent(t, now);
	t->last_handshake_sent_ns = now;
	t->retransmit_handshake_ns = now + REKEY_TIMEOUT_NS + t->jitter_ns;
}

void timers_handshake_response_sent(struct timers *t, uint64_t now)
{
	/* Linux counts responses in the rate limit too: having just answered the peer's
	 * initiation, starting our own would only replace the session being confirmed. */
	timers_any_authenticated_packet_sent(t, now);
	t->last_handshake_sent_ns = now;
}

void timers_handshake_requested(struct timers *t, uint64_t now)
{
	(void)now;
	/* As Linux: a peer that keeps getting data to send keeps retrying, never gives up. */
	t->handshake_attempts = 0;
}

void timers_handshake_complete(struct timers *t, uint64_t now)
{
	(void)now;
	t->retransmit_handshake_ns = TIMERS_NEVER;
	t->handshake_attempts = 0;
}

void timers_handshake_forget(struct timers *t)
{
	t->last_handshake_sent_ns = TIMERS_NEVER;
}

void timers_session_derived(struct timers *t, uint64_t now)
{
	t->zero_key_material_ns = now + ZERO_KEYS_AFTER_NS;
}

void timers_set_persistent_keepalive(struct timers *t, uint16_t interval_s, uint64_t now)
{
	/* The same value again (a config re-applied) must not push the next keepalive back. */
	if (interval_s == t->persistent_keepalive_s)
		return;
	t->persistent_keepalive_s = interval_s;
	t->persistent_keepalive_ns = interval_s ? now + interval_s * NS_PER_S : TIMERS_NEVER;
}

static bool due(uint64_t deadline, uint64_t now)
{
	return deadline != TIMERS_NEVER && deadline <= now;
}

static unsigned int fire_retransmit(struct timers *t, uint64_t now)
{
	t->retransmit_handshake_ns = TIMERS_NEVER;
	if (t->handshake_attempts <= MAX_TIMER_HANDSHAKES) {
		t->handshake_attempts++;
		return TIMERS_SEND_HANDSHAKE_INITIATION;
	}
	/* The next series starts from a fresh request; resetting here too makes sure of it. */
	t->handshake_attempts = 0;
	t->send_keepalive_ns = TIMERS_NEVER;
	t->need_another_keepalive = false;
	/* A partial exchange may have left key material behind: have it erased in time. */
	if (t->zero_key_material_ns == TIMERS_NEVER)
		t->zero_key_material_ns = now + ZERO_KEYS_AFTER_NS;
	return TIMERS_GIVE_UP;
}

static unsigned int fire_keepalive(struct timers *t, uint64_t now)
{
	t->send_keepalive_ns = TIMERS_NEVER;
	if (t->need_another_keepalive) {
		t->need_another_keepalive = false;
		t->send_keepalive_ns = now + KEEPALIVE_TIMEOUT_NS;
	}
	return TIMERS_SEND_KEEPALIVE;
}

unsigned int timers_expire(struct timers *t, uint64_t now, uint32_t jitter_ms)
{
	unsigned int actions = 0;

	if (jitter_ms > REKEY_TIMEOUT_JITTER_MAX_MS)
		jitter_ms = REKEY_TIMEOUT_JITTER_MAX_MS;
	t->jitter_ns = jitter_ms * NS_PER_MS;

	if (due(t->retransmit_handshake_ns, now))
		actions |= fire_retransmit(t, now);
	if (due(t->send_keepalive_ns, now))
		actions |= fire_keepalive(t, now);
	if (due(t->new_handshake_ns, now)) {
		t->new_handshake_ns = TIMERS_NEVER;
		t->handshake_attempts = 0;
		actions |= TIMERS_NEW_HANDSHAKE;
	}
	if (due(t->zero_key_material_ns, now)) {
		t->zero_key_material_ns = TIMERS_NEVER;
		actions |= TIMERS_ZERO_KEYS;
	}
	if (due(t->persistent_keepalive_ns, now)) {
		/* Re-armed here, not only by the keepalive's traversal, so that a keepalive the
		 * caller could not send (no keypair yet) is asked for again. */
		t->persistent_keepalive_ns = now + t->persistent_keepalive_s * NS_PER_S;
		actions |= TIMERS_SEND_PERSISTENT_KEEPALIVE;
	}
	return actions;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t timers_next_deadline(const struct timers *t)
{
	uint64_t next = min_u64(t->retransmit_handshake_ns, t->send_keepalive_ns);

	next = min_u64(next, t->new_handshake_ns);
	next = min_u64(next, t->zero_key_material_ns);
	return min_u64(next, t->persistent_keepalive_ns);
}

/* Linux's wg_birthdate_has_expired: at least limit has passed since birth. */
static bool aged(uint64_t birth_ns, uint64_t limit_ns, uint64_t now)
{
	return now >= birth_ns && now - birth_ns >= limit_ns;
}

bool timers_initiation_allowed(const struct timers *t, uint64_t now)
{
	return t->last_handshake_sent_ns == TIMERS_NEVER ||
	       aged(t->last_handshake_sent_ns, REKEY_TIMEOUT_NS, now);
}

bool timers_keypair_rejected(uint64_t created_ns, uint64_t counter, uint64_t now)
{
	return counter >= REJECT_AFTER_MESSAGES || aged(created_ns, REJECT_AFTER_TIME_NS, now);
}

bool timers_keypair_can_send(uint64_t created_ns, uint64_t counter, bool is_initiator,
			     bool confirmed, uint64_t now)
{
	return (is_initiator || confirmed) && !timers_keypair_rejected(created_ns, counter, now);
}

bool timers_keypair_should_rekey_on_send(uint64_t created_ns, uint64_t counter, bool is_initiator,
					 uint64_t now)
{
	return counter > REKEY_AFTER_MESSAGES ||
	       (is_initiator && aged(created_ns, REKEY_AFTER_TIME_NS, now));
}

bool timers_keypair_should_rekey_on_receive(uint64_t created_ns, bool is_initiator, uint64_t now)
{
	return is_initiator && aged(created_ns, REKEY_ON_RECEIVE_NS, now);
}
