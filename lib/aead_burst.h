/* SPDX-License-Identifier: MIT */
/*
 * Burst AEAD for the data path: ChaCha20-Poly1305 with WireGuard's nonce (32 zero bits || LE64
 * counter), no associated data, over an array of packets at once.
 *
 * A backend is chosen once per context (aead_burst_init): from CPU features, or forced by the caller
 * or by the environment variable MESHGATE_AEAD (a backend name) for tests and benchmarks. A burst is
 * one indirect call into the backend; the backend's inner loop has no per-packet indirection, so a
 * cross-packet SIMD backend can process many packets in lanes at once.
 *
 * Contexts are per thread (intel-ipsec-mb keeps per-manager state) and must not be shared.
 */
#ifndef MG_AEAD_BURST_H
#define MG_AEAD_BURST_H

#include <stdbool.h>
#include <stdint.h>

#include "aead.h"

/* One packet. src and dst may be equal (in place) but must not otherwise overlap; both may be NULL
 * when len is 0. */
struct aead_burst_op {
	const uint8_t *key;  /* AEAD_KEY_SIZE bytes */
	uint64_t counter;    /* nonce counter */
	const uint8_t *src;  /* len bytes: plaintext (seal) or ciphertext without tag (open) */
	uint8_t *dst;        /* len bytes of output */
	uint8_t *tag;        /* AEAD_TAG_SIZE bytes: written by seal, read by open */
	uint32_t len;
	bool ok;             /* open: set true when the tag verified; false leaves dst zeroed */
};

enum aead_backend {
	AEAD_BACKEND_AUTO = 0, /* the fastest correct backend this CPU supports */
	AEAD_BACKEND_SODIUM,   /* libsodium, one packet at a time (portable reference) */
	AEAD_BACKEND_IPSECMB,  /* intel-ipsec-mb job API, one packet per job (AVX-512 or AVX2 arch) */
	AEAD_BACKEND_SIMD_AVX2,   /* meshgate cross-packet: 8 packets in AVX2 lanes (lib/simd/) */
	AEAD_BACKEND_SIMD_AVX512, /* 16 packets in AVX-512 lanes, Poly1305 in 26-bit limbs */
	AEAD_BACKEND_SIMD_IFMA,   /* 16 packets in AVX-512 lanes, Poly1305 in IFMA 52-bit limbs */
	AEAD_BACKEND_COUNT
};

struct aead_burst_impl;

struct aead_burst {
	const struct aead_burst_impl *impl;
	enum aead_backend backend;
	void *state; /* backend private (e.g. the ipsec-mb manager) */
};

/*
 * backend AEAD_BACKEND_AUTO consults MESHGATE_AEAD first. Returns 0, -ENOTSUP when the requested
 * backend cannot run on this CPU or build, -EINVAL for an unknown name in MESHGATE_AEAD, -ENOMEM.
 */
int aead_burst_init(struct aead_burst *ab, enum aead_backend backend);
void aead_burst_fini(struct aead_burst *ab);

/* Seal n packets; every op's tag is written. */
void aead_burst_seal(struct aead_burst *ab, struct aead_burst_op *ops, unsigned int n);
/* Open n packets; sets each op's ok and returns how many verified. */
unsigned int aead_burst_open(struct aead_burst *ab, struct aead_burst_op *ops, unsigned int n);

const char *aead_burst_backend_name(enum aead_backend backend);
/* AEAD_BACKEND_COUNT when the name is unknown. */
enum aead_backend aead_burst_backend_from_name(const char *name);
/* Whether this CPU and build can run the backend. */
bool aead_burst_backend_supported(enum aead_backend backend);

/* Backend interface (aead_burst_*.c). */
struct aead_burst_impl {
	enum aead_backend backend;
	bool (*supported)(void);
	int (*init)(struct aead_burst *ab);
	void (*fini)(struct aead_burst *ab);
	void (*seal)(struct aead_burst *ab, struct aead_burst_op *ops, unsigned int n);
	unsigned int (*open)(struct aead_burst *ab, struct aead_burst_op *ops, unsigned int n);
};

extern const struct aead_burst_impl aead_burst_sodium;
extern const struct aead_burst_impl aead_burst_ipsecmb;

#endif
