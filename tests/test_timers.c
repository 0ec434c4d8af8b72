/* SPDX-License-Identifier: MIT */
/*
 * The per-peer timers against a fake clock. Scenarios are tables of events and expectations; a
 * DUE step asserts the exact nanosecond an action becomes due: it is the next deadline, nothing at
 * all is due one nanosecond before, and exactly the listed actions are due at it. So every action
 * a scenario does not list is proven absent. Times are offsets from BASE, not from 0, so that no
 * code can get away with treating time 0 as special.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "harness.h"
#include "messages.h"
#include "timers.h"

#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL
#define S(x) ((uint64_t)(x) * NS_PER_S)
#define MS(x) ((uint64_t)(x) * NS_PER_MS)
#define BASE S(1000)

#define HS_INIT TIMERS_SEND_HANDSHAKE_INITIATION
#define GIVE_UP TIMERS_GIVE_UP
#define NEW_HS TIMERS_NEW_HANDSHAKE
#define KEEPALIVE TIMERS_SEND_KEEPALIVE
#define PERSISTENT TIMERS_SEND_PERSISTENT_KEEPALIVE
#define ZERO_KEYS TIMERS_ZERO_KEYS

_Static_assert(MAX_TIMER_HANDSHAKES == 18, "90 s of attempts at 5 s each");
_Static_assert(REJECT_AFTER_TIME_S - KEEPALIVE_TIMEOUT_S - REKEY_TIMEOUT_S == 165, "on receive");

enum op {
	END = 0,
	/* Events. */
	DATA_SENT, DATA_RECEIVED, AUTH_SENT, AUTH_RECEIVED, TRAVERSAL, INITIATED, RESPONSE_SENT,
	REQUESTED, COMPLETE, DERIVED,
	SET_PKA,  /* arg: persistent keepalive interval in seconds */
	/* Expectations. */
	DUE,      /* arg is due exactly at `at`: see the top of the file */
	LATE,     /* timers_expire at `at`, not a deadline, returns arg */
	IDLE,     /* no timer armed */
	ALLOWED,  /* timers_initiation_allowed at `at` is arg */
};

struct step {
	uint64_t at; /* offset from BASE */
	enum op op;
	unsigned int arg;
};

struct scenario {
	const char *name;
	uint32_t jitter_ms;
	struct step steps[20];
};

