/* SPDX-License-Identifier: MIT */
/*
 * The start-up self-check: published known answers for each primitive (embedded, so it needs no
 * files), then a full WireGuard handshake between two in-memory identities with cookies, and a
 * data packet sealed and opened through every burst AEAD backend this CPU supports, each checked
 * against the others. The full third-party vector suites run in tests/.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "aead_burst.h"
#include "blake2s.h"
#include "cookie.h"
#include "handshake.h"
#include "kdf.h"
#include "selftest.h"
#include "tai64n.h"
#include "x25519.h"

static int failures;

static void report(FILE *out, bool ok, const char *what)
{
	fprintf(out, "  %-4s %s\n", ok ? "ok" : "FAIL", what);
	failures += !ok;
}

static void unhex(uint8_t *out, const char *hex)
{
	for (size_t i = 0; hex[2 * i]; i++) {
		unsigned int v;

		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static void known_answers(FILE *out)
{
	/* RFC 7693 appendix B */
	static const char abc_hash[] = "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982";
	/* RFC 7748 section 6.1 */
	static const char alice[] = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
	static const char bob_pub[] = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
	static const char shared[] = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
	/* RFC 8439 section 2.8.2 */
	static const char key[] = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
	static const char nonce[] = "070000004041424344454647";
	static const char aad[] = "50515253c0c1c2c3c4c5c6c7";
	static const char msg[] = "Ladies and Gentlemen of the class of '99: If I could offer you only one "
				  "tip for the future, sunscreen would be it.";
	static const char ct_head[] = "d31a8d34648e60db7b86afbc53ef7ec2";
	static const char tag[] = "1ae10b594f09e26a7e902ecbd0600691";
	uint8_t a[32], b[32], c[32], k[32], n[12], ad[12], ct[sizeof(msg) - 1 + 16], pt[sizeof(msg)];

	blake2s(a, 32, NULL, 0, (const uint8_t *)"abc", 3);
	unhex(b, abc_hash);
	report(out, memcmp(a, b, 32) == 0, "BLAKE2s-256 (RFC 7693 appendix B)");

	unhex(a, alice);
	unhex(b, bob_pub);
	unhex(c, shared);
	report(out, x25519_shared(k, a, b) == 0 && memcmp(k, c, 32) == 0, "X25519 (RFC 7748 6.1)");
	memset(b, 0, 32);
	report(out, x25519_shared(k, a, b) != 0, "X25519 all-zero shared secret refused");

	unhex(k, key);
	unhex(n, nonce);
	unhex(ad, aad);
	aead_seal_ietf(ct, (const uint8_t *)msg, sizeof(msg) - 1, ad, 12, n, k);
	unhex(a, ct_head);
	unhex(b, tag);
	report(out, memcmp(ct, a, 16) == 0 && memcmp(ct + sizeof(msg) - 1, b, 16) == 0 &&
	       aead_open_ietf(pt, ct, sizeof(ct), ad, 12, n, k) == 0 &&
	       memcmp(pt, msg, sizeof(msg) - 1) == 0, "ChaCha20-Poly1305 (RFC 8439 2.8.2)");
	ct[0] ^= 1;
	report(out, aead_open_ietf(pt, ct, sizeof(ct), ad, 12, n, k) != 0, "ChaCha20-Poly1305 forgery refused");
}

struct node {
	struct handshake_identity id;
	struct handshake hs;
	struct cookie_checker checker;
	struct cookie_maker maker;
};

static struct handshake *lookup(void *ctx, const uint8_t *remote_static)
{
	struct node *n = ctx;

	return memcmp(remote_static, n->hs.remote_static, 32) == 0 ? &n->hs : NULL;
}

static void setup_pair(struct node *ini, struct node *resp, const uint8_t psk[32])
{
	uint8_t priv[32], pub[32];

	x25519_generate(priv, pub);
	handshake_identity_set(&ini->id, priv);
	x25519_generate(priv, pub);
	handshake_identity_set(&resp->id, priv);
	sodium_memzero(priv, sizeof(priv));
	handshake_init(&ini->hs, &ini->id, resp->id.static_public, psk);
	handshake_init(&resp->hs, &resp->id, ini->id.static_public, psk);
	cookie_checker_init(&resp->checker, resp->id.static_public);
	cookie_maker_init(&ini->maker, resp->id.static_public);
	cookie_checker_init(&ini->checker, ini->id.static_public);
	cookie_maker_init(&resp->maker, ini->id.static_public);
}

