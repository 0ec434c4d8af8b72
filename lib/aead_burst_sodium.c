/* SPDX-License-Identifier: MIT */
/*
 * Burst AEAD backend on libsodium: one packet at a time. The portable reference the other backends
 * are tested against, and the fallback when no faster one runs on this CPU. It keeps no state, so its
 * seal/open may also be called with another backend's context (the ipsec-mb backend does, for the
 * packets the library refuses).
 */
#include <endian.h>
#include <string.h>

#include <sodium.h>

#include "aead_burst.h"

/* WireGuard's nonce: 32 zero bits, then the counter as little-endian 64 bits. */
static void sodium_nonce(uint8_t nonce[AEAD_NONCE_SIZE], uint64_t counter)
{
	uint64_t le = htole64(counter);

	memset(nonce, 0, AEAD_NONCE_SIZE - sizeof(le));
	memcpy(nonce + AEAD_NONCE_SIZE - sizeof(le), &le, sizeof(le));
}

static bool sodium_supported(void)
{
	return true;
}

static int sodium_init_ctx(struct aead_burst *ab)
{
	ab->state = NULL;
	return 0;
}

static void sodium_fini(struct aead_burst *ab)
{
	ab->state = NULL;
}

static void sodium_seal(struct aead_burst *ab, struct aead_burst_op *ops, unsigned int n)
{
	uint8_t nonce[AEAD_NONCE_SIZE], empty[1];

	(void)ab;
	for (unsigned int i = 0; i < n; i++) {
		struct aead_burst_op *op = &ops[i];
		/* libsodium declares dst nonnull even for length 0; we allow NULL there */
		uint8_t *dst = op->len != 0 ? op->dst : empty;

		sodium_nonce(nonce, op->counter);
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(dst, op->tag, NULL, op->src,
								   op->len, NULL, 0, NULL, nonce,
								   op->key);
	}
}

static unsigned int sodium_open(struct aead_burst *ab, struct aead_burst_op *ops, unsigned int n)
{
	uint8_t nonce[AEAD_NONCE_SIZE], empty[1] = { 0 };
	unsigned int verified = 0;

	(void)ab;
	for (unsigned int i = 0; i < n; i++) {
		struct aead_burst_op *op = &ops[i];
		/* src likewise; a NULL dst (only for length 0) is fine: libsodium then only verifies */
		const uint8_t *src = op->len != 0 ? op->src : empty;

		sodium_nonce(nonce, op->counter);
		op->ok = crypto_aead_chacha20poly1305_ietf_decrypt_detached(op->dst, NULL, src, op->len,
									    op->tag, NULL, 0, nonce,
									    op->key) == 0;
		/* libsodium 1.0.18 verifies before decrypting and clears dst itself; the contract is
		 * ours, so do not rely on that. In place, this also wipes the ciphertext. */
		if (!op->ok && op->len != 0)
			memset(op->dst, 0, op->len);
		verified += op->ok;
	}
	return verified;
}

const struct aead_burst_impl aead_burst_sodium = {
	.backend = AEAD_BACKEND_SODIUM,
	.supported = sodium_supported,
	.init = sodium_init_ctx,
	.fini = sodium_fini,
	.seal = sodium_seal,
	.open = sodium_open,
};