static const struct scenario scenarios[] = {
	{ "no reply: new handshake 15 s + jitter after the first unanswered data", 100, {
		{ 0, DATA_SENT, 0 }, { S(10), DATA_SENT, 0 },
		{ S(15) + MS(100), DUE, NEW_HS }, { S(15) + MS(100), INITIATED, 0 },
		{ S(20) + MS(200), DUE, HS_INIT }, { S(20) + MS(200), INITIATED, 0 },
		{ S(21), COMPLETE, 0 }, { S(21), IDLE, 0 } } },
	{ "a reply in time, even a keepalive: no new handshake", 0, {
		{ 0, DATA_SENT, 0 }, { S(15) - 1, AUTH_RECEIVED, 0 }, { S(15) - 1, IDLE, 0 },
		{ S(100), LATE, 0 } } },
	{ "keepalive 10 s after data received with nothing sent back", 0, {
		{ 0, DATA_RECEIVED, 0 }, { S(10), DUE, KEEPALIVE },
		{ S(10), AUTH_SENT, 0 }, { S(10), IDLE, 0 } } },
	{ "no keepalive when data was sent back meanwhile", 50, {
		{ 0, DATA_RECEIVED, 0 }, { S(3), DATA_SENT, 0 },
		{ S(18) + MS(50), DUE, NEW_HS } } },
	{ "a handshake message sent back also owes no keepalive", 0, {
		{ 0, DATA_RECEIVED, 0 }, { S(3), RESPONSE_SENT, 0 }, { S(3), IDLE, 0 } } },
	{ "data received while a keepalive is pending: another one 10 s after it", 0, {
		{ 0, DATA_RECEIVED, 0 }, { S(4), DATA_RECEIVED, 0 },
		{ S(10), DUE, KEEPALIVE }, { S(20), DUE, KEEPALIVE }, { S(20), IDLE, 0 } } },
	{ "... unless the first keepalive was reported sent", 0, {
		{ 0, DATA_RECEIVED, 0 }, { S(4), DATA_RECEIVED, 0 },
		{ S(10), DUE, KEEPALIVE }, { S(10), AUTH_SENT, 0 }, { S(10), IDLE, 0 } } },
	{ "persistent keepalive every 25 s, pushed back by any traffic", 0, {
		{ 0, SET_PKA, 25 }, { S(25), DUE, PERSISTENT }, { S(25), AUTH_SENT, 0 },
		{ S(40), AUTH_RECEIVED, 0 }, { S(65), DUE, PERSISTENT }, { S(65), AUTH_SENT, 0 },
		{ S(70), TRAVERSAL, 0 }, { S(95), DUE, PERSISTENT },
		{ S(95) + 1, INITIATED, 0 }, { S(95) + 1, COMPLETE, 0 },
		{ S(120) + 1, DUE, PERSISTENT }, { S(121), SET_PKA, 0 }, { S(121), IDLE, 0 } } },
	{ "persistent keepalive asked again when none could be sent", 0, {
		{ 0, SET_PKA, 10 }, { S(10), DUE, PERSISTENT }, { S(20), DUE, PERSISTENT },
		{ S(30), DUE, PERSISTENT } } },
	{ "persistent keepalive: the same interval keeps the deadline, a new one restarts it", 0, {
		{ 0, SET_PKA, 25 }, { S(20), SET_PKA, 25 }, { S(25), DUE, PERSISTENT },
		{ S(30), SET_PKA, 10 }, { S(40), DUE, PERSISTENT } } },
	{ "persistent keepalive off: traffic arms nothing", 0, {
		{ 0, TRAVERSAL, 0 }, { 0, AUTH_SENT, 0 }, { 0, AUTH_RECEIVED, 0 },
		{ 0, IDLE, 0 } } },
	{ "traversal reported out of order never brings the keepalive forward", 0, {
		{ 0, SET_PKA, 10 }, { MS(5), AUTH_RECEIVED, 0 }, { MS(2), TRAVERSAL, 0 },
		{ S(10) + MS(5), DUE, PERSISTENT } } },
	{ "expiry late by a tick re-arms from when it ran", 0, {
		{ 0, SET_PKA, 10 }, { S(10) + MS(7), LATE, PERSISTENT },
		{ S(20) + MS(7), DUE, PERSISTENT } } },
	{ "zero keys 540 s after the last session derived", 0, {
		{ 0, DERIVED, 0 }, { S(100), DERIVED, 0 }, { S(640), DUE, ZERO_KEYS },
		{ S(640), IDLE, 0 } } },
	{ "actions due at the same time come in one call", 0, {
		{ 0, SET_PKA, 10 }, { 0, DATA_RECEIVED, 0 },
		{ S(10), DUE, KEEPALIVE | PERSISTENT } } },
	{ "earliest deadline across every timer", 250, {
		{ 0, DERIVED, 0 }, { 0, SET_PKA, 25 }, { S(1), DATA_SENT, 0 },
		{ S(2), INITIATED, 0 }, { S(7) + MS(250), DUE, HS_INIT }, { S(8), COMPLETE, 0 },
		{ S(16) + MS(250), DUE, NEW_HS }, { S(27), DUE, PERSISTENT },
		{ S(52), DUE, PERSISTENT }, { S(60), SET_PKA, 0 }, { S(540), DUE, ZERO_KEYS },
		{ S(540), IDLE, 0 } } },
	{ "responder: keepalive after the confirming data, zero keys later", 0, {
		{ 0, AUTH_RECEIVED, 0 }, { 0, DERIVED, 0 }, { 0, RESPONSE_SENT, 0 },
		{ S(1), DATA_RECEIVED, 0 }, { S(1), COMPLETE, 0 },
		{ S(11), DUE, KEEPALIVE }, { S(540), DUE, ZERO_KEYS } } },
	{ "one initiation per REKEY_TIMEOUT, a response counting as one", 0, {
		{ 0, ALLOWED, 1 }, { S(100), INITIATED, 0 },
		{ S(105) - 1, ALLOWED, 0 }, { S(105), ALLOWED, 1 },
		{ S(200), RESPONSE_SENT, 0 }, { S(205) - 1, ALLOWED, 0 }, { S(205), ALLOWED, 1 },
		{ S(300), DATA_SENT, 0 }, { S(300), REQUESTED, 0 }, { S(300), ALLOWED, 1 } } },
};