/* Initiation and response with MACs, both sides derive; returns whether the keys agree. */
static bool handshake_pair(FILE *out, struct handshake_session *si, struct handshake_session *sr)
{
	static struct node ini, resp;
	struct message_handshake_initiation init;
	struct message_handshake_response response;
	struct handshake *peer;
	uint8_t psk[32], e[32], epub[32], ts[12];
	bool ok;

	randombytes_buf(psk, sizeof(psk));
	setup_pair(&ini, &resp, psk);
	x25519_generate(e, epub);
	tai64n_now(ts);
	ok = handshake_create_initiation(&init, &ini.hs, &ini.id, 1, e, ts) == 0;
	cookie_add_macs(&ini.maker, (uint8_t *)&init, sizeof(init), 0);
	ok = ok && cookie_validate(&resp.checker, (uint8_t *)&init, sizeof(init), NULL, 0, false, 0) ==
		   COOKIE_VALID_MAC_BUT_NO_COOKIE;
	ok = ok && handshake_consume_initiation(&init, &resp.id, lookup, &resp, 0, &peer) == 0;
	report(out, ok, "WireGuard initiation: created, mac1 verified, consumed");
	x25519_generate(e, epub);
	ok = ok && handshake_create_response(&response, &resp.hs, 2, e) == 0;
	cookie_add_macs(&resp.maker, (uint8_t *)&response, sizeof(response), 0);
	ok = ok && handshake_consume_response(&response, &ini.hs) == 0;
	ok = ok && handshake_derive_session(&ini.hs, si) == 0 && handshake_derive_session(&resp.hs, sr) == 0;
	ok = ok && memcmp(si->send_key, sr->recv_key, 32) == 0 && memcmp(si->recv_key, sr->send_key, 32) == 0;
	report(out, ok, "WireGuard response (with pre-shared key): consumed, session keys agree");
	handshake_destroy(&ini.hs);
	handshake_destroy(&resp.hs);
	sodium_memzero(e, sizeof(e));
	return ok;
}

/* A 1420-byte inner packet through each supported backend; all must agree and open. */
static void bursts(FILE *out, const struct handshake_session *si, const struct handshake_session *sr)
{
	static uint8_t plain[1424], sealed[AEAD_BACKEND_COUNT][1424], opened[1424];
	uint8_t tags[AEAD_BACKEND_COUNT][16];
	char line[128];

	randombytes_buf(plain, sizeof(plain));
	for (int be = AEAD_BACKEND_AUTO + 1; be < AEAD_BACKEND_COUNT; be++) {
		struct aead_burst ab;
		struct aead_burst_op op = { .key = si->send_key, .counter = 42, .src = plain,
					    .dst = sealed[be], .tag = tags[be], .len = sizeof(plain) };
		bool ok;

		if (!aead_burst_backend_supported(be) || aead_burst_init(&ab, be) != 0)
			continue;
		aead_burst_seal(&ab, &op, 1);
		ok = memcmp(sealed[be], sealed[AEAD_BACKEND_AUTO + 1], sizeof(plain)) == 0 &&
		     memcmp(tags[be], tags[AEAD_BACKEND_AUTO + 1], 16) == 0;
		op = (struct aead_burst_op){ .key = sr->recv_key, .counter = 42, .src = sealed[be],
					     .dst = opened, .tag = tags[be], .len = sizeof(plain) };
		ok = ok && aead_burst_open(&ab, &op, 1) == 1 && memcmp(opened, plain, sizeof(plain)) == 0;
		tags[be][0] ^= 1;
		ok = ok && aead_burst_open(&ab, &op, 1) == 0 && !op.ok;
		tags[be][0] ^= 1; /* sodium's tag is the reference for the backends after it */
		snprintf(line, sizeof(line), "data packet 1424 B through burst backend %s: sealed, opened, forgery refused",
			 aead_burst_backend_name(be));
		report(out, ok, line);
		aead_burst_fini(&ab);
	}
}

int selftest_run(FILE *out)
{
	struct handshake_session si, sr;

	failures = 0;
	if (sodium_init() < 0) {
		fprintf(out, "  FAIL libsodium initialisation\n");
		return 1;
	}
	known_answers(out);
	if (handshake_pair(out, &si, &sr))
		bursts(out, &si, &sr);
	sodium_memzero(&si, sizeof(si));
	sodium_memzero(&sr, sizeof(sr));
	return failures;
}
