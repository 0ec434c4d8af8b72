/* SPDX-License-Identifier: MIT */
/*
 * Burst AEAD backend on intel-ipsec-mb (1.3): ChaCha20-Poly1305 jobs, one packet per job, on the
 * AVX-512 or AVX2 code of the library.
 *
 * Per burst, in chunks of at most IMB_MAX_BURST_SIZE packets:
 *  1. take that many free jobs from the manager's queue (IMB_GET_NEXT_BURST);
 *  2. fill one job per packet: key, nonce (in our per-context scratch), src/dst, tag output;
 *  3. submit them all at once (IMB_SUBMIT_BURST), then flush (IMB_FLUSH_BURST). The burst calls cost
 *     three calls into the library per chunk instead of two per packet. Submitting the whole chunk
 *     before flushing lets the library run jobs together where it has a multi-lane kernel (1.3 has
 *     none for ChaCha20-Poly1305: its jobs complete inside the submit call). Flushing at the end of
 *     every chunk leaves the queue empty, so no packet waits for the next burst and each chunk
 *     starts with the whole queue free;
 *  4. finish each completed job, found from job->user_data (the op): seal is done; open compares the
 *     tag the library computed with the received one in constant time and wipes dst on mismatch.
 *
 * The burst calls validate every job. A chunk the library refuses as a whole (which only a caller
 * breaking the op contract can cause) is handed to the libsodium backend, so the result is what the
 * reference would give. A job that completes with another status than IMB_STATUS_COMPLETED fails
 * (open) or is redone by libsodium (seal, which has no way to report failure).
 *
 * Decryption writes plaintext before the tag is known to be good: the library decrypts and hashes in
 * one pass. That plaintext lives only in dst, which is wiped before open returns.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <intel-ipsec-mb.h>
#include <sodium.h>

#include "aead_burst.h"

#define IPSECMB_CHUNK IMB_MAX_BURST_SIZE

/* Per context: the manager and what jobs point to until they complete. */
struct ipsecmb_state {
	IMB_MGR *mgr;
	IMB_JOB *jobs[IPSECMB_CHUNK];
	uint8_t nonce[IPSECMB_CHUNK][AEAD_NONCE_SIZE];
	uint8_t tag[IPSECMB_CHUNK][AEAD_TAG_SIZE]; /* open: the tag the library computed */
};

/* The library's own requirements for its AVX2 and AVX-512 managers, on top of the ISA itself. */
static bool ipsecmb_has(uint64_t need)
{
	return (imb_get_feature_flags() & need) == need;
}

static bool ipsecmb_avx512(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && ipsecmb_has(IMB_CPUFLAGS_AVX512);
}

static bool ipsecmb_supported(void)
{
	return ipsecmb_avx512() || (__builtin_cpu_supports("avx2") && ipsecmb_has(IMB_CPUFLAGS_AVX2));
}

static int ipsecmb_init_ctx(struct aead_burst *ab)
{
	struct ipsecmb_state *st;

	if (posix_memalign((void **)&st, 64, sizeof(*st)) != 0)
		return -ENOMEM;
	memset(st, 0, sizeof(*st));
	st->mgr = alloc_mb_mgr(0);
	if (st->mgr == NULL) {
		free(st);
		return -ENOMEM;
	}
	if (ipsecmb_avx512())
		init_mb_mgr_avx512(st->mgr);
	else
		init_mb_mgr_avx2(st->mgr);
	if (imb_get_errno(st->mgr) != 0) {
		free_mb_mgr(st->mgr);
		free(st);
		return -ENOTSUP;
	}
	ab->state = st;
	return 0;
}

static void ipsecmb_fini(struct aead_burst *ab)
{
	struct ipsecmb_state *st = ab->state;

	if (st == NULL)
		return;
	free_mb_mgr(st->mgr);
	free(st);
	ab->state = NULL;
}

static void ipsecmb_nonce(uint8_t nonce[AEAD_NONCE_SIZE], uint64_t counter)
{
	uint64_t le = htole64(counter);

	memset(nonce, 0, AEAD_NONCE_SIZE - sizeof(le));
	memcpy(nonce + AEAD_NONCE_SIZE - sizeof(le), &le, sizeof(le));
}