static double secs(uint64_t at)
{
	return at == TIMERS_NEVER ? -1.0 : (double)(at - BASE) / 1e9;
}

static void event(struct timers *t, const struct step *st, uint64_t at)
{
	switch (st->op) {
	case DATA_SENT: timers_data_sent(t, at); break;
	case DATA_RECEIVED: timers_data_received(t, at); break;
	case AUTH_SENT: timers_any_authenticated_packet_sent(t, at); break;
	case AUTH_RECEIVED: timers_any_authenticated_packet_received(t, at); break;
	case TRAVERSAL: timers_any_authenticated_packet_traversal(t, at); break;
	case INITIATED: timers_handshake_initiated(t, at); break;
	case RESPONSE_SENT: timers_handshake_response_sent(t, at); break;
	case REQUESTED: timers_handshake_requested(t, at); break;
	case COMPLETE: timers_handshake_complete(t, at); break;
	case DERIVED: timers_session_derived(t, at); break;
	case SET_PKA: timers_set_persistent_keepalive(t, (uint16_t)st->arg, at); break;
	default: break;
	}
}

/* Exactly `want` due at `at` and not a nanosecond before, `at` being the next deadline. */
static unsigned int check_due(struct timers *t, uint64_t at, unsigned int want, uint32_t jitter_ms,
			      const char *what)
{
	struct timers probe = *t;
	uint64_t next = timers_next_deadline(t);
	unsigned int early = timers_expire(&probe, at - 1, jitter_ms);
	unsigned int got = timers_expire(t, at, jitter_ms);

	CHECK(next == at, "%s: next deadline %.9f s, want %.9f s", what, secs(next), secs(at));
	CHECK(early == 0, "%s: 0x%x due already at %.9f s", what, early, secs(at - 1));
	CHECK(got == want, "%s: at %.9f s 0x%x due, want 0x%x", what, secs(at), got, want);
	return got;
}

static void run_scenario(const struct scenario *sc)
{
	struct timers t;

	timers_init(&t);
	timers_expire(&t, BASE, sc->jitter_ms); /* hands over the jitter for the first arming */
	for (const struct step *st = sc->steps; st->op != END; st++) {
		uint64_t at = BASE + st->at;
		char what[160];

		snprintf(what, sizeof(what), "%s, step %d", sc->name, (int)(st - sc->steps));
		switch (st->op) {
		case DUE:
			check_due(&t, at, st->arg, sc->jitter_ms, what);
			break;
		case LATE: {
			unsigned int got = timers_expire(&t, at, sc->jitter_ms);

			CHECK(got == st->arg, "%s: 0x%x due, want 0x%x", what, got, st->arg);
			break;
		}
		case IDLE:
			CHECK(timers_next_deadline(&t) == TIMERS_NEVER, "%s: armed for %.9f s",
			      what, secs(timers_next_deadline(&t)));
			break;
		case ALLOWED:
			CHECK(timers_initiation_allowed(&t, at) == (bool)st->arg,
			      "%s: allowed is not %u", what, st->arg);
			break;
		default:
			event(&t, st, at);
		}
	}
}

/*
 * The control thread's side of a retransmission series, from an initiation sent at *now: every
 * SEND_HANDSHAKE_INITIATION is sent at once (and, with requests, new data keeps asking for a
 * handshake). Checks each deadline to the nanosecond. Returns the initiations sent, the first
 * included; *last is what the final expiry returned, *now its time.
 */
