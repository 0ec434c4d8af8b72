/* SPDX-License-Identifier: MIT */
/* X25519 via libsodium; see x25519.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <sodium.h>

#include "x25519.h"

static pthread_once_t x25519_sodium_once = PTHREAD_ONCE_INIT;

/* sodium_init picks the fastest scalar multiplication for this CPU; once is enough. */
static void x25519_sodium_init(void)
{
	if (sodium_init() < 0)
		abort();
}

static void x25519_ready(void)
{
	pthread_once(&x25519_sodium_once, x25519_sodium_init);
}

void x25519_clamp(uint8_t k[X25519_KEY_SIZE])
{
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
}

void x25519_generate(uint8_t priv[X25519_KEY_SIZE], uint8_t pub[X25519_KEY_SIZE])
{
	x25519_ready();
	randombytes_buf(priv, X25519_KEY_SIZE);
	x25519_clamp(priv);
	/* Cannot fail: a clamped key has bit 254 set, so it is never zero. */
	x25519_public(pub, priv);
}

int x25519_public(uint8_t pub[X25519_KEY_SIZE], const uint8_t priv[X25519_KEY_SIZE])
{
	x25519_ready();
	if (sodium_is_zero(priv, X25519_KEY_SIZE) ||
	    crypto_scalarmult_curve25519_base(pub, priv) != 0) {
		sodium_memzero(pub, X25519_KEY_SIZE);
		return -EINVAL;
	}
	return 0;
}

int x25519_shared(uint8_t out[X25519_KEY_SIZE], const uint8_t priv[X25519_KEY_SIZE],
		  const uint8_t pub[X25519_KEY_SIZE])
{
	x25519_ready();
	/*
	 * libsodium fails on an all-zero result and on known low-order points (possibly without
	 * writing out); the explicit zero check keeps the contract if that ever changes.
	 */
	if (crypto_scalarmult_curve25519(out, priv, pub) != 0 ||
	    sodium_is_zero(out, X25519_KEY_SIZE)) {
		sodium_memzero(out, X25519_KEY_SIZE);
		return -EINVAL;
	}
	return 0;
}
