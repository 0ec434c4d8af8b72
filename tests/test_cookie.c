/* SPDX-License-Identifier: MIT */
/* mac1, mac2 and cookie replies between a checker (responder) and a maker (initiator). */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "cookie.h"
#include "harness.h"
#include "x25519.h"

#define S 1000000000ULL

static const uint8_t src_a[6] = { 198, 51, 100, 7, 0x12, 0x34 };
static const uint8_t src_b[6] = { 198, 51, 100, 8, 0x12, 0x34 };

int main(void)
{
	struct cookie_checker checker;
	struct cookie_maker maker, other;
	struct message_handshake_initiation msg;
	struct message_handshake_cookie reply, bad;
	uint8_t priv[32], pub[32], xpriv[32], xpub[32];
	uint64_t t = 1000 * S;

	CHECK(sodium_init() >= 0, "sodium");
	x25519_generate(priv, pub);
	x25519_generate(xpriv, xpub);
	cookie_checker_init(&checker, pub);
	cookie_maker_init(&maker, pub);
	cookie_maker_init(&other, xpub);
	randombytes_buf(&msg, sizeof(msg));

	/* mac1 */
	CHECK(cookie_consume_reply(&maker, &reply, t) == -EINVAL, "reply before any mac1 sent");
	cookie_add_macs(&maker, (uint8_t *)&msg, sizeof(msg), t);
	CHECK(sodium_is_zero(msg.macs.mac2, 16), "no cookie yet: mac2 zero");
	CHECK(cookie_validate(&checker, (uint8_t *)&msg, sizeof(msg), src_a, 6, false, t) ==
	      COOKIE_VALID_MAC_BUT_NO_COOKIE, "mac1 valid");
	CHECK(cookie_validate(&checker, (uint8_t *)&msg, sizeof(msg), src_a, 6, true, t) ==
	      COOKIE_VALID_MAC_BUT_NO_COOKIE, "mac1 valid, no mac2");
	cookie_add_macs(&other, (uint8_t *)&msg, sizeof(msg), t);
	CHECK(cookie_validate(&checker, (uint8_t *)&msg, sizeof(msg), src_a, 6, false, t) ==
	      COOKIE_INVALID_MAC, "mac1 for another key");
	cookie_add_macs(&maker, (uint8_t *)&msg, sizeof(msg), t);
	msg.sender_index ^= 1;
	CHECK(cookie_validate(&checker, (uint8_t *)&msg, sizeof(msg), src_a, 6, false, t) ==
	      COOKIE_INVALID_MAC, "body changed after mac1");
	msg.sender_index ^= 1;
	CHECK(cookie_validate(&checker, (uint8_t *)&msg, 31, src_a, 6, false, t) == COOKIE_INVALID_MAC,
	      "too short");

	/* Cookie reply: bound to the mac1 it answers. */
	cookie_create_reply(&checker, &reply, (uint8_t *)&msg, sizeof(msg), 77, src_a, 6, t);
	CHECK(reply.header.type == MESSAGE_HANDSHAKE_COOKIE && reply.receiver_index == 77, "reply header");
	bad = reply;
	bad.encrypted_cookie[0] ^= 1;
	CHECK(cookie_consume_reply(&maker, &bad, t) == -EBADMSG, "tampered reply");
	bad = reply;
	bad.nonce[0] ^= 1;
	CHECK(cookie_consume_reply(&maker, &bad, t) == -EBADMSG, "tampered nonce");
	CHECK(cookie_consume_reply(&other, &reply, t) != 0, "reply to someone else's mac1");
	CHECK(cookie_consume_reply(&maker, &reply, t) == 0, "reply consumed");
	CHECK(cookie_consume_reply(&maker, &reply, t) == -EINVAL, "reply consumed only once");

	/* mac2 now present and valid for this source only. */
	cookie_add_macs(&maker, (uint8_t *)&msg, sizeof(msg), t + 1 * S);
	CHECK(!sodium_is_zero(msg.macs.mac2, 16), "mac2 set");
	CHECK(cookie_validate(&checker, (uint8_t *)&msg, sizeof(msg), src_a, 6, true, t + 1 * S) ==
	      COOKIE_VALID_MAC_WITH_COOKIE, "mac2 valid");
	CHECK(cookie_validate(&checker, (uint8_t *)&msg, sizeof(msg), src_b, 6, true, t + 1 * S) ==
	      COOKIE_VALID_MAC_BUT_NO_COOKIE, "mac2 from another source");

	/* The maker stops using a cookie 115 s after receiving it (120 s life minus 5 s latency). */
	cookie_add_macs(&maker, (uint8_t *)&msg, sizeof(msg), t + 115 * S - 1);
	CHECK(!sodium_is_zero(msg.macs.mac2, 16), "cookie used at 115 s - 1 ns");
	CHECK(cookie_validate(&checker, (uint8_t *)&msg, sizeof(msg), src_a, 6, true, t + 115 * S - 1) ==
	      COOKIE_VALID_MAC_WITH_COOKIE, "still valid at the checker");
	cookie_add_macs(&maker, (uint8_t *)&msg, sizeof(msg), t + 115 * S);
	CHECK(sodium_is_zero(msg.macs.mac2, 16), "cookie dropped at 115 s");

	/* The checker's secret rotates at 120 s: an old cookie no longer validates. */
	cookie_create_reply(&checker, &reply, (uint8_t *)&msg, sizeof(msg), 77, src_a, 6, t + 116 * S);
	CHECK(cookie_consume_reply(&maker, &reply, t + 116 * S) == 0, "second cookie");
	cookie_add_macs(&maker, (uint8_t *)&msg, sizeof(msg), t + 117 * S);
	CHECK(cookie_validate(&checker, (uint8_t *)&msg, sizeof(msg), src_a, 6, true, t + 119 * S) ==
	      COOKIE_VALID_MAC_WITH_COOKIE, "valid before rotation");
	CHECK(cookie_validate(&checker, (uint8_t *)&msg, sizeof(msg), src_a, 6, true, t + 120 * S) ==
	      COOKIE_VALID_MAC_BUT_NO_COOKIE, "secret rotated at 120 s");

	cookie_checker_wipe(&checker);
	cookie_maker_wipe(&maker);
	CHECK(sodium_is_zero((uint8_t *)&maker, sizeof(maker)), "maker wiped");
	return test_done("cookie");
}