static unsigned int retry_series(struct timers *t, uint64_t *now, uint32_t jitter_ms, bool requests,
				 unsigned int max_fires, unsigned int *last)
{
	unsigned int sent = 1, due = 0;

	for (unsigned int fire = 0; fire < max_fires; fire++) {
		uint64_t at = *now + S(REKEY_TIMEOUT_S) + MS(jitter_ms);

		due = check_due(t, at, HS_INIT, jitter_ms, "retry");
		*now = at;
		if (due != HS_INIT)
			break;
		if (requests)
			timers_handshake_requested(t, at);
		timers_handshake_initiated(t, at);
		sent++;
	}
	*last = due;
	return sent;
}

static void test_give_up(void)
{
	const uint32_t jitter = 200;
	struct timers t;
	uint64_t now = BASE, give_up_at;
	unsigned int sent, last;

	timers_init(&t);
	timers_expire(&t, now, jitter);
	timers_handshake_requested(&t, now);
	timers_handshake_initiated(&t, now);
	sent = retry_series(&t, &now, jitter, false, MAX_TIMER_HANDSHAKES + 1, &last);
	CHECK(sent == MAX_TIMER_HANDSHAKES + 2, "%u initiations in a series", sent);
	/* The series' last initiation went out at 19 * 5.2 s; the next expiry gives up. */
	give_up_at = now + S(REKEY_TIMEOUT_S) + MS(jitter);
	CHECK(give_up_at == BASE + 20 * (S(REKEY_TIMEOUT_S) + MS(jitter)), "give up at %.9f s",
	      secs(give_up_at));
	check_due(&t, give_up_at, GIVE_UP, jitter, "give up");
	/* Left behind: only the timer erasing what a partial exchange may have derived. */
	check_due(&t, give_up_at + S(3 * REJECT_AFTER_TIME_S), ZERO_KEYS, jitter, "zero keys");
	CHECK(timers_next_deadline(&t) == TIMERS_NEVER, "armed after zeroing");

	/* New data to send starts a whole new series. */
	now = give_up_at + S(600);
	timers_handshake_requested(&t, now);
	timers_handshake_initiated(&t, now);
	sent = retry_series(&t, &now, jitter, false, MAX_TIMER_HANDSHAKES + 1, &last);
	CHECK(sent == MAX_TIMER_HANDSHAKES + 2, "%u initiations in the second series", sent);
	check_due(&t, now + S(REKEY_TIMEOUT_S) + MS(jitter), GIVE_UP, jitter, "second give up");
}

static void test_give_up_keeps_zero_keys(void)
{
	struct timers t;
	uint64_t now = BASE;
	unsigned int last;

	timers_init(&t);
	timers_expire(&t, now, 0);
	timers_session_derived(&t, now);
	timers_handshake_initiated(&t, now);
	retry_series(&t, &now, 0, false, MAX_TIMER_HANDSHAKES + 1, &last);
	/* Without jitter: initiations at 0, 5, ..., 95 s, giving up at 100 s. */
	CHECK(now + S(REKEY_TIMEOUT_S) == BASE + S(100), "give up at %.9f s",
	      secs(now + S(REKEY_TIMEOUT_S)));
	check_due(&t, BASE + S(100), GIVE_UP, 0, "give up, session pending");
	check_due(&t, BASE + S(3 * REJECT_AFTER_TIME_S), ZERO_KEYS, 0, "zero keys not pushed back");
}

