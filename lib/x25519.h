/* SPDX-License-Identifier: MIT */
/* X25519 (RFC 7748) via libsodium. An all-zero shared secret is an error, as in Linux WireGuard. */
#ifndef MG_X25519_H
#define MG_X25519_H

#include <stdint.h>

#define X25519_KEY_SIZE 32

/* Clamp a private key in place (RFC 7748 5). */
void x25519_clamp(uint8_t k[X25519_KEY_SIZE]);
/* Random clamped private key and its public key. */
void x25519_generate(uint8_t priv[X25519_KEY_SIZE], uint8_t pub[X25519_KEY_SIZE]);
/* 0, or -EINVAL when priv is all zero. */
int x25519_public(uint8_t pub[X25519_KEY_SIZE], const uint8_t priv[X25519_KEY_SIZE]);
/* 0, or -EINVAL when the result is all zero (low-order point); out is then zeroed. */
int x25519_shared(uint8_t out[X25519_KEY_SIZE], const uint8_t priv[X25519_KEY_SIZE],
		  const uint8_t pub[X25519_KEY_SIZE]);

#endif