static void ipsecmb_fill(struct ipsecmb_state *st, unsigned int i, struct aead_burst_op *op,
			 IMB_CIPHER_DIRECTION dir)
{
	IMB_JOB *job = st->jobs[i];

	ipsecmb_nonce(st->nonce[i], op->counter);
	job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
	job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
	job->cipher_direction = dir;
	/* AEAD convention: encrypt then MAC the ciphertext; MAC the ciphertext then decrypt. */
	job->chain_order = dir == IMB_DIR_ENCRYPT ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
	job->enc_keys = op->key;
	job->dec_keys = op->key;
	job->key_len_in_bytes = AEAD_KEY_SIZE;
	job->src = op->src;
	job->dst = op->dst;
	job->cipher_start_src_offset_in_bytes = 0;
	job->msg_len_to_cipher_in_bytes = op->len;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = op->len;
	job->iv = st->nonce[i];
	job->iv_len_in_bytes = AEAD_NONCE_SIZE;
	job->u.CHACHA20_POLY1305.aad = NULL;
	job->u.CHACHA20_POLY1305.aad_len_in_bytes = 0;
	job->auth_tag_output = dir == IMB_DIR_ENCRYPT ? op->tag : st->tag[i];
	job->auth_tag_output_len_in_bytes = AEAD_TAG_SIZE;
	job->user_data = op;
}

static void ipsecmb_seal_done(struct aead_burst *ab, IMB_JOB *const *jobs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (jobs[i]->status != IMB_STATUS_COMPLETED)
			aead_burst_sodium.seal(ab, jobs[i]->user_data, 1);
}

static unsigned int ipsecmb_open_done(IMB_JOB *const *jobs, unsigned int n)
{
	unsigned int verified = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct aead_burst_op *op = jobs[i]->user_data;

		op->ok = jobs[i]->status == IMB_STATUS_COMPLETED &&
			 crypto_verify_16(jobs[i]->auth_tag_output, op->tag) == 0;
		if (!op->ok && op->len != 0)
			memset(op->dst, 0, op->len);
		verified += op->ok;
	}
	return verified;
}

/* Finishes n completed jobs; returns how many opened (0 for seal). */
static unsigned int ipsecmb_done(struct aead_burst *ab, IMB_JOB *const *jobs, unsigned int n,
				 IMB_CIPHER_DIRECTION dir)
{
	if (dir == IMB_DIR_ENCRYPT) {
		ipsecmb_seal_done(ab, jobs, n);
		return 0;
	}
	return ipsecmb_open_done(jobs, n);
}

/* Runs up to IPSECMB_CHUNK ops; sets *taken to how many it ran and returns how many opened. */
static unsigned int ipsecmb_chunk(struct aead_burst *ab, struct aead_burst_op *ops, unsigned int n,
				  IMB_CIPHER_DIRECTION dir, unsigned int *taken)
{
	struct ipsecmb_state *st = ab->state;
	IMB_MGR *mgr = st->mgr;
	unsigned int k, done, verified;

	k = IMB_GET_NEXT_BURST(mgr, n < IPSECMB_CHUNK ? n : IPSECMB_CHUNK, st->jobs);
	if (k == 0) { /* cannot happen with an empty queue; never loop forever on it */
		*taken = n;
		if (dir == IMB_DIR_ENCRYPT) {
			aead_burst_sodium.seal(ab, ops, n);
			return 0;
		}
		return aead_burst_sodium.open(ab, ops, n);
	}
	*taken = k;
	for (unsigned int i = 0; i < k; i++)
		ipsecmb_fill(st, i, &ops[i], dir);
	done = IMB_SUBMIT_BURST(mgr, k, st->jobs);
	if (done == 0 && imb_get_errno(mgr) != 0) { /* refused as a whole: nothing was queued */
		if (dir == IMB_DIR_ENCRYPT) {
			aead_burst_sodium.seal(ab, ops, k);
			return 0;
		}
		return aead_burst_sodium.open(ab, ops, k);
	}
	verified = ipsecmb_done(ab, st->jobs, done, dir);
	done = IMB_FLUSH_BURST(mgr, IPSECMB_CHUNK, st->jobs);
	return verified + ipsecmb_done(ab, st->jobs, done, dir);
}

static unsigned int ipsecmb_run(struct aead_burst *ab, struct aead_burst_op *ops, unsigned int n,
				IMB_CIPHER_DIRECTION dir)
{
	unsigned int verified = 0, taken;

	for (unsigned int i = 0; i < n; i += taken)
		verified += ipsecmb_chunk(ab, ops + i, n - i, dir, &taken);
	return verified;
}

static void ipsecmb_seal(struct aead_burst *ab, struct aead_burst_op *ops, unsigned int n)
{
	ipsecmb_run(ab, ops, n, IMB_DIR_ENCRYPT);
}

static unsigned int ipsecmb_open(struct aead_burst *ab, struct aead_burst_op *ops, unsigned int n)
{
	return ipsecmb_run(ab, ops, n, IMB_DIR_DECRYPT);
}

const struct aead_burst_impl aead_burst_ipsecmb = {
	.backend = AEAD_BACKEND_IPSECMB,
	.supported = ipsecmb_supported,
	.init = ipsecmb_init_ctx,
	.fini = ipsecmb_fini,
	.seal = ipsecmb_seal,
	.open = ipsecmb_open,
};