static void test_retry_budget_resets(void)
{
	struct timers t;
	uint64_t now = BASE;
	unsigned int sent, last;

	/* Data keeps asking for a handshake: as Linux, the series never gives up. */
	timers_init(&t);
	timers_expire(&t, now, 33);
	timers_handshake_initiated(&t, now);
	sent = retry_series(&t, &now, 33, true, 3 * MAX_TIMER_HANDSHAKES, &last);
	CHECK(sent == 3 * MAX_TIMER_HANDSHAKES + 1 && last == HS_INIT, "%u sent, then 0x%x", sent,
	      last);

	/* A completed handshake disarms the retry and gives the next series its full budget. */
	timers_handshake_complete(&t, now);
	CHECK(timers_next_deadline(&t) == TIMERS_NEVER, "armed after completion");
	timers_handshake_initiated(&t, now);
	retry_series(&t, &now, 33, false, 5, &last);
	timers_handshake_complete(&t, now);
	timers_handshake_initiated(&t, now);
	sent = retry_series(&t, &now, 33, false, MAX_TIMER_HANDSHAKES + 1, &last);
	CHECK(sent == MAX_TIMER_HANDSHAKES + 2, "%u initiations after a completion", sent);

	/* NEW_HANDSHAKE is a fresh request too: 3 initiations before it, a whole series after it
	 * (without the reset, the series would give up 3 initiations early). */
	timers_init(&t);
	now = BASE;
	timers_expire(&t, now, 0);
	timers_data_sent(&t, now);
	timers_handshake_initiated(&t, now);
	sent = retry_series(&t, &now, 0, false, 2, &last);
	check_due(&t, BASE + S(15), NEW_HS | HS_INIT, 0, "new handshake with a retry");
	timers_handshake_initiated(&t, now = BASE + S(15));
	sent += retry_series(&t, &now, 0, false, MAX_TIMER_HANDSHAKES + 1, &last);
	CHECK(sent == 3 + MAX_TIMER_HANDSHAKES + 2, "%u initiations around a new handshake", sent);
	check_due(&t, now + S(REKEY_TIMEOUT_S), GIVE_UP, 0, "give up after a new handshake");
}

static void test_jitter(void)
{
	struct timers t;

	/* Each arming takes the jitter of the latest expiry; too large a draw is clamped. */
	timers_init(&t);
	timers_expire(&t, BASE, 300);
	timers_handshake_initiated(&t, BASE);
	CHECK(t.retransmit_handshake_ns == BASE + S(5) + MS(300), "retransmit at %.9f s",
	      secs(t.retransmit_handshake_ns));
	timers_expire(&t, BASE + S(1), 10);
	timers_data_sent(&t, BASE + S(1));
	CHECK(t.new_handshake_ns == BASE + S(16) + MS(10), "new handshake at %.9f s",
	      secs(t.new_handshake_ns));
	timers_expire(&t, BASE + S(2), 5000);
	timers_handshake_initiated(&t, BASE + S(2));
	CHECK(t.retransmit_handshake_ns == BASE + S(7) + MS(REKEY_TIMEOUT_JITTER_MAX_MS),
	      "clamped: %.9f s", secs(t.retransmit_handshake_ns));
	CHECK(timers_next_deadline(&t) == t.retransmit_handshake_ns, "earliest");

	/* A fresh peer at time 0 may initiate at once. */
	timers_init(&t);
	CHECK(timers_initiation_allowed(&t, 0), "first initiation at time 0");
	CHECK(timers_expire(&t, 0, 0) == 0, "due at init");
	CHECK(timers_next_deadline(&t) == TIMERS_NEVER, "armed at init");

	/* A key change forgets the last handshake sent (Linux resets last_sent_handshake): the rate
	 * limit that held an initiation back lets it go, and nothing else moves. */
	timers_handshake_initiated(&t, BASE);
	CHECK(!timers_initiation_allowed(&t, BASE + S(1)), "rate limited 1 s after an initiation");
	uint64_t retransmit = t.retransmit_handshake_ns;
	timers_handshake_forget(&t);
	CHECK(timers_initiation_allowed(&t, BASE + S(1)), "allowed at once after handshake_forget");
	CHECK(t.retransmit_handshake_ns == retransmit, "the retransmit timer stays armed");
}

struct keypair_case {
	const char *name;
	uint64_t age;
	uint64_t counter;
	bool initiator, confirmed;
	bool rekey_send, rekey_recv, rejected, can_send;
};

#define Y true
#define N false
#define M60 REKEY_AFTER_MESSAGES
#define MAXC REJECT_AFTER_MESSAGES

/* Ages and counters at the edges: one nanosecond or one message either side. */
static const struct keypair_case keypair_cases[] = {
	/* name                        age         counter   init conf send recv rej can */
	{ "fresh, initiator",          0,          0,        Y,   N,   N,   N,   N,  Y },
	{ "fresh, responder",          0,          0,        N,   N,   N,   N,   N,  N },
	{ "fresh, responder confirmed", 0,         0,        N,   Y,   N,   N,   N,  Y },
	{ "initiator, 120 s - 1 ns",   S(120) - 1, 0,        Y,   Y,   N,   N,   N,  Y },
	{ "initiator, 120 s",          S(120),     0,        Y,   Y,   Y,   N,   N,  Y },
	{ "responder, 120 s",          S(120),     0,        N,   Y,   N,   N,   N,  Y },
	{ "initiator, 165 s - 1 ns",   S(165) - 1, 0,        Y,   Y,   Y,   N,   N,  Y },
	{ "initiator, 165 s",          S(165),     0,        Y,   Y,   Y,   Y,   N,  Y },
	{ "responder, 170 s",          S(170),     0,        N,   Y,   N,   N,   N,  Y },
	{ "responder, 180 s - 1 ns",   S(180) - 1, 0,        N,   Y,   N,   N,   N,  Y },
	{ "initiator, 180 s",          S(180),     0,        Y,   Y,   Y,   Y,   Y,  N },
	{ "responder, 180 s",          S(180),     0,        N,   Y,   N,   N,   Y,  N },
	{ "responder, 2^60 sent",      0,          M60,      N,   Y,   N,   N,   N,  Y },
	{ "responder, 2^60 + 1 sent",  0,          M60 + 1,  N,   Y,   Y,   N,   N,  Y },
	{ "initiator, 2^60 + 1 sent",  0,          M60 + 1,  Y,   Y,   Y,   N,   N,  Y },
	{ "last nonce allowed",        0,          MAXC - 1, N,   Y,   Y,   N,   N,  Y },
	{ "first nonce rejected",      0,          MAXC,     N,   Y,   Y,   N,   Y,  N },
	{ "counter at its maximum",    0,          UINT64_MAX, Y, Y,   Y,   N,   Y,  N },
};

static void test_keypair_rules(void)
{
	const uint64_t created = BASE;

	for (size_t i = 0; i < sizeof(keypair_cases) / sizeof(keypair_cases[0]); i++) {
		const struct keypair_case *c = &keypair_cases[i];
		uint64_t now = created + c->age;

		bool init = c->initiator;
		bool send = timers_keypair_should_rekey_on_send(created, c->counter, init, now);
		bool recv = timers_keypair_should_rekey_on_receive(created, init, now);
		bool rej = timers_keypair_rejected(created, c->counter, now);
		bool can = timers_keypair_can_send(created, c->counter, init, c->confirmed, now);

		CHECK(send == c->rekey_send, "%s: rekey on send", c->name);
		CHECK(recv == c->rekey_recv, "%s: rekey on receive", c->name);
		CHECK(rej == c->rejected, "%s: rejected", c->name);
		CHECK(can == c->can_send, "%s: can send", c->name);
	}
	/* A timestamp from before the keypair (stale, from another core) is age 0, not 2^64 ns. */
	CHECK(!timers_keypair_rejected(created, 0, created - 1), "stale now: rejected");
	CHECK(!timers_keypair_should_rekey_on_send(created, 0, true, created - 1), "stale: send");
	CHECK(!timers_keypair_should_rekey_on_receive(created, true, created - 1), "stale: recv");
}

int main(void)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		run_scenario(&scenarios[i]);
	test_give_up();
	test_give_up_keeps_zero_keys();
	test_retry_budget_resets();
	test_jitter();
	test_keypair_rules();
	return test_done("timers");
}
